//! Ethereum ingest over recorded mainnet JSON-RPC responses (blocks
//! 19433902–19433903, served by a local replay server), checked against
//! facts computed independently from the same files by
//! `tests/tools/eth_expected.py` (Python, standard library only), and the
//! ingest's behaviour when the node misbehaves.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use chain_adapters::ledger::{token_of_asset, Chain, TX_FAILED};
use chain_adapters::store::{Store, StoreOptions};
use serde_json::Value;
use support::eth_replay::{Faults, Replay, Tamper};
use support::{assert_contains, eth_ingest_args, fails, fingerprint, json, ok, stderr};

const FIRST: u64 = 19_433_902;
const LAST: u64 = 19_433_903;

fn expected() -> Value {
    let text =
        std::fs::read_to_string(support::fixture("ethereum/expected-19433902-19433903.json"))
            .unwrap();
    serde_json::from_str(&text).unwrap()
}

fn ingest(db: &Path, url: &str, extra: &[&str]) -> Value {
    let mut args = vec!["--from", "19433902", "--traces", "none", "--json"];
    args.extend_from_slice(extra);
    json(&eth_ingest_args(db.to_str().unwrap(), url, &args))
}

fn ingest_fails(db: &Path, url: &str, extra: &[&str]) -> String {
    let mut args = vec!["--from", "19433902"];
    args.extend_from_slice(extra);
    stderr(&fails(&eth_ingest_args(db.to_str().unwrap(), url, &args)))
}

fn lower(a: &str) -> String {
    a.to_ascii_lowercase()
}

/// Per-block facts read back from the ledger through the library.
#[derive(Default, Debug)]
struct BlockFacts {
    txs: u64,
    failed: u64,
    fees: u128,
    eth_count: u64,
    eth_total: u128,
    token_transfers: u64,
    tokens: BTreeSet<u32>,
    by_token: BTreeMap<String, (u64, u128)>,
}

fn ledger_facts(db: &Path) -> BTreeMap<u64, BlockFacts> {
    let store = Store::open_read_only(db, StoreOptions::default()).unwrap();
    let mut contract_of: BTreeMap<u32, String> = BTreeMap::new();
    let mut facts: BTreeMap<u64, BlockFacts> = BTreeMap::new();
    let mut txs = Vec::new();
    store.for_each_tx(|_, t| txs.push(t)).unwrap();
    for t in txs {
        assert_eq!(t.chain, Chain::Ethereum);
        let f = facts.entry(t.height).or_default();
        f.txs += 1;
        f.failed += u64::from(t.flags & TX_FAILED != 0);
        f.fees += t.fee;
        let top = &t.outputs[0];
        if top.value > 0 {
            f.eth_count += 1;
            f.eth_total += top.value;
        }
        for o in t.outputs.iter().filter(|o| o.asset != 0) {
            f.token_transfers += 1;
            f.tokens.insert(o.asset);
            let contract = contract_of.entry(o.asset).or_insert_with(|| {
                let key = store
                    .address(token_of_asset(o.asset).unwrap())
                    .unwrap()
                    .unwrap();
                format!("0x{}", hex::encode(key.payload))
            });
            let e = f.by_token.entry(contract.clone()).or_default();
            e.0 += 1;
            e.1 += o.value;
        }
    }
    facts
}

fn dec(v: &Value) -> u128 {
    v.as_str().unwrap().parse().unwrap()
}

