//! Tests over the real GraphSense packs in `tests/fixtures/tags/`, the
//! malformed packs in `tests/fixtures/tags/bad/`, and small inline packs.

use std::path::PathBuf;
use std::time::Instant;

use super::*;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/tags")
}

/// Per pack: (file, tags in the file, tags after duplicate removal).
///
/// "In the file" is the number of list items at the `tags` level, counted
/// with `grep -cE '^\s*- [a-z_]+:' FILE` (every tag entry starts with
/// `- address:`, `- label:` …; concept list items have no colon) and
/// cross-checked with PyYAML (`len(yaml.safe_load(f)['tags'])`).
/// "After duplicate removal" is `len(TagPack.get_unique_tags())` from
/// graphsense-lib 2.18.1 (PyPI), whose validator accepts all 29 packs;
/// only exchange-wallets-kucoin.yaml repeats 5 tags verbatim.
const PACKS: [(&str, usize, usize); 29] = [
    ("binance.yaml", 2, 2),
    ("demo.yaml", 5, 5),
    ("electrum_phishing.yaml", 6, 6),
    ("etherscamdb_tagpack.yaml", 3117, 3117),
    ("etherscan-wordcloud-exchange.yaml", 646, 646),
    ("etherscan-wordcloud-mixing_service.yaml", 61, 61),
    ("exchange-wallets-binance.yaml", 86, 86),
    ("exchange-wallets-bitfinexcom.yaml", 135, 135),
    ("exchange-wallets-bitmex_0.yaml", 50000, 50000),
    ("exchange-wallets-bybit.yaml", 8, 8),
    ("exchange-wallets-cryptocom.yaml", 10, 10),
    ("exchange-wallets-huobi.yaml", 58, 58),
    ("exchange-wallets-kucoin.yaml", 59, 54),
    ("exchange-wallets-okx.yaml", 36, 36),
    ("hacks.yaml", 608, 608),
    ("interpol-real_services.yaml", 10, 10),
    ("lazarus.yaml", 21, 21),
    ("lazarus2.yaml", 6, 6),
    ("mixing_fc2021.yaml", 66, 66),
    ("ofac.yaml", 572, 572),
    ("plustoken.yaml", 12, 12),
    ("ransomware.yaml", 7178, 7178),
    ("ransomwhere.yaml", 7457, 7457),
    ("samourai.yaml", 36548, 36548),
    ("tornado_cash.yaml", 39, 39),
    ("twitter_hack_scam.yaml", 3, 3),
    ("usdt_blacklist.yaml", 774, 774),
    ("walletexplorer.yaml", 386, 386),
    ("wasabi_collector.yaml", 2, 2),
];

/// The tags of the public packs whose address is not one of their network
/// (checked independently with PyPI `embit`'s Base58Check and Bech32
/// decoders): (pack, address, what it is).
const REFUSED: [(&str, &str, &str); 4] = [
    // 35 characters, Base58Check checksum wrong: a mistyped address.
    (
        "etherscamdb_tagpack.yaml",
        "1Mn386ue8o3mW9866octLNP8HFqcYsphJCV",
        "checksum",
    ),
    // A TRON address (Base58Check version 0x41) filed under BTC.
    ("ofac.yaml", "TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq", "TRON"),
    // 35 characters, checksum wrong.
    (
        "plustoken.yaml",
        "1MFgcyJ7ZNSknbTBRaih6zWDE6V1A64tRYs",
        "checksum",
    ),
    // Lower-cased Base58 (not Base58: `l` is not in its alphabet).
    (
        "plustoken.yaml",
        "14bwh6gmvol5ntwbvxqjkjdtzv4y5ebtvm",
        "lower-cased",
    ),
];

fn load(name: &str) -> Loaded {
    load_file_with_warnings(&fixtures().join(name)).unwrap_or_else(|e| panic!("{e}"))
}

fn find<'a>(tags: &'a [Tag], address: &str) -> &'a Tag {
    tags.iter()
        .find(|t| t.address == address)
        .unwrap_or_else(|| panic!("no tag for {address}"))
}

