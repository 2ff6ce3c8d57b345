//! Ethereum ingest against a real node: anvil on 127.0.0.1. The test sends
//! ETH between accounts, deploys an ERC-20 and a forwarding contract, moves
//! tokens, makes internal transfers through the contract and a reverted
//! call, and a deposit-address → hot-wallet sweep; then checks that every
//! balance in the ledger matches the node's own `eth_getBalance` /
//! `balanceOf`, and every transfer is there with its sender.

mod support;

use std::path::Path;

use serde_json::{json, Value};
use support::anvil::{calldata, word_addr, word_u128, Anvil};
use support::{amount, fingerprint, json, signed_amount};

const ETH: u128 = 1_000_000_000_000_000_000;

/// What the scenario did, for the assertions.
struct Scenario {
    token: String,
    token_sel: Value,
    forwarder: String,
    forward_tx: String,
    split_tx: String,
    failed_tx: String,
    deposit: String,
    hot_wallet: String,
    depositors: Vec<String>,
}

fn hash(r: &Value) -> String {
    r["transactionHash"].as_str().unwrap().to_string()
}

fn run_scenario(node: &Anvil) -> Scenario {
    let a = &node.accounts;
    let (token, token_sel) = node.deploy(&a[0], "TestToken");
    node.send(&a[0], Some(&a[1]), 5 * ETH, "");
    let tx = calldata(
        &token_sel,
        "transfer(address,uint256)",
        &[word_addr(&a[1]), word_u128(1_000_000_000)],
    );
    assert_eq!(node.send(&a[0], Some(&token), 0, &tx)["status"], "0x1");
    let (forwarder, fsel) = node.deploy(&a[0], "Forwarder");
    let fwd = node.send(
        &a[1],
        Some(&forwarder),
        ETH,
        &calldata(&fsel, "forward(address)", &[word_addr(&a[2])]),
    );
    assert_eq!(fwd["status"], "0x1");
    let split = node.send(
        &a[1],
        Some(&forwarder),
        3,
        &calldata(
            &fsel,
            "forwardSplit(address,address)",
            &[word_addr(&a[3]), word_addr(&a[4])],
        ),
    );
    assert_eq!(split["status"], "0x1");
    let failed = node.send(
        &a[2],
        Some(&forwarder),
        ETH / 100,
        &calldata(&fsel, "fail()", &[]),
    );
    assert_eq!(failed["status"], "0x0");
    // Two customers pay into one exchange deposit address, which sweeps to
    // the exchange's hot wallet (ETH, and the token).
    let (deposit, hot) = (a[5].clone(), a[9].clone());
    node.send(&a[6], Some(&deposit), 2 * ETH, "");
    node.send(&a[7], Some(&deposit), 3 * ETH, "");
    let tx = calldata(
        &token_sel,
        "transfer(address,uint256)",
        &[word_addr(&deposit), word_u128(250_000_000)],
    );
    assert_eq!(node.send(&a[1], Some(&token), 0, &tx)["status"], "0x1");
    node.send(&deposit, Some(&hot), 5 * ETH, "");
    let tx = calldata(
        &token_sel,
        "transfer(address,uint256)",
        &[word_addr(&hot), word_u128(250_000_000)],
    );
    assert_eq!(node.send(&deposit, Some(&token), 0, &tx)["status"], "0x1");
    Scenario {
        token,
        token_sel,
        forwarder,
        forward_tx: hash(&fwd),
        split_tx: hash(&split),
        failed_tx: hash(&failed),
        deposit,
        hot_wallet: hot,
        depositors: vec![a[6].clone(), a[7].clone()],
    }
}

fn ingest(db: &Path, url: &str, traces: &str) -> Value {
    json(&support::eth_ingest_args(
        db.to_str().unwrap(),
        url,
        &["--traces", traces, "--json"],
    ))
}

fn address(db: &Path, a: &str) -> Value {
    json(&["--db", db.to_str().unwrap(), "address", a, "--json"])
}

