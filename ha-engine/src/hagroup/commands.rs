//! Execution of `hagroup` commands against the client configuration (B1–B5, B39, B62–B65).
//! Each command validates everything first and changes the configuration only when valid.

use std::collections::BTreeSet;

use crate::config::{GroupConfig, INTERVAL_RANGE_S, RecoveryMode, RetryLimit};
use crate::engine::HaEngine;
use crate::error::CommandError;
use crate::hagroup::args::{self, OptSpec, flag, value};
use crate::ports::{Millis, Secret};

/// What a command printed and whether it succeeded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandOutput {
    /// Lines printed before the result footer.
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

    fn error(e: CommandError) -> Self {
        CommandOutput {
            lines: Vec::new(),
            result: Err(e),
        }
    }

    /// The output as LunaCM prints it, ending with the `Command Result :` footer.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for line in &self.lines {
            out.push_str(line);
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
                    "Error: {e}\n\nCommand Result : {}\n",
                    e.result_text()
                ));
            }
        }
        out
    }
}

/// Executes one LunaCM command line. `credential` is the CO credential LunaCM would prompt for
/// (used only to read sync data); it is never printed.
pub fn execute(
    engine: &mut HaEngine,
    now: Millis,
    line: &str,
    credential: Option<&Secret>,
) -> CommandOutput {
    match dispatch(engine, now, line, credential) {
        Ok(lines) => CommandOutput::ok(lines),
        Err(e) => CommandOutput::error(e),
    }
}

const SUBCOMMANDS: &str =
    "creategroup, addmember, retry, interval, recoverymode, halog, listgroups";

fn dispatch(
    engine: &mut HaEngine,
    now: Millis,
    line: &str,
    credential: Option<&Secret>,
) -> Result<Vec<String>, CommandError> {
    let tokens = args::tokenize(line)?;
    let (first, rest) = tokens
        .split_first()
        .ok_or_else(|| CommandError::Syntax("empty command line".into()))?;
    if !first.eq_ignore_ascii_case("hagroup") {
        return Err(CommandError::Syntax(format!(
            "unknown command '{first}' (supported: hagroup)"
        )));
    }
    let (sub, opts) = rest.split_first().ok_or_else(|| {
        CommandError::Syntax(format!(
            "hagroup: missing subcommand (one of: {SUBCOMMANDS})"
        ))
    })?;
    let sub = sub.to_ascii_lowercase();
    let command = format!("hagroup {sub}");
    let parse = |specs: &[OptSpec]| args::parse(&command, opts, specs);
    match sub.as_str() {
        "creategroup" => {
            let p = parse(&[
                value("label"),
                value("slot"),
                value("serialnumber"),
                value("password"),
            ])?;
            create_group(engine, &command, &p)
        }
        "addmember" => {
            let p = parse(&[
                value("serialnumber"),
                value("slot"),
                value("group"),
                value("password"),
            ])?;
            add_member(engine, &command, &p)
        }
        "retry" => {
            let p = parse(&[value("count")])?;
            let raw = args::required(&command, &p, "count")?;
            let n = args::integer(&command, "count", raw)?;
            let limit = RetryLimit::from_count(n).ok_or_else(|| {
                CommandError::OutOfRange(format!(
                    "{command}: -count {n} is out of range: allowed 0 (disable), -1 (unlimited) or 1..{} (B39)",
                    RetryLimit::MAX
                ))
            })?;
            engine.config.retry = limit;
            engine.reschedule_recovery(now);
            Ok(vec![format!("HA Auto Recovery Count has been set to {n}")])
        }
        "interval" => {
            let p = parse(&[value("interval")])?;
            let raw = args::required(&command, &p, "interval")?;
            let n = args::integer(&command, "interval", raw)?;
            let s = u64::try_from(n)
                .ok()
                .filter(|s| INTERVAL_RANGE_S.contains(s))
                .ok_or_else(|| {
                    CommandError::OutOfRange(format!(
                        "{command}: -interval {n} is out of range: allowed {}..{} seconds (B39)",
                        INTERVAL_RANGE_S.start(),
                        INTERVAL_RANGE_S.end()
                    ))
                })?;
            engine.config.interval_s = s;
            Ok(vec![format!(
                "HA Auto Recovery Interval has been set to {s} seconds"
            )])
        }
        "recoverymode" => {
            let p = parse(&[value("mode")])?;
            let raw = args::required(&command, &p, "mode")?;
            let mode = if raw.eq_ignore_ascii_case("activeBasic") {
                RecoveryMode::ActiveBasic
            } else if raw.eq_ignore_ascii_case("activeEnhanced") {
                RecoveryMode::ActiveEnhanced
            } else {
                return Err(CommandError::Syntax(format!(
                    "{command}: -mode '{raw}' is not a recovery mode (expected activeBasic or activeEnhanced)"
                )));
            };
            engine.config.mode = mode;
            Ok(vec![format!(
                "HA Recovery mode has been set to {}",
                mode.as_str()
            )])
        }
        "halog" => {
            let p = parse(&[
                value("path"),
                value("maxlength"),
                flag("enable"),
                flag("disable"),
                flag("show"),
            ])?;
            halog(engine, &command, &p)
        }
        "listgroups" => {
            parse(&[])?;
            Ok(crate::hagroup::listgroups::render(engine, now, credential))
        }
        other => Err(CommandError::Syntax(format!(
            "hagroup: unknown subcommand '{other}' (one of: {SUBCOMMANDS})"
        ))),
    }
}

