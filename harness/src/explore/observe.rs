//! What the invariant checker reads: the facts of one run, taken from the run record and the
//! world below the `Member` port (faults applied, operator commands, application calls with
//! their results and, for the calls that matter, which members held the object at that instant),
//! never from the engine's tables. The engine's own outputs (HA log lines, command output) are
//! here too, as claims the invariants check.

use std::collections::BTreeMap;

use sim::fault::{CallKind, Fault};
use sim::record::{Action, Event, FaultTiming, Placement, Record, Room};

/// Virtual milliseconds.
pub type Millis = ha_engine::ports::Millis;

/// A fault applied to a member (or an armed fault when it fired).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultObs {
    /// Connection lost.
    Drop,
    /// Connection (and revocation, slowness) undone.
    Restore,
    /// Partition deactivated.
    Deactivate,
    /// Partition activated.
    Activate,
    /// Activation revoked.
    Revoke,
    /// The partition's CO credential changed.
    LoginFailure,
    /// The partition's CO credential set back.
    LoginRestore,
    /// Every call hangs this long.
    Slow(u64),
    /// No call is answered until `Restore` (a drop at the receive timeout, D35).
    Hang,
    /// The next call takes effect and its answer is lost with the connection (D35).
    LostAnswer,
    /// Calls answer `CKR_FUNCTION_FAILED` for this long (not a drop, D3).
    Busy(u64),
    /// A connection idle this long is cut, found at the next call.
    IdleCut(u64),
    /// An object created on the partition outside the group (B21, B22), with its label.
    DirectModify(String),
    /// The value of the partition's token data object with this label was changed outside
    /// the group (B21, B22, D64); only a change that was made is observed (D79).
    DirectChange(String),
    /// The operator added the partition to the group.
    MemberAdded,
}

/// What an application call was, as far as the invariants care.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OpObs {
    /// `C_Initialize`.
    Initialize,
    /// `C_Finalize`.
    Finalize,
    /// `C_OpenSession`.
    OpenSession,
    /// `C_CloseSession`.
    CloseSession,
    /// `C_Login`.
    Login,
    /// `C_Logout`.
    Logout,
    /// A key generation or data object creation through the virtual slot.
    Create {
        /// Label.
        label: String,
        /// Token (persistent) object.
        token: bool,
        /// A key pair (two objects under one label).
        pair: bool,
    },
    /// `C_DestroyObject`.
    Destroy {
        /// Label.
        label: String,
    },
    /// A single-part sign or encrypt (possibly several calls in a row).
    Crypto {
        /// Key label.
        label: String,
    },
    /// `C_SignInit`.
    SignInit {
        /// Key label.
        label: String,
    },
    /// `C_SignUpdate` / `C_SignFinal`.
    SignContinue,
    /// `C_FindObjects` of a profile's re-find (a `HandleKept` after it says it found nothing).
    Find {
        /// Label.
        label: String,
    },
    /// A write straight to a member's physical slot (B21).
    Direct {
        /// The member.
        member: String,
        /// Label.
        label: String,
    },
    /// Anything else (slot list, object count).
    Other,
}

/// One application call (or a run of identical ones).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppObs {
    /// What it was.
    pub op: OpObs,
    /// The `CKR_*` name the application got.
    pub result: String,
    /// How many identical calls this stands for.
    pub count: u64,
    /// Members that served it (in order, several after a re-dispatch).
    pub served_by: Vec<String>,
    /// Members holding the call's object at that instant, read below the port; recorded for
    /// failed calls and for calls a standby served.
    pub holders: Option<Vec<String>>,
    /// A sign or encrypt of a `Threads` step, seen when its answer came: when its thread issued
    /// it (the login it needed was checked then, D60).
    pub issued: Option<Millis>,
    /// When the engine chose the member(s) for a call a standby served or that failed, if the
    /// runner knew it (the witness's issue time): the call was issued then, and a member that
    /// came into service while it was under way was no choice the engine had (I5, D99).
    pub chosen_at: Option<Millis>,
    /// A sign or encrypt of a `Threads` step: when the member call that answered was sent,
    /// the instant the member did the work with the login it held then (I7, D100).
    pub executed: Option<Millis>,
    /// Made on a thread's own session (a `Threads` step, D60), not on the handle the
    /// application's own calls use.
    pub thread: bool,
}

