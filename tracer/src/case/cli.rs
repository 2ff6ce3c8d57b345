//! `tracer case new|show|list|check`: write, read, list and validate case files.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use chain_adapters::ledger::Chain;
use chain_adapters::query::{utc, Unit};
use chain_adapters::store::{Store, StoreOptions};
use chrono::NaiveDate;
use clap::{ArgGroup, Args, Subcommand};
use serde::Serialize;

use crate::output::print_json;

use super::duplicates::{duplicate_seeds, shared_outputs};
use super::ledger::{resolve_all, SeedOutput, Unresolved};
use super::{
    load, parse, parse_address, parse_chain, parse_date, parse_payment, prefecture, prefecture_ja,
    to_toml, Case, CaseError, Crime, Seed, SeedTarget,
};

/// `tracer case …`
#[derive(Subcommand)]
pub enum CaseCmd {
    /// Write a new case file (never overwrites one).
    New(NewArgs),
    /// Show a case file.
    Show {
        /// The case file.
        file: PathBuf,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// List the case files (*.toml) in a directory; invalid ones with their error.
    List {
        /// Directory holding case files.
        dir: PathBuf,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Validate case files; with --db also find their seeds in the ledger.
    Check {
        /// Case files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
}

/// Arguments of `tracer case new`.
#[derive(Args)]
#[command(group = ArgGroup::new("seeds").required(true).multiple(true).args(["payment", "address"]))]
pub struct NewArgs {
    /// Case file to write (e.g. cases/TOKYO-2026-0001.toml).
    pub file: PathBuf,
    /// Case number (letters, digits, '.', '_', '-').
    #[arg(long)]
    pub id: String,
    /// Prefecture handling the case (English or Japanese name: Tokyo, 東京都).
    #[arg(long, value_parser = prefecture)]
    pub prefecture: &'static str,
    /// communications_fraud, investment_fraud, romance_fraud, robbery_theft, ransomware or other.
    #[arg(long, value_parser = |s: &str| s.parse::<Crime>())]
    pub crime: Crime,
    /// Investigator in charge (name and unit).
    #[arg(long, value_name = "NAME")]
    pub investigator: String,
    /// Date the case was reported, YYYY-MM-DD (default: today, UTC).
    #[arg(long, value_parser = parse_date, value_name = "YYYY-MM-DD")]
    pub reported: Option<NaiveDate>,
    /// One-line description.
    #[arg(long)]
    pub title: Option<String>,
    /// Chain of the seeds: bitcoin or ethereum.
    #[arg(long, default_value = "bitcoin", value_parser = parse_chain)]
    pub chain: Chain,
    /// The victim's payment (repeatable): TXID:VOUT on Bitcoin; on Ethereum
    /// 0xHASH:N, N the transfer's number as `tracer tx 0xHASH` shows it.
    #[arg(long, value_name = "TXID:VOUT|0xHASH:N")]
    pub payment: Vec<String>,
    /// An address the victim paid (repeatable).
    #[arg(long, value_name = "ADDR")]
    pub address: Vec<String>,
}

/// Runs a `case` command; `db` is the global `--db` (used by `check`).
pub fn run(db: Option<&Path>, opts: StoreOptions, cmd: CaseCmd) -> Result<()> {
    match cmd {
        CaseCmd::New(args) => new(args),
        CaseCmd::Show { file, json } => {
            let case = load(&file)?;
            if json {
                print_json(&case)
            } else {
                crate::terminal::text(&summary(&case));
                Ok(())
            }
        }
        CaseCmd::List { dir, json } => list(&dir, json),
        CaseCmd::Check { files, json } => {
            let store = db.map(|d| Store::open_read_only(d, opts)).transpose()?;
            check(&files, store.as_ref(), json)
        }
    }
}

// ---------------------------------------------------------------------------
// new

fn new(a: NewArgs) -> Result<()> {
    let case = new_case(&a)?;
    let origin = a.file.display().to_string();
    let text = to_toml(&case);
    parse(&text, &origin)?;
    write_new(&a.file, &text)?;
    let back = load(&a.file)?;
    if back != case {
        bail!("{origin}: the written case file does not read back the same; please report this");
    }
    crate::outln!("{origin}");
    Ok(())
}

/// The case the arguments describe, every seed checked.
fn new_case(a: &NewArgs) -> Result<Case> {
    let seed = |target| Seed {
        chain: a.chain,
        target,
        note: None,
        line: None,
    };
    let mut seeds = Vec::new();
    for p in &a.payment {
        let target = parse_payment(a.chain, p).map_err(|e| anyhow!("--payment: {e}"))?;
        seeds.push(seed(target));
    }
    for addr in &a.address {
        let address = parse_address(a.chain, addr).map_err(|e| anyhow!("--address: {e}"))?;
        seeds.push(seed(SeedTarget::Address {
            address,
            from: None,
            until: None,
            amount: None,
        }));
    }
    Ok(Case {
        id: a.id.clone(),
        title: a.title.clone(),
        prefecture: a.prefecture.to_string(),
        crime: a.crime,
        reported: a.reported.unwrap_or_else(today_utc),
        incident_from: None,
        incident_until: None,
        investigator: a.investigator.clone(),
        notes: None,
        seeds,
    })
}

fn today_utc() -> NaiveDate {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    chrono::DateTime::from_timestamp(i64::try_from(now).unwrap_or(0), 0)
        .unwrap_or_default()
        .date_naive()
}

/// Creates `path` (and its directory) with `text`; an existing file is left alone.
fn write_new(path: &Path, text: &str) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => anyhow!(
                "{} already exists; not overwriting it (choose another name or remove it first)",
                path.display()
            ),
            _ => anyhow!("cannot create {}: {e}", path.display()),
        })?;
    f.write_all(text.as_bytes())
        .and_then(|()| f.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))
}

