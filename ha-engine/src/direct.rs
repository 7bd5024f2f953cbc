//! The application using a member's physical slot directly, beside the virtual slot (B21):
//! nothing it does there is replicated, so the members diverge until `hagroup synchronize`.

use crate::ckr::Ckr;
use crate::engine::HaEngine;
use crate::ports::{KeyGenRequest, KeyKind, MemberResult, ObjectId, Secret};

impl HaEngine {
    /// Generates a token key on the physical slot of `serial`: open a session, log in (already
    /// logged in is fine: login is per token and application), generate, close. A login this
    /// write made itself (the application held none on the partition) is ended before the
    /// session closes: the engine's own sessions there would otherwise carry it, and a virtual
    /// session that never logged in could use a private key on that member (D55, issue 9, I7).
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
        self.settle_reset(slot)?;
        let member = self.slots[slot].member.as_mut();
        let session = member.open_session()?;
        let (result, own_login) = match member.login(session, pin) {
            Ok(()) => (member.generate_key(session, &request).map(|_| ()), true),
            Err(Ckr::CKR_USER_ALREADY_LOGGED_IN) => {
                (member.generate_key(session, &request).map(|_| ()), false)
            }
            Err(rv) => (Err(rv), false),
        };
        // A login the application already held stays (it is the application's); one this
        // write made ends with it. A member that just went away has nothing left to close, and
        // the generation's result decides.
        if own_login {
            let _ = member.logout(session);
            // Logging out reissues the member's handles (SoftHSM semantics).
            self.forget_handles_on(slot);
        }
        let _ = self.slots[slot].member.close_session(session);
        result
    }
}
