//! How well tracing finds where a simulated chain's fraud proceeds cashed
//! out: every truth case's victim payments are traced forward under each
//! model, and the value the trace puts on each exchange deposit output is
//! compared with what the truth says came from that case.
//!
//! - recall = value traced to the case's true deposit outputs (each capped
//!   at the truth's share) / value the truth puts there;
//! - seed recall = the same numerator / the victims' payments (fees and
//!   coins still in flight make this lower);
//! - precision = that numerator / all value the trace puts on endpoints;
//! - ceiling = the truth's value at the case's deposit outputs that any
//!   on-chain trace obeying the stop rules can reach (a path from the
//!   victims' payments through the case's own transactions that crosses no
//!   CoinJoin and no custodial mixer) / the truth's value there;
//! - accounted = value stopped at the right place (the case's exchange
//!   deposits, or a CoinJoin / custodial mixer deposit the truth says moved
//!   this case's proceeds) / the victims' payments. Custodial mixers and
//!   CoinJoins break the on-chain trail by design: there the right answer is
//!   "it entered the mixer", which is what a legal request then follows.
//!
//! A legal request names deposit addresses, not value, so each model is
//! also scored on them: deposit-address precision = the exchange endpoints
//! a trace names that are the case's own deposit addresses / all exchange
//! endpoints it names; recall = the case's deposit addresses it names /
//! all of them (ceiling: those a trace can reach).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use anyhow::{bail, Context, Result};
use chain_adapters::ledger::{Chain, OutRef, TxId};
use chain_adapters::query;
use chain_adapters::store::Store;
use heuristics::store::AnalysisStore;
use heuristics::tags::TagClass;
use heuristics::trace::{self, share, Amount, Params, Quiet, SeedCoin, Source};
use serde::Serialize;

use crate::evaluate::pct;
use crate::simulate::truth::{self, Purpose, Record};

/// Scores of one group of cases (a route, or all).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Score {
    /// What the row covers.
    pub name: String,
    /// Cases.
    pub cases: u32,
    /// Victim payments traced (satoshi).
    pub seed_value: Amount,
    /// What the truth puts on the cases' deposit outputs.
    pub truth_value: Amount,
    /// Of that, what a trace can reach without crossing mixing.
    pub reachable: Amount,
    /// Of that, what the traces found.
    pub found: Amount,
    /// All value the traces put on endpoints.
    pub traced: Amount,
    /// Into CoinJoins (barriers).
    pub coinjoins: Amount,
    /// Stopped at a CoinJoin or mixer deposit that moved this case's proceeds.
    pub mixing: Amount,
    /// found / truth_value.
    pub recall: f64,
    /// reachable / truth_value: the highest recall a trace that stops at
    /// CoinJoins and mixers can have.
    pub ceiling: f64,
    /// found / seed_value.
    pub seed_recall: f64,
    /// found / traced.
    pub precision: f64,
    /// (found + mixing) / seed_value.
    pub accounted: f64,
    /// The cases' true deposit addresses (each case's counted once).
    pub deposits_true: u64,
    /// Of those, the ones a trace can reach without crossing mixing.
    pub deposits_reachable: u64,
    /// Exchange endpoints the traces named (each case's counted once).
    pub deposits_named: u64,
    /// Of those, the case's own deposit addresses.
    pub deposits_right: u64,
    /// deposits_right / deposits_named: how often a named deposit address
    /// is the case's own (a legal request to it names the right customer).
    pub deposit_precision: f64,
    /// deposits_right / deposits_true.
    pub deposit_recall: f64,
    /// deposits_reachable / deposits_true.
    pub deposit_ceiling: f64,
}