/// One fact of the run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Happening {
    /// A fault.
    Fault {
        /// The member.
        member: String,
        /// Which.
        fault: FaultObs,
    },
    /// A LunaCM command line and its output.
    Command {
        /// The line.
        line: String,
        /// The output.
        output: String,
    },
    /// An application call.
    App(AppObs),
    /// An HA log line (the engine's claim).
    Log(String),
    /// A call of the engine that the member failed with a code that drops a member (D3), read
    /// in the injector, at the instant of the engine call.
    Failed {
        /// The member.
        member: String,
        /// The call, e.g. `Sign`.
        call: String,
        /// The `CKR_*` name.
        code: String,
        /// The instant of the engine call that got it (the happening's own instant is where
        /// that call's HA log lines were recorded).
        called_at: Millis,
    },
    /// The recovery thread ran a timer at the happening's instant and was busy with its member
    /// calls until `until` (the simulation's time policy): an attempt due meanwhile runs then.
    RecoveryBusy {
        /// When it was free again.
        until: Millis,
    },
    /// The application's slot list (`C_GetSlotList`), one rendered line per slot.
    SlotList(Vec<String>),
    /// An armed fault (`OnCall`) went off on the member's call of this kind, made by the engine
    /// call recorded next; the fault itself follows at once. Read in the injector.
    SetOff {
        /// The member.
        member: String,
        /// The kind of the member call that set it off, e.g. `GenerateKey`.
        call: String,
        /// Which call of that kind on the member it was, counted from the arming (from 1).
        nth: u32,
        /// When the fault was armed (D104).
        armed_at: Millis,
    },
    /// A lost answer went off on the member's creating call (`GenerateKey`, `CreateData`): the
    /// creation took effect there and its answer never came back, so the member holds an
    /// orphan (D37). Read in the injector; recorded before the application call it cut.
    CreationLost {
        /// The member.
        member: String,
    },
    /// The engine reported that it found and destroyed an orphan (D37): its claim.
    Orphan {
        /// The member that held it.
        member: String,
        /// Its label.
        label: String,
    },
    /// An application profile re-found `label` after an error, found nothing and kept the
    /// handle it had (`runner::HANDLE_KEPT`): after a restart it may name another object (D69).
    HandleKept {
        /// The label.
        label: String,
    },
    /// Each partition's storage room right before a checkpoint (B14, D106), read below the
    /// injectors: what a copy refused for want of room left.
    Rooms(BTreeMap<String, Room>),
    /// A checkpoint: the token objects each member holds (below the port), as `label/class`.
    Checkpoint {
        /// The label.
        label: String,
        /// Per member, sorted.
        objects: BTreeMap<String, Vec<String>>,
        /// Per member, its token data objects as `(label, fingerprint)`, sorted.
        contents: BTreeMap<String, Vec<(String, String)>>,
    },
    /// A `DirectChange` was made (D64): every partition's copies of the object right after
    /// it, as `(partition, fingerprint)`, read below the injectors.
    Changed {
        /// The partition changed outside the group.
        member: String,
        /// The data object's label.
        label: String,
        /// Every copy then.
        copies: Vec<(String, String)>,
    },
}

/// The group's settings at the start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// Retry count (-1 unlimited).
    pub retry: i32,
    /// Interval, seconds.
    pub interval: u32,
    /// `activeBasic` (false) or `activeEnhanced` (true).
    pub enhanced: bool,
    /// `failover_on_deactivation`.
    pub failover_on_deactivation: bool,
    /// `HASynchronize` for the group.
    pub synchronize: bool,
    /// `HAOnly`: the application sees the virtual slots alone (B57).
    pub ha_only: bool,
    /// The application keeps the slot id it saw first (the naive profile, issue 12): when
    /// slots renumber (D14) its calls reach another slot, its own mistake.
    pub naive_slot: bool,
}

/// Everything the checker reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Observations {
    /// Group members at the start, in order.
    pub members: Vec<String>,
    /// Standby members at the start.
    pub standby: Vec<String>,
    /// Settings at the start.
    pub settings: Settings,
    /// The facts, in order, with their virtual time.
    pub events: Vec<(Millis, Happening)>,
    /// Seconds from 1970-01-01 to virtual instant 0 on the HA log's clock (the scenario's
    /// `clock.start`), to read each line's own instant from its prefix; `None`: unknown.
    pub log_start: Option<i64>,
}

