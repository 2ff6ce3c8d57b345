//! The ledger in RocksDB: one column family per index, compact binary records.
//!
//! | column family | key | value |
//! |---|---|---|
//! | `meta` | name | schema version, counters, tips, networks, token records, contract marks |
//! | `blocks` | chain, height (BE) | [`BlockRecord`] |
//! | `block_index` | chain, block hash | height |
//! | `txs` | tx id (BE) | [`TxRecord`] |
//! | `tx_index` | chain, txid | tx id (BE) |
//! | `addrs` | address id (BE) | [`AddressKey`] |
//! | `addr_index` | chain, kind, payload | address id (BE) |
//! | `history` | address id, tx id (BE) [, asset id for tokens] | [`HistoryEntry`] value |
//! | `utxo` | txid, vout (BE) | tx id + [`Unspent`] |
//! | `spends` | tx id, vout (BE) | [`SpentBy`] |
//!
//! Each ingest batch is one atomic `WriteBatch` that also moves the tip and the
//! id counters, so a crash at any point leaves the ledger at the last
//! committed block. Query commands open the DB read-only, so they work while
//! an ingest runs.

mod cache;
mod files;
mod staged;
mod utxo;
mod writer;

pub use writer::{LedgerWriter, FILE_BATCH_BYTES};

use std::path::{Path, PathBuf};

use rocksdb::{
    BlockBasedOptions, Cache, ColumnFamilyDescriptor, Direction, IteratorMode, Options, DB,
};

use crate::error::{Error, Result};
use crate::ledger::codec::{DecodeError, Reader, Writer};
use crate::ledger::{
    AddrId, AddressKey, BlockRecord, Chain, Hash32, HistoryEntry, OutRef, SpentBy, TokenInfo, TxId,
    TxRecord, Unspent,
};

/// Version of the on-disk layout; a DB of another version is refused.
/// (2: transaction records carry the address id counter before them.)
pub const SCHEMA_VERSION: u32 = 2;

const CF_META: &str = "meta";
const CF_BLOCKS: &str = "blocks";
const CF_BLOCK_INDEX: &str = "block_index";
const CF_TXS: &str = "txs";
const CF_TX_INDEX: &str = "tx_index";
const CF_ADDRS: &str = "addrs";
const CF_ADDR_INDEX: &str = "addr_index";
const CF_HISTORY: &str = "history";
const CF_UTXO: &str = "utxo";
const CF_SPENDS: &str = "spends";

/// Every column family, in fingerprint order.
pub const COLUMN_FAMILIES: [&str; 10] = [
    CF_META,
    CF_BLOCKS,
    CF_BLOCK_INDEX,
    CF_TXS,
    CF_TX_INDEX,
    CF_ADDRS,
    CF_ADDR_INDEX,
    CF_HISTORY,
    CF_UTXO,
    CF_SPENDS,
];

/// Position of column family `name` (one of ours) in [`COLUMN_FAMILIES`].
fn cf_index(name: &str) -> usize {
    COLUMN_FAMILIES
        .iter()
        .position(|n| *n == name)
        .expect("known column family")
}

/// Column families that ingest writes but does not look up (and the block
/// records): a bulk load compacts them only once, at its end.
const BULK_LOADED: [&str; 6] = [
    CF_TXS,
    CF_TX_INDEX,
    CF_HISTORY,
    CF_SPENDS,
    CF_ADDRS,
    CF_BLOCKS,
];

/// Column families keyed by ids that grow with the chain.
const APPEND_ONLY: [&str; 3] = [CF_BLOCKS, CF_TXS, CF_ADDRS];

const META_SCHEMA: &[u8] = b"schema_version";
const META_COUNTERS: &[u8] = b"counters";
/// Tx id (BE) up to which the `utxo` column family is current (absent: the
/// next tx id, as in ledgers written before the unspent-output set was
/// written lazily).
const META_UTXO_SYNCED: &[u8] = b"utxo_synced_to";
/// Prefix of token records: `token/` + contract address id (BE) → [`TokenInfo`].
const META_TOKEN_PREFIX: &[u8] = b"token/";
/// Prefix of contract marks: `contract/` + address id (BE) → tx id (BE) of
/// the transaction that showed the address holds code.
const META_CONTRACT_PREFIX: &[u8] = b"contract/";

fn meta_tip_key(chain: Chain) -> Vec<u8> {
    format!("tip/{}", chain.name()).into_bytes()
}

fn meta_network_key(chain: Chain) -> Vec<u8> {
    format!("network/{}", chain.name()).into_bytes()
}

/// L0 file counts at which RocksDB slows, then stops, writes (its defaults,
/// set explicitly so that bulk-load mode can restore them).
const L0_SLOWDOWN_WRITES: i32 = 20;
const L0_STOP_WRITES: i32 = 36;

/// Tuning of the store's memory use.
#[derive(Debug, Clone, Copy)]
pub struct StoreOptions {
    /// Memory in MiB: a reader's block cache; a writer's block cache and
    /// memtables (half) and its address-id and unspent-output sets (a
    /// quarter each).
    pub cache_mb: usize,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions { cache_mb: 256 }
    }
}