// ---------------------------------------------------------------------------
// show

/// A readable summary of a case.
fn summary(c: &Case) -> String {
    let mut s = format!("Case {}\n", c.id);
    let mut field = |name: &str, value: &str| s.push_str(&format!("  {name:<14}{value}\n"));
    if let Some(t) = &c.title {
        field("Title", t);
    }
    let ja = prefecture_ja(&c.prefecture).unwrap_or("");
    field("Prefecture", &format!("{} ({ja})", c.prefecture));
    field(
        "Crime",
        &format!("{} ({})", c.crime.label_en(), c.crime.label_ja()),
    );
    field("Reported", &c.reported.to_string());
    if c.incident_from.is_some() || c.incident_until.is_some() {
        let day = |d: Option<NaiveDate>| d.map_or("?".to_string(), |d| d.to_string());
        field(
            "Incident",
            &format!("{} – {}", day(c.incident_from), day(c.incident_until)),
        );
    }
    field("Investigator", &c.investigator);
    if let Some(n) = &c.notes {
        field("Notes", n);
    }
    s.push_str(&format!("Seeds ({}):\n", c.seeds.len()));
    for (i, seed) in c.seeds.iter().enumerate() {
        s.push_str(&format!("  {}. {}\n", i + 1, describe_seed(seed)));
    }
    s
}

/// One line naming a seed: chain, what it names, its window, amount and note.
fn describe_seed(seed: &Seed) -> String {
    let chain = seed.chain.name();
    let mut s = match &seed.target {
        SeedTarget::Payment { txid, vout } => match seed.chain {
            Chain::Bitcoin => format!("{chain} payment {txid}:{vout}"),
            Chain::Ethereum => format!("{chain} payment {txid}:{vout} (transfer #{vout})"),
        },
        SeedTarget::Address {
            address,
            from,
            until,
            amount,
        } => {
            let mut s = format!("{chain} address {address}");
            let at = |t: i64| utc(t.max(0) as u64);
            if let Some(f) = from {
                s.push_str(&format!(", from {}", at(*f)));
            }
            if let Some(u) = until {
                s.push_str(&format!(", until {}", at(*u)));
            }
            if let Some(a) = amount {
                s.push_str(&format!(", amount {}", Unit::native(seed.chain).show(*a)));
            }
            s
        }
    };
    if let Some(n) = &seed.note {
        s.push_str(&format!(" — {n}"));
    }
    s
}

// ---------------------------------------------------------------------------
// list

/// One case file of a directory listing.
#[derive(Serialize)]
struct Listed {
    /// File name.
    file: String,
    /// Case id.
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    /// Prefecture (English).
    #[serde(skip_serializing_if = "Option::is_none")]
    prefecture: Option<String>,
    /// Crime.
    #[serde(skip_serializing_if = "Option::is_none")]
    crime: Option<Crime>,
    /// Date reported.
    #[serde(skip_serializing_if = "Option::is_none")]
    reported: Option<NaiveDate>,
    /// Number of seeds.
    #[serde(skip_serializing_if = "Option::is_none")]
    seeds: Option<usize>,
    /// Why the file is invalid.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

impl Listed {
    fn of(file: String, loaded: Result<Case, CaseError>) -> Listed {
        match loaded {
            Ok(c) => Listed {
                file,
                id: Some(c.id),
                prefecture: Some(c.prefecture),
                crime: Some(c.crime),
                reported: Some(c.reported),
                seeds: Some(c.seeds.len()),
                error: None,
            },
            Err(e) => Listed {
                file,
                id: None,
                prefecture: None,
                crime: None,
                reported: None,
                seeds: None,
                error: Some(e.to_string()),
            },
        }
    }
}

/// `case list --json` output.
#[derive(Serialize)]
struct Listing<'a> {
    /// The directory listed.
    dir: String,
    /// Every case file, sorted by file name.
    cases: &'a [Listed],
    /// Valid files.
    valid: usize,
    /// Invalid files.
    invalid: usize,
}

