//! Storing clusters in the analysis DB: per-level checkpoint, cluster ids and
//! address facts in chunks of 4,096 addresses, per-cluster statistics,
//! members, merge evidence (both directions) and refused merges. A save
//! writes only what changed since the last one, in one atomic batch.

use chain_adapters::ledger::codec::{DecodeError, Reader, Writer};
use chain_adapters::ledger::{AddrId, Chain, Hash32, TxId};

use super::{AddressFacts, ClusterStats, Conflict, Engine, Evidence, Level, Rule};
use crate::change::HeuristicSet;
use crate::coinjoin::CoinJoin;
use crate::error::Result;
use crate::store::{
    AnalysisStore, Batch, CF_ADDR_CHUNKS, CF_CLUSTERS, CF_CLUSTER_TAGS, CF_COINJOINS, CF_CONFLICTS,
    CF_LINKS, CF_MEMBERS, CF_META,
};

/// Addresses per stored chunk.
pub const CHUNK: usize = 4096;
const CHUNK_CLUSTERS: u8 = b'c';
const CHUNK_FACTS: u8 = b'f';
const FACTS_LEN: usize = 24;

/// Where a level's last build stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// Next transaction id to process.
    pub next_tx: TxId,
    /// Addresses covered.
    pub addresses: u32,
    /// Tip of each chain at the build: chain, height, hash.
    pub tips: Vec<(Chain, u64, Hash32)>,
    /// Tag import generation the collapse guard used.
    pub tags_generation: u64,
    /// Change vote policy (empty at `cospend`).
    pub policy: String,
    /// Merge links stored.
    pub links: u64,
    /// Refused merges stored.
    pub conflicts: u64,
}

impl Checkpoint {
    fn encode(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(96);
        w.uvar(self.next_tx.into())
            .uvar(self.addresses.into())
            .uvar(self.tips.len() as u128);
        for (chain, height, hash) in &self.tips {
            w.byte(*chain as u8).uvar((*height).into()).fixed(hash);
        }
        w.uvar(self.tags_generation.into())
            .bytes(self.policy.as_bytes())
            .uvar(self.links.into())
            .uvar(self.conflicts.into());
        w.finish()
    }

    fn decode(b: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(b);
        let next_tx = r.u64("checkpoint tx")?;
        let addresses = r.u32("checkpoint addresses")?;
        let n = r.count("checkpoint tips")?;
        let mut tips = Vec::with_capacity(n);
        for _ in 0..n {
            let chain = Chain::from_u8(r.byte("checkpoint chain")?).ok_or(DecodeError {
                what: "checkpoint chain",
            })?;
            tips.push((
                chain,
                r.u64("checkpoint height")?,
                r.array("checkpoint hash")?,
            ));
        }
        let cp = Checkpoint {
            next_tx,
            addresses,
            tips,
            tags_generation: r.u64("checkpoint tags")?,
            policy: String::from_utf8_lossy(r.bytes("checkpoint policy")?).into_owned(),
            links: r.u64("checkpoint links")?,
            conflicts: r.u64("checkpoint conflicts")?,
        };
        r.end("checkpoint")?;
        Ok(cp)
    }
}

fn checkpoint_key(level: Level) -> Vec<u8> {
    format!("clusters/{}", level.name()).into_bytes()
}

/// The checkpoint of `level`'s last build, if any.
pub fn load_checkpoint(store: &AnalysisStore, level: Level) -> Result<Option<Checkpoint>> {
    store.decoded(CF_META, &checkpoint_key(level), Checkpoint::decode)
}

fn chunk_key(level: Level, kind: u8, chunk: u32) -> [u8; 6] {
    let mut k = [0u8; 6];
    k[0] = level as u8;
    k[1] = kind;
    k[2..].copy_from_slice(&chunk.to_be_bytes());
    k
}

pub(crate) fn cluster_key(level: Level, cluster: AddrId) -> [u8; 5] {
    let mut k = [0u8; 5];
    k[0] = level as u8;
    k[1..].copy_from_slice(&cluster.to_be_bytes());
    k
}

pub(crate) fn pair_key(level: Level, a: AddrId, b: AddrId) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[0] = level as u8;
    k[1..5].copy_from_slice(&a.to_be_bytes());
    k[5..].copy_from_slice(&b.to_be_bytes());
    k
}

