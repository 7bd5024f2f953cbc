//! Object replication (B18, B19, D7, D18): creation runs on the primary (the first usable
//! member, B30) and is cloned to every other alive member, standby included, before success
//! is returned; destroy goes to every alive member. The group's table ([`crate::state`]) gets
//! the object on success and a tombstone for a deletion some member may not have applied (down,
//! deactivated, or holding the orphan of a creation cut short); recovery compares members with
//! it ([`crate::reconcile`]).

use std::collections::BTreeSet;

use crate::ckr::Ckr;
use crate::config::MIN_COPIES_REFUSAL;
use crate::engine::HaEngine;
use crate::error::EngineError;
use crate::ports::{
    DataObjectRequest, KeyGenRequest, KeyKind, MemberResult, Millis, ObjectClass, ObjectHandle,
    ObjectId, ObjectKey, ObjectQuery,
};
use crate::state::{GroupObject, Reconciliation, VObject, VObjectHandle, VSessionHandle};

/// What to create on the primary.
enum Creation<'a> {
    Key {
        kind: KeyKind,
        label: &'a str,
        token: bool,
    },
    Data {
        label: &'a str,
        value: &'a [u8],
        token: bool,
    },
}

impl Creation<'_> {
    fn classes(&self) -> Vec<ObjectClass> {
        match self {
            Creation::Key { kind, .. } if kind.is_pair() => {
                vec![ObjectClass::PrivateKey, ObjectClass::PublicKey]
            }
            Creation::Key { .. } => vec![ObjectClass::SecretKey],
            Creation::Data { .. } => vec![ObjectClass::Data],
        }
    }

    fn token(&self) -> bool {
        match self {
            Creation::Key { token, .. } | Creation::Data { token, .. } => *token,
        }
    }
}

impl HaEngine {
    /// `C_GenerateKey` / `C_GenerateKeyPair` on the virtual slot. Returns the virtual handles:
    /// `[secret]` or `[private, public]`.
    pub fn generate_key(
        &mut self,
        now: Millis,
        vs: VSessionHandle,
        kind: KeyKind,
        label: &str,
        token: bool,
    ) -> Result<Vec<VObjectHandle>, EngineError> {
        let function = if kind.is_pair() {
            "C_GenerateKeyPair"
        } else {
            "C_GenerateKey"
        };
        self.create_replicated(now, vs, Creation::Key { kind, label, token }, function)
    }

    /// `C_CreateObject` of a data object on the virtual slot.
    pub fn create_data(
        &mut self,
        now: Millis,
        vs: VSessionHandle,
        label: &str,
        value: &[u8],
        token: bool,
    ) -> Result<VObjectHandle, EngineError> {
        let handles = self.create_replicated(
            now,
            vs,
            Creation::Data {
                label,
                value,
                token,
            },
            "C_CreateObject",
        )?;
        handles
            .first()
            .copied()
            .ok_or(EngineError::new(Ckr::CKR_GENERAL_ERROR, "C_CreateObject"))
    }

