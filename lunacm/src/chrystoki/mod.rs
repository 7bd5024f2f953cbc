//! The client configuration file (spec §2): a lossless document model of the Unix
//! `Chrystoki.conf` and the Windows `crystoki.ini` ([`document`], read by [`parse`]), its
//! mapping to the engine's [`ClientConfig`] and [`HaLogSettings`] ([`mapping`], D1, D2), and
//! LunaCM's handling of it: [`LunaCm::load_conf`] replaces the configuration from a file's text
//! (a raised legacy `[HARecovery]` counter requests a manual recovery, B45),
//! [`LunaCm::conf_text`] gives the file back, and every successful `hagroup` command is written
//! back into it, changing only what the command changed. The running engine gets each new
//! configuration through [`HaEngine::apply_config`].

pub mod document;
pub mod mapping;
pub mod parse;

#[cfg(test)]
mod proptests;

pub use document::{Document, Entry, Format, Section, WriteError};
pub use mapping::{ConfError, KEY_INTERVAL, ValueError, read_config, write_config};
pub use parse::{ParseError, ParseErrorKind};

/// Whether `text` is a configuration file LunaCM and the library can use on their own: it
/// parses and every known key has a usable value. The error names `origin:line:col` and the
/// rule broken. (What only a running application can refuse, a group in use, is checked when
/// the file is loaded into it.)
pub fn check_text(text: &str, origin: &str) -> Result<(), ConfError> {
    let doc = Document::parse(text, origin)?;
    read_config(&doc)?;
    Ok(())
}

use ha_engine::config::ClientConfig;
use ha_engine::log::HaLogSettings;
use ha_engine::ports::Millis;
use ha_engine::{ConfigRejected, HaEngine};

use crate::console::LunaCm;
use crate::error::CommandError;

/// The name the configuration file goes by until one is loaded.
pub const DEFAULT_ORIGIN: &str = "Chrystoki.conf";

/// The configuration as it was before a `hagroup` command, to put back when the command's
/// result cannot be written to the file or the running engine refuses it.
#[derive(Debug)]
pub struct SavedConfig {
    config: ClientConfig,
    log: HaLogSettings,
}

impl LunaCm {
    /// The configuration file as LunaCM holds it (empty until loaded or written).
    pub fn conf(&self) -> &Document {
        &self.conf
    }

    /// The configuration file's full text.
    pub fn conf_text(&self) -> String {
        self.conf.to_text()
    }

    /// Loads a configuration file's text (its format from `origin`, see [`Format::for_origin`]):
    /// the file replaces LunaCM's configuration, HA log settings and document, and the running
    /// engine takes the new configuration ([`HaEngine::apply_config`]). Nothing changes on error.
    /// While the application runs, the runtime follows the new settings as after a `hagroup`
    /// command, and a group of the running application whose `[HARecovery] <label>` counter is
    /// higher than before (an absent counter counts 0) gets a manual recovery request (B45): its
    /// down members are attempted at the application's next call, with fresh attempt counters
    /// (D9).
    pub fn load_conf(
        &mut self,
        engine: &mut HaEngine,
        now: Millis,
        text: &str,
        origin: &str,
    ) -> Result<(), ConfError> {
        let doc = Document::parse(text, origin)?;
        let (config, log) = read_config(&doc)?;
        // The running application's groups keep their place (the runtime follows them by
        // `NN`), as `deletegroup` refuses to remove one in use.
        let in_use = |rejected: ConfigRejected| match rejected {
            ConfigRejected::GroupInUse { label, nn } => ConfError::GroupInUse {
                origin: origin.to_string(),
                label,
                nn,
            },
            other => ConfError::Rejected {
                origin: origin.to_string(),
                reason: other.to_string(),
            },
        };
        engine.check_config(&config).map_err(in_use)?;
        let raised: Vec<String> = config
            .legacy_recovery
            .iter()
            .filter(|(label, n)| **n > counter(&self.config, label))
            .map(|(label, _)| label.clone())
            .collect();
        tracing::debug!(origin, raised = ?raised, "configuration file loaded");
        engine
            .apply_config(config.clone(), log.clone(), now)
            .map_err(in_use)?;
        self.config = config;
        self.log = log;
        self.conf = doc;
        self.conf_written = None;
        for label in raised {
            if let Some(index) = engine.running_group(&label) {
                engine.request_recovery(now, Some(index));
            }
        }
        Ok(())
    }

    /// What [`LunaCm::commit_config`] restores on failure.
    pub(crate) fn save_config(&self) -> SavedConfig {
        SavedConfig {
            config: self.config.clone(),
            log: self.log.clone(),
        }
    }