/// Slot `a` (of `width` bytes) of an address chunk, decoded.
fn chunk_slot<T>(
    store: &AnalysisStore,
    level: Level,
    kind: u8,
    width: usize,
    a: AddrId,
    decode: impl Fn(&[u8]) -> T,
) -> Result<Option<T>> {
    let at = (a as usize % CHUNK) * width;
    let key = chunk_key(level, kind, a / CHUNK as u32);
    store
        .decoded(CF_ADDR_CHUNKS, &key, |v| {
            Ok(v.get(at..at + width).map(decode))
        })
        .map(Option::flatten)
}

/// The cluster id of address `a`, read from its chunk.
pub(crate) fn load_cluster_of(
    store: &AnalysisStore,
    level: Level,
    a: AddrId,
) -> Result<Option<AddrId>> {
    chunk_slot(store, level, CHUNK_CLUSTERS, 4, a, |b| {
        u32::from_le_bytes(b.try_into().expect("4 bytes"))
    })
}

/// The facts of address `a`.
pub(crate) fn load_facts_of(
    store: &AnalysisStore,
    level: Level,
    a: AddrId,
) -> Result<Option<AddressFacts>> {
    chunk_slot(store, level, CHUNK_FACTS, FACTS_LEN, a, decode_facts)
}

fn decode_facts(b: &[u8]) -> AddressFacts {
    AddressFacts {
        first_height: u32::from_le_bytes(b[0..4].try_into().expect("4 bytes")),
        last_height: u32::from_le_bytes(b[4..8].try_into().expect("4 bytes")),
        balance: i128::from_le_bytes(b[8..24].try_into().expect("16 bytes")),
    }
}

/// The cluster ids of the addresses of chunk `chunk` (ids `chunk × CHUNK`
/// on) as of the checkpoint `cp`.
pub(crate) fn load_cluster_chunk(
    store: &AnalysisStore,
    level: Level,
    cp: &Checkpoint,
    chunk: u32,
) -> Result<Vec<AddrId>> {
    let want = (cp.addresses as usize)
        .saturating_sub(chunk as usize * CHUNK)
        .min(CHUNK);
    let key = chunk_key(level, CHUNK_CLUSTERS, chunk);
    let c = store.get(CF_ADDR_CHUNKS, &key)?.unwrap_or_default();
    if c.len() != want * 4 {
        return Err(store.corrupt(
            CF_ADDR_CHUNKS,
            &key,
            DecodeError {
                what: "cluster chunk",
            },
        ));
    }
    Ok(c.chunks_exact(4)
        .map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")))
        .collect())
}

/// Every address's cluster id and facts as of the checkpoint.
pub(crate) fn load_state(
    store: &AnalysisStore,
    level: Level,
    cp: &Checkpoint,
) -> Result<(Vec<AddrId>, Vec<AddressFacts>)> {
    let n = cp.addresses as usize;
    let mut clusters = Vec::with_capacity(n);
    let mut facts = Vec::with_capacity(n);
    let bad = |what| DecodeError { what };
    for chunk in 0..n.div_ceil(CHUNK) as u32 {
        let want = (n - chunk as usize * CHUNK).min(CHUNK);
        clusters.extend(load_cluster_chunk(store, level, cp, chunk)?);
        let key = chunk_key(level, CHUNK_FACTS, chunk);
        let f = store.get(CF_ADDR_CHUNKS, &key)?.unwrap_or_default();
        if f.len() != want * FACTS_LEN {
            return Err(store.corrupt(CF_ADDR_CHUNKS, &key, bad("facts chunk")));
        }
        facts.extend(f.chunks_exact(FACTS_LEN).map(decode_facts));
    }
    if clusters
        .iter()
        .any(|&c| c as usize >= n || clusters[c as usize] != c)
    {
        return Err(store.corrupt(CF_ADDR_CHUNKS, &[level as u8], bad("cluster ids")));
    }
    Ok((clusters, facts))
}

pub(crate) fn encode_stats(s: &ClusterStats) -> Vec<u8> {
    let mut w = Writer::with_capacity(32);
    w.uvar(s.size.into())
        .fixed(&s.balance.to_le_bytes())
        .uvar(s.first_height.into())
        .uvar(s.last_height.into())
        .uvar(s.tagged.into());
    w.finish()
}