impl Score {
    fn add(&mut self, o: &Score) -> Result<()> {
        self.cases += o.cases;
        for (a, b) in [
            (&mut self.seed_value, o.seed_value),
            (&mut self.truth_value, o.truth_value),
            (&mut self.reachable, o.reachable),
            (&mut self.found, o.found),
            (&mut self.traced, o.traced),
            (&mut self.coinjoins, o.coinjoins),
            (&mut self.mixing, o.mixing),
        ] {
            a.add_assign(b)?;
        }
        self.deposits_true += o.deposits_true;
        self.deposits_reachable += o.deposits_reachable;
        self.deposits_named += o.deposits_named;
        self.deposits_right += o.deposits_right;
        Ok(())
    }

    fn finish(mut self) -> Result<Score> {
        let ratio = |a: u64, b: u64| share(Amount::from(a), Amount::from(b));
        self.recall = share(self.found, self.truth_value);
        self.ceiling = share(self.reachable, self.truth_value);
        self.seed_recall = share(self.found, self.seed_value);
        self.precision = share(self.found, self.traced);
        self.accounted = share(self.found.plus(self.mixing)?, self.seed_value);
        self.deposit_precision = ratio(self.deposits_right, self.deposits_named);
        self.deposit_recall = ratio(self.deposits_right, self.deposits_true);
        self.deposit_ceiling = ratio(self.deposits_reachable, self.deposits_true);
        Ok(self)
    }
}

/// One model's result.
#[derive(Debug, Clone, Serialize)]
pub struct ModelScore {
    /// Model.
    pub model: &'static str,
    /// All cases.
    pub all: Score,
    /// By laundering route.
    pub routes: Vec<Score>,
    /// Transactions judged over all cases.
    pub txs: u64,
}

/// The trace evaluation.
#[derive(Debug, Clone, Serialize)]
pub struct TraceEvaluation {
    /// Node level and limits used.
    pub level: &'static str,
    /// Hop limit.
    pub max_hops: u32,
    /// What the traces did at CoinJoins.
    pub coinjoins: &'static str,
    /// One row per model.
    pub models: Vec<ModelScore>,
}

/// A truth case: its route, victim payments and true deposit outputs.
pub struct TruthCase {
    id: u32,
    route: String,
    seeds: Vec<SeedCoin>,
    endpoints: HashMap<(String, u32), Amount>,
    /// Of the truth's value at the deposit outputs, what a trace can reach
    /// without crossing mixing.
    reachable: Amount,
    /// The case's deposit addresses: all, and those a trace can reach.
    deposit_addresses: BTreeSet<String>,
    reachable_addresses: BTreeSet<String>,
}

/// Transactions that moved cases' proceeds into mixing: txid → cases.
pub type Mixing = HashMap<String, Vec<u32>>;

/// The case transactions after which no on-chain trace can follow the
/// proceeds: CoinJoins (barriers) and deposits at a custodial mixer (an
/// endpoint; it pays out from other coins).
fn ends_the_trail(purpose: Purpose) -> bool {
    matches!(
        purpose,
        Purpose::WhirlpoolMix
            | Purpose::Wasabi2Mix
            | Purpose::JoinmarketMix
            | Purpose::MixerDeposit
    )
}

/// Transactions that moved some case's proceeds: ledger id → (purpose, cases).
type Flows = HashMap<TxId, (Purpose, Vec<u32>)>;

