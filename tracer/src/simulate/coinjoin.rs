//! CoinJoins in the styles seen on chain: Whirlpool (TX0 then 5-in/5-out
//! mixes of one pool denomination), Wasabi 2 (≥ 20 inputs, standard
//! denominations) and JoinMarket (a taker and 3–6 makers, equal outputs plus
//! changes).

use anyhow::Result;
use rand::seq::{IndexedRandom, SliceRandom};
use rand::Rng;

use super::economy::Economy;
use super::keys::AddrType;
use super::truth::{EntityKind, Purpose, Role};
use super::wallet::{spendable, Draft, Pay, Policy, Software, Utxo};
use super::world::World;

/// Whirlpool pool denominations (satoshi).
pub const WHIRLPOOL_POOLS: [u64; 4] = [100_000, 1_000_000, 5_000_000, 50_000_000];
/// Mining fee each pre-mix coin carries for its mix.
pub const PREMIX_FEE: u64 = 600;

/// A coin waiting for a CoinJoin, with its owner and a tag for whoever waits
/// for the mixed output (0: an ordinary user).
#[derive(Clone, Debug)]
pub struct Coin {
    /// The coin.
    pub utxo: Utxo,
    /// Its owner.
    pub owner: u32,
    /// Tag of the lot it belongs to (0: none).
    pub tag: u64,
    /// Cases whose proceeds it carries.
    pub cases: Vec<u32>,
}

/// Coordinators and the coins waiting to be mixed.
pub struct CoinJoins {
    /// Whirlpool pre-mix queues, one per pool.
    pub whirlpool: Vec<Vec<Coin>>,
    /// Coins registered for the next Wasabi round (besides individuals').
    pub wasabi: Vec<Coin>,
    whirlpool_coord: u32,
    wasabi_coord: u32,
    denominations: Vec<u64>,
}

/// Wasabi 2's standard denominations: powers of 2 and 3, 2·3ⁿ, and 1-2-5·10ⁿ, from 5,000 sat.
fn standard_denominations() -> Vec<u64> {
    let mut d = Vec::new();
    let mut push_powers = |base: u64, mul: u64| {
        let mut v = mul;
        while v <= 100_000_000_000 {
            if v >= 5_000 {
                d.push(v);
            }
            v *= base;
        }
    };
    push_powers(2, 1);
    push_powers(3, 1);
    push_powers(3, 2);
    push_powers(10, 1);
    push_powers(10, 2);
    push_powers(10, 5);
    d.sort_unstable_by(|a, b| b.cmp(a));
    d.dedup();
    d
}

impl CoinJoins {
    /// Creates the coordinators.
    pub fn create(w: &mut World) -> Result<CoinJoins> {
        let coord = |w: &mut World, name: &str| -> Result<u32> {
            let id = w.add_entity(
                EntityKind::CoinjoinCoordinator,
                name.to_string(),
                Software::Service,
                AddrType::P2wpkh,
            )?;
            let hot = w.new_address(id, AddrType::P2wpkh, Role::Hot, None)?;
            w.entities[id as usize].hot = Some(hot);
            Ok(id)
        };
        Ok(CoinJoins {
            whirlpool: vec![Vec::new(); WHIRLPOOL_POOLS.len()],
            wasabi: Vec::new(),
            whirlpool_coord: coord(w, "Whirlpool coordinator")?,
            wasabi_coord: coord(w, "Wasabi coordinator")?,
            denominations: standard_denominations(),
        })
    }

    /// The Whirlpool pool for a coin of `value`, and how many pre-mix coins
    /// (at most `max`) it makes: the largest pool it can fill twice.
    pub fn whirlpool_pool(value: u64, max: u64) -> Option<(usize, u64)> {
        (0..WHIRLPOOL_POOLS.len()).rev().find_map(|p| {
            let d = WHIRLPOOL_POOLS[p];
            let n = (value.saturating_sub(d / 20 + 5_000) / (d + PREMIX_FEE)).min(max);
            (n >= 2).then_some((p, n))
        })
    }

