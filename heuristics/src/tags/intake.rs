//! Taking in a file's validated tags one at a time: each address is checked
//! against its network (a bad one is refused and listed, the rest of the
//! file goes on), tags on unchecked networks are counted, and the accepted
//! tags go to the caller's sink, so nothing holds a whole file's tags.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::address::{self, Checked};
use super::Tag;

/// Refused tags listed one by one per file; the rest are counted.
pub const MAX_REFUSED_LISTED: usize = 100;

/// A tag left out of an import because its address is not an address of
/// its network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refused {
    /// The file as given.
    pub file: String,
    /// Line of the address (TagPack) or of the row (CSV).
    pub line: u64,
    /// Which tag: `tags[3] (address …)`, or `row (address …)` in a CSV file.
    pub tag: String,
    /// The field refused (`address`).
    pub field: String,
    /// Why.
    pub reason: String,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}: {}: field '{}': {}",
            self.file, self.line, self.tag, self.field, self.reason
        )
    }
}

/// What reading one tag file found besides its tags.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FileReport {
    /// The pack's title (a CSV file's name).
    pub title: String,
    /// Tags accepted (handed on), duplicates and refused tags left out.
    pub tags: usize,
    /// Human-readable warnings, each starting with the file name.
    pub warnings: Vec<String>,
    /// Tags refused for their address.
    pub refused: usize,
    /// The first [`MAX_REFUSED_LISTED`] of them.
    pub refused_listed: Vec<Refused>,
    /// Accepted tags per network whose addresses tracer does not check.
    pub unchecked: BTreeMap<String, usize>,
}

/// Hands a file's tags on, checking their addresses first.
pub(crate) struct Intake<'s, E> {
    file: &'s str,
    sink: &'s mut dyn FnMut(Tag) -> Result<(), E>,
    pub(crate) report: FileReport,
}

impl<'s, E> Intake<'s, E> {
    /// Takes in the tags of `file`, whose pack is `title`.
    pub(crate) fn new(
        file: &'s str,
        title: &str,
        sink: &'s mut dyn FnMut(Tag) -> Result<(), E>,
    ) -> Self {
        Intake {
            file,
            sink,
            report: FileReport {
                title: title.to_owned(),
                ..FileReport::default()
            },
        }
    }

    /// Whether the tag's address is one of its network (a tag on a
    /// transaction has none to check). A bad one is recorded as refused,
    /// `tag` naming it (`tags[3] (address …)`) at `line`.
    pub(crate) fn address_ok(
        &mut self,
        tag: &Tag,
        line: u64,
        name: impl FnOnce() -> String,
    ) -> bool {
        if tag.tx_hash.is_some() {
            return true;
        }
        match address::check(&tag.network, &tag.address) {
            Ok(Checked::Valid) => true,
            Ok(Checked::NotChecked) => {
                *self
                    .report
                    .unchecked
                    .entry(tag.network.clone())
                    .or_insert(0) += 1;
                true
            }
            Err(reason) => {
                self.report.refused += 1;
                if self.report.refused_listed.len() < MAX_REFUSED_LISTED {
                    self.report.refused_listed.push(Refused {
                        file: self.file.to_owned(),
                        line,
                        tag: name(),
                        field: "address".to_owned(),
                        reason: format!("{reason}; network {}", tag.network),
                    });
                }
                false
            }
        }
    }

    /// Hands an accepted tag on.
    pub(crate) fn accept(&mut self, tag: Tag) -> Result<(), E> {
        self.report.tags += 1;
        (self.sink)(tag)
    }

    /// The report, with a warning summing up the refused tags.
    pub(crate) fn finish(mut self) -> FileReport {
        if self.report.refused > 0 {
            self.report.warnings.push(format!(
                "{}: refused {} tag(s) whose address is not an address of their network \
                 (each listed with its line and tag, the first {MAX_REFUSED_LISTED})",
                self.file, self.report.refused,
            ));
        }
        self.report
    }
}

/// A 128-bit digest (truncated SHA-256) of a duplicate-detection key: a
/// file's keys are remembered in 16 bytes each, whatever their length,
/// and no input can be crafted to make two keys collide.
pub(crate) fn digest(key: &str) -> [u8; 16] {
    let full = Sha256::digest(key.as_bytes());
    let mut d = [0u8; 16];
    d.copy_from_slice(&full[..16]);
    d
}

/// One string identifying a tuple of strings (each part prefixed with its
/// length, so no two tuples share a key), optionally lower-cased.
pub(crate) fn joined_key<const N: usize>(parts: [&str; N], lower: bool) -> String {
    let mut key = String::with_capacity(parts.iter().map(|p| p.len() + 4).sum());
    for part in parts {
        let part = if lower && !part.is_ascii() {
            Cow::Owned(part.to_lowercase())
        } else {
            Cow::Borrowed(part)
        };
        key.push_str(&part.len().to_string());
        key.push(':');
        if lower {
            key.extend(part.chars().map(|c| c.to_ascii_lowercase()));
        } else {
            key.push_str(&part);
        }
    }
    key
}
