//! Least-squares fits of a growth run and their projection to full chains.

use crate::results::{CacheRun, ChainFacts, ClusterFit, ClusterProjection, Fit, Line, Projection};

/// A full chain the fits are carried to.
pub struct Target {
    /// Name shown and written.
    pub name: &'static str,
    /// Transactions.
    pub txs: f64,
    /// Addresses, if known.
    pub addresses: Option<f64>,
    /// Bytes of blk files, if known.
    pub blk_bytes: Option<f64>,
}

/// The chains projected to: Bitcoin's full chain (1.2e9 transactions,
/// 1.4e9 addresses, about 700 GB of blk files) and Ethereum mainnet
/// (assumed 2.8e9 transactions and 3.5e8 addresses, the order of
/// Etherscan's unique-address count).
pub const TARGETS: [Target; 2] = [
    Target {
        name: "bitcoin",
        txs: 1.2e9,
        addresses: Some(1.4e9),
        blk_bytes: Some(700e9),
    },
    Target {
        name: "ethereum",
        txs: 2.8e9,
        addresses: Some(3.5e8),
        blk_bytes: None,
    },
];

/// Bytes per address a `cluster build` holds whatever its `--cache-mb`:
/// the union-find's parent, size and smallest-member arrays (three u32)
/// and the address kind (one byte). Everything else goes through sorted
/// runs on disk.
pub const UNION_FIND_BYTES_PER_ADDRESS: f64 = 13.0;

const MIB: f64 = 1024.0 * 1024.0;

/// The slope `c` of `y = c·x` that minimises the squared errors (0 without
/// points).
pub fn through_origin(points: &[(f64, f64)]) -> f64 {
    let xx: f64 = points.iter().map(|(x, _)| x * x).sum();
    let xy: f64 = points.iter().map(|(x, y)| x * y).sum();
    if xx > 0.0 {
        xy / xx
    } else {
        0.0
    }
}

/// The line `a + b·x` that minimises the weighted squared errors of
/// `(x, y, weight)` points; with a single distinct `x`, the flat line
/// through their weighted mean.
pub fn weighted_line(points: &[(f64, f64, f64)]) -> Line {
    let mx = weighted_mean(points, |p| p.0);
    let my = weighted_mean(points, |p| p.1);
    let sxx: f64 = points.iter().map(|(x, _, w)| w * (x - mx).powi(2)).sum();
    let sxy: f64 = points.iter().map(|(x, y, w)| w * (x - mx) * (y - my)).sum();
    let b = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    Line { a: my - b * mx, b }
}

/// The mean of `value` over `(x, y, weight)` points, weighted (0 without
/// weight).
pub fn weighted_mean(points: &[(f64, f64, f64)], value: fn(&(f64, f64, f64)) -> f64) -> f64 {
    let w: f64 = points.iter().map(|p| p.2).sum();
    if w > 0.0 {
        points.iter().map(|p| value(p) * p.2).sum::<f64>() / w
    } else {
        0.0
    }
}

/// Checks the fits on points they must recover exactly (run at start-up:
/// benches run no tests). Panics on a wrong fit.
pub fn self_check() {
    let close = |a: f64, b: f64| (a - b).abs() < 1e-9 * (1.0 + b.abs());
    let c = through_origin(&[(1.0, 3.0), (2.0, 6.0), (4.0, 12.0)]);
    assert!(close(c, 3.0), "through_origin: {c}");
    let l = weighted_line(&[(1.0, 5.0, 1.0), (2.0, 7.0, 3.0), (5.0, 13.0, 0.5)]);
    assert!(close(l.a, 3.0) && close(l.b, 2.0), "weighted_line: {l:?}");
    let flat = weighted_line(&[(2.0, 4.0, 1.0), (2.0, 8.0, 1.0)]);
    assert!(
        close(flat.a, 6.0) && flat.b == 0.0,
        "weighted_line: {flat:?}"
    );
    assert!(close(ingest_secs(Line { a: 2.0, b: 4.0 }, 3.0), 24.0));
    let m = weighted_mean(&[(0.0, 1.0, 1.0), (0.0, 4.0, 2.0)], |p| p.1);
    assert!(close(m, 3.0), "weighted_mean: {m}");
}

/// Seconds to ingest `m` million transactions when the `M`-th million
/// takes `per_m.a + per_m.b·M` seconds: the integral from 0 to `m`.
pub fn ingest_secs(per_m: Line, m: f64) -> f64 {
    per_m.a * m + per_m.b * m * m / 2.0
}

