//! The HA log's line prefix (B63) and the timestamp in rotated file names (B64, D15).
//!
//! Owns the `ctime()`-style date (`%a %b %e %H:%M:%S %Y`, English names, day space-padded to two
//! characters), the `<date> : [<pid>] HA group: <serial>` prefix and the `YYYYMMDDHHMMSS` stamp.
//! Everything is formatted here from a [`CivilTime`]; nothing reads `TZ`, `LANG` or a clock.

use std::fmt::Write as _;

use crate::ports::CivilTime;

/// English abbreviated weekday names, indexed by [`CivilTime::weekday`] (0 = Sunday).
const WEEKDAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

/// English abbreviated month names, indexed by [`CivilTime::month`] - 1.
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Placeholder printed for a weekday or month outside its range (never produced by a valid
/// [`CivilTime`]; it keeps formatting total instead of panicking).
const UNKNOWN_NAME: &str = "???";

/// The `ctime()` date of `t`, as strftime `%a %b %e %H:%M:%S %Y` in English:
/// `Wed Oct  4 16:29:21 2017`, `Sat Oct 14 09:05:03 2017` (B63).
pub fn ctime(t: &CivilTime) -> String {
    let mut out = String::with_capacity(24);
    write_ctime(&mut out, t);
    out
}

/// [`ctime`] appended to `out`.
fn write_ctime(out: &mut String, t: &CivilTime) {
    let weekday = WEEKDAYS
        .get(usize::from(t.weekday))
        .copied()
        .unwrap_or(UNKNOWN_NAME);
    let month = usize::from(t.month)
        .checked_sub(1)
        .and_then(|i| MONTHS.get(i))
        .copied()
        .unwrap_or(UNKNOWN_NAME);
    let _ = write!(
        out,
        "{weekday} {month} {:>2} {:02}:{:02}:{:02} {}",
        t.day, t.hour, t.minute, t.second, t.year
    );
}

/// The prefix of every HA log line (B63, the `<MessagePrefix>` of §4):
/// `Wed Oct  4 16:29:21 2017 : [17469] HA group: 11234840370164`.
pub fn line_prefix(t: &CivilTime, pid: u32, group_serial: &str) -> String {
    // One buffer for the whole prefix (the date is not formatted into a string of its own).
    let mut out = String::with_capacity(48 + group_serial.len());
    write_ctime(&mut out, t);
    let _ = write!(out, " : [{pid}] HA group: {group_serial}");
    out
}

/// The timestamp a rotated log file carries (B64, D15): `YYYYMMDDHHMMSS`, e.g. `20171004162921`.
pub fn rotation_stamp(t: &CivilTime) -> String {
    format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}",
        t.year, t.month, t.day, t.hour, t.minute, t.second
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(year: i32, month: u8, day: u8, hms: (u8, u8, u8), weekday: u8) -> CivilTime {
        CivilTime {
            year,
            month,
            day,
            hour: hms.0,
            minute: hms.1,
            second: hms.2,
            weekday,
        }
    }

    #[test]
    fn ctime_pads_single_digit_day_with_a_space() {
        assert_eq!(
            ctime(&at(2017, 10, 4, (16, 29, 21), 3)),
            "Wed Oct  4 16:29:21 2017"
        );
    }

    #[test]
    fn ctime_two_digit_day_and_zero_padded_time() {
        assert_eq!(
            ctime(&at(2017, 10, 14, (9, 5, 3), 6)),
            "Sat Oct 14 09:05:03 2017"
        );
        assert_eq!(
            ctime(&at(2000, 1, 31, (0, 0, 0), 1)),
            "Mon Jan 31 00:00:00 2000"
        );
        assert_eq!(
            ctime(&at(1999, 12, 5, (23, 59, 59), 0)),
            "Sun Dec  5 23:59:59 1999"
        );
    }

    #[test]
    fn ctime_out_of_range_names_do_not_panic() {
        assert_eq!(
            ctime(&at(2017, 0, 1, (0, 0, 0), 9)),
            "??? ???  1 00:00:00 2017"
        );
        assert_eq!(
            ctime(&at(2017, 13, 1, (0, 0, 0), 7)),
            "??? ???  1 00:00:00 2017"
        );
    }

    #[test]
    fn prefix_matches_b63_example() {
        assert_eq!(
            line_prefix(&at(2017, 10, 4, (16, 29, 21), 3), 17469, "11234840370164"),
            "Wed Oct  4 16:29:21 2017 : [17469] HA group: 11234840370164"
        );
    }

    #[test]
    fn rotation_stamp_is_compact_and_zero_padded() {
        assert_eq!(
            rotation_stamp(&at(2017, 10, 4, (16, 29, 21), 3)),
            "20171004162921"
        );
        assert_eq!(
            rotation_stamp(&at(2018, 1, 2, (3, 4, 5), 2)),
            "20180102030405"
        );
    }
}
