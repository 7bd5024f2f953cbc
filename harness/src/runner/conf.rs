//! The runner's handling of the client configuration file: the scenario's initial `conf`
//! (loaded before `setup`), `EditConf` steps (the operator edits the file while the application
//! runs; a raised `[HARecovery]` counter requests a manual recovery, B45), `Conf(...)` negative
//! cases, the file's text in the negative-case state, and the final `== Chrystoki.conf`
//! section of the transcript.

use std::collections::BTreeMap;

use ha_engine::chrystoki::Format;

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
        self.world
            .engine()
            .load_conf(now, text, origin)
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
        let before: BTreeMap<String, u64> = self.world.engine().config().legacy_recovery.clone();
        self.world
            .engine()
            .load_conf(now, text, origin)
            .map_err(|e| format!("EditConf: {e}"))?;
        let mut line = format!(
            "{origin} edited by the operator ({} lines)",
            text.lines().count()
        );
        for (label, n) in &self.world.engine().config().legacy_recovery {
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
            .world
            .engine()
            .load_conf(now, text, origin)
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
        format!("== configuration file\n{}", self.world.engine().conf_text())
    }

    /// `== Chrystoki.conf` and the file's full text, when there is one.
    pub(super) fn conf_section(&mut self) {
        let now = self.now();
        let engine = self.world.engine();
        let text = engine.conf_text();
        if text.is_empty() {
            return;
        }
        let name = engine.conf().format().file_name();
        self.run
            .transcript
            .push(now, Entry::Section(name.to_string()));
        self.run
            .transcript
            .push(now, Entry::Text(text.lines().map(str::to_string).collect()));
    }
}
