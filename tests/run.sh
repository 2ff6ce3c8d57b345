#!/usr/bin/env bash
# The test command: set up what is missing, then run every test (unit and
# end-to-end) in the release profile, the same profile as the demo, so
# RocksDB is compiled once.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/setup.sh
cargo test --release --workspace --locked "$@"
