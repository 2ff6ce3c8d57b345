//! The ledger writer's unspent outputs: an in-memory set bounded by a share
//! of `--cache-mb`, written to the `utxo` column family lazily, as Bitcoin
//! Core's coins cache is.
//!
//! Outputs created and spent between two writes of the set never reach the
//! disk. The `utxo` column family records, in the meta key
//! `utxo_synced_to`, the transaction id up to which it is current; every
//! write of the set goes in the same atomic batch as the blocks it covers.
//! After a crash the writer replays the ledger's transactions above that id
//! (their changes: [`tx_changes`]), so the set on disk again matches the tip.
//!
//! While the set holds every unspent output (it is *complete*: the ledger was
//! empty, or small enough to load whole, and nothing has been evicted), a
//! miss is itself the answer — an unknown output — and nothing is read from
//! RocksDB. Beyond its share the set keeps two generations: when the young
//! one holds half the share it is written out and becomes the old one, and
//! the previous old one is forgotten (misses then go to the store). Most
//! outputs are spent soon after they are made, so the recent ones stay in
//! memory however long the chain grows.

// foldhash: fast and seeded per process, so crafted chain data cannot force collisions.
use foldhash::{HashMap, HashSet};

use crate::ledger::{AddressKind, Amount, Chain, Hash32, TxId, Unspent};

/// Bytes one entry costs at most, table overhead included.
const ENTRY_BYTES: usize = 80;

/// Whether an output of `kind` on `chain` joins the unspent-output set
/// (Bitcoin outputs except OP_RETURN, which can never be spent).
pub(super) fn joins_unspent(chain: Chain, kind: AddressKind) -> bool {
    chain == Chain::Bitcoin && kind != AddressKind::NullData
}

/// An unspent output's key: txid, vout.
pub(super) type UtxoKey = (Hash32, u32);

/// Producing tx id (8 bytes LE), value (8 bytes LE), address id (4 bytes LE)
/// and flags (1 byte: has an address, is on disk): packed so an entry stays
/// small.
type Packed = [u8; 21];

const HAS_ADDR: u8 = 1;
const ON_DISK: u8 = 2;

fn pack(tx: TxId, u: &Unspent, flags: u8) -> Option<Packed> {
    let value = u64::try_from(u.value).ok()?;
    let mut p = [0u8; 21];
    p[..8].copy_from_slice(&tx.to_le_bytes());
    p[8..16].copy_from_slice(&value.to_le_bytes());
    p[20] = flags;
    if let Some(a) = u.addr {
        p[16..20].copy_from_slice(&a.to_le_bytes());
        p[20] |= HAS_ADDR;
    }
    Some(p)
}

fn unpack(p: &Packed) -> (TxId, Unspent) {
    let u64_at = |i: usize| u64::from_le_bytes(p[i..i + 8].try_into().expect("8 bytes"));
    let addr =
        (p[20] & HAS_ADDR != 0).then(|| u32::from_le_bytes(p[16..20].try_into().expect("4 bytes")));
    (
        u64_at(0),
        Unspent {
            addr,
            value: Amount::from(u64_at(8)),
        },
    )
}

/// Writes to the `utxo` column family that bring it up to date.
#[derive(Default)]
pub(super) struct UtxoWrites {
    /// Outputs to store.
    pub puts: Vec<(UtxoKey, TxId, Unspent)>,
    /// Stored outputs since spent.
    pub deletes: Vec<UtxoKey>,
}

/// The unspent outputs the writer knows, and what the store lacks of them.
pub(super) struct UtxoSet {
    /// Outputs loaded or created since the last eviction.
    map: HashMap<UtxoKey, Packed>,
    /// The generation before (all on disk): recent outputs, most of what
    /// the next blocks spend.
    old: HashMap<UtxoKey, Packed>,
    cap: usize,
    complete: bool,
    /// Outputs created since the set was last written (some since spent).
    created: Vec<UtxoKey>,
    /// Stored outputs spent since the set was last written.
    spent: HashSet<UtxoKey>,
}

impl UtxoSet {
    /// An empty set of at most `budget_bytes`; `complete` if the ledger has
    /// no unspent outputs.
    pub fn new(budget_bytes: usize, complete: bool) -> Self {
        UtxoSet {
            map: HashMap::default(),
            old: HashMap::default(),
            cap: (budget_bytes / ENTRY_BYTES).max(1024),
            complete,
            created: Vec::new(),
            spent: HashSet::default(),
        }
    }

    /// How many entries fit.
    pub fn capacity(&self) -> usize {
        self.cap
    }

    /// Whether a miss means the ledger has no such unspent output.
    pub fn is_complete(&self) -> bool {
        self.complete
    }

    /// Whether the young generation has grown past half the share and
    /// should be written out and become the old one.
    pub fn is_full(&self) -> bool {
        self.map.len() > self.cap / 2
    }

    /// Takes in an output read from the store.
    pub fn load(&mut self, key: UtxoKey, tx: TxId, u: &Unspent) {
        match pack(tx, u, ON_DISK) {
            Some(p) => {
                self.map.insert(key, p);
            }
            None => self.complete = false,
        }
    }

    /// Adds a new output. `None` if its value does not fit 64 bits (no
    /// Bitcoin output can hold that much).
    pub fn create(&mut self, key: UtxoKey, tx: TxId, u: &Unspent) -> Option<()> {
        let p = pack(tx, u, 0)?;
        // A duplicate txid (BIP30 cases) overwrites, as in Bitcoin Core.
        self.map.insert(key, p);
        self.created.push(key);
        Some(())
    }

