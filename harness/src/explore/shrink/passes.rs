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
    let threads = |programs: Vec<Vec<AppCall>>, faults: Vec<(u64, FaultCall)>| PlanStep::Threads {
        programs,
        faults,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::explore::generate::generate;
    use sim::fault::Fault;
    use sim::record::{Action, FaultEvent, Stamped};

    const M: &str = "1500000000002";

    fn plan_with(steps: Vec<PlanStep>) -> Plan {
        let mut plan = generate(1);
        plan.steps = steps;
        plan
    }

    /// A run that applied one fault now at each of these instants (ms).
    fn run_applying(at: &[u64]) -> Run {
        Run {
            events: at
                .iter()
                .map(|&at| Stamped {
                    at,
                    event: Event::Fault(FaultEvent {
                        member: M.into(),
                        action: Action::Fault(Fault::Drop),
                        timing: FaultTiming::Now,
                    }),
                })
                .collect(),
            ..Run::default()
        }
    }

    fn drop_m() -> FaultCall {
        FaultCall::Drop(M.into())
    }

    #[test]
    fn folds_sum_advances_time_a_fault_and_turn_a_reopen_into_a_logout() {
        let plan = plan_with(vec![
            PlanStep::Advance(5),
            PlanStep::Advance(7),
            PlanStep::Fault(drop_m()),
            PlanStep::App(AppCall::CloseSession),
            PlanStep::App(AppCall::OpenSession),
        ]);
        let folded: Vec<Vec<PlanStep>> = folds(&plan, &run_applying(&[12_500]), &BTreeSet::new())
            .into_iter()
            .map(|p| p.steps)
            .collect();
        assert_eq!(
            folded,
            vec![
                vec![
                    PlanStep::Advance(12),
                    PlanStep::Fault(drop_m()),
                    PlanStep::App(AppCall::CloseSession),
                    PlanStep::App(AppCall::OpenSession),
                ],
                // Applied at 12.5 s: the whole second after it.
                vec![
                    PlanStep::Advance(5),
                    PlanStep::At(13, drop_m()),
                    PlanStep::App(AppCall::CloseSession),
                    PlanStep::App(AppCall::OpenSession),
                ],
                vec![
                    PlanStep::Advance(5),
                    PlanStep::Advance(7),
                    PlanStep::Fault(drop_m()),
                    PlanStep::App(AppCall::Logout),
                ],
            ]
        );
    }

    #[test]
    fn folds_leave_protected_steps_and_faults_the_run_never_applied() {
        let plan = plan_with(vec![
            PlanStep::Advance(5),
            PlanStep::Advance(7),
            PlanStep::Fault(drop_m()),
        ]);
        // Step 1 protected: neither pair can fold.
        assert!(folds(&plan, &run_applying(&[12_000]), &BTreeSet::from([1])).is_empty());
        // No fault in the run: the advances still sum, the fault has no second.
        assert_eq!(folds(&plan, &run_applying(&[]), &BTreeSet::new()).len(), 1);
    }

    #[test]
    fn fault_seconds_follow_the_fault_steps_in_order() {
        let plan = plan_with(vec![
            PlanStep::Fault(drop_m()),
            PlanStep::App(AppCall::Login),
            PlanStep::At(30, drop_m()),
            PlanStep::Fault(drop_m()),
        ]);
        let seconds = fault_seconds(&plan, &run_applying(&[0, 30_000, 61_001]));
        assert_eq!(
            seconds,
            std::collections::BTreeMap::from([(0, 0), (2, 30), (3, 62)])
        );
    }

    #[test]
    fn retry_zero_or_unbounded_becomes_three_and_small_counts_stay() {
        let with_retry = |retry| {
            let mut p = plan_with(vec![]);
            p.retry = retry;
            simplifications(&p).iter().any(|c| c.retry == 3)
        };
        assert!(with_retry(0));
        assert!(with_retry(-1));
        assert!(with_retry(500));
        assert!(!with_retry(2));
    }

    #[test]
    fn an_at_step_loses_its_wait() {
        assert!(simpler_steps(&PlanStep::At(40, drop_m())).contains(&PlanStep::Fault(drop_m())));
    }

    #[test]
    fn threads_lose_a_fault_a_call_or_become_one_app_step() {
        let sign = AppCall::Sign {
            label: "k1".into(),
            times: 1,
        };
        let login = AppCall::Login;
        let step = PlanStep::Threads {
            programs: vec![vec![login.clone(), sign.clone(), AppCall::Logout]],
            faults: vec![(0, drop_m())],
        };
        let simpler = simpler_steps(&step);
        // The middle call alone removed.
        assert!(simpler.contains(&PlanStep::Threads {
            programs: vec![vec![login.clone(), AppCall::Logout]],
            faults: vec![(0, drop_m())],
        }));
        // The fault removed.
        assert!(simpler.contains(&PlanStep::Threads {
            programs: vec![vec![login, sign.clone(), AppCall::Logout]],
            faults: vec![],
        }));
        let one = PlanStep::Threads {
            programs: vec![vec![sign.clone()]],
            faults: vec![],
        };
        assert_eq!(simpler_steps(&one), vec![PlanStep::App(sign)]);
    }
}
