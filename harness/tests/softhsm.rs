//! The harness on real PKCS#11 members (SoftHSM2):
//!
//! - `portable::*` (always run): which scenarios are marked `portable`, and that none of them
//!   needs a Luna-only feature;
//! - `softhsm::run_suite`: `hasim run --backend softhsm scenarios/` passes every scenario it
//!   does not skip;
//! - `softhsm::differential`: `hasim differential scenarios/` finds every portable scenario
//!   `same` on both backends;
//! - `softhsm::outside_witness_through_hasim_run`: a replication scenario run by `hasim run
//!   --backend softhsm --keep-tokens DIR`, then OpenSC's `pkcs11-tool --list-objects` on every
//!   kept token: the same `CKA_ID`s on each member, as many objects as the transcript counts;
//! - `softhsm::canary_pin`: a SoftHSM run with a canary CO credential and `RUST_LOG=trace`; the
//!   canary appears in no output and no file the run leaves.
//!
//! Every SoftHSM check runs `hasim` as a child process with its own `SOFTHSM2_CONF` (this
//! multi-threaded test binary never changes its environment). Without the SoftHSM2 module (or
//! `pkcs11-tool`, for the witness) they report themselves ignored with the reason, unless
//! `HASIM_REQUIRE_SOFTHSM=1`, which makes that a failure (the shared set-up of
//! `softhsm-fixture`).

use std::path::{Path, PathBuf};
use std::process::Output;

use harness::backend::{has_application_calls, luna_only};
use harness::scenario::{self, ast::DEFAULT_CO_PASSWORD};
use harness::suite;
use libtest_mimic::{Arguments, Failed, Trial};
use softhsm_fixture::{
    files_under, list_objects, object_kind, secret_absent, setup_id_prefix, text, trial,
};

const HASIM: &str = env!("CARGO_BIN_EXE_hasim");
const CANARY: &str = "canary-co-credential-7731";

fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios")
}

/// Runs `hasim args` with `SOFTHSM2_CONF` naming a fresh file in `dir`.
fn hasim(dir: &Path, args: &[&str], trace: bool) -> Result<Output, Failed> {
    let mut cmd = softhsm_fixture::command(HASIM, dir);
    cmd.args(args).env("TMPDIR", dir);
    if trace {
        cmd.env("RUST_LOG", "trace");
    } else {
        cmd.env_remove("RUST_LOG");
    }
    cmd.output()
        .map_err(|e| format!("cannot run {HASIM}: {e}").into())
}

/// A scenario outside `bad-input/`: name, portable, Luna-only reason, application calls.
type Entry = (String, bool, Option<String>, bool);

/// The scenarios outside `bad-input/`.
fn catalogue() -> Result<Vec<Entry>, Failed> {
    let root = scenarios_dir();
    let mut out = Vec::new();
    for file in suite::discover(&root).map_err(|e| e.to_string())? {
        let name = suite::scenario_name(&root, &file);
        if name.starts_with("bad-input/") {
            continue;
        }
        let s = scenario::load_file(&file).map_err(|e| e.to_string())?;
        out.push((name, s.portable, luna_only(&s), has_application_calls(&s)));
    }
    Ok(out)
}

/// Every scenario that needs no Luna-only feature and makes application calls is marked
/// portable, none that needs one is, and there are at least 30.
fn portable_marking() -> Result<(), Failed> {
    let mut portable = 0;
    for (name, marked, luna, app) in catalogue()? {
        match (marked, &luna, app) {
            (true, Some(why), _) => {
                return Err(format!("{name} is portable but {why}").into());
            }
            (true, None, false) => {
                return Err(format!("{name} is portable but makes no application call").into());
            }
            (true, None, true) => portable += 1,
            (false, None, true) => {
                return Err(format!(
                    "{name} needs no Luna-only feature: mark it `portable: true` (and make it give the same view on SoftHSM)"
                )
                .into());
            }
            (false, _, _) => {}
        }
    }
    if portable < 30 {
        return Err(format!("only {portable} portable scenarios outside bad-input/").into());
    }
    Ok(())
}

