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
//! tags are validated too before being dropped (GraphSense skips them).
//! None of the 29 public packs in `tests/fixtures/tags/` is affected.
//!
//! Beyond GraphSense, each tag's address is checked against its network
//! (module `address`; GraphSense only warns): a bad one is refused and
//! listed, and the rest of the pack is accepted — 4 of the 107,906 tags of
//! the public packs are refused this way (a TRON address under `BTC` in
//! `ofac.yaml`, three mistyped addresses in `etherscamdb_tagpack.yaml` and
//! `plustoken.yaml`).
//!
//! A pack is read in two streaming passes over its text (see
//! `yaml::parse_streaming`): the first takes the header (which YAML lets
//! stand before or after the `tags` list) and notes whether every tag has
//! its own confidence; the second validates each tag with the header's
//! defaults and hands it on. Memory is bounded by the text, the header,
//! one tag and 32 bytes per tag for duplicate detection; time is linear.

use std::collections::HashMap;
use std::fmt;

use super::date;
use super::error::{Invalid, Place, TagError};
use super::intake::{digest, joined_key, FileReport, Intake};
use super::taxonomy::{self, FieldDef, FieldType, Taxonomies, TaxonomyKind};
use super::yaml::{self, Node, StreamError, TagsList, Value};
use super::{Loaded, Tag};

/// Reads and validates the TagPack in `text`, handing each accepted tag to
/// `sink` in file order; `file` names it in errors. The sink may have
/// received tags when an error is returned: the caller discards them.
pub(crate) fn read<E: From<TagError>>(
    text: &str,
    file: &str,
    sink: &mut dyn FnMut(Tag) -> Result<(), E>,
) -> Result<FileReport, E> {
    let tax = taxonomy::get()?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let yaml_error = |e: yaml::YamlError| TagError::Yaml {
        file: file.to_owned(),
        line: e.line,
        column: e.col,
        message: e.message,
    };
    let cx = Cx { file, tax };

    // Pass 1: the header, and what the tags lists hold.
    let mut survey = [Survey::default(), Survey::default()];
    let root = yaml::parse_streaming(text, &mut |list, index, node| {
        survey[list as usize].see(index, &node);
        Ok::<(), std::convert::Infallible>(())
    })
    .map_err(|e| match e {
        StreamError::Yaml(e) => yaml_error(e),
        StreamError::Sink(never) => match never {},
    })?;
    let Some(root) = root else {
        return Err(cx
            .header_error(
                None,
                None,
                "empty file: a TagPack is a YAML mapping with a 'tags' list".to_owned(),
            )
            .into());
    };
    let Value::Map(top) = root.value else {
        return Err(cx
            .header_error(
                Some(root.line),
                None,
                format!(
                    "a TagPack must be a YAML mapping, found {}",
                    root.value.kind()
                ),
            )
            .into());
    };
    let (header, list) = cx.flatten_header(top)?;
    let header = cx.check_header(header, &survey[list as usize])?;

    // Pass 2: every tag of the list in force, validated and handed on.
    let Header {
        fields,
        mut warnings,
        control_chars,
    } = header;
    let title = fields
        .iter()
        .find(|f| f.name == "title")
        .and_then(|f| f.value.as_str())
        .unwrap_or_default()
        .to_owned();
    let mut pack = Pack {
        cx: &cx,
        header: &fields,
        title: title.clone(),
        control_chars,
        lastmod_memo: None,
        dedup: Dedup::default(),
        intake: Intake::new(file, &title, sink),
    };
    yaml::parse_streaming(text, &mut |from, index, node| {
        if from != list {
            return Ok(());
        }
        pack.tag(index, node)
    })
    .map_err(|e| match e {
        StreamError::Yaml(e) => E::from(yaml_error(e)),
        StreamError::Sink(e) => e,
    })?;
    if let Some(w) = pack.control_chars.warning(file) {
        warnings.push(w);
    }
    if let Some(w) = pack.dedup.warning(file) {
        warnings.push(w);
    }
    let mut report = pack.intake.finish();
    warnings.append(&mut report.warnings);
    report.warnings = warnings;
    Ok(report)
}

/// Parses and validates the TagPack in `text`, keeping its tags in memory;
/// `file` names it in errors.
pub(crate) fn parse(text: &str, file: &str) -> Result<Loaded, TagError> {
    let mut tags = Vec::new();
    let report = read(text, file, &mut |t| {
        tags.push(t);
        Ok::<(), TagError>(())
    })?;
    Ok(Loaded { tags, report })
}

