//! Running scenario files: discovery under a folder (sorted), a scenario's name relative to its
//! folder, one file from text to verdict, and the determinism check (two runs, byte-identical
//! transcripts). The CLI, the test binary and coverage all use these, so each is written once.

use std::path::{Component, Path, PathBuf};

use sim::record::Record;

use crate::backend::{self, Backend};
use crate::runner::{self, RunError};
use crate::scenario::{self, LoadError, Scenario};
use crate::topology::TopologyError;
use crate::transcript;
use crate::verdict;

/// The result of one scenario file.
#[derive(Debug)]
pub struct Outcome {
    /// The parsed scenario.
    pub scenario: Scenario,
    /// Everything the run recorded.
    pub record: Record,
    /// Expectation failures; empty when the scenario passed.
    pub failures: Vec<String>,
}

impl Outcome {
    /// True when every expectation held.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }

    /// The transcript, rendered from the record.
    pub fn transcript(&self) -> String {
        transcript::render(&self.record)
    }
}

/// Why a file could not be run at all.
#[derive(Debug, thiserror::Error)]
pub enum SuiteError {
    /// The file is not a well-formed scenario.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The topology cannot be built.
    #[error("{file}: {source}")]
    Topology {
        /// The file.
        file: String,
        /// What is wrong.
        source: TopologyError,
    },
    /// The folder cannot be read.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// What went wrong.
        source: std::io::Error,
    },
}

/// Loads and runs one scenario file.
pub fn run_file(path: &Path) -> Result<Outcome, SuiteError> {
    let scenario = scenario::load_file(path)?;
    run_scenario(scenario, &path.display().to_string())
}

/// A scenario file run on a backend, or skipped there.
#[derive(Debug)]
pub enum BackendRun {
    /// It ran.
    Ran(Box<Outcome>),
    /// It needs what the backend lacks (the reason).
    Skipped(String),
}

/// Loads one scenario file and runs it on `backend`; on a real backend, a scenario that
/// needs Luna-only features is skipped with the reason.
pub fn run_file_on(path: &Path, backend: &Backend) -> Result<BackendRun, SuiteError> {
    let scenario = scenario::load_file(path)?;
    if *backend != Backend::Model
        && let Some(reason) = backend::luna_only(&scenario)
    {
        return Ok(BackendRun::Skipped(reason));
    }
    let outcome = run_scenario_on(scenario, &path.display().to_string(), backend)?;
    Ok(BackendRun::Ran(Box::new(outcome)))
}

/// Runs a parsed scenario (`origin` names it in errors).
pub fn run_scenario(scenario: Scenario, origin: &str) -> Result<Outcome, SuiteError> {
    run_scenario_on(scenario, origin, &Backend::Model)
}

/// Runs a parsed scenario on `backend` (`origin` names it in errors).
pub fn run_scenario_on(
    scenario: Scenario,
    origin: &str,
    backend: &Backend,
) -> Result<Outcome, SuiteError> {
    let record =
        runner::run_on(&scenario, backend).map_err(|RunError(source)| SuiteError::Topology {
            file: origin.to_string(),
            source,
        })?;
    let failures = verdict::check(&scenario, &record);
    Ok(Outcome {
        record,
        scenario,
        failures,
    })
}

/// Two runs of one file and how their transcripts compare.
#[derive(Debug)]
pub struct Determinism {
    /// The first run.
    pub outcome: Outcome,
    /// Its transcript.
    pub transcript: String,
    /// The first line (from 1) where the second run's transcript differs, or `None` when the
    /// two are byte-identical.
    pub first_difference: Option<usize>,
}

/// Runs a scenario file twice and compares the transcripts byte for byte.
pub fn check_determinism(path: &Path) -> Result<Determinism, SuiteError> {
    let first = run_file(path)?;
    let second = run_file(path)?;
    let transcript = first.transcript();
    let first_difference = first_difference(&transcript, &second.transcript());
    Ok(Determinism {
        outcome: first,
        transcript,
        first_difference,
    })
}

/// The first line (from 1) where two texts differ, or `None` when they are identical. When one
/// text is the other plus more lines, the first extra line is the difference.
pub fn first_difference(a: &str, b: &str) -> Option<usize> {
    if a == b {
        return None;
    }
    let mut left = a.split_inclusive('\n');
    let mut right = b.split_inclusive('\n');
    let mut line = 1;
    loop {
        match (left.next(), right.next()) {
            (Some(x), Some(y)) if x == y => line += 1,
            _ => return Some(line),
        }
    }
}

/// A scenario's name: its path relative to `root` with `/` between components (the file name
/// when `root` is the file itself). Test names, the CLI's lines and coverage use it.
pub fn scenario_name(root: &Path, file: &Path) -> String {
    let relative = match file.strip_prefix(root) {
        Ok(rest) if !rest.as_os_str().is_empty() => rest,
        _ => file.file_name().map_or(file, Path::new),
    };
    let parts: Vec<String> = relative
        .components()
        .filter_map(|c| match c {
            Component::Normal(part) => Some(part.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect();
    parts.join("/")
}

/// Every `.ron` file under `root` (or `root` itself when it is a file), sorted by path.
pub fn discover(root: &Path) -> Result<Vec<PathBuf>, SuiteError> {
    if root.is_file() {
        return Ok(vec![root.to_path_buf()]);
    }
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let io = |source| SuiteError::Io {
            path: dir.display().to_string(),
            source,
        };
        for entry in std::fs::read_dir(&dir).map_err(io)? {
            let path = entry.map_err(io)?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "ron") {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_relative_with_slashes() {
        let root = Path::new("/x/scenarios");
        assert_eq!(
            scenario_name(root, Path::new("/x/scenarios/failover/a.ron")),
            "failover/a.ron"
        );
        let file = Path::new("/x/scenarios/a.ron");
        assert_eq!(scenario_name(file, file), "a.ron");
    }

    #[test]
    fn the_first_differing_line_is_found() {
        assert_eq!(first_difference("a\nb\n", "a\nb\n"), None);
        assert_eq!(first_difference("a\nb\n", "a\nc\n"), Some(2));
        assert_eq!(first_difference("a\n", "a\nb\n"), Some(2));
        assert_eq!(first_difference("a", "a\n"), Some(1));
    }
}
