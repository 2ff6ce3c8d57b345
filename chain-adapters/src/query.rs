//! Read-side views of the ledger for the CLI and the reports: status, a
//! transaction with resolved inputs, an address with its history.

use bitcoin::Network;
use serde::Serialize;

use crate::bitcoin::address;
use crate::bitcoin::network::parse_network;
use crate::error::{Error, Result};
use crate::ingest::hash_hex;
use crate::ledger::{AddrId, AddressKey, Amount, Chain, Hash32, OutRef, TxRecord};
use crate::store::Store;

/// Formats Unix seconds as `YYYY-MM-DD HH:MM:SS UTC`.
pub fn utc(secs: u64) -> String {
    chrono::DateTime::from_timestamp(secs as i64, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| format!("@{secs}"))
}

/// Formats satoshi as BTC with 8 decimals.
pub fn btc(sat: Amount) -> String {
    format!("{}.{:08}", sat / 100_000_000, sat % 100_000_000)
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
            Chain::Ethereum => format!("0x{}", hex::encode(&key.payload)),
        }
    }

    /// The ids of every stored form of a user-typed address (a `1…` address
    /// may be stored as P2PKH and as P2PK). Invalid or wrong-network
    /// addresses are a usage error naming the address.
    pub fn resolve(&self, query: &str) -> Result<Vec<AddrId>> {
        let keys = address::parse(query, self.network).map_err(|e| Error::Usage(e.to_string()))?;
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
        let key = self.store.address(id)?.ok_or_else(|| Error::Db {
            path: self.store.path().to_path_buf(),
            reason: format!("address id {id} missing"),
        })?;
        Ok(AddressRef {
            id,
            address: self.show(&key),
            kind: key.kind.name(),
        })
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
    let c = store.counters()?;
    Ok(StatusView {
        db: store.path().display().to_string(),
        schema_version: crate::store::SCHEMA_VERSION,
        bitcoin_network: store.network(Chain::Bitcoin)?,
        bitcoin_tip_height: tip.map(|t| t.height),
        bitcoin_tip_hash: tip.map(|t| hash_hex(&t.hash)),
        bitcoin_tip_time: tip_block.map(|b| utc(b.time)),
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
    pub value: Amount,
    /// Spending transaction as `txid:input`, if spent.
    pub spent_by: Option<String>,
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
    /// Version.
    pub version: i32,
    /// nLockTime.
    pub locktime: u32,
    /// Size in bytes.
    pub size: u32,
    /// Virtual size.
    pub vsize: u32,
    /// Fee (base units).
    pub fee: Amount,
    /// Inputs.
    pub inputs: Vec<InputView>,
    /// Outputs.
    pub outputs: Vec<OutputView>,
}

/// Parses a display-order txid.
pub fn parse_txid(s: &str) -> Result<Hash32> {
    let s = s.trim();
    let mut h: Hash32 = hex::decode(s)
        .ok()
        .and_then(|v| v.try_into().ok())
        .ok_or_else(|| Error::Usage(format!("'{s}' is not a txid (64 hex digits)")))?;
    h.reverse();
    Ok(h)
}

/// Looks up a transaction by txid.
pub fn tx(view: &LedgerView<'_>, txid: &str) -> Result<TxView> {
    let hash = parse_txid(txid)?;
    let id = view
        .store
        .tx_id(Chain::Bitcoin, &hash)?
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
    let mut outputs = Vec::with_capacity(rec.outputs.len());
    for (vout, o) in rec.outputs.iter().enumerate() {
        let spent_by = match store.spent_by(OutRef {
            tx: id,
            vout: vout as u32,
        })? {
            Some(s) => Some(format!("{}:{}", txid_of(store, s.tx)?, s.input)),
            None => None,
        };
        outputs.push(OutputView {
            vout: vout as u32,
            address: o.addr.map(|a| view.show_id(a)).transpose()?,
            kind: o.kind.name(),
            value: o.value,
            spent_by,
        });
    }
    Ok(TxView {
        chain: rec.chain,
        txid: hash_hex(&rec.hash),
        id,
        height: rec.height,
        block_hash: block
            .as_ref()
            .map(|b| hash_hex(&b.hash))
            .unwrap_or_default(),
        time: block.map(|b| utc(b.time)).unwrap_or_default(),
        index: rec.index,
        coinbase: rec.is_coinbase(),
        version: rec.version,
        locktime: rec.locktime,
        size: rec.size,
        vsize: rec.vsize,
        fee: rec.fee,
        inputs,
        outputs,
    })
}

fn txid_of(store: &Store, id: u64) -> Result<String> {
    Ok(store
        .tx(id)?
        .map(|t| hash_hex(&t.hash))
        .unwrap_or_else(|| format!("#{id}")))
}

/// One history line of an address view.
#[derive(Debug, Serialize)]
pub struct HistoryView {
    /// Txid.
    pub txid: String,
    /// Block height.
    pub height: u64,
    /// Received in this tx.
    pub received: Amount,
    /// Sent in this tx.
    pub sent: Amount,
}

/// One stored form of an address (P2PKH and P2PK share a display string).
#[derive(Debug, Serialize)]
pub struct AddressEntry {
    /// The address.
    #[serde(flatten)]
    pub address: AddressRef,
    /// Total received.
    pub received: Amount,
    /// Total sent.
    pub sent: Amount,
    /// Received minus sent.
    pub balance: Amount,
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
    /// Balance summed over all forms.
    pub balance: Amount,
    /// Received summed over all forms.
    pub received: Amount,
    /// Sent summed over all forms.
    pub sent: Amount,
    /// Each stored form with its history.
    pub entries: Vec<AddressEntry>,
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
        let hist = view.store.history(id)?;
        let received: Amount = hist.iter().map(|h| h.received).sum();
        let sent: Amount = hist.iter().map(|h| h.sent).sum();
        let take = if limit == 0 { usize::MAX } else { limit };
        let mut history = Vec::new();
        for h in hist.iter().skip(offset).take(take) {
            history.push(HistoryView {
                txid: txid_of(view.store, h.tx)?,
                height: h.height,
                received: h.received,
                sent: h.sent,
            });
        }
        entries.push(AddressEntry {
            address: view.show_id(id)?,
            received,
            sent,
            balance: received.saturating_sub(sent),
            tx_count: hist.len(),
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
    Ok(AddressView {
        query: query.trim().to_string(),
        balance: entries.iter().map(|e| e.balance).sum(),
        received: entries.iter().map(|e| e.received).sum(),
        sent: entries.iter().map(|e| e.sent).sum(),
        entries,
    })
}
