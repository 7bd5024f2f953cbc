//! A directory of HA log files as `hasim import` reads it: `haErrorLog.txt` and its rotated
//! files `haErrorLog.txt.<YYYYMMDDHHMMSS>[.N]` (B64, D15), rotated ones oldest first (by stamp,
//! then `N`, the file without `N` first), the current file last. Every line is kept with its
//! file and line number and read with [`crate::halog::parse_line`]; a line that does not read
//! stays in the list with its error, so the report can name it.

use std::path::Path;

use crate::halog::{self, LineError, LogLine};

/// The current log file's name.
pub const CURRENT: &str = "haErrorLog.txt";

/// Where a line came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    /// The file's name (not its path).
    pub file: String,
    /// The line number in the file, from 1.
    pub line: usize,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// One line of the real log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RealLine {
    /// Where it is.
    pub source: Source,
    /// Its text, without the line terminator.
    pub text: String,
    /// What it says, or why it cannot be read.
    pub read: Result<LogLine, LineError>,
}

/// The log files found, in reading order, and the files left out.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogDir {
    /// `(file name, line count)` in reading order.
    pub files: Vec<(String, usize)>,
    /// Every line of every file, in reading order.
    pub lines: Vec<RealLine>,
    /// Files in the directory that are not HA log files (reported, never read).
    pub other_files: Vec<String>,
}

/// Why the directory cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum DirError {
    /// The directory or a file cannot be read.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// What went wrong.
        source: std::io::Error,
    },
    /// No `haErrorLog.txt` or rotated file is there.
    #[error("{0}: no haErrorLog.txt and no rotated haErrorLog.txt.<YYYYMMDDHHMMSS> file")]
    NoLog(String),
}

/// The order key of a log file name: rotated files by `(stamp, N)` (no `N` first), then the
/// current file; `None` for any other name.
pub fn order_key(name: &str) -> Option<(u8, String, u64)> {
    if name == CURRENT {
        return Some((1, String::new(), 0));
    }
    let rest = name.strip_prefix(CURRENT)?.strip_prefix('.')?;
    let (stamp, n) = match rest.split_once('.') {
        Some((stamp, n)) => {
            if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            (stamp, n.parse::<u64>().ok()?)
        }
        None => (rest, 0),
    };
    if stamp.len() != 14 || !stamp.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((0, stamp.to_string(), n))
}

/// Reads named file texts (already in memory) in log order.
pub fn from_texts(mut texts: Vec<(String, String)>) -> LogDir {
    let mut dir = LogDir::default();
    texts.retain(|(name, _)| {
        if order_key(name).is_some() {
            true
        } else {
            dir.other_files.push(name.clone());
            false
        }
    });
    dir.other_files.sort();
    texts.sort_by_key(|(name, _)| order_key(name));
    for (name, text) in texts {
        let mut count = 0;
        for (i, line) in text.lines().enumerate() {
            count += 1;
            dir.lines.push(RealLine {
                source: Source {
                    file: name.clone(),
                    line: i + 1,
                },
                text: line.to_string(),
                read: halog::parse_line(line),
            });
        }
        dir.files.push((name, count));
    }
    dir
}

/// Reads a directory of HA log files.
pub fn read(path: &Path) -> Result<LogDir, DirError> {
    let io = |p: &Path| {
        let p = p.display().to_string();
        move |source| DirError::Io { path: p, source }
    };
    let mut texts = Vec::new();
    let mut others = Vec::new();
    for entry in std::fs::read_dir(path).map_err(io(path))? {
        let entry = entry.map_err(io(path))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let file = entry.path();
        if order_key(&name).is_some() && file.is_file() {
            let bytes = std::fs::read(&file).map_err(io(&file))?;
            texts.push((name, String::from_utf8_lossy(&bytes).into_owned()));
        } else {
            others.push(name);
        }
    }
    if texts.is_empty() {
        return Err(DirError::NoLog(path.display().to_string()));
    }
    let mut dir = from_texts(texts);
    dir.other_files.extend(others);
    dir.other_files.sort();
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotated_files_come_oldest_first_then_the_current_one() {
        let names = [
            "haErrorLog.txt",
            "haErrorLog.txt.20171004163021.1",
            "haErrorLog.txt.20171004163021",
            "haErrorLog.txt.20171003000000",
            "haErrorLog.txt.20171004163021.10",
            "haErrorLog.txt.20171004163021.2",
            "notes.txt",
            "haErrorLog.txt.2017",
        ];
        let dir = from_texts(
            names
                .iter()
                .map(|n| (n.to_string(), String::new()))
                .collect(),
        );
        let order: Vec<&str> = dir.files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            order,
            [
                "haErrorLog.txt.20171003000000",
                "haErrorLog.txt.20171004163021",
                "haErrorLog.txt.20171004163021.1",
                "haErrorLog.txt.20171004163021.2",
                "haErrorLog.txt.20171004163021.10",
                "haErrorLog.txt",
            ]
        );
        assert_eq!(dir.other_files, ["haErrorLog.txt.2017", "notes.txt"]);
    }
}
