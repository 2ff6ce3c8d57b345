//! Bitcoin: block files, Core JSON-RPC, addresses, and raw decoding.

pub mod address;
pub mod blkfile;
pub mod blkwriter;
pub mod convert;
pub mod decode;
pub mod network;
pub mod rpc;
pub mod txfields;

pub use network::{network_name, parse_network};
