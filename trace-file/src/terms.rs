//! The closed vocabularies of a trace file: models, directions, levels,
//! rules and roles. Each is an enum with the one spelling files use, so a
//! reader never compares free text and a file with an unknown term is
//! refused at parse time.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Declares a vocabulary: the enum, its file spelling and a parse of it.
macro_rules! vocabulary {
    ($(#[$m:meta])* $noun:literal $name:ident { $($(#[$vm:meta])* $v:ident = $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
        pub enum $name {
            $($(#[$vm])* #[serde(rename = $s)] $v),+
        }

        impl $name {
            /// Every term, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$v),+];

            /// The term as files and users spell it.
            pub fn name(self) -> &'static str {
                match self {
                    $($name::$v => $s),+
                }
            }

            /// Parses [`Self::name`].
            pub fn parse(s: &str) -> Option<$name> {
                Self::ALL.iter().copied().find(|t| t.name() == s)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;

            /// Parses [`Self::name`]; the error lists every term.
            fn from_str(s: &str) -> Result<$name, String> {
                $name::parse(s).ok_or_else(|| {
                    let names: Vec<&str> = $name::ALL.iter().map(|t| t.name()).collect();
                    format!("unknown {} {s:?}; expected one of {}", $noun, names.join(", "))
                })
            }
        }
    };
}

vocabulary! {
    /// How taint passes through a transaction and an address.
    "model" Model {
        /// Every output of a tainted transaction is tainted in full (an
        /// upper bound: amounts are not conserved).
        Poison = "poison",
        /// Taint spreads over outputs and fee in proportion to value.
        Haircut = "haircut",
        /// Accounts release receipts oldest first.
        Fifo = "fifo",
        /// Accounts release receipts newest first.
        Lifo = "lifo",
    }
}

impl Model {
    /// Whether the model tracks accounts (address or cluster balances)
    /// rather than individual coins.
    pub fn is_account(self) -> bool {
        matches!(self, Model::Fifo | Model::Lifo)
    }

    /// Whether amounts are conserved: what the seeds carried is exactly
    /// what the summary accounts for (every model but poison).
    pub fn conserves_value(self) -> bool {
        self != Model::Poison
    }
}

vocabulary! {
    /// Which way a trace follows the money.
    "direction" Direction {
        /// Where did it go? From seed outputs to where they were spent.
        Forward = "forward",
        /// Where did it come from? From receipts to their sources.
        Backward = "backward",
    }
}

vocabulary! {
    /// What a trace node is: an address, or a cluster of one level.
    "level" NodeLevel {
        /// Every address is its own node.
        Address = "address",
        /// Multi-input (co-spend) clusters.
        Cospend = "cospend",
        /// Co-spend plus change clusters.
        CospendChange = "cospend+change",
    }
}

vocabulary! {
    /// What a trace does at a multi-party CoinJoin.
    "CoinJoin policy" CoinJoinPolicy {
        /// Stop; report the amount that entered.
        Barrier = "barrier",
        /// Go through, spreading taint by the model.
        Through = "through",
        /// Go through only along outputs that reach an exchange deposit
        /// address where unmixed proceeds of the same trace arrived.
        Exits = "exits",
    }
}

vocabulary! {
    /// How a hop was judged.
    "hop rule" HopRule {
        /// Value sent to another owner (an on-chain fact).
        Transfer = "transfer",
        /// Back to the sending address.
        SelfChange = "self_change",
        /// To the change output the change heuristics agree on.
        Change = "change",
        /// To another member of the sender's cluster.
        SameCluster = "same_cluster",
        /// Through a CoinJoin (a model share only).
        CoinJoin = "coinjoin",
        /// Out of a CoinJoin along an output reaching one of the trace's
        /// exchange deposit addresses (an inference, not an on-chain link).
        CoinJoinExit = "coinjoin_exit",
    }
}

impl HopRule {
    /// Whether the step stays with the same owner (no hop counted).
    pub fn same_owner(self) -> bool {
        matches!(
            self,
            HopRule::SelfChange | HopRule::Change | HopRule::SameCluster
        )
    }
}

vocabulary! {
    /// Why an endpoint is attributed to a service.
    "endpoint rule" EndpointRule {
        /// The receiving address itself carries the service's tag.
        TaggedAddress = "tagged_address",
        /// A member of the receiving address's cluster carries it.
        TaggedCluster = "tagged_cluster",
        /// The receiving address swept what it received into the service:
        /// it is the service's deposit address (evidence: the sweep).
        DepositSweep = "deposit_sweep",
    }
}

vocabulary! {
    /// What a node is to the trace.
    "node role" NodeRole {
        /// Received a seed.
        Seed = "seed",
        /// Passed taint on.
        Intermediate = "intermediate",
        /// A service (or its deposit address) where taint arrived.
        Endpoint = "endpoint",
        /// Still holds taint, unspent at the ledger tip.
        Unspent = "unspent",
        /// Taint stopped here at a limit.
        Limit = "limit",
        /// Sent taint into a CoinJoin the trace stopped at.
        CoinJoin = "coinjoin",
    }
}

vocabulary! {
    /// The rule that linked two addresses of a cluster.
    "cluster rule" ClusterRule {
        /// Both were inputs of one transaction (co-spend).
        MultiInput = "multi_input",
        /// One received the change of a transaction the other paid from.
        Change = "change",
        /// Both paid into one exchange deposit address (Ethereum).
        DepositReuse = "deposit_reuse",
        /// An exchange deposit address and the wallet it sweeps into.
        DepositAddress = "deposit_address",
    }
}

vocabulary! {
    /// The chain a trace ran on.
    "chain" Chain {
        /// Bitcoin (UTXO).
        Bitcoin = "bitcoin",
        /// Ethereum (accounts).
        Ethereum = "ethereum",
    }
}

vocabulary! {
    /// A broad class of what a tag says about an address, for tracing
    /// decisions (where funds were cashed out, what to stop at, what not
    /// to merge).
    "tag class" TagClass {
        /// An exchange or a crypto ATM operator (`exchange`, `atm`).
        Exchange = "Exchange",
        /// A mixer or CoinJoin (`mixing_service`, `mixing`, `coinjoin`).
        Mixer = "Mixer",
        /// On a sanctions list (`sanction`, `gov_black_list`).
        Sanctioned = "Sanctioned",
        /// Scams and fraud (`scam`, `phishing`, `investment_fraud` with
        /// `ponzi_scheme` and `pyramid_scheme`, `payment_card_fraud`,
        /// `extortion` and `sextortion`, `social_engineering`).
        ScamFraud = "ScamFraud",
        /// Ransomware (`ransomware`).
        Ransomware = "Ransomware",
        /// Gambling services (`gambling`).
        Gambling = "Gambling",
        /// Miners and mining pools (`miner`, `mining_service`).
        Miner = "Miner",
        /// Merchants and marketplaces (`shop`, `payment_processor`, `market`).
        Merchant = "Merchant",
        /// Anything else (users, organisations, hacks, DeFi, wallets, …).
        Other = "Other",
    }
}

impl TagClass {
    /// Whether this class is a custodial service: an address of one such
    /// service's cluster must never be merged with another service's.
    pub fn is_service(self) -> bool {
        matches!(
            self,
            TagClass::Exchange
                | TagClass::Mixer
                | TagClass::Gambling
                | TagClass::Miner
                | TagClass::Merchant
        )
    }

    /// Whether the tag attributes the address to criminals (scam, fraud,
    /// ransomware, sanctions): such an address links the cases whose funds
    /// reach it even when strangers use it too.
    pub fn is_criminal(self) -> bool {
        matches!(
            self,
            TagClass::ScamFraud | TagClass::Ransomware | TagClass::Sanctioned
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_round_trip_and_unknown_terms_are_refused() {
        for m in Model::ALL {
            assert_eq!(Model::parse(m.name()), Some(*m));
            let j = serde_json::to_string(m).unwrap();
            assert_eq!(j, format!("\"{}\"", m.name()));
        }
        assert_eq!(
            NodeLevel::parse("cospend+change"),
            Some(NodeLevel::CospendChange)
        );
        assert!(serde_json::from_str::<HopRule>("\"teleport\"").is_err());
        assert!(serde_json::from_str::<Model>("\"Haircut\"").is_err());
        assert_eq!(
            serde_json::from_str::<TagClass>("\"ScamFraud\"").unwrap(),
            TagClass::ScamFraud
        );
    }
}

vocabulary! {
    /// Kinds of crime a case is filed under.
    "crime" Crime {
        /// Communications fraud (特殊詐欺): fake police, relatives, refunds.
        CommunicationsFraud = "communications_fraud",
        /// Investment fraud (SNS型投資詐欺).
        InvestmentFraud = "investment_fraud",
        /// Romance fraud (ロマンス詐欺).
        RomanceFraud = "romance_fraud",
        /// Robbery or theft of crypto-assets.
        RobberyTheft = "robbery_theft",
        /// Ransomware extortion.
        Ransomware = "ransomware",
        /// Anything else.
        Other = "other",
    }
}

impl Crime {
    /// English label for reports.
    pub fn label_en(self) -> &'static str {
        match self {
            Crime::CommunicationsFraud => "communications fraud",
            Crime::InvestmentFraud => "investment fraud",
            Crime::RomanceFraud => "romance fraud",
            Crime::RobberyTheft => "robbery / theft",
            Crime::Ransomware => "ransomware",
            Crime::Other => "other",
        }
    }

    /// Japanese label, as the National Police Agency's statistics name it.
    pub fn label_ja(self) -> &'static str {
        match self {
            Crime::CommunicationsFraud => "特殊詐欺",
            Crime::InvestmentFraud => "SNS型投資詐欺",
            Crime::RomanceFraud => "ロマンス詐欺",
            Crime::RobberyTheft => "強盗・窃盗",
            Crime::Ransomware => "ランサムウェア",
            Crime::Other => "その他",
        }
    }
}
