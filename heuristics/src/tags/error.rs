//! Errors of tag loading. Every message names the file, the place (header,
//! tag index and address, or CSV line and column), the field and why.

use std::fmt;
use std::path::PathBuf;

/// Why a tag file was rejected. A rejected file yields no tags at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TagError {
    /// The file could not be read.
    #[error("{}: cannot read: {cause}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error (in the message, not repeated as a source).
        cause: std::io::Error,
    },
    /// The file name has no known extension.
    #[error("{}: unsupported tag file type (expected .yaml, .yml or .csv)", path.display())]
    UnsupportedFormat {
        /// The file.
        path: PathBuf,
    },
    /// The YAML itself is malformed (syntax, duplicate keys, unsupported
    /// YAML features, invalid UTF-8, too deep or too large).
    #[error("{file}:{line}:{column}: YAML error: {message}")]
    Yaml {
        /// The file as given.
        file: String,
        /// Line, 1-based.
        line: usize,
        /// Column, 1-based.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// Well-formed YAML that is not a valid TagPack.
    #[error("{0}")]
    Invalid(Box<Invalid>),
    /// A CSV tag file with a bad header or row.
    #[error("{0}")]
    Csv(Box<CsvProblem>),
    /// The taxonomy files compiled into the binary could not be read (a
    /// build defect, not an input problem).
    #[error("embedded tag taxonomy is broken: {0}")]
    Taxonomy(String),
}

/// Where in a TagPack a problem was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// The pack's header: its top-level fields (including tag defaults).
    Header,
    /// One entry of the pack's `tags` list.
    Tag {
        /// Position in `tags`, 0-based.
        index: usize,
        /// The tag's address, if it has a textual one.
        address: Option<String>,
        /// The tag's transaction hash, if it has a textual one.
        tx_hash: Option<String>,
    },
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Place::Header => f.write_str("header"),
            Place::Tag {
                index,
                address,
                tx_hash,
            } => {
                write!(f, "tags[{index}]")?;
                if let Some(a) = address {
                    write!(f, " (address {a})")?;
                } else if let Some(t) = tx_hash {
                    write!(f, " (tx_hash {t})")?;
                }
                Ok(())
            }
        }
    }
}

/// A TagPack that parses as YAML but breaks the TagPack schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// The file as given.
    pub file: String,
    /// The line of the offending value (or of the tag, for a missing field).
    pub line: Option<usize>,
    /// Header or which tag.
    pub place: Place,
    /// The field concerned, if one is.
    pub field: Option<String>,
    /// What is wrong, naming the field, e.g. `missing mandatory field 'label'`.
    pub reason: String,
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}: {}", self.file, self.place, self.reason),
            None => write!(f, "{}: {}: {}", self.file, self.place, self.reason),
        }
    }
}

/// A problem in a CSV tag file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvProblem {
    /// The file as given.
    pub file: String,
    /// Line, 1-based (the header row is line 1), if known.
    pub line: Option<u64>,
    /// Column as (1-based index, header name), if one is concerned.
    pub column: Option<(usize, String)>,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for CsvProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some((index, name)) = &self.column {
            write!(f, ": column {index} '{name}'")?;
        }
        write!(f, ": {}", self.reason)
    }
}
