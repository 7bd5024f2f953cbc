//! Application threads on the virtual slot with overlapping calls (B25, B29, D5, D6): one
//! thread for an `App(Sign|Encrypt)` step, several for a `Threads` step, all on the same path.
//!
//! Each thread runs its program of calls one after the other on its own virtual session. A
//! single-part crypto call is split (architecture "calls in flight"): the engine decides the
//! member and gets the member session and object handle ready (`begin`, least busy); the
//! thread pays for those member calls, then sends the call itself ([`Dispatch::call`]); its
//! answer is due when the member's call duration has passed, and arrives only if the member's
//! connection survived meanwhile; the engine completes it then (`complete`, which may
//! re-dispatch after a drop). Every other application call (open, close, login, generate,
//! destroy, multi-part, ...) is a numbered *runner call* ([`ThreadAction::Runner`]): the driver
//! hands it back to its caller ([`Threads::next`]), which makes it synchronously at that
//! instant, measured as [`queue::call`] measures one engine call; its answer reaches the thread
//! when the member calls it made have taken their time ([`Threads::answered`]). Time moves only
//! through [`crate::queue`]: scheduled faults and recovery timer runs happen between events.
//! Events at the same instant are ordered by the seeded tie-break stream when several threads
//! run, so an interleaving replays exactly from its seed; one thread has nothing to interleave
//! and draws nothing from it.

use ha_engine::EngineError;
use ha_engine::failover::{Completion, CryptoOp, Dispatch};
use ha_engine::ports::{MemberResult, Millis};
use ha_engine::state::{VObjectHandle, VSessionHandle};
use rand::RngExt;
use rand_chacha::ChaCha20Rng;

use crate::fault::{CallKind, Fault};
use crate::queue::{self, EventQueue};
use crate::world::{World, WorldError};

/// What one entry of a thread's program does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ThreadAction {
    /// A single-part crypto call through the engine's dispatch (`begin`, the member call,
    /// `complete`).
    Crypto {
        /// Sign or encrypt.
        op: CryptoOp,
        /// The key's virtual handle (the caller may change it between calls,
        /// [`Threads::set_key`]).
        key: VObjectHandle,
    },
    /// A call the driver's caller makes itself when the thread issues it; the number is the
    /// caller's own (which call of its list).
    Runner(usize),
}

/// One call a thread makes, `times` times in a row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThreadCall {
    /// What the call does.
    pub action: ThreadAction,
    /// A label for the record.
    pub label: String,
    /// How many times in a row.
    pub times: u64,
}

/// What happened to one call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallOutcome {
    /// Thread number (from 0).
    pub thread: usize,
    /// Call number in the thread (from 1).
    pub index: u64,
    /// When the application issued it.
    pub started: Millis,
    /// When the application got the result.
    pub finished: Millis,
    /// A single-part crypto call: when the member call that answered was sent, the instant the
    /// member did the work (after the preparation's member calls); `None` when none was sent.
    pub sent: Option<Millis>,
    /// Members that served it, in order (more than one after a re-dispatch); recorded for
    /// `Threads` ([`run_threads`]) only: one thread's calls are counted from the injectors'
    /// records instead.
    pub members: Vec<String>,
    /// The result.
    pub result: Result<(), EngineError>,
}

/// A fault to apply at a virtual time during the run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimedFault {
    /// Absolute virtual time.
    pub at: Millis,
    /// Member serial.
    pub member: String,
    /// The fault.
    pub fault: Fault,
}

