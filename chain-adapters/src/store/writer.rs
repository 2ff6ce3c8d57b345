//! Batched, atomic writes to the ledger: blocks in, blocks rolled back.

// foldhash: fast and seeded per process, so crafted chain data cannot force collisions.
use foldhash::{HashMap, HashSet};

use rocksdb::WriteBatch;

use super::cache::{AddrCache, AddrIds};
use super::staged::Staged;
use super::utxo::{joins_unspent, tx_changes, UtxoKey, UtxoSet, UtxoWrites};
use super::{
    be_u32, block_key, cf_index, db_err, encode_utxo, hash_key, history_key, meta_contract_key,
    meta_tip_key, meta_token_key, utxo_key, Counters, Store, Tip, CF_ADDRS, CF_ADDR_INDEX,
    CF_BLOCKS, CF_BLOCK_INDEX, CF_HISTORY, CF_META, CF_SPENDS, CF_TXS, CF_TX_INDEX, CF_UTXO,
    COLUMN_FAMILIES, META_COUNTERS, META_UTXO_SYNCED,
};
use crate::error::{Error, Result};
use crate::ledger::codec::Writer;
use crate::ledger::{
    asset_of_token, AddrId, AddressKey, Amount, BlockRecord, Chain, Hash32, HistoryEntry, Input,
    NewBlock, NewInput, NewTx, OutRef, Output, SpentBy, TxId, TxRecord, Unspent, TX_COINBASE,
};

/// In bulk load, a batch of at least this many staged bytes writes its
/// records and indexes as sorted files (by default; see
/// [`LedgerWriter::set_file_batch_bytes`]): each file RocksDB takes in costs
/// a few milliseconds, more than a smaller batch's memtable inserts cost.
pub const FILE_BATCH_BYTES: usize = 1 << 20;

/// In bulk load, the unspent-output set is written to the store every this
/// many commits (and at the end): outputs created and spent in between
/// never reach it.
const UTXO_WRITE_EVERY: usize = 8;

/// A committed batch being written by a background thread, with the
/// overlays that answer look-ups until it lands.
struct InFlight {
    handle: std::thread::JoinHandle<std::result::Result<Vec<Staged>, String>>,
    addrs: AddrIds,
    /// Unspent outputs the batch deletes from the store.
    spent: HashSet<UtxoKey>,
    tips: HashMap<Chain, Tip>,
}

/// Accumulates blocks into one RocksDB `WriteBatch` and commits them
/// atomically together with the tip and id counters.
///
/// Writes are staged per column family and sorted by key before they go into
/// the batch: memtable inserts in key order are several times cheaper than
/// in the chain's (random) key order.
///
/// Look-ups during a batch see the batch's own effects through in-memory
/// overlays (new addresses, new and spent outputs), so the batch itself is
/// never read back; committed addresses and unspent outputs are answered
/// from bounded caches (see [`super::cache`]) before the store is asked.
pub struct LedgerWriter<'a> {
    store: &'a Store,
    staged: Vec<Staged>,
    staged_bytes: usize,
    in_flight: Option<InFlight>,
    spare: Option<Vec<Staged>>,
    durable: HashMap<Chain, Tip>,
    counters: Counters,
    tips: HashMap<Chain, Tip>,
    dirty_tips: HashSet<Chain>,
    pending_blocks: usize,
    new_addrs: AddrIds,
    addr_cache: AddrCache,
    utxos: UtxoSet,
    /// Commits since the unspent-output set was last written.
    utxo_commits: usize,
    /// Tx id up to which the `utxo` column family holds the set once the
    /// staged writes land; every checkpoint records it, so a crash replays
    /// from there ([`LedgerWriter::replay_utxos`]).
    utxo_synced_to: TxId,
    /// Deletes from the `utxo` column family in the pending batch.
    utxo_deletes: HashSet<UtxoKey>,
    contracts_marked: HashSet<AddrId>,
    sync: bool,
    bulk: bool,
    /// Whether the address index is compacted automatically (off in a bulk
    /// load while every address id is in memory).
    addr_index_compacted: bool,
    /// Staged bytes from which a bulk-load batch is written as sorted files.
    file_batch_bytes: usize,
}

impl<'a> LedgerWriter<'a> {
    pub(super) fn new(store: &'a Store) -> Result<Self> {
        let mut tips = HashMap::default();
        for chain in [Chain::Bitcoin, Chain::Ethereum] {
            if let Some(t) = store.tip(chain)? {
                tips.insert(chain, t);
            }
        }
        let mut w = LedgerWriter {
            store,
            staged: Staged::per_column_family(),
            staged_bytes: 0,
            in_flight: None,
            spare: None,
            durable: HashMap::default(),
            counters: store.counters()?,
            tips,
            dirty_tips: HashSet::default(),
            pending_blocks: 0,
            new_addrs: AddrIds::default(),
            addr_cache: AddrCache::new(0, false),
            utxos: UtxoSet::new(0, false),
            utxo_commits: 0,
            utxo_synced_to: 0,
            utxo_deletes: HashSet::default(),
            contracts_marked: HashSet::default(),
            sync: false,
            bulk: false,
            addr_index_compacted: true,
            file_batch_bytes: FILE_BATCH_BYTES,
        };
        w.remove_orphans()?;
        w.load_caches()?;
        Ok(w)
    }

