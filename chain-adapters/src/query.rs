//! Read-side views of the ledger for the CLI and the reports: status, a
//! transaction with resolved inputs, an address with its history.

use bitcoin::Network;
use serde::Serialize;

use crate::bitcoin::address;
use crate::bitcoin::network::parse_network;
use crate::error::{Error, Result};
use crate::ethereum;
use crate::ledger::{
    amount_text, token_of_asset, AddrId, AddressKey, Amount, Chain, Hash32, TxRecord, TX_CREATE,
    TX_FAILED,
};
use crate::store::Store;

/// Formats Unix seconds as `YYYY-MM-DD HH:MM:SS UTC`.
pub fn utc(secs: u64) -> String {
    use chrono::{Datelike, Timelike};
    match i64::try_from(secs)
        .ok()
        .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
    {
        // Written field by field: a trace report formats one per hop.
        Some(t) if (0..=9999).contains(&t.year()) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
            t.year(),
            t.month(),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        ),
        Some(t) => t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        None => format!("@{secs}"),
    }
}

/// Formats satoshi as BTC with 8 decimals.
pub fn btc(sat: Amount) -> String {
    decimal(sat, 8)
}

/// `amount` smallest units as a decimal number with exactly `decimals`
/// places (`decimal(150, 2)` = `1.50`), exact for every amount and any
/// number of places.
pub fn decimal(amount: Amount, decimals: u8) -> String {
    let digits = amount.to_string();
    let places = usize::from(decimals);
    if places == 0 {
        return digits;
    }
    let padded = format!("{digits:0>width$}", width = places + 1);
    let (whole, frac) = padded.split_at(padded.len() - places);
    format!("{whole}.{frac}")
}

/// What an amount counts, as the text views show it: the chain's own coin
/// or a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unit {
    /// `BTC`, `ETH`, or the token's symbol (its contract when it has none).
    pub symbol: String,
    /// Decimal places of the smallest unit (`None`: a token that did not say).
    pub decimals: Option<u8>,
}

impl Unit {
    /// The chain's own coin: BTC (8 decimals), ETH (18).
    pub fn native(chain: Chain) -> Unit {
        Unit {
            symbol: chain.coin().to_string(),
            decimals: Some(chain.decimals()),
        }
    }

    /// The unit of `token` on `chain`, or of the chain's coin.
    pub fn of(chain: Chain, token: Option<&TokenRef>) -> Unit {
        match token {
            Some(t) => Unit {
                symbol: t.symbol.clone().unwrap_or_else(|| t.contract.clone()),
                decimals: t.decimals,
            },
            None => Unit::native(chain),
        }
    }

    /// `amount` in this unit with all its decimals: `0.10000000 BTC`,
    /// `1000.000000 USDT`; a token without decimals in its base units
    /// (`1000 units of USDT`).
    pub fn show(&self, amount: Amount) -> String {
        match self.decimals {
            Some(d) => format!("{} {}", decimal(amount, d), self.symbol),
            None => format!("{amount} units of {}", self.symbol),
        }
    }

    /// `amount` as a number in this unit, without the symbol (base units
    /// for a token without decimals).
    pub fn number(&self, amount: Amount) -> String {
        decimal(amount, self.decimals.unwrap_or(0))
    }

    /// A signed amount (a net flow) in this unit: `-0.5 ETH` with all decimals.
    pub fn show_signed(&self, amount: i128) -> String {
        let shown = self.show(amount.unsigned_abs());
        if amount < 0 {
            format!("-{shown}")
        } else {
            shown
        }
    }
}

/// The ledger seen through one chain's network (for address display).
pub struct LedgerView<'a> {
    /// The store.
    pub store: &'a Store,
    /// Bitcoin network of the stored data (main if none yet).
    pub network: Network,
}

impl<'a> LedgerView<'a> {
    /// A view of `store`.
    pub fn new(store: &'a Store) -> Result<Self> {
        let network = match store.network(Chain::Bitcoin)? {
            Some(n) => parse_network(&n)?,
            None => Network::Bitcoin,
        };
        Ok(LedgerView { store, network })
    }

