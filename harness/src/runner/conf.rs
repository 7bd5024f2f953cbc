//! The runner's handling of the client configuration file: the scenario's initial `conf`
//! (loaded before `setup`), `EditConf` steps (the operator edits the file while the application
//! runs; a raised `[HARecovery]` counter requests a manual recovery, B45), `Conf(...)` negative
//! cases, the file's text in the negative-case state, and the final `== Chrystoki.conf`
//! section of the transcript.

use std::collections::BTreeMap;

use lunacm::chrystoki::Format;

use super::Runner;
use crate::transcript::Entry;

/// The name a configuration text goes by: `crystoki.ini` when it reads as the Windows form,
/// else `Chrystoki.conf` (see [`Format::sniff`]).
pub(crate) fn origin_of(text: &str) -> &'static str {
    Format::sniff(text).file_name()
}

impl Runner<'_> {
    /// Loads the scenario's `conf`, if any; a load error stops the run.
    pub(super) fn load_initial_conf(&mut self) -> Result<(), String> {
        let Some(text) = self.scenario.conf.as_deref() else {
            return Ok(());
        };
        let origin = origin_of(text);
        let now = self.now();
        self.lunacm
            .load_conf(self.world.engine(), now, text, origin)
            .map_err(|e| format!("conf: {e}"))?;
        self.run.transcript.push(
            now,
            Entry::File(format!("{origin} loaded ({} lines)", text.lines().count())),
        );
        self.drain();
        Ok(())
    }

    /// `EditConf(text)`: the operator replaces the file; it is loaded now.
    pub(super) fn edit_conf(&mut self, text: &str) -> Result<(), String> {
        let origin = origin_of(text);
        let now = self.now();
        let before: BTreeMap<String, u64> = self.lunacm.config().legacy_recovery.clone();
        self.lunacm
            .load_conf(self.world.engine(), now, text, origin)
            .map_err(|e| format!("EditConf: {e}"))?;
        let mut line = format!(
            "{origin} edited by the operator ({} lines)",
            text.lines().count()
        );
        for (label, n) in &self.lunacm.config().legacy_recovery {
            let old = before
                .iter()
                .find(|(l, _)| l.eq_ignore_ascii_case(label))
                .map_or(0, |(_, n)| *n);
            if *n > old {
                line.push_str(&format!(
                    "; [HARecovery] {label} {old} -> {n}: manual recovery requested (B45)"
                ));
            }
        }
        self.run.transcript.push(now, Entry::File(line));
        Ok(())
    }

    /// A `Conf(text)` negative case: the refusal text, or `None` when the text was accepted.
    pub(super) fn negative_conf(&mut self, text: &str) -> Option<String> {
        let origin = origin_of(text);
        let now = self.now();
        let refusal = self
            .lunacm
            .load_conf(self.world.engine(), now, text, origin)
            .err()
            .map(|e| e.to_string());
        self.run.transcript.push(
            now,
            Entry::Note(vec![format!(
                "{origin} text -> {}",
                refusal.as_deref().unwrap_or("accepted")
            )]),
        );
        refusal
    }

    /// The configuration file's text, for the negative-case state comparison.
    pub(super) fn conf_state(&mut self) -> String {
        format!("== configuration file\n{}", self.lunacm.conf_text())
    }

    /// `== Chrystoki.conf` and the file's full text, when there is one.
    pub(super) fn conf_section(&mut self) {
        let now = self.now();
        let text = self.lunacm.conf_text();
        if text.is_empty() {
            return;
        }
        let name = self.lunacm.conf().format().file_name();
        self.run
            .transcript
            .push(now, Entry::Section(name.to_string()));
        self.run
            .transcript
            .push(now, Entry::Text(text.lines().map(str::to_string).collect()));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use crate::runner::run;
    use crate::scenario::{Step, parse_str};

    const SCENARIO: &str = r#"Scenario(
    version: 1,
    name: "t",
    partitions: [(serial: 11, label: "a"), (serial: 22, label: "b")],
    conf: "CONF",
    steps: [STEPS],
    expect: [Log("x"), ObjectCounts({11: 0})],
)"#;

    fn scenario(conf: &str, steps: &str) -> String {
        SCENARIO.replace("CONF", conf).replace("STEPS", steps)
    }

    #[test]
    fn conf_and_edit_conf_are_read() {
        let s = parse_str(
            &scenario("Misc = {\\n}\\n", r#"EditConf("[Misc]\n")"#),
            "t.ron",
        )
        .unwrap();
        assert_eq!(s.conf.as_deref(), Some("Misc = {\n}\n"));
        assert_eq!(s.steps, [Step::EditConf("[Misc]\n".into())]);
    }

    #[test]
    fn a_bad_initial_conf_aborts_the_run_with_its_error() {
        let s = parse_str(
            &scenario("HAConfiguration = {\\n   reconnAtt = 501;\\n}\\n", ""),
            "t.ron",
        )
        .unwrap();
        let r = run(&s).unwrap();
        assert_eq!(
            r.aborted.as_deref(),
            Some(
                "conf: Chrystoki.conf:2:16: [HAConfiguration] reconnAtt = 501 is out of range: allowed 0 (disable), -1 (unlimited) or 1..500 (B39)"
            )
        );
        assert!(r.transcript.render().contains(
            "ABORTED: conf: Chrystoki.conf:2:16: [HAConfiguration] reconnAtt = 501 is out of range"
        ));
    }

    #[test]
    fn a_bad_edit_aborts_at_its_step() {
        let s = parse_str(
            &scenario("Misc = {\\n}\\n", r#"EditConf("Misc = {\n")"#),
            "t.ron",
        )
        .unwrap();
        let r = run(&s).unwrap();
        assert_eq!(
            r.aborted.as_deref(),
            Some(
                "steps[0]: EditConf: Chrystoki.conf:2:1: expected '}' to close section 'Misc' (opened at line 1) before the end of the file"
            )
        );
    }

    #[test]
    fn the_final_file_closes_the_transcript_verbatim() {
        let s = parse_str(
            &scenario("// kept\\nMisc = {\\n   A = 1;\\n}\\n", ""),
            "t.ron",
        )
        .unwrap();
        let text = run(&s).unwrap().transcript.render();
        assert!(
            text.ends_with("\n== Chrystoki.conf\n// kept\nMisc = {\n   A = 1;\n}\n"),
            "{text}"
        );
        assert!(text.contains("[     0.000] file  Chrystoki.conf loaded (4 lines)\n"));
    }
}
