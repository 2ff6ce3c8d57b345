//! What the growth bench measured, as written to `growth.json` (and read
//! back from an older run's file for the before/after plots).

use serde::{Deserialize, Serialize};

/// Everything one run of the growth bench measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Growth {
    /// The `tracer` binary measured.
    pub tracer: String,
    /// The chain ingested.
    pub chain: ChainFacts,
    /// Transactions per segment of the ingest curves.
    pub segment_tx: u64,
    /// One entry per `--cache-mb` setting, in the order run.
    pub runs: Vec<CacheRun>,
    /// The fits of each run carried to the chains of [`crate::fit::TARGETS`].
    #[serde(default)]
    pub projections: Vec<Projection>,
}

/// The chain the bench ingested.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ChainFacts {
    /// Blocks in the blk files.
    pub blocks: u64,
    /// Transactions in the blk files.
    pub txs: u64,
    /// Addresses in the grown ledger (its address counter).
    pub addresses: u64,
    /// Bytes of blk files (records with their 8-byte headers).
    pub blk_bytes: u64,
}

/// One ingest and what followed it, at one `--cache-mb` setting.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CacheRun {
    /// The `--cache-mb` setting.
    pub cache_mb: u64,
    /// The ingest curve, one point per segment.
    pub segments: Vec<Segment>,
    /// The whole ingest, its closing merge included.
    pub ingest: IngestTotals,
    /// `cluster build` at each level, in the order run.
    pub cluster: Vec<ClusterBuild>,
    /// In-process look-ups on the grown ledger.
    #[serde(default)]
    pub lookups: Option<Lookups>,
    /// The long trace of the simulated cases.
    #[serde(default)]
    pub trace: Option<TraceRun>,
    /// The least-squares fits of this run.
    #[serde(default)]
    pub fit: Option<Fit>,
}

/// The ingest at the end of one segment of transactions.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Segment {
    /// Transactions ingested so far (the segment's end).
    pub txs: u64,
    /// Seconds since the ingest started.
    pub elapsed_secs: f64,
    /// The segment's own seconds.
    pub secs: f64,
    /// The segment's blk megabytes (10^6) per second.
    pub mb_per_s: f64,
    /// The segment's transactions per second.
    pub tx_per_s: f64,
    /// The ledger's bytes on disk.
    pub ledger_bytes: u64,
    /// Bytes the ingest wrote so far over blk bytes read so far.
    pub write_amp: f64,
    /// Peak RSS so far, MiB.
    pub peak_rss_mib: f64,
    /// The segment ends with the ingest's last commit, which lands after
    /// the bulk load's closing flush and compaction: its time includes
    /// them (the fits leave it out).
    #[serde(default)]
    pub closing: bool,
}

/// The whole ingest.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IngestTotals {
    /// Wall-clock seconds, the closing merge included.
    pub secs: f64,
    /// The ledger's bytes on disk at the end.
    pub ledger_bytes: u64,
    /// Bytes written (by the kernel's count) over blk bytes.
    pub write_amp: f64,
    /// Peak RSS, MiB.
    pub peak_rss_mib: f64,
}

/// One `cluster build`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClusterBuild {
    /// `--level`.
    pub level: String,
    /// Wall-clock seconds.
    pub secs: f64,
    /// Peak RSS, MiB.
    pub peak_rss_mib: f64,
}

/// Look-ups on the grown ledger.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Lookups {
    /// `query::tx` by txid (what `tracer tx TXID` runs).
    pub tx: Latency,
    /// `query::address` with history lines 0..25 (what `tracer address
    /// ADDR --limit 25` runs).
    pub address: Latency,
    /// `tracer address ADDR --limit 25` as a new process, end to end.
    pub cli_address: CliRuns,
}

/// The latency of a batch of look-ups of one kind.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Latency {
    /// Look-ups timed.
    pub count: usize,
    /// Median, milliseconds.
    pub p50_ms: f64,
    /// 99th percentile (nearest rank), milliseconds.
    pub p99_ms: f64,
    /// Slowest, milliseconds.
    pub max_ms: f64,
}

/// Runs of one CLI command.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CliRuns {
    /// The address looked up.
    pub address: String,
    /// Wall-clock seconds of each run.
    pub secs: Vec<f64>,
    /// Their median.
    pub median_secs: f64,
    /// The largest peak RSS of the runs, MiB.
    pub peak_rss_mib: f64,
}

