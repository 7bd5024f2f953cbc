//! The fault-injecting `Member` wrapper. It sits below the port, so the engine only finds out
//! about a fault the way a real client does: a call fails (D19). Its [`CallRecord`] is the
//! observers' source of truth for which member served what.
//!
//! Every call costs virtual time here and only here ([`FaultState::timing`]): a `Slow` hang
//! (ended by the client's `ReceiveTimeout`) and, for cryptographic calls, the partition's
//! processing time (heartbeating, ended only by a `ProbeTimeout`). The limits are the client's,
//! passed with each call ([`Member::set_call_limits`]); the injector keeps none of its own. The
//! time is added to a [`CallMeter`] (one per world, shared by its injectors), which the event
//! queue reads and charges to the simulated thread that made the calls.
//!
//! The faults seen in the field (D35) are the injector's too: a `Hang` (no answer, ever: the
//! receive timeout decides), a `LostAnswer` (the call takes effect, then the connection goes
//! before the answer), `Busy` (`CKR_FUNCTION_FAILED` until a virtual instant) and `IdleCut` (a
//! connection idle for a while is cut, found at the next call). The last two read the world's
//! virtual clock ([`VirtualNow`]), which the world moves with its own.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use ha_engine::Ckr;
use ha_engine::ports::{
    CloneBlob, DataObjectRequest, KeyGenRequest, Member, MemberProperties, MemberResult,
    ObjectHandle, ObjectInfo, ObjectQuery, Secret, SessionHandle, Timeouts, TokenInfo,
};

use crate::fault::kind::{CallKind, Fault};

/// Calls a member received, by kind: attempted (reached the wrapper) and served (answered OK).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CallRecord {
    /// Calls that reached the member's wrapper.
    pub attempted: BTreeMap<CallKind, u64>,
    /// Calls the member answered with `CKR_OK`.
    pub served: BTreeMap<CallKind, u64>,
}

impl CallRecord {
    /// Served calls of one kind.
    pub fn served(&self, kind: CallKind) -> u64 {
        self.served.get(&kind).copied().unwrap_or(0)
    }
}

/// The injector's own tally behind [`CallRecord`]: one counter per [`CallKind`] in arrays, so
/// counting a call is an index, not a map lookup (every member call counts). A served entry is
/// `Some` once the kind was served, even when a lost answer took the count back to 0, exactly as
/// the record's map keeps the key.
#[derive(Clone, Debug, Default)]
struct Tally {
    attempted: [u64; CallKind::ALL.len()],
    served: [Option<u64>; CallKind::ALL.len()],
}

impl Tally {
    fn attempt(&mut self, kind: CallKind) {
        self.attempted[kind.index()] += 1;
    }

    fn serve(&mut self, kind: CallKind) {
        *self.served[kind.index()].get_or_insert(0) += 1;
    }

    /// `n` calls attempted, of which `served` answered OK ([`Tally::attempt`] and
    /// [`Tally::serve`] that many times).
    fn count(&mut self, kind: CallKind, n: u64, served: u64) {
        self.attempted[kind.index()] += n;
        if served > 0 {
            *self.served[kind.index()].get_or_insert(0) += served;
        }
    }

    /// A served call whose answer never arrived: no longer counted as served.
    fn unserve(&mut self, kind: CallKind) {
        if let Some(n) = &mut self.served[kind.index()] {
            *n = n.saturating_sub(1);
        }
    }

    fn served(&self, kind: CallKind) -> u64 {
        self.served[kind.index()].unwrap_or(0)
    }

    /// The same tally as a [`CallRecord`] (kinds never attempted, or never served, absent).
    fn record(&self) -> CallRecord {
        let mut record = CallRecord::default();
        for kind in CallKind::ALL {
            let n = self.attempted[kind.index()];
            if n > 0 {
                record.attempted.insert(kind, n);
            }
            if let Some(n) = self.served[kind.index()] {
                record.served.insert(kind, n);
            }
        }
        record
    }
}

#[derive(Debug)]
struct Armed {
    call: CallKind,
    nth: u32,
    remaining: u32,
    fault: Fault,
}

/// An armed fault that went off: which one, and the call that set it off.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fired {
    /// The fault.
    pub fault: Fault,
    /// The kind of call counted.
    pub call: CallKind,
    /// Which one (from 1).
    pub nth: u32,
}

/// A call of the application's engine that a member failed with a code that drops a member
/// (D3: `CKR_DEVICE_ERROR`, `CKR_DEVICE_REMOVED`, `CKR_TOKEN_NOT_PRESENT`, a transport failure
/// or timeout): the member side of what the engine must notice (D19). Recorded only when asked
/// ([`FaultControl::record_failures`]), for exploration's checker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberFailure {
    /// The kind of call.
    pub call: CallKind,
    /// The code the engine got.
    pub code: Ckr,
    /// The virtual instant of the engine call that made it.
    pub at: u64,
}

/// A lost answer (D35) that went off on a call of the application's engine: the call it cut and
/// whether that call took effect on the member before the connection went (a call the member
/// refused, deactivated for instance, changed nothing there). Recorded only when asked
/// ([`FaultControl::record_failures`]), for exploration's checker: a creation that took effect
/// leaves an orphan the engine must report (D37).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnswerLost {
    /// The kind of call.
    pub call: CallKind,
    /// The member executed it successfully before its answer was lost.
    pub took_effect: bool,
}

/// The codes of D3: a call failing with one of them drops the member.
pub fn drops_member(code: Ckr) -> bool {
    matches!(
        code,
        Ckr::CKR_DEVICE_ERROR | Ckr::CKR_DEVICE_REMOVED | Ckr::CKR_TOKEN_NOT_PRESENT
    )
}

/// Applies a partition-side fault (deactivation, activation, a changed credential) when an
/// armed one goes off; the world installs it ([`FaultControl::set_partition_hook`]).
pub type PartitionHook = Arc<dyn Fn(&Fault) + Send + Sync>;

