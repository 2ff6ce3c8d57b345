//! Exact integer arithmetic for splitting taint: proportional shares by the
//! largest-remainder method (shares always add up to the whole), and
//! ordered runs of tainted and clean value for the FIFO/LIFO models.

use std::collections::BTreeMap;

use chain_adapters::ledger::OutRef;
use trace_file::{Amount, Overflow};

/// `floor(a * b / c)` and the remainder, exact for any `u128` (wei amounts
/// overflow a plain `u128` product). `c` must not be 0.
pub fn mul_div(a: u128, b: u128, c: u128) -> (u128, u128) {
    if let Some(p) = a.checked_mul(b) {
        return (p / c, p % c);
    }
    // 256-bit product as (hi, lo), then binary long division by c.
    let (hi, lo) = mul_wide(a, b);
    let (mut q, mut r) = (0u128, 0u128);
    for i in (0..256).rev() {
        let bit = if i >= 128 {
            (hi >> (i - 128)) & 1
        } else {
            (lo >> i) & 1
        };
        let carry = r >> 127;
        r = (r << 1) | bit;
        if carry == 1 || r >= c {
            r = r.wrapping_sub(c);
            if i < 128 {
                q |= 1 << i;
            }
        }
    }
    (q, r)
}

fn mul_wide(a: u128, b: u128) -> (u128, u128) {
    let (a1, a0) = (a >> 64, a & u64::MAX as u128);
    let (b1, b0) = (b >> 64, b & u64::MAX as u128);
    let (p00, p01, p10, p11) = (a0 * b0, a0 * b1, a1 * b0, a1 * b1);
    let mid = (p00 >> 64) + (p01 & u64::MAX as u128) + (p10 & u64::MAX as u128);
    let lo = (p00 & u64::MAX as u128) | (mid << 64);
    let hi = p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64);
    (hi, lo)
}

/// Splits `total` over `weights` in proportion (largest remainder; ties go
/// to the lower index). The parts add up to `total` exactly; all zero if
/// the weights are. Weights that do not sum within 2^128 are an error.
pub fn proportional(total: Amount, weights: &[Amount]) -> Result<Vec<Amount>, Overflow> {
    let sum = Amount::sum(weights.iter().copied())?.units();
    if sum == 0 {
        return Ok(vec![Amount::ZERO; weights.len()]);
    }
    let total = total.units();
    let mut parts = Vec::with_capacity(weights.len());
    let mut rems = Vec::with_capacity(weights.len());
    let mut given = 0u128;
    for (i, &w) in weights.iter().enumerate() {
        // Each part is at most `total` and the parts at most add up to it.
        let (q, r) = mul_div(total, w.units(), sum);
        parts.push(q);
        given += q;
        rems.push((r, i));
    }
    let mut left = total - given;
    rems.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for &(_, i) in &rems {
        if left == 0 {
            break;
        }
        parts[i] += 1;
        left -= 1;
    }
    Ok(parts.into_iter().map(Amount::new).collect())
}

/// Where tainted value arrived at an account: the output, and the hops
/// from the seeds at which it arrived there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Origin {
    /// The output.
    pub out: OutRef,
    /// Hops from the seeds to it.
    pub hop: u32,
}

/// A stretch of value, tainted or clean, in the order it moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    /// Value of the stretch.
    pub value: Amount,
    /// Whether it is tainted.
    pub tainted: bool,
    /// The output where tainted value last arrived at an account.
    pub origin: Option<Origin>,
}

impl Run {
    /// A run of `value` without an origin.
    pub fn new(value: Amount, tainted: bool) -> Run {
        Run {
            value,
            tainted,
            origin: None,
        }
    }
}

/// Ordered runs of value (adjacent runs of the same kind are merged).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Runs(pub Vec<Run>);

impl Runs {
    /// One run of `value`.
    pub fn one(value: Amount, tainted: bool) -> Runs {
        let mut r = Runs::default();
        if !value.is_zero() {
            r.0.push(Run::new(value, tainted));
        }
        r
    }

    /// `taint` tainted followed by the rest of `value` clean: a seed output.
    pub fn seeded(taint: Amount, value: Amount) -> Runs {
        let mut r = Runs::one(taint, true);
        let rest = value.left_after(taint);
        if !rest.is_zero() {
            r.0.push(Run::new(rest, false));
        }
        r
    }

    /// Appends a run, merging it into the last one of the same kind and
    /// origin (an error if the merged value does not fit).
    pub fn push(&mut self, run: Run) -> Result<(), Overflow> {
        if run.value.is_zero() {
            return Ok(());
        }
        match self.0.last_mut() {
            Some(last) if last.tainted == run.tainted && last.origin == run.origin => {
                last.value.add_assign(run.value)?
            }
            _ => self.0.push(run),
        }
        Ok(())
    }

    /// The same runs with the tainted ones arriving at output `out` after
    /// `hop` hops.
    pub fn arrived_at(&self, out: OutRef, hop: u32) -> Result<Runs, Overflow> {
        let origin = Origin { out, hop };
        let mut arrived = Runs::default();
        for &r in &self.0 {
            arrived.push(Run {
                origin: r.tainted.then_some(origin),
                ..r
            })?;
        }
        Ok(arrived)
    }

