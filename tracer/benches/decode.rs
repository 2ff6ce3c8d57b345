//! `tracer decode` of blk files of growing size (a bench binary printing
//! numbers; no timing is asserted): the decoder reads and prints one block
//! at a time, so its peak RSS must stay flat while the file grows.
//!
//! Simulates the `small` and `medium` presets (or `TRACER_BENCH_PRESETS`,
//! comma-separated), then decodes each one's largest blk file with `--json`
//! and as text, the output thrown away.
//!
//! Run: `cargo bench -p tracer --bench decode`

mod common;

use common::{run_measured_discarding_output, tracer_binary};

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let presets = std::env::var("TRACER_BENCH_PRESETS").unwrap_or_else(|_| "small,medium".into());
    println!("tracer: {}", tracer_binary());
    println!(
        "| preset | blk file MB | output | seconds | MB/s | peak RSS MiB |\n|---|---|---|---|---|---|"
    );
    for preset in presets.split(',') {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("sim");
        common::measured(&[
            "simulate",
            "--out",
            out.to_str().unwrap(),
            "--preset",
            preset,
            "--json",
        ]);
        let largest = std::fs::read_dir(out.join("blocks"))
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with("blk"))
            .max_by_key(|e| e.metadata().unwrap().len())
            .unwrap()
            .path();
        let mb = std::fs::metadata(&largest).unwrap().len() as f64 / 1e6;
        for (what, json) in [("json", true), ("text", false)] {
            let path = largest.to_str().unwrap();
            let args: Vec<&str> = if json {
                vec!["decode", path, "--json"]
            } else {
                vec!["decode", path]
            };
            let r = run_measured_discarding_output(&args);
            println!(
                "| {preset} | {mb:.1} | {what} | {:.2} | {:.1} | {:.1} |",
                r.secs,
                mb / r.secs,
                r.rss_mib
            );
        }
    }
}
