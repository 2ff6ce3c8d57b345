//! `tracer export` and `tracer import`: a case's trace results as a bundle
//! another force can verify and bring into its own analysis.

use std::path::PathBuf;

use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use serde::Serialize;
use serde_json::Value;

use crate::report_cmd::trace_files;
use tracer::output::{print_json, write_files};

#[derive(Args)]
pub struct ExportArgs {
    /// The case file.
    case: PathBuf,
    /// Directory of `tracer trace --out` for this case.
    #[arg(long, value_name = "DIR")]
    trace: PathBuf,
    /// Bundle directory to write.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Leave out the victim's personal data: case title, notes, investigator, seed notes (the default).
    #[arg(long, conflicts_with = "with_personal_data")]
    redact: bool,
    /// Keep the personal data (only where the receiving force may hold it).
    #[arg(long)]
    with_personal_data: bool,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct ImportArgs {
    /// Bundle directory (from `tracer export`).
    bundle: PathBuf,
    /// Where imported cases are kept (one directory per case id).
    #[arg(long, value_name = "DIR", default_value = "imports")]
    into: PathBuf,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

/// What an export or import did.
#[derive(Serialize)]
struct Done {
    case: String,
    directory: String,
    files: Vec<String>,
    redacted: bool,
    /// SHA-256 of MANIFEST.sha256: compare it with the sender over a second channel.
    fingerprint: String,
}

fn report(d: &Done, json: bool) -> Result<()> {
    if json {
        return print_json(d);
    }
    tracer::outln!(
        "case {} ({} files{}) in {}",
        d.case,
        d.files.len(),
        if d.redacted {
            ", personal data removed"
        } else {
            ""
        },
        d.directory
    );
    tracer::outln!(
        "bundle fingerprint (SHA-256 of MANIFEST.sha256): {}",
        d.fingerprint
    );
    Ok(())
}

fn fingerprint(files: &[(String, Vec<u8>)]) -> String {
    let manifest = files.iter().find(|(n, _)| n == "MANIFEST.sha256");
    manifest
        .map(|(_, b)| reports::bundle::fingerprint(b))
        .unwrap_or_default()
}

/// Runs `tracer export`.
pub fn export(a: ExportArgs) -> Result<()> {
    let case = tracer::case::load(&a.case)?;
    let case_json = serde_json::to_value(case.to_file())?;
    let mut traces = Vec::new();
    for p in trace_files(&a.trace)? {
        let t = crate::report_cmd::read_trace(&p)?;
        let traced = t.case.as_ref().map(|c| c.id.as_str());
        if traced != Some(case.id.as_str()) {
            bail!(
                "{} was traced for case {}, not {}",
                p.display(),
                traced.unwrap_or("(none)"),
                case.id
            );
        }
        let v: Value = serde_json::to_value(&t)?;
        let name = p
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("trace.json")
            .to_string();
        traces.push((name, v));
    }
    let redact = !a.with_personal_data;
    let files = reports::bundle::export(
        &case_json,
        &traces,
        redact,
        concat!("tracer ", env!("CARGO_PKG_VERSION")),
    );
    write_files(&a.out, &files)?;
    report(
        &Done {
            case: case.id.clone(),
            directory: a.out.display().to_string(),
            files: files.iter().map(|(n, _)| n.clone()).collect(),
            redacted: redact,
            fingerprint: fingerprint(&files),
        },
        a.json,
    )
}

/// Runs `tracer import`.
pub fn import(a: ImportArgs) -> Result<()> {
    let v = reports::bundle::verify(&a.bundle)?;
    let id = v
        .case_id()
        .ok_or_else(|| {
            anyhow!(
                "bundle {}: bundle.json has no usable case id",
                a.bundle.display()
            )
        })?
        .to_string();
    let dir = a.into.join(&id);
    if dir.symlink_metadata().is_ok() {
        bail!(
            "{} exists: case {id} was imported before (remove it to import again)",
            dir.display()
        );
    }
    // Written beside it, then renamed: a case directory is complete or absent.
    let partial = a.into.join(format!(".{id}.importing"));
    if partial.symlink_metadata().is_ok() {
        std::fs::remove_dir_all(&partial)
            .with_context(|| format!("removing {} (an interrupted import)", partial.display()))?;
    }
    let files: Vec<(String, Vec<u8>)> = v.files.into_iter().collect();
    write_files(&partial, &files)?;
    std::fs::rename(&partial, &dir)
        .with_context(|| format!("renaming {} to {}", partial.display(), dir.display()))?;
    report(
        &Done {
            case: id,
            directory: dir.display().to_string(),
            files: files.iter().map(|(n, _)| n.clone()).collect(),
            redacted: v.meta["redacted"] == true,
            fingerprint: v.fingerprint,
        },
        a.json,
    )
}
