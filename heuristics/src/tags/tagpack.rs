//! GraphSense TagPack (YAML) validation, following graphsense-lib's
//! `TagPack.validate` (checked against graphsense-lib 2.18.1):
//!
//! * a `header:` mapping, if present, is merged into the top level;
//! * the header needs `title`, `creator` and `tags`; every top-level field
//!   must be a header or tag field of the schema; tag fields in the header
//!   are defaults every tag inherits, and a tag's own value overrides;
//! * `network` defaults to `currency` (the tag's own currency first, then
//!   the header's network, then the header's currency);
//! * if the header has no `confidence` and some tag lacks one, the pack
//!   gets the lowest confidence (`unknown`, level 5), with a warning;
//! * every tag needs `label`, `source`, `currency`, `network`,
//!   `confidence` (own or inherited) and exactly one of `address`/`tx_hash`;
//!   a tag may only carry tag fields;
//! * types: text is a non-empty string (a YAML number or date is not
//!   text), booleans are booleans, `tags` and `concepts` are lists,
//!   `lastmod` is a YAML date or an ISO date string; no value is null;
//!   no text contains a NUL character;
//! * `confidence` is an id of `confidence.csv`; `category`, `abuse` and
//!   every `concepts` item are concept ids of `concepts.yaml`;
//!   `tag_type`'s taxonomy is not shipped, so any text is accepted;
//! * a tag's `context` may be a mapping; it is stored as JSON text;
//! * `concepts` of a tag gain its `abuse` and `category`;
//! * tags equal in (address or tx_hash, currency, network, label, source),
//!   ignoring case, are duplicates: all but the first are dropped, with a
//!   warning; two remaining tags with the same key in GraphSense's
//!   database (hex identifiers lower-cased, network upper-cased, label
//!   trimmed) reject the pack.
//!
//! Differences from GraphSense: `!include` of header files is rejected (an
//! unsupported YAML tag); BCH CashAddr addresses are not converted to
//! legacy form for the database-key check; concepts are not derived from a
//! JSON context's `tags`; quoted `lastmod` strings must be ISO dates (see
//! `date`), where GraphSense's `dateutil` also takes free forms; duplicate
//! tags are validated too before being dropped (GraphSense skips them);
//! addresses are not checksum-verified (GraphSense only warns). None of the
//! 29 public packs in `tests/fixtures/tags/` is affected.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use super::date;
use super::error::{Invalid, Place, TagError};
use super::taxonomy::{self, FieldDef, FieldType, Taxonomies, TaxonomyKind};
use super::yaml::{self, Node, Value};
use super::{Loaded, Tag};

/// Parses and validates the TagPack in `text`; `file` names it in errors.
pub(crate) fn parse(text: &str, file: &str) -> Result<Loaded, TagError> {
    let tax = taxonomy::get()?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let root = yaml::parse(text).map_err(|e| TagError::Yaml {
        file: file.to_owned(),
        line: e.line,
        column: e.col,
        message: e.message,
    })?;
    let cx = Cx { file, tax };
    let Some(root) = root else {
        return Err(cx.header_error(
            None,
            None,
            "empty file: a TagPack is a YAML mapping with a 'tags' list".to_owned(),
        ));
    };
    let Value::Map(top) = root.value else {
        return Err(cx.header_error(
            Some(root.line),
            None,
            format!(
                "a TagPack must be a YAML mapping, found {}",
                root.value.kind()
            ),
        ));
    };
    let header = cx.flatten_header(top)?;
    cx.validate(header)
}

/// A field of the header or of a tag: its name, the line of its key, and
/// its value.
struct Field {
    name: String,
    key_line: usize,
    value: Node,
}

struct Cx<'a> {
    file: &'a str,
    tax: &'static Taxonomies,
}

