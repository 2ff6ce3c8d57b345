//! Ethereum JSON-RPC over HTTP with alloy: batched, concurrent requests,
//! retries with backoff, an optional rate limit and a per-request timeout.
//!
//! One block is fetched as one JSON-RPC batch: `eth_getBlockByNumber(n, true)`,
//! `eth_getBlockReceipts(n)` (falling back to `eth_getTransactionReceipt` per
//! transaction on nodes without it) and the block's call traces
//! (`debug_traceBlockByNumber` with the `callTracer`, or Parity-style
//! `trace_block`). Several blocks are in flight at once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use alloy_json_rpc::RpcError;
use alloy_primitives::{Address, Bytes, B256, U64};
use alloy_rpc_client::{ClientBuilder, RpcClient};
use alloy_rpc_types_eth::{Block, TransactionReceipt};
use alloy_rpc_types_trace::common::TraceResult;
use alloy_rpc_types_trace::geth::CallFrame;
use alloy_rpc_types_trace::parity::LocalizedTransactionTrace;
use alloy_transport::layers::ThrottleLayer;
use alloy_transport::utils::guess_local_url;
use alloy_transport::{TransportError, TransportErrorKind};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};

use super::transport::{BoundedHttp, DEFAULT_MAX_REPLY_BYTES};
use crate::bitcoin::rpc::{preview, split_credentials};
use crate::error::{Error, Result};
use crate::ledger::TokenInfo;

/// Where internal (contract-to-account) ETH transfers come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraceSource {
    /// `trace_block` if the node has it, else `debug_traceBlockByNumber`.
    Auto,
    /// `debug_traceBlockByNumber` with `{"tracer": "callTracer"}` (geth, reth, anvil, erigon).
    CallTracer,
    /// `trace_block` (Parity style: erigon, reth, nethermind, anvil).
    Parity,
    /// No traces: internal transfers are not recorded.
    None,
}

/// How to talk to the node.
#[derive(Debug, Clone)]
pub struct EthOptions {
    /// Source of internal transfers.
    pub traces: TraceSource,
    /// Blocks fetched at once.
    pub concurrency: usize,
    /// Requests per second at most (`None`: unlimited).
    pub requests_per_second: Option<u32>,
    /// Retries of a failed request (rate limit, 5xx, timeout, refused connection).
    pub retries: u32,
    /// Time a request may take before it counts as failed.
    pub timeout: Duration,
    /// Largest reply read (a larger one is an error, not read on).
    pub max_reply_bytes: usize,
}

impl Default for EthOptions {
    fn default() -> Self {
        EthOptions {
            traces: TraceSource::Auto,
            concurrency: 8,
            requests_per_second: None,
            retries: 3,
            timeout: Duration::from_secs(30),
            max_reply_bytes: DEFAULT_MAX_REPLY_BYTES,
        }
    }
}

/// Traces of one block, one entry per transaction, as the node gave them.
#[derive(Debug, Clone)]
pub enum BlockTraces {
    /// `callTracer` frames.
    Call(Vec<TraceResult<CallFrame, String>>),
    /// Parity-style flat traces.
    Parity(Vec<LocalizedTransactionTrace>),
    /// Not fetched.
    None,
}

/// One block with everything the ledger needs from it.
#[derive(Debug, Clone)]
pub struct FetchedBlock {
    /// The block with full transactions.
    pub block: Block,
    /// The receipts, in transaction order.
    pub receipts: Vec<TransactionReceipt>,
    /// Call traces.
    pub traces: BlockTraces,
}

/// The hash and parent of a block (a reorg check needs no more).
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockLink {
    /// Block hash.
    pub hash: B256,
    /// Parent hash.
    pub parent_hash: B256,
}

/// JSON-RPC error code of "method not found".
const METHOD_NOT_FOUND: i64 = -32601;

