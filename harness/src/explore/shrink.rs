//! Shrinking: cut a failing plan down (fewer steps, members, threads, calls; smaller numbers)
//! while the same invariant still fails, then write it as a scenario file whose expectations
//! state what the invariant requires, so it fails until the bug is fixed and guards it after.

use ha_engine::planted::PlantedBug;

mod keep;
mod passes;

use std::collections::BTreeSet;

use super::campaign::run_plan;
use super::check::Violation;
use super::plan::Plan;
use sim::record::Record as Run;

pub use keep::Keep;

/// A shrunk failure.
pub struct Shrunk {
    /// The smallest plan found.
    pub plan: Plan,
    /// Its violation (the same invariant as the original).
    pub violation: Violation,
    /// Its run.
    pub run: Run,
}

/// What a candidate must still break: the invariant, and for I1 (checked at the heal's
/// checkpoints, where each kind of failure has its own wording) the same kind of failure, so
/// that a shrunk scenario failing at `final` does not turn into one failing at `reconciled`.
struct Target {
    invariant: &'static str,
    kind: Option<String>,
}

impl Target {
    fn of(violation: &Violation) -> Target {
        Target {
            invariant: violation.invariant,
            kind: (violation.invariant == "I1").then(|| kind(&violation.detail)),
        }
    }

    fn is_met_by(&self, violation: &Violation) -> bool {
        violation.invariant == self.invariant
            && self
                .kind
                .as_ref()
                .is_none_or(|k| *k == kind(&violation.detail))
    }
}

