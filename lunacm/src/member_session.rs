//! Short-lived sessions on one member for administration and for the application's direct use
//! of a physical slot: open a session, log in (a token this application is already logged in to
//! counts as logged in: login is per token and application), do the work, close the session.
//! Never logs out: the login state is the partition's, and a running application may share it.

use std::collections::BTreeSet;

use ha_engine::ckr::Ckr;
use ha_engine::ports::{Member, MemberResult, ObjectId, ObjectQuery, Secret, SessionHandle};

/// Logs in, treating `CKR_USER_ALREADY_LOGGED_IN` as success.
pub(crate) fn login(
    member: &mut dyn Member,
    session: SessionHandle,
    pin: &Secret,
) -> MemberResult<()> {
    match member.login(session, pin) {
        Ok(()) | Err(Ckr::CKR_USER_ALREADY_LOGGED_IN) => Ok(()),
        Err(rv) => Err(rv),
    }
}

/// Runs `work` on a fresh, logged-in session of `member` and closes the session afterwards,
/// whatever `work` returned.
pub(crate) fn with_logged_in_session<T>(
    member: &mut dyn Member,
    pin: &Secret,
    work: impl FnOnce(&mut dyn Member, SessionHandle) -> MemberResult<T>,
) -> MemberResult<T> {
    let session = member.open_session()?;
    let result = login(member, session, pin).and_then(|()| work(member, session));
    // A member that just went away has nothing left to close; the work's result decides.
    let _ = member.close_session(session);
    result
}

/// `clear_token_objects` stopped at a failure; `destroyed` objects were gone by then and stay
/// gone (there is no undo of a destroy).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ClearFailure {
    /// PKCS#11 objects destroyed before the failure.
    pub destroyed: u64,
    /// What the failing call returned.
    pub rv: Ckr,
}

impl ClearFailure {
    /// `CKR_...`, or `CKR_... after N token objects were deleted` when some went first.
    pub(crate) fn describe(&self) -> String {
        match self.destroyed {
            0 => self.rv.to_string(),
            n => format!("{} after {n} token objects were deleted", self.rv),
        }
    }
}

/// Destroys every token object of the member; returns how many PKCS#11 objects went. It stops
/// at the first failure, which says how many objects were destroyed before it.
pub(crate) fn clear_token_objects(
    member: &mut dyn Member,
    pin: &Secret,
) -> Result<u64, ClearFailure> {
    let mut destroyed = 0;
    with_logged_in_session(member, pin, |member, s| {
        for h in member.find_objects(s, &token_objects())? {
            member.destroy_object(s, h)?;
            destroyed += 1;
        }
        Ok(())
    })
    .map(|()| destroyed)
    .map_err(|rv| ClearFailure { destroyed, rv })
}

/// The ids of the member's token objects.
pub(crate) fn token_object_ids(
    member: &mut dyn Member,
    pin: &Secret,
) -> MemberResult<BTreeSet<ObjectId>> {
    with_logged_in_session(member, pin, |member, s| {
        let mut ids = BTreeSet::new();
        for h in member.find_objects(s, &token_objects())? {
            ids.insert(member.object_info(s, h)?.id);
        }
        Ok(ids)
    })
}

/// The `C_FindObjects` template for every token object.
pub(crate) fn token_objects() -> ObjectQuery {
    ObjectQuery {
        token: Some(true),
        ..ObjectQuery::default()
    }
}
