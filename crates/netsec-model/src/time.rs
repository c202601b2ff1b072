//! Packet time: nanoseconds since the Unix epoch, as read from the capture.
//!
//! netsec never uses wall-clock time for analysis: every window, timeout and
//! rate is measured in packet time, so a capture gives the same result on
//! every run.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A point in packet time, in nanoseconds since 1970-01-01T00:00:00Z.
///
/// Serialised as an RFC 3339 string with nanoseconds (`2024-05-01T12:00:00.123456789Z`),
/// the form the Elastic Common Schema expects for `@timestamp` and `event.start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(i64);

/// A span of packet time, in nanoseconds (never negative when built by [`Timestamp::since`]).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct Duration(i64);

const NANOS_PER_SEC: i64 = 1_000_000_000;

impl Timestamp {
    /// The epoch itself.
    pub const ZERO: Timestamp = Timestamp(0);

    /// From nanoseconds since the epoch.
    pub const fn from_nanos(nanos: i64) -> Self {
        Timestamp(nanos)
    }

    /// From whole seconds and a sub-second fraction in nanoseconds.
    pub const fn from_secs_nanos(secs: i64, nanos: u32) -> Self {
        Timestamp(
            secs.saturating_mul(NANOS_PER_SEC)
                .saturating_add(nanos as i64),
        )
    }

    /// From floating-point seconds (used for configuration and tests).
    pub fn from_secs_f64(secs: f64) -> Self {
        Timestamp((secs * NANOS_PER_SEC as f64) as i64)
    }

    /// Nanoseconds since the epoch.
    pub const fn as_nanos(self) -> i64 {
        self.0
    }

    /// Seconds since the epoch, as a float.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / NANOS_PER_SEC as f64
    }

    /// Whole seconds since the epoch (floor).
    pub const fn secs(self) -> i64 {
        self.0.div_euclid(NANOS_PER_SEC)
    }

    /// Sub-second nanoseconds.
    pub const fn subsec_nanos(self) -> u32 {
        self.0.rem_euclid(NANOS_PER_SEC) as u32
    }

    /// Time elapsed from `earlier` to `self`, zero if `earlier` is later.
    pub fn since(self, earlier: Timestamp) -> Duration {
        Duration(self.0.saturating_sub(earlier.0).max(0))
    }
}

impl Duration {
    /// No time at all.
    pub const ZERO: Duration = Duration(0);

    /// From nanoseconds.
    pub const fn from_nanos(n: i64) -> Self {
        Duration(n)
    }
    /// From milliseconds.
    pub const fn from_millis(ms: i64) -> Self {
        Duration(ms.saturating_mul(1_000_000))
    }
    /// From whole seconds.
    pub const fn from_secs(s: i64) -> Self {
        Duration(s.saturating_mul(NANOS_PER_SEC))
    }
    /// From floating-point seconds.
    pub fn from_secs_f64(s: f64) -> Self {
        Duration((s * NANOS_PER_SEC as f64) as i64)
    }
    /// Nanoseconds.
    pub const fn as_nanos(self) -> i64 {
        self.0
    }
    /// Seconds, as a float.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / NANOS_PER_SEC as f64
    }
}

impl std::ops::Add<Duration> for Timestamp {
    type Output = Timestamp;
    /// Saturating addition.
    fn add(self, d: Duration) -> Timestamp {
        Timestamp(self.0.saturating_add(d.0))
    }
}

impl std::ops::Sub<Duration> for Timestamp {
    type Output = Timestamp;
    /// Saturating subtraction.
    fn sub(self, d: Duration) -> Timestamp {
        Timestamp(self.0.saturating_sub(d.0))
    }
}

/// Days since the epoch to a proleptic Gregorian (year, month, day).
///
/// Howard Hinnant's `civil_from_days` (<https://howardhinnant.github.io/date_algorithms.html>),
/// exact for every `i64` day count a timestamp can produce.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// (year, month, day) to days since the epoch; the inverse of [`civil_from_days`].
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

impl Timestamp {
    /// This instant as RFC 3339 text, `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`,
    /// written by hand, as every log record carries several (through
    /// `write!` it was a fifth of a flow-heavy run's instructions).
    pub(crate) fn rfc3339(self) -> [u8; 30] {
        let mut out = [0u8; 30];
        with_date_time(self.secs(), |date_time| {
            if let Some(head) = out.get_mut(..19) {
                head.copy_from_slice(date_time);
            }
        });
        let nanos = self.subsec_nanos();
        let mut tail = [b'.', 0, 0, 0, 0, 0, 0, 0, 0, 0, b'Z'];
        // Nine digits: the first alone, then four pairs.
        if let Some(first) = tail.get_mut(1) {
            *first = b'0' + (nanos / 100_000_000 % 10) as u8;
        }
        let mut rest = nanos % 100_000_000;
        for at in [8, 6, 4, 2] {
            let pair = two_digits(rest % 100);
            if let Some(to) = tail.get_mut(at..at + 2) {
                to.copy_from_slice(&pair);
            }
            rest /= 100;
        }
        if let Some(to) = out.get_mut(19..) {
            to.copy_from_slice(&tail);
        }
        out
    }

