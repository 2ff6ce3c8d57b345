//! Ingest as the chain grows (a bench binary printing numbers; no timing is
//! asserted): one ingest of a simulated chain per `--cache-mb` setting, and
//! per segment of `TRACER_BENCH_SEGMENT_TX` transactions (default 1,000,000)
//! its throughput, the ledger's size on disk, its write amplification (bytes
//! the ingest wrote, by the kernel's count, over blk bytes read) and the peak
//! RSS so far — the curve of issue #19 (the last segment ends with the
//! bulk load's closing flush and compaction, and is marked so). Then, on
//! the grown ledger:
//! - `cluster build` at both levels, with time and peak RSS;
//! - look-ups in-process, through the library functions the `tracer tx`
//!   and `tracer address` commands call (`chain_adapters::query::tx`, and
//!   `query::address` with history lines 0..25 as `--limit 25`), on a
//!   ledger opened read-only with the run's `--cache-mb` in a child process
//!   of the bench (which stays small: see `LOOKUP_CHILD`):
//!   `TRACER_BENCH_LOOKUPS` (default 2000) of each kind, the targets every
//!   k-th transaction across the whole ledger and the first address its
//!   outputs pay (old and new parts of the chain alike), picked through a
//!   separate handle so the timed one starts with an empty block cache;
//!   p50, p99 and max in ms. Then `tracer address ADDR --limit 25` as a new
//!   process, end to end (median of 3 runs);
//! - one long `tracer trace` (the CLI) of every simulated case's payments
//!   as the seeds of one case file, haircut, `--min-amount 0 --max-hops
//!   1000000`, `--level` `TRACER_BENCH_TRACE_LEVEL` (default `cospend`),
//!   `--max-txs` `TRACER_BENCH_TRACE_MAX_TXS` (default 1,000,000): seconds,
//!   hops (edges of its trace.json), seconds per 10,000 hops, peak RSS.
//!
//! Then least-squares fits per setting, printed — ledger bytes per
//! transaction (through the origin of the segments' points), ingest seconds
//! per million transactions as `a + b·M` (segments at their midpoints,
//! weighted by their transactions), both without the closing segment;
//! `cluster build` seconds and peak RSS per transaction (and RSS per
//! address; one point, so a ratio, and an upper bound as the process's
//! fixed memory is scaled too) — and carried to the full Bitcoin chain
//! (1.2e9 transactions, 1.4e9 addresses, 700 GB of blk files) and to
//! Ethereum mainnet (assumed 2.8e9 transactions): ingest time (the integral
//! of the fit, flat at the mean if its slope is negative, plus the closing
//! flush and compaction scaled by transactions), ledger size and `cluster
//! build` time and RSS.
//!
//! The chain: `TRACER_BENCH_SIM=DIR` (a `tracer simulate` output), or else
//! `TRACER_BENCH_SCENARIO=FILE` (a scenario JSON, e.g. `{"blocks": 10000,
//! "individuals": 250000}` for 5.2 M transactions), or else the
//! `TRACER_BENCH_PRESET` preset (default `large`, 1 M transactions).
//! `TRACER_BENCH_CACHE_MB` lists the settings (default `64,512,2048`).
//!
//! Output: every number goes to `growth.json` in `TRACER_BENCH_OUT`
//! (default `bench-growth/` in the cargo target directory, beside
//! `release/`; each run overwrites it), with SVG plots drawn from it:
//! `ingest-throughput.svg`, `ingest-rss.svg`, `ledger-size.svg` (one line
//! per setting against millions of transactions) and `cluster-build.svg`
//! (time and RSS per level against the settings). `TRACER_BENCH_BEFORE=FILE`
//! (an older run's `growth.json`, copied away before it is overwritten)
//! draws that run's curves dashed beside the new ones, "(before)" in the
//! legend: the before/after curves of a design change.
//!
//! `TRACER_BENCH_REFIT=DIR/growth.json` measures nothing: it fits,
//! projects and plots that run again, into `DIR`; with
//! `TRACER_BENCH_SCALING=FILE` (a JSON list of `cluster build` runs on
//! chains of several lengths: design, before, level, cache_mb, txs,
//! peak_rss_mib) it also draws `cluster-scaling.svg`, RSS against the
//! chain's length per design.
//!
//! Run: `cargo bench -p tracer --bench growth`