    /// After a successful `hagroup` command: writes the configuration into the document and
    /// hands it to the running engine ([`HaEngine::apply_config`]). When a value cannot be
    /// written in the file's format, or the engine refuses the configuration, the configuration
    /// is put back as `saved` and the command is refused; the document and the engine are then
    /// unchanged.
    pub(crate) fn commit_config(
        &mut self,
        engine: &mut HaEngine,
        saved: SavedConfig,
        now: Millis,
    ) -> Result<(), CommandError> {
        // The document already holds what writing this configuration and these log settings
        // gives (a command wrote them, nothing changed them since): writing them again changes
        // nothing (the `chrystoki` property tests), so it is not written again.
        let unchanged = matches!(
            &self.conf_written,
            Some((config, log)) if *config == self.config && *log == self.log
        );
        let doc = if unchanged {
            Ok(None)
        } else {
            let mut doc = self.conf.clone();
            write_config(&mut doc, &self.config, &self.log)
                .map(|()| Some(doc))
                .map_err(|e| CommandError::Refused(e.to_string()))
        };
        let applied = doc.and_then(|doc| {
            engine
                .apply_config(self.config.clone(), self.log.clone(), now)
                .map(|()| doc)
                .map_err(|e| CommandError::Refused(e.to_string()))
        });
        match applied {
            Ok(doc) => {
                if let Some(doc) = doc {
                    self.conf = doc;
                    self.conf_written = Some((self.config.clone(), self.log.clone()));
                }
                Ok(())
            }
            Err(e) => {
                self.config = saved.config;
                self.log = saved.log;
                Err(e)
            }
        }
    }
}

