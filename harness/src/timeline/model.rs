//! What the timeline shows, derived from a run's [`Record`] alone: each member's state over
//! virtual time as the engine sees it (from the HA log lines and the application's
//! `C_Initialize`/`C_Finalize`), what the fault injector did to it (from the record's fault
//! events), the calls it served, the application's failed calls, and every HA log line as a
//! mark. [`derive`] is a pure function; the drawing is [`super::html`]'s business.

use std::collections::{BTreeMap, BTreeSet};

use ha_engine::Ckr;
use ha_engine::log::HaLogMessage;
use ha_engine::ports::Millis;
use lunacm::chrystoki::{Document, read_config};
use sim::fault::Fault;
use sim::record::{Action, Event, FaultTiming, Placement, Record};

use crate::halog::{self, member_of};

/// A member's state as the engine sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum State {
    /// In no group.
    NoGroup,
    /// In a group, but the application has not initialised the library.
    Idle,
    /// Added to a group while the application runs, not yet picked up (B54).
    Pending,
    /// In use.
    Alive,
    /// Dropped, unreachable at initialisation, or refusing the login.
    Down,
    /// Dropped as deactivated, or excluded as not activated.
    Deactivated,
    /// Found revoked by a recovery attempt.
    Revoked,
    /// A standby member while an active member is in use.
    Standby,
    /// A standby member serving because every active member is gone (B36, D12).
    Promoted,
}

impl State {
    /// Every state, in legend order.
    pub const ALL: [State; 9] = [
        State::Alive,
        State::Down,
        State::Deactivated,
        State::Revoked,
        State::Standby,
        State::Promoted,
        State::Pending,
        State::Idle,
        State::NoGroup,
    ];

    /// Its name in the legend and in tooltips.
    pub fn name(self) -> &'static str {
        match self {
            State::NoGroup => "not in a group",
            State::Idle => "application not running",
            State::Pending => "added, not yet detected",
            State::Alive => "alive",
            State::Down => "down",
            State::Deactivated => "deactivated",
            State::Revoked => "revoked",
            State::Standby => "standby",
            State::Promoted => "promoted",
        }
    }

    /// How it is derived from the record (the legend says this).
    pub fn derivation(self) -> &'static str {
        match self {
            State::Alive => {
                "from the application's C_Initialize, and after `recovery attempt N succeeded` or `detected new member`"
            }
            State::Down => {
                "after `has dropped member`, `unable to reach member` or `can not login to member`"
            }
            State::Deactivated => {
                "after `member: S deactivated` or `member S is not activated and is excluded`"
            }
            State::Revoked => "after `member: S revoked` (a recovery attempt found it revoked)",
            State::Standby => {
                "alive and a standby member (addstandby, a Cloud HSM added as standby, or StandbyMembers in the conf)"
            }
            State::Promoted => "alive, standby, and no active member of its group alive",
            State::Pending => {
                "added with LunaCM while the application runs, until `detected new member`"
            }
            State::Idle => "in a group, before C_Initialize or after C_Finalize",
            State::NoGroup => {
                "not a member of any group (LunaCM commands and the final Chrystoki.conf)"
            }
        }
    }
}

/// What the fault injector (or the partition) does to a member.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Injected {
    /// `Drop` until `Restore`.
    Unreachable,
    /// `Revoke` until `Restore`.
    Revoked,
    /// `Deactivate` until `Activate`.
    Deactivated,
    /// `LoginFailure` until `LoginRestore`: its credential no longer works.
    LoginRefused,
    /// `Slow`: every call takes this long (ms).
    Slow(u64),
    /// `Hang` until `Restore`: no call is answered (the receive timeout decides).
    Hung,
    /// `IdleCut` until `Restore`: a connection idle this long (ms) is cut.
    IdleCut(u64),
}

impl Injected {
    /// Its name in the legend and in tooltips.
    pub fn name(&self) -> String {
        match self {
            Injected::Unreachable => "Drop: unreachable".to_string(),
            Injected::Revoked => "Revoke: revoked".to_string(),
            Injected::Deactivated => "Deactivate: not activated".to_string(),
            Injected::LoginRefused => "LoginFailure: credential refused".to_string(),
            Injected::Slow(ms) => format!("Slow: {ms} ms per call"),
            Injected::Hung => "Hang: no answer".to_string(),
            Injected::IdleCut(ms) => format!("IdleCut: cut after {ms} ms idle"),
        }
    }

