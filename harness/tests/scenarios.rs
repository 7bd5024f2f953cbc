//! One libtest-mimic trial per `scenarios/**/*.ron`, named by its path relative to `scenarios/`
//! (so `cargo test -- failover` filters). Each trial runs the scenario twice (the transcripts
//! must be byte-identical), checks the scenario's own expectations, then compares the transcript
//! with its insta snapshot under `snapshots/<folder>/<name>.snap`. One more trial rejects
//! snapshot files that no scenario references.

use std::collections::BTreeSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use harness::suite;
use libtest_mimic::{Arguments, Failed, Trial};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// Where a scenario's snapshot lives: `snapshots/<folder of the scenario>/<stem>.snap`.
fn snapshot_dir(relative: &Path) -> PathBuf {
    let folder = relative.parent().unwrap_or(Path::new(""));
    root().join("snapshots").join(folder)
}

fn snapshot_name(relative: &Path) -> String {
    relative
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn run_trial(path: &Path, relative: &Path) -> Result<(), Failed> {
    let check = suite::check_determinism(path).map_err(|e| Failed::from(e.to_string()))?;
    if let Some(line) = check.first_difference {
        return Err(
            format!("not deterministic: two runs differ first at transcript line {line}").into(),
        );
    }
    let first = check.outcome;
    if !first.passed() {
        return Err(first.failures.join("\n").into());
    }
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(snapshot_dir(relative));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_input_file(path);
    settings.set_description(format!(
        "{} | rules: {} | seed: {}",
        first.scenario.name,
        first.scenario.rules.join(" "),
        first.scenario.seed
    ));
    settings.set_omit_expression(true);
    let name = snapshot_name(relative);
    let transcript = check.transcript;
    catch_unwind(AssertUnwindSafe(|| {
        settings.bind(|| insta::assert_snapshot!(name, transcript));
    }))
    .map_err(|panic| {
        let msg = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "snapshot assertion failed".to_string());
        Failed::from(msg)
    })
}

fn unreferenced(expected: &BTreeSet<PathBuf>) -> Result<(), Failed> {
    let snapshots = root().join("snapshots");
    let found = suite_snaps(&snapshots);
    let orphans: Vec<String> = found
        .difference(expected)
        .map(|p| p.strip_prefix(root()).unwrap_or(p).display().to_string())
        .collect();
    if orphans.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "snapshot files that no scenario references (delete them or restore their scenario):\n{}",
            orphans.join("\n")
        )
        .into())
    }
}

fn suite_snaps(dir: &Path) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "snap") {
                out.insert(p);
            }
        }
    }
    out
}

fn main() -> std::process::ExitCode {
    let args = Arguments::from_args();
    let scenarios = root().join("scenarios");
    let files = suite::discover(&scenarios).unwrap_or_default();
    assert!(
        !files.is_empty(),
        "no scenario files found under {}: the suite cannot be empty",
        scenarios.display()
    );
    let mut expected = BTreeSet::new();
    let mut trials = Vec::new();
    for path in files {
        let name = suite::scenario_name(&scenarios, &path);
        let relative = PathBuf::from(&name);
        expected.insert(snapshot_dir(&relative).join(format!("{}.snap", snapshot_name(&relative))));
        let kind = relative
            .components()
            .next()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .unwrap_or_default();
        trials.push(Trial::test(name, move || run_trial(&path, &relative)).with_kind(kind));
    }
    trials.push(Trial::test("snapshots/unreferenced", move || {
        unreferenced(&expected)
    }));
    libtest_mimic::run(&args, trials).exit_code()
}
