//! Forward tracing on an account chain (Ethereum): value sits in account
//! balances, not in coins. Every address (or cluster) the taint reaches is
//! an account; what it sends later carries taint by the model — poison
//! (everything a tainted account sends), haircut (the tainted share of its
//! balance), FIFO or LIFO (the order value arrived). One asset per trace:
//! ether or one token, the asset of the seeds.
//!
//! Transactions are judged in chain order and, within one, transfer by
//! transfer in execution order (the top-level call, then internal calls,
//! then token logs), so value passing through a contract in one
//! transaction is followed. An ether sender pays its fee first; the
//! fee's tainted part is reported as fees.

use std::collections::BTreeMap;

use chain_adapters::ledger::{AddrId, OutRef, TxId, TxRecord};
use trace_file::{Amount, Direction, EndpointRule, TraceFile};

use super::account::{book_held, Account, Release};
use super::alloc::Runs;
use super::source::{Attribution, NodeId, Source};
use super::view::{Arrival, Book, Evidence, Hop, Rule, Stop};
use super::{Granularity, HashMap, Params, Progress, SeedCoin};
use crate::deposit::DEPOSIT_PRIOR;
use crate::error::{Error, Result};

/// Traces `seeds` (outputs of account-chain transactions, all of one
/// asset) forward under `params`.
pub fn trace_accounts(
    src: &mut Source<'_>,
    seeds: &[SeedCoin],
    params: Params,
    progress: &dyn Progress,
) -> Result<TraceFile> {
    let mut asset = None;
    for s in seeds {
        let a = src.seed_output(s.out)?.asset;
        if asset.is_some_and(|x| x != a) {
            return Err(Error::Usage(
                "the seeds move different assets (ether and a token, or two tokens); trace one asset per run"
                    .into(),
            ));
        }
        asset = Some(a);
    }
    let mut t = Tracer {
        src,
        p: params,
        asset: asset.unwrap_or(0),
        book: Book::new(),
        accounts: HashMap::default(),
        pending: BTreeMap::new(),
    };
    let mut seeds = seeds.to_vec();
    seeds.sort();
    seeds.dedup();
    for s in &seeds {
        t.pending
            .entry(s.out.tx)
            .or_default()
            .push((s.out.vout, s.amount));
    }
    while let Some((id, seeded)) = t.pending.pop_first() {
        if t.book.summary.txs >= t.p.limits.max_txs {
            t.stop_all(Stop::MaxTxs)?;
            break;
        }
        t.process(id, &seeded)?;
        if t.book.summary.txs.is_multiple_of(1024) {
            progress.update(t.book.summary.txs, t.pending.len());
        }
    }
    book_held(t.accounts.iter(), &mut t.book)?;
    let Tracer { src, book, p, .. } = t;
    book.finish(src, p, Direction::Forward)
}

struct Tracer<'s, 'a> {
    src: &'s mut Source<'a>,
    p: Params,
    asset: u32,
    book: Book,
    accounts: HashMap<NodeId, Account>,
    /// Transactions to judge, with the seed transfers (index, taint) in them.
    pending: BTreeMap<TxId, Vec<(u32, Amount)>>,
}

impl Tracer<'_, '_> {
    /// Stops following every account (a limit was reached).
    fn stop_all(&mut self, why: Stop) -> Result<()> {
        for a in self.accounts.values_mut() {
            a.stopped.get_or_insert(why);
        }
        for (_, seeded) in std::mem::take(&mut self.pending) {
            for (_, amount) in seeded {
                self.book.stop(None, why, amount)?;
            }
        }
        Ok(())
    }

    /// The open, still followed account of `addr`'s node.
    fn account(&mut self, addr: Option<AddrId>) -> Result<Option<NodeId>> {
        let Some(a) = addr else { return Ok(None) };
        let n = self.src.node(a)?;
        Ok(self
            .accounts
            .get(&n)
            .filter(|acc| acc.stopped.is_none())
            .map(|_| n))
    }

