//! Address clustering end to end: co-spend clusters of the real 2009 chain
//! checked against an independent union-find over PyPI `embit`'s decoding,
//! the evidence of every merge checkable on the chain, error rates on a
//! simulated economy with ground truth, incremental builds equal to full
//! ones, the CoinJoin guard and the collapse guard.

mod support;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::process::Command;

use serde_json::Value;
use support::{
    fails, fixture, ingest_main, ingest_regtest, json, root, simulate_small, simulated_ledger,
    stderr, truth_records,
};

const REAL_CHAIN: &str = "bitcoin/blk-heights-0-4312.dat";
/// The transaction of block 3645 that spends 44 early coinbase outputs at once.
const BIG_COSPEND: &str = "cec658ace2eb9fe79473a0161ea726a69924fdc17d59c39d7c58f44c36d034c1";

fn db_str(db: &Path) -> &str {
    db.to_str().unwrap()
}

/// Co-spend clusters (two or more addresses) computed from `embit`'s
/// decoding of `blk`, with a union-find written here (not tracer's).
fn independent_cospend_clusters(blk: &Path) -> Vec<BTreeSet<String>> {
    let out = Command::new("python3")
        .arg(root().join("tests/tools/embit_decode.py"))
        .arg(blk)
        .output()
        .expect("python3");
    assert!(out.status.success(), "embit_decode.py: {}", stderr(&out));
    let blocks: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut owner_of_output: HashMap<(String, u64), String> = HashMap::new();
    let mut parent: BTreeMap<String, String> = BTreeMap::new();
    fn find(p: &mut BTreeMap<String, String>, x: &str) -> String {
        let mut x = x.to_string();
        loop {
            let up = p.entry(x.clone()).or_insert_with(|| x.clone()).clone();
            if up == x {
                return x;
            }
            x = up;
        }
    }
    for block in blocks.as_array().unwrap() {
        for tx in block["txs"].as_array().unwrap() {
            let txid = tx["txid"].as_str().unwrap();
            let inputs: Vec<String> = tx["inputs"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|i| {
                    let key = (
                        i["txid"].as_str().unwrap().to_string(),
                        i["vout"].as_u64().unwrap(),
                    );
                    owner_of_output.get(&key).cloned()
                })
                .collect();
            for a in inputs.iter().skip(1) {
                let (ra, rb) = (find(&mut parent, &inputs[0]), find(&mut parent, a));
                if ra != rb {
                    parent.insert(ra, rb);
                }
            }
            for (vout, o) in tx["outputs"].as_array().unwrap().iter().enumerate() {
                if let Some(a) = o["address"].as_str() {
                    owner_of_output.insert((txid.to_string(), vout as u64), a.to_string());
                }
            }
        }
    }
    let keys: Vec<String> = parent.keys().cloned().collect();
    let mut groups: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for k in keys {
        let r = find(&mut parent, &k);
        groups.entry(r).or_default().insert(k);
    }
    groups.into_values().filter(|g| g.len() > 1).collect()
}

