//! A small YAML document model built from `saphyr-parser` events.
//!
//! Only what TagPacks need: one document, nodes that remember their line and
//! column, duplicate mapping keys rejected, merge keys (`<<`) applied, aliases
//! expanded within a size budget, nesting depth bounded, and plain scalars
//! resolved with the YAML 1.1 rules PyYAML's `SafeLoader` uses, which is what
//! GraphSense's tagpack tool reads packs with (`yes`/`no`/`on`/`off` are
//! booleans, `2019-07-03` is a date, `0o17` and `1e3` are text), with its
//! one exception: an unquoted `0x…` hex string stays text (an address, not a
//! number). Quoted and block scalars are always text.
//!
//! [`parse_streaming`] hands each item of a TagPack's `tags` list to a sink
//! as soon as it is complete and drops it, so a pack of any length is read
//! in memory bounded by its largest tag, its header and its anchors (at
//! most [`MAX_HELD`] nodes), in time linear in its size.
//!
//! Nothing here panics on any input; every problem is a [`YamlError`].

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use saphyr_parser::{Event, Parser, ScalarStyle, Tag};

/// Deepest nesting of sequences and mappings accepted. A TagPack needs four
/// levels (pack, tag list, tag, concept list); a `context` mapping a few more.
const MAX_DEPTH: usize = 64;

/// The value of a node.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    /// `~`, `null`, or nothing.
    Null,
    /// A boolean (`true`, `yes`, `on`, … and their negations).
    Bool(bool),
    /// An integer, as written.
    Int(String),
    /// A floating point number, as written.
    Float(String),
    /// A date or date-time (YAML 1.1 timestamp), as written.
    Timestamp(String),
    /// Text.
    Str(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, keys in document order (duplicates rejected).
    Map(Vec<(Node, Node)>),
}

impl Value {
    /// A short name of the value's type for error messages.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Timestamp(_) => "a date",
            Value::Str(_) => "text",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }

    /// The text of a scalar as written (`None` for collections and null).
    pub(crate) fn scalar_text(&self) -> Option<&str> {
        match self {
            Value::Int(s) | Value::Float(s) | Value::Timestamp(s) | Value::Str(s) => Some(s),
            Value::Bool(true) => Some("true"),
            Value::Bool(false) => Some("false"),
            Value::Null | Value::Seq(_) | Value::Map(_) => None,
        }
    }
}

/// A node with the position where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    /// The node's value.
    pub value: Value,
    /// Line, 1-based.
    pub line: usize,
    /// Column, 1-based.
    pub col: usize,
}

impl Node {
    /// The text of a string node.
    pub(crate) fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// A key as a field name for messages: its text, or its type.
    pub(crate) fn key_name(&self) -> String {
        self.value
            .scalar_text()
            .map_or_else(|| format!("<{}>", self.value.kind()), str::to_owned)
    }
}

/// A YAML syntax or structure error at a position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct YamlError {
    /// Line, 1-based.
    pub line: usize,
    /// Column, 1-based.
    pub col: usize,
    /// What is wrong.
    pub message: String,
}

impl YamlError {
    fn at(line: usize, col: usize, message: impl Into<String>) -> Self {
        YamlError {
            line,
            col,
            message: message.into(),
        }
    }
}

/// Most nodes held at once while streaming: the document outside the
/// `tags` list, the tag being read and every anchored node. An honest pack
/// holds a few hundred.
pub(crate) const MAX_HELD: usize = 1_000_000;

/// Which `tags` list an item of a streamed TagPack comes from: the top
/// level's, or the one inside a `header:` mapping (which wins when both are
/// given).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TagsList {
    /// `tags:` at the top level.
    Top,
    /// `header: {tags: …}`.
    Header,
}

/// Why a streamed parse stopped: the YAML, or the sink.
#[derive(Debug)]
pub(crate) enum StreamError<E> {
    /// Malformed YAML (or limits exceeded).
    Yaml(YamlError),
    /// The sink refused an item.
    Sink(E),
}

