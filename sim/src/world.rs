//! [`World`]: one simulated client machine. Owns the virtual clock, the in-process HSMs, the
//! fault injectors in front of every partition, the in-memory file system for HA logs and the
//! HA engine wired to all of them. Time moves only in [`crate::queue`], which charges the member
//! calls the injectors measured to the simulated thread that made them.

use std::collections::BTreeMap;

use ha_engine::HaEngine;
use ha_engine::ports::{CivilTime, Member, Millis, TokenInfo};
use hsm_model::{HsmModel, HsmSpec, ModelError, PartitionSpec};
use rand::RngExt;
use rand_chacha::ChaCha20Rng;

use crate::clock::SimCalendar;
use crate::fault::injector::{Fired, NewsBoard, UnsupportedFault, VirtualNow};
use crate::fault::{
    AnswerLost, CallKind, CallMeter, CallRecord, Fault, FaultControl, FaultyMember, MemberFailure,
};
use crate::memfs::SharedMemFs;
use crate::partitions::{ModelPartitions, Partitions};
use crate::record::Room;
use crate::rng::{SeedRoot, Stream};

/// Everything a world is built from.
#[derive(Debug, Clone)]
pub struct WorldConfig {
    /// The run's seed.
    pub seed: u64,
    /// Local calendar time at virtual time 0.
    pub start: CivilTime,
    /// The client process id printed in the HA log prefix.
    pub pid: u32,
    /// HSMs.
    pub hsms: Vec<HsmSpec>,
    /// Partitions, in the client's slot discovery order (D14).
    pub partitions: Vec<PartitionSpec>,
}

/// Why a world could not be built or a fault not applied.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WorldError {
    /// The HSM model refused the topology.
    #[error("topology: {0}")]
    Model(#[from] ModelError),
    /// A fault names a partition the world does not have.
    #[error("no partition with serial {0}")]
    UnknownMember(String),
    /// The fault cannot be injected by this version.
    #[error(transparent)]
    Unsupported(#[from] UnsupportedFault),
    /// Time cannot go backwards.
    #[error("cannot move virtual time back from {now} ms to {to} ms")]
    TimeBackwards {
        /// Current virtual time.
        now: Millis,
        /// Requested time.
        to: Millis,
    },
    /// Virtual time would pass its end (`queue::HORIZON_MS`, 100 years).
    #[error(
        "virtual time would pass its end: {span} ms after {now} ms is beyond the simulation's 100 years"
    )]
    BeyondHorizon {
        /// Current virtual time.
        now: Millis,
        /// The span asked for.
        span: Millis,
    },
    /// The backend's partitions could not do what was asked (a real token that cannot be
    /// reached or re-initialised).
    #[error("backend: {0}")]
    Backend(String),
    /// `DirectChange` found no token data object with the label on the partition (destroyed
    /// meanwhile, or never given to it): the change cannot be made there (D64, D79). A caller
    /// that runs steps as an application would records it with this reason and goes on.
    #[error("DirectChange of {serial}: it holds no token data object labelled {label:?}")]
    NotHeld {
        /// The partition.
        serial: String,
        /// The label looked for.
        label: String,
    },
    /// Too many recovery timer runs (`queue::MAX_TIMER_RUNS`): e.g. `retry -1` with a very long
    /// advance, which would log one failed attempt per interval without end.
    #[error(
        "stopped at virtual time {at} ms: more than {runs} recovery timer runs in one run (a retry count that never exhausts over a very long advance?)"
    )]
    TimerBudget {
        /// Virtual time of the run that went over the budget.
        at: Millis,
        /// The budget.
        runs: u64,
    },
}

/// The client machine of the scenario's own process (`clock.pid`).
pub const MAIN_MACHINE: &str = "client1";

/// Another client process of the scenario: its own engine (its own library instance, sessions,
/// login and recovery thread, B7) over the same partitions, on a client machine. Processes on
/// one machine share its HA log file system; each machine has its own.
struct Process {
    engine: HaEngine,
    fs: SharedMemFs,
    machine: String,
    recovery_free_at: Millis,
}

