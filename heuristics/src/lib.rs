//! Heuristics over the ledger: address clustering (multi-input with a
//! CoinJoin guard, change detection, Ethereum deposit-address reuse),
//! attribution tags, and hop tracing with taint models.
//!
//! Built on [`chain_adapters::store::Store`]; nothing here reads chain data
//! directly.

pub mod tags;
