//! `tracer link CASE.toml... --out DIR`: which cases — from any prefecture,
//! and other forces' imported bundles — lead to the same people.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context, Result};
use chain_adapters::query::LedgerView;
use chain_adapters::store::{Store, StoreOptions};
use clap::Args;
use heuristics::trace::{Model, TraceFile};
use reports::link::PUBLIC_SENDERS;
use reports::Lang;

use tracer::output::{command_line, print_json, write_files};

#[derive(Args)]
pub struct LinkArgs {
    /// Case files (each is traced on the ledger).
    #[arg(required = true)]
    cases: Vec<PathBuf>,
    /// Output directory.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Language: ja or en.
    #[arg(long, default_value = "ja", value_parser = ["ja", "en"])]
    lang: String,
    /// Nodes: address, cospend or cospend+change clusters.
    #[arg(long, default_value = "cospend")]
    level: String,
    /// Taint model of the traces compared.
    #[arg(long, default_value = "haircut")]
    model: String,
    /// Also link the cases imported from other forces (`tracer import --into DIR`).
    #[arg(long, value_name = "DIR")]
    imports: Option<PathBuf>,
    /// Print the linkage as JSON.
    #[arg(long)]
    json: bool,
}

/// The trace of every imported case under `dir` (one directory per case).
fn imported(dir: &Path) -> Result<Vec<TraceFile>> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("trace.json").exists())
        .collect();
    dirs.sort();
    dirs.iter()
        .map(|d| {
            let p = d.join("trace.json");
            trace_file::read(&p).map_err(|e| anyhow!("{}: {e}", p.display()))
        })
        .collect()
}

/// The distinct senders (up to [`PUBLIC_SENDERS`]) of every address that
/// two or more of `docs` reached, counted on the ledger.
fn senders_of(store: &Store, docs: &[TraceFile]) -> Result<BTreeMap<String, u32>> {
    let view = LedgerView::new(store)?;
    let mut out = BTreeMap::new();
    for a in reports::link::shared_addresses(docs) {
        let mut most = 0;
        for id in view.resolve(&a).unwrap_or_default() {
            most = most.max(heuristics::senders::distinct_senders(
                store,
                id,
                PUBLIC_SENDERS,
            )?);
        }
        out.insert(a, most);
    }
    Ok(out)
}

/// Runs `tracer link`.
pub fn run(db: &Path, opts: StoreOptions, a: LinkArgs) -> Result<()> {
    let model = Model::parse(&a.model).ok_or_else(|| anyhow!("unknown model {:?}", a.model))?;
    let mut cases = Vec::with_capacity(a.cases.len());
    for p in &a.cases {
        cases.push((p.clone(), tracer::case::load(p)?));
    }
    let mut docs = crate::trace_cmd::trace_docs(db, opts, &cases, model, &a.level)?;
    if let Some(dir) = &a.imports {
        docs.extend(imported(dir)?);
    }
    let store = Store::open_read_only(db, opts)?;
    let senders = senders_of(&store, &docs)?;
    let linkage = reports::link::link(
        &docs,
        Lang::parse(&a.lang).expect("clap checks"),
        vec![command_line()],
        &|a: &str| senders.get(a).copied(),
    )?;
    let font = reports::pdf::FontFile::find()?;
    write_files(&a.out, &reports::link_render::artifacts(&linkage, &font)?)?;
    if a.json {
        return print_json(&linkage);
    }
    tracer::outln!(
        "{} cases, {} links, {} suspected groups; written: {}",
        linkage.cases.len(),
        linkage.links.len(),
        linkage.groups.len(),
        a.out.join("linkage.html").display()
    );
    Ok(())
}
