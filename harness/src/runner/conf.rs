//! The runner's handling of the client configuration file: the scenario's initial `conf`
//! (loaded before `setup`), `EditConf` steps (the operator edits the file while the application
//! runs; a raised `[HARecovery]` counter requests a manual recovery, B45), `Conf(...)` negative
//! cases, the file's text in the negative-case state, and the final `== Chrystoki.conf`
//! section of the transcript.

use std::collections::BTreeMap;

use lunacm::chrystoki::{ConfError, Format};
use sim::record::{ConfEvent, Event};

use super::Runner;

/// The name a configuration text goes by: `crystoki.ini` when it reads as the Windows form,
/// else `Chrystoki.conf` (see [`Format::sniff`]).
pub(crate) fn origin_of(text: &str) -> &'static str {
    Format::sniff(text).file_name()
}

impl Runner<'_> {
    /// Loads the scenario's `conf`, if any; a load error stops the run.
    pub(super) fn load_initial_conf(&mut self) -> Result<(), ConfError> {
        let Some(text) = self.scenario.conf.as_deref() else {
            return Ok(());
        };
        let origin = origin_of(text);
        let now = self.now();
        self.lunacm
            .load_conf(self.world.engine(), now, text, origin)?;
        self.push(Event::Conf(ConfEvent::Loaded {
            origin: origin.to_string(),
            lines: text.lines().count(),
        }));
        self.drain();
        Ok(())
    }

    /// `EditConf(text)`: the operator replaces the file; it is loaded now.
    pub(super) fn edit_conf(&mut self, text: &str) -> Result<(), ConfError> {
        let origin = origin_of(text);
        let now = self.now();
        let before: BTreeMap<String, u64> = self.lunacm.config().legacy_recovery.clone();
        self.lunacm
            .load_conf(self.world.engine(), now, text, origin)?;
        let mut recovery = Vec::new();
        for (label, n) in &self.lunacm.config().legacy_recovery {
            let old = before
                .iter()
                .find(|(l, _)| l.eq_ignore_ascii_case(label))
                .map_or(0, |(_, n)| *n);
            if *n > old {
                recovery.push((label.clone(), old, *n));
            }
        }
        self.push(Event::Conf(ConfEvent::Edited {
            origin: origin.to_string(),
            lines: text.lines().count(),
            recovery,
        }));
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
        self.push(Event::Refusal {
            what: format!("{origin} text"),
            refusal: refusal.clone(),
        });
        refusal
    }

    /// The configuration file's text, for the negative-case state comparison.
    pub(super) fn conf_state(&mut self) -> String {
        format!("== configuration file\n{}", self.lunacm.conf_text())
    }

    /// `== Chrystoki.conf` and the file's full text, when there is one.
    pub(super) fn conf_section(&mut self) {
        let text = self.lunacm.conf_text();
        if text.is_empty() {
            return;
        }
        let name = self.lunacm.conf().format().file_name().to_string();
        self.push(Event::ConfFile { name, text });
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use crate::runner::run;
    use crate::scenario::{Step, parse_str};
    use crate::transcript::render;

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
    fn a_bad_initial_conf_is_an_input_error_with_its_place() {
        let e = parse_str(
            &scenario("HAConfiguration = {\\n   reconnAtt = 501;\\n}\\n", ""),
            "t.ron",
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "t.ron: conf: Chrystoki.conf:2:16: [HAConfiguration] reconnAtt = 501 is out of range: allowed 0 (disable), -1 (unlimited) or 1..500 (B39)"
        );
        let e = parse_str(&scenario("Misc = {\\n", ""), "t.ron").unwrap_err();
        assert_eq!(
            e.to_string(),
            "t.ron: conf: Chrystoki.conf:2:1: expected '}' to close section 'Misc' (opened at line 1) before the end of the file"
        );
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
            r.aborted(),
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
        let text = render(&run(&s).unwrap());
        assert!(
            text.ends_with("\n== Chrystoki.conf\n// kept\nMisc = {\n   A = 1;\n}\n"),
            "{text}"
        );
        assert!(text.contains("[     0.000] file  Chrystoki.conf loaded (4 lines)\n"));
    }
}
