//! The trace files `tracer trace` writes (`trace.json`, `trace-<model>.json`),
//! read back: reports are made from these files, never from a new trace, so
//! a report shows exactly what was traced.

use serde::Deserialize;
use serde_json::Value;

/// Amounts in a trace file: integers in the smallest unit (JSON numbers up
/// to 2^128).
pub type Amount = u128;

/// One trace file.
#[derive(Debug, Clone, Deserialize)]
pub struct TraceDoc {
    /// `tracer <version>` that wrote it.
    pub tool: String,
    /// The command that wrote it.
    #[serde(default)]
    pub command: Option<String>,
    /// The case (as the case file said).
    pub case: Option<Value>,
    /// Trace format version.
    pub format: u32,
    /// `forward` or `backward`.
    pub direction: String,
    /// Parameters.
    pub params: Params,
    /// Ledger state the trace read.
    pub ledger: Ledger,
    /// What the amounts count.
    pub unit: Unit,
    /// Seeds.
    pub seeds: Vec<Seed>,
    /// Where the traced value ended.
    pub summary: Summary,
    /// Endpoints, largest first.
    pub endpoints: Vec<Endpoint>,
    /// CoinJoins the trace stopped at.
    #[serde(default)]
    pub barriers: Vec<Barrier>,
    /// Graph nodes.
    pub nodes: Vec<Node>,
    /// Hops, in chain order.
    pub edges: Vec<Edge>,
}

/// Trace parameters.
#[derive(Debug, Clone, Deserialize)]
pub struct Params {
    /// Taint model.
    pub model: String,
    /// `address` or a cluster level.
    pub granularity: Value,
    /// `barrier` or `through`.
    pub coinjoins: String,
    /// Stop rules.
    pub limits: Limits,
}

/// Stop rules.
#[derive(Debug, Clone, Deserialize)]
pub struct Limits {
    /// Most hops followed.
    pub max_hops: u32,
    /// Smallest taint followed (smallest unit).
    pub min_amount: Amount,
    /// Time limit (unix seconds).
    pub time_limit: Option<u64>,
    /// Transaction budget.
    pub max_txs: u64,
}

/// Ledger state.
#[derive(Debug, Clone, Deserialize)]
pub struct Ledger {
    /// `bitcoin` or `ethereum`.
    pub chain: String,
    /// Network.
    pub network: Option<String>,
    /// Tip height.
    pub tip_height: Option<u64>,
    /// Tip hash.
    pub tip_hash: Option<String>,
    /// Cluster build used.
    pub clusters: Option<String>,
}

/// The traced asset.
#[derive(Debug, Clone, Deserialize)]
pub struct Unit {
    /// Symbol.
    pub symbol: String,
    /// Decimals of the smallest unit.
    pub decimals: Option<u8>,
    /// Token contract.
    pub token: Option<String>,
}

/// A seed output.
#[derive(Debug, Clone, Deserialize)]
pub struct Seed {
    /// Transaction.
    pub txid: String,
    /// Output index.
    pub vout: u32,
    /// Receiving address.
    pub address: Option<String>,
    /// Output value.
    pub value: Amount,
    /// Taint put on it.
    pub amount: Amount,
    /// Block height.
    pub height: u64,
    /// Block time (UTC).
    pub time: String,
}

/// Totals.
#[derive(Debug, Clone, Deserialize)]
pub struct Summary {
    /// Traced value.
    pub seed_value: Amount,
    /// Reached services.
    pub endpoints: Amount,
    /// Still held, unspent.
    pub unspent: Amount,
    /// Paid as fees.
    pub fees: Amount,
    /// Stopped at CoinJoins.
    pub coinjoins: Amount,
    /// Sent to no address.
    pub no_address: Amount,
    /// Newly mined (backward traces).
    #[serde(default)]
    pub mined: Amount,
    /// Beyond each limit.
    pub beyond: Beyond,
    /// Transactions judged.
    pub txs: u64,
}

