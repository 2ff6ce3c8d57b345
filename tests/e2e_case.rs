//! Case files through the real `tracer` binary: `case new|show|list|check`,
//! seeds resolved against the ledger of real mainnet blocks 0–4312, and every
//! kind of bad file named with its file, line and field.

mod support;

use std::path::{Path, PathBuf};

use support::*;

const TX_170: &str = "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16";
const HAL: &str = "1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3";
const SATOSHI: &str = "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S";
/// Block 170's time.
const TIME_170: u64 = 1_231_731_025;

fn case_file(name: &str) -> String {
    path_str(&fixture(&format!("cases/{name}")))
}

fn path_str(p: &Path) -> String {
    p.to_str().unwrap().to_string()
}

/// A ledger of the bundled mainnet blocks 0–4312 under `tmp`.
fn ledger(tmp: &Path) -> String {
    let db = tmp.join("db");
    ingest_main(&db, &fixture("bitcoin/blk-heights-0-4312.dat"));
    path_str(&db)
}

/// Stderr of a `tracer` run that must fail.
fn error_of(args: &[&str]) -> String {
    stderr(&fails(args))
}

fn assert_has(text: &str, parts: &[&str]) {
    for p in parts {
        assert!(text.contains(p), "expected {p:?} in:\n{text}");
    }
}

#[test]
fn check_resolves_real_seeds_against_the_ledger() {
    let tmp = tempfile::tempdir().unwrap();
    let db = ledger(tmp.path());
    let good = case_file("tokyo-2026-0001.toml");

    let v = json(&["--db", &db, "case", "check", &good, "--json"]);
    assert_eq!(v["valid"], 1);
    assert_eq!(v["invalid"], 0);
    let f = &v["files"][0];
    assert_eq!(f["valid"], true);
    assert_eq!(f["id"], "TOKYO-2026-0001");
    assert_eq!(f["seeds"], 2);
    let outs = f["outputs"].as_array().unwrap();
    assert_eq!(outs.len(), 2, "{outs:#?}");
    // Seed 1: the payment, 10 BTC to Hal Finney in block 170.
    assert_eq!(outs[0]["seed"], 1);
    assert_eq!(outs[0]["txid"], TX_170);
    assert_eq!(outs[0]["vout"], 0);
    assert_eq!(outs[0]["address"], HAL);
    assert_eq!(amount(&outs[0]["value"]), 1_000_000_000);
    assert_eq!(outs[0]["value_coins"], "10.00000000 BTC");
    assert_eq!(outs[0]["height"], 170);
    assert_eq!(outs[0]["time"], TIME_170);
    assert_eq!(outs[0]["time_utc"], "2009-01-12 03:30:25 UTC");
    // Seed 2: Satoshi's address received exactly 40 BTC (the change of tx 170) that day.
    assert_eq!(outs[1]["seed"], 2);
    assert_eq!(outs[1]["txid"], TX_170);
    assert_eq!(outs[1]["vout"], 1);
    assert_eq!(outs[1]["address"], SATOSHI);
    assert_eq!(amount(&outs[1]["value"]), 4_000_000_000);
    assert_eq!(outs[1]["height"], 170);

    // The text form names the same outputs.
    let text = ok(&["--db", &db, "case", "check", &good]);
    assert_has(
        &text,
        &[
            "ok ",
            "TOKYO-2026-0001",
            &format!("{TX_170}:0  {HAL}  10.00000000 BTC  height 170  2009-01-12 03:30:25 UTC"),
            &format!("{TX_170}:1  {SATOSHI}  40.00000000 BTC  height 170"),
        ],
    );

    // A window with an offset date-time and no amount: every receipt of the address from then on.
    let osaka = json(&[
        "--db",
        &db,
        "case",
        "check",
        &case_file("osaka-ja.toml"),
        "--json",
    ]);
    let outs = osaka["files"][0]["outputs"].as_array().unwrap();
    assert_eq!(outs[0]["txid"], TX_170);
    assert!(outs
        .iter()
        .all(|o| o["address"] == HAL && o["time"].as_u64().unwrap() >= TIME_170 - 3 * 3600));

    // Without --db only the file is checked.
    let v = json(&["case", "check", &good, "--json"]);
    assert_eq!(v["files"][0]["valid"], true);
    assert!(v["files"][0].get("outputs").is_none());
}

