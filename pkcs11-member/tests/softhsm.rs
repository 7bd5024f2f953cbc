//! The SoftHSM checks: the `Member` conformance suite, member lifecycles, and an outside
//! witness (OpenSC's `pkcs11-tool` lists each token's objects). Each runs
//! `pkcs11-member-selftest` as a child process with its own `SOFTHSM2_CONF`, so this
//! multi-threaded test binary never changes its environment.
//!
//! Without the SoftHSM2 module (or `pkcs11-tool`, for the witness) the tests report themselves
//! ignored with the reason, unless `HASIM_REQUIRE_SOFTHSM=1`, which makes that a failure.
//! Every child runs with a canary PIN that must appear in none of its output.

use std::path::Path;
use std::process::{Command, Output};

use libtest_mimic::{Arguments, Completion, Failed, Trial};
use pkcs11_member::conformance::{self, SoftHsmBackend};

const CANARY_PIN: &str = "canary-pin-5147";
const BIN: &str = env!("CARGO_BIN_EXE_pkcs11-member-selftest");

fn required() -> bool {
    std::env::var("HASIM_REQUIRE_SOFTHSM").is_ok_and(|v| v == "1")
}

/// `Ok(None)` when everything needed is there, `Ok(Some(reason))` to ignore, `Err` when it is
/// missing but required.
fn availability(need_tool: bool) -> Result<Option<String>, Failed> {
    let mut missing = Vec::new();
    if let Err(e) = pkcs11_member::softhsm::find_module() {
        missing.push(e.to_string());
    }
    if need_tool && Command::new("pkcs11-tool").arg("--help").output().is_err() {
        missing.push("pkcs11-tool (OpenSC) not found".to_string());
    }
    if missing.is_empty() {
        return Ok(None);
    }
    let reason = missing.join("; ");
    if required() {
        Err(format!("HASIM_REQUIRE_SOFTHSM=1 but {reason}").into())
    } else {
        Ok(Some(format!(
            "{reason} (HASIM_REQUIRE_SOFTHSM=1 makes this a failure)"
        )))
    }
}

