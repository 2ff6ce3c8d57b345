//! Bundles for sharing a case's trace results between forces: the trace
//! files and a `bundle.json` describing the case, with the victim's
//! personal data (the case title, notes, the investigator's name, the
//! seeds' notes, and the paths in recorded command lines) removed unless
//! asked for, and a `MANIFEST.sha256` that
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

/// Case fields a redacted bundle keeps: what identifies the case and its
/// seeds. Every other field (title, notes, investigator, and any added
/// later) becomes `null`.
const CASE_KEPT: [&str; 7] = [
    "id",
    "prefecture",
    "crime",
    "reported",
    "incident_from",
    "incident_until",
    "seeds",
];

/// Seed fields a redacted bundle keeps (the note goes).
const SEED_KEPT: [&str; 6] = ["chain", "payment", "address", "from", "until", "amount"];

/// Options of a recorded command whose values a redacted bundle keeps:
/// trace parameters, each checked by its parser, never a path or free
/// text.
const COMMAND_KEPT_VALUES: [&str; 9] = [
    "--model",
    "--level",
    "--max-hops",
    "--min-amount",
    "--time-limit",
    "--max-txs",
    "--heuristics",
    "--min-votes",
    "--lang",
];

/// Words of a recorded command a redacted bundle keeps besides options:
/// the program and its subcommands.
const COMMAND_KEPT_WORDS: [&str; 4] = ["tracer", "trace", "address", "link"];

/// What a redacted value is replaced with in a command line.
pub const REDACTED: &str = "<redacted>";

/// Sets every field of `obj` not in `kept` to `null`.
fn keep_only(obj: &mut serde_json::Map<String, Value>, kept: &[&str]) {
    for (k, v) in obj.iter_mut() {
        if !kept.contains(&k.as_str()) {
            *v = Value::Null;
        }
    }
}

/// Removes personal data from a case (as case files and trace files hold
/// it): every field but the case's identity and its seeds becomes `null`,
/// seed notes too.
pub fn redact_case(case: &mut Value) {
    if let Some(obj) = case.as_object_mut() {
        keep_only(obj, &CASE_KEPT);
        if let Some(seeds) = obj.get_mut("seeds").and_then(Value::as_array_mut) {
            for s in seeds {
                if let Some(s) = s.as_object_mut() {
                    keep_only(s, &SEED_KEPT);
                }
            }
        }
    }
}

/// The words of a command line as `tracer` records it (POSIX shell
/// quoting: `'…'`, and `\'` between quoted parts).
fn shell_words(cmd: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut quoted = false;
    let mut chars = cmd.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                quoted = !quoted;
                word.get_or_insert_with(String::new);
            }
            '\\' if !quoted => word.get_or_insert_with(String::new).extend(chars.next()),
            c if c.is_whitespace() && !quoted => words.extend(word.take()),
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    words
}

