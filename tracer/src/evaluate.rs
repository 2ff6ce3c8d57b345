//! `tracer evaluate`: measures the heuristics against a simulated chain's
//! ground truth (`truth.jsonl`) — pairwise precision and recall of each
//! clustering level, coverage and precision of each change heuristic and of
//! the vote policy, and the CoinJoin detectors' false-positive and
//! false-negative rates. Writes `evaluation.md` and `evaluation.json`.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use chain_adapters::ledger::{AddrId, Hash32, TxId, TxRecord};
use chain_adapters::query::{self, LedgerView};
use chain_adapters::store::Store;
use heuristics::change::{ChangeDecision, ChangeHeuristic, ForwardFacts, Vote, VotePolicy};
use heuristics::cluster::{Engine, Level, Observer};
use heuristics::coinjoin::{CoinJoin, CoinJoinKind};
use serde::Serialize;

use crate::simulate::truth::{self, Purpose, Record};

/// Pairwise clustering quality of one level.
#[derive(Debug, Clone, Serialize)]
pub struct ClusteringScore {
    /// Level.
    pub level: Level,
    /// Address pairs put in one cluster.
    pub predicted_pairs: u128,
    /// Pairs with one owner.
    pub true_pairs: u128,
    /// Pairs both.
    pub correct_pairs: u128,
    /// correct / predicted.
    pub precision: f64,
    /// correct / true.
    pub recall: f64,
    /// Clusters with addresses of more than one owner.
    pub impure_clusters: u64,
    /// Merges refused by the collapse guard.
    pub conflicts: u64,
}

/// Coverage and precision of one change heuristic (or the vote policy).
#[derive(Debug, Clone, Serialize)]
pub struct ChangeScore {
    /// Heuristic name, or `policy (…)`.
    pub heuristic: String,
    /// Transactions it named an output for.
    pub candidates: u64,
    /// Of those, the named output was change.
    pub correct: u64,
    /// candidates / eligible transactions.
    pub coverage: f64,
    /// correct / candidates.
    pub precision: f64,
}

/// One CoinJoin detector against the truth.
#[derive(Debug, Clone, Serialize)]
pub struct CoinJoinScore {
    /// Protocol.
    pub kind: CoinJoinKind,
    /// Transactions of this protocol in the truth.
    pub actual: u64,
    /// Detected as this protocol.
    pub detected: u64,
    /// Detected and of this protocol.
    pub correct: u64,
    /// actual − correct.
    pub false_negatives: u64,
    /// detected − correct.
    pub false_positives: u64,
    /// false negatives / actual.
    pub false_negative_rate: f64,
    /// false positives / transactions not of this protocol.
    pub false_positive_rate: f64,
}

/// The evaluation table.
#[derive(Debug, Clone, Serialize)]
pub struct Evaluation {
    /// Seed and preset of the simulated chain.
    pub truth: String,
    /// Transactions judged.
    pub transactions: u64,
    /// Addresses with a known owner.
    pub addresses: u64,
    /// Vote policy of the `cospend+change` level.
    pub policy: String,
    /// Clustering levels.
    pub clustering: Vec<ClusteringScore>,
    /// Transactions the change heuristics are judged on (not coinbase, not
    /// CoinJoin, at least two addressed outputs).
    pub change_eligible: u64,
    /// Of those, transactions that have a change output.
    pub change_present: u64,
    /// Change heuristics and vote policies.
    pub change: Vec<ChangeScore>,
    /// CoinJoin detectors.
    pub coinjoins: Vec<CoinJoinScore>,
}

struct TruthIndex {
    owner_of: HashMap<String, u32>,
    txs: HashMap<Hash32, (Purpose, Vec<u32>)>,
    label: String,
}

