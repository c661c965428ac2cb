//! UTC instants with microsecond precision, and their text forms.
//!
//! A record's time is stored as microseconds since the Unix epoch. Its text
//! forms are the canonical one that is signed
//! (`2025-03-14T15:09:26.535897+00:00`, fraction omitted when zero) and the
//! one SQLite columns hold (`2025-03-14 15:09:26.535897`).

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const MICROS_PER_SECOND: i64 = 1_000_000;
const MICROS_PER_DAY: i64 = 86_400 * MICROS_PER_SECOND;
/// 0001-01-01T00:00:00Z, the earliest instant the text forms can hold.
const MIN_MICROS: i64 = -62_135_596_800 * MICROS_PER_SECOND;
/// 9999-12-31T23:59:59.999999Z, the latest.
const MAX_MICROS: i64 = 253_402_300_800 * MICROS_PER_SECOND - 1;

/// An instant in UTC, at microsecond precision, between the years 1 and 9999.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    micros: i64,
}

/// A text or number that is not a valid [`Timestamp`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid timestamp '{input}': {reason}")]
pub struct TimestampError {
    input: String,
    reason: &'static str,
}

impl TimestampError {
    fn new(input: &str, reason: &'static str) -> TimestampError {
        TimestampError { input: input.chars().take(64).collect(), reason }
    }
}

impl Timestamp {
    /// The current time, truncated to microseconds so that the stored and
    /// the signed instant are the same.
    pub fn now() -> Timestamp {
        Timestamp::from_system_time(SystemTime::now()).unwrap_or(Timestamp { micros: MAX_MICROS })
    }

    /// The instant `micros` microseconds after 1970-01-01T00:00:00Z.
    ///
    /// # Errors
    ///
    /// When the instant falls outside the years 1 to 9999.
    pub fn from_unix_micros(micros: i64) -> Result<Timestamp, TimestampError> {
        if (MIN_MICROS..=MAX_MICROS).contains(&micros) {
            Ok(Timestamp { micros })
        } else {
            Err(TimestampError::new(
                &micros.to_string(),
                "expected a time between years 1 and 9999",
            ))
        }
    }

    /// Microseconds since 1970-01-01T00:00:00Z.
    pub fn unix_micros(self) -> i64 {
        self.micros
    }

    /// Converts a system time, truncating below the microsecond.
    ///
    /// # Errors
    ///
    /// When the instant falls outside the years 1 to 9999.
    pub fn from_system_time(time: SystemTime) -> Result<Timestamp, TimestampError> {
        let micros = match time.duration_since(UNIX_EPOCH) {
            Ok(after) => i64::try_from(after.as_micros()).unwrap_or(i64::MAX),
            Err(before) => {
                let before = before.duration();
                // Truncation toward the past keeps the instant at or before `time`.
                let whole = i64::try_from(before.as_micros()).unwrap_or(i64::MAX);
                let rest = before.as_nanos() % 1000 != 0;
                -whole - i64::from(rest)
            }
        };
        Timestamp::from_unix_micros(micros)
    }

    /// The same instant as a [`SystemTime`].
    pub fn to_system_time(self) -> SystemTime {
        let magnitude = Duration::from_micros(self.micros.unsigned_abs());
        if self.micros >= 0 { UNIX_EPOCH + magnitude } else { UNIX_EPOCH - magnitude }
    }

    /// This instant moved by `micros` microseconds, or `None` outside the
    /// years 1 to 9999.
    pub fn checked_add_micros(self, micros: i64) -> Option<Timestamp> {
        self.micros.checked_add(micros).and_then(|m| Timestamp::from_unix_micros(m).ok())
    }

    /// Parses an ISO 8601 date and time: `YYYY-MM-DD`, then `T` or a space,
    /// `HH:MM[:SS[.fraction]]`, then `Z`, `+HH:MM`, `-HH:MM`, `+HHMM` or
    /// nothing (a time without an offset is taken as UTC, as the SQL columns
    /// hold it). A date alone is midnight UTC of that day. Fraction digits
    /// beyond the sixth are dropped.
    ///
    /// # Errors
    ///
    /// When `text` is not of that shape or names a date or time that does
    /// not exist.
    pub fn parse(text: &str) -> Result<Timestamp, TimestampError> {
        let err = |reason| TimestampError::new(text, reason);
        let bytes = text.trim().as_bytes();
        let mut cur = Cursor { bytes, pos: 0 };

        let year = cur.digits(4).ok_or_else(|| err("expected a date as YYYY-MM-DD"))?;
        let month = cur.sep_digits(b'-', 2).ok_or_else(|| err("expected a date as YYYY-MM-DD"))?;
        let day = cur.sep_digits(b'-', 2).ok_or_else(|| err("expected a date as YYYY-MM-DD"))?;
        if year == 0 || !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return Err(err("no such calendar date"));
        }
        let days = days_from_civil(year, month, day);
        if cur.at_end() {
            return Ok(Timestamp { micros: days * MICROS_PER_DAY });
        }

