//! The ground truth of a simulated chain, one JSON record per line
//! (`truth.jsonl`): who owns every address, what every transaction was for,
//! the crime cases with their expected exchange endpoints and which cases
//! belong to the same group. Only evaluation code reads it; heuristics never.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::wallet::Software;

/// Version of the truth file format.
pub const TRUTH_FORMAT: u32 = 1;

/// What kind of actor an entity is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    /// A person with a wallet (some are fraud victims).
    Individual,
    /// A crypto-asset exchange.
    Exchange,
    /// A shop taking bitcoin through a payment processor.
    Merchant,
    /// A payment processor holding invoice addresses for merchants.
    PaymentProcessor,
    /// A mining pool.
    MiningPool,
    /// A custodial mixing service.
    Mixer,
    /// A CoinJoin coordinator (Whirlpool, Wasabi) collecting fees.
    CoinjoinCoordinator,
    /// A criminal group (its mules, collectors and cash-out accounts).
    CriminalGroup,
}

/// What an address is used for by its owner.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Handed out to receive payments.
    Receive,
    /// Change of the owner's own transaction.
    Change,
    /// An exchange deposit address assigned to one customer.
    Deposit,
    /// An exchange or service hot wallet.
    Hot,
    /// Cold storage.
    Cold,
    /// A payment processor's invoice address.
    Invoice,
    /// A mixer's deposit address for one customer order.
    MixerDeposit,
    /// CoinJoin pre-mix output (Whirlpool TX0).
    Premix,
    /// CoinJoin output.
    Mixed,
    /// Single-use address of a criminal group (mule).
    Mule,
    /// A group's collection wallet where proceeds of several cases meet.
    Collector,
}

/// What a transaction was for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// Block reward.
    Coinbase,
    /// Pool pays its miners.
    PoolPayout,
    /// Person to person.
    Payment,
    /// Customer pays a merchant's invoice at a payment processor.
    MerchantPayment,
    /// Processor settles merchants' invoices.
    Settlement,
    /// A customer deposits at an exchange.
    ExchangeDeposit,
    /// An exchange sweeps deposit addresses into its hot wallet.
    ExchangeSweep,
    /// An exchange pays customers' withdrawals (batched).
    ExchangeWithdrawal,
    /// Hot wallet to cold storage.
    ColdStorage,
    /// A wallet merges its own coins.
    Consolidation,
    /// Whirlpool TX0: split into pre-mix coins, pay the coordinator.
    WhirlpoolTx0,
    /// Whirlpool mix (5 in, 5 out of one denomination).
    WhirlpoolMix,
    /// Wasabi 2 (WabiSabi) round.
    Wasabi2Mix,
    /// JoinMarket maker/taker CoinJoin.
    JoinmarketMix,
    /// A customer sends coins to a custodial mixer.
    MixerDeposit,
    /// The mixer pays a customer from unrelated coins.
    MixerPayout,
    /// A fraud victim pays the scammers.
    VictimPayment,
    /// Proceeds forwarded whole to a fresh mule address.
    MuleHop,
    /// One step of a peel chain (a slice to a cash-out account, the rest on).
    Peel,
    /// Proceeds of one or more cases merged into a group's collector.
    GroupConsolidation,
    /// Proceeds sent to the group's exchange deposit accounts.
    Cashout,
}

/// Fraud types the NPA reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseKind {
    /// Communications fraud (特殊詐欺).
    CommunicationsFraud,
    /// Investment fraud (SNS型投資詐欺).
    InvestmentFraud,
    /// Romance fraud (ロマンス詐欺).
    RomanceFraud,
}

/// An output named by transaction and index.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputRef {
    /// Transaction id (hex, as displayed).
    pub txid: String,
    /// Output index.
    pub vout: u32,
    /// Value in satoshi.
    pub value: u64,
}

/// Where a case's proceeds reached an exchange.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    /// The exchange's entity id.
    pub exchange: u32,
    /// The deposit address (a customer account of the group).
    pub address: String,
    /// The deposit output.
    pub output: OutputRef,
    /// Satoshi of this output that came from the case (value-weighted).
    pub from_case: u64,
}

