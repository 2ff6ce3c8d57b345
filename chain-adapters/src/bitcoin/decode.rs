//! Decoding raw Bitcoin data without a ledger: a raw transaction, a raw block,
//! or a blk file (hex text or binary), into txids and outputs with value and
//! address.

use std::path::Path;

use bitcoin::consensus::deserialize;
use bitcoin::{Block, Network, Transaction};
use serde::Serialize;

use super::address::{classify, display};
use super::blkfile::BlockFiles;
use super::network::network_name;
use crate::error::{Error, Result};

/// An output of a decoded transaction.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct DecodedOutput {
    /// Output index.
    pub vout: u32,
    /// Value in satoshi (a decimal string in JSON, as every amount).
    #[serde(serialize_with = "crate::ledger::amount_text")]
    pub value: u64,
    /// Script shape (`p2pkh`, `p2tr`, `op_return`, …).
    pub kind: &'static str,
    /// Address as explorers show it; `None` for OP_RETURN.
    pub address: Option<String>,
}

/// An input of a decoded transaction.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct DecodedInput {
    /// Spent txid (`None` for a coinbase).
    pub prev_txid: Option<String>,
    /// Spent output index.
    pub vout: u32,
    /// nSequence.
    pub sequence: u32,
}

/// A decoded transaction.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct DecodedTx {
    /// Transaction id.
    pub txid: String,
    /// Version.
    pub version: i32,
    /// nLockTime.
    pub locktime: u32,
    /// Serialized size.
    pub size: usize,
    /// Virtual size.
    pub vsize: usize,
    /// What the outputs' values count (BTC, 8 decimals: values are satoshi).
    pub unit: crate::query::Unit,
    /// Inputs.
    pub inputs: Vec<DecodedInput>,
    /// Outputs.
    pub outputs: Vec<DecodedOutput>,
}

/// A decoded block.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct DecodedBlock {
    /// Block hash.
    pub hash: String,
    /// Previous block hash.
    pub prev_hash: String,
    /// Height from the coinbase (BIP34), when the block carries it.
    pub height: Option<u64>,
    /// Timestamp.
    pub time: u32,
    /// Network whose magic framed it (blk files) or that was assumed.
    pub network: &'static str,
    /// Byte offset in the blk file, for blocks read from one.
    pub offset: Option<u64>,
    /// Number of transactions.
    pub tx_count: usize,
    /// The transactions.
    pub txs: Vec<DecodedTx>,
}

/// What `decode` found.
#[derive(Debug, Serialize, PartialEq, Eq)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Decoded {
    /// One raw transaction.
    Transaction(DecodedTx),
    /// One raw block or the blocks of a blk file.
    Blocks {
        /// The blocks, in file order.
        blocks: Vec<DecodedBlock>,
    },
}

/// Decodes a transaction for display on `network`.
pub fn decode_tx(tx: &Transaction, network: Network) -> DecodedTx {
    let coinbase = tx.is_coinbase();
    DecodedTx {
        txid: tx.compute_txid().to_string(),
        version: tx.version.0,
        locktime: tx.lock_time.to_consensus_u32(),
        size: tx.total_size(),
        vsize: tx.vsize(),
        unit: crate::query::Unit::native(crate::ledger::Chain::Bitcoin),
        inputs: tx
            .input
            .iter()
            .map(|i| DecodedInput {
                prev_txid: (!coinbase).then(|| i.previous_output.txid.to_string()),
                vout: i.previous_output.vout,
                sequence: i.sequence.to_consensus_u32(),
            })
            .collect(),
        outputs: tx
            .output
            .iter()
            .enumerate()
            .map(|(vout, o)| {
                let (kind, key) = classify(&o.script_pubkey);
                DecodedOutput {
                    vout: vout as u32,
                    value: o.value.to_sat(),
                    kind: kind.name(),
                    address: key.map(|k| display(&k, network)),
                }
            })
            .collect(),
    }
}

/// Decodes a block for display on `network`.
pub fn decode_block(block: &Block, network: Network, offset: Option<u64>) -> DecodedBlock {
    DecodedBlock {
        hash: block.block_hash().to_string(),
        prev_hash: block.header.prev_blockhash.to_string(),
        height: block.bip34_block_height().ok(),
        time: block.header.time,
        network: network_name(network),
        offset,
        tx_count: block.txdata.len(),
        txs: block.txdata.iter().map(|t| decode_tx(t, network)).collect(),
    }
}

