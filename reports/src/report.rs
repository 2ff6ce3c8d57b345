//! The trace report as data (`report.json`, schema in
//! `reports/schema/trace-report.schema.json`): built from the trace files,
//! the case, the evaluation measurements and the ledger's provenance. The
//! HTML and CSV renderers print this and nothing else.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;
use trace_file::{Amount, Chain, EndpointRule, HopRule, NodeLevel, TraceFile};

use crate::lang::Lang;
use crate::prices::Prices;
use crate::units::jst;
use crate::Error;

/// Format version of `report.json`.
pub const REPORT_FORMAT: u32 = 1;

/// What a report is made from besides the trace files.
#[derive(Debug, Clone)]
pub struct Inputs {
    /// Language.
    pub lang: Lang,
    /// `evaluation.json` of `tracer evaluate`, if given.
    pub evaluation: Option<Value>,
    /// JPY prices, if given.
    pub prices: Option<Prices>,
    /// Ledger fingerprint, if the ledger was opened.
    pub fingerprint: Option<String>,
    /// Where the ledger's data came from, as the user states it.
    pub data_source: Option<String>,
    /// Commands that regenerate the trace and the report.
    pub commands: Vec<String>,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Format version.
    pub format: u32,
    /// Language.
    pub lang: Lang,
    /// Title.
    pub title: String,
    /// The case.
    pub case: Value,
    /// The traced asset.
    pub unit: UnitRow,
    /// Endpoints, largest first (the table investigators act on).
    pub endpoints: Vec<EndpointRow>,
    /// Seeds.
    pub seeds: Vec<SeedRow>,
    /// Where every unit went.
    pub summary: Vec<SummaryRow>,
    /// Every hop, in chain order.
    pub hops: Vec<HopRow>,
    /// CoinJoins the trace stopped at.
    pub barriers: Vec<BarrierRow>,
    /// Graph nodes (index = node id of the hops).
    pub nodes: Vec<NodeRow>,
    /// Model, parameters and heuristics with their error rates.
    pub methodology: Methodology,
    /// The other models' results side by side (when several were traced).
    pub models: Vec<ModelRow>,
    /// Where the data came from.
    pub provenance: Provenance,
    /// Commands that regenerate the trace and this report.
    pub commands: Vec<String>,
}

/// The traced asset.
#[derive(Debug, Clone, Serialize)]
pub struct UnitRow {
    /// Symbol.
    pub symbol: String,
    /// Decimals.
    pub decimals: Option<u8>,
    /// Token contract.
    pub token: Option<String>,
}

/// One endpoint.
#[derive(Debug, Clone, Serialize)]
pub struct EndpointRow {
    /// Service.
    pub service: String,
    /// Class.
    pub class: String,
    /// Deposit address.
    pub deposit_address: String,
    /// Amount (smallest unit, decimal string).
    pub amount: String,
    /// Amount with its unit.
    pub amount_text: String,
    /// Share of the seeds.
    pub share: f64,
    /// JPY at the arrivals' dates.
    pub jpy: Option<i64>,
    /// First arrival, UTC.
    pub first_time_utc: String,
    /// First arrival, JST.
    pub first_time_jst: String,
    /// Last arrival, UTC.
    pub last_time_utc: String,
    /// Last arrival, JST.
    pub last_time_jst: String,
    /// Rule.
    pub rule: String,
    /// Tag label and source.
    pub tag: String,
    /// Sweep transaction.
    pub sweep_txid: Option<String>,
    /// Confidence in percent.
    pub confidence: u8,
    /// Arriving outputs.
    pub outputs: Vec<ArrivalRow>,
}

impl EndpointRow {
    /// The evidence in one line, in `lang`: rule, tag, sweep transaction.
    pub fn evidence_text(&self, lang: Lang) -> String {
        let rule = crate::terms::term(&self.rule, lang);
        match &self.sweep_txid {
            Some(s) => format!("{rule}: {}; {} {s}", self.tag, lang.t("sweep")),
            None => format!("{rule}: {}", self.tag),
        }
    }
}

/// An output arriving at an endpoint.
#[derive(Debug, Clone, Serialize)]
pub struct ArrivalRow {
    /// Transaction.
    pub txid: String,
    /// Output index.
    pub vout: u32,
    /// Block height.
    pub height: u64,
    /// UTC.
    pub time_utc: String,
    /// JST.
    pub time_jst: String,
    /// Amount (decimal string).
    pub amount: String,
    /// Hops from the seeds.
    pub hop: u32,
}

