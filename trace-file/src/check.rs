//! The one validating parse of a trace file: JSON into the typed records,
//! then the checks the types cannot express — format version, node
//! indices in range, amounts within their outputs, totals that add up — so
//! a corrupt or hostile file gives an error naming what and where, never a
//! panic or a wrong report.

use std::io::Read;
use std::path::Path;

use serde::Deserialize;

use crate::amount::{Amount, Overflow};
use crate::file::TraceFile;
use crate::terms::Direction;
use crate::FORMAT;

/// The largest trace file read (a trace of a million hops is ≈ 400 MiB).
pub const MAX_TRACE_FILE_BYTES: u64 = 1 << 30;

/// Why a trace file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Not JSON, or not the shape of a trace file.
    #[error("not a tracer trace file: {0}")]
    Json(#[from] serde_json::Error),
    /// Another format version.
    #[error("trace file format {found}; this tracer reads format {FORMAT} (re-run the trace with this version of tracer)")]
    Format {
        /// The version the file says.
        found: u64,
    },
    /// A value that breaks the contract, with where it is.
    #[error("{at}: {what}")]
    Invalid {
        /// Field path, e.g. `edges[12].to`.
        at: String,
        /// What is wrong.
        what: String,
    },
    /// Totals that do not fit.
    #[error("{at}: {cause}")]
    Overflow {
        /// Field path.
        at: String,
        /// The sum that does not fit.
        cause: Overflow,
    },
    /// The file cannot be read.
    #[error("{0}")]
    Io(String),
}

fn invalid(at: impl Into<String>, what: impl Into<String>) -> Error {
    Error::Invalid {
        at: at.into(),
        what: what.into(),
    }
}

fn sum(at: &str, amounts: impl IntoIterator<Item = Amount>) -> Result<Amount, Error> {
    Amount::sum(amounts).map_err(|source| Error::Overflow {
        at: at.to_string(),
        cause: source,
    })
}