    /// Removes what a bulk load wrote past the committed tip when it
    /// stopped after taking in some of a batch's files but before moving the
    /// tip ([`super::files`]): the transactions, addresses and blocks past
    /// the counters and tips, with every spend, history line and index
    /// entry they wrote, in one atomic batch. The files go in records
    /// first, so each index entry past the tip has its record to be found
    /// by.
    fn remove_orphans(&mut self) -> Result<()> {
        let store = self.store;
        let mut txs = Vec::new();
        store.for_each_tx_from(self.counters.next_tx, |id, tx| txs.push((id, tx)))?;
        let mut addrs = Vec::new();
        let start = self.counters.next_addr.to_be_bytes();
        store.for_each_record(CF_ADDRS, &start, be_u32, AddressKey::decode, |a, key| {
            addrs.push((a, key));
            true
        })?;
        let mut blocks = Vec::new();
        for chain in [Chain::Bitcoin, Chain::Ethereum] {
            let from = self.tips.get(&chain).map_or(0, |t| t.height + 1);
            store.for_each_record(
                CF_BLOCKS,
                &block_key(chain, from),
                |k| Ok(k.first().copied()),
                BlockRecord::decode,
                |c, b| {
                    let ours = c == Some(chain as u8);
                    if ours {
                        blocks.push(b);
                    }
                    ours
                },
            )?;
        }
        if txs.is_empty() && addrs.is_empty() && blocks.is_empty() {
            return Ok(());
        }
        for (id, tx) in txs.iter().rev() {
            // The unspent set never saw them: it moves with the tip.
            self.remove_tx(*id, tx, false)?;
        }
        for (a, key) in &addrs {
            self.remove_address(*a, Some(key));
        }
        for b in &blocks {
            self.remove_block_record(b);
        }
        self.start_write()?;
        self.wait_in_flight()
    }

    /// Fills the look-up caches from the store, each a quarter of the
    /// configured cache: complete if the whole index fits, else left empty.
    /// First brings the stored unspent outputs up to the tip if a crash
    /// left them behind.
    fn load_caches(&mut self) -> Result<()> {
        self.replay_utxos()?;
        let budget = self.store.cache_mb * 1024 * 1024 / 4;
        let empty = self.counters.next_addr == 0;
        self.addr_cache = AddrCache::new(budget, empty);
        self.utxos = UtxoSet::new(budget, empty);
        self.utxo_commits = 0;
        self.utxo_synced_to = self.counters.next_tx;
        if empty {
            return Ok(());
        }
        if (self.counters.next_addr as usize) <= self.addr_cache.capacity() {
            let cache = &mut self.addr_cache;
            if self.store.scan_address_index(|k, id| {
                cache.insert(&k, id);
                true
            })? {
                cache.set_complete();
            }
        }
        // Half the share: the set's young generation.
        let cap = self.utxos.capacity() / 2;
        let set = &mut self.utxos;
        let mut n = 0;
        let whole = self.store.scan_unspent(|k, (tx, u)| {
            if n == cap {
                return false;
            }
            n += 1;
            set.load(k, tx, &u);
            true
        })?;
        if whole {
            set.set_complete();
        } else {
            set.evict();
        }
        Ok(())
    }

    /// Applies the ledger's transactions above the `utxo` column family's
    /// mark to it (after a crash in bulk load), in atomic batches that move
    /// the mark.
    fn replay_utxos(&mut self) -> Result<()> {
        const CHUNK: u64 = 50_000;
        let store = self.store;
        let end = self.counters.next_tx;
        let mut id = store.utxo_synced_to()?.unwrap_or(end);
        let missing = |what: String| Error::Db {
            path: store.path.clone(),
            reason: format!("{what} missing while replaying unspent outputs"),
        };
        while id < end {
            let stop = (id + CHUNK).min(end);
            for t in id..stop {
                let tx = store.tx(t)?.ok_or_else(|| missing(format!("tx {t}")))?;
                let w = tx_changes(&tx, t, |p| {
                    Ok(store.tx(p)?.ok_or_else(|| missing(format!("tx {p}")))?.hash)
                })?;
                self.stage_utxo_writes(&w);
            }
            self.mark_utxos_synced(stop);
            self.start_write()?;
            self.wait_in_flight()?;
            id = stop;
        }
        Ok(())
    }

    /// Stages writes to the `utxo` column family: deletes, then puts.
    fn stage_utxo_writes(&mut self, w: &UtxoWrites) {
        for (txid, vout) in &w.deletes {
            self.delete(CF_UTXO, &utxo_key(txid, *vout));
        }
        for ((txid, vout), tx, u) in &w.puts {
            self.put(CF_UTXO, &utxo_key(txid, *vout), &encode_utxo(*tx, u));
        }
    }

    /// Stages the mark saying the `utxo` column family is current up to
    /// (not including) transaction `to`.
    fn mark_utxos_synced(&mut self, to: TxId) {
        self.put(CF_META, META_UTXO_SYNCED, &to.to_be_bytes());
    }

    /// Stages what the store lacks of the unspent-output set: it is then
    /// current up to the pending batch.
    fn write_utxos(&mut self) {
        let w = self.utxos.take_writes();
        self.stage_utxo_writes(&w);
        self.utxo_deletes.extend(w.deletes);
        self.utxo_synced_to = self.counters.next_tx;
        self.utxo_commits = 0;
    }

    /// In bulk load, a batch of at least `bytes` staged bytes writes its
    /// records and indexes as sorted files ([`super::files`]) instead of
    /// through memtables (default [`FILE_BATCH_BYTES`]; 0: every batch).
    pub fn set_file_batch_bytes(&mut self, bytes: usize) {
        self.file_batch_bytes = bytes;
    }

    /// Whether each commit waits for the WAL to reach the disk (fsync). Without
    /// it a commit survives a process crash; with it, also a power loss.
    pub fn set_sync(&mut self, sync: bool) {
        self.sync = sync;
    }

