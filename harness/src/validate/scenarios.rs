//! Which scenarios validate runs and how one is fitted to the operator's group.
//!
//! The default set is every portable scenario (`portable: true`), embedded in the binary at
//! build time (`build.rs`); `--scenarios DIR` reads a folder instead. A scenario is fitted to
//! a group ([`prepare`]):
//!
//! - it is skipped, with the reason, when it cannot run on a generic PKCS#11 token
//!   (`backend::luna_only`), makes no application call, is a negative case, sets up other
//!   than one group, has a different number of partitions than the group has members, puts
//!   its standby members elsewhere, spreads its partitions over several cloning domains, or
//!   writes to a member outside the group (`GenerateKeyOnSlot`, `DirectModify`, B21, B22:
//!   those objects carry no hasim id), or needs
//!   LunaCM's own login (D22: one shared library instance has one login per token);
//! - otherwise its partitions bind to the group's members in order: every scenario serial
//!   is replaced by the member's, and its group label by the conf's (in the whole scenario:
//!   faults, commands, expected log lines, object counts), so the run and its HA log name the
//!   operator's partitions and group;
//! - the conf's group settings replace the scenario's group and setting lines and its `conf`
//!   (its other set-up lines, such as `listgroups`, stay after the conf's) (members, standby,
//!   retry, interval, recovery mode, HAOnly, synchronisation, `failover_on_deactivation`,
//!   timeouts; validate's own HA log path), and the operator's credential replaces the
//!   scenario's fixture credentials. The scenario contributes its workload and its faults;
//!   its own expectations were written for its own settings, so the verdict is the model's
//!   prediction under the conf's settings (see the module above). A setting the scenario's
//!   own set-up chose differently is named in the result.

use std::path::Path;

use ha_engine::config::{ClientConfig, GroupConfig};
use ha_engine::log::HaLogSettings;

use crate::backend::{has_application_calls, luna_only};
use crate::scenario::ast::Step;
use crate::scenario::{self, Scenario};
use crate::suite;

use super::ValidateError;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/portable_scenarios.rs"));
}

/// A scenario's text and its name.
#[derive(Clone, Debug)]
pub struct Source {
    /// Its name (path under `scenarios/` or under `--scenarios`).
    pub name: String,
    /// Its text.
    pub text: String,
}

/// The portable scenarios shipped inside the binary.
pub fn default_set() -> Vec<Source> {
    embedded::PORTABLE
        .iter()
        .map(|(name, text)| Source {
            name: (*name).to_string(),
            text: (*text).to_string(),
        })
        .collect()
}

/// The `.ron` files under `dir` (or the one file `dir` names), sorted.
pub fn from_dir(dir: &Path) -> Result<Vec<Source>, ValidateError> {
    let files = suite::discover(dir).map_err(|e| ValidateError::Scenarios(e.to_string()))?;
    if files.is_empty() {
        return Err(ValidateError::Scenarios(format!(
            "no .ron scenario files under {}",
            dir.display()
        )));
    }
    files
        .iter()
        .map(|f| {
            Ok(Source {
                name: suite::scenario_name(dir, f),
                text: std::fs::read_to_string(f)
                    .map_err(|e| ValidateError::Io(f.to_path_buf(), e))?,
            })
        })
        .collect()
}

/// A scenario fitted to a group, or why it does not fit.
#[derive(Debug)]
pub enum Prepared {
    /// Ready to run, with notes for the report.
    Run(Box<Scenario>, Vec<String>),
    /// Does not fit (the reason).
    Skip(String),
}

/// The HA log directory of a run in the simulation's file system (written out to disk
/// afterwards, into validate's own directory).
pub const SIM_LOG_DIR: &str = "/validate-halog";

fn words(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

fn flag<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let w = words(line);
    w.iter()
        .position(|x| x.eq_ignore_ascii_case(name))
        .and_then(|i| w.get(i + 1).copied())
}

fn is_hagroup(line: &str, command: &str) -> bool {
    let w = words(line);
    w.len() >= 2 && w[0].eq_ignore_ascii_case("hagroup") && w[1].eq_ignore_ascii_case(command)
}

/// What a scenario's set-up line does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SetupKind {
    /// Makes the group (`creategroup`, `addmember`, `addstandby`, `halog -path`): the conf's.
    Group,
    /// Changes a setting: the conf's value is used instead.
    Setting,
    /// Anything else (showing commands): kept.
    Other,
}

