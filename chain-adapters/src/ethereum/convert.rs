//! An Ethereum block (transactions, receipts, call traces) as the ledger
//! takes it: each transaction is a list of transfers, each with its sender.
//!
//! Per transaction, in this order:
//! 1. the top-level call: sender → recipient (or the created contract) with
//!    the transaction's value (0 if it failed: nothing moved);
//! 2. internal ETH transfers from the call traces (value-carrying CALL,
//!    CREATE/CREATE2 and SELFDESTRUCT frames), leaving out every frame that
//!    reverted or sits under one that did;
//! 3. ERC-20 `Transfer(address,address,uint256)` logs of successful
//!    transactions, one transfer of the emitting contract's token each.
//!
//! The fee (gas used × effective gas price, plus blob gas) is the
//! transaction's one input: value debited from the sender.

use alloy_consensus::Transaction as _;
use alloy_primitives::{b256, Address, B256, U256};
use alloy_rpc_types_eth::{Transaction, TransactionReceipt};
use alloy_rpc_types_trace::common::TraceResult;
use alloy_rpc_types_trace::geth::CallFrame;
use alloy_rpc_types_trace::parity::{Action, CallType, LocalizedTransactionTrace, TraceOutput};

use super::address::account_key;
use super::rpc::{BlockTraces, FetchedBlock};
use crate::ledger::{
    AddressKind, Amount, Chain, NewBlock, NewInput, NewOutput, NewTx, TX_CREATE, TX_FAILED,
};

/// `keccak256("Transfer(address,address,uint256)")`.
pub const TRANSFER_TOPIC: B256 =
    b256!("ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef");

/// What the conversion left out, for the ingest summary.
#[derive(Debug, Default, Clone, Copy)]
pub struct Skipped {
    /// ERC-20 transfers left out: a value over 2^128 − 1 (spam tokens), or a
    /// log with the `Transfer` topic in a shape that is not ERC-20's.
    pub token_transfers: u64,
}

/// The last second of the year 9999 (UTC): a later block timestamp is not
/// a time (reports and views could not show it as a date).
pub const LATEST_TIMESTAMP: u64 = 253_402_300_799;

/// Converts a fetched block; `Err` names what is inconsistent in the node's
/// replies (the caller adds the node and block).
pub fn to_new_block(f: &FetchedBlock, height: u64) -> Result<(NewBlock, Skipped), String> {
    let header = &f.block.header;
    if header.inner.number != height {
        return Err(format!(
            "asked for block {height}, got block {}",
            header.inner.number
        ));
    }
    if header.inner.timestamp > LATEST_TIMESTAMP {
        return Err(format!(
            "timestamp {} is past the year 9999: not a block time",
            header.inner.timestamp
        ));
    }
    let txs = f
        .block
        .transactions
        .as_transactions()
        .ok_or("the block came without its transactions (expected full transaction objects)")?;
    if f.receipts.len() != txs.len() {
        return Err(format!(
            "{} receipts for {} transactions",
            f.receipts.len(),
            txs.len()
        ));
    }
    let internal = internal_transfers(&f.traces, txs)?;
    let mut skipped = Skipped::default();
    let mut contracts = Vec::new();
    let mut out = Vec::with_capacity(txs.len());
    for (i, (tx, receipt)) in txs.iter().zip(&f.receipts).enumerate() {
        let hash = *tx.inner.tx_hash();
        if receipt.transaction_hash != hash {
            return Err(format!(
                "receipt {i} is for transaction {}, not {hash}",
                receipt.transaction_hash
            ));
        }
        let calls = internal.as_ref().map(|v| &v[i]);
        let (new_tx, found) = convert_tx(tx, receipt, calls, &mut skipped)?;
        contracts.extend(found.into_iter().map(|a| (account_key(&a), i as u32)));
        out.push(new_tx);
    }
    let size = header
        .size
        .map(|s| u32::try_from(s).unwrap_or(u32::MAX))
        .unwrap_or(0);
    Ok((
        NewBlock {
            chain: Chain::Ethereum,
            height,
            hash: header.hash.0,
            prev_hash: header.inner.parent_hash.0,
            time: header.inner.timestamp,
            size,
            txs: out,
            tokens: Vec::new(),
            contracts,
        },
        skipped,
    ))
}

