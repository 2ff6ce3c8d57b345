//! Reading stored clusters: an address's cluster, statistics, members,
//! tagged members, refused merges, detected CoinJoins, and the chain of
//! evidence that joined two addresses (a walk over the stored merge links of
//! one cluster — never a search of the chain).

use std::collections::{HashMap, VecDeque};

use chain_adapters::ledger::codec::{DecodeError, Reader};
use chain_adapters::ledger::{AddrId, Amount, TxId};

use super::persist::{
    cluster_key, decode_conflict, decode_evidence, decode_stats, load_checkpoint,
    load_cluster_chunk, load_cluster_of, load_facts_of, Checkpoint, CHUNK,
};
use super::{ClusterStats, Conflict, Evidence, Level};
use crate::coinjoin::{CoinJoin, CoinJoinKind};
use crate::error::{Error, Result};
use crate::store::{
    AnalysisStore, CF_CLUSTERS, CF_CLUSTER_TAGS, CF_COINJOINS, CF_CONFLICTS, CF_LINKS, CF_MEMBERS,
};

fn not_built(level: Level) -> Error {
    Error::Usage(format!(
        "no clusters at level {} yet: run `tracer cluster build --level {}`",
        level.name(),
        level.name()
    ))
}

/// The checkpoint of `level`'s last build, or why there is none.
fn built(store: &AnalysisStore, level: Level) -> Result<Checkpoint> {
    load_checkpoint(store, level)?.ok_or_else(|| not_built(level))
}

/// The cluster id of address `a` at `level` (`None` if the address came
/// after the last build).
pub fn cluster_of(store: &AnalysisStore, level: Level, a: AddrId) -> Result<Option<AddrId>> {
    cluster_in(store, &built(store, level)?, a)
}

fn cluster_in(store: &AnalysisStore, cp: &Checkpoint, a: AddrId) -> Result<Option<AddrId>> {
    if a >= cp.addresses {
        return Ok(None);
    }
    load_cluster_of(store, cp, a)
}

/// The cluster ids of a level's last build, read in address-id order one
/// stored chunk of 4,096 addresses at a time (bounded memory): what
/// `tracer cluster export` streams. The ids are those [`cluster_of`] gives.
pub struct ClusterIds<'a> {
    store: &'a AnalysisStore,
    cp: Checkpoint,
    chunk: Option<u32>,
    ids: Vec<AddrId>,
}

impl<'a> ClusterIds<'a> {
    /// The cluster ids of `level`'s last build.
    pub fn new(store: &'a AnalysisStore, level: Level) -> Result<Self> {
        Ok(ClusterIds {
            store,
            cp: built(store, level)?,
            chunk: None,
            ids: Vec::new(),
        })
    }

    /// How many addresses the build covers (ids `0..covered`).
    pub fn covered(&self) -> u32 {
        self.cp.addresses
    }

    /// The cluster id of address `a` (`None` past the build). Reads a chunk
    /// when `a` is outside the one held.
    pub fn get(&mut self, a: AddrId) -> Result<Option<AddrId>> {
        if a >= self.cp.addresses {
            return Ok(None);
        }
        let chunk = a / CHUNK as u32;
        if self.chunk != Some(chunk) {
            self.ids = load_cluster_chunk(self.store, &self.cp, chunk)?;
            self.chunk = Some(chunk);
        }
        Ok(self.ids.get(a as usize % CHUNK).copied())
    }
}

/// Statistics of cluster `c` (a singleton's come from its address).
pub fn stats(store: &AnalysisStore, level: Level, c: AddrId) -> Result<Option<ClusterStats>> {
    let cp = built(store, level)?;
    if let Some(s) = store.decoded(CF_CLUSTERS, &cluster_key(cp.slot, c), decode_stats)? {
        return Ok(Some(s));
    }
    if cluster_in(store, &cp, c)? != Some(c) {
        return Ok(None);
    }
    let tagged = !list(store, CF_CLUSTER_TAGS, &cp, c, 0, 1)?.is_empty();
    Ok(load_facts_of(store, &cp, c)?.map(|f| {
        let mut s = ClusterStats::default();
        s.add(&f, tagged);
        s
    }))
}

fn list(
    store: &AnalysisStore,
    cf: &'static str,
    cp: &Checkpoint,
    c: AddrId,
    offset: usize,
    limit: usize,
) -> Result<Vec<AddrId>> {
    let prefix = cluster_key(cp.slot, c);
    let mut out = Vec::new();
    let mut skipped = 0;
    store.scan(cf, &prefix, |k, _| {
        if skipped < offset {
            skipped += 1;
            return Ok(true);
        }
        let a = k
            .get(5..9)
            .map(|b| u32::from_be_bytes(b.try_into().expect("4 bytes")))
            .ok_or_else(|| store.corrupt(cf, k, DecodeError { what: "member key" }))?;
        out.push(a);
        Ok(limit == 0 || out.len() < limit)
    })?;
    Ok(out)
}

/// Members `offset..offset+limit` of cluster `c` in address id order (all if
/// `limit` is 0).
pub fn members(
    store: &AnalysisStore,
    level: Level,
    c: AddrId,
    offset: usize,
    limit: usize,
) -> Result<Vec<AddrId>> {
    let cp = built(store, level)?;
    let m = list(store, CF_MEMBERS, &cp, c, offset, limit)?;
    if m.is_empty() && offset == 0 && cluster_in(store, &cp, c)? == Some(c) {
        return Ok(vec![c]);
    }
    Ok(m)
}

