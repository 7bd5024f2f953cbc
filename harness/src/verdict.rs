//! A scenario's own verdict: its expectations checked against what the run observed. Each
//! failure is a readable message with a diff (`-` expected, `+` what happened).

use std::collections::BTreeMap;

use similar::TextDiff;

use crate::runner::Run;
use crate::scenario::{Expect, Scenario, Serial};

/// Checks every expectation; returns the failures (empty when the scenario passes).
pub fn check(scenario: &Scenario, run: &Run) -> Vec<String> {
    let mut failures = Vec::new();
    if let Some(reason) = &run.aborted {
        failures.push(format!("the run stopped early: {reason}"));
    }
    check_log_order(scenario, run, &mut failures);
    for (i, expect) in scenario.expect.iter().enumerate() {
        let place = format!("expect[{i}]");
        match expect {
            Expect::Log(_) => {}
            Expect::LogCount(line, n) => {
                let seen = run.log_lines.iter().filter(|l| *l == line).count();
                if seen != *n as usize {
                    failures.push(format!(
                        "{place}: LogCount wants this line exactly {n} time(s), the HA log has it {seen} time(s):\n  {line}"
                    ));
                }
            }
            Expect::NoLogContaining(text) => {
                if let Some(line) = run.log_lines.iter().find(|l| l.contains(text.as_str())) {
                    failures.push(format!(
                        "{place}: NoLogContaining({text:?}) but the HA log has:\n+ {line}"
                    ));
                }
            }
            Expect::ObjectCounts(want) => {
                compare_counts(&place, "at the end", want, &run.final_counts, &mut failures);
            }
            Expect::ObjectCountsAt(label, want) => {
                match run.checkpoints.iter().find(|(l, _)| l == label) {
                    Some((_, got)) => compare_counts(
                        &place,
                        &format!("at checkpoint \"{label}\""),
                        want,
                        got,
                        &mut failures,
                    ),
                    None => {
                        failures.push(format!("{place}: no checkpoint \"{label}\" was reached"))
                    }
                }
            }
            Expect::NoAppErrors => {
                let errors = app_errors(run);
                if !errors.is_empty() {
                    failures.push(format!(
                        "{place}: NoAppErrors, but the application saw {}",
                        render_errors(&errors)
                    ));
                }
            }
            Expect::AppErrors(want) => {
                let got = app_errors(run);
                if &got != want {
                    failures.push(format!(
                        "{place}: AppErrors\n- {}\n+ {}",
                        render_errors(want),
                        render_errors(&got)
                    ));
                }
            }
            Expect::Output(line) => {
                if !run.output_lines.iter().any(|l| l == line) {
                    failures.push(format!("{place}: no command printed the line\n- {line}"));
                }
            }
        }
    }
    if let Some(case) = &scenario.negative {
        match &run.negative {
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
fn check_log_order(scenario: &Scenario, run: &Run, failures: &mut Vec<String>) {
    let mut from = 0;
    for (i, expect) in scenario.expect.iter().enumerate() {
        let Expect::Log(want) = expect else {
            continue;
        };
        match run.log_lines[from..].iter().position(|l| l == want) {
            Some(p) => from += p + 1,
            None => {
                let mut msg = format!(
                    "expect[{i}]: Log line not found in order (searched from HA log line {})\n- {want}",
                    from + 1
                );
                match nearest(want, &run.log_lines) {
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

fn nearest<'a>(want: &str, lines: &'a [String]) -> Option<(usize, &'a String)> {
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let ratio = TextDiff::from_chars(want, l.as_str()).ratio();
            ((ratio * 1_000_000.0) as u64, i, l)
        })
        .max_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)))
        .map(|(_, i, l)| (i, l))
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

fn app_errors(run: &Run) -> BTreeMap<String, u32> {
    let mut out = BTreeMap::new();
    for r in run.app_results.iter().filter(|r| *r != "CKR_OK") {
        *out.entry(r.clone()).or_insert(0) += 1;
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
