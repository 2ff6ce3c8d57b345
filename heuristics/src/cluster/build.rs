//! `cluster build`: runs the engine over the ledger — incrementally from the
//! last checkpoint when that is sound, else from scratch — and saves it.

use std::collections::BTreeMap;

use chain_adapters::ingest::hash_hex;
use chain_adapters::ledger::{Chain, TxId};
use chain_adapters::query::LedgerView;
use chain_adapters::store::Store;
use serde::Serialize;

use super::engine::{Engine, NoObserver};
use super::persist::{load_checkpoint, resume, Checkpoint};
use super::records::Recorder;
use super::save::save;
use super::{Level, Rule, UnionFind};
use crate::attribution;
use crate::change::{ForwardStream, VotePolicy};
use crate::deposit::{self, DepositParams};
use crate::error::Result;
use crate::runs::Scratch;
use crate::store::AnalysisStore;

/// What to build.
#[derive(Debug, Clone, Copy)]
pub struct BuildOptions {
    /// Clustering level.
    pub level: Level,
    /// Change vote policy (used at `cospend+change`).
    pub policy: VotePolicy,
    /// Rebuild from scratch even if the checkpoint allows an incremental build.
    pub full: bool,
    /// Memory for the build's sorted runs and hot sets in MiB (the
    /// union-find's arrays, a few bytes per address, come on top).
    pub memory_mb: usize,
}

/// What a build did.
#[derive(Debug, Clone, Serialize)]
pub struct BuildSummary {
    /// Level built.
    pub level: Level,
    /// Change vote policy (empty at `cospend`).
    pub policy: String,
    /// `full` or `incremental`.
    pub mode: &'static str,
    /// Why a full build was needed.
    pub reason: String,
    /// First transaction id processed.
    pub from_tx: TxId,
    /// Transactions processed.
    pub transactions: u64,
    /// Addresses covered.
    pub addresses: u32,
    /// Clusters (including single addresses).
    pub clusters: u64,
    /// Clusters with two or more addresses.
    pub multi_address_clusters: u64,
    /// The largest cluster: id and size.
    pub largest: Option<(u32, u32)>,
    /// Merges made in this build, per rule.
    pub merges: BTreeMap<&'static str, u64>,
    /// CoinJoins detected in this build, per protocol.
    pub coinjoins: BTreeMap<&'static str, u64>,
    /// Merges refused by the collapse guard in this build.
    pub conflicts: u64,
    /// Tagged ledger addresses the collapse guard knew.
    pub tagged_addresses: usize,
    /// Ledger tip the build covers: height and hash (display hex).
    pub tip: Option<(u64, String)>,
    /// Sorted runs the build wrote to disk to stay within its memory
    /// (0: everything fitted in memory).
    pub runs_on_disk: u64,
}

fn tips(ledger: &Store) -> Result<Vec<(Chain, u64, [u8; 32])>> {
    let mut out = Vec::new();
    for chain in [Chain::Bitcoin, Chain::Ethereum] {
        if let Some(t) = ledger.tip(chain)? {
            out.push((chain, t.height, t.hash));
        }
    }
    Ok(out)
}

/// Why the stored checkpoint cannot be continued, if it cannot.
fn full_reason(
    ledger: &Store,
    opts: &BuildOptions,
    cp: Option<&Checkpoint>,
    tags_generation: u64,
) -> Result<Option<String>> {
    let Some(cp) = cp else {
        return Ok(Some("first build".into()));
    };
    if opts.full {
        return Ok(Some("--full".into()));
    }
    if opts.level == Level::CospendChange {
        return Ok(Some(
            "look-ahead change heuristics re-judge old transactions when their outputs are spent"
                .into(),
        ));
    }
    if cp.tags_generation != tags_generation {
        return Ok(Some("tags changed since the last build".into()));
    }
    for (chain, height, hash) in &cp.tips {
        let still = ledger.block(*chain, *height)?.map(|b| b.hash);
        if still.as_ref() != Some(hash) {
            return Ok(Some(format!(
                "{} block {height} of the last build is no longer in the ledger (reorg)",
                chain.name()
            )));
        }
    }
    Ok(None)
}

/// Where a build's sorted runs go: beside the analysis DB, never inside it.
fn scratch_dir(analysis: &AnalysisStore) -> std::path::PathBuf {
    analysis.path().with_file_name("analysis-scratch")
}