/// The `[HARecovery]` counter of `label` in `config` (labels compare case-insensitively).
fn counter(config: &ClientConfig, label: &str) -> u64 {
    config
        .legacy_recovery
        .iter()
        .find(|(l, _)| l.eq_ignore_ascii_case(label))
        .map_or(0, |(_, n)| *n)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test
mod tests {
    use crate::test_support::{FIXTURE_CO, Fixture, fixture};
    use ha_engine::config::RetryLimit;
    use ha_engine::ports::{KeyKind, Secret};

    const CONF: &str = "// hand-written\nMisc = {\n   PE1746Enabled = 0;\n}\n\nVirtualToken = {\n   VirtualToken00Label = g;\n   VirtualToken00SN = 111;\n   VirtualToken00Members = 11,22;\n}\n\nHAConfiguration = {\n   reconnAtt = 1;\n   haLogPath = /ha-logs;\n}\n\nHARecovery = {\n   g = 0;\n}\n";

    fn run(f: &mut Fixture, line: &str) -> crate::hagroup::CommandOutput {
        f.cm.execute(&mut f.engine, 0, line, Some(&Secret::new(FIXTURE_CO)))
    }

    #[test]
    fn load_replaces_the_configuration_and_keeps_the_text() {
        let mut f = fixture(&["11", "22"]);
        f.cm.load_conf(&mut f.engine, 0, CONF, "Chrystoki.conf")
            .unwrap();
        assert_eq!(f.cm.conf_text(), CONF);
        assert_eq!(f.cm.config().groups[0].members, ["11", "22"]);
        assert_eq!(f.cm.config().retry, RetryLimit::Bounded(1));
        assert_eq!(f.cm.log_settings().path.as_deref(), Some("/ha-logs"));
    }

    #[test]
    fn a_refused_file_changes_nothing() {
        let mut f = fixture(&["11", "22"]);
        f.cm.load_conf(&mut f.engine, 0, CONF, "Chrystoki.conf")
            .unwrap();
        let err =
            f.cm.load_conf(
                &mut f.engine,
                0,
                &CONF.replace("= 1;", "= 501;"),
                "Chrystoki.conf",
            )
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Chrystoki.conf:13:16: [HAConfiguration] reconnAtt = 501 is out of range: allowed 0 (disable), -1 (unlimited) or 1..500 (B39)"
        );
        let err =
            f.cm.load_conf(
                &mut f.engine,
                0,
                "Misc = {\n\tx = 1;\n}\n",
                "Chrystoki.conf",
            )
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Chrystoki.conf:2:1: a TAB character is not allowed here (Chrystoki.conf allows no TABs, spec §2; use spaces)"
        );
        assert_eq!(f.cm.conf_text(), CONF);
        assert_eq!(f.cm.config().retry, RetryLimit::Bounded(1));
    }

    #[test]
    fn successful_commands_are_written_back_refused_ones_are_not() {
        let mut f = fixture(&["11", "22"]);
        f.cm.load_conf(&mut f.engine, 0, CONF, "Chrystoki.conf")
            .unwrap();
        assert!(run(&mut f, "hagroup retry -count 7").result.is_ok());
        assert!(run(&mut f, "hagroup interval -interval 90").result.is_ok());
        assert!(run(&mut f, "hagroup retry -count 501").result.is_err());
        assert_eq!(
            f.cm.conf_text(),
            CONF.replace(
                "   reconnAtt = 1;\n   haLogPath = /ha-logs;\n",
                "   reconnAtt = 7;\n   haLogPath = /ha-logs;\n   AutoReconnectInterval = 90;\n"
            )
        );
        // listgroups changes nothing.
        let before = f.cm.conf_text();
        assert!(run(&mut f, "hagroup listgroups").result.is_ok());
        assert_eq!(f.cm.conf_text(), before);
    }

    #[test]
    fn an_engine_without_a_file_writes_one_from_the_commands() {
        let mut f = fixture(&["11", "22"]);
        assert_eq!(f.cm.conf_text(), "");
        assert!(
            run(&mut f, "hagroup creategroup -label g -serialnumber 11")
                .result
                .is_ok()
        );
        assert_eq!(
            f.cm.conf_text(),
            "VirtualToken = {\n   VirtualToken00Label = g;\n   VirtualToken00SN = 111;\n   VirtualToken00Members = 11;\n}\n\nHASynchronize = {\n   g = 1;\n}\n"
        );
    }

    #[test]
    fn a_label_typed_with_blanks_is_trimmed_and_keeps_its_number_over_ten_writes() {
        let mut f = fixture(&["11", "22"]);
        let out = run(
            &mut f,
            "hagroup creategroup -label \"  g \" -serialnumber 11",
        );
        assert!(out.result.is_ok(), "{out:?}");
        for _ in 0..10 {
            assert!(run(&mut f, "hagroup retry -count 3").result.is_ok());
            assert!(run(&mut f, "hagroup retry -count 4").result.is_ok());
        }
        let text = f.cm.conf_text();
        assert!(text.contains("   VirtualToken00Label = g;\n"), "{text}");
        assert!(!text.contains("VirtualToken01"), "{text}");
        assert_eq!(f.cm.config().groups.len(), 1);
        assert_eq!(f.cm.config().groups[0].label, "g");
    }

    #[test]
    fn labels_the_file_cannot_hold_are_refused() {
        let mut f = fixture(&["11"]);
        for (label, why) in [
            ("\"a b\"", "contains a blank"),
            ("a;b", "contains ';'"),
            ("a=b", "contains '='"),
            ("a//b", "contains '//' (a comment)"),
        ] {
            let out = run(
                &mut f,
                &format!("hagroup creategroup -label {label} -serialnumber 11"),
            );
            let e = out.result.expect_err("refused").to_string();
            assert!(e.contains(why), "{e}");
        }
        assert_eq!(f.cm.conf_text(), "");
    }

    #[test]
    fn raising_the_harecovery_counter_requests_a_manual_recovery() {
        let mut f = fixture(&["11", "22"]);
        f.cm.load_conf(&mut f.engine, 0, CONF, "Chrystoki.conf")
            .unwrap();
        f.engine.initialize(0).unwrap();
        let vs = f.engine.open_session(0, 0).unwrap();
        f.engine.login(0, vs, &Secret::new(FIXTURE_CO)).unwrap();
        let k = f
            .engine
            .generate_key(0, vs, KeyKind::Aes256, "k1", true)
            .unwrap()[0];
        f.controls[1].set_reachable(false);
        f.engine
            .generate_key(1_000, vs, KeyKind::Aes256, "k2", true)
            .unwrap();
        // retry 1: the one attempt at t=61 s fails and exhausts auto-recovery.
        f.engine.on_timer(61_000);
        assert_eq!(f.engine.next_deadline(), None);
        f.controls[1].set_reachable(true);
        // A reload with the counter unchanged requests nothing.
        f.cm.load_conf(&mut f.engine, 100_000, CONF, "Chrystoki.conf")
            .unwrap();
        f.engine.sign(100_000, vs, k, b"data").unwrap();
        assert_eq!(f.engine.alive_members()["g"], ["11"]);
        // Raised: the next application call recovers it, attempt numbering from 1 (D9).
        let raised = CONF.replace("   g = 0;", "   g = 1;");
        f.cm.load_conf(&mut f.engine, 200_000, &raised, "Chrystoki.conf")
            .unwrap();
        f.engine.sign(200_000, vs, k, b"data").unwrap();
        assert_eq!(f.engine.alive_members()["g"], ["11", "22"]);
        let log = f.sink.lines();
        let tail: Vec<&str> = log
            .iter()
            .map(|l| l.split(" HA group: 111 ").nth(1).unwrap_or(""))
            .collect();
        assert_eq!(
            tail,
            [
                "management thread started",
                "configured as a \"PASSWORD Based\" virtual device",
                "has dropped member: 22",
                "recovery attempt 1 failed for member: 22. Code: 0x30 : CKR_DEVICE_ERROR.",
                "exceeded maximum number of autorecovery attempts for member: 22. Autorecovery will be disabled",
                "recovery attempt 1 reintroducing 1 token objects to recovered token 22",
                "recovery attempt 1 succeeded for member: 22",
            ]
        );
        assert_eq!(f.controls[1].token_objects(), 2);
    }
}
