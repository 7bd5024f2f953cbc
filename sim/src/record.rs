//! The record of a run: one typed, time-stamped list of everything that happened (application
//! calls with their members, results and instants; faults; HA log lines; LunaCM commands and
//! their output; checkpoints with object counts; the end state). It is the single source every
//! reader uses: the transcript is rendered from it, the verdict, coverage and later checkers
//! (invariants, timeline, differential comparison) read it, never the rendered text.
//!
//! Memory stays bounded on long runs: consecutive calls of one operation with one result and no
//! other event between them are one [`CallRun`] (a count, per-member counts, first and last
//! instant), so a run of 10⁸ identical signs is one entry ([`Record::repeated_call`]).

use std::collections::{BTreeMap, BTreeSet};

use ha_engine::Ckr;
use ha_engine::ports::Millis;

use crate::fault::{CallKind, Fault};

/// Everything one run recorded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Record {
    /// What was run.
    pub header: Header,
    /// The events, in the order they happened.
    pub events: Vec<Stamped>,
    /// Ids of the HA log templates the engine emitted (`HALOG_DROPMEMBER`, ...), whether or not
    /// a log file received them (the HA log may be disabled or not yet given a path).
    pub templates: BTreeSet<String>,
}

/// What was run: the scenario's identity, seed, clock and slots.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Header {
    /// The scenario's one-line name.
    pub scenario: String,
    /// The rules it names.
    pub rules: Vec<String>,
    /// The seed.
    pub seed: u64,
    /// The random generator and its version (see [`crate::rng::GENERATOR`]).
    pub generator: String,
    /// The calendar time at virtual time 0, as the scenario wrote it.
    pub clock_start: String,
    /// The application's process id.
    pub pid: u32,
    /// Partition serials in the client's slot order.
    pub slots: Vec<String>,
    /// Which real token each partition is bound to (empty on the model).
    pub binding: Vec<String>,
}

/// An event and the virtual time it happened at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stamped {
    /// Virtual time.
    pub at: Millis,
    /// What happened.
    pub event: Event,
}

