//! An address or cluster as an account for the FIFO and LIFO models: a
//! queue of received value, tainted or clean, that spends release from the
//! front (oldest first) or the back (newest first).

use std::collections::VecDeque;

use chain_adapters::ledger::TxId;
use trace_file::{Amount, Overflow};

use super::alloc::{proportional, Run, Runs};
use super::source::{Line, NodeId};
use super::view::{Book, Stop};
use super::Model;

/// In what order an account releases what it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Release {
    /// Oldest first.
    Fifo,
    /// Newest first.
    Lifo,
    /// A share of every run (haircut).
    Proportional,
    /// Everything that leaves a tainted account is tainted (poison).
    Poison,
}

impl From<Model> for Release {
    fn from(m: Model) -> Release {
        match m {
            Model::Fifo => Release::Fifo,
            Model::Lifo => Release::Lifo,
            Model::Haircut => Release::Proportional,
            Model::Poison => Release::Poison,
        }
    }
}

/// Books the taint the followed `accounts` still hold when a forward trace
/// ends: where each was stopped, or unspent. In node order (byte-identical
/// output).
pub fn book_held<'a>(
    accounts: impl Iterator<Item = (&'a NodeId, &'a Account)>,
    book: &mut Book,
) -> crate::Result<()> {
    let mut held = Vec::new();
    for (&n, a) in accounts {
        held.push((n, a.taint()?, a.stopped.unwrap_or(Stop::Unspent)));
    }
    held.sort_by_key(|&(n, ..)| n);
    for (n, taint, why) in held {
        if !taint.is_zero() {
            book.stop(Some(n), why, taint)?;
        }
    }
    Ok(())
}

/// A node's queue of value with its history still to replay.
pub struct Account {
    queue: VecDeque<Run>,
    history: Vec<Line>,
    cursor: usize,
    release: Release,
    /// Fewest hops at which taint arrived.
    pub hop: u32,
    /// Why the trace stopped following this account, if it did (its
    /// remaining taint counts there instead of as unspent).
    pub stopped: Option<Stop>,
}

impl Account {
    /// Opens the account while transaction `at` is judged: the value it held
    /// before `at`, less what it sent in `at`, is one clean run.
    pub fn open(
        history: Vec<Line>,
        at: TxId,
        hop: u32,
        release: Release,
    ) -> Result<Account, Overflow> {
        Account::opened(history, at, hop, release, true)
    }

    /// Opens the account before transaction `at`, whose debits the caller
    /// makes itself: the value held before `at` is one clean run.
    pub fn open_before(
        history: Vec<Line>,
        at: TxId,
        hop: u32,
        release: Release,
    ) -> Result<Account, Overflow> {
        Account::opened(history, at, hop, release, false)
    }

    /// The balance before `at` replays the history: receipts are summed
    /// (checked), and a debit beyond what the ledger saw arrive leaves the
    /// balance at zero (value from outside the ledger: genesis allocations,
    /// withdrawals).
    fn opened(
        history: Vec<Line>,
        at: TxId,
        hop: u32,
        release: Release,
        sent_in_at: bool,
    ) -> Result<Account, Overflow> {
        let mut balance = Amount::ZERO;
        let mut cursor = history.len();
        for (i, &(tx, received, sent)) in history.iter().enumerate() {
            if tx > at || (tx == at && !sent_in_at) {
                cursor = i;
                break;
            }
            if tx < at {
                balance.add_assign(received)?;
            }
            balance = balance.left_after(sent);
        }
        let mut queue = VecDeque::new();
        if !balance.is_zero() {
            queue.push_back(Run::new(balance, false));
        }
        Ok(Account {
            queue,
            history,
            cursor,
            release,
            hop,
            stopped: None,
        })
    }

