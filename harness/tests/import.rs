//! `hasim import`: logs hasim itself wrote come back exactly; hand-written logs in the vendor's
//! format (rotated files, two processes) are read in order and diffed; a line hasim cannot
//! interpret is reported with its file and line number.

use std::path::{Path, PathBuf};
use std::process::Command;

use harness::import::{self, Import, logdir};
use harness::suite;
use sim::record::Event;

fn scenarios() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios")
}

/// Runs a scenario and imports what it left: its HA log files and its final Chrystoki.conf.
fn round_trip(rel: &str) -> Import {
    let outcome = suite::run_file(&scenarios().join(rel)).expect("runs");
    let record = &outcome.record;
    let (name, conf) = record
        .events
        .iter()
        .find_map(|s| match &s.event {
            Event::ConfFile { name, text } => Some((name.clone(), text.clone())),
            _ => None,
        })
        .expect("a Chrystoki.conf");
    let files = import::log_files_of(record, "/ha-logs");
    assert!(!files.is_empty(), "{rel}: no log files");
    let dir = logdir::from_texts(files);
    import::import(&conf, &name, &name, &dir, "/ha-logs", None)
        .unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Every scenario's log, imported: which reproduce (run with `--ignored --nocapture`).
#[test]
#[ignore = "a survey, not a check: prints which scenarios round-trip"]
fn survey_of_every_scenario() {
    let files = suite::discover(&scenarios()).expect("scenarios");
    for file in files {
        let rel = suite::scenario_name(&scenarios(), &file);
        let outcome = suite::run_file(&file).expect("runs");
        if import::log_files_of(&outcome.record, "/ha-logs").is_empty() {
            continue;
        }
        let has_conf = outcome
            .record
            .events
            .iter()
            .any(|s| matches!(s.event, Event::ConfFile { .. }));
        if !has_conf {
            println!("NO CONF {rel}");
            continue;
        }
        let result = std::panic::catch_unwind(|| round_trip(&rel));
        match result {
            Ok(i) if i.agrees() => println!("SAME    {rel} ({} lines)", i.real.len()),
            Ok(i) => println!("DIFFERS {rel}\n{}", i.report),
            Err(_) => println!("PANIC   {rel}"),
        }
    }
}

/// Logs hasim wrote itself come back line for line: the scenarios whose log says everything
/// that happened to the members. (The survey above lists the others and why they differ: the
/// group number changed during the run, so the final configuration does not name the group
/// the log was written for; a PED group; a log that starts after the run began.)
#[test]
fn hasims_own_logs_round_trip_exactly() {
    for rel in [
        "failover/two-members-drop-and-recover.ron",
        "failover/three-members-primary-lost.ron",
        "failover/two-groups-one-client.ron",
        "failover/deactivation-without-failover-flag.ron",
        "failover/all-members-offline-then-one-back.ron",
        "failover/new-member-at-runtime.ron",
        "failover/threads-least-busy-and-inflight-drop.ron",
        "standby/standby-promoted-when-actives-lost.ron",
        "recovery/revoked-member.ron",
        "recovery/login-failure-disables-recovery.ron",
        "recovery/not-activated-at-initialize.ron",
        "recovery/unreachable-at-initialize.ron",
        "recovery/bounded-retries-exhaust.ron",
        "recovery/manual-recover-after-exhaustion.ron",
        "recovery/application-restart-needs-sync.ron",
        "recovery/unlimited-retries.ron",
        "logging/rotation-tiny-loglen.ron",
    ] {
        let i = round_trip(rel);
        assert!(i.agrees(), "{rel}:\n{}", i.report);
        assert!(i.uninterpretable.is_empty(), "{rel}");
        assert!(
            i.report
                .contains("the prediction reproduces the real log exactly"),
            "{rel}: {}",
            i.report
        );
    }
    // Rotated files are read in order.
    let outcome =
        suite::run_file(&scenarios().join("logging/rotation-tiny-loglen.ron")).expect("runs");
    assert!(import::log_files_of(&outcome.record, "/ha-logs").len() > 1);
}

#[test]
fn a_group_made_ped_based_is_imported_as_password_based_and_the_diff_says_so() {
    let i = round_trip("failover/ped-group-device-type.ron");
    assert!(!i.agrees());
    assert!(
        i.report.contains("imported as password-based"),
        "{}",
        i.report
    );
    assert!(i.report.contains("- haErrorLog.txt:2: "), "{}", i.report);
    assert!(
        i.report
            .contains("configured as a \"PED Based\" virtual device")
    );
    assert!(
        i.report
            .contains("1 lines agree, 1 only in the real log, 1 only in hasim's prediction")
    );
}

const CONF: &str = "Chrystoki2 = {
   LibUNIX64 = /usr/safenet/lunaclient/lib/libCryptoki2_64.so;
}

