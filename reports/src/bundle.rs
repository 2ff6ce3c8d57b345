//! Bundles for sharing a case's trace results between forces: the trace
//! files and a `bundle.json` describing the case, with the victim's
//! personal data (the case title, notes, the investigator's name, the
//! seeds' notes) removed unless asked for, and a `MANIFEST.sha256` that
//! the importing force verifies before using anything.
//!
//! The manifest proves the files are the ones it lists; whoever changes
//! both a file and the manifest is not caught by it, so forces compare the
//! bundle fingerprint (the manifest's SHA-256) over a second channel.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::manifest::with_manifest;
use crate::Error;

/// Format version of `bundle.json`.
pub const BUNDLE_FORMAT: u32 = 1;

/// Case fields that can name or describe people.
const PERSONAL: [&str; 3] = ["title", "notes", "investigator"];

/// Removes personal data from a case (as case files and trace files hold
/// it): the fields become `null`, seed notes too.
pub fn redact_case(case: &mut Value) {
    if let Some(obj) = case.as_object_mut() {
        for k in PERSONAL {
            if obj.contains_key(k) {
                obj.insert(k.to_string(), Value::Null);
            }
        }
        if let Some(seeds) = obj.get_mut("seeds").and_then(Value::as_array_mut) {
            for s in seeds {
                if let Some(s) = s.as_object_mut() {
                    if s.contains_key("note") {
                        s.insert("note".into(), Value::Null);
                    }
                }
            }
        }
    }
}

/// The files of a bundle: `bundle.json`, the trace files (their embedded
/// case redacted like the case), and `MANIFEST.sha256`.
pub fn export(
    case: &Value,
    traces: &[(String, Value)],
    redact: bool,
    tool: &str,
) -> Vec<(String, Vec<u8>)> {
    let mut case = case.clone();
    if redact {
        redact_case(&mut case);
    }
    let pretty = |v: &Value| {
        let mut b = serde_json::to_vec_pretty(v).expect("JSON values serialise");
        b.push(b'\n');
        b
    };
    let mut files = Vec::new();
    for (name, t) in traces {
        let mut t = t.clone();
        if redact {
            if let Some(c) = t.get_mut("case") {
                redact_case(c);
            }
        }
        files.push((name.clone(), pretty(&t)));
    }
    let meta = json!({
        "format": BUNDLE_FORMAT,
        "tool": tool,
        "redacted": redact,
        "case": case,
        "traces": traces.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>(),
    });
    files.insert(0, ("bundle.json".to_string(), pretty(&meta)));
    with_manifest(files)
}

/// The bundle fingerprint: SHA-256 of its manifest.
pub fn fingerprint(manifest: &[u8]) -> String {
    format!("{:x}", Sha256::digest(manifest))
}

/// A verified bundle.
#[derive(Debug, Clone)]
pub struct Verified {
    /// `bundle.json`.
    pub meta: Value,
    /// Every file by name, manifest included.
    pub files: BTreeMap<String, Vec<u8>>,
    /// SHA-256 of the manifest: the bundle's fingerprint to compare out of band.
    pub fingerprint: String,
}

/// Reads the bundle in `dir` and checks it against its manifest: every
/// listed file present with its digest, nothing unlisted, `bundle.json`
/// of a known format naming trace files that are there.
pub fn verify(dir: &Path) -> Result<Verified, Error> {
    let bad = |why: String| Error::Input(format!("bundle {}: {why}", dir.display()));
    let manifest_bytes = std::fs::read(dir.join("MANIFEST.sha256"))
        .map_err(|e| bad(format!("MANIFEST.sha256: {e}")))?;
    let text = String::from_utf8(manifest_bytes.clone())
        .map_err(|_| bad("MANIFEST.sha256 is not text".into()))?;
    let mut files = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let (digest, name) = line
            .split_once("  ")
            .filter(|(d, n)| {
                d.len() == 64 && !n.contains('/') && !n.contains('\\') && !n.starts_with('.')
            })
            .ok_or_else(|| bad(format!("MANIFEST.sha256:{}: not `<sha256>  <file>`", i + 1)))?;
        let bytes = std::fs::read(dir.join(name)).map_err(|e| bad(format!("{name}: {e}")))?;
        let found = format!("{:x}", Sha256::digest(&bytes));
        if found != digest {
            return Err(bad(format!(
                "{name} was changed: its SHA-256 is {found}, the manifest says {digest}"
            )));
        }
        files.insert(name.to_string(), bytes);
    }
    let entries = std::fs::read_dir(dir).map_err(|e| bad(e.to_string()))?;
    for e in entries {
        let name = e
            .map_err(|e| bad(e.to_string()))?
            .file_name()
            .to_string_lossy()
            .into_owned();
        if name != "MANIFEST.sha256" && !files.contains_key(&name) {
            return Err(bad(format!("{name} is not in the manifest")));
        }
    }
    let meta: Value = files
        .get("bundle.json")
        .ok_or_else(|| bad("no bundle.json".into()))
        .and_then(|b| serde_json::from_slice(b).map_err(|e| bad(format!("bundle.json: {e}"))))?;
    if meta["format"] != BUNDLE_FORMAT {
        return Err(bad(format!(
            "bundle.json: format {} is not {BUNDLE_FORMAT}",
            meta["format"]
        )));
    }
    for t in meta["traces"].as_array().into_iter().flatten() {
        let name = t.as_str().unwrap_or_default();
        let Some(bytes) = files.get(name) else {
            return Err(bad(format!(
                "bundle.json names {name}, which the bundle lacks"
            )));
        };
        trace_file::parse(bytes).map_err(|e| bad(format!("{name}: {e}")))?;
    }
    files.insert("MANIFEST.sha256".into(), manifest_bytes.clone());
    Ok(Verified {
        meta,
        files,
        fingerprint: fingerprint(&manifest_bytes),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_removes_people_and_notes_only() {
        let mut c = json!({"id": "X-1", "title": "Victim Taro", "notes": "phone 090…",
            "investigator": "Sgt. Sato", "prefecture": "Tokyo",
            "seeds": [{"chain": "bitcoin", "note": "paid at a convenience store"}]});
        redact_case(&mut c);
        assert_eq!(
            c,
            json!({"id": "X-1", "title": null, "notes": null, "investigator": null,
            "prefecture": "Tokyo", "seeds": [{"chain": "bitcoin", "note": null}]})
        );
    }
}