    /// How an address key is shown.
    pub fn show(&self, key: &AddressKey) -> String {
        match key.chain {
            Chain::Bitcoin => address::display(key, self.network),
            Chain::Ethereum => ethereum::display(&key.payload),
        }
    }

    /// Whether `query` looks like an Ethereum address (`0x` + 40 hex digits).
    pub fn is_ethereum(query: &str) -> bool {
        let q = query.trim();
        q.len() == 42 && (q.starts_with("0x") || q.starts_with("0X"))
    }

    /// The chain a user-typed address belongs to, by its form.
    pub fn chain_of(query: &str) -> Chain {
        if Self::is_ethereum(query) {
            Chain::Ethereum
        } else {
            Chain::Bitcoin
        }
    }

    /// The ids of every stored form of a user-typed address (a `1…` address
    /// may be stored as P2PKH and as P2PK). Invalid or wrong-network
    /// addresses are a usage error naming the address.
    pub fn resolve(&self, query: &str) -> Result<Vec<AddrId>> {
        let keys = if Self::is_ethereum(query) {
            let a = ethereum::parse_address(query.trim()).map_err(Error::Usage)?;
            vec![ethereum::account_key(&a)]
        } else {
            address::parse(query, self.network).map_err(|e| Error::Usage(e.to_string()))?
        };
        let mut ids = Vec::new();
        for key in keys {
            if let Some(id) = self.store.addr_id(&key)? {
                ids.push(id);
            }
        }
        Ok(ids)
    }

    /// Shows address `id`.
    pub fn show_id(&self, id: AddrId) -> Result<AddressRef> {
        Ok(self.show_key(id, &self.key(id)?))
    }

    /// The stored key of address `id`.
    fn key(&self, id: AddrId) -> Result<AddressKey> {
        self.store.address(id)?.ok_or_else(|| Error::Db {
            path: self.store.path().to_path_buf(),
            reason: format!("address id {id} missing"),
        })
    }

    /// Shows address `id` whose stored key is `key`.
    pub fn show_key(&self, id: AddrId, key: &AddressKey) -> AddressRef {
        AddressRef {
            id,
            address: self.show(key),
            kind: key.kind.name(),
        }
    }
}

/// An address as views name it.
#[derive(Debug, Serialize, Clone, PartialEq, Eq)]
pub struct AddressRef {
    /// Dense id.
    pub id: AddrId,
    /// Displayed address.
    pub address: String,
    /// Script kind.
    pub kind: &'static str,
}

/// Ledger status.
#[derive(Debug, Serialize)]
pub struct StatusView {
    /// DB path.
    pub db: String,
    /// Schema version.
    pub schema_version: u32,
    /// Bitcoin network of the data.
    pub bitcoin_network: Option<String>,
    /// Tip height.
    pub bitcoin_tip_height: Option<u64>,
    /// Tip hash.
    pub bitcoin_tip_hash: Option<String>,
    /// Tip time.
    pub bitcoin_tip_time: Option<String>,
    /// Ethereum chain of the data (`mainnet`, `chain-<id>`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ethereum_network: Option<String>,
    /// Lowest Ethereum block stored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ethereum_first_block: Option<u64>,
    /// Ethereum tip height.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ethereum_tip_height: Option<u64>,
    /// Ethereum tip hash.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ethereum_tip_hash: Option<String>,
    /// Ethereum tip time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ethereum_tip_time: Option<String>,
    /// Transactions stored (all chains).
    pub transactions: u64,
    /// Addresses stored (all chains).
    pub addresses: u32,
    /// SHA-256 over all records (only when asked for).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
}

