//! `hagroup listgroups` in the layout of §3.1 of the spec (global block, per-group block,
//! member table). Status and sync data come from LunaCM's own look at the members (a probe
//! through the `Member` port), not from the application's engine state.

use std::collections::BTreeSet;

use crate::ckr::Ckr;
use crate::config::RetryLimit;
use crate::engine::HaEngine;
use crate::ports::{Millis, ObjectId, ObjectQuery, Secret};

/// What LunaCM saw of one physical slot.
struct SlotView {
    reachable: bool,
    label: String,
    /// Token object ids, when the credential allowed reading them.
    ids: Option<BTreeSet<ObjectId>>,
}

/// Renders the listing.
pub fn render(engine: &mut HaEngine, _now: Millis, credential: Option<&Secret>) -> Vec<String> {
    let views: Vec<SlotView> = (0..engine.slots.len())
        .map(|slot| probe(engine, slot, credential))
        .collect();
    let cfg = engine.config.clone();
    let log = engine.log.settings().clone();
    let mut out = vec![
        String::new(),
        format!(
            "              HA auto recovery:  {}",
            if cfg.retry == RetryLimit::Disabled {
                "disabled"
            } else {
                "enabled"
            }
        ),
        format!("              HA recovery mode:  {}", cfg.mode.as_str()),
        format!("   Maximum auto recovery retry:  {}", cfg.retry.as_count()),
        format!(
            "   Auto recovery poll interval:  {} seconds",
            cfg.interval_s
        ),
        format!(
            "                    HA logging:  {}",
            if log.enabled { "enabled" } else { "disabled" }
        ),
        format!(
            "            Only Show HA Slots:  {}",
            if cfg.ha_only { "yes" } else { "no" }
        ),
        String::new(),
    ];
    // D14: present physical slots are numbered from 0; virtual slots follow them.
    let present: Vec<usize> = (0..views.len()).filter(|&i| views[i].reachable).collect();
    for (gi, group) in cfg.groups.iter().enumerate() {
        let slot_id = if cfg.ha_only { gi } else { present.len() + gi };
        let member_views: Vec<Option<&SlotView>> = group
            .members
            .iter()
            .map(|serial| engine.slot_index(serial).map(|i| &views[i]))
            .collect();
        let sync_sets: Vec<&BTreeSet<ObjectId>> = member_views
            .iter()
            .filter_map(|v| v.and_then(|v| v.ids.as_ref()))
            .collect();
        let needs_sync = if cfg.ha_only || credential.is_none() {
            "n/a".to_string()
        } else if sync_sets.windows(2).any(|w| w[0] != w[1]) {
            "yes".to_string()
        } else {
            "no".to_string()
        };
        let standby = if group.standby.is_empty() {
            "<none>".to_string()
        } else {
            group.standby.iter().cloned().collect::<Vec<_>>().join(", ")
        };
        out.push(String::new());
        out.push(format!("         HA Group Label:  {}", group.label));
        out.push(format!("        HA Group Number:  {}", group.serial()));
        out.push(format!("       HA Group Slot ID:  {slot_id}"));
        out.push("       Synchronization: disabled".to_string());
        out.push(format!(
            "          Group Members:  {}",
            group.members.join(", ")
        ));
        out.push(format!("             Needs sync:  {needs_sync}"));
        out.push(format!("        Standby Members:  {standby}"));
        out.push(String::new());
        out.push(String::new());
        out.push("Slot #    Member S/N                      Member Label    Status".to_string());
        out.push("======    ==========                      ============    ======".to_string());
        for (serial, view) in group.members.iter().zip(&member_views) {
            let alive = view.is_some_and(|v| v.reachable);
            let slot = match engine.slot_index(serial) {
                Some(i) if alive && !cfg.ha_only => present
                    .iter()
                    .position(|&p| p == i)
                    .map_or_else(|| "------".to_string(), |n| n.to_string()),
                _ => "------".to_string(),
            };
            let label = match view {
                Some(v) if alive => v.label.clone(),
                _ => "------------".to_string(),
            };
            out.push(format!(
                "{slot:>6}  {serial:<12}{label:>34}{:>10}",
                if alive { "alive" } else { "down" }
            ));
        }
    }
    if cfg.groups.is_empty() {
        out.push("No HA groups are configured.".to_string());
    }
    out
}

/// LunaCM's own look at one slot: reachable, label, and (with the credential) the ids of its
/// token objects. Sessions it opens are closed again.
fn probe(engine: &mut HaEngine, slot: usize, credential: Option<&Secret>) -> SlotView {
    let member = &mut engine.slots[slot].member;
    let info = match member.token_info() {
        Ok(info) => info,
        Err(_) => {
            return SlotView {
                reachable: false,
                label: String::new(),
                ids: None,
            };
        }
    };
    let ids = credential.and_then(|pin| {
        let s = member.open_session().ok()?;
        let ids = (|| -> Result<BTreeSet<ObjectId>, Ckr> {
            match member.login(s, pin) {
                Ok(()) | Err(Ckr::CKR_USER_ALREADY_LOGGED_IN) => {}
                Err(rv) => return Err(rv),
            }
            let query = ObjectQuery {
                token: Some(true),
                ..ObjectQuery::default()
            };
            let mut ids = BTreeSet::new();
            for h in member.find_objects(s, &query)? {
                ids.insert(member.object_info(s, h)?.id);
            }
            Ok(ids)
        })()
        .ok();
        let _ = member.close_session(s);
        ids
    });
    SlotView {
        reachable: true,
        label: info.label,
        ids,
    }
}
