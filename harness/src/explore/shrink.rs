//! Shrinking: cut a failing plan down (fewer steps, members, threads, calls; smaller numbers)
//! while the same invariant still fails, then write it as a scenario file whose expectations
//! state what the invariant requires, so it fails until the bug is fixed and guards it after.

use ha_engine::planted::PlantedBug;

use super::campaign::run_plan;
use super::check::Violation;
use super::plan::{AppCall, FaultCall, Plan, PlanStep};
use sim::record::Record as Run;

/// A shrunk failure.
pub struct Shrunk {
    /// The smallest plan found.
    pub plan: Plan,
    /// Its violation (the same invariant as the original).
    pub violation: Violation,
    /// Its run.
    pub run: Run,
}

/// The invariant of `plan`'s run, when it breaks one.
fn fails(plan: &Plan, invariant: &str, planted: Option<PlantedBug>) -> Option<(Violation, Run)> {
    let seed_run = run_plan(plan.clone(), planted).ok()?;
    let found = match seed_run.violation {
        Some(v) if v.invariant == invariant => (v, seed_run.run),
        _ => return None,
    };
    // With a planted bug, the failure must be the plant's: the same plan without it must not
    // break that invariant (or the shrinker would wander onto a bug of the engine itself).
    if planted.is_some()
        && let Ok(baseline) = run_plan(plan.clone(), None)
        && baseline.violation.is_some_and(|v| v.invariant == invariant)
    {
        return None;
    }
    Some(found)
}

/// Simplifications of `plan` other than removing steps: fewer members, simpler steps, simpler
/// settings.
fn simplifications(plan: &Plan) -> Vec<Plan> {
    let mut out = Vec::new();
    // Fewer members: drop the last member or spare and every step naming it.
    for serial in plan.members.iter().skip(1).chain(plan.spares.iter()).rev() {
        out.push(without_member(plan, serial));
    }
    // Simpler steps.
    for (i, step) in plan.steps.iter().enumerate() {
        for simpler in simpler_steps(step) {
            let mut p = plan.clone();
            p.steps[i] = simpler;
            out.push(p);
        }
    }
    // Simpler settings.
    if !plan.standby.is_empty() {
        let mut p = plan.clone();
        p.standby.clear();
        out.push(p);
    }
    if plan.ha_only {
        let mut p = plan.clone();
        p.ha_only = false;
        out.push(p);
    }
    if plan.interval > 60 {
        let mut p = plan.clone();
        p.interval = 60;
        out.push(p);
    }
    if plan.retry > 3 || plan.retry < 0 {
        let mut p = plan.clone();
        p.retry = 3;
        out.push(p);
    }
    out
}

fn without_member(plan: &Plan, serial: &str) -> Plan {
    let mut p = plan.clone();
    p.members.retain(|m| m != serial);
    p.spares.retain(|m| m != serial);
    p.standby.retain(|m| m != serial);
    p.steps.retain(|step| !names(step, serial));
    for step in &mut p.steps {
        if let PlanStep::Threads { faults, programs } = step {
            faults.retain(|(_, f)| f.member() != serial);
            for program in programs {
                program.retain(|c| !matches!(c, AppCall::Direct { serial: s, .. } if s == serial));
            }
        }
    }
    p
}

fn names(step: &PlanStep, serial: &str) -> bool {
    match step {
        PlanStep::Fault(f) => f.member() == serial,
        PlanStep::OnCall { member, .. } => member == serial,
        PlanStep::App(AppCall::Direct { serial: s, .. }) => s == serial,
        PlanStep::Command(line) => line.split_whitespace().any(|w| w == serial),
        _ => false,
    }
}

fn simpler_steps(step: &PlanStep) -> Vec<PlanStep> {
    let mut out = Vec::new();
    match step {
        PlanStep::App(AppCall::Sign { label, times }) if *times > 1 => {
            out.push(PlanStep::App(AppCall::Sign {
                label: label.clone(),
                times: 1,
            }));
        }
        PlanStep::App(AppCall::Encrypt { label, times }) if *times > 1 => {
            out.push(PlanStep::App(AppCall::Encrypt {
                label: label.clone(),
                times: 1,
            }));
        }
        PlanStep::Advance(s) if *s > 1 => {
            out.push(PlanStep::Advance(s / 2));
        }
        PlanStep::Fault(FaultCall::Slow(m, ms)) if *ms > 1 => {
            out.push(PlanStep::Fault(FaultCall::Slow(m.clone(), ms / 2)));
        }
        PlanStep::Threads { programs, faults } => {
            if programs.len() > 1 {
                for i in 0..programs.len() {
                    let mut p = programs.clone();
                    p.remove(i);
                    out.push(PlanStep::Threads {
                        programs: p,
                        faults: faults.clone(),
                    });
                }
            }
            for (i, program) in programs.iter().enumerate() {
                if program.len() > 1 {
                    let mut p = programs.clone();
                    p[i].truncate(program.len() / 2);
                    out.push(PlanStep::Threads {
                        programs: p,
                        faults: faults.clone(),
                    });
                }
            }
            // A Threads block with one thread of one call is an App step.
            if programs.len() == 1 && programs[0].len() == 1 && faults.is_empty() {
                out.push(PlanStep::App(programs[0][0].clone()));
            }
        }
        _ => {}
    }
    out
}

/// Shrinks `plan` while `violation`'s invariant still fails; `progress` hears the step count
/// after each improvement. Steps are removed in chunks, halving the chunk size (delta
/// debugging), then members, steps and settings are simplified, until nothing changes.
pub fn shrink(
    plan: Plan,
    violation: &Violation,
    planted: Option<PlantedBug>,
    progress: &mut dyn FnMut(usize),
) -> Shrunk {
    let invariant = violation.invariant;
    let Some((v, run)) = fails(&plan, invariant, planted) else {
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
        match fails(&candidate, invariant, planted) {
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
    loop {
        let mut changed = false;
        let mut chunk = best.plan.steps.len().div_ceil(2).max(1);
        loop {
            let mut i = 0;
            while i < best.plan.steps.len() {
                let mut candidate = best.plan.clone();
                let end = (i + chunk).min(candidate.steps.len());
                candidate.steps.drain(i..end);
                if accept(&mut best, candidate) {
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
        for candidate in simplifications(&best.plan) {
            if accept(&mut best, candidate) {
                changed = true;
                break;
            }
        }
        if !changed {
            return best;
        }
    }
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
