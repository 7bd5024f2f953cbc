//! The checks, each with its rule id: the settings the file holds (values in range, B39;
//! HAOnly, B34; the HA log path, B62) and, per group, what PKCS#11 can tell about the members
//! (visible, B5; login, B17; firmware, B11; equal object sets, B61; hasim's namespace free and
//! the operator's objects untouched, D28).

use std::collections::BTreeMap;
use std::path::Path;

use ha_engine::config::{GroupConfig, RecoveryMode, RetryLimit};

use super::conf::{ConfView, rule_of};
use super::inventory::{Inventory, Print};
use super::probe::Probe;
use super::report::{Check, Status};

/// Keys whose refusal means the recovery settings are out of range.
const RECOVERY_KEYS: &[&str] = &[
    "reconnAtt",
    "AutoReconnectInterval",
    "VirtualTokenActiveRecovery",
];

fn retry_text(r: RetryLimit) -> String {
    match r {
        RetryLimit::Disabled => "0 (auto-recovery off)".into(),
        other => match other.as_count() {
            -1 => "-1 (unlimited)".into(),
            n => n.to_string(),
        },
    }
}

/// Checks on the file as a whole.
pub fn settings(view: &ConfView) -> Vec<Check> {
    let mut out = Vec::new();
    for v in &view.refused {
        out.push(Check::new(
            &rule_of(&v.problem),
            format!("[{}] {} in range", v.section, v.key),
            Status::Fail,
            v.to_string(),
        ));
    }
    if !view
        .refused
        .iter()
        .any(|v| RECOVERY_KEYS.iter().any(|k| v.key.eq_ignore_ascii_case(k)))
    {
        let c = &view.config;
        out.push(Check::new(
            "B39",
            "recovery settings in range",
            Status::Pass,
            format!(
                "reconnAtt {}, AutoReconnectInterval {} s, VirtualTokenActiveRecovery {}",
                retry_text(c.retry),
                c.interval_s,
                match c.mode {
                    RecoveryMode::ActiveBasic => "activeBasic",
                    RecoveryMode::ActiveEnhanced => "activeEnhanced",
                }
            ),
        ));
    }
    out.push(if view.config.ha_only {
        Check::new("B34", "HAOnly", Status::Pass, "HAOnly = 1: slot numbers stay stable")
    } else {
        Check::new(
            "B34",
            "HAOnly",
            Status::Warn,
            "HAOnly = 0: a member dropping or returning renumbers the application's slots (B34); HAOnly = 1 is recommended (B57)",
        )
    });
    out.push(log_path(view));
    out
}

fn log_path(view: &ConfView) -> Check {
    const WHAT: &str = "HA log path exists and is writable";
    let Some(path) = view.log.path.as_deref() else {
        return Check::new(
            "B62",
            WHAT,
            Status::Warn,
            "no haLogPath: the HA log is written nowhere",
        );
    };
    let dir = Path::new(path);
    if !dir.is_dir() {
        return Check::new(
            "B62",
            WHAT,
            Status::Fail,
            format!("haLogPath {path} is not an existing directory"),
        );
    }
    let probe = dir.join(format!(".hasim-validate-probe-{}", std::process::id()));
    match std::fs::write(&probe, b"") {
        Ok(()) => {
            let _ = std::fs::remove_file(&probe);
            let status = if view.log.enabled {
                Status::Pass
            } else {
                Status::Warn
            };
            let detail = if view.log.enabled {
                format!("{path}: writable")
            } else {
                format!("{path}: writable, but haLogStatus = disabled")
            };
            Check::new("B62", WHAT, status, detail)
        }
        Err(e) => Check::new(
            "B62",
            WHAT,
            Status::Fail,
            format!("haLogPath {path} is not writable: {e}"),
        ),
    }
}

/// Checks on one group's members.
pub fn group(group: &GroupConfig, probes: &BTreeMap<String, Probe>) -> Vec<Check> {
    let mut out = Vec::new();
    if group.members.len() < 2 {
        out.push(Check::new(
            "B46",
            "at least two members",
            Status::Warn,
            format!("{} member(s): nothing to fail over to", group.members.len()),
        ));
    }
    let probe = |s: &str| probes.get(s);
    for m in &group.members {
        match probe(m).map(|p| &p.found) {
            Some(Ok(f)) => out.push(Check::new(
                "B5",
                format!("member {m} visible"),
                Status::Pass,
                format!("slot {}, model {:?}", f.slot.id(), f.model),
            )),
            Some(Err(why)) => out.push(Check::new(
                "B5",
                format!("member {m} visible"),
                Status::Fail,
                why.clone(),
            )),
            None => {}
        }
    }
    for m in &group.members {
        let Some(p) = probe(m) else { continue };
        let (status, detail) = match p.login {
            None => (Status::Skip, "not found".to_string()),
            Some(Ok(())) => (
                Status::Pass,
                "logged in with the given credential (once)".into(),
            ),
            Some(Err(ckr)) => (
                Status::Fail,
                format!(
                    "C_Login: {ckr}; not tried again (a wrong credential must not lock the partition)"
                ),
            ),
        };
        out.push(Check::new("B17", format!("login on {m}"), status, detail));
    }
    out.push(firmware(group, probes));
    out.push(sync(group, probes));
    out.push(namespace(group, probes));
    out
}