    /// The CSS class of its band.
    pub fn class(&self) -> &'static str {
        match self {
            Injected::Unreachable => "f-drop",
            Injected::Revoked => "f-revoke",
            Injected::Deactivated => "f-deact",
            Injected::LoginRefused => "f-login",
            Injected::Slow(_) | Injected::Hung | Injected::IdleCut(_) => "f-slow",
        }
    }
}

/// A stretch of virtual time in one state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Span<T> {
    /// From (inclusive).
    pub from: Millis,
    /// To (exclusive; the end of the run for the last span).
    pub to: Millis,
    /// The state.
    pub what: T,
}

/// The kind of an HA log line, for its mark's shape and colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MarkKind {
    /// A member was lost (drop, deactivation, revocation, login failure, all offline).
    Loss,
    /// A recovery attempt failed (or exhausted its retries).
    AttemptFailed,
    /// A member came back (recovery succeeded, new member, now activated).
    Recovered,
    /// Objects reintroduced to a recovered member.
    Reintroduced,
    /// Anything else (management thread, device type, deprecated lines).
    Info,
}

impl MarkKind {
    /// The CSS class of its mark.
    pub fn class(self) -> &'static str {
        match self {
            MarkKind::Loss => "m-loss",
            MarkKind::AttemptFailed => "m-fail",
            MarkKind::Recovered => "m-ok",
            MarkKind::Reintroduced => "m-reintro",
            MarkKind::Info => "m-info",
        }
    }

    /// Its name in the legend.
    pub fn name(self) -> &'static str {
        match self {
            MarkKind::Loss => "member lost",
            MarkKind::AttemptFailed => "recovery attempt failed",
            MarkKind::Recovered => "recovery attempt succeeded / member joined",
            MarkKind::Reintroduced => "objects reintroduced",
            MarkKind::Info => "other HA log line",
        }
    }
}

/// One HA log line on the timeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogMark {
    /// Its number in the log (from 1).
    pub number: usize,
    /// When it was written.
    pub at: Millis,
    /// The line.
    pub line: String,
    /// Its kind.
    pub kind: MarkKind,
    /// The member row it belongs to (index into [`Timeline::members`]), `None` for the group row.
    pub member: Option<usize>,
}

/// Calls served by a member (or failed) over a stretch of time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallSpan {
    /// First call.
    pub from: Millis,
    /// Last call.
    pub to: Millis,
    /// How many.
    pub count: u64,
    /// What they were (for tooltips), e.g. `Sign(k1)` or `Sign(k1) -> CKR_DEVICE_ERROR`.
    pub what: String,
}

/// A fault armed on a member's nth call (the moment it fires is not recorded).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Armed {
    /// When it was armed.
    pub at: Millis,
    /// What, e.g. `Drop on Sign #2`.
    pub what: String,
}

/// One member's row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberRow {
    /// Its serial.
    pub serial: String,
    /// The engine's view over time, covering the whole run.
    pub states: Vec<Span<State>>,
    /// What was injected, where something was.
    pub injected: Vec<Span<Injected>>,
    /// Faults armed on a later call.
    pub armed: Vec<Armed>,
    /// Calls it served.
    pub calls: Vec<CallSpan>,
}

/// Everything the page draws.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timeline {
    /// The scenario's name.
    pub scenario: String,
    /// Seed, generator, clock start and pid, as the transcript header says them.
    pub seed: u64,
    /// The generator.
    pub generator: String,
    /// Calendar time at virtual 0.
    pub clock_start: String,
    /// The application's pid.
    pub pid: u32,
    /// The last instant of the run (the axis goes a little further, and so do the last spans).
    pub end: Millis,
    /// One row per partition, in slot order.
    pub members: Vec<MemberRow>,
    /// Every HA log line, in order.
    pub marks: Vec<LogMark>,
    /// Application calls that failed.
    pub failures: Vec<CallSpan>,
    /// Every instant something happened (for the time axis).
    pub instants: BTreeSet<Millis>,
}

