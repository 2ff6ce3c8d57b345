//! Times in UTC and JST (amounts in their unit: [`trace_file::Amount::text`]).

use chrono::{Duration, NaiveDateTime};

/// A trace time (`YYYY-MM-DD HH:MM:SS UTC`) in Japan Standard Time
/// (UTC+9, no daylight saving); the input unchanged if it does not parse
/// or is too late to have a JST time (past year 262142, chrono's last).
pub fn jst(utc: &str) -> String {
    NaiveDateTime::parse_from_str(utc, "%Y-%m-%d %H:%M:%S UTC")
        .ok()
        .and_then(|t| t.checked_add_signed(Duration::hours(9)))
        .map_or_else(
            || utc.to_string(),
            |t| t.format("%Y-%m-%d %H:%M:%S JST").to_string(),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_in_jst() {
        assert_eq!(jst("2009-01-12 03:30:25 UTC"), "2009-01-12 12:30:25 JST");
        assert_eq!(jst("2009-01-12 20:00:00 UTC"), "2009-01-13 05:00:00 JST");
    }

    /// A trace time in chrono's last representable hours made `jst` panic
    /// (`NaiveDateTime + TimeDelta` overflowed) while rendering the report.
    #[test]
    fn a_time_at_the_end_of_the_calendar_stays_as_written() {
        let last = "+262142-12-31 23:59:59 UTC";
        assert_eq!(jst(last), last);
        assert_eq!(
            jst("+262142-12-31 14:59:59 UTC"),
            "+262142-12-31 23:59:59 JST"
        );
    }
}
