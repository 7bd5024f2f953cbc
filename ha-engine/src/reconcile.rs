//! Reconciliation by object sets (B19, B20, B23, D7, D8, D18): the group keeps one table of the
//! objects it holds (by group-wide id) with tombstones for deletions not yet applied everywhere;
//! when a member (re)joins, its actual token objects (read through the `Member` port) are
//! compared with the table: what it lacks is cloned from any reachable holder, what was deleted
//! (or is the orphan of a creation cut short) is destroyed. Nothing is remembered per member
//! beyond whether the comparison has been made and left gaps ([`Reconciliation`]).
//!
//! When it runs: at a recovery attempt or a new member's join while the application is logged
//! in; at the application's next login for members reconnected while it held none; and for
//! members left with gaps (no reachable holder), again whenever another member rejoins, at login
//! and after `hagroup recover`. Objects in the engine's namespace that the table never had
//! (made by an earlier process, D20) are reported (tracing), neither copied nor destroyed:
//! `hagroup synchronize` is for those.

use std::collections::BTreeSet;

use crate::ckr::Ckr;
use crate::engine::HaEngine;
use crate::log::HaLogMessage;
use crate::ports::{Millis, ObjectClass, ObjectId, ObjectKey, ObjectQuery};
use crate::replication::CloneError;
use crate::state::Reconciliation;

/// What one comparison of a member with the table did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Reconciled {
    /// Token objects cloned to the member (PKCS#11 objects: a key pair counts 2).
    pub(crate) copied: u64,
    /// Token objects it still lacks: no reachable member held them.
    pub(crate) gaps: bool,
}

impl Reconciled {
    fn state(self) -> Reconciliation {
        if self.gaps {
            Reconciliation::Gaps
        } else {
            Reconciliation::Done
        }
    }
}

/// True for ids the engine assigns to replicated objects (`hasim-<digits>`); the setup objects
/// of a real member (`hasim-setup:...`) and direct writes (`direct-...`, B21) are not the
/// engine's.
fn in_engine_namespace(id: &ObjectId) -> bool {
    id.0.strip_prefix(b"hasim-")
        .and_then(|rest| rest.first())
        .is_some_and(u8::is_ascii_digit)
}

impl HaEngine {
    /// True when group `g` can be reconciled now: the application is logged in to it and the
    /// engine holds the credential, so members show their private objects.
    pub(crate) fn can_reconcile(&self, g: usize) -> bool {
        self.group(g).logged_in && self.rt().is_some_and(|rt| rt.credential.is_some())
    }

    /// Records that the token object (id, class) was deleted (or never completed) and that the
    /// members of group `g` other than `applied` may still hold it.
    pub(crate) fn tombstone(
        &mut self,
        g: usize,
        id: &ObjectId,
        class: ObjectClass,
        applied: &BTreeSet<usize>,
    ) {
        let pending: BTreeSet<String> = self
            .group(g)
            .members
            .iter()
            .enumerate()
            .filter(|(m, _)| !applied.contains(m))
            .map(|(_, member)| member.serial.clone())
            .collect();
        if pending.is_empty() {
            return;
        }
        tracing::debug!(group = g, id = %id, pending = ?pending, "tombstone");
        self.group_mut(g)
            .tombstones
            .entry((id.clone(), class))
            .or_default()
            .extend(pending);
    }

