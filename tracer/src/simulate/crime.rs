//! Fraud as the NPA describes it: victims buy bitcoin at an exchange and pay
//! the scammers' single-use mule addresses; the group hops the proceeds
//! through fresh mules, then peels, consolidates (across cases), mixes
//! (Whirlpool, Wasabi 2, a custodial mixer) and cashes out at its exchange
//! deposit accounts. Every coin carries the satoshi it holds from each case,
//! so the truth file knows each case's endpoints.

use std::collections::BTreeMap;

use anyhow::Result;
use rand::seq::IndexedRandom;
use rand::Rng;

use super::coinjoin::{Coin, CoinJoins, PREMIX_FEE, WHIRLPOOL_POOLS};
use super::economy::Economy;
use super::scenario::{CaseSpec, GroupSpec, Route, Scenario};
use super::truth::{Endpoint, EntityKind, OutputRef, Purpose, Record, Role};
use super::wallet::{Pay, Software, Utxo};
use super::world::World;

/// Satoshi of a coin per case, sorted by case id.
type Shares = Vec<(u32, u64)>;

/// The part `part/whole` of `shares`.
fn scale(shares: &Shares, part: u64, whole: u64) -> Shares {
    shares
        .iter()
        .map(|&(c, v)| (c, (v as u128 * part as u128 / whole.max(1) as u128) as u64))
        .filter(|&(_, v)| v > 0)
        .collect()
}

fn merge(into: &mut Shares, more: &Shares) {
    for &(c, v) in more {
        match into.binary_search_by_key(&c, |s| s.0) {
            Ok(i) => into[i].1 += v,
            Err(i) => into.insert(i, (c, v)),
        }
    }
}

fn cases_in(shares: &Shares) -> Vec<u32> {
    shares.iter().map(|s| s.0).collect()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    /// Forward whole to a fresh mule this many more times.
    Hop(u32),
    /// Next peel-chain step.
    Peel,
    /// Wait in line for the group's consolidation.
    Collect,
    /// Into a CoinJoin.
    Mix,
    /// To the deposit accounts.
    CashOut,
}

struct Lot {
    utxo: Utxo,
    shares: Shares,
    stage: Stage,
    ready: u32,
}

struct Group {
    entity: u32,
    spec: GroupSpec,
    accounts: Vec<(u32, u32)>,
    /// The collector where its cases' proceeds meet (made at the first consolidation).
    collector: Option<u32>,
    cases: Vec<u32>,
    lots: Vec<Lot>,
}

struct Case {
    reference: String,
    spec: CaseSpec,
    group: usize,
    victim: u32,
    exchange: u32,
    start: u32,
    paid: u32,
    payments: Vec<OutputRef>,
    endpoints: Vec<Endpoint>,
}

/// Criminal groups, their cases and the coins in flight.
pub struct Crime {
    groups: Vec<Group>,
    cases: Vec<Case>,
    /// Tag → (group, shares, value the shares refer to) for coins inside a mixer or CoinJoin.
    waiting: BTreeMap<u64, (usize, Shares, u64)>,
    next_tag: u64,
}

impl Crime {
    /// Creates groups (with their deposit accounts) and victims; cases start
    /// between `first` and `last` unless the scenario fixes their block.
    pub fn create(
        w: &mut World,
        eco: &Economy,
        s: &Scenario,
        first: u32,
        last: u32,
    ) -> Result<Crime> {
        let mut crime = Crime {
            groups: Vec::new(),
            cases: Vec::new(),
            waiting: BTreeMap::new(),
            next_tag: 1,
        };
        let mut year_seq: BTreeMap<String, u32> = BTreeMap::new();
        for spec in &s.groups {
            let sw = if w.rng.random_bool(0.5) {
                Software::Electrum
            } else {
                Software::Core
            };
            let ty = super::economy::address_type(w, sw);
            let entity = w.add_entity(EntityKind::CriminalGroup, spec.name.clone(), sw, ty)?;
            let mut accounts = Vec::new();
            for _ in 0..spec.deposit_accounts {
                let ex = *eco.exchanges.choose(&mut w.rng).expect("exchanges");
                accounts.push((ex, Economy::deposit_address(w, ex, entity)?));
            }
            let g = crime.groups.len();
            let mut cases = Vec::new();
            for c in &spec.cases {
                let id = crime.cases.len() as u32;
                let victim = eco.new_person(w, format!("Victim of case {}", id + 1))?;
                let exchange = w.entities[victim as usize]
                    .exchange
                    .expect("victim exchange");
                let start = match c.start {
                    Some(b) => first + b,
                    None => w
                        .rng
                        .random_range(first + 5..=(last.saturating_sub(60)).max(first + 5)),
                };
                let seq = year_seq.entry(c.prefecture.clone()).or_default();
                *seq += 1;
                crime.cases.push(Case {
                    reference: format!("{}-2025-{:04}", c.prefecture.to_uppercase(), seq),
                    spec: c.clone(),
                    group: g,
                    victim,
                    exchange,
                    start,
                    paid: 0,
                    payments: Vec::new(),
                    endpoints: Vec::new(),
                });
                cases.push(id);
            }
            crime.groups.push(Group {
                entity,
                spec: spec.clone(),
                accounts,
                collector: None,
                cases,
                lots: Vec::new(),
            });
        }
        Ok(crime)
    }

