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
        let member = self.slots[slot].member.as_mut();
        let session = member.open_session()?;
        let result = match member.login(session, pin) {
            Ok(()) | Err(Ckr::CKR_USER_ALREADY_LOGGED_IN) => {
                member.generate_key(session, &request).map(|_| ())
            }
            Err(rv) => Err(rv),
        };
        // Never logs out (the login is the application's); a member that just went away has
        // nothing left to close, and the generation's result decides.
        let _ = member.close_session(session);
        result
    }
}
