//! The single entry point [`execute`]: tokenises a LunaCM line, dispatches the `hagroup`
//! subcommand to its family module ([`super::groups`], [`super::members`], [`super::settings`],
//! [`super::recover`], [`super::listgroups`]) and renders LunaCM's `Command Result :` footer.
//! A command changes LunaCM's configuration only once all its checks passed; [`execute`] then
//! writes it into Chrystoki.conf and hands it to the running engine
//! ([`HaEngine::apply_config`]), and puts it back when either refuses, so a refused command
//! leaves the configuration as it was; the partition work `synchronize` and `addmember -answer
//! remove` did before a refusal stays done (see [`super`]).
//!
//! Also holds what the families share: [`Refusal`] (an error with the lines printed before it)
//! and the option helpers for `-password`, `-slot` / `-serialnumber` and group labels.

use ha_engine::HaEngine;
use ha_engine::config::MAX_GROUPED_PARTITIONS;
use ha_engine::ports::{Millis, Secret};

use crate::console::LunaCm;
use crate::error::CommandError;
use crate::hagroup::args::{self, OptSpec, flag, value};
use crate::hagroup::slots::{SlotView, numbered_range};
use crate::hagroup::{groups, listgroups, members, recover, settings};
use crate::printable::escape;

/// What a command printed and whether it succeeded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandOutput {
    /// Lines printed before the result footer (before the error line on a refusal).
    pub lines: Vec<String>,
    /// `Ok` or the refusal.
    pub result: Result<(), CommandError>,
}

impl CommandOutput {
    fn ok(lines: Vec<String>) -> Self {
        CommandOutput {
            lines,
            result: Ok(()),
        }
    }

    /// The output as LunaCM prints it, ending with the `Command Result :` footer. Control
    /// characters a user typed (echoed in a line or an error) are shown escaped
    /// ([`crate::printable`]).
    pub fn render(&self) -> String {
        let mut out = String::new();
        for line in &self.lines {
            out.push_str(&escape(line));
            out.push('\n');
        }
        match &self.result {
            Ok(()) => {
                if !self.lines.is_empty() {
                    out.push('\n');
                }
                out.push_str("Command Result : No Error\n");
            }
            Err(e) => {
                out.push_str(&format!(
                    "Error: {}\n\nCommand Result : {}\n",
                    escape(&e.to_string()),
                    e.result_text()
                ));
            }
        }
        out
    }
}

/// A refused command: the error and what LunaCM printed before it (e.g. a prompt).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// Lines printed before the error.
    pub lines: Vec<String>,
    /// The error.
    pub error: CommandError,
}

impl From<CommandError> for Refusal {
    fn from(error: CommandError) -> Self {
        Refusal {
            lines: Vec::new(),
            error,
        }
    }
}

/// What a command family returns: the lines printed, or the refusal.
pub type Outcome = Result<Vec<String>, Refusal>;

/// Executes one `hagroup` command line. `credential` is the Crypto Officer credential LunaCM
/// would prompt for (prerequisite checks, synchronisation, sync data); it is never printed.
pub fn execute(
    cm: &mut LunaCm,
    engine: &mut HaEngine,
    now: Millis,
    line: &str,
    credential: Option<&Secret>,
) -> CommandOutput {
    // After a successful command the configuration is written back into Chrystoki.conf once,
    // and the running engine takes it, here; if either refuses, the command is refused and
    // undone. Only a command that stands changes what the running application does.
    let saved = cm.save_config();
    let outcome = dispatch(cm, engine, now, line, credential).and_then(|lines| {
        cm.commit_config(engine, saved, now)?;
        Ok(lines)
    });
    // listgroups has its own layout (§3.1); every other command's lines are indented as
    // LunaCM prints them (§3.6: `        HA Auto Recovery Count has been set to 3`).
    let laid_out = args::tokenize(line)
        .ok()
        .and_then(|t| t.get(1).map(|s| s.eq_ignore_ascii_case("listgroups")))
        .unwrap_or(false);
    let shape = |lines: Vec<String>| {
        if laid_out {
            lines
        } else {
            lines.into_iter().map(indent).collect()
        }
    };
    match outcome {
        Ok(lines) => CommandOutput::ok(shape(lines)),
        Err(refusal) => CommandOutput {
            lines: shape(refusal.lines),
            result: Err(refusal.error),
        },
    }
}

