//! The journal of objects validate created on the operator's members: one line per object,
//! `<member serial> <CKA_ID in hex>`, appended and flushed to disk *before* the object is
//! created (after, for a clone, whose id is only known once imported), in validate's own
//! state directory. A run removes every object its journal lists, member by member, and then
//! empties it; a run that was interrupted leaves it behind, and the next run removes those
//! objects first (D28).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::ValidateError;

/// The journal's file name in the state directory.
pub const FILE_NAME: &str = "created-objects.journal";

/// One created object.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Entry {
    /// The member's serial.
    pub serial: String,
    /// Its `CKA_ID` (`CKA_APPLICATION` for a data object).
    pub id: Vec<u8>,
}

/// The journal file.
#[derive(Clone, Debug)]
pub struct Journal {
    path: PathBuf,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

impl Journal {
    /// The journal in `state_dir`.
    pub fn in_dir(state_dir: &Path) -> Journal {
        Journal {
            path: state_dir.join(FILE_NAME),
        }
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn io(&self, e: std::io::Error) -> ValidateError {
        ValidateError::Io(self.path.clone(), e)
    }

    /// Every entry, in file order, duplicates removed; none when the file does not exist.
    /// A line that cannot be read is an error (the objects it names would otherwise stay).
    pub fn entries(&self) -> Result<Vec<Entry>, ValidateError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(self.io(e)),
        };
        let mut out: Vec<Entry> = Vec::new();
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let entry = line
                .rsplit_once(' ')
                .and_then(|(serial, id)| {
                    Some(Entry {
                        serial: serial.to_string(),
                        id: unhex(id)?,
                    })
                })
                .ok_or_else(|| {
                    ValidateError::Journal(format!(
                        "{}:{}: not `<serial> <hex id>`",
                        self.path.display(),
                        n + 1
                    ))
                })?;
            if !out.contains(&entry) {
                out.push(entry);
            }
        }
        Ok(out)
    }

    /// Appends one entry and flushes it to disk.
    pub fn append(&self, serial: &str, id: &[u8]) -> Result<(), ValidateError> {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| self.io(e))?;
        writeln!(f, "{serial} {}", hex(id)).map_err(|e| self.io(e))?;
        f.sync_data().map_err(|e| self.io(e))
    }

    /// Replaces the journal with `entries` (removes the file when there are none).
    pub fn rewrite(&self, entries: &[Entry]) -> Result<(), ValidateError> {
        if entries.is_empty() {
            return match std::fs::remove_file(&self.path) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(self.io(e)),
            };
        }
        let text: String = entries
            .iter()
            .map(|e| format!("{} {}\n", e.serial, hex(&e.id)))
            .collect();
        std::fs::write(&self.path, text).map_err(|e| self.io(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_and_duplicates_collapse() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::in_dir(dir.path());
        assert!(j.entries().unwrap().is_empty());
        j.append("8a3f0c2e1d4b5a69", b"hasim-00000001").unwrap();
        j.append("8a3f0c2e1d4b5a69", b"hasim-00000001").unwrap();
        j.append("b2", b"hasim-setup:domain-wrap").unwrap();
        let e = j.entries().unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(e[1].id, b"hasim-setup:domain-wrap");
        j.rewrite(&e[..1]).unwrap();
        assert_eq!(j.entries().unwrap(), e[..1]);
        j.rewrite(&[]).unwrap();
        assert!(!j.path().exists());
        std::fs::write(j.path(), "garbage\n").unwrap();
        assert!(j.entries().is_err());
    }
}
