//! The ledger writer's address ids in memory, bounded by a share of
//! `--cache-mb` (unspent outputs: [`super::utxo`]).
//!
//! While the cache holds every entry of the address index (it is
//! *complete*: the ledger was empty, or small enough to load whole, and
//! nothing has been evicted since), a miss is itself the answer — a new
//! address — so ingest reads nothing from RocksDB. A cache that outgrows its share is
//! emptied and from then on answers only what it has seen since; its misses
//! go to the store. Memory stays bounded by the setting, not by chain size.

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

    fn clear(&mut self) {
        *self = AddrIds::default();
    }

    /// Hands every entry to `f`, in no particular order.
    fn for_each(self, mut f: impl FnMut(&[u8], AddrId)) {
        self.short.into_iter().for_each(|(k, id)| f(&k, id));
        self.long.into_iter().for_each(|(k, id)| f(&k, id));
        self.other.into_iter().for_each(|(k, id)| f(&k, id));
    }
}

/// The address ids the ledger holds, bounded.
pub(super) struct AddrCache {
    ids: AddrIds,
    cap: usize,
    complete: bool,
}

impl AddrCache {
    /// An empty cache of at most `budget_bytes`; `complete` if the ledger
    /// has no addresses.
    pub fn new(budget_bytes: usize, complete: bool) -> Self {
        AddrCache {
            ids: AddrIds::default(),
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
        self.ids.get(ik)
    }

    /// Remembers `ik` → `id`; a full cache is emptied first and stops being
    /// complete.
    pub fn insert(&mut self, ik: &[u8], id: AddrId) {
        if self.ids.len() >= self.cap {
            self.ids.clear();
            self.complete = false;
        }
        self.ids.insert(ik, id);
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
    fn a_full_cache_empties_and_is_no_longer_complete() {
        let mut c = AddrCache::new(0, true);
        let cap = c.capacity();
        for i in 0..cap as u32 {
            c.insert(&[&[0, 1][..], &i.to_be_bytes(), &[0; 16]].concat(), i);
        }
        assert!(c.is_complete());
        assert_eq!(
            c.get(&[&[0, 1][..], &5u32.to_be_bytes(), &[0; 16]].concat()),
            Some(5)
        );
        c.insert(&[9; 34], 1);
        assert!(!c.is_complete());
        assert_eq!(
            c.get(&[&[0, 1][..], &5u32.to_be_bytes(), &[0; 16]].concat()),
            None
        );
        assert_eq!(c.get(&[9; 34]), Some(1));
    }
}
