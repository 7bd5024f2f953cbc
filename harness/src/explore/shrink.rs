//! Shrinking: cut a failing plan down (fewer steps, members, threads, calls; smaller numbers)
//! while the same invariant still fails, then write it as a scenario file whose expectations
//! state what the invariant requires, so it fails until the bug is fixed and guards it after.

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
fn fails(plan: &Plan, invariant: &str) -> Option<(Violation, Run)> {
    let seed_run = run_plan(plan.clone()).ok()?;
    match seed_run.violation {
        Some(v) if v.invariant == invariant => Some((v, seed_run.run)),
        _ => None,
    }
}

/// Candidate simplifications of `plan`, most aggressive first.
fn candidates(plan: &Plan) -> Vec<Plan> {
    let mut out = Vec::new();
    let n = plan.steps.len();
    // Remove chunks of steps, from halves down to single steps.
    let mut chunk = n / 2;
    while chunk >= 1 {
        let mut start = 0;
        while start < n {
            let mut p = plan.clone();
            let end = (start + chunk).min(n);
            p.steps.drain(start..end);
            out.push(p);
            start += chunk;
        }
        chunk /= 2;
    }
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
    let mut settings = Vec::new();
    if !plan.standby.is_empty() {
        let mut p = plan.clone();
        p.standby.clear();
        settings.push(p);
    }
    if plan.ha_only {
        let mut p = plan.clone();
        p.ha_only = false;
        settings.push(p);
    }
    if plan.interval > 60 {
        let mut p = plan.clone();
        p.interval = 60;
        settings.push(p);
    }
    if plan.retry > 3 || plan.retry < 0 {
        let mut p = plan.clone();
        p.retry = 3;
        settings.push(p);
    }
    out.extend(settings);
    out
}

fn without_member(plan: &Plan, serial: &str) -> Plan {
    let mut p = plan.clone();
    p.members.retain(|m| m != serial);
    p.spares.retain(|m| m != serial);
    p.standby.retain(|m| m != serial);
    p.steps.retain(|step| !names(step, serial));
    for step in &mut p.steps {
        if let PlanStep::Threads { faults, .. } = step {
            faults.retain(|(_, f)| f.member() != serial);
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
/// after each improvement.
pub fn shrink(plan: Plan, violation: &Violation, progress: &mut dyn FnMut(usize)) -> Shrunk {
    let invariant = violation.invariant;
    let mut best = plan;
    let (mut best_violation, mut best_run) = match fails(&best, invariant) {
        Some(found) => found,
        None => {
            // Not reproducible from the plan alone (cannot happen for a deterministic run);
            // return it unchanged with the original violation.
            let run = run_plan(best.clone()).map(|r| r.run).unwrap_or_default();
            return Shrunk {
                plan: best,
                violation: violation.clone(),
                run,
            };
        }
    };
    loop {
        let mut improved = false;
        for candidate in candidates(&best) {
            if let Some((v, run)) = fails(&candidate, invariant) {
                best = candidate;
                best_violation = v;
                best_run = run;
                improved = true;
                progress(best.steps.len());
                break;
            }
        }
        if !improved {
            break;
        }
    }
    Shrunk {
        plan: best,
        violation: best_violation,
        run: best_run,
    }
}

/// The regression scenario: the shrunk plan with the expectations the invariant requires.
pub fn regression_file(plan: &Plan, violation: &Violation, run: &Run) -> String {
    let _ = run;
    let name = format!(
        "explore seed {}: {} ({})",
        plan.options.seed, violation.invariant, violation.detail
    );
    plan.to_ron(&name, &violation.expect)
}