/// Runs the self-test binary with a fresh `SOFTHSM2_CONF` and lab directory.
fn child(dir: &Path, args: &[&str]) -> Result<String, Failed> {
    let out: Output = Command::new(BIN)
        .args(args)
        .env("SOFTHSM2_CONF", dir.join("softhsm2.conf"))
        .env("HASIM_LAB_DIR", dir)
        .env("HASIM_TEST_PIN", CANARY_PIN)
        .output()
        .map_err(|e| format!("cannot run {BIN}: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if stdout.contains(CANARY_PIN) || stderr.contains(CANARY_PIN) {
        return Err("the PIN appears in the child's output".into());
    }
    if !out.status.success() {
        return Err(format!("{args:?} failed:\n{stdout}{stderr}").into());
    }
    Ok(stdout)
}

fn trial(name: String, need_tool: bool, body: fn(&Path) -> Result<(), Failed>) -> Trial {
    Trial::ignorable_test(name, move || {
        if let Some(reason) = availability(need_tool)? {
            return Ok(Completion::ignored_with(reason));
        }
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        body(dir.path())?;
        Ok(Completion::Completed)
    })
}

/// Objects pkcs11-tool lists on one token: `(kind line, id or application)`.
fn list_objects(module: &str, conf: &str, label: &str) -> Result<Vec<(String, String)>, Failed> {
    let out = Command::new("pkcs11-tool")
        .args([
            "--module",
            module,
            "--token-label",
            label,
            "--list-objects",
            "--login",
            "--pin",
            CANARY_PIN,
        ])
        .env("SOFTHSM2_CONF", conf)
        .output()
        .map_err(|e| format!("pkcs11-tool: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "pkcs11-tool failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut objects: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if !line.starts_with(' ') && line.to_lowercase().contains("object") {
            objects.push((line.trim().to_string(), String::new()));
        } else if let Some(last) = objects.last_mut() {
            let t = line.trim();
            if let Some(v) = t.strip_prefix("ID:") {
                last.1 = v.trim().to_string();
            } else if let Some(v) = t.strip_prefix("application:") {
                last.1 = v.trim().trim_matches('\'').to_string();
            }
        }
    }
    Ok(objects)
}

fn witness(dir: &Path) -> Result<(), Failed> {
    let out = child(dir, &["witness", &dir.display().to_string()])?;
    let ids: Vec<&str> = out.lines().filter_map(|l| l.strip_prefix("id ")).collect();
    let tokens: Vec<Vec<&str>> = out
        .lines()
        .filter_map(|l| l.strip_prefix("token "))
        .map(|l| l.split(' ').collect())
        .collect();
    if ids.len() != 3 || tokens.len() != 3 {
        return Err(format!("unexpected witness output:\n{out}").into());
    }
    let setup_prefix: String = b"hasim-setup:".iter().map(|b| format!("{b:02x}")).collect();
    let mut views = Vec::new();
    for t in &tokens {
        let [label, _serial, module, conf, count] = t.as_slice() else {
            return Err(format!("bad token line {t:?}").into());
        };
        let mut objects: Vec<(String, String)> = list_objects(module, conf, label)?
            .into_iter()
            .filter(|(_, id)| !id.starts_with(&setup_prefix))
            .collect();
        objects.sort();
        for id in &ids {
            let keys = objects.iter().filter(|(_, i)| i == id).count();
            if keys == 0 {
                return Err(format!("{label} lacks a key with CKA_ID {id}: {objects:?}").into());
            }
        }
        if !objects
            .iter()
            .any(|(kind, app)| kind.starts_with("Data object") && app == "witness-data")
        {
            return Err(format!("{label} lacks the data object: {objects:?}").into());
        }
        if objects.len().to_string() != *count {
            return Err(format!(
                "{label}: pkcs11-tool lists {} objects, the member counted {count}",
                objects.len()
            )
            .into());
        }
        // Compare kinds without pkcs11-tool's per-token details ("Data object 9": a handle).
        let kind = |k: &str| {
            k.split(';')
                .next()
                .unwrap_or("")
                .trim_end_matches(|c: char| c.is_ascii_digit() || c == ' ')
                .to_string()
        };
        views.push(
            objects
                .iter()
                .map(|(k, i)| (kind(k), i.clone()))
                .collect::<Vec<_>>(),
        );
    }
    if views.iter().any(|v| *v != views[0]) {
        return Err(format!("members differ: {views:?}").into());
    }
    Ok(())
}

fn main() {
    let args = Arguments::from_args();
    let mut trials: Vec<Trial> = conformance::cases::<SoftHsmBackend>()
        .into_iter()
        .map(|case| {
            let name = case.name;
            Trial::ignorable_test(format!("softhsm::conformance::{name}"), move || {
                if let Some(reason) = availability(false)? {
                    return Ok(Completion::ignored_with(reason));
                }
                let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
                let out = child(dir.path(), &["conformance", name])?;
                if out.lines().any(|l| l == format!("case {name} ok")) {
                    Ok(Completion::Completed)
                } else {
                    Err(format!("no success line:\n{out}").into())
                }
            })
        })
        .collect();
    trials.push(trial("softhsm::lifecycle".into(), false, |dir| {
        let out = child(dir, &["lifecycle"])?;
        for layout in ["PerMember", "Shared"] {
            if !out.contains(&format!("lifecycle {layout} ok")) {
                return Err(format!("no {layout} line:\n{out}").into());
            }
        }
        Ok(())
    }));
    trials.push(trial(
        "softhsm::outside_witness_pkcs11_tool".into(),
        true,
        witness,
    ));
    libtest_mimic::run(&args, trials).exit();
}
