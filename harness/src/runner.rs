//! Runs a scenario against a `sim::World` and writes what happened into the run's
//! [`Record`] (`sim::record`), the one record the transcript, the verdict and coverage read.
//! Recording happens here and only here; rendering is [`crate::transcript::render`].

use std::collections::{BTreeMap, BTreeSet};

use ha_engine::failover::CryptoOp;
use ha_engine::ports::{KeyKind as PortKeyKind, Millis, Secret};
use ha_engine::state::{VObjectHandle, VSessionHandle};
use ha_engine::{Ckr, EngineEvent};
use lunacm::chrystoki::ConfError;
use lunacm::{CommandOutput, LunaCm};
use sim::fault::CallKind;
use sim::fault::injector::UnsupportedFault;
use sim::memfs::FsEvent;
use sim::queue;
use sim::record::{
    Action, Call, Checkpoint, Command, End, EngineView, Event, FaultEvent, FaultTiming, Header,
    LogFile, MemberState, NegativeOutcome, Placement, Record, Section, ThreadCall as ThreadRecord,
};
use sim::world::{World, WorldError};

use crate::app::App;
use crate::backend::{self, Backend};
use crate::scenario::{
    self, AppOp, Fault, KeyKind, NegativeInput, Scenario, Seconds, Step, ThreadOp,
};
use crate::topology::{TopologyError, build_lunacm};
use crate::transcript::result_of;
use sim::scheduler::{
    Observed, RunnerCall, ThreadAction, ThreadCall, Threads, TimedFault, run_one,
};

mod conf;
mod react;
pub use react::HANDLE_KEPT;

/// The runner's failure to start at all.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct RunError(#[from] pub TopologyError);

