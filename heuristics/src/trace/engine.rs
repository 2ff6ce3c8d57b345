//! Forward tracing: from seed outputs, transaction by transaction in chain
//! order, until the taint reaches services or a limit.

use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use chain_adapters::ledger::{AddrId, Chain, OutRef, SpentBy, TxId, TxRecord};
use trace_file::{Amount, Direction, EndpointRule, TraceFile};

use super::account::{book_held, Account, Release};
use super::alloc::{proportional, Runs};
use super::source::{Attribution, NodeId, Source};
use super::view::{Arrival, Book, Evidence, Hop, Rule, Stop};
use super::{CoinJoinPolicy, Granularity, HashMap, Model, Params, Progress, SeedCoin};
use crate::cluster::MULTI_INPUT_PRIOR;
use crate::coinjoin;
use crate::error::Result;
use crate::tags::TagClass;

/// Pending transactions read from the ledger together (one batched read
/// per column family instead of a few per transaction).
const READ_AHEAD: usize = 64;

/// Taint entering a transaction from one node.
struct Inflow {
    /// Input index (the node's first input for accounts).
    vin: u32,
    node: NodeId,
    addr: AddrId,
    taint: Amount,
    hop: u32,
    /// The node's value as ordered runs (account models).
    runs: Option<Runs>,
}

#[derive(Default)]
struct Pending {
    coins: Vec<Inflow>,
    debits: BTreeSet<NodeId>,
}

/// Traces `seeds` forward under `params`.
pub fn trace_forward(
    src: &mut Source<'_>,
    seeds: &[SeedCoin],
    params: Params,
    progress: &dyn Progress,
) -> Result<TraceFile> {
    let mut chains = std::collections::BTreeSet::new();
    for s in seeds {
        chains.insert(src.tx(s.out.tx)?.chain);
    }
    if chains.len() > 1 {
        return Err(crate::Error::Usage(
            "the seeds are on different chains; trace each chain in its own run".into(),
        ));
    }
    if chains.first() == Some(&Chain::Ethereum) {
        return super::account_chain::trace_accounts(src, seeds, params, progress);
    }
    let mut seeds = seeds.to_vec();
    seeds.sort();
    seeds.dedup();
    if params.coinjoins != CoinJoinPolicy::Exits {
        let f = Forward::run(src, &seeds, params, BTreeSet::new(), progress)?;
        return f.book.finish(f.src, params, Direction::Forward);
    }
    if params.model.is_account() {
        return Err(crate::Error::Usage(
            "CoinJoin exits are followed under the haircut and poison models only".into(),
        ));
    }
    // First with CoinJoins as barriers: the exchange deposit addresses the
    // unmixed proceeds reach are the accounts CoinJoin exits must lead to.
    let barriers = Params {
        coinjoins: CoinJoinPolicy::Barrier,
        ..params
    };
    let first = Forward::run(src, &seeds, barriers, BTreeSet::new(), progress)?;
    if first.book.summary.coinjoins.is_zero() || first.deposits.is_empty() {
        return first.book.finish(first.src, params, Direction::Forward);
    }
    let Forward { src, deposits, .. } = first;
    let f = Forward::run(src, &seeds, params, deposits, progress)?;
    f.book.finish(f.src, params, Direction::Forward)
}

/// Transactions followed from a CoinJoin output to an exchange deposit
/// address ([`CoinJoinPolicy::Exits`]).
const EXIT_DEPTH: usize = 2;

struct Forward<'s, 'a> {
    src: &'s mut Source<'a>,
    p: Params,
    book: Book,
    pending: BTreeMap<TxId, Pending>,
    accounts: HashMap<NodeId, Account>,
    /// Exchange deposit addresses CoinJoin exits may lead to.
    anchors: BTreeSet<AddrId>,
    /// Exchange deposit addresses this trace reached (by their sweeps).
    deposits: BTreeSet<AddrId>,
}

