//! Group membership: `hagroup addmember` (B5, B9–B15, B12 populated partitions, B24),
//! `hagroup removemember` (B4, D13) and `hagroup addstandby` / `removestandby` (B38).
//!
//! A populated partition (one that already holds token objects) makes LunaCM ask whether to
//! replicate its objects into the group (`copy`), delete them (`remove`) or abort (`quit`).
//! hasim prints the prompt and takes the answer from the trailing option `-answer
//! copy|remove|quit` (the scenario's scripted answer); without it the command is refused. After
//! `copy` the group's members differ until `hagroup synchronize` (`Needs sync : yes`, D8).
//! On an empty partition there is no prompt and a given `-answer` is accepted and unused.

use ha_engine::ckr::Ckr;
use ha_engine::config::MAX_MEMBERS_PER_GROUP;

use crate::console::LunaCm;
use crate::error::CommandError;
use crate::hagroup::args;
use crate::hagroup::commands::{
    Outcome, Refusal, group_index, member_serial, need_credential, refuse_if_grouped,
    refuse_password,
};
use crate::member_session;
use crate::prereq;
use ha_engine::ports::{MemberProperties, Secret};

/// The answer to the populated-partition prompt (B12).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    /// Keep the objects; they reach the other members with `hagroup synchronize`.
    Copy,
    /// Delete the objects from the joining partition.
    Remove,
    /// Abort: the member is not added.
    Quit,
}

impl Answer {
    fn parse(command: &str, raw: &str) -> Result<Answer, CommandError> {
        match raw.to_ascii_lowercase().as_str() {
            "copy" => Ok(Answer::Copy),
            "remove" => Ok(Answer::Remove),
            "quit" => Ok(Answer::Quit),
            _ => Err(CommandError::Syntax(format!(
                "{command}: -answer '{raw}' is not an answer to the populated-partition prompt (expected copy, remove or quit) (B12)"
            ))),
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Answer::Copy => "copy",
            Answer::Remove => "remove",
            Answer::Quit => "quit",
        }
    }
}