fn read_truth(path: &Path) -> Result<TruthIndex> {
    let mut t = TruthIndex {
        owner_of: HashMap::new(),
        txs: HashMap::new(),
        label: String::new(),
    };
    truth::read(path, |r| {
        match r {
            Record::Run { seed, preset, .. } => t.label = format!("preset {preset}, seed {seed}"),
            Record::Address {
                address, entity, ..
            } => {
                t.owner_of.insert(address, entity);
            }
            Record::Tx {
                txid,
                purpose,
                change,
                ..
            } => {
                let h = query::parse_txid(&txid)
                    .with_context(|| format!("{}: truth record", path.display()))?;
                t.txs.insert(h, (purpose, change));
            }
            _ => {}
        }
        Ok(())
    })?;
    if t.label.is_empty() {
        bail!("{}: no run record; not a tracer truth file", path.display());
    }
    Ok(t)
}

fn coinjoin_of(p: Purpose) -> Option<CoinJoinKind> {
    match p {
        Purpose::WhirlpoolTx0 => Some(CoinJoinKind::WhirlpoolTx0),
        Purpose::WhirlpoolMix => Some(CoinJoinKind::Whirlpool),
        Purpose::Wasabi2Mix => Some(CoinJoinKind::Wasabi2),
        Purpose::JoinmarketMix => Some(CoinJoinKind::JoinMarket),
        _ => None,
    }
}

/// What the observer keeps of each judged transaction.
#[derive(Default)]
struct Judged {
    /// (truth kind, detected kind) per transaction with either.
    coinjoins: Vec<(Option<CoinJoinKind>, Option<CoinJoinKind>)>,
    /// Per eligible transaction: votes and the true change outputs.
    votes: Vec<(Vec<Vote>, Vec<u32>)>,
    transactions: u64,
    missing: u64,
}

struct Collect<'a> {
    truth: &'a TruthIndex,
    judged: Judged,
}

impl Observer for Collect<'_> {
    fn judged(
        &mut self,
        _: TxId,
        tx: &TxRecord,
        coinjoin: Option<&CoinJoin>,
        votes: &[Vote],
        _: Option<&ChangeDecision>,
    ) {
        self.judged.transactions += 1;
        let Some((purpose, change)) = self.truth.txs.get(&tx.hash) else {
            // The genesis coinbase is the only transaction the simulator did not make.
            self.judged.missing += u64::from(!tx.is_coinbase());
            return;
        };
        let actual = coinjoin_of(*purpose);
        let detected = coinjoin.map(|c| c.kind);
        if actual.is_some() || detected.is_some() {
            self.judged.coinjoins.push((actual, detected));
        }
        let addressed = tx.outputs.iter().filter(|o| o.addr.is_some()).count();
        if !tx.is_coinbase() && actual.is_none() && addressed >= 2 && !tx.inputs.is_empty() {
            self.judged.votes.push((votes.to_vec(), change.clone()));
        }
    }
}

fn ratio(a: impl Into<f64>, b: impl Into<f64>) -> f64 {
    let b = b.into();
    if b == 0.0 {
        0.0
    } else {
        a.into() / b
    }
}

fn pairs(n: u64) -> u128 {
    u128::from(n) * u128::from(n.saturating_sub(1)) / 2
}

fn clustering_score(
    level: Level,
    clusters: &[AddrId],
    owner: &[u32],
    conflicts: u64,
) -> ClusteringScore {
    let mut cell: HashMap<(AddrId, u32), u64> = HashMap::new();
    let mut by_cluster: HashMap<AddrId, u64> = HashMap::new();
    let mut by_owner: HashMap<u32, u64> = HashMap::new();
    let mut owners_of: HashMap<AddrId, u32> = HashMap::new();
    let mut impure: std::collections::HashSet<AddrId> = Default::default();
    for (a, &c) in clusters.iter().enumerate() {
        let o = owner[a];
        if o == u32::MAX {
            continue;
        }
        *cell.entry((c, o)).or_default() += 1;
        *by_cluster.entry(c).or_default() += 1;
        *by_owner.entry(o).or_default() += 1;
        if *owners_of.entry(c).or_insert(o) != o {
            impure.insert(c);
        }
    }
    let predicted: u128 = by_cluster.values().map(|&n| pairs(n)).sum();
    let actual: u128 = by_owner.values().map(|&n| pairs(n)).sum();
    let correct: u128 = cell.values().map(|&n| pairs(n)).sum();
    ClusteringScore {
        level,
        predicted_pairs: predicted,
        true_pairs: actual,
        correct_pairs: correct,
        precision: ratio(correct as f64, predicted as f64),
        recall: ratio(correct as f64, actual as f64),
        impure_clusters: impure.len() as u64,
        conflicts,
    }
}