#[test]
fn recorded_mainnet_blocks_give_the_independently_computed_transfers() {
    let replay = Replay::start(Faults::default());
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let s = ingest(&db, &replay.url, &[]);
    assert_eq!(s["blocks"], 2);
    assert_eq!(s["txs"], 343);
    assert_eq!(s["tip_height"], LAST);
    let exp = expected();
    // The summary's tip hash is the block hash as Ethereum writes it (not byte-reversed).
    assert_eq!(s["tip_hash"], exp["blocks"][1]["hash"]);
    let facts = ledger_facts(&db);
    for b in exp["blocks"].as_array().unwrap() {
        let n = b["number"].as_u64().unwrap();
        let f = &facts[&n];
        assert_eq!(f.txs, b["tx_count"].as_u64().unwrap(), "block {n} txs");
        assert_eq!(f.failed, b["failed"].as_u64().unwrap(), "block {n} failed");
        assert_eq!(f.fees, dec(&b["fees_including_blob_wei"]), "block {n} fees");
        assert_eq!(
            f.eth_count,
            b["eth_value"]["count"].as_u64().unwrap(),
            "block {n} ETH transfers"
        );
        assert_eq!(
            f.eth_total,
            dec(&b["eth_value"]["total_wei"]),
            "block {n} ETH value"
        );
        let erc20 = &b["erc20"];
        assert_eq!(
            f.token_transfers,
            erc20["transfer_count"].as_u64().unwrap(),
            "block {n} ERC-20 transfers"
        );
        assert_eq!(
            f.tokens.len() as u64,
            erc20["distinct_token_contracts"].as_u64().unwrap()
        );
        for (sym, t) in erc20["tokens"].as_object().unwrap() {
            let got = f.by_token[t["contract"].as_str().unwrap()];
            assert_eq!(got.0, t["count"].as_u64().unwrap(), "block {n} {sym} count");
            assert_eq!(got.1, dec(&t["total_value"]), "block {n} {sym} value");
        }
    }

    // Samples through the CLI: a USDT transfer and a plain ETH payment.
    let d = db.to_str().unwrap();
    let usdt = &exp["blocks"][0]["erc20"]["samples"]["USDT"][0];
    let v = json(&["--db", d, "tx", usdt["tx_hash"].as_str().unwrap(), "--json"]);
    assert_eq!(v["chain"], "ethereum");
    assert_eq!(v["height"], FIRST);
    let moved: Vec<&Value> = v["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| {
            o["token"]["contract"].as_str().map(lower).as_deref()
                == Some("0xdac17f958d2ee523a2206206994597c13d831ec7")
        })
        .collect();
    assert!(
        moved
            .iter()
            .any(|o| lower(o["from"]["address"].as_str().unwrap())
                == usdt["from"].as_str().unwrap()
                && lower(o["address"]["address"].as_str().unwrap())
                    == usdt["to"].as_str().unwrap()
                && support::amount(&o["value"]) == dec(&usdt["value"])),
        "{v:#}"
    );
    let eth = &exp["blocks"][0]["eth_value"]["samples"][0];
    let v = json(&["--db", d, "tx", eth["hash"].as_str().unwrap(), "--json"]);
    assert_eq!(
        lower(v["outputs"][0]["from"]["address"].as_str().unwrap()),
        eth["from"].as_str().unwrap()
    );
    assert_eq!(
        lower(v["outputs"][0]["address"]["address"].as_str().unwrap()),
        eth["to"].as_str().unwrap()
    );
    assert_eq!(
        support::amount(&v["outputs"][0]["value"]),
        dec(&eth["value_wei"])
    );
    assert_eq!(support::amount(&v["fee"]), dec(&eth["fee_wei"]));
    // Addresses display EIP-55 checksummed and are found in any case.
    let shown = v["outputs"][0]["from"]["address"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(shown, lower(&shown), "checksummed display");
    let a = json(&[
        "--db",
        d,
        "address",
        &shown.to_ascii_uppercase().replacen("0X", "0x", 1),
        "--json",
    ]);
    assert_eq!(a["entries"][0]["address"], shown.as_str());
    // The sender paid the value and the fee.
    let sent = support::amount(&a["entries"][0]["sent"]);
    assert!(sent >= dec(&eth["value_wei"]) + dec(&eth["fee_wei"]));

    // Ledger-wide conservation: transfers move value between accounts, fees leave it.
    let st = json(&["--db", d, "status", "--json"]);
    assert_eq!(st["ethereum_network"], "mainnet");
    assert_eq!(st["ethereum_first_block"], FIRST);
    assert_eq!(st["ethereum_tip_hash"], exp["blocks"][1]["hash"]);
    // The text status shows the Ethereum tip too.
    let text = ok(&["--db", d, "status"]);
    assert_contains(
        &text,
        &[
            "ethereum      mainnet",
            "  tip height  19433903",
            &format!(
                "  tip hash    {}",
                exp["blocks"][1]["hash"].as_str().unwrap()
            ),
        ],
    );

    // Running again adds nothing; its text summary names the same tip.
    let again = ingest(&db, &replay.url, &[]);
    assert_eq!(again["blocks"], 0);
    let text = ok(&eth_ingest_args(d, &replay.url, &[]));
    assert_contains(&text, &[exp["blocks"][1]["hash"].as_str().unwrap()]);

    // A node without eth_getBlockReceipts: receipts one by one, same ledger.
    let old_node = Replay::start(Faults {
        no_block_receipts: true,
        ..Faults::default()
    });
    let one_by_one = dir.path().join("one-by-one");
    let s = ingest(&one_by_one, &old_node.url, &["--concurrency", "1"]);
    assert_eq!(s["txs"], 343);
    assert_eq!(fingerprint(&one_by_one), fingerprint(&db));

    // With one confirmation required, the head block waits.
    let confirmed = dir.path().join("confirmed");
    let s = ingest(&confirmed, &replay.url, &["--confirmations", "1"]);
    assert_eq!(s["tip_height"], FIRST);
}