#[test]
fn seeds_the_ledger_cannot_resolve_are_named_with_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let db = ledger(tmp.path());
    let expect = [
        (
            "ledger-vout-out-of-range.toml",
            vec![
                "seed 1 (line 10)".to_string(),
                format!("transaction {TX_170} has 2 outputs; there is no output 5"),
            ],
        ),
        (
            "ledger-unknown-tx.toml",
            vec![
                "seed 1 (line 11)".to_string(),
                "transaction a1075db55d416d3ca199f55b6084e2115b9345e16c5cf302fc80e9d5fbf5d48d is not in the ledger (tip height 4312)".to_string(),
            ],
        ),
        (
            "ledger-wrong-network.toml",
            vec![
                "seed 1 (line 10)".to_string(),
                "address mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn is an address of bitcoin test".to_string(),
                "but the ledger holds bitcoin main data".to_string(),
            ],
        ),
        (
            "ledger-amount-mismatch.toml",
            vec![
                "seed 1 (line 10)".to_string(),
                format!("address {SATOSHI} received no output of exactly 41.00000000 BTC between 2009-01-12 00:00:00 UTC and 2009-01-13 23:59:59 UTC; it received 40.00000000 BTC"),
            ],
        ),
        (
            "ledger-empty-window.toml",
            vec![
                "seed 1 (line 10)".to_string(),
                format!("address {SATOSHI} received nothing from 2012-01-01 00:00:00 UTC on (it received funds in"),
            ],
        ),
        (
            "ledger-no-ethereum.toml",
            vec![
                "seed 1 (line 10)".to_string(),
                "the ledger holds no ethereum data (ingest ethereum first)".to_string(),
            ],
        ),
    ];
    for (name, parts) in &expect {
        let file = case_file(name);
        // The file itself is valid; only the ledger disagrees.
        ok(&["case", "check", &file]);
        let err = error_of(&["--db", &db, "case", "check", &file]);
        assert_has(&err, &[&format!("{file}: ")]);
        assert_has(&err, &parts.iter().map(String::as_str).collect::<Vec<_>>());
    }

    // All at once: every file is named, the good one passes, the exit code fails.
    let mut args = vec![
        "--db".to_string(),
        db.clone(),
        "case".into(),
        "check".into(),
    ];
    args.push(case_file("tokyo-2026-0001.toml"));
    args.extend(expect.iter().map(|(n, _)| case_file(n)));
    args.push("--json".into());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = fails(&args);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["valid"], 1);
    assert_eq!(v["invalid"], expect.len());
    let err = stderr(&out);
    assert_has(
        &err,
        &[&format!(
            "{} of {} case file(s) invalid",
            expect.len(),
            expect.len() + 1
        )],
    );
    for (name, _) in &expect {
        assert_has(&err, &[name]);
    }
}

