//! Ethereum: the results of a node's JSON-RPC replies, typed as the
//! adapter types them and converted for the ledger.

use alloy_rpc_types_eth::{Block, TransactionReceipt};
use chain_adapters::ethereum::convert::to_new_block;
use chain_adapters::ethereum::rpc::{
    explain_bad_transaction, token_info, BlockLink, BlockTraces, FetchedBlock,
};
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use crate::{accepted, keep};

/// The `result`s of one block's replies (accepted: the block converts, or
/// the three results are a token's metadata). Input: a JSON array
/// `[traces, block, receipts, trace_results]` where `traces` is `"call"`
/// (`debug_traceBlockByNumber` with the callTracer), `"parity"`
/// (`trace_block`) or `"none"`; each result is typed as the adapter types
/// it, and the block converted for the ledger at its own height, as
/// `tracer ingest --eth-rpc` does. The results also go through the
/// reorg check's reading (`eth_getBlockByNumber(n, false)`) and the token
/// metadata calls.
pub fn replies(data: &[u8]) -> bool {
    let Ok(parts) = serde_json::from_slice::<Vec<&RawValue>>(data) else {
        return false;
    };
    for p in &parts {
        keep(typed::<Option<BlockLink>>(p.get()));
    }
    let raw = |i: usize| parts.get(i).map(|p| p.get());
    let token = token_info([raw(1), raw(2), raw(3)]);
    let token_ok = token.symbol.is_some() && token.name.is_some() && token.decimals.is_some();
    keep(token);
    let (Some(kind), Some(block), Some(receipts)) = (raw(0), raw(1), raw(2)) else {
        return false;
    };
    let block: Block = match typed::<Option<Block>>(block) {
        Ok(Some(b)) => b,
        Ok(None) => return false,
        Err(e) => {
            keep((e, explain_bad_transaction(block)));
            return token_ok;
        }
    };
    let Ok(Some(receipts)) = typed::<Option<Vec<TransactionReceipt>>>(receipts).map_err(keep)
    else {
        return false;
    };
    let traces = match (kind, raw(3)) {
        (r#""call""#, Some(t)) => match typed(t) {
            Ok(t) => BlockTraces::Call(t),
            Err(e) => return accepted(Err::<(), _>(e)),
        },
        (r#""parity""#, Some(t)) => match typed(t) {
            Ok(t) => BlockTraces::Parity(t),
            Err(e) => return accepted(Err::<(), _>(e)),
        },
        _ => BlockTraces::None,
    };
    let height = block.header.inner.number;
    let fetched = FetchedBlock {
        block,
        receipts,
        traces,
    };
    accepted(to_new_block(&fetched, height))
}

/// A result typed as `T`, as the adapter reads it (`serde_json::from_str`).
fn typed<T: DeserializeOwned>(raw: &str) -> Result<T, String> {
    serde_json::from_str(raw).map_err(|e| e.to_string())
}