/// The simulated client machines: the scenario's own process and any others (see
/// [`World::add_process`]), the partitions they share and the one clock.
pub struct World {
    now: Millis,
    /// The recovery thread is busy with member calls until then (see `queue`).
    recovery_free_at: Millis,
    /// Exploration's witness is recorded ([`World::record_failures`]).
    witness: bool,
    /// The active engine's recovery timer runs that took time, `(from, until)`, since the last
    /// look (recorded only with the witness).
    busy_runs: Vec<(Millis, Millis)>,
    /// Recovery timer runs so far, and how many are allowed (`queue::MAX_TIMER_RUNS`).
    timer_runs: u64,
    timer_budget: u64,
    engine: HaEngine,
    partitions: Box<dyn Partitions>,
    controls: BTreeMap<String, FaultControl>,
    /// `controls` in slot order (`serials`): the per-event questions need no serial lookup.
    slots: Vec<FaultControl>,
    /// Whether any injector has news ([`World::take_fired`] and its siblings).
    news: NewsBoard,
    /// What the member calls cost, for `queue` to charge.
    meter: CallMeter,
    /// The clock as the injectors read it (`Busy`, `IdleCut`), moved with `now`.
    clock: VirtualNow,
    /// Objects created by `DirectModify` so far (their ids).
    direct_objects: u64,
    serials: Vec<String>,
    fs: SharedMemFs,
    /// The client machine of the process whose engine is [`World::engine`] now.
    machine: String,
    /// Local calendar time at virtual time 0 (each process's engine has a calendar of its own).
    start: CivilTime,
    /// The scenario's other processes; while one of them is active ([`World::switch_to`]) its
    /// slot holds the swapped-out engine, so every slot is always one engine that is not active.
    processes: Vec<Process>,
    /// The process swapped in, if any (an index in `processes`).
    active: Option<usize>,
    workload: ChaCha20Rng,
    ties: ChaCha20Rng,
}

impl World {
    /// Builds the HSMs and partitions in the in-process model and an engine that sees every
    /// partition through a fault injector.
    pub fn new(config: WorldConfig) -> Result<World, WorldError> {
        let root = SeedRoot::new(config.seed);
        let mut model = HsmModel::new(root.draw_u64(Stream::Hsm));
        for hsm in config.hsms {
            model.add_hsm(hsm)?;
        }
        let mut serials = Vec::new();
        for partition in config.partitions {
            serials.push(partition.serial.clone());
            model.add_partition(partition)?;
        }
        let partitions = ModelPartitions::new(model);
        World::with_partitions(
            config.seed,
            config.start,
            config.pid,
            serials,
            Box::new(partitions),
        )
    }

    /// A world over `partitions` (in slot order `serials`): an engine that sees every
    /// partition through a fault injector. The seed's workload and tie-break streams are the
    /// same whatever the backend, so the same scenario draws the same data on each.
    pub fn with_partitions(
        seed: u64,
        start: CivilTime,
        pid: u32,
        serials: Vec<String>,
        mut partitions: Box<dyn Partitions>,
    ) -> Result<World, WorldError> {
        let root = SeedRoot::new(seed);
        let mut controls = BTreeMap::new();
        let meter = CallMeter::default();
        let clock = VirtualNow::default();
        let mut members: Vec<Box<dyn Member>> = Vec::new();
        for serial in &serials {
            let inner = partitions.application_member(serial)?;
            let (faulty, control) = FaultyMember::with_clock(inner, meter.clone(), clock.clone());
            if let Some(hook) = partitions.partition_hook(serial) {
                control.set_partition_hook(hook);
            }
            controls.insert(serial.clone(), control);
            members.push(Box::new(faulty));
        }
        let news = NewsBoard::default();
        for control in controls.values() {
            control.share_news(&news);
        }
        let slots = serials
            .iter()
            .filter_map(|serial| controls.get(serial).cloned())
            .collect();
        let fs = SharedMemFs::new();
        let engine = HaEngine::new(
            members,
            Box::new(SimCalendar::new(start)),
            Box::new(fs.clone()),
            pid,
        );
        Ok(World {
            now: 0,
            recovery_free_at: 0,
            witness: false,
            busy_runs: Vec::new(),
            timer_runs: 0,
            timer_budget: crate::queue::MAX_TIMER_RUNS,
            engine,
            partitions,
            controls,
            slots,
            news,
            meter,
            clock,
            direct_objects: 0,
            serials,
            fs,
            machine: MAIN_MACHINE.to_string(),
            start,
            processes: Vec::new(),
            active: None,
            workload: root.stream(Stream::Workload),
            ties: root.stream(Stream::Ties),
        })
    }