/// Per-member bookkeeping while walking the record.
struct Walk {
    serials: Vec<String>,
    /// Current engine-view state per member (before standby/promotion is applied).
    base: Vec<State>,
    /// Group label of each member, when in one.
    group: Vec<Option<String>>,
    standby: Vec<bool>,
    running: bool,
    /// Open spans: (from, state) per member.
    open: Vec<(Millis, State)>,
    states: Vec<Vec<Span<State>>>,
    injected_open: Vec<BTreeMap<Injected, Millis>>,
    injected: Vec<Vec<Span<Injected>>>,
}

impl Walk {
    fn index(&self, serial: &str) -> Option<usize> {
        self.serials.iter().position(|s| s == serial)
    }

    /// The shown state of member `i` (standby and promotion applied).
    fn shown(&self, i: usize) -> State {
        let base = self.base[i];
        if base != State::Alive || !self.standby[i] {
            return base;
        }
        let group = &self.group[i];
        let active_alive = (0..self.serials.len()).any(|j| {
            j != i && &self.group[j] == group && !self.standby[j] && self.base[j] == State::Alive
        });
        if active_alive {
            State::Standby
        } else {
            State::Promoted
        }
    }

    /// Closes and reopens spans whose shown state changed at `at`.
    fn settle(&mut self, at: Millis) {
        for i in 0..self.serials.len() {
            let now = self.shown(i);
            let (from, was) = self.open[i];
            if now != was {
                if at > from {
                    self.states[i].push(Span {
                        from,
                        to: at,
                        what: was,
                    });
                    self.open[i] = (at, now);
                } else {
                    // Several changes at one instant: only the last one shows.
                    self.open[i] = (from, now);
                    if let Some(last) = self.states[i].last_mut()
                        && last.to == from
                        && last.what == now
                    {
                        self.open[i] = (last.from, now);
                        self.states[i].pop();
                    }
                }
            }
        }
    }

    fn set(&mut self, i: usize, state: State) {
        self.base[i] = state;
    }

    fn inject(&mut self, at: Millis, i: usize, what: Injected) {
        self.injected_open[i].entry(what).or_insert(at);
    }

    fn lift(&mut self, at: Millis, i: usize, pred: impl Fn(&Injected) -> bool) {
        let lifted: Vec<Injected> = self.injected_open[i]
            .keys()
            .filter(|k| pred(k))
            .cloned()
            .collect();
        for what in lifted {
            if let Some(from) = self.injected_open[i].remove(&what) {
                self.injected[i].push(Span { from, to: at, what });
            }
        }
    }
}

/// Group membership and standby members from the final configuration file, for members no
/// LunaCM command of the run mentions (a scenario's initial `conf`).
fn final_conf(record: &Record) -> (BTreeMap<String, String>, BTreeSet<String>) {
    let mut groups = BTreeMap::new();
    let mut standby = BTreeSet::new();
    let text = record.events.iter().rev().find_map(|s| match &s.event {
        Event::ConfFile { name, text } => Some((name, text)),
        _ => None,
    });
    if let Some((name, text)) = text
        && let Ok(doc) = Document::parse(text, name)
        && let Ok((config, _)) = read_config(&doc)
    {
        for g in &config.groups {
            for m in &g.members {
                groups.insert(m.clone(), g.label.clone());
            }
            standby.extend(g.standby.iter().cloned());
        }
    }
    (groups, standby)
}

/// What a LunaCM command's output says about membership.
enum Membership {
    Joined { serial: String, label: String },
    Left { serial: String },
    GroupDeleted { label: String },
    Standby { serial: String, on: bool },
}

