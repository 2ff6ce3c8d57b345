//! CoinJoin detection. Rules in the spirit of GraphSense's detectors: pool
//! denominations for Whirlpool, ≈0.1 BTC rounds of ≥ 10 inputs for Wasabi
//! 1.x, standard denominations over ≥ 20 inputs for Wasabi 2.x, equal
//! outputs with at most one change per participant for JoinMarket. The
//! inputs of a multi-party CoinJoin belong to different people: clustering
//! never merges them.

use std::collections::HashMap;

use chain_adapters::ledger::{AddrId, Amount, TxRecord};
use serde::Serialize;

/// Whirlpool pool denominations in satoshi (0.001, 0.01, 0.05, 0.5 BTC).
pub const WHIRLPOOL_DENOMINATIONS: [Amount; 4] = [100_000, 1_000_000, 5_000_000, 50_000_000];
/// Outputs at or below this value are dust and ignored by the JoinMarket rule.
pub const DUST: Amount = 2_730;
/// Smallest Wasabi 2 denomination.
pub const WASABI2_MIN_DENOMINATION: Amount = 5_000;

/// The protocols the detectors recognise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CoinJoinKind {
    /// Whirlpool TX0: one wallet splits a coin into pre-mix coins (single owner).
    WhirlpoolTx0 = 0,
    /// Whirlpool mix: 5 inputs, 5 outputs of one pool denomination.
    Whirlpool = 1,
    /// Wasabi 1.x round (≈0.1 BTC denomination).
    Wasabi1 = 2,
    /// Wasabi 2.x (WabiSabi) round.
    Wasabi2 = 3,
    /// JoinMarket maker/taker CoinJoin.
    #[serde(rename = "joinmarket")]
    JoinMarket = 4,
}

impl CoinJoinKind {
    /// Every kind, in code order.
    pub const ALL: [CoinJoinKind; 5] = [
        CoinJoinKind::WhirlpoolTx0,
        CoinJoinKind::Whirlpool,
        CoinJoinKind::Wasabi1,
        CoinJoinKind::Wasabi2,
        CoinJoinKind::JoinMarket,
    ];

    /// Decodes the stored code.
    pub fn from_u8(b: u8) -> Option<Self> {
        Self::ALL.get(b as usize).copied()
    }

    /// Short name.
    pub fn name(self) -> &'static str {
        match self {
            CoinJoinKind::WhirlpoolTx0 => "whirlpool_tx0",
            CoinJoinKind::Whirlpool => "whirlpool",
            CoinJoinKind::Wasabi1 => "wasabi1",
            CoinJoinKind::Wasabi2 => "wasabi2",
            CoinJoinKind::JoinMarket => "joinmarket",
        }
    }

    /// Whether the inputs come from several people (everything but a TX0).
    pub fn multi_party(self) -> bool {
        self != CoinJoinKind::WhirlpoolTx0
    }
}

/// A detected CoinJoin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CoinJoin {
    /// Protocol.
    pub kind: CoinJoinKind,
    /// The (most common) equal output value.
    pub denomination: Amount,
    /// Number of outputs of that value (participants, or pre-mix coins of a TX0).
    pub equal_outputs: u32,
}

/// Detects whether `tx` is a CoinJoin (or a Whirlpool TX0).
pub fn detect(tx: &TxRecord) -> Option<CoinJoin> {
    if tx.is_coinbase() || tx.inputs.is_empty() || tx.outputs.len() < 2 {
        return None;
    }
    whirlpool_mix(tx)
        .or_else(|| whirlpool_tx0(tx))
        .or_else(|| wasabi2(tx))
        .or_else(|| wasabi1(tx))
        .or_else(|| joinmarket(tx))
}

/// Largest premix surplus over the denomination a Whirlpool input may carry
/// (the mining fee of its mixes): 1% of the pool plus 10,000 sat.
fn premix_surplus(d: Amount) -> Amount {
    d / 100 + 10_000
}

fn whirlpool_mix(tx: &TxRecord) -> Option<CoinJoin> {
    let n = tx.outputs.len();
    if tx.inputs.len() != n || !(5..=8).contains(&n) {
        return None;
    }
    let d = tx.outputs[0].value;
    if !WHIRLPOOL_DENOMINATIONS.contains(&d) || tx.outputs.iter().any(|o| o.value != d) {
        return None;
    }
    let fits = |v: Amount| v >= d && v <= d + premix_surplus(d);
    tx.inputs.iter().all(|i| fits(i.value)).then_some(CoinJoin {
        kind: CoinJoinKind::Whirlpool,
        denomination: d,
        equal_outputs: n as u32,
    })
}

