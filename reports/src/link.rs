//! Cross-case linkage: cases from any prefecture whose traced funds share
//! an exchange deposit address (one customer account), an address or
//! cluster (one controller), or a transaction (funds meeting downstream)
//! are linked, each link scored and kept with its evidence txids; linked
//! cases form suspected groups.
//!
//! Services are not shared entities (everyone uses exchanges) — only
//! exchange deposit addresses are, as customer accounts; a mixer's or
//! coordinator's addresses and an exchange's tagged wallets are not.
//! CoinJoins stop traces, so mixing with strangers links nobody. An
//! untagged service that traces pass through would link cases wrongly:
//! tag it.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::doc::{Amount, TraceDoc};
use crate::lang::Lang;
use crate::units::amount_text;

/// Format version of `linkage.json`.
pub const LINK_FORMAT: u32 = 1;

/// Evidence txids kept per case and entity.
const EVIDENCE: usize = 5;

/// A case in the linkage.
#[derive(Debug, Clone, Serialize)]
pub struct CaseRow {
    /// Case id.
    pub id: String,
    /// Prefecture.
    pub prefecture: String,
    /// Crime type.
    pub crime: String,
    /// Reported date.
    pub reported: String,
    /// Traced value.
    pub traced: String,
    /// Suspected group (index into `groups`), if linked.
    pub group: Option<usize>,
}

/// What two cases share.
#[derive(Debug, Clone, Serialize)]
pub struct SharedRow {
    /// `deposit_address`, `address`, `cluster` or `transaction`.
    pub kind: &'static str,
    /// The address, cluster id or txid.
    pub key: String,
    /// Service of a deposit address; address of a cluster.
    pub label: String,
    /// Traced value of each case there.
    pub amounts: [String; 2],
    /// Hops from each case's seeds.
    pub hops: [u32; 2],
    /// Transactions that show each case's funds there.
    pub evidence: [Vec<String>; 2],
    /// Heuristics the link relies on.
    pub heuristics: Vec<String>,
    /// Confidence in percent.
    pub confidence: u8,
}

/// A link between two cases.
#[derive(Debug, Clone, Serialize)]
pub struct LinkRow {
    /// First case id.
    pub a: String,
    /// Second case id.
    pub b: String,
    /// Strength (0–1): the strongest shared entity's weight × confidence.
    pub score: f64,
    /// Everything they share, strongest first.
    pub shared: Vec<SharedRow>,
}

/// A suspected group: cases linked directly or through other cases.
#[derive(Debug, Clone, Serialize)]
pub struct GroupRow {
    /// Case ids.
    pub cases: Vec<String>,
    /// Prefectures involved.
    pub prefectures: Vec<String>,
}

/// Cases and groups per prefecture.
#[derive(Debug, Clone, Serialize)]
pub struct PrefectureRow {
    /// Prefecture.
    pub prefecture: String,
    /// Cases.
    pub cases: usize,
    /// Cases linked to another case.
    pub linked: usize,
    /// Groups with a case here.
    pub groups: usize,
    /// Groups that reach other prefectures too.
    pub cross_prefecture_groups: usize,
}

/// The linkage report as data.
#[derive(Debug, Clone, Serialize)]
pub struct Linkage {
    /// Format version.
    pub format: u32,
    /// Language.
    pub lang: Lang,
    /// Cases.
    pub cases: Vec<CaseRow>,
    /// Links, strongest first.
    pub links: Vec<LinkRow>,
    /// Suspected groups, largest first.
    pub groups: Vec<GroupRow>,
    /// Per prefecture.
    pub prefectures: Vec<PrefectureRow>,
    /// The command that made it.
    pub commands: Vec<String>,
}

/// One case's footprint at an entity.
#[derive(Clone)]
struct Side {
    amount: Amount,
    hop: u32,
    evidence: Vec<String>,
    confidence: u8,
    heuristics: Vec<String>,
    label: String,
}

fn weight(kind: &str) -> f64 {
    match kind {
        "deposit_address" => 1.0,
        "address" => 0.95,
        "cluster" => 0.9,
        _ => 0.85,
    }
}

