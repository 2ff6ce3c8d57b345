//! A scratch directory for targets whose code reads files (blk files,
//! bundles): one per process, emptied before each input.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The process's scratch directory, `$TMPDIR/tracer-fuzz-<pid>`.
fn path() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| std::env::temp_dir().join(format!("tracer-fuzz-{}", std::process::id())))
}

/// The process's scratch directory, emptied. `fuzz/run.sh` points `TMPDIR`
/// at a directory it removes afterwards; the tests call [`remove`].
pub fn dir() -> &'static Path {
    remove();
    let dir = path();
    std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("scratch {}: {e}", dir.display()));
    dir
}

/// Removes the scratch directory.
pub fn remove() {
    match std::fs::remove_dir_all(path()) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => panic!("scratch {}: {e}", path().display()),
    }
}
