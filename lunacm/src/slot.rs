//! `slot list` / `slot set` (D14, B34, B57) over LunaCM's slot numbering, which
//! [`SlotView`] computes for every LunaCM command: the physical slots that answer a probe,
//! numbered from 0 in discovery order, then one HA virtual slot per configured group. LunaCM
//! always shows the physical slots, `HAOnly` or not (B57: HA-only hides them from applications
//! only), so in HA-only mode LunaCM's number of a virtual slot differs from the application's
//! (see [`ha_engine::slots`]).
//!
//! Layout (hasim's, in LunaCM's `Key ->  value` style; the vendor's full `slot list` is not in
//! the spec): one block per slot, a blank line between blocks, then the `Current Slot Id:` line
//! of §3.5.
//!
//! ```text
//!
//!         Slot Id ->              0
//!         Label ->                par0
//!         Serial Number ->        1234840370164
//!         Slot Description ->     Luna User Slot
//!
//!         Slot Id ->              2
//!         Label ->                haGroup1
//!         Serial Number ->        11234840370164
//!         Slot Description ->     HA Virtual Card Slot
//!
//!         Current Slot Id:    0     (Luna User Slot 7.7.0 (PW) Signing With Cloning Mode)
//! ```

use ha_engine::ports::AuthKind;
use ha_engine::slots::{PHYSICAL_SLOT_DESCRIPTION, VIRTUAL_SLOT_DESCRIPTION};

use crate::console::{LunaCm, SlotRef};
use crate::error::LunaCmError;
use crate::hagroup::slots::{SlotView, numbered_range};

/// One slot as LunaCM lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LunaSlot {
    /// LunaCM's slot number now.
    pub id: u64,
    /// What the slot is.
    pub slot: SlotRef,
    /// Token label (partition label, or group label).
    pub label: String,
    /// Token serial (partition serial, or group serial).
    pub serial: String,
    /// Slot description.
    pub description: &'static str,
}

/// LunaCM's slot list now: the physical slots that answer, then the virtual slots, numbered
/// by [`SlotView`].
pub fn lunacm_slots(cm: &mut LunaCm) -> Vec<LunaSlot> {
    let view = SlotView::probe(cm);
    let id = |number: usize| u64::try_from(number).unwrap_or(u64::MAX);
    let mut out: Vec<LunaSlot> = view
        .present()
        .map(|(number, slot, info)| {
            let serial = cm.members[slot].serial().to_string();
            LunaSlot {
                id: id(number),
                slot: SlotRef::Partition(serial.clone()),
                label: info.label.clone(),
                serial,
                description: PHYSICAL_SLOT_DESCRIPTION,
            }
        })
        .collect();
    for (g, group) in cm.config.groups.iter().enumerate() {
        out.push(LunaSlot {
            id: id(view.virtual_number(g)),
            slot: SlotRef::Group(group.label.clone()),
            label: group.label.clone(),
            serial: group.serial(),
            description: VIRTUAL_SLOT_DESCRIPTION,
        });
    }
    out
}

/// The current slot: the one `slot set` chose, or LunaCM's slot 0.
pub(crate) fn current(cm: &mut LunaCm, command: &'static str) -> Result<SlotRef, LunaCmError> {
    if let Some(current) = cm.current_slot() {
        return Ok(current.clone());
    }
    lunacm_slots(cm)
        .into_iter()
        .next()
        .map(|s| s.slot)
        .ok_or(LunaCmError::NoSlots { command })
}

const KEY_WIDTH: usize = 24;

fn field(key: &str, value: impl std::fmt::Display) -> String {
    format!("        {key:<KEY_WIDTH$}{value}")
}

/// `slot list`.
pub(crate) fn list(cm: &mut LunaCm) -> Vec<String> {
    let slots = lunacm_slots(cm);
    let mut out = Vec::new();
    for s in &slots {
        out.push(String::new());
        out.push(field("Slot Id ->", s.id));
        out.push(field("Label ->", &s.label));
        out.push(field("Serial Number ->", &s.serial));
        out.push(field("Slot Description ->", s.description));
    }
    if slots.is_empty() {
        out.push(String::new());
        out.push("        No slots are present.".to_string());
    }
    let current = cm
        .current_slot()
        .cloned()
        .or_else(|| slots.first().map(|s| s.slot.clone()));
    if let Some(current) = current {
        out.push(String::new());
        match slots.iter().find(|s| s.slot == current) {
            Some(s) => out.push(current_line(cm, s)),
            None => out.push(format!(
                "        Current Slot Id:    none  ({} is not listed now)",
                describe(&current)
            )),
        }
    }
    out
}

