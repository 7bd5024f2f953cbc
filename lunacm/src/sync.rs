//! `hagroup synchronize` (B61, D8, B14): makes the token objects of a group's reachable members
//! equal by union, keyed by the group-wide object id and class, cloning each missing object from
//! a member that holds it through the `Member` port's cloning calls. Nothing is ever deleted.
//!
//! LunaCM does this with its own connections, sessions and login, with the Crypto Officer
//! credential it was given (never the application's login or engine state, D22, B61): every
//! reachable member is opened and logged in first
//! (`member_session::login`; a member that refuses the credential stops the command before
//! anything is cloned), then the copies are made, then LunaCM's sessions are closed. It never
//! logs out: the login state is the partition's and a running application may share it. A copy
//! that fails does not undo the copies already made (synchronisation only ever adds).
//!
//! When two members' partition policy 0 (private key cloning) differ, the report carries their
//! LunaCM slot numbers for the §3.6 warning (B14); the synchronisation still runs and may fail
//! for the objects that policy forbids to clone.

use std::collections::BTreeMap;

use ha_engine::ckr::Ckr;
use ha_engine::ports::{ObjectClass, ObjectHandle, ObjectId, Secret, SessionHandle};

use crate::console::LunaCm;
use crate::hagroup::slots::SlotView;
use crate::member_session;
use crate::prereq::PARTITION_ALLOW_PRIVATE_KEY_CLONING;

/// One object key: the group-wide id and the class (the halves of a pair share the id).
pub type ObjectKey = (ObjectId, ObjectClass);

/// What a synchronisation did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SyncReport {
    /// LunaCM slot numbers of the first two members whose partition policy 0 differ (B14).
    pub conflict: Option<(usize, usize)>,
    /// Per reachable member in group order: its serial and how many objects were cloned to it.
    pub cloned: Vec<(String, u64)>,
    /// Members that did not answer and were left out (D8: reachable members only).
    pub unreachable: Vec<String>,
    /// Size of the union: distinct token objects (a key pair counts 2).
    pub objects: usize,
    /// Copies that could not be made.
    pub failures: Vec<SyncFailure>,
}

/// A copy that no holder of the object could make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncFailure {
    /// The member that lacks the object.
    pub member: String,
    /// The object's group-wide id.
    pub id: ObjectId,
    /// The object's class.
    pub class: ObjectClass,
    /// What the last attempt returned.
    pub rv: Ckr,
}

/// Why a synchronisation did not start. Nothing was cloned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SyncError {
    /// A reachable member refused LunaCM's session or login.
    #[error(
        "member {serial} cannot be opened with the Crypto Officer credential LunaCM was given: {rv} (B9, B61)"
    )]
    Login {
        /// The member.
        serial: String,
        /// What it returned.
        rv: Ckr,
    },
    /// Listing a member's token objects failed.
    #[error("reading the token objects of member {serial} failed: {rv} (B61)")]
    Read {
        /// The member.
        serial: String,
        /// What it returned.
        rv: Ckr,
    },
    /// No member of the group answered.
    #[error("no member of the group is reachable (D8)")]
    NoneReachable,
}

/// A reachable member opened by LunaCM.
struct Opened {
    serial: String,
    slot: usize,
    session: SessionHandle,
    objects: BTreeMap<ObjectKey, ObjectHandle>,
    policy0: Option<u64>,
}

/// `CKO_*`-style name of a class for messages.
pub fn class_name(class: ObjectClass) -> &'static str {
    match class {
        ObjectClass::Data => "data object",
        ObjectClass::SecretKey => "secret key",
        ObjectClass::PrivateKey => "private key",
        ObjectClass::PublicKey => "public key",
    }
}