/// What the observer is told after each event.
#[derive(Debug)]
pub enum Observed<'a> {
    /// Time moved; recovery may have logged.
    Tick,
    /// A scheduled fault was applied now, where the seeded tie-break put it among the
    /// threads' events of the same instant (the scenario language: "the seed orders
    /// simultaneous events").
    Fault(&'a TimedFault),
    /// A scheduled change outside the group could not be made now: the partition holds no
    /// token data object with that label (D64, D79). Nothing was changed; the run goes on, as
    /// for the same change outside `Threads`.
    NotMade {
        /// The fault that was due.
        fault: &'a TimedFault,
        /// The label of the object looked for.
        label: String,
    },
    /// A crypto call finished.
    Call(&'a ThreadCall, &'a CallOutcome),
    /// The answer to a runner call reached its thread (the caller recorded what the call did
    /// when it made it).
    Answer(&'a RunnerAnswer),
}

/// A runner call's answer reaching its thread.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunnerAnswer {
    /// Thread number (from 0).
    pub thread: usize,
    /// The caller's number of the call ([`ThreadAction::Runner`]).
    pub number: usize,
    /// Call number in the thread (from 1).
    pub index: u64,
    /// When the thread issued it (and the caller made it).
    pub started: Millis,
    /// When the thread got the answer.
    pub finished: Millis,
}

/// A runner call the caller makes now, at the world's current instant, on the thread's
/// session; then it tells [`Threads::answered`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunnerCall {
    /// Thread number (from 0).
    pub thread: usize,
    /// The caller's number of the call.
    pub number: usize,
    /// The thread's virtual session.
    pub session: VSessionHandle,
    /// Now.
    pub at: Millis,
}

#[derive(Debug)]
enum Event {
    /// A thread issues its next call.
    Issue { thread: usize },
    /// A thread sends its dispatched call (after paying for getting it ready).
    Send { thread: usize, dispatch: Dispatch },
    /// The answer to a call in flight is due.
    Finish {
        thread: usize,
        dispatch: Dispatch,
        sent_on: u64,
        result: MemberResult<Vec<u8>>,
    },
    /// The answer to a runner call is due.
    Answer { thread: usize, number: usize },
    /// A scheduled fault.
    Fault(TimedFault),
}

struct ThreadState {
    session: VSessionHandle,
    program: Vec<ThreadCall>,
    /// Position in the program: entry, and calls of it done.
    entry: usize,
    done_in_entry: u64,
    /// Calls finished.
    finished: u64,
    started: Millis,
    /// When the current crypto call's last member call was sent.
    sent: Option<Millis>,
    members: Vec<String>,
}

impl ThreadState {
    fn current(&self) -> Option<&ThreadCall> {
        self.program.get(self.entry)
    }

    fn advance(&mut self) {
        self.finished += 1;
        self.done_in_entry += 1;
        while self
            .program
            .get(self.entry)
            .is_some_and(|c| self.done_in_entry >= c.times)
        {
            self.entry += 1;
            self.done_in_entry = 0;
        }
    }
}

