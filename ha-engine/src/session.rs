//! Virtual sessions (B16, B17): `C_OpenSession`, `C_CloseSession`, `C_Login`, `C_Logout` on the
//! virtual slot, each fanned out to every alive member, and the per-member sessions behind them.

use crate::ckr::Ckr;
use crate::engine::HaEngine;
use crate::error::EngineError;
use crate::log::HaLogMessage;
use crate::ports::{MemberResult, Millis, ObjectClass, ObjectId, Secret, SessionHandle};
use crate::state::{VSession, VSessionHandle};

impl HaEngine {
    /// `C_OpenSession` on the virtual slot of group `group` (in configuration order): opens a
    /// session on every alive member, standby included (B17).
    pub fn open_session(
        &mut self,
        now: Millis,
        group: usize,
    ) -> Result<VSessionHandle, EngineError> {
        const F: &str = "C_OpenSession";
        self.drive_pending(now);
        let rt = self.rt_mut(F)?;
        let Some(gr) = rt.groups.get(group) else {
            return Err(EngineError::new(Ckr::CKR_SLOT_ID_INVALID, F));
        };
        let generation = gr.loss_generation;
        let vs = rt.next_handle();
        rt.sessions.insert(vs, VSession { group, generation });
        for m in self.group(group).alive() {
            if let Err(rv) = self.ensure_session(group, m, vs) {
                self.handle_member_error(group, m, now, rv);
            }
        }
        if self.group(group).alive().is_empty() {
            self.note_if_all_offline(group, now);
            self.rt_mut(F)?.sessions.remove(&vs);
            return Err(EngineError::new(Ckr::CKR_DEVICE_ERROR, F));
        }
        Ok(vs)
    }

    /// `C_CloseSession`: closes the member sessions; the session's objects go with it.
    pub fn close_session(&mut self, _now: Millis, vs: VSessionHandle) -> Result<(), EngineError> {
        const F: &str = "C_CloseSession";
        let g = self.session_group(vs, F)?;
        let mut closing = Vec::new();
        for member in &mut self.group_mut(g).members {
            if let Some(s) = member.sessions.remove(&vs) {
                closing.push((member.slot, s));
            }
        }
        for (slot, s) in closing {
            // The member may be unreachable; the virtual session is closed either way.
            self.close_member_session(slot, s);
        }
        let gr = self.group_mut(g);
        gr.objects.retain(|_, o| o.owner != Some(vs));
        let rt = self.rt_mut(F)?;
        rt.sessions.remove(&vs);
        rt.multipart.remove(&vs);
        // One key buffer for every lookup, instead of a copy of each object's id.
        let mut probe = (ObjectId(Vec::new()), ObjectClass::Data);
        rt.objects
            .retain(|_, o| o.group != g || rt_object_alive(&rt.groups[g], o, &mut probe));
        if !rt.sessions.values().any(|s| s.group == g) {
            // Closing the last session of a token logs the application out (PKCS#11).
            rt.groups[g].logged_in = false;
            rt.groups[g].logouts += 1;
            if !rt.groups.iter().any(|gr| gr.logged_in) {
                rt.credential = None;
            }
            self.end_member_logins(g);
        }
        Ok(())
    }

    /// The application's login on group `g` ended without a `C_Logout` (its last session
    /// closed): the engine's own sessions on the members would keep the partitions' login for
    /// this application alive (login is per application and token), so they are closed too; a
    /// session opened later without `C_Login` then gets what it gets after a plain `C_Logout`
    /// and never uses a private object (issue 9, bug 15). They are opened again when needed.
    fn end_member_logins(&mut self, g: usize) {
        let mut closing = Vec::new();
        for member in &mut self.group_mut(g).members {
            if let Some(s) = member.mgmt.take() {
                closing.push((member.slot, s));
                // Closing a partition's last session reissues its handles: look them up again.
                member.handles.clear();
            }
        }
        for (slot, s) in closing {
            // The member may be unreachable; the session is gone either way.
            self.close_member_session(slot, s);
        }
        for m in 0..self.group(g).members.len() {
            let slot = self.member_slot(g, m);
            self.close_unclosed(slot);
        }
    }

    /// Closes a member session the engine gives up (teardown, D40). A member that refuses the
    /// close without a drop code (busy, D35) still holds the session, which would keep the
    /// application's login there: it is remembered and closed again later (D44).
    /// Returns the member's refusal when it kept the session.
    pub(crate) fn close_member_session(&mut self, slot: usize, s: SessionHandle) -> Option<Ckr> {
        match self.slots[slot].member.close_session(s) {
            Err(rv) if still_open_after(rv) => {
                self.slots[slot].unclosed.push(s);
                Some(rv)
            }
            _ => None,
        }
    }