impl<E> From<YamlError> for StreamError<E> {
    fn from(e: YamlError) -> Self {
        StreamError::Yaml(e)
    }
}

/// Receives each `tags` item: which list, its index there, the item.
type Sink<'s, E> = &'s mut dyn FnMut(TagsList, usize, Node) -> Result<(), E>;

/// Parses one YAML document. `Ok(None)` for a stream without a document.
pub(crate) fn parse(text: &str) -> Result<Option<Node>, YamlError> {
    let mut keep = |_: TagsList, _: usize, _: Node| -> Result<(), YamlError> { Ok(()) };
    parse_inner(text, None, &mut keep).map_err(|e| match e {
        StreamError::Yaml(e) | StreamError::Sink(e) => e,
    })
}

/// Parses a TagPack's one YAML document, passing every item of its `tags`
/// list (top level, or inside a top-level `header:` mapping) to `sink` in
/// document order instead of keeping it: in the returned document those
/// lists are empty. The `tags` list must be written out (no anchor on it, no
/// alias for it).
pub(crate) fn parse_streaming<E>(
    text: &str,
    sink: Sink<'_, E>,
) -> Result<Option<Node>, StreamError<E>> {
    parse_inner(text, Some(MAX_HELD), sink)
}

fn parse_inner<E>(
    text: &str,
    max_held: Option<usize>,
    sink: Sink<'_, E>,
) -> Result<Option<Node>, StreamError<E>> {
    // Honest files produce far fewer nodes than bytes; aliases may multiply
    // that, but not without bound ("billion laughs").
    let budget = text.len().saturating_mul(4).max(100_000);
    let mut builder = Builder {
        stack: Vec::new(),
        anchors: HashMap::new(),
        nodes: 0,
        budget,
        held: 0,
        max_held,
        sink: max_held.map(|_| sink),
        root: None,
        documents: 0,
    };
    let mut parser = Parser::new_from_str(text);
    while let Some(event) = parser.next_event() {
        let (event, span) = event.map_err(|e| {
            YamlError::at(e.marker().line(), e.marker().col() + 1, e.info().to_owned())
        })?;
        let (line, col) = (span.start.line(), span.start.col() + 1);
        match event {
            Event::StreamEnd => break,
            Event::Nothing | Event::StreamStart | Event::DocumentEnd => {}
            Event::DocumentStart(_) => {
                builder.documents += 1;
                if builder.documents > 1 {
                    return Err(YamlError::at(
                        line,
                        col,
                        "more than one YAML document in the file",
                    )
                    .into());
                }
            }
            Event::Alias(id) => builder.alias(id, line, col)?,
            Event::Scalar(text, style, anchor, tag) => {
                let value = resolve_scalar(text, style, tag.as_deref())
                    .map_err(|m| YamlError::at(line, col, m))?;
                builder.complete(Node { value, line, col }, anchor, 1)?;
            }
            Event::SequenceStart(anchor, tag) => {
                check_collection_tag(tag.as_deref(), "seq")
                    .map_err(|m| YamlError::at(line, col, m))?;
                let mut frame = Frame::new(FrameKind::Seq(Vec::new()), anchor, line, col);
                frame.streams = builder.streamed_position();
                if frame.streams.is_some() && anchor != 0 {
                    return Err(YamlError::at(
                        line,
                        col,
                        "an anchor on the 'tags' list is not supported",
                    )
                    .into());
                }
                builder.open(frame)?;
            }
            Event::MappingStart(anchor, tag) => {
                check_collection_tag(tag.as_deref(), "map")
                    .map_err(|m| YamlError::at(line, col, m))?;
                builder.open(Frame::new(
                    FrameKind::Map(MapFrame::default()),
                    anchor,
                    line,
                    col,
                ))?;
            }
            Event::SequenceEnd | Event::MappingEnd => builder.close()?,
        }
    }
    Ok(builder.root)
}