    /// Adds another client process (returns its index for [`World::switch_to`]): an engine of
    /// its own with process id `pid` on client machine `machine`, seeing the partitions in
    /// `order` (its slot order), each through its own connection behind the partition's
    /// injector, so the same faults reach it and its calls count in the same record. On the
    /// scenario's own machine ([`MAIN_MACHINE`]) or one another process is on, it shares that
    /// machine's HA log file system. Called before any process is switched in.
    pub fn add_process(
        &mut self,
        pid: u32,
        machine: &str,
        order: &[String],
    ) -> Result<usize, WorldError> {
        let index = self.processes.len();
        let process =
            u32::try_from(index).map_err(|_| WorldError::Backend("too many processes".into()))?;
        let mut members: Vec<Box<dyn Member>> = Vec::new();
        for serial in order {
            let control = self.control(serial)?;
            let inner = self
                .partitions
                .process_member(serial, process)
                .ok_or_else(|| {
                    WorldError::Backend(format!(
                        "this backend cannot open another process's connection to {serial}"
                    ))
                })?;
            members.push(Box::new(FaultyMember::another_process(
                inner,
                control,
                self.meter.clone(),
            )));
        }
        let fs = if machine == self.machine {
            self.fs.clone()
        } else {
            self.processes
                .iter()
                .find(|p| p.machine == machine)
                .map_or_else(SharedMemFs::new, |p| p.fs.clone())
        };
        let engine = HaEngine::new(
            members,
            Box::new(SimCalendar::new(self.start)),
            Box::new(fs.clone()),
            pid,
        );
        self.processes.push(Process {
            engine,
            fs,
            machine: machine.to_string(),
            recovery_free_at: 0,
        });
        Ok(index)
    }

    /// Makes process `process` ([`World::add_process`]'s index) the one [`World::engine`],
    /// [`World::fs`] and the application thread's time belong to; `None`: the scenario's own.
    pub fn switch_to(&mut self, process: Option<usize>) {
        if let Some(i) = self.active.take() {
            self.swap(i);
        }
        if let Some(i) = process
            && i < self.processes.len()
        {
            self.swap(i);
            self.active = Some(i);
        }
    }

    fn swap(&mut self, i: usize) {
        let Some(p) = self.processes.get_mut(i) else {
            return;
        };
        std::mem::swap(&mut self.engine, &mut p.engine);
        std::mem::swap(&mut self.fs, &mut p.fs);
        std::mem::swap(&mut self.machine, &mut p.machine);
        std::mem::swap(&mut self.recovery_free_at, &mut p.recovery_free_at);
    }

    /// The client machine of the active process.
    pub fn machine(&self) -> &str {
        &self.machine
    }

    /// The engines of the processes that are not active (in the order they were added, the
    /// scenario's own in the slot of the active one).
    pub fn other_engines(&mut self) -> impl Iterator<Item = &mut HaEngine> {
        self.processes.iter_mut().map(|p| &mut p.engine)
    }

    /// The HA log file systems of the client machines other than the active process's, each
    /// once, by machine name, in the order the processes were added.
    pub fn other_machines(&self) -> Vec<(String, SharedMemFs)> {
        let mut out: Vec<(String, SharedMemFs)> = Vec::new();
        for p in &self.processes {
            if p.machine != self.machine && !out.iter().any(|(m, _)| *m == p.machine) {
                out.push((p.machine.clone(), p.fs.clone()));
            }
        }
        out
    }

    /// The next recovery timer run of any process: when, and whose (`None`: the active
    /// process's; `Some(i)`: the engine in slot `i`). The active process comes first at a tie.
    pub(crate) fn next_timer(&self) -> Option<(Millis, Option<usize>)> {
        let mut next = self
            .engine
            .next_deadline()
            .map(|d| (d.max(self.recovery_free_at).max(self.now), None));
        for (i, p) in self.processes.iter().enumerate() {
            if let Some(d) = p.engine.next_deadline() {
                let at = d.max(p.recovery_free_at).max(self.now);
                if next.is_none_or(|(best, _)| at < best) {
                    next = Some((at, Some(i)));
                }
            }
        }
        next
    }

    /// Runs the recovery timer of `who` ([`World::next_timer`]) at `at`; that recovery thread
    /// is busy for the member calls it made.
    pub(crate) fn run_timer(&mut self, who: Option<usize>, at: Millis) {
        match who.and_then(|i| self.processes.get_mut(i)) {
            Some(p) => {
                p.engine.on_timer(at);
                p.recovery_free_at = at.saturating_add(self.meter.take());
            }
            None => {
                self.engine.on_timer(at);
                self.recovery_free_at = at.saturating_add(self.meter.take());
                if self.witness && self.recovery_free_at > at {
                    self.busy_runs.push((at, self.recovery_free_at));
                }
            }
        }
    }

