//! Cross-case linkage: cases from any prefecture whose traced funds share
//! an exchange deposit address (one customer account), an address or
//! cluster (one controller), or a transaction (funds meeting downstream)
//! are linked, each link scored and kept with its evidence txids; linked
//! cases form suspected groups.
//!
//! Services are not shared entities (everyone uses exchanges) — only
//! exchange deposit addresses are, as customer accounts; a mixer's or
//! coordinator's addresses and an exchange's tagged wallets are not.
//! CoinJoins stop traces, so mixing with strangers links nobody. Nor do
//! public addresses that anybody may pay or call: contracts (Ethereum) and
//! addresses with many distinct senders in the ledger — unless a tag
//! attributes them to criminals (scam, ransomware, sanctions). Clusters
//! are shared entities only when the build joined more than one address,
//! and they name the rules that join them on their chain (co-spend on
//! Bitcoin; deposit-address reuse on Ethereum, which has no co-spend).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use trace_file::{Amount, Chain, EndpointRule, NodeLevel, NodeRole, TagClass, TraceFile, Unit};

use crate::lang::Lang;

/// Format version of `linkage.json`. 2: amounts as integer smallest units
/// with their unit (and a text beside them), entities left out as public.
pub const LINK_FORMAT: u32 = 2;

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
    /// The asset the case's trace follows: every amount of the case is in
    /// its smallest unit.
    pub unit: Unit,
    /// Traced value (smallest unit).
    pub traced: Amount,
    /// Traced value in whole units with the symbol.
    pub traced_text: String,
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
    /// Traced value of each case there (smallest unit of each case's unit).
    pub amounts: [Amount; 2],
    /// The same in whole units with the symbol.
    pub amounts_text: [String; 2],
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

/// An entity several cases reached that links none of them: anybody may
/// pay or call it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct PublicRow {
    /// `address` or `cluster`.
    pub kind: &'static str,
    /// The address or cluster id.
    pub key: String,
    /// Why it links nobody (`contract`, `≥ 50 distinct senders`).
    pub reason: String,
    /// The cases whose traces reached it.
    pub cases: Vec<String>,
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
    /// Entities several cases reached that link none of them, with why.
    pub public: Vec<PublicRow>,
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

/// The case's id (the file's first seed when it has no case).
fn case_id(doc: &TraceFile) -> String {
    match &doc.case {
        Some(c) => c.id.clone(),
        None => doc
            .seeds
            .first()
            .map_or_else(String::new, |s| s.txid.clone()),
    }
}

/// Why a node is public — anybody may pay or call it — if it is, and no
/// tag attributes it to criminals. `senders` gives the node's distinct
/// senders in the ledger when the caller could count them.
fn public(n: &trace_file::Node, senders: Option<u32>) -> Option<String> {
    if n.tags.iter().any(|t| t.class.is_criminal()) {
        return None;
    }
    if n.contract {
        return Some("contract".into());
    }
    match senders {
        Some(s) if s >= PUBLIC_SENDERS => Some(format!("≥ {PUBLIC_SENDERS} distinct senders")),
        _ => None,
    }
}

/// Distinct senders from which an address counts as public: many unrelated
/// people pay into it (a service nobody tagged, a payment processor), so
/// two cases' funds meeting there say nothing about who controls them.
pub const PUBLIC_SENDERS: u32 = 50;

/// What a cluster node stands on: its kind and key, the rules that join
/// its addresses, and their confidence — a single address (a cluster of
/// one, or any node at address level) is an address.
fn entity_of(doc: &TraceFile, n: &trace_file::Node) -> (&'static str, String, Vec<String>, u8) {
    let joined = n.cluster_size.is_some_and(|s| s > 1);
    match (doc.params.level, n.cluster) {
        (NodeLevel::Address, _) | (_, None) => ("address", n.address.clone(), Vec::new(), 100),
        (_, Some(_)) if !joined => ("address", n.address.clone(), Vec::new(), 100),
        (level, Some(c)) => {
            let (rules, confidence): (&[&str], u8) = match (doc.ledger.chain, level) {
                (Chain::Ethereum, _) => (&["deposit_reuse"], 90),
                (Chain::Bitcoin, NodeLevel::CospendChange) => (&["change", "multi_input"], 90),
                (Chain::Bitcoin, _) => (&["multi_input"], 99),
            };
            (
                "cluster",
                c.to_string(),
                rules.iter().map(|r| r.to_string()).collect(),
                confidence,
            )
        }
    }
}

