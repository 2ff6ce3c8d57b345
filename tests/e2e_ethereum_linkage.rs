//! Cross-case linkage on an Ethereum economy made on a real node (anvil on
//! 127.0.0.1): two criminal groups launder victims' ether through one
//! public forwarding contract that anybody may call, and through a busy
//! untagged address many strangers pay, into customer deposit addresses of
//! a tagged exchange; the exchange sweeps each deposit address into its
//! hot wallet. A third deposit address is funded only by another
//! exchange's hot wallet. Every amount is 20 ETH — more than 2^64 wei.
//!
//! The truths the test checks: the same group's two cases link through
//! their shared deposit address; the other group's case links to neither
//! (the contract and the busy address are public, listed as such); the
//! deposits that arrive through the contract's internal transfers and
//! from the other exchange's wallet still make deposit addresses; and at
//! the default (cluster) level each endpoint names the deposit address and
//! the sweep that proves it.

mod support;

use std::path::Path;

use serde_json::{json, Value};
use support::anvil::{calldata, word_addr, Anvil};
use support::{amount, json, ok};

const ETH: u128 = 1_000_000_000_000_000_000;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn hash(r: &Value) -> String {
    r["transactionHash"].as_str().unwrap().to_string()
}

fn lower(v: &Value) -> String {
    v.as_str().unwrap().to_ascii_lowercase()
}

/// A fresh address (no genesis balance) the node lets the test send from.
fn fresh(node: &Anvil, n: u32) -> String {
    let a = format!("0x{:040x}", 0xc0de_0000_u64 + u64::from(n));
    node.impersonate(&a);
    a
}

/// What the economy did, for the assertions.
struct Economy {
    hot: String,
    public_contract: String,
    busy: String,
    /// Group A's deposit address, its two sweeps (one per case).
    deposit_a: String,
    sweeps_a: Vec<String>,
    /// Group B's deposit address and its sweep.
    deposit_b: String,
    sweep_b: String,
    /// Funded only by the other exchange's hot wallet.
    deposit_c: String,
    /// The victims' payments: A1, A2, B1.
    payments: Vec<String>,
}

fn make_economy(node: &Anvil) -> Economy {
    let a = node.accounts.clone();
    let (hot, other_hot) = (a[9].clone(), a[8].clone());
    let (forwarder, fsel) = node.deploy(&a[0], "Forwarder");
    let forward = |from: &str, to: &str, value: u128| {
        let data = calldata(&fsel, "forward(address)", &[word_addr(to)]);
        let r = node.send(from, Some(&forwarder), value, &data);
        assert_eq!(r["status"], "0x1", "forward: {r}");
        r
    };
    // A busy untagged address: 50 strangers pay it.
    let busy = fresh(node, 1);
    let strangers: Vec<String> = (0..50).map(|i| fresh(node, 100 + i)).collect();
    for x in &strangers {
        node.rpc("anvil_setBalance", json!([x, support::anvil::qty(ETH)]));
    }
    let pay: Vec<Value> = strangers
        .iter()
        .map(|x| json!({"from": x, "to": busy, "value": support::anvil::qty(ETH / 100)}))
        .collect();
    node.send_batch(&pay);
    // One more transaction waited for: the batch before it is mined too.
    node.send(&a[1], Some(&a[2]), 1, "");
    // Victims, mules and deposit addresses.
    let victims: Vec<String> = (0..3).map(|i| fresh(node, 10 + i)).collect();
    let mules: Vec<String> = (0..3).map(|i| fresh(node, 20 + i)).collect();
    let (deposit_a, deposit_b, deposit_c) = (fresh(node, 30), fresh(node, 31), fresh(node, 32));
    for v in &victims {
        node.send(&a[0], Some(v), 30 * ETH, "");
    }
    // The exchange pays its deposit addresses' gas from its hot wallet.
    for d in [&deposit_a, &deposit_b, &deposit_c] {
        node.send(&hot, Some(d), ETH / 20, "");
    }
    let mut payments = Vec::new();
    let mut sweeps_a = Vec::new();
    let mut sweep_b = String::new();
    // Group A (cases A1, A2: mules 0 and 1 → deposit A); group B (case B1:
    // mule 2 → deposit B). Every mule goes through the public contract and
    // leaves a little at the busy address.
    for (i, (victim, mule)) in victims.iter().zip(&mules).enumerate() {
        payments.push(hash(&node.send(victim, Some(mule), 20 * ETH, "")));
        node.send(mule, Some(&busy), ETH / 20, "");
        let deposit = if i < 2 { &deposit_a } else { &deposit_b };
        forward(mule, deposit, 19 * ETH);
        let sweep = hash(&node.send(deposit, Some(&hot), 19 * ETH, ""));
        if i < 2 {
            sweeps_a.push(sweep);
        } else {
            sweep_b = sweep;
        }
    }
    // A withdrawal from the other exchange into deposit C, swept at once.
    node.send(&other_hot, Some(&deposit_c), 5 * ETH, "");
    node.send(&deposit_c, Some(&hot), 5 * ETH, "");
    Economy {
        hot,
        public_contract: forwarder,
        busy,
        deposit_a,
        sweeps_a,
        deposit_b,
        sweep_b,
        deposit_c,
        payments,
    }
}