impl Observations {
    /// The observations of a generated plan's run, from its record.
    pub fn of(plan: &super::plan::Plan, record: &Record) -> Observations {
        // At most one fact per event, and most events are one: no regrowth on the way.
        let mut events: Vec<(Millis, Happening)> = Vec::with_capacity(record.events.len());
        // Armed faults not gone off yet: (member, kind, nth, when armed).
        let mut armed: Vec<(String, CallKind, u32, Millis)> = Vec::new();
        for stamped in &record.events {
            let at = stamped.at;
            match &stamped.event {
                Event::Command(c) => events.push((
                    at,
                    Happening::Command {
                        line: c.line.clone(),
                        output: c.output.clone(),
                    },
                )),
                Event::Call(call) => {
                    let served_by = served_by(&call.placement);
                    events.push((
                        at,
                        Happening::App(AppObs {
                            op: op_of(&call.op),
                            result: call.result.name(),
                            count: 1,
                            served_by,
                            holders: None,
                            issued: None,
                            chosen_at: None,
                            executed: None,
                            // A thread's session the application failed to open for it.
                            thread: call.op.contains("(thread "),
                        }),
                    ));
                }
                Event::Calls(run) => events.push((
                    run.first_at,
                    Happening::App(AppObs {
                        op: op_of(&run.op),
                        result: run.result.name(),
                        count: run.count,
                        served_by: run.served.keys().cloned().collect(),
                        holders: None,
                        issued: None,
                        chosen_at: None,
                        executed: None,
                        thread: false,
                    }),
                )),
                // A runner call (open, login, generate, ...) takes effect when the thread
                // issues it: seen where it was made (its witness), in the order of the run; a
                // sign or encrypt when its answer comes (D60).
                Event::ThreadCall(call) if call.placement.is_some() => {}
                Event::ThreadCall(call) | Event::RunnerCallMade(call) => events.push((
                    if call.placement.is_some() {
                        call.started
                    } else {
                        call.finished
                    },
                    Happening::App(AppObs {
                        op: op_of(&call.op),
                        result: call.result.name(),
                        count: 1,
                        served_by: match &call.placement {
                            Some(placement) => served_by(placement),
                            None => call.members.clone(),
                        },
                        holders: None,
                        issued: call.placement.is_none().then_some(call.started),
                        chosen_at: None,
                        executed: call.sent,
                        thread: true,
                    }),
                )),
                // The application opens each thread's own session before a `Threads` step and
                // closes it after; the session count decides when a close logs out.
                Event::ThreadSession { opened } => events.push((
                    at,
                    Happening::App(AppObs {
                        op: if *opened {
                            OpObs::OpenSession
                        } else {
                            OpObs::CloseSession
                        },
                        result: "CKR_OK".to_string(),
                        count: 1,
                        served_by: Vec::new(),
                        holders: None,
                        issued: None,
                        chosen_at: None,
                        executed: None,
                        thread: true,
                    }),
                )),
                Event::Fault(f) => {
                    let when = match f.timing {
                        FaultTiming::Now | FaultTiming::Fired { .. } => Some(at),
                        // A fault scheduled inside a `Threads` step is seen where it struck
                        // (`Event::ScheduledFaultApplied`), not where it was scheduled: the
                        // seed orders it among the threads' events of the same instant
                        // (scenario language, `Threads`), and the engine met it in that order (D94).
                        FaultTiming::Scheduled(_) | FaultTiming::Armed { .. } => None,
                    };
                    // `MemberAdded` is an operator action: the group changes only when its
                    // `hagroup addmember` succeeds, which the command's own event says.
                    if matches!(f.action, Action::MemberAdded) {
                        continue;
                    }
                    if let FaultTiming::Armed { call, nth } = &f.timing {
                        armed.push((f.member.clone(), *call, *nth, at));
                    }
                    if let FaultTiming::Fired { call, nth } = &f.timing {
                        let found = armed
                            .iter()
                            .position(|(m, c, n, _)| *m == f.member && c == call && n == nth);
                        let armed_at = found.map_or(at, |i| armed.remove(i).3);
                        events.push((
                            at,
                            Happening::SetOff {
                                member: f.member.clone(),
                                call: format!("{call:?}"),
                                nth: *nth,
                                armed_at,
                            },
                        ));
                    }
                    if let Some(when) = when {
                        events.push((
                            when,
                            Happening::Fault {
                                member: f.member.clone(),
                                fault: fault_of(&f.action),
                            },
                        ));
                    }
                }
                // A lost answer cut a creating call that took effect on the member, which now
                // holds an orphan (D37). Read where the answer was lost, not where the fault
                // was armed or fired: a member that refused the call (deactivated, busy, ...)
                // made nothing, and a lost answer a refusal left pending cuts a later call.
                Event::AnswerLost {
                    member,
                    call: CallKind::GenerateKey | CallKind::CreateData,
                    took_effect: true,
                } => events.push((
                    at,
                    Happening::CreationLost {
                        member: member.clone(),
                    },
                )),
                Event::ScheduledFaultApplied { member, action } => events.push((
                    at,
                    Happening::Fault {
                        member: member.clone(),
                        fault: fault_of(action),
                    },
                )),
                Event::React(react) => {
                    if let Some(label) = react.text.strip_suffix(crate::runner::HANDLE_KEPT) {
                        events.push((
                            at,
                            Happening::HandleKept {
                                label: label.to_string(),
                            },
                        ));
                    }
                }
                Event::Log(line) => events.push((at, Happening::Log(line.clone()))),
                Event::SlotList(slots) => events.push((at, Happening::SlotList(slots.clone()))),
                Event::Orphan { member, label, .. } => events.push((
                    at,
                    Happening::Orphan {
                        member: member.clone(),
                        label: label.clone(),
                    },
                )),
                Event::MemberFailed {
                    member,
                    call,
                    code,
                    called_at,
                } => events.push((
                    at,
                    Happening::Failed {
                        member: member.clone(),
                        call: format!("{call:?}"),
                        code: code.name(),
                        called_at: *called_at,
                    },
                )),
                Event::RecoveryBusy { from, until } => {
                    events.push((*from, Happening::RecoveryBusy { until: *until }));
                }
                Event::Holdings {
                    label,
                    objects,
                    contents,
                    rooms,
                } => {
                    events.push((at, Happening::Rooms(rooms.clone())));
                    events.push((
                        at,
                        Happening::Checkpoint {
                            label: label.clone(),
                            objects: objects.clone(),
                            contents: contents.clone(),
                        },
                    ));
                }
                Event::Changed {
                    member,
                    label,
                    copies,
                } => events.push((
                    at,
                    Happening::Changed {
                        member: member.clone(),
                        label: label.clone(),
                        copies: copies.clone(),
                    },
                )),
                Event::Holders {
                    label,
                    members,
                    issued,
                } => {
                    // The witness of the call just recorded on `label`.
                    let last = events.iter_mut().rev().find_map(|(_, h)| match h {
                        Happening::App(app) => Some(app),
                        _ => None,
                    });
                    if let Some(app) = last
                        && op_label(&app.op) == Some(label.as_str())
                    {
                        app.holders = Some(members.clone());
                        app.chosen_at = *issued;
                    }
                }
                _ => {}
            }
        }
        // Some facts are recorded after later ones (a recovery run's busy span at its start, a
        // thread's call where it was issued): put every fact at its own instant (a stable sort
        // keeps the order of simultaneous ones).
        events.sort_by_key(|(at, _)| *at);
        Observations {
            members: plan.members.clone(),
            standby: plan.standby.clone(),
            settings: Settings {
                retry: plan.retry,
                interval: plan.interval,
                enhanced: plan.mode == super::options::Mode::Enhanced,
                failover_on_deactivation: plan.failover_on_deactivation,
                synchronize: plan.synchronize,
                ha_only: plan.ha_only,
                naive_slot: plan.options.profile == Some(super::options::AppProfile::Naive),
            },
            events,
            // A generated plan runs on the default clock (`direct.rs`).
            log_start: sim::clock::parse_civil(&crate::scenario::ClockSpec::default().start)
                .ok()
                .map(|t| sim::clock::seconds_since_epoch(&t)),
        }
    }
}

