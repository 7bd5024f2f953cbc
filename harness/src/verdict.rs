//! A scenario's own verdict: its expectations checked against the run's record (never its
//! rendered text). Each failure is a readable message with a diff (`-` expected, `+` what
//! happened).

use std::collections::BTreeMap;

use ha_engine::Ckr;
use sim::record::{Checkpoint, Event, MemberState, Record};
use similar::TextDiff;

use crate::scenario::{Expect, NegativeInput, Role, Scenario, Serial};

/// Checks every expectation; returns the failures (empty when the scenario passes).
pub fn check(scenario: &Scenario, record: &Record) -> Vec<String> {
    let mut failures = Vec::new();
    let stop_wanted = scenario
        .negative
        .as_ref()
        .is_some_and(|n| n.input == NegativeInput::Steps);
    if let Some(reason) = record.aborted().filter(|_| !stop_wanted) {
        failures.push(format!("the run stopped early: {reason}"));
    }
    let log_lines: Vec<&str> = record.log_lines().collect();
    check_log_order(scenario, &log_lines, &mut failures);
    for (i, expect) in scenario.expect.iter().enumerate() {
        let place = format!("expect[{i}]");
        match expect {
            Expect::Log(_) => {}
            Expect::LogCount(line, n) => {
                let seen = log_lines.iter().filter(|l| **l == line).count();
                if seen != *n as usize {
                    failures.push(format!(
                        "{place}: LogCount wants this line exactly {n} time(s), the HA log has it {seen} time(s):\n  {line}"
                    ));
                }
            }
            Expect::Diverged(label) => {
                let last = record.events.iter().rev().find_map(|e| match &e.event {
                    Event::Fingerprints { label: l, members } if l == label => Some(members),
                    _ => None,
                });
                match last {
                    None => failures.push(format!(
                        "{place}: Diverged({label:?}) but no Fingerprints({label:?}) step ran"
                    )),
                    Some(members) => {
                        let distinct: std::collections::BTreeSet<&String> =
                            members.iter().filter_map(|(_, f)| f.as_ref()).collect();
                        if distinct.len() < 2 {
                            failures.push(format!(
                                "{place}: Diverged({label:?}) but the members' copies agree:\n+ {members:?}"
                            ));
                        }
                    }
                }
            }
            Expect::NoLogContaining(text) => {
                if let Some(line) = log_lines.iter().find(|l| l.contains(text.as_str())) {
                    failures.push(format!(
                        "{place}: NoLogContaining({text:?}) but the HA log has:\n+ {line}"
                    ));
                }
            }
            Expect::ObjectCounts(want) => {
                let end = record.end().map(|e| e.counts.clone()).unwrap_or_default();
                compare_counts(&place, "at the end", want, &end, &mut failures);
            }
            Expect::ObjectCountsAt(label, want) => match record.checkpoint(label) {
                Some(checkpoint) => compare_counts(
                    &place,
                    &format!("at checkpoint \"{label}\""),
                    want,
                    &checkpoint.counts(),
                    &mut failures,
                ),
                None => failures.push(format!("{place}: no checkpoint \"{label}\" was reached")),
            },
            Expect::NoAppErrors => {
                let errors = app_errors(record);
                if !errors.is_empty() {
                    failures.push(format!(
                        "{place}: NoAppErrors, but the application saw {}",
                        render_errors(&errors)
                    ));
                }
            }
            Expect::AppErrors(want) => {
                let got = app_errors(record);
                if &got != want {
                    failures.push(format!(
                        "{place}: AppErrors\n- {}\n+ {}",
                        render_errors(want),
                        render_errors(&got)
                    ));
                }
            }
            Expect::FinalErrors(want) => {
                let got = final_errors(record);
                if &got != want {
                    failures.push(format!(
                        "{place}: FinalErrors\n- {}\n+ {}",
                        render_errors(want),
                        render_errors(&got)
                    ));
                }
            }
            Expect::Output(line) => {
                if !record.output_lines().any(|l| l == line) {
                    failures.push(format!("{place}: no command printed the line\n- {line}"));
                }
            }
            Expect::OutputContains(text) => {
                if !record.output_lines().any(|l| l.contains(text.as_str())) {
                    failures.push(format!(
                        "{place}: no command printed a line containing\n- {text}"
                    ));
                }
            }
            Expect::SlotsAt(label, want) => match record.checkpoint(label) {
                Some(c) if c.slots == *want => {}
                Some(c) => failures.push(format!(
                    "{place}: the application's slot list at checkpoint \"{label}\"\n- {}\n+ {}",
                    want.join(" | "),
                    c.slots.join(" | ")
                )),
                None => failures.push(format!("{place}: no checkpoint \"{label}\" was reached")),
            },
            Expect::ServedBetween(from, to, want) => compare_between(
                record,
                &place,
                (from, to),
                ("calls served", served_between),
                want,
                &mut failures,
            ),
            Expect::CallsBetween(from, to, want) => compare_between(
                record,
                &place,
                (from, to),
                ("member calls", calls_between),
                want,
                &mut failures,
            ),
            Expect::RolesAt(label, want) => match record.checkpoint(label) {
                Some(c) => {
                    for (serial, role) in want {
                        let got = c
                            .members
                            .iter()
                            .find(|m| m.serial == serial.as_str())
                            .and_then(|m| m.role);
                        let got_name = got.map_or("(not in a running group)", |r| r.as_str());
                        if got_name != role_name(*role) {
                            failures.push(format!(
                                "{place}: role of {serial} at checkpoint \"{label}\"\n- {}\n+ {got_name}",
                                role_name(*role)
                            ));
                        }
                    }
                }
                None => failures.push(format!("{place}: no checkpoint \"{label}\" was reached")),
            },
            Expect::LogFilesAt(label, want) => match record.checkpoint(label) {
                Some(c) => {
                    let got: BTreeMap<String, Vec<String>> = c
                        .log_files
                        .iter()
                        .map(|f| {
                            (
                                f.path.clone(),
                                f.contents.lines().map(str::to_string).collect(),
                            )
                        })
                        .collect();
                    if &got != want {
                        let show = |m: &BTreeMap<String, Vec<String>>| {
                            let mut out = String::new();
                            for (path, lines) in m {
                                out.push_str(&format!("{path} ({} lines)\n", lines.len()));
                                for line in lines {
                                    out.push_str(&format!("  {line}\n"));
                                }
                            }
                            out
                        };
                        let diff = TextDiff::from_lines(&show(want), &show(&got))
                            .unified_diff()
                            .header("expected", "at the checkpoint")
                            .to_string();
                        failures.push(format!(
                            "{place}: HA log files at checkpoint \"{label}\" differ:\n{diff}"
                        ));
                    }
                }
                None => failures.push(format!("{place}: no checkpoint \"{label}\" was reached")),
            },
        }
    }
    if let Some(case) = scenario.negative.as_ref().filter(|_| stop_wanted) {
        match record.aborted() {
            None => failures.push(format!(
                "negative: the steps ran to their end, but the run must stop with\n- {}",
                case.wanted()
            )),
            Some(got) if !case.accepts(got) => failures.push(format!(
                "negative: the run stopped with another error\n- {}\n+ {got}",
                case.wanted()
            )),
            Some(_) => {}
        }
    } else if let Some(case) = &scenario.negative {
        match record.negative() {
            None => failures.push("negative: the input was never applied".to_string()),
            Some(outcome) => {
                match &outcome.refusal {
                    None => failures.push(format!(
                        "negative: the input was accepted, but it must be refused with\n- {}",
                        case.wanted()
                    )),
                    Some(got) if !case.accepts(got) => failures.push(format!(
                        "negative: the refusal differs\n- {}\n+ {got}",
                        case.wanted()
                    )),
                    Some(_) => {}
                }
                if outcome.state_before != outcome.state_after {
                    let diff = TextDiff::from_lines(&outcome.state_before, &outcome.state_after)
                        .unified_diff()
                        .header("state before", "state after")
                        .to_string();
                    failures.push(format!(
                        "negative: the refused input changed state:\n{diff}"
                    ));
                }
            }
        }
    }
    failures
}