/// One internal ETH transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InternalTransfer {
    /// Paying contract.
    pub from: Address,
    /// Recipient.
    pub to: Address,
    /// Wei.
    pub value: U256,
}

/// What one transaction's trace shows: its internal transfers and the
/// addresses it proves to be contracts.
#[derive(Debug, Default, Clone)]
pub struct TxCalls {
    /// Value moved by frames that did not revert.
    pub transfers: Vec<InternalTransfer>,
    /// Addresses that made calls or were created.
    pub contracts: Vec<Address>,
}

fn internal_transfers(
    traces: &BlockTraces,
    txs: &[Transaction],
) -> Result<Option<Vec<TxCalls>>, String> {
    match traces {
        BlockTraces::None => Ok(None),
        BlockTraces::Call(results) => {
            if results.len() != txs.len() {
                return Err(format!(
                    "{} call traces for {} transactions",
                    results.len(),
                    txs.len()
                ));
            }
            results
                .iter()
                .zip(txs)
                .map(|(r, tx)| match r {
                    TraceResult::Success { result, tx_hash } => {
                        check_trace_hash(*tx_hash, tx)?;
                        let mut calls = TxCalls::default();
                        walk_frame(result, 0, false, &mut calls);
                        Ok(calls)
                    }
                    TraceResult::Error { error, .. } => Err(format!(
                        "the node could not trace transaction {}: {error}",
                        tx.inner.tx_hash()
                    )),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some)
        }
        BlockTraces::Parity(traces) => parity_calls(traces, txs).map(Some),
    }
}

fn check_trace_hash(traced: Option<B256>, tx: &Transaction) -> Result<(), String> {
    match traced {
        Some(h) if h != *tx.inner.tx_hash() => Err(format!(
            "call trace for {h} where transaction {} was expected",
            tx.inner.tx_hash()
        )),
        _ => Ok(()),
    }
}

/// Collects value transfers of frames below the top level that did not
/// revert (a frame reverts with its whole subtree).
fn walk_frame(f: &CallFrame, depth: usize, reverted: bool, out: &mut TxCalls) {
    let reverted = reverted || f.error.is_some();
    let kind = f.typ.to_ascii_uppercase();
    if depth > 0 {
        out.contracts.push(f.from);
    }
    if !reverted {
        if matches!(kind.as_str(), "CREATE" | "CREATE2") {
            out.contracts.extend(f.to);
        }
        let moves_value = matches!(
            kind.as_str(),
            "CALL" | "CREATE" | "CREATE2" | "SELFDESTRUCT"
        );
        if let (true, true, Some(to), Some(value)) = (depth > 0, moves_value, f.to, f.value) {
            if !value.is_zero() {
                out.transfers.push(InternalTransfer {
                    from: f.from,
                    to,
                    value,
                });
            }
        }
    }
    for c in &f.calls {
        walk_frame(c, depth + 1, reverted, out);
    }
}

/// The same from Parity-style flat traces (grouped by transaction position;
/// a trace reverts with every trace under its trace address).
fn parity_calls(
    traces: &[LocalizedTransactionTrace],
    txs: &[Transaction],
) -> Result<Vec<TxCalls>, String> {
    let mut per_tx: Vec<Vec<&LocalizedTransactionTrace>> = vec![Vec::new(); txs.len()];
    for t in traces {
        if matches!(t.trace.action, Action::Reward(_)) {
            continue;
        }
        let pos = t
            .transaction_position
            .ok_or("a trace_block entry has no transactionPosition")?;
        let list = per_tx.get_mut(pos as usize).ok_or_else(|| {
            format!(
                "trace for transaction position {pos}, beyond the block's {} transactions",
                txs.len()
            )
        })?;
        list.push(t);
    }
    let mut out = Vec::with_capacity(txs.len());
    for (list, tx) in per_tx.iter().zip(txs) {
        let mut calls = TxCalls::default();
        let failed: Vec<&[usize]> = list
            .iter()
            .filter(|t| t.trace.error.is_some())
            .map(|t| t.trace.trace_address.as_slice())
            .collect();
        for t in list {
            check_trace_hash(t.transaction_hash, tx)?;
            let addr = &t.trace.trace_address;
            let reverted = failed.iter().any(|f| addr.starts_with(f));
            let nested = !addr.is_empty();
            let (from, to, value) = match &t.trace.action {
                Action::Call(c) => {
                    if nested {
                        calls.contracts.push(c.from);
                    }
                    if c.call_type != CallType::Call {
                        continue;
                    }
                    (c.from, Some(c.to), c.value)
                }
                Action::Create(c) => {
                    if nested {
                        calls.contracts.push(c.from);
                    }
                    let created = match &t.trace.result {
                        Some(TraceOutput::Create(o)) => Some(o.address),
                        _ => None,
                    };
                    if !reverted {
                        calls.contracts.extend(created);
                    }
                    (c.from, created, c.value)
                }
                Action::Selfdestruct(s) => (s.address, Some(s.refund_address), s.balance),
                Action::Reward(_) => continue,
            };
            if let (false, true, Some(to)) = (reverted, nested, to) {
                if !value.is_zero() {
                    calls.transfers.push(InternalTransfer { from, to, value });
                }
            }
        }
        out.push(calls);
    }
    Ok(out)
}

fn wei(v: U256, what: &str) -> Result<Amount, String> {
    u128::try_from(v).map_err(|_| format!("{what} {v} exceeds 2^128 wei"))
}

fn convert_tx(
    tx: &Transaction,
    receipt: &TransactionReceipt,
    calls: Option<&TxCalls>,
    skipped: &mut Skipped,
) -> Result<(NewTx, Vec<Address>), String> {
    let hash = *tx.inner.tx_hash();
    let ok = receipt.inner.status();
    let sender = tx.inner.signer();
    let mut contracts: Vec<Address> = Vec::new();
    let mut flags = if ok { 0 } else { TX_FAILED };
    let recipient = match tx.to() {
        Some(to) => Some(to),
        None => {
            flags |= TX_CREATE;
            if ok {
                contracts.extend(receipt.contract_address);
            }
            receipt.contract_address.filter(|_| ok)
        }
    };
    let fee = Amount::from(receipt.gas_used)
        .checked_mul(receipt.effective_gas_price)
        .and_then(|f| {
            let blob = Amount::from(receipt.blob_gas_used.unwrap_or(0))
                .checked_mul(receipt.blob_gas_price.unwrap_or(0))?;
            f.checked_add(blob)
        })
        .ok_or_else(|| format!("transaction {hash}: fee overflows"))?;
    let account = |a: &Address| Some(account_key(a));
    let mut outputs = vec![NewOutput {
        addr: recipient.as_ref().and_then(account),
        kind: AddressKind::Account,
        value: if ok {
            wei(tx.value(), "transaction value")?
        } else {
            0
        },
        token: None,
        from: account(&sender),
    }];
    if ok {
        if let Some(c) = calls {
            contracts.extend(&c.contracts);
            for t in &c.transfers {
                outputs.push(NewOutput {
                    addr: account(&t.to),
                    kind: AddressKind::Account,
                    value: wei(t.value, "internal transfer")?,
                    token: None,
                    from: account(&t.from),
                });
            }
        }
        for log in receipt.inner.logs() {
            contracts.push(log.inner.address);
            let (from, to, value) = match erc20_transfer(log) {
                TransferLog::Erc20 { from, to, value } => (from, to, value),
                TransferLog::Other => continue,
                TransferLog::Malformed => {
                    skipped.token_transfers += 1;
                    continue;
                }
            };
            let Ok(value) = u128::try_from(value) else {
                skipped.token_transfers += 1;
                continue;
            };
            outputs.push(NewOutput {
                addr: account(&to),
                kind: AddressKind::Account,
                value,
                token: account(&log.inner.address),
                from: account(&from),
            });
        }
    }
    contracts.sort_unstable();
    contracts.dedup();
    Ok((
        NewTx {
            hash: hash.0,
            version: i32::from(u8::from(tx.inner.tx_type())),
            locktime: 0,
            size: 0,
            vsize: 0,
            flags,
            inputs: vec![NewInput::Fee {
                payer: account_key(&sender),
                value: fee,
            }],
            outputs,
        },
        contracts,
    ))
}

/// What a log is to the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferLog {
    /// An ERC-20 `Transfer`: the topic, two indexed addresses (zero-padded
    /// words) and a 32-byte value.
    Erc20 {
        /// Sender.
        from: Address,
        /// Recipient.
        to: Address,
        /// Amount in the token's smallest unit.
        value: U256,
    },
    /// Another event, or an ERC-721 transfer (the token id indexed as a
    /// fourth topic, no data): not an ERC-20 transfer.
    Other,
    /// The `Transfer` topic in another shape (topics or data of the wrong
    /// size, an address word with non-zero padding): left out and counted.
    Malformed,
}

