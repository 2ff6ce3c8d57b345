//! Ingest pipelines: Bitcoin Core block files and Bitcoin Core JSON-RPC into
//! the ledger, committing atomically per batch of blocks and resuming from
//! the last commit.

use std::path::Path;
use std::sync::mpsc::sync_channel;
use std::time::{Duration, Instant};

use bitcoin::hashes::Hash;
use bitcoin::Network;
use rayon::prelude::*;
use serde::Serialize;

use crate::bitcoin::blkfile::{BlockFiles, MainChain};
use crate::bitcoin::convert::to_new_block;
use crate::bitcoin::network::network_name;
use crate::bitcoin::rpc::RpcClient;
use crate::error::{Error, Result};
use crate::ledger::{Chain, Hash32, NewBlock};
use crate::store::{LedgerWriter, Store, Tip};

/// When to commit.
#[derive(Debug, Clone, Copy)]
pub struct IngestOptions {
    /// Commit after this many blocks…
    pub batch_blocks: usize,
    /// …or once the pending write batch exceeds this many bytes.
    pub batch_bytes: usize,
    /// fsync each commit (survives power loss, not only a crash).
    pub sync: bool,
    /// A block-file batch of at least this many bytes is written as sorted
    /// files ([`crate::store::LedgerWriter::set_file_batch_bytes`]).
    pub file_batch_bytes: usize,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            batch_blocks: 1000,
            batch_bytes: 16 << 20,
            sync: false,
            file_batch_bytes: crate::store::FILE_BATCH_BYTES,
        }
    }
}

/// Receives progress while ingest runs (the CLI draws a bar from it).
pub trait Progress: Sync {
    /// Ingest will cover heights `from..=to`, about `bytes` bytes.
    fn begin(&self, _from: u64, _to: u64, _bytes: u64) {}
    /// A block was added (not yet committed).
    fn block(&self, _height: u64, _bytes: u64) {}
    /// Blocks up to `height` are committed.
    fn committed(&self, _height: u64) {}
    /// Something worth telling the user (a reorg, stale blocks).
    fn note(&self, _msg: &str) {}
}

/// A progress sink that ignores everything.
pub struct Quiet;
impl Progress for Quiet {}

