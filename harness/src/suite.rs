//! Running scenario files: discovery under a folder (sorted), and one file from text to verdict.

use std::path::{Path, PathBuf};

use crate::runner;
use crate::scenario::{self, LoadError, Scenario};
use crate::verdict;

/// The result of one scenario file.
#[derive(Debug)]
pub struct Outcome {
    /// The parsed scenario.
    pub scenario: Scenario,
    /// The rendered transcript.
    pub transcript: String,
    /// Expectation failures; empty when the scenario passed.
    pub failures: Vec<String>,
}

impl Outcome {
    /// True when every expectation held.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// Why a file could not be run at all.
#[derive(Debug, thiserror::Error)]
pub enum SuiteError {
    /// The file is not a well-formed scenario.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The topology cannot be built.
    #[error("{file}: {message}")]
    Topology {
        /// The file.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// The folder cannot be read.
    #[error("{path}: {message}")]
    Io {
        /// The path.
        path: String,
        /// What went wrong.
        message: String,
    },
}

/// Loads and runs one scenario file.
pub fn run_file(path: &Path) -> Result<Outcome, SuiteError> {
    let scenario = scenario::load_file(path)?;
    run_scenario(scenario, &path.display().to_string())
}

/// Runs a parsed scenario (`origin` names it in errors).
pub fn run_scenario(scenario: Scenario, origin: &str) -> Result<Outcome, SuiteError> {
    let run = runner::run(&scenario).map_err(|e| SuiteError::Topology {
        file: origin.to_string(),
        message: e.to_string(),
    })?;
    let failures = verdict::check(&scenario, &run);
    Ok(Outcome {
        transcript: run.transcript.render(),
        scenario,
        failures,
    })
}

/// Every `.ron` file under `root` (or `root` itself when it is a file), sorted by path.
pub fn discover(root: &Path) -> Result<Vec<PathBuf>, SuiteError> {
    if root.is_file() {
        return Ok(vec![root.to_path_buf()]);
    }
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| SuiteError::Io {
            path: dir.display().to_string(),
            message: e.to_string(),
        })?;
        for entry in entries {
            let entry = entry.map_err(|e| SuiteError::Io {
                path: dir.display().to_string(),
                message: e.to_string(),
            })?;
            let path = entry.path();
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
