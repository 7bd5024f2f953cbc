//! The client configuration file (spec §2): a lossless document model of the Unix
//! `Chrystoki.conf` and the Windows `crystoki.ini` ([`document`], read by [`parse`]), its
//! mapping to the engine's [`ClientConfig`] and [`HaLogSettings`] ([`mapping`], D1, D2), and the
//! engine's handling of it: [`HaEngine::load_conf`] replaces the configuration from a file's
//! text (a raised legacy `[HARecovery]` counter requests a manual recovery, B45),
//! [`HaEngine::conf_text`] gives the file back, and every successful `hagroup` command is
//! written back into it, changing only what the command changed.
//!
//! [`ClientConfig`]: crate::config::ClientConfig
//! [`HaLogSettings`]: crate::log::HaLogSettings

pub mod document;
pub mod mapping;
pub mod parse;

#[cfg(test)]
mod proptests;

pub use document::{Document, Entry, Format, Section, WriteError};
pub use mapping::{ConfError, KEY_INTERVAL, ValueError, read_config, write_config};
pub use parse::{ParseError, ParseErrorKind};

use crate::config::ClientConfig;
use crate::engine::HaEngine;
use crate::error::CommandError;
use crate::log::HaLogSettings;
use crate::ports::Millis;

/// The name the engine's configuration file goes by until one is loaded.
pub const DEFAULT_ORIGIN: &str = "Chrystoki.conf";

/// The configuration as it was before a `hagroup` command, to put back when the command's
/// result cannot be written to the file.
#[derive(Debug)]
pub struct SavedConfig {
    config: ClientConfig,
    log: HaLogSettings,
}

impl HaEngine {
    /// The configuration file as the engine holds it (empty until loaded or written).
    pub fn conf(&self) -> &Document {
        &self.conf
    }

    /// The configuration file's full text.
    pub fn conf_text(&self) -> String {
        self.conf.to_text()
    }

    /// Loads a configuration file's text (its format from `origin`, see [`Format::for_origin`]):
    /// the file replaces the engine's configuration, HA log settings and document. Nothing
    /// changes on error. While the application runs, the runtime follows the new settings as
    /// after a `hagroup` command, and a group whose `[HARecovery] <label>` counter is higher
    /// than before (an absent counter counts 0) gets a manual recovery request (B45): its down
    /// members are attempted at the application's next call, with fresh attempt counters (D9).
    pub fn load_conf(&mut self, now: Millis, text: &str, origin: &str) -> Result<(), ConfError> {
        let doc = Document::parse(text, origin)?;
        let (config, log) = read_config(&doc)?;
        let raised: Vec<String> = config
            .legacy_recovery
            .iter()
            .filter(|(label, n)| **n > counter(&self.config, label))
            .map(|(label, _)| label.clone())
            .collect();
        tracing::debug!(origin, raised = ?raised, "configuration file loaded");
        self.config = config;
        self.log.set_settings(log);
        self.conf = doc;
        self.config_changed(now);
        self.reschedule_recovery(now);
        for label in raised {
            let index = self.runtime.as_ref().and_then(|rt| {
                rt.groups
                    .iter()
                    .find(|g| g.label.eq_ignore_ascii_case(&label))
                    .map(|g| g.index)
            });
            if let Some(index) = index {
                self.request_recovery(now, Some(index));
            }
        }
        Ok(())
    }

    /// What [`HaEngine::write_back_conf`] restores on failure.
    pub fn save_config(&self) -> SavedConfig {
        SavedConfig {
            config: self.config.clone(),
            log: self.log.settings().clone(),
        }
    }

    /// Writes the configuration into the document after a successful `hagroup` command. When
    /// a value cannot be written in the file's format, the configuration is put back as
    /// `saved` and the command is refused; the document is then unchanged.
    pub fn write_back_conf(&mut self, saved: SavedConfig) -> Result<(), CommandError> {
        let mut doc = self.conf.clone();
        match write_config(&mut doc, &self.config, self.log.settings()) {
            Ok(()) => {
                self.conf = doc;
                Ok(())
            }
            Err(e) => {
                self.config = saved.config;
                self.log.set_settings(saved.log);
                Err(CommandError::Refused(e.to_string()))
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
