//! Reports: case trace reports (HTML, JSON, CSV; Japanese and English) with
//! an integrity manifest, made from the trace files `tracer trace` writes.
//! Same inputs → byte-identical files: nothing in them depends on the clock
//! or the machine.

pub mod bundle;
pub mod graph;
pub mod graphfile;
pub mod html;
pub mod lang;
pub mod link;
pub mod link_render;
pub mod manifest;
pub mod pdf;
pub mod prices;
pub mod report;
pub mod svg;
pub mod table;
pub mod terms;
pub mod units;

pub use lang::Lang;
pub use prices::Prices;
pub use report::{build, Inputs, Report};
pub use trace_file::TraceFile;

/// A report input that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input, with where it is.
    #[error("{0}")]
    Input(String),
}

/// The JSON Schema of `report.json`.
pub const REPORT_SCHEMA: &str = include_str!("../schema/trace-report.schema.json");

/// The JSON Schema of `linkage.json`.
pub const LINKAGE_SCHEMA: &str = include_str!("../schema/linkage.schema.json");

/// Every artifact of a trace report, by file name (`MANIFEST.sha256` last);
/// the PDF is set in `font`.
pub fn artifacts(r: &Report, font: &pdf::FontFile) -> Result<Vec<(String, Vec<u8>)>, Error> {
    let mut json = serde_json::to_vec_pretty(r).expect("a report serialises");
    json.push(b'\n');
    let files = vec![
        ("report.html".to_string(), html::render(r).into_bytes()),
        ("report.json".to_string(), json),
        ("endpoints.csv".to_string(), table::endpoints(r, r.lang)),
        ("hops.csv".to_string(), table::hops(r, r.lang)),
        ("report.pdf".to_string(), pdf::render(r, font)?),
        ("graph.dot".to_string(), graphfile::dot(r).into_bytes()),
        (
            "graph.graphml".to_string(),
            graphfile::graphml(r).into_bytes(),
        ),
    ];
    Ok(manifest::with_manifest(files))
}
