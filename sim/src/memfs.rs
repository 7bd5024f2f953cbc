//! The in-memory file system the HA log is written to in simulation (the `LogSink` port).
//!
//! Owns the files (path -> text), the set of existing directories, and a journal of every append
//! and rename in the order they happened, so a transcript can show rotation exactly. Paths are
//! plain `/`-separated strings; a trailing `/` on a directory is ignored. Only what the HA log
//! needs exists: directories are made by [`MemFs::add_dir`] (never implicitly), a file is made by
//! its first append, and a rename never overwrites.
//!
//! [`SharedMemFs`] is the handle given to the engine (which owns its sink) while the harness keeps
//! a clone to read the files back. Its mutex is only there because the port is `Send`; nothing here
//! runs on another thread.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};

use ha_engine::ports::{LogSink, SinkError};

/// The directories a fresh [`MemFs`] has: the root, `/tmp` (the legacy default log location,
/// B65), `/ha-logs` (the scenarios' usual `halog -path`) and `/usr/safenet/lunaclient/log` (the
/// Luna client's log directory on Linux).
pub const DEFAULT_DIRS: &[&str] = &["/", "/tmp", "/ha-logs", "/usr/safenet/lunaclient/log"];

/// One change to a [`MemFs`], in the order it happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FsEvent {
    /// `text` was appended to `path` (creating it if needed).
    Append {
        /// The file appended to.
        path: String,
        /// The text appended.
        text: String,
    },
    /// `from` was renamed to `to`.
    Rename {
        /// The old path.
        from: String,
        /// The new path.
        to: String,
    },
}

/// An in-memory file system: files, directories and a journal of changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemFs {
    files: BTreeMap<String, String>,
    dirs: BTreeSet<String>,
    journal: Vec<FsEvent>,
}

/// `path` without trailing slashes (the root stays `/`).
fn normalize(path: &str) -> &str {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() && path.starts_with('/') {
        "/"
    } else {
        trimmed
    }
}

/// The directory holding `path` (`/` for a top-level file), or `None` for a path without `/`.
fn parent(path: &str) -> Option<&str> {
    let cut = path.rfind('/')?;
    Some(if cut == 0 { "/" } else { &path[..cut] })
}

fn sink_error(path: &str, reason: &str) -> SinkError {
    SinkError {
        path: path.to_string(),
        reason: reason.to_string(),
    }
}

impl MemFs {
    /// A file system with the [`DEFAULT_DIRS`] and no files.
    pub fn new() -> Self {
        MemFs {
            files: BTreeMap::new(),
            dirs: DEFAULT_DIRS.iter().map(|d| (*d).to_string()).collect(),
            journal: Vec::new(),
        }
    }

    /// Creates directory `dir` and every missing ancestor (`mkdir -p`); a trailing `/` is
    /// ignored and an empty path does nothing. Paths are meant to be absolute (there is no
    /// working directory).
    pub fn add_dir(&mut self, dir: &str) {
        let mut current = normalize(dir);
        if current.is_empty() {
            return;
        }
        loop {
            self.dirs.insert(current.to_string());
            match parent(current) {
                Some(up) if up != current => current = up,
                _ => break,
            }
        }
    }

    /// The existing directories, sorted.
    pub fn dirs(&self) -> &BTreeSet<String> {
        &self.dirs
    }

    /// Every file (path -> contents), sorted by path.
    pub fn files(&self) -> &BTreeMap<String, String> {
        &self.files
    }

    /// The contents of `path`, if it is a file.
    pub fn read(&self, path: &str) -> Option<&str> {
        self.files.get(path).map(String::as_str)
    }

    /// The changes since the last call, oldest first; the journal is emptied.
    pub fn take_journal(&mut self) -> Vec<FsEvent> {
        std::mem::take(&mut self.journal)
    }

    /// The changes since the last [`MemFs::take_journal`], without emptying the journal.
    pub fn journal(&self) -> &[FsEvent] {
        &self.journal
    }

