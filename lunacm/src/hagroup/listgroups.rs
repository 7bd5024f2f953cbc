//! `hagroup listgroups` in the layout of §3.1 of the spec: the password prompt for the sync
//! data (one per group; the credential comes from the caller and prints as `********`), the
//! global block, and per group the group block and the member table.
//!
//! Status and sync data come from LunaCM's own look at the members (a probe through its own
//! `Member` connections, D22), not from the application's engine state; with the credential,
//! LunaCM logs in for itself and reads the token object ids of the reachable members of the
//! configured groups only (a partition in no group is not logged in to). Slot numbers are LunaCM's ([`SlotView`]): `HA Group Slot ID`
//! counts the physical slots LunaCM lists, also in HA-only mode. [`collect`] gathers a
//! [`Listing`]; [`format()`] lays it out, so the layout is tested against the published sample
//! with the sample's own data. Blank lines are printed empty: the newer sample (§3.2) prints
//! them empty, the older page's single spaces are a web-page artefact.

use std::collections::{BTreeMap, BTreeSet};

use ha_engine::config::RetryLimit;
use ha_engine::ports::{ObjectId, Secret};

use crate::console::LunaCm;
use crate::hagroup::slots::SlotView;
use crate::member_session;

/// The global block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalBlock {
    /// Auto-recovery on (retry count not 0).
    pub auto_recovery: bool,
    /// `activeBasic` / `activeEnhanced`.
    pub mode: String,
    /// The retry count as configured (`-1` unlimited).
    pub retry: i64,
    /// The recovery interval, seconds.
    pub interval_s: u64,
    /// HA logging enabled.
    pub logging: bool,
    /// HA-only mode.
    pub ha_only: bool,
}

/// One row of a group's member table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRow {
    /// LunaCM slot number; `None` prints `------` (member down, or HA-only mode).
    pub slot: Option<usize>,
    /// Member serial.
    pub serial: String,
    /// Partition label; `None` when the member is down (prints `------------` and `down`).
    pub label: Option<String>,
}

/// One group's block and member table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupBlock {
    /// Group label.
    pub label: String,
    /// Group number (B2).
    pub number: String,
    /// LunaCM's number of the group's virtual slot: after the physical slots LunaCM lists,
    /// `HAOnly` or not (D14, B57).
    pub slot_id: usize,
    /// `[HASynchronize] <label> = 1` (B60).
    pub sync_enabled: bool,
    /// Member serials in order.
    pub members: Vec<String>,
    /// `yes`, `no`, or `n/a` without a credential (D8).
    pub needs_sync: String,
    /// Standby member serials in member order.
    pub standby: Vec<String>,
    /// The member table.
    pub rows: Vec<MemberRow>,
}

/// Everything `listgroups` prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    /// Groups LunaCM prompted the sync-data password for.
    pub prompted: Vec<String>,
    /// The global block.
    pub global: GlobalBlock,
    /// The groups in `NN` order.
    pub groups: Vec<GroupBlock>,
}

/// Renders the listing of LunaCM's configuration and its look at the members.
pub fn render(cm: &mut LunaCm, credential: Option<&Secret>) -> Vec<String> {
    format(&collect(cm, credential))
}