/// A recorded command line with every path and free text replaced by
/// [`REDACTED`]: only the program, its subcommands, option names and the
/// values of trace parameters stay (`tracer --db <redacted> trace
/// <redacted> --out <redacted> --model haircut`). Paths name people: a
/// case kept under `cases/<investigator>/<victim>/case.toml`.
pub fn redact_command(cmd: &str) -> String {
    let option = |w: &str| {
        w.len() > 2
            && w.starts_with("--")
            && w[2..]
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    // A parameter value as its parsers take it: nothing to quote.
    let plain = |w: &str| {
        !w.is_empty()
            && w.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.:,+-".contains(c))
    };
    let mut out = Vec::new();
    let mut value_kept = false;
    let mut positional_only = false;
    for w in shell_words(cmd) {
        let kept = if positional_only {
            REDACTED.to_string()
        } else if let Some((name, value)) = w.split_once('=').filter(|(n, _)| option(n)) {
            if COMMAND_KEPT_VALUES.contains(&name) && plain(value) {
                w.clone()
            } else {
                format!("{name}={REDACTED}")
            }
        } else if option(&w)
            || w == "--"
            || COMMAND_KEPT_WORDS.contains(&w.as_str())
            || (value_kept && plain(&w))
        {
            w.clone()
        } else {
            REDACTED.to_string()
        };
        value_kept = !positional_only && COMMAND_KEPT_VALUES.contains(&w.as_str());
        positional_only |= w == "--";
        out.push(kept);
    }
    out.join(" ")
}

/// Removes personal data from a trace file: its case (see [`redact_case`])
/// and its recorded command (see [`redact_command`]).
pub fn redact_trace(trace: &mut Value) {
    if let Some(c) = trace.get_mut("case") {
        redact_case(c);
    }
    if let Some(Value::String(cmd)) = trace.get_mut("command") {
        *cmd = redact_command(cmd);
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
            redact_trace(&mut t);
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

/// Largest file a bundle may hold (a trace of 100,000 hops is ≈ 60 MiB).
pub const MAX_FILE_BYTES: u64 = 256 << 20;

/// Largest bundle: all its files together.
pub const MAX_BUNDLE_BYTES: u64 = 1 << 30;

/// What a directory entry is, when it is not a regular file.
fn kind_of(t: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if t.is_symlink() {
        "a symbolic link"
    } else if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_block_device() || t.is_char_device() {
        "a device"
    } else {
        "not a regular file"
    }
}

/// The regular files of the bundle directory `dir` with their sizes, by
/// name. Symbolic links, directories, devices, FIFOs, files linked
/// elsewhere, oversized files and oversized bundles are refused before
/// anything is read.
fn listing(dir: &Path, bad: &dyn Fn(String) -> Error) -> Result<BTreeMap<String, u64>, Error> {
    use std::os::unix::fs::MetadataExt;
    let mut out = BTreeMap::new();
    let mut total = 0u64;
    let entries = std::fs::read_dir(dir).map_err(|e| bad(e.to_string()))?;
    for e in entries {
        let e = e.map_err(|e| bad(e.to_string()))?;
        let name = e.file_name().into_string().map_err(|n| {
            bad(format!(
                "{}: the file name is not UTF-8",
                n.to_string_lossy()
            ))
        })?;
        // Not followed: the entry itself.
        let meta = std::fs::symlink_metadata(e.path()).map_err(|e| bad(format!("{name}: {e}")))?;
        let t = meta.file_type();
        if !t.is_file() {
            return Err(bad(format!(
                "{name} is {}; a bundle holds regular files only",
                kind_of(&t)
            )));
        }
        if meta.nlink() > 1 {
            return Err(bad(format!(
                "{name} is a hard link ({} names for one file); a bundle holds plain copies only",
                meta.nlink()
            )));
        }
        if meta.len() > MAX_FILE_BYTES {
            return Err(bad(format!(
                "{name} is {} bytes, more than a bundle file may be ({MAX_FILE_BYTES})",
                meta.len()
            )));
        }
        total += meta.len();
        if total > MAX_BUNDLE_BYTES {
            return Err(bad(format!(
                "the files hold more than a bundle may ({MAX_BUNDLE_BYTES} bytes; at {name})"
            )));
        }
        out.insert(name, meta.len());
    }
    Ok(out)
}

/// The bytes of the regular file `path`, opened without following a
/// symbolic link and without blocking on a FIFO, refused if it is not a
/// regular file by then or holds more than `MAX_FILE_BYTES`.
fn read_regular(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::{Error as IoError, ErrorKind, Read};
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)?;
    if !file.metadata()?.file_type().is_file() {
        return Err(IoError::new(ErrorKind::InvalidInput, "not a regular file"));
    }
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(IoError::new(
            ErrorKind::InvalidData,
            format!("more than {MAX_FILE_BYTES} bytes"),
        ));
    }
    Ok(bytes)
}

impl Verified {
    /// The case id of `bundle.json`, if it can name the directory the case
    /// is imported into: letters, digits, `-`, `_` and `.`, not starting
    /// with `.` (so never `..` or a path).
    pub fn case_id(&self) -> Option<&str> {
        self.meta["case"]["id"].as_str().filter(|id| {
            !id.is_empty()
                && id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
                && !id.starts_with('.')
        })
    }
}

/// Reads the bundle in `dir` and checks it against its manifest: regular
/// files only, within the size limits; every listed file present with its
/// digest, nothing unlisted; `bundle.json` of a known format naming trace
/// files that are there, each of its case. Run whenever an imported case
/// is read, not only at import: a file changed since is refused, by name.
pub fn verify(dir: &Path) -> Result<Verified, Error> {
    let bad = |why: String| Error::Input(format!("bundle {}: {why}", dir.display()));
    let present = listing(dir, &bad)?;
    let read = |name: &str| {
        if !present.contains_key(name) {
            return Err(bad(format!("{name} is missing")));
        }
        read_regular(&dir.join(name)).map_err(|e| bad(format!("{name}: {e}")))
    };
    let manifest_bytes = read("MANIFEST.sha256")?;
    let text = String::from_utf8(manifest_bytes.clone())
        .map_err(|_| bad("MANIFEST.sha256 is not text".into()))?;
    let mut listed = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let (digest, name) = line
            .split_once("  ")
            .filter(|(d, n)| {
                d.len() == 64 && !n.contains('/') && !n.contains('\\') && !n.starts_with('.')
            })
            .ok_or_else(|| bad(format!("MANIFEST.sha256:{}: not `<sha256>  <file>`", i + 1)))?;
        listed.push((digest, name));
    }
    for name in present.keys() {
        if name != "MANIFEST.sha256" && !listed.iter().any(|(_, n)| n == name) {
            return Err(bad(format!("{name} is not in the manifest")));
        }
    }
    let mut files = BTreeMap::new();
    for (digest, name) in listed {
        let bytes = read(name)?;
        let found = format!("{:x}", Sha256::digest(&bytes));
        if found != digest {
            return Err(bad(format!(
                "{name} was changed: its SHA-256 is {found}, the manifest says {digest}"
            )));
        }
        files.insert(name.to_string(), bytes);
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
        let bytes = files
            .get(name)
            .ok_or_else(|| bad(format!("bundle.json names {name}, which the bundle lacks")))?;
        let trace = trace_file::parse(bytes).map_err(|e| bad(format!("{name}: {e}")))?;
        let traced = trace.case.as_ref().map(|c| c.id.as_str());
        if traced != meta["case"]["id"].as_str() {
            return Err(bad(format!(
                "{name} is a trace of case {}, bundle.json is of case {}",
                traced.unwrap_or("(none)"),
                meta["case"]["id"]
            )));
        }
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

    /// Only an id that names one directory inside the import directory is
    /// a usable case id.
    #[test]
    fn case_id_names_one_directory() {
        let with_id = |id: Value| Verified {
            meta: json!({"format": BUNDLE_FORMAT, "case": {"id": id}}),
            files: BTreeMap::new(),
            fingerprint: String::new(),
        };
        for good in ["TOKYO-2026-0001", "a.b_c-1", "x..y"] {
            assert_eq!(with_id(json!(good)).case_id(), Some(good));
        }
        for bad in [
            "", ".", "..", ".hidden", "a/b", "../x", "a\\b", "東京", "a b", "a\0b",
        ] {
            assert_eq!(with_id(json!(bad)).case_id(), None, "{bad:?}");
        }
        assert_eq!(with_id(json!(7)).case_id(), None);
        assert_eq!(with_id(Value::Null).case_id(), None);
    }

    #[test]
    fn recorded_commands_keep_parameters_and_lose_paths() {
        for (cmd, want) in [
            (
                "tracer --db /srv/db trace cases/Sgt-Sato/victim-Yamada/case.toml --out out --model haircut,fifo --max-hops 5",
                "tracer --db <redacted> trace <redacted> --out <redacted> --model haircut,fifo --max-hops 5",
            ),
            (
                "tracer --db=/srv/db trace '/cases/Sato Ichiro/--model x.toml' --level=cospend --out='/o/it'\\''s'",
                "tracer --db=<redacted> trace <redacted> --level=cospend --out=<redacted>",
            ),
            (
                "tracer --db d trace address 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa --backward",
                "tracer --db <redacted> trace address <redacted> --backward",
            ),
            (
                "tracer --db d trace --json -- --yamada",
                "tracer --db <redacted> trace --json -- <redacted>",
            ),
        ] {
            assert_eq!(redact_command(cmd), want, "{cmd}");
        }
        assert_eq!(
            shell_words("a 'b c' 'it'\\''s' d\\ e"),
            ["a", "b c", "it's", "d e"]
        );
    }

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
