//! Case files: one TOML file per case, naming who handles it and the seeds a
//! trace starts from (a victim's payment, or an address with a time window and
//! amount).
//!
//! ```toml
//! format = 1
//!
//! [case]
//! id = "TOKYO-2026-0001"
//! title = "Fake police call, victim paid in BTC"
//! prefecture = "Tokyo"                # or "東京都"
//! crime = "communications_fraud"
//! reported = 2026-03-02
//! incident_from = 2026-02-27
//! incident_until = 2026-03-01
//! investigator = "Sgt. Sato, Cyber Crime Division"
//! notes = "…"
//!
//! [[seed]]
//! chain = "bitcoin"
//! payment = "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16:0"
//! note = "victim's first payment"
//!
//! [[seed]]
//! chain = "bitcoin"
//! address = "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S"
//! from = 2009-01-12                   # a date, or a date-time with offset
//! until = 2009-01-13                  # a date means the whole day
//! amount = "40"                       # coin units, exact decimal string
//! ```
//!
//! [`load`] reads, parses and validates a file; every problem is reported
//! with the file, line and column, the field, the bad value and what is
//! expected. [`ledger::resolve`] turns the seeds into ledger outputs.

pub mod cli;
pub mod duplicates;
pub mod ledger;

use std::fmt;
use std::ops::Range;
use std::path::Path;

use chain_adapters::ledger::{Amount, Chain, Hash32};
use chrono::{NaiveDate, NaiveTime};
use serde::{Deserialize, Serialize};
use toml::value::{Datetime, Offset};
use toml::{Spanned, Value};

use reports::terms::{PREFECTURES, PREFECTURES_JA};

/// The case file format version this build reads and writes.
pub const CASE_FORMAT: u32 = 1;

/// A validated case file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Case {
    /// Case number, e.g. `TOKYO-2026-0001` (letters, digits, `.`, `_`, `-`).
    pub id: String,
    /// One-line description.
    pub title: Option<String>,
    /// Prefecture handling the case (English name, one of [`PREFECTURES`]).
    pub prefecture: String,
    /// Kind of crime.
    pub crime: Crime,
    /// Date the case was reported.
    pub reported: NaiveDate,
    /// First day of the incident.
    pub incident_from: Option<NaiveDate>,
    /// Last day of the incident.
    pub incident_until: Option<NaiveDate>,
    /// Investigator in charge (name and unit).
    pub investigator: String,
    /// Free-form notes.
    pub notes: Option<String>,
    /// Where tracing starts (at least one).
    pub seeds: Vec<Seed>,
}

pub use trace_file::Crime;

impl Case {
    /// The case as a trace file carries it.
    pub fn to_file(&self) -> trace_file::Case {
        trace_file::Case {
            id: self.id.clone(),
            title: self.title.clone(),
            prefecture: self.prefecture.clone(),
            crime: self.crime,
            reported: self.reported.to_string(),
            incident_from: self.incident_from.map(|d| d.to_string()),
            incident_until: self.incident_until.map(|d| d.to_string()),
            investigator: Some(self.investigator.clone()),
            notes: self.notes.clone(),
            seeds: self.seeds.iter().map(Seed::to_file).collect(),
        }
    }
}

/// Where a trace starts.
#[derive(Debug, Clone, Serialize)]
pub struct Seed {
    /// Chain of the payment or address.
    pub chain: Chain,
    /// The payment or address.
    pub target: SeedTarget,
    /// Free-form note.
    pub note: Option<String>,
    /// Line of the seed's `[[seed]]` header in its file (`None` when built in code).
    #[serde(skip)]
    pub line: Option<usize>,
}

/// Seeds are equal when they name the same thing, wherever they were written.
impl PartialEq for Seed {
    fn eq(&self, other: &Seed) -> bool {
        (self.chain, &self.target, &self.note) == (other.chain, &other.target, &other.note)
    }
}

impl Seed {
    /// The seed as a trace file carries it.
    pub fn to_file(&self) -> trace_file::CaseSeed {
        let mut seed = trace_file::CaseSeed {
            chain: heuristics::trace::file_chain(self.chain),
            payment: None,
            address: None,
            from: None,
            until: None,
            amount: None,
            note: self.note.clone(),
        };
        match &self.target {
            SeedTarget::Payment { txid, vout } => seed.payment = Some(format!("{txid}:{vout}")),
            SeedTarget::Address {
                address,
                from,
                until,
                amount,
            } => {
                seed.address = Some(address.clone());
                seed.from = *from;
                seed.until = *until;
                seed.amount = amount.map(trace_file::Amount::new);
            }
        }
        seed
    }

    /// How messages name seed `index` (0-based): `seed 2 (line 15)`.
    pub fn label(&self, index: usize) -> String {
        match self.line {
            Some(line) => format!("seed {} (line {line})", index + 1),
            None => format!("seed {}", index + 1),
        }
    }
}

/// What a seed names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SeedTarget {
    /// One output: the victim's payment.
    Payment {
        /// Transaction id as displayed (lowercase hex; `0x…` on Ethereum).
        txid: String,
        /// Output index (Ethereum: the transfer's number as `tracer tx`
        /// shows it, see [`index_name`]).
        vout: u32,
    },
    /// Every output paying an address, optionally within a time window and of an exact amount.
    Address {
        /// The address (Ethereum: lowercase `0x…`).
        address: String,
        /// Start of the window, Unix seconds UTC, inclusive.
        from: Option<i64>,
        /// End of the window, Unix seconds UTC, inclusive.
        until: Option<i64>,
        /// Exact value in the chain's smallest unit (satoshi, wei).
        amount: Option<u128>,
    },
}

/// One problem found in a case file, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// File path (or other origin) of the text.
    pub origin: String,
    /// 1-based line, if known.
    pub line: Option<usize>,
    /// 1-based column (in characters), if known.
    pub col: Option<usize>,
    /// Field the problem is in (`case.prefecture`, `seed 2.payment`), or empty.
    pub field: String,
    /// What is wrong and what is expected.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.origin)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(col) = self.col {
                write!(f, ":{col}")?;
            }
        }
        if !self.field.is_empty() {
            write!(f, ": {}", self.field)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Why a case file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    /// The file could not be read.
    #[error("{path}: cannot read the case file: {error}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        error: std::io::Error,
    },
    /// The file is not a valid case file; every problem found, in file order.
    #[error("{}", join_lines(.0))]
    Invalid(Vec<Problem>),
}

impl CaseError {
    /// Each problem as one line of text.
    pub fn problems(&self) -> Vec<String> {
        match self {
            CaseError::Invalid(ps) => ps.iter().map(Problem::to_string).collect(),
            other => vec![other.to_string()],
        }
    }
}

