//! `MANIFEST.sha256`: the SHA-256 of every artifact, in the format
//! `sha256sum -c` checks.

use sha2::{Digest, Sha256};

/// The manifest text for `files` (name, bytes), sorted by name.
pub fn manifest(files: &[(String, Vec<u8>)]) -> String {
    let mut lines: Vec<String> = files
        .iter()
        .map(|(name, bytes)| format!("{:x}  {name}\n", Sha256::digest(bytes)))
        .collect();
    lines.sort_by(|a, b| a[66..].cmp(&b[66..]));
    lines.concat()
}

/// `files` with their `MANIFEST.sha256` appended.
pub fn with_manifest(mut files: Vec<(String, Vec<u8>)>) -> Vec<(String, Vec<u8>)> {
    let m = manifest(&files);
    files.push(("MANIFEST.sha256".to_string(), m.into_bytes()));
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_is_sha256sum_format() {
        let m = manifest(&[("b.txt".into(), b"abc".to_vec()), ("a.txt".into(), vec![])]);
        assert_eq!(
            m,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  a.txt\n\
             ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad  b.txt\n"
        );
    }
}
