//! Typed refusals: of a `hagroup` command ([`CommandError`]) and of the LunaCM commands beyond
//! `hagroup` ([`LunaCmError`]). Each message names the command, the place (option, slot,
//! member) and the rule; none contains a credential. Both reach the operator as a
//! [`CommandError`] (`Invalid Argument` or `Operation Failed`).

use ha_engine::{Ckr, EngineError};

use crate::hagroup::commands::PASSWORD_REFUSAL;

/// A refused administration command. The message names the place (option, value) and the rule
/// broken; it never contains a credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    /// The command line could not be understood (unknown command, option, missing value...).
    #[error("{0}")]
    Syntax(String),
    /// A value is outside its allowed range.
    #[error("{0}")]
    OutOfRange(String),
    /// The command is well formed but a prerequisite is not met.
    #[error("{0}")]
    Refused(String),
}

impl CommandError {
    /// The same error with every one of `secrets` replaced by `********`.
    pub fn scrubbed(self, secrets: &[String]) -> CommandError {
        use crate::hagroup::args::scrub;
        match self {
            CommandError::Syntax(m) => CommandError::Syntax(scrub(&m, secrets)),
            CommandError::OutOfRange(m) => CommandError::OutOfRange(scrub(&m, secrets)),
            CommandError::Refused(m) => CommandError::Refused(scrub(&m, secrets)),
        }
    }

    /// The `Command Result :` text LunaCM prints after the error.
    pub fn result_text(&self) -> &'static str {
        match self {
            CommandError::Syntax(_) | CommandError::OutOfRange(_) => "Invalid Argument",
            CommandError::Refused(_) => "Operation Failed",
        }
    }
}

/// A refused or failed LunaCM command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LunaCmError {
    /// Nothing was typed.
    #[error("empty command line")]
    Empty,
    /// The first word is not a command hasim's LunaCM knows.
    #[error("unknown command '{0}' (supported: {SUPPORTED})")]
    UnknownCommand(String),
    /// A command word without its subcommand.
    #[error("{command}: missing subcommand (one of: {expected})")]
    MissingSubcommand {
        /// `partition` or `slot`.
        command: &'static str,
        /// The subcommands it has.
        expected: &'static str,
    },
    /// A subcommand hasim's LunaCM does not have.
    #[error("{command}: unknown subcommand '{given}' (one of: {expected})")]
    UnknownSubcommand {
        /// `partition` or `slot`.
        command: &'static str,
        /// What was typed.
        given: String,
        /// The subcommands it has.
        expected: &'static str,
    },
    /// An option could not be parsed (unknown, missing, ambiguous, not a number).
    #[error(transparent)]
    Args(#[from] CommandError),
    /// `slot set -slot N` names no slot LunaCM lists.
    #[error("slot set: -slot {given} is not a slot LunaCM lists ({listed}; D14)")]
    NoSuchSlot {
        /// The number typed.
        given: i64,
        /// The ids LunaCM lists now, e.g. `slots 0..2`.
        listed: String,
    },
    /// LunaCM lists no slot at all (no partition answers and no group is configured).
    #[error(
        "{command}: LunaCM lists no slot: no partition answers and no HA group is configured (D14)"
    )]
    NoSlots {
        /// The command.
        command: &'static str,
    },
    /// The current slot is a partition that does not answer.
    #[error(
        "{command}: the current slot, partition {serial}, does not answer ({rv}); it is not in LunaCM's slot list (D14)"
    )]
    SlotUnreachable {
        /// The command.
        command: &'static str,
        /// The partition serial.
        serial: String,
        /// What it answered.
        rv: Ckr,
    },
    /// The current slot is a virtual slot whose group was deleted.
    #[error("{command}: the current slot was HA group '{label}', which is no longer configured")]
    GroupGone {
        /// The command.
        command: &'static str,
        /// The group label.
        label: String,
    },
    /// No member of the group answers, so there is no primary to report.
    #[error(
        "{command}: no member of HA group '{label}' answers, so its virtual slot has no primary (B5, B30)"
    )]
    NoPrimary {
        /// The command.
        command: &'static str,
        /// The group label.
        label: String,
    },
    /// The command needs the Crypto Officer credential and none was given.
    #[error(
        "{command}: needs the Crypto Officer credential (LunaCM prompts for it; hasim takes it from the scenario's credentials)"
    )]
    NoCredential {
        /// The command.
        command: &'static str,
    },
    /// The command needs `partition login` to the current slot first.
    #[error(
        "{command}: the Crypto Officer is not logged in to the current slot; run 'partition login' first"
    )]
    NotLoggedIn {
        /// The command.
        command: &'static str,
    },
    /// `partition login`: a partition refused the credential.
    #[error("partition login: partition {serial} refused the login: {rv}")]
    LoginFailed {
        /// The partition serial.
        serial: String,
        /// What it answered.
        rv: Ckr,
    },
    /// A credential typed on the command line.
    #[error("{command}: {PASSWORD_REFUSAL}")]
    PasswordOnCommandLine {
        /// The command.
        command: &'static str,
    },
    /// `partition clear` on a physical slot.
    #[error(
        "partition clear: the current slot is partition {serial}, a physical slot; hasim clears only an HA virtual slot (an operation on a member's own slot bypasses HA, B21, and would leave the group diverged)"
    )]
    ClearOnPhysical {
        /// The partition serial.
        serial: String,
    },
    /// `partition clear` cleared no member of the group.
    #[error(
        "partition clear: no member of HA group '{label}' could be cleared ({detail}); {}",
        destroyed_text(*destroyed)
    )]
    ClearReachedNone {
        /// The group label.
        label: String,
        /// Per member, why.
        detail: String,
        /// Token objects destroyed before the failures (they stay destroyed).
        destroyed: u64,
    },
    /// `multitoken -mode` names no mode hasim has.
    #[error("multitoken: -mode '{given}' is not a key generation mode (expected one of: {MODES})")]
    UnknownMode {
        /// What was typed.
        given: String,
    },
    /// `multitoken -key` is not a size of that mode.
    #[error("multitoken: -key {given} is out of range for -mode {mode} (allowed: {allowed})")]
    KeySize {
        /// The mode.
        mode: &'static str,
        /// What was typed.
        given: i64,
        /// The sizes the mode has.
        allowed: &'static str,
    },
    /// `multitoken -count` out of range.
    #[error("multitoken: -count {given} is out of range: allowed 1..{max}")]
    Count {
        /// What was typed.
        given: i64,
        /// The upper bound.
        max: u32,
    },
    /// `multitoken -slots` lists more than one slot.
    #[error(
        "multitoken: -slots '{given}' lists several slots; hasim's multitoken runs on one HA virtual slot"
    )]
    SeveralSlots {
        /// What was typed.
        given: String,
    },
    /// `multitoken -slots N` names no slot of the application's list.
    #[error(
        "multitoken: -slots {given} is not a slot the application sees ({listed}; D14, B56-B58)"
    )]
    NoSuchAppSlot {
        /// The number typed.
        given: i64,
        /// The application's slot ids now.
        listed: String,
    },
    /// `multitoken -slots N` names a physical slot.
    #[error(
        "multitoken: -slots {id} is partition {serial}, a physical slot; hasim's multitoken runs on an HA virtual slot (B21)"
    )]
    PhysicalAppSlot {
        /// The slot id.
        id: u64,
        /// The partition serial.
        serial: String,
    },
    /// An application call of the workload failed before any key was generated.
    #[error("multitoken: {0}")]
    Engine(EngineError),
    /// Some key generations failed.
    #[error("multitoken: {failed} of {count} key generations failed (first: {first})")]
    KeysFailed {
        /// How many failed.
        failed: u32,
        /// How many were asked for.
        count: u32,
        /// The first failure.
        first: EngineError,
    },
}

