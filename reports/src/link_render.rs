//! The linkage report's files: `linkage.html` (tables and an inline SVG of
//! cases ↔ shared entities), `linkage.pdf` (the same tables and graph),
//! `linkage.json`, `links.csv`, `cases.csv` (UTF-8 with BOM), `linkage.dot`,
//! `linkage.graphml` and `MANIFEST.sha256`.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::graph::{
    short, Arrow, Layout, NodeBox, BOX_H, BOX_W, COL_W, FILL_ENDPOINT, FILL_SEED, MARGIN,
};
use crate::html::esc;
use crate::lang::Lang;
use crate::link::{CaseRow, LinkRow, Linkage};
use crate::manifest::with_manifest;
use crate::terms::{crime, phrase, prefecture, term};

/// Distance between the tops of two boxes of a column in the linkage graph.
const GRAPH_ROW: f32 = BOX_H + 12.0;

fn title(l: Lang) -> &'static str {
    l.pick("事件間の関連分析報告書", "Cross-case linkage report")
}

fn label(l: Lang, key: &str) -> &'static str {
    let (ja, en) = match key {
        "prefectures" => ("都道府県別", "By prefecture"),
        "groups" => ("関連が疑われるグループ", "Suspected groups"),
        "links" => ("事件間の関連と根拠", "Links and their evidence"),
        "graph" => ("事件と共有先", "Cases and what they share"),
        "cases" => ("事件", "Cases"),
        "linked" => ("関連あり", "Linked"),
        "cross" => ("他県に及ぶグループ", "Groups reaching other prefectures"),
        "score" => ("強さ", "Score"),
        "shared" => ("共有", "Shared"),
        "evidence" => ("根拠取引", "Evidence transactions"),
        "prefecture" => ("都道府県", "Prefecture"),
        "none" => ("関連は見つかっていません。", "No link was found."),
        "public" => (
            "関連の根拠としなかった共有先（誰でも送金・呼出しできるもの）",
            "Shared but not a link (anybody may pay or call them)",
        ),
        "reason" => ("理由", "Reason"),
        "hops" => ("ホップ", "hops"),
        "pdf_font" => ("PDFフォント", "PDF font"),
        _ => ("", ""),
    };
    l.pick(ja, en)
}

/// Per prefecture: name, cases, linked cases, groups, groups reaching other
/// prefectures.
fn prefecture_rows(k: &Linkage) -> Vec<Vec<String>> {
    k.prefectures
        .iter()
        .map(|p| {
            vec![
                prefecture(&p.prefecture, k.lang),
                p.cases.to_string(),
                p.linked.to_string(),
                p.groups.to_string(),
                p.cross_prefecture_groups.to_string(),
            ]
        })
        .collect()
}

/// Per suspected group: its number, cases and prefectures.
fn group_rows(k: &Linkage) -> Vec<[String; 3]> {
    k.groups
        .iter()
        .enumerate()
        .map(|(i, g)| {
            [
                (i + 1).to_string(),
                g.cases.join(", "),
                g.prefectures
                    .iter()
                    .map(|p| prefecture(p, k.lang))
                    .collect::<Vec<_>>()
                    .join(", "),
            ]
        })
        .collect()
}

