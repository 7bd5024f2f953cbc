//! `hasim validate` end to end on SoftHSM2 (issue 11): a setup of two tokens holding the
//! operator's own objects and a Chrystoki.conf naming their serials, validated with a small
//! scenario folder; then one thing broken at a time (a member missing, a wrong PIN, an
//! out-of-range retry count, members out of sync) and validate must name it and its rule; and
//! an interrupted run (a journal and the objects it lists left behind) cleaned up by the next.
//! In every case the operator's objects are fingerprinted before and after by this test, in
//! a process of its own, and an AES-CMAC with the operator's key must come out the same.
//!
//! The test binary never changes its environment: the tokens are made and read by this same
//! binary run again as a child (`HASIM_VALIDATE_TEST_CHILD`) with `SOFTHSM2_CONF` naming the
//! test's own configuration, and `hasim validate` runs as a child too. Without the SoftHSM2
//! module the tests report themselves ignored, unless `HASIM_REQUIRE_SOFTHSM=1` (the shared
//! set-up of `softhsm-fixture`).

use std::path::{Path, PathBuf};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, KeyType, ObjectClass};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;
use libtest_mimic::{Arguments, Failed, Trial};
use softhsm_fixture::{files_under as walk, text};

const HASIM: &str = env!("CARGO_BIN_EXE_hasim");
const CHILD: &str = "HASIM_VALIDATE_TEST_CHILD";
const SO_PIN: &str = "so-pin-8642";
/// The members' credential: a canary that must appear in no report and no file.
const PIN: &str = "canary-validate-pin-5531";
const PIN_VAR: &str = "HASIM_TEST_VALIDATE_PIN";
/// The scenarios the tests run (a handful, to stay quick).
/// `addmember-populated-remove` answers LunaCM's prompt with `remove`: on the operator's
/// members it must find nothing of theirs to remove.
const SCENARIOS: &[&str] = &[
    "admin/addmember-populated-remove.ron",
    "failover/two-members-drop-and-recover.ron",
    "recovery/bounded-retries-exhaust.ron",
];

// ---- the child: makes and reads tokens through the test's own SOFTHSM2_CONF ----

fn ctx() -> Pkcs11 {
    let module = pkcs11_member::softhsm::find_module().expect("module");
    let p = Pkcs11::new(module).expect("load");
    p.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
        .expect("init");
    p
}

fn session(p: &Pkcs11, label: &str) -> Session {
    for slot in p.get_slots_with_initialized_token().expect("slots") {
        let info = p.get_token_info(slot).expect("info");
        if info.label().trim_end() == label {
            let s = p.open_rw_session(slot).expect("session");
            s.login(UserType::User, Some(&AuthPin::from(PIN)))
                .expect("login");
            return s;
        }
    }
    panic!("no token {label}");
}

/// `init LABEL...`: fresh tokens; prints `label serial` per token.
fn child_init(labels: &[String]) {
    let p = ctx();
    for label in labels {
        let free = p
            .get_slots_with_token()
            .expect("slots")
            .into_iter()
            .find(|s| !p.get_token_info(*s).expect("info").token_initialized())
            .expect("a free slot");
        p.init_token(free, &AuthPin::from(SO_PIN), label)
            .expect("init token");
        let slot = p
            .get_slots_with_initialized_token()
            .expect("slots")
            .into_iter()
            .find(|s| p.get_token_info(*s).expect("info").label().trim_end() == label)
            .expect("the new token");
        let s = p.open_rw_session(slot).expect("session");
        s.login(UserType::So, Some(&AuthPin::from(SO_PIN)))
            .expect("so login");
        s.init_pin(&AuthPin::from(PIN)).expect("init pin");
        let info = p.get_token_info(slot).expect("info");
        println!("{label} {}", info.serial_number().trim_end());
    }
}

