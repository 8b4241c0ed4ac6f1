//! `#inst` timestamps: RFC 3339 text to and from milliseconds since the Unix epoch.
//!
//! Reading accepts what Clojure's `#inst` reader accepts: a 4-digit year optionally followed by
//! `-MM`, `-DD`, `THH`, `:MM`, `:SS` and `.fraction` (digits past milliseconds are truncated),
//! then optionally `Z` or a `+HH:MM`/`-HH:MM` offset. As an extension, a year may be written
//! with a sign and more than 4 digits (`+12345`, `-0044`), which is how years outside
//! 0000–9999 are printed. Printing is always UTC with milliseconds:
//! `1985-04-12T23:20:50.520Z`.

use crate::error::Malformed;

const MS_PER_DAY: i64 = 86_400_000;

/// Days from 1970-01-01 to the given proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((month + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date of a day count from 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn is_leap(year: i64) -> bool {
    year.rem_euclid(4) == 0 && (year.rem_euclid(100) != 0 || year.rem_euclid(400) == 0)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A cursor over the timestamp text.
struct Scan<'a> {
    s: &'a [u8],
    i: usize,
}

impl Scan<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    /// Exactly `n` ASCII digits.
    fn digits(&mut self, n: usize, what: &str) -> Result<u32, Malformed> {
        let mut v = 0u32;
        for _ in 0..n {
            match self.peek() {
                Some(b @ b'0'..=b'9') => {
                    v = v * 10 + u32::from(b - b'0');
                    self.i += 1;
                }
                _ => {
                    return Err(Malformed::from(format!(
                        "expected {n} digits for the {what}"
                    )))
                }
            }
        }
        Ok(v)
    }

    fn ranged(&mut self, what: &str, lo: u32, hi: u32) -> Result<u32, Malformed> {
        let v = self.digits(2, what)?;
        if v < lo || v > hi {
            return Err(Malformed::from(format!(
                "{what} {v:02} is out of range {lo:02}-{hi:02}"
            )));
        }
        Ok(v)
    }
}

/// Parses an RFC 3339 timestamp (or a prefix of one, as Clojure allows) into milliseconds since
/// the epoch. The error says what is wrong, without the text itself.
pub(crate) fn parse_rfc3339(text: &str) -> Result<i64, Malformed> {
    let mut sc = Scan {
        s: text.as_bytes(),
        i: 0,
    };
    // Year: 4 digits, or a sign and at least 4 digits.
    let sign = if sc.eat(b'+') {
        Some(1i64)
    } else if sc.eat(b'-') {
        Some(-1)
    } else {
        None
    };
    let start = sc.i;
    while matches!(sc.peek(), Some(b'0'..=b'9')) {
        sc.i += 1;
    }
    let year_digits = sc.i - start;
    if year_digits < 4 || (sign.is_none() && year_digits > 4) {
        return Err(Malformed::from("expected a 4-digit year"));
    }
    if year_digits > 12 {
        return Err(Malformed::from("year is out of range"));
    }
    let mut year: i64 = 0;
    for &b in &sc.s[start..sc.i] {
        year = year * 10 + i64::from(b - b'0');
    }
    year *= sign.unwrap_or(1);

    let (mut month, mut day, mut hour, mut minute, mut second, mut millis) = (1, 1, 0, 0, 0, 0);
    if sc.eat(b'-') {
        month = sc.ranged("month", 1, 12)?;
        if sc.eat(b'-') {
            day = sc.ranged("day", 1, days_in_month(year, month))?;
            if sc.eat(b'T') || sc.eat(b't') {
                hour = sc.ranged("hour", 0, 23)?;
                if sc.eat(b':') {
                    minute = sc.ranged("minute", 0, 59)?;
                    if sc.eat(b':') {
                        second = sc.ranged("second", 0, 59)?;
                        if sc.eat(b'.') {
                            let mut n = 0;
                            while let Some(b @ b'0'..=b'9') = sc.peek() {
                                if n < 3 {
                                    millis = millis * 10 + i64::from(b - b'0');
                                }
                                n += 1;
                                sc.i += 1;
                            }
                            if n == 0 {
                                return Err(Malformed::from("expected digits after '.'"));
                            }
                            for _ in n..3 {
                                millis *= 10;
                            }
                        }
                    }
                }
            }
        }
    }
    let mut offset_minutes: i64 = 0;
    if sc.eat(b'Z') || sc.eat(b'z') {
    } else if let Some(sign @ (b'+' | b'-')) = sc.peek() {
        sc.i += 1;
        let oh = sc.ranged("offset hour", 0, 23)?;
        if !sc.eat(b':') {
            return Err(Malformed::from("expected ':' in the UTC offset"));
        }
        let om = sc.ranged("offset minute", 0, 59)?;
        offset_minutes = i64::from(oh * 60 + om);
        if sign == b'-' {
            offset_minutes = -offset_minutes;
        }
    }
    if sc.i != sc.s.len() {
        return Err(Malformed::from(format!(
            "unexpected text at character {} (expected YYYY-MM-DDTHH:MM:SS.sssZ)",
            sc.i + 1
        )));
    }
    let days = i128::from(days_from_civil(year, month, day));
    let secs =
        days * 86_400 + i128::from(hour) * 3600 + i128::from(minute) * 60 + i128::from(second)
            - i128::from(offset_minutes) * 60;
    let ms = secs * 1000 + i128::from(millis);
    i64::try_from(ms).map_err(|_| Malformed::from("timestamp is out of range"))
}