/// One call of a batch: method and parameters.
type Call = (&'static str, Value);

/// A call's answer: the raw result, or the node's error for that call.
type Answer = std::result::Result<Box<RawValue>, TransportError>;

/// Whether a failed request may succeed if sent again: timeouts, refused
/// connections, HTTP 429 and 5xx.
fn is_transient(e: &TransportError) -> bool {
    match e {
        RpcError::Transport(TransportErrorKind::Custom(inner)) => inner
            .downcast_ref::<reqwest::Error>()
            .is_some_and(|r| r.is_timeout() || r.is_connect()),
        RpcError::Transport(TransportErrorKind::HttpError(h)) => {
            h.status == 429 || (500..600).contains(&h.status)
        }
        RpcError::Transport(k) => k.is_retry_err(),
        _ => false,
    }
}

/// What a request ended with when it could not be answered.
struct Failed {
    error: TransportError,
    attempts: u32,
}

/// Shared by every request of a client.
struct Conn {
    client: RpcClient,
    url: String,
    opts: EthOptions,
}

impl Conn {
    /// Sends `calls` as one JSON-RPC batch, again (after 0.2 s, 0.4 s, …)
    /// while the transport fails in a way that may pass; each call's own
    /// error answer is returned with it, not retried.
    async fn batch(&self, calls: &[Call]) -> std::result::Result<Vec<Answer>, Failed> {
        let mut attempts = 0;
        loop {
            attempts += 1;
            let mut b = self.client.new_batch();
            let mut waiters = Vec::with_capacity(calls.len());
            for (method, params) in calls {
                let w = b
                    .add_call::<_, Box<RawValue>>(*method, params)
                    .map_err(|error| Failed { error, attempts })?;
                waiters.push(w);
            }
            match b.send().await {
                Ok(()) => {
                    let mut out = Vec::with_capacity(waiters.len());
                    for w in waiters {
                        out.push(w.await);
                    }
                    return Ok(out);
                }
                Err(e) if is_transient(&e) && attempts <= self.opts.retries => {
                    tokio::time::sleep(Duration::from_millis(200 << (attempts - 1).min(6))).await;
                }
                Err(error) => return Err(Failed { error, attempts }),
            }
        }
    }

    /// One call, retried like a batch.
    async fn call<T: DeserializeOwned>(
        &self,
        method: &'static str,
        params: Value,
        what: &str,
    ) -> Result<T> {
        let answers = self
            .batch(&[(method, params)])
            .await
            .map_err(|f| self.failed(what, &f))?;
        let answer = answers.into_iter().next().ok_or_else(|| Error::Rpc {
            url: self.url.clone(),
            method: what.into(),
            reason: "no answer in the batch reply".into(),
        })?;
        self.decode(what, answer)
    }

    /// The typed result of `answer`, or a clear error naming `what`.
    fn decode<T: DeserializeOwned>(&self, what: &str, answer: Answer) -> Result<T> {
        let raw = answer.map_err(|e| self.error(what, &e, 1))?;
        serde_json::from_str(raw.get()).map_err(|e| Error::Rpc {
            url: self.url.clone(),
            method: what.into(),
            reason: format!("malformed reply: {e} (reply began: {})", preview(raw.get())),
        })
    }

    fn failed(&self, what: &str, f: &Failed) -> Error {
        self.error(what, &f.error, f.attempts)
    }

    /// A readable error for a failed call: what the node said, or why
    /// there was no usable answer.
    fn error(&self, what: &str, e: &TransportError, attempts: u32) -> Error {
        let reason = match e {
            RpcError::ErrorResp(p) => format!("node answered error {}: {}", p.code, p.message),
            RpcError::NullResp => "node answered null".into(),
            RpcError::DeserError { err, text } => {
                format!("malformed reply: {err} (reply began: {})", preview(text))
            }
            e if is_transient(e) => format!(
                "no usable answer within {} s after {attempts} attempt(s): {e}",
                self.opts.timeout.as_secs_f64(),
            ),
            e => e.to_string(),
        };
        Error::Rpc {
            url: self.url.clone(),
            method: what.into(),
            reason,
        }
    }
}

fn is_method_missing(answer: &Answer) -> bool {
    match answer {
        Err(RpcError::ErrorResp(p)) => {
            p.code == METHOD_NOT_FOUND
                || p.message.contains("not found")
                || p.message.contains("not supported")
                || p.message.contains("does not exist")
        }
        _ => false,
    }
}

/// A connection to an Ethereum node.
pub struct EthClient {
    rt: tokio::runtime::Runtime,
    conn: Arc<Conn>,
    traces: std::sync::Mutex<TraceSource>,
    block_receipts: Arc<AtomicBool>,
}

fn quantity(n: u64) -> Value {
    json!(format!("{n:#x}"))
}

impl EthClient {
    /// Connects (lazily: nothing is sent until the first call).
    pub fn new(url: &str, opts: EthOptions) -> Result<EthClient> {
        let (shown, _) = split_credentials(url);
        let usage = |reason: String| Error::Rpc {
            url: shown.clone(),
            method: "connect".into(),
            reason,
        };
        let parsed: reqwest::Url = url.parse().map_err(|e| usage(format!("bad URL: {e}")))?;
        if parsed.scheme() != "http" {
            return Err(usage(
                "only http:// URLs are supported (TLS is left out of this build)".into(),
            ));
        }
        let http = reqwest::Client::builder()
            .timeout(opts.timeout)
            .build()
            .map_err(|e| usage(e.to_string()))?;
        let is_local = guess_local_url(parsed.as_str());
        let transport = BoundedHttp::new(http, parsed, opts.max_reply_bytes.max(1));
        let builder = ClientBuilder::default();
        let client = match opts.requests_per_second {
            Some(rps) => builder
                .layer(ThrottleLayer::new(rps.max(1)))
                .transport(transport, is_local),
            None => builder.transport(transport, is_local),
        };
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| usage(e.to_string()))?;
        Ok(EthClient {
            rt,
            traces: std::sync::Mutex::new(opts.traces),
            conn: Arc::new(Conn {
                client,
                url: shown,
                opts,
            }),
            block_receipts: Arc::new(AtomicBool::new(true)),
        })
    }

    /// Blocks fetched at once.
    pub fn concurrency(&self) -> usize {
        self.conn.opts.concurrency.max(1)
    }

    /// The node's URL (without credentials).
    pub fn url(&self) -> &str {
        &self.conn.url
    }

    /// `eth_chainId`.
    pub fn chain_id(&self) -> Result<u64> {
        let id: U64 = self
            .rt
            .block_on(self.conn.call("eth_chainId", json!([]), "eth_chainId"))?;
        Ok(id.to())
    }

    /// `eth_blockNumber`: the node's head.
    pub fn head(&self) -> Result<u64> {
        let n: U64 = self.rt.block_on(self.conn.call(
            "eth_blockNumber",
            json!([]),
            "eth_blockNumber",
        ))?;
        Ok(n.to())
    }

    /// Hash and parent of block `n` on the node's chain (`None` above its head).
    pub fn block_link(&self, n: u64) -> Result<Option<BlockLink>> {
        self.rt.block_on(self.conn.call(
            "eth_getBlockByNumber",
            json!([quantity(n), false]),
            &format!("eth_getBlockByNumber({n})"),
        ))
    }

    /// Fetches blocks `heights` (at most `concurrency` in flight), in order;
    /// stops after the first block that fails.
    pub fn fetch_blocks(&self, heights: std::ops::Range<u64>) -> Result<Vec<Result<FetchedBlock>>> {
        if heights.is_empty() {
            return Ok(Vec::new());
        }
        let traces = self.resolve_traces(heights.start)?;
        let all: Vec<u64> = heights.collect();
        self.rt.block_on(async {
            let mut out = Vec::with_capacity(all.len());
            for window in all.chunks(self.concurrency()) {
                let mut set = tokio::task::JoinSet::new();
                for (i, &n) in window.iter().enumerate() {
                    let conn = Arc::clone(&self.conn);
                    let receipts = Arc::clone(&self.block_receipts);
                    set.spawn(async move { (i, fetch_block(&conn, &receipts, traces, n).await) });
                }
                let mut got: Vec<Option<Result<FetchedBlock>>> =
                    (0..window.len()).map(|_| None).collect();
                while let Some(joined) = set.join_next().await {
                    let (i, r) = joined.map_err(|e| Error::Rpc {
                        url: self.conn.url.clone(),
                        method: "fetch".into(),
                        reason: e.to_string(),
                    })?;
                    got[i] = Some(r);
                }
                for r in got.into_iter().flatten() {
                    let failed = r.is_err();
                    out.push(r);
                    if failed {
                        return Ok(out);
                    }
                }
            }
            Ok(out)
        })
    }

    /// Decides, on the first block asked for, which trace method to use.
    fn resolve_traces(&self, probe: u64) -> Result<TraceSource> {
        let mut t = self.traces.lock().unwrap_or_else(|p| p.into_inner());
        if *t != TraceSource::Auto {
            return Ok(*t);
        }
        let conn = &self.conn;
        let what = format!("debug_traceBlockByNumber({probe}) / trace_block({probe})");
        let answers = self
            .rt
            .block_on(conn.batch(&[
                (
                    "debug_traceBlockByNumber",
                    json!([quantity(probe), call_tracer()]),
                ),
                ("trace_block", json!([quantity(probe)])),
            ]))
            .map_err(|f| conn.failed(&what, &f))?;
        // Both give the same transfers; trace_block is the cheaper one where
        // a node offers both (anvil: 8× faster).
        *t = match (&answers[0], &answers[1]) {
            (_, Ok(_)) => TraceSource::Parity,
            (Ok(_), _) => TraceSource::CallTracer,
            (geth, parity) if is_method_missing(geth) && is_method_missing(parity) => {
                return Err(Error::Rpc {
                    url: conn.url.clone(),
                    method: what,
                    reason: "the node offers no call traces, so internal transfers cannot be read; ingest without them with --traces none".into(),
                })
            }
            (Err(e), _) => return Err(conn.error(&what, e, 1)),
        };
        Ok(*t)
    }

    /// `symbol()`, `name()` and `decimals()` of each token contract at block
    /// `n`, in one batch; a contract that does not answer (or answers
    /// something undecodable) gets `None` for that field.
    pub fn token_infos(&self, contracts: &[Address], n: u64) -> Result<Vec<TokenInfo>> {
        if contracts.is_empty() {
            return Ok(Vec::new());
        }
        const SYMBOL: [u8; 4] = [0x95, 0xd8, 0x9b, 0x41];
        const NAME: [u8; 4] = [0x06, 0xfd, 0xde, 0x03];
        const DECIMALS: [u8; 4] = [0x31, 0x3c, 0xe5, 0x67];
        let calls: Vec<Call> = contracts
            .iter()
            .flat_map(|c| {
                [SYMBOL, NAME, DECIMALS].map(|sel| {
                    let call = json!({"to": c, "data": Bytes::from(sel.to_vec())});
                    ("eth_call", json!([call, quantity(n)]))
                })
            })
            .collect();
        let conn = &self.conn;
        let answers = self
            .rt
            .block_on(conn.batch(&calls))
            .map_err(|f| conn.failed(&format!("eth_call (token metadata, block {n})"), &f))?;
        // A contract that reverts (or a node without state) leaves the field empty.
        let raws: Vec<Option<Box<RawValue>>> = answers.into_iter().map(Result::ok).collect();
        Ok(raws
            .chunks(3)
            .map(|a| {
                let raw = |i: usize| a.get(i).and_then(|r| r.as_deref()).map(RawValue::get);
                token_info([raw(0), raw(1), raw(2)])
            })
            .collect())
    }
}