fn text(doc: &TraceDoc, key: &str) -> String {
    match &doc
        .case
        .as_ref()
        .map(|c| c[key].clone())
        .unwrap_or_default()
    {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        v => v.to_string(),
    }
}

/// Every entity a case's trace reached, keyed by kind and key.
fn footprint(doc: &TraceDoc) -> BTreeMap<(&'static str, String), Side> {
    let mut out = BTreeMap::new();
    let clustered = doc.params.granularity.get("cluster").is_some();
    // A deposit address is one customer's account only at an exchange and
    // only if it is not the exchange's own (tagged) wallet.
    for e in doc
        .endpoints
        .iter()
        .filter(|e| e.class.eq_ignore_ascii_case("exchange") && e.evidence.rule != "tagged_address")
    {
        let mut evidence: Vec<String> = e.outputs.iter().map(|o| o.txid.clone()).collect();
        evidence.sort();
        evidence.dedup();
        evidence.truncate(EVIDENCE);
        evidence.extend(e.evidence.sweep_txid.clone());
        out.insert(
            ("deposit_address", e.deposit_address.clone()),
            Side {
                amount: e.amount,
                hop: e.outputs.iter().map(|o| o.hop).min().unwrap_or(0),
                evidence,
                confidence: e.evidence.confidence,
                heuristics: vec![e.evidence.rule.clone()],
                label: e.service.clone(),
            },
        );
    }
    let mut into: BTreeMap<usize, BTreeSet<String>> = BTreeMap::new();
    let mut per_tx: BTreeMap<&str, (Amount, u32)> = BTreeMap::new();
    for e in &doc.edges {
        into.entry(e.to).or_default().insert(e.txid.clone());
        let t = per_tx.entry(e.txid.as_str()).or_insert((0, e.hop));
        t.0 += e.amount;
        t.1 = t.1.min(e.hop);
    }
    for (i, n) in doc.nodes.iter().enumerate() {
        // Services, their deposit addresses (compared above) and CoinJoins
        // are shared by strangers.
        if n.service.is_some() || matches!(n.role.as_str(), "endpoint" | "coinjoin") {
            continue;
        }
        let (kind, key, heuristics, confidence) = match (clustered, n.cluster) {
            (true, Some(c)) => (
                "cluster",
                c.to_string(),
                vec!["multi_input".to_string()],
                99,
            ),
            _ => ("address", n.address.clone(), Vec::new(), 100),
        };
        let mut evidence: Vec<String> = into.get(&i).into_iter().flatten().cloned().collect();
        evidence.truncate(EVIDENCE);
        out.insert(
            (kind, key),
            Side {
                amount: n.received,
                hop: n.hop,
                evidence,
                confidence,
                heuristics,
                label: n.address.clone(),
            },
        );
    }
    for (txid, (amount, hop)) in per_tx {
        out.insert(
            ("transaction", txid.to_string()),
            Side {
                amount,
                hop,
                evidence: vec![txid.to_string()],
                confidence: 100,
                heuristics: Vec::new(),
                label: String::new(),
            },
        );
    }
    out
}

