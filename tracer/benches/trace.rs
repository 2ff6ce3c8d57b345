//! Tracing benchmark (a bench binary printing numbers; no timing is asserted).
//!
//! On a simulated chain directory (`TRACER_BENCH_SIM=DIR` holding `db/`,
//! `truth.jsonl` and `tags.yaml`, tags imported and `cospend` clusters built
//! first if missing; default: the `small` preset generated here):
//! - every truth case traced forward under each model (cases/s, hops/s);
//! - one long trace of at least 10,000 hops (address level, haircut, no
//!   minimum amount, no tags so it runs on through exchanges) from a busy
//!   early transaction: time per 10k hops, first run and
//!   second run (RocksDB block cache filled).
//!
//! Run: `TRACER_BENCH_SIM=/path/to/sim cargo bench -p tracer --bench trace`

mod common;

use std::path::Path;
use std::time::Instant;

use chain_adapters::ledger::OutRef;
use chain_adapters::store::{Store, StoreOptions};
use common::{measured, simulated_chain};
use heuristics::store::AnalysisStore;
use heuristics::trace::{self, Amount, Granularity, Model, Params, Quiet, SeedCoin, Source};

fn prepare(sim: &Path) {
    let db = sim.join("db");
    let d = db.to_str().unwrap();
    if !heuristics::store::analysis_dir(&db).exists() {
        let tags = sim.join("tags.yaml");
        measured(&[
            "--db",
            d,
            "tags",
            "import",
            tags.to_str().unwrap(),
            "--json",
        ]);
        measured(&["--db", d, "cluster", "build", "--json"]);
    }
}

/// Seeds whose address-level haircut trace judges `txs` transactions: all
/// outputs of the first transaction from `start` with at least 3 outputs.
fn busy_seeds(store: &Store, start: u64) -> Vec<SeedCoin> {
    let next = store.counters().unwrap().next_tx;
    for id in start..next {
        let tx = store.tx(id).unwrap().unwrap();
        if !tx.is_coinbase() && tx.outputs.len() >= 3 {
            return (0..tx.outputs.len() as u32)
                .map(|vout| SeedCoin {
                    out: OutRef { tx: id, vout },
                    amount: Amount::new(tx.outputs[vout as usize].value),
                })
                .collect();
        }
    }
    panic!("no transaction with 3 outputs after {start}");
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let sim = common::sim_dir(|| simulated_chain(tmp.path(), "small", 1));
    prepare(&sim);
    let db = sim.join("db");
    let store = Store::open_read_only(&db, StoreOptions::default()).unwrap();
    let analysis = AnalysisStore::open_read_only(&db).unwrap();
    let c = store.counters().unwrap();
    println!(
        "ledger: {} transactions, {} addresses",
        c.next_tx, c.next_addr
    );

    let models = if std::env::var_os("TRACER_BENCH_LONG_ONLY").is_some() {
        vec![]
    } else {
        Model::ALL.to_vec()
    };
    let (cases, mixing) = tracer::trace_eval::read_cases(&store, &sim.join("truth.jsonl")).unwrap();
    for model in models {
        let p = Params::new(model);
        let t = Instant::now();
        let e = tracer::trace_eval::evaluate_cases(&store, Some(&analysis), &cases, &mixing, &[p])
            .unwrap();
        let s = t.elapsed().as_secs_f64();
        let m = &e.models[0];
        println!(
            "cases {:<8} {} cases, {} txs judged in {:.3} s ({:.1} ms/case); recall {:.2}%, accounted {:.2}%",
            model.name(),
            m.all.cases,
            m.txs,
            s,
            s * 1e3 / m.all.cases.max(1) as f64,
            m.all.recall * 100.0,
            m.all.accounted * 100.0
        );
    }

    let mut p = Params::new(Model::Haircut);
    p.granularity = Granularity::Address;
    p.limits.min_amount = Amount::new(1);
    p.limits.max_hops = 100_000;
    if std::env::var_os("NOCHANGE").is_some() {
        p.change = None;
    }
    let seeds = busy_seeds(&store, c.next_tx / 10);
    // The smallest transaction budget giving at least 10,000 hops.
    for budget in [
        1_000u64, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 1_000_000,
    ] {
        p.limits.max_txs = budget;
        let mut src = Source::new(&store, None, p.granularity).unwrap();
        let tr = trace::trace_forward(&mut src, &seeds, p, &Quiet).unwrap();
        if tr.edges.len() >= 10_000 {
            break;
        }
    }
    // More rounds (TRACER_BENCH_ROUNDS) give a profiler enough samples.
    let rounds: usize = std::env::var("TRACER_BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(2);
    for r in 0..rounds {
        let round = match r {
            0 => "first run".to_string(),
            1 => "second run".to_string(),
            n => format!("run {}", n + 1),
        };
        let t = Instant::now();
        let cpu = thread_cpu_secs();
        let mut src = Source::new(&store, None, p.granularity).unwrap();
        let tr = trace::trace_forward(&mut src, &seeds, p, &Quiet).unwrap();
        let s = t.elapsed().as_secs_f64();
        let cpu = thread_cpu_secs() - cpu;
        let per_10k = 10_000.0 / tr.edges.len().max(1) as f64;
        println!(
            "long trace ({round}): {} hops, {} nodes, {} txs judged in {:.1} ms = {:.1} ms per 10k hops (CPU {:.1} ms per 10k hops)",
            tr.edges.len(),
            tr.nodes.len(),
            tr.summary.txs,
            s * 1e3,
            s * 1e3 * per_10k,
            cpu * 1e3 * per_10k
        );
    }
}

/// CPU time of the calling thread (seconds): on a shared VM, steadier
/// than wall time.
fn thread_cpu_secs() -> f64 {
    let mut t: libc::timespec = unsafe { std::mem::zeroed() };
    // SAFETY: `t` is a valid out-pointer for the duration of the call.
    let r = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    assert_eq!(r, 0, "clock_gettime");
    t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9
}