/// A token's metadata from the raw results of its `eth_call`s to
/// `symbol()`, `name()` and `decimals()` (`None`: the call failed); a
/// result that is not hex bytes or does not decode leaves its field empty.
pub fn token_info(results: [Option<&str>; 3]) -> TokenInfo {
    let bytes = |i: usize| -> Option<Bytes> { serde_json::from_str(results[i]?).ok() };
    TokenInfo {
        symbol: bytes(0).and_then(|b| abi_text(&b)),
        name: bytes(1).and_then(|b| abi_text(&b)),
        decimals: bytes(2).and_then(|b| abi_u8(&b)),
    }
}

fn call_tracer() -> Value {
    json!({"tracer": "callTracer"})
}

/// Fetches one block, its receipts and traces in one batch.
async fn fetch_block(
    conn: &Conn,
    block_receipts: &AtomicBool,
    traces: TraceSource,
    n: u64,
) -> Result<FetchedBlock> {
    let q = quantity(n);
    let mut calls: Vec<Call> = vec![("eth_getBlockByNumber", json!([q, true]))];
    let want_block_receipts = block_receipts.load(Ordering::Relaxed);
    if want_block_receipts {
        calls.push(("eth_getBlockReceipts", json!([q])));
    }
    match traces {
        TraceSource::CallTracer => {
            calls.push(("debug_traceBlockByNumber", json!([q, call_tracer()])))
        }
        TraceSource::Parity => calls.push(("trace_block", json!([q]))),
        TraceSource::Auto | TraceSource::None => {}
    }
    let what = |m: &str| format!("{m}({n})");
    let mut answers = conn
        .batch(&calls)
        .await
        .map_err(|f| conn.failed(&what("eth_getBlockByNumber"), &f))?
        .into_iter();
    let mut next = || {
        answers.next().ok_or_else(|| Error::Rpc {
            url: conn.url.clone(),
            method: what("batch"),
            reason: "fewer answers than calls".into(),
        })
    };
    let answer = next()?;
    let raw_block = answer.as_ref().ok().map(|r| r.get().to_string());
    let block: Option<Block> = conn
        .decode(&what("eth_getBlockByNumber"), answer)
        .map_err(
            |e| match raw_block.as_deref().and_then(explain_bad_transaction) {
                Some(reason) => Error::Rpc {
                    url: conn.url.clone(),
                    method: what("eth_getBlockByNumber"),
                    reason,
                },
                None => e,
            },
        )?;
    let block = block.ok_or_else(|| Error::Rpc {
        url: conn.url.clone(),
        method: what("eth_getBlockByNumber"),
        reason: "the node has no such block".into(),
    })?;
    let mut receipts = None;
    if want_block_receipts {
        let answer = next()?;
        if is_method_missing(&answer) {
            block_receipts.store(false, Ordering::Relaxed);
        } else {
            let raw = answer.as_ref().ok().map(|r| r.get().to_string());
            let r: Option<Vec<TransactionReceipt>> = conn
                .decode(&what("eth_getBlockReceipts"), answer)
                .map_err(|e| match raw.as_deref().and_then(explain_bad_receipt) {
                    Some(reason) => Error::Rpc {
                        url: conn.url.clone(),
                        method: what("eth_getBlockReceipts"),
                        reason,
                    },
                    None => e,
                })?;
            receipts = Some(r.ok_or_else(|| Error::Rpc {
                url: conn.url.clone(),
                method: what("eth_getBlockReceipts"),
                reason: "the node has no receipts for this block".into(),
            })?);
        }
    }
    let receipts = match receipts {
        Some(r) => r,
        None => receipts_one_by_one(conn, n, &block).await?,
    };
    let traces = match traces {
        TraceSource::CallTracer => {
            BlockTraces::Call(conn.decode(&what("debug_traceBlockByNumber"), next()?)?)
        }
        TraceSource::Parity => BlockTraces::Parity(conn.decode(&what("trace_block"), next()?)?),
        TraceSource::Auto | TraceSource::None => BlockTraces::None,
    };
    Ok(FetchedBlock {
        block,
        receipts,
        traces,
    })
}

