//! Seeds of one case that name the same funds twice: the same payment, or
//! address seeds on one address whose windows overlap (and whose exact
//! amounts, if given, agree). A trace counts such funds once, so these are
//! warnings, not errors — but a case file that repeats a seed usually
//! holds a copy-and-paste slip the investigator should see. With a ledger,
//! [`shared_outputs`] also finds seeds whose resolved outputs coincide
//! (a payment seed inside an address seed's window).
//!
//! Sorting makes every check `n log n` in the number of seeds.

use std::collections::{BTreeSet, HashMap};

use chain_adapters::ledger::{Chain, OutRef};
use heuristics::attribution::canonical_address;

use super::ledger::SeedOutput;
use super::{Case, Seed, SeedTarget};

/// Two seeds naming the same funds: `seed` (the later one in the file)
/// and `earlier`, both 0-based, and how.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Duplicate {
    /// The seed repeating another.
    pub seed: usize,
    /// The seed it repeats.
    pub earlier: usize,
    /// What they share.
    pub what: Shared,
}

/// What two seeds share.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Shared {
    /// The same payment (`txid:vout`).
    Payment(String),
    /// Overlapping windows on the same address.
    Window(String),
    /// Resolved ledger outputs: how many, and the first (`txid:vout`).
    Outputs(usize, String),
}

impl Duplicate {
    /// The warning for `case`, naming the file and both seeds.
    pub fn message(&self, origin: &str, case: &Case) -> String {
        let seed = &case.seeds[self.seed];
        let at = seed
            .line
            .map_or_else(|| origin.to_string(), |l| format!("{origin}:{l}"));
        let earlier = case.seeds[self.earlier].label(self.earlier);
        let what = match &self.what {
            Shared::Payment(p) => format!("names the same payment as {earlier}, {p}"),
            Shared::Window(a) => format!(
                "its window on address {a} overlaps that of {earlier} (same address, amounts not told apart)"
            ),
            Shared::Outputs(1, first) => {
                format!("resolves to output {first}, which {earlier} names too")
            }
            Shared::Outputs(n, first) => format!(
                "resolves to {n} outputs that {earlier} names too (the first {first})"
            ),
        };
        format!(
            "{at}: seed {}: {what}; a trace counts these funds once",
            self.seed + 1
        )
    }
}

/// Seeds that name the same payment, or overlapping windows of one address.
pub fn duplicate_seeds(case: &Case) -> Vec<Duplicate> {
    let mut out = same_payments(&case.seeds);
    out.extend(overlapping_windows(&case.seeds));
    out.sort();
    out
}

fn same_payments(seeds: &[Seed]) -> Vec<Duplicate> {
    let mut payments: Vec<(Chain, &str, u32, usize)> = seeds
        .iter()
        .enumerate()
        .filter_map(|(i, s)| match &s.target {
            SeedTarget::Payment { txid, vout } => Some((s.chain, txid.as_str(), *vout, i)),
            SeedTarget::Address { .. } => None,
        })
        .collect();
    payments.sort_unstable();
    let mut out = Vec::new();
    for pair in payments.windows(2) {
        let ((c0, t0, v0, _), (c1, t1, v1, i1)) = (pair[0], pair[1]);
        if (c0, t0, v0) == (c1, t1, v1) {
            // The first of the run is the earliest in the file (sorted by index last).
            let first = payments.partition_point(|p| (p.0, p.1, p.2) < (c1, t1, v1));
            out.push(Duplicate {
                seed: i1,
                earlier: payments[first].3,
                what: Shared::Payment(format!("{t1}:{v1}")),
            });
        }
    }
    out
}

/// An address seed's window as an inclusive range of Unix seconds.
struct Window {
    from: i64,
    until: i64,
    amount: Option<u128>,
    index: usize,
}