struct Builder<'s, E> {
    stack: Vec<Frame>,
    /// Completed anchored nodes with their subtree sizes.
    anchors: HashMap<usize, (Node, usize)>,
    /// Nodes created so far, aliases counted at their expanded size.
    nodes: usize,
    budget: usize,
    /// Nodes held now: in the tree being built and under anchors.
    held: usize,
    /// Limit on `held` (streaming only).
    max_held: Option<usize>,
    /// Where streamed `tags` items go (streaming only).
    sink: Option<Sink<'s, E>>,
    root: Option<Node>,
    documents: usize,
}

struct Frame {
    kind: FrameKind,
    anchor: usize,
    line: usize,
    col: usize,
    /// `Builder::nodes` when the collection opened.
    nodes_at_open: usize,
    /// A streamed `tags` list: which one, and how many items it passed on.
    streams: Option<(TagsList, usize)>,
}

impl Frame {
    fn new(kind: FrameKind, anchor: usize, line: usize, col: usize) -> Self {
        Frame {
            kind,
            anchor,
            line,
            col,
            nodes_at_open: 0,
            streams: None,
        }
    }

    /// The key waiting for its value, if this is a mapping.
    fn pending_key(&self) -> Option<&str> {
        match &self.kind {
            FrameKind::Map(MapFrame {
                pending: Some(key), ..
            }) => key.as_str(),
            _ => None,
        }
    }
}

enum FrameKind {
    Seq(Vec<Node>),
    Map(MapFrame),
}

#[derive(Default)]
struct MapFrame {
    entries: Vec<(Node, Node)>,
    /// A key waiting for its value.
    pending: Option<Node>,
    /// Canonical key → line of first occurrence, once the map is large.
    index: Option<HashMap<String, usize>>,
    /// Values of merge keys (`<<`), applied when the mapping closes.
    merges: Vec<Node>,
}

/// Above this many entries duplicate keys are found with a hash map.
const LINEAR_KEY_SCAN: usize = 16;