/// How far LunaCM indents a command's lines.
pub const INDENT: &str = "        ";

/// `line` indented by [`INDENT`], unless it is blank or already indented.
pub fn indent(line: String) -> String {
    if line.is_empty() || line.starts_with(' ') {
        line
    } else {
        format!("{INDENT}{line}")
    }
}

/// The supported subcommands, as error messages list them.
pub const SUBCOMMANDS: &str = "creategroup, deletegroup, addmember, removemember, addstandby, removestandby, synchronize, recover, retry, interval, recoverymode, haonly, halog, listgroups";

fn dispatch(
    cm: &mut LunaCm,
    engine: &mut HaEngine,
    now: Millis,
    line: &str,
    credential: Option<&Secret>,
) -> Outcome {
    let tokens = args::tokenize(line)?;
    let (first, rest) = tokens
        .split_first()
        .ok_or_else(|| CommandError::Syntax("empty command line".into()))?;
    if !first.eq_ignore_ascii_case("hagroup") {
        return Err(CommandError::Syntax(format!(
            "unknown command '{first}' (supported: hagroup)"
        ))
        .into());
    }
    let (sub, opts) = rest.split_first().ok_or_else(|| {
        CommandError::Syntax(format!(
            "hagroup: missing subcommand (one of: {SUBCOMMANDS})"
        ))
    })?;
    let sub = sub.to_ascii_lowercase();
    let command = format!("hagroup {sub}");
    let parse = |specs: &[OptSpec]| args::parse(&command, opts, specs);
    let c = command.as_str();
    match sub.as_str() {
        "creategroup" => {
            let p = parse(&[
                value("label"),
                value("slot"),
                value("serialnumber"),
                value("password"),
            ])?;
            groups::create_group(cm, c, &p, credential)
        }
        "deletegroup" => {
            let p = parse(&[value("label")])?;
            groups::delete_group(cm, engine, c, &p)
        }
        "addmember" => {
            let p = parse(&[
                value("serialnumber"),
                value("slot"),
                value("group"),
                value("password"),
                value("answer"),
            ])?;
            members::add_member(cm, c, &p, credential)
        }
        "removemember" => {
            let p = parse(&[value("group"), value("serialnumber")])?;
            members::remove_member(cm, c, &p)
        }
        "addstandby" => {
            let p = parse(&[value("group"), value("serialnumber")])?;
            members::set_standby(cm, c, &p, true)
        }
        "removestandby" => {
            let p = parse(&[value("group"), value("serialnumber")])?;
            members::set_standby(cm, c, &p, false)
        }
        "synchronize" => {
            let p = parse(&[
                value("group"),
                value("password"),
                flag("enable"),
                flag("disable"),
            ])?;
            recover::synchronize(cm, c, &p, credential)
        }
        "recover" => {
            let p = parse(&[value("group")])?;
            recover::recover(cm, engine, now, c, &p)
        }
        "retry" => {
            let p = parse(&[value("count")])?;
            settings::retry(cm, c, &p)
        }
        "interval" => {
            let p = parse(&[value("interval")])?;
            settings::interval(cm, c, &p)
        }
        "recoverymode" => {
            let p = parse(&[value("mode")])?;
            settings::recovery_mode(cm, c, &p)
        }
        "haonly" => {
            let p = parse(&[flag("enable"), flag("disable"), flag("show")])?;
            settings::ha_only(cm, c, &p)
        }
        "halog" => {
            let p = parse(&[
                value("path"),
                value("maxlength"),
                flag("enable"),
                flag("disable"),
                flag("show"),
            ])?;
            settings::halog(cm, c, &p)
        }
        "listgroups" => {
            parse(&[])?;
            Ok(listgroups::render(cm, credential))
        }
        other => Err(CommandError::Syntax(format!(
            "hagroup: unknown subcommand '{other}' (one of: {SUBCOMMANDS})"
        ))
        .into()),
    }
}