fn destroyed_text(destroyed: u64) -> String {
    match destroyed {
        0 => "nothing was destroyed".to_string(),
        n => format!("{n} token objects were destroyed before the failures"),
    }
}

/// The commands hasim's LunaCM knows.
pub const SUPPORTED: &str = "hagroup, partition, slot, multitoken";

/// The `multitoken` key generation modes.
pub const MODES: &str = "aeskeygen, rsakeygen, eckeygen";

impl From<LunaCmError> for CommandError {
    fn from(e: LunaCmError) -> Self {
        match e {
            LunaCmError::Args(inner) => inner,
            LunaCmError::Empty
            | LunaCmError::UnknownCommand(_)
            | LunaCmError::MissingSubcommand { .. }
            | LunaCmError::UnknownSubcommand { .. }
            | LunaCmError::UnknownMode { .. }
            | LunaCmError::SeveralSlots { .. } => CommandError::Syntax(e.to_string()),
            LunaCmError::NoSuchSlot { .. }
            | LunaCmError::KeySize { .. }
            | LunaCmError::Count { .. }
            | LunaCmError::NoSuchAppSlot { .. } => CommandError::OutOfRange(e.to_string()),
            LunaCmError::NoSlots { .. }
            | LunaCmError::SlotUnreachable { .. }
            | LunaCmError::GroupGone { .. }
            | LunaCmError::NoPrimary { .. }
            | LunaCmError::NoCredential { .. }
            | LunaCmError::NotLoggedIn { .. }
            | LunaCmError::LoginFailed { .. }
            | LunaCmError::PasswordOnCommandLine { .. }
            | LunaCmError::ClearOnPhysical { .. }
            | LunaCmError::ClearReachedNone { .. }
            | LunaCmError::PhysicalAppSlot { .. }
            | LunaCmError::Engine(_)
            | LunaCmError::KeysFailed { .. } => CommandError::Refused(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_map_to_lunacm_result_texts() {
        let syntax: CommandError = LunaCmError::UnknownCommand("frob".into()).into();
        assert_eq!(
            syntax.to_string(),
            "unknown command 'frob' (supported: hagroup, partition, slot, multitoken)"
        );
        assert_eq!(syntax.result_text(), "Invalid Argument");
        let range: CommandError = LunaCmError::Count {
            given: 0,
            max: 1000,
        }
        .into();
        assert_eq!(range.result_text(), "Invalid Argument");
        let refused: CommandError = LunaCmError::ClearOnPhysical {
            serial: "11".into(),
        }
        .into();
        assert_eq!(refused.result_text(), "Operation Failed");
    }
}
