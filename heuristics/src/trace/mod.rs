//! Following the money: hop-by-hop tracing of funds from seed outputs
//! (forward: where did it go?) or from an address's receipts (backward:
//! where did it come from?), under a taint model, until it reaches
//! attributed services or a limit.
//!
//! The engine visits transactions in chain order (forward) or reverse chain
//! order (backward), so every transaction is judged once, with all the
//! taint that enters it. Every link it asserts keeps its evidence: the
//! transaction, the rule (on-chain transfer, change heuristics, same
//! cluster, deposit sweep, tag) and a confidence. Results are sorted by
//! ledger ids, so the same ledger, seeds and parameters give the same
//! bytes.
//!
//! # Taint models
//! - **poison**: every output of a transaction with any tainted input is
//!   tainted in full (an upper bound: amounts are not conserved).
//! - **haircut**: a transaction's tainted share is spread over its outputs
//!   and fee in proportion to their values (amounts are conserved).
//! - **fifo** / **lifo**: each address (or cluster) is an account whose
//!   receipts leave in the order they came (first-in-first-out) or newest
//!   first; within a transaction the inputs' value flows to the outputs in
//!   order (Anderson et al. 2016), the remainder being the fee.

mod account;
mod account_chain;
mod alloc;
mod backward;
mod engine;
mod source;
mod view;

pub use backward::trace_backward;
pub use engine::trace_forward;
pub use source::Source;
pub use trace_file::{share, Amount, CoinJoinPolicy, Model, TraceFile};
pub use view::file_chain;

use chain_adapters::ledger::OutRef;

use crate::change::VotePolicy;
use crate::cluster::Level;

/// Hash maps keyed by ledger ids (fast, not DoS-sensitive: keys come from the ledger).
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// What a trace node is: a single address, or a cluster at a level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granularity {
    /// Every address is its own node.
    Address,
    /// Addresses of one cluster form one node.
    Cluster(Level),
}

impl Granularity {
    /// The name users type: `address`, `cospend`, `cospend+change`.
    pub fn name(self) -> &'static str {
        match self {
            Granularity::Address => "address",
            Granularity::Cluster(l) => l.name(),
        }
    }

    /// Parses [`Granularity::name`].
    pub fn parse(s: &str) -> Option<Granularity> {
        match s {
            "address" => Some(Granularity::Address),
            _ => Level::parse(s).map(Granularity::Cluster),
        }
    }

    /// The level as a trace file names it.
    pub fn file_level(self) -> trace_file::NodeLevel {
        match self {
            Granularity::Address => trace_file::NodeLevel::Address,
            Granularity::Cluster(l) => l.file_level(),
        }
    }
}

/// Where and when a trace stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Hops (transfers to another owner) followed from a seed.
    pub max_hops: u32,
    /// Taint below this (smallest unit) is not followed further.
    pub min_amount: Amount,
    /// Forward: transactions after this time (unix seconds) are not
    /// followed. Backward: transactions before it are not followed.
    pub time_limit: Option<u64>,
    /// Transactions judged before the trace gives up (a safety bound).
    pub max_txs: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_hops: 32,
            min_amount: Amount::new(10_000),
            time_limit: None,
            max_txs: 1_000_000,
        }
    }
}

/// Everything that shapes a trace besides its seeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    /// Taint model.
    pub model: Model,
    /// Address or cluster nodes.
    pub granularity: Granularity,
    /// What to do at CoinJoins.
    pub coinjoins: CoinJoinPolicy,
    /// Stop rules.
    pub limits: Limits,
    /// Change detection used to follow peel chains without counting a hop
    /// (`None`: every transfer to another address is a hop).
    pub change: Option<VotePolicy>,
}

impl Params {
    /// Default parameters for `model`: cospend clusters, CoinJoins as
    /// barriers, default limits, change followed with the default policy.
    pub fn new(model: Model) -> Params {
        Params {
            model,
            granularity: Granularity::Cluster(Level::Cospend),
            coinjoins: CoinJoinPolicy::Barrier,
            limits: Limits::default(),
            change: Some(VotePolicy::default()),
        }
    }

    /// The parameters as a trace file records them.
    pub fn to_file(&self) -> trace_file::Params {
        trace_file::Params {
            model: self.model,
            level: self.granularity.file_level(),
            coinjoins: self.coinjoins,
            limits: trace_file::Limits {
                max_hops: self.limits.max_hops,
                min_amount: self.limits.min_amount,
                time_limit: self.limits.time_limit,
                max_txs: self.limits.max_txs,
            },
            change: self.change.map(|p| trace_file::ChangePolicy {
                min_votes: p.min_votes,
                heuristics: p.heuristics.iter().map(|h| h.name().to_string()).collect(),
            }),
        }
    }
}

/// A starting point: an output (forward) with the taint it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct SeedCoin {
    /// The output.
    pub out: OutRef,
    /// Taint it carries (its value for a whole-output seed).
    pub amount: Amount,
}

/// Reports progress of long traces.
pub trait Progress {
    /// `txs` transactions judged so far, `pending` waiting.
    fn update(&self, txs: u64, pending: usize);
}

/// Progress that shows nothing.
pub struct Quiet;

impl Progress for Quiet {
    fn update(&self, _: u64, _: usize) {}
}