impl<'s, 'a> Forward<'s, 'a> {
    /// Traces `seeds` (sorted, each once) until nothing is pending or a
    /// limit is reached.
    fn run(
        src: &'s mut Source<'a>,
        seeds: &[SeedCoin],
        params: Params,
        anchors: BTreeSet<AddrId>,
        progress: &dyn Progress,
    ) -> Result<Self> {
        let mut f = Forward {
            src,
            p: params,
            book: Book::new(),
            pending: BTreeMap::new(),
            accounts: HashMap::default(),
            anchors,
            deposits: BTreeSet::new(),
        };
        for s in seeds {
            f.seed(*s)?;
        }
        while let Some((id, p)) = f.pending.pop_first() {
            if f.book.summary.txs >= f.p.limits.max_txs {
                f.leftover(p, Stop::MaxTxs)?;
                let rest = std::mem::take(&mut f.pending);
                for (_, p) in rest {
                    f.leftover(p, Stop::MaxTxs)?;
                }
                break;
            }
            if !f.src.has_tx(id) {
                // The next transactions in chain order are read together.
                let ahead: Vec<TxId> = std::iter::once(id)
                    .chain(f.pending.keys().copied())
                    .take(READ_AHEAD)
                    .collect();
                f.src.prefetch(&ahead, f.p.change.is_some())?;
            }
            f.process(id, p)?;
            if f.book.summary.txs.is_multiple_of(1024) {
                progress.update(f.book.summary.txs, f.pending.len());
            }
        }
        book_held(f.accounts.iter(), &mut f.book)?;
        Ok(f)
    }

    fn seed(&mut self, s: SeedCoin) -> Result<()> {
        let o = self.src.seed_output(s.out)?;
        let value = Amount::new(o.value);
        let amount = s.amount.min(value);
        let Some(addr) = o.addr else {
            return self.book.seed(None, s.out, amount);
        };
        let node = self.src.node(addr)?;
        self.book.seed(Some((node, addr)), s.out, amount)?;
        let runs = Runs::seeded(amount, value);
        let tx = self.src.tx(s.out.tx)?;
        let spent = self.src.spends(s.out.tx, &tx)?[s.out.vout as usize];
        self.arrive(s.out, value, addr, node, amount, runs, 0, spent)
    }