fn join_lines(problems: &[Problem]) -> String {
    let lines: Vec<String> = problems.iter().map(Problem::to_string).collect();
    lines.join("\n")
}

/// Reads, parses and validates the case file at `path`.
pub fn load(path: &Path) -> Result<Case, CaseError> {
    let origin = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|error| CaseError::Read {
        path: origin.clone(),
        error,
    })?;
    match std::str::from_utf8(&bytes) {
        Ok(text) => parse(text, &origin),
        Err(e) => {
            let valid = std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default();
            let (line, col) = line_col(valid, valid.len());
            Err(CaseError::Invalid(vec![Problem {
                origin,
                line: Some(line),
                col: Some(col),
                field: String::new(),
                message: format!(
                    "not UTF-8 text (bad byte at offset {}); save the case file as UTF-8",
                    e.valid_up_to()
                ),
            }]))
        }
    }
}

/// Parses and validates case-file `text`; `origin` (usually the path) prefixes every problem.
pub fn parse(text: &str, origin: &str) -> Result<Case, CaseError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut c = Checker {
        lines: LineIndex::new(text),
        origin,
        problems: Vec::new(),
    };
    if text.trim().is_empty() {
        c.report(
            None,
            "",
            "the file is empty; create a case file with `tracer case new`",
        );
        return Err(CaseError::Invalid(c.problems));
    }
    let raw: RawFile = match toml::from_str(text) {
        Ok(raw) => raw,
        Err(e) => {
            c.report(e.span(), "", toml_message(e.message()));
            return Err(CaseError::Invalid(c.problems));
        }
    };
    match c.file(&raw) {
        Some(case) if c.problems.is_empty() => Ok(case),
        _ => {
            if c.problems.is_empty() {
                c.report(None, "", "incomplete case file");
            }
            Err(CaseError::Invalid(c.problems))
        }
    }
}

/// A TOML error message, with a hint where a common slip causes it.
fn toml_message(message: &str) -> String {
    let message = message.trim();
    if message.starts_with("invalid type: map, expected a sequence") {
        // Only `seed` is a sequence: a `[seed]` written for `[[seed]]`.
        format!("{message}; write each seed as a [[seed]] table (double brackets)")
    } else {
        message.to_string()
    }
}

/// The case as a case file (the format [`parse`] reads; `parse(&to_toml(c))` equals `c`).
pub fn to_toml(case: &Case) -> String {
    let mut w = TomlWriter::default();
    w.line(&format!("format = {CASE_FORMAT}"));
    w.line("");
    w.line("[case]");
    w.string("id", Some(&case.id));
    w.string("title", case.title.as_deref());
    w.string("prefecture", Some(&case.prefecture));
    w.string("crime", Some(case.crime.name()));
    w.raw("reported", Some(case.reported.to_string()));
    w.raw("incident_from", case.incident_from.map(|d| d.to_string()));
    w.raw("incident_until", case.incident_until.map(|d| d.to_string()));
    w.string("investigator", Some(&case.investigator));
    w.string("notes", case.notes.as_deref());
    for seed in &case.seeds {
        w.line("");
        w.line("[[seed]]");
        w.string("chain", Some(seed.chain.name()));
        match &seed.target {
            SeedTarget::Payment { txid, vout } => {
                w.string("payment", Some(&format!("{txid}:{vout}")));
            }
            SeedTarget::Address {
                address,
                from,
                until,
                amount,
            } => {
                w.string("address", Some(address));
                w.raw("from", from.map(|t| instant_toml(t, false)));
                w.raw("until", until.map(|t| instant_toml(t, true)));
                let amount = amount.map(|a| format_amount(a, decimals(seed.chain)));
                w.string("amount", amount.as_deref());
            }
        }
        w.string("note", seed.note.as_deref());
    }
    w.out
}

/// Builds TOML text line by line.
#[derive(Default)]
struct TomlWriter {
    out: String,
}

impl TomlWriter {
    fn line(&mut self, s: &str) {
        self.out.push_str(s);
        self.out.push('\n');
    }

    /// `key = value` with `value` already in TOML syntax; nothing for `None`.
    fn raw(&mut self, key: &str, value: Option<String>) {
        if let Some(v) = value {
            self.line(&format!("{key} = {v}"));
        }
    }

    /// `key = "value"`, quoted and escaped; nothing for `None`.
    fn string(&mut self, key: &str, value: Option<&str>) {
        self.raw(key, value.map(|v| Value::String(v.to_string()).to_string()));
    }
}

/// A window bound as TOML: a plain date when it is a whole day's start
/// (`from`) or end (`until`), else a UTC date-time.
fn instant_toml(secs: i64, end: bool) -> String {
    let day_aligned = (secs + i64::from(end)).rem_euclid(86_400) == 0;
    match chrono::DateTime::from_timestamp(secs, 0) {
        Some(t) if day_aligned => t.date_naive().to_string(),
        Some(t) => t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        None => secs.to_string(),
    }
}

/// The English name of a prefecture given in English or Japanese
/// (`Tokyo`, `東京都`, `大阪府`, `北海道`, `沖縄県`).
pub fn prefecture(name: &str) -> Result<&'static str, String> {
    if let Some(en) = PREFECTURES.iter().find(|p| **p == name) {
        return Ok(en);
    }
    if let Some(i) = PREFECTURES_JA.iter().position(|p| *p == name) {
        return Ok(PREFECTURES[i]);
    }
    let name_trimmed = name.trim();
    let hint = PREFECTURES
        .iter()
        .find(|p| p.eq_ignore_ascii_case(name_trimmed))
        .or_else(|| {
            PREFECTURES_JA
                .iter()
                .find(|ja| ja.strip_suffix(['都', '府', '県']) == Some(name_trimmed))
        })
        .map(|p| format!("; did you mean {p:?}?"))
        .unwrap_or_default();
    Err(format!(
        "unknown prefecture {name:?}; expected one of the 47 prefectures (e.g. \"Tokyo\", \"東京都\"){hint}"
    ))
}

/// The Japanese name of a prefecture's English name (`Tokyo` → `東京都`).
pub fn prefecture_ja(english: &str) -> Option<&'static str> {
    let i = PREFECTURES.iter().position(|p| *p == english)?;
    PREFECTURES_JA.get(i).copied()
}

/// Parses a chain name as case files write it (`bitcoin`, `ethereum`).
pub fn parse_chain(s: &str) -> Result<Chain, String> {
    [Chain::Bitcoin, Chain::Ethereum]
        .into_iter()
        .find(|c| c.name() == s)
        .ok_or_else(|| format!("unknown chain {s:?}; expected \"bitcoin\" or \"ethereum\""))
}

