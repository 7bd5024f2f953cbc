//! Runs a scenario against a `sim::World` and records everything in a [`Transcript`]; the
//! observations the verdict needs (HA log lines, command outputs, application results, object
//! counts at checkpoints, a negative case's outcome) are kept beside it in a [`Run`].

use std::collections::{BTreeMap, BTreeSet};

use ha_engine::failover::CryptoOp;
use ha_engine::ports::{KeyKind as PortKeyKind, Millis, Secret};
use ha_engine::state::{VObjectHandle, VSessionHandle};
use ha_engine::{EngineError, EngineEvent, hagroup};
use sim::fault::{CallKind as SimCallKind, Fault as SimFault};
use sim::memfs::FsEvent;
use sim::queue;
use sim::world::World;

use crate::scenario::{
    self, AppOp, CallKind, Fault, KeyKind, NegativeInput, Scenario, Seconds, Step, ThreadOp,
};
use crate::topology::{TopologyError, build_world};
use crate::transcript::{Entry, Transcript};
use sim::scheduler::{Observed, ThreadCall, TimedFault, run_one, run_threads};

mod conf;

/// Everything a run observed.
#[derive(Debug, Default)]
pub struct Run {
    /// The rendered record.
    pub transcript: Transcript,
    /// Every HA log line written, in order, without the newline.
    pub log_lines: Vec<String>,
    /// Ids of the HA log templates the engine emitted (`HALOG_DROPMEMBER`, ...), whether or
    /// not a log file received them.
    pub emitted_templates: BTreeSet<String>,
    /// Every command output line, in order.
    pub output_lines: Vec<String>,
    /// Every application call result by CKR name, in order.
    pub app_results: Vec<String>,
    /// Object counts per member at each checkpoint, in checkpoint order.
    pub checkpoints: Vec<(String, BTreeMap<String, u64>)>,
    /// Object counts per member at the end.
    pub final_counts: BTreeMap<String, u64>,
    /// A negative case's outcome, if the scenario is one.
    pub negative: Option<NegativeOutcome>,
    /// A problem that stopped the run (not an expectation failure).
    pub aborted: Option<String>,
}

/// What happened to a negative case's input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NegativeOutcome {
    /// The refusal text, or `None` when the input was accepted.
    pub refusal: Option<String>,
    /// State before the input.
    pub state_before: String,
    /// State after the input.
    pub state_after: String,
}

/// The runner's failure to start at all.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct RunError(#[from] TopologyError);

/// The application's view: its session and the objects it created, by label.
#[derive(Default)]
struct App {
    session: Option<VSessionHandle>,
    keys: BTreeMap<String, VObjectHandle>,
}

struct Runner<'a> {
    scenario: &'a Scenario,
    world: World,
    run: Run,
    app: App,
    credential: Secret,
}

/// Runs a scenario from start to end.
pub fn run(scenario: &Scenario) -> Result<Run, RunError> {
    let world = build_world(scenario)?;
    let mut runner = Runner {
        scenario,
        world,
        run: Run::default(),
        app: App::default(),
        credential: Secret::new(scenario.credentials.co.clone()),
    };
    runner.header();
    if let Err(message) = runner.execute() {
        let now = runner.world.now();
        runner
            .run
            .transcript
            .push(now, Entry::Note(vec![format!("ABORTED: {message}")]));
        runner.run.aborted = Some(message);
    }
    runner.finish();
    Ok(runner.run)
}

fn key_kind(kind: KeyKind) -> PortKeyKind {
    match kind {
        KeyKind::Aes128 => PortKeyKind::Aes128,
        KeyKind::Aes256 => PortKeyKind::Aes256,
        KeyKind::Rsa2048 => PortKeyKind::Rsa2048,
        KeyKind::EcP256 => PortKeyKind::EcP256,
    }
}

fn sim_fault(fault: &Fault) -> SimFault {
    match fault {
        Fault::Drop(_) => SimFault::Drop,
        Fault::Restore(_) => SimFault::Restore,
        Fault::Deactivate(_) => SimFault::Deactivate,
        Fault::Activate(_) => SimFault::Activate,
        Fault::Revoke(_) => SimFault::Revoke,
        Fault::LoginFailure(_) => SimFault::LoginFailure,
        Fault::Slow { ms, .. } => SimFault::Slow { ms: *ms },
        Fault::MemberAdded(_) => SimFault::MemberAdded,
    }
}

