//! A Bitcoin Core JSON-RPC replay on 127.0.0.1: answers `getblockchaininfo`,
//! `getblockcount`, `getblockhash` and `getblock HASH 0` from real mainnet
//! blocks (a blk file fixture), so ingest can be tested against a node that
//! misbehaves in ways a real node cannot be made to.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{json, Value};

use super::rpc_server::RpcServer;

/// What the node gets wrong, if anything.
#[derive(Clone, Copy, Default)]
pub struct Faults {
    /// `getblockhash H` answers the hash of block H + 2 (a block that does
    /// not link to block H − 1), while `getblock` stays truthful.
    pub skip_at: Option<u64>,
}

/// The running replay; stops on drop.
pub struct Replay {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    _server: RpcServer,
}

/// Display-order hash (hex) of an 80-byte header.
fn block_hash(header: &[u8]) -> String {
    use bitcoin::hashes::{sha256d, Hash};
    let mut h = sha256d::Hash::hash(header).to_byte_array();
    h.reverse();
    hex::encode(h)
}

/// The first `count` blocks of `blk` (a mainnet blk fixture in height
/// order): each block's hash and its bytes as hex.
pub fn blocks(blk: &str, count: usize) -> Vec<(String, String)> {
    let bytes = std::fs::read(super::fixture(blk)).unwrap();
    let mut blocks: Vec<(String, String)> = Vec::new();
    let mut p = 0;
    while p + 8 <= bytes.len() && blocks.len() < count {
        let size = u32::from_le_bytes(bytes[p + 4..p + 8].try_into().unwrap()) as usize;
        let block = &bytes[p + 8..p + 8 + size];
        blocks.push((block_hash(&block[..80]), hex::encode(block)));
        p += 8 + size;
    }
    blocks
}

impl Replay {
    /// Serves the first `count` blocks of `blk` (see [`blocks`]) with `faults`.
    pub fn start(blk: &str, count: usize, faults: Faults) -> Replay {
        let blocks = blocks(blk, count);
        let by_hash: HashMap<String, usize> = blocks
            .iter()
            .enumerate()
            .map(|(i, (h, _))| (h.clone(), i))
            .collect();
        let server = RpcServer::start(Arc::new(move |req: &Value| {
            let id = req.get("id").cloned().unwrap_or(Value::Null);
            let params = req.get("params").cloned().unwrap_or(json!([]));
            let result = match req.get("method").and_then(Value::as_str).unwrap_or("") {
                "getblockchaininfo" => Some(json!({"chain": "main", "blocks": blocks.len() - 1})),
                "getblockcount" => Some(json!(blocks.len() - 1)),
                "getblockhash" => params[0].as_u64().and_then(|h| {
                    let at = match faults.skip_at {
                        Some(s) if s == h => h + 2,
                        _ => h,
                    };
                    blocks.get(at as usize).map(|b| json!(b.0))
                }),
                "getblock" => params[0]
                    .as_str()
                    .and_then(|h| by_hash.get(h))
                    .map(|&i| json!(blocks[i].1)),
                _ => None,
            };
            let reply = match result {
                Some(r) => json!({"result": r, "error": null, "id": id}),
                None => {
                    json!({"result": null, "error": {"code": -5, "message": "not found"}, "id": id})
                }
            };
            Some((200, reply.to_string()))
        }));
        Replay {
            url: server.url.clone(),
            _server: server,
        }
    }
}