/// Links the cases of `docs` (one trace per case).
pub fn link(docs: &[TraceDoc], lang: Lang, commands: Vec<String>) -> Linkage {
    let prints: Vec<_> = docs.iter().map(footprint).collect();
    let mut at: BTreeMap<(&'static str, String), Vec<usize>> = BTreeMap::new();
    for (i, p) in prints.iter().enumerate() {
        for k in p.keys() {
            at.entry(k.clone()).or_default().push(i);
        }
    }
    let mut pairs: BTreeMap<(usize, usize), Vec<SharedRow>> = BTreeMap::new();
    for (key, cases) in &at {
        for (x, &a) in cases.iter().enumerate() {
            for &b in &cases[x + 1..] {
                let (sa, sb) = (&prints[a][key], &prints[b][key]);
                let unit =
                    |d: &TraceDoc, v: Amount| amount_text(v, d.unit.decimals, &d.unit.symbol);
                let mut heuristics = sa.heuristics.clone();
                heuristics.extend(sb.heuristics.iter().cloned());
                heuristics.sort();
                heuristics.dedup();
                pairs.entry((a, b)).or_default().push(SharedRow {
                    kind: key.0,
                    key: key.1.clone(),
                    label: if sa.label.is_empty() {
                        sb.label.clone()
                    } else {
                        sa.label.clone()
                    },
                    amounts: [unit(&docs[a], sa.amount), unit(&docs[b], sb.amount)],
                    hops: [sa.hop, sb.hop],
                    evidence: [sa.evidence.clone(), sb.evidence.clone()],
                    heuristics,
                    confidence: sa.confidence.min(sb.confidence),
                });
            }
        }
    }
    let score = |s: &SharedRow| weight(s.kind) * f64::from(s.confidence) / 100.0;
    let mut links: Vec<LinkRow> = pairs
        .into_iter()
        .map(|((a, b), mut shared)| {
            shared.sort_by(|x, y| score(y).total_cmp(&score(x)).then(x.key.cmp(&y.key)));
            LinkRow {
                a: text(&docs[a], "id"),
                b: text(&docs[b], "id"),
                score: shared.first().map_or(0.0, score),
                shared,
            }
        })
        .collect();
    links.sort_by(|x, y| {
        y.score
            .total_cmp(&x.score)
            .then((&x.a, &x.b).cmp(&(&y.a, &y.b)))
    });
    // Groups: connected components of the links.
    let ids: Vec<String> = docs.iter().map(|d| text(d, "id")).collect();
    let mut parent: Vec<usize> = (0..docs.len()).collect();
    fn find(p: &mut [usize], mut i: usize) -> usize {
        while p[i] != i {
            p[i] = p[p[i]];
            i = p[i];
        }
        i
    }
    for l in &links {
        let (a, b) = (
            ids.iter().position(|i| *i == l.a),
            ids.iter().position(|i| *i == l.b),
        );
        if let (Some(a), Some(b)) = (a, b) {
            let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
            parent[ra.max(rb)] = ra.min(rb);
        }
    }
    let mut members: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in 0..docs.len() {
        let r = find(&mut parent, i);
        members.entry(r).or_default().push(i);
    }
    let mut groups: Vec<Vec<usize>> = members.into_values().filter(|m| m.len() > 1).collect();
    groups.sort_by(|x, y| y.len().cmp(&x.len()).then(x.cmp(y)));
    let mut group_of = vec![None; docs.len()];
    for (g, m) in groups.iter().enumerate() {
        for &i in m {
            group_of[i] = Some(g);
        }
    }
    let cases: Vec<CaseRow> = docs
        .iter()
        .enumerate()
        .map(|(i, d)| CaseRow {
            id: ids[i].clone(),
            prefecture: text(d, "prefecture"),
            crime: text(d, "crime"),
            reported: text(d, "reported"),
            traced: amount_text(d.summary.seed_value, d.unit.decimals, &d.unit.symbol),
            group: group_of[i],
        })
        .collect();
    let group_rows: Vec<GroupRow> = groups
        .iter()
        .map(|m| {
            let prefectures: BTreeSet<String> =
                m.iter().map(|&i| cases[i].prefecture.clone()).collect();
            let mut cases: Vec<String> = m.iter().map(|&i| ids[i].clone()).collect();
            cases.sort();
            GroupRow {
                cases,
                prefectures: prefectures.into_iter().collect(),
            }
        })
        .collect();
    let mut by_pref: BTreeMap<String, PrefectureRow> = BTreeMap::new();
    for c in &cases {
        let row = by_pref
            .entry(c.prefecture.clone())
            .or_insert(PrefectureRow {
                prefecture: c.prefecture.clone(),
                cases: 0,
                linked: 0,
                groups: 0,
                cross_prefecture_groups: 0,
            });
        row.cases += 1;
        row.linked += usize::from(c.group.is_some());
    }
    for g in &group_rows {
        for p in &g.prefectures {
            if let Some(row) = by_pref.get_mut(p) {
                row.groups += 1;
                row.cross_prefecture_groups += usize::from(g.prefectures.len() > 1);
            }
        }
    }
    Linkage {
        format: LINK_FORMAT,
        lang,
        cases,
        links,
        groups: group_rows,
        prefectures: by_pref.into_values().collect(),
        commands,
    }
}