fn members(db: &Path, level: &str, address: &str) -> (Value, BTreeSet<String>) {
    let v = json(&[
        "--db",
        db_str(db),
        "cluster",
        "show",
        address,
        "--level",
        level,
        "--limit",
        "0",
        "--json",
    ]);
    let m = v["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["address"].as_str().unwrap().to_string())
        .collect();
    (v, m)
}

fn explain(db: &Path, level: &str, a: &str, b: &str) -> Value {
    json(&[
        "--db",
        db_str(db),
        "cluster",
        "explain",
        a,
        b,
        "--level",
        level,
        "--json",
    ])
}

#[test]
fn real_chain_cospend_clusters_match_an_independent_union_find() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("db");
    ingest_main(&db, &fixture(REAL_CHAIN));
    let b = json(&["--db", db_str(&db), "cluster", "build", "--json"]);
    assert_eq!(b["level"], "cospend");
    assert_eq!(b["mode"], "full");
    assert_eq!(b["transactions"], 4371);
    assert_eq!(
        b["largest"][1], 44,
        "the 44-input spend of block 3645 is the largest cluster"
    );
    assert!(
        b["coinjoins"].as_object().unwrap().is_empty(),
        "no CoinJoins in 2009–10"
    );

    let expected = independent_cospend_clusters(&fixture(REAL_CHAIN));
    assert_eq!(expected.iter().map(|g| g.len()).max(), Some(44));
    for group in &expected {
        let first = group.iter().next().unwrap();
        let (v, got) = members(&db, "cospend", first);
        assert_eq!(&got, group, "cluster of {first}");
        assert_eq!(v["size"], group.len());
        assert_eq!(v["level"], "cospend");
    }
    let big = expected.iter().find(|g| g.len() == 44).unwrap();
    let (a, z) = (big.iter().next().unwrap(), big.iter().last().unwrap());
    let ex = explain(&db, "cospend", a, z);
    assert_eq!(ex["joined"], true);
    for step in ex["steps"].as_array().unwrap() {
        assert_eq!(step["evidence"]["txid"], BIG_COSPEND);
        assert_eq!(step["evidence"]["height"], 3645);
        assert_eq!(step["evidence"]["rule"], "multi_input");
        // The evidence is checkable on the chain: both addresses are inputs of the transaction.
        let tx = json(&["--db", db_str(&db), "tx", BIG_COSPEND, "--json"]);
        let inputs: BTreeSet<&str> = tx["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|i| i["address"]["address"].as_str())
            .collect();
        assert!(inputs.contains(step["from"]["address"].as_str().unwrap()));
        assert!(inputs.contains(step["to"]["address"].as_str().unwrap()));
    }
    // Addresses of two different clusters are not joined, and the answer says so.
    let other = expected.iter().find(|g| !g.contains(a)).unwrap();
    let apart = explain(&db, "cospend", a, other.iter().next().unwrap());
    assert_eq!(apart["joined"], false);
    assert!(apart["steps"].as_array().unwrap().is_empty());
    // Unknown and invalid addresses are named errors.
    let e = stderr(&fails(&[
        "--db",
        db_str(&db),
        "cluster",
        "show",
        "1NotAnAddress",
    ]));
    assert!(e.contains("1NotAnAddress"), "{e}");
}

/// Reads `evaluation.json` written by `tracer evaluate --out`.
fn evaluate(db: &Path, truth: &Path, out: &Path) -> (Value, Vec<u8>) {
    json(&[
        "--db",
        db_str(db),
        "evaluate",
        "--truth",
        truth.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]);
    let bytes = std::fs::read(out.join("evaluation.json")).unwrap();
    (serde_json::from_slice(&bytes).unwrap(), bytes)
}

fn row<'a>(rows: &'a Value, key: &str, name: &str) -> &'a Value {
    rows.as_array()
        .unwrap()
        .iter()
        .find(|r| r[key] == name)
        .unwrap_or_else(|| panic!("no row {name}"))
}

