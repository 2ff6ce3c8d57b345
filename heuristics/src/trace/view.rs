//! The trace result: a graph of nodes and hops with their evidence, the
//! endpoint table an exchange request needs, and where the rest went.
//! [`Book`] records while the engine runs and sorts everything by ledger
//! ids at the end, so output bytes depend only on the inputs.

use std::collections::BTreeMap;
use std::rc::Rc;

use chain_adapters::ledger::{AddrId, Amount, Chain, OutRef, TxId};
use chain_adapters::query::utc;
use serde::Serialize;

use super::source::{Attribution, NodeId, Source};
use super::{HashMap, Params, TRACE_FORMAT};
use crate::change::HeuristicSet;
use crate::cluster::MULTI_INPUT_PRIOR;
use crate::error::Result;
use crate::tags::TagClass;

/// An attribution tag as a trace shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TagView {
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
    pub confidence_level: u8,
    /// Tag pack.
    pub pack: String,
}

/// A seed output.
#[derive(Debug, Clone, Serialize)]
pub struct SeedView {
    /// Transaction id.
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

/// Why a trace attributes an endpoint to a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EndpointEvidence {
    /// `tagged_address` (the receiving address is tagged), `tagged_cluster`
    /// (a member of its cluster is) or `deposit_sweep` (its coins were swept
    /// into a tagged service address).
    pub rule: &'static str,
    /// The strongest tag.
    pub tag: TagView,
    /// The sweep transaction (`deposit_sweep`).
    pub sweep_txid: Option<String>,
    /// Cluster level that joined deposit and tagged address (`tagged_cluster`).
    pub cluster_level: Option<&'static str>,
    /// Confidence 0–100: the tag's, lowered to the co-spend prior when a
    /// cluster link is involved.
    pub confidence: u8,
}

/// One output by which taint reached an endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EndpointOutput {
    /// Transaction paying the deposit address.
    pub txid: String,
    /// Output index.
    pub vout: u32,
    /// Block height.
    pub height: u64,
    /// Block time (UTC).
    pub time: String,
    /// Output value.
    pub value: Amount,
    /// Taint in it.
    pub amount: Amount,
    /// Hops from the seed.
    pub hop: u32,
}

/// Where traced funds entered a service: what a legal request needs.
#[derive(Debug, Clone, Serialize)]
pub struct Endpoint {
    /// The service (actor or label).
    pub service: String,
    /// Its class (exchange, mixer, …).
    pub class: TagClass,
    /// The deposit address.
    pub deposit_address: String,
    /// Tainted amount that arrived.
    pub amount: Amount,
    /// Share of the seed value.
    pub share: f64,
    /// First arrival (UTC).
    pub first_time: String,
    /// Last arrival (UTC).
    pub last_time: String,
    /// The arrivals, in chain order.
    pub outputs: Vec<EndpointOutput>,
    /// Why this is the service's.
    pub evidence: EndpointEvidence,
}

/// A CoinJoin the trace stopped at.
#[derive(Debug, Clone, Serialize)]
pub struct Barrier {
    /// The CoinJoin transaction.
    pub txid: String,
    /// Protocol detected.
    pub kind: &'static str,
    /// Block height.
    pub height: u64,
    /// Block time (UTC).
    pub time: String,
    /// Tainted amount that entered it.
    pub amount: Amount,
}

/// Taint not followed because of a limit.
#[derive(Debug, Clone, Copy, Default, Serialize)]
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

impl Beyond {
    /// Taint not followed for any limit.
    pub fn total(&self) -> Amount {
        self.max_hops + self.min_amount + self.time_limit + self.max_txs
    }
}

/// `part / whole` rounded to 6 decimals (0 when `whole` is 0), as shares
/// are reported.
pub fn share(part: Amount, whole: Amount) -> f64 {
    if whole == 0 {
        0.0
    } else {
        ((part as f64 / whole as f64) * 1e6).round() / 1e6
    }
}