impl<E> Builder<'_, E> {
    fn count(&mut self, n: usize, line: usize, col: usize) -> Result<(), YamlError> {
        self.nodes = self.nodes.saturating_add(n);
        if self.nodes > self.budget {
            return Err(YamlError::at(
                line,
                col,
                format!(
                    "document expands to more than {} nodes (alias bomb?)",
                    self.budget
                ),
            ));
        }
        self.hold(n, line, col)
    }

    /// Counts `n` more nodes held in memory, within the streaming limit.
    fn hold(&mut self, n: usize, line: usize, col: usize) -> Result<(), YamlError> {
        self.held = self.held.saturating_add(n);
        match self.max_held {
            Some(max) if self.held > max => Err(YamlError::at(
                line,
                col,
                format!("more than {max} YAML nodes held at once (a huge header, tag or anchor)"),
            )),
            _ => Ok(()),
        }
    }

    /// Whether a value starting now is a `tags` list to stream: the value
    /// of `tags` in the top-level mapping or in its `header` mapping.
    fn streamed_position(&self) -> Option<(TagsList, usize)> {
        self.sink.as_ref()?;
        match self.stack.as_slice() {
            [top] if top.pending_key() == Some("tags") => Some((TagsList::Top, 0)),
            [top, header]
                if top.pending_key() == Some("header") && header.pending_key() == Some("tags") =>
            {
                Some((TagsList::Header, 0))
            }
            _ => None,
        }
    }

    fn open(&mut self, mut frame: Frame) -> Result<(), YamlError> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(YamlError::at(
                frame.line,
                frame.col,
                format!("nesting deeper than {MAX_DEPTH} levels"),
            ));
        }
        self.count(1, frame.line, frame.col)?;
        frame.nodes_at_open = self.nodes - 1;
        self.stack.push(frame);
        Ok(())
    }

    fn close(&mut self) -> Result<(), StreamError<E>> {
        let Some(frame) = self.stack.pop() else {
            return Err(YamlError::at(0, 0, "unbalanced collection end").into());
        };
        let size = self.nodes - frame.nodes_at_open;
        if frame.streams.is_some() {
            // Its items were passed on; the list itself stays, empty.
            let size = 1;
            let node = Node {
                value: Value::Seq(Vec::new()),
                line: frame.line,
                col: frame.col,
            };
            return self.attach(node, 0, size);
        }
        let value = match frame.kind {
            FrameKind::Seq(items) => Value::Seq(items),
            FrameKind::Map(map) => Value::Map(apply_merges(map)?),
        };
        let node = Node {
            value,
            line: frame.line,
            col: frame.col,
        };
        self.attach(node, frame.anchor, size)
    }

    /// A scalar: count it, then attach it.
    fn complete(&mut self, node: Node, anchor: usize, size: usize) -> Result<(), StreamError<E>> {
        self.count(size, node.line, node.col)?;
        self.attach(node, anchor, size)
    }

    fn alias(&mut self, id: usize, line: usize, col: usize) -> Result<(), StreamError<E>> {
        if self.streamed_position().is_some() {
            return Err(YamlError::at(
                line,
                col,
                "the 'tags' list must be written out, not an alias",
            )
            .into());
        }
        let Some((node, size)) = self.anchors.get(&id) else {
            return Err(YamlError::at(line, col, "alias to an unknown anchor").into());
        };
        let (mut node, size) = (node.clone(), *size);
        node.line = line;
        node.col = col;
        self.complete(node, 0, size)
    }

    /// Puts a finished node into its parent (or makes it the root).
    fn attach(&mut self, node: Node, anchor: usize, size: usize) -> Result<(), StreamError<E>> {
        if anchor != 0 {
            self.hold(size, node.line, node.col)?;
            self.anchors.insert(anchor, (node.clone(), size));
        }
        let is_key = matches!(
            self.stack.last(),
            Some(Frame {
                kind: FrameKind::Map(MapFrame { pending: None, .. }),
                ..
            })
        );
        if !is_key && is_merge_key(&node) {
            // PyYAML has no value for a plain `<<` outside key position.
            return Err(YamlError::at(
                node.line,
                node.col,
                "'<<' (the merge key) used as a value; quote it for text",
            )
            .into());
        }
        let Some(parent) = self.stack.last_mut() else {
            self.root = Some(node);
            return Ok(());
        };
        if let Some((list, index)) = &mut parent.streams {
            let (list, i) = (*list, *index);
            *index += 1;
            self.held = self.held.saturating_sub(size);
            if let Some(sink) = self.sink.as_mut() {
                sink(list, i, node).map_err(StreamError::Sink)?;
            }
            return Ok(());
        }
        match &mut parent.kind {
            FrameKind::Seq(items) => items.push(node),
            FrameKind::Map(map) => match map.pending.take() {
                None => {
                    if matches!(node.value, Value::Seq(_) | Value::Map(_)) {
                        return Err(YamlError::at(
                            node.line,
                            node.col,
                            "a mapping key must be a scalar, not a collection",
                        )
                        .into());
                    }
                    map.pending = Some(node);
                }
                Some(key) => {
                    if is_merge_key(&key) {
                        map.merges.push(node);
                    } else {
                        check_duplicate(map, &key)?;
                        map.entries.push((key, node));
                    }
                }
            },
        }
        Ok(())
    }
}

/// The merge key `<<` (only plain, which `resolve_scalar` marks specially).
fn is_merge_key(key: &Node) -> bool {
    matches!(&key.value, Value::Str(s) if s == MERGE_MARK)
}

/// Internal marker for a plain `<<` key; no YAML text can produce it.
const MERGE_MARK: &str = "\u{0}<<";

/// Identity of a key for duplicate detection.
fn canonical_key(key: &Node) -> String {
    match &key.value {
        Value::Null => "n".to_owned(),
        Value::Bool(b) => format!("b{b}"),
        Value::Int(s) => format!("i{s}"),
        Value::Float(s) => format!("f{s}"),
        Value::Timestamp(s) => format!("t{s}"),
        Value::Str(s) => format!("s{s}"),
        Value::Seq(_) | Value::Map(_) => String::new(),
    }
}

