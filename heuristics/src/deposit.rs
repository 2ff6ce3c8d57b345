//! Exchange deposit addresses on Ethereum (Victor 2020, "Address clustering
//! heuristics for Ethereum").
//!
//! An exchange gives each customer a deposit address and sweeps what
//! arrives there into its hot wallet. An address is taken for a deposit
//! address when it forwards to a tagged exchange wallet what it received
//! shortly before: every deposit since its previous sweep arrived at most
//! `max_blocks` blocks before the sweep, and the sweep matches their sum
//! within a tolerance (0.01 ETH for ether, which also covers the sweep's
//! gas; a relative tolerance for tokens). Contracts and tagged addresses
//! are never deposit addresses or depositors — but what they pay into a
//! deposit address (a contract's internal transfer, another exchange's
//! withdrawal) is a deposit all the same: it counts towards the sweep it
//! is forwarded by, only its sender is not taken for the customer.
//!
//! The addresses that pay into one deposit address are one customer: the
//! clustering links them ([`super::cluster::Rule::DepositReuse`]), and the
//! deposit address joins the exchange's cluster
//! ([`super::cluster::Rule::DepositAddress`]).

use std::collections::BTreeMap;

use chain_adapters::ledger::{AddrId, Amount, Chain, TxId};
use chain_adapters::query::LedgerView;
use chain_adapters::store::Store;
use serde::Serialize;

use crate::attribution;
use crate::error::Result;
use crate::store::AnalysisStore;
use crate::tags::TagClass;

/// Detection parameters (Victor 2020's reference values by default).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct DepositParams {
    /// Most blocks between a deposit and the sweep that forwards it.
    pub max_blocks: u64,
    /// Largest ether difference between deposits and sweep, in wei.
    pub max_diff_wei: Amount,
    /// Largest token difference, in parts per million of the deposits.
    pub max_diff_token_ppm: u32,
}

impl Default for DepositParams {
    fn default() -> Self {
        DepositParams {
            max_blocks: 10_000,
            max_diff_wei: 10_000_000_000_000_000,
            max_diff_token_ppm: 10_000,
        }
    }
}

/// Prior confidence in percent of a deposit-address link (not measured by
/// `tracer evaluate`: the simulator has no Ethereum; Victor 2020 validates
/// the heuristic on labelled exchange accounts without a precision figure).
pub const DEPOSIT_PRIOR: u8 = 90;

/// A payment into a deposit address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Deposit {
    /// The transaction.
    pub tx: TxId,
    /// Its block.
    pub height: u64,
    /// The paying address.
    pub from: AddrId,
    /// Whether the payer is taken for the customer: not a contract (an
    /// internal transfer, which anybody may have triggered) and not a
    /// tagged exchange wallet (another exchange's withdrawal).
    pub depositor: bool,
    /// Asset (0 = ether).
    pub asset: u32,
    /// Value.
    pub value: Amount,
}

/// A sweep of a deposit address into an exchange wallet, with the
/// deposits it forwards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sweep {
    /// The sweeping transaction.
    pub tx: TxId,
    /// Its block.
    pub height: u64,
    /// The exchange wallet swept into.
    pub to: AddrId,
    /// Asset (0 = ether).
    pub asset: u32,
    /// Value forwarded.
    pub value: Amount,
    /// The deposits it forwards.
    pub deposits: Vec<Deposit>,
}

/// A detected exchange deposit address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DepositAddress {
    /// The deposit address.
    pub addr: AddrId,
    /// The exchange (tag actor, else label).
    pub exchange: String,
    /// Its matching sweeps.
    pub sweeps: Vec<Sweep>,
}

impl DepositAddress {
    /// The distinct paying addresses taken for the customer (contracts and
    /// exchange wallets are not), in id order, each with its first deposit.
    pub fn depositors(&self) -> Vec<Deposit> {
        let mut first: BTreeMap<AddrId, Deposit> = BTreeMap::new();
        for d in self
            .sweeps
            .iter()
            .flat_map(|s| &s.deposits)
            .filter(|d| d.depositor)
        {
            first.entry(d.from).or_insert(*d);
        }
        first.into_values().collect()
    }

    /// The sweep that forwarded the deposit made in transaction `tx`, if
    /// one did.
    pub fn sweep_of(&self, tx: TxId) -> Option<&Sweep> {
        sweep_of(&self.sweeps, tx)
    }
}

/// The sweep among `sweeps` that forwarded the deposit made in
/// transaction `tx`, if one did.
pub fn sweep_of(sweeps: &[Sweep], tx: TxId) -> Option<&Sweep> {
    sweeps
        .iter()
        .find(|s| s.deposits.iter().any(|d| d.tx == tx))
}

/// Exchange wallets on Ethereum from the tags: address id → exchange.
pub fn exchange_wallets(
    analysis: &AnalysisStore,
    view: &LedgerView<'_>,
) -> Result<BTreeMap<AddrId, String>> {
    let mut tags = Vec::new();
    attribution::for_each_tag(analysis, |t| tags.push(t))?;
    let mut out = BTreeMap::new();
    for t in tags
        .iter()
        .filter(|t| t.currency == "ETH" && t.class() == TagClass::Exchange)
    {
        let Some(service) = attribution::service_of(t) else {
            continue;
        };
        for id in attribution::resolve(view, t)? {
            out.entry(id).or_insert_with(|| service.clone());
        }
    }
    Ok(out)
}

/// A transfer out of a candidate into an exchange wallet.
struct Candidate {
    tx: TxId,
    height: u64,
    to: AddrId,
    asset: u32,
    value: Amount,
}

