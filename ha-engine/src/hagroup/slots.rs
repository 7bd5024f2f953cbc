//! LunaCM's own view of the physical slots (D14): every slot is probed with `C_GetTokenInfo`;
//! the ones that answer are present and numbered from 0 in discovery order, so a lost member's
//! slot disappears and later slots move down (B34). `-slot N`, the `Slot #` column of
//! `listgroups` and the slot numbers of the synchronize warning (B14) all use this numbering.

use crate::engine::HaEngine;
use crate::ports::TokenInfo;

/// What one probe of every physical slot found.
#[derive(Debug, Clone, Default)]
pub struct SlotView {
    infos: Vec<Option<TokenInfo>>,
}

impl SlotView {
    /// Probes every physical slot of the engine.
    pub fn probe(engine: &mut HaEngine) -> Self {
        SlotView {
            infos: engine
                .slots
                .iter_mut()
                .map(|slot| slot.member.token_info().ok())
                .collect(),
        }
    }

    /// A view from already known answers, in slot order (`None` = did not answer).
    pub fn from_infos(infos: Vec<Option<TokenInfo>>) -> Self {
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

    /// The LunaCM slot number of physical slot `slot` (its rank among the present ones).
    pub fn number_of(&self, slot: usize) -> Option<usize> {
        if !self.is_present(slot) {
            return None;
        }
        Some(self.infos[..slot].iter().filter(|i| i.is_some()).count())
    }

    /// The physical slot that LunaCM numbers `number`.
    pub fn slot_at(&self, number: usize) -> Option<usize> {
        self.infos
            .iter()
            .enumerate()
            .filter(|(_, i)| i.is_some())
            .nth(number)
            .map(|(slot, _)| slot)
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
    }
}