    /// `C_DestroyObject` on the virtual slot: destroys the object on every alive member (D7).
    /// A member that drops or is found deactivated meanwhile is taken out (D3, D17) and the
    /// deletion waits for its recovery as a tombstone, like on the members that are down.
    pub fn destroy_object(
        &mut self,
        now: Millis,
        vs: VSessionHandle,
        object: VObjectHandle,
    ) -> Result<(), EngineError> {
        const F: &str = "C_DestroyObject";
        self.drive_pending(now);
        let g = self.session_group(vs, F)?;
        let target = self.virtual_object(object, g, F)?;
        let mut applied = BTreeSet::new();
        let mut refused = BTreeSet::new();
        for m in self.group(g).alive() {
            if !self.member(g, m).is_alive() {
                continue;
            }
            match self.destroy_on_member(g, m, vs, &target.id, target.class) {
                Ok(Destroyed::Yes) => {
                    applied.insert(m);
                }
                // D68: not found, but the member may only be hiding it (a private object on a
                // partition that lost its login unseen): it is compared with the table again,
                // as one that refused the deletion is (D48).
                Ok(Destroyed::NotSeen) => {
                    refused.insert(m);
                }
                Err(rv) if rv.drops_member() => self.drop_member(g, m, now, rv),
                // A deactivated member is out now; the deletion waits for its recovery (D7).
                Err(rv) if self.check_deactivated(g, m, now, rv) => {}
                // Refused before any member destroyed it: nothing changed (D3).
                Err(rv) if applied.is_empty() => return Err(EngineError::new(rv, F)),
                Err(rv) => {
                    // Destroyed elsewhere already: this member applies it when it is next
                    // compared with the group's table (D48): at the application's next login,
                    // when another member rejoins, or after `hagroup recover`.
                    tracing::warn!(group = g, member = m, rv = %rv, "destroy refused by one member");
                    refused.insert(m);
                }
            }
        }
        if applied.is_empty() && refused.is_empty() {
            self.note_if_all_offline(g, now);
            return Err(EngineError::new(Ckr::CKR_DEVICE_ERROR, F));
        }
        let key = (target.id.clone(), target.class);
        let token = self.group(g).objects.get(&key).is_some_and(|o| o.token);
        self.group_mut(g).objects.remove(&key);
        if token {
            // Session objects die with their sessions on members that are away; token objects
            // are destroyed there when they are next compared with the table.
            self.tombstone(g, &target.id, target.class, &applied);
            // A member that refused the deletion (a code that drops nothing, D3) stays in
            // service holding the object: it is compared with the table again (D48).
            for m in refused {
                if self.member(g, m).reconciliation == Reconciliation::Done {
                    self.member_mut(g, m).reconciliation = Reconciliation::Gaps;
                }
            }
        }
        if let Some(rt) = self.runtime.as_mut() {
            rt.objects.remove(&object);
        }
        Ok(())
    }

    /// The virtual object behind a handle, checked to belong to group `g`.
    pub(crate) fn virtual_object(
        &self,
        object: VObjectHandle,
        g: usize,
        function: &'static str,
    ) -> Result<VObject, EngineError> {
        match self.rt_for(function)?.objects.get(&object) {
            Some(o) if o.group == g => Ok(o.clone()),
            _ => Err(EngineError::new(Ckr::CKR_OBJECT_HANDLE_INVALID, function)),
        }
    }

    /// The member's handle for (id, class), looked up by id when not cached (handles are not
    /// identities: members reissue them).
    pub(crate) fn member_handle(
        &mut self,
        g: usize,
        m: usize,
        session: crate::ports::SessionHandle,
        id: &ObjectId,
        class: ObjectClass,
    ) -> MemberResult<ObjectHandle> {
        if let Some(h) = self
            .member(g, m)
            .handles
            .get(&(id.0.as_slice(), class) as &dyn ObjectKey)
        {
            return Ok(*h);
        }
        let slot = self.member_slot(g, m);
        let query = ObjectQuery {
            id: Some(id.clone()),
            class: Some(class),
            token: None,
            label: None,
        };
        let found = self.slots[slot].member.find_objects(session, &query)?;
        let Some(&h) = found.first() else {
            // A deactivated partition hides its private objects: tell that apart from a
            // member that simply lacks the object (D17). The question is a call like any
            // other: a drop code from it drops the member (D3, D19).
            let deactivated = self.group(g).logged_in
                && match self.slots[slot].member.properties() {
                    Ok(p) => !p.activated,
                    Err(rv) if rv.drops_member() => return Err(rv),
                    Err(_) => false,
                };
            return Err(if deactivated {
                Ckr::CKR_USER_NOT_LOGGED_IN
            } else {
                Ckr::CKR_OBJECT_HANDLE_INVALID
            });
        };
        self.member_mut(g, m).handles.insert((id.clone(), class), h);
        Ok(h)
    }

