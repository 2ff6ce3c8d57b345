//! JPY prices from a user-supplied CSV (no network): `date,symbol,jpy`, one
//! price per asset and UTC day, e.g. `2024-03-14,ETH,598000`.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};
use trace_file::Amount;

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
    /// `time`: `None` if the file has no price that day (or the unit's
    /// decimals are unknown), an error if the figure does not fit.
    pub fn jpy(
        &self,
        symbol: &str,
        decimals: Option<u8>,
        amount: Amount,
        time: &str,
    ) -> Result<Option<i64>, Error> {
        self.jpy_many(symbol, decimals, &[(amount, time)])
    }

    /// The yen of several amounts: summed per day, converted once a day.
    pub fn jpy_many(
        &self,
        symbol: &str,
        decimals: Option<u8>,
        items: &[(Amount, &str)],
    ) -> Result<Option<i64>, Error> {
        let too_large = |what: String| {
            Error::Input(format!(
                "{what} of {symbol} in yen does not fit in exact integer arithmetic"
            ))
        };
        let mut per_day: BTreeMap<&str, Amount> = BTreeMap::new();
        for (amount, time) in items {
            let Some(day) = time.get(..10) else {
                return Ok(None);
            };
            per_day
                .entry(day)
                .or_default()
                .add_assign(*amount)
                .map_err(|e| too_large(e.to_string()))?;
        }
        let Some(decimals) = decimals else {
            return Ok(None);
        };
        let mut total: i64 = 0;
        for (day, amount) in per_day {
            let Some(price) = self.by_day.get(&(day.to_string(), symbol.to_uppercase())) else {
                return Ok(None);
            };
            let what = || format!("{} on {day}", amount.text(Some(decimals), ""));
            let denom = 10u128
                .checked_pow(u32::from(decimals) + price.scale)
                .ok_or_else(|| too_large(what()))?;
            let yen = amount
                .units()
                .checked_mul(price.mantissa)
                .and_then(|v| v.checked_add(denom / 2))
                .map(|v| v / denom)
                .and_then(|y| i64::try_from(y).ok())
                .ok_or_else(|| too_large(what()))?;
            total = total.checked_add(yen).ok_or_else(|| too_large(what()))?;
        }
        Ok(Some(total))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(v: u128) -> Amount {
        Amount::new(v)
    }

    #[test]
    fn prices_convert_and_bad_lines_are_located() {
        let p = Prices::parse("p.csv", b"date,symbol,jpy\n2009-01-12,BTC,0.5\n").unwrap();
        assert_eq!(
            p.jpy("BTC", Some(8), a(1_000_000_000), "2009-01-12 03:30:25 UTC")
                .unwrap(),
            Some(5)
        );
        // 0.89595042 BTC at 15,000,000 yen = 13,439,256.3 yen.
        let q = Prices::parse("q.csv", b"date,symbol,jpy\n2025-01-03,BTC,15000000\n").unwrap();
        let t = "2025-01-03 03:04:55 UTC";
        assert_eq!(
            q.jpy("btc", Some(8), a(89_595_042), t).unwrap(),
            Some(13_439_256)
        );
        assert_eq!(
            q.jpy_many("BTC", Some(8), &[(a(44_797_521), t), (a(44_797_521), t)])
                .unwrap(),
            Some(13_439_256)
        );
        assert_eq!(
            p.jpy("BTC", Some(8), a(1_000_000_000), "2009-01-13 03:30:25 UTC")
                .unwrap(),
            None
        );
        let e = Prices::parse("p.csv", b"date,symbol,jpy\n2009-01-12,BTC,abc\n").unwrap_err();
        assert_eq!(e.to_string(), "p.csv:2: \"abc\" is not a price");
        assert!(Prices::parse("p.csv", b"day,coin,yen\n").is_err());
    }

    /// A token amount of 2^127 at a price: more yen than an i64 holds, and
    /// two of them more smallest units than 128 bits: both are errors that
    /// say so, never a wrapped or dropped figure.
    #[test]
    fn yen_that_do_not_fit_are_errors() {
        let p = Prices::parse("p.csv", b"date,symbol,jpy\n2024-03-14,TOK,1000\n").unwrap();
        let t = "2024-03-14 00:00:00 UTC";
        let half = a(1 << 127);
        let e = p.jpy("TOK", Some(0), half, t).unwrap_err().to_string();
        assert!(e.contains("does not fit"), "{e}");
        assert!(p.jpy_many("TOK", Some(0), &[(half, t), (half, t)]).is_err());
        assert_eq!(p.jpy("TOK", Some(0), a(3), t).unwrap(), Some(3000));
    }
}
