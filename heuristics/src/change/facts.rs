//! Look-ahead facts for the change heuristics that judge an output by how it
//! is spent later (locktime, version, RBF, output count, peel chain): one
//! pass over the ledger records, for every output, the wallet fingerprint of
//! the transaction that spent it. Two bytes per output, eight per transaction.

use chain_adapters::ledger::{AddrId, TxId, TxRecord};
use chain_adapters::store::Store;

use crate::error::Result;
use crate::runs::{Merged, Scratch, SortedRuns};

/// How an output was spent: the spending transaction's fingerprint, packed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Spender(u16);

const SPENT: u16 = 1 << 15;
const LOCKTIME: u16 = 1 << 8;
const RBF: u16 = 1 << 9;
const VERSION_SHIFT: u16 = 10;
const PEEL: u16 = 1 << 12;

impl Spender {
    /// The fingerprint `tx` leaves on the outputs it spends.
    pub fn of(tx: &TxRecord) -> Spender {
        let n_out = tx.outputs.len().min(255) as u16;
        let mut fp = SPENT | n_out;
        if tx.locktime != 0 {
            fp |= LOCKTIME;
        }
        if tx.inputs.iter().any(|i| i.sequence < 0xffff_fffe) {
            fp |= RBF;
        }
        let version = match tx.version {
            1 => 0,
            2 => 1,
            _ => 2,
        };
        fp |= version << VERSION_SHIFT;
        if is_peel_shaped(tx) {
            fp |= PEEL;
        }
        Spender(fp)
    }

    /// Whether the output was spent at all.
    pub fn spent(self) -> bool {
        self.0 & SPENT != 0
    }

    /// Non-zero locktime.
    pub fn locktime(self) -> bool {
        self.0 & LOCKTIME != 0
    }

    /// Signals replace-by-fee.
    pub fn rbf(self) -> bool {
        self.0 & RBF != 0
    }

    /// Version class: 0 = v1, 1 = v2, 2 = other.
    pub fn version(self) -> u16 {
        (self.0 >> VERSION_SHIFT) & 3
    }

    /// Number of outputs (capped at 255).
    pub fn outputs(self) -> u16 {
        self.0 & 0xff
    }

    /// A peel-chain step: one input address, two outputs.
    pub fn peel(self) -> bool {
        self.0 & PEEL != 0
    }
}

/// One input address (possibly several inputs) and two outputs.
pub fn is_peel_shaped(tx: &TxRecord) -> bool {
    let mut addrs = tx.inputs.iter().map(|i| i.addr);
    let first: Option<Option<AddrId>> = addrs.next();
    tx.outputs.len() == 2 && matches!(first, Some(Some(_))) && addrs.all(|a| Some(a) == first)
}

/// For every output in the ledger, how it was spent.
#[derive(Debug, Default)]
pub struct ForwardFacts {
    /// Index of each transaction's first output in `spender`.
    out_base: Vec<u64>,
    spender: Vec<Spender>,
}

impl ForwardFacts {
    /// Reads every transaction of the ledger once.
    pub fn collect(store: &Store) -> Result<Self> {
        let mut f = ForwardFacts::default();
        store.for_each_tx(|_, tx| f.add(&tx))?;
        Ok(f)
    }

    /// Records `tx` (transactions must come in id order).
    pub fn add(&mut self, tx: &TxRecord) {
        let base = self.spender.len() as u64;
        self.out_base.push(base);
        self.spender
            .resize(self.spender.len() + tx.outputs.len(), Spender::default());
        let fp = Spender::of(tx);
        for prev in tx.inputs.iter().filter_map(|i| i.prev) {
            if let Some(&b) = self.out_base.get(prev.tx as usize) {
                if let Some(s) = self.spender.get_mut((b + u64::from(prev.vout)) as usize) {
                    *s = fp;
                }
            }
        }
    }

    /// How each output of transaction `tx` was spent (empty if unknown).
    pub fn spenders(&self, tx: TxId) -> &[Spender] {
        let Some(&start) = self.out_base.get(tx as usize) else {
            return &[];
        };
        let end = self
            .out_base
            .get(tx as usize + 1)
            .copied()
            .unwrap_or(self.spender.len() as u64);
        &self.spender[start as usize..end as usize]
    }
}

/// Spent output (tx BE, vout BE), then its spender.
const SPENT_LEN: usize = 14;

/// The look-ahead facts of [`ForwardFacts`] in bounded memory: one pass
/// over the ledger writes (output, spender) for every spent output to
/// sorted runs, read back in transaction order while the engine judges.
pub struct ForwardStream {
    runs: Merged<SPENT_LEN>,
    current: Vec<Spender>,
}

impl ForwardStream {
    /// Reads every transaction of the ledger once, keeping at most about
    /// `budget_bytes` in memory.
    pub(crate) fn collect(store: &Store, scratch: &Scratch, budget_bytes: usize) -> Result<Self> {
        let mut runs = SortedRuns::<SPENT_LEN>::new(scratch, "spent", budget_bytes);
        let mut failed = None;
        store.for_each_tx(|_, tx| {
            let fp = Spender::of(&tx);
            for prev in tx.inputs.iter().filter_map(|i| i.prev) {
                let mut r = [0u8; SPENT_LEN];
                r[0..8].copy_from_slice(&prev.tx.to_be_bytes());
                r[8..12].copy_from_slice(&prev.vout.to_be_bytes());
                r[12..14].copy_from_slice(&fp.0.to_be_bytes());
                if let Err(e) = runs.push(r) {
                    failed.get_or_insert(e);
                }
            }
        })?;
        if let Some(e) = failed {
            return Err(e);
        }
        Ok(ForwardStream {
            runs: runs.sorted()?,
            current: Vec::new(),
        })
    }

    /// How each of the `outputs` outputs of transaction `tx` was spent
    /// (transactions must be asked in increasing order).
    pub fn spenders(&mut self, tx: TxId, outputs: usize) -> Result<&[Spender]> {
        self.current.clear();
        self.current.resize(outputs, Spender::default());
        let current = &mut self.current;
        self.runs.each_with_key(&tx.to_be_bytes(), |r| {
            let vout = u32::from_be_bytes(r[8..12].try_into().expect("4 bytes"));
            if let Some(s) = current.get_mut(vout as usize) {
                *s = Spender(u16::from_be_bytes([r[12], r[13]]));
            }
        })?;
        Ok(&self.current)
    }
}