mod common;
#[path = "growth/fit.rs"]
mod fit;
#[path = "growth/plot.rs"]
mod plot;
#[path = "growth/results.rs"]
mod results;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::time::Instant;

use chain_adapters::ledger::Chain;
use chain_adapters::query::{self, LedgerView};
use chain_adapters::store::{Store, StoreOptions};
use common::{env_u64, measured, run_measured, tracer_binary};
use results::{
    CacheRun, ChainFacts, CliRuns, ClusterBuild, Growth, IngestTotals, Latency, Lookups, Segment,
    TraceRun,
};
use serde::{Deserialize, Serialize};
use tracer::case::{Case, Crime, Seed, SeedTarget};
use tracer::simulate::truth::{self, Record};

/// The `cluster build` levels measured.
const LEVELS: [&str; 2] = ["cospend", "cospend+change"];

/// History lines of an address look-up (`tracer address … --limit 25`).
const ADDRESS_LIMIT: usize = 25;

/// Runs of the CLI address look-up (their median is reported).
const CLI_RUNS: usize = 3;

/// The argument that makes the bench binary time the in-process look-ups
/// (`--growth-lookups DB CACHE_MB N`, printing [`InProcess`] as JSON): a
/// child of the bench, so that the bench itself stays small. The peak RSS
/// `wait4` reports for a child is at least its parent's (the kernel carries
/// the parent's high-water mark through `vfork` and `exec`), so a bench
/// grown by a ledger's block cache would raise every later child's figure.
const LOOKUP_CHILD: &str = "--growth-lookups";

/// Transactions in each block record of the blk files, in file order (the
/// simulator writes blocks in height order, genesis first). Reads only each
/// record's header and transaction count, so the bench stays small: a
/// child's peak RSS as `wait4` reports it includes the bench's own high
/// water mark (the kernel carries it across the spawn).
fn txs_per_block(blocks: &Path) -> (Vec<u64>, Vec<u64>) {
    use std::io::{Read, Seek, SeekFrom};
    let mut files: Vec<PathBuf> = std::fs::read_dir(blocks)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("blk"))
        .collect();
    files.sort();
    let (mut txs, mut sizes) = (Vec::new(), Vec::new());
    for f in files {
        let mut r = BufReader::new(std::fs::File::open(f).unwrap());
        let mut head = [0u8; 8 + 80 + 9];
        loop {
            match r.read_exact(&mut head[..8]) {
                Ok(()) if head[..4] != [0; 4] => {}
                _ => break,
            }
            let size = u32::from_le_bytes(head[4..8].try_into().unwrap()) as usize;
            let n = size.min(89);
            r.read_exact(&mut head[8..8 + n]).unwrap();
            let mut count = &head[8 + 80..8 + n];
            let v: bitcoin::VarInt =
                bitcoin::consensus::Decodable::consensus_decode(&mut count).unwrap();
            txs.push(v.0);
            sizes.push(size as u64 + 8);
            r.seek(SeekFrom::Current((size - n) as i64)).unwrap();
        }
    }
    (txs, sizes)
}

/// Bytes of every file under `dir`.
fn tree_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir).map_or(0, |rd| {
        rd.filter_map(|e| e.ok())
            .map(|e| match e.metadata() {
                Ok(m) if m.is_dir() => tree_bytes(&e.path()),
                Ok(m) => m.len(),
                Err(_) => 0,
            })
            .sum()
    })
}

/// A field of `/proc/PID/<file>` (`VmHWM:` in kB, `write_bytes:` in bytes).
fn proc_field(pid: u32, file: &str, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/{file}"))
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix(field))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0)
}

/// What every `--cache-mb` run of the bench shares.
struct Bench {
    /// Scratch directory (ledgers, trace outputs).
    tmp: PathBuf,
    /// The blk files.
    blocks: PathBuf,
    /// Transactions of each block record, in file order.
    txs: Vec<u64>,
    /// Bytes of each block record (with its header), in file order.
    sizes: Vec<u64>,
    /// Transactions per segment.
    segment: u64,
    /// The case file of every simulated case, if the chain has cases.
    case: Option<CaseFile>,
    /// A copy of this bench's executable, which the look-up child runs: a
    /// rebuild during a long run replaces the original.
    exe: PathBuf,
}

