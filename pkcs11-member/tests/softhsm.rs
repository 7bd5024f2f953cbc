//! The SoftHSM checks: the `Member` conformance suite, member lifecycles, and an outside
//! witness (OpenSC's `pkcs11-tool` lists each token's objects). Each runs
//! `pkcs11-member-selftest` as a child process with its own `SOFTHSM2_CONF`, so this
//! multi-threaded test binary never changes its environment.
//!
//! Without the SoftHSM2 module (or `pkcs11-tool`, for the witness) the tests report themselves
//! ignored with the reason, unless `HASIM_REQUIRE_SOFTHSM=1`, which makes that a failure (the
//! shared set-up of `softhsm-fixture`).
//! Every child runs with a canary PIN that must appear in none of its output.

use std::path::Path;
use std::process::Output;

use libtest_mimic::{Arguments, Failed, Trial};
use pkcs11_member::conformance::{self, SoftHsmBackend};
use softhsm_fixture::{list_objects, object_kind, setup_id_prefix, trial};

const CANARY_PIN: &str = "canary-pin-5147";
const BIN: &str = env!("CARGO_BIN_EXE_pkcs11-member-selftest");

/// Runs the self-test binary with a fresh `SOFTHSM2_CONF` and lab directory.
fn child(dir: &Path, args: &[&str]) -> Result<String, Failed> {
    let out: Output = softhsm_fixture::command(BIN, dir)
        .args(args)
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
    let setup_prefix = setup_id_prefix();
    let mut views = Vec::new();
    for t in &tokens {
        let [label, _serial, module, conf, count] = t.as_slice() else {
            return Err(format!("bad token line {t:?}").into());
        };
        let mut objects: Vec<(String, String)> = list_objects(module, conf, label, CANARY_PIN)?
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
        views.push(
            objects
                .iter()
                .map(|(k, i)| (object_kind(k), i.clone()))
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
            trial(format!("softhsm::conformance::{name}"), false, move |dir| {
                let out = child(dir, &["conformance", name])?;
                if out.lines().any(|l| l == format!("case {name} ok")) {
                    Ok(())
                } else {
                    Err(format!("no success line:\n{out}").into())
                }
            })
        })
        .collect();
    trials.push(trial("softhsm::lifecycle", false, |dir| {
        let out = child(dir, &["lifecycle"])?;
        for layout in ["PerMember", "Shared"] {
            if !out.contains(&format!("lifecycle {layout} ok")) {
                return Err(format!("no {layout} line:\n{out}").into());
            }
        }
        Ok(())
    }));
    trials.push(trial("softhsm::outside_witness_pkcs11_tool", true, witness));
    libtest_mimic::run(&args, trials).exit();
}