fn overlapping_windows(seeds: &[Seed]) -> Vec<Duplicate> {
    let mut windows: Vec<((Chain, String), Window)> = seeds
        .iter()
        .enumerate()
        .filter_map(|(index, s)| match &s.target {
            SeedTarget::Address {
                address,
                from,
                until,
                amount,
            } => Some((
                (s.chain, canonical_address(address)),
                Window {
                    from: from.unwrap_or(i64::MIN),
                    until: until.unwrap_or(i64::MAX),
                    amount: *amount,
                    index,
                },
            )),
            SeedTarget::Payment { .. } => None,
        })
        .collect();
    windows.sort_by(|(ka, a), (kb, b)| (ka, a.from, a.index).cmp(&(kb, b.from, b.index)));
    let mut out = Vec::new();
    for group in windows.chunk_by(|(a, _), (b, _)| a == b) {
        out.extend(sweep(group));
    }
    out
}

/// One address's windows, sorted by start: each window that overlaps an
/// earlier-starting one it may share outputs with (no amount, or the same).
fn sweep(group: &[((Chain, String), Window)]) -> Vec<Duplicate> {
    // The latest-ending window so far: of any amount, of no amount, per amount.
    let mut any: Option<(i64, usize)> = None;
    let mut unrestricted: Option<(i64, usize)> = None;
    let mut per_amount: HashMap<u128, (i64, usize)> = HashMap::new();
    let later = |a: Option<(i64, usize)>, b: Option<(i64, usize)>| match (a, b) {
        (Some(x), Some(y)) => Some(if y.0 > x.0 { y } else { x }),
        (x, None) => x,
        (None, y) => y,
    };
    let mut out = Vec::new();
    for ((_, address), w) in group {
        let candidate = match w.amount {
            None => any,
            Some(a) => later(unrestricted, per_amount.get(&a).copied()),
        };
        if let Some((_, other)) = candidate.filter(|(until, _)| *until >= w.from) {
            out.push(Duplicate {
                seed: w.index.max(other),
                earlier: w.index.min(other),
                what: Shared::Window(address.clone()),
            });
        }
        let me = Some((w.until, w.index));
        any = later(any, me);
        match w.amount {
            None => unrestricted = later(unrestricted, me),
            Some(a) => {
                let slot = per_amount.entry(a).or_insert((w.until, w.index));
                if w.until > slot.0 {
                    *slot = (w.until, w.index);
                }
            }
        }
    }
    out
}

