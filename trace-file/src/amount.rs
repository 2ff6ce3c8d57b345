//! Exact amounts of one asset in its smallest unit (satoshi, wei, a
//! token's base unit), with checked arithmetic: a sum that does not fit is
//! an error naming the operands, never a silent wrap.
//!
//! In JSON an amount is the integer as a decimal string (`"1500000000"`):
//! exact in every JSON reader, JavaScript's included, for the whole
//! 128-bit range (a token's 2^127 is an everyday value for some tokens).

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An amount in the asset's smallest unit, 0 to 2^128 − 1.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Amount(u128);

/// A sum or difference of amounts that does not fit: it names both
/// operands so the message says what was being added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Overflow {
    /// `a + b` exceeds 2^128 − 1 smallest units.
    #[error("amount overflow: {0} + {1} exceeds 2^128 - 1 smallest units")]
    Add(u128, u128),
    /// `a - b` is below zero.
    #[error("amount underflow: {0} - {1} is below zero")]
    Sub(u128, u128),
}

impl Amount {
    /// Nothing.
    pub const ZERO: Amount = Amount(0);
    /// The largest amount.
    pub const MAX: Amount = Amount(u128::MAX);

    /// `units` smallest units.
    pub const fn new(units: u128) -> Amount {
        Amount(units)
    }

    /// The number of smallest units.
    pub const fn units(self) -> u128 {
        self.0
    }

    /// Whether it is zero.
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// `self + other`, or an error when it does not fit.
    pub fn plus(self, other: Amount) -> Result<Amount, Overflow> {
        self.0
            .checked_add(other.0)
            .map(Amount)
            .ok_or(Overflow::Add(self.0, other.0))
    }

    /// `self - other`, or an error when it would be negative.
    pub fn minus(self, other: Amount) -> Result<Amount, Overflow> {
        self.0
            .checked_sub(other.0)
            .map(Amount)
            .ok_or(Overflow::Sub(self.0, other.0))
    }

    /// `self - other`, or zero when `other` is larger: what is left of
    /// `self` once `other` is taken from it.
    pub fn left_after(self, other: Amount) -> Amount {
        Amount(self.0.saturating_sub(other.0))
    }

    /// Adds `other` to `self` in place, or an error when it does not fit.
    pub fn add_assign(&mut self, other: Amount) -> Result<(), Overflow> {
        *self = self.plus(other)?;
        Ok(())
    }

    /// The sum of `amounts`, or an error at the first sum that does not fit.
    pub fn sum<I: IntoIterator<Item = Amount>>(amounts: I) -> Result<Amount, Overflow> {
        amounts
            .into_iter()
            .try_fold(Amount::ZERO, |acc, a| acc.plus(a))
    }

    /// The amount as a decimal number of whole units with `decimals`
    /// places and the symbol (`10.00000000 BTC`); in smallest units when
    /// the decimals are unknown or 0 (`1234 XYZ`).
    pub fn text(self, decimals: Option<u8>, symbol: &str) -> String {
        match decimals {
            Some(0) | None => format!("{} {symbol}", self.0),
            Some(d) => {
                let d = u32::from(d.min(38));
                let scale = 10u128.pow(d);
                format!(
                    "{}.{:0width$} {symbol}",
                    self.0 / scale,
                    self.0 % scale,
                    width = d as usize
                )
            }
        }
    }
}

impl From<u64> for Amount {
    fn from(v: u64) -> Amount {
        Amount(u128::from(v))
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// An amount's text that is not a whole number of smallest units.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not an amount: expected a whole number of smallest units (digits only, 0 to 2^128 - 1)")]
pub struct BadAmount(pub String);

impl FromStr for Amount {
    type Err = BadAmount;

    /// Digits only: no sign, no spaces, no decimal point, no leading zeros
    /// (one spelling per amount, so equal amounts are equal bytes).
    fn from_str(s: &str) -> Result<Amount, BadAmount> {
        let bad = || BadAmount(s.chars().take(48).collect());
        if s.is_empty()
            || !s.bytes().all(|b| b.is_ascii_digit())
            || (s.len() > 1 && s.starts_with('0'))
        {
            return Err(bad());
        }
        s.parse::<u128>().map(Amount).map_err(|_| bad())
    }
}

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Amount, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Amount;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an amount: a whole number of smallest units as a decimal string")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Amount, E> {
                s.parse().map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}

impl JsonSchema for Amount {
    fn schema_name() -> Cow<'static, str> {
        "Amount".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": "^(0|[1-9][0-9]{0,38})$",
            "description": "An amount in the asset's smallest unit (satoshi, wei, token base unit) as a decimal integer string, 0 to 2^128 - 1."
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_that_do_not_fit_are_errors_not_wraps() {
        let half = Amount::new(1u128 << 127);
        assert_eq!(half.plus(half), Err(Overflow::Add(1 << 127, 1 << 127)));
        assert!(Amount::sum([half, Amount::new(1), half]).is_err());
        assert_eq!(
            Amount::sum([half, Amount::new(5)]),
            Ok(Amount::new((1 << 127) + 5))
        );
        assert_eq!(
            Amount::new(3).minus(Amount::new(4)),
            Err(Overflow::Sub(3, 4))
        );
        assert_eq!(Amount::new(3).left_after(Amount::new(4)), Amount::ZERO);
        let msg = half.plus(half).unwrap_err().to_string();
        assert!(
            msg.contains("170141183460469231731687303715884105728"),
            "{msg}"
        );
    }

    #[test]
    fn json_is_an_exact_decimal_string() {
        let a = Amount::MAX;
        let j = serde_json::to_string(&a).unwrap();
        assert_eq!(j, "\"340282366920938463463374607431768211455\"");
        assert_eq!(serde_json::from_str::<Amount>(&j).unwrap(), a);
        for bad in [
            "12",
            "\"\"",
            "\"-1\"",
            "\"+1\"",
            "\"01\"",
            "\"1.5\"",
            "\" 1\"",
            "\"340282366920938463463374607431768211456\"",
            "\"1e3\"",
        ] {
            assert!(serde_json::from_str::<Amount>(bad).is_err(), "{bad}");
        }
        assert_eq!(
            serde_json::from_str::<Amount>("\"0\"").unwrap(),
            Amount::ZERO
        );
    }

    #[test]
    fn text_in_whole_units() {
        assert_eq!(
            Amount::new(1_000_000_000).text(Some(8), "BTC"),
            "10.00000000 BTC"
        );
        assert_eq!(
            Amount::new(1).text(Some(18), "ETH"),
            "0.000000000000000001 ETH"
        );
        assert_eq!(Amount::new(1234).text(None, "XYZ"), "1234 XYZ");
        assert_eq!(
            Amount::MAX.text(Some(38), "T"),
            "3.40282366920938463463374607431768211455 T"
        );
    }
}