    /// Tainted value by the output where it arrived.
    pub fn by_origin(&self) -> Result<BTreeMap<Option<Origin>, Amount>, Overflow> {
        let mut m: BTreeMap<Option<Origin>, Amount> = BTreeMap::new();
        for r in self.0.iter().filter(|r| r.tainted) {
            m.entry(r.origin).or_default().add_assign(r.value)?;
        }
        Ok(m)
    }

    /// The fewest hops at which the tainted runs arrived (`None` without
    /// tainted runs that know where they arrived).
    pub fn hop(&self) -> Option<u32> {
        self.0
            .iter()
            .filter(|r| r.tainted)
            .filter_map(|r| r.origin.map(|o| o.hop))
            .min()
    }

    /// Appends all of `other`.
    pub fn extend(&mut self, other: &Runs) -> Result<(), Overflow> {
        for &r in &other.0 {
            self.push(r)?;
        }
        Ok(())
    }

    /// Tainted value.
    pub fn taint(&self) -> Result<Amount, Overflow> {
        Amount::sum(self.0.iter().filter(|r| r.tainted).map(|r| r.value))
    }

    /// Cuts the runs into consecutive pieces of the given sizes; what is
    /// left over comes last (the fee). A shortfall leaves pieces short.
    pub fn split(&self, sizes: &[Amount]) -> Result<(Vec<Runs>, Runs), Overflow> {
        let mut pieces = Vec::with_capacity(sizes.len());
        let mut src = self.0.iter().copied();
        let mut cur: Option<Run> = src.next();
        for &size in sizes {
            let mut piece = Runs::default();
            let mut need = size;
            while !need.is_zero() {
                let Some(mut r) = cur else { break };
                let take = r.value.min(need);
                piece.push(Run { value: take, ..r })?;
                need = need.left_after(take);
                r.value = r.value.left_after(take);
                cur = if r.value.is_zero() {
                    src.next()
                } else {
                    Some(r)
                };
            }
            pieces.push(piece);
        }
        let mut rest = Runs::default();
        for r in cur.into_iter().chain(src) {
            rest.push(r)?;
        }
        Ok((pieces, rest))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(v: &[u128]) -> Vec<Amount> {
        v.iter().copied().map(Amount::new).collect()
    }

    #[test]
    fn proportional_parts_add_up_exactly() {
        assert_eq!(
            proportional(Amount::new(10), &a(&[1, 1, 1])),
            Ok(a(&[4, 3, 3]))
        );
        assert_eq!(
            proportional(Amount::new(100), &a(&[30, 70])),
            Ok(a(&[30, 70]))
        );
        assert_eq!(proportional(Amount::new(7), &a(&[0, 0])), Ok(a(&[0, 0])));
        let p = proportional(Amount::new(1_000_000_007), &a(&[3, 5, 7, 11])).unwrap();
        assert_eq!(Amount::sum(p), Ok(Amount::new(1_000_000_007)));
    }

    /// Weights of a token whose transfers carry 2^127 each: their sum does
    /// not fit, and the split says so instead of wrapping to a wrong share.
    #[test]
    fn weights_beyond_2_pow_128_are_an_error() {
        let half = 1u128 << 127;
        assert!(proportional(Amount::new(5), &a(&[half, half])).is_err());
        assert_eq!(
            proportional(Amount::new(5), &a(&[half, half - 1])).map(|p| p.len()),
            Ok(2)
        );
    }

    #[test]
    fn mul_div_is_exact_beyond_u128_products() {
        let a = 120_000_000 * 10u128.pow(18); // all ether in wei
        let (q, r) = mul_div(a, a, a);
        assert_eq!((q, r), (a, 0));
        let (q, r) = mul_div(u128::MAX, 3, 7);
        // u128::MAX * 3 / 7, checked by splitting: (MAX/7)*3 + ((MAX%7)*3)/7
        let expect = (u128::MAX / 7) * 3 + (u128::MAX % 7) * 3 / 7;
        assert_eq!(q, expect);
        assert_eq!(r, (u128::MAX % 7) * 3 % 7);
    }

    #[test]
    fn runs_split_in_order_with_fee_last() {
        let mut r = Runs::one(Amount::new(5), false);
        r.push(Run::new(Amount::new(10), true)).unwrap();
        let (pieces, fee) = r.split(&a(&[8, 6])).unwrap();
        assert_eq!(pieces[0].taint(), Ok(Amount::new(3)));
        assert_eq!(pieces[1].taint(), Ok(Amount::new(6)));
        assert_eq!(fee.taint(), Ok(Amount::new(1)));
        assert_eq!(
            Amount::sum(fee.0.iter().map(|r| r.value)),
            Ok(Amount::new(1))
        );
    }

    #[test]
    fn merging_runs_beyond_2_pow_128_is_an_error() {
        let half = Amount::new(1u128 << 127);
        let mut r = Runs::one(half, true);
        assert!(r.push(Run::new(half, true)).is_err());
    }
}