fn setup_kind(line: &str) -> SetupKind {
    let has = |f: &str| flag_present(line, f);
    if ["creategroup", "addmember", "addstandby"]
        .iter()
        .any(|c| is_hagroup(line, c))
        || (is_hagroup(line, "halog") && has("-path"))
    {
        SetupKind::Group
    } else if ["retry", "interval", "recoverymode"]
        .iter()
        .any(|c| is_hagroup(line, c))
        || (["haonly", "synchronize", "halog"]
            .iter()
            .any(|c| is_hagroup(line, c))
            && (has("-enable") || has("-disable") || has("-maxlength")))
    {
        SetupKind::Setting
    } else {
        SetupKind::Other
    }
}

fn flag_present(line: &str, name: &str) -> bool {
    words(line).iter().any(|w| w.eq_ignore_ascii_case(name))
}

/// Replaces every scenario serial with its member's, longest first, through placeholders (so a
/// serial that is part of another, or of a member's, is never replaced twice).
fn substitute(text: &str, pairs: &[(String, String)]) -> String {
    let mut order: Vec<usize> = (0..pairs.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(pairs[i].0.len()));
    let mut out = text.to_string();
    for &i in &order {
        out = out.replace(&pairs[i].0, &format!("\u{1}{i}\u{1}"));
    }
    for (i, (_, to)) in pairs.iter().enumerate() {
        out = out.replace(&format!("\u{1}{i}\u{1}"), to);
    }
    out
}