/// Builds the status view.
pub fn status(store: &Store, with_fingerprint: bool) -> Result<StatusView> {
    let tip = store.tip(Chain::Bitcoin)?;
    let tip_block = match tip {
        Some(t) => store.block(Chain::Bitcoin, t.height)?,
        None => None,
    };
    let eth = store.tip(Chain::Ethereum)?;
    let eth_block = match eth {
        Some(t) => store.block(Chain::Ethereum, t.height)?,
        None => None,
    };
    let c = store.counters()?;
    Ok(StatusView {
        db: store.path().display().to_string(),
        schema_version: crate::store::SCHEMA_VERSION,
        bitcoin_network: store.network(Chain::Bitcoin)?,
        bitcoin_tip_height: tip.map(|t| t.height),
        bitcoin_tip_hash: tip.map(|t| Chain::Bitcoin.hash_hex(&t.hash)),
        bitcoin_tip_time: tip_block.map(|b| utc(b.time)),
        ethereum_network: store.network(Chain::Ethereum)?,
        ethereum_first_block: store.lowest_block(Chain::Ethereum)?,
        ethereum_tip_height: eth.map(|t| t.height),
        ethereum_tip_hash: eth.map(|t| Chain::Ethereum.hash_hex(&t.hash)),
        ethereum_tip_time: eth_block.map(|b| utc(b.time)),
        transactions: c.next_tx,
        addresses: c.next_addr,
        fingerprint: with_fingerprint.then(|| store.fingerprint()).transpose()?,
    })
}

/// An input of a transaction view.
#[derive(Debug, Serialize)]
pub struct InputView {
    /// Spent output as `txid:vout` (`None` for a coinbase).
    pub spends: Option<String>,
    /// Owner of the spent output.
    pub address: Option<AddressRef>,
    /// Value spent (base units).
    #[serde(serialize_with = "amount_text")]
    pub value: Amount,
}

/// An output of a transaction view.
#[derive(Debug, Serialize)]
pub struct OutputView {
    /// Output index.
    pub vout: u32,
    /// Receiver (`None` for OP_RETURN).
    pub address: Option<AddressRef>,
    /// Script kind.
    pub kind: &'static str,
    /// Value (base units).
    #[serde(serialize_with = "amount_text")]
    pub value: Amount,
    /// What `value` counts: the chain's coin or the token.
    pub unit: Unit,
    /// The transfer's number on account chains (= `vout`): what a case
    /// file's `payment = "0xHASH:N"` names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transfer: Option<u32>,
    /// Sender of the transfer (account chains).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<AddressRef>,
    /// The token moved (absent for the chain's native coin).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<TokenRef>,
    /// Spending transaction as `txid:input`, if spent.
    pub spent_by: Option<String>,
}

/// A token as views name it.
#[derive(Debug, Serialize, Clone, PartialEq, Eq)]
pub struct TokenRef {
    /// Asset id in the ledger.
    pub asset: u32,
    /// The token contract.
    pub contract: String,
    /// Its `symbol()`, if it answered.
    pub symbol: Option<String>,
    /// Its `name()`, if it answered.
    pub name: Option<String>,
    /// Its `decimals()`, if it answered.
    pub decimals: Option<u8>,
}

impl LedgerView<'_> {
    /// The token of asset id `asset` (`None` for the native coin).
    pub fn token(&self, asset: u32) -> Result<Option<TokenRef>> {
        let Some(contract) = token_of_asset(asset) else {
            return Ok(None);
        };
        let info = self.store.token(contract)?.unwrap_or_default();
        Ok(Some(TokenRef {
            asset,
            contract: self.show_id(contract)?.address,
            symbol: info.symbol,
            name: info.name,
            decimals: info.decimals,
        }))
    }
}

/// A transaction with everything the ledger knows about it.
#[derive(Debug, Serialize)]
pub struct TxView {
    /// Chain.
    pub chain: Chain,
    /// Txid.
    pub txid: String,
    /// Dense id.
    pub id: u64,
    /// Block height.
    pub height: u64,
    /// Block hash.
    pub block_hash: String,
    /// Block time.
    pub time: String,
    /// Position in the block.
    pub index: u32,
    /// Coinbase?
    pub coinbase: bool,
    /// Failed (reverted) transaction: it paid its fee, moved nothing.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub failed: bool,
    /// Creates a contract.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub creates_contract: bool,
    /// Version.
    pub version: i32,
    /// nLockTime.
    pub locktime: u32,
    /// Size in bytes.
    pub size: u32,
    /// Virtual size.
    pub vsize: u32,
    /// Fee (base units).
    #[serde(serialize_with = "amount_text")]
    pub fee: Amount,
    /// What the fee and the inputs count: the chain's coin.
    pub unit: Unit,
    /// Inputs.
    pub inputs: Vec<InputView>,
    /// Outputs.
    pub outputs: Vec<OutputView>,
}

