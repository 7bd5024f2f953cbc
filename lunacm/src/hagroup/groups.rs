//! `hagroup creategroup` (B1–B3, B9 for the founding partition alone) and `hagroup
//! deletegroup` (B8: the client configuration only; objects stay on the partitions).

use std::collections::BTreeSet;

use crate::ckr::Ckr;
use crate::config::GroupConfig;
use crate::engine::HaEngine;
use crate::error::CommandError;
use crate::hagroup::args;
use crate::hagroup::commands::{
    Outcome, group_index, member_serial, need_credential, refuse_if_grouped, refuse_password,
};
use crate::ports::Secret;
use crate::prereq;

/// `hagroup creategroup -label L {-slot N | -serialnumber S}`.
pub(crate) fn create_group(
    engine: &mut HaEngine,
    command: &str,
    p: &args::Parsed,
    credential: Option<&Secret>,
) -> Outcome {
    refuse_password(command, p)?;
    let label = args::required(command, p, "label")?.to_string();
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
    if let Some(existing) = engine.config.group(&label) {
        return Err(CommandError::Refused(format!(
            "{command}: a group labelled '{}' already exists; labels are compared without case (B3)",
            existing.label
        ))
        .into());
    }
    if engine.config.groups.len() >= crate::config::MAX_VIRTUAL_SLOTS {
        return Err(CommandError::Refused(format!(
            "{command}: the client already has {} HA groups, the most it supports (B6)",
            crate::config::MAX_VIRTUAL_SLOTS
        ))
        .into());
    }
    let serial = member_serial(engine, command, p)?;
    refuse_if_grouped(engine, command, &serial)?;
    let cannot = |what: String| {
        CommandError::Refused(format!(
            "{command}: partition {serial} cannot be the primary of group {label}: {what}"
        ))
    };
    let mut lines = Vec::new();
    let slot = engine
        .slot_index(&serial)
        .ok_or_else(|| cannot("it is not a slot of this client".to_string()))?;
    match engine.slots[slot].member.properties() {
        Ok(props) => prereq::check_alone(&props).map_err(|v| cannot(v.to_string()))?,
        Err(Ckr::CKR_FUNCTION_NOT_SUPPORTED) => lines.push(format!(
            "Note: partition {serial} does not report its policies; prerequisites B9-B15 were not checked."
        )),
        Err(rv) => return Err(cannot(format!("it is not reachable ({rv}) (B9)")).into()),
    }
    let pin = need_credential(command, credential, "to check the partition (B9)")?;
    prereq::verify_credential(engine.slots[slot].member.as_mut(), pin)
        .map_err(|v| cannot(v.to_string()))?;
    let group = GroupConfig {
        label: label.clone(),
        members: vec![serial],
        standby: BTreeSet::new(),
    };
    let number = group.serial();
    engine.config.groups.push(group);
    lines.push(format!(
        "New group with label \"{label}\" created with group number {number}."
    ));
    Ok(lines)
}

/// `hagroup deletegroup -label L`. A group the running application was initialised with is
/// refused: its virtual slot lives until the application finalises (hasim's engine addresses
/// groups by configuration position).
pub(crate) fn delete_group(engine: &mut HaEngine, command: &str, p: &args::Parsed) -> Outcome {
    let label = args::required(command, p, "label")?;
    let index = group_index(engine, command, label)?;
    let in_use = engine
        .runtime
        .as_ref()
        .is_some_and(|rt| rt.groups.iter().any(|g| g.index >= index));
    let group = engine.config.groups[index].clone();
    if in_use {
        return Err(CommandError::Refused(format!(
            "{command}: group '{}' is in use by the running application (its library was initialised with it); hasim deletes it only while the application is not initialised (B8)",
            group.label
        ))
        .into());
    }
    engine.config.groups.remove(index);
    engine
        .config
        .auto_sync
        .retain(|l| !l.eq_ignore_ascii_case(&group.label));
    engine
        .config
        .legacy_recovery
        .retain(|l, _| !l.eq_ignore_ascii_case(&group.label));
    Ok(vec![format!(
        "Group \"{}\" with group number {} deleted. The objects on its members stay on the partitions (B8).",
        group.label,
        group.serial()
    )])
}
