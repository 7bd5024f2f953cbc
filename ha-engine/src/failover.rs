//! Dispatch of single-part crypto calls with transparent failover (B25, B29, D3, D4, D19).
//!
//! A call is split in three so that calls can overlap (architecture "calls in flight"):
//! [`HaEngine::begin`] decides which member serves it, counts it in flight and gets the member
//! session and object handle ready; the caller makes the member call itself with what the
//! [`Dispatch`] carries ([`Dispatch::call`]: the shared member handle, session, object handle,
//! the client's timeouts), on its own thread and without holding the engine;
//! [`HaEngine::complete`] takes the result back: success, an error for the application, or a
//! re-dispatch (to another member after dropping the failed one, or to the same member after
//! a stale object handle).

use crate::ckr::Ckr;
use crate::engine::HaEngine;
use crate::error::EngineError;
use crate::ports::{
    MemberRef, MemberResult, Millis, ObjectClass, ObjectHandle, ObjectId, ObjectKey, SessionHandle,
    Timeouts,
};
use crate::state::{VObjectHandle, VSessionHandle};

/// A single-part crypto operation on the virtual slot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CryptoOp {
    /// `C_Sign`.
    Sign,
    /// `C_Encrypt`.
    Encrypt,
    /// `C_SetAttributeValue` of a data object's value (the data are the new value): a
    /// single-part call on the member the engine picks, never replicated (B22).
    SetValue,
}

impl CryptoOp {
    /// The PKCS#11 function name.
    pub fn function(&self) -> &'static str {
        match self {
            CryptoOp::Sign => "C_Sign",
            CryptoOp::Encrypt => "C_Encrypt",
            CryptoOp::SetValue => "C_SetAttributeValue",
        }
    }
}

/// A call decided and not yet completed: everything the caller needs to make the member call
/// itself ([`Dispatch::call`]), on its own thread, without holding the engine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dispatch {
    /// Identifies the call across re-dispatches.
    pub ticket: u64,
    /// Group index.
    pub group: usize,
    /// Member index in the group.
    pub member: usize,
    /// Serial of the member serving it.
    pub serial: String,
    /// The member to call (shared with the engine's slot).
    pub handle: Option<MemberRef>,
    /// The member session the call goes on (the thread's virtual session, opened and logged
    /// in on that member when needed).
    pub session: SessionHandle,
    /// The object's handle on that member.
    pub object: ObjectHandle,
    /// The client's call limits (B28, B32), passed to the member with the call.
    pub timeouts: Timeouts,
    /// What getting the session and the object handle ready answered: an error here is the
    /// call's result ([`Dispatch::call`] returns it without calling the member).
    pub prepared: MemberResult<()>,
    /// The member's connection the call was sent on (see `MemberRuntime::epoch`).
    epoch: u64,
    /// The member's object handle was looked up again after it answered "invalid handle"
    /// (members reissue handles); a second "invalid handle" means the member lacks the object.
    relooked: bool,
    /// Members found not to hold the object (a session object is never reintroduced, D7).
    lacking: Vec<usize>,
    /// The login the call began under: the group's logout count then, `None` when the
    /// application was not logged in (D66).
    login: Option<u64>,
    op: CryptoOp,
    vs: VSessionHandle,
    id: ObjectId,
    class: ObjectClass,
    data: Vec<u8>,
}

impl Dispatch {
    /// The member's connection the call was sent on.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The operation.
    pub fn op(&self) -> &CryptoOp {
        &self.op
    }

    /// Makes the member call: the session and object were made ready by the engine; a failure
    /// there is returned as the call's result. Holds only this member's lock, so two
    /// dispatches on two members run at once from two threads.
    pub fn call(&self) -> MemberResult<Vec<u8>> {
        self.prepared?;
        let Some(handle) = &self.handle else {
            return Err(Ckr::CKR_DEVICE_ERROR);
        };
        let mut member = handle.lock();
        member.set_call_limits(self.timeouts);
        match self.op {
            CryptoOp::Sign => member.sign(self.session, self.object, &self.data),
            CryptoOp::Encrypt => member.encrypt(self.session, self.object, &self.data),
            CryptoOp::SetValue => member
                .set_value(self.session, self.object, &self.data)
                .map(|()| Vec::new()),
        }
    }
}

