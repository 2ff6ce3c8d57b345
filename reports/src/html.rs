//! The self-contained HTML report: one file, inline CSS and an inline SVG
//! flow graph, no scripts, no external resources. Written as well-formed
//! XML (every element closed, text escaped) so any parser reads it.

use std::fmt::Write;

use serde_json::Value;

use crate::graph::cut_note;
use crate::lang::Lang;
use crate::report::{HopRow, Report};
use crate::terms::{crime, phrase, prefecture, term};

/// Labels the HTML uses.
pub const KEYS: &[&str] = &[
    "title",
    "case",
    "case_id",
    "case_title",
    "prefecture",
    "crime",
    "reported",
    "incident",
    "investigator",
    "endpoints",
    "service",
    "class",
    "deposit_address",
    "amount",
    "share",
    "first_seen",
    "last_seen",
    "evidence",
    "confidence",
    "jpy",
    "no_endpoints",
    "graph",
    "graph_cut",
    "summary",
    "seeds",
    "hops",
    "txid",
    "height",
    "time_utc",
    "time_jst",
    "from",
    "to",
    "hop",
    "rule",
    "heuristics",
    "methodology",
    "model",
    "granularity",
    "coinjoin_policy",
    "limits",
    "heuristic",
    "used_for",
    "prior",
    "measured",
    "not_measured",
    "models",
    "provenance",
    "chain",
    "network",
    "tip",
    "block_range",
    "clusters",
    "source",
    "tool",
    "fingerprint",
    "prices",
    "regenerate",
    "regenerate_note",
    "barriers",
    "kind",
    "none",
    "txs",
];

