//! Timestamps as the platform writes them: `Date.prototype.toISOString()`
//! (`2026-08-22T10:00:00.000Z`) for the session dates of PROTOCOL.md §5.2,
//! and the reverse for a request's `expiresAt`.
//!
//! A few lines of civil-calendar arithmetic (Howard Hinnant's
//! `days_from_civil` / `civil_from_days`) instead of a date crate: nothing
//! else here needs one, and it keeps the wasm small.

/// `days_from_civil`: days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `civil_from_days`: the (year, month, day) of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Milliseconds since the epoch as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn format_iso(ms: u64) -> String {
    let secs = ms / 1000;
    let (y, mo, d) = civil_from_days((secs / 86_400) as i64);
    let sod = secs % 86_400;
    format!("{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z", sod / 3600, sod / 60 % 60, sod % 60, ms % 1000)
}

/// Parses an ISO-8601 date or date-time (`YYYY-MM-DD`, optionally
/// `THH:MM[:SS[.fff…]]` and `Z` / `±HH:MM` / `±HHMM`) to milliseconds since
/// the epoch. A date-time without an offset is read as UTC (JavaScript would
/// use local time; Workers run in UTC). Dates before 1970 and invalid
/// fields give `None`.
pub fn parse_iso(s: &str) -> Option<u64> {
    let b = s.trim().as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = b.get(r)?;
        part.iter().all(u8::is_ascii_digit).then(|| part.iter().fold(0, |n, c| n * 10 + u32::from(c - b'0')))
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') || !(1..=12).contains(&mo) {
        return None;
    }
    if d == 0 || d > days_in_month(i64::from(y), mo) {
        return None;
    }
    let mut ms = days_from_civil(i64::from(y), mo, d) * 86_400_000;
    let mut i = 10;
    if i < b.len() {
        if !matches!(b[i], b'T' | b't' | b' ') || b.get(i + 3) != Some(&b':') {
            return None;
        }
        let (h, mi) = (num(i + 1..i + 3)?, num(i + 4..i + 6)?);
        i += 6;
        let mut sec = 0;
        if b.get(i) == Some(&b':') {
            sec = num(i + 1..i + 3)?;
            i += 3;
        }
        if h > 23 || mi > 59 || sec > 59 {
            return None;
        }
        ms += i64::from(h * 3600 + mi * 60 + sec) * 1000;
        if matches!(b.get(i), Some(b'.' | b',')) {
            let start = i + 1;
            i = start;
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            if i == start {
                return None;
            }
            let frac = format!("{:0<3}", std::str::from_utf8(&b[start..i.min(start + 3)]).ok()?);
            ms += i64::from(frac.parse::<u32>().ok()?);
        }
        match b.get(i) {
            None => {}
            Some(b'Z' | b'z') if i + 1 == b.len() => {}
            Some(&sign @ (b'+' | b'-')) => {
                let oh = num(i + 1..i + 3)?;
                let om = match b.len() - i {
                    3 => 0,
                    5 => num(i + 3..i + 5)?,
                    6 if b[i + 3] == b':' => num(i + 4..i + 6)?,
                    _ => return None,
                };
                if oh > 23 || om > 59 {
                    return None;
                }
                let offset = i64::from(oh * 60 + om) * 60_000;
                ms += if sign == b'+' { -offset } else { offset };
            }
            _ => return None,
        }
    }
    u64::try_from(ms).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_to_iso_string() {
        assert_eq!(format_iso(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_iso(1_755_856_800_000), "2025-08-22T10:00:00.000Z");
        assert_eq!(format_iso(951_825_600_123), "2000-02-29T12:00:00.123Z");
        assert_eq!(format_iso(4_107_542_399_999), "2100-02-28T23:59:59.999Z");
        assert_eq!(format_iso(253_402_300_799_999), "9999-12-31T23:59:59.999Z");
    }

    #[test]
    fn parses_what_it_formats_and_common_forms() {
        for ms in [0, 1, 999, 86_399_999, 951_825_600_123, 1_755_856_800_000, 4_107_542_399_999] {
            assert_eq!(parse_iso(&format_iso(ms)), Some(ms), "{ms}");
        }
        assert_eq!(parse_iso("2025-08-22"), Some(1_755_820_800_000));
        assert_eq!(parse_iso("2025-08-22T10:00Z"), Some(1_755_856_800_000));
        assert_eq!(parse_iso("2025-08-22T12:00:00+02:00"), Some(1_755_856_800_000));
        assert_eq!(parse_iso("2025-08-22T09:30:00-0030"), Some(1_755_856_800_000));
        assert_eq!(parse_iso("2025-08-22T10:00:00.5Z"), Some(1_755_856_800_500));
        assert_eq!(parse_iso("2025-08-22T10:00:00.123456789Z"), Some(1_755_856_800_123));
        assert_eq!(parse_iso("2025-08-22T10:00:00"), Some(1_755_856_800_000));
    }

    #[test]
    fn rejects_invalid_dates() {
        for bad in [
            "",
            "2025",
            "2025-13-01",
            "2025-02-29",
            "2025-04-31",
            "2025-00-10",
            "2025-08-22T24:00:00Z",
            "2025-08-22T10:60Z",
            "2025-08-22T10:00:00.Z",
            "2025-08-22T10:00:00Zx",
            "2025-08-22T10:00:00+2",
            "1969-12-31T23:59:59Z",
            "tomorrow",
            "2025/08/22",
            "2025-08-22X10:00",
        ] {
            assert_eq!(parse_iso(bad), None, "{bad}");
        }
        assert_eq!(parse_iso("2024-02-29"), Some(1_709_164_800_000));
    }
}