/// Which transaction of a block reply does not decode, and why (serde
/// only says that no variant of the transaction list matched).
pub fn explain_bad_transaction(raw: &str) -> Option<String> {
    let v: Value = serde_json::from_str(raw).ok()?;
    explain_bad::<alloy_rpc_types_eth::Transaction>(v.get("transactions")?, "transaction", "hash")
}

/// Which receipt of an `eth_getBlockReceipts` reply does not decode (a bad
/// status, a missing field), naming its transaction.
pub fn explain_bad_receipt(raw: &str) -> Option<String> {
    let v: Value = serde_json::from_str(raw).ok()?;
    explain_bad::<TransactionReceipt>(&v, "receipt", "transactionHash")
}

/// The first item of the array `items` that does not decode as `T`: its
/// index, its transaction hash (`hash_key`) and serde's reason.
fn explain_bad<T: DeserializeOwned>(items: &Value, what: &str, hash_key: &str) -> Option<String> {
    for (i, item) in items.as_array()?.iter().enumerate() {
        if let Err(e) = serde_json::from_value::<T>(item.clone()) {
            let hash = item
                .get(hash_key)
                .and_then(Value::as_str)
                .map_or(String::new(), |h| format!(" (transaction {})", preview(h)));
            return Some(format!("malformed reply: {what} {i}{hash}: {e}"));
        }
    }
    None
}