    /// Bulk-load mode, for a long ingest: each batch's records and indexes
    /// are written as sorted files ([`super::files`]) before its tip, the
    /// unspent-output set is written every few commits, and the write-only
    /// column families are not compacted until the mode ends. A crash
    /// leaves the ledger at its last whole batch (what a batch stopped
    /// half-way had written is removed when the next writer opens it).
    /// Ending the mode flushes everything, turns compaction back on and
    /// waits for it, so readers get a compacted ledger.
    pub fn set_bulk_load(&mut self, on: bool) -> Result<()> {
        let was_bulk = self.bulk;
        if !on {
            self.finish()?;
            if was_bulk {
                self.store.flush()?;
                self.store.merge_sorted_runs();
            }
        }
        self.bulk = on;
        self.store.set_bulk_load(on)?;
        // While every address id is in memory nothing looks the index up:
        // it is compacted at the end, like the write-only families.
        self.set_addr_index_compaction(!(on && self.addr_cache.is_complete()))?;
        if !on && was_bulk {
            self.store.wait_for_compaction()?;
        }
        Ok(())
    }

    /// Turns compaction of the address index on or off (if not already so).
    fn set_addr_index_compaction(&mut self, on: bool) -> Result<()> {
        if self.addr_index_compacted != on {
            self.store.set_compaction(CF_ADDR_INDEX, on)?;
            self.addr_index_compacted = on;
        }
        Ok(())
    }

    /// Waits for the batch being written in the background; its overlays are
    /// then no longer needed (the DB has its writes).
    fn wait_in_flight(&mut self) -> Result<()> {
        if let Some(f) = self.in_flight.take() {
            let result = f
                .handle
                .join()
                .unwrap_or_else(|_| Err("commit thread panicked".into()));
            // The arenas come back empty, with their capacity, for reuse.
            self.spare = Some(result.map_err(|e| db_err(&self.store.path, e))?);
            self.durable = f.tips;
            self.addr_cache.absorb(f.addrs);
            if !self.addr_cache.is_complete() {
                // Misses now read the index: keep it compacted.
                self.set_addr_index_compaction(true)?;
            }
        }
        Ok(())
    }

    /// The last tip of `chain` known to survive a crash (set once a commit
    /// has landed).
    pub fn durable_tip(&self, chain: Chain) -> Option<Tip> {
        self.durable.get(&chain).copied()
    }

