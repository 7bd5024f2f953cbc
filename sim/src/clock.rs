//! The virtual calendar: turns the engine's virtual milliseconds into local civil time for the HA
//! log prefix (B63, D15), counted from a scenario's start time.
//!
//! Owns parsing of `YYYY-MM-DD HH:MM:SS` start times, proleptic-Gregorian date arithmetic (Howard
//! Hinnant's `days_from_civil` / `civil_from_days`, no crates), the weekday, and the scenario
//! defaults for start time and process id. No time zone exists here: the civil time *is* the
//! local time (D15). Nothing reads the wall clock.

use ha_engine::ports::{Calendar, CivilTime, Millis};

/// Default scenario start time (the B63 example line's date).
pub const DEFAULT_START: &str = "2017-10-04 16:29:21";

/// Default process id printed in the HA log prefix (the B63 example line's pid).
pub const DEFAULT_PID: u32 = 17469;

/// The form [`parse_civil`] accepts, for error messages.
const EXPECTED_FORM: &str = "YYYY-MM-DD HH:MM:SS";

/// Seconds in a day.
const SECS_PER_DAY: i128 = 86_400;

/// A start time that is not a valid `YYYY-MM-DD HH:MM:SS`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ClockError {
    /// The text does not have the shape `YYYY-MM-DD HH:MM:SS`.
    #[error("invalid time `{text}`: expected the form YYYY-MM-DD HH:MM:SS")]
    Malformed {
        /// The text given.
        text: String,
    },
    /// The shape is right but a field is out of range (e.g. month 13, 29 February 2001).
    #[error("invalid time `{text}`: {field} out of range (form YYYY-MM-DD HH:MM:SS)")]
    OutOfRange {
        /// The text given.
        text: String,
        /// The field that is out of range (`month`, `day`, `hour`, `minute`, `second`).
        field: &'static str,
    },
}

/// True for a Gregorian leap year.
fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

/// Days in `month` (1..=12) of `year`; 0 for a month out of range.
fn days_in_month(year: i64, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Days since 1970-01-01 of a proleptic-Gregorian date (Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400; // [0, 399]
    let mp = if month > 2 { month - 3 } else { month + 9 }; // March = 0
    let doy = (153 * mp + 2) / 5 + day - 1; // [0, 365]
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // [0, 146096]
    era * 146_097 + doe - 719_468
}

/// The proleptic-Gregorian date `days` after 1970-01-01 (Hinnant's `civil_from_days`):
/// `(year, month 1..=12, day 1..=31)`.
fn civil_from_days(days: i128) -> (i128, u8, u8) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097; // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11], March = 0
    let day = doy - (153 * mp + 2) / 5 + 1; // [1, 31]
    let month = if mp < 10 { mp + 3 } else { mp - 9 }; // [1, 12]
    let year = yoe + era * 400 + i128::from(month <= 2);
    // Both are in range by construction; the fallbacks are never taken.
    let month = u8::try_from(month).unwrap_or(1);
    let day = u8::try_from(day).unwrap_or(1);
    (year, month, day)
}

/// Day of week (0 = Sunday) of the day `days` after 1970-01-01 (a Thursday).
fn weekday_from_days(days: i128) -> u8 {
    // rem_euclid(7) is in 0..7, so the fallback is never taken.
    u8::try_from((days + 4).rem_euclid(7)).unwrap_or(0)
}

/// Parses a fixed-width run of ASCII digits.
fn digits(field: &str) -> Option<u32> {
    if field.is_empty() || !field.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    field.parse().ok()
}