/// Decimals of the chain's coin (BTC 8, ETH 18).
pub fn decimals(chain: Chain) -> u32 {
    u32::from(chain.decimals())
}

/// Parses a paid amount in coin units (`"0.1"`) exactly into the smallest
/// unit; zero is refused (a seed's amount is what was paid).
pub fn parse_amount(s: &str, decimals: u32) -> Result<Amount, String> {
    match parse_decimal(s, decimals)? {
        0 => Err(format!("{s:?} is zero; give the amount that was paid")),
        amount => Ok(amount),
    }
}

/// Parses a decimal number of coins (`"0.1"`, `"40"`, `"0"`) exactly into
/// the smallest unit of `decimals` places.
pub fn parse_decimal(s: &str, decimals: u32) -> Result<Amount, String> {
    let t = s.trim();
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    let digits = |d: &str| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || (t.contains('.') && !digits(frac)) {
        return Err(format!(
            "{s:?} is not an amount; expected a decimal number of coins like \"0.1\" or \"40\""
        ));
    }
    if frac.len() > decimals as usize {
        return Err(format!(
            "{s:?} has {} decimals; at most {decimals} are possible",
            frac.len()
        ));
    }
    let too_large = || format!("{s:?} is too large");
    let unit = 10u128.checked_pow(decimals).ok_or_else(too_large)?;
    let whole: u128 = whole.parse().map_err(|_| too_large())?;
    let frac_units: u128 = if frac.is_empty() {
        0
    } else {
        let scale = 10u128.pow(decimals - frac.len() as u32);
        frac.parse::<u128>().map_err(|_| too_large())? * scale
    };
    let amount = whole
        .checked_mul(unit)
        .and_then(|w| w.checked_add(frac_units))
        .ok_or_else(too_large)?;
    Ok(amount)
}

/// Formats an amount in the smallest unit as coins, without trailing zeros (`10`, `0.1`).
pub fn format_amount(amount: Amount, decimals: u32) -> String {
    let unit = 10u128.pow(decimals);
    let frac = format!("{:0width$}", amount % unit, width = decimals as usize);
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() {
        (amount / unit).to_string()
    } else {
        format!("{}.{frac}", amount / unit)
    }
}

/// What the number after a payment's colon names: a Bitcoin output
/// (`vout`), or one of an Ethereum transaction's transfers (the top-level
/// call, internal calls, token transfers) as `tracer tx` numbers them.
pub fn index_name(chain: Chain) -> &'static str {
    match chain {
        Chain::Bitcoin => "output index",
        Chain::Ethereum => "transfer number",
    }
}

/// Parses a payment `txid:vout` (Ethereum: `0x<tx hash>:<transfer number>`).
pub fn parse_payment(chain: Chain, s: &str) -> Result<SeedTarget, String> {
    let expected = match chain {
        Chain::Bitcoin => "expected TXID:VOUT (64 hex digits, a colon, the output index)",
        Chain::Ethereum => {
            "expected 0xHASH:N (0x and 64 hex digits, a colon, the number of the transfer as `tracer tx 0xHASH` shows it: #0 is the top-level call)"
        }
    };
    let (tx, index) = s
        .trim()
        .rsplit_once(':')
        .ok_or_else(|| format!("{s:?} has no {}; {expected}", index_name(chain)))?;
    tx_hash(chain, tx).map_err(|e| format!("{e}; {expected}"))?;
    let vout = parse_index(index).ok_or_else(|| {
        format!(
            "{} {index:?} is not a whole number from 0 to {}",
            index_name(chain),
            u32::MAX
        )
    })?;
    Ok(SeedTarget::Payment {
        txid: tx.to_ascii_lowercase(),
        vout,
    })
}

fn parse_index(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// The ledger's hash of a transaction id as displayed (Bitcoin: reversed hex;
/// Ethereum: `0x` and hex in byte order).
pub fn tx_hash(chain: Chain, txid: &str) -> Result<Hash32, String> {
    match chain {
        Chain::Bitcoin => {
            if txid != txid.trim() {
                return Err(format!("{txid:?} is not a txid (64 hex digits)"));
            }
            chain_adapters::query::parse_txid(txid).map_err(|e| e.to_string())
        }
        Chain::Ethereum => txid
            .strip_prefix("0x")
            .and_then(|h| hex::decode(h).ok())
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| format!("{txid:?} is not a transaction hash (0x and 64 hex digits)")),
    }
}

/// Checks an address's syntax for `chain` (the network is checked against
/// the ledger later); returns it as stored in the case.
pub fn parse_address(chain: Chain, s: &str) -> Result<String, String> {
    match chain {
        Chain::Bitcoin => s
            .parse::<bitcoin::Address<bitcoin::address::NetworkUnchecked>>()
            .map(|_| s.to_string())
            .map_err(|e| format!("{s:?} is not a bitcoin address ({e})")),
        Chain::Ethereum => ethereum_address(s),
    }
}

fn ethereum_address(s: &str) -> Result<String, String> {
    chain_adapters::ethereum::parse_address(s).map(|a| format!("0x{}", hex::encode(a)))
}

/// Parses a TOML date (`2026-03-02`) given as text.
pub fn parse_date(s: &str) -> Result<NaiveDate, String> {
    to_date(&Value::String(s.to_string()))
}

// ---------------------------------------------------------------------------
// Parsing: the file as TOML gives it, then checked field by field.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    format: Option<Spanned<i64>>,
    case: Option<Spanned<RawCase>>,
    #[serde(default)]
    seed: Vec<Spanned<RawSeed>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [case] table")]
struct RawCase {
    id: Option<Spanned<String>>,
    title: Option<Spanned<String>>,
    prefecture: Option<Spanned<String>>,
    crime: Option<Spanned<String>>,
    reported: Option<Spanned<Value>>,
    incident_from: Option<Spanned<Value>>,
    incident_until: Option<Spanned<Value>>,
    investigator: Option<Spanned<String>>,
    notes: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [[seed]] table")]
struct RawSeed {
    chain: Option<Spanned<String>>,
    payment: Option<Spanned<String>>,
    address: Option<Spanned<String>>,
    from: Option<Spanned<Value>>,
    until: Option<Spanned<Value>>,
    amount: Option<Spanned<Value>>,
    note: Option<Spanned<String>>,
}

/// Collects located problems while checking a parsed file.
struct Checker<'a> {
    lines: LineIndex<'a>,
    origin: &'a str,
    problems: Vec<Problem>,
}

