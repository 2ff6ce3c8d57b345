//! The simulator's wallets against a real wallet implementation: bcoin's
//! wallet (npm `bcoin@1.0.2`, regtest on 127.0.0.1) makes payments; its own
//! records say which output is change (its ground truth); the chain is read
//! back through tracer's RPC ingest. The same transaction shapes — inputs
//! per payment, output order, change position, change address freshness and
//! type — are measured on a simulated chain, per wallet software.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::bcoin::{Bcoin, API_KEY};
use support::*;

/// Counts of shape properties over payment transactions with one change output.
#[derive(Default, Debug)]
struct Shapes {
    txs: u32,
    inputs: u32,
    /// Outputs in BIP69 order (ascending value; values here are distinct).
    bip69: u32,
    /// Change is the last output.
    change_last: u32,
    /// Change goes to an address never seen on chain before.
    change_fresh: u32,
    /// Change has the script type of the inputs.
    change_same_kind: u32,
}

impl Shapes {
    fn add(&mut self, inputs: usize, values: &[u64], change: usize, fresh: bool, same_kind: bool) {
        self.txs += 1;
        self.inputs += inputs as u32;
        self.bip69 += values.windows(2).all(|w| w[0] <= w[1]) as u32;
        self.change_last += (change + 1 == values.len()) as u32;
        self.change_fresh += fresh as u32;
        self.change_same_kind += same_kind as u32;
    }

    fn share(&self, n: u32) -> f64 {
        n as f64 / self.txs.max(1) as f64
    }

    fn row(&self, name: &str) -> String {
        format!(
            "{name:<22} {:>4} {:>8.2} {:>6.2} {:>11.2} {:>12.2} {:>16.2}",
            self.txs,
            self.inputs as f64 / self.txs.max(1) as f64,
            self.share(self.bip69),
            self.share(self.change_last),
            self.share(self.change_fresh),
            self.share(self.change_same_kind)
        )
    }
}

