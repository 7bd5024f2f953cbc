//! The shrinker's candidate plans, each a little smaller or simpler than the plan given:
//! [`folds`] make two steps one (adjacent `Advance`s summed, an `Advance` and the fault after it
//! as one `At` at the second the run applied it, a closed and reopened session as a logout);
//! [`simplifications`] take a member away, simplify one step or one setting. Step removal
//! itself is the shrinker's (delta debugging); every candidate is kept only if the same
//! invariant still fails.

use std::collections::BTreeSet;

use sim::record::{Event, FaultTiming, Record as Run};

use super::super::plan::{AppCall, FaultCall, Plan, PlanStep};

/// Plans with two adjacent steps made one (each candidate one fold).
pub fn folds(plan: &Plan, run: &Run, protected: &BTreeSet<usize>) -> Vec<Plan> {
    let seconds = fault_seconds(plan, run);
    let mut out = Vec::new();
    for i in 0..plan.steps.len().saturating_sub(1) {
        if protected.contains(&i) || protected.contains(&(i + 1)) {
            continue;
        }
        let folded = match (&plan.steps[i], &plan.steps[i + 1]) {
            (PlanStep::Advance(a), PlanStep::Advance(b)) => PlanStep::Advance(a.saturating_add(*b)),
            (PlanStep::Advance(_), PlanStep::Fault(f)) => match seconds.get(&(i + 1)) {
                Some(second) => PlanStep::At(*second, f.clone()),
                None => continue,
            },
            (PlanStep::App(AppCall::CloseSession), PlanStep::App(AppCall::OpenSession)) => {
                PlanStep::App(AppCall::Logout)
            }
            _ => continue,
        };
        let mut p = plan.clone();
        p.steps.splice(i..=i + 1, [folded]);
        out.push(p);
    }
    out
}

/// The second each `Fault`/`At` step of `plan` was applied at in `run` (rounded up to a whole
/// second, the scenario language's unit), by step index. Every such step records one fault
/// applied now, in step order.
fn fault_seconds(plan: &Plan, run: &Run) -> std::collections::BTreeMap<usize, u64> {
    let steps = plan
        .steps
        .iter()
        .enumerate()
        .filter(|(_, s)| matches!(s, PlanStep::Fault(_) | PlanStep::At(..)))
        .map(|(i, _)| i);
    let applied = run.events.iter().filter_map(|e| match &e.event {
        Event::Fault(f) if f.timing == FaultTiming::Now => Some(e.at.div_ceil(1000)),
        _ => None,
    });
    steps.zip(applied).collect()
}

/// Simplifications of `plan` other than removing or folding steps: fewer members, simpler
/// steps, simpler settings.
pub fn simplifications(plan: &Plan) -> Vec<Plan> {
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
    // A few automatic attempts: no `hagroup recover` needed to bring a member back (retry 0),
    // and a bound on them (-1, or many).
    if plan.retry > 3 || plan.retry <= 0 {
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
        PlanStep::Fault(f) | PlanStep::At(_, f) => f.member() == serial,
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
        // The fault without the wait before it.
        PlanStep::At(_, fault) => out.push(PlanStep::Fault(fault.clone())),
        PlanStep::Fault(FaultCall::Slow(m, ms)) if *ms > 1 => {
            out.push(PlanStep::Fault(FaultCall::Slow(m.clone(), ms / 2)));
        }
        PlanStep::Threads { programs, faults } => out.extend(simpler_threads(programs, faults)),
        _ => {}
    }
    out
}

/// A `Threads` block with a thread, a call or a fault less, or a shorter program; one thread
/// of one call and no fault is an `App` step.
fn simpler_threads(programs: &[Vec<AppCall>], faults: &[(u64, FaultCall)]) -> Vec<PlanStep> {
    let threads = |programs: Vec<Vec<AppCall>>, faults: Vec<(u64, FaultCall)>| {
        PlanStep::Threads { programs, faults }
    };
    let mut out = Vec::new();
    if programs.len() > 1 {
        for i in 0..programs.len() {
            let mut p = programs.to_vec();
            p.remove(i);
            out.push(threads(p, faults.to_vec()));
        }
    }
    for (i, program) in programs.iter().enumerate() {
        if program.len() > 1 {
            let mut p = programs.to_vec();
            p[i].truncate(program.len() / 2);
            out.push(threads(p, faults.to_vec()));
            for j in 0..program.len() {
                let mut p = programs.to_vec();
                p[i].remove(j);
                out.push(threads(p, faults.to_vec()));
            }
        }
    }
    for i in 0..faults.len() {
        let mut f = faults.to_vec();
        f.remove(i);
        out.push(threads(programs.to_vec(), f));
    }
    if let [program] = programs
        && let [call] = program.as_slice()
        && faults.is_empty()
    {
        out.push(PlanStep::App(call.clone()));
    }
    out
}
