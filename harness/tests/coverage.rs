//! `harness::coverage::compute` on a one-scenario folder: the templates its run emitted are
//! covered by that file, the others are not, the rules it names list it, and the verdict is
//! "not complete".

use harness::coverage::{self, CoverageError, Verdict};
use harness::suite::SuiteError;

/// A copy of `scenarios/failover/two-members-drop-and-recover.ron`.
const DROP_AND_RECOVER: &str = r#"// Two members; one drops while the application signs; a key made during the outage is
// reintroduced when auto-recovery brings the member back.
Scenario(
    version: 1,
    name: "two members: drop one; objects made meanwhile are reintroduced on recovery",
    rules: ["B2", "B17", "B18", "B25", "B29", "B43", "B44", "B63", "D3", "D6", "D9", "D19"],
    portable: true,
    partitions: [
        (serial: 1234840370164, label: "par0", domain: "dom1"),
        (serial: 1234924189183, label: "par1", domain: "dom1"),
    ],
    setup: [
        "hagroup creategroup -label haGroup1 -serialnumber 1234840370164",
        "hagroup addmember -group haGroup1 -serialnumber 1234924189183",
        "hagroup retry -count 3",
        "hagroup halog -path /ha-logs",
    ],
    steps: [
        App(OpenSession), App(Login),
        App(GenerateKey(label: "k1", kind: Aes256)),
        App(Sign(key: "k1", times: 4)),
        Checkpoint("before the drop"),
        At(10, Drop(1234924189183)),
        App(Sign(key: "k1", times: 4)),
        App(GenerateKey(label: "k2", kind: EcP256)),
        Checkpoint("during the outage"),
        At(30, Restore(1234924189183)),
        Advance(60),
        Checkpoint("after recovery"),
        App(Sign(key: "k2", times: 2)),
    ],
    expect: [
        Log("Wed Oct  4 16:29:21 2017 : [17469] HA group: 11234840370164 management thread started"),
        Log("Wed Oct  4 16:29:21 2017 : [17469] HA group: 11234840370164 configured as a \"PASSWORD Based\" virtual device"),
        Log("Wed Oct  4 16:29:31 2017 : [17469] HA group: 11234840370164 has dropped member: 1234924189183"),
        Log("Wed Oct  4 16:30:31 2017 : [17469] HA group: 11234840370164 recovery attempt 1 reintroducing 2 token objects to recovered token 1234924189183"),
        Log("Wed Oct  4 16:30:31 2017 : [17469] HA group: 11234840370164 recovery attempt 1 succeeded for member: 1234924189183"),
        ObjectCountsAt("during the outage", {1234840370164: 3, 1234924189183: 1}),
        ObjectCountsAt("after recovery", {1234840370164: 3, 1234924189183: 3}),
        ObjectCounts({1234840370164: 3, 1234924189183: 3}),
        NoAppErrors,
    ],
)
"#;

const FILE: &str = "failover/drop-and-recover.ron";

fn one_scenario_folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("failover")).expect("mkdir");
    std::fs::write(dir.path().join(FILE), DROP_AND_RECOVER).expect("write scenario");
    dir
}