/// `hagroup addmember {-serialnumber S | -slot N} -group L [-answer copy|remove|quit]`.
pub(crate) fn add_member(
    cm: &mut LunaCm,
    command: &str,
    p: &args::Parsed,
    credential: Option<&Secret>,
) -> Outcome {
    refuse_password(command, p)?;
    let answer = p
        .get("answer")
        .map(|raw| Answer::parse(command, raw))
        .transpose()?;
    let label = args::required(command, p, "group")?;
    let index = group_index(cm, command, label)?;
    let serial = member_serial(cm, command, p)?;
    refuse_if_grouped(cm, command, &serial)?;
    let group_label = cm.config.groups[index].label.clone();
    if cm.config.groups[index].members.len() >= MAX_MEMBERS_PER_GROUP {
        return Err(CommandError::Refused(format!(
            "{command}: group {group_label} already has {} members, the most a group supports (B6)",
            MAX_MEMBERS_PER_GROUP
        ))
        .into());
    }
    let cannot = |what: String| {
        CommandError::Refused(format!(
            "{command}: partition {serial} cannot join group {group_label}: {what}"
        ))
    };
    let members = cm.config.groups[index].members.clone();
    let (primary, secondaries) = members
        .split_first()
        .ok_or_else(|| cannot("the group has no member to check it against (B5)".to_string()))?;
    let primary = primary.clone();
    let slot = cm
        .slot_index(&serial)
        .ok_or_else(|| cannot("it is not a slot of this client".to_string()))?;
    let primary_slot = cm.slot_index(&primary).ok_or_else(|| {
        cannot(format!(
            "the primary {primary} is not a slot of this client (B9)"
        ))
    })?;

    // B9–B15 on the properties, then the credential (B9).
    let mut lines = Vec::new();
    let joining = cm.member(slot).properties();
    let primary_props = cm.member(primary_slot).properties();
    let mut notes = prereq::JoinNotes::default();
    match (joining, primary_props) {
        (Err(rv), _) if rv != Ckr::CKR_FUNCTION_NOT_SUPPORTED => {
            return Err(cannot(format!("it is not reachable ({rv}) (B9)")).into());
        }
        (_, Err(rv)) if rv != Ckr::CKR_FUNCTION_NOT_SUPPORTED => {
            return Err(cannot(format!(
                "the primary {primary} is not reachable ({rv}), so the prerequisites cannot be checked against it (B9)"
            ))
            .into());
        }
        (Ok(joining), Ok(primary_props)) => {
            prereq::check_alone(&joining).map_err(|v| cannot(v.to_string()))?;
            let others = known_properties(cm, secondaries);
            notes = prereq::check_join(&primary, &primary_props, &others, &joining)
                .map_err(|v| cannot(v.to_string()))?;
            lines.extend(prereq::policy_warnings(
                &serial,
                &joining,
                &primary,
                &primary_props,
            ));
        }
        _ => lines.push(format!(
            "Note: partition {serial} or the primary {primary} does not report its policies; prerequisites B9-B15 were not checked."
        )),
    }
    let pin = need_credential(
        command,
        credential,
        "to check that the partition shares the group's Crypto Officer credential (B9)",
    )?;
    prereq::verify_credential(cm.member(slot), pin).map_err(|v| cannot(v.to_string()))?;
    if notes.v1 {
        lines.push(format!(
            "Warning: partition {serial} is a V1 partition; the SMK of the primary {primary} overwrites its SMK (B13)."
        ));
    }

    // B12: a populated partition needs the operator's answer.
    let held = cm
        .member(slot)
        .token_info()
        .map_err(|rv| cannot(format!("it is not reachable ({rv}) (B9)")))?
        .object_count;
    let mut copied = false;
    if held > 0 {
        lines.push(format!(
            "Partition {serial} already holds {held} token objects."
        ));
        let prompt = "Enter 'copy' to replicate them into the group, 'remove' to delete them, or 'quit' to abort:";
        let Some(answer) = answer else {
            lines.push(prompt.to_string());
            return Err(Refusal {
                lines,
                error: CommandError::Refused(format!(
                    "{command}: partition {serial} holds {held} token objects; give the answer to LunaCM's prompt as -answer copy, -answer remove or -answer quit (B12)"
                )),
            });
        };
        lines.push(format!("{prompt} {}", answer.as_str()));
        match answer {
            Answer::Quit => {
                return Err(Refusal {
                    lines,
                    error: CommandError::Refused(format!(
                        "{command}: the answer was quit; partition {serial} was not added to group {group_label} (B12)"
                    )),
                });
            }
            Answer::Remove => {
                let n = member_session::clear_token_objects(cm.member(slot), pin).map_err(
                    |failure| Refusal {
                        lines: lines.clone(),
                        error: cannot(format!(
                            "deleting its token objects failed ({}); it was not added (B12)",
                            failure.describe()
                        )),
                    },
                )?;
                lines.push(format!(
                    "{n} token objects deleted from partition {serial}."
                ));
            }
            Answer::Copy => copied = true,
        }
    }

    let standby = notes.cloud && cm.config.cloud_members_standby;
    let group = &mut cm.config.groups[index];
    group.members.push(serial.clone());
    if standby {
        group.standby.insert(serial.clone());
    }
    lines.push(format!(
        "Member {serial} successfully added to group {group_label}."
    ));
    if standby {
        lines.push(format!(
            "Member {serial} is a Cloud HSM partition and was added as a standby member (B15)."
        ));
    }
    if copied {
        lines.push(format!(
            "Its {held} token objects reach the other members with 'hagroup synchronize -group {group_label}'; until then listgroups shows Needs sync: yes (B12)."
        ));
    }
    Ok(lines)
}

/// True when the partition `serial` reports that it is on a Luna Cloud HSM service.
fn is_cloud(cm: &mut LunaCm, serial: &str) -> bool {
    cm.slot_index(serial)
        .and_then(|slot| cm.member(slot).properties().ok())
        .is_some_and(|p| p.form == ha_engine::ports::HsmForm::Cloud)
}

/// The properties of those of `serials` that report them now; a member that is not a slot of
/// this client, does not answer or lacks the vendor extension is left out.
fn known_properties(cm: &mut LunaCm, serials: &[String]) -> Vec<(String, MemberProperties)> {
    serials
        .iter()
        .filter_map(|serial| {
            let slot = cm.slot_index(serial)?;
            let props = cm.member(slot).properties().ok()?;
            Some((serial.clone(), props))
        })
        .collect()
}

