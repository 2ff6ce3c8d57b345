//! Dates and date-times for the `lastmod` field.
//!
//! Accepted: the YAML 1.1 timestamp forms PyYAML resolves (`2019-07-03`,
//! `2023-08-16 12:18:52.619444`, `2001-12-14t21:59:43.10-05:00`, …), also
//! when written as a quoted string, and a date-time without seconds
//! (`2021-02-03 10:00`). GraphSense parses quoted strings with
//! `dateutil`, which also takes free forms such as `March 3, 2021`; those
//! are rejected here.

use chrono::{FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};

/// The parts of a timestamp as written, before range checks.
struct Parts {
    year: i32,
    month: u32,
    day: u32,
    /// hour, minute, second, nanosecond
    time: Option<(u32, u32, u32, u32)>,
    /// offset in seconds east of UTC
    offset: Option<i32>,
}

/// Takes `n_min..=n_max` ASCII digits from the front of `s`.
fn take_digits(s: &str, n_min: usize, n_max: usize) -> Option<(u32, &str)> {
    let n = s.bytes().take(n_max).take_while(u8::is_ascii_digit).count();
    if n < n_min {
        return None;
    }
    let v = s[..n].parse().ok()?;
    Some((v, &s[n..]))
}

/// Splits a timestamp into parts. `yaml_shape` follows PyYAML's regex
/// exactly (two-digit month and day in a bare date, seconds required).
fn split(s: &str, yaml_shape: bool) -> Option<Parts> {
    let (year, r) = take_digits(s, 4, 4)?;
    let r = r.strip_prefix('-')?;
    let (month, r) = take_digits(r, 1, 2)?;
    let r = r.strip_prefix('-')?;
    let (day, r) = take_digits(r, 1, 2)?;
    if r.is_empty() {
        // YAML's date-only form needs two-digit month and day.
        if yaml_shape && s.len() != 10 {
            return None;
        }
        let year = i32::try_from(year).ok()?;
        return Some(Parts {
            year,
            month,
            day,
            time: None,
            offset: None,
        });
    }
    let r = if let Some(r) = r.strip_prefix(['T', 't']) {
        r
    } else {
        let trimmed = r.trim_start_matches([' ', '\t']);
        if trimmed.len() == r.len() {
            return None;
        }
        trimmed
    };
    let (hour, r) = take_digits(r, 1, 2)?;
    let r = r.strip_prefix(':')?;
    let (minute, r) = take_digits(r, 2, 2)?;
    let (second, mut r) = match r.strip_prefix(':') {
        Some(r) => take_digits(r, 2, 2)?,
        None if !yaml_shape => (0, r),
        None => return None,
    };
    let mut nanos = 0;
    if let Some(frac) = r.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        let digits = &frac[..n];
        let mut value: u32 = 0;
        for (i, b) in digits.bytes().take(9).enumerate() {
            value += u32::from(b - b'0') * 10u32.pow(8 - u32::try_from(i).ok()?);
        }
        nanos = value;
        r = &frac[n..];
    }
    let r = r.trim_start_matches([' ', '\t']);
    let offset = if r.is_empty() {
        None
    } else if r == "Z" {
        Some(0)
    } else {
        let sign = match r.as_bytes()[0] {
            b'+' => 1,
            b'-' => -1,
            _ => return None,
        };
        let (h, rest) = take_digits(&r[1..], 1, 2)?;
        let (m, rest) = match rest.strip_prefix(':') {
            Some(rest) => take_digits(rest, 2, 2)?,
            None => (0, rest),
        };
        if !rest.is_empty() {
            return None;
        }
        Some(sign * i32::try_from(h * 3600 + m * 60).ok()?)
    };
    // A time directly after the date with only whitespace before the offset
    // is fine; anything else left over is not a timestamp.
    let year = i32::try_from(year).ok()?;
    Some(Parts {
        year,
        month,
        day,
        time: Some((hour, minute, second, nanos)),
        offset,
    })
}

/// Whether `s` has the shape of PyYAML's timestamp resolver.
pub(crate) fn timestamp_shape(s: &str) -> bool {
    s.as_bytes().first().is_some_and(u8::is_ascii_digit) && split(s, true).is_some()
}

/// Parses a timestamp and returns it in ISO 8601 form: `YYYY-MM-DD` for a
/// date, `YYYY-MM-DDTHH:MM:SS[.fff]` for a date-time, with `+HH:MM` when an
/// offset was given. `None` if it is not a valid date or date-time.
pub(crate) fn parse_datetime(s: &str) -> Option<String> {
    let s = s.trim();
    let parts = split(s, false)?;
    let date = NaiveDate::from_ymd_opt(parts.year, parts.month, parts.day)?;
    let Some((h, m, sec, nanos)) = parts.time else {
        return Some(date.format("%Y-%m-%d").to_string());
    };
    let time = NaiveTime::from_hms_nano_opt(h, m, sec, nanos)?;
    let naive = NaiveDateTime::new(date, time);
    match parts.offset {
        None => Some(naive.format("%Y-%m-%dT%H:%M:%S%.f").to_string()),
        Some(secs) => {
            let tz = FixedOffset::east_opt(secs)?;
            let dt = tz.from_local_datetime(&naive).single()?;
            Some(dt.format("%Y-%m-%dT%H:%M:%S%.f%:z").to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_timestamp_shapes() {
        for ok in [
            "2019-07-03",
            "2023-08-16 12:18:52.619444",
            "2001-12-14t21:59:43.10-05:00",
            "2001-12-14 21:59:43.10 -5",
            "2001-12-15T02:59:43.1Z",
            "2001-1-2 3:04:05",
        ] {
            assert!(timestamp_shape(ok), "{ok}");
        }
        for not in [
            "2019-7-3",
            "2019-07-03x",
            "20190703",
            "2019-07-03 10:00",
            "v2019-07-03",
        ] {
            assert!(!timestamp_shape(not), "{not}");
        }
    }

    #[test]
    fn normalised_forms() {
        assert_eq!(parse_datetime("2019-07-03").as_deref(), Some("2019-07-03"));
        assert_eq!(
            parse_datetime("2023-08-16 12:18:52.619444").as_deref(),
            Some("2023-08-16T12:18:52.619444")
        );
        assert_eq!(
            parse_datetime("2001-12-14t21:59:43.10-05:00").as_deref(),
            Some("2001-12-14T21:59:43.100-05:00")
        );
        assert_eq!(
            parse_datetime("2001-12-15T02:59:43Z").as_deref(),
            Some("2001-12-15T02:59:43+00:00")
        );
        assert_eq!(
            parse_datetime("2021-02-03 10:00").as_deref(),
            Some("2021-02-03T10:00:00")
        );
        assert_eq!(parse_datetime("2019-7-3").as_deref(), Some("2019-07-03"));
        assert_eq!(parse_datetime("2019-13-45"), None);
        assert_eq!(parse_datetime("2019-02-29"), None);
        assert_eq!(parse_datetime("yesterday"), None);
        assert_eq!(parse_datetime("2019-07-03 25:00:00"), None);
    }
}