    /// Tries again to close the sessions member `slot` refused to close (D44); returns the
    /// last refusal when some are still open.
    pub(crate) fn close_unclosed(&mut self, slot: usize) -> Option<Ckr> {
        let pending = std::mem::take(&mut self.slots[slot].unclosed);
        let mut refused = None;
        for s in pending {
            refused = self.close_member_session(slot, s).or(refused);
        }
        refused
    }

    /// Before the engine opens a session on member `slot`: sessions of a finished process that
    /// `C_Finalize` could not close there (the member was counted down and refused without a
    /// drop code, busy) would carry that process's login to the new sessions (login is per
    /// application and token), so every session there is closed first; while the member still
    /// refuses, it is not used and its refusal is the call's answer (D3, D82, issue 9, I7).
    /// A drop code ends them with the connection (D41).
    pub(crate) fn settle_reset(&mut self, slot: usize) -> MemberResult<()> {
        if !self.slots[slot].reset_pending {
            return Ok(());
        }
        match self.slots[slot].member.close_all_sessions() {
            Err(rv) if !rv.drops_member() => return Err(rv),
            _ => {}
        }
        self.slots[slot].reset_pending = false;
        self.slots[slot].unclosed.clear();
        Ok(())
    }

    /// Before member `m` of group `g` is used while the application holds no login there: a
    /// session it refused to close (D44) would still carry the application's last login on
    /// the partition (per application and token), so it is closed first; while it cannot be,
    /// the member is not used and its refusal is the call's answer (D3), so no session that
    /// never logged in uses a private object (D54, issue 9, I7).
    /// A member that refused the application's `C_Logout` is logged out again the same way.
    fn settle_unclosed(&mut self, g: usize, m: usize) -> MemberResult<()> {
        let slot = self.member_slot(g, m);
        if self.group(g).logged_in {
            return Ok(());
        }
        if self.slots[slot].logout_pending {
            let member = self.member(g, m);
            match member.sessions.values().next().copied().or(member.mgmt) {
                // No session of the engine's left there: the login went with the last one.
                None => self.slots[slot].logout_pending = false,
                // Teardown (D40): a drop code here drops nothing, the login went with the
                // connection's sessions (D41), and the next call finds the member gone (D19).
                Some(s) => match self.slots[slot].member.logout(s) {
                    Err(rv) if still_open_after(rv) && rv != Ckr::CKR_USER_NOT_LOGGED_IN => {
                        return Err(rv);
                    }
                    _ => {
                        self.slots[slot].logout_pending = false;
                        // Logging out reissues member handles (SoftHSM semantics).
                        self.member_mut(g, m).handles.clear();
                    }
                },
            }
        }
        if self.slots[slot].unclosed.is_empty() {
            return Ok(());
        }
        match self.close_unclosed(slot) {
            Some(rv) => Err(rv),
            None => Ok(()),
        }
    }

    /// `C_Login` on the virtual slot: logs in on every alive member (B17); the credential is
    /// held for recovery (B43). The first login of a group logs its device type (B10).
    pub fn login(
        &mut self,
        now: Millis,
        vs: VSessionHandle,
        pin: &Secret,
    ) -> Result<(), EngineError> {
        const F: &str = "C_Login";
        self.drive_pending(now);
        let g = self.session_group(vs, F)?;
        if self.group(g).logged_in {
            return Err(EngineError::new(Ckr::CKR_USER_ALREADY_LOGGED_IN, F));
        }
        let mut logged = false;
        let mut protected_path = false;
        let mut refused = Vec::new();
        let mut logged_on = Vec::new();
        for m in self.group(g).alive() {
            match self.login_member(g, m, vs, pin) {
                Ok(pp) => {
                    logged = true;
                    logged_on.push(m);
                    protected_path |= pp;
                }
                Err(rv) if rv.drops_member() => self.drop_member(g, m, now, rv),
                // A partition that is not activated cannot take any credential: deactivation,
                // not a credential mismatch (B51, D17 vs B49, D10); recovery finds it again.
                Err(rv) if self.check_deactivated(g, m, now, rv) => {}
                Err(rv) => refused.push((m, rv)),
            }
        }
        // D43: a member that failed the login for another reason than the credential (a busy
        // member's CKR_FUNCTION_FAILED, D35) fails the call: the code is the application's (D3),
        // the logins made on the others are undone, the member stays in the group, nothing is
        // logged; the application retries.
        if let Some(&(_, rv)) = refused.iter().find(|(_, rv)| !rv.refuses_credential()) {
            self.undo_login(g, vs, &logged_on);
            return Err(EngineError::new(rv, F));
        }
        if !logged {
            if let Some((_, rv)) = refused.first() {
                // Every member refused: the application's credential is wrong; nothing to log.
                return Err(EngineError::new(*rv, F));
            }
            self.note_if_all_offline(g, now);
            return Err(EngineError::new(Ckr::CKR_DEVICE_ERROR, F));
        }
        for (m, code) in refused {
            // B49, D10: this member's credential differs from the group's.
            let serial = self.member_serial(g, m);
            self.mark_down(g, m, now, crate::state::DownReason::LoginFailed);
            if let crate::state::Liveness::Down(down) = &mut self.member_mut(g, m).liveness {
                down.next_attempt = None;
            }
            self.log_group(g, now, HaLogMessage::LoginFailed { serial, code });
        }
        let rt = self.rt_mut(F)?;
        rt.credential = Some(pin.clone());
        rt.groups[g].logged_in = true;
        if !self.group(g).device_type_logged {
            self.group_mut(g).device_type_logged = true;
            let message = if protected_path {
                HaLogMessage::ConfiguredAsPed
            } else {
                HaLogMessage::ConfiguredAsPassword
            };
            self.log_group(g, now, message);
        }
        // Members reconnected while the application held no login are compared with the
        // group's table now (decision: reconcile at the next login).
        self.reconcile_at_login(g, now);
        Ok(())
    }

