//! The `cluster` and `tags` commands: build and query address clusters,
//! import and look up attribution tags.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Result};
use chain_adapters::ledger::{amount_text, AddrId, Chain, TxId};
use chain_adapters::query::{AddressRef, LedgerView, Unit};
use chain_adapters::store::Store;
use clap::{Args, Subcommand};
use heuristics::attribution;
use heuristics::change::{HeuristicSet, VotePolicy};
use heuristics::cluster::{self, BuildOptions, Evidence, Level, Rule};
use heuristics::coinjoin::CoinJoin;
use heuristics::store::AnalysisStore;
use heuristics::tags::Tag;
use serde::Serialize;
use tracer::outln;

/// Clustering level and change vote policy, shared by the commands that cluster.
#[derive(Args, Clone)]
pub struct PolicyArgs {
    /// Change heuristics the vote takes into account (comma-separated names, or `all`).
    #[arg(long, default_value = "all", value_name = "LIST")]
    pub heuristics: String,
    /// Agreeing change heuristics needed (and none may name another output).
    #[arg(long, default_value_t = 2)]
    pub min_votes: u8,
}

impl PolicyArgs {
    /// The vote policy these arguments describe.
    pub fn policy(&self) -> Result<VotePolicy> {
        Ok(VotePolicy {
            heuristics: HeuristicSet::parse(&self.heuristics).map_err(|e| anyhow!(e))?,
            min_votes: self.min_votes.max(1),
        })
    }
}

fn parse_level(s: &str) -> Result<Level, String> {
    Level::parse(s).ok_or_else(|| format!("unknown level '{s}' (cospend, cospend+change)"))
}

