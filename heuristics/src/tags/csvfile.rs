//! A simple CSV tag file: one tag per row.
//!
//! The header row names the columns, in any order (case-insensitive):
//! `address`, `label`, `category`, `source`, `confidence` are required;
//! `currency` (default `BTC`), `is_cluster_definer` (`true`/`false`,
//! default `false`), `abuse` and `actor` are optional. Cells are trimmed;
//! lines starting with `#` are comments.
//!
//! * `confidence` is an id of `confidence.csv` (its level is used) or an
//!   integer 0–100, kept as confidence `csv:<n>` with that level;
//! * `category` and `abuse` are concept ids of `concepts.yaml`, or empty;
//! * `network` is the currency; `concepts` are `abuse` and `category`;
//! * rows equal in (address, currency, label, source) ignoring case are
//!   duplicates: all but the first are dropped, with a warning;
//! * the address is checked against the currency's network as in a
//!   TagPack: a bad one is refused and listed, the other rows are kept.
//!
//! Rows are read and handed on one at a time.

use std::collections::HashMap;

use super::error::{CsvProblem, TagError};
use super::intake::{digest, joined_key, FileReport, Intake};
use super::taxonomy::{self, Taxonomies};
use super::{Loaded, Tag};

const REQUIRED: [&str; 5] = ["address", "label", "category", "source", "confidence"];
const OPTIONAL: [&str; 4] = ["currency", "is_cluster_definer", "abuse", "actor"];

/// Parses a CSV tag file, keeping its tags in memory; `file` names it in
/// errors, `pack` goes into every tag's `pack`.
pub(crate) fn parse(bytes: &[u8], file: &str, pack: &str) -> Result<Loaded, TagError> {
    let mut tags = Vec::new();
    let report = read(bytes, file, pack, &mut |t| {
        tags.push(t);
        Ok::<(), TagError>(())
    })?;
    Ok(Loaded { tags, report })
}

/// Reads a CSV tag file, handing each accepted tag to `sink` in file order.
pub(crate) fn read<E: From<TagError>>(
    bytes: &[u8],
    file: &str,
    pack: &str,
    sink: &mut dyn FnMut(Tag) -> Result<(), E>,
) -> Result<FileReport, E> {
    let tax = taxonomy::get()?;
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let problem = |line: Option<u64>, column: Option<(usize, String)>, reason: String| {
        TagError::Csv(Box::new(CsvProblem {
            file: file.to_owned(),
            line,
            column,
            reason,
        }))
    };
    let mut lines = Lines {
        bytes,
        offset: 0,
        line: 1,
    };
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .from_reader(bytes);

    let headers = reader
        .headers()
        .map_err(|e| problem(lines.of_error(&e).or(Some(1)), None, csv_reason(&e)))?
        .clone();
    let header_line = headers.position().map_or(1, |p| lines.of_record(p.byte()));
    let mut columns: HashMap<&'static str, usize> = HashMap::new();
    for (i, name) in headers.iter().enumerate() {
        let lower = name.to_ascii_lowercase();
        let Some(known) = REQUIRED
            .iter()
            .chain(OPTIONAL.iter())
            .find(|k| **k == lower)
        else {
            return Err(E::from(problem(
                Some(header_line),
                Some((i + 1, name.to_owned())),
                format!(
                    "unknown column '{name}' (expected {} and optionally {})",
                    REQUIRED.join(", "),
                    OPTIONAL.join(", ")
                ),
            )));
        };
        if let Some(first) = columns.insert(known, i) {
            return Err(E::from(problem(
                Some(header_line),
                Some((i + 1, name.to_owned())),
                format!("column '{name}' appears twice (also column {})", first + 1),
            )));
        }
    }
    if let Some(missing) = REQUIRED.iter().find(|r| !columns.contains_key(*r)) {
        return Err(E::from(problem(
            Some(header_line),
            None,
            format!(
                "missing column '{missing}' (the header row needs {})",
                REQUIRED.join(", ")
            ),
        )));
    }

    let mut intake = Intake::new(file, pack, sink);
    // Digests of (address, currency, label, source), lower-cased → line.
    let mut seen: HashMap<[u8; 16], u64> = HashMap::new();
    let mut dropped = 0usize;
    let mut first_dup = None;
    for record in reader.records() {
        let record = record.map_err(|e| problem(lines.of_error(&e), None, csv_reason(&e)))?;
        let line = record.position().map_or(0, |p| lines.of_record(p.byte()));
        let row = Row {
            record: &record,
            columns: &columns,
            headers: &headers,
        };
        let tag = row
            .to_tag(tax, pack)
            .map_err(|(column, reason)| problem(Some(line), column, reason))?;
        if !intake.address_ok(&tag, line, || format!("row (address {})", tag.address)) {
            continue;
        }
        let key = joined_key([&tag.address, &tag.currency, &tag.label, &tag.source], true);
        if let Some(&earlier) = seen.get(&digest(&key)) {
            dropped += 1;
            first_dup.get_or_insert((line, earlier));
            continue;
        }
        seen.insert(digest(&key), line);
        intake.accept(tag)?;
    }
    let mut report = intake.finish();
    if let Some((line, earlier)) = first_dup {
        report.warnings.insert(
            0,
            format!(
                "{file}: dropped {dropped} duplicate row(s) (same address, currency, label and \
                 source), the first at line {line} repeating line {earlier}"
            ),
        );
    }
    Ok(report)
}