/// What `complete` decided.
#[derive(Debug, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)] // moved once per call; boxing would allocate on every re-dispatch
pub enum Completion {
    /// The application gets this result.
    Done(Result<Vec<u8>, EngineError>),
    /// The call goes (again) to a member: after a drop, to another one; after a stale object
    /// handle, to the same one with the handle looked up again.
    Redispatch(Dispatch),
}

impl HaEngine {
    /// Decides which member serves `op` on `key` (B25, D6), counts it in flight and gets the
    /// member session and object handle ready (member calls made here, on the caller's behalf).
    /// The caller then makes the call ([`Dispatch::call`]) and hands the result to
    /// [`HaEngine::complete`].
    pub fn begin(
        &mut self,
        now: Millis,
        vs: VSessionHandle,
        op: CryptoOp,
        key: VObjectHandle,
        data: &[u8],
    ) -> Result<Dispatch, EngineError> {
        let function = op.function();
        self.drive_pending(now);
        let g = self.session_group(vs, function)?;
        let target = self.virtual_object(key, g, function)?;
        self.next_ticket += 1;
        let ticket = self.next_ticket;
        self.dispatch_to_next(
            now,
            Dispatch {
                ticket,
                group: g,
                member: 0,
                serial: String::new(),
                handle: None,
                session: 0,
                object: 0,
                timeouts: self.config.timeouts(),
                prepared: Ok(()),
                epoch: 0,
                relooked: false,
                lacking: Vec::new(),
                login: self.group(g).logged_in.then_some(self.group(g).logouts),
                op,
                vs,
                id: target.id,
                class: target.class,
                data: data.to_vec(),
            },
        )
    }

    /// Takes back the result of a dispatch (D3, D4): a drop code drops the member and
    /// re-dispatches; a stale object handle is looked up again on the same member; any other
    /// result goes to the application. A result from a connection that has been lost since the
    /// call was sent is a transport failure, whatever came back (D5, D19).
    pub fn complete(
        &mut self,
        now: Millis,
        d: Dispatch,
        result: MemberResult<Vec<u8>>,
    ) -> Completion {
        let (g, m) = (d.group, d.member);
        let current = self.on_current_connection(&d);
        if !current
            && (!self.is_initialized() || g >= self.group_count() || m >= self.member_count(g))
        {
            // A dispatch from before C_Finalize: nothing to go back to.
            return Completion::Done(Err(EngineError::new(
                Ckr::CKR_CRYPTOKI_NOT_INITIALIZED,
                d.op.function(),
            )));
        }
        let result = if current {
            result
        } else {
            Err(Ckr::CKR_DEVICE_ERROR)
        };
        if current && !d.relooked && result == Err(Ckr::CKR_OBJECT_HANDLE_INVALID) {
            // Members reissue handles (after a logout, a reconnect): look it up once more on
            // the same member; the call stays in flight there.
            let mut d = d;
            d.relooked = true;
            self.member_mut(g, m)
                .handles
                .remove(&(d.id.0.as_slice(), d.class) as &dyn ObjectKey);
            d.prepared = self.prepare(&mut d);
            return Completion::Redispatch(d);
        }
        if current {
            let member = self.member_mut(g, m);
            member.in_flight = member.in_flight.saturating_sub(1);
        }
        match result {
            Ok(out) => Completion::Done(Ok(out)),
            Err(rv) if rv.drops_member() => {
                self.drop_member(g, m, now, rv);
                self.redispatch(now, d)
            }
            // D71: the login the call began under ended while it was in flight (another
            // thread's `C_Logout`, D60), or it began without one: a member answering "not
            // logged in" shows the application's own state, not a deactivation (D17). The code
            // goes back, nothing is dropped, no other member is tried (as D66).
            Err(Ckr::CKR_USER_NOT_LOGGED_IN)
                if !self.group(g).logged_in || d.login != Some(self.group(g).logouts) =>
            {
                Completion::Done(Err(EngineError::new(
                    Ckr::CKR_USER_NOT_LOGGED_IN,
                    d.op.function(),
                )))
            }
            Err(rv) if self.check_deactivated(g, m, now, rv) => {
                if !self.config.failover_on_deactivation {
                    // D17 without failover_on_deactivation: this one call sees the code.
                    return Completion::Done(Err(EngineError::new(
                        crate::engine::DEACTIVATED,
                        d.op.function(),
                    )));
                }
                self.redispatch(now, d)
            }
            // The call began without a login, or the application logged out while it was in
            // flight (another thread's `C_Logout`, D60): the member does not show it the private
            // key. That is the application's own state, not a member lacking the object: the
            // code goes back to the application (D3) and no other member, standby included, is
            // tried (D66).
            Err(Ckr::CKR_OBJECT_HANDLE_INVALID)
                if !self.group(g).logged_in || d.login != Some(self.group(g).logouts) =>
            {
                Completion::Done(Err(EngineError::new(
                    Ckr::CKR_OBJECT_HANDLE_INVALID,
                    d.op.function(),
                )))
            }
            Err(Ckr::CKR_OBJECT_HANDLE_INVALID)
                if self.group(g).objects.contains_key(&(d.id.0.as_slice(), d.class) as &dyn ObjectKey) =>
            {
                // The group holds the object but this member does not (a session object made
                // before it recovered, D7): another member serves the call; this one stays.
                let mut d = d;
                d.lacking.push(m);
                if crate::balance::choose_except(self.group(g), &d.lacking).is_none() {
                    return Completion::Done(Err(EngineError::new(
                        Ckr::CKR_OBJECT_HANDLE_INVALID,
                        d.op.function(),
                    )));
                }
                self.redispatch(now, d)
            }
            Err(rv) => Completion::Done(Err(EngineError::new(rv, d.op.function()))),
        }
    }

