//! The trace file's records: what `tracer trace` writes to `trace.json`
//! (and `trace-<model>.json`) and every reader takes back.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::amount::Amount;
use crate::terms::{
    Chain, CoinJoinPolicy, Crime, Direction, EndpointRule, HopRule, Model, NodeLevel, NodeRole,
    TagClass,
};

/// A transaction id as explorers show it: 64 lowercase hex digits,
/// `0x`-prefixed on Ethereum.
const TXID: &str = r"^(0x)?[0-9a-f]{64}$";
/// A block time: `YYYY-MM-DD HH:MM:SS UTC`.
const UTC: &str = r"^[0-9]{4,5}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} UTC$";

/// One trace file: the tool and command that wrote it, the case, and the
/// trace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "tracer trace file (trace.json)")]
pub struct TraceFile {
    /// `tracer <version>` that wrote it.
    pub tool: String,
    /// The command that wrote it, run from the same directory to
    /// regenerate it (`null` in a redacted bundle: it names paths).
    pub command: Option<String>,
    /// The case whose seeds were traced (`null` for an address trace).
    pub case: Option<Case>,
    /// Trace file format version (this one: 2).
    pub format: u32,
    /// Which way the money was followed.
    pub direction: Direction,
    /// Every parameter that shaped the trace.
    pub params: Params,
    /// The ledger state the trace read.
    pub ledger: LedgerRef,
    /// What the amounts count: every amount is in its smallest unit.
    pub unit: Unit,
    /// Where the trace started.
    pub seeds: Vec<Seed>,
    /// Where the seeds' value went, in total.
    pub summary: Summary,
    /// Endpoints (forward) or sources (backward), largest first.
    pub endpoints: Vec<Endpoint>,
    /// CoinJoins the trace stopped at.
    pub barriers: Vec<Barrier>,
    /// Graph nodes, by ledger id; edges refer to them by index.
    pub nodes: Vec<Node>,
    /// Hops, in chain order.
    pub edges: Vec<Edge>,
}

/// The case as the trace file carries it (personal fields are `null` in a
/// redacted bundle).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// Case number, e.g. `TOKYO-2026-0001`.
    #[schemars(regex(pattern = r"^[A-Za-z0-9._-]{1,64}$"))]
    pub id: String,
    /// One-line description (personal).
    pub title: Option<String>,
    /// Prefecture handling the case (English name).
    pub prefecture: String,
    /// Kind of crime.
    pub crime: Crime,
    /// Date reported, `YYYY-MM-DD`.
    #[schemars(regex(pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"))]
    pub reported: String,
    /// First day of the incident.
    pub incident_from: Option<String>,
    /// Last day of the incident.
    pub incident_until: Option<String>,
    /// Investigator in charge (personal).
    pub investigator: Option<String>,
    /// Free-form notes (personal).
    pub notes: Option<String>,
    /// The seeds as the case file names them.
    pub seeds: Vec<CaseSeed>,
}

/// A seed as the case file names it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CaseSeed {
    /// Chain of the payment or address.
    pub chain: Chain,
    /// The victim's payment: `TXID:INDEX` (Bitcoin: the output index;
    /// Ethereum: the transfer's index in the transaction as `tracer tx`
    /// shows it).
    pub payment: Option<String>,
    /// Or every payment to an address …
    pub address: Option<String>,
    /// … from this time (unix seconds, inclusive) …
    pub from: Option<i64>,
    /// … until this time (unix seconds, inclusive) …
    pub until: Option<i64>,
    /// … of exactly this amount (smallest unit).
    pub amount: Option<Amount>,
    /// Free-form note (personal).
    pub note: Option<String>,
}

/// Every parameter that shaped a trace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Taint model.
    pub model: Model,
    /// Nodes: addresses, or clusters of a level.
    pub level: NodeLevel,
    /// What happened at CoinJoins.
    pub coinjoins: CoinJoinPolicy,
    /// Where the trace stopped.
    pub limits: Limits,
    /// Change detection used to follow peel chains without counting a hop
    /// (`null`: every transfer to another address was a hop).
    pub change: Option<ChangePolicy>,
}