/// What pass 1 notes about one `tags` list.
#[derive(Default)]
struct Survey {
    /// Every item is a mapping with its own `confidence`.
    all_have_confidence: bool,
    /// Items seen.
    items: usize,
    /// The first item that is not a mapping: index, line, kind.
    first_non_map: Option<(usize, usize, &'static str)>,
}

impl Survey {
    fn see(&mut self, index: usize, node: &Node) {
        if self.items == 0 {
            self.all_have_confidence = true;
        }
        self.items += 1;
        match &node.value {
            Value::Map(entries) => {
                if !entries
                    .iter()
                    .any(|(k, _)| k.as_str() == Some("confidence"))
                {
                    self.all_have_confidence = false;
                }
            }
            other => {
                self.all_have_confidence = false;
                self.first_non_map
                    .get_or_insert((index, node.line, other.kind()));
            }
        }
    }
}

/// The validated header: its fields (defaults included) and the warnings
/// it gave.
struct Header {
    fields: Vec<Field>,
    warnings: Vec<String>,
    /// Control characters seen so far (the tags add theirs).
    control_chars: ControlChars,
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

    /// The top level with a `header:` mapping merged in (its values win),
    /// and which `tags` list is in force.
    fn flatten_header(&self, top: Vec<(Node, Node)>) -> Result<(Vec<Field>, TagsList), TagError> {
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
        let mut list = TagsList::Top;
        for (key, value) in nested.unwrap_or_default() {
            let f = field(key, value);
            if f.name == "tags" {
                list = TagsList::Header;
            }
            match index.get(&f.name) {
                Some(&i) => fields[i] = f,
                None => {
                    index.insert(f.name.clone(), fields.len());
                    fields.push(f);
                }
            }
        }
        Ok((fields, list))
    }