/// Where the seed value went, in total.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Summary {
    /// Taint put on the seeds.
    pub seed_value: Amount,
    /// Reached endpoints.
    pub endpoints: Amount,
    /// Still unspent at the ledger tip.
    pub unspent: Amount,
    /// Paid as fees.
    pub fees: Amount,
    /// Entered CoinJoins (barriers).
    pub coinjoins: Amount,
    /// Sent to outputs without an address (OP_RETURN), or (backward) from
    /// inputs without one.
    pub no_address: Amount,
    /// Backward: came from newly mined coins (coinbase).
    pub mined: Amount,
    /// Not followed because of limits.
    pub beyond: Beyond,
    /// Transactions judged.
    pub txs: u64,
}

/// A node of the trace graph.
#[derive(Debug, Clone, Serialize)]
pub struct NodeView {
    /// Index in `nodes` (edges refer to it).
    pub id: usize,
    /// The address, or the cluster's first address on the trace.
    pub address: String,
    /// Cluster id (cluster granularity).
    pub cluster: Option<AddrId>,
    /// Fewest hops from a seed.
    pub hop: u32,
    /// Taint received.
    pub received: Amount,
    /// `seed`, `intermediate`, `endpoint`, `unspent`, `limit`, `coinjoin`.
    pub role: &'static str,
    /// Service, if tagged as one.
    pub service: Option<String>,
    /// Its tags.
    pub tags: Vec<TagView>,
}

/// A hop: taint moving from one node to another in one output.
#[derive(Debug, Clone, Serialize)]
pub struct EdgeView {
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
    /// Taint moved.
    pub amount: Amount,
    /// Share of the seed value.
    pub share: f64,
    /// Hops from the seed after this step.
    pub hop: u32,
    /// `transfer`, `self_change`, `change`, `same_cluster`, `coinjoin`.
    pub rule: &'static str,
    /// Heuristics behind the rule (change, CoinJoin protocol).
    pub heuristics: Option<String>,
    /// Confidence 0–100 that the step is what `rule` says.
    pub confidence: u8,
}

/// The ledger a trace ran on.
#[derive(Debug, Clone, Serialize)]
pub struct LedgerRef {
    /// Chain.
    pub chain: Chain,
    /// Network.
    pub network: Option<String>,
    /// Tip height.
    pub tip_height: Option<u64>,
    /// Tip hash.
    pub tip_hash: Option<String>,
    /// Cluster build used: level and the height it covered.
    pub clusters: Option<String>,
}

/// The asset a trace follows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unit {
    /// `BTC`, `ETH`, or the token's symbol (its contract if it has none).
    pub symbol: String,
    /// Decimal places of the smallest unit (`None`: a token that does not say).
    pub decimals: Option<u8>,
    /// The token contract (tokens only).
    pub token: Option<String>,
}

/// A finished trace.
#[derive(Debug, Clone, Serialize)]
pub struct Trace {
    /// Output format version.
    pub format: u32,
    /// `forward` or `backward`.
    pub direction: &'static str,
    /// Parameters.
    pub params: Params,
    /// Ledger state.
    pub ledger: LedgerRef,
    /// What the amounts count (all amounts are in its smallest unit).
    pub unit: Unit,
    /// Seeds.
    pub seeds: Vec<SeedView>,
    /// Totals.
    pub summary: Summary,
    /// Endpoints (forward) or sources (backward), largest first.
    pub endpoints: Vec<Endpoint>,
    /// CoinJoins stopped at.
    pub barriers: Vec<Barrier>,
    /// Graph nodes, by ledger id.
    pub nodes: Vec<NodeView>,
    /// Graph edges, in chain order.
    pub edges: Vec<EdgeView>,
}

