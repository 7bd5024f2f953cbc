//! [`HaEngine`]: the client-side HA layer. Owns the physical slots the client sees, the client
//! configuration, the HA log writer and, after `C_Initialize`, the runtime state.
//!
//! Call order (quinn-proto style): build with [`HaEngine::new`]; configure with
//! [`HaEngine::apply_config`] (the administration side, LunaCM, does this after each command;
//! see [`crate::admin`]); [`HaEngine::initialize`]; then application calls
//! (`open_session`, `login`, `generate_key`, `sign`, ... or the split `begin` / `call` /
//! `complete`), interleaved with [`HaEngine::next_deadline`] / [`HaEngine::on_timer`] driven by
//! whoever owns time; [`HaEngine::finalize`] at the end. [`HaEngine::poll_event`] drains what
//! happened (log records) for observers.

use std::collections::{BTreeMap, VecDeque};

use crate::ckr::Ckr;
use crate::config::ClientConfig;
use crate::error::EngineError;
use crate::log::{HaLogMessage, HaLogSettings, HaLogWriter};
use crate::ports::{Calendar, LogSink, Member, MemberRef, Millis, ObjectKey, Secret, Timeouts};
use crate::slot_member::{LimitsCell, SlotMember};
use crate::state::{
    Down, DownReason, GroupRuntime, Liveness, MemberRuntime, VObject, VObjectHandle, VSession,
    VSessionHandle,
};

/// What the application sees from the one call that finds a member deactivated when
/// `failover_on_deactivation` is 0 (D17), whichever way the member said it.
pub(crate) const DEACTIVATED: Ckr = Ckr::CKR_USER_NOT_LOGGED_IN;

/// Something the engine did that an observer may want (the harness's coverage, tracing).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EngineEvent {
    /// An HA log record was produced for a group (whether or not a file received it).
    Log {
        /// When.
        at: Millis,
        /// The group serial in the prefix.
        group_serial: String,
        /// The message.
        message: HaLogMessage,
    },
    /// A member held the orphan of a creation whose answer was lost (the call took effect,
    /// the engine saw a drop and created the object again elsewhere with a new id): it was
    /// destroyed when the member was compared with the group's table, never adopted as a
    /// second copy (D37). No HA log template exists for it; the harness prints it.
    Orphan {
        /// When.
        at: Millis,
        /// The member that held it.
        member: String,
        /// The orphan's id (D8).
        id: String,
        /// Its label.
        label: String,
    },
}

/// A physical slot as the client discovered it: the engine's handle on its member (with the
/// client's limits on every call) and the shared handle dispatches carry.
pub(crate) struct Slot {
    pub(crate) member: Box<dyn Member>,
    pub(crate) shared: MemberRef,
    /// Member sessions whose `C_CloseSession` the member refused without a drop code (a busy
    /// member, D35): still open there, so they would keep the application's login; closed
    /// again before the next login and when a login ends (D44).
    pub(crate) unclosed: Vec<crate::ports::SessionHandle>,
    /// The member refused the application's `C_Logout` without a drop code (busy, D35): its
    /// sessions still carry the login, so it is logged out again before its next use while
    /// the application holds no login (D54).
    pub(crate) logout_pending: bool,
    /// `C_Finalize` could not end the application's sessions on this member, which it counted
    /// down (the member refused without a drop code: busy, D35): sessions of the finished
    /// process, and the login they carry, may still be open there. Every session there is
    /// closed before the engine opens its first one again (D82).
    pub(crate) reset_pending: bool,
}

/// State that exists between `C_Initialize` and `C_Finalize`.
#[derive(Debug, Default)]
pub(crate) struct Runtime {
    pub(crate) groups: Vec<GroupRuntime>,
    pub(crate) sessions: BTreeMap<VSessionHandle, VSession>,
    pub(crate) objects: BTreeMap<VObjectHandle, VObject>,
    pub(crate) next_handle: u64,
    /// The credential the application logged in with, held for recovery (B43).
    pub(crate) credential: Option<Secret>,
    /// Multi-part operations in progress: the member each is pinned to (B27, D5).
    pub(crate) multipart: BTreeMap<VSessionHandle, (usize, u64)>,
}

