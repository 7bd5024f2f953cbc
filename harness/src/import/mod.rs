//! `hasim import --conf C --halog DIR [--pid P] [--out FILE.ron]`: replays a production
//! incident. Reads a real HA log (`haErrorLog.txt` and its rotated files, [`logdir`]) and the
//! client's `Chrystoki.conf`, plans a scenario that makes hasim's engine meet what the log
//! records ([`plan`]), writes it ([`emit`]), runs it, and diffs the log hasim predicts against
//! the real one line by line, so an operator sees where their client did what the model does
//! not, or the reverse. Lines hasim cannot read are reported with their file and line number.
//!
//! One scenario is one client process: a log holding several processes' lines (different pids
//! in the prefix) is refused with the pids and their line counts unless `--pid` picks one.

pub mod emit;
pub mod logdir;
pub mod plan;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use lunacm::chrystoki::{ConfError, Document, read_config};
use sim::clock::seconds_since_epoch;
use similar::{Algorithm, DiffTag, capture_diff_slices, group_diff_ops};

use crate::scenario::{self, LoadError};
use crate::suite::{self, SuiteError};
use logdir::{DirError, LogDir, RealLine, Source};
use plan::{Note, Timed};

/// What to import.
#[derive(Clone, Debug)]
pub struct Options {
    /// The client's `Chrystoki.conf` (or `crystoki.ini`).
    pub conf: PathBuf,
    /// The directory holding `haErrorLog.txt` and its rotated files.
    pub halog: PathBuf,
    /// The process whose lines to import, when the log holds several.
    pub pid: Option<u32>,
    /// Where to write the scenario.
    pub out: Option<PathBuf>,
}

