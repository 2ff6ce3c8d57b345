//! Change detection: which output of a transaction returns value to the
//! sender. Ten heuristics each name at most one candidate output with a
//! prior confidence; a [`VotePolicy`] decides whether the candidates agree
//! enough to link the change address to the sender's cluster.

mod facts;
mod rules;

pub use facts::{ForwardFacts, ForwardStream, Spender};
pub use rules::{votes, TxContext};

use serde::Serialize;

/// A change heuristic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeHeuristic {
    /// The only output address first seen in this transaction (Meiklejohn's
    /// one-time change), when no output pays back to an input address.
    FreshAddress = 0,
    /// An output pays back to an input address.
    AddressReuse = 1,
    /// The only output whose script type matches the (single) input type.
    ScriptType = 2,
    /// The only output that is not a round amount (the others are multiples of 10⁴ sat).
    RoundPayment = 3,
    /// The only output smaller than every input (a larger payment would not
    /// have needed all the inputs).
    OptimalChange = 4,
    /// The only output later spent with this transaction's locktime habit
    /// (zero / non-zero).
    Locktime = 5,
    /// The only output later spent by a transaction of this one's version.
    Version = 6,
    /// The only output later spent with this transaction's RBF signalling.
    Rbf = 7,
    /// The only output later spent by a transaction with as many outputs as this one.
    OutputCount = 8,
    /// Peel chain: a one-address, two-output transaction whose only
    /// continuation is another such step.
    PeelChain = 9,
}

impl ChangeHeuristic {
    /// Every heuristic, in code order.
    pub const ALL: [ChangeHeuristic; 10] = [
        ChangeHeuristic::FreshAddress,
        ChangeHeuristic::AddressReuse,
        ChangeHeuristic::ScriptType,
        ChangeHeuristic::RoundPayment,
        ChangeHeuristic::OptimalChange,
        ChangeHeuristic::Locktime,
        ChangeHeuristic::Version,
        ChangeHeuristic::Rbf,
        ChangeHeuristic::OutputCount,
        ChangeHeuristic::PeelChain,
    ];

    /// Short name, as users type it.
    pub fn name(self) -> &'static str {
        match self {
            ChangeHeuristic::FreshAddress => "fresh_address",
            ChangeHeuristic::AddressReuse => "address_reuse",
            ChangeHeuristic::ScriptType => "script_type",
            ChangeHeuristic::RoundPayment => "round_payment",
            ChangeHeuristic::OptimalChange => "optimal_change",
            ChangeHeuristic::Locktime => "locktime",
            ChangeHeuristic::Version => "version",
            ChangeHeuristic::Rbf => "rbf",
            ChangeHeuristic::OutputCount => "output_count",
            ChangeHeuristic::PeelChain => "peel_chain",
        }
    }

    /// Parses [`ChangeHeuristic::name`].
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|h| h.name() == s)
    }

    /// Prior confidence in percent: the published precision of the heuristic
    /// (Möser & Narayanan) where there is one, else a conservative estimate.
    /// `tracer evaluate` measures the actual rates.
    pub fn prior(self) -> u8 {
        match self {
            ChangeHeuristic::FreshAddress => 96,
            ChangeHeuristic::AddressReuse => 99,
            ChangeHeuristic::ScriptType => 88,
            ChangeHeuristic::RoundPayment => 97,
            ChangeHeuristic::OptimalChange => 92,
            ChangeHeuristic::Locktime => 98,
            ChangeHeuristic::Version => 98,
            ChangeHeuristic::Rbf => 90,
            ChangeHeuristic::OutputCount => 68,
            ChangeHeuristic::PeelChain => 90,
        }
    }

    /// Bit of this heuristic in a [`HeuristicSet`].
    pub fn bit(self) -> u16 {
        1 << self as u16
    }
}

/// A set of change heuristics as a bit mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HeuristicSet(pub u16);

impl HeuristicSet {
    /// All ten heuristics.
    pub const ALL: HeuristicSet = HeuristicSet((1 << 10) - 1);

