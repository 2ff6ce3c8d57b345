//! Case bundles (`tracer export` / `tracer import`).

use reports::bundle::verify;
use reports::manifest::with_manifest;

use crate::{keep, scratch};

/// A bundle directory, verified, and its case id checked to name one
/// directory under the import directory. Input: its files, each introduced by a line
/// `=== <name>` (names of letters, digits, `.`, `_`, `-`; others are left
/// out). Without a `MANIFEST.sha256` among them, the right manifest of all
/// the files is added, so the checks past the digests are reached.
pub fn bundle(data: &[u8]) -> bool {
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for part in split(data) {
        let (name, body) = match part.iter().position(|&b| b == b'\n') {
            Some(i) => (&part[..i], &part[i + 1..]),
            None => (part, &[][..]),
        };
        let Ok(name) = std::str::from_utf8(name) else {
            continue;
        };
        let safe = !name.is_empty()
            && name.len() <= 64
            && !name.starts_with('.')
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
        if safe && !files.iter().any(|(n, _)| n == name) {
            files.push((name.to_string(), body.to_vec()));
        }
    }
    if !files.iter().any(|(n, _)| n == "MANIFEST.sha256") {
        files = with_manifest(files);
    }
    let dir = scratch::dir();
    for (name, body) in &files {
        std::fs::write(dir.join(name), body).expect("scratch write");
    }
    match verify(dir) {
        Ok(v) => {
            if let Some(id) = v.case_id() {
                let imported = dir.join("imports").join(id);
                assert_eq!(imported.parent(), Some(&*dir.join("imports")), "{id:?}");
            }
            keep((v.meta, v.files.len(), v.fingerprint));
            true
        }
        Err(e) => {
            keep(e.to_string());
            false
        }
    }
}

/// The parts of `data` that follow each `=== ` at the start of a line.
fn split(data: &[u8]) -> Vec<&[u8]> {
    let mut starts: Vec<usize> = (0..data.len())
        .filter(|&i| data[i..].starts_with(b"=== ") && (i == 0 || data[i - 1] == b'\n'))
        .collect();
    starts.push(data.len());
    starts
        .windows(2)
        .map(|w| {
            // Up to the newline before the next part's `=== `.
            let end = if w[1] < data.len() { w[1] - 1 } else { w[1] };
            &data[w[0] + 4..end.max(w[0] + 4)]
        })
        .collect()
}
