//! The invariant checker: reads a run's record (never the engine's state or its log as the
//! source of what was reachable) and reports the first invariant broken.

use super::plan::Plan;
use crate::runner::Run;

/// A broken invariant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// `I0`..`I7`.
    pub invariant: &'static str,
    /// What broke it, in one line.
    pub detail: String,
    /// Scenario expectations stating what the invariant requires of this run (written into a
    /// shrunk regression file, so it fails until the bug is fixed).
    pub expect: Vec<String>,
}

/// The first invariant `run` breaks, if any.
pub fn check(plan: &Plan, run: &Run) -> Option<Violation> {
    let _ = plan;
    if let Some(reason) = &run.aborted {
        // I0: a generated scenario is valid, so it must run to its end.
        return Some(Violation {
            invariant: "I0",
            detail: format!("the run stopped: {reason}"),
            expect: Vec::new(),
        });
    }
    None
}