/// Gathers what `listgroups` shows: configuration, plus a probe of every slot (and, with the
/// credential, the token object ids of every reachable member of a configured group; LunaCM's
/// session is closed again and it never logs out).
pub fn collect(cm: &mut LunaCm, credential: Option<&Secret>) -> Listing {
    let view = SlotView::probe(cm);
    let mut ids: BTreeMap<usize, BTreeSet<ObjectId>> = BTreeMap::new();
    if let Some(pin) = credential {
        let members: Vec<String> = cm
            .config
            .groups
            .iter()
            .flat_map(|g| g.members.iter().cloned())
            .collect();
        for serial in members {
            let Some(slot) = cm.slot_index(&serial) else {
                continue;
            };
            if !view.is_present(slot) || ids.contains_key(&slot) {
                continue;
            }
            if let Ok(read) = member_session::token_object_ids(cm.member(slot), pin) {
                ids.insert(slot, read);
            }
        }
    }
    let cfg = cm.config.clone();
    let log = cm.log.clone();
    let global = GlobalBlock {
        auto_recovery: cfg.retry != RetryLimit::Disabled,
        mode: cfg.mode.as_str().to_string(),
        retry: cfg.retry.as_count(),
        interval_s: cfg.interval_s,
        logging: log.enabled,
        ha_only: cfg.ha_only,
    };
    let mut groups = Vec::new();
    for (gi, group) in cfg.groups.iter().enumerate() {
        let slots: Vec<Option<usize>> = group.members.iter().map(|s| cm.slot_index(s)).collect();
        let sets: Vec<&BTreeSet<ObjectId>> = slots
            .iter()
            .filter_map(|slot| slot.and_then(|i| ids.get(&i)))
            .collect();
        let needs_sync = if credential.is_none() {
            "n/a"
        } else if sets.windows(2).any(|w| w[0] != w[1]) {
            "yes"
        } else {
            "no"
        };
        let rows = group
            .members
            .iter()
            .zip(&slots)
            .map(|(serial, slot)| {
                let info = slot.and_then(|i| view.info(i));
                MemberRow {
                    slot: match slot {
                        Some(i) if !cfg.ha_only => view.number_of(*i),
                        _ => None,
                    },
                    serial: serial.clone(),
                    label: info.map(|i| i.label.clone()),
                }
            })
            .collect();
        groups.push(GroupBlock {
            label: group.label.clone(),
            number: group.serial(),
            slot_id: view.virtual_number(gi),
            sync_enabled: cfg.auto_sync_enabled(&group.label),
            members: group.members.clone(),
            needs_sync: needs_sync.to_string(),
            standby: group
                .members
                .iter()
                .filter(|m| group.standby.contains(*m))
                .cloned()
                .collect(),
            rows,
        });
    }
    Listing {
        prompted: if credential.is_some() {
            cfg.groups.iter().map(|g| g.label.clone()).collect()
        } else {
            Vec::new()
        },
        global,
        groups,
    }
}