    /// Taint `taint` (as `runs` of the output's value) arrived at output
    /// `out` of address `addr` (node `node`) after `hop` hops.
    #[allow(clippy::too_many_arguments)]
    fn arrive(
        &mut self,
        out: OutRef,
        value: Amount,
        addr: AddrId,
        node: NodeId,
        taint: Amount,
        runs: Runs,
        hop: u32,
        spent: Option<SpentBy>,
    ) -> Result<()> {
        if hop > self.p.limits.max_hops {
            return self.book.stop(Some(node), Stop::MaxHops, taint);
        }
        if let Some(attr) = self.src.service(node)? {
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
        if self.p.model.is_account() {
            let runs = runs.arrived_at(out, hop)?;
            if let Some(a) = self.accounts.get_mut(&node) {
                a.credit(out.tx, &runs)?;
                a.hop = a.hop.min(hop);
                return Ok(());
            }
            if taint < self.p.limits.min_amount {
                return self.book.stop(Some(node), Stop::MinAmount, taint);
            }
            let history = self.src.history(node, 0)?;
            let mut a = Account::open(history, out.tx, hop, Release::from(self.p.model))?;
            a.credit(out.tx, &runs)?;
            for tx in a.debits_after(out.tx) {
                self.pending.entry(tx).or_default().debits.insert(node);
            }
            self.accounts.insert(node, a);
            return Ok(());
        }
        let Some(spent) = spent else {
            return self.book.stop(Some(node), Stop::Unspent, taint);
        };
        if taint < self.p.limits.min_amount {
            return self.book.stop(Some(node), Stop::MinAmount, taint);
        }
        self.pending
            .entry(spent.tx)
            .or_default()
            .coins
            .push(Inflow {
                vin: spent.input,
                node,
                addr,
                taint,
                hop,
                runs: None,
            });
        Ok(())
    }

    /// Taint of a pending transaction that will not be judged: its coins
    /// stop here, and its debiting accounts are followed no further.
    fn leftover(&mut self, p: Pending, why: Stop) -> Result<()> {
        for c in p.coins {
            self.book.stop(Some(c.node), why, c.taint)?;
        }
        for n in p.debits {
            if let Some(a) = self.accounts.get_mut(&n) {
                a.stopped.get_or_insert(why);
            }
        }
        Ok(())
    }

    /// The account debits of `tx` as inflows. An inflow's hop is that of
    /// the tainted value it moves (the fewest hops at which that value
    /// arrived at the account).
    fn debits(&mut self, id: TxId, tx: &TxRecord, nodes: BTreeSet<NodeId>) -> Result<Vec<Inflow>> {
        let mut per_node: BTreeMap<NodeId, (u32, AddrId, Amount)> = BTreeMap::new();
        for (vin, i) in tx.inputs.iter().enumerate() {
            let Some(a) = i.addr else { continue };
            let n = self.src.node(a)?;
            if nodes.contains(&n) {
                per_node
                    .entry(n)
                    .or_insert((vin as u32, a, Amount::ZERO))
                    .2
                    .add_assign(Amount::new(i.value))?;
            }
        }
        let mut inflows = Vec::new();
        for (node, (vin, addr, sent)) in per_node {
            let Some(a) = self.accounts.get_mut(&node) else {
                continue;
            };
            if a.stopped.is_some() {
                continue;
            }
            let runs = a.debit(id, sent)?;
            inflows.push(Inflow {
                vin,
                node,
                addr,
                taint: runs.taint()?,
                hop: runs.hop().unwrap_or(a.hop),
                runs: Some(runs),
            });
        }
        Ok(inflows)
    }

    fn process(&mut self, id: TxId, p: Pending) -> Result<()> {
        self.book.summary.txs += 1;
        let tx = self.src.tx(id)?;
        let time = self.src.time(tx.chain, tx.height)?;
        if self.p.limits.time_limit.is_some_and(|l| time > l) {
            return self.leftover(p, Stop::TimeLimit);
        }
        let mut inflows = p.coins;
        if !p.debits.is_empty() {
            inflows.extend(self.debits(id, &tx, p.debits)?);
        }
        inflows.sort_by_key(|i| i.vin);
        let tainted = inflows.iter().any(|i| !i.taint.is_zero());
        if !tainted && !self.p.model.is_account() {
            return Ok(());
        }
        if tainted {
            if let Some(attr) = self.sweep(&tx)? {
                for i in &inflows {
                    self.swept(id, &tx, i, &attr)?;
                }
                return Ok(());
            }
        }
        let mut rule_cj = None;
        if let Some(cj) = coinjoin::detect(&tx).filter(|c| c.kind.multi_party()) {
            match self.p.coinjoins {
                CoinJoinPolicy::Barrier => {
                    for i in &inflows {
                        if !i.taint.is_zero() {
                            self.book.barrier(i.node, id, cj.kind.name(), i.taint)?;
                        }
                    }
                    return Ok(());
                }
                CoinJoinPolicy::Through => {
                    let c = (100 / tx.inputs.len().max(1)) as u8;
                    rule_cj = Some(Rule::CoinJoin(cj.kind.name(), c));
                }
                CoinJoinPolicy::Exits => {
                    let exits = self.exits(id, &tx)?;
                    let kind = cj.kind.name();
                    let room = Amount::sum(
                        tx.outputs
                            .iter()
                            .zip(&exits)
                            .filter(|(_, e)| **e)
                            .map(|(o, _)| Amount::new(o.value)),
                    )?;
                    // What the exits cannot carry stays at the CoinJoin,
                    // taken from each inflow pro rata.
                    let weights: Vec<Amount> = inflows.iter().map(|i| i.taint).collect();
                    let total = Amount::sum(weights.iter().copied())?;
                    let through = total.min(room);
                    let kept = proportional(total.left_after(through), &weights)?;
                    for (i, kept) in inflows.iter_mut().zip(kept) {
                        if !kept.is_zero() {
                            self.book.barrier(i.node, id, kind, kept)?;
                            i.taint = i.taint.left_after(kept);
                        }
                    }
                    if through.is_zero() {
                        return Ok(());
                    }
                    let rule = Some(Rule::CoinJoinExit(kind));
                    return self.spread(id, &tx, &inflows, rule, Some(&exits));
                }
            }
        }
        self.spread(id, &tx, &inflows, rule_cj, None)
    }

    /// Which outputs of CoinJoin `tx` lead to one of the anchors: paid to
    /// one, or spent (within [`EXIT_DEPTH`] transactions, each paying a
    /// single address) by a transaction that pays one.
    fn exits(&mut self, id: TxId, tx: &TxRecord) -> Result<Vec<bool>> {
        let spends = self.src.spends(id, tx)?;
        let mut exits = Vec::with_capacity(tx.outputs.len());
        for (vout, o) in tx.outputs.iter().enumerate() {
            let mut found = o.addr.is_some_and(|a| self.anchors.contains(&a));
            let mut next = spends[vout].filter(|_| o.addr.is_some());
            for _ in 0..EXIT_DEPTH {
                let Some(s) = next.filter(|_| !found) else {
                    break;
                };
                let t = self.src.tx(s.tx)?;
                let paid: Vec<(usize, AddrId)> = t
                    .outputs
                    .iter()
                    .enumerate()
                    .filter_map(|(v, x)| x.addr.map(|a| (v, a)))
                    .collect();
                found = paid.iter().any(|(_, a)| self.anchors.contains(a));
                next = match paid.as_slice() {
                    [(v, _)] => self.src.spends(s.tx, &t)?[*v],
                    _ => None,
                };
            }
            exits.push(found);
        }
        Ok(exits)
    }

    /// Taint of inflow `i` reached service `attr` by sweep `tx`: an
    /// endpoint for each output where it had arrived, at the address that
    /// output paid — the deposit address. (An account — a cluster of
    /// co-spent deposit addresses, say — releases value that arrived at
    /// several of its addresses: each arrival names its own.)
    fn swept(&mut self, id: TxId, tx: &TxRecord, i: &Inflow, attr: &Attribution) -> Result<()> {
        let input = tx.inputs[i.vin as usize]
            .prev
            .unwrap_or(OutRef { tx: id, vout: 0 });
        let arrivals: Vec<(OutRef, u32, Amount)> = match &i.runs {
            Some(runs) => runs
                .by_origin()?
                .into_iter()
                .map(|(o, taint)| match o {
                    Some(o) => (o.out, o.hop, taint),
                    None => (input, i.hop, taint),
                })
                .collect(),
            None => vec![(input, i.hop, i.taint)],
        };
        let evidence = Evidence {
            rule: EndpointRule::DepositSweep,
            sweep: Some(id),
            prior: MULTI_INPUT_PRIOR,
        };
        for (out, hop, amount) in arrivals {
            let paid = self.src.tx(out.tx)?.outputs[out.vout as usize].clone();
            let deposit = paid.addr.unwrap_or(i.addr);
            if attr.class == TagClass::Exchange {
                self.deposits.insert(deposit);
            }
            let arrival = Arrival {
                node: i.node,
                deposit,
                out,
                hop,
                value: Amount::new(paid.value),
                amount,
            };
            self.book.endpoint(attr, evidence, arrival)?;
        }
        Ok(())
    }

    /// The service `tx` sweeps everything into, if all its addressed
    /// outputs belong to the same tagged service.
    fn sweep(&mut self, tx: &TxRecord) -> Result<Option<Rc<Attribution>>> {
        let mut found: Option<Rc<Attribution>> = None;
        for o in &tx.outputs {
            let Some(a) = o.addr else { continue };
            let n = self.src.node(a)?;
            let Some(attr) = self.src.service(n)? else {
                return Ok(None);
            };
            match &found {
                Some(f) if f.service != attr.service => return Ok(None),
                Some(_) => {}
                None => found = Some(attr),
            }
        }
        Ok(found)
    }

    /// Spreads the inflows' taint over `tx`'s outputs by the model and
    /// follows every tainted output.
    ///
    /// With `exits` (CoinJoin exits), only the outputs marked there carry
    /// taint, and none goes to the fee.
    fn spread(
        &mut self,
        id: TxId,
        tx: &TxRecord,
        inflows: &[Inflow],
        rule_cj: Option<Rule>,
        exits: Option<&[bool]>,
    ) -> Result<()> {
        let total = Amount::sum(inflows.iter().map(|i| i.taint))?;
        let open = |vout: usize| exits.is_none_or(|e| e[vout]);
        let mut sizes: Vec<Amount> = (tx.outputs.iter().enumerate())
            .map(|(v, o)| {
                if open(v) {
                    Amount::new(o.value)
                } else {
                    Amount::ZERO
                }
            })
            .collect();
        let fee = if exits.is_some() {
            Amount::ZERO
        } else {
            Amount::new(tx.fee)
        };
        let (parts, pieces) = match self.p.model {
            Model::Haircut => {
                sizes.push(fee);
                (proportional(total, &sizes)?, None)
            }
            Model::Poison => {
                sizes.push(fee);
                (sizes, None)
            }
            Model::Fifo | Model::Lifo => {
                let (pieces, fee) = self.ordered_runs(tx, inflows)?.split(&sizes)?;
                let mut parts = Vec::with_capacity(pieces.len() + 1);
                for p in &pieces {
                    parts.push(p.taint()?);
                }
                parts.push(fee.taint()?);
                (parts, Some(pieces))
            }
        };
        self.book.fee(parts[tx.outputs.len()])?;
        // Each sending node's share of what the transaction carries.
        let mut senders: BTreeMap<NodeId, (Amount, u32, Vec<AddrId>)> = BTreeMap::new();
        for i in inflows.iter().filter(|i| !i.taint.is_zero()) {
            let s = senders
                .entry(i.node)
                .or_insert((Amount::ZERO, i.hop, Vec::new()));
            s.0.add_assign(i.taint)?;
            s.1 = s.1.min(i.hop);
            s.2.push(i.addr);
        }
        let hop = senders.values().map(|s| s.1).min().unwrap_or(0);
        let weights: Vec<Amount> = senders.values().map(|s| s.0).collect();
        let mut change = None;
        let spends = self.src.spends(id, tx)?;
        for (vout, o) in tx.outputs.iter().enumerate() {
            let out = OutRef {
                tx: id,
                vout: vout as u32,
            };
            let taint = parts[vout];
            // Ordered runs matter to account models only.
            let runs = pieces.as_ref().map(|p| p[vout].clone()).unwrap_or_default();
            let Some(addr) = o.addr else {
                self.book.no_address(taint)?;
                continue;
            };
            let node = self.src.node(addr)?;
            if taint.is_zero() {
                if let Some(a) = self.accounts.get_mut(&node) {
                    a.credit(id, &runs)?;
                }
                continue;
            }
            let rule = if let Some((_, _, addrs)) = senders.get(&node) {
                if addrs.contains(&addr) || self.src.granularity == Granularity::Address {
                    Rule::SelfChange
                } else {
                    Rule::SameCluster
                }
            } else if let Some(r) = rule_cj {
                r
            } else {
                if change.is_none() {
                    change = Some(match &self.p.change {
                        Some(policy) => self.src.change(id, tx, policy)?,
                        None => None,
                    });
                }
                match change.flatten() {
                    Some(d) if d.output == vout => Rule::Change(d.heuristics, d.confidence),
                    _ => Rule::Transfer,
                }
            };
            let next = hop + u32::from(!rule.same_owner());
            let value = Amount::new(o.value);
            let shares = proportional(taint, &weights)?;
            for ((&from, _), share) in senders.iter().zip(shares) {
                if !share.is_zero() {
                    self.book.hop(Hop {
                        from,
                        to: node,
                        out,
                        addr,
                        value,
                        amount: share,
                        hop: next,
                        rule,
                    });
                }
            }
            self.book.arrive(node, addr, next, taint)?;
            self.arrive(out, value, addr, node, taint, runs, next, spends[vout])?;
        }
        Ok(())
    }

    /// The transaction's input value as ordered runs: each account's debit
    /// at its first input, other inputs clean.
    fn ordered_runs(&self, tx: &TxRecord, inflows: &[Inflow]) -> Result<Runs> {
        let mut all = Runs::default();
        let mut covered: BTreeSet<NodeId> = BTreeSet::new();
        let by_vin: BTreeMap<u32, &Inflow> = inflows.iter().map(|i| (i.vin, i)).collect();
        for (vin, input) in tx.inputs.iter().enumerate() {
            if let Some(i) = by_vin.get(&(vin as u32)) {
                if let Some(r) = &i.runs {
                    all.extend(r)?;
                    covered.insert(i.node);
                    continue;
                }
            }
            let own = input
                .addr
                .and_then(|a| self.src.cached_node(a))
                .is_some_and(|n| covered.contains(&n));
            if !own {
                all.push(super::alloc::Run::new(Amount::new(input.value), false))?;
            }
        }
        Ok(all)
    }
}
