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
        // The application's template goes to the member (D31): it finds the objects labelled
        // `label`, not every object it holds (a re-find of n keys would read n² attributes).
        let query = ObjectQuery {
            label: Some(label.to_string()),
            ..ObjectQuery::default()
        };
        let listed = self.slots[slot].member.find_objects(s, &query)?;
        // One C_GetAttributeValue per object found, in order, up to the first that fails (the
        // member sees the same calls as when they are made one by one).
        let (infos, end) = self.slots[slot]
            .member
            .objects_info_labelled(s, &listed, label);
        let mut out = Vec::new();
        for (info, &h) in infos.into_iter().zip(&listed) {
            if let Some(info) = info {
                self.member_mut(g, m)
                    .handles
                    .insert((info.id.clone(), info.class), h);
                out.push((info.id, info.class, info.token));
            }
        }
        end?;
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
            if self.group(g).tombstones.contains_key(&key) {
                // This process destroyed it; a member not compared with the table since still
                // holds it (D7, D48). The table's word stands: the application does not get it
                // back, and the member's next comparison destroys it (D81).
                continue;
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::{KeyKind, Secret};
    use crate::test_support::{FIXTURE_CO, fixture, group_config};

    fn logged_in(f: &mut crate::test_support::Fixture) -> VSessionHandle {
        let engine = &mut f.engine;
        engine
            .apply_config(group_config("g", &["11", "22"]), Default::default(), 0)
            .expect("configure");
        engine.initialize(0).expect("initialise");
        let vs = engine.open_session(0, 0).expect("session");
        engine
            .login(0, vs, &Secret::new(FIXTURE_CO))
            .expect("login");
        vs
    }

    #[test]
    fn finds_the_handle_already_issued_and_nothing_for_an_unknown_label() {
        let mut f = fixture(&["11", "22"]);
        let vs = logged_in(&mut f);
        let made = f
            .engine
            .generate_key(0, vs, KeyKind::Aes256, "k", true)
            .expect("key");
        let found = f.engine.find_objects(0, vs, "k").expect("find");
        assert_eq!(found, vec![(made[0], ObjectClass::SecretKey)]);
        assert!(
            f.engine
                .find_objects(0, vs, "other")
                .expect("find")
                .is_empty()
        );
    }

    #[test]
    fn after_a_reinitialise_a_found_handle_works_and_the_old_one_does_not() {
        let mut f = fixture(&["11", "22"]);
        let vs = logged_in(&mut f);
        let old = f
            .engine
            .generate_key(0, vs, KeyKind::Aes256, "k", true)
            .expect("key")[0];
        f.engine.finalize(0).expect("finalize");
        f.engine.initialize(0).expect("initialise");
        let vs = f.engine.open_session(0, 0).expect("session");
        f.engine
            .login(0, vs, &Secret::new(FIXTURE_CO))
            .expect("login");
        let stale = f
            .engine
            .sign(0, vs, old, b"data")
            .expect_err("stale handle");
        assert_eq!(stale.rv, Ckr::CKR_OBJECT_HANDLE_INVALID);
        let found = f.engine.find_objects(0, vs, "k").expect("find");
        assert_eq!(found.len(), 1);
        let (new, class) = found[0];
        assert_eq!(class, ObjectClass::SecretKey);
        assert!(f.engine.sign(0, vs, new, b"data").is_ok());
    }

    #[test]
    fn a_handle_kept_across_a_reinitialise_never_names_another_object() {
        // D72: numbering goes on after C_Finalize, so a stale handle is invalid, never the
        // handle of an object made since (a destroy through it would remove that object).
        let mut f = fixture(&["11", "22"]);
        let vs = logged_in(&mut f);
        let old = f
            .engine
            .generate_key(0, vs, KeyKind::Aes256, "old", true)
            .expect("key")[0];
        f.engine.finalize(0).expect("finalize");
        f.engine.initialize(0).expect("initialise");
        let vs = f.engine.open_session(0, 0).expect("session");
        f.engine
            .login(0, vs, &Secret::new(FIXTURE_CO))
            .expect("login");
        let new = f
            .engine
            .generate_key(0, vs, KeyKind::Aes256, "new", true)
            .expect("key")[0];
        assert_ne!(new, old);
        let stale = f
            .engine
            .sign(0, vs, old, b"data")
            .expect_err("stale handle");
        assert_eq!(stale.rv, Ckr::CKR_OBJECT_HANDLE_INVALID);
    }

    #[test]
    fn an_unreachable_first_member_fails_over_to_the_next() {
        let mut f = fixture(&["11", "22"]);
        let vs = logged_in(&mut f);
        f.engine
            .generate_key(0, vs, KeyKind::Aes256, "k", true)
            .expect("key");
        f.controls[0].set_reachable(false);
        let found = f.engine.find_objects(0, vs, "k").expect("find");
        assert_eq!(found.len(), 1);
        assert_eq!(f.engine.alive_members()["g"], vec!["22".to_string()]);
    }

    #[test]
    fn without_a_valid_session_it_is_refused() {
        let mut f = fixture(&["11", "22"]);
        logged_in(&mut f);
        let err = f.engine.find_objects(0, 999, "k").expect_err("no session");
        assert_eq!(err.rv, Ckr::CKR_SESSION_HANDLE_INVALID);
    }
}
