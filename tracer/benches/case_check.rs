//! `tracer case check` benchmark (a bench binary printing numbers; no timing
//! is asserted).
//!
//! Writes a case file of `TRACER_BENCH_SEEDS` seeds (default 200,000):
//! Bitcoin payment seeds with distinct txids, every 10th an address seed
//! with a one-day window on one of 1,000 addresses, and 1% of the payments
//! repeated (the checker warns about those). Then times `tracer case check`
//! on it (no ledger: parsing, validation and the duplicate-seed check) with
//! its peak RSS.
//!
//! Run: `cargo bench -p tracer --bench case_check`

mod common;

use std::fmt::Write as _;

use bitcoin::hashes::Hash as _;
use common::{env_u64, run_measured, tracer_binary};

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let seeds = env_u64("TRACER_BENCH_SEEDS", 200_000);
    println!("tracer: {}", tracer_binary());
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("large-case.toml");
    let mut t = String::from(
        "format = 1\n\n[case]\nid = \"BENCH-2026-0001\"\nprefecture = \"Tokyo\"\n\
         crime = \"communications_fraud\"\nreported = 2026-03-02\n\
         investigator = \"Bench\"\n",
    );
    let txid = |i: u64| {
        let mut h = [0u8; 32];
        h[..8].copy_from_slice(&i.to_le_bytes());
        h[8..16].copy_from_slice(&i.wrapping_mul(0x9e37_79b9_7f4a_7c15).to_le_bytes());
        hex::encode(h)
    };
    let address = |i: u64| {
        let mut h = [0u8; 20];
        h[..8].copy_from_slice(&(i % 1000).to_le_bytes());
        bitcoin::Address::p2pkh(
            bitcoin::PubkeyHash::from_byte_array(h),
            bitcoin::Network::Bitcoin,
        )
        .to_string()
    };
    let mut repeated = 0;
    for i in 0..seeds {
        if i % 10 == 9 {
            let day = 1 + (i / 10) % 28;
            writeln!(
                t,
                "\n[[seed]]\nchain = \"bitcoin\"\naddress = \"{}\"\nfrom = 2025-02-{day:02}\nuntil = 2025-02-{day:02}",
                address(i)
            )
            .unwrap();
        } else if i % 100 == 50 {
            writeln!(
                t,
                "\n[[seed]]\nchain = \"bitcoin\"\npayment = \"{}:0\"",
                txid(i - 1)
            )
            .unwrap();
            repeated += 1;
        } else {
            writeln!(
                t,
                "\n[[seed]]\nchain = \"bitcoin\"\npayment = \"{}:{}\"\nnote = \"payment {i}\"",
                txid(i),
                i % 3
            )
            .unwrap();
        }
    }
    std::fs::write(&file, &t).unwrap();
    println!(
        "case file: {seeds} seeds ({repeated} repeated payments), {:.1} MB",
        t.len() as f64 / 1e6
    );
    let r = run_measured(&["case", "check", file.to_str().unwrap(), "--json"]);
    let f = &r.summary["files"][0];
    let warnings = f["warnings"].as_array().map_or(0, Vec::len);
    println!(
        "case check: {} seeds in {:.2} s ({:.2} s CPU), {warnings} warning(s), peak RSS {:.0} MiB",
        f["seeds"], r.secs, r.cpu_secs, r.rss_mib
    );
}