pub(crate) fn decode_stats(b: &[u8]) -> Result<ClusterStats, DecodeError> {
    let mut r = Reader::new(b);
    let s = ClusterStats {
        size: r.u32("cluster size")?,
        balance: i128::from_le_bytes(r.array("cluster balance")?),
        first_height: r.u32("cluster first height")?,
        last_height: r.u32("cluster last height")?,
        tagged: r.u32("cluster tagged")?,
    };
    r.end("cluster stats")?;
    Ok(s)
}

pub(crate) fn encode_evidence(e: &Evidence) -> Vec<u8> {
    let mut w = Writer::with_capacity(16);
    w.uvar(e.tx.into())
        .byte(e.rule as u8)
        .uvar(e.heuristics.0.into())
        .byte(e.confidence);
    w.finish()
}

pub(crate) fn decode_evidence(r: &mut Reader<'_>) -> Result<Evidence, DecodeError> {
    Ok(Evidence {
        tx: r.u64("evidence tx")?,
        rule: match r.byte("evidence rule")? {
            0 => Rule::MultiInput,
            1 => Rule::Change,
            2 => Rule::DepositReuse,
            3 => Rule::DepositAddress,
            _ => {
                return Err(DecodeError {
                    what: "evidence rule",
                })
            }
        },
        heuristics: HeuristicSet(u16::try_from(r.u32("evidence heuristics")?).map_err(|_| {
            DecodeError {
                what: "evidence heuristics",
            }
        })?),
        confidence: r.byte("evidence confidence")?,
    })
}

pub(crate) fn encode_conflict(c: &Conflict) -> Vec<u8> {
    let mut w = Writer::with_capacity(64);
    w.uvar(c.a.into())
        .uvar(c.b.into())
        .bytes(c.service_a.as_bytes())
        .bytes(c.service_b.as_bytes());
    match &c.evidence {
        Some(e) => w.byte(1).bytes(&encode_evidence(e)),
        None => w.byte(0),
    };
    w.finish()
}

pub(crate) fn decode_conflict(b: &[u8]) -> Result<Conflict, DecodeError> {
    let mut r = Reader::new(b);
    let a = r.u32("conflict a")?;
    let b2 = r.u32("conflict b")?;
    let text = |r: &mut Reader<'_>, what| -> Result<String, DecodeError> {
        String::from_utf8(r.bytes(what)?.to_vec()).map_err(|_| DecodeError { what })
    };
    let service_a = text(&mut r, "conflict service a")?;
    let service_b = text(&mut r, "conflict service b")?;
    let evidence = match r.byte("conflict evidence")? {
        0 => None,
        _ => {
            let e = r.bytes("conflict evidence")?;
            let mut er = Reader::new(e);
            let ev = decode_evidence(&mut er)?;
            er.end("conflict evidence")?;
            Some(ev)
        }
    };
    r.end("conflict")?;
    Ok(Conflict {
        a,
        b: b2,
        service_a,
        service_b,
        evidence,
    })
}

pub(crate) fn encode_coinjoin(c: &CoinJoin) -> Vec<u8> {
    let mut w = Writer::with_capacity(16);
    w.byte(c.kind as u8)
        .uvar(c.denomination)
        .uvar(c.equal_outputs.into());
    w.finish()
}

