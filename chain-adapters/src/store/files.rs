//! Bulk load through sorted files: each batch's writes to the ledger's
//! records and indexes are written as one sorted file per column family,
//! which RocksDB takes in whole — no memtable inserts, write-ahead log or
//! flushes for them. The transactions, addresses and blocks go first, the
//! indexes that point at them after; the writer moves the tip only once
//! every file of the batch is in (see `LedgerWriter::remove_orphans` for a
//! stop in between).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use rocksdb::{IngestExternalFileOptions, Options, SstFileWriter, DB};

use super::staged::Staged;
use super::{
    cf_index, CF_ADDRS, CF_ADDR_INDEX, CF_BLOCKS, CF_BLOCK_INDEX, CF_HISTORY, CF_SPENDS, CF_TXS,
    CF_TX_INDEX,
};

/// Column families a bulk load writes as sorted files, in the order they
/// are taken in: the records before the indexes that point at them.
pub(super) const FILE_LOADED: [&str; 8] = [
    CF_TXS,
    CF_ADDRS,
    CF_BLOCKS,
    CF_TX_INDEX,
    CF_ADDR_INDEX,
    CF_BLOCK_INDEX,
    CF_HISTORY,
    CF_SPENDS,
];

/// Column families whose keys grow with the chain: a batch's file holds
/// keys above all stored ones and goes to the bottom of the tree for good.
const GROWING_KEYS: [&str; 3] = [CF_TXS, CF_ADDRS, CF_BLOCKS];

/// Where a ledger's sorted files are written before RocksDB takes them.
pub(super) struct SortedFiles {
    dir: PathBuf,
    /// Table options of each [`FILE_LOADED`] column family (bloom filters,
    /// index layout), so a file reads like one RocksDB wrote itself.
    options: Vec<Options>,
    next: AtomicU64,
}

impl SortedFiles {
    /// Files for the ledger at `db_path`, each column family's written with
    /// `options(name)`. Files a stopped ingest left behind are removed.
    pub fn new(db_path: &Path, options: impl Fn(&str) -> Options) -> std::io::Result<Self> {
        let dir = db_path.join("bulk");
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        std::fs::create_dir_all(&dir)?;
        let options = FILE_LOADED
            .iter()
            .map(|n| {
                let mut o = options(n);
                // A file writer takes the bottom level's compression from a
                // per-level list; files of the indexes, whose keys are random,
                // start near the top of the tree and are merged at the end of
                // the load: uncompressed, as RocksDB leaves its own fresh
                // files. Records (growing keys) go straight to the bottom.
                if !GROWING_KEYS.contains(n) {
                    o.set_compression_per_level(&[]);
                    o.set_compression_type(rocksdb::DBCompressionType::None);
                }
                o
            })
            .collect();
        Ok(SortedFiles {
            dir,
            options,
            next: AtomicU64::new(0),
        })
    }

    /// Writes the [`FILE_LOADED`] column families of a batch (`staged`: one
    /// arena per column family, in `COLUMN_FAMILIES` order) as sorted files,
    /// in [`FILE_LOADED`] order, and has RocksDB take each in; their arenas
    /// are left empty, the others untouched.
    pub fn ingest_batch(&self, db: &DB, staged: &mut [Staged]) -> Result<(), String> {
        for (i, name) in FILE_LOADED.into_iter().enumerate() {
            self.ingest(db, i, &mut staged[cf_index(name)])?;
        }
        Ok(())
    }

    /// Writes `staged` (the `i`th of [`FILE_LOADED`]) as a sorted file and
    /// has RocksDB take it in; the file then belongs to the DB. Nothing is
    /// written for an empty arena.
    fn ingest(&self, db: &DB, i: usize, staged: &mut Staged) -> Result<(), String> {
        if staged.is_empty() {
            return Ok(());
        }
        let name = FILE_LOADED[i];
        let cf = db
            .cf_handle(name)
            .ok_or_else(|| format!("column family {name} missing"))?;
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let path = self.dir.join(format!("{n:08}-{name}.sst"));
        let fail = |what: &str, e: rocksdb::Error| format!("{what} {}: {e}", path.display());
        let mut file = SstFileWriter::create(&self.options[i]);
        file.open(&path).map_err(|e| fail("creating", e))?;
        staged
            .write_file(&mut file)
            .map_err(|e| fail("writing", e))?;
        file.finish().map_err(|e| fail("finishing", e))?;
        let mut io = IngestExternalFileOptions::default();
        // Same file system: the file is linked into the DB, not copied.
        io.set_move_files(true);
        db.ingest_external_file_cf_opts(cf, &io, vec![&path])
            .map_err(|e| fail("taking in", e))
    }
}
