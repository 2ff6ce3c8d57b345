//! Ethereum ingest benchmark (a bench binary printing numbers; no timing is
//! asserted): a real anvil node on 127.0.0.1 gets `TRACER_BENCH_ETH_BLOCKS`
//! blocks (default 3000) of generated activity — per block an ETH
//! transfer, an ERC-20 transfer and a call that splits ETH through a
//! contract (two internal transfers) — then the real `tracer ingest
//! ethereum` binary reads it all: with callTracer traces (one or eight
//! blocks in flight), with Parity-style traces, and without traces. Prints
//! blocks/s, txs/s, transfers/s and peak RSS.
//!
//! Run: `cargo bench -p tracer --bench eth_ingest`

#[path = "../../tests/support/mod.rs"]
mod support;

mod common;

use std::time::Instant;

use common::{env_u64, measured};
use serde_json::json;
use support::anvil::{calldata, qty, word_addr, word_u128, Anvil};

fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("eth_ingest: bench");
        return;
    }
    let blocks = env_u64("TRACER_BENCH_ETH_BLOCKS", 3000);
    let node = Anvil::start();
    let a = node.accounts.clone();
    let (token, tsel) = node.deploy(&a[0], "TestToken");
    let (forwarder, fsel) = node.deploy(&a[0], "Forwarder");
    node.rpc("evm_setAutomine", json!([false]));
    let started = Instant::now();
    for b in 0..blocks as usize {
        let (x, y, z) = (a[1 + b % 4].clone(), a[5 + b % 4].clone(), a[9].clone());
        node.send_batch(&[
            json!({"from": x, "to": y, "value": qty(1_000_000_000 + b as u128)}),
            json!({"from": a[0], "to": token, "value": "0x0",
                   "data": calldata(&tsel, "transfer(address,uint256)", &[word_addr(&y), word_u128(1000 + b as u128)])}),
            json!({"from": y, "to": forwarder, "value": qty(3_000 + b as u128),
                   "data": calldata(&fsel, "forwardSplit(address,address)", &[word_addr(&x), word_addr(&z)])}),
        ]);
        node.rpc("evm_mine", json!([]));
    }
    println!(
        "generated {blocks} blocks ({} txs) on anvil in {:.1} s",
        blocks * 3,
        started.elapsed().as_secs_f64()
    );
    let dir = tempfile::tempdir().unwrap();
    let url = node.url();
    for (name, extra) in [
        ("call traces, 8 in flight", vec!["--traces", "calltracer"]),
        (
            "call traces, 1 in flight",
            vec!["--traces", "calltracer", "--concurrency", "1"],
        ),
        ("parity traces, 8 in flight", vec!["--traces", "parity"]),
        ("no traces, 8 in flight", vec!["--traces", "none"]),
    ] {
        let db = dir.path().join(name.replace([' ', ','], "-"));
        let extra = [&extra[..], &["--json"]].concat();
        let (secs, rss, s) = measured(&support::eth_ingest_args(
            db.to_str().unwrap(),
            &url,
            &extra,
        ));
        let n = |k: &str| s[k].as_f64().unwrap_or(0.0);
        println!(
            "ingest ({name}): {} blocks, {} txs, {} transfers in {secs:.2} s = {:.0} blocks/s, {:.0} txs/s, {:.0} transfers/s; peak RSS {rss:.0} MiB",
            n("blocks"),
            n("txs"),
            n("transfers"),
            n("blocks") / secs,
            n("txs") / secs,
            n("transfers") / secs,
        );
    }
}
