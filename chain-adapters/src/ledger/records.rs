//! Ledger records and their compact binary encoding.

use super::codec::{DecodeError, Reader, Writer};
use super::{AddrId, AddressKey, AddressKind, Amount, Chain, Hash32, TxId};

/// A block on the stored main chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockRecord {
    /// Chain of the block.
    pub chain: Chain,
    /// Height (genesis = 0).
    pub height: u64,
    /// Block hash, internal byte order.
    pub hash: Hash32,
    /// Previous block's hash, internal byte order.
    pub prev_hash: Hash32,
    /// Block timestamp, seconds since the Unix epoch.
    pub time: u64,
    /// Id of the block's first transaction.
    pub first_tx: TxId,
    /// Number of transactions.
    pub tx_count: u32,
    /// First address id allocated while ingesting this block.
    pub first_new_addr: AddrId,
    /// How many addresses this block saw first (ids `first_new_addr..+n`;
    /// rolling the block back removes them).
    pub new_addr_count: u32,
    /// Serialized size in bytes.
    pub size: u32,
}

impl BlockRecord {
    /// Compact binary form.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(96);
        w.byte(self.chain as u8)
            .uvar(self.height.into())
            .fixed(&self.hash)
            .fixed(&self.prev_hash)
            .uvar(self.time.into())
            .uvar(self.first_tx.into())
            .uvar(self.tx_count.into())
            .uvar(self.first_new_addr.into())
            .uvar(self.new_addr_count.into())
            .uvar(self.size.into());
        w.finish()
    }

    /// Parses [`BlockRecord::encode`] output.
    pub fn decode(b: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(b);
        let rec = BlockRecord {
            chain: Chain::from_u8(r.byte("block chain")?).ok_or(DecodeError {
                what: "block chain",
            })?,
            height: r.u64("block height")?,
            hash: r.array("block hash")?,
            prev_hash: r.array("block prev hash")?,
            time: r.u64("block time")?,
            first_tx: r.u64("block first tx")?,
            tx_count: r.u32("block tx count")?,
            first_new_addr: r.u32("block first address")?,
            new_addr_count: r.u32("block new address count")?,
            size: r.u32("block size")?,
        };
        r.end("block record")?;
        Ok(rec)
    }
}

/// A reference to an output: the transaction's dense id and the output index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OutRef {
    /// Transaction holding the output.
    pub tx: TxId,
    /// Output index (`vout`).
    pub vout: u32,
}

impl OutRef {
    /// Big-endian key: sorts by transaction, then output.
    pub fn key(&self) -> [u8; 12] {
        let mut k = [0u8; 12];
        k[..8].copy_from_slice(&self.tx.to_be_bytes());
        k[8..].copy_from_slice(&self.vout.to_be_bytes());
        k
    }

    /// Parses [`OutRef::key`].
    pub fn from_key(k: &[u8]) -> Option<OutRef> {
        Some(OutRef {
            tx: u64::from_be_bytes(k.get(..8)?.try_into().ok()?),
            vout: u32::from_be_bytes(k.get(8..12)?.try_into().ok()?),
        })
    }
}

/// Value leaving an address in a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    /// The output this input spends (UTXO chains); `None` for a coinbase.
    pub prev: Option<OutRef>,
    /// Address the spent value belonged to (resolved at ingest).
    pub addr: Option<AddrId>,
    /// Value spent.
    pub value: Amount,
    /// nSequence (a wallet fingerprint; 0 on account chains).
    pub sequence: u32,
}

/// Value arriving at an address in a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// Receiving address; `None` for OP_RETURN.
    pub addr: Option<AddrId>,
    /// Shape of the locking script or account.
    pub kind: AddressKind,
    /// Value received.
    pub value: Amount,
    /// Asset: 0 is the chain's native coin; `n > 0` is the token whose
    /// contract has address id `n - 1` (see [`asset_of_token`]).
    pub asset: u32,
    /// Sender of this transfer on account chains; `None` on UTXO chains.
    pub from: Option<AddrId>,
}

/// Transaction flag: the block's coinbase.
pub const TX_COINBASE: u8 = 1;
/// Transaction flag: carries segregated witness data.
pub const TX_SEGWIT: u8 = 2;
/// Transaction flag: failed/reverted (account chains).
pub const TX_FAILED: u8 = 4;
/// Transaction flag: creates a contract (account chains).
pub const TX_CREATE: u8 = 8;