fn list(dir: &Path, json: bool) -> Result<()> {
    let files = case_files(dir)?;
    let cases: Vec<Listed> = files
        .iter()
        .map(|(name, path)| Listed::of(name.clone(), load(path)))
        .collect();
    let invalid: Vec<&str> = cases
        .iter()
        .filter(|c| c.error.is_some())
        .map(|c| c.file.as_str())
        .collect();
    if json {
        print_json(&Listing {
            dir: dir.display().to_string(),
            valid: cases.len() - invalid.len(),
            invalid: invalid.len(),
            cases: &cases,
        })?;
    } else {
        crate::terminal::text(&list_table(&cases));
    }
    if !invalid.is_empty() {
        bail!(
            "{} of {} case files in {} are invalid: {}",
            invalid.len(),
            cases.len(),
            dir.display(),
            invalid.join(", ")
        );
    }
    Ok(())
}

/// The `*.toml` files of `dir` as (file name, path), sorted by file name.
fn case_files(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let entries = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read directory {}", dir.display()))?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry
            .with_context(|| format!("cannot read directory {}", dir.display()))?
            .path();
        if path.is_file() && path.extension().is_some_and(|e| e == "toml") {
            let name = path
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            files.push((name, path));
        }
    }
    files.sort();
    Ok(files)
}