/// The members a call's placement names: where it was created and cloned to, or served.
fn served_by(placement: &Placement) -> Vec<String> {
    match placement {
        Placement::Created { on, cloned_to } => {
            on.iter().chain(cloned_to.iter()).cloned().collect()
        }
        Placement::On(members) => members.clone(),
        Placement::Unobserved => Vec::new(),
    }
}

fn fault_of(action: &Action) -> FaultObs {
    match action {
        Action::MemberAdded => FaultObs::MemberAdded,
        Action::Fault(f) => match f {
            Fault::Drop => FaultObs::Drop,
            Fault::Restore => FaultObs::Restore,
            Fault::Deactivate => FaultObs::Deactivate,
            Fault::Activate => FaultObs::Activate,
            Fault::Revoke => FaultObs::Revoke,
            Fault::LoginFailure => FaultObs::LoginFailure,
            Fault::LoginRestore => FaultObs::LoginRestore,
            Fault::Slow { ms } => FaultObs::Slow(*ms),
            Fault::Hang => FaultObs::Hang,
            Fault::LostAnswer => FaultObs::LostAnswer,
            Fault::Busy { ms } => FaultObs::Busy(*ms),
            Fault::IdleCut { ms } => FaultObs::IdleCut(*ms),
            // Another application's writes outside the group; the truth model follows
            // neither (an object's contents are not its reachability).
            Fault::DirectModify { label } => FaultObs::DirectModify(label.clone()),
            Fault::DirectChange { label, .. } => FaultObs::DirectChange(label.clone()),
        },
    }
}