fn whirlpool_tx0(tx: &TxRecord) -> Option<CoinJoin> {
    let (value, count) = most_common_value(tx, 0)?;
    let d = WHIRLPOOL_DENOMINATIONS
        .iter()
        .copied()
        .find(|&d| value > d && value <= d + premix_surplus(d))?;
    // Pre-mix coins, plus at most the coordinator fee, change and an OP_RETURN.
    (count >= 2 && tx.outputs.len() <= count + 3).then_some(CoinJoin {
        kind: CoinJoinKind::WhirlpoolTx0,
        denomination: d,
        equal_outputs: count as u32,
    })
}

/// Standard Wasabi 2 denominations: 2ⁿ, 3ⁿ, 2·3ⁿ and 1/2/5·10ⁿ satoshi, ≥ 5,000.
pub fn is_wasabi2_denomination(v: Amount) -> bool {
    fn power_of(mut v: Amount, b: Amount) -> bool {
        if v == 0 {
            return false;
        }
        while v.is_multiple_of(b) {
            v /= b;
        }
        v == 1
    }
    if v < WASABI2_MIN_DENOMINATION {
        return false;
    }
    let decimal = |m: Amount| v.is_multiple_of(m) && power_of(v / m, 10);
    power_of(v, 2)
        || power_of(v, 3)
        || (v.is_multiple_of(2) && power_of(v / 2, 3))
        || decimal(1)
        || decimal(2)
        || decimal(5)
}

fn wasabi2(tx: &TxRecord) -> Option<CoinJoin> {
    if tx.inputs.len() < 20 || one_address_dominates(tx) {
        return None;
    }
    let counts = value_counts(tx, WASABI2_MIN_DENOMINATION - 1);
    let standard = tx
        .outputs
        .iter()
        .filter(|o| is_wasabi2_denomination(o.value) && counts[&o.value] >= 2)
        .count();
    if standard * 2 < tx.outputs.len() {
        return None;
    }
    let (value, count) = most_common_value(tx, WASABI2_MIN_DENOMINATION - 1)?;
    Some(CoinJoin {
        kind: CoinJoinKind::Wasabi2,
        denomination: value,
        equal_outputs: count as u32,
    })
}

fn wasabi1(tx: &TxRecord) -> Option<CoinJoin> {
    if tx.inputs.len() < 10 {
        return None;
    }
    let (value, count) = most_common_value(tx, DUST)?;
    let near_tenth = (9_500_000..=10_500_000).contains(&value);
    (near_tenth && count >= 3 && distinct_input_addresses(tx) >= 3).then_some(CoinJoin {
        kind: CoinJoinKind::Wasabi1,
        denomination: value,
        equal_outputs: count as u32,
    })
}

fn joinmarket(tx: &TxRecord) -> Option<CoinJoin> {
    let (value, k) = most_common_value(tx, DUST)?;
    let others = tx.outputs.iter().filter(|o| o.value > DUST).count() - k;
    // Each participant brings inputs from its own wallet and takes at most
    // one change output.
    (k >= 3 && others <= k && distinct_input_addresses(tx) >= k).then_some(CoinJoin {
        kind: CoinJoinKind::JoinMarket,
        denomination: value,
        equal_outputs: k as u32,
    })
}

/// How often each output value above `floor` occurs.
fn value_counts(tx: &TxRecord, floor: Amount) -> HashMap<Amount, usize> {
    let mut counts = HashMap::new();
    for o in tx.outputs.iter().filter(|o| o.value > floor) {
        *counts.entry(o.value).or_insert(0) += 1;
    }
    counts
}

/// The output value above `floor` that occurs most often (ties: the larger
/// value), with its count, if some value occurs at least twice.
fn most_common_value(tx: &TxRecord, floor: Amount) -> Option<(Amount, usize)> {
    value_counts(tx, floor)
        .into_iter()
        .filter(|&(_, c)| c >= 2)
        .max_by_key(|&(v, c)| (c, v))
}

fn input_addresses(tx: &TxRecord) -> Vec<AddrId> {
    let mut a: Vec<AddrId> = tx.inputs.iter().filter_map(|i| i.addr).collect();
    a.sort_unstable();
    a
}

fn distinct_input_addresses(tx: &TxRecord) -> usize {
    let mut a = input_addresses(tx);
    a.dedup();
    a.len()
}

/// Whether one address supplies more than 10% of the inputs.
fn one_address_dominates(tx: &TxRecord) -> bool {
    let a = input_addresses(tx);
    let most = a
        .chunk_by(|x, y| x == y)
        .map(|run| run.len())
        .max()
        .unwrap_or(0);
    most * 10 > tx.inputs.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wasabi2_denominations_are_the_standard_set() {
        for v in [
            5_000, 8_192, 6_561, 13_122, 10_000, 20_000, 50_000, 1_000_000,
        ] {
            assert!(is_wasabi2_denomination(v), "{v}");
        }
        for v in [4_096, 7_000, 12_345, 30_000, 1_500_000] {
            assert!(!is_wasabi2_denomination(v), "{v}");
        }
    }
}
