//! Resolving a case's seeds against the ledger: a payment seed is one
//! output; an address seed is every output paying the address within its
//! time window (and of its exact amount, if given).

use std::collections::BTreeMap;

use anyhow::{anyhow, bail, Context, Result};
use bitcoin::address::NetworkUnchecked;
use chain_adapters::bitcoin::network_name;
use chain_adapters::ledger::{AddrId, Amount, Chain, OutRef, TxId, TxRecord};
use chain_adapters::query::{utc, LedgerView, Unit};
use chain_adapters::store::Store;
use serde::Serialize;

use super::{tx_hash, Case, Seed, SeedTarget};

/// A ledger output a seed resolved to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SeedOutput {
    /// Index of the seed in `case.seeds` (0-based).
    pub seed: usize,
    /// Chain of the output.
    pub chain: Chain,
    /// The output in ledger ids.
    #[serde(skip)]
    pub out: OutRef,
    /// Transaction id as displayed.
    pub txid: String,
    /// Output index.
    pub vout: u32,
    /// Receiving address as displayed (`None` for OP_RETURN).
    pub address: Option<String>,
    /// Value in the smallest unit of its asset (satoshi, wei, token unit).
    #[serde(serialize_with = "chain_adapters::ledger::amount_text")]
    pub value: Amount,
    /// What `value` counts: the chain's coin or the token moved.
    pub unit: Unit,
    /// Height of the block holding the transaction.
    pub height: u64,
    /// Block time, Unix seconds.
    pub time: u64,
}

/// Seeds that could not be resolved: one line per seed, naming it.
#[derive(Debug, thiserror::Error)]
#[error("{}", .0.join("\n"))]
pub struct Unresolved(pub Vec<String>);

/// Every output the case's seeds name, sorted by (transaction id, vout) and
/// deduplicated (an output named by two seeds keeps the first). Fails with
/// [`Unresolved`] naming every seed that does not resolve.
pub fn resolve(case: &Case, store: &Store) -> Result<Vec<SeedOutput>> {
    let mut outputs = resolve_all(case, store)?;
    outputs.dedup_by_key(|o| o.out);
    Ok(outputs)
}

/// Like [`resolve`], keeping an output once per seed that names it.
pub fn resolve_all(case: &Case, store: &Store) -> Result<Vec<SeedOutput>> {
    let view = LedgerView::new(store)?;
    let mut outputs = Vec::new();
    let mut problems = Vec::new();
    for (index, seed) in case.seeds.iter().enumerate() {
        match resolve_seed(&view, index, seed) {
            Ok(found) => outputs.extend(found),
            Err(e) => problems.push(format!("{}: {e:#}", seed.label(index))),
        }
    }
    if !problems.is_empty() {
        return Err(Unresolved(problems).into());
    }
    outputs.sort_by_key(|o| (o.out, o.seed));
    Ok(outputs)
}

/// The outputs one seed names (`index` is its place in the case, 0-based);
/// an error says why it does not resolve, without naming the seed.
pub fn resolve_seed(view: &LedgerView<'_>, index: usize, seed: &Seed) -> Result<Vec<SeedOutput>> {
    let chain = seed.chain;
    let tip = view.store.tip(chain)?.ok_or_else(|| {
        anyhow!(
            "the ledger holds no {0} data (ingest {0} first)",
            chain.name()
        )
    })?;
    let ctx = SeedCtx {
        view,
        index,
        chain,
        tip: tip.height,
    };
    match &seed.target {
        SeedTarget::Payment { txid, vout } => ctx.payment(txid, *vout).map(|o| vec![o]),
        SeedTarget::Address {
            address,
            from,
            until,
            amount,
        } => ctx.receipts(address, Window::new(*from, *until), *amount),
    }
}

/// What resolving one seed needs.
struct SeedCtx<'a> {
    view: &'a LedgerView<'a>,
    index: usize,
    chain: Chain,
    tip: u64,
}

