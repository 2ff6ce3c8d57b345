//! Ingest benchmark (a bench binary printing numbers; no timing is asserted).
//!
//! Measures on one chain, in one run:
//! - generation of the chain by `tracer simulate` (time, peak RSS, size);
//! - blk parse throughput (MB/s): tracer's reader (scan + ordering + decode +
//!   txids + address classification) and the `blocks_iterator` crate
//!   (skip_prevout) over the same files;
//! - ingest + index throughput (MB/s, tx/s) into RocksDB through the real
//!   `tracer ingest` binary, with its peak RSS, at two cache sizes.
//!
//! The chain is the simulator's `large` preset (≈1M transactions), or
//! `TRACER_BENCH_PRESET=small|medium`, seed `TRACER_BENCH_SEED` (default 1);
//! or any regtest blocks directory given with `TRACER_BENCH_BLOCKS_DIR=DIR`.
//! `TRACER_BENCH_OUT=DIR` keeps the simulated chain there
//! (`TRACER_BENCH_GENERATE_ONLY=1`: and stops). `TRACER_BENCH_PARSE_ONLY=1`
//! stops after the parse measurements.
//!
//! Run: `cargo bench -p tracer --bench ingest`

mod common;

use std::path::PathBuf;
use std::time::Instant;

use common::{dir_bytes, env_u64, measured};

use chain_adapters::bitcoin::blkfile::BlockFiles;
use rayon::prelude::*;

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` asks benches to list tests
    }
    let tmp = tempfile::tempdir().unwrap();
    let (dir, network): (PathBuf, &str) = match std::env::var("TRACER_BENCH_BLOCKS_DIR") {
        Ok(d) => (PathBuf::from(d), "regtest"),
        Err(_) => {
            let preset = std::env::var("TRACER_BENCH_PRESET").unwrap_or_else(|_| "large".into());
            let seed = env_u64("TRACER_BENCH_SEED", 1).to_string();
            let out = std::env::var("TRACER_BENCH_OUT")
                .map(PathBuf::from)
                .unwrap_or_else(|_| tmp.path().join("sim"));
            let (secs, rss, s) = measured(&[
                "simulate",
                "--out",
                out.to_str().unwrap(),
                "--preset",
                &preset,
                "--seed",
                &seed,
                "--json",
            ]);
            println!(
                "simulate --preset {preset}: {} blocks, {} txs, {} addresses, {:.1} MB in {secs:.1} s, peak RSS {rss:.0} MiB",
                s["blocks"], s["txs"], s["addresses"],
                s["blk_bytes"].as_f64().unwrap_or(0.0) / 1e6
            );
            if std::env::var("TRACER_BENCH_GENERATE_ONLY").is_ok() {
                return;
            }
            (out.join("blocks"), "regtest")
        }
    };
    let mb = dir_bytes(&dir) as f64 / 1e6;
    // Warm the page cache so neither parser pays for the first read from disk.
    for e in std::fs::read_dir(&dir).unwrap().filter_map(|e| e.ok()) {
        let _ = std::fs::read(e.path());
    }
    let net = chain_adapters::bitcoin::parse_network(network).unwrap();

    // tracer's reader: everything ingest does before the store.
    let t = Instant::now();
    let files = BlockFiles::open(&dir).unwrap();
    let chain = BlockFiles::best_chain(files.scan(net).unwrap().blocks, net);
    let txs: usize = chain
        .blocks
        .par_chunks(64)
        .map(|c| {
            c.iter()
                .map(|l| files.read_new_block(l, 0).unwrap().txs.len())
                .sum::<usize>()
        })
        .sum();
    let s = t.elapsed().as_secs_f64();
    println!(
        "parse tracer:          {mb:.1} MB, {txs} txs in {s:.2} s = {:.1} MB/s, {:.0} tx/s",
        mb / s,
        txs as f64 / s
    );

    // blocks_iterator on the same files (txids computed, no prevouts).
    let t = Instant::now();
    let mut cfg = blocks_iterator::Config::new(&dir, net);
    cfg.skip_prevout = true;
    let bi_txs: usize = blocks_iterator::iter(cfg).map(|b| b.txids().len()).sum();
    let s = t.elapsed().as_secs_f64();
    println!(
        "parse blocks_iterator: {mb:.1} MB, {bi_txs} txs in {s:.2} s = {:.1} MB/s, {:.0} tx/s",
        mb / s,
        bi_txs as f64 / s
    );

    if std::env::var_os("TRACER_BENCH_PARSE_ONLY").is_some() {
        return;
    }
    for cache in [64, 512] {
        let db = tmp.path().join(format!("db-{cache}"));
        let (secs, rss, summary) = measured(&[
            "--db",
            db.to_str().unwrap(),
            "--cache-mb",
            &cache.to_string(),
            "ingest",
            "bitcoin",
            "--blocks-dir",
            dir.to_str().unwrap(),
            "--network",
            network,
            "--json",
        ]);
        let n = summary["txs"].as_f64().unwrap_or(0.0);
        println!(
            "ingest+index (cache {cache} MiB): {mb:.1} MB, {n} txs in {secs:.2} s = {:.1} MB/s, {:.0} tx/s, peak RSS {rss:.0} MiB",
            mb / secs,
            n / secs
        );
    }
}