impl Cx<'_> {
    fn header_error(&self, line: Option<usize>, field: Option<&str>, reason: String) -> TagError {
        TagError::Invalid(Box::new(Invalid {
            file: self.file.to_owned(),
            line,
            place: Place::Header,
            field: field.map(str::to_owned),
            reason,
        }))
    }

    fn tag_error(
        &self,
        place: &Place,
        line: usize,
        field: Option<&str>,
        reason: String,
    ) -> TagError {
        TagError::Invalid(Box::new(Invalid {
            file: self.file.to_owned(),
            line: Some(line),
            place: place.clone(),
            field: field.map(str::to_owned),
            reason,
        }))
    }

    /// The top level with a `header:` mapping merged in (its values win).
    fn flatten_header(&self, top: Vec<(Node, Node)>) -> Result<Vec<Field>, TagError> {
        let mut fields: Vec<Field> = Vec::with_capacity(top.len());
        let mut nested = None;
        for (key, value) in top {
            if key.as_str() == Some("header") {
                match value.value {
                    Value::Map(entries) => nested = Some(entries),
                    other => {
                        return Err(self.header_error(
                            Some(value.line),
                            Some("header"),
                            format!("'header' must be a mapping, found {}", other.kind()),
                        ))
                    }
                }
                continue;
            }
            fields.push(field(key, value));
        }
        let mut index: HashMap<String, usize> = fields
            .iter()
            .enumerate()
            .map(|(i, f)| (f.name.clone(), i))
            .collect();
        for (key, value) in nested.unwrap_or_default() {
            let f = field(key, value);
            match index.get(&f.name) {
                Some(&i) => fields[i] = f,
                None => {
                    index.insert(f.name.clone(), fields.len());
                    fields.push(f);
                }
            }
        }
        Ok(fields)
    }

    fn validate(&self, mut header: Vec<Field>) -> Result<Loaded, TagError> {
        let tax = self.tax;
        let mut warnings = Vec::new();

        for def in tax.header.iter().filter(|d| d.mandatory) {
            if !header.iter().any(|f| f.name == def.name) {
                return Err(self.header_error(
                    None,
                    Some(&def.name),
                    format!("missing mandatory header field '{}'", def.name),
                ));
            }
        }

        // The tags list, taken out of the header.
        let Some(tags_pos) = header.iter().position(|f| f.name == "tags") else {
            return Err(self.header_error(
                None,
                Some("tags"),
                "missing mandatory header field 'tags'".to_owned(),
            ));
        };
        let tags_field = header.remove(tags_pos);
        let tags = match tags_field.value.value {
            Value::Seq(items) => items,
            other => {
                return Err(self.header_error(
                    Some(tags_field.value.line),
                    Some("tags"),
                    format!("'tags' must be a list, found {}", other.kind()),
                ))
            }
        };
        let mut tag_fields: Vec<(usize, usize, Vec<Field>)> = Vec::with_capacity(tags.len());
        for (index, node) in tags.into_iter().enumerate() {
            let line = node.line;
            match node.value {
                Value::Map(entries) => {
                    let fields: Vec<Field> =
                        entries.into_iter().map(|(k, v)| field(k, v)).collect();
                    tag_fields.push((index, line, fields));
                }
                other => {
                    let place = Place::Tag {
                        index,
                        address: None,
                        tx_hash: None,
                    };
                    return Err(self.tag_error(
                        &place,
                        line,
                        None,
                        format!("a tag must be a mapping of fields, found {}", other.kind()),
                    ));
                }
            }
        }

        // Defaults, as GraphSense sets them before validating.
        let has = |fields: &[Field], name: &str| fields.iter().any(|f| f.name == name);
        if !has(&header, "confidence") && !tag_fields.iter().all(|(_, _, f)| has(f, "confidence")) {
            let lowest = tax
                .lowest_confidence()
                .ok_or_else(|| TagError::Taxonomy("no confidence levels".to_owned()))?;
            warnings.push(format!(
                "{}: not all tags have a confidence; the pack gets the lowest, '{}' (level {})",
                self.file, lowest.id, lowest.level
            ));
            header.push(Field {
                name: "confidence".to_owned(),
                key_line: 0,
                value: Node {
                    value: Value::Str(lowest.id.clone()),
                    line: 0,
                    col: 0,
                },
            });
        }

        // Header fields: known, not null, typed, in their taxonomy.
        let mut control_chars = ControlChars::default();
        for f in &header {
            let Some(def) = tax.header_field(&f.name).or_else(|| tax.tag_field(&f.name)) else {
                return Err(self.header_error(
                    Some(f.key_line),
                    Some(&f.name),
                    format!(
                        "unknown field '{}' (neither a TagPack header nor a tag field)",
                        f.name
                    ),
                ));
            };
            self.check_value(def, &f.value, &mut control_chars, &"header")
                .map_err(|(reason, at)| {
                    self.header_error(at.or_else(|| line_of(f)), Some(&f.name), reason)
                })?;
        }
        if has(&header, "is_public") {
            warnings.push(format!(
                "{}: header field 'is_public' is deprecated and ignored (as in GraphSense)",
                self.file
            ));
        }
        let header_get = |name: &str| header.iter().find(|f| f.name == name).map(|f| &f.value);
        let pack = header_get("title")
            .and_then(Node::as_str)
            .unwrap_or_default()
            .to_owned();

        // Tags.
        let mut out = Vec::with_capacity(tag_fields.len());
        let mut lastmod_memo = None;
        for (index, line, fields) in &tag_fields {
            let (index, line) = (*index, *line);
            let get = |name: &str| {
                fields
                    .iter()
                    .find(|f| f.name == name)
                    .map(|f| &f.value)
                    .or_else(|| header_get(name))
            };
            let place = Place::Tag {
                index,
                address: get("address").and_then(Node::as_str).map(str::to_owned),
                tx_hash: get("tx_hash").and_then(Node::as_str).map(str::to_owned),
            };
            let own = |name: &str| fields.iter().find(|f| f.name == name).map(|f| &f.value);
            // Network defaults to the tag's own currency, then the header's
            // network, then the header's currency.
            let network = own("network")
                .or_else(|| own("currency"))
                .or_else(|| header_get("network"))
                .or_else(|| header_get("currency"));

            match (get("address"), get("tx_hash")) {
                (None, None) => {
                    return Err(self.tag_error(
                        &place,
                        line,
                        Some("address"),
                        "missing mandatory field 'address' (or 'tx_hash')".to_owned(),
                    ))
                }
                (Some(a), Some(_)) => {
                    return Err(self.tag_error(
                        &place,
                        a.line.max(line),
                        Some("tx_hash"),
                        "'address' and 'tx_hash' are mutually exclusive but both are set"
                            .to_owned(),
                    ))
                }
                _ => {}
            }
            for def in tax.tag.iter().filter(|d| d.mandatory) {
                let present = if def.name == "network" {
                    network.is_some()
                } else {
                    get(&def.name).is_some()
                };
                if !present {
                    return Err(self.tag_error(
                        &place,
                        line,
                        Some(&def.name),
                        format!("missing mandatory field '{}'", def.name),
                    ));
                }
            }
            for f in fields {
                let Some(def) = tax.tag_field(&f.name) else {
                    let reason = if tax.header_field(&f.name).is_some() {
                        format!("field '{}' is a header field, not allowed in a tag", f.name)
                    } else {
                        format!("unknown field '{}' (not a TagPack tag field)", f.name)
                    };
                    return Err(self.tag_error(&place, f.key_line, Some(&f.name), reason));
                };
                if def.name == "context" && matches!(f.value.value, Value::Map(_)) {
                    // A mapping context becomes JSON text; check its strings.
                    control_chars
                        .scan(&f.value, &f.name, &place)
                        .map_err(|reason| {
                            self.tag_error(&place, f.value.line, Some(&f.name), reason)
                        })?;
                    continue;
                }
                self.check_value(def, &f.value, &mut control_chars, &place)
                    .map_err(|(reason, at)| {
                        let at = at.or_else(|| line_of(f)).unwrap_or(line);
                        self.tag_error(&place, at, Some(&f.name), reason)
                    })?;
            }
            let tag = build_tag(tax, &get, network, &pack, &mut lastmod_memo);
            out.push((index, line, tag));
        }

        if let Some(w) = control_chars.warning(self.file) {
            warnings.push(w);
        }
        let tags = self.dedup(out, &mut warnings)?;
        Ok(Loaded { tags, warnings })
    }

    /// Null, text problems, type and taxonomy of one value. The error
    /// carries the line of a bad list item, if that is where it is.
    fn check_value(
        &self,
        def: &FieldDef,
        value: &Node,
        control_chars: &mut ControlChars,
        place: &dyn fmt::Display,
    ) -> Result<(), Problem> {
        let name = &def.name;
        if value.value == Value::Null {
            return Err((format!("field '{name}' must not be empty (null)"), None));
        }
        control_chars
            .scan(value, name, place)
            .map_err(|r| (r, None))?;
        check_type(def, value)?;
        let Some(kind) = def.taxonomy else {
            return Ok(());
        };
        let ids: Vec<&Node> = match &value.value {
            Value::Str(_) => vec![value],
            Value::Seq(items) => items.iter().collect(),
            _ => Vec::new(),
        };
        for node in ids {
            let Some(id) = node.as_str() else { continue };
            match kind {
                TaxonomyKind::Confidence if self.tax.confidence_level(id).is_none() => {
                    return Err((
                        format!(
                            "unknown confidence '{id}' (known: {})",
                            self.tax.confidence_ids()
                        ),
                        Some(node.line),
                    ));
                }
                TaxonomyKind::Concept if !self.tax.is_concept(id) => {
                    return Err((
                        format!(
                            "unknown concept '{id}' in '{name}' (not a concept id of concepts.yaml)"
                        ),
                        Some(node.line),
                    ));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Drops duplicates as GraphSense does and rejects database-key clashes.
    fn dedup(
        &self,
        tags: Vec<(usize, usize, Tag)>,
        warnings: &mut Vec<String>,
    ) -> Result<Vec<Tag>, TagError> {
        let mut seen: HashMap<String, usize> = HashMap::with_capacity(tags.len());
        let mut db_keys: HashMap<String, usize> = HashMap::with_capacity(tags.len());
        let mut out = Vec::with_capacity(tags.len());
        let mut dropped = 0usize;
        let mut first_dup = None;
        for (index, line, tag) in tags {
            let identifier = tag.tx_hash.as_deref().unwrap_or(&tag.address);
            let key = joined_key(
                [
                    identifier,
                    &tag.currency,
                    &tag.network,
                    &tag.label,
                    &tag.source,
                ],
                true,
            );
            if let Some(&earlier) = seen.get(&key) {
                dropped += 1;
                first_dup.get_or_insert((index, earlier));
                continue;
            }
            seen.insert(key, index);
            let db_key = joined_key(
                [
                    &normalize_hex(identifier),
                    &tag.network,
                    tag.label.trim(),
                    &tag.source,
                ],
                false,
            );
            if let Some(&earlier) = db_keys.get(&db_key) {
                let place = Place::Tag {
                    index,
                    address: tag.tx_hash.is_none().then(|| tag.address.clone()),
                    tx_hash: tag.tx_hash.clone(),
                };
                return Err(self.tag_error(
                    &place,
                    line,
                    None,
                    format!(
                        "same address/tx_hash, network, label and source as tags[{earlier}] \
                         up to case and spacing (GraphSense's unique key)"
                    ),
                ));
            }
            db_keys.insert(db_key, index);
            out.push(tag);
        }
        if let Some((index, earlier)) = first_dup {
            warnings.push(format!(
                "{}: dropped {dropped} duplicate tag(s) (same address/tx_hash, currency, network, \
                 label and source), the first tags[{index}] repeating tags[{earlier}]",
                self.file
            ));
        }
        Ok(out)
    }
}

fn field(key: Node, value: Node) -> Field {
    Field {
        name: match &key.value {
            Value::Str(s) => s.clone(),
            _ => key.key_name(),
        },
        key_line: key.line,
        value,
    }
}

/// The line to report for a field's value (the key's line for a value
/// that was inserted as a default).
fn line_of(f: &Field) -> Option<usize> {
    match (f.value.line, f.key_line) {
        (0, 0) => None,
        (0, k) => Some(k),
        (v, _) => Some(v),
    }
}

/// One string identifying a tuple of strings (each part prefixed with its
/// length, so no two tuples share a key), optionally lower-cased.
fn joined_key<const N: usize>(parts: [&str; N], lower: bool) -> String {
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

/// Lower-cases `0x…` hex identifiers, as GraphSense's database key does.
fn normalize_hex(id: &str) -> String {
    let is_hex = id
        .strip_prefix("0x")
        .is_some_and(|r| !r.is_empty() && r.bytes().all(|b| b.is_ascii_hexdigit()));
    if is_hex {
        id.to_ascii_lowercase()
    } else {
        id.to_owned()
    }
}

fn describe(value: &Value) -> String {
    match value.scalar_text() {
        Some(text) if text.chars().count() <= 40 => format!("{} `{text}`", value.kind()),
        _ => value.kind().to_owned(),
    }
}

/// A problem with a value: the reason, and the line of the offending list
/// item if not the value's own.
type Problem = (String, Option<usize>);

fn check_text(name: &str, node: &Node) -> Result<(), String> {
    match &node.value {
        Value::Str(s) if s.trim().is_empty() => Err(format!("text field '{name}' is empty")),
        Value::Str(_) => Ok(()),
        other => Err(format!("'{name}' must be text, found {}", describe(other))),
    }
}

fn check_type(def: &FieldDef, node: &Node) -> Result<(), Problem> {
    let name = &def.name;
    let whole = |r: String| (r, None);
    match def.ty {
        FieldType::Text => check_text(name, node).map_err(whole),
        FieldType::Boolean => match &node.value {
            Value::Bool(_) => Ok(()),
            other => Err(whole(format!(
                "'{name}' must be a boolean (true or false), found {}",
                describe(other)
            ))),
        },
        FieldType::Datetime => match &node.value {
            Value::Timestamp(_) => Ok(()),
            Value::Str(s) if date::parse_datetime(s).is_some() => Ok(()),
            other => Err(whole(format!(
                "'{name}' must be a date or date-time (e.g. 2021-11-12), found {}",
                describe(other)
            ))),
        },
        FieldType::List { item_text } => match &node.value {
            Value::Seq(items) => {
                if item_text {
                    for (i, item) in items.iter().enumerate() {
                        check_text(&format!("{name}[{i}]"), item)
                            .map_err(|r| (r, Some(item.line)))?;
                    }
                }
                Ok(())
            }
            other => Err(whole(format!(
                "'{name}' must be a list, found {}",
                describe(other)
            ))),
        },
    }
}

/// Counts text with control characters (GraphSense warns), rejects NUL.
#[derive(Default)]
struct ControlChars {
    count: usize,
    first: Option<String>,
}

impl ControlChars {
    fn scan(&mut self, node: &Node, name: &str, place: &dyn fmt::Display) -> Result<(), String> {
        match &node.value {
            Value::Str(s) => {
                if s.contains('\0') {
                    return Err(format!("field '{name}' contains a NUL character"));
                }
                if s.chars()
                    .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
                {
                    self.count += 1;
                    self.first
                        .get_or_insert_with(|| format!("{place} '{name}'"));
                }
                Ok(())
            }
            Value::Seq(items) => items.iter().try_for_each(|i| self.scan(i, name, place)),
            Value::Map(entries) => entries.iter().try_for_each(|(k, v)| {
                self.scan(k, name, place)?;
                self.scan(v, name, place)
            }),
            _ => Ok(()),
        }
    }

    fn warning(&self, file: &str) -> Option<String> {
        let first = self.first.as_ref()?;
        Some(format!(
            "{file}: {} text value(s) contain non-printable control characters, first in {first}",
            self.count
        ))
    }
}

/// Builds the tag from validated fields.
fn build_tag<'n>(
    tax: &Taxonomies,
    get: &dyn Fn(&str) -> Option<&'n Node>,
    network: Option<&Node>,
    pack: &str,
    lastmod_memo: &mut Option<(String, Option<String>)>,
) -> Tag {
    let text = |name: &str| get(name).and_then(Node::as_str).map(str::to_owned);
    let mut concepts: Vec<String> = match get("concepts").map(|n| &n.value) {
        Some(Value::Seq(items)) => items
            .iter()
            .filter_map(Node::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    };
    let category = text("category");
    let abuse = text("abuse");
    for extra in [&abuse, &category].into_iter().flatten() {
        if !concepts.contains(extra) {
            concepts.push(extra.clone());
        }
    }
    let confidence = text("confidence").unwrap_or_default();
    let confidence_level = tax.confidence_level(&confidence).unwrap_or(0);
    let context = get("context").map(|n| match &n.value {
        Value::Map(_) => to_json(n).to_string(),
        _ => n.as_str().unwrap_or_default().to_owned(),
    });
    // Usually the header's value for every tag: parse it once.
    let lastmod = get("lastmod").and_then(|n| match &n.value {
        Value::Timestamp(s) | Value::Str(s) => match lastmod_memo {
            Some((input, output)) if input == s => output.clone(),
            _ => {
                let output = date::parse_datetime(s);
                *lastmod_memo = Some((s.clone(), output.clone()));
                output
            }
        },
        _ => None,
    });
    Tag {
        address: text("address").unwrap_or_default(),
        currency: text("currency").unwrap_or_default().to_uppercase(),
        network: network
            .and_then(Node::as_str)
            .unwrap_or_default()
            .to_uppercase(),
        label: text("label").unwrap_or_default(),
        source: text("source").unwrap_or_default(),
        category,
        abuse,
        concepts,
        actor: text("actor"),
        confidence,
        confidence_level,
        is_cluster_definer: matches!(
            get("is_cluster_definer").map(|n| &n.value),
            Some(Value::Bool(true))
        ),
        context,
        lastmod,
        tx_hash: text("tx_hash"),
        tag_type: text("tag_type"),
        pack: pack.to_owned(),
    }
}

/// A YAML node as JSON (for a mapping `context`).
fn to_json(node: &Node) -> serde_json::Value {
    use serde_json::Value as J;
    match &node.value {
        Value::Null => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Int(s) => s
            .replace('_', "")
            .parse::<i64>()
            .map_or_else(|_| J::String(s.clone()), J::from),
        Value::Float(s) => s
            .replace('_', "")
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map_or_else(|| J::String(s.clone()), J::Number),
        Value::Timestamp(s) | Value::Str(s) => J::String(s.clone()),
        Value::Seq(items) => J::Array(items.iter().map(to_json).collect()),
        Value::Map(entries) => J::Object(
            entries
                .iter()
                .map(|(k, v)| {
                    (
                        k.value.scalar_text().unwrap_or("null").to_owned(),
                        to_json(v),
                    )
                })
                .collect(),
        ),
    }
}