/// One thing that happened during a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A part of the run begins.
    Section(Section),
    /// A LunaCM command line and its output.
    Command(Command),
    /// One application call.
    Call(Call),
    /// Consecutive identical application calls with one result (see [`Record::repeated_call`]).
    Calls(CallRun),
    /// An application profile's reaction to a return code, or its decision to let the code
    /// stand (`harness::app`).
    React(React),
    /// A `Threads` step starts.
    ThreadsStarted {
        /// Number of application threads.
        threads: usize,
        /// Calls in all.
        calls: usize,
    },
    /// One call of an application thread, when it finished.
    ThreadCall(ThreadCall),
    /// `CountObjects`: token objects per member, read below the injector.
    Objects(BTreeMap<String, u64>),
    /// `CallCounts(from, to)`: the calls that reached each member's injector between two
    /// checkpoints, by kind (any caller: the application's engine, recovery, LunaCM).
    CallCounts {
        /// The earlier checkpoint.
        from: String,
        /// The later checkpoint.
        to: String,
        /// `(member, calls by kind)` in slot order; kinds with no call are left out.
        members: Vec<(String, BTreeMap<CallKind, u64>)>,
    },
    /// `Fingerprints(label)`: each member's fingerprint of its token object `label` (`None`:
    /// it holds none), read below the injectors, in slot order.
    Fingerprints {
        /// The object's label.
        label: String,
        /// `(member, fingerprint)` in slot order.
        members: Vec<(String, Option<String>)>,
    },
    /// `C_GetSlotList`: the application's slots, one rendered line each.
    SlotList(Vec<String>),
    /// A fault applied, armed or scheduled.
    Fault(FaultEvent),
    /// One HA log line exactly as written to the file, without the newline.
    Log(String),
    /// The engine found and destroyed the orphan of a creation whose answer was lost (D37):
    /// the member held an object the group had created again elsewhere under a new id.
    Orphan {
        /// The member that held it.
        member: String,
        /// The orphan's id (D8).
        id: String,
        /// Its label.
        label: String,
    },
    /// The HA log file was rotated.
    Rotated {
        /// Old path.
        from: String,
        /// New path.
        to: String,
    },
    /// The client configuration file was loaded or edited.
    Conf(ConfEvent),
    /// Per-member state at a checkpoint.
    Checkpoint(Checkpoint),
    /// A text of a negative case was refused (or accepted) by its loader.
    Refusal {
        /// What was read, e.g. `embedded scenario text` or `Chrystoki.conf text`.
        what: String,
        /// The refusal, or `None` when the text was accepted.
        refusal: Option<String>,
    },
    /// The outcome of a negative case's input.
    Negative(NegativeOutcome),
    /// The run stopped early for this reason (not an expectation failure).
    Aborted(String),
    /// Object counts and HA log files at the end.
    End(End),
    /// Exploration's witness (recorded only when asked, never rendered): the partitions that
    /// held an object when an application call on it failed or a standby served it, read below
    /// the injectors.
    Holders {
        /// The object's label.
        label: String,
        /// The partitions holding it then.
        members: Vec<String>,
        /// When the application issued the call, if known (a sign or encrypt run by the
        /// scheduler): the engine chose its member then, and a member that came into service
        /// while the call was under way was no choice it had (I5).
        issued: Option<Millis>,
    },
    /// Exploration's witness (recorded only when asked, never rendered): a call of the
    /// application's engine that the member failed with a code that drops a member (D3), read
    /// in the injector; recorded where the HA log lines of the same engine call are, just
    /// before them.
    MemberFailed {
        /// The member.
        member: String,
        /// The kind of call.
        call: CallKind,
        /// The code the engine got.
        code: Ckr,
        /// The virtual instant of the engine call that made it.
        called_at: Millis,
    },
    /// Exploration's witness (recorded only when asked, never rendered): a lost answer (D35)
    /// went off on a call of the application's engine, read in the injector; recorded before
    /// the application call it cut, as the fault that armed it is.
    AnswerLost {
        /// The member.
        member: String,
        /// The kind of call it cut.
        call: CallKind,
        /// The member executed the call successfully before the answer was lost: a creation
        /// left an orphan there (D37).
        took_effect: bool,
    },
    /// Exploration's witness (recorded only when asked, never rendered): a run of the
    /// application engine's recovery timer at `from` whose member calls kept its recovery
    /// thread busy until `until` (the time policy of `queue`); an attempt due meanwhile runs
    /// at `until`.
    RecoveryBusy {
        /// When the timer ran.
        from: Millis,
        /// When the recovery thread was free again.
        until: Millis,
    },
    /// Exploration's witness at a checkpoint (recorded only when asked, never rendered): each
    /// partition's token objects as `label/class`.
    Holdings {
        /// The checkpoint's label.
        label: String,
        /// Per partition, sorted.
        objects: BTreeMap<String, Vec<String>>,
        /// Per partition, its token data objects as `(label, fingerprint)`, sorted (their
        /// contents, which only a change outside the group makes differ, B22, D64).
        contents: BTreeMap<String, Vec<(String, String)>>,
        /// Per partition, its storage room (B14): what a copy refused for want of it left.
        rooms: BTreeMap<String, Room>,
    },
    /// Exploration's witness (recorded only when asked, never rendered): a `DirectChange`
    /// was made on `member`; every partition's copies of `label` right after it, as
    /// `(partition, fingerprint)` in slot order (one row per copy).
    Changed {
        /// The partition changed outside the group.
        member: String,
        /// The data object's label.
        label: String,
        /// Every copy of it then.
        copies: Vec<(String, String)>,
    },
    /// A step that could not run, with its reason; the run went on, as an application's
    /// would (issue 9, D79): e.g. a `DirectChange` on a partition that holds no such object.
    NotRun {
        /// The step, as the transcript names it (e.g. `DirectChange 1234 doc`).
        step: String,
        /// Why it could not run.
        reason: String,
    },
    /// Exploration's witness (recorded only when asked, never rendered): a thread's runner
    /// call (any call but a sign or encrypt) when it was made, in the order of the run; its
    /// rendered [`Event::ThreadCall`] follows when the answer reaches the thread.
    RunnerCallMade(ThreadCall),
    /// Exploration's witness (recorded only when asked, never rendered): a fault scheduled
    /// inside a `Threads` step (its rendered [`Event::Fault`] stands where it was scheduled)
    /// was applied now, in the order of the run: among the threads' events of the same
    /// instant, where the seeded tie-break put it.
    ScheduledFaultApplied {
        /// The member's serial.
        member: String,
        /// What happened to it.
        action: Action,
    },
    /// Exploration's witness (recorded only when asked, never rendered): a `Threads` step's
    /// own session of a thread was opened (`true`, when the step starts) or closed (`false`,
    /// when it ends) by the application, outside any thread's program.
    ThreadSession {
        /// Opened (true) or closed (false).
        opened: bool,
    },
    /// The client configuration file at the end, verbatim.
    ConfFile {
        /// `Chrystoki.conf` or `crystoki.ini`.
        name: String,
        /// The file's text.
        text: String,
    },
}

