//! The lawful economy: pools paying miners, people paying each other and
//! merchants, exchanges (deposit address per customer, sweeps, batched
//! withdrawals, cold storage), payment processors and a custodial mixer.

use anyhow::Result;
use rand::seq::IndexedRandom;
use rand::Rng;

use super::keys::AddrType;
use super::scenario::Scenario;
use super::truth::{EntityKind, Purpose, Role};
use super::wallet::{spendable, Pay, Software, Utxo};
use super::world::World;

/// A mixer order: pay `dest` when due; `tag` names the coin for whoever waits for it.
#[derive(Clone, Debug)]
pub struct MixOrder {
    /// Height from which it may be paid.
    pub due: u32,
    /// Where the customer wants the coins.
    pub dest: Pay,
    /// Tag of the waiting lot (0: an ordinary customer).
    pub tag: u64,
    /// Cases the deposit carried.
    pub cases: Vec<u32>,
}

/// Ids of the lawful actors and the services' pending work.
pub struct Economy {
    /// Mining pools.
    pub pools: Vec<u32>,
    /// Exchanges.
    pub exchanges: Vec<u32>,
    /// Payment processors.
    pub processors: Vec<u32>,
    /// Merchants (each with one processor).
    pub merchants: Vec<(u32, u32)>,
    /// Individuals.
    pub individuals: Vec<u32>,
    /// Individuals paid by pools.
    pub miners: Vec<u32>,
    /// Individuals who use CoinJoins and the mixer.
    pub privacy: Vec<u32>,
    /// The custodial mixer.
    pub mixer: u32,
    /// Withdrawal requests per exchange (index into `exchanges`).
    pub withdrawals: Vec<Vec<Pay>>,
    /// Mixer orders not yet paid.
    pub mix_orders: Vec<MixOrder>,
}

/// Chooses an address type for a wallet of `software`.
pub fn address_type(w: &mut World, software: Software) -> AddrType {
    let r: f64 = w.rng.random();
    match software {
        Software::Core if r < 0.55 => AddrType::P2wpkh,
        Software::Core if r < 0.8 => AddrType::P2tr,
        Software::Core => AddrType::P2shP2wpkh,
        Software::Electrum if r < 0.8 => AddrType::P2wpkh,
        Software::Electrum => AddrType::P2shP2wpkh,
        Software::Legacy if r < 0.7 => AddrType::P2pkh,
        Software::Legacy => AddrType::P2shP2wpkh,
        Software::Service if r < 0.5 => AddrType::P2wpkh,
        Software::Service if r < 0.8 => AddrType::P2shP2wpkh,
        Software::Service => AddrType::P2pkh,
    }
}

/// Software of a person's wallet: Core 45%, Electrum 30%, legacy 25%.
pub fn person_software(w: &mut World) -> Software {
    let r: f64 = w.rng.random();
    if r < 0.45 {
        Software::Core
    } else if r < 0.75 {
        Software::Electrum
    } else {
        Software::Legacy
    }
}

/// A satoshi amount of roughly `frac` of `balance`, often rounded to two
/// significant digits (people send round amounts).
pub fn amount(w: &mut World, balance: u64, lo: f64, hi: f64) -> u64 {
    let frac = w.rng.random_range(lo..hi);
    let mut v = (balance as f64 * frac) as u64;
    if w.rng.random_bool(0.4) && v >= 100 {
        let mut scale = 1;
        while v / scale >= 100 {
            scale *= 10;
        }
        v = v / scale * scale;
    }
    v.max(10_000)
}