/// Reads the cases (seeds resolved against `store`) and mixing transactions
/// of a truth file.
pub fn read_cases(store: &Store, path: &Path) -> Result<(Vec<TruthCase>, Mixing)> {
    let mut routes = HashMap::new();
    let mut raw = Vec::new();
    let mut mixing = Mixing::new();
    let mut flows = Flows::new();
    truth::read(path, |r| {
        match r {
            Record::Tx {
                txid,
                purpose,
                cases,
                ..
            } if !cases.is_empty() => {
                flows.insert(ledger_tx(store, &txid)?, (purpose, cases.clone()));
                if purpose == Purpose::WhirlpoolTx0 || ends_the_trail(purpose) {
                    mixing.insert(txid, cases);
                }
            }
            Record::Group { id, route, .. } => {
                routes.insert(id, route);
            }
            Record::Case {
                id,
                group,
                payments,
                endpoints,
                ..
            } => raw.push((id, group, payments, endpoints)),
            _ => {}
        }
        Ok(())
    })?;
    if raw.is_empty() {
        bail!("{}: no cases in the truth file", path.display());
    }
    let mut cases = Vec::new();
    for (id, group, payments, endpoints) in raw {
        let mut seeds = Vec::new();
        for p in payments {
            seeds.push(SeedCoin {
                out: OutRef {
                    tx: ledger_tx(store, &p.txid)?,
                    vout: p.vout,
                },
                amount: p.value.into(),
            });
        }
        let mut ends: HashMap<(String, u32), Amount> = HashMap::new();
        let mut deposits: HashMap<OutRef, Amount> = HashMap::new();
        let mut address_of: HashMap<OutRef, String> = HashMap::new();
        for e in endpoints {
            let out = OutRef {
                tx: ledger_tx(store, &e.output.txid)?,
                vout: e.output.vout,
            };
            let from_case = Amount::from(e.from_case);
            deposits.entry(out).or_default().add_assign(from_case)?;
            address_of.insert(out, e.address.clone());
            ends.entry((e.output.txid, e.output.vout))
                .or_default()
                .add_assign(from_case)?;
        }
        let reached = reachable(store, id, &seeds, &deposits, &flows)?;
        let reachable_value = Amount::sum(reached.iter().map(|o| deposits[o]))?;
        cases.push(TruthCase {
            id,
            route: routes.get(&group).cloned().unwrap_or_default(),
            reachable: reachable_value,
            deposit_addresses: address_of.values().cloned().collect(),
            reachable_addresses: reached.iter().map(|o| address_of[o].clone()).collect(),
            seeds,
            endpoints: ends,
        });
    }
    Ok((cases, mixing))
}

/// The ledger id of the transaction `txid` the truth file names.
fn ledger_tx(store: &Store, txid: &str) -> Result<TxId> {
    store
        .tx_id(Chain::Bitcoin, &query::parse_txid(txid)?)?
        .with_context(|| format!("truth transaction {txid} is not in the ledger"))
}

/// Those of `deposits` that case `case`'s proceeds reach from its
/// victims' payments `seeds` through the case's own transactions, crossing
/// no CoinJoin and no custodial mixer.
fn reachable(
    store: &Store,
    case: u32,
    seeds: &[SeedCoin],
    deposits: &HashMap<OutRef, Amount>,
    flows: &Flows,
) -> Result<std::collections::BTreeSet<OutRef>> {
    let mut outputs: Vec<OutRef> = seeds.iter().map(|s| s.out).collect();
    let mut visited = std::collections::HashSet::new();
    let mut reached = std::collections::BTreeSet::new();
    while let Some(out) = outputs.pop() {
        if deposits.contains_key(&out) {
            reached.insert(out);
            continue;
        }
        let Some(spent) = store.spent_by(out)? else {
            continue;
        };
        let follows = flows
            .get(&spent.tx)
            .is_some_and(|(purpose, cases)| cases.contains(&case) && !ends_the_trail(*purpose));
        if follows && visited.insert(spent.tx) {
            let tx = store
                .tx(spent.tx)?
                .with_context(|| format!("transaction {} is not in the ledger", spent.tx))?;
            outputs.extend((0..tx.outputs.len() as u32).map(|vout| OutRef { tx: spent.tx, vout }));
        }
    }
    Ok(reached)
}

/// Traces every truth case under each of `params` and scores the endpoints.
pub fn evaluate_traces(
    store: &Store,
    analysis: Option<&AnalysisStore>,
    truth_path: &Path,
    params: &[Params],
) -> Result<TraceEvaluation> {
    let (cases, mixing) = read_cases(store, truth_path)?;
    evaluate_cases(store, analysis, &cases, &mixing, params)
}

