//! `hasim lunacm <scenario.ron>`: LunaCM command lines piped into the binary are echoed after
//! `lunacm:> ` and answered exactly as LunaCM prints them; the scenario's setup runs first; the
//! fixture credential never appears; a malformed file exits 2.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

const SCENARIO: &str = r#"Scenario(
    version: 1,
    name: "lunacm prompt test",
    credentials: (co: "never-printed-co"),
    partitions: [
        (serial: 11, label: "a"),
        (serial: 22, label: "b"),
    ],
    setup: [
        "hagroup creategroup -label g -serialnumber 11",
        "hagroup addmember -group g -serialnumber 22",
    ],
    expect: [Log("x"), ObjectCounts({11: 0})],
)
"#;

fn lunacm(file: &str, stdin: &str) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hasim"))
        .args(["lunacm", file])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("hasim starts");
    // A malformed scenario makes hasim exit before reading: a broken pipe is expected then.
    let _ = child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes());
    let out = child.wait_with_output().expect("hasim ends");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn write(dir: &Path, text: &str) -> String {
    let path = dir.join("prompt.ron");
    std::fs::write(&path, text).expect("write scenario");
    path.display().to_string()
}

#[test]
fn piped_commands_read_like_a_lunacm_session() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(dir.path(), SCENARIO);
    let input = "multitoken -mode aeskeygen -key 256 -nodestroy -slots 2 -count 2\n\
                 \n\
                 slot set -slot 1\n\
                 partition showinfo\n\
                 frobnicate\n\
                 quit\n\
                 slot list\n";
    let (code, stdout, stderr) = lunacm(&file, input);
    assert_eq!(code, 0, "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    let want = [
        "lunacm:> hagroup creategroup -label g -serialnumber 11",
        "        New group with label \"g\" created with group number 111.",
        "",
        "Command Result : No Error",
        "",
        "lunacm:> hagroup addmember -group g -serialnumber 22",
        "        Member 22 successfully added to group g.",
        "",
        "Command Result : No Error",
        "",
        "lunacm:> multitoken -mode aeskeygen -key 256 -nodestroy -slots 2 -count 2",
        "",
        "        multitoken: slot 2 (HA Virtual Card Slot g, serial 111), mode aeskeygen, key 256, count 2, -nodestroy",
        "        key 1 of 2: multitoken-aeskeygen-256-1  C_GenerateKey -> CKR_OK",
        "        key 2 of 2: multitoken-aeskeygen-256-2  C_GenerateKey -> CKR_OK",
        "        summary: 2 generated, 0 failed; 2 kept on the group (-nodestroy)",
        "",
        "Command Result : No Error",
        "",
        "lunacm:> slot set -slot 1",
        "",
        "        Current Slot Id:    1     (Luna User Slot 7.7.0 (PW) Signing With Cloning Mode)",
        "",
        "Command Result : No Error",
        "",
        "lunacm:> partition showinfo",
        "",
        "        Partition Storage:",
        "                Total Storage Space:  325896",
        "                Used Storage Space:   10704",
        "                Free Storage Space:   315192",
        "                Object Count:         2",
        "                Overhead:             9648",
        "",
        "Command Result : No Error",
        "",
        "lunacm:> frobnicate",
        "Error: unknown command 'frobnicate' (supported: hagroup, partition, slot, multitoken)",
        "",
        "Command Result : Invalid Argument",
        "",
        "lunacm:> quit",
    ];
    assert_eq!(lines, want);
    assert!(!stdout.contains("never-printed-co") && !stderr.contains("never-printed-co"));
}

