//! `hasim validate`: the operator's own HA setup (a `Chrystoki.conf` and a PKCS#11 library)
//! checked against what PKCS#11 can tell and run through the scenarios (issue 11).
//!
//! hasim's engine is driven over the operator's members with the operator's settings: this
//! tests the setup (members, credentials, firmware, object sets, settings) and predicts the
//! group's behaviour; it does not test the vendor's HA code. In order:
//!
//! 1. [`conf`]: the file's groups and settings (a refused value is a failed check, not the
//!    end of the run);
//! 2. [`probe`]: each member found by serial in one shared instance of the library, logged in
//!    once, cleaned of what an interrupted run left ([`journal`]), inventoried
//!    ([`inventory`]: the operator's objects fingerprinted);
//! 3. [`checks`]: each check with its rule id;
//! 4. [`scenarios`]: each scenario fitted to the group (or skipped with the reason) and run
//!    through the engine on the real members behind the fault injector
//!    ([`partitions`]: objects journalled before they are created, the operator's objects
//!    hidden, counts as deltas), its objects removed afterwards, its HA log and transcript
//!    written into validate's own directory. The verdict is the prediction: the same fitted
//!    scenario on hasim's in-process HSM must give the same portable transcript (D29);
//! 5. the operator's objects inventoried again: their fingerprints must be unchanged;
//! 6. [`report`]: text or JSON; [`command`]: the command line and the Luna environment.
//!
//! Decisions: D27 (the library and its configuration), D28 (hasim's namespace, the journal,
//! untouched objects), D29 (scenarios fitted to the conf's group and settings).

pub mod checks;
pub mod command;
pub mod conf;
pub mod inventory;
pub mod journal;
pub mod partitions;
pub mod probe;
pub mod report;
pub mod scenarios;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use cryptoki::slot::Slot;
use ha_engine::Ckr;
use ha_engine::config::GroupConfig;
use pkcs11_member::{
    Attachment, CredentialSource, Library, Pkcs11Member, SetupError, TokenSelector,
};
use secrecy::{ExposeSecret, SecretString};

use crate::backend::softhsm::{TokenConnections, partitions_over_tokens};
use crate::backend::{Backend, Built};
use crate::differential;
use crate::runner::{self, RunOptions};
use crate::scenario::Scenario;
use crate::topology;
use crate::transcript;
use crate::verdict;

use self::conf::ConfView;
use self::journal::Journal;
use self::partitions::{JournalFailures, ValidatePartitions};
use self::probe::Probe;
use self::report::{Check, GroupReport, Report, ScenarioResult, Status};
use self::scenarios::{Prepared, Source};

/// What validate is asked to do.
#[derive(Clone, Debug)]
pub struct Options {
    /// The operator's `Chrystoki.conf`.
    pub conf: PathBuf,
    /// The PKCS#11 library.
    pub module: PathBuf,
    /// Where the credential comes from (never the command line).
    pub credential: CredentialSource,
    /// A folder of scenarios instead of the embedded portable set.
    pub scenarios: Option<PathBuf>,
    /// Only this group.
    pub group: Option<String>,
    /// validate's state directory (journal, HA logs).
    pub state_dir: PathBuf,
}

/// Why validate could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum ValidateError {
    /// The configuration file cannot be used.
    #[error("{0}")]
    Conf(String),
    /// A file-system step failed.
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
    /// The journal cannot be read.
    #[error("journal {0}")]
    Journal(String),
    /// Loading the library or reading the credential failed.
    #[error(transparent)]
    Setup(#[from] SetupError),
    /// A PKCS#11 call on a member failed outside the checks.
    #[error("member {0}: {1} failed: {2}")]
    Member(String, &'static str, Ckr),
    /// No group to validate.
    #[error("{0}")]
    NoGroup(String),
    /// The scenarios cannot be read or fitted.
    #[error("{0}")]
    Scenarios(String),
}

/// The default state directory: `$XDG_STATE_HOME/hasim/validate`, else
/// `$HOME/.local/state/hasim/validate`, else `./.hasim-validate`.
pub fn default_state_dir() -> PathBuf {
    if let Some(x) = std::env::var_os("XDG_STATE_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(x).join("hasim/validate");
    }
    if let Some(h) = std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(h).join(".local/state/hasim/validate");
    }
    PathBuf::from(".hasim-validate")
}