    /// Takes output `key` out of the set if it is held. `Err(())` if it is
    /// known to be spent already (an output the store still has).
    pub fn spend(&mut self, key: &UtxoKey) -> Result<Option<(TxId, Unspent)>, ()> {
        if let Some(p) = self.map.remove(key).or_else(|| self.old.remove(key)) {
            if p[20] & ON_DISK != 0 {
                self.spent.insert(*key);
            }
            return Ok(Some(unpack(&p)));
        }
        if self.spent.contains(key) {
            return Err(());
        }
        Ok(None)
    }

    /// Records that a stored output (read from the store on a miss) was spent.
    pub fn spent_from_store(&mut self, key: UtxoKey) {
        self.spent.insert(key);
    }

    /// What the store lacks: the outputs created since the last write and
    /// still unspent, and the stored outputs spent since. They are then
    /// counted as on disk.
    pub fn take_writes(&mut self) -> UtxoWrites {
        let mut w = UtxoWrites::default();
        for key in std::mem::take(&mut self.created) {
            if let Some(p) = self.map.get_mut(&key) {
                if p[20] & ON_DISK == 0 {
                    p[20] |= ON_DISK;
                    let (tx, u) = unpack(p);
                    w.puts.push((key, tx, u));
                }
            }
        }
        w.deletes = self.spent.drain().collect();
        w
    }

    /// The young generation (all of it on disk) becomes the old one; the
    /// old one is forgotten, and misses go to the store from then on.
    pub fn evict(&mut self) {
        debug_assert!(self.created.is_empty() && self.spent.is_empty());
        if !self.old.is_empty() {
            self.complete = false;
        }
        self.old = std::mem::take(&mut self.map);
    }

    /// Marks a set filled from the whole column family as complete.
    pub fn set_complete(&mut self) {
        self.complete = true;
    }
}

/// The changes one stored transaction made to the unspent outputs, in
/// order: spent outputs (prevout txid looked up by `prev_hash`) then created
/// ones. Used to replay the ledger onto the `utxo` column family.
pub(super) fn tx_changes(
    tx: &crate::ledger::TxRecord,
    id: TxId,
    mut prev_hash: impl FnMut(TxId) -> crate::error::Result<Hash32>,
) -> crate::error::Result<UtxoWrites> {
    let mut w = UtxoWrites::default();
    if tx.chain != Chain::Bitcoin {
        return Ok(w);
    }
    for input in &tx.inputs {
        if let Some(prev) = input.prev {
            w.deletes.push((prev_hash(prev.tx)?, prev.vout));
        }
    }
    for (vout, o) in tx.outputs.iter().enumerate() {
        if joins_unspent(tx.chain, o.kind) {
            let u = Unspent {
                addr: o.addr,
                value: o.value,
            };
            w.puts.push(((tx.hash, vout as u32), id, u));
        }
    }
    Ok(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unspent_outputs_pack_and_unpack_exactly() {
        let u = Unspent {
            addr: Some(7),
            value: 2_100_000_000_000_000,
        };
        assert_eq!(
            unpack(&pack(u64::MAX - 1, &u, 0).unwrap()),
            (u64::MAX - 1, u)
        );
        let none = Unspent {
            addr: None,
            value: 0,
        };
        assert_eq!(unpack(&pack(0, &none, ON_DISK).unwrap()), (0, none));
        let huge = Unspent {
            addr: Some(0),
            value: Amount::from(u64::MAX) + 1,
        };
        assert!(pack(1, &huge, 0).is_none());
    }

    #[test]
    fn only_what_the_disk_lacks_is_written() {
        let out = |v| Unspent {
            addr: Some(1),
            value: v,
        };
        let mut s = UtxoSet::new(0, true);
        s.load(([1; 32], 0), 1, &out(10));
        s.create(([2; 32], 0), 2, &out(20)).unwrap();
        s.create(([2; 32], 1), 2, &out(21)).unwrap();
        // Spent before the set is written: never reaches the disk.
        assert_eq!(s.spend(&([2; 32], 1)), Ok(Some((2, out(21)))));
        // A stored output spent: a delete, and a second spend is refused.
        assert_eq!(s.spend(&([1; 32], 0)), Ok(Some((1, out(10)))));
        assert_eq!(s.spend(&([1; 32], 0)), Err(()));
        assert_eq!(s.spend(&([9; 32], 0)), Ok(None));
        let w = s.take_writes();
        assert_eq!(w.puts, vec![(([2; 32], 0), 2, out(20))]);
        assert_eq!(w.deletes, vec![([1; 32], 0)]);
        // Written once: spending it now needs a delete.
        assert!(s.take_writes().puts.is_empty());
        assert_eq!(s.spend(&([2; 32], 0)), Ok(Some((2, out(20)))));
        assert_eq!(s.take_writes().deletes, vec![([2; 32], 0)]);
    }

    #[test]
    fn an_evicted_set_keeps_its_recent_outputs_until_the_next_eviction() {
        let out = |v| Unspent {
            addr: Some(1),
            value: v,
        };
        let mut s = UtxoSet::new(0, true);
        let half = s.capacity() / 2;
        for i in 0..=half as u32 {
            s.create(([3; 32], i), 3, &out(u128::from(i))).unwrap();
        }
        assert!(s.is_full());
        assert_eq!(s.take_writes().puts.len(), half + 1);
        s.evict();
        assert!(s.is_complete(), "nothing forgotten yet");
        // The old generation answers (a stored output: its spend is a delete).
        assert_eq!(s.spend(&([3; 32], 7)), Ok(Some((3, out(7)))));
        assert_eq!(s.take_writes().deletes, vec![([3; 32], 7)]);
        s.evict();
        assert!(!s.is_complete());
        assert_eq!(
            s.spend(&([3; 32], 8)),
            Ok(None),
            "forgotten: the store answers"
        );
    }
}
