//! Bitcoin blocks and transactions into the normalised ledger model.

use bitcoin::block::Header;
use bitcoin::consensus::encode::VarInt;
use bitcoin::consensus::Decodable;
use bitcoin::hashes::{Hash, HashEngine};
use bitcoin::{Block, BlockHash, Transaction, TxMerkleNode, Txid};

use super::address::classify;
use crate::ledger::Chain;
use crate::ledger::{NewBlock, NewInput, NewOutput, NewTx, TX_COINBASE, TX_SEGWIT};

/// A block at `height` as the ledger takes it.
pub fn to_new_block(block: &Block, height: u64) -> NewBlock {
    let txs = block
        .txdata
        .iter()
        .map(|tx| to_new_tx(tx, TxFacts::of(tx)))
        .collect();
    build_block(&block.header, block.total_size(), height, txs)
}

/// The block's txids, after checking its merkle root against them.
pub fn verified_txids(block: &Block) -> Result<Vec<Txid>, String> {
    let txids: Vec<Txid> = block.txdata.iter().map(Transaction::compute_txid).collect();
    check_merkle_root(&block.header, &txids)?;
    Ok(txids)
}

fn check_merkle_root(header: &Header, txids: &[Txid]) -> Result<(), String> {
    let root = bitcoin::merkle_tree::calculate_root(txids.iter().map(|t| t.to_raw_hash()));
    if root.map(TxMerkleNode::from_raw_hash) != Some(header.merkle_root) {
        return Err(format!(
            "merkle root of block {} does not match its transactions",
            header.block_hash()
        ));
    }
    Ok(())
}

/// Decodes a serialized block, checks its merkle root and converts it for
/// the ledger at `height`; returns its hash too. Each transaction's txid,
/// size and virtual size come from its own bytes: hashed once as they are,
/// not serialized again.
pub fn decode_verified_new_block(
    bytes: &[u8],
    height: u64,
) -> Result<(BlockHash, NewBlock), String> {
    let mut r = bytes;
    let header =
        Header::consensus_decode_from_finite_reader(&mut r).map_err(|e| format!("header: {e}"))?;
    let count = VarInt::consensus_decode_from_finite_reader(&mut r)
        .map_err(|e| format!("transaction count: {e}"))?
        .0;
    // The smallest transaction takes 60 bytes: bound what a bad count allocates.
    let mut txs = Vec::with_capacity((count as usize).min(bytes.len() / 60));
    let mut txids = Vec::with_capacity(txs.capacity());
    for i in 0..count {
        let start = bytes.len() - r.len();
        let tx = Transaction::consensus_decode_from_finite_reader(&mut r).map_err(|e| {
            let field = super::txfields::cut_field(&bytes[start..]);
            format!(
                "transaction {i} of {count} (at byte {start} of the block): {}",
                field.map_or_else(|| e.to_string(), |f| format!("cut short in {f}"))
            )
        })?;
        let facts = TxFacts::from_bytes(&bytes[start..bytes.len() - r.len()], &tx);
        txids.push(facts.txid);
        txs.push(to_new_tx(&tx, facts));
    }
    if !r.is_empty() {
        return Err(format!(
            "{} bytes after the last of its {count} transactions",
            r.len()
        ));
    }
    check_merkle_root(&header, &txids)?;
    Ok((
        header.block_hash(),
        build_block(&header, bytes.len(), height, txs),
    ))
}

fn build_block(header: &Header, size: usize, height: u64, txs: Vec<NewTx>) -> NewBlock {
    NewBlock {
        chain: Chain::Bitcoin,
        height,
        hash: header.block_hash().to_byte_array(),
        prev_hash: header.prev_blockhash.to_byte_array(),
        time: u64::from(header.time),
        size: size as u32,
        txs,
        tokens: Vec::new(),
        contracts: Vec::new(),
    }
}

/// What a transaction's serialization gives: txid, size and virtual size.
pub struct TxFacts {
    txid: Txid,
    size: usize,
    vsize: usize,
}

impl TxFacts {
    /// From the decoded transaction (serialized again to hash it).
    pub fn of(tx: &Transaction) -> TxFacts {
        TxFacts {
            txid: tx.compute_txid(),
            size: tx.total_size(),
            vsize: tx.vsize(),
        }
    }

    /// From the bytes `raw` that `tx` was decoded from: the txid hashes
    /// them without the segwit marker, flag and witnesses (BIP 144).
    fn from_bytes(raw: &[u8], tx: &Transaction) -> TxFacts {
        let mut e = Txid::engine();
        // A transaction decoded from a segwit serialization has a witness.
        let base = if tx.input.iter().any(|i| !i.witness.is_empty()) {
            let witness: usize = tx.input.iter().map(|i| i.witness.size()).sum();
            let end = raw.len() - 4 - witness;
            e.input(&raw[..4]);
            e.input(&raw[6..end]);
            e.input(&raw[raw.len() - 4..]);
            raw.len() - 2 - witness
        } else {
            e.input(raw);
            raw.len()
        };
        TxFacts {
            txid: Txid::from_engine(e),
            size: raw.len(),
            vsize: (base * 3 + raw.len()).div_ceil(4),
        }
    }
}

/// A transaction (with its txid, size and vsize) as the ledger takes it.
pub fn to_new_tx(tx: &Transaction, facts: TxFacts) -> NewTx {
    let coinbase = tx.is_coinbase();
    let segwit = tx.input.iter().any(|i| !i.witness.is_empty());
    let inputs = tx
        .input
        .iter()
        .map(|i| {
            let sequence = i.sequence.to_consensus_u32();
            if coinbase {
                NewInput::Coinbase { sequence }
            } else {
                NewInput::Spend {
                    txid: i.previous_output.txid.to_byte_array(),
                    vout: i.previous_output.vout,
                    sequence,
                }
            }
        })
        .collect();
    let outputs = tx
        .output
        .iter()
        .map(|o| {
            let (kind, addr) = classify(&o.script_pubkey);
            NewOutput {
                addr,
                kind,
                value: u128::from(o.value.to_sat()),
                token: None,
                from: None,
            }
        })
        .collect();
    NewTx {
        hash: facts.txid.to_byte_array(),
        version: tx.version.0,
        locktime: tx.lock_time.to_consensus_u32(),
        size: facts.size as u32,
        vsize: facts.vsize as u32,
        flags: if coinbase { TX_COINBASE } else { 0 } | if segwit { TX_SEGWIT } else { 0 },
        inputs,
        outputs,
    }
}
