//! What a build records while the engine runs, kept out of memory: every
//! address's facts (a bounded hot set of recent addresses that spills to
//! sorted runs), merge links with their evidence, and detected CoinJoins —
//! all read back in key order when the build is saved.

use chain_adapters::ledger::{AddrId, TxId};
use foldhash::HashMap;

use super::persist::{decode_facts, encode_facts};
use super::{AddressFacts, Evidence, Link, Rule};
use crate::change::HeuristicSet;
use crate::coinjoin::{CoinJoin, CoinJoinKind};
use crate::error::{Error, Result};
use crate::runs::{Merged, Scratch, SortedRuns};

/// Address (BE), then its facts as a chunk stores them.
pub(crate) const FACT_LEN: usize = 28;
/// Address, other address (BE), tx (BE), rule, heuristics, confidence.
pub(crate) const LINK_LEN: usize = 20;
/// Tx (BE), kind, denomination (u128 LE), equal outputs.
pub(crate) const COINJOIN_LEN: usize = 29;

/// Bytes a hot-set entry costs (key, facts, hash table overhead).
const HOT_ENTRY_BYTES: usize = 64;

pub(crate) fn fact_record(a: AddrId, f: &AddressFacts) -> [u8; FACT_LEN] {
    let mut r = [0u8; FACT_LEN];
    r[0..4].copy_from_slice(&a.to_be_bytes());
    r[4..28].copy_from_slice(&encode_facts(f));
    r
}

pub(crate) fn fact_from_record(r: &[u8; FACT_LEN]) -> (AddrId, AddressFacts) {
    (
        u32::from_be_bytes(r[0..4].try_into().expect("4 bytes")),
        decode_facts(&r[4..28]),
    )
}

/// Folds `other` (facts of the same address from another part of the
/// chain) into `f`.
fn combine(f: &mut AddressFacts, other: &AddressFacts) {
    f.first_height = f.first_height.min(other.first_height);
    f.last_height = f.last_height.max(other.last_height);
    f.balance += other.balance;
}

pub(crate) fn link_record(a: AddrId, b: AddrId, e: &Evidence) -> [u8; LINK_LEN] {
    let mut r = [0u8; LINK_LEN];
    r[0..4].copy_from_slice(&a.to_be_bytes());
    r[4..8].copy_from_slice(&b.to_be_bytes());
    r[8..16].copy_from_slice(&e.tx.to_be_bytes());
    r[16] = e.rule as u8;
    r[17..19].copy_from_slice(&e.heuristics.0.to_be_bytes());
    r[19] = e.confidence;
    r
}

/// The pair (as stored: `a`, `b`) and evidence of a link record.
pub(crate) fn link_from_record(r: &[u8; LINK_LEN]) -> (AddrId, AddrId, Evidence) {
    let rule = Rule::from_u8(r[16]).expect("written by link_record");
    (
        u32::from_be_bytes(r[0..4].try_into().expect("4 bytes")),
        u32::from_be_bytes(r[4..8].try_into().expect("4 bytes")),
        Evidence {
            tx: u64::from_be_bytes(r[8..16].try_into().expect("8 bytes")),
            rule,
            heuristics: HeuristicSet(u16::from_be_bytes([r[17], r[18]])),
            confidence: r[19],
        },
    )
}

fn coinjoin_record(tx: TxId, c: &CoinJoin) -> [u8; COINJOIN_LEN] {
    let mut r = [0u8; COINJOIN_LEN];
    r[0..8].copy_from_slice(&tx.to_be_bytes());
    r[8] = c.kind as u8;
    r[9..25].copy_from_slice(&c.denomination.to_le_bytes());
    r[25..29].copy_from_slice(&c.equal_outputs.to_le_bytes());
    r
}

pub(crate) fn coinjoin_from_record(r: &[u8; COINJOIN_LEN]) -> (TxId, CoinJoin) {
    (
        u64::from_be_bytes(r[0..8].try_into().expect("8 bytes")),
        CoinJoin {
            kind: CoinJoinKind::from_u8(r[8]).expect("written by coinjoin_record"),
            denomination: u128::from_le_bytes(r[9..25].try_into().expect("16 bytes")),
            equal_outputs: u32::from_le_bytes(r[25..29].try_into().expect("4 bytes")),
        },
    )
}

/// Where a recording engine puts its facts, links and CoinJoins.
pub(crate) struct Recorder<'s> {
    hot: HashMap<AddrId, AddressFacts>,
    hot_cap: usize,
    facts: SortedRuns<'s, FACT_LEN>,
    links: SortedRuns<'s, LINK_LEN>,
    coinjoins: SortedRuns<'s, COINJOIN_LEN>,
    /// The first write that failed (the engine's steps cannot fail; the
    /// build reports it when it saves).
    failed: Option<Error>,
}