/// Refuses a partition that cannot join a group: a partition joins one group at most, and the
/// client's groups hold at most `MAX_GROUPED_PARTITIONS` partitions (B6).
pub(crate) fn refuse_if_grouped(
    cm: &LunaCm,
    command: &str,
    serial: &str,
) -> Result<(), CommandError> {
    if let Some(g) = cm.config.group_of_member(serial) {
        return Err(CommandError::Refused(format!(
            "{command}: partition {serial} is already a member of group '{}'",
            g.label
        )));
    }
    if cm.config.grouped_partitions() >= MAX_GROUPED_PARTITIONS {
        return Err(CommandError::Refused(format!(
            "{command}: the client's groups already hold {} partitions, the most it supports (B6)",
            MAX_GROUPED_PARTITIONS
        )));
    }
    Ok(())
}

/// Why `-password` is refused on every command (what follows `<command>: `).
pub const PASSWORD_REFUSAL: &str = "-password is not accepted on a command line in hasim; the credential comes from the scenario's credentials (secrets never appear on a command line)";

/// `-password` is refused: the credential comes from the scenario, never a command line (the
/// value typed is not echoed).
pub(crate) fn refuse_password(command: &str, p: &args::Parsed) -> Result<(), CommandError> {
    if p.has("password") {
        return Err(CommandError::Refused(format!(
            "{command}: {PASSWORD_REFUSAL}"
        )));
    }
    Ok(())
}

/// The credential LunaCM prompts for, or a refusal naming why it is needed.
pub(crate) fn need_credential<'a>(
    command: &str,
    credential: Option<&'a Secret>,
    why: &str,
) -> Result<&'a Secret, CommandError> {
    credential.ok_or_else(|| {
        CommandError::Refused(format!(
            "{command}: the Crypto Officer credential is needed {why}; LunaCM prompts for it and hasim takes it from the scenario's credentials"
        ))
    })
}

/// The index of the group labelled `label` (case-insensitive, B3), or a refusal.
pub(crate) fn group_index(cm: &LunaCm, command: &str, label: &str) -> Result<usize, CommandError> {
    cm.config
        .group_index(label)
        .ok_or_else(|| CommandError::Refused(format!("{command}: no group labelled '{label}'")))
}

/// Resolves `-slot` / `-serialnumber` (exactly one) to a partition serial. `-slot N` counts
/// the slots LunaCM sees now, as `slot list` numbers them ([`SlotView`], D14); `-serialnumber`
/// names any slot the client has.
pub(crate) fn member_serial(
    cm: &mut LunaCm,
    command: &str,
    p: &args::Parsed,
) -> Result<String, CommandError> {
    match (p.get("slot"), p.get("serialnumber")) {
        (Some(_), Some(_)) => Err(CommandError::Syntax(format!(
            "{command}: give either -slot or -serialnumber, not both"
        ))),
        (None, None) => Err(CommandError::Syntax(format!(
            "{command}: missing -slot or -serialnumber"
        ))),
        (Some(slot), None) => {
            let n = args::integer(command, "slot", slot)?;
            let view = SlotView::probe(cm);
            let serials = cm.slot_serials();
            usize::try_from(n)
                .ok()
                .and_then(|number| view.slot_at(number))
                .and_then(|i| serials.get(i).cloned())
                .ok_or_else(|| {
                    CommandError::Refused(format!(
                        "{command}: -slot {n} is not a partition slot ({})",
                        numbered_range(view.present_count(), "visible")
                    ))
                })
        }
        (None, Some(serial)) => {
            if cm.slot_serials().iter().any(|s| s == serial) {
                Ok(serial.to_string())
            } else {
                Err(CommandError::Refused(format!(
                    "{command}: no visible partition has serial number {serial}"
                )))
            }
        }
    }
}
