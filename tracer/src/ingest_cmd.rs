//! `tracer ingest bitcoin|ethereum`: chain data into the ledger.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use chain_adapters::bitcoin::parse_network;
use chain_adapters::bitcoin::rpc::{RpcAuth, RpcClient};
use chain_adapters::ethereum::{self, EthClient, EthOptions, EthRange, TraceSource};
use chain_adapters::ingest::{self, Follow, IngestOptions, IngestSummary};
use chain_adapters::ledger::Chain;
use chain_adapters::store::{Store, StoreOptions};
use clap::{Args, Subcommand, ValueEnum};
use tracer::output::print_json;

use crate::{progress, render};

#[derive(Subcommand)]
pub enum IngestChain {
    /// Bitcoin from Core's block files or its JSON-RPC.
    Bitcoin(BitcoinIngest),
    /// Ethereum from a node's JSON-RPC: blocks, receipts (ERC-20 transfers) and call traces (internal transfers).
    Ethereum(EthereumIngest),
}

/// When to commit, and how to report.
#[derive(Args)]
pub struct CommitArgs {
    /// Commit after this many blocks.
    #[arg(long, default_value_t = 1000)]
    batch_blocks: usize,
    /// Commit once the pending batch exceeds this many MiB (bounds ingest memory
    /// together with --cache-mb; the write of one batch overlaps the next).
    #[arg(long, default_value_t = 16)]
    batch_mb: usize,
    /// In a blk-file bulk load, a batch of at least this many KiB is written as
    /// sorted files RocksDB takes in whole, instead of through its memtables.
    #[arg(long, default_value_t = (chain_adapters::store::FILE_BATCH_BYTES >> 10) as u64)]
    file_batch_kib: u64,
    /// fsync every commit: the ledger then survives a power loss, not only a crash (slower).
    #[arg(long)]
    sync: bool,
    /// Keep following the node's tip (RPC only), polling every --poll-secs.
    #[arg(long)]
    follow: bool,
    /// Seconds between polls with --follow.
    #[arg(long, default_value_t = 5.0)]
    poll_secs: f64,
    /// Machine-readable summary.
    #[arg(long)]
    json: bool,
}

impl CommitArgs {
    fn options(&self) -> IngestOptions {
        IngestOptions {
            batch_blocks: self.batch_blocks.max(1),
            batch_bytes: self.batch_mb.max(1) << 20,
            sync: self.sync,
            file_batch_bytes: usize::try_from(self.file_batch_kib.saturating_mul(1024))
                .unwrap_or(usize::MAX),
        }
    }

    fn follow(&self) -> Option<Follow> {
        self.follow.then(|| Follow {
            poll: Duration::from_secs_f64(self.poll_secs.max(0.05)),
        })
    }
}

#[derive(Args)]
#[command(group = clap::ArgGroup::new("source").required(true).args(["blocks_dir", "rpc"]))]
pub struct BitcoinIngest {
    /// Bitcoin Core blocks directory (blk*.dat, xor.dat), or one blk file.
    #[arg(long, value_name = "DIR", conflicts_with = "follow")]
    blocks_dir: Option<PathBuf>,
    /// Bitcoin Core JSON-RPC URL (credentials may be given as http://user:pass@host:port).
    #[arg(long, value_name = "URL")]
    rpc: Option<String>,
    /// Network: main, test, testnet4, signet, regtest.
    #[arg(long, default_value = "main")]
    network: String,
    /// RPC user name.
    #[arg(long, requires = "rpc_password")]
    rpc_user: Option<String>,
    /// RPC password.
    #[arg(long, requires = "rpc_user")]
    rpc_password: Option<String>,
    /// Bitcoin Core cookie file (`.cookie`) for RPC authentication.
    #[arg(long, value_name = "FILE", conflicts_with = "rpc_user")]
    rpc_cookie: Option<PathBuf>,
    /// RPC timeout in seconds.
    #[arg(long, default_value_t = 30)]
    rpc_timeout: u64,
    #[command(flatten)]
    commit: CommitArgs,
}

/// Where internal transfers come from.
#[derive(Clone, Copy, ValueEnum)]
enum Traces {
    /// trace_block if offered (cheaper), else debug_traceBlockByNumber (callTracer).
    Auto,
    /// debug_traceBlockByNumber with the callTracer.
    Calltracer,
    /// Parity-style trace_block.
    Parity,
    /// No traces: internal transfers are not recorded.
    None,
}