/// One line of `truth.jsonl`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Record {
    /// First line: how the chain was made.
    Run {
        /// [`TRUTH_FORMAT`].
        format: u32,
        /// Random seed.
        seed: u64,
        /// Preset name.
        preset: String,
        /// Always `regtest`.
        network: String,
        /// The scenario as run (preset defaults merged with `--scenario`).
        scenario: serde_json::Value,
    },
    /// An actor.
    Entity {
        /// Entity id.
        id: u32,
        /// Its kind.
        kind: EntityKind,
        /// Display name.
        name: String,
        /// Wallet software it behaves like.
        software: Software,
    },
    /// An address and its owner.
    Address {
        /// Regtest address string as tracer shows it.
        address: String,
        /// Owner entity id.
        entity: u32,
        /// Owner kind (repeated for convenience).
        kind: EntityKind,
        /// What the owner uses it for.
        role: Role,
        /// For deposit, invoice and mixer addresses: the customer's entity id.
        #[serde(skip_serializing_if = "Option::is_none", default)]
        customer: Option<u32>,
    },
    /// A transaction.
    Tx {
        /// Transaction id.
        txid: String,
        /// Block height.
        height: u32,
        /// What it was for.
        purpose: Purpose,
        /// The entity that built it (the coordinator for CoinJoins).
        entity: u32,
        /// Output indexes that are change back to the builder.
        #[serde(skip_serializing_if = "Vec::is_empty", default)]
        change: Vec<u32>,
        /// Cases whose proceeds it moves.
        #[serde(skip_serializing_if = "Vec::is_empty", default)]
        cases: Vec<u32>,
    },
    /// A fraud case as a prefecture would open it.
    Case {
        /// Case id.
        id: u32,
        /// Case reference, e.g. `TOKYO-2025-0001`.
        reference: String,
        /// Prefecture that handles it.
        prefecture: String,
        /// Fraud type.
        kind: CaseKind,
        /// The victim's entity id.
        victim: u32,
        /// The group behind it.
        group: u32,
        /// The victim's payments to the scammers (where a trace starts).
        payments: Vec<OutputRef>,
        /// Where the proceeds reached exchanges.
        endpoints: Vec<Endpoint>,
        /// Other cases of the same group.
        linked: Vec<u32>,
    },
    /// A criminal group.
    Group {
        /// Group id.
        id: u32,
        /// Its entity id.
        entity: u32,
        /// Laundering route.
        route: String,
        /// Its cases.
        cases: Vec<u32>,
        /// Its exchange deposit accounts (addresses).
        deposit_accounts: Vec<String>,
        /// Collector addresses where several cases' proceeds met.
        collectors: Vec<String>,
    },
    /// Last line: totals.
    Summary {
        /// Blocks including genesis.
        blocks: u32,
        /// Transactions including coinbases and genesis.
        txs: u64,
        /// Addresses in the truth file.
        addresses: u64,
        /// Entities.
        entities: u32,
        /// Cases.
        cases: u32,
    },
}

/// Streams records to `truth.jsonl`.
pub struct TruthWriter {
    out: BufWriter<File>,
    path: std::path::PathBuf,
}

impl TruthWriter {
    /// Creates (truncates) the file.
    pub fn create(path: &Path) -> Result<Self> {
        let f = File::create(path).with_context(|| format!("creating {}", path.display()))?;
        Ok(TruthWriter {
            out: BufWriter::with_capacity(1 << 20, f),
            path: path.to_path_buf(),
        })
    }

    /// Appends one record.
    pub fn write(&mut self, r: &Record) -> Result<()> {
        serde_json::to_writer(&mut self.out, r)?;
        self.out
            .write_all(b"\n")
            .with_context(|| format!("writing {}", self.path.display()))
    }

    /// Flushes to disk.
    pub fn finish(mut self) -> Result<()> {
        self.out
            .flush()
            .with_context(|| format!("writing {}", self.path.display()))
    }
}

/// Reads every record of a truth file, naming the line of a bad one.
pub fn read(path: &Path, mut each: impl FnMut(Record) -> Result<()>) -> Result<()> {
    let f = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    for (n, line) in BufReader::new(f).lines().enumerate() {
        let line = line.with_context(|| format!("reading {}", path.display()))?;
        let r: Record = serde_json::from_str(&line)
            .with_context(|| format!("{} line {}: not a truth record", path.display(), n + 1))?;
        each(r)?;
    }
    Ok(())
}