/// Writes the engine's state for `level`: everything when `old` is `None`
/// (a full build), else only what changed since the stored `old` cluster ids.
/// Returns the size of every cluster, indexed by cluster id.
pub(crate) fn save(
    store: &AnalysisStore,
    engine: &mut Engine,
    old: Option<&[AddrId]>,
    tagged: &[AddrId],
    checkpoint: &Checkpoint,
) -> Result<Vec<u32>> {
    let level = engine.level;
    let clusters = engine.clusters();
    let n = clusters.len();
    let mut batch = store.batch();
    let lv = [level as u8];
    if old.is_none() {
        for cf in [
            CF_ADDR_CHUNKS,
            CF_CLUSTERS,
            CF_MEMBERS,
            CF_LINKS,
            CF_CONFLICTS,
            CF_CLUSTER_TAGS,
        ] {
            batch.delete_prefix(cf, &lv);
        }
    }
    let mut size = vec![0u32; n];
    for &c in &clusters {
        size[c as usize] += 1;
    }
    let mut is_tagged = vec![false; n];
    for &a in tagged {
        if let Some(t) = is_tagged.get_mut(a as usize) {
            *t = true;
        }
    }
    // Which addresses changed, and so which clusters need rewriting.
    let changed: Vec<bool> = (0..n)
        .map(|a| match old {
            None => true,
            Some(old) => old.get(a) != Some(&clusters[a]) || engine.touched[a],
        })
        .collect();
    let mut dirty = vec![false; n];
    for a in 0..n {
        if changed[a] {
            dirty[clusters[a] as usize] = true;
        }
    }
    if let Some(old) = old {
        for (a, &was) in old.iter().enumerate() {
            if clusters[a] != was && clusters[was as usize] != was {
                // Cluster `was` merged into another: its records go.
                batch.delete(CF_CLUSTERS, &cluster_key(level, was));
                batch.delete_prefix(CF_MEMBERS, &cluster_key(level, was));
                batch.delete_prefix(CF_CLUSTER_TAGS, &cluster_key(level, was));
            }
        }
    }
    let mut stats: std::collections::HashMap<AddrId, ClusterStats> = Default::default();
    for a in 0..n {
        let c = clusters[a];
        if !dirty[c as usize] {
            continue;
        }
        stats
            .entry(c)
            .or_default()
            .add(&engine.facts[a], is_tagged[a]);
        if size[c as usize] >= 2 {
            batch.put(CF_MEMBERS, &pair_key(level, c, a as AddrId), &[]);
        }
        if is_tagged[a] {
            batch.put(CF_CLUSTER_TAGS, &pair_key(level, c, a as AddrId), &[]);
        }
    }
    for (c, s) in &stats {
        if s.size >= 2 {
            batch.put(CF_CLUSTERS, &cluster_key(level, *c), &encode_stats(s));
        }
    }
    for chunk in 0..n.div_ceil(CHUNK) {
        let range = chunk * CHUNK..((chunk + 1) * CHUNK).min(n);
        if !changed[range.clone()].iter().any(|&c| c) {
            continue;
        }
        let ids: Vec<u8> = clusters[range.clone()]
            .iter()
            .flat_map(|c| c.to_le_bytes())
            .collect();
        let mut facts = Vec::with_capacity(range.len() * FACTS_LEN);
        for f in &engine.facts[range] {
            facts.extend_from_slice(&f.first_height.to_le_bytes());
            facts.extend_from_slice(&f.last_height.to_le_bytes());
            facts.extend_from_slice(&f.balance.to_le_bytes());
        }
        batch.put(
            CF_ADDR_CHUNKS,
            &chunk_key(level, CHUNK_CLUSTERS, chunk as u32),
            &ids,
        );
        batch.put(
            CF_ADDR_CHUNKS,
            &chunk_key(level, CHUNK_FACTS, chunk as u32),
            &facts,
        );
    }
    put_evidence(&mut batch, engine, checkpoint);
    batch.put(CF_META, &checkpoint_key(level), &checkpoint.encode());
    store.write(batch)?;
    Ok(size)
}

fn put_evidence(batch: &mut Batch<'_>, engine: &Engine, checkpoint: &Checkpoint) {
    let level = engine.level;
    for l in &engine.links {
        let ev = encode_evidence(&l.evidence);
        batch.put(CF_LINKS, &pair_key(level, l.a, l.b), &ev);
        batch.put(CF_LINKS, &pair_key(level, l.b, l.a), &ev);
    }
    let first = checkpoint.conflicts - engine.conflicts.len() as u64;
    for (i, c) in engine.conflicts.iter().enumerate() {
        let mut key = vec![level as u8];
        key.extend_from_slice(&(first + i as u64).to_be_bytes());
        batch.put(CF_CONFLICTS, &key, &encode_conflict(c));
    }
    for (tx, cj) in &engine.coinjoins {
        batch.put(CF_COINJOINS, &tx.to_be_bytes(), &encode_coinjoin(cj));
    }
}