#[test]
fn one_scenario_covers_what_its_run_emitted_and_the_rules_it_names() {
    let dir = one_scenario_folder();
    let cov = coverage::compute(dir.path()).expect("coverage computes");

    assert_eq!(cov.scenarios.len(), 1);
    assert_eq!(cov.scenarios[0].name, FILE);

    // Emitted by the run: the drop, the reintroduction, the recovery, the start-up lines.
    for id in [
        "HALOG_DROPMEMBER",
        "HALOG_RECOVERY_ATTEMPT_#_REINTRODUCING",
        "HALOG_RECOVERED",
        "HALOG_MGMT_THREAD_START",
        "HALOG_CONFIGURED_AS_PASSWORD",
    ] {
        assert_eq!(cov.template(id).expect(id).scenarios, [FILE], "{id}");
    }
    // Never emitted: the recovery succeeded at the first attempt.
    let failed = cov.template("HALOG_RECOVERYFAILED").expect("in catalogue");
    assert!(failed.scenarios.is_empty());
    let uncovered: Vec<&str> = cov
        .uncovered_templates()
        .iter()
        .map(|t| t.entry.id)
        .collect();
    assert!(uncovered.contains(&"HALOG_RECOVERYFAILED"), "{uncovered:?}");
    assert!(!uncovered.contains(&"HALOG_DROPMEMBER"), "{uncovered:?}");
    // Deprecated templates are never counted as uncovered.
    assert!(!uncovered.contains(&"HALOG_RENABLEMEMBER"), "{uncovered:?}");

    // A rule the scenario names lists the file; one it does not name lists nothing.
    let b29 = cov.rule("B29").expect("B29");
    assert!(b29.rule.required);
    assert_eq!(b29.scenarios, [FILE]);
    assert_eq!(cov.rule("D19").expect("D19").scenarios, [FILE]);
    assert!(cov.rule("B49").expect("B49").scenarios.is_empty());
    let uncovered_rules: Vec<&str> = cov
        .uncovered_required_rules()
        .iter()
        .map(|r| r.rule.id.as_str())
        .collect();
    assert!(uncovered_rules.contains(&"B49"));
    assert!(!uncovered_rules.contains(&"B29"));
    // Not required, not named: not reported as uncovered.
    assert!(!uncovered_rules.contains(&"B7"));
    assert!(cov.unknown_rules.is_empty());

    assert_eq!(cov.verdict(), Verdict::NotComplete);
    assert_eq!(cov.verdict().to_string(), "not complete");

    let report = cov.render();
    assert!(
        report.contains(&format!("HALOG_DROPMEMBER\n    emitted by: {FILE}\n")),
        "{report}"
    );
    assert!(
        report.contains("HALOG_RECOVERYFAILED\n    emitted by: none\n"),
        "{report}"
    );
    assert!(report.contains("coverage: not complete\n"), "{report}");
    let last = report.lines().last().expect("a last line");
    assert_eq!(last, cov.summary_line());
    assert!(last.starts_with("templates: 5/"), "{last}");
}

#[test]
fn the_report_is_deterministic() {
    let dir = one_scenario_folder();
    let a = coverage::compute(dir.path()).expect("first").render();
    let b = coverage::compute(dir.path()).expect("second").render();
    assert_eq!(a, b);
}

#[test]
fn a_malformed_scenario_is_an_error_with_its_position() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bad.ron");
    std::fs::write(&path, "Scenario(\n    version: 1,\n    name: 7,\n)\n").expect("write");
    let err = coverage::compute(dir.path()).expect_err("malformed");
    assert!(
        matches!(err, CoverageError::Suite(SuiteError::Load(_))),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.starts_with(&format!("{}:3:11:", path.display())),
        "{text}"
    );
}

#[test]
fn a_missing_folder_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let err = coverage::compute(&dir.path().join("nope")).expect_err("missing");
    assert!(matches!(err, CoverageError::Suite(_)), "{err:?}");
    let empty = coverage::compute(dir.path()).expect_err("empty");
    assert!(
        matches!(empty, CoverageError::NoScenarios { .. }),
        "{empty:?}"
    );
}

/// Issue rule: every non-deprecated HA log template and every required rule is exercised by the
/// repository's own scenarios (templates only count when the engine emitted them).
#[test]
fn the_repository_scenarios_cover_every_template_and_required_rule() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .join("scenarios");
    let coverage = harness::coverage::compute(&root).expect("the scenarios run");
    let templates: Vec<&str> = coverage
        .uncovered_templates()
        .iter()
        .map(|t| t.entry.id)
        .collect();
    let rules: Vec<&str> = coverage
        .uncovered_required_rules()
        .iter()
        .map(|r| r.rule.id.as_str())
        .collect();
    assert!(templates.is_empty(), "uncovered templates: {templates:?}");
    assert!(rules.is_empty(), "uncovered required rules: {rules:?}");
}