/// A seed.
#[derive(Debug, Clone, Serialize)]
pub struct SeedRow {
    /// Transaction.
    pub txid: String,
    /// Output index.
    pub vout: u32,
    /// Receiving address.
    pub address: Option<String>,
    /// Amount (decimal string).
    pub amount: String,
    /// Amount with its unit.
    pub amount_text: String,
    /// Block height.
    pub height: u64,
    /// UTC.
    pub time_utc: String,
    /// JST.
    pub time_jst: String,
}

/// One line of the accounting.
#[derive(Debug, Clone, Serialize)]
pub struct SummaryRow {
    /// Key.
    pub key: &'static str,
    /// Label.
    pub label: String,
    /// Amount (decimal string).
    pub amount: String,
    /// Amount with its unit.
    pub amount_text: String,
    /// Share of the seeds.
    pub share: f64,
}

/// A hop.
#[derive(Debug, Clone, Serialize)]
pub struct HopRow {
    /// Transaction.
    pub txid: String,
    /// Output index.
    pub vout: u32,
    /// Block height.
    pub height: u64,
    /// UTC.
    pub time_utc: String,
    /// JST.
    pub time_jst: String,
    /// Sending node's address.
    pub from: String,
    /// Receiving address.
    pub to: String,
    /// Sending node id.
    pub from_node: usize,
    /// Receiving node id.
    pub to_node: usize,
    /// Traced amount (decimal string).
    pub amount: String,
    /// Amount with its unit.
    pub amount_text: String,
    /// Output value (decimal string).
    pub value: String,
    /// Share of the seeds.
    pub share: f64,
    /// JPY at the transaction's date.
    pub jpy: Option<i64>,
    /// Hops from the seeds.
    pub hop: u32,
    /// Rule.
    pub rule: String,
    /// Heuristics.
    pub heuristics: Option<String>,
    /// Confidence in percent.
    pub confidence: u8,
}

/// A CoinJoin barrier.
#[derive(Debug, Clone, Serialize)]
pub struct BarrierRow {
    /// Transaction.
    pub txid: String,
    /// Protocol.
    pub kind: String,
    /// Block height.
    pub height: u64,
    /// UTC.
    pub time_utc: String,
    /// Amount with its unit.
    pub amount_text: String,
}

/// A graph node.
#[derive(Debug, Clone, Serialize)]
pub struct NodeRow {
    /// Address.
    pub address: String,
    /// Hops from the seeds.
    pub hop: u32,
    /// Role.
    pub role: String,
    /// Service.
    pub service: Option<String>,
}

/// How the trace was made.
#[derive(Debug, Clone, Serialize)]
pub struct Methodology {
    /// Taint model.
    pub model: String,
    /// Address or cluster level.
    pub granularity: String,
    /// CoinJoin policy.
    pub coinjoins: String,
    /// Stop rules, as text.
    pub limits: String,
    /// Every heuristic the trace relied on.
    pub heuristics: Vec<HeuristicRow>,
}

/// A heuristic with its confidence and measured precision.
#[derive(Debug, Clone, Serialize)]
pub struct HeuristicRow {
    /// Name.
    pub name: String,
    /// What it decided.
    pub used_for: &'static str,
    /// Prior confidence in percent (what links carry).
    pub prior: u8,
    /// Precision measured by `tracer evaluate` on the simulator's ground truth.
    pub measured_precision: Option<f64>,
}

/// One model's totals.
#[derive(Debug, Clone, Serialize)]
pub struct ModelRow {
    /// Model.
    pub model: String,
    /// Reached endpoints (amount with unit).
    pub endpoints: String,
    /// Unspent.
    pub unspent: String,
    /// Endpoint count.
    pub endpoint_count: usize,
}

/// Where the data came from.
#[derive(Debug, Clone, Serialize)]
pub struct Provenance {
    /// Chain.
    pub chain: String,
    /// Network.
    pub network: Option<String>,
    /// Ledger tip height.
    pub tip_height: Option<u64>,
    /// Ledger tip hash.
    pub tip_hash: Option<String>,
    /// Lowest and highest block the trace touched.
    pub block_range: Option<(u64, u64)>,
    /// Cluster build.
    pub clusters: Option<String>,
    /// Data source as stated.
    pub data_source: Option<String>,
    /// The tool that traced.
    pub tool: String,
    /// Ledger fingerprint.
    pub fingerprint: Option<String>,
    /// Price file digest.
    pub prices: Option<String>,
}