    /// True when `path` names a directory, so no file may be created there.
    fn is_dir(&self, path: &str) -> bool {
        self.dirs.contains(normalize(path))
    }

    /// Checks that a file may live at `path`: its directory exists and it is not a directory.
    fn check_file_path(&self, path: &str) -> Result<(), SinkError> {
        if path.is_empty() || path.ends_with('/') || self.is_dir(path) {
            return Err(sink_error(path, "is a directory"));
        }
        match parent(path) {
            Some(dir) if self.dirs.contains(dir) => Ok(()),
            _ => Err(sink_error(path, "directory does not exist")),
        }
    }
}

impl Default for MemFs {
    fn default() -> Self {
        MemFs::new()
    }
}

impl LogSink for MemFs {
    fn dir_exists(&self, dir: &str) -> bool {
        self.is_dir(dir)
    }

    fn file_exists(&self, path: &str) -> bool {
        self.files.contains_key(path)
    }

    fn file_len(&self, path: &str) -> u64 {
        self.files
            .get(path)
            .map_or(0, |text| u64::try_from(text.len()).unwrap_or(u64::MAX))
    }

    /// Appends `text` to `path`, creating the file; its directory must exist.
    fn append(&mut self, path: &str, text: &str) -> Result<(), SinkError> {
        self.check_file_path(path)?;
        self.files
            .entry(path.to_string())
            .or_default()
            .push_str(text);
        self.journal.push(FsEvent::Append {
            path: path.to_string(),
            text: text.to_string(),
        });
        Ok(())
    }

    /// Renames file `from` to `to`; `from` must be a file, `to` must not exist and its directory
    /// must.
    fn rename(&mut self, from: &str, to: &str) -> Result<(), SinkError> {
        if !self.files.contains_key(from) {
            return Err(sink_error(from, "no such file"));
        }
        if self.files.contains_key(to) {
            return Err(sink_error(to, "file exists"));
        }
        self.check_file_path(to)?;
        let text = self
            .files
            .remove(from)
            .ok_or_else(|| sink_error(from, "no such file"))?;
        self.files.insert(to.to_string(), text);
        self.journal.push(FsEvent::Rename {
            from: from.to_string(),
            to: to.to_string(),
        });
        Ok(())
    }
}

/// A [`MemFs`] shared between the engine (as its [`LogSink`]) and the harness. Clones share the
/// same file system.
#[derive(Clone, Debug, Default)]
pub struct SharedMemFs(Arc<Mutex<MemFs>>);

/// The path [`SharedMemFs`] names in a lock error.
const LOCK_PATH: &str = "<memfs>";

impl SharedMemFs {
    /// A shared handle on a fresh [`MemFs::new`].
    pub fn new() -> Self {
        SharedMemFs::from_fs(MemFs::new())
    }

    /// A shared handle on `fs`.
    pub fn from_fs(fs: MemFs) -> Self {
        SharedMemFs(Arc::new(Mutex::new(fs)))
    }

    /// Locks the file system; a poisoned lock is a [`SinkError`], never a panic.
    pub fn lock(&self) -> Result<MutexGuard<'_, MemFs>, SinkError> {
        self.0
            .lock()
            .map_err(|_| sink_error(LOCK_PATH, "memfs lock poisoned"))
    }

    /// Runs `f` on the locked file system.
    pub fn with<R>(&self, f: impl FnOnce(&mut MemFs) -> R) -> Result<R, SinkError> {
        let mut fs = self.lock()?;
        Ok(f(&mut fs))
    }
}

impl LogSink for SharedMemFs {
    /// False when the lock is poisoned.
    fn dir_exists(&self, dir: &str) -> bool {
        self.lock().is_ok_and(|fs| fs.dir_exists(dir))
    }

    /// False when the lock is poisoned.
    fn file_exists(&self, path: &str) -> bool {
        self.lock().is_ok_and(|fs| fs.file_exists(path))
    }

