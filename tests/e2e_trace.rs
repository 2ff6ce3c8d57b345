//! End to end: following the money with `tracer trace` on the real
//! 2009–10 chain (block 9's coinbase through tx f4184fc5… to Hal Finney)
//! and on a simulated economy whose truth file knows where every case's
//! proceeds cashed out; bad cases and seeds; byte-identical output.

mod support;

use std::path::{Path, PathBuf};

use serde_json::Value;
use support::{
    amount, fails, fixture, ingest_main, json, ok, simulated_ledger, stderr, truth_records,
};

const REAL_CHAIN: &str = "bitcoin/blk-heights-0-4312.dat";
const COINBASE_9: &str = "0437cd7f8525ceed2324359c2d0ba26006d92d856a9c20fa0241106ee5a597c9";
const TX_170: &str = "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16";
const HAL: &str = "1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3";
const SATOSHI_9: &str = "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S";

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A case file seeded with `seed` (a `[[seed]]` body).
fn write_case(dir: &Path, name: &str, seed: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(
        &p,
        format!(
            "format = 1\n[case]\nid = \"TEST-0001\"\nprefecture = \"Tokyo\"\n\
             crime = \"communications_fraud\"\nreported = 2026-03-02\n\
             investigator = \"Test\"\n\n[[seed]]\nchain = \"bitcoin\"\n{seed}\n"
        ),
    )
    .unwrap();
    p
}

/// A case file whose seeds are the victim payments of a truth file's case.
fn truth_case_file(dir: &Path, name: &str, case: &Value) -> std::path::PathBuf {
    let seeds: Vec<String> = case["payments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            format!(
                "payment = \"{}:{}\"",
                p["txid"].as_str().unwrap(),
                p["vout"]
            )
        })
        .collect();
    write_case(
        dir,
        name,
        &seeds.join("\n\n[[seed]]\nchain = \"bitcoin\"\n"),
    )
}

fn trace_case(db: &Path, case: &Path, out: &Path, extra: &[&str]) -> (Value, Vec<u8>) {
    let mut args = vec!["--db", s(db), "trace", s(case), "--out", s(out)];
    args.extend_from_slice(extra);
    ok(&args);
    let bytes = std::fs::read(out.join("trace.json")).unwrap();
    (serde_json::from_slice(&bytes).unwrap(), bytes)
}

fn edge<'a>(t: &'a Value, txid: &str, vout: u64) -> &'a Value {
    t["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["txid"] == txid && e["vout"] == vout)
        .unwrap_or_else(|| panic!("no edge {txid}:{vout} in {}", t["edges"]))
}

fn node_of<'a>(t: &'a Value, i: &Value) -> &'a Value {
    &t["nodes"][i.as_u64().unwrap() as usize]
}

/// Every satoshi of a haircut trace is somewhere: endpoints, unspent, fees,
/// CoinJoins, no address, or beyond a limit.
fn conserved(t: &Value) -> bool {
    let s = &t["summary"];
    let b = &s["beyond"];
    let parts = ["endpoints", "unspent", "fees", "coinjoins", "no_address"]
        .iter()
        .map(|k| amount(&s[*k]))
        .sum::<u128>()
        + ["max_hops", "min_amount", "time_limit", "max_txs"]
            .iter()
            .map(|k| amount(&b[*k]))
            .sum::<u128>();
    parts == amount(&s["seed_value"])
}

/// Blocks 0–4312 ingested into `dir/db`, and a case file seeded with block
/// 9's coinbase output (the coins Satoshi later paid Hal Finney).
fn coinbase_9_case(dir: &Path) -> (PathBuf, PathBuf) {
    let db = dir.join("db");
    ingest_main(&db, &fixture(REAL_CHAIN));
    let case = write_case(dir, "c.toml", &format!("payment = \"{COINBASE_9}:0\""));
    (db, case)
}