    /// Current virtual time.
    pub fn now(&self) -> Millis {
        self.now
    }

    /// The engine under test.
    pub fn engine(&mut self) -> &mut HaEngine {
        &mut self.engine
    }

    /// The HA log file system.
    pub fn fs(&self) -> &SharedMemFs {
        &self.fs
    }

    /// Partition serials in slot order.
    pub fn serials(&self) -> &[String] {
        &self.serials
    }

    /// Moves the clock (only `queue` does).
    pub(crate) fn set_now(&mut self, now: Millis) {
        self.now = now;
        self.clock.set(now);
    }

    /// Counts one recovery timer run at `at`; refuses one past the budget.
    pub(crate) fn count_timer_run(&mut self, at: Millis) -> Result<(), WorldError> {
        self.timer_runs += 1;
        if self.timer_runs > self.timer_budget {
            return Err(WorldError::TimerBudget {
                at,
                runs: self.timer_budget,
            });
        }
        Ok(())
    }

    /// LunaCM's own connections to the partitions, in slot order (spec D22: LunaCM is its own
    /// process with its own library instance and login, B9, B61). Each sits behind the same
    /// fault injector state as the application's member for that partition, so a dropped
    /// partition is unreachable to LunaCM too and its calls count in the same record.
    pub fn lunacm_members(&self) -> Vec<Box<dyn Member>> {
        self.serials
            .iter()
            .filter_map(|serial| {
                let control = self.controls.get(serial)?;
                let inner = self.partitions.lunacm_member(serial)?;
                Some(Box::new(FaultyMember::sharing(inner, control)) as Box<dyn Member>)
            })
            .collect()
    }

    /// [`World::lunacm_members`], but each connection as the application's own client,
    /// sharing its login state: exploration's planted bug where LunaCM borrows the
    /// application's login (D22 broken on purpose; `ha_engine::planted`). Falls back to
    /// LunaCM's own connections where the backend has no such connection.
    #[doc(hidden)]
    pub fn lunacm_members_borrowing_application_login(&self) -> Vec<Box<dyn Member>> {
        self.serials
            .iter()
            .filter_map(|serial| {
                let control = self.controls.get(serial)?;
                let inner = self
                    .partitions
                    .application_client_member(serial)
                    .or_else(|| self.partitions.lunacm_member(serial))?;
                Some(Box::new(FaultyMember::sharing(inner, control)) as Box<dyn Member>)
            })
            .collect()
    }

    /// Allows `runs` recovery timer runs in this world instead of `queue::MAX_TIMER_RUNS`.
    pub fn set_timer_budget(&mut self, runs: u64) {
        self.timer_budget = runs;
    }

    /// A member's injector.
    pub fn fault_control(&self, serial: &str) -> Option<&FaultControl> {
        self.controls.get(serial)
    }

    fn control(&self, serial: &str) -> Result<&FaultControl, WorldError> {
        self.controls
            .get(serial)
            .ok_or_else(|| WorldError::UnknownMember(serial.to_string()))
    }

    /// Starts recording the application engine's failed calls on every member (exploration's
    /// member-side failure record, [`MemberFailure`]).
    /// Also keeps the active engine's recovery timer runs that took time
    /// ([`World::take_busy_runs`]).
    pub fn record_failures(&mut self) {
        self.witness = true;
        for control in self.controls.values() {
            control.record_failures(true);
        }
    }

    /// The active engine's recovery timer runs that kept its recovery thread busy, `(from,
    /// until)`, since the last look (only while [`World::record_failures`] is on).
    pub fn take_busy_runs(&mut self) -> Vec<(Millis, Millis)> {
        std::mem::take(&mut self.busy_runs)
    }

    /// The engine's failed calls since the last look, per member in slot order.
    pub fn take_failures(&self) -> Vec<(String, MemberFailure)> {
        if !self.news.take_failures() {
            return Vec::new();
        }
        self.take_news(FaultControl::take_failures)
    }

    /// The lost answers (D35) of the engine's calls since the last look, per member in slot
    /// order (only while [`World::record_failures`] is on).
    pub fn take_answers_lost(&self) -> Vec<(String, AnswerLost)> {
        if !self.news.take_answers_lost() {
            return Vec::new();
        }
        self.take_news(FaultControl::take_answers_lost)
    }