/// A violation's wording with its particulars (labels, serials, counts: every word holding a
/// digit) masked: `object d17 is held 2 times` and `object k3 is held 4 times` are one kind.
fn kind(detail: &str) -> String {
    detail
        .split_whitespace()
        .map(|w| {
            if w.chars().any(|c| c.is_ascii_digit()) {
                "#"
            } else {
                w
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The violation of `plan`'s run, when it is `target`'s.
fn fails(plan: &Plan, target: &Target, planted: Option<PlantedBug>) -> Option<(Violation, Run)> {
    let seed_run = run_plan(plan.clone(), planted).ok()?;
    let found = match seed_run.violation {
        Some(v) if target.is_met_by(&v) => (v, seed_run.run),
        _ => return None,
    };
    // With a planted bug, the failure must be the plant's: the same plan without it must not
    // break that invariant (or the shrinker would wander onto a bug of the engine itself).
    if planted.is_some()
        && let Ok(baseline) = run_plan(plan.clone(), None)
        && baseline
            .violation
            .is_some_and(|v| v.invariant == target.invariant)
    {
        return None;
    }
    Some(found)
}

/// Shrinks `plan` while `violation`'s invariant still fails (for I1: the same kind of failure,
/// [`Target`]); `progress` hears the step count
/// after each improvement. First the shortest failing prefix; when it ends at a checkpoint,
/// that checkpoint and the heal step it checks are kept ([`Keep`]). Then, until nothing
/// changes: steps are removed in chunks, halving the chunk size (delta debugging), adjacent
/// steps are folded into one ([`passes::folds`]), and members, steps and settings are
/// simplified ([`passes::simplifications`]). Deterministic: candidates are tried in a fixed
/// order and every run is.
pub fn shrink(
    plan: Plan,
    violation: &Violation,
    planted: Option<PlantedBug>,
    progress: &mut dyn FnMut(usize),
) -> Shrunk {
    let target = Target::of(violation);
    let Some((v, run)) = fails(&plan, &target, planted) else {
        // Not reproducible from the plan alone (cannot happen for a deterministic run).
        let run = run_plan(plan.clone(), planted)
            .map(|r| r.run)
            .unwrap_or_default();
        return Shrunk {
            plan,
            violation: violation.clone(),
            run,
        };
    };
    let mut best = Shrunk {
        plan,
        violation: v,
        run,
    };
    let mut accept = |best: &mut Shrunk, candidate: Plan| -> bool {
        match fails(&candidate, &target, planted) {
            Some((v, run)) => {
                *best = Shrunk {
                    plan: candidate,
                    violation: v,
                    run,
                };
                progress(best.plan.steps.len());
                true
            }
            None => false,
        }
    };
    // First the shortest prefix that still fails (most violations happen mid-run and need
    // nothing after them): a binary search costs a handful of runs.
    let (mut lo, mut hi) = (0, best.plan.steps.len());
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let mut candidate = best.plan.clone();
        candidate.steps.truncate(mid);
        if accept(&mut best, candidate) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    let keep = Keep::of(&best.plan);
    loop {
        let mut changed = false;
        let mut chunk = best.plan.steps.len().div_ceil(2).max(1);
        loop {
            let mut i = 0;
            while i < best.plan.steps.len() {
                let end = (i + chunk).min(best.plan.steps.len());
                let protected = keep.protected(&best.plan);
                let removed = without_steps(&best.plan, i..end, &protected)
                    .is_some_and(|candidate| accept(&mut best, candidate));
                if removed {
                    changed = true;
                } else {
                    i += chunk;
                }
            }
            if chunk == 1 {
                break;
            }
            chunk = chunk.div_ceil(2);
        }
        let protected = keep.protected(&best.plan);
        let candidates = passes::folds(&best.plan, &best.run, &protected)
            .into_iter()
            .chain(passes::simplifications(&best.plan));
        for candidate in candidates {
            if keep.protected(&candidate).len() == protected.len() && accept(&mut best, candidate) {
                changed = true;
                break;
            }
        }
        if !changed {
            return best;
        }
    }
}

/// `plan` without its steps in `range` other than the `protected` ones; `None` when that
/// removes nothing.
fn without_steps(
    plan: &Plan,
    range: std::ops::Range<usize>,
    protected: &BTreeSet<usize>,
) -> Option<Plan> {
    let mut p = plan.clone();
    let mut i = 0;
    p.steps.retain(|_| {
        let removed = range.contains(&i) && !protected.contains(&i);
        i += 1;
        !removed
    });
    (p.steps.len() < plan.steps.len()).then_some(p)
}

/// The regression scenario: the shrunk plan with the expectations the invariant requires (the
/// violation's own, and the application's failures as the run saw them adjusted by what the
/// invariant says should differ), plus what every scenario file states: the HA log's first line
/// (the management thread, D16) and the final object counts when the invariant says nothing of
/// objects. The file fails until the bug is fixed.
pub fn regression_file(plan: &Plan, violation: &Violation, run: &Run) -> String {
    let name = format!(
        "explore seed {}: {} ({})",
        plan.options.seed, violation.invariant, violation.detail
    );
    let mut expect = violation.expect.clone();
    if !violation.errors.is_empty() {
        let mut errors: std::collections::BTreeMap<String, i64> = run
            .app_results()
            .into_iter()
            .filter(|(rv, _)| *rv != ha_engine::Ckr::CKR_OK)
            .map(|(rv, n)| (rv.name(), i64::try_from(n).unwrap_or(i64::MAX)))
            .collect();
        for (code, delta) in &violation.errors {
            *errors.entry(code.clone()).or_insert(0) += delta;
        }
        let list: Vec<String> = errors
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(code, n)| format!("{code:?}: {n}"))
            .collect();
        expect.push(format!("AppErrors({{{}}})", list.join(", ")));
    }
    if !expect.iter().any(|e| e.starts_with("Log("))
        && let Some(first) = run.log_lines().next()
    {
        expect.push(format!("Log({first:?})"));
    }
    if !expect.iter().any(|e| e.starts_with("ObjectCounts"))
        && let Some(end) = run.end()
    {
        let counts: Vec<String> = end
            .counts
            .iter()
            .map(|(serial, n)| format!("{serial}: {n}"))
            .collect();
        expect.push(format!("ObjectCounts({{{}}})", counts.join(", ")));
    }
    plan.to_ron(&name, &expect)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::explore::plan::{AppCall, PlanStep};

    #[test]
    fn i1_keeps_its_kind_of_failure_other_invariants_only_their_name() {
        let v = |invariant, detail: &str| Violation {
            invariant,
            detail: detail.into(),
            expect: Vec::new(),
            errors: Vec::new(),
        };
        let duplicated = Target::of(&v("I1", "object k17 is held 4 times (duplicated)"));
        assert!(duplicated.is_met_by(&v("I1", "object d2 is held 2 times (duplicated)")));
        assert!(!duplicated.is_met_by(&v(
            "I1",
            "at the heal, before synchronize, usable member 1500000000002 lacks d41 while usable member 1500000000001 holds it (recovery and the login reconciled nothing)"
        )));
        assert!(!duplicated.is_met_by(&v("I3", "object d2 is held 2 times (duplicated)")));
        let i3 = Target::of(&v("I3", "attempt 2 for member 1500000000002"));
        assert!(i3.is_met_by(&v("I3", "something else entirely")));
    }

    #[test]
    fn removing_steps_spares_the_protected_ones() {
        let mut plan = crate::explore::generate::generate(1);
        plan.steps = vec![
            PlanStep::App(AppCall::OpenSession),
            PlanStep::App(AppCall::Login),
            PlanStep::Advance(3),
            PlanStep::Checkpoint("final".into()),
        ];
        let cut = without_steps(&plan, 0..4, &BTreeSet::from([1, 3])).map(|p| p.steps);
        assert_eq!(
            cut,
            Some(vec![
                PlanStep::App(AppCall::Login),
                PlanStep::Checkpoint("final".into())
            ])
        );
        assert!(without_steps(&plan, 3..4, &BTreeSet::from([3])).is_none());
    }
}