/// Value beyond each limit.
#[derive(Debug, Clone, Deserialize)]
pub struct Beyond {
    /// Hop limit.
    pub max_hops: Amount,
    /// Minimum amount.
    pub min_amount: Amount,
    /// Time limit.
    pub time_limit: Amount,
    /// Transaction budget.
    pub max_txs: Amount,
}

/// An endpoint row.
#[derive(Debug, Clone, Deserialize)]
pub struct Endpoint {
    /// Service (tag actor, else label).
    pub service: String,
    /// Class (Exchange, Mixer, …).
    pub class: String,
    /// Deposit address.
    pub deposit_address: String,
    /// Traced value that arrived.
    pub amount: Amount,
    /// Share of the seeds.
    pub share: f64,
    /// First arrival (UTC).
    pub first_time: String,
    /// Last arrival (UTC).
    pub last_time: String,
    /// Arriving outputs.
    pub outputs: Vec<EndpointOutput>,
    /// Why it is attributed.
    pub evidence: Evidence,
}

/// An output arriving at an endpoint.
#[derive(Debug, Clone, Deserialize)]
pub struct EndpointOutput {
    /// Transaction.
    pub txid: String,
    /// Output index.
    pub vout: u32,
    /// Block height.
    pub height: u64,
    /// Block time (UTC).
    pub time: String,
    /// Output value.
    pub value: Amount,
    /// Traced value in it.
    pub amount: Amount,
    /// Hops from the seeds.
    pub hop: u32,
}

/// Endpoint evidence.
#[derive(Debug, Clone, Deserialize)]
pub struct Evidence {
    /// `tagged_address`, `tagged_cluster`, `deposit_sweep`.
    pub rule: String,
    /// The tag.
    pub tag: Tag,
    /// Sweep transaction (deposit sweeps).
    pub sweep_txid: Option<String>,
    /// Cluster level (tagged clusters).
    pub cluster_level: Option<String>,
    /// Confidence in percent.
    pub confidence: u8,
}

/// An attribution tag.
#[derive(Debug, Clone, Deserialize)]
pub struct Tag {
    /// Tagged address.
    pub address: String,
    /// Label.
    pub label: String,
    /// Source.
    pub source: String,
    /// Confidence name.
    pub confidence: String,
    /// Confidence level.
    pub confidence_level: u8,
    /// TagPack.
    pub pack: String,
}

/// A CoinJoin barrier.
#[derive(Debug, Clone, Deserialize)]
pub struct Barrier {
    /// Transaction.
    pub txid: String,
    /// Protocol.
    pub kind: String,
    /// Block height.
    pub height: u64,
    /// Block time.
    pub time: String,
    /// Traced value that entered.
    pub amount: Amount,
}

/// A graph node.
#[derive(Debug, Clone, Deserialize)]
pub struct Node {
    /// Index.
    pub id: usize,
    /// Address (first seen).
    pub address: String,
    /// Cluster id, when nodes are clusters.
    #[serde(default)]
    pub cluster: Option<u64>,
    /// Hops from the seeds.
    pub hop: u32,
    /// Traced value received.
    pub received: Amount,
    /// `seed`, `endpoint`, `intermediate`, …
    pub role: String,
    /// Service, if attributed.
    pub service: Option<String>,
}

/// A hop.
#[derive(Debug, Clone, Deserialize)]
pub struct Edge {
    /// Sending node.
    pub from: usize,
    /// Receiving node.
    pub to: usize,
    /// Transaction.
    pub txid: String,
    /// Output index.
    pub vout: u32,
    /// Receiving address.
    pub address: String,
    /// Block height.
    pub height: u64,
    /// Block time (UTC).
    pub time: String,
    /// Output value.
    pub value: Amount,
    /// Traced value carried.
    pub amount: Amount,
    /// Share of the seeds.
    pub share: f64,
    /// Hops from the seeds.
    pub hop: u32,
    /// `transfer`, `change`, …
    pub rule: String,
    /// Heuristics behind a change hop.
    pub heuristics: Option<String>,
    /// Confidence in percent.
    pub confidence: u8,
}

impl TraceDoc {
    /// Parses a trace file's text.
    pub fn parse(text: &str) -> Result<TraceDoc, serde_json::Error> {
        serde_json::from_str(text)
    }
}
