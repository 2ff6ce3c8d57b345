//! Errors of the heuristics: each names what was wrong and where.

use std::path::PathBuf;

use chain_adapters::ledger::codec::DecodeError;

/// Everything that can go wrong clustering, tagging or reading analysis results.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading the ledger failed.
    #[error(transparent)]
    Ledger(#[from] chain_adapters::Error),
    /// The analysis database failed.
    #[error("analysis database {}: {reason}", path.display())]
    Db {
        /// DB directory.
        path: PathBuf,
        /// RocksDB's message.
        reason: String,
    },
    /// A stored analysis record is corrupt.
    #[error("analysis database {}: {record} {key}: {cause}", path.display())]
    Corrupt {
        /// DB directory.
        path: PathBuf,
        /// Column family.
        record: &'static str,
        /// Hex key.
        key: String,
        /// What failed to decode.
        cause: DecodeError,
    },
    /// A tag file was rejected.
    #[error(transparent)]
    Tags(#[from] crate::tags::TagError),
    /// A sum of amounts does not fit in 128 bits (a token's hostile or
    /// absurd values): an error, never a wrapped figure.
    #[error(transparent)]
    Overflow(#[from] trace_file::Overflow),
    /// A scratch file of a build's sorted runs failed (disk full, removed).
    #[error("scratch file {}: {cause}", path.display())]
    Scratch {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        cause: std::io::Error,
    },
    /// An argument the user gave is unusable.
    #[error("{0}")]
    Usage(String),
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
