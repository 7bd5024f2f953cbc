//! The limits a scenario may not pass, checked when it is loaded, so that bad input gets a
//! clear error instead of hours of work or gigabytes of memory. No real scenario comes near
//! them (the repository's largest `times` is 10⁶, in the bench; its largest `size` is 32).
//! What only a run can reach (recovery timer runs, the end of virtual time) is bounded by
//! `sim::queue` and stops the run with an error. `docs/limits.md` lists them all.

use super::ast::{AppOp, Fault, Scenario, Step, ThreadOp};

/// Most calls one `App(Sign|Encrypt)` step or one thread entry makes (`times`): 10⁷, about
/// ten seconds of a release build.
pub const MAX_TIMES: u32 = 10_000_000;

/// Largest value of `CreateData(size)` and `SignUpdate(size)`, bytes: 1 MiB (a partition holds
/// 325 896 bytes by default).
pub const MAX_SIZE: u32 = 1 << 20;

/// Most threads of one `Threads` step (each opens its own virtual session).
pub const MAX_THREADS: usize = 256;

/// Most calls of one `Threads` step, all threads together.
pub const MAX_THREAD_CALLS: u64 = 10_000_000;

/// Most other client processes (`processes`) of one scenario (each an engine of its own).
pub const MAX_PROCESSES: usize = 64;

/// Most steps, setup lines and expectations a scenario may have (each).
pub const MAX_ITEMS: usize = 100_000;

/// The first limit `scenario` passes: where, and what.
pub fn check(scenario: &Scenario) -> Option<String> {
    if scenario.processes.len() > MAX_PROCESSES {
        return Some(format!(
            "processes: {} processes; at most {MAX_PROCESSES} (limit)",
            scenario.processes.len()
        ));
    }
    for (what, n) in [
        ("setup", scenario.setup.len()),
        ("steps", scenario.steps.len()),
        ("expect", scenario.expect.len()),
    ] {
        if n > MAX_ITEMS {
            return Some(format!(
                "{what}: {n} entries; a scenario may have at most {MAX_ITEMS} (limit)"
            ));
        }
    }
    for (index, step) in scenario.steps.iter().enumerate() {
        let place = StepPlace(index);
        match step {
            Step::App(op) | Step::In(_, op) => {
                if let Some(message) = app_op(op) {
                    return Some(format!("{place}: {message}"));
                }
            }
            Step::Threads { threads, .. } => {
                if threads.len() > MAX_THREADS {
                    return Some(format!(
                        "{place}: Threads has {} threads; at most {MAX_THREADS} (limit)",
                        threads.len()
                    ));
                }
                let mut total: u64 = 0;
                for (t, program) in threads.iter().enumerate() {
                    for (c, op) in program.iter().enumerate() {
                        let (name, times) = match op {
                            ThreadOp::Sign { times, .. } => ("Sign", *times),
                            ThreadOp::Encrypt { times, .. } => ("Encrypt", *times),
                            other => {
                                if let Some(message) = app_op(other) {
                                    return Some(format!("{place}: threads[{t}][{c}]: {message}"));
                                }
                                ("call", 1)
                            }
                        };
                        if times > MAX_TIMES {
                            return Some(format!(
                                "{place}: threads[{t}][{c}]: {name} times {times} is over the limit of {MAX_TIMES} calls"
                            ));
                        }
                        total += u64::from(times);
                    }
                }
                if total > MAX_THREAD_CALLS {
                    return Some(format!(
                        "{place}: Threads makes {total} calls in all; at most {MAX_THREAD_CALLS} (limit)"
                    ));
                }
            }
            _ => {}
        }
        for (fault, armed) in step_faults(step) {
            if let Some(message) = field_fault(fault, armed) {
                return Some(format!("{place}: {message}"));
            }
        }
    }
    None
}

/// Where in the scenario a refusal points: `steps[N]`, written only when a message is.
struct StepPlace(usize);

impl std::fmt::Display for StepPlace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "steps[{}]", self.0)
    }
}

/// Most characters of a `DirectModify` label (a PKCS#11 label the members store).
pub const MAX_LABEL: usize = 64;

/// The faults a step applies, each with whether it is armed on a call (`OnCall`).
fn step_faults(step: &Step) -> Vec<(&Fault, bool)> {
    match step {
        Step::Fault(f) | Step::At(_, f) => vec![(f, false)],
        Step::OnCall { fault, .. } => vec![(fault, true)],
        Step::Threads { faults, .. } => faults.iter().map(|(_, f)| (f, false)).collect(),
        _ => Vec::new(),
    }
}

/// The rules of the faults seen in the field (D35): a busy spell and an idle period last at
/// least 1 ms; a `DirectModify` names a label of 1 to [`MAX_LABEL`] characters and, being
/// another application's action on the partition, is not armed on a call of the group's.
fn field_fault(fault: &Fault, armed: bool) -> Option<String> {
    match fault {
        Fault::Busy { ms: 0, .. } => Some(
            "Busy ms is 0: a busy spell lasts at least 1 ms (D35)".to_string(),
        ),
        Fault::IdleCut { ms: 0, .. } => Some(
            "IdleCut ms is 0: the idle period is at least 1 ms (D35)".to_string(),
        ),
        Fault::DirectModify { label, .. } if label.is_empty() || label.chars().count() > MAX_LABEL => {
            Some(format!(
                "DirectModify label has {} characters; 1..{MAX_LABEL} allowed (limit)",
                label.chars().count()
            ))
        }
        Fault::DirectModify { .. } if armed => Some(
            "OnCall cannot arm DirectModify: it is another application's action on the partition, not something a member call sets off; use Fault or At (D35)".to_string(),
        ),
        Fault::DirectChange { label, .. } if label.is_empty() || label.chars().count() > MAX_LABEL => {
            Some(format!(
                "DirectChange label has {} characters; 1..{MAX_LABEL} allowed (limit)",
                label.chars().count()
            ))
        }
        Fault::DirectChange { value, .. } if value.len() > MAX_SIZE as usize => Some(format!(
            "DirectChange value has {} bytes; the limit is {MAX_SIZE} bytes",
            value.len()
        )),
        Fault::DirectChange { .. } if armed => Some(
            "OnCall cannot arm DirectChange: it is another application's action on the partition, not something a member call sets off; use Fault or At (D64)".to_string(),
        ),
        _ => None,
    }
}

fn app_op(op: &AppOp) -> Option<String> {
    let (name, value, max, unit) = match op {
        AppOp::Sign { times, .. } => ("Sign times", *times, MAX_TIMES, "calls"),
        AppOp::Encrypt { times, .. } => ("Encrypt times", *times, MAX_TIMES, "calls"),
        AppOp::CreateData { size, .. } => ("CreateData size", *size, MAX_SIZE, "bytes"),
        AppOp::SignUpdate { size } => ("SignUpdate size", *size, MAX_SIZE, "bytes"),
        AppOp::UpdateData { value, .. } => (
            "UpdateData value",
            u32::try_from(value.len()).unwrap_or(u32::MAX),
            MAX_SIZE,
            "bytes",
        ),
        _ => return None,
    };
    (value > max).then(|| format!("{name} {value} is over the limit of {max} {unit}"))
}