/// Reads and validates the trace file at `path`: a regular file of at most
/// [`MAX_TRACE_FILE_BYTES`] (not a device, FIFO or directory).
pub fn read(path: &Path) -> Result<TraceFile, Error> {
    let io = |e: std::io::Error| Error::Io(format!("{}: {e}", path.display()));
    let meta = std::fs::metadata(path).map_err(io)?;
    if !meta.is_file() {
        return Err(Error::Io(format!("{}: not a regular file", path.display())));
    }
    let file = std::fs::File::open(path).map_err(io)?;
    if !file.metadata().map_err(io)?.is_file() {
        return Err(Error::Io(format!("{}: not a regular file", path.display())));
    }
    let mut bytes = Vec::new();
    file.take(MAX_TRACE_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_TRACE_FILE_BYTES {
        return Err(Error::Io(format!(
            "{}: larger than {} MiB, the most a trace file may be",
            path.display(),
            MAX_TRACE_FILE_BYTES >> 20
        )));
    }
    parse(&bytes)
}

/// Parses and validates a trace file's bytes.
pub fn parse(bytes: &[u8]) -> Result<TraceFile, Error> {
    /// Only the version, read first so an old file gets the right message.
    #[derive(Deserialize)]
    struct Version {
        format: Option<serde_json::Value>,
    }
    let v: Version = serde_json::from_slice(bytes)?;
    match v.format {
        Some(f) if f.as_u64() == Some(u64::from(FORMAT)) => {}
        Some(f) => {
            return Err(match f.as_u64() {
                Some(found) => Error::Format { found },
                None => invalid("format", format!("{f} is not a format version")),
            })
        }
        None => return Err(invalid("format", "missing")),
    }
    let t: TraceFile = serde_json::from_slice(bytes)?;
    validate(&t)?;
    Ok(t)
}

/// Checks what the types cannot: every index, amount and total.
pub fn validate(t: &TraceFile) -> Result<(), Error> {
    if t.format != FORMAT {
        return Err(Error::Format {
            found: u64::from(t.format),
        });
    }
    if let Some(d) = t.unit.decimals.filter(|&d| d > 38) {
        return Err(invalid("unit.decimals", format!("{d} is more than 38")));
    }
    if let Some(c) = &t.case {
        if c.id.is_empty()
            || c.id.len() > 64
            || !c
                .id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        {
            return Err(invalid(
                "case.id",
                "not a case id (letters, digits, '.', '_', '-')",
            ));
        }
    }
    for (i, s) in t.seeds.iter().enumerate() {
        let at = |f: &str| format!("seeds[{i}].{f}");
        txid(&at("txid"), &s.txid)?;
        utc(&at("time"), &s.time)?;
        within(&at("amount"), s.amount, s.value)?;
    }
    let seeded = sum("seeds", t.seeds.iter().map(|s| s.amount))?;
    equal(
        "summary.seed_value",
        t.summary.seed_value,
        seeded,
        "the seeds' amounts",
    )?;
    for (i, n) in t.nodes.iter().enumerate() {
        if n.id != i {
            return Err(invalid(
                format!("nodes[{i}].id"),
                format!(
                    "{} where {i} was expected (nodes are listed by index)",
                    n.id
                ),
            ));
        }
    }
    let nodes = t.nodes.len();
    for (i, e) in t.edges.iter().enumerate() {
        let at = |f: &str| format!("edges[{i}].{f}");
        for (f, n) in [("from", e.from), ("to", e.to)] {
            if n >= nodes {
                return Err(invalid(
                    at(f),
                    format!("node {n} does not exist (the file has {nodes} nodes)"),
                ));
            }
        }
        txid(&at("txid"), &e.txid)?;
        utc(&at("time"), &e.time)?;
        within(&at("amount"), e.amount, e.value)?;
        share(&at("share"), e.share)?;
        percent(&at("confidence"), e.confidence)?;
    }
    for (i, e) in t.endpoints.iter().enumerate() {
        let at = |f: &str| format!("endpoints[{i}].{f}");
        if e.outputs.is_empty() {
            return Err(invalid(at("outputs"), "an endpoint without arrivals"));
        }
        for (j, o) in e.outputs.iter().enumerate() {
            let at = |f: &str| format!("endpoints[{i}].outputs[{j}].{f}");
            txid(&at("txid"), &o.txid)?;
            utc(&at("time"), &o.time)?;
            within(&at("amount"), o.amount, o.value)?;
        }
        let arrived = sum(&at("outputs"), e.outputs.iter().map(|o| o.amount))?;
        equal(&at("amount"), e.amount, arrived, "its outputs' amounts")?;
        if let Some(s) = &e.evidence.sweep_txid {
            txid(&at("evidence.sweep_txid"), s)?;
        }
        utc(&at("first_time"), &e.first_time)?;
        utc(&at("last_time"), &e.last_time)?;
        share(&at("share"), e.share)?;
        percent(&at("evidence.confidence"), e.evidence.confidence)?;
        percent(
            &at("evidence.tag.confidence_level"),
            e.evidence.tag.confidence_level,
        )?;
    }
    let reached = sum("endpoints", t.endpoints.iter().map(|e| e.amount))?;
    equal(
        "summary.endpoints",
        t.summary.endpoints,
        reached,
        "the endpoints' amounts",
    )?;
    for (i, b) in t.barriers.iter().enumerate() {
        txid(&format!("barriers[{i}].txid"), &b.txid)?;
        utc(&format!("barriers[{i}].time"), &b.time)?;
    }
    let mixed = sum("barriers", t.barriers.iter().map(|b| b.amount))?;
    equal(
        "summary.coinjoins",
        t.summary.coinjoins,
        mixed,
        "the barriers' amounts",
    )?;
    if t.params.model.conserves_value() {
        let s = &t.summary;
        let b = &s.beyond;
        let mut parts = vec![
            s.endpoints,
            s.unspent,
            s.fees,
            s.coinjoins,
            s.no_address,
            b.max_hops,
            b.min_amount,
            b.time_limit,
            b.max_txs,
        ];
        if t.direction == Direction::Backward {
            parts.push(s.mined);
        }
        let accounted = sum("summary", parts)?;
        equal(
            "summary",
            accounted,
            s.seed_value,
            &format!(
                "the seed value (the {} model conserves value: endpoints, unspent, fees, CoinJoins, no address{} and limits add up to it)",
                t.params.model,
                if t.direction == Direction::Backward { ", mined" } else { "" }
            ),
        )?;
    }
    Ok(())
}

fn equal(at: &str, found: Amount, expected: Amount, what: &str) -> Result<(), Error> {
    if found == expected {
        Ok(())
    } else {
        Err(invalid(
            at,
            format!("{found}, but {what} add up to {expected}"),
        ))
    }
}

fn within(at: &str, amount: Amount, value: Amount) -> Result<(), Error> {
    if amount <= value {
        Ok(())
    } else {
        Err(invalid(
            at,
            format!("{amount} is more than the output's value {value}"),
        ))
    }
}

fn share(at: &str, s: f64) -> Result<(), Error> {
    if s.is_finite() && s >= 0.0 {
        Ok(())
    } else {
        Err(invalid(at, format!("{s} is not a share (a number ≥ 0)")))
    }
}

fn percent(at: &str, c: u8) -> Result<(), Error> {
    if c <= 100 {
        Ok(())
    } else {
        Err(invalid(at, format!("{c} is more than 100")))
    }
}

fn txid(at: &str, s: &str) -> Result<(), Error> {
    let hex = s.strip_prefix("0x").unwrap_or(s);
    if hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        Ok(())
    } else {
        Err(invalid(
            at,
            "not a transaction id (64 lowercase hex digits, 0x-prefixed on Ethereum)",
        ))
    }
}

