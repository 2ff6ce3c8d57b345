//! Ingest as the chain grows (a bench binary printing numbers; no timing is
//! asserted): one ingest of a simulated chain per `--cache-mb` setting, and
//! per segment of `TRACER_BENCH_SEGMENT_TX` transactions (default 1,000,000)
//! its throughput, the ledger's size on disk, its write amplification (bytes
//! the ingest wrote, by the kernel's count, over blk bytes read) and the peak
//! RSS so far — the curve of issue #19. Then `cluster build` at both levels
//! on the grown ledger, with time and peak RSS.
//!
//! The chain: `TRACER_BENCH_SIM=DIR` (a `tracer simulate` output), or else
//! `TRACER_BENCH_SCENARIO=FILE` (a scenario JSON, e.g. `{"blocks": 10000,
//! "individuals": 250000}` for 5.2 M transactions), or else the
//! `TRACER_BENCH_PRESET` preset (default `large`, 1 M transactions).
//! `TRACER_BENCH_CACHE_MB` lists the settings (default `64,512,2048`).
//!
//! Run: `cargo bench -p tracer --bench growth`

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::time::Instant;

use common::{env_u64, measured, run_measured, tracer_binary};

/// Transactions in each block record of the blk files, in file order (the
/// simulator writes blocks in height order, genesis first).
fn txs_per_block(blocks: &Path) -> (Vec<u64>, Vec<u64>) {
    let mut files: Vec<PathBuf> = std::fs::read_dir(blocks)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("blk"))
        .collect();
    files.sort();
    let (mut txs, mut sizes) = (Vec::new(), Vec::new());
    for f in files {
        let bytes = std::fs::read(f).unwrap();
        let mut p = 0;
        while p + 8 <= bytes.len() && bytes[p..p + 4] != [0; 4] {
            let size = u32::from_le_bytes(bytes[p + 4..p + 8].try_into().unwrap()) as usize;
            let mut r = &bytes[p + 8 + 80..p + 8 + size];
            let n = bitcoin::consensus::Decodable::consensus_decode(&mut r)
                .map(|v: bitcoin::VarInt| v.0)
                .unwrap();
            txs.push(n);
            sizes.push(size as u64 + 8);
            p += 8 + size;
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

// The ingest child is reaped with `wait4` (for its counts), not `Child::wait`.
#[allow(clippy::zombie_processes)]
fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let sim = common::sim_dir(|| {
        let out = tmp.path().join("sim");
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
    });
    let blocks = sim.join("blocks");
    let (txs, sizes) = txs_per_block(&blocks);
    let total_tx: u64 = txs.iter().sum();
    let segment = env_u64("TRACER_BENCH_SEGMENT_TX", 1_000_000).max(1);
    let caches = std::env::var("TRACER_BENCH_CACHE_MB").unwrap_or_else(|_| "64,512,2048".into());
    println!("tracer: {}", tracer_binary());
    println!(
        "chain: {} blocks, {total_tx} txs, {:.0} MB of blk files",
        txs.len(),
        sizes.iter().sum::<u64>() as f64 / 1e6
    );
    for cache in caches.split(',') {
        let db = tmp.path().join(format!("db-{cache}"));
        let started = Instant::now();
        let mut child = std::process::Command::new(tracer_binary())
            .args([
                "--cache-mb",
                cache,
                "--db",
                db.to_str().unwrap(),
                "ingest",
                "bitcoin",
            ])
            .args([
                "--blocks-dir",
                blocks.to_str().unwrap(),
                "--network",
                "regtest",
                "--json",
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let pid = child.id();
        println!("\n--cache-mb {cache}\n| txs (M) | seconds | MB/s | tx/s | ledger MB | write amp | peak RSS MiB |\n|---|---|---|---|---|---|---|");
        let (mut next, mut done_tx, mut done_bytes, mut height) = (segment, 0u64, 0u64, 0usize);
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
            let (dtx, db_) = (done_tx - seg_tx, done_bytes - seg_bytes);
            println!(
                "| {:.2} | {secs:.1} | {:.1} | {:.0} | {:.0} | {:.2} | {:.0} |",
                done_tx as f64 / 1e6,
                db_ as f64 / 1e6 / secs,
                dtx as f64 / secs,
                tree_bytes(&db) as f64 / 1e6,
                proc_field(pid, "io", "write_bytes:") as f64 / done_bytes.max(1) as f64,
                proc_field(pid, "status", "VmHWM:") as f64 / 1024.0
            );
            (seg_start, seg_tx, seg_bytes) = (now, done_tx, done_bytes);
            while next <= done_tx {
                next += segment;
            }
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
        println!(
            "ingest: {:.1} s in all, ledger {:.0} MB, write amp {:.2}, peak RSS {:.0} MiB",
            started.elapsed().as_secs_f64(),
            tree_bytes(&db) as f64 / 1e6,
            usage.ru_oublock as f64 * 512.0 / done_bytes.max(1) as f64,
            usage.ru_maxrss as f64 / 1024.0
        );
        for level in ["cospend", "cospend+change"] {
            let r = run_measured(&[
                "--cache-mb",
                cache,
                "--db",
                db.to_str().unwrap(),
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
        }
    }
}
