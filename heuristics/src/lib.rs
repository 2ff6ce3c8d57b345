//! Heuristics over the ledger: address clustering (multi-input with a
//! CoinJoin guard, change detection, Ethereum deposit-address reuse),
//! attribution tags, and hop tracing with taint models.
//!
//! Built on [`chain_adapters::store::Store`]; nothing here reads chain data
//! directly. Results live in the [`store::AnalysisStore`] beside the ledger.

pub mod attribution;
pub mod change;
pub mod cluster;
pub mod coinjoin;
pub mod deposit;
pub mod error;
mod runs;
pub mod senders;
pub mod store;
pub mod tags;
pub mod trace;

pub use error::{Error, Result};