/// The injector's state for one member, shared between the wrapper and the world.
#[derive(Debug, Default)]
struct FaultState {
    disconnected: bool,
    /// Revoked: every call fails with `CKR_DEVICE_REMOVED` until restored.
    revoked: bool,
    /// Each call hangs this long without an answer or a heartbeat (a `Slow` fault).
    slow_ms: Option<u64>,
    /// Processing time of every cryptographic call (answered with heartbeats, so only a
    /// `ProbeTimeout` ends it early).
    base_ms: u64,
    /// Set at a drop; the member side is cleaned up at the first call after the restore.
    needs_reset: bool,
    open_sessions: BTreeSet<SessionHandle>,
    /// Sessions that lived on a connection that was lost: every call on them fails.
    dead_sessions: BTreeSet<SessionHandle>,
    /// `Hang`: every call waits for an answer that never comes.
    hang: bool,
    /// `LostAnswer`: the next call takes effect and its answer is lost with the connection.
    lose_next_answer: bool,
    /// `Busy`: calls answer `CKR_FUNCTION_FAILED` until this virtual instant.
    busy_until: Option<u64>,
    /// `IdleCut`: a connection idle this long is cut.
    idle_cut_ms: Option<u64>,
    /// The virtual instant of the last call (or of the `IdleCut`), for the idle period.
    last_activity: u64,
    armed: Vec<Armed>,
    /// Armed faults that went off and nobody has taken yet ([`FaultControl::take_fired`]).
    fired: Vec<Fired>,
    record: Tally,
    /// Record the engine's failed calls ([`MemberFailure`]).
    record_failures: bool,
    /// The engine's failed calls nobody has taken yet ([`FaultControl::take_failures`]).
    failures: Vec<MemberFailure>,
    /// Lost answers of the engine's calls nobody has taken yet
    /// ([`FaultControl::take_answers_lost`]).
    answers_lost: Vec<AnswerLost>,
}

impl FaultState {
    /// Applies `fault` at virtual instant `now`; true when it cost the member its connection.
    fn apply(&mut self, fault: &Fault, now: u64) -> bool {
        match fault {
            Fault::Drop => {
                self.disconnected = true;
                self.lose_connection();
                return true;
            }
            Fault::Restore => {
                // Every fault on the member is undone, the armed ones that have not gone off
                // included (D48): a restored member carries no fault into what follows.
                self.armed.clear();
                self.disconnected = false;
                self.revoked = false;
                self.slow_ms = None;
                self.hang = false;
                self.lose_next_answer = false;
                self.busy_until = None;
                self.idle_cut_ms = None;
            }
            Fault::Revoke => {
                // A revoked partition ends the sessions of every connection to it.
                self.revoked = true;
                self.needs_reset = true;
                let open = std::mem::take(&mut self.open_sessions);
                self.dead_sessions.extend(open);
                return true;
            }
            Fault::Slow { ms } => self.slow_ms = Some(*ms),
            Fault::Hang => self.hang = true,
            Fault::LostAnswer => self.lose_next_answer = true,
            Fault::Busy { ms } => self.busy_until = Some(now.saturating_add(*ms)),
            Fault::IdleCut { ms } => {
                self.idle_cut_ms = Some(*ms);
                self.last_activity = now;
            }
            // Partition-side and configuration faults are applied by the world.
            Fault::Deactivate
            | Fault::Activate
            | Fault::LoginFailure
            | Fault::LoginRestore
            | Fault::DirectModify { .. }
            | Fault::DirectChange { .. } => {}
        }
        false
    }

    /// The connection is gone: its sessions stay dead, the member side is cleaned up at the
    /// first call made on a new one.
    fn lose_connection(&mut self) {
        self.needs_reset = true;
        let open = std::mem::take(&mut self.open_sessions);
        self.dead_sessions.extend(open);
    }

    /// `IdleCut`: true when an established connection (one with open sessions, not already
    /// lost) has been idle for the period at `now`: it is cut then. A call after a loss is a
    /// reconnect, a new connection. Every call counts as activity.
    fn idle_cut(&mut self, now: u64) -> bool {
        let idle = now.saturating_sub(self.last_activity);
        self.last_activity = now;
        let established = !self.open_sessions.is_empty() && !self.needs_reset;
        established && self.idle_cut_ms.is_some_and(|period| idle >= period)
    }
}

impl FaultState {
    /// True when a call of `kind` on `session` at `now` would meet nothing at all: no armed
    /// fault counts it, the connection is up and not to be reset, no fault hangs, slows, cuts,
    /// refuses or loses it, and it takes no virtual time (not a cryptographic call). Such a call
    /// only counts and reaches the member, so a run of them may be made together
    /// ([`FaultyMember::objects_info_labelled`]).
    fn is_quiet(&self, kind: CallKind, session: SessionHandle, now: u64) -> bool {
        !matches!(
            kind,
            CallKind::Sign | CallKind::Encrypt | CallKind::SignMultipart
        ) && !self
            .armed
            .iter()
            .any(|a| a.call == kind || a.call == CallKind::Any)
            && !self.disconnected
            && !self.revoked
            && !self.needs_reset
            && self.slow_ms.is_none()
            && !self.hang
            && !self.lose_next_answer
            && self.idle_cut_ms.is_none()
            && self.busy_until.is_none_or(|until| now >= until)
            && !self.dead_sessions.contains(&session)
    }

    /// How long a call takes and whether the client gives up on it (B28, B32): a hang with no
    /// answer ends at the receive timeout; processing time is covered by heartbeats every 2 s,
    /// so it never meets the receive timeout, only a `ProbeTimeout` when one is set.
    fn timing(&self, kind: CallKind, limits: Timeouts) -> (u64, bool) {
        let receive = if limits.receive_ms == 0 {
            Timeouts::default().receive_ms
        } else {
            limits.receive_ms
        };
        let hang = if self.hang {
            u64::MAX
        } else {
            self.slow_ms.unwrap_or(0)
        };
        if hang > receive {
            return (receive, true);
        }
        // Processing time belongs to the cryptographic calls; management calls answer at once.
        let work = match kind {
            CallKind::Sign | CallKind::Encrypt | CallKind::SignMultipart => self.base_ms,
            _ => 0,
        };
        let total = work.saturating_add(hang);
        match limits.probe_ms {
            Some(probe) if total > probe => (probe, true),
            _ => (total, false),
        }
    }
}

