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

/// A file of the project's `tests/fixtures`, found through Cargo's run-time
/// `CARGO_MANIFEST_DIR`: this checkout, even when the test binary was built
/// from another one sharing the target directory.
#[cfg(test)]
pub(crate) fn fixture(name: &str) -> std::path::PathBuf {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo test");
    std::path::Path::new(&manifest)
        .join("../tests/fixtures")
        .join(name)
}