#[test]
fn simulated_error_rates_meet_the_bounds_and_are_reproducible() {
    let (tmp, sim, db) = simulated_ledger(3);
    let truth = sim.join("truth.jsonl");
    let (e, bytes) = evaluate(&db, &truth, &tmp.path().join("eval1"));
    let (_, again) = evaluate(&db, &truth, &tmp.path().join("eval2"));
    assert_eq!(bytes, again, "same inputs, byte-identical evaluation");
    let md = std::fs::read_to_string(tmp.path().join("eval1/evaluation.md")).unwrap();
    assert!(
        md.contains("| cospend |") && md.contains("| fresh_address |"),
        "{md}"
    );

    let cospend = row(&e["clustering"], "level", "cospend");
    let change = row(&e["clustering"], "level", "cospend+change");
    assert!(cospend["precision"].as_f64().unwrap() >= 0.995, "{cospend}");
    assert!(change["precision"].as_f64().unwrap() >= 0.99, "{change}");
    assert!(
        change["recall"].as_f64() > cospend["recall"].as_f64(),
        "change links add recall"
    );
    assert!(cospend["correct_pairs"].as_u64().unwrap() > 10_000);

    // The truth's CoinJoins, counted independently from truth.jsonl.
    let records = truth_records(&sim);
    let purposes: Vec<&str> = records
        .iter()
        .filter(|r| r["type"] == "tx")
        .map(|r| r["purpose"].as_str().unwrap())
        .collect();
    for (kind, purpose) in [
        ("whirlpool_tx0", "whirlpool_tx0"),
        ("whirlpool", "whirlpool_mix"),
        ("wasabi2", "wasabi2_mix"),
        ("joinmarket", "joinmarket_mix"),
    ] {
        let r = row(&e["coinjoins"], "kind", kind);
        let actual = purposes.iter().filter(|p| **p == purpose).count() as u64;
        assert!(actual > 0, "the small preset has {purpose} transactions");
        assert_eq!(r["actual"], actual, "{kind}");
        assert!(r["false_negative_rate"].as_f64().unwrap() <= 0.05, "{r}");
        assert!(r["false_positive_rate"].as_f64().unwrap() <= 0.001, "{r}");
    }
    // Change: the vote of all heuristics (none against) is the best rule.
    let consensus = row(
        &e["change"],
        "heuristic",
        "policy: 1+ agreeing, none against",
    );
    assert!(
        consensus["coverage"].as_f64().unwrap() >= 0.55,
        "{consensus}"
    );
    assert!(
        consensus["precision"].as_f64().unwrap() >= 0.96,
        "{consensus}"
    );
    for h in [
        "fresh_address",
        "address_reuse",
        "round_payment",
        "locktime",
    ] {
        let r = row(&e["change"], "heuristic", h);
        assert!(r["candidates"].as_u64().unwrap() > 50, "{r}");
        assert!(r["precision"].as_f64().unwrap() >= 0.9, "{r}");
    }
    let reuse = row(&e["change"], "heuristic", "address_reuse");
    assert_eq!(
        reuse["correct"], reuse["candidates"],
        "paying back to an input is always change"
    );

    // Stored clusters: Whirlpool mixes are detected and their inputs (five
    // different people) stay in five different clusters.
    json(&["--db", db_str(&db), "cluster", "build", "--json"]);
    let cjs = json(&["--db", db_str(&db), "cluster", "coinjoins", "--json"]);
    let mixes: Vec<&Value> = cjs
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == "whirlpool")
        .collect();
    let truth_mixes: BTreeSet<&str> = records
        .iter()
        .filter(|r| r["type"] == "tx" && r["purpose"] == "whirlpool_mix")
        .map(|r| r["txid"].as_str().unwrap())
        .collect();
    assert_eq!(
        mixes
            .iter()
            .map(|c| c["txid"].as_str().unwrap())
            .collect::<BTreeSet<_>>(),
        truth_mixes
    );
    let mix = json(&[
        "--db",
        db_str(&db),
        "tx",
        mixes[0]["txid"].as_str().unwrap(),
        "--json",
    ]);
    let clusters: BTreeSet<u64> = mix["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let a = i["address"]["address"].as_str().unwrap();
            members(&db, "cospend", a).0["cluster"]["id"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(clusters.len(), 5, "CoinJoin inputs are never merged");
}

#[test]
fn incremental_build_equals_a_full_build() {
    let tmp = tempfile::tempdir().unwrap();
    let sim = tmp.path().join("sim");
    simulate_small(&sim, 5);
    let blk = sim.join("blocks/blk00000.dat");
    let part = tmp.path().join("part");
    support::first_blocks(&blk, 180, &part);
    let (inc, full) = (tmp.path().join("inc"), tmp.path().join("full"));
    ingest_regtest(&inc, &part);
    let first = json(&["--db", db_str(&inc), "cluster", "build", "--json"]);
    assert_eq!(first["mode"], "full");
    ingest_regtest(&inc, &sim.join("blocks"));
    let second = json(&["--db", db_str(&inc), "cluster", "build", "--json"]);
    assert_eq!(second["mode"], "incremental");
    assert_eq!(second["from_tx"], first["transactions"]);
    assert!(second["transactions"].as_u64().unwrap() > 0);

    ingest_regtest(&full, &sim.join("blocks"));
    let whole = json(&["--db", db_str(&full), "cluster", "build", "--json"]);
    for key in ["clusters", "multi_address_clusters", "largest", "addresses"] {
        assert_eq!(second[key], whole[key], "{key}");
    }
    // Every address of the truth: same cluster, same statistics.
    let addresses: Vec<String> = truth_records(&sim)
        .iter()
        .filter(|r| r["type"] == "address")
        .map(|r| r["address"].as_str().unwrap().to_string())
        .step_by(25)
        .collect();
    assert!(addresses.len() > 100);
    for a in &addresses {
        let show = |db: &Path| {
            let out = support::tracer()
                .args([
                    "--db",
                    db_str(db),
                    "cluster",
                    "show",
                    a,
                    "--limit",
                    "0",
                    "--json",
                ])
                .output()
                .unwrap();
            out.stdout
        };
        assert_eq!(show(&inc), show(&full), "cluster of {a}");
    }
}

/// `tracer tags import FILES… --json` into `db`.
fn import_tags(db: &Path, files: &[&str]) -> Value {
    let mut args = vec!["--db", db_str(db), "tags", "import"];
    args.extend_from_slice(files);
    args.push("--json");
    json(&args)
}

#[test]
fn collapse_guard_refuses_to_merge_two_tagged_services() {
    let (tmp, sim, db) = simulated_ledger(9);
    // An exchange sweep co-spends deposit addresses of one exchange. Tag two
    // of them as two different exchanges (bad intelligence): the merge that
    // would join them must be refused and reported.
    let records = truth_records(&sim);
    let (sweep, a, b) = records
        .iter()
        .filter(|r| r["type"] == "tx" && r["purpose"] == "exchange_sweep")
        .find_map(|r| {
            let txid = r["txid"].as_str().unwrap();
            let tx = json(&["--db", db_str(&db), "tx", txid, "--json"]);
            let ins: BTreeSet<String> = tx["inputs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["address"]["address"].as_str().unwrap().to_string())
                .collect();
            let v: Vec<String> = ins.into_iter().collect();
            (v.len() >= 3).then(|| (txid.to_string(), v[0].clone(), v[v.len() - 1].clone()))
        })
        .expect("a sweep with three input addresses");
    let csv = tmp.path().join("intel.csv");
    std::fs::write(
        &csv,
        format!(
            "address,label,category,source,confidence,is_cluster_definer\n{a},Exchange Alpha,exchange,test intel,forensic_investigation,true\n{b},Exchange Beta,exchange,test intel,70,true\n"
        ),
    )
    .unwrap();
    let imported = import_tags(&db, &[csv.to_str().unwrap()]);
    assert_eq!(imported["tags"], 2);
    let built = json(&["--db", db_str(&db), "cluster", "build", "--json"]);
    assert!(built["conflicts"].as_u64().unwrap() >= 1, "{built}");
    assert_eq!(built["tagged_addresses"], 2);
    let conflicts = json(&["--db", db_str(&db), "cluster", "conflicts", "--json"]);
    let refused = conflicts
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["refused"]["txid"] == sweep.as_str())
        .expect("the sweep's merge is refused");
    let services: BTreeSet<&str> = [&refused["service_a"], &refused["service_b"]]
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert_eq!(
        services,
        BTreeSet::from(["exchange alpha", "exchange beta"])
    );
    assert_eq!(refused["refused"]["rule"], "multi_input");
    assert_eq!(explain(&db, "cospend", &a, &b)["joined"], false);
    let (va, _) = members(&db, "cospend", &a);
    assert_eq!(va["labels"], serde_json::json!(["exchange alpha"]));
    assert_eq!(va["tags"][0]["tag"]["label"], "Exchange Alpha");
}

#[test]
fn tagpacks_import_with_exact_counts_and_a_bad_pack_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("db");
    ingest_main(&db, &fixture(REAL_CHAIN));
    let dir = root().join("tests/fixtures/tags");
    let mut packs: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    packs.sort();
    assert_eq!(packs.len(), 29);
    let s = import_tags(&db, &packs.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(s["tags"], TAGPACK_TOTAL - TAGPACK_REFUSED);
    assert_eq!(s["replaced"], 0);
    // Addresses that are not addresses of their network are refused, each
    // named with its file, line and tag; the rest of the pack is imported.
    assert_eq!(s["refused"], TAGPACK_REFUSED);
    let tron = s["refused_tags"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["tag"] == "tags[530] (address TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq)")
        .expect("the TRON address filed under BTC in ofac.yaml");
    assert!(tron["file"].as_str().unwrap().ends_with("ofac.yaml"));
    assert_eq!(
        (&tron["line"], &tron["field"]),
        (&Value::from(1069), &Value::from("address"))
    );
    assert!(
        tron["reason"].as_str().unwrap().contains("a TRON address"),
        "{tron}"
    );
    assert_eq!(s["unchecked"]["LTC"], 29);
    let per_currency: u64 = s["by_currency"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(per_currency, TAGPACK_TOTAL - TAGPACK_REFUSED);
    let binance = json(&[
        "--db",
        db_str(&db),
        "tags",
        "show",
        "1NDyJtNTjmwk5xPNhjgAMu4HDHigtobu1s",
        "--json",
    ]);
    let t = &binance["tags"][0];
    assert_eq!(t["label"], "binance.com");
    assert_eq!(t["category"], "exchange");
    assert_eq!(t["is_cluster_definer"], true);
    assert_eq!(t["confidence_level"], 50);

    // A malformed pack: named error, non-zero exit, nothing written.
    let bad = dir.join("bad");
    let bad_pack = std::fs::read_dir(&bad)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "yaml"))
        .expect("a malformed fixture pack");
    let e = stderr(&fails(&[
        "--db",
        db_str(&db),
        "tags",
        "import",
        &packs[0],
        bad_pack.to_str().unwrap(),
    ]));
    assert!(
        e.contains(bad_pack.file_name().unwrap().to_str().unwrap()),
        "{e}"
    );
    let again = json(&[
        "--db",
        db_str(&db),
        "tags",
        "show",
        "1NDyJtNTjmwk5xPNhjgAMu4HDHigtobu1s",
        "--json",
    ]);
    assert_eq!(again, binance);

    // Re-importing a pack replaces its tags instead of doubling them.
    let binance_pack = packs.iter().find(|p| p.ends_with("/binance.yaml")).unwrap();
    let re = import_tags(&db, &[binance_pack]);
    assert_eq!(re["replaced"], re["tags"]);

    // A tag on one address shows on its whole cluster (the 44-input spend).
    let csv = tmp.path().join("tags.csv");
    let member = "126jEcDoSWgGm1XAAWNMG8DPMsZARS9AJE";
    std::fs::write(
        &csv,
        format!("address,label,category,source,confidence,is_cluster_definer\n{member},Early Miner,miner,test,forensic,true\n"),
    )
    .unwrap();
    import_tags(&db, &[csv.to_str().unwrap()]);
    json(&["--db", db_str(&db), "cluster", "build", "--json"]);
    let (_, cluster) = members(&db, "cospend", member);
    let other = cluster.iter().find(|m| *m != member).unwrap();
    let (v, _) = members(&db, "cospend", other);
    assert_eq!(v["labels"], serde_json::json!(["early miner"]));
    assert_eq!(v["tagged"], 1);
    assert_eq!(v["conflicting_tags"], false);
}

