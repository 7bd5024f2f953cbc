//! The application's slot list (`C_GetSlotList` as a PKCS#11 application sees it), D14:
//! physical slots are numbered from 0 in the client's discovery order and the HA virtual slots
//! follow them. The view follows the engine's liveness: a member the engine counts as down is
//! absent and every later slot, the virtual ones included, moves down by one (B34, B56). With
//! `HAOnly` only the virtual slots are listed, from 0, and they never move (B57, B58).
//!
//! Listing slots makes no member call: the serial and label of a physical slot are what the
//! client learned when it discovered the slot ([`crate::ports::Member::label`]), so listing
//! never disturbs failure detection (D19) or a fault armed on a member's calls.

use crate::engine::HaEngine;
use crate::state::{DownReason, Liveness};

/// `CK_SLOT_INFO.slotDescription` of a physical (member partition) slot.
pub const PHYSICAL_SLOT_DESCRIPTION: &str = "Luna User Slot";

/// `CK_SLOT_INFO.slotDescription` of an HA virtual slot (§3.4).
pub const VIRTUAL_SLOT_DESCRIPTION: &str = "HA Virtual Card Slot";

/// The label shown for a physical slot whose backend did not keep the token label.
pub const UNKNOWN_LABEL: &str = "-";

/// What a listed slot leads to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum SlotTarget {
    /// A physical slot: the index in the engine's discovery-order slot list.
    Physical(usize),
    /// An HA virtual slot: the group index the application API takes (`open_session(now, g)`),
    /// which is the group's position in the configuration (`VirtualToken<NN>`).
    Virtual(usize),
}

/// One slot of the application's slot list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlotEntry {
    /// The slot id the application uses now (`CK_SLOT_ID`).
    pub id: u64,
    /// [`PHYSICAL_SLOT_DESCRIPTION`] or [`VIRTUAL_SLOT_DESCRIPTION`].
    pub description: &'static str,
    /// Token label: the partition label, or the group label for a virtual slot.
    pub label: String,
    /// Token serial: the partition serial, or the group serial (B2, B4) for a virtual slot.
    pub serial: String,
    /// What the slot leads to.
    pub target: SlotTarget,
}

impl SlotEntry {
    /// One line for transcripts: `slot 0  Luna User Slot  par0  1234840370164`.
    pub fn render(&self) -> String {
        format!(
            "slot {}  {}  {}  {}",
            self.id, self.description, self.label, self.serial
        )
    }
}

impl HaEngine {
    /// The application's slot list now (D14, B34, B56–B59). Before `C_Initialize` it is the
    /// list the application would get from the configuration; after it, the virtual slots are
    /// the groups the runtime was built with and physical slots follow the engine's liveness.
    pub fn app_slot_list(&self) -> Vec<SlotEntry> {
        let mut out = Vec::new();
        if !self.config.ha_only {
            for (index, slot) in self.slots.iter().enumerate() {
                if self.counted_down(index) {
                    continue;
                }
                out.push(SlotEntry {
                    id: next_id(&out),
                    description: PHYSICAL_SLOT_DESCRIPTION,
                    label: slot.member.label().unwrap_or(UNKNOWN_LABEL).to_string(),
                    serial: slot.member.serial().to_string(),
                    target: SlotTarget::Physical(index),
                });
            }
        }
        for (g, label, serial) in self.app_groups() {
            out.push(SlotEntry {
                id: next_id(&out),
                description: VIRTUAL_SLOT_DESCRIPTION,
                label,
                serial,
                target: SlotTarget::Virtual(g),
            });
        }
        out
    }

    /// The slot the application reaches with `id` now, if any.
    pub fn app_slot(&self, id: u64) -> Option<SlotEntry> {
        self.app_slot_list().into_iter().find(|s| s.id == id)
    }

