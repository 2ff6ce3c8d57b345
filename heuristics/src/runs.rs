//! Sorted runs on disk: fixed-width records are buffered up to a memory
//! budget, sorted, written out as runs and read back merged in order — the
//! external-memory pass (as full-chain indexers do) that keeps `cluster
//! build`'s memory set by configuration however long the chain is. Records
//! sort as bytes, so their keys are written big-endian.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The most memory one sorter's buffer takes, whatever the budget: runs of
/// this size merge cheaply (a few hundred of them for the full chain), and
/// a larger buffer would only hold more of a long chain in memory.
pub(crate) const MAX_SORT_BUFFER: usize = 64 << 20;

/// Read buffer per run while merging.
const READ_BUFFER: usize = 256 << 10;

fn io_err(path: &Path, e: std::io::Error) -> Error {
    Error::Scratch {
        path: path.to_path_buf(),
        cause: e,
    }
}

/// A scratch directory for sorted runs, removed when dropped (and emptied
/// when made, in case a killed build left one behind).
pub(crate) struct Scratch {
    dir: PathBuf,
    next: std::cell::Cell<u64>,
}

impl Scratch {
    /// Makes (or empties) `dir`.
    pub(crate) fn new(dir: PathBuf) -> Result<Self> {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| io_err(&dir, e))?;
        Ok(Scratch {
            dir,
            next: std::cell::Cell::new(0),
        })
    }

    /// Run files written so far (0: everything fitted in memory).
    pub(crate) fn runs_written(&self) -> u64 {
        self.next.get()
    }

    fn file(&self, name: &str) -> PathBuf {
        let n = self.next.get();
        self.next.set(n + 1);
        self.dir.join(format!("{name}-{n}.run"))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Records of `N` bytes, sorted with at most a budget of them in memory.
pub(crate) struct SortedRuns<'s, const N: usize> {
    scratch: &'s Scratch,
    name: &'static str,
    buf: Vec<[u8; N]>,
    cap: usize,
    runs: Vec<PathBuf>,
}

impl<'s, const N: usize> SortedRuns<'s, N> {
    /// Runs named `name` in `scratch`, holding at most `budget_bytes` of
    /// records in memory.
    pub(crate) fn new(scratch: &'s Scratch, name: &'static str, budget_bytes: usize) -> Self {
        SortedRuns {
            scratch,
            name,
            buf: Vec::new(),
            cap: (budget_bytes.min(MAX_SORT_BUFFER) / N).max(1024),
            runs: Vec::new(),
        }
    }

    /// Adds a record.
    pub(crate) fn push(&mut self, r: [u8; N]) -> Result<()> {
        self.buf.push(r);
        if self.buf.len() >= self.cap {
            self.spill()?;
        }
        Ok(())
    }

    fn spill(&mut self) -> Result<()> {
        self.buf.sort_unstable();
        let path = self.scratch.file(self.name);
        let file = File::create(&path).map_err(|e| io_err(&path, e))?;
        let mut w = BufWriter::with_capacity(1 << 20, file);
        for r in &self.buf {
            w.write_all(r).map_err(|e| io_err(&path, e))?;
        }
        w.flush().map_err(|e| io_err(&path, e))?;
        self.buf = Vec::new();
        self.runs.push(path);
        Ok(())
    }

    /// Every record pushed, in byte order.
    pub(crate) fn sorted(mut self) -> Result<Merged<N>> {
        if self.runs.is_empty() {
            self.buf.sort_unstable();
            return Ok(Merged {
                memory: std::mem::take(&mut self.buf).into_iter(),
                readers: Vec::new(),
                heads: BinaryHeap::new(),
                paths: Vec::new(),
                peeked: None,
            });
        }
        if !self.buf.is_empty() {
            self.spill()?;
        }
        let mut m = Merged {
            memory: Vec::new().into_iter(),
            readers: Vec::new(),
            heads: BinaryHeap::new(),
            paths: std::mem::take(&mut self.runs),
            peeked: None,
        };
        for (i, path) in m.paths.iter().enumerate() {
            let file = File::open(path).map_err(|e| io_err(path, e))?;
            m.readers.push(BufReader::with_capacity(READ_BUFFER, file));
            if let Some(r) = read_record(&mut m.readers[i], path)? {
                m.heads.push(Reverse((r, i)));
            }
        }
        Ok(m)
    }
}

fn read_record<const N: usize>(r: &mut impl Read, path: &Path) -> Result<Option<[u8; N]>> {
    let mut rec = [0u8; N];
    match r.read_exact(&mut rec) {
        Ok(()) => Ok(Some(rec)),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(None),
        Err(e) => Err(io_err(path, e)),
    }
}