    /// Whirlpool TX0: `inputs` of `owner` into `n` pre-mix coins of `pool`, a
    /// 5% pool fee to the coordinator and change to `change`. The pre-mix
    /// coins join the pool's queue tagged `tag`. Returns the change output,
    /// or `None` (nothing made) when the inputs cannot pay for it.
    #[allow(clippy::too_many_arguments)]
    pub fn tx0(
        &mut self,
        w: &mut World,
        owner: u32,
        inputs: Vec<Utxo>,
        pool: usize,
        n: u64,
        change: u32,
        tag: u64,
        cases: &[u32],
    ) -> Result<Option<Utxo>> {
        let d = WHIRLPOOL_POOLS[pool];
        let coord_fee = w.entities[self.whirlpool_coord as usize].hot.expect("hot");
        // Coordinator fee, n pre-mix coins and the change: all P2WPKH.
        let rate = w.fee_rate(owner);
        let outputs = std::iter::repeat_n(AddrType::P2wpkh, n as usize + 2);
        let need = d / 20 + n * (d + PREMIX_FEE) + rate * super::wallet::vsize(&inputs, outputs);
        if inputs.iter().map(|u| u.value).sum::<u64>() < need {
            return Ok(None);
        }
        let mut pays = vec![w.pay_to(coord_fee, d / 20)];
        for _ in 0..n {
            let a = w.new_address(owner, AddrType::P2wpkh, Role::Premix, None)?;
            pays.push(w.pay_to(a, d + PREMIX_FEE));
        }
        w.take_coins(owner, &inputs);
        let mut policy = w.entities[owner as usize].policy.clone();
        policy.order = super::wallet::Order::Bip69;
        let c = w.pay_to(change, 0);
        let draft = w.draft(&policy, inputs, &pays, Some(c), rate);
        let (_, outs) = w.commit(&draft, &policy, Purpose::WhirlpoolTx0, owner, cases)?;
        let mut change_out = None;
        for u in outs {
            match w.addrs[u.addr as usize].role {
                Role::Premix => self.whirlpool[pool].push(Coin {
                    utxo: u,
                    owner,
                    tag,
                    cases: cases.to_vec(),
                }),
                _ if u.addr == change => change_out = Some(u),
                _ => {}
            }
        }
        Ok(change_out)
    }

    /// One block of CoinJoin activity: people's TX0s, Whirlpool mixes in
    /// every pool, a Wasabi round every 6 blocks, a JoinMarket join every 10.
    pub fn step(&mut self, w: &mut World, eco: &Economy) -> Result<()> {
        if !eco.privacy.is_empty() && w.rng.random_bool(0.6) {
            let who = *eco.privacy.choose(&mut w.rng).expect("privacy");
            self.person_tx0(w, who)?;
        }
        for pool in 0..WHIRLPOOL_POOLS.len() {
            for _ in 0..3 {
                if !self.whirlpool_mix(w, pool)? {
                    break;
                }
            }
        }
        if w.height.is_multiple_of(6) {
            self.wasabi_round(w, eco)?;
        }
        if w.height % 10 == 3 {
            self.joinmarket(w, eco)?;
        }
        Ok(())
    }

    fn person_tx0(&mut self, w: &mut World, who: u32) -> Result<()> {
        let h = w.height;
        let mut coins: Vec<Utxo> = spendable(&w.entities[who as usize].coins, h, usize::MAX);
        coins.sort_by_key(|u| std::cmp::Reverse(u.value));
        coins.truncate(3);
        let total: u64 = coins.iter().map(|u| u.value).sum();
        let Some((pool, n)) = Self::whirlpool_pool(total, 5) else {
            return Ok(());
        };
        let ty = w.entities[who as usize].ty;
        let change = w.new_address(who, ty, Role::Change, None)?;
        self.tx0(w, who, coins, pool, n, change, 0, &[])?;
        Ok(())
    }

    /// Mixes 5 coins of distinct owners from the pool's queue (FIFO);
    /// returns whether a mix happened.
    fn whirlpool_mix(&mut self, w: &mut World, pool: usize) -> Result<bool> {
        let h = w.height;
        let mut picked: Vec<usize> = Vec::new();
        for (i, c) in self.whirlpool[pool].iter().enumerate() {
            if c.utxo.spendable_at(h)
                && picked
                    .iter()
                    .all(|&j| self.whirlpool[pool][j].owner != c.owner)
            {
                picked.push(i);
                if picked.len() == 5 {
                    break;
                }
            }
        }
        if picked.len() < 5 {
            return Ok(false);
        }
        let coins: Vec<Coin> = picked
            .iter()
            .rev()
            .map(|&i| self.whirlpool[pool].remove(i))
            .collect();
        let d = WHIRLPOOL_POOLS[pool];
        let mut outputs = Vec::new();
        for c in &coins {
            let a = w.new_address(c.owner, AddrType::P2wpkh, Role::Mixed, None)?;
            outputs.push(w.pay_to(a, d));
        }
        self.mix(
            w,
            self.whirlpool_coord,
            outputs,
            &coins,
            Purpose::WhirlpoolMix,
        )?;
        Ok(true)
    }