        if !matches!(cur.next(), Some(b'T' | b't' | b' ')) {
            return Err(err("expected 'T' or a space between date and time"));
        }
        let hour = cur.digits(2).ok_or_else(|| err("expected a time as HH:MM[:SS[.ffffff]]"))?;
        let minute =
            cur.sep_digits(b':', 2).ok_or_else(|| err("expected a time as HH:MM[:SS[.ffffff]]"))?;
        let second = if cur.peek() == Some(b':') {
            cur.sep_digits(b':', 2).ok_or_else(|| err("expected seconds as two digits"))?
        } else {
            0
        };
        if hour > 23 || minute > 59 || second > 59 {
            return Err(err("hour, minute or second out of range"));
        }
        let mut fraction = 0i64;
        if matches!(cur.peek(), Some(b'.' | b',')) {
            cur.pos += 1;
            let start = cur.pos;
            while let Some(d) = cur.peek().filter(u8::is_ascii_digit) {
                if cur.pos - start < 6 {
                    fraction = fraction * 10 + i64::from(d - b'0');
                }
                cur.pos += 1;
            }
            let count = cur.pos - start;
            if count == 0 {
                return Err(err("expected digits after the decimal point"));
            }
            for _ in count..6 {
                fraction *= 10;
            }
        }

        let offset_minutes = match cur.next() {
            None => 0,
            Some(b'Z' | b'z') => 0,
            Some(sign @ (b'+' | b'-')) => {
                let hours = cur.digits(2).ok_or_else(|| err("expected an offset as +HH:MM"))?;
                if cur.peek() == Some(b':') {
                    cur.pos += 1;
                }
                let minutes = cur.digits(2).ok_or_else(|| err("expected an offset as +HH:MM"))?;
                if hours > 23 || minutes > 59 {
                    return Err(err("offset out of range"));
                }
                let total = i64::from(hours * 60 + minutes);
                if sign == b'+' { total } else { -total }
            }
            Some(_) => return Err(err("expected 'Z', an offset like +00:00, or nothing")),
        };
        if !cur.at_end() {
            return Err(err("unexpected text after the time"));
        }

        let seconds = i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second)
            - offset_minutes * 60;
        let micros = days * MICROS_PER_DAY + seconds * MICROS_PER_SECOND + fraction;
        Timestamp::from_unix_micros(micros)
            .map_err(|_| err("expected a time between years 1 and 9999"))
    }

    /// The canonical, signed form: `YYYY-MM-DDTHH:MM:SS.ffffff+00:00`,
    /// or without the fraction when the microseconds are zero.
    pub fn to_canonical_string(self) -> String {
        let mut out = Vec::with_capacity(32);
        self.write_canonical(&mut out);
        String::from_utf8(out).unwrap_or_default()
    }

    /// The form SQLite columns hold: `YYYY-MM-DD HH:MM:SS.ffffff`, always
    /// with six fractional digits.
    pub fn to_sql_string(self) -> String {
        let mut out = Vec::with_capacity(26);
        self.write_parts(&mut out, b' ');
        let micros = self.micros.rem_euclid(MICROS_PER_SECOND);
        out.push(b'.');
        push_padded(&mut out, micros, 6);
        String::from_utf8(out).unwrap_or_default()
    }

    pub(crate) fn write_canonical(self, out: &mut Vec<u8>) {
        self.write_parts(out, b'T');
        let micros = self.micros.rem_euclid(MICROS_PER_SECOND);
        if micros != 0 {
            out.push(b'.');
            push_padded(out, micros, 6);
        }
        out.extend_from_slice(b"+00:00");
    }

    fn write_parts(self, out: &mut Vec<u8>, separator: u8) {
        let days = self.micros.div_euclid(MICROS_PER_DAY);
        let in_day = self.micros.rem_euclid(MICROS_PER_DAY) / MICROS_PER_SECOND;
        let (year, month, day) = civil_from_days(days);
        push_padded(out, year, 4);
        out.push(b'-');
        push_padded(out, month, 2);
        out.push(b'-');
        push_padded(out, day, 2);
        out.push(separator);
        push_padded(out, in_day / 3600, 2);
        out.push(b':');
        push_padded(out, in_day / 60 % 60, 2);
        out.push(b':');
        push_padded(out, in_day % 60, 2);
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_canonical_string())
    }
}

impl std::str::FromStr for Timestamp {
    type Err = TimestampError;