fn check_duplicate(map: &mut MapFrame, key: &Node) -> Result<(), YamlError> {
    let duplicate = |first: usize| {
        YamlError::at(
            key.line,
            key.col,
            format!("duplicate key '{}' (first at line {first})", key.key_name()),
        )
    };
    if map.index.is_none() && map.entries.len() < LINEAR_KEY_SCAN {
        if let Some((first, _)) = map
            .entries
            .iter()
            .find(|(k, _)| same_key(&k.value, &key.value))
        {
            return Err(duplicate(first.line));
        }
        return Ok(());
    }
    let index = map.index.get_or_insert_with(|| {
        map.entries
            .iter()
            .map(|(k, _)| (canonical_key(k), k.line))
            .collect()
    });
    if let Some(&first) = index.get(&canonical_key(key)) {
        return Err(duplicate(first));
    }
    index.insert(canonical_key(key), key.line);
    Ok(())
}

fn same_key(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Str(x), Value::Str(y))
        | (Value::Int(x), Value::Int(y))
        | (Value::Float(x), Value::Float(y))
        | (Value::Timestamp(x), Value::Timestamp(y)) => x == y,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Null, Value::Null) => true,
        _ => false,
    }
}

/// Applies `<<` merges as PyYAML does: explicit keys win, then earlier merge
/// sources over later ones.
fn apply_merges(map: MapFrame) -> Result<Vec<(Node, Node)>, YamlError> {
    let MapFrame {
        mut entries,
        merges,
        pending,
        ..
    } = map;
    if let Some(key) = pending {
        // The parser always pairs keys with values; be safe anyway.
        return Err(YamlError::at(
            key.line,
            key.col,
            "mapping key without a value",
        ));
    }
    let mut present: Option<HashSet<String>> = None;
    for source in merges {
        let sources = match source.value {
            Value::Map(m) => vec![m],
            Value::Seq(items) => {
                let mut maps = Vec::with_capacity(items.len());
                for item in items {
                    match item.value {
                        Value::Map(m) => maps.push(m),
                        other => {
                            return Err(YamlError::at(
                                item.line,
                                item.col,
                                format!("merge key '<<' expects mappings, found {}", other.kind()),
                            ))
                        }
                    }
                }
                maps
            }
            other => {
                return Err(YamlError::at(
                    source.line,
                    source.col,
                    format!("merge key '<<' expects a mapping, found {}", other.kind()),
                ))
            }
        };
        for source_entries in sources {
            for (k, v) in source_entries {
                // A hashed set of the keys so far: merging stays linear.
                let present = present
                    .get_or_insert_with(|| entries.iter().map(|(e, _)| canonical_key(e)).collect());
                if present.insert(canonical_key(&k)) {
                    entries.push((k, v));
                }
            }
        }
    }
    Ok(entries)
}

fn check_collection_tag(tag: Option<&Tag>, expected: &str) -> Result<(), String> {
    match tag {
        None => Ok(()),
        Some(t) if t.handle == "!" && t.suffix.is_empty() => Ok(()),
        Some(t) if t.is_yaml_core_schema() && t.suffix == expected => Ok(()),
        Some(t) => Err(format!("unsupported YAML tag '{t}'")),
    }
}