impl Runtime {
    pub(crate) fn next_handle(&mut self) -> u64 {
        self.next_handle += 1;
        self.next_handle
    }
}

/// The HA engine.
pub struct HaEngine {
    pub(crate) slots: Vec<Slot>,
    pub(crate) config: ClientConfig,
    /// The client's call limits as every slot handle passes them on (from `config`).
    limits: std::sync::Arc<LimitsCell>,
    pub(crate) log: HaLogWriter,
    calendar: Box<dyn Calendar>,
    sink: Box<dyn LogSink>,
    pid: u32,
    pub(crate) runtime: Option<Runtime>,
    /// Virtual handles issued by earlier initialisations (D72): numbering goes on after
    /// `C_Finalize`, so a handle kept across a re-initialisation never names another object.
    handles_issued: u64,
    pub(crate) next_object_id: u64,
    pub(crate) next_ticket: u64,
    /// A manual recovery is waiting for the next drive: the application's next call or the
    /// recovery thread's next run, whichever comes first (B45, D9, D115).
    pub(crate) manual_pending: bool,
    /// A manual recovery asked for members left with gaps to be compared again (B45, B19).
    pub(crate) refill_pending: bool,
    pub(crate) events: VecDeque<EngineEvent>,
    /// A planted bug, for exploration's own tests only ([`crate::planted`]).
    planted: Option<crate::planted::PlantedBug>,
}

impl HaEngine {
    /// An engine over the physical slots the client discovered, in discovery order (D14).
    pub fn new(
        members: Vec<Box<dyn Member>>,
        calendar: Box<dyn Calendar>,
        sink: Box<dyn LogSink>,
        pid: u32,
    ) -> Self {
        let config = ClientConfig::default();
        let limits = std::sync::Arc::new(LimitsCell::new(config.timeouts()));
        let slots = members
            .into_iter()
            .map(|member| {
                let shared = MemberRef::new(member);
                Slot {
                    member: Box::new(SlotMember::new(shared.clone(), limits.clone())),
                    shared,
                    unclosed: Vec::new(),
                    logout_pending: false,
                    reset_pending: false,
                }
            })
            .collect();
        HaEngine {
            slots,
            config,
            limits,
            log: HaLogWriter::new(HaLogSettings::default()),
            calendar,
            sink,
            pid,
            runtime: None,
            handles_issued: 0,
            next_object_id: 0,
            next_ticket: 0,
            manual_pending: false,
            refill_pending: false,
            events: VecDeque::new(),
            planted: None,
        }
    }

    // ---- getters ------------------------------------------------------------------------

    /// The client configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// The HA log settings.
    pub fn log_settings(&self) -> &HaLogSettings {
        self.log.settings()
    }

    /// Serials of the physical slots, in slot order.
    pub fn slot_serials(&self) -> Vec<String> {
        self.slots
            .iter()
            .map(|s| s.member.serial().to_string())
            .collect()
    }

    /// True between `initialize` and `finalize`.
    pub fn is_initialized(&self) -> bool {
        self.runtime.is_some()
    }

    /// Serials of the members the engine currently counts as alive, per group label.
    pub fn alive_members(&self) -> BTreeMap<String, Vec<String>> {
        let mut out = BTreeMap::new();
        if let Some(rt) = &self.runtime {
            for g in &rt.groups {
                out.insert(
                    g.label.clone(),
                    g.members
                        .iter()
                        .filter(|m| m.is_alive())
                        .map(|m| m.serial.clone())
                        .collect(),
                );
            }
        }
        out
    }

    /// The client's call limits now (`[LunaSA Client]`, B28, B32): every member call the engine
    /// makes carries them, and so does every dispatch it hands out.
    pub fn timeouts(&self) -> Timeouts {
        self.config.timeouts()
    }

    /// Hands the configuration's call limits to the slot handles; called wherever the
    /// configuration is replaced or changed.
    pub(crate) fn publish_timeouts(&self) {
        self.limits.set(self.config.timeouts());
    }

