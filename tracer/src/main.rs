//! `tracer`: ingest chain data into a ledger, query it, cluster addresses,
//! attach attribution tags, evaluate heuristics, decode raw data.
// Text for people goes through `tracer::terminal` (escaped), never straight to stdout.
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod analysis;
mod bundle_cmd;
mod decode_cmd;
mod ingest_cmd;
mod link_cmd;
mod progress;
mod render;
mod report_cmd;
mod trace_cmd;

/// mimalloc: cheaper than glibc's malloc for the many small allocations of
/// block decoding and ingest (the `large` chain: 24 s of CPU instead of 28 s).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, Result};
use chain_adapters::bitcoin::parse_network;
use chain_adapters::query::{self, LedgerView};
use chain_adapters::store::{Store, StoreOptions};
use clap::{Parser, Subcommand};
use tracer::output::print_json;

/// Crypto-asset tracing engine: follow funds from a victim's payment to where they cash out.
#[derive(Parser)]
#[command(name = "tracer", version, about)]
struct Cli {
    /// Ledger database directory (RocksDB).
    #[arg(long, global = true, value_name = "DIR")]
    db: Option<PathBuf>,
    /// Memory in MiB: ingest's block cache and look-up tables (with the batch size);
    /// `cluster build`'s sorted runs and hot sets (its union-find, ~12 bytes per address, comes on top).
    #[arg(long, global = true, default_value_t = 256, value_name = "MIB")]
    cache_mb: usize,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Read chain data into the ledger.
    Ingest {
        #[command(subcommand)]
        chain: ingest_cmd::IngestChain,
    },
    /// Show what the ledger holds: network, tip, counts.
    Status {
        /// Also compute the ledger fingerprint (SHA-256 over all records).
        #[arg(long)]
        fingerprint: bool,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Show a transaction: on Bitcoin its inputs resolved and its outputs (un)spent; on
    /// Ethereum its fee, sender and numbered transfers.
    Tx {
        /// Transaction id (hex; Ethereum: the 0x… hash).
        txid: String,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Show an address: balance, received, sent, history.
    Address {
        /// Address (1…, 3…, bc1…, multisig:…, nonstandard:…, 0x…).
        address: String,
        /// History lines to skip.
        #[arg(long, default_value_t = 0)]
        offset: usize,
        /// History lines to show (0 = all).
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Write a simulated regtest economy with ground truth (blk files + truth.jsonl).
    Simulate {
        /// Output directory: gets blocks/ (blk*.dat) and truth.jsonl.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Random seed (same seed and scenario give byte-identical output).
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Size: small (≈2k tx), medium (≈100k tx), large (≈1M tx), xlarge (≈5M tx), xxlarge (≈20M tx).
        #[arg(long, default_value = "small", value_parser = ["small", "medium", "large", "xlarge", "xxlarge"])]
        preset: String,
        /// JSON file overriding preset fields (economy size, groups and cases).
        #[arg(long, value_name = "FILE")]
        scenario: Option<PathBuf>,
        /// Machine-readable summary.
        #[arg(long)]
        json: bool,
    },
    /// Group addresses into entities (clusters), with the evidence of every merge.
    Cluster {
        #[command(subcommand)]
        cmd: analysis::ClusterCmd,
    },
    /// Attribution tags (GraphSense TagPacks, CSV).
    Tags {
        #[command(subcommand)]
        cmd: analysis::TagsCmd,
    },
    /// Measure the heuristics' error rates against a simulated chain's truth.
    Evaluate {
        /// The simulator's truth.jsonl for the chain in --db.
        #[arg(long, value_name = "FILE")]
        truth: PathBuf,
        /// Directory for evaluation.md and evaluation.json.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        #[command(flatten)]
        policy: analysis::PolicyArgs,
        /// Also trace every truth case under these models (comma-separated:
        /// haircut, poison, fifo, lifo) and score the exchange endpoints found.
        #[arg(long, value_delimiter = ',', value_name = "MODELS")]
        traces: Vec<String>,
        /// Node level for --traces: address, cospend, cospend+change.
        #[arg(long, default_value = "cospend")]
        trace_level: String,
        /// For --traces: go through CoinJoins along the outputs that reach the
        /// trace's own exchange deposit addresses (haircut, poison).
        #[arg(long)]
        trace_coinjoin_exits: bool,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Follow the money: trace a case's seeds forward (`trace CASE.toml --out DIR`)
    /// or an address forward or backward (`trace address ADDR [--backward]`).
    Trace(Box<trace_cmd::TraceArgs>),
    /// Write a case's trace report for prosecutors (HTML, JSON, CSV, MANIFEST.sha256;
    /// Japanese or English) from the files of `tracer trace --out DIR`.
    Report(Box<report_cmd::ReportArgs>),
    /// Write a case's trace results as a bundle for another force (JSON + MANIFEST.sha256),
    /// without the victim's personal data unless --with-personal-data.
    Export(Box<bundle_cmd::ExportArgs>),
    /// Link cases (and imported bundles) whose funds share deposit addresses, addresses,
    /// clusters or transactions; group them and write the linkage report.
    Link(Box<link_cmd::LinkArgs>),
    /// Verify a bundle from another force against its manifest and keep it for analysis.
    Import(Box<bundle_cmd::ImportArgs>),
    /// Case files: create, show, list and validate.
    Case {
        #[command(subcommand)]
        cmd: tracer::case::cli::CaseCmd,
    },
    /// Decode a raw transaction, a raw block or a blk file (no ledger needed).
    Decode {
        /// A file (blk file, raw or hex bytes) or a hex string.
        input: String,
        /// Network for address prefixes of raw data (blk records carry their own).
        #[arg(long, default_value = "main")]
        network: String,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    // Die quietly when the reader of our output goes away (`tracer … | head`),
    // as command-line tools do, instead of panicking on a broken pipe.
    // SAFETY: called before any other thread exists; SIG_DFL is a valid handler.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    // No transparent huge pages (what mimalloc's `allow_thp=0` does): mimalloc
    // asks for them on its arenas, then hands small parts back to the kernel,
    // which zeroes a whole 2 MiB page at each next touch. Ingest of the
    // `large` chain, alternating runs: 8–10 s → 2.2–2.6 s of system time,
    // 20–26 s → 15–17 s of wall.
    // SAFETY: prctl with PR_SET_THP_DISABLE only sets a flag of this process.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
    raise_open_files_limit();
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracer::terminal::error(&format!("{e:#}"));
            ExitCode::FAILURE
        }
    }
}

/// Lets the process open as many files as the system allows it (the soft
/// limit up to the hard one): a query holds every table file of the ledger
/// open while an ingest may delete them (see `Store::open_read_only`).
fn raise_open_files_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid out-pointer; setrlimit only changes this process's limit.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

fn need_db(db: &Option<PathBuf>) -> Result<&Path> {
    db.as_deref()
        .ok_or_else(|| anyhow!("--db DIR is required for this command"))
}

fn run(cli: Cli) -> Result<()> {
    let opts = StoreOptions {
        cache_mb: cli.cache_mb.max(8),
    };
    match cli.command {
        Command::Ingest { chain } => ingest_cmd::run(need_db(&cli.db)?, opts, chain),
        Command::Status { fingerprint, json } => {
            let store = Store::open_read_only(need_db(&cli.db)?, opts)?;
            let s = query::status(&store, fingerprint)?;
            if json {
                print_json(&s)
            } else {
                render::status(&s);
                Ok(())
            }
        }
        Command::Tx { txid, json } => {
            let store = Store::open_read_only(need_db(&cli.db)?, opts)?;
            let view = LedgerView::new(&store)?;
            let t = query::tx(&view, &txid)?;
            if json {
                print_json(&t)
            } else {
                render::tx(&t);
                Ok(())
            }
        }
        Command::Address {
            address,
            offset,
            limit,
            json,
        } => {
            let store = Store::open_read_only(need_db(&cli.db)?, opts)?;
            let view = LedgerView::new(&store)?;
            let a = query::address(&view, &address, offset, limit)?;
            if json {
                print_json(&a)
            } else {
                render::address(&a);
                Ok(())
            }
        }
        Command::Simulate {
            out,
            seed,
            preset,
            scenario,
            json,
        } => {
            let started = std::time::Instant::now();
            let s = tracer::simulate::simulate(&tracer::simulate::SimOptions {
                out,
                seed,
                preset,
                scenario,
            })?;
            if json {
                print_json(&s)
            } else {
                render::simulated(&s, started.elapsed());
                Ok(())
            }
        }
        Command::Cluster { cmd } => analysis::cluster(need_db(&cli.db)?, opts, cmd),
        Command::Tags { cmd } => analysis::tags(need_db(&cli.db)?, cmd),
        Command::Evaluate {
            truth,
            out,
            policy,
            traces,
            trace_level,
            trace_coinjoin_exits,
            json,
        } => {
            let db = need_db(&cli.db)?;
            let store = Store::open_read_only(db, opts)?;
            let e = tracer::evaluate::evaluate(&store, &truth, policy.policy()?)?;
            if let Some(dir) = &out {
                tracer::evaluate::write(&e, dir)?;
            }
            let t = if traces.is_empty() {
                None
            } else {
                Some(trace_cmd::evaluate(
                    db,
                    &store,
                    &truth,
                    &traces,
                    &trace_level,
                    if trace_coinjoin_exits {
                        heuristics::trace::CoinJoinPolicy::Exits
                    } else {
                        heuristics::trace::CoinJoinPolicy::Barrier
                    },
                )?)
            };
            if let (Some(dir), Some(t)) = (&out, &t) {
                trace_cmd::write_evaluation(dir, t)?;
            }
            if json {
                print_json(&serde_json::json!({ "heuristics": e, "tracing": t }))
            } else {
                tracer::terminal::text(&tracer::evaluate::markdown(&e));
                if let Some(t) = &t {
                    tracer::terminal::text(&format!("\n{}", tracer::trace_eval::markdown(t)));
                }
                Ok(())
            }
        }
        Command::Trace(args) => trace_cmd::run(need_db(&cli.db)?, opts, *args),
        Command::Report(args) => report_cmd::run(cli.db.as_deref(), opts, *args),
        Command::Export(args) => bundle_cmd::export(*args),
        Command::Link(args) => link_cmd::run(need_db(&cli.db)?, opts, *args),
        Command::Import(args) => bundle_cmd::import(*args),
        Command::Case { cmd } => tracer::case::cli::run(cli.db.as_deref(), opts, cmd),
        Command::Decode {
            input,
            network,
            json,
        } => decode_cmd::run(&input, parse_network(&network)?, json),
    }
}
