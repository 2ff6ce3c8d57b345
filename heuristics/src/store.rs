//! The analysis database: clustering results, detected CoinJoins, merge
//! evidence and attribution tags, in RocksDB beside the ledger
//! (`<ledger>/analysis`). It is a database of its own so that analyses can be
//! (re)built and tags imported while an ingest writes to the ledger.
//!
//! | column family | key | value |
//! |---|---|---|
//! | `meta` | name | build checkpoints |
//! | `addr_chunks` | slot, chunk | cluster id and facts of 4,096 addresses |
//! | `clusters` | slot, cluster id | [`crate::cluster::ClusterStats`] |
//! | `members` | slot, cluster id, address id | – |
//! | `links` | slot, address id, address id | merge evidence |
//! | `conflicts` | slot, sequence | refused merge |
//! | `coinjoins` | tx id | detected CoinJoin |
//! | `tags` | address, currency, pack id, sequence | tag (JSON) |
//! | `tag_packs` | `P` pack id; `T` pack id, sequence | pack record (JSON); key in `tags` |
//! | `cluster_tags` | slot, cluster id, address id | – (tagged members) |
//!
//! A slot is one of a level's two key spaces (level, level + 2): a build
//! writes the slot its level's checkpoint does not name, in bounded
//! batches, then moves the checkpoint to it in one atomic `WriteBatch`,
//! persisted by an atomic flush of all column families, and clears the old
//! one. A tag import stages its tags out of force first and puts them in
//! force with one such batch (see `attribution`).

use std::path::{Path, PathBuf};

use chain_adapters::ledger::codec::DecodeError;
use rocksdb::{ColumnFamilyDescriptor, Direction, IteratorMode, Options, WriteBatch, DB};

use crate::error::{Error, Result};

/// Version of the analysis layout; a DB of another version is rebuilt from scratch.
pub const ANALYSIS_VERSION: u32 = 2;

pub(crate) const CF_META: &str = "meta";
pub(crate) const CF_ADDR_CHUNKS: &str = "addr_chunks";
pub(crate) const CF_CLUSTERS: &str = "clusters";
pub(crate) const CF_MEMBERS: &str = "members";
pub(crate) const CF_LINKS: &str = "links";
pub(crate) const CF_CONFLICTS: &str = "conflicts";
pub(crate) const CF_COINJOINS: &str = "coinjoins";
pub(crate) const CF_TAGS: &str = "tags";
pub(crate) const CF_TAG_PACKS: &str = "tag_packs";
pub(crate) const CF_CLUSTER_TAGS: &str = "cluster_tags";

const COLUMN_FAMILIES: [&str; 10] = [
    CF_META,
    CF_ADDR_CHUNKS,
    CF_CLUSTERS,
    CF_MEMBERS,
    CF_LINKS,
    CF_CONFLICTS,
    CF_COINJOINS,
    CF_TAGS,
    CF_TAG_PACKS,
    CF_CLUSTER_TAGS,
];

const META_VERSION: &[u8] = b"analysis_version";

/// The analysis database.
pub struct AnalysisStore {
    db: DB,
    path: PathBuf,
}

/// Where the analysis DB of the ledger at `ledger_dir` lives.
pub fn analysis_dir(ledger_dir: &Path) -> PathBuf {
    ledger_dir.join("analysis")
}

impl AnalysisStore {
    /// Opens (creating if needed) the analysis DB of the ledger at `ledger_dir`.
    pub fn open(ledger_dir: &Path) -> Result<Self> {
        Self::open_mode(ledger_dir, false)
    }

    /// Opens the analysis DB read-only; fails if nothing was built yet.
    pub fn open_read_only(ledger_dir: &Path) -> Result<Self> {
        let path = analysis_dir(ledger_dir);
        if !path.join("CURRENT").exists() {
            return Err(Error::Usage(format!(
                "no analysis for the ledger at {} yet: run `tracer --db {} cluster build` (or `tags import`) first",
                ledger_dir.display(),
                ledger_dir.display()
            )));
        }
        Self::open_mode(ledger_dir, true)
    }