    /// Drains one observed event.
    pub fn poll_event(&mut self) -> Option<EngineEvent> {
        self.events.pop_front()
    }

    // ---- lifecycle ----------------------------------------------------------------------

    /// `C_Initialize`: builds the runtime from the configuration, starts each group's
    /// management thread (B55, D16) and probes every member; a member that cannot be reached
    /// is logged `HALOG_DROPUNRECOVERABLE` and left to recovery (B46).
    pub fn initialize(&mut self, now: Millis) -> Result<(), EngineError> {
        if self.runtime.is_some() {
            return Err(EngineError::new(
                Ckr::CKR_CRYPTOKI_ALREADY_INITIALIZED,
                "C_Initialize",
            ));
        }
        let mut groups = Vec::new();
        for (index, gc) in self.config.groups.iter().enumerate() {
            let mut members = Vec::new();
            for serial in &gc.members {
                if let Some(slot) = self.slot_index(serial) {
                    members.push(MemberRuntime::new(
                        slot,
                        serial.clone(),
                        gc.standby.contains(serial),
                    ));
                }
            }
            groups.push(GroupRuntime::new(index, gc.label.clone(), members));
        }
        self.runtime = Some(Runtime {
            groups,
            next_handle: self.handles_issued,
            ..Runtime::default()
        });
        let group_count = self.group_count();
        for g in 0..group_count {
            self.log_group(g, now, HaLogMessage::MgmtThreadStart);
            for m in 0..self.member_count(g) {
                let slot = self.member_slot(g, m);
                // Reachable means both probe calls answer: a connection lost between them is
                // lost at `C_Initialize` all the same (D3, B46).
                let probe = self.slots[slot]
                    .member
                    .token_info()
                    .and_then(|_| self.slots[slot].member.properties());
                if probe.as_ref().is_ok_and(|p| !p.activated) {
                    // B51: excluded until a recovery attempt finds it activated.
                    let serial = self.member_serial(g, m);
                    self.mark_down(g, m, now, DownReason::NotActivated);
                    self.log_group(g, now, HaLogMessage::NotActivatedExcluded { serial });
                } else if let Err(rv) = probe
                    && rv.drops_member()
                {
                    // Only a drop code (D3) says unreachable: a member that answers and refuses
                    // (busy, D35) stays in the group and the next call that needs it gets its
                    // answer (issue 9, exploration seed 462, I2).
                    tracing::debug!(group = g, member = m, rv = %rv, "member unreachable at initialise");
                    let serial = self.member_serial(g, m);
                    self.mark_down(g, m, now, DownReason::Unreachable);
                    self.log_group(g, now, HaLogMessage::DropUnrecoverable { serial });
                }
            }
        }
        Ok(())
    }

    /// `C_Finalize`: closes every member session and stops the management threads (D16).
    /// The record of what members missed is lost with the process (D20).
    pub fn finalize(&mut self, now: Millis) -> Result<(), EngineError> {
        let Some(rt) = self.runtime.as_ref() else {
            return Err(EngineError::new(
                Ckr::CKR_CRYPTOKI_NOT_INITIALIZED,
                "C_Finalize",
            ));
        };
        let mut to_close = Vec::new();
        let mut down = Vec::new();
        for g in &rt.groups {
            for m in &g.members {
                if m.is_alive() {
                    let mut sessions: Vec<_> = m.sessions.values().copied().collect();
                    sessions.extend(m.mgmt);
                    to_close.push((m.slot, sessions));
                } else {
                    down.push(m.slot);
                }
            }
        }
        for (slot, sessions) in to_close {
            for s in sessions {
                // A failure to close on the way out changes nothing the application can see.
                self.close_member_session(slot, s);
            }
        }
        for slot in down {
            // C_Finalize ends every session of the application, also on a member the engine
            // counts down: one it reaches again keeps no session, and so no login, of this
            // process (D41). The answer changes nothing (D40), but a member that refuses
            // without a drop code (busy, D35) still holds them, and with them the login: they
            // are all closed before the engine opens a session there again (D82).
            match self.slots[slot].member.close_all_sessions() {
                Ok(()) => {
                    self.slots[slot].unclosed.clear();
                    self.slots[slot].reset_pending = false;
                }
                Err(rv) if !rv.drops_member() => self.slots[slot].reset_pending = true,
                // The connection is gone, and its sessions with it (D41).
                Err(_) => {}
            }
        }
        for g in 0..self.group_count() {
            self.log_group(g, now, HaLogMessage::MgmtThreadTerminate);
        }
        if let Some(rt) = self.runtime.take() {
            self.handles_issued = rt.next_handle;
        }
        Ok(())
    }

