//! `tracer report CASE.toml --trace DIR --lang ja|en --out DIR`: the case
//! trace report (HTML, JSON, CSV and `MANIFEST.sha256`) from the trace
//! files of `tracer trace`.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use chain_adapters::ledger::Chain;
use chain_adapters::store::{Store, StoreOptions};
use clap::Args;
use reports::{Inputs, Lang, Prices, TraceFile};

use tracer::output::{command_line, print_json, write_files};

#[derive(Args)]
pub struct ReportArgs {
    /// The case file the trace was made for.
    case: PathBuf,
    /// Directory of `tracer trace --out` (trace.json, trace-<model>.json).
    #[arg(long, value_name = "DIR")]
    trace: PathBuf,
    /// Language: ja or en.
    #[arg(long, default_value = "ja", value_parser = ["ja", "en"])]
    lang: String,
    /// Output directory.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// `evaluation.json` of `tracer evaluate --out`: each heuristic's measured precision.
    #[arg(long, value_name = "FILE")]
    evaluation: Option<PathBuf>,
    /// Daily JPY prices (CSV `date,symbol,jpy`) to show amounts in yen.
    #[arg(long, value_name = "FILE")]
    prices: Option<PathBuf>,
    /// Where the ledger's data came from (printed in the provenance section).
    #[arg(long, value_name = "TEXT")]
    source: Option<String>,
    /// Print the written files as JSON.
    #[arg(long)]
    json: bool,
}

/// Reads and validates one trace file.
pub fn read_trace(path: &Path) -> Result<TraceFile> {
    trace_file::read(path).map_err(|e| anyhow!("{}: {e}", path.display()))
}

/// The trace files of `dir`: `trace.json` first, then `trace-<model>.json`
/// by name.
pub fn trace_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let main = dir.join("trace.json");
    if !main.exists() {
        bail!(
            "{}: no trace.json (run `tracer trace … --out {}` first)",
            dir.display(),
            dir.display()
        );
    }
    let mut others: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                n.starts_with("trace-") && n.ends_with(".json") && n != "trace-evaluation.json"
            })
        })
        .collect();
    others.sort();
    others.insert(0, main);
    Ok(others)
}

fn read_traces(dir: &Path) -> Result<Vec<TraceFile>> {
    trace_files(dir)?.iter().map(|p| read_trace(p)).collect()
}

/// The ledger's fingerprint, after checking it still has the tip the trace read.
fn fingerprint(db: &Path, opts: StoreOptions, doc: &TraceFile) -> Result<String> {
    let store = Store::open_read_only(db, opts)?;
    let chain = match doc.ledger.chain {
        trace_file::Chain::Ethereum => Chain::Ethereum,
        trace_file::Chain::Bitcoin => Chain::Bitcoin,
    };
    let tip = store.tip(chain)?.map(|t| chain.hash_hex(&t.hash));
    if tip != doc.ledger.tip_hash {
        bail!(
            "{}: the ledger's {} tip is {} but the trace read {}; trace again on this ledger",
            db.display(),
            chain.name(),
            tip.as_deref().unwrap_or("(none)"),
            doc.ledger.tip_hash.as_deref().unwrap_or("(none)")
        );
    }
    Ok(store.fingerprint()?)
}

/// Runs `tracer report`.
pub fn run(db: Option<&Path>, opts: StoreOptions, a: ReportArgs) -> Result<()> {
    let case = tracer::case::load(&a.case)?;
    let traces = read_traces(&a.trace)?;
    let traced_case = traces[0].case.as_ref().map(|c| c.id.as_str());
    if traced_case != Some(case.id.as_str()) {
        bail!(
            "{} was traced for case {}, not {} ({})",
            a.trace.display(),
            traced_case.unwrap_or("(none)"),
            case.id,
            a.case.display()
        );
    }
    let evaluation = match &a.evaluation {
        Some(p) => {
            let text =
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            Some(
                serde_json::from_str(&text)
                    .map_err(|e| anyhow!("{}: not JSON: {e}", p.display()))?,
            )
        }
        None => None,
    };
    let prices = match &a.prices {
        Some(p) => {
            let bytes = std::fs::read(p).with_context(|| format!("reading {}", p.display()))?;
            let name = p
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("prices.csv");
            Some(Prices::parse(name, &bytes)?)
        }
        None => None,
    };
    let fingerprint = db.map(|d| fingerprint(d, opts, &traces[0])).transpose()?;
    let mut commands: Vec<String> = traces[0].command.iter().cloned().collect();
    commands.push(command_line());
    let inputs = Inputs {
        lang: Lang::parse(&a.lang).expect("clap checks the language"),
        evaluation,
        prices,
        fingerprint,
        data_source: a.source.clone(),
        commands,
    };
    let report = reports::build(&traces, &inputs)?;
    let font = reports::pdf::FontFile::find()?;
    let files = reports::artifacts(&report, &font)?;
    write_files(&a.out, &files)?;
    let written: Vec<String> = files
        .iter()
        .map(|(n, _)| a.out.join(n).display().to_string())
        .collect();
    if a.json {
        print_json(&written)
    } else {
        for w in &written {
            tracer::outln!("written: {w}");
        }
        Ok(())
    }
}
