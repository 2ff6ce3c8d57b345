//! Clustering and tagging benchmark (a bench binary printing numbers; no
//! timing is asserted).
//!
//! On an ingested ledger (`TRACER_BENCH_DB=DIR`, or else the simulator's
//! `large` preset — `TRACER_BENCH_PRESET` — generated and ingested first):
//! - a plain scan of every transaction record (the floor for any pass);
//! - the CIOH (`cospend`) pass in memory: union-find, CoinJoin guard, facts;
//! - the look-ahead facts pass and the `cospend+change` pass;
//! - `tracer cluster build` (full, with the RocksDB write) at both levels
//!   and an incremental no-op build, with peak RSS;
//! - `tracer cluster export` of every address with its cluster id (TSV and
//!   JSON Lines), with peak RSS;
//! - `tracer tags import` of the shared GraphSense TagPack subset.
//!
//! Run: `cargo bench -p tracer --bench cluster`

mod common;

use std::path::PathBuf;
use std::time::Instant;

use chain_adapters::store::{Store, StoreOptions};
use common::{env_u64, measured, measured_output, simulated_chain};
use heuristics::change::{ForwardFacts, VotePolicy};
use heuristics::cluster::{Engine, Level, NoObserver};

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let db = match std::env::var("TRACER_BENCH_DB") {
        Ok(d) => PathBuf::from(d),
        Err(_) => {
            let preset = std::env::var("TRACER_BENCH_PRESET").unwrap_or_else(|_| "large".into());
            let seed = env_u64("TRACER_BENCH_SEED", 1);
            simulated_chain(tmp.path(), &preset, seed).join("db")
        }
    };
    let d = db.to_str().unwrap();
    {
        let store = Store::open_read_only(&db, StoreOptions::default()).unwrap();
        let c = store.counters().unwrap();
        println!(
            "ledger: {} transactions, {} addresses",
            c.next_tx, c.next_addr
        );

        let t = Instant::now();
        let mut n = 0u64;
        store.for_each_tx(|_, _| n += 1).unwrap();
        let s = t.elapsed().as_secs_f64();
        println!(
            "scan txs:               {n} in {s:.2} s = {:.0} tx/s",
            n as f64 / s
        );

        let t = Instant::now();
        let mut e = Engine::new(Level::Cospend, VotePolicy::default());
        store
            .for_each_tx(|id, tx| e.process(id, &tx, &[], &mut NoObserver))
            .unwrap();
        let clusters = e.clusters();
        let s = t.elapsed().as_secs_f64();
        let distinct = clusters
            .iter()
            .enumerate()
            .filter(|(a, c)| *a as u32 == **c)
            .count();
        println!(
            "cospend pass (memory):  {n} txs, {} addresses -> {distinct} clusters in {s:.2} s = {:.0} tx/s",
            clusters.len(),
            n as f64 / s
        );

        let t = Instant::now();
        let forward = ForwardFacts::collect(&store).unwrap();
        let s1 = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let mut e = Engine::new(Level::CospendChange, VotePolicy::default());
        store
            .for_each_tx(|id, tx| e.process(id, &tx, forward.spenders(id), &mut NoObserver))
            .unwrap();
        let s2 = t.elapsed().as_secs_f64();
        println!("look-ahead facts pass:  {s1:.2} s; cospend+change pass (memory): {s2:.2} s");
    }
    for (args, what) in [
        (
            vec!["cluster", "build", "--full"],
            "cluster build cospend (full, stored)",
        ),
        (
            vec!["cluster", "build"],
            "cluster build cospend (incremental, nothing new)",
        ),
        (
            vec!["cluster", "build", "--level", "cospend+change"],
            "cluster build cospend+change (full, stored)",
        ),
    ] {
        let mut a = vec!["--db", d];
        a.extend(args);
        a.push("--json");
        let (secs, rss, _) = measured(&a);
        println!("{what}: {secs:.2} s, peak RSS {rss:.0} MiB");
    }
    for (level, format) in [
        ("cospend", "tsv"),
        ("cospend", "jsonl"),
        ("cospend+change", "tsv"),
    ] {
        let (secs, rss, out) = measured_output(&[
            "--db", d, "cluster", "export", "--level", level, "--format", format,
        ]);
        let lines = out.iter().filter(|&&b| b == b'\n').count();
        println!(
            "cluster export {level} {format}: {lines} lines, {:.0} MB in {secs:.2} s, peak RSS {rss:.0} MiB",
            out.len() as f64 / 1e6
        );
    }
    let packs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/tags");
    let mut files: Vec<String> = std::fs::read_dir(&packs)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    files.sort();
    let tags_db = tmp.path().join("tags-db");
    let mut a = vec!["--db", tags_db.to_str().unwrap(), "tags", "import"];
    a.extend(files.iter().map(String::as_str));
    a.push("--json");
    let (secs, rss, s) = measured(&a);
    println!(
        "tags import: {} packs, {} tags in {secs:.2} s, peak RSS {rss:.0} MiB",
        files.len(),
        s["tags"]
    );
}