/// Parses `"2017-10-04 16:29:21"` (surrounding whitespace ignored) into a [`CivilTime`] with
/// its weekday. Checks month, day (leap years included), hour, minute and second.
pub fn parse_civil(text: &str) -> Result<CivilTime, ClockError> {
    let malformed = || ClockError::Malformed {
        text: text.to_string(),
    };
    let out_of_range = |field: &'static str| ClockError::OutOfRange {
        text: text.to_string(),
        field,
    };
    let trimmed = text.trim();
    let bytes = trimmed.as_bytes();
    let shape_ok = bytes.len() == EXPECTED_FORM.len()
        && bytes.get(4) == Some(&b'-')
        && bytes.get(7) == Some(&b'-')
        && bytes.get(10) == Some(&b' ')
        && bytes.get(13) == Some(&b':')
        && bytes.get(16) == Some(&b':');
    if !shape_ok {
        return Err(malformed());
    }
    let field = |from: usize, to: usize| trimmed.get(from..to).and_then(digits);
    let (Some(year), Some(month), Some(day), Some(hour), Some(minute), Some(second)) = (
        field(0, 4),
        field(5, 7),
        field(8, 10),
        field(11, 13),
        field(14, 16),
        field(17, 19),
    ) else {
        return Err(malformed());
    };
    // Every field has at most four digits, so the conversions below cannot fail.
    let year = i32::try_from(year).map_err(|_| malformed())?;
    let narrow = |v: u32| u8::try_from(v).map_err(|_| malformed());
    let (month, day, hour, minute, second) = (
        narrow(month)?,
        narrow(day)?,
        narrow(hour)?,
        narrow(minute)?,
        narrow(second)?,
    );
    if !(1..=12).contains(&month) {
        return Err(out_of_range("month"));
    }
    if day < 1 || day > days_in_month(i64::from(year), month) {
        return Err(out_of_range("day"));
    }
    if hour > 23 {
        return Err(out_of_range("hour"));
    }
    if minute > 59 {
        return Err(out_of_range("minute"));
    }
    if second > 59 {
        return Err(out_of_range("second"));
    }
    let days = days_from_civil(i64::from(year), i64::from(month), i64::from(day));
    Ok(CivilTime {
        year,
        month,
        day,
        hour,
        minute,
        second,
        weekday: weekday_from_days(i128::from(days)),
    })
}

/// `t` plus `secs` seconds, with day, month and year rollover and the weekday recomputed (the
/// input's weekday is ignored). Years beyond `i32` saturate; u64 milliseconds never get there.
pub fn add_seconds(t: &CivilTime, secs: u64) -> CivilTime {
    let days = days_from_civil(i64::from(t.year), i64::from(t.month), i64::from(t.day));
    let total = i128::from(days) * SECS_PER_DAY
        + i128::from(t.hour) * 3600
        + i128::from(t.minute) * 60
        + i128::from(t.second)
        + i128::from(secs);
    let day_number = total.div_euclid(SECS_PER_DAY);
    let second_of_day = total.rem_euclid(SECS_PER_DAY);
    let (year, month, day) = civil_from_days(day_number);
    let year = i32::try_from(year).unwrap_or(if year > 0 { i32::MAX } else { i32::MIN });
    // second_of_day is in 0..86400, so every part fits a u8; the fallbacks are never taken.
    let part = |v: i128| u8::try_from(v).unwrap_or(0);
    CivilTime {
        year,
        month,
        day,
        hour: part(second_of_day / 3600),
        minute: part(second_of_day % 3600 / 60),
        second: part(second_of_day % 60),
        weekday: weekday_from_days(day_number),
    }
}

/// Whole seconds from 1970-01-01 00:00:00 to `t` in the same (zone-less) civil time; the
/// weekday is ignored. Differences of two of these are elapsed seconds (no leap seconds).
pub fn seconds_since_epoch(t: &CivilTime) -> i64 {
    let days = days_from_civil(i64::from(t.year), i64::from(t.month), i64::from(t.day));
    days * 86_400 + i64::from(t.hour) * 3600 + i64::from(t.minute) * 60 + i64::from(t.second)
}

/// The weekday (0 = Sunday) of a proleptic-Gregorian date, or `None` for a month or day out
/// of range.
pub fn weekday_of(year: i32, month: u8, day: u8) -> Option<u8> {
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(i64::from(year), month) {
        return None;
    }
    let days = days_from_civil(i64::from(year), i64::from(month), i64::from(day));
    Some(weekday_from_days(i128::from(days)))
}

/// The simulation's [`Calendar`]: the scenario start time plus whole elapsed virtual seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SimCalendar {
    start: CivilTime,
}

impl SimCalendar {
    /// A calendar whose virtual instant 0 is `start`.
    pub fn new(start: CivilTime) -> Self {
        SimCalendar { start }
    }

