//! Cross-case linkage on the simulated economy: every truth case as a case
//! file, linked on the ledger; the suspected groups are checked against
//! the truth's groups (no pair of cases from different groups linked,
//! every group on a direct laundering route recovered), one case arriving
//! as another force's imported bundle, and the report files checked.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;
use support::{ok, simulated_ledger, truth_records};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn linkage_recovers_the_simulated_groups_and_keeps_others_apart() {
    let (tmp, sim, db) = simulated_ledger(7);
    ok(&["--db", s(&db), "tags", "import", s(&sim.join("tags.yaml"))]);
    ok(&["--db", s(&db), "cluster", "build"]);
    let records = truth_records(&sim);
    let route = support::truth_routes(&records);
    let dir = tmp.path().join("cases");
    std::fs::create_dir_all(&dir).unwrap();
    let mut group_of: BTreeMap<String, u64> = BTreeMap::new();
    let mut files: Vec<PathBuf> = Vec::new();
    for c in records.iter().filter(|r| r["type"] == "case") {
        let id = format!("SIM-{:03}", c["id"].as_u64().unwrap());
        let seeds = support::truth_seeds(c);
        let path = dir.join(format!("{id}.toml"));
        std::fs::write(
            &path,
            format!(
                "format = 1\n[case]\nid = \"{id}\"\nprefecture = \"{}\"\ncrime = \"other\"\nreported = 2026-03-02\n\
                 investigator = \"Test\"\n\n{}",
                c["prefecture"].as_str().unwrap(),
                seeds
            ),
        )
        .unwrap();
        group_of.insert(id, c["group"].as_u64().unwrap());
        files.push(path);
    }
    // One case comes from another force as a bundle.
    let (remote, local) = files.split_first().unwrap();
    let remote_trace = tmp.path().join("remote-trace");
    ok(&[
        "--db",
        s(&db),
        "trace",
        s(remote),
        "--out",
        s(&remote_trace),
    ]);
    let bundle = tmp.path().join("bundle");
    ok(&[
        "export",
        s(remote),
        "--trace",
        s(&remote_trace),
        "--out",
        s(&bundle),
    ]);
    let imports = tmp.path().join("imports");
    ok(&["import", s(&bundle), "--into", s(&imports)]);

    let out = tmp.path().join("link");
    let mut args = vec!["--db", s(&db), "link"];
    args.extend(local.iter().map(|p| s(p)));
    args.extend([
        "--imports",
        s(&imports),
        "--out",
        s(&out),
        "--lang",
        "en",
        "--json",
    ]);
    let linkage: Value = serde_json::from_str(&ok(&args)).unwrap();
    assert_eq!(linkage["cases"].as_array().unwrap().len(), files.len());
    // linkage.json holds what was printed, valid against its schema.
    let file: Value =
        serde_json::from_slice(&std::fs::read(out.join("linkage.json")).unwrap()).unwrap();
    assert_eq!(file, linkage);
    let schema: Value = serde_json::from_str(reports::LINKAGE_SCHEMA).unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the schema is valid");
    let errors: Vec<String> = validator
        .iter_errors(&file)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    let mut broken = file.clone();
    broken["links"][0]["shared"][0]
        .as_object_mut()
        .expect("a link shares something")
        .remove("evidence");
    assert!(!validator.is_valid(&broken), "a link without its evidence");

    // Predicted pairs: cases in one suspected group.
    let mut predicted = BTreeSet::new();
    for g in linkage["groups"].as_array().unwrap() {
        let ids: Vec<&str> = g["cases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        for (i, a) in ids.iter().enumerate() {
            for b in &ids[i + 1..] {
                predicted.insert((a.to_string(), b.to_string()));
            }
        }
    }
    let ids: Vec<&String> = group_of.keys().collect();
    let mut truth = BTreeSet::new();
    for (i, a) in ids.iter().enumerate() {
        for b in &ids[i + 1..] {
            if group_of[*a] == group_of[*b] {
                truth.insert((a.to_string(), b.to_string()));
            }
        }
    }
    let correct = predicted.intersection(&truth).count();
    println!(
        "case pairs: truth {}, predicted {}, correct {} (precision {:.3}, recall {:.3})",
        truth.len(),
        predicted.len(),
        correct,
        correct as f64 / predicted.len().max(1) as f64,
        correct as f64 / truth.len().max(1) as f64
    );
    assert_eq!(
        correct,
        predicted.len(),
        "no cases of different groups linked: {predicted:?}"
    );
    // Groups that launder straight into exchanges are recovered whole.
    for (a, b) in &truth {
        let r = &route[&group_of[a]];
        if matches!(r.as_str(), "consolidate" | "peel") {
            assert!(
                predicted.contains(&(a.clone(), b.clone())),
                "{a} and {b} ({r}) not linked"
            );
        }
    }
    assert!(correct > 0);

    // Every link carries its evidence transactions and a score.
    for l in linkage["links"].as_array().unwrap() {
        assert!(l["score"].as_f64().unwrap() > 0.5);
        for sh in l["shared"].as_array().unwrap() {
            assert!(
                !sh["evidence"][0].as_array().unwrap().is_empty() || sh["kind"] == "transaction"
            );
        }
    }
    // The files: well-formed HTML, CSV with BOM, a manifest over them.
    let html = std::fs::read_to_string(out.join("linkage.html")).unwrap();
    let opts = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..Default::default()
    };
    roxmltree::Document::parse_with_options(&html, opts).expect("well-formed HTML");
    assert!(std::fs::read(out.join("links.csv"))
        .unwrap()
        .starts_with(b"\xEF\xBB\xBF"));
    let manifest = std::fs::read_to_string(out.join("MANIFEST.sha256")).unwrap();
    assert_eq!(manifest.lines().count(), 7);
    let gml = std::fs::read_to_string(out.join("linkage.graphml")).unwrap();
    let g = roxmltree::Document::parse(&gml).expect("well-formed GraphML");
    let cases = g
        .descendants()
        .filter(|n| {
            n.has_tag_name("data") && n.attribute("key") == Some("kind") && n.text() == Some("case")
        })
        .count();
    assert_eq!(cases, files.len());
    let pdf = out.join("linkage.pdf");
    let text = std::process::Command::new("pdftotext")
        .args(["-raw", s(&pdf), "-"])
        .output()
        .expect("pdftotext (poppler-utils, installed by tests/setup.sh)");
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("Cross-case linkage report"), "{text}");
    for g in linkage["groups"].as_array().unwrap() {
        for c in g["cases"].as_array().unwrap() {
            assert!(
                text.contains(c.as_str().unwrap()),
                "group member in the PDF"
            );
        }
    }
    // The graph of cases and shared entities, in the HTML and the PDF: each
    // shared deposit address in a box of its own, shortened as the graph
    // shortens addresses (the tables show them whole).
    let mut boxes = 0;
    for l in linkage["links"].as_array().unwrap() {
        for sh in l["shared"].as_array().unwrap() {
            if sh["kind"] != "deposit_address" {
                continue;
            }
            let key: Vec<char> = sh["key"].as_str().unwrap().chars().collect();
            let head: String = key[..9].iter().collect();
            let tail: String = key[key.len() - 5..].iter().collect();
            let shown = format!("{head}…{tail}");
            assert!(text.contains(&shown), "{shown} in the PDF's graph");
            assert!(html.contains(&shown), "{shown} in the HTML's graph");
            boxes += 1;
        }
    }
    assert!(boxes > 0, "the cases share deposit addresses");

    // The recorded command writes the same bytes again.
    let before: BTreeMap<String, Vec<u8>> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap())
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    let command = linkage["commands"][0].as_str().unwrap().to_string();
    std::fs::remove_dir_all(&out).unwrap();
    ok(&command.split(' ').skip(1).collect::<Vec<_>>());
    for (name, bytes) in &before {
        assert_eq!(
            &std::fs::read(out.join(name)).unwrap(),
            bytes,
            "{name} differs on rerun"
        );
    }
}