/// `slot set -slot N`.
pub(crate) fn set(cm: &mut LunaCm, n: i64) -> Result<Vec<String>, LunaCmError> {
    let slots = lunacm_slots(cm);
    let chosen = u64::try_from(n)
        .ok()
        .and_then(|id| slots.iter().find(|s| s.id == id))
        .ok_or_else(|| LunaCmError::NoSuchSlot {
            given: n,
            listed: numbered_range(slots.len(), "listed"),
        })?;
    cm.current = Some(chosen.slot.clone());
    Ok(vec![String::new(), current_line(cm, chosen)])
}

fn describe(slot: &SlotRef) -> String {
    match slot {
        SlotRef::Partition(serial) => format!("partition {serial}"),
        SlotRef::Group(label) => format!("HA group {label}"),
    }
}

/// `        Current Slot Id:    1     (Luna User Slot 7.7.2 (PW) Signing With Cloning Mode)`
/// (§3.5); a virtual slot reads `(HA Virtual Card Slot)`.
fn current_line(cm: &mut LunaCm, s: &LunaSlot) -> String {
    let what = match &s.slot {
        SlotRef::Partition(serial) => {
            let properties = cm
                .slot_index(serial)
                .and_then(|i| cm.member(i).properties().ok());
            match properties {
                Some(p) => {
                    let (major, minor, patch) = p.firmware;
                    let auth = match p.auth {
                        AuthKind::Password => "PW",
                        AuthKind::Ped => "PED",
                    };
                    format!(
                        "{PHYSICAL_SLOT_DESCRIPTION} {major}.{minor}.{patch} ({auth}) Signing With Cloning Mode"
                    )
                }
                None => PHYSICAL_SLOT_DESCRIPTION.to_string(),
            }
        }
        SlotRef::Group(_) => VIRTUAL_SLOT_DESCRIPTION.to_string(),
    };
    format!("        Current Slot Id:    {:<6}({what})", s.id)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test
mod tests {
    use crate::test_support::{fixture, lines};

    #[test]
    fn slot_list_shows_physical_then_virtual_and_the_current_slot() {
        let mut f = fixture(&["11", "22"]);
        lines(&mut f, "hagroup creategroup -label g -serialnumber 11");
        assert_eq!(
            lines(&mut f, "slot list"),
            [
                "",
                "        Slot Id ->              0",
                "        Label ->                label-11",
                "        Serial Number ->        11",
                "        Slot Description ->     Luna User Slot",
                "",
                "        Slot Id ->              1",
                "        Label ->                label-22",
                "        Serial Number ->        22",
                "        Slot Description ->     Luna User Slot",
                "",
                "        Slot Id ->              2",
                "        Label ->                g",
                "        Serial Number ->        111",
                "        Slot Description ->     HA Virtual Card Slot",
                "",
                "        Current Slot Id:    0     (Luna User Slot)",
                "",
                "Command Result : No Error",
            ]
        );
    }

    #[test]
    fn an_unreachable_partition_is_not_listed_and_later_slots_move_down_d14() {
        let mut f = fixture(&["11", "22", "33"]);
        lines(&mut f, "hagroup creategroup -label g -serialnumber 22");
        assert_eq!(
            lines(&mut f, "slot set -slot 3"),
            [
                "",
                "        Current Slot Id:    3     (HA Virtual Card Slot)",
                "",
                "Command Result : No Error",
            ]
        );
        f.controls[1].set_reachable(false);
        let out = lines(&mut f, "slot list");
        let ids: Vec<&String> = out.iter().filter(|l| l.contains("Slot Id ->")).collect();
        assert_eq!(
            ids,
            [
                "        Slot Id ->              0",
                "        Slot Id ->              1",
                "        Slot Id ->              2",
            ]
        );
        assert_eq!(out[8], "        Serial Number ->        33");
        assert_eq!(
            out[out.len() - 3],
            "        Current Slot Id:    2     (HA Virtual Card Slot)"
        );
    }

    #[test]
    fn slot_set_out_of_range_names_the_listed_slots() {
        let mut f = fixture(&["11", "22"]);
        assert_eq!(
            lines(&mut f, "slot set -slot 5"),
            [
                "Error: slot set: -slot 5 is not a slot LunaCM lists (slots 0..1 are listed; D14)",
                "",
                "Command Result : Invalid Argument",
            ]
        );
        assert_eq!(f.cm.current_slot(), None);
    }
}