/// What an ingest run did.
#[derive(Debug, Default, Serialize)]
pub struct IngestSummary {
    /// Blocks added.
    pub blocks: u64,
    /// Transactions added.
    pub txs: u64,
    /// Outputs / transfers added.
    pub transfers: u64,
    /// ERC-20 transfers left out: a value over 2^128 − 1, or a `Transfer`
    /// log whose shape is not ERC-20's.
    #[serde(skip_serializing_if = "is_zero")]
    pub token_transfers_left_out: u64,
    /// Serialized block bytes added.
    pub bytes: u64,
    /// Blocks rolled back because the source's chain forked from the ledger's.
    pub rolled_back: u64,
    /// Stale blocks in the files (left out).
    pub stale_blocks: usize,
    /// Blocks in the files whose parent is missing (left out).
    pub unconnected_blocks: usize,
    /// The record the last blk file ends inside (a running or crashed node's
    /// unfinished write), left out: where it starts and what is missing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incomplete_tail: Option<String>,
    /// Ledger tip after the run.
    pub tip_height: Option<u64>,
    /// Tip hash (display order).
    pub tip_hash: Option<String>,
    /// Wall time in seconds.
    pub seconds: f64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Display order (reversed) hex of an internal-order Bitcoin hash.
pub fn hash_hex(h: &Hash32) -> String {
    Chain::Bitcoin.hash_hex(h)
}

fn check_network(store: &Store, network: Network) -> Result<()> {
    match store.network(Chain::Bitcoin)? {
        Some(stored) if stored != network_name(network) => Err(Error::NetworkMismatch {
            path: store.path().to_path_buf(),
            stored: format!("bitcoin {stored}"),
            requested: format!("bitcoin {}", network_name(network)),
        }),
        _ => Ok(()),
    }
}

/// Adds `block`, committing when the batch is full.
pub(crate) fn add_and_maybe_commit(
    w: &mut LedgerWriter<'_>,
    block: &NewBlock,
    opts: &IngestOptions,
    summary: &mut IngestSummary,
    progress: &dyn Progress,
) -> Result<()> {
    if let Err(e) = w.add_block(block) {
        w.discard()?;
        return Err(e);
    }
    summary.blocks += 1;
    summary.txs += block.txs.len() as u64;
    summary.transfers += block
        .txs
        .iter()
        .map(|t| t.outputs.len() as u64)
        .sum::<u64>();
    summary.bytes += u64::from(block.size);
    progress.block(block.height, u64::from(block.size));
    if w.pending_blocks() >= opts.batch_blocks || w.pending_bytes() >= opts.batch_bytes {
        let before = w.durable_tip(block.chain);
        w.commit()?;
        match w.durable_tip(block.chain) {
            Some(t) if Some(t) != before => progress.committed(t.height),
            _ => {}
        }
    }
    Ok(())
}

pub(crate) fn finish(
    w: &mut LedgerWriter<'_>,
    chain: Chain,
    summary: &mut IngestSummary,
    started: Instant,
) -> Result<()> {
    w.finish()?;
    w.store().flush()?;
    let tip = w.tip(chain);
    summary.tip_height = tip.map(|t| t.height);
    summary.tip_hash = tip.map(|t| chain.hash_hex(&t.hash));
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(())
}

/// Highest height ≤ `from` where `chain`'s blocks in the ledger and
/// `source_hash` agree.
pub(crate) fn fork_point(
    store: &Store,
    chain: Chain,
    from: u64,
    mut source_hash: impl FnMut(u64) -> Result<Option<Hash32>>,
) -> Result<Option<u64>> {
    let mut h = from;
    loop {
        let stored = store.block(chain, h)?.map(|b| b.hash);
        if stored.is_some() && stored == source_hash(h)? {
            return Ok(Some(h));
        }
        if h == 0 {
            return Ok(None);
        }
        h -= 1;
    }
}

/// Ingests the best chain found in a blocks directory (or one blk file).
/// Every record is checked (network magic, framing, proof of work) before
/// anything is written; blocks are then committed in atomic batches.
pub fn ingest_blk_files(
    store: &Store,
    path: &Path,
    network: Network,
    opts: &IngestOptions,
    progress: &dyn Progress,
) -> Result<IngestSummary> {
    let started = Instant::now();
    check_network(store, network)?;
    let files = BlockFiles::open(path)?;
    let scan = files.scan(network)?;
    let incomplete_tail = scan.incomplete_tail.map(|e| e.to_string());
    if let Some(tail) = &incomplete_tail {
        progress.note(&format!(
            "left out an incomplete record at the end of the last blk file ({tail}); every complete block before it is kept"
        ));
    }
    let chain = BlockFiles::best_chain(scan.blocks, network);
    let mut summary = IngestSummary {
        stale_blocks: chain.stale,
        unconnected_blocks: chain.unconnected,
        incomplete_tail,
        ..Default::default()
    };
    if chain.stale > 0 || chain.unconnected > 0 {
        progress.note(&format!(
            "left out {} stale block(s) and {} block(s) not connected to genesis",
            chain.stale, chain.unconnected
        ));
    }
    let Some(files_tip) = chain.tip_height() else {
        return Err(Error::Usage(format!(
            "{}: no block connects to the {} genesis block",
            path.display(),
            network_name(network)
        )));
    };
    store.bind_network(Chain::Bitcoin, network_name(network))?;
    let mut w = store.writer()?;
    w.set_sync(opts.sync);
    w.set_file_batch_bytes(opts.file_batch_bytes);
    let start = match w.tip(Chain::Bitcoin) {
        None => 0,
        Some(tip) => {
            let top = tip.height.min(files_tip);
            let fork = fork_point(store, Chain::Bitcoin, top, |h| {
                Ok(chain.hash_at(h).map(|b| b.to_byte_array()))
            })?;
            match fork {
                Some(f) if f == tip.height => f + 1,
                Some(f) if files_tip > tip.height => {
                    summary.rolled_back = w.rollback_to(Chain::Bitcoin, f)?;
                    progress.note(&format!(
                        "reorg: rolled back {} block(s) above height {f}",
                        summary.rolled_back
                    ));
                    f + 1
                }
                Some(_) => files_tip + 1, // the files are behind the ledger: nothing new
                None => {
                    return Err(Error::Usage(format!(
                    "{}: these blocks do not share the ledger's chain (ledger tip {} at height {})",
                    path.display(),
                    hash_hex(&tip.hash),
                    tip.height
                )))
                }
            }
        }
    };
    if start > files_tip {
        finish(&mut w, Chain::Bitcoin, &mut summary, started)?;
        return Ok(summary);
    }
    let bytes: u64 = chain
        .blocks_from(start)
        .iter()
        .map(|l| u64::from(l.size))
        .sum();
    progress.begin(start, files_tip, bytes);
    if start == 0 {
        if let Some(g) = &chain.virtual_genesis {
            add_and_maybe_commit(&mut w, &to_new_block(g, 0), opts, &mut summary, progress)?;
        }
    }
    w.set_bulk_load(true)?;
    let result = ingest_chain(&files, &chain, start, &mut w, opts, &mut summary, progress);
    // Everything is flushed, and the bulk-loaded column families compacted.
    let resumed = w.set_bulk_load(false);
    result?;
    resumed?;
    // The last batch lands as the bulk load ends.
    if let Some(t) = w.durable_tip(Chain::Bitcoin) {
        progress.committed(t.height);
    }
    finish(&mut w, Chain::Bitcoin, &mut summary, started)?;
    Ok(summary)
}

/// Writes the blocks of `chain` from height `start` on: decoded in parallel
/// (a bounded channel keeps a few chunks in memory), added in order. On a
/// block that fails to read, every complete block before it is committed.
fn ingest_chain(
    files: &BlockFiles,
    chain: &MainChain,
    start: u64,
    w: &mut LedgerWriter<'_>,
    opts: &IngestOptions,
    summary: &mut IngestSummary,
    progress: &dyn Progress,
) -> Result<()> {
    const CHUNK: usize = 64;
    let from_height = start.max(chain.first_block_height());
    let todo = chain.blocks_from(from_height);
    let (tx, rx) = sync_channel::<Vec<Result<NewBlock>>>(2);
    std::thread::scope(|s| -> Result<()> {
        s.spawn(move || {
            for (c, chunk) in todo.chunks(CHUNK).enumerate() {
                let base = from_height + (c * CHUNK) as u64;
                let decoded: Vec<Result<NewBlock>> = chunk
                    .par_iter()
                    .enumerate()
                    .map(|(i, loc)| files.read_new_block(loc, base + i as u64))
                    .collect();
                let failed = decoded.iter().any(|r| r.is_err());
                if tx.send(decoded).is_err() || failed {
                    return;
                }
            }
        });
        for chunk in rx {
            for block in chunk {
                match block {
                    Ok(b) => add_and_maybe_commit(w, &b, opts, summary, progress)?,
                    Err(e) => {
                        w.finish()?;
                        return Err(e);
                    }
                }
            }
        }
        Ok(())
    })
}

/// Re-reads of the node's chain after a block that does not link to the
/// ledger's tip. A reorg while fetching resolves after one (the fork point
/// moves); a node whose answers disagree (`getblockhash` and `getblock`, or a
/// parent hash that is not its previous block's) never does, so the ingest
/// stops after [`Relinks::MAX`] in a row, naming the block and both hashes.
pub(crate) struct Relinks {
    tries: u32,
}

impl Relinks {
    /// Consecutive re-reads before giving up.
    pub const MAX: u32 = 5;