/// A stored transaction with its inputs resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxRecord {
    /// Chain of the transaction.
    pub chain: Chain,
    /// Transaction hash (txid), internal byte order.
    pub hash: Hash32,
    /// Height of the block holding it.
    pub height: u64,
    /// Position within the block.
    pub index: u32,
    /// Transaction version.
    pub version: i32,
    /// nLockTime.
    pub locktime: u32,
    /// Serialized size in bytes.
    pub size: u32,
    /// Virtual size (weight / 4, rounded up).
    pub vsize: u32,
    /// `TX_*` flags.
    pub flags: u8,
    /// Fee paid (inputs minus outputs; 0 for a coinbase).
    pub fee: Amount,
    /// The address id counter before this transaction: its addresses with
    /// ids at or above it appear in the ledger here for the first time.
    pub first_new_addr: AddrId,
    /// Value leaving addresses.
    pub inputs: Vec<Input>,
    /// Value arriving at addresses.
    pub outputs: Vec<Output>,
}

impl TxRecord {
    /// Whether this is a block's coinbase.
    pub fn is_coinbase(&self) -> bool {
        self.flags & TX_COINBASE != 0
    }

    /// Whether address `a` (one of this transaction's) appears here for the
    /// first time in the ledger (a fresh address).
    pub fn introduces(&self, a: AddrId) -> bool {
        a >= self.first_new_addr
    }

    /// Compact binary form.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(64 + 16 * (self.inputs.len() + self.outputs.len()));
        w.byte(self.chain as u8)
            .fixed(&self.hash)
            .uvar(self.height.into())
            .uvar(self.index.into())
            .ivar(self.version.into())
            .uvar(self.locktime.into())
            .uvar(self.size.into())
            .uvar(self.vsize.into())
            .byte(self.flags)
            .uvar(self.fee)
            .uvar(self.first_new_addr.into())
            .uvar(self.inputs.len() as u128);
        for i in &self.inputs {
            match i.prev {
                Some(p) => w.byte(1).uvar(p.tx.into()).uvar(p.vout.into()),
                None => w.byte(0),
            };
            w.opt_id(i.addr.map(u64::from))
                .uvar(i.value)
                .uvar(i.sequence.into());
        }
        w.uvar(self.outputs.len() as u128);
        for o in &self.outputs {
            w.opt_id(o.addr.map(u64::from))
                .byte(o.kind as u8)
                .uvar(o.value)
                .uvar(o.asset.into())
                .opt_id(o.from.map(u64::from));
        }
        w.finish()
    }

    /// Parses [`TxRecord::encode`] output.
    pub fn decode(b: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(b);
        let chain = Chain::from_u8(r.byte("tx chain")?).ok_or(DecodeError { what: "tx chain" })?;
        let hash = r.array("txid")?;
        let height = r.u64("tx height")?;
        let index = r.u32("tx index")?;
        let version =
            i32::try_from(r.ivar("tx version")?).map_err(|_| DecodeError { what: "tx version" })?;
        let locktime = r.u32("tx locktime")?;
        let size = r.u32("tx size")?;
        let vsize = r.u32("tx vsize")?;
        let flags = r.byte("tx flags")?;
        let fee = r.uvar("tx fee")?;
        let first_new_addr = r.u32("tx first address")?;
        let n_in = r.count("input count")?;
        let mut inputs = Vec::with_capacity(n_in);
        for _ in 0..n_in {
            let prev = match r.byte("input kind")? {
                0 => None,
                1 => Some(OutRef {
                    tx: r.u64("input prev tx")?,
                    vout: r.u32("input prev vout")?,
                }),
                _ => return Err(DecodeError { what: "input kind" }),
            };
            inputs.push(Input {
                prev,
                addr: opt_addr(&mut r, "input address")?,
                value: r.uvar("input value")?,
                sequence: r.u32("input sequence")?,
            });
        }
        let n_out = r.count("output count")?;
        let mut outputs = Vec::with_capacity(n_out);
        for _ in 0..n_out {
            outputs.push(Output {
                addr: opt_addr(&mut r, "output address")?,
                kind: AddressKind::from_u8(r.byte("output kind")?).ok_or(DecodeError {
                    what: "output kind",
                })?,
                value: r.uvar("output value")?,
                asset: r.u32("output asset")?,
                from: opt_addr(&mut r, "output sender")?,
            });
        }
        r.end("tx record")?;
        Ok(TxRecord {
            chain,
            hash,
            height,
            index,
            version,
            locktime,
            size,
            vsize,
            flags,
            fee,
            first_new_addr,
            inputs,
            outputs,
        })
    }
}

fn opt_addr(r: &mut Reader<'_>, what: &'static str) -> Result<Option<AddrId>, DecodeError> {
    r.opt_id(what)?
        .map(|v| AddrId::try_from(v).map_err(|_| DecodeError { what }))
        .transpose()
}