    /// The armed faults that went off since the last call, per member in slot order.
    pub fn take_fired(&self) -> Vec<(String, Fired)> {
        if !self.news.take_fired() {
            return Vec::new();
        }
        self.take_news(FaultControl::take_fired)
    }

    /// What `take` takes from each member's fault control, per member in slot order (asked
    /// only when the world's [`NewsBoard`] says some injector has that kind of news).
    fn take_news<T>(&self, take: impl Fn(&FaultControl) -> Vec<T>) -> Vec<(String, T)> {
        let mut out = Vec::new();
        for (serial, control) in self.serials.iter().zip(&self.slots) {
            out.extend(take(control).into_iter().map(|item| (serial.clone(), item)));
        }
        out
    }

    /// The partitions holding an object labelled `label` now (token or session object), read
    /// in the model below the injectors: what was true, whatever the engine believes.
    pub fn holders(&self, label: &str) -> Vec<String> {
        self.serials
            .iter()
            .filter(|s| self.partitions.holds(s, label))
            .cloned()
            .collect()
    }

    /// Each partition's fingerprint of its token object labelled `label`, in slot order (`None`:
    /// it holds none, or the backend cannot tell), read below the injectors.
    pub fn fingerprints(&self, label: &str) -> Vec<(String, Option<String>)> {
        self.serials
            .iter()
            .map(|s| (s.clone(), self.partitions.object_fingerprint(s, label)))
            .collect()
    }

    /// Each partition's token data objects as `(label, fingerprint)`, sorted (read below the
    /// injectors; only the model can tell): the contents exploration follows after an object
    /// was changed outside the group (B22, D64, D79).
    pub fn data_fingerprints(&self) -> BTreeMap<String, Vec<(String, String)>> {
        self.serials
            .iter()
            .filter_map(|s| Some((s.clone(), self.partitions.data_fingerprints(s)?)))
            .collect()
    }

    /// Each partition's token objects as `label/class`, sorted (read below the injectors;
    /// only the model can tell).
    pub fn token_labels(&self) -> BTreeMap<String, Vec<String>> {
        self.serials
            .iter()
            .filter_map(|s| Some((s.clone(), self.partitions.token_labels(s)?)))
            .collect()
    }

    /// Each partition's storage room (read below the injectors; only the model can tell):
    /// what exploration's I1 needs to tell a copy refused for want of room (B14, D106).
    pub fn rooms(&self) -> BTreeMap<String, Room> {
        self.serials
            .iter()
            .filter_map(|s| Some((s.clone(), self.partitions.room(s)?)))
            .collect()
    }

    /// Applies a fault to a member now.
    pub fn apply(&mut self, serial: &str, fault: &Fault) -> Result<(), WorldError> {
        tracing::debug!(
            member = serial,
            fault = fault.name(),
            at = self.now,
            "fault applied"
        );
        if let Fault::DirectModify { label } = fault {
            return self.direct_modify(serial, label);
        }
        if let Fault::DirectChange { label, value } = fault {
            return self.direct_change(serial, label, value.as_bytes());
        }
        if fault.at_transport() {
            let control = self.control(serial)?;
            let after_drop = *fault == Fault::Restore && control.is_disconnected();
            control.apply(fault)?;
            return self.partitions.transport_fault(serial, fault, after_drop);
        }
        self.partitions.apply_partition_fault(serial, fault)
    }

    /// `DirectModify`: another application creates a token data object labelled `label` on
    /// the partition through its own slot, outside the group (B21, B22): a connection of its
    /// own below the injector, a session, `C_CreateObject` (no login needed), closed again. The
    /// id is outside the engine's namespace (`direct-fault-N`), so the group never adopts it.
    fn direct_modify(&mut self, serial: &str, label: &str) -> Result<(), WorldError> {
        let mut member = self
            .partitions
            .lunacm_member(serial)
            .ok_or_else(|| WorldError::UnknownMember(serial.to_string()))?;
        self.direct_objects += 1;
        let request = ha_engine::ports::DataObjectRequest {
            id: ha_engine::ports::ObjectId(
                format!("direct-fault-{:04}", self.direct_objects).into_bytes(),
            ),
            label: label.to_string(),
            value: label.as_bytes().to_vec(),
            token: true,
        };
        let fail = |rv: ha_engine::Ckr| {
            WorldError::Backend(format!("DirectModify of {serial}: {}", rv.name()))
        };
        let session = member.open_session().map_err(fail)?;
        let created = member.create_data(session, &request).map(|_| ());
        let _ = member.close_session(session);
        created.map_err(fail)
    }