    /// One block: victims buy and pay, mixed coins come back, lots move on.
    pub fn step(&mut self, w: &mut World, eco: &mut Economy, cj: &mut CoinJoins) -> Result<()> {
        self.collect_deliveries(w);
        self.victims(w, eco)?;
        for g in 0..self.groups.len() {
            self.launder(w, eco, cj, g)?;
        }
        Ok(())
    }

    fn collect_deliveries(&mut self, w: &mut World) {
        let h = w.height;
        for (tag, utxo) in std::mem::take(&mut w.delivered) {
            let Some((g, shares, basis)) = self.waiting.get(&tag) else {
                continue;
            };
            let lot = Lot {
                shares: scale(shares, utxo.value, *basis),
                utxo,
                stage: Stage::CashOut,
                ready: h + 1,
            };
            self.groups[*g].lots.push(lot);
        }
    }

    fn victims(&mut self, w: &mut World, eco: &mut Economy) -> Result<()> {
        let h = w.height;
        for id in 0..self.cases.len() {
            let c = &self.cases[id];
            let each = (c.spec.amount_btc * 1e8) as u64;
            if h == c.start {
                // The victim buys bitcoin at an exchange to pay the "investment", "fee" or "loan".
                let total = each * c.spec.payments as u64 * 103 / 100 + 200_000;
                let (victim, ex) = (c.victim, c.exchange);
                let a = w.receive_address(victim)?;
                let p = w.pay_to(a, total);
                eco.request_withdrawal(ex, p);
                continue;
            }
            if h <= c.start
                || c.paid >= c.spec.payments
                || w.entities[c.victim as usize].balance(h) < each + 100_000
            {
                continue;
            }
            let (victim, g) = (c.victim, c.group);
            let group = self.groups[g].entity;
            let ty = w.entities[group as usize].ty;
            let mule = w.new_address(group, ty, Role::Mule, None)?;
            let pay = w.pay_to(mule, each);
            let Some((txid, outs)) = w.pay(victim, &[pay], Purpose::VictimPayment, &[id as u32])?
            else {
                continue;
            };
            let out = outs
                .into_iter()
                .find(|u| u.addr == mule)
                .expect("payment output");
            let c = &mut self.cases[id];
            c.paid += 1;
            c.payments.push(OutputRef {
                txid: txid.to_string(),
                vout: out.op.vout,
                value: out.value,
            });
            let hops = self.groups[g].spec.hops;
            let ready = h + w.rng.random_range(1..=3);
            self.groups[g].lots.push(Lot {
                shares: vec![(id as u32, out.value)],
                utxo: out,
                stage: Stage::Hop(hops),
                ready,
            });
        }
        Ok(())
    }

    fn launder(
        &mut self,
        w: &mut World,
        eco: &mut Economy,
        cj: &mut CoinJoins,
        g: usize,
    ) -> Result<()> {
        let h = w.height;
        let lots = std::mem::take(&mut self.groups[g].lots);
        let (mut now, later): (Vec<Lot>, Vec<Lot>) = lots.into_iter().partition(|l| l.ready <= h);
        self.groups[g].lots = later;
        let route = self.groups[g].spec.route;
        for l in &mut now {
            if l.stage == Stage::Hop(0) {
                l.stage = match route {
                    Route::Peel => Stage::Peel,
                    Route::Mixer => Stage::Mix,
                    _ => Stage::Collect,
                };
            }
        }
        let (collect, rest): (Vec<Lot>, Vec<Lot>) =
            now.into_iter().partition(|l| l.stage == Stage::Collect);
        self.consolidate(w, g, collect)?;
        for lot in rest {
            match lot.stage {
                Stage::Hop(k) => {
                    let mule = self.fresh_mule(w, g)?;
                    self.spend(
                        w,
                        g,
                        vec![lot],
                        &[],
                        Some(mule),
                        Purpose::MuleHop,
                        Stage::Hop(k - 1),
                    )?;
                }
                Stage::Peel => self.peel(w, g, lot)?,
                Stage::Mix => self.mix(w, eco, cj, g, lot)?,
                Stage::CashOut => self.cash_out(w, g, vec![lot])?,
                Stage::Collect => unreachable!("collected above"),
            }
        }
        Ok(())
    }