fn sim_call(call: CallKind) -> SimCallKind {
    match call {
        CallKind::Any => SimCallKind::Any,
        CallKind::OpenSession => SimCallKind::OpenSession,
        CallKind::CloseSession => SimCallKind::CloseSession,
        CallKind::Login => SimCallKind::Login,
        CallKind::Logout => SimCallKind::Logout,
        CallKind::GenerateKey => SimCallKind::GenerateKey,
        CallKind::CreateData => SimCallKind::CreateData,
        CallKind::FindObjects => SimCallKind::FindObjects,
        CallKind::ObjectInfo => SimCallKind::ObjectInfo,
        CallKind::Destroy => SimCallKind::Destroy,
        CallKind::Sign => SimCallKind::Sign,
        CallKind::Encrypt => SimCallKind::Encrypt,
        CallKind::ExportClone => SimCallKind::ExportClone,
        CallKind::ImportClone => SimCallKind::ImportClone,
        CallKind::TokenInfo => SimCallKind::TokenInfo,
    }
}

fn rv_name(result: &Result<(), EngineError>) -> String {
    match result {
        Ok(()) => "CKR_OK".to_string(),
        Err(e) => e.rv.name(),
    }
}

impl Runner<'_> {
    fn header(&mut self) {
        let s = self.scenario;
        let t = &mut self.run.transcript;
        t.header(format!("scenario: {}", s.name));
        let rules = if s.rules.is_empty() {
            "(none)".to_string()
        } else {
            s.rules.join(" ")
        };
        t.header(format!("rules: {rules}"));
        t.header(format!("seed: {} ({})", s.seed, sim::rng::GENERATOR));
        t.header(format!("clock: {}, pid {}", s.clock.start, s.clock.pid));
        t.header(format!("slots: {}", self.world.serials().join(", ")));
    }

    fn now(&self) -> Millis {
        self.world.now()
    }

    /// Moves what the engine wrote to the HA log into the transcript.
    fn drain(&mut self) {
        drain(&mut self.world, &mut self.run);
    }

    fn command(&mut self, line: &str) -> hagroup::CommandOutput {
        let now = self.now();
        let credential = &self.credential;
        // LunaCM is its own process: the time its own member calls take is not the
        // application's, so nobody's clock moves by it.
        let (out, _lunacm_time) = queue::call(&mut self.world, |engine, now| {
            ha_engine::lunacm::execute(engine, now, line, Some(credential))
        });
        let text = out.render();
        self.run
            .output_lines
            .extend(text.lines().map(str::to_string));
        self.run.transcript.push(
            now,
            Entry::Command {
                line: ha_engine::hagroup::args::redact(line),
                output: text,
            },
        );
        self.drain();
        out
    }

    fn execute(&mut self) -> Result<(), String> {
        let scenario = self.scenario;
        let now = self.now();
        self.run
            .transcript
            .push(now, Entry::Section("setup".into()));
        self.load_initial_conf()?;
        for line in &scenario.setup {
            self.command(line);
        }
        self.run
            .transcript
            .push(self.now(), Entry::Section("steps".into()));
        for (i, step) in scenario.steps.iter().enumerate() {
            self.step(step).map_err(|e| format!("steps[{i}]: {e}"))?;
            self.drain();
        }
        if let Some(negative) = &scenario.negative {
            self.negative(&negative.input)?;
        }
        Ok(())
    }

    fn step(&mut self, step: &Step) -> Result<(), String> {
        match step {
            Step::App(op) => {
                // The application thread pays for the member calls its call made (B28): the
                // clock moves by that time, recovery due meanwhile running on the way.
                queue::start_measure(&mut self.world);
                self.app(op)?;
                let spent = queue::measured(&mut self.world);
                let (world, run) = (&mut self.world, &mut self.run);
                queue::pay(world, spent, &mut |w| drain(w, run)).map_err(|e| e.to_string())
            }
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
                    .arm(member.as_str(), sim_call(*call), *nth, sim_fault(fault))
                    .map_err(|e| e.to_string())?;
                let text = format!(
                    "armed {} {} at its call #{nth} of kind {call:?}",
                    fault.kind_name(),
                    member
                );
                self.run.transcript.push(self.now(), Entry::Fault(text));
                Ok(())
            }
            Step::Advance(seconds) => {
                let to = queue::later(self.now(), seconds.ms()).map_err(|e| e.to_string())?;
                self.advance_to(to)
            }
            Step::Checkpoint(label) => {
                self.checkpoint(label);
                Ok(())
            }
            Step::EditConf(text) => self.edit_conf(text),
            Step::Threads { threads, faults } => self.threads(threads, faults),
        }
    }

    /// Advances time; what recovery logs on the way is drained at each timer run, so each log
    /// line carries its own time.
    fn advance_to(&mut self, to: Millis) -> Result<(), String> {
        let (world, run) = (&mut self.world, &mut self.run);
        queue::advance_to(world, to, &mut |w| drain(w, run)).map_err(|e| e.to_string())?;
        self.drain();
        Ok(())
    }

    fn fault(&mut self, fault: &Fault) -> Result<(), String> {
        let text = match fault {
            Fault::Slow { member, ms } => format!("Slow {member} {ms} ms per call"),
            _ => format!("{} {}", fault.kind_name(), fault.member()),
        };
        self.run.transcript.push(self.now(), Entry::Fault(text));
        if let Fault::MemberAdded(serial) = fault {
            // An operator adds the partition to the group with LunaCM while the application
            // runs (B24, B54): the first group, as `hagroup addmember` would.
            let label = self
                .world
                .engine()
                .config()
                .groups
                .first()
                .map(|g| g.label.clone())
                .ok_or("MemberAdded needs a configured group")?;
            let out = self.command(&format!(
                "hagroup addmember -group {label} -serialnumber {serial}"
            ));
            return out.result.map_err(|e| e.to_string());
        }
        self.world
            .apply(fault.member().as_str(), &sim_fault(fault))
            .map_err(|e| e.to_string())
    }

    /// A `Threads` step: each thread gets its own virtual session; one transcript line per call,
    /// in the order the calls finished, with the member(s) that served it.
    fn threads(
        &mut self,
        programs: &[Vec<ThreadOp>],
        faults: &[(Seconds, Fault)],
    ) -> Result<(), String> {
        self.ensure_initialized();
        let mut calls = Vec::new();
        for program in programs {
            let mut thread_calls = Vec::new();
            for op in program {
                let (crypto, key, times, name) = match op {
                    ThreadOp::Sign { key, times } => (CryptoOp::Sign, key, *times, "Sign"),
                    ThreadOp::Encrypt { key, times } => (CryptoOp::Encrypt, key, *times, "Encrypt"),
                };
                let handle = self.key(key)?;
                thread_calls.push(ThreadCall {
                    op: crypto,
                    key: handle,
                    label: format!("{name}({key})"),
                    times: u64::from(times),
                });
            }
            calls.push(thread_calls);
        }
        let mut timed = Vec::new();
        for (second, fault) in faults {
            if matches!(fault, Fault::MemberAdded(_)) {
                return Err("MemberAdded cannot be scheduled inside Threads; use a step".into());
            }
            timed.push(TimedFault {
                at: second.ms(),
                member: fault.member().as_str().to_string(),
                fault: sim_fault(fault),
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
        for _ in 0..calls.len() {
            let now = self.now();
            match self.world.engine().open_session(now, group) {
                Ok(vs) => sessions.push(vs),
                Err(e) => {
                    // The failure to open is what the run reports.
                    let _ = self.close_thread_sessions(&sessions);
                    return Err(format!("a thread could not open its session: {e}"));
                }
            }
        }
        let spent = queue::measured(&mut self.world);
        let (world, run) = (&mut self.world, &mut self.run);
        queue::pay(world, spent, &mut |w| drain(w, run)).map_err(|e| e.to_string())?;
        let text = format!(
            "{} threads start ({} calls in all)",
            calls.len(),
            calls.iter().flatten().map(|c| c.times).sum::<u64>()
        );
        self.run.transcript.push(self.now(), Entry::App(text));
        for f in &timed {
            let text = format!(
                "{} {} scheduled at {} during the threads",
                f.fault.name(),
                f.member,
                crate::transcript::seconds(f.at)
            );
            self.run.transcript.push(self.now(), Entry::Fault(text));
        }
        let run = &mut self.run;
        // After every scheduler event: record the call that finished, then what was logged,
        // so HA log lines stand where they happened among the calls.
        let mut observe = |world: &mut World, seen: Observed<'_>| {
            if let Observed::Call(call, o) = seen {
                let rv = rv_name(&o.result);
                let served = if o.members.is_empty() {
                    "none".to_string()
                } else {
                    o.members.join(" then ")
                };
                let line = format!(
                    "thread {} {} #{} -> {rv}  [{} .. {}, served by {served}]",
                    o.thread,
                    call.label,
                    o.index,
                    crate::transcript::seconds(o.started),
                    crate::transcript::seconds(o.finished),
                );
                run.app_results.push(rv);
                run.transcript.push(o.finished, Entry::App(line));
            }
            drain(world, run);
        };
        let result = run_threads(
            &mut self.world,
            sessions.clone(),
            calls,
            timed,
            &mut observe,
        )
        .map_err(|e| e.to_string());
        let closed = self.close_thread_sessions(&sessions);
        result.and(closed)
    }

    /// The application closes the threads' sessions, paying for the member calls.
    fn close_thread_sessions(&mut self, sessions: &[VSessionHandle]) -> Result<(), String> {
        queue::start_measure(&mut self.world);
        for vs in sessions {
            let now = self.now();
            // A session the engine already invalidated (total loss) is simply gone.
            let _ = self.world.engine().close_session(now, *vs);
        }
        let spent = queue::measured(&mut self.world);
        let (world, run) = (&mut self.world, &mut self.run);
        queue::pay(world, spent, &mut |w| drain(w, run)).map_err(|e| e.to_string())
    }

    fn checkpoint(&mut self, label: &str) {
        let infos = self.world.token_infos();
        let alive = self.world.engine().alive_members();
        let alive: Vec<String> = alive.into_values().flatten().collect();
        let mut lines = vec![format!("checkpoint \"{label}\"")];
        let mut counts = BTreeMap::new();
        for serial in self.world.serials().to_vec() {
            let Some(info) = infos.get(&serial) else {
                continue;
            };
            let record = self.world.record(&serial);
            let grouped = self
                .world
                .engine()
                .config()
                .group_of_member(&serial)
                .is_some();
            let engine_view = if !self.world.engine().is_initialized() || !grouped {
                "-"
            } else if alive.contains(&serial) {
                "alive"
            } else {
                "down"
            };
            lines.push(format!(
                "{serial:>16}  objects {:>3}  used {:>7}  free {:>7}  engine {engine_view:<5}  served sign {} encrypt {}",
                info.object_count,
                info.used_storage,
                info.free_storage,
                record.served(SimCallKind::Sign),
                record.served(SimCallKind::Encrypt),
            ));
            counts.insert(serial, info.object_count);
        }
        self.run.transcript.push(self.now(), Entry::Note(lines));
        self.run.checkpoints.push((label.to_string(), counts));
    }

    fn record_app(&mut self, text: String, result: String) {
        self.record_app_noted(text, result, "");
    }

    /// Records a call's result, with a note for the transcript (not part of the result).
    fn record_app_noted(&mut self, text: String, result: String, note: &str) {
        let line = format!("{text} -> {result}{note}");
        self.run.app_results.push(result);
        self.run.transcript.push(self.now(), Entry::App(line));
    }

    fn ensure_initialized(&mut self) {
        if self.world.engine().is_initialized() {
            return;
        }
        let now = self.now();
        let r = self.world.engine().initialize(now);
        self.record_app("C_Initialize (implicit)".into(), rv_name(&r));
        self.drain();
    }

    fn session(&self) -> Result<VSessionHandle, String> {
        self.app.session.ok_or_else(|| {
            "the application has no open session (add App(OpenSession) first)".to_string()
        })
    }

    fn key(&self, label: &str) -> Result<VObjectHandle, String> {
        self.app
            .keys
            .get(label)
            .copied()
            .ok_or_else(|| format!("no object labelled '{label}' was created by the application"))
    }

    fn app(&mut self, op: &AppOp) -> Result<(), String> {
        if !matches!(op, AppOp::Initialize | AppOp::Finalize) {
            self.ensure_initialized();
        }
        let now = self.now();
        match op {
            AppOp::Initialize => {
                let r = self.world.engine().initialize(now);
                self.record_app("C_Initialize".into(), rv_name(&r));
            }
            AppOp::Finalize => {
                let r = self.world.engine().finalize(now);
                self.app = App::default();
                self.record_app("C_Finalize".into(), rv_name(&r));
            }
            AppOp::OpenSession => {
                let r = self.world.engine().open_session(now, 0);
                if let Ok(vs) = r {
                    self.app.session = Some(vs);
                }
                self.record_app("C_OpenSession".into(), rv_name(&r.map(|_| ())));
            }
            AppOp::CloseSession => {
                let vs = self.session()?;
                let r = self.world.engine().close_session(now, vs);
                self.app.session = None;
                self.record_app("C_CloseSession".into(), rv_name(&r));
            }
            AppOp::Login => {
                let vs = self.session()?;
                let pin = self.credential.clone();
                let r = self.world.engine().login(now, vs, &pin);
                self.record_app("C_Login".into(), rv_name(&r));
            }
            AppOp::Logout => {
                let vs = self.session()?;
                let r = self.world.engine().logout(now, vs);
                self.record_app("C_Logout".into(), rv_name(&r));
            }
            AppOp::GenerateKey { label, kind } | AppOp::GenerateSessionKey { label, kind } => {
                let token = matches!(op, AppOp::GenerateKey { .. });
                let vs = self.session()?;
                let before = self.creation_record();
                let r = self
                    .world
                    .engine()
                    .generate_key(now, vs, key_kind(*kind), label, token);
                if let Some(first) = r.as_ref().ok().and_then(|h| h.first()) {
                    self.app.keys.insert(label.clone(), *first);
                }
                let what = if token {
                    "GenerateKey"
                } else {
                    "GenerateSessionKey"
                };
                let placed = self.placement(&before);
                self.record_app_noted(
                    format!("{what}({label}, {kind:?})"),
                    rv_name(&r.map(|_| ())),
                    &placed,
                );
            }
            AppOp::CreateData { label, size } => {
                let vs = self.session()?;
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
                self.record_app_noted(
                    format!("CreateData({label}, {size} bytes)"),
                    rv_name(&r.map(|_| ())),
                    &placed,
                );
            }
            AppOp::Sign { key, times } => self.crypto(true, key, *times)?,
            AppOp::Encrypt { key, times } => self.crypto(false, key, *times)?,
            AppOp::Destroy { key } => {
                let vs = self.session()?;
                let h = self.key(key)?;
                let r = self.world.engine().destroy_object(now, vs, h);
                if r.is_ok() {
                    self.app.keys.remove(key);
                }
                self.record_app(format!("Destroy({key})"), rv_name(&r));
            }
            AppOp::SignInit { key } => {
                let vs = self.session()?;
                let h = self.key(key)?;
                let before = self.multipart_counts();
                let r = self.world.engine().sign_init(now, vs, h);
                let placed = self.multipart_member(&before);
                self.record_app_noted(format!("C_SignInit({key})"), rv_name(&r), &placed);
            }
            AppOp::SignUpdate { size } => {
                let vs = self.session()?;
                let data = self.world.workload_bytes(*size as usize);
                let r = self.world.engine().sign_update(now, vs, &data);
                self.record_app(format!("C_SignUpdate({size} bytes)"), rv_name(&r));
            }
            AppOp::SignFinal => {
                let vs = self.session()?;
                let r = self.world.engine().sign_final(now, vs);
                self.record_app("C_SignFinal".into(), rv_name(&r.map(|_| ())));
            }
            AppOp::OpenSessionOn(label) => {
                let group = self
                    .world
                    .engine()
                    .config()
                    .group_index(label)
                    .ok_or_else(|| format!("OpenSessionOn: no group labelled '{label}'"))?;
                let r = self.world.engine().open_session(now, group);
                if let Ok(vs) = r {
                    self.app.session = Some(vs);
                    self.app.keys.clear();
                }
                self.record_app(format!("C_OpenSession({label})"), rv_name(&r.map(|_| ())));
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
                self.record_app(
                    format!("GenerateKeyOnSlot({serial}, {label}, {kind:?})"),
                    rv_name(
                        &r.map(|_| ())
                            .map_err(|rv| EngineError::new(rv, "C_GenerateKey")),
                    ),
                );
            }
            AppOp::CountObjects => {
                let counts = self.world.object_counts();
                let text: Vec<String> = counts.iter().map(|(s, n)| format!("{s}={n}")).collect();
                self.run.transcript.push(
                    now,
                    Entry::App(format!("CountObjects -> {}", text.join(" "))),
                );
            }
            AppOp::SlotList => {
                // D14, B34, B56-B59: the application's view, one line per slot.
                let slots = self.world.engine().app_slot_list();
                let plural = if slots.len() == 1 { "" } else { "s" };
                let mut lines = vec![format!(
                    "app   C_GetSlotList -> {} slot{plural}",
                    slots.len()
                )];
                lines.extend(slots.iter().map(|s| format!("      {}", s.render())));
                self.run.transcript.push(now, Entry::Note(lines));
            }
        }
        Ok(())
    }

    /// Runs `times` identical calls as a one-thread program (the same path as `Threads`);
    /// consecutive calls are summarised together until an HA log line appears, so every log
    /// line stays where it happened.
    fn crypto(&mut self, sign: bool, key: &str, times: u32) -> Result<(), String> {
        let vs = self.session()?;
        let h = self.key(key)?;
        let (name, kind, op) = if sign {
            ("Sign", SimCallKind::Sign, CryptoOp::Sign)
        } else {
            ("Encrypt", SimCallKind::Encrypt, CryptoOp::Encrypt)
        };
        let call = ThreadCall {
            op,
            key: h,
            label: format!("{name}({key})"),
            times: u64::from(times),
        };
        let mut first = 1;
        // Results since the last summary, as (result, consecutive count).
        let mut results: Vec<(String, u64)> = Vec::new();
        let mut served_before = served(&self.world, kind);
        let run = &mut self.run;
        let mut observe = |world: &mut World, seen: Observed<'_>| {
            // Recovery logging between calls stays in the journal until the call ends.
            let Observed::Call(_, outcome) = seen else {
                return;
            };
            let i = outcome.index;
            let rv = rv_name(&outcome.result);
            run.app_results.push(rv.clone());
            match results.last_mut() {
                Some((last, n)) if *last == rv => *n += 1,
                _ => results.push((rv, 1)),
            }
            let has_log = world.fs().lock().is_ok_and(|fs| !fs.journal().is_empty());
            if has_log || i == u64::from(times) {
                let served_now = served(world, kind);
                let line = summarise(name, key, first, i, &results, &served_before, &served_now);
                run.transcript.push(world.now(), Entry::App(line));
                drain(world, run);
                served_before = served_now;
                results.clear();
                first = i + 1;
            }
        };
        run_one(&mut self.world, vs, call, &mut observe).map_err(|e| e.to_string())
    }

    /// Multi-part calls served per member (from the injectors' records).
    fn multipart_counts(&self) -> BTreeMap<String, u64> {
        self.world
            .serials()
            .iter()
            .map(|s| {
                (
                    s.clone(),
                    self.world.record(s).served(SimCallKind::SignMultipart),
                )
            })
            .collect()
    }

    /// `  [on S]`: the member that took the `C_SignInit` (whose multi-part count grew).
    fn multipart_member(&self, before: &BTreeMap<String, u64>) -> String {
        let changed: Vec<String> = self
            .multipart_counts()
            .into_iter()
            .filter(|(s, n)| before.get(s).copied().unwrap_or(0) != *n)
            .map(|(s, _)| s)
            .collect();
        if changed.is_empty() {
            String::new()
        } else {
            format!("  [on {}]", changed.join(", "))
        }
    }

    /// Served creations and clone imports per member (from the injectors' records).
    fn creation_record(&self) -> BTreeMap<String, (u64, u64)> {
        self.world
            .serials()
            .iter()
            .map(|s| {
                let r = self.world.record(s);
                let created =
                    r.served(SimCallKind::GenerateKey) + r.served(SimCallKind::CreateData);
                (s.clone(), (created, r.served(SimCallKind::ImportClone)))
            })
            .collect()
    }

    /// `  [created on A; cloned to B, C]`: where an object creation actually went (B18, B30).
    fn placement(&self, before: &BTreeMap<String, (u64, u64)>) -> String {
        let after = self.creation_record();
        let mut created = Vec::new();
        let mut cloned = Vec::new();
        for (serial, (c, i)) in &after {
            let (c0, i0) = before.get(serial).copied().unwrap_or_default();
            if *c > c0 {
                created.push(serial.clone());
            }
            if *i > i0 {
                cloned.push(serial.clone());
            }
        }
        if created.is_empty() {
            return String::new();
        }
        let cloned = if cloned.is_empty() {
            "none".to_string()
        } else {
            cloned.join(", ")
        };
        format!("  [created on {}; cloned to {cloned}]", created.join(", "))
    }

    fn state_snapshot(&mut self) -> String {
        let now = self.now();
        let listing = hagroup::execute(
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

    fn negative(&mut self, input: &NegativeInput) -> Result<(), String> {
        self.run
            .transcript
            .push(self.now(), Entry::Section("negative case".into()));
        let before = self.state_snapshot();
        let refusal = match input {
            NegativeInput::Command(line) => {
                let out = self.command(line);
                out.result.err().map(|e| e.to_string())
            }
            NegativeInput::ScenarioText(text) => {
                let r = scenario::parse_str(text, "<embedded>");
                let refusal = r.err().map(|e| e.to_string());
                self.run.transcript.push(
                    self.now(),
                    Entry::Note(vec![format!(
                        "embedded scenario text -> {}",
                        refusal.as_deref().unwrap_or("accepted")
                    )]),
                );
                refusal
            }
            NegativeInput::Conf(text) => self.negative_conf(text),
        };
        let after = self.state_snapshot();
        self.run.transcript.push(
            self.now(),
            Entry::Note(vec![format!(
                "state (listgroups, object counts, configuration file) unchanged: {}",
                if before == after { "yes" } else { "NO" }
            )]),
        );
        self.run.negative = Some(NegativeOutcome {
            refusal,
            state_before: before,
            state_after: after,
        });
        Ok(())
    }

    fn finish(&mut self) {
        self.drain();
        let now = self.now();
        self.run.final_counts = self.world.object_counts();
        let mut lines = vec!["end".to_string()];
        for (serial, n) in &self.run.final_counts {
            lines.push(format!("{serial:>16}  objects {n:>3}"));
        }
        if let Ok(fs) = self.world.fs().lock() {
            // After a rotation (B64) every file is shown whole, so a snapshot proves that no
            // record was lost or split.
            let rotated = fs.files().len() > 1;
            for (path, contents) in fs.files() {
                lines.push(format!(
                    "file {path}: {} bytes, {} lines",
                    contents.len(),
                    contents.lines().count()
                ));
                if rotated {
                    lines.extend(contents.lines().map(|l| format!("  | {l}")));
                }
            }
        }
        self.run.transcript.push(now, Entry::Section("end".into()));
        self.run.transcript.push(now, Entry::Note(lines));
        self.conf_section();
    }
}

/// Moves what the engine wrote to the HA log into the run's record.
fn drain(world: &mut World, run: &mut Run) {
    while let Some(event) = world.engine().poll_event() {
        match event {
            EngineEvent::Log { message, .. } => {
                run.emitted_templates.insert(message.id().to_string());
            }
        }
    }
    let journal = match world.fs().lock() {
        Ok(mut fs) => fs.take_journal(),
        Err(_) => Vec::new(),
    };
    let now = world.now();
    for event in journal {
        match event {
            FsEvent::Append { text, .. } => {
                for line in text.lines() {
                    run.log_lines.push(line.to_string());
                    run.transcript.push(now, Entry::Log(line.to_string()));
                }
            }
            FsEvent::Rename { from, to } => {
                run.transcript
                    .push(now, Entry::File(format!("rotated {from} -> {to}")));
            }
        }
    }
}

/// Calls of `kind` served per member (from the injectors' records).
fn served(world: &World, kind: SimCallKind) -> BTreeMap<String, u64> {
    world
        .serials()
        .iter()
        .map(|s| (s.clone(), world.record(s).served(kind)))
        .collect()
}

/// One transcript line for calls `first..=last` of a repeated operation, whose results were
/// `runs` (each result with its consecutive count).
fn summarise(
    name: &str,
    key: &str,
    first: u64,
    last: u64,
    runs: &[(String, u64)],
    before: &BTreeMap<String, u64>,
    after: &BTreeMap<String, u64>,
) -> String {
    let range = if first == last {
        format!("#{first}")
    } else {
        format!("#{first}-{last}")
    };
    let results: Vec<String> = runs.iter().map(|(r, n)| format!("{r} x{n}")).collect();
    let served: Vec<String> = after
        .iter()
        .filter_map(|(serial, n)| {
            let d = n - before.get(serial).copied().unwrap_or(0);
            (d > 0).then(|| format!("{serial} x{d}"))
        })
        .collect();
    let served = if served.is_empty() {
        String::new()
    } else {
        format!("  [served by {}]", served.join(", "))
    };
    format!("{name}({key}) {range} -> {}{served}", results.join(", "))
}