    pub fn new() -> Relinks {
        Relinks { tries: 0 }
    }

    /// A block was added: the next unlinked block starts a fresh count.
    pub fn linked(&mut self) {
        self.tries = 0;
    }

    /// `block` does not link to the ledger's `tip`: waits a little before the
    /// chain is read again, or fails once that has happened `MAX` times.
    pub fn unlinked(&mut self, url: &str, method: &str, block: &NewBlock, tip: Tip) -> Result<()> {
        self.tries += 1;
        if self.tries > Self::MAX {
            let c = block.chain;
            return Err(Error::Rpc {
                url: url.into(),
                method: method.into(),
                reason: format!(
                    "block {} ({}) does not link to the ledger's block {} ({}): its parent is {}; the node served it again after {} re-reads of its chain (its answers disagree)",
                    block.height,
                    c.hash_hex(&block.hash),
                    tip.height,
                    c.hash_hex(&tip.hash),
                    c.hash_hex(&block.prev_hash),
                    Self::MAX
                ),
            });
        }
        std::thread::sleep(Duration::from_millis(100 * u64::from(self.tries)));
        Ok(())
    }
}

/// How to keep following a node's tip.
#[derive(Debug, Clone, Copy)]
pub struct Follow {
    /// Time between polls once caught up.
    pub poll: Duration,
}

fn core_chain_name(network: Network) -> &'static str {
    match network {
        Network::Bitcoin => "main",
        Network::Testnet => "test",
        Network::Testnet4 => "testnet4",
        Network::Signet => "signet",
        Network::Regtest => "regtest",
    }
}