/// Seeds whose resolved outputs coincide, except the pairs in `known`
/// (already reported): one entry per pair of seeds. `outputs` is every
/// seed's outputs, not yet deduplicated.
pub fn shared_outputs(outputs: &[SeedOutput], known: &[Duplicate]) -> Vec<Duplicate> {
    let mut named: Vec<(OutRef, usize, &SeedOutput)> =
        outputs.iter().map(|o| (o.out, o.seed, o)).collect();
    named.sort_unstable_by_key(|(out, seed, _)| (*out, *seed));
    let known: BTreeSet<(usize, usize)> = known.iter().map(|d| (d.seed, d.earlier)).collect();
    let mut pairs: HashMap<(usize, usize), (usize, String)> = HashMap::new();
    for run in named.chunk_by(|a, b| a.0 == b.0) {
        let (_, first_seed, _) = run[0];
        for (_, seed, o) in &run[1..] {
            if *seed == first_seed || known.contains(&(*seed, first_seed)) {
                continue;
            }
            let entry = pairs
                .entry((*seed, first_seed))
                .or_insert_with(|| (0, format!("{}:{}", o.txid, o.vout)));
            entry.0 += 1;
        }
    }
    let mut out: Vec<Duplicate> = pairs
        .into_iter()
        .map(|((seed, earlier), (n, first))| Duplicate {
            seed,
            earlier,
            what: Shared::Outputs(n, first),
        })
        .collect();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TX: &str = "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16";
    const ADDR: &str = "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S";

    fn case(seeds: &str) -> Case {
        let text = format!(
            "format = 1\n[case]\nid = \"T-1\"\nprefecture = \"Tokyo\"\ncrime = \"other\"\n\
             reported = 2026-03-02\ninvestigator = \"S\"\n{seeds}"
        );
        super::super::parse(&text, "t.toml").unwrap_or_else(|e| panic!("{e}"))
    }

    fn payment(txid: &str, vout: u32) -> String {
        format!("[[seed]]\nchain = \"bitcoin\"\npayment = \"{txid}:{vout}\"\n")
    }

    fn window(address: &str, from: &str, until: &str, amount: Option<&str>) -> String {
        let mut s = format!("[[seed]]\nchain = \"bitcoin\"\naddress = \"{address}\"\n");
        if !from.is_empty() {
            s.push_str(&format!("from = {from}\n"));
        }
        if !until.is_empty() {
            s.push_str(&format!("until = {until}\n"));
        }
        if let Some(a) = amount {
            s.push_str(&format!("amount = \"{a}\"\n"));
        }
        s
    }

    /// (seed, earlier) of each duplicate, 1-based as messages count.
    fn pairs(c: &Case) -> Vec<(usize, usize)> {
        duplicate_seeds(c)
            .iter()
            .map(|d| (d.seed + 1, d.earlier + 1))
            .collect()
    }

    #[test]
    fn the_same_payment_twice_is_found_whatever_lies_between() {
        let c = case(&format!(
            "{}{}{}{}{}",
            payment(TX, 0),
            payment(TX, 1),
            window(ADDR, "2009-01-12", "", None),
            payment(&TX.to_uppercase(), 0),
            payment(TX, 0),
        ));
        assert_eq!(pairs(&c), [(4, 1), (5, 1)]);
        let d = &duplicate_seeds(&c)[0];
        assert_eq!(d.what, Shared::Payment(format!("{TX}:0")));
        assert_eq!(
            d.message("t.toml", &c),
            format!(
                "t.toml:18: seed 4: names the same payment as seed 1 (line 8), {TX}:0; \
                 a trace counts these funds once"
            )
        );
    }

    #[test]
    fn overlapping_windows_on_one_address_are_found() {
        let c = case(&format!(
            "{}{}{}{}",
            window(ADDR, "2009-01-12", "2009-01-13", None),
            // Starts on the last day of the first: overlaps.
            window(ADDR, "2009-01-13", "2009-01-20", None),
            // After both: no overlap.
            window(ADDR, "2009-01-21", "2009-01-22", None),
            // Another address, same days: no overlap.
            window(
                "1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3",
                "2009-01-12",
                "2009-01-13",
                None
            ),
        ));
        assert_eq!(pairs(&c), [(2, 1)]);
        // Open-ended windows overlap everything on their side.
        let c = case(&format!(
            "{}{}{}",
            window(ADDR, "2009-01-21", "2009-01-22", None),
            window(ADDR, "", "2009-01-01", None),
            window(ADDR, "", "", None),
        ));
        assert_eq!(pairs(&c), [(3, 1), (3, 2)]);
    }

    #[test]
    fn exact_amounts_tell_overlapping_windows_apart() {
        let c = case(&format!(
            "{}{}{}{}",
            window(ADDR, "2009-01-12", "2009-01-13", Some("40")),
            // Same days, another amount: different receipts.
            window(ADDR, "2009-01-12", "2009-01-13", Some("10")),
            // Same amount again: the same receipts.
            window(ADDR, "2009-01-13", "2009-01-14", Some("40")),
            // No amount: every receipt, so the same as both.
            window(ADDR, "2009-01-13", "2009-01-13", None),
        ));
        assert_eq!(pairs(&c), [(3, 1), (4, 3)]);
    }

    #[test]
    fn a_case_without_repeats_has_no_duplicates() {
        let c = case(&format!(
            "{}{}{}",
            payment(TX, 0),
            payment(TX, 1),
            window(ADDR, "2009-01-12", "2009-01-13", None),
        ));
        assert!(duplicate_seeds(&c).is_empty());
    }
}
