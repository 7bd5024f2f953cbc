//! The HA log file writer: settings (D1), line assembly (B63, D15) and size-based rotation (B64,
//! D15) of `haErrorLog.txt` through a [`LogSink`].
//!
//! The writer owns the file naming (`<dir>/haErrorLog.txt`, rotated to
//! `haErrorLog.txt.<YYYYMMDDHHMMSS>` and, on a clash, `.1`, `.2`, ...) and the rule that a record is
//! always written whole before the file is rotated. It keeps no state besides its settings: the
//! sink is the only record of what was written.

use crate::log::catalogue::HaLogMessage;
use crate::log::prefix::{line_prefix, rotation_stamp};
use crate::ports::{CivilTime, LogSink, SinkError};

/// The name of the live HA log file inside the log directory (B62).
pub const LOG_FILE_NAME: &str = "haErrorLog.txt";

/// `logLen` when unset: 262144 bytes (D1, B65).
pub const DEFAULT_MAX_LEN: u64 = 262_144;

/// HA log settings: `haLogStatus`, `haLogPath`, `logLen` (and `hagroup halog`, B65).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HaLogSettings {
    /// `haLogStatus`: logging on or off.
    pub enabled: bool,
    /// `haLogPath`: the directory `haErrorLog.txt` lives in; `None` (or empty) writes nothing.
    pub path: Option<String>,
    /// `logLen`: the file is rotated once it reaches this many bytes (B64).
    pub max_len: u64,
}

impl Default for HaLogSettings {
    /// D1: enabled, no path (nothing is written until one is set), 262144 bytes.
    fn default() -> Self {
        HaLogSettings {
            enabled: true,
            path: None,
            max_len: DEFAULT_MAX_LEN,
        }
    }
}

/// What one [`HaLogWriter::write`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WriteOutcome {
    /// The exact text appended (prefix, one space, message, `\n`), or `None` when logging is
    /// disabled or no path is set.
    pub line: Option<String>,
    /// The path the live file was renamed to after this record, when it reached `max_len`.
    pub rotated_to: Option<String>,
}

impl WriteOutcome {
    /// True when a line was appended.
    pub fn written(&self) -> bool {
        self.line.is_some()
    }

    /// True when the file was rotated after the line.
    pub fn rotated(&self) -> bool {
        self.rotated_to.is_some()
    }
}

/// Writes HA log records to `<path>/haErrorLog.txt` and rotates the file by size.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HaLogWriter {
    settings: HaLogSettings,
}

impl HaLogWriter {
    /// A writer with the given settings.
    pub fn new(settings: HaLogSettings) -> Self {
        HaLogWriter { settings }
    }

    /// The current settings.
    pub fn settings(&self) -> &HaLogSettings {
        &self.settings
    }

    /// Replaces all settings.
    pub fn set_settings(&mut self, settings: HaLogSettings) {
        self.settings = settings;
    }

    /// `haLogStatus`.
    pub fn enabled(&self) -> bool {
        self.settings.enabled
    }

    /// `hagroup halog -enable` / `-disable`.
    pub fn set_enabled(&mut self, enabled: bool) {
        self.settings.enabled = enabled;
    }

    /// `haLogPath`, the log directory, if set.
    pub fn path(&self) -> Option<&str> {
        self.settings.path.as_deref()
    }

    /// `hagroup halog -path <dir>` (`None` unsets it). Whether the directory exists is checked
    /// when a record is written.
    pub fn set_path(&mut self, path: Option<String>) {
        self.settings.path = path;
    }

    /// `logLen` in bytes.
    pub fn max_len(&self) -> u64 {
        self.settings.max_len
    }

    /// `hagroup halog -maxlength <bytes>`. With 0 every record ends up alone in a rotated file.
    pub fn set_max_len(&mut self, max_len: u64) {
        self.settings.max_len = max_len;
    }

    /// The path of the live log file, `<dir>/haErrorLog.txt`, when a non-empty directory is set
    /// (whether or not logging is enabled). A trailing `/` on the directory is not doubled.
    pub fn file_path(&self) -> Option<String> {
        let dir = self.settings.path.as_deref().filter(|d| !d.is_empty())?;
        Some(join(dir, LOG_FILE_NAME))
    }