/// The evidence transactions of a link, sorted, each once.
fn evidence(link: &LinkRow) -> Vec<&str> {
    link.shared
        .iter()
        .flat_map(|s| s.evidence[0].iter().chain(&s.evidence[1]))
        .map(String::as_str)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// The labels for `keys`, as a table header.
fn labels(l: Lang, keys: &[&str]) -> Vec<String> {
    keys.iter().map(|k| label(l, k).to_string()).collect()
}

/// The graph of cases and what they share: linked cases on the left, the
/// deposit addresses, addresses and clusters they share on the right, a
/// line from each case to each entity it shares (drawn alike in the HTML
/// and the PDF).
fn graph_layout(k: &Linkage) -> Layout {
    let cases: Vec<&CaseRow> = k.cases.iter().filter(|c| c.group.is_some()).collect();
    let entities = entities(k);
    let rows = cases.len().max(entities.len()).max(1);
    // The shorter column is centred against the longer one.
    let top = |n: usize| MARGIN + (rows - n) as f32 * GRAPH_ROW / 2.0;
    let row_y = |n: usize, i: usize| top(n) + i as f32 * GRAPH_ROW;
    let case_y: BTreeMap<&str, f32> = cases
        .iter()
        .enumerate()
        .map(|(i, c)| (c.id.as_str(), row_y(cases.len(), i)))
        .collect();
    let right = MARGIN + COL_W;
    let mut nodes: Vec<NodeBox> = cases
        .iter()
        .map(|c| NodeBox {
            x: MARGIN,
            y: case_y[c.id.as_str()],
            title: c.id.clone(),
            note: prefecture(&c.prefecture, k.lang),
            fill: FILL_SEED,
        })
        .collect();
    // Entities next to the cases sharing them (by the mean row of those
    // cases), so that few lines cross.
    let mut entities: Vec<_> = entities.into_iter().collect();
    let mean_y = |with: &std::collections::BTreeSet<String>| {
        let ys: Vec<f32> = with
            .iter()
            .filter_map(|c| case_y.get(c.as_str()))
            .copied()
            .collect();
        ys.iter().sum::<f32>() / ys.len().max(1) as f32
    };
    entities.sort_by(|(a, wa), (b, wb)| mean_y(wa).total_cmp(&mean_y(wb)).then(a.cmp(b)));
    let mut arrows = Vec::new();
    for (j, ((kind, key), with)) in entities.iter().enumerate() {
        let y = row_y(entities.len(), j);
        for c in with {
            if let Some(cy) = case_y.get(c.as_str()) {
                arrows.push(Arrow {
                    from: (MARGIN + BOX_W, cy + BOX_H / 2.0),
                    to: (right, y + BOX_H / 2.0),
                    label: String::new(),
                    head: false,
                });
            }
        }
        nodes.push(NodeBox {
            x: right,
            y,
            title: short(key),
            note: term(kind, k.lang).to_string(),
            fill: FILL_ENDPOINT,
        });
    }
    Layout {
        width: 2.0 * MARGIN + COL_W + BOX_W,
        height: 2.0 * MARGIN + rows as f32 * GRAPH_ROW - (GRAPH_ROW - BOX_H),
        nodes,
        arrows,
    }
}

fn html(k: &Linkage) -> String {
    let l = k.lang;
    let mut o = format!(
        "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"{}\"><head><meta charset=\"utf-8\"/><title>{}</title>\
         <style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse;font-size:.85em}}td,th{{border:1px solid #bbb;padding:.2em .4em;vertical-align:top}}th{{background:#eee}}code{{word-break:break-all}}</style></head><body><h1>{}</h1>",
        l.code(),
        title(l),
        title(l)
    );
    let _ = write!(
        o,
        "<h2>{}</h2><table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
        label(l, "prefectures"),
        label(l, "prefecture"),
        label(l, "cases"),
        label(l, "linked"),
        label(l, "groups"),
        label(l, "cross")
    );
    for row in prefecture_rows(k) {
        o.push_str("<tr>");
        for cell in row {
            let _ = write!(o, "<td>{}</td>", esc(&cell));
        }
        o.push_str("</tr>");
    }
    o.push_str("</table>");
    let _ = write!(o, "<h2>{}</h2>", label(l, "groups"));
    if k.groups.is_empty() {
        let _ = write!(o, "<p>{}</p>", label(l, "none"));
    } else {
        o.push_str("<table>");
        for [n, cases, prefectures] in group_rows(k) {
            let _ = write!(
                o,
                "<tr><th>{n}</th><td>{}</td><td>{}</td></tr>",
                esc(&cases),
                esc(&prefectures)
            );
        }
        o.push_str("</table>");
    }
    let _ = write!(
        o,
        "<h2>{}</h2>{}",
        label(l, "graph"),
        crate::svg::render(&graph_layout(k))
    );
    let _ = write!(
        o,
        "<h2>{}</h2><table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
        label(l, "links"),
        label(l, "cases"),
        label(l, "score"),
        label(l, "shared"),
        label(l, "evidence")
    );
    for link in &k.links {
        let shared: Vec<String> = link
            .shared
            .iter()
            .map(|s| {
                format!(
                    "{} {} ({}; {} / {}; {} {}/{}; {}%{})",
                    term(s.kind, l),
                    s.key,
                    s.label,
                    s.amounts_text[0],
                    s.amounts_text[1],
                    label(l, "hops"),
                    s.hops[0],
                    s.hops[1],
                    s.confidence,
                    if s.heuristics.is_empty() {
                        String::new()
                    } else {
                        format!("; {}", phrase(&s.heuristics.join("+"), l))
                    }
                )
            })
            .collect();
        let _ = write!(
            o,
            "<tr><td>{} — {}</td><td>{:.2}</td><td>{}</td><td><code>{}</code></td></tr>",
            esc(&link.a),
            esc(&link.b),
            link.score,
            esc(&shared.join("; ")),
            esc(&evidence(link).join(" "))
        );
    }
    o.push_str("</table>");
    if !k.public.is_empty() {
        let _ = write!(
            o,
            "<h2>{}</h2><table><tr><th>{}</th><th>{}</th><th>{}</th></tr>",
            label(l, "public"),
            label(l, "shared"),
            label(l, "reason"),
            label(l, "cases")
        );
        for p in &k.public {
            let _ = write!(
                o,
                "<tr><td>{} <code>{}</code></td><td>{}</td><td>{}</td></tr>",
                esc(p.kind),
                esc(&p.key),
                esc(&p.reason),
                esc(&p.cases.join(", "))
            );
        }
        o.push_str("</table>");
    }
    for c in &k.commands {
        let _ = write!(o, "<pre><code>{}</code></pre>", esc(c));
    }
    o.push_str("</body></html>\n");
    o
}

/// Columns of `links.csv` (one row per shared entity of a link).
const LINK_COLUMNS: [&str; 14] = [
    "case_a",
    "case_b",
    "score",
    "kind",
    "key",
    "label",
    "amount_a",
    "amount_b",
    "hop_a",
    "hop_b",
    "evidence_a",
    "evidence_b",
    "heuristics",
    "confidence",
];

/// Columns of `cases.csv`.
const CASE_COLUMNS: [&str; 6] = ["case", "prefecture", "crime", "reported", "traced", "group"];

/// A CSV column's header in the report's language.
fn column(l: Lang, key: &str) -> &'static str {
    let (ja, en) = match key {
        "case_a" => ("事件A", "case_a"),
        "case_b" => ("事件B", "case_b"),
        "score" => ("強さ", "score"),
        "kind" => ("共有の種類", "kind"),
        "key" => ("共有先", "key"),
        "label" => ("名称", "label"),
        "amount_a" => ("金額A", "amount_a"),
        "amount_b" => ("金額B", "amount_b"),
        "hop_a" => ("ホップA", "hop_a"),
        "hop_b" => ("ホップB", "hop_b"),
        "evidence_a" => ("根拠取引A", "evidence_a"),
        "evidence_b" => ("根拠取引B", "evidence_b"),
        "heuristics" => ("ヒューリスティック", "heuristics"),
        "confidence" => ("確信度", "confidence"),
        "case" => ("事件", "case"),
        "prefecture" => ("都道府県", "prefecture"),
        "crime" => ("罪種", "crime"),
        "reported" => ("届出日", "reported"),
        "traced" => ("追跡額", "traced"),
        "group" => ("グループ", "group"),
        _ => ("", ""),
    };
    l.pick(ja, en)
}