/// Synchronises the members of the group at `group` (index in the configuration) with the
/// Crypto Officer `credential`. An unknown index synchronises nothing.
pub fn synchronize(
    cm: &mut LunaCm,
    group: usize,
    credential: &Secret,
) -> Result<SyncReport, SyncError> {
    let members = cm
        .config
        .groups
        .get(group)
        .map(|g| g.members.clone())
        .unwrap_or_default();
    let view = SlotView::probe(cm);
    let mut report = SyncReport::default();
    let mut opened: Vec<Opened> = Vec::new();
    for serial in members {
        let slot = match cm.slot_index(&serial) {
            Some(slot) if view.is_present(slot) => slot,
            _ => {
                report.unreachable.push(serial);
                continue;
            }
        };
        match open(cm, slot, &serial, credential) {
            Ok(o) => opened.push(o),
            Err(e) => {
                close(cm, &opened);
                return Err(e);
            }
        }
    }
    if opened.is_empty() {
        return Err(SyncError::NoneReachable);
    }
    report.conflict = conflict(&opened, &view);
    let mut union: BTreeMap<ObjectKey, Vec<usize>> = BTreeMap::new();
    for (i, o) in opened.iter().enumerate() {
        for key in o.objects.keys() {
            union.entry(key.clone()).or_default().push(i);
        }
    }
    report.objects = union.len();
    for target in 0..opened.len() {
        let mut count = 0;
        for (key, holders) in &union {
            if let Some(&held) = opened[target].objects.get(key) {
                // Planted bug (exploration's teeth): a data object copied over the target's
                // own copy from the first member holding it.
                let overwrite = cm.overwrite_by_id
                    && key.1 == ObjectClass::Data
                    && holders.first().is_some_and(|&h| h != target);
                if !overwrite {
                    continue;
                }
                let (slot, session) = (opened[target].slot, opened[target].session);
                let _ = cm.member(slot).destroy_object(session, held);
                opened[target].objects.remove(key);
            }
            match copy(cm, &opened, holders, target, key) {
                Ok(handle) => {
                    opened[target].objects.insert(key.clone(), handle);
                    count += 1;
                }
                Err(rv) => report.failures.push(SyncFailure {
                    member: opened[target].serial.clone(),
                    id: key.0.clone(),
                    class: key.1,
                    rv,
                }),
            }
        }
        report.cloned.push((opened[target].serial.clone(), count));
    }
    close(cm, &opened);
    Ok(report)
}

/// Opens a session on a reachable member, logs in and lists its token objects.
fn open(
    cm: &mut LunaCm,
    slot: usize,
    serial: &str,
    credential: &Secret,
) -> Result<Opened, SyncError> {
    let member = cm.member(slot);
    let policy0 = member.properties().ok().map(|p| {
        p.partition_policies
            .get(&PARTITION_ALLOW_PRIVATE_KEY_CLONING)
            .copied()
            .unwrap_or(0)
    });
    let login_error = |rv| SyncError::Login {
        serial: serial.to_string(),
        rv,
    };
    let session = member.open_session().map_err(login_error)?;
    let listed = (|| -> Result<BTreeMap<ObjectKey, ObjectHandle>, SyncError> {
        member_session::login(member, session, credential).map_err(login_error)?;
        let read_error = |rv| SyncError::Read {
            serial: serial.to_string(),
            rv,
        };
        let mut objects = BTreeMap::new();
        for h in member
            .find_objects(session, &member_session::token_objects())
            .map_err(read_error)?
        {
            let info = member.object_info(session, h).map_err(read_error)?;
            objects.insert((info.id, info.class), h);
        }
        Ok(objects)
    })();
    match listed {
        Ok(objects) => Ok(Opened {
            serial: serial.to_string(),
            slot,
            session,
            objects,
            policy0,
        }),
        Err(e) => {
            // The member refused; closing LunaCM's session is all that is left to do.
            let _ = member.close_session(session);
            Err(e)
        }
    }
}

/// B14: the first reachable member whose partition policy 0 differs from the first reachable
/// member's, as LunaCM slot numbers.
fn conflict(opened: &[Opened], view: &SlotView) -> Option<(usize, usize)> {
    let reference = opened.iter().find(|o| o.policy0.is_some())?;
    let other = opened
        .iter()
        .find(|o| o.policy0.is_some() && o.policy0 != reference.policy0)?;
    Some((view.number_of(reference.slot)?, view.number_of(other.slot)?))
}

/// Clones `key` to `target` from the first holder that can export it.
fn copy(
    cm: &mut LunaCm,
    opened: &[Opened],
    holders: &[usize],
    target: usize,
    key: &ObjectKey,
) -> Result<ObjectHandle, Ckr> {
    let mut last = Ckr::CKR_GENERAL_ERROR;
    for &source in holders {
        let src = &opened[source];
        let Some(&handle) = src.objects.get(key) else {
            continue;
        };
        let blob = match cm.member(src.slot).export_clone(src.session, handle) {
            Ok(blob) => blob,
            Err(rv) => {
                last = rv;
                continue;
            }
        };
        let dst = &opened[target];
        match cm.member(dst.slot).import_clone(dst.session, &blob) {
            Ok(h) => return Ok(h),
            Err(rv) => last = rv,
        }
    }
    Err(last)
}

/// Closes LunaCM's sessions (a member that went away meanwhile has nothing left to close).
fn close(cm: &mut LunaCm, opened: &[Opened]) {
    for o in opened {
        let _ = cm.member(o.slot).close_session(o.session);
    }
}