    fn open_mode(ledger_dir: &Path, read_only: bool) -> Result<Self> {
        let path = analysis_dir(ledger_dir);
        if !read_only {
            std::fs::create_dir_all(&path).map_err(|e| db_err(&path, e))?;
        }
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        opts.set_keep_log_file_num(3);
        opts.set_max_background_jobs(2);
        opts.set_atomic_flush(true);
        // Memtables of every column family together stay under 64 MiB: a
        // build of any size writes in bounded memory.
        opts.set_db_write_buffer_size(64 << 20);
        let cfs = COLUMN_FAMILIES.iter().map(|n| {
            let mut o = Options::default();
            o.set_write_buffer_size(16 << 20);
            ColumnFamilyDescriptor::new(*n, o)
        });
        let db = if read_only {
            DB::open_cf_descriptors_read_only(&opts, &path, cfs, false)
        } else {
            DB::open_cf_descriptors(&opts, &path, cfs)
        }
        .map_err(|e| db_err(&path, e))?;
        let store = AnalysisStore { db, path };
        store.check_version(read_only)?;
        Ok(store)
    }

    fn check_version(&self, read_only: bool) -> Result<()> {
        let found = self
            .get(CF_META, META_VERSION)?
            .and_then(|v| v.as_slice().try_into().ok().map(u32::from_le_bytes));
        match found {
            Some(ANALYSIS_VERSION) => Ok(()),
            Some(v) => Err(Error::Db {
                path: self.path.clone(),
                reason: format!(
                    "analysis version {v}, this tracer reads version {ANALYSIS_VERSION}; delete the directory and rebuild"
                ),
            }),
            None if read_only => Err(Error::Db {
                path: self.path.clone(),
                reason: "not a tracer analysis database (no version)".into(),
            }),
            None => self
                .db
                .put_cf(self.cf(CF_META), META_VERSION, ANALYSIS_VERSION.to_le_bytes())
                .map_err(|e| db_err(&self.path, e)),
        }
    }

    /// Directory of the DB.
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn cf(&self, name: &str) -> &rocksdb::ColumnFamily {
        self.db
            .cf_handle(name)
            .expect("column family created at open")
    }

    pub(crate) fn get(&self, cf: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.db
            .get_cf(self.cf(cf), key)
            .map_err(|e| db_err(&self.path, e))
    }

    /// Decodes the record at `key`, naming it if it is corrupt.
    pub(crate) fn decoded<T>(
        &self,
        cf: &'static str,
        key: &[u8],
        decode: impl FnOnce(&[u8]) -> Result<T, DecodeError>,
    ) -> Result<Option<T>> {
        match self.get(cf, key)? {
            None => Ok(None),
            Some(v) => decode(&v).map(Some).map_err(|e| self.corrupt(cf, key, e)),
        }
    }

    pub(crate) fn corrupt(&self, record: &'static str, key: &[u8], source: DecodeError) -> Error {
        Error::Corrupt {
            path: self.path.clone(),
            record,
            key: hex::encode(key),
            cause: source,
        }
    }

    /// Calls `f` with every record whose key starts with `prefix`, in key
    /// order, until `f` returns `false`.
    pub(crate) fn scan(
        &self,
        cf: &'static str,
        prefix: &[u8],
        f: impl FnMut(&[u8], &[u8]) -> Result<bool>,
    ) -> Result<()> {
        self.scan_from(cf, prefix, prefix, f)
    }

    /// Like [`AnalysisStore::scan`], starting at key `from` (at or after
    /// `prefix`).
    pub(crate) fn scan_from(
        &self,
        cf: &'static str,
        prefix: &[u8],
        from: &[u8],
        mut f: impl FnMut(&[u8], &[u8]) -> Result<bool>,
    ) -> Result<()> {
        let iter = self
            .db
            .iterator_cf(self.cf(cf), IteratorMode::From(from, Direction::Forward));
        for item in iter {
            let (k, v) = item.map_err(|e| db_err(&self.path, e))?;
            if !k.starts_with(prefix) || !f(&k, &v)? {
                break;
            }
        }
        Ok(())
    }

    /// Commits `batch` atomically (its deletions first, then its writes in
    /// key order, which RocksDB's memtable inserts fastest), then flushes the
    /// memtables so that the next open (every query) does not replay a large
    /// write-ahead log.
    pub(crate) fn write(&self, batch: Batch) -> Result<()> {
        // No write-ahead log: the flush below persists the batch, and with
        // atomic flush either every column family's part of it reaches disk
        // or none does — a crash before that leaves the previous state.
        self.write_staged(batch)?;
        let cfs: Vec<_> = COLUMN_FAMILIES.iter().map(|n| self.cf(n)).collect();
        self.db
            .flush_cfs_opt(&cfs, &rocksdb::FlushOptions::default())
            .map_err(|e| db_err(&self.path, e))
    }