VirtualToken = {
   VirtualToken00Label = prodHA;
   VirtualToken00SN = 1154438865287;
   VirtualToken00Members = 154438865287,1238700701509;
}

HAConfiguration = {
   reconnAtt = 3;
   AutoReconnectInterval = 60;
   HAOnly = 1;
   haLogStatus = enabled;
   haLogPath = /usr/safenet/lunaclient/log;
   logLen = 100000000;
}

HASynchronize = {
   prodHA = 1;
}
";

const P: &str = "HA group: 1154438865287";

/// A production log in the vendor's format, written by hand: two processes (4242, 5151) in
/// one set of files, rotated three times; `attempt1` is the second of process 4242's
/// recovery attempts' time.
fn vendor_log(attempt1: &str, current_extra: &[&str]) -> Vec<(String, String)> {
    let a = format!(
        "Tue Mar 12 10:14:02 2024 : [4242] {P} management thread started\n\
         Tue Mar 12 10:14:02 2024 : [4242] {P} configured as a \"PASSWORD Based\" virtual device\n\
         Tue Mar 12 10:14:05 2024 : [5151] {P} management thread started\n"
    );
    let b = format!(
        "Tue Mar 12 10:14:40 2024 : [4242] {P} has dropped member: 1238700701509\n\
         Tue Mar 12 {attempt1} 2024 : [4242] {P} recovery attempt 1 failed for member: 1238700701509. Code: 0x30 : CKR_DEVICE_ERROR.\n"
    );
    let c = format!("Tue Mar 12 10:15:40 2024 : [5151] {P} management thread terminated\n");
    let mut d = String::new();
    for extra in current_extra {
        d.push_str(extra);
        d.push('\n');
    }
    d.push_str(&format!(
        "Tue Mar 12 10:16:40 2024 : [4242] {P} recovery attempt 2 reintroducing 3 token objects to recovered token 1238700701509\n\
         Tue Mar 12 10:16:40 2024 : [4242] {P} recovery attempt 2 succeeded for member: 1238700701509\n"
    ));
    // Handed over out of order: reading puts them right.
    vec![
        ("haErrorLog.txt".to_string(), d),
        ("haErrorLog.txt.20240312101540.1".to_string(), c),
        ("haErrorLog.txt.20240312101440".to_string(), a),
        ("haErrorLog.txt.20240312101540".to_string(), b),
    ]
}

fn import_vendor(
    files: Vec<(String, String)>,
    pid: Option<u32>,
) -> Result<Import, import::ImportError> {
    let dir = logdir::from_texts(files);
    import::import(
        CONF,
        "Chrystoki.conf",
        "Chrystoki.conf",
        &dir,
        "/var/log/luna",
        pid,
    )
}

#[test]
fn two_processes_in_one_log_are_refused_naming_the_pids() {
    let err = import_vendor(vendor_log("10:15:40", &[]), None).expect_err("refused");
    assert_eq!(
        err.to_string(),
        "the log holds the lines of 2 client processes (pid 4242: 6 lines, pid 5151: 2 lines): one scenario is one process; choose one with --pid"
    );
    let err = import_vendor(vendor_log("10:15:40", &[]), Some(7)).expect_err("refused");
    assert_eq!(
        err.to_string(),
        "no line of the log is from pid 7 (it holds pid 4242, pid 5151)"
    );
}

#[test]
fn a_rotated_vendor_log_is_read_in_order_and_reproduced() {
    let i = import_vendor(vendor_log("10:15:40", &[]), Some(4242)).expect("imports");
    assert!(i.agrees(), "{}", i.report);
    assert_eq!(i.real.len(), 6);
    assert!(i.real[2].contains("has dropped member"), "{:?}", i.real);
    assert!(i.real[5].contains("succeeded"), "{:?}", i.real);
    assert!(i.report.contains(
        "read, in this order: haErrorLog.txt.20240312101440 (3 lines), haErrorLog.txt.20240312101540 (2 lines), haErrorLog.txt.20240312101540.1 (1 lines), haErrorLog.txt (2 lines)"
    ), "{}", i.report);
    assert!(
        i.report
            .contains("left out: 2 lines of other processes (--pid 5151: 2 lines)")
    );
    // The scenario: the clock and pid of the log, the settings of the conf, the drop at its
    // logged time noticed by a call, the member back after its last failed attempt, three
    // objects made while it was away.
    let s = &i.scenario;
    for needle in [
        "clock: (start: \"2024-03-12 10:14:02\", pid: 4242)",
        "\"hagroup creategroup -label prodHA -serialnumber 154438865287\"",
        "\"hagroup addmember -group prodHA -serialnumber 1238700701509\"",
        "\"hagroup retry -count 3\"",
        "\"hagroup haonly -enable\"",
        "\"hagroup halog -path /ha-logs\"",
        "\"hagroup halog -maxlength 100000000\"",
        "At(38, Drop(1238700701509)),",
        "App(GenerateSessionKey(label: \"probe1\", kind: Aes128)),",
        "At(99, Restore(1238700701509)),",
        "App(GenerateKey(label: \"obj3\", kind: Aes128)),",
        "// haErrorLog.txt.20240312101540:1: has dropped member: 1238700701509",
    ] {
        assert!(s.contains(needle), "{needle} missing from:\n{s}");
    }
    // It loads and passes on its own: its expectations are the real log.
    let scenario = harness::scenario::parse_str(s, "imported").expect("loads");
    let outcome = suite::run_scenario(scenario, "imported").expect("runs");
    assert!(outcome.passed(), "{:?}", outcome.failures);
}

