//! Helpers shared by the bench binaries: running the real `tracer` binary
//! with its time and peak RSS, environment settings.

// Each bench binary uses a subset of these.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// In-process measurements use the allocator of the `tracer` binary.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("blk"))
        .map(|e| e.metadata().unwrap().len())
        .sum()
}

pub fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The `tracer` binary the benches run: this build's, or another one given
/// as `TRACER_BENCH_TRACER=PATH` (to measure an earlier build on the same
/// inputs).
pub fn tracer_binary() -> String {
    std::env::var("TRACER_BENCH_TRACER").unwrap_or_else(|_| env!("CARGO_BIN_EXE_tracer").into())
}

/// Runs the `tracer` binary with `args`; returns (seconds, peak RSS in MiB,
/// stdout as JSON). See [`run_measured`].
pub fn measured(args: &[&str]) -> (f64, f64, serde_json::Value) {
    let r = run_measured(args);
    (r.secs, r.rss_mib, r.summary)
}

/// Runs the `tracer` binary with `args`; returns (seconds, peak RSS in MiB,
/// stdout). See [`run_measured`].
pub fn measured_output(args: &[&str]) -> (f64, f64, Vec<u8>) {
    let r = run_measured(args);
    (r.secs, r.rss_mib, r.stdout)
}

/// What [`run_measured`] measured of one run.
pub struct Run {
    /// Wall-clock seconds.
    pub secs: f64,
    /// User plus system CPU seconds of the process (all its threads): on a
    /// machine shared with other jobs, steadier than the wall clock.
    pub cpu_secs: f64,
    /// Peak RSS, MiB.
    pub rss_mib: f64,
    /// Stdout as JSON (`Null` if it is not JSON).
    pub summary: serde_json::Value,
    /// Stdout as written.
    pub stdout: Vec<u8>,
}

/// Runs the `tracer` binary with `args`. Its log (stderr) is shown only if
/// it fails. The child is reaped with `wait4` (to read its peak RSS and CPU
/// time), not `Child::wait`.
pub fn run_measured(args: &[&str]) -> Run {
    run(args, true)
}

/// [`run_measured`] with the output thrown away as it is written (for
/// outputs larger than the bench should hold: `stdout` stays empty).
pub fn run_measured_discarding_output(args: &[&str]) -> Run {
    run(args, false)
}

#[allow(clippy::zombie_processes)]
fn run(args: &[&str], keep_stdout: bool) -> Run {
    let t = Instant::now();
    let mut child = Command::new(tracer_binary())
        .args(args)
        .stdout(if keep_stdout {
            std::process::Stdio::piped()
        } else {
            std::process::Stdio::null()
        })
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = child.stderr.take().unwrap();
    let log = std::thread::spawn(move || {
        let mut log = String::new();
        std::io::Read::read_to_string(&mut err, &mut log).map(|_| log)
    });
    let mut out = Vec::new();
    if let Some(mut stdout) = child.stdout.take() {
        std::io::Read::read_to_end(&mut stdout, &mut out).unwrap();
    }
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child (not yet reaped); `usage` is a valid out-pointer.
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(r, pid, "wait4");
    let secs = t.elapsed().as_secs_f64();
    let log = log.join().unwrap().unwrap_or_default();
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "tracer {args:?} failed:\n{log}"
    );
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Run {
        secs,
        cpu_secs: seconds(usage.ru_utime) + seconds(usage.ru_stime),
        rss_mib: usage.ru_maxrss as f64 / 1024.0,
        summary: serde_json::from_slice(&out).unwrap_or(serde_json::Value::Null),
        stdout: out,
    }
}

/// The simulated chain a bench runs on: `TRACER_BENCH_SIM=DIR` (a `tracer
/// simulate` output) if given, else the one `make` writes.
pub fn sim_dir(make: impl FnOnce() -> std::path::PathBuf) -> std::path::PathBuf {
    std::env::var_os("TRACER_BENCH_SIM").map_or_else(make, std::path::PathBuf::from)
}

/// Simulates `preset` (seed `seed`) into `dir/sim` and ingests it into
/// `dir/sim/db` with the real binary; returns the simulation directory.
pub fn simulated_chain(dir: &Path, preset: &str, seed: u64) -> std::path::PathBuf {
    let out = dir.join("sim");
    let o = out.to_str().unwrap();
    let seed = seed.to_string();
    measured(&[
        "simulate", "--out", o, "--preset", preset, "--seed", &seed, "--json",
    ]);
    let db = out.join("db");
    let blocks = out.join("blocks");
    measured(&[
        "--db",
        db.to_str().unwrap(),
        "ingest",
        "bitcoin",
        "--blocks-dir",
        blocks.to_str().unwrap(),
        "--network",
        "regtest",
        "--json",
    ]);
    out
}