/// Members of cluster `c` that carry attribution tags.
pub fn tagged_members(store: &AnalysisStore, level: Level, c: AddrId) -> Result<Vec<AddrId>> {
    list(store, CF_CLUSTER_TAGS, &built(store, level)?, c, 0, 0)
}

/// One step of an explanation: `from` and `to` were linked by `evidence`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// One address.
    pub from: AddrId,
    /// The other.
    pub to: AddrId,
    /// Why they were linked.
    pub evidence: Evidence,
}

/// Why two addresses are (or are not) in one cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    /// Level asked about.
    pub level: Level,
    /// Cluster of the first address.
    pub cluster_a: Option<AddrId>,
    /// Cluster of the second.
    pub cluster_b: Option<AddrId>,
    /// The links from the first address to the second (empty if not joined).
    pub steps: Vec<Step>,
}

impl Explanation {
    /// Whether the two addresses are in one cluster.
    pub fn joined(&self) -> bool {
        self.cluster_a.is_some() && self.cluster_a == self.cluster_b
    }
}

fn neighbours(store: &AnalysisStore, slot: u8, a: AddrId) -> Result<Vec<(AddrId, Evidence)>> {
    let prefix = cluster_key(slot, a);
    let mut out = Vec::new();
    store.scan(CF_LINKS, &prefix, |k, v| {
        let corrupt = |what| store.corrupt(CF_LINKS, k, DecodeError { what });
        let b = k
            .get(5..9)
            .map(|b| u32::from_be_bytes(b.try_into().expect("4 bytes")))
            .ok_or_else(|| corrupt("link key"))?;
        let mut r = Reader::new(v);
        let e = decode_evidence(&mut r).map_err(|e| store.corrupt(CF_LINKS, k, e))?;
        r.end("link").map_err(|e| store.corrupt(CF_LINKS, k, e))?;
        out.push((b, e));
        Ok(true)
    })?;
    Ok(out)
}

/// The chain of merges that joined `a` and `b` at `level`.
pub fn explain(store: &AnalysisStore, level: Level, a: AddrId, b: AddrId) -> Result<Explanation> {
    let cp = built(store, level)?;
    let (cluster_a, cluster_b) = (cluster_in(store, &cp, a)?, cluster_in(store, &cp, b)?);
    let mut ex = Explanation {
        level,
        cluster_a,
        cluster_b,
        steps: Vec::new(),
    };
    if !ex.joined() || a == b {
        return Ok(ex);
    }
    // The stored links of a cluster form a spanning tree: walk it from `a`.
    let mut came_from: HashMap<AddrId, (AddrId, Evidence)> = HashMap::new();
    let mut queue = VecDeque::from([a]);
    while let Some(x) = queue.pop_front() {
        if x == b {
            break;
        }
        for (y, e) in neighbours(store, cp.slot, x)? {
            if y != a && !came_from.contains_key(&y) {
                came_from.insert(y, (x, e));
                queue.push_back(y);
            }
        }
    }
    let mut at = b;
    while at != a {
        let Some(&(prev, evidence)) = came_from.get(&at) else {
            return Err(Error::Usage(format!(
                "addresses {a} and {b} share cluster {} but its stored links do not connect them; rebuild with `tracer cluster build --full`",
                cluster_a.unwrap_or_default()
            )));
        };
        ex.steps.push(Step {
            from: prev,
            to: at,
            evidence,
        });
        at = prev;
    }
    ex.steps.reverse();
    Ok(ex)
}

/// Merges refused by the collapse guard at `level`, in the order they were met.
pub fn conflicts(store: &AnalysisStore, level: Level) -> Result<Vec<Conflict>> {
    let slot = built(store, level)?.slot;
    let mut out = Vec::new();
    store.scan(CF_CONFLICTS, &[slot], |k, v| {
        out.push(decode_conflict(v).map_err(|e| store.corrupt(CF_CONFLICTS, k, e))?);
        Ok(true)
    })?;
    Ok(out)
}

/// A stored CoinJoin detection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CoinJoinView {
    /// Transaction id.
    pub tx: TxId,
    /// What was detected.
    pub coinjoin: CoinJoin,
}

/// Every detected CoinJoin, in chain order.
pub fn coinjoins(store: &AnalysisStore) -> Result<Vec<CoinJoinView>> {
    let mut out = Vec::new();
    store.scan(CF_COINJOINS, &[], |k, v| {
        let corrupt = |e| store.corrupt(CF_COINJOINS, k, e);
        let tx = k.try_into().map(u64::from_be_bytes).map_err(|_| {
            corrupt(DecodeError {
                what: "coinjoin key",
            })
        })?;
        let mut r = Reader::new(v);
        let kind =
            CoinJoinKind::from_u8(r.byte("coinjoin kind").map_err(corrupt)?).ok_or_else(|| {
                corrupt(DecodeError {
                    what: "coinjoin kind",
                })
            })?;
        let denomination: Amount = r.uvar("coinjoin denomination").map_err(corrupt)?;
        let equal_outputs = r.u32("coinjoin outputs").map_err(corrupt)?;
        r.end("coinjoin").map_err(corrupt)?;
        out.push(CoinJoinView {
            tx,
            coinjoin: CoinJoin {
                kind,
                denomination,
                equal_outputs,
            },
        });
        Ok(true)
    })?;
    Ok(out)
}