/// Parses a display-order txid.
pub fn parse_txid(s: &str) -> Result<Hash32> {
    let s = s.trim();
    let mut h =
        parse_hash(s).map_err(|_| Error::Usage(format!("'{s}' is not a txid (64 hex digits)")))?;
    h.reverse();
    Ok(h)
}

fn parse_hash(s: &str) -> Result<Hash32> {
    hex::decode(s)
        .ok()
        .and_then(|v| v.try_into().ok())
        .ok_or_else(|| Error::Usage(format!("'{s}' is not a transaction hash (64 hex digits)")))
}

/// The stored transactions a user-typed hash may name: `0x…` is an
/// Ethereum hash; 64 bare hex digits a Bitcoin txid or an Ethereum hash.
pub fn find_tx(store: &Store, query: &str) -> Result<Option<u64>> {
    let q = query.trim();
    if let Some(hex_part) = q.strip_prefix("0x").or_else(|| q.strip_prefix("0X")) {
        let h = parse_hash(&hex_part.to_ascii_lowercase())?;
        return store.tx_id(Chain::Ethereum, &h);
    }
    let btc = parse_txid(q)?;
    if let Some(id) = store.tx_id(Chain::Bitcoin, &btc)? {
        return Ok(Some(id));
    }
    store.tx_id(Chain::Ethereum, &parse_hash(&q.to_ascii_lowercase())?)
}

/// Looks up a transaction by txid (Bitcoin) or hash (Ethereum).
pub fn tx(view: &LedgerView<'_>, txid: &str) -> Result<TxView> {
    let id = find_tx(view.store, txid)?
        .ok_or_else(|| Error::Usage(format!("transaction {} is not in the ledger", txid.trim())))?;
    tx_by_id(view, id)
}

/// The view of transaction `id`.
pub fn tx_by_id(view: &LedgerView<'_>, id: u64) -> Result<TxView> {
    let store = view.store;
    let rec: TxRecord = store.tx(id)?.ok_or_else(|| Error::Db {
        path: store.path().to_path_buf(),
        reason: format!("tx {id} missing"),
    })?;
    let block = store.block(rec.chain, rec.height)?;
    let mut inputs = Vec::with_capacity(rec.inputs.len());
    for i in &rec.inputs {
        let spends = match i.prev {
            Some(p) => Some(format!("{}:{}", txid_of(store, p.tx)?, p.vout)),
            None => None,
        };
        inputs.push(InputView {
            spends,
            address: i.addr.map(|a| view.show_id(a)).transpose()?,
            value: i.value,
        });
    }
    let spends = store.spends_of(&[(id, rec.outputs.len())])?;
    let mut outputs = Vec::with_capacity(rec.outputs.len());
    for ((vout, o), spent) in rec.outputs.iter().enumerate().zip(&spends[0]) {
        let spent_by = match spent {
            Some(s) => Some(format!("{}:{}", txid_of(store, s.tx)?, s.input)),
            None => None,
        };
        let token = view.token(o.asset)?;
        outputs.push(OutputView {
            vout: vout as u32,
            address: o.addr.map(|a| view.show_id(a)).transpose()?,
            kind: o.kind.name(),
            value: o.value,
            unit: Unit::of(rec.chain, token.as_ref()),
            transfer: (rec.chain == Chain::Ethereum).then_some(vout as u32),
            from: o.from.map(|a| view.show_id(a)).transpose()?,
            token,
            spent_by,
        });
    }
    Ok(TxView {
        chain: rec.chain,
        txid: rec.chain.hash_hex(&rec.hash),
        id,
        height: rec.height,
        block_hash: block
            .as_ref()
            .map(|b| rec.chain.hash_hex(&b.hash))
            .unwrap_or_default(),
        time: block.map(|b| utc(b.time)).unwrap_or_default(),
        index: rec.index,
        coinbase: rec.is_coinbase(),
        failed: rec.flags & TX_FAILED != 0,
        creates_contract: rec.flags & TX_CREATE != 0,
        version: rec.version,
        locktime: rec.locktime,
        size: rec.size,
        vsize: rec.vsize,
        fee: rec.fee,
        unit: Unit::native(rec.chain),
        inputs,
        outputs,
    })
}

