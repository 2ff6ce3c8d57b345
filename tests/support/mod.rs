//! Shared helpers of the end-to-end tests: fixtures, running the real
//! `tracer` binary, and a real bcoin regtest node on 127.0.0.1.
#![allow(dead_code)]

pub mod anvil;
pub mod bcoin;
pub mod btc_replay;
pub mod eth_replay;
pub mod rpc_server;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The workspace root. Read from cargo's environment at run time: a test
/// binary reused from another checkout of the same target directory must not
/// look for fixtures in that checkout.
pub fn root() -> PathBuf {
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest.parent().unwrap().to_path_buf()
}

/// A file under `tests/fixtures/`.
pub fn fixture(rel: &str) -> PathBuf {
    let p = root().join("tests/fixtures").join(rel);
    assert!(p.exists(), "fixture {} missing", p.display());
    p
}

/// The `tracer` binary under test.
pub fn tracer() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tracer"))
}

/// Runs tracer with `args`; panics with its stderr unless it succeeds. Returns stdout.
pub fn ok(args: &[&str]) -> String {
    let out = tracer().args(args).output().expect("run tracer");
    assert!(
        out.status.success(),
        "tracer {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 stdout")
}

/// Runs tracer with `args` and parses its stdout as JSON.
pub fn json(args: &[&str]) -> serde_json::Value {
    let s = ok(args);
    serde_json::from_str(&s).unwrap_or_else(|e| panic!("tracer {args:?}: bad JSON ({e}): {s}"))
}

/// Runs tracer with `args`, expecting failure. Returns the output.
pub fn fails(args: &[&str]) -> Output {
    let out = tracer().args(args).output().expect("run tracer");
    assert!(
        !out.status.success(),
        "tracer {args:?} should have failed; stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    out
}

/// Stderr of a finished process as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The ledger fingerprint of `db`.
pub fn fingerprint(db: &Path) -> String {
    let v = json(&[
        "--db",
        db.to_str().unwrap(),
        "status",
        "--json",
        "--fingerprint",
    ]);
    v["fingerprint"].as_str().unwrap().to_string()
}

/// The arguments of `tracer --db DB ingest bitcoin SOURCE… EXTRA…`.
pub fn ingest_args<'a>(db: &'a str, source: [&'a str; 2], extra: &[&'a str]) -> Vec<&'a str> {
    let mut all = vec!["--db", db, "ingest", "bitcoin", source[0], source[1]];
    all.extend_from_slice(extra);
    all
}

/// The arguments of `tracer --db DB ingest ethereum --rpc URL EXTRA…`.
pub fn eth_ingest_args<'a>(db: &'a str, url: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut all = vec!["--db", db, "ingest", "ethereum", "--rpc", url];
    all.extend_from_slice(extra);
    all
}

