//! Several application threads on the virtual slot with overlapping calls (B25, B29, D5, D6).
//!
//! Each thread runs its program of single-part crypto calls one after the other on its own
//! virtual session. A call is split (architecture "calls in flight"): the engine decides the
//! member at the call's start (`begin`, least busy), the call takes that member's virtual
//! duration, and the engine completes it at its end (`complete`, which may re-dispatch after a
//! drop). Scheduled faults and engine deadlines (recovery) happen between events. Events are
//! ordered by virtual time; events at the same instant are ordered by the seeded tie-break
//! stream, so an interleaving replays exactly from its seed.

use std::collections::BTreeMap;

use ha_engine::EngineError;
use ha_engine::failover::{Completion, CryptoOp, Dispatch};
use ha_engine::ports::Millis;
use ha_engine::state::{VObjectHandle, VSessionHandle};
use rand::RngExt;
use rand_chacha::ChaCha20Rng;

use crate::fault::Fault;
use crate::world::{World, WorldError};

/// One call a thread makes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThreadCall {
    /// Sign or encrypt.
    pub op: CryptoOp,
    /// The key's virtual handle.
    pub key: VObjectHandle,
    /// A label for the record.
    pub label: String,
}

/// What happened to one call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallOutcome {
    /// Thread number (from 0).
    pub thread: usize,
    /// Call number in the thread (from 1).
    pub index: usize,
    /// The call's label.
    pub label: String,
    /// When the application issued it.
    pub started: Millis,
    /// When the application got the result.
    pub finished: Millis,
    /// Members that served it, in order (more than one after a re-dispatch).
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

#[derive(Debug)]
enum Event {
    /// A thread issues its next call.
    Issue { thread: usize },
    /// A call in flight ends.
    Finish { thread: usize, dispatch: Dispatch },
    /// A scheduled fault.
    Fault(TimedFault),
}

struct ThreadState {
    session: VSessionHandle,
    program: Vec<ThreadCall>,
    next: usize,
    started: Millis,
    members: Vec<String>,
}

/// Runs the threads to completion. Each thread uses the virtual session given for it.
pub fn run_threads(
    world: &mut World,
    sessions: Vec<VSessionHandle>,
    programs: Vec<Vec<ThreadCall>>,
    faults: Vec<TimedFault>,
    observe: &mut dyn FnMut(&mut World, Option<&CallOutcome>),
) -> Result<Vec<CallOutcome>, WorldError> {
    // The tie-break stream is the world's, so successive runs continue it deterministically.
    let mut ties = world.ties().clone();
    let result = run_with(world, sessions, programs, faults, &mut ties, observe);
    *world.ties() = ties;
    result
}

fn run_with(
    world: &mut World,
    sessions: Vec<VSessionHandle>,
    programs: Vec<Vec<ThreadCall>>,
    faults: Vec<TimedFault>,
    ties: &mut ChaCha20Rng,
    observe: &mut dyn FnMut(&mut World, Option<&CallOutcome>),
) -> Result<Vec<CallOutcome>, WorldError> {
    let mut threads: Vec<ThreadState> = sessions
        .into_iter()
        .zip(programs)
        .map(|(session, program)| ThreadState {
            session,
            program,
            next: 0,
            started: 0,
            members: Vec::new(),
        })
        .collect();
    // Key: (time, tie-break draw, sequence) — the draw orders simultaneous events by the seed.
    let mut queue: BTreeMap<(Millis, u64, u64), Event> = BTreeMap::new();
    let mut seq = 0u64;
    let mut push = |queue: &mut BTreeMap<(Millis, u64, u64), Event>,
                    at: Millis,
                    ev: Event,
                    ties: &mut ChaCha20Rng| {
        seq += 1;
        queue.insert((at, ties.random::<u64>(), seq), ev);
    };
    world.sync_timeouts();
    let now = world.now();
    for fault in faults {
        let at = fault.at.max(now);
        push(&mut queue, at, Event::Fault(fault), ties);
    }
    for thread in 0..threads.len() {
        push(&mut queue, now, Event::Issue { thread }, ties);
    }
    let mut outcomes = Vec::new();
    while let Some((key, event)) = queue.pop_first() {
        let at = key.0;
        // Recovery due before this event runs first, and what it logged is observed.
        world.advance_to(at)?;
        observe(world, None);
        let finished = outcomes.len();
        match event {
            Event::Fault(f) => world.apply(&f.member, &f.fault)?,
            Event::Issue { thread } => {
                let t = &mut threads[thread];
                let Some(call) = t.program.get(t.next).cloned() else {
                    continue;
                };
                t.started = at;
                t.members.clear();
                let data = world.workload_bytes(32);
                match world
                    .engine()
                    .begin(at, t.session, call.op.clone(), call.key, &data)
                {
                    Ok(d) => {
                        let (end, ev) = in_flight(world, &mut threads[thread], thread, at, d);
                        push(&mut queue, end, ev, ties);
                    }
                    Err(e) => {
                        finish(
                            &mut threads[thread],
                            thread,
                            at,
                            Err(e),
                            &call,
                            &mut outcomes,
                        );
                        push(&mut queue, at, Event::Issue { thread }, ties);
                    }
                }
            }
            Event::Finish { thread, dispatch } => {
                let result = world.engine().call(&dispatch);
                let _ = world.take_elapsed();
                let call = threads[thread].program[threads[thread].next].clone();
                match world.engine().complete(at, dispatch, result) {
                    Completion::Done(r) => {
                        finish(
                            &mut threads[thread],
                            thread,
                            at,
                            r.map(|_| ()),
                            &call,
                            &mut outcomes,
                        );
                        push(&mut queue, at, Event::Issue { thread }, ties);
                    }
                    Completion::Redispatch(d) => {
                        let (end, ev) = in_flight(world, &mut threads[thread], thread, at, d);
                        push(&mut queue, end, ev, ties);
                    }
                }
            }
        }
        match outcomes.get(finished) {
            Some(outcome) => observe(world, Some(outcome)),
            None => observe(world, None),
        }
    }
    Ok(outcomes)
}

/// A call dispatched at `at` ends after the serving member's call duration.
fn in_flight(
    world: &World,
    t: &mut ThreadState,
    thread: usize,
    at: Millis,
    dispatch: Dispatch,
) -> (Millis, Event) {
    t.members.push(dispatch.serial.clone());
    let end = at + world.call_duration(&dispatch.serial);
    (end, Event::Finish { thread, dispatch })
}

fn finish(
    t: &mut ThreadState,
    thread: usize,
    at: Millis,
    result: Result<(), EngineError>,
    call: &ThreadCall,
    outcomes: &mut Vec<CallOutcome>,
) {
    t.next += 1;
    outcomes.push(CallOutcome {
        thread,
        index: t.next,
        label: call.label.clone(),
        started: t.started,
        finished: at,
        members: std::mem::take(&mut t.members),
        result,
    });
}