/// Runs several threads of crypto calls to completion, simultaneous events ordered by the
/// world's tie-break stream. Each thread uses the virtual session given for it. Meant for
/// programs of crypto calls: with no caller to make a runner call ([`ThreadAction::Runner`]),
/// it is answered at once, having done nothing (use [`Threads`] for such programs).
pub fn run_threads(
    world: &mut World,
    sessions: Vec<VSessionHandle>,
    programs: Vec<Vec<ThreadCall>>,
    faults: Vec<TimedFault>,
    observe: &mut dyn FnMut(&mut World, Observed<'_>),
) -> Result<(), WorldError> {
    let mut threads = Threads::start(world, sessions, programs, faults);
    let result = loop {
        match threads.next(world, observe) {
            Ok(None) => break Ok(()),
            // No caller to make it: the call is answered at once, having done nothing.
            Ok(Some(call)) => {
                if let Err(e) = threads.answered(world, call, 0, call.session, observe) {
                    break Err(e);
                }
            }
            Err(e) => break Err(e),
        }
    };
    threads.finish(world);
    result
}

/// Runs one application thread's program (an `App` step) to completion on `session`.
pub fn run_one(
    world: &mut World,
    session: VSessionHandle,
    call: ThreadCall,
    observe: &mut dyn FnMut(&mut World, Observed<'_>),
) -> Result<(), WorldError> {
    let mut driver = Driver::new(vec![session], vec![vec![call]], None);
    driver.begin(world, Vec::new());
    while driver.next(world, observe)?.is_some() {}
    Ok(())
}

/// Several application threads on the one event queue, driven step by step by their caller,
/// which makes the threads' runner calls itself: [`Threads::next`] runs events until a thread
/// issues a runner call (or every thread is done); the caller makes it and reports with
/// [`Threads::answered`]; [`Threads::finish`] hands the tie-break stream back to the world.
pub struct Threads {
    driver: Driver,
}

impl Threads {
    /// Starts the threads now: each issues its first call, the faults are scheduled. The
    /// tie-break stream is the world's, so successive runs continue it deterministically.
    pub fn start(
        world: &mut World,
        sessions: Vec<VSessionHandle>,
        programs: Vec<Vec<ThreadCall>>,
        faults: Vec<TimedFault>,
    ) -> Threads {
        let ties = world.ties().clone();
        let mut driver = Driver::new(sessions, programs, Some(ties));
        driver.begin(world, faults);
        Threads { driver }
    }

    /// Runs events until a thread issues a runner call (returned: make it now) or every thread
    /// is done (`None`).
    pub fn next(
        &mut self,
        world: &mut World,
        observe: &mut dyn FnMut(&mut World, Observed<'_>),
    ) -> Result<Option<RunnerCall>, WorldError> {
        self.driver.next(world, observe)
    }

    /// The caller made `call`; its member calls took `spent`, and the thread's session is now
    /// `session` (a call may open or close it). The answer reaches the thread after `spent`.
    pub fn answered(
        &mut self,
        world: &mut World,
        call: RunnerCall,
        spent: Millis,
        session: VSessionHandle,
        observe: &mut dyn FnMut(&mut World, Observed<'_>),
    ) -> Result<(), WorldError> {
        self.driver.answered(world, call, spent, session, observe)
    }

    /// Sets the key handle of a crypto entry of a thread's program (the caller's handles change
    /// when its runner calls create, destroy or find objects).
    pub fn set_key(&mut self, thread: usize, entry: usize, key: VObjectHandle) {
        if let Some(ThreadCall {
            action: ThreadAction::Crypto { key: k, .. },
            ..
        }) = self
            .driver
            .threads
            .get_mut(thread)
            .and_then(|t| t.program.get_mut(entry))
        {
            *k = key;
        }
    }

    /// Each thread's virtual session now.
    pub fn sessions(&self) -> Vec<VSessionHandle> {
        self.driver.threads.iter().map(|t| t.session).collect()
    }

    /// Ends the run: the tie-break stream goes back to the world.
    pub fn finish(self, world: &mut World) {
        if let Some(ties) = self.driver.ties {
            *world.ties() = ties;
        }
    }
}

struct Driver {
    threads: Vec<ThreadState>,
    /// One thread and no faults (an `App` step): at most one event is ever pending, so it
    /// waits here instead of in the queue (the same order, without the queue's cost).
    next: Option<(Millis, Event)>,
    /// Record which members served each call (`CallOutcome::members`).
    keep_members: bool,
    queue: EventQueue<Event>,
    ties: Option<ChaCha20Rng>,
}

impl Driver {
    fn new(
        sessions: Vec<VSessionHandle>,
        programs: Vec<Vec<ThreadCall>>,
        ties: Option<ChaCha20Rng>,
    ) -> Self {
        let threads = sessions
            .into_iter()
            .zip(programs)
            .map(|(session, program)| {
                let mut t = ThreadState {
                    session,
                    program,
                    entry: 0,
                    done_in_entry: 0,
                    finished: 0,
                    started: 0,
                    sent: None,
                    members: Vec::new(),
                };
                // Skip entries of zero calls.
                while t.current().is_some_and(|c| c.times == 0) {
                    t.entry += 1;
                }
                t
            })
            .collect();
        Driver {
            threads,
            next: None,
            keep_members: ties.is_some(),
            queue: EventQueue::default(),
            ties,
        }
    }

    fn push(&mut self, at: Millis, event: Event) {
        match self.ties.as_mut() {
            Some(ties) => {
                let tie = ties.random::<u64>();
                self.queue.push(at, tie, event);
            }
            // One thread: its events come one after the other.
            None if self.next.is_none() && self.queue.is_empty() => self.next = Some((at, event)),
            None => self.queue.push(at, 0, event),
        }
    }

    fn pop(&mut self) -> Option<(Millis, Event)> {
        self.next.take().or_else(|| self.queue.pop())
    }

    fn begin(&mut self, world: &World, faults: Vec<TimedFault>) {
        let now = world.now();
        for fault in faults {
            let at = fault.at.max(now);
            self.push(at, Event::Fault(fault));
        }
        for thread in 0..self.threads.len() {
            self.push(now, Event::Issue { thread });
        }
    }

    fn next(
        &mut self,
        world: &mut World,
        observe: &mut dyn FnMut(&mut World, Observed<'_>),
    ) -> Result<Option<RunnerCall>, WorldError> {
        while let Some((at, event)) = self.pop() {
            // Recovery due before this event runs first, and what it logged is observed.
            queue::advance_to(world, at, &mut |w| observe(w, Observed::Tick))?;
            observe(world, Observed::Tick);
            match event {
                Event::Fault(f) => match world.apply(&f.member, &f.fault) {
                    // D79: a change that cannot be made stops nothing, inside `Threads` as
                    // outside it (issue 12).
                    Err(WorldError::NotHeld { label, .. }) => {
                        observe(world, Observed::NotMade { fault: &f, label });
                    }
                    applied => {
                        applied?;
                        observe(world, Observed::Fault(&f));
                    }
                },
                Event::Issue { thread } => {
                    if let Some(call) = self.issue(world, thread, at, observe)? {
                        // What the runner call logs is observed when it is answered.
                        return Ok(Some(call));
                    }
                }
                Event::Send { thread, dispatch } => self.send(world, thread, at, dispatch)?,
                Event::Finish {
                    thread,
                    dispatch,
                    sent_on,
                    result,
                } => self.finish(world, thread, at, dispatch, sent_on, result, observe)?,
                Event::Answer { thread, number } => self.answer(world, thread, number, at, observe),
            }
            // What the event itself logged (a drop found by a failed call) stands at its time.
            observe(world, Observed::Tick);
        }
        Ok(None)
    }

    fn answered(
        &mut self,
        world: &mut World,
        call: RunnerCall,
        spent: Millis,
        session: VSessionHandle,
        observe: &mut dyn FnMut(&mut World, Observed<'_>),
    ) -> Result<(), WorldError> {
        if let Some(t) = self.threads.get_mut(call.thread) {
            t.session = session;
        }
        if spent == 0 {
            self.answer(world, call.thread, call.number, call.at, observe);
        } else {
            let due = queue::later(call.at, spent)?;
            self.push(
                due,
                Event::Answer {
                    thread: call.thread,
                    number: call.number,
                },
            );
        }
        // What the call logged stands at the instant it was made.
        observe(world, Observed::Tick);
        Ok(())
    }

    /// A runner call's answer reaches its thread, which issues its next call.
    fn answer(
        &mut self,
        world: &mut World,
        thread: usize,
        number: usize,
        at: Millis,
        observe: &mut dyn FnMut(&mut World, Observed<'_>),
    ) {
        let Some(t) = self.threads.get_mut(thread) else {
            return;
        };
        let answer = RunnerAnswer {
            thread,
            number,
            index: t.finished + 1,
            started: t.started,
            finished: at,
        };
        t.members.clear();
        t.advance();
        observe(world, Observed::Answer(&answer));
        self.push(at, Event::Issue { thread });
    }

    fn issue(
        &mut self,
        world: &mut World,
        thread: usize,
        at: Millis,
        observe: &mut dyn FnMut(&mut World, Observed<'_>),
    ) -> Result<Option<RunnerCall>, WorldError> {
        let t = &mut self.threads[thread];
        let Some(call) = t.current() else {
            return Ok(None);
        };
        let session = t.session;
        let (op, key) = match &call.action {
            ThreadAction::Crypto { op, key } => (op.clone(), *key),
            ThreadAction::Runner(number) => {
                let number = *number;
                t.started = at;
                t.members.clear();
                return Ok(Some(RunnerCall {
                    thread,
                    number,
                    session,
                    at,
                }));
            }
        };
        t.started = at;
        t.sent = None;
        t.members.clear();
        let data = world.workload_bytes(32);
        let (begun, spent) = queue::call(world, |engine, now| {
            engine.begin(now, session, op, key, &data)
        });
        match begun {
            Ok(d) => self.dispatched(world, thread, at, spent, d).map(|()| None),
            Err(e) => {
                self.done(world, thread, at, Err(e), observe);
                self.push(at, Event::Issue { thread });
                Ok(None)
            }
        }
    }

    /// A dispatch is ready after `spent` of member calls (session, login, handle lookup): the
    /// thread sends it then.
    fn dispatched(
        &mut self,
        world: &mut World,
        thread: usize,
        at: Millis,
        spent: Millis,
        dispatch: Dispatch,
    ) -> Result<(), WorldError> {
        let t = &mut self.threads[thread];
        if self.keep_members && t.members.last() != Some(&dispatch.serial) {
            t.members.push(dispatch.serial.clone());
        }
        if spent == 0 {
            return self.send(world, thread, at, dispatch);
        }
        let at = queue::later(at, spent)?;
        self.push(at, Event::Send { thread, dispatch });
        Ok(())
    }

    /// The thread makes the member call now; its answer is due after the call's duration.
    fn send(
        &mut self,
        world: &mut World,
        thread: usize,
        at: Millis,
        dispatch: Dispatch,
    ) -> Result<(), WorldError> {
        if let Some(t) = self.threads.get_mut(thread) {
            t.sent = Some(at);
        }
        let sent_on = world
            .fault_control(&dispatch.serial)
            .map_or(0, |c| c.connection());
        let (result, spent) = queue::call(world, |_, _| dispatch.call());
        let due = queue::later(at, spent)?;
        self.push(
            due,
            Event::Finish {
                thread,
                dispatch,
                sent_on,
                result,
            },
        );
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn finish(
        &mut self,
        world: &mut World,
        thread: usize,
        at: Millis,
        dispatch: Dispatch,
        sent_on: u64,
        result: MemberResult<Vec<u8>>,
        observe: &mut dyn FnMut(&mut World, Observed<'_>),
    ) -> Result<(), WorldError> {
        let kind = match dispatch.op() {
            CryptoOp::Sign => CallKind::Sign,
            CryptoOp::Encrypt => CallKind::Encrypt,
            CryptoOp::SetValue => CallKind::SetValue,
        };
        let result = match world.fault_control(&dispatch.serial) {
            Some(c) => c.deliver(kind, sent_on, at, result),
            None => result,
        };
        let (completion, spent) =
            queue::call(world, |engine, now| engine.complete(now, dispatch, result));
        match completion {
            Completion::Done(r) => {
                self.done(world, thread, at, r.map(|_| ()), observe);
                self.push(at, Event::Issue { thread });
                Ok(())
            }
            Completion::Redispatch(d) => self.dispatched(world, thread, at, spent, d),
        }
    }

    fn done(
        &mut self,
        world: &mut World,
        thread: usize,
        at: Millis,
        result: Result<(), EngineError>,
        observe: &mut dyn FnMut(&mut World, Observed<'_>),
    ) {
        let t = &mut self.threads[thread];
        let outcome = CallOutcome {
            thread,
            index: t.finished + 1,
            started: t.started,
            finished: at,
            sent: t.sent,
            members: std::mem::take(&mut t.members),
            result,
        };
        let t = &mut self.threads[thread];
        if let Some(call) = t.current() {
            observe(world, Observed::Call(call, &outcome));
        }
        // Keep the list's allocation for the next call.
        t.members = outcome.members;
        t.members.clear();
        t.advance();
    }
}