/// How a hop was judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Value sent to another owner (an on-chain fact).
    Transfer,
    /// Back to the sending address.
    SelfChange,
    /// To the change output named by the heuristics.
    Change(HeuristicSet, u8),
    /// To another member of the sender's cluster.
    SameCluster,
    /// Through a CoinJoin (model share only).
    CoinJoin(&'static str, u8),
    /// Out of a CoinJoin along an output that reaches one of the trace's
    /// exchange deposit addresses ([`super::CoinJoinPolicy::Exits`]).
    CoinJoinExit(&'static str),
}

/// Confidence of a CoinJoin exit: an inference from deposit-address reuse,
/// not an on-chain link.
pub const COINJOIN_EXIT_CONFIDENCE: u8 = 50;

impl Rule {
    /// Whether the step stays with the same owner (no hop counted).
    pub fn same_owner(self) -> bool {
        matches!(
            self,
            Rule::SelfChange | Rule::Change(..) | Rule::SameCluster
        )
    }

    fn parts(self) -> (&'static str, Option<String>, u8) {
        match self {
            Rule::Transfer => ("transfer", None, 100),
            Rule::SelfChange => ("self_change", None, 100),
            Rule::Change(h, c) => ("change", Some(h.names()), c),
            Rule::SameCluster => ("same_cluster", None, MULTI_INPUT_PRIOR),
            Rule::CoinJoin(kind, c) => ("coinjoin", Some(kind.to_string()), c),
            Rule::CoinJoinExit(kind) => (
                "coinjoin_exit",
                Some(format!("{kind}+deposit_address_reuse")),
                COINJOIN_EXIT_CONFIDENCE,
            ),
        }
    }
}

/// A hop as the engine records it.
pub struct Hop {
    /// Sending node.
    pub from: NodeId,
    /// Receiving node.
    pub to: NodeId,
    /// The output that carries it.
    pub out: OutRef,
    /// Receiving address.
    pub addr: AddrId,
    /// Output value.
    pub value: Amount,
    /// Taint moved.
    pub amount: Amount,
    /// Hops from the seed after this step.
    pub hop: u32,
    /// How the step was judged.
    pub rule: Rule,
}

#[derive(Default)]
struct NodeState {
    hop: u32,
    received: Amount,
    first_addr: Option<AddrId>,
    role: u8,
}

const ROLE_SEED: u8 = 1;
const ROLE_ENDPOINT: u8 = 2;
const ROLE_UNSPENT: u8 = 4;
const ROLE_LIMIT: u8 = 8;
const ROLE_COINJOIN: u8 = 16;

/// Where taint stopped, for [`Book::stop`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Unspent at the tip.
    Unspent,
    /// Past the hop limit.
    MaxHops,
    /// Below the minimum amount.
    MinAmount,
    /// Past the time limit.
    TimeLimit,
    /// Budget of transactions used up.
    MaxTxs,
    /// Backward: newly mined coins.
    Mined,
}

struct EndpointAcc {
    service: String,
    class: TagClass,
    deposit: AddrId,
    evidence: (&'static str, Option<TxId>, u8),
    tag: TagView,
    outputs: Vec<(OutRef, u32, Amount, Amount)>,
}

/// Records a trace as it runs.
pub struct Book {
    nodes: BTreeMap<NodeId, NodeState>,
    edges: Vec<Hop>,
    endpoints: BTreeMap<(String, AddrId), EndpointAcc>,
    barriers: BTreeMap<TxId, (&'static str, Amount)>,
    seeds: Vec<(OutRef, Amount)>,
    /// Totals so far.
    pub summary: Summary,
}

impl Book {
    /// An empty book.
    pub fn new() -> Book {
        Book {
            nodes: BTreeMap::new(),
            edges: Vec::new(),
            endpoints: BTreeMap::new(),
            barriers: BTreeMap::new(),
            seeds: Vec::new(),
            summary: Summary::default(),
        }
    }