/// The change vote policy a trace followed change outputs by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePolicy {
    /// Agreeing heuristics an output needed (and none naming another).
    pub min_votes: u8,
    /// The heuristics that voted (`fresh_address`, `script_type`, …).
    pub heuristics: Vec<String>,
}

/// Where and when a trace stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Hops (transfers to another owner) followed from a seed.
    pub max_hops: u32,
    /// Taint below this (smallest unit) was not followed further.
    pub min_amount: Amount,
    /// Forward: transactions after this time (unix seconds) were not
    /// followed; backward: before it.
    pub time_limit: Option<u64>,
    /// Transactions judged before the trace gave up.
    pub max_txs: u64,
}

/// The ledger a trace ran on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LedgerRef {
    /// Chain.
    pub chain: Chain,
    /// Network (`main`, `regtest`, chain id …).
    pub network: Option<String>,
    /// Tip height.
    pub tip_height: Option<u64>,
    /// Tip block hash, as explorers show it.
    pub tip_hash: Option<String>,
    /// The cluster build used: level, height covered, merge links.
    pub clusters: Option<String>,
}

/// The asset a trace follows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Unit {
    /// `BTC`, `ETH`, or the token's symbol (its contract if it has none).
    pub symbol: String,
    /// Decimal places of the smallest unit (`null`: a token that does not say).
    #[schemars(range(max = 38))]
    pub decimals: Option<u8>,
    /// The token contract (tokens only).
    pub token: Option<String>,
}

/// A seed output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Seed {
    /// Transaction id.
    #[schemars(regex(pattern = TXID))]
    pub txid: String,
    /// Output index (Ethereum: the transfer's index in the transaction).
    pub vout: u32,
    /// Receiving address.
    pub address: Option<String>,
    /// The output's value.
    pub value: Amount,
    /// Taint put on it (at most its value).
    pub amount: Amount,
    /// Block height.
    pub height: u64,
    /// Block time.
    #[schemars(regex(pattern = UTC))]
    pub time: String,
}

/// Taint not followed because of a limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Beyond {
    /// Past the hop limit.
    pub max_hops: Amount,
    /// Branches below the minimum amount.
    pub min_amount: Amount,
    /// Past the time limit.
    pub time_limit: Amount,
    /// Left when the transaction budget ran out.
    pub max_txs: Amount,
}

/// Where the seed value went, in total.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    /// Taint put on the seeds.
    pub seed_value: Amount,
    /// Reached endpoints.
    pub endpoints: Amount,
    /// Still unspent at the ledger tip.
    pub unspent: Amount,
    /// Paid as fees.
    pub fees: Amount,
    /// Entered CoinJoins the trace stopped at.
    pub coinjoins: Amount,
    /// Sent to outputs without an address (OP_RETURN), or (backward) from
    /// inputs without one.
    pub no_address: Amount,
    /// Backward: came from newly mined coins.
    pub mined: Amount,
    /// Not followed because of limits.
    pub beyond: Beyond,
    /// Transactions judged.
    pub txs: u64,
}

/// An attribution tag as a trace shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Tag {
    /// The tagged address.
    pub address: String,
    /// Label (e.g. `binance.com`).
    pub label: String,
    /// Broad class.
    pub class: TagClass,
    /// GraphSense category.
    pub category: Option<String>,
    /// Actor id.
    pub actor: Option<String>,
    /// Where the attribution comes from.
    pub source: String,
    /// Confidence id (GraphSense scale).
    pub confidence: String,
    /// Confidence level 0–100.
    #[schemars(range(max = 100))]
    pub confidence_level: u8,
    /// The TagPack it came from.
    pub pack: String,
}

/// Why a trace attributes an endpoint to a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointEvidence {
    /// The rule.
    pub rule: EndpointRule,
    /// The strongest tag of the service.
    pub tag: Tag,
    /// The sweep into the service (`deposit_sweep`).
    pub sweep_txid: Option<String>,
    /// The cluster level that joined the deposit address and the tagged
    /// address (`tagged_cluster`).
    pub cluster_level: Option<NodeLevel>,
    /// Confidence 0–100: the tag's, lowered to the linking rule's prior
    /// when a cluster link or a sweep is involved.
    #[schemars(range(max = 100))]
    pub confidence: u8,
}