fn refuse_password(command: &str, p: &args::Parsed) -> Result<(), CommandError> {
    if p.has("password") {
        return Err(CommandError::Refused(format!(
            "{command}: -password is not accepted on a command line in hasim; the credential comes from the scenario's credentials (secrets never appear on a command line)"
        )));
    }
    Ok(())
}

/// Resolves `-slot` / `-serialnumber` (exactly one) to a visible partition serial.
fn member_serial(
    engine: &HaEngine,
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
            let serials = engine.slot_serials();
            usize::try_from(n)
                .ok()
                .and_then(|i| serials.get(i).cloned())
                .ok_or_else(|| {
                    CommandError::Refused(format!(
                        "{command}: -slot {n} is not a partition slot (slots 0..{} are visible)",
                        serials.len().saturating_sub(1)
                    ))
                })
        }
        (None, Some(serial)) => {
            if engine.slot_serials().iter().any(|s| s == serial) {
                Ok(serial.to_string())
            } else {
                Err(CommandError::Refused(format!(
                    "{command}: no visible partition has serial number {serial}"
                )))
            }
        }
    }
}

fn create_group(
    engine: &mut HaEngine,
    command: &str,
    p: &args::Parsed,
) -> Result<Vec<String>, CommandError> {
    refuse_password(command, p)?;
    let label = args::required(command, p, "label")?.to_string();
    if label.is_empty() {
        return Err(CommandError::Refused(format!(
            "{command}: the group label must not be empty (B3)"
        )));
    }
    if label.eq_ignore_ascii_case("HA") {
        return Err(CommandError::Refused(format!(
            "{command}: the label '{label}' is reserved; a group cannot be called HA (B3)"
        )));
    }
    if engine.config.group(&label).is_some() {
        return Err(CommandError::Refused(format!(
            "{command}: a group labelled '{label}' already exists (B3)"
        )));
    }
    let serial = member_serial(engine, command, p)?;
    if let Some(g) = engine.config.group_of_member(&serial) {
        return Err(CommandError::Refused(format!(
            "{command}: partition {serial} is already a member of group '{}'",
            g.label
        )));
    }
    let group = GroupConfig {
        label: label.clone(),
        members: vec![serial],
        standby: BTreeSet::new(),
    };
    let number = group.serial();
    engine.config.groups.push(group);
    Ok(vec![format!(
        "New group with label \"{label}\" created with group number {number}."
    )])
}

fn add_member(
    engine: &mut HaEngine,
    command: &str,
    p: &args::Parsed,
) -> Result<Vec<String>, CommandError> {
    refuse_password(command, p)?;
    let label = args::required(command, p, "group")?;
    let Some(index) = engine.config.group_index(label) else {
        return Err(CommandError::Refused(format!(
            "{command}: no group labelled '{label}'"
        )));
    };
    let serial = member_serial(engine, command, p)?;
    if let Some(g) = engine.config.group_of_member(&serial) {
        return Err(CommandError::Refused(format!(
            "{command}: partition {serial} is already a member of group '{}'",
            g.label
        )));
    }
    let group = &mut engine.config.groups[index];
    group.members.push(serial.clone());
    Ok(vec![format!(
        "Member {serial} successfully added to group {}.",
        group.label
    )])
}

fn halog(
    engine: &mut HaEngine,
    command: &str,
    p: &args::Parsed,
) -> Result<Vec<String>, CommandError> {
    let given = p.given();
    if given.len() != 1 {
        return Err(CommandError::Syntax(format!(
            "{command}: give exactly one of -path, -maxlength, -enable, -disable, -show"
        )));
    }
    match given[0] {
        "path" => {
            let path = p.get("path").unwrap_or_default().to_string();
            if !engine.sink_dir_exists(&path) {
                return Err(CommandError::Refused(format!(
                    "{command}: -path {path} is not an existing directory (B62)"
                )));
            }
            engine.log.set_path(Some(path.clone()));
            Ok(vec![format!("HA Log path has been set to {path}")])
        }
        "maxlength" => {
            let raw = p.get("maxlength").unwrap_or_default();
            let n = args::integer(command, "maxlength", raw)?;
            let n = u64::try_from(n).ok().filter(|n| *n > 0).ok_or_else(|| {
                CommandError::OutOfRange(format!(
                    "{command}: -maxlength {n} is out of range: a positive number of bytes (B64)"
                ))
            })?;
            engine.log.set_max_len(n);
            Ok(vec![format!(
                "HA Log maximum length has been set to {n} bytes"
            )])
        }
        "enable" => {
            engine.log.set_enabled(true);
            Ok(vec!["HA Logging has been enabled".to_string()])
        }
        "disable" => {
            engine.log.set_enabled(false);
            Ok(vec!["HA Logging has been disabled".to_string()])
        }
        _ => {
            let s = engine.log.settings();
            Ok(vec![
                format!(
                    "HA Log Status: {}",
                    if s.enabled { "enabled" } else { "disabled" }
                ),
                format!("HA Log Path: {}", s.path.as_deref().unwrap_or("<not set>")),
                format!("Max HA Log Length: {} bytes", s.max_len),
            ])
        }
    }
}