fn list_table(cases: &[Listed]) -> String {
    let rows: Vec<[String; 6]> = cases
        .iter()
        .map(|c| match &c.error {
            Some(e) => [
                c.file.clone(),
                format!("INVALID: {}", e.replace('\n', "; ")),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
            ],
            None => [
                c.file.clone(),
                c.id.clone().unwrap_or_default(),
                c.prefecture.clone().unwrap_or_default(),
                c.crime.map(Crime::name).unwrap_or_default().to_string(),
                c.reported.map(|d| d.to_string()).unwrap_or_default(),
                c.seeds.map(|n| n.to_string()).unwrap_or_default(),
            ],
        })
        .collect();
    let header = ["FILE", "ID", "PREFECTURE", "CRIME", "REPORTED", "SEEDS"].map(String::from);
    let valid_rows = || {
        rows.iter()
            .zip(cases)
            .filter(|(_, c)| c.error.is_none())
            .map(|(r, _)| r)
    };
    let width = |col: usize| {
        valid_rows()
            .chain(std::iter::once(&header))
            .map(|r| r[col].chars().count())
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..6).map(width).collect();
    let file_width = rows
        .iter()
        .map(|r| r[0].chars().count())
        .max()
        .unwrap_or(0)
        .max(widths[0]);
    let mut out = String::new();
    for row in std::iter::once(&header).chain(rows.iter()) {
        let mut line = format!("{:<file_width$}", row[0]);
        for (cell, w) in row[1..].iter().zip(&widths[1..]) {
            line.push_str(&format!("  {cell:<w$}"));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    if cases.is_empty() {
        out.push_str("(no case files)\n");
    }
    out
}

// ---------------------------------------------------------------------------
// check

/// The outcome of checking one case file.
#[derive(Serialize)]
struct Checked {
    /// The file as given.
    file: String,
    /// Whether it is valid (and, with a ledger, every seed resolved).
    valid: bool,
    /// Case id, when the file parsed.
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    /// Number of seeds, when the file parsed.
    #[serde(skip_serializing_if = "Option::is_none")]
    seeds: Option<usize>,
    /// Every problem found.
    problems: Vec<String>,
    /// Seeds naming the same funds as another (the file stays valid).
    warnings: Vec<String>,
    /// The ledger outputs the seeds name (only with --db).
    #[serde(skip_serializing_if = "Option::is_none")]
    outputs: Option<Vec<OutputLine>>,
}

/// A resolved seed output as `check` shows it.
#[derive(Serialize)]
struct OutputLine {
    /// Seed number as messages count them (1-based).
    seed: usize,
    /// Chain.
    chain: Chain,
    /// Transaction id.
    txid: String,
    /// Output index (Ethereum: the transfer number).
    vout: u32,
    /// The transfer's number as `tracer tx` shows it (Ethereum).
    #[serde(skip_serializing_if = "Option::is_none")]
    transfer: Option<u32>,
    /// Receiving address.
    address: Option<String>,
    /// Value in the smallest unit.
    #[serde(serialize_with = "chain_adapters::ledger::amount_text")]
    value: chain_adapters::ledger::Amount,
    /// Value in coins, e.g. `10.00000000 BTC`.
    value_coins: String,
    /// Block height.
    height: u64,
    /// Block time, Unix seconds.
    time: u64,
    /// Block time, `YYYY-MM-DD HH:MM:SS UTC`.
    time_utc: String,
}

impl OutputLine {
    fn of(o: &SeedOutput) -> OutputLine {
        OutputLine {
            seed: o.seed + 1,
            chain: o.chain,
            txid: o.txid.clone(),
            vout: o.vout,
            transfer: (o.chain == Chain::Ethereum).then_some(o.vout),
            address: o.address.clone(),
            value: o.value,
            value_coins: o.unit.show(o.value),
            height: o.height,
            time: o.time,
            time_utc: utc(o.time),
        }
    }
}

/// `case check --json` output.
#[derive(Serialize)]
struct CheckReport<'a> {
    /// Ledger the seeds were resolved against (with --db).
    ledger: Option<String>,
    /// Every file checked, in the order given.
    files: &'a [Checked],
    /// Valid files.
    valid: usize,
    /// Invalid files.
    invalid: usize,
}

fn check(files: &[PathBuf], store: Option<&Store>, json: bool) -> Result<()> {
    let checked: Vec<Checked> = files
        .iter()
        .map(|f| check_file(f, store))
        .collect::<Result<_>>()?;
    let invalid: Vec<&Checked> = checked.iter().filter(|c| !c.valid).collect();
    let problems: Vec<&str> = invalid
        .iter()
        .flat_map(|c| c.problems.iter().map(String::as_str))
        .collect();
    let (n_invalid, n_files) = (invalid.len(), checked.len());
    if json {
        print_json(&CheckReport {
            ledger: store.map(|s| s.path().display().to_string()),
            valid: n_files - n_invalid,
            invalid: n_invalid,
            files: &checked,
        })?;
    } else {
        crate::terminal::text(&check_text(&checked));
    }
    if n_invalid > 0 {
        bail!(
            "{n_invalid} of {n_files} case file(s) invalid:\n{}",
            problems.join("\n")
        );
    }
    Ok(())
}

/// Checks one file; ledger errors other than unresolved seeds abort the command.
fn check_file(path: &Path, store: Option<&Store>) -> Result<Checked> {
    let file = path.display().to_string();
    let case = match load(path) {
        Ok(c) => c,
        Err(e) => {
            return Ok(Checked {
                file,
                valid: false,
                id: None,
                seeds: None,
                problems: e.problems(),
                warnings: Vec::new(),
                outputs: None,
            })
        }
    };
    let mut duplicates = duplicate_seeds(&case);
    let (outputs, problems) = match store {
        None => (None, Vec::new()),
        Some(store) => match resolve_all(&case, store) {
            Ok(mut outs) => {
                let shared = shared_outputs(&outs, &duplicates);
                duplicates.extend(shared);
                duplicates.sort();
                outs.dedup_by_key(|o| o.out);
                (Some(outs.iter().map(OutputLine::of).collect()), Vec::new())
            }
            Err(e) => match e.downcast::<Unresolved>() {
                Ok(Unresolved(lines)) => {
                    (None, lines.iter().map(|l| format!("{file}: {l}")).collect())
                }
                Err(e) => return Err(e.context(format!("{file}: resolving the seeds"))),
            },
        },
    };
    let warnings = duplicates.iter().map(|d| d.message(&file, &case)).collect();
    Ok(Checked {
        file,
        valid: problems.is_empty(),
        id: Some(case.id),
        seeds: Some(case.seeds.len()),
        problems,
        warnings,
        outputs,
    })
}

/// Text report: one status line per file and its resolved outputs. Problems
/// go to the error message (stderr), once.
fn check_text(checked: &[Checked]) -> String {
    let mut s = String::new();
    for c in checked {
        match (&c.id, c.valid) {
            (Some(id), true) => s.push_str(&format!(
                "ok       {}  case {id}, {} seed(s)\n",
                c.file,
                c.seeds.unwrap_or(0)
            )),
            _ => s.push_str(&format!(
                "INVALID  {}  {} problem(s)\n",
                c.file,
                c.problems.len()
            )),
        }
        for w in &c.warnings {
            s.push_str(&format!("  warning: {w}\n"));
        }
        for o in c.outputs.iter().flatten() {
            s.push_str(&format!(
                "  seed {}  {}:{}  {}  {}  height {}  {}\n",
                o.seed,
                o.txid,
                o.vout,
                o.address.as_deref().unwrap_or("(no address)"),
                o.value_coins,
                o.height,
                o.time_utc
            ));
        }
    }
    s
}
