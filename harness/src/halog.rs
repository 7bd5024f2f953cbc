//! Reading HA log lines back (`haErrorLog.txt`, spec §4, B63): the inverse of the engine's
//! catalogue rendering. [`parse_line`] splits a line into its `ctime()` date, process id and
//! group serial (the B63 prefix) and the message, which [`parse_message`] turns into the
//! engine's own [`HaLogMessage`]. Fields must be exactly where the template puts them (one
//! space, no extra text); two liberties are taken, and [`LogLine::render`] shows them: a day
//! written `04` instead of ` 4`, and the literal `\n` the vendor's table ends two un-named lines
//! with. The timeline and `hasim import` read log lines through this module.

use ha_engine::Ckr;
use ha_engine::log::{HaLogMessage, line_prefix};
use ha_engine::ports::CivilTime;

/// One HA log line, read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogLine {
    /// The local time of the prefix.
    pub time: CivilTime,
    /// The process id.
    pub pid: u32,
    /// The group serial.
    pub group: String,
    /// The message after the prefix.
    pub message: HaLogMessage,
}

impl LogLine {
    /// The line as the engine writes it (without the newline).
    pub fn render(&self) -> String {
        format!(
            "{} {}",
            line_prefix(&self.time, self.pid, &self.group),
            self.message.render()
        )
    }
}

/// Why a line is not an HA log line hasim can read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    /// The line is empty.
    #[error("empty line")]
    Empty,
    /// The date at the start is not `Www Mmm dd HH:MM:SS YYYY`.
    #[error("no ctime() date at the start (expected e.g. `Wed Oct  4 16:29:21 2017`)")]
    Date,
    /// The weekday does not match the date.
    #[error("the weekday `{0}` does not match the date")]
    Weekday(String),
    /// After the date, ` : [<pid>] HA group: <serial> ` is missing.
    #[error("no ` : [<pid>] HA group: <serial> ` after the date")]
    Prefix,
    /// The message matches no template of the HA log catalogue (§4) (a code whose name is
    /// not hasim's name of its value matches none either).
    #[error("the message matches no HA log template: `{0}`")]
    Message(String),
}

const WEEKDAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Parses a `ctime()` date, `Wed Oct  4 16:29:21 2017` (24 characters).
pub fn parse_ctime(text: &str) -> Result<CivilTime, LineError> {
    let b = text.as_bytes();
    if b.len() != 24 || !text.is_ascii() {
        return Err(LineError::Date);
    }
    let field = |from: usize, to: usize| text.get(from..to).ok_or(LineError::Date);
    if b[3] != b' ' || b[7] != b' ' || b[10] != b' ' || b[19] != b' ' {
        return Err(LineError::Date);
    }
    let weekday_name = field(0, 3)?;
    let month_name = field(4, 7)?;
    let number = |s: &str| -> Result<u32, LineError> {
        let s = s.trim_start();
        if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
            return Err(LineError::Date);
        }
        s.parse().map_err(|_| LineError::Date)
    };
    let day = number(field(8, 10)?)?;
    let clock = field(11, 19)?;
    let cb = clock.as_bytes();
    if cb[2] != b':' || cb[5] != b':' {
        return Err(LineError::Date);
    }
    let hour = number(field(11, 13)?)?;
    let minute = number(field(14, 16)?)?;
    let second = number(field(17, 19)?)?;
    let year = number(field(20, 24)?)?;
    let month = MONTHS
        .iter()
        .position(|m| *m == month_name)
        .ok_or(LineError::Date)?;
    let narrow = |v: u32| u8::try_from(v).map_err(|_| LineError::Date);
    let month = narrow(u32::try_from(month + 1).map_err(|_| LineError::Date)?)?;
    let (day, hour, minute, second) = (
        narrow(day)?,
        narrow(hour)?,
        narrow(minute)?,
        narrow(second)?,
    );
    if hour > 23 || minute > 59 || second > 59 {
        return Err(LineError::Date);
    }
    let year = i32::try_from(year).map_err(|_| LineError::Date)?;
    let weekday = sim::clock::weekday_of(year, month, day).ok_or(LineError::Date)?;
    if WEEKDAYS.get(usize::from(weekday)) != Some(&weekday_name) {
        return Err(LineError::Weekday(weekday_name.to_string()));
    }
    Ok(CivilTime {
        year,
        month,
        day,
        hour,
        minute,
        second,
        weekday,
    })
}