/// The value of a scalar event.
fn resolve_scalar(
    text: Cow<'_, str>,
    style: ScalarStyle,
    tag: Option<&Tag>,
) -> Result<Value, String> {
    if let Some(t) = tag {
        if t.handle == "!" && t.suffix.is_empty() {
            // The non-specific tag `!`: text.
            return Ok(Value::Str(text.into_owned()));
        }
        if !t.is_yaml_core_schema() {
            return Err(format!("unsupported YAML tag '{t}'"));
        }
        let implicit = resolve_plain(&text);
        let value = match (t.suffix.as_str(), implicit) {
            ("str", _) => Value::Str(text.into_owned()),
            ("null", v @ Value::Null)
            | ("bool", v @ Value::Bool(_))
            | ("int", v @ Value::Int(_))
            | ("float", v @ (Value::Float(_) | Value::Int(_)))
            | ("timestamp", v @ Value::Timestamp(_)) => v,
            (suffix, _) => return Err(format!("'{text}' is not a valid !!{suffix}")),
        };
        return Ok(value);
    }
    if style != ScalarStyle::Plain {
        return Ok(Value::Str(text.into_owned()));
    }
    match resolve_plain_owned(text.into_owned()) {
        Value::Str(s) if s == "<<" => Ok(Value::Str(MERGE_MARK.to_owned())),
        Value::Str(s) if s == "=" => {
            Err("unsupported YAML value '=' (the 1.1 value key)".to_owned())
        }
        Value::Timestamp(s) => {
            if super::date::parse_datetime(&s).is_none() {
                return Err(format!("invalid date '{s}'"));
            }
            Ok(Value::Timestamp(s))
        }
        v => Ok(v),
    }
}

/// YAML 1.1 implicit resolution of a plain scalar (PyYAML `SafeLoader`'s
/// resolvers, tried in its order), with an unquoted `0x…` hex string as text.
pub(crate) fn resolve_plain(text: &str) -> Value {
    resolve_plain_owned(text.to_owned())
}

/// [`resolve_plain`] reusing the scalar's buffer.
fn resolve_plain_owned(s: String) -> Value {
    if is_hex_text(&s) {
        return Value::Str(s);
    }
    match s.as_str() {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Value::Bool(true)
        }
        "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Value::Bool(false)
        }
        _ => {}
    }
    if is_float_11(&s) {
        return Value::Float(s);
    }
    if is_int_11(&s) {
        return Value::Int(s);
    }
    if is_timestamp_11(&s) {
        return Value::Timestamp(s);
    }
    Value::Str(s)
}

/// `^0x[0-9a-fA-F_]+$`: GraphSense keeps these as text.
fn is_hex_text(s: &str) -> bool {
    s.strip_prefix("0x")
        .is_some_and(|r| !r.is_empty() && r.bytes().all(|b| b.is_ascii_hexdigit() || b == b'_'))
}

fn strip_sign(s: &str) -> &str {
    s.strip_prefix(['-', '+']).unwrap_or(s)
}

/// `[0-9][0-9_]*`
fn digits_underscore(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty() && b[0].is_ascii_digit() && b.iter().all(|c| c.is_ascii_digit() || *c == b'_')
}

/// `(:[0-5]?[0-9])+` (sexagesimal tail)
fn sexagesimal_tail(s: &str) -> bool {
    if s.is_empty() {
        return false;
    }
    s.split(':').skip(1).all(|part| {
        let b = part.as_bytes();
        match b.len() {
            1 => b[0].is_ascii_digit(),
            2 => (b'0'..=b'5').contains(&b[0]) && b[1].is_ascii_digit(),
            _ => false,
        }
    }) && s.starts_with(':')
}

/// `[eE][-+][0-9]+` or nothing
fn exponent_opt(s: &str) -> bool {
    if s.is_empty() {
        return true;
    }
    let Some(rest) = s.strip_prefix(['e', 'E']) else {
        return false;
    };
    let Some(digits) = rest.strip_prefix(['-', '+']) else {
        return false;
    };
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// PyYAML's float resolver.
fn is_float_11(s: &str) -> bool {
    let u = strip_sign(s);
    if matches!(u, ".inf" | ".Inf" | ".INF") || matches!(s, ".nan" | ".NaN" | ".NAN") {
        return true;
    }
    // \.[0-9][0-9_]*([eE][-+][0-9]+)?   (no sign)
    if let Some(rest) = s.strip_prefix('.') {
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '_'))
            .unwrap_or(rest.len());
        return rest.as_bytes().first().is_some_and(u8::is_ascii_digit)
            && exponent_opt(&rest[end..]);
    }
    // [-+]?[0-9][0-9_]*\.[0-9_]*([eE][-+][0-9]+)?
    if let Some(dot) = u.find('.') {
        let (int, rest) = (&u[..dot], &u[dot + 1..]);
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '_'))
            .unwrap_or(rest.len());
        if digits_underscore(int) && exponent_opt(&rest[end..]) {
            return true;
        }
        // [-+]?[0-9][0-9_]*(:[0-5]?[0-9])+\.[0-9_]*
        let (head, frac) = (&u[..dot], &u[dot + 1..]);
        if let Some(colon) = head.find(':') {
            return digits_underscore(&head[..colon])
                && sexagesimal_tail(&head[colon..])
                && frac.bytes().all(|b| b.is_ascii_digit() || b == b'_');
        }
    }
    false
}