/// The tip of one chain in the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tip {
    /// Height of the last committed block.
    pub height: u64,
    /// Its hash.
    pub hash: Hash32,
}

/// Sizes of the dense id spaces.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Next transaction id (= number of transactions).
    pub next_tx: TxId,
    /// Next address id (= number of addresses).
    pub next_addr: AddrId,
}

/// The ledger database.
pub struct Store {
    db: std::sync::Arc<DB>,
    /// A reader's own directory (RocksDB secondary instance), removed after the DB closes.
    _reader_dir: Option<ReaderDir>,
    path: PathBuf,
    read_only: bool,
    cache_mb: usize,
    /// Where a bulk load writes its sorted files (writable stores).
    files: Option<std::sync::Arc<files::SortedFiles>>,
    /// What a read-only store shows (`None`: everything).
    visible: Option<Visible>,
}

/// What a read-only store shows: the ledger as of the tip committed when
/// it was opened. A bulk load takes in a batch's files before it moves the
/// tip (and a stop in between leaves them until the next writer removes
/// them), so records and index entries past the tip may be on disk: they
/// stay hidden.
#[derive(Debug, Clone, Copy)]
struct Visible {
    counters: Counters,
    /// Tip height per chain, by [`Chain`] number.
    tips: [Option<u64>; 2],
}

/// The transaction id in a history key (address id, tx id, then the asset
/// for tokens).
fn history_tx(k: &[u8]) -> Result<TxId> {
    be_u64(k.get(4..12).unwrap_or_default()).map_err(|source| Error::CorruptRecord {
        record: CF_HISTORY,
        key: hex::encode(k),
        cause: source,
    })
}

/// The asset of a history key: absent (12-byte key) for the native coin.
fn history_asset(k: &[u8]) -> Result<u32> {
    match k.get(12..) {
        None | Some([]) => Ok(0),
        Some(rest) => be_u32(rest).map_err(|source| Error::CorruptRecord {
            record: CF_HISTORY,
            key: hex::encode(k),
            cause: source,
        }),
    }
}

/// Refuses a ledger path that names a file (RocksDB would say "File exists").
fn not_a_file(path: &Path) -> Result<()> {
    if path.exists() && !path.is_dir() {
        return Err(Error::Db {
            path: path.to_path_buf(),
            reason: "this is a file, not a ledger directory (give --db a directory)".into(),
        });
    }
    Ok(())
}

const NO_SCHEMA: &str = "not a tracer ledger (no schema version)";

/// Whether a reader's open failed because a writer is part-way through
/// creating the ledger or replacing its files.
fn is_in_between(reason: &str) -> bool {
    reason.contains("No such file or directory")
        || reason.contains("Column family not found")
        || reason.contains("column family")
        || reason == NO_SCHEMA
}

/// The scratch directory of a RocksDB secondary instance (its info log),
/// outside the ledger so a ledger on read-only storage can be queried.
struct ReaderDir(PathBuf);

