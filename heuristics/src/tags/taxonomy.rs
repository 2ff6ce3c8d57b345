//! The TagPack schema, the confidence scale and the concept taxonomy, as
//! published with graphsense-lib and compiled into the binary (see
//! `heuristics/taxonomy/PROVENANCE.md`).

use std::collections::HashMap;
use std::sync::OnceLock;

use super::error::TagError;
use super::yaml::{self, Node, Value};

/// `tagpack_schema.yaml`: which fields a pack header and a tag may carry.
pub(crate) const TAGPACK_SCHEMA_YAML: &str = include_str!("../../taxonomy/tagpack_schema.yaml");
/// `confidence.csv`: confidence ids and their levels (0–100).
pub(crate) const CONFIDENCE_CSV: &str = include_str!("../../taxonomy/confidence.csv");
/// `concepts.yaml`: the concept taxonomy used by `category`, `abuse`, `concepts`.
pub(crate) const CONCEPTS_YAML: &str = include_str!("../../taxonomy/concepts.yaml");

/// The type of a schema field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FieldType {
    /// Non-empty text.
    Text,
    /// `true` or `false`.
    Boolean,
    /// A date or date-time.
    Datetime,
    /// A list; `item_text` when every item must be text.
    List { item_text: bool },
}

/// Which taxonomy a field's values must come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TaxonomyKind {
    /// Ids in `confidence.csv`.
    Confidence,
    /// Concept ids in `concepts.yaml`.
    Concept,
    /// A taxonomy whose file is not shipped (`tag_type`): any text.
    Unchecked,
}

/// One field of the schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FieldDef {
    pub name: String,
    pub ty: FieldType,
    pub mandatory: bool,
    pub taxonomy: Option<TaxonomyKind>,
}

/// A confidence id and its level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Confidence {
    pub id: String,
    pub level: u8,
}

/// Everything the validator looks up.
#[derive(Debug)]
pub(crate) struct Taxonomies {
    /// Header fields in schema order.
    pub header: Vec<FieldDef>,
    /// Tag fields in schema order.
    pub tag: Vec<FieldDef>,
    /// Confidence ids in file order.
    pub confidences: Vec<Confidence>,
    /// Concept id → its broader concept (parent), if any.
    pub concepts: HashMap<String, Option<String>>,
}

impl Taxonomies {
    /// A header field's definition.
    pub(crate) fn header_field(&self, name: &str) -> Option<&FieldDef> {
        self.header.iter().find(|d| d.name == name)
    }

    /// A tag field's definition.
    pub(crate) fn tag_field(&self, name: &str) -> Option<&FieldDef> {
        self.tag.iter().find(|d| d.name == name)
    }

    /// The level of a confidence id.
    pub(crate) fn confidence_level(&self, id: &str) -> Option<u8> {
        self.confidences
            .iter()
            .find(|c| c.id == id)
            .map(|c| c.level)
    }

    /// The confidence GraphSense assigns a pack that leaves some tags
    /// without one: the lowest level, the last such id in file order
    /// (`unknown`, level 5).
    pub(crate) fn lowest_confidence(&self) -> Option<&Confidence> {
        let min = self.confidences.iter().map(|c| c.level).min()?;
        self.confidences.iter().rev().find(|c| c.level == min)
    }

    /// All confidence ids, comma separated, for messages.
    pub(crate) fn confidence_ids(&self) -> String {
        let ids: Vec<&str> = self.confidences.iter().map(|c| c.id.as_str()).collect();
        ids.join(", ")
    }

    /// Whether `id` is a concept id.
    pub(crate) fn is_concept(&self, id: &str) -> bool {
        self.concepts.contains_key(id)
    }

    /// `id` and its broader concepts, nearest first (cycle-safe).
    pub(crate) fn lineage<'a>(&'a self, id: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        let mut next = Some(id);
        let mut steps = 0;
        std::iter::from_fn(move || {
            let current = next?;
            steps += 1;
            next = if steps > 64 {
                None
            } else {
                self.concepts.get(current).and_then(|p| p.as_deref())
            };
            Some(current)
        })
    }
}

/// The embedded taxonomies, parsed once.
pub(crate) fn get() -> Result<&'static Taxonomies, TagError> {
    static CELL: OnceLock<Result<Taxonomies, String>> = OnceLock::new();
    CELL.get_or_init(load)
        .as_ref()
        .map_err(|e| TagError::Taxonomy(e.clone()))
}

fn load() -> Result<Taxonomies, String> {
    let (header, tag) =
        parse_schema(TAGPACK_SCHEMA_YAML).map_err(|e| format!("tagpack_schema.yaml: {e}"))?;
    let confidences =
        parse_confidence(CONFIDENCE_CSV).map_err(|e| format!("confidence.csv: {e}"))?;
    let concepts = parse_concepts(CONCEPTS_YAML).map_err(|e| format!("concepts.yaml: {e}"))?;
    Ok(Taxonomies {
        header,
        tag,
        confidences,
        concepts,
    })
}

fn map_entries(node: &Node) -> Result<&[(Node, Node)], String> {
    match &node.value {
        Value::Map(m) => Ok(m),
        other => Err(format!(
            "line {}: expected a mapping, found {}",
            node.line,
            other.kind()
        )),
    }
}

fn lookup<'a>(entries: &'a [(Node, Node)], key: &str) -> Option<&'a Node> {
    entries
        .iter()
        .find(|(k, _)| k.as_str() == Some(key))
        .map(|(_, v)| v)
}

fn parse_yaml(text: &str) -> Result<Node, String> {
    yaml::parse(text)
        .map_err(|e| format!("{}:{}: {}", e.line, e.col, e.message))?
        .ok_or_else(|| "empty".to_owned())
}