    fn fresh_mule(&self, w: &mut World, g: usize) -> Result<u32> {
        let e = self.groups[g].entity;
        let ty = w.entities[e as usize].ty;
        w.new_address(e, ty, Role::Mule, None)
    }

    /// Spends group lots to `pays` (cash-out outputs become endpoints) and
    /// the remainder to the group's `rest` address (a new lot at `next`).
    #[allow(clippy::too_many_arguments)]
    fn spend(
        &mut self,
        w: &mut World,
        g: usize,
        lots: Vec<Lot>,
        pays: &[Pay],
        rest: Option<u32>,
        purpose: Purpose,
        next: Stage,
    ) -> Result<()> {
        let e = self.groups[g].entity;
        let mut shares = Shares::new();
        for l in &lots {
            merge(&mut shares, &l.shares);
        }
        let inputs: Vec<Utxo> = lots.into_iter().map(|l| l.utxo).collect();
        // Shares follow value: the fee is paid pro rata from every case.
        let total: u64 = inputs.iter().map(|u| u.value).sum();
        let rate = w.fee_rate(e);
        let policy = w.entities[e as usize].policy.clone();
        let change = rest.map(|a| w.pay_to(a, 0));
        let d = w.draft(&policy, inputs, pays, change, rate);
        let (_, outs) = w.commit(&d, &policy, purpose, e, &cases_in(&shares))?;
        let ready = w.height + w.rng.random_range(1..=3);
        for u in outs {
            let part = scale(&shares, u.value, total);
            if w.addrs[u.addr as usize].owner == e {
                self.groups[g].lots.push(Lot {
                    utxo: u,
                    shares: part,
                    stage: next,
                    ready,
                });
            } else if w.addrs[u.addr as usize].role == Role::Deposit {
                let address = w.address_string(u.addr);
                let exchange = w.addrs[u.addr as usize].owner;
                for (case, from_case) in part {
                    self.cases[case as usize].endpoints.push(Endpoint {
                        exchange,
                        address: address.clone(),
                        output: OutputRef {
                            txid: u.op.txid.to_string(),
                            vout: u.op.vout,
                            value: u.value,
                        },
                        from_case,
                    });
                }
            }
        }
        Ok(())
    }

    fn account(&self, w: &mut World, g: usize) -> u32 {
        self.groups[g]
            .accounts
            .choose(&mut w.rng)
            .expect("accounts")
            .1
    }

    fn peel(&mut self, w: &mut World, g: usize, lot: Lot) -> Result<()> {
        if lot.utxo.value < 5_000_000 {
            return self.cash_out(w, g, vec![lot]);
        }
        let slice = (lot.utxo.value as f64 * w.rng.random_range(0.15..0.35)) as u64;
        let acc = self.account(w, g);
        let pay = w.pay_to(acc, slice);
        let mule = self.fresh_mule(w, g)?;
        self.spend(
            w,
            g,
            vec![lot],
            &[pay],
            Some(mule),
            Purpose::Peel,
            Stage::Peel,
        )
    }

    /// Merges waiting lots into the group's collector once two are waiting or
    /// the oldest has waited 6 blocks.
    fn consolidate(&mut self, w: &mut World, g: usize, lots: Vec<Lot>) -> Result<()> {
        if lots.is_empty() {
            return Ok(());
        }
        let oldest = lots.iter().map(|l| l.ready).min().unwrap_or(w.height);
        if lots.len() < 2 && w.height < oldest + 6 {
            self.groups[g].lots.extend(lots);
            return Ok(());
        }
        let e = self.groups[g].entity;
        let collector = match self.groups[g].collector {
            Some(c) => c,
            None => {
                let ty = w.entities[e as usize].ty;
                let c = w.new_address(e, ty, Role::Collector, None)?;
                self.groups[g].collector = Some(c);
                c
            }
        };
        let next = match self.groups[g].spec.route {
            Route::Whirlpool | Route::Wasabi2 => Stage::Mix,
            _ => Stage::CashOut,
        };
        self.spend(
            w,
            g,
            lots,
            &[],
            Some(collector),
            Purpose::GroupConsolidation,
            next,
        )
    }

