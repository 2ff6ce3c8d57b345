//! The running tally of a trace — nodes, hops, endpoints, barriers and
//! totals — and its rendering into the trace file ([`TraceFile`]): a graph
//! of nodes and hops with their evidence, the endpoint table an exchange
//! request needs, and where the rest went. [`Book`] records while the
//! engine runs and sorts everything by ledger ids at the end, so output
//! bytes depend only on the inputs.

use std::collections::BTreeMap;
use std::rc::Rc;

use chain_adapters::ledger::{AddrId, Chain, OutRef, TxId};
use chain_adapters::query::utc;
use trace_file::{
    share, Amount, Barrier, Direction, Edge, Endpoint, EndpointEvidence, EndpointOutput,
    EndpointRule, HopRule, LedgerRef, Node, NodeRole, Seed, Summary, TagClass, TraceFile, Unit,
    FORMAT,
};

use super::source::{Attribution, NodeId, Source};
use super::{HashMap, Params};
use crate::change::HeuristicSet;
use crate::cluster::MULTI_INPUT_PRIOR;
use crate::error::Result;

/// How a hop was judged, with what the file shows of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Value sent to another owner (an on-chain fact).
    Transfer,
    /// Back to the sending address.
    SelfChange,
    /// To the change output named by the heuristics, with their confidence.
    Change(HeuristicSet, u8),
    /// To another member of the sender's cluster.
    SameCluster,
    /// Through a CoinJoin (model share only), with its protocol.
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
        self.file_rule().same_owner()
    }

    fn file_rule(self) -> HopRule {
        match self {
            Rule::Transfer => HopRule::Transfer,
            Rule::SelfChange => HopRule::SelfChange,
            Rule::Change(..) => HopRule::Change,
            Rule::SameCluster => HopRule::SameCluster,
            Rule::CoinJoin(..) => HopRule::CoinJoin,
            Rule::CoinJoinExit(_) => HopRule::CoinJoinExit,
        }
    }

    /// The rule, the heuristics behind it and its confidence.
    fn parts(self) -> (HopRule, Option<String>, u8) {
        let (heuristics, confidence) = match self {
            Rule::Transfer | Rule::SelfChange => (None, 100),
            Rule::Change(h, c) => (Some(h.names()), c),
            Rule::SameCluster => (None, MULTI_INPUT_PRIOR),
            Rule::CoinJoin(kind, c) => (Some(kind.to_string()), c),
            Rule::CoinJoinExit(kind) => (
                Some(format!("{kind}+deposit_address_reuse")),
                COINJOIN_EXIT_CONFIDENCE,
            ),
        };
        (self.file_rule(), heuristics, confidence)
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

/// Why an endpoint is the service's, as the engine found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Evidence {
    /// The rule.
    pub rule: EndpointRule,
    /// The sweep into the service (deposit sweeps).
    pub sweep: Option<TxId>,
    /// The prior of the link between the arrival address and the tag
    /// (100 for a tagged address itself); the endpoint's confidence is the
    /// tag's, lowered to it.
    pub prior: u8,
}

impl Evidence {
    /// Reaching a tagged service at an address: the tagged address itself
    /// (no link needed), or a member of its cluster (the co-spend prior).
    pub fn tagged(rule: EndpointRule) -> Evidence {
        Evidence {
            rule,
            sweep: None,
            prior: match rule {
                EndpointRule::TaggedAddress => 100,
                EndpointRule::TaggedCluster | EndpointRule::DepositSweep => MULTI_INPUT_PRIOR,
            },
        }
    }
}

