//! The simulator: a regtest chain with ground truth, checked by an
//! independent verifier (embit + hashlib), ingested through the same blk-file
//! path as mainnet data, and reproducible byte for byte.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use serde_json::Value;
use support::{
    amount, fails, json, ok, root, simulate_small as simulate, stderr, truth_records as truth,
};

/// Runs `tests/tools/verify_sim.py` and returns its report.
fn verify(dir: &Path) -> Value {
    let out = Command::new("python3")
        .arg(root().join("tests/tools/verify_sim.py"))
        .arg(dir.join("blocks"))
        .arg(dir.join("truth.jsonl"))
        .output()
        .expect("python3");
    assert!(out.status.success(), "verify_sim.py: {}", stderr(&out));
    serde_json::from_slice(&out.stdout).expect("verifier JSON")
}

fn read_all(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    for sub in ["", "blocks"] {
        for e in std::fs::read_dir(dir.join(sub)).unwrap() {
            let p = e.unwrap().path();
            if p.is_file() {
                files.insert(
                    format!("{sub}/{}", p.file_name().unwrap().to_string_lossy()),
                    std::fs::read(&p).unwrap(),
                );
            }
        }
    }
    files
}

#[test]
fn small_preset_is_a_valid_chain_with_complete_truth() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("sim");
    let s = simulate(&dir, 7);

    // Independent verification of blocks, values and truth coverage.
    let v = verify(&dir);
    assert_eq!(
        v["problems"],
        serde_json::json!([]),
        "verifier found problems"
    );
    assert_eq!(v["blocks"], s["blocks"]);
    assert_eq!(v["txs"], s["txs"]);
    assert_eq!(v["pow_ok"], s["blocks"]);
    assert_eq!(v["merkle_ok"], s["blocks"]);
    assert!(v["segwit_txs"].as_u64().unwrap() > 0);
    assert!(v["witness_commitments"].as_u64().unwrap() > 0);
    let txs = s["txs"].as_u64().unwrap();
    assert!(
        (1_500..=3_000).contains(&txs),
        "small preset is ≈2k tx, got {txs}"
    );
    assert_eq!(
        v["truth_txs"].as_u64().unwrap(),
        txs - 1,
        "every tx but genesis described"
    );
    assert_eq!(v["addresses_without_owner"], 0);

    // The same blk-file path as mainnet data.
    let db = tmp.path().join("db");
    let db_s = db.to_str().unwrap();
    let blocks = dir.join("blocks");
    ok(&[
        "--db",
        db_s,
        "ingest",
        "bitcoin",
        "--blocks-dir",
        blocks.to_str().unwrap(),
        "--network",
        "regtest",
    ]);
    let st = json(&["--db", db_s, "status", "--json"]);
    assert_eq!(st["bitcoin_network"], "regtest");
    assert_eq!(st["bitcoin_tip_hash"], v["tip"]);
    assert_eq!(st["bitcoin_tip_height"], v["tip_height"]);
    assert_eq!(st["transactions"].as_u64().unwrap(), txs);
    assert_eq!(st["addresses"], v["addresses_on_chain"]);

    // Truth: owners of every kind, cases with payments, endpoints and links.
    let records = truth(&dir);
    let mut owner: BTreeMap<String, (u64, String, String)> = BTreeMap::new();
    let mut kinds = BTreeSet::new();
    let mut purposes = BTreeSet::new();
    for r in &records {
        match r["type"].as_str().unwrap() {
            "address" => {
                kinds.insert(r["kind"].as_str().unwrap().to_string());
                owner.insert(
                    r["address"].as_str().unwrap().to_string(),
                    (
                        r["entity"].as_u64().unwrap(),
                        r["role"].as_str().unwrap().to_string(),
                        r["kind"].as_str().unwrap().to_string(),
                    ),
                );
            }
            "tx" => {
                purposes.insert(r["purpose"].as_str().unwrap().to_string());
            }
            _ => {}
        }
    }
    for k in [
        "individual",
        "exchange",
        "merchant",
        "payment_processor",
        "mining_pool",
        "mixer",
        "coinjoin_coordinator",
        "criminal_group",
    ] {
        assert!(kinds.contains(k), "no {k} addresses");
    }
    for p in [
        "pool_payout",
        "payment",
        "merchant_payment",
        "settlement",
        "exchange_deposit",
        "exchange_sweep",
        "exchange_withdrawal",
        "whirlpool_tx0",
        "whirlpool_mix",
        "wasabi2_mix",
        "joinmarket_mix",
        "mixer_deposit",
        "mixer_payout",
        "victim_payment",
        "mule_hop",
        "peel",
        "group_consolidation",
        "cashout",
    ] {
        assert!(purposes.contains(p), "no {p} transaction");
    }
    let groups: Vec<&Value> = records.iter().filter(|r| r["type"] == "group").collect();
    let cases: Vec<&Value> = records.iter().filter(|r| r["type"] == "case").collect();
    assert_eq!(cases.len() as u64, s["cases"].as_u64().unwrap());
    let routes: BTreeSet<&str> = groups
        .iter()
        .map(|g| g["route"].as_str().unwrap())
        .collect();
    assert_eq!(
        routes,
        BTreeSet::from(["consolidate", "mixer", "peel", "wasabi2", "whirlpool"])
    );
    for c in &cases {
        let g = groups.iter().find(|g| g["id"] == c["group"]).unwrap();
        let accounts: BTreeSet<&str> = g["deposit_accounts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        // The victim's payments go to the group's mules, as the ledger shows.
        assert!(
            !c["payments"].as_array().unwrap().is_empty(),
            "case {} has no payment",
            c["reference"]
        );
        for p in c["payments"].as_array().unwrap() {
            let t = json(&["--db", db_s, "tx", p["txid"].as_str().unwrap(), "--json"]);
            let out = &t["outputs"][p["vout"].as_u64().unwrap() as usize];
            assert_eq!(
                Some(amount(&out["value"])),
                p["value"].as_u64().map(u128::from)
            );
            let (e, role, _) = &owner[out["address"]["address"].as_str().unwrap()];
            assert_eq!((*e, role.as_str()), (g["entity"].as_u64().unwrap(), "mule"));
        }
        // Every endpoint is one of the group's deposit accounts at an exchange.
        let endpoints = c["endpoints"].as_array().unwrap();
        assert!(
            !endpoints.is_empty(),
            "case {} never cashed out",
            c["reference"]
        );
        for e in endpoints {
            let a = e["address"].as_str().unwrap();
            assert!(accounts.contains(a));
            let (ex, role, kind) = &owner[a];
            assert_eq!((role.as_str(), kind.as_str()), ("deposit", "exchange"));
            assert_eq!(*ex, e["exchange"].as_u64().unwrap());
            let t = json(&[
                "--db",
                db_s,
                "tx",
                e["output"]["txid"].as_str().unwrap(),
                "--json",
            ]);
            assert_eq!(
                t["outputs"][e["output"]["vout"].as_u64().unwrap() as usize]["address"]["address"],
                a
            );
        }
        // Links: exactly the other cases of the same group.
        let mut linked: Vec<u64> = c["linked"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap())
            .collect();
        linked.sort();
        let mut same: Vec<u64> = g["cases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap())
            .filter(|x| Some(*x) != c["id"].as_u64())
            .collect();
        same.sort();
        assert_eq!(linked, same);
    }
    let prefectures: BTreeSet<&str> = cases
        .iter()
        .map(|c| c["prefecture"].as_str().unwrap())
        .collect();
    assert!(prefectures.len() >= 5, "cases spread over prefectures");
    assert!(
        groups
            .iter()
            .filter(|g| g["cases"].as_array().unwrap().len() >= 2)
            .count()
            >= 2,
        "linked groups"
    );
}

#[test]
fn same_seed_same_bytes_other_seed_other_chain() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b, c) = (
        tmp.path().join("a"),
        tmp.path().join("b"),
        tmp.path().join("c"),
    );
    simulate(&a, 11);
    simulate(&b, 11);
    simulate(&c, 12);
    let (fa, fb, fc) = (read_all(&a), read_all(&b), read_all(&c));
    assert_eq!(
        fa.keys().collect::<Vec<_>>(),
        vec!["/tags.yaml", "/truth.jsonl", "blocks/blk00000.dat"]
    );
    assert!(fa == fb, "same seed must give byte-identical output");
    assert_ne!(fa["/truth.jsonl"], fc["/truth.jsonl"]);
    assert_ne!(fa["blocks/blk00000.dat"], fc["blocks/blk00000.dat"]);
}