fn tag_pack(dir: &Path, name: &str, label: &str, address: &str) -> String {
    let p = dir.join(format!("{name}.yaml"));
    std::fs::write(
        &p,
        format!(
            "title: {label} hot wallet\ncreator: tracer tests\nconfidence: ownership\n\
             category: exchange\nlabel: {label}\nsource: https://example.org/{name}\n\
             lastmod: 2026-11-25\ntags:\n- address: '{address}'\n  currency: ETH\n"
        ),
    )
    .unwrap();
    p.to_str().unwrap().to_string()
}

fn case_file(dir: &Path, id: &str, prefecture: &str, payment: &str) -> String {
    let p = dir.join(format!("{id}.toml"));
    std::fs::write(
        &p,
        format!(
            "format = 1\n[case]\nid = \"{id}\"\nprefecture = \"{prefecture}\"\n\
             crime = \"investment_fraud\"\nreported = 2026-11-20\ninvestigator = \"Test\"\n\n\
             [[seed]]\nchain = \"ethereum\"\npayment = \"{payment}:0\"\n"
        ),
    )
    .unwrap();
    p.to_str().unwrap().to_string()
}

#[test]
fn public_contracts_and_busy_addresses_link_no_cases_but_deposit_addresses_do() {
    let node = Anvil::start();
    let eco = make_economy(&node);
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("db");
    json(&support::eth_ingest_args(
        s(&db),
        &node.url(),
        &["--traces", "parity", "--json"],
    ));
    let packs = [
        tag_pack(tmp.path(), "x", "ExchangeX", &eco.hot),
        tag_pack(tmp.path(), "y", "ExchangeY", &node.accounts[8]),
    ];
    ok(&[
        &["--db", s(&db), "tags", "import"][..],
        &[&packs[0], &packs[1]],
    ]
    .concat());
    ok(&["--db", s(&db), "cluster", "build"]);

    // Deposits through the contract's internal transfers, and from the
    // other exchange's wallet, make deposit addresses; neither the contract
    // nor the other exchange is taken for the customer.
    let deps = json(&["--db", s(&db), "cluster", "deposits", "--json"]);
    let rows = deps.as_array().unwrap();
    let row = |d: &str| {
        rows.iter()
            .find(|r| lower(&r["deposit_address"]) == d)
            .unwrap_or_else(|| panic!("{d} is not found as a deposit address: {deps}"))
    };
    for d in [&eco.deposit_a, &eco.deposit_b, &eco.deposit_c] {
        assert_eq!(row(d)["exchange"], "exchangex", "{d}");
    }
    let swept: Vec<String> = row(&eco.deposit_a)["sweeps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| lower(&s["txid"]))
        .collect();
    assert_eq!(swept, eco.sweeps_a);
    for d in [&eco.deposit_a, &eco.deposit_c] {
        assert_eq!(row(d)["depositors"], json!([]), "{d}");
    }

    let cases = tmp.path().join("cases");
    std::fs::create_dir_all(&cases).unwrap();
    let files = [
        case_file(&cases, "OSAKA-2026-0101", "Osaka", &eco.payments[0]),
        case_file(&cases, "KYOTO-2026-0102", "Kyoto", &eco.payments[1]),
        case_file(&cases, "AOMORI-2026-0103", "Aomori", &eco.payments[2]),
    ];

    // At the default level the deposit address is in the exchange's
    // cluster; the endpoint still names it, with the sweep as evidence.
    let out = tmp.path().join("a1");
    support::trace(&db, Path::new(&files[0]), &out, &[]);
    let t: Value = serde_json::from_slice(&std::fs::read(out.join("trace.json")).unwrap()).unwrap();
    assert_eq!(t["params"]["level"], "cospend");
    assert_eq!(amount(&t["summary"]["seed_value"]), 20 * ETH);
    let e: Vec<&Value> = t["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["class"] == "Exchange")
        .collect();
    assert_eq!(e.len(), 1, "{}", t["endpoints"]);
    assert_eq!(lower(&e[0]["deposit_address"]), eco.deposit_a);
    assert_eq!(e[0]["evidence"]["rule"], "deposit_sweep");
    assert_eq!(lower(&e[0]["evidence"]["sweep_txid"]), eco.sweeps_a[0]);
    assert_eq!(e[0]["evidence"]["confidence"], 90);
    let contract = t["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| lower(&n["address"]) == eco.public_contract)
        .expect("the contract is on the trace");
    assert_eq!(contract["contract"], true);
    assert_eq!(contract["cluster_size"], 1);

    // An Ethereum address is traced on Ethereum (it was taken for a
    // Bitcoin address and refused): forward from the deposit address, its
    // funds reach the exchange's hot wallet through the sweep.
    let t = json(&[
        "--db",
        s(&db),
        "trace",
        "address",
        &eco.deposit_a,
        "--level",
        "address",
        "--json",
    ]);
    assert_eq!(t["unit"]["symbol"], "ETH");
    assert!(
        t["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| lower(&n["address"]) == eco.hot),
        "{}",
        t["nodes"]
    );

    for model in ["haircut", "fifo"] {
        let dir = tmp.path().join(format!("link-{model}"));
        let args = [
            &["--db", s(&db), "link"][..],
            &[&files[0], &files[1], &files[2]],
            &["--out", s(&dir), "--model", model, "--lang", "en", "--json"],
        ]
        .concat();
        let k = json(&args);
        let links = k["links"].as_array().unwrap();
        assert_eq!(links.len(), 1, "{model}: {}", k["links"]);
        let l = &links[0];
        assert_eq!(
            (l["a"].as_str(), l["b"].as_str()),
            (Some("OSAKA-2026-0101"), Some("KYOTO-2026-0102")),
            "{model}"
        );
        let kinds: Vec<&str> = l["shared"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["kind"].as_str().unwrap())
            .collect();
        assert!(!kinds.contains(&"cluster"), "{model}: {kinds:?}");
        let d = &l["shared"][0];
        assert_eq!(d["kind"], "deposit_address", "{model}");
        assert_eq!(d["key"].as_str().unwrap().to_lowercase(), eco.deposit_a);
        // Amounts above 2^64 wei, exact, in each case's unit.
        for x in d["amounts"].as_array().unwrap() {
            assert!(amount(x) > u128::from(u64::MAX), "{model}: {x}");
        }
        assert_eq!(k["cases"][0]["unit"]["symbol"], "ETH");
        assert_eq!(amount(&k["cases"][0]["traced"]), 20 * ETH);
        // The public entities every case reached, and why they link nobody.
        let public = k["public"].as_array().unwrap();
        let reason = |key: &str| {
            public
                .iter()
                .find(|p| p["key"].as_str().unwrap().to_lowercase() == key)
                .map(|p| {
                    (
                        p["reason"].as_str().unwrap().to_string(),
                        p["cases"].clone(),
                    )
                })
        };
        let (why, who) = reason(&eco.public_contract).expect("the contract is left out");
        assert_eq!(why, "contract");
        assert_eq!(who.as_array().unwrap().len(), 3);
        let (why, who) = reason(&eco.busy).expect("the busy address is left out");
        assert!(why.contains("50 distinct senders"), "{why}");
        assert_eq!(who.as_array().unwrap().len(), 3);
        // The other group's deposit address appears in no link.
        assert!(!serde_json::to_string(&k["links"])
            .unwrap()
            .to_lowercase()
            .contains(&eco.deposit_b));
        let _ = &eco.sweep_b;
    }
}
