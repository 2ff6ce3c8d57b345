//! `tracer decode` on real dense blocks, cross-checked against an independent
//! decoder (PyPI `embit`, run by this test through tests/tools/embit_decode.py).

mod support;

use std::process::Command;

use bitcoin::consensus::{deserialize, serialize};
use serde_json::Value;
use support::*;

fn embit(file: &str) -> Value {
    let out = Command::new("python3")
        .arg(root().join("tests/tools/embit_decode.py"))
        .arg(fixture(file))
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "embit decoder failed (run tests/setup.sh to install embit): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Compares tracer's decode of `file` with embit's, output by output.
fn cross_check(file: &str, blocks: usize, txs: usize) -> usize {
    let ours = json(&["decode", fixture(file).to_str().unwrap(), "--json"]);
    let theirs = embit(file);
    let ours = ours["blocks"].as_array().unwrap();
    let theirs = theirs.as_array().unwrap();
    assert_eq!(ours.len(), blocks);
    assert_eq!(theirs.len(), blocks);
    let mut n_tx = 0;
    let mut n_out = 0;
    for (b, e) in ours.iter().zip(theirs) {
        assert_eq!(b["hash"], e["hash"]);
        let (bt, et) = (b["txs"].as_array().unwrap(), e["txs"].as_array().unwrap());
        assert_eq!(b["tx_count"].as_u64().unwrap() as usize, bt.len());
        assert_eq!(bt.len(), et.len());
        for (t, u) in bt.iter().zip(et) {
            assert_eq!(t["txid"], u["txid"]);
            let (to, uo) = (
                t["outputs"].as_array().unwrap(),
                u["outputs"].as_array().unwrap(),
            );
            assert_eq!(to.len(), uo.len(), "tx {}", t["txid"]);
            for (o, p) in to.iter().zip(uo) {
                assert_eq!(
                    Some(amount(&o["value"])),
                    p["value"].as_u64().map(u128::from),
                    "tx {} vout {}",
                    t["txid"],
                    o["vout"]
                );
                assert_eq!(
                    o["address"], p["address"],
                    "tx {} vout {}",
                    t["txid"], o["vout"]
                );
                n_out += 1;
            }
            n_tx += 1;
        }
    }
    assert_eq!(n_tx, txs);
    n_out
}

#[test]
fn dense_2019_block_matches_embit() {
    let outputs = cross_check("bitcoin/block-2019-01.blk", 1, 2898);
    assert!(outputs > 2898);
}

#[test]
fn dense_segwit_blocks_match_embit() {
    cross_check("bitcoin/segwit-2-blocks.blk", 2, 4699);
    // SegWit-era blocks: witness spends (vsize < size) and the script kinds tracer names.
    let ours = json(&[
        "decode",
        fixture("bitcoin/segwit-2-blocks.blk").to_str().unwrap(),
        "--json",
    ]);
    let kinds: std::collections::BTreeSet<String> = ours["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|b| b["txs"].as_array().unwrap())
        .flat_map(|t| t["outputs"].as_array().unwrap())
        .map(|o| o["kind"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        kinds,
        ["op_return", "p2pkh", "p2sh"].map(String::from).into()
    );
    let witness_spends = ours["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|b| b["txs"].as_array().unwrap())
        .filter(|t| t["vsize"].as_u64() < t["size"].as_u64())
        .count();
    assert_eq!(
        witness_spends, 20,
        "embit also finds 20 txs with witness data"
    );
}

#[test]
fn mixed_network_file_decodes_each_block_with_its_own_network() {
    cross_check("bitcoin/mixed-testnet-mainnet.blk", 3, 3643);
    let ours = json(&[
        "decode",
        fixture("bitcoin/mixed-testnet-mainnet.blk")
            .to_str()
            .unwrap(),
        "--json",
    ]);
    let nets: Vec<&str> = ours["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["network"].as_str().unwrap())
        .collect();
    assert_eq!(nets, ["test", "main", "test"]);
}

#[test]
fn raw_transaction_and_raw_block_hex_decode() {
    let bytes = std::fs::read(fixture("bitcoin/blk-heights-0-4312.dat")).unwrap();
    // Walk to block 170 (offsets by framing).
    let mut p = 0;
    for _ in 0..170 {
        p += 8 + u32::from_le_bytes(bytes[p + 4..p + 8].try_into().unwrap()) as usize;
    }
    let size = u32::from_le_bytes(bytes[p + 4..p + 8].try_into().unwrap()) as usize;
    let block: bitcoin::Block = deserialize(&bytes[p + 8..p + 8 + size]).unwrap();
    let tx_hex = hex::encode(serialize(&block.txdata[1]));
    let tx = json(&["decode", &tx_hex, "--json"]);
    assert_eq!(tx["type"], "transaction");
    assert_eq!(
        tx["txid"],
        "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16"
    );
    assert_eq!(amount(&tx["outputs"][0]["value"]), 1_000_000_000);
    assert_eq!(
        tx["outputs"][0]["address"],
        "1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3"
    );
    assert_eq!(tx["outputs"][0]["kind"], "p2pk");
    assert_eq!(
        tx["inputs"][0]["prev_txid"],
        "0437cd7f8525ceed2324359c2d0ba26006d92d856a9c20fa0241106ee5a597c9"
    );

    // A raw block in a hex file.
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("block170.hex");
    std::fs::write(&f, hex::encode(&bytes[p + 8..p + 8 + size])).unwrap();
    let b = json(&["decode", f.to_str().unwrap(), "--json"]);
    assert_eq!(
        b["blocks"][0]["hash"],
        "00000000d1145790a8694403d4063f323d499e655c83426834d4ce2f8dd4a2ee"
    );
    assert_eq!(b["blocks"][0]["tx_count"], 2);

    // Garbage and truncated input are clear errors.
    let err = stderr(&fails(&["decode", "zz-not-hex"]));
    assert!(err.contains("not a file and not hex"), "{err}");
    let err = stderr(&fails(&["decode", &tx_hex[..tx_hex.len() - 10]]));
    assert!(err.contains("neither a block nor a transaction"), "{err}");

    // A directory or a device is named for what it is, not read.
    let dir = tempfile::tempdir().unwrap();
    let err = stderr(&fails(&["decode", dir.path().to_str().unwrap()]));
    assert!(err.contains("a directory; give one blk file"), "{err}");
    let err = stderr(&fails(&["decode", "/dev/zero"]));
    assert!(
        err.contains("/dev/zero") && err.contains("not a regular file"),
        "{err}"
    );
}

/// A blk file the node was still writing: every complete block is decoded
/// (streamed, one block at a time), the cut record is named in the output
/// and warned about.
#[test]
fn a_blk_file_cut_inside_its_last_record_decodes_every_complete_block() {
    let whole = std::fs::read(fixture("bitcoin/mixed-testnet-mainnet.blk")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("blk00000.dat");
    std::fs::write(&cut, &whole[..whole.len() - 10]).unwrap();
    let out = tracer()
        .args(["decode", cut.to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let full = json(&[
        "decode",
        fixture("bitcoin/mixed-testnet-mainnet.blk")
            .to_str()
            .unwrap(),
        "--json",
    ]);
    assert_eq!(v["type"], "blocks");
    assert_eq!(v["blocks"].as_array().unwrap().len(), 2);
    assert_eq!(v["blocks"][0], full["blocks"][0]);
    assert_eq!(v["blocks"][1], full["blocks"][1]);
    let third = full["blocks"][2]["offset"].as_u64().unwrap();
    let tail = v["incomplete_tail"].as_str().unwrap();
    assert!(
        tail.contains(&format!("offset {third}: file truncated")),
        "{tail}"
    );
    assert!(full.get("incomplete_tail").is_none());
    assert_contains(&stderr(&out), &["warning: left out the incomplete record"]);
    // Text output lists the same two blocks.
    let text = ok(&["decode", cut.to_str().unwrap()]);
    assert_eq!(text.lines().filter(|l| l.starts_with("block ")).count(), 2);
}