    /// Taint `amount` arrived at node `n` (address `addr`) after `hop` hops.
    pub fn arrive(&mut self, n: NodeId, addr: AddrId, hop: u32, amount: Amount) {
        let s = self.nodes.entry(n).or_insert(NodeState {
            hop,
            ..NodeState::default()
        });
        s.hop = s.hop.min(hop);
        s.received += amount;
        s.first_addr.get_or_insert(addr);
    }

    /// Records a seed output.
    pub fn seed(&mut self, n: NodeId, addr: AddrId, out: OutRef, amount: Amount) {
        self.arrive(n, addr, 0, amount);
        self.mark(n, ROLE_SEED);
        self.seeds.push((out, amount));
        self.summary.seed_value += amount;
    }

    fn mark(&mut self, n: NodeId, role: u8) {
        self.nodes.entry(n).or_default().role |= role;
    }

    /// Records a hop.
    pub fn hop(&mut self, h: Hop) {
        self.edges.push(h);
    }

    /// Taint stopped at node `n` for `why`.
    pub fn stop(&mut self, n: Option<NodeId>, why: Stop, amount: Amount) {
        let (slot, role) = match why {
            Stop::Unspent => (&mut self.summary.unspent, ROLE_UNSPENT),
            Stop::MaxHops => (&mut self.summary.beyond.max_hops, ROLE_LIMIT),
            Stop::MinAmount => (&mut self.summary.beyond.min_amount, ROLE_LIMIT),
            Stop::TimeLimit => (&mut self.summary.beyond.time_limit, ROLE_LIMIT),
            Stop::MaxTxs => (&mut self.summary.beyond.max_txs, ROLE_LIMIT),
            Stop::Mined => (&mut self.summary.mined, ROLE_ENDPOINT),
        };
        *slot += amount;
        if let Some(n) = n {
            self.mark(n, role);
        }
    }

    /// Taint `amount` entered CoinJoin `tx` from node `n`.
    pub fn barrier(&mut self, n: NodeId, tx: TxId, kind: &'static str, amount: Amount) {
        self.summary.coinjoins += amount;
        self.barriers.entry(tx).or_insert((kind, 0)).1 += amount;
        self.mark(n, ROLE_COINJOIN);
    }

    /// Taint `amount` reached service `attr` at deposit address `deposit`
    /// (node `n`) through output `out` after `hop` hops.
    #[allow(clippy::too_many_arguments)]
    pub fn endpoint(
        &mut self,
        n: NodeId,
        deposit: AddrId,
        attr: &Attribution,
        rule: &'static str,
        sweep: Option<TxId>,
        out: OutRef,
        hop: u32,
        value: Amount,
        amount: Amount,
    ) {
        let service = attr.service.clone().unwrap_or_default();
        let tag = attr.tags[0].clone();
        let confidence = match rule {
            "tagged_address" => tag.confidence_level,
            _ => tag.confidence_level.min(MULTI_INPUT_PRIOR),
        };
        self.summary.endpoints += amount;
        self.mark(n, ROLE_ENDPOINT);
        self.endpoints
            .entry((service.clone(), deposit))
            .or_insert_with(|| EndpointAcc {
                service,
                class: attr.class,
                deposit,
                evidence: (rule, sweep, confidence),
                tag,
                outputs: Vec::new(),
            })
            .outputs
            .push((out, hop, value, amount));
    }