/// What an application profile did about a failed call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct React {
    /// One line for the transcript: the code, and what the application does about it.
    pub text: String,
    /// The code the application is left with when it stopped trying (no rule, or it gave
    /// up); `None` while it reacts and tries again.
    pub stands: Option<Ckr>,
}

/// The parts of a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Section {
    /// The initial configuration and the LunaCM setup commands.
    Setup,
    /// The scenario's steps.
    Steps,
    /// A negative case's input.
    NegativeCase,
    /// The end state.
    End,
}

/// A LunaCM command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command {
    /// The line as typed, credentials redacted.
    pub line: String,
    /// Its output, footer included.
    pub output: String,
}

/// One application call and its result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    /// The call as the transcript names it, e.g. `C_Login` or `GenerateKey(k1, Aes256)`.
    pub op: String,
    /// What the application got (`CKR_OK` on success).
    pub result: Ckr,
    /// Where the call went, when that is observed.
    pub placement: Placement,
}

/// Where an application call went, read from the injectors' records.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Placement {
    /// Not observed for this call.
    #[default]
    Unobserved,
    /// An object creation: made on these members, cloned to those (B18, B30).
    Created {
        /// Members that served the creation.
        on: Vec<String>,
        /// Members that imported a clone.
        cloned_to: Vec<String>,
    },
    /// A multi-part operation's member(s).
    On(Vec<String>),
}

/// Consecutive calls of one operation with one result, nothing else recorded between them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallRun {
    /// The operation, e.g. `Sign(k1)`.
    pub op: String,
    /// The number of the first call within its step (from 1).
    pub first: u64,
    /// How many calls.
    pub count: u64,
    /// Their common result.
    pub result: Ckr,
    /// Calls served per member (a call re-dispatched after a failure counts where it succeeded).
    pub served: BTreeMap<String, u64>,
    /// When the first call returned.
    pub first_at: Millis,
    /// When the last call returned.
    pub last_at: Millis,
}

impl CallRun {
    /// The number of the last call within its step.
    pub fn last(&self) -> u64 {
        self.first + self.count - 1
    }
}

/// One call of an application thread.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThreadCall {
    /// Thread number (from 0).
    pub thread: usize,
    /// The operation, e.g. `Sign(k1)`.
    pub op: String,
    /// Call number within the thread (from 1).
    pub index: usize,
    /// What the application got.
    pub result: Ckr,
    /// When the thread issued it.
    pub started: Millis,
    /// When the thread got the result.
    pub finished: Millis,
    /// A single-part sign or encrypt: when the member call that answered was sent, the
    /// instant the member did the work (exploration's witness, never rendered); `None`
    /// otherwise.
    pub sent: Option<Millis>,
    /// Members it was dispatched to, in order (more than one after a re-dispatch).
    pub members: Vec<String>,
    /// For a call other than a single-part sign or encrypt (a runner call: open, login,
    /// generate, destroy, multi-part, ...): where it went, as for an `App` step's call. Such a
    /// call takes effect when the thread issues it (`started`); `None` for sign and encrypt.
    pub placement: Option<Placement>,
}

/// What a fault event does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// A fault below the `Member` port or on the partition.
    Fault(Fault),
    /// The operator adds the partition to the first group with LunaCM (B24, B54).
    MemberAdded,
}

impl Action {
    /// The name used in scenario files and transcripts.
    pub fn name(&self) -> &'static str {
        match self {
            Action::Fault(f) => f.name(),
            Action::MemberAdded => "MemberAdded",
        }
    }
}

/// When a fault takes effect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultTiming {
    /// Now.
    Now,
    /// Just before the member's `nth` call of kind `call`.
    Armed {
        /// The kind of call counted.
        call: CallKind,
        /// Which one (from 1).
        nth: u32,
    },
    /// At this virtual time during a `Threads` step.
    Scheduled(Millis),
    /// An armed fault that went off now, set off by the member's `nth` call of kind `call`.
    Fired {
        /// The kind of call counted.
        call: CallKind,
        /// Which one (from 1).
        nth: u32,
    },
}