    /// A calendar starting at a `YYYY-MM-DD HH:MM:SS` time.
    pub fn parse(start: &str) -> Result<Self, ClockError> {
        parse_civil(start).map(SimCalendar::new)
    }

    /// The civil time at virtual instant 0.
    pub fn start(&self) -> CivilTime {
        self.start
    }
}

impl Default for SimCalendar {
    /// Starts at [`DEFAULT_START`], Wednesday 2017-10-04 16:29:21.
    fn default() -> Self {
        SimCalendar::new(CivilTime {
            year: 2017,
            month: 10,
            day: 4,
            hour: 16,
            minute: 29,
            second: 21,
            weekday: 3,
        })
    }
}

impl Calendar for SimCalendar {
    /// `start` + floor(`now` / 1000) seconds.
    fn local_time(&self, now: Millis) -> CivilTime {
        add_seconds(&self.start, now / 1000)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failing unwrap is a failing test
mod tests {
    use super::*;

    fn p(text: &str) -> CivilTime {
        parse_civil(text).unwrap()
    }

    /// (year, month, day, hour, minute, second, weekday)
    fn parts(t: &CivilTime) -> (i32, u8, u8, u8, u8, u8, u8) {
        (
            t.year, t.month, t.day, t.hour, t.minute, t.second, t.weekday,
        )
    }

    #[test]
    fn default_start_is_a_wednesday() {
        let t = p(DEFAULT_START);
        assert_eq!(parts(&t), (2017, 10, 4, 16, 29, 21, 3));
        assert_eq!(SimCalendar::default().start(), t);
        assert_eq!(
            SimCalendar::parse(DEFAULT_START).unwrap(),
            SimCalendar::default()
        );
        assert_eq!(DEFAULT_PID, 17469);
    }

    #[test]
    fn known_weekdays() {
        assert_eq!(p("1970-01-01 00:00:00").weekday, 4); // Thursday
        assert_eq!(p("2020-02-29 12:00:00").weekday, 6); // Saturday
        assert_eq!(p("2000-02-29 00:00:00").weekday, 2); // Tuesday
        assert_eq!(p("2017-10-14 09:05:03").weekday, 6); // Saturday
        assert_eq!(p("1969-12-31 23:59:59").weekday, 3); // Wednesday
        assert_eq!(p("1600-03-01 00:00:00").weekday, 3); // Wednesday
        assert_eq!(p("0001-01-01 00:00:00").weekday, 1); // Monday (proleptic Gregorian)
    }

    #[test]
    fn leap_days() {
        assert!(parse_civil("2000-02-29 00:00:00").is_ok());
        assert!(parse_civil("2020-02-29 00:00:00").is_ok());
        assert_eq!(
            parse_civil("2001-02-29 00:00:00"),
            Err(ClockError::OutOfRange {
                text: "2001-02-29 00:00:00".to_string(),
                field: "day"
            })
        );
        assert!(parse_civil("1900-02-29 00:00:00").is_err());
        assert!(parse_civil("2017-04-31 00:00:00").is_err());
        assert!(parse_civil("2017-12-31 00:00:00").is_ok());
    }

    #[test]
    fn out_of_range_fields_are_named() {
        let field = |text: &str| match parse_civil(text) {
            Err(ClockError::OutOfRange { field, .. }) => field,
            other => panic!("{text}: {other:?}"),
        };
        assert_eq!(field("2017-13-01 00:00:00"), "month");
        assert_eq!(field("2017-00-01 00:00:00"), "month");
        assert_eq!(field("2017-10-00 00:00:00"), "day");
        assert_eq!(field("2017-10-04 24:00:00"), "hour");
        assert_eq!(field("2017-10-04 23:60:00"), "minute");
        assert_eq!(field("2017-10-04 23:59:60"), "second");
    }

    #[test]
    fn malformed_text_names_the_expected_form() {
        for text in [
            "",
            "2017-10-04",
            "2017-10-04T16:29:21",
            "2017/10/04 16:29:21",
            "17-10-04 16:29:21",
            "2017-10-4 16:29:21",
            "2017-1a-04 16:29:21",
            "2017-10-04 16:29:21 UTC",
            "+017-10-04 16:29:21",
        ] {
            let err = parse_civil(text).unwrap_err();
            assert!(
                matches!(err, ClockError::Malformed { .. }),
                "{text}: {err:?}"
            );
            assert!(err.to_string().contains("YYYY-MM-DD HH:MM:SS"), "{err}");
        }
        let err = parse_civil("2017-13-01 00:00:00").unwrap_err();
        assert!(err.to_string().contains("YYYY-MM-DD HH:MM:SS"), "{err}");
        assert!(parse_civil("  2017-10-04 16:29:21\n").is_ok());
    }

    #[test]
    fn one_day_across_month_and_year_ends() {
        let next = |text: &str| add_seconds(&p(text), 86_400);
        assert_eq!(next("2017-10-31 10:00:00"), p("2017-11-01 10:00:00"));
        assert_eq!(next("2017-12-31 23:59:59"), p("2018-01-01 23:59:59"));
        assert_eq!(next("2020-02-28 00:00:00"), p("2020-02-29 00:00:00"));
        assert_eq!(next("2021-02-28 00:00:00"), p("2021-03-01 00:00:00"));
        assert_eq!(next("2000-02-28 00:00:00"), p("2000-02-29 00:00:00"));
        assert_eq!(next("1900-02-28 00:00:00"), p("1900-03-01 00:00:00"));
    }

    #[test]
    fn seconds_roll_over_minutes_hours_and_days() {
        assert_eq!(
            add_seconds(&p("2017-12-31 23:59:59"), 1),
            p("2018-01-01 00:00:00")
        );
        assert_eq!(
            add_seconds(&p("2017-10-04 16:29:21"), 39),
            p("2017-10-04 16:30:00")
        );
        assert_eq!(
            add_seconds(&p("2017-10-04 16:29:21"), 0),
            p("2017-10-04 16:29:21")
        );
    }

    #[test]
    fn years_of_seconds() {
        let start = p("2017-10-04 16:29:21");
        // 2017-10-04 + 365 days = 2018-10-04 (no 29 February in between).
        assert_eq!(add_seconds(&start, 86_400 * 365), p("2018-10-04 16:29:21"));
        // Across 2020-02-29: 3 years are 1096 days.
        assert_eq!(add_seconds(&start, 86_400 * 1096), p("2020-10-04 16:29:21"));
        // 400 Gregorian years are exactly 146097 days and keep the weekday.
        let t = add_seconds(&start, 86_400 * 146_097);
        assert_eq!(t, p("2417-10-04 16:29:21"));
        assert_eq!(t.weekday, start.weekday);
    }

    #[test]
    fn input_weekday_is_ignored() {
        let mut t = p("2017-10-04 16:29:21");
        t.weekday = 0;
        assert_eq!(add_seconds(&t, 0).weekday, 3);
    }

    #[test]
    fn extreme_offsets_do_not_panic() {
        let start = p("2017-10-04 16:29:21");
        let far = SimCalendar::new(start).local_time(u64::MAX);
        assert!(far.year > 2017);
        let farther = add_seconds(&start, u64::MAX);
        assert_eq!(farther.year, i32::MAX);
    }

    #[test]
    fn calendar_floors_milliseconds() {
        let cal = SimCalendar::default();
        assert_eq!(cal.local_time(0), p("2017-10-04 16:29:21"));
        assert_eq!(cal.local_time(999), p("2017-10-04 16:29:21"));
        assert_eq!(cal.local_time(1_000), p("2017-10-04 16:29:22"));
        assert_eq!(cal.local_time(39_000), p("2017-10-04 16:30:00"));
        assert_eq!(
            cal.local_time(86_400_000 * 10 + 1_500),
            p("2017-10-14 16:29:22")
        );
        assert_eq!(cal.local_time(86_400_000 * 10).weekday, 6); // Saturday
    }

    #[test]
    fn civil_days_round_trip() {
        for days in (-800_000_i64..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(i128::from(days));
            let y = i64::try_from(y).unwrap();
            assert!(d >= 1 && d <= days_in_month(y, m));
            assert_eq!(days_from_civil(y, i64::from(m), i64::from(d)), days);
        }
    }
}