/// The object an operation names.
fn op_label(op: &OpObs) -> Option<&str> {
    match op {
        OpObs::Crypto { label } | OpObs::SignInit { label } | OpObs::Destroy { label } => {
            Some(label)
        }
        _ => None,
    }
}

/// The first two arguments inside `Name(a, b, ...)` (the only ones read), without collecting.
fn args(op: &str) -> [Option<&str>; 2] {
    let Some(inner) = op
        .split_once('(')
        .and_then(|(_, rest)| rest.strip_suffix(')'))
    else {
        return [None, None];
    };
    // `inner.split(", ")`'s first two parts, without building a substring searcher per call.
    let (first, rest) = comma_split(inner);
    [Some(first), rest.map(|r| comma_split(r).0)]
}

/// `text` up to its first `", "`, and what follows it (none without one).
fn comma_split(text: &str) -> (&str, Option<&str>) {
    // Each comma, then the byte after it (a byte search, not a two-byte window per byte).
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(j) = bytes[from..].iter().position(|&b| b == b',') {
        let i = from + j;
        if bytes.get(i + 1) == Some(&b' ') {
            return (&text[..i], Some(&text[i + 2..]));
        }
        from = i + 1;
    }
    (text, None)
}

/// What an application call of the record was (its transcript name, e.g. `Sign(k1)`).
fn op_of(op: &str) -> OpObs {
    // Up to the first `(` or space (a byte search: both are ASCII).
    let name = &op[..op
        .bytes()
        .position(|b| b == b'(' || b == b' ')
        .unwrap_or(op.len())];
    let a = args(op);
    let arg = |i: usize| a[i].map(str::to_string).unwrap_or_default();
    match name {
        "C_Initialize" => OpObs::Initialize,
        "C_Finalize" => OpObs::Finalize,
        "C_OpenSession" => OpObs::OpenSession,
        "C_CloseSession" => OpObs::CloseSession,
        "C_Login" => OpObs::Login,
        "C_Logout" => OpObs::Logout,
        "GenerateKey" | "GenerateSessionKey" => OpObs::Create {
            label: arg(0),
            token: name == "GenerateKey",
            pair: matches!(a[1], Some("Rsa2048" | "EcP256")),
        },
        "CreateData" => OpObs::Create {
            label: arg(0),
            token: true,
            pair: false,
        },
        "Destroy" | "DestroyPair" => OpObs::Destroy { label: arg(0) },
        "Sign" | "Encrypt" => OpObs::Crypto { label: arg(0) },
        "C_SignInit" => OpObs::SignInit { label: arg(0) },
        "C_SignUpdate" | "C_SignFinal" => OpObs::SignContinue,
        "C_FindObjects" => OpObs::Find { label: arg(0) },
        "GenerateKeyOnSlot" => OpObs::Direct {
            member: arg(0),
            label: arg(1),
        },
        _ => OpObs::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::explore::generate::generate;
    use sim::record::{FaultEvent, Stamped};

    #[test]
    fn args_are_the_first_two_comma_separated_parts() {
        for op in [
            "Sign(k1)",
            "GenerateKey(k1, Rsa2048)",
            "GenerateKeyOnSlot(B, k2, Aes256, x)",
            "C_Login",
            "X()",
            "X(, )",
            "X(a,b, c)",
            "X(a, , b)",
            "X(a, b",
            "X(a,)",
            "X(,)",
            "X(a,,, b, c)",
            "X(a ,b,  c, d)",
            "X(é, ü,)",
        ] {
            let expected = op
                .split_once('(')
                .and_then(|(_, rest)| rest.strip_suffix(')'))
                .map_or([None, None], |inner| {
                    let mut parts = inner.split(", ");
                    [parts.next(), parts.next()]
                });
            assert_eq!(args(op), expected, "{op}");
        }
    }

    #[test]
    fn op_names_end_at_the_first_parenthesis_or_space() {
        let label = |l: &str| l.to_string();
        for (op, expected) in [
            ("C_Login", OpObs::Login),
            ("C_Initialize (implicit)", OpObs::Initialize),
            ("C_OpenSession(slot 1)", OpObs::OpenSession),
            ("Sign(k1)", OpObs::Crypto { label: label("k1") }),
            (
                "GenerateKey(k1, Rsa2048)",
                OpObs::Create {
                    label: label("k1"),
                    token: true,
                    pair: true,
                },
            ),
            (
                "GenerateSessionKey(k2, Aes256)",
                OpObs::Create {
                    label: label("k2"),
                    token: false,
                    pair: false,
                },
            ),
            (
                "GenerateKeyOnSlot(B, k2, Aes256, x)",
                OpObs::Direct {
                    member: label("B"),
                    label: label("k2"),
                },
            ),
            ("T1: Sign(k1)", OpObs::Other),
            ("Sign", OpObs::Crypto { label: label("") }),
            ("", OpObs::Other),
        ] {
            assert_eq!(op_of(op), expected, "{op}");
        }
    }

    const LINE: &str = "Wed Oct  4 16:43:00 2017 : [17469] HA group: 11500000000001 recovery attempt 1 succeeded for member: B";

    fn record(events: Vec<Event>) -> Record {
        Record {
            events: events
                .into_iter()
                .map(|event| Stamped { at: 819_000, event })
                .collect(),
            ..Record::default()
        }
    }

    /// The positions of the attempt's line and of B's fault among the observed facts, and how
    /// many faults there are.
    fn order(events: Vec<Event>) -> (Option<usize>, Option<usize>, usize) {
        let obs = Observations::of(&generate(1), &record(events));
        let line = obs
            .events
            .iter()
            .position(|(_, h)| matches!(h, Happening::Log(l) if l == LINE));
        let faults: Vec<usize> = obs
            .events
            .iter()
            .enumerate()
            .filter(|(_, (_, h))| matches!(h, Happening::Fault { member, .. } if member == "B"))
            .map(|(i, _)| i)
            .collect();
        (line, faults.first().copied(), faults.len())
    }

    #[test]
    fn a_fault_scheduled_inside_threads_is_seen_where_it_struck() {
        // A `Threads` step schedules a drop of B at the instant its thread's call drives B's
        // manual recovery; the seed's tie-break decides which comes first (scenario language,
        // `Threads`). The rendered fault line stands where it was scheduled, before both.
        let scheduled = Event::Fault(FaultEvent {
            member: "B".into(),
            action: Action::Fault(Fault::Drop),
            timing: FaultTiming::Scheduled(819_000),
        });
        let applied = Event::ScheduledFaultApplied {
            member: "B".into(),
            action: Action::Fault(Fault::Drop),
        };
        let line = Event::Log(LINE.into());
        // The call first: the attempt met B reachable, the drop came after it.
        assert_eq!(
            order(vec![scheduled.clone(), line.clone(), applied.clone()]),
            (Some(0), Some(1), 1)
        );
        // The drop first: the attempt met B unreachable.
        assert_eq!(order(vec![scheduled, applied, line]), (Some(1), Some(0), 1));
    }
}
