//! Writing results: pretty JSON to stdout, and report files (JSON and
//! Markdown) written whole, so a reader never sees half a file.

use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;

/// Prints `v` as pretty JSON on stdout.
pub fn print_json<T: Serialize>(v: &T) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

/// Writes `bytes` to `path` through a temporary file and a rename.
fn write_whole(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))
}

/// Writes `v` as pretty JSON with a final newline to `path`.
pub fn write_json<T: Serialize>(path: &Path, v: &T) -> Result<()> {
    let mut bytes = serde_json::to_vec_pretty(v)?;
    bytes.push(b'\n');
    write_whole(path, &bytes)
}

/// Writes `DIR/STEM.md` (`markdown`) and `DIR/STEM.json` (`v`), creating `dir`.
pub fn write_report<T: Serialize>(dir: &Path, stem: &str, markdown: &str, v: &T) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    write_whole(&dir.join(format!("{stem}.md")), markdown.as_bytes())?;
    write_json(&dir.join(format!("{stem}.json")), v)
}
