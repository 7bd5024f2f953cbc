//! `hasim differential`: every portable scenario (`portable: true`) runs on the in-process
//! model and on fresh SoftHSM tokens, and the two portable views (`transcript::View::Portable`:
//! application calls with their results and serving members, HA log lines, per-member object
//! counts, command output and the configuration file; no storage figures, no binding) must be
//! byte-identical.

use std::fmt::Write as _;
use std::path::Path;

use crate::backend::{self, Backend, SoftHsmOptions};
use crate::scenario;
use crate::suite::{self, SuiteError};
use crate::transcript;

/// How one scenario compares across the backends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Comparison {
    /// The portable views are byte-identical.
    Same,
    /// They differ: a unified diff, model (`-`) against SoftHSM (`+`).
    Differ(String),
    /// Not compared, and why.
    Skipped(String),
}

/// Runs one scenario file on both backends and compares the portable views.
pub fn compare_file(path: &Path) -> Result<Comparison, SuiteError> {
    let parsed = scenario::load_file(path)?;
    if !parsed.portable {
        return Ok(Comparison::Skipped("not marked portable".to_string()));
    }
    if let Some(reason) = backend::luna_only(&parsed) {
        return Ok(Comparison::Skipped(reason));
    }
    let origin = path.display().to_string();
    let model = suite::run_scenario_on(parsed.clone(), &origin, &Backend::Model)?;
    let real = suite::run_scenario_on(
        parsed,
        &origin,
        &Backend::SoftHsm(SoftHsmOptions::default()),
    )?;
    let a = transcript::render_portable(&model.record);
    let b = transcript::render_portable(&real.record);
    if a == b {
        return Ok(Comparison::Same);
    }
    Ok(Comparison::Differ(diff(&a, &b)))
}

/// A unified diff of two portable views (model, SoftHSM), three lines of context.
pub fn diff(model: &str, softhsm: &str) -> String {
    let d = similar::TextDiff::from_lines(model, softhsm);
    let mut out = String::new();
    let _ = write!(
        out,
        "{}",
        d.unified_diff()
            .context_radius(3)
            .header("model", "softhsm")
    );
    out
}
