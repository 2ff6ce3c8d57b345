//! Chain adapters for tracer: read Bitcoin (Core's `blk*.dat` files or its
//! JSON-RPC) into one normalised [`ledger`] stored in RocksDB ([`store`]).
//!
//! Data flows one way: adapters decode chain data into [`ledger::NewBlock`]s,
//! [`store::LedgerWriter`] resolves inputs and assigns dense ids, and the
//! heuristics, the tracer and the reports read the [`store::Store`].

pub mod bitcoin;
pub mod error;
pub mod ethereum;
pub mod ingest;
pub mod ledger;
pub mod query;
pub mod store;

pub use error::{Error, Result};