/// Finds the deposit addresses of the tagged `exchanges` in the ledger's
/// Ethereum transactions, in address order.
pub fn detect(
    ledger: &Store,
    exchanges: &BTreeMap<AddrId, String>,
    p: &DepositParams,
) -> Result<Vec<DepositAddress>> {
    if exchanges.is_empty() || ledger.tip(Chain::Ethereum)?.is_none() {
        return Ok(Vec::new());
    }
    let mut senders = std::collections::BTreeSet::new();
    ledger.for_each_tx(|_, tx| {
        if tx.chain != Chain::Ethereum {
            return;
        }
        for o in &tx.outputs {
            if let (Some(from), Some(to)) = (o.from, o.addr) {
                if exchanges.contains_key(&to) && !exchanges.contains_key(&from) {
                    senders.insert(from);
                }
            }
        }
    })?;
    let mut found = Vec::new();
    for addr in senders {
        let sweeps = sweeps_of(ledger, addr, exchanges, p)?;
        if let Some(first) = sweeps.first() {
            found.push(DepositAddress {
                addr,
                exchange: exchanges[&first.to].clone(),
                sweeps,
            });
        }
    }
    Ok(found)
}

/// The sweeps by which `addr` acts as a deposit address of one of the
/// `exchanges` (none for a contract or a tagged exchange wallet).
pub fn sweeps_of(
    ledger: &Store,
    addr: AddrId,
    exchanges: &BTreeMap<AddrId, String>,
    p: &DepositParams,
) -> Result<Vec<Sweep>> {
    if exchanges.contains_key(&addr) || ledger.contract_mark(addr)?.is_some() {
        return Ok(Vec::new());
    }
    let history = ledger.history(addr)?;
    let mut sending: Vec<TxId> = history
        .iter()
        .filter(|h| h.sent > 0)
        .map(|h| h.tx)
        .collect();
    sending.dedup();
    let mut candidates = Vec::new();
    for id in sending {
        let Some(tx) = ledger.tx(id)? else { continue };
        if tx.chain != Chain::Ethereum || tx.flags & chain_adapters::ledger::TX_FAILED != 0 {
            continue;
        }
        for o in tx
            .outputs
            .iter()
            .filter(|o| o.from == Some(addr) && o.value > 0)
        {
            if let Some(to) = o.addr.filter(|t| exchanges.contains_key(t)) {
                candidates.push(Candidate {
                    tx: id,
                    height: tx.height,
                    to,
                    asset: o.asset,
                    value: o.value,
                });
            }
        }
    }
    match_sweeps(ledger, addr, &history, &candidates, exchanges, p)
}

/// The sweeps of `addr` whose value matches the deposits since its
/// previous sweep of the same asset.
fn match_sweeps(
    ledger: &Store,
    addr: AddrId,
    history: &[chain_adapters::ledger::HistoryEntry],
    sweeps: &[Candidate],
    exchanges: &BTreeMap<AddrId, String>,
    p: &DepositParams,
) -> Result<Vec<Sweep>> {
    let mut out = Vec::new();
    let mut since: BTreeMap<u32, TxId> = BTreeMap::new();
    for s in sweeps {
        let after = since.insert(s.asset, s.tx);
        let lines = history.iter().filter(|h| {
            h.asset == s.asset && h.received > 0 && h.tx < s.tx && after.is_none_or(|a| h.tx > a)
        });
        let mut deposits = Vec::new();
        let mut late = false;
        for h in lines {
            if h.height + p.max_blocks < s.height {
                late = true;
                break;
            }
            let Some(tx) = ledger.tx(h.tx)? else {
                continue;
            };
            for o in tx
                .outputs
                .iter()
                .filter(|o| o.addr == Some(addr) && o.asset == s.asset)
            {
                let Some(from) = o.from.filter(|f| *f != addr) else {
                    continue;
                };
                let depositor =
                    !exchanges.contains_key(&from) && ledger.contract_mark(from)?.is_none();
                deposits.push(Deposit {
                    tx: h.tx,
                    height: h.height,
                    from,
                    depositor,
                    asset: s.asset,
                    value: o.value,
                });
            }
        }
        if late {
            continue;
        }
        // One deposit forwarded as it came (Victor's pairing), else all
        // deposits since the last sweep forwarded together.
        let single = deposits
            .iter()
            .rev()
            .find(|d| within(d.value, s.value, s.asset, p))
            .copied();
        // Deposits beyond 2^128 in total (a hostile token) match no sweep.
        let total = deposits
            .iter()
            .try_fold(0u128, |sum, d| sum.checked_add(d.value));
        let deposits = match (single, total) {
            (Some(d), _) => vec![d],
            (None, Some(total)) if !deposits.is_empty() && within(total, s.value, s.asset, p) => {
                deposits
            }
            _ => continue,
        };
        out.push(Sweep {
            tx: s.tx,
            height: s.height,
            to: s.to,
            asset: s.asset,
            value: s.value,
            deposits,
        });
    }
    Ok(out)
}

/// Whether a sweep of `swept` forwards deposits of `total` under the tolerance.
fn within(total: Amount, swept: Amount, asset: u32, p: &DepositParams) -> bool {
    let diff = total.abs_diff(swept);
    if asset == 0 {
        diff <= p.max_diff_wei
    } else {
        diff.saturating_mul(1_000_000) <= total.saturating_mul(Amount::from(p.max_diff_token_ppm))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tolerance_is_absolute_for_ether_and_relative_for_tokens() {
        let p = DepositParams::default();
        let eth = 1_000_000_000_000_000_000;
        assert!(within(5 * eth, 5 * eth - eth / 1000, 0, &p));
        assert!(!within(5 * eth, 5 * eth - eth / 50, 0, &p));
        assert!(within(1_000_000, 990_000, 7, &p));
        assert!(!within(1_000_000, 989_999, 7, &p));
    }
}