fn csv_bytes(l: Lang, header: &[&str], rows: Vec<Vec<String>>) -> Vec<u8> {
    let header = header.iter().map(|h| column(l, h).to_string()).collect();
    crate::table::csv_with_bom(header, rows)
}

/// Shared entities and the cases at each (transactions left out: they are
/// evidence, not entities).
fn entities(k: &Linkage) -> BTreeMap<(String, String), std::collections::BTreeSet<String>> {
    let mut out: BTreeMap<(String, String), std::collections::BTreeSet<String>> = BTreeMap::new();
    for l in &k.links {
        for s in l.shared.iter().filter(|s| s.kind != "transaction") {
            let e = out.entry((s.kind.to_string(), s.key.clone())).or_default();
            e.insert(l.a.clone());
            e.insert(l.b.clone());
        }
    }
    out
}

/// The linkage graph in DOT: cases and the entities they share.
fn dot(k: &Linkage) -> String {
    let q = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
    let mut o = String::from("graph linkage {\n  rankdir=LR;\n");
    for c in &k.cases {
        let _ = writeln!(
            o,
            "  {} [shape=box, prefecture={}];",
            q(&c.id),
            q(&c.prefecture)
        );
    }
    for ((kind, key), cases) in entities(k) {
        let node = format!("{kind}:{key}");
        let _ = writeln!(o, "  {} [shape=ellipse, kind={}];", q(&node), q(&kind));
        for c in cases {
            let _ = writeln!(o, "  {} -- {};", q(&c), q(&node));
        }
    }
    o.push_str("}\n");
    o
}