/// Reads `log` as an ERC-20 `Transfer`.
pub fn erc20_transfer(log: &alloy_rpc_types_eth::Log) -> TransferLog {
    let topics = log.inner.data.topics();
    let data = &log.inner.data.data;
    if topics.first() != Some(&TRANSFER_TOPIC) || (topics.len() == 4 && data.is_empty()) {
        return TransferLog::Other;
    }
    if topics.len() != 3 || data.len() != 32 {
        return TransferLog::Malformed;
    }
    let addr = |t: &B256| {
        t.0[..12]
            .iter()
            .all(|&b| b == 0)
            .then(|| Address::from_slice(&t.0[12..]))
    };
    match (addr(&topics[1]), addr(&topics[2])) {
        (Some(from), Some(to)) => TransferLog::Erc20 {
            from,
            to,
            value: U256::from_be_slice(data),
        },
        _ => TransferLog::Malformed,
    }
}

#[cfg(test)]
mod tests {
    use alloy_primitives::{Bytes, LogData};

    use super::*;

    fn log(topics: Vec<B256>, data: &[u8]) -> alloy_rpc_types_eth::Log {
        alloy_rpc_types_eth::Log {
            inner: alloy_primitives::Log {
                address: Address::repeat_byte(0xdd),
                data: LogData::new_unchecked(topics, Bytes::copy_from_slice(data)),
            },
            ..Default::default()
        }
    }