    /// Commits a CoinJoin of `coins` built by `coordinator`, inputs and
    /// outputs by descending value, and hands tagged owners their outputs
    /// through `World::delivered`.
    fn mix(
        &mut self,
        w: &mut World,
        coordinator: u32,
        mut outputs: Vec<Pay>,
        coins: &[Coin],
        purpose: Purpose,
    ) -> Result<()> {
        let mut inputs: Vec<Utxo> = coins.iter().map(|c| c.utxo.clone()).collect();
        inputs.sort_by_key(|u| (std::cmp::Reverse(u.value), u.op));
        outputs.sort_by_key(|p| (std::cmp::Reverse(p.value), p.addr));
        let d = Draft {
            inputs,
            outputs,
            change: None,
        };
        let mut policy = w.entities[coordinator as usize].policy.clone();
        policy.anti_fee_sniping = false;
        let (_, outs) = w.commit(&d, &policy, purpose, coordinator, &cases_of(coins))?;
        for u in outs {
            let owner = w.addrs[u.addr as usize].owner;
            if let Some(c) = coins.iter().find(|c| c.owner == owner && c.tag != 0) {
                w.delivered.push((c.tag, u));
            }
        }
        Ok(())
    }

    /// Wasabi 2 round: 10–25 people with 1–3 coins each plus registered
    /// coins; every participant's amount split into standard denominations
    /// (at most 8 outputs, a non-standard change if ≥ 5,000 sat is left).
    fn wasabi_round(&mut self, w: &mut World, eco: &Economy) -> Result<()> {
        let h = w.height;
        let mut coins: Vec<Coin> = std::mem::take(&mut self.wasabi);
        let want = w.rng.random_range(10..=25);
        let mut people: Vec<u32> = eco.privacy.clone();
        people.shuffle(&mut w.rng);
        for who in people.into_iter().take(want) {
            let mut mine: Vec<Utxo> = w.entities[who as usize]
                .coins
                .iter()
                .filter(|u| u.spendable_at(h) && u.value > 50_000)
                .cloned()
                .collect();
            mine.shuffle(&mut w.rng);
            let k = w.rng.random_range(1..=3);
            coins.extend(mine.into_iter().take(k).map(|utxo| Coin {
                utxo,
                owner: who,
                tag: 0,
                cases: Vec::new(),
            }));
        }
        let tagged: Vec<Coin> = coins.iter().filter(|c| c.tag != 0).cloned().collect();
        if coins.len() < 20 {
            self.wasabi = tagged;
            return Ok(());
        }
        let rate = w.rng.random_range(2..=10);
        let mut owners: Vec<u32> = coins.iter().map(|c| c.owner).collect();
        owners.sort_unstable();
        owners.dedup();
        let mut outputs = Vec::new();
        for &o in &owners {
            let mine: Vec<&Coin> = coins.iter().filter(|c| c.owner == o).collect();
            let sum: u64 = mine.iter().map(|c| c.utxo.value).sum();
            let in_vb: u64 = mine.iter().map(|c| c.utxo.ty.input_vbytes()).sum();
            let mut left = sum.saturating_sub(rate * (in_vb + 43 * 9));
            let mut n = 0;
            for &d in &self.denominations {
                while d <= left && n < 8 {
                    let ty = if w.rng.random_bool(0.3) {
                        AddrType::P2tr
                    } else {
                        AddrType::P2wpkh
                    };
                    let a = w.new_address(o, ty, Role::Mixed, None)?;
                    outputs.push(w.pay_to(a, d));
                    left -= d;
                    n += 1;
                }
            }
            if left >= 5_000 {
                let a = w.new_address(o, AddrType::P2wpkh, Role::Mixed, None)?;
                outputs.push(w.pay_to(a, left));
            }
        }
        for c in &coins {
            w.take_coins(c.owner, std::slice::from_ref(&c.utxo));
        }
        self.mix(w, self.wasabi_coord, outputs, &coins, Purpose::Wasabi2Mix)
    }