/// `tracer cluster …`
#[derive(Subcommand)]
pub enum ClusterCmd {
    /// Build (or update) the clusters of a level and store them.
    Build {
        /// cospend (multi-input only) or cospend+change.
        #[arg(long, default_value = "cospend", value_parser = parse_level)]
        level: Level,
        #[command(flatten)]
        policy: PolicyArgs,
        /// Rebuild from scratch instead of continuing from the last build.
        #[arg(long)]
        full: bool,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Show a cluster: statistics, tags, members (paged).
    Show {
        /// An address or a cluster id.
        target: String,
        /// Level to read.
        #[arg(long, default_value = "cospend", value_parser = parse_level)]
        level: Level,
        /// Members to skip.
        #[arg(long, default_value_t = 0)]
        offset: usize,
        /// Members to show (0 = all).
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Every address with its cluster id, in address-id order, streamed: for
    /// analysts and other tools. Addresses as `tracer address` shows them;
    /// the cluster id is the one `cluster show` prints.
    Export {
        /// Level to read.
        #[arg(long, default_value = "cospend", value_parser = parse_level)]
        level: Level,
        /// tsv (a header line, then address, kind, address id, cluster id per
        /// line) or jsonl (one JSON object per line with the same fields).
        #[arg(long, default_value = "tsv", value_parser = ["tsv", "jsonl"])]
        format: String,
    },
    /// Show the transactions (and heuristic per link) that joined two addresses.
    Explain {
        /// First address.
        a: String,
        /// Second address.
        b: String,
        /// Level to read.
        #[arg(long, default_value = "cospend", value_parser = parse_level)]
        level: Level,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// List the exchange deposit addresses found on Ethereum (needs exchange tags), with the
    /// sweeps into the exchange and the deposits they forward.
    Deposits {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// List the detected CoinJoins (their inputs are never merged).
    Coinjoins {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// List the merges the collapse guard refused (two tagged services).
    Conflicts {
        /// Level to read.
        #[arg(long, default_value = "cospend", value_parser = parse_level)]
        level: Level,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
}

/// `tracer tags …`
#[derive(Subcommand)]
pub enum TagsCmd {
    /// Import GraphSense TagPacks (.yaml) and CSV tag files (all or nothing).
    Import {
        /// TagPack or CSV files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// List the imported packs: id, title, file, SHA-256, tags.
    Packs {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Show the tags on an address.
    Show {
        /// The address.
        address: String,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
}

fn print<T: Serialize>(v: &T, json: bool, text: impl FnOnce(&T)) -> Result<()> {
    if json {
        tracer::output::print_json(v)?;
    } else {
        text(v);
    }
    Ok(())
}

/// Runs a `cluster` command.
pub fn cluster(
    db: &Path,
    store_opts: chain_adapters::store::StoreOptions,
    cmd: ClusterCmd,
) -> Result<()> {
    // A build reads the ledger once in order (a small block cache does) and
    // spends the rest of --cache-mb on its sorted runs (each buffer at most
    // 64 MiB: more would only hold more of a long chain in memory).
    let build_memory_mb = store_opts.cache_mb - store_opts.cache_mb / 4;
    let store_opts = match cmd {
        ClusterCmd::Build { .. } => chain_adapters::store::StoreOptions {
            cache_mb: (store_opts.cache_mb / 4).clamp(8, 64),
        },
        _ => store_opts,
    };
    let ledger = Store::open_read_only(db, store_opts)?;
    let view = LedgerView::new(&ledger)?;
    match cmd {
        ClusterCmd::Build {
            level,
            policy,
            full,
            json,
        } => {
            let analysis = AnalysisStore::open(db)?;
            let started = std::time::Instant::now();
            let opts = BuildOptions {
                level,
                policy: policy.policy()?,
                full,
                memory_mb: build_memory_mb,
            };
            let s = cluster::build(&ledger, &analysis, opts)?;
            print(&s, json, |s| {
                outln!("level         {}", s.level.name());
                if !s.policy.is_empty() {
                    outln!("policy        {}", s.policy);
                }
                let why = if s.reason.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", s.reason)
                };
                outln!("build         {}{why}", s.mode);
                outln!("transactions  {} (from id {})", s.transactions, s.from_tx);
                outln!("addresses     {}", s.addresses);
                outln!(
                    "clusters      {} ({} with 2+ addresses)",
                    s.clusters,
                    s.multi_address_clusters
                );
                if let Some((c, n)) = s.largest {
                    outln!("largest       cluster {c}: {n} addresses");
                }
                for (rule, n) in &s.merges {
                    outln!("merges        {rule}: {n}");
                }
                for (kind, n) in &s.coinjoins {
                    outln!("coinjoins     {kind}: {n}");
                }
                outln!(
                    "refused       {} (collapse guard; `tracer cluster conflicts`)",
                    s.conflicts
                );
                outln!("tagged        {} addresses", s.tagged_addresses);
                if let Some((h, hash)) = &s.tip {
                    outln!("tip           {h} {hash}");
                }
                if s.runs_on_disk > 0 {
                    outln!(
                        "sorted runs   {} on disk (to stay within --cache-mb)",
                        s.runs_on_disk
                    );
                }
                outln!("took          {:.2} s", started.elapsed().as_secs_f64());
            })
        }
        ClusterCmd::Show {
            target,
            level,
            offset,
            limit,
            json,
        } => {
            let analysis = AnalysisStore::open_read_only(db)?;
            let v = show(&view, &analysis, &target, level, offset, limit)?;
            print(&v, json, render_cluster)
        }
        ClusterCmd::Export { level, format } => {
            let analysis = AnalysisStore::open_read_only(db)?;
            export(&view, &analysis, level, format == "jsonl")
        }
        ClusterCmd::Explain { a, b, level, json } => {
            let analysis = AnalysisStore::open_read_only(db)?;
            let v = explain(&view, &analysis, &a, &b, level)?;
            print(&v, json, render_explain)
        }
        ClusterCmd::Deposits { json } => {
            let analysis = AnalysisStore::open_read_only(db)?;
            let rows = deposits(&ledger, &view, &analysis)?;
            print(&rows, json, render_deposits)
        }
        ClusterCmd::Coinjoins { json } => {
            let analysis = AnalysisStore::open_read_only(db)?;
            let mut rows = Vec::new();
            for c in cluster::coinjoins(&analysis)? {
                let (txid, height) = tx_ref(&ledger, c.tx)?;
                rows.push(CoinJoinRow {
                    txid,
                    height,
                    coinjoin: c.coinjoin,
                });
            }
            print(&rows, json, |rows| {
                for r in rows {
                    outln!(
                        "{} height {} {} {} × {} sat",
                        r.txid,
                        r.height,
                        r.coinjoin.kind.name(),
                        r.coinjoin.equal_outputs,
                        r.coinjoin.denomination
                    );
                }
                outln!("{} CoinJoins", rows.len());
            })
        }
        ClusterCmd::Conflicts { level, json } => {
            let analysis = AnalysisStore::open_read_only(db)?;
            let mut rows = Vec::new();
            for c in cluster::conflicts(&analysis, level)? {
                rows.push(ConflictRow {
                    level,
                    a: view.show_id(c.a)?,
                    b: view.show_id(c.b)?,
                    service_a: c.service_a,
                    service_b: c.service_b,
                    refused: c.evidence.map(|e| evidence_view(&ledger, &e)).transpose()?,
                });
            }
            print(&rows, json, |rows| {
                for r in rows {
                    match &r.refused {
                        Some(e) => outln!(
                            "refused {} link {} ({}) – {} ({}) in {}",
                            e.rule_name(),
                            r.a.address,
                            r.service_a,
                            r.b.address,
                            r.service_b,
                            e.txid
                        ),
                        None => outln!(
                            "cluster holds two services: {} ({}) and {} ({})",
                            r.a.address,
                            r.service_a,
                            r.b.address,
                            r.service_b
                        ),
                    }
                }
                outln!("{} conflicts at level {}", rows.len(), level.name());
            })
        }
    }
}

/// Runs a `tags` command.
pub fn tags(db: &Path, cmd: TagsCmd) -> Result<()> {
    match cmd {
        TagsCmd::Import { files, json } => {
            let analysis = AnalysisStore::open(db)?;
            let started = std::time::Instant::now();
            let s = attribution::import(&analysis, &files)?;
            print(&s, json, |s| {
                for line in import_text(s).lines() {
                    outln!("{line}");
                }
                outln!(
                    "took {:.2} s; run `tracer cluster build` to apply them",
                    started.elapsed().as_secs_f64()
                );
            })
        }
        TagsCmd::Packs { json } => {
            let analysis = AnalysisStore::open_read_only(db)?;
            let packs = attribution::packs(&analysis)?;
            print(&packs, json, |packs| {
                for p in packs {
                    outln!(
                        "pack {:>4}  {:>7} tags  {}  {}  sha256 {}",
                        p.id,
                        p.tags,
                        p.title,
                        p.file,
                        p.sha256
                    );
                }
                if packs.is_empty() {
                    outln!("(no tag packs imported)");
                }
            })
        }
        TagsCmd::Show { address, json } => {
            let analysis = AnalysisStore::open_read_only(db)?;
            let tags = attribution::tags_of(&analysis, &address)?;
            if tags.is_empty() {
                bail!("no tags on {}", address.trim());
            }
            let v = AddressTags {
                address: address.trim().to_string(),
                tags,
            };
            print(&v, json, |v| {
                for t in &v.tags {
                    outln!("{}", tag_line(t));
                }
            })
        }
    }
}

/// The text summary of a tag import.
fn import_text(s: &attribution::ImportSummary) -> String {
    let mut out = String::new();
    for w in &s.warnings {
        out.push_str(&format!("warning: {w}\n"));
    }
    for r in &s.refused_tags {
        out.push_str(&format!("refused: {r}\n"));
    }
    let listed = s.refused_tags.len();
    if s.refused > listed {
        out.push_str(&format!(
            "refused: … and {} more (see --json)\n",
            s.refused - listed
        ));
    }
    for f in &s.files {
        let id =
            f.id.map_or_else(|| "read once".to_string(), |id| format!("pack {id}"));
        let replaces = if f.replaces.is_empty() {
            String::new()
        } else {
            let ids: Vec<String> = f.replaces.iter().map(u32::to_string).collect();
            format!(", replaces pack {}", ids.join(", "))
        };
        out.push_str(&format!(
            "{:>7} tags  {} ({}; {id}{replaces})\n",
            f.tags, f.pack, f.file
        ));
    }
    out.push_str(&format!(
        "{} tags imported ({}); {} replaced; {} refused (address not of its network)\n",
        s.tags,
        counts(&s.by_currency),
        s.replaced,
        s.refused
    ));
    if !s.unchecked.is_empty() {
        out.push_str(&format!(
            "addresses not checked (networks tracer has no ledger for; stored as written): {}\n",
            counts(&s.unchecked)
        ));
    }
    out
}

/// `BTC 3, ETH 2`.
fn counts(per: &std::collections::BTreeMap<String, usize>) -> String {
    let parts: Vec<String> = per.iter().map(|(c, n)| format!("{c} {n}")).collect();
    parts.join(", ")
}

#[derive(Serialize)]
struct AddressTags {
    address: String,
    tags: Vec<Tag>,
}

fn tag_line(t: &Tag) -> String {
    let category = t.category.as_deref().or(t.abuse.as_deref()).unwrap_or("-");
    let definer = if t.is_cluster_definer {
        ", defines cluster"
    } else {
        ""
    };
    format!(
        "{} [{}] {} {} — confidence {} ({}){definer}; {} ({})",
        t.address,
        t.currency,
        t.label,
        category,
        t.confidence,
        t.confidence_level,
        t.pack,
        t.source
    )
}

#[derive(Serialize)]
struct CoinJoinRow {
    txid: String,
    height: u64,
    #[serde(flatten)]
    coinjoin: CoinJoin,
}

#[derive(Serialize)]
struct ConflictRow {
    level: Level,
    a: AddressRef,
    b: AddressRef,
    service_a: String,
    service_b: String,
    refused: Option<EvidenceView>,
}

/// A link's evidence as shown.
#[derive(Serialize, Clone)]
pub struct EvidenceView {
    /// Transaction (display hex).
    pub txid: String,
    /// Its block height.
    pub height: u64,
    /// Rule.
    pub rule: Rule,
    /// Change heuristics that agreed (change links).
    pub heuristics: Vec<&'static str>,
    /// Confidence in percent.
    pub confidence: u8,
}

impl EvidenceView {
    fn rule_name(&self) -> String {
        match self.rule {
            Rule::Change => format!("change ({})", self.heuristics.join("+")),
            other => other.name().replace('_', "-"),
        }
    }
}

fn tx_ref(ledger: &Store, id: TxId) -> Result<(String, u64)> {
    let t = ledger
        .tx(id)?
        .ok_or_else(|| anyhow!("transaction id {id} missing from the ledger"))?;
    Ok((t.chain.hash_hex(&t.hash), t.height))
}

fn evidence_view(ledger: &Store, e: &Evidence) -> Result<EvidenceView> {
    let (txid, height) = tx_ref(ledger, e.tx)?;
    Ok(EvidenceView {
        txid,
        height,
        rule: e.rule,
        heuristics: e.heuristics.iter().map(|h| h.name()).collect(),
        confidence: e.confidence,
    })
}

fn one_address(view: &LedgerView<'_>, s: &str) -> Result<AddrId> {
    view.resolve(s)?
        .first()
        .copied()
        .ok_or_else(|| anyhow!("address {} has no transactions in the ledger", s.trim()))
}

#[derive(Serialize)]
struct TaggedMember {
    address: String,
    tag: Tag,
}

#[derive(Serialize)]
struct ClusterView {
    level: Level,
    /// Chain of the cluster's addresses.
    chain: Chain,
    cluster: AddressRef,
    #[serde(flatten)]
    stats: cluster::ClusterStats,
    /// Who the cluster is, from cluster-defining tags of its members.
    labels: Vec<String>,
    /// Cluster-defining tags name more than one entity.
    conflicting_tags: bool,
    tags: Vec<TaggedMember>,
    offset: usize,
    members: Vec<AddressRef>,
}

fn show(
    view: &LedgerView<'_>,
    analysis: &AnalysisStore,
    target: &str,
    level: Level,
    offset: usize,
    limit: usize,
) -> Result<ClusterView> {
    let id = match target.trim().parse::<AddrId>() {
        Ok(id) => cluster::cluster_of(analysis, level, id)?
            .filter(|&c| c == id)
            .ok_or_else(|| anyhow!("no cluster {id} at level {}", level.name()))?,
        Err(_) => {
            let a = one_address(view, target)?;
            cluster::cluster_of(analysis, level, a)?.ok_or_else(|| {
                anyhow!(
                    "{} arrived after the last build: run `tracer cluster build --level {}`",
                    target.trim(),
                    level.name()
                )
            })?
        }
    };
    let stats = cluster::stats(analysis, level, id)?
        .ok_or_else(|| anyhow!("cluster {id} has no statistics"))?;
    let mut tags = Vec::new();
    let mut labels = BTreeSet::new();
    for a in cluster::tagged_members(analysis, level, id)? {
        let address = view.show_id(a)?.address;
        for tag in attribution::tags_of(analysis, &address)? {
            if tag.is_cluster_definer {
                labels.insert(
                    attribution::service_of(&tag).unwrap_or_else(|| tag.label.to_lowercase()),
                );
            }
            tags.push(TaggedMember {
                address: address.clone(),
                tag,
            });
        }
    }
    let members = cluster::members(analysis, level, id, offset, limit)?
        .into_iter()
        .map(|a| view.show_id(a))
        .collect::<Result<Vec<_>, _>>()?;
    let chain = view
        .store
        .address(id)?
        .ok_or_else(|| anyhow!("address id {id} missing from the ledger"))?
        .chain;
    Ok(ClusterView {
        level,
        chain,
        cluster: view.show_id(id)?,
        stats,
        conflicting_tags: labels.len() > 1,
        labels: labels.into_iter().collect(),
        tags,
        offset,
        members,
    })
}

fn render_cluster(v: &ClusterView) {
    outln!(
        "cluster {} ({}) at level {}",
        v.cluster.id,
        v.cluster.address,
        v.level.name()
    );
    outln!("size        {} addresses", v.stats.size);
    let coin = Unit::native(v.chain);
    match v.chain {
        Chain::Bitcoin => outln!("balance     {}", coin.show_signed(v.stats.balance)),
        Chain::Ethereum => outln!(
            "net         {} over the ingested blocks",
            coin.show_signed(v.stats.balance)
        ),
    }
    outln!(
        "active      heights {}–{}",
        v.stats.first_height,
        v.stats.last_height
    );
    if !v.labels.is_empty() {
        outln!("labels      {}", v.labels.join(", "));
    }
    if v.conflicting_tags {
        outln!("WARNING     cluster-defining tags name different entities");
    }
    for t in &v.tags {
        outln!("tag         {}", tag_line(&t.tag));
    }
    for m in &v.members {
        outln!("member      {} ({})", m.address, m.kind);
    }
    let shown = v.offset + v.members.len();
    if (shown as u32) < v.stats.size {
        outln!(
            "… {} more (use --offset {shown})",
            v.stats.size as usize - shown
        );
    }
}

/// One line of `cluster export`.
#[derive(Serialize)]
struct ExportRow<'a> {
    address: &'a str,
    kind: &'static str,
    id: AddrId,
    cluster: AddrId,
}

/// `cluster export`: one pass over the ledger's addresses in id order, each
/// with its cluster id read from the stored chunks alongside (both streamed).
/// Addresses that arrived after the level's last build are left out, and
/// said so on stderr.
fn export(
    view: &LedgerView<'_>,
    analysis: &AnalysisStore,
    level: Level,
    jsonl: bool,
) -> Result<()> {
    let mut ids = cluster::ClusterIds::new(analysis, level)?;
    let mut out = tracer::terminal::Out::new();
    if !jsonl {
        out.row(&["address", "kind", "id", "cluster"])?;
    }
    let (mut exported, mut newer) = (0u64, 0u64);
    let mut failed = None;
    view.store.for_each_address(|id, key| {
        if failed.is_some() {
            return;
        }
        let row = match ids.get(id) {
            Ok(Some(cluster)) => {
                let a = view.show_key(id, &key);
                let row = ExportRow {
                    address: &a.address,
                    kind: a.kind,
                    id,
                    cluster,
                };
                let written = if jsonl {
                    out.json_line(&row)
                } else {
                    out.row(&[&a.address, a.kind, &id.to_string(), &cluster.to_string()])
                };
                written.map_err(anyhow::Error::from)
            }
            Ok(None) => {
                newer += 1;
                return;
            }
            Err(e) => Err(e.into()),
        };
        match row {
            Ok(()) => exported += 1,
            Err(e) => failed = Some(e),
        }
    })?;
    if let Some(e) = failed {
        return Err(e);
    }
    out.flush()?;
    if newer > 0 {
        tracer::errln!(
            "note: exported {exported} addresses; {newer} arrived after the last build and are not in it: run `tracer cluster build --level {}`",
            level.name()
        );
    }
    Ok(())
}

#[derive(Serialize)]
struct StepView {
    from: AddressRef,
    to: AddressRef,
    evidence: EvidenceView,
}

#[derive(Serialize)]
struct ExplainView {
    level: Level,
    a: String,
    b: String,
    joined: bool,
    cluster: Option<AddrId>,
    steps: Vec<StepView>,
}

fn explain(
    view: &LedgerView<'_>,
    analysis: &AnalysisStore,
    a: &str,
    b: &str,
    level: Level,
) -> Result<ExplainView> {
    let (ia, ib) = (one_address(view, a)?, one_address(view, b)?);
    let ex = cluster::explain(analysis, level, ia, ib)?;
    let mut steps = Vec::new();
    for s in &ex.steps {
        steps.push(StepView {
            from: view.show_id(s.from)?,
            to: view.show_id(s.to)?,
            evidence: evidence_view(view.store, &s.evidence)?,
        });
    }
    Ok(ExplainView {
        level,
        a: a.trim().into(),
        b: b.trim().into(),
        joined: ex.joined(),
        cluster: ex.joined().then_some(ex.cluster_a).flatten(),
        steps,
    })
}

fn render_explain(v: &ExplainView) {
    if !v.joined {
        outln!(
            "{} and {} are not in one cluster at level {}",
            v.a,
            v.b,
            v.level.name()
        );
        return;
    }
    outln!(
        "{} and {} are in cluster {} at level {}: {} link(s)",
        v.a,
        v.b,
        v.cluster.unwrap_or_default(),
        v.level.name(),
        v.steps.len()
    );
    for (i, s) in v.steps.iter().enumerate() {
        outln!(
            "{:>3}. {} – {}: {} in tx {} (height {}), confidence {}%",
            i + 1,
            s.from.address,
            s.to.address,
            s.evidence.rule_name(),
            s.evidence.txid,
            s.evidence.height,
            s.evidence.confidence
        );
    }
}

/// A deposit as `cluster deposits` shows it.
#[derive(Serialize)]
struct DepositRow {
    txid: String,
    height: u64,
    from: String,
    #[serde(serialize_with = "amount_text")]
    value: chain_adapters::ledger::Amount,
    /// What `value` counts.
    unit: Unit,
}

/// A sweep as `cluster deposits` shows it.
#[derive(Serialize)]
struct SweepRow {
    txid: String,
    height: u64,
    to: String,
    token: Option<String>,
    #[serde(serialize_with = "amount_text")]
    value: chain_adapters::ledger::Amount,
    /// What `value` and the deposits' values count.
    unit: Unit,
    deposits: Vec<DepositRow>,
}

/// A deposit address as `cluster deposits` shows it.
#[derive(Serialize)]
struct DepositAddressRow {
    deposit_address: String,
    exchange: String,
    depositors: Vec<String>,
    rule: &'static str,
    confidence: u8,
    sweeps: Vec<SweepRow>,
}

fn deposits(
    ledger: &Store,
    view: &LedgerView<'_>,
    analysis: &AnalysisStore,
) -> Result<Vec<DepositAddressRow>> {
    use heuristics::deposit;
    let exchanges = deposit::exchange_wallets(analysis, view)?;
    let mut rows = Vec::new();
    for d in deposit::detect(ledger, &exchanges, &deposit::DepositParams::default())? {
        let mut sweeps = Vec::new();
        for s in &d.sweeps {
            let (txid, height) = tx_ref(ledger, s.tx)?;
            let mut deps = Vec::new();
            for p in &s.deposits {
                let (txid, height) = tx_ref(ledger, p.tx)?;
                deps.push(DepositRow {
                    txid,
                    height,
                    from: view.show_id(p.from)?.address,
                    value: p.value,
                    unit: Unit::of(Chain::Ethereum, view.token(p.asset)?.as_ref()),
                });
            }
            let token = view.token(s.asset)?;
            sweeps.push(SweepRow {
                txid,
                height,
                to: view.show_id(s.to)?.address,
                unit: Unit::of(Chain::Ethereum, token.as_ref()),
                token: token.map(|t| t.symbol.unwrap_or(t.contract)),
                value: s.value,
                deposits: deps,
            });
        }
        let mut depositors = Vec::new();
        for p in d.depositors() {
            depositors.push(view.show_id(p.from)?.address);
        }
        rows.push(DepositAddressRow {
            deposit_address: view.show_id(d.addr)?.address,
            exchange: d.exchange.clone(),
            depositors,
            rule: "deposit_address (Victor 2020)",
            confidence: deposit::DEPOSIT_PRIOR,
            sweeps,
        });
    }
    Ok(rows)
}

fn render_deposits(rows: &Vec<DepositAddressRow>) {
    for r in rows {
        outln!(
            "{} deposit address of {} — {} sweep(s), depositors: {}",
            r.deposit_address,
            r.exchange,
            r.sweeps.len(),
            r.depositors.join(", ")
        );
        for s in &r.sweeps {
            outln!(
                "  sweep {} (block {}) → {}: {}",
                s.txid,
                s.height,
                s.to,
                s.unit.show(s.value)
            );
            for d in &s.deposits {
                outln!(
                    "    deposit {} (block {}) from {}: {}",
                    d.txid,
                    d.height,
                    d.from,
                    d.unit.show(d.value)
                );
            }
        }
    }
    outln!("{} deposit addresses", rows.len());
}
