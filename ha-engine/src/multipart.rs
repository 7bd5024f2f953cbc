//! Multi-part (stateful) operations (B27, B30, D5): `C_SignInit` picks a member like a
//! single-part call and the operation stays there; `C_SignUpdate` / `C_SignFinal` go to that
//! member only. If it is lost mid-operation the application gets `CKR_DEVICE_ERROR` and must
//! start again; `C_SignInit` itself is re-dispatched transparently (nothing has happened yet).

use crate::ckr::Ckr;
use crate::engine::HaEngine;
use crate::error::EngineError;
use crate::ports::{MemberResult, Millis};
use crate::state::{VObjectHandle, VSessionHandle};

impl HaEngine {
    /// `C_SignInit` on the virtual slot.
    pub fn sign_init(
        &mut self,
        now: Millis,
        vs: VSessionHandle,
        key: VObjectHandle,
    ) -> Result<(), EngineError> {
        const F: &str = "C_SignInit";
        self.drive_pending(now);
        let g = self.session_group(vs, F)?;
        let target = self.virtual_object(key, g, F)?;
        if self.rt_for(F)?.multipart.contains_key(&vs) {
            return Err(EngineError::new(Ckr::CKR_OPERATION_ACTIVE, F));
        }
        // Members found not to hold the key (the README's "objects a member lacks": a session
        // object made before a member recovered, D7): the operation starts on another one
        // (D4, D5: nothing has happened yet).
        let mut lacking: Vec<usize> = Vec::new();
        let key = (target.id.clone(), target.class);
        loop {
            let Some(m) = crate::balance::choose_except(self.group(g), &lacking) else {
                if !lacking.is_empty() && !self.group(g).usable().is_empty() {
                    // Usable members remain, and none of them holds the key.
                    return Err(EngineError::new(Ckr::CKR_OBJECT_HANDLE_INVALID, F));
                }
                self.note_if_all_offline(g, now);
                return Err(EngineError::new(Ckr::CKR_DEVICE_ERROR, F));
            };
            self.group_mut(g).last_chosen = Some(m);
            let cached = self.member(g, m).handles.contains_key(&key);
            let mut result = self.sign_init_on(g, m, vs, &target);
            if cached && result == Err(Ckr::CKR_OBJECT_HANDLE_INVALID) {
                // Members reissue handles (after a logout, a reconnect): look the key up again
                // on the same member once before concluding it lacks it.
                self.member_mut(g, m).handles.remove(&key);
                result = self.sign_init_on(g, m, vs, &target);
            }
            match result {
                Err(Ckr::CKR_OBJECT_HANDLE_INVALID) if self.group(g).objects.contains_key(&key) => {
                    lacking.push(m);
                    continue;
                }
                Ok(()) => {
                    tracing::debug!(group = g, member = %self.member_serial(g, m), "multi-part operation pinned");
                    let epoch = self.member(g, m).epoch;
                    self.rt_mut(F)?.multipart.insert(vs, (m, epoch));
                    return Ok(());
                }
                Err(rv) if rv.drops_member() => self.drop_member(g, m, now, rv),
                Err(rv) if self.check_deactivated(g, m, now, rv) => {
                    if !self.config.failover_on_deactivation {
                        return Err(EngineError::new(crate::engine::DEACTIVATED, F));
                    }
                }
                Err(rv) => return Err(EngineError::new(rv, F)),
            }
        }
    }

    /// `C_SignInit` on member `m`, through the member session of `vs`.
    fn sign_init_on(
        &mut self,
        g: usize,
        m: usize,
        vs: VSessionHandle,
        target: &crate::state::VObject,
    ) -> MemberResult<()> {
        let s = self.ensure_session(g, m, vs)?;
        let h = self.member_handle(g, m, s, &target.id, target.class)?;
        let slot = self.member_slot(g, m);
        self.slots[slot].member.sign_init(s, h)
    }

    /// `C_SignUpdate` on the virtual slot: only the member where `C_SignInit` ran (D5).
    pub fn sign_update(
        &mut self,
        now: Millis,
        vs: VSessionHandle,
        data: &[u8],
    ) -> Result<(), EngineError> {
        const F: &str = "C_SignUpdate";
        let data = data.to_vec();
        self.pinned_call(now, vs, F, false, move |member, s| {
            member.sign_update(s, &data)
        })
        .map(|_| ())
    }

    /// `C_SignFinal` on the virtual slot: ends the operation.
    pub fn sign_final(&mut self, now: Millis, vs: VSessionHandle) -> Result<Vec<u8>, EngineError> {
        const F: &str = "C_SignFinal";
        self.pinned_call(now, vs, F, true, |member, s| member.sign_final(s))
    }

    fn pinned_call<T>(
        &mut self,
        now: Millis,
        vs: VSessionHandle,
        function: &'static str,
        last: bool,
        call: impl FnOnce(&mut dyn crate::ports::Member, crate::ports::SessionHandle) -> MemberResult<T>,
    ) -> Result<T, EngineError> {
        let g = self.session_group(vs, function)?;
        let Some((m, epoch)) = self.rt_for(function)?.multipart.get(&vs).copied() else {
            return Err(EngineError::new(
                Ckr::CKR_OPERATION_NOT_INITIALIZED,
                function,
            ));
        };
        let member = self.member(g, m);
        if !member.is_alive() || member.epoch != epoch {
            // D5: the member holding the operation is gone (even if it has come back since, on
            // a new connection without the operation); the application starts again.
            self.rt_mut(function)?.multipart.remove(&vs);
            return Err(EngineError::new(Ckr::CKR_DEVICE_ERROR, function));
        }
        let result = match self.ensure_session(g, m, vs) {
            Ok(s) => {
                let slot = self.member_slot(g, m);
                call(self.slots[slot].member.as_mut(), s)
            }
            Err(rv) => Err(rv),
        };
        match result {
            Ok(v) => {
                if last {
                    self.rt_mut(function)?.multipart.remove(&vs);
                }
                Ok(v)
            }
            Err(rv) => {
                self.rt_mut(function)?.multipart.remove(&vs);
                if rv.drops_member() {
                    self.drop_member(g, m, now, rv);
                    return Err(EngineError::new(Ckr::CKR_DEVICE_ERROR, function));
                }
                if self.check_deactivated(g, m, now, rv) {
                    if self.config.failover_on_deactivation {
                        // The member holding the operation is out (D17); as after a drop (D5).
                        return Err(EngineError::new(Ckr::CKR_DEVICE_ERROR, function));
                    }
                    return Err(EngineError::new(crate::engine::DEACTIVATED, function));
                }
                Err(EngineError::new(rv, function))
            }
        }
    }
}
