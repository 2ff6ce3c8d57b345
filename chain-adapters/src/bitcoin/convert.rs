//! Bitcoin blocks and transactions into the normalised ledger model.

use bitcoin::hashes::Hash;
use bitcoin::{Block, Transaction};

use super::address::classify;
use crate::ledger::Chain;
use crate::ledger::{NewBlock, NewInput, NewOutput, NewTx, TX_COINBASE, TX_SEGWIT};

/// A block at `height` as the ledger takes it.
pub fn to_new_block(block: &Block, height: u64) -> NewBlock {
    NewBlock {
        chain: Chain::Bitcoin,
        height,
        hash: block.block_hash().to_byte_array(),
        prev_hash: block.header.prev_blockhash.to_byte_array(),
        time: u64::from(block.header.time),
        size: block.total_size() as u32,
        txs: block.txdata.iter().map(to_new_tx).collect(),
    }
}

/// A transaction as the ledger takes it.
pub fn to_new_tx(tx: &Transaction) -> NewTx {
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
                asset: 0,
                from: None,
            }
        })
        .collect();
    NewTx {
        hash: tx.compute_txid().to_byte_array(),
        version: tx.version.0,
        locktime: tx.lock_time.to_consensus_u32(),
        size: tx.total_size() as u32,
        vsize: tx.vsize() as u32,
        flags: if coinbase { TX_COINBASE } else { 0 } | if segwit { TX_SEGWIT } else { 0 },
        inputs,
        outputs,
    }
}