impl SeedCtx<'_> {
    /// The output a payment seed names.
    fn payment(&self, txid: &str, vout: u32) -> Result<SeedOutput> {
        let hash = tx_hash(self.chain, txid).map_err(|e| anyhow!(e))?;
        let id = self.view.store.tx_id(self.chain, &hash)?.ok_or_else(|| {
            anyhow!(
                "transaction {txid} is not in the ledger (tip height {})",
                self.tip
            )
        })?;
        let tx = self.tx(id)?;
        if vout as usize >= tx.outputs.len() {
            match self.chain {
                Chain::Bitcoin => bail!(
                    "transaction {txid} has {} outputs; there is no output {vout} (outputs count from 0)",
                    tx.outputs.len()
                ),
                Chain::Ethereum => bail!(
                    "transaction {txid} has {} transfer(s), #0 to #{}; there is no transfer #{vout} (`tracer tx {txid}` lists them)",
                    tx.outputs.len(),
                    tx.outputs.len().saturating_sub(1)
                ),
            }
        }
        let time = self.block_time(tx.height)?;
        self.output(id, &tx, vout, time)
    }

    /// The outputs paying `address` in the window, of exactly `amount` if given.
    fn receipts(
        &self,
        address: &str,
        window: Window,
        amount: Option<Amount>,
    ) -> Result<Vec<SeedOutput>> {
        let ids = self.address_ids(address)?;
        if ids.is_empty() {
            bail!(
                "address {address} is not in the ledger (nothing up to height {} pays or spends it)",
                self.tip
            );
        }
        let mut history: Vec<(TxId, u64)> = Vec::new();
        for id in &ids {
            let entries = self.view.store.history(*id)?;
            history.extend(
                entries
                    .iter()
                    .filter(|e| e.received > 0)
                    .map(|e| (e.tx, e.height)),
            );
        }
        history.sort_unstable();
        history.dedup();
        let mut times = BTreeMap::new();
        let mut found = Vec::new();
        for (tx_id, height) in &history {
            let time = match times.get(height) {
                Some(t) => *t,
                None => {
                    let t = self.block_time(*height)?;
                    times.insert(*height, t);
                    t
                }
            };
            if !window.contains(time) {
                continue;
            }
            let tx = self.tx(*tx_id)?;
            for (vout, o) in tx.outputs.iter().enumerate() {
                if o.addr.is_some_and(|a| ids.contains(&a)) {
                    found.push(self.output(*tx_id, &tx, vout as u32, time)?);
                }
            }
        }
        if found.is_empty() {
            bail!(
                "address {address} received nothing {} (it received funds in {} transaction(s) overall)",
                window.describe(),
                history.len()
            );
        }
        match amount {
            None => Ok(found),
            Some(amount) => self.exactly(address, &window, amount, found),
        }
    }

    /// Keeps the outputs of exactly `amount`; says what was received if none is.
    fn exactly(
        &self,
        address: &str,
        window: &Window,
        amount: Amount,
        found: Vec<SeedOutput>,
    ) -> Result<Vec<SeedOutput>> {
        let values: Vec<String> = found.iter().take(5).map(|o| o.unit.show(o.value)).collect();
        let more = found.len().saturating_sub(values.len());
        let exact: Vec<SeedOutput> = found.into_iter().filter(|o| o.value == amount).collect();
        if exact.is_empty() {
            bail!(
                "address {address} received no output of exactly {} {}; it received {}{}",
                Unit::native(self.chain).show(amount),
                window.describe(),
                values.join(", "),
                if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                }
            );
        }
        Ok(exact)
    }

    /// The ledger ids of `address`; a Bitcoin address of another network is an error.
    fn address_ids(&self, address: &str) -> Result<Vec<AddrId>> {
        match self.chain {
            Chain::Bitcoin => {
                self.check_network(address)?;
                Ok(self.view.resolve(address)?)
            }
            Chain::Ethereum => {
                let a = chain_adapters::ethereum::parse_address(address).map_err(|e| anyhow!(e))?;
                let key = chain_adapters::ethereum::account_key(&a);
                Ok(self.view.store.addr_id(&key)?.into_iter().collect())
            }
        }
    }

    /// Fails unless `address` belongs to the ledger's Bitcoin network.
    fn check_network(&self, address: &str) -> Result<()> {
        let unchecked: bitcoin::Address<NetworkUnchecked> = address
            .parse()
            .with_context(|| format!("{address:?} is not a bitcoin address"))?;
        let ledger = self.view.network;
        if unchecked.clone().require_network(ledger).is_ok() {
            return Ok(());
        }
        let valid_on: Vec<&str> = [
            bitcoin::Network::Bitcoin,
            bitcoin::Network::Testnet,
            bitcoin::Network::Testnet4,
            bitcoin::Network::Signet,
            bitcoin::Network::Regtest,
        ]
        .into_iter()
        .filter(|n| unchecked.is_valid_for_network(*n))
        .map(network_name)
        .collect();
        bail!(
            "address {address} is an address of bitcoin {}, but the ledger holds bitcoin {} data",
            valid_on.join("/"),
            network_name(ledger)
        )
    }

    fn tx(&self, id: TxId) -> Result<TxRecord> {
        self.view
            .store
            .tx(id)?
            .ok_or_else(|| anyhow!("transaction id {id} is missing from the ledger"))
    }

    fn block_time(&self, height: u64) -> Result<u64> {
        Ok(self
            .view
            .store
            .block(self.chain, height)?
            .ok_or_else(|| anyhow!("block {height} is missing from the ledger"))?
            .time)
    }

    fn output(&self, id: TxId, tx: &TxRecord, vout: u32, time: u64) -> Result<SeedOutput> {
        let o = &tx.outputs[vout as usize];
        let address = match o.addr {
            Some(a) => Some(self.view.show_id(a)?.address),
            None => None,
        };
        let token = self.view.token(o.asset)?;
        Ok(SeedOutput {
            seed: self.index,
            chain: self.chain,
            out: OutRef { tx: id, vout },
            txid: self.chain.hash_hex(&tx.hash),
            vout,
            address,
            value: o.value,
            unit: Unit::of(self.chain, token.as_ref()),
            height: tx.height,
            time,
        })
    }
}

/// An address seed's time window (Unix seconds, inclusive).
struct Window {
    from: Option<i64>,
    until: Option<i64>,
}

impl Window {
    fn new(from: Option<i64>, until: Option<i64>) -> Window {
        Window { from, until }
    }

    fn contains(&self, time: u64) -> bool {
        let t = i64::try_from(time).unwrap_or(i64::MAX);
        self.from.is_none_or(|f| t >= f) && self.until.is_none_or(|u| t <= u)
    }

    /// `between … and …`, `from …`, `up to …` or `in the whole ledger`.
    fn describe(&self) -> String {
        let at = |s: i64| utc(s.max(0) as u64);
        match (self.from, self.until) {
            (Some(f), Some(u)) => format!("between {} and {}", at(f), at(u)),
            (Some(f), None) => format!("from {} on", at(f)),
            (None, Some(u)) => format!("up to {}", at(u)),
            (None, None) => "in the whole ledger".to_string(),
        }
    }
}
