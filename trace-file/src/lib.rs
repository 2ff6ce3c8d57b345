//! The trace file (`trace.json`): the contract between the tracing engine
//! that writes it and every reader — reports, cross-case linkage, bundle
//! import. One set of types for writer and readers ([`TraceFile`] and its
//! records, the closed vocabularies of [`terms`]), a format version
//! ([`FORMAT`]), its JSON Schema ([`schema`]), and one validating parse
//! ([`parse`], [`read`]) used wherever a trace file is read.
//!
//! Every amount is an exact [`Amount`] of the asset's smallest unit, with
//! checked arithmetic, written as a decimal string.

pub mod amount;
mod check;
mod file;
pub mod terms;

pub use amount::{Amount, Overflow};
pub use check::{parse, read, validate, Error, MAX_TRACE_FILE_BYTES};
pub use file::{
    Barrier, Beyond, Case, CaseSeed, ChangePolicy, Edge, Endpoint, EndpointEvidence,
    EndpointOutput, LedgerRef, Limits, Node, Params, Seed, Summary, Tag, TraceFile, Unit,
};
pub use terms::{
    Chain, ClusterRule, CoinJoinPolicy, Crime, Direction, EndpointRule, HopRule, Model, NodeLevel,
    NodeRole, TagClass,
};

/// Trace file format version this build writes and reads. 2: typed
/// vocabularies, amounts as decimal strings, `params.level`, the change
/// policy, node cluster size and contract mark.
pub const FORMAT: u32 = 2;

/// `part / whole` rounded to 6 decimals (0 when `whole` is 0), as shares
/// of the seed value are reported.
pub fn share(part: Amount, whole: Amount) -> f64 {
    if whole.is_zero() {
        0.0
    } else {
        ((part.units() as f64 / whole.units() as f64) * 1e6).round() / 1e6
    }
}

/// The JSON Schema (2020-12) of a trace file, generated from the types.
pub fn schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(TraceFile)).expect("a schema serialises")
}

/// The JSON Schema as the committed file `trace-file/schema/trace.schema.json` holds it.
pub const SCHEMA: &str = include_str!("../schema/trace.schema.json");

#[cfg(test)]
mod tests {
    #[test]
    fn committed_schema_is_the_generated_one() {
        let generated = serde_json::to_string_pretty(&super::schema()).unwrap() + "\n";
        if std::env::var_os("TRACER_WRITE_SCHEMA").is_some() {
            let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema/trace.schema.json");
            std::fs::write(path, &generated).unwrap();
        }
        assert!(
            super::SCHEMA == generated,
            "trace.schema.json is stale: run the trace-file tests with TRACER_WRITE_SCHEMA=1"
        );
    }
}
