//! Amounts in their unit, and times in UTC and JST.

use chrono::{Duration, NaiveDateTime};

use crate::doc::Amount;

/// `amount` smallest units as a decimal number of `symbol` (`10.00000000
/// BTC`); base units when the token's decimals are unknown.
pub fn amount_text(amount: Amount, decimals: Option<u8>, symbol: &str) -> String {
    match decimals {
        Some(0) | None => format!("{amount} {symbol}"),
        Some(d) => {
            let scale = 10u128.pow(u32::from(d.min(38)));
            format!(
                "{}.{:0width$} {symbol}",
                amount / scale,
                amount % scale,
                width = usize::from(d.min(38))
            )
        }
    }
}

/// A trace time (`YYYY-MM-DD HH:MM:SS UTC`) in Japan Standard Time
/// (UTC+9, no daylight saving); the input unchanged if it does not parse.
pub fn jst(utc: &str) -> String {
    match NaiveDateTime::parse_from_str(utc, "%Y-%m-%d %H:%M:%S UTC") {
        Ok(t) => (t + Duration::hours(9))
            .format("%Y-%m-%d %H:%M:%S JST")
            .to_string(),
        Err(_) => utc.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_and_times() {
        assert_eq!(
            amount_text(1_000_000_000, Some(8), "BTC"),
            "10.00000000 BTC"
        );
        assert_eq!(amount_text(1, Some(18), "ETH"), "0.000000000000000001 ETH");
        assert_eq!(amount_text(1234, None, "XYZ"), "1234 XYZ");
        assert_eq!(jst("2009-01-12 03:30:25 UTC"), "2009-01-12 12:30:25 JST");
        assert_eq!(jst("2009-01-12 20:00:00 UTC"), "2009-01-13 05:00:00 JST");
    }
}
