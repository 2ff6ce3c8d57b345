//! Ethereum: a JSON-RPC adapter (alloy) and the conversion of blocks,
//! receipts and call traces into the ledger's account model.

pub mod address;
pub mod convert;
pub mod ingest;
pub mod rpc;
pub mod transport;

pub use address::{account_key, display, parse_address};
pub use ingest::{ingest_ethereum, network_name, EthRange};
pub use rpc::{EthClient, EthOptions, TraceSource};
