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
use support::{fingerprint, json};

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
    json(&[
        "--db",
        db.to_str().unwrap(),
        "ingest",
        "ethereum",
        "--rpc",
        url,
        "--traces",
        traces,
        "--json",
    ])
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
                o["value"]
                    .as_u64()
                    .map(u128::from)
                    .unwrap_or_else(|| o["value"].as_str().unwrap().parse().unwrap()),
            )
        })
        .collect()
}

fn net(entry: &Value) -> i128 {
    entry["net"]
        .as_i64()
        .map(i128::from)
        .unwrap_or_else(|| entry["net"].to_string().parse().unwrap())
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
    assert_eq!(fwd["received"].as_u64().map(u128::from), Some(ETH + 3));
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
    assert_eq!(v["fee"].as_u64().map(u128::from), Some(fee));
    // Contracts are known as contracts.
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