    /// Ends the login a failed `C_Login` made on `members` (D43). Teardown: the answers are
    /// ignored (D40); a member gone meanwhile is found by the next call that needs it.
    fn undo_login(&mut self, g: usize, vs: VSessionHandle, members: &[usize]) {
        for &m in members {
            let Some(s) = self.member(g, m).sessions.get(&vs).copied() else {
                continue;
            };
            let slot = self.member_slot(g, m);
            if let Err(rv) = self.slots[slot].member.logout(s)
                && !rv.drops_member()
                && rv != Ckr::CKR_USER_NOT_LOGGED_IN
            {
                // Still logged in there (busy): logged out before its next use (D54).
                self.slots[slot].logout_pending = true;
            }
            // Logging out reissues member handles (SoftHSM semantics).
            self.member_mut(g, m).handles.clear();
        }
    }

    /// `C_Logout` on the virtual slot.
    pub fn logout(&mut self, now: Millis, vs: VSessionHandle) -> Result<(), EngineError> {
        const F: &str = "C_Logout";
        let g = self.session_group(vs, F)?;
        if !self.group(g).logged_in {
            return Err(EngineError::new(Ckr::CKR_USER_NOT_LOGGED_IN, F));
        }
        let members = if self.planted(crate::planted::PlantedBug::KeepLoginOnLogout) {
            Vec::new()
        } else {
            self.group(g).alive()
        };
        for m in members {
            // Login is per application and partition: a member brought back by recovery may hold
            // the engine's own logged-in session and none of this virtual session's; logging out
            // through it ends the application's login there too (else a session that never logs
            // in could use a private key on that member). Failing those, any session of the
            // application's there carries the login just as well: a thread whose own session
            // could not be opened on a busy member logs out through another thread's (D82).
            let member = self.member(g, m);
            let Some(s) = member
                .sessions
                .get(&vs)
                .copied()
                .or(member.mgmt)
                .or_else(|| member.sessions.values().next().copied())
            else {
                continue;
            };
            let slot = self.member_slot(g, m);
            match self.slots[slot].member.logout(s) {
                Ok(()) | Err(Ckr::CKR_USER_NOT_LOGGED_IN) => {}
                // Teardown (D40): a drop code drops nothing; the login went with the
                // connection's sessions (D41), and the next call that needs the member finds
                // it gone and logs it then (D19).
                Err(rv) if rv.drops_member() => {}
                Err(rv) if self.check_deactivated(g, m, now, rv) => {}
                // Refused without a drop code (busy): the member still holds the login; it is
                // logged out again before it serves a session that never logged in (D54).
                Err(_) => self.slots[slot].logout_pending = true,
            }
            // Logging out reissues member handles (SoftHSM semantics): look them up again.
            self.member_mut(g, m).handles.clear();
            self.close_unclosed(slot);
        }
        let rt = self.rt_mut(F)?;
        rt.groups[g].logged_in = false;
        rt.groups[g].logouts += 1;
        if !rt.groups.iter().any(|gr| gr.logged_in) {
            rt.credential = None;
        }
        Ok(())
    }

    /// The group (virtual slot, in configuration order) a virtual session was opened on.
    pub fn group_of_session(&self, vs: VSessionHandle) -> Option<usize> {
        self.runtime.as_ref()?.sessions.get(&vs).map(|s| s.group)
    }