impl Economy {
    /// Creates the lawful actors of the scenario.
    pub fn create(w: &mut World, s: &Scenario) -> Result<Economy> {
        let service = |w: &mut World, kind, name: String| -> Result<u32> {
            let ty = address_type(w, Software::Service);
            let id = w.add_entity(kind, name, Software::Service, ty)?;
            let hot = w.new_address(id, ty, Role::Hot, None)?;
            w.entities[id as usize].hot = Some(hot);
            Ok(id)
        };
        let pools = (0..s.pools)
            .map(|i| service(w, EntityKind::MiningPool, format!("Pool {}", i + 1)))
            .collect::<Result<Vec<_>>>()?;
        let exchanges = (0..s.exchanges)
            .map(|i| service(w, EntityKind::Exchange, format!("Exchange {}", i + 1)))
            .collect::<Result<Vec<_>>>()?;
        let processors = (0..s.processors.max(1))
            .map(|i| {
                service(
                    w,
                    EntityKind::PaymentProcessor,
                    format!("Processor {}", i + 1),
                )
            })
            .collect::<Result<Vec<_>>>()?;
        let mixer = service(w, EntityKind::Mixer, "Mixer".to_string())?;
        let mut e = Economy {
            pools,
            withdrawals: vec![Vec::new(); exchanges.len()],
            exchanges,
            processors,
            merchants: Vec::new(),
            individuals: Vec::new(),
            miners: Vec::new(),
            privacy: Vec::new(),
            mixer,
            mix_orders: Vec::new(),
        };
        for i in 0..s.merchants {
            let sw = if w.rng.random_bool(0.5) {
                Software::Core
            } else {
                Software::Electrum
            };
            let ty = address_type(w, sw);
            let id = w.add_entity(EntityKind::Merchant, format!("Merchant {}", i + 1), sw, ty)?;
            w.entities[id as usize].exchange =
                Some(*e.exchanges.choose(&mut w.rng).expect("exchanges"));
            let p = *e.processors.choose(&mut w.rng).expect("processors");
            e.merchants.push((id, p));
        }
        for i in 0..s.individuals {
            let id = e.new_person(w, format!("Person {}", i + 1))?;
            e.individuals.push(id);
            if w.rng.random_bool(0.12) {
                e.miners.push(id);
            }
            if w.rng.random_bool(0.06) {
                e.privacy.push(id);
            }
        }
        Ok(e)
    }

    /// Adds an individual with a random wallet and exchange account.
    pub fn new_person(&self, w: &mut World, name: String) -> Result<u32> {
        let sw = person_software(w);
        let ty = address_type(w, sw);
        let id = w.add_entity(EntityKind::Individual, name, sw, ty)?;
        let reuse = if w.rng.random_bool(0.15) { 0.6 } else { 0.0 };
        let e = &mut w.entities[id as usize];
        e.reuse = reuse;
        e.exchange = Some(*self.exchanges.choose(&mut w.rng).expect("exchanges"));
        Ok(id)
    }

    /// `customer`'s deposit address at exchange `ex` (one per customer, reused).
    pub fn deposit_address(w: &mut World, ex: u32, customer: u32) -> Result<u32> {
        if let (Some(e), Some(d)) = (
            w.entities[customer as usize].exchange,
            w.entities[customer as usize].deposit,
        ) {
            if e == ex {
                return Ok(d);
            }
        }
        let ty = w.entities[ex as usize].ty;
        let d = w.new_address(ex, ty, Role::Deposit, Some(customer))?;
        let c = &mut w.entities[customer as usize];
        if c.exchange == Some(ex) {
            c.deposit = Some(d);
        }
        Ok(d)
    }

    /// Queues a withdrawal from exchange `ex` to `dest`.
    pub fn request_withdrawal(&mut self, ex: u32, dest: Pay) {
        if let Some(i) = self.exchanges.iter().position(|&e| e == ex) {
            self.withdrawals[i].push(dest);
        }
    }

    /// One block of lawful activity, topped up with people's payments until
    /// the block holds about `target` transactions.
    pub fn step(&mut self, w: &mut World, target: usize) -> Result<()> {
        self.pool_payouts(w)?;
        self.exchange_work(w)?;
        self.processor_settlements(w)?;
        self.mixer_work(w)?;
        let mut tries = 0;
        while w.block_len() < target && tries < target * 4 {
            tries += 1;
            self.person_action(w)?;
        }
        Ok(())
    }

    fn pool_payouts(&mut self, w: &mut World) -> Result<()> {
        for pi in 0..self.pools.len() {
            if !(w.height as usize + pi).is_multiple_of(3) {
                continue;
            }
            let pool = self.pools[pi];
            let bal = w.entities[pool as usize].balance(w.height);
            if bal < 100_000_000 || self.miners.is_empty() {
                continue;
            }
            let budget = bal.min(50_0000_0000) / 100 * 98;
            let n = w.rng.random_range(10..=40).min(self.miners.len());
            let mut pays = Vec::with_capacity(n + 2);
            let each = budget / (n as u64 + 2);
            for _ in 0..n {
                let m = *self.miners.choose(&mut w.rng).expect("miners");
                let a = w.receive_address(m)?;
                let v = w.rng.random_range(each / 2..=each);
                pays.push(w.pay_to(a, v));
            }
            // Some miners sell straight to an exchange; the mixer buys reserves.
            let ex = *self.exchanges.choose(&mut w.rng).expect("exchanges");
            let hot = w.entities[ex as usize].hot.expect("exchange hot wallet");
            pays.push(w.pay_to(hot, each));
            if w.rng.random_bool(0.2) {
                let mh = w.entities[self.mixer as usize]
                    .hot
                    .expect("mixer hot wallet");
                pays.push(w.pay_to(mh, each / 2));
            }
            w.pay(pool, &pays, Purpose::PoolPayout, &[])?;
        }
        Ok(())
    }