#[test]
fn forward_trace_follows_block_9_coinbase_to_hal_finney_under_every_model() {
    let tmp = tempfile::tempdir().unwrap();
    let (db, case) = coinbase_9_case(tmp.path());
    let out = tmp.path().join("out");
    let models = ["haircut", "poison", "fifo", "lifo"];
    let (t, bytes) = trace_case(
        &db,
        &case,
        &out,
        &["--level", "address", "--model", &models.join(",")],
    );
    assert_eq!(t["case"]["id"], "TEST-0001");
    assert_eq!(t["seeds"][0]["txid"], COINBASE_9);
    assert_eq!(t["seeds"][0]["height"], 9);
    assert_eq!(amount(&t["summary"]["seed_value"]), 50 * 100_000_000);
    let schema: Value = serde_json::from_str(trace_file::SCHEMA).unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the schema is valid");
    // Every model: 10 BTC to Hal in tx 170 (a hop), 40 BTC back to the sender (no hop).
    for (i, m) in models.iter().enumerate() {
        let t: Value = if i == 0 {
            t.clone()
        } else {
            serde_json::from_slice(&std::fs::read(out.join(format!("trace-{m}.json"))).unwrap())
                .unwrap()
        };
        let errors: Vec<String> = validator.iter_errors(&t).map(|e| e.to_string()).collect();
        assert!(
            errors.is_empty(),
            "{m}: trace file against its schema: {errors:?}"
        );
        assert_eq!(t["format"], 2);
        assert_eq!(t["params"]["model"], *m);
        let hal = edge(&t, TX_170, 0);
        assert_eq!(node_of(&t, &hal["to"])["address"], HAL, "{m}");
        assert_eq!(hal["address"], HAL);
        assert_eq!(amount(&hal["amount"]), 10 * 100_000_000, "{m}");
        assert_eq!(
            (hal["height"].as_u64(), hal["hop"].as_u64()),
            (Some(170), Some(1))
        );
        assert_eq!(
            (hal["rule"].as_str(), hal["confidence"].as_u64()),
            (Some("transfer"), Some(100))
        );
        let change = edge(&t, TX_170, 1);
        assert_eq!(change["address"], SATOSHI_9);
        assert_eq!(amount(&change["amount"]), 40 * 100_000_000, "{m}");
        assert_eq!(change["rule"], "self_change");
        assert_eq!(change["hop"], 0);
        if *m != "poison" {
            assert!(conserved(&t), "{m}: {}", t["summary"]);
        }
    }
    let cmp: Value =
        serde_json::from_slice(&std::fs::read(out.join("comparison.json")).unwrap()).unwrap();
    assert_eq!(cmp["unit"]["symbol"], "BTC");
    let rows = cmp["models"].as_array().unwrap();
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[1]["model"], "poison");
    // Poison taints whole outputs: never less than haircut.
    assert!(amount(&rows[1]["unspent"]) >= amount(&rows[0]["unspent"]));

    // The same command on the same ledger: byte-identical output (the file
    // records its command, output directory included).
    std::fs::remove_dir_all(&out).unwrap();
    let (_, again) = trace_case(
        &db,
        &case,
        &out,
        &["--level", "address", "--model", &models.join(",")],
    );
    assert_eq!(bytes, again);

    // A hop limit of 0 stops at Hal's 10 BTC (beyond the limit).
    let (t0, _) = trace_case(
        &db,
        &case,
        &tmp.path().join("h0"),
        &["--level", "address", "--max-hops", "0"],
    );
    assert!(amount(&t0["summary"]["beyond"]["max_hops"]) >= 10 * 100_000_000);
    assert!(conserved(&t0));

    // Tx 170 (2009-01-12) lies past a time limit of 2009-01-11: all 50 BTC
    // stop there, for coins (haircut) and for accounts (FIFO) alike.
    for m in ["haircut", "fifo"] {
        let dir = tmp.path().join(format!("until-{m}"));
        let args = [
            "--level",
            "address",
            "--model",
            m,
            "--time-limit",
            "2009-01-11",
        ];
        let (t, _) = trace_case(&db, &case, &dir, &args);
        let s = &t["summary"];
        assert_eq!(
            amount(&s["beyond"]["time_limit"]),
            50 * 100_000_000,
            "{m}: {s}"
        );
        assert_eq!(amount(&s["unspent"]), 0, "{m}: {s}");
        assert!(conserved(&t), "{m}: {s}");
    }

    // --min-amount is in BTC here: 0 follows every branch; 20 BTC stops
    // Hal's 10 BTC; a ninth decimal does not exist.
    let (t, _) = trace_case(
        &db,
        &case,
        &tmp.path().join("min0"),
        &["--level", "address", "--min-amount", "0"],
    );
    assert_eq!(t["params"]["limits"]["min_amount"], "0");
    assert_eq!(amount(&t["summary"]["beyond"]["min_amount"]), 0);
    assert_eq!(amount(&edge(&t, TX_170, 0)["amount"]), 10 * 100_000_000);
    let (t, _) = trace_case(
        &db,
        &case,
        &tmp.path().join("min20"),
        &["--level", "address", "--min-amount", "20"],
    );
    assert_eq!(
        amount(&t["params"]["limits"]["min_amount"]),
        20 * 100_000_000
    );
    assert!(amount(&t["summary"]["beyond"]["min_amount"]) >= 10 * 100_000_000);
    let e = support::trace_fails(
        &db,
        &case,
        &tmp.path().join("min9"),
        &["--level", "address", "--min-amount", "0.000000001"],
    );
    assert!(
        e.contains("--min-amount (in BTC)") && e.contains("at most 8"),
        "{e}"
    );
}

