//! LunaCM's slot numbering (D14), the one place it is computed: every physical slot is probed
//! with `C_GetTokenInfo`; the ones that answer are present and numbered from 0 in discovery
//! order, so a lost member's slot disappears and later slots move down (B34); the HA virtual
//! slots follow them, one per configured group in configuration order. LunaCM always shows the
//! physical slots, `HAOnly` or not (B57 hides them from applications only), so this is not the
//! application's numbering ([`ha_engine::slots`]).
//!
//! Everything LunaCM numbers uses a [`SlotView`]: `slot list` and `slot set`
//! ([`crate::slot`]), `-slot N` of `hagroup creategroup` / `addmember`, the `Slot #`
//! column and `HA Group Slot ID` of `listgroups`, and the slot numbers of the synchronize
//! warning (B14).

use ha_engine::ports::TokenInfo;

use crate::console::LunaCm;

/// What one probe of every physical slot found.
#[derive(Debug, Clone, Default)]
pub struct SlotView {
    infos: Vec<Option<TokenInfo>>,
}

impl SlotView {
    /// Probes every physical slot through LunaCM's own connections.
    pub fn probe(cm: &mut LunaCm) -> Self {
        SlotView {
            infos: cm
                .members
                .iter_mut()
                .map(|member| member.token_info().ok())
                .collect(),
        }
    }

    /// A view from already known answers, in slot order (`None` = did not answer).
    #[cfg(test)]
    fn from_infos(infos: Vec<Option<TokenInfo>>) -> Self {
        SlotView { infos }
    }

    /// The token information of physical slot `slot`, when it answered.
    pub fn info(&self, slot: usize) -> Option<&TokenInfo> {
        self.infos.get(slot).and_then(Option::as_ref)
    }

    /// True when physical slot `slot` answered.
    pub fn is_present(&self, slot: usize) -> bool {
        self.info(slot).is_some()
    }

    /// How many slots are present.
    pub fn present_count(&self) -> usize {
        self.infos.iter().filter(|i| i.is_some()).count()
    }

    /// The present physical slots in LunaCM's order: (LunaCM number, physical slot, token
    /// information).
    pub fn present(&self) -> impl Iterator<Item = (usize, usize, &TokenInfo)> + '_ {
        self.infos
            .iter()
            .enumerate()
            .filter_map(|(slot, info)| info.as_ref().map(|info| (slot, info)))
            .enumerate()
            .map(|(number, (slot, info))| (number, slot, info))
    }

    /// LunaCM's number of the virtual slot of the group at `group` (its configuration index):
    /// the virtual slots follow the present physical slots.
    pub fn virtual_number(&self, group: usize) -> usize {
        self.present_count() + group
    }

    /// The LunaCM slot number of physical slot `slot` (its rank among the present ones).
    pub fn number_of(&self, slot: usize) -> Option<usize> {
        if !self.is_present(slot) {
            return None;
        }
        Some(self.infos[..slot].iter().filter(|i| i.is_some()).count())
    }

    /// The physical slot that LunaCM numbers `number`.
    pub fn slot_at(&self, number: usize) -> Option<usize> {
        self.present()
            .find(|(n, _, _)| *n == number)
            .map(|(_, slot, _)| slot)
    }
}

/// The slot numbers 0..`count` for a message: `slots 0..N are <verb>`, `only slot 0 is
/// <verb>`, or `no slot is <verb>`.
pub fn numbered_range(count: usize, verb: &str) -> String {
    match count {
        0 => format!("no slot is {verb}"),
        1 => format!("only slot 0 is {verb}"),
        n => format!("slots 0..{} are {verb}", n - 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(serial: &str) -> Option<TokenInfo> {
        Some(TokenInfo {
            serial: serial.to_string(),
            label: String::new(),
            total_storage: 0,
            used_storage: 0,
            free_storage: 0,
            object_count: 0,
            overhead: 0,
            protected_auth_path: false,
        })
    }

    #[test]
    fn a_missing_slot_moves_later_ones_down() {
        let view = SlotView::from_infos(vec![info("a"), None, info("c")]);
        assert_eq!(view.present_count(), 2);
        assert_eq!(view.number_of(0), Some(0));
        assert_eq!(view.number_of(1), None);
        assert_eq!(view.number_of(2), Some(1));
        assert_eq!(view.slot_at(1), Some(2));
        assert_eq!(view.slot_at(2), None);
        assert_eq!(view.virtual_number(0), 2);
        let present: Vec<(usize, usize)> = view.present().map(|(n, s, _)| (n, s)).collect();
        assert_eq!(present, [(0, 0), (1, 2)]);
    }

    #[test]
    fn ranges_read_right_for_none_one_and_several() {
        assert_eq!(numbered_range(0, "visible"), "no slot is visible");
        assert_eq!(numbered_range(1, "visible"), "only slot 0 is visible");
        assert_eq!(numbered_range(3, "listed"), "slots 0..2 are listed");
    }
}