impl Checker<'_> {
    fn report(&mut self, span: Option<Range<usize>>, field: &str, message: impl Into<String>) {
        let (line, col) = match span {
            Some(s) => {
                let (l, c) = self.lines.line_col(s.start);
                (Some(l), Some(c))
            }
            None => (None, None),
        };
        self.problems.push(Problem {
            origin: self.origin.to_string(),
            line,
            col,
            field: field.to_string(),
            message: message.into(),
        });
    }

    /// Checks a present value with `f`, reporting its error at the value.
    fn value<V, T>(
        &mut self,
        field: &str,
        v: &Spanned<V>,
        f: impl FnOnce(&V) -> Result<T, String>,
    ) -> Option<T> {
        match f(v.get_ref()) {
            Ok(t) => Some(t),
            Err(m) => {
                self.report(Some(v.span()), field, m);
                None
            }
        }
    }

    /// Checks an optional value; `Some(None)` when absent.
    fn optional<V, T>(
        &mut self,
        field: &str,
        v: &Option<Spanned<V>>,
        f: impl FnOnce(&V) -> Result<T, String>,
    ) -> Option<Option<T>> {
        match v {
            Some(v) => self.value(field, v, f).map(Some),
            None => Some(None),
        }
    }

    /// Checks a required value; reports `missing` at `table` when absent.
    fn required<V, T>(
        &mut self,
        field: &str,
        v: &Option<Spanned<V>>,
        table: &Range<usize>,
        missing: &str,
        f: impl FnOnce(&V) -> Result<T, String>,
    ) -> Option<T> {
        match v {
            Some(v) => self.value(field, v, f),
            None => {
                self.report(Some(table.clone()), field, format!("missing; {missing}"));
                None
            }
        }
    }

    fn file(&mut self, raw: &RawFile) -> Option<Case> {
        let format_ok = match &raw.format {
            Some(f) => self.value("format", f, |v| {
                if *v == i64::from(CASE_FORMAT) {
                    Ok(())
                } else {
                    Err(format!(
                        "format {v} is not supported; this tracer reads format {CASE_FORMAT}"
                    ))
                }
            }),
            None => {
                self.report(
                    None,
                    "format",
                    format!("missing; begin the file with `format = {CASE_FORMAT}`"),
                );
                None
            }
        };
        let case = match &raw.case {
            Some(case) => self.case(case),
            None => {
                self.report(None, "[case]", "missing; the file needs a [case] table");
                None
            }
        };
        if raw.seed.is_empty() {
            self.report(
                None,
                "[[seed]]",
                "none given; a case needs at least one seed (a [[seed]] table with a payment or an address)",
            );
        }
        let seeds: Vec<Option<Seed>> = raw
            .seed
            .iter()
            .enumerate()
            .map(|(i, s)| self.seed(i, s))
            .collect();
        self.problems.sort_by_key(|p| (p.line, p.col));
        let seeds = seeds.into_iter().collect::<Option<Vec<Seed>>>()?;
        format_ok?;
        Some(Case { seeds, ..case? })
    }

    /// The `[case]` table (without seeds).
    fn case(&mut self, raw: &Spanned<RawCase>) -> Option<Case> {
        let table = raw.span();
        let c = raw.get_ref();
        let id = self.required(
            "case.id",
            &c.id,
            &table,
            "give the case number, e.g. id = \"TOKYO-2026-0001\"",
            |s| case_id(s),
        );
        let title = self.optional("case.title", &c.title, |s| Ok(s.clone()));
        let prefecture = self.required(
            "case.prefecture",
            &c.prefecture,
            &table,
            "give the prefecture handling the case, e.g. prefecture = \"Tokyo\"",
            |s| prefecture(s),
        );
        let crime = self.required(
            "case.crime",
            &c.crime,
            &table,
            "give the kind of crime, e.g. crime = \"communications_fraud\"",
            |s| s.parse::<Crime>(),
        );
        let reported = self.required(
            "case.reported",
            &c.reported,
            &table,
            "give the date the case was reported, e.g. reported = 2026-03-02",
            to_date,
        );
        let incident_from = self.optional("case.incident_from", &c.incident_from, to_date);
        let incident_until = self.optional("case.incident_until", &c.incident_until, to_date);
        let investigator = self.required(
            "case.investigator",
            &c.investigator,
            &table,
            "give the investigator in charge, e.g. investigator = \"Sgt. Sato, Cyber Crime Division\"",
            |s| non_empty(s, "the investigator's name and unit"),
        );
        let notes = self.optional("case.notes", &c.notes, |s| Ok(s.clone()));
        let (reported, incident_from, incident_until) =
            (reported?, incident_from?, incident_until?);
        let mut dates_ok = true;
        if let (Some(from), Some(until), Some(raw_until)) =
            (incident_from, incident_until, &c.incident_until)
        {
            if until < from {
                self.report(
                    Some(raw_until.span()),
                    "case.incident_until",
                    format!("{until} is before incident_from {from}; the incident must end on or after it starts"),
                );
                dates_ok = false;
            }
        }
        if let (Some(from), Some(raw_from)) = (incident_from, &c.incident_from) {
            if from > reported {
                self.report(
                    Some(raw_from.span()),
                    "case.incident_from",
                    format!("{from} is after the report date {reported}; an incident starts before it is reported"),
                );
                dates_ok = false;
            }
        }
        if !dates_ok {
            return None;
        }
        Some(Case {
            id: id?,
            title: title?,
            prefecture: prefecture?.to_string(),
            crime: crime?,
            reported,
            incident_from,
            incident_until,
            investigator: investigator?,
            notes: notes?,
            seeds: Vec::new(),
        })
    }

    fn seed(&mut self, index: usize, raw: &Spanned<RawSeed>) -> Option<Seed> {
        let n = index + 1;
        let table = raw.span();
        let s = raw.get_ref();
        let field = |key: &str| format!("seed {n}.{key}");
        let chain = self.required(
            &field("chain"),
            &s.chain,
            &table,
            "give the chain, chain = \"bitcoin\" or chain = \"ethereum\"",
            |c| parse_chain(c),
        );
        let note = self.optional(&field("note"), &s.note, |s| Ok(s.clone()));
        let target = match (&s.payment, &s.address) {
            (Some(_), Some(_)) => {
                self.report(
                    Some(table),
                    &format!("seed {n}"),
                    "has both \"payment\" and \"address\"; give one",
                );
                None
            }
            (None, None) => {
                self.report(
                    Some(table),
                    &format!("seed {n}"),
                    "has neither \"payment\" nor \"address\"; give one (payment = \"TXID:VOUT\" or address = \"…\")",
                );
                None
            }
            (Some(payment), None) => {
                self.payment_only(n, s);
                let chain = chain?;
                self.value(&field("payment"), payment, |p| parse_payment(chain, p))
            }
            (None, Some(address)) => {
                let chain = chain?;
                self.address_seed(n, chain, address, s)
            }
        };
        Some(Seed {
            chain: chain?,
            target: target?,
            note: note?,
            line: Some(self.lines.line_col(raw.span().start).0),
        })
    }

    /// Reports the address-only keys on a payment seed.
    fn payment_only(&mut self, n: usize, s: &RawSeed) {
        for (key, span) in [
            ("from", s.from.as_ref().map(Spanned::span)),
            ("until", s.until.as_ref().map(Spanned::span)),
            ("amount", s.amount.as_ref().map(Spanned::span)),
        ] {
            if let Some(span) = span {
                self.report(
                    Some(span),
                    &format!("seed {n}.{key}"),
                    "only an address seed takes from/until/amount; a payment names one output already",
                );
            }
        }
    }

    fn address_seed(
        &mut self,
        n: usize,
        chain: Chain,
        address: &Spanned<String>,
        s: &RawSeed,
    ) -> Option<SeedTarget> {
        let field = |key: &str| format!("seed {n}.{key}");
        let addr = self.value(&field("address"), address, |a| parse_address(chain, a));
        let from = self.optional(&field("from"), &s.from, |v| to_instant(v, false));
        let until = self.optional(&field("until"), &s.until, |v| to_instant(v, true));
        let amount = self.optional(&field("amount"), &s.amount, |v| amount_value(v, chain));
        let (from, until) = (from?, until?);
        if let (Some(f), Some(u), Some(raw_until)) = (from, until, &s.until) {
            if u < f {
                self.report(
                    Some(raw_until.span()),
                    &field("until"),
                    "is before \"from\"; the window must end on or after it starts",
                );
                return None;
            }
        }
        Some(SeedTarget::Address {
            address: addr?,
            from,
            until,
            amount: amount?,
        })
    }
}

