#!/usr/bin/env python3
"""Independent expected facts for the recorded Ethereum mainnet fixtures
(blocks 19433902 and 19433903), computed with the Python 3 standard library
only, not tracer's code.

Inputs (tests/fixtures/ethereum/mainnet/, copied unchanged from ethereum/trin
test_assets, MIT; see tests/fixtures/PROVENANCE.md):
  block_<n>_value.json  JSON-RPC envelope {"id","jsonrpc","result"}, result =
                        eth_getBlockByNumber(n, true) (full transactions)
  receipts-<n>.json     JSON-RPC envelope, result = array of the block's
                        receipts in transaction order (eth_getBlockReceipts)

Definitions used:
- succeeded / failed: receipt status 0x1 / anything else.
- contract creation: transaction `to` is null (the receipt's contractAddress is
  reported beside it).
- eth_value: successful transactions with value > 0; total in wei.
- fees_wei: sum over all transactions (failed ones pay too) of receipt
  gasUsed * effectiveGasPrice. Blob fees (receipt blobGasUsed * blobGasPrice,
  type 0x3 only) are reported separately in blob_fees_wei and are NOT in
  fees_wei; fees_including_blob_wei is the sum of both. burnt_wei is
  baseFeePerGas * block gasUsed, priority_fees_wei = fees_wei - burnt_wei.
- ERC-20 transfer: a log with topics[0] = Transfer(address,address,uint256),
  exactly 3 topics and exactly 32 bytes of data, in a successful transaction.
  Logs with the same topic0 and 4 topics (ERC-721) are counted apart in
  erc721_transfer_logs and excluded. Token values are raw base units (no
  decimals applied: USDT and USDC have 6, WETH 18).
- distinct_addresses: distinct lowercase addresses appearing as a transaction's
  from or to (all transactions, failed included) or as an ERC-20 transfer's
  from or to (topics[1], topics[2]); the zero address counts when it appears
  (mints and burns); distinct_addresses_excluding_zero leaves it out. Token
  contract addresses count only if they appear in one of those roles.
- samples are the first ones in block order (transaction index, then log index).

Checks (printed to stderr, recorded under "checks"; exit status 1 if any fail):
receipt count = transaction count; receipt i's transactionHash = transaction
i's hash; receipts' blockHash/blockNumber = the block's; failed transactions
have no logs; ERC-20 topic addresses have 12 zero bytes of padding.

Usage: python3 tests/tools/eth_expected.py [--data DIR] [--out FILE] [--check]
  --check: do not write; exit 1 if FILE differs from what would be written.
"""
import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.normpath(os.path.join(HERE, "..", "fixtures", "ethereum"))
BLOCKS = (19433902, 19433903)

TRANSFER_TOPIC = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
TOKENS = {
    "USDT": "0xdac17f958d2ee523a2206206994597c13d831ec7",
    "USDC": "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48",
    "WETH": "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2",
}
ZERO_ADDRESS = "0x" + "00" * 20
for _addr in TOKENS.values():  # guard against a mistyped contract address
    assert len(_addr) == 42 and _addr == _addr.lower(), _addr
SAMPLES = 3


def q(hexstr):
    """A JSON-RPC QUANTITY (0x-prefixed hex) as int."""
    if not isinstance(hexstr, str) or not hexstr.startswith("0x"):
        raise ValueError("not a 0x quantity: %r" % (hexstr,))
    return int(hexstr, 16)


def load_result(path):
    with open(path, "r", encoding="utf-8") as f:
        doc = json.load(f)
    if not (isinstance(doc, dict) and doc.get("jsonrpc") == "2.0" and "result" in doc):
        raise ValueError("%s: not a JSON-RPC response envelope" % path)
    return doc["result"]


def topic_address(topic, problems, where):
    t = topic.lower()
    if len(t) != 66 or not t.startswith("0x"):
        problems.append("%s: topic is not 32 bytes: %s" % (where, topic))
    if t[2:26] != "0" * 24:
        problems.append("%s: topic address has non-zero padding: %s" % (where, topic))
    return "0x" + t[-40:]