    /// JoinMarket: a taker pays 3–6 makers a small fee to join equal outputs.
    fn joinmarket(&mut self, w: &mut World, eco: &Economy) -> Result<()> {
        let h = w.height;
        let Some(&taker) = eco.privacy.choose(&mut w.rng) else {
            return Ok(());
        };
        let bal = w.entities[taker as usize].balance(h);
        if bal < 2_000_000 {
            return Ok(());
        }
        let amount = super::economy::amount(w, bal, 0.2, 0.5);
        let maker_fee = 250 + amount / 50_000;
        let want = w.rng.random_range(3..=6);
        let mut makers: Vec<(u32, Utxo)> = Vec::new();
        for _ in 0..60 {
            if makers.len() == want {
                break;
            }
            let m = *eco.individuals.choose(&mut w.rng).expect("individuals");
            if m == taker || makers.iter().any(|(o, _)| *o == m) {
                continue;
            }
            let coin = w.entities[m as usize]
                .coins
                .iter()
                .filter(|u| u.spendable_at(h) && u.value > amount + 10_000)
                .min_by_key(|u| (u.value, u.op))
                .cloned();
            if let Some(c) = coin {
                makers.push((m, c));
            }
        }
        if makers.len() < 3 {
            return Ok(());
        }
        let rate = w.fee_rate(taker);
        let mut coins: Vec<Utxo> = spendable(&w.entities[taker as usize].coins, h, usize::MAX);
        coins.sort_by_key(|u| (std::cmp::Reverse(u.value), u.op));
        let mut coins = coins.into_iter();
        let mut taker_in = Vec::new();
        let n_out = 2 * makers.len() as u64 + 2;
        let need = |ins: &[Utxo]| {
            amount
                + maker_fee * makers.len() as u64
                + rate
                    * (super::wallet::vsize(ins, std::iter::empty())
                        + 31 * n_out
                        + makers.iter().map(|(_, u)| u.ty.input_vbytes()).sum::<u64>())
        };
        while taker_in.iter().map(|u: &Utxo| u.value).sum::<u64>()
            < need(&taker_in) + super::wallet::DUST
        {
            match coins.next() {
                Some(c) => taker_in.push(c),
                None => return Ok(()),
            }
        }
        let taker_total: u64 = taker_in.iter().map(|u| u.value).sum();
        let mut outputs = Vec::new();
        let ty_t = w.entities[taker as usize].ty;
        let a = w.new_address(taker, ty_t, Role::Mixed, None)?;
        outputs.push(w.pay_to(a, amount));
        let taker_change = w.new_address(taker, ty_t, Role::Change, None)?;
        outputs.push(w.pay_to(taker_change, taker_total - need(&taker_in)));
        let mut inputs = taker_in.clone();
        w.take_coins(taker, &taker_in);
        for (m, c) in &makers {
            let ty = w.entities[*m as usize].ty;
            let a = w.new_address(*m, ty, Role::Mixed, None)?;
            outputs.push(w.pay_to(a, amount));
            let ch = w.new_address(*m, ty, Role::Change, None)?;
            outputs.push(w.pay_to(ch, c.value - amount + maker_fee));
            w.take_coins(*m, std::slice::from_ref(c));
            inputs.push(c.clone());
        }
        inputs.shuffle(&mut w.rng);
        outputs.shuffle(&mut w.rng);
        let change = outputs.iter().position(|p| p.addr == taker_change);
        let policy = Policy::of(Software::Core, &mut w.rng);
        let d = Draft {
            inputs,
            outputs,
            change,
        };
        w.commit(&d, &policy, Purpose::JoinmarketMix, taker, &[])?;
        Ok(())
    }
}

/// The cases carried by any of `coins`, sorted.
fn cases_of(coins: &[Coin]) -> Vec<u32> {
    let mut cases: Vec<u32> = coins.iter().flat_map(|c| c.cases.iter().copied()).collect();
    cases.sort_unstable();
    cases.dedup();
    cases
}