/// The linkage graph in GraphML.
fn graphml(k: &Linkage) -> String {
    let mut o = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<graphml xmlns=\"http://graphml.graphdrawing.org/xmlns\">\n\
         <key id=\"kind\" for=\"node\" attr.name=\"kind\" attr.type=\"string\"/>\n\
         <key id=\"prefecture\" for=\"node\" attr.name=\"prefecture\" attr.type=\"string\"/>\n\
         <graph id=\"linkage\" edgedefault=\"undirected\">\n",
    );
    for c in &k.cases {
        let _ = writeln!(o, "<node id=\"{}\"><data key=\"kind\">case</data><data key=\"prefecture\">{}</data></node>", esc(&c.id), esc(&c.prefecture));
    }
    for (i, ((kind, key), cases)) in entities(k).into_iter().enumerate() {
        let node = format!("{kind}:{key}");
        let _ = writeln!(
            o,
            "<node id=\"{}\"><data key=\"kind\">{}</data></node>",
            esc(&node),
            esc(&kind)
        );
        for (j, c) in cases.iter().enumerate() {
            let _ = writeln!(
                o,
                "<edge id=\"e{i}_{j}\" source=\"{}\" target=\"{}\"/>",
                esc(c),
                esc(&node)
            );
        }
    }
    o.push_str("</graph>\n</graphml>\n");
    o
}

/// The linkage report as a PDF.
fn pdf(k: &Linkage, font: &crate::pdf::FontFile) -> Result<Vec<u8>, crate::Error> {
    let l = k.lang;
    let meta = crate::pdf::DocMeta {
        title: title(l).to_string(),
        lang: l.code(),
        id: format!("linkage/{}/{}", l.code(), k.cases.len()),
    };
    crate::pdf::write(font, &meta, |f, font_note| {
        f.heading(title(l), 14.0);
        f.heading(label(l, "prefectures"), 11.0);
        let rows = prefecture_rows(k);
        let head = labels(l, &["prefecture", "cases", "linked", "groups", "cross"]);
        f.table(&head, &[1.5, 1.0, 1.0, 1.0, 1.5], &rows, 8.0);
        f.heading(label(l, "groups"), 11.0);
        if k.groups.is_empty() {
            f.para(label(l, "none"), 8.0);
        }
        let rows: Vec<Vec<String>> = group_rows(k).into_iter().map(Vec::from).collect();
        if !rows.is_empty() {
            let head = vec![
                "#".to_string(),
                label(l, "cases").to_string(),
                label(l, "prefecture").to_string(),
            ];
            f.table(&head, &[0.3, 3.0, 1.5], &rows, 8.0);
        }
        if !k.groups.is_empty() {
            f.heading(label(l, "graph"), 11.0);
            f.graph(&graph_layout(k));
        }
        f.heading(label(l, "links"), 11.0);
        let rows: Vec<Vec<String>> = k
            .links
            .iter()
            .map(|x| {
                let shared: Vec<String> = x
                    .shared
                    .iter()
                    .map(|s| format!("{} {} ({}%)", term(s.kind, l), s.key, s.confidence))
                    .collect();
                vec![
                    format!("{} — {}", x.a, x.b),
                    format!("{:.2}", x.score),
                    shared.join("\n"),
                    evidence(x).join("\n"),
                ]
            })
            .collect();
        let head = labels(l, &["cases", "score", "shared", "evidence"]);
        f.table(&head, &[1.3, 0.4, 2.2, 2.4], &rows, 6.5);
        f.para(&format!("{}: {font_note}", label(l, "pdf_font")), 6.5);
        for c in &k.commands {
            f.para(c, 6.5);
        }
    })
}

