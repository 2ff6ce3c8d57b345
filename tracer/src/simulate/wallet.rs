//! Wallet policies: coin selection, change and output order, fee rate,
//! version/locktime/sequence habits, modelled on the wallets people use.

use std::collections::BTreeMap;

use bitcoin::hashes::Hash;
use bitcoin::{OutPoint, ScriptBuf};
use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::keys::AddrType;

/// Outputs below this are not created (Core's dust limit for P2PKH).
pub const DUST: u64 = 546;

/// A coin a simulated entity can spend.
#[derive(Clone, Debug)]
pub struct Utxo {
    /// The output.
    pub op: OutPoint,
    /// Value in satoshi.
    pub value: u64,
    /// Simulator address number.
    pub addr: u32,
    /// Its script type.
    pub ty: AddrType,
    /// Height of the block that created it.
    pub height: u32,
    /// Created by a coinbase (spendable after 100 confirmations).
    pub coinbase: bool,
}

impl Utxo {
    /// Whether it may be spent in a block at `height` (confirmed; coinbase matured).
    pub fn spendable_at(&self, height: u32) -> bool {
        if self.coinbase {
            self.height + 100 <= height
        } else {
            self.height < height
        }
    }
}

/// Up to `max` of `coins` that may be spent in a block at `height`, in order.
pub fn spendable(coins: &[Utxo], height: u32, max: usize) -> Vec<Utxo> {
    coins
        .iter()
        .filter(|u| u.spendable_at(height))
        .take(max)
        .cloned()
        .collect()
}

/// The wallet software whose habits an entity follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Software {
    /// Bitcoin Core: BnB then knapsack, change at a random position, change type
    /// matching the payment, anti-fee-sniping locktime, RBF, version 2.
    Core,
    /// Electrum: privacy coin chooser (spends whole addresses), BIP69 order,
    /// locktime = height, RBF, version 2.
    Electrum,
    /// Old mobile/web wallets: largest coins first, change last and often back
    /// to the first input's address, version 1, locktime 0, no RBF.
    Legacy,
    /// Exchange and service back ends: oldest coins first, change last to a
    /// reused hot-wallet address, version 1 or 2, locktime 0.
    Service,
}

/// How coins are chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Selection {
    /// Branch-and-bound for a changeless match, else Core's knapsack.
    BnbKnapsack,
    /// Electrum's privacy chooser: whole address buckets in random order.
    Buckets,
    /// Largest coins first.
    LargestFirst,
    /// Oldest coins first.
    Fifo,
}

/// Where the change output goes among the outputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// Change inserted at a random position, inputs shuffled (Core).
    Random,
    /// BIP69: inputs by outpoint, outputs by value then script (Electrum, bcoin).
    Bip69,
    /// Payments first, change last, inputs in selection order.
    ChangeLast,
}

/// A wallet's habits.
#[derive(Clone, Debug)]
pub struct Policy {
    /// Which software this mimics (recorded in the truth file).
    pub software: Software,
    /// Coin selection.
    pub selection: Selection,
    /// Input and output order.
    pub order: Order,
    /// Change goes back to the first input's address (address reuse).
    pub change_to_input: bool,
    /// Change uses the payment's address type (Core ≥ 23).
    pub change_matches_payment: bool,
    /// Transaction version.
    pub version: i32,
    /// Locktime = tip height (anti-fee-sniping).
    pub anti_fee_sniping: bool,
    /// Signals replace-by-fee.
    pub rbf: bool,
    /// Fee rate range in sat/vB.
    pub fee_rate: (u64, u64),
}