#[test]
fn bad_case_files_are_named_with_file_line_and_field() {
    let expect = [
        (
            "bad-prefecture.toml",
            ":5:14: case.prefecture: unknown prefecture \"Tokio\"; expected one of the 47 prefectures (e.g. \"Tokyo\", \"東京都\")",
        ),
        (
            "bad-both.toml",
            ":10:1: seed 1: has both \"payment\" and \"address\"; give one",
        ),
        (
            "bad-txid.toml",
            ":12:11: seed 1.payment: 'f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e1g' is not a txid (64 hex digits)",
        ),
        (
            "bad-missing-investigator.toml",
            ":3:1: case.investigator: missing; give the investigator in charge",
        ),
        ("bad-unknown-key.toml", ":7:1: unknown field `officer`"),
        ("bad-syntax.toml", ":8:"),
    ];
    for (name, want) in &expect {
        let file = case_file(name);
        let err = error_of(&["case", "check", &file]);
        assert_has(&err, &[&format!("{file}{want}")]);
        let err = error_of(&["case", "show", &file]);
        assert_has(&err, &[&format!("{file}{want}")]);
    }
    // JSON lists each file's problems.
    let file = case_file("bad-prefecture.toml");
    let out = fails(&["case", "check", &file, "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["files"][0]["valid"], false);
    let problem = v["files"][0]["problems"][0].as_str().unwrap();
    assert!(
        problem.starts_with(&format!("{file}:5:14: case.prefecture")),
        "{problem}"
    );
}

#[test]
fn new_then_show_round_trips() {
    let tmp = tempfile::tempdir().unwrap();
    let file = path_str(&tmp.path().join("cases/OSAKA-2026-0007.toml"));
    let new_args = [
        "case",
        "new",
        &file,
        "--id",
        "OSAKA-2026-0007",
        "--prefecture",
        "大阪府",
        "--crime",
        "investment_fraud",
        "--investigator",
        "Insp. Tanaka, Osaka Prefectural Police",
        "--reported",
        "2026-04-01",
        "--title",
        "SNS investment group",
        "--payment",
        &format!("{TX_170}:1"),
        "--address",
        HAL,
    ];
    let printed = ok(&new_args);
    assert_eq!(printed.trim(), file);

    let v = json(&["case", "show", &file, "--json"]);
    assert_eq!(v["id"], "OSAKA-2026-0007");
    assert_eq!(v["prefecture"], "Osaka");
    assert_eq!(v["crime"], "investment_fraud");
    assert_eq!(v["reported"], "2026-04-01");
    assert_eq!(v["title"], "SNS investment group");
    assert_eq!(v["investigator"], "Insp. Tanaka, Osaka Prefectural Police");
    assert_eq!(v["seeds"][0]["chain"], "bitcoin");
    assert_eq!(v["seeds"][0]["target"]["payment"]["txid"], TX_170);
    assert_eq!(v["seeds"][0]["target"]["payment"]["vout"], 1);
    assert_eq!(v["seeds"][1]["target"]["address"]["address"], HAL);

    let text = ok(&["case", "show", &file]);
    assert_has(
        &text,
        &[
            "Case OSAKA-2026-0007",
            "Osaka (大阪府)",
            "investment fraud (SNS型投資詐欺)",
            &format!("1. bitcoin payment {TX_170}:1"),
            &format!("2. bitcoin address {HAL}"),
        ],
    );

    // Never overwrites, and the file is unchanged.
    let before = std::fs::read(&file).unwrap();
    assert_has(
        &error_of(&new_args),
        &["already exists; not overwriting it"],
    );
    assert_eq!(std::fs::read(&file).unwrap(), before);

    // Needs a seed; bad values are refused before anything is written.
    let other = path_str(&tmp.path().join("cases/other.toml"));
    let base = [
        "case",
        "new",
        &other,
        "--id",
        "X-1",
        "--prefecture",
        "Tokyo",
        "--crime",
        "other",
        "--investigator",
        "Sgt. Sato",
    ];
    fails(&base);
    let with = |extra: &[&str]| {
        let mut a = base.to_vec();
        a.extend_from_slice(extra);
        error_of(&a)
    };
    assert_has(
        &with(&["--payment", "abc:0"]),
        &["--payment: 'abc' is not a txid"],
    );
    assert_has(
        &with(&["--address", "1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm4"]),
        &["--address:", "is not a bitcoin address"],
    );
    let mut a = base.to_vec();
    a[6] = "Tokio";
    a.extend_from_slice(&["--address", HAL]);
    assert_has(&error_of(&a), &["unknown prefecture \"Tokio\""]);
    assert!(!Path::new(&other).exists());

    // Without --reported the case is dated today (UTC).
    ok(&[&base[..], &["--address", HAL]].concat());
    let v = json(&["case", "show", &other, "--json"]);
    assert_eq!(v["reported"].as_str().unwrap().len(), 10);
}

#[test]
fn list_shows_every_file_and_fails_on_an_invalid_one() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cases");
    std::fs::create_dir(&dir).unwrap();
    let copy = |name: &str, to: &str| {
        std::fs::copy(fixture(&format!("cases/{name}")), dir.join(to)).unwrap();
    };
    copy("tokyo-2026-0001.toml", "a-tokyo.toml");
    copy("bad-prefecture.toml", "b-bad.toml");
    copy("osaka-ja.toml", "c-osaka.toml");
    std::fs::write(dir.join("README.txt"), "not a case file").unwrap();
    let dir_s = path_str(&dir);

    let out = fails(&["case", "list", &dir_s, "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let cases = v["cases"].as_array().unwrap();
    let files: Vec<&str> = cases.iter().map(|c| c["file"].as_str().unwrap()).collect();
    assert_eq!(files, ["a-tokyo.toml", "b-bad.toml", "c-osaka.toml"]);
    assert_eq!(cases[0]["id"], "TOKYO-2026-0001");
    assert_eq!(cases[0]["prefecture"], "Tokyo");
    assert_eq!(cases[0]["crime"], "communications_fraud");
    assert_eq!(cases[0]["reported"], "2026-03-02");
    assert_eq!(cases[0]["seeds"], 2);
    assert!(cases[1]["error"]
        .as_str()
        .unwrap()
        .contains("b-bad.toml:5:14: case.prefecture"));
    assert_eq!(cases[2]["prefecture"], "Osaka");
    assert_eq!(
        (v["valid"].as_u64(), v["invalid"].as_u64()),
        (Some(2), Some(1))
    );
    assert_has(&stderr(&out), &["1 of 3 case files", "b-bad.toml"]);

    let out = fails(&["case", "list", &dir_s]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_has(
        &text,
        &[
            "a-tokyo.toml",
            "TOKYO-2026-0001",
            "INVALID: ",
            "c-osaka.toml",
            "OSAKA-2026-0042",
            "romance_fraud",
        ],
    );

    std::fs::remove_file(dir.join("b-bad.toml")).unwrap();
    let v = json(&["case", "list", &dir_s, "--json"]);
    assert_eq!(v["invalid"], 0);
}

#[test]
fn junk_files_fail_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let files: [(&str, &[u8]); 4] = [
        ("empty.toml", b""),
        ("binary.toml", &[0, 159, 146, 150, 255, 0, 1, 2]),
        ("latin1.toml", b"format = 1\n[case]\nid = \"caf\xe9\"\n"),
        (
            "huge.toml",
            b"format = 1\n[case]\nid = \"X\"\nreported = 99999999999999999999999\n",
        ),
    ];
    let mut paths: Vec<PathBuf> = Vec::new();
    for (name, bytes) in files {
        let p = tmp.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        paths.push(p);
    }
    for p in &paths {
        let s = path_str(p);
        let err = error_of(&["case", "check", &s]);
        assert_has(&err, &[&s]);
        assert!(!err.contains("panicked"), "{err}");
    }
    let missing = path_str(&tmp.path().join("missing.toml"));
    assert_has(
        &error_of(&["case", "show", &missing]),
        &["missing.toml: cannot read the case file"],
    );
}

#[test]
fn check_warns_about_seeds_naming_the_same_funds() {
    let file = case_file("duplicate-seeds.toml");
    let same_payment = format!(
        "{file}:17: seed 2: names the same payment as seed 1 (line 12), {TX_170}:0; a trace counts these funds once"
    );
    let same_window = format!(
        "{file}:29: seed 4: its window on address {SATOSHI} overlaps that of seed 3 (line 22)"
    );
    // Without a ledger: the repeated payment and the overlapping windows.
    let v = json(&["case", "check", &file, "--json"]);
    assert_eq!(v["valid"], 1);
    let f = &v["files"][0];
    assert_eq!(f["valid"], true);
    let warnings: Vec<&str> = f["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    assert_eq!(warnings.len(), 2, "{warnings:#?}");
    assert_eq!(warnings[0], same_payment);
    assert!(warnings[1].starts_with(&same_window), "{}", warnings[1]);
    // The text form shows them under the file, which stays valid (exit 0).
    let text = ok(&["case", "check", &file]);
    assert_has(
        &text,
        &[
            "ok ",
            "TOKYO-2026-0002, 5 seed(s)",
            &format!("  warning: {same_payment}"),
        ],
    );

    // With the ledger, also the address seed whose receipt is seed 1's payment.
    let tmp = tempfile::tempdir().unwrap();
    let db = ledger(tmp.path());
    let v = json(&["--db", &db, "case", "check", &file, "--json"]);
    let f = &v["files"][0];
    assert_eq!(f["valid"], true);
    let warnings = f["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 3, "{warnings:#?}");
    assert_eq!(warnings[0], same_payment.as_str());
    assert!(warnings[1].as_str().unwrap().starts_with(&same_window));
    assert_eq!(
        warnings[2],
        format!(
            "{file}:36: seed 5: resolves to output {TX_170}:0, which seed 1 (line 12) names too; a trace counts these funds once"
        )
        .as_str()
    );
    // Each output is listed once, under the first seed naming it.
    let outs = f["outputs"].as_array().unwrap();
    let payment: Vec<_> = outs
        .iter()
        .filter(|o| o["txid"] == TX_170 && o["vout"] == 0)
        .collect();
    assert_eq!(payment.len(), 1, "{outs:#?}");
    assert_eq!(payment[0]["seed"], 1);
    assert_eq!(payment[0]["address"], HAL);

    // A case without repeated seeds has no warnings.
    let good = json(&[
        "--db",
        &db,
        "case",
        "check",
        &case_file("tokyo-2026-0001.toml"),
        "--json",
    ]);
    assert_eq!(good["files"][0]["warnings"], serde_json::json!([]));
}