    // ---- shared helpers -----------------------------------------------------------------

    pub(crate) fn slot_index(&self, serial: &str) -> Option<usize> {
        self.slots.iter().position(|s| s.member.serial() == serial)
    }

    /// Forgets the member handles the engine holds for physical slot `slot` in every group
    /// (the partition reissued them: a logout there); they are looked up again by id.
    pub(crate) fn forget_handles_on(&mut self, slot: usize) {
        for group in self.groups_mut() {
            for member in &mut group.members {
                if member.slot == slot {
                    member.handles.clear();
                }
            }
        }
    }

    /// The runtime, or `None` before `C_Initialize` and after `C_Finalize`.
    pub(crate) fn rt(&self) -> Option<&Runtime> {
        self.runtime.as_ref()
    }

    /// The runtime, or `CKR_CRYPTOKI_NOT_INITIALIZED` for `function`.
    pub(crate) fn rt_for(&self, function: &'static str) -> Result<&Runtime, EngineError> {
        self.runtime.as_ref().ok_or(EngineError::new(
            Ckr::CKR_CRYPTOKI_NOT_INITIALIZED,
            function,
        ))
    }

    pub(crate) fn rt_mut(&mut self, function: &'static str) -> Result<&mut Runtime, EngineError> {
        self.runtime.as_mut().ok_or(EngineError::new(
            Ckr::CKR_CRYPTOKI_NOT_INITIALIZED,
            function,
        ))
    }

    /// Groups of the running runtime; none before `C_Initialize`.
    pub(crate) fn group_count(&self) -> usize {
        self.rt().map_or(0, |rt| rt.groups.len())
    }

    /// Members of group `g`; none before `C_Initialize` or for a group it does not have.
    pub(crate) fn member_count(&self, g: usize) -> usize {
        self.rt()
            .and_then(|rt| rt.groups.get(g))
            .map_or(0, |gr| gr.members.len())
    }

    /// The groups of the running runtime (empty before `C_Initialize`). The indexed
    /// accessors below take indexes found in it, so an index used without a runtime is out of
    /// bounds like any other wrong index; no runtime is ever made up.
    fn groups(&self) -> &[GroupRuntime] {
        self.runtime.as_ref().map_or(&[], |rt| &rt.groups)
    }

    fn groups_mut(&mut self) -> &mut [GroupRuntime] {
        match self.runtime.as_mut() {
            Some(rt) => &mut rt.groups,
            None => &mut [],
        }
    }

    pub(crate) fn group(&self, g: usize) -> &GroupRuntime {
        &self.groups()[g]
    }

    pub(crate) fn member(&self, g: usize, m: usize) -> &MemberRuntime {
        &self.groups()[g].members[m]
    }

    pub(crate) fn member_mut(&mut self, g: usize, m: usize) -> &mut MemberRuntime {
        &mut self.groups_mut()[g].members[m]
    }

    pub(crate) fn group_mut(&mut self, g: usize) -> &mut GroupRuntime {
        &mut self.groups_mut()[g]
    }

    pub(crate) fn member_slot(&self, g: usize, m: usize) -> usize {
        self.member(g, m).slot
    }

    pub(crate) fn member_serial(&self, g: usize, m: usize) -> String {
        self.member(g, m).serial.clone()
    }

    /// The serial the group has now (B4: it follows the first configured member).
    pub(crate) fn group_serial(&self, g: usize) -> String {
        let index = self.group(g).index;
        self.config
            .groups
            .get(index)
            .map_or_else(|| "1".to_string(), |gc| gc.serial())
    }