/// Every file of the linkage report (`MANIFEST.sha256` last); the PDF is
/// set in `font`.
pub fn artifacts(
    k: &Linkage,
    font: &crate::pdf::FontFile,
) -> Result<Vec<(String, Vec<u8>)>, crate::Error> {
    let mut json = serde_json::to_vec_pretty(k).expect("linkage serialises");
    json.push(b'\n');
    let links = k
        .links
        .iter()
        .flat_map(|l| {
            l.shared.iter().map(move |s| {
                vec![
                    l.a.clone(),
                    l.b.clone(),
                    format!("{:.4}", l.score),
                    term(s.kind, k.lang).to_string(),
                    s.key.clone(),
                    s.label.clone(),
                    s.amounts_text[0].clone(),
                    s.amounts_text[1].clone(),
                    s.hops[0].to_string(),
                    s.hops[1].to_string(),
                    s.evidence[0].join(" "),
                    s.evidence[1].join(" "),
                    phrase(&s.heuristics.join("+"), k.lang),
                    s.confidence.to_string(),
                ]
            })
        })
        .collect();
    let cases = k
        .cases
        .iter()
        .map(|c| {
            vec![
                c.id.clone(),
                prefecture(&c.prefecture, k.lang),
                crime(&c.crime, k.lang),
                c.reported.clone(),
                c.traced_text.clone(),
                c.group.map(|g| (g + 1).to_string()).unwrap_or_default(),
            ]
        })
        .collect();
    let files = vec![
        ("linkage.html".to_string(), html(k).into_bytes()),
        ("linkage.json".to_string(), json),
        (
            "links.csv".to_string(),
            csv_bytes(k.lang, &LINK_COLUMNS, links),
        ),
        (
            "cases.csv".to_string(),
            csv_bytes(k.lang, &CASE_COLUMNS, cases),
        ),
        ("linkage.pdf".to_string(), pdf(k, font)?),
        ("linkage.dot".to_string(), dot(k).into_bytes()),
        ("linkage.graphml".to_string(), graphml(k).into_bytes()),
    ];
    Ok(with_manifest(files))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_column_and_label_has_both_languages() {
        let columns = LINK_COLUMNS.iter().chain(&CASE_COLUMNS);
        let labels = [
            "prefectures",
            "groups",
            "links",
            "graph",
            "cases",
            "linked",
            "cross",
            "score",
            "shared",
            "evidence",
            "prefecture",
            "none",
            "hops",
            "pdf_font",
        ];
        for l in [Lang::Ja, Lang::En] {
            for c in columns.clone() {
                assert!(!column(l, c).is_empty(), "{c}");
            }
            for k in labels {
                assert!(!label(l, k).is_empty(), "{k}");
            }
        }
        assert_eq!(column(Lang::Ja, "case_a"), "事件A");
    }
}