    /// Whether `h` is in the set.
    pub fn contains(self, h: ChangeHeuristic) -> bool {
        self.0 & h.bit() != 0
    }

    /// The heuristics in the set, in code order.
    pub fn iter(self) -> impl Iterator<Item = ChangeHeuristic> {
        ChangeHeuristic::ALL
            .into_iter()
            .filter(move |h| self.contains(*h))
    }

    /// Names joined by `+`.
    pub fn names(self) -> String {
        self.iter().map(|h| h.name()).collect::<Vec<_>>().join("+")
    }

    /// Parses a comma-separated list of heuristic names (or `all`).
    pub fn parse(s: &str) -> Result<Self, String> {
        if s == "all" {
            return Ok(Self::ALL);
        }
        s.split(',')
            .map(str::trim)
            .try_fold(HeuristicSet(0), |set, name| {
                ChangeHeuristic::parse(name)
                    .map(|h| HeuristicSet(set.0 | h.bit()))
                    .ok_or_else(|| {
                        format!(
                            "unknown change heuristic '{name}' (known: {})",
                            HeuristicSet::ALL.names().replace('+', ", ")
                        )
                    })
            })
    }
}

/// One heuristic's candidate change output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vote {
    /// The heuristic.
    pub heuristic: ChangeHeuristic,
    /// Index of the candidate output.
    pub output: usize,
}

/// When the votes are strong enough to link a change output to its sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VotePolicy {
    /// Heuristics taken into account.
    pub heuristics: HeuristicSet,
    /// Votes an output needs.
    pub min_votes: u8,
}

impl Default for VotePolicy {
    fn default() -> Self {
        VotePolicy {
            heuristics: HeuristicSet::ALL,
            min_votes: 2,
        }
    }
}

/// A change decision: the output and the heuristics that agreed on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChangeDecision {
    /// Index of the change output.
    pub output: usize,
    /// Heuristics that named it.
    pub heuristics: HeuristicSet,
    /// The highest prior among them, in percent.
    pub confidence: u8,
}

impl VotePolicy {
    /// The change output, if at least `min_votes` enabled heuristics name it
    /// and no enabled heuristic names another output.
    pub fn decide(&self, votes: &[Vote]) -> Option<ChangeDecision> {
        let mut enabled = votes
            .iter()
            .filter(|v| self.heuristics.contains(v.heuristic));
        let first = enabled.clone().next()?.output;
        if enabled.any(|v| v.output != first) {
            return None;
        }
        let agreeing = votes
            .iter()
            .filter(|v| self.heuristics.contains(v.heuristic));
        let set = HeuristicSet(agreeing.clone().fold(0, |m, v| m | v.heuristic.bit()));
        let confidence = agreeing.map(|v| v.heuristic.prior()).max().unwrap_or(0);
        (set.0.count_ones() >= u32::from(self.min_votes)).then_some(ChangeDecision {
            output: first,
            heuristics: set,
            confidence,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vote(h: ChangeHeuristic, output: usize) -> Vote {
        Vote {
            heuristic: h,
            output,
        }
    }

    #[test]
    fn policy_needs_enough_agreeing_votes_and_no_dissent() {
        let p = VotePolicy::default();
        let agree = [
            vote(ChangeHeuristic::FreshAddress, 1),
            vote(ChangeHeuristic::RoundPayment, 1),
        ];
        let d = p.decide(&agree).expect("two votes agree");
        assert_eq!((d.output, d.confidence), (1, 97));
        assert_eq!(d.heuristics.names(), "fresh_address+round_payment");
        let dissent = [agree[0], agree[1], vote(ChangeHeuristic::ScriptType, 0)];
        assert_eq!(p.decide(&dissent), None);
        assert_eq!(p.decide(&agree[..1]), None);
        let only_fresh = VotePolicy {
            heuristics: HeuristicSet::parse("fresh_address").unwrap(),
            min_votes: 1,
        };
        assert_eq!(only_fresh.decide(&dissent).map(|d| d.output), Some(1));
        assert!(HeuristicSet::parse("fresh_address,nope").is_err());
    }
}