fn tx(db: &Path, h: &str) -> Value {
    json(&["--db", db.to_str().unwrap(), "tx", h, "--json"])
}

fn lower(v: &Value) -> String {
    v.as_str().unwrap().to_ascii_lowercase()
}

/// `(from, to, value)` of a transaction's native transfers, lowercase.
fn transfers(v: &Value) -> Vec<(String, String, u128)> {
    v["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["token"].is_null())
        .map(|o| {
            (
                lower(&o["from"]["address"]),
                lower(&o["address"]["address"]),
                amount(&o["value"]),
            )
        })
        .collect()
}

fn net(entry: &Value) -> i128 {
    signed_amount(&entry["net"])
}

#[test]
fn anvil_activity_is_ingested_with_every_balance_and_transfer() {
    let node = Anvil::start();
    let s = run_scenario(&node);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let summary = ingest(&db, &node.url(), "calltracer");
    let head = support::anvil::parse_qty(&node.rpc("eth_blockNumber", json!([]))) as u64;
    assert_eq!(summary["tip_height"], head);
    assert_eq!(summary["blocks"], head + 1, "genesis included");
    assert_eq!(summary["txs"], 12);

    // Every account's ETH: the ledger's net flow equals the node's balance
    // change since genesis (dev accounts are funded in the genesis state).
    let mut checked = 0;
    for a in node.accounts.iter().chain([&s.token, &s.forwarder]) {
        let change = node.balance(a, "latest") as i128 - node.balance(a, "0x0") as i128;
        if change == 0 {
            continue;
        }
        let v = address(&db, a);
        assert_eq!(net(&v["entries"][0]), change, "ETH of {a}");
        checked += 1;
    }
    assert_eq!(checked, 9, "accounts 0-7 and 9 changed balance");
    // The forwarder passed on all it got.
    let fwd = &address(&db, &s.forwarder)["entries"][0];
    assert_eq!(amount(&fwd["received"]), ETH + 3);
    assert_eq!(fwd["sent"], fwd["received"]);

    // Every holder's token balance equals balanceOf; metadata read by eth_call.
    let unused = &node.accounts[8];
    assert_eq!(node.token_balance(&s.token, &s.token_sel, unused), 0);
    for a in node.accounts.iter().take(10).filter(|a| *a != unused) {
        let on_chain = node.token_balance(&s.token, &s.token_sel, a);
        let v = address(&db, a);
        let ledger = v["entries"][0]["tokens"]
            .as_array()
            .and_then(|t| t.iter().find(|t| lower(&t["contract"]) == s.token))
            .map_or(0, net);
        assert_eq!(ledger, on_chain as i128, "TUSD of {a}");
        if on_chain > 0 {
            let t = &v["entries"][0]["tokens"][0];
            assert_eq!(t["symbol"], "TUSD");
            assert_eq!(t["decimals"], 6);
            assert_eq!(t["name"], "Test Tether");
        }
    }

    // The internal transfers, with the contract as sender.
    let a = &node.accounts;
    let f = s.forwarder.clone();
    assert_eq!(
        transfers(&tx(&db, &s.forward_tx)),
        vec![
            (a[1].clone(), f.clone(), ETH),
            (f.clone(), a[2].clone(), ETH)
        ]
    );
    assert_eq!(
        transfers(&tx(&db, &s.split_tx)),
        vec![
            (a[1].clone(), f.clone(), 3),
            (f.clone(), a[3].clone(), 1),
            (f.clone(), a[4].clone(), 2)
        ]
    );
    // The reverted call moved nothing and paid its fee.
    let v = tx(&db, &s.failed_tx);
    assert_eq!(v["failed"], true);
    assert_eq!(transfers(&v), vec![(a[2].clone(), f.clone(), 0)]);
    let receipt = node.rpc("eth_getTransactionReceipt", json!([s.failed_tx]));
    let fee = support::anvil::parse_qty(&receipt["gasUsed"])
        * support::anvil::parse_qty(&receipt["effectiveGasPrice"]);
    assert_eq!(amount(&v["fee"]), fee);
    // Contract creations are flagged; contracts are known as contracts.
    let deploy = node.rpc("eth_getBlockByNumber", json!(["0x1", true]));
    let created = tx(&db, deploy["transactions"][0]["hash"].as_str().unwrap());
    assert_eq!(created["creates_contract"], true);
    assert_eq!(lower(&created["outputs"][0]["address"]["address"]), s.token);
    assert!(address(&db, &s.forwarder)["entries"][0]["contract_seen_in"].is_string());
    assert!(address(&db, &s.token)["entries"][0]["contract_seen_in"].is_string());
    assert!(address(&db, &s.deposit)["entries"][0]["contract_seen_in"].is_null());
    assert!(!s.depositors.is_empty() && !s.hot_wallet.is_empty());

    // Parity-style traces give the same ledger as the callTracer.
    let parity = dir.path().join("parity");
    ingest(&parity, &node.url(), "parity");
    assert_eq!(fingerprint(&parity), fingerprint(&db));
}

#[test]
fn anvil_reorg_is_followed_by_rolling_back() {
    let node = Anvil::start();
    let a = node.accounts.clone();
    node.send(&a[0], Some(&a[1]), ETH, "");
    let snapshot = node.rpc("evm_snapshot", json!([]));
    node.send(&a[0], Some(&a[2]), 2 * ETH, "");
    node.send(&a[0], Some(&a[3]), 3 * ETH, "");
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let first = ingest(&db, &node.url(), "calltracer");
    assert_eq!(first["tip_height"], 3);
    // Replace blocks 2-3 with a different, longer history.
    assert_eq!(node.rpc("evm_revert", json!([snapshot])), true);
    node.send(&a[0], Some(&a[4]), 4 * ETH, "");
    node.send(&a[0], Some(&a[5]), 5 * ETH, "");
    node.send(&a[0], Some(&a[6]), 6 * ETH, "");
    let second = ingest(&db, &node.url(), "calltracer");
    assert_eq!(second["rolled_back"], 2);
    assert_eq!(second["tip_height"], 4);
    // The ledger now equals a fresh ingest of the node's chain.
    let fresh = dir.path().join("fresh");
    ingest(&fresh, &node.url(), "calltracer");
    assert_eq!(fingerprint(&db), fingerprint(&fresh));
    let gone = support::fails(&["--db", db.to_str().unwrap(), "address", &a[2], "--json"]);
    assert!(
        support::stderr(&gone).contains("no transactions"),
        "{}",
        support::stderr(&gone)
    );
}

fn fee_of(node: &Anvil, r: &Value) -> u128 {
    let r = node.rpc("eth_getTransactionReceipt", json!([hash(r)]));
    support::anvil::parse_qty(&r["gasUsed"]) * support::anvil::parse_qty(&r["effectiveGasPrice"])
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

/// The minimum amount a trace in `dir` recorded (smallest units).
fn min_amount(dir: &Path) -> u128 {
    let t: Value = serde_json::from_slice(&std::fs::read(dir.join("trace.json")).unwrap()).unwrap();
    amount(&t["params"]["limits"]["min_amount"])
}

/// The endpoint rows of a trace file.
fn endpoints(dir: &Path, file: &str) -> Vec<Value> {
    let t: Value = serde_json::from_slice(&std::fs::read(dir.join(file)).unwrap()).unwrap();
    t["endpoints"].as_array().unwrap().clone()
}

#[test]
fn stolen_ether_and_tokens_are_traced_to_the_exchange_deposit_address() {
    let node = Anvil::start();
    let a = node.accounts.clone();
    // Fresh addresses (no genesis balance): scammer, mule, deposit address.
    let (scammer, mule, deposit) = (
        "0x00000000000000000000000000000000005ca100".to_string(),
        "0x000000000000000000000000000000000000a001".to_string(),
        "0x0000000000000000000000000000000000de9051".to_string(),
    );
    for x in [&scammer, &mule, &deposit] {
        node.impersonate(x);
    }
    let (victim, hot) = (a[6].clone(), a[9].clone());
    let (token, tsel) = node.deploy(&a[0], "TestToken");
    let (forwarder, fsel) = node.deploy(&a[0], "Forwarder");
    let pay_token = |from: &str, to: &str, v: u128| {
        let data = calldata(
            &tsel,
            "transfer(address,uint256)",
            &[word_addr(to), word_u128(v)],
        );
        let r = node.send(from, Some(&token), 0, &data);
        assert_eq!(r["status"], "0x1");
        r
    };
    // Clean gas money first, then the victim's payments.
    node.send(&a[0], Some(&scammer), ETH, "");
    node.send(&a[0], Some(&mule), ETH / 2, "");
    node.send(&a[0], Some(&deposit), ETH / 10, "");
    pay_token(&a[0], &victim, 5_000_000_000);
    let seed_eth = node.send(&victim, Some(&scammer), 3 * ETH, "");
    let seed_token = pay_token(&victim, &scammer, 1_000_000_000);
    // The scammer launders through a contract and a mule into an exchange deposit address.
    let layer = node.send(
        &scammer,
        Some(&forwarder),
        5 * ETH / 2,
        &calldata(&fsel, "forward(address)", &[word_addr(&mule)]),
    );
    let mule_pays = node.send(&mule, Some(&deposit), 24 * ETH / 10, "");
    pay_token(&scammer, &deposit, 1_000_000_000);
    let sweep = node.send(&deposit, Some(&hot), 24 * ETH / 10, "");
    let token_sweep = pay_token(&deposit, &hot, 1_000_000_000);
    // What the scammer kept goes partly into a mixer.
    let mixer = a[8].clone();
    node.send(&scammer, Some(&mixer), ETH / 5, "");

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let d = db.to_str().unwrap();
    ingest(&db, &node.url(), "calltracer");
    let pack = dir.path().join("exchange.yaml");
    write(
        &pack,
        &format!(
            "title: Test exchange hot wallet\ncreator: tracer tests\nconfidence: ownership\n\
             category: exchange\nlabel: TestExchange\nsource: https://example.org/test\n\
             lastmod: 2026-11-25\ntags:\n- address: '{hot}'\n  currency: ETH\n"
        ),
    );
    let mixer_pack = dir.path().join("mixer.yaml");
    write(
        &mixer_pack,
        &format!(
            "title: Test mixer\ncreator: tracer tests\nconfidence: ownership\n\
             category: mixing_service\nlabel: Test Tornado\nsource: https://example.org/mixer\n\
             lastmod: 2026-11-25\ntags:\n- address: '{mixer}'\n  currency: ETH\n"
        ),
    );
    json(&[
        "--db",
        d,
        "tags",
        "import",
        pack.to_str().unwrap(),
        mixer_pack.to_str().unwrap(),
        "--json",
    ]);
    let built = json(&["--db", d, "cluster", "build", "--json"]);
    assert_eq!(built["merges"]["deposit_address"], 1, "{built}");
    assert_eq!(built["merges"]["deposit_reuse"], 1, "{built}");

    // The deposit address, its two sweeps and the two addresses that paid into it.
    let deps = json(&["--db", d, "cluster", "deposits", "--json"]);
    assert_eq!(deps.as_array().unwrap().len(), 1, "{deps}");
    let row = &deps[0];
    assert_eq!(lower(&row["deposit_address"]), deposit);
    assert_eq!(row["exchange"], "testexchange");
    let mut payers: Vec<String> = row["depositors"]
        .as_array()
        .unwrap()
        .iter()
        .map(lower)
        .collect();
    payers.sort();
    let mut want = vec![scammer.clone(), mule.clone()];
    want.sort();
    assert_eq!(payers, want);
    let swept: Vec<String> = row["sweeps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| lower(&s["txid"]))
        .collect();
    assert_eq!(swept, vec![hash(&sweep), hash(&token_sweep)]);
    // The text views count ether and the token, not satoshi or wei.
    let text = support::ok(&["--db", d, "cluster", "deposits"]);
    support::assert_contains(
        &text,
        &[
            format!("  sweep {} (block ", hash(&sweep)),
            ": 2.400000000000000000 ETH\n".to_string(),
            ": 1000.000000 TUSD\n".to_string(),
        ],
    );
    let text = support::ok(&["--db", d, "cluster", "show", &deposit]);
    assert!(
        text.contains("net         ") && text.contains(" ETH over the ingested blocks"),
        "{text}"
    );
    assert!(!text.contains(" sat"), "{text}");

    // The ether case, at address level under every model.
    let case = dir.path().join("case.toml");
    let case_text = |payment: &str| {
        format!(
            "format = 1\n[case]\nid = \"OSAKA-2026-0042\"\nprefecture = \"Osaka\"\n\
             crime = \"investment_fraud\"\nreported = 2026-11-20\ninvestigator = \"Test\"\n\n\
             [[seed]]\nchain = \"ethereum\"\npayment = \"{payment}\"\n"
        )
    };
    write(&case, &case_text(&format!("{}:0", hash(&seed_eth))));
    let out = dir.path().join("eth");
    let by_address = ["--level", "address", "--model"];
    let shown = support::trace(
        &db,
        &case,
        &out,
        &[&by_address[..], &["haircut,fifo,lifo,poison"]].concat(),
    );
    // Printed in ether, and the minimum amount counts ether (0.0001 ETH by default).
    support::assert_contains(
        &shown,
        &[
            "seeds: 1 transfer(s), 3.000000000000000000 ETH",
            "AMOUNT (ETH)",
            "amounts in ETH",
        ],
    );
    assert!(
        !shown.contains("BTC") && !shown.contains("unspent"),
        "{shown}"
    );
    assert_eq!(min_amount(&out), 100_000_000_000_000);
    let half = dir.path().join("eth-half");
    support::trace(&db, &case, &half, &["--min-amount", "0.5"]);
    assert_eq!(min_amount(&half), ETH / 2);
    let (f1, f2, f3) = (
        fee_of(&node, &layer),
        fee_of(&node, &mule_pays),
        fee_of(&node, &sweep),
    );
    // Haircut keeps each account's tainted share: 3/4 at the scammer,
    // then 1.875/3 at the mule, then 1.5/2.5 at the deposit address.
    // FIFO: each account first spends its clean gas money (fees included),
    // so 0.8 ETH plus the three fees reach the sweep tainted. LIFO: the
    // newest (tainted) value leaves first; only the sweep's fee is clean.
    // The 0.2 ETH into the mixer: 3/4 of it under haircut, all of it
    // under the others (the scammer's remaining value is tainted).
    let expected = [
        ("trace.json", 144 * ETH / 100, 15 * ETH / 100),
        ("trace-fifo.json", 8 * ETH / 10 + f1 + f2 + f3, ETH / 5),
        ("trace-lifo.json", 24 * ETH / 10 - f3, ETH / 5),
        ("trace-poison.json", 24 * ETH / 10, ETH / 5),
    ];
    for (file, want, mixed) in expected {
        let all = endpoints(&out, file);
        assert_eq!(all.len(), 2, "{file}: {all:?}");
        let m = all
            .iter()
            .find(|e| lower(&e["class"]) == "mixer")
            .expect("mixer endpoint");
        assert_eq!(lower(&m["deposit_address"]), mixer, "{file}");
        assert_eq!(m["evidence"]["rule"], "tagged_address", "{file}");
        assert!(
            amount(&m["amount"]).abs_diff(mixed) <= 4,
            "{file}: mixer {}",
            m["amount"]
        );
        let e: Vec<&Value> = all
            .iter()
            .filter(|e| lower(&e["class"]) == "exchange")
            .collect();
        assert_eq!(e[0]["service"], "testexchange", "{file}");
        assert_eq!(lower(&e[0]["deposit_address"]), deposit, "{file}");
        assert_eq!(e[0]["evidence"]["rule"], "deposit_sweep", "{file}");
        assert_eq!(
            lower(&e[0]["evidence"]["sweep_txid"]),
            hash(&sweep),
            "{file}"
        );
        let got = amount(&e[0]["amount"]);
        assert!(
            got.abs_diff(want) <= 4,
            "{file}: {got} wei, expected {want}"
        );
    }
    // The hop through the contract is in the graph with the contract as sender.
    let t: Value = serde_json::from_slice(&std::fs::read(out.join("trace.json")).unwrap()).unwrap();
    let through = t["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| lower(&e["txid"]) == hash(&layer) && e["vout"] == 1);
    let through = through.unwrap_or_else(|| panic!("no internal transfer edge: {}", t["edges"]));
    assert_eq!(
        lower(&t["nodes"][through["from"].as_u64().unwrap() as usize]["address"]),
        forwarder
    );

    // At cluster level the deposit address is in the exchange's cluster and
    // the scammer and the mule are one customer (both paid into it): one
    // account of 1.5 ETH gas money and 3 ETH stolen, 2/3 tainted, of which
    // the 2.4 ETH paid into the deposit address carry 1.6 ETH. The endpoint
    // still names the deposit address and the sweep that forwarded this
    // deposit — what the request to the exchange cites.
    let clustered = dir.path().join("eth-cluster");
    support::trace(&db, &case, &clustered, &[]);
    let e = endpoints(&clustered, "trace.json");
    assert_eq!(e[0]["evidence"]["rule"], "deposit_sweep");
    assert_eq!(lower(&e[0]["evidence"]["sweep_txid"]), hash(&sweep));
    assert_eq!(e[0]["evidence"]["confidence"], 90);
    assert_eq!(lower(&e[0]["deposit_address"]), deposit);
    assert!(
        amount(&e[0]["amount"]).abs_diff(16 * ETH / 10) <= 4,
        "{:?}",
        e[0]["amount"]
    );

    // The token case: every model delivers the 1000 TUSD to the deposit address.
    write(&case, &case_text(&format!("{}:1", hash(&seed_token))));
    let out = dir.path().join("token");
    let shown = support::trace(
        &db,
        &case,
        &out,
        &[&by_address[..], &["haircut,fifo,poison"]].concat(),
    );
    // In TUSD (6 decimals): the amounts and the minimum (0.0001 TUSD by default).
    support::assert_contains(
        &shown,
        &["seeds: 1 transfer(s), 1000.000000 TUSD", "AMOUNT (TUSD)"],
    );
    assert_eq!(min_amount(&out), 100);
    let half = dir.path().join("token-half");
    support::trace(&db, &case, &half, &["--min-amount", "0.5"]);
    assert_eq!(min_amount(&half), 500_000);
    let e = support::trace_fails(&db, &case, &half, &["--min-amount", "0.0000001"]);
    assert!(
        e.contains("--min-amount (in TUSD)") && e.contains("at most 6"),
        "{e}"
    );
    // `tx` shows the token transfer with its number, in TUSD.
    let text = support::ok(&["--db", d, "tx", &hash(&seed_token)]);
    assert!(
        text.contains("  #1   ") && text.contains(" 1000.000000 TUSD  (token "),
        "{text}"
    );
    for file in ["trace.json", "trace-fifo.json", "trace-poison.json"] {
        let e = endpoints(&out, file);
        assert_eq!(lower(&e[0]["deposit_address"]), deposit, "{file}");
        assert_eq!(amount(&e[0]["amount"]), 1_000_000_000, "{file}");
        assert_eq!(
            lower(&e[0]["evidence"]["sweep_txid"]),
            hash(&token_sweep),
            "{file}"
        );
    }
}