/// All `Log` expectations must appear in this order (as a subsequence) in the HA log.
fn check_log_order(scenario: &Scenario, log_lines: &[&str], failures: &mut Vec<String>) {
    let mut from = 0;
    for (i, expect) in scenario.expect.iter().enumerate() {
        let Expect::Log(want) = expect else {
            continue;
        };
        match log_lines[from..].iter().position(|l| l == want) {
            Some(p) => from += p + 1,
            None => {
                let mut msg = format!(
                    "expect[{i}]: Log line not found in order (searched from HA log line {})\n- {want}",
                    from + 1
                );
                match nearest(want, log_lines) {
                    Some((n, line)) => {
                        msg.push_str(&format!("\n+ {line}    (nearest: HA log line {})", n + 1))
                    }
                    None => msg.push_str("\n+ (the HA log is empty)"),
                }
                failures.push(msg);
            }
        }
    }
}

/// How many characters of each end of a line the nearest-line measure looks at.
const NEAREST_SPAN: usize = 512;

/// The log line most like `want`: the most characters in common at the start plus at the end
/// (each end looked at for at most [`NEAREST_SPAN`] characters, so the cost is linear in the
/// number of lines whatever their length); the earliest line wins a tie.
fn nearest<'a>(want: &str, lines: &[&'a str]) -> Option<(usize, &'a str)> {
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| (likeness(want, l), i, *l))
        .max_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)))
        .map(|(_, i, l)| (i, l))
}