    fn exchange_work(&mut self, w: &mut World) -> Result<()> {
        for xi in 0..self.exchanges.len() {
            let ex = self.exchanges[xi];
            let batch: Vec<Pay> = self.withdrawals[xi].iter().take(120).copied().collect();
            if !batch.is_empty()
                && w.pay(ex, &batch, Purpose::ExchangeWithdrawal, &[])?
                    .is_some()
            {
                self.withdrawals[xi].drain(..batch.len());
            }
            if (w.height as usize + xi).is_multiple_of(6) {
                sweep(w, ex, 200, Purpose::ExchangeSweep)?;
            }
            let bal = w.entities[ex as usize].balance(w.height);
            if bal > 500_0000_0000 {
                let cold = match w.entities[ex as usize].cold.first() {
                    Some(u) => u.addr,
                    None => {
                        let ty = w.entities[ex as usize].ty;
                        w.new_address(ex, ty, Role::Cold, None)?
                    }
                };
                let p = w.pay_to(cold, bal / 2);
                w.pay(ex, &[p], Purpose::ColdStorage, &[])?;
            } else if bal < 5_0000_0000 {
                let h = w.height;
                let coins: Vec<Utxo> = spendable(&w.entities[ex as usize].cold, h, 3);
                if !coins.is_empty() {
                    let hot = w.entities[ex as usize].hot.expect("hot");
                    send_all(w, ex, coins, hot, Purpose::ColdStorage)?;
                }
            }
        }
        Ok(())
    }

    fn processor_settlements(&mut self, w: &mut World) -> Result<()> {
        for (pi, &p) in self.processors.iter().enumerate() {
            if !(w.height as usize + pi).is_multiple_of(8) {
                continue;
            }
            let h = w.height;
            let coins: Vec<Utxo> = spendable(&w.entities[p as usize].held, h, 300);
            if coins.is_empty() {
                continue;
            }
            // What each merchant is owed: its invoices less a 1% fee.
            let mut owed: std::collections::BTreeMap<u32, u64> = Default::default();
            for u in &coins {
                *owed.entry(w.addrs[u.addr as usize].customer).or_default() += u.value / 100 * 99;
            }
            let mut pays = Vec::new();
            for (m, v) in owed {
                let a = w.receive_address(m)?;
                pays.push(w.pay_to(a, v));
            }
            let rate = w.fee_rate(p);
            let fee = rate
                * super::wallet::vsize(
                    &coins,
                    pays.iter().map(|q| q.ty).chain([w.entities[p as usize].ty]),
                );
            let total: u64 = coins.iter().map(|u| u.value).sum();
            let paid: u64 = pays.iter().map(|q| q.value).sum();
            if total < paid + fee {
                continue;
            }
            w.take_coins(p, &coins);
            let policy = w.entities[p as usize].policy.clone();
            let hot = w.entities[p as usize].hot.expect("hot");
            let change = w.pay_to(hot, 0);
            let d = w.draft(&policy, coins, &pays, Some(change), rate);
            w.commit(&d, &policy, Purpose::Settlement, p, &[])?;
        }
        Ok(())
    }

    fn mixer_work(&mut self, w: &mut World) -> Result<()> {
        let m = self.mixer;
        sweep(w, m, 50, Purpose::Consolidation)?;
        let h = w.height;
        let mut k = 0;
        while k < self.mix_orders.len() {
            let o = &self.mix_orders[k];
            if o.due > h {
                k += 1;
                continue;
            }
            let o = o.clone();
            match w.pay(m, &[o.dest], Purpose::MixerPayout, &o.cases)? {
                Some((_, outs)) => {
                    self.mix_orders.remove(k);
                    if o.tag != 0 {
                        let out = outs
                            .into_iter()
                            .find(|u| u.addr == o.dest.addr)
                            .expect("paid output");
                        w.delivered.push((o.tag, out));
                    }
                }
                None => k += 1,
            }
        }
        Ok(())
    }

    /// Books a mixer order for a deposit of `value` (3% fee, paid in 2–8 blocks).
    pub fn mixer_order(&mut self, w: &mut World, value: u64, dest: u32, tag: u64, cases: Vec<u32>) {
        let due = w.height + w.rng.random_range(2..=8);
        let dest = w.pay_to(dest, value / 100 * 97);
        self.mix_orders.push(MixOrder {
            due,
            dest,
            tag,
            cases,
        });
    }