/// Waits until wallet `id` has `sat` confirmed.
fn wait_confirmed(node: &Bcoin, id: &str, sat: u64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let b = node.wallet_http("GET", &format!("/wallet/{id}/balance"), json!({}));
        if b["confirmed"].as_u64().unwrap_or(0) >= sat {
            return;
        }
        assert!(Instant::now() < deadline, "wallet {id} balance stuck: {b}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Waits until the node's mempool holds `txid` (bcoin adds wallet sends asynchronously).
fn wait_in_mempool(node: &Bcoin, txid: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !node
        .rpc("getrawmempool", json!([]))
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t == txid)
    {
        assert!(
            Instant::now() < deadline,
            "{txid} never reached the mempool"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Shapes of bcoin wallet payments, read back from tracer's ledger.
fn bcoin_shapes() -> Shapes {
    let node = Bcoin::start();
    let miner = node.new_address("primary", false);
    node.mine(101, &miner);
    node.wait_for_balance(101.0 * 50.0);
    // P2PKH wallets: bcoin 1.0.2's regtest activates segwit by BIP9 only
    // after hundreds of blocks, and its mempool refuses witness spends before.
    node.create_wallet("alice", false);
    node.create_wallet("bob", false);
    let funding = [0.7, 1.3, 0.25, 2.0, 0.4, 0.9, 0.15, 0.6];
    for btc in funding {
        let a = node.address("alice");
        node.wallet("sendtoaddress", json!([a, btc]));
    }
    node.mine(1, &miner);
    wait_confirmed(&node, "alice", 630_000_000);

    // Alice pays Bob; bcoin's reply marks her own (change) output with a path.
    let mut sent: Vec<(String, String)> = Vec::new(); // (txid, change address in Core format)
    for (i, sat) in [
        31_000_000u64,
        123_456_789,
        5_500_000,
        88_000_000,
        47_250_000,
        150_000_000,
        9_990_000,
        64_000_000,
    ]
    .into_iter()
    .enumerate()
    {
        let to = node.address("bob");
        node.wallet("selectwallet", json!(["alice"]));
        let txid = node.wallet("sendtoaddress", json!([to, sat as f64 / 1e8]));
        let txid = txid.as_str().unwrap().to_string();
        wait_in_mempool(&node, &txid);
        // Alice's own records say which output is hers: the change.
        let raw = node.rpc("getrawtransaction", json!([txid, 1]));
        let mut change = Vec::new();
        for o in raw["vout"].as_array().unwrap() {
            let a = o["scriptPubKey"]["addresses"][0]
                .as_str()
                .unwrap()
                .to_string();
            if a != to {
                let key = node.wallet_http("GET", &format!("/wallet/alice/key/{a}"), json!({}));
                assert_eq!(
                    key["branch"], 1,
                    "alice's output is on her change branch: {key}"
                );
                change.push(node.core_address(&a));
            }
        }
        assert_eq!(change.len(), 1, "one change output in {raw}");
        sent.push((txid, change.remove(0)));
        if i % 2 == 1 {
            node.mine(1, &miner);
            std::thread::sleep(Duration::from_millis(300));
        }
    }
    node.mine(1, &miner);

    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("db");
    let dbs = db.to_str().unwrap();
    let url = node.url();
    let summary = json(&ingest_args(
        dbs,
        ["--rpc", &url],
        &[
            "--network",
            "regtest",
            "--rpc-user",
            "x",
            "--rpc-password",
            API_KEY,
            "--json",
        ],
    ));
    assert_eq!(
        summary["txs"],
        108 + 8 + 8,
        "108 blocks, 8 fundings, 8 payments"
    );
    let mut shapes = Shapes::default();
    for (txid, change_addr) in &sent {
        let t = json(&["--db", dbs, "tx", txid, "--json"]);
        let outs = t["outputs"].as_array().unwrap();
        let values: Vec<u64> = outs.iter().map(|o| amount(&o["value"]) as u64).collect();
        let change = outs
            .iter()
            .position(|o| o["address"]["address"] == change_addr.as_str())
            .expect("change output in ledger");
        let a = json(&["--db", dbs, "address", change_addr, "--json"]);
        let fresh = a["entries"][0]["history"][0]["txid"] == txid.as_str();
        let in_kinds: BTreeSet<&str> = t["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["address"]["kind"].as_str().unwrap())
            .collect();
        let same = in_kinds == BTreeSet::from([outs[change]["kind"].as_str().unwrap()]);
        shapes.add(
            t["inputs"].as_array().unwrap().len(),
            &values,
            change,
            fresh,
            same,
        );
    }
    shapes
}

/// Shapes of the simulator's individuals' payments, per wallet software,
/// from `tracer decode` of its blk file and its truth file.
fn simulator_shapes() -> BTreeMap<String, Shapes> {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("sim");
    ok(&[
        "simulate",
        "--out",
        dir.to_str().unwrap(),
        "--seed",
        "3",
        "--preset",
        "small",
    ]);
    let mut software = BTreeMap::new();
    let mut individuals = BTreeSet::new();
    let mut txs = BTreeMap::new();
    for line in std::fs::read_to_string(dir.join("truth.jsonl"))
        .unwrap()
        .lines()
    {
        let r: Value = serde_json::from_str(line).unwrap();
        match r["type"].as_str().unwrap() {
            "entity" => {
                software.insert(
                    r["id"].as_u64().unwrap(),
                    r["software"].as_str().unwrap().to_string(),
                );
                if r["kind"] == "individual" {
                    individuals.insert(r["id"].as_u64().unwrap());
                }
            }
            "tx" => {
                txs.insert(r["txid"].as_str().unwrap().to_string(), r);
            }
            _ => {}
        }
    }
    let blk = dir.join("blocks/blk00000.dat");
    let d = json(&["decode", blk.to_str().unwrap(), "--json"]);
    let mut kind_of: BTreeMap<(String, u64), String> = BTreeMap::new();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut shapes: BTreeMap<String, Shapes> = BTreeMap::new();
    for b in d["blocks"].as_array().unwrap() {
        for t in b["txs"].as_array().unwrap() {
            let txid = t["txid"].as_str().unwrap();
            let outs = t["outputs"].as_array().unwrap();
            if let Some(r) = txs.get(txid) {
                let e = r["entity"].as_u64().unwrap();
                let change = r["change"].as_array().map(|c| c.len()).unwrap_or(0);
                if r["purpose"] == "payment"
                    && individuals.contains(&e)
                    && outs.len() == 2
                    && change == 1
                {
                    let c = r["change"][0].as_u64().unwrap() as usize;
                    let values: Vec<u64> =
                        outs.iter().map(|o| amount(&o["value"]) as u64).collect();
                    let addr = outs[c]["address"].as_str().unwrap();
                    let in_kinds: BTreeSet<&str> = t["inputs"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|i| {
                            kind_of[&(
                                i["prev_txid"].as_str().unwrap().to_string(),
                                i["vout"].as_u64().unwrap(),
                            )]
                                .as_str()
                        })
                        .collect();
                    let same = in_kinds == BTreeSet::from([outs[c]["kind"].as_str().unwrap()]);
                    let sw = software[&e].clone();
                    shapes.entry(sw).or_default().add(
                        t["inputs"].as_array().unwrap().len(),
                        &values,
                        c,
                        !seen.contains(addr),
                        same,
                    );
                }
            }
            for o in outs {
                if let Some(a) = o["address"].as_str() {
                    seen.insert(a.to_string());
                }
                kind_of.insert(
                    (txid.to_string(), o["vout"].as_u64().unwrap()),
                    o["kind"].as_str().unwrap().to_string(),
                );
            }
        }
    }
    shapes
}

#[test]
fn simulated_wallets_have_the_shapes_of_a_real_wallet() {
    let real = bcoin_shapes();
    let sim = simulator_shapes();
    println!(
        "wallet                  txs  inputs  bip69  change_last  change_fresh  change_same_type"
    );
    println!("{}", real.row("bcoin 1.0.2 (real)"));
    for (sw, s) in &sim {
        println!("{}", s.row(&format!("simulator {sw}")));
    }

    // bcoin, a real wallet: BIP69 order, fresh change of the wallet's type.
    assert_eq!(real.txs, 8);
    assert_eq!(real.bip69, real.txs, "bcoin orders outputs by BIP69");
    assert_eq!(
        real.change_fresh, real.txs,
        "bcoin sends change to fresh addresses"
    );
    assert_eq!(real.change_same_kind, real.txs);

    // The simulator's BIP69 wallets (Electrum style) show the same shape.
    let electrum = &sim["electrum"];
    assert!(electrum.txs >= 20, "{electrum:?}");
    assert_eq!(electrum.bip69, electrum.txs);
    assert_eq!(electrum.change_fresh, electrum.txs);
    assert_eq!(electrum.change_same_kind, electrum.txs);
    for s in [&real, electrum] {
        let mean = s.inputs as f64 / s.txs as f64;
        assert!((1.0..=3.0).contains(&mean), "inputs per payment {mean}");
    }
    // Core puts change at a random position and fresh; legacy wallets put
    // change last and often back to an input address.
    let core = &sim["core"];
    assert!(core.txs >= 20 && core.change_fresh == core.txs, "{core:?}");
    let last = core.share(core.change_last);
    assert!((0.25..=0.75).contains(&last), "core change last in {last}");
    let legacy = &sim["legacy"];
    assert!(
        legacy.txs >= 10 && legacy.change_last == legacy.txs,
        "{legacy:?}"
    );
    assert!(
        legacy.change_fresh < legacy.txs,
        "some legacy change reuses an input address"
    );
}