fn membership(output: &str, slots: &[String]) -> Vec<Membership> {
    let mut out = Vec::new();
    for line in output.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("New group with label \"")
            && let Some((label, rest)) = rest.split_once("\" created with group number 1")
        {
            let serial = rest.trim_end_matches('.');
            if slots.iter().any(|s| s == serial) {
                out.push(Membership::Joined {
                    serial: serial.to_string(),
                    label: label.to_string(),
                });
            }
        } else if let Some(rest) = line.strip_prefix("Member ") {
            if let Some((serial, label)) = rest.split_once(" successfully added to group ") {
                out.push(Membership::Joined {
                    serial: serial.to_string(),
                    label: label.trim_end_matches('.').to_string(),
                });
            } else if let Some((serial, _)) = rest.split_once(" successfully removed from group ") {
                out.push(Membership::Left {
                    serial: serial.to_string(),
                });
            } else if let Some((serial, _)) = rest
                .split_once(" was added as a standby member")
                .and_then(|(head, _)| head.split_once(" is a Cloud HSM partition"))
            {
                out.push(Membership::Standby {
                    serial: serial.to_string(),
                    on: true,
                });
            } else if let Some((head, _)) = rest.split_once(" is now a standby member") {
                if let Some((serial, _)) = head.split_once(" of group ") {
                    out.push(Membership::Standby {
                        serial: serial.to_string(),
                        on: true,
                    });
                }
            } else if let Some((head, _)) = rest.split_once(" is now an active member")
                && let Some((serial, _)) = head.split_once(" of group ")
            {
                out.push(Membership::Standby {
                    serial: serial.to_string(),
                    on: false,
                });
            }
        } else if let Some(rest) = line.strip_prefix("Group \"")
            && let Some((label, tail)) = rest.split_once("\" with group number ")
            && tail.contains(" deleted.")
        {
            out.push(Membership::GroupDeleted {
                label: label.to_string(),
            });
        }
    }
    out
}

/// The state a log line moves its member to, if any.
fn transition(message: &HaLogMessage) -> Option<State> {
    Some(match message {
        HaLogMessage::DropMember { .. }
        | HaLogMessage::DropUnrecoverable { .. }
        | HaLogMessage::LoginFailed { .. } => State::Down,
        HaLogMessage::MemberDeactivated { .. } | HaLogMessage::NotActivatedExcluded { .. } => {
            State::Deactivated
        }
        HaLogMessage::MemberRevoked { .. } => State::Revoked,
        HaLogMessage::Recovered { .. } | HaLogMessage::NewMember { .. } => State::Alive,
        _ => return None,
    })
}

fn mark_kind(message: Option<&HaLogMessage>) -> MarkKind {
    match message {
        Some(
            HaLogMessage::DropMember { .. }
            | HaLogMessage::DropUnrecoverable { .. }
            | HaLogMessage::LoginFailed { .. }
            | HaLogMessage::MemberDeactivated { .. }
            | HaLogMessage::NotActivatedExcluded { .. }
            | HaLogMessage::MembersOffline,
        ) => MarkKind::Loss,
        Some(
            HaLogMessage::RecoveryFailed { .. }
            | HaLogMessage::MemberRevoked { .. }
            | HaLogMessage::RecoveryExhausted { .. }
            | HaLogMessage::RecoveryNotActivated { .. }
            | HaLogMessage::Unrecoverable { .. },
        ) => MarkKind::AttemptFailed,
        Some(
            HaLogMessage::Recovered { .. }
            | HaLogMessage::NewMember { .. }
            | HaLogMessage::RecoveryNowActivated { .. }
            | HaLogMessage::MemberNowActivated { .. },
        ) => MarkKind::Recovered,
        Some(HaLogMessage::Reintroducing { .. }) => MarkKind::Reintroduced,
        _ => MarkKind::Info,
    }
}

