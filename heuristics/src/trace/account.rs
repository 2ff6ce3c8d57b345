//! An address or cluster as an account for the FIFO and LIFO models: a
//! queue of received value, tainted or clean, that spends release from the
//! front (oldest first) or the back (newest first).

use std::collections::VecDeque;

use chain_adapters::ledger::{Amount, TxId};

use super::alloc::{proportional, Run, Runs};
use super::source::NodeId;
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
pub fn book_held<'a>(accounts: impl Iterator<Item = (&'a NodeId, &'a Account)>, book: &mut Book) {
    let mut held: Vec<_> = accounts
        .map(|(&n, a)| (n, a.taint(), a.stopped.unwrap_or(Stop::Unspent)))
        .collect();
    held.sort_by_key(|&(n, ..)| n);
    for (n, taint, why) in held {
        if taint > 0 {
            book.stop(Some(n), why, taint);
        }
    }
}

/// One line of an account's history: what it received and sent in a transaction.
pub type Line = (TxId, Amount, Amount);

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
    pub fn open(history: Vec<Line>, at: TxId, hop: u32, release: Release) -> Account {
        Account::opened(history, at, hop, release, true)
    }

    /// Opens the account before transaction `at`, whose debits the caller
    /// makes itself: the value held before `at` is one clean run.
    pub fn open_before(history: Vec<Line>, at: TxId, hop: u32, release: Release) -> Account {
        Account::opened(history, at, hop, release, false)
    }

    fn opened(
        history: Vec<Line>,
        at: TxId,
        hop: u32,
        release: Release,
        sent_in_at: bool,
    ) -> Account {
        let mut balance: Amount = 0;
        let mut cursor = history.len();
        for (i, &(tx, received, sent)) in history.iter().enumerate() {
            if tx > at || (tx == at && !sent_in_at) {
                cursor = i;
                break;
            }
            if tx < at {
                balance = balance.saturating_add(received);
            }
            balance = balance.saturating_sub(sent);
        }
        let mut queue = VecDeque::new();
        if balance > 0 {
            queue.push_back(Run::new(balance, false));
        }
        Account {
            queue,
            history,
            cursor,
            release,
            hop,
            stopped: None,
        }
    }

    /// Transactions after `at` in which the account sends value.
    pub fn debits_after(&self, at: TxId) -> impl Iterator<Item = TxId> + '_ {
        self.history
            .iter()
            .filter(move |l| l.0 > at && l.2 > 0)
            .map(|l| l.0)
    }

    /// Replays the history before `to` (clean, untraced transactions) and
    /// skips the line of `to` itself (the engine judges it).
    fn advance(&mut self, to: TxId) {
        while let Some(&(tx, received, sent)) = self.history.get(self.cursor) {
            if tx > to {
                break;
            }
            self.cursor += 1;
            if tx == to {
                break;
            }
            self.take(sent);
            self.push(Run::new(received, false));
        }
    }

    fn push(&mut self, run: Run) {
        if run.value == 0 {
            return;
        }
        match self.queue.back_mut() {
            Some(last) if last.tainted == run.tainted && last.origin == run.origin => {
                last.value += run.value
            }
            _ => self.queue.push_back(run),
        }
    }

    /// Removes `amount` by the release order, in the order it leaves; a
    /// shortfall (value the ledger did not see arrive) is made up with clean
    /// value, or tainted value under poison.
    fn take(&mut self, amount: Amount) -> Runs {
        match self.release {
            Release::Fifo | Release::Lifo => self.take_ordered(amount),
            Release::Proportional => self.take_share(amount),
            Release::Poison => {
                let tainted = self.taint() > 0;
                let mut out = self.take_ordered(amount);
                if tainted {
                    for r in &mut out.0 {
                        r.tainted = true;
                    }
                }
                out
            }
        }
    }

    /// A proportional share of every run.
    fn take_share(&mut self, amount: Amount) -> Runs {
        let held: Amount = self.queue.iter().map(|r| r.value).sum();
        let from_held = amount.min(held);
        let weights: Vec<Amount> = self.queue.iter().map(|r| r.value).collect();
        let parts = proportional(from_held, &weights);
        let mut out = Runs::default();
        for (r, part) in self.queue.iter_mut().zip(parts) {
            out.push(Run { value: part, ..*r });
            r.value -= part;
        }
        self.queue.retain(|r| r.value > 0);
        out.push(Run::new(amount - from_held, false));
        out
    }

    fn take_ordered(&mut self, amount: Amount) -> Runs {
        let lifo = self.release == Release::Lifo;
        let mut out = Runs::default();
        let mut need = amount;
        while need > 0 {
            let next = if lifo {
                self.queue.back_mut()
            } else {
                self.queue.front_mut()
            };
            let Some(r) = next else { break };
            let part = r.value.min(need);
            out.push(Run { value: part, ..*r });
            r.value -= part;
            need -= part;
            if r.value == 0 {
                if lifo {
                    self.queue.pop_back();
                } else {
                    self.queue.pop_front();
                }
            }
        }
        out.push(Run::new(need, false));
        out
    }

    /// The account sends `amount` in transaction `tx`.
    pub fn debit(&mut self, tx: TxId, amount: Amount) -> Runs {
        self.advance(tx);
        self.take(amount)
    }

    /// The account receives `runs` in transaction `tx`.
    pub fn credit(&mut self, tx: TxId, runs: &Runs) {
        self.advance(tx);
        for &r in &runs.0 {
            self.push(r);
        }
    }

    /// Tainted value still held.
    pub fn taint(&self) -> Amount {
        self.queue
            .iter()
            .filter(|r| r.tainted)
            .map(|r| r.value)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tainted(v: Amount) -> Runs {
        Runs::one(v, true)
    }

    #[test]
    fn fifo_spends_older_clean_value_first() {
        // 5 clean received in tx 1; taint 10 arrives in tx 3; tx 4 sends 8.
        let history = vec![(1, 5, 0), (3, 10, 0), (4, 0, 8), (6, 0, 7)];
        let mut a = Account::open(history, 3, 0, Release::Fifo);
        a.credit(3, &tainted(10));
        assert_eq!(a.debits_after(3).collect::<Vec<_>>(), vec![4, 6]);
        assert_eq!(a.debit(4, 8).taint(), 3);
        assert_eq!(a.debit(6, 7).taint(), 7);
        assert_eq!(a.taint(), 0);
    }

    #[test]
    fn lifo_spends_newest_first_and_replays_clean_receipts() {
        let history = vec![(1, 5, 0), (3, 10, 0), (5, 4, 0), (6, 0, 8)];
        let mut a = Account::open(history, 3, 0, Release::Lifo);
        a.credit(3, &tainted(10));
        // tx 5 (clean, 4) is replayed before tx 6: LIFO sends it first.
        assert_eq!(a.debit(6, 8).taint(), 4);
        assert_eq!(a.taint(), 6);
    }
}
