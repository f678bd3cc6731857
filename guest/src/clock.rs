//! The wall clock (read fresh on every use: the host controls it) and the
//! RFC 3339 formatting of instants.

use crate::prelude::*;

/// Nanoseconds since the Unix epoch, now, from the WASI wall clock.
#[cfg(target_arch = "wasm32")]
pub fn now_ns() -> i64 {
    let t = wasip2::clocks::wall_clock::now();
    // Capped below the year 2262 (where nanoseconds leave an i64) by a
    // comparison: a checked multiply would compile in 128-bit arithmetic.
    let secs = t.seconds.min(i64::MAX as u64 / 1_000_000_000 - 1) as i64;
    secs * 1_000_000_000 + i64::from(t.nanoseconds)
}

/// Nanoseconds since the Unix epoch, now (0 before the epoch).
#[cfg(not(target_arch = "wasm32"))]
pub fn now_ns() -> i64 {
    match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
        Err(_) => 0,
    }
}

/// Milliseconds since the Unix epoch of `ns`.
pub fn ns_to_ms(ns: i64) -> u64 {
    u64::try_from(ns.div_euclid(1_000_000)).unwrap_or(0)
}

/// Formats `ns` since the epoch as `YYYY-MM-DDTHH:MM:SS.ffffffZ` (UTC, microseconds).
#[inline(never)]
pub fn rfc3339_micros(ns: i64) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let micros = ns.rem_euclid(1_000_000_000) / 1_000;
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let fields = [
        (y, 4, b'-'),
        (i64::from(m), 2, b'-'),
        (i64::from(d), 2, b'T'),
        (sod / 3600, 2, b':'),
        (sod % 3600 / 60, 2, b':'),
        (sod % 60, 2, b'.'),
        (micros, 6, b'Z'),
    ];
    let mut s = String::with_capacity(27);
    for (n, width, then) in fields {
        push_num(&mut s, n.unsigned_abs(), width);
        push_ascii(&mut s, &[then]);
    }
    s
}

/// Year, month, day of the day `z` days after 1970-01-01 (proleptic Gregorian).
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(rfc3339_micros(0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(rfc3339_micros(1_767_225_600_000_000_000), "2026-01-01T00:00:00.000000Z");
        // 2000-02-29T12:34:56.789012Z (leap day of a century leap year)
        assert_eq!(rfc3339_micros(951_827_696_789_012_345), "2000-02-29T12:34:56.789012Z");
        // 2024-12-31T23:59:59.999999Z
        assert_eq!(rfc3339_micros(1_735_689_599_999_999_999), "2024-12-31T23:59:59.999999Z");
        // 2100-03-01 (2100 is not a leap year)
        assert_eq!(rfc3339_micros(4_107_542_400_000_000_000), "2100-03-01T00:00:00.000000Z");
        assert_eq!(rfc3339_micros(-1_000), "1969-12-31T23:59:59.999999Z");
    }

    #[test]
    fn now_is_after_2020() {
        assert!(now_ns() > 1_577_836_800_000_000_000);
        assert_eq!(ns_to_ms(1_234_567_890), 1_234);
    }
}