    /// True when the engine counts the member in physical slot `index` as down: dropped,
    /// unreachable, deactivated... A partition removed from its group (it still answers, it
    /// is just not a member any more) or added and not yet detected (the engine has not
    /// talked to it as a member yet, B54) is not down: its physical slot stays listed.
    pub(crate) fn counted_down(&self, index: usize) -> bool {
        let planted = self.planted(crate::planted::PlantedBug::RemovedMemberUnlisted);
        self.runtime.as_ref().is_some_and(|rt| {
            rt.groups.iter().flat_map(|g| g.members.iter()).any(|m| {
                m.slot == index
                    && (matches!(&m.liveness, Liveness::Down(d) if d.reason != DownReason::New)
                        || (planted && m.liveness == Liveness::Removed))
            })
        })
    }

    /// (group index for the application API, label, serial) of every virtual slot, in order.
    fn app_groups(&self) -> Vec<(usize, String, String)> {
        match &self.runtime {
            Some(rt) => rt
                .groups
                .iter()
                .enumerate()
                .map(|(g, gr)| (g, gr.label.clone(), self.group_serial(g)))
                .collect(),
            None => self
                .config
                .groups
                .iter()
                .enumerate()
                .map(|(g, gc)| (g, gc.label.clone(), gc.serial()))
                .collect(),
        }
    }
}

fn next_id(listed: &[SlotEntry]) -> u64 {
    u64::try_from(listed.len()).unwrap_or(u64::MAX)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;
    use crate::log::HaLogSettings;
    use crate::test_support::{engine_with, group_config};

    fn grouped(engine: &mut HaEngine, config: crate::config::ClientConfig) {
        engine
            .apply_config(config, HaLogSettings::default(), 0)
            .expect("apply");
    }

    #[test]
    fn physical_slots_first_then_virtual_d14() {
        let mut engine = engine_with(&["11", "22", "33"]);
        grouped(&mut engine, group_config("g", &["11", "22"]));
        let listed: Vec<String> = engine
            .app_slot_list()
            .iter()
            .map(SlotEntry::render)
            .collect();
        assert_eq!(
            listed,
            [
                "slot 0  Luna User Slot  label-11  11",
                "slot 1  Luna User Slot  label-22  22",
                "slot 2  Luna User Slot  label-33  33",
                "slot 3  HA Virtual Card Slot  g  111",
            ]
        );
        assert_eq!(
            engine.app_slot(3).map(|s| s.target),
            Some(SlotTarget::Virtual(0))
        );
        assert_eq!(engine.app_slot(4), None);
    }

    #[test]
    fn a_member_counted_down_disappears_and_later_slots_move_down_b34() {
        let mut engine = engine_with(&["11", "22", "33"]);
        grouped(&mut engine, group_config("g", &["11", "22"]));
        engine.initialize(0).expect("initialize");
        engine.drop_member(0, 1, 0, crate::ckr::Ckr::CKR_DEVICE_ERROR);
        let listed: Vec<String> = engine
            .app_slot_list()
            .iter()
            .map(SlotEntry::render)
            .collect();
        assert_eq!(
            listed,
            [
                "slot 0  Luna User Slot  label-11  11",
                "slot 1  Luna User Slot  label-33  33",
                "slot 2  HA Virtual Card Slot  g  111",
            ]
        );
    }

    #[test]
    fn ha_only_lists_the_virtual_slot_at_0_whatever_drops_b58() {
        let mut engine = engine_with(&["11", "22"]);
        let mut config = group_config("g", &["11", "22"]);
        config.ha_only = true;
        grouped(&mut engine, config);
        engine.initialize(0).expect("initialize");
        let before: Vec<String> = engine
            .app_slot_list()
            .iter()
            .map(SlotEntry::render)
            .collect();
        engine.drop_member(0, 0, 0, crate::ckr::Ckr::CKR_DEVICE_ERROR);
        let after: Vec<String> = engine
            .app_slot_list()
            .iter()
            .map(SlotEntry::render)
            .collect();
        assert_eq!(before, ["slot 0  HA Virtual Card Slot  g  111"]);
        assert_eq!(after, before);
    }
}
