//! Backward tracing: where did the funds an address received come from?
//! Transactions are judged in reverse chain order; an output's taint goes
//! back to the transaction's inputs (in proportion to their values under
//! haircut, in full under poison) until it reaches a service (a withdrawal
//! from an exchange, say), newly mined coins, or a limit.

use std::collections::BTreeMap;

use chain_adapters::ledger::{AddrId, OutRef, TxId};
use trace_file::{Amount, Direction, TraceFile};

use super::alloc::proportional;
use super::source::{NodeId, Source};
use super::view::{Arrival, Book, Hop, Rule, Stop};
use super::{CoinJoinPolicy, Granularity, Model, Params, Progress, SeedCoin};
use crate::coinjoin;
use crate::error::{Error, Result};

/// Taint on one output of a transaction, to be traced to its inputs.
struct Outflow {
    vout: u32,
    node: NodeId,
    addr: AddrId,
    taint: Amount,
    hop: u32,
}

/// Traces the value of `seeds` (outputs an address received) backward.
/// Only the poison and haircut models are defined backward.
pub fn trace_backward(
    src: &mut Source<'_>,
    seeds: &[SeedCoin],
    params: Params,
    progress: &dyn Progress,
) -> Result<TraceFile> {
    if params.model.is_account() {
        return Err(Error::Usage(format!(
            "the {} model is not defined backward; use haircut or poison",
            params.model.name()
        )));
    }
    let mut b = Backward {
        src,
        p: params,
        book: Book::new(),
        pending: BTreeMap::new(),
    };
    let mut seeds = seeds.to_vec();
    seeds.sort();
    seeds.dedup();
    for s in &seeds {
        let o = b.src.seed_output(s.out)?;
        let amount = s.amount.min(Amount::new(o.value));
        let Some(addr) = o.addr else {
            b.book.seed(None, s.out, amount)?;
            continue;
        };
        let node = b.src.node(addr)?;
        b.book.seed(Some((node, addr)), s.out, amount)?;
        b.pending.entry(s.out.tx).or_default().push(Outflow {
            vout: s.out.vout,
            node,
            addr,
            taint: amount,
            hop: 0,
        });
    }
    while let Some((id, outs)) = b.pending.pop_last() {
        if b.book.summary.txs >= b.p.limits.max_txs {
            for o in outs {
                b.book.stop(Some(o.node), Stop::MaxTxs, o.taint)?;
            }
            let rest = std::mem::take(&mut b.pending);
            for o in rest.into_values().flatten() {
                b.book.stop(Some(o.node), Stop::MaxTxs, o.taint)?;
            }
            break;
        }
        b.process(id, outs)?;
        if b.book.summary.txs.is_multiple_of(1024) {
            progress.update(b.book.summary.txs, b.pending.len());
        }
    }
    let Backward { src, book, p, .. } = b;
    book.finish(src, p, Direction::Backward)
}

struct Backward<'s, 'a> {
    src: &'s mut Source<'a>,
    p: Params,
    book: Book,
    pending: BTreeMap<TxId, Vec<Outflow>>,
}