fn case_id(s: &str) -> Result<String, String> {
    let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if s.is_empty() {
        return Err("is empty; give the case number, e.g. \"TOKYO-2026-0001\"".into());
    }
    match s.chars().find(|c| !ok(*c)) {
        Some(bad) => Err(format!(
            "{s:?} contains {bad:?}; a case id may only contain letters A-Z a-z, digits, '.', '_' and '-'"
        )),
        None => Ok(s.to_string()),
    }
}

fn non_empty(s: &str, what: &str) -> Result<String, String> {
    if s.trim().is_empty() {
        Err(format!("is empty; give {what}"))
    } else {
        Ok(s.to_string())
    }
}

/// An amount given as a decimal string (or a whole number) of coins.
fn amount_value(v: &Value, chain: Chain) -> Result<u128, String> {
    match v {
        Value::String(s) => parse_amount(s, decimals(chain)),
        Value::Integer(i) if *i >= 0 => parse_amount(&i.to_string(), decimals(chain)),
        Value::Float(f) => Err(format!(
            "{f} is a floating-point number; write the amount as a string, e.g. amount = \"{f}\", so it is read exactly"
        )),
        other => Err(format!(
            "expected the amount in {} as a string, e.g. amount = \"0.1\"; found {}",
            chain.coin(),
            describe(other)
        )),
    }
}

/// A value for messages: strings quoted, scalars with their type, tables and arrays by type.
fn describe(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        Value::Array(_) | Value::Table(_) => format!("an {}", v.type_str()),
        other => format!("{} {other}", other.type_str()),
    }
}

fn datetime_of(v: &Value) -> Result<Datetime, String> {
    match v {
        Value::Datetime(d) => Ok(*d),
        Value::String(s) => s
            .trim()
            .parse::<Datetime>()
            .map_err(|_| format!("{s:?} is not a date; expected a date like 2026-03-02")),
        other => Err(format!(
            "expected a date like 2026-03-02; found {}",
            describe(other)
        )),
    }
}

fn naive_date(d: &Datetime) -> Result<NaiveDate, String> {
    d.date
        .and_then(|x| NaiveDate::from_ymd_opt(x.year.into(), x.month.into(), x.day.into()))
        .ok_or_else(|| format!("{d} has no valid date; expected a date like 2026-03-02"))
}

/// A plain date (`2026-03-02`).
fn to_date(v: &Value) -> Result<NaiveDate, String> {
    let d = datetime_of(v)?;
    if d.time.is_some() {
        return Err(format!(
            "{d} is not a plain date; expected a date like 2026-03-02"
        ));
    }
    naive_date(&d)
}

/// A window bound in Unix seconds UTC: a date is the day's first second, or
/// its last with `end`; a date-time needs an offset (`Z`, `+09:00`).
fn to_instant(v: &Value, end: bool) -> Result<i64, String> {
    let d = datetime_of(v)?;
    let day = naive_date(&d)?;
    let Some(t) = d.time else {
        let start = day.and_time(NaiveTime::MIN).and_utc().timestamp();
        return Ok(if end { start + 86_399 } else { start });
    };
    let offset_minutes = match d.offset {
        Some(Offset::Z) => 0,
        Some(Offset::Custom { minutes }) => i64::from(minutes),
        None => {
            return Err(format!(
                "{d} has no time zone; add Z for UTC or +09:00 for Japan time (e.g. 2026-03-01T14:30:00+09:00)"
            ))
        }
    };
    let time = NaiveTime::from_hms_opt(t.hour.into(), t.minute.into(), t.second.into())
        .ok_or_else(|| format!("{d} is not a valid time of day"))?;
    let secs = day.and_time(time).and_utc().timestamp() - offset_minutes * 60;
    // A start with a fraction of a second begins at the next whole second.
    Ok(secs + i64::from(!end && t.nanosecond > 0))
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    LineIndex::new(text).line_col(offset)
}

