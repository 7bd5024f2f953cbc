//! LunaCM as hasim types it: [`execute`] routes `hagroup ...` lines to
//! [`crate::hagroup::execute`] and runs the other commands hasim has:
//!
//! - `slot list`, `slot set -slot N` ([`slot`]): LunaCM's own slot view (D14, B57): every
//!   partition that answers, numbered from 0 in discovery order, then the HA virtual slots;
//! - `partition showinfo`, `partition clear` ([`partition`]): the storage block of §3.5 for the
//!   current slot, and clearing an HA virtual slot on every reachable member;
//! - `multitoken -mode M -key K [-nodestroy] -slots N [-count C]` ([`multitoken`]): a key
//!   generation workload through the engine's application API on a virtual slot.
//!
//! LunaCM's current slot ([`LunaCmState`]) lives in the engine. Every answer ends with LunaCM's
//! `Command Result : ...` footer ([`CommandOutput::render`]); a refusal names the place and the
//! rule ([`LunaCmError`]) and never contains a credential.

pub mod error;
pub mod multitoken;
pub mod partition;
pub mod slot;

pub use error::LunaCmError;

use crate::engine::HaEngine;
use crate::hagroup::{self, CommandOutput, args};
use crate::ports::{Millis, Secret};

/// Identity of a slot LunaCM can be set to. Slot numbers move when partitions drop (B34), so
/// the current slot is kept by identity and shown with the number it has now.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum SlotRef {
    /// A physical slot: the partition serial.
    Partition(String),
    /// An HA virtual slot: the group label (labels never change; serials may, B4).
    Group(String),
}

/// LunaCM's own state: the current slot set by `slot set` (`None`: LunaCM's slot 0, where it
/// starts).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LunaCmState {
    current: Option<SlotRef>,
}

impl LunaCmState {
    /// The slot `slot set` chose, if any.
    pub fn current(&self) -> Option<&SlotRef> {
        self.current.as_ref()
    }
}

/// What a command printed before it failed, and why it failed.
#[derive(Debug)]
pub(crate) struct Failure {
    lines: Vec<String>,
    error: LunaCmError,
}

impl Failure {
    /// A failure after some output.
    pub(crate) fn after(lines: Vec<String>, error: LunaCmError) -> Self {
        Failure { lines, error }
    }
}

impl<E: Into<LunaCmError>> From<E> for Failure {
    fn from(error: E) -> Self {
        Failure {
            lines: Vec::new(),
            error: error.into(),
        }
    }
}

/// A command's lines, or what it printed and why it failed.
pub(crate) type Outcome = Result<Vec<String>, Failure>;

/// Executes one LunaCM command line. `credential` is the Crypto Officer credential LunaCM
/// would prompt for (sync data, `partition clear`, `multitoken`'s login); it is never printed.
pub fn execute(
    engine: &mut HaEngine,
    now: Millis,
    line: &str,
    credential: Option<&Secret>,
) -> CommandOutput {
    let first = line.split_whitespace().next().unwrap_or_default();
    if first.eq_ignore_ascii_case("hagroup") {
        return hagroup::execute(engine, now, line, credential);
    }
    match dispatch(engine, now, line, credential) {
        Ok(lines) => CommandOutput {
            lines,
            result: Ok(()),
        },
        Err(Failure { lines, error }) => CommandOutput {
            lines,
            result: Err(error.into()),
        },
    }
}

const PARTITION_SUBCOMMANDS: &str = "showinfo, clear";
const SLOT_SUBCOMMANDS: &str = "list, set";