/// A fault applied, armed or scheduled on a member.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultEvent {
    /// The member's serial.
    pub member: String,
    /// What happens to it.
    pub action: Action,
    /// When.
    pub timing: FaultTiming,
}

/// A change of the client configuration file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfEvent {
    /// The scenario's initial file was loaded.
    Loaded {
        /// `Chrystoki.conf` or `crystoki.ini`.
        origin: String,
        /// Lines in the text.
        lines: usize,
    },
    /// The operator replaced the file while the application ran.
    Edited {
        /// `Chrystoki.conf` or `crystoki.ini`.
        origin: String,
        /// Lines in the text.
        lines: usize,
        /// `[HARecovery]` counters raised: `(label, old, new)`, each a manual recovery request (B45).
        recovery: Vec<(String, u64, u64)>,
    },
}

/// What the engine thinks of a member at a checkpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EngineView {
    /// Not initialised, or the partition is in no group.
    NotApplicable,
    /// In use.
    Alive,
    /// Dropped (or not yet recovered).
    Down,
}

/// A partition's storage at a checkpoint, read below its injector (exploration's witness,
/// B14): its free bytes and what each of its token objects takes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Room {
    /// Storage free, bytes.
    pub free: u64,
    /// Bytes each token object takes, by `label/class` (the largest when several share it).
    pub sizes: BTreeMap<String, u64>,
}

/// One member at a checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberState {
    /// The serial.
    pub serial: String,
    /// Token objects.
    pub objects: u64,
    /// Storage used, bytes.
    pub used: u64,
    /// Storage free, bytes.
    pub free: u64,
    /// The engine's view.
    pub engine: EngineView,
    /// Signatures it served so far.
    pub served_sign: u64,
    /// Encryptions it served so far.
    pub served_encrypt: u64,
    /// Every call that reached its injector so far, of any kind and from any caller (the
    /// application's calls, recovery probes, LunaCM's): what `CallsBetween` compares (not
    /// printed).
    pub calls: u64,
    /// The same calls by kind (printed only by a `CallCounts` step).
    pub calls_by_kind: BTreeMap<CallKind, u64>,
    /// Its role as the engine sees it (`None` before `C_Initialize` or outside any group).
    pub role: Option<ha_engine::roles::Role>,
}

/// Per-member state at a labelled point of the run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The scenario's label.
    pub label: String,
    /// Each partition, in slot order.
    pub members: Vec<MemberState>,
    /// The application's slot list, one line per slot (as `App(SlotList)` records it).
    pub slots: Vec<String>,
    /// The HA log files and their contents, by path.
    pub log_files: Vec<LogFile>,
}

impl Checkpoint {
    /// Token object counts per member.
    pub fn counts(&self) -> BTreeMap<String, u64> {
        self.members
            .iter()
            .map(|m| (m.serial.clone(), m.objects))
            .collect()
    }
}

/// What happened to a negative case's input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NegativeOutcome {
    /// The refusal text, or `None` when the input was accepted.
    pub refusal: Option<String>,
    /// State before the input (listgroups, object counts, configuration file).
    pub state_before: String,
    /// State after the input.
    pub state_after: String,
}

/// One HA log file at the end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogFile {
    /// Its path in the in-memory file system.
    pub path: String,
    /// Its contents.
    pub contents: String,
}

/// The end state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct End {
    /// Token object counts per member.
    pub counts: BTreeMap<String, u64>,
    /// The HA log files, by path.
    pub files: Vec<LogFile>,
}

impl Record {
    /// Adds an event at `at`.
    pub fn push(&mut self, at: Millis, event: Event) {
        self.events.push(Stamped { at, event });
    }

    /// Records call number `index` (from 1, within its step) of a repeated operation, which
    /// returned `result` at `at`; `served` says which members answered it (usually one, none
    /// when it failed). It extends the last event when that is a run of the same operation
    /// with the same result ending at call `index - 1`; otherwise it starts a new run. Memory
    /// does not grow with the number of calls.
    pub fn repeated_call<'a>(
        &mut self,
        at: Millis,
        op: &str,
        index: u64,
        result: Ckr,
        served: impl IntoIterator<Item = (&'a str, u64)>,
    ) {
        let extends = matches!(
            self.events.last(),
            Some(Stamped { event: Event::Calls(run), .. })
                if run.op == op && run.result == result && run.first + run.count == index
        );
        if !extends {
            self.push(
                at,
                Event::Calls(CallRun {
                    op: op.to_string(),
                    first: index,
                    count: 0,
                    result,
                    served: BTreeMap::new(),
                    first_at: at,
                    last_at: at,
                }),
            );
        }
        if let Some(Stamped {
            event: Event::Calls(run),
            ..
        }) = self.events.last_mut()
        {
            run.count += 1;
            run.last_at = at;
            for (serial, n) in served {
                match run.served.get_mut(serial) {
                    Some(count) => *count += n,
                    None => {
                        run.served.insert(serial.to_string(), n);
                    }
                }
            }
        }
    }

