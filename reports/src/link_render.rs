//! The linkage report's files: `linkage.html` (tables and an inline SVG of
//! cases ↔ shared entities), `linkage.json`, `links.csv`, `cases.csv`
//! (UTF-8 with BOM) and `MANIFEST.sha256`.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::html::esc;
use crate::lang::Lang;
use crate::link::Linkage;
use crate::manifest::manifest;

fn title(l: Lang) -> &'static str {
    match l {
        Lang::Ja => "事件間の関連分析報告書",
        Lang::En => "Cross-case linkage report",
    }
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
        _ => ("", ""),
    };
    match l {
        Lang::Ja => ja,
        Lang::En => en,
    }
}

/// The bipartite graph: cases on the left, shared deposit addresses,
/// addresses and clusters on the right.
fn svg(k: &Linkage) -> String {
    let mut entities: BTreeMap<(String, String), Vec<(String, String)>> = BTreeMap::new();
    for l in &k.links {
        for s in l.shared.iter().filter(|s| s.kind != "transaction") {
            let e = entities
                .entry((s.kind.to_string(), s.key.clone()))
                .or_default();
            e.push((l.a.clone(), l.b.clone()));
        }
    }
    let linked: Vec<&str> = k
        .cases
        .iter()
        .filter(|c| c.group.is_some())
        .map(|c| c.id.as_str())
        .collect();
    let row = 26.0;
    let h = 20.0 + row * linked.len().max(entities.len()).max(1) as f32;
    let mut o = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"760\" height=\"{h}\" font-size=\"11\">"
    );
    let case_y: BTreeMap<&str, f32> = linked
        .iter()
        .enumerate()
        .map(|(i, c)| (*c, 14.0 + row * i as f32))
        .collect();
    for (j, ((kind, key), pairs)) in entities.iter().enumerate() {
        let y = 14.0 + row * j as f32;
        for (a, b) in pairs {
            for c in [a, b] {
                if let Some(cy) = case_y.get(c.as_str()) {
                    let _ = write!(
                        o,
                        "<line x1=\"200\" y1=\"{}\" x2=\"420\" y2=\"{}\" stroke=\"#888\"/>",
                        cy + 4.0,
                        y + 4.0
                    );
                }
            }
        }
        let short: String = key.chars().take(34).collect();
        let _ = write!(o, "<rect x=\"420\" y=\"{}\" width=\"330\" height=\"18\" fill=\"#fde2e1\" stroke=\"#777\"/><text x=\"426\" y=\"{}\">{}: {}</text>", y - 5.0, y + 8.0, esc(kind), esc(&short));
    }
    for (c, y) in &case_y {
        let _ = write!(o, "<rect x=\"10\" y=\"{}\" width=\"190\" height=\"18\" fill=\"#e3f2e1\" stroke=\"#777\"/><text x=\"16\" y=\"{}\">{}</text>", y - 5.0, y + 8.0, esc(c));
    }
    o.push_str("</svg>");
    o
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
    for p in &k.prefectures {
        let _ = write!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&p.prefecture),
            p.cases,
            p.linked,
            p.groups,
            p.cross_prefecture_groups
        );
    }
    o.push_str("</table>");
    let _ = write!(o, "<h2>{}</h2>", label(l, "groups"));
    if k.groups.is_empty() {
        let _ = write!(o, "<p>{}</p>", label(l, "none"));
    } else {
        o.push_str("<table>");
        for (i, g) in k.groups.iter().enumerate() {
            let _ = write!(
                o,
                "<tr><th>{}</th><td>{}</td><td>{}</td></tr>",
                i + 1,
                esc(&g.cases.join(", ")),
                esc(&g.prefectures.join(", "))
            );
        }
        o.push_str("</table>");
    }
    let _ = write!(o, "<h2>{}</h2>{}", label(l, "graph"), svg(k));
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
                    "{} {} ({}; {} / {}; hops {}/{}; {}%{})",
                    s.kind,
                    s.key,
                    s.label,
                    s.amounts[0],
                    s.amounts[1],
                    s.hops[0],
                    s.hops[1],
                    s.confidence,
                    if s.heuristics.is_empty() {
                        String::new()
                    } else {
                        format!("; {}", s.heuristics.join("+"))
                    }
                )
            })
            .collect();
        let evidence: Vec<String> = link
            .shared
            .iter()
            .flat_map(|s| s.evidence[0].iter().chain(&s.evidence[1]))
            .cloned()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let _ = write!(
            o,
            "<tr><td>{} — {}</td><td>{:.2}</td><td>{}</td><td><code>{}</code></td></tr>",
            esc(&link.a),
            esc(&link.b),
            link.score,
            esc(&shared.join("; ")),
            esc(&evidence.join(" "))
        );
    }
    o.push_str("</table>");
    for c in &k.commands {
        let _ = write!(o, "<pre><code>{}</code></pre>", esc(c));
    }
    o.push_str("</body></html>\n");
    o
}

fn csv_bytes(header: &[&str], rows: Vec<Vec<String>>) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new().from_writer(b"\xEF\xBB\xBF".to_vec());
    w.write_record(header).expect("in-memory CSV");
    for r in rows {
        w.write_record(&r).expect("in-memory CSV");
    }
    w.into_inner().expect("in-memory CSV")
}

/// Every file of the linkage report (`MANIFEST.sha256` last).
pub fn artifacts(k: &Linkage) -> Vec<(String, Vec<u8>)> {
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
                    s.kind.to_string(),
                    s.key.clone(),
                    s.label.clone(),
                    s.amounts[0].clone(),
                    s.amounts[1].clone(),
                    s.hops[0].to_string(),
                    s.hops[1].to_string(),
                    s.evidence[0].join(" "),
                    s.evidence[1].join(" "),
                    s.heuristics.join("+"),
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
                c.prefecture.clone(),
                c.crime.clone(),
                c.reported.clone(),
                c.traced.clone(),
                c.group.map(|g| (g + 1).to_string()).unwrap_or_default(),
            ]
        })
        .collect();
    let mut files = vec![
        ("linkage.html".to_string(), html(k).into_bytes()),
        ("linkage.json".to_string(), json),
        (
            "links.csv".to_string(),
            csv_bytes(
                &[
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
                ],
                links,
            ),
        ),
        (
            "cases.csv".to_string(),
            csv_bytes(
                &["case", "prefecture", "crime", "reported", "traced", "group"],
                cases,
            ),
        ),
    ];
    let m = manifest(&files);
    files.push(("MANIFEST.sha256".to_string(), m.into_bytes()));
    files
}
