//! Exact integer arithmetic for splitting taint: proportional shares by the
//! largest-remainder method (shares always add up to the whole), and
//! ordered runs of tainted and clean value for the FIFO/LIFO models.

use std::collections::BTreeMap;

use chain_adapters::ledger::{Amount, OutRef};

/// `floor(a * b / c)` and the remainder, exact for any `u128` (wei amounts
/// overflow a plain `u128` product). `c` must not be 0.
pub fn mul_div(a: Amount, b: Amount, c: Amount) -> (Amount, Amount) {
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
/// the weights are.
pub fn proportional(total: Amount, weights: &[Amount]) -> Vec<Amount> {
    let sum: Amount = weights.iter().sum();
    if sum == 0 {
        return vec![0; weights.len()];
    }
    let mut parts = Vec::with_capacity(weights.len());
    let mut rems = Vec::with_capacity(weights.len());
    for (i, &w) in weights.iter().enumerate() {
        let (q, r) = mul_div(total, w, sum);
        parts.push(q);
        rems.push((r, i));
    }
    let mut left = total - parts.iter().sum::<Amount>();
    rems.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for &(_, i) in &rems {
        if left == 0 {
            break;
        }
        parts[i] += 1;
        left -= 1;
    }
    parts
}

/// A stretch of value, tainted or clean, in the order it moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    /// Value of the stretch.
    pub value: Amount,
    /// Whether it is tainted.
    pub tainted: bool,
    /// The output where tainted value last arrived at an account.
    pub origin: Option<OutRef>,
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
        r.push(Run::new(value, tainted));
        r
    }

    /// Appends a run, merging it into the last one of the same kind and origin.
    pub fn push(&mut self, run: Run) {
        if run.value == 0 {
            return;
        }
        match self.0.last_mut() {
            Some(last) if last.tainted == run.tainted && last.origin == run.origin => {
                last.value += run.value
            }
            _ => self.0.push(run),
        }
    }

    /// The same runs with the tainted ones arriving at output `origin`.
    pub fn arrived_at(&self, origin: OutRef) -> Runs {
        let mut out = Runs::default();
        for &r in &self.0 {
            out.push(Run {
                origin: r.tainted.then_some(origin),
                ..r
            });
        }
        out
    }

    /// Tainted value by the output where it arrived.
    pub fn by_origin(&self) -> BTreeMap<Option<OutRef>, Amount> {
        let mut m = BTreeMap::new();
        for r in self.0.iter().filter(|r| r.tainted) {
            *m.entry(r.origin).or_default() += r.value;
        }
        m
    }

    /// Appends all of `other`.
    pub fn extend(&mut self, other: &Runs) {
        for &r in &other.0 {
            self.push(r);
        }
    }

    /// Tainted value.
    pub fn taint(&self) -> Amount {
        self.0.iter().filter(|r| r.tainted).map(|r| r.value).sum()
    }

    /// Cuts the runs into consecutive pieces of the given sizes; what is
    /// left over comes last (the fee). A shortfall leaves pieces short.
    pub fn split(&self, sizes: &[Amount]) -> (Vec<Runs>, Runs) {
        let mut pieces = Vec::with_capacity(sizes.len());
        let mut src = self.0.iter().copied();
        let mut cur: Option<Run> = src.next();
        for &size in sizes {
            let mut piece = Runs::default();
            let mut need = size;
            while need > 0 {
                let Some(mut r) = cur else { break };
                let take = r.value.min(need);
                piece.push(Run { value: take, ..r });
                need -= take;
                r.value -= take;
                cur = if r.value == 0 { src.next() } else { Some(r) };
            }
            pieces.push(piece);
        }
        let mut rest = Runs::default();
        if let Some(r) = cur {
            rest.push(r);
        }
        for r in src {
            rest.push(r);
        }
        (pieces, rest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proportional_parts_add_up_exactly() {
        assert_eq!(proportional(10, &[1, 1, 1]), vec![4, 3, 3]);
        assert_eq!(proportional(100, &[30, 70]), vec![30, 70]);
        assert_eq!(proportional(7, &[0, 0]), vec![0, 0]);
        let p = proportional(1_000_000_007, &[3, 5, 7, 11]);
        assert_eq!(p.iter().sum::<u128>(), 1_000_000_007);
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
        let mut r = Runs::one(5, false);
        r.push(Run::new(10, true));
        let (pieces, fee) = r.split(&[8, 6]);
        assert_eq!(pieces[0].taint(), 3);
        assert_eq!(pieces[1].taint(), 6);
        assert_eq!(fee.taint(), 1);
        assert_eq!(fee.0.iter().map(|r| r.value).sum::<u128>(), 1);
    }
}