/// A case file whose seeds are every simulated case's payments.
struct CaseFile {
    /// Where it is.
    path: PathBuf,
    /// Truth cases with payments (all in it).
    cases: usize,
    /// Its seeds.
    seeds: usize,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--list") {
        return;
    }
    if let Some(i) = args.iter().position(|a| a == LOOKUP_CHILD) {
        return lookup_child(&args[i + 1..]);
    }
    fit::self_check();
    if let Some(file) = std::env::var_os("TRACER_BENCH_REFIT") {
        return refit(Path::new(&file));
    }
    let tmp = tempfile::tempdir().unwrap();
    let sim = common::sim_dir(|| simulate(tmp.path()));
    let blocks = sim.join("blocks");
    let (txs, sizes) = txs_per_block(&blocks);
    let exe = tmp.path().join("growth-bench");
    std::fs::copy(std::env::current_exe().unwrap(), &exe).unwrap();
    let bench = Bench {
        exe,
        tmp: tmp.path().to_path_buf(),
        case: case_file(&sim, tmp.path()),
        segment: env_u64("TRACER_BENCH_SEGMENT_TX", 1_000_000).max(1),
        blocks,
        txs,
        sizes,
    };
    let out = out_dir();
    let mut growth = Growth {
        tracer: tracer_binary(),
        chain: ChainFacts {
            blocks: bench.txs.len() as u64,
            txs: bench.txs.iter().sum(),
            addresses: 0,
            blk_bytes: bench.sizes.iter().sum(),
        },
        segment_tx: bench.segment,
        runs: Vec::new(),
        projections: Vec::new(),
    };
    println!("tracer: {}", growth.tracer);
    println!(
        "chain: {} blocks, {} txs, {:.0} MB of blk files",
        growth.chain.blocks,
        growth.chain.txs,
        growth.chain.blk_bytes as f64 / 1e6
    );
    let caches = std::env::var("TRACER_BENCH_CACHE_MB").unwrap_or_else(|_| "64,512,2048".into());
    for cache in caches.split(',') {
        let cache = cache
            .trim()
            .parse()
            .expect("TRACER_BENCH_CACHE_MB: MiB numbers");
        let run = run_cache(&bench, cache, &mut growth.chain);
        growth.runs.push(run);
        save(&out, &growth);
    }
    growth.projections = projections(&growth.runs);
    print_projections(&growth.projections);
    save(&out, &growth);
    println!("\nwritten: {}", out.join("growth.json").display());
    plots(&out, &growth);
}

/// Fits, projects and plots an earlier run's `growth.json` again (after the
/// fit or the plots changed), writing beside it.
fn refit(file: &Path) {
    let bytes = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let mut growth: Growth = serde_json::from_slice(&bytes).unwrap();
    for run in &mut growth.runs {
        run.fit = Some(fit::fit(run, &growth.chain));
    }
    growth.projections = projections(&growth.runs);
    print_projections(&growth.projections);
    let dir = file.parent().unwrap_or(Path::new("."));
    save(dir, &growth);
    plots(dir, &growth);
    if let Some(points) = std::env::var_os("TRACER_BENCH_SCALING") {
        let bytes = std::fs::read(&points).unwrap_or_else(|e| panic!("{points:?}: {e}"));
        let points: Vec<plot::ScalingPoint> = serde_json::from_slice(&bytes).unwrap();
        println!(
            "written: {}",
            plot::write_scaling(dir, &points).unwrap().display()
        );
    }
}

/// Simulates the chain the environment names into `dir/sim`.
fn simulate(dir: &Path) -> PathBuf {
    let out = dir.join("sim");
    let o = out.to_str().unwrap();
    let mut args = vec!["simulate", "--out", o, "--json"];
    let scenario = std::env::var("TRACER_BENCH_SCENARIO").ok();
    let preset = std::env::var("TRACER_BENCH_PRESET").unwrap_or_else(|_| "large".into());
    match &scenario {
        Some(s) => args.extend(["--preset", "large", "--scenario", s]),
        None => args.extend(["--preset", &preset]),
    }
    let (secs, rss, s) = measured(&args);
    println!(
        "simulated {} blocks, {} txs, {} addresses in {secs:.1} s, peak RSS {rss:.0} MiB",
        s["blocks"], s["txs"], s["addresses"]
    );
    out
}