/// A file-system-friendly name for a scenario (`failover/x.ron` -> `failover--x`).
fn dir_name(name: &str) -> String {
    name.trim_end_matches(".ron")
        .replace('/', "--")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The most lines of a prediction's difference a report shows.
const MAX_DIFF_LINES: usize = 40;

/// Runs validate.
pub fn run(options: &Options) -> Result<Report, ValidateError> {
    let text = std::fs::read_to_string(&options.conf)
        .map_err(|e| ValidateError::Io(options.conf.clone(), e))?;
    let origin = options.conf.display().to_string();
    let view = conf::read(&text, &origin)?;
    let groups: Vec<GroupConfig> = view
        .config
        .groups
        .iter()
        .filter(|g| options.group.as_deref().is_none_or(|l| l == g.label))
        .cloned()
        .collect();
    if groups.is_empty() {
        return Err(ValidateError::NoGroup(match &options.group {
            Some(l) => format!("{origin}: no HA group labelled {l}"),
            None => format!("{origin}: no HA group (VirtualToken<NN>Label)"),
        }));
    }
    let sources = match &options.scenarios {
        Some(dir) => scenarios::from_dir(dir)?,
        None => scenarios::default_set(),
    };
    let pin = options.credential.read()?;
    std::fs::create_dir_all(&options.state_dir)
        .map_err(|e| ValidateError::Io(options.state_dir.clone(), e))?;
    let state_dir = options
        .state_dir
        .canonicalize()
        .map_err(|e| ValidateError::Io(options.state_dir.clone(), e))?;
    let halog_dir = state_dir.join("halog");
    let journal = Journal::in_dir(&state_dir);
    let lib = Arc::new(Library::load(&options.module)?);

    // First visits, once per member of every selected group.
    let mut probes: BTreeMap<String, Probe> = BTreeMap::new();
    for g in &groups {
        for m in &g.members {
            if !probes.contains_key(m) {
                probes.insert(m.clone(), probe::first_visit(&lib, m, &pin, &journal)?);
            }
        }
    }

    let mut report = Report {
        what: report::WHAT_VALIDATE_IS.to_string(),
        conf: origin,
        module: options.module.display().to_string(),
        state_dir: state_dir.display().to_string(),
        halog_dir: halog_dir.display().to_string(),
        checks: checks::settings(&view),
        groups: Vec::new(),
    };
    for g in &groups {
        let mut checks = checks::group(g, &probes);
        let blocking: Vec<String> = report
            .checks
            .iter()
            .chain(checks.iter())
            .filter(|c| c.status == Status::Fail)
            .map(|c| format!("{} {}", c.rule, c.check))
            .collect();
        let scenarios = if blocking.is_empty() {
            let mut run = GroupRun {
                lib: &lib,
                group: g,
                view: &view,
                pin: &pin,
                journal: &journal,
                halog_dir: halog_dir.join(dir_name(&g.label)),
                probes: &probes,
            };
            let (results, mut after) = run.all(&sources);
            checks.append(&mut after);
            results
        } else {
            sources
                .iter()
                .map(|s| ScenarioResult {
                    name: s.name.clone(),
                    status: Status::Skip,
                    detail: vec![format!("not run: {} failed", blocking.join(", "))],
                    halog: None,
                })
                .collect()
        };
        report.groups.push(GroupReport {
            label: g.label.clone(),
            members: g.members.clone(),
            checks,
            scenarios,
        });
    }
    Ok(report)
}

/// One group's scenarios on its members.
struct GroupRun<'a> {
    lib: &'a Arc<Library>,
    group: &'a GroupConfig,
    view: &'a ConfView,
    pin: &'a SecretString,
    journal: &'a Journal,
    halog_dir: PathBuf,
    probes: &'a BTreeMap<String, Probe>,
}