#[test]
fn backward_trace_finds_the_mined_origin_of_hals_coins() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("db");
    ingest_main(&db, &fixture(REAL_CHAIN));
    let t = json(&[
        "--db",
        s(&db),
        "trace",
        "address",
        HAL,
        "--backward",
        "--level",
        "address",
        "--json",
    ]);
    assert_eq!(t["direction"], "backward");
    let hal_in = edge(&t, TX_170, 0);
    assert_eq!(node_of(&t, &hal_in["from"])["address"], SATOSHI_9);
    assert_eq!(node_of(&t, &hal_in["to"])["address"], HAL);
    // Hal's first receipt (10 BTC in tx 170) came from block 9's coinbase.
    assert!(
        amount(&t["summary"]["mined"]) >= 10 * 100_000_000,
        "{}",
        t["summary"]
    );
    let out = fails(&[
        "--db",
        s(&db),
        "trace",
        "address",
        HAL,
        "--backward",
        "--level",
        "address",
        "--model",
        "fifo",
    ]);
    assert!(
        stderr(&out).contains("fifo model is not defined backward"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn simulated_cases_reach_their_true_exchange_deposits() {
    let (tmp, sim, db) = simulated_ledger(7);
    ok(&["--db", s(&db), "tags", "import", s(&sim.join("tags.yaml"))]);
    ok(&["--db", s(&db), "cluster", "build"]);
    let records = truth_records(&sim);
    let routes: std::collections::HashMap<u64, String> = records
        .iter()
        .filter(|r| r["type"] == "group")
        .map(|r| {
            (
                r["id"].as_u64().unwrap(),
                r["route"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    // A direct route case (no mixing): its trace must name the truth's deposit addresses.
    let case = records
        .iter()
        .filter(|r| r["type"] == "case")
        .find(|r| {
            let route = &routes[&r["group"].as_u64().unwrap()];
            matches!(route.as_str(), "consolidate" | "peel")
                && !r["endpoints"].as_array().unwrap().is_empty()
        })
        .expect("a case on a direct route");
    let file = truth_case_file(tmp.path(), "sim.toml", case);
    let (t, _) = trace_case(&db, &file, &tmp.path().join("out"), &[]);
    assert!(conserved(&t), "{}", t["summary"]);
    let traced: std::collections::HashMap<(String, u64), u128> = t["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| e["outputs"].as_array().unwrap().iter())
        .map(|o| {
            (
                (
                    o["txid"].as_str().unwrap().to_string(),
                    o["vout"].as_u64().unwrap(),
                ),
                amount(&o["amount"]),
            )
        })
        .collect();
    let (mut want, mut found) = (0u128, 0u128);
    for e in case["endpoints"].as_array().unwrap() {
        let key = (
            e["output"]["txid"].as_str().unwrap().to_string(),
            e["output"]["vout"].as_u64().unwrap(),
        );
        let truth = u128::from(e["from_case"].as_u64().unwrap());
        want += truth;
        found += traced.get(&key).copied().unwrap_or(0).min(truth);
    }
    assert!(found * 100 >= want * 95, "found {found} of {want}");
    for e in t["endpoints"].as_array().unwrap() {
        assert_eq!(e["class"], "Exchange");
        assert_eq!(e["evidence"]["rule"], "deposit_sweep");
        assert!(e["evidence"]["sweep_txid"].is_string());
    }

    // Over every case and model: scored against the truth.
    let out = tmp.path().join("eval");
    let v = json(&[
        "--db",
        s(&db),
        "evaluate",
        "--truth",
        s(&sim.join("truth.jsonl")),
        "--traces",
        "haircut,fifo",
        "--out",
        s(&out),
        "--json",
    ]);
    let haircut = &v["tracing"]["models"][0];
    assert_eq!(haircut["model"], "haircut");
    for r in haircut["routes"].as_array().unwrap() {
        let (recall, ceiling) = (
            r["recall"].as_f64().unwrap(),
            r["ceiling"].as_f64().unwrap(),
        );
        // No trace that stops at CoinJoins and mixers finds more than the
        // truth says is reachable without crossing them.
        assert!(recall <= ceiling + 1e-9, "{r}");
        match r["name"].as_str().unwrap() {
            "consolidate" | "peel" => {
                assert!(ceiling > 0.999 && recall >= 0.95, "{r}");
            }
            "mixer" | "wasabi2" => assert_eq!(ceiling, 0.0, "{r}"),
            _ => {}
        }
    }
    // Of what is reachable, the trace finds nearly all.
    let all = &haircut["all"];
    assert!(
        all["recall"].as_f64().unwrap() >= 0.95 * all["ceiling"].as_f64().unwrap(),
        "{all}"
    );
    assert!(
        haircut["all"]["accounted"].as_f64().unwrap() >= 0.95,
        "{haircut}"
    );
    assert!(out.join("trace-evaluation.md").exists());
    coinjoin_exits_reach_the_cases_own_deposit_accounts(&tmp, &db, &sim, &records, &routes, &v);
}

/// `--coinjoin-exits` on the same chain: a Whirlpool case's trace goes out
/// of its CoinJoins only to outputs of the group's own wallet (truth),
/// keeps every satoshi accounted for, and finds more of the truth's deposit
/// value than the barrier trace, at ≥ 95% precision.
fn coinjoin_exits_reach_the_cases_own_deposit_accounts(
    tmp: &tempfile::TempDir,
    db: &Path,
    sim: &Path,
    records: &[Value],
    routes: &std::collections::HashMap<u64, String>,
    barrier: &Value,
) {
    let owner: std::collections::HashMap<&str, u64> = records
        .iter()
        .filter(|r| r["type"] == "address")
        .map(|r| {
            (
                r["address"].as_str().unwrap(),
                r["entity"].as_u64().unwrap(),
            )
        })
        .collect();
    let entity = |group: u64| {
        records
            .iter()
            .find(|r| r["type"] == "group" && r["id"] == group)
            .unwrap()["entity"]
            .as_u64()
            .unwrap()
    };
    let mut exits = 0;
    for case in records.iter().filter(|r| r["type"] == "case") {
        let group = case["group"].as_u64().unwrap();
        if routes[&group] != "whirlpool" {
            continue;
        }
        let file = truth_case_file(tmp.path(), "whirlpool.toml", case);
        let out = tmp.path().join(format!("exits-{}", case["id"]));
        let (t, _) = trace_case(db, &file, &out, &["--coinjoin-exits"]);
        assert_eq!(t["params"]["coinjoins"], "exits");
        assert!(conserved(&t), "{}", t["summary"]);
        for e in t["edges"].as_array().unwrap() {
            if e["rule"] == "coinjoin_exit" {
                exits += 1;
                assert_eq!(e["confidence"], 50, "{e}");
                assert!(e["heuristics"]
                    .as_str()
                    .unwrap()
                    .ends_with("+deposit_address_reuse"));
                let to = e["address"].as_str().unwrap();
                assert_eq!(
                    owner[to],
                    entity(group),
                    "exit {e} leaves the group's wallet"
                );
            }
        }
    }
    assert!(exits > 0, "no CoinJoin exit followed");

    let truth = sim.join("truth.jsonl");
    let evaluate = |model: &'static str| {
        let args = ["--db", s(db), "evaluate", "--truth", s(&truth)];
        [&args[..], &["--traces", model, "--trace-coinjoin-exits"]].concat()
    };
    let v = json(&[&evaluate("haircut")[..], &["--json"]].concat());
    let route = |e: &Value, name: &str| {
        e["tracing"]["models"][0]["routes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .cloned()
            .unwrap()
    };
    let (before, after) = (route(barrier, "whirlpool"), route(&v, "whirlpool"));
    let recall = |r: &Value| r["recall"].as_f64().unwrap();
    assert!(recall(&after) > recall(&before), "{before} → {after}");
    assert!(after["precision"].as_f64().unwrap() >= 0.95, "{after}");
    assert_eq!(v["tracing"]["coinjoins"], "exits");
    // Exits are followed under the proportional models only.
    let e = stderr(&fails(&evaluate("fifo")));
    assert!(e.contains("haircut and poison models only"), "{e}");
}

#[test]
fn bad_cases_and_unknown_seeds_are_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("db");
    ingest_main(&db, &fixture(REAL_CHAIN));
    let out = tmp.path().join("out");
    let unknown = "00000000000000000000000000000000000000000000000000000000000000aa";
    let case = write_case(tmp.path(), "u.toml", &format!("payment = \"{unknown}:0\""));
    let e = support::trace_fails(&db, &case, &out, &["--level", "address"]);
    assert!(
        e.contains(unknown) && e.contains("not in the ledger"),
        "{e}"
    );
    let bad = fixture("cases/bad-prefecture.toml");
    let e = stderr(&fails(&[
        "--db",
        s(&db),
        "trace",
        s(&bad),
        "--out",
        s(&out),
    ]));
    assert!(
        e.contains("bad-prefecture.toml") && e.contains("prefecture"),
        "{e}"
    );
    let good = fixture("cases/tokyo-2026-0001.toml");
    let e = stderr(&fails(&[
        "--db",
        s(&db),
        "trace",
        s(&good),
        "--out",
        s(&out),
    ]));
    assert!(e.contains("cluster build"), "no clusters yet: {e}");
    let e = stderr(&fails(&[
        "--db",
        s(&db),
        "trace",
        s(&good),
        "--out",
        s(&out),
        "--level",
        "address",
        "--model",
        "taint",
    ]));
    assert!(e.contains("unknown model 'taint'"), "{e}");
    let e = stderr(&fails(&[
        "--db",
        s(&db),
        "trace",
        "address",
        "1NotAnAddress",
        "--level",
        "address",
    ]));
    assert!(e.contains("1NotAnAddress"), "{e}");
    assert!(!out.join("trace.json").exists(), "nothing written on error");
}

/// An exchange sweep co-spends the deposit addresses of several customers,
/// so the cospend clustering makes them one node — one account under the
/// FIFO and LIFO models. Every model, at both cluster levels, must still
/// name each case's own deposit address (where its funds arrived), never
/// another customer's; `tracer evaluate` scores exactly that per model;
/// and an arrival's hop count is that of its own path, the same under
/// haircut and FIFO.
#[test]
fn every_model_names_the_cases_own_deposit_address_behind_a_shared_sweep() {
    let (tmp, sim, db) = simulated_ledger(7);
    ok(&["--db", s(&db), "tags", "import", s(&sim.join("tags.yaml"))]);
    ok(&["--db", s(&db), "cluster", "build"]);
    let change = ["--level", "cospend+change"];
    ok(&[&["--db", s(&db), "cluster", "build"][..], &change[..]].concat());
    let records = truth_records(&sim);
    let customer: std::collections::HashMap<&str, u64> = records
        .iter()
        .filter(|r| r["type"] == "address" && r["role"] == "deposit")
        .map(|r| {
            (
                r["address"].as_str().unwrap(),
                r["customer"].as_u64().unwrap(),
            )
        })
        .collect();
    let cases: Vec<&Value> = records.iter().filter(|r| r["type"] == "case").collect();
    let case_deposits: std::collections::BTreeSet<&str> = cases
        .iter()
        .flat_map(|c| c["endpoints"].as_array().unwrap())
        .map(|e| e["address"].as_str().unwrap())
        .collect();
    // The chain has the shape the defect needs: a sweep co-spending the
    // deposit addresses of ≥ 3 customers, one of them a case's.
    let shared_sweep = records
        .iter()
        .filter(|r| r["type"] == "tx" && r["purpose"] == "exchange_sweep")
        .find(|r| {
            let tx = json(&["--db", s(&db), "tx", r["txid"].as_str().unwrap(), "--json"]);
            let inputs: Vec<&str> = tx["inputs"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|i| i["address"]["address"].as_str())
                .collect();
            let customers: std::collections::BTreeSet<u64> = inputs
                .iter()
                .filter_map(|a| customer.get(a).copied())
                .collect();
            customers.len() >= 3 && inputs.iter().any(|a| case_deposits.contains(a))
        });
    assert!(
        shared_sweep.is_some(),
        "no sweep co-spends ≥ 3 customers' deposits"
    );

    let truth = sim.join("truth.jsonl");
    for level in ["cospend", "cospend+change"] {
        let v = json(&[
            "--db",
            s(&db),
            "evaluate",
            "--truth",
            s(&truth),
            "--traces",
            "haircut,poison,fifo,lifo",
            "--trace-level",
            level,
            "--json",
        ]);
        let models = v["tracing"]["models"].as_array().unwrap();
        assert_eq!(models.len(), 4);
        for m in models {
            let all = &m["all"];
            let named = all["deposits_named"].as_u64().unwrap();
            assert!(named > 0, "{level} {}: {all}", m["model"]);
            assert_eq!(
                all["deposit_precision"].as_f64(),
                Some(1.0),
                "{level} {}: a trace named another customer's deposit address: {all}",
                m["model"]
            );
            assert_eq!(
                all["deposits_right"], all["deposits_reachable"],
                "{level} {}: {all}",
                m["model"]
            );
        }
    }

    // Each case on its own, every model at cluster level: the endpoints
    // are the truth's deposit addresses of that case, and an output that
    // haircut and FIFO both name has one hop count.
    for (i, c) in cases.iter().enumerate() {
        let own: std::collections::BTreeSet<&str> = c["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["address"].as_str().unwrap())
            .collect();
        let file = truth_case_file(tmp.path(), &format!("c{i}.toml"), c);
        let out = tmp.path().join(format!("own-{i}"));
        trace_case(&db, &file, &out, &["--model", "haircut,fifo,lifo,poison"]);
        let mut hops: std::collections::HashMap<String, std::collections::BTreeMap<String, u64>> =
            Default::default();
        for (model, name) in [
            ("haircut", "trace.json"),
            ("fifo", "trace-fifo.json"),
            ("lifo", "trace-lifo.json"),
            ("poison", "trace-poison.json"),
        ] {
            let t: Value = serde_json::from_slice(&std::fs::read(out.join(name)).unwrap()).unwrap();
            for e in t["endpoints"].as_array().unwrap() {
                if e["class"] != "Exchange" {
                    continue;
                }
                let d = e["deposit_address"].as_str().unwrap();
                assert!(
                    own.contains(d),
                    "case {} under {model}: {d} is not one of its deposit addresses {own:?}",
                    c["id"]
                );
                for o in e["outputs"].as_array().unwrap() {
                    let key = format!("{}:{}", o["txid"].as_str().unwrap(), o["vout"]);
                    hops.entry(key)
                        .or_default()
                        .insert(model.to_string(), o["hop"].as_u64().unwrap());
                }
            }
        }
        for (out, by_model) in &hops {
            if let (Some(h), Some(f)) = (by_model.get("haircut"), by_model.get("fifo")) {
                assert_eq!(h, f, "case {} output {out}: hops {by_model:?}", c["id"]);
            }
        }
    }
}

/// A trace file edited by hand or by an attacker — an edge to a node that
/// does not exist, totals that do not add up, an old format, an amount as a
/// bare number, a device in its place — is refused by every reader with the
/// file and the field named, before anything is written.
#[test]
fn hostile_trace_files_are_refused_by_report_export_and_import() {
    let tmp = tempfile::tempdir().unwrap();
    let (db, case) = coinbase_9_case(tmp.path());
    let good = tmp.path().join("good");
    let (t, _) = trace_case(&db, &case, &good, &["--level", "address"]);
    let edit = |name: &str, f: &dyn Fn(&mut Value)| {
        let dir = tmp.path().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let mut v = t.clone();
        f(&mut v);
        std::fs::write(dir.join("trace.json"), serde_json::to_vec(&v).unwrap()).unwrap();
        dir
    };
    let nodes = t["nodes"].as_array().unwrap().len();
    let cases: Vec<(PathBuf, String)> = vec![
        (
            edit("to", &|v| v["edges"][0]["to"] = Value::from(nodes + 56)),
            format!("edges[0].to: node {} does not exist", nodes + 56),
        ),
        (
            edit("sum", &|v| v["summary"]["unspent"] = Value::from("1")),
            "the haircut model conserves value".to_string(),
        ),
        (
            edit("old", &|v| v["format"] = Value::from(1)),
            "trace file format 1".to_string(),
        ),
        (
            edit("number", &|v| v["summary"]["fees"] = Value::from(0)),
            "not a tracer trace file".to_string(),
        ),
    ];
    for (dir, expect) in &cases {
        let out = tmp.path().join("report");
        let e = stderr(&fails(&[
            "--db",
            s(&db),
            "report",
            s(&case),
            "--trace",
            s(dir),
            "--out",
            s(&out),
        ]));
        assert!(
            e.contains("trace.json") && e.contains(expect.as_str()),
            "{e}"
        );
        assert!(!out.exists(), "a report was written from {}", dir.display());
        let bundle = tmp.path().join("bundle");
        let e = stderr(&fails(&[
            "export",
            s(&case),
            "--trace",
            s(dir),
            "--out",
            s(&bundle),
        ]));
        assert!(e.contains(expect.as_str()), "{e}");
        assert!(!bundle.exists());
    }
    // A device where the trace file should be.
    let dev = tmp.path().join("dev");
    std::fs::create_dir_all(&dev).unwrap();
    std::os::unix::fs::symlink("/dev/zero", dev.join("trace.json")).unwrap();
    let e = stderr(&fails(&[
        "--db",
        s(&db),
        "report",
        s(&case),
        "--trace",
        s(&dev),
        "--out",
        s(&tmp.path().join("r")),
    ]));
    assert!(e.contains("not a regular file"), "{e}");
}