    /// Compares member `m`'s token objects with the group's table: destroys what is
    /// tombstoned, clones what it lacks from any other alive member holding it (D7, B19). An
    /// error is the member's own (it failed as the target); a failing source is handled here
    /// (dropped on a drop code, taken out when found deactivated, D17) and the next one tried.
    /// With `clone_missing` false (the group's automatic synchronisation is off, D21) nothing
    /// is cloned back: the member rejoins without reintroduction and `Needs sync` shows until a
    /// manual `hagroup synchronize`; deletions are still applied.
    pub(crate) fn reconcile(
        &mut self,
        g: usize,
        m: usize,
        now: Millis,
        clone_missing: bool,
    ) -> Result<Reconciled, Ckr> {
        let s = self.ensure_mgmt(g, m)?;
        let slot = self.member_slot(g, m);
        // Planted bug (issue 9, bug 19): a member with gaps compared from memory.
        let remembered: Option<BTreeSet<(ObjectId, ObjectClass)>> = (self
            .planted(crate::planted::PlantedBug::GapsFromMemory)
            && self.member(g, m).reconciliation == Reconciliation::Gaps)
            .then(|| self.member(g, m).handles.keys().cloned().collect());
        let listed = self.slots[slot].member.find_objects(
            s,
            &ObjectQuery {
                token: Some(true),
                ..ObjectQuery::default()
            },
        )?;
        let mut present: BTreeSet<(ObjectId, ObjectClass)> = BTreeSet::new();
        // D105: a listing that shows no secret or private key may come from a session that lost
        // its login without a word (a deactivation undone before the engine talked to the
        // member, D17): it proves nothing about the private objects the member holds.
        let mut saw_private = false;
        for h in listed {
            let info = self.slots[slot].member.object_info(s, h)?;
            saw_private |= crate::replication::is_private(info.class);
            let key = (info.id.clone(), info.class);
            if self.group(g).tombstones.contains_key(&key) {
                tracing::debug!(group = g, member = m, id = %info.id, "deleted object destroyed");
                self.slots[slot].member.destroy_object(s, h)?;
                // Reported wherever it is found (D37): a `synchronize` may have copied it to
                // other members before this one was compared (D8, D70). The mark goes with the
                // tombstone, once every member has been compared.
                if self.group(g).lost_creations.contains(&key) {
                    self.report_orphan(g, m, now, &info);
                }
            } else if self.group(g).objects.contains_key(&key)
                && info.class == ObjectClass::Data
                && self.planted(crate::planted::PlantedBug::RecloneHeldData)
            {
                // Planted bug (B22, D64): the member's own copy is replaced by another's.
                self.slots[slot].member.destroy_object(s, h)?;
            } else if self.group(g).objects.contains_key(&key) {
                self.member_mut(g, m).handles.insert(key.clone(), h);
                present.insert(key);
            } else if in_engine_namespace(&info.id) {
                tracing::info!(
                    group = g,
                    member = %self.member_serial(g, m),
                    id = %info.id,
                    "member holds an object the group's table never had; reported, not copied (hagroup synchronize)"
                );
            }
        }
        if let Some(remembered) = remembered {
            present.retain(|key| remembered.contains(key));
        }
        // Every deletion the table knows of has now been applied on this member, but for a
        // secret or private key only when the listing could see such keys (D105, D68): one
        // hidden from a blind session stays pending for the next comparison.
        let serial = self.member_serial(g, m);
        let tombstones = &mut self.group_mut(g).tombstones;
        for (key, pending) in tombstones.iter_mut() {
            if saw_private || !crate::replication::is_private(key.1) {
                pending.remove(&serial);
            }
        }
        tombstones.retain(|_, pending| !pending.is_empty());
        let group = self.group_mut(g);
        let tombstones = &group.tombstones;
        group
            .lost_creations
            .retain(|key| tombstones.contains_key(key));

        let missing: Vec<(ObjectId, ObjectClass)> = self
            .group(g)
            .objects
            .values()
            .filter(|_| clone_missing)
            .filter(|o| {
                o.token && !present.contains(&(o.id.0.as_slice(), o.class) as &dyn ObjectKey)
            })
            .map(|o| (o.id.clone(), o.class))
            .collect();
        let mut done = Reconciled::default();
        for (id, class) in missing {
            if !self.member(g, m).is_alive() {
                // Taken out meanwhile (a deactivation found on the way): stop here.
                return Err(Ckr::CKR_DEVICE_ERROR);
            }
            if self.clone_from_any_holder(g, m, now, &id, class)? {
                done.copied += 1;
            } else {
                tracing::debug!(group = g, member = m, id = %id, "no reachable member holds a missing object");
                done.gaps = true;
            }
        }
        Ok(done)
    }

    /// Clones (id, class) to `target` from the first other alive member that holds it. Returns
    /// whether one did; an error is the target's.
    fn clone_from_any_holder(
        &mut self,
        g: usize,
        target: usize,
        now: Millis,
        id: &ObjectId,
        class: ObjectClass,
    ) -> Result<bool, Ckr> {
        // Members whose objects were compared with the table first: they are likelier to hold it.
        let mut sources: Vec<usize> = self
            .group(g)
            .alive()
            .into_iter()
            .filter(|&x| x != target)
            .collect();
        sources.sort_by_key(|&x| self.member(g, x).reconciliation != Reconciliation::Done);
        for source in sources {
            if !self.member(g, source).is_alive() {
                continue;
            }
            match self.clone_one(g, source, target, None, id, class) {
                Ok(_) => return Ok(true),
                Err(CloneError::Source(Ckr::CKR_OBJECT_HANDLE_INVALID)) => {}
                Err(CloneError::Source(rv)) => self.member_failed(g, source, now, rv),
                Err(CloneError::Target(rv)) => return Err(rv),
            }
        }
        Ok(false)
    }

    /// A member failed outside an application call (noticed now, D19): dropped on a drop code
    /// (B29, D3), taken out when it answers as a deactivated partition does (D17).
    pub(crate) fn member_failed(&mut self, g: usize, m: usize, now: Millis, rv: Ckr) {
        if rv.drops_member() {
            self.drop_member(g, m, now, rv);
        } else if !self.check_deactivated(g, m, now, rv) {
            tracing::debug!(group = g, member = m, rv = %rv, "member call failed without a drop");
        }
    }

    /// D37: the orphan of a creation whose answer was lost was found on member `m` and
    /// destroyed; the observer is told (no HA log template exists for it).
    fn report_orphan(&mut self, g: usize, m: usize, now: Millis, info: &crate::ports::ObjectInfo) {
        let member = self.member_serial(g, m);
        tracing::info!(group = g, member = %member, id = %info.id, "orphan of a lost creation destroyed");
        self.events.push_back(crate::engine::EngineEvent::Orphan {
            at: now,
            member,
            id: info.id.to_string(),
            label: info.label.clone(),
        });
    }