/// `hagroup removemember -group L -serialnumber S`. The last member cannot be removed (use
/// `deletegroup`); removing the first member changes the group number (B4, D13) and makes the
/// next member the primary, which is refused when that member runs firmware 7.7.0 or later and
/// a member behind it is older (B11; members whose properties are unknown are not checked).
pub(crate) fn remove_member(cm: &mut LunaCm, command: &str, p: &args::Parsed) -> Outcome {
    let label = args::required(command, p, "group")?;
    let serial = args::required(command, p, "serialnumber")?.to_string();
    let index = group_index(cm, command, label)?;
    let group = &cm.config.groups[index];
    let Some(position) = group.members.iter().position(|m| *m == serial) else {
        return Err(CommandError::Refused(format!(
            "{command}: partition {serial} is not a member of group {}",
            group.label
        ))
        .into());
    };
    if group.members.len() == 1 {
        return Err(CommandError::Refused(format!(
            "{command}: partition {serial} is the last member of group {}; delete the group with hagroup deletegroup instead (B8)",
            group.label
        ))
        .into());
    }
    if position == 0 {
        // B11: the next member becomes the primary of the members behind it. Without its
        // properties there is nothing to check.
        let rest = group.members[1..].to_vec();
        let group_label = group.label.clone();
        let known = known_properties(cm, &rest);
        if let Some(((new_primary, props), behind)) = known.split_first()
            && rest.first() == Some(new_primary)
        {
            prereq::check_new_primary(new_primary, props, behind).map_err(|v| {
                CommandError::Refused(format!(
                    "{command}: partition {serial} is the primary of group {group_label} and cannot be removed: {v}"
                ))
            })?;
        }
    }
    let group = &mut cm.config.groups[index];
    let old_number = group.serial();
    group.members.remove(position);
    group.standby.remove(&serial);
    let new_number = group.serial();
    let mut lines = vec![format!(
        "Member {serial} successfully removed from group {}.",
        group.label
    )];
    if new_number != old_number {
        lines.push(format!(
            "The group number of {} is now {new_number} (was {old_number}): it follows the new first member (B4, D13).",
            group.label
        ));
    }
    Ok(lines)
}

/// `hagroup addstandby|removestandby -group L -serialnumber S` (B38): the member must be in the
/// group; `addstandby` also needs it reachable now.
pub(crate) fn set_standby(
    cm: &mut LunaCm,
    command: &str,
    p: &args::Parsed,
    standby: bool,
) -> Outcome {
    let label = args::required(command, p, "group")?;
    let serial = args::required(command, p, "serialnumber")?.to_string();
    let index = group_index(cm, command, label)?;
    let group = &cm.config.groups[index];
    let group_label = group.label.clone();
    if !group.members.contains(&serial) {
        return Err(CommandError::Refused(format!(
            "{command}: partition {serial} is not a member of group {group_label} (B38)"
        ))
        .into());
    }
    let is_standby = group.standby.contains(&serial);
    if standby && is_standby {
        return Err(CommandError::Refused(format!(
            "{command}: member {serial} of group {group_label} is already a standby member (B38)"
        ))
        .into());
    }
    if !standby && !is_standby {
        return Err(CommandError::Refused(format!(
            "{command}: member {serial} of group {group_label} is not a standby member (B38)"
        ))
        .into());
    }
    if !standby && cm.config.cloud_members_standby && is_cloud(cm, &serial) {
        // The seed: to use a Luna Cloud HSM service as an active member "you must first edit
        // the following toggle" (B15).
        return Err(CommandError::Refused(format!(
            "{command}: member {serial} of group {group_label} is a Luna Cloud HSM service, which stays a standby member unless Chrystoki.conf says [Toggles] lunacm_cv_ha_ui = 0 (B15)"
        ))
        .into());
    }
    if standby {
        let reachable = cm
            .slot_index(&serial)
            .map(|slot| cm.member(slot).token_info());
        match reachable {
            Some(Ok(_)) => {}
            Some(Err(rv)) => {
                return Err(CommandError::Refused(format!(
                    "{command}: member {serial} of group {group_label} is not reachable ({rv}); a standby member must be online when it is set (B38)"
                ))
                .into());
            }
            None => {
                return Err(CommandError::Refused(format!(
                    "{command}: member {serial} of group {group_label} is not a slot of this client (B38)"
                ))
                .into());
            }
        }
    }
    let group = &mut cm.config.groups[index];
    let line = if standby {
        group.standby.insert(serial.clone());
        format!("Member {serial} of group {group_label} is now a standby member.")
    } else {
        group.standby.remove(&serial);
        format!("Member {serial} of group {group_label} is now an active member.")
    };
    Ok(vec![line])
}