impl GroupRun<'_> {
    fn slots(&self) -> Vec<(String, Slot)> {
        self.group
            .members
            .iter()
            .filter_map(|m| {
                let f = self.probes.get(m)?.found.as_ref().ok()?;
                Some((m.clone(), f.slot))
            })
            .collect()
    }

    /// Every scenario, then the domain keys removed and the operator's objects compared with
    /// before. Returns the results and the checks made afterwards.
    fn all(&mut self, sources: &[Source]) -> (Vec<ScenarioResult>, Vec<Check>) {
        let slots = self.slots();
        let mut results = Vec::new();
        let mut after_checks = Vec::new();
        let mut broken: Option<String> = None;
        if let Err(e) = probe::install_domain_keys(self.lib, &slots, self.pin, self.journal) {
            broken = Some(format!("installing the domain keys: {e}"));
        }
        for source in sources {
            if let Some(why) = &broken {
                results.push(ScenarioResult {
                    name: source.name.clone(),
                    status: Status::Skip,
                    detail: vec![format!("not run: {why}")],
                    halog: None,
                });
                continue;
            }
            let result = self.one(source);
            // Whatever happened, the scenario's objects go before the next one starts.
            if let Err(e) = self.clean(&slots, true) {
                broken = Some(format!("removing the objects of {}: {e}", source.name));
            }
            results.push(result);
        }
        let mut before = BTreeMap::new();
        for (m, _) in &slots {
            if let Some(inv) = self.probes.get(m).and_then(|p| p.inventory.clone()) {
                before.insert(m.clone(), inv);
            }
        }
        let mut after = BTreeMap::new();
        for (m, slot) in &slots {
            match probe::revisit(self.lib, m, *slot, self.pin, self.journal, false, true) {
                Ok(Some(inv)) => {
                    after.insert(m.clone(), inv);
                }
                Ok(None) => {}
                Err(e) => after_checks.push(Check::new(
                    "D28",
                    format!("clean-up on {m}"),
                    Status::Fail,
                    format!("{e}; the journal keeps its objects for the next run"),
                )),
            }
        }
        if let Some(why) = broken {
            after_checks.push(Check::new(
                "D28",
                "scenario objects removed",
                Status::Fail,
                format!("{why}; the journal keeps them for the next run"),
            ));
        }
        after_checks.push(checks::untouched(self.group, &before, &after));
        (results, after_checks)
    }

    /// Ends every session of this process on the members (the engine's and LunaCM's
    /// connections), then removes what the journal lists, the domain keys kept when `keep`.
    fn clean(&self, slots: &[(String, Slot)], keep: bool) -> Result<(), ValidateError> {
        for (m, slot) in slots {
            let _ = pkcs11_member::raw::close_all_sessions(self.lib.path(), *slot);
            probe::revisit(self.lib, m, *slot, self.pin, self.journal, keep, false)?;
        }
        Ok(())
    }

    fn one(&self, source: &Source) -> ScenarioResult {
        let mut result = ScenarioResult {
            name: source.name.clone(),
            status: Status::Fail,
            detail: Vec::new(),
            halog: None,
        };
        let prepared = scenarios::prepare(
            source,
            self.group,
            &self.view.config,
            &self.view.log,
            self.pin.expose_secret(),
        );
        let (scenario, mut notes) = match prepared {
            Ok(Prepared::Run(s, notes)) => (s, notes),
            Ok(Prepared::Skip(why)) => {
                result.status = Status::Skip;
                result.detail.push(why);
                return result;
            }
            Err(e) => {
                result.detail.push(e.to_string());
                return result;
            }
        };
        let failures: JournalFailures = Arc::new(Mutex::new(Vec::new()));
        let record = match self.build(&scenario, failures.clone()) {
            Ok(built) => runner::run_built(&scenario, built, RunOptions::default()),
            Err(e) => {
                result.detail.push(format!("cannot build the run: {e}"));
                return result;
            }
        };
        let mut problems: Vec<String> = failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|f| format!("journal: {f}"))
            .collect();
        // The prediction: the same fitted scenario on hasim's in-process HSM (D29).
        match runner::run_on(&scenario, &Backend::Model) {
            Ok(model) => {
                let predicted = transcript::render_portable(&model);
                let seen = transcript::render_portable(&record);
                if predicted != seen {
                    let diff = differential::diff(&predicted, &seen);
                    let lines: Vec<&str> = diff.lines().collect();
                    let mut shown = lines[..lines.len().min(MAX_DIFF_LINES)].join("\n");
                    if lines.len() > MAX_DIFF_LINES {
                        shown.push_str(&format!(
                            "\n... ({} more lines; the whole run is in its transcript)",
                            lines.len() - MAX_DIFF_LINES
                        ));
                    }
                    problems.push(format!(
                        "your members did not behave as predicted (- prediction, + your members):\n{shown}"
                    ));
                }
                let own = verdict::check(&scenario, &model).len();
                if own > 0 {
                    notes.push(format!(
                        "{own} of the scenario's own expectations do not hold under your settings (they were written for its own)"
                    ));
                }
            }
            Err(e) => problems.push(format!("cannot run the prediction: {e}")),
        }
        match self.write_logs(&source.name, &record) {
            Ok(dir) => result.halog = Some(dir.display().to_string()),
            Err(e) => problems.push(e.to_string()),
        }
        result.status = if problems.is_empty() {
            Status::Pass
        } else {
            Status::Fail
        };
        result.detail.extend(notes);
        result.detail.extend(problems);
        result
    }

    /// The world over the operator's tokens: one shared library instance, an application
    /// and a LunaCM connection per member, journalling, counts as deltas.
    fn build(&self, scenario: &Scenario, failures: JournalFailures) -> Result<Built, String> {
        let mut tokens = Vec::new();
        let mut binding = Vec::new();
        let mut baseline = BTreeMap::new();
        for p in &scenario.partitions {
            let serial = p.serial.as_str();
            let open = || {
                Pkcs11Member::open(
                    Attachment::Shared(self.lib.clone()),
                    &TokenSelector::Serial(serial.to_string()),
                    Some(self.pin.clone()),
                )
                .map_err(|e| e.to_string())
            };
            tokens.push(TokenConnections {
                app: open()?,
                lunacm: open()?,
            });
            binding.push(format!(
                "{serial} -> your token {serial} (shared library instance)"
            ));
            let own = self
                .probes
                .get(serial)
                .and_then(|p| p.inventory.as_ref())
                .map_or(0, |i| i.own.len() as u64);
            baseline.insert(serial.to_string(), own);
        }
        let (inner, serials) =
            partitions_over_tokens(scenario, tokens).map_err(|e| e.to_string())?;
        let partitions = ValidatePartitions::new(inner, self.journal.clone(), failures, baseline);
        let config = topology::world_config(scenario).map_err(|e| e.to_string())?;
        let world = topology::build_world_over(scenario, &config, serials, Box::new(partitions))
            .map_err(|e| e.to_string())?;
        Ok(Built { world, binding })
    }

    /// The run's HA log files and transcript, in validate's own directory.
    fn write_logs(
        &self,
        name: &str,
        record: &sim::record::Record,
    ) -> Result<PathBuf, ValidateError> {
        let dir = self.halog_dir.join(dir_name(name));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| ValidateError::Io(dir.clone(), e))?;
        for e in &record.events {
            if let sim::record::Event::End(end) = &e.event {
                for f in &end.files {
                    let file = Path::new(&f.path)
                        .file_name()
                        .map_or_else(|| PathBuf::from("haErrorLog.txt"), PathBuf::from);
                    let path = dir.join(file);
                    std::fs::write(&path, &f.contents).map_err(|e| ValidateError::Io(path, e))?;
                }
            }
        }
        let path = dir.join("transcript.txt");
        std::fs::write(&path, transcript::render(record))
            .map_err(|e| ValidateError::Io(path, e))?;
        Ok(dir)
    }
}
