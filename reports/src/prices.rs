//! JPY prices from a user-supplied CSV (no network): `date,symbol,jpy`, one
//! price per asset and UTC day, e.g. `2024-03-14,ETH,598000`.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use crate::doc::Amount;
use crate::Error;

/// A price as an exact decimal: `mantissa / 10^scale` yen.
#[derive(Debug, Clone, Copy)]
struct Price {
    mantissa: u128,
    scale: u32,
}

impl Price {
    fn parse(s: &str) -> Option<Price> {
        let (int, frac) = s.split_once('.').unwrap_or((s, ""));
        if int.is_empty()
            || frac.len() > 18
            || !(int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()))
        {
            return None;
        }
        Some(Price {
            mantissa: format!("{int}{frac}").parse().ok()?,
            scale: frac.len() as u32,
        })
    }
}

/// Daily JPY prices.
#[derive(Debug, Clone)]
pub struct Prices {
    by_day: BTreeMap<(String, String), Price>,
    /// `<file name> sha256:<digest>` for the provenance section.
    pub digest: String,
}

impl Prices {
    /// Parses a price file's bytes (`name` is shown in errors).
    pub fn parse(name: &str, bytes: &[u8]) -> Result<Prices, Error> {
        let bad = |line: usize, why: String| Error::Input(format!("{name}:{line}: {why}"));
        let mut r = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_reader(bytes);
        let headers = r.headers().map_err(|e| bad(1, e.to_string()))?.clone();
        if headers.iter().map(str::trim).collect::<Vec<_>>() != ["date", "symbol", "jpy"] {
            return Err(bad(1, "the header must be date,symbol,jpy".into()));
        }
        let mut by_day = BTreeMap::new();
        for (i, rec) in r.records().enumerate() {
            let line = i + 2;
            let rec = rec.map_err(|e| bad(line, e.to_string()))?;
            let date = rec[0].trim();
            chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d")
                .map_err(|_| bad(line, format!("{date:?} is not a date (YYYY-MM-DD)")))?;
            let jpy = Price::parse(rec[2].trim())
                .ok_or_else(|| bad(line, format!("{:?} is not a price", &rec[2])))?;
            by_day.insert((date.to_string(), rec[1].trim().to_uppercase()), jpy);
        }
        let digest = format!("{name} sha256:{:x}", Sha256::digest(bytes));
        Ok(Prices { by_day, digest })
    }

    /// `amount` (smallest units, `decimals`) of `symbol` in whole yen
    /// (rounded half up, exact integer arithmetic) at the UTC date of
    /// `time`, if the file has that day's price.
    pub fn jpy(
        &self,
        symbol: &str,
        decimals: Option<u8>,
        amount: Amount,
        time: &str,
    ) -> Option<i64> {
        self.jpy_many(symbol, decimals, &[(amount, time)])
    }

    /// The yen of several amounts: summed per day, converted once a day.
    pub fn jpy_many(
        &self,
        symbol: &str,
        decimals: Option<u8>,
        items: &[(Amount, &str)],
    ) -> Option<i64> {
        let mut per_day: BTreeMap<&str, Amount> = BTreeMap::new();
        for (amount, time) in items {
            *per_day.entry(time.get(..10)?).or_default() += amount;
        }
        let mut total: i64 = 0;
        for (day, amount) in per_day {
            let price = self.by_day.get(&(day.to_string(), symbol.to_uppercase()))?;
            let denom = 10u128.checked_pow(u32::from(decimals?) + price.scale)?;
            let yen = amount.checked_mul(price.mantissa)?.checked_add(denom / 2)? / denom;
            total = total.checked_add(i64::try_from(yen).ok()?)?;
        }
        Some(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_convert_and_bad_lines_are_located() {
        let p = Prices::parse("p.csv", b"date,symbol,jpy\n2009-01-12,BTC,0.5\n").unwrap();
        assert_eq!(
            p.jpy("BTC", Some(8), 1_000_000_000, "2009-01-12 03:30:25 UTC"),
            Some(5)
        );
        // 0.89595042 BTC at 15,000,000 yen = 13,439,256.3 yen.
        let q = Prices::parse("q.csv", b"date,symbol,jpy\n2025-01-03,BTC,15000000\n").unwrap();
        let t = "2025-01-03 03:04:55 UTC";
        assert_eq!(q.jpy("btc", Some(8), 89_595_042, t), Some(13_439_256));
        assert_eq!(
            q.jpy_many("BTC", Some(8), &[(44_797_521, t), (44_797_521, t)]),
            Some(13_439_256)
        );
        assert_eq!(
            p.jpy("BTC", Some(8), 1_000_000_000, "2009-01-13 03:30:25 UTC"),
            None
        );
        let e = Prices::parse("p.csv", b"date,symbol,jpy\n2009-01-12,BTC,abc\n").unwrap_err();
        assert_eq!(e.to_string(), "p.csv:2: \"abc\" is not a price");
        assert!(Prices::parse("p.csv", b"day,coin,yen\n").is_err());
    }
}
