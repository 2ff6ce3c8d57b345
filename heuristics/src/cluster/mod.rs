//! Address clustering: multi-input (co-spend) links with a CoinJoin guard,
//! optionally change links under a vote policy, a collapse guard against
//! merging two tagged services, and the evidence of every merge.

mod build;
mod engine;
pub(crate) mod persist;
mod query;
mod records;
mod save;
mod unionfind;

pub use build::{build, BuildOptions, BuildSummary};
pub use engine::{Engine, NoObserver, Observer};
pub use persist::Checkpoint;
pub use query::{
    cluster_of, coinjoins, conflicts, explain, members, stats, tagged_members, ClusterIds,
    CoinJoinView, Explanation, Step,
};
pub use unionfind::UnionFind;

use chain_adapters::ledger::{AddrId, TxId};
use serde::Serialize;

use crate::change::HeuristicSet;

/// How aggressively addresses are grouped. Every query says which level it used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Level {
    /// Multi-input (co-spend) links only: conservative.
    #[serde(rename = "cospend")]
    Cospend = 0,
    /// Co-spend plus change links under a vote policy.
    #[serde(rename = "cospend+change")]
    CospendChange = 1,
}

impl Level {
    /// The name users type.
    pub fn name(self) -> &'static str {
        match self {
            Level::Cospend => "cospend",
            Level::CospendChange => "cospend+change",
        }
    }

    /// Parses [`Level::name`].
    pub fn parse(s: &str) -> Option<Level> {
        [Level::Cospend, Level::CospendChange]
            .into_iter()
            .find(|l| l.name() == s)
    }

    /// The level as a trace file names it.
    pub fn file_level(self) -> trace_file::NodeLevel {
        match self {
            Level::Cospend => trace_file::NodeLevel::Cospend,
            Level::CospendChange => trace_file::NodeLevel::CospendChange,
        }
    }
}

/// Prior confidence of a multi-input link in percent: inputs of one
/// non-CoinJoin transaction are signed by one wallet (PayJoin and undetected
/// CoinJoins are the exceptions; `tracer evaluate` measures the rate).
pub const MULTI_INPUT_PRIOR: u8 = 99;

/// Why two addresses were linked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// Both were inputs of one transaction.
    MultiInput = 0,
    /// One received the change of a transaction the other paid from.
    Change = 1,
    /// Both paid into one exchange deposit address (Ethereum): one customer.
    DepositReuse = 2,
    /// An exchange deposit address and the exchange wallet it sweeps into.
    DepositAddress = 3,
}

impl Rule {
    /// Every rule, in code order (its number is its index).
    pub const ALL: [Rule; 4] = [
        Rule::MultiInput,
        Rule::Change,
        Rule::DepositReuse,
        Rule::DepositAddress,
    ];

    /// Decodes the stored code.
    pub fn from_u8(b: u8) -> Option<Self> {
        Self::ALL.get(b as usize).copied()
    }

    /// The rule as a trace file names it.
    pub fn file_rule(self) -> trace_file::ClusterRule {
        match self {
            Rule::MultiInput => trace_file::ClusterRule::MultiInput,
            Rule::Change => trace_file::ClusterRule::Change,
            Rule::DepositReuse => trace_file::ClusterRule::DepositReuse,
            Rule::DepositAddress => trace_file::ClusterRule::DepositAddress,
        }
    }

    /// The name reports use.
    pub fn name(self) -> &'static str {
        match self {
            Rule::MultiInput => "multi_input",
            Rule::Change => "change",
            Rule::DepositReuse => "deposit_reuse",
            Rule::DepositAddress => "deposit_address",
        }
    }
}

/// The evidence of one link: the transaction, the rule, and for change links
/// the heuristics that agreed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Evidence {
    /// Transaction that shows the link.
    pub tx: TxId,
    /// Rule applied.
    pub rule: Rule,
    /// Change heuristics that named the output (empty for multi-input).
    pub heuristics: HeuristicSet,
    /// Confidence in percent.
    pub confidence: u8,
}

/// A merge that joined two clusters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link {
    /// An address of one cluster (the transaction's first input).
    pub a: AddrId,
    /// An address of the other.
    pub b: AddrId,
    /// Why.
    pub evidence: Evidence,
}

/// A merge the collapse guard refused: it would have joined clusters tagged
/// as two different services. `evidence` is `None` when tags imported after
/// the clusters were formed put two services in one cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// Address on one side.
    pub a: AddrId,
    /// Address on the other side.
    pub b: AddrId,
    /// Service of `a`'s cluster.
    pub service_a: String,
    /// Service of `b`'s cluster.
    pub service_b: String,
    /// The link that was refused.
    pub evidence: Option<Evidence>,
}

/// Per-cluster statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ClusterStats {
    /// Number of addresses.
    pub size: u32,
    /// Sum of the addresses' balances (smallest unit).
    pub balance: i128,
    /// Height of the first transaction touching the cluster.
    pub first_height: u32,
    /// Height of the last one.
    pub last_height: u32,
    /// Addresses with attribution tags.
    pub tagged: u32,
}

impl ClusterStats {
    /// Adds one address's facts.
    pub fn add(&mut self, f: &AddressFacts, tagged: bool) {
        self.size += 1;
        self.balance += f.balance;
        self.first_height = self.first_height.min(f.first_height);
        self.last_height = self.last_height.max(f.last_height);
        self.tagged += u32::from(tagged);
    }
}

impl Default for ClusterStats {
    /// No addresses yet: the first height is the largest possible, so that
    /// [`ClusterStats::add`] lowers it to the first address's.
    fn default() -> Self {
        ClusterStats {
            size: 0,
            balance: 0,
            first_height: u32::MAX,
            last_height: 0,
            tagged: 0,
        }
    }
}

/// What the ledger says about one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressFacts {
    /// Received minus sent.
    pub balance: i128,
    /// Height of the first transaction touching it (`u32::MAX` before any).
    pub first_height: u32,
    /// Height of the last one.
    pub last_height: u32,
}

impl Default for AddressFacts {
    fn default() -> Self {
        AddressFacts {
            balance: 0,
            first_height: u32::MAX,
            last_height: 0,
        }
    }
}