impl Policy {
    /// Habits of `software`.
    pub fn of(software: Software, rng: &mut ChaCha8Rng) -> Policy {
        match software {
            Software::Core => Policy {
                software,
                selection: Selection::BnbKnapsack,
                order: Order::Random,
                change_to_input: false,
                change_matches_payment: true,
                version: 2,
                anti_fee_sniping: true,
                rbf: true,
                fee_rate: (2, 25),
            },
            Software::Electrum => Policy {
                software,
                selection: Selection::Buckets,
                order: Order::Bip69,
                change_to_input: false,
                change_matches_payment: false,
                version: 2,
                anti_fee_sniping: true,
                rbf: true,
                fee_rate: (1, 20),
            },
            Software::Legacy => Policy {
                software,
                selection: Selection::LargestFirst,
                order: Order::ChangeLast,
                change_to_input: rng.random_bool(0.5),
                change_matches_payment: false,
                version: 1,
                anti_fee_sniping: false,
                rbf: false,
                fee_rate: (5, 40),
            },
            Software::Service => Policy {
                software,
                selection: Selection::Fifo,
                order: Order::ChangeLast,
                change_to_input: false,
                change_matches_payment: false,
                version: if rng.random_bool(0.5) { 1 } else { 2 },
                anti_fee_sniping: false,
                rbf: false,
                fee_rate: (3, 30),
            },
        }
    }

    /// Sequence number the software puts on inputs.
    pub fn sequence(&self) -> u32 {
        match (self.rbf, self.anti_fee_sniping) {
            (true, _) => 0xffff_fffd,
            (false, true) => 0xffff_fffe,
            (false, false) => 0xffff_ffff,
        }
    }
}

/// A payment to make: address number, its type, value.
#[derive(Clone, Copy, Debug)]
pub struct Pay {
    /// Receiving address number.
    pub addr: u32,
    /// Its type.
    pub ty: AddrType,
    /// Satoshi.
    pub value: u64,
}

/// A transaction before serialization: chosen inputs, ordered outputs.
#[derive(Clone, Debug)]
pub struct Draft {
    /// Inputs in their final order.
    pub inputs: Vec<Utxo>,
    /// Outputs in their final order.
    pub outputs: Vec<Pay>,
    /// Position of the change output, if any. The fee is what the inputs
    /// leave over.
    pub change: Option<usize>,
}

/// Virtual size of a transaction with these inputs and output types.
pub fn vsize(inputs: &[Utxo], outputs: impl Iterator<Item = AddrType>) -> u64 {
    11 + inputs.iter().map(|u| u.ty.input_vbytes()).sum::<u64>()
        + outputs.map(|t| t.output_vbytes()).sum::<u64>()
}

/// Chooses coins from `coins` for `payments` at `rate` sat/vB with the
/// policy's selection; returns their indices, or `None` if funds are short.
/// The chosen coins always cover the payments and the fee without change.
pub fn select(
    policy: &Policy,
    coins: &[Utxo],
    payments: &[Pay],
    change_ty: AddrType,
    rate: u64,
    rng: &mut ChaCha8Rng,
) -> Option<Vec<usize>> {
    let amount: u64 = payments.iter().map(|p| p.value).sum();
    let base = rate * vsize(&[], payments.iter().map(|p| p.ty));
    let target = amount + base;
    let change_cost = rate * (change_ty.output_vbytes() + change_ty.input_vbytes());
    let ev = |u: &Utxo| u.value.saturating_sub(rate * u.ty.input_vbytes());
    let mut idx: Vec<usize> = (0..coins.len()).filter(|&i| ev(&coins[i]) > 0).collect();
    if idx.iter().map(|&i| ev(&coins[i])).sum::<u64>() < target {
        return None;
    }
    match policy.selection {
        Selection::BnbKnapsack => {
            idx.sort_by_key(|&i| std::cmp::Reverse(ev(&coins[i])));
            let evs: Vec<u64> = idx.iter().take(40).map(|&i| ev(&coins[i])).collect();
            if let Some(sel) = bnb(&evs, target, target + change_cost) {
                return Some(sel.into_iter().map(|k| idx[k]).collect());
            }
            let change_target = (amount * 2).clamp(50_000, 1_000_000);
            knapsack(
                &idx,
                &|i| ev(&coins[i]),
                target,
                target + change_target + change_cost,
                rng,
            )
        }
        Selection::Buckets => buckets(coins, &idx, &ev, target + change_cost, rng),
        Selection::LargestFirst => {
            idx.sort_by_key(|&i| std::cmp::Reverse(ev(&coins[i])));
            accumulate(&idx, &|i| ev(&coins[i]), target + change_cost)
        }
        Selection::Fifo => {
            idx.sort_by_key(|&i| (coins[i].height, i));
            accumulate(&idx, &|i| ev(&coins[i]), target + change_cost)
        }
    }
}