/// Tags in the 29 shared GraphSense packs (counted by the tags module's unit
/// tests pack by pack).
const TAGPACK_TOTAL: u64 = 107_906;

/// `tracer --db DB cluster export ARGS…`: its stdout.
fn export(db: &Path, args: &[&str]) -> String {
    let mut all = vec!["--db", db_str(db), "cluster", "export"];
    all.extend_from_slice(args);
    support::ok(&all)
}

#[test]
fn cluster_export_lists_every_address_with_the_cluster_show_gives() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("db");
    ingest_main(&db, &fixture(REAL_CHAIN));
    let e = stderr(&fails(&["--db", db_str(&db), "cluster", "export"]));
    assert!(
        e.contains("run `tracer --db") && e.contains("cluster build"),
        "{e}"
    );
    json(&["--db", db_str(&db), "cluster", "build", "--json"]);
    let e = stderr(&fails(&[
        "--db",
        db_str(&db),
        "cluster",
        "export",
        "--level",
        "cospend+change",
    ]));
    assert!(e.contains("no clusters at level cospend+change yet"), "{e}");

    let tsv = export(&db, &[]);
    let mut lines = tsv.lines();
    assert_eq!(lines.next(), Some("address\tkind\tid\tcluster"));
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split('\t').collect()).collect();
    let addresses = json(&["--db", db_str(&db), "status", "--json"])["addresses"]
        .as_u64()
        .unwrap();
    assert_eq!(rows.len() as u64, addresses, "every address once");
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(r.len(), 4, "{r:?}");
        assert_eq!(r[2], i.to_string(), "address-id order");
        let cluster: usize = r[3].parse().unwrap();
        assert!(
            cluster <= i,
            "a cluster id is its smallest address id: {r:?}"
        );
    }
    // Grouped by cluster id, the export gives the independent union-find's clusters.
    let mut groups: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for r in &rows {
        groups.entry(r[3]).or_default().insert(r[0].to_string());
    }
    let got: BTreeSet<BTreeSet<String>> = groups.into_values().filter(|g| g.len() > 1).collect();
    let want: BTreeSet<BTreeSet<String>> = independent_cospend_clusters(&fixture(REAL_CHAIN))
        .into_iter()
        .collect();
    assert_eq!(got, want);
    // Each address as `tracer address` shows it, with the id `cluster show` prints.
    let tx = json(&["--db", db_str(&db), "tx", BIG_COSPEND, "--json"]);
    let input = tx["inputs"][0]["address"]["address"].as_str().unwrap();
    let (shown, _) = members(&db, "cospend", input);
    let row = rows.iter().find(|r| r[0] == input).unwrap();
    assert_eq!(row[3], shown["cluster"]["id"].to_string());
    assert_eq!(row[1], tx["inputs"][0]["address"]["kind"]);
    let text = support::ok(&["--db", db_str(&db), "address", input]);
    assert!(
        text.contains(&format!("\n\n  [{}] {input} #{}: ", row[1], row[2])),
        "{text}"
    );
    let a = json(&["--db", db_str(&db), "address", input, "--json"]);
    assert!(a["entries"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["address"] == input
            && e["id"].as_u64().map(|i| i.to_string()).as_deref() == Some(row[2])));

    // JSON Lines: the same rows; and the same bytes on every run.
    let jsonl = export(&db, &["--format", "jsonl"]);
    let objects: Vec<Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(objects.len(), rows.len());
    for (o, r) in objects.iter().zip(&rows) {
        assert_eq!(o["address"], r[0]);
        assert_eq!(o["kind"], r[1]);
        assert_eq!(o["id"].to_string(), r[2]);
        assert_eq!(o["cluster"].to_string(), r[3]);
    }
    assert_eq!(export(&db, &[]), tsv);
    assert_eq!(export(&db, &["--format", "jsonl"]), jsonl);
}