    fn destroy_on_member(
        &mut self,
        g: usize,
        m: usize,
        vs: VSessionHandle,
        id: &ObjectId,
        class: ObjectClass,
    ) -> MemberResult<Destroyed> {
        let s = self.ensure_session(g, m, vs)?;
        let key = (id.clone(), class);
        // A remembered handle may have been reissued (a logout, a deactivation): one more
        // look-up by id before believing the member.
        for _ in 0..2 {
            let cached = self.member(g, m).handles.contains_key(&key);
            let h = match self.member_handle(g, m, s, id, class) {
                Ok(h) => h,
                // Already gone there: the goal of a destroy is met, unless the object is one a
                // partition shows only to a logged-in session: one deactivated and reactivated
                // before the engine talked to it has lost its login without a word (D17) and
                // hides its private objects from the search (D68). While the application holds
                // no login, that hiding is the answer (D107, PKCS#11 `C_Logout`): its private
                // objects are out of its reach, so the destroy fails and nothing changes.
                Err(Ckr::CKR_OBJECT_HANDLE_INVALID) if is_private(class) => {
                    if !self.group(g).logged_in {
                        return Err(Ckr::CKR_OBJECT_HANDLE_INVALID);
                    }
                    return Ok(Destroyed::NotSeen);
                }
                Err(Ckr::CKR_OBJECT_HANDLE_INVALID) => return Ok(Destroyed::Yes),
                Err(rv) => return Err(rv),
            };
            let slot = self.member_slot(g, m);
            let r = self.slots[slot].member.destroy_object(s, h);
            self.member_mut(g, m).handles.remove(&key);
            match r {
                Err(Ckr::CKR_OBJECT_HANDLE_INVALID) if cached => continue,
                r => return r.map(|()| Destroyed::Yes),
            }
        }
        Ok(Destroyed::Yes)
    }

    fn next_object_id(&mut self) -> ObjectId {
        self.next_object_id += 1;
        ObjectId(format!("hasim-{:08}", self.next_object_id).into_bytes())
    }

    /// B18/D7/D4: create on the primary, re-dispatching to the next member when the primary
    /// drops, then clone to every other alive member.
    fn create_replicated(
        &mut self,
        now: Millis,
        vs: VSessionHandle,
        what: Creation<'_>,
        function: &'static str,
    ) -> Result<Vec<VObjectHandle>, EngineError> {
        self.drive_pending(now);
        let g = self.session_group(vs, function)?;
        if !self.group(g).logged_in {
            return Err(EngineError::new(Ckr::CKR_USER_NOT_LOGGED_IN, function));
        }
        let classes = what.classes();
        let floor = self.config.min_copies(&self.group(g).label);
        loop {
            let Some(primary) = self.group(g).usable().first().copied() else {
                self.note_if_all_offline(g, now);
                return Err(EngineError::new(Ckr::CKR_DEVICE_ERROR, function));
            };
            if floor.is_some_and(|n| self.group(g).alive().len() < n) {
                // D36: fewer members than the floor would hold it: refused before any call.
                return Err(EngineError::new(MIN_COPIES_REFUSAL, function));
            }
            let id = self.next_object_id();
            let handles = match self.create_on(g, primary, vs, &id, &what) {
                Ok(h) => h,
                Err(rv) if rv.drops_member() => {
                    if what.token() {
                        self.creation_answer_lost(g, primary, &id, &classes);
                    }
                    self.drop_member(g, primary, now, rv);
                    continue;
                }
                Err(rv) if self.check_deactivated(g, primary, now, rv) => {
                    if self.config.failover_on_deactivation {
                        continue;
                    }
                    return Err(EngineError::new(crate::engine::DEACTIVATED, function));
                }
                Err(rv) => return Err(EngineError::new(rv, function)),
            };
            tracing::debug!(group = g, primary = %self.member_serial(g, primary), id = %id, "created on primary");
            for (class, h) in classes.iter().zip(&handles) {
                self.member_mut(g, primary)
                    .handles
                    .insert((id.clone(), *class), *h);
            }
            match self.clone_to_others(now, g, primary, vs, &id, &classes) {
                CloneOutcome::Done => {}
                CloneOutcome::PrimaryLost(rv, how) => {
                    // The source went away mid-replication (or was found deactivated when
                    // read, which a creation that needs no login cannot tell, D17): the
                    // copies made so far are orphans; undo them and start again on the next
                    // member (D4, D18). A deactivated primary still answers: its copy goes too.
                    // An orphan left on the lost primary is destroyed when it is found
                    // (tombstone).
                    let except = (how == Lost::Dropped).then_some(primary);
                    self.undo_creation(now, g, vs, &id, &classes, except);
                    match how {
                        Lost::Dropped => self.drop_member(g, primary, now, rv),
                        Lost::Deactivated => {
                            self.check_deactivated(g, primary, now, rv);
                        }
                    }
                    if how == Lost::Deactivated && !self.config.failover_on_deactivation {
                        // D17 without failover_on_deactivation: this one call sees the code.
                        return Err(EngineError::new(crate::engine::DEACTIVATED, function));
                    }
                    continue;
                }
                CloneOutcome::Refused(rv) => {
                    self.undo_creation(now, g, vs, &id, &classes, None);
                    return Err(EngineError::new(rv, function));
                }
            }
            if floor.is_some_and(|n| self.group(g).alive().len() < n) {
                // D36: targets dropped during the replication left fewer copies than the
                // floor: the creation is undone (tombstones for the members away).
                self.undo_creation(now, g, vs, &id, &classes, None);
                return Err(EngineError::new(MIN_COPIES_REFUSAL, function));
            }
            return Ok(self.register(g, vs, id, &classes, what.token()));
        }
    }

