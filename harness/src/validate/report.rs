//! validate's report: what validate is, each check with its rule id and pass / warn / fail,
//! then each scenario with its result; as text for people and JSON for machines. Credentials
//! never reach it (nothing here holds one).

use std::fmt::Write as _;

use serde::Serialize;

/// What validate is, said at the top of every report.
pub const WHAT_VALIDATE_IS: &str = "hasim's engine driven over your own members with your \
settings: it tests the setup (members, credentials, firmware, object sets, settings) and \
predicts the group's behaviour under the scenarios; it does not test the vendor's HA code.";

/// A check's or a scenario's outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// It holds.
    Pass,
    /// It holds, but something is not recommended.
    Warn,
    /// It does not hold.
    Fail,
    /// It was not checked or run (the reason says why).
    Skip,
}

impl Status {
    fn word(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Fail => "FAIL",
            Status::Skip => "skip",
        }
    }
}

/// One check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Check {
    /// The rule it checks (`B39`, `D28`, ...).
    pub rule: String,
    /// What it checks.
    pub check: String,
    /// The outcome.
    pub status: Status,
    /// What was found.
    pub detail: String,
}

impl Check {
    /// A check.
    pub fn new(
        rule: &str,
        check: impl Into<String>,
        status: Status,
        detail: impl Into<String>,
    ) -> Check {
        Check {
            rule: rule.to_string(),
            check: check.into(),
            status,
            detail: detail.into(),
        }
    }
}

/// One scenario.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ScenarioResult {
    /// Its name (path under the scenario folder).
    pub name: String,
    /// Pass, fail or skip.
    pub status: Status,
    /// Why it was skipped, what failed, or notes (settings the conf changed).
    pub detail: Vec<String>,
    /// The directory holding its HA log, when it ran.
    pub halog: Option<String>,
}

/// One group's part.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GroupReport {
    /// The group's label.
    pub label: String,
    /// Its members, primary first.
    pub members: Vec<String>,
    /// The checks.
    pub checks: Vec<Check>,
    /// The scenarios.
    pub scenarios: Vec<ScenarioResult>,
}

/// The whole report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Report {
    /// [`WHAT_VALIDATE_IS`].
    pub what: String,
    /// The configuration file.
    pub conf: String,
    /// The PKCS#11 library.
    pub module: String,
    /// validate's state directory (journal, HA logs).
    pub state_dir: String,
    /// Where validate's own HA logs are (never the conf's `haLogPath`).
    pub halog_dir: String,
    /// Checks about the file as a whole (values refused, groups).
    pub checks: Vec<Check>,
    /// Each group validated.
    pub groups: Vec<GroupReport>,
}

impl Report {
    /// Every check, file-wide ones first.
    pub fn all_checks(&self) -> impl Iterator<Item = &Check> {
        self.checks
            .iter()
            .chain(self.groups.iter().flat_map(|g| g.checks.iter()))
    }

    /// True when no check and no scenario failed.
    pub fn passed(&self) -> bool {
        self.all_checks().all(|c| c.status != Status::Fail)
            && self
                .groups
                .iter()
                .flat_map(|g| g.scenarios.iter())
                .all(|s| s.status != Status::Fail)
    }

    /// `(pass, warn, fail, skip)` over checks and scenarios.
    pub fn tally(&self) -> [usize; 4] {
        let mut t = [0; 4];
        let statuses = self.all_checks().map(|c| c.status).chain(
            self.groups
                .iter()
                .flat_map(|g| g.scenarios.iter().map(|s| s.status)),
        );
        for s in statuses {
            t[s as usize] += 1;
        }
        t
    }

    /// The text report.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "hasim validate: {}", self.what);
        let _ = writeln!(out, "conf:    {}", self.conf);
        let _ = writeln!(out, "library: {}", self.module);
        let _ = writeln!(out, "state:   {}", self.state_dir);
        let _ = writeln!(
            out,
            "HA log:  {} (validate's own; never the conf's haLogPath)",
            self.halog_dir
        );
        let check_line = |out: &mut String, c: &Check| {
            let _ = writeln!(
                out,
                "  {:<4} {:<5} {}: {}",
                c.status.word(),
                c.rule,
                c.check,
                c.detail
            );
        };
        if !self.checks.is_empty() {
            let _ = writeln!(out, "\nconfiguration");
            for c in &self.checks {
                check_line(&mut out, c);
            }
        }
        for g in &self.groups {
            let _ = writeln!(
                out,
                "\ngroup {} (members {})",
                g.label,
                g.members.join(", ")
            );
            let _ = writeln!(out, " checks");
            for c in &g.checks {
                check_line(&mut out, c);
            }
            let _ = writeln!(out, " scenarios");
            for s in &g.scenarios {
                let _ = writeln!(out, "  {:<4} {}", s.status.word(), s.name);
                for d in &s.detail {
                    for line in d.lines() {
                        let _ = writeln!(out, "         {line}");
                    }
                }
                if let Some(dir) = &s.halog {
                    let _ = writeln!(out, "         HA log: {dir}");
                }
            }
        }
        let [pass, warn, fail, skip] = self.tally();
        let _ = writeln!(
            out,
            "\n{pass} passed, {warn} warnings, {fail} failed, {skip} skipped: {}",
            if self.passed() { "VALID" } else { "NOT VALID" }
        );
        out
    }

    /// The JSON report (one object, pretty-printed).
    pub fn json(&self) -> String {
        #[derive(Serialize)]
        struct Json<'a> {
            #[serde(flatten)]
            report: &'a Report,
            passed: bool,
        }
        serde_json::to_string_pretty(&Json {
            report: self,
            passed: self.passed(),
        })
        .unwrap_or_else(|e| format!("{{\"error\": {:?}}}", e.to_string()))
            + "\n"
    }
}