/// Line numbers from byte offsets. The csv crate's own line count skips
/// comment and blank lines; this counts every line of the file.
struct Lines<'a> {
    bytes: &'a [u8],
    /// Offset up to which newlines have been counted …
    offset: usize,
    /// … and the line number there.
    line: u64,
}

impl Lines<'_> {
    /// The 1-based line of a byte offset (offsets mostly ascend).
    fn at(&mut self, byte: u64) -> u64 {
        let byte = usize::try_from(byte)
            .unwrap_or(usize::MAX)
            .min(self.bytes.len());
        if byte < self.offset {
            self.offset = 0;
            self.line = 1;
        }
        let newlines = self.bytes[self.offset..byte]
            .iter()
            .filter(|b| **b == b'\n')
            .count();
        self.line += newlines as u64;
        self.offset = byte;
        self.line
    }

    /// The line where a record at `byte` really starts: the csv crate
    /// reports the offset before the blank and comment lines it skipped.
    fn of_record(&mut self, byte: u64) -> u64 {
        let mut i = usize::try_from(byte)
            .unwrap_or(usize::MAX)
            .min(self.bytes.len());
        loop {
            match self.bytes.get(i) {
                Some(b'\n' | b'\r') => i += 1,
                Some(b'#') => {
                    i = self.bytes[i..]
                        .iter()
                        .position(|b| *b == b'\n')
                        .map_or(self.bytes.len(), |n| i + n + 1);
                }
                _ => break,
            }
        }
        self.at(i as u64)
    }

    fn of_error(&mut self, e: &csv::Error) -> Option<u64> {
        e.position().map(|p| self.of_record(p.byte()))
    }
}

fn csv_reason(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("row has {len} field(s), the header row has {expected_len}"),
        csv::ErrorKind::Utf8 { err, .. } => {
            format!("field {} is not valid UTF-8", err.field() + 1)
        }
        _ => e.to_string(),
    }
}

/// A column position and name, for errors.
type Column = Option<(usize, String)>;

struct Row<'a> {
    record: &'a csv::StringRecord,
    columns: &'a HashMap<&'static str, usize>,
    headers: &'a csv::StringRecord,
}

impl Row<'_> {
    fn column(&self, name: &str) -> Column {
        let i = *self.columns.get(name)?;
        Some((i + 1, self.headers.get(i).unwrap_or(name).to_owned()))
    }

    /// The trimmed cell of a column, empty if the column is absent.
    fn cell(&self, name: &str) -> Result<&str, (Column, String)> {
        let value = self
            .columns
            .get(name)
            .and_then(|&i| self.record.get(i))
            .unwrap_or_default();
        if value.contains('\0') {
            return Err((
                self.column(name),
                format!("'{name}' contains a NUL character"),
            ));
        }
        Ok(value)
    }

    fn required(&self, name: &str) -> Result<String, (Column, String)> {
        let value = self.cell(name)?;
        if value.is_empty() {
            return Err((self.column(name), format!("'{name}' must not be empty")));
        }
        Ok(value.to_owned())
    }

    fn concept(&self, tax: &Taxonomies, name: &str) -> Result<Option<String>, (Column, String)> {
        let value = self.cell(name)?;
        if value.is_empty() {
            return Ok(None);
        }
        if !tax.is_concept(value) {
            return Err((
                self.column(name),
                format!(
                    "unknown concept '{value}' in '{name}' (not a concept id of concepts.yaml)"
                ),
            ));
        }
        Ok(Some(value.to_owned()))
    }

    fn to_tag(&self, tax: &Taxonomies, pack: &str) -> Result<Tag, (Column, String)> {
        let address = self.required("address")?;
        let label = self.required("label")?;
        let source = self.required("source")?;
        let category = self.concept(tax, "category")?;
        let abuse = self.concept(tax, "abuse")?;

        let raw = self.required("confidence")?;
        let (confidence, confidence_level) = if let Some(level) = tax.confidence_level(&raw) {
            (raw, level)
        } else if raw.bytes().all(|b| b.is_ascii_digit()) {
            match raw.parse::<u8>() {
                Ok(n) if n <= 100 => (format!("csv:{n}"), n),
                _ => {
                    return Err((
                        self.column("confidence"),
                        format!("confidence {raw} is above 100"),
                    ))
                }
            }
        } else {
            return Err((
                self.column("confidence"),
                format!(
                    "unknown confidence '{raw}' (an integer 0-100 or one of: {})",
                    tax.confidence_ids()
                ),
            ));
        };

        let currency = match self.cell("currency")? {
            "" => "BTC".to_owned(),
            c => c.to_uppercase(),
        };
        let is_cluster_definer = match self.cell("is_cluster_definer")? {
            "" => false,
            v if v.eq_ignore_ascii_case("true") => true,
            v if v.eq_ignore_ascii_case("false") => false,
            v => {
                return Err((
                    self.column("is_cluster_definer"),
                    format!("'is_cluster_definer' must be true or false, found '{v}'"),
                ))
            }
        };
        let actor = match self.cell("actor")? {
            "" => None,
            a => Some(a.to_owned()),
        };
        let mut concepts: Vec<String> = Vec::new();
        for c in [&abuse, &category].into_iter().flatten() {
            if !concepts.contains(c) {
                concepts.push(c.clone());
            }
        }
        Ok(Tag {
            address,
            network: currency.clone(),
            currency,
            label,
            source,
            category,
            abuse,
            concepts,
            actor,
            confidence,
            confidence_level,
            is_cluster_definer,
            context: None,
            lastmod: None,
            tx_hash: None,
            tag_type: None,
            pack: pack.to_owned(),
        })
    }
}
