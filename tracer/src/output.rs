//! Writing results: pretty JSON to stdout, and report files (JSON and
//! Markdown) written whole, so a reader never sees half a file.

use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;

/// Prints `v` as pretty JSON on stdout (escaped for the terminal, see
/// [`crate::terminal::json`]).
pub fn print_json<T: Serialize>(v: &T) -> Result<()> {
    Ok(crate::terminal::json(v)?)
}

/// Writes `bytes` to `path` through a temporary file and a rename.
pub fn write_whole(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))
}

/// Writes each of `files` (name, bytes) whole into `dir`, creating it.
pub fn write_files(dir: &Path, files: &[(String, Vec<u8>)]) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for (name, bytes) in files {
        write_whole(&dir.join(name), bytes)?;
    }
    Ok(())
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

/// The command line of this process as a shell would take it back
/// (`tracer` and its arguments, quoted where needed): reports record it so
/// a reader can regenerate them.
pub fn command_line() -> String {
    let mut parts = vec!["tracer".to_string()];
    parts.extend(std::env::args().skip(1).map(|a| shell_quote(&a)));
    parts.join(" ")
}

/// `a` quoted for a POSIX shell if it needs it.
pub fn shell_quote(a: &str) -> String {
    let plain = !a.is_empty()
        && a.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./:=,+-@%".contains(c));
    if plain {
        a.to_string()
    } else {
        format!("'{}'", a.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_quoted_for_a_shell() {
        assert_eq!(shell_quote("trace.json"), "trace.json");
        assert_eq!(shell_quote("my case.toml"), "'my case.toml'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote(""), "''");
    }
}