fn txid_of(store: &Store, id: u64) -> Result<String> {
    Ok(store
        .tx(id)?
        .map(|t| t.chain.hash_hex(&t.hash))
        .unwrap_or_else(|| format!("#{id}")))
}

/// One history line of an address view.
#[derive(Debug, Serialize)]
pub struct HistoryView {
    /// Txid.
    pub txid: String,
    /// Block height.
    pub height: u64,
    /// The token (absent for the chain's native coin).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// What `received` and `sent` count.
    pub unit: Unit,
    /// Received in this tx.
    #[serde(serialize_with = "amount_text")]
    pub received: Amount,
    /// Sent in this tx (on account chains including the fee).
    #[serde(serialize_with = "amount_text")]
    pub sent: Amount,
}

/// Totals of one token at one address.
#[derive(Debug, Serialize)]
pub struct TokenTotals {
    /// The token.
    #[serde(flatten)]
    pub token: TokenRef,
    /// Received.
    #[serde(serialize_with = "amount_text")]
    pub received: Amount,
    /// Sent.
    #[serde(serialize_with = "amount_text")]
    pub sent: Amount,
    /// Received minus sent (negative when the address held the token
    /// before the first ingested block).
    #[serde(serialize_with = "amount_text")]
    pub net: i128,
}

/// One stored form of an address (P2PKH and P2PK share a display string).
#[derive(Debug, Serialize)]
pub struct AddressEntry {
    /// The address.
    #[serde(flatten)]
    pub address: AddressRef,
    /// Its chain.
    pub chain: Chain,
    /// What its coin amounts count (tokens: each in `tokens`).
    pub unit: Unit,
    /// Total received.
    #[serde(serialize_with = "amount_text")]
    pub received: Amount,
    /// Total sent.
    #[serde(serialize_with = "amount_text")]
    pub sent: Amount,
    /// Received minus sent (0 if negative).
    #[serde(serialize_with = "amount_text")]
    pub balance: Amount,
    /// Received minus sent, signed: on Ethereum the ledger may start above
    /// genesis, so this is the change over the ingested blocks.
    #[serde(serialize_with = "amount_text")]
    pub net: i128,
    /// Tokens moved (account chains), by asset id.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tokens: Vec<TokenTotals>,
    /// The transaction that showed this address holds code (a contract).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contract_seen_in: Option<String>,
    /// Transactions touching it.
    pub tx_count: usize,
    /// First height seen.
    pub first_height: Option<u64>,
    /// Last height seen.
    pub last_height: Option<u64>,
    /// History, oldest first (paged by `offset`/`limit`).
    pub history: Vec<HistoryView>,
}

/// Everything the ledger has on a user-typed address.
#[derive(Debug, Serialize)]
pub struct AddressView {
    /// What was asked.
    pub query: String,
    /// What the totals count: the chain's coin.
    pub unit: Unit,
    /// Balance summed over all forms.
    #[serde(serialize_with = "amount_text")]
    pub balance: Amount,
    /// Received summed over all forms.
    #[serde(serialize_with = "amount_text")]
    pub received: Amount,
    /// Sent summed over all forms.
    #[serde(serialize_with = "amount_text")]
    pub sent: Amount,
    /// Each stored form with its history.
    pub entries: Vec<AddressEntry>,
}