/// Derives the timeline from a record.
pub fn derive(record: &Record) -> Timeline {
    let serials = record.header.slots.clone();
    let n = serials.len();
    let (conf_groups, conf_standby) = final_conf(record);
    // Members a command of the run adds start outside any group; the others start where the
    // final configuration puts them.
    let mut commanded = BTreeSet::new();
    for s in &record.events {
        if let Event::Command(c) = &s.event {
            for m in membership(&c.output, &serials) {
                match m {
                    Membership::Joined { serial, .. } | Membership::Left { serial } => {
                        commanded.insert(serial);
                    }
                    _ => {}
                }
            }
        }
    }
    let group: Vec<Option<String>> = serials
        .iter()
        .map(|s| {
            if commanded.contains(s) {
                None
            } else {
                conf_groups.get(s).cloned()
            }
        })
        .collect();
    let standby: Vec<bool> = serials
        .iter()
        .map(|s| !commanded.contains(s) && conf_standby.contains(s))
        .collect();
    let base: Vec<State> = group
        .iter()
        .map(|g| {
            if g.is_some() {
                State::Idle
            } else {
                State::NoGroup
            }
        })
        .collect();
    let mut walk = Walk {
        serials: serials.clone(),
        open: base.iter().map(|s| (0, *s)).collect(),
        base,
        group,
        standby,
        running: false,
        states: vec![Vec::new(); n],
        injected_open: vec![BTreeMap::new(); n],
        injected: vec![Vec::new(); n],
    };
    let mut armed: Vec<Vec<Armed>> = vec![Vec::new(); n];
    let mut calls: Vec<Vec<CallSpan>> = vec![Vec::new(); n];
    let mut failures = Vec::new();
    let mut marks = Vec::new();
    let mut instants = BTreeSet::new();
    instants.insert(0);
    let mut end = 0;

    for stamped in &record.events {
        let at = stamped.at;
        end = end.max(at);
        match &stamped.event {
            Event::Command(c) => {
                for m in membership(&c.output, &serials) {
                    match m {
                        Membership::Joined { serial, label } => {
                            if let Some(i) = walk.index(&serial) {
                                walk.group[i] = Some(label);
                                let state = if walk.running {
                                    State::Pending
                                } else {
                                    State::Idle
                                };
                                walk.set(i, state);
                            }
                        }
                        Membership::Left { serial } => {
                            if let Some(i) = walk.index(&serial) {
                                walk.group[i] = None;
                                walk.standby[i] = false;
                                walk.set(i, State::NoGroup);
                            }
                        }
                        Membership::GroupDeleted { label } => {
                            for i in 0..n {
                                if walk.group[i]
                                    .as_deref()
                                    .is_some_and(|g| g.eq_ignore_ascii_case(&label))
                                {
                                    walk.group[i] = None;
                                    walk.standby[i] = false;
                                    walk.set(i, State::NoGroup);
                                }
                            }
                        }
                        Membership::Standby { serial, on } => {
                            if let Some(i) = walk.index(&serial) {
                                walk.standby[i] = on;
                            }
                        }
                    }
                }
                walk.settle(at);
            }
            Event::Call(call) => {
                instants.insert(at);
                if call.op.starts_with("C_Initialize") && call.result == Ckr::CKR_OK {
                    walk.running = true;
                    for i in 0..n {
                        if walk.base[i] == State::Idle {
                            walk.set(i, State::Alive);
                        }
                    }
                } else if call.op == "C_Finalize" && call.result == Ckr::CKR_OK {
                    walk.running = false;
                    for i in 0..n {
                        if walk.group[i].is_some() {
                            walk.set(i, State::Idle);
                        }
                    }
                }
                walk.settle(at);
                let served = match &call.placement {
                    Placement::Created { on, .. } => on.clone(),
                    Placement::On(on) => on.clone(),
                    Placement::Unobserved => Vec::new(),
                };
                for s in served {
                    if let Some(i) = walk.index(&s) {
                        calls[i].push(CallSpan {
                            from: at,
                            to: at,
                            count: 1,
                            what: call.op.clone(),
                        });
                    }
                }
                if call.result != Ckr::CKR_OK {
                    failures.push(CallSpan {
                        from: at,
                        to: at,
                        count: 1,
                        what: format!("{} -> {}", call.op, call.result.name()),
                    });
                }
            }
            Event::Calls(run) => {
                instants.insert(run.first_at);
                instants.insert(run.last_at);
                end = end.max(run.last_at);
                for (s, count) in &run.served {
                    if let Some(i) = walk.index(s) {
                        calls[i].push(CallSpan {
                            from: run.first_at,
                            to: run.last_at,
                            count: *count,
                            what: run.op.clone(),
                        });
                    }
                }
                if run.result != Ckr::CKR_OK {
                    failures.push(CallSpan {
                        from: run.first_at,
                        to: run.last_at,
                        count: run.count,
                        what: format!("{} -> {}", run.op, run.result.name()),
                    });
                }
            }
            Event::ThreadCall(t) => {
                instants.insert(t.finished);
                if let Some(i) = t.members.last().and_then(|s| walk.index(s))
                    && t.result == Ckr::CKR_OK
                {
                    calls[i].push(CallSpan {
                        from: t.finished,
                        to: t.finished,
                        count: 1,
                        what: t.op.clone(),
                    });
                }
                if t.result != Ckr::CKR_OK {
                    failures.push(CallSpan {
                        from: t.finished,
                        to: t.finished,
                        count: 1,
                        what: format!("{} -> {}", t.op, t.result.name()),
                    });
                }
            }
            Event::Fault(f) => {
                let Some(i) = walk.index(&f.member) else {
                    continue;
                };
                let when = match f.timing {
                    FaultTiming::Now | FaultTiming::Fired { .. } => at,
                    FaultTiming::Scheduled(ms) => ms,
                    FaultTiming::Armed { call, nth } => {
                        instants.insert(at);
                        armed[i].push(Armed {
                            at,
                            what: format!("{} on {call} #{nth}", f.action.name()),
                        });
                        continue;
                    }
                };
                instants.insert(when);
                let Action::Fault(fault) = &f.action else {
                    // MemberAdded: the addmember command that follows says the rest.
                    continue;
                };
                match fault {
                    Fault::Drop => walk.inject(when, i, Injected::Unreachable),
                    Fault::Revoke => walk.inject(when, i, Injected::Revoked),
                    Fault::Deactivate => walk.inject(when, i, Injected::Deactivated),
                    Fault::LoginFailure => walk.inject(when, i, Injected::LoginRefused),
                    Fault::LoginRestore => {
                        walk.lift(when, i, |k| matches!(k, Injected::LoginRefused));
                    }
                    Fault::Slow { ms } => {
                        walk.lift(when, i, |k| matches!(k, Injected::Slow(_)));
                        if *ms > 0 {
                            walk.inject(when, i, Injected::Slow(*ms));
                        }
                    }
                    Fault::Hang => walk.inject(when, i, Injected::Hung),
                    Fault::IdleCut { ms } => {
                        walk.lift(when, i, |k| matches!(k, Injected::IdleCut(_)));
                        walk.inject(when, i, Injected::IdleCut(*ms));
                    }
                    // One call's answer lost (the connection goes with it), a busy spell, an
                    // object made outside the group: instants, not bands; the engine's view
                    // shows what followed.
                    Fault::LostAnswer
                    | Fault::Busy { .. }
                    | Fault::DirectModify { .. }
                    | Fault::DirectChange { .. } => {}
                    Fault::Restore => walk.lift(when, i, |k| {
                        matches!(
                            k,
                            Injected::Unreachable
                                | Injected::Revoked
                                | Injected::Slow(_)
                                | Injected::Hung
                                | Injected::IdleCut(_)
                        )
                    }),
                    Fault::Activate => {
                        walk.lift(when, i, |k| matches!(k, Injected::Deactivated));
                    }
                }
            }
            Event::Log(line) => {
                instants.insert(at);
                let parsed = halog::parse_line(line).ok();
                let message = parsed.as_ref().map(|l| &l.message);
                let member = message.and_then(member_of).and_then(|s| walk.index(s));
                if let (Some(i), Some(state)) = (member, message.and_then(transition)) {
                    walk.set(i, state);
                    walk.settle(at);
                }
                marks.push(LogMark {
                    number: marks.len() + 1,
                    at,
                    line: line.clone(),
                    kind: mark_kind(message),
                    member,
                });
            }
            _ => {}
        }
    }
    // A short tail after the last event, so the last state shows.
    let drawn_end = end + (end / 25).max(2000);
    instants.insert(drawn_end);
    walk.settle(end);
    let mut members = Vec::new();
    for (i, serial) in serials.iter().enumerate() {
        let mut states = std::mem::take(&mut walk.states[i]);
        let (from, what) = walk.open[i];
        states.push(Span {
            from,
            to: drawn_end,
            what,
        });
        let mut injected = std::mem::take(&mut walk.injected[i]);
        for (what, from) in std::mem::take(&mut walk.injected_open[i]) {
            injected.push(Span {
                from,
                to: drawn_end,
                what,
            });
        }
        injected.sort_by(|a, b| (a.from, a.to, &a.what).cmp(&(b.from, b.to, &b.what)));
        members.push(MemberRow {
            serial: serial.clone(),
            states,
            injected,
            armed: std::mem::take(&mut armed[i]),
            calls: std::mem::take(&mut calls[i]),
        });
    }
    Timeline {
        scenario: record.header.scenario.clone(),
        seed: record.header.seed,
        generator: record.header.generator.clone(),
        clock_start: record.header.clock_start.clone(),
        pid: record.header.pid,
        end,
        members,
        marks,
        failures,
        instants,
    }
}
