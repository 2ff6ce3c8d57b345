//! The ten change heuristics. Each names the one output that alone has the
//! property it looks for, or nothing.

use chain_adapters::ledger::{AddressKind, TxRecord};

use super::facts::{is_peel_shaped, Spender};
use super::{ChangeHeuristic, Vote};

/// Outputs that are multiples of this are round amounts (0.0001 BTC).
pub const ROUND_UNIT: u128 = 10_000;

/// What the heuristics know about one transaction.
#[derive(Debug, Clone, Copy)]
pub struct TxContext<'a> {
    /// The transaction.
    pub tx: &'a TxRecord,
    /// Script type of each input's address.
    pub input_kinds: &'a [AddressKind],
    /// How each output was spent later (empty when look-ahead is off).
    pub spenders: &'a [Spender],
}

impl TxContext<'_> {
    /// The one output with an address that satisfies `pred`, if exactly one does.
    fn unique(&self, pred: impl Fn(usize) -> bool) -> Option<usize> {
        let mut found = None;
        for (i, o) in self.tx.outputs.iter().enumerate() {
            if o.addr.is_some() && pred(i) {
                if found.is_some() {
                    return None;
                }
                found = Some(i);
            }
        }
        found
    }

    /// The one output spent by a transaction matching `same`, when at least
    /// one other output was spent by a transaction that does not.
    fn unique_spender(&self, same: impl Fn(Spender) -> bool) -> Option<usize> {
        let spender = |i: usize| self.spenders.get(i).copied().filter(|s| s.spent());
        let hit = self.unique(|i| spender(i).is_some_and(&same))?;
        let contrast =
            (0..self.tx.outputs.len()).any(|i| i != hit && spender(i).is_some_and(|s| !same(s)));
        contrast.then_some(hit)
    }

    fn pays_back_to_input(&self, i: usize) -> bool {
        let a = self.tx.outputs[i].addr;
        a.is_some() && self.tx.inputs.iter().any(|inp| inp.addr == a)
    }
}

/// Every heuristic's vote on `ctx`'s transaction, appended to `out`.
/// Transactions without inputs or with fewer than two addressed outputs get none.
pub fn votes(ctx: &TxContext<'_>, out: &mut Vec<Vote>) {
    let tx = ctx.tx;
    if tx.is_coinbase() || tx.inputs.is_empty() {
        return;
    }
    if tx.outputs.iter().filter(|o| o.addr.is_some()).count() < 2 {
        return;
    }
    let mut vote = |heuristic, output: Option<usize>| {
        if let Some(output) = output {
            out.push(Vote { heuristic, output });
        }
    };
    use ChangeHeuristic::*;
    let self_change = (0..tx.outputs.len()).any(|i| ctx.pays_back_to_input(i));
    vote(
        FreshAddress,
        (!self_change)
            .then(|| ctx.unique(|i| tx.outputs[i].addr.is_some_and(|a| tx.introduces(a))))
            .flatten(),
    );
    vote(AddressReuse, ctx.unique(|i| ctx.pays_back_to_input(i)));
    let first_kind = ctx.input_kinds.first().copied();
    let one_kind = first_kind.filter(|k| ctx.input_kinds.iter().all(|x| x == k));
    vote(
        ScriptType,
        one_kind.and_then(|k| ctx.unique(|i| tx.outputs[i].kind == k)),
    );
    vote(
        RoundPayment,
        ctx.unique(|i| !tx.outputs[i].value.is_multiple_of(ROUND_UNIT)),
    );
    let smallest_input = tx.inputs.iter().map(|i| i.value).min().unwrap_or(0);
    vote(
        OptimalChange,
        ctx.unique(|i| tx.outputs[i].value < smallest_input),
    );
    let me = Spender::of(tx);
    vote(
        Locktime,
        ctx.unique_spender(|s| s.locktime() == me.locktime()),
    );
    vote(Version, ctx.unique_spender(|s| s.version() == me.version()));
    vote(Rbf, ctx.unique_spender(|s| s.rbf() == me.rbf()));
    vote(
        OutputCount,
        ctx.unique_spender(|s| s.outputs() == me.outputs()),
    );
    vote(
        PeelChain,
        is_peel_shaped(tx)
            .then(|| ctx.unique_spender(|s| s.peel()))
            .flatten(),
    );
}
