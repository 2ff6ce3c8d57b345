//! Ethereum JSON-RPC into the ledger: blocks `from..=to` (or up to the node's
//! head minus confirmations), committed in atomic batches with the tip,
//! resuming after the last commit and rolling back blocks the node no longer
//! has (a reorg).

use std::time::Instant;

use alloy_primitives::Address;
use foldhash::HashSet;

use super::address::account_key;
use super::convert::to_new_block;
use super::rpc::EthClient;
use crate::error::{Error, Result};
use crate::ingest::{
    add_and_maybe_commit, finish, fork_point, Follow, IngestOptions, IngestSummary, Progress,
    Relinks,
};
use crate::ledger::{Chain, NewBlock};
use crate::store::{LedgerWriter, Store};

/// Which blocks to ingest.
#[derive(Debug, Clone, Copy, Default)]
pub struct EthRange {
    /// First block (default: genesis, or the block after the ledger's tip).
    pub from: Option<u64>,
    /// Last block (default: the node's head minus `confirmations`).
    pub to: Option<u64>,
    /// Blocks below the head a block must be to be ingested.
    pub confirmations: u64,
    /// The chain id the node must report (default: whatever the ledger holds).
    pub chain_id: Option<u64>,
}

/// The name the ledger records for an Ethereum chain id.
pub fn network_name(chain_id: u64) -> String {
    match chain_id {
        1 => "mainnet".into(),
        11_155_111 => "sepolia".into(),
        17_000 => "holesky".into(),
        560_048 => "hoodi".into(),
        id => format!("chain-{id}"),
    }
}

/// Ingests Ethereum blocks from `client` (see [`EthRange`]); with `follow`,
/// keeps polling for new blocks until the process is stopped.
pub fn ingest_ethereum(
    store: &Store,
    client: &EthClient,
    range: &EthRange,
    opts: &IngestOptions,
    follow: Option<Follow>,
    progress: &dyn Progress,
) -> Result<IngestSummary> {
    let started = Instant::now();
    let id = client.chain_id()?;
    if let Some(want) = range.chain_id.filter(|&w| w != id) {
        return Err(Error::Rpc {
            url: client.url().into(),
            method: "eth_chainId".into(),
            reason: format!("node is on chain id {id}, not {want}"),
        });
    }
    let network = network_name(id);
    if let Some(stored) = store.network(Chain::Ethereum)? {
        if stored != network {
            return Err(Error::NetworkMismatch {
                path: store.path().to_path_buf(),
                stored: format!("ethereum {stored}"),
                requested: format!("ethereum {network} (node {})", client.url()),
            });
        }
    }
    store.bind_network(Chain::Ethereum, &network)?;
    let mut w = store.writer()?;
    w.set_sync(opts.sync);
    let mut run = Run {
        store,
        client,
        range,
        opts,
        progress,
        tokens: HashSet::default(),
        summary: IngestSummary::default(),
    };
    loop {
        run.sync_once(&mut w)?;
        match follow {
            None => break,
            Some(f) => std::thread::sleep(f.poll),
        }
    }
    let mut summary = run.summary;
    finish(&mut w, Chain::Ethereum, &mut summary, started)?;
    Ok(summary)
}

struct Run<'a> {
    store: &'a Store,
    client: &'a EthClient,
    range: &'a EthRange,
    opts: &'a IngestOptions,
    progress: &'a dyn Progress,
    /// Token contracts whose metadata is in the ledger or pending.
    tokens: HashSet<Address>,
    summary: IngestSummary,
}

