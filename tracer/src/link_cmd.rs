//! `tracer link CASE.toml... --out DIR`: which cases — from any prefecture,
//! and other forces' imported bundles — lead to the same people.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
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

/// Every imported case under `dir` (one bundle directory per case, as
/// `tracer import` keeps them), each verified against its manifest again
/// (a file changed since the import is refused, by name): where it is
/// and its trace.
fn imported(dir: &Path) -> Result<Vec<(String, TraceFile)>> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<_>>()
        .with_context(|| format!("reading {}", dir.display()))?;
    // `.<id>.importing`: an import under way or interrupted.
    dirs.retain(|p| {
        !p.file_name()
            .is_some_and(|n| n.as_encoded_bytes().starts_with(b"."))
    });
    dirs.sort();
    dirs.iter()
        .map(|d| {
            if !d.symlink_metadata().is_ok_and(|m| m.is_dir()) {
                bail!(
                    "{}: not an imported case (a directory `tracer import --into {}` wrote)",
                    d.display(),
                    dir.display()
                );
            }
            let bundle = reports::bundle::verify(d)?;
            let p = d.join("trace.json");
            let bytes = bundle
                .files
                .get("trace.json")
                .ok_or_else(|| anyhow!("{}: missing", p.display()))?;
            let doc = trace_file::parse(bytes).map_err(|e| anyhow!("{}: {e}", p.display()))?;
            Ok((p.display().to_string(), doc))
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

/// Refuses a case linked twice (one file given twice, two files of one
/// case id, a case also imported), which would link it to itself;
/// `cases` are (file, case id).
fn refuse_duplicates(cases: &[(String, String)]) -> Result<()> {
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
    for (file, id) in cases {
        if let Some(first) = seen.insert(id, file) {
            if first == file {
                bail!("{file} is given twice: link each case once");
            }
            bail!("case {id} is given twice, in {first} and in {file}: link each case once");
        }
    }
    Ok(())
}

/// Runs `tracer link`.
pub fn run(db: &Path, opts: StoreOptions, a: LinkArgs) -> Result<()> {
    let model = Model::parse(&a.model).ok_or_else(|| anyhow!("unknown model {:?}", a.model))?;
    let mut cases = Vec::with_capacity(a.cases.len());
    for p in &a.cases {
        cases.push((p.clone(), tracer::case::load(p)?));
    }
    let imports = match &a.imports {
        Some(dir) => imported(dir)?,
        None => Vec::new(),
    };
    let mut ids: Vec<(String, String)> = cases
        .iter()
        .map(|(p, c)| (p.display().to_string(), c.id.clone()))
        .collect();
    for (file, doc) in &imports {
        let id = doc.case.as_ref().map(|c| c.id.as_str());
        let id = id.ok_or_else(|| anyhow!("{file}: the trace names no case id"))?;
        ids.push((file.clone(), id.to_string()));
    }
    refuse_duplicates(&ids)?;
    let mut docs = crate::trace_cmd::trace_docs(db, opts, &cases, model, &a.level)?;
    docs.extend(imports.into_iter().map(|(_, d)| d));
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