#[test]
fn all_shared_packs_load_with_graphsense_counts() {
    let start = Instant::now();
    let mut total_file = 0;
    let mut total = 0;
    let mut refused = Vec::new();
    for (name, in_file, unique) in PACKS {
        let loaded = load(name);
        let r = &loaded.report;
        assert_eq!(loaded.tags.len() + r.refused, unique, "{name}");
        assert_eq!(r.tags, loaded.tags.len(), "{name}");
        assert_eq!(r.refused, r.refused_listed.len(), "{name}");
        for x in &r.refused_listed {
            assert!(x.file.ends_with(name) && x.field == "address", "{x}");
            refused.push((name, x.tag.clone(), x.line, x.reason.clone()));
        }
        total_file += in_file;
        total += loaded.tags.len();
        // Dropped duplicates are reported, and only where there are some.
        let dup_warning = loaded
            .report
            .warnings
            .iter()
            .find(|w| w.contains("duplicate"));
        if in_file == unique {
            assert!(dup_warning.is_none(), "{name}: {dup_warning:?}");
        } else {
            let expected = format!("dropped {} duplicate tag(s)", in_file - unique);
            assert!(
                dup_warning.is_some_and(|w| w.contains(&expected)),
                "{name}: {:?}",
                loaded.report.warnings
            );
        }
        // Only these two packs leave the confidence out somewhere; GraphSense
        // then gives the pack the lowest confidence, `unknown`.
        let defaulted = loaded
            .report
            .warnings
            .iter()
            .any(|w| w.contains("not all tags have a confidence"));
        assert_eq!(
            defaulted,
            matches!(name, "etherscamdb_tagpack.yaml" | "ofac.yaml"),
            "{name}"
        );
        for t in &loaded.tags {
            assert!(
                !t.label.is_empty() && !t.source.is_empty() && !t.currency.is_empty(),
                "{name}: {t:?}"
            );
            assert_eq!(t.currency, t.currency.to_uppercase());
            assert!(
                t.tx_hash.is_none() && !t.address.is_empty(),
                "{name}: {t:?}"
            );
            assert_eq!(Some(t.confidence_level), confidence_level(&t.confidence));
        }
    }
    let elapsed = start.elapsed();
    assert_eq!(total_file, 107_911);
    assert_eq!(total, 107_906 - REFUSED.len());
    // Exactly the known bad addresses are refused, each named with its
    // file, line and tag; no ETH address of the packs fails EIP-55.
    let found: Vec<(&str, &str)> = refused
        .iter()
        .map(|(name, tag, _, _)| {
            let address = tag.split("(address ").nth(1).unwrap().trim_end_matches(')');
            (*name, address)
        })
        .collect();
    let expected: Vec<(&str, &str)> = REFUSED.iter().map(|(p, a, _)| (*p, *a)).collect();
    assert_eq!(found, expected, "{refused:#?}");
    for (_, _, line, reason) in &refused {
        assert!(
            *line > 0
                && reason.contains("not a Bitcoin address")
                && reason.ends_with("network BTC"),
            "{reason}"
        );
    }
    eprintln!("loaded 29 packs, {total} tags, in {elapsed:?}");
}

#[test]
fn binance_pack_known_tag() {
    let loaded = load("binance.yaml");
    assert!(
        loaded.report.warnings.is_empty(),
        "{:?}",
        loaded.report.warnings
    );
    let t = find(&loaded.tags, "1NDyJtNTjmwk5xPNhjgAMu4HDHigtobu1s");
    let expected = Tag {
        address: "1NDyJtNTjmwk5xPNhjgAMu4HDHigtobu1s".into(),
        currency: "BTC".into(),
        network: "BTC".into(),
        label: "binance.com".into(),
        source: "https://www.coindesk.com/hackers-steal-40-7-million-in-bitcoin-from-crypto-exchange-binance"
            .into(),
        category: Some("exchange".into()),
        abuse: None,
        concepts: vec!["exchange".into()],
        actor: Some("binance".into()),
        confidence: "service_data".into(),
        confidence_level: 50,
        is_cluster_definer: true,
        context: None,
        lastmod: Some("2019-07-03".into()),
        tx_hash: None,
        tag_type: None,
        pack: "GraphSense Binance".into(),
    };
    assert_eq!(t, &expected);
    assert_eq!(t.class(), TagClass::Exchange);
    assert!(t.is_service());
}