#[test]
fn malformed_replies_are_clear_errors_and_keep_the_committed_blocks() {
    let dir = tempfile::tempdir().unwrap();
    // The reference: only the first block.
    let clean = Replay::start(Faults::default());
    let reference = dir.path().join("reference");
    ingest(&reference, &clean.url, &["--to", "19433902"]);

    let cases: [(&str, Tamper, &str); 5] = [
        (
            "bad hex",
            |b| b["timestamp"] = Value::from("0xZZ"),
            "malformed reply",
        ),
        (
            "missing field",
            |b| {
                b["transactions"][5].as_object_mut().unwrap().remove("hash");
            },
            "transaction 5: missing field `hash`",
        ),
        (
            "wrong block",
            |b| b["number"] = Value::from("0x1"),
            "asked for block 19433903",
        ),
        (
            "absurd time",
            |b| b["timestamp"] = Value::from("0xffffffffffffffff"),
            "timestamp 18446744073709551615 is past the year 9999",
        ),
        // A parent that is not the block before: re-read a bounded number of
        // times (it looped forever before), then named with both hashes.
        (
            "unlinked",
            |b| b["parentHash"] = Value::from(format!("0x{}", "11".repeat(32))),
            "does not link to the ledger's block 19433902 (0x8ec7bd37afa247fde16aa96317c77055b7a633aa8dc9ae27d0d5c776b58fef04): its parent is 0x1111",
        ),
    ];
    for (what, tamper, message) in cases {
        let bad = Replay::start(Faults {
            tamper_block: Some((LAST, tamper)),
            ..Faults::default()
        });
        let db = dir.path().join(what.replace(' ', "-"));
        let err = ingest_fails(
            &db,
            &bad.url,
            &[
                "--traces",
                "none",
                "--batch-blocks",
                "1",
                "--concurrency",
                "1",
            ],
        );
        assert!(err.contains(message), "{what}: {err}");
        assert!(err.contains("19433903"), "{what}: names the block: {err}");
        assert!(
            err.contains("ledger is intact at ethereum height 19433902"),
            "{what}: {err}"
        );
        assert_eq!(
            fingerprint(&db),
            fingerprint(&reference),
            "{what}: the good block, nothing else"
        );
    }

    // A node on another chain.
    let sepolia = Replay::start(Faults {
        chain_id: Some(11_155_111),
        ..Faults::default()
    });
    let err = ingest_fails(&reference, &sepolia.url, &["--traces", "none"]);
    assert!(
        err.contains("ethereum mainnet") && err.contains("sepolia"),
        "{err}"
    );
    let err = ingest_fails(
        &dir.path().join("fresh"),
        &sepolia.url,
        &["--traces", "none", "--chain-id", "1"],
    );
    assert!(err.contains("chain id 11155111, not 1"), "{err}");

    // A node without traces: auto mode says how to go on.
    let err = ingest_fails(&dir.path().join("notrace"), &clean.url, &[]);
    assert!(err.contains("--traces none"), "{err}");

    // A receipt with a status that is neither 0x0 nor 0x1: its transaction is named.
    let bad_status = Replay::start(Faults {
        tamper_receipts: Some((LAST, |r| r[3]["status"] = Value::from("0x7"))),
        ..Faults::default()
    });
    let db = dir.path().join("bad-status");
    let err = ingest_fails(
        &db,
        &bad_status.url,
        &["--traces", "none", "--batch-blocks", "1"],
    );
    let receipts: Value = serde_json::from_str(
        &std::fs::read_to_string(support::fixture("ethereum/mainnet/receipts-19433903.json"))
            .unwrap(),
    )
    .unwrap();
    let hash = receipts["result"][3]["transactionHash"].as_str().unwrap();
    assert_contains(
        &err,
        &[
            "eth_getBlockReceipts(19433903)",
            &format!("malformed reply: receipt 3 (transaction {hash})"),
            "ledger is intact at ethereum height 19433902",
        ],
    );

    // A reply over --max-reply-mb is refused, not read on.
    let padded = Replay::start(Faults {
        pad_batch_replies: 3 << 20,
        ..Faults::default()
    });
    let err = ingest_fails(
        &dir.path().join("padded"),
        &padded.url,
        &["--traces", "none", "--max-reply-mb", "2", "--retries", "0"],
    );
    assert!(
        err.contains("19433902") && err.contains("the reply is larger than 2 MiB"),
        "{err}"
    );

    // A node that never answers.
    let silent = Replay::start(Faults {
        silent: true,
        ..Faults::default()
    });
    let err = ingest_fails(
        &dir.path().join("silent"),
        &silent.url,
        &["--rpc-timeout", "1", "--retries", "1"],
    );
    assert!(
        err.contains("eth_chainId") && err.contains("within 1 s after 2 attempt(s)"),
        "{err}"
    );
}

