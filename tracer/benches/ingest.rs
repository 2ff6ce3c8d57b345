//! Ingest benchmark (a bench binary printing numbers; no timing is asserted).
//!
//! Measures on one chain, in one run:
//! - blk parse throughput (MB/s): tracer's reader (scan + ordering + decode +
//!   txids + address classification) and the `blocks_iterator` crate
//!   (skip_prevout) over the same files;
//! - ingest + index throughput (MB/s, tx/s) into RocksDB through the real
//!   `tracer ingest` binary, with its peak RSS, at two cache sizes.
//!
//! The chain is a synthetic regtest chain generated here (real serialization,
//! txids, merkle roots and PoW), or any blocks directory given with
//! `TRACER_BENCH_BLOCKS_DIR=DIR` (e.g. the simulator's `large` preset).
//! Size: `TRACER_BENCH_BLOCKS` (default 2000) × `TRACER_BENCH_TXS` (default 500);
//! `TRACER_BENCH_OUT=DIR` keeps the generated chain there
//! (`TRACER_BENCH_GENERATE_ONLY=1`: and stops).
//!
//! Run: `cargo bench -p tracer --bench ingest`

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use bitcoin::absolute::LockTime;
use bitcoin::block::{Header, Version as BlockVersion};
use bitcoin::hashes::Hash;
use bitcoin::script::{Builder, PushBytesBuf};
use bitcoin::transaction::Version;
use bitcoin::{
    Amount, Block, Network, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, WPubkeyHash,
    Witness,
};
use chain_adapters::bitcoin::blkfile::BlockFiles;
use chain_adapters::bitcoin::blkwriter::{grind_pow, BlkWriter, MAX_BLK_FILE};
use rayon::prelude::*;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn script_for(n: u64) -> ScriptBuf {
    let mut h = [0u8; 20];
    h[..8].copy_from_slice(&n.to_le_bytes());
    let wpkh = WPubkeyHash::from_byte_array(h);
    match n % 4 {
        0 | 1 => ScriptBuf::new_p2wpkh(&wpkh),
        2 => ScriptBuf::new_p2pkh(&bitcoin::PubkeyHash::from_byte_array(h)),
        _ => ScriptBuf::new_p2sh(&bitcoin::ScriptHash::from_byte_array(h)),
    }
}

