//! The transcript: the single ordered record of a run that snapshots, verdicts and later tools
//! read. Each entry is stamped with virtual time; HA log lines appear byte for byte.

use std::fmt::Write as _;

use ha_engine::ports::Millis;

/// One transcript entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Entry {
    /// A section heading.
    Section(String),
    /// A LunaCM command line and its output.
    Command {
        /// The line as typed.
        line: String,
        /// Its output, footer included.
        output: String,
    },
    /// An application call (or a run of identical ones) and its results.
    App(String),
    /// A fault applied or armed.
    Fault(String),
    /// An HA log line exactly as written to the file.
    Log(String),
    /// A file event (rotation).
    File(String),
    /// A checkpoint or other observation (already formatted lines).
    Note(Vec<String>),
    /// Plain text lines written as they are, without time stamp or indentation (a file's
    /// contents, e.g. the final Chrystoki.conf).
    Text(Vec<String>),
}

/// Entries with their virtual time.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Transcript {
    header: Vec<String>,
    entries: Vec<(Millis, Entry)>,
}

/// Renders milliseconds as seconds with three decimals.
pub fn seconds(ms: Millis) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

const PAD: &str = "             ";

impl Transcript {
    /// Adds a header line (scenario name, seed...).
    pub fn header(&mut self, line: impl Into<String>) {
        self.header.push(line.into());
    }

    /// Adds an entry at `at`.
    pub fn push(&mut self, at: Millis, entry: Entry) {
        self.entries.push((at, entry));
    }

    /// The entries.
    pub fn entries(&self) -> &[(Millis, Entry)] {
        &self.entries
    }

    /// Plain text, as snapshotted.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for line in &self.header {
            let _ = writeln!(out, "{line}");
        }
        for (at, entry) in &self.entries {
            let stamp = format!("[{:>10}]", seconds(*at));
            match entry {
                Entry::Section(title) => {
                    let _ = writeln!(out, "\n== {title}");
                }
                Entry::Command { line, output } => {
                    let _ = writeln!(out, "{stamp} > {line}");
                    for l in output.lines() {
                        if l.is_empty() {
                            let _ = writeln!(out);
                        } else {
                            let _ = writeln!(out, "{PAD}{l}");
                        }
                    }
                }
                Entry::App(text) => {
                    let _ = writeln!(out, "{stamp} app   {text}");
                }
                Entry::Fault(text) => {
                    let _ = writeln!(out, "{stamp} fault {text}");
                }
                Entry::Log(line) => {
                    let _ = writeln!(out, "{stamp} log   {line}");
                }
                Entry::File(text) => {
                    let _ = writeln!(out, "{stamp} file  {text}");
                }
                Entry::Text(lines) => {
                    for l in lines {
                        let _ = writeln!(out, "{l}");
                    }
                }
                Entry::Note(lines) => {
                    for (i, l) in lines.iter().enumerate() {
                        if i == 0 {
                            let _ = writeln!(out, "{stamp} {l}");
                        } else {
                            let _ = writeln!(out, "{PAD}{l}");
                        }
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_lines_stand_byte_for_byte() {
        let mut t = Transcript::default();
        let line = "Wed Oct  4 16:29:31 2017 : [17469] HA group: 11 has dropped member: 2";
        t.push(10_000, Entry::Log(line.into()));
        assert_eq!(t.render(), format!("[    10.000] log   {line}\n"));
        assert_eq!(seconds(1_234_567), "1234.567");
    }
}