/// Escapes text for element content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:'Noto Sans CJK JP','IPAexGothic','Hiragino Sans',sans-serif;margin:2em;color:#111}\
h1{font-size:1.5em;border-bottom:2px solid #333}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #999}\
table{border-collapse:collapse;margin:.5em 0;font-size:.85em}td,th{border:1px solid #bbb;padding:.2em .45em;vertical-align:top}\
th{background:#eee;text-align:left}td.n{text-align:right;white-space:nowrap}code{font-family:monospace;word-break:break-all}\
.note{color:#555;font-size:.85em}@media print{body{margin:0}h2{page-break-after:avoid}}";

fn cell(out: &mut String, s: &str) {
    let _ = write!(out, "<td>{}</td>", esc(s));
}

fn code(out: &mut String, s: &str) {
    let _ = write!(out, "<td><code>{}</code></td>", esc(s));
}

fn num(out: &mut String, s: &str) {
    let _ = write!(out, "<td class=\"n\">{}</td>", esc(s));
}

fn header(out: &mut String, lang: Lang, keys: &[&str]) {
    out.push_str("<tr>");
    for k in keys {
        let _ = write!(out, "<th>{}</th>", esc(lang.t(k)));
    }
    out.push_str("</tr>");
}

fn pct(share: f64) -> String {
    format!("{:.2}%", share * 100.0)
}

fn yen(v: Option<i64>) -> String {
    v.map(|y| format!("¥{y}")).unwrap_or_default()
}

fn case_value(case: &Value, key: &str) -> String {
    match &case[key] {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        v => v.to_string(),
    }
}

/// Renders the report as one HTML document.
pub fn render(r: &Report) -> String {
    let l = r.lang;
    let mut o = String::with_capacity(64 * 1024);
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"{}\"><head><meta charset=\"utf-8\"/>\
         <title>{} {}</title><style>{STYLE}</style></head><body>",
        l.code(),
        esc(&r.title),
        esc(&case_value(&r.case, "id"))
    );
    let _ = write!(
        o,
        "<h1>{} — {}</h1>",
        esc(&r.title),
        esc(&case_value(&r.case, "id"))
    );
    case_section(&mut o, r);
    endpoint_section(&mut o, r);
    let _ = write!(o, "<h2>{}</h2>", esc(l.t("graph")));
    o.push_str(&crate::svg::flow_graph(r));
    if let Some(note) = cut_note(l, r.hops.len()) {
        let _ = write!(o, "<p class=\"note\">{}</p>", esc(&note));
    }
    summary_section(&mut o, r);
    seeds_section(&mut o, r);
    hops_section(&mut o, r);
    methodology_section(&mut o, r);
    provenance_section(&mut o, r);
    o.push_str("</body></html>\n");
    o
}

fn case_section(o: &mut String, r: &Report) {
    let l = r.lang;
    let _ = write!(o, "<h2>{}</h2><table>", esc(l.t("case")));
    let c = &r.case;
    let incident = match (
        case_value(c, "incident_from"),
        case_value(c, "incident_until"),
    ) {
        (a, b) if a.is_empty() && b.is_empty() => String::new(),
        (a, b) => format!("{a} – {b}"),
    };
    for (k, v) in [
        ("case_id", case_value(c, "id")),
        ("case_title", case_value(c, "title")),
        ("prefecture", prefecture(&case_value(c, "prefecture"), l)),
        ("crime", crime(&case_value(c, "crime"), l)),
        ("reported", case_value(c, "reported")),
        ("incident", incident),
        ("investigator", case_value(c, "investigator")),
    ] {
        let _ = write!(o, "<tr><th>{}</th>", esc(l.t(k)));
        cell(o, &v);
        o.push_str("</tr>");
    }
    o.push_str("</table>");
}

fn endpoint_section(o: &mut String, r: &Report) {
    let l = r.lang;
    let _ = write!(o, "<h2>{}</h2>", esc(l.t("endpoints")));
    if r.endpoints.is_empty() {
        let _ = write!(o, "<p>{}</p>", esc(l.t("no_endpoints")));
        return;
    }
    o.push_str("<table>");
    header(
        o,
        l,
        &[
            "service",
            "class",
            "deposit_address",
            "amount",
            "share",
            "jpy",
            "first_seen",
            "last_seen",
            "evidence",
            "confidence",
        ],
    );
    for e in &r.endpoints {
        o.push_str("<tr>");
        cell(o, &e.service);
        cell(o, term(&e.class, l));
        code(o, &e.deposit_address);
        num(o, &e.amount_text);
        num(o, &pct(e.share));
        num(o, &yen(e.jpy));
        cell(o, &format!("{} / {}", e.first_time_utc, e.first_time_jst));
        cell(o, &format!("{} / {}", e.last_time_utc, e.last_time_jst));
        cell(o, &e.evidence_text(l));
        num(o, &format!("{}%", e.confidence));
        o.push_str("</tr>");
    }
    o.push_str("</table>");
}

fn summary_section(o: &mut String, r: &Report) {
    let l = r.lang;
    let _ = write!(o, "<h2>{}</h2><table>", esc(l.t("summary")));
    for s in &r.summary {
        let _ = write!(o, "<tr><th>{}</th>", esc(&s.label));
        num(o, &s.amount_text);
        num(o, &pct(s.share));
        o.push_str("</tr>");
    }
    o.push_str("</table>");
    if !r.barriers.is_empty() {
        let _ = write!(o, "<h2>{}</h2><table>", esc(l.t("barriers")));
        header(o, l, &["txid", "kind", "height", "time_utc", "amount"]);
        for b in &r.barriers {
            o.push_str("<tr>");
            code(o, &b.txid);
            cell(o, term(&b.kind, l));
            num(o, &b.height.to_string());
            cell(o, &b.time_utc);
            num(o, &b.amount_text);
            o.push_str("</tr>");
        }
        o.push_str("</table>");
    }
}

fn seeds_section(o: &mut String, r: &Report) {
    let l = r.lang;
    let _ = write!(o, "<h2>{}</h2><table>", esc(l.t("seeds")));
    header(
        o,
        l,
        &["txid", "to", "amount", "height", "time_utc", "time_jst"],
    );
    for s in &r.seeds {
        o.push_str("<tr>");
        code(o, &format!("{}:{}", s.txid, s.vout));
        code(o, s.address.as_deref().unwrap_or("-"));
        num(o, &s.amount_text);
        num(o, &s.height.to_string());
        cell(o, &s.time_utc);
        cell(o, &s.time_jst);
        o.push_str("</tr>");
    }
    o.push_str("</table>");
}

fn hop_row(o: &mut String, l: Lang, h: &HopRow) {
    o.push_str("<tr>");
    code(o, &format!("{}:{}", h.txid, h.vout));
    num(o, &h.height.to_string());
    cell(o, &h.time_utc);
    cell(o, &h.time_jst);
    code(o, &h.from);
    code(o, &h.to);
    num(o, &h.amount_text);
    num(o, &pct(h.share));
    num(o, &yen(h.jpy));
    num(o, &h.hop.to_string());
    cell(o, term(&h.rule, l));
    cell(o, &phrase(h.heuristics.as_deref().unwrap_or(""), l));
    num(o, &format!("{}%", h.confidence));
    o.push_str("</tr>");
}

fn hops_section(o: &mut String, r: &Report) {
    let l = r.lang;
    let _ = write!(o, "<h2>{}</h2><table>", esc(l.t("hops")));
    header(
        o,
        l,
        &[
            "txid",
            "height",
            "time_utc",
            "time_jst",
            "from",
            "to",
            "amount",
            "share",
            "jpy",
            "hop",
            "rule",
            "heuristics",
            "confidence",
        ],
    );
    for h in &r.hops {
        hop_row(o, l, h);
    }
    o.push_str("</table>");
}

fn methodology_section(o: &mut String, r: &Report) {
    let l = r.lang;
    let m = &r.methodology;
    let _ = write!(o, "<h2>{}</h2><table>", esc(l.t("methodology")));
    for (k, v) in [
        ("model", &m.model),
        ("granularity", &m.granularity),
        ("coinjoin_policy", &m.coinjoins),
        ("limits", &m.limits),
    ] {
        let _ = write!(o, "<tr><th>{}</th>", esc(l.t(k)));
        cell(o, &phrase(v, l));
        o.push_str("</tr>");
    }
    o.push_str("</table><table>");
    header(o, l, &["heuristic", "used_for", "prior", "measured"]);
    for h in &m.heuristics {
        o.push_str("<tr>");
        cell(o, &phrase(&h.name, l));
        cell(o, term(h.used_for, l));
        num(o, &format!("{}%", h.prior));
        match h.measured_precision {
            Some(p) => num(o, &format!("{:.2}%", p * 100.0)),
            None => cell(o, l.t("not_measured")),
        }
        o.push_str("</tr>");
    }
    o.push_str("</table>");
    if !r.models.is_empty() {
        let _ = write!(o, "<h2>{}</h2><table>", esc(l.t("models")));
        header(o, l, &["model", "endpoints", "summary"]);
        for row in &r.models {
            o.push_str("<tr>");
            cell(o, term(&row.model, l));
            num(o, &format!("{} ({})", row.endpoints, row.endpoint_count));
            num(o, &row.unspent);
            o.push_str("</tr>");
        }
        o.push_str("</table>");
    }
}

fn provenance_section(o: &mut String, r: &Report) {
    let l = r.lang;
    let p = &r.provenance;
    let _ = write!(o, "<h2>{}</h2><table>", esc(l.t("provenance")));
    let tip = format!(
        "{} {}",
        p.tip_height.map(|h| h.to_string()).unwrap_or_default(),
        p.tip_hash.clone().unwrap_or_default()
    );
    let range = p
        .block_range
        .map(|(a, b)| format!("{a} – {b}"))
        .unwrap_or_default();
    for (k, v) in [
        ("chain", term(&p.chain, l).to_string()),
        (
            "network",
            p.network.as_deref().map_or("", |n| term(n, l)).to_string(),
        ),
        ("tip", tip),
        ("block_range", range),
        (
            "clusters",
            p.clusters.clone().unwrap_or_else(|| l.t("none").into()),
        ),
        ("source", p.data_source.clone().unwrap_or_default()),
        ("tool", p.tool.clone()),
        ("fingerprint", p.fingerprint.clone().unwrap_or_default()),
        (
            "prices",
            p.prices.clone().unwrap_or_else(|| l.t("none").into()),
        ),
    ] {
        let _ = write!(o, "<tr><th>{}</th>", esc(l.t(k)));
        code(o, &v);
        o.push_str("</tr>");
    }
    o.push_str("</table>");
    let _ = write!(
        o,
        "<h2>{}</h2><p>{}</p>",
        esc(l.t("regenerate")),
        esc(l.t("regenerate_note"))
    );
    for c in &r.commands {
        let _ = write!(o, "<pre><code>{}</code></pre>", esc(c));
    }
}