    fn person_action(&mut self, w: &mut World) -> Result<()> {
        let merchant = !self.merchants.is_empty() && w.rng.random_bool(0.08);
        let who = if merchant {
            self.merchants.choose(&mut w.rng).expect("merchants").0
        } else {
            *self.individuals.choose(&mut w.rng).expect("individuals")
        };
        let bal = w.entities[who as usize].balance(w.height);
        let r: f64 = w.rng.random();
        if merchant {
            // Merchants sell their takings at their exchange.
            if bal > 1_000_000 {
                let ex = w.entities[who as usize]
                    .exchange
                    .expect("merchant exchange");
                let d = Self::deposit_address(w, ex, who)?;
                let v = amount(w, bal, 0.5, 0.95);
                let p = w.pay_to(d, v);
                w.pay(who, &[p], Purpose::ExchangeDeposit, &[])?;
            }
            return Ok(());
        }
        if r < 0.2 {
            // Buy at the exchange: a withdrawal request (paid in the next batch).
            let ex = w.entities[who as usize].exchange.expect("person exchange");
            let a = w.receive_address(who)?;
            let v = w.rng.random_range(100_000..50_000_000);
            let p = w.pay_to(a, v);
            self.request_withdrawal(ex, p);
            return Ok(());
        }
        if bal < 50_000 {
            return Ok(());
        }
        if r < 0.45 && !self.merchants.is_empty() {
            let (m, p) = *self.merchants.choose(&mut w.rng).expect("merchants");
            let ty = w.entities[p as usize].ty;
            let inv = w.new_address(p, ty, Role::Invoice, Some(m))?;
            let v = amount(w, bal, 0.01, 0.3);
            let v = v - v % 7 + 3; // invoices are fiat conversions, not round
            let pay = w.pay_to(inv, v);
            w.pay(who, &[pay], Purpose::MerchantPayment, &[])?;
        } else if r < 0.75 {
            let to = *self.individuals.choose(&mut w.rng).expect("individuals");
            if to == who {
                return Ok(());
            }
            let a = w.receive_address(to)?;
            let v = amount(w, bal, 0.02, 0.6);
            let p = w.pay_to(a, v);
            w.pay(who, &[p], Purpose::Payment, &[])?;
        } else if r < 0.9 {
            let ex = w.entities[who as usize].exchange.expect("person exchange");
            let d = Self::deposit_address(w, ex, who)?;
            let v = amount(w, bal, 0.1, 0.9);
            let p = w.pay_to(d, v);
            w.pay(who, &[p], Purpose::ExchangeDeposit, &[])?;
        } else if r < 0.96 {
            let h = w.height;
            let coins: Vec<Utxo> = spendable(&w.entities[who as usize].coins, h, usize::MAX);
            if coins.len() >= 4 {
                let ty = w.entities[who as usize].ty;
                let to = w.new_address(who, ty, Role::Receive, None)?;
                send_all(w, who, coins, to, Purpose::Consolidation)?;
            }
        } else if self.privacy.contains(&who) {
            let ty = w.entities[self.mixer as usize].ty;
            let dep = w.new_address(self.mixer, ty, Role::MixerDeposit, Some(who))?;
            let v = amount(w, bal, 0.2, 0.8);
            let p = w.pay_to(dep, v);
            if w.pay(who, &[p], Purpose::MixerDeposit, &[])?.is_some() {
                let to = w.new_address(who, w.entities[who as usize].ty, Role::Receive, None)?;
                self.mixer_order(w, v, to, 0, Vec::new());
            }
        }
        Ok(())
    }
}

/// Spends held (deposit/invoice) coins of `entity` into its hot wallet.
fn sweep(w: &mut World, entity: u32, max: usize, purpose: Purpose) -> Result<()> {
    let h = w.height;
    let coins: Vec<Utxo> = spendable(&w.entities[entity as usize].held, h, max);
    if coins.is_empty() {
        return Ok(());
    }
    let hot = w.entities[entity as usize].hot.expect("hot wallet");
    send_all(w, entity, coins, hot, purpose)
}

/// Spends `coins` of `entity` entirely to its own address `to` (one output,
/// fee at the entity's rate); does nothing if the coins cannot pay the fee.
fn send_all(w: &mut World, entity: u32, coins: Vec<Utxo>, to: u32, purpose: Purpose) -> Result<()> {
    let rate = w.fee_rate(entity);
    let ty = w.addrs[to as usize].ty;
    let fee = rate * super::wallet::vsize(&coins, [ty].into_iter());
    let total: u64 = coins.iter().map(|u| u.value).sum();
    if total < fee + super::wallet::DUST {
        return Ok(());
    }
    w.take_coins(entity, &coins);
    let policy = w.entities[entity as usize].policy.clone();
    let out = w.pay_to(to, 0);
    let d = w.draft(&policy, coins, &[], Some(out), rate);
    w.commit(&d, &policy, purpose, entity, &[])?;
    Ok(())
}