/// Writes a synthetic regtest chain: `blocks` blocks of `txs` payments each
/// (1–3 inputs, payment + change), spending earlier outputs.
fn generate(dir: &Path, blocks: u64, txs: u64) -> u64 {
    let mut w = BlkWriter::create(dir, Network::Regtest, MAX_BLK_FILE).unwrap();
    let genesis = bitcoin::constants::genesis_block(Network::Regtest);
    w.write_block(&genesis).unwrap();
    let mut prev = genesis.block_hash();
    let mut rng = Rng(42);
    let mut pool: Vec<(OutPoint, u64)> = Vec::new();
    let mut next_addr = 0u64;
    let mut total_tx = 0;
    let sig = PushBytesBuf::try_from(vec![0x30u8; 72]).unwrap();
    for height in 1..=blocks {
        let mut txdata = Vec::with_capacity(txs as usize + 1);
        let coinbase = Transaction {
            version: Version::TWO,
            lock_time: LockTime::ZERO,
            input: vec![TxIn {
                previous_output: OutPoint::null(),
                script_sig: Builder::new()
                    .push_int(height as i64)
                    .push_int(7)
                    .into_script(),
                sequence: Sequence::MAX,
                witness: Witness::new(),
            }],
            output: vec![TxOut {
                value: Amount::from_sat(50_0000_0000),
                script_pubkey: script_for(next_addr),
            }],
        };
        next_addr += 1;
        pool.push((OutPoint::new(coinbase.compute_txid(), 0), 50_0000_0000));
        txdata.push(coinbase);
        for _ in 0..txs {
            let k = (1 + rng.below(3)).min(pool.len() as u64);
            if k == 0 {
                break;
            }
            let mut input = Vec::new();
            let mut value = 0;
            for _ in 0..k {
                let i = rng.below(pool.len() as u64) as usize;
                let (op, v) = pool.swap_remove(i);
                value += v;
                let mut wit = Witness::new();
                wit.push(sig.as_bytes());
                wit.push([0x02u8; 33]);
                input.push(TxIn {
                    previous_output: op,
                    script_sig: ScriptBuf::new(),
                    sequence: Sequence::ENABLE_RBF_NO_LOCKTIME,
                    witness: wit,
                });
            }
            let fee = 1_000.min(value);
            let pay = (value - fee) / (2 + rng.below(8));
            let change = value - fee - pay;
            let output = vec![
                TxOut {
                    value: Amount::from_sat(pay),
                    script_pubkey: script_for(rng.below(next_addr + 1)),
                },
                TxOut {
                    value: Amount::from_sat(change),
                    script_pubkey: script_for(next_addr),
                },
            ];
            next_addr += 1;
            let tx = Transaction {
                version: Version::TWO,
                lock_time: LockTime::ZERO,
                input,
                output,
            };
            let txid = tx.compute_txid();
            pool.push((OutPoint::new(txid, 0), pay));
            pool.push((OutPoint::new(txid, 1), change));
            txdata.push(tx);
        }
        total_tx += txdata.len() as u64;
        let mut block = Block {
            header: Header {
                version: BlockVersion::from_consensus(0x2000_0000),
                prev_blockhash: prev,
                merkle_root: bitcoin::TxMerkleNode::all_zeros(),
                time: genesis.header.time + height as u32 * 600,
                bits: genesis.header.bits,
                nonce: 0,
            },
            txdata,
        };
        block.header.merkle_root = block.compute_merkle_root().unwrap();
        grind_pow(&mut block.header);
        prev = block.block_hash();
        w.write_block(&block).unwrap();
    }
    w.finish().unwrap();
    total_tx
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("blk"))
        .map(|e| e.metadata().unwrap().len())
        .sum()
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs `tracer ingest` and returns (seconds, peak RSS in MiB, summary JSON).
/// The child is reaped with `wait4` (to read its peak RSS), not `Child::wait`.
#[allow(clippy::zombie_processes)]
fn ingest(dir: &Path, db: &Path, cache_mb: u64, network: &str) -> (f64, f64, serde_json::Value) {
    let t = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tracer"))
        .args([
            "--db",
            db.to_str().unwrap(),
            "--cache-mb",
            &cache_mb.to_string(),
        ])
        .args(["ingest", "bitcoin", "--blocks-dir", dir.to_str().unwrap()])
        .args(["--network", network, "--json"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut child.stdout.take().unwrap(), &mut out).unwrap();
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child (not yet reaped); `usage` is a valid out-pointer.
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(r, pid, "wait4");
    let secs = t.elapsed().as_secs_f64();
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "ingest failed"
    );
    let summary = serde_json::from_slice(&out).unwrap_or(serde_json::Value::Null);
    (secs, usage.ru_maxrss as f64 / 1024.0, summary)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` asks benches to list tests
    }
    let tmp = tempfile::tempdir().unwrap();
    let (dir, network): (PathBuf, &str) = match std::env::var("TRACER_BENCH_BLOCKS_DIR") {
        Ok(d) => (PathBuf::from(d), "regtest"),
        Err(_) => {
            let blocks = env_u64("TRACER_BENCH_BLOCKS", 2000);
            let txs = env_u64("TRACER_BENCH_TXS", 500);
            let dir = std::env::var("TRACER_BENCH_OUT")
                .map(PathBuf::from)
                .unwrap_or_else(|_| tmp.path().join("blocks"));
            let t = Instant::now();
            let n = generate(&dir, blocks, txs);
            println!(
                "generate: {blocks} blocks, {n} txs, {:.1} MB in {:.1} s",
                dir_bytes(&dir) as f64 / 1e6,
                t.elapsed().as_secs_f64()
            );
            if std::env::var("TRACER_BENCH_GENERATE_ONLY").is_ok() {
                return;
            }
            (dir, "regtest")
        }
    };
    let mb = dir_bytes(&dir) as f64 / 1e6;
    // Warm the page cache so neither parser pays for the first read from disk.
    for e in std::fs::read_dir(&dir).unwrap().filter_map(|e| e.ok()) {
        let _ = std::fs::read(e.path());
    }
    let net = chain_adapters::bitcoin::parse_network(network).unwrap();

    // tracer's reader: everything ingest does before the store.
    let t = Instant::now();
    let files = BlockFiles::open(&dir).unwrap();
    let chain = BlockFiles::best_chain(files.scan(net).unwrap(), net);
    let txs: usize = chain
        .blocks
        .par_chunks(64)
        .map(|c| {
            c.iter()
                .map(|l| files.read_new_block(l, 0).unwrap().txs.len())
                .sum::<usize>()
        })
        .sum();
    let s = t.elapsed().as_secs_f64();
    println!(
        "parse tracer:          {mb:.1} MB, {txs} txs in {s:.2} s = {:.1} MB/s, {:.0} tx/s",
        mb / s,
        txs as f64 / s
    );

    // blocks_iterator on the same files (txids computed, no prevouts).
    let t = Instant::now();
    let mut cfg = blocks_iterator::Config::new(&dir, net);
    cfg.skip_prevout = true;
    let bi_txs: usize = blocks_iterator::iter(cfg).map(|b| b.txids().len()).sum();
    let s = t.elapsed().as_secs_f64();
    println!(
        "parse blocks_iterator: {mb:.1} MB, {bi_txs} txs in {s:.2} s = {:.1} MB/s, {:.0} tx/s",
        mb / s,
        bi_txs as f64 / s
    );

    for cache in [64, 512] {
        let db = tmp.path().join(format!("db-{cache}"));
        let (secs, rss, summary) = ingest(&dir, &db, cache, network);
        let n = summary["txs"].as_f64().unwrap_or(0.0);
        println!(
            "ingest+index (cache {cache} MiB): {mb:.1} MB, {n} txs in {secs:.2} s = {:.1} MB/s, {:.0} tx/s, peak RSS {rss:.0} MiB",
            mb / secs,
            n / secs
        );
    }
}