    /// `C_Sign` on the virtual slot: begin, call, complete until done. A convenience for
    /// single-threaded use: the call is made while the engine is borrowed, and no time passes
    /// (a driver that owns time, or several threads, use `begin` / [`Dispatch::call`] /
    /// `complete`).
    pub fn sign(
        &mut self,
        now: Millis,
        vs: VSessionHandle,
        key: VObjectHandle,
        data: &[u8],
    ) -> Result<Vec<u8>, EngineError> {
        self.run_to_completion(now, vs, CryptoOp::Sign, key, data)
    }

    /// `C_Encrypt` on the virtual slot; a single-threaded convenience like [`HaEngine::sign`].
    pub fn encrypt(
        &mut self,
        now: Millis,
        vs: VSessionHandle,
        key: VObjectHandle,
        data: &[u8],
    ) -> Result<Vec<u8>, EngineError> {
        self.run_to_completion(now, vs, CryptoOp::Encrypt, key, data)
    }

    /// `C_SetAttributeValue` of the data object `object`'s value on the virtual slot: one
    /// member, the one the engine picks as for any single-part call (B25), with failover; the
    /// change is not replicated (B22: replication applies to creation), so the members' copies
    /// differ afterwards and nothing reconciles them.
    pub fn set_value(
        &mut self,
        now: Millis,
        vs: VSessionHandle,
        object: VObjectHandle,
        value: &[u8],
    ) -> Result<(), EngineError> {
        self.run_to_completion(now, vs, CryptoOp::SetValue, object, value)
            .map(|_| ())
    }

    fn run_to_completion(
        &mut self,
        now: Millis,
        vs: VSessionHandle,
        op: CryptoOp,
        key: VObjectHandle,
        data: &[u8],
    ) -> Result<Vec<u8>, EngineError> {
        let mut d = self.begin(now, vs, op, key, data)?;
        loop {
            let result = d.call();
            match self.complete(now, d, result) {
                Completion::Done(r) => return r,
                Completion::Redispatch(next) => d = next,
            }
        }
    }

