//! Times in UTC and JST (amounts in their unit: [`trace_file::Amount::text`]).

use chrono::{Duration, NaiveDateTime};

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
    fn times_in_jst() {
        assert_eq!(jst("2009-01-12 03:30:25 UTC"), "2009-01-12 12:30:25 JST");
        assert_eq!(jst("2009-01-12 20:00:00 UTC"), "2009-01-13 05:00:00 JST");
    }
}
