//! CSV tables (UTF-8 with a byte-order mark, so Japanese Excel opens them):
//! the endpoint table and the hop table, and the one writer every CSV of
//! tracer goes through, which keeps untrusted text (TagPack labels, case
//! fields) from becoming a spreadsheet formula.

use crate::lang::Lang;
use crate::report::Report;
use crate::terms::{phrase, term};

/// Labels the tables use.
pub const KEYS: &[&str] = &[
    "service",
    "class",
    "deposit_address",
    "amount",
    "share",
    "jpy",
    "first_seen",
    "last_seen",
    "rule",
    "evidence",
    "confidence",
    "txid",
    "height",
    "time_utc",
    "time_jst",
    "from",
    "to",
    "value",
    "hop",
    "heuristics",
    "sweep",
];

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// First characters that make a spreadsheet read a cell as a formula
/// (OWASP's CSV injection list and ASVS 1.2.10: `= + - @`, tab, carriage
/// return, NUL), and their full-width forms, which Japanese input turns
/// into formulas too.
const FORMULA_START: [char; 11] = [
    '=', '+', '-', '@', '\t', '\r', '\0', '\u{FF1D}', '\u{FF0B}', '\u{FF0D}', '\u{FF20}',
];

/// `cell` as a spreadsheet shows it but never evaluates: a cell that would
/// start a formula (a TagPack label `=HYPERLINK(…)`, `+cmd|…`) gets a
/// leading single quote, as OWASP advises. A plain decimal number (`-1.5`)
/// stays a number.
pub fn neutralise(cell: &str) -> std::borrow::Cow<'_, str> {
    let number = |s: &str| {
        let digits = s.strip_prefix('-').unwrap_or(s);
        let (int, frac) = digits.split_once('.').unwrap_or((digits, "0"));
        [int, frac]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    };
    if cell.starts_with(FORMULA_START) && !number(cell) {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

/// A CSV file for spreadsheets: UTF-8 with a BOM, `header` then `rows`,
/// every cell quoted and [`neutralise`]d. Every CSV tracer writes goes
/// through here.
pub(crate) fn csv_with_bom(header: Vec<String>, rows: Vec<Vec<String>>) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new()
        .quote_style(csv::QuoteStyle::Always)
        .from_writer(BOM.to_vec());
    // Writing to a Vec cannot fail.
    for r in std::iter::once(header).chain(rows) {
        w.write_record(r.iter().map(|c| neutralise(c).into_owned()))
            .expect("in-memory CSV");
    }
    w.into_inner().expect("in-memory CSV")
}

fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map(ToString::to_string).unwrap_or_default()
}

/// `endpoints.csv`.
pub fn endpoints(r: &Report, lang: Lang) -> Vec<u8> {
    let header = [
        "service",
        "class",
        "deposit_address",
        "amount",
        "share",
        "jpy",
        "first_seen",
        "first_seen",
        "last_seen",
        "last_seen",
        "rule",
        "evidence",
        "txid",
        "confidence",
    ];
    let mut h: Vec<String> = header.iter().map(|k| lang.t(k).to_string()).collect();
    h[3] = format!("{} ({})", lang.t("amount"), r.unit.symbol);
    h[6] = format!("{} (UTC)", lang.t("first_seen"));
    h[7] = format!("{} (JST)", lang.t("first_seen"));
    h[8] = format!("{} (UTC)", lang.t("last_seen"));
    h[9] = format!("{} (JST)", lang.t("last_seen"));
    h[12] = format!("{} ({})", lang.t("txid"), lang.t("sweep"));
    let rows = r
        .endpoints
        .iter()
        .map(|e| {
            vec![
                e.service.clone(),
                term(&e.class, lang).to_string(),
                e.deposit_address.clone(),
                number(&e.amount_text),
                format!("{:.6}", e.share),
                opt(&e.jpy),
                e.first_time_utc.clone(),
                e.first_time_jst.clone(),
                e.last_time_utc.clone(),
                e.last_time_jst.clone(),
                term(&e.rule, lang).to_string(),
                e.tag.clone(),
                opt(&e.sweep_txid),
                e.confidence.to_string(),
            ]
        })
        .collect();
    csv_with_bom(h, rows)
}

/// `hops.csv`.
pub fn hops(r: &Report, lang: Lang) -> Vec<u8> {
    let keys = [
        "txid",
        "height",
        "time_utc",
        "time_jst",
        "from",
        "to",
        "amount",
        "value",
        "share",
        "jpy",
        "hop",
        "rule",
        "heuristics",
        "confidence",
    ];
    let mut h: Vec<String> = keys.iter().map(|k| lang.t(k).to_string()).collect();
    h[0] = format!("{}:vout", lang.t("txid"));
    h[6] = format!("{} ({})", lang.t("amount"), r.unit.symbol);
    h[7] = format!("{} ({})", lang.t("value"), r.unit.symbol);
    let unit = |raw: &str| match raw.parse::<trace_file::Amount>() {
        Ok(a) => a.text(r.unit.decimals, ""),
        Err(_) => raw.to_string(),
    };
    let rows = r
        .hops
        .iter()
        .map(|e| {
            vec![
                format!("{}:{}", e.txid, e.vout),
                e.height.to_string(),
                e.time_utc.clone(),
                e.time_jst.clone(),
                e.from.clone(),
                e.to.clone(),
                number(&e.amount_text),
                unit(&e.value).trim().to_string(),
                format!("{:.6}", e.share),
                opt(&e.jpy),
                e.hop.to_string(),
                term(&e.rule, lang).to_string(),
                phrase(&opt(&e.heuristics), lang),
                e.confidence.to_string(),
            ]
        })
        .collect();
    csv_with_bom(h, rows)
}

/// The number part of an amount text (`10.00000000 BTC` → `10.00000000`).
fn number(text: &str) -> String {
    text.split(' ').next().unwrap_or_default().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_neutralised_and_numbers_kept() {
        for (cell, want) in [
            (
                "=HYPERLINK(\"http://x\",\"y\")",
                "'=HYPERLINK(\"http://x\",\"y\")",
            ),
            ("+cmd|'/c calc'!A1", "'+cmd|'/c calc'!A1"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\t=1", "'\t=1"),
            ("\r=1", "'\r=1"),
            ("＝1+1", "'＝1+1"),
            ("-", "'-"),
            ("Binance (=x)", "Binance (=x)"),
            ("-1.5", "-1.5"),
            ("12", "12"),
            ("", ""),
        ] {
            assert_eq!(neutralise(cell), want, "{cell:?}");
        }
    }

    #[test]
    fn every_cell_is_quoted_so_no_separator_splits_it() {
        let bytes = csv_with_bom(
            vec!["a".into(), "b".into()],
            vec![vec!["x;=1+2".into(), "=\"q\"".into()]],
        );
        assert_eq!(
            String::from_utf8(bytes[3..].to_vec()).unwrap(),
            "\"a\",\"b\"\n\"x;=1+2\",\"'=\"\"q\"\"\"\n"
        );
    }
}