fn utc(at: &str, s: &str) -> Result<(), Error> {
    let ok = s.strip_suffix(" UTC").is_some_and(|t| {
        let b = t.as_bytes();
        let digits = |r: std::ops::Range<usize>| {
            b.get(r.clone())
                .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
        };
        let y = b.len().saturating_sub(15);
        (4..=5).contains(&y)
            && digits(0..y)
            && b[y] == b'-'
            && digits(y + 1..y + 3)
            && b[y + 3] == b'-'
            && digits(y + 4..y + 6)
            && b[y + 6] == b' '
            && digits(y + 7..y + 9)
            && b[y + 9] == b':'
            && digits(y + 10..y + 12)
            && b[y + 12] == b':'
            && digits(y + 13..y + 15)
    });
    if ok {
        Ok(())
    } else {
        Err(invalid(
            at,
            format!("{s:?} is not a block time (YYYY-MM-DD HH:MM:SS UTC)"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;

    const TX: &str = "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16";
    const TIME: &str = "2009-01-12 03:30:25 UTC";

    /// A small valid trace: 50 units seeded, 10 to an exchange deposit, 40
    /// unspent back at the sender.
    fn sample() -> Value {
        let tag = json!({"address": "1Hot", "label": "Ex", "class": "Exchange", "category": "exchange",
            "actor": null, "source": "test", "confidence": "ownership", "confidence_level": 100, "pack": "p"});
        json!({
            "tool": "tracer 0.1.0", "command": null, "case": null, "format": 2,
            "direction": "forward",
            "params": {"model": "haircut", "level": "address", "coinjoins": "barrier",
                "limits": {"max_hops": 32, "min_amount": "10000", "time_limit": null, "max_txs": 1000},
                "change": null},
            "ledger": {"chain": "bitcoin", "network": "main", "tip_height": 4312, "tip_hash": null, "clusters": null},
            "unit": {"symbol": "BTC", "decimals": 8, "token": null},
            "seeds": [{"txid": TX, "vout": 0, "address": "1A", "value": "50", "amount": "50", "height": 170, "time": TIME}],
            "summary": {"seed_value": "50", "endpoints": "10", "unspent": "40", "fees": "0", "coinjoins": "0",
                "no_address": "0", "mined": "0",
                "beyond": {"max_hops": "0", "min_amount": "0", "time_limit": "0", "max_txs": "0"}, "txs": 1},
            "endpoints": [{"service": "ex", "class": "Exchange", "deposit_address": "1D", "amount": "10", "share": 0.2,
                "first_time": TIME, "last_time": TIME,
                "outputs": [{"txid": TX, "vout": 1, "height": 170, "time": TIME, "value": "10", "amount": "10", "hop": 1}],
                "evidence": {"rule": "deposit_sweep", "tag": tag, "sweep_txid": TX, "cluster_level": null, "confidence": 99}}],
            "barriers": [],
            "nodes": [
                {"id": 0, "address": "1A", "cluster": null, "cluster_size": null, "contract": false, "hop": 0,
                 "received": "50", "role": "seed", "service": null, "tags": []},
                {"id": 1, "address": "1D", "cluster": null, "cluster_size": null, "contract": false, "hop": 1,
                 "received": "10", "role": "endpoint", "service": null, "tags": []}],
            "edges": [{"from": 0, "to": 1, "txid": TX, "vout": 1, "address": "1D", "height": 170, "time": TIME,
                "value": "10", "amount": "10", "share": 0.2, "hop": 1, "rule": "transfer", "heuristics": null,
                "confidence": 100}]
        })
    }

    fn check(v: &Value) -> Result<TraceFile, Error> {
        parse(&serde_json::to_vec(v).unwrap())
    }

    fn refused(v: Value, expect: &str) {
        let e = check(&v).unwrap_err().to_string();
        assert!(e.contains(expect), "expected {expect:?} in {e:?}");
    }

    #[test]
    fn a_valid_file_parses_and_round_trips_byte_for_byte() {
        let t = check(&sample()).unwrap();
        assert_eq!(t.summary.seed_value, Amount::new(50));
        let bytes = serde_json::to_vec(&t).unwrap();
        assert_eq!(parse(&bytes).unwrap(), t);
        assert_eq!(serde_json::to_vec(&parse(&bytes).unwrap()).unwrap(), bytes);
    }

    #[test]
    fn the_generated_schema_accepts_a_valid_file_and_rejects_a_bad_term() {
        let schema = crate::schema();
        let v = jsonschema::validator_for(&schema).unwrap();
        assert!(v.is_valid(&sample()));
        let mut bad = sample();
        bad["edges"][0]["rule"] = json!("teleport");
        assert!(!v.is_valid(&bad));
        bad = sample();
        bad["summary"]["fees"] = json!(0);
        assert!(!v.is_valid(&bad), "amounts are strings");
    }

    #[test]
    fn corrupt_and_hostile_files_are_refused_naming_the_field() {
        let mut v = sample();
        v["format"] = json!(1);
        refused(v, "trace file format 1; this tracer reads format 2");
        let mut v = sample();
        v["edges"][0]["to"] = json!(57);
        refused(
            v,
            "edges[0].to: node 57 does not exist (the file has 2 nodes)",
        );
        let mut v = sample();
        v["nodes"][1]["id"] = json!(7);
        refused(v, "nodes[1].id");
        let mut v = sample();
        v["edges"][0]["amount"] = json!("11");
        refused(v, "edges[0].amount: 11 is more than the output's value 10");
        let mut v = sample();
        v["summary"]["endpoints"] = json!("9");
        refused(
            v,
            "summary.endpoints: 9, but the endpoints' amounts add up to 10",
        );
        let mut v = sample();
        v["endpoints"][0]["amount"] = json!("9");
        refused(v, "endpoints[0].amount");
        let mut v = sample();
        v["summary"]["unspent"] = json!("39");
        refused(v, "the haircut model conserves value");
        let mut v = sample();
        v["summary"]["unspent"] = json!("340282366920938463463374607431768211455");
        refused(v, "amount overflow");
        let mut v = sample();
        v["seeds"][0]["txid"] = json!("<script>");
        refused(v, "seeds[0].txid: not a transaction id");
        let mut v = sample();
        v["edges"][0]["time"] = json!("yesterday");
        refused(v, "edges[0].time");
        let mut v = sample();
        v["edges"][0]["amount"] = json!(10);
        refused(v, "not a tracer trace file");
        let mut v = sample();
        v["nodes"][0]["secret"] = json!(1);
        refused(v, "unknown field `secret`");
        let mut v = sample();
        v["params"]["model"] = json!("magic");
        refused(v, "unknown variant `magic`");
        let mut v = sample();
        v["edges"][0]["confidence"] = json!(101);
        refused(v, "edges[0].confidence: 101 is more than 100");
        let mut v = sample();
        v["endpoints"][0]["outputs"] = json!([]);
        refused(v, "endpoints[0].outputs: an endpoint without arrivals");
        refused(json!([]), "not a tracer trace file");
        assert!(parse(b"{\"format\": 2").is_err());
        assert!(parse(&[0xff, 0xfe]).is_err());
        // Poison does not conserve value: its totals may exceed the seeds.
        let mut v = sample();
        v["params"]["model"] = json!("poison");
        v["summary"]["unspent"] = json!("45");
        assert!(check(&v).is_ok());
    }

    /// The input the `trace_json` fuzz target found crashing `tracer
    /// report` (hops joining node N of N nodes), on this format.
    #[test]
    fn a_hop_to_the_node_past_the_last_is_refused() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/fuzz/trace_json/edge-to-missing-node.json"
        );
        let e = read(Path::new(path)).unwrap_err().to_string();
        assert_eq!(
            e,
            "edges[1].to: node 9 does not exist (the file has 9 nodes)"
        );
    }

    #[test]
    fn only_regular_files_are_read() {
        let dir = std::env::temp_dir();
        let e = read(&dir).unwrap_err().to_string();
        assert!(e.contains("not a regular file"), "{e}");
        let e = read(Path::new("/dev/zero")).unwrap_err().to_string();
        assert!(e.contains("not a regular file"), "{e}");
    }
}