fn change_score(
    name: String,
    eligible: u64,
    decisions: impl Iterator<Item = (Option<usize>, bool)>,
) -> ChangeScore {
    let (mut candidates, mut correct) = (0u64, 0u64);
    for (pick, right) in decisions {
        if pick.is_some() {
            candidates += 1;
            correct += u64::from(right);
        }
    }
    ChangeScore {
        heuristic: name,
        candidates,
        correct,
        coverage: ratio(candidates as f64, eligible as f64),
        precision: ratio(correct as f64, candidates as f64),
    }
}

fn change_scores(votes: &[(Vec<Vote>, Vec<u32>)], policy: VotePolicy) -> Vec<ChangeScore> {
    let eligible = votes.len() as u64;
    let is_change = |change: &Vec<u32>, o: usize| change.contains(&(o as u32));
    let mut out = Vec::new();
    for h in ChangeHeuristic::ALL {
        let picks = votes.iter().map(|(v, change)| {
            let pick = v.iter().find(|v| v.heuristic == h).map(|v| v.output);
            (pick, pick.is_some_and(|o| is_change(change, o)))
        });
        out.push(change_score(h.name().to_string(), eligible, picks));
    }
    for min_votes in 1..=3u8 {
        let p = VotePolicy {
            min_votes,
            ..policy
        };
        let picks = votes.iter().map(|(v, change)| {
            let pick = p.decide(v).map(|d| d.output);
            (pick, pick.is_some_and(|o| is_change(change, o)))
        });
        let name = format!("policy: {min_votes}+ agreeing, none against");
        out.push(change_score(name, eligible, picks));
    }
    out
}

fn coinjoin_scores(judged: &Judged) -> Vec<CoinJoinScore> {
    CoinJoinKind::ALL
        .iter()
        .map(|&k| {
            let actual = judged.coinjoins.iter().filter(|c| c.0 == Some(k)).count() as u64;
            let detected = judged.coinjoins.iter().filter(|c| c.1 == Some(k)).count() as u64;
            let correct = judged
                .coinjoins
                .iter()
                .filter(|c| c.0 == Some(k) && c.1 == Some(k))
                .count() as u64;
            let others = judged.transactions - actual;
            CoinJoinScore {
                kind: k,
                actual,
                detected,
                correct,
                false_negatives: actual - correct,
                false_positives: detected - correct,
                false_negative_rate: ratio((actual - correct) as f64, actual as f64),
                false_positive_rate: ratio((detected - correct) as f64, others as f64),
            }
        })
        .collect()
}

/// Owner entity of every ledger address (`u32::MAX` if the truth does not know it).
fn owners(store: &Store, truth: &TruthIndex) -> Result<Vec<u32>> {
    let view = LedgerView::new(store)?;
    let mut owner = vec![u32::MAX; store.counters()?.next_addr as usize];
    store.for_each_address(|id, key| {
        if let Some(&o) = truth.owner_of.get(&view.show(&key)) {
            owner[id as usize] = o;
        }
    })?;
    Ok(owner)
}