    /// The store written to.
    pub fn store(&self) -> &'a Store {
        self.store
    }

    /// Tip of `chain` including blocks not yet committed.
    pub fn tip(&self, chain: Chain) -> Option<Tip> {
        self.tips.get(&chain).copied()
    }

    /// Blocks added since the last commit.
    pub fn pending_blocks(&self) -> usize {
        self.pending_blocks
    }

    /// Bytes in the pending write batch.
    pub fn pending_bytes(&self) -> usize {
        self.staged_bytes
    }

    fn stage(&mut self, cf: &str, k: &[u8], v: Option<&[u8]>) {
        let i = cf_index(cf);
        self.staged_bytes += 16 + k.len() + v.map_or(0, <[u8]>::len);
        self.staged[i].push(k, v);
    }

    fn put(&mut self, cf: &str, k: &[u8], v: &[u8]) {
        self.stage(cf, k, Some(v));
    }

    fn delete(&mut self, cf: &str, k: &[u8]) {
        self.stage(cf, k, None);
    }

    /// Id of `key`, allocating the next dense id if the ledger has not seen it.
    fn resolve_addr(&mut self, key: &AddressKey) -> Result<AddrId> {
        let known = key.with_index_key(|ik| {
            self.new_addrs
                .get(ik)
                .or_else(|| self.in_flight.as_ref().and_then(|f| f.addrs.get(ik)))
                .or_else(|| self.addr_cache.get(ik))
        });
        if let Some(id) = known {
            return Ok(id);
        }
        if !self.addr_cache.is_complete() {
            if let Some(id) = self.store.addr_id(key)? {
                key.with_index_key(|ik| self.addr_cache.insert(ik, id));
                return Ok(id);
            }
        }
        let id = self.counters.next_addr;
        self.counters.next_addr = id.checked_add(1).ok_or_else(|| Error::Db {
            path: self.store.path.clone(),
            reason: "address id space exhausted".into(),
        })?;
        let ik = key.index_key();
        self.put(CF_ADDRS, &id.to_be_bytes(), &key.encode());
        self.put(CF_ADDR_INDEX, &ik, &id.to_be_bytes());
        self.new_addrs.insert(&ik, id);
        Ok(id)
    }

    /// Takes output `txid:vout` out of the unspent set.
    fn spend(&mut self, txid: &Hash32, vout: u32) -> Result<Option<(TxId, Unspent)>> {
        let key = (*txid, vout);
        match self.utxos.spend(&key) {
            Ok(Some(u)) => return Ok(Some(u)),
            Err(()) => return Ok(None),
            Ok(None) if self.utxos.is_complete() => return Ok(None),
            Ok(None) => {}
        }
        let deleted = self.utxo_deletes.contains(&key)
            || self
                .in_flight
                .as_ref()
                .is_some_and(|f| f.spent.contains(&key));
        if deleted {
            return Ok(None);
        }
        let found = self.store.unspent(txid, vout)?;
        if found.is_some() {
            self.utxos.spent_from_store(key);
        }
        Ok(found)
    }

    /// Adds a block on top of the tip. On error the pending batch must be
    /// dropped (see [`LedgerWriter::discard`]); nothing has been written.
    pub fn add_block(&mut self, b: &NewBlock) -> Result<()> {
        if let Some(tip) = self.tips.get(&b.chain) {
            if b.height != tip.height + 1 || b.prev_hash != tip.hash {
                return Err(Error::NotConnected {
                    height: b.height,
                    hash: b.chain.hash_hex(&b.hash),
                    tip: format!("{} at height {}", b.chain.hash_hex(&tip.hash), tip.height),
                });
            }
        }
        let first_tx = self.counters.next_tx;
        let first_new_addr = self.counters.next_addr;
        for (index, tx) in b.txs.iter().enumerate() {
            self.add_tx(b, index as u32, tx)?;
        }
        for (contract, info) in &b.tokens {
            let id = self.resolve_addr(contract)?;
            self.put(CF_META, &meta_token_key(id), &info.encode());
        }
        self.mark_contracts(b, first_tx)?;
        let rec = BlockRecord {
            chain: b.chain,
            height: b.height,
            hash: b.hash,
            prev_hash: b.prev_hash,
            time: b.time,
            first_tx,
            tx_count: b.txs.len() as u32,
            first_new_addr,
            new_addr_count: self.counters.next_addr - first_new_addr,
            size: b.size,
        };
        self.put(CF_BLOCKS, &block_key(b.chain, b.height), &rec.encode());
        let mut hv = Writer::default();
        hv.uvar(b.height.into());
        self.put(CF_BLOCK_INDEX, &hash_key(b.chain, &b.hash), &hv.finish());
        self.tips.insert(
            b.chain,
            Tip {
                height: b.height,
                hash: b.hash,
            },
        );
        self.dirty_tips.insert(b.chain);
        self.pending_blocks += 1;
        Ok(())
    }

    /// Marks the block's contracts (addresses proven to hold code) with the
    /// transaction that showed it; an address already marked keeps its
    /// older mark.
    fn mark_contracts(&mut self, b: &NewBlock, first_tx: TxId) -> Result<()> {
        for (key, index) in &b.contracts {
            let id = self.resolve_addr(key)?;
            if self.contracts_marked.contains(&id) || self.store.contract_mark(id)?.is_some() {
                continue;
            }
            let proof = first_tx + TxId::from(*index);
            self.put(CF_META, &meta_contract_key(id), &proof.to_be_bytes());
            self.contracts_marked.insert(id);
        }
        Ok(())
    }

    fn add_tx(&mut self, b: &NewBlock, index: u32, tx: &NewTx) -> Result<()> {
        let id = self.counters.next_tx;
        self.counters.next_tx += 1;
        let first_new_addr = self.counters.next_addr;
        let mut touched: HashMap<(AddrId, u32), (Amount, Amount)> = HashMap::default();
        let mut inputs = Vec::with_capacity(tx.inputs.len());
        for (i, input) in tx.inputs.iter().enumerate() {
            inputs.push(match *input {
                NewInput::Coinbase { sequence } => Input {
                    prev: None,
                    addr: None,
                    value: 0,
                    sequence,
                },
                NewInput::Fee { ref payer, value } => {
                    let a = self.resolve_addr(payer)?;
                    touched.entry((a, 0)).or_default().1 += value;
                    Input {
                        prev: None,
                        addr: Some(a),
                        value,
                        sequence: 0,
                    }
                }
                NewInput::Spend {
                    txid,
                    vout,
                    sequence,
                } => {
                    let (prev_tx, u) =
                        self.spend(&txid, vout)?
                            .ok_or_else(|| Error::MissingPrevout {
                                height: b.height,
                                txid: b.chain.hash_hex(&tx.hash),
                                input: i,
                                prev_txid: b.chain.hash_hex(&txid),
                                vout,
                            })?;
                    let prev = OutRef { tx: prev_tx, vout };
                    let spender = SpentBy {
                        tx: id,
                        input: i as u32,
                    };
                    self.put(CF_SPENDS, &prev.key(), &spender.encode());
                    if let Some(a) = u.addr {
                        touched.entry((a, 0)).or_default().1 += u.value;
                    }
                    Input {
                        prev: Some(prev),
                        addr: u.addr,
                        value: u.value,
                        sequence,
                    }
                }
            });
        }
        let mut outputs = Vec::with_capacity(tx.outputs.len());
        for (vout, o) in tx.outputs.iter().enumerate() {
            let addr = o.addr.as_ref().map(|k| self.resolve_addr(k)).transpose()?;
            let from = o.from.as_ref().map(|k| self.resolve_addr(k)).transpose()?;
            let asset = match &o.token {
                Some(t) => asset_of_token(self.resolve_addr(t)?),
                None => 0,
            };
            if let Some(a) = addr {
                // Token amounts come from untrusted logs: sum without overflow.
                let t = touched.entry((a, asset)).or_default();
                t.0 = t.0.saturating_add(o.value);
            }
            if let Some(f) = from {
                let t = touched.entry((f, asset)).or_default();
                t.1 = t.1.saturating_add(o.value);
            }
            if joins_unspent(b.chain, o.kind) {
                let u = Unspent {
                    addr,
                    value: o.value,
                };
                self.utxos
                    .create((tx.hash, vout as u32), id, &u)
                    .ok_or_else(|| Error::InvalidTx {
                        height: b.height,
                        txid: b.chain.hash_hex(&tx.hash),
                        reason: format!("output {vout} holds more than 2^64 − 1 satoshis"),
                    })?;
            }
            outputs.push(Output {
                addr,
                kind: o.kind,
                value: o.value,
                asset,
                from,
            });
        }
        let coinbase = tx.flags & TX_COINBASE != 0;
        let fee = if b.chain == Chain::Ethereum {
            // Account chains: the inputs are the fees debited from the sender.
            inputs.iter().map(|i| i.value).sum()
        } else if coinbase || inputs.is_empty() {
            0
        } else {
            let sum_in: Amount = inputs.iter().map(|i| i.value).sum();
            let sum_out: Amount = outputs
                .iter()
                .filter(|o| o.asset == 0)
                .map(|o| o.value)
                .sum();
            sum_in
                .checked_sub(sum_out)
                .ok_or_else(|| Error::InvalidTx {
                    height: b.height,
                    txid: b.chain.hash_hex(&tx.hash),
                    reason: format!("outputs ({sum_out}) exceed inputs ({sum_in})"),
                })?
        };
        let rec = TxRecord {
            chain: b.chain,
            hash: tx.hash,
            height: b.height,
            index,
            version: tx.version,
            locktime: tx.locktime,
            size: tx.size,
            vsize: tx.vsize,
            flags: tx.flags,
            fee,
            first_new_addr,
            inputs,
            outputs,
        };
        self.put(CF_TXS, &id.to_be_bytes(), &rec.encode());
        self.put(CF_TX_INDEX, &hash_key(b.chain, &tx.hash), &id.to_be_bytes());
        let mut touched: Vec<_> = touched.into_iter().collect();
        touched.sort_unstable_by_key(|(k, _)| *k);
        for ((addr, asset), (received, sent)) in touched {
            let e = HistoryEntry {
                tx: id,
                asset,
                height: b.height,
                received,
                sent,
            };
            self.put(CF_HISTORY, &history_key(addr, id, asset), &e.encode_value());
        }
        Ok(())
    }

    fn put_checkpoint(&mut self) {
        let mut c = Writer::default();
        c.uvar(self.counters.next_tx.into())
            .uvar(self.counters.next_addr.into());
        self.put(CF_META, META_COUNTERS, &c.finish());
        self.mark_utxos_synced(self.utxo_synced_to);
        let mut dirty: Vec<Chain> = self.dirty_tips.drain().collect();
        dirty.sort();
        for chain in dirty {
            let key = meta_tip_key(chain);
            match self.tips.get(&chain).copied() {
                Some(t) => {
                    let mut w = Writer::default();
                    w.uvar(t.height.into()).fixed(&t.hash);
                    self.put(CF_META, &key, &w.finish());
                }
                None => self.delete(CF_META, &key),
            }
        }
    }

    /// Writes the pending blocks, the tip and the id counters in one atomic
    /// batch. The write runs in the background while the next blocks are
    /// added (batches still land one at a time, in order); [`LedgerWriter::finish`]
    /// or the next commit waits for it.
    pub fn commit(&mut self) -> Result<()> {
        self.commit_with(false)
    }

    /// [`LedgerWriter::commit`]; `write_utxos` writes the unspent-output set
    /// with it even in bulk load. A set grown past its share is written,
    /// and emptied once it has landed.
    fn commit_with(&mut self, write_utxos: bool) -> Result<()> {
        self.utxo_commits += 1;
        let full = self.utxos.is_full();
        if write_utxos || full || !self.bulk || self.utxo_commits >= UTXO_WRITE_EVERY {
            self.write_utxos();
        }
        self.put_checkpoint();
        self.start_write()?;
        self.pending_blocks = 0;
        if full {
            self.wait_in_flight()?;
            self.utxos.evict();
        }
        Ok(())
    }

    /// Hands the staged writes, with the overlays that answer look-ups until
    /// they land, to a background thread that writes them, and the tip and
    /// counters last, in one `WriteBatch` through the write-ahead log: once
    /// that is written the batch survives a crash. In bulk load the records
    /// and indexes of a large batch go first, as sorted files
    /// ([`LedgerWriter::set_file_batch_bytes`]). Waits first for the batch before, so
    /// batches land one at a time, in order.
    fn start_write(&mut self) -> Result<()> {
        self.wait_in_flight()?;
        let fresh = self.spare.take().unwrap_or_else(Staged::per_column_family);
        let mut staged = std::mem::replace(&mut self.staged, fresh);
        let as_files = self.bulk && self.staged_bytes >= self.file_batch_bytes;
        self.staged_bytes = 0;
        let db = std::sync::Arc::clone(&self.store.db);
        let files = as_files.then(|| self.store.files.clone()).flatten();
        let mut wo = rocksdb::WriteOptions::default();
        wo.set_sync(self.sync);
        let handle = std::thread::Builder::new()
            .name("ledger-commit".into())
            .spawn(move || {
                if let Some(files) = files {
                    files.ingest_batch(&db, &mut staged)?;
                }
                let mut batch = WriteBatch::default();
                for (st, name) in staged.iter_mut().zip(COLUMN_FAMILIES) {
                    let cf = db
                        .cf_handle(name)
                        .ok_or_else(|| format!("column family {name} missing"))?;
                    st.write_sorted(&mut batch, cf);
                }
                db.write_opt(batch, &wo).map_err(|e| e.to_string())?;
                Ok(staged)
            })
            .map_err(|e| db_err(&self.store.path, e))?;
        self.in_flight = Some(InFlight {
            handle,
            addrs: std::mem::take(&mut self.new_addrs),
            spent: std::mem::take(&mut self.utxo_deletes),
            tips: self.tips.clone(),
        });
        Ok(())
    }

    /// Commits what is pending and waits until every batch is in the DB.
    pub fn finish(&mut self) -> Result<()> {
        if self.pending_blocks > 0 || self.utxo_commits > 0 {
            self.commit_with(true)?;
        }
        self.wait_in_flight()
    }

    /// Drops everything added since the last commit; the ledger is unchanged.
    pub fn discard(&mut self) -> Result<()> {
        // Batches already handed off are complete blocks: let them land.
        self.wait_in_flight()?;
        let (sync, bulk, compacted) = (self.sync, self.bulk, self.addr_index_compacted);
        let file_batch_bytes = self.file_batch_bytes;
        *self = LedgerWriter::new(self.store)?;
        self.sync = sync;
        self.bulk = bulk;
        self.addr_index_compacted = compacted;
        self.file_batch_bytes = file_batch_bytes;
        Ok(())
    }

    /// Removes `chain`'s blocks above `height` (a reorg), in one atomic batch.
    /// Returns how many blocks were removed.
    pub fn rollback_to(&mut self, chain: Chain, height: u64) -> Result<u64> {
        self.finish()?;
        let Some(tip) = self.tips.get(&chain).copied() else {
            return Ok(0);
        };
        let mut removed = 0;
        let mut h = tip.height;
        let mut new_tip = tip;
        while h > height {
            let block = self.store.block(chain, h)?.ok_or_else(|| Error::Db {
                path: self.store.path.clone(),
                reason: format!("{} block {h} missing below the tip", chain.name()),
            })?;
            self.remove_block(&block)?;
            new_tip = Tip {
                height: h - 1,
                hash: block.prev_hash,
            };
            removed += 1;
            h -= 1;
        }
        self.tips.insert(chain, new_tip);
        self.dirty_tips.insert(chain);
        self.utxo_synced_to = self.counters.next_tx;
        self.put_checkpoint();
        self.start_write()?;
        self.wait_in_flight()?;
        self.contracts_marked.clear();
        self.load_caches()?;
        Ok(removed)
    }

    fn remove_block(&mut self, block: &BlockRecord) -> Result<()> {
        let first = block.first_tx;
        let end = first + u64::from(block.tx_count);
        for id in (first..end).rev() {
            let tx = self.store.tx(id)?.ok_or_else(|| Error::Db {
                path: self.store.path.clone(),
                reason: format!("tx {id} of block {} missing", block.height),
            })?;
            self.remove_tx(id, &tx, true)?;
        }
        let addr_end = block.first_new_addr + block.new_addr_count;
        for a in block.first_new_addr..addr_end {
            let key = self.store.address(a)?;
            self.remove_address(a, key.as_ref());
        }
        // Ids are reused only when nothing was allocated after this block.
        if self.counters.next_tx == end {
            self.counters.next_tx = first;
        }
        if self.counters.next_addr == addr_end {
            self.counters.next_addr = block.first_new_addr;
        }
        self.remove_block_record(block);
        Ok(())
    }

    /// Stages the removal of block record `block` and its hash's index entry.
    fn remove_block_record(&mut self, block: &BlockRecord) {
        self.delete(CF_BLOCKS, &block_key(block.chain, block.height));
        self.delete(CF_BLOCK_INDEX, &hash_key(block.chain, &block.hash));
    }

    /// Stages the removal of address `a` (with `key`, if its record is
    /// there), its index entry and what the ledger noted about it.
    fn remove_address(&mut self, a: AddrId, key: Option<&AddressKey>) {
        if let Some(key) = key {
            self.delete(CF_ADDR_INDEX, &key.index_key());
        }
        self.delete(CF_ADDRS, &a.to_be_bytes());
        self.delete(CF_META, &meta_token_key(a));
        self.delete(CF_META, &meta_contract_key(a));
    }

    /// Stages the removal of transaction `id`, the spends and history lines
    /// it wrote and its txid's index entry; with `unspent`, also its outputs
    /// from the unspent set and the outputs it spent back into it.
    fn remove_tx(&mut self, id: TxId, tx: &TxRecord, unspent: bool) -> Result<()> {
        let unspent = unspent && tx.chain == Chain::Bitcoin;
        let mut addrs: Vec<(AddrId, u32)> = Vec::new();
        for (vout, o) in tx.outputs.iter().enumerate() {
            addrs.extend(o.addr.map(|a| (a, o.asset)));
            addrs.extend(o.from.map(|a| (a, o.asset)));
            if unspent {
                self.delete(CF_UTXO, &utxo_key(&tx.hash, vout as u32));
            }
        }
        for input in &tx.inputs {
            addrs.extend(input.addr.map(|a| (a, 0)));
            let Some(prev) = input.prev else { continue };
            self.delete(CF_SPENDS, &prev.key());
            if !unspent {
                continue;
            }
            let prev_tx = self.store.tx(prev.tx)?.ok_or_else(|| Error::Db {
                path: self.store.path.clone(),
                reason: format!("tx {} spent by tx {id} missing", prev.tx),
            })?;
            let u = Unspent {
                addr: input.addr,
                value: input.value,
            };
            self.put(
                CF_UTXO,
                &utxo_key(&prev_tx.hash, prev.vout),
                &encode_utxo(prev.tx, &u),
            );
        }
        addrs.sort_unstable();
        addrs.dedup();
        for &(a, asset) in &addrs {
            self.delete(CF_HISTORY, &history_key(a, id, asset));
            // A contract mark this transaction proved goes with it.
            if self.store.contract_mark(a)? == Some(id) {
                self.delete(CF_META, &meta_contract_key(a));
            }
        }
        self.delete(CF_TXS, &id.to_be_bytes());
        // Only drop the index entry if it still points here (BIP30 duplicates).
        if self.store.tx_id(tx.chain, &tx.hash)? == Some(id) {
            self.delete(CF_TX_INDEX, &hash_key(tx.chain, &tx.hash));
        }
        Ok(())
    }
}