/// Takes coins in order until `need` is covered (all of them if it never is).
fn accumulate(order: &[usize], ev: &dyn Fn(usize) -> u64, need: u64) -> Option<Vec<usize>> {
    let mut sum = 0;
    let mut out = Vec::new();
    for &i in order {
        out.push(i);
        sum += ev(i);
        if sum >= need {
            break;
        }
    }
    Some(out)
}

/// Depth-first search for a subset of `evs` (sorted descending) whose sum lies
/// in `[target, upper]`: a payment without change (Core's BnB, bounded tries).
fn bnb(evs: &[u64], target: u64, upper: u64) -> Option<Vec<usize>> {
    let mut suffix = vec![0u64; evs.len() + 1];
    for i in (0..evs.len()).rev() {
        suffix[i] = suffix[i + 1] + evs[i];
    }
    struct Search<'a> {
        evs: &'a [u64],
        suffix: Vec<u64>,
        target: u64,
        upper: u64,
        tries: u32,
        picked: Vec<usize>,
        best: Option<(u64, Vec<usize>)>,
    }
    fn go(s: &mut Search, i: usize, sum: u64) {
        if s.tries == 0 || sum > s.upper {
            return;
        }
        s.tries -= 1;
        if sum >= s.target {
            let waste = sum - s.target;
            if s.best.as_ref().is_none_or(|(w, _)| waste < *w) {
                s.best = Some((waste, s.picked.clone()));
            }
            return;
        }
        if i == s.evs.len() || sum + s.suffix[i] < s.target {
            return;
        }
        s.picked.push(i);
        go(s, i + 1, sum + s.evs[i]);
        s.picked.pop();
        go(s, i + 1, sum);
    }
    let mut s = Search {
        evs,
        suffix,
        target,
        upper,
        tries: 20_000,
        picked: Vec::new(),
        best: None,
    };
    go(&mut s, 0, 0);
    s.best.map(|(_, v)| v)
}

/// Core's knapsack: the smallest single coin above `with_change`, or a random
/// approximation of the best subset of smaller coins, whichever is closer.
fn knapsack(
    idx: &[usize],
    ev: &dyn Fn(usize) -> u64,
    target: u64,
    with_change: u64,
    rng: &mut ChaCha8Rng,
) -> Option<Vec<usize>> {
    if let Some(&i) = idx.iter().find(|&&i| ev(i) == target) {
        return Some(vec![i]);
    }
    let lowest_larger = idx
        .iter()
        .copied()
        .filter(|&i| ev(i) >= with_change)
        .min_by_key(|&i| (ev(i), i));
    let mut smaller: Vec<usize> = idx
        .iter()
        .copied()
        .filter(|&i| ev(i) < with_change)
        .collect();
    smaller.sort_by_key(|&i| std::cmp::Reverse(ev(i)));
    smaller.truncate(64);
    let total: u64 = smaller.iter().map(|&i| ev(i)).sum();
    if total < target {
        return lowest_larger.map(|i| vec![i]);
    }
    let mut best: Option<(u64, Vec<usize>)> = None;
    for _ in 0..100 {
        let mut pick = vec![false; smaller.len()];
        let mut sum = 0;
        for pass in 0..2 {
            for (k, &i) in smaller.iter().enumerate() {
                if sum >= with_change {
                    break;
                }
                if !pick[k] && (pass == 1 || rng.random_bool(0.5)) {
                    pick[k] = true;
                    sum += ev(i);
                }
            }
        }
        if sum >= target && best.as_ref().is_none_or(|(b, _)| sum < *b) {
            let sel = smaller
                .iter()
                .zip(&pick)
                .filter(|(_, p)| **p)
                .map(|(i, _)| *i)
                .collect();
            best = Some((sum, sel));
        }
    }
    match (best, lowest_larger) {
        (Some((sum, sel)), Some(l)) if sum < ev(l) => Some(sel),
        (_, Some(l)) => Some(vec![l]),
        (Some((_, sel)), None) => Some(sel),
        (None, None) => None,
    }
}