impl ReaderDir {
    fn new() -> ReaderDir {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("tracer-reader-{}-{n}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        ReaderDir(dir)
    }
}

impl Drop for ReaderDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// An error opening the ledger, said in the user's terms where RocksDB's
/// words are about its files.
fn open_err(path: &Path, e: rocksdb::Error) -> Error {
    let raw = e.into_string();
    let reason = if raw.contains("/LOCK") && raw.contains("Resource temporarily unavailable") {
        "another tracer is writing this ledger (its LOCK file is held); queries work meanwhile, a second writer waits until it ends".into()
    } else if raw.contains("Too many open files") {
        format!("{raw}: a reader keeps every table file of the ledger open (so an ingest's compactions cannot pull them away); raise this process's open-files limit (`ulimit -n`)")
    } else if raw.contains("Permission denied") || raw.contains("Read-only file system") {
        format!("the ledger is not writable here ({raw}); queries work on it, ingest and analysis need write access")
    } else {
        raw
    };
    Error::Db {
        path: path.to_path_buf(),
        reason,
    }
}

fn db_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Db {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

fn cf_options(name: &str, cache: &Cache, opts: StoreOptions) -> Options {
    let mut o = Options::default();
    let mut t = BlockBasedOptions::default();
    t.set_block_cache(cache);
    t.set_block_size(16 * 1024);
    if matches!(name, CF_UTXO | CF_ADDR_INDEX | CF_TX_INDEX | CF_BLOCK_INDEX) {
        // Point look-ups at ingest: bloom filters avoid reading blocks for misses.
        t.set_bloom_filter(10.0, false);
        t.set_pin_l0_filter_and_index_blocks_in_cache(true);
        // Most look-ups at ingest are misses (a new address): a bloom filter on
        // the memtables answers those without walking the skiplists.
        o.set_memtable_whole_key_filtering(true);
        o.set_memtable_prefix_bloom_ratio(0.1);
    }
    // Index and filter blocks live in the block cache, partitioned so a look-up
    // loads only small pieces of them: memory stays bounded by --cache-mb
    // however large the files grow, without thrashing a small cache.
    t.set_index_type(rocksdb::BlockBasedIndexType::TwoLevelIndexSearch);
    t.set_partition_filters(true);
    t.set_metadata_block_size(4096);
    t.set_cache_index_and_filter_blocks(true);
    t.set_cache_index_and_filter_blocks_with_high_priority(true);
    t.set_pin_top_level_index_and_filter(true);
    o.set_block_based_table_factory(&t);
    // Fresh data (L0/L1) stays uncompressed so ingest spends no CPU on it;
    // the long-lived levels below are LZ4-compressed.
    use rocksdb::DBCompressionType::{Lz4, None as Plain};
    o.set_compression_per_level(&[Plain, Plain, Lz4, Lz4, Lz4, Lz4, Lz4]);
    // The ledger is written once and mostly appended to: universal compaction
    // rewrites each byte far fewer times than levelled compaction.
    o.set_compaction_style(rocksdb::DBCompactionStyle::Universal);
    o.set_level_zero_slowdown_writes_trigger(L0_SLOWDOWN_WRITES);
    o.set_level_zero_stop_writes_trigger(L0_STOP_WRITES);
    // Memtables are bounded by the cache setting too: a quarter of it spread
    // over the CFs (and all of them together by the write buffer manager).
    let write_buf = (opts.cache_mb * 1024 * 1024 / 4 / COLUMN_FAMILIES.len()).max(4 << 20);
    o.set_write_buffer_size(write_buf);
    o
}

impl Store {
    /// Opens (creating if needed) the ledger at `path` for reading and writing.
    pub fn open(path: &Path, opts: StoreOptions) -> Result<Store> {
        Self::open_mode(path, opts, false)
    }

    /// Opens an existing ledger read-only (allowed while an ingest writes to it).
    pub fn open_read_only(path: &Path, opts: StoreOptions) -> Result<Store> {
        not_a_file(path)?;
        if !path.join("CURRENT").exists() {
            return Err(Error::Db {
                path: path.to_path_buf(),
                reason: "no ledger here; run `tracer --db DIR ingest …` first".into(),
            });
        }
        Self::open_mode(path, opts, true)
    }

    fn open_mode(path: &Path, opts: StoreOptions, read_only: bool) -> Result<Store> {
        if !read_only {
            return Self::open_once(path, opts, false);
        }
        // A reader opened while an ingest creates the ledger, rolls its
        // MANIFEST over or deletes files a compaction replaced may find the
        // ledger in between: it opens again, for up to two seconds.
        let mut tries = 0;
        loop {
            match Self::open_once(path, opts, true) {
                Err(Error::Db { reason, .. }) if tries < 20 && is_in_between(&reason) => {
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                other => return other,
            }
        }
    }

    fn open_once(path: &Path, opts: StoreOptions, read_only: bool) -> Result<Store> {
        not_a_file(path)?;
        // --cache-mb is the whole budget. A reader's block cache gets all of
        // it. A writer's gets half, and its memtables are charged to that
        // half (a write buffer manager, at most a quarter); the other half
        // holds the address ids and unspent outputs (see `load_caches`).
        let mib = opts.cache_mb * 1024 * 1024;
        let cache = Cache::new_lru_cache(if read_only { mib } else { mib / 2 });
        let mut db_opts = Options::default();
        if !read_only {
            db_opts.set_write_buffer_manager(
                &rocksdb::WriteBufferManager::new_write_buffer_manager_with_cache(
                    mib / 4,
                    false,
                    cache.clone(),
                ),
            );
        }
        db_opts.create_if_missing(!read_only);
        db_opts.create_missing_column_families(!read_only);
        // A reader is a RocksDB secondary instance: it keeps every table file
        // open from the start, so files an ingest's compaction deletes while
        // a query runs stay readable to it.
        db_opts.set_max_open_files(if read_only { -1 } else { 512 });
        // Three background jobs give two compaction threads (RocksDB keeps a
        // quarter for flushes): the compaction closing a bulk load uses both
        // cores (large chain: 18.8–19.1 → 16.4–17.5 s).
        db_opts.set_max_background_jobs(3);
        db_opts.set_keep_log_file_num(3);
        let cfs = COLUMN_FAMILIES
            .iter()
            .map(|n| ColumnFamilyDescriptor::new(*n, cf_options(n, &cache, opts)));
        let reader_dir = read_only.then(ReaderDir::new);
        let db = match &reader_dir {
            Some(dir) => DB::open_cf_descriptors_as_secondary(&db_opts, path, &dir.0, cfs),
            None => DB::open_cf_descriptors(&db_opts, path, cfs),
        }
        .map_err(|e| open_err(path, e))?;
        let files = if read_only {
            None
        } else {
            let f = files::SortedFiles::new(path, |n| cf_options(n, &cache, opts))
                .map_err(|e| db_err(path, e))?;
            Some(std::sync::Arc::new(f))
        };
        let mut store = Store {
            db: std::sync::Arc::new(db),
            _reader_dir: reader_dir,
            path: path.to_path_buf(),
            read_only,
            cache_mb: opts.cache_mb,
            files,
            visible: None,
        };
        store.check_schema()?;
        if read_only {
            let tip = |c| store.tip(c).map(|t| t.map(|t| t.height));
            store.visible = Some(Visible {
                counters: store.counters()?,
                tips: [tip(Chain::Bitcoin)?, tip(Chain::Ethereum)?],
            });
        }
        if !read_only {
            // Keys of these grow with ingest order: the files of one flush
            // after another do not overlap, and compaction can move them
            // instead of rewriting them.
            for name in APPEND_ONLY {
                store
                    .db
                    .set_options_cf(
                        store.cf(name),
                        &[("compaction_options_universal", "{allow_trivial_move=true}")],
                    )
                    .map_err(|e| db_err(path, e))?;
            }
        }
        Ok(store)
    }

    fn check_schema(&self) -> Result<()> {
        match self.get(CF_META, META_SCHEMA)? {
            Some(v) => {
                let found = v
                    .as_slice()
                    .try_into()
                    .map(u32::from_le_bytes)
                    .unwrap_or(u32::MAX);
                if found != SCHEMA_VERSION {
                    return Err(Error::SchemaVersion {
                        path: self.path.clone(),
                        found,
                        expected: SCHEMA_VERSION,
                    });
                }
                Ok(())
            }
            None if self.read_only => Err(Error::Db {
                path: self.path.clone(),
                reason: NO_SCHEMA.into(),
            }),
            None => {
                let cf = self.cf(CF_META);
                self.db
                    .put_cf(cf, META_SCHEMA, SCHEMA_VERSION.to_le_bytes())
                    .map_err(|e| db_err(&self.path, e))
            }
        }
    }

    /// Directory of the DB.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The block cache size this store was opened with, in MiB.
    pub fn cache_mb(&self) -> usize {
        self.cache_mb
    }

    fn cf(&self, name: &str) -> &rocksdb::ColumnFamily {
        self.db
            .cf_handle(name)
            .expect("column family created at open")
    }

    fn get(&self, cf: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.db
            .get_cf(self.cf(cf), key)
            .map_err(|e| db_err(&self.path, e))
    }

    fn decoded<T>(
        &self,
        cf: &'static str,
        key: &[u8],
        decode: impl FnOnce(&[u8]) -> Result<T, DecodeError>,
    ) -> Result<Option<T>> {
        match self.get(cf, key)? {
            None => Ok(None),
            Some(v) => decode(&v).map(Some).map_err(|source| Error::CorruptRecord {
                record: cf,
                key: hex::encode(key),
                cause: source,
            }),
        }
    }

    /// The network recorded for `chain` (e.g. `main`, `regtest`), if any data was ingested.
    pub fn network(&self, chain: Chain) -> Result<Option<String>> {
        Ok(self
            .get(CF_META, &meta_network_key(chain))?
            .map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    /// Records the network of `chain`, refusing to mix networks in one DB.
    pub fn bind_network(&self, chain: Chain, network: &str) -> Result<()> {
        match self.network(chain)? {
            Some(stored) if stored != network => Err(Error::NetworkMismatch {
                path: self.path.clone(),
                stored: format!("{} {stored}", chain.name()),
                requested: format!("{} {network}", chain.name()),
            }),
            Some(_) => Ok(()),
            None => self
                .db
                .put_cf(
                    self.cf(CF_META),
                    meta_network_key(chain),
                    network.as_bytes(),
                )
                .map_err(|e| db_err(&self.path, e)),
        }
    }

    /// The last committed block of `chain`.
    pub fn tip(&self, chain: Chain) -> Result<Option<Tip>> {
        self.decoded(CF_META, &meta_tip_key(chain), |v| {
            let mut r = Reader::new(v);
            let t = Tip {
                height: r.u64("tip height")?,
                hash: r.array("tip hash")?,
            };
            r.end("tip")?;
            Ok(t)
        })
    }

    /// How many transactions and addresses the ledger holds.
    pub fn counters(&self) -> Result<Counters> {
        Ok(self
            .decoded(CF_META, META_COUNTERS, |v| {
                let mut r = Reader::new(v);
                let c = Counters {
                    next_tx: r.u64("tx counter")?,
                    next_addr: r.u32("address counter")?,
                };
                r.end("counters")?;
                Ok(c)
            })?
            .unwrap_or_default())
    }

    /// Tx id up to which the stored unspent outputs are current, if marked.
    fn utxo_synced_to(&self) -> Result<Option<TxId>> {
        self.decoded(CF_META, META_UTXO_SYNCED, be_u64)
    }

    /// Whether transaction `id` is shown ([`Visible`]).
    fn shows_tx(&self, id: TxId) -> bool {
        self.visible.is_none_or(|v| id < v.counters.next_tx)
    }

    /// Whether address `id` is shown ([`Visible`]).
    fn shows_addr(&self, id: AddrId) -> bool {
        self.visible.is_none_or(|v| id < v.counters.next_addr)
    }

    /// Whether block `height` of `chain` is shown ([`Visible`]).
    fn shows_block(&self, chain: Chain, height: u64) -> bool {
        self.visible
            .is_none_or(|v| v.tips[chain as usize].is_some_and(|t| height <= t))
    }

    /// Block at `height` on `chain`'s stored main chain.
    pub fn block(&self, chain: Chain, height: u64) -> Result<Option<BlockRecord>> {
        if !self.shows_block(chain, height) {
            return Ok(None);
        }
        self.decoded(CF_BLOCKS, &block_key(chain, height), BlockRecord::decode)
    }

    /// Height of the stored block with `hash`.
    pub fn block_height(&self, chain: Chain, hash: &Hash32) -> Result<Option<u64>> {
        let h = self.decoded(CF_BLOCK_INDEX, &hash_key(chain, hash), |v| {
            let mut r = Reader::new(v);
            let h = r.u64("block height")?;
            r.end("block index")?;
            Ok(h)
        })?;
        Ok(h.filter(|&h| self.shows_block(chain, h)))
    }

    /// Transaction with dense id `id`.
    pub fn tx(&self, id: TxId) -> Result<Option<TxRecord>> {
        if !self.shows_tx(id) {
            return Ok(None);
        }
        self.decoded(CF_TXS, &id.to_be_bytes(), TxRecord::decode)
    }

    /// Dense id of the transaction with `hash` on `chain`.
    pub fn tx_id(&self, chain: Chain, hash: &Hash32) -> Result<Option<TxId>> {
        let id = self.decoded(CF_TX_INDEX, &hash_key(chain, hash), be_u64)?;
        Ok(id.filter(|&id| self.shows_tx(id)))
    }

    /// Address with dense id `id`.
    pub fn address(&self, id: AddrId) -> Result<Option<AddressKey>> {
        if !self.shows_addr(id) {
            return Ok(None);
        }
        self.decoded(CF_ADDRS, &id.to_be_bytes(), AddressKey::decode)
    }

    /// Dense id of an address.
    pub fn addr_id(&self, key: &AddressKey) -> Result<Option<AddrId>> {
        let id = self.decoded(CF_ADDR_INDEX, &key.index_key(), be_u32)?;
        Ok(id.filter(|&id| self.shows_addr(id)))
    }

    /// Every transaction that touched address `id`, in chain order.
    pub fn history(&self, id: AddrId) -> Result<Vec<HistoryEntry>> {
        let prefix = id.to_be_bytes();
        let mut out = Vec::new();
        let iter = self.db.iterator_cf(
            self.cf(CF_HISTORY),
            IteratorMode::From(&prefix, Direction::Forward),
        );
        for item in iter {
            let (k, v) = item.map_err(|e| db_err(&self.path, e))?;
            if !k.starts_with(&prefix) {
                break;
            }
            let tx = history_tx(&k)?;
            if !self.shows_tx(tx) {
                continue;
            }
            let asset = history_asset(&k)?;
            let e = HistoryEntry::decode_value(tx, asset, &v).map_err(|source| {
                Error::CorruptRecord {
                    record: CF_HISTORY,
                    key: hex::encode(&k),
                    cause: source,
                }
            })?;
            out.push(e);
        }
        Ok(out)
    }

    /// Height of `chain`'s lowest stored block (Ethereum ingest may start
    /// above genesis).
    pub fn lowest_block(&self, chain: Chain) -> Result<Option<u64>> {
        let mut it = self.db.raw_iterator_cf(self.cf(CF_BLOCKS));
        it.seek([chain as u8]);
        let lowest = match it.key() {
            Some(k) if k.first() == Some(&(chain as u8)) => {
                Some(be_u64(&k[1..]).map_err(|source| Error::CorruptRecord {
                    record: CF_BLOCKS,
                    key: hex::encode(k),
                    cause: source,
                })?)
            }
            _ => None,
        };
        it.status().map_err(|e| db_err(&self.path, e))?;
        Ok(lowest)
    }

    /// Metadata of the token whose contract is address `id`, if the ledger
    /// has seen it move as a token.
    pub fn token(&self, id: AddrId) -> Result<Option<TokenInfo>> {
        self.decoded(CF_META, &meta_token_key(id), TokenInfo::decode)
    }

    /// Whether address `id` is known to hold code (a contract), and the
    /// transaction that showed it.
    pub fn contract_mark(&self, id: AddrId) -> Result<Option<TxId>> {
        self.decoded(CF_META, &meta_contract_key(id), be_u64)
    }

    /// Where each output of each `(transaction, output count)` was spent.
    ///
    /// One iterator serves them all: a seek to each transaction's first
    /// output, then a step to each next one (a transaction's spends are
    /// neighbours in key order), which is cheaper than a point look-up per
    /// output. Transactions sorted by id are read front to back.
    pub fn spends_of(&self, txs: &[(TxId, usize)]) -> Result<Vec<Vec<Option<SpentBy>>>> {
        let mut it = self.db.raw_iterator_cf(self.cf(CF_SPENDS));
        let mut out = Vec::with_capacity(txs.len());
        for &(tx, outputs) in txs {
            let mut spent = vec![None; outputs];
            it.seek(OutRef { tx, vout: 0 }.key());
            while let (Some(k), Some(v)) = (it.key(), it.value()) {
                let Some(slot) = OutRef::from_key(k)
                    .filter(|o| o.tx == tx)
                    .and_then(|o| spent.get_mut(o.vout as usize))
                else {
                    break;
                };
                let s = SpentBy::decode(v).map_err(|source| Error::CorruptRecord {
                    record: CF_SPENDS,
                    key: hex::encode(k),
                    cause: source,
                })?;
                *slot = Some(s).filter(|s| self.shows_tx(s.tx));
                it.next();
            }
            it.status().map_err(|e| db_err(&self.path, e))?;
            out.push(spent);
        }
        Ok(out)
    }

    /// Transactions `ids`, in one batched read (`None` for an unknown id).
    pub fn txs(&self, ids: &[TxId]) -> Result<Vec<Option<TxRecord>>> {
        self.records_of(
            CF_TXS,
            ids,
            |id| id.to_be_bytes(),
            TxRecord::decode,
            |id| self.shows_tx(id),
        )
    }

    /// Addresses `ids`, in one batched read (`None` for an unknown id).
    pub fn addresses(&self, ids: &[AddrId]) -> Result<Vec<Option<AddressKey>>> {
        self.records_of(
            CF_ADDRS,
            ids,
            |id| id.to_be_bytes(),
            AddressKey::decode,
            |id| self.shows_addr(id),
        )
    }

    /// The records of `ids` (keyed by `key`) in column family `cf`, decoded,
    /// in one batched read (RocksDB sorts the keys and visits each block
    /// once); `None` for an id not stored or not `shown` ([`Visible`]).
    fn records_of<I: Copy, K: AsRef<[u8]>, T>(
        &self,
        cf: &'static str,
        ids: &[I],
        key: impl Fn(I) -> K,
        decode: impl Fn(&[u8]) -> Result<T, DecodeError>,
        shown: impl Fn(I) -> bool,
    ) -> Result<Vec<Option<T>>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<K> = ids.iter().map(|&id| key(id)).collect();
        let values = self.db.batched_multi_get_cf(self.cf(cf), &keys, false);
        let mut out = Vec::with_capacity(keys.len());
        for ((k, v), &id) in keys.iter().zip(values).zip(ids) {
            out.push(match v.map_err(|e| db_err(&self.path, e))? {
                Some(v) if shown(id) => {
                    Some(decode(&v).map_err(|source| Error::CorruptRecord {
                        record: cf,
                        key: hex::encode(k),
                        cause: source,
                    })?)
                }
                _ => None,
            });
        }
        Ok(out)
    }

    /// Where output `out` was spent, if it was.
    pub fn spent_by(&self, out: OutRef) -> Result<Option<SpentBy>> {
        let s = self.decoded(CF_SPENDS, &out.key(), SpentBy::decode)?;
        Ok(s.filter(|s| self.shows_tx(s.tx)))
    }

    /// The unspent output `txid:vout`, with the id of its transaction.
    pub fn unspent(&self, txid: &Hash32, vout: u32) -> Result<Option<(TxId, Unspent)>> {
        self.decoded(CF_UTXO, &utxo_key(txid, vout), decode_utxo)
    }

    /// SHA-256 over every record of every column family, in key order: two
    /// ledgers with the same fingerprint hold the same data.
    pub fn fingerprint(&self) -> Result<String> {
        use bitcoin::hashes::{sha256, Hash, HashEngine};
        let mut eng = sha256::Hash::engine();
        for name in COLUMN_FAMILIES {
            eng.input(name.as_bytes());
            for item in self.db.iterator_cf(self.cf(name), IteratorMode::Start) {
                let (k, v) = item.map_err(|e| db_err(&self.path, e))?;
                eng.input(&(k.len() as u64).to_le_bytes());
                eng.input(&k);
                eng.input(&(v.len() as u64).to_le_bytes());
                eng.input(&v);
            }
        }
        Ok(sha256::Hash::from_engine(eng).to_string())
    }

    /// Decodes the records of `cf` from key `start` on, in key order, and
    /// hands them to `f` while it returns `true`. Returns whether every
    /// record was seen.
    fn for_each_record<K, V>(
        &self,
        cf: &'static str,
        start: &[u8],
        key: impl Fn(&[u8]) -> Result<K, DecodeError>,
        value: impl Fn(&[u8]) -> Result<V, DecodeError>,
        mut f: impl FnMut(K, V) -> bool,
    ) -> Result<bool> {
        let mode = IteratorMode::From(start, Direction::Forward);
        for item in self.db.iterator_cf(self.cf(cf), mode) {
            let (k, v) = item.map_err(|e| db_err(&self.path, e))?;
            let corrupt = |source| Error::CorruptRecord {
                record: cf,
                key: hex::encode(&k),
                cause: source,
            };
            if !f(key(&k).map_err(corrupt)?, value(&v).map_err(corrupt)?) {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Calls `f` for every address id and key, in id order.
    pub fn for_each_address(&self, mut f: impl FnMut(AddrId, AddressKey)) -> Result<()> {
        self.for_each_record(CF_ADDRS, &[], be_u32, AddressKey::decode, |id, k| {
            let shown = self.shows_addr(id);
            if shown {
                f(id, k);
            }
            shown
        })
        .map(drop)
    }

    /// Hands every address-index entry (index key, id) to `f` while it
    /// returns `true`; returns whether every entry was seen.
    fn scan_address_index(&self, f: impl FnMut(Vec<u8>, AddrId) -> bool) -> Result<bool> {
        self.for_each_record(CF_ADDR_INDEX, &[], |k| Ok(k.to_vec()), be_u32, f)
    }

    /// Hands every unspent output (txid, vout, producing tx, output) to `f`
    /// while it returns `true`; returns whether every one was seen.
    fn scan_unspent(&self, f: impl FnMut((Hash32, u32), (TxId, Unspent)) -> bool) -> Result<bool> {
        let key = |k: &[u8]| -> Result<(Hash32, u32), DecodeError> {
            let bad = || DecodeError { what: "utxo key" };
            let txid: Hash32 = k
                .get(..32)
                .and_then(|t| t.try_into().ok())
                .ok_or_else(bad)?;
            Ok((txid, be_u32(k.get(32..).ok_or_else(bad)?)?))
        };
        self.for_each_record(CF_UTXO, &[], key, decode_utxo, f)
    }

    /// Calls `f` for every transaction, in id order.
    pub fn for_each_tx(&self, f: impl FnMut(TxId, TxRecord)) -> Result<()> {
        self.for_each_tx_from(0, f)
    }

    /// Calls `f` for every transaction with id `start` or above, in id order.
    ///
    /// A reader thread walks the column family and decodes records while the
    /// caller's thread runs `f`: a whole-ledger pass costs about the larger of
    /// the two instead of their sum.
    pub fn for_each_tx_from(&self, start: TxId, mut f: impl FnMut(TxId, TxRecord)) -> Result<()> {
        const CHUNK: usize = 4096;
        let (send, recv) = std::sync::mpsc::sync_channel::<Vec<(TxId, TxRecord)>>(4);
        std::thread::scope(|scope| {
            let reader = scope.spawn(move || {
                let mut chunk = Vec::with_capacity(CHUNK);
                self.for_each_record(
                    CF_TXS,
                    &start.to_be_bytes(),
                    be_u64,
                    TxRecord::decode,
                    |id, tx| {
                        if !self.shows_tx(id) {
                            return false;
                        }
                        chunk.push((id, tx));
                        if chunk.len() == CHUNK {
                            // A closed channel means the caller stopped; nothing to report.
                            let _ =
                                send.send(std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK)));
                        }
                        true
                    },
                )?;
                let _ = send.send(chunk);
                Ok(())
            });
            for chunk in recv {
                for (id, tx) in chunk {
                    f(id, tx);
                }
            }
            reader.join().expect("ledger reader thread panicked")
        })
    }

    /// Flushes every memtable to disk, so that the write-ahead log is empty
    /// and the next open (a query) does not have to replay it.
    pub fn flush(&self) -> Result<()> {
        let cfs: Vec<_> = COLUMN_FAMILIES
            .iter()
            .filter_map(|n| self.db.cf_handle(n))
            .collect();
        self.db
            .flush_cfs_opt(&cfs, &rocksdb::FlushOptions::default())
            .map_err(|e| db_err(&self.path, e))
    }

    /// Merges each column family a bulk load left in several sorted runs
    /// into one, so a reader searches one file per look-up rather than one
    /// per batch (automatic compaction, still off, would leave the runs the
    /// sorted files were placed in at different levels). The column
    /// families are compacted side by side, on RocksDB's compaction threads.
    fn merge_sorted_runs(&self) {
        std::thread::scope(|s| {
            for name in COLUMN_FAMILIES {
                if self.sorted_runs(name).0 > 1 {
                    let cf = self.cf(name);
                    s.spawn(move || self.db.compact_range_cf(cf, None::<&[u8]>, None::<&[u8]>));
                }
            }
        });
    }

    /// Waits until background compaction has nothing left to do.
    fn wait_for_compaction(&self) -> Result<()> {
        self.db
            .wait_for_compact(&rocksdb::WaitForCompactOptions::default())
            .map_err(|e| db_err(&self.path, e))
    }

    /// Sorted runs of column family `name` that a look-up may search (the
    /// files of level 0 and each non-empty level below it), and whether it
    /// waits for a compaction.
    fn sorted_runs(&self, name: &str) -> (u64, bool) {
        let int = |prop: &str| {
            self.db
                .property_int_value_cf(self.cf(name), prop)
                .ok()
                .flatten()
                .unwrap_or(0)
        };
        let files = |level: usize| int(&format!("rocksdb.num-files-at-level{level}"));
        let runs = files(0) + (1..7).filter(|&l| files(l) > 0).count() as u64;
        (runs, int("rocksdb.compaction-pending") > 0)
    }

    /// Bulk-load mode ([`LedgerWriter::set_bulk_load`]): the
    /// [`BULK_LOADED`] column families are not compacted until the mode
    /// ends, so a long ingest spends its CPU on new blocks instead of
    /// re-sorting the same records repeatedly. Look-up CFs (UTXOs, address
    /// and block indexes) keep compacting.
    fn set_bulk_load(&self, on: bool) -> Result<()> {
        for name in BULK_LOADED {
            self.set_compaction(name, !on)?;
        }
        Ok(())
    }

    /// Turns automatic compaction of column family `name` on or off (off:
    /// level-0 files pile up without stalling writes until it is on again).
    fn set_compaction(&self, name: &str, on: bool) -> Result<()> {
        let (slowdown, stop) = if on {
            (L0_SLOWDOWN_WRITES, L0_STOP_WRITES)
        } else {
            (100_000, 100_000)
        };
        let (slowdown, stop) = (slowdown.to_string(), stop.to_string());
        let opts = [
            (
                "disable_auto_compactions",
                if on { "false" } else { "true" },
            ),
            ("level0_slowdown_writes_trigger", slowdown.as_str()),
            ("level0_stop_writes_trigger", stop.as_str()),
        ];
        self.db
            .set_options_cf(self.cf(name), &opts)
            .map_err(|e| db_err(&self.path, e))
    }

    /// Starts a batch of writes. Only one writer may exist at a time.
    pub fn writer(&self) -> Result<LedgerWriter<'_>> {
        if self.read_only {
            return Err(db_err(&self.path, "opened read-only"));
        }
        LedgerWriter::new(self)
    }
}

fn block_key(chain: Chain, height: u64) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[0] = chain as u8;
    k[1..].copy_from_slice(&height.to_be_bytes());
    k
}

fn hash_key(chain: Chain, hash: &Hash32) -> [u8; 33] {
    let mut k = [0u8; 33];
    k[0] = chain as u8;
    k[1..].copy_from_slice(hash);
    k
}

fn utxo_key(txid: &Hash32, vout: u32) -> [u8; 36] {
    let mut k = [0u8; 36];
    k[..32].copy_from_slice(txid);
    k[32..].copy_from_slice(&vout.to_be_bytes());
    k
}

/// History key: address id, tx id and, for a token (asset ≠ 0), the asset
/// id, so one address's lines sort by transaction, native coin first.
fn history_key(addr: AddrId, tx: TxId, asset: u32) -> Vec<u8> {
    let mut k = Vec::with_capacity(16);
    k.extend_from_slice(&addr.to_be_bytes());
    k.extend_from_slice(&tx.to_be_bytes());
    if asset != 0 {
        k.extend_from_slice(&asset.to_be_bytes());
    }
    k
}

/// Meta key of the token record of contract `id`.
fn meta_token_key(id: AddrId) -> Vec<u8> {
    let mut k = META_TOKEN_PREFIX.to_vec();
    k.extend_from_slice(&id.to_be_bytes());
    k
}

/// Meta key of the contract mark of address `id`.
fn meta_contract_key(id: AddrId) -> Vec<u8> {
    let mut k = META_CONTRACT_PREFIX.to_vec();
    k.extend_from_slice(&id.to_be_bytes());
    k
}

fn encode_utxo(tx: TxId, u: &Unspent) -> Vec<u8> {
    let mut w = Writer::with_capacity(16);
    w.uvar(tx.into()).fixed(&u.encode());
    w.finish()
}

fn decode_utxo(v: &[u8]) -> Result<(TxId, Unspent), DecodeError> {
    let mut r = Reader::new(v);
    let tx = r.u64("utxo tx")?;
    let addr = r
        .opt_id("utxo address")?
        .map(|a| {
            AddrId::try_from(a).map_err(|_| DecodeError {
                what: "utxo address",
            })
        })
        .transpose()?;
    let value = r.uvar("utxo value")?;
    r.end("utxo")?;
    Ok((tx, Unspent { addr, value }))
}

fn be_u64(v: &[u8]) -> Result<u64, DecodeError> {
    v.get(..8)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_be_bytes)
        .ok_or(DecodeError { what: "u64 id" })
}

fn be_u32(v: &[u8]) -> Result<u32, DecodeError> {
    v.get(..4)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_be_bytes)
        .ok_or(DecodeError { what: "u32 id" })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::{ingest_blk_files, IngestOptions, Quiet};

    /// `spends_of` gives, for every output of blocks 0–4312, what a point
    /// look-up of that output gives, whatever order the transactions come
    /// in: each spend names the input that spends the output, and there is
    /// one per input of the chain. A transaction the ledger lacks has none.
    #[test]
    fn spends_of_equals_a_look_up_per_output() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
        let blk = crate::fixture("bitcoin/blk-heights-0-4312.dat");
        let opts = IngestOptions::default();
        ingest_blk_files(&store, &blk, bitcoin::Network::Bitcoin, &opts, &Quiet).unwrap();
        let next = store.counters().unwrap().next_tx;
        let records: Vec<TxRecord> = (0..next).map(|id| store.tx(id).unwrap().unwrap()).collect();
        let mut txs: Vec<(TxId, usize)> = (0..next)
            .map(|id| (id, records[id as usize].outputs.len()))
            .rev()
            .collect();
        txs.push((next, 3));
        let found = store.spends_of(&txs).unwrap();
        let mut spent = 0;
        for (&(tx, n), spends) in txs.iter().zip(&found) {
            assert_eq!(spends.len(), n, "tx {tx}");
            for (vout, s) in spends.iter().enumerate() {
                let out = OutRef {
                    tx,
                    vout: vout as u32,
                };
                assert_eq!(*s, store.spent_by(out).unwrap(), "tx {tx} output {vout}");
                if let Some(s) = s {
                    let input = &records[s.tx as usize].inputs[s.input as usize];
                    assert_eq!(input.prev, Some(out), "spender of {tx}:{vout}");
                    spent += 1;
                }
            }
        }
        let inputs = records
            .iter()
            .flat_map(|t| &t.inputs)
            .filter(|i| i.prev.is_some())
            .count();
        assert_eq!(spent, inputs);
        assert!(inputs > 0);
        assert_eq!(found.last().unwrap(), &vec![None; 3]);
    }
}