    /// Sorts and renders the book.
    pub fn finish(
        self,
        src: &mut Source<'_>,
        params: Params,
        direction: &'static str,
    ) -> Result<Trace> {
        let seed_value = self.summary.seed_value;
        let share = |a: Amount| share(a, seed_value);
        // Every address shown, read in one batch rather than one by one.
        src.prefetch_addrs(
            self.nodes
                .iter()
                .map(|(&n, s)| s.first_addr.unwrap_or(n))
                .chain(self.edges.iter().map(|e| e.addr))
                .chain(self.endpoints.values().map(|acc| acc.deposit)),
        )?;
        let mut labels = Labels::default();
        let mut index = BTreeMap::new();
        let mut nodes = Vec::with_capacity(self.nodes.len());
        for (i, (&n, s)) in self.nodes.iter().enumerate() {
            index.insert(n, i);
            let attr = src.attribution(n)?;
            let first = s.first_addr.unwrap_or(n);
            nodes.push(NodeView {
                id: i,
                address: src.show(first)?,
                cluster: src.level().map(|_| n),
                hop: s.hop,
                received: s.received,
                role: role_name(s.role),
                service: attr.as_ref().and_then(|a| a.service.clone()),
                tags: attr.map(|a| a.tags.clone()).unwrap_or_default(),
            });
        }
        let mut edges = Vec::with_capacity(self.edges.len());
        let mut sorted = self.edges;
        sorted.sort_by_key(|e| (e.out, e.from, e.to));
        for e in sorted {
            let tx = labels.of(src, e.out.tx)?;
            let (rule, heuristics, confidence) = e.rule.parts();
            edges.push(EdgeView {
                from: index[&e.from],
                to: index[&e.to],
                txid: tx.txid.clone(),
                vout: e.out.vout,
                address: src.show(e.addr)?,
                height: tx.height,
                time: tx.time.clone(),
                value: e.value,
                amount: e.amount,
                share: share(e.amount),
                hop: e.hop,
                rule,
                heuristics,
                confidence,
            });
        }
        let mut endpoints = Vec::with_capacity(self.endpoints.len());
        for (_, mut acc) in self.endpoints {
            acc.outputs.sort();
            let mut outputs = Vec::with_capacity(acc.outputs.len());
            let mut amount = 0;
            for &(out, hop, value, a) in &acc.outputs {
                let tx = labels.of(src, out.tx)?;
                amount += a;
                outputs.push(EndpointOutput {
                    txid: tx.txid.clone(),
                    vout: out.vout,
                    height: tx.height,
                    time: tx.time.clone(),
                    value,
                    amount: a,
                    hop,
                });
            }
            let (rule, sweep, confidence) = acc.evidence;
            let sweep_txid = match sweep {
                Some(t) => Some(labels.of(src, t)?.txid.clone()),
                None => None,
            };
            endpoints.push(Endpoint {
                service: acc.service,
                class: acc.class,
                deposit_address: src.show(acc.deposit)?,
                amount,
                share: share(amount),
                first_time: outputs.first().map(|o| o.time.clone()).unwrap_or_default(),
                last_time: outputs.last().map(|o| o.time.clone()).unwrap_or_default(),
                outputs,
                evidence: EndpointEvidence {
                    rule,
                    tag: acc.tag,
                    sweep_txid,
                    cluster_level: (rule == "tagged_cluster")
                        .then(|| src.level().map(|l| l.name()))
                        .flatten(),
                    confidence,
                },
            });
        }
        endpoints.sort_by(|a, b| {
            b.amount
                .cmp(&a.amount)
                .then_with(|| a.service.cmp(&b.service))
                .then_with(|| a.deposit_address.cmp(&b.deposit_address))
        });
        let mut barriers = Vec::with_capacity(self.barriers.len());
        for (tx, (kind, amount)) in self.barriers {
            let tx = labels.of(src, tx)?;
            barriers.push(Barrier {
                txid: tx.txid.clone(),
                kind,
                height: tx.height,
                time: tx.time.clone(),
                amount,
            });
        }
        let mut seeds = Vec::with_capacity(self.seeds.len());
        let first_seed = self.seeds.first().map(|s| s.0);
        for (out, amount) in self.seeds {
            let t = src.tx(out.tx)?;
            let o = &t.outputs[out.vout as usize];
            let tx = labels.of(src, out.tx)?;
            seeds.push(SeedView {
                txid: tx.txid.clone(),
                vout: out.vout,
                address: match o.addr {
                    Some(a) => Some(src.show(a)?),
                    None => None,
                },
                value: o.value,
                amount,
                height: tx.height,
                time: tx.time.clone(),
            });
        }
        Ok(Trace {
            format: TRACE_FORMAT,
            direction,
            params,
            ledger: ledger_ref(src, first_seed.map(|o| o.tx))?,
            unit: unit_of(src, first_seed)?,
            seeds,
            summary: self.summary,
            endpoints,
            barriers,
            nodes,
            edges,
        })
    }
}

impl Default for Book {
    fn default() -> Self {
        Book::new()
    }
}

fn role_name(r: u8) -> &'static str {
    if r & ROLE_ENDPOINT != 0 {
        "endpoint"
    } else if r & ROLE_COINJOIN != 0 {
        "coinjoin"
    } else if r & ROLE_SEED != 0 {
        "seed"
    } else if r & ROLE_LIMIT != 0 {
        "limit"
    } else if r & ROLE_UNSPENT != 0 {
        "unspent"
    } else {
        "intermediate"
    }
}

/// How a transaction is shown in a trace: txid (display hex), block
/// height and time.
struct TxLabel {
    txid: String,
    height: u64,
    time: String,
}

/// Transaction labels, each formatted once (a trace shows a transaction
/// once per hop out of it).
#[derive(Default)]
struct Labels(HashMap<TxId, Rc<TxLabel>>);

impl Labels {
    fn of(&mut self, src: &mut Source<'_>, id: TxId) -> Result<Rc<TxLabel>> {
        if let Some(l) = self.0.get(&id) {
            return Ok(Rc::clone(l));
        }
        let t = src.tx(id)?;
        let l = Rc::new(TxLabel {
            txid: t.chain.hash_hex(&t.hash),
            height: t.height,
            time: utc(src.time(t.chain, t.height)?),
        });
        self.0.insert(id, Rc::clone(&l));
        Ok(l)
    }
}

/// The unit of the first seed's asset (BTC for a trace without seeds).
fn unit_of(src: &mut Source<'_>, first_seed: Option<OutRef>) -> Result<Unit> {
    let Some(out) = first_seed else {
        return Ok(Unit {
            symbol: "BTC".into(),
            decimals: Some(8),
            token: None,
        });
    };
    let tx = src.tx(out.tx)?;
    let asset = tx.outputs.get(out.vout as usize).map_or(0, |o| o.asset);
    Ok(match (tx.chain, src.view.token(asset)?) {
        (_, Some(t)) => Unit {
            symbol: t.symbol.unwrap_or_else(|| t.contract.clone()),
            decimals: t.decimals,
            token: Some(t.contract),
        },
        (Chain::Ethereum, None) => Unit {
            symbol: "ETH".into(),
            decimals: Some(18),
            token: None,
        },
        (Chain::Bitcoin, None) => Unit {
            symbol: "BTC".into(),
            decimals: Some(8),
            token: None,
        },
    })
}

/// The ledger state of the chain a trace ran on (that of its first seed).
fn ledger_ref(src: &mut Source<'_>, first_seed: Option<TxId>) -> Result<LedgerRef> {
    let chain = match first_seed {
        Some(tx) => src.tx(tx)?.chain,
        None => Chain::Bitcoin,
    };
    let tip = src.store.tip(chain)?;
    Ok(LedgerRef {
        chain,
        network: src.store.network(chain)?,
        tip_height: tip.as_ref().map(|t| t.height),
        tip_hash: tip.map(|t| chain.hash_hex(&t.hash)),
        clusters: src.checkpoint.as_ref().map(|c| {
            let at = c
                .tips
                .iter()
                .map(|(ch, h, _)| format!("{} height {h}", ch.name()))
                .collect::<Vec<_>>()
                .join(", ");
            format!(
                "{} built at {at} ({} merge links)",
                src.level().map_or("", |l| l.name()),
                c.links
            )
        }),
    })
}