    /// Checks the header (mandatory fields, the `tags` list, defaults,
    /// every field's type and taxonomy) before any tag is read.
    fn check_header(&self, mut header: Vec<Field>, survey: &Survey) -> Result<Header, TagError> {
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

        // The tags list, taken out of the header (its items were streamed).
        let Some(tags_pos) = header.iter().position(|f| f.name == "tags") else {
            return Err(self.header_error(
                None,
                Some("tags"),
                "missing mandatory header field 'tags'".to_owned(),
            ));
        };
        let tags_field = header.remove(tags_pos);
        if !matches!(tags_field.value.value, Value::Seq(_)) {
            return Err(self.header_error(
                Some(tags_field.value.line),
                Some("tags"),
                format!(
                    "'tags' must be a list, found {}",
                    tags_field.value.value.kind()
                ),
            ));
        }
        if let Some((index, line, kind)) = survey.first_non_map {
            let place = Place::Tag {
                index,
                address: None,
                tx_hash: None,
            };
            return Err(self.tag_error(
                &place,
                line,
                None,
                format!("a tag must be a mapping of fields, found {kind}"),
            ));
        }

        // Defaults, as GraphSense sets them before validating.
        let has = |fields: &[Field], name: &str| fields.iter().any(|f| f.name == name);
        if !has(&header, "confidence") && survey.items > 0 && !survey.all_have_confidence {
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
        Ok(Header {
            fields: header,
            warnings,
            control_chars,
        })
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
}

/// Pass 2's state: validates tags one at a time and hands them on.
struct Pack<'a, 's, E> {
    cx: &'a Cx<'a>,
    header: &'a [Field],
    title: String,
    control_chars: ControlChars,
    lastmod_memo: Option<(String, Option<String>)>,
    dedup: Dedup,
    intake: Intake<'s, E>,
}

impl<E: From<TagError>> Pack<'_, '_, E> {
    /// Validates item `index` of the tags list and hands it on (unless it
    /// is a duplicate, or its address is refused).
    fn tag(&mut self, index: usize, node: Node) -> Result<(), E> {
        let cx = self.cx;
        let tax = cx.tax;
        let line = node.line;
        let Value::Map(entries) = node.value else {
            // Pass 1 rejected the pack already.
            return Err(TagError::Taxonomy("tag is not a mapping in pass 2".to_owned()).into());
        };
        let fields: Vec<Field> = entries.into_iter().map(|(k, v)| field(k, v)).collect();
        let header_get = |name: &str| {
            self.header
                .iter()
                .find(|f| f.name == name)
                .map(|f| &f.value)
        };
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

        let address = match (get("address"), get("tx_hash")) {
            (None, None) => {
                return Err(cx
                    .tag_error(
                        &place,
                        line,
                        Some("address"),
                        "missing mandatory field 'address' (or 'tx_hash')".to_owned(),
                    )
                    .into())
            }
            (Some(a), Some(_)) => {
                return Err(cx
                    .tag_error(
                        &place,
                        a.line.max(line),
                        Some("tx_hash"),
                        "'address' and 'tx_hash' are mutually exclusive but both are set"
                            .to_owned(),
                    )
                    .into())
            }
            (a, _) => a,
        };
        for def in tax.tag.iter().filter(|d| d.mandatory) {
            let present = if def.name == "network" {
                network.is_some()
            } else {
                get(&def.name).is_some()
            };
            if !present {
                return Err(cx
                    .tag_error(
                        &place,
                        line,
                        Some(&def.name),
                        format!("missing mandatory field '{}'", def.name),
                    )
                    .into());
            }
        }
        for f in &fields {
            let Some(def) = tax.tag_field(&f.name) else {
                let reason = if tax.header_field(&f.name).is_some() {
                    format!("field '{}' is a header field, not allowed in a tag", f.name)
                } else {
                    format!("unknown field '{}' (not a TagPack tag field)", f.name)
                };
                return Err(cx
                    .tag_error(&place, f.key_line, Some(&f.name), reason)
                    .into());
            };
            if def.name == "context" && matches!(f.value.value, Value::Map(_)) {
                // A mapping context becomes JSON text; check its strings.
                self.control_chars
                    .scan(&f.value, &f.name, &place)
                    .map_err(|reason| cx.tag_error(&place, f.value.line, Some(&f.name), reason))?;
                continue;
            }
            cx.check_value(def, &f.value, &mut self.control_chars, &place)
                .map_err(|(reason, at)| {
                    let at = at.or_else(|| line_of(f)).unwrap_or(line);
                    cx.tag_error(&place, at, Some(&f.name), reason)
                })?;
        }
        let tag = build_tag(tax, &get, network, &self.title, &mut self.lastmod_memo);
        let address_line = address.map_or(line, |a| if a.line == 0 { line } else { a.line });
        if !self
            .intake
            .address_ok(&tag, address_line as u64, || place.to_string())
        {
            return Ok(());
        }
        if self.dedup.keep(cx, index, line, &tag)? {
            self.intake.accept(tag)?;
        }
        Ok(())
    }
}

/// Duplicate detection as GraphSense does it, in 32 bytes per tag: equal
/// tags are dropped (with a warning), database-key clashes reject the pack.
#[derive(Default)]
struct Dedup {
    /// Digest of (identifier, currency, network, label, source), lower-cased → index.
    seen: HashMap<[u8; 16], u32>,
    /// Digest of GraphSense's database key → index.
    db_keys: HashMap<[u8; 16], u32>,
    dropped: usize,
    first_dup: Option<(usize, u32)>,
}

impl Dedup {
    /// Whether to keep the tag; an error if it clashes with an earlier one.
    fn keep(
        &mut self,
        cx: &Cx<'_>,
        index: usize,
        line: usize,
        tag: &Tag,
    ) -> Result<bool, TagError> {
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
        let i = u32::try_from(index).unwrap_or(u32::MAX);
        if let Some(&earlier) = self.seen.get(&digest(&key)) {
            self.dropped += 1;
            self.first_dup.get_or_insert((index, earlier));
            return Ok(false);
        }
        self.seen.insert(digest(&key), i);
        let db_key = joined_key(
            [
                &normalize_hex(identifier),
                &tag.network,
                tag.label.trim(),
                &tag.source,
            ],
            false,
        );
        if let Some(&earlier) = self.db_keys.get(&digest(&db_key)) {
            let place = Place::Tag {
                index,
                address: tag.tx_hash.is_none().then(|| tag.address.clone()),
                tx_hash: tag.tx_hash.clone(),
            };
            return Err(cx.tag_error(
                &place,
                line,
                None,
                format!(
                    "same address/tx_hash, network, label and source as tags[{earlier}] \
                     up to case and spacing (GraphSense's unique key)"
                ),
            ));
        }
        self.db_keys.insert(digest(&db_key), i);
        Ok(true)
    }

    fn warning(&self, file: &str) -> Option<String> {
        let (index, earlier) = self.first_dup?;
        Some(format!(
            "{file}: dropped {} duplicate tag(s) (same address/tx_hash, currency, network, \
             label and source), the first tags[{index}] repeating tags[{earlier}]",
            self.dropped
        ))
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
