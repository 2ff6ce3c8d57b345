//! Bitcoin ingest over JSON-RPC from a replay of real mainnet blocks
//! (tests/support/btc_replay.rs), for what a real node cannot be made to do.

mod support;

use std::time::{Duration, Instant};

use support::btc_replay::{blocks, Faults, Replay};
use support::*;

const BLOCKS: &str = "bitcoin/blk-heights-0-4312.dat";

fn rpc_ingest<'a>(db: &'a str, url: &'a str) -> [&'a str; 9] {
    [
        "--db",
        db,
        "ingest",
        "bitcoin",
        "--rpc",
        url,
        "--batch-blocks",
        "1",
        "--json",
    ]
}

/// The replay serves the real chain: RPC ingest reaches its tip.
#[test]
fn a_truthful_node_is_ingested_to_its_tip() {
    let replay = Replay::start(BLOCKS, 101, Faults::default());
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let s = json(&rpc_ingest(db.to_str().unwrap(), &replay.url));
    assert_eq!(s["blocks"], 101);
    assert_eq!(s["tip_height"], 100);
    assert_eq!(s["tip_hash"], blocks(BLOCKS, 101)[100].0.as_str());
}

/// `getblockhash 50` names block 52 while `getblock` is truthful: the block
/// served never links to block 49. Before the fix the ingest re-read the
/// chain forever without a word; now it gives up after a bounded number of
/// re-reads, names the block and the hashes, and keeps blocks 0–49.
#[test]
fn a_block_that_never_links_stops_the_ingest_naming_both_hashes() {
    let replay = Replay::start(BLOCKS, 101, Faults { skip_at: Some(50) });
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let d = db.to_str().unwrap();
    let started = Instant::now();
    let mut child = tracer()
        .args(rpc_ingest(d, &replay.url))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(120) {
            child.kill().unwrap();
            panic!("the ingest still runs after 120 s: it loops");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success(), "must fail");
    let err = stderr(&out);
    let chain = blocks(BLOCKS, 53);
    assert_contains(
        &err,
        &[
            "getblock",
            &format!("block 50 ({})", chain[52].0),
            &format!("does not link to the ledger's block 49 ({})", chain[49].0),
            &format!("its parent is {}", chain[51].0),
            "after 5 re-reads",
            "ledger is intact at bitcoin height 49",
        ],
    );
    let st = json(&["--db", d, "status", "--json"]);
    assert_eq!(st["bitcoin_tip_height"], 49);
}