#[test]
fn real_packs_inherit_and_override() {
    // demo.yaml: header label/category, per-tag currency.
    let demo = load("demo.yaml").tags;
    let eth = find(&demo, "0xFA8E3920daF271daB92Be9B87d9998DDd94FEF08");
    assert_eq!(
        (eth.currency.as_str(), eth.network.as_str()),
        ("ETH", "ETH")
    );
    assert_eq!(eth.label, "Internet Archive");
    assert_eq!(eth.category.as_deref(), Some("organization"));
    assert_eq!(eth.class(), TagClass::Other);
    assert_eq!(
        find(&demo, "rGeyCsqc6vKXuyTGF39WJxmTRemoV3c97h").currency,
        "XRP"
    );

    // electrum_phishing.yaml: header abuse, per-tag source and cluster flag.
    let phishing = load("electrum_phishing.yaml").tags;
    let t = find(&phishing, "Le3gXVa4SshHs3TmdrWNC434ceDQtsjMt8");
    assert_eq!(t.currency, "LTC");
    assert_eq!(t.abuse.as_deref(), Some("phishing"));
    assert_eq!(t.concepts, ["phishing"]);
    assert!(!t.is_cluster_definer);
    assert!(find(&phishing, "bc1q92md7868uun8vplp9te0vaecmxyc5rrphdyvxg").is_cluster_definer);
    assert_eq!(t.confidence, "forensic");
    assert_eq!(t.class(), TagClass::ScamFraud);
    assert!(!t.is_service());

    // etherscamdb: no confidence anywhere → GraphSense's default, unknown (5).
    let scams = load("etherscamdb_tagpack.yaml").tags;
    let t = find(&scams, "0xD0cC2B24980CBCCA47EF755Da88B220a82291407");
    assert_eq!((t.confidence.as_str(), t.confidence_level), ("unknown", 5));
    assert_eq!(t.label, "myelherwallel.com");

    // A YAML date-time lastmod; concepts given per tag plus the category.
    let wordcloud = load("etherscan-wordcloud-exchange.yaml").tags;
    let t = find(&wordcloud, "0xc96c1609a1a45ccc667b2b7fa6508e29617f7b69");
    assert_eq!(t.lastmod.as_deref(), Some("2023-08-16T12:18:52.619444"));
    assert_eq!(t.concepts, ["exchange"]);
    assert_eq!(t.label, "2GT_token (2GT)");

    // Sanctioned user (abuse wins over category).
    let lazarus = load("lazarus.yaml").tags;
    let t = find(&lazarus, "134r8iHv69xdT6p5qVKTsHrcUEuBVZAYak");
    assert_eq!(t.category.as_deref(), Some("user"));
    assert_eq!(t.concepts, ["sanction", "user"]);
    assert_eq!(t.class(), TagClass::Sanctioned);
    assert!(!t.is_cluster_definer);

    // Trailing space after a plain scalar is not part of it.
    let ransomwhere = load("ransomwhere.yaml").tags;
    let t = find(&ransomwhere, "12t9YDPgwueZ9NyMgw519p7AA8isjr6SMw");
    assert_eq!((t.currency.as_str(), t.label.as_str()), ("BTC", "WannaCry"));
    assert_eq!(t.class(), TagClass::Ransomware);

    let samourai = load("samourai.yaml").tags;
    assert!(samourai
        .iter()
        .all(|t| t.class() == TagClass::Mixer && t.is_service()));

    let tornado = load("tornado_cash.yaml").tags;
    let t = find(&tornado, "0x8589427373D6D84E98730D7795D8f6f8731FDA16");
    assert_eq!((t.currency.as_str(), t.confidence_level), ("ETH", 60));
    assert_eq!(t.class(), TagClass::Mixer);

    // usdt_blacklist: context is JSON text, category black_list.
    let usdt = load("usdt_blacklist.yaml").tags;
    let t = find(&usdt, "0x008fe40574e881e7247b50b991c0cc057d66647f");
    assert_eq!(
        t.context.as_deref(),
        Some(
            r#"{"transaction": "0x348a042dfedaf64400bf6660fe0ed523b373f172b7914985600d882ac09e0631", "token": "USDT"}"#
        )
    );
    assert_eq!(t.class(), TagClass::Other);

    // kucoin: exact repeats dropped, the same address on other networks kept.
    let kucoin = load("exchange-wallets-kucoin.yaml").tags;
    let same: Vec<(&str, &str)> = kucoin
        .iter()
        .filter(|t| t.address == "0xd6216fc19db775df9774a6e33526131da7d19a2c")
        .map(|t| (t.network.as_str(), t.label.as_str()))
        .collect();
    assert_eq!(
        same,
        [
            ("KCS", "kucoin reserve wallets"),
            ("ETH", "kucoin reserve wallets"),
            ("ETH", "kucoin USDT reserves"),
            ("USDT", "kucoin reserve wallets"),
            ("ETH", "kucoin USDC reserves"),
            ("USDC", "kucoin reserve wallets"),
            ("ETH", "kucoin KCS reserves"),
        ]
    );

    // walletexplorer: per-tag categories.
    let we = load("walletexplorer.yaml").tags;
    let t = find(&we, "1vdXJDiDSzeUAoM7eAcWZPhM9wEKmH8dG");
    assert_eq!(
        (t.label.as_str(), t.actor.as_deref()),
        ("Huobi.com", Some("huobi"))
    );
    assert!(t.is_service());
    let mut classes: Vec<TagClass> = we.iter().map(Tag::class).collect();
    classes.sort();
    classes.dedup();
    assert!(
        classes.contains(&TagClass::Gambling) && classes.contains(&TagClass::Mixer),
        "{classes:?}"
    );
}

fn parse_ok(text: &str) -> Loaded {
    parse_tagpack(text, "inline.yaml").unwrap_or_else(|e| panic!("{e}"))
}

fn parse_err(text: &str) -> String {
    match parse_tagpack(text, "inline.yaml") {
        Ok(l) => panic!("accepted: {:?}", l.tags),
        Err(e) => e.to_string(),
    }
}

const HEADER: &str = "title: Inline\ncreator: tests\nsource: https://example.org\n";
/// Real addresses (the inline packs' BTC and ETH tags are checked).
const BTC_A: &str = "1NDyJtNTjmwk5xPNhjgAMu4HDHigtobu1s";
const BTC_B: &str = "3FZbgi29cpjq2GjdwV8eyHuJJnkLtktZc5";
const ETH_A: &str = "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed";

