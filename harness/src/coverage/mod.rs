//! Owns `hasim coverage`: runs every scenario under a folder and reports which HA log templates
//! of [`ha_engine::log::CATALOGUE`] the engine emitted in those runs, and which spec rules of
//! the rules file ([`rules`]) the scenarios name in their `rules: [...]` lists. Coverage is
//! complete when every non-deprecated template was emitted and every required rule is named.
//!
//! A template counts as covered by a scenario when the engine produced that log record during
//! its run (whether or not a log file received it, and whether or not the scenario's own
//! expectations held). A rule counts as covered when some scenario names it; naming is the
//! scenario author's claim, checked by the scenario's expectations, not by this report.

pub mod rules;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{self, Write as _};
use std::path::Path;

use ha_engine::log::{CATALOGUE, TemplateEntry};

use crate::suite::{self, SuiteError};

pub use rules::{Confidence, Rule, RuleBook, RulesError};

/// Why coverage could not be computed (the CLI exits 2 on each).
#[derive(Debug, thiserror::Error)]
pub enum CoverageError {
    /// The folder (or a folder below it) cannot be read, a scenario file is malformed
    /// (`file:line:col: message` when ron gives a position) or its topology cannot be built.
    #[error(transparent)]
    Suite(#[from] SuiteError),
    /// The folder holds no `.ron` scenario file.
    #[error("{path}: no .ron scenario files")]
    NoScenarios {
        /// The folder as given.
        path: String,
    },
    /// The embedded rules file is invalid.
    #[error(transparent)]
    Rules(#[from] RulesError),
}

/// What one scenario contributed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioRun {
    /// Path relative to the folder, `/`-separated.
    pub name: String,
    /// The scenario's `rules: [...]`, as written.
    pub rules: Vec<String>,
    /// Ids of the templates the engine emitted during the run.
    pub emitted: BTreeSet<String>,
    /// Why the run stopped early, if it did.
    pub aborted: Option<String>,
}

/// One catalogue template and the scenarios whose run emitted it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TemplateCoverage {
    /// The catalogue entry.
    pub entry: TemplateEntry,
    /// Names of the scenarios that emitted it, sorted.
    pub scenarios: Vec<String>,
}

/// One rule and the scenarios that name it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleCoverage {
    /// The rule.
    pub rule: Rule,
    /// Names of the scenarios whose `rules` list names it, sorted.
    pub scenarios: Vec<String>,
}

/// Whether coverage is complete.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every non-deprecated template emitted and every required rule named.
    Complete,
    /// Something is missing.
    NotComplete,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Complete => "complete",
            Verdict::NotComplete => "not complete",
        })
    }
}

/// The coverage of a set of scenarios.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Coverage {
    /// What was examined (the folder as given).
    pub root: String,
    /// Each scenario, in path order.
    pub scenarios: Vec<ScenarioRun>,
    /// Each catalogue template, in catalogue order.
    pub templates: Vec<TemplateCoverage>,
    /// Each rule, in rules-file order.
    pub rules: Vec<RuleCoverage>,
    /// Rule ids named by scenarios that the rules file does not know, with those scenarios.
    pub unknown_rules: BTreeMap<String, Vec<String>>,
}

/// Runs every scenario under `root` (or `root` itself when it is a file) and computes coverage
/// against the catalogue and the embedded rules file. Stops at the first file that cannot be
/// read, parsed or built.
pub fn compute(root: &Path) -> Result<Coverage, CoverageError> {
    let book = RuleBook::embedded()?;
    let files = suite::discover(root)?;
    if files.is_empty() {
        return Err(CoverageError::NoScenarios {
            path: root.display().to_string(),
        });
    }
    let mut runs = Vec::with_capacity(files.len());
    for file in &files {
        let outcome = suite::run_file(file)?;
        runs.push(ScenarioRun {
            name: suite::scenario_name(root, file),
            aborted: outcome.record.aborted().map(str::to_string),
            emitted: outcome.record.templates,
            rules: outcome.scenario.rules,
        });
    }
    Ok(Coverage::build(
        &root.display().to_string(),
        &book,
        CATALOGUE,
        runs,
    ))
}

