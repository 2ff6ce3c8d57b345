//! Attribution tag files: GraphSense TagPacks (YAML) and CSV tag files.

use heuristics::tags::{parse_csv, parse_tagpack, Loaded, TagError};

use crate::{accepted, keep};

/// A TagPack's text, validated as `tracer tags import` validates a `.yaml` file.
pub fn tagpack(data: &[u8]) -> bool {
    std::str::from_utf8(data).is_ok_and(|text| loaded(parse_tagpack(text, "fuzz.yaml")))
}

/// A CSV tag file's bytes, validated as `tracer tags import` validates a `.csv` file.
pub fn csv(data: &[u8]) -> bool {
    loaded(parse_csv(data, "fuzz.csv"))
}

/// Each accepted tag's class (what the trace and clustering ask of it), or
/// the error's message.
fn loaded(result: Result<Loaded, TagError>) -> bool {
    accepted(result.map(|l| {
        for t in &l.tags {
            keep((t.class(), t.is_service()));
        }
        l.report
    }))
}