/// `own LABEL ID...`: the operator's objects: an AES key (one key value for all tokens, so a
/// MAC tells the key is unchanged) and a data object, per id.
fn child_own(label: &str, ids: &[String]) {
    let p = ctx();
    let s = session(&p, label);
    for id in ids {
        s.create_object(&[
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::KeyType(KeyType::AES),
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Sign(true),
            Attribute::Id(id.as_bytes().to_vec()),
            Attribute::Label(format!("{id}-key").into_bytes()),
            Attribute::Value(vec![7; 32]),
        ])
        .expect("key");
        s.create_object(&[
            Attribute::Class(ObjectClass::DATA),
            Attribute::Token(true),
            Attribute::Private(false),
            Attribute::Application(id.as_bytes().to_vec()),
            Attribute::Label(format!("{id}-data").into_bytes()),
            Attribute::Value(b"operator data".to_vec()),
        ])
        .expect("data");
    }
}

/// `leftover LABEL ID...`: objects an interrupted validate run would leave (hasim's ids).
fn child_leftover(label: &str, ids: &[String]) {
    let p = ctx();
    let s = session(&p, label);
    for id in ids {
        s.create_object(&[
            Attribute::Class(ObjectClass::DATA),
            Attribute::Token(true),
            Attribute::Private(false),
            Attribute::Application(id.as_bytes().to_vec()),
            Attribute::Label(b"left behind".to_vec()),
            Attribute::Value(b"x".to_vec()),
        ])
        .expect("leftover");
    }
}

/// `print LABEL`: every object's fingerprint, sorted, and a MAC with every AES key.
fn child_print(label: &str) {
    let p = ctx();
    let s = session(&p, label);
    let inv = harness::validate::inventory::take(&s).expect("inventory");
    for o in &inv.own {
        println!("own {} {} {} {}", o.class, o.id, o.label, o.fingerprint);
    }
    for id in &inv.ours {
        println!("ours {}", String::from_utf8_lossy(id));
    }
    let keys = s
        .find_objects(&[Attribute::Class(ObjectClass::SECRET_KEY)])
        .expect("find");
    let mut macs: Vec<String> = keys
        .into_iter()
        .filter_map(|k| s.sign(&Mechanism::AesCMac, k, b"proof").ok())
        .map(|m| m.iter().map(|b| format!("{b:02x}")).collect())
        .collect();
    macs.sort();
    for m in macs {
        println!("mac {m}");
    }
}

fn child(mode: &str) {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match mode {
        "init" => child_init(&args),
        "own" => child_own(&args[0], &args[1..]),
        "leftover" => child_leftover(&args[0], &args[1..]),
        "print" => child_print(&args[0]),
        other => panic!("unknown child mode {other}"),
    }
}

// ---- the parent ----

/// One test's SoftHSM set-up.
struct Lab {
    dir: PathBuf,
    serials: Vec<String>,
}