impl Drop for LedgerWriter<'_> {
    /// A batch handed to the background is a whole batch: let it land.
    fn drop(&mut self) {
        let _ = self.wait_in_flight();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{AddressKind, NewOutput, TokenInfo};
    use crate::store::StoreOptions;

    fn account(b: u8) -> AddressKey {
        AddressKey {
            chain: Chain::Ethereum,
            kind: AddressKind::Account,
            payload: vec![b; 20],
            detail: Vec::new(),
        }
    }

    /// Adds blocks `from..=to` of the real fixture with `w`, committing
    /// every 50 blocks when `commit`.
    fn add_fixture_blocks(w: &mut LedgerWriter<'_>, from: usize, to: usize, commit: bool) {
        use crate::bitcoin::blkfile::BlockFiles;
        let blk = crate::fixture("bitcoin/blk-heights-0-4312.dat");
        let net = bitcoin::Network::Bitcoin;
        let files = BlockFiles::open(&blk).unwrap();
        let chain = BlockFiles::best_chain(files.scan(net).unwrap().blocks, net);
        for h in from..=to {
            w.add_block(&files.read_new_block(&chain.blocks[h], h as u64).unwrap())
                .unwrap();
            if commit && h % 50 == 49 {
                w.commit().unwrap();
            }
        }
    }

    /// A bulk load that stops after taking in a batch's sorted files but
    /// before moving the tip leaves records and index entries past the tip
    /// on disk: readers do not see them, the next writer removes them, and
    /// the resumed ledger equals one loaded without a stop. (The batch
    /// holds block 170, whose payment spends block 9's coinbase and pays a
    /// new address: a spend, history lines of an older address and new
    /// records of every kind.)
    #[test]
    fn a_batch_stopped_between_its_files_and_its_tip_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let open = |name: &str| Store::open(&dir.path().join(name), StoreOptions::default());
        // The reference goes through memtables, the stopped ledger through
        // sorted files: both write the same ledger.
        let reference = open("reference").unwrap();
        let mut w = reference.writer().unwrap();
        w.set_bulk_load(true).unwrap();
        add_fixture_blocks(&mut w, 0, 600, true);
        w.set_bulk_load(false).unwrap();
        drop(w);
        let tx170 = crate::query::parse_txid(
            "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16",
        )
        .unwrap();
        let id170 = reference.tx_id(Chain::Bitcoin, &tx170).unwrap().unwrap();
        let rec170 = reference.tx(id170).unwrap().unwrap();
        let (coinbase9, satoshi) = (
            rec170.inputs[0].prev.unwrap(),
            rec170.inputs[0].addr.unwrap(),
        );
        let hal = rec170.outputs[0].addr.unwrap();

        let stopped_dir = dir.path().join("stopped");
        {
            let stopped = open("stopped").unwrap();
            let mut w = stopped.writer().unwrap();
            w.set_bulk_load(true).unwrap();
            w.set_file_batch_bytes(0);
            add_fixture_blocks(&mut w, 0, 150, true);
            w.commit().unwrap();
            add_fixture_blocks(&mut w, 151, 600, false);
            w.wait_in_flight().unwrap();
            let files = stopped.files.clone().unwrap();
            files.ingest_batch(&stopped.db, &mut w.staged).unwrap();
            // Stop here: the tip, counters and unspent outputs of the batch
            // are never written.
        }
        let raw = Store::open(&stopped_dir, StoreOptions::default()).unwrap();
        assert_eq!(raw.tx_id(Chain::Bitcoin, &tx170).unwrap(), Some(id170));
        let reader = Store::open_read_only(&stopped_dir, StoreOptions::default()).unwrap();
        assert_eq!(reader.tip(Chain::Bitcoin).unwrap().unwrap().height, 150);
        assert_eq!(reader.tx_id(Chain::Bitcoin, &tx170).unwrap(), None);
        assert_eq!(reader.tx(id170).unwrap(), None);
        let batched = reader.txs(&[0, id170]).unwrap();
        assert!(batched[0].is_some() && batched[1].is_none());
        assert_eq!(reader.addresses(&[hal]).unwrap(), [None]);
        assert_eq!(reader.spent_by(coinbase9).unwrap(), None);
        assert_eq!(reader.spends_of(&[(coinbase9.tx, 1)]).unwrap(), [[None]]);
        assert!(reader
            .history(satoshi)
            .unwrap()
            .iter()
            .all(|e| e.tx < id170));
        assert_eq!(reader.address(hal).unwrap(), None);
        assert_eq!(reader.block(Chain::Bitcoin, 170).unwrap(), None);
        let next_tx = reader.counters().unwrap().next_tx;
        let mut seen = 0;
        reader.for_each_tx(|_, _| seen += 1).unwrap();
        assert_eq!(seen, next_tx);
        drop(reader);

        drop(raw.writer().unwrap()); // removes what is past the tip
        assert_eq!(raw.tx_id(Chain::Bitcoin, &tx170).unwrap(), None);
        assert_eq!(raw.spent_by(coinbase9).unwrap(), None);
        assert_eq!(raw.address(hal).unwrap(), None);
        assert_eq!(raw.block(Chain::Bitcoin, 151).unwrap(), None);
        let mut w = raw.writer().unwrap();
        w.set_bulk_load(true).unwrap();
        w.set_file_batch_bytes(0);
        add_fixture_blocks(&mut w, 151, 600, true);
        w.set_bulk_load(false).unwrap();
        drop(w);
        assert_eq!(raw.fingerprint().unwrap(), reference.fingerprint().unwrap());
    }

    /// A bulk load that stops between two writes of the unspent-output set
    /// (as a crash after a memtable flush does) leaves the `utxo` column
    /// family behind the tip; the next writer replays the ledger onto it and
    /// the finished ledger equals one loaded without a stop.
    #[test]
    fn unspent_outputs_behind_the_tip_are_replayed() {
        use crate::bitcoin::blkfile::BlockFiles;
        use crate::ingest::{ingest_blk_files, IngestOptions, Quiet};
        let blk = crate::fixture("bitcoin/blk-heights-0-4312.dat");
        let net = bitcoin::Network::Bitcoin;
        let opts = IngestOptions::default();
        let dir = tempfile::tempdir().unwrap();
        let open = |name: &str| Store::open(&dir.path().join(name), StoreOptions::default());
        let reference = open("reference").unwrap();
        ingest_blk_files(&reference, &blk, net, &opts, &Quiet).unwrap();

        let stopped = open("stopped").unwrap();
        stopped.bind_network(Chain::Bitcoin, "main").unwrap();
        let files = BlockFiles::open(&blk).unwrap();
        let chain = BlockFiles::best_chain(files.scan(net).unwrap().blocks, net);
        let mut w = stopped.writer().unwrap();
        w.set_bulk_load(true).unwrap();
        for (height, loc) in chain.blocks.iter().take(2001).enumerate() {
            w.add_block(&files.read_new_block(loc, height as u64).unwrap())
                .unwrap();
            if height % 7 == 6 {
                w.commit().unwrap();
            }
        }
        w.commit().unwrap();
        drop(w); // no finish: the last commits' unspent outputs stay in memory
        let synced = stopped.utxo_synced_to().unwrap().unwrap();
        let next_tx = stopped.counters().unwrap().next_tx;
        assert!(synced < next_tx, "the set lags: {synced} < {next_tx}");
        assert_eq!(stopped.tip(Chain::Bitcoin).unwrap().unwrap().height, 2000);

        let s = ingest_blk_files(&stopped, &blk, net, &opts, &Quiet).unwrap();
        assert_eq!(s.blocks, 2312);
        assert_eq!(
            stopped.utxo_synced_to().unwrap(),
            Some(stopped.counters().unwrap().next_tx)
        );
        assert_eq!(
            stopped.fingerprint().unwrap(),
            reference.fingerprint().unwrap()
        );
    }

    /// Ending a bulk load compacts: each column family of the ledger on
    /// disk is one sorted run, however many batches of sorted files the
    /// load wrote (here 432 of 10 blocks, placed by RocksDB at every level),
    /// as soon as ingest returns.
    #[test]
    fn a_bulk_load_ends_compacted() {
        use crate::ingest::{ingest_blk_files, IngestOptions, Quiet};
        let blk = crate::fixture("bitcoin/blk-heights-0-4312.dat");
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
        let opts = IngestOptions {
            batch_blocks: 10,
            file_batch_bytes: 0,
            ..IngestOptions::default()
        };
        let s = ingest_blk_files(&store, &blk, bitcoin::Network::Bitcoin, &opts, &Quiet).unwrap();
        assert_eq!((s.blocks, s.txs), (4313, 4371));
        for cf in COLUMN_FAMILIES {
            let (runs, pending) = store.sorted_runs(cf);
            assert_eq!(runs, 1, "{cf}: sorted runs after the bulk load");
            assert!(
                !(super::super::BULK_LOADED.contains(&cf) && pending),
                "{cf}: compaction pending after the bulk load"
            );
        }
    }

    #[test]
    fn huge_token_amounts_sum_without_wrapping() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db"), StoreOptions::default()).unwrap();
        let spam = |to: u8| NewOutput {
            addr: Some(account(to)),
            kind: AddressKind::Account,
            value: Amount::MAX,
            token: Some(account(9)),
            from: Some(account(1)),
        };
        let block = NewBlock {
            chain: Chain::Ethereum,
            height: 5,
            hash: [5; 32],
            prev_hash: [4; 32],
            time: 1,
            size: 0,
            txs: vec![NewTx {
                hash: [7; 32],
                version: 2,
                locktime: 0,
                size: 0,
                vsize: 0,
                flags: 0,
                inputs: vec![NewInput::Fee {
                    payer: account(1),
                    value: 21,
                }],
                outputs: vec![spam(2), spam(2)],
            }],
            tokens: vec![(account(9), TokenInfo::default())],
            contracts: vec![(account(9), 0)],
        };
        let mut w = store.writer().unwrap();
        w.add_block(&block).unwrap();
        w.finish().unwrap();
        let to = store.addr_id(&account(2)).unwrap().unwrap();
        let token = store.addr_id(&account(9)).unwrap().unwrap();
        let h = store.history(to).unwrap();
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].asset, crate::ledger::asset_of_token(token));
        assert_eq!(h[0].received, Amount::MAX, "saturated, not wrapped");
        let from = store.addr_id(&account(1)).unwrap().unwrap();
        let sent: Vec<(u32, Amount)> = store
            .history(from)
            .unwrap()
            .iter()
            .map(|e| (e.asset, e.sent))
            .collect();
        assert_eq!(sent, vec![(0, 21), (h[0].asset, Amount::MAX)]);
        assert_eq!(store.contract_mark(token).unwrap(), Some(0));
    }
}
