//! `hagroup creategroup` (B1–B3, B9 for the founding partition alone) and `hagroup
//! deletegroup` (B8: the client configuration only; objects stay on the partitions).

use std::collections::BTreeSet;

use ha_engine::HaEngine;
use ha_engine::ckr::Ckr;
use ha_engine::config::{GroupConfig, MAX_VIRTUAL_SLOTS};

use crate::console::LunaCm;
use crate::error::CommandError;
use crate::hagroup::args;
use crate::hagroup::commands::{
    Outcome, group_index, member_serial, need_credential, refuse_if_grouped, refuse_password,
};
use crate::prereq;
use ha_engine::ports::Secret;

/// `hagroup creategroup -label L {-slot N | -serialnumber S}`.
pub(crate) fn create_group(
    cm: &mut LunaCm,
    command: &str,
    p: &args::Parsed,
    credential: Option<&Secret>,
) -> Outcome {
    refuse_password(command, p)?;
    // Blanks around a label are not part of it: the file would read it back without them and
    // every later write would take the group for a new one (a new `VirtualTokenNN`).
    let label = args::required(command, p, "label")?.trim().to_string();
    if label.is_empty() {
        return Err(CommandError::Refused(format!(
            "{command}: the group label must not be empty (B3)"
        ))
        .into());
    }
    if label.eq_ignore_ascii_case("HA") {
        return Err(CommandError::Refused(format!(
            "{command}: the label '{label}' is reserved; a group cannot be called HA (B3)"
        ))
        .into());
    }
    if let Some(bad) = label_flaw(&label) {
        return Err(CommandError::Refused(format!(
            "{command}: the label {} {bad}; Chrystoki.conf could not hold it (B3)",
            crate::printable::quoted(&label)
        ))
        .into());
    }
    if let Some(existing) = cm.config.group(&label) {
        return Err(CommandError::Refused(format!(
            "{command}: a group labelled '{}' already exists; labels are compared without case (B3)",
            existing.label
        ))
        .into());
    }
    if cm.config.groups.len() >= MAX_VIRTUAL_SLOTS {
        return Err(CommandError::Refused(format!(
            "{command}: the client already has {} HA groups, the most it supports (B6)",
            MAX_VIRTUAL_SLOTS
        ))
        .into());
    }
    let serial = member_serial(cm, command, p)?;
    refuse_if_grouped(cm, command, &serial)?;
    let cannot = |what: String| {
        CommandError::Refused(format!(
            "{command}: partition {serial} cannot be the primary of group {label}: {what}"
        ))
    };
    let mut lines = Vec::new();
    let slot = cm
        .slot_index(&serial)
        .ok_or_else(|| cannot("it is not a slot of this client".to_string()))?;
    match cm.member(slot).properties() {
        Ok(props) => prereq::check_alone(&props).map_err(|v| cannot(v.to_string()))?,
        Err(Ckr::CKR_FUNCTION_NOT_SUPPORTED) => lines.push(format!(
            "Note: partition {serial} does not report its policies; prerequisites B9-B15 were not checked."
        )),
        Err(rv) => return Err(cannot(format!("it is not reachable ({rv}) (B9)")).into()),
    }
    let pin = need_credential(command, credential, "to check the partition (B9)")?;
    prereq::verify_credential(cm.member(slot), pin).map_err(|v| cannot(v.to_string()))?;
    let group = GroupConfig {
        label: label.clone(),
        members: vec![serial],
        standby: BTreeSet::new(),
    };
    let number = group.serial();
    cm.config.groups.push(group);
    // D21: a new group synchronises automatically, as the seed's LunaCM-written file says.
    cm.config
        .synchronize
        .retain(|l, _| !l.eq_ignore_ascii_case(&label));
    cm.config.synchronize.insert(label.clone(), true);
    lines.push(format!(
        "New group with label \"{label}\" created with group number {number}."
    ));
    Ok(lines)
}

/// What makes a (trimmed) label unusable as a Chrystoki.conf value and key
/// (`VirtualTokenNNLabel = L;`, `[HASynchronize] L = 1;`, `LStandbyMembers`), if anything.
pub(crate) fn label_flaw(label: &str) -> Option<String> {
    if let Some(c) = label.chars().find(|c| c.is_control()) {
        return Some(format!(
            "contains a control character (U+{:04X})",
            u32::from(c)
        ));
    }
    if label.chars().any(char::is_whitespace) {
        return Some("contains a blank".to_string());
    }
    if let Some(c) = label.chars().find(|c| ";{}=[]\"',#".contains(*c)) {
        return Some(format!("contains '{c}'"));
    }
    if label.contains("//") {
        return Some("contains '//' (a comment)".to_string());
    }
    None
}

/// `hagroup deletegroup -label L`. A group the running application was initialised with (or
/// one before it) is refused: its virtual slot lives until the application finalises (hasim's
/// engine addresses groups by configuration position; [`HaEngine::check_config`]).
pub(crate) fn delete_group(
    cm: &mut LunaCm,
    engine: &HaEngine,
    command: &str,
    p: &args::Parsed,
) -> Outcome {
    let label = args::required(command, p, "label")?;
    let index = group_index(cm, command, label)?;
    let group = cm.config.groups[index].clone();
    let mut without = cm.config.clone();
    without.groups.remove(index);
    if engine.check_config(&without).is_err() {
        return Err(CommandError::Refused(format!(
            "{command}: group '{}' is in use by the running application (its library was initialised with it); hasim deletes it only while the application is not initialised (B8)",
            group.label
        ))
        .into());
    }
    cm.config.groups.remove(index);
    cm.config
        .synchronize
        .retain(|l, _| !l.eq_ignore_ascii_case(&group.label));
    cm.config
        .legacy_recovery
        .retain(|l, _| !l.eq_ignore_ascii_case(&group.label));
    Ok(vec![format!(
        "Group \"{}\" with group number {} deleted. The objects on its members stay on the partitions (B8).",
        group.label,
        group.serial()
    )])
}