impl Backward<'_, '_> {
    fn process(&mut self, id: TxId, outs: Vec<Outflow>) -> Result<()> {
        self.book.summary.txs += 1;
        let tx = self.src.tx(id)?;
        let total = Amount::sum(outs.iter().map(|o| o.taint))?;
        let time = self.src.time(tx.chain, tx.height)?;
        let stop_all = |book: &mut Book, why| -> Result<()> {
            for o in &outs {
                book.stop(Some(o.node), why, o.taint)?;
            }
            Ok(())
        };
        if self.p.limits.time_limit.is_some_and(|l| time < l) {
            return stop_all(&mut self.book, Stop::TimeLimit);
        }
        if tx.is_coinbase() {
            return stop_all(&mut self.book, Stop::Mined);
        }
        let mut rule_cj = None;
        if let Some(cj) = coinjoin::detect(&tx).filter(|c| c.kind.multi_party()) {
            match self.p.coinjoins {
                // Exits are a forward rule: backward, a CoinJoin stops the trace.
                CoinJoinPolicy::Barrier | CoinJoinPolicy::Exits => {
                    for o in &outs {
                        self.book.barrier(o.node, id, cj.kind.name(), o.taint)?;
                    }
                    return Ok(());
                }
                CoinJoinPolicy::Through => {
                    let c = (100 / tx.outputs.len().max(1)) as u8;
                    rule_cj = Some(Rule::CoinJoin(cj.kind.name(), c));
                }
            }
        }
        let values: Vec<Amount> = tx.inputs.iter().map(|i| Amount::new(i.value)).collect();
        let parts = match self.p.model {
            Model::Poison => values,
            _ => proportional(total, &values)?,
        };
        // Receiving nodes and their share, for the edges.
        let mut receivers: BTreeMap<NodeId, (Amount, u32, Vec<AddrId>, u32)> = BTreeMap::new();
        for o in &outs {
            let r = receivers
                .entry(o.node)
                .or_insert((Amount::ZERO, o.hop, Vec::new(), o.vout));
            r.0.add_assign(o.taint)?;
            r.1 = r.1.min(o.hop);
            r.2.push(o.addr);
        }
        let hop = receivers.values().map(|r| r.1).min().unwrap_or(0);
        let weights: Vec<Amount> = receivers.values().map(|r| r.0).collect();
        let main_out = outs
            .iter()
            .max_by_key(|o| (o.taint, std::cmp::Reverse(o.vout)));
        let main_out = main_out.map_or(0, |o| o.vout);
        for (input, taint) in tx.inputs.iter().zip(parts) {
            let (Some(prev), Some(addr)) = (input.prev, input.addr) else {
                self.book.no_address(taint)?;
                continue;
            };
            if taint.is_zero() {
                continue;
            }
            let node = self.src.node(addr)?;
            let rule = match receivers.get(&node) {
                Some(r) if r.2.contains(&addr) || self.src.granularity == Granularity::Address => {
                    Rule::SelfChange
                }
                Some(_) => Rule::SameCluster,
                None => rule_cj.unwrap_or(Rule::Transfer),
            };
            let next = hop + u32::from(!rule.same_owner());
            for ((&to, r), share) in receivers.iter().zip(proportional(taint, &weights)?) {
                if !share.is_zero() {
                    let out = OutRef { tx: id, vout: r.3 };
                    let value = Amount::new(tx.outputs[r.3 as usize].value);
                    let to_addr = r.2[0];
                    self.book.hop(Hop {
                        from: node,
                        to,
                        out,
                        addr: to_addr,
                        value,
                        amount: share,
                        hop: next,
                        rule,
                    });
                }
            }
            self.book.arrive(node, addr, next, taint)?;
            self.arrive(id, main_out, prev, node, addr, taint, next)?;
        }
        Ok(())
    }

    /// Taint traced back to output `prev` of `addr` (node `node`), which
    /// transaction `id` spent.
    #[allow(clippy::too_many_arguments)]
    fn arrive(
        &mut self,
        id: TxId,
        main_out: u32,
        prev: OutRef,
        node: NodeId,
        addr: AddrId,
        taint: Amount,
        hop: u32,
    ) -> Result<()> {
        if hop > self.p.limits.max_hops {
            return self.book.stop(Some(node), Stop::MaxHops, taint);
        }
        if let Some(attr) = self.src.service(node)? {
            let out = OutRef {
                tx: id,
                vout: main_out,
            };
            let value = Amount::new(self.src.tx(id)?.outputs[main_out as usize].value);
            let arrival = Arrival {
                node,
                deposit: addr,
                out,
                hop,
                value,
                amount: taint,
            };
            return self.book.tagged_endpoint(self.src, &attr, arrival);
        }
        if taint < self.p.limits.min_amount {
            return self.book.stop(Some(node), Stop::MinAmount, taint);
        }
        self.pending.entry(prev.tx).or_default().push(Outflow {
            vout: prev.vout,
            node,
            addr,
            taint,
            hop,
        });
        Ok(())
    }
}