    fn process(&mut self, id: TxId, seeded: &[(u32, Amount)]) -> Result<()> {
        self.book.summary.txs += 1;
        let tx = self.src.tx(id)?;
        let time = self.src.time(tx.chain, tx.height)?;
        if self.p.limits.time_limit.is_some_and(|l| time > l) {
            for &(_, amount) in seeded {
                self.book.stop(None, Stop::TimeLimit, amount)?;
            }
            for a in involved(&tx, self.asset) {
                if let Some(n) = self.account(Some(a))? {
                    if let Some(acc) = self.accounts.get_mut(&n) {
                        acc.stopped.get_or_insert(Stop::TimeLimit);
                    }
                }
            }
            return Ok(());
        }
        // The sender pays the fee before anything moves.
        if self.asset == 0 {
            let payer = tx.inputs.first().and_then(|i| i.addr);
            if let Some(n) = self.account(payer)? {
                if let Some(acc) = self.accounts.get_mut(&n) {
                    let fee = acc.debit(id, Amount::new(tx.fee))?.taint()?;
                    self.book.fee(fee)?;
                }
            }
        }
        for (vout, o) in tx.outputs.iter().enumerate() {
            if o.asset != self.asset {
                continue;
            }
            let Some(to) = o.addr else { continue };
            let out = OutRef {
                tx: id,
                vout: vout as u32,
            };
            let to_node = self.src.node(to)?;
            let from = self.account(o.from)?;
            let value = Amount::new(o.value);
            let (runs, hop, rule) = match seeded.iter().find(|s| s.0 == out.vout) {
                Some(&(_, amount)) => {
                    let amount = amount.min(value);
                    self.book.seed(Some((to_node, to)), out, amount)?;
                    (Runs::seeded(amount, value), 0, None)
                }
                None => match from.and_then(|n| self.accounts.get_mut(&n).map(|a| (n, a))) {
                    Some((n, acc)) => {
                        let runs = acc.debit(id, value)?;
                        let hop = runs.hop().unwrap_or(acc.hop);
                        let rule = self.rule(n, to_node, o.from, to);
                        (runs, hop + u32::from(!rule.same_owner()), Some((n, rule)))
                    }
                    None => (Runs::one(value, false), 0, None),
                },
            };
            let taint = runs.taint()?;
            if let (Some((from_node, rule)), false) = (rule, taint.is_zero()) {
                self.book.hop(Hop {
                    from: from_node,
                    to: to_node,
                    out,
                    addr: to,
                    value,
                    amount: taint,
                    hop,
                    rule,
                });
                self.book.arrive(to_node, to, hop, taint)?;
            }
            self.arrive(
                out,
                to,
                to_node,
                value,
                runs,
                hop,
                from.map(|n| (n, o.from)),
            )?;
        }
        Ok(())
    }

    /// How a transfer between two nodes is judged.
    fn rule(&self, from: NodeId, to: NodeId, from_addr: Option<AddrId>, to_addr: AddrId) -> Rule {
        if from != to {
            Rule::Transfer
        } else if from_addr == Some(to_addr) || self.src.granularity == Granularity::Address {
            Rule::SelfChange
        } else {
            Rule::SameCluster
        }
    }

