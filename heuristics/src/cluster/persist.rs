//! Stored clusters in the analysis DB: per-level checkpoint, cluster ids and
//! address facts in chunks of 4,096 addresses, per-cluster statistics,
//! members, merge evidence (both directions) and refused merges, under the
//! key space (slot) the checkpoint names. Writing a build: `save`.

use chain_adapters::ledger::codec::{DecodeError, Reader, Writer};
use chain_adapters::ledger::{AddrId, Chain, Hash32, TxId};

use super::records::Recorder;
use super::{AddressFacts, ClusterStats, Conflict, Evidence, Level, Rule, UnionFind};
use crate::change::HeuristicSet;
use crate::coinjoin::CoinJoin;
use crate::error::Result;
use crate::store::{AnalysisStore, CF_ADDR_CHUNKS, CF_META};

/// Addresses per stored chunk.
pub const CHUNK: usize = 4096;
pub(crate) const CHUNK_CLUSTERS: u8 = b'c';
pub(crate) const CHUNK_FACTS: u8 = b'f';
pub(crate) const FACTS_LEN: usize = 24;

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
    /// Which of the level's two key spaces holds this build (a build writes
    /// the other one, then moves the checkpoint over in one atomic write).
    pub slot: u8,
}

impl Checkpoint {
    pub(crate) fn encode(&self) -> Vec<u8> {
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
            .uvar(self.conflicts.into())
            .byte(self.slot);
        w.finish()
    }

    fn decode(level: Level, b: &[u8]) -> Result<Self, DecodeError> {
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
        let mut cp = Checkpoint {
            next_tx,
            addresses,
            tips,
            tags_generation: r.u64("checkpoint tags")?,
            policy: String::from_utf8_lossy(r.bytes("checkpoint policy")?).into_owned(),
            links: r.u64("checkpoint links")?,
            conflicts: r.u64("checkpoint conflicts")?,
            slot: 0,
        };
        // Builds before key spaces were alternated wrote no slot: theirs is
        // the level's number.
        cp.slot = match r.end("checkpoint") {
            Ok(()) => level as u8,
            Err(_) => {
                let slot = r.byte("checkpoint slot")?;
                r.end("checkpoint")?;
                if slot % 2 != level as u8 % 2 || slot > 3 {
                    return Err(DecodeError {
                        what: "checkpoint slot",
                    });
                }
                slot
            }
        };
        Ok(cp)
    }

    /// The slot the next build of this level writes.
    pub(crate) fn other_slot(&self) -> u8 {
        self.slot ^ 2
    }
}

pub(crate) fn checkpoint_key(level: Level) -> Vec<u8> {
    format!("clusters/{}", level.name()).into_bytes()
}

/// The checkpoint of `level`'s last build, if any.
pub fn load_checkpoint(store: &AnalysisStore, level: Level) -> Result<Option<Checkpoint>> {
    store.decoded(CF_META, &checkpoint_key(level), |b| {
        Checkpoint::decode(level, b)
    })
}

pub(crate) fn chunk_key(slot: u8, kind: u8, chunk: u32) -> [u8; 6] {
    let mut k = [0u8; 6];
    k[0] = slot;
    k[1] = kind;
    k[2..].copy_from_slice(&chunk.to_be_bytes());
    k
}

pub(crate) fn cluster_key(slot: u8, cluster: AddrId) -> [u8; 5] {
    let mut k = [0u8; 5];
    k[0] = slot;
    k[1..].copy_from_slice(&cluster.to_be_bytes());
    k
}

pub(crate) fn pair_key(slot: u8, a: AddrId, b: AddrId) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[0] = slot;
    k[1..5].copy_from_slice(&a.to_be_bytes());
    k[5..].copy_from_slice(&b.to_be_bytes());
    k
}

/// Slot `a` (of `width` bytes) of an address chunk, decoded.
fn chunk_slot<T>(
    store: &AnalysisStore,
    cp: &Checkpoint,
    kind: u8,
    width: usize,
    a: AddrId,
    decode: impl Fn(&[u8]) -> T,
) -> Result<Option<T>> {
    let at = (a as usize % CHUNK) * width;
    let key = chunk_key(cp.slot, kind, a / CHUNK as u32);
    store
        .decoded(CF_ADDR_CHUNKS, &key, |v| {
            Ok(v.get(at..at + width).map(decode))
        })
        .map(Option::flatten)
}