    /// Writes one record: `<prefix> <message>\n` appended to `<dir>/haErrorLog.txt` (B63, D15).
    /// Nothing happens while logging is disabled or no path is set (D1). After the append, a file
    /// of at least `max_len` bytes is renamed to `haErrorLog.txt.<YYYYMMDDHHMMSS>` stamped with
    /// `at`, or `.1`, `.2`, ... after that name when it is taken, so nothing is overwritten; the
    /// next record starts a fresh file (B64, D15). A missing directory is a [`SinkError`].
    pub fn write(
        &mut self,
        sink: &mut dyn LogSink,
        at: &CivilTime,
        pid: u32,
        group_serial: &str,
        message: &HaLogMessage,
    ) -> Result<WriteOutcome, SinkError> {
        if !self.settings.enabled {
            return Ok(WriteOutcome::default());
        }
        let (Some(dir), Some(file)) = (self.settings.path.as_deref(), self.file_path()) else {
            return Ok(WriteOutcome::default());
        };
        if !sink.dir_exists(dir) {
            return Err(SinkError {
                path: dir.to_string(),
                reason: "HA log directory does not exist".to_string(),
            });
        }
        let line = format!(
            "{} {}\n",
            line_prefix(at, pid, group_serial),
            message.render()
        );
        sink.append(&file, &line)?;
        let rotated_to = if sink.file_len(&file) >= self.settings.max_len {
            let target = rotation_target(sink, &file, at)?;
            sink.rename(&file, &target)?;
            Some(target)
        } else {
            None
        };
        Ok(WriteOutcome {
            line: Some(line),
            rotated_to,
        })
    }
}

/// `dir` + `/` + `name`, without doubling a trailing `/` on `dir`.
fn join(dir: &str, name: &str) -> String {
    if dir.ends_with('/') {
        format!("{dir}{name}")
    } else {
        format!("{dir}/{name}")
    }
}

