//! Trace files (`trace.json`), as `tracer report` and `tracer link` read them.

use reports::{graphfile, html, link, table, Inputs, Lang, TraceFile};

use crate::keep;

/// How a trace file's bytes are read: the validating parse every reader uses.
fn parse(data: &[u8]) -> Result<TraceFile, String> {
    trace_file::parse(data).map_err(|e| e.to_string())
}

/// A trace file's bytes, parsed; a trace that parses is made into a report
/// (JSON, HTML, the CSV tables, DOT and GraphML; the PDF is left out, its
/// layout takes too long per input) in the language the input's length
/// picks, and linked as `tracer link` links traces.
pub fn trace_file(data: &[u8]) -> bool {
    let doc = match parse(data) {
        Ok(doc) => doc,
        Err(e) => {
            keep(e);
            return false;
        }
    };
    let lang = if data.len().is_multiple_of(2) {
        Lang::Ja
    } else {
        Lang::En
    };
    let inputs = Inputs {
        lang,
        evaluation: None,
        prices: None,
        fingerprint: None,
        data_source: None,
        commands: Vec::new(),
    };
    let docs = [doc];
    let r = match reports::build(&docs, &inputs) {
        Ok(r) => r,
        Err(e) => {
            keep(e.to_string());
            return false;
        }
    };
    keep(serde_json::to_vec(&r).expect("a report serialises"));
    keep(html::render(&r));
    keep(table::endpoints(&r, lang));
    keep(table::hops(&r, lang));
    keep(graphfile::dot(&r));
    keep(graphfile::graphml(&r));
    match link::link(&docs, lang, Vec::new(), &|_| None) {
        Ok(k) => keep(serde_json::to_vec(&k).expect("a linkage serialises")),
        Err(e) => keep(e.to_string()),
    }
    true
}