    /// Append [`Timestamp::rfc3339`]'s text to `out`, written in place (the
    /// date and time copied from the per-thread cache, the fraction's
    /// digits over a block of zeros): a block built on the stack in small
    /// pieces and then copied whole waits for the pieces.
    pub(crate) fn push_rfc3339(self, out: &mut Vec<u8>) {
        with_date_time(self.secs(), |date_time| out.extend_from_slice(date_time));
        let at = out.len();
        out.extend_from_slice(b".000000000Z");
        if let Some(digits) = out.get_mut(at + 1..at + 10) {
            crate::fill_decimal(digits, u64::from(self.subsec_nanos()));
        }
    }
}

/// Call `f` with `YYYY-MM-DDTHH:MM:SS` of second `secs`: records come in
/// capture order, so most fall in the second before them, whose text is
/// kept per thread.
fn with_date_time<R>(secs: i64, f: impl FnOnce(&[u8; 19]) -> R) -> R {
    LAST_SECOND.with(|last| match last.try_borrow_mut() {
        Ok(mut last) => {
            if last.0 != secs {
                *last = (secs, date_time_text(secs));
            }
            f(&last.1)
        }
        // Only if `f` wrote a time itself; it never does.
        Err(_) => f(&date_time_text(secs)),
    })
}

thread_local! {
    /// The second of the last timestamp written on this thread, and its
    /// `YYYY-MM-DDTHH:MM:SS` (no i64 of nanoseconds has `i64::MIN` seconds).
    static LAST_SECOND: std::cell::RefCell<(i64, [u8; 19])> =
        const { std::cell::RefCell::new((i64::MIN, [0; 19])) };
}

/// `n` (below 100) as two decimal digits.
fn two_digits(n: u32) -> [u8; 2] {
    [b'0' + (n / 10 % 10) as u8, b'0' + (n % 10) as u8]
}

/// `YYYY-MM-DDTHH:MM:SS` of a second since the epoch. Every instant of an
/// i64 of nanoseconds falls in the years 1677-2262, so the year always has
/// four digits (the clamp only states it).
fn date_time_text(secs: i64) -> [u8; 19] {
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    let year = year.clamp(0, 9999) as u32;
    let sod = secs.rem_euclid(86_400) as u32;
    let (hour, minute, second) = (sod / 3600, (sod / 60) % 60, sod % 60);
    let [y0, y1] = two_digits(year / 100);
    let [y2, y3] = two_digits(year % 100);
    let [mo0, mo1] = two_digits(month);
    let [d0, d1] = two_digits(day);
    let [h0, h1] = two_digits(hour);
    let [mi0, mi1] = two_digits(minute);
    let [s0, s1] = two_digits(second);
    [
        y0, y1, y2, y3, b'-', mo0, mo1, b'-', d0, d1, b'T', h0, h1, b':', mi0, mi1, b':', s0, s1,
    ]
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.rfc3339()
            .iter()
            .try_for_each(|&b| fmt::Write::write_char(f, char::from(b)))
    }
}

/// Error parsing an RFC 3339 UTC timestamp.
#[derive(Debug, thiserror::Error)]
#[error("not an RFC 3339 UTC timestamp (YYYY-MM-DDTHH:MM:SS[.fraction]Z): {0:?}")]
pub struct TimestampParseError(String);

impl std::str::FromStr for Timestamp {
    type Err = TimestampParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || TimestampParseError(s.to_string());
        let b = s.as_bytes();
        if b.len() < 20
            || !s.is_ascii()
            || b[4] != b'-'
            || b[7] != b'-'
            || !(b[10] == b'T' || b[10] == b't')
            || b[13] != b':'
            || b[16] != b':'
        {
            return Err(err());
        }
        let num = |r: std::ops::Range<usize>| -> Result<i64, TimestampParseError> {
            s.get(r).and_then(|t| t.parse::<i64>().ok()).ok_or_else(err)
        };
        let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
        if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
            return Err(err());
        }
        let rest = s.get(19..).ok_or_else(err)?;
        let rest = rest.strip_suffix('Z').ok_or_else(err)?;
        let mut nanos: i64 = 0;
        if let Some(frac) = rest.strip_prefix('.') {
            if frac.is_empty() || frac.len() > 9 || !frac.bytes().all(|c| c.is_ascii_digit()) {
                return Err(err());
            }
            nanos = frac.parse::<i64>().map_err(|_| err())? * 10_i64.pow(9 - frac.len() as u32);
        } else if !rest.is_empty() {
            return Err(err());
        }
        let days = days_from_civil(y, mo as u32, d as u32);
        Ok(Timestamp::from_secs_nanos(
            days * 86_400 + h * 3600 + mi * 60 + se,
            nanos as u32,
        ))
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let text = self.rfc3339();
        match std::str::from_utf8(&text) {
            Ok(text) => s.serialize_str(text),
            // ASCII by construction; Display writes the same bytes
            Err(_) => s.collect_str(self),
        }
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.3} s", self.as_secs_f64())
    }
}

