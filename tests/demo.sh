#!/usr/bin/env bash
# The demo: set up what is missing, build tracer, and run it on the real
# mainnet blocks bundled in tests/fixtures (see tests/fixtures/PROVENANCE.md).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/setup.sh
cargo build --release --locked -p tracer
target_dir="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
tracer="$target_dir/release/tracer"
demo="${TRACER_DEMO_DIR:-$PWD/.demo}"
rm -rf "$demo"
mkdir -p "$demo"
run() { echo; echo "\$ tracer $*"; "$tracer" "$@"; }

echo "== Ingest Bitcoin mainnet blocks 0-4312 from a Bitcoin Core blk file into RocksDB"
run --db "$demo/ledger" ingest bitcoin --blocks-dir tests/fixtures/bitcoin/blk-heights-0-4312.dat --network main
run --db "$demo/ledger" status
echo; echo "== Block 170: the first person-to-person payment (Satoshi -> Hal Finney)"
run --db "$demo/ledger" tx f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16
run --db "$demo/ledger" address 1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3
echo; echo "== Decode a dense January 2019 block without a ledger (first lines)"
"$tracer" decode tests/fixtures/bitcoin/block-2019-01.blk > "$demo/block-2019-01.txt"
head -n 12 "$demo/block-2019-01.txt"
echo "... ($(wc -l < "$demo/block-2019-01.txt") lines in $demo/block-2019-01.txt)"
echo; echo "== A wrong-network file is refused"
"$tracer" --db "$demo/ledger" ingest bitcoin --blocks-dir tests/fixtures/bitcoin/mixed-testnet-mainnet.blk --network main || echo "(refused as expected, exit $?)"
echo; echo "== Attribution: import the GraphSense TagPacks (validated against their schema and taxonomy)"
run --db "$demo/ledger" tags import tests/fixtures/tags/*.yaml
echo; echo "== Clusters: multi-input (co-spend) with a CoinJoin guard; every merge keeps its evidence"
run --db "$demo/ledger" cluster build
run --db "$demo/ledger" cluster show 126jEcDoSWgGm1XAAWNMG8DPMsZARS9AJE --limit 5
run --db "$demo/ledger" cluster explain 126jEcDoSWgGm1XAAWNMG8DPMsZARS9AJE 1MFjSnxx2bKwPSA7ijgqaACCeFuQJanZmj
echo; echo "== Error rates of the heuristics, measured on a simulated economy with ground truth"
run simulate --out "$demo/sim" --preset small --seed 1
run --db "$demo/sim-ledger" ingest bitcoin --blocks-dir "$demo/sim/blocks" --network regtest
run --db "$demo/sim-ledger" tags import "$demo/sim/tags.yaml"
run --db "$demo/sim-ledger" cluster build
run --db "$demo/sim-ledger" evaluate --truth "$demo/sim/truth.jsonl" --traces haircut,poison,fifo,lifo --out "$demo/evaluation"
echo; echo "== Follow the money: a sample case on the real chain (block 170), four taint models compared"
run case check --db "$demo/ledger" tests/fixtures/cases/tokyo-2026-0001.toml
run --db "$demo/ledger" trace tests/fixtures/cases/tokyo-2026-0001.toml --level address --model haircut,poison,fifo,lifo --out "$demo/trace"
run --db "$demo/ledger" trace address 1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3 --backward --level address
echo; echo "== A simulated fraud case traced to the exchange deposit addresses where it cashed out"
case_seed="$(python3 - "$demo/sim/truth.jsonl" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
routes = {r["id"]: r["route"] for r in recs if r["type"] == "group"}
c = next(r for r in recs if r["type"] == "case" and routes[r["group"]] in ("peel", "consolidate"))
print(" ".join("--payment %s:%d" % (p["txid"], p["vout"]) for p in c["payments"]))
PY
)"
# shellcheck disable=SC2086
run case new "$demo/cases/sim-case.toml" --id SIM-2026-0001 --prefecture Osaka --crime investment_fraud --investigator "Demo" $case_seed
run --db "$demo/sim-ledger" trace "$demo/cases/sim-case.toml" --out "$demo/sim-trace" --model haircut,fifo
echo; echo "== Trace reports for the prosecutor (Japanese and English): HTML, JSON, CSV, MANIFEST.sha256"
for lang in ja en; do
  run --db "$demo/sim-ledger" report "$demo/cases/sim-case.toml" --trace "$demo/sim-trace" --lang "$lang" \
    --out "$demo/report-$lang" --evaluation "$demo/evaluation/evaluation.json" \
    --source "tracer simulate --preset small --seed 1 (regtest)"
done
(cd "$demo/report-ja" && sha256sum -c MANIFEST.sha256)
run --db "$demo/ledger" report tests/fixtures/cases/tokyo-2026-0001.toml --trace "$demo/trace" --lang en --out "$demo/report-tokyo"
echo; echo "== Cross-case linkage: every simulated case, linked by shared deposit addresses, clusters and transactions"
python3 - "$demo/sim/truth.jsonl" "$demo/cases" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
for c in (r for r in recs if r["type"] == "case" and r["payments"]):
    seeds = "\n".join('[[seed]]\nchain = "bitcoin"\npayment = "%s:%d"\n' % (p["txid"], p["vout"]) for p in c["payments"])
    with open("%s/sim-%03d.toml" % (sys.argv[2], c["id"]), "w") as f:
        f.write('format = 1\n[case]\nid = "SIM-%03d"\nprefecture = "%s"\ncrime = "other"\nreported = 2026-03-02\ninvestigator = "Demo"\n\n%s' % (c["id"], c["prefecture"], seeds))
PY
run --db "$demo/sim-ledger" link "$demo"/cases/sim-[0-9]*.toml --out "$demo/linkage" --lang ja
echo; echo "Trace files: $demo/trace/trace.json, $demo/sim-trace/trace.json"
echo "Reports: $demo/report-ja/report.html, $demo/report-en/report.html, $demo/report-tokyo/report.html, $demo/linkage/linkage.html"
