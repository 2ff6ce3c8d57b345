//! Errors of the chain adapters and the ledger store. Each names what was
//! wrong and where (file and byte offset, block height, RPC method, DB path).

use std::path::PathBuf;

use crate::ledger::codec::DecodeError;

/// Everything that can go wrong reading chain data or the ledger.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read.
    #[error("cannot read {}: {cause}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error (in the message, not repeated as a source).
        cause: std::io::Error,
    },
    /// A block of another network in a blk file.
    #[error("{}: offset {offset}: block of network {found} where {expected} was expected (choose the network with --network)", path.display())]
    WrongNetwork {
        /// The blk file.
        path: PathBuf,
        /// Byte offset of the block's magic.
        offset: u64,
        /// Network the magic belongs to.
        found: String,
        /// Network asked for.
        expected: String,
    },
    /// Bytes where a block's magic should be are not any network's magic.
    #[error("{}: offset {offset}: expected block magic {expected}, found {found} (file corrupt?)", path.display())]
    BadMagic {
        /// The blk file.
        path: PathBuf,
        /// Byte offset.
        offset: u64,
        /// Hex of the bytes found.
        found: String,
        /// Hex of the magic expected.
        expected: String,
    },
    /// The file ends inside a block.
    #[error("{}: offset {offset}: file truncated: {what} needs {needed} bytes, only {available} left", path.display())]
    Truncated {
        /// The blk file.
        path: PathBuf,
        /// Byte offset of the record.
        offset: u64,
        /// What was being read.
        what: &'static str,
        /// Bytes needed.
        needed: u64,
        /// Bytes left in the file.
        available: u64,
    },
    /// A block that does not decode or does not verify.
    #[error("{}: offset {offset}: corrupt block: {reason}", path.display())]
    CorruptBlock {
        /// The blk file (or RPC source).
        path: PathBuf,
        /// Byte offset of the block's magic.
        offset: u64,
        /// What failed.
        reason: String,
    },
    /// Raw data given to `decode` is not a transaction, block or blk file.
    #[error("cannot decode {what}: {reason}")]
    Decode {
        /// What was given.
        what: String,
        /// Why it failed.
        reason: String,
    },
    /// The ledger database failed.
    #[error("ledger database {}: {reason}", path.display())]
    Db {
        /// DB directory.
        path: PathBuf,
        /// RocksDB's message.
        reason: String,
    },
    /// A stored record is corrupt.
    #[error("ledger database: {record} {key}: {cause}")]
    CorruptRecord {
        /// Column family.
        record: &'static str,
        /// Hex key.
        key: String,
        /// What failed to decode.
        cause: DecodeError,
    },
    /// The DB was written by another schema version.
    #[error("ledger database {}: schema version {found}, this tracer reads version {expected}; re-ingest into a new --db directory", path.display())]
    SchemaVersion {
        /// DB directory.
        path: PathBuf,
        /// Version found.
        found: u32,
        /// Version supported.
        expected: u32,
    },
    /// The DB holds another network's data.
    #[error("ledger database {}: holds {stored} data, cannot add {requested} data", path.display())]
    NetworkMismatch {
        /// DB directory.
        path: PathBuf,
        /// Network stored.
        stored: String,
        /// Network requested.
        requested: String,
    },
    /// An input spends an output the ledger does not have.
    #[error("block {height} tx {txid}: input {input} spends {prev_txid}:{vout}, which is not an unspent output in the ledger")]
    MissingPrevout {
        /// Block height.
        height: u64,
        /// Spending txid (display order hex).
        txid: String,
        /// Input index.
        input: usize,
        /// Spent txid.
        prev_txid: String,
        /// Spent output index.
        vout: u32,
    },
    /// A block breaks a ledger rule (e.g. spends more than its inputs).
    #[error("block {height} tx {txid}: {reason}")]
    InvalidTx {
        /// Block height.
        height: u64,
        /// Txid (display order hex).
        txid: String,
        /// What is wrong.
        reason: String,
    },
    /// A block does not connect to the stored tip.
    #[error("block {height} ({hash}) does not extend the ledger tip {tip}")]
    NotConnected {
        /// Height of the block.
        height: u64,
        /// Its hash.
        hash: String,
        /// The stored tip hash.
        tip: String,
    },
    /// A JSON-RPC call failed or answered something malformed.
    #[error("RPC {url} {method}: {reason}")]
    Rpc {
        /// Node URL (without credentials).
        url: String,
        /// The method called.
        method: String,
        /// What went wrong.
        reason: String,
    },
    /// An argument the user gave is unusable.
    #[error("{0}")]
    Usage(String),
    /// A sum of amounts past 2^128 − 1 smallest units (a hostile token's
    /// values): an error, never a wrapped or capped figure.
    #[error("{0} exceeds 2^128 − 1 smallest units")]
    Overflow(String),
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Wraps an I/O error with the file it concerns.
    pub fn io(path: impl Into<PathBuf>, cause: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            cause,
        }
    }
}