impl Lab {
    fn child(&self, mode: &str, args: &[&str]) -> Result<String, Failed> {
        let out = softhsm_fixture::self_command(&self.dir, CHILD, mode)?
            .args(args)
            .output()
            .map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(format!("child {mode} {args:?}: {}", text(&out)).into());
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Two tokens, `par0` and `par1`.
    fn new(dir: &Path) -> Result<Lab, Failed> {
        softhsm_fixture::write_conf(dir)?;
        let mut lab = Lab {
            dir: dir.to_path_buf(),
            serials: Vec::new(),
        };
        let out = lab.child("init", &["par0", "par1"])?;
        lab.serials = out
            .lines()
            .filter_map(|l| l.split_whitespace().nth(1).map(str::to_string))
            .collect();
        std::fs::create_dir_all(dir.join("halog")).map_err(|e| e.to_string())?;
        let scenarios = dir.join("scenarios");
        for name in SCENARIOS {
            let from = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../scenarios")
                .join(name);
            let to = scenarios.join(name);
            std::fs::create_dir_all(to.parent().ok_or("no parent")?).map_err(|e| e.to_string())?;
            std::fs::copy(&from, &to).map_err(|e| e.to_string())?;
        }
        Ok(lab)
    }

    /// A Chrystoki.conf for group `prod` over `members`, with `extra` in `HAConfiguration`.
    fn write_conf(&self, members: &[&str], extra: &str) -> Result<PathBuf, Failed> {
        let path = self.dir.join("Chrystoki.conf");
        std::fs::write(
            &path,
            format!(
                "VirtualToken = {{\n   VirtualToken00Label = prod;\n   VirtualToken00SN = 1{};\n   VirtualToken00Members = {};\n}}\nHAConfiguration = {{\n   haLogPath = {};\n   reconnAtt = 3;\n{extra}}}\n",
                members[0],
                members.join(","),
                self.dir.join("halog").display()
            ),
        )
        .map_err(|e| e.to_string())?;
        Ok(path)
    }

    fn members(&self) -> Vec<&str> {
        self.serials.iter().map(String::as_str).collect()
    }

    /// `hasim validate --format json` with the PIN in an environment variable.
    fn validate(
        &self,
        conf: &Path,
        pin: &str,
    ) -> Result<(Option<i32>, serde_json::Value, String), Failed> {
        let out = softhsm_fixture::command(HASIM, &self.dir)
            .args(["validate", "--conf"])
            .arg(conf)
            .args(["--module"])
            .arg(pkcs11_member::softhsm::find_module().map_err(|e| e.to_string())?)
            .args(["--pin-env", PIN_VAR, "--format", "json", "--scenarios"])
            .arg(self.dir.join("scenarios"))
            .arg("--state-dir")
            .arg(self.dir.join("state"))
            .env(PIN_VAR, pin)
            .env_remove("RUST_LOG")
            .output()
            .map_err(|e| e.to_string())?;
        let all = text(&out);
        let json: serde_json::Value =
            serde_json::from_slice(&out.stdout).map_err(|e| format!("not JSON ({e}): {all}"))?;
        Ok((out.status.code(), json, all))
    }

    /// Every token's fingerprints and MACs, read by the child.
    fn prints(&self) -> Result<String, Failed> {
        Ok(format!(
            "{}{}",
            self.child("print", &["par0"])?,
            self.child("print", &["par1"])?
        ))
    }
}

/// The checks of the report as `(rule, check, status, detail)`.
fn checks(json: &serde_json::Value) -> Vec<(String, String, String, String)> {
    let s = |v: &serde_json::Value, k: &str| v[k].as_str().unwrap_or("").to_string();
    let mut all: Vec<serde_json::Value> = json["checks"].as_array().cloned().unwrap_or_default();
    for g in json["groups"].as_array().into_iter().flatten() {
        all.extend(g["checks"].as_array().cloned().unwrap_or_default());
    }
    all.iter()
        .map(|c| (s(c, "rule"), s(c, "check"), s(c, "status"), s(c, "detail")))
        .collect()
}

fn scenario_statuses(json: &serde_json::Value) -> Vec<String> {
    json["groups"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|g| g["scenarios"].as_array().cloned().unwrap_or_default())
        .map(|s| s["status"].as_str().unwrap_or("").to_string())
        .collect()
}

/// A failed check with `rule` whose check or detail names `needle`.
fn has_failure(json: &serde_json::Value, rule: &str, needle: &str) -> bool {
    checks(json).iter().any(|(r, c, st, d)| {
        r == rule && st == "fail" && (c.contains(needle) || d.contains(needle))
    })
}

fn ensure(cond: bool, what: &str, report: &str) -> Result<(), Failed> {
    if cond {
        Ok(())
    } else {
        Err(format!("{what}\n--- report ---\n{report}").into())
    }
}

/// The operator's objects on both members, and the canary never in the output or the files.
fn own_objects(lab: &Lab) -> Result<(), Failed> {
    lab.child("own", &["par0", "ops"])?;
    lab.child("own", &["par1", "ops"])?;
    Ok(())
}

fn no_canary(lab: &Lab, output: &str) -> Result<(), Failed> {
    ensure(
        !output.contains(PIN),
        "the credential appears in the output",
        output,
    )?;
    for entry in walk(&lab.dir.join("state")) {
        let bytes = std::fs::read(&entry).unwrap_or_default();
        ensure(
            !String::from_utf8_lossy(&bytes).contains(PIN),
            &format!("the credential appears in {}", entry.display()),
            output,
        )?;
    }
    Ok(())
}

fn valid_setup(dir: &Path) -> Result<(), Failed> {
    let lab = Lab::new(dir)?;
    own_objects(&lab)?;
    let conf = lab.write_conf(&lab.members(), "   HAOnly = 1;\n")?;
    let before = lab.prints()?;
    let (code, json, all) = lab.validate(&conf, PIN)?;
    ensure(code == Some(0), "exit status 0", &all)?;
    ensure(json["passed"] == true, "passed", &all)?;
    ensure(
        checks(&json).iter().all(|(_, _, st, _)| st == "pass"),
        "every check passes",
        &all,
    )?;
    ensure(
        scenario_statuses(&json) == ["pass", "pass", "pass"],
        "every scenario passes",
        &all,
    )?;
    ensure(
        json["what"].as_str().is_some_and(|w| {
            w.contains("not the vendor's HA code")
                || w.contains("does not test the vendor's HA code")
        }),
        "the report says what validate is",
        &all,
    )?;
    let after = lab.prints()?;
    ensure(
        before == after,
        &format!("fingerprints before\n{before}after\n{after}"),
        &all,
    )?;
    ensure(
        before.contains("mac "),
        "the operator's key was used for a MAC",
        &before,
    )?;
    // validate's own HA log and transcript per scenario, never the conf's haLogPath.
    let files = walk(&lab.dir.join("state/halog"));
    let count = |name: &str| files.iter().filter(|p| p.ends_with(name)).count();
    ensure(
        count("transcript.txt") == SCENARIOS.len() && count("haErrorLog.txt") >= 2,
        "validate's own directory holds each scenario's transcript and HA log",
        &all,
    )?;
    ensure(
        walk(&lab.dir.join("halog")).is_empty(),
        "nothing in the conf's haLogPath",
        &all,
    )?;
    ensure(
        !lab.dir.join("state/created-objects.journal").exists(),
        "the journal is emptied",
        &all,
    )?;
    no_canary(&lab, &all)
}

fn member_missing(dir: &Path) -> Result<(), Failed> {
    let lab = Lab::new(dir)?;
    own_objects(&lab)?;
    let mut members = lab.members();
    members.push("0123456789abcdef");
    let conf = lab.write_conf(&members, "")?;
    let before = lab.prints()?;
    let (code, json, all) = lab.validate(&conf, PIN)?;
    ensure(code == Some(1), "exit status 1", &all)?;
    ensure(
        has_failure(&json, "B5", "0123456789abcdef"),
        "B5 names the missing member",
        &all,
    )?;
    ensure(
        scenario_statuses(&json).iter().all(|s| s == "skip"),
        "no scenario runs",
        &all,
    )?;
    ensure(before == lab.prints()?, "objects untouched", &all)
}

fn wrong_pin(dir: &Path) -> Result<(), Failed> {
    let lab = Lab::new(dir)?;
    own_objects(&lab)?;
    let conf = lab.write_conf(&lab.members(), "")?;
    let before = lab.prints()?;
    let wrong = "canary-wrong-pin-9917";
    let (code, json, all) = lab.validate(&conf, wrong)?;
    ensure(code == Some(1), "exit status 1", &all)?;
    for m in lab.members() {
        ensure(
            has_failure(&json, "B17", m),
            &format!("B17 names {m}"),
            &all,
        )?;
    }
    ensure(all.contains("CKR_PIN_INCORRECT"), "the CKR is named", &all)?;
    ensure(
        !all.contains(wrong),
        "the wrong credential is not printed",
        &all,
    )?;
    ensure(
        scenario_statuses(&json).iter().all(|s| s == "skip"),
        "no scenario runs with a refused login",
        &all,
    )?;
    ensure(before == lab.prints()?, "objects untouched", &all)
}

fn retry_out_of_range(dir: &Path) -> Result<(), Failed> {
    let lab = Lab::new(dir)?;
    let conf = lab.write_conf(&lab.members(), "")?;
    let text = std::fs::read_to_string(&conf).map_err(|e| e.to_string())?;
    std::fs::write(&conf, text.replace("reconnAtt = 3;", "reconnAtt = 9999;"))
        .map_err(|e| e.to_string())?;
    let (code, json, all) = lab.validate(&conf, PIN)?;
    ensure(code == Some(1), "exit status 1", &all)?;
    ensure(
        has_failure(&json, "B39", "reconnAtt"),
        "B39 names reconnAtt",
        &all,
    )?;
    ensure(all.contains("9999"), "the value is shown", &all)
}

fn out_of_sync(dir: &Path) -> Result<(), Failed> {
    let lab = Lab::new(dir)?;
    own_objects(&lab)?;
    lab.child("own", &["par0", "only-on-par0"])?;
    let conf = lab.write_conf(&lab.members(), "")?;
    let before = lab.prints()?;
    let (code, json, all) = lab.validate(&conf, PIN)?;
    ensure(code == Some(1), "exit status 1", &all)?;
    ensure(
        has_failure(&json, "B61", "Needs sync: yes"),
        "B61 says Needs sync",
        &all,
    )?;
    ensure(
        scenario_statuses(&json).iter().all(|s| s == "skip"),
        "no scenario runs on members out of sync (it could copy the operator's objects)",
        &all,
    )?;
    ensure(before == lab.prints()?, "objects untouched", &all)
}

fn interrupted_run_cleaned_up(dir: &Path) -> Result<(), Failed> {
    let lab = Lab::new(dir)?;
    own_objects(&lab)?;
    // What an interrupted run leaves: its objects and the journal that lists them.
    lab.child("leftover", &["par0", "hasim-00000001", "hasim-00000002"])?;
    lab.child("leftover", &["par1", "hasim-00000001"])?;
    let state = lab.dir.join("state");
    std::fs::create_dir_all(&state).map_err(|e| e.to_string())?;
    let hex = |s: &str| s.bytes().map(|b| format!("{b:02x}")).collect::<String>();
    let (s0, s1) = (&lab.serials[0], &lab.serials[1]);
    std::fs::write(
        state.join("created-objects.journal"),
        format!(
            "{s0} {}\n{s0} {}\n{s1} {}\n",
            hex("hasim-00000001"),
            hex("hasim-00000002"),
            hex("hasim-00000001")
        ),
    )
    .map_err(|e| e.to_string())?;
    let own_only = |p: &str| -> String {
        p.lines()
            .filter(|l| !l.starts_with("ours "))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let before = lab.prints()?;
    ensure(
        before.matches("ours ").count() == 3,
        "three leftovers before",
        &before,
    )?;
    let conf = lab.write_conf(&lab.members(), "   HAOnly = 1;\n")?;
    let (code, json, all) = lab.validate(&conf, PIN)?;
    ensure(code == Some(0), "exit status 0", &all)?;
    ensure(
        checks(&json)
            .iter()
            .any(|(r, _, st, d)| r == "D28" && st == "pass" && d.contains("removed 3 object(s)")),
        "D28 reports the clean-up",
        &all,
    )?;
    let after = lab.prints()?;
    ensure(!after.contains("ours "), "the leftovers are gone", &after)?;
    ensure(
        own_only(&before) == own_only(&after),
        &format!("the operator's objects untouched\n{before}\n--\n{after}"),
        &all,
    )
}

fn trial(name: &str, body: fn(&Path) -> Result<(), Failed>) -> Trial {
    softhsm_fixture::trial(format!("validate::{name}"), false, body)
}

fn main() {
    if let Ok(mode) = std::env::var(CHILD) {
        child(&mode);
        return;
    }
    let args = Arguments::from_args();
    let trials = vec![
        trial("valid_setup", valid_setup),
        trial("member_missing", member_missing),
        trial("wrong_pin", wrong_pin),
        trial("retry_out_of_range", retry_out_of_range),
        trial("out_of_sync", out_of_sync),
        trial("interrupted_run_cleaned_up", interrupted_run_cleaned_up),
    ];
    libtest_mimic::run(&args, trials).exit();
}
