//! TagPack import benchmark (a bench binary printing numbers; no timing is
//! asserted).
//!
//! Writes a generated GraphSense TagPack of `TRACER_BENCH_TAGS_MB` MB
//! (default 50): Bitcoin P2PKH and P2WPKH addresses and EIP-55 checksummed
//! Ethereum addresses, one label per tag, header defaults for the rest.
//! Then times `tracer tags import` with its peak RSS: a first import, a
//! re-import of the same pack (which replaces its tags), and a pack of the
//! same shape whose every address has a broken checksum.
//!
//! Run: `cargo bench -p tracer --bench tags`

mod common;

use std::fmt::Write as _;
use std::path::Path;

use bitcoin::hashes::Hash as _;
use common::{env_u64, run_measured, tracer_binary};

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let mb = env_u64("TRACER_BENCH_TAGS_MB", 50);
    println!("tracer: {}", tracer_binary());
    let tmp = tempfile::tempdir().unwrap();
    let good = tmp.path().join("generated.yaml");
    let bad = tmp.path().join("bad-checksums.yaml");
    let n = write_pack(&good, mb << 20, false);
    write_pack(&bad, mb << 20, true);
    let size = |p: &Path| std::fs::metadata(p).unwrap().len() as f64 / 1e6;
    println!(
        "generated TagPack: {n} tags, {:.1} MB; with broken checksums: {:.1} MB",
        size(&good),
        size(&bad)
    );
    let db = tmp.path().join("db");
    let d = db.to_str().unwrap();
    for (what, file) in [
        ("import", &good),
        ("re-import (replaces)", &good),
        ("broken checksums", &bad),
    ] {
        let r = run_measured(&[
            "--db",
            d,
            "tags",
            "import",
            file.to_str().unwrap(),
            "--json",
        ]);
        let s = &r.summary;
        println!(
            "tags import, {what}: {} tags imported, {} refused, {} replaced in {:.2} s \
             ({:.2} s CPU, {:.0} tags/s of CPU), peak RSS {:.0} MiB",
            s["tags"],
            s["refused"].as_u64().unwrap_or(0),
            s["replaced"],
            r.secs,
            r.cpu_secs,
            n as f64 / r.cpu_secs,
            r.rss_mib
        );
    }
}

/// Writes a TagPack of at least `bytes` bytes; returns its tag count. With
/// `break_checksums` every address has one character changed.
fn write_pack(path: &Path, bytes: u64, break_checksums: bool) -> u64 {
    let mut y = String::with_capacity(bytes as usize + 4096);
    y.push_str(
        "title: Generated benchmark pack\n\
         creator: tracer bench\n\
         description: Generated addresses for the import benchmark\n\
         currency: BTC\n\
         confidence: service_data\n\
         category: exchange\n\
         source: https://example.org/bench\n\
         lastmod: 2024-01-01\n\
         tags:\n",
    );
    let mut n = 0u64;
    while (y.len() as u64) < bytes {
        let mut h = [0u8; 20];
        h[..8].copy_from_slice(&n.to_le_bytes());
        h[8..16].copy_from_slice(&n.wrapping_mul(0x9e37_79b9_7f4a_7c15).to_be_bytes());
        let (mut address, currency) = match n % 4 {
            0 => (
                bitcoin::Address::from_script(
                    &bitcoin::ScriptBuf::new_p2wpkh(&bitcoin::WPubkeyHash::from_byte_array(h)),
                    bitcoin::Network::Bitcoin,
                )
                .unwrap()
                .to_string(),
                None,
            ),
            1 => (
                alloy_primitives::Address::from(h).to_checksum(None),
                Some("ETH"),
            ),
            _ => (
                bitcoin::Address::p2pkh(
                    bitcoin::PubkeyHash::from_byte_array(h),
                    bitcoin::Network::Bitcoin,
                )
                .to_string(),
                None,
            ),
        };
        if break_checksums {
            // Swap the last character for another of the same alphabet.
            let last = address.pop().unwrap();
            address.push(if last == 'q' || last == '2' { 'p' } else { 'q' });
            if currency.is_some() {
                // An all-lowercase Ethereum address has no checksum to break:
                // take the EIP-55 form with one letter's case flipped; if that
                // leaves no mixed case (few letters), drop a digit instead.
                address = flip_case(&alloy_primitives::Address::from(h).to_checksum(None));
                let hex = &address[2..];
                let mixed = hex.bytes().any(|b| b.is_ascii_lowercase())
                    && hex.bytes().any(|b| b.is_ascii_uppercase());
                if !mixed {
                    address.pop();
                }
            }
        }
        writeln!(y, "- address: {address}").unwrap();
        if let Some(c) = currency {
            writeln!(y, "  currency: {c}").unwrap();
        }
        writeln!(y, "  label: entity {}", n / 3).unwrap();
        n += 1;
    }
    std::fs::write(path, y).unwrap();
    n
}

/// The EIP-55 form with the case of its first letter flipped (breaks the checksum).
fn flip_case(checksummed: &str) -> String {
    let mut done = false;
    checksummed
        .chars()
        .enumerate()
        .map(|(i, c)| {
            if i >= 2 && !done && c.is_ascii_alphabetic() {
                done = true;
                if c.is_ascii_uppercase() {
                    c.to_ascii_lowercase()
                } else {
                    c.to_ascii_uppercase()
                }
            } else {
                c
            }
        })
        .collect()
}