/// The cluster id of address `a`, read from its chunk.
pub(crate) fn load_cluster_of(
    store: &AnalysisStore,
    cp: &Checkpoint,
    a: AddrId,
) -> Result<Option<AddrId>> {
    chunk_slot(store, cp, CHUNK_CLUSTERS, 4, a, |b| {
        u32::from_le_bytes(b.try_into().expect("4 bytes"))
    })
}

/// The facts of address `a`.
pub(crate) fn load_facts_of(
    store: &AnalysisStore,
    cp: &Checkpoint,
    a: AddrId,
) -> Result<Option<AddressFacts>> {
    chunk_slot(store, cp, CHUNK_FACTS, FACTS_LEN, a, decode_facts)
}

/// An address's facts as stored in a chunk.
pub(crate) fn encode_facts(f: &AddressFacts) -> [u8; FACTS_LEN] {
    let mut b = [0u8; FACTS_LEN];
    b[0..4].copy_from_slice(&f.first_height.to_le_bytes());
    b[4..8].copy_from_slice(&f.last_height.to_le_bytes());
    b[8..24].copy_from_slice(&f.balance.to_le_bytes());
    b
}

pub(crate) fn decode_facts(b: &[u8]) -> AddressFacts {
    AddressFacts {
        first_height: u32::from_le_bytes(b[0..4].try_into().expect("4 bytes")),
        last_height: u32::from_le_bytes(b[4..8].try_into().expect("4 bytes")),
        balance: i128::from_le_bytes(b[8..24].try_into().expect("16 bytes")),
    }
}

/// The `width`-byte slots of chunk `chunk` of `kind` (addresses `chunk ×
/// CHUNK` on) as of the checkpoint `cp`, checked to hold every address the
/// build covers there.
fn load_chunk(
    store: &AnalysisStore,
    cp: &Checkpoint,
    kind: u8,
    width: usize,
    chunk: u32,
    what: &'static str,
) -> Result<Vec<u8>> {
    let want = (cp.addresses as usize)
        .saturating_sub(chunk as usize * CHUNK)
        .min(CHUNK);
    let key = chunk_key(cp.slot, kind, chunk);
    let c = store.get(CF_ADDR_CHUNKS, &key)?.unwrap_or_default();
    if c.len() != want * width {
        return Err(store.corrupt(CF_ADDR_CHUNKS, &key, DecodeError { what }));
    }
    Ok(c)
}

/// The cluster ids of the addresses of chunk `chunk` (ids `chunk × CHUNK`
/// on) as of the checkpoint `cp`.
pub(crate) fn load_cluster_chunk(
    store: &AnalysisStore,
    cp: &Checkpoint,
    chunk: u32,
) -> Result<Vec<AddrId>> {
    let c = load_chunk(store, cp, CHUNK_CLUSTERS, 4, chunk, "cluster chunk")?;
    Ok(c.chunks_exact(4)
        .map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")))
        .collect())
}

/// The facts of the addresses of chunk `chunk` as of the checkpoint.
fn load_facts_chunk(
    store: &AnalysisStore,
    cp: &Checkpoint,
    chunk: u32,
) -> Result<Vec<AddressFacts>> {
    let f = load_chunk(store, cp, CHUNK_FACTS, FACTS_LEN, chunk, "facts chunk")?;
    Ok(f.chunks_exact(FACTS_LEN).map(decode_facts).collect())
}

/// The stored build's clusters as a union-find to continue from, its
/// facts handed to `recorder` (read one chunk at a time).
pub(crate) fn resume(
    store: &AnalysisStore,
    cp: &Checkpoint,
    recorder: &mut Recorder<'_>,
) -> Result<UnionFind> {
    let n = cp.addresses as usize;
    let mut clusters = Vec::with_capacity(n);
    for chunk in 0..n.div_ceil(CHUNK) as u32 {
        clusters.extend(load_cluster_chunk(store, cp, chunk)?);
        let first = chunk * CHUNK as u32;
        for (i, f) in load_facts_chunk(store, cp, chunk)?.iter().enumerate() {
            recorder.stored_facts(first + i as u32, f)?;
        }
    }
    if clusters
        .iter()
        .any(|&c| c as usize >= n || clusters[c as usize] != c)
    {
        return Err(store.corrupt(
            CF_ADDR_CHUNKS,
            &[cp.slot],
            DecodeError {
                what: "cluster ids",
            },
        ));
    }
    Ok(UnionFind::from_clusters(clusters))
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
        rule: Rule::from_u8(r.byte("evidence rule")?).ok_or(DecodeError {
            what: "evidence rule",
        })?,
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
