//! A credential typed on a command line never shows: `scenarios/bad-input/password-spellings.ron`
//! types a canary in at least 25 spellings (setup, steps, the negative case); the canary must
//! appear nowhere in `hasim run`'s stdout or stderr with `RUST_LOG=trace`, in any snapshot, or
//! in a `hasim lunacm` session fed the same lines.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const CANARY: &str = "Kanary7Secret";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

fn scenario() -> PathBuf {
    root().join("scenarios/bad-input/password-spellings.ron")
}

/// The command lines of the scenario that carry the canary.
fn spellings() -> Vec<String> {
    let text = std::fs::read_to_string(scenario()).expect("scenario");
    text.lines()
        .filter(|l| l.contains(CANARY) && !l.trim_start().starts_with("//"))
        .map(|l| {
            let start = l.find('"').expect("a quoted line") + 1;
            let end = l.rfind('"').expect("a quoted line");
            l[start..end].replace("\\\"", "\"")
        })
        .collect()
}

fn hasim(args: &[&str], stdin: &[u8]) -> (String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hasim"))
        .args(args)
        .env("RUST_LOG", "trace")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("hasim starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin)
        .expect("write");
    let out = child.wait_with_output().expect("hasim ends");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_scenario_types_at_least_25_spellings() {
    let lines = spellings();
    assert!(lines.len() >= 25, "{} spellings: {lines:#?}", lines.len());
}

/// Neither the standard output nor the standard error shows the canary credential.
fn assert_no_canary(stdout: &str, stderr: &str) {
    assert!(
        !stdout.contains(CANARY),
        "stdout shows the credential:\n{stdout}"
    );
    assert!(
        !stderr.contains(CANARY),
        "stderr shows the credential:\n{stderr}"
    );
}

#[test]
fn run_with_trace_never_shows_the_canary() {
    let file = scenario().display().to_string();
    let (stdout, stderr) = hasim(&["run", &file], b"");
    assert!(stdout.contains("PASSED"), "{stdout}");
    assert_no_canary(&stdout, &stderr);
    // Every typed line is in the transcript, redacted.
    let shown = stdout
        .lines()
        .filter(|l| l.contains("] > ") && l.contains("********"))
        .count();
    assert!(
        shown >= spellings().len(),
        "{shown} redacted lines:\n{stdout}"
    );
}

#[test]
fn no_snapshot_shows_the_canary() {
    let mut stack = vec![root().join("snapshots")];
    let mut seen = 0;
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("snapshots") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let text = std::fs::read_to_string(&path).expect("snapshot");
                assert!(
                    !text.contains(CANARY),
                    "{} shows the credential",
                    path.display()
                );
                seen += 1;
            }
        }
    }
    let own = root().join("snapshots/bad-input/password-spellings.snap");
    assert!(own.exists() && seen > 100, "{seen} snapshots read");
}

#[test]
fn the_prompt_never_shows_the_canary() {
    let file = scenario().display().to_string();
    let mut input = spellings().join("\n");
    input.push_str("\nexit\n");
    let (stdout, stderr) = hasim(&["lunacm", &file], input.as_bytes());
    assert!(
        stdout.contains("lunacm:> hagroup halog -p ********"),
        "{stdout}"
    );
    assert_no_canary(&stdout, &stderr);
}
