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
//! - accounted = value stopped at the right place (the case's exchange
//!   deposits, or a CoinJoin / custodial mixer deposit the truth says moved
//!   this case's proceeds) / the victims' payments. Custodial mixers and
//!   CoinJoins break the on-chain trail by design: there the right answer is
//!   "it entered the mixer", which is what a legal request then follows.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use anyhow::{bail, Context, Result};
use chain_adapters::ledger::{Amount, Chain, OutRef};
use chain_adapters::query;
use chain_adapters::store::Store;
use heuristics::store::AnalysisStore;
use heuristics::trace::{self, share, Params, Quiet, SeedCoin, Source};
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
    /// found / seed_value.
    pub seed_recall: f64,
    /// found / traced.
    pub precision: f64,
    /// (found + mixing) / seed_value.
    pub accounted: f64,
}

impl Score {
    fn add(&mut self, o: &Score) {
        self.cases += o.cases;
        self.seed_value += o.seed_value;
        self.truth_value += o.truth_value;
        self.found += o.found;
        self.traced += o.traced;
        self.coinjoins += o.coinjoins;
        self.mixing += o.mixing;
    }

    fn finish(mut self) -> Score {
        self.recall = share(self.found, self.truth_value);
        self.seed_recall = share(self.found, self.seed_value);
        self.precision = share(self.found, self.traced);
        self.accounted = share(self.found + self.mixing, self.seed_value);
        self
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
    /// One row per model.
    pub models: Vec<ModelScore>,
}

/// A truth case: its route, victim payments and true deposit outputs.
pub struct TruthCase {
    id: u32,
    route: String,
    seeds: Vec<SeedCoin>,
    endpoints: HashMap<(String, u32), Amount>,
}

/// Transactions that moved cases' proceeds into mixing: txid → cases.
pub type Mixing = HashMap<String, Vec<u32>>;

/// Reads the cases (seeds resolved against `store`) and mixing transactions
/// of a truth file.
pub fn read_cases(store: &Store, path: &Path) -> Result<(Vec<TruthCase>, Mixing)> {
    let mut routes = HashMap::new();
    let mut raw = Vec::new();
    let mut mixing = Mixing::new();
    truth::read(path, |r| {
        match r {
            Record::Tx {
                txid,
                purpose,
                cases,
                ..
            } if !cases.is_empty()
                && matches!(
                    purpose,
                    Purpose::WhirlpoolTx0
                        | Purpose::WhirlpoolMix
                        | Purpose::Wasabi2Mix
                        | Purpose::JoinmarketMix
                        | Purpose::MixerDeposit
                ) =>
            {
                mixing.insert(txid, cases);
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
            let h = query::parse_txid(&p.txid)?;
            let tx = store
                .tx_id(Chain::Bitcoin, &h)?
                .with_context(|| format!("payment {} is not in the ledger", p.txid))?;
            seeds.push(SeedCoin {
                out: OutRef { tx, vout: p.vout },
                amount: p.value.into(),
            });
        }
        let mut ends = HashMap::new();
        for e in endpoints {
            *ends.entry((e.output.txid, e.output.vout)).or_default() += Amount::from(e.from_case);
        }
        cases.push(TruthCase {
            id,
            route: routes.get(&group).cloned().unwrap_or_default(),
            seeds,
            endpoints: ends,
        });
    }
    Ok((cases, mixing))
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
            let mut s = Score {
                cases: 1,
                seed_value: t.summary.seed_value,
                truth_value: c.endpoints.values().sum(),
                coinjoins: t.summary.coinjoins,
                traced: t.summary.endpoints,
                ..Score::default()
            };
            for e in &t.endpoints {
                for o in &e.outputs {
                    if let Some(&truth) = c.endpoints.get(&(o.txid.clone(), o.vout)) {
                        s.found += o.amount.min(truth);
                    } else if moved(&o.txid, c.id) {
                        s.mixing += o.amount;
                    }
                }
            }
            for b in &t.barriers {
                if moved(&b.txid, c.id) {
                    s.mixing += b.amount;
                }
            }
            routes.entry(c.route.clone()).or_default().add(&s);
        }
        let mut all = Score {
            name: "all".into(),
            ..Score::default()
        };
        let mut rows = Vec::new();
        for (name, mut s) in routes {
            all.add(&s);
            s.name = name;
            rows.push(s.finish());
        }
        models.push(ModelScore {
            model: p.model.name(),
            all: all.finish(),
            routes: rows,
            txs,
        });
    }
    let first = params.first().context("no model to evaluate")?;
    Ok(TraceEvaluation {
        level: first.granularity.name(),
        max_hops: first.limits.max_hops,
        models,
    })
}

/// The evaluation as Markdown.
pub fn markdown(e: &TraceEvaluation) -> String {
    let mut s = format!(
        "## Tracing: case proceeds to exchange deposits\n\nLevel {}, max hops {}, CoinJoins as barriers.\n\n\
         | model | route | cases | recall | seed recall | precision | accounted | into CoinJoins (BTC) |\n\
         |---|---|---:|---:|---:|---:|---:|---:|\n",
        e.level, e.max_hops
    );
    for m in &e.models {
        for r in m.routes.iter().chain([&m.all]) {
            s += &format!(
                "| {} | {} | {} | {} | {} | {} | {} | {} |\n",
                m.model,
                r.name,
                r.cases,
                pct(r.recall),
                pct(r.seed_recall),
                pct(r.precision),
                pct(r.accounted),
                query::btc(r.coinjoins)
            );
        }
    }
    s
}
