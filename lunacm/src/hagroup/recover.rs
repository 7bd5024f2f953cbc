//! Bringing members back in line: `hagroup recover [-group L]` (manual recovery, B45, D9),
//! `hagroup synchronize -group L` (B61, D8, with the B14 warning; the work is in
//! [`crate::sync`]) and `hagroup synchronize -group L -enable | -disable` (automatic
//! synchronisation on recovery, `[HASynchronize]`, D21).

use ha_engine::HaEngine;
use ha_engine::ports::{Millis, Secret};

use crate::console::LunaCm;
use crate::error::CommandError;
use crate::hagroup::args;
use crate::hagroup::commands::{Outcome, Refusal, group_index, need_credential, refuse_password};
use crate::sync::{self, SyncReport, class_name};

/// `hagroup recover [-group L]`: every down member of the group (of every group without
/// `-group`) gets a fresh attempt counter and an attempt at the application's next call
/// ([`HaEngine::request_recovery`]).
pub(crate) fn recover(
    cm: &LunaCm,
    engine: &mut HaEngine,
    now: Millis,
    command: &str,
    p: &args::Parsed,
) -> Outcome {
    let group = p
        .get("group")
        .map(|label| group_index(cm, command, label))
        .transpose()?;
    engine.request_recovery(now, group);
    let whom = match group {
        Some(i) => format!("group {}", cm.config.groups[i].label),
        None => "every group".to_string(),
    };
    Ok(vec![format!(
        "Manual recovery requested for {whom}: down members are attempted at the application's next call (B45)."
    )])
}

/// The B14 warning, exactly as §3.6 prints it (two spaces after `fail.`).
pub fn conflict_warning(first: usize, second: usize) -> String {
    format!(
        "Warning: Synchronize may fail.  The members in slot {first} and slot {second} have conflicting settings for private key cloning."
    )
}

/// `hagroup synchronize -group L`: union of the reachable members' token objects (D8).
pub(crate) fn synchronize(
    cm: &mut LunaCm,
    command: &str,
    p: &args::Parsed,
    credential: Option<&Secret>,
) -> Outcome {
    refuse_password(command, p)?;
    let label = args::required(command, p, "group")?;
    let index = group_index(cm, command, label)?;
    let group_label = cm.config.groups[index].label.clone();
    match (p.has("enable"), p.has("disable")) {
        (true, true) => {
            return Err(CommandError::Syntax(format!(
                "{command}: give -enable or -disable, not both"
            ))
            .into());
        }
        (false, false) => {}
        (on, _) => return Ok(set_auto_sync(cm, &group_label, on)),
    }
    let pin = need_credential(
        command,
        credential,
        "to read and clone the members' objects (B61)",
    )?;
    let report = sync::synchronize(cm, index, pin).map_err(|e| {
        CommandError::Refused(format!(
            "{command}: group {group_label} cannot be synchronized: {e}"
        ))
    })?;
    let lines = report_lines(&group_label, &report);
    match report.failures.first() {
        None => Ok(lines),
        Some(first) => Err(Refusal {
            lines,
            error: CommandError::Refused(format!(
                "{command}: {} object copies could not be made in group {group_label}; the first: {} {} to member {}: {} (B14)",
                report.failures.len(),
                class_name(first.class),
                first.id,
                first.member,
                first.rv
            )),
        }),
    }
}

/// `hagroup synchronize -group L -enable | -disable` (D21): `[HASynchronize] L = 1 | 0`.
fn set_auto_sync(cm: &mut LunaCm, label: &str, on: bool) -> Vec<String> {
    cm.config
        .synchronize
        .retain(|l, _| !l.eq_ignore_ascii_case(label));
    cm.config.synchronize.insert(label.to_string(), on);
    vec![format!(
        "Automatic synchronization of group {label} has been {} (D21)",
        if on { "enabled" } else { "disabled" }
    )]
}

fn report_lines(label: &str, report: &SyncReport) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some((a, b)) = report.conflict {
        lines.push(conflict_warning(a, b));
    }
    for serial in &report.unreachable {
        lines.push(format!(
            "Member {serial} is not reachable and was not synchronized."
        ));
    }
    for (serial, n) in &report.cloned {
        lines.push(format!("Member {serial}: {n} token objects cloned to it."));
    }
    if report.failures.is_empty() {
        lines.push(format!(
            "Group {label} synchronized: its {} reachable members hold the same {} token objects.",
            report.cloned.len(),
            report.objects
        ));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warning_is_the_published_string() {
        assert_eq!(
            conflict_warning(0, 1),
            "Warning: Synchronize may fail.  The members in slot 0 and slot 1 have conflicting settings for private key cloning."
        );
    }
}