/// Virtual time member calls took, summed over every injector of a world until the event
/// queue takes it ([`CallMeter::take`]).
#[derive(Clone, Debug, Default)]
pub struct CallMeter {
    spent: Arc<AtomicU64>,
}

impl CallMeter {
    fn add(&self, ms: u64) {
        // Saturating: fetch_update never fails with a closure that always returns Some.
        let _ = self
            .spent
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| {
                Some(v.saturating_add(ms))
            });
    }

    /// The time measured since the last call, reset to zero.
    pub fn take(&self) -> u64 {
        self.spent.swap(0, Ordering::Relaxed)
    }
}

/// The world's virtual clock as the injectors read it (`Busy`, `IdleCut`): one per world,
/// moved by the world whenever its own clock moves.
#[derive(Clone, Debug, Default)]
pub struct VirtualNow(Arc<AtomicU64>);

impl VirtualNow {
    /// Sets the current virtual instant.
    pub fn set(&self, ms: u64) {
        self.0.store(ms, Ordering::Relaxed);
    }

    /// The current virtual instant.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// The world's handle on one member's injector.
#[derive(Clone, Default)]
pub struct FaultControl {
    /// The world's virtual clock (stays at 0 outside a world).
    clock: VirtualNow,
    state: Arc<Mutex<FaultState>>,
    /// Where partition-side armed faults go (set by the world).
    partition: Arc<Mutex<Option<PartitionHook>>>,
    /// Counts lost connections (drops, revocations): an answer sent back on a connection lost
    /// since the call was made never arrives. Read without the lock on every call.
    connection: Arc<AtomicU64>,
    /// Whether the fired and failure lists may hold something: set with the lock held when an
    /// entry is pushed, cleared when they are taken. The world asks after every event, almost
    /// always for nothing; this answers that without the lock.
    news: Arc<News>,
}

/// See [`FaultControl::news`].
#[derive(Default)]
struct News {
    fired: AtomicBool,
    failures: AtomicBool,
    answers_lost: AtomicBool,
    /// The world's board, told too when one is shared ([`FaultControl::share_news`]).
    board: OnceLock<NewsBoard>,
}

impl News {
    fn mark(&self, which: impl Fn(&News) -> &AtomicBool) {
        which(self).store(true, Ordering::Release);
        if let Some(board) = self.board.get() {
            which(&board.0).store(true, Ordering::Release);
        }
    }
}

/// Whether any of a world's injectors may have news, one flag per list (fired faults, failures,
/// lost answers): the world asks after every event, almost always for nothing; this answers
/// that with one load instead of one per member.
#[derive(Clone, Default)]
pub struct NewsBoard(Arc<News>);

impl NewsBoard {
    /// Whether fired faults may wait in some injector; cleared (take them all next).
    pub fn take_fired(&self) -> bool {
        self.0.fired.swap(false, Ordering::AcqRel)
    }

    /// Whether failures may wait in some injector; cleared (take them all next).
    pub fn take_failures(&self) -> bool {
        self.0.failures.swap(false, Ordering::AcqRel)
    }