/// Formats milliseconds since the epoch as `YYYY-MM-DDTHH:MM:SS.sssZ`.
pub(crate) fn format_rfc3339(ms: i64) -> String {
    let days = ms.div_euclid(MS_PER_DAY);
    let in_day = ms.rem_euclid(MS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    let (h, m, s, milli) = (
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000,
    );
    let year = if (0..=9999).contains(&year) {
        format!("{year:04}")
    } else if year < 0 {
        format!("-{:04}", year.unsigned_abs())
    } else {
        format!("+{year}")
    };
    format!("{year}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{milli:03}Z")
}

/// The text Java's `Date.toString` gives for milliseconds since the epoch in UTC, e.g.
/// `Wed Jan 01 00:00:00 UTC 2020`: what Clojure's `str` makes of an `#inst` on a machine
/// whose time zone is UTC.
pub fn java_date_string(ms: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = ms.div_euclid(MS_PER_DAY);
    let in_day = ms.rem_euclid(MS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    let weekday = DAYS[days.rem_euclid(7) as usize];
    let month = MONTHS[(month as usize - 1) % 12];
    let (h, m, s) = (in_day / 3_600_000, in_day / 60_000 % 60, in_day / 1000 % 60);
    format!("{weekday} {month} {day:02} {h:02}:{m:02}:{s:02} UTC {year}")
}

#[cfg(test)]
mod tests {
    //! Unit tests for RFC 3339 parsing and formatting.

    use super::*;

    #[test]
    fn parses_rfc3339() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Ok(0));
        assert_eq!(
            parse_rfc3339("1985-04-12T23:20:50.52Z"),
            Ok(482_196_050_520)
        );
        assert_eq!(
            parse_rfc3339("1996-12-19T16:39:57-08:00"),
            parse_rfc3339("1996-12-20T00:39:57Z")
        );
        assert_eq!(parse_rfc3339("1969-12-31T23:59:59.999Z"), Ok(-1));
        assert_eq!(
            parse_rfc3339("1900-01-01T00:00:00Z"),
            Ok(-2_208_988_800_000)
        );
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00.123456789Z"), Ok(123));
        assert_eq!(parse_rfc3339("1970"), Ok(0));
        assert_eq!(parse_rfc3339("1970-01-02"), Ok(MS_PER_DAY));
        assert!(parse_rfc3339("2000-02-29T00:00:00+00:00").is_ok());
        assert_eq!(
            parse_rfc3339("1900-02-29T00:00:00Z"),
            Err("day 29 is out of range 01-28".into())
        );
        assert_eq!(
            parse_rfc3339("1985-13-12T23:20:50Z"),
            Err("month 13 is out of range 01-12".into())
        );
        assert!(parse_rfc3339("1985-04-12T23:20:50").is_ok());
        assert!(parse_rfc3339("85-04-12").is_err());
        assert!(parse_rfc3339("1985-04-12T23:20:50.Z").is_err());
        assert!(parse_rfc3339("1985-04-12T23:20:50+0100").is_err());
        assert!(parse_rfc3339("1985-04-12 x").is_err());
        assert!(parse_rfc3339("+999999999999").is_err());
        assert!(parse_rfc3339("").is_err());
    }

    #[test]
    fn formats_as_java_dates() {
        assert_eq!(java_date_string(0), "Thu Jan 01 00:00:00 UTC 1970");
        assert_eq!(
            java_date_string(1_577_836_800_000),
            "Wed Jan 01 00:00:00 UTC 2020"
        );
        assert_eq!(
            java_date_string(1_622_505_600_000),
            "Tue Jun 01 00:00:00 UTC 2021"
        );
        assert_eq!(java_date_string(-1), "Wed Dec 31 23:59:59 UTC 1969");
    }

    #[test]
    fn formats_rfc3339() {
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_rfc3339(482_196_050_520), "1985-04-12T23:20:50.520Z");
        assert_eq!(format_rfc3339(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(
            format_rfc3339(-62_167_219_200_001),
            "-0001-12-31T23:59:59.999Z"
        );
        for ms in [
            i64::MIN,
            i64::MAX,
            -62_167_219_200_000,
            253_402_300_800_000,
            951_782_400_000,
        ] {
            assert_eq!(
                parse_rfc3339(&format_rfc3339(ms)),
                Ok(ms),
                "{}",
                format_rfc3339(ms)
            );
        }
    }
}
