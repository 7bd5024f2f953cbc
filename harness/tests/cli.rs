//! `hasim run` exit statuses: 0 when every expectation holds, 1 with a readable diff when one
//! does not, 2 with `file:line:col` for a malformed file; and the folder summary line.

use std::path::Path;
use std::process::Command;

const GOOD: &str = r#"Scenario(
    version: 1,
    name: "cli test: a drop is logged",
    partitions: [
        (serial: 11, label: "a"),
        (serial: 22, label: "b"),
    ],
    setup: [
        "hagroup creategroup -label g -serialnumber 11",
        "hagroup addmember -group g -serialnumber 22",
        "hagroup halog -path /ha-logs",
    ],
    steps: [
        App(OpenSession), App(Login),
        App(GenerateKey(label: "k", kind: Aes128)),
        At(5, Drop(22)),
        App(Sign(key: "k", times: 2)),
    ],
    expect: [
        Log("Wed Oct  4 16:29:26 2017 : [17469] HA group: 111 has dropped member: 22"),
        ObjectCounts({11: 1, 22: 1}),
        NoAppErrors,
    ],
)
"#;

fn hasim(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_hasim"))
        .args(args)
        .output()
        .expect("hasim runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write scenario");
    path.display().to_string()
}

#[test]
fn passing_scenario_exits_0_with_its_transcript() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(dir.path(), "good.ron", GOOD);
    let (code, stdout, _) = hasim(&["run", &file]);
    assert_eq!(code, 0, "{stdout}");
    assert!(
        stdout.contains(
            "log   Wed Oct  4 16:29:26 2017 : [17469] HA group: 111 has dropped member: 22"
        )
    );
}

#[test]
fn wrong_expectation_exits_1_with_a_diff() {
    let dir = tempfile::tempdir().expect("tempdir");
    let wrong = GOOD
        .replace(
            "16:29:26 2017 : [17469] HA group: 111 has dropped",
            "16:29:27 2017 : [17469] HA group: 111 has dropped",
        )
        .replace(
            "ObjectCounts({11: 1, 22: 1})",
            "ObjectCounts({11: 1, 22: 2})",
        );
    let file = write(dir.path(), "wrong.ron", &wrong);
    let (code, stdout, _) = hasim(&["run", &file]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout
            .contains("- Wed Oct  4 16:29:27 2017 : [17469] HA group: 111 has dropped member: 22"),
        "{stdout}"
    );
    assert!(
        stdout
            .contains("+ Wed Oct  4 16:29:26 2017 : [17469] HA group: 111 has dropped member: 22"),
        "{stdout}"
    );
    assert!(
        stdout.contains("object count of 22 at the end\n- 2\n+ 1"),
        "{stdout}"
    );
}

#[test]
fn malformed_scenario_exits_2_with_file_line_col() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broken = GOOD.replace("name: \"cli test: a drop is logged\",", "name: 42,");
    let file = write(dir.path(), "broken.ron", &broken);
    let (code, _, stderr) = hasim(&["run", &file]);
    assert_eq!(code, 2);
    assert!(stderr.starts_with(&format!("{file}:3:11: ")), "{stderr}");
}

#[test]
fn folder_run_prints_a_line_each_and_the_summary() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "a-good.ron", GOOD);
    write(
        dir.path(),
        "b-wrong.ron",
        &GOOD.replace("{11: 1, 22: 1}", "{11: 5, 22: 1}"),
    );
    let (code, stdout, _) = hasim(&["run", &dir.path().display().to_string()]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.starts_with("ok      a-good.ron\nFAILED  b-wrong.ron\n"),
        "{stdout}"
    );
    assert!(stdout.ends_with("1 passed, 1 failed\n"), "{stdout}");
}

/// Determinism across processes: two separate `hasim run` processes print byte-identical
/// transcripts for a scenario with seeded interleaving of several threads.
#[test]
fn two_processes_print_the_same_transcript() {
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .join("scenarios/failover/threads-least-busy-and-inflight-drop.ron");
    let file = scenario.display().to_string();
    let (code_a, first, _) = hasim(&["run", &file]);
    let (code_b, second, _) = hasim(&["run", &file]);
    assert_eq!((code_a, code_b), (0, 0), "{first}");
    assert!(first.contains("threads start"), "{first}");
    assert_eq!(first, second);
}

#[test]
fn a_conf_that_cannot_be_read_exits_2_with_its_place() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = GOOD.replace(
        "    setup: [",
        "    conf: \"HAConfiguration = {\\n   reconnAtt = 501;\\n}\\n\",\n    setup: [",
    );
    let file = write(dir.path(), "bad-conf.ron", &bad);
    let (code, stdout, stderr) = hasim(&["run", &file]);
    assert_eq!(code, 2, "{stdout}");
    assert!(
        stderr.contains(
            "bad-conf.ron: conf: Chrystoki.conf:2:16: [HAConfiguration] reconnAtt = 501 is out of range: allowed 0 (disable), -1 (unlimited) or 1..500 (B39)"
        ),
        "{stderr}"
    );
}

#[test]
fn invalid_utf8_in_a_file_is_reported_with_its_place_and_byte_offset() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("latin1.ron");
    let mut bytes = GOOD.as_bytes().to_vec();
    // "name: \"cli test" gets a Latin-1 byte after `cli`.
    let at = GOOD.find("cli test").expect("name") + 3;
    bytes.insert(at, 0xe9);
    std::fs::write(&path, &bytes).expect("write");
    let (code, _, stderr) = hasim(&["run", &path.display().to_string()]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains(&format!(
            "latin1.ron:3:15: invalid UTF-8 (byte offset {at})"
        )),
        "{stderr}"
    );
}