/// Traces `cases` under each of `params` and scores the endpoints.
pub fn evaluate_cases(
    store: &Store,
    analysis: Option<&AnalysisStore>,
    cases: &[TruthCase],
    mixing: &Mixing,
    params: &[Params],
) -> Result<TraceEvaluation> {
    let moved = |txid: &str, case: u32| mixing.get(txid).is_some_and(|c| c.contains(&case));
    let mut models = Vec::new();
    for p in params {
        let mut src = Source::new(store, analysis, p.granularity)?;
        let mut routes: BTreeMap<String, Score> = BTreeMap::new();
        let mut txs = 0;
        for c in cases {
            let t = trace::trace_forward(&mut src, &c.seeds, *p, &Quiet)?;
            txs += t.summary.txs;
            let named: BTreeSet<&str> = t
                .endpoints
                .iter()
                .filter(|e| e.class == TagClass::Exchange)
                .map(|e| e.deposit_address.as_str())
                .collect();
            let mut s = Score {
                cases: 1,
                seed_value: t.summary.seed_value,
                truth_value: Amount::sum(c.endpoints.values().copied())?,
                reachable: c.reachable,
                coinjoins: t.summary.coinjoins,
                traced: t.summary.endpoints,
                deposits_true: c.deposit_addresses.len() as u64,
                deposits_reachable: c.reachable_addresses.len() as u64,
                deposits_named: named.len() as u64,
                deposits_right: named
                    .iter()
                    .filter(|a| c.deposit_addresses.contains(**a))
                    .count() as u64,
                ..Score::default()
            };
            for e in &t.endpoints {
                for o in &e.outputs {
                    if let Some(&truth) = c.endpoints.get(&(o.txid.clone(), o.vout)) {
                        s.found.add_assign(o.amount.min(truth))?;
                    } else if moved(&o.txid, c.id) {
                        s.mixing.add_assign(o.amount)?;
                    }
                }
            }
            for b in &t.barriers {
                if moved(&b.txid, c.id) {
                    s.mixing.add_assign(b.amount)?;
                }
            }
            routes.entry(c.route.clone()).or_default().add(&s)?;
        }
        let mut all = Score {
            name: "all".into(),
            ..Score::default()
        };
        let mut rows = Vec::new();
        for (name, mut s) in routes {
            all.add(&s)?;
            s.name = name;
            rows.push(s.finish()?);
        }
        models.push(ModelScore {
            model: p.model.name(),
            all: all.finish()?,
            routes: rows,
            txs,
        });
    }
    let first = params.first().context("no model to evaluate")?;
    Ok(TraceEvaluation {
        level: first.granularity.name(),
        max_hops: first.limits.max_hops,
        coinjoins: first.coinjoins.name(),
        models,
    })
}

/// The evaluation as Markdown.
pub fn markdown(e: &TraceEvaluation) -> String {
    let mut s = format!(
        "## Tracing: case proceeds to exchange deposits\n\nLevel {}, max hops {}, CoinJoins: {}.\n\n\
         Value:\n\n\
         | model | route | cases | recall | ceiling | seed recall | precision | accounted | into CoinJoins (BTC) |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---:|\n",
        e.level, e.max_hops, e.coinjoins
    );
    for m in &e.models {
        for r in m.routes.iter().chain([&m.all]) {
            s += &format!(
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
                m.model,
                r.name,
                r.cases,
                pct(r.recall),
                pct(r.ceiling),
                pct(r.seed_recall),
                pct(r.precision),
                pct(r.accounted),
                query::btc(r.coinjoins.units())
            );
        }
    }
    s += "\nDeposit addresses (what a legal request names):\n\n\
          | model | route | true | named | right | precision | recall | ceiling |\n\
          |---|---|---:|---:|---:|---:|---:|---:|\n";
    for m in &e.models {
        for r in m.routes.iter().chain([&m.all]) {
            s += &format!(
                "| {} | {} | {} | {} | {} | {} | {} | {} |\n",
                m.model,
                r.name,
                r.deposits_true,
                r.deposits_named,
                r.deposits_right,
                pct(r.deposit_precision),
                pct(r.deposit_recall),
                pct(r.deposit_ceiling)
            );
        }
    }
    s
}