/// Receipts by `eth_getTransactionReceipt`, one batch for the block.
async fn receipts_one_by_one(
    conn: &Conn,
    n: u64,
    block: &Block,
) -> Result<Vec<TransactionReceipt>> {
    let calls: Vec<Call> = block
        .transactions
        .hashes()
        .map(|h| ("eth_getTransactionReceipt", json!([h])))
        .collect();
    if calls.is_empty() {
        return Ok(Vec::new());
    }
    let what = format!("eth_getTransactionReceipt(block {n})");
    let answers = conn
        .batch(&calls)
        .await
        .map_err(|f| conn.failed(&what, &f))?;
    let mut out = Vec::with_capacity(answers.len());
    for (answer, (_, params)) in answers.into_iter().zip(&calls) {
        let r: Option<TransactionReceipt> = conn.decode(&what, answer)?;
        out.push(r.ok_or_else(|| Error::Rpc {
            url: conn.url.clone(),
            method: format!("eth_getTransactionReceipt({})", params[0]),
            reason: format!("no receipt for a transaction of block {n}"),
        })?);
    }
    Ok(out)
}

/// An ABI-encoded `string` (or a `bytes32` padded with zeros, as old tokens
/// such as MKR return) as text.
fn abi_text(b: &[u8]) -> Option<String> {
    use alloy_sol_types::SolValue;
    if let Ok(s) = String::abi_decode(b) {
        return Some(s).filter(|s| !s.is_empty());
    }
    if b.len() == 32 {
        let end = b.iter().position(|&c| c == 0).unwrap_or(32);
        return std::str::from_utf8(&b[..end])
            .ok()
            .filter(|s| !s.is_empty())
            .map(str::to_string);
    }
    None
}

/// An ABI-encoded integer that fits a `u8` (token decimals).
fn abi_u8(b: &[u8]) -> Option<u8> {
    (b.len() == 32 && b[..31].iter().all(|&c| c == 0)).then(|| b[31])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_metadata_decodes_strings_and_bytes32() {
        use alloy_sol_types::SolValue;
        let enc = "Tether USD".to_string().abi_encode();
        assert_eq!(abi_text(&enc).as_deref(), Some("Tether USD"));
        let mut mkr = [0u8; 32];
        mkr[..3].copy_from_slice(b"MKR");
        assert_eq!(abi_text(&mkr).as_deref(), Some("MKR"));
        assert_eq!(abi_text(&[1, 2, 3]), None);
        let mut six = [0u8; 32];
        six[31] = 6;
        assert_eq!(abi_u8(&six), Some(6));
        six[0] = 1;
        assert_eq!(abi_u8(&six), None);
    }
}