#[test]
fn end_of_input_ends_the_session() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(dir.path(), SCENARIO);
    let (code, stdout, _) = lunacm(&file, "slot list");
    assert_eq!(code, 0);
    assert!(
        stdout.ends_with(
            "lunacm:> slot list\n\
             \n\
             \x20       Slot Id ->              0\n\
             \x20       Label ->                a\n\
             \x20       Serial Number ->        11\n\
             \x20       Slot Description ->     Luna User Slot\n\
             \n\
             \x20       Slot Id ->              1\n\
             \x20       Label ->                b\n\
             \x20       Serial Number ->        22\n\
             \x20       Slot Description ->     Luna User Slot\n\
             \n\
             \x20       Slot Id ->              2\n\
             \x20       Label ->                g\n\
             \x20       Serial Number ->        111\n\
             \x20       Slot Description ->     HA Virtual Card Slot\n\
             \n\
             \x20       Current Slot Id:    0     (Luna User Slot 7.7.0 (PW) Signing With Cloning Mode)\n\
             \n\
             Command Result : No Error\n\n"
        ),
        "{stdout}"
    );
}

#[test]
fn a_malformed_scenario_exits_2_with_file_line_col() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(
        dir.path(),
        &SCENARIO.replace("name: \"lunacm prompt test\",", "name: 7,"),
    );
    let (code, stdout, stderr) = lunacm(&file, "slot list\n");
    assert_eq!(code, 2);
    assert_eq!(stdout, "");
    assert!(stderr.starts_with(&format!("{file}:3:11: ")), "{stderr}");
}

const CONF_SCENARIO: &str = r#"Scenario(
    version: 1,
    name: "lunacm prompt over a conf",
    partitions: [
        (serial: 11, label: "a"),
        (serial: 22, label: "b"),
    ],
    conf: "VirtualToken = {\n   VirtualToken00Label = fromConf;\n   VirtualToken00SN = 111;\n   VirtualToken00Members = 11, 22;\n}\nHAConfiguration = {\n   reconnAtt = 7;\n}\n",
    expect: [Log("x"), ObjectCounts({11: 0})],
)
"#;

#[test]
fn the_prompt_starts_from_the_scenarios_conf() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(dir.path(), CONF_SCENARIO);
    let (code, stdout, stderr) = lunacm(&file, "hagroup listgroups\n");
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("         HA Group Label:  fromConf\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("   Maximum auto recovery retry:  7\n"),
        "{stdout}"
    );
    assert!(!stdout.contains("No HA groups are configured"), "{stdout}");
}

#[test]
fn a_conf_that_cannot_be_read_refuses_the_prompt_with_its_place() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broken = CONF_SCENARIO.replace("reconnAtt = 7;", "reconnAtt = 7");
    let file = write(dir.path(), &broken);
    let (code, stdout, stderr) = lunacm(&file, "hagroup listgroups\n");
    assert_eq!(code, 2, "{stdout}");
    assert!(
        stderr.contains("prompt.ron: conf: Chrystoki.conf:7:") && stderr.contains("'reconnAtt'"),
        "{stderr}"
    );
    assert!(stdout.is_empty(), "{stdout}");
}

#[test]
fn control_characters_and_invalid_utf8_are_never_written_raw() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(dir.path(), SCENARIO);
    let mut input = b"slot set -slot \x1b[2J\x00\n".to_vec();
    input.extend_from_slice(b"hagroup listgroups \xff\xfe\n");
    input.extend_from_slice(b"exit\n");
    let mut child = Command::new(env!("CARGO_BIN_EXE_hasim"))
        .args(["lunacm", &file])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("hasim starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&input)
        .expect("write");
    let out = child.wait_with_output().expect("hasim ends");
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8(out.stdout).expect("utf-8 output");
    assert!(
        !stdout.contains('\x1b') && !stdout.contains('\0'),
        "{stdout:?}"
    );
    assert!(
        stdout.contains("lunacm:> slot set -slot \\x1b[2J\\0\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Error: slot set: -slot needs a whole number, got '\\x1b[2J\\0'"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Error: stdin:2:20: invalid UTF-8 (byte offset 40); the line is skipped"),
        "{stdout}"
    );
}