    /// Writes one HA log record for group `g` (B63) and records the event.
    pub(crate) fn log_group(&mut self, g: usize, now: Millis, message: HaLogMessage) {
        let serial = self.group_serial(g);
        let message = match (self.planted, message) {
            (
                Some(crate::planted::PlantedBug::MiscountAttempts),
                HaLogMessage::RecoveryFailed {
                    attempt,
                    serial,
                    code,
                },
            ) => HaLogMessage::RecoveryFailed {
                attempt: attempt + 1,
                serial,
                code,
            },
            (_, message) => message,
        };
        let false_total_loss = self.planted == Some(crate::planted::PlantedBug::FalseTotalLoss)
            && matches!(message, HaLogMessage::DropMember { .. });
        self.log_line(&serial, now, message);
        if false_total_loss {
            self.log_line(&serial, now, HaLogMessage::MembersOffline);
        }
    }

    /// Turns a planted bug on (exploration's own tests only; see [`crate::planted`]).
    #[doc(hidden)]
    pub fn plant(&mut self, bug: crate::planted::PlantedBug) {
        self.planted = Some(bug);
    }

    /// Whether `bug` is planted.
    pub(crate) fn planted(&self, bug: crate::planted::PlantedBug) -> bool {
        self.planted == Some(bug)
    }

    pub(crate) fn log_line(&mut self, group_serial: &str, now: Millis, message: HaLogMessage) {
        let civil = self.calendar.local_time(now);
        if let Err(err) =
            self.log
                .write(self.sink.as_mut(), &civil, self.pid, group_serial, &message)
        {
            tracing::warn!(error = %err, "HA log write failed");
        }
        self.events.push_back(EngineEvent::Log {
            at: now,
            group_serial: group_serial.to_string(),
            message,
        });
    }

    /// Takes member `m` out of the available list and schedules its recovery (D9).
    pub(crate) fn mark_down(&mut self, g: usize, m: usize, now: Millis, reason: DownReason) {
        let retry = self.config.retry;
        let next_attempt = if retry.exhausted_by(0) {
            None
        } else {
            Some(crate::recovery::deadline_after(now, self.config.interval_s))
        };
        if !matches!(reason, DownReason::Dropped | DownReason::Unreachable) {
            self.close_member_sessions(g, m);
        }
        let member = self.member_mut(g, m);
        member.forget_connection();
        member.in_flight = 0;
        member.liveness = Liveness::Down(Down {
            reason,
            attempts: 0,
            since: now,
            next_attempt,
            exhausted: false,
            manual: false,
        });
    }

    /// Closes the engine's sessions on member `m` of group `g` that still answers (taken out of
    /// service for its credential or its activation, not for a lost connection): a session
    /// left open there would keep the application's login on the partition after the
    /// application logs out or closes its last session (PKCS#11: login is per application
    /// and token), so a session that never logs in could use a private key. Failures change
    /// nothing: the member is leaving anyway.
    fn close_member_sessions(&mut self, g: usize, m: usize) {
        let member = self.member(g, m);
        let slot = member.slot;
        let mut sessions: Vec<_> = member.sessions.values().copied().collect();
        sessions.extend(member.mgmt);
        for s in sessions {
            self.close_member_session(slot, s);
        }
    }

    /// B29, D3: drops member `m` after a failed call, logs it, and if it was the last one
    /// logs `HALOG_MEMBERS_OFFLINE` once (B53, D4).
    pub(crate) fn drop_member(&mut self, g: usize, m: usize, now: Millis, rv: Ckr) {
        if !self.member(g, m).is_alive() {
            return;
        }
        let m = if self.planted(crate::planted::PlantedBug::DropWrongMember) {
            self.group(g)
                .alive()
                .into_iter()
                .find(|o| *o != m)
                .unwrap_or(m)
        } else {
            m
        };
        let serial = self.member_serial(g, m);
        tracing::debug!(group = g, member = %serial, rv = %rv, "dropping member after failed call");
        self.mark_down(g, m, now, DownReason::Dropped);
        self.log_group(g, now, HaLogMessage::DropMember { serial });
        self.note_if_all_offline(g, now);
    }