    /// True while the dispatch's member is alive on the connection the call was sent on.
    fn on_current_connection(&self, d: &Dispatch) -> bool {
        self.is_initialized()
            && d.group < self.group_count()
            && d.member < self.member_count(d.group)
            && self.member(d.group, d.member).is_alive()
            && self.member(d.group, d.member).epoch == d.epoch
    }

    /// D4: the call goes to the next usable member, or fails when none is left.
    fn redispatch(&mut self, now: Millis, d: Dispatch) -> Completion {
        match self.dispatch_to_next(now, d) {
            Ok(next) => Completion::Redispatch(next),
            Err(e) => Completion::Done(Err(e)),
        }
    }

    fn dispatch_to_next(&mut self, now: Millis, mut d: Dispatch) -> Result<Dispatch, EngineError> {
        let g = d.group;
        let planted_standby = if self.planted(crate::planted::PlantedBug::StandbyServes) {
            let group = self.group(g);
            (0..group.members.len())
                .find(|m| group.members[*m].standby && group.members[*m].is_alive())
        } else {
            None
        };
        let Some(m) =
            planted_standby.or_else(|| crate::balance::choose_except(self.group(g), &d.lacking))
        else {
            if !d.lacking.is_empty() && !self.group(g).usable().is_empty() {
                // Usable members remain and none of them holds the object: that, not a lost
                // device, is the answer ("objects a member lacks").
                return Err(EngineError::new(
                    Ckr::CKR_OBJECT_HANDLE_INVALID,
                    d.op.function(),
                ));
            }
            self.note_if_all_offline(g, now);
            return Err(EngineError::new(Ckr::CKR_DEVICE_ERROR, d.op.function()));
        };
        d.member = m;
        d.serial = self.member_serial(g, m);
        d.epoch = self.member(g, m).epoch;
        d.handle = Some(self.slots[self.member_slot(g, m)].shared.clone());
        d.relooked = false;
        let gr = self.group_mut(g);
        gr.last_chosen = Some(m);
        gr.members[m].in_flight += 1;
        tracing::debug!(group = g, member = %d.serial, ticket = d.ticket, "dispatched");
        d.prepared = self.prepare(&mut d);
        Ok(d)
    }

    /// Gets the dispatch's member session (opened and logged in when needed) and object handle
    /// (looked up when not known) ready.
    fn prepare(&mut self, d: &mut Dispatch) -> MemberResult<()> {
        let (g, m) = (d.group, d.member);
        d.session = self.ensure_session(g, m, d.vs)?;
        d.object = self.member_handle(g, m, d.session, &d.id, d.class)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Condvar, Mutex};
    use std::time::Duration;

    use super::*;
    use crate::ports::{KeyKind, Secret};
    use crate::test_support::{FIXTURE_CO, fixture, group_config};

    /// A barrier that gives up: `meet` returns once `n` calls are inside it, or false after
    /// `patience` (so a test whose calls cannot overlap fails instead of hanging).
    struct Meeting {
        arrived: Mutex<usize>,
        all_here: Condvar,
        n: usize,
        patience: Duration,
    }

    impl Meeting {
        fn new(n: usize, patience: Duration) -> Arc<Meeting> {
            Arc::new(Meeting {
                arrived: Mutex::new(0),
                all_here: Condvar::new(),
                n,
                patience,
            })
        }
    }

    /// Two members in group `g`, logged in, one AES key; every signature waits at `meeting`.
    fn group_signing_at(
        meeting: &Arc<Meeting>,
    ) -> (crate::test_support::Fixture, VSessionHandle, VObjectHandle) {
        let mut f = fixture(&["11", "22"]);
        let engine = &mut f.engine;
        engine
            .apply_config(group_config("g", &["11", "22"]), Default::default(), 0)
            .expect("configure");
        engine.initialize(0).expect("initialise");
        let vs = engine.open_session(0, 0).expect("session");
        engine
            .login(0, vs, &Secret::new(FIXTURE_CO))
            .expect("login");
        let key = engine
            .generate_key(0, vs, KeyKind::Aes256, "k", true)
            .expect("key")[0];
        for control in &f.controls {
            let meeting = meeting.clone();
            control.set_sign_gate(Arc::new(move || meeting.meet()));
        }
        (f, vs, key)
    }