/// Electrum's privacy chooser: spend every coin of an address together;
/// add address buckets in random order, then drop those not needed.
fn buckets(
    coins: &[Utxo],
    idx: &[usize],
    ev: &dyn Fn(&Utxo) -> u64,
    need: u64,
    rng: &mut ChaCha8Rng,
) -> Option<Vec<usize>> {
    let mut by_addr: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    for &i in idx {
        by_addr.entry(coins[i].addr).or_default().push(i);
    }
    let mut groups: Vec<Vec<usize>> = by_addr.into_values().collect();
    groups.shuffle(rng);
    let value = |g: &Vec<usize>| g.iter().map(|&i| ev(&coins[i])).sum::<u64>();
    let mut chosen = Vec::new();
    let mut sum = 0;
    for g in groups {
        if sum >= need {
            break;
        }
        sum += value(&g);
        chosen.push(g);
    }
    chosen.sort_by_key(|g| value(g));
    let mut k = 0;
    while k < chosen.len() && chosen.len() > 1 {
        if sum - value(&chosen[k]) >= need {
            sum -= value(&chosen.remove(k));
        } else {
            k += 1;
        }
    }
    Some(chosen.into_iter().flatten().collect())
}

/// Orders inputs and outputs, sets the fee and the change (dropped into the
/// fee when below dust). `inputs` must cover the payments and the fee.
pub fn draft(
    policy: &Policy,
    mut inputs: Vec<Utxo>,
    payments: &[Pay],
    change: Option<Pay>,
    rate: u64,
    script: &dyn Fn(u32, AddrType) -> ScriptBuf,
    rng: &mut ChaCha8Rng,
) -> Draft {
    let total: u64 = inputs.iter().map(|u| u.value).sum();
    let amount: u64 = payments.iter().map(|p| p.value).sum();
    let bare_fee = rate * vsize(&inputs, payments.iter().map(|p| p.ty));
    let mut outputs = payments.to_vec();
    let mut change_at = None;
    if let Some(mut c) = change {
        let fee_with = bare_fee + rate * c.ty.output_vbytes();
        if total >= amount + fee_with + DUST {
            c.value = total - amount - fee_with;
            let pos = match policy.order {
                Order::Random => rng.random_range(0..=outputs.len()),
                _ => outputs.len(),
            };
            outputs.insert(pos, c);
            change_at = Some(pos);
        }
    }
    match policy.order {
        Order::Random => inputs.shuffle(rng),
        Order::Bip69 => {
            // BIP69: inputs by txid as displayed (byte-reversed), then vout;
            // outputs by value, then script bytes.
            let shown = |u: &Utxo| {
                let mut b = u.op.txid.to_byte_array();
                b.reverse();
                (b, u.op.vout)
            };
            inputs.sort_by_cached_key(shown);
            let mut tagged: Vec<(Pay, bool)> = outputs
                .into_iter()
                .enumerate()
                .map(|(k, p)| (p, Some(k) == change_at))
                .collect();
            tagged.sort_by_cached_key(|(p, _)| (p.value, script(p.addr, p.ty).into_bytes()));
            change_at = tagged.iter().position(|t| t.1);
            outputs = tagged.into_iter().map(|t| t.0).collect();
        }
        Order::ChangeLast => {}
    }
    Draft {
        inputs,
        outputs,
        change: change_at,
    }
}