    /// 0 when the lock is poisoned.
    fn file_len(&self, path: &str) -> u64 {
        self.lock().map_or(0, |fs| fs.file_len(path))
    }

    fn append(&mut self, path: &str, text: &str) -> Result<(), SinkError> {
        self.lock()?.append(path, text)
    }

    fn rename(&mut self, from: &str, to: &str) -> Result<(), SinkError> {
        self.lock()?.rename(from, to)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failing unwrap is a failing test
mod tests {
    use super::*;

    #[test]
    fn new_has_the_default_dirs_and_no_files() {
        let fs = MemFs::new();
        for dir in DEFAULT_DIRS {
            assert!(fs.dir_exists(dir), "{dir}");
        }
        assert!(fs.dir_exists("/ha-logs/"));
        assert!(!fs.dir_exists("/usr/safenet"));
        assert!(fs.files().is_empty());
        assert_eq!(fs.dirs().len(), DEFAULT_DIRS.len());
    }

    #[test]
    fn add_dir_creates_ancestors() {
        let mut fs = MemFs::new();
        fs.add_dir("/var/log/ha/");
        assert!(fs.dir_exists("/var"));
        assert!(fs.dir_exists("/var/log"));
        assert!(fs.dir_exists("/var/log/ha"));
        assert!(fs.append("/var/log/ha/haErrorLog.txt", "x\n").is_ok());
    }

    #[test]
    fn append_creates_and_extends_files() {
        let mut fs = MemFs::new();
        fs.append("/tmp/a.txt", "one\n").unwrap();
        fs.append("/tmp/a.txt", "two\n").unwrap();
        fs.append("/top.txt", "root\n").unwrap();
        assert_eq!(fs.read("/tmp/a.txt"), Some("one\ntwo\n"));
        assert_eq!(fs.file_len("/tmp/a.txt"), 8);
        assert_eq!(fs.file_len("/tmp/none"), 0);
        assert!(fs.file_exists("/tmp/a.txt"));
        assert!(!fs.file_exists("/tmp"));
        let paths: Vec<&str> = fs.files().keys().map(String::as_str).collect();
        assert_eq!(paths, ["/tmp/a.txt", "/top.txt"]);
    }

    #[test]
    fn file_len_counts_bytes() {
        let mut fs = MemFs::new();
        fs.append("/tmp/u", "é\n").unwrap();
        assert_eq!(fs.file_len("/tmp/u"), 3);
    }

    #[test]
    fn append_without_directory_fails() {
        let mut fs = MemFs::new();
        let err = fs.append("/nope/haErrorLog.txt", "x").unwrap_err();
        assert_eq!(err.path, "/nope/haErrorLog.txt");
        assert!(fs.append("relative.txt", "x").is_err());
        assert!(fs.append("/tmp", "x").is_err());
        assert!(fs.append("/tmp/", "x").is_err());
        assert!(fs.files().is_empty());
        assert!(fs.journal().is_empty());
    }

    #[test]
    fn rename_moves_and_never_overwrites() {
        let mut fs = MemFs::new();
        fs.append("/tmp/a", "A").unwrap();
        fs.append("/tmp/b", "B").unwrap();
        let err = fs.rename("/tmp/a", "/tmp/b").unwrap_err();
        assert_eq!(err.path, "/tmp/b");
        assert_eq!(fs.read("/tmp/a"), Some("A"));
        assert_eq!(fs.read("/tmp/b"), Some("B"));

        assert!(fs.rename("/tmp/missing", "/tmp/c").is_err());
        assert!(fs.rename("/tmp/a", "/nope/c").is_err());
        assert!(fs.rename("/tmp/a", "/ha-logs").is_err());

        fs.rename("/tmp/a", "/tmp/c").unwrap();
        assert_eq!(fs.read("/tmp/a"), None);
        assert_eq!(fs.read("/tmp/c"), Some("A"));
    }

    #[test]
    fn journal_records_changes_in_order() {
        let mut fs = MemFs::new();
        fs.append("/tmp/log", "1\n").unwrap();
        fs.rename("/tmp/log", "/tmp/log.1").unwrap();
        let _ = fs.rename("/tmp/log.1", "/tmp/log.1"); // fails: not journalled
        fs.append("/tmp/log", "2\n").unwrap();
        assert_eq!(
            fs.take_journal(),
            [
                FsEvent::Append {
                    path: "/tmp/log".to_string(),
                    text: "1\n".to_string()
                },
                FsEvent::Rename {
                    from: "/tmp/log".to_string(),
                    to: "/tmp/log.1".to_string()
                },
                FsEvent::Append {
                    path: "/tmp/log".to_string(),
                    text: "2\n".to_string()
                },
            ]
        );
        assert!(fs.take_journal().is_empty());
    }

    #[test]
    fn shared_clones_see_the_same_files() {
        let shared = SharedMemFs::new();
        let mut engine_side = shared.clone();
        engine_side
            .append("/ha-logs/haErrorLog.txt", "line\n")
            .unwrap();
        assert!(engine_side.dir_exists("/ha-logs"));
        assert!(engine_side.file_exists("/ha-logs/haErrorLog.txt"));
        assert_eq!(engine_side.file_len("/ha-logs/haErrorLog.txt"), 5);
        engine_side
            .rename("/ha-logs/haErrorLog.txt", "/ha-logs/old")
            .unwrap();
        let fs = shared.lock().unwrap();
        assert_eq!(fs.read("/ha-logs/old"), Some("line\n"));
        assert_eq!(fs.journal().len(), 2);
        drop(fs);
        let journal = shared.with(MemFs::take_journal).unwrap();
        assert_eq!(journal.len(), 2);
    }

    #[test]
    fn poisoned_lock_is_a_sink_error() {
        let shared = SharedMemFs::new();
        let inner = shared.clone();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
            let _guard = inner.lock().unwrap();
            panic!("poison the lock");
        }));
        assert!(result.is_err());
        let mut sink = shared.clone();
        assert_eq!(sink.lock().unwrap_err().path, LOCK_PATH);
        assert!(sink.append("/tmp/x", "x").is_err());
        assert!(sink.rename("/tmp/x", "/tmp/y").is_err());
        assert!(!sink.dir_exists("/tmp"));
        assert!(!sink.file_exists("/tmp/x"));
        assert_eq!(sink.file_len("/tmp/x"), 0);
        assert!(shared.with(|_| ()).is_err());
    }

    #[test]
    fn drives_the_ha_log_writer_through_rotation() {
        use ha_engine::log::{HaLogMessage, HaLogSettings, HaLogWriter};
        use ha_engine::ports::CivilTime;

        let shared = SharedMemFs::new();
        let mut sink = shared.clone();
        let mut writer = HaLogWriter::new(HaLogSettings {
            enabled: true,
            path: Some("/ha-logs".to_string()),
            max_len: 1,
        });
        let at = CivilTime {
            year: 2017,
            month: 10,
            day: 4,
            hour: 16,
            minute: 29,
            second: 21,
            weekday: 3,
        };
        for _ in 0..2 {
            writer
                .write(
                    &mut sink,
                    &at,
                    17469,
                    "11234840370164",
                    &HaLogMessage::MgmtThreadStart,
                )
                .unwrap();
        }
        let fs = shared.lock().unwrap();
        let paths: Vec<&str> = fs.files().keys().map(String::as_str).collect();
        assert_eq!(
            paths,
            [
                "/ha-logs/haErrorLog.txt.20171004162921",
                "/ha-logs/haErrorLog.txt.20171004162921.1"
            ]
        );
        assert_eq!(
            fs.read("/ha-logs/haErrorLog.txt.20171004162921"),
            Some(
                "Wed Oct  4 16:29:21 2017 : [17469] HA group: 11234840370164 management thread started\n"
            )
        );
    }
}