/// The laundering route of every truth group, by group id.
pub fn truth_routes(records: &[serde_json::Value]) -> std::collections::BTreeMap<u64, String> {
    records
        .iter()
        .filter(|r| r["type"] == "group")
        .map(|r| {
            (
                r["id"].as_u64().unwrap(),
                r["route"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The `[[seed]]` tables of a truth case's payments.
pub fn truth_seeds(case: &serde_json::Value) -> String {
    case["payments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            format!(
                "[[seed]]\nchain = \"bitcoin\"\npayment = \"{}:{}\"\n",
                p["txid"].as_str().unwrap(),
                p["vout"]
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A free TCP port on 127.0.0.1 for a test node.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The arguments of `tracer --db DB trace CASE --out OUT EXTRA…`.
fn trace_args<'a>(db: &'a Path, case: &'a Path, out: &'a Path, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "--db",
        db.to_str().unwrap(),
        "trace",
        case.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    args
}

/// Runs `tracer --db DB trace CASE --out OUT EXTRA…`; panics on failure.
pub fn trace(db: &Path, case: &Path, out: &Path, extra: &[&str]) -> String {
    ok(&trace_args(db, case, out, extra))
}

/// Runs `tracer --db DB trace CASE --out OUT EXTRA…`, expecting failure;
/// returns its stderr.
pub fn trace_fails(db: &Path, case: &Path, out: &Path, extra: &[&str]) -> String {
    stderr(&fails(&trace_args(db, case, out, extra)))
}

/// Asserts that `text` contains each of `parts`.
pub fn assert_contains<S: AsRef<str>>(text: &str, parts: &[S]) {
    for p in parts {
        let p = p.as_ref();
        assert!(text.contains(p), "{p:?} not in:\n{text}");
    }
}

/// Ingests one blk file or directory into `db` on mainnet; returns the JSON summary.
pub fn ingest_main(db: &Path, blocks: &Path) -> serde_json::Value {
    json(&ingest_args(
        db.to_str().unwrap(),
        ["--blocks-dir", blocks.to_str().unwrap()],
        &["--network", "main", "--json"],
    ))
}

/// Runs `tracer --db DB ingest bitcoin --blocks-dir BLOCKS ARGS…`, expecting
/// failure; returns its stderr.
pub fn ingest_fails(db: &Path, blocks: &Path, args: &[&str]) -> String {
    stderr(&fails(&ingest_args(
        db.to_str().unwrap(),
        ["--blocks-dir", blocks.to_str().unwrap()],
        args,
    )))
}

/// Starts `tracer --db DB ingest bitcoin --blocks-dir BLOCKS` committing
/// every `batch` blocks, batches of at least `file_batch_kib` KiB written as
/// sorted files (stdout discarded, stderr piped); returns once the writer
/// has created the ledger, so other processes can open it.
pub fn spawn_ingest(
    db: &Path,
    blocks: &Path,
    batch: &str,
    file_batch_kib: &str,
) -> std::process::Child {
    let mut child = tracer()
        .args(ingest_args(
            db.to_str().unwrap(),
            ["--blocks-dir", blocks.to_str().unwrap()],
            &[
                "--batch-blocks",
                batch,
                "--file-batch-kib",
                file_batch_kib,
                "--json",
            ],
        ))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    while !db.join("CURRENT").exists() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the ingest ended ({status}) before it created the ledger");
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    child
}

/// Reads `child`'s piped stderr to the end on a thread (so the child never
/// blocks on a full pipe); join the handle for the text.
pub fn collect_stderr(child: &mut std::process::Child) -> std::thread::JoinHandle<String> {
    let mut err = child.stderr.take().expect("stderr is piped");
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut err, &mut text);
        text
    })
}

/// Writes the simulator's `small` preset with `seed` into `out`; returns its summary.
pub fn simulate_small(out: &Path, seed: u64) -> serde_json::Value {
    json(&[
        "simulate",
        "--out",
        out.to_str().unwrap(),
        "--seed",
        &seed.to_string(),
        "--preset",
        "small",
        "--json",
    ])
}

/// Simulates the `medium` preset (≈ 100 k transactions, 218 k addresses,
/// seed 1) into `out`.
pub fn simulate_medium(out: &Path) -> serde_json::Value {
    json(&[
        "simulate",
        "--out",
        out.to_str().unwrap(),
        "--preset",
        "medium",
        "--json",
    ])
}

/// The first `n` blocks of a blk file (Core framing) written to `dir/blk00000.dat`.
pub fn first_blocks(blk: &Path, n: usize, dir: &Path) {
    let data = std::fs::read(blk).unwrap();
    let (mut pos, mut count) = (0usize, 0);
    while count < n {
        let size = u32::from_le_bytes(data[pos + 4..pos + 8].try_into().unwrap()) as usize;
        pos += 8 + size;
        count += 1;
    }
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("blk00000.dat"), &data[..pos]).unwrap();
}

/// Every record of a simulated chain's `truth.jsonl`.
pub fn truth_records(dir: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join("truth.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Ingests a regtest blocks directory into `db`; returns the JSON summary.
pub fn ingest_regtest(db: &Path, blocks: &Path) -> serde_json::Value {
    json(&ingest_args(
        db.to_str().unwrap(),
        ["--blocks-dir", blocks.to_str().unwrap()],
        &["--network", "regtest", "--json"],
    ))
}

/// A simulated `small` chain (`tmp/sim`) ingested into `tmp/db`.
pub fn simulated_ledger(seed: u64) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let sim = tmp.path().join("sim");
    simulate_small(&sim, seed);
    let db = tmp.path().join("db");
    ingest_regtest(&db, &sim.join("blocks"));
    (tmp, sim, db)
}

/// An amount of any JSON tracer writes (views, trace, comparison, linkage
/// files): an integer number of smallest units written as a decimal string
/// (exact in any JSON reader); a JSON number fails.
pub fn amount(v: &serde_json::Value) -> u128 {
    parse_amount(v)
}

/// The signed form of [`amount`] (a net flow).
pub fn signed_amount(v: &serde_json::Value) -> i128 {
    parse_amount(v)
}

fn parse_amount<T: std::str::FromStr<Err: std::fmt::Display>>(v: &serde_json::Value) -> T {
    v.as_str()
        .unwrap_or_else(|| panic!("{v} is not an amount (a decimal string)"))
        .parse()
        .unwrap_or_else(|e| panic!("{v} is not an amount: {e}"))
}

/// English words a Japanese report must not hold, found in `text`: the 47
/// prefectures, crime types, and the identifiers trace files use for
/// rules, heuristics, service classes, node roles, taint models and shared
/// entities, and English headings (whole words, case-sensitive).
pub fn english_terms(text: &str) -> std::collections::BTreeSet<String> {
    const WORDS: &[&str] = &[
        // Crime types.
        "communications_fraud",
        "investment_fraud",
        "romance_fraud",
        "robbery_theft",
        "fraud",
        "ransomware",
        // Rules and heuristics.
        "transfer",
        "self_change",
        "change",
        "same_cluster",
        "coinjoin",
        "coinjoin_exit",
        "tagged_address",
        "tagged_cluster",
        "deposit_sweep",
        "deposit_address_reuse",
        "deposit_reuse",
        "multi_input",
        "fresh_address",
        "address_reuse",
        "script_type",
        "round_payment",
        "optimal_change",
        "locktime",
        "output_count",
        "peel_chain",
        "sweep",
        // Classes, roles, models, what a heuristic decided, shared entities.
        "exchange",
        "mixer",
        "seed",
        "endpoint",
        "intermediate",
        "unspent",
        "haircut",
        "poison",
        "fifo",
        "lifo",
        "clusters",
        "hops",
        "endpoints",
        "deposit_address",
        "cluster",
        "transaction",
        "address",
        "barrier",
        // Headings.
        "Methodology",
        "Evidence",
        "Service",
        "Shared",
        "Score",
        "Prefecture",
        "font",
        "Cases",
        "Linked",
    ];
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| WORDS.contains(w) || reports::terms::PREFECTURES.contains(w))
        .map(String::from)
        .collect()
}

/// The text of an HTML report without its style sheet and its command
/// lines (`<pre>`), which quote the options as typed.
pub fn html_text(html: &str) -> String {
    let opts = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..Default::default()
    };
    let doc = roxmltree::Document::parse_with_options(html, opts).unwrap();
    doc.descendants()
        .filter(|n| {
            n.is_text()
                && !n
                    .ancestors()
                    .any(|a| a.has_tag_name("pre") || a.has_tag_name("style"))
        })
        .filter_map(|n| n.text())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The text of a PDF (poppler's pdftotext).
pub fn pdf_text(pdf: &Path) -> String {
    let out = std::process::Command::new("pdftotext")
        .args(["-raw", pdf.to_str().unwrap(), "-"])
        .output()
        .expect("pdftotext (poppler-utils, installed by tests/setup.sh)");
    String::from_utf8_lossy(&out.stdout).into_owned()
}