    /// The group of a valid virtual session. A session opened before the group lost its
    /// authenticated state (every member lost under activeBasic, D11) is invalid.
    pub(crate) fn session_group(
        &self,
        vs: VSessionHandle,
        function: &'static str,
    ) -> Result<usize, EngineError> {
        let Some(rt) = self.runtime.as_ref() else {
            return Err(EngineError::new(
                Ckr::CKR_CRYPTOKI_NOT_INITIALIZED,
                function,
            ));
        };
        let Some(session) = rt.sessions.get(&vs) else {
            return Err(EngineError::new(Ckr::CKR_SESSION_HANDLE_INVALID, function));
        };
        let group = &rt.groups[session.group];
        if session.generation != group.loss_generation {
            return Err(EngineError::new(Ckr::CKR_SESSION_HANDLE_INVALID, function));
        }
        Ok(session.group)
    }

    /// The member session behind virtual session `vs` on member `m`, opened (and logged in,
    /// if the virtual session is) on first use after a reconnect.
    pub(crate) fn ensure_session(
        &mut self,
        g: usize,
        m: usize,
        vs: VSessionHandle,
    ) -> MemberResult<SessionHandle> {
        self.settle_reset(self.member_slot(g, m))?;
        self.settle_unclosed(g, m)?;
        if let Some(s) = self.member(g, m).sessions.get(&vs) {
            return Ok(*s);
        }
        let slot = self.member_slot(g, m);
        let s = self.slots[slot].member.open_session()?;
        if self.group(g).logged_in
            && let Err(rv) = self.login_with_held_credential(slot, s)
        {
            // A session that could not be logged in is not kept: the next use tries again
            // rather than calling as a session that is not logged in.
            self.close_member_session(slot, s);
            return Err(rv);
        }
        self.member_mut(g, m).sessions.insert(vs, s);
        Ok(s)
    }

    /// The engine's own session on member `m` (cloning, recovery), logged in when the
    /// application is.
    pub(crate) fn ensure_mgmt(&mut self, g: usize, m: usize) -> MemberResult<SessionHandle> {
        self.settle_reset(self.member_slot(g, m))?;
        self.settle_unclosed(g, m)?;
        if let Some(s) = self.member(g, m).mgmt {
            return Ok(s);
        }
        let slot = self.member_slot(g, m);
        let s = self.slots[slot].member.open_session()?;
        if self.group(g).logged_in
            && let Err(rv) = self.login_with_held_credential(slot, s)
        {
            self.close_member_session(slot, s);
            return Err(rv);
        }
        self.member_mut(g, m).mgmt = Some(s);
        Ok(s)
    }

    fn login_with_held_credential(&mut self, slot: usize, s: SessionHandle) -> MemberResult<()> {
        let Some(pin) = self.rt().and_then(|rt| rt.credential.clone()) else {
            return Ok(());
        };
        match self.slots[slot].member.login(s, &pin) {
            Ok(()) | Err(Ckr::CKR_USER_ALREADY_LOGGED_IN) => Ok(()),
            Err(rv) => Err(rv),
        }
    }

    /// Logs member `m` in through the member session of `vs`; returns whether the token uses a
    /// protected authentication path (PED).
    fn login_member(
        &mut self,
        g: usize,
        m: usize,
        vs: VSessionHandle,
        pin: &Secret,
    ) -> MemberResult<bool> {
        let s = self.ensure_session(g, m, vs)?;
        let slot = self.member_slot(g, m);
        self.close_unclosed(slot);
        match self.slots[slot].member.login(s, pin) {
            Ok(()) | Err(Ckr::CKR_USER_ALREADY_LOGGED_IN) => {
                self.slots[slot].logout_pending = false
            }
            Err(rv) => return Err(rv),
        }
        let info = self.slots[slot].member.token_info()?;
        Ok(info.protected_auth_path)
    }

    /// What to do with a member's error outside the dispatch loop: drop on D3 codes, take a
    /// deactivated member out (D17).
    pub(crate) fn handle_member_error(
        &mut self,
        g: usize,
        m: usize,
        now: Millis,
        rv: crate::ckr::Ckr,
    ) {
        if rv.drops_member() {
            self.drop_member(g, m, now, rv);
        } else if !self.check_deactivated(g, m, now, rv) {
            tracing::debug!(group = g, member = m, rv = %rv, "member call failed without a drop");
        }
    }
}

/// Whether a refused `C_CloseSession` leaves the session open on the member: not when the
/// session is already gone, nor on a drop code (the connection's sessions die with it, D41).
fn still_open_after(rv: Ckr) -> bool {
    !rv.drops_member() && rv != Ckr::CKR_SESSION_HANDLE_INVALID && rv != Ckr::CKR_SESSION_CLOSED
}

/// Whether the group's table still holds virtual object `o`; `probe` is scratch space for the
/// lookup key (reused, so a lookup allocates nothing once it is large enough).
fn rt_object_alive(
    group: &crate::state::GroupRuntime,
    o: &crate::state::VObject,
    probe: &mut (ObjectId, ObjectClass),
) -> bool {
    probe.0.0.clear();
    probe.0.0.extend_from_slice(&o.id.0);
    probe.1 = o.class;
    group.objects.contains_key(probe)
}