    impl Meeting {
        fn meet(&self) -> bool {
            let mut arrived = self.arrived.lock().unwrap_or_else(|p| p.into_inner());
            *arrived += 1;
            self.all_here.notify_all();
            let (_arrived, waited) = self
                .all_here
                .wait_timeout_while(arrived, self.patience, |a| *a < self.n)
                .unwrap_or_else(|p| p.into_inner());
            !waited.timed_out()
        }
    }

    #[test]
    fn not_logged_in_across_a_logout_in_flight_is_no_deactivation() {
        // D71 (D17, D60, D66): the call began under a login that another thread's logout ended
        // while it was in flight; the member's "not logged in" is the application's own state,
        // even though the group is logged in again when the answer comes back.
        let meeting = Meeting::new(1, Duration::from_secs(1));
        let (mut f, vs, key) = group_signing_at(&meeting);
        let engine = &mut f.engine;
        let d = engine
            .begin(0, vs, CryptoOp::Sign, key, b"data")
            .expect("begin");
        engine.logout(0, vs).expect("logout");
        engine
            .login(0, vs, &Secret::new(FIXTURE_CO))
            .expect("login again");
        let done = engine.complete(0, d, Err(Ckr::CKR_USER_NOT_LOGGED_IN));
        assert_eq!(
            done,
            Completion::Done(Err(EngineError::new(
                Ckr::CKR_USER_NOT_LOGGED_IN,
                CryptoOp::Sign.function()
            )))
        );
        assert_eq!(engine.alive_members()["g"].len(), 2);
        assert!(
            !f.sink.lines().iter().any(|l| l.contains("deactivated")),
            "{:?}",
            f.sink.lines()
        );
    }

    #[test]
    #[allow(clippy::disallowed_methods)] // The one test that needs two OS threads: it proves two member calls can be in flight at once outside the engine.
    fn two_threads_sign_on_two_members_at_once_without_holding_the_engine() {
        // A signature returns only when both are inside their member at once.
        let meeting = Meeting::new(2, Duration::from_secs(10));
        let (mut f, vs1, key) = group_signing_at(&meeting);
        let vs2 = f.engine.open_session(0, 0).expect("session 2");
        let engine = &mut f.engine;
        let d1 = engine
            .begin(0, vs1, CryptoOp::Sign, key, b"one")
            .expect("begin 1");
        let d2 = engine
            .begin(0, vs2, CryptoOp::Sign, key, b"two")
            .expect("begin 2");
        assert_ne!(
            d1.serial, d2.serial,
            "least busy: the second call goes to the other member"
        );

        let (r1, r2) = std::thread::scope(|s| {
            let t1 = s.spawn(|| d1.call());
            let t2 = s.spawn(|| d2.call());
            // The engine is free while both calls are in flight.
            assert_eq!(engine.alive_members()["g"].len(), 2);
            (t1.join().expect("thread 1"), t2.join().expect("thread 2"))
        });
        assert_eq!(
            r1,
            Ok(b"one".to_vec()),
            "call 1 met call 2 inside the members"
        );
        assert_eq!(
            r2,
            Ok(b"two".to_vec()),
            "call 2 met call 1 inside the members"
        );
        assert_eq!(
            engine.complete(0, d1, r1),
            Completion::Done(Ok(b"one".to_vec()))
        );
        assert_eq!(
            engine.complete(0, d2, r2),
            Completion::Done(Ok(b"two".to_vec()))
        );
    }

    #[test]
    fn a_call_alone_does_not_pass_the_meeting() {
        // The check above can fail: a call that never overlaps another gives up.
        let meeting = Meeting::new(2, Duration::from_millis(50));
        let (mut f, vs, key) = group_signing_at(&meeting);
        let d = f
            .engine
            .begin(0, vs, CryptoOp::Sign, key, b"alone")
            .expect("begin");
        assert_eq!(d.call(), Err(Ckr::CKR_FUNCTION_FAILED));
    }
}