/// The first free rotated name: `<file>.<stamp>`, then `<file>.<stamp>.1`, `.2`, ...
fn rotation_target(sink: &dyn LogSink, file: &str, at: &CivilTime) -> Result<String, SinkError> {
    let base = format!("{file}.{}", rotation_stamp(at));
    if !sink.file_exists(&base) {
        return Ok(base);
    }
    for n in 1..=u32::MAX {
        let candidate = format!("{base}.{n}");
        if !sink.file_exists(&candidate) {
            return Ok(candidate);
        }
    }
    Err(SinkError {
        path: base,
        reason: "no free name for the rotated HA log".to_string(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failing unwrap is a failing test
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;
    use crate::ckr::Ckr;

    /// A minimal in-memory sink: files by path, plus a set of directories.
    #[derive(Default)]
    struct MapSink {
        dirs: BTreeSet<String>,
        files: BTreeMap<String, String>,
    }

    impl MapSink {
        fn with_dir(dir: &str) -> Self {
            let mut sink = MapSink::default();
            sink.dirs.insert(dir.to_string());
            sink
        }
    }

    impl LogSink for MapSink {
        fn dir_exists(&self, dir: &str) -> bool {
            self.dirs.contains(dir.trim_end_matches('/')) || self.dirs.contains(dir)
        }
        fn file_exists(&self, path: &str) -> bool {
            self.files.contains_key(path)
        }
        fn file_len(&self, path: &str) -> u64 {
            self.files.get(path).map_or(0, |f| f.len() as u64)
        }
        fn append(&mut self, path: &str, text: &str) -> Result<(), SinkError> {
            self.files
                .entry(path.to_string())
                .or_default()
                .push_str(text);
            Ok(())
        }
        fn rename(&mut self, from: &str, to: &str) -> Result<(), SinkError> {
            let err = |reason: &str| SinkError {
                path: to.to_string(),
                reason: reason.to_string(),
            };
            if self.files.contains_key(to) {
                return Err(err("exists"));
            }
            let text = self.files.remove(from).ok_or_else(|| err("no source"))?;
            self.files.insert(to.to_string(), text);
            Ok(())
        }
    }

    fn t() -> CivilTime {
        CivilTime {
            year: 2017,
            month: 10,
            day: 4,
            hour: 16,
            minute: 29,
            second: 21,
            weekday: 3,
        }
    }

    const PID: u32 = 17469;
    const GROUP: &str = "11234840370164";
    const PREFIX: &str = "Wed Oct  4 16:29:21 2017 : [17469] HA group: 11234840370164";

    fn drop_member(serial: &str) -> HaLogMessage {
        HaLogMessage::DropMember {
            serial: serial.to_string(),
        }
    }

    fn writer(path: &str, max_len: u64) -> HaLogWriter {
        HaLogWriter::new(HaLogSettings {
            enabled: true,
            path: Some(path.to_string()),
            max_len,
        })
    }

    #[test]
    fn defaults_follow_d1() {
        let settings = HaLogSettings::default();
        assert!(settings.enabled);
        assert_eq!(settings.path, None);
        assert_eq!(settings.max_len, 262_144);
        assert_eq!(HaLogWriter::default().file_path(), None);
    }

    #[test]
    fn nothing_is_written_without_a_path() {
        let mut sink = MapSink::with_dir("/tmp");
        let mut w = HaLogWriter::default();
        let out = w
            .write(&mut sink, &t(), PID, GROUP, &HaLogMessage::MgmtThreadStart)
            .unwrap();
        assert_eq!(out, WriteOutcome::default());
        assert!(!out.written());
        assert!(sink.files.is_empty());

        w.set_path(Some(String::new()));
        assert_eq!(w.file_path(), None);
        let out = w
            .write(&mut sink, &t(), PID, GROUP, &HaLogMessage::MgmtThreadStart)
            .unwrap();
        assert!(!out.written());
        assert!(sink.files.is_empty());
    }

    #[test]
    fn disabled_writes_nothing() {
        let mut sink = MapSink::with_dir("/tmp");
        let mut w = writer("/tmp", DEFAULT_MAX_LEN);
        w.set_enabled(false);
        assert!(!w.enabled());
        let out = w
            .write(&mut sink, &t(), PID, GROUP, &drop_member("1"))
            .unwrap();
        assert!(!out.written());
        assert!(sink.files.is_empty());
    }

    #[test]
    fn line_is_exact() {
        let mut sink = MapSink::with_dir("/tmp");
        let mut w = writer("/tmp", DEFAULT_MAX_LEN);
        let message = HaLogMessage::RecoveryFailed {
            attempt: 2,
            serial: "1234924189183".to_string(),
            code: Ckr::CKR_DEVICE_ERROR,
        };
        let out = w.write(&mut sink, &t(), PID, GROUP, &message).unwrap();
        let expected = "Wed Oct  4 16:29:21 2017 : [17469] HA group: 11234840370164 recovery attempt 2 failed for member: 1234924189183. Code: 0x30 : CKR_DEVICE_ERROR.\n";
        assert_eq!(out.line.as_deref(), Some(expected));
        assert_eq!(out.rotated_to, None);
        assert_eq!(
            sink.files.get("/tmp/haErrorLog.txt").map(String::as_str),
            Some(expected)
        );

        let out = w
            .write(&mut sink, &t(), PID, GROUP, &HaLogMessage::MembersOffline)
            .unwrap();
        assert_eq!(
            out.line.as_deref(),
            Some(format!("{PREFIX} all members gone offline.\n").as_str())
        );
        assert_eq!(
            sink.files.get("/tmp/haErrorLog.txt").map(String::as_str),
            Some(format!("{expected}{PREFIX} all members gone offline.\n").as_str())
        );
    }

    #[test]
    fn trailing_slash_is_not_doubled() {
        let mut sink = MapSink::with_dir("/ha-logs");
        let mut w = writer("/ha-logs/", DEFAULT_MAX_LEN);
        assert_eq!(w.file_path().as_deref(), Some("/ha-logs/haErrorLog.txt"));
        w.write(&mut sink, &t(), PID, GROUP, &HaLogMessage::MgmtThreadStart)
            .unwrap();
        assert!(sink.files.contains_key("/ha-logs/haErrorLog.txt"));
        assert_eq!(
            writer("/ha-logs", 1).file_path().as_deref(),
            Some("/ha-logs/haErrorLog.txt")
        );
    }

    #[test]
    fn missing_directory_is_an_error() {
        let mut sink = MapSink::with_dir("/tmp");
        let mut w = writer("/nope", DEFAULT_MAX_LEN);
        let err = w
            .write(&mut sink, &t(), PID, GROUP, &HaLogMessage::MgmtThreadStart)
            .unwrap_err();
        assert_eq!(err.path, "/nope");
        assert!(sink.files.is_empty());
    }

    #[test]
    fn rotation_keeps_every_record_whole_and_never_overwrites() {
        let mut sink = MapSink::with_dir("/tmp");
        // One record is 59 prefix bytes + " has dropped member: N\n" = 82 bytes: two fit under 150,
        // the third overshoots and rotates.
        let mut w = writer("/tmp", 150);
        let mut rotations = Vec::new();
        let mut lines = Vec::new();
        for i in 0..7 {
            let out = w
                .write(&mut sink, &t(), PID, GROUP, &drop_member(&i.to_string()))
                .unwrap();
            lines.push(out.line.clone().unwrap());
            if let Some(to) = out.rotated_to {
                rotations.push((i, to));
            }
        }
        assert_eq!(
            rotations,
            [
                (1, "/tmp/haErrorLog.txt.20171004162921".to_string()),
                (3, "/tmp/haErrorLog.txt.20171004162921.1".to_string()),
                (5, "/tmp/haErrorLog.txt.20171004162921.2".to_string()),
            ]
        );
        let file = |p: &str| sink.files.get(p).cloned().unwrap();
        assert_eq!(
            file("/tmp/haErrorLog.txt.20171004162921"),
            format!("{}{}", lines[0], lines[1])
        );
        assert_eq!(
            file("/tmp/haErrorLog.txt.20171004162921.1"),
            format!("{}{}", lines[2], lines[3])
        );
        assert_eq!(
            file("/tmp/haErrorLog.txt.20171004162921.2"),
            format!("{}{}", lines[4], lines[5])
        );
        assert_eq!(file("/tmp/haErrorLog.txt"), lines[6]);
        // Every file holds whole lines only.
        for text in sink.files.values() {
            assert!(text.ends_with('\n'));
            assert!(text.lines().all(|l| l.starts_with(PREFIX)));
        }
    }

    #[test]
    fn rotation_at_tiny_max_len_puts_each_record_in_its_own_file() {
        let mut sink = MapSink::with_dir("/tmp");
        let mut w = writer("/tmp", 1);
        let a = w
            .write(&mut sink, &t(), PID, GROUP, &drop_member("A"))
            .unwrap();
        let b = w
            .write(&mut sink, &t(), PID, GROUP, &drop_member("B"))
            .unwrap();
        assert!(a.rotated() && b.rotated());
        assert_eq!(
            a.rotated_to.as_deref(),
            Some("/tmp/haErrorLog.txt.20171004162921")
        );
        assert_eq!(
            b.rotated_to.as_deref(),
            Some("/tmp/haErrorLog.txt.20171004162921.1")
        );
        assert_eq!(
            sink.files.get("/tmp/haErrorLog.txt.20171004162921"),
            a.line.as_ref()
        );
        assert_eq!(
            sink.files.get("/tmp/haErrorLog.txt.20171004162921.1"),
            b.line.as_ref()
        );
        assert!(!sink.files.contains_key("/tmp/haErrorLog.txt"));

        // A new second gets a fresh stamp without a suffix.
        let mut later = t();
        later.second = 22;
        let c = w
            .write(&mut sink, &later, PID, GROUP, &drop_member("C"))
            .unwrap();
        assert_eq!(
            c.rotated_to.as_deref(),
            Some("/tmp/haErrorLog.txt.20171004162922")
        );
    }

    #[test]
    fn setters_round_trip() {
        let mut w = HaLogWriter::default();
        w.set_path(Some("/ha-logs".to_string()));
        w.set_max_len(100_000_000);
        w.set_enabled(false);
        assert_eq!(w.path(), Some("/ha-logs"));
        assert_eq!(w.max_len(), 100_000_000);
        assert_eq!(
            w.settings(),
            &HaLogSettings {
                enabled: false,
                path: Some("/ha-logs".to_string()),
                max_len: 100_000_000
            }
        );
        w.set_settings(HaLogSettings::default());
        assert_eq!(w, HaLogWriter::default());
    }
}
