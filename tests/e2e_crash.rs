//! Crash safety: SIGKILL the ingest at several points, restart it, and check
//! the ledger ends identical to one from an uninterrupted run.

mod support;

use std::io::{BufRead, BufReader};

use support::*;

/// Tip height read by a concurrent reader (the DB is open for writing meanwhile).
fn tip(db: &str) -> Option<u64> {
    let out = tracer()
        .args(["--db", db, "status", "--json"])
        .output()
        .unwrap();
    if !out.status.success() {
        return None; // the writer has not created the DB yet
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["bitcoin_tip_height"].as_u64()
}

#[test]
fn sigkill_at_several_points_then_resume_gives_the_uninterrupted_ledger() {
    // The fixture's batches are far below the default file threshold: every
    // batch goes through the memtables.
    kill_and_resume("1024", ["1", "3", "1", "5"]);
}

#[test]
fn sigkill_while_batches_go_in_as_sorted_files_then_resume_gives_the_uninterrupted_ledger() {
    // Every batch is written as sorted files: kills land while files are
    // written and taken in (a stop between a batch's files and its tip is
    // checked directly in the writer's unit tests).
    // Each file costs a few milliseconds to take in: batches of more blocks.
    kill_and_resume("0", ["40", "90", "30", "150"]);
}

/// Kills ingests of the real 0–4312 blk fixture (committing every
/// `batches[i]` blocks, written as sorted files from `file_batch_kib`) once
/// their committed tips pass several targets, resumes, and compares with an
/// uninterrupted ledger.
fn kill_and_resume(file_batch_kib: &str, batches: [&str; 4]) {
    let blocks = fixture("bitcoin/blk-heights-0-4312.dat");
    let blocks = blocks.to_str().unwrap();
    let clean = tempfile::tempdir().unwrap();
    let clean_db = clean.path().join("db");
    ingest_main(&clean_db, std::path::Path::new(blocks));
    let reference = fingerprint(&clean_db);

    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("db");
    let dbs = db.to_str().unwrap();
    let mut interrupted = Vec::new();
    // Kill once the committed tip passes each target; batches of varying size
    // so kills land in different phases (decoding, building, writing).
    for (target, batch) in [300u64, 1200, 2500, 3600].into_iter().zip(batches) {
        let mut child = spawn_ingest(&db, std::path::Path::new(blocks), batch, file_batch_kib);
        // Not a TTY: the ingest logs each commit; kill as soon as the target is committed.
        let log = BufReader::new(child.stderr.take().unwrap());
        for line in log.lines() {
            let line = line.unwrap();
            let committed = line
                .strip_prefix("committed height ")
                .and_then(|h| h.parse::<u64>().ok());
            if committed.is_some_and(|h| h >= target) {
                child.kill().unwrap(); // SIGKILL
                break;
            }
        }
        let status = child.wait().unwrap();
        let after = tip(dbs).expect("the ledger opens after a kill");
        if !status.success() {
            interrupted.push(after);
        }
        // Whatever was committed is whole: the tip block and its transactions are there.
        let st = json(&["--db", dbs, "status", "--json"]);
        assert_eq!(st["bitcoin_tip_height"], after);
    }
    eprintln!("ledger tips after the kills: {interrupted:?}");
    assert!(
        interrupted.len() >= 3 && interrupted.iter().all(|&t| t < 4312),
        "kills must interrupt the ingest mid-way: tips after kills {interrupted:?}"
    );
    let s = ingest_main(&db, std::path::Path::new(blocks));
    assert_eq!(s["tip_height"], 4312);
    assert_eq!(
        fingerprint(&db),
        reference,
        "resumed ledger equals the uninterrupted one"
    );
}