    /// `runs` arrived at address `to` (node `to_node`) in output `out`
    /// after `hop` hops, sent by the followed account `sender` (if any).
    #[allow(clippy::too_many_arguments)]
    fn arrive(
        &mut self,
        out: OutRef,
        to: AddrId,
        to_node: NodeId,
        value: Amount,
        runs: Runs,
        hop: u32,
        sender: Option<(NodeId, Option<AddrId>)>,
    ) -> Result<()> {
        let taint = runs.taint()?;
        if let Some(acc) = self.accounts.get_mut(&to_node) {
            acc.credit(out.tx, &runs.arrived_at(out, hop)?)?;
            acc.hop = acc.hop.min(hop);
            return Ok(());
        }
        if taint.is_zero() {
            return Ok(());
        }
        if hop > self.p.limits.max_hops {
            return self.book.stop(Some(to_node), Stop::MaxHops, taint);
        }
        if let Some(attr) = self.src.service(to_node)? {
            return self.endpoint(&attr, out, to, to_node, value, &runs, hop, sender);
        }
        if taint < self.p.limits.min_amount {
            return self.book.stop(Some(to_node), Stop::MinAmount, taint);
        }
        let history = self.src.history(to_node, self.asset)?;
        let mut acc = Account::open_before(history, out.tx, hop, Release::from(self.p.model))?;
        acc.credit(out.tx, &runs.arrived_at(out, hop)?)?;
        for t in acc.debits_after(out.tx) {
            self.pending.entry(t).or_default();
        }
        self.accounts.insert(to_node, acc);
        Ok(())
    }

    /// `runs` reached service `attr` at address `to` in output `out`. The
    /// endpoint names the deposit address the case's funds reached and the
    /// sweep that proves it whenever the deposit-address heuristic finds
    /// one: a followed address sweeping into the tagged wallet (address
    /// level), or an address that the cluster build joined to the
    /// exchange because it sweeps there (cluster level: the exchange's
    /// cluster holds its deposit addresses).
    #[allow(clippy::too_many_arguments)]
    fn endpoint(
        &mut self,
        attr: &Attribution,
        out: OutRef,
        to: AddrId,
        to_node: NodeId,
        value: Amount,
        runs: &Runs,
        hop: u32,
        sender: Option<(NodeId, Option<AddrId>)>,
    ) -> Result<()> {
        let rule = self.src.tag_rule(attr, to)?;
        let swept = |sweep| Evidence {
            rule: EndpointRule::DepositSweep,
            sweep: Some(sweep),
            prior: DEPOSIT_PRIOR,
        };
        if let (Some((from_node, Some(from_addr))), EndpointRule::TaggedAddress) = (sender, rule) {
            if from_node != to_node && self.src.deposit_sweep(from_addr, out.tx)? {
                for (origin, amount) in runs.by_origin()? {
                    // Taint that arrived at the deposit address names the
                    // output it arrived in; taint without one (the clean
                    // value poison taints) is the sweep's.
                    let (at, at_hop) =
                        origin.map_or((out, hop.saturating_sub(1)), |o| (o.out, o.hop));
                    let paid = &self.src.tx(at.tx)?.outputs[at.vout as usize];
                    let deposit = match origin {
                        Some(_) => paid.addr.unwrap_or(from_addr),
                        None => from_addr,
                    };
                    let arrival = Arrival {
                        node: from_node,
                        deposit,
                        out: at,
                        hop: at_hop,
                        value: Amount::new(paid.value),
                        amount,
                    };
                    self.book.endpoint(attr, swept(out.tx), arrival)?;
                }
                return Ok(());
            }
        }
        let sweep = match rule {
            EndpointRule::TaggedCluster => self.src.sweep_of_deposit(to, out.tx)?,
            _ => None,
        };
        let evidence = match sweep {
            Some(s) => swept(s),
            None => Evidence::tagged(rule),
        };
        let arrival = Arrival {
            node: to_node,
            deposit: to,
            out,
            hop,
            value,
            amount: runs.taint()?,
        };
        self.book.endpoint(attr, evidence, arrival)
    }
}

/// Addresses that send the traced asset in `tx` (or pay its fee).
fn involved(tx: &TxRecord, asset: u32) -> Vec<AddrId> {
    let mut v: Vec<AddrId> = tx
        .outputs
        .iter()
        .filter(|o| o.asset == asset)
        .filter_map(|o| o.from)
        .chain(tx.inputs.iter().filter_map(|i| i.addr))
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}
