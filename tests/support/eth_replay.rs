//! A small Ethereum JSON-RPC replay server on 127.0.0.1: answers
//! `eth_getBlockByNumber` and `eth_getBlockReceipts` from the recorded
//! mainnet responses in `tests/fixtures/ethereum/mainnet/` (single requests
//! and batches, HTTP/1.1 keep-alive), and "method not found" for what the
//! recording lacks (traces, `eth_call`). Faults can be injected to test how
//! the ingest copes with a misbehaving node.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{json, Value};

use super::rpc_server::RpcServer;

/// Rewrites a recorded block result before it is served.
pub type Tamper = fn(&mut Value);

/// What the server does wrong, if anything.
#[derive(Clone, Default)]
pub struct Faults {
    /// Chain id reported (default 1).
    pub chain_id: Option<u64>,
    /// Rewrites the recorded block result of a height before it is served.
    pub tamper_block: Option<(u64, Tamper)>,
    /// Accepts connections but never answers.
    pub silent: bool,
    /// Has no `eth_getBlockReceipts` (answers `eth_getTransactionReceipt`).
    pub no_block_receipts: bool,
    /// Bytes of whitespace after the reply to every batch that fetches a block.
    pub pad_batch_replies: usize,
    /// Rewrites the recorded receipts (the array) of a height before they are served.
    pub tamper_receipts: Option<(u64, Tamper)>,
}

/// The running replay; stops on drop.
pub struct Replay {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    _server: RpcServer,
}

/// The recorded blocks and receipts by height.
struct Recording {
    blocks: BTreeMap<u64, Value>,
    receipts: BTreeMap<u64, Value>,
}

fn load() -> Recording {
    let dir = super::fixture("ethereum/mainnet");
    let read = |name: &str| -> Value {
        let text = std::fs::read_to_string(dir.join(name)).unwrap();
        serde_json::from_str::<Value>(&text).unwrap()["result"].clone()
    };
    let mut blocks = BTreeMap::new();
    let mut receipts = BTreeMap::new();
    for n in [19_433_902u64, 19_433_903] {
        blocks.insert(n, read(&format!("block_{n}_value.json")));
        receipts.insert(n, read(&format!("receipts-{n}.json")));
    }
    Recording { blocks, receipts }
}

impl Replay {
    /// Starts serving the recording with `faults`.
    pub fn start(faults: Faults) -> Replay {
        let rec = load();
        let server = RpcServer::start(Arc::new(move |req: &Value| {
            if faults.silent {
                return None;
            }
            let resp = match req {
                Value::Array(calls) => {
                    Value::Array(calls.iter().map(|c| answer(c, &rec, &faults)).collect())
                }
                call => answer(call, &rec, &faults),
            };
            let mut text = resp.to_string();
            let block_batch = req
                .as_array()
                .is_some_and(|calls| calls.iter().any(|c| c["method"] == "eth_getBlockByNumber"));
            if block_batch {
                // JSON allows whitespace after the value: a larger, valid reply.
                text.push_str(&" ".repeat(faults.pad_batch_replies));
            }
            Some((200, text))
        }));
        Replay {
            url: server.url.clone(),
            _server: server,
        }
    }
}

fn height(params: &Value) -> Option<u64> {
    let s = params.get(0)?.as_str()?;
    u64::from_str_radix(s.trim_start_matches("0x"), 16).ok()
}

fn answer(call: &Value, rec: &Recording, faults: &Faults) -> Value {
    let id = call.get("id").cloned().unwrap_or(Value::Null);
    let method = call.get("method").and_then(Value::as_str).unwrap_or("");
    let params = call.get("params").cloned().unwrap_or(json!([]));
    let result = match method {
        "eth_chainId" => Some(json!(format!("{:#x}", faults.chain_id.unwrap_or(1)))),
        "eth_blockNumber" => Some(json!(format!("{:#x}", rec.blocks.keys().last().unwrap()))),
        "eth_getBlockByNumber" => Some(match height(&params) {
            Some(n) => match rec.blocks.get(&n) {
                Some(b) => {
                    let mut b = b.clone();
                    if let Some((at, f)) = faults.tamper_block {
                        if at == n {
                            f(&mut b);
                        }
                    }
                    b
                }
                None => Value::Null,
            },
            None => Value::Null,
        }),
        "eth_getBlockReceipts" if !faults.no_block_receipts => Some(
            height(&params)
                .and_then(|n| {
                    let mut r = rec.receipts.get(&n).cloned()?;
                    if let Some((at, f)) = faults.tamper_receipts {
                        if at == n {
                            f(&mut r);
                        }
                    }
                    Some(r)
                })
                .unwrap_or(Value::Null),
        ),
        "eth_getTransactionReceipt" => Some(
            rec.receipts
                .values()
                .flat_map(|r| r.as_array().unwrap())
                .find(|r| r["transactionHash"] == params[0])
                .cloned()
                .unwrap_or(Value::Null),
        ),
        _ => None,
    };
    match result {
        Some(r) => json!({"jsonrpc": "2.0", "id": id, "result": r}),
        None => {
            json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32601, "message": format!("the method {method} does not exist/is not available")}})
        }
    }
}