#[derive(Args)]
pub struct EthereumIngest {
    /// Node JSON-RPC URL (http://host:port).
    #[arg(long, value_name = "URL")]
    rpc: String,
    /// First block (default: genesis, or after the ledger's tip).
    #[arg(long, value_name = "N")]
    from: Option<u64>,
    /// Last block (default: the node's head minus --confirmations).
    #[arg(long, value_name = "M")]
    to: Option<u64>,
    /// Only ingest blocks this far below the node's head (reorg safety).
    #[arg(long, default_value_t = 0)]
    confirmations: u64,
    /// Chain id the node must report (1 = mainnet).
    #[arg(long)]
    chain_id: Option<u64>,
    /// Source of internal (contract) ETH transfers.
    #[arg(long, value_enum, default_value = "auto")]
    traces: Traces,
    /// Blocks fetched concurrently.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// At most this many requests per second (a provider's rate limit).
    #[arg(long, value_name = "RPS")]
    rate_limit: Option<u32>,
    /// Retries of a failed request (rate limit, 5xx, timeout), with backoff.
    #[arg(long, default_value_t = 3)]
    retries: u32,
    /// Seconds a request may take.
    #[arg(long, default_value_t = 30.0)]
    rpc_timeout: f64,
    /// Largest reply read from the node, in MiB (one block's batch: the
    /// block, its receipts and its traces); a larger one stops the ingest.
    #[arg(long, value_name = "MIB", default_value_t = (chain_adapters::ethereum::transport::DEFAULT_MAX_REPLY_BYTES >> 20) as u64)]
    max_reply_mb: u64,
    #[command(flatten)]
    commit: CommitArgs,
}

/// Runs `tracer ingest …`.
pub fn run(db: &Path, opts: StoreOptions, chain: IngestChain) -> Result<()> {
    let store = Store::open(db, opts)?;
    let bar = progress::Bar::new();
    let (result, chain, commit) = match &chain {
        IngestChain::Bitcoin(a) => (ingest_bitcoin(&store, a, &bar), Chain::Bitcoin, &a.commit),
        IngestChain::Ethereum(a) => (ingest_ethereum(&store, a, &bar), Chain::Ethereum, &a.commit),
    };
    bar.finish();
    let summary = result.with_context(|| match store.tip(chain) {
        Ok(Some(t)) => format!(
            "ingest stopped; the ledger is intact at {} height {}",
            chain.name(),
            t.height
        ),
        _ => format!(
            "ingest stopped; the ledger is intact (no {} blocks committed)",
            chain.name()
        ),
    })?;
    if commit.json {
        print_json(&summary)
    } else {
        render::ingest_summary(&summary);
        Ok(())
    }
}

fn ingest_bitcoin(store: &Store, a: &BitcoinIngest, bar: &progress::Bar) -> Result<IngestSummary> {
    let network = parse_network(&a.network)?;
    let iopts = a.commit.options();
    if let Some(dir) = &a.blocks_dir {
        return Ok(ingest::ingest_blk_files(store, dir, network, &iopts, bar)?);
    }
    let url = a.rpc.as_deref().expect("clap requires a source");
    let auth = match (&a.rpc_cookie, &a.rpc_user, &a.rpc_password) {
        (Some(cookie), _, _) => RpcAuth::from_cookie_file(cookie)?,
        (None, Some(u), Some(p)) => RpcAuth::UserPass(u.clone(), p.clone()),
        _ => RpcAuth::None,
    };
    let mut client = RpcClient::new(url, auth, Duration::from_secs(a.rpc_timeout.max(1)))?;
    Ok(ingest::ingest_rpc(
        store,
        &mut client,
        network,
        &iopts,
        a.commit.follow(),
        bar,
    )?)
}

fn ingest_ethereum(
    store: &Store,
    a: &EthereumIngest,
    bar: &progress::Bar,
) -> Result<IngestSummary> {
    let traces = match a.traces {
        Traces::Auto => TraceSource::Auto,
        Traces::Calltracer => TraceSource::CallTracer,
        Traces::Parity => TraceSource::Parity,
        Traces::None => TraceSource::None,
    };
    let client = EthClient::new(
        &a.rpc,
        EthOptions {
            traces,
            concurrency: a.concurrency.max(1),
            requests_per_second: a.rate_limit,
            retries: a.retries,
            timeout: Duration::from_secs_f64(a.rpc_timeout.max(0.1)),
            max_reply_bytes: usize::try_from(a.max_reply_mb.max(1).saturating_mul(1 << 20))
                .unwrap_or(usize::MAX),
        },
    )?;
    let range = EthRange {
        from: a.from,
        to: a.to,
        confirmations: a.confirmations,
        chain_id: a.chain_id,
    };
    Ok(ethereum::ingest_ethereum(
        store,
        &client,
        &range,
        &a.commit.options(),
        a.commit.follow(),
        bar,
    )?)
}