impl<'s> Recorder<'s> {
    /// A recorder holding at most about `budget_bytes` in memory.
    pub(crate) fn new(scratch: &'s Scratch, budget_bytes: usize) -> Self {
        let part = (budget_bytes / 4).min(crate::runs::MAX_SORT_BUFFER);
        Recorder {
            hot: HashMap::default(),
            hot_cap: (part / HOT_ENTRY_BYTES).max(1024),
            facts: SortedRuns::new(scratch, "facts", part),
            links: SortedRuns::new(scratch, "links", part),
            coinjoins: SortedRuns::new(scratch, "coinjoins", part / 4),
            failed: None,
        }
    }

    fn keep(&mut self, r: Result<()>) {
        if let (Err(e), None) = (r, &self.failed) {
            self.failed = Some(e);
        }
    }

    /// Address `a` was touched at `height`, its balance changing by `delta`.
    pub(crate) fn touch(&mut self, a: AddrId, height: u32, delta: i128) {
        let f = self.hot.entry(a).or_default();
        combine(
            f,
            &AddressFacts {
                first_height: height,
                last_height: height,
                balance: delta,
            },
        );
        if self.hot.len() >= self.hot_cap {
            let r = self.spill_hot();
            self.keep(r);
        }
    }

    fn spill_hot(&mut self) -> Result<()> {
        for (a, f) in self.hot.drain() {
            self.facts.push(fact_record(a, &f))?;
        }
        Ok(())
    }

    /// Facts of `a` from the stored build an incremental build continues.
    pub(crate) fn stored_facts(&mut self, a: AddrId, f: &AddressFacts) -> Result<()> {
        self.facts.push(fact_record(a, f))
    }

    /// A merge: stored in both directions.
    pub(crate) fn link(&mut self, l: &Link) {
        let r = self
            .links
            .push(link_record(l.a, l.b, &l.evidence))
            .and_then(|()| self.links.push(link_record(l.b, l.a, &l.evidence)));
        self.keep(r);
    }

    /// A detected CoinJoin.
    pub(crate) fn coinjoin(&mut self, tx: TxId, c: &CoinJoin) {
        let r = self.coinjoins.push(coinjoin_record(tx, c));
        self.keep(r);
    }

    /// Everything recorded, in key order.
    pub(crate) fn finish(mut self) -> Result<Recorded> {
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        self.spill_hot()?;
        Ok(Recorded {
            facts: FactStream {
                runs: self.facts.sorted()?,
            },
            links: self.links.sorted()?,
            coinjoins: self.coinjoins.sorted()?,
        })
    }
}

/// A finished recording, read in key order.
pub(crate) struct Recorded {
    /// Facts per address, in address order.
    pub(crate) facts: FactStream,
    /// Link records (both directions), in (address, address) order.
    pub(crate) links: Merged<LINK_LEN>,
    /// CoinJoins in transaction order.
    pub(crate) coinjoins: Merged<COINJOIN_LEN>,
}

/// The facts of each address, the pieces recorded for it combined, in
/// address order.
pub(crate) struct FactStream {
    runs: Merged<FACT_LEN>,
}

impl FactStream {
    /// The facts of address `a` (addresses must be asked in increasing
    /// order; an address never touched has none).
    pub(crate) fn facts_of(&mut self, a: AddrId) -> Result<AddressFacts> {
        let mut f = AddressFacts::default();
        self.runs.each_with_key(&a.to_be_bytes(), |r| {
            combine(&mut f, &fact_from_record(r).1)
        })?;
        Ok(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_spilled_in_pieces_combine_per_address() {
        let dir = tempfile::tempdir().unwrap();
        let scratch = Scratch::new(dir.path().join("s")).unwrap();
        // A hot set of 1,024 entries: 5,000 addresses force spills.
        let mut rec = Recorder::new(&scratch, 0);
        for round in 0..3u32 {
            for a in 0..5_000u32 {
                rec.touch(a, 100 + round * 10 + a % 7, i128::from(a) * 10 - 3);
            }
        }
        let mut done = rec.finish().unwrap();
        for a in 0..5_000u32 {
            let f = done.facts.facts_of(a).unwrap();
            assert_eq!(f.first_height, 100 + a % 7, "address {a}");
            assert_eq!(f.last_height, 120 + a % 7);
            assert_eq!(f.balance, 3 * (i128::from(a) * 10 - 3));
        }
        assert_eq!(done.facts.facts_of(6_000).unwrap(), AddressFacts::default());
    }

    #[test]
    fn links_and_coinjoins_round_trip() {
        let e = Evidence {
            tx: 0x0102_0304_0506,
            rule: Rule::Change,
            heuristics: HeuristicSet(0x1234),
            confidence: 87,
        };
        assert_eq!(link_from_record(&link_record(7, 9, &e)), (7, 9, e));
        let c = CoinJoin {
            kind: CoinJoinKind::Whirlpool,
            denomination: u128::MAX - 5,
            equal_outputs: 5,
        };
        assert_eq!(coinjoin_from_record(&coinjoin_record(42, &c)), (42, c));
    }
}
