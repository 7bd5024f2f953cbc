//! The application using a member's physical slot directly, beside the virtual slot (B21):
//! nothing it does there is replicated, so the members diverge until `hagroup synchronize`.

use crate::ckr::Ckr;
use crate::engine::HaEngine;
use crate::ports::{KeyGenRequest, KeyKind, MemberResult, ObjectId, Secret};

impl HaEngine {
    /// Generates a token key on the physical slot of `serial`: open a session, log in (already
    /// logged in is fine: login is per token and application), generate, close.
    pub fn direct_generate_key(
        &mut self,
        serial: &str,
        pin: &Secret,
        kind: KeyKind,
        label: &str,
    ) -> MemberResult<()> {
        let slot = self.slot_index(serial).ok_or(Ckr::CKR_SLOT_ID_INVALID)?;
        self.next_object_id += 1;
        let id = ObjectId(format!("direct-{:08}", self.next_object_id).into_bytes());
        let request = KeyGenRequest {
            kind,
            id,
            label: label.to_string(),
            token: true,
        };
        crate::member_session::with_logged_in_session(
            self.slots[slot].member.as_mut(),
            pin,
            |member, s| member.generate_key(s, &request).map(|_| ()),
        )
    }
}