/// Taint arriving at an endpoint: the address it arrived at (the deposit
/// address), the output, the hops from the seeds, the output's value and
/// the taint in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arrival {
    /// The node it belongs to.
    pub node: NodeId,
    /// The address the output paid: the deposit address.
    pub deposit: AddrId,
    /// The output.
    pub out: OutRef,
    /// Hops from the seeds to the output.
    pub hop: u32,
    /// The output's value.
    pub value: Amount,
    /// Taint in it.
    pub amount: Amount,
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
    evidence: Evidence,
    tag: trace_file::Tag,
    /// (output, hop, value, taint)
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
    pub fn arrive(&mut self, n: NodeId, addr: AddrId, hop: u32, amount: Amount) -> Result<()> {
        let s = self.nodes.entry(n).or_insert(NodeState {
            hop,
            ..NodeState::default()
        });
        s.hop = s.hop.min(hop);
        s.received.add_assign(amount)?;
        s.first_addr.get_or_insert(addr);
        Ok(())
    }

    /// Records a seed output paying node `n` (address `addr`), or no
    /// address (`None`: its taint counts as sent to no address).
    pub fn seed(
        &mut self,
        to: Option<(NodeId, AddrId)>,
        out: OutRef,
        amount: Amount,
    ) -> Result<()> {
        match to {
            Some((n, addr)) => {
                self.arrive(n, addr, 0, amount)?;
                self.mark(n, ROLE_SEED);
            }
            None => self.summary.no_address.add_assign(amount)?,
        }
        self.seeds.push((out, amount));
        self.summary.seed_value.add_assign(amount)?;
        Ok(())
    }

    fn mark(&mut self, n: NodeId, role: u8) {
        self.nodes.entry(n).or_default().role |= role;
    }

    /// Records a hop.
    pub fn hop(&mut self, h: Hop) {
        self.edges.push(h);
    }

    /// Counts taint paid as fees.
    pub fn fee(&mut self, amount: Amount) -> Result<()> {
        Ok(self.summary.fees.add_assign(amount)?)
    }

    /// Counts taint sent to (or, backward, coming from) no address.
    pub fn no_address(&mut self, amount: Amount) -> Result<()> {
        Ok(self.summary.no_address.add_assign(amount)?)
    }

    /// Taint stopped at node `n` for `why`.
    pub fn stop(&mut self, n: Option<NodeId>, why: Stop, amount: Amount) -> Result<()> {
        let (slot, role) = match why {
            Stop::Unspent => (&mut self.summary.unspent, ROLE_UNSPENT),
            Stop::MaxHops => (&mut self.summary.beyond.max_hops, ROLE_LIMIT),
            Stop::MinAmount => (&mut self.summary.beyond.min_amount, ROLE_LIMIT),
            Stop::TimeLimit => (&mut self.summary.beyond.time_limit, ROLE_LIMIT),
            Stop::MaxTxs => (&mut self.summary.beyond.max_txs, ROLE_LIMIT),
            Stop::Mined => (&mut self.summary.mined, ROLE_ENDPOINT),
        };
        slot.add_assign(amount)?;
        if let Some(n) = n {
            self.mark(n, role);
        }
        Ok(())
    }

    /// Taint `amount` entered CoinJoin `tx` from node `n`.
    pub fn barrier(
        &mut self,
        n: NodeId,
        tx: TxId,
        kind: &'static str,
        amount: Amount,
    ) -> Result<()> {
        self.summary.coinjoins.add_assign(amount)?;
        self.barriers
            .entry(tx)
            .or_insert((kind, Amount::ZERO))
            .1
            .add_assign(amount)?;
        self.mark(n, ROLE_COINJOIN);
        Ok(())
    }

    /// Taint reached service `attr` by `arrival` through its tags alone: the
    /// tagged address itself or a member of its cluster ([`Evidence::tagged`]).
    pub fn tagged_endpoint(
        &mut self,
        src: &mut Source<'_>,
        attr: &Attribution,
        arrival: Arrival,
    ) -> Result<()> {
        let rule = src.tag_rule(attr, arrival.deposit)?;
        self.endpoint(attr, Evidence::tagged(rule), arrival)
    }

    /// Taint reached service `attr` by `arrival`, for the reason `evidence`.
    pub fn endpoint(
        &mut self,
        attr: &Attribution,
        evidence: Evidence,
        arrival: Arrival,
    ) -> Result<()> {
        let service = attr.service.clone().unwrap_or_default();
        let tag = attr.tags[0].clone();
        self.summary.endpoints.add_assign(arrival.amount)?;
        self.mark(arrival.node, ROLE_ENDPOINT);
        self.endpoints
            .entry((service.clone(), arrival.deposit))
            .or_insert_with(|| EndpointAcc {
                service,
                class: attr.class,
                deposit: arrival.deposit,
                evidence,
                tag,
                outputs: Vec::new(),
            })
            .outputs
            .push((arrival.out, arrival.hop, arrival.value, arrival.amount));
        Ok(())
    }

    /// Sorts and renders the book as a trace file (its tool, command and
    /// case are the caller's to fill in).
    pub fn finish(
        self,
        src: &mut Source<'_>,
        params: Params,
        direction: Direction,
    ) -> Result<TraceFile> {
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
            nodes.push(Node {
                id: i,
                address: src.show(first)?,
                cluster: src.level().map(|_| u64::from(n)),
                cluster_size: src.cluster_size(n)?,
                contract: src.is_contract(first)?,
                hop: s.hop,
                received: s.received,
                role: role_of(s.role),
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
            edges.push(Edge {
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
            let mut amount = Amount::ZERO;
            for &(out, hop, value, a) in &acc.outputs {
                let tx = labels.of(src, out.tx)?;
                amount.add_assign(a)?;
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
            let ev = acc.evidence;
            let sweep_txid = match ev.sweep {
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
                    rule: ev.rule,
                    confidence: acc.tag.confidence_level.min(ev.prior),
                    tag: acc.tag,
                    sweep_txid,
                    cluster_level: (ev.rule == EndpointRule::TaggedCluster)
                        .then(|| src.level().map(|l| l.file_level()))
                        .flatten(),
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
                kind: kind.to_string(),
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
            seeds.push(Seed {
                txid: tx.txid.clone(),
                vout: out.vout,
                address: match o.addr {
                    Some(a) => Some(src.show(a)?),
                    None => None,
                },
                value: Amount::new(o.value),
                amount,
                height: tx.height,
                time: tx.time.clone(),
            });
        }
        Ok(TraceFile {
            tool: concat!("tracer ", env!("CARGO_PKG_VERSION")).to_string(),
            command: None,
            case: None,
            format: FORMAT,
            direction,
            params: params.to_file(),
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

fn role_of(r: u8) -> NodeRole {
    if r & ROLE_ENDPOINT != 0 {
        NodeRole::Endpoint
    } else if r & ROLE_COINJOIN != 0 {
        NodeRole::CoinJoin
    } else if r & ROLE_SEED != 0 {
        NodeRole::Seed
    } else if r & ROLE_LIMIT != 0 {
        NodeRole::Limit
    } else if r & ROLE_UNSPENT != 0 {
        NodeRole::Unspent
    } else {
        NodeRole::Intermediate
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

/// The chain as a trace file names it.
pub fn file_chain(c: Chain) -> trace_file::Chain {
    match c {
        Chain::Bitcoin => trace_file::Chain::Bitcoin,
        Chain::Ethereum => trace_file::Chain::Ethereum,
    }
}

/// The ledger state of the chain a trace ran on (that of its first seed).
fn ledger_ref(src: &mut Source<'_>, first_seed: Option<TxId>) -> Result<LedgerRef> {
    let chain = match first_seed {
        Some(tx) => src.tx(tx)?.chain,
        None => Chain::Bitcoin,
    };
    let tip = src.store.tip(chain)?;
    Ok(LedgerRef {
        chain: file_chain(chain),
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
