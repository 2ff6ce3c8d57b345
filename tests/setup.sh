#!/usr/bin/env bash
# Installs what tracer needs on a fresh Debian machine, from the project's own
# files: clang + libclang (RocksDB's bindgen step), Node.js + the npm test
# nodes in tests/package-lock.json (bcoin, anvil; solc for the test
# contracts), a Japanese font for PDF reports (IPAex Gothic) and poppler-utils
# (the PDF render test), and PyPI embit (the independent decoder the decode
# test cross-checks against); with --audit also cargo-audit from crates.io
# (CI's advisory check). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
command -v clang >/dev/null 2>&1 || missing+=(clang)
ls /usr/lib/llvm-*/lib/libclang*.so* >/dev/null 2>&1 || missing+=(libclang-dev)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
command -v python3 >/dev/null 2>&1 || missing+=(python3 python3-pip)
command -v pdftoppm >/dev/null 2>&1 || missing+=(poppler-utils)
[ -f /usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf ] || missing+=(fonts-ipaexfont-gothic)
command -v cargo >/dev/null 2>&1 || { echo "setup: cargo (Rust toolchain) is required" >&2; exit 1; }
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]} with apt-get"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! python3 -c 'import embit' >/dev/null 2>&1; then
  echo "setup: installing embit (PyPI)"
  python3 -m pip install -q embit==0.8.0 2>/dev/null ||
    python3 -m pip install -q --break-system-packages embit==0.8.0
fi

if [ ! -f tests/node_modules/bcoin/bin/node ] ||
   [ ! -x tests/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil ]; then
  echo "setup: installing test nodes (npm ci in tests/)"
  (cd tests && npm ci --no-audit --no-fund --loglevel=error)
fi

if [ "${1:-}" = "--audit" ] && ! cargo audit --version >/dev/null 2>&1; then
  echo "setup: installing cargo-audit 0.22.2 (crates.io; ≈ 7 min on 2 cores)"
  # Built in cargo's own temporary directory, not the project's target directory.
  env -u CARGO_TARGET_DIR cargo install --locked --quiet cargo-audit --version 0.22.2
fi