#[test]
fn scenario_file_overrides_the_preset_and_bad_ones_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let scen = tmp.path().join("scenario.json");
    std::fs::write(
        &scen,
        r#"{"blocks": 90, "txs_per_block": 5, "individuals": 60, "groups": [
            {"name": "Osaka ring", "route": "consolidate", "hops": 1, "deposit_accounts": 1, "cases": [
              {"prefecture": "Osaka", "kind": "investment_fraud", "payments": 1, "amount_btc": 0.5, "start": 5},
              {"prefecture": "Kyoto", "kind": "romance_fraud", "payments": 2, "amount_btc": 0.25, "start": 8}]}]}"#,
    )
    .unwrap();
    let out = tmp.path().join("s");
    let s = json(&[
        "simulate",
        "--out",
        out.to_str().unwrap(),
        "--scenario",
        scen.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(s["blocks"], 191);
    assert_eq!(s["cases"], 2);
    let records = truth(&out);
    let cases: Vec<&Value> = records.iter().filter(|r| r["type"] == "case").collect();
    assert_eq!(cases[0]["reference"], "OSAKA-2025-0001");
    assert_eq!(cases[1]["reference"], "KYOTO-2025-0001");
    assert_eq!(cases[1]["payments"].as_array().unwrap().len(), 2);
    // One deposit account: both cases cash out at the same address.
    let endpoint_addresses = |c: &Value| -> BTreeSet<String> {
        c["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["address"].as_str().unwrap().to_string())
            .collect()
    };
    let (a0, a1) = (endpoint_addresses(cases[0]), endpoint_addresses(cases[1]));
    assert_eq!(a0.len(), 1);
    assert_eq!(a0, a1);
    assert_eq!(verify(&out)["problems"], serde_json::json!([]));

    // Bad scenario files and a used output directory: clear errors, nothing written.
    let bad = tmp.path().join("bad.json");
    for (text, expect) in [
        ("{not json", "not JSON"),
        (r#"{"blocks": "many"}"#, "invalid"),
        (
            r#"{"groups": [{"name": "x", "route": "peel", "hops": 1, "deposit_accounts": 1, "cases": [{"prefecture": "Atlantis", "kind": "romance_fraud", "payments": 1, "amount_btc": 1.0}]}]}"#,
            "unknown prefecture 'Atlantis'",
        ),
        (r#"{"colour": 1}"#, "unknown field `colour`"),
    ] {
        std::fs::write(&bad, text).unwrap();
        let o = tmp.path().join("never");
        let e = stderr(&fails(&[
            "simulate",
            "--out",
            o.to_str().unwrap(),
            "--scenario",
            bad.to_str().unwrap(),
        ]));
        assert!(e.contains("bad.json") && e.contains(expect), "{text}: {e}");
        assert!(!o.exists(), "nothing written for a bad scenario");
    }
    let e = stderr(&fails(&["simulate", "--out", out.to_str().unwrap()]));
    assert!(e.contains("not empty"), "{e}");
}
