//! `C_FindObjects` on the virtual slot by `CKA_LABEL`: how an application finds its keys again
//! after it lost its handles (a new session after an eviction, a re-initialise).
//!
//! The search runs on the first usable member (B30's order), failing over to the next one when
//! that member drops (D3, D19). Each object found gets the virtual handle the engine already
//! issued for it, or a new one; an object the group's table does not know yet (a fresh
//! `C_Initialize` starts with an empty table, D20) is entered in it, so it is replicated and
//! reintroduced like one made by this process.

use crate::ckr::Ckr;
use crate::engine::HaEngine;
use crate::error::EngineError;
use crate::ports::{MemberResult, Millis, ObjectClass, ObjectId, ObjectQuery};
use crate::state::{GroupObject, VObject, VObjectHandle, VSessionHandle};

impl HaEngine {
    /// The virtual handles (and classes) of the objects labelled `label` (token and this
    /// session's own), in the order the serving member lists them; empty when there is none.
    pub fn find_objects(
        &mut self,
        now: Millis,
        vs: VSessionHandle,
        label: &str,
    ) -> Result<Vec<(VObjectHandle, ObjectClass)>, EngineError> {
        const F: &str = "C_FindObjects";
        self.drive_pending(now);
        let g = self.session_group(vs, F)?;
        loop {
            let Some(m) = self.group(g).usable().first().copied() else {
                self.note_if_all_offline(g, now);
                return Err(EngineError::new(Ckr::CKR_DEVICE_ERROR, F));
            };
            match self.find_on(g, m, vs, label) {
                Ok(found) => return Ok(self.virtual_handles(g, vs, found)),
                Err(rv) if rv.drops_member() => self.drop_member(g, m, now, rv),
                Err(rv) if self.check_deactivated(g, m, now, rv) => {}
                Err(rv) => return Err(EngineError::new(rv, F)),
            }
        }
    }

    /// (id, class, token) of every object labelled `label` on member `m`.
    fn find_on(
        &mut self,
        g: usize,
        m: usize,
        vs: VSessionHandle,
        label: &str,
    ) -> MemberResult<Vec<(ObjectId, ObjectClass, bool)>> {
        let s = self.ensure_session(g, m, vs)?;
        let slot = self.member_slot(g, m);
        let listed = self.slots[slot]
            .member
            .find_objects(s, &ObjectQuery::default())?;
        let mut out = Vec::new();
        for h in listed {
            let info = self.slots[slot].member.object_info(s, h)?;
            if info.label == label {
                self.member_mut(g, m)
                    .handles
                    .insert((info.id.clone(), info.class), h);
                out.push((info.id, info.class, info.token));
            }
        }
        Ok(out)
    }

    /// The virtual handle of each found object: the one already issued, else a new one.
    fn virtual_handles(
        &mut self,
        g: usize,
        vs: VSessionHandle,
        found: Vec<(ObjectId, ObjectClass, bool)>,
    ) -> Vec<(VObjectHandle, ObjectClass)> {
        let mut out = Vec::new();
        for (id, class, token) in found {
            let key = (id.clone(), class);
            if !self.group(g).objects.contains_key(&key) {
                let owner = if token { None } else { Some(vs) };
                self.group_mut(g).objects.insert(
                    key,
                    GroupObject {
                        id: id.clone(),
                        class,
                        token,
                        owner,
                    },
                );
            }
            let Some(rt) = self.runtime.as_mut() else {
                continue;
            };
            let known = rt
                .objects
                .iter()
                .find(|(_, o)| o.group == g && o.id == id && o.class == class)
                .map(|(h, _)| *h);
            let h = match known {
                Some(h) => h,
                None => {
                    let h = rt.next_handle();
                    rt.objects.insert(
                        h,
                        VObject {
                            group: g,
                            id,
                            class,
                        },
                    );
                    h
                }
            };
            out.push((h, class));
        }
        out
    }
}