/// Finds the line and column of byte offsets in one text in logarithmic
/// time, however many offsets are asked and in whatever order (a case file
/// of 200,000 seeds asks for one per seed).
struct LineIndex<'a> {
    text: &'a str,
    /// Byte offset where each line starts.
    line_starts: Vec<usize>,
    /// Characters before each [`Self::BLOCK`]-byte block.
    chars_before_block: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    const BLOCK: usize = 4096;

    fn new(text: &'a str) -> Self {
        let bytes = text.as_bytes();
        let line_starts = std::iter::once(0)
            .chain(newlines(bytes).map(|i| i + 1))
            .collect();
        let mut chars_before_block = Vec::with_capacity(bytes.len() / Self::BLOCK + 1);
        let mut chars = 0;
        for block in bytes.chunks(Self::BLOCK) {
            chars_before_block.push(chars);
            chars += char_starts(block);
        }
        chars_before_block.push(chars);
        LineIndex {
            text,
            line_starts,
            chars_before_block,
        }
    }

    /// 1-based line and column (in characters) of byte `offset`.
    fn line_col(&self, offset: usize) -> (usize, usize) {
        let mut end = offset.min(self.text.len());
        while !self.text.is_char_boundary(end) {
            end -= 1;
        }
        let line = self.line_starts.partition_point(|&s| s <= end);
        let start = self.line_starts[line - 1];
        (line, self.chars_before(end) - self.chars_before(start) + 1)
    }

    /// Characters in `text[..offset]` (`offset` on a character boundary).
    fn chars_before(&self, offset: usize) -> usize {
        let block = offset / Self::BLOCK;
        self.chars_before_block[block]
            + char_starts(&self.text.as_bytes()[block * Self::BLOCK..offset])
    }
}

/// Positions of the newlines in `bytes`.
fn newlines(bytes: &[u8]) -> impl Iterator<Item = usize> + '_ {
    bytes
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .map(|(i, _)| i)
}