/// PyYAML's int resolver.
fn is_int_11(s: &str) -> bool {
    let u = strip_sign(s);
    if let Some(r) = u.strip_prefix("0b") {
        return !r.is_empty() && r.bytes().all(|b| b == b'0' || b == b'1' || b == b'_');
    }
    if let Some(r) = u.strip_prefix("0x") {
        return !r.is_empty() && r.bytes().all(|b| b.is_ascii_hexdigit() || b == b'_');
    }
    if u == "0" {
        return true;
    }
    if let Some(r) = u.strip_prefix('0') {
        return r.bytes().all(|b| (b'0'..=b'7').contains(&b) || b == b'_');
    }
    // [1-9][0-9_]* or [1-9][0-9_]*(:[0-5]?[0-9])+
    let first_ok = u
        .as_bytes()
        .first()
        .is_some_and(|b| (b'1'..=b'9').contains(b));
    if !first_ok {
        return false;
    }
    match u.find(':') {
        None => digits_underscore(u),
        Some(colon) => digits_underscore(&u[..colon]) && sexagesimal_tail(&u[colon..]),
    }
}

/// PyYAML's timestamp resolver.
fn is_timestamp_11(s: &str) -> bool {
    super::date::timestamp_shape(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalar(s: &str) -> Value {
        resolve_plain(s)
    }

    #[test]
    fn yaml_11_scalars_as_pyyaml_reads_them() {
        // Each expectation was checked against graphsense-lib 2.18.1's
        // `load_yaml_fast` (PyYAML rules, hex kept as text).
        assert_eq!(scalar("yes"), Value::Bool(true));
        assert_eq!(scalar("on"), Value::Bool(true));
        assert_eq!(scalar("NO"), Value::Bool(false));
        assert_eq!(scalar("FALSE"), Value::Bool(false));
        assert_eq!(scalar("0x0a"), Value::Str("0x0a".into()));
        assert_eq!(scalar("123"), Value::Int("123".into()));
        assert_eq!(scalar("-7"), Value::Int("-7".into()));
        assert_eq!(scalar("+7"), Value::Int("+7".into()));
        assert_eq!(scalar("007"), Value::Int("007".into()));
        assert_eq!(scalar("1_000"), Value::Int("1_000".into()));
        assert_eq!(scalar("0b101"), Value::Int("0b101".into()));
        assert_eq!(scalar("1:30"), Value::Int("1:30".into()));
        assert_eq!(scalar("1.5"), Value::Float("1.5".into()));
        assert_eq!(scalar(".inf"), Value::Float(".inf".into()));
        assert_eq!(scalar("-.inf"), Value::Float("-.inf".into()));
        assert_eq!(scalar("0o17"), Value::Str("0o17".into()));
        assert_eq!(scalar("1e3"), Value::Str("1e3".into()));
        assert_eq!(scalar("08"), Value::Str("08".into()));
        assert_eq!(scalar("~"), Value::Null);
        assert_eq!(scalar(""), Value::Null);
        assert_eq!(scalar("2021-01-01"), Value::Timestamp("2021-01-01".into()));
        assert_eq!(
            scalar("2023-08-16 12:18:52.619444"),
            Value::Timestamp("2023-08-16 12:18:52.619444".into())
        );
        assert_eq!(scalar("binance.com"), Value::Str("binance.com".into()));
        assert_eq!(
            scalar("1NDyJtNTjmwk5xPNhjgAMu4HDHigtobu1s"),
            Value::Str("1NDyJtNTjmwk5xPNhjgAMu4HDHigtobu1s".into())
        );
    }

    #[test]
    fn quoted_scalars_are_text() {
        let doc = parse("a: '123'\nb: \"yes\"\nc: |\n  2021-01-01\n")
            .unwrap()
            .unwrap();
        let Value::Map(entries) = doc.value else {
            panic!("not a map")
        };
        let kinds: Vec<_> = entries.iter().map(|(_, v)| v.value.kind()).collect();
        assert_eq!(kinds, ["text", "text", "text"]);
    }

    #[test]
    fn duplicate_keys_rejected_with_both_lines() {
        let err = parse("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!((err.line, err.col), (3, 1));
        assert!(
            err.message.contains("duplicate key 'a' (first at line 1)"),
            "{err:?}"
        );
        // Large mappings take the hashed path.
        let mut big: String = (0..40).map(|i| format!("k{i}: {i}\n")).collect();
        big.push_str("k7: again\n");
        let err = parse(&big).unwrap_err();
        assert_eq!(err.line, 41);
        assert!(
            err.message.contains("duplicate key 'k7' (first at line 8)"),
            "{err:?}"
        );
    }

    #[test]
    fn merge_keys_and_aliases() {
        let err = parse("a: <<\n").unwrap_err();
        assert!(err.message.contains("merge key"), "{err:?}");
        let doc = parse("base: &b {x: 1, y: 2}\nm:\n  <<: *b\n  y: 3\n")
            .unwrap()
            .unwrap();
        let Value::Map(top) = doc.value else { panic!() };
        let Value::Map(m) = &top[1].1.value else {
            panic!()
        };
        let get = |k: &str| {
            m.iter()
                .find(|(key, _)| key.as_str() == Some(k))
                .map(|(_, v)| v.value.clone())
        };
        assert_eq!(get("x"), Some(Value::Int("1".into())));
        assert_eq!(get("y"), Some(Value::Int("3".into())));
    }

    #[test]
    fn alias_bomb_and_deep_nesting_are_errors_not_crashes() {
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            bomb.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let err = parse(&bomb).unwrap_err();
        assert!(err.message.contains("alias bomb"), "{err:?}");
        let deep = "[".repeat(100_000);
        let err = parse(&deep).unwrap_err();
        // saphyr-parser's own limit may trigger first.
        assert!(
            err.message.contains("nesting deeper than 64")
                || err.message.contains("recursion limit"),
            "{err:?}"
        );
        let deep = format!("{}1{}", "[".repeat(70), "]".repeat(70));
        let err = parse(&deep).unwrap_err();
        assert!(err.message.contains("nesting deeper than 64"), "{err:?}");
    }

    #[test]
    fn syntax_errors_have_positions() {
        let err = parse("a: 1\nb: [1, 2\nc: 3\n").unwrap_err();
        assert!(err.line >= 2, "{err:?}");
        let err = parse("a: 1\n b: 2\n").unwrap_err();
        assert_eq!(err.line, 2, "{err:?}");
    }

    #[test]
    fn several_documents_and_custom_tags_rejected() {
        let err = parse("a: 1\n---\nb: 2\n").unwrap_err();
        assert!(
            err.message.contains("more than one YAML document"),
            "{err:?}"
        );
        let err = parse("a: !include header.yaml\n").unwrap_err();
        assert!(
            err.message.contains("unsupported YAML tag '!include'"),
            "{err:?}"
        );
        assert_eq!(
            parse("a: !!str 123\n").unwrap().unwrap().value,
            Value::Map(vec![(
                Node {
                    value: Value::Str("a".into()),
                    line: 1,
                    col: 1
                },
                Node {
                    value: Value::Str("123".into()),
                    line: 1,
                    col: 4
                }
            )])
        );
    }

    #[test]
    fn invalid_dates_rejected() {
        let err = parse("lastmod: 2019-13-45\n").unwrap_err();
        assert!(err.message.contains("invalid date '2019-13-45'"), "{err:?}");
    }
}