/// Builds the report of `traces` (the first is the main model).
pub fn build(traces: &[TraceFile], inputs: &Inputs) -> Result<Report, Error> {
    let t = &traces[0];
    let lang = inputs.lang;
    let unit = &t.unit;
    let text = |a: Amount| a.text(unit.decimals, &unit.symbol);
    let jpy = |items: &[(Amount, &str)]| match &inputs.prices {
        Some(p) => p.jpy_many(&unit.symbol, unit.decimals, items),
        None => Ok(None),
    };
    let mut endpoints = Vec::with_capacity(t.endpoints.len());
    for e in &t.endpoints {
        let items: Vec<(Amount, &str)> = e
            .outputs
            .iter()
            .map(|o| (o.amount, o.time.as_str()))
            .collect();
        endpoints.push(EndpointRow {
            service: e.service.clone(),
            class: e.class.name().to_ascii_lowercase(),
            deposit_address: e.deposit_address.clone(),
            amount: e.amount.to_string(),
            amount_text: text(e.amount),
            share: e.share,
            jpy: jpy(&items)?,
            first_time_utc: e.first_time.clone(),
            first_time_jst: jst(&e.first_time),
            last_time_utc: e.last_time.clone(),
            last_time_jst: jst(&e.last_time),
            rule: e.evidence.rule.name().to_string(),
            tag: format!(
                "{} ({}, {})",
                e.evidence.tag.label, e.evidence.tag.source, e.evidence.tag.pack
            ),
            sweep_txid: e.evidence.sweep_txid.clone(),
            confidence: e.evidence.confidence,
            outputs: e
                .outputs
                .iter()
                .map(|o| ArrivalRow {
                    txid: o.txid.clone(),
                    vout: o.vout,
                    height: o.height,
                    time_utc: o.time.clone(),
                    time_jst: jst(&o.time),
                    amount: o.amount.to_string(),
                    hop: o.hop,
                })
                .collect(),
        });
    }
    let seeds = t
        .seeds
        .iter()
        .map(|s| SeedRow {
            txid: s.txid.clone(),
            vout: s.vout,
            address: s.address.clone(),
            amount: s.amount.to_string(),
            amount_text: text(s.amount),
            height: s.height,
            time_utc: s.time.clone(),
            time_jst: jst(&s.time),
        })
        .collect();
    let s = &t.summary;
    let b = &s.beyond;
    let beyond = Amount::sum([b.max_hops, b.min_amount, b.time_limit, b.max_txs])
        .map_err(|e| Error::Input(format!("trace summary: {e}")))?;
    let share = |a: Amount| trace_file::share(a, s.seed_value);
    let summary = [
        ("seed_value", s.seed_value),
        ("reached", s.endpoints),
        ("unspent", s.unspent),
        ("fees", s.fees),
        ("coinjoins", s.coinjoins),
        ("no_address", s.no_address),
        ("mined", s.mined),
        ("beyond", beyond),
    ]
    .into_iter()
    .map(|(key, a)| SummaryRow {
        key,
        label: lang.t(key).to_string(),
        amount: a.to_string(),
        amount_text: text(a),
        share: share(a),
    })
    .collect();
    let mut hops = Vec::with_capacity(t.edges.len());
    for e in &t.edges {
        hops.push(HopRow {
            txid: e.txid.clone(),
            vout: e.vout,
            height: e.height,
            time_utc: e.time.clone(),
            time_jst: jst(&e.time),
            from: t
                .nodes
                .get(e.from)
                .map(|n| n.address.clone())
                .unwrap_or_default(),
            to: e.address.clone(),
            from_node: e.from,
            to_node: e.to,
            amount: e.amount.to_string(),
            amount_text: text(e.amount),
            value: e.value.to_string(),
            share: e.share,
            jpy: jpy(&[(e.amount, e.time.as_str())])?,
            hop: e.hop,
            rule: e.rule.name().to_string(),
            heuristics: e.heuristics.clone(),
            confidence: e.confidence,
        });
    }
    let barriers = t
        .barriers
        .iter()
        .map(|b| BarrierRow {
            txid: b.txid.clone(),
            kind: b.kind.clone(),
            height: b.height,
            time_utc: b.time.clone(),
            amount_text: text(b.amount),
        })
        .collect();
    let nodes = t
        .nodes
        .iter()
        .map(|n| NodeRow {
            address: n.address.clone(),
            hop: n.hop,
            role: n.role.name().to_string(),
            service: n.service.clone(),
        })
        .collect();
    let models = if traces.len() > 1 {
        traces
            .iter()
            .map(|d| ModelRow {
                model: d.params.model.name().to_string(),
                endpoints: text(d.summary.endpoints),
                unspent: text(d.summary.unspent),
                endpoint_count: d.endpoints.len(),
            })
            .collect()
    } else {
        Vec::new()
    };
    let heights = t
        .edges
        .iter()
        .map(|e| e.height)
        .chain(t.seeds.iter().map(|s| s.height));
    let block_range = heights.clone().min().zip(heights.max());
    Ok(Report {
        format: REPORT_FORMAT,
        lang,
        title: lang.t("title").to_string(),
        case: t
            .case
            .as_ref()
            .map(|c| serde_json::to_value(c).expect("a case serialises"))
            .unwrap_or(Value::Null),
        unit: UnitRow {
            symbol: unit.symbol.clone(),
            decimals: unit.decimals,
            token: unit.token.clone(),
        },
        endpoints,
        seeds,
        summary,
        hops,
        barriers,
        nodes,
        methodology: methodology(t, inputs.evaluation.as_ref()),
        models,
        provenance: Provenance {
            chain: t.ledger.chain.name().to_string(),
            network: t.ledger.network.clone(),
            tip_height: t.ledger.tip_height,
            tip_hash: t.ledger.tip_hash.clone(),
            block_range,
            clusters: t.ledger.clusters.clone(),
            data_source: inputs.data_source.clone(),
            tool: t.tool.clone(),
            fingerprint: inputs.fingerprint.clone(),
            prices: inputs.prices.as_ref().map(|p| p.digest.clone()),
        },
        commands: inputs.commands.clone(),
    })
}