/// Why nothing could be imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The log directory cannot be read.
    #[error(transparent)]
    Dir(#[from] DirError),
    /// The configuration file cannot be read.
    #[error("{path}: {source}")]
    Read {
        /// The path.
        path: String,
        /// What went wrong.
        source: std::io::Error,
    },
    /// The configuration file is refused.
    #[error(transparent)]
    Conf(#[from] ConfError),
    /// The log holds several processes' lines.
    #[error(
        "the log holds the lines of {} client processes ({}): one scenario is one process; choose one with --pid",
        .0.len(),
        .0.iter().map(|(pid, n)| format!("pid {pid}: {n} lines")).collect::<Vec<_>>().join(", ")
    )]
    SeveralPids(Vec<(u32, usize)>),
    /// `--pid` names a process the log does not hold.
    #[error("no line of the log is from pid {0} (it holds {1})")]
    NoSuchPid(u32, String),
    /// Neither the configuration nor the log names a member.
    #[error("the configuration has no HA group and the log names no member: nothing to simulate")]
    NoMembers,
    /// No line of the log can be read.
    #[error("no line of the log is an HA log line hasim can read")]
    NothingReadable,
    /// The scenario written does not load (a bug in the importer: the text is in the message).
    #[error("the imported scenario does not load: {0}")]
    Scenario(#[from] LoadError),
    /// The scenario cannot be run.
    #[error(transparent)]
    Run(#[from] SuiteError),
    /// The scenario cannot be written.
    #[error("{path}: {source}")]
    Write {
        /// The path.
        path: String,
        /// What went wrong.
        source: std::io::Error,
    },
}

/// A finished import.
#[derive(Clone, Debug)]
pub struct Import {
    /// The report: what was read, what could not be interpreted, the diff.
    pub report: String,
    /// The scenario file's text.
    pub scenario: String,
    /// The real log's lines of the process (and every line that could not be read), in order.
    pub real: Vec<String>,
    /// The log hasim predicts.
    pub predicted: Vec<String>,
    /// Lines that could not be read: where, the text, why.
    pub uninterpretable: Vec<(Source, String, String)>,
}

impl Import {
    /// True when the prediction reproduces the real log line for line.
    pub fn agrees(&self) -> bool {
        self.real == self.predicted
    }
}

/// Reads the files, imports, and writes the scenario when `out` is given.
pub fn run(options: &Options) -> Result<Import, ImportError> {
    let conf = std::fs::read_to_string(&options.conf).map_err(|source| ImportError::Read {
        path: options.conf.display().to_string(),
        source,
    })?;
    let dir = logdir::read(&options.halog)?;
    let conf_name = options.conf.file_name().map_or_else(
        || "Chrystoki.conf".to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let mut import = import(
        &conf,
        &conf_name,
        &options.conf.display().to_string(),
        &dir,
        &options.halog.display().to_string(),
        options.pid,
    )?;
    match &options.out {
        Some(out) => {
            std::fs::write(out, &import.scenario).map_err(|source| ImportError::Write {
                path: out.display().to_string(),
                source,
            })?;
            let _ = writeln!(import.report, "scenario written to {}", out.display());
        }
        None => {
            let _ = writeln!(
                import.report,
                "scenario not written (--out FILE.ron keeps it)"
            );
        }
    }
    Ok(import)
}

fn civil_text(t: &ha_engine::ports::CivilTime) -> String {
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        t.year, t.month, t.day, t.hour, t.minute, t.second
    )
}

/// Imports a log (already read) with a configuration's text. `conf_name` decides the format
/// (`crystoki.ini` or `Chrystoki.conf`); `conf_path` and `dir_path` are only printed.
pub fn import(
    conf_text: &str,
    conf_name: &str,
    conf_path: &str,
    dir: &LogDir,
    dir_path: &str,
    pid: Option<u32>,
) -> Result<Import, ImportError> {
    let doc = Document::parse(conf_text, conf_name).map_err(ConfError::from)?;
    let (config, log) = read_config(&doc)?;

    // Which process.
    let mut pids: BTreeMap<u32, usize> = BTreeMap::new();
    for l in &dir.lines {
        if let Ok(read) = &l.read {
            *pids.entry(read.pid).or_insert(0) += 1;
        }
    }
    let pid = match (pid, pids.len()) {
        (_, 0) => return Err(ImportError::NothingReadable),
        (Some(p), _) if pids.contains_key(&p) => p,
        (Some(p), _) => {
            let held = pids
                .keys()
                .map(|p| format!("pid {p}"))
                .collect::<Vec<_>>()
                .join(", ");
            return Err(ImportError::NoSuchPid(p, held));
        }
        (None, 1) => pids.keys().copied().next().unwrap_or_default(),
        (None, _) => return Err(ImportError::SeveralPids(pids.into_iter().collect())),
    };

    let mut report = String::new();
    let _ = writeln!(report, "hasim import: {dir_path} with {conf_path}");
    let files: Vec<String> = dir
        .files
        .iter()
        .map(|(name, n)| format!("{name} ({n} lines)"))
        .collect();
    let _ = writeln!(report, "read, in this order: {}", files.join(", "));
    if !dir.other_files.is_empty() {
        let _ = writeln!(
            report,
            "not HA log files, not read: {}",
            dir.other_files.join(", ")
        );
    }

    // The process's lines, timed from its first line.
    let mine: Vec<&RealLine> = dir
        .lines
        .iter()
        .filter(|l| l.read.as_ref().is_ok_and(|r| r.pid == pid))
        .collect();
    let first = mine
        .first()
        .and_then(|l| l.read.as_ref().ok())
        .ok_or(ImportError::NothingReadable)?;
    let start = civil_text(&first.time);
    let epoch = seconds_since_epoch(&first.time);
    let mut timed = Vec::new();
    let mut notes: Vec<Note> = Vec::new();
    let mut last = 0u64;
    for l in &mine {
        let Ok(read) = &l.read else { continue };
        let secs = seconds_since_epoch(&read.time) - epoch;
        let at = match u64::try_from(secs) {
            Ok(at) if at >= last => at,
            _ => {
                notes.push(Note {
                    source: Some(l.source.clone()),
                    text: format!(
                        "its time is earlier than the line before; read as {} s",
                        last
                    ),
                });
                last
            }
        };
        last = at;
        timed.push(Timed {
            at,
            source: &l.source,
            line: read,
        });
    }
    let others: usize = pids
        .iter()
        .filter(|(p, _)| **p != pid)
        .map(|(_, n)| n)
        .sum();
    let _ = writeln!(
        report,
        "process {pid}: {} lines from {start}, the scenario's clock start",
        mine.len()
    );
    if others > 0 {
        let _ = writeln!(
            report,
            "left out: {others} lines of other processes ({})",
            pids.iter()
                .filter(|(p, _)| **p != pid)
                .map(|(p, n)| format!("--pid {p}: {n} lines"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let uninterpretable: Vec<(Source, String, String)> = dir
        .lines
        .iter()
        .filter_map(|l| {
            l.read
                .as_ref()
                .err()
                .map(|e| (l.source.clone(), l.text.clone(), e.to_string()))
        })
        .collect();
    if !uninterpretable.is_empty() {
        let _ = writeln!(
            report,
            "cannot interpret ({} lines; kept in the diff as real lines):",
            uninterpretable.len()
        );
        for (source, _, why) in &uninterpretable {
            let _ = writeln!(report, "  {source}: {why}");
        }
    }

    let mut plan = plan::plan(&timed, &config, &log);
    if plan.partitions.is_empty() {
        return Err(ImportError::NoMembers);
    }
    notes.append(&mut plan.notes);
    if !notes.is_empty() {
        let _ = writeln!(report, "notes:");
        for n in &notes {
            match &n.source {
                Some(s) => {
                    let _ = writeln!(report, "  {s}: {}", n.text);
                }
                None => {
                    let _ = writeln!(report, "  {}", n.text);
                }
            }
        }
    }

    // The real side: the process's lines and every line that could not be read, in order.
    let real_lines: Vec<&RealLine> = dir
        .lines
        .iter()
        .filter(|l| l.read.as_ref().map_or(true, |r| r.pid == pid))
        .collect();
    let real: Vec<String> = real_lines.iter().map(|l| l.text.clone()).collect();
    let expected: Vec<&str> = mine.iter().map(|l| l.text.as_str()).collect();
    let comments = vec![
        format!("Imported by `hasim import --conf {conf_path} --halog {dir_path} --pid {pid}`."),
        "Each fault stands where the log shows its effect (README: \"Replay an incident\");"
            .to_string(),
        "the expectations are the real log, so `hasim run` on this file fails where hasim's"
            .to_string(),
        "engine and the real client disagree.".to_string(),
    ];
    let name = format!("imported from {dir_path} (pid {pid})");
    let origin = emit::Origin {
        name: &name,
        start: &start,
        pid,
        comments: &comments,
    };
    let zero: BTreeMap<String, u64> = plan.partitions.iter().map(|p| (p.clone(), 0)).collect();
    let draft = emit::scenario(&origin, &plan, &expected, &zero);
    let parsed = scenario::parse_str(&draft, "<imported scenario>")?;
    let outcome = suite::run_scenario(parsed, "<imported scenario>")?;
    if let Some(reason) = outcome.record.aborted() {
        let _ = writeln!(report, "the imported scenario stopped early: {reason}");
    }
    let counts = outcome
        .record
        .end()
        .map(|e| e.counts.clone())
        .unwrap_or(zero);
    let text = emit::scenario(&origin, &plan, &expected, &counts);
    scenario::parse_str(&text, "<imported scenario>")?;
    let predicted: Vec<String> = outcome.record.log_lines().map(str::to_string).collect();

    diff(&mut report, pid, &real_lines, &predicted);
    Ok(Import {
        report,
        scenario: text,
        real,
        predicted,
        uninterpretable,
    })
}

/// The line-by-line diff: `-` only in the real log (with its file and line), `+` only in the
/// prediction (with its line number), two lines of context.
fn diff(report: &mut String, pid: u32, real: &[&RealLine], predicted: &[String]) {
    let old: Vec<&str> = real.iter().map(|l| l.text.as_str()).collect();
    let new: Vec<&str> = predicted.iter().map(String::as_str).collect();
    let ops = capture_diff_slices(Algorithm::Myers, &old, &new);
    let (mut same, mut only_real, mut only_predicted) = (0, 0, 0);
    for op in &ops {
        let (tag, a, b) = op.as_tag_tuple();
        match tag {
            DiffTag::Equal => same += a.len(),
            DiffTag::Delete => only_real += a.len(),
            DiffTag::Insert => only_predicted += b.len(),
            DiffTag::Replace => {
                only_real += a.len();
                only_predicted += b.len();
            }
        }
    }
    if only_real == 0 && only_predicted == 0 {
        let _ = writeln!(
            report,
            "\nthe prediction reproduces the real log exactly ({same} lines)"
        );
        return;
    }
    let _ = writeln!(
        report,
        "\n--- the real log (process {pid}, {} lines)\n+++ hasim's prediction ({} lines)",
        old.len(),
        new.len()
    );
    for group in group_diff_ops(ops, 2) {
        let span = |r: Option<(usize, usize)>| match r {
            Some((a, b)) if b > a => format!("{}-{}", a + 1, b),
            Some((a, _)) => format!("none (after {a})"),
            None => "none".to_string(),
        };
        let old_span =
            group
                .iter()
                .map(|op| op.old_range())
                .fold(None, |acc: Option<(usize, usize)>, r| {
                    Some(acc.map_or((r.start, r.end), |(a, b)| (a.min(r.start), b.max(r.end))))
                });
        let new_span =
            group
                .iter()
                .map(|op| op.new_range())
                .fold(None, |acc: Option<(usize, usize)>, r| {
                    Some(acc.map_or((r.start, r.end), |(a, b)| (a.min(r.start), b.max(r.end))))
                });
        let _ = writeln!(
            report,
            "@@ real lines {}, predicted lines {} @@",
            span(old_span),
            span(new_span)
        );
        for op in &group {
            let (tag, a, b) = op.as_tag_tuple();
            if matches!(tag, DiffTag::Equal) {
                for i in a {
                    let _ = writeln!(report, "  {}: {}", real[i].source, old[i]);
                }
                continue;
            }
            if matches!(tag, DiffTag::Delete | DiffTag::Replace) {
                for i in a {
                    let _ = writeln!(report, "- {}: {}", real[i].source, old[i]);
                }
            }
            if matches!(tag, DiffTag::Insert | DiffTag::Replace) {
                for j in b {
                    let _ = writeln!(report, "+ predicted:{}: {}", j + 1, new[j]);
                }
            }
        }
    }
    let _ = writeln!(
        report,
        "{same} lines agree, {only_real} only in the real log, {only_predicted} only in hasim's prediction"
    );
}

/// The HA log files of a finished run (its `End` event), as `(file name, text)` pairs of the
/// files under `dir`: what a real client's `haLogPath` would hold.
pub fn log_files_of(record: &sim::record::Record, dir: &str) -> Vec<(String, String)> {
    let Some(end) = record.end() else {
        return Vec::new();
    };
    end.files
        .iter()
        .filter_map(|f| {
            let path = Path::new(&f.path);
            (path.parent() == Some(Path::new(dir)))
                .then(|| path.file_name())
                .flatten()
                .map(|n| (n.to_string_lossy().into_owned(), f.contents.clone()))
        })
        .collect()
}