    fn create_on(
        &mut self,
        g: usize,
        m: usize,
        vs: VSessionHandle,
        id: &ObjectId,
        what: &Creation<'_>,
    ) -> MemberResult<Vec<ObjectHandle>> {
        let s = self.ensure_session(g, m, vs)?;
        let slot = self.member_slot(g, m);
        let member = &mut self.slots[slot].member;
        match what {
            Creation::Key { kind, label, token } => member.generate_key(
                s,
                &KeyGenRequest {
                    kind: *kind,
                    id: id.clone(),
                    label: label.to_string(),
                    token: *token,
                },
            ),
            Creation::Data {
                label,
                value,
                token,
            } => member
                .create_data(
                    s,
                    &DataObjectRequest {
                        id: id.clone(),
                        label: label.to_string(),
                        value: value.to_vec(),
                        token: *token,
                    },
                )
                .map(|h| vec![h]),
        }
    }

    /// Clones every class of object `id` from `source` to every other alive member.
    fn clone_to_others(
        &mut self,
        now: Millis,
        g: usize,
        source: usize,
        vs: VSessionHandle,
        id: &ObjectId,
        classes: &[ObjectClass],
    ) -> CloneOutcome {
        for target in self.group(g).alive() {
            if target == source {
                continue;
            }
            for class in classes {
                match self.clone_one(g, source, target, Some(vs), id, *class) {
                    Ok(_) => {}
                    Err(CloneError::Source(rv)) if rv.drops_member() => {
                        return CloneOutcome::PrimaryLost(rv, Lost::Dropped);
                    }
                    Err(CloneError::Source(rv)) if self.means_deactivated(g, rv) => {
                        return CloneOutcome::PrimaryLost(rv, Lost::Deactivated);
                    }
                    Err(CloneError::Target(rv)) if rv.drops_member() => {
                        // B19: the target missed it; recovery reintroduces it.
                        self.drop_member(g, target, now, rv);
                        break;
                    }
                    Err(CloneError::Target(rv)) if self.check_deactivated(g, target, now, rv) => {
                        // A deactivated target is out like a dropped one; it gets the object
                        // when it is activated and recovered.
                        break;
                    }
                    Err(CloneError::Source(rv) | CloneError::Target(rv)) => {
                        return CloneOutcome::Refused(rv);
                    }
                }
            }
        }
        CloneOutcome::Done
    }

    /// One clone of (id, class) from `source` to `target`. With `vs`, the copy lives in that
    /// virtual session's member session (session objects stay with their session); without,
    /// in the engine's own session (recovery).
    pub(crate) fn clone_one(
        &mut self,
        g: usize,
        source: usize,
        target: usize,
        vs: Option<VSessionHandle>,
        id: &ObjectId,
        class: ObjectClass,
    ) -> Result<ObjectHandle, CloneError> {
        let src_session = match vs {
            Some(vs) => self.ensure_session(g, source, vs),
            None => self.ensure_mgmt(g, source),
        }
        .map_err(CloneError::Source)?;
        let blob = self
            .export_from(g, source, src_session, id, class)
            .map_err(CloneError::Source)?;
        let dst_session = match vs {
            Some(vs) => self.ensure_session(g, target, vs),
            None => self.ensure_mgmt(g, target),
        }
        .map_err(CloneError::Target)?;
        let dst_slot = self.member_slot(g, target);
        let new = self.slots[dst_slot]
            .member
            .import_clone(dst_session, &blob)
            .map_err(CloneError::Target)?;
        self.member_mut(g, target)
            .handles
            .insert((id.clone(), class), new);
        Ok(new)
    }