/// Runs both clustering levels over the ledger and scores them against `truth_path`.
pub fn evaluate(store: &Store, truth_path: &Path, policy: VotePolicy) -> Result<Evaluation> {
    let truth = read_truth(truth_path)?;
    let owner = owners(store, &truth)?;
    let forward = ForwardFacts::collect(store)?;
    let mut clustering = Vec::new();
    let mut collected = Judged::default();
    for level in [Level::Cospend, Level::CospendChange] {
        let mut engine = Engine::new(level, policy);
        let mut obs = Collect {
            truth: &truth,
            judged: Judged::default(),
        };
        store.for_each_tx(|id, tx| engine.process(id, &tx, forward.spenders(id), &mut obs))?;
        if obs.judged.missing > 0 {
            bail!(
                "{} of the ledger's transactions are not in {}: the truth belongs to another chain",
                obs.judged.missing,
                truth_path.display()
            );
        }
        let conflicts = engine.conflicts.len() as u64;
        clustering.push(clustering_score(
            level,
            &engine.clusters(),
            &owner,
            conflicts,
        ));
        collected = obs.judged;
    }
    Ok(Evaluation {
        truth: truth.label.clone(),
        transactions: collected.transactions,
        addresses: owner.iter().filter(|&&o| o != u32::MAX).count() as u64,
        policy: format!(
            "min_votes={} heuristics={}",
            policy.min_votes,
            policy.heuristics.names()
        ),
        clustering,
        change_eligible: collected.votes.len() as u64,
        change_present: collected
            .votes
            .iter()
            .filter(|(_, c)| !c.is_empty())
            .count() as u64,
        change: change_scores(&collected.votes, policy),
        coinjoins: coinjoin_scores(&collected),
    })
}

/// A ratio as a percentage with 2 decimals.
pub fn pct(x: f64) -> String {
    format!("{:.2}%", x * 100.0)
}

/// The evaluation as a Markdown table (what reports quote).
pub fn markdown(e: &Evaluation) -> String {
    let mut s = String::new();
    let mut line = |l: String| {
        s.push_str(&l);
        s.push('\n');
    };
    line("# Heuristic error rates measured against ground truth".into());
    line(String::new());
    line(format!(
        "Simulated chain: {}; {} transactions, {} addresses with a known owner.",
        e.truth, e.transactions, e.addresses
    ));
    line(String::new());
    line("## Clustering (pairwise)".into());
    line(String::new());
    line("| level | precision | recall | predicted pairs | correct pairs | true pairs | impure clusters | refused merges |".into());
    line("|---|---|---|---|---|---|---|---|".into());
    for c in &e.clustering {
        line(format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            c.level.name(),
            pct(c.precision),
            pct(c.recall),
            c.predicted_pairs,
            c.correct_pairs,
            c.true_pairs,
            c.impure_clusters,
            c.conflicts
        ));
    }
    line(String::new());
    line(format!("`cospend+change` vote policy: {}.", e.policy));
    line(String::new());
    line("## Change heuristics".into());
    line(String::new());
    line(format!(
        "{} eligible transactions (not coinbase, not CoinJoin, ≥ 2 addressed outputs); {} of them have a change output.",
        e.change_eligible, e.change_present
    ));
    line(String::new());
    line("| heuristic | coverage | precision | candidates | correct |".into());
    line("|---|---|---|---|---|".into());
    for c in &e.change {
        line(format!(
            "| {} | {} | {} | {} | {} |",
            c.heuristic,
            pct(c.coverage),
            pct(c.precision),
            c.candidates,
            c.correct
        ));
    }
    line(String::new());
    line("## CoinJoin detectors".into());
    line(String::new());
    line("| protocol | actual | detected | correct | false negatives | false positives | FN rate | FP rate |".into());
    line("|---|---|---|---|---|---|---|---|".into());
    for c in &e.coinjoins {
        line(format!(
            "| {} | {} | {} | {} | {} | {} | {} | {:.4}% |",
            c.kind.name(),
            c.actual,
            c.detected,
            c.correct,
            c.false_negatives,
            c.false_positives,
            pct(c.false_negative_rate),
            c.false_positive_rate * 100.0
        ));
    }
    s
}

/// Writes `evaluation.md` and `evaluation.json` into `dir`.
pub fn write(e: &Evaluation, dir: &Path) -> Result<()> {
    crate::output::write_report(dir, "evaluation", &markdown(e), e)
}