    fn cash_out(&mut self, w: &mut World, g: usize, lots: Vec<Lot>) -> Result<()> {
        let total: u64 = lots.iter().map(|l| l.utxo.value).sum();
        let n = if total > 20_000_000 {
            w.rng.random_range(1..=3)
        } else {
            1
        };
        let mut pays = Vec::new();
        for k in 0..n {
            let acc = self.account(w, g);
            // All but the last get a share; the last takes the rest (as "change" would).
            if k + 1 < n {
                pays.push(w.pay_to(acc, total / n as u64));
            } else {
                let e = self.groups[g].entity;
                let rate = w.fee_rate(e);
                let inputs: Vec<Utxo> = lots.iter().map(|l| l.utxo.clone()).collect();
                let ty = w.addrs[acc as usize].ty;
                let fee =
                    rate * super::wallet::vsize(&inputs, pays.iter().map(|p| p.ty).chain([ty]));
                let paid: u64 = pays.iter().map(|p| p.value).sum();
                let Some(v) = total
                    .checked_sub(paid + fee)
                    .filter(|v| *v > super::wallet::DUST)
                else {
                    return Ok(()); // dust: abandoned
                };
                pays.push(w.pay_to(acc, v));
            }
        }
        // Fee is the exact remainder; no change output.
        self.spend(w, g, lots, &pays, None, Purpose::Cashout, Stage::CashOut)
    }

    fn mix(
        &mut self,
        w: &mut World,
        eco: &mut Economy,
        cj: &mut CoinJoins,
        g: usize,
        lot: Lot,
    ) -> Result<()> {
        let tag = self.next_tag;
        self.next_tag += 1;
        let e = self.groups[g].entity;
        let cases = cases_in(&lot.shares);
        match self.groups[g].spec.route {
            Route::Mixer => {
                let ty = w.entities[eco.mixer as usize].ty;
                let dep = w.new_address(eco.mixer, ty, Role::MixerDeposit, Some(e))?;
                let shares = lot.shares.clone();
                let value = lot.utxo.value;
                let rate = w.fee_rate(e);
                let policy = w.entities[e as usize].policy.clone();
                let out = w.pay_to(dep, 0);
                let d = w.draft(&policy, vec![lot.utxo], &[], Some(out), rate);
                let (_, outs) = w.commit(&d, &policy, Purpose::MixerDeposit, e, &cases)?;
                let deposited = outs[0].value;
                let dest = self.fresh_mule(w, g)?;
                eco.mixer_order(w, deposited, dest, tag, cases);
                self.waiting
                    .insert(tag, (g, scale(&shares, deposited, value), deposited));
            }
            Route::Wasabi2 => {
                self.waiting
                    .insert(tag, (g, lot.shares.clone(), lot.utxo.value));
                cj.wasabi.push(Coin {
                    utxo: lot.utxo,
                    owner: e,
                    tag,
                    cases,
                });
            }
            _ => {
                let Some((pool, n)) = CoinJoins::whirlpool_pool(lot.utxo.value, 10) else {
                    return self.cash_out(w, g, vec![lot]);
                };
                let change = self.fresh_mule(w, g)?;
                let value = lot.utxo.value;
                let Some(ch) =
                    cj.tx0(w, e, vec![lot.utxo.clone()], pool, n, change, tag, &cases)?
                else {
                    // Too small for the TX0's fees: cash it out unmixed.
                    return self.cash_out(w, g, vec![lot]);
                };
                let premix = n * (WHIRLPOOL_POOLS[pool] + PREMIX_FEE);
                self.waiting
                    .insert(tag, (g, scale(&lot.shares, premix, value), premix));
                let ready = w.height + 1;
                self.groups[g].lots.push(Lot {
                    shares: scale(&lot.shares, ch.value, value),
                    utxo: ch,
                    stage: Stage::CashOut,
                    ready,
                });
            }
        }
        Ok(())
    }

    /// Writes the groups and cases (with expected endpoints and links) to the truth file.
    pub fn finish(self, w: &mut World) -> Result<()> {
        for (gi, g) in self.groups.iter().enumerate() {
            let deposit_accounts = g
                .accounts
                .iter()
                .map(|&(_, a)| w.address_string(a))
                .collect();
            let collectors = g.collector.iter().map(|&a| w.address_string(a)).collect();
            w.record(&Record::Group {
                id: gi as u32,
                entity: g.entity,
                route: format!("{:?}", g.spec.route).to_lowercase(),
                cases: g.cases.clone(),
                deposit_accounts,
                collectors,
            })?;
        }
        for (id, c) in self.cases.into_iter().enumerate() {
            let linked = self.groups[c.group]
                .cases
                .iter()
                .copied()
                .filter(|&o| o != id as u32)
                .collect();
            w.record(&Record::Case {
                id: id as u32,
                reference: c.reference,
                prefecture: c.spec.prefecture,
                kind: c.spec.kind,
                victim: c.victim,
                group: c.group as u32,
                payments: c.payments,
                endpoints: c.endpoints,
                linked,
            })?;
        }
        Ok(())
    }

    /// Coins of the groups still on their way (not yet cashed out).
    pub fn in_flight(&self) -> usize {
        self.groups.iter().map(|g| g.lots.len()).sum()
    }
}
