//! The Bitcoin Core JSON-RPC adapter against a real node: bcoin (npm
//! `bcoin@1.0.2`) in regtest on 127.0.0.1, mining blocks and sending wallet
//! transactions; auth by user/password and cookie file; a reorg; following
//! the tip; and the same chain written as blk files with a stale block.

mod support;

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::json;
use support::bcoin::{Bcoin, API_KEY};
use support::*;

fn ingest_rpc(db: &str, node: &Bcoin, extra: &[&str]) -> serde_json::Value {
    let url = node.url();
    let mut args = vec!["--network", "regtest", "--json"];
    args.extend_from_slice(extra);
    json(&ingest_args(db, ["--rpc", &url], &args))
}

const AUTH: [&str; 4] = ["--rpc-user", "x", "--rpc-password", API_KEY];

fn raw_block(node: &Bcoin, hash: &str) -> Vec<u8> {
    hex::decode(node.rpc("getblock", json!([hash, 0])).as_str().unwrap()).unwrap()
}

#[test]
fn rpc_ingest_auth_reorg_follow_and_blk_files_agree() {
    let node = Bcoin::start();
    let miner = node.new_address("primary", false);
    node.mine(101, &miner);
    node.wait_for_balance(101.0 * 50.0); // the wallet has seen all 101 blocks
    let payee = node.new_address("seg", true); // P2WPKH
    let t1 = node
        .wallet("sendtoaddress", json!([payee, 12.5]))
        .as_str()
        .unwrap()
        .to_string();
    node.mine(1, &miner);

    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("db");
    let dbs = db.to_str().unwrap();
    let s = ingest_rpc(dbs, &node, &AUTH);
    assert_eq!(s["blocks"], 103);
    assert_eq!(s["tip_height"], 102);
    let best = node.rpc("getbestblockhash", json!([]));
    assert_eq!(s["tip_hash"], best);

    // The wallet payment is in the ledger with its input resolved.
    let tx = json(&["--db", dbs, "tx", &t1, "--json"]);
    assert_eq!(tx["height"], 102);
    let payee_core = node.core_address(&payee);
    let paid = tx["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["address"]["address"] == payee_core.as_str());
    assert_eq!(
        amount(&paid.expect("payment output")["value"]),
        1_250_000_000
    );
    let spent: u128 = tx["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| amount(&i["value"]))
        .sum();
    let out: u128 = tx["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| amount(&o["value"]))
        .sum();
    assert_eq!(spent - out, amount(&tx["fee"]));
    assert!(amount(&tx["fee"]) > 0);
    assert_eq!(tx["unit"]["symbol"], "BTC");
    let a = json(&["--db", dbs, "address", &payee_core, "--json"]);
    assert_eq!(amount(&a["balance"]), 1_250_000_000);

    // Cookie-file auth, and a second run only adds the new block.
    node.mine(1, &miner);
    let cookie = tmp.path().join(".cookie");
    std::fs::write(&cookie, format!("__cookie__:{API_KEY}")).unwrap();
    let s = ingest_rpc(dbs, &node, &["--rpc-cookie", cookie.to_str().unwrap()]);
    assert_eq!(s["blocks"], 1);
    assert_eq!(s["tip_height"], 103);

    // Wrong password and wrong network are clear errors.
    let url = node.url();
    let rpc_fails = |db: &str, network: &str, password: &str| {
        let extra = [
            "--network",
            network,
            "--rpc-user",
            "x",
            "--rpc-password",
            password,
        ];
        stderr(&fails(&ingest_args(db, ["--rpc", &url], &extra)))
    };
    let err = rpc_fails(dbs, "regtest", "wrong");
    assert!(err.contains("HTTP 401") && err.contains(&url), "{err}");
    let err = rpc_fails(dbs, "main", API_KEY);
    assert!(err.contains("holds bitcoin regtest data"), "{err}");
    let other = tmp.path().join("other");
    let err = rpc_fails(other.to_str().unwrap(), "main", API_KEY);
    assert!(
        err.contains("node is on chain 'regtest', not 'main'"),
        "{err}"
    );

    // Reorg: replace the tip (height 103, which holds a wallet payment) with a longer branch.
    let t2 = node
        .wallet("sendtoaddress", json!([payee, 1.0]))
        .as_str()
        .unwrap()
        .to_string();
    let old_tip = node.mine(1, &miner)[0].clone(); // height 104
    ingest_rpc(dbs, &node, &AUTH);
    let stale_raw = raw_block(&node, &old_tip);
    let old_coinbase = {
        let b: bitcoin::Block = bitcoin::consensus::deserialize(&stale_raw).unwrap();
        b.txdata[0].compute_txid().to_string()
    };
    assert_eq!(json(&["--db", dbs, "tx", &t2, "--json"])["height"], 104);
    node.rpc("invalidateblock", json!([old_tip]));
    let other_miner = node.new_address("primary", false);
    let new_branch = node.mine(2, &other_miner);
    let s = ingest_rpc(dbs, &node, &AUTH);
    assert_eq!(s["rolled_back"], 1);
    assert_eq!(s["tip_height"], 105);
    assert_eq!(s["tip_hash"], new_branch[1].as_str());
    let err = stderr(&fails(&["--db", dbs, "tx", &old_coinbase]));
    assert!(err.contains("not in the ledger"), "{err}");
    // The ledger after the reorg equals a fresh ingest of the node's chain.
    let fresh = tmp.path().join("fresh");
    ingest_rpc(fresh.to_str().unwrap(), &node, &AUTH);
    assert_eq!(fingerprint(&db), fingerprint(&fresh));

    // Follow mode: a running ingest picks up new blocks and another reorg.
    let mut follower = tracer()
        .args([
            "--db",
            dbs,
            "ingest",
            "bitcoin",
            "--rpc",
            &url,
            "--network",
            "regtest",
            "--follow",
            "--poll-secs",
            "0.2",
        ])
        .args(AUTH)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let wait_for_tip = |hash: &str| {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let st = json(&["--db", dbs, "status", "--json"]);
            if st["bitcoin_tip_hash"] == hash {
                return st["bitcoin_tip_height"].as_u64().unwrap();
            }
            assert!(
                Instant::now() < deadline,
                "follower did not reach {hash}: {st}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    let more = node.mine(3, &miner);
    assert_eq!(wait_for_tip(&more[2]), 108);
    node.rpc("invalidateblock", json!([more[1]]));
    let branch = node.mine(3, &other_miner);
    assert_eq!(wait_for_tip(&branch[2]), 109);
    follower.kill().unwrap();
    follower.wait().unwrap();

    // The same chain as Core blk files, with the stale block in arrival order:
    // the file reader leaves it out and builds the same ledger.
    let blocks_dir = tmp.path().join("blocks");
    std::fs::create_dir(&blocks_dir).unwrap();
    let height = node.rpc("getblockcount", json!([])).as_u64().unwrap();
    let mut file = Vec::new();
    for h in 0..=height {
        if h == 104 {
            push_record(&mut file, &stale_raw);
        }
        let hash = node.rpc("getblockhash", json!([h]));
        push_record(&mut file, &raw_block(&node, hash.as_str().unwrap()));
    }
    std::fs::write(blocks_dir.join("blk00000.dat"), file).unwrap();
    let from_files = tmp.path().join("from_files");
    let s = json(&[
        "--db",
        from_files.to_str().unwrap(),
        "ingest",
        "bitcoin",
        "--blocks-dir",
        blocks_dir.to_str().unwrap(),
        "--network",
        "regtest",
        "--json",
    ]);
    assert_eq!(s["stale_blocks"], 1);
    assert_eq!(s["tip_height"], 109);
    // Bring the followed DB to the same tip and compare.
    ingest_rpc(dbs, &node, &AUTH);
    assert_eq!(fingerprint(&from_files), fingerprint(&db));
}

fn push_record(file: &mut Vec<u8>, block: &[u8]) {
    file.extend_from_slice(&[0xfa, 0xbf, 0xb5, 0xda]);
    file.extend_from_slice(&(block.len() as u32).to_le_bytes());
    file.extend_from_slice(block);
}