/// Why a run stopped early. The record ends with it (`ABORTED: ...`); it is not an
/// expectation failure, though the verdict reports it as one.
#[derive(Debug, thiserror::Error)]
pub enum AbortError {
    /// The scenario's initial configuration file was refused.
    #[error("conf: {0}")]
    Conf(#[source] ConfError),
    /// A step could not be carried out.
    #[error(transparent)]
    Step(#[from] StepError),
    /// Another process (`processes`) could not be started on this backend.
    #[error("processes: {0}")]
    Process(#[source] WorldError),
}

/// A step that could not be carried out, and which one.
#[derive(Debug, thiserror::Error)]
#[error("steps[{step}]: {source}")]
pub struct StepError {
    /// Its index in `steps`.
    pub step: usize,
    /// What went wrong.
    pub source: StepFailure,
}

/// What stopped a step.
#[derive(Debug, thiserror::Error)]
pub enum StepFailure {
    /// The simulated world refused (an unknown member, a fault it cannot apply, time backwards).
    #[error(transparent)]
    World(#[from] WorldError),
    /// An `EditConf` text was refused.
    #[error("EditConf: {0}")]
    EditConf(#[source] ConfError),
    /// `OpenSessionOn` names a group the configuration does not have.
    #[error("OpenSessionOn: no group labelled '{0}'")]
    UnknownGroup(String),
    /// `MemberAdded` with no group to add the member to.
    #[error("MemberAdded needs a configured group")]
    NoGroupForMemberAdded,
    /// `MemberAdded` is an operator action, not something a `Threads` step can schedule.
    #[error("MemberAdded cannot be scheduled inside Threads; use a step")]
    MemberAddedInThreads,
}

/// `CK_INVALID_HANDLE`: what an application passes for a session or object it does not have.
const INVALID_HANDLE: u64 = 0;

struct Runner<'a> {
    scenario: &'a Scenario,
    world: World,
    /// LunaCM beside the application: its commands, the configuration file.
    lunacm: LunaCm,
    record: Record,
    app: App,
    credential: Secret,
    options: RunOptions,
    /// The result of the application call recorded last (what a profile reacts to).
    last: Ckr,
    /// The other processes' application state, by their index in `scenario.processes` (the
    /// active one's is swapped into `app` while its step runs).
    others: Vec<App>,
    /// The name of the other process whose step is running, if any (prefixes its calls).
    active: Option<String>,
    /// While a thread's runner call is made: the calls it recorded, held back until its
    /// answer reaches the thread (`Threads`).
    capture: Option<Vec<Call>>,
}

/// How a run records, beyond what every run records.
#[derive(Clone, Copy, Debug, Default)]
pub struct RunOptions {
    /// Record exploration's witness data ([`Event::Holders`], [`Event::Holdings`]): which
    /// partitions held an object when a call on it failed or a standby served it, and every
    /// partition's token objects at each checkpoint. Never rendered.
    pub witness: bool,
    /// A planted engine bug (exploration's own tests only; see `ha_engine::planted`).
    #[doc(hidden)]
    pub planted: Option<ha_engine::planted::PlantedBug>,
}

/// Runs a scenario from start to end on the in-process model and returns its record.
pub fn run(scenario: &Scenario) -> Result<Record, RunError> {
    run_with(scenario, RunOptions::default())
}

/// [`run`] with options.
pub fn run_with(scenario: &Scenario, options: RunOptions) -> Result<Record, RunError> {
    run_on_with(scenario, &Backend::Model, options)
}

/// Runs a scenario from start to end on `backend` and returns its record.
pub fn run_on(scenario: &Scenario, backend: &Backend) -> Result<Record, RunError> {
    run_on_with(scenario, backend, RunOptions::default())
}

/// [`run_on`] with options.
pub fn run_on_with(
    scenario: &Scenario,
    backend: &Backend,
    options: RunOptions,
) -> Result<Record, RunError> {
    let built = backend::build(scenario, backend)?;
    Ok(run_built(scenario, built, options))
}

/// Runs a scenario from start to end on a world built by the caller (`hasim validate`'s, over
/// the operator's own tokens) and returns its record.
pub fn run_built(scenario: &Scenario, built: backend::Built, options: RunOptions) -> Record {
    let mut world = built.world;
    if let Some(bug) = options.planted {
        world.engine().plant(bug);
    }
    if options.witness {
        world.record_failures();
    }
    let lunacm = if options.planted == Some(ha_engine::planted::PlantedBug::LunacmBorrowsLogin) {
        lunacm::LunaCm::new(
            world.lunacm_members_borrowing_application_login(),
            Box::new(world.fs().clone()),
        )
    } else {
        build_lunacm(&world)
    };
    let mut lunacm = lunacm;
    if options.planted == Some(ha_engine::planted::PlantedBug::SyncOverwritesById) {
        lunacm.plant_sync_overwrite();
    }
    let mut runner = Runner {
        scenario,
        world,
        lunacm,
        record: Record {
            // A few events per step, reserved up front so the record is not copied as it
            // grows; capped for very long scenarios.
            events: Vec::with_capacity(scenario.steps.len().saturating_mul(4).min(4096)),
            ..Record::default()
        },
        app: App::default(),
        credential: Secret::new(scenario.credentials.co.clone()),
        options,
        last: Ckr::CKR_OK,
        others: Vec::new(),
        active: None,
        capture: None,
    };
    runner.header(built.binding);
    if let Err(error) = runner.execute() {
        let now = runner.world.now();
        runner.record.push(now, Event::Aborted(error.to_string()));
    }
    runner.finish();
    runner.record
}

fn key_kind(kind: KeyKind) -> PortKeyKind {
    match kind {
        KeyKind::Aes128 => PortKeyKind::Aes128,
        KeyKind::Aes256 => PortKeyKind::Aes256,
        KeyKind::Rsa2048 => PortKeyKind::Rsa2048,
        KeyKind::EcP256 => PortKeyKind::EcP256,
    }
}

/// The injector or partition fault of a scenario fault; `MemberAdded` is an operator action
/// that no injector applies.
fn injected(fault: &Fault) -> Result<sim::fault::Fault, StepFailure> {
    fault
        .fault()
        .ok_or(StepFailure::World(WorldError::Unsupported(
            UnsupportedFault("MemberAdded"),
        )))
}

impl Runner<'_> {
    fn header(&mut self, binding: Vec<String>) {
        let s = self.scenario;
        self.record.header = Header {
            scenario: s.name.clone(),
            rules: s.rules.clone(),
            seed: s.seed,
            generator: sim::rng::GENERATOR.to_string(),
            clock_start: s.clock.start.clone(),
            pid: s.clock.pid,
            slots: self.world.serials().to_vec(),
            binding,
        };
    }

    fn now(&self) -> Millis {
        self.world.now()
    }

    fn push(&mut self, event: Event) {
        let now = self.now();
        self.record.push(now, event);
    }

    /// Moves what the engine wrote to the HA log into the record.
    fn drain(&mut self) {
        drain(&mut self.world, &mut self.record);
    }

    fn command(&mut self, line: &str) -> CommandOutput {
        let now = self.now();
        let (lunacm, credential) = (&mut self.lunacm, &self.credential);
        // LunaCM is its own process (its own connections, D22): the time its member calls take
        // is not the application's, so nobody's clock moves by it.
        let (out, _lunacm_time) = queue::call(&mut self.world, |engine, now| {
            lunacm.execute(engine, now, line, Some(credential))
        });
        self.record.push(
            now,
            Event::Command(Command {
                line: lunacm::hagroup::args::redact(line),
                output: out.render(),
            }),
        );
        self.drain();
        out
    }

    fn execute(&mut self) -> Result<(), AbortError> {
        let scenario = self.scenario;
        for process in &scenario.processes {
            let order: Vec<String> = if process.order.is_empty() {
                self.world.serials().to_vec()
            } else {
                process
                    .order
                    .iter()
                    .map(|s| s.as_str().to_string())
                    .collect()
            };
            self.world
                .add_process(process.pid, &process.machine, &order)
                .map_err(AbortError::Process)?;
            self.others.push(App::default());
        }
        self.push(Event::Section(Section::Setup));
        self.load_initial_conf().map_err(AbortError::Conf)?;
        for line in &scenario.setup {
            self.command(line);
        }
        self.push(Event::Section(Section::Steps));
        for (i, step) in scenario.steps.iter().enumerate() {
            self.step(step)
                .map_err(|source| StepError { step: i, source })?;
            self.drain();
        }
        if let Some(negative) = &scenario.negative {
            self.negative(&negative.input);
        }
        Ok(())
    }

    fn step(&mut self, step: &Step) -> Result<(), StepFailure> {
        match step {
            Step::App(op) => {
                // The application thread pays for the member calls its call made (B28): the
                // clock moves by that time, recovery due meanwhile running on the way.
                queue::start_measure(&mut self.world);
                match &self.scenario.application {
                    Some(spec) => self.app_profiled(op, spec)?,
                    None => self.app(op)?,
                }
                let spent = queue::measured(&mut self.world);
                self.pay(spent)
            }
            Step::In(name, op) => self.in_process(name, op),
            Step::Command(line) => {
                self.command(line);
                Ok(())
            }
            Step::Fault(fault) => self.fault(fault),
            Step::At(seconds, fault) => {
                self.advance_to(seconds.ms())?;
                self.fault(fault)
            }
            Step::OnCall {
                member,
                call,
                nth,
                fault,
            } => {
                self.world
                    .arm(member.as_str(), *call, *nth, injected(fault)?)?;
                self.push(Event::Fault(FaultEvent {
                    member: member.to_string(),
                    action: fault.action(),
                    timing: FaultTiming::Armed {
                        call: *call,
                        nth: *nth,
                    },
                }));
                Ok(())
            }
            Step::AdvanceTo(seconds) => self.advance_to(seconds.ms()),
            Step::Advance(seconds) => {
                let to = queue::later(self.now(), seconds.ms())?;
                self.advance_to(to)
            }
            Step::Checkpoint(label) => {
                self.checkpoint(label);
                Ok(())
            }
            Step::CallCounts(from, to) => {
                self.call_counts(from, to);
                Ok(())
            }
            Step::EditConf(text) => self.edit_conf(text).map_err(StepFailure::EditConf),
            Step::Threads { threads, faults } => self.threads(threads, faults),
        }
    }

    /// An application call made by another process: its engine, sessions and handles are
    /// swapped in for the step and out again. Its engine follows the configuration LunaCM
    /// keeps (one `Chrystoki.conf` per run, D45) before the call.
    fn in_process(&mut self, name: &str, op: &AppOp) -> Result<(), StepFailure> {
        let Some(index) = self.scenario.processes.iter().position(|p| p.name == name) else {
            return self.step(&Step::App(op.clone()));
        };
        let now = self.now();
        let config = self.world.engine().config().clone();
        let log = self.world.engine().log_settings().clone();
        self.world.switch_to(Some(index));
        if *self.world.engine().config() != config || *self.world.engine().log_settings() != log {
            // The same file the scenario's own process loaded was accepted there.
            let _ = self.world.engine().apply_config(config, log, now);
        }
        if let Some(app) = self.others.get_mut(index) {
            std::mem::swap(&mut self.app, app);
        }
        let last = self.last;
        self.active = Some(name.to_string());
        let result = self.step(&Step::App(op.clone()));
        self.active = None;
        self.last = last;
        if let Some(app) = self.others.get_mut(index) {
            std::mem::swap(&mut self.app, app);
        }
        self.world.switch_to(None);
        result
    }

    /// `op` as the transcript shows it: prefixed with the process that made it, when that is
    /// not the scenario's own.
    fn named(&self, op: String) -> String {
        match &self.active {
            Some(name) => format!("{name}: {op}"),
            None => op,
        }
    }

    /// Advances time; what recovery logs on the way is drained at each timer run, so each log
    /// line carries its own time.
    fn advance_to(&mut self, to: Millis) -> Result<(), StepFailure> {
        let (world, record) = (&mut self.world, &mut self.record);
        queue::advance_to(world, to, &mut |w| drain(w, record))?;
        self.drain();
        Ok(())
    }

    /// The application thread pays `spent` of member-call time (see `sim::queue`).
    fn pay(&mut self, spent: Millis) -> Result<(), StepFailure> {
        let (world, record) = (&mut self.world, &mut self.record);
        queue::pay(world, spent, &mut |w| drain(w, record))?;
        Ok(())
    }

    fn fault(&mut self, fault: &Fault) -> Result<(), StepFailure> {
        if let Action::Fault(sim::fault::Fault::DirectChange { label, .. }) = fault.action() {
            return self.direct_change(fault, &label);
        }
        self.push(Event::Fault(FaultEvent {
            member: fault.member().to_string(),
            action: fault.action(),
            timing: FaultTiming::Now,
        }));
        let Action::Fault(injected) = fault.action() else {
            // An operator adds the partition to the group with LunaCM while the application
            // runs (B24, B54): the first group, as `hagroup addmember` would.
            let label = self
                .lunacm
                .config()
                .groups
                .first()
                .map(|g| g.label.clone())
                .ok_or(StepFailure::NoGroupForMemberAdded)?;
            let serial = fault.member();
            // A refusal (a prerequisite that cannot be checked now, ...) is in the command's
            // recorded output; the run goes on, as the operator's would.
            self.command(&format!(
                "hagroup addmember -group {label} -serialnumber {serial}"
            ));
            return Ok(());
        };
        self.world.apply(fault.member().as_str(), &injected)?;
        Ok(())
    }

    /// `DirectChange` (D64): made first, recorded as a fault only when it was made. A partition
    /// that holds no such object (destroyed meanwhile, never given to it) is a step that cannot
    /// run: recorded with its reason, and the run goes on, as another application's attempt
    /// would (D79, issue 9). With witness data on, every copy's fingerprint right after it.
    fn direct_change(&mut self, fault: &Fault, label: &str) -> Result<(), StepFailure> {
        let Action::Fault(injected) = fault.action() else {
            return Ok(());
        };
        let member = fault.member().to_string();
        match self.world.apply(&member, &injected) {
            Err(WorldError::NotHeld { serial, label }) => {
                self.push(not_held(&serial, &label));
                return Ok(());
            }
            other => other?,
        }
        self.push(Event::Fault(FaultEvent {
            member: member.clone(),
            action: fault.action(),
            timing: FaultTiming::Now,
        }));
        if self.options.witness {
            let changed = changed_witness(&self.world, member, label);
            self.push(changed);
        }
        Ok(())
    }

    /// A `Threads` step: each thread gets its own virtual session; one record entry per call,
    /// in the order the calls finished, with the member(s) that served it. Signs and encrypts
    /// are dispatched by the scheduler; every other call is a runner call, made here when its
    /// thread issues it, on the thread's session, with the application's object handles
    /// (shared by its threads, as PKCS#11 handles are by a process's sessions; D60).
    fn threads(
        &mut self,
        programs: &[Vec<ThreadOp>],
        faults: &[(Seconds, Fault)],
    ) -> Result<(), StepFailure> {
        self.ensure_initialized();
        let mut calls = Vec::new();
        // The runner calls by number, and the crypto entries' key labels (looked up again
        // after every runner call, which may make, destroy or find objects).
        let mut runner_ops: Vec<&AppOp> = Vec::new();
        let mut keyed: Vec<(usize, usize, &str)> = Vec::new();
        for (t, program) in programs.iter().enumerate() {
            let mut thread_calls = Vec::new();
            for (e, op) in program.iter().enumerate() {
                let crypto = match op {
                    ThreadOp::Sign { key, times } => Some((CryptoOp::Sign, key, *times, "Sign")),
                    ThreadOp::Encrypt { key, times } => {
                        Some((CryptoOp::Encrypt, key, *times, "Encrypt"))
                    }
                    _ => None,
                };
                match crypto {
                    Some((crypto, key, times, name)) => {
                        keyed.push((t, e, key.as_str()));
                        thread_calls.push(ThreadCall {
                            action: ThreadAction::Crypto {
                                op: crypto,
                                key: self.key(key),
                            },
                            label: format!("{name}({key})"),
                            times: u64::from(times),
                        });
                    }
                    None => {
                        thread_calls.push(ThreadCall {
                            action: ThreadAction::Runner(runner_ops.len()),
                            label: String::new(),
                            times: 1,
                        });
                        runner_ops.push(op);
                    }
                }
            }
            calls.push(thread_calls);
        }
        let mut timed = Vec::new();
        for (second, fault) in faults {
            let Action::Fault(injected) = fault.action() else {
                return Err(StepFailure::MemberAddedInThreads);
            };
            timed.push(TimedFault {
                at: second.ms(),
                member: fault.member().as_str().to_string(),
                fault: injected,
            });
        }
        // The threads work on the virtual slot of the application's current session.
        let group = self
            .app
            .session
            .and_then(|vs| self.world.engine().group_of_session(vs))
            .unwrap_or(0);
        // Each thread's session is opened by the application before the threads start; the
        // application pays for the member calls that takes (a slow member, B28).
        let mut sessions = Vec::new();
        queue::start_measure(&mut self.world);
        for thread in 0..calls.len() {
            let now = self.now();
            match self.world.engine().open_session(now, group) {
                Ok(vs) => {
                    sessions.push(vs);
                    if self.options.witness {
                        self.push(Event::ThreadSession { opened: true });
                    }
                }
                Err(e) => {
                    // The thread goes on with no session, as an application that ignored the
                    // error would: its calls answer `CKR_SESSION_HANDLE_INVALID`.
                    self.record_app(
                        format!("C_OpenSession (thread {thread})"),
                        result_of(&Err::<(), _>(e)),
                    );
                    sessions.push(INVALID_HANDLE);
                }
            }
        }
        let spent = queue::measured(&mut self.world);
        self.pay(spent)?;
        let total: u64 = calls.iter().flatten().map(|c| c.times).sum();
        self.push(Event::ThreadsStarted {
            threads: calls.len(),
            calls: usize::try_from(total).unwrap_or(usize::MAX),
        });
        for f in &timed {
            self.push(Event::Fault(FaultEvent {
                member: f.member.clone(),
                action: Action::Fault(f.fault.clone()),
                timing: FaultTiming::Scheduled(f.at),
            }));
        }
        let (options, standby) = (self.options, self.standby());
        // What each thread's runner call recorded, until its answer reaches the thread.
        let mut answers: Vec<Vec<Call>> = vec![Vec::new(); calls.len()];
        let mut threads = Threads::start(&mut self.world, sessions, calls, timed);
        let result = loop {
            let record = &mut self.record;
            let mut observe = |w: &mut World, seen: Observed<'_>| {
                thread_seen(w, record, &mut answers, options, &standby, seen);
            };
            let call = match threads.next(&mut self.world, &mut observe) {
                Ok(Some(call)) => call,
                Ok(None) => break Ok(()),
                Err(e) => break Err(StepFailure::from(e)),
            };
            let (session, spent, made) = match self.thread_call(call, runner_ops[call.number]) {
                Ok(done) => done,
                Err(e) => break Err(e),
            };
            if self.options.witness {
                // Exploration sees each runner call where it was made, with its witness.
                let finished = call.at.saturating_add(spent);
                for made in &made {
                    self.made_witness(call, finished, made, &standby);
                }
            }
            if let Some(slot) = answers.get_mut(call.thread) {
                *slot = made;
            }
            for (t, e, label) in &keyed {
                threads.set_key(*t, *e, self.key(label));
            }
            let record = &mut self.record;
            let answered =
                threads.answered(&mut self.world, call, spent, session, &mut |w, seen| {
                    thread_seen(w, record, &mut answers, options, &standby, seen);
                });
            if let Err(e) = answered {
                break Err(StepFailure::from(e));
            }
        };
        let sessions = threads.sessions();
        threads.finish(&mut self.world);
        let closed = self.close_thread_sessions(&sessions);
        result.and(closed)
    }

    /// Exploration's witness of a thread's runner call, now, as it was made.
    fn made_witness(
        &mut self,
        call: RunnerCall,
        finished: Millis,
        made: &Call,
        standby: &BTreeSet<String>,
    ) {
        let members = placed_members(&made.placement);
        self.push(Event::RunnerCallMade(ThreadRecord {
            thread: call.thread,
            op: made.op.clone(),
            index: 0,
            result: made.result,
            started: call.at,
            finished,
            sent: None,
            members: members.clone(),
            placement: Some(made.placement.clone()),
        }));
        if let Some(label) = object_label(&made.op) {
            let now = self.now();
            witness(
                &self.world,
                &mut self.record,
                self.options,
                standby,
                now,
                Some(call.at),
                label,
                made.result,
                &members,
            );
        }
    }

    /// A thread's runner call, made now on the thread's session: the thread's session after it,
    /// the virtual time its member calls took, and what it recorded (held back until its
    /// answer reaches the thread).
    fn thread_call(
        &mut self,
        call: RunnerCall,
        op: &AppOp,
    ) -> Result<(VSessionHandle, Millis, Vec<Call>), StepFailure> {
        let (session, last) = (self.app.session, self.last);
        self.app.session = Some(call.session);
        self.capture = Some(Vec::new());
        queue::start_measure(&mut self.world);
        let result = self.app(op);
        let spent = queue::measured(&mut self.world);
        let made = self.capture.take().unwrap_or_default();
        let thread_session = self.app.session.unwrap_or(INVALID_HANDLE);
        self.app.session = session;
        self.last = last;
        result.map(|()| (thread_session, spent, made))
    }

    /// The application closes the threads' sessions, paying for the member calls.
    fn close_thread_sessions(&mut self, sessions: &[VSessionHandle]) -> Result<(), StepFailure> {
        queue::start_measure(&mut self.world);
        for vs in sessions {
            let now = self.now();
            // A session the engine already invalidated (total loss) or the thread closed is
            // simply gone.
            let closed = self.world.engine().close_session(now, *vs);
            if closed.is_ok() && self.options.witness {
                self.push(Event::ThreadSession { opened: false });
            }
        }
        let spent = queue::measured(&mut self.world);
        self.pay(spent)
    }

    /// `CallCounts(from, to)`: per member, the calls of each kind that reached it between two
    /// recorded checkpoints (the loader checked that both come earlier).
    fn call_counts(&mut self, from: &str, to: &str) {
        let (Some(a), Some(b)) = (self.record.checkpoint(from), self.record.checkpoint(to)) else {
            return;
        };
        let members = b
            .members
            .iter()
            .map(|m| {
                let before = a.members.iter().find(|x| x.serial == m.serial);
                let grown = m
                    .calls_by_kind
                    .iter()
                    .filter_map(|(kind, n)| {
                        let was = before
                            .and_then(|x| x.calls_by_kind.get(kind))
                            .copied()
                            .unwrap_or(0);
                        let d = n.saturating_sub(was);
                        (d > 0).then_some((*kind, d))
                    })
                    .collect();
                (m.serial.clone(), grown)
            })
            .collect();
        self.push(Event::CallCounts {
            from: from.to_string(),
            to: to.to_string(),
            members,
        });
    }

    fn checkpoint(&mut self, label: &str) {
        let infos = self.world.token_infos();
        let alive = self.world.engine().alive_members();
        let alive: Vec<String> = alive.into_values().flatten().collect();
        let roles = self.world.engine().member_roles();
        let mut members = Vec::new();
        for serial in self.world.serials().to_vec() {
            let Some(info) = infos.get(&serial) else {
                continue;
            };
            let grouped = self
                .world
                .engine()
                .config()
                .group_of_member(&serial)
                .is_some();
            let engine = if !self.world.engine().is_initialized() || !grouped {
                EngineView::NotApplicable
            } else if alive.contains(&serial) {
                EngineView::Alive
            } else {
                EngineView::Down
            };
            let calls = self.world.record(&serial).attempted;
            members.push(MemberState {
                role: roles.get(&serial).copied(),
                objects: info.object_count,
                used: info.used_storage,
                free: info.free_storage,
                engine,
                served_sign: self.world.served(&serial, CallKind::Sign),
                served_encrypt: self.world.served(&serial, CallKind::Encrypt),
                calls: calls.values().sum(),
                calls_by_kind: calls,
                serial,
            });
        }
        let slots = self
            .world
            .engine()
            .app_slot_list()
            .iter()
            .map(|s| s.render())
            .collect();
        self.push(Event::Checkpoint(Checkpoint {
            label: label.to_string(),
            members,
            slots,
            log_files: self.log_files(),
        }));
        if self.options.witness {
            let objects = self.world.token_labels();
            let contents = self.world.data_fingerprints();
            let rooms = self.world.rooms();
            self.push(Event::Holdings {
                label: label.to_string(),
                objects,
                contents,
                rooms,
            });
        }
    }

    fn record_app(&mut self, op: String, result: Ckr) {
        self.record_app_placed(op, result, Placement::Unobserved);
    }

    /// Records a call's result and where it went.
    fn record_app_placed(&mut self, op: String, result: Ckr, placement: Placement) {
        let served: Vec<String> = match &placement {
            Placement::On(members) => members.clone(),
            _ => Vec::new(),
        };
        let label = object_label(&op).map(str::to_string);
        let op = self.named(op);
        self.last = result;
        record_fired(&self.world, &mut self.record);
        if let Some(captured) = self.capture.as_mut() {
            // A thread's runner call: recorded when its answer reaches the thread.
            captured.push(Call {
                op,
                result,
                placement,
            });
            return;
        }
        self.push(Event::Call(Call {
            op,
            result,
            placement,
        }));
        if let Some(label) = label {
            let standby = self.standby();
            let now = self.now();
            witness(
                &self.world,
                &mut self.record,
                self.options,
                &standby,
                now,
                None,
                &label,
                result,
                &served,
            );
        }
    }

    /// Standby members of every configured group (LunaCM's configuration).
    fn standby(&self) -> BTreeSet<String> {
        if !self.options.witness {
            return BTreeSet::new();
        }
        self.lunacm
            .config()
            .groups
            .iter()
            .flat_map(|g| g.standby.iter().cloned())
            .collect()
    }

    fn ensure_initialized(&mut self) {
        if self.world.engine().is_initialized() {
            return;
        }
        let now = self.now();
        let r = self.world.engine().initialize(now);
        self.record_app("C_Initialize (implicit)".into(), result_of(&r));
        self.drain();
    }

    /// The application's session handle; with none open, the application passes what a real
    /// one would: an invalid handle, and the call answers `CKR_SESSION_HANDLE_INVALID`.
    fn session(&self) -> VSessionHandle {
        self.app.session.unwrap_or(INVALID_HANDLE)
    }

    /// The handle the application holds for `label`: the one it got when it made the object,
    /// kept after a destroy or a re-initialise (a stale handle), or an invalid handle for a
    /// label it never made. The engine answers such calls with the PKCS#11 code
    /// (`CKR_OBJECT_HANDLE_INVALID`, ...), as a real library would; the run goes on.
    fn key(&self, label: &str) -> VObjectHandle {
        self.app.keys.get(label).copied().unwrap_or(INVALID_HANDLE)
    }

    fn app(&mut self, op: &AppOp) -> Result<(), StepFailure> {
        if !matches!(op, AppOp::Initialize | AppOp::Finalize) {
            self.ensure_initialized();
        }
        let now = self.now();
        match op {
            AppOp::Initialize => {
                let r = self.world.engine().initialize(now);
                self.record_app("C_Initialize".into(), result_of(&r));
            }
            AppOp::Finalize => {
                let r = self.world.engine().finalize(now);
                // Handles die with the library; the application may still hold them (stale).
                self.app.session = None;
                self.record_app("C_Finalize".into(), result_of(&r));
            }
            AppOp::OpenSession if self.scenario.application.is_some() => {
                self.open_bound(now);
            }
            AppOp::OpenSession => {
                let r = self.world.engine().open_session(now, 0);
                if let Ok(vs) = r {
                    self.app.session = Some(vs);
                }
                self.record_app("C_OpenSession".into(), result_of(&r));
            }
            AppOp::CloseSession => {
                let vs = self.session();
                let r = self.world.engine().close_session(now, vs);
                self.app.session = None;
                self.record_app("C_CloseSession".into(), result_of(&r));
            }
            AppOp::Login => {
                let vs = self.session();
                let pin = self.credential.clone();
                let r = self.world.engine().login(now, vs, &pin);
                self.record_app("C_Login".into(), result_of(&r));
            }
            AppOp::Logout => {
                let vs = self.session();
                let r = self.world.engine().logout(now, vs);
                self.record_app("C_Logout".into(), result_of(&r));
            }
            AppOp::GenerateKey { label, kind } | AppOp::GenerateSessionKey { label, kind } => {
                let token = matches!(op, AppOp::GenerateKey { .. });
                let vs = self.session();
                let before = self.creation_record();
                let r = self
                    .world
                    .engine()
                    .generate_key(now, vs, key_kind(*kind), label, token);
                if let Ok(handles) = &r
                    && let Some(first) = handles.first()
                {
                    self.app.keys.insert(label.clone(), *first);
                    // A pair's other half (the public key), destroyed with it.
                    if let Some(second) = handles.get(1) {
                        self.app.pairs.insert(label.clone(), *second);
                    }
                }
                let what = if token {
                    "GenerateKey"
                } else {
                    "GenerateSessionKey"
                };
                let placed = self.placement(&before);
                self.record_app_placed(format!("{what}({label}, {kind:?})"), result_of(&r), placed);
            }
            AppOp::CreateData { label, size } => {
                let vs = self.session();
                let value = self.world.workload_bytes(*size as usize);
                let before = self.creation_record();
                let r = self
                    .world
                    .engine()
                    .create_data(now, vs, label, &value, true);
                if let Ok(h) = r {
                    self.app.keys.insert(label.clone(), h);
                }
                let placed = self.placement(&before);
                self.record_app_placed(
                    format!(
                        "CreateData({label}, {})",
                        crate::transcript::counted(*size as usize, "byte")
                    ),
                    result_of(&r),
                    placed,
                );
            }
            AppOp::Sign { key, times } => self.crypto(true, key, *times, 0)?,
            AppOp::Encrypt { key, times } => self.crypto(false, key, *times, 0)?,
            AppOp::Destroy { key } => {
                // The object the label names; for a key pair, its private half.
                let vs = self.session();
                let h = self.key(key);
                let r = self.world.engine().destroy_object(now, vs, h);
                self.record_app(format!("Destroy({key})"), result_of(&r));
            }
            AppOp::DestroyPair { key } => {
                // Both halves of a key pair (a secret key or data object: the one object); the
                // application sees the first failure, if any.
                let vs = self.session();
                let h = self.key(key);
                let mut r = self.world.engine().destroy_object(now, vs, h);
                if let Some(public) = self.app.pairs.get(key).copied() {
                    let second = self.world.engine().destroy_object(now, vs, public);
                    r = r.and(second);
                }
                self.record_app(format!("DestroyPair({key})"), result_of(&r));
            }
            AppOp::SignInit { key } => {
                let vs = self.session();
                let h = self.key(key);
                let before = self.counts_of(CallKind::SignMultipart);
                let r = self.world.engine().sign_init(now, vs, h);
                let placed = self.changed(CallKind::SignMultipart, &before);
                self.record_app_placed(format!("C_SignInit({key})"), result_of(&r), placed);
            }
            AppOp::SignUpdate { size } => {
                let vs = self.session();
                let data = self.world.workload_bytes(*size as usize);
                let r = self.world.engine().sign_update(now, vs, &data);
                self.record_app(
                    format!(
                        "C_SignUpdate({})",
                        crate::transcript::counted(*size as usize, "byte")
                    ),
                    result_of(&r),
                );
            }
            AppOp::SignFinal => {
                let vs = self.session();
                let r = self.world.engine().sign_final(now, vs);
                self.record_app("C_SignFinal".into(), result_of(&r));
            }
            AppOp::OpenSessionOn(label) => {
                let group = self
                    .world
                    .engine()
                    .config()
                    .group_index(label)
                    .ok_or_else(|| StepFailure::UnknownGroup(label.clone()))?;
                let r = self.world.engine().open_session(now, group);
                if let Ok(vs) = r {
                    self.app.session = Some(vs);
                    self.app.keys.clear();
                    self.app.pairs.clear();
                }
                self.record_app(format!("C_OpenSession({label})"), result_of(&r));
            }
            AppOp::GenerateKeyOnSlot {
                serial,
                label,
                kind,
            } => {
                let pin = self.credential.clone();
                let r = self.world.engine().direct_generate_key(
                    serial.as_str(),
                    &pin,
                    key_kind(*kind),
                    label,
                );
                // A write to a physical slot is not the HA engine's call (B21): its failure
                // drops nothing, so it is no part of the member-side failure record.
                let _ = self.world.take_failures();
                self.record_app(
                    format!("GenerateKeyOnSlot({serial}, {label}, {kind:?})"),
                    r.err().unwrap_or(Ckr::CKR_OK),
                );
            }
            AppOp::UpdateData { label, value } => {
                let vs = self.session();
                let h = self.key(label);
                let before = self.counts_of(CallKind::SetValue);
                let r = self.world.engine().set_value(now, vs, h, value.as_bytes());
                let placed = self.changed(CallKind::SetValue, &before);
                self.record_app_placed(
                    format!("UpdateData({label}, {value:?})"),
                    result_of(&r),
                    placed,
                );
            }
            AppOp::FindObjects(label) => {
                let vs = self.session();
                let r = self.world.engine().find_objects(now, vs, label);
                if let Ok(found) = &r {
                    for (h, class) in found {
                        if *class == ha_engine::ports::ObjectClass::PublicKey {
                            self.app.pairs.insert(label.clone(), *h);
                        } else {
                            self.app.keys.insert(label.clone(), *h);
                        }
                    }
                }
                self.record_app(format!("C_FindObjects({label})"), result_of(&r));
            }
            AppOp::Fingerprints(label) => {
                let members = self.world.fingerprints(label);
                self.push(Event::Fingerprints {
                    label: label.clone(),
                    members,
                });
            }
            AppOp::CountObjects => {
                let counts = self.world.object_counts();
                self.push(Event::Objects(counts));
            }
            AppOp::SlotList => {
                // D14, B34, B56-B59: the application's view, one line per slot.
                let slots = self.world.engine().app_slot_list();
                self.push(Event::SlotList(slots.iter().map(|s| s.render()).collect()));
            }
        }
        Ok(())
    }

    /// Runs `times` identical calls as a one-thread program (the same path as `Threads`).
    /// Each goes into the record, which keeps consecutive calls with one result as one entry,
    /// and what the engine logged follows the call that caused it, so every log line stays
    /// where it happened.
    /// `first` numbers the first of them (a profile makes them one at a time).
    fn crypto(&mut self, sign: bool, key: &str, times: u32, first: u64) -> Result<(), StepFailure> {
        let vs = self.session();
        let h = self.key(key);
        let (name, kind, crypto) = if sign {
            ("Sign", CallKind::Sign, CryptoOp::Sign)
        } else {
            ("Encrypt", CallKind::Encrypt, CryptoOp::Encrypt)
        };
        let call = ThreadCall {
            action: ThreadAction::Crypto { op: crypto, key: h },
            label: self.named(format!("{name}({key})")),
            times: u64::from(times),
        };
        // Served calls per member in slot order, to see which member served each call.
        let mut served: Vec<u64> = (0..self.world.serials().len())
            .map(|i| self.world.served_at(i, kind))
            .collect();
        let (options, standby) = (self.options, self.standby());
        let record = &mut self.record;
        let mut last = Ckr::CKR_OK;
        // Which members served the call that just finished: (slot index, calls), reused.
        let mut by: Vec<(usize, u64)> = Vec::new();
        let mut observe = |world: &mut World, seen: Observed<'_>| {
            // Recovery logging between calls stays in the journal until the call ends.
            let Observed::Call(call, outcome) = seen else {
                return;
            };
            by.clear();
            for (i, before) in served.iter_mut().enumerate() {
                let after = world.served_at(i, kind);
                let n = after - *before;
                *before = after;
                if n > 0 {
                    by.push((i, n));
                }
            }
            let serials = world.serials();
            let result = result_of(&outcome.result);
            last = result;
            record_fired(world, record);
            record.repeated_call(
                outcome.finished,
                &call.label,
                first + outcome.index,
                result,
                by.iter().map(|(i, n)| (serials[*i].as_str(), *n)),
            );
            // The witness needs the members only for a failed call or one a standby served.
            let witnessed = options.witness
                && (result != Ckr::CKR_OK
                    || by.iter().any(|(i, _)| standby.contains(&serials[*i])));
            if witnessed {
                let members: Vec<String> = by.iter().map(|(i, _)| serials[*i].clone()).collect();
                witness(
                    world,
                    record,
                    options,
                    &standby,
                    outcome.finished,
                    Some(outcome.started),
                    key,
                    result,
                    &members,
                );
            }
            drain(world, record);
        };
        run_one(&mut self.world, vs, call, &mut observe)?;
        self.last = last;
        Ok(())
    }

    /// Calls of `kind` served per member (from the injectors' records).
    fn counts_of(&self, kind: CallKind) -> BTreeMap<String, u64> {
        self.world
            .serials()
            .iter()
            .map(|s| (s.clone(), self.world.served(s, kind)))
            .collect()
    }

    /// The member(s) whose count of `kind` grew since `before`.
    fn changed(&self, kind: CallKind, before: &BTreeMap<String, u64>) -> Placement {
        let changed: Vec<String> = self
            .counts_of(kind)
            .into_iter()
            .filter(|(s, n)| before.get(s).copied().unwrap_or(0) != *n)
            .map(|(s, _)| s)
            .collect();
        if changed.is_empty() {
            Placement::Unobserved
        } else {
            Placement::On(changed)
        }
    }

    /// Served creations and clone imports per member, in slot order (from the injectors'
    /// records).
    fn creation_record(&self) -> Vec<(u64, u64)> {
        (0..self.world.serials().len())
            .map(|i| {
                let created = self.world.served_at(i, CallKind::GenerateKey)
                    + self.world.served_at(i, CallKind::CreateData);
                (created, self.world.served_at(i, CallKind::ImportClone))
            })
            .collect()
    }

    /// Where an object creation actually went (B18, B30), members by serial.
    fn placement(&self, before: &[(u64, u64)]) -> Placement {
        let after = self.creation_record();
        let mut on = Vec::new();
        let mut cloned_to = Vec::new();
        for ((serial, (c, i)), (c0, i0)) in self.world.serials().iter().zip(&after).zip(before) {
            if c > c0 {
                on.push(serial.clone());
            }
            if i > i0 {
                cloned_to.push(serial.clone());
            }
        }
        if on.is_empty() {
            return Placement::Unobserved;
        }
        on.sort();
        cloned_to.sort();
        Placement::Created { on, cloned_to }
    }

    fn state_snapshot(&mut self) -> String {
        let now = self.now();
        let listing = self.lunacm.execute(
            self.world.engine(),
            now,
            "hagroup listgroups",
            Some(&self.credential),
        );
        let counts = self.world.object_counts();
        let mut out = listing.render();
        for (serial, n) in counts {
            out.push_str(&format!("objects {serial} = {n}\n"));
        }
        out.push_str(&self.conf_state());
        out
    }

    fn negative(&mut self, input: &NegativeInput) {
        if *input == NegativeInput::Steps {
            // The steps ran to their end: nothing stopped them (the verdict reports it).
            self.push(Event::Negative(NegativeOutcome {
                refusal: None,
                state_before: String::new(),
                state_after: String::new(),
            }));
            return;
        }
        self.push(Event::Section(Section::NegativeCase));
        let before = self.state_snapshot();
        let refusal = match input {
            NegativeInput::Command(line) => {
                let out = self.command(line);
                out.result.err().map(|e| e.to_string())
            }
            NegativeInput::ScenarioText(text) => {
                let r = scenario::parse_str(text, "<embedded>");
                let refusal = r.err().map(|e| e.to_string());
                self.push(Event::Refusal {
                    what: "embedded scenario text".to_string(),
                    refusal: refusal.clone(),
                });
                refusal
            }
            NegativeInput::Conf(text) => self.negative_conf(text),
            NegativeInput::Steps => None,
        };
        let after = self.state_snapshot();
        self.push(Event::Negative(NegativeOutcome {
            refusal,
            state_before: before,
            state_after: after,
        }));
    }

    /// The HA log files on the client machines now, by path: the scenario's own machine's,
    /// then each other machine's as `machine:path`.
    fn log_files(&self) -> Vec<LogFile> {
        let mut out = files_of(self.world.fs(), "");
        for (machine, fs) in self.world.other_machines() {
            out.extend(files_of(&fs, &format!("{machine}:")));
        }
        out
    }

    fn finish(&mut self) {
        self.drain();
        let counts = self.world.object_counts();
        let files = self.log_files();
        self.push(Event::Section(Section::End));
        self.push(Event::End(End { counts, files }));
        self.conf_section();
    }
}

/// The HA log files of one machine's file system, their paths prefixed with `prefix`.
fn files_of(fs: &sim::memfs::SharedMemFs, prefix: &str) -> Vec<LogFile> {
    match fs.lock() {
        Ok(fs) => fs
            .files()
            .iter()
            .map(|(path, contents)| LogFile {
                path: format!("{prefix}{path}"),
                contents: contents.clone(),
            })
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// After every event of a `Threads` step: record the call that finished (a sign or encrypt
/// when its answer came; a runner call's record, held back since it was made, when its answer
/// reached the thread), then what was logged, so HA log lines stand where they happened among
/// the calls.
fn thread_seen(
    world: &mut World,
    record: &mut Record,
    answers: &mut [Vec<Call>],
    options: RunOptions,
    standby: &BTreeSet<String>,
    seen: Observed<'_>,
) {
    match seen {
        Observed::Call(call, o) => {
            record_fired(world, record);
            record.push(
                o.finished,
                Event::ThreadCall(ThreadRecord {
                    thread: o.thread,
                    op: call.label.clone(),
                    index: usize::try_from(o.index).unwrap_or(usize::MAX),
                    result: result_of(&o.result),
                    started: o.started,
                    finished: o.finished,
                    sent: o.sent,
                    members: o.members.clone(),
                    placement: None,
                }),
            );
            if let Some(label) = object_label(&call.label) {
                witness(
                    world,
                    record,
                    options,
                    standby,
                    o.finished,
                    Some(o.started),
                    label,
                    result_of(&o.result),
                    &o.members,
                );
            }
        }
        Observed::Answer(a) => {
            // Its witness was recorded when it was made.
            let made = answers.get_mut(a.thread).map(std::mem::take);
            for call in made.unwrap_or_default() {
                record.push(
                    a.finished,
                    Event::ThreadCall(ThreadRecord {
                        thread: a.thread,
                        op: call.op,
                        index: usize::try_from(a.index).unwrap_or(usize::MAX),
                        result: call.result,
                        started: a.started,
                        finished: a.finished,
                        sent: None,
                        members: placed_members(&call.placement),
                        placement: Some(call.placement),
                    }),
                );
            }
        }
        // Exploration sees a scheduled fault where it struck (the rendered line stands where
        // it was scheduled): simultaneous events in the order the seed gave them.
        Observed::Fault(f) => {
            drain(world, record);
            if options.witness {
                record.push(
                    world.now(),
                    Event::ScheduledFaultApplied {
                        member: f.member.clone(),
                        action: Action::Fault(f.fault.clone()),
                    },
                );
                if let sim::fault::Fault::DirectChange { label, .. } = &f.fault {
                    let changed = changed_witness(world, f.member.clone(), label);
                    record.push(world.now(), changed);
                }
            }
        }
        // D79: recorded at its instant with its reason; the threads go on.
        Observed::NotMade { fault, label } => {
            drain(world, record);
            record.push(world.now(), not_held(&fault.member, &label));
        }
        Observed::Tick => {}
    }
    drain(world, record);
}

/// A `DirectChange` that cannot be made: the partition holds no token data object with that
/// label (D79). Recorded with its reason; the run goes on, inside `Threads` as outside.
fn not_held(serial: &str, label: &str) -> Event {
    Event::NotRun {
        step: format!("DirectChange {serial} {label}"),
        reason: format!("it holds no token data object labelled {label:?}"),
    }
}

/// Exploration's witness of a change made outside the group: every copy's fingerprint right
/// after it (D80).
fn changed_witness(world: &World, member: String, label: &str) -> Event {
    let copies = world
        .data_fingerprints()
        .into_iter()
        .flat_map(|(serial, objects)| {
            objects
                .into_iter()
                .filter(|(l, _)| l == label)
                .map(move |(_, fp)| (serial.clone(), fp))
        })
        .collect();
    Event::Changed {
        member,
        label: label.to_string(),
        copies,
    }
}

/// The members a placement names: where a creation was made, or where a call went.
fn placed_members(placement: &Placement) -> Vec<String> {
    match placement {
        Placement::Created { on, .. } => on.clone(),
        Placement::On(members) => members.clone(),
        Placement::Unobserved => Vec::new(),
    }
}

/// The object label an application call names (`Sign(k1)` → `k1`), when it names one.
fn object_label(op: &str) -> Option<&str> {
    let (name, rest) = op.split_once('(')?;
    if !matches!(
        name,
        "Sign" | "Encrypt" | "C_SignInit" | "Destroy" | "DestroyPair"
    ) {
        return None;
    }
    rest.strip_suffix(')')
}

/// Exploration's witness after a call on `label`: when it failed, or a standby served it, the
/// partitions holding the object then (read below the injectors).
#[allow(clippy::too_many_arguments)]
fn witness(
    world: &World,
    record: &mut Record,
    options: RunOptions,
    standby: &BTreeSet<String>,
    at: Millis,
    issued: Option<Millis>,
    label: &str,
    result: Ckr,
    served: &[String],
) {
    if !options.witness {
        return;
    }
    if result == Ckr::CKR_OK && !served.iter().any(|m| standby.contains(m)) {
        return;
    }
    record.push(
        at,
        Event::Holders {
            label: label.to_string(),
            members: world.holders(label),
            issued,
        },
    );
}

fn drain(world: &mut World, record: &mut Record) {
    record_fired(world, record);
    record_failures(world, record);
    drain_log(world, record);
}

/// The engine's failed member calls since the last look (exploration's witness: recorded only
/// when the world records them), just before the HA log lines the same engine calls wrote.
fn record_failures(world: &mut World, record: &mut Record) {
    let now = world.now();
    for (from, until) in world.take_busy_runs() {
        record.push(from, Event::RecoveryBusy { from, until });
    }
    for (member, failure) in world.take_failures() {
        record.push(
            now,
            Event::MemberFailed {
                member,
                call: failure.call,
                code: failure.code,
                called_at: failure.at,
            },
        );
    }
}

/// The armed faults that went off since the last look, as fault events now (recorded before
/// the call they interrupted, so the transcript reads in cause order), and the lost answers
/// (D35) of the engine's calls (exploration's witness, recorded only when asked).
fn record_fired(world: &World, record: &mut Record) {
    let now = world.now();
    for (member, lost) in world.take_answers_lost() {
        record.push(
            now,
            Event::AnswerLost {
                member,
                call: lost.call,
                took_effect: lost.took_effect,
            },
        );
    }
    for (member, fired) in world.take_fired() {
        record.push(
            now,
            Event::Fault(FaultEvent {
                member,
                action: Action::Fault(fired.fault),
                timing: FaultTiming::Fired {
                    call: fired.call,
                    nth: fired.nth,
                },
            }),
        );
    }
}

/// What the engine wrote to the HA log, into the record.
fn drain_log(world: &mut World, record: &mut Record) {
    let mut orphans = Vec::new();
    let mut events = Vec::new();
    while let Some(event) = world.engine().poll_event() {
        events.push(event);
    }
    for engine in world.other_engines() {
        while let Some(event) = engine.poll_event() {
            events.push(event);
        }
    }
    for event in events {
        match event {
            EngineEvent::Log { message, .. } => {
                let id = message.id();
                if !record.templates.contains(id) {
                    record.templates.insert(id.to_string());
                }
            }
            EngineEvent::Orphan {
                member, id, label, ..
            } => orphans.push(Event::Orphan { member, id, label }),
        }
    }
    // The active process's machine first, then the other machines' (processes, D45).
    let mut journal = match world.fs().lock() {
        Ok(mut fs) => fs.take_journal(),
        Err(_) => Vec::new(),
    };
    for (_, fs) in world.other_machines() {
        if let Ok(mut fs) = fs.lock() {
            journal.extend(fs.take_journal());
        }
    }
    let now = world.now();
    for event in journal {
        match event {
            FsEvent::Append { text, .. } => {
                for line in text.lines() {
                    record.push(now, Event::Log(line.to_string()));
                }
            }
            FsEvent::Rename { from, to } => {
                record.push(now, Event::Rotated { from, to });
            }
        }
    }
    for orphan in orphans {
        record.push(now, orphan);
    }
}
