//! Real mainnet blocks rearranged the ways Bitcoin Core's block files can be
//! (out of order, split, zero-filled gaps, XOR-obfuscated) and damaged the
//! ways disks and copies damage them (truncated, corrupted).

mod support;

use std::path::Path;

use support::*;

/// The records (magic+size+block) of a blk file, with their offsets.
fn records(bytes: &[u8]) -> Vec<(usize, Vec<u8>)> {
    let mut out = Vec::new();
    let mut p = 0;
    while p + 8 <= bytes.len() {
        let size = u32::from_le_bytes(bytes[p + 4..p + 8].try_into().unwrap()) as usize;
        out.push((p, bytes[p..p + 8 + size].to_vec()));
        p += 8 + size;
    }
    out
}

fn real_blocks() -> Vec<u8> {
    std::fs::read(fixture("bitcoin/blk-heights-0-4312.dat")).unwrap()
}

fn reference_fingerprint() -> String {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("db");
    ingest_main(&db, &fixture("bitcoin/blk-heights-0-4312.dat"));
    fingerprint(&db)
}

fn ingest_dir(db: &Path, dir: &Path) -> serde_json::Value {
    ingest_main(db, dir)
}

/// Writes the records into `n` files in a scrambled order with zero gaps, XORed with `key`.
fn write_scrambled(dir: &Path, recs: &[(usize, Vec<u8>)], n: usize, key: Option<[u8; 8]>) {
    // Reverse every run of 7 blocks, then deal runs round-robin into the files.
    let mut order: Vec<usize> = Vec::new();
    for chunk in (0..recs.len()).collect::<Vec<_>>().chunks(7) {
        order.extend(chunk.iter().rev());
    }
    // Obfuscation covers what Core writes (the records); gaps stay raw zeros, as
    // pre-allocated space does.
    let mut files = vec![Vec::new(); n];
    for (i, &r) in order.iter().enumerate() {
        let f: &mut Vec<u8> = &mut files[(i / 7) % n];
        let start = f.len();
        f.extend_from_slice(&recs[r].1);
        if let Some(k) = key {
            for (j, b) in f.iter_mut().enumerate().skip(start) {
                *b ^= k[j % 8];
            }
        }
        if i % 13 == 0 {
            f.extend_from_slice(&[0u8; 1000]); // a zero-filled gap between records
        }
    }
    for (i, mut f) in files.into_iter().enumerate() {
        f.extend_from_slice(&[0u8; 4096]); // pre-allocated tail
        std::fs::write(dir.join(format!("blk{i:05}.dat")), f).unwrap();
    }
    if let Some(k) = key {
        std::fs::write(dir.join("xor.dat"), k).unwrap();
    }
}

#[test]
fn scrambled_split_gapped_and_obfuscated_files_give_the_same_ledger() {
    let reference = reference_fingerprint();
    let recs = records(&real_blocks());
    assert_eq!(recs.len(), 4313);
    for (name, key) in [
        ("plain", None),
        ("xor", Some(*b"\x5a\x13\xc7\x00\xff\x81\x42\x9e")),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let blocks = tmp.path().join("blocks");
        std::fs::create_dir(&blocks).unwrap();
        write_scrambled(&blocks, &recs, 3, key);
        let db = tmp.path().join("db");
        let s = ingest_dir(&db, &blocks);
        assert_eq!(s["blocks"], 4313, "{name}");
        assert_eq!(s["tip_height"], 4312, "{name}");
        assert_eq!(
            fingerprint(&db),
            reference,
            "{name}: same ledger as the ordered file"
        );
    }
}

/// What a running or crashed Bitcoin Core leaves in `blocks/`: the last file
/// ends inside a record. Every complete block is kept, the cut record is
/// reported as a warning, and the repaired file resumes to the same ledger.
#[test]
fn truncated_last_record_keeps_every_complete_block_and_warns() {
    let reference = reference_fingerprint();
    let tmp = tempfile::tempdir().unwrap();
    let bytes = real_blocks();
    let cut = tmp.path().join("blk00000.dat");
    // Cut inside block 4312 (its record starts at offset 999795), then inside
    // its 8-byte frame.
    for (what, len, part) in [
        (
            "inside the block",
            bytes.len() - 100,
            "file truncated: block needs",
        ),
        (
            "inside the frame",
            999795 + 6,
            "file truncated: block size field",
        ),
    ] {
        std::fs::write(&cut, &bytes[..len]).unwrap();
        let db = tmp.path().join(what.replace(' ', "-"));
        let out = tracer()
            .args(ingest_args(
                db.to_str().unwrap(),
                ["--blocks-dir", cut.to_str().unwrap()],
                &["--network", "main", "--json"],
            ))
            .output()
            .unwrap();
        assert!(out.status.success(), "{what}: {}", stderr(&out));
        let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(s["blocks"], 4312, "{what}: blocks 0–4311 kept");
        assert_eq!(s["tip_height"], 4311, "{what}");
        let tail = s["incomplete_tail"].as_str().unwrap();
        assert!(
            tail.contains("blk00000.dat: offset 999795: ") && tail.contains(part),
            "{what}: {tail}"
        );
        assert_contains(
            &stderr(&out),
            &["left out an incomplete record at the end of the last blk file"],
        );
        // Core finishes writing the record: the next run adds block 4312.
        std::fs::write(&cut, &bytes).unwrap();
        let s = ingest_main(&db, &cut);
        assert_eq!(s["blocks"], 1, "{what}");
        assert!(s.get("incomplete_tail").is_none(), "{what}: {s}");
        assert_eq!(fingerprint(&db), reference, "{what}");
    }
}