#[test]
fn where_the_client_did_what_the_model_does_not_the_diff_shows_it() {
    // The real client tried again 30 s after the drop, although the interval is 60 s, and
    // only its next attempt, a minute later, succeeded. hasim tries once a minute: its first
    // attempt, at 10:15:40, finds the member back (it was back by 10:15:11 at the latest,
    // as far as the log tells) and succeeds a minute earlier than the real client did.
    let i = import_vendor(vendor_log("10:15:10", &[]), Some(4242)).expect("imports");
    assert!(!i.agrees());
    for line in [
        "- haErrorLog.txt.20240312101540:2: Tue Mar 12 10:15:10 2024 : [4242] HA group: 1154438865287 recovery attempt 1 failed for member: 1238700701509. Code: 0x30 : CKR_DEVICE_ERROR.",
        "- haErrorLog.txt:2: Tue Mar 12 10:16:40 2024 : [4242] HA group: 1154438865287 recovery attempt 2 succeeded for member: 1238700701509",
        "+ predicted:5: Tue Mar 12 10:15:40 2024 : [4242] HA group: 1154438865287 recovery attempt 1 succeeded for member: 1238700701509",
        "3 lines agree, 3 only in the real log, 2 only in hasim's prediction",
    ] {
        assert!(
            i.report.contains(line),
            "{line} missing from:\n{}",
            i.report
        );
    }
}

#[test]
fn a_line_hasim_cannot_interpret_is_reported_with_its_file_and_line() {
    let files = vendor_log(
        "10:15:40",
        &[
            "Tue Mar 12 10:16:00 2024 : [4242] HA group: 1154438865287 heartbeat lost on socket 7",
            "garbage",
        ],
    );
    let i = import_vendor(files, Some(4242)).expect("imports");
    let places: Vec<String> = i
        .uninterpretable
        .iter()
        .map(|(s, _, _)| s.to_string())
        .collect();
    assert_eq!(places, ["haErrorLog.txt:1", "haErrorLog.txt:2"]);
    assert!(
        i.report
            .contains("cannot interpret (2 lines; kept in the diff as real lines):")
    );
    assert!(i.report.contains(
        "  haErrorLog.txt:1: the message matches no HA log template: `heartbeat lost on socket 7`"
    ), "{}", i.report);
    assert!(
        i.report
            .contains("  haErrorLog.txt:2: no ctime() date at the start"),
        "{}",
        i.report
    );
    // Never silently skipped: both stand in the diff as lines only the real log has.
    assert!(
        i.report.contains("- haErrorLog.txt:2: garbage"),
        "{}",
        i.report
    );
    assert!(!i.agrees());
}

#[test]
fn hasim_import_on_files_writes_a_scenario_that_hasim_run_passes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).expect("mkdir");
    for (name, text) in vendor_log("10:15:40", &[]) {
        std::fs::write(logs.join(name), text).expect("write");
    }
    std::fs::write(logs.join("README"), "not a log").expect("write");
    let conf = dir.path().join("Chrystoki.conf");
    std::fs::write(&conf, CONF).expect("write");
    let out = dir.path().join("incident.ron");
    let hasim = |args: &[&str]| {
        let o = Command::new(env!("CARGO_BIN_EXE_hasim"))
            .args(args)
            .output()
            .expect("hasim runs");
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let (conf_s, logs_s, out_s) = (
        conf.display().to_string(),
        logs.display().to_string(),
        out.display().to_string(),
    );
    let (code, _, err) = hasim(&["import", "--conf", &conf_s, "--halog", &logs_s]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("pid 4242: 6 lines, pid 5151: 2 lines"),
        "{err}"
    );
    let (code, stdout, err) = hasim(&[
        "import", "--conf", &conf_s, "--halog", &logs_s, "--pid", "4242", "--out", &out_s,
    ]);
    assert_eq!(code, Some(0), "{stdout}{err}");
    assert!(
        stdout.contains("not HA log files, not read: README"),
        "{stdout}"
    );
    assert!(stdout.contains("the prediction reproduces the real log exactly (6 lines)"));
    assert!(stdout.contains(&format!("scenario written to {out_s}")));
    let (code, stdout, _) = hasim(&["run", &out_s]);
    assert_eq!(code, Some(0), "{stdout}");
}