/// Fits `source` to `group` under the conf's settings. `credential` becomes the scenario's
/// credential (held in memory only; a scenario never prints it).
pub fn prepare(
    source: &Source,
    group: &GroupConfig,
    config: &ClientConfig,
    log: &HaLogSettings,
    credential: &str,
) -> Result<Prepared, ValidateError> {
    let parsed = scenario::parse_str(&source.text, &source.name)
        .map_err(|e| ValidateError::Scenarios(e.to_string()))?;
    let skip = |why: String| Ok(Prepared::Skip(why));
    if let Some(why) = luna_only(&parsed) {
        return skip(why);
    }
    if parsed.negative.is_some() {
        return skip("a negative case (nothing runs on the members)".into());
    }
    if !has_application_calls(&parsed) {
        return skip("no application calls".into());
    }
    // Objects made outside the group (B21, B22) carry no hasim id: validate makes none.
    let steps = ron::ser::to_string(&parsed.steps).unwrap_or_default();
    if ["GenerateKeyOnSlot", "DirectModify", "DirectChange"]
        .iter()
        .any(|w| steps.contains(w))
    {
        return skip(
            "writes to a member outside the group (B21, B22): such objects carry no hasim id"
                .into(),
        );
    }
    if !parsed.processes.is_empty() {
        return skip(
            "several client processes (D45) need a library instance each, which one shared library instance cannot give".into(),
        );
    }
    let lunacm_login = parsed
        .setup
        .iter()
        .chain(parsed.steps.iter().filter_map(|s| match s {
            Step::Command(line) => Some(line),
            _ => None,
        }));
    if lunacm_login
        .map(|l| words(l))
        .any(|w| w.len() >= 2 && w[0] == "partition" && w[1] == "login")
    {
        return skip(
            "needs LunaCM's own login (D22), which one shared library instance cannot give".into(),
        );
    }
    let groups = parsed
        .setup
        .iter()
        .filter(|l| is_hagroup(l, "creategroup"))
        .count();
    if groups != 1 {
        return skip(format!(
            "sets up {groups} groups; validate runs one group at a time"
        ));
    }
    let (k, n) = (parsed.partitions.len(), group.members.len());
    if k != n {
        return skip(format!(
            "has {k} partitions, group {} has {n} members",
            group.label
        ));
    }
    let mut domains: Vec<&str> = parsed
        .partitions
        .iter()
        .map(|p| p.domain.as_str())
        .collect();
    domains.dedup();
    if domains.len() > 1 {
        return skip("needs partitions in different cloning domains".into());
    }
    let scenario_serials: Vec<String> = parsed
        .partitions
        .iter()
        .map(|p| p.serial.as_str().to_string())
        .collect();
    let standby_at = |serials: &[String], is_standby: &dyn Fn(&str) -> bool| -> Vec<usize> {
        (0..serials.len())
            .filter(|&i| is_standby(&serials[i]))
            .collect()
    };
    let scenario_standby: Vec<String> = parsed
        .setup
        .iter()
        .filter(|l| is_hagroup(l, "addstandby"))
        .filter_map(|l| flag(l, "-serialnumber").map(str::to_string))
        .collect();
    let ours = standby_at(&scenario_serials, &|s| {
        scenario_standby.iter().any(|x| x == s)
    });
    let theirs = standby_at(&group.members, &|s| group.standby.contains(s));
    if ours != theirs {
        return skip(format!(
            "standby members at positions {ours:?}, group {} has them at {theirs:?}",
            group.label
        ));
    }

    // The conf's group and settings, as LunaCM commands and `conf` text.
    let only = ClientConfig {
        groups: vec![group.clone()],
        ..config.clone()
    };
    let (mut setup, conf, _) = crate::import::plan::setup(&only, log, &Default::default());
    let scenario_log_dir = parsed
        .setup
        .iter()
        .filter(|l| is_hagroup(l, "halog"))
        .find_map(|l| flag(l, "-path").map(str::to_string));
    let log_dir = scenario_log_dir.unwrap_or_else(|| SIM_LOG_DIR.to_string());
    for line in &mut setup {
        if is_hagroup(line, "halog") && flag(line, "-path").is_some() {
            *line = format!("hagroup halog -path {log_dir}");
        }
    }
    let mut notes = Vec::new();
    for line in &parsed.setup {
        match setup_kind(line) {
            SetupKind::Setting if !setup.iter().any(|l| l == line) => notes.push(format!(
                "the scenario's `{line}` is replaced by the conf's setting"
            )),
            // Showing commands (`listgroups`, `haonly -show`, ...) stay, after the conf's.
            SetupKind::Other => setup.push(line.clone()),
            _ => {}
        }
    }

    let mut pairs: Vec<(String, String)> = scenario_serials
        .iter()
        .cloned()
        .zip(group.members.iter().cloned())
        .collect();
    // The scenario's group label becomes the conf's, in its commands and expected lines.
    if let Some(label) = parsed
        .setup
        .iter()
        .find(|l| is_hagroup(l, "creategroup"))
        .and_then(|l| flag(l, "-label"))
        && label != group.label
    {
        pairs.push((label.to_string(), group.label.clone()));
    }
    let mut fitted = parsed;
    fitted.setup = setup;
    fitted.conf = conf;
    let text = ron::ser::to_string(&fitted)
        .map_err(|e| ValidateError::Scenarios(format!("{}: cannot rewrite: {e}", source.name)))?;
    let mut fitted = scenario::parse_str(&substitute(&text, &pairs), &source.name)
        .map_err(|e| ValidateError::Scenarios(format!("{}: after fitting: {e}", source.name)))?;
    fitted.credentials.co = credential.to_string();
    for p in &mut fitted.partitions {
        p.co = None;
    }
    Ok(Prepared::Run(Box::new(fitted), notes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_set_is_the_portable_scenarios() {
        let set = default_set();
        assert!(set.len() > 10, "{}", set.len());
        assert!(
            set.iter()
                .any(|s| s.name == "failover/two-members-drop-and-recover.ron")
        );
        assert!(set.iter().all(|s| s.text.contains("portable: true")));
    }

    #[test]
    fn serials_are_replaced_once_longest_first() {
        let pairs = vec![
            ("123".to_string(), "1234".to_string()),
            ("1234".to_string(), "ab".to_string()),
        ];
        assert_eq!(substitute("123 1234 11234", &pairs), "1234 ab 1ab");
    }

    fn group(members: &[&str]) -> GroupConfig {
        GroupConfig {
            label: "prod".into(),
            members: members.iter().map(|s| s.to_string()).collect(),
            standby: Default::default(),
        }
    }

    #[test]
    fn a_scenario_is_fitted_to_the_members_and_the_settings() {
        let source = default_set()
            .into_iter()
            .find(|s| s.name == "failover/two-members-drop-and-recover.ron")
            .unwrap();
        let config = ClientConfig {
            retry: ha_engine::config::RetryLimit::from_count(3).unwrap(),
            ..Default::default()
        };
        let g = group(&["8a3f0c2e1d4b5a69", "77d0e1f2a3b4c5d6"]);
        let Prepared::Run(s, _) =
            prepare(&source, &g, &config, &HaLogSettings::default(), "pin").unwrap()
        else {
            panic!("skipped")
        };
        assert_eq!(s.partitions[0].serial.as_str(), "8a3f0c2e1d4b5a69");
        assert!(
            s.setup.iter().any(|l| l == "hagroup retry -count 3"),
            "{:?}",
            s.setup
        );
        assert!(s.setup[0].contains("-label prod -serialnumber 8a3f0c2e1d4b5a69"));
        let text = ron::ser::to_string(&*s).unwrap();
        assert!(!text.contains("1234840370164"), "{text}");

        let three = group(&["a1", "a2", "a3"]);
        let Prepared::Skip(why) =
            prepare(&source, &three, &config, &HaLogSettings::default(), "pin").unwrap()
        else {
            panic!("ran")
        };
        assert!(why.contains("2 partitions"), "{why}");
    }
}