/// A TagPack label as a hostile source could write it: a screen clear, a
/// window-title change ended by BEL, a carriage return that would hide what
/// came before, and a right-to-left override that would reverse the rest.
const HOSTILE_LABEL: &str = "Evil\u{1b}[2J\u{1b}]0;pwned\u{7}Exchange\rBinance \u{202e}exe.gnp";

/// Whether `bytes` hold a character that a terminal obeys instead of showing.
fn has_raw_controls(bytes: &[u8]) -> bool {
    let text = String::from_utf8_lossy(bytes);
    text.chars()
        .any(|c| (c.is_control() && c != '\n') || ('\u{202a}'..='\u{202e}').contains(&c))
}

#[test]
fn hostile_tag_labels_are_escaped_in_every_text_view() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("db");
    ingest_main(&db, &fixture(REAL_CHAIN));
    let d = db_str(&db);
    let target = "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S";
    let pack = tmp.path().join("hostile.yaml");
    std::fs::write(
        &pack,
        format!(
            "title: \"Intel \\e[31mpack\"\ncreator: tests\nconfidence: ownership\n\
             category: exchange\nis_cluster_definer: true\n\
             source: \"https://example.org/\\e]8;;https://evil.example/\\a\"\n\
             lastmod: 2026-11-25\ntags:\n\
             - address: {target}\n  currency: BTC\n  \
             label: \"Evil\\e[2J\\e]0;pwned\\aExchange\\rBinance \\u202Eexe.gnp\"\n"
        ),
    )
    .unwrap();
    let run = |args: &[&str]| {
        let out = support::tracer().args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        assert!(
            !has_raw_controls(&out.stdout),
            "{args:?}: {:?}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert!(
            !has_raw_controls(&out.stderr),
            "{args:?}: {:?}",
            stderr(&out)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let imported = run(&["--db", d, "tags", "import", pack.to_str().unwrap()]);
    assert!(imported.contains("Intel \\u{1b}[31mpack"), "{imported}");
    let escaped = "Evil\\u{1b}[2J\\u{1b}]0;pwned\\u{7}Exchange\\rBinance \\u{202e}exe.gnp";
    let shown = run(&["--db", d, "tags", "show", target]);
    assert!(shown.contains(escaped), "{shown}");
    assert!(
        shown.contains("https://example.org/\\u{1b}]8;;https://evil.example/\\u{7}"),
        "{shown}"
    );
    run(&["--db", d, "cluster", "build"]);
    let cluster = run(&["--db", d, "cluster", "show", target]);
    assert!(
        cluster.contains(&format!("tag         {target} [BTC] {escaped}")),
        "{cluster}"
    );
    assert!(
        cluster.contains(&format!("labels      {}", escaped.to_lowercase())),
        "{cluster}"
    );
    // JSON keeps the label exactly, with the characters as \u escapes.
    for args in [
        vec!["--db", d, "tags", "show", target, "--json"],
        vec!["--db", d, "cluster", "show", target, "--json"],
    ] {
        let v: Value = serde_json::from_str(&run(&args)).unwrap();
        let tag = if args[2] == "tags" {
            &v["tags"][0]
        } else {
            &v["tags"][0]["tag"]
        };
        assert_eq!(tag["label"], HOSTILE_LABEL, "{args:?}");
    }
    // What the user typed comes back escaped in an error, too.
    let e = stderr(&fails(&[
        "--db",
        d,
        "tags",
        "show",
        "1Evil\u{1b}[2J\u{202e}",
    ]));
    assert!(e.contains("1Evil\\u{1b}[2J\\u{202e}"), "{e}");
    assert!(!has_raw_controls(e.as_bytes()), "{e:?}");
}

/// Of them, refused for an address that is not one of their network.
const TAGPACK_REFUSED: u64 = 4;

/// A simulated `medium` chain (≈ 100 k transactions, 218 k addresses) in a ledger.
fn medium_ledger() -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let sim = tmp.path().join("sim");
    support::simulate_medium(&sim);
    let db = tmp.path().join("db");
    ingest_regtest(&db, &sim.join("blocks"));
    (tmp, db)
}