/// A closed interval of packet time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct TimeRange {
    /// First moment.
    pub start: Timestamp,
    /// Last moment.
    pub end: Timestamp,
}

impl TimeRange {
    /// A range covering one instant.
    pub fn at(t: Timestamp) -> Self {
        TimeRange { start: t, end: t }
    }
    /// Widen the range to include `t`.
    pub fn extend(&mut self, t: Timestamp) {
        if t < self.start {
            self.start = t;
        }
        if t > self.end {
            self.end = t;
        }
    }
    /// Length of the range.
    pub fn duration(&self) -> Duration {
        self.end.since(self.start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_rfc3339_with_nanoseconds() {
        let t = Timestamp::from_secs_nanos(1_700_000_000, 123_456_789);
        assert_eq!(t.to_string(), "2023-11-14T22:13:20.123456789Z");
        assert_eq!(
            Timestamp::ZERO.to_string(),
            "1970-01-01T00:00:00.000000000Z"
        );
        let before = Timestamp::from_nanos(-1);
        assert_eq!(before.to_string(), "1969-12-31T23:59:59.999999999Z");
    }

    #[test]
    fn text_appended_in_place_is_the_formatted_text() {
        let mut out = b"<".to_vec();
        let mut want = String::from("<");
        // Same second twice (the cached date), another, and before 1970.
        for n in [
            1_700_000_000_123_456_789,
            1_700_000_000_000_000_001,
            1_700_000_061_900_000_000,
            -1,
            0,
        ] {
            let t = Timestamp::from_nanos(n);
            t.push_rfc3339(&mut out);
            out.push(b'|');
            want.push_str(&t.to_string());
            want.push('|');
        }
        assert_eq!(String::from_utf8(out).ok(), Some(want));
    }

    #[test]
    fn parses_what_it_formats() {
        for n in [0, 1, -1, 951_782_400_000_000_007, 4_102_444_800_999_999_999] {
            let t = Timestamp::from_nanos(n);
            assert_eq!(t.to_string().parse::<Timestamp>().ok(), Some(t), "{n}");
        }
        assert_eq!(
            "2000-02-29T00:00:00.5Z".parse::<Timestamp>().ok(),
            Some(Timestamp::from_secs_nanos(951_782_400, 500_000_000))
        );
        assert!("2000-02-29 00:00:00Z".parse::<Timestamp>().is_err());
        assert!("garbage".parse::<Timestamp>().is_err());
        assert!("2000-13-01T00:00:00Z".parse::<Timestamp>().is_err());
    }

    #[test]
    fn since_never_negative() {
        let a = Timestamp::from_nanos(10);
        let b = Timestamp::from_nanos(5);
        assert_eq!(a.since(b).as_nanos(), 5);
        assert_eq!(b.since(a).as_nanos(), 0);
    }

    #[test]
    fn fast_text_is_the_formatted_text() {
        // the former formatting, through write!
        let formatted = |t: Timestamp| {
            let secs = t.secs();
            let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
            let sod = secs.rem_euclid(86_400);
            format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z",
                y,
                mo,
                d,
                sod / 3600,
                (sod / 60) % 60,
                sod % 60,
                t.subsec_nanos()
            )
        };
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut instants = vec![
            i64::MIN,
            i64::MAX,
            -1,
            0,
            1,
            951_782_400 * NANOS_PER_SEC,                 // 2000-02-29
            4_107_542_399 * NANOS_PER_SEC + 999_999_999, // 2100-02-28T23:59:59.999999999
        ];
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            instants.push(x as i64);
            instants.push((x % (4_000_000_000 * NANOS_PER_SEC as u64)) as i64);
        }
        // Runs within one second and across the next (the kept second).
        for i in 0..3_000 {
            instants.push(1_700_000_000 * NANOS_PER_SEC + i * 999_983);
        }
        for n in instants {
            let t = Timestamp(n);
            assert_eq!(t.to_string(), formatted(t), "{n}");
            let json = serde_json::to_string(&t).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", formatted(t)), "{n}");
        }
    }
}
