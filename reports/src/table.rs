//! CSV tables (UTF-8 with a byte-order mark, so Japanese Excel opens them):
//! the endpoint table and the hop table.

use crate::lang::Lang;
use crate::report::Report;

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
];

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// A CSV file: UTF-8 with a BOM, `header` then `rows`.
pub(crate) fn csv_with_bom(header: Vec<String>, rows: Vec<Vec<String>>) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new().from_writer(BOM.to_vec());
    // Writing to a Vec cannot fail.
    w.write_record(&header).expect("in-memory CSV");
    for r in rows {
        w.write_record(&r).expect("in-memory CSV");
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
    h[12] = format!("{} (sweep)", lang.t("txid"));
    let rows = r
        .endpoints
        .iter()
        .map(|e| {
            vec![
                e.service.clone(),
                e.class.clone(),
                e.deposit_address.clone(),
                number(&e.amount_text),
                format!("{:.6}", e.share),
                opt(&e.jpy),
                e.first_time_utc.clone(),
                e.first_time_jst.clone(),
                e.last_time_utc.clone(),
                e.last_time_jst.clone(),
                e.rule.clone(),
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
                e.rule.clone(),
                opt(&e.heuristics),
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