fn dispatch(
    engine: &mut HaEngine,
    now: Millis,
    line: &str,
    credential: Option<&Secret>,
) -> Outcome {
    let tokens = args::tokenize(line).map_err(LunaCmError::from)?;
    let Some((first, rest)) = tokens.split_first() else {
        return Err(LunaCmError::Empty.into());
    };
    let command = first.to_ascii_lowercase();
    match command.as_str() {
        "partition" => {
            let (sub, opts) = subcommand("partition", PARTITION_SUBCOMMANDS, rest)?;
            match sub.as_str() {
                "showinfo" => {
                    args::parse("partition showinfo", opts, &[])?;
                    Ok(partition::showinfo(engine)?)
                }
                "clear" => {
                    let p = args::parse(
                        "partition clear",
                        opts,
                        &[args::flag("force"), args::value("password")],
                    )?;
                    if p.has("password") {
                        return Err(LunaCmError::PasswordOnCommandLine {
                            command: "partition clear",
                        }
                        .into());
                    }
                    partition::clear(engine, credential)
                }
                _ => Err(unknown_sub("partition", sub, PARTITION_SUBCOMMANDS)),
            }
        }
        "slot" => {
            let (sub, opts) = subcommand("slot", SLOT_SUBCOMMANDS, rest)?;
            match sub.as_str() {
                "list" => {
                    args::parse("slot list", opts, &[])?;
                    Ok(slot::list(engine))
                }
                "set" => {
                    let p = args::parse("slot set", opts, &[args::value("slot")])?;
                    let raw = args::required("slot set", &p, "slot")?;
                    let n = args::integer("slot set", "slot", raw)?;
                    Ok(slot::set(engine, n)?)
                }
                _ => Err(unknown_sub("slot", sub, SLOT_SUBCOMMANDS)),
            }
        }
        "multitoken" => multitoken::run(engine, now, rest, credential),
        _ => Err(LunaCmError::UnknownCommand(first.clone()).into()),
    }
}

fn subcommand<'a>(
    command: &'static str,
    expected: &'static str,
    rest: &'a [String],
) -> Result<(String, &'a [String]), LunaCmError> {
    let (sub, opts) = rest
        .split_first()
        .ok_or(LunaCmError::MissingSubcommand { command, expected })?;
    Ok((sub.to_ascii_lowercase(), opts))
}

fn unknown_sub(command: &'static str, given: String, expected: &'static str) -> Failure {
    LunaCmError::UnknownSubcommand {
        command,
        given,
        expected,
    }
    .into()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test
mod tests {
    use crate::test_support::{engine_with, lines};

    #[test]
    fn hagroup_lines_go_to_hagroup() {
        let mut engine = engine_with(&["11"]);
        assert_eq!(
            lines(&mut engine, "hagroup retry -count 3"),
            [
                "HA Auto Recovery Count has been set to 3",
                "",
                "Command Result : No Error"
            ]
        );
    }

    #[test]
    fn unknown_commands_and_subcommands_are_named() {
        let mut engine = engine_with(&["11"]);
        assert_eq!(
            lines(&mut engine, "frob"),
            [
                "Error: unknown command 'frob' (supported: hagroup, partition, slot, multitoken)",
                "",
                "Command Result : Invalid Argument"
            ]
        );
        assert_eq!(
            lines(&mut engine, "partition delete"),
            [
                "Error: partition: unknown subcommand 'delete' (one of: showinfo, clear)",
                "",
                "Command Result : Invalid Argument"
            ]
        );
        assert_eq!(
            lines(&mut engine, "slot"),
            [
                "Error: slot: missing subcommand (one of: list, set)",
                "",
                "Command Result : Invalid Argument"
            ]
        );
        assert_eq!(
            lines(&mut engine, "slot set -slot"),
            [
                "Error: slot set: option -slot needs a value",
                "",
                "Command Result : Invalid Argument"
            ]
        );
    }

    #[test]
    fn a_password_on_the_command_line_is_refused_without_echo() {
        let mut engine = engine_with(&["11"]);
        let out = lines(&mut engine, "partition clear -password hunter2");
        assert_eq!(
            out,
            [
                "Error: partition clear: -password is not accepted on a command line in hasim; the credential comes from the scenario's credentials (secrets never appear on a command line)",
                "",
                "Command Result : Operation Failed"
            ]
        );
        assert!(!out.concat().contains("hunter2"));
    }
}