fn portable_count() -> Result<usize, Failed> {
    Ok(catalogue()?.iter().filter(|(_, p, _, _)| *p).count())
}

/// The numbers of a summary line such as `12 same, 0 differ, 3 skipped`.
fn summary(out: &str, words: [&str; 3]) -> Result<[usize; 3], Failed> {
    let line = out
        .lines()
        .rev()
        .find(|l| l.contains(words[0]) && l.contains(words[1]))
        .ok_or_else(|| format!("no summary line in:\n{out}"))?;
    let mut n = [0; 3];
    for (i, w) in words.iter().enumerate() {
        let part = line
            .split(", ")
            .find(|p| p.ends_with(w))
            .ok_or_else(|| format!("no `{w}` in {line:?}"))?;
        n[i] = part
            .trim_end_matches(w)
            .trim()
            .parse()
            .map_err(|_| format!("bad summary {line:?}"))?;
    }
    Ok(n)
}

fn run_suite(dir: &Path) -> Result<(), Failed> {
    let root = scenarios_dir().display().to_string();
    let out = hasim(dir, &["run", "--backend", "softhsm", &root], false)?;
    let all = text(&out);
    let [passed, failed, skipped] = summary(&all, ["passed", "failed", "skipped"])?;
    if !out.status.success() || failed != 0 {
        return Err(format!("hasim run --backend softhsm failed:\n{all}").into());
    }
    if passed < portable_count()? || skipped == 0 {
        return Err(format!("unexpected counts {passed}/{failed}/{skipped}:\n{all}").into());
    }
    Ok(())
}

fn differential(dir: &Path) -> Result<(), Failed> {
    let root = scenarios_dir().display().to_string();
    let out = hasim(dir, &["differential", &root], false)?;
    let all = text(&out);
    let [same, differ, _] = summary(&all, ["same", "differ", "skipped"])?;
    if !out.status.success() || differ != 0 {
        return Err(format!("hasim differential found differences:\n{all}").into());
    }
    let portable = portable_count()?;
    if same != portable {
        return Err(format!("{same} same, but {portable} portable scenarios:\n{all}").into());
    }
    Ok(())
}

/// `hasim run --backend softhsm --keep-tokens DIR/kept FILE`: the tokens stay for a look.
fn run_keeping_tokens(dir: &Path, file: &Path, trace: bool) -> Result<Output, Failed> {
    let keep = dir.join("kept").display().to_string();
    let file = file.display().to_string();
    let args = ["run", "--backend", "softhsm", "--keep-tokens", &keep, &file];
    hasim(dir, &args, trace)
}