/// Builds (or updates) the clusters of `opts.level` and stores them.
pub fn build(ledger: &Store, analysis: &AnalysisStore, opts: BuildOptions) -> Result<BuildSummary> {
    let view = LedgerView::new(ledger)?;
    let cp = load_checkpoint(analysis, opts.level)?;
    let generation = attribution::generation(analysis)?;
    let reason = full_reason(ledger, &opts, cp.as_ref(), generation)?;
    let scratch = Scratch::new(scratch_dir(analysis))?;
    let budget = opts.memory_mb.max(16) << 20;
    let mut recorder = Recorder::new(&scratch, budget / 2);
    let old = match (&reason, &cp) {
        (None, Some(cp)) => Some(cp),
        _ => None,
    };
    let uf = match old {
        Some(cp) => resume(analysis, cp, &mut recorder)?,
        None => UnionFind::default(),
    };
    let from_tx = old.map_or(0, |cp| cp.next_tx);
    let mut engine = Engine::recording(opts.level, opts.policy, uf, from_tx, recorder);
    let counters = ledger.counters()?;
    engine.grow(counters.next_addr as usize);
    let tagged = attribution::tagged_addresses(analysis, &view)?;
    let services: Vec<_> = tagged
        .iter()
        .filter_map(|(a, s)| s.clone().map(|s| (*a, s)))
        .collect();
    engine.set_services(&services);
    if old.is_some() {
        // Conflicts among the tags were reported by the build that first saw them.
        engine.conflicts.clear();
    }
    let mut forward = match opts.level {
        Level::CospendChange => Some(ForwardStream::collect(ledger, &scratch, budget / 4)?),
        Level::Cospend => None,
    };
    let mut failed = None;
    ledger.for_each_tx_from(from_tx, |id, tx| {
        let spenders = match &mut forward {
            Some(f) => match f.spenders(id, tx.outputs.len()) {
                Ok(s) => s,
                Err(e) => {
                    failed.get_or_insert(e);
                    &[]
                }
            },
            None => &[],
        };
        engine.process(id, &tx, spenders, &mut NoObserver)
    })?;
    if let Some(e) = failed {
        return Err(e);
    }
    drop(forward);
    let exchanges = deposit::exchange_wallets(analysis, &view)?;
    for d in deposit::detect(ledger, &exchanges, &DepositParams::default())? {
        engine.link_deposit_address(&d);
    }
    let merges = Rule::ALL
        .into_iter()
        .filter(|r| engine.merges[*r as usize] > 0)
        .map(|r| (r.name(), engine.merges[r as usize]))
        .collect();
    let coinjoins = engine.coinjoins.clone();
    let tips = tips(ledger)?;
    let links_made: u64 = engine.merges.iter().sum();
    let checkpoint = Checkpoint {
        next_tx: counters.next_tx.max(engine.next_tx),
        addresses: engine.addresses() as u32,
        tips: tips.clone(),
        tags_generation: generation,
        policy: policy_name(&opts),
        links: old.map_or(0, |cp| cp.links) + links_made,
        conflicts: old.map_or(0, |cp| cp.conflicts) + engine.conflicts.len() as u64,
        slot: cp.as_ref().map_or(opts.level as u8, Checkpoint::other_slot),
    };
    let mut tagged_ids: Vec<_> = tagged.iter().map(|(a, _)| *a).collect();
    tagged_ids.sort_unstable();
    tagged_ids.dedup();
    let recorded = engine
        .recorder
        .take()
        .expect("a build's engine records")
        .finish()?;
    let saved = save(
        analysis,
        &scratch,
        budget / 2,
        &mut engine,
        recorded,
        old,
        &tagged_ids,
        &checkpoint,
    )?;
    let bitcoin_tip = tips.iter().find(|t| t.0 == Chain::Bitcoin);
    Ok(BuildSummary {
        level: opts.level,
        policy: policy_name(&opts),
        mode: if old.is_some() { "incremental" } else { "full" },
        reason: reason.unwrap_or_default(),
        from_tx,
        transactions: engine.next_tx.saturating_sub(from_tx),
        addresses: engine.addresses() as u32,
        clusters: saved.clusters,
        multi_address_clusters: saved.multi_address_clusters,
        largest: saved.largest,
        merges,
        coinjoins,
        conflicts: engine.conflicts.len() as u64,
        tagged_addresses: tagged.len(),
        tip: bitcoin_tip.map(|t| (t.1, hash_hex(&t.2))),
        runs_on_disk: scratch.runs_written(),
    })
}

/// How the vote policy is written in checkpoints and reports.
pub fn policy_name(opts: &BuildOptions) -> String {
    match opts.level {
        Level::Cospend => String::new(),
        Level::CospendChange => format!(
            "min_votes={} heuristics={}",
            opts.policy.min_votes,
            opts.policy.heuristics.names()
        ),
    }
}