    /// Compares again the alive members of group `g` left with gaps (B19): a holder may have
    /// returned, or `hagroup synchronize` may have copied what they lacked.
    pub(crate) fn refill_gaps(&mut self, g: usize, now: Millis) {
        if !self.can_reconcile(g) {
            return;
        }
        for m in self.group(g).alive() {
            if self.member(g, m).reconciliation != Reconciliation::Gaps
                || !self.member(g, m).is_alive()
            {
                continue;
            }
            let sync = self.config.auto_sync_enabled(&self.group(g).label);
            match self.reconcile(g, m, now, sync) {
                Ok(done) => {
                    tracing::debug!(
                        group = g,
                        member = m,
                        copied = done.copied,
                        gaps = done.gaps,
                        "gaps compared again"
                    );
                    self.member_mut(g, m).reconciliation = done.state();
                }
                Err(rv) => self.member_failed(g, m, now, rv),
            }
        }
    }

    /// The application has just logged in to group `g`: members reconnected while it held no
    /// login are compared with the table now (logging `reintroducing` with the number of the
    /// attempt that reconnected them, B43), then members left with gaps.
    pub(crate) fn reconcile_at_login(&mut self, g: usize, now: Millis) {
        if !self.can_reconcile(g) {
            return;
        }
        for m in self.group(g).alive() {
            let Reconciliation::AtLogin { attempt } = self.member(g, m).reconciliation else {
                continue;
            };
            if !self.member(g, m).is_alive() {
                continue;
            }
            // A member added at run time is replicated to whatever D21 says (B54: joining is
            // not recovery).
            let sync = attempt.is_none() || self.config.auto_sync_enabled(&self.group(g).label);
            match self.reconcile(g, m, now, sync) {
                Ok(done) => {
                    self.member_mut(g, m).reconciliation = done.state();
                    if let Some(attempt) = attempt.filter(|_| done.copied > 0) {
                        let token = self.member_serial(g, m);
                        self.log_group(
                            g,
                            now,
                            HaLogMessage::Reintroducing {
                                attempt,
                                count: done.copied,
                                token,
                            },
                        );
                    }
                }
                Err(rv) => self.member_failed(g, m, now, rv),
            }
        }
        self.refill_gaps(g, now);
    }

    /// `hagroup recover` was requested: members left with gaps are compared again at the next
    /// drive of the engine (B45).
    pub(crate) fn refill_requested(&mut self, now: Millis) {
        if !std::mem::take(&mut self.refill_pending) {
            return;
        }
        for g in 0..self.group_count() {
            self.refill_gaps(g, now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::EngineEvent;
    use crate::ports::Secret;
    use crate::test_support::{FIXTURE_CO, fixture, group_config};

    #[test]
    fn an_orphan_is_reported_on_every_member_it_is_found_on() {
        // D37, D70: the orphan of a lost creation on 11 was copied to 22 by a LunaCM
        // `synchronize` (D8) before either was compared with the table; each comparison
        // destroys it and reports it there.
        let mut f = fixture(&["11", "22", "33"]);
        f.engine
            .apply_config(
                group_config("g", &["11", "22", "33"]),
                Default::default(),
                0,
            )
            .expect("configure");
        f.engine.initialize(0).expect("initialise");
        let vs = f.engine.open_session(0, 0).expect("session");
        f.engine
            .login(0, vs, &Secret::new(FIXTURE_CO))
            .expect("login");
        while f.engine.poll_event().is_some() {}
        let key = (ObjectId(b"hasim-00000099".to_vec()), ObjectClass::SecretKey);
        let applied: BTreeSet<usize> = [1, 2].into_iter().collect();
        f.engine.tombstone(0, &key.0, key.1, &applied);
        f.engine.group_mut(0).lost_creations.insert(key.clone());
        f.controls[0].put("hasim-00000099", ObjectClass::SecretKey);
        f.controls[1].put("hasim-00000099", ObjectClass::SecretKey);
        f.engine.reconcile(0, 1, 5, true).expect("22 compared");
        f.engine.reconcile(0, 0, 5, true).expect("11 compared");
        let mut reported = Vec::new();
        while let Some(event) = f.engine.poll_event() {
            if let EngineEvent::Orphan { member, id, .. } = event {
                reported.push((member, id));
            }
        }
        let orphan = "hasim-00000099".to_string();
        assert_eq!(
            reported,
            vec![
                ("22".to_string(), orphan.clone()),
                ("11".to_string(), orphan)
            ]
        );
        assert!(f.controls[0].held().is_empty() && f.controls[1].held().is_empty());
        // Every member that could hold it was compared: the mark went with the tombstone.
        assert!(f.engine.group(0).lost_creations.is_empty());
    }

    #[test]
    fn the_engine_namespace_is_its_own_ids_only() {
        let id = |s: &str| ObjectId(s.as_bytes().to_vec());
        assert!(in_engine_namespace(&id("hasim-00000012")));
        assert!(!in_engine_namespace(&id("hasim-setup:domain-wrap")));
        assert!(!in_engine_namespace(&id("direct-00000003")));
        assert!(!in_engine_namespace(&id("hasim-")));
    }
}