/// Characters starting in `bytes` (UTF-8: every byte but continuation bytes).
fn char_starts(bytes: &[u8]) -> usize {
    bytes.iter().filter(|b| (**b & 0xc0) != 0x80).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TX_170: &str = "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16";

    /// A valid case file; tests replace `@CASE@` and `@SEEDS@` lines.
    fn file(case_extra: &str, seeds: &str) -> String {
        format!(
            "format = 1\n\n[case]\nid = \"TOKYO-2026-0001\"\nprefecture = \"Tokyo\"\ncrime = \"communications_fraud\"\nreported = 2026-03-02\ninvestigator = \"Sgt. Sato\"\n{case_extra}\n{seeds}"
        )
    }

    fn payment_seed() -> String {
        format!("[[seed]]\nchain = \"bitcoin\"\npayment = \"{TX_170}:0\"\n")
    }

    /// The single problem `text` has, as text.
    fn problem(text: &str) -> String {
        match parse(text, "cases/bad.toml") {
            Ok(c) => panic!("parsed: {c:?}"),
            Err(e) => {
                let ps = e.problems();
                assert_eq!(ps.len(), 1, "{ps:#?}");
                ps[0].clone()
            }
        }
    }

    fn full() -> String {
        let seeds = format!(
            "{}note = \"victim's first payment\"\n\n[[seed]]\nchain = \"bitcoin\"\naddress = \"12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S\"\nfrom = 2009-01-12\nuntil = 2009-01-13\namount = \"40\"\n",
            payment_seed()
        );
        file(
            "title = \"Fake police call\"\nincident_from = 2026-02-27\nincident_until = 2026-03-01\nnotes = \"line one\\nline \\\"two\\\"\"",
            &seeds,
        )
    }

    #[test]
    fn parses_a_full_case() {
        let c = parse(&full(), "t.toml").unwrap();
        assert_eq!(c.id, "TOKYO-2026-0001");
        assert_eq!(c.prefecture, "Tokyo");
        assert_eq!(c.crime, Crime::CommunicationsFraud);
        assert_eq!(c.reported, NaiveDate::from_ymd_opt(2026, 3, 2).unwrap());
        assert_eq!(c.incident_until, NaiveDate::from_ymd_opt(2026, 3, 1));
        assert_eq!(c.notes.as_deref(), Some("line one\nline \"two\""));
        assert_eq!(c.seeds.len(), 2);
        assert_eq!(
            c.seeds[0].target,
            SeedTarget::Payment {
                txid: TX_170.into(),
                vout: 0
            }
        );
        assert_eq!(c.seeds[0].line, Some(13));
        assert_eq!(
            c.seeds[1].target,
            SeedTarget::Address {
                address: "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S".into(),
                from: Some(1_231_718_400),
                until: Some(1_231_891_199),
                amount: Some(4_000_000_000),
            }
        );
        assert_eq!(c.seeds[1].label(1), "seed 2 (line 18)");
    }

    #[test]
    fn round_trips_through_to_toml() {
        let c = parse(&full(), "t.toml").unwrap();
        let text = to_toml(&c);
        assert_eq!(parse(&text, "again.toml").unwrap(), c, "{text}");
        // Times that are not whole days, and ethereum seeds, survive too.
        let mut c2 = c.clone();
        c2.seeds.push(Seed {
            chain: Chain::Ethereum,
            target: SeedTarget::Address {
                address: "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed".into(),
                from: Some(1_700_000_001),
                until: Some(1_700_000_000 + 86_400),
                amount: Some(1_500_000_000_000_000_001),
            },
            note: Some("ユーザー".into()),
            line: None,
        });
        c2.seeds.push(Seed {
            chain: Chain::Ethereum,
            target: SeedTarget::Payment {
                txid: format!("0x{TX_170}"),
                vout: 7,
            },
            note: None,
            line: None,
        });
        let text = to_toml(&c2);
        assert_eq!(parse(&text, "again.toml").unwrap(), c2, "{text}");
    }

    #[test]
    fn accepts_japanese_prefecture_names() {
        for (ja, en) in [
            ("東京都", "Tokyo"),
            ("大阪府", "Osaka"),
            ("北海道", "Hokkaido"),
            ("京都府", "Kyoto"),
            ("沖縄県", "Okinawa"),
            ("神奈川県", "Kanagawa"),
        ] {
            let text = full().replace("prefecture = \"Tokyo\"", &format!("prefecture = \"{ja}\""));
            assert_eq!(parse(&text, "t.toml").unwrap().prefecture, en);
            assert_eq!(prefecture_ja(en), Some(ja));
        }
        assert_eq!(PREFECTURES_JA.len(), PREFECTURES.len());
    }

    #[test]
    fn unknown_prefecture_is_located() {
        let text = full().replace("\"Tokyo\"", "\"Tokio\"");
        assert_eq!(
            problem(&text),
            "cases/bad.toml:5:14: case.prefecture: unknown prefecture \"Tokio\"; expected one of the 47 prefectures (e.g. \"Tokyo\", \"東京都\")"
        );
        let text = full().replace("\"Tokyo\"", "\"tokyo\"");
        assert!(problem(&text).ends_with("did you mean \"Tokyo\"?"));
        let text = full().replace("\"Tokyo\"", "\"東京\"");
        assert!(problem(&text).ends_with("did you mean \"東京都\"?"));
    }

    #[test]
    fn case_field_errors_are_located() {
        let cases = [
            ("id = \"TOKYO-2026-0001\"", "id = \"TOKYO 2026\"", "cases/bad.toml:4:6: case.id: \"TOKYO 2026\" contains ' '"),
            ("id = \"TOKYO-2026-0001\"", "id = \"\"", "cases/bad.toml:4:6: case.id: is empty"),
            ("crime = \"communications_fraud\"", "crime = \"fraud\"", "cases/bad.toml:6:9: case.crime: unknown crime \"fraud\"; expected one of communications_fraud, investment_fraud"),
            ("reported = 2026-03-02", "reported = 2026-03-02T10:00:00Z", "cases/bad.toml:7:12: case.reported: 2026-03-02T10:00:00Z is not a plain date"),
            ("reported = 2026-03-02", "reported = \"March\"", "cases/bad.toml:7:12: case.reported: \"March\" is not a date"),
            ("reported = 2026-03-02", "reported = 5", "cases/bad.toml:7:12: case.reported: expected a date like 2026-03-02; found integer 5"),
            ("investigator = \"Sgt. Sato\"", "investigator = \"  \"", "cases/bad.toml:8:16: case.investigator: is empty"),
            ("incident_until = 2026-03-01", "incident_until = 2026-02-01", "cases/bad.toml:11:18: case.incident_until: 2026-02-01 is before incident_from 2026-02-27"),
            ("incident_from = 2026-02-27\nincident_until = 2026-03-01", "incident_from = 2026-04-27", "cases/bad.toml:10:17: case.incident_from: 2026-04-27 is after the report date 2026-03-02"),
            ("format = 1", "format = 2", "cases/bad.toml:1:10: format: format 2 is not supported; this tracer reads format 1"),
        ];
        for (from, to, want) in cases {
            let text = full().replace(from, to);
            let got = problem(&text);
            assert!(got.starts_with(want), "{to}: got {got}");
        }
    }

    #[test]
    fn missing_fields_are_named() {
        let text = full().replace("investigator = \"Sgt. Sato\"\n", "");
        let got = problem(&text);
        assert!(
            got.starts_with(
                "cases/bad.toml:3:1: case.investigator: missing; give the investigator"
            ),
            "{got}"
        );
        let text = full().replace("format = 1\n", "");
        assert!(problem(&text).starts_with("cases/bad.toml: format: missing"));
        let text = file("", "");
        assert!(problem(&text).starts_with("cases/bad.toml: [[seed]]: none given"));
        let text = format!("format = 1\n{}", payment_seed());
        assert!(problem(&text).starts_with("cases/bad.toml: [case]: missing"));
    }

    #[test]
    fn reports_every_problem_in_file_order() {
        let text = full()
            .replace("\"Tokyo\"", "\"Tokio\"")
            .replace(":0\"", ":x\"")
            .replace("amount = \"40\"", "amount = \"4.000000001\"");
        let e = parse(&text, "bad.toml").unwrap_err();
        let ps = e.problems();
        assert_eq!(ps.len(), 3, "{ps:#?}");
        assert!(ps[0].starts_with("bad.toml:5:14: case.prefecture"));
        assert!(
            ps[1].starts_with("bad.toml:15:11: seed 1.payment: output index \"x\""),
            "{}",
            ps[1]
        );
        assert!(
            ps[2].starts_with(
                "bad.toml:23:10: seed 2.amount: \"4.000000001\" has 9 decimals; at most 8"
            ),
            "{}",
            ps[2]
        );
    }

    #[test]
    fn seed_errors_are_located() {
        let both = format!(
            "{}address = \"12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S\"\n",
            payment_seed()
        );
        assert_eq!(
            problem(&file("", &both)),
            "cases/bad.toml:10:1: seed 1: has both \"payment\" and \"address\"; give one"
        );
        let neither = "[[seed]]\nchain = \"bitcoin\"\n";
        assert!(problem(&file("", neither)).starts_with("cases/bad.toml:10:1: seed 1: has neither"));
        let cases = [
            (payment_seed().replace(TX_170, "f418"), "cases/bad.toml:12:11: seed 1.payment: 'f418' is not a txid (64 hex digits)"),
            (payment_seed().replace(":0", ""), "cases/bad.toml:12:11: seed 1.payment: "),
            (payment_seed().replace(":0", ":4294967296"), "cases/bad.toml:12:11: seed 1.payment: output index \"4294967296\" is not a whole number"),
            (payment_seed().replace("bitcoin", "litecoin"), "cases/bad.toml:11:9: seed 1.chain: unknown chain \"litecoin\""),
            (payment_seed().replace("chain = \"bitcoin\"\n", ""), "cases/bad.toml:10:1: seed 1.chain: missing"),
            (format!("{}from = 2009-01-12\n", payment_seed()), "cases/bad.toml:13:8: seed 1.from: only an address seed"),
            ("[[seed]]\nchain = \"bitcoin\"\naddress = \"1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm4\"\n".to_string(), "cases/bad.toml:12:11: seed 1.address: \"1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm4\" is not a bitcoin address"),
            ("[[seed]]\nchain = \"bitcoin\"\naddress = \"12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S\"\nfrom = 2009-01-13\nuntil = 2009-01-12\n".to_string(), "cases/bad.toml:14:9: seed 1.until: is before \"from\""),
            ("[[seed]]\nchain = \"bitcoin\"\naddress = \"12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S\"\nfrom = 2009-01-13T10:00:00\n".to_string(), "cases/bad.toml:13:8: seed 1.from: 2009-01-13T10:00:00 has no time zone"),
            ("[[seed]]\nchain = \"bitcoin\"\naddress = \"12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S\"\namount = 0.1\n".to_string(), "cases/bad.toml:13:10: seed 1.amount: 0.1 is a floating-point number"),
            ("[[seed]]\nchain = \"ethereum\"\naddress = \"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD\"\n".to_string(), "cases/bad.toml:12:11: seed 1.address: \"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD\" fails its EIP-55 checksum"),
            ("[[seed]]\nchain = \"ethereum\"\naddress = \"0x5aaeb6053f3e94c9b9a09f33669435e7ef1bea\"\n".to_string(), "cases/bad.toml:12:11: seed 1.address: \"0x5aaeb6053f3e94c9b9a09f33669435e7ef1bea\" is not an ethereum address"),
            (format!("[[seed]]\nchain = \"ethereum\"\npayment = \"{TX_170}:0\"\n"), "cases/bad.toml:12:11: seed 1.payment: "),
        ];
        for (seed, want) in cases {
            let got = problem(&file("", &seed));
            assert!(got.starts_with(want), "{seed}: got {got}");
        }
    }

    #[test]
    fn addresses_in_every_form_are_accepted() {
        for (chain, addr, stored) in [
            (
                "bitcoin",
                "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
                "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
            ),
            (
                "bitcoin",
                "mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn",
                "mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn",
            ),
            (
                "ethereum",
                "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
                "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed",
            ),
            (
                "ethereum",
                "0x5AAEB6053F3E94C9B9A09F33669435E7EF1BEAED",
                "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed",
            ),
        ] {
            let seed = format!("[[seed]]\nchain = \"{chain}\"\naddress = \"{addr}\"\n");
            let c = parse(&file("", &seed), "t.toml").unwrap();
            match &c.seeds[0].target {
                SeedTarget::Address { address, .. } => assert_eq!(address, stored),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn window_bounds_take_offsets() {
        let seed = "[[seed]]\nchain = \"bitcoin\"\naddress = \"12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S\"\nfrom = 2009-01-12T12:00:00+09:00\nuntil = 2009-01-12T03:00:00.5Z\n";
        let c = parse(&file("", seed), "t.toml").unwrap();
        let SeedTarget::Address { from, until, .. } = c.seeds[0].target else {
            panic!()
        };
        assert_eq!(from, Some(1_231_729_200));
        assert_eq!(until, Some(1_231_729_200));
    }

    #[test]
    fn syntax_and_unknown_keys_are_located() {
        let text = full().replace("title =", "titel =");
        let got = problem(&text);
        assert!(
            got.starts_with("cases/bad.toml:9:1: unknown field `titel`"),
            "{got}"
        );
        let text = full().replace("note = \"victim's", "colour = \"victim's");
        assert!(problem(&text).starts_with("cases/bad.toml:16:1: unknown field `colour`"));
        let text = full().replace("id = \"TOKYO-2026-0001\"", "id = \"TOKYO");
        assert!(
            problem(&text).starts_with("cases/bad.toml:4:"),
            "{}",
            problem(&text)
        );
        let text = full().replace("[case]", "[case");
        assert!(
            problem(&text).starts_with("cases/bad.toml:3:"),
            "{}",
            problem(&text)
        );
    }

    #[test]
    fn amounts_parse_exactly() {
        assert_eq!(parse_amount("0.1", 8), Ok(10_000_000));
        assert_eq!(parse_amount("40", 8), Ok(4_000_000_000));
        assert_eq!(parse_amount("0.00000001", 8), Ok(1));
        assert_eq!(parse_amount("1.5", 18), Ok(1_500_000_000_000_000_000));
        assert_eq!(
            parse_amount("21000000.12345678", 8),
            Ok(2_100_000_012_345_678)
        );
        for bad in [
            "1.123456789",
            "abc",
            "-1",
            "",
            ".",
            "1.",
            ".5",
            "1e3",
            "+1",
            "1,5",
            "0",
            "0.0",
            "1_000",
            "１",
        ] {
            assert!(parse_amount(bad, 8).is_err(), "{bad:?}");
        }
        let huge = "9".repeat(60);
        assert!(parse_amount(&huge, 8).unwrap_err().contains("too large"));
        // Zero is a limit, not a payment.
        assert_eq!(parse_decimal("0", 8), Ok(0));
        assert_eq!(parse_decimal("0.000", 18), Ok(0));
        assert!(parse_amount("0", 8).unwrap_err().contains("is zero"));
        assert!(parse_amount(&format!("{}.5", "9".repeat(30)), 18).is_err());
        assert_eq!(format_amount(10_000_000, 8), "0.1");
        assert_eq!(format_amount(4_000_000_000, 8), "40");
        assert_eq!(
            format_amount(u128::MAX, 18),
            format!(
                "{}.{}",
                u128::MAX / 10u128.pow(18),
                u128::MAX % 10u128.pow(18)
            )
        );
        assert_eq!(
            parse_amount(&format_amount(u128::MAX, 18), 18),
            Ok(u128::MAX)
        );
    }

    #[test]
    fn junk_never_panics() {
        let deep = "a = ".to_string() + &"[".repeat(5_000);
        let junk = [
            "",
            "   \n\t\n",
            "\u{feff}",
            "\0\0\0\u{1}\u{7f}",
            "format = 99999999999999999999999999",
            "format = -1",
            "format = 1\n[case]\nid = 1\n[[seed]]\n",
            "format = 1\ncase = 5\nseed = 7",
            "format = 1\n[[case]]\n",
            "format = 1\n[seed]\nchain = \"bitcoin\"\n",
            "[[seed]]\namount = \"99999999999999999999999999999999999999999999\"\nchain=\"ethereum\"\naddress=\"0x0000000000000000000000000000000000000000\"",
            "[[seed]]\nchain = \"bitcoin\"\npayment = \"é:é\"\nfrom = 9999-12-31T23:59:60-23:59\n",
            "[[seed]]\nchain = \"bitcoin\"\naddress = \"\u{1F600}\"\nuntil = 0000-01-01\n",
            "x = \"\\uD800\"",
            "[case]\nreported = 1979-05-27T07:32:00\n",
            "[case]\nreported = 07:32:00\n",
            &deep,
        ];
        for j in junk {
            assert!(parse(j, "junk").is_err(), "{j:?}");
        }
        let e = parse("", "empty.toml").unwrap_err().to_string();
        assert!(e.contains("empty"), "{e}");
    }

    #[test]
    fn load_reports_bad_utf8_and_missing_files() {
        let dir = std::env::temp_dir().join(format!("tracer-case-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("latin1.toml");
        std::fs::write(&p, b"format = 1\n[case]\nid = \"caf\xe9\"\n").unwrap();
        let e = load(&p).unwrap_err().to_string();
        assert!(e.contains("latin1.toml:3:10: not UTF-8"), "{e}");
        let e = load(&dir.join("nope.toml")).unwrap_err().to_string();
        assert!(e.contains("nope.toml: cannot read the case file"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn line_index_agrees_with_counting_from_the_start() {
        // Long lines across the index's 4,096-byte blocks, multi-byte
        // characters, empty lines, offsets inside characters and past the end.
        let mut text = String::new();
        for i in 0..40 {
            text.push_str(&"é東a".repeat(i * 97));
            text.push('\n');
            if i % 7 == 0 {
                text.push('\n');
            }
        }
        let naive = |offset: usize| {
            let mut end = offset.min(text.len());
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            let before = &text[..end];
            let line = before.matches('\n').count() + 1;
            let start = before.rfind('\n').map_or(0, |i| i + 1);
            (line, before[start..].chars().count() + 1)
        };
        let index = LineIndex::new(&text);
        for offset in (0..text.len() + 3).step_by(13).chain([0, 1, text.len()]) {
            assert_eq!(index.line_col(offset), naive(offset), "offset {offset}");
        }
    }
}