#[test]
fn inheritance_and_override_rules() {
    let text = format!(
        "{HEADER}label: header label\ncurrency: btc\nconfidence: web_crawl\ncategory: exchange\n\
         is_cluster_definer: true\nactor: someone\nlastmod: '2021-02-03 10:00'\n\
         tags:\n\
         - address: {BTC_A}\n\
         - address: a2\n  label: own label\n  currency: ltc\n  is_cluster_definer: false\n  confidence: ownership\n\
         - address: {ETH_A}\n  network: eth\n  abuse: scam\n  concepts: [exchange, defi_dex]\n\
         - tx_hash: 'ab12'\n  context: {{a: 1, tags: [x]}}\n"
    );
    let tags = parse_ok(&text).tags;
    assert_eq!(tags.len(), 4);
    let a1 = &tags[0];
    assert_eq!(
        (a1.label.as_str(), a1.currency.as_str(), a1.network.as_str()),
        ("header label", "BTC", "BTC")
    );
    assert!(a1.is_cluster_definer);
    assert_eq!(a1.actor.as_deref(), Some("someone"));
    assert_eq!(a1.lastmod.as_deref(), Some("2021-02-03T10:00:00"));
    assert_eq!(a1.pack, "Inline");
    let a2 = &tags[1];
    assert_eq!(
        (a2.label.as_str(), a2.currency.as_str(), a2.network.as_str()),
        ("own label", "LTC", "LTC")
    );
    assert!(!a2.is_cluster_definer);
    assert_eq!(
        (a2.confidence.as_str(), a2.confidence_level),
        ("ownership", 100)
    );
    let a3 = &tags[2];
    assert_eq!((a3.currency.as_str(), a3.network.as_str()), ("BTC", "ETH"));
    assert_eq!(a3.concepts, ["exchange", "defi_dex", "scam"]);
    assert_eq!(
        a3.class(),
        TagClass::ScamFraud,
        "abuse decides before category"
    );
    let t4 = &tags[3];
    assert_eq!(
        (t4.address.as_str(), t4.tx_hash.as_deref()),
        ("", Some("ab12"))
    );
    assert_eq!(t4.context.as_deref(), Some(r#"{"a":1,"tags":["x"]}"#));

    // The header network is used by tags without their own currency; a
    // tag's own currency beats it (GraphSense sets network from it first).
    let text = format!(
        "{HEADER}label: l\nconfidence: web_crawl\ncurrency: USDT\nnetwork: ETH\n\
         tags:\n- address: {ETH_A}\n- address: {BTC_A}\n  currency: BTC\n"
    );
    let tags = parse_ok(&text).tags;
    assert_eq!(
        (tags[0].currency.as_str(), tags[0].network.as_str()),
        ("USDT", "ETH")
    );
    assert_eq!(
        (tags[1].currency.as_str(), tags[1].network.as_str()),
        ("BTC", "BTC")
    );

    // A nested `header:` mapping counts as the header.
    let text = format!(
        "header:\n  title: Nested\n  creator: tests\n  label: l\n  source: s\n  currency: BTC\n  \
         confidence: heuristic\ntags:\n- address: {BTC_A}\n"
    );
    let tags = parse_ok(&text).tags;
    assert_eq!(
        (tags[0].pack.as_str(), tags[0].confidence_level),
        ("Nested", 10)
    );

    // No confidence on some tag and none in the header → unknown, warned.
    let text = format!("{HEADER}label: l\ncurrency: BTC\ntags:\n- address: {BTC_A}\n- address: {BTC_B}\n  confidence: ownership\n");
    let loaded = parse_ok(&text);
    assert_eq!(loaded.tags[0].confidence, "unknown");
    assert_eq!(loaded.tags[1].confidence, "ownership");
    assert_eq!(
        loaded.report.warnings.len(),
        1,
        "{:?}",
        loaded.report.warnings
    );

    // An empty tag list is a valid (empty) pack.
    assert!(parse_ok(&format!("{HEADER}tags: []\n")).tags.is_empty());

    // is_public: a boolean, accepted with a deprecation warning.
    let loaded = parse_ok(&format!("{HEADER}is_public: yes\ntags: []\n"));
    assert!(
        loaded.report.warnings[0].contains("'is_public' is deprecated"),
        "{:?}",
        loaded.report.warnings
    );
}

#[test]
fn inline_rejections() {
    let base = format!("{HEADER}label: l\ncurrency: BTC\nconfidence: web_crawl\n");
    let cases: Vec<(String, &str)> = vec![
        (
            format!("{base}tags:\n- address: a1\n  is_cluster_definer: yes please\n"),
            "'is_cluster_definer' must be a boolean (true or false), found text `yes please`",
        ),
        (
            format!("{base}tags:\n- address: a1\n  label: 2021-01-01\n"),
            "'label' must be text, found a date `2021-01-01`",
        ),
        (
            format!("{base}tags:\n- address: 12345\n"),
            "'address' must be text, found an integer `12345`",
        ),
        (
            format!("{base}tags:\n- address: a1\n  label: '  '\n"),
            "text field 'label' is empty",
        ),
        (
            format!("{base}tags:\n- address: a1\n  concepts: exchange\n"),
            "'concepts' must be a list, found text `exchange`",
        ),
        (
            format!("{base}tags:\n- address: a1\n  concepts: [exchange, 7]\n"),
            "'concepts[1]' must be text, found an integer `7`",
        ),
        (
            format!("{base}tags:\n- address: a1\n  label: \"a\\0b\"\n"),
            "field 'label' contains a NUL character",
        ),
        (
            format!("{base}tags:\n- just a string\n"),
            "tags[0]: a tag must be a mapping of fields, found text",
        ),
        (format!("{base}True: 1\ntags: []\n"), "unknown field 'true'"),
        (
            format!("{base}tags:\n- address: a1\n  abuse: ~\n"),
            "field 'abuse' must not be empty (null)",
        ),
        (
            format!("{base}is_public: 'no'\ntags: []\n"),
            "'is_public' must be a boolean",
        ),
        (
            format!("{base}confidence: high\ntags: []\n"),
            "duplicate key 'confidence' (first at line 6)",
        ),
        (
            "[1, 2]".to_owned(),
            "a TagPack must be a YAML mapping, found a list",
        ),
        (String::new(), "empty file"),
        (
            format!("{base}tags:\n- address: a1\n  label: !include other.yaml\n"),
            "unsupported YAML tag '!include'",
        ),
        (
            "title: t\ncreator: c\n".to_owned(),
            "missing mandatory header field 'tags'",
        ),
    ];
    for (text, fragment) in cases {
        let err = parse_err(&text);
        assert!(err.starts_with("inline.yaml"), "{err}");
        assert!(err.contains(fragment), "expected {fragment:?} in {err:?}");
    }
}

#[test]
fn bad_fixtures_are_rejected_with_clear_messages() {
    // (file, fragments the message must contain). Every one of these packs
    // is rejected by graphsense-lib 2.18.1 as well.
    let cases: [(&str, &[&str]); 17] = [
        ("missing_label.yaml", &[":12: tags[1] (address 3CTPRyUbCKkByGmAVvDV6ReZXT1WfV3UPd): missing mandatory field 'label'"]),
        ("unknown_confidence.yaml", &[":12: tags[1] (address 3CTPRyUbCKkByGmAVvDV6ReZXT1WfV3UPd): unknown confidence 'sure' (known: override, ownership, ledger_immanent,", "unknown)"]),
        ("cluster_definer_not_boolean.yaml", &[":11: tags[0] (address 1NDyJtNTjmwk5xPNhjgAMu4HDHigtobu1s): 'is_cluster_definer' must be a boolean (true or false), found text `true`"]),
        ("yaml_syntax_error.yaml", &[":12:10: YAML error:"]),
        ("unknown_field.yaml", &[":11: tags[0] (address 1NDyJtNTjmwk5xPNhjgAMu4HDHigtobu1s): unknown field 'notes'"]),
        ("unknown_category.yaml", &[":9: header: unknown concept 'exchanges' in 'category'"]),
        ("label_is_number.yaml", &[":10: tags[0] (address 1NDyJtNTjmwk5xPNhjgAMu4HDHigtobu1s): 'label' must be text, found an integer `1234`"]),
        ("address_and_tx_hash.yaml", &["tags[0] (address 1NDyJtNTjmwk5xPNhjgAMu4HDHigtobu1s): 'address' and 'tx_hash' are mutually exclusive"]),
        ("no_address.yaml", &[":11: tags[1]: missing mandatory field 'address' (or 'tx_hash')"]),
        ("duplicate_key.yaml", &[":11:3: YAML error: duplicate key 'label' (first at line 10)"]),
        ("tags_not_a_list.yaml", &[":10: header: 'tags' must be a list, found a mapping"]),
        ("missing_title.yaml", &["header: missing mandatory header field 'title'"]),
        ("bad_lastmod.yaml", &[":9: tags[0] (address 1NDyJtNTjmwk5xPNhjgAMu4HDHigtobu1s): 'lastmod' must be a date or date-time"]),
        ("unknown_concept_in_concepts.yaml", &[":13: tags[0] (address 1NDyJtNTjmwk5xPNhjgAMu4HDHigtobu1s): unknown concept 'bank' in 'concepts'"]),
        ("null_actor.yaml", &[":11: tags[0] (address 1NDyJtNTjmwk5xPNhjgAMu4HDHigtobu1s): field 'actor' must not be empty (null)"]),
        ("unique_key_clash.yaml", &[":11: tags[1] (address 1NDyJtNTjmwk5xPNhjgAMu4HDHigtobu1s): same address/tx_hash, network, label and source as tags[0]"]),
        ("header_field_in_tag.yaml", &[":11: tags[0] (address 1NDyJtNTjmwk5xPNhjgAMu4HDHigtobu1s): field 'creator' is a header field, not allowed in a tag"]),
    ];
    let dir = fixtures().join("bad");
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = cases.iter().map(|(n, _)| (*n).to_owned()).collect();
    listed.sort();
    assert_eq!(on_disk, listed, "every bad pack is tested");
    for (name, fragments) in cases {
        let path = dir.join(name);
        let err = load_file(&path).expect_err(name).to_string();
        assert!(err.starts_with(&path.display().to_string()), "{err}");
        for fragment in fragments {
            assert!(
                err.contains(fragment),
                "{name}: expected {fragment:?} in {err:?}"
            );
        }
    }
}

#[test]
fn csv_example_loads() {
    let loaded = load("example.csv");
    assert!(loaded.report.warnings.is_empty());
    let tags = loaded.tags;
    assert_eq!(tags.len(), 4);
    let b = &tags[0];
    assert_eq!(b.address, "1NDyJtNTjmwk5xPNhjgAMu4HDHigtobu1s");
    assert_eq!(
        (b.label.as_str(), b.category.as_deref()),
        ("binance.com", Some("exchange"))
    );
    assert_eq!(
        (b.confidence.as_str(), b.confidence_level),
        ("service_data", 50)
    );
    assert!(b.is_cluster_definer && b.is_service());
    assert_eq!(
        (b.actor.as_deref(), b.pack.as_str()),
        (Some("binance"), "example.csv")
    );
    let w = &tags[1];
    assert_eq!(
        (w.currency.as_str(), w.network.as_str()),
        ("BTC", "BTC"),
        "default currency"
    );
    assert_eq!(
        (w.abuse.as_deref(), w.category.as_deref()),
        (Some("ransomware"), None)
    );
    assert_eq!(w.concepts, ["ransomware"]);
    assert!(!w.is_cluster_definer);
    assert_eq!(w.class(), TagClass::Ransomware);
    assert_eq!(w.actor, None);
    let t = &tags[2];
    assert_eq!((t.currency.as_str(), t.network.as_str()), ("ETH", "ETH"));
    assert_eq!((t.confidence.as_str(), t.confidence_level), ("csv:60", 60));
    assert_eq!(t.class(), TagClass::Mixer);
    let h = &tags[3];
    assert_eq!(h.label, "Huobi.com, per WalletExplorer");
    assert!(h.is_cluster_definer);
}

#[test]
fn csv_rejections_name_line_and_column() {
    let dir = fixtures().join("bad");
    let cases = [
        ("csv_unknown_category.csv", ":2: column 3 'category': unknown concept 'exchanges' in 'category'"),
        ("csv_confidence_above_100.csv", ":2: column 5 'confidence': confidence 150 is above 100"),
        ("csv_missing_category_column.csv", ":1: missing column 'category'"),
        ("csv_cluster_definer_not_boolean.csv", ":3: column 6 'is_cluster_definer': 'is_cluster_definer' must be true or false, found 'yes'"),
    ];
    for (name, fragment) in cases {
        let err = load_file(&dir.join(name)).expect_err(name).to_string();
        assert!(
            err.contains(name) && err.contains(fragment),
            "expected {fragment:?} in {err:?}"
        );
    }
    let head = "address,label,category,source,confidence\n";
    let inline = [
        (format!("{head}a1,l,exchange,s\n"), "x.csv:2: row has 4 field(s), the header row has 5"),
        (format!("{head}a1,l,exchange,s,sure\n"), "x.csv:2: column 5 'confidence': unknown confidence 'sure' (an integer 0-100 or one of: override,"),
        (format!("{head}a1,,exchange,s,50\n"), "x.csv:2: column 2 'label': 'label' must not be empty"),
        ("address,label,category,source,confidence,colour\n".to_owned(), "x.csv:1: column 6 'colour': unknown column 'colour'"),
        ("address,label,category,source,confidence,Label\n".to_owned(), "x.csv:1: column 6 'Label': column 'Label' appears twice (also column 2)"),
        (String::new(), "x.csv:1: missing column 'address'"),
        (
            format!("# a comment\n{head}\na1,l,exchanges,s,50\n"),
            "x.csv:4: column 3 'category': unknown concept 'exchanges'",
        ),
        (
            format!("{head}a1,l,exchange,s,50\n\n# comment\n\na2,l,exchange,s\n"),
            "x.csv:6: row has 4 field(s), the header row has 5",
        ),
        (
            "\n# comment\naddress,label,category,source,confidence,colour\n".to_owned(),
            "x.csv:3: column 6 'colour': unknown column",
        ),
        (format!("{head}a1,l,exchange,s,-5\n"), "unknown confidence '-5'"),
    ];
    for (text, fragment) in inline {
        let err = parse_csv(text.as_bytes(), "x.csv")
            .expect_err(fragment)
            .to_string();
        assert!(err.contains(fragment), "expected {fragment:?} in {err:?}");
    }
    let bad_utf8 = b"address,label,category,source,confidence\na1,l\xff,exchange,s,50\n";
    let err = parse_csv(bad_utf8, "x.csv").unwrap_err().to_string();
    assert!(err.contains("x.csv:2: field 2 is not valid UTF-8"), "{err}");

    // Duplicates are dropped with a warning, like GraphSense's.
    let upper = format!("0x{}", ETH_A[2..].to_uppercase());
    let text = format!(
        "address,label,category,source,confidence,currency\n\
         {ETH_A},l,exchange,s,50,ETH\n{upper},L,exchange,S,60,eth\n{ETH_A},l,exchange,s2,50,ETH\n"
    );
    let loaded = parse_csv(text.as_bytes(), "x.csv").unwrap();
    assert_eq!(loaded.tags.len(), 2);
    assert!(
        loaded.report.warnings[0].contains("dropped 1 duplicate row(s)"),
        "{:?}",
        loaded.report.warnings
    );
}

#[test]
fn load_file_dispatch_and_io_errors() {
    let err = load_file(&fixtures().join("LICENSE")).unwrap_err();
    assert!(matches!(err, TagError::UnsupportedFormat { .. }), "{err}");
    let err = load_file(&fixtures().join("no-such-pack.yaml")).unwrap_err();
    assert!(matches!(err, TagError::Io { .. }), "{err}");
    assert!(
        err.to_string().contains("no-such-pack.yaml: cannot read"),
        "{err}"
    );
    // Invalid UTF-8 in a pack is a positioned error, not a panic.
    let dir = std::env::temp_dir().join(format!("tracer-tags-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("latin1.yaml");
    std::fs::write(&path, b"title: t\ncreator: Andr\xe9\ntags: []\n").unwrap();
    let err = load_file(&path).unwrap_err().to_string();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(
        err.contains("latin1.yaml:2:14: YAML error: not valid UTF-8"),
        "{err}"
    );
}

/// A small deterministic generator for the robustness test.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}

#[test]
fn mangled_input_never_panics() {
    let seeds = [
        std::fs::read_to_string(fixtures().join("demo.yaml")).unwrap(),
        std::fs::read_to_string(fixtures().join("electrum_phishing.yaml")).unwrap(),
        std::fs::read_to_string(fixtures().join("etherscan-wordcloud-mixing_service.yaml"))
            .unwrap()[..2000]
            .to_owned(),
        std::fs::read_to_string(fixtures().join("example.csv")).unwrap(),
    ];
    let alphabet = b" \n\t:-[]{}'\"#&*!|>?,%@`~0x\\\x00";
    let mut rng = Lcg(0x7a95);
    let mut accepted = 0;
    for seed in &seeds {
        let bytes = seed.as_bytes();
        // Every prefix.
        for cut in 0..bytes.len() {
            if let Ok(text) = std::str::from_utf8(&bytes[..cut]) {
                accepted += usize::from(parse_tagpack(text, "cut.yaml").is_ok());
            }
            let _ = parse_csv(&bytes[..cut], "cut.csv");
        }
        // Random edits with YAML-significant characters.
        for _ in 0..1500 {
            let mut m = bytes.to_vec();
            for _ in 0..(1 + rng.next() % 4) {
                let pos = usize::try_from(rng.next()).unwrap() % m.len();
                let c = alphabet[usize::try_from(rng.next()).unwrap() % alphabet.len()];
                match rng.next() % 3 {
                    0 => m[pos] = c,
                    1 => m.insert(pos, c),
                    _ => {
                        m.remove(pos);
                    }
                }
            }
            if let Ok(text) = std::str::from_utf8(&m) {
                let _ = parse_tagpack(text, "mangled.yaml");
            }
            let _ = parse_csv(&m, "mangled.csv");
        }
    }
    assert!(accepted > 0);
}

#[test]
fn bad_addresses_are_refused_with_file_line_tag_and_field() {
    let text = format!(
        "{HEADER}label: l\ncurrency: BTC\nconfidence: web_crawl\ntags:\n\
         - address: {BTC_A}\n\
         - address: 1NDyJtNTjmwk5xPNhjgAMu4HDHigtobu1t\n\
         - address: '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD'\n  currency: ETH\n\
         - address: Le3gXVa4SshHs3TmdrWNC434ceDQtsjMt8\n  currency: LTC\n\
         - address: TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq\n\
         - address: '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed'\n  currency: USDT\n  network: ETH\n"
    );
    let loaded = parse_ok(&text);
    let kept: Vec<&str> = loaded.tags.iter().map(|t| t.address.as_str()).collect();
    assert_eq!(
        kept,
        [
            BTC_A,
            "Le3gXVa4SshHs3TmdrWNC434ceDQtsjMt8",
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
        ]
    );
    let r = &loaded.report;
    assert_eq!((r.tags, r.refused), (3, 3));
    assert_eq!(r.unchecked, [("LTC".to_owned(), 1)].into_iter().collect());
    let lines: Vec<String> = r.refused_listed.iter().map(ToString::to_string).collect();
    assert!(
        lines[0].starts_with(
            "inline.yaml:9: tags[1] (address 1NDyJtNTjmwk5xPNhjgAMu4HDHigtobu1t): field 'address': \
             not a Bitcoin address: \"1NDyJtNTjmwk5xPNhjgAMu4HDHigtobu1t\" ("
        ) && lines[0].ends_with("; network BTC"),
        "{lines:#?}"
    );
    assert!(
        lines[1].starts_with(
            "inline.yaml:10: tags[2] (address 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD): \
             field 'address': not an Ethereum address: "
        ) && lines[1].contains("EIP-55")
            && lines[1].ends_with("; network ETH"),
        "{lines:#?}"
    );
    assert!(
        lines[2].starts_with(
            "inline.yaml:14: tags[4] (address TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq): field 'address': \
             not a Bitcoin address"
        ),
        "{lines:#?}"
    );
    assert!(
        r.warnings.iter().any(|w| w.starts_with(
            "inline.yaml: refused 3 tag(s) whose address is not an address of their network"
        )),
        "{:?}",
        r.warnings
    );

    // CSV rows too, by line.
    let csv = format!(
        "address,label,category,source,confidence,currency\n\
         {BTC_A},b,exchange,s,50,\n\
         {BTC_B}x,b,exchange,s,50,BTC\n\
         0x12,e,exchange,s,50,ETH\n"
    );
    let loaded = parse_csv(csv.as_bytes(), "x.csv").unwrap();
    assert_eq!(loaded.tags.len(), 1);
    let lines: Vec<String> = loaded
        .report
        .refused_listed
        .iter()
        .map(ToString::to_string)
        .collect();
    assert!(
        lines[0].starts_with(&format!(
            "x.csv:3: row (address {BTC_B}x): field 'address': not a Bitcoin address"
        )),
        "{lines:#?}"
    );
    assert!(
        lines[1]
            .starts_with("x.csv:4: row (address 0x12): field 'address': not an Ethereum address"),
        "{lines:#?}"
    );
}

#[test]
fn refused_tags_are_counted_past_the_listed_ones() {
    let mut text = format!("{HEADER}label: l\ncurrency: BTC\nconfidence: web_crawl\ntags:\n");
    for i in 0..MAX_REFUSED_LISTED + 50 {
        text.push_str(&format!("- address: 1bad{i}\n"));
    }
    let loaded = parse_ok(&text);
    assert!(loaded.tags.is_empty());
    assert_eq!(loaded.report.refused, MAX_REFUSED_LISTED + 50);
    assert_eq!(loaded.report.refused_listed.len(), MAX_REFUSED_LISTED);
}

#[test]
fn the_header_may_follow_the_tags_and_defaults_still_apply() {
    // YAML lets the header's keys stand after the list: the first pass
    // reads them, the second applies them to every tag.
    let text = format!(
        "tags:\n- address: {BTC_A}\n- address: {BTC_B}\n  label: own\n\
         title: Late header\ncreator: tests\nsource: s\nlabel: late label\ncurrency: BTC\n"
    );
    let loaded = parse_ok(&text);
    let got: Vec<(&str, &str, &str)> = loaded
        .tags
        .iter()
        .map(|t| (t.label.as_str(), t.pack.as_str(), t.confidence.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("late label", "Late header", "unknown"),
            ("own", "Late header", "unknown")
        ]
    );
    // A `header:` mapping's tags list is the one in force.
    let text = format!(
        "title: T\ncreator: c\nsource: s\nlabel: l\ncurrency: BTC\nconfidence: web_crawl\n\
         tags:\n- address: {BTC_A}\nheader:\n  tags:\n  - address: {BTC_B}\n"
    );
    let addresses: Vec<String> = parse_ok(&text)
        .tags
        .into_iter()
        .map(|t| t.address)
        .collect();
    assert_eq!(addresses, [BTC_B]);
}

#[test]
fn streaming_limits_name_what_they_refuse() {
    let base = format!("{HEADER}label: l\ncurrency: BTC\nconfidence: web_crawl\n");
    let err = parse_err(&format!("{base}tags: &t\n- address: {BTC_A}\n"));
    assert!(
        err.contains("an anchor on the 'tags' list is not supported"),
        "{err}"
    );
    let err = parse_err(&format!("{base}context: &t [1]\ntags: *t\n"));
    assert!(
        err.contains("the 'tags' list must be written out, not an alias"),
        "{err}"
    );
    // One tag expanding to more nodes than are held at once: refused,
    // where the whole pack used to be built in memory. (The comment makes
    // the file large enough that the alias budget, 4 nodes per byte, is not
    // what stops it.)
    let items = vec!["exchange"; 1000].join(", ");
    let aliases = vec!["*c"; 1001].join(", ");
    let text = format!(
        "{}{base}tags:\n- address: {BTC_A}\n  concepts: &c [{items}]\n\
         - address: {BTC_B}\n  context: {{big: [{aliases}]}}\n",
        format!("#{}\n", "x".repeat(79)).repeat(4000)
    );
    let err = parse_err(&text);
    assert!(
        err.contains("more than 1000000 YAML nodes held at once"),
        "{err}"
    );
}
