//! LunaCM itself: [`LunaCm`] holds what the LunaCM program has (its own connections to the
//! partitions, the configuration file it edits, the configuration read from it, the current
//! slot) and [`LunaCm::execute`] runs one command line: `hagroup ...` lines go to
//! [`crate::hagroup::execute`], and the other commands hasim has run here:
//!
//! - `slot list`, `slot set -slot N` ([`crate::slot`]): LunaCM's own slot view (D14, B57):
//!   every partition that answers, numbered from 0 in discovery order, then the HA virtual slots;
//! - `partition showinfo`, `partition login`, `partition logout`, `partition clear`
//!   ([`crate::partition`]): the storage block of §3.5 for the current slot, the Crypto
//!   Officer's login to it, and clearing an HA virtual slot (logged in) on every reachable
//!   member;
//! - `multitoken -mode M -key K [-nodestroy] -slots N [-count C]` ([`crate::multitoken`]): a key
//!   generation workload through the engine's application API on a virtual slot.
//!
//! LunaCM's view of the partitions is its own probe through its own [`Member`] connections
//! (spec D22), never the application engine's memory, and its sessions log in for themselves
//! (B9, B61): it never borrows the application's login. The running engine is reached only
//! through its public administration interface ([`ha_engine::admin`]) and, for `multitoken`,
//! the application API. Every answer ends with LunaCM's `Command Result : ...` footer
//! ([`CommandOutput::render`]); a refusal names the place and the rule ([`LunaCmError`]) and
//! never contains a credential.

use ha_engine::HaEngine;
use ha_engine::config::ClientConfig;
use ha_engine::log::HaLogSettings;
use ha_engine::ports::{LogSink, Member, Millis, Secret};

use crate::chrystoki::{DEFAULT_ORIGIN, Document, Format};
use crate::error::LunaCmError;
use crate::hagroup::{self, CommandOutput, args};
use crate::{multitoken, partition, slot};

/// Identity of a slot LunaCM can be set to. Slot numbers move when partitions drop (B34), so
/// the current slot is kept by identity and shown with the number it has now.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum SlotRef {
    /// A physical slot: the partition serial.
    Partition(String),
    /// An HA virtual slot: the group label (labels never change; serials may, B4).
    Group(String),
}

/// The LunaCM program: its connections to the partitions, the configuration file and the
/// current slot. The harness owns it next to the application's engine.
pub struct LunaCm {
    /// LunaCM's own connections to the partitions, in the client's slot discovery order (D14).
    pub(crate) members: Vec<Box<dyn Member>>,
    /// The client machine's file system (`halog -path` must name an existing directory, B62).
    files: Box<dyn LogSink>,
    /// The configuration as the file says it (groups, recovery settings).
    pub(crate) config: ClientConfig,
    /// The HA log settings as the file says them.
    pub(crate) log: HaLogSettings,
    /// The configuration file (`Chrystoki.conf`), kept in step with `config` and `log`
    /// ([`crate::chrystoki`]).
    pub(crate) conf: Document,
    /// The configuration and log settings a command last wrote into `conf` (`None` after a
    /// load): while they are still LunaCM's, writing them again would change nothing, so a
    /// command leaves the document as it is ([`crate::chrystoki`]).
    pub(crate) conf_written: Option<(ClientConfig, HaLogSettings)>,
    /// The slot `slot set` chose (`None`: LunaCM's slot 0, where it starts).
    pub(crate) current: Option<SlotRef>,
    /// The slot the Crypto Officer logged in to with `partition login`, if any.
    pub(crate) logged_in: Option<SlotRef>,
    /// Exploration's planted bug `SyncOverwritesById` (`ha_engine::planted`): `hagroup
    /// synchronize` copies data objects over existing copies. Off unless planted.
    pub(crate) overwrite_by_id: bool,
}

impl LunaCm {
    /// LunaCM over its own connections to the client's partitions (in slot order) and the
    /// client machine's file system, with an empty configuration file (the defaults, D1).
    pub fn new(members: Vec<Box<dyn Member>>, files: Box<dyn LogSink>) -> Self {
        LunaCm {
            members,
            files,
            config: ClientConfig::default(),
            log: HaLogSettings::default(),
            conf: Document::empty(Format::Conf, DEFAULT_ORIGIN),
            conf_written: None,
            current: None,
            logged_in: None,
            overwrite_by_id: false,
        }
    }