def block_facts(block, receipts, problems):
    number = q(block["number"])
    txs = block["transactions"]
    where = "block %d" % number

    # --- receipt/transaction alignment -------------------------------------
    if len(receipts) != len(txs):
        problems.append("%s: %d receipts for %d transactions" % (where, len(receipts), len(txs)))
    for i, (tx, rc) in enumerate(zip(txs, receipts)):
        if not isinstance(tx, dict):
            problems.append("%s: transaction %d is not a full object" % (where, i))
            continue
        if rc["transactionHash"] != tx["hash"]:
            problems.append("%s: position %d: receipt tx %s != block tx %s"
                            % (where, i, rc["transactionHash"], tx["hash"]))
        if q(rc["transactionIndex"]) != i or q(tx["transactionIndex"]) != i:
            problems.append("%s: position %d: transactionIndex mismatch" % (where, i))
        if rc.get("blockHash") != block["hash"] or rc.get("blockNumber") != block["number"]:
            problems.append("%s: receipt %d: blockHash/blockNumber differ from the block" % (where, i))
        if rc["status"] != "0x1" and rc["logs"]:
            problems.append("%s: failed tx %s has %d logs" % (where, tx["hash"], len(rc["logs"])))

    pairs = list(zip(txs, receipts))

    # --- transactions --------------------------------------------------------
    tx_types = {}
    failed_hashes = []
    creations = []
    eth_count = 0
    eth_total = 0
    eth_samples = []
    fees = 0
    blob_fees = 0
    blob_gas_used = 0
    blob_txs = 0
    blob_receipts_with_fields = 0
    addresses = set()

    for tx, rc in pairs:
        ttype = tx.get("type", "0x0")
        tx_types[ttype] = tx_types.get(ttype, 0) + 1
        ok = rc["status"] == "0x1"
        if not ok:
            failed_hashes.append(tx["hash"])
        addresses.add(tx["from"].lower())
        if tx["to"] is not None:
            addresses.add(tx["to"].lower())
        else:
            creations.append({"hash": tx["hash"],
                              "contractAddress": rc.get("contractAddress"),
                              "status": rc["status"]})
        fee = q(rc["gasUsed"]) * q(rc["effectiveGasPrice"])
        fees += fee
        if ttype == "0x3":
            blob_txs += 1
        if "blobGasUsed" in rc or "blobGasPrice" in rc:
            if "blobGasUsed" in rc and "blobGasPrice" in rc:
                blob_receipts_with_fields += 1
                blob_gas_used += q(rc["blobGasUsed"])
                blob_fees += q(rc["blobGasUsed"]) * q(rc["blobGasPrice"])
            else:
                problems.append("%s: tx %s has only one of blobGasUsed/blobGasPrice" % (where, tx["hash"]))
        value = q(tx["value"])
        if ok and value > 0:
            eth_count += 1
            eth_total += value
            if len(eth_samples) < SAMPLES:
                eth_samples.append({
                    "hash": tx["hash"],
                    "tx_index": q(tx["transactionIndex"]),
                    "from": tx["from"].lower(),
                    "to": tx["to"].lower() if tx["to"] is not None else None,
                    "value_wei": str(value),
                    "fee_wei": str(fee),
                })

    # --- ERC-20 transfers ----------------------------------------------------
    erc20_count = 0
    erc721_count = 0
    odd_transfer_logs = 0
    token_contracts = set()
    per_token = {sym: {"contract": addr, "count": 0, "total_value": 0} for sym, addr in TOKENS.items()}
    samples = {sym: [] for sym in TOKENS}
    by_addr = {addr: sym for sym, addr in TOKENS.items()}

    for tx, rc in pairs:
        ok = rc["status"] == "0x1"
        for log in rc["logs"]:
            topics = log.get("topics") or []
            if not topics or topics[0].lower() != TRANSFER_TOPIC:
                continue
            data = log["data"]
            nbytes = (len(data) - 2) // 2
            if len(topics) == 4:
                erc721_count += 1
                continue
            if len(topics) != 3 or nbytes != 32:
                odd_transfer_logs += 1
                continue
            if not ok:
                continue
            lwhere = "%s log %s" % (where, log["logIndex"])
            frm = topic_address(topics[1], problems, lwhere)
            to = topic_address(topics[2], problems, lwhere)
            value = int(data, 16)
            contract = log["address"].lower()
            erc20_count += 1
            token_contracts.add(contract)
            addresses.add(frm)
            addresses.add(to)
            sym = by_addr.get(contract)
            if sym is not None:
                per_token[sym]["count"] += 1
                per_token[sym]["total_value"] += value
                if len(samples[sym]) < SAMPLES:
                    samples[sym].append({
                        "tx_hash": rc["transactionHash"],
                        "tx_index": q(rc["transactionIndex"]),
                        "log_index": q(log["logIndex"]),
                        "from": frm,
                        "to": to,
                        "value": str(value),
                    })
    for sym in per_token:
        per_token[sym]["total_value"] = str(per_token[sym]["total_value"])

    base_fee = q(block["baseFeePerGas"])
    gas_used = q(block["gasUsed"])
    burnt = base_fee * gas_used
    withdrawals = block.get("withdrawals") or []

    return {
        "number": number,
        "hash": block["hash"],
        "parentHash": block["parentHash"],
        "timestamp": q(block["timestamp"]),
        "miner": block["miner"].lower(),
        "baseFeePerGas": str(base_fee),
        "gasUsed": gas_used,
        "tx_count": len(txs),
        "receipt_count": len(receipts),
        "succeeded": sum(1 for rc in receipts if rc["status"] == "0x1"),
        "failed": sum(1 for rc in receipts if rc["status"] != "0x1"),
        "failed_tx_hashes": failed_hashes,
        "contract_creations": creations,
        "contract_creation_count": len(creations),
        "tx_types": tx_types,
        "eth_value": {
            "count": eth_count,
            "total_wei": str(eth_total),
            "samples": eth_samples,
        },
        "fees_wei": str(fees),
        "burnt_wei": str(burnt),
        "priority_fees_wei": str(fees - burnt),
        "blob": {
            "type3_tx_count": blob_txs,
            "receipts_with_blobGasUsed_and_blobGasPrice": blob_receipts_with_fields,
            "blob_gas_used": blob_gas_used,
            "block_header_blobGasUsed": q(block["blobGasUsed"]) if "blobGasUsed" in block else None,
        },
        "blob_fees_wei": str(blob_fees),
        "fees_including_blob_wei": str(fees + blob_fees),
        "erc20": {
            "transfer_count": erc20_count,
            "distinct_token_contracts": len(token_contracts),
            "tokens": per_token,
            "samples": samples,
        },
        "erc721_transfer_logs": erc721_count,
        "other_transfer_topic_logs": odd_transfer_logs,
        "log_count": sum(len(rc["logs"]) for rc in receipts),
        "distinct_addresses": len(addresses),
        "distinct_addresses_excluding_zero": len(addresses - {ZERO_ADDRESS}),
        "withdrawals": {
            "count": len(withdrawals),
            "total_gwei": str(sum(q(w["amount"]) for w in withdrawals)),
        },
    }, addresses


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=os.path.join(FIXTURES, "mainnet"))
    ap.add_argument("--out", default=os.path.join(FIXTURES, "expected-19433902-19433903.json"))
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()

    problems = []
    blocks = []
    all_addresses = set()
    prev_hash = None
    for n in BLOCKS:
        block = load_result(os.path.join(args.data, "block_%d_value.json" % n))
        receipts = load_result(os.path.join(args.data, "receipts-%d.json" % n))
        if q(block["number"]) != n:
            problems.append("block_%d_value.json holds block %d" % (n, q(block["number"])))
        if prev_hash is not None and block["parentHash"] != prev_hash:
            problems.append("block %d: parentHash does not link to the previous block" % n)
        prev_hash = block["hash"]
        facts, addrs = block_facts(block, receipts, problems)
        blocks.append(facts)
        all_addresses |= addrs

    out = {
        "source": "tests/fixtures/ethereum/mainnet (ethereum/trin test_assets, MIT); "
                  "computed by tests/tools/eth_expected.py",
        "tokens": TOKENS,
        "blocks": blocks,
        "both_blocks": {
            "tx_count": sum(b["tx_count"] for b in blocks),
            "erc20_transfer_count": sum(b["erc20"]["transfer_count"] for b in blocks),
            "distinct_addresses": len(all_addresses),
            "distinct_addresses_excluding_zero": len(all_addresses - {ZERO_ADDRESS}),
        },
        "checks": {"ok": not problems, "problems": problems},
    }
    text = json.dumps(out, sort_keys=True, indent=2) + "\n"

    for p in problems:
        print("MISMATCH: " + p, file=sys.stderr)
    if args.check:
        with open(args.out, "r", encoding="utf-8") as f:
            same = f.read() == text
        print("%s: %s" % (args.out, "up to date" if same else "DIFFERS"), file=sys.stderr)
        return 0 if same and not problems else 1
    with open(args.out, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    print("wrote %s" % args.out, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
