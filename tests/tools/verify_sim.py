#!/usr/bin/env python3
"""Independent check of a simulated chain (tracer simulate), with PyPI `embit`
and hashlib, not tracer's code:

- blk framing with the regtest magic; every header's proof of work against its
  bits; prev-hash links from the regtest genesis in file order;
- txids (embit) and each block's merkle root; the BIP141 witness commitment;
- values: every input spends an existing unspent output (no double spend),
  coinbases only after 100 blocks, no transaction creates money, and each
  coinbase claims at most subsidy (regtest halving every 150 blocks) + fees;
- the truth file: every address on chain (but genesis's) has an owner; every tx is described
  once, at its height.

Usage: python3 tests/tools/verify_sim.py BLOCKS_DIR TRUTH.jsonl > report.json
Prints one JSON object of counts and a list of problems (empty when all hold).
"""
import hashlib
import io
import json
import os
import struct
import sys

from embit.networks import NETWORKS
from embit.transaction import Transaction

from embit_decode import address as explorer_address

REGTEST_MAGIC = bytes.fromhex("fabfb5da")
REGTEST_GENESIS = "0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206"
NET = NETWORKS["regtest"]


def sha256d(b):
    return hashlib.sha256(hashlib.sha256(b).digest()).digest()


def merkle(leaves):
    level = list(leaves)
    while len(level) > 1:
        if len(level) % 2:
            level.append(level[-1])
        level = [sha256d(level[i] + level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


def varint(s):
    first = s.read(1)[0]
    if first < 0xFD:
        return first
    size = {0xFD: 2, 0xFE: 4, 0xFF: 8}[first]
    return int.from_bytes(s.read(size), "little")


def blocks(blocks_dir):
    for name in sorted(os.listdir(blocks_dir)):
        if not (name.startswith("blk") and name.endswith(".dat")):
            continue
        data = open(os.path.join(blocks_dir, name), "rb").read()
        pos = 0
        while pos + 8 <= len(data):
            magic = data[pos:pos + 4]
            if magic == b"\0\0\0\0":
                break
            size = struct.unpack("<I", data[pos + 4:pos + 8])[0]
            yield name, pos, magic, data[pos + 8:pos + 8 + size]
            pos += 8 + size


def main(blocks_dir, truth_path):
    owners, truth_txs, problems = {}, {}, []
    for line in open(truth_path):
        r = json.loads(line)
        if r["type"] == "address":
            owners[r["address"]] = r["entity"]
        elif r["type"] == "tx":
            if r["txid"] in truth_txs:
                problems.append("truth describes tx %s twice" % r["txid"])
            truth_txs[r["txid"]] = r["height"]

    utxo = {}  # (txid, vout) -> (value, height, coinbase)
    counts = dict(blocks=0, txs=0, inputs=0, outputs=0, pow_ok=0, merkle_ok=0,
                  witness_commitments=0, segwit_txs=0, fees=0, coinbase_claimed=0)
    on_chain, genesis = set(), set()
    prev, height = None, -1
    for name, pos, magic, raw in blocks(blocks_dir):
        where = "%s@%d" % (name, pos)
        if magic != REGTEST_MAGIC:
            problems.append("%s: magic %s is not regtest" % (where, magic.hex()))
            continue
        header = raw[:80]
        block_hash = sha256d(header)[::-1].hex()
        prev_hash = header[4:36][::-1].hex()
        bits = struct.unpack("<I", header[72:76])[0]
        target = (bits & 0xFFFFFF) * (1 << (8 * ((bits >> 24) - 3)))
        if int.from_bytes(sha256d(header), "little") <= target:
            counts["pow_ok"] += 1
        else:
            problems.append("%s: proof of work fails" % where)
        if prev is None:
            if block_hash != REGTEST_GENESIS:
                problems.append("%s: first block is not the regtest genesis" % where)
        elif prev_hash != prev:
            problems.append("%s: prev hash does not link to the block before" % where)
        prev, height = block_hash, height + 1
        s = io.BytesIO(raw[80:])
        txs = [Transaction.read_from(s) for _ in range(varint(s))]
        if s.read(1):
            problems.append("%s: bytes after the last transaction" % where)
        txids = [tx.txid() for tx in txs]
        if merkle([t[::-1] for t in txids]) == header[36:68]:
            counts["merkle_ok"] += 1
        else:
            problems.append("%s: merkle root does not match the txids" % where)
        if any(tx.is_segwit for tx in txs):
            wtxids = [b"\0" * 32] + [sha256d(tx.serialize()) for tx in txs[1:]]
            commitment = sha256d(merkle(wtxids) + b"\0" * 32)
            found = [o.script_pubkey.data for o in txs[0].vout
                     if o.script_pubkey.data[:6] == bytes.fromhex("6a24aa21a9ed")]
            if found and found[-1][6:38] == commitment:
                counts["witness_commitments"] += 1
            else:
                problems.append("%s: witness commitment missing or wrong" % where)
        fees = 0
        for i, tx in enumerate(txs):
            txid = txids[i].hex()
            counts["txs"] += 1
            counts["segwit_txs"] += tx.is_segwit
            if height > 0:
                if truth_txs.get(txid) != height:
                    problems.append("tx %s at height %d: truth says %s" % (txid, height, truth_txs.get(txid)))
            value_in = 0
            if i > 0:
                for inp in tx.vin:
                    key = (inp.txid.hex(), inp.vout)
                    counts["inputs"] += 1
                    if key not in utxo:
                        problems.append("tx %s spends missing or spent output %s:%d" % ((txid,) + key))
                        continue
                    value, h, coinbase = utxo.pop(key)
                    if coinbase and h + 100 > height:
                        problems.append("tx %s spends an immature coinbase" % txid)
                    value_in += value
            value_out = sum(o.value for o in tx.vout)
            if i > 0:
                if value_out > value_in:
                    problems.append("tx %s creates %d sat" % (txid, value_out - value_in))
                fees += value_in - value_out
            for n, o in enumerate(tx.vout):
                counts["outputs"] += 1
                utxo[(txid, n)] = (o.value, height, i == 0)
                a = explorer_address(o.script_pubkey.data, NET)
                if a is not None and not a.startswith(("multisig:", "nonstandard:")):
                    (on_chain if height > 0 else genesis).add(a)
        if height > 0:
            subsidy = (50 * 10**8) >> (height // 150) if height // 150 < 64 else 0
            claimed = sum(o.value for o in txs[0].vout)
            counts["coinbase_claimed"] += claimed
            counts["fees"] += fees
            if claimed > subsidy + fees:
                problems.append("coinbase at height %d claims %d > subsidy %d + fees %d" % (height, claimed, subsidy, fees))
        counts["blocks"] += 1
    missing = sorted(a for a in on_chain if a not in owners)
    problems += ["address %s on chain has no owner in the truth file" % a for a in missing[:20]]
    described = set(truth_txs)
    counts.update(tip=prev, tip_height=height, addresses_on_chain=len(on_chain | genesis),
                  truth_addresses=len(owners), truth_txs=len(truth_txs),
                  unspent=len(utxo), unspent_value=sum(v for v, _, _ in utxo.values()),
                  addresses_without_owner=len(missing), problems=problems[:50],
                  problem_count=len(problems))
    counts["truth_txs_not_on_chain"] = len(described) - (counts["txs"] - 1)
    json.dump(counts, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
