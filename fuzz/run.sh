#!/usr/bin/env bash
# Builds the AFL++ harness (fuzz/src/bin/afl.rs) with afl.rs' `cargo afl` on
# the stable toolchain and fuzzes each target for a while, starting from the
# seed corpora in fuzz/corpus. Fails if any target crashed (a panic, an
# overflow: the fuzz build checks overflows and debug assertions) and prints
# each crash's panic.
#
#   bash fuzz/run.sh [--seconds N] [--out DIR] [TARGET…]
#
# --seconds: time per target (default 15, the test command's short run);
# --out: keep AFL++'s findings (queue, crashes, fuzzer_stats) in DIR and
# resume from them on the next run (default: a temporary directory).
#
# RocksDB is not compiled again: the harness links the librocksdb.a that the
# release build of the workspace made (so run `cargo build --release` or the
# test command first). Installs cargo-afl (which builds AFL++ from the source
# it ships) into cargo's bin directory if it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"

AFL_RS_VERSION=0.18.2
seconds=15
out=""
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) targets+=("$1"); shift ;;
  esac
done

started=$(date +%s)
main_target="${CARGO_TARGET_DIR:-$root/target}"
fuzz_target="$main_target/afl"

# 1. cargo-afl and its AFL++.
case "$(cargo afl --version 2>/dev/null)" in
  "cargo-afl $AFL_RS_VERSION "*) ;;
  *)
    echo "fuzz: installing cargo-afl $AFL_RS_VERSION (builds AFL++)"
    cargo install --locked --quiet --force cargo-afl --version "$AFL_RS_VERSION"
    ;;
esac
# (cargo-afl's install builds AFL++ for the toolchain of the day; a newer
# toolchain needs its own build, which `config --build` makes once.)
if ! config=$(cargo afl config --build 2>&1) && ! grep -q "already built" <<<"$config"; then
  echo "$config" >&2
  exit 1
fi

# 2. The RocksDB the release build compiled: the out directory of the
#    librocksdb-sys version Cargo.lock names (its build script records it).
version=$(sed -n '/^name = "librocksdb-sys"$/{n;s/^version = "\(.*\)"$/\1/p}' Cargo.lock)
rocksdb_dir=""
for output in "$main_target"/release/build/librocksdb-sys-*/output; do
  if [ -f "$output" ] && grep -q "librocksdb-sys-$version\$" "$output" &&
     [ -f "$(dirname "$output")/out/librocksdb.a" ]; then
    rocksdb_dir="$(dirname "$output")/out"
  fi
done
if [ -z "$rocksdb_dir" ]; then
  echo "fuzz: no librocksdb.a of librocksdb-sys $version under $main_target/release;" \
       "build the workspace first (cargo build --release)" >&2
  exit 1
fi

# 3. The harness, instrumented, in its own target directory.
built=$(date +%s)
ROCKSDB_LIB_DIR="$rocksdb_dir" ROCKSDB_STATIC=1 CARGO_TARGET_DIR="$fuzz_target" \
  cargo afl build --release --locked --quiet -p tracer-fuzz --features afl --bin afl
harness="$fuzz_target/release/afl"
echo "fuzz: harness built in $(( $(date +%s) - built )) s"

# 4. Each target for $seconds.
if [ ${#targets[@]} -eq 0 ]; then
  targets=(blk_file bitcoin_block bitcoin_rpc ethereum_rpc tagpack tags_csv case trace_json bundle)
fi
keep_out=1
if [ -z "$out" ]; then
  out="$(mktemp -d)"
  keep_out=0
fi
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"; [ "$keep_out" = 1 ] || rm -rf "$out"' EXIT
export AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1
export AFL_NO_AFFINITY=1 AFL_FAST_CAL=1 AFL_AUTORESUME=1

field() { awk -F' *: *' -v k="$1" '$1 == k { print $2 }' "$2"; }
printf '%-14s %10s %9s %13s %8s %7s %6s\n' target execs "execs/s" edges corpus crashes hangs
crashed=()
for t in "${targets[@]}"; do
  [ -d "fuzz/corpus/$t" ] || { echo "fuzz: no corpus fuzz/corpus/$t" >&2; exit 2; }
  mkdir -p "$out/$t"
  log="$out/$t/afl.log"
  if ! TMPDIR="$scratch" cargo afl fuzz -i "fuzz/corpus/$t" -o "$out/$t" -V "$seconds" \
      -- "$harness" "$t" >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    echo "fuzz: afl-fuzz failed on $t (log above)" >&2
    exit 1
  fi
  s="$out/$t/default/fuzzer_stats"
  printf '%-14s %10s %9s %13s %8s %7s %6s\n' "$t" "$(field execs_done "$s")" \
    "$(field execs_per_sec "$s")" "$(field edges_found "$s")/$(field total_edges "$s")" \
    "$(field corpus_count "$s")" "$(field saved_crashes "$s")" "$(field saved_hangs "$s")"
  [ "$(field saved_crashes "$s")" = 0 ] || crashed+=("$t")
done
echo "fuzz: ${#targets[@]} targets, $seconds s each, $(( $(date +%s) - started )) s in all"

if [ ${#crashed[@]} -gt 0 ]; then
  for t in "${crashed[@]}"; do
    # Outside AFL++ the harness runs the one input on its standard input.
    for f in "$out/$t/default/crashes"/id:*; do
      echo "fuzz: $t crashed on $f:" >&2
      RUST_BACKTRACE=0 "$harness" "$t" <"$f" 2>&1 | grep -A1 panicked >&2 || true
    done
  done
  [ "$keep_out" = 1 ] || echo "fuzz: rerun with --out DIR to keep the crashing inputs" >&2
  exit 1
fi
