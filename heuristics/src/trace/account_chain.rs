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

use chain_adapters::ledger::{AddrId, Amount, OutRef, TxId, TxRecord};

use super::account::{book_held, Account, Release};
use super::alloc::{Run, Runs};
use super::source::{NodeId, Source};
use super::view::{Book, Hop, Rule, Stop, Trace};
use super::{Granularity, HashMap, Params, Progress, SeedCoin};
use crate::error::{Error, Result};

/// Traces `seeds` (outputs of account-chain transactions, all of one
/// asset) forward under `params`.
pub fn trace_accounts(
    src: &mut Source<'_>,
    seeds: &[SeedCoin],
    params: Params,
    progress: &dyn Progress,
) -> Result<Trace> {
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
            t.stop_all(Stop::MaxTxs);
            break;
        }
        t.process(id, &seeded)?;
        if t.book.summary.txs.is_multiple_of(1024) {
            progress.update(t.book.summary.txs, t.pending.len());
        }
    }
    book_held(t.accounts.iter(), &mut t.book);
    let Tracer { src, book, p, .. } = t;
    book.finish(src, p, "forward")
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
    fn stop_all(&mut self, why: Stop) {
        for a in self.accounts.values_mut() {
            a.stopped.get_or_insert(why);
        }
        for (_, seeded) in std::mem::take(&mut self.pending) {
            for (_, amount) in seeded {
                self.book.stop(None, why, amount);
            }
        }
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
                self.book.stop(None, Stop::TimeLimit, amount);
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
                let acc = self.accounts.get_mut(&n).expect("open account");
                self.book.summary.fees += acc.debit(id, tx.fee).taint();
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
            let (runs, hop, rule) = match seeded.iter().find(|s| s.0 == out.vout) {
                Some(&(_, amount)) => {
                    let amount = amount.min(o.value);
                    self.book.seed(to_node, to, out, amount);
                    let mut r = Runs::one(amount, true);
                    r.push(Run::new(o.value - amount, false));
                    (r, 0, None)
                }
                None => match from {
                    Some(n) => {
                        let acc = self.accounts.get_mut(&n).expect("open account");
                        let hop = acc.hop;
                        let runs = acc.debit(id, o.value);
                        let rule = self.rule(n, to_node, o.from, to);
                        (runs, hop + u32::from(!rule.same_owner()), Some((n, rule)))
                    }
                    None => (Runs::one(o.value, false), 0, None),
                },
            };
            let taint = runs.taint();
            if let (Some((from_node, rule)), true) = (rule, taint > 0) {
                self.book.hop(Hop {
                    from: from_node,
                    to: to_node,
                    out,
                    addr: to,
                    value: o.value,
                    amount: taint,
                    hop,
                    rule,
                });
                self.book.arrive(to_node, to, hop, taint);
            }
            self.arrive(
                out,
                to,
                to_node,
                o.value,
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
        let taint = runs.taint();
        if let Some(acc) = self.accounts.get_mut(&to_node) {
            acc.credit(out.tx, &runs.arrived_at(out));
            acc.hop = acc.hop.min(hop);
            return Ok(());
        }
        if taint == 0 {
            return Ok(());
        }
        if hop > self.p.limits.max_hops {
            self.book.stop(Some(to_node), Stop::MaxHops, taint);
            return Ok(());
        }
        if let Some(attr) = self.src.service(to_node)? {
            let rule = self.src.tag_rule(&attr, to)?;
            // A followed address that the deposit-address heuristic finds
            // sweeping here into a tagged exchange wallet is that
            // exchange's deposit address: the endpoint investigators ask
            // the exchange about.
            if let (Some((from_node, Some(from_addr))), "tagged_address") = (sender, rule) {
                if from_node != to_node && self.src.deposit_sweep(from_addr, out.tx)? {
                    for (origin, amount) in runs.by_origin() {
                        let origin = origin.unwrap_or(out);
                        let arrived = self.src.tx(origin.tx)?.outputs[origin.vout as usize].value;
                        self.book.endpoint(
                            from_node,
                            from_addr,
                            &attr,
                            "deposit_sweep",
                            Some(out.tx),
                            origin,
                            hop.saturating_sub(1),
                            arrived,
                            amount,
                        );
                    }
                    return Ok(());
                }
            }
            self.book
                .endpoint(to_node, to, &attr, rule, None, out, hop, value, taint);
            return Ok(());
        }
        if taint < self.p.limits.min_amount {
            self.book.stop(Some(to_node), Stop::MinAmount, taint);
            return Ok(());
        }
        let history = self.src.history(to_node, self.asset)?;
        let mut acc = Account::open_before(history, out.tx, hop, Release::from(self.p.model));
        acc.credit(out.tx, &runs.arrived_at(out));
        for t in acc.debits_after(out.tx) {
            self.pending.entry(t).or_default();
        }
        self.accounts.insert(to_node, acc);
        Ok(())
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