    /// Transactions after `at` in which the account sends value.
    pub fn debits_after(&self, at: TxId) -> impl Iterator<Item = TxId> + '_ {
        self.history
            .iter()
            .filter(move |l| l.0 > at && !l.2.is_zero())
            .map(|l| l.0)
    }

    /// Replays the history before `to` (clean, untraced transactions) and
    /// skips the line of `to` itself (the engine judges it).
    fn advance(&mut self, to: TxId) -> Result<(), Overflow> {
        while let Some(&(tx, received, sent)) = self.history.get(self.cursor) {
            if tx > to {
                break;
            }
            self.cursor += 1;
            if tx == to {
                break;
            }
            self.take(sent)?;
            self.push(Run::new(received, false))?;
        }
        Ok(())
    }

    fn push(&mut self, run: Run) -> Result<(), Overflow> {
        if run.value.is_zero() {
            return Ok(());
        }
        match self.queue.back_mut() {
            Some(last) if last.tainted == run.tainted && last.origin == run.origin => {
                last.value.add_assign(run.value)?
            }
            _ => self.queue.push_back(run),
        }
        Ok(())
    }

    /// Removes `amount` by the release order, in the order it leaves; a
    /// shortfall (value the ledger did not see arrive) is made up with clean
    /// value, or tainted value under poison.
    fn take(&mut self, amount: Amount) -> Result<Runs, Overflow> {
        match self.release {
            Release::Fifo | Release::Lifo => self.take_ordered(amount),
            Release::Proportional => self.take_share(amount),
            Release::Poison => {
                let tainted = !self.taint()?.is_zero();
                let mut out = self.take_ordered(amount)?;
                if tainted {
                    for r in &mut out.0 {
                        r.tainted = true;
                    }
                }
                Ok(out)
            }
        }
    }

    /// A proportional share of every run.
    fn take_share(&mut self, amount: Amount) -> Result<Runs, Overflow> {
        let weights: Vec<Amount> = self.queue.iter().map(|r| r.value).collect();
        let held = Amount::sum(weights.iter().copied())?;
        let from_held = amount.min(held);
        let parts = proportional(from_held, &weights)?;
        let mut out = Runs::default();
        for (r, part) in self.queue.iter_mut().zip(parts) {
            out.push(Run { value: part, ..*r })?;
            r.value = r.value.left_after(part);
        }
        self.queue.retain(|r| !r.value.is_zero());
        out.push(Run::new(amount.left_after(from_held), false))?;
        Ok(out)
    }

    fn take_ordered(&mut self, amount: Amount) -> Result<Runs, Overflow> {
        let lifo = self.release == Release::Lifo;
        let mut out = Runs::default();
        let mut need = amount;
        while !need.is_zero() {
            let next = if lifo {
                self.queue.back_mut()
            } else {
                self.queue.front_mut()
            };
            let Some(r) = next else { break };
            let part = r.value.min(need);
            out.push(Run { value: part, ..*r })?;
            r.value = r.value.left_after(part);
            need = need.left_after(part);
            if r.value.is_zero() {
                if lifo {
                    self.queue.pop_back();
                } else {
                    self.queue.pop_front();
                }
            }
        }
        out.push(Run::new(need, false))?;
        Ok(out)
    }

    /// The account sends `amount` in transaction `tx`.
    pub fn debit(&mut self, tx: TxId, amount: Amount) -> Result<Runs, Overflow> {
        self.advance(tx)?;
        self.take(amount)
    }

    /// The account receives `runs` in transaction `tx`.
    pub fn credit(&mut self, tx: TxId, runs: &Runs) -> Result<(), Overflow> {
        self.advance(tx)?;
        for &r in &runs.0 {
            self.push(r)?;
        }
        Ok(())
    }

    /// Tainted value still held.
    pub fn taint(&self) -> Result<Amount, Overflow> {
        Amount::sum(self.queue.iter().filter(|r| r.tainted).map(|r| r.value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tainted(v: u128) -> Runs {
        Runs::one(Amount::new(v), true)
    }

    fn lines(h: &[(TxId, u128, u128)]) -> Vec<Line> {
        h.iter()
            .map(|&(t, r, s)| (t, Amount::new(r), Amount::new(s)))
            .collect()
    }

    fn taint(r: Result<Runs, Overflow>) -> u128 {
        r.unwrap().taint().unwrap().units()
    }

    #[test]
    fn fifo_spends_older_clean_value_first() {
        // 5 clean received in tx 1; taint 10 arrives in tx 3; tx 4 sends 8.
        let history = lines(&[(1, 5, 0), (3, 10, 0), (4, 0, 8), (6, 0, 7)]);
        let mut a = Account::open(history, 3, 0, Release::Fifo).unwrap();
        a.credit(3, &tainted(10)).unwrap();
        assert_eq!(a.debits_after(3).collect::<Vec<_>>(), vec![4, 6]);
        assert_eq!(taint(a.debit(4, Amount::new(8))), 3);
        assert_eq!(taint(a.debit(6, Amount::new(7))), 7);
        assert_eq!(a.taint(), Ok(Amount::ZERO));
    }

    #[test]
    fn lifo_spends_newest_first_and_replays_clean_receipts() {
        let history = lines(&[(1, 5, 0), (3, 10, 0), (5, 4, 0), (6, 0, 8)]);
        let mut a = Account::open(history, 3, 0, Release::Lifo).unwrap();
        a.credit(3, &tainted(10)).unwrap();
        // tx 5 (clean, 4) is replayed before tx 6: LIFO sends it first.
        assert_eq!(taint(a.debit(6, Amount::new(8))), 4);
        assert_eq!(a.taint(), Ok(Amount::new(6)));
    }

    /// What an account sends carries the hops of the value it sends: under
    /// LIFO the newest arrival (hop 5) leaves first, not the account's
    /// earliest (hop 2), so the next hop is counted from 5.
    #[test]
    fn value_sent_keeps_the_hops_of_its_own_arrival() {
        use chain_adapters::ledger::OutRef;
        let history = lines(&[(3, 10, 0), (5, 7, 0), (6, 0, 7), (8, 0, 10)]);
        let mut a = Account::open(history, 3, 2, Release::Lifo).unwrap();
        let at = |tx, hop| {
            tainted(if tx == 3 { 10 } else { 7 })
                .arrived_at(OutRef { tx, vout: 0 }, hop)
                .unwrap()
        };
        a.credit(3, &at(3, 2)).unwrap();
        a.credit(5, &at(5, 5)).unwrap();
        let newest = a.debit(6, Amount::new(7)).unwrap();
        assert_eq!(
            (newest.taint().unwrap().units(), newest.hop()),
            (7, Some(5))
        );
        let oldest = a.debit(8, Amount::new(10)).unwrap();
        assert_eq!(
            (oldest.taint().unwrap().units(), oldest.hop()),
            (10, Some(2))
        );
        let origins: Vec<_> = oldest.by_origin().unwrap().into_keys().collect();
        assert_eq!(origins.len(), 1);
        assert_eq!(origins[0].map(|o| (o.out.tx, o.hop)), Some((3, 2)));
    }

    /// A token that credited 2^127 twice: the balance does not fit in 128
    /// bits, and opening the account says so instead of wrapping.
    #[test]
    fn a_balance_beyond_2_pow_128_is_an_error() {
        let half = 1u128 << 127;
        let history = lines(&[(1, half, 0), (2, half, 0), (3, 0, 1)]);
        assert!(Account::open(history, 3, 0, Release::Fifo).is_err());
    }
}
