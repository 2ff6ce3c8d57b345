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

/// The simulated chain of seed 7 with tags and clusters, every truth case
/// as a case file (`SIM-<id>`), and the first of them exported as another
/// force's bundle and imported.
struct Linked {
    tmp: tempfile::TempDir,
    db: PathBuf,
    /// Case id → truth group.
    group_of: BTreeMap<String, u64>,
    /// Laundering route of each group.
    route: BTreeMap<u64, String>,
    /// Every case file; the first is the imported one.
    files: Vec<PathBuf>,
    /// Where the first case was imported.
    imports: PathBuf,
}

impl Linked {
    fn new() -> Linked {
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
        let remote = &files[0];
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
        Linked {
            tmp,
            db,
            group_of,
            route,
            files,
            imports,
        }
    }

    /// The case given as a bundle.
    fn remote(&self) -> &Path {
        &self.files[0]
    }

    /// The cases traced here.
    fn local(&self) -> &[PathBuf] {
        &self.files[1..]
    }

    /// `tracer --db DB link CASES… [--imports DIR] --out OUT`, expected to
    /// fail; its stderr.
    fn refused(&self, cases: &[&Path], imports: Option<&Path>) -> String {
        let out = self.tmp.path().join("link-refused");
        let mut args = vec!["--db", s(&self.db), "link"];
        args.extend(cases.iter().map(|p| s(p)));
        if let Some(i) = imports {
            args.extend(["--imports", s(i)]);
        }
        args.extend(["--out", s(&out)]);
        let e = support::stderr(&support::fails(&args));
        assert!(!out.exists(), "nothing written");
        e
    }
}

#[test]
fn linkage_recovers_the_simulated_groups_and_keeps_others_apart() {
    let linked = Linked::new();
    let (tmp, db, imports) = (&linked.tmp, &linked.db, &linked.imports);
    let (group_of, route, files) = (&linked.group_of, &linked.route, &linked.files);
    let local = linked.local();
    let out = tmp.path().join("link");
    let mut args = vec!["--db", s(db), "link"];
    args.extend(local.iter().map(|p| s(p)));
    args.extend([
        "--imports",
        s(imports),
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

    // In Japanese, the report speaks Japanese: prefectures, kinds of
    // shared entity, heuristics; the English one keeps English.
    let ja = tmp.path().join("link-ja");
    let mut args = vec!["--db", s(db), "link"];
    args.extend(local.iter().map(|p| s(p)));
    args.extend(["--imports", s(imports), "--out", s(&ja), "--lang", "ja"]);
    ok(&args);
    let ja_html = std::fs::read_to_string(ja.join("linkage.html")).unwrap();
    let ja_pdf = support::pdf_text(&ja.join("linkage.pdf"));
    let prefectures: BTreeSet<&str> = linkage["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["prefecture"].as_str().unwrap())
        .collect();
    for (name, text) in [
        ("linkage.html", support::html_text(&ja_html)),
        ("linkage.pdf", ja_pdf),
    ] {
        let english = support::english_terms(&text);
        assert!(english.is_empty(), "{name} (ja) holds {english:?}");
        for p in &prefectures {
            let ja = reports::terms::prefecture(p, reports::Lang::Ja);
            assert!(text.contains(&ja), "{name} names {ja}");
        }
    }
    let cases_csv = std::fs::read(ja.join("cases.csv")).unwrap();
    let cases_csv = String::from_utf8_lossy(&cases_csv);
    for p in &prefectures {
        assert!(
            !cases_csv.contains(&format!("\"{p}\"")),
            "cases.csv (ja) names {p}"
        );
    }
    let en_text = support::html_text(&html);
    for p in &prefectures {
        assert!(en_text.contains(p), "the English report names {p}");
    }
    assert!(
        !support::english_terms(&en_text).is_empty(),
        "English terms in English"
    );
}

#[test]
fn a_case_given_twice_is_refused_naming_both_files() {
    let linked = Linked::new();
    let local = linked.local();
    // One file twice.
    let twice = &local[0];
    let e = linked.refused(&[twice, &local[1], twice], None);
    assert!(
        e.contains(&format!("{} is given twice", twice.display())),
        "{e}"
    );
    // Two files of one case.
    let copy = linked.tmp.path().join("copy.toml");
    std::fs::copy(twice, &copy).unwrap();
    let e = linked.refused(&[twice, &copy], None);
    let id = twice.file_stem().unwrap().to_str().unwrap();
    assert!(
        e.contains(&format!(
            "case {id} is given twice, in {} and in {}",
            twice.display(),
            copy.display()
        )),
        "{e}"
    );
    // A case also imported.
    let remote = linked.remote();
    let remote_id = remote.file_stem().unwrap().to_str().unwrap();
    let e = linked.refused(&[&local[0], remote], Some(&linked.imports));
    assert!(
        e.contains(&format!(
            "case {remote_id} is given twice, in {} and in {}",
            remote.display(),
            linked.imports.join(remote_id).join("trace.json").display()
        )),
        "{e}"
    );
}

#[test]
fn imported_bundles_are_verified_again_whenever_linked() {
    let linked = Linked::new();
    let remote_id = linked.remote().file_stem().unwrap().to_str().unwrap();
    let bundle = linked.imports.join(remote_id);
    // An imported trace changed after the import: one digit of an amount,
    // the file still a valid trace.
    let trace = bundle.join("trace.json");
    let original = std::fs::read(&trace).unwrap();
    // One edit that keeps it a valid trace file: only the manifest can
    // tell (the tool version it claims).
    let text = String::from_utf8(original.clone()).unwrap();
    let edited = text.replacen("\"tool\": \"tracer ", "\"tool\": \"tracer 9", 1);
    assert_ne!(edited, text);
    let bytes = edited.into_bytes();
    std::fs::write(&trace, &bytes).unwrap();
    trace_file::parse(&bytes).expect("still a trace file");
    let local = [linked.local()[0].as_path()];
    let e = linked.refused(&local, Some(&linked.imports));
    assert!(
        e.contains(&format!(
            "bundle {}: trace.json was changed",
            bundle.display()
        )),
        "{e}"
    );
    // A file added to it, or replaced by a link.
    std::fs::write(&trace, &original).unwrap();
    std::fs::write(bundle.join("notes.txt"), "added").unwrap();
    let e = linked.refused(&local, Some(&linked.imports));
    assert!(e.contains("notes.txt is not in the manifest"), "{e}");
    std::fs::remove_file(bundle.join("notes.txt")).unwrap();
    let moved = linked.tmp.path().join("trace.json");
    std::fs::rename(&trace, &moved).unwrap();
    std::os::unix::fs::symlink(&moved, &trace).unwrap();
    let e = linked.refused(&local, Some(&linked.imports));
    assert!(e.contains("trace.json is a symbolic link"), "{e}");
    // Put back as imported, it links again.
    std::fs::remove_file(&trace).unwrap();
    std::fs::rename(&moved, &trace).unwrap();
    let out = linked.tmp.path().join("link");
    ok(&[
        "--db",
        s(&linked.db),
        "link",
        s(local[0]),
        "--imports",
        s(&linked.imports),
        "--out",
        s(&out),
    ]);
}
