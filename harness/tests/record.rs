//! The run record (`sim::record::Record`): what the runner writes, what the transcript renders
//! and what the verdict reads.

use harness::scenario::parse_str;
use harness::suite;
use harness::transcript::render;
use sim::record::Event;

const SCENARIO: &str = r#"Scenario(
    version: 1,
    name: "record",
    partitions: [(serial: 11, label: "a"), (serial: 22, label: "b")],
    setup: [
        "hagroup creategroup -label g -serialnumber 11",
        "hagroup addmember -group g -serialnumber 22",
        "hagroup halog -path /ha-logs",
    ],
    steps: [
        App(OpenSession), App(Login),
        App(GenerateKey(label: "k", kind: Aes256)),
        App(Sign(key: "k", times: 4000)),
        Fault(Drop(22)),
        Fault(Drop(11)),
        App(Sign(key: "k", times: 3)),
        Checkpoint("c"),
    ],
    expect: [
        Log("x"),
        ObjectCountsAt("c", {11: 1, 22: 1}),
        AppErrors({"CKR_DEVICE_ERROR": 1, "CKR_SESSION_HANDLE_INVALID": 2}),
    ],
)"#;

fn outcome() -> suite::Outcome {
    let scenario = parse_str(SCENARIO, "record.ron").expect("valid scenario");
    suite::run_scenario(scenario, "record.ron").expect("runs")
}

#[test]
fn identical_calls_are_one_entry_however_many_there_are() {
    let outcome = outcome();
    let runs: Vec<_> = outcome
        .record
        .events
        .iter()
        .filter_map(|s| match &s.event {
            Event::Calls(run) => Some(run),
            _ => None,
        })
        .collect();
    let first = runs.first().expect("a run of signs");
    assert_eq!(
        (first.op.as_str(), first.first, first.count),
        ("Sign(k)", 1, 4000)
    );
    assert_eq!(first.served.values().sum::<u64>(), 4000);
    assert_eq!(first.served.len(), 2, "{:?}", first.served);
    let total: u64 = runs.iter().map(|r| r.count).sum();
    assert_eq!(total, 4003);
}

#[test]
fn the_transcript_is_the_rendered_record_and_the_verdict_reads_the_record() {
    let outcome = outcome();
    assert_eq!(outcome.transcript(), render(&outcome.record));
    assert!(
        outcome
            .transcript()
            .contains("app   Sign(k) #1-4000 -> CKR_OK x4000  [served by 11 x2000, 22 x2000]\n"),
        "{}",
        outcome.transcript()
    );
    // Both members dropped: the first sign fails, the others find the session gone with the
    // login (activeBasic, D11); `AppErrors` holds, the drops are in the HA
    // log; `Log("x")` is not there, and that is the only failure.
    let log: Vec<&str> = outcome.record.log_lines().collect();
    assert!(
        log.iter().any(|l| l.ends_with("has dropped member: 22")),
        "{log:?}"
    );
    assert_eq!(outcome.failures.len(), 1, "{:?}", outcome.failures);
    assert!(outcome.failures[0].contains("Log line not found"));
    assert!(outcome.record.templates.contains("HALOG_DROPMEMBER"));
}

#[test]
fn two_runs_of_a_file_are_compared_line_by_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("record.ron");
    std::fs::write(&path, SCENARIO).expect("write");
    let check = suite::check_determinism(&path).expect("runs");
    assert_eq!(check.first_difference, None);
    assert_eq!(check.transcript, check.outcome.transcript());
}
