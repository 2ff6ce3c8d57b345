#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora (fuzz/corpus/<target>/) from the
project's real fixtures in tests/fixtures: a few small pieces of each (AFL++
works best from seeds of a few KiB). Standard library only; the output is
committed, run again after a fixture changes.

Two kinds of seed are cut from real data rather than copied: blk files hold
the first blocks of blk-heights-0-4312.dat (and an XOR-obfuscated copy, as
Core 28 writes them), and the Ethereum replies hold a few of the recorded
transactions of blocks 19433902/19433903 with their receipts. The call-trace
results are written in the nodes' formats (callTracer, trace_block) for those
transactions: no recorded traces are among the fixtures.

With `--tracer PATH` (a release build of the CLI) it also writes the trace
file and bundle seeds, made the way tests/e2e_report.rs makes them: a trace
of the Tokyo case over blocks 0-4312 (no endpoints) and one of a simulated
fraud case to its exchange deposits (`tracer simulate --preset small --seed
7`), each exported as a bundle. Without it those two corpora are kept.
"""

import json
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "tests" / "fixtures"
OUT = ROOT / "fuzz" / "corpus"


def varint(b, i):
    n = b[i]
    if n < 0xFD:
        return n, i + 1
    size = {0xFD: 2, 0xFE: 4, 0xFF: 8}[n]
    return int.from_bytes(b[i + 1 : i + 1 + size], "little"), i + 1 + size


def tx_end(b, i):
    """Offset just past the transaction starting at b[i] (BIP 144 aware)."""
    i += 4
    segwit = b[i] == 0 and b[i + 1] == 1
    if segwit:
        i += 2
    n_in, i = varint(b, i)
    for _ in range(n_in):
        i += 36
        n, i = varint(b, i)
        i += n + 4
    n_out, i = varint(b, i)
    for _ in range(n_out):
        i += 8
        n, i = varint(b, i)
        i += n
    if segwit:
        for _ in range(n_in):
            items, i = varint(b, i)
            for _ in range(items):
                n, i = varint(b, i)
                i += n
    return i + 4


def records(path):
    """(magic, block bytes) of each record of a blk file."""
    data = path.read_bytes()
    i, out = 0, []
    while i + 8 <= len(data):
        magic, size = data[i : i + 4], struct.unpack("<I", data[i + 4 : i + 8])[0]
        out.append((magic, data[i + 8 : i + 8 + size]))
        i += 8 + size
    return out


def frame(magic, block):
    return magic + struct.pack("<I", len(block)) + block


def txs_of(block):
    n, i = varint(block, 80)
    out = []
    for _ in range(n):
        end = tx_end(block, i)
        out.append(block[i:end])
        i = end
    return out


def write(target, name, data):
    d = OUT / target
    d.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    (d / name).write_bytes(data)


def bitcoin():
    early = records(FIX / "bitcoin" / "blk-heights-0-4312.dat")
    blocks = [b for _, b in early]
    magic = early[0][0]
    three = b"".join(frame(magic, b) for b in blocks[:3])
    write("blk_file", "blocks-0-2", b"\0" + three)
    # Core's zero-filled pre-allocation between and after records.
    write("blk_file", "zero-gaps", b"\0" + frame(magic, blocks[0]) + bytes(24) + frame(magic, blocks[1]) + bytes(40))
    # Blocks 1-2 without genesis: the genesis block is supplied.
    write("blk_file", "no-genesis", b"\0" + frame(magic, blocks[1]) + frame(magic, blocks[2]))
    key = bytes.fromhex("5a17c3e0910b2f6d")
    two = frame(magic, blocks[0]) + frame(magic, blocks[1])
    write("blk_file", "xor-obfuscated", b"\1" + key + bytes(c ^ key[i % 8] for i, c in enumerate(two)))
    mixed = records(FIX / "bitcoin" / "mixed-testnet-mainnet.blk")
    small = min(mixed, key=lambda r: len(r[1]))
    write("blk_file", "testnet-record", b"\0" + frame(*small))

    # Block 170: the first payment between people (two transactions).
    write("bitcoin_block", "block-170", blocks[170])
    write("bitcoin_block", "block-1", blocks[1])
    write("bitcoin_block", "tx-170-payment", txs_of(blocks[170])[1])
    segwit = records(FIX / "bitcoin" / "segwit-2-blocks.blk")[0][1]
    txs = txs_of(segwit)
    witness = [t for t in txs if t[4:6] == b"\0\1"]
    picks = sorted(witness, key=len)[:2]
    for n, t in enumerate(picks):
        write("bitcoin_block", f"tx-segwit-{n}", t)
    # A one-transaction segwit block: the real header with the coinbase.
    write("bitcoin_block", "segwit-coinbase-only", segwit[:80] + b"\1" + txs[0])

    def reply(status, body):
        return struct.pack(">H", status) + json.dumps(body).encode()

    write("bitcoin_rpc", "getblock-1", reply(200, {"result": blocks[1].hex(), "error": None, "id": 1}))
    write("bitcoin_rpc", "getblock-170", reply(200, {"result": blocks[170].hex(), "error": None, "id": 2}))
    write(
        "bitcoin_rpc",
        "not-found",
        reply(500, {"result": None, "error": {"code": -5, "message": "Block not found"}, "id": 3}),
    )
    write("bitcoin_rpc", "unauthorized", struct.pack(">H", 401))
    write("bitcoin_rpc", "height", reply(200, {"result": 4312, "error": None, "id": 4}))


def ethereum():
    mainnet = FIX / "ethereum" / "mainnet"
    for number, tx_types in ((19433902, ["0x0", "0x1", "0x2"]), (19433903, ["0x3", "0x2"])):
        block = json.loads((mainnet / f"block_{number}_value.json").read_text())["result"]
        receipts = json.loads((mainnet / f"receipts-{number}.json").read_text())["result"]
        by_hash = {r["transactionHash"]: r for r in receipts}
        chosen = []
        for ty in tx_types:
            # The smallest of its type whose receipt has at most two logs,
            # preferring one with a log (ERC-20 Transfer events).
            cands = [t for t in block["transactions"] if t["type"] == ty and len(by_hash[t["hash"]]["logs"]) <= 2]
            if not cands:
                continue
            cands.sort(key=lambda t: (len(by_hash[t["hash"]]["logs"]) == 0, len(json.dumps(t))))
            chosen.append(cands[0])
        # Transaction indices as they now stand in the smaller block.
        txs, recs = [], []
        for i, t in enumerate(chosen):
            t = dict(t, transactionIndex=hex(i))
            r = dict(by_hash[t["hash"]], transactionIndex=hex(i))
            r["logs"] = [dict(log, transactionIndex=hex(i)) for log in r["logs"]]
            txs.append(t)
            recs.append(r)
        small = dict(block, transactions=txs, withdrawals=block["withdrawals"][:1])
        write("ethereum_rpc", f"block-{number}-no-traces", json.dumps(["none", small, recs]))
        calls, flat = [], []
        for i, t in enumerate(txs):
            to = t.get("to") or "0x" + "11" * 20
            inner = {"from": to, "to": t["from"], "gas": "0x0", "gasUsed": "0x0", "input": "0x", "value": "0x2a", "type": "CALL"}
            reverted = dict(inner, error="execution reverted", value="0x7")
            calls.append(
                {
                    "txHash": t["hash"],
                    "result": {
                        "from": t["from"], "to": to, "gas": t["gas"], "gasUsed": "0x5208",
                        "input": "0x", "value": t["value"], "type": "CALL", "calls": [inner, reverted],
                    },
                }
            )
            common = {"blockHash": block["hash"], "blockNumber": number, "transactionHash": t["hash"], "transactionPosition": i}
            flat.append(dict(common, action={"callType": "call", "from": t["from"], "to": to, "gas": t["gas"], "input": "0x", "value": t["value"]},
                             result={"gasUsed": "0x5208", "output": "0x"}, subtraces=1, traceAddress=[], type="call"))
            flat.append(dict(common, action={"callType": "call", "from": to, "to": t["from"], "gas": "0x0", "input": "0x", "value": "0x2a"},
                             result={"gasUsed": "0x0", "output": "0x"}, subtraces=0, traceAddress=[0], type="call"))
        write("ethereum_rpc", f"block-{number}-call-traces", json.dumps(["call", small, recs, calls]))
        write("ethereum_rpc", f"block-{number}-parity-traces", json.dumps(["parity", small, recs, flat]))
    # Token metadata calls: symbol() as an ABI string, name() as bytes32 (MKR style), decimals().
    sym = "0x" + (32).to_bytes(32, "big").hex() + (4).to_bytes(32, "big").hex() + b"USDT".hex().ljust(64, "0")
    name = "0x" + b"Maker".hex().ljust(64, "0")
    dec = "0x" + (6).to_bytes(32, "big").hex()
    write("ethereum_rpc", "token-calls", json.dumps(["none", sym, name, dec]))


def traces(tracer):
    """Trace files and bundles from real runs of the CLI."""
    def run(*args):
        subprocess.run([tracer, *map(str, args)], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    for d in ("trace_json", "bundle"):
        shutil.rmtree(OUT / d, ignore_errors=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        # Blocks 0-4312 and the Tokyo case (a payment and an address seed).
        run("--db", tmp / "db", "ingest", "bitcoin", "--blocks-dir", FIX / "bitcoin" / "blk-heights-0-4312.dat", "--network", "main")
        case = FIX / "cases" / "tokyo-2026-0001.toml"
        run("--db", tmp / "db", "trace", case, "--out", tmp / "t1", "--level", "address", "--model", "haircut,poison")
        run("export", case, "--trace", tmp / "t1", "--out", tmp / "b1")
        # A simulated fraud case traced to its exchange deposit addresses.
        sim, db = tmp / "sim", tmp / "simdb"
        run("simulate", "--out", sim, "--seed", 7, "--preset", "small")
        run("--db", db, "ingest", "bitcoin", "--blocks-dir", sim / "blocks", "--network", "regtest")
        run("--db", db, "tags", "import", sim / "tags.yaml")
        run("--db", db, "cluster", "build")
        records = [json.loads(line) for line in (sim / "truth.jsonl").read_text().splitlines()]
        fraud = next(r for r in records if r["type"] == "case" and r["endpoints"])
        seeds = "\n".join(f'[[seed]]\nchain = "bitcoin"\npayment = "{p["txid"]}:{p["vout"]}"\n' for p in fraud["payments"])
        (tmp / "case.toml").write_text(
            'format = 1\n[case]\nid = "KANAGAWA-2026-0007"\ntitle = "ロマンス詐欺"\nprefecture = "神奈川県"\n'
            'crime = "romance_fraud"\nreported = 2026-03-02\ninvestigator = "Test"\n\n' + seeds)
        run("--db", db, "trace", tmp / "case.toml", "--out", tmp / "t2", "--model", "haircut,fifo")
        run("export", tmp / "case.toml", "--trace", tmp / "t2", "--out", tmp / "b2")
        for n, (t, b) in enumerate([("t1", "b1"), ("t2", "b2")]):
            for f in sorted((tmp / t).glob("trace*.json")):
                # Compact JSON: the same document in fewer bytes.
                compact = json.dumps(json.loads(f.read_text()), ensure_ascii=False, separators=(",", ":"))
                write("trace_json", f"{n}-{f.name}", compact)
            files = sorted((tmp / b).iterdir())
            # As exported (the manifest included), and without the manifest
            # (the target adds the right one), the traces compact.
            write("bundle", f"{n}-exported", b"\n".join(b"=== " + f.name.encode() + b"\n" + f.read_bytes() for f in files))
            parts = []
            for f in files:
                if f.name == "MANIFEST.sha256":
                    continue
                body = f.read_bytes()
                if f.name.startswith("trace"):
                    body = json.dumps(json.loads(body), separators=(",", ":")).encode()
                parts.append(b"=== " + f.name.encode() + b"\n" + body)
            write("bundle", f"{n}-unsigned", b"\n".join(parts))


def small_files(src, target, pattern, limit=4096):
    """Copies the files of `src` matching `pattern` of at most `limit` bytes."""
    for p in sorted(src.glob(pattern)):
        if p.stat().st_size <= limit:
            write(target, p.name, p.read_bytes())


def main():
    if OUT.exists():
        for d in OUT.iterdir():
            if d.name not in ("trace_json", "bundle"):
                shutil.rmtree(d)
    if sys.argv[1:2] == ["--tracer"]:
        traces(sys.argv[2])
    bitcoin()
    ethereum()
    tags = FIX / "tags"
    small_files(tags, "tagpack", "*.yaml", 2048)
    small_files(tags / "bad", "tagpack", "*.yaml")
    small_files(tags, "tags_csv", "*.csv")
    small_files(tags / "bad", "tags_csv", "*.csv")
    small_files(FIX / "cases", "case", "*.toml")
    for d in sorted(OUT.iterdir()):
        files = list(d.iterdir())
        print(f"{d.name}: {len(files)} seeds, {sum(f.stat().st_size for f in files)} bytes")


if __name__ == "__main__":
    main()
