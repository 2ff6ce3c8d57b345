//! Ingest of real mainnet blk files into the RocksDB ledger, through the real
//! `tracer` binary: counts, known transactions, balances, bad input.

mod support;

use std::path::Path;

use chain_adapters::ledger::Chain;
use chain_adapters::store::{Store, StoreOptions};
use support::*;

const TIP_4312: &str = "00000000a9da635727dce622d78361b153ce3334e6a60d4377fad529abfc7863";
const TX_170: &str = "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16";
const COINBASE_9: &str = "0437cd7f8525ceed2324359c2d0ba26006d92d856a9c20fa0241106ee5a597c9";

fn db_arg(dir: &Path) -> String {
    dir.join("db").to_str().unwrap().to_string()
}

#[test]
fn ingests_blocks_0_to_4312_with_known_facts() {
    let tmp = tempfile::tempdir().unwrap();
    let db = db_arg(tmp.path());
    let s = ingest_main(Path::new(&db), &fixture("bitcoin/blk-heights-0-4312.dat"));
    assert_eq!(s["blocks"], 4313);
    assert_eq!(s["txs"], 4371);
    assert_eq!(s["tip_height"], 4312);
    assert_eq!(s["tip_hash"], TIP_4312);
    assert_eq!(s["stale_blocks"], 0);

    let st = json(&["--db", &db, "status", "--json"]);
    assert_eq!(st["bitcoin_network"], "main");
    assert_eq!(st["bitcoin_tip_height"], 4312);
    assert_eq!(st["bitcoin_tip_hash"], TIP_4312);
    assert_eq!(st["transactions"], 4371);

    // Block 170: the first person-to-person payment, Satoshi to Hal Finney.
    let tx = json(&["--db", &db, "tx", TX_170, "--json"]);
    assert_eq!(tx["height"], 170);
    assert_eq!(tx["inputs"].as_array().unwrap().len(), 1);
    assert_eq!(tx["inputs"][0]["spends"], format!("{COINBASE_9}:0"));
    assert_eq!(amount(&tx["inputs"][0]["value"]), 5_000_000_000);
    assert_eq!(
        tx["inputs"][0]["address"]["address"],
        "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S"
    );
    assert_eq!(tx["inputs"][0]["address"]["kind"], "p2pk");
    assert_eq!(amount(&tx["outputs"][0]["value"]), 1_000_000_000);
    assert_eq!(
        tx["outputs"][0]["address"]["address"],
        "1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3"
    );
    assert_eq!(tx["outputs"][0]["kind"], "p2pk");
    assert_eq!(amount(&tx["outputs"][1]["value"]), 4_000_000_000);
    assert_eq!(
        tx["outputs"][1]["address"]["address"],
        "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S"
    );
    assert_eq!(amount(&tx["fee"]), 0);

    // Block 9's coinbase is spent by tx 170.
    let cb = json(&["--db", &db, "tx", COINBASE_9, "--json"]);
    assert_eq!(cb["height"], 9);
    assert_eq!(cb["coinbase"], true);
    assert_eq!(cb["outputs"][0]["spent_by"], format!("{TX_170}:0"));

    // Hal Finney's address received the 10 BTC in tx 170 (P2PK, shown as its P2PKH address).
    let hal = json(&[
        "--db",
        &db,
        "address",
        "1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3",
        "--json",
        "--limit",
        "0",
    ]);
    let entries = hal["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "only the P2PK form has history");
    assert_eq!(entries[0]["kind"], "p2pk");
    let h170 = entries[0]["history"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["txid"] == TX_170)
        .expect("tx 170 in Hal's history");
    assert_eq!(amount(&h170["received"]), 1_000_000_000);
    assert_eq!(h170["height"], 170);
    // The text form names the same facts.
    let text = ok(&["--db", &db, "tx", TX_170]);
    assert!(
        text.contains("10.00000000 BTC  1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3 (p2pk)"),
        "{text}"
    );

    // Every satoshi is accounted for: balances add up to the coinbase total.
    let store = Store::open_read_only(Path::new(&db), StoreOptions::default()).unwrap();
    let (mut coinbase_total, mut fees, mut coinbases, mut others) = (0u128, 0u128, 0, 0);
    store
        .for_each_tx(|_, t| {
            if t.is_coinbase() {
                coinbases += 1;
                coinbase_total += t.outputs.iter().map(|o| o.value).sum::<u128>();
            } else {
                others += 1;
                fees += t.fee;
            }
        })
        .unwrap();
    assert_eq!((coinbases, others), (4313, 58));
    // Miners claimed exactly the 50 BTC subsidy plus the fees of the 58 payments.
    assert_eq!(fees, 201_000_000);
    assert_eq!(coinbase_total, 4313 * 5_000_000_000u128 + fees);
    let mut ids = Vec::new();
    store.for_each_address(|id, _| ids.push(id)).unwrap();
    assert_eq!(
        ids,
        (0..ids.len() as u32).collect::<Vec<_>>(),
        "address ids are dense"
    );
    let balance_total: u128 = ids
        .iter()
        .map(|&id| {
            let h = store.history(id).unwrap();
            h.iter().map(|e| e.received).sum::<u128>() - h.iter().map(|e| e.sent).sum::<u128>()
        })
        .sum();
    // Fees leave the payers and reappear in coinbases: what addresses hold is
    // exactly the new coins, 50 BTC a block.
    assert_eq!(balance_total, coinbase_total - fees);
    assert_eq!(balance_total, 4313 * 5_000_000_000u128);
    assert_eq!(store.tip(Chain::Bitcoin).unwrap().unwrap().height, 4312);

    // Each transaction knows which of its addresses appear for the first
    // time: exactly those whose history starts with it. Tx 170 introduces
    // Hal Finney's address, not Satoshi's change back to the block-9 key.
    let mut txs = Vec::new();
    store.for_each_tx(|id, t| txs.push((id, t))).unwrap();
    let (mut fresh, mut reused) = (0, 0);
    for (id, t) in &txs {
        for a in t.outputs.iter().filter_map(|o| o.addr) {
            let first = store.history(a).unwrap()[0].tx;
            assert_eq!(t.introduces(a), first == *id, "tx {id}, address {a}");
            if t.introduces(a) {
                fresh += 1;
            } else {
                reused += 1;
            }
        }
    }
    assert!(fresh > 4313 && reused > 0, "{fresh} fresh, {reused} reused");
    let (_, t170) = txs
        .iter()
        .find(|(_, t)| Chain::Bitcoin.hash_hex(&t.hash) == TX_170)
        .unwrap();
    let (hal, change) = (t170.outputs[0].addr.unwrap(), t170.outputs[1].addr.unwrap());
    assert_eq!(t170.inputs[0].addr, Some(change));
    assert!(t170.introduces(hal) && !t170.introduces(change));
    drop(store);

    // Ingesting the same file again adds nothing and changes nothing.
    let before = fingerprint(Path::new(&db));
    let again = ingest_main(Path::new(&db), &fixture("bitcoin/blk-heights-0-4312.dat"));
    assert_eq!(again["blocks"], 0);
    assert_eq!(fingerprint(Path::new(&db)), before);

    // A file of another network is refused, naming file and offset; nothing is committed.
    let err = ingest_fails(
        Path::new(&db),
        &fixture("bitcoin/mixed-testnet-mainnet.blk"),
        &["--network", "main"],
    );
    assert!(
        err.contains(
            "mixed-testnet-mainnet.blk: offset 0: block of network test where main was expected"
        ),
        "{err}"
    );
    assert_eq!(fingerprint(Path::new(&db)), before);
    // A DB holding mainnet refuses regtest data.
    let err = ingest_fails(
        Path::new(&db),
        &fixture("bitcoin/blk-heights-1-255.dat"),
        &["--network", "regtest"],
    );
    assert!(
        err.contains("holds bitcoin main data, cannot add bitcoin regtest data"),
        "{err}"
    );
}

#[test]
fn mixed_file_as_testnet_fails_at_the_mainnet_block() {
    let tmp = tempfile::tempdir().unwrap();
    let db = db_arg(tmp.path());
    let err = ingest_fails(
        Path::new(&db),
        &fixture("bitcoin/mixed-testnet-mainnet.blk"),
        &["--network", "test"],
    );
    assert!(
        err.contains("offset 293: block of network main where test was expected"),
        "{err}"
    );
    assert!(err.contains("no bitcoin blocks committed"), "{err}");
    let st = json(&["--db", &db, "status", "--json"]);
    assert!(st["bitcoin_tip_height"].is_null());
    assert_eq!(st["transactions"], 0);
}

#[test]
fn genesis_is_supplied_when_the_files_start_at_block_1() {
    let tmp = tempfile::tempdir().unwrap();
    let db = db_arg(tmp.path());
    let s = ingest_main(Path::new(&db), &fixture("bitcoin/blk-heights-1-255.dat"));
    assert_eq!(s["blocks"], 256);
    assert_eq!(s["tip_height"], 255);
    let genesis = json(&[
        "--db",
        &db,
        "tx",
        "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b",
        "--json",
    ]);
    assert_eq!(genesis["height"], 0);
    assert_eq!(
        genesis["outputs"][0]["address"]["address"],
        "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"
    );
    // The same blocks as the 0–4312 file, so the first 256 blocks agree.
    let tmp2 = tempfile::tempdir().unwrap();
    let db2 = db_arg(tmp2.path());
    ingest_main(Path::new(&db2), &fixture("bitcoin/blk-heights-0-4312.dat"));
    let b255 = |db: &str| {
        let store = Store::open_read_only(Path::new(db), StoreOptions::default()).unwrap();
        store.block(Chain::Bitcoin, 255).unwrap().unwrap().hash
    };
    assert_eq!(b255(&db), b255(&db2));
}

#[test]
fn progress_bar_on_a_terminal_and_commit_lines_otherwise() {
    let tmp = tempfile::tempdir().unwrap();
    let blocks = fixture("bitcoin/blk-heights-0-4312.dat");
    // Under a pseudo-terminal (util-linux `script`): the bar with blocks/s and ETA.
    let tty_db = tmp.path().join("tty");
    let cmd = format!(
        "{} --db {} ingest bitcoin --blocks-dir {}",
        env!("CARGO_BIN_EXE_tracer"),
        tty_db.display(),
        blocks.display()
    );
    let out = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .output()
        .expect("util-linux script");
    assert!(out.status.success());
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(screen.contains("/4313 blocks"), "{screen}");
    assert!(screen.contains("/s") && screen.contains("ETA"), "{screen}");
    assert!(!screen.contains("committed height"), "{screen}");
    // Not a terminal: no bar, one line each time more blocks are durable
    // (every commit: here every 100 blocks).
    let db = tmp.path().join("plain");
    let out = support::tracer()
        .args([
            "--db",
            db.to_str().unwrap(),
            "ingest",
            "bitcoin",
            "--batch-blocks",
            "100",
        ])
        .args(["--blocks-dir", blocks.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success());
    let err = stderr(&out);
    assert!(!err.contains("ETA"), "{err}");
    let committed: Vec<&str> = err
        .lines()
        .filter_map(|l| l.strip_prefix("committed height "))
        .collect();
    assert_eq!(committed[..3], ["99", "199", "299"], "{err}");
    assert_eq!(committed.last(), Some(&"4312"), "{err}");
}

/// How many times `needle` occurs in `text`.
fn occurrences(text: &str, needle: &str) -> usize {
    text.matches(needle).count()
}

/// Mistakes a user makes with the ledger and its files get one clear
/// sentence each: the OS error said once (it was printed twice), `--db` on a
/// file, a second writer.
#[test]
fn ledger_mistakes_are_named_once_and_plainly() {
    let tmp = tempfile::tempdir().unwrap();
    let db = db_arg(tmp.path());
    let blocks = fixture("bitcoin/blk-heights-0-4312.dat");
    ingest_main(Path::new(&db), &blocks);

    // A missing file, said once.
    let missing = tmp.path().join("missing.yaml");
    let err = stderr(&fails(&[
        "--db",
        &db,
        "tags",
        "import",
        missing.to_str().unwrap(),
    ]));
    assert_contains(&err, &["missing.yaml", "No such file or directory"]);
    assert_eq!(occurrences(&err, "No such file or directory"), 1, "{err}");
    let err = ingest_fails(Path::new(&db), &tmp.path().join("no-blocks"), &[]);
    assert_eq!(occurrences(&err, "No such file or directory"), 1, "{err}");

    // --db on a file.
    let file = tmp.path().join("ledger.txt");
    std::fs::write(&file, "not a ledger").unwrap();
    for args in [
        vec!["status"],
        vec![
            "ingest",
            "bitcoin",
            "--blocks-dir",
            blocks.to_str().unwrap(),
        ],
    ] {
        let mut all = vec!["--db", file.to_str().unwrap()];
        all.extend(args);
        let err = stderr(&fails(&all));
        assert_contains(
            &err,
            &["ledger.txt", "this is a file, not a ledger directory"],
        );
    }

    // A second writer while an ingest runs: named for what it is.
    let busy = tmp.path().join("busy");
    let mut first = spawn_ingest(&busy, &blocks, "1", "0");
    let _log = collect_stderr(&mut first);
    let second = tracer()
        .args([
            "--db",
            busy.to_str().unwrap(),
            "ingest",
            "bitcoin",
            "--blocks-dir",
        ])
        .arg(&blocks)
        .output()
        .unwrap();
    let still_running = first.try_wait().unwrap().is_none();
    first.kill().unwrap();
    first.wait().unwrap();
    assert!(
        still_running,
        "the first ingest ended before the second began"
    );
    assert!(!second.status.success());
    let err = stderr(&second);
    assert_contains(&err, &["another tracer is writing this ledger"]);
    assert!(!err.contains("Resource temporarily unavailable"), "{err}");
}

/// A ledger on read-only storage (a read-only bind mount, made in a user
/// namespace so the test needs no privilege): queries answer, and an ingest
/// says why it cannot write.
#[test]
fn a_ledger_on_read_only_storage_answers_queries() {
    let tmp = tempfile::tempdir().unwrap();
    let db = db_arg(tmp.path());
    ingest_main(Path::new(&db), &fixture("bitcoin/blk-heights-0-4312.dat"));
    let bin = env!("CARGO_BIN_EXE_tracer");
    let script = format!(
        "mount --bind {db} {db} && mount -o remount,bind,ro {db} && \
         {bin} --db {db} tx {TX_170} --json && \
         ! {bin} --db {db} ingest bitcoin --blocks-dir {blocks} 2>&1",
        blocks = fixture("bitcoin/blk-heights-0-4312.dat").display()
    );
    let out = std::process::Command::new("unshare")
        .args(["-rm", "sh", "-c", &script])
        .output()
        .expect("unshare (util-linux) runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}\n{}", stderr(&out));
    assert_contains(
        &text,
        &[
            &format!("\"txid\": \"{TX_170}\""),
            "the ledger is not writable here",
            "Read-only file system",
            "queries work on it",
        ],
    );
}

/// `--cache-mb` sets how much of the address ids and unspent outputs the
/// writer holds (8 MiB: a few ten thousand of each, their older generation
/// forgotten a dozen times over the chain; 1 GiB: all of them): the ledger
/// is the same, in one ingest or two.
#[test]
fn the_ledger_is_the_same_whatever_the_memory() {
    let tmp = tempfile::tempdir().unwrap();
    let sim = tmp.path().join("sim");
    simulate_medium(&sim);
    let blocks = sim.join("blocks");
    let ingest = |db: &Path, blocks: &Path, cache: &str| {
        json(&ingest_args(
            db.to_str().unwrap(),
            ["--blocks-dir", blocks.to_str().unwrap()],
            &["--network", "regtest", "--cache-mb", cache, "--json"],
        ))
    };
    let plenty = tmp.path().join("plenty");
    ingest(&plenty, &blocks, "1024");
    let little = tmp.path().join("little");
    let part = tmp.path().join("part");
    first_blocks(&blocks.join("blk00000.dat"), 400, &part);
    ingest(&little, &part, "8");
    ingest(&little, &blocks, "8");
    let status = |db: &Path| json(&["--db", db.to_str().unwrap(), "status", "--json"]);
    assert_eq!(status(&plenty)["addresses"], 218_162);
    assert_eq!(status(&plenty)["transactions"], 101_469);
    assert_eq!(
        status(&little)["bitcoin_tip_hash"],
        status(&plenty)["bitcoin_tip_hash"]
    );
    assert_eq!(fingerprint(&little), fingerprint(&plenty));
}