/// `received − sent` as a signed number (saturating at the `i128` range).
fn signed_net(received: Amount, sent: Amount) -> i128 {
    if received >= sent {
        i128::try_from(received - sent).unwrap_or(i128::MAX)
    } else {
        i128::try_from(sent - received).map_or(i128::MIN, |d| -d)
    }
}

/// Looks up an address (all its stored forms) with history lines
/// `offset..offset+limit` (all if `limit` is 0).
pub fn address(
    view: &LedgerView<'_>,
    query: &str,
    offset: usize,
    limit: usize,
) -> Result<AddressView> {
    let mut entries = Vec::new();
    for id in view.resolve(query)? {
        let key = view.key(id)?;
        let hist = view.store.history(id)?;
        let mut totals: std::collections::BTreeMap<u32, (Amount, Amount)> = Default::default();
        for h in &hist {
            let t = totals.entry(h.asset).or_default();
            let over = |what: &str| {
                Error::Overflow(format!(
                    "the {what} total of asset {} at address {}",
                    h.asset,
                    query.trim()
                ))
            };
            t.0 =
                t.0.checked_add(h.received)
                    .ok_or_else(|| over("received"))?;
            t.1 = t.1.checked_add(h.sent).ok_or_else(|| over("sent"))?;
        }
        let (received, sent) = totals.remove(&0).unwrap_or_default();
        let mut tokens = Vec::new();
        for (asset, (r, s)) in totals {
            if let Some(token) = view.token(asset)? {
                tokens.push(TokenTotals {
                    token,
                    received: r,
                    sent: s,
                    net: signed_net(r, s),
                });
            }
        }
        let take = if limit == 0 { usize::MAX } else { limit };
        let mut history = Vec::new();
        for h in hist.iter().skip(offset).take(take) {
            let token = view.token(h.asset)?;
            history.push(HistoryView {
                txid: txid_of(view.store, h.tx)?,
                height: h.height,
                unit: Unit::of(key.chain, token.as_ref()),
                token: token.map(|t| t.symbol.unwrap_or(t.contract)),
                received: h.received,
                sent: h.sent,
            });
        }
        let contract_seen_in = match view.store.contract_mark(id)? {
            Some(tx) => Some(txid_of(view.store, tx)?),
            None => None,
        };
        let mut txs: Vec<u64> = hist.iter().map(|h| h.tx).collect();
        txs.dedup();
        entries.push(AddressEntry {
            address: view.show_key(id, &key),
            chain: key.chain,
            unit: Unit::native(key.chain),
            received,
            sent,
            balance: received.saturating_sub(sent),
            net: signed_net(received, sent),
            tokens,
            contract_seen_in,
            tx_count: txs.len(),
            first_height: hist.first().map(|h| h.height),
            last_height: hist.last().map(|h| h.height),
            history,
        });
    }
    if entries.is_empty() {
        return Err(Error::Usage(format!(
            "address {} has no transactions in the ledger",
            query.trim()
        )));
    }
    let total = |f: fn(&AddressEntry) -> Amount, what: &str| {
        entries
            .iter()
            .try_fold(0u128, |acc, e| acc.checked_add(f(e)))
            .ok_or_else(|| Error::Overflow(format!("the {what} of {}", query.trim())))
    };
    Ok(AddressView {
        query: query.trim().to_string(),
        unit: entries[0].unit.clone(),
        balance: total(|e| e.balance, "balance")?,
        received: total(|e| e.received, "received total")?,
        sent: total(|e| e.sent, "sent total")?,
        entries,
    })
}

#[cfg(test)]
mod tests {
    use super::utc;

    #[test]
    fn utc_formats_block_times() {
        // Block 170 (Satoshi → Hal Finney) and the genesis block.
        assert_eq!(utc(1_231_731_025), "2009-01-12 03:30:25 UTC");
        assert_eq!(utc(1_231_006_505), "2009-01-03 18:15:05 UTC");
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        // Untrusted Ethereum timestamps: past year 9999, and out of range.
        assert_eq!(utc(253_402_300_800), "+10000-01-01 00:00:00 UTC");
        assert_eq!(utc(u64::MAX), format!("@{}", u64::MAX));
    }
}