/// A record cut short in a file that is not the last is a damaged copy:
/// refused, naming the file and offset, before anything is written.
#[test]
fn truncated_record_before_the_last_file_is_refused_and_nothing_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let recs = records(&real_blocks());
    let blocks = tmp.path().join("blocks");
    std::fs::create_dir(&blocks).unwrap();
    let mut first: Vec<u8> = recs[..2000].iter().flat_map(|r| r.1.clone()).collect();
    let cut_at = first.len();
    first.extend_from_slice(&recs[2000].1[..100]);
    std::fs::write(blocks.join("blk00000.dat"), first).unwrap();
    let rest: Vec<u8> = recs[2000..].iter().flat_map(|r| r.1.clone()).collect();
    std::fs::write(blocks.join("blk00001.dat"), rest).unwrap();
    let db = tmp.path().join("db");
    let err = ingest_fails(&db, &blocks, &[]);
    assert!(
        err.contains(&format!("blk00000.dat: offset {cut_at}: file truncated")),
        "{err}"
    );
    let st = json(&["--db", db.to_str().unwrap(), "status", "--json"]);
    assert!(
        st["bitcoin_tip_height"].is_null(),
        "no partial ingest: {st}"
    );
}

#[test]
fn corrupt_block_keeps_every_block_before_it_and_resumes_after_repair() {
    let reference = reference_fingerprint();
    let tmp = tempfile::tempdir().unwrap();
    let good = real_blocks();
    let recs = records(&good);
    let (off2000, _) = recs[2000];
    let mut bad = good.clone();
    bad[off2000 + 8 + 80 + 50] ^= 0x01; // a byte inside block 2000's coinbase
    let path = tmp.path().join("blk00000.dat");
    std::fs::write(&path, &bad).unwrap();
    let db = tmp.path().join("db");
    let dbs = db.to_str().unwrap();
    let err = ingest_fails(&db, &path, &["--batch-blocks", "300"]);
    assert!(
        err.contains(&format!("offset {off2000}: corrupt block")),
        "{err}"
    );
    assert!(
        err.contains("the ledger is intact at bitcoin height 1999"),
        "{err}"
    );
    let st = json(&["--db", dbs, "status", "--json"]);
    assert_eq!(st["bitcoin_tip_height"], 1999);
    // Repaired file: the ingest resumes and ends with the same ledger as a clean run.
    std::fs::write(&path, &good).unwrap();
    let s = ingest_main(&db, &path);
    assert_eq!(s["blocks"], 4313 - 2000);
    assert_eq!(fingerprint(&db), reference);
}

/// A block whose record ends inside its last transaction: the error names
/// the transaction and the field it is cut short in, not "IO error".
#[test]
fn a_transaction_cut_short_inside_a_block_is_named_with_its_field() {
    let tmp = tempfile::tempdir().unwrap();
    let recs = records(&real_blocks());
    let mut bytes: Vec<u8> = recs[..170].iter().flat_map(|r| r.1.clone()).collect();
    let off170 = bytes.len();
    // Block 170 (the coinbase and the payment f4184fc5…) less its last 10
    // bytes, with the record's size field saying so.
    let mut rec = recs[170].1.clone();
    rec.truncate(rec.len() - 10);
    let size = (rec.len() - 8) as u32;
    rec[4..8].copy_from_slice(&size.to_le_bytes());
    bytes.extend_from_slice(&rec);
    let path = tmp.path().join("blk00000.dat");
    std::fs::write(&path, &bytes).unwrap();
    let db = tmp.path().join("db");
    let err = ingest_fails(&db, &path, &[]);
    assert_contains(
        &err,
        &[
            &format!("blk00000.dat: offset {off170}: corrupt block: transaction 1 of 2"),
            "cut short in output 1's script: needs 67 bytes, 61 left",
            "ledger is intact at bitcoin height 169",
        ],
    );
}

#[test]
fn garbage_where_a_block_should_start_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let mut bytes = real_blocks();
    let (off10, _) = records(&bytes)[10];
    bytes[off10..off10 + 4].copy_from_slice(&[0xde, 0xad, 0xbe, 0xef]);
    let path = tmp.path().join("blk00000.dat");
    std::fs::write(&path, &bytes).unwrap();
    let db = tmp.path().join("db");
    let err = ingest_fails(&db, &path, &[]);
    assert!(
        err.contains(&format!(
            "offset {off10}: expected block magic f9beb4d9, found deadbeef"
        )),
        "{err}"
    );
    // A header whose proof of work fails is refused at scan time.
    let mut bytes = real_blocks();
    bytes[off10 + 8 + 4] ^= 0x80; // prev-hash byte: changes the header hash
    std::fs::write(&path, &bytes).unwrap();
    let err = ingest_fails(&db, &path, &[]);
    assert!(err.contains("fails its proof of work"), "{err}");
    let st = json(&["--db", db.to_str().unwrap(), "status", "--json"]);
    assert!(st["bitcoin_tip_height"].is_null());
}
