//! Writing a build: the level's records streamed into the slot its
//! checkpoint does not name — address chunks in address order, then members
//! and statistics in cluster order and links in address order, both from
//! sorted runs (bounded memory) — and the checkpoint moved over last, in one
//! atomic write. The old slot is cleared after.

use chain_adapters::ledger::AddrId;

use super::persist::{
    checkpoint_key, chunk_key, cluster_key, encode_coinjoin, encode_conflict, encode_evidence,
    encode_facts, encode_stats, pair_key, Checkpoint, CHUNK, CHUNK_CLUSTERS, CHUNK_FACTS,
    FACTS_LEN,
};
use super::records::{coinjoin_from_record, link_from_record, Recorded};
use super::{AddressFacts, ClusterStats, Engine};
use crate::error::Result;
use crate::runs::{Scratch, SortedRuns};
use crate::store::{
    AnalysisStore, Bulk, CF_ADDR_CHUNKS, CF_CLUSTERS, CF_CLUSTER_TAGS, CF_COINJOINS, CF_CONFLICTS,
    CF_LINKS, CF_MEMBERS, CF_META,
};

/// Column families keyed by slot.
const SLOT_FAMILIES: [&str; 6] = [
    CF_ADDR_CHUNKS,
    CF_CLUSTERS,
    CF_MEMBERS,
    CF_LINKS,
    CF_CONFLICTS,
    CF_CLUSTER_TAGS,
];

/// Cluster (BE), address (BE), first height, last height, balance, tagged.
const MEMBER_LEN: usize = 33;

fn encode_member(c: AddrId, a: AddrId, f: &AddressFacts, tagged: bool) -> [u8; MEMBER_LEN] {
    let mut r = [0u8; MEMBER_LEN];
    r[0..4].copy_from_slice(&c.to_be_bytes());
    r[4..8].copy_from_slice(&a.to_be_bytes());
    r[8..32].copy_from_slice(&encode_facts(f));
    r[32] = u8::from(tagged);
    r
}

fn decode_member(r: &[u8; MEMBER_LEN]) -> (AddrId, AddrId, AddressFacts, bool) {
    let be = |i: usize| u32::from_be_bytes(r[i..i + 4].try_into().expect("4 bytes"));
    let facts = super::persist::decode_facts(&r[8..32]);
    (be(0), be(4), facts, r[32] != 0)
}

/// What a save found.
#[derive(Debug, Default)]
pub(crate) struct Saved {
    /// Clusters, singletons included.
    pub clusters: u64,
    /// Clusters of two or more addresses.
    pub multi_address_clusters: u64,
    /// The largest cluster (smallest id among equals): id and size.
    pub largest: Option<(AddrId, u32)>,
}

impl Saved {
    fn cluster(&mut self, c: AddrId, size: u32) {
        self.clusters += 1;
        if size >= 2 {
            self.multi_address_clusters += 1;
        }
        if self.largest.is_none_or(|(_, s)| size > s) {
            self.largest = Some((c, size));
        }
    }
}

/// Removes everything stored under `slot`.
fn clear_slot(store: &AnalysisStore, slot: u8) -> Result<()> {
    let mut batch = store.batch();
    for cf in SLOT_FAMILIES {
        batch.delete_prefix(cf, &[slot]);
    }
    store.write(batch)
}

/// Copies `cf`'s records of slot `from` to slot `to` (what an incremental
/// build keeps of the last one).
fn copy_slot(
    store: &AnalysisStore,
    bulk: &mut Bulk<'_>,
    cf: &'static str,
    from: u8,
    to: u8,
) -> Result<()> {
    store.scan(cf, &[from], |k, v| {
        let mut key = k.to_vec();
        key[0] = to;
        bulk.put(cf, &key, v)?;
        Ok(true)
    })
}