    /// The clone blob of (id, class) on `source`; a remembered handle that the member has
    /// reissued since (a logout, a deactivation) is looked up once more by id.
    fn export_from(
        &mut self,
        g: usize,
        source: usize,
        session: crate::ports::SessionHandle,
        id: &ObjectId,
        class: ObjectClass,
    ) -> MemberResult<crate::ports::CloneBlob> {
        let key = (id.clone(), class);
        let cached = self.member(g, source).handles.contains_key(&key);
        let h = self.member_handle(g, source, session, id, class)?;
        let slot = self.member_slot(g, source);
        match self.slots[slot].member.export_clone(session, h) {
            Err(Ckr::CKR_OBJECT_HANDLE_INVALID)
                if cached && !self.planted(crate::planted::PlantedBug::StaleSourceHandle) =>
            {
                self.member_mut(g, source).handles.remove(&key);
                let h = self.member_handle(g, source, session, id, class)?;
                self.slots[slot].member.export_clone(session, h)
            }
            r => r,
        }
    }

    /// The creating call on `primary` answered a drop code: it may have taken effect there
    /// before the answer was lost (D37). The object is tombstoned for that member and marked,
    /// so that a copy found there when it is compared with the table is destroyed and reported
    /// as an orphan, never adopted.
    fn creation_answer_lost(
        &mut self,
        g: usize,
        primary: usize,
        id: &ObjectId,
        classes: &[ObjectClass],
    ) {
        let others: BTreeSet<usize> = (0..self.member_count(g))
            .filter(|&m| m != primary)
            .collect();
        for class in classes {
            self.tombstone(g, id, *class, &others);
            self.group_mut(g)
                .lost_creations
                .insert((id.clone(), *class));
        }
    }

    /// D18: removes a partial object from the alive members that got it (skipping `except`).
    /// Every member where it was not removed (down, skipped, failing) gets a tombstone for it,
    /// so the orphan is destroyed wherever it is found later. A member whose undo fails with a
    /// drop code is dropped like after any other call (D3, D19).
    fn undo_creation(
        &mut self,
        now: Millis,
        g: usize,
        vs: VSessionHandle,
        id: &ObjectId,
        classes: &[ObjectClass],
        except: Option<usize>,
    ) {
        for class in classes {
            let mut applied = BTreeSet::new();
            for m in self.group(g).alive() {
                if Some(m) == except || !self.member(g, m).is_alive() {
                    continue;
                }
                match self.destroy_on_member(g, m, vs, id, *class) {
                    Ok(Destroyed::Yes) => {
                        applied.insert(m);
                    }
                    // Possibly hidden there (D68): the tombstone waits for it.
                    Ok(Destroyed::NotSeen) => {}
                    Err(rv) => {
                        tracing::debug!(member = m, rv = %rv, "undo of a partial object failed");
                        if rv.drops_member() {
                            self.drop_member(g, m, now, rv);
                        }
                    }
                }
            }
            self.tombstone(g, id, *class, &applied);
        }
    }

    fn register(
        &mut self,
        g: usize,
        vs: VSessionHandle,
        id: ObjectId,
        classes: &[ObjectClass],
        token: bool,
    ) -> Vec<VObjectHandle> {
        let owner = if token { None } else { Some(vs) };
        let mut out = Vec::new();
        for class in classes {
            self.group_mut(g).objects.insert(
                (id.clone(), *class),
                GroupObject {
                    id: id.clone(),
                    class: *class,
                    token,
                    owner,
                },
            );
            if let Some(rt) = self.runtime.as_mut() {
                let h = rt.next_handle();
                rt.objects.insert(
                    h,
                    VObject {
                        group: g,
                        id: id.clone(),
                        class: *class,
                    },
                );
                out.push(h);
            }
        }
        out
    }
}

/// What a destroy found on one member.
enum Destroyed {
    /// Destroyed there, or not there (an object any session can see, D68).
    Yes,
    /// Not found, but it is one a session without login does not see: the member may be
    /// hiding it (D68).
    NotSeen,
}

/// Objects a partition shows only to a logged-in session (secret and private keys).
pub(crate) fn is_private(class: ObjectClass) -> bool {
    matches!(class, ObjectClass::SecretKey | ObjectClass::PrivateKey)
}

/// Result of cloning a new object to the other members.
enum CloneOutcome {
    Done,
    PrimaryLost(Ckr, Lost),
    Refused(Ckr),
}

/// How the source of a replication was lost.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Lost {
    /// A drop code or a transport failure (D3).
    Dropped,
    /// Found deactivated (D17).
    Deactivated,
}

/// Which side of a clone failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CloneError {
    /// Reading the object from the source member.
    Source(Ckr),
    /// Writing it to the target member.
    Target(Ckr),
}