impl Coverage {
    /// Coverage of already-run scenarios against a catalogue and a rule book.
    pub fn build(
        root: &str,
        book: &RuleBook,
        catalogue: &[TemplateEntry],
        mut runs: Vec<ScenarioRun>,
    ) -> Coverage {
        runs.sort_by(|a, b| a.name.cmp(&b.name));
        let templates = catalogue
            .iter()
            .map(|entry| TemplateCoverage {
                entry: *entry,
                scenarios: runs
                    .iter()
                    .filter(|run| run.emitted.contains(entry.id))
                    .map(|run| run.name.clone())
                    .collect(),
            })
            .collect();
        let rules = book
            .rules()
            .iter()
            .map(|rule| RuleCoverage {
                rule: rule.clone(),
                scenarios: runs
                    .iter()
                    .filter(|run| run.rules.contains(&rule.id))
                    .map(|run| run.name.clone())
                    .collect(),
            })
            .collect();
        let mut unknown_rules: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for run in &runs {
            let named: BTreeSet<&String> = run.rules.iter().collect();
            for id in named {
                if book.get(id).is_none() {
                    unknown_rules
                        .entry(id.clone())
                        .or_default()
                        .push(run.name.clone());
                }
            }
        }
        Coverage {
            root: root.to_string(),
            scenarios: runs,
            templates,
            rules,
            unknown_rules,
        }
    }

    /// The non-deprecated templates no scenario run emitted, in catalogue order.
    pub fn uncovered_templates(&self) -> Vec<&TemplateCoverage> {
        self.templates
            .iter()
            .filter(|t| !t.entry.deprecated && t.scenarios.is_empty())
            .collect()
    }

    /// The required rules no scenario names, in rules-file order.
    pub fn uncovered_required_rules(&self) -> Vec<&RuleCoverage> {
        self.rules
            .iter()
            .filter(|r| r.rule.required && r.scenarios.is_empty())
            .collect()
    }

    /// The template with this id.
    pub fn template(&self, id: &str) -> Option<&TemplateCoverage> {
        self.templates.iter().find(|t| t.entry.id == id)
    }

    /// The rule with this id.
    pub fn rule(&self, id: &str) -> Option<&RuleCoverage> {
        self.rules.iter().find(|r| r.rule.id == id)
    }

    /// Complete when nothing is uncovered.
    pub fn verdict(&self) -> Verdict {
        if self.uncovered_templates().is_empty() && self.uncovered_required_rules().is_empty() {
            Verdict::Complete
        } else {
            Verdict::NotComplete
        }
    }

    /// `templates: X/Y covered, rules: A/B required covered` (Y counts non-deprecated
    /// templates, B required rules).
    pub fn summary_line(&self) -> String {
        let templates = self
            .templates
            .iter()
            .filter(|t| !t.entry.deprecated)
            .count();
        let templates_covered = templates - self.uncovered_templates().len();
        let required = self.rules.iter().filter(|r| r.rule.required).count();
        let required_covered = required - self.uncovered_required_rules().len();
        format!(
            "templates: {templates_covered}/{templates} covered, rules: {required_covered}/{required} required covered"
        )
    }

    /// The plain-text report; its last line is [`Coverage::summary_line`].
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = self.write_report(&mut out);
        out
    }

    fn write_report(&self, out: &mut String) -> fmt::Result {
        writeln!(
            out,
            "coverage of {}: {} scenario file(s)",
            self.root,
            self.scenarios.len()
        )?;

        writeln!(out)?;
        writeln!(
            out,
            "== HA log templates: the scenarios whose run emitted each =="
        )?;
        for t in &self.templates {
            let flag = if t.entry.deprecated {
                "  (deprecated)"
            } else {
                ""
            };
            writeln!(out, "{}{flag}", t.entry.id)?;
            writeln!(out, "    emitted by: {}", listing(&t.scenarios))?;
        }
        let uncovered = self.uncovered_templates();
        writeln!(out)?;
        writeln!(
            out,
            "uncovered templates (not deprecated): {}",
            uncovered.len()
        )?;
        for t in uncovered {
            writeln!(out, "    {:<40} {}", t.entry.id, t.entry.template)?;
        }

        writeln!(out)?;
        writeln!(
            out,
            "== rules: the scenarios whose rules: [...] names each =="
        )?;
        for r in &self.rules {
            let required = if r.rule.required {
                "required"
            } else {
                "not required"
            };
            writeln!(
                out,
                "{:<4} {required:<12} {:<8} {}",
                r.rule.id, r.rule.confidence, r.rule.summary
            )?;
            if let Some(why) = &r.rule.why_not_required {
                writeln!(out, "     why not required: {why}")?;
            }
            writeln!(out, "     named by: {}", listing(&r.scenarios))?;
        }
        let uncovered = self.uncovered_required_rules();
        writeln!(out)?;
        writeln!(out, "uncovered required rules: {}", uncovered.len())?;
        for r in uncovered {
            writeln!(out, "    {:<4} {}", r.rule.id, r.rule.summary)?;
        }

        if !self.unknown_rules.is_empty() {
            writeln!(out)?;
            writeln!(
                out,
                "rule ids named by scenarios but not in the rules file:"
            )?;
            for (id, scenarios) in &self.unknown_rules {
                writeln!(out, "    {id}: {}", listing(scenarios))?;
            }
        }
        let aborted: Vec<&ScenarioRun> = self
            .scenarios
            .iter()
            .filter(|s| s.aborted.is_some())
            .collect();
        if !aborted.is_empty() {
            writeln!(out)?;
            writeln!(
                out,
                "runs that stopped early (templates emitted before the stop still count):"
            )?;
            for s in aborted {
                writeln!(
                    out,
                    "    {}: {}",
                    s.name,
                    s.aborted.as_deref().unwrap_or_default()
                )?;
            }
        }

        writeln!(out)?;
        writeln!(out, "coverage: {}", self.verdict())?;
        writeln!(out, "{}", self.summary_line())
    }
}