/// One output by which taint reached an endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointOutput {
    /// Transaction paying the deposit address.
    #[schemars(regex(pattern = TXID))]
    pub txid: String,
    /// Output index (Ethereum: transfer index).
    pub vout: u32,
    /// Block height.
    pub height: u64,
    /// Block time.
    #[schemars(regex(pattern = UTC))]
    pub time: String,
    /// The output's value.
    pub value: Amount,
    /// Taint in it.
    pub amount: Amount,
    /// Hops from the seeds to this output.
    pub hop: u32,
}

/// Where traced funds entered a service: what a legal request needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    /// The service (tag actor, else label).
    pub service: String,
    /// Its class.
    pub class: TagClass,
    /// The address the case's funds arrived at (the customer's deposit
    /// address at an exchange).
    pub deposit_address: String,
    /// Tainted amount that arrived (the sum of `outputs`).
    pub amount: Amount,
    /// Share of the seed value, 6 decimals.
    pub share: f64,
    /// First arrival.
    #[schemars(regex(pattern = UTC))]
    pub first_time: String,
    /// Last arrival.
    #[schemars(regex(pattern = UTC))]
    pub last_time: String,
    /// The arrivals, in chain order.
    pub outputs: Vec<EndpointOutput>,
    /// Why this is the service's.
    pub evidence: EndpointEvidence,
}

/// A CoinJoin the trace stopped at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Barrier {
    /// The CoinJoin transaction.
    #[schemars(regex(pattern = TXID))]
    pub txid: String,
    /// Protocol detected (`whirlpool`, `wasabi2`, `joinmarket`, …).
    pub kind: String,
    /// Block height.
    pub height: u64,
    /// Block time.
    #[schemars(regex(pattern = UTC))]
    pub time: String,
    /// Tainted amount that entered it.
    pub amount: Amount,
}

/// A node of the trace graph: an address, or a cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Node {
    /// Index in `nodes`.
    pub id: usize,
    /// The address, or the cluster's first address on the trace.
    pub address: String,
    /// Cluster id (cluster level): its smallest member's ledger id.
    pub cluster: Option<u64>,
    /// Addresses in the cluster (cluster level; 1 for an address the
    /// build left alone).
    pub cluster_size: Option<u32>,
    /// A contract (Ethereum): code that anybody may call, not a person.
    pub contract: bool,
    /// Fewest hops from a seed.
    pub hop: u32,
    /// Taint received.
    pub received: Amount,
    /// What the node is to the trace.
    pub role: NodeRole,
    /// Service, if tagged as one.
    pub service: Option<String>,
    /// Its tags, strongest first.
    pub tags: Vec<Tag>,
}

/// A hop: taint moving from one node to another in one output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Edge {
    /// Sending node (index in `nodes`).
    pub from: usize,
    /// Receiving node (index in `nodes`).
    pub to: usize,
    /// Transaction.
    #[schemars(regex(pattern = TXID))]
    pub txid: String,
    /// Output index (Ethereum: transfer index).
    pub vout: u32,
    /// Receiving address.
    pub address: String,
    /// Block height.
    pub height: u64,
    /// Block time.
    #[schemars(regex(pattern = UTC))]
    pub time: String,
    /// The output's value.
    pub value: Amount,
    /// Taint moved.
    pub amount: Amount,
    /// Share of the seed value, 6 decimals.
    pub share: f64,
    /// Hops from the seeds after this step.
    pub hop: u32,
    /// How the step was judged.
    pub rule: HopRule,
    /// The heuristics behind the rule (change heuristics joined by `+`,
    /// CoinJoin protocol).
    pub heuristics: Option<String>,
    /// Confidence 0–100 that the step is what `rule` says.
    #[schemars(range(max = 100))]
    pub confidence: u8,
}
