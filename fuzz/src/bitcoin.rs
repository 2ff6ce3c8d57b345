//! Bitcoin: blk files, raw blocks and transactions, Core's JSON-RPC replies.

use bitcoin::hashes::Hash;
use bitcoin::{BlockHash, Network};
use chain_adapters::bitcoin::blkfile::BlockFiles;
use chain_adapters::bitcoin::convert::decode_verified_new_block;
use chain_adapters::bitcoin::decode::{decode_bytes, each_blk_block};
use chain_adapters::bitcoin::rpc::{block_from_result, reply_result};

use crate::{accepted, keep, scratch};

/// A blk file. Input: one flag byte (bit 0: an 8-byte `xor.dat` key
/// follows), then the file's bytes. Runs what `tracer ingest bitcoin
/// --blocks-dir` and `tracer decode` run on it: the scan (for mainnet and
/// regtest), the best chain, each block's read and conversion, and the
/// decoder (any network).
pub fn blk_file(data: &[u8]) -> bool {
    let Some((&flag, rest)) = data.split_first() else {
        return false;
    };
    let dir = scratch::dir();
    let file = if flag & 1 == 1 && rest.len() >= 8 {
        std::fs::write(dir.join("xor.dat"), &rest[..8]).expect("scratch write");
        &rest[8..]
    } else {
        rest
    };
    let path = dir.join("blk00000.dat");
    std::fs::write(&path, file).expect("scratch write");
    let files = match BlockFiles::open(&path) {
        Ok(f) => f,
        Err(e) => {
            keep(e.to_string());
            return false;
        }
    };
    let mut read = false;
    for network in [Network::Bitcoin, Network::Regtest] {
        let Ok(scan) = files.scan(network).map_err(|e| keep(e.to_string())) else {
            continue;
        };
        keep(scan.incomplete_tail.map(|e| e.to_string()));
        let chain = BlockFiles::best_chain(scan.blocks, network);
        keep((chain.tip_height(), chain.hash_at(1), chain.stale));
        let first = chain.first_block_height();
        // Every block is read, as ingest reads them all.
        let mut all = true;
        for (i, loc) in chain.blocks.iter().enumerate() {
            all &= accepted(files.read_new_block(loc, first + i as u64));
        }
        read |= all && !chain.blocks.is_empty();
    }
    let decoded = each_blk_block(&path, |b| {
        keep(serde_json::to_string(&b).expect("decoded blocks serialise"));
        Ok(())
    });
    accepted(decoded) && read
}

/// Raw bytes of a block or a transaction, as a node's `getblock` reply or
/// `tracer decode` takes them: the ledger conversion (txids and sizes
/// taken from the bytes, merkle check) and the decoder.
pub fn block(data: &[u8]) -> bool {
    let converted = accepted(decode_verified_new_block(data, 1).map(|(_, b)| b.txs.len()));
    let decoded = decode_bytes(data, Network::Bitcoin, "fuzz input")
        .map(|d| serde_json::to_string(&d).expect("decoded data serialise"));
    let decoded = accepted(decoded);
    converted && decoded
}

/// A Bitcoin Core JSON-RPC reply. Input: the HTTP status (2 bytes, big
/// endian), then the body. The `result` is then read as `getblock <hash> 0`'s
/// raw block hex (which is never block 0…0, so a block that converts ends in
/// "asked for …, got …").
pub fn rpc_reply(data: &[u8]) -> bool {
    if data.len() < 2 {
        return false;
    }
    let status = u16::from_be_bytes([data[0], data[1]]);
    let Ok(text) = std::str::from_utf8(&data[2..]) else {
        return false;
    };
    let Ok(v) = reply_result(status, text).map_err(keep) else {
        return false;
    };
    match block_from_result(&v, &BlockHash::all_zeros(), 1) {
        Ok(b) => accepted(Ok::<_, String>(b.txs.len())),
        Err(e) => e.starts_with("asked for 0000"),
    }
}