/// Writes the engine's build into `checkpoint.slot`, continuing `old`'s
/// links and refused merges when the build is incremental, and moves the
/// level's checkpoint to it. `tagged` is sorted.
#[allow(clippy::too_many_arguments)]
pub(crate) fn save(
    store: &AnalysisStore,
    scratch: &Scratch,
    budget_bytes: usize,
    engine: &mut Engine<'_>,
    recorded: Recorded,
    old: Option<&Checkpoint>,
    tagged: &[AddrId],
    checkpoint: &Checkpoint,
) -> Result<Saved> {
    let slot = checkpoint.slot;
    clear_slot(store, slot)?;
    let Recorded {
        mut facts,
        mut links,
        mut coinjoins,
    } = recorded;
    let mut bulk = store.bulk();
    let mut saved = Saved::default();
    let mut members = SortedRuns::<MEMBER_LEN>::new(scratch, "members", budget_bytes);
    let n = engine.uf.len();
    for chunk in 0..n.div_ceil(CHUNK) {
        let range = chunk * CHUNK..((chunk + 1) * CHUNK).min(n);
        let mut ids = Vec::with_capacity(range.len() * 4);
        let mut chunk_facts = Vec::with_capacity(range.len() * FACTS_LEN);
        for a in range.map(|a| a as AddrId) {
            let (c, size) = engine.uf.cluster_and_size(a);
            let f = facts.facts_of(a)?;
            let is_tagged = tagged.binary_search(&a).is_ok();
            ids.extend_from_slice(&c.to_le_bytes());
            chunk_facts.extend_from_slice(&encode_facts(&f));
            if size >= 2 {
                members.push(encode_member(c, a, &f, is_tagged))?;
            } else {
                saved.cluster(a, 1);
                if is_tagged {
                    bulk.put(CF_CLUSTER_TAGS, &pair_key(slot, a, a), &[])?;
                }
            }
        }
        let chunk = chunk as u32;
        bulk.put(
            CF_ADDR_CHUNKS,
            &chunk_key(slot, CHUNK_CLUSTERS, chunk),
            &ids,
        )?;
        bulk.put(
            CF_ADDR_CHUNKS,
            &chunk_key(slot, CHUNK_FACTS, chunk),
            &chunk_facts,
        )?;
    }
    // Clusters of two or more addresses, each with its statistics.
    let mut members = members.sorted()?;
    let mut current: Option<(AddrId, ClusterStats)> = None;
    let mut close = |bulk: &mut Bulk<'_>, c: AddrId, s: &ClusterStats| {
        saved.cluster(c, s.size);
        bulk.put(CF_CLUSTERS, &cluster_key(slot, c), &encode_stats(s))
    };
    while let Some(r) = members.next_record()? {
        let (c, a, f, is_tagged) = decode_member(&r);
        match &mut current {
            Some((cur, s)) if *cur == c => s.add(&f, is_tagged),
            _ => {
                if let Some((pc, ps)) = current.take() {
                    close(&mut bulk, pc, &ps)?;
                }
                let mut s = ClusterStats::default();
                s.add(&f, is_tagged);
                current = Some((c, s));
            }
        }
        bulk.put(CF_MEMBERS, &pair_key(slot, c, a), &[])?;
        if is_tagged {
            bulk.put(CF_CLUSTER_TAGS, &pair_key(slot, c, a), &[])?;
        }
    }
    if let Some((pc, ps)) = current.take() {
        close(&mut bulk, pc, &ps)?;
    }
    // Evidence: the last build's links and refused merges, then this one's.
    if let Some(old) = old {
        copy_slot(store, &mut bulk, CF_LINKS, old.slot, slot)?;
        copy_slot(store, &mut bulk, CF_CONFLICTS, old.slot, slot)?;
    }
    while let Some(r) = links.next_record()? {
        let (a, b, e) = link_from_record(&r);
        bulk.put(CF_LINKS, &pair_key(slot, a, b), &encode_evidence(&e))?;
    }
    let first = checkpoint.conflicts - engine.conflicts.len() as u64;
    for (i, c) in engine.conflicts.iter().enumerate() {
        let mut key = vec![slot];
        key.extend_from_slice(&(first + i as u64).to_be_bytes());
        bulk.put(CF_CONFLICTS, &key, &encode_conflict(c))?;
    }
    while let Some(r) = coinjoins.next_record()? {
        let (tx, cj) = coinjoin_from_record(&r);
        bulk.put(CF_COINJOINS, &tx.to_be_bytes(), &encode_coinjoin(&cj))?;
    }
    bulk.write()?;
    // The checkpoint moves over: readers see the new build whole, or (after
    // a crash before this write lands) the old one.
    let mut batch = store.batch();
    batch.put(CF_META, &checkpoint_key(engine.level), &checkpoint.encode());
    store.write(batch)?;
    clear_slot(store, checkpoint.other_slot())?;
    Ok(saved)
}