impl AddressKey {
    /// Compact binary form of the whole key (identity and display detail).
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(4 + self.payload.len() + self.detail.len());
        w.byte(self.chain as u8)
            .byte(self.kind as u8)
            .bytes(&self.payload)
            .bytes(&self.detail);
        w.finish()
    }

    /// Parses [`AddressKey::encode`] output.
    pub fn decode(b: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(b);
        let chain = Chain::from_u8(r.byte("address chain")?).ok_or(DecodeError {
            what: "address chain",
        })?;
        let kind = AddressKind::from_u8(r.byte("address kind")?).ok_or(DecodeError {
            what: "address kind",
        })?;
        let payload = r.bytes("address payload")?.to_vec();
        let detail = r.bytes("address detail")?.to_vec();
        r.end("address record")?;
        Ok(AddressKey {
            chain,
            kind,
            payload,
            detail,
        })
    }
}

/// One line of an address's history: what it received and sent of one
/// asset in one transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryEntry {
    /// The transaction.
    pub tx: TxId,
    /// The asset (0 = the chain's native coin; see [`Output::asset`]).
    pub asset: u32,
    /// Height of its block.
    pub height: u64,
    /// Value the address received in it.
    pub received: Amount,
    /// Value the address sent in it.
    pub sent: Amount,
}

impl HistoryEntry {
    /// Value part (the key holds address and tx).
    pub fn encode_value(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(24);
        w.uvar(self.height.into())
            .uvar(self.received)
            .uvar(self.sent);
        w.finish()
    }

    /// Parses a history value for transaction `tx` and `asset`.
    pub fn decode_value(tx: TxId, asset: u32, b: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(b);
        let e = HistoryEntry {
            tx,
            asset,
            height: r.u64("history height")?,
            received: r.uvar("history received")?,
            sent: r.uvar("history sent")?,
        };
        r.end("history entry")?;
        Ok(e)
    }
}

/// An unspent output as the UTXO index keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unspent {
    /// Owner, if the script has an address.
    pub addr: Option<AddrId>,
    /// Value.
    pub value: Amount,
}

impl Unspent {
    /// Compact binary form.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(12);
        w.opt_id(self.addr.map(u64::from)).uvar(self.value);
        w.finish()
    }

    /// Parses [`Unspent::encode`] output.
    pub fn decode(b: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(b);
        let u = Unspent {
            addr: opt_addr(&mut r, "utxo address")?,
            value: r.uvar("utxo value")?,
        };
        r.end("utxo")?;
        Ok(u)
    }
}

/// Where an output was spent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpentBy {
    /// Spending transaction.
    pub tx: TxId,
    /// Input index within it.
    pub input: u32,
}

impl SpentBy {
    /// Compact binary form.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(12);
        w.uvar(self.tx.into()).uvar(self.input.into());
        w.finish()
    }

    /// Parses [`SpentBy::encode`] output.
    pub fn decode(b: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(b);
        let s = SpentBy {
            tx: r.u64("spender tx")?,
            input: r.u32("spender input")?,
        };
        r.end("spender")?;
        Ok(s)
    }
}

/// A block as a chain adapter delivers it, before ids are assigned.
#[derive(Debug, Clone)]
pub struct NewBlock {
    /// Chain.
    pub chain: Chain,
    /// Height on the adapter's best chain.
    pub height: u64,
    /// Block hash.
    pub hash: Hash32,
    /// Previous block hash.
    pub prev_hash: Hash32,
    /// Timestamp (Unix seconds).
    pub time: u64,
    /// Serialized size in bytes.
    pub size: u32,
    /// Transactions in block order.
    pub txs: Vec<NewTx>,
    /// Token contracts seen for the first time, with their metadata.
    pub tokens: Vec<(AddressKey, TokenInfo)>,
    /// Addresses this block proves to hold code (created, emitted a log, or
    /// made an internal call), each with the index in the block of the
    /// transaction that shows it (account chains).
    pub contracts: Vec<(AddressKey, u32)>,
}

/// What an input refers to, before resolution.
#[derive(Debug, Clone)]
pub enum NewInput {
    /// A coinbase input (creates coins).
    Coinbase {
        /// nSequence.
        sequence: u32,
    },
    /// Spends output `vout` of transaction `txid`.
    Spend {
        /// Hash of the transaction holding the spent output.
        txid: Hash32,
        /// Its output index.
        vout: u32,
        /// nSequence.
        sequence: u32,
    },
    /// Value debited from an account outside any transfer: the fee the
    /// sender of an account-chain transaction pays.
    Fee {
        /// The paying account.
        payer: AddressKey,
        /// Fee in the smallest unit.
        value: Amount,
    },
}

/// An output or transfer, before ids are assigned.
#[derive(Debug, Clone)]
pub struct NewOutput {
    /// Receiving address (`None` for OP_RETURN).
    pub addr: Option<AddressKey>,
    /// Script shape.
    pub kind: AddressKind,
    /// Value.
    pub value: Amount,
    /// Token contract, or `None` for the chain's native coin.
    pub token: Option<AddressKey>,
    /// Sender, on account chains.
    pub from: Option<AddressKey>,
}