    /// Plants `ha_engine::planted::PlantedBug::SyncOverwritesById` (exploration's own tests
    /// only): `hagroup synchronize` copies each data object over every other member's copy.
    #[doc(hidden)]
    pub fn plant_sync_overwrite(&mut self) {
        self.overwrite_by_id = true;
    }

    /// The configuration as the file says it.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// The HA log settings as the file says them.
    pub fn log_settings(&self) -> &HaLogSettings {
        &self.log
    }

    /// The slot `slot set` chose, if any.
    pub fn current_slot(&self) -> Option<&SlotRef> {
        self.current.as_ref()
    }

    /// Serials of the partitions LunaCM connects to, in slot order.
    pub fn slot_serials(&self) -> Vec<String> {
        self.members
            .iter()
            .map(|m| m.serial().to_string())
            .collect()
    }

    /// The slot index of the partition `serial`.
    pub(crate) fn slot_index(&self, serial: &str) -> Option<usize> {
        self.members.iter().position(|m| m.serial() == serial)
    }

    /// LunaCM's connection to the partition in slot `slot` (an index from [`Self::slot_index`]
    /// or a [`crate::hagroup::slots::SlotView`]).
    pub(crate) fn member(&mut self, slot: usize) -> &mut dyn Member {
        self.members[slot].as_mut()
    }

    /// True when `dir` is an existing directory of the client machine (B62).
    pub(crate) fn dir_exists(&self, dir: &str) -> bool {
        self.files.dir_exists(dir)
    }

    /// Executes one LunaCM command line. `credential` is the Crypto Officer credential LunaCM
    /// would prompt for (prerequisite checks, sync data, `partition clear`, `multitoken`'s
    /// login); it is never printed. `engine` is the running application's engine, reached only
    /// through its public API.
    pub fn execute(
        &mut self,
        engine: &mut HaEngine,
        now: Millis,
        line: &str,
        credential: Option<&Secret>,
    ) -> CommandOutput {
        execute(self, engine, now, line, credential)
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

/// [`LunaCm::execute`]: the command's output and error never carry a credential typed on its
/// line (a value read as another option's, `halog -p V`, included: [`args::secrets`]).
fn execute(
    cm: &mut LunaCm,
    engine: &mut HaEngine,
    now: Millis,
    line: &str,
    credential: Option<&Secret>,
) -> CommandOutput {
    let out = run_line(cm, engine, now, line, credential);
    let secrets = args::secrets(line);
    if secrets.is_empty() {
        return out;
    }
    CommandOutput {
        lines: out.lines.iter().map(|l| args::scrub(l, &secrets)).collect(),
        result: out.result.map_err(|e| e.scrubbed(&secrets)),
    }
}

fn run_line(
    cm: &mut LunaCm,
    engine: &mut HaEngine,
    now: Millis,
    line: &str,
    credential: Option<&Secret>,
) -> CommandOutput {
    let first = line.split_whitespace().next().unwrap_or_default();
    if first.eq_ignore_ascii_case("hagroup") {
        return hagroup::execute(cm, engine, now, line, credential);
    }
    match dispatch(cm, engine, now, line, credential) {
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

const PARTITION_SUBCOMMANDS: &str = "showinfo, login, logout, clear";
const SLOT_SUBCOMMANDS: &str = "list, set";

fn dispatch(
    cm: &mut LunaCm,
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
                    Ok(partition::showinfo(cm)?)
                }
                "login" => {
                    let p = args::parse("partition login", opts, &[args::value("password")])?;
                    if p.has("password") {
                        return Err(LunaCmError::PasswordOnCommandLine {
                            command: "partition login",
                        }
                        .into());
                    }
                    Ok(partition::login(cm, credential)?)
                }
                "logout" => {
                    args::parse("partition logout", opts, &[])?;
                    Ok(partition::logout(cm)?)
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
                    partition::clear(cm, engine, credential)
                }
                _ => Err(unknown_sub("partition", sub, PARTITION_SUBCOMMANDS)),
            }
        }
        "slot" => {
            let (sub, opts) = subcommand("slot", SLOT_SUBCOMMANDS, rest)?;
            match sub.as_str() {
                "list" => {
                    args::parse("slot list", opts, &[])?;
                    Ok(slot::list(cm))
                }
                "set" => {
                    let p = args::parse("slot set", opts, &[args::value("slot")])?;
                    let raw = args::required("slot set", &p, "slot")?;
                    let n = args::integer("slot set", "slot", raw)?;
                    Ok(slot::set(cm, n)?)
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
                "        HA Auto Recovery Count has been set to 3",
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
                "Error: partition: unknown subcommand 'delete' (one of: showinfo, login, logout, clear)",
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