    /// Whether lost answers may wait in some injector; cleared (take them all next).
    pub fn take_answers_lost(&self) -> bool {
        self.0.answers_lost.swap(false, Ordering::AcqRel)
    }
}

/// A fault that cannot be injected (yet).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("fault {0} does not act on the transport; the world applies it")]
pub struct UnsupportedFault(pub &'static str);

impl std::fmt::Debug for FaultControl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultControl")
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl FaultControl {
    fn state(&self) -> MutexGuard<'_, FaultState> {
        // The state holds plain data; a panic elsewhere cannot leave it half-updated.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Applies a fault now.
    pub fn apply(&self, fault: &Fault) -> Result<(), UnsupportedFault> {
        if !fault.at_transport() {
            return Err(UnsupportedFault(fault.name()));
        }
        let mut st = self.state();
        self.apply_locked(&mut st, fault);
        Ok(())
    }

    /// Arms `fault` to be applied just before the member's `nth` call of kind `call`. Every
    /// fault kind can be armed; a partition-side one needs the world's partition hook.
    pub fn arm(&self, call: CallKind, nth: u32, fault: Fault) -> Result<(), UnsupportedFault> {
        if !fault.at_transport() && self.hook().is_none() {
            return Err(UnsupportedFault(fault.name()));
        }
        self.state().armed.push(Armed {
            call,
            nth: nth.max(1),
            remaining: nth.max(1),
            fault,
        });
        Ok(())
    }

    /// Reads virtual time from `clock` (the world's).
    pub fn set_clock(&mut self, clock: VirtualNow) {
        self.clock = clock;
    }

    /// Installs where partition-side armed faults are applied.
    pub fn set_partition_hook(&self, hook: PartitionHook) {
        if let Ok(mut slot) = self.partition.lock() {
            *slot = Some(hook);
        }
    }

    fn hook(&self) -> Option<PartitionHook> {
        self.partition.lock().ok().and_then(|slot| slot.clone())
    }

    /// Tells `board` too whenever this injector has news (once; a later board is ignored).
    /// Anything already waiting is announced on it at once.
    pub fn share_news(&self, board: &NewsBoard) {
        let _ = self.news.board.set(board.clone());
        if self.news.fired.load(Ordering::Acquire) {
            board.0.fired.store(true, Ordering::Release);
        }
        if self.news.failures.load(Ordering::Acquire) {
            board.0.failures.store(true, Ordering::Release);
        }
        if self.news.answers_lost.load(Ordering::Acquire) {
            board.0.answers_lost.store(true, Ordering::Release);
        }
    }

    /// Starts (or stops) recording the engine's failed calls ([`MemberFailure`]).
    pub fn record_failures(&self, on: bool) {
        self.state().record_failures = on;
    }

    /// The engine's failed calls since the last look, in order.
    pub fn take_failures(&self) -> Vec<MemberFailure> {
        if !self.news.failures.load(Ordering::Acquire) {
            return Vec::new();
        }
        let mut st = self.state();
        self.news.failures.store(false, Ordering::Release);
        std::mem::take(&mut st.failures)
    }

    /// The armed faults that went off since the last call, in order.
    pub fn take_fired(&self) -> Vec<Fired> {
        if !self.news.fired.load(Ordering::Acquire) {
            return Vec::new();
        }
        let mut st = self.state();
        self.news.fired.store(false, Ordering::Release);
        std::mem::take(&mut st.fired)
    }

    /// The lost answers of the engine's calls since the last look, in order.
    pub fn take_answers_lost(&self) -> Vec<AnswerLost> {
        if !self.news.answers_lost.load(Ordering::Acquire) {
            return Vec::new();
        }
        let mut st = self.state();
        self.news.answers_lost.store(false, Ordering::Release);
        std::mem::take(&mut st.answers_lost)
    }

    /// Whether armed faults went off or failures or lost answers were recorded since they were
    /// last taken (without the lock; a `true` may find nothing left).
    pub fn has_news(&self) -> bool {
        self.news.fired.load(Ordering::Acquire)
            || self.news.failures.load(Ordering::Acquire)
            || self.news.answers_lost.load(Ordering::Acquire)
    }

    /// The member's connection as a count of losses: compare the value taken when a call was
    /// made with the value when its answer is due ([`FaultControl::deliver`]).
    pub fn connection(&self) -> u64 {
        self.connection.load(Ordering::Relaxed)
    }

    fn apply_locked(&self, st: &mut FaultState, fault: &Fault) {
        if st.apply(fault, self.clock.get()) {
            self.connection.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The answer to a call of `kind` made on connection `sent_on`, delivered now: if the
    /// connection was lost meanwhile, the answer never arrives and the call fails as a
    /// transport failure (the member is no longer counted as having served it).
    pub fn deliver<T>(
        &self,
        kind: CallKind,
        sent_on: u64,
        at: u64,
        result: MemberResult<T>,
    ) -> MemberResult<T> {
        if self.connection() == sent_on {
            return result;
        }
        let mut st = self.state();
        if result.is_ok() {
            st.record.unserve(kind);
        }
        let code = if st.revoked {
            Ckr::CKR_DEVICE_REMOVED
        } else {
            Ckr::CKR_DEVICE_ERROR
        };
        // A failure already recorded when the call was made is not recorded twice.
        if st.record_failures && result.is_ok() {
            st.failures.push(MemberFailure {
                call: kind,
                code,
                at,
            });
            self.news.mark(|n| &n.failures);
        }
        Err(code)
    }

    /// True while the member's connection is lost (a `Drop` not yet restored).
    pub fn is_disconnected(&self) -> bool {
        self.state().disconnected
    }

    /// Sets the processing time of every call.
    pub fn set_base_ms(&self, ms: u64) {
        self.state().base_ms = ms;
    }

    /// Calls of one kind the member answered with `CKR_OK` so far (cheaper than [`Self::record`]).
    pub fn served(&self, kind: CallKind) -> u64 {
        self.state().record.served(kind)
    }

    /// What the member received so far.
    pub fn record(&self) -> CallRecord {
        self.state().record.record()
    }
}

/// A `Member` with faults injected below the port.
pub struct FaultyMember {
    inner: Box<dyn Member>,
    control: FaultControl,
    meter: CallMeter,
    /// The client's limits for the call being made (passed by the caller before each call).
    limits: Timeouts,
    /// The application engine's connection (not LunaCM's): its failures are recorded.
    engine_side: bool,
}

impl FaultyMember {
    /// `inner` behind an existing injector: another client's connection to the same partition
    /// (LunaCM's, D22), which the same faults reach and whose calls the same record counts. That
    /// client is another process: the time its calls take is on no application thread's clock,
    /// so it has a meter of its own that nothing reads.
    pub fn sharing(inner: Box<dyn Member>, control: &FaultControl) -> Self {
        FaultyMember {
            inner,
            control: control.clone(),
            meter: CallMeter::default(),
            limits: Timeouts::default(),
            engine_side: false,
        }
    }

    /// `inner` behind an existing injector, as another application process's connection (an
    /// engine of its own, B7): the same faults reach it, its calls count in the same record,
    /// its failures are recorded like the application's, and the time its calls take goes to
    /// `meter` (the world charges it to that process's thread).
    pub fn another_process(
        inner: Box<dyn Member>,
        control: &FaultControl,
        meter: CallMeter,
    ) -> Self {
        FaultyMember {
            inner,
            control: control.clone(),
            meter,
            limits: Timeouts::default(),
            engine_side: true,
        }
    }

    /// Wraps `inner`; the returned control applies faults to it. Call durations go to `meter`.
    pub fn new(inner: Box<dyn Member>, meter: CallMeter) -> (Self, FaultControl) {
        Self::with_clock(inner, meter, VirtualNow::default())
    }

    /// [`FaultyMember::new`] reading virtual time from `clock` (`Busy`, `IdleCut`).
    pub fn with_clock(
        inner: Box<dyn Member>,
        meter: CallMeter,
        clock: VirtualNow,
    ) -> (Self, FaultControl) {
        let mut control = FaultControl::default();
        control.set_clock(clock);
        (
            FaultyMember {
                inner,
                control: control.clone(),
                meter,
                limits: Timeouts::default(),
                engine_side: true,
            },
            control,
        )
    }

    /// Runs the checks every call goes through, then `f` on the inner member; records the
    /// engine's failures that drop a member ([`MemberFailure`]).
    fn guarded<T>(
        &mut self,
        kind: CallKind,
        session: Option<SessionHandle>,
        f: impl FnOnce(&mut dyn Member) -> MemberResult<T>,
    ) -> MemberResult<T> {
        let result = self.checked(kind, session, f);
        if let Err(code) = &result {
            self.failed(kind, *code);
        }
        result
    }

    /// Records the engine's call of `kind` that failed with `code` when that drops a member.
    fn failed(&self, kind: CallKind, code: Ckr) {
        if self.engine_side && drops_member(code) {
            let at = self.control.clock.get();
            let mut st = self.control.state();
            if st.record_failures {
                st.failures.push(MemberFailure {
                    call: kind,
                    code,
                    at,
                });
                self.control.news.mark(|n| &n.failures);
            }
        }
    }

    /// The checks every call goes through, then `f` on the inner member.
    fn checked<T>(
        &mut self,
        kind: CallKind,
        session: Option<SessionHandle>,
        f: impl FnOnce(&mut dyn Member) -> MemberResult<T>,
    ) -> MemberResult<T> {
        let needs_reset = {
            let mut st = self.control.state();
            st.record.attempt(kind);
            let mut fire = Vec::new();
            st.armed.retain_mut(|a| {
                if a.call == kind || a.call == CallKind::Any {
                    a.remaining -= 1;
                    if a.remaining == 0 {
                        fire.push(Fired {
                            fault: a.fault.clone(),
                            call: a.call,
                            nth: a.nth,
                        });
                        return false;
                    }
                }
                true
            });
            let mut on_partition = Vec::new();
            for fired in fire {
                if fired.fault.at_transport() {
                    self.control.apply_locked(&mut st, &fired.fault);
                } else {
                    on_partition.push(fired.fault.clone());
                }
                st.fired.push(fired);
                self.control.news.mark(|n| &n.fired);
            }
            if !on_partition.is_empty() {
                // The partition is changed outside the injector's lock (the hook locks the model).
                drop(st);
                if let Some(hook) = self.control.hook() {
                    for fault in &on_partition {
                        hook(fault);
                    }
                }
                st = self.control.state();
            }
            if st.disconnected {
                return Err(Ckr::CKR_DEVICE_ERROR);
            }
            if st.revoked {
                return Err(Ckr::CKR_DEVICE_REMOVED);
            }
            let now = self.control.clock.get();
            if st.idle_cut(now) {
                // The connection was cut while idle; this call finds it (D35).
                st.lose_connection();
                self.control.connection.fetch_add(1, Ordering::Relaxed);
                return Err(Ckr::CKR_DEVICE_ERROR);
            }
            if st.busy_until.is_some_and(|until| now < until) {
                // Busy: refused at once, not executed, not a drop (D3).
                return Err(Ckr::CKR_FUNCTION_FAILED);
            }
            let (took, timed_out) = st.timing(kind, self.limits);
            if took > 0 {
                self.meter.add(took);
            }
            if timed_out {
                // B28/B32: the client gave up waiting: a transport failure. It abandons the
                // connection, so the member closes that connection's sessions (and their
                // login) at the first call that reaches it again, as after a drop; a session
                // left open there would keep the application's login on the partition for a
                // session that never logs in.
                st.needs_reset = true;
                let open = std::mem::take(&mut st.open_sessions);
                st.dead_sessions.extend(open);
                return Err(Ckr::CKR_DEVICE_ERROR);
            }
            if session.is_some_and(|s| st.dead_sessions.contains(&s)) {
                return Err(Ckr::CKR_DEVICE_ERROR);
            }
            std::mem::take(&mut st.needs_reset)
        };
        if needs_reset {
            // The old connection's sessions are gone on the member side too.
            self.inner.close_all_sessions()?;
        }
        let result = f(self.inner.as_mut());
        let mut st = self.control.state();
        if std::mem::take(&mut st.lose_next_answer) {
            // The call took effect; the connection goes before its answer (D35).
            self.control.apply_locked(&mut st, &Fault::Drop);
            if self.engine_side && st.record_failures {
                st.answers_lost.push(AnswerLost {
                    call: kind,
                    took_effect: result.is_ok(),
                });
                self.control.news.mark(|n| &n.answers_lost);
            }
            return Err(Ckr::CKR_DEVICE_ERROR);
        }
        if result.is_ok() {
            st.record.serve(kind);
        }
        result
    }
}

impl Member for FaultyMember {
    fn serial(&self) -> &str {
        self.inner.serial()
    }

    fn label(&self) -> Option<&str> {
        self.inner.label()
    }

    fn token_info(&mut self) -> MemberResult<TokenInfo> {
        self.guarded(CallKind::TokenInfo, None, |m| m.token_info())
    }

    fn open_session(&mut self) -> MemberResult<SessionHandle> {
        let s = self.guarded(CallKind::OpenSession, None, |m| m.open_session())?;
        self.control.state().open_sessions.insert(s);
        Ok(s)
    }

    fn close_session(&mut self, session: SessionHandle) -> MemberResult<()> {
        self.guarded(CallKind::CloseSession, Some(session), |m| {
            m.close_session(session)
        })?;
        self.control.state().open_sessions.remove(&session);
        Ok(())
    }

    fn close_all_sessions(&mut self) -> MemberResult<()> {
        self.guarded(CallKind::CloseSession, None, |m| m.close_all_sessions())?;
        let mut st = self.control.state();
        st.open_sessions.clear();
        st.dead_sessions.clear();
        Ok(())
    }

    fn login(&mut self, session: SessionHandle, pin: &Secret) -> MemberResult<()> {
        self.guarded(CallKind::Login, Some(session), |m| m.login(session, pin))
    }

    fn logout(&mut self, session: SessionHandle) -> MemberResult<()> {
        self.guarded(CallKind::Logout, Some(session), |m| m.logout(session))
    }

    fn generate_key(
        &mut self,
        session: SessionHandle,
        request: &KeyGenRequest,
    ) -> MemberResult<Vec<ObjectHandle>> {
        self.guarded(CallKind::GenerateKey, Some(session), |m| {
            m.generate_key(session, request)
        })
    }

    fn create_data(
        &mut self,
        session: SessionHandle,
        request: &DataObjectRequest,
    ) -> MemberResult<ObjectHandle> {
        self.guarded(CallKind::CreateData, Some(session), |m| {
            m.create_data(session, request)
        })
    }

    fn find_objects(
        &mut self,
        session: SessionHandle,
        query: &ObjectQuery,
    ) -> MemberResult<Vec<ObjectHandle>> {
        self.guarded(CallKind::FindObjects, Some(session), |m| {
            m.find_objects(session, query)
        })
    }

    fn object_info(
        &mut self,
        session: SessionHandle,
        object: ObjectHandle,
    ) -> MemberResult<ObjectInfo> {
        self.guarded(CallKind::ObjectInfo, Some(session), |m| {
            m.object_info(session, object)
        })
    }

    fn object_info_labelled(
        &mut self,
        session: SessionHandle,
        object: ObjectHandle,
        label: &str,
    ) -> MemberResult<Option<ObjectInfo>> {
        self.guarded(CallKind::ObjectInfo, Some(session), |m| {
            m.object_info_labelled(session, object, label)
        })
    }

    fn objects_info_labelled(
        &mut self,
        session: SessionHandle,
        objects: &[ObjectHandle],
        label: &str,
    ) -> (Vec<Option<ObjectInfo>>, MemberResult<()>) {
        const KIND: CallKind = CallKind::ObjectInfo;
        let now = self.control.clock.get();
        let mut st = self.control.state();
        if !st.is_quiet(KIND, session, now) {
            // Something may happen at one of these calls: make them one by one.
            drop(st);
            let mut out = Vec::with_capacity(objects.len());
            for &object in objects {
                match self.object_info_labelled(session, object, label) {
                    Ok(info) => out.push(info),
                    Err(rv) => return (out, Err(rv)),
                }
            }
            return (out, Ok(()));
        }
        // Nothing can happen at any of them (the state stays quiet: the calls change only the
        // member behind): each is counted and reaches the member, in order, as in `checked`.
        let (out, end) = self.inner.objects_info_labelled(session, objects, label);
        let made = out.len() as u64 + u64::from(end.is_err());
        st.record.count(KIND, made, out.len() as u64);
        if made > 0 {
            // Every call counts as activity (`FaultState::idle_cut`).
            st.last_activity = now;
        }
        drop(st);
        if let Err(code) = end {
            self.failed(KIND, code);
        }
        (out, end)
    }

    fn destroy_object(&mut self, session: SessionHandle, object: ObjectHandle) -> MemberResult<()> {
        self.guarded(CallKind::Destroy, Some(session), |m| {
            m.destroy_object(session, object)
        })
    }

    fn sign(
        &mut self,
        session: SessionHandle,
        key: ObjectHandle,
        data: &[u8],
    ) -> MemberResult<Vec<u8>> {
        self.guarded(CallKind::Sign, Some(session), |m| {
            m.sign(session, key, data)
        })
    }

    fn encrypt(
        &mut self,
        session: SessionHandle,
        key: ObjectHandle,
        data: &[u8],
    ) -> MemberResult<Vec<u8>> {
        self.guarded(CallKind::Encrypt, Some(session), |m| {
            m.encrypt(session, key, data)
        })
    }

    fn set_value(
        &mut self,
        session: SessionHandle,
        object: ObjectHandle,
        value: &[u8],
    ) -> MemberResult<()> {
        self.guarded(CallKind::SetValue, Some(session), |m| {
            m.set_value(session, object, value)
        })
    }

    fn export_clone(
        &mut self,
        session: SessionHandle,
        object: ObjectHandle,
    ) -> MemberResult<CloneBlob> {
        self.guarded(CallKind::ExportClone, Some(session), |m| {
            m.export_clone(session, object)
        })
    }

    fn import_clone(
        &mut self,
        session: SessionHandle,
        blob: &CloneBlob,
    ) -> MemberResult<ObjectHandle> {
        self.guarded(CallKind::ImportClone, Some(session), |m| {
            m.import_clone(session, blob)
        })
    }

    fn sign_init(&mut self, session: SessionHandle, key: ObjectHandle) -> MemberResult<()> {
        self.guarded(CallKind::SignMultipart, Some(session), |m| {
            m.sign_init(session, key)
        })
    }

    fn sign_update(&mut self, session: SessionHandle, data: &[u8]) -> MemberResult<()> {
        self.guarded(CallKind::SignMultipart, Some(session), |m| {
            m.sign_update(session, data)
        })
    }

    fn sign_final(&mut self, session: SessionHandle) -> MemberResult<Vec<u8>> {
        self.guarded(CallKind::SignMultipart, Some(session), |m| {
            m.sign_final(session)
        })
    }

    fn properties(&mut self) -> MemberResult<MemberProperties> {
        self.guarded(CallKind::Properties, None, |m| m.properties())
    }

    fn set_call_limits(&mut self, limits: Timeouts) {
        self.limits = limits;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tally_reads_as_the_record_maps_would() {
        let mut tally = Tally::default();
        tally.attempt(CallKind::Sign);
        tally.attempt(CallKind::Sign);
        tally.serve(CallKind::Sign);
        tally.attempt(CallKind::Login);
        tally.unserve(CallKind::Login); // never served: no entry appears
        tally.attempt(CallKind::Encrypt);
        tally.serve(CallKind::Encrypt);
        tally.unserve(CallKind::Encrypt); // the answer was lost: the entry stays, at 0
        let record = tally.record();
        let attempted: Vec<(CallKind, u64)> = record.attempted.into_iter().collect();
        assert_eq!(
            attempted,
            [
                (CallKind::Login, 1),
                (CallKind::Sign, 2),
                (CallKind::Encrypt, 1)
            ]
        );
        let served: Vec<(CallKind, u64)> = record.served.into_iter().collect();
        assert_eq!(served, [(CallKind::Sign, 1), (CallKind::Encrypt, 0)]);
        assert_eq!(tally.served(CallKind::Sign), 1);
        assert_eq!(tally.served(CallKind::Login), 0);
    }

    fn state(slow_ms: Option<u64>, base_ms: u64, probe: Option<u64>) -> (FaultState, Timeouts) {
        (
            FaultState {
                slow_ms,
                base_ms,
                ..FaultState::default()
            },
            Timeouts {
                receive_ms: 5_000,
                probe_ms: probe,
            },
        )
    }

    fn timing(s: (FaultState, Timeouts), kind: CallKind) -> (u64, bool) {
        s.0.timing(kind, s.1)
    }

    #[test]
    fn a_hang_longer_than_the_receive_timeout_times_out_at_the_timeout() {
        assert_eq!(
            timing(state(Some(8_000), 0, None), CallKind::Sign),
            (5_000, true)
        );
        assert_eq!(
            timing(state(Some(4_000), 0, None), CallKind::Sign),
            (4_000, false)
        );
    }

    #[test]
    fn heartbeating_work_only_meets_the_probe_timeout() {
        // 30 s of processing with heartbeats: no receive timeout.
        assert_eq!(
            timing(state(None, 30_000, None), CallKind::Sign),
            (30_000, false)
        );
        assert_eq!(
            timing(state(None, 30_000, Some(10_000)), CallKind::Sign),
            (10_000, true)
        );
        // Processing time belongs to cryptographic calls only.
        assert_eq!(
            timing(state(None, 30_000, Some(10_000)), CallKind::Login),
            (0, false)
        );
    }

    #[test]
    fn an_armed_fault_fires_just_before_the_nth_call_of_its_kind() {
        use std::sync::{Arc, Mutex};

        use hsm_model::{HsmModel, HsmSpec, PartitionSpec};

        let mut model = HsmModel::new(1);
        model.add_hsm(HsmSpec::new("h")).expect("hsm");
        model
            .add_partition(PartitionSpec::new("p", "par", "h", "dom", "co"))
            .expect("partition");
        let inner = crate::model_member::ModelMember::new(Arc::new(Mutex::new(model)), "p");
        let (mut member, control) = FaultyMember::new(Box::new(inner), CallMeter::default());
        control
            .arm(CallKind::TokenInfo, 2, Fault::Drop)
            .expect("a transport fault");
        assert!(member.open_session().is_ok(), "other kinds do not count");
        assert!(member.token_info().is_ok(), "first token info");
        assert_eq!(member.token_info().map(|_| ()), Err(Ckr::CKR_DEVICE_ERROR));
        control.apply(&Fault::Restore).expect("restore");
        assert!(member.token_info().is_ok(), "restored");
        assert_eq!(
            control.record().attempted.get(&CallKind::TokenInfo),
            Some(&3)
        );
        assert_eq!(control.record().served(CallKind::TokenInfo), 2);
    }

    #[test]
    fn a_restore_cancels_the_armed_faults_that_have_not_gone_off() {
        let (mut member, control, _, _) = model_member();
        control
            .arm(CallKind::TokenInfo, 2, Fault::Drop)
            .expect("a transport fault");
        assert!(member.token_info().is_ok(), "first token info");
        control.apply(&Fault::Restore).expect("restore");
        assert!(
            member.token_info().is_ok(),
            "the armed drop was cancelled (D48)"
        );
        assert!(member.token_info().is_ok());
        assert!(control.take_fired().is_empty(), "nothing went off");
    }

    #[test]
    fn a_fired_fault_is_news_until_taken() {
        let (mut member, control, _, _) = model_member();
        control
            .arm(CallKind::TokenInfo, 1, Fault::Drop)
            .expect("a transport fault");
        assert!(!control.has_news(), "nothing fired yet");
        assert!(control.take_fired().is_empty());
        assert!(member.token_info().is_err(), "the armed drop went off");
        assert!(control.has_news());
        let fired = control.take_fired();
        assert_eq!(fired.len(), 1);
        assert_eq!(fired[0].fault, Fault::Drop);
        assert!(!control.has_news(), "taken");
        assert!(control.take_fired().is_empty());
    }

    /// Three data objects ("a", "b", "a") on a fresh member, an open session and their handles.
    fn three_objects() -> (FaultyMember, FaultControl, SessionHandle, Vec<ObjectHandle>) {
        let (mut member, control, _, _) = model_member();
        let s = member.open_session().expect("session");
        for label in ["a", "b", "a"] {
            member.create_data(s, &data(label)).expect("data");
        }
        let handles = member
            .find_objects(s, &ObjectQuery::default())
            .expect("find");
        (member, control, s, handles)
    }

    /// The labels answered and the end of a run of attribute reads.
    fn labels(
        got: &(Vec<Option<ObjectInfo>>, MemberResult<()>),
    ) -> (Vec<Option<String>>, MemberResult<()>) {
        let answers = got.0.iter().map(|i| i.as_ref().map(|i| i.label.clone()));
        (answers.collect(), got.1)
    }

    #[test]
    fn attribute_reads_made_together_count_as_single_calls() {
        let (mut member, control, s, handles) = three_objects();
        let before = control.record();
        let got = member.objects_info_labelled(s, &handles, "a");
        assert_eq!(
            labels(&got),
            (vec![Some("a".into()), None, Some("a".into())], Ok(()))
        );
        let after = control.record();
        let kind = CallKind::ObjectInfo;
        assert_eq!(after.attempted.get(&kind), Some(&3));
        assert_eq!(after.served(kind), 3);
        assert_eq!(before.attempted.get(&kind), None);
        // A stale handle: the calls up to it are made and counted, the failure ends the run.
        let got = member.objects_info_labelled(s, &[handles[0], 999, handles[2]], "a");
        assert_eq!(
            labels(&got),
            (vec![Some("a".into())], Err(Ckr::CKR_OBJECT_HANDLE_INVALID))
        );
        assert_eq!(control.record().attempted.get(&kind), Some(&5));
        assert_eq!(control.record().served(kind), 4);
        // No call, nothing counted.
        let got = member.objects_info_labelled(s, &[], "a");
        assert_eq!(labels(&got), (vec![], Ok(())));
        assert_eq!(control.record().attempted.get(&kind), Some(&5));
    }

    #[test]
    fn a_fault_armed_on_one_of_the_attribute_reads_goes_off_at_that_call() {
        let (mut member, control, s, handles) = three_objects();
        control.record_failures(true);
        control
            .arm(CallKind::ObjectInfo, 2, Fault::Drop)
            .expect("a transport fault");
        let got = member.objects_info_labelled(s, &handles, "a");
        assert_eq!(
            labels(&got),
            (vec![Some("a".into())], Err(Ckr::CKR_DEVICE_ERROR))
        );
        assert_eq!(control.take_fired().len(), 1);
        let failures = control.take_failures();
        assert_eq!(failures.len(), 1);
        assert_eq!(failures[0].call, CallKind::ObjectInfo);
        let record = control.record();
        assert_eq!(record.attempted.get(&CallKind::ObjectInfo), Some(&2));
        assert_eq!(record.served(CallKind::ObjectInfo), 1);
    }

    fn model_member() -> (FaultyMember, FaultControl, VirtualNow, CallMeter) {
        use std::sync::{Arc, Mutex};

        use hsm_model::{HsmModel, HsmSpec, PartitionSpec};

        let mut model = HsmModel::new(1);
        model.add_hsm(HsmSpec::new("h")).expect("hsm");
        model
            .add_partition(PartitionSpec::new("p", "par", "h", "dom", "co"))
            .expect("partition");
        let inner = crate::model_member::ModelMember::new(Arc::new(Mutex::new(model)), "p");
        let clock = VirtualNow::default();
        let meter = CallMeter::default();
        let (member, control) =
            FaultyMember::with_clock(Box::new(inner), meter.clone(), clock.clone());
        (member, control, clock, meter)
    }

    fn data(label: &str) -> DataObjectRequest {
        DataObjectRequest {
            id: ha_engine::ports::ObjectId(label.as_bytes().to_vec()),
            label: label.to_string(),
            value: vec![1],
            token: true,
        }
    }

    #[test]
    fn a_hang_is_never_answered_and_ends_at_the_receive_timeout() {
        let (mut member, control, _, meter) = model_member();
        control.apply(&Fault::Hang).expect("transport");
        assert_eq!(member.token_info().map(|_| ()), Err(Ckr::CKR_DEVICE_ERROR));
        assert_eq!(meter.take(), Timeouts::default().receive_ms, "20 s waited");
        assert_eq!(control.record().served(CallKind::TokenInfo), 0);
        control.apply(&Fault::Restore).expect("restore");
        assert!(member.token_info().is_ok());
        assert_eq!(meter.take(), 0);
    }

    #[test]
    fn a_lost_answer_takes_effect_and_loses_the_connection() {
        let (mut member, control, _, _) = model_member();
        let s = member.open_session().expect("session");
        control.apply(&Fault::LostAnswer).expect("transport");
        assert_eq!(
            member.create_data(s, &data("x")).map(|_| ()),
            Err(Ckr::CKR_DEVICE_ERROR)
        );
        assert!(
            control.is_disconnected(),
            "the connection went with the answer"
        );
        assert_eq!(control.record().served(CallKind::CreateData), 0);
        control.apply(&Fault::Restore).expect("restore");
        assert_eq!(
            member.token_info().map(|i| i.object_count),
            Ok(1),
            "it took effect"
        );
        let s = member.open_session().expect("a new session");
        assert!(member.create_data(s, &data("y")).is_ok(), "one answer only");
    }

    #[test]
    fn busy_refuses_without_executing_until_its_instant() {
        let (mut member, control, clock, _) = model_member();
        let s = member.open_session().expect("session");
        clock.set(1_000);
        control.apply(&Fault::Busy { ms: 500 }).expect("transport");
        clock.set(1_499);
        assert_eq!(
            member.create_data(s, &data("x")).map(|_| ()),
            Err(Ckr::CKR_FUNCTION_FAILED)
        );
        assert_eq!(
            member.token_info().map(|i| i.object_count),
            Err(Ckr::CKR_FUNCTION_FAILED)
        );
        clock.set(1_500);
        assert_eq!(
            member.token_info().map(|i| i.object_count),
            Ok(0),
            "not executed"
        );
        assert!(!control.is_disconnected());
    }

    #[test]
    fn an_idle_cut_is_found_at_the_next_call_and_a_reconnect_works() {
        let (mut member, control, clock, _) = model_member();
        control
            .apply(&Fault::IdleCut { ms: 100 })
            .expect("transport");
        let s = member.open_session().expect("session");
        clock.set(99);
        assert!(member.token_info().is_ok(), "idle 99 ms: not cut");
        clock.set(199);
        assert_eq!(
            member.token_info().map(|_| ()),
            Err(Ckr::CKR_DEVICE_ERROR),
            "found"
        );
        assert_eq!(
            member.create_data(s, &data("x")).map(|_| ()),
            Err(Ckr::CKR_DEVICE_ERROR),
            "the old session is dead"
        );
        clock.set(10_000);
        let s = member
            .open_session()
            .expect("a reconnect works, even after a long idle");
        assert!(member.create_data(s, &data("x")).is_ok());
    }

    #[test]
    fn partition_faults_are_not_the_injectors() {
        let control = FaultControl::default();
        assert_eq!(
            control.apply(&Fault::Deactivate),
            Err(UnsupportedFault("Deactivate"))
        );
    }
}
