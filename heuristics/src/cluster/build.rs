//! `cluster build`: runs the engine over the ledger — incrementally from the
//! last checkpoint when that is sound, else from scratch — and saves it.

use std::collections::BTreeMap;

use chain_adapters::ingest::hash_hex;
use chain_adapters::ledger::{Chain, TxId};
use chain_adapters::query::LedgerView;
use chain_adapters::store::Store;
use serde::Serialize;

use super::engine::{Engine, NoObserver};
use super::persist::{load_checkpoint, load_state, save, Checkpoint};
use super::Level;
use crate::attribution;
use crate::change::{ForwardFacts, VotePolicy};
use crate::deposit::{self, DepositParams};
use crate::error::Result;
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

/// Builds (or updates) the clusters of `opts.level` and stores them.
pub fn build(ledger: &Store, analysis: &AnalysisStore, opts: BuildOptions) -> Result<BuildSummary> {
    let view = LedgerView::new(ledger)?;
    let cp = load_checkpoint(analysis, opts.level)?;
    let generation = attribution::generation(analysis)?;
    let reason = full_reason(ledger, &opts, cp.as_ref(), generation)?;
    let (mut engine, old, stored_links, stored_conflicts) = match (&reason, &cp) {
        (None, Some(cp)) => {
            let (clusters, facts) = load_state(analysis, opts.level, cp)?;
            let engine = Engine::resume(opts.level, opts.policy, &clusters, facts, cp.next_tx);
            (engine, Some(clusters), cp.links, cp.conflicts)
        }
        _ => (Engine::new(opts.level, opts.policy), None, 0, 0),
    };
    let from_tx = engine.next_tx;
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
    let forward = match opts.level {
        Level::CospendChange => Some(ForwardFacts::collect(ledger)?),
        Level::Cospend => None,
    };
    ledger.for_each_tx_from(from_tx, |id, tx| {
        engine.process(id, &tx, forward.as_ref(), &mut NoObserver)
    })?;
    let exchanges = deposit::exchange_wallets(analysis, &view)?;
    for d in deposit::detect(ledger, &exchanges, &DepositParams::default())? {
        engine.link_deposit_address(&d);
    }
    let mut merges = BTreeMap::new();
    for l in &engine.links {
        *merges.entry(l.evidence.rule.name()).or_insert(0) += 1;
    }
    let mut coinjoins = BTreeMap::new();
    for (_, cj) in &engine.coinjoins {
        *coinjoins.entry(cj.kind.name()).or_insert(0) += 1;
    }
    let tips = tips(ledger)?;
    let checkpoint = Checkpoint {
        next_tx: counters.next_tx.max(engine.next_tx),
        addresses: engine.addresses() as u32,
        tips: tips.clone(),
        tags_generation: generation,
        policy: policy_name(&opts),
        links: stored_links + engine.links.len() as u64,
        conflicts: stored_conflicts + engine.conflicts.len() as u64,
    };
    let tagged_ids: Vec<_> = tagged.iter().map(|(a, _)| *a).collect();
    let size = save(
        analysis,
        &mut engine,
        old.as_deref(),
        &tagged_ids,
        &checkpoint,
    )?;
    let largest = (0..size.len())
        .max_by_key(|&c| (size[c], std::cmp::Reverse(c)))
        .filter(|&c| size[c] > 0)
        .map(|c| (c as u32, size[c]));
    let bitcoin_tip = tips.iter().find(|t| t.0 == Chain::Bitcoin);
    Ok(BuildSummary {
        level: opts.level,
        policy: policy_name(&opts),
        mode: if old.is_some() { "incremental" } else { "full" },
        reason: reason.unwrap_or_default(),
        from_tx,
        transactions: engine.next_tx.saturating_sub(from_tx),
        addresses: engine.addresses() as u32,
        clusters: size.iter().filter(|&&s| s > 0).count() as u64,
        multi_address_clusters: size.iter().filter(|&&s| s > 1).count() as u64,
        largest,
        merges,
        coinjoins,
        conflicts: engine.conflicts.len() as u64,
        tagged_addresses: tagged.len(),
        tip: bitcoin_tip.map(|t| (t.1, hash_hex(&t.2))),
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