/// One `tracer trace` of every simulated case's payments.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TraceRun {
    /// `--level`.
    pub level: String,
    /// Seeds (victim payments) traced.
    pub seeds: usize,
    /// `--max-txs`.
    pub max_txs: u64,
    /// Wall-clock seconds of the process.
    pub secs: f64,
    /// Edges of trace.json.
    pub hops: usize,
    /// Transactions judged (trace.json's `summary.txs`).
    pub txs_judged: u64,
    /// `secs` per 10,000 hops.
    pub secs_per_10k_hops: f64,
    /// Peak RSS, MiB.
    pub peak_rss_mib: f64,
}

/// `a + b·x`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Line {
    /// Intercept.
    pub a: f64,
    /// Slope.
    pub b: f64,
}

/// The least-squares fits of one run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Fit {
    /// Ledger bytes per transaction: the slope through the origin of
    /// (transactions, ledger bytes) over the segments before the closing
    /// one (the final ledger's if there are none).
    pub ledger_bytes_per_tx: f64,
    /// The final ledger (after the closing merge) per transaction.
    pub final_ledger_bytes_per_tx: f64,
    /// Ledger bytes per blk byte, final ledger.
    pub final_ledger_bytes_per_blk_byte: f64,
    /// Ingest seconds per million transactions at M million ingested:
    /// `a + b·M` (segments before the closing one, at their midpoints,
    /// weighted by their transactions).
    pub ingest_secs_per_mtx: Line,
    /// The segments' weighted mean of seconds per million transactions.
    pub ingest_mean_secs_per_mtx: f64,
    /// The closing flush and compaction, per transaction: the ingest's
    /// seconds after the last segment before the closing one, less what
    /// the fit gives its transactions.
    pub closing_secs_per_tx: f64,
    /// Per `cluster build` level.
    pub cluster: Vec<ClusterFit>,
}

/// The fit of one `cluster build` level (one point per run: the slope
/// through the origin is the ratio).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClusterFit {
    /// `--level`.
    pub level: String,
    /// Seconds per transaction.
    pub secs_per_tx: f64,
    /// Peak RSS MiB per transaction.
    pub rss_mib_per_tx: f64,
    /// Peak RSS MiB per address.
    pub rss_mib_per_address: f64,
    /// Peak RSS MiB less the union-find's arrays: what `--cache-mb` and the
    /// process set (0 in runs written before it was measured).
    #[serde(default)]
    pub rss_fixed_mib: f64,
}

/// One run's fits carried to a full chain.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Projection {
    /// The run's `--cache-mb`.
    pub cache_mb: u64,
    /// The chain projected to.
    pub target: String,
    /// Its transactions (the stated assumption).
    pub txs: f64,
    /// Its addresses, if stated.
    pub addresses: Option<f64>,
    /// Its blk bytes, if stated.
    pub blk_bytes: Option<f64>,
    /// Ingest seconds: the integral of `ingest_per_mtx` plus the closing
    /// merge scaled by transactions.
    pub ingest_secs: f64,
    /// The seconds per million transactions integrated: the fit, or the
    /// flat line at the segments' mean when the fit's slope is negative
    /// (a cost falling with size is not carried 10,000-fold).
    pub ingest_per_mtx: Line,
    /// Ledger bytes by the segments' fit.
    pub ledger_bytes: f64,
    /// Ledger bytes by the final ledger's bytes per transaction.
    pub final_ledger_bytes: f64,
    /// Ledger bytes by the final ledger's bytes per blk byte, if blk bytes are stated.
    pub ledger_bytes_by_blk: Option<f64>,
    /// Per `cluster build` level.
    pub cluster: Vec<ClusterProjection>,
}

/// One `cluster build` level carried to a full chain.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClusterProjection {
    /// `--level`.
    pub level: String,
    /// Seconds, scaled by transactions.
    pub secs: f64,
    /// Peak RSS MiB, scaled by transactions.
    pub rss_mib: f64,
    /// Peak RSS MiB, scaled by addresses (if stated).
    pub rss_mib_by_addresses: Option<f64>,
    /// Peak RSS MiB of the bounded design: the run's fixed part plus the
    /// union-find's arrays for the target's addresses.
    #[serde(default)]
    pub rss_mib_bounded: Option<f64>,
}