/// `a, b, c`, or `none`.
fn listing(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &'static str, deprecated: bool) -> TemplateEntry {
        TemplateEntry {
            id,
            template: "<MessagePrefix> text",
            rules: &[],
            deprecated,
        }
    }

    fn book() -> RuleBook {
        RuleBook::parse(
            r#"[
                (id: "B1", summary: "one", confidence: H, required: true),
                (id: "B2", summary: "two", confidence: M, required: false, why_not_required: "docs only"),
                (id: "D1", summary: "three", confidence: Decision, required: true),
            ]"#,
        )
        .unwrap()
    }

    fn run(name: &str, rules: &[&str], emitted: &[&str]) -> ScenarioRun {
        ScenarioRun {
            name: name.to_string(),
            rules: rules.iter().map(|s| s.to_string()).collect(),
            emitted: emitted.iter().map(|s| s.to_string()).collect(),
            aborted: None,
        }
    }

    #[test]
    fn counts_ignore_deprecated_templates_and_unrequired_rules() {
        let catalogue = [entry("T1", false), entry("T2", false), entry("T3", true)];
        let cov = Coverage::build(
            "s",
            &book(),
            &catalogue,
            vec![
                run("b.ron", &["B1", "B9"], &["T1"]),
                run("a.ron", &["B1"], &["T1", "T3"]),
            ],
        );
        assert_eq!(cov.template("T1").unwrap().scenarios, ["a.ron", "b.ron"]);
        assert_eq!(cov.template("T3").unwrap().scenarios, ["a.ron"]);
        let uncovered: Vec<&str> = cov
            .uncovered_templates()
            .iter()
            .map(|t| t.entry.id)
            .collect();
        assert_eq!(uncovered, ["T2"]);
        let rules: Vec<&str> = cov
            .uncovered_required_rules()
            .iter()
            .map(|r| r.rule.id.as_str())
            .collect();
        assert_eq!(rules, ["D1"]);
        assert_eq!(cov.unknown_rules["B9"], ["b.ron"]);
        assert_eq!(cov.verdict(), Verdict::NotComplete);
        assert_eq!(
            cov.summary_line(),
            "templates: 1/2 covered, rules: 1/2 required covered"
        );
        let report = cov.render();
        assert!(report.ends_with("templates: 1/2 covered, rules: 1/2 required covered\n"));
        assert!(report.contains("T3  (deprecated)\n    emitted by: a.ron\n"));
        assert!(report.contains("    B9: b.ron\n"));
    }

    #[test]
    fn complete_when_nothing_is_missing() {
        let catalogue = [entry("T1", false), entry("T3", true)];
        let cov = Coverage::build(
            "s",
            &book(),
            &catalogue,
            vec![run("a.ron", &["B1", "D1"], &["T1"])],
        );
        assert_eq!(cov.verdict(), Verdict::Complete);
        assert_eq!(
            cov.summary_line(),
            "templates: 1/1 covered, rules: 2/2 required covered"
        );
    }
}