/// Decodes raw bytes: a block if they hold exactly one, else a transaction.
pub fn decode_bytes(bytes: &[u8], network: Network, what: &str) -> Result<Decoded> {
    if let Ok(block) = deserialize::<Block>(bytes) {
        if block.check_merkle_root() {
            return Ok(Decoded::Blocks {
                blocks: vec![decode_block(&block, network, None)],
            });
        }
    }
    match deserialize::<Transaction>(bytes) {
        Ok(tx) => Ok(Decoded::Transaction(decode_tx(&tx, network))),
        Err(e) => Err(Error::Decode {
            what: what.into(),
            reason: format!("neither a block nor a transaction ({e})"),
        }),
    }
}

/// Largest file `decode` reads whole as a raw transaction or block (hex or
/// binary); blk files are read block by block, whatever their size.
pub const MAX_RAW_FILE: u64 = 64 << 20;

/// What `decode` was given.
#[derive(Debug)]
pub enum Input {
    /// A blk file: decoded one block at a time by [`each_blk_block`].
    BlkFile(std::path::PathBuf),
    /// A raw transaction or block (a file of hex or binary bytes, or hex).
    Raw(Decoded),
}

/// Reads `arg`: a path to a blk file, to a file of raw or hex bytes, or a hex
/// string. `network` sets address prefixes for raw data; blk records use
/// their own magic's network. A blk file is only recognised here (by its
/// first record's magic), not read.
pub fn decode_arg(arg: &str, network: Network) -> Result<Input> {
    let path = Path::new(arg);
    if let Ok(meta) = std::fs::metadata(path) {
        if !meta.is_file() {
            let kind = if meta.is_dir() {
                "a directory"
            } else {
                "not a regular file (a device, pipe or socket)"
            };
            return Err(Error::Decode {
                what: path.display().to_string(),
                reason: format!("{kind}; give one blk file, a file of raw or hex bytes, or hex"),
            });
        }
        let mut magic = [0u8; 4];
        let first = std::fs::File::open(path)
            .and_then(|mut f| std::io::Read::read(&mut f, &mut magic))
            .map_err(|e| Error::io(path, e))?;
        if first == 4 && super::network::network_of_magic(magic).is_some() {
            return Ok(Input::BlkFile(path.to_path_buf()));
        }
        if meta.len() > MAX_RAW_FILE {
            return Err(Error::Decode {
                what: path.display().to_string(),
                reason: format!(
                    "{} bytes is too large for a raw transaction or block (at most {} MiB), and it does not start with a network's blk record magic",
                    meta.len(),
                    MAX_RAW_FILE >> 20
                ),
            });
        }
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let text = std::str::from_utf8(&bytes).ok().map(str::trim);
        if let Some(hex_bytes) = text.and_then(|t| hex::decode(t).ok()) {
            return decode_bytes(&hex_bytes, network, arg).map(Input::Raw);
        }
        return decode_bytes(&bytes, network, arg).map(Input::Raw);
    }
    let hex_bytes = hex::decode(arg.trim()).map_err(|e| Error::Decode {
        what: preview(arg),
        reason: format!("not a file and not hex ({e})"),
    })?;
    decode_bytes(&hex_bytes, network, &preview(arg)).map(Input::Raw)
}

/// Decodes the blocks of one blk file in file order, handing each to `each`
/// as it is read (one block in memory at a time). Returns the incomplete
/// record the file ends inside, if any (see [`BlockFiles::scan`]).
pub fn each_blk_block(
    path: &Path,
    mut each: impl FnMut(DecodedBlock) -> Result<()>,
) -> Result<Option<Error>> {
    let files = BlockFiles::open(path)?;
    let scan = files.scan_any_network()?;
    for loc in &scan.blocks {
        let block = files.read_block(loc)?;
        each(decode_block(&block, loc.network, Some(loc.offset)))?;
    }
    Ok(scan.incomplete_tail)
}

fn preview(s: &str) -> String {
    if s.len() > 40 {
        format!(
            "{}…",
            &s[..s.char_indices().nth(40).map_or(s.len(), |(i, _)| i)]
        )
    } else {
        s.to_string()
    }
}