/// A swap of block 19433902 through 1inch: 0.1 ETH in, fee 0.0151433849293449
/// ETH, and three token transfers, the last one to the sender.
const ETH_PAYMENT: &str = "0x8d6b84b11ace6e48c95ae7a229d9d467ead6f122a14fd86aa18c5b8c7665bea7";
/// A USDT `transferFrom` of block 19433902: 500,000 USDT, sent by another account.
const USDT_PAYMENT: &str = "0x35c7497145e3b06863dac30aa6c130faa6a826d1521a59f8c6fd8f51d778d32d";
const USDT: &str = "0xdAC17F958D2ee523a2206206994597C13D831ec7";

/// The address of a `tx --json` party, checked against the known lowercase one.
fn party(v: &Value, known: &str) -> String {
    let shown = v["address"].as_str().unwrap();
    assert_eq!(lower(shown), known, "{v}");
    shown.to_string()
}

#[test]
fn text_views_show_ether_and_tokens_in_their_own_units_with_the_sender() {
    let replay = Replay::start(Faults::default());
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    ingest(&db, &replay.url, &[]);
    let d = db.to_str().unwrap();

    // The swap: fee and value in ETH with 18 decimals, paid by its sender;
    // the tokens it got back in base units (the recording has no `decimals()`).
    let v = json(&["--db", d, "tx", ETH_PAYMENT, "--json"]);
    let from = party(
        &v["outputs"][0]["from"],
        "0xf49d4e1220d409e754955ba91062c2b0b67fde4c",
    );
    let to = party(
        &v["outputs"][0]["address"],
        "0x881d40237659c251811cec9c364ef91dc08d300c",
    );
    let text = ok(&["--db", d, "tx", ETH_PAYMENT]);
    assert_contains(
        &text,
        &[
            format!("tx {ETH_PAYMENT}"),
            "ethereum block 19433902 (".to_string(),
            format!("fee 0.015143384929344900 ETH paid by {from}"),
            format!("transfers: 4 (a case file names one as payment = \"{ETH_PAYMENT}:N\")"),
            format!("  #0   {from} → {to}  0.100000000000000000 ETH"),
            format!(
                "  #3   0x74de5d4FCbf63E00296fd95d33236B9794016631 → {from}  58663791380196893 units of 0x85E0b9D3E7e4dBa7E59090C533906d0e9211D8b6\n"
            ),
        ],
    );
    for bitcoin_word in ["BTC", "coinbase", "unspent", "spent by", "vsize"] {
        assert!(!text.contains(bitcoin_word), "{bitcoin_word}:\n{text}");
    }
    assert_eq!(v["outputs"][0]["transfer"], 0);

    // The token transfer: the transaction's sender pays the fee and calls
    // the contract (#0, no ether); the USDT moves between two other
    // accounts (#1), in base units since the recording has no `decimals()`.
    let v = json(&["--db", d, "tx", USDT_PAYMENT, "--json"]);
    let sender = party(
        &v["outputs"][0]["from"],
        "0xb7a2d83d94fce4a4cc8f92c961af418d5c797565",
    );
    let owner = party(
        &v["outputs"][1]["from"],
        "0x8f0ee0393eae7fc1638bd7860a3fec6a663786ae",
    );
    let payee = party(
        &v["outputs"][1]["address"],
        "0xe0d76d96d0dae82952dcc150b66f19a78dd5e045",
    );
    assert_eq!(v["outputs"][1]["transfer"], 1);
    assert_eq!(v["outputs"][1]["token"]["contract"], USDT);
    let text = ok(&["--db", d, "tx", USDT_PAYMENT]);
    assert_contains(
        &text,
        &[
            format!("fee 0.003833211568529772 ETH paid by {sender}"),
            format!("  #0   {sender} → {USDT}  0.000000000000000000 ETH"),
            format!("  #1   {owner} → {payee}  500000000000 units of {USDT}"),
        ],
    );

    // The sender's and the payee's history lines: value plus fee out, value in.
    let text = ok(&["--db", d, "address", &from]);
    assert_contains(
        &text,
        &[
            format!("{ETH_PAYMENT}  +0.000000000000000000 ETH -0.115143384929344900 ETH"),
            "ETH: received ".to_string(),
            format!("\n\n  [account] {from} #"),
        ],
    );
    assert!(!text.contains("BTC"), "{text}");
    let text = ok(&["--db", d, "address", &payee]);
    assert_contains(
        &text,
        &[
            format!("{USDT_PAYMENT}  +500000000000 units of {USDT} -0 units of {USDT}"),
            format!("token {USDT}: received 500000000000 units of {USDT}"),
        ],
    );
}