fn likeness(a: &str, b: &str) -> usize {
    let prefix = a
        .chars()
        .zip(b.chars())
        .take(NEAREST_SPAN)
        .take_while(|(x, y)| x == y)
        .count();
    let suffix = a
        .chars()
        .rev()
        .zip(b.chars().rev())
        .take(NEAREST_SPAN)
        .take_while(|(x, y)| x == y)
        .count();
    // A line equal to a prefix of the other counts its common part once.
    let shorter = a.chars().count().min(b.chars().count());
    (prefix + suffix).min(shorter.max(prefix))
}

/// Signatures and encryptions each member served between two checkpoints.
/// Counts per member between two checkpoints.
type CountBetween = fn(&Checkpoint, &Checkpoint) -> BTreeMap<String, u64>;

/// Per-member counts between two checkpoints (`count` of `what`) against the expected ones.
fn compare_between(
    record: &Record,
    place: &str,
    (from, to): (&str, &str),
    (what, count): (&str, CountBetween),
    want: &BTreeMap<Serial, u64>,
    failures: &mut Vec<String>,
) {
    match (record.checkpoint(from), record.checkpoint(to)) {
        (Some(a), Some(b)) => compare_counts(
            place,
            &format!("{what} between \"{from}\" and \"{to}\":"),
            want,
            &count(a, b),
            failures,
        ),
        _ => failures.push(format!(
            "{place}: checkpoint \"{from}\" or \"{to}\" was not reached"
        )),
    }
}

/// Calls served (sign and encrypt) on each member between two checkpoints.
fn served_between(a: &Checkpoint, b: &Checkpoint) -> BTreeMap<String, u64> {
    grown_between(a, b, |m| m.served_sign + m.served_encrypt)
}

/// Every call that reached each member between two checkpoints (D39).
fn calls_between(a: &Checkpoint, b: &Checkpoint) -> BTreeMap<String, u64> {
    grown_between(a, b, |m| m.calls)
}

/// How much `count` grew on each member from checkpoint `a` to checkpoint `b`.
fn grown_between(
    a: &Checkpoint,
    b: &Checkpoint,
    count: impl Fn(&MemberState) -> u64,
) -> BTreeMap<String, u64> {
    b.members
        .iter()
        .map(|m| {
            let before = a
                .members
                .iter()
                .find(|x| x.serial == m.serial)
                .map_or(0, &count);
            (m.serial.clone(), count(m).saturating_sub(before))
        })
        .collect()
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Active => "active",
        Role::Standby => "standby",
        Role::Promoted => "promoted",
        Role::Down => "down",
    }
}

fn compare_counts(
    place: &str,
    when: &str,
    want: &BTreeMap<Serial, u64>,
    got: &BTreeMap<String, u64>,
    failures: &mut Vec<String>,
) {
    for (serial, n) in want {
        let actual = got.get(serial.as_str()).copied();
        if actual != Some(*n) {
            failures.push(format!(
                "{place}: object count of {serial} {when}\n- {n}\n+ {}",
                actual.map_or_else(|| "(no such member)".to_string(), |a| a.to_string())
            ));
        }
    }
}

/// Application failures by CKR name (scenario files give `AppErrors` counts as `u32`; a count
/// beyond that range is shown as `u32::MAX`, which no expectation can equal by accident).
fn app_errors(record: &Record) -> BTreeMap<String, u32> {
    record
        .app_results()
        .into_iter()
        .filter(|(rv, _)| *rv != Ckr::CKR_OK)
        .map(|(rv, n)| (rv.name(), u32::try_from(n).unwrap_or(u32::MAX)))
        .collect()
}

/// The failures the application's profile was left with, by CKR name.
fn final_errors(record: &Record) -> BTreeMap<String, u32> {
    let mut out: BTreeMap<String, u32> = BTreeMap::new();
    for stamped in &record.events {
        if let sim::record::Event::React(react) = &stamped.event
            && let Some(rv) = react.stands
        {
            let n = out.entry(rv.name()).or_insert(0);
            *n = n.saturating_add(1);
        }
    }
    out
}

fn render_errors(errors: &BTreeMap<String, u32>) -> String {
    if errors.is_empty() {
        return "no errors".to_string();
    }
    errors
        .iter()
        .map(|(k, n)| format!("{k} x{n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nearest_line_is_found_in_linear_time_even_for_huge_lines() {
        let log = [
            "Wed Oct  4 16:29:21 2017 : [17469] HA group: 111 management thread started",
            "Wed Oct  4 16:29:31 2017 : [17469] HA group: 111 has dropped member: 22",
        ];
        let want = "Wed Oct  4 16:29:32 2017 : [17469] HA group: 111 has dropped member: 22";
        assert_eq!(nearest(want, &log), Some((1, log[1])));
        // A 40 000-character expectation against a long log reports at once.
        let huge = "x".repeat(40_000);
        let lines: Vec<String> = (0..1000)
            .map(|i| format!("{i} {}", "y".repeat(40_000)))
            .collect();
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        assert_eq!(nearest(&huge, &refs).map(|(i, _)| i), Some(0));
    }
}
