//! `tracer trace`: follow a case's seeds forward, or an address forward or
//! backward, under one or more taint models; write trace.json and print
//! the endpoint table.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use chain_adapters::ledger::Chain;
use chain_adapters::query::Unit;
use chain_adapters::store::{Store, StoreOptions};
use clap::{Args, Subcommand};
use heuristics::store::AnalysisStore;
use heuristics::trace::{
    self, Amount, CoinJoinPolicy, Granularity, Limits, Model, Params, SeedCoin, Source, TraceFile,
};
use serde::Serialize;
use tracer::case::{self, Case, Seed, SeedTarget};
use tracer::output::{write_json, write_report};
use tracer::trace_eval::TraceEvaluation;

use crate::analysis::PolicyArgs;
use crate::progress::TraceBar;

/// `tracer trace …`
#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct TraceArgs {
    #[command(subcommand)]
    target: Option<TraceTarget>,
    /// Case file (TOML) whose seeds are traced forward.
    case: Option<PathBuf>,
    #[command(flatten)]
    opts: TraceOpts,
}

#[derive(Subcommand)]
enum TraceTarget {
    /// Trace an address: forward from what it received, or --backward to
    /// where that came from.
    Address {
        /// The address.
        address: String,
        /// Where did its funds come from?
        #[arg(long)]
        backward: bool,
        #[command(flatten)]
        opts: TraceOpts,
    },
}

/// Parameters shared by every trace.
#[derive(Args, Clone)]
struct TraceOpts {
    /// Taint model(s): haircut, poison, fifo, lifo; several (comma-separated)
    /// are run and compared, the first one is trace.json.
    #[arg(long, value_delimiter = ',', default_value = "haircut")]
    model: Vec<String>,
    /// Hops (transfers to another owner) to follow.
    #[arg(long, default_value_t = Limits::default().max_hops)]
    max_hops: u32,
    /// Branches carrying less than this are not followed, in the traced
    /// asset's unit: BTC (8 decimals) on Bitcoin, ether (18 decimals) on
    /// Ethereum, whole tokens (the token's decimals) on a token trace; 0
    /// follows every branch. Default: 0.0001 of that unit.
    #[arg(long, value_name = "AMOUNT")]
    min_amount: Option<String>,
    /// Nodes: address, cospend or cospend+change clusters.
    #[arg(long, default_value = "cospend")]
    level: String,
    /// Forward: do not follow transactions after this date (YYYY-MM-DD, whole
    /// day included) or time (RFC 3339). Backward: before it.
    #[arg(long, value_name = "WHEN")]
    time_limit: Option<String>,
    /// Go through CoinJoins, spreading taint by the model, instead of
    /// stopping there.
    #[arg(long)]
    through_coinjoins: bool,
    /// Go through CoinJoins only along the outputs that reach (within two
    /// transactions) an exchange deposit address where unmixed proceeds of
    /// the same trace arrived; the rest stops there (haircut, poison).
    #[arg(long, conflicts_with = "through_coinjoins")]
    coinjoin_exits: bool,
    /// Count every transfer as a hop (do not follow change outputs of peel chains).
    #[arg(long)]
    no_change: bool,
    #[command(flatten)]
    policy: PolicyArgs,
    /// Transactions judged before a trace gives up.
    #[arg(long, default_value_t = Limits::default().max_txs)]
    max_txs: u64,
    /// Directory for trace.json (required for a case).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Print the trace as JSON instead of the summary.
    #[arg(long)]
    json: bool,
}

impl TraceOpts {
    fn params(&self, model: Model, backward: bool, unit: &Unit) -> Result<Params> {
        let granularity = parse_level(&self.level)?;
        let min_amount = min_amount(self.min_amount.as_deref(), unit)?;
        let time_limit = match &self.time_limit {
            Some(s) => Some(parse_when(s, !backward).context("--time-limit")?),
            None => None,
        };
        Ok(Params {
            model,
            granularity,
            coinjoins: if self.through_coinjoins {
                CoinJoinPolicy::Through
            } else if self.coinjoin_exits {
                CoinJoinPolicy::Exits
            } else {
                CoinJoinPolicy::Barrier
            },
            limits: Limits {
                max_hops: self.max_hops,
                min_amount,
                time_limit,
                max_txs: self.max_txs.max(1),
            },
            change: if self.no_change {
                None
            } else {
                Some(self.policy.policy()?)
            },
        })
    }
}