#[test]
fn an_ethereum_payment_seed_names_the_transfer_number_tx_shows() {
    let replay = Replay::start(Faults::default());
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    ingest(&db, &replay.url, &[]);
    let d = db.to_str().unwrap();
    let case = support::fixture("cases/ethereum-usdt-payment.toml");
    let c = case.to_str().unwrap();
    let v = json(&["--db", d, "case", "check", c, "--json"]);
    let out = &v["files"][0]["outputs"][0];
    assert_eq!(out["transfer"], 1, "{v}");
    assert_eq!(out["txid"], USDT_PAYMENT);
    assert_eq!(
        lower(out["address"].as_str().unwrap()),
        "0xe0d76d96d0dae82952dcc150b66f19a78dd5e045"
    );
    assert_eq!(support::amount(&out["value"]), 500_000_000_000);
    assert_eq!(out["value_coins"], format!("500000000000 units of {USDT}"));
    assert_eq!(out["height"], FIRST);
    let shown = ok(&["case", "show", c]);
    assert!(
        shown.contains(&format!("{USDT_PAYMENT}:1 (transfer #1)")),
        "{shown}"
    );

    // A number the transaction does not have: the message says how many it has and where to look.
    let bad = dir.path().join("bad.toml");
    let text = std::fs::read_to_string(&case).unwrap();
    std::fs::write(&bad, text.replace(":1\"", ":9\"")).unwrap();
    let e = stderr(&fails(&["--db", d, "case", "check", bad.to_str().unwrap()]));
    assert!(
        e.contains(&format!(
            "transaction {USDT_PAYMENT} has 2 transfer(s), #0 to #1; there is no transfer #9 (`tracer tx {USDT_PAYMENT}` lists them)"
        )),
        "{e}"
    );
    // Without a number: the message says what the number is.
    std::fs::write(&bad, text.replace(":1\"", "\"")).unwrap();
    let e = stderr(&fails(&["case", "check", bad.to_str().unwrap()]));
    assert!(
        e.contains("has no transfer number; expected 0xHASH:N") && e.contains("`tracer tx 0xHASH`"),
        "{e}"
    );
}