/// Lays a listing out exactly as §3.1 prints it (blank lines empty).
pub fn format(listing: &Listing) -> Vec<String> {
    let mut out = vec![String::new()];
    for label in &listing.prompted {
        out.push(format!(
            "        If you would like to see synchronization data for group {label},"
        ));
        out.push("        please enter the password for the group members. Sync info".to_string());
        out.push("        not available in HA Only mode.".to_string());
        out.push(String::new());
        out.push(String::new());
        out.push("        Enter the password: ********".to_string());
        out.push(String::new());
        out.push(String::new());
    }
    let g = &listing.global;
    let yes_no = |b: bool, yes: &'static str, no: &'static str| if b { yes } else { no };
    out.push(format!(
        "              HA auto recovery:  {}",
        yes_no(g.auto_recovery, "enabled", "disabled")
    ));
    out.push(format!("              HA recovery mode:  {}", g.mode));
    out.push(format!("   Maximum auto recovery retry:  {}", g.retry));
    out.push(format!(
        "   Auto recovery poll interval:  {} seconds",
        g.interval_s
    ));
    out.push(format!(
        "                    HA logging:  {}",
        yes_no(g.logging, "enabled", "disabled")
    ));
    out.push(format!(
        "            Only Show HA Slots:  {}",
        yes_no(g.ha_only, "yes", "no")
    ));
    out.push(String::new());
    for group in &listing.groups {
        out.push(String::new());
        out.push(format!("         HA Group Label:  {}", group.label));
        out.push(format!("        HA Group Number:  {}", group.number));
        out.push(format!("       HA Group Slot ID:  {}", group.slot_id));
        out.push(format!(
            "       Synchronization: {}",
            yes_no(group.sync_enabled, "enabled", "disabled")
        ));
        out.push(format!(
            "          Group Members:  {}",
            group.members.join(", ")
        ));
        out.push(format!("             Needs sync:  {}", group.needs_sync));
        let standby = if group.standby.is_empty() {
            "<none>".to_string()
        } else {
            group.standby.join(", ")
        };
        out.push(format!("        Standby Members:  {standby}"));
        out.push(String::new());
        out.push(String::new());
        out.push("Slot #    Member S/N                      Member Label    Status".to_string());
        out.push("======    ==========                      ============    ======".to_string());
        for row in &group.rows {
            let slot = row
                .slot
                .map_or_else(|| "------".to_string(), |n| n.to_string());
            let (label, status) = match &row.label {
                Some(label) => (label.as_str(), "alive"),
                None => ("------------", "down"),
            };
            out.push(format!(
                "{slot:>6}  {:<12}{label:>34}{status:>10}",
                row.serial
            ));
        }
    }
    if listing.groups.is_empty() {
        out.push("No HA groups are configured.".to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// §3.1 of the spec from the line after `lunacm:> hagroup listgroups`, character by
    /// character, with its single-space blank lines printed empty (see the module doc).
    const SAMPLE_3_1: &str = " 
        If you would like to see synchronization data for group myHAgroup,
        please enter the password for the group members. Sync info
        not available in HA Only mode.
 
 
        Enter the password: ********
 
 
              HA auto recovery:  enabled
              HA recovery mode:  activeEnhanced
   Maximum auto recovery retry:  500
   Auto recovery poll interval:  60 seconds
                    HA logging:  disabled
            Only Show HA Slots:  yes
 
 
         HA Group Label:  myHAgroup
        HA Group Number:  1154438865287
       HA Group Slot ID:  5
       Synchronization: enabled
          Group Members:  154438865287, 1238700701509
             Needs sync:  no
        Standby Members:  <none>
 
 
Slot #    Member S/N                      Member Label    Status
======    ==========                      ============    ======
------  154438865287                              par0     alive
------  1238700701509                      ------------      down";

    fn sample_listing() -> Listing {
        Listing {
            prompted: vec!["myHAgroup".to_string()],
            global: GlobalBlock {
                auto_recovery: true,
                mode: "activeEnhanced".to_string(),
                retry: 500,
                interval_s: 60,
                logging: false,
                ha_only: true,
            },
            groups: vec![GroupBlock {
                label: "myHAgroup".to_string(),
                number: "1154438865287".to_string(),
                slot_id: 5,
                sync_enabled: true,
                members: vec!["154438865287".to_string(), "1238700701509".to_string()],
                needs_sync: "no".to_string(),
                standby: Vec::new(),
                rows: vec![
                    MemberRow {
                        slot: None,
                        serial: "154438865287".to_string(),
                        label: Some("par0".to_string()),
                    },
                    MemberRow {
                        slot: None,
                        serial: "1238700701509".to_string(),
                        label: None,
                    },
                ],
            }],
        }
    }

    #[test]
    fn layout_is_the_published_sample_character_by_character() {
        let want: Vec<String> = SAMPLE_3_1
            .lines()
            .map(|l| {
                if l == " " {
                    String::new()
                } else {
                    l.to_string()
                }
            })
            .collect();
        assert_eq!(format(&sample_listing()), want);
    }

    #[test]
    fn newer_sample_group_block_and_table_are_the_tail_of_the_listing() {
        // §3.2 prints the group block and table alone; they are the last 14 lines of ours.
        let sample_3_2 = "         HA Group Label:  myHAgroup
        HA Group Number:  1154438865287
       HA Group Slot ID:  5
       Synchronization: enabled
          Group Members:  154438865287, 1238700701509
             Needs sync:  no
        Standby Members:  <none>


Slot #    Member S/N                      Member Label    Status
======    ==========                      ============    ======
------  154438865287                              par0     alive
------  1238700701509                      ------------      down";
        let lines = format(&sample_listing());
        let tail: Vec<&str> = lines[lines.len() - 13..]
            .iter()
            .map(String::as_str)
            .collect();
        assert_eq!(tail, sample_3_2.lines().collect::<Vec<_>>());
    }

    #[test]
    fn slots_standby_and_disabled_sync_without_prompt() {
        let mut listing = sample_listing();
        listing.prompted.clear();
        listing.global.ha_only = false;
        let group = &mut listing.groups[0];
        group.sync_enabled = false;
        group.needs_sync = "yes".to_string();
        group.standby = vec!["1238700701509".to_string()];
        group.rows[0].slot = Some(0);
        group.rows[1].slot = Some(1);
        group.rows[1].label = Some("par1".to_string());
        let lines = format(&listing);
        assert_eq!(lines[0], "");
        assert_eq!(lines[1], "              HA auto recovery:  enabled");
        assert_eq!(lines[6], "            Only Show HA Slots:  no");
        assert_eq!(lines[12], "       Synchronization: disabled");
        assert_eq!(lines[14], "             Needs sync:  yes");
        assert_eq!(lines[15], "        Standby Members:  1238700701509");
        assert_eq!(
            lines[20],
            "     0  154438865287                              par0     alive"
        );
        assert_eq!(
            lines[21],
            "     1  1238700701509                              par1     alive"
        );
        assert_eq!(lines.len(), 22);
    }
}
