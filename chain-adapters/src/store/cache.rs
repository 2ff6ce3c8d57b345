//! The ledger writer's address ids in memory, bounded by a share of
//! `--cache-mb` (unspent outputs: [`super::utxo`]).
//!
//! While the cache holds every entry of the address index (it is
//! *complete*: the ledger was empty, or small enough to load whole, and
//! nothing has been evicted since), a miss is itself the answer — a new
//! address — so ingest reads nothing from RocksDB. Beyond its share the
//! cache keeps the recent addresses in two generations: when the young one
//! holds half the share it becomes the old one and the previous old one is
//! forgotten (the cache is then no longer complete, and its misses go to
//! the store). Addresses are mostly reused soon after they first appear
//! (change, deposits, consolidations), so the hot set stays in memory as
//! the chain grows, and memory stays bounded by the setting.

// foldhash: fast and seeded per process, so crafted chain data cannot force collisions.
use foldhash::HashMap;

use crate::ledger::AddrId;

/// Bytes one address entry costs at most, table overhead included.
const ADDR_ENTRY_BYTES: usize = 64;

/// Address index keys to ids, the common key sizes held inline (no heap
/// allocation per entry).
#[derive(Default)]
pub(super) struct AddrIds {
    /// Chain, kind and a 20-byte payload (P2PKH, P2SH, P2WPKH, P2PK, accounts).
    short: HashMap<[u8; 22], AddrId>,
    /// Chain, kind and a 32-byte payload (P2WSH, P2TR, script digests).
    long: HashMap<[u8; 34], AddrId>,
    /// Anything else (future witness versions).
    other: HashMap<Vec<u8>, AddrId>,
}

impl AddrIds {
    /// The id of index key `ik`, if held.
    pub fn get(&self, ik: &[u8]) -> Option<AddrId> {
        if let Ok(k) = <[u8; 22]>::try_from(ik) {
            self.short.get(&k).copied()
        } else if let Ok(k) = <[u8; 34]>::try_from(ik) {
            self.long.get(&k).copied()
        } else {
            self.other.get(ik).copied()
        }
    }

    /// Remembers `ik` → `id`.
    pub fn insert(&mut self, ik: &[u8], id: AddrId) {
        if let Ok(k) = <[u8; 22]>::try_from(ik) {
            self.short.insert(k, id);
        } else if let Ok(k) = <[u8; 34]>::try_from(ik) {
            self.long.insert(k, id);
        } else {
            self.other.insert(ik.to_vec(), id);
        }
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.short.len() + self.long.len() + self.other.len()
    }

    /// Hands every entry to `f`, in no particular order.
    fn for_each(self, mut f: impl FnMut(&[u8], AddrId)) {
        self.short.into_iter().for_each(|(k, id)| f(&k, id));
        self.long.into_iter().for_each(|(k, id)| f(&k, id));
        self.other.into_iter().for_each(|(k, id)| f(&k, id));
    }
}

/// The address ids the ledger holds, bounded: the recent ones.
pub(super) struct AddrCache {
    young: AddrIds,
    old: AddrIds,
    cap: usize,
    complete: bool,
}

impl AddrCache {
    /// An empty cache of at most `budget_bytes`; `complete` if the ledger
    /// has no addresses.
    pub fn new(budget_bytes: usize, complete: bool) -> Self {
        AddrCache {
            young: AddrIds::default(),
            old: AddrIds::default(),
            cap: (budget_bytes / ADDR_ENTRY_BYTES).max(1024),
            complete,
        }
    }

    /// How many entries fit.
    pub fn capacity(&self) -> usize {
        self.cap
    }

    /// Whether a miss means the ledger does not have the address.
    pub fn is_complete(&self) -> bool {
        self.complete
    }

    /// The id of index key `ik`, if held.
    pub fn get(&self, ik: &[u8]) -> Option<AddrId> {
        self.young.get(ik).or_else(|| self.old.get(ik))
    }

    /// Remembers `ik` → `id`. A full young generation becomes the old one,
    /// and the old one is forgotten (the cache stops being complete).
    pub fn insert(&mut self, ik: &[u8], id: AddrId) {
        if self.young.len() >= self.cap / 2 {
            if self.old.len() > 0 {
                self.complete = false;
            }
            self.old = std::mem::take(&mut self.young);
        }
        self.young.insert(ik, id);
    }

    /// Takes in every entry of `batch` (addresses that have reached the DB).
    pub fn absorb(&mut self, batch: AddrIds) {
        batch.for_each(|k, id| self.insert(k, id));
    }

    /// Marks a cache filled from the whole index as complete.
    pub fn set_complete(&mut self) {
        self.complete = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_cache_forgets_its_older_half_and_is_no_longer_complete() {
        let key = |i: u32| [&[0, 1][..], &i.to_be_bytes(), &[0; 16]].concat();
        let mut c = AddrCache::new(0, true);
        let cap = c.capacity() as u32;
        for i in 0..cap {
            c.insert(&key(i), i);
        }
        assert!(c.is_complete(), "everything is still held");
        assert_eq!(c.get(&key(5)), Some(5));
        assert_eq!(c.get(&key(cap - 1)), Some(cap - 1));
        c.insert(&[9; 34], 1);
        assert!(!c.is_complete());
        // The older half is forgotten, the recent half kept.
        assert_eq!(c.get(&key(5)), None);
        assert_eq!(c.get(&key(cap / 2)), Some(cap / 2));
        assert_eq!(c.get(&key(cap - 1)), Some(cap - 1));
        assert_eq!(c.get(&[9; 34]), Some(1));
    }
}