    fn word(a: Address) -> B256 {
        a.into_word()
    }

    #[test]
    fn transfer_logs_are_erc20_other_or_malformed() {
        let (a, b) = (Address::repeat_byte(1), Address::repeat_byte(2));
        let value = [0u8; 31].iter().chain(&[7u8]).copied().collect::<Vec<_>>();
        assert_eq!(
            erc20_transfer(&log(vec![TRANSFER_TOPIC, word(a), word(b)], &value)),
            TransferLog::Erc20 {
                from: a,
                to: b,
                value: U256::from(7)
            }
        );
        // ERC-721: the token id as a fourth topic, no data.
        let nft = log(
            vec![TRANSFER_TOPIC, word(a), word(b), B256::repeat_byte(9)],
            &[],
        );
        assert_eq!(erc20_transfer(&nft), TransferLog::Other);
        // Another event.
        let other = log(vec![B256::repeat_byte(3), word(a), word(b)], &value);
        assert_eq!(erc20_transfer(&other), TransferLog::Other);
        // The Transfer topic in shapes ERC-20 does not have: counted, not dropped.
        for bad in [
            log(vec![TRANSFER_TOPIC, word(a), word(b)], &value[1..]),
            log(vec![TRANSFER_TOPIC, word(a)], &value),
            log(
                vec![TRANSFER_TOPIC],
                &[value.clone(), value.clone(), value.clone()].concat(),
            ),
            log(
                vec![TRANSFER_TOPIC, B256::repeat_byte(0xff), word(b)],
                &value,
            ),
        ] {
            assert_eq!(erc20_transfer(&bad), TransferLog::Malformed, "{bad:?}");
        }
    }
}