/// Parses one HA log line (without its newline).
pub fn parse_line(line: &str) -> Result<LogLine, LineError> {
    if line.is_empty() {
        return Err(LineError::Empty);
    }
    let date = line.get(..24).ok_or(LineError::Date)?;
    let time = parse_ctime(date)?;
    let rest = line
        .get(24..)
        .and_then(|r| r.strip_prefix(" : ["))
        .ok_or(LineError::Prefix)?;
    let (pid, rest) = rest.split_once("] HA group: ").ok_or(LineError::Prefix)?;
    if pid.is_empty() || !pid.bytes().all(|c| c.is_ascii_digit()) {
        return Err(LineError::Prefix);
    }
    let pid: u32 = pid.parse().map_err(|_| LineError::Prefix)?;
    let (group, text) = rest.split_once(' ').ok_or(LineError::Prefix)?;
    if group.is_empty() {
        return Err(LineError::Prefix);
    }
    let message = parse_message(text)?;
    Ok(LogLine {
        time,
        pid,
        group: group.to_string(),
        message,
    })
}

/// Splits `text` along a pattern of literal pieces with one field between each two (written
/// `{}` in the pattern). Fields are non-empty and hold no space.
fn fields<'t>(text: &'t str, pattern: &str) -> Option<Vec<&'t str>> {
    let pieces: Vec<&str> = pattern.split("{}").collect();
    let (first, rest) = pieces.split_first()?;
    let mut at = text.strip_prefix(first)?;
    let mut out = Vec::new();
    for (i, piece) in rest.iter().enumerate() {
        let last = i + 1 == rest.len();
        let (field, after) = if last {
            let field = at.strip_suffix(piece)?;
            (field, "")
        } else {
            let end = at.find(piece)?;
            (&at[..end], &at[end + piece.len()..])
        };
        if field.is_empty() || field.contains(' ') {
            return None;
        }
        out.push(field);
        at = after;
    }
    if rest.is_empty() && !at.is_empty() {
        return None;
    }
    Some(out)
}

fn number<T: std::str::FromStr>(s: &str) -> Option<T> {
    if s.bytes().all(|c| c.is_ascii_digit()) {
        s.parse().ok()
    } else {
        None
    }
}

/// `0x30 : CKR_DEVICE_ERROR`: the value; the name must be hasim's name of that value.
fn code(hex: &str, name: &str) -> Option<Ckr> {
    let digits = hex.strip_prefix("0x")?;
    let value = u64::from_str_radix(digits, 16).ok()?;
    let ckr = Ckr(value);
    (ckr.name() == name).then_some(ckr)
}

/// The two un-named recovery lines end in a literal `\n` in the vendor's table (§4); a log that
/// carries it literally reads the same.
fn without_literal_newline(text: &str) -> &str {
    text.strip_suffix(r"\n").unwrap_or(text)
}

/// Parses the message after the prefix into the catalogue message it renders from.
pub fn parse_message(text: &str) -> Result<HaLogMessage, LineError> {
    message(text).ok_or_else(|| LineError::Message(text.to_string()))
}

