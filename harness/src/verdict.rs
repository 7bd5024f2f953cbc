//! A scenario's own verdict: its expectations checked against the run's record (never its
//! rendered text). Each failure is a readable message with a diff (`-` expected, `+` what
//! happened).

use std::collections::BTreeMap;

use ha_engine::Ckr;
use sim::record::Record;
use similar::TextDiff;

use crate::scenario::{Expect, Scenario, Serial};

/// Checks every expectation; returns the failures (empty when the scenario passes).
pub fn check(scenario: &Scenario, record: &Record) -> Vec<String> {
    let mut failures = Vec::new();
    if let Some(reason) = record.aborted() {
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
            Expect::Output(line) => {
                if !record.output_lines().any(|l| l == line) {
                    failures.push(format!("{place}: no command printed the line\n- {line}"));
                }
            }
        }
    }
    if let Some(case) = &scenario.negative {
        match record.negative() {
            None => failures.push("negative: the input was never applied".to_string()),
            Some(outcome) => {
                match &outcome.refusal {
                    None => failures.push(format!(
                        "negative: the input was accepted, but it must be refused with\n- {}",
                        case.error
                    )),
                    Some(got) if *got != case.error => failures.push(format!(
                        "negative: the refusal differs\n- {}\n+ {got}",
                        case.error
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

fn nearest<'a>(want: &str, lines: &[&'a str]) -> Option<(usize, &'a str)> {
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let ratio = TextDiff::from_chars(want, *l).ratio();
            ((ratio * 1_000_000.0) as u64, i, l)
        })
        .max_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)))
        .map(|(_, i, l)| (i, *l))
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