/// How a report names the node level: `address`, `cluster (cospend)`.
fn level_name(l: NodeLevel) -> String {
    match l {
        NodeLevel::Address => "address".into(),
        l => format!("cluster ({l})"),
    }
}

/// The heuristics the trace relied on, each with the confidence its links
/// carry and, where `tracer evaluate` measured it, its precision.
fn methodology(t: &TraceFile, evaluation: Option<&Value>) -> Methodology {
    let eval = evaluation.cloned().unwrap_or(Value::Null);
    let change_precision = |name: &str| {
        eval["change"]
            .as_array()
            .and_then(|a| a.iter().find(|c| c["heuristic"] == name))
            .and_then(|c| c["precision"].as_f64())
    };
    let mut rows: BTreeMap<String, HeuristicRow> = BTreeMap::new();
    let level = t.params.level;
    if level != NodeLevel::Address && t.ledger.chain == Chain::Ethereum {
        // Ethereum clusters join deposit addresses to their exchange and
        // the customers that pay into one (Victor 2020): not measured on
        // the simulator, which has no Ethereum.
        for name in ["deposit_address", "deposit_reuse"] {
            rows.insert(
                name.into(),
                HeuristicRow {
                    name: name.into(),
                    used_for: "clusters",
                    prior: 90,
                    measured_precision: None,
                },
            );
        }
    } else if level != NodeLevel::Address {
        // One level (an object) or every level measured (an array).
        let levels = match &eval["clustering"] {
            Value::Array(a) => a.iter().collect(),
            v => vec![v],
        };
        let measured = levels
            .into_iter()
            .find(|c| c["level"] == level.name())
            .and_then(|c| c["precision"].as_f64());
        rows.insert(
            "multi_input".into(),
            HeuristicRow {
                name: "multi_input".into(),
                used_for: "clusters",
                prior: 99,
                measured_precision: measured,
            },
        );
    }
    for e in &t.edges {
        match e.rule {
            HopRule::Change => {
                for h in e.heuristics.iter().flat_map(|h| h.split(['+', ','])) {
                    let h = h.trim();
                    rows.entry(h.to_string()).or_insert_with(|| HeuristicRow {
                        name: h.to_string(),
                        used_for: "change",
                        prior: e.confidence,
                        measured_precision: change_precision(h),
                    });
                }
            }
            rule @ (HopRule::CoinJoin | HopRule::CoinJoinExit) => {
                let rule = rule.name();
                rows.entry(rule.into()).or_insert(HeuristicRow {
                    name: format!("{rule} ({})", e.heuristics.clone().unwrap_or_default()),
                    used_for: "hops",
                    prior: e.confidence,
                    measured_precision: None,
                });
            }
            _ => {}
        }
    }
    for ep in &t.endpoints {
        let rule: EndpointRule = ep.evidence.rule;
        rows.entry(rule.name().to_string()).or_insert(HeuristicRow {
            name: rule.name().to_string(),
            used_for: "endpoints",
            prior: ep.evidence.confidence,
            measured_precision: None,
        });
    }
    let l = &t.params.limits;
    Methodology {
        model: t.params.model.name().to_string(),
        granularity: level_name(level),
        coinjoins: t.params.coinjoins.name().to_string(),
        limits: format!(
            "max_hops {}, min_amount {}, time_limit {}, max_txs {}",
            l.max_hops,
            l.min_amount,
            l.time_limit.map_or("-".into(), |t| t.to_string()),
            l.max_txs
        ),
        heuristics: rows.into_values().collect(),
    }
}