fn firmware(group: &GroupConfig, probes: &BTreeMap<String, Probe>) -> Check {
    const WHAT: &str = "firmware versions (primary >= 7.7 needs every secondary >= 7.7)";
    let versions: Vec<(String, (u8, u8))> = group
        .members
        .iter()
        .filter_map(|m| {
            let f = probes.get(m)?.found.as_ref().ok()?;
            Some((m.clone(), f.firmware))
        })
        .collect();
    if versions.len() < group.members.len() {
        return Check::new("B11", WHAT, Status::Skip, "not every member was found");
    }
    let shown: Vec<String> = versions
        .iter()
        .map(|(m, (a, b))| format!("{m} {a}.{b}"))
        .collect();
    let Some((primary, pv)) = versions.first() else {
        return Check::new("B11", WHAT, Status::Skip, "no members");
    };
    let older: Vec<&str> = versions[1..]
        .iter()
        .filter(|(_, v)| *v < (7, 7))
        .map(|(m, _)| m.as_str())
        .collect();
    if *pv >= (7, 7) && !older.is_empty() {
        Check::new(
            "B11",
            WHAT,
            Status::Fail,
            format!(
                "primary {primary} is on {}.{} but {} older than 7.7 ({})",
                pv.0,
                pv.1,
                older.join(", "),
                shown.join(", ")
            ),
        )
    } else {
        Check::new("B11", WHAT, Status::Pass, shown.join(", "))
    }
}

fn inventories<'a>(
    group: &GroupConfig,
    probes: &'a BTreeMap<String, Probe>,
) -> Option<Vec<(&'a str, &'a Inventory)>> {
    group
        .members
        .iter()
        .map(|m| {
            let p = probes.get(m)?;
            Some((p.serial.as_str(), p.inventory.as_ref()?))
        })
        .collect()
}

fn sync(group: &GroupConfig, probes: &BTreeMap<String, Probe>) -> Check {
    const WHAT: &str = "token object sets equal (Needs sync: no)";
    let Some(invs) = inventories(group, probes) else {
        return Check::new("B61", WHAT, Status::Skip, "not every member could be read");
    };
    let Some((first, inv0)) = invs.first() else {
        return Check::new("B61", WHAT, Status::Skip, "no members");
    };
    let reference = inv0.identities();
    let mut differ = Vec::new();
    for (serial, inv) in &invs[1..] {
        let ids = inv.identities();
        if ids != reference {
            let missing = reference.iter().filter(|x| !ids.contains(x)).count();
            let extra = ids.iter().filter(|x| !reference.contains(x)).count();
            differ.push(format!(
                "{serial} lacks {missing} and has {extra} extra object(s) against {first}"
            ));
        }
    }
    if differ.is_empty() {
        Check::new(
            "B61",
            WHAT,
            Status::Pass,
            format!("{} object(s) on every member", reference.len()),
        )
    } else {
        Check::new(
            "B61",
            WHAT,
            Status::Fail,
            format!(
                "Needs sync: yes: {} (run hagroup synchronize)",
                differ.join("; ")
            ),
        )
    }
}

fn namespace(group: &GroupConfig, probes: &BTreeMap<String, Probe>) -> Check {
    const WHAT: &str = "no objects in hasim's CKA_ID namespace (hasim-)";
    let Some(invs) = inventories(group, probes) else {
        return Check::new("D28", WHAT, Status::Skip, "not every member could be read");
    };
    let cleaned: usize = group
        .members
        .iter()
        .filter_map(|m| probes.get(m))
        .map(|p| p.cleaned)
        .sum();
    let left: Vec<String> = invs
        .iter()
        .filter(|(_, i)| !i.ours.is_empty())
        .map(|(s, i)| format!("{s}: {}", i.ours.len()))
        .collect();
    let note = if cleaned > 0 {
        format!("; removed {cleaned} object(s) an interrupted run left (journal)")
    } else {
        String::new()
    };
    if left.is_empty() {
        Check::new("D28", WHAT, Status::Pass, format!("none{note}"))
    } else {
        Check::new(
            "D28",
            WHAT,
            Status::Fail,
            format!(
                "objects with hasim- ids that no journal lists ({}){note}: remove them, or run validate with the state directory that created them",
                left.join(", ")
            ),
        )
    }
}

/// The operator's objects after the run against before, member by member.
pub fn untouched(
    group: &GroupConfig,
    before: &BTreeMap<String, Inventory>,
    after: &BTreeMap<String, Inventory>,
) -> Check {
    const WHAT: &str = "pre-existing objects untouched (fingerprints before and after)";
    let mut changed = Vec::new();
    let mut total = 0;
    for m in &group.members {
        let (Some(b), Some(a)) = (before.get(m), after.get(m)) else {
            return Check::new("D28", WHAT, Status::Skip, format!("{m} could not be read"));
        };
        total += b.own.len();
        let gone: Vec<&Print> = b.own.iter().filter(|p| !a.own.contains(p)).collect();
        let new: Vec<&Print> = a.own.iter().filter(|p| !b.own.contains(p)).collect();
        for p in gone {
            changed.push(format!("{m}: changed or removed: {}", p.name()));
        }
        for p in new {
            changed.push(format!("{m}: new or changed: {}", p.name()));
        }
        if !a.ours.is_empty() {
            changed.push(format!("{m}: {} hasim object(s) left behind", a.ours.len()));
        }
    }
    if changed.is_empty() {
        Check::new(
            "D28",
            WHAT,
            Status::Pass,
            format!("{total} object(s), identical fingerprints; nothing of hasim's left"),
        )
    } else {
        Check::new("D28", WHAT, Status::Fail, changed.join("; "))
    }
}