impl Run<'_> {
    fn rpc_err(&self, method: String, reason: impl Into<String>) -> Error {
        Error::Rpc {
            url: self.client.url().into(),
            method,
            reason: reason.into(),
        }
    }

    /// The first height to fetch: after the tip (rolling back a fork first).
    fn start(&mut self, w: &mut LedgerWriter<'_>) -> Result<u64> {
        let Some(tip) = w.tip(Chain::Ethereum) else {
            return Ok(self.range.from.unwrap_or(0));
        };
        if let Some(from) = self.range.from.filter(|&f| f > tip.height + 1) {
            return Err(Error::Usage(format!(
                "--from {from} would leave a gap: the ledger's ethereum tip is block {}; ingest from {} on",
                tip.height,
                tip.height + 1
            )));
        }
        w.finish()?;
        let client = self.client;
        let fork = fork_point(self.store, Chain::Ethereum, tip.height, |h| {
            Ok(client.block_link(h)?.map(|l| l.hash.0))
        })?;
        let lowest = self
            .store
            .lowest_block(Chain::Ethereum)?
            .unwrap_or(tip.height);
        match fork {
            Some(f) if f == tip.height => Ok(f + 1),
            Some(f) if f >= lowest => {
                let n = w.rollback_to(Chain::Ethereum, f)?;
                self.summary.rolled_back += n;
                self.tokens.clear();
                self.progress
                    .note(&format!("reorg: rolled back {n} block(s) above block {f}"));
                Ok(f + 1)
            }
            _ => Err(self.rpc_err(
                "eth_getBlockByNumber".into(),
                format!(
                    "the node's chain shares no block with the ledger's ethereum blocks {lowest}..={} (another chain, or a reorg deeper than the ledger)",
                    tip.height
                ),
            )),
        }
    }

    fn sync_once(&mut self, w: &mut LedgerWriter<'_>) -> Result<()> {
        let mut relinks = Relinks::new();
        'restart: loop {
            let head = self.client.head()?;
            let Some(mut last) = head.checked_sub(self.range.confirmations) else {
                return Ok(());
            };
            if let Some(to) = self.range.to {
                last = last.min(to);
            }
            let start = self.start(w)?;
            if start > last {
                return Ok(());
            }
            self.progress.begin(start, last, 0);
            let window = (self.client.concurrency() * 4) as u64;
            let mut h = start;
            while h <= last {
                let end = (h + window).min(last + 1);
                let fetched = match self.client.fetch_blocks(h..end) {
                    Ok(f) => f,
                    Err(e) => {
                        w.finish()?;
                        return Err(e);
                    }
                };
                for (i, f) in fetched.into_iter().enumerate() {
                    let n = h + i as u64;
                    let f = match f {
                        Ok(f) => f,
                        Err(e) => {
                            w.finish()?;
                            return Err(e);
                        }
                    };
                    let converted = to_new_block(&f, n);
                    let (mut block, skipped) = match converted {
                        Ok(b) => b,
                        Err(reason) => {
                            w.finish()?;
                            return Err(self.rpc_err(format!("block {n}"), reason));
                        }
                    };
                    if let Some(tip) = w.tip(Chain::Ethereum).filter(|t| t.hash != block.prev_hash)
                    {
                        // The node reorganised while we were fetching.
                        if let Err(e) =
                            relinks.unlinked(self.client.url(), "eth_getBlockByNumber", &block, tip)
                        {
                            w.finish()?;
                            return Err(e);
                        }
                        continue 'restart;
                    }
                    self.summary.token_transfers_left_out += skipped.token_transfers;
                    self.add_token_metadata(&mut block)?;
                    add_and_maybe_commit(w, &block, self.opts, &mut self.summary, self.progress)?;
                    relinks.linked();
                }
                h = end;
            }
            w.finish()?;
            if let Some(t) = w.durable_tip(Chain::Ethereum) {
                self.progress.committed(t.height);
            }
            return Ok(());
        }
    }

    /// Reads `symbol`/`name`/`decimals` of token contracts the ledger has
    /// not seen before, once each.
    fn add_token_metadata(&mut self, block: &mut NewBlock) -> Result<()> {
        let mut new: Vec<Address> = Vec::new();
        for o in block.txs.iter().flat_map(|t| &t.outputs) {
            let Some(key) = &o.token else { continue };
            let a = Address::from_slice(&key.payload);
            if self.tokens.contains(&a) || new.contains(&a) {
                continue;
            }
            let known = match self.store.addr_id(key)? {
                Some(id) => self.store.token(id)?.is_some(),
                None => false,
            };
            if known {
                self.tokens.insert(a);
            } else {
                new.push(a);
            }
        }
        let infos = self.client.token_infos(&new, block.height)?;
        for (a, info) in new.into_iter().zip(infos) {
            self.tokens.insert(a);
            block.tokens.push((account_key(&a), info));
        }
        Ok(())
    }
}