type Schema = (Vec<FieldDef>, Vec<FieldDef>);

fn parse_schema(text: &str) -> Result<Schema, String> {
    let root = parse_yaml(text)?;
    let root = map_entries(&root)?;
    let section = |name: &str| -> Result<Vec<FieldDef>, String> {
        let node = lookup(root, name).ok_or_else(|| format!("no '{name}' section"))?;
        map_entries(node)?
            .iter()
            .map(|(k, v)| parse_field(k, v))
            .collect()
    };
    Ok((section("header")?, section("tag")?))
}

fn parse_field(key: &Node, def: &Node) -> Result<FieldDef, String> {
    let name = key
        .as_str()
        .ok_or_else(|| format!("line {}: field name is not text", key.line))?
        .to_owned();
    let def = map_entries(def)?;
    let text = |k: &str| lookup(def, k).and_then(Node::as_str);
    let item_text = match text("item_type") {
        None => false,
        Some("text") => true,
        Some(other) => return Err(format!("field '{name}': unsupported item_type '{other}'")),
    };
    let ty = match text("type") {
        Some("text") => FieldType::Text,
        Some("boolean") => FieldType::Boolean,
        Some("datetime") => FieldType::Datetime,
        Some("list") => FieldType::List { item_text },
        other => return Err(format!("field '{name}': unsupported type {other:?}")),
    };
    let mandatory = matches!(
        lookup(def, "mandatory").map(|n| &n.value),
        Some(Value::Bool(true))
    );
    let taxonomy = match text("taxonomy") {
        None => None,
        Some("confidence") => Some(TaxonomyKind::Confidence),
        Some("concept") => Some(TaxonomyKind::Concept),
        Some(_) => Some(TaxonomyKind::Unchecked),
    };
    Ok(FieldDef {
        name,
        ty,
        mandatory,
        taxonomy,
    })
}

fn parse_confidence(text: &str) -> Result<Vec<Confidence>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = reader.headers().map_err(|e| e.to_string())?.clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| format!("no '{name}' column"))
    };
    let (id_col, level_col) = (col("id")?, col("level")?);
    let mut out = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| e.to_string())?;
        let id = record.get(id_col).unwrap_or_default().to_owned();
        let level: u8 = record
            .get(level_col)
            .unwrap_or_default()
            .parse()
            .map_err(|e| format!("level of '{id}': {e}"))?;
        if level > 100 {
            return Err(format!("level of '{id}' above 100"));
        }
        out.push(Confidence { id, level });
    }
    if out.is_empty() {
        return Err("no confidence ids".to_owned());
    }
    Ok(out)
}

fn parse_concepts(text: &str) -> Result<HashMap<String, Option<String>>, String> {
    let root = parse_yaml(text)?;
    let mut out = HashMap::new();
    for (_, entry) in map_entries(&root)? {
        let Value::Map(fields) = &entry.value else {
            continue;
        };
        let is_concept = lookup(fields, "type")
            .and_then(Node::as_str)
            .is_some_and(|t| t.trim() == "concept");
        if !is_concept {
            continue;
        }
        let id = lookup(fields, "id")
            .and_then(Node::as_str)
            .ok_or_else(|| format!("line {}: concept without a text 'id'", entry.line))?;
        let broader = lookup(fields, "broader")
            .and_then(Node::as_str)
            .map(str::to_owned);
        out.insert(id.to_owned(), broader);
    }
    if out.is_empty() {
        return Err("no concepts".to_owned());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_taxonomies_load() {
        let t = get().unwrap();
        // tagpack_schema.yaml: 6 header fields, 15 tag fields.
        assert_eq!(t.header.len(), 6);
        assert_eq!(t.tag.len(), 15);
        let mandatory: Vec<&str> = t
            .tag
            .iter()
            .filter(|d| d.mandatory)
            .map(|d| d.name.as_str())
            .collect();
        assert_eq!(
            mandatory,
            ["label", "source", "currency", "network", "confidence"]
        );
        let header_mandatory: Vec<&str> = t
            .header
            .iter()
            .filter(|d| d.mandatory)
            .map(|d| d.name.as_str())
            .collect();
        assert_eq!(header_mandatory, ["title", "creator", "tags"]);
        assert_eq!(
            t.tag_field("concepts").unwrap().ty,
            FieldType::List { item_text: true }
        );
        assert_eq!(t.tag_field("lastmod").unwrap().ty, FieldType::Datetime);
        assert_eq!(
            t.tag_field("tag_type").unwrap().taxonomy,
            Some(TaxonomyKind::Unchecked)
        );

        // confidence.csv: 14 ids, from override (100) to unknown (5; written " 5").
        assert_eq!(t.confidences.len(), 14);
        assert_eq!(t.confidence_level("service_data"), Some(50));
        assert_eq!(t.confidence_level("ownership"), Some(100));
        assert_eq!(t.confidence_level("unknown"), Some(5));
        assert_eq!(t.lowest_confidence().unwrap().id, "unknown");

        // concepts.yaml: 93 entries of type concept (counted with PyYAML).
        assert_eq!(t.concepts.len(), 93);
        assert!(t.is_concept("exchange") && t.is_concept("coinjoin") && t.is_concept("sanction"));
        assert!(
            !t.is_concept("scheme"),
            "the conceptScheme entry is not a concept"
        );
        let lineage: Vec<&str> = t.lineage("pyramid_scheme").collect();
        assert_eq!(
            lineage,
            [
                "pyramid_scheme",
                "ponzi_scheme",
                "investment_fraud",
                "financial_crime",
                "abuse",
                "behaviour",
                "concept"
            ]
        );
    }
}