/// Every entity a case's trace reached, keyed by kind and key, and the
/// public nodes left out (keyed the same way, with why).
#[allow(clippy::type_complexity)]
fn footprint(
    doc: &TraceFile,
    senders: &dyn Fn(&str) -> Option<u32>,
) -> Result<
    (
        BTreeMap<(&'static str, String), Side>,
        BTreeMap<(&'static str, String), String>,
    ),
    trace_file::Overflow,
> {
    let mut out = BTreeMap::new();
    let mut left_out = BTreeMap::new();
    // A deposit address is one customer's account only at an exchange and
    // only if it is not the exchange's own (tagged) wallet.
    for e in doc
        .endpoints
        .iter()
        .filter(|e| e.class == TagClass::Exchange && e.evidence.rule != EndpointRule::TaggedAddress)
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
                heuristics: vec![e.evidence.rule.name().to_string()],
                label: e.service.clone(),
            },
        );
    }
    let mut into: BTreeMap<usize, BTreeSet<String>> = BTreeMap::new();
    let mut per_tx: BTreeMap<&str, (Amount, u32)> = BTreeMap::new();
    for e in &doc.edges {
        into.entry(e.to).or_default().insert(e.txid.clone());
        let t = per_tx
            .entry(e.txid.as_str())
            .or_insert((Amount::ZERO, e.hop));
        t.0.add_assign(e.amount)?;
        t.1 = t.1.min(e.hop);
    }
    for (i, n) in doc.nodes.iter().enumerate() {
        // Services, their deposit addresses (compared above) and CoinJoins
        // are shared by strangers.
        if n.service.is_some() || matches!(n.role, NodeRole::Endpoint | NodeRole::CoinJoin) {
            continue;
        }
        let (kind, key, heuristics, confidence) = entity_of(doc, n);
        let counted = if kind == "address" {
            senders(&key)
        } else {
            None
        };
        if let Some(why) = public(n, counted) {
            left_out.insert((kind, key), why);
            continue;
        }
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
    Ok((out, left_out))
}

/// The addresses that two or more of `docs` reached outside services: the
/// only ones whose senders [`link`] needs counted.
pub fn shared_addresses(docs: &[TraceFile]) -> BTreeSet<String> {
    let mut seen: BTreeMap<&str, BTreeSet<usize>> = BTreeMap::new();
    for (i, d) in docs.iter().enumerate() {
        for n in &d.nodes {
            if n.service.is_none() && entity_of(d, n).0 == "address" {
                seen.entry(n.address.as_str()).or_default().insert(i);
            }
        }
    }
    seen.into_iter()
        .filter(|(_, cases)| cases.len() > 1)
        .map(|(a, _)| a.to_string())
        .collect()
}

/// Links the cases of `docs` (one trace per case, one case per id).
/// `senders` counts an address's distinct senders in the ledger (up to at
/// least [`PUBLIC_SENDERS`]; `None` when it cannot say).
pub fn link(
    docs: &[TraceFile],
    lang: Lang,
    commands: Vec<String>,
    senders: &dyn Fn(&str) -> Option<u32>,
) -> Result<Linkage, crate::Error> {
    let ids: Vec<String> = docs.iter().map(case_id).collect();
    let mut by_id: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, id) in ids.iter().enumerate() {
        if let Some(first) = by_id.insert(id, i) {
            return Err(crate::Error::Input(format!(
                "case {id} is given twice (traces {} and {}): a case cannot be linked to itself",
                first + 1,
                i + 1
            )));
        }
    }
    let overflow = |e: trace_file::Overflow| crate::Error::Input(format!("linkage: {e}"));
    let mut prints = Vec::with_capacity(docs.len());
    let mut public_at: BTreeMap<(&'static str, String), (String, BTreeSet<usize>)> =
        BTreeMap::new();
    for (i, d) in docs.iter().enumerate() {
        let (print, left_out) = footprint(d, senders).map_err(overflow)?;
        for (k, why) in left_out {
            public_at
                .entry(k)
                .or_insert((why, BTreeSet::new()))
                .1
                .insert(i);
        }
        prints.push(print);
    }
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
                let unit = |d: &TraceFile, v: Amount| v.text(d.unit.decimals, &d.unit.symbol);
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
                    amounts: [sa.amount, sb.amount],
                    amounts_text: [unit(&docs[a], sa.amount), unit(&docs[b], sb.amount)],
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
                a: ids[a].clone(),
                b: ids[b].clone(),
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
            by_id.get(l.a.as_str()).copied(),
            by_id.get(l.b.as_str()).copied(),
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
            prefecture: d
                .case
                .as_ref()
                .map_or_else(String::new, |c| c.prefecture.clone()),
            crime: d
                .case
                .as_ref()
                .map_or_else(String::new, |c| c.crime.name().to_string()),
            reported: d
                .case
                .as_ref()
                .map_or_else(String::new, |c| c.reported.clone()),
            unit: d.unit.clone(),
            traced: d.summary.seed_value,
            traced_text: d.summary.seed_value.text(d.unit.decimals, &d.unit.symbol),
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
    let public = public_at
        .into_iter()
        .filter(|(_, (_, cases))| cases.len() > 1)
        .map(|((kind, key), (reason, cases))| PublicRow {
            kind,
            key,
            reason,
            cases: cases.into_iter().map(|i| ids[i].clone()).collect(),
        })
        .collect();
    Ok(Linkage {
        format: LINK_FORMAT,
        lang,
        cases,
        links,
        public,
        groups: group_rows,
        prefectures: by_pref.into_values().collect(),
        commands,
    })
}