fn message(text: &str) -> Option<HaLogMessage> {
    let s = |v: &str| v.to_string();
    let exact = [
        (
            r#"configured as a "PASSWORD Based" virtual device"#,
            HaLogMessage::ConfiguredAsPassword,
        ),
        (
            r#"configured as a "PED Based" virtual device"#,
            HaLogMessage::ConfiguredAsPed,
        ),
        ("all members gone offline.", HaLogMessage::MembersOffline),
        ("management thread started", HaLogMessage::MgmtThreadStart),
        (
            "management thread terminated",
            HaLogMessage::MgmtThreadTerminate,
        ),
    ];
    for (t, m) in exact {
        if text == t {
            return Some(m);
        }
    }
    if let Some(f) = fields(text, "has dropped member: {}") {
        return Some(HaLogMessage::DropMember { serial: s(f[0]) });
    }
    if let Some(f) = fields(
        text,
        "unable to reach member: {}. Manual Recover or Auto Recovery will be able to recover this member",
    ) {
        return Some(HaLogMessage::DropUnrecoverable { serial: s(f[0]) });
    }
    if let Some(f) = fields(
        text,
        "can not login to member: {}, autorecovery will be disabled. Code: {} : {}",
    ) {
        return Some(HaLogMessage::LoginFailed {
            serial: s(f[0]),
            code: code(f[1], f[2])?,
        });
    }
    if let Some(f) = fields(text, "member: {} deactivated") {
        return Some(HaLogMessage::MemberDeactivated { serial: s(f[0]) });
    }
    if let Some(f) = fields(text, "member: {} revoked") {
        return Some(HaLogMessage::MemberRevoked { serial: s(f[0]) });
    }
    if let Some(f) = fields(
        text,
        "recovery attempt {} member {} is now activated and will be reintroduce back into the HA group.",
    ) {
        return Some(HaLogMessage::MemberNowActivated {
            attempt: number(f[0])?,
            serial: s(f[1]),
        });
    }
    if let Some(f) = fields(text, "detected new member member: {}") {
        return Some(HaLogMessage::NewMember { serial: s(f[0]) });
    }
    if let Some(f) = fields(text, "recovery attempt {} succeeded for member: {}") {
        return Some(HaLogMessage::Recovered {
            attempt: number(f[0])?,
            serial: s(f[1]),
        });
    }
    if let Some(f) = fields(
        text,
        "recovery attempt {} reintroducing {} token objects to recovered token {}",
    ) {
        return Some(HaLogMessage::Reintroducing {
            attempt: number(f[0])?,
            count: number(f[1])?,
            token: s(f[2]),
        });
    }
    if let Some(f) = fields(
        text,
        "recovery attempt {} failed for member: {}. Manual Recover or Auto Recovery will not be able to recover this member. Code: {} : {}",
    ) {
        return Some(HaLogMessage::Unrecoverable {
            attempt: number(f[0])?,
            serial: s(f[1]),
            code: code(f[2], f[3])?,
        });
    }
    if let Some(f) = fields(
        text,
        "recovery attempt {} failed for member: {}. Code: {} : {}.",
    ) {
        return Some(HaLogMessage::RecoveryFailed {
            attempt: number(f[0])?,
            serial: s(f[1]),
            code: code(f[2], f[3])?,
        });
    }
    if let Some(f) = fields(
        text,
        "exceeded maximum number of autorecovery attempts for member: {}. Autorecovery will be disabled",
    ) {
        return Some(HaLogMessage::RecoveryExhausted { serial: s(f[0]) });
    }
    if let Some(f) = fields(text, "Re-enable auto recovery process for member: {}") {
        return Some(HaLogMessage::RenableMember { serial: s(f[0]) });
    }
    if let Some(f) = fields(
        text,
        "member {} is not activated and is excluded from the HA group",
    ) {
        return Some(HaLogMessage::NotActivatedExcluded { serial: s(f[0]) });
    }
    let bare = without_literal_newline(text);
    if let Some(f) = fields(
        bare,
        "recovery attempt {} is not activated and cannot be reintroduced back into the HA group",
    ) {
        return Some(HaLogMessage::RecoveryNotActivated { serial: s(f[0]) });
    }
    if let Some(f) = fields(
        bare,
        "recovery attempt {} is now activated and will be reintroduce back into the HA group.",
    ) {
        return Some(HaLogMessage::RecoveryNowActivated { serial: s(f[0]) });
    }
    None
}

