//! Attribution tags: loading and validating GraphSense TagPacks (YAML) and
//! simple CSV tag files. Pure parsing; storing tags is done elsewhere.
//!
//! A file is accepted or rejected as a whole: a pack with one bad tag
//! yields no tags, and the [`TagError`] names the file, the place (header,
//! or `tags[i]` with its address; CSV line and column), the line, the
//! field and the reason. No input makes these functions panic.
//!
//! TagPack rules follow graphsense-lib's validator (see [`tagpack`]'s
//! module documentation for the list and the few differences); the schema,
//! confidence scale and concept taxonomy are graphsense-lib's files,
//! compiled in from `heuristics/taxonomy/`, so no external file is needed
//! at run time. The CSV format is described in [`csvfile`].
//!
//! # Crate choices
//!
//! YAML is read with [`saphyr_parser`], the event parser of the saphyr
//! project, where the `yaml-rust2` authors develop further (`yaml-rust2`
//! itself now gets only basic maintenance): pure safe Rust,
//! YAML 1.2 syntax, with a line and column for every event. The usual
//! alternatives were ruled out: `serde_yaml` is archived, `serde_yml` has
//! RUSTSEC-2025-0068 (unsound), `yaml-rust` RUSTSEC-2024-0320
//! (unmaintained); `serde_yaml_ng` and `serde_norway` are maintained but
//! sit on `unsafe-libyaml` (C translated to unsafe Rust) and, through
//! serde, lose the position of each value. Building our own small tree from
//! events (module `yaml`) lets us report the line of every bad field,
//! reject duplicate keys (as GraphSense does), bound nesting depth and alias
//! expansion on untrusted input, and resolve plain scalars with the YAML
//! 1.1 rules GraphSense's PyYAML-based loader applies (`yes` is a boolean,
//! `2019-07-03` a date). None of these crates has an advisory in the
//! RustSec database (checked with `cargo audit`).
//!
//! CSV is read with the [`csv`] crate (BurntSushi's, the standard choice),
//! which reports the line of every record.

mod address;
mod category;
pub mod csvfile;
mod date;
mod error;
mod intake;
pub mod tagpack;
mod taxonomy;
mod yaml;

#[cfg(test)]
mod tests;

use std::path::Path;

use serde::{Deserialize, Serialize};

pub use category::{concept_class, TagClass};
pub use error::{CsvProblem, Invalid, Place, TagError};
pub use intake::{FileReport, Refused, MAX_REFUSED_LISTED};

/// Largest tag file read (GraphSense's own limit is 200 MiB).
pub const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;

/// One attribution tag: a statement that an address (or a transaction)
/// belongs to or is used by someone, with its source and confidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    /// The tagged address, as written in the file (empty for a tag on a
    /// transaction, see [`Tag::tx_hash`]).
    pub address: String,
    /// Currency ticker, upper-case (`BTC`, `ETH`, `USDT`, …).
    pub currency: String,
    /// Network the address lives on, upper-case; defaults to the currency.
    pub network: String,
    /// What the address is, e.g. `binance.com`.
    pub label: String,
    /// Where the attribution comes from (usually a URL).
    pub source: String,
    /// Concept id of the entity type (`exchange`, `user`, …).
    pub category: Option<String>,
    /// Concept id of an abuse (`ransomware`, `scam`, `sanction`, …).
    pub abuse: Option<String>,
    /// Concept ids of the tag, including `abuse` and `category`.
    pub concepts: Vec<String>,
    /// Actor id (e.g. `binance`), linking tags of the same real-world actor.
    pub actor: Option<String>,
    /// Confidence id from `confidence.csv` (e.g. `service_data`), or
    /// `csv:<n>` for a CSV row that gave a bare level `n`.
    pub confidence: String,
    /// Confidence level 0–100 (`service_data` = 50, `ownership` = 100).
    pub confidence_level: u8,
    /// Whether the tag describes the whole cluster the address is in.
    pub is_cluster_definer: bool,
    /// Free text context (JSON text when the pack gave a mapping).
    pub context: Option<String>,
    /// Last modification, ISO 8601 (`2019-07-03` or
    /// `2023-08-16T12:18:52.619444`).
    pub lastmod: Option<String>,
    /// The tagged transaction, for tags on a transaction rather than an
    /// address.
    pub tx_hash: Option<String>,
    /// GraphSense `tag_type` (free text here; its taxonomy is not shipped).
    pub tag_type: Option<String>,
    /// The pack's `title`, or the CSV file's name.
    pub pack: String,
}

impl Tag {
    /// The tag's broad class, from its concept ids. Priority: the `abuse`
    /// concept decides if it has a class (a sanctioned exchange is
    /// [`TagClass::Sanctioned`]), then `category`, then the other
    /// `concepts` in the order Sanctioned, Ransomware, ScamFraud, Mixer,
    /// Exchange, Gambling, Miner, Merchant; otherwise [`TagClass::Other`].
    /// A concept without a class of its own takes the class of its nearest
    /// broader concept in `concepts.yaml` (`pyramid_scheme` → ScamFraud).
    pub fn class(&self) -> TagClass {
        category::classify(self)
    }

    /// Whether the tag marks a custodial service (exchange, mixer,
    /// gambling, miner, merchant) whose cluster must not be merged with
    /// another service's. See [`TagClass::is_service`].
    pub fn is_service(&self) -> bool {
        self.class().is_service()
    }
}

/// The tags of one file, with what reading it reported (the warnings
/// GraphSense would log — a defaulted confidence, dropped duplicates,
/// control characters in text —, refused addresses, unchecked networks).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Loaded {
    /// The accepted tags, duplicates and refused tags removed, in file order.
    pub tags: Vec<Tag>,
    /// What reading the file reported (`report.tags == tags.len()`).
    pub report: FileReport,
}