    /// Commits `batch` atomically but leaves it in the memtables (no
    /// write-ahead log, no flush): for writes that matter only once a later
    /// [`AnalysisStore::write`] persists them with everything before — a
    /// crash may keep any part of them, so they must be invisible to
    /// readers until then (see `attribution`'s staging).
    pub(crate) fn write_staged(&self, mut batch: Batch) -> Result<()> {
        let mut wb = batch.deletes;
        batch
            .puts
            .sort_unstable_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        for (cf, k, v) in &batch.puts {
            wb.put_cf(self.cf(cf), k, v);
        }
        self.write_unlogged(wb)
    }

    /// Applies `wb` atomically to the memtables, without the write-ahead
    /// log (a later flush persists it).
    fn write_unlogged(&self, wb: WriteBatch) -> Result<()> {
        let mut wo = rocksdb::WriteOptions::default();
        wo.disable_wal(true);
        self.db
            .write_opt(wb, &wo)
            .map_err(|e| db_err(&self.path, e))
    }

    /// Starts a bulk write: records go in batches of a bounded size, with
    /// no write-ahead log — invisible to readers until a later
    /// [`AnalysisStore::write`] (which flushes every column family at once)
    /// makes them part of the state a checkpoint names.
    pub(crate) fn bulk(&self) -> Bulk<'_> {
        Bulk {
            store: self,
            batch: WriteBatch::default(),
        }
    }

    /// Starts an atomic batch of writes.
    pub(crate) fn batch(&self) -> Batch<'_> {
        Batch {
            store: self,
            deletes: WriteBatch::default(),
            puts: Vec::new(),
        }
    }
}

/// An atomic set of writes to the analysis DB: deletions apply before puts.
pub(crate) struct Batch<'a> {
    store: &'a AnalysisStore,
    deletes: WriteBatch,
    puts: Vec<(&'static str, Vec<u8>, Vec<u8>)>,
}

impl Batch<'_> {
    pub(crate) fn put(&mut self, cf: &'static str, key: &[u8], value: &[u8]) {
        self.puts.push((cf, key.to_vec(), value.to_vec()));
    }

    pub(crate) fn delete(&mut self, cf: &str, key: &[u8]) {
        self.deletes.delete_cf(self.store.cf(cf), key);
    }

    /// Deletes every key starting with `prefix`.
    pub(crate) fn delete_prefix(&mut self, cf: &str, prefix: &[u8]) {
        let cf = self.store.cf(cf);
        match prefix_end(prefix) {
            Some(end) => self.deletes.delete_range_cf(cf, prefix, &end),
            None => self
                .deletes
                .delete_range_cf(cf, prefix, [0xffu8; 64].as_slice()),
        }
    }
}

/// Bytes a [`Bulk`] writer holds before it writes them.
const BULK_BATCH_BYTES: usize = 8 << 20;

/// Writes of any size in bounded memory (see [`AnalysisStore::bulk`]).
pub(crate) struct Bulk<'a> {
    store: &'a AnalysisStore,
    batch: WriteBatch,
}

impl Bulk<'_> {
    pub(crate) fn put(&mut self, cf: &'static str, key: &[u8], value: &[u8]) -> Result<()> {
        self.batch.put_cf(self.store.cf(cf), key, value);
        if self.batch.size_in_bytes() >= BULK_BATCH_BYTES {
            self.write()?;
        }
        Ok(())
    }

    /// Writes what is held.
    pub(crate) fn write(&mut self) -> Result<()> {
        self.store.write_unlogged(std::mem::take(&mut self.batch))
    }
}

/// The first key after every key starting with `prefix` (`None` if all 0xff).
fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

fn db_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Db {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::prefix_end;

    #[test]
    fn prefix_end_increments_the_last_byte_below_0xff() {
        assert_eq!(prefix_end(&[1, 2]), Some(vec![1, 3]));
        assert_eq!(prefix_end(&[1, 0xff]), Some(vec![2]));
        assert_eq!(prefix_end(&[0xff]), None);
    }
}