/// Where growth.json and the plots go: `TRACER_BENCH_OUT`, else
/// `bench-growth/` in the cargo target directory (beside `release/`).
fn out_dir() -> PathBuf {
    let dir = std::env::var_os("TRACER_BENCH_OUT").map_or_else(
        || {
            Path::new(env!("CARGO_BIN_EXE_tracer"))
                .parent()
                .and_then(Path::parent)
                .map_or_else(std::env::temp_dir, Path::to_path_buf)
                .join("bench-growth")
        },
        PathBuf::from,
    );
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Ingest, cluster builds, look-ups and the trace at one `--cache-mb`
/// setting; records the ledger's address count in `chain`.
fn run_cache(bench: &Bench, cache: u64, chain: &mut ChainFacts) -> CacheRun {
    let db = bench.tmp.join(format!("db-{cache}"));
    println!("\n--cache-mb {cache}");
    let (segments, ingest) = ingest(bench, &db, cache);
    let cluster = LEVELS
        .iter()
        .map(|l| cluster_build(&db, cache, l))
        .collect();
    let (lookups, addresses) = lookups(
        &bench.exe,
        &db,
        cache,
        env_u64("TRACER_BENCH_LOOKUPS", 2000),
    );
    chain.addresses = addresses;
    let trace = bench
        .case
        .as_ref()
        .map(|c| trace_cases(&db, cache, c, &bench.tmp));
    let mut run = CacheRun {
        cache_mb: cache,
        segments,
        ingest,
        cluster,
        lookups: Some(lookups),
        trace,
        fit: None,
    };
    let f = fit::fit(&run, chain);
    print_fit(&f);
    run.fit = Some(f);
    // The next setting ingests a ledger of its own.
    std::fs::remove_dir_all(&db).unwrap();
    run
}

/// Ingests the chain into `db` with `--cache-mb cache`, printing a row per
/// segment; returns the segments and the whole run's figures.
// The ingest child is reaped with `wait4` (for its counts), not `Child::wait`.
#[allow(clippy::zombie_processes)]
fn ingest(bench: &Bench, db: &Path, cache: u64) -> (Vec<Segment>, IngestTotals) {
    let (txs, sizes) = (&bench.txs, &bench.sizes);
    let started = Instant::now();
    let mut child = std::process::Command::new(tracer_binary())
        .args([
            "--cache-mb",
            &cache.to_string(),
            "--db",
            db.to_str().unwrap(),
        ])
        .args([
            "ingest",
            "bitcoin",
            "--blocks-dir",
            bench.blocks.to_str().unwrap(),
        ])
        .args(["--network", "regtest", "--json"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    println!("| txs (M) | seconds | MB/s | tx/s | ledger MB | write amp | peak RSS MiB |\n|---|---|---|---|---|---|---|");
    let mut segments: Vec<Segment> = Vec::new();
    let (mut next, mut done_tx, mut done_bytes, mut height) = (bench.segment, 0u64, 0u64, 0usize);
    let (mut seg_start, mut seg_tx, mut seg_bytes) = (0.0f64, 0u64, 0u64);
    let log = BufReader::new(child.stderr.take().unwrap());
    for line in log.lines().map_while(Result::ok) {
        let Some(h) = line
            .strip_prefix("committed height ")
            .and_then(|h| h.parse::<usize>().ok())
        else {
            continue;
        };
        while height <= h.min(txs.len() - 1) {
            done_tx += txs[height];
            done_bytes += sizes[height];
            height += 1;
        }
        if done_tx < next && height < txs.len() {
            continue;
        }
        let now = started.elapsed().as_secs_f64();
        let secs = now - seg_start;
        let s = Segment {
            txs: done_tx,
            elapsed_secs: now,
            secs,
            mb_per_s: (done_bytes - seg_bytes) as f64 / 1e6 / secs,
            tx_per_s: (done_tx - seg_tx) as f64 / secs,
            ledger_bytes: tree_bytes(db),
            write_amp: proc_field(pid, "io", "write_bytes:") as f64 / done_bytes.max(1) as f64,
            peak_rss_mib: proc_field(pid, "status", "VmHWM:") as f64 / 1024.0,
            closing: false,
        };
        println!(
            "| {:.2} | {secs:.1} | {:.1} | {:.0} | {:.0} | {:.2} | {:.0} |",
            s.txs as f64 / 1e6,
            s.mb_per_s,
            s.tx_per_s,
            s.ledger_bytes as f64 / 1e6,
            s.write_amp,
            s.peak_rss_mib
        );
        segments.push(s);
        (seg_start, seg_tx, seg_bytes) = (now, done_tx, done_bytes);
        while next <= done_tx {
            next += bench.segment;
        }
    }
    if let Some(last) = segments.last_mut() {
        last.closing = true;
        println!("(the last row ends with the closing flush and compaction of the bulk load)");
    }
    // Reaped with wait4 for the whole run's counts, the closing merge
    // of the bulk load included.
    let (mut status, mut usage) = (0, unsafe { std::mem::zeroed::<libc::rusage>() });
    // SAFETY: waits for our own child (not yet reaped); `usage` is a valid out-pointer.
    let r = unsafe { libc::wait4(pid as libc::pid_t, &mut status, 0, &mut usage) };
    assert!(
        r == pid as libc::pid_t && libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "ingest with --cache-mb {cache} failed"
    );
    let totals = IngestTotals {
        secs: started.elapsed().as_secs_f64(),
        ledger_bytes: tree_bytes(db),
        write_amp: usage.ru_oublock as f64 * 512.0 / done_bytes.max(1) as f64,
        peak_rss_mib: usage.ru_maxrss as f64 / 1024.0,
    };
    println!(
        "ingest: {:.1} s in all, ledger {:.0} MB, write amp {:.2}, peak RSS {:.0} MiB",
        totals.secs,
        totals.ledger_bytes as f64 / 1e6,
        totals.write_amp,
        totals.peak_rss_mib
    );
    (segments, totals)
}

/// `cluster build --level level` on `db`, timed.
fn cluster_build(db: &Path, cache: u64, level: &str) -> ClusterBuild {
    let c = cache.to_string();
    let d = db.to_str().unwrap();
    let r = run_measured(&[
        "--cache-mb",
        &c,
        "--db",
        d,
        "cluster",
        "build",
        "--level",
        level,
        "--json",
    ]);
    println!(
        "cluster build {level}: {:.1} s, peak RSS {:.0} MiB",
        r.secs, r.rss_mib
    );
    ClusterBuild {
        level: level.into(),
        secs: r.secs,
        peak_rss_mib: r.rss_mib,
    }
}

/// A look-up target: a transaction and the first address its outputs pay.
struct Target {
    /// Txid as displayed.
    txid: String,
    /// The address, if an output has one.
    address: Option<String>,
}

/// `n` targets spread evenly over the ledger's transactions (every k-th
/// id), read through a handle of its own (closed again, so the timed
/// look-ups start with an empty block cache).
fn pick_targets(db: &Path, n: usize) -> Vec<Target> {
    let store = Store::open_read_only(db, StoreOptions::default()).unwrap();
    let view = LedgerView::new(&store).unwrap();
    let total = store.counters().unwrap().next_tx;
    let step = (total / n.max(1) as u64).max(1);
    (0..total)
        .step_by(step as usize)
        .take(n)
        .map(|id| {
            let t = query::tx_by_id(&view, id).unwrap();
            let address = t
                .outputs
                .iter()
                .find_map(|o| Some(o.address.as_ref()?.address.clone()));
            Target {
                txid: t.txid,
                address,
            }
        })
        .collect()
}

/// What the look-up child measured.
#[derive(Serialize, Deserialize)]
struct InProcess {
    /// The ledger's address counter.
    addresses: u64,
    /// Transactions by txid.
    tx: Latency,
    /// Address histories, first page.
    address: Latency,
    /// The address of the middle target (for the CLI's look-up).
    middle_address: String,
}

/// Look-ups of `n` transactions and their addresses in-process (in a
/// child, see [`LOOKUP_CHILD`]), then the CLI's address look-up; prints the
/// table. Returns them and the ledger's address count.
fn lookups(exe: &Path, db: &Path, cache: u64, n: u64) -> (Lookups, u64) {
    let out = std::process::Command::new(exe)
        .args([LOOKUP_CHILD, db.to_str().unwrap()])
        .args([cache.to_string(), n.to_string()])
        .stderr(std::process::Stdio::inherit())
        .output()
        .unwrap();
    assert!(out.status.success(), "the look-ups failed");
    let r: InProcess = serde_json::from_slice(&out.stdout).unwrap();
    let l = Lookups {
        tx: r.tx,
        address: r.address,
        cli_address: cli_address(db, cache, &r.middle_address),
    };
    print_lookups(&l);
    (l, r.addresses)
}

/// The look-up child: `args` are DB, CACHE_MB and N; prints [`InProcess`].
fn lookup_child(args: &[String]) {
    let [db, cache, n] = args else {
        panic!("usage: {LOOKUP_CHILD} DB CACHE_MB N");
    };
    let db = Path::new(db);
    let targets = pick_targets(db, n.parse().unwrap());
    let addresses: Vec<&str> = targets
        .iter()
        .filter_map(|t| t.address.as_deref())
        .collect();
    let opts = StoreOptions {
        cache_mb: cache.parse::<usize>().unwrap().max(8),
    };
    let store = Store::open_read_only(db, opts).unwrap();
    let view = LedgerView::new(&store).unwrap();
    let tx = time_each(targets.iter().map(|t| t.txid.as_str()), |txid| {
        std::hint::black_box(query::tx(&view, txid).unwrap());
    });
    let address = time_each(addresses.iter().copied(), |a| {
        std::hint::black_box(query::address(&view, a, 0, ADDRESS_LIMIT).unwrap());
    });
    let r = InProcess {
        addresses: u64::from(store.counters().unwrap().next_addr),
        tx,
        address,
        middle_address: addresses[addresses.len() / 2].to_string(),
    };
    println!("{}", serde_json::to_string(&r).unwrap());
}

/// Times `f` on each item.
fn time_each<'a>(items: impl Iterator<Item = &'a str>, mut f: impl FnMut(&str)) -> Latency {
    let mut ms: Vec<f64> = items
        .map(|item| {
            let t = Instant::now();
            f(item);
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    // Nearest rank: the smallest value with at least p of them at or below it.
    let rank = |p: f64| {
        let i = (p * ms.len() as f64).ceil() as usize;
        ms.get(i.clamp(1, ms.len().max(1)) - 1)
            .copied()
            .unwrap_or(0.0)
    };
    Latency {
        count: ms.len(),
        p50_ms: rank(0.5),
        p99_ms: rank(0.99),
        max_ms: ms.last().copied().unwrap_or(0.0),
    }
}

/// `tracer address ADDR --limit 25` as a new process, [`CLI_RUNS`] times.
fn cli_address(db: &Path, cache: u64, address: &str) -> CliRuns {
    let (c, limit) = (cache.to_string(), ADDRESS_LIMIT.to_string());
    let d = db.to_str().unwrap();
    let runs: Vec<common::Run> = (0..CLI_RUNS)
        .map(|_| {
            run_measured(&[
                "--cache-mb",
                &c,
                "--db",
                d,
                "address",
                address,
                "--limit",
                &limit,
            ])
        })
        .collect();
    let secs: Vec<f64> = runs.iter().map(|r| r.secs).collect();
    let mut sorted = secs.clone();
    sorted.sort_by(f64::total_cmp);
    CliRuns {
        address: address.into(),
        median_secs: sorted[sorted.len() / 2],
        secs,
        peak_rss_mib: runs.iter().map(|r| r.rss_mib).fold(0.0, f64::max),
    }
}

/// Prints the look-up table.
fn print_lookups(l: &Lookups) {
    println!("| look-up | count | p50 ms | p99 ms | max ms |\n|---|---|---|---|---|");
    for (kind, x) in [("tx by txid", &l.tx), ("address, 25 lines", &l.address)] {
        println!(
            "| {kind} | {} | {:.3} | {:.3} | {:.3} |",
            x.count, x.p50_ms, x.p99_ms, x.max_ms
        );
    }
    let c = &l.cli_address;
    println!(
        "`tracer address {} --limit {ADDRESS_LIMIT}` (new process): median of {} runs {:.1} ms, peak RSS {:.0} MiB",
        c.address,
        c.secs.len(),
        c.median_secs * 1e3,
        c.peak_rss_mib
    );
}

/// The case file of every case in the simulation's truth.jsonl, written
/// into `dir`; `None` if the chain has no cases.
fn case_file(sim: &Path, dir: &Path) -> Option<CaseFile> {
    let truth_file = sim.join("truth.jsonl");
    if !truth_file.exists() {
        println!("no {}: no trace", truth_file.display());
        return None;
    }
    let (mut cases, mut seeds) = (0, Vec::new());
    truth::read(&truth_file, |r| {
        if let Record::Case { payments, .. } = r {
            cases += usize::from(!payments.is_empty());
            seeds.extend(payments.into_iter().map(|p| Seed {
                chain: Chain::Bitcoin,
                target: SeedTarget::Payment {
                    txid: p.txid,
                    vout: p.vout,
                },
                note: None,
                line: None,
            }));
        }
        Ok(())
    })
    .unwrap();
    if seeds.is_empty() {
        println!("no cases in {}: no trace", truth_file.display());
        return None;
    }
    let case = Case {
        id: "BENCH-GROWTH".into(),
        title: Some(format!("the payments of the {cases} simulated cases")),
        prefecture: "Tokyo".into(),
        crime: Crime::CommunicationsFraud,
        reported: chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
        incident_from: None,
        incident_until: None,
        investigator: "growth bench".into(),
        notes: None,
        seeds,
    };
    let path = dir.join("cases.toml");
    std::fs::write(&path, tracer::case::to_toml(&case)).unwrap();
    Some(CaseFile {
        path,
        cases,
        seeds: case.seeds.len(),
    })
}

/// What the bench reads of a trace.json (read as a stream, the edges
/// counted, not kept: the bench stays small, see [`LOOKUP_CHILD`]).
#[derive(Deserialize)]
struct TraceCounts {
    /// The hops.
    edges: Vec<serde::de::IgnoredAny>,
    /// The totals.
    summary: TraceSummary,
}

/// The part of a trace's summary the bench reads.
#[derive(Deserialize)]
struct TraceSummary {
    /// Transactions judged.
    txs: u64,
}

/// `tracer trace` of `case` on `db`, walking far; prints its figures.
fn trace_cases(db: &Path, cache: u64, case: &CaseFile, tmp: &Path) -> TraceRun {
    let level = std::env::var("TRACER_BENCH_TRACE_LEVEL").unwrap_or_else(|_| "cospend".into());
    let max_txs = env_u64("TRACER_BENCH_TRACE_MAX_TXS", 1_000_000);
    let out = tmp.join(format!("trace-{cache}"));
    let (c, m) = (cache.to_string(), max_txs.to_string());
    let r = common::run_measured_discarding_output(&[
        "--cache-mb",
        &c,
        "--db",
        db.to_str().unwrap(),
        "trace",
        case.path.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--level",
        &level,
        "--min-amount",
        "0",
        "--max-hops",
        "1000000",
        "--max-txs",
        &m,
    ]);
    let file = std::fs::File::open(out.join("trace.json")).unwrap();
    let t: TraceCounts = serde_json::from_reader(BufReader::new(file)).unwrap();
    std::fs::remove_dir_all(&out).unwrap();
    let hops = t.edges.len();
    let run = TraceRun {
        level,
        seeds: case.seeds,
        max_txs,
        secs: r.secs,
        hops,
        txs_judged: t.summary.txs,
        secs_per_10k_hops: r.secs * 1e4 / hops.max(1) as f64,
        peak_rss_mib: r.rss_mib,
    };
    println!(
        "trace of the {} cases ({} seeds, --level {}): {:.2} s, {} hops, {} txs judged, {:.3} s per 10k hops, peak RSS {:.0} MiB",
        case.cases,
        run.seeds,
        run.level,
        run.secs,
        run.hops,
        run.txs_judged,
        run.secs_per_10k_hops,
        run.peak_rss_mib
    );
    run
}

/// Prints a run's fitted coefficients.
fn print_fit(f: &results::Fit) {
    let l = f.ingest_secs_per_mtx;
    println!(
        "fit: ledger {:.0} B/tx (segments; final ledger {:.0} B/tx, {:.2} B per blk byte); \
         ingest s per M tx = {:.2} {:+.3}·M (M in millions; mean {:.2}), closing flush and compaction {:.2} µs/tx",
        f.ledger_bytes_per_tx,
        f.final_ledger_bytes_per_tx,
        f.final_ledger_bytes_per_blk_byte,
        l.a,
        l.b,
        f.ingest_mean_secs_per_mtx,
        f.closing_secs_per_tx * 1e6
    );
    for c in &f.cluster {
        println!(
            "fit: cluster build {}: {:.2} µs/tx, {:.0} B RSS/tx, {:.0} B RSS/address, \
             {:.0} MiB besides the union-find's 13 B/address",
            c.level,
            c.secs_per_tx * 1e6,
            c.rss_mib_per_tx * 1024.0 * 1024.0,
            c.rss_mib_per_address * 1024.0 * 1024.0,
            c.rss_fixed_mib
        );
    }
}

/// Each run's fits carried to each chain of [`fit::TARGETS`].
fn projections(runs: &[CacheRun]) -> Vec<results::Projection> {
    fit::TARGETS
        .iter()
        .flat_map(|t| {
            runs.iter()
                .filter_map(move |r| Some(fit::project(r.cache_mb, r.fit.as_ref()?, t)))
        })
        .collect()
}

/// Prints the projections as a table.
fn print_projections(ps: &[results::Projection]) {
    let gib = |mib: f64| mib / 1024.0;
    println!(
        "\nprojection (linear fits of this chain; Bitcoin 1.2e9 tx, 1.4e9 addresses, 700 GB blk; Ethereum 2.8e9 tx assumed)\n\
         | chain | --cache-mb | ingest h (s per M tx integrated) | ledger GB: segments fit / final / by blk bytes | cluster build: h, RSS GiB bounded (fixed + 13 B/address) / scaled by tx / by addresses |\n|---|---|---|---|---|"
    );
    for p in ps {
        let by_blk = p
            .ledger_bytes_by_blk
            .map_or("–".into(), |b| format!("{:.0}", b / 1e9));
        let cluster: Vec<String> = p
            .cluster
            .iter()
            .map(|c| {
                let show = |m: Option<f64>| m.map_or("–".into(), |m| format!("{:.1}", gib(m)));
                format!(
                    "{}: {:.1} h, {} / {:.0} / {}",
                    c.level,
                    c.secs / 3600.0,
                    show(c.rss_mib_bounded),
                    gib(c.rss_mib),
                    show(c.rss_mib_by_addresses)
                )
            })
            .collect();
        println!(
            "| {} | {} | {:.1} ({:.2} {:+.4}·M) | {:.0} / {:.0} / {by_blk} | {} |",
            p.target,
            p.cache_mb,
            p.ingest_secs / 3600.0,
            p.ingest_per_mtx.a,
            p.ingest_per_mtx.b,
            p.ledger_bytes / 1e9,
            p.final_ledger_bytes / 1e9,
            cluster.join("; ")
        );
    }
}

/// Writes `growth` as `dir/growth.json`.
fn save(dir: &Path, growth: &Growth) {
    let path = dir.join("growth.json");
    std::fs::write(&path, serde_json::to_vec_pretty(growth).unwrap()).unwrap();
}

/// Draws the plots of `growth` into `dir`, with the run of
/// `TRACER_BENCH_BEFORE` (a growth.json) dashed beside it.
fn plots(dir: &Path, growth: &Growth) {
    let before: Option<Growth> = std::env::var_os("TRACER_BENCH_BEFORE").map(|f| {
        let bytes = std::fs::read(&f).unwrap_or_else(|e| panic!("{f:?}: {e}"));
        serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{f:?}: {e}"))
    });
    for f in plot::write_all(dir, growth, before.as_ref()).unwrap() {
        println!("written: {}", f.display());
    }
}
