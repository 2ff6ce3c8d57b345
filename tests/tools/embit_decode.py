#!/usr/bin/env python3
"""Independent decoder for the decode cross-check: reads a blk file with
PyPI `embit` (not tracer's code) and prints, per block, every txid, the
outputs each input spends (txid, vout; none for a coinbase) and every
output's value and address as JSON.

Usage: python3 tests/tools/embit_decode.py FILE.blk > out.json

Addresses follow explorer conventions, computed here independently:
P2PK -> the P2PKH address of the key; bare multisig -> "multisig:MofN:<sha256(script)>";
other scripts without an address -> "nonstandard:<sha256(script)>"; OP_RETURN -> null.
"""
import hashlib
import io
import json
import struct
import sys

from embit import base58, hashes
from embit.networks import NETWORKS
from embit.script import Script
from embit.transaction import Transaction

MAGICS = {bytes.fromhex("f9beb4d9"): "main", bytes.fromhex("0b110907"): "test"}


def small_int(op):
    return op - 0x50 if 0x51 <= op <= 0x60 else None


def multisig_shape(b):
    """(m, n) of m <pubkeys> n OP_CHECKMULTISIG, parsed by hand."""
    if len(b) < 3 or b[-1] != 0xAE:
        return None
    m, n = small_int(b[0]), small_int(b[-2])
    if m is None or n is None:
        return None
    i, keys = 1, 0
    while i < len(b) - 2:
        ln = b[i]
        if ln not in (33, 65):
            return None
        i += 1 + ln
        keys += 1
    if i != len(b) - 2 or keys != n or m > n:
        return None
    return m, n


def address(script_bytes, net):
    b = script_bytes
    if len(b) > 0 and b[0] == 0x6A:
        return None
    if (len(b) == 67 and b[0] == 65 and b[66] == 0xAC) or (len(b) == 35 and b[0] == 33 and b[34] == 0xAC):
        return base58.encode_check(net["p2pkh"] + hashes.hash160(b[1:-1]))
    try:
        return Script(b).address(net)
    except Exception:
        pass
    digest = hashlib.sha256(b).hexdigest()
    ms = multisig_shape(b)
    if ms:
        return "multisig:%dof%d:%s" % (ms[0], ms[1], digest)
    return "nonstandard:" + digest


def main(path):
    data = open(path, "rb").read()
    pos, blocks = 0, []
    while pos + 8 <= len(data):
        magic = data[pos:pos + 4]
        if magic == b"\0\0\0\0":
            break
        size = struct.unpack("<I", data[pos + 4:pos + 8])[0]
        raw = data[pos + 8:pos + 8 + size]
        net = NETWORKS[MAGICS[magic]]
        header = raw[:80]
        s = io.BytesIO(raw[80:])
        first = s.read(1)[0]
        count = first if first < 0xFD else struct.unpack({0xFD: "<H", 0xFE: "<I", 0xFF: "<Q"}[first], s.read({0xFD: 2, 0xFE: 4, 0xFF: 8}[first]))[0]
        txs = []
        for _ in range(count):
            tx = Transaction.read_from(s)
            coinbase = len(tx.vin) == 1 and tx.vin[0].txid == bytes(32)
            txs.append({
                "txid": tx.txid().hex(),
                "inputs": [] if coinbase else [{"txid": i.txid.hex(), "vout": i.vout} for i in tx.vin],
                "outputs": [{"value": o.value, "address": address(o.script_pubkey.data, net)} for o in tx.vout],
            })
        blocks.append({"hash": hashlib.sha256(hashlib.sha256(header).digest()).digest()[::-1].hex(), "txs": txs})
        pos += 8 + size
    json.dump(blocks, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1])
