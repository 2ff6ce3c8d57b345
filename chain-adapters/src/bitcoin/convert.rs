//! Bitcoin blocks and transactions into the normalised ledger model.

use bitcoin::hashes::Hash;
use bitcoin::{Block, Transaction, TxMerkleNode, Txid};

use super::address::classify;
use crate::ledger::Chain;
use crate::ledger::{NewBlock, NewInput, NewOutput, NewTx, TX_COINBASE, TX_SEGWIT};

/// A block at `height` as the ledger takes it.
pub fn to_new_block(block: &Block, height: u64) -> NewBlock {
    let txids: Vec<Txid> = block.txdata.iter().map(Transaction::compute_txid).collect();
    build_block(block, height, &txids)
}

/// The block's txids, after checking its merkle root against them.
pub fn verified_txids(block: &Block) -> Result<Vec<Txid>, String> {
    let txids: Vec<Txid> = block.txdata.iter().map(Transaction::compute_txid).collect();
    let root = bitcoin::merkle_tree::calculate_root(txids.iter().map(|t| t.to_raw_hash()));
    if root.map(TxMerkleNode::from_raw_hash) != Some(block.header.merkle_root) {
        return Err(format!(
            "merkle root of block {} does not match its transactions",
            block.block_hash()
        ));
    }
    Ok(txids)
}

/// Like [`to_new_block`], first checking the merkle root against the txids
/// (each txid is hashed once, for both).
pub fn to_verified_new_block(block: &Block, height: u64) -> Result<NewBlock, String> {
    Ok(build_block(block, height, &verified_txids(block)?))
}

fn build_block(block: &Block, height: u64, txids: &[Txid]) -> NewBlock {
    NewBlock {
        chain: Chain::Bitcoin,
        height,
        hash: block.block_hash().to_byte_array(),
        prev_hash: block.header.prev_blockhash.to_byte_array(),
        time: u64::from(block.header.time),
        size: block.total_size() as u32,
        txs: block
            .txdata
            .iter()
            .zip(txids)
            .map(|(tx, txid)| to_new_tx(tx, *txid))
            .collect(),
        tokens: Vec::new(),
        contracts: Vec::new(),
    }
}

/// A transaction (with its already computed txid) as the ledger takes it.
pub fn to_new_tx(tx: &Transaction, txid: Txid) -> NewTx {
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
        hash: txid.to_byte_array(),
        version: tx.version.0,
        locktime: tx.lock_time.to_consensus_u32(),
        size: tx.total_size() as u32,
        vsize: tx.vsize() as u32,
        flags: if coinbase { TX_COINBASE } else { 0 } | if segwit { TX_SEGWIT } else { 0 },
        inputs,
        outputs,
    }
}