/// Reads a tag file by its extension — `.yaml`/`.yml` as a TagPack, `.csv`
/// as a CSV tag file — handing each accepted tag to `sink` in file order
/// without keeping them. When an error is returned the sink may have
/// received some of the file's tags: the caller discards them (a file is
/// accepted or rejected as a whole).
pub fn read_file<E: From<TagError>>(
    path: &Path,
    sink: &mut dyn FnMut(Tag) -> Result<(), E>,
) -> Result<FileReport, E> {
    Format::of(path)?;
    let bytes = file_bytes(path)?;
    read_bytes(path, &bytes, sink)
}

/// [`read_file`] of a file's `bytes` already read (`path` decides the
/// format and names the file in messages).
pub fn read_bytes<E: From<TagError>>(
    path: &Path,
    bytes: &[u8],
    sink: &mut dyn FnMut(Tag) -> Result<(), E>,
) -> Result<FileReport, E> {
    let file = path.display().to_string();
    match Format::of(path)? {
        Format::TagPack => tagpack::read(tagpack_text(bytes, &file)?, &file, sink),
        Format::Csv => {
            let pack = path
                .file_name()
                .map_or_else(|| file.clone(), |n| n.to_string_lossy().into_owned());
            csvfile::read(bytes, &file, &pack, sink)
        }
    }
}

/// Loads a tag file by its extension: `.yaml`/`.yml` as a TagPack, `.csv`
/// as a CSV tag file.
pub fn load_file(path: &Path) -> Result<Vec<Tag>, TagError> {
    load_file_with_warnings(path).map(|l| l.tags)
}

/// Like [`load_file`], also returning what reading it reported.
pub fn load_file_with_warnings(path: &Path) -> Result<Loaded, TagError> {
    let mut tags = Vec::new();
    let report = read_file(path, &mut |t| {
        tags.push(t);
        Ok::<(), TagError>(())
    })?;
    Ok(Loaded { tags, report })
}

/// Loads and validates a GraphSense TagPack (YAML).
pub fn load_tagpack(path: &Path) -> Result<Vec<Tag>, TagError> {
    load_tagpack_with_warnings(path).map(|l| l.tags)
}

/// Like [`load_tagpack`], also returning what reading it reported.
pub fn load_tagpack_with_warnings(path: &Path) -> Result<Loaded, TagError> {
    let bytes = file_bytes(path)?;
    let file = path.display().to_string();
    parse_tagpack(tagpack_text(&bytes, &file)?, &file)
}

/// Loads a CSV tag file.
pub fn load_csv(path: &Path) -> Result<Vec<Tag>, TagError> {
    load_csv_with_warnings(path).map(|l| l.tags)
}

/// Like [`load_csv`], also returning what reading it reported.
pub fn load_csv_with_warnings(path: &Path) -> Result<Loaded, TagError> {
    let bytes = file_bytes(path)?;
    let file = path.display().to_string();
    let pack = path
        .file_name()
        .map_or_else(|| file.clone(), |n| n.to_string_lossy().into_owned());
    csvfile::parse(&bytes, &file, &pack)
}

/// Validates a TagPack given as text; `name` stands for the file in errors.
pub fn parse_tagpack(text: &str, name: &str) -> Result<Loaded, TagError> {
    tagpack::parse(text, name)
}

/// Reads CSV tag data given as bytes; `name` stands for the file in errors
/// and is the tags' `pack`.
pub fn parse_csv(bytes: &[u8], name: &str) -> Result<Loaded, TagError> {
    csvfile::parse(bytes, name, name)
}

/// The two tag file formats.
enum Format {
    TagPack,
    Csv,
}

impl Format {
    fn of(path: &Path) -> Result<Format, TagError> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("yaml" | "yml") => Ok(Format::TagPack),
            Some("csv") => Ok(Format::Csv),
            _ => Err(TagError::UnsupportedFormat {
                path: path.to_owned(),
            }),
        }
    }
}

/// A TagPack's bytes as text, or where they stop being UTF-8.
fn tagpack_text<'b>(bytes: &'b [u8], file: &str) -> Result<&'b str, TagError> {
    std::str::from_utf8(bytes).map_err(|e| {
        let valid = &bytes[..e.valid_up_to()];
        let line = valid.iter().filter(|b| **b == b'\n').count() + 1;
        let column = valid.iter().rev().take_while(|b| **b != b'\n').count() + 1;
        TagError::Yaml {
            file: file.to_owned(),
            line,
            column,
            message: "not valid UTF-8".to_owned(),
        }
    })
}

/// The level (0–100) of a confidence id of `confidence.csv`.
pub fn confidence_level(id: &str) -> Option<u8> {
    taxonomy::get().ok()?.confidence_level(id)
}

/// Whether `id` is a concept id of `concepts.yaml`.
pub fn is_concept(id: &str) -> bool {
    taxonomy::get().is_ok_and(|t| t.is_concept(id))
}

/// The bytes of a tag file, refusing one larger than [`MAX_FILE_BYTES`].
pub fn file_bytes(path: &Path) -> Result<Vec<u8>, TagError> {
    let io = |source| TagError::Io {
        path: path.to_owned(),
        cause: source,
    };
    let len = std::fs::metadata(path).map_err(io)?.len();
    if len > MAX_FILE_BYTES {
        return Err(io(std::io::Error::other(format!(
            "file is {len} bytes, more than the {MAX_FILE_BYTES} accepted"
        ))));
    }
    std::fs::read(path).map_err(io)
}