/// Ingests from a Bitcoin Core node over JSON-RPC up to its tip, rolling
/// back ledger blocks the node no longer has on its best chain (a reorg).
/// With `follow`, keeps polling for new blocks until the process is stopped.
pub fn ingest_rpc(
    store: &Store,
    client: &mut RpcClient,
    network: Network,
    opts: &IngestOptions,
    follow: Option<Follow>,
    progress: &dyn Progress,
) -> Result<IngestSummary> {
    let started = Instant::now();
    check_network(store, network)?;
    let node_chain = client.chain()?;
    if node_chain != core_chain_name(network) {
        return Err(Error::Rpc {
            url: client.url().into(),
            method: "getblockchaininfo".into(),
            reason: format!(
                "node is on chain '{node_chain}', not '{}' (choose the network with --network)",
                core_chain_name(network)
            ),
        });
    }
    store.bind_network(Chain::Bitcoin, network_name(network))?;
    let mut w = store.writer()?;
    w.set_sync(opts.sync);
    let mut summary = IngestSummary::default();
    loop {
        sync_rpc_once(store, client, &mut w, opts, &mut summary, progress)?;
        match follow {
            None => break,
            Some(f) => std::thread::sleep(f.poll),
        }
    }
    finish(&mut w, Chain::Bitcoin, &mut summary, started)?;
    Ok(summary)
}

fn sync_rpc_once(
    store: &Store,
    client: &mut RpcClient,
    w: &mut LedgerWriter<'_>,
    opts: &IngestOptions,
    summary: &mut IngestSummary,
    progress: &dyn Progress,
) -> Result<()> {
    let mut relinks = Relinks::new();
    'restart: loop {
        let node_height = client.block_count()?;
        let start = match w.tip(Chain::Bitcoin) {
            None => 0,
            Some(tip) => {
                w.finish()?;
                let top = tip.height.min(node_height);
                let fork = fork_point(store, Chain::Bitcoin, top, |h| {
                    client.block_hash(h).map(|b| Some(b.to_byte_array()))
                })?
                .ok_or_else(|| Error::Rpc {
                    url: client.url().into(),
                    method: "getblockhash".into(),
                    reason: "the node's chain shares no block with the ledger (another network?)"
                        .into(),
                })?;
                if fork < tip.height {
                    let n = w.rollback_to(Chain::Bitcoin, fork)?;
                    summary.rolled_back += n;
                    progress.note(&format!(
                        "reorg: rolled back {n} block(s) above height {fork}"
                    ));
                }
                fork + 1
            }
        };
        if start > node_height {
            return Ok(());
        }
        progress.begin(start, node_height, 0);
        for height in start..=node_height {
            let hash = client.block_hash(height)?;
            let nb = client.new_block(&hash, height)?;
            if let Some(tip) = w.tip(Chain::Bitcoin).filter(|t| t.hash != nb.prev_hash) {
                // The node reorganised while we were fetching: find the fork again.
                relinks.unlinked(client.url(), "getblock", &nb, tip)?;
                continue 'restart;
            }
            add_and_maybe_commit(w, &nb, opts, summary, progress)?;
            relinks.linked();
        }
        w.finish()?;
        if let Some(t) = w.durable_tip(Chain::Bitcoin) {
            progress.committed(t.height);
        }
        return Ok(());
    }
}