/// Seconds per million transactions of each segment before the closing
/// one, as `(M at its midpoint, seconds per million, M in it)`.
fn per_million(run: &CacheRun) -> Vec<(f64, f64, f64)> {
    let mut start = 0u64;
    let mut points = Vec::new();
    for s in run.segments.iter().filter(|s| !s.closing) {
        let m = s.txs.saturating_sub(start) as f64 / 1e6;
        if m > 0.0 {
            points.push(((start + s.txs) as f64 / 2e6, s.secs / m, m));
        }
        start = s.txs;
    }
    points
}

/// The fits of one run on `chain`.
pub fn fit(run: &CacheRun, chain: &ChainFacts) -> Fit {
    let txs = chain.txs.max(1) as f64;
    let regular = || run.segments.iter().filter(|s| !s.closing);
    let sizes: Vec<(f64, f64)> = regular()
        .map(|s| (s.txs as f64, s.ledger_bytes as f64))
        .collect();
    let ledger = run.ingest.ledger_bytes as f64;
    let per_m = per_million(run);
    let (line, mean) = (weighted_line(&per_m), weighted_mean(&per_m, |p| p.1));
    // The closing flush and compaction: what the fit leaves of the time
    // after the last regular segment.
    let (done_tx, done_secs) = regular()
        .next_back()
        .map_or((0, 0.0), |s| (s.txs, s.elapsed_secs));
    let (m0, m1) = (done_tx as f64 / 1e6, txs / 1e6);
    let used = integrated(line, mean);
    let tail = ingest_secs(used, m1) - ingest_secs(used, m0);
    Fit {
        ledger_bytes_per_tx: if sizes.is_empty() {
            ledger / txs
        } else {
            through_origin(&sizes)
        },
        final_ledger_bytes_per_tx: ledger / txs,
        final_ledger_bytes_per_blk_byte: ledger / chain.blk_bytes.max(1) as f64,
        ingest_secs_per_mtx: line,
        ingest_mean_secs_per_mtx: mean,
        closing_secs_per_tx: (run.ingest.secs - done_secs - tail).max(0.0) / txs,
        cluster: run
            .cluster
            .iter()
            .map(|c| ClusterFit {
                level: c.level.clone(),
                secs_per_tx: through_origin(&[(txs, c.secs)]),
                rss_mib_per_tx: through_origin(&[(txs, c.peak_rss_mib)]),
                rss_mib_per_address: through_origin(&[(
                    chain.addresses.max(1) as f64,
                    c.peak_rss_mib,
                )]),
                rss_fixed_mib: c.peak_rss_mib
                    - UNION_FIND_BYTES_PER_ADDRESS * chain.addresses as f64 / MIB,
            })
            .collect(),
    }
}

/// The seconds per million transactions to integrate: the fitted `line`,
/// or the flat line at the segments' `mean` if the fit falls with size.
fn integrated(line: Line, mean: f64) -> Line {
    if line.b >= 0.0 {
        line
    } else {
        Line { a: mean, b: 0.0 }
    }
}

/// The fits `f` of the run at `cache_mb` carried to `target`.
pub fn project(cache_mb: u64, f: &Fit, target: &Target) -> Projection {
    let per_m = integrated(f.ingest_secs_per_mtx, f.ingest_mean_secs_per_mtx);
    Projection {
        cache_mb,
        target: target.name.into(),
        txs: target.txs,
        addresses: target.addresses,
        blk_bytes: target.blk_bytes,
        ingest_secs: ingest_secs(per_m, target.txs / 1e6) + f.closing_secs_per_tx * target.txs,
        ingest_per_mtx: per_m,
        ledger_bytes: f.ledger_bytes_per_tx * target.txs,
        final_ledger_bytes: f.final_ledger_bytes_per_tx * target.txs,
        ledger_bytes_by_blk: target
            .blk_bytes
            .map(|b| b * f.final_ledger_bytes_per_blk_byte),
        cluster: f
            .cluster
            .iter()
            .map(|c| ClusterProjection {
                level: c.level.clone(),
                secs: c.secs_per_tx * target.txs,
                rss_mib: c.rss_mib_per_tx * target.txs,
                rss_mib_by_addresses: target.addresses.map(|a| a * c.rss_mib_per_address),
                rss_mib_bounded: target
                    .addresses
                    .map(|a| c.rss_fixed_mib + UNION_FIND_BYTES_PER_ADDRESS * a / MIB),
            })
            .collect(),
    }
}