/// `--min-amount` in the smallest unit of the traced asset (a token
/// without decimals counts base units); 0.0001 of it when not given.
fn min_amount(given: Option<&str>, unit: &Unit) -> Result<Amount> {
    let decimals = u32::from(unit.decimals.unwrap_or(0));
    let units = match given {
        Some(s) => case::parse_decimal(s, decimals)
            .map_err(|e| anyhow!("--min-amount (in {}): {e}", unit.symbol))?,
        None => decimals
            .checked_sub(4)
            .map_or(0, |d| 10u128.checked_pow(d).unwrap_or(u128::MAX)),
    };
    Ok(Amount::new(units))
}

/// The distinct models named, in order.
fn parse_models(names: &[String]) -> Result<Vec<Model>> {
    let mut out = Vec::new();
    for m in names {
        let model = Model::parse(m.trim())
            .ok_or_else(|| anyhow!("unknown model '{m}' (poison, haircut, fifo, lifo)"))?;
        if !out.contains(&model) {
            out.push(model);
        }
    }
    Ok(out)
}

/// A node level: address, cospend or cospend+change.
fn parse_level(s: &str) -> Result<Granularity> {
    Granularity::parse(s)
        .ok_or_else(|| anyhow!("unknown level '{s}' (address, cospend, cospend+change)"))
}

/// A date (its end when `end_of_day`, else its start) or an RFC 3339 time, as unix seconds.
fn parse_when(s: &str, end_of_day: bool) -> Result<u64> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return u64::try_from(t.timestamp()).map_err(|_| anyhow!("{s} is before 1970"));
    }
    let d = case::parse_date(s).map_err(|e| anyhow!(e))?;
    let t = if end_of_day {
        d.and_hms_opt(23, 59, 59)
    } else {
        d.and_hms_opt(0, 0, 0)
    };
    let secs = t.expect("valid time").and_utc().timestamp();
    u64::try_from(secs).map_err(|_| anyhow!("{s} is before 1970"))
}

/// `comparison.json`: the models traced side by side, in one unit.
#[derive(Serialize)]
struct Comparison {
    /// The asset; every amount is in its smallest unit.
    unit: trace_file::Unit,
    /// One row per model.
    models: Vec<Compared>,
}

/// One row of a model comparison.
#[derive(Serialize)]
struct Compared {
    model: Model,
    seed_value: Amount,
    endpoints: Amount,
    unspent: Amount,
    fees: Amount,
    coinjoins: Amount,
    beyond: Amount,
    endpoint_count: usize,
    hops: usize,
}

/// Fills in what the engine leaves to the caller: the command that wrote
/// the trace and the case it was made for.
fn stamp(mut t: TraceFile, case: Option<&Case>) -> TraceFile {
    t.command = Some(tracer::output::command_line());
    t.case = case.map(Case::to_file);
    t
}

/// Runs `tracer trace`.
pub fn run(db: &Path, opts: StoreOptions, args: TraceArgs) -> Result<()> {
    let store = Store::open_read_only(db, opts)?;
    let analysis = open_analysis(db)?;
    let (case, seeds, backward, o) = match (args.target, args.case) {
        (
            Some(TraceTarget::Address {
                address,
                backward,
                opts,
            }),
            _,
        ) => {
            let seed = Seed {
                chain: chain_adapters::query::LedgerView::chain_of(&address),
                target: SeedTarget::Address {
                    address,
                    from: None,
                    until: None,
                    amount: None,
                },
                note: None,
                line: None,
            };
            let view = chain_adapters::query::LedgerView::new(&store)?;
            let seeds = case::ledger::resolve_seed(&view, 0, &seed)?;
            (None, seeds, backward, opts)
        }
        (None, Some(path)) => {
            let c = case::load(&path)?;
            let seeds = case::ledger::resolve(&c, &store)
                .with_context(|| format!("case {}", path.display()))?;
            if args.opts.out.is_none() && !args.opts.json {
                bail!("--out DIR is required to trace a case (it gets trace.json)");
            }
            (Some(c), seeds, false, args.opts)
        }
        (None, None) => bail!("give a case file or `address ADDR`"),
    };
    let coins = seed_coins(&seeds);
    let unit = seeds
        .first()
        .map_or_else(|| Unit::native(Chain::Bitcoin), |s| s.unit.clone());
    let models = parse_models(&o.model)?;
    let mut traces = Vec::new();
    // Every model reads the same ledger data: one source, its caches shared.
    let mut src = Source::new(&store, analysis.as_ref(), parse_level(&o.level)?)?;
    for &model in &models {
        let params = o.params(model, backward, &unit)?;
        let bar = TraceBar::new(model.name());
        let t = if backward {
            trace::trace_backward(&mut src, &coins, params, &bar)?
        } else {
            trace::trace_forward(&mut src, &coins, params, &bar)?
        };
        bar.finish();
        traces.push(stamp(t, case.as_ref()));
    }
    if let Some(dir) = &o.out {
        write_traces(dir, &traces)?;
    }
    if o.json {
        return tracer::output::print_json(&traces[0]);
    }
    for t in &traces {
        crate::render::trace(case.as_ref().map(|c| c.id.as_str()), t);
    }
    if traces.len() > 1 {
        crate::render::comparison(&traces);
    }
    if let Some(dir) = &o.out {
        tracer::outln!("written: {}", dir.join("trace.json").display());
    }
    Ok(())
}