/// The records of [`SortedRuns`] in byte order; its run files go when it
/// is dropped.
pub(crate) struct Merged<const N: usize> {
    memory: std::vec::IntoIter<[u8; N]>,
    readers: Vec<BufReader<File>>,
    heads: BinaryHeap<Reverse<([u8; N], usize)>>,
    paths: Vec<PathBuf>,
    /// A record read past the key [`Merged::each_with_key`] was asked for.
    peeked: Option<[u8; N]>,
}

impl<const N: usize> Merged<N> {
    /// The next record, in order.
    pub(crate) fn next_record(&mut self) -> Result<Option<[u8; N]>> {
        if let Some(r) = self.peeked.take() {
            return Ok(Some(r));
        }
        if self.paths.is_empty() {
            return Ok(self.memory.next());
        }
        let Some(Reverse((r, i))) = self.heads.pop() else {
            return Ok(None);
        };
        if let Some(next) = read_record(&mut self.readers[i], &self.paths[i])? {
            self.heads.push(Reverse((next, i)));
        }
        Ok(Some(r))
    }
}

impl<const N: usize> Merged<N> {
    /// Calls `f` with every record that starts with `key`, skipping those
    /// before it (keys must be asked in increasing order).
    pub(crate) fn each_with_key(&mut self, key: &[u8], mut f: impl FnMut(&[u8; N])) -> Result<()> {
        while let Some(r) = self.next_record()? {
            match r[..key.len()].cmp(key) {
                std::cmp::Ordering::Less => {}
                std::cmp::Ordering::Equal => f(&r),
                std::cmp::Ordering::Greater => {
                    self.peeked = Some(r);
                    break;
                }
            }
        }
        Ok(())
    }
}

impl<const N: usize> Drop for Merged<N> {
    fn drop(&mut self) {
        for p in &self.paths {
            let _ = std::fs::remove_file(p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain<const N: usize>(mut m: Merged<N>) -> Vec<[u8; N]> {
        let mut out = Vec::new();
        while let Some(r) = m.next_record().unwrap() {
            out.push(r);
        }
        out
    }

    #[test]
    fn records_come_back_sorted_from_memory_and_from_many_runs() {
        let dir = tempfile::tempdir().unwrap();
        let scratch = Scratch::new(dir.path().join("s")).unwrap();
        // A pseudo-random permutation of 0..10_000 with duplicates of every 7th.
        let values: Vec<u32> = (0..10_000u32)
            .map(|i| i.wrapping_mul(2_654_435_761) % 10_000)
            .chain((0..10_000).step_by(7))
            .collect();
        let mut want: Vec<[u8; 4]> = values.iter().map(|v| v.to_be_bytes()).collect();
        want.sort();
        for budget in [1 << 20, 4 * 1024] {
            let mut runs = SortedRuns::<4>::new(&scratch, "t", budget);
            for v in &values {
                runs.push(v.to_be_bytes()).unwrap();
            }
            let spilled = !runs.runs.is_empty() || runs.buf.len() < values.len();
            assert_eq!(spilled, budget < 40_000, "budget {budget}");
            let m = runs.sorted().unwrap();
            let files = m.paths.clone();
            assert_eq!(drain(m), want);
            assert!(files.iter().all(|f| !f.exists()), "run files removed");
        }
        let runs_dir = dir.path().join("s");
        drop(scratch);
        assert!(!runs_dir.exists());
    }

    #[test]
    fn each_with_key_gives_a_keys_records_and_skips_those_never_asked() {
        let dir = tempfile::tempdir().unwrap();
        let scratch = Scratch::new(dir.path().join("s")).unwrap();
        let mut runs = SortedRuns::<3>::new(&scratch, "k", 0);
        for r in [
            [5, 0, 1],
            [2, 0, 9],
            [5, 0, 0],
            [7, 1, 1],
            [3, 3, 3],
            [5, 1, 2],
        ] {
            runs.push(r).unwrap();
        }
        let mut m = runs.sorted().unwrap();
        let mut seen = Vec::new();
        m.each_with_key(&[5], |r| seen.push(*r)).unwrap();
        assert_eq!(seen, [[5, 0, 0], [5, 0, 1], [5, 1, 2]], "2 and 3 skipped");
        seen.clear();
        m.each_with_key(&[6], |r| seen.push(*r)).unwrap();
        assert!(seen.is_empty());
        assert_eq!(
            m.next_record().unwrap(),
            Some([7, 1, 1]),
            "the record read past 6 is kept"
        );
        assert_eq!(m.next_record().unwrap(), None);
    }
}
