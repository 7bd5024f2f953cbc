//! Dispatch of single-part crypto calls with transparent failover (B25, B29, D3, D4, D19).
//!
//! A call is split in three so that calls can overlap (architecture "calls in flight"):
//! [`HaEngine::begin`] decides which member serves it and counts it in flight;
//! [`HaEngine::call`] performs the member call (no engine decision is taken there);
//! [`HaEngine::complete`] takes the result back: success, an error for the application, or a
//! re-dispatch to another member after dropping the failed one.

use crate::ckr::Ckr;
use crate::engine::HaEngine;
use crate::error::EngineError;
use crate::ports::{MemberResult, Millis, ObjectClass, ObjectId};
use crate::state::{VObjectHandle, VSessionHandle};

/// A single-part crypto operation on the virtual slot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CryptoOp {
    /// `C_Sign`.
    Sign,
    /// `C_Encrypt`.
    Encrypt,
}

impl CryptoOp {
    /// The PKCS#11 function name.
    pub fn function(&self) -> &'static str {
        match self {
            CryptoOp::Sign => "C_Sign",
            CryptoOp::Encrypt => "C_Encrypt",
        }
    }
}

/// A call decided and not yet completed.
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
    /// The member's connection the call was sent on (see `MemberRuntime::epoch`).
    epoch: u64,
    /// Members found not to hold the object (a session object is never reintroduced, D7).
    lacking: Vec<usize>,
    op: CryptoOp,
    vs: VSessionHandle,
    id: ObjectId,
    class: ObjectClass,
    data: Vec<u8>,
}

/// What `complete` decided.
#[derive(Debug, PartialEq, Eq)]
pub enum Completion {
    /// The application gets this result.
    Done(Result<Vec<u8>, EngineError>),
    /// The member failed and was dropped; the call goes to another member.
    Redispatch(Dispatch),
}

impl HaEngine {
    /// Decides which member serves `op` on `key` (B25, D6) and counts it in flight.
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
                epoch: 0,
                lacking: Vec::new(),
                op,
                vs,
                id: target.id,
                class: target.class,
                data: data.to_vec(),
            },
        )
    }

    /// Performs the member call of a dispatch. A stale member handle (members reissue them)
    /// is looked up again once.
    pub fn call(&mut self, d: &Dispatch) -> MemberResult<Vec<u8>> {
        let (g, m) = (d.group, d.member);
        if !self.on_current_connection(d) {
            // The connection the call was sent on is gone (the member was dropped, and maybe
            // recovered, meanwhile): the call fails as a transport failure would.
            return Err(Ckr::CKR_DEVICE_ERROR);
        }
        let s = self.ensure_session(g, m, d.vs)?;
        let first = self.call_once(d, s);
        if first == Err(Ckr::CKR_OBJECT_HANDLE_INVALID) {
            self.member_mut(g, m)
                .handles
                .remove(&(d.id.clone(), d.class));
            return self.call_once(d, s);
        }
        first
    }

    /// Takes back the result of a dispatch (D3, D4): a drop code drops the member and
    /// re-dispatches; any other result goes to the application.
    pub fn complete(
        &mut self,
        now: Millis,
        d: Dispatch,
        result: MemberResult<Vec<u8>>,
    ) -> Completion {
        let (g, m) = (d.group, d.member);
        if self.on_current_connection(&d) {
            let member = self.member_mut(g, m);
            member.in_flight = member.in_flight.saturating_sub(1);
        } else if !self.is_initialized() || g >= self.group_count() || m >= self.member_count(g) {
            // A dispatch from before C_Finalize: nothing to go back to.
            return Completion::Done(Err(EngineError::new(
                Ckr::CKR_CRYPTOKI_NOT_INITIALIZED,
                d.op.function(),
            )));
        }
        match result {
            Ok(out) => Completion::Done(Ok(out)),
            Err(rv) if rv.drops_member() => {
                self.drop_member(g, m, now, rv);
                self.redispatch(now, d)
            }
            Err(rv) if self.check_deactivated(g, m, now, rv) => {
                if !self.config.failover_on_deactivation {
                    // D17 without failover_on_deactivation: this one call sees the code.
                    return Completion::Done(Err(EngineError::new(rv, d.op.function())));
                }
                self.redispatch(now, d)
            }
            Err(Ckr::CKR_OBJECT_HANDLE_INVALID)
                if self.group(g).objects.contains_key(&(d.id.clone(), d.class)) =>
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

    /// `C_Sign` on the virtual slot: begin, call, complete until done.
    pub fn sign(
        &mut self,
        now: Millis,
        vs: VSessionHandle,
        key: VObjectHandle,
        data: &[u8],
    ) -> Result<Vec<u8>, EngineError> {
        self.run_to_completion(now, vs, CryptoOp::Sign, key, data)
    }

    /// `C_Encrypt` on the virtual slot.
    pub fn encrypt(
        &mut self,
        now: Millis,
        vs: VSessionHandle,
        key: VObjectHandle,
        data: &[u8],
    ) -> Result<Vec<u8>, EngineError> {
        self.run_to_completion(now, vs, CryptoOp::Encrypt, key, data)
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
            let result = self.call(&d);
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
        let Some(m) = crate::balance::choose_except(self.group(g), &d.lacking) else {
            self.note_if_all_offline(g, now);
            return Err(EngineError::new(Ckr::CKR_DEVICE_ERROR, d.op.function()));
        };
        d.member = m;
        d.serial = self.member_serial(g, m);
        d.epoch = self.member(g, m).epoch;
        let gr = self.group_mut(g);
        gr.last_chosen = Some(m);
        gr.members[m].in_flight += 1;
        tracing::debug!(group = g, member = %d.serial, ticket = d.ticket, "dispatched");
        Ok(d)
    }

    fn call_once(&mut self, d: &Dispatch, s: crate::ports::SessionHandle) -> MemberResult<Vec<u8>> {
        let (g, m) = (d.group, d.member);
        let h = self.member_handle(g, m, s, &d.id, d.class)?;
        let slot = self.member_slot(g, m);
        let member = &mut self.slots[slot].member;
        match d.op {
            CryptoOp::Sign => member.sign(s, h, &d.data),
            CryptoOp::Encrypt => member.encrypt(s, h, &d.data),
        }
    }
}