fn witness(dir: &Path) -> Result<(), Failed> {
    let file = scenarios_dir().join("failover/two-members-drop-and-recover.ron");
    let out = run_keeping_tokens(dir, &file, false)?;
    let transcript = text(&out);
    if !out.status.success() {
        return Err(format!("the scenario failed on SoftHSM:\n{transcript}").into());
    }
    // `binding: S -> SoftHSM token T (label L), module M, conf C`
    let mut tokens = Vec::new();
    for line in transcript.lines() {
        let Some(rest) = line.strip_prefix("binding: ") else {
            continue;
        };
        let (serial, rest) = rest.split_once(" -> ").ok_or("bad binding line")?;
        let label = rest
            .split("(label ")
            .nth(1)
            .and_then(|r| r.split(')').next())
            .ok_or("no label")?;
        let module = rest
            .split(", module ")
            .nth(1)
            .and_then(|r| r.split(", conf ").next())
            .ok_or("no module")?;
        let conf = rest.split(", conf ").nth(1).ok_or("no conf")?;
        tokens.push((
            serial.to_string(),
            label.to_string(),
            module.to_string(),
            conf.to_string(),
        ));
    }
    if tokens.len() != 2 {
        return Err(format!("expected two bindings:\n{transcript}").into());
    }
    // The end block: `   <serial>  objects   N`.
    let end = transcript
        .split("\n== end\n")
        .nth(1)
        .ok_or("no end section")?;
    let setup_prefix = setup_id_prefix();
    let mut views = Vec::new();
    for (serial, label, module, conf) in &tokens {
        let counted: usize = end
            .lines()
            .find_map(|l| {
                let mut w = l.split_whitespace();
                (w.next() == Some(serial) && w.next() == Some("objects"))
                    .then(|| w.next().and_then(|n| n.parse().ok()))
                    .flatten()
            })
            .ok_or_else(|| format!("no end count for {serial}"))?;
        let mut objects: Vec<(String, String)> =
            list_objects(module, conf, label, DEFAULT_CO_PASSWORD)?
                .into_iter()
                .filter(|(_, id)| !id.starts_with(&setup_prefix))
                .collect();
        if objects.len() != counted {
            return Err(format!(
                "{serial}: pkcs11-tool lists {} objects, the transcript counts {counted}: {objects:?}",
                objects.len()
            )
            .into());
        }
        if objects.iter().any(|(_, id)| id.is_empty()) {
            return Err(format!("{serial}: an object without CKA_ID: {objects:?}").into());
        }
        objects = objects
            .iter()
            .map(|(k, i)| (object_kind(k), i.clone()))
            .collect();
        objects.sort();
        views.push(objects);
    }
    if views[0] != views[1] || views[0].is_empty() {
        return Err(format!("the members hold different objects: {views:?}").into());
    }
    Ok(())
}

fn canary(dir: &Path) -> Result<(), Failed> {
    // A portable scenario with the canary as its CO credential (outside the kept directory).
    let source = scenarios_dir().join("recovery/login-failure-disables-recovery.ron");
    let text_in = std::fs::read_to_string(&source).map_err(|e| e.to_string())?;
    let marker = "\n    partitions:";
    let at = text_in.find(marker).ok_or("no partitions line")?;
    let scenario = format!(
        "{}\n    credentials: (co: \"{CANARY}\"),{}",
        &text_in[..at],
        &text_in[at..]
    );
    let input = dir.join("input");
    std::fs::create_dir(&input).map_err(|e| e.to_string())?;
    let file = input.join("canary.ron");
    std::fs::write(&file, scenario).map_err(|e| e.to_string())?;
    let out = run_keeping_tokens(dir, &file, true)?;
    let all = text(&out);
    if !out.status.success() {
        return Err(format!("the canary scenario failed:\n{all}").into());
    }
    if !all.contains("binding: ") || !all.contains("TRACE") && !all.contains("DEBUG") {
        return Err(format!("the run did not trace a SoftHSM run:\n{all}").into());
    }
    if all.contains(CANARY) {
        return Err("the canary credential appears in hasim's output or trace".into());
    }
    let mut searched = 0;
    for f in files_under(dir) {
        if f.starts_with(&input) {
            continue;
        }
        let bytes = std::fs::read(&f).map_err(|e| format!("{}: {e}", f.display()))?;
        searched += 1;
        secret_absent(CANARY, &bytes, &f.display().to_string())?;
    }
    if searched < 4 {
        return Err(format!("only {searched} files left to search; were the tokens kept?").into());
    }
    Ok(())
}

fn main() {
    let args = Arguments::from_args();
    let trials = vec![
        Trial::test("portable::marking", portable_marking),
        trial("softhsm::run_suite", false, run_suite),
        trial("softhsm::differential", false, differential),
        trial("softhsm::outside_witness_through_hasim_run", true, witness),
        trial("softhsm::canary_pin", false, canary),
    ];
    libtest_mimic::run(&args, trials).exit();
}