    /// `DirectChange`: another application sets the value of the token data object labelled
    /// `label` on the partition through its own slot, outside the group (B21, B22): a
    /// connection of its own below the injector, a session, a search among the token data
    /// objects for the label, `C_SetAttributeValue` of `CKA_VALUE` (no login needed: the
    /// engine's data objects are public), closed again. The other members keep their copy;
    /// the object's id does not change, so the group never notices (D64).
    fn direct_change(&mut self, serial: &str, label: &str, value: &[u8]) -> Result<(), WorldError> {
        use ha_engine::ports::{ObjectClass, ObjectQuery};
        let mut member = self
            .partitions
            .lunacm_member(serial)
            .ok_or_else(|| WorldError::UnknownMember(serial.to_string()))?;
        let fail = |what: &'static str| {
            move |rv: ha_engine::Ckr| {
                WorldError::Backend(format!("DirectChange of {serial}: {what}: {}", rv.name()))
            }
        };
        let session = member.open_session().map_err(fail("C_OpenSession"))?;
        let changed = (|| {
            let query = ObjectQuery {
                id: None,
                class: Some(ObjectClass::Data),
                token: Some(true),
                label: None,
            };
            for handle in member.find_objects(session, &query)? {
                if member.object_info(session, handle)?.label == label {
                    return member.set_value(session, handle, value).map(|()| true);
                }
            }
            Ok(false)
        })();
        let _ = member.close_session(session);
        match changed.map_err(fail("C_SetAttributeValue"))? {
            true => Ok(()),
            false => Err(WorldError::NotHeld {
                serial: serial.to_string(),
                label: label.to_string(),
            }),
        }
    }

    /// Gives a member's calls a processing time (the HSM answers with heartbeats, so this never
    /// times out, B28).
    pub fn set_call_ms(&mut self, serial: &str, ms: Millis) -> Result<(), WorldError> {
        self.control(serial)?.set_base_ms(ms);
        Ok(())
    }

    /// Virtual time the member calls made since the last call of this method took; `queue`
    /// charges it to the thread that made them.
    pub(crate) fn take_elapsed(&mut self) -> Millis {
        self.meter.take()
    }

    /// Arms a fault for the member's `nth` call of kind `call`.
    pub fn arm(
        &mut self,
        serial: &str,
        call: CallKind,
        nth: u32,
        fault: Fault,
    ) -> Result<(), WorldError> {
        self.control(serial)?.arm(call, nth, fault)?;
        Ok(())
    }

    /// Calls of one kind a member answered with `CKR_OK` so far.
    pub fn served(&self, serial: &str, kind: CallKind) -> u64 {
        self.controls.get(serial).map_or(0, |c| c.served(kind))
    }

    /// [`World::served`] of the member in slot `slot` (an index in [`World::serials`]; 0 for
    /// none), without looking its serial up.
    pub fn served_at(&self, slot: usize, kind: CallKind) -> u64 {
        self.slots.get(slot).map_or(0, |c| c.served(kind))
    }

    /// What a member's injector recorded.
    pub fn record(&self, serial: &str) -> CallRecord {
        self.controls
            .get(serial)
            .map(FaultControl::record)
            .unwrap_or_default()
    }

    /// Token info of every partition read through the `Member` port of the model itself (below
    /// the fault injector, so a dropped member still shows what it stores).
    pub fn token_infos(&self) -> BTreeMap<String, TokenInfo> {
        let mut out = BTreeMap::new();
        for serial in &self.serials {
            if let Some(info) = self.partitions.token_info(serial) {
                out.insert(serial.clone(), info);
            }
        }
        out
    }

    /// Token object count per partition (see [`World::token_infos`]).
    pub fn object_counts(&self) -> BTreeMap<String, u64> {
        self.token_infos()
            .into_iter()
            .map(|(serial, info)| (serial, info.object_count))
            .collect()
    }

    /// The tie-break stream (simultaneous events, `scheduler`).
    pub fn ties(&mut self) -> &mut ChaCha20Rng {
        &mut self.ties
    }

    /// `n` bytes of application data from the workload stream.
    pub fn workload_bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.workload.random::<u8>()).collect()
    }
}