fn write_traces(dir: &Path, traces: &[TraceFile]) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for (i, t) in traces.iter().enumerate() {
        let name = if i == 0 {
            "trace.json".to_string()
        } else {
            format!("trace-{}.json", t.params.model.name())
        };
        write_json(&dir.join(name), t)?;
    }
    if traces.len() > 1 {
        let models = traces.iter().map(compare_row).collect::<Result<_>>()?;
        let comparison = Comparison {
            unit: traces[0].unit.clone(),
            models,
        };
        write_json(&dir.join("comparison.json"), &comparison)?;
    }
    Ok(())
}

fn compare_row(t: &TraceFile) -> Result<Compared> {
    let s = &t.summary;
    let b = &s.beyond;
    Ok(Compared {
        model: t.params.model,
        seed_value: s.seed_value,
        endpoints: s.endpoints,
        unspent: s.unspent,
        fees: s.fees,
        coinjoins: s.coinjoins,
        beyond: Amount::sum([b.max_hops, b.min_amount, b.time_limit, b.max_txs])?,
        endpoint_count: t.endpoints.len(),
        hops: t.edges.len(),
    })
}

/// Opens the analysis store of ledger `db`, if one exists.
fn open_analysis(db: &Path) -> Result<Option<AnalysisStore>> {
    Ok(if heuristics::store::analysis_dir(db).exists() {
        Some(AnalysisStore::open_read_only(db)?)
    } else {
        None
    })
}

/// `tracer evaluate --traces`: every truth case traced under `models`.
pub fn evaluate(
    db: &Path,
    store: &Store,
    truth: &Path,
    models: &[String],
    level: &str,
    coinjoins: CoinJoinPolicy,
) -> Result<TraceEvaluation> {
    let analysis = open_analysis(db)?;
    let granularity = parse_level(level)?;
    let mut params = Vec::new();
    for model in parse_models(models)? {
        let mut p = Params::new(model);
        p.granularity = granularity;
        p.coinjoins = coinjoins;
        params.push(p);
    }
    tracer::trace_eval::evaluate_traces(store, analysis.as_ref(), truth, &params)
}

/// Writes trace-evaluation.md and .json into `dir`.
pub fn write_evaluation(dir: &Path, t: &TraceEvaluation) -> Result<()> {
    write_report(dir, "trace-evaluation", &tracer::trace_eval::markdown(t), t)
}

/// Traces each case forward under `model` at `level` with the default
/// limits (what `tracer link` compares).
pub fn trace_docs(
    db: &Path,
    opts: StoreOptions,
    cases: &[(PathBuf, Case)],
    model: Model,
    level: &str,
) -> Result<Vec<TraceFile>> {
    let store = Store::open_read_only(db, opts)?;
    let analysis = open_analysis(db)?;
    let granularity = parse_level(level)?;
    let mut src = Source::new(&store, analysis.as_ref(), granularity)?;
    let mut params = Params::new(model);
    params.granularity = granularity;
    let mut docs = Vec::with_capacity(cases.len());
    for (path, c) in cases {
        let seeds =
            case::ledger::resolve(c, &store).with_context(|| format!("case {}", path.display()))?;
        let coins = seed_coins(&seeds);
        let t = trace::trace_forward(&mut src, &coins, params, &trace::Quiet)?;
        docs.push(stamp(t, Some(c)));
    }
    Ok(docs)
}

/// The ledger outputs of resolved seeds as trace seeds, each carrying its value.
fn seed_coins(seeds: &[case::ledger::SeedOutput]) -> Vec<SeedCoin> {
    seeds
        .iter()
        .map(|s| SeedCoin {
            out: s.out,
            amount: Amount::new(s.value),
        })
        .collect()
}