/// A token contract's metadata, read once from the chain (`None` where the
/// contract does not answer).
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct TokenInfo {
    /// `symbol()`.
    pub symbol: Option<String>,
    /// `name()`.
    pub name: Option<String>,
    /// `decimals()`.
    pub decimals: Option<u8>,
}

impl TokenInfo {
    /// Compact binary form.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(32);
        for s in [&self.symbol, &self.name] {
            match s {
                Some(s) => w.byte(1).bytes(s.as_bytes()),
                None => w.byte(0),
            };
        }
        match self.decimals {
            Some(d) => w.byte(1).byte(d),
            None => w.byte(0),
        };
        w.finish()
    }

    /// Parses [`TokenInfo::encode`] output.
    pub fn decode(b: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(b);
        let mut text = |what: &'static str| -> Result<Option<String>, DecodeError> {
            match r.byte(what)? {
                0 => Ok(None),
                1 => String::from_utf8(r.bytes(what)?.to_vec())
                    .map(Some)
                    .map_err(|_| DecodeError { what }),
                _ => Err(DecodeError { what }),
            }
        };
        let symbol = text("token symbol")?;
        let name = text("token name")?;
        let decimals = match r.byte("token decimals")? {
            0 => None,
            1 => Some(r.byte("token decimals")?),
            _ => {
                return Err(DecodeError {
                    what: "token decimals",
                })
            }
        };
        r.end("token record")?;
        Ok(TokenInfo {
            symbol,
            name,
            decimals,
        })
    }
}

/// The asset id of the token whose contract has address id `contract`.
pub fn asset_of_token(contract: AddrId) -> u32 {
    contract.saturating_add(1)
}

/// The contract address id of token asset `asset` (`None` for the native coin).
pub fn token_of_asset(asset: u32) -> Option<AddrId> {
    asset.checked_sub(1)
}

/// A transaction as a chain adapter delivers it.
#[derive(Debug, Clone)]
pub struct NewTx {
    /// Transaction hash.
    pub hash: Hash32,
    /// Version.
    pub version: i32,
    /// nLockTime.
    pub locktime: u32,
    /// Serialized size.
    pub size: u32,
    /// Virtual size.
    pub vsize: u32,
    /// `TX_*` flags known to the adapter.
    pub flags: u8,
    /// Inputs in order.
    pub inputs: Vec<NewInput>,
    /// Outputs in order.
    pub outputs: Vec<NewOutput>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_tx() -> TxRecord {
        TxRecord {
            chain: Chain::Bitcoin,
            hash: [7; 32],
            height: 170,
            index: 1,
            version: 1,
            locktime: 0,
            size: 275,
            vsize: 275,
            flags: 0,
            fee: 0,
            first_new_addr: 4,
            inputs: vec![Input {
                prev: Some(OutRef { tx: 9, vout: 0 }),
                addr: Some(3),
                value: 5_000_000_000,
                sequence: u32::MAX,
            }],
            outputs: vec![
                Output {
                    addr: Some(4),
                    kind: AddressKind::P2pk,
                    value: 1_000_000_000,
                    asset: 0,
                    from: None,
                },
                Output {
                    addr: None,
                    kind: AddressKind::NullData,
                    value: 0,
                    asset: 0,
                    from: None,
                },
            ],
        }
    }

    #[test]
    fn tx_record_round_trips_and_rejects_every_truncation() {
        let tx = sample_tx();
        let bytes = tx.encode();
        assert_eq!(TxRecord::decode(&bytes).unwrap(), tx);
        for cut in 0..bytes.len() {
            assert!(TxRecord::decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(TxRecord::decode(&longer).is_err());
    }

    #[test]
    fn block_and_small_records_round_trip() {
        let b = BlockRecord {
            chain: Chain::Bitcoin,
            height: 4312,
            hash: [1; 32],
            prev_hash: [2; 32],
            time: 1_231_006_505,
            first_tx: 4000,
            tx_count: 3,
            first_new_addr: 77,
            new_addr_count: 5,
            size: 215,
        };
        assert_eq!(BlockRecord::decode(&b.encode()).unwrap(), b);
        let u = Unspent {
            addr: Some(0),
            value: 5_000_000_000,
        };
        assert_eq!(Unspent::decode(&u.encode()).unwrap(), u);
        let s = SpentBy { tx: 12, input: 3 };
        assert_eq!(SpentBy::decode(&s.encode()).unwrap(), s);
        let a = AddressKey {
            chain: Chain::Bitcoin,
            kind: AddressKind::P2pk,
            payload: vec![9; 20],
            detail: vec![4; 65],
        };
        assert_eq!(AddressKey::decode(&a.encode()).unwrap(), a);
        let o = OutRef { tx: 5, vout: 2 };
        assert_eq!(OutRef::from_key(&o.key()), Some(o));
    }
}