    /// D17: a member answering `CKR_USER_NOT_LOGGED_IN` while the application is logged in has
    /// lost its activation, and so has one refusing a login with `CKR_TOKEN_NOT_RECOGNIZED`
    /// (the partition is not activated, B51: how a member session opened after a reconnect
    /// finds out): log it, take it out and leave it to the recovery probe (B51). Returns true
    /// when that is what `rv` meant.
    pub(crate) fn check_deactivated(&mut self, g: usize, m: usize, now: Millis, rv: Ckr) -> bool {
        if !self.means_deactivated(g, rv) || !self.member(g, m).is_alive() {
            return false;
        }
        let serial = self.member_serial(g, m);
        tracing::debug!(group = g, member = %serial, "member deactivated");
        self.mark_down(g, m, now, DownReason::Deactivated);
        self.log_group(g, now, HaLogMessage::MemberDeactivated { serial });
        self.note_if_all_offline(g, now);
        true
    }

    /// True when a member of group `g` answering `rv` has lost its activation (D17, B51).
    pub(crate) fn means_deactivated(&self, g: usize, rv: Ckr) -> bool {
        match rv {
            Ckr::CKR_USER_NOT_LOGGED_IN => self.group(g).logged_in,
            Ckr::CKR_TOKEN_NOT_RECOGNIZED => true,
            _ => false,
        }
    }

    pub(crate) fn note_if_all_offline(&mut self, g: usize, now: Millis) {
        let group = self.group(g);
        if group.offline || group.members.iter().any(|m| m.is_alive()) {
            return;
        }
        self.group_mut(g).offline = true;
        if self.config.mode == crate::config::RecoveryMode::ActiveBasic {
            self.lose_authenticated_state(g);
        }
        self.log_group(g, now, HaLogMessage::MembersOffline);
    }

    /// D11, B53: under activeBasic the authenticated state is lost with the last member: the
    /// group's virtual sessions (their handles answer CKR_SESSION_HANDLE_INVALID), their
    /// multi-part operations and session objects, the login, and the credential held for
    /// recovery (unless another group's login still holds it), so members that come back are
    /// reconnected without it and nothing private is reachable until the application logs in
    /// again. The application must open a session and log in again.
    pub(crate) fn lose_authenticated_state(&mut self, g: usize) {
        let gr = self.group_mut(g);
        gr.loss_generation += 1;
        gr.logged_in = false;
        gr.objects.retain(|_, o| o.owner.is_none());
        let Some(rt) = self.runtime.as_mut() else {
            return;
        };
        let gone: Vec<VSessionHandle> = rt
            .sessions
            .iter()
            .filter(|(_, s)| s.group == g)
            .map(|(vs, _)| *vs)
            .collect();
        for vs in gone {
            rt.sessions.remove(&vs);
            rt.multipart.remove(&vs);
        }
        let live = &rt.groups[g].objects;
        rt.objects.retain(|_, o| {
            o.group != g || live.contains_key(&(o.id.0.as_slice(), o.class) as &dyn ObjectKey)
        });
        if !rt.groups.iter().any(|gr| gr.logged_in) {
            rt.credential = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::ckr::Ckr;
    use crate::test_support::engine_with;

    #[test]
    fn an_engine_without_a_runtime_says_so_instead_of_making_one_up() {
        let engine = engine_with(&["11", "22"]);
        assert!(engine.rt().is_none());
        assert_eq!((engine.group_count(), engine.member_count(0)), (0, 0));
        let rv = |r: Result<_, crate::EngineError>| r.err().map(|e| e.rv);
        assert_eq!(
            rv(engine.rt_for("C_Sign").map(|_| ())),
            Some(Ckr::CKR_CRYPTOKI_NOT_INITIALIZED)
        );
        assert_eq!(
            rv(engine.virtual_object(1, 0, "C_Sign").map(|_| ())),
            Some(Ckr::CKR_CRYPTOKI_NOT_INITIALIZED)
        );
    }
}