/// The member serial a message names, if any.
pub fn member_of(message: &HaLogMessage) -> Option<&str> {
    match message {
        HaLogMessage::ConfiguredAsPassword
        | HaLogMessage::ConfiguredAsPed
        | HaLogMessage::MembersOffline
        | HaLogMessage::MgmtThreadStart
        | HaLogMessage::MgmtThreadTerminate => None,
        HaLogMessage::DropMember { serial }
        | HaLogMessage::DropUnrecoverable { serial }
        | HaLogMessage::LoginFailed { serial, .. }
        | HaLogMessage::MemberDeactivated { serial }
        | HaLogMessage::MemberNowActivated { serial, .. }
        | HaLogMessage::MemberRevoked { serial }
        | HaLogMessage::NewMember { serial }
        | HaLogMessage::Recovered { serial, .. }
        | HaLogMessage::RecoveryFailed { serial, .. }
        | HaLogMessage::RecoveryExhausted { serial }
        | HaLogMessage::RenableMember { serial }
        | HaLogMessage::Unrecoverable { serial, .. }
        | HaLogMessage::NotActivatedExcluded { serial }
        | HaLogMessage::RecoveryNotActivated { serial }
        | HaLogMessage::RecoveryNowActivated { serial } => Some(serial),
        HaLogMessage::Reintroducing { token, .. } => Some(token),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: &str = "1234924189183";
    const PREFIX: &str = "Wed Oct  4 16:29:31 2017 : [17469] HA group: 11234840370164";

    fn every_message() -> Vec<HaLogMessage> {
        let serial = S.to_string();
        vec![
            HaLogMessage::ConfiguredAsPassword,
            HaLogMessage::ConfiguredAsPed,
            HaLogMessage::DropMember {
                serial: serial.clone(),
            },
            HaLogMessage::DropUnrecoverable {
                serial: serial.clone(),
            },
            HaLogMessage::LoginFailed {
                serial: serial.clone(),
                code: Ckr::CKR_PIN_INCORRECT,
            },
            HaLogMessage::MemberDeactivated {
                serial: serial.clone(),
            },
            HaLogMessage::MemberNowActivated {
                attempt: 3,
                serial: serial.clone(),
            },
            HaLogMessage::MemberRevoked {
                serial: serial.clone(),
            },
            HaLogMessage::MembersOffline,
            HaLogMessage::MgmtThreadStart,
            HaLogMessage::MgmtThreadTerminate,
            HaLogMessage::NewMember {
                serial: serial.clone(),
            },
            HaLogMessage::Recovered {
                attempt: 12,
                serial: serial.clone(),
            },
            HaLogMessage::Reintroducing {
                attempt: 1,
                count: 7,
                token: serial.clone(),
            },
            HaLogMessage::RecoveryFailed {
                attempt: 2,
                serial: serial.clone(),
                code: Ckr::CKR_DEVICE_ERROR,
            },
            HaLogMessage::RecoveryExhausted {
                serial: serial.clone(),
            },
            HaLogMessage::RenableMember {
                serial: serial.clone(),
            },
            HaLogMessage::Unrecoverable {
                attempt: 4,
                serial: serial.clone(),
                code: Ckr(0x8000_0001),
            },
            HaLogMessage::NotActivatedExcluded {
                serial: serial.clone(),
            },
            HaLogMessage::RecoveryNotActivated {
                serial: serial.clone(),
            },
            HaLogMessage::RecoveryNowActivated { serial },
        ]
    }

    #[test]
    fn every_catalogue_message_reads_back() {
        let messages = every_message();
        assert_eq!(messages.len(), ha_engine::log::CATALOGUE.len());
        for m in messages {
            let line = format!("{PREFIX} {}", m.render());
            let read = parse_line(&line).unwrap_or_else(|e| panic!("{line}: {e}"));
            assert_eq!(read.message, m);
            assert_eq!(read.pid, 17469);
            assert_eq!(read.group, "11234840370164");
            assert_eq!(read.render(), line);
        }
    }

    #[test]
    fn the_date_is_read_with_its_weekday() {
        let t = parse_ctime("Sat Oct 14 09:05:03 2017").expect("a date");
        assert_eq!(
            (
                t.year, t.month, t.day, t.hour, t.minute, t.second, t.weekday
            ),
            (2017, 10, 14, 9, 5, 3, 6)
        );
        assert_eq!(
            parse_ctime("Thu Oct 14 09:05:03 2017"),
            Err(LineError::Weekday("Thu".into()))
        );
        assert_eq!(
            parse_ctime("Sat Oct 14 9:05:03 2017 "),
            Err(LineError::Date)
        );
        assert_eq!(
            parse_ctime("Sat Foo 14 09:05:03 2017"),
            Err(LineError::Date)
        );
    }

    #[test]
    fn lines_that_are_not_exactly_a_template_are_refused() {
        let bad = [
            "",
            "Wed Oct  4 16:29:31 2017 [17469] HA group: 1 has dropped member: 5",
            &format!("{PREFIX} has dropped member:  5"),
            &format!("{PREFIX} something else happened"),
            &format!(
                "{PREFIX} recovery attempt x failed for member: 5. Code: 0x30 : CKR_DEVICE_ERROR."
            ),
            &format!(
                "{PREFIX} recovery attempt 1 failed for member: 5. Code: 0x30 : CKR_PIN_INCORRECT."
            ),
            &format!("{PREFIX}  has dropped member: 5"),
        ];
        for line in bad {
            assert!(parse_line(line).is_err(), "{line:?}");
        }
    }

    #[test]
    fn a_literal_backslash_n_is_the_line_end_of_the_two_unnamed_lines() {
        let line = format!(
            "{PREFIX} recovery attempt {S} is not activated and cannot be reintroduced back into the HA group\\n"
        );
        // Read as the template; hasim writes it without the literal `\n`.
        let read = parse_line(&line).expect("readable");
        assert_eq!(
            read.message,
            HaLogMessage::RecoveryNotActivated { serial: S.into() }
        );
        assert_eq!(read.render().len() + 2, line.len());
    }
}