    /// Every HA log line, in order.
    pub fn log_lines(&self) -> impl Iterator<Item = &str> {
        self.events.iter().filter_map(|s| match &s.event {
            Event::Log(line) => Some(line.as_str()),
            _ => None,
        })
    }

    /// Every line of every command's output, in order.
    pub fn output_lines(&self) -> impl Iterator<Item = &str> {
        self.events
            .iter()
            .filter_map(|s| match &s.event {
                Event::Command(c) => Some(c.output.lines()),
                _ => None,
            })
            .flatten()
    }

    /// How many application calls returned each result (`CKR_OK` included).
    pub fn app_results(&self) -> BTreeMap<Ckr, u64> {
        let mut out = BTreeMap::new();
        for s in &self.events {
            let (result, n) = match &s.event {
                Event::Call(c) => (c.result, 1),
                Event::Calls(run) => (run.result, run.count),
                Event::ThreadCall(t) => (t.result, 1),
                _ => continue,
            };
            *out.entry(result).or_insert(0) += n;
        }
        out
    }

    /// The checkpoint with this label.
    pub fn checkpoint(&self, label: &str) -> Option<&Checkpoint> {
        self.events.iter().find_map(|s| match &s.event {
            Event::Checkpoint(c) if c.label == label => Some(c),
            _ => None,
        })
    }

    /// The end state, once the run has finished.
    pub fn end(&self) -> Option<&End> {
        self.events.iter().rev().find_map(|s| match &s.event {
            Event::End(end) => Some(end),
            _ => None,
        })
    }

    /// A negative case's outcome, if the run had one.
    pub fn negative(&self) -> Option<&NegativeOutcome> {
        self.events.iter().find_map(|s| match &s.event {
            Event::Negative(n) => Some(n),
            _ => None,
        })
    }

    /// Why the run stopped early, if it did.
    pub fn aborted(&self) -> Option<&str> {
        self.events.iter().find_map(|s| match &s.event {
            Event::Aborted(reason) => Some(reason.as_str()),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_consecutive_calls_are_one_entry() {
        let mut r = Record::default();
        for i in 1..=1000 {
            let member = if i % 2 == 0 { "b" } else { "a" };
            r.repeated_call(i, "Sign(k)", i, Ckr::CKR_OK, [(member, 1)]);
        }
        assert_eq!(r.events.len(), 1);
        let Event::Calls(run) = &r.events[0].event else {
            panic!("a run");
        };
        assert_eq!(
            (run.first, run.last(), run.first_at, run.last_at),
            (1, 1000, 1, 1000)
        );
        assert_eq!(run.served["a"], 500);
        assert_eq!(run.served["b"], 500);
        assert_eq!(r.app_results()[&Ckr::CKR_OK], 1000);
    }

    #[test]
    fn a_new_result_an_event_between_or_a_new_step_starts_a_new_entry() {
        let mut r = Record::default();
        r.repeated_call(0, "Sign(k)", 1, Ckr::CKR_OK, [("a", 1)]);
        r.repeated_call(0, "Sign(k)", 2, Ckr::CKR_DEVICE_ERROR, []);
        r.push(0, Event::Log("line".into()));
        r.repeated_call(0, "Sign(k)", 3, Ckr::CKR_DEVICE_ERROR, []);
        r.repeated_call(0, "Sign(k)", 1, Ckr::CKR_DEVICE_ERROR, []);
        r.repeated_call(0, "Encrypt(k)", 2, Ckr::CKR_DEVICE_ERROR, []);
        assert_eq!(r.events.len(), 6);
        assert_eq!(r.app_results()[&Ckr::CKR_DEVICE_ERROR], 4);
        assert_eq!(r.log_lines().collect::<Vec<_>>(), ["line"]);
    }
}