    fn from_str(text: &str) -> Result<Timestamp, TimestampError> {
        Timestamp::parse(text)
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_canonical_string())
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Timestamp, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Timestamp::parse(&text).map_err(serde::de::Error::custom)
    }
}

struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.pos += 1;
        Some(b)
    }

    fn at_end(&self) -> bool {
        self.pos == self.bytes.len()
    }

    fn digits(&mut self, count: usize) -> Option<u32> {
        let slice = self.bytes.get(self.pos..self.pos + count)?;
        if !slice.iter().all(u8::is_ascii_digit) {
            return None;
        }
        self.pos += count;
        Some(slice.iter().fold(0, |acc, d| acc * 10 + u32::from(d - b'0')))
    }

    fn sep_digits(&mut self, separator: u8, count: usize) -> Option<u32> {
        if self.next()? != separator {
            return None;
        }
        self.digits(count)
    }
}

fn push_padded(out: &mut Vec<u8>, value: impl Into<i64>, width: usize) {
    let mut buf = itoa_buffer(value.into());
    while buf.len() < width {
        buf.insert(0, b'0');
    }
    out.extend_from_slice(&buf);
}

fn itoa_buffer(mut value: i64) -> Vec<u8> {
    let mut digits = Vec::with_capacity(8);
    loop {
        digits.push(b'0' + (value % 10) as u8);
        value /= 10;
        if value == 0 {
            break;
        }
    }
    digits.reverse();
    digits
}

fn is_leap(year: u32) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(year: u32, month: u32, day: u32) -> i64 {
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_both_text_forms() {
        let t = Timestamp::parse("2025-03-14T15:09:26.535897+00:00").unwrap();
        assert_eq!(t.to_canonical_string(), "2025-03-14T15:09:26.535897+00:00");
        assert_eq!(t.to_sql_string(), "2025-03-14 15:09:26.535897");
        let whole = Timestamp::parse("2025-03-14 15:09:26").unwrap();
        assert_eq!(whole.to_canonical_string(), "2025-03-14T15:09:26+00:00");
        assert_eq!(whole.to_sql_string(), "2025-03-14 15:09:26.000000");
    }

    #[test]
    fn accepts_the_shapes_databases_and_people_write() {
        let expected = Timestamp::parse("2025-03-14T15:09:26.500000+00:00").unwrap();
        for text in [
            "2025-03-14 15:09:26.5",
            "2025-03-14 15:09:26.500000",
            "2025-03-14T15:09:26.5Z",
            "2025-03-14T16:09:26.5+01:00",
            "2025-03-14T10:09:26.5-0500",
            "2025-03-14T15:09:26.500000123+00:00",
        ] {
            assert_eq!(Timestamp::parse(text).unwrap(), expected, "{text}");
        }
        assert_eq!(
            Timestamp::parse("2025-03-14").unwrap().to_canonical_string(),
            "2025-03-14T00:00:00+00:00"
        );
        assert_eq!(
            Timestamp::parse("2025-03-14T15:09").unwrap().to_canonical_string(),
            "2025-03-14T15:09:00+00:00"
        );
    }

    #[test]
    fn rejects_bad_text_with_the_value_named() {
        for text in [
            "",
            "2025-13-01",
            "2025-02-29",
            "2025-03-14X15:09",
            "2025-03-14T25:00",
            "2025-03-14T15:09:26.",
            "2025-03-14T15:09:26+0",
            "2025-03-14T15:09:26 junk",
            "yesterday",
            "0000-01-01",
        ] {
            let err = Timestamp::parse(text).unwrap_err();
            assert!(err.to_string().contains(&format!("'{text}'")), "{err}");
        }
    }

    #[test]
    fn round_trips_across_the_whole_range() {
        for micros in [MIN_MICROS, -1, 0, 1, 951_782_400_000_000, MAX_MICROS] {
            let t = Timestamp::from_unix_micros(micros).unwrap();
            assert_eq!(Timestamp::parse(&t.to_canonical_string()).unwrap(), t);
            assert_eq!(Timestamp::parse(&t.to_sql_string()).unwrap(), t);
            assert_eq!(Timestamp::from_system_time(t.to_system_time()).unwrap(), t);
        }
        assert!(Timestamp::from_unix_micros(MAX_MICROS + 1).is_err());
        assert!(Timestamp::from_unix_micros(MIN_MICROS - 1).is_err());
        assert_eq!(
            Timestamp::from_unix_micros(MIN_MICROS).unwrap().to_sql_string(),
            "0001-01-01 00:00:00.000000"
        );
    }

    #[test]
    fn now_is_truncated_to_microseconds() {
        let now = Timestamp::now();
        assert_eq!(Timestamp::from_system_time(now.to_system_time()).unwrap(), now);
    }
}