/// What a build shows: every address's cluster (both levels), and the
/// statistics, members and evidence of clusters across the id range.
fn stored_clusters(db: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for level in ["cospend", "cospend+change"] {
        let all = export(db, &["--level", level]);
        let rows: Vec<Vec<&str>> = all
            .lines()
            .skip(1)
            .map(|l| l.split('\t').collect())
            .collect();
        for row in rows.iter().step_by(997) {
            out.push(support::ok(&[
                "--db",
                db_str(db),
                "cluster",
                "show",
                row[0],
                "--level",
                level,
                "--limit",
                "0",
                "--json",
            ]));
            // The explanation that joins the address to its cluster's id.
            let id: usize = row[3].parse().unwrap();
            out.push(support::ok(&[
                "--db",
                db_str(db),
                "cluster",
                "explain",
                row[0],
                rows[id][0],
                "--level",
                level,
                "--json",
            ]));
        }
        out.push(all);
    }
    out
}

#[test]
fn a_build_in_little_memory_stores_the_clusters_of_a_build_in_plenty() {
    let (_tmp, db) = medium_ledger();
    let build = |level: &str, cache: &str| {
        json(&[
            "--db",
            db_str(&db),
            "--cache-mb",
            cache,
            "cluster",
            "build",
            "--level",
            level,
            "--full",
            "--json",
        ])
    };
    let plenty: Vec<Value> = ["cospend", "cospend+change"]
        .iter()
        .map(|l| build(l, "4096"))
        .collect();
    assert!(plenty.iter().all(|s| s["runs_on_disk"] == 0), "{plenty:?}");
    assert_eq!(plenty[0]["addresses"], 218_162);
    assert!(plenty[0]["multi_address_clusters"].as_u64().unwrap() > 10_000);
    let roomy = stored_clusters(&db);
    let little: Vec<Value> = ["cospend", "cospend+change"]
        .iter()
        .map(|l| build(l, "8"))
        .collect();
    for (p, l) in plenty.iter().zip(&little) {
        assert!(l["runs_on_disk"].as_u64().unwrap() >= 5, "{l}");
        for key in [
            "clusters",
            "multi_address_clusters",
            "largest",
            "merges",
            "coinjoins",
        ] {
            assert_eq!(p[key], l[key], "{key}");
        }
    }
    let tight = stored_clusters(&db);
    assert_eq!(roomy.len(), tight.len());
    for (a, b) in roomy.iter().zip(&tight) {
        assert!(
            a == b,
            "same records whatever the memory: {a:.300} vs {b:.300}"
        );
    }
    assert!(
        !db.join("analysis-scratch").exists(),
        "a finished build leaves no sorted runs behind"
    );
}

#[test]
fn a_build_killed_anywhere_leaves_the_last_build_whole() {
    let (_tmp, db) = medium_ledger();
    let dbs = db_str(&db);
    json(&[
        "--db", dbs, "cluster", "build", "--level", "cospend", "--json",
    ]);
    let before = export(&db, &["--level", "cospend"]);
    let mut killed = 0;
    for ms in [40, 120, 250, 400, 600, 900] {
        let mut child = support::tracer()
            .args(["--db", dbs, "--cache-mb", "8", "cluster", "build", "--full"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(ms));
        if child.try_wait().unwrap().is_none() {
            killed += 1;
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        // The last build (or the new one, if the kill came after it moved
        // the checkpoint) is whole: the same clusters, never a mixture.
        assert_eq!(
            export(&db, &["--level", "cospend"]),
            before,
            "killed at {ms} ms"
        );
    }
    assert!(
        killed >= 3,
        "the kills must land inside builds ({killed} did)"
    );
    let s = json(&[
        "--db", dbs, "cluster", "build", "--level", "cospend", "--full", "--json",
    ]);
    assert_eq!(s["mode"], "full");
    assert_eq!(export(&db, &["--level", "cospend"]), before);
    assert!(!db.join("analysis-scratch").exists());
}
