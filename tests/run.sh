#!/usr/bin/env bash
# The test command: set up what is missing, then run every test (unit and
# end-to-end) in the release profile, the same profile as the demo, so
# RocksDB is compiled once; then a short fuzzing run of each fuzz target. Ends
# with one line totalling all test binaries.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/setup.sh
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
cargo test --release --workspace --locked "$@" 2>&1 | tee "$log"
# The parsers of untrusted input under AFL++ for a short while each (README,
# "Fuzzing"); only for the whole suite, not for a filtered run.
if [ $# -eq 0 ]; then
  bash fuzz/run.sh --seconds "${FUZZ_SECONDS:-15}"
fi
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
