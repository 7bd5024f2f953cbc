//! The invariant checker. It reads a run's [`Observations`] (faults and commands as applied,
//! application calls and their results, what members held below the port) and compares the
//! engine's outputs (application results, HA log lines, `listgroups`) with what the spec's rules
//! require. Which members were reachable when comes from [`Truth`], never from the engine.
//!
//! - **I0** a generated scenario runs to its end.
//! - **I1** nothing lost, nothing duplicated: at the final checkpoint every usable member holds
//!   the same objects, equal to what the application created and did not destroy (plus direct
//!   writes made everyone's by `synchronize`, B21, D8), each once; the orphan of a creation
//!   whose answer was lost is reported when its member is back (D37, issue 12). What a restart
//!   forgot (tombstones of deletions a member missed or refused, of orphans not yet found) may
//!   come back through `synchronize` (D20, D8, D49): such labels are uncertain.
//! - **I2** no operation fails while a usable member held its object (or, for a creation, while
//!   a usable member existed), except D3 (codes that are the caller's), D5 (multi-part cut by a
//!   drop), D11 and D25 (activeBasic total loss: the sessions open then, not a thread's opened
//!   since, see [`sessions`]), D17 (`failover_on_deactivation = 0`: one call), D18 (refused
//!   clone), D85 (a handle to an object the operator cleared, see [`cleared`]).
//! - **I3** log ↔ events: every engine call a member failed with a drop code (D3; the injector's
//!   member-side record, not the engine's) has its `has dropped member` line when the engine
//!   gets the answer, and every such line answers a failed call or names a member that was
//!   unreachable (or deactivated) from the faults as applied (D19; teardown calls drop nothing,
//!   D40); recovery lines follow D9 (numbering from 1 per outage, the first one interval after
//!   the failed call, each later one interval after the previous, never past the retry count,
//!   `exceeded maximum` only once the count is reached, no attempt for a member the log says is
//!   back); `all members gone offline.` only when no usable member is left (B53).
//! - **I4** `Needs sync` agrees with the members' object sets (D8).
//! - **I5** a standby member serves nothing while an active member holding the key is usable
//!   (B35, D12, D26).
//! - **I6** liveness: after the heal, every member that can recover by itself is back (the log
//!   says so) within its bound, unless its attempt waits for a busy recovery thread (D83, D113).
//! - **I7** security: no signature or encryption succeeds while the application holds no login.
//! - **I10** an object changed outside the group stays changed (B22, D64): see [`contents`].

mod admin;
mod cleared;
mod contents;
mod sessions;
mod stale;
mod tombstones;

use std::collections::{BTreeMap, BTreeSet};

use super::observe::{AppObs, Happening, Millis, Observations, OpObs};
use super::truth::Truth;

/// A broken invariant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// `I0`..`I7`.
    pub invariant: &'static str,
    /// What broke it, in one line.
    pub detail: String,
    /// Scenario expectations stating what the invariant requires of this run (written into a
    /// shrunk regression file, so it fails until the bug is fixed).
    pub expect: Vec<String>,
    /// How the application's failures should differ from what the run saw (`CKR_*` name,
    /// change in count): a regression file's `AppErrors` is the run's, adjusted by these.
    pub errors: Vec<(String, i64)>,
}

fn violation(invariant: &'static str, detail: String) -> Violation {
    Violation {
        invariant,
        detail,
        expect: Vec::new(),
        errors: Vec::new(),
    }
}

/// Codes that say "the engine could not serve this": the ones I2 holds the engine to.
const SERVICE_CODES: [&str; 8] = [
    "CKR_DEVICE_ERROR",
    "CKR_DEVICE_REMOVED",
    "CKR_TOKEN_NOT_PRESENT",
    "CKR_OBJECT_HANDLE_INVALID",
    "CKR_SESSION_HANDLE_INVALID",
    "CKR_USER_NOT_LOGGED_IN",
    "CKR_TOKEN_NOT_RECOGNIZED",
    "CKR_PIN_INCORRECT",
];

/// Member calls whose failure drops nothing (D40): the teardown of a session the application
/// gave up (`C_CloseSession`, `C_Logout`, `C_Finalize`); its answer is of no use, and the
/// next call that needs the member finds it gone (D19).
const TEARDOWN_CALLS: [&str; 2] = ["CloseSession", "Logout"];

/// The client's receive timeout (B28), the slack of instants around a call to a hung member.
const RECEIVE_TIMEOUT_MS: Millis = 20_000;

/// Where a member stands according to the HA log (the engine's claims).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Claimed {
    /// Serving (never dropped, or its recovery succeeded).
    Back,
    /// Dropped; `attempts` recovery attempts logged since, the last at `last`.
    Down {
        attempts: u64,
        last: Millis,
        /// A manual recovery was requested since the last attempt (its timing is free).
        manual: bool,
    },
    /// Attempts exhausted (`exceeded maximum ...`) or login failed: only manual recovery.
    Stopped,
}

impl Claimed {
    /// Down since `at`, with `attempts` recovery attempts logged (none manual).
    fn down(attempts: u64, at: Millis) -> Claimed {
        Claimed::Down {
            attempts,
            last: at,
            manual: false,
        }
    }
}

struct Checker<'a> {
    obs: &'a Observations,
    truth: Truth,
    claims: BTreeMap<String, Claimed>,
    /// Labels the application created (token objects) and not destroyed: label → pair.
    created: BTreeMap<String, bool>,
    /// Labels whose fate the application cannot know (a destroy or creation that failed, a
    /// deletion an application restart forgot, D20).
    uncertain: BTreeSet<String>,
    /// Direct writes (B21): label → member.
    direct: BTreeMap<String, String>,
    /// Direct writes answered with a transport failure (D35 `LostAnswer`): they may have
    /// been executed, and then `synchronize` copies them like any direct write (B21, D106).
    direct_maybe: BTreeSet<String>,
    /// Each partition's storage room at the last checkpoint (B14, D106).
    rooms: BTreeMap<String, sim::record::Room>,
    /// Deactivations that may still give one `CKR_USER_NOT_LOGGED_IN` (D17, fod = 0).
    deactivation_excuses: u64,
    /// The application's session handles: invalidated by an activeBasic total loss (D11,
    /// D25), closed, or held (its own and its threads', D60).
    handles: sessions::Handles,
    /// A destroy happened while some member was not usable (its tombstone lives in this
    /// process only, D20).
    pending_tombstones: BTreeSet<String>,
    /// Destroyed labels a member may still hold, until it is compared with the engine's table
    /// (a `synchronize` meanwhile may copy them back, D8, D22).
    tombstone_risk: tombstones::TombstoneRisk,
    /// `C_Finalize`s so far, and the one before which each label's handle was made (D69).
    processes: u64,
    born: BTreeMap<String, u64>,
    /// Labels whose handle, kept across a restart, may name another object (D69).
    stale: BTreeSet<String>,
    /// The application's open sessions (the login lives while one is open).
    sessions: u64,
    /// Login epochs: incremented each time the application loses its login; a handle made in
    /// an earlier epoch may be stale (private objects' handles do not survive a logout).
    epoch: u64,
    /// The epoch each label's handle was made in.
    made_in: BTreeMap<String, u64>,
    /// Calls that failed with a drop code (D3) on a member the log says is in service, not yet
    /// answered by its `has dropped member` line (D19): member → the failure, and the instant
    /// its engine call's log lines were recorded.
    unnoticed: BTreeMap<String, Unnoticed>,
    /// Each member's last failed call (D3), whatever the log said of it then: (instant of the
    /// engine call, instant its log lines were recorded).
    last_failure: BTreeMap<String, (Millis, Millis)>,
    /// When the log last took each member out of service.
    down_since: BTreeMap<String, Millis>,
    /// The stamp of the line that last took each member out of service: when the engine
    /// detected the outage (D19), which attempt 1 counts from (D9).
    detected_stamp: BTreeMap<String, Millis>,
    /// When the HA log last named each member (D104): a recovery line, a drop.
    named_at: BTreeMap<String, Millis>,
    /// Partitions declared outside the group at the start (I8 lists them).
    spares: Vec<String>,
    /// Token objects created since the application last initialised (the table of this
    /// process, D20), for I1 at the `reconciled` checkpoint.
    created_here: BTreeSet<String>,
    /// A LunaCM `partition clear` succeeded: what the application made may be gone.
    cleared: bool,
    /// The last `hagroup synchronize` reported copies it could not make (B14, D91): the
    /// direct writes it should have made everyone's (B21, D8) may be held by some members only.
    sync_incomplete: bool,
    /// The application's handles a `partition clear` killed (D85).
    cleared_handles: cleared::ClearedHandles,
    /// Labels the application destroyed (a partition added back with `-answer copy` may bring
    /// them back, B12, D8).
    destroyed: BTreeSet<String>,
    /// The token object the last application call created (whatever its result): a member
    /// failure recorded after it (failures are recorded after their call) may have cut it.
    last_creation: Option<String>,
    /// Creations cut short on a member (a drop code during the creation: a lost answer, D37,
    /// or a primary lost during replication, D18): label → members that may hold an orphan the
    /// engine's table tombstones until they are compared with it again.
    orphan_risk: BTreeMap<String, BTreeSet<String>>,
    /// Members in service whose connection a direct write's transport failure cut (D109): the
    /// engine's sessions there are dead until its next call finds them (D19), so a login
    /// before that compares nothing there. Cleared when the engine finds it.
    direct_cut: BTreeSet<String>,
    /// The risks the current application call added (label, member) → the instant of the
    /// engine call that failed: a recovery line of the same call recorded after the failure
    /// may tell of an attempt that ran before it (B45: at the call's start), which compared
    /// nothing made later (seed 4847).
    cut_in_call: BTreeMap<(String, String), Millis>,
    /// A lost answer went off on this member's creating call, for the next application call.
    creation_lost: Option<String>,
    /// Orphans this process must report when it finds them (D37): (label, member) of token
    /// creations whose answer was lost on the member after the creation took effect there.
    orphans: BTreeSet<(String, String)>,
    /// Orphans the engine reported: (label, member).
    reported: BTreeSet<(String, String)>,
    /// The instant the last application call began, until an operator command or checkpoint:
    /// the HA log lines its engine call wrote are recorded when it returns (after its member
    /// calls' time), so a line may be that call's although recorded later.
    call_start: Option<Millis>,
    /// Armed faults set off since the last application call was recorded: they belong to the
    /// call recorded next (a set-off fault is recorded before the call it interrupted).
    set_off_pending: Vec<SetOff>,
    /// The armed faults the last application call set off, until an operator command or
    /// checkpoint (with D111, those of every thread session opened in its instant).
    set_off_by_call: Vec<SetOff>,
    /// D111: the instant of the last application call when it opened a thread's session
    /// before a `Threads` step and no HA log line has been recorded since.
    thread_opens_at: Option<Millis>,
    /// The member the last `detected new member` line named, and when (D24).
    new_member: Option<(String, Millis)>,
    /// D113: members a `hagroup recover` made due for an attempt, and the instant of the first
    /// such request since their last attempt line, while no application call has come since
    /// (the call that would drive it, B45).
    recover_undriven: BTreeMap<String, Millis>,
    /// Members added at run time (`hagroup addmember`) that the log has neither detected nor
    /// dropped yet: not in service (B54, D24), so not back from a total loss (D25).
    undetected: BTreeSet<String>,
    /// Every label that was ever at risk of an orphan (a creation cut short, D37, D18): the
    /// engine may destroy a copy of it by rule, so I10 does not follow its contents.
    orphan_labels: BTreeSet<String>,
    /// I10: the copies of objects changed outside the group and their contents.
    contents: contents::Contents,
}

/// An armed fault an application call set off on a member, and the member as it was just
/// before.
#[derive(Clone, Debug)]
struct SetOff {
    member: String,
    /// The kind of member call that set it off (`sim`'s `CallKind` name).
    call: String,
    /// Reachable then.
    reachable: bool,
    /// The group's credential logged in there then.
    credential_ok: bool,
    /// D104: a `Login` that came after another on the member since the fault was armed, the
    /// member out of service all along with no attempt line since: the first of them was the
    /// attempt's one login (B43), so this one is the call's own.
    login_after_attempts: bool,
}

/// Member calls a recovery attempt never makes on the member it brings back (B43, D9: probe,
/// activation, reconnect, log in, compare with the table and clone into it): a fault set off by
/// one of them was set off by the application call's own work. An attempt clones only into the
/// member it brings back, so it never exports a clone from it (D103): an `ExportClone` there is
/// the call's own replication from it.
const NOT_AN_ATTEMPTS_CALL: &[&str] = &[
    "ExportClone",
    "GenerateKey",
    "CreateData",
    "Sign",
    "Encrypt",
    "SignMultipart",
    "SetValue",
];

/// The member calls an attempt makes while the application holds no login: probe, activation,
/// clean-up of the old connection and a new session (decisions: "Recovery while the application
/// holds no login"; D98). No login, comparison or clone: those wait for the application's login.
const RECONNECT_CALLS: &[&str] = &["TokenInfo", "Properties", "CloseSession", "OpenSession"];

/// A failed call (D3) whose drop line is due (D19).
#[derive(Clone, Debug)]
struct Unnoticed {
    call: String,
    code: String,
    called_at: Millis,
    recorded_at: Millis,
}

/// The first invariant `obs` breaks (`aborted`: why the run stopped early, if it did).
pub fn check(obs: &Observations, spares: &[String], aborted: Option<&str>) -> Option<Violation> {
    if let Some(reason) = aborted {
        return Some(violation("I0", format!("the run stopped: {reason}")));
    }
    let mut c = Checker {
        obs,
        truth: Truth::new(&obs.members, spares, &obs.settings),
        claims: obs
            .members
            .iter()
            .map(|m| (m.clone(), Claimed::Back))
            .collect(),
        created: BTreeMap::new(),
        uncertain: BTreeSet::new(),
        direct: BTreeMap::new(),
        direct_maybe: BTreeSet::new(),
        rooms: BTreeMap::new(),
        deactivation_excuses: 0,
        handles: sessions::Handles::default(),
        pending_tombstones: BTreeSet::new(),
        tombstone_risk: BTreeMap::new(),
        processes: 0,
        born: BTreeMap::new(),
        stale: BTreeSet::new(),
        sessions: 0,
        epoch: 0,
        made_in: BTreeMap::new(),
        unnoticed: BTreeMap::new(),
        last_failure: BTreeMap::new(),
        down_since: BTreeMap::new(),
        detected_stamp: BTreeMap::new(),
        named_at: BTreeMap::new(),
        spares: spares.to_vec(),
        created_here: BTreeSet::new(),
        cleared: false,
        sync_incomplete: false,
        cleared_handles: cleared::ClearedHandles::default(),
        destroyed: BTreeSet::new(),
        last_creation: None,
        orphan_risk: BTreeMap::new(),
        direct_cut: BTreeSet::new(),
        cut_in_call: BTreeMap::new(),
        creation_lost: None,
        orphans: BTreeSet::new(),
        reported: BTreeSet::new(),
        call_start: None,
        set_off_pending: Vec::new(),
        set_off_by_call: Vec::new(),
        thread_opens_at: None,
        new_member: None,
        recover_undriven: BTreeMap::new(),
        undetected: BTreeSet::new(),
        orphan_labels: BTreeSet::new(),
        contents: contents::Contents::default(),
    };
    for (at, happening) in &obs.events {
        if let Some(v) = c.overdue(*at, happening) {
            return Some(v);
        }
        if let Some(v) = c.step(*at, happening) {
            return Some(v);
        }
    }
    c.overdue(Millis::MAX, &Happening::Log(String::new()))
}

/// A `hagroup synchronize` output says it cloned at least one object to some member.
fn cloned_any(output: &str) -> bool {
    output.lines().any(|l| {
        l.trim()
            .split_once(": ")
            .and_then(|(_, rest)| rest.strip_suffix(" token objects cloned to it."))
            .is_some_and(|n| n != "0")
    })
}

/// The object an operation names.
fn object_of(op: &OpObs) -> Option<&str> {
    match op {
        OpObs::Crypto { label } | OpObs::SignInit { label } | OpObs::Destroy { label } => {
            Some(label)
        }
        _ => None,
    }
}

/// The message of an HA log line (after `HA group: <serial> `).
fn message(line: &str) -> &str {
    line.split_once("HA group: ")
        .and_then(|(_, rest)| rest.split_once(' '))
        .map_or(line, |(_, msg)| msg)
}

/// `(attempt, member, succeeded)` of a `recovery attempt N succeeded|failed for member: S` line.
fn attempt_line(msg: &str) -> Option<(u64, String, bool)> {
    let rest = msg.strip_prefix("recovery attempt ")?;
    let (n, rest) = rest.split_once(' ')?;
    let n: u64 = n.parse().ok()?;
    let (ok, rest) = if let Some(r) = rest.strip_prefix("succeeded for member: ") {
        (true, r)
    } else if let Some(r) = rest.strip_prefix("failed for member: ") {
        (false, r)
    } else {
        return None;
    };
    let member = rest.split(['.', ' ']).next()?.to_string();
    Some((n, member, ok))
}

impl Checker<'_> {
    /// The application loses its login (and its private objects' handles, D7/B23).
    /// The faults seen in the field (D35): an object another application made on one member
    /// counts as a direct write (B21: `hagroup synchronize` at the heal copies it). `Busy` needs
    /// nothing here: `CKR_FUNCTION_FAILED` is not a service code, the D3 exception of I2; a
    /// `Hang` and a `LostAnswer` make the member unhealthy in the truth from the fault's
    /// instant, so I3 accepts the drop the receive timeout or the lost answer causes; I1's
    /// duplicate check catches an orphan of a lost creation adopted as a second copy.
    fn field_fault(&mut self, member: &str, fault: &super::observe::FaultObs) {
        if let super::observe::FaultObs::DirectModify(label) = fault {
            self.direct.insert(label.clone(), member.to_string());
        }
    }

    /// Members the log says are back (`only`: just that one) are compared with the engine's
    /// table now (a login, or a recovery while logged in): an orphan they held is destroyed
    /// then (D37, D18), so their risk ends.
    ///
    /// At a login, a member the log still counts back but that a fault struck since the
    /// engine last talked to it (unreachable, revoked, its credential refused, a lost
    /// connection not yet found, D19) is not compared: the login's call to it fails and drops
    /// it (seed 77527: revoked just before the login, its orphan then spread by `synchronize`;
    /// seed 990344: a direct write timed out on it, D109).
    ///
    /// `attempt_at`: the instant a recovery line states for `only`'s comparison; a risk the
    /// current call added on that member from a failed engine call made at or after it stays.
    fn orphans_compared(&mut self, only: Option<&str>, attempt_at: Option<Millis>) {
        let claims = &self.claims;
        let truth = &self.truth;
        let cut_in_call = &self.cut_in_call;
        let direct_cut = &self.direct_cut;
        let compared = |label: &String, m: &String| {
            let cut_after = attempt_at.is_some_and(|t| {
                cut_in_call
                    .get(&(label.clone(), m.clone()))
                    .is_some_and(|called_at| *called_at >= t)
            });
            only.is_none_or(|o| o == m.as_str())
                && matches!(claims.get(m), Some(Claimed::Back))
                && (only.is_some() || (truth.answers(m) && !direct_cut.contains(m)))
                && !cut_after
        };
        for (label, members) in self.orphan_risk.iter_mut() {
            members.retain(|m| !compared(label, m));
        }
        self.orphan_risk.retain(|_, members| !members.is_empty());
    }

    /// D25: switching to activeBasic while every member of the group is still gone (the log
    /// has none back since an activeEnhanced total loss) applies the activeBasic rule (D11) to
    /// that outage: the application's sessions and login are lost.
    fn basic_during_total_loss(&mut self, at: Millis, line: &str, output: &str) {
        let words: Vec<&str> = line.split_whitespace().collect();
        let to_basic = words.get(1) == Some(&"recoverymode")
            && words
                .iter()
                .position(|w| *w == "-mode")
                .and_then(|i| words.get(i + 1))
                == Some(&"activeBasic");
        if !to_basic || !output.contains("Command Result : No Error") {
            return;
        }
        let group = self.truth.group();
        // A member added at run time and not detected yet is not in service (B54, D24).
        let all_gone = !group.is_empty()
            && group.iter().all(|m| {
                self.undetected.contains(m)
                    || !matches!(self.claims.get(m), Some(Claimed::Back) | None)
            });
        if all_gone {
            self.sessions_lost(at);
        }
    }

    /// D11 (and D25 for a switch to activeBasic during a total loss): the application's
    /// sessions and login go with the last member. Their handles are gone: a later close of
    /// one fails and closes nothing (D65), so the login lives only in sessions opened after.
    fn sessions_lost(&mut self, at: Millis) {
        self.handles.lost();
        self.sessions = 0;
        self.lose_login(at);
    }

    fn lose_login(&mut self, at: Millis) {
        self.truth.login(false, at);
        self.epoch += 1;
    }

    /// I3, from the member side: a call that failed with a drop code (D3) on a member in
    /// service is answered by a `has dropped member` line when the engine gets the answer
    /// (D19): within the receive timeout of the instant the failure was recorded (a thread
    /// gets its answer when the call's time is paid), and before any operator command or
    /// checkpoint.
    fn overdue(&mut self, at: Millis, next: &Happening) -> Option<Violation> {
        let boundary = matches!(
            next,
            Happening::Command { .. } | Happening::Checkpoint { .. }
        );
        let (member, u) = self
            .unnoticed
            .iter()
            .find(|(_, u)| boundary || at > u.recorded_at.saturating_add(RECEIVE_TIMEOUT_MS))?;
        Some(violation(
            "I3",
            format!(
                "{} to member {member} failed with {} at {} ms and no `has dropped member` line followed",
                u.call, u.code, u.called_at
            ),
        ))
    }

    /// A member's call failed with a drop code (D3): read from the injector, not the engine.
    fn failed(&mut self, at: Millis, member: &str, call: &str, code: &str, called_at: Millis) {
        if TEARDOWN_CALLS.contains(&call) {
            return; // D40: a session's teardown drops nothing; the next call finds the member
        }
        self.last_failure
            .insert(member.to_string(), (called_at, at));
        let in_service = matches!(self.claims.get(member), Some(Claimed::Back))
            && self.truth.group().iter().any(|m| m == member);
        if !in_service {
            return; // a recovery probe, or a member the engine has already let go
        }
        // D9: from now on the member is usable again only from its next due attempt.
        self.truth.detected(member, called_at);
        self.direct_cut.remove(member);
        self.unnoticed
            .entry(member.to_string())
            .or_insert_with(|| Unnoticed {
                call: call.to_string(),
                code: code.to_string(),
                called_at,
                recorded_at: at,
            });
    }

    fn step(&mut self, at: Millis, happening: &Happening) -> Option<Violation> {
        self.tombstones_compared(at, false);
        match happening {
            Happening::App(app) => {
                self.call_start = Some(at);
                self.cut_in_call.clear();
                // Every call counts as the one that drives a requested recovery (B45), even
                // one that does not reach the engine's drive: D113 excuses only before it.
                self.recover_undriven.clear();
                let set_off = std::mem::take(&mut self.set_off_pending);
                // The application's opening of a thread's session before a `Threads` step (not
                // issued by a thread; the runner opens them all, then pays for them).
                let thread_open =
                    app.thread && app.issued.is_none() && app.op == OpObs::OpenSession;
                if thread_open && self.thread_opens_at == Some(at) {
                    // D111: another thread's session opened in the same instant, before the
                    // lines of the earlier opens were recorded: those lines come after this
                    // call, so what the earlier opens set off stays theirs.
                    self.set_off_by_call.extend(set_off);
                } else {
                    self.set_off_by_call = set_off;
                }
                self.thread_opens_at = thread_open.then_some(at);
            }
            Happening::SlotList(_) => {
                self.call_start = None;
                self.thread_opens_at = None;
                self.set_off_by_call = std::mem::take(&mut self.set_off_pending);
            }
            Happening::Command { .. } | Happening::Checkpoint { .. } => {
                self.call_start = None;
                self.thread_opens_at = None;
                self.set_off_by_call.clear();
            }
            Happening::Log(_) => self.thread_opens_at = None,
            _ => {}
        }
        match happening {
            Happening::Failed {
                member,
                call,
                code,
                called_at,
            } => {
                if let Some(label) = &self.last_creation {
                    self.orphan_risk
                        .entry(label.clone())
                        .or_default()
                        .insert(member.clone());
                    self.orphan_labels.insert(label.clone());
                    self.cut_in_call
                        .insert((label.clone(), member.clone()), *called_at);
                }
                self.failed(at, member, call, code, *called_at);
                None
            }
            Happening::Fault { member, fault } => {
                if matches!(fault, super::observe::FaultObs::Deactivate)
                    && !self.obs.settings.failover_on_deactivation
                {
                    self.deactivation_excuses += 1;
                }
                if matches!(fault, super::observe::FaultObs::MemberAdded) {
                    self.claims.entry(member.clone()).or_insert(Claimed::Back);
                }
                self.field_fault(member, fault);
                // D19: a fault that cuts the connection of (or deactivates) a member the engine
                // counts in service is found by the engine's next call to it, which fails by
                // rule even if the fault is over by then; until then it is not usable.
                if matches!(self.claims.get(member), Some(Claimed::Back))
                    && matches!(
                        fault,
                        super::observe::FaultObs::Drop
                            | super::observe::FaultObs::LostAnswer
                            | super::observe::FaultObs::Hang
                            | super::observe::FaultObs::Revoke
                            | super::observe::FaultObs::Deactivate
                            | super::observe::FaultObs::IdleCut(_)
                    )
                {
                    self.truth.lost_unnoticed(member);
                }
                self.truth.fault(member, fault, at);
                None
            }
            Happening::Command { line, output } => {
                self.truth.command(line, output, at);
                if let Some(v) = self.lunacm_data(at, line, output) {
                    return Some(v);
                }
                self.populated_answer(line, output);
                if line.starts_with("hagroup addmember")
                    && line.ends_with("-answer remove")
                    && output.contains(admin::NO_ERROR)
                    && let Some(serial) = line
                        .split_whitespace()
                        .skip_while(|w| *w != "-serialnumber")
                        .nth(1)
                {
                    // B12: the operator deleted what the partition held.
                    self.contents.cleared(serial);
                }
                self.synchronize_resurrects(line, output);
                self.synchronize_spreads_orphans(line, output);
                self.synchronize_incomplete(line, output);
                let membership = matches!(
                    line.split_whitespace().nth(1),
                    Some("addmember" | "removemember")
                );
                if membership && output.contains("Command Result : No Error") {
                    // In or out of the group, the partition is a new start for the log: out,
                    // it answers as a plain partition; back in, it is a new member (B24, B54).
                    if let Some(serial) = line
                        .split_whitespace()
                        .skip_while(|w| *w != "-serialnumber")
                        .nth(1)
                    {
                        self.claims.insert(serial.to_string(), Claimed::Back);
                        self.unnoticed.remove(serial);
                        if line.split_whitespace().nth(1) == Some("addmember") {
                            self.undetected.insert(serial.to_string());
                        } else {
                            self.undetected.remove(serial);
                        }
                    }
                }
                if line.split_whitespace().nth(1) == Some("recover") {
                    for (member, claim) in self.claims.iter_mut() {
                        match claim {
                            Claimed::Stopped => {
                                *claim = Claimed::Down {
                                    attempts: 0,
                                    last: at,
                                    manual: true,
                                };
                                self.recover_undriven.insert(member.clone(), at);
                            }
                            Claimed::Down {
                                attempts, manual, ..
                            } => {
                                *attempts = 0;
                                // The first request since the last attempt line, unless an
                                // application call has come since (it drove that one).
                                if *manual {
                                    self.recover_undriven.entry(member.clone()).or_insert(at);
                                } else {
                                    self.recover_undriven.insert(member.clone(), at);
                                }
                                *manual = true;
                            }
                            Claimed::Back => {}
                        }
                    }
                }
                if line.split_whitespace().nth(1) == Some("listgroups") {
                    return self.needs_sync(at, output);
                }
                self.basic_during_total_loss(at, line, output);
                None
            }
            Happening::RecoveryBusy { .. } => None,
            Happening::SetOff {
                member,
                call,
                nth,
                armed_at,
            } => {
                // D104: out of service since before the arming, and no attempt line since
                // (each attempt writes one, B42): the member's only calls since were this
                // call's attempt and the call's own work.
                let quiet_since_arming =
                    matches!(self.claims.get(member), Some(Claimed::Down { .. }))
                        && self.named_at.get(member).is_some_and(|t| t < armed_at);
                self.set_off_pending.push(SetOff {
                    member: member.clone(),
                    call: call.clone(),
                    reachable: self.truth.reachable(member),
                    credential_ok: self.truth.credential_ok(member),
                    login_after_attempts: call == "Login" && *nth >= 2 && quiet_since_arming,
                });
                None
            }
            Happening::App(app) => self.app(at, app),
            Happening::CreationLost { member } => {
                self.creation_lost = Some(member.clone());
                None
            }
            Happening::Orphan { member, label } => {
                self.reported.insert((label.clone(), member.clone()));
                None
            }
            Happening::HandleKept { label } => {
                self.handle_kept(label);
                self.cleared_handles.kept(label);
                None
            }
            Happening::Log(line) => {
                // D104: every member a line names, with the instant it was recorded.
                let group = self.truth.group();
                for word in message(line).split_whitespace() {
                    let word = word.trim_end_matches(['.', ',', ':']);
                    if group.iter().any(|m| m == word) {
                        self.named_at.insert(word.to_string(), at);
                    }
                }
                self.log(at, line)
            }
            Happening::SlotList(listed) => self.slot_list(at, listed),
            Happening::Changed { label, copies, .. } => {
                self.direct_changed(label, copies);
                None
            }
            Happening::Rooms(rooms) => {
                self.rooms = rooms.clone();
                None
            }
            Happening::Checkpoint {
                label,
                objects,
                contents,
            } => self
                .contents_kept(at, label, contents)
                .or_else(|| match label.as_str() {
                    "final" => self
                        .unreported_orphan(at)
                        .or_else(|| self.final_objects(at, objects)),
                    "reconciled" => self.reconciled(at, objects),
                    "healed" => self.liveness(at),
                    _ => None,
                }),
        }
    }

    // ---- I2, I5, I7: application calls ----------------------------------------------------

    fn app(&mut self, at: Millis, app: &AppObs) -> Option<Violation> {
        let ok = app.result == "CKR_OK";
        self.handles_of_processes(&app.op, ok);
        self.cleared_handles.call(&app.op, ok);
        self.last_creation = match &app.op {
            OpObs::Create {
                label, token: true, ..
            } => Some(label.clone()),
            _ => None,
        };
        if let (Some(label), Some(member)) = (&self.last_creation, self.creation_lost.take()) {
            self.orphan_labels.insert(label.clone());
            self.orphans.insert((label.clone(), member));
        }
        match &app.op {
            OpObs::Login if ok => {
                self.truth.login(true, at);
                self.handles.logged_in(app.thread);
                // Members back in service are compared with the table at this login.
                self.orphans_compared(None, None);
                self.tombstones_compared(at, true);
            }
            // A close that fails closed nothing: a thread whose session never opened (its
            // witness `C_OpenSession` failed, D60) gets CKR_SESSION_HANDLE_INVALID and the
            // application's other sessions keep the login (PKCS#11, D65).
            // The application forgets its own handle whatever its close answered.
            OpObs::CloseSession if !app.thread && !ok => self.handles.closed(),
            OpObs::CloseSession if ok => {
                if !app.thread {
                    self.handles.closed();
                }
                self.sessions = self.sessions.saturating_sub(1);
                if self.sessions == 0 {
                    // Closing the application's last session logs it out (PKCS#11).
                    self.lose_login(at);
                }
            }
            // A logout on a handle that names no session (a thread whose own session never
            // opened, D60) changes nothing (PKCS#11, D65).
            OpObs::Logout if app.result == "CKR_SESSION_HANDLE_INVALID" => {}
            OpObs::Logout | OpObs::Finalize => {
                self.lose_login(at);
                if matches!(app.op, OpObs::Finalize) {
                    self.handles.closed();
                    self.sessions = 0;
                    self.created_here.clear();
                    // D20: what the process knew of missed deletions is gone, and so are the
                    // tombstones of orphans not yet found (D37, D18): a later `synchronize`
                    // copies such an orphan as an object of its own (D8, D49).
                    let forgotten = std::mem::take(&mut self.pending_tombstones);
                    self.uncertain.extend(forgotten);
                    let orphans = std::mem::take(&mut self.orphan_risk);
                    self.uncertain.extend(orphans.into_keys());
                    // The new process's engine opens sessions of its own (D109 ends).
                    self.direct_cut.clear();
                    self.orphans.clear();
                }
            }
            OpObs::OpenSession if ok => {
                self.handles.opened(app.thread);
                self.sessions += 1;
            }
            OpObs::Create { label, token, pair } => {
                // A failed creation gives the application no handle: it keeps the one it had
                // for the label, if any (the runner passes an invalid one otherwise).
                if ok {
                    self.made_in.insert(label.clone(), self.epoch);
                }
                if ok && *token {
                    self.created.insert(label.clone(), *pair);
                    self.created_here.insert(label.clone());
                } else if !ok {
                    self.uncertain.insert(label.clone());
                }
            }
            OpObs::Destroy { label } => {
                if ok {
                    self.created.remove(label);
                    self.destroyed.insert(label.clone());
                    // A member away, or busy (it refuses the deletion with a code that drops
                    // nothing and stays in service, D3, D48), holds the object until it is
                    // compared with the table again.
                    if self
                        .truth
                        .group()
                        .iter()
                        .any(|m| !self.truth.usable(m, at) || self.truth.busy(m, at))
                    {
                        self.pending_tombstones.insert(label.clone());
                    }
                    self.deletion_missed(label, at);
                } else {
                    self.uncertain.insert(label.clone());
                }
            }
            OpObs::Direct { member, label } if ok => {
                self.direct.insert(label.clone(), member.clone());
            }
            // A direct write answered with a transport failure may have been executed before its
            // answer was lost (D35 `LostAnswer`); `synchronize` then copies it (B21).
            OpObs::Direct { member, label }
                if matches!(
                    app.result.as_str(),
                    "CKR_DEVICE_ERROR" | "CKR_DEVICE_REMOVED" | "CKR_TOKEN_NOT_PRESENT"
                ) =>
            {
                self.uncertain.insert(label.clone());
                self.direct_maybe.insert(label.clone());
                self.direct_cut(member);
            }
            _ => {}
        }
        if let Some(v) = self.security(at, app) {
            return Some(v);
        }
        if let Some(v) = self.standby_served(at, app) {
            return Some(v);
        }
        if ok {
            return None;
        }
        self.failed_call(at, app)
    }

    /// I7.
    fn security(&self, at: Millis, app: &AppObs) -> Option<Violation> {
        let uses_key = matches!(app.op, OpObs::Crypto { .. } | OpObs::SignInit { .. });
        // A sign or encrypt of a thread needed the login when it was issued, not when its
        // answer came (a logout on another thread meanwhile does not undo it, D60).
        // D100: nor when the member did the work: the call reached it after the member calls
        // preparing it, and another thread may have logged in again meanwhile.
        let held = self.truth.logged_in()
            || app
                .issued
                .is_some_and(|issued| self.truth.login_held_at(issued))
            || app
                .executed
                .is_some_and(|sent| self.truth.login_held_at(sent));
        if uses_key && app.result == "CKR_OK" && !held {
            let mut v = violation(
                "I7",
                format!(
                    "{:?} succeeded at {} ms while the application held no login",
                    app.op, at
                ),
            );
            let n = i64::try_from(app.count).unwrap_or(i64::MAX);
            v.errors = vec![("CKR_USER_NOT_LOGGED_IN".to_string(), n)];
            return Some(v);
        }
        None
    }

    /// I5.
    fn standby_served(&self, at: Millis, app: &AppObs) -> Option<Violation> {
        let standby: BTreeSet<&String> = self.obs.standby.iter().collect();
        let Some(holders) = &app.holders else {
            return None;
        };
        if app.result != "CKR_OK" || !app.served_by.iter().any(|m| standby.contains(m)) {
            return None;
        }
        // D99: the engine chose the member when the call was issued; one that came into
        // service while the call was under way (a new member detected at its first pass, B54,
        // D24) was no choice it had. Without the issue time, judged where the call is seen
        // (a run of calls is seen where its first answer came, before its last was issued).
        let chosen = app.chosen_at.map_or(at, |c| c.min(at));
        let active_holder = holders
            .iter()
            .find(|m| !standby.contains(m) && self.truth.usable(m, chosen))?;
        Some(violation(
            "I5",
            format!(
                "{:?} at {} ms was served by standby {:?} while active member {} held the key and was usable",
                app.op, at, app.served_by, active_holder
            ),
        ))
    }

    /// I2.
    fn failed_call(&mut self, at: Millis, app: &AppObs) -> Option<Violation> {
        let code = app.result.as_str();
        if !SERVICE_CODES.contains(&code) {
            return None; // D3 (and D18: a refused clone's code is not a service code)
        }
        if self.obs.settings.naive_slot && !self.obs.settings.ha_only {
            // The naive profile keeps the slot id it saw first: once slots renumber (D14) its
            // calls reach another slot. Its failures are its own; I2 is about the engine's.
            return None;
        }
        let needs_object = match &app.op {
            OpObs::Crypto { .. } | OpObs::SignInit { .. } | OpObs::Destroy { .. } => true,
            OpObs::Create { .. } | OpObs::OpenSession | OpObs::Login => false,
            // D5: continuing a multi-part operation whose member dropped fails by rule.
            OpObs::SignContinue => return None,
            _ => return None,
        };
        if matches!(
            code,
            "CKR_SESSION_HANDLE_INVALID" | "CKR_USER_NOT_LOGGED_IN"
        ) && (self.handles.invalidated(app.thread) || !self.truth.logged_in())
        {
            return None; // D11, D25, or the application's own state
        }
        if code == "CKR_SESSION_HANDLE_INVALID" && self.handles.none_held(app.thread) {
            return None; // PKCS#11: the application's own call named no session it held
        }
        if code == "CKR_USER_NOT_LOGGED_IN"
            && app
                .issued
                .is_some_and(|issued| self.truth.login_lost_between(issued, at))
        {
            // D71: a thread's call in flight across another thread's logout (D60) reached the
            // member after its login ended: the application's own state, as D66.
            return None;
        }
        if code == "CKR_USER_NOT_LOGGED_IN" && self.deactivation_excuses > 0 {
            self.deactivation_excuses -= 1;
            return None; // D17 with failover_on_deactivation = 0: that one call
        }
        if code == "CKR_PIN_INCORRECT" && !matches!(app.op, OpObs::Login) {
            return None;
        }
        if code == "CKR_OBJECT_HANDLE_INVALID"
            && let Some(label) = object_of(&app.op)
            && self.made_in.get(label).is_none_or(|e| *e < self.epoch)
        {
            // A handle from before a lost login, or one never made (no creation of the label
            // succeeded, e.g. one whose answer was lost, D37, even if a `synchronize` spread
            // its orphan since): the application's own. (A `C_FindObjects` is not followed: a
            // label never made is found only as an orphan, which the engine does not adopt.)
            return None;
        }
        if code == "CKR_OBJECT_HANDLE_INVALID"
            && object_of(&app.op).is_some_and(|label| self.cleared_handles.dead(label))
        {
            return None; // D85: the operator cleared the object the handle named
        }
        let usable = self.truth.usable_members(at);
        let witness: Vec<String> = if needs_object {
            let holders = app.holders.clone().unwrap_or_default();
            usable.into_iter().filter(|m| holders.contains(m)).collect()
        } else {
            usable
        };
        if witness.is_empty() {
            return None;
        }
        let n = i64::try_from(app.count).unwrap_or(i64::MAX);
        let mut v = violation(
            "I2",
            format!(
                "{:?} returned {code} at {} ms while usable member(s) {} {}",
                app.op,
                at,
                witness.join(", "),
                if needs_object {
                    "held the object"
                } else {
                    "could serve it"
                }
            ),
        );
        v.errors = vec![(code.to_string(), -n)];
        Some(v)
    }

    // ---- I3, I6: the HA log ---------------------------------------------------------------

    /// The instant `line` states in its prefix (the engine stamps a line with the start of the
    /// engine call or timer run that wrote it, D15), within the second the prefix resolves:
    /// the record's instant `at` when it falls in that second, else the second's start. A line
    /// is recorded when its engine call returns, which for a call that waited on hung members
    /// (B28) or a recovery run is later than the instant D9 counts from.
    fn stamp(&self, at: Millis, line: &str) -> Millis {
        let Some(start) = self.obs.log_start else {
            return at;
        };
        let Some(secs) = line
            .get(..24)
            .and_then(|date| crate::halog::parse_ctime(date).ok())
            .map(|t| sim::clock::seconds_since_epoch(&t) - start)
            .and_then(|s| u64::try_from(s).ok())
        else {
            return at;
        };
        if at / 1000 == secs {
            at
        } else {
            secs.saturating_mul(1000).min(at)
        }
    }

    fn log(&mut self, at: Millis, line: &str) -> Option<Violation> {
        let msg = message(line);
        // D9 counts from the instants the lines state (`stamp`); what was true below the port
        // is read at the record's instant `at`.
        let stamped = self.stamp(at, line);
        // A member found deactivated during a creation (copying from it, D17) may hold the
        // partial object the engine tombstones (D18), as one that failed with a drop code.
        if let Some(member) = msg
            .strip_prefix("member: ")
            .and_then(|r| r.strip_suffix(" deactivated"))
            && let Some(label) = &self.last_creation
        {
            self.orphan_risk
                .entry(label.clone())
                .or_default()
                .insert(member.trim().to_string());
        }
        let broken = |detail: String| {
            let mut v = violation("I3", format!("{detail}: {line}"));
            v.expect = vec![format!("LogCount({line:?}, 0)")];
            Some(v)
        };
        if let Some(member) = msg.strip_prefix("has dropped member: ") {
            let member = member.trim().to_string();
            if let Some(u) = self.unnoticed.remove(&member) {
                // The member side's failure (D3) the line reports: D9 counts from it.
                self.mark_down(member, u.called_at, stamped);
                return None;
            }
            // D24: a new member that cannot be brought in when it is detected is handled as a
            // member dropped then; one that answers but refuses (busy, D35) cannot be.
            let refused_join = self.new_member.as_ref() == Some(&(member.clone(), at))
                && self.truth.busy(&member, at);
            if self.truth.healthy(&member) && !refused_join {
                return broken(format!(
                    "member {member} was reachable and no call to it failed at {at} ms"
                ));
            }
            if matches!(
                self.claims.get(&member),
                Some(Claimed::Down { .. }) | Some(Claimed::Stopped)
            ) {
                return broken(format!("member {member} dropped twice without coming back"));
            }
            if refused_join {
                // Its outage counts from this drop (D24, D9): usable again from its attempt.
                self.truth.detected(&member, stamped);
            }
            self.mark_down(member, stamped, stamped);
            return None;
        }
        // A revocation, or a member still not activated, found by a recovery attempt counts
        // as a failed attempt (D10, B51, B52).
        let failed_attempt = msg
            .strip_prefix("member: ")
            .and_then(|r| r.strip_suffix(" revoked"))
            .or_else(|| {
                msg.strip_prefix("recovery attempt ").and_then(|r| {
                    r.strip_suffix(
                        " is not activated and cannot be reintroduced back into the HA group",
                    )
                })
            });
        if let Some(member) = failed_attempt {
            let member = member.trim().to_string();
            match self.claims.get(&member).copied() {
                Some(Claimed::Down {
                    attempts, manual, ..
                }) => {
                    let _ = manual;
                    self.claims
                        .insert(member, Claimed::down(attempts + 1, stamped));
                }
                Some(Claimed::Stopped) => {}
                _ => {
                    self.mark_down(member, stamped, stamped);
                }
            }
            return None;
        }
        // Other ways a member leaves service: deactivation (B51), unreachable or not activated
        // at `C_Initialize` (B46, B51).
        let leaves = msg
            .strip_prefix("member: ")
            .and_then(|r| r.strip_suffix(" deactivated"))
            .or_else(|| {
                msg.strip_prefix("unable to reach member: ")
                    .and_then(|r| r.split('.').next())
            })
            .or_else(|| {
                msg.strip_prefix("member ").and_then(|r| {
                    r.strip_suffix(" is not activated and is excluded from the HA group")
                })
            });
        if let Some(member) = leaves {
            let member = member.trim().to_string();
            let since = match self.unnoticed.remove(&member) {
                Some(u) => u.called_at,
                // The failure of this same engine call (e.g. `C_Initialize` finding the member
                // hung) was recorded while the log still had the member down from before.
                None => match self.last_failure.get(&member) {
                    Some((called, recorded)) if *recorded == at => *called,
                    _ => stamped,
                },
            };
            if matches!(self.claims.get(&member), Some(Claimed::Back) | None) {
                // D9, D19: the outage counts from this notice (a deactivation is found by a call
                // that needs the login, D17, not by a drop code): a member activated again
                // meanwhile is usable from its next due attempt on, not before.
                self.truth.detected(&member, since);
                self.mark_down(member, since, stamped);
            }
            return None;
        }
        if msg == "management thread started" {
            // A (re)initialised library knows nothing of earlier outages (D20): every member of
            // the group starts in service until this initialisation says otherwise.
            for claim in self.claims.values_mut() {
                *claim = Claimed::Back;
            }
            self.undetected.clear();
            // It connects afresh: an outage of the old connections is no one's to notice.
            for member in self.truth.group() {
                self.truth.noticed(&member);
            }
            return None;
        }
        if let Some(member) = msg.strip_prefix("detected new member member: ") {
            self.new_member = Some((member.trim().to_string(), at));
            self.undetected.remove(member.trim());
            self.claims.insert(member.trim().to_string(), Claimed::Back);
            return None;
        }
        if msg == "all members gone offline." {
            // A member whose automatic recovery the log stopped (`exceeded maximum ...` or a
            // failed login, held to B44/D9/D10 where it was logged) waits for `hagroup recover`
            // (B45) whatever its later outages: the engine cannot count it in before then.
            let usable: Vec<String> = self
                .truth
                .usable_members(at)
                .into_iter()
                .filter(|m| !matches!(self.claims.get(m), Some(Claimed::Stopped)))
                .collect();
            if !usable.is_empty() {
                return broken(format!(
                    "member(s) {} were usable at {at} ms",
                    usable.join(", ")
                ));
            }
            if !self.truth.enhanced_at(at) {
                // D11: activeBasic loses sessions and login with the last member.
                self.sessions_lost(at);
            }
            return None;
        }
        if let Some(rest) =
            msg.strip_prefix("exceeded maximum number of autorecovery attempts for member: ")
        {
            let member = rest.split('.').next().unwrap_or(rest).trim().to_string();
            // D9: exhaustion once the attempts logged for this outage reach the count in force.
            if let Some(Claimed::Down {
                attempts,
                manual: false,
                ..
            }) = self.claims.get(&member).copied()
            {
                let retry = self.truth.retry_at(at);
                let reached = u64::try_from(retry).is_ok_and(|r| attempts >= r);
                if retry != 0 && !reached && !self.retry_changed_since_drop(&member) {
                    return broken(format!(
                        "automatic recovery of member {member} stopped after {attempts} attempt(s) with the retry count {retry}"
                    ));
                }
            }
            self.claims.insert(member, Claimed::Stopped);
            return None;
        }
        if let Some(rest) = msg.strip_prefix("can not login to member: ") {
            let member = rest.split(',').next().unwrap_or(rest).trim().to_string();
            self.claims.insert(member, Claimed::Stopped);
            return None;
        }
        if let Some((n, member, succeeded)) = attempt_line(msg) {
            return self.attempt(at, stamped, line, n, &member, succeeded);
        }
        None
    }

    /// D9 for one attempt line.
    fn attempt(
        &mut self,
        at: Millis,
        stamped: Millis,
        line: &str,
        n: u64,
        member: &str,
        succeeded: bool,
    ) -> Option<Violation> {
        let broken = |detail: String| {
            let mut v = violation("I3", format!("{detail}: {line}"));
            v.expect = vec![format!("LogCount({line:?}, 0)")];
            Some(v)
        };
        let claim = self.claims.get(member).copied().unwrap_or(Claimed::Back);
        let (attempts, last, manual) = match claim {
            Claimed::Back => {
                return broken(format!(
                    "an attempt for member {member}, which the log says is back"
                ));
            }
            Claimed::Stopped => {
                return broken(format!(
                    "an attempt for member {member} after its automatic recovery stopped, without a manual recovery"
                ));
            }
            Claimed::Down {
                attempts,
                last,
                manual,
            } => (attempts, last, manual),
        };
        if n != attempts + 1 {
            return broken(format!(
                "attempt {n} for member {member} where attempt {} was due",
                attempts + 1
            ));
        }
        if !manual {
            let retry = self.truth.retry_at(at);
            if retry >= 0 && n > u64::try_from(retry).unwrap_or(0) {
                return broken(format!(
                    "attempt {n} for member {member} past the retry count {retry}"
                ));
            }
            // Auto-recovery switched on after the last attempt (or the drop) while it was off:
            // the first attempt is due one interval after the new count took effect.
            let from = self.truth.recovery_resumed(last, stamped).unwrap_or(last);
            let due = from + u64::from(self.truth.interval_at(stamped)) * 1000;
            // A call to a hung member takes up to the receive timeout (B28) before the engine
            // knows: an instant stamped at either end of such a call is within it of the other.
            // An attempt due while the recovery thread was still busy with an earlier run's
            // member calls runs when it is free (the simulation's time policy: recovery is its
            // own thread, B41).
            let free = self.recovery_free(due);
            // Attempt 1 counts from the failed call here, the engine from when it got its
            // answer (D9), up to the receive timeout later (B28): an attempt due then may have
            // waited for the recovery thread too.
            let latest = due.saturating_add(RECEIVE_TIMEOUT_MS);
            let free_late = if n == 1 && self.recovery_free(latest) > latest {
                self.recovery_free(latest)
            } else {
                free
            };
            // D9: attempt 1 is due one interval after the drop was detected, which the drop
            // line's stamp states (D19): the engine may have learnt of it several receive
            // timeouts after the call began (a teardown retried on a hung member first, D54,
            // then the call itself). Both stamps are whole seconds (D15; D96).
            let after_detection = n == 1
                && self.detected_stamp.get(member).is_some_and(|d| {
                    let due = d + u64::from(self.truth.interval_at(*d)) * 1000;
                    stamped.abs_diff(due) < 1000
                });
            // A stamp is whole seconds (D15): the attempt ran within the second it states (and
            // not after the line was recorded), so a change of the interval in that second may
            // have come before it (D96).
            let ran_by = if stamped == at {
                at
            } else {
                stamped.saturating_add(999).min(at)
            };
            if stamped.abs_diff(due) > RECEIVE_TIMEOUT_MS
                && stamped.abs_diff(free) > RECEIVE_TIMEOUT_MS
                && stamped.abs_diff(free_late) > RECEIVE_TIMEOUT_MS
                && !after_detection
                && !self.interval_changed_between(last, ran_by)
            {
                return broken(format!(
                    "attempt {n} for member {member} at {stamped} ms, due at {due} ms (one interval after the previous)"
                ));
            }
        }
        if succeeded {
            // Back means reachable; with the application logged in, also logged in with the
            // group's credential (B43); without a login, a reconnection is all an attempt can do
            // (decisions: "Recovery while the application holds no login"). A call drives due
            // recovery before it does its own work (B45), so a login made by the very call that
            // wrote this line comes after the attempt: that call began at `call_start`, in the
            // second the line states (D15), and its line is recorded when it returns, which is
            // later when members took time to answer (a slow or hung member, B28).
            let by_call = self
                .call_start
                .filter(|s| *s <= at && s / 1000 == stamped / 1000);
            let asked = by_call.unwrap_or(at);
            let logged_in = self.truth.logged_in_before(asked);
            let back =
                self.truth.reachable(member) && (self.truth.credential_ok(member) || !logged_in);
            // Lost after it was back (bug 5), or by the call's own work after its attempt (D95).
            let lost_after = self.lost_while_brought_in(member, at)
                || (by_call.is_some() && self.struck_after_attempt(member, logged_in));
            if !back && !lost_after {
                return broken(format!(
                    "`succeeded` for member {member}, which is not reachable at {at} ms"
                ));
            }
            self.claims.insert(member.to_string(), Claimed::Back);
            if self.truth.logged_in() {
                self.orphans_compared(Some(member), Some(stamped));
            }
        } else {
            self.claims
                .insert(member.to_string(), Claimed::down(n, stamped));
        }
        None
    }

    /// The first instant from `due` on at which the recovery thread was not busy with a timer
    /// run that began before it (the record's `RecoveryBusy` witness). A run that begins at
    /// that instant is the one that serves the attempt, however long it keeps the thread busy
    /// after (exploration seeds 3239, 9621: not the end of a chain of runs).
    fn recovery_free(&self, due: Millis) -> Millis {
        let mut free = due;
        loop {
            let until = self
                .obs
                .events
                .iter()
                .filter_map(|(from, h)| match h {
                    Happening::RecoveryBusy { until } if *from < free && *until > free => {
                        Some(*until)
                    }
                    _ => None,
                })
                .max();
            match until {
                Some(u) => free = u,
                None => return free,
            }
        }
    }

    /// `member` was lost by a fault that struck at `at` (an armed one, set off by a call of this
    /// very attempt) and the log takes it out again at that instant: a member lost while it is
    /// brought in has rejoined first and left after (the decision for bug 5: `succeeded`, then
    /// its drop), so its `succeeded` is no claim that it answers now.
    fn lost_while_brought_in(&self, member: &str, at: Millis) -> bool {
        let struck = self.obs.events.iter().any(|(t, h)| {
            *t == at && matches!(h, Happening::Fault { member: m, .. } if m == member)
        });
        let leaves = self.obs.events.iter().any(|(t, h)| {
            *t == at
                && matches!(h, Happening::Log(line) if {
                    let msg = message(line);
                    msg == format!("has dropped member: {member}")
                        || msg == format!("member: {member} deactivated")
                })
        });
        struck && leaves
    }

    /// B45: a call drives due recovery before it does its own work. An armed fault that the
    /// call which wrote the attempt's line set off on `member` with a member call no attempt
    /// makes there ([`NOT_AN_ATTEMPTS_CALL`]; a login only while the application held one
    /// before the call, decisions: "Recovery while the application holds no login") struck
    /// after the attempt: the attempt met the member as it was just before that fault, and the
    /// call's own work finds it gone (D19), so `succeeded` comes first and its drop after (as
    /// for bug 5; D95).
    ///
    /// D98: an attempt made while the application held no login makes only the reconnection's
    /// calls ([`RECONNECT_CALLS`]), so any other call (a login, a comparison, a clone) is the
    /// call's own work; and with the group's automatic synchronisation off (D21) an attempt
    /// clones nothing into the member, so an `ImportClone` there is the call's own too.
    ///
    /// D104: an attempt logs in to the member once (B43), and a member out of service gets no
    /// call but its attempts (B42, B45): counted from an arming made while it was out, with no
    /// attempt line since, the first `Login` there was this attempt's and a later one the
    /// call's own (its session's login on the member just brought back).
    ///
    /// D110: an attempt clones into the member only from another member in service; with none
    /// in service at its line ([`Self::no_copy_source`]) an `ImportClone` there is not its own.
    fn struck_after_attempt(&self, member: &str, logged_in: bool) -> bool {
        self.set_off_by_call.iter().any(|s| {
            let call = s.call.as_str();
            let not_the_attempts = NOT_AN_ATTEMPTS_CALL.contains(&call)
                || s.login_after_attempts
                || (!logged_in && !RECONNECT_CALLS.contains(&call))
                || (call == "ImportClone"
                    && (!self.obs.settings.synchronize || self.no_copy_source(member)));
            s.member == member && not_the_attempts && s.reachable && (s.credential_ok || !logged_in)
        })
    }

    /// D110: no member of the group but `member` is in service as the log stands now (each
    /// was taken out and has no `succeeded` line since, or was added and not yet detected,
    /// D24): an attempt for `member` logged now had no member to clone from (B43, D7: missing
    /// objects are cloned from another member in service), so it made no `ImportClone` there;
    /// one in the same application call came after its `succeeded` (a later attempt's rejoin
    /// filling its gaps, B19, or the call's own replication).
    fn no_copy_source(&self, member: &str) -> bool {
        self.truth.group().iter().filter(|m| *m != member).all(|m| {
            !matches!(self.claims.get(m), Some(Claimed::Back)) || self.undetected.contains(m)
        })
    }

    /// The log takes `member` out of service at `at`, its outage counted from then (D9), with
    /// a line stamped `stamped` (when the engine detected it, D19).
    fn mark_down(&mut self, member: String, at: Millis, stamped: Millis) {
        self.undetected.remove(&member);
        self.direct_cut.remove(&member);
        self.truth.noticed(&member);
        self.down_since.insert(member.clone(), at);
        self.detected_stamp.insert(member.clone(), stamped);
        self.claims.insert(member, Claimed::down(0, at));
    }

    /// The retry count was set while `member` was down (the count in force is then the
    /// engine's to apply at its next attempt, B44).
    fn retry_changed_since_drop(&self, member: &str) -> bool {
        let Some(since) = self.down_since.get(member) else {
            return true;
        };
        self.obs.events.iter().any(|(t, h)| {
            *t >= *since && matches!(h, Happening::Command { line, .. } if line.contains(" retry "))
        })
    }

    fn interval_changed_between(&self, from: Millis, to: Millis) -> bool {
        self.truth.interval_at(from) != self.truth.interval_at(to)
            || self.obs.events.iter().any(|(t, h)| {
                *t > from
                    && *t <= to
                    && matches!(h, Happening::Command { line, .. } if line.contains(" interval "))
            })
    }

    /// D109 (D19, D35, B21, B28): a direct write is the application's own call on the
    /// member's physical slot, over the same client connection as the engine's. Answered with
    /// a transport failure (a receive timeout on a slow member, a lost answer, a cut), that
    /// connection is gone and the engine's sessions there with it (a timed-out call abandons
    /// the connection, B28). The engine, which did not make the call, finds out at its next
    /// call on one of those sessions, which fails by rule (D19) even when the fault is over by
    /// then, so a login in between does not compare it: its orphans stay at risk (D70), as a
    /// member's whose connection a fault cut (`Truth::answers`).
    fn direct_cut(&mut self, member: &str) {
        if matches!(self.claims.get(member), Some(Claimed::Back)) {
            self.direct_cut.insert(member.to_string());
        }
    }

    /// I1 (issue 12's lost answer): an orphan this process left on a member that is usable
    /// after the heal, so compared with the table since, was destroyed and reported (D37): the
    /// transcript's `note  orphan` line. A restart forgets orphans (D20, D49).
    fn unreported_orphan(&self, at: Millis) -> Option<Violation> {
        let usable = self.truth.usable_members(at);
        let (label, member) = self.orphans.iter().find(|(label, member)| {
            usable.contains(member) && !self.reported.contains(&(label.clone(), member.clone()))
        })?;
        Some(violation(
            "I1",
            format!(
                "the orphan of {label} on member {member} (its creation's answer was lost) was not reported (D37)"
            ),
        ))
    }

    /// D70 (D8, D22, D37, D18): LunaCM's `hagroup synchronize` is a process of its own that
    /// knows no tombstone of the application's table and copies by union. One that cloned
    /// anything while a member that may hold the orphan of a creation cut short (a lost
    /// answer, D37; a primary lost during replication, D18) was reachable and not yet compared
    /// with the table may have copied that orphan to every member; recovery destroys it only on
    /// the members it compares, so the label may be held twice: its count is not the engine's
    /// to keep (as after a restart, D49).
    fn synchronize_spreads_orphans(&mut self, line: &str, output: &str) {
        let sync = line
            .split_whitespace()
            .take(2)
            .eq(["hagroup", "synchronize"]);
        if !sync || line.contains("-enable") || line.contains("-disable") {
            return;
        }
        // Copies already made are kept when others fail (D8): any clone counts.
        if !cloned_any(output) {
            return;
        }
        let spread: Vec<String> = self
            .orphan_risk
            .iter()
            .filter(|(_, members)| members.iter().any(|m| self.truth.reachable(m)))
            .map(|(label, _)| label.clone())
            .collect();
        self.uncertain.extend(spread);
    }

    /// D83: the automatic attempt that would bring `member` back (one interval after its last
    /// attempt or its drop, D9) has not run by `at` because the recovery thread, busy since
    /// before that attempt was due with an earlier run's member calls (a reintroduction from
    /// a slow copy source), is still busy at `at`: it runs when the thread is free, as I3's
    /// timing check allows (B41, the simulation's time policy).
    ///
    /// D113: a `hagroup recover` since then makes the attempt due at once (D9), on the
    /// recovery thread when it is free or at the application's next call (B45), whichever
    /// comes first; it excuses the member too when neither has come: the thread, busy since
    /// before the first instant an attempt was due (the automatic one or the request), is
    /// still busy at `at`, and the application has made no call since the request.
    fn recovery_still_busy(&self, member: &str, at: Millis) -> bool {
        let Some(Claimed::Down { last, manual, .. }) = self.claims.get(member) else {
            return false;
        };
        let from = self.truth.recovery_resumed(*last, at).unwrap_or(*last);
        let due = from + u64::from(self.truth.interval_at(at)) * 1000;
        if !*manual {
            return due <= at && self.recovery_free(due) > at;
        }
        // Not driven yet: no application call since the request (B45).
        let Some(requested) = self.recover_undriven.get(member) else {
            return false;
        };
        let first = due.min(*requested);
        first <= at && self.recovery_free(first) > at
    }

    /// D91 (B14, B21, D8): a `hagroup synchronize` that could not make every copy (a full
    /// partition's `CKR_DEVICE_MEMORY`, a key that cannot leave its partition) says so and
    /// keeps the copies it made; a direct write reaches everyone only through it, so after
    /// such a run the members may differ in direct writes, never in what the group itself
    /// made (replicated at creation, D18).
    fn synchronize_incomplete(&mut self, line: &str, output: &str) {
        let sync = line
            .split_whitespace()
            .take(2)
            .eq(["hagroup", "synchronize"]);
        if !sync || line.contains("-enable") || line.contains("-disable") {
            return;
        }
        self.sync_incomplete = output.contains(" object copies could not be made ");
    }

    /// A direct write (B21), or one whose answer was lost and that may have been executed
    /// (D35, D106): only `synchronize` makes it everyone's, so an incomplete one (D91) may
    /// leave it uneven.
    fn is_direct_write(&self, label: &str) -> bool {
        self.direct.contains_key(label) || self.direct_maybe.contains(label)
    }

    /// B14 (D106): `lacker` holds fewer copies of `label` than `holder` because a full
    /// partition refused them: every object of `label` that `holder` holds and `lacker` does
    /// not is larger than `lacker`'s free room after the last `synchronize`. (That run only
    /// adds objects, so its free room only shrank: a copy refused then cannot fit now, and one
    /// that fits now would have fitted then.)
    fn no_room_for(
        &self,
        objects: &BTreeMap<String, Vec<String>>,
        lacker: &str,
        holder: &str,
        label: &str,
    ) -> bool {
        let of_label = |member: &str| -> Vec<&String> {
            objects
                .get(member)
                .into_iter()
                .flatten()
                .filter(|o| o.split('/').next() == Some(label))
                .collect()
        };
        let held = of_label(lacker);
        let missing: Vec<&String> = of_label(holder)
            .into_iter()
            .filter(|o| !held.contains(o))
            .collect();
        let (Some(room), Some(sizes)) = (
            self.rooms.get(lacker),
            self.rooms.get(holder).map(|r| &r.sizes),
        ) else {
            return false;
        };
        !missing.is_empty()
            && missing
                .iter()
                .all(|o| sizes.get(*o).is_some_and(|size| *size > room.free))
    }

    /// I6: at the "healed" checkpoint, every member that can come back by itself is back.
    fn liveness(&self, at: Millis) -> Option<Violation> {
        for member in self.truth.group() {
            let recoverable = self.truth.healthy(&member)
                && self.truth.retry_at(at) != 0
                && !self.truth.may_be_exhausted(&member);
            // A member whose automatic recovery the log stopped (checked by I3: after the
            // retry count's attempts, D9, or a failed login, D10) waits for `hagroup recover`.
            if !recoverable || matches!(self.claims.get(&member), Some(Claimed::Stopped)) {
                continue;
            }
            if self.recovery_still_busy(&member, at) {
                continue;
            }
            if !matches!(self.claims.get(&member), Some(Claimed::Back) | None) {
                return Some(violation(
                    "I6",
                    format!(
                        "member {member} is reachable and recoverable but not back at {at} ms (two intervals after the heal)"
                    ),
                ));
            }
        }
        None
    }

    // ---- I1, I4: objects ------------------------------------------------------------------

    fn final_objects(
        &self,
        at: Millis,
        objects: &BTreeMap<String, Vec<String>>,
    ) -> Option<Violation> {
        let v = self.final_objects_check(at, objects)?;
        if !self.uncertain.is_empty() {
            return Some(v);
        }
        // What I1 requires: every usable member holds what the application made and did not
        // destroy, plus the direct writes.
        let expected: usize = self
            .created
            .values()
            .map(|pair| if *pair { 2 } else { 1 })
            .sum::<usize>()
            + self.direct.len();
        let counts: Vec<String> = self
            .truth
            .usable_members(at)
            .iter()
            .map(|m| format!("{m}: {expected}"))
            .collect();
        let mut v = v;
        v.expect = vec![format!(
            "ObjectCountsAt(\"final\", {{{}}})",
            counts.join(", ")
        )];
        Some(v)
    }

    fn final_objects_check(
        &self,
        at: Millis,
        objects: &BTreeMap<String, Vec<String>>,
    ) -> Option<Violation> {
        let usable = self.truth.usable_members(at);
        let labels = |member: &str| -> BTreeMap<String, usize> {
            let mut out = BTreeMap::new();
            for object in objects.get(member).into_iter().flatten() {
                let label = object.split('/').next().unwrap_or(object).to_string();
                *out.entry(label).or_insert(0) += 1;
            }
            out
        };
        let first = usable.first()?;
        let reference = labels(first);
        for member in usable.iter().skip(1) {
            let other = labels(member);
            if other != reference {
                let differs: Vec<String> = reference
                    .keys()
                    .chain(other.keys())
                    .filter(|l| reference.get(*l) != other.get(*l))
                    .filter(|l| !(self.sync_incomplete && self.is_direct_write(l)))
                    .filter(|l| {
                        !(self.sync_incomplete
                            && (self.no_room_for(objects, member, first, l)
                                || self.no_room_for(objects, first, member, l)))
                    })
                    .cloned()
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect();
                if differs.is_empty() {
                    continue;
                }
                return Some(violation(
                    "I1",
                    format!(
                        "after the heal, usable members {first} and {member} hold different objects: {}",
                        differs.join(", ")
                    ),
                ));
            }
        }
        for (label, count) in &reference {
            // Held at all first: a destroyed key pair held once is two objects, not a
            // duplicate (its pair-ness left `created` with it).
            if !self.created.contains_key(label)
                && !self.uncertain.contains(label)
                && !self.direct.contains_key(label)
            {
                return Some(violation(
                    "I1",
                    format!(
                        "object {label} is held although the application destroyed it or never made it"
                    ),
                ));
            }
            let pair = self.created.get(label).copied().unwrap_or(false);
            let expected = if pair { 2 } else { 1 };
            if *count > expected && !self.uncertain.contains(label) {
                return Some(violation(
                    "I1",
                    format!("object {label} is held {count} times (duplicated)"),
                ));
            }
        }
        for label in self.created.keys() {
            if reference.contains_key(label) || self.uncertain.contains(label) {
                continue;
            }
            let held_elsewhere = objects.iter().any(|(m, objs)| {
                !usable.contains(m) && objs.iter().any(|o| o.split('/').next() == Some(label))
            });
            if !held_elsewhere {
                return Some(violation(
                    "I1",
                    format!(
                        "object {label} was created and never destroyed but no member holds it"
                    ),
                ));
            }
        }
        None
    }

    /// I4: the `Needs sync` of a `listgroups` against the healthy members' object sets.
    fn needs_sync(&self, _at: Millis, output: &str) -> Option<Violation> {
        let claimed = output
            .lines()
            .find_map(|l| l.trim().strip_prefix("Needs sync:"))
            .map(|v| v.trim().to_string())?;
        let last_objects = self.obs.events.iter().rev().find_map(|(_, h)| match h {
            Happening::Checkpoint { objects, .. } => Some(objects),
            _ => None,
        })?;
        let sets: BTreeSet<Vec<String>> = self
            .truth
            .group()
            .iter()
            .filter(|m| self.truth.healthy(m))
            .map(|m| last_objects.get(m).cloned().unwrap_or_default())
            .collect();
        let differ = sets.len() > 1;
        if (claimed == "yes") != differ {
            return Some(violation(
                "I4",
                format!(
                    "listgroups says `Needs sync: {claimed}` while the members' object sets {}",
                    if differ { "differ" } else { "are equal" }
                ),
            ));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::super::observe::{FaultObs, Settings};
    use super::*;

    const PREFIX: &str = "Wed Oct  4 16:29:21 2017 : [1] HA group: 1A ";

    /// Two members `A` and `B`, retry count 3, interval 60 s, activeBasic.
    pub(super) fn obs(events: Vec<(Millis, Happening)>) -> Observations {
        obs_retry(3, events)
    }

    /// [`obs`] with another retry count.
    pub(super) fn obs_retry(retry: i32, events: Vec<(Millis, Happening)>) -> Observations {
        Observations {
            members: vec!["A".into(), "B".into()],
            standby: vec![],
            settings: Settings {
                retry,
                interval: 60,
                enhanced: false,
                failover_on_deactivation: true,
                synchronize: true,
                ha_only: false,
                naive_slot: false,
            },
            events,
            log_start: None,
        }
    }

    /// An application call answered `result`; `holders` as the observer records them.
    pub(super) fn app(op: OpObs, result: &str, holders: Option<&[&str]>) -> Happening {
        Happening::App(AppObs {
            op,
            result: result.into(),
            count: 1,
            served_by: vec![],
            holders: holders.map(|h| h.iter().map(|s| s.to_string()).collect()),
            issued: None,
            chosen_at: None,
            executed: None,
            thread: false,
        })
    }

    pub(super) fn create_k1() -> Happening {
        app(
            OpObs::Create {
                label: "k1".into(),
                token: true,
                pair: false,
            },
            "CKR_OK",
            None,
        )
    }

    pub(super) fn login() -> Happening {
        app(OpObs::Login, "CKR_OK", None)
    }

    fn sign() -> OpObs {
        OpObs::Crypto { label: "k1".into() }
    }

    fn log(msg: &str) -> Happening {
        Happening::Log(format!("{PREFIX}{msg}"))
    }

    #[test]
    fn a_failure_with_a_usable_holder_breaks_i2_and_without_one_does_not() {
        let bad = obs(vec![
            (0, login()),
            (1, create_k1()),
            (5, app(sign(), "CKR_OBJECT_HANDLE_INVALID", Some(&["B"]))),
        ]);
        assert_eq!(check(&bad, &[], None).map(|v| v.invariant), Some("I2"));
        let fine = obs(vec![
            (0, login()),
            (1, create_k1()),
            (
                1,
                Happening::Fault {
                    member: "B".into(),
                    fault: FaultObs::Drop,
                },
            ),
            (5, app(sign(), "CKR_OBJECT_HANDLE_INVALID", Some(&["B"]))),
        ]);
        assert_eq!(check(&fine, &[], None), None);
    }

    #[test]
    fn switching_to_basic_during_an_enhanced_total_loss_loses_the_session() {
        let drop = |m: &str| Happening::Fault {
            member: m.into(),
            fault: FaultObs::Drop,
        };
        let switch = |t| {
            (
                t,
                Happening::Command {
                    line: "hagroup recoverymode -group g -mode activeBasic".into(),
                    output: "Command Result : No Error".into(),
                },
            )
        };
        let mut events = vec![
            (0, login()),
            (0, app(OpObs::OpenSession, "CKR_OK", None)),
            (
                0,
                Happening::Command {
                    line: "hagroup recoverymode -group g -mode activeEnhanced".into(),
                    output: "Command Result : No Error".into(),
                },
            ),
            (10, drop("A")),
            (10, drop("B")),
            (10, log("has dropped member: A")),
            (10, log("has dropped member: B")),
            (10, log("all members gone offline.")),
        ];
        let create = |t| {
            (
                t,
                app(
                    OpObs::Create {
                        label: "d1".into(),
                        token: true,
                        pair: false,
                    },
                    "CKR_SESSION_HANDLE_INVALID",
                    None,
                ),
            )
        };
        // Without the switch the session survives the enhanced loss: the failure is the
        // engine's, with A back and usable.
        let mut kept = events.clone();
        kept.push((
            20,
            Happening::Fault {
                member: "A".into(),
                fault: FaultObs::Restore,
            },
        ));
        kept.push((60_010, log("recovery attempt 1 succeeded for member: A")));
        kept.push(create(200_000));
        assert_eq!(
            check(&obs(kept.clone()), &[], None).map(|v| v.invariant),
            Some("I2")
        );
        // D25: the switch while both are still gone loses the session.
        events.push(switch(15));
        events.extend(kept.split_off(8));
        assert_eq!(check(&obs(events), &[], None), None);
    }

    /// D25 (D11): the sessions lost with the switch no longer count; closing the only session
    /// opened since logs the application out (PKCS#11), so a sign then is its own failure.
    /// Seeds 71139, 44397 and eight others of the 100,000-seed run.
    #[test]
    fn sessions_lost_to_a_switch_during_a_total_loss_keep_no_login() {
        let fault = |m: &str, fault| Happening::Fault {
            member: m.into(),
            fault,
        };
        let run = |opened: usize| {
            let mut events = vec![
                (0, app(OpObs::OpenSession, "CKR_OK", None)),
                (0, login()),
                (
                    0,
                    Happening::Command {
                        line: "hagroup recoverymode -group g -mode activeEnhanced".into(),
                        output: "Command Result : No Error".into(),
                    },
                ),
                (10, fault("A", FaultObs::Drop)),
                (10, fault("B", FaultObs::Drop)),
                (10, log("has dropped member: A")),
                (10, log("has dropped member: B")),
                (10, log("all members gone offline.")),
                (
                    15,
                    Happening::Command {
                        line: "hagroup recoverymode -group g -mode activeBasic".into(),
                        output: "Command Result : No Error".into(),
                    },
                ),
                (20, fault("A", FaultObs::Restore)),
                (20, fault("B", FaultObs::Restore)),
                (60_010, log("recovery attempt 1 succeeded for member: A")),
                (60_010, log("recovery attempt 1 succeeded for member: B")),
                (
                    100_000,
                    app(OpObs::CloseSession, "CKR_SESSION_HANDLE_INVALID", None),
                ),
            ];
            for _ in 0..opened {
                events.push((100_000, app(OpObs::OpenSession, "CKR_OK", None)));
            }
            events.push((100_000, login()));
            events.push((100_000, create_k1()));
            events.push((100_000, app(OpObs::CloseSession, "CKR_OK", None)));
            events.push((
                100_000,
                app(sign(), "CKR_OBJECT_HANDLE_INVALID", Some(&["A", "B"])),
            ));
            obs(events)
        };
        // The session lost with the switch would have kept the login: not any more.
        assert_eq!(check(&run(1), &[], None), None);
        // A second session opened since keeps it: the failure is the engine's.
        assert_eq!(check(&run(2), &[], None).map(|v| v.invariant), Some("I2"));
    }

    /// A creation that failed gave the application no handle: its later calls on the label
    /// pass an invalid one, and `CKR_OBJECT_HANDLE_INVALID` is its own even while a member
    /// holds an object of that label (the orphan of a lost answer spread by a `synchronize`,
    /// D37, D8: seed 42013). Made, the same failure is the engine's.
    #[test]
    fn a_label_whose_creation_failed_has_no_handle_to_fail() {
        let run = |created: &str| {
            obs(vec![
                (0, app(OpObs::OpenSession, "CKR_OK", None)),
                (0, login()),
                (
                    1,
                    app(
                        OpObs::Create {
                            label: "k1".into(),
                            token: true,
                            pair: false,
                        },
                        created,
                        None,
                    ),
                ),
                (5, app(sign(), "CKR_OBJECT_HANDLE_INVALID", Some(&["A"]))),
            ])
        };
        assert_eq!(check(&run("CKR_FUNCTION_FAILED"), &[], None), None);
        assert_eq!(
            check(&run("CKR_OK"), &[], None).map(|v| v.invariant),
            Some("I2")
        );
    }

    #[test]
    fn a_signature_without_login_breaks_i7() {
        let o = obs(vec![(5, app(sign(), "CKR_OK", None))]);
        assert_eq!(check(&o, &[], None).map(|v| v.invariant), Some("I7"));
    }

    /// A thread's signature needs the login when it is issued (D60): another thread's logout
    /// while it is in flight does not make its success a breach; issued after the logout, it is.
    #[test]
    fn a_thread_signature_needs_the_login_when_issued() {
        let threaded = |issued| {
            let Happening::App(mut a) = app(sign(), "CKR_OK", None) else {
                unreachable!()
            };
            a.issued = Some(issued);
            Happening::App(a)
        };
        let logout = || app(OpObs::Logout, "CKR_OK", None);
        let in_flight = obs(vec![(0, login()), (3, logout()), (5, threaded(2))]);
        assert_eq!(check(&in_flight, &[], None), None);
        let same_instant = obs(vec![(0, login()), (3, logout()), (5, threaded(3))]);
        assert_eq!(check(&same_instant, &[], None), None);
        let after = obs(vec![(0, login()), (3, logout()), (5, threaded(4))]);
        assert_eq!(check(&after, &[], None).map(|v| v.invariant), Some("I7"));
    }

    /// A `C_CloseSession` that fails closed nothing (D65): a thread whose session never opened
    /// does not log the application out of the session it still holds; a close that succeeds
    /// on the last session does.
    #[test]
    fn a_failed_close_keeps_the_login() {
        let open = || app(OpObs::OpenSession, "CKR_OK", None);
        let close = |r| app(OpObs::CloseSession, r, None);
        let failed = obs(vec![
            (0, open()),
            (0, login()),
            (1, close("CKR_SESSION_HANDLE_INVALID")),
            (5, app(sign(), "CKR_OK", None)),
        ]);
        assert_eq!(check(&failed, &[], None), None);
        let closed = obs(vec![
            (0, open()),
            (0, login()),
            (1, close("CKR_OK")),
            (5, app(sign(), "CKR_OK", None)),
        ]);
        assert_eq!(check(&closed, &[], None).map(|v| v.invariant), Some("I7"));
        let logout = |r| app(OpObs::Logout, r, None);
        let no_session = obs(vec![
            (0, open()),
            (0, login()),
            (1, logout("CKR_SESSION_HANDLE_INVALID")),
            (5, app(sign(), "CKR_OK", None)),
        ]);
        assert_eq!(check(&no_session, &[], None), None);
        let logged_out = obs(vec![
            (0, open()),
            (0, login()),
            (1, logout("CKR_OK")),
            (5, app(sign(), "CKR_OK", None)),
        ]);
        assert_eq!(
            check(&logged_out, &[], None).map(|v| v.invariant),
            Some("I7")
        );
    }

    #[test]
    fn recovery_lines_follow_d9() {
        let drop = |t| {
            (
                t,
                Happening::Fault {
                    member: "B".into(),
                    fault: FaultObs::Drop,
                },
            )
        };
        let good = obs(vec![
            (0, login()),
            drop(5_000),
            (10_000, log("has dropped member: B")),
            (
                70_000,
                log("recovery attempt 1 failed for member: B. Code: 0x30 : CKR_DEVICE_ERROR."),
            ),
        ]);
        assert_eq!(check(&good, &[], None), None);
        let late = obs(vec![
            (0, login()),
            drop(5_000),
            (10_000, log("has dropped member: B")),
            (
                100_000,
                log("recovery attempt 1 failed for member: B. Code: 0x30 : CKR_DEVICE_ERROR."),
            ),
        ]);
        assert_eq!(check(&late, &[], None).map(|v| v.invariant), Some("I3"));
        let numbered_wrong = obs(vec![
            (0, login()),
            drop(5_000),
            (10_000, log("has dropped member: B")),
            (
                70_000,
                log("recovery attempt 2 failed for member: B. Code: 0x30 : CKR_DEVICE_ERROR."),
            ),
        ]);
        assert_eq!(
            check(&numbered_wrong, &[], None).map(|v| v.invariant),
            Some("I3")
        );
    }

    fn failed(member: &str, call: &str, at: Millis) -> Happening {
        Happening::Failed {
            member: member.into(),
            call: call.into(),
            code: "CKR_DEVICE_ERROR".into(),
            called_at: at,
        }
    }

    #[test]
    fn a_failed_call_needs_its_drop_line_and_the_line_needs_the_failure() {
        // The member side says B failed a sign (its faults say nothing): the line is due.
        let answered = obs(vec![
            (0, login()),
            (10, failed("B", "Sign", 10)),
            (10, log("has dropped member: B")),
        ]);
        assert_eq!(check(&answered, &[], None), None);
        let silent = obs(vec![
            (0, login()),
            (10, failed("B", "Sign", 10)),
            (60_000, app(sign(), "CKR_OK", None)),
        ]);
        assert_eq!(check(&silent, &[], None).map(|v| v.invariant), Some("I3"));
        // D40: a teardown's failure drops nothing.
        let teardown = obs(vec![
            (0, login()),
            (10, failed("B", "CloseSession", 10)),
            (60_000, app(sign(), "CKR_OK", None)),
        ]);
        assert_eq!(check(&teardown, &[], None), None);
    }

    #[test]
    fn the_first_attempt_is_due_one_interval_after_the_failed_call() {
        // The failure at 10 s was recorded (with its line) 30 s later: D9 counts from 10 s.
        let o = obs(vec![
            (0, login()),
            (40_000, failed("B", "Sign", 10_000)),
            (40_000, log("has dropped member: B")),
            (
                70_000,
                log("recovery attempt 1 failed for member: B. Code: 0x30 : CKR_DEVICE_ERROR."),
            ),
        ]);
        assert_eq!(check(&o, &[], None), None);
    }

    /// The application logs in; member B drops at 10 s under its first call, a `Sign`.
    fn b_drops_at_10_s() -> Vec<(Millis, Happening)> {
        vec![
            (0, login()),
            (
                10_000,
                Happening::Fault {
                    member: "B".into(),
                    fault: FaultObs::Drop,
                },
            ),
            (10_000, failed("B", "Sign", 10_000)),
            (10_000, log_at(10, "has dropped member: B")),
        ]
    }

    /// A line stamped `secs` after the clock's start (2017-10-04 16:29:21).
    fn log_at(secs: u64, msg: &str) -> Happening {
        let start = sim::clock::parse_civil("2017-10-04 16:29:21").expect("start");
        let t = sim::clock::add_seconds(&start, secs);
        let line = format!("{} : [1] HA group: 1A {msg}", ha_engine::log::ctime(&t));
        Happening::Log(line)
    }

    fn with_clock(mut o: Observations) -> Observations {
        let start = sim::clock::parse_civil("2017-10-04 16:29:21").expect("start");
        o.log_start = Some(sim::clock::seconds_since_epoch(&start));
        o
    }

    const FAILED_1: &str =
        "recovery attempt 1 failed for member: B. Code: 0x30 : CKR_DEVICE_ERROR.";
    const FAILED_2: &str =
        "recovery attempt 2 failed for member: B. Code: 0x30 : CKR_DEVICE_ERROR.";

    #[test]
    fn d9_reads_the_instant_a_line_states_not_when_it_was_recorded() {
        // Attempt 1 ran at 70 s (its line says so) inside an engine call that returned 40 s
        // later (two hung members, B28): on time (D9, D15).
        let events = vec![
            (0, login()),
            (10_000, failed("B", "Sign", 10_000)),
            (10_000, log_at(10, "has dropped member: B")),
            (110_000, log_at(70, FAILED_1)),
        ];
        assert_eq!(check(&with_clock(obs(events.clone())), &[], None), None);
        // Without the clock the record's instant is all there is: 40 s late.
        assert_eq!(
            check(&obs(events), &[], None).map(|v| v.invariant),
            Some("I3")
        );
        // A line that states a wrong instant is still late.
        let wrong = vec![
            (0, login()),
            (10_000, failed("B", "Sign", 10_000)),
            (10_000, log_at(10, "has dropped member: B")),
            (110_000, log_at(110, FAILED_1)),
        ];
        assert_eq!(
            check(&with_clock(obs(wrong)), &[], None).map(|v| v.invariant),
            Some("I3")
        );
    }

    #[test]
    fn i6_waits_for_a_recovery_thread_busy_since_before_the_attempt_was_due() {
        let fault = |f| Happening::Fault {
            member: "B".into(),
            fault: f,
        };
        let healed = Happening::Checkpoint {
            label: "healed".into(),
            objects: Default::default(),
            contents: Default::default(),
        };
        // B dropped at 10 s, attempt 1 failed at 70 s, B healthy again at 80 s: attempt 2 is
        // due at 130 s and must have brought B back by the `healed` checkpoint at 201 s.
        let run = |busy: Option<(Millis, Millis)>| {
            let mut events = b_drops_at_10_s();
            events.extend([
                (70_000, log_at(70, FAILED_1)),
                (80_000, fault(FaultObs::Restore)),
            ]);
            if let Some((from, until)) = busy {
                events.push((from, Happening::RecoveryBusy { until }));
            }
            events.push((201_000, healed.clone()));
            check(&with_clock(obs(events)), &[], None).map(|v| v.invariant)
        };
        assert_eq!(run(None), Some("I6"));
        // The run that made attempt 1 at 70 s keeps the recovery thread busy until 300 s
        // (a reintroduction from a slow source): attempt 2 waits for it (D83).
        assert_eq!(run(Some((70_000, 300_000))), None);
        // A run that began after attempt 2 was due excuses nothing: the thread was free then.
        assert_eq!(run(Some((140_000, 300_000))), Some("I6"));
        // Nor does one that ended before the checkpoint: the attempt ran when it was free.
        assert_eq!(run(Some((70_000, 150_000))), Some("I6"));
    }

    #[test]
    fn i6_waits_for_a_busy_recovery_thread_after_a_recover_no_call_has_driven() {
        // D113 (seed 943171 of generator v8): as in the D83 test, B's attempt 2 is due at 130 s
        // while the run of 70 s keeps the recovery thread busy; a `hagroup recover` at 150 s
        // makes the attempt due at once, on that thread or at the application's next call
        // (B45, D9). Neither has come by the `healed` checkpoint at 201 s.
        let healed = Happening::Checkpoint {
            label: "healed".into(),
            objects: Default::default(),
            contents: Default::default(),
        };
        let recover = Happening::Command {
            line: "hagroup recover".into(),
            output: "Manual recovery requested for every group.\n\nCommand Result : No Error"
                .into(),
        };
        let run = |busy: (Millis, Millis), recover_at: Millis, call_at: Option<Millis>| {
            let mut events = b_drops_at_10_s();
            events.extend([
                (70_000, log_at(70, FAILED_1)),
                (
                    80_000,
                    Happening::Fault {
                        member: "B".into(),
                        fault: FaultObs::Restore,
                    },
                ),
                (busy.0, Happening::RecoveryBusy { until: busy.1 }),
                (recover_at, recover.clone()),
            ]);
            if let Some(t) = call_at {
                events.push((t, app(sign(), "CKR_OK", None)));
            }
            events.push((201_000, healed.clone()));
            // The record is in time order (stable: one instant keeps the order above).
            events.sort_by_key(|(t, _)| *t);
            check(&with_clock(obs(events)), &[], None).map(|v| v.invariant)
        };
        // Busy since before the attempt was due and still at the checkpoint, no call since the
        // request: the attempt has not run yet.
        assert_eq!(run((70_000, 300_000), 150_000, None), None);
        // A request before the automatic attempt was due waits the same way.
        assert_eq!(run((70_000, 300_000), 100_000, None), None);
        // An application call after the request drives the attempt (B45): B must be back.
        assert_eq!(run((70_000, 300_000), 150_000, Some(160_000)), Some("I6"));
        // A call before the request drove nothing of it.
        assert_eq!(run((70_000, 300_000), 150_000, Some(140_000)), None);
        // The thread free before the checkpoint ran the attempt then.
        assert_eq!(run((70_000, 190_000), 150_000, None), Some("I6"));
        // A run that began after the attempt was due (and the request made) excuses nothing.
        assert_eq!(run((160_000, 300_000), 150_000, None), Some("I6"));
        // With a request before the automatic attempt was due, a run begun between them
        // excuses nothing either: the thread was free when the request made it due.
        assert_eq!(run((110_000, 300_000), 100_000, None), Some("I6"));
    }

    #[test]
    fn an_attempt_due_while_the_recovery_thread_is_busy_runs_when_it_is_free() {
        let busy = |until| (70_000, Happening::RecoveryBusy { until });
        let base = vec![
            (0, login()),
            (10_000, failed("B", "Sign", 10_000)),
            (10_000, log_at(10, "has dropped member: B")),
            (70_000, log_at(70, FAILED_1)),
        ];
        // Attempt 2 was due at 130 s; the run at 70 s kept the thread busy until 200 s.
        let mut late = base.clone();
        late.push(busy(200_000));
        late.push((200_000, log_at(200, FAILED_2)));
        assert_eq!(check(&with_clock(obs(late.clone())), &[], None), None);
        // The run that begins when the thread is free serves attempt 2, however long it lasts.
        let mut chained = late.clone();
        chained.push((200_000, Happening::RecoveryBusy { until: 900_000 }));
        assert_eq!(check(&with_clock(obs(chained)), &[], None), None);
        // Without that witness, 70 s late.
        let mut unexcused = base;
        unexcused.push((200_000, log_at(200, FAILED_2)));
        assert_eq!(
            check(&with_clock(obs(unexcused)), &[], None).map(|v| v.invariant),
            Some("I3")
        );
    }

    #[test]
    fn a_drop_line_for_a_reachable_member_breaks_i3() {
        let o = obs(vec![(0, login()), (10, log("has dropped member: B"))]);
        assert_eq!(check(&o, &[], None).map(|v| v.invariant), Some("I3"));
    }

    #[test]
    fn an_attempt_driven_by_a_login_comes_before_that_login() {
        // B's credential fails; the application logs out, the operator asks for a manual
        // recovery, and the next C_Login (at 20 s, a hung member makes it return at 40 s)
        // drives the attempt before its own login (B45): the attempt only reconnects B and
        // says `succeeded`; the login then fails on B (B49).
        let run = |succeeded_at: u64| {
            with_clock(obs(vec![
                (0, login()),
                (
                    0,
                    Happening::Fault {
                        member: "B".into(),
                        fault: FaultObs::LoginFailure,
                    },
                ),
                (
                    0,
                    log(
                        "can not login to member: B, autorecovery will be disabled. Code: 0xA0 : CKR_PIN_INCORRECT",
                    ),
                ),
                (1_000, app(OpObs::Logout, "CKR_OK", None)),
                (
                    1_000,
                    Happening::Command {
                        line: "hagroup recover".into(),
                        output: "Command Result : No Error".into(),
                    },
                ),
                (20_000, login()),
                (
                    40_000,
                    log_at(succeeded_at, "recovery attempt 1 succeeded for member: B"),
                ),
            ]))
        };
        assert_eq!(check(&run(20), &[], None), None);
        // A line the recovery thread wrote at 40 s, after that login: B cannot log in.
        assert_eq!(check(&run(40), &[], None).map(|v| v.invariant), Some("I3"));
    }

    #[test]
    fn a_fault_the_call_set_off_after_its_attempt_leaves_succeeded_true() {
        // B was dropped and came back; the operator asks for a manual recovery. The next call
        // (at 20 s; a hung member makes it return at 40 s) drives B's attempt first (B45),
        // then its own work sets off an armed fault on B (`call`): the attempt met B
        // reachable, so `succeeded` comes first and its drop after.
        let run = |logged_out: bool, call: &str, next: Happening| {
            let mut events = vec![
                (0, login()),
                (
                    0,
                    Happening::Fault {
                        member: "B".into(),
                        fault: FaultObs::Drop,
                    },
                ),
                (0, failed("B", "Sign", 0)),
                (0, log_at(0, "has dropped member: B")),
            ];
            if logged_out {
                events.push((1_000, app(OpObs::Logout, "CKR_OK", None)));
            }
            events.extend([
                (
                    1_000,
                    Happening::Fault {
                        member: "B".into(),
                        fault: FaultObs::Restore,
                    },
                ),
                (
                    1_000,
                    Happening::Command {
                        line: "hagroup recover".into(),
                        output: "Command Result : No Error".into(),
                    },
                ),
                (
                    20_000,
                    Happening::SetOff {
                        member: "B".into(),
                        call: call.into(),
                        nth: 1,
                        armed_at: 1_000,
                    },
                ),
                (
                    20_000,
                    Happening::Fault {
                        member: "B".into(),
                        fault: FaultObs::LostAnswer,
                    },
                ),
                (20_000, next),
                (40_000, failed("B", call, 20_000)),
                (
                    40_000,
                    log_at(20, "recovery attempt 1 succeeded for member: B"),
                ),
                (40_000, log_at(20, "has dropped member: B")),
            ]);
            with_clock(obs(events))
        };
        let generate = create_k1;
        // The application's own login, which an attempt without one never makes.
        assert_eq!(check(&run(true, "Login", login()), &[], None), None);
        // A creation: no attempt creates anything on the member it brings back.
        assert_eq!(
            check(&run(false, "GenerateKey", generate()), &[], None),
            None
        );
        // The attempt logs in while the application holds a login (B43): the fault may have
        // struck the attempt itself, which then cannot have succeeded.
        assert_eq!(
            lies_about_b(&run(false, "Login", generate())),
            Some(("I3", true))
        );
        // The attempt compares the member's objects with the table (B43): the same.
        assert_eq!(
            lies_about_b(&run(false, "FindObjects", generate())),
            Some(("I3", true))
        );
        // D98: without the application's login the attempt only reconnects; the comparison
        // waits for the login (decisions: "Recovery while the application holds no login").
        assert_eq!(check(&run(true, "FindObjects", login()), &[], None), None);
        // Its reconnection calls are the attempt's own: a fault they set off makes the
        // attempt fail, so `succeeded` would be false.
        assert_eq!(
            lies_about_b(&run(true, "OpenSession", login())),
            Some(("I3", true))
        );
    }

    /// B drops at 10 s and comes back at 11 s; the operator asks for a manual recovery; at
    /// 20 s a lost answer armed at `armed_at` goes off on B's `nth` login since (D104, D111).
    fn recovered_b_loses_an_answer_at_login(
        nth: u32,
        armed_at: Millis,
    ) -> Vec<(Millis, Happening)> {
        let mut events = b_drops_at_10_s();
        events.extend(back_at_11_s_then_loses_an_answer(
            "B", "Login", nth, armed_at,
        ));
        events
    }

    /// `member` is back at 11 s and the operator asks for a manual recovery; at 20 s a lost
    /// answer armed at `armed_at` goes off on the `nth` `call` to it since.
    fn back_at_11_s_then_loses_an_answer(
        member: &str,
        call: &str,
        nth: u32,
        armed_at: Millis,
    ) -> [(Millis, Happening); 4] {
        [
            (
                11_000,
                Happening::Fault {
                    member: member.into(),
                    fault: FaultObs::Restore,
                },
            ),
            (
                11_000,
                Happening::Command {
                    line: "hagroup recover".into(),
                    output: "Command Result : No Error".into(),
                },
            ),
            (
                20_000,
                Happening::SetOff {
                    member: member.into(),
                    call: call.into(),
                    nth,
                    armed_at,
                },
            ),
            (
                20_000,
                Happening::Fault {
                    member: member.into(),
                    fault: FaultObs::LostAnswer,
                },
            ),
        ]
    }

    /// The call's answer at 40 s: B's login failed (the lost answer), and the log tells of B's
    /// attempt succeeding and then of B's drop (bug 5's order).
    fn b_succeeded_then_dropped() -> [(Millis, Happening); 3] {
        [
            (40_000, failed("B", "Login", 20_000)),
            (
                40_000,
                log_at(20, "recovery attempt 1 succeeded for member: B"),
            ),
            (40_000, log_at(20, "has dropped member: B")),
        ]
    }

    /// The violation `o` breaks, and whether it is I3's "`succeeded` for member B".
    fn lies_about_b(o: &Observations) -> Option<(&'static str, bool)> {
        check(o, &[], None).map(|v| (v.invariant, v.detail.contains("`succeeded` for member B")))
    }

    #[test]
    fn d104_a_second_login_since_an_arming_while_out_is_the_calls_own() {
        // B drops at 10 s and comes back; the operator asks for a manual recovery. The next
        // call (at 20 s, returning at 40 s) drives B's attempt, which logs in to B once (B43);
        // an armed fault goes off on B's `nth` login since it was armed at `armed_at`.
        let run = |nth: u32, armed_at: Millis| {
            let mut events = recovered_b_loses_an_answer_at_login(nth, armed_at);
            events.push((20_000, create_k1()));
            events.extend(b_succeeded_then_dropped());
            with_clock(obs(events))
        };
        // Armed while B was out, nothing about B logged since: the first login was the
        // attempt's, the second the creation's own (exploration seeds 213062, 273900, 300935).
        assert_eq!(check(&run(2, 11_000), &[], None), None);
        // The first login since the arming is the attempt's own: a lie.
        assert_eq!(lies_about_b(&run(1, 11_000)), Some(("I3", true)));
        // Armed while B was still in service: its own logins then counted, so the second may
        // be the attempt's.
        assert_eq!(lies_about_b(&run(2, 5_000)), Some(("I3", true)));
    }

    #[test]
    fn d111_the_thread_sessions_opened_in_one_instant_share_what_they_set_off() {
        // As in D104's test, B is out of service and recovered manually; a `Threads` step's
        // sessions are opened at 20 s: the first open drives B's attempt (its one login) and
        // its own login on B sets off the armed lost answer (B's second login since the
        // arming); the second open is recorded in the same instant, before the first one's
        // lines, which come when the opens are paid for (exploration seed 885409, v8).
        let thread_open = || {
            Happening::App(AppObs {
                thread: true,
                ..match app(OpObs::OpenSession, "CKR_OK", None) {
                    Happening::App(a) => a,
                    _ => unreachable!(),
                }
            })
        };
        let run = |nth: u32, line_between: bool| {
            let mut events = recovered_b_loses_an_answer_at_login(nth, 11_000);
            events.push((20_000, thread_open()));
            if line_between {
                events.push((
                    20_000,
                    log_at(20, "configured as a \"PASSWORD Based\" virtual device"),
                ));
            }
            events.push((20_000, thread_open()));
            events.extend(b_succeeded_then_dropped());
            with_clock(obs(events))
        };
        // Both opens in one instant, the lines after both: the second login is the first
        // open's own work, after its attempt.
        assert_eq!(lies_about_b(&run(2, false)), None);
        // The first login since the arming is still the attempt's own: a lie.
        assert_eq!(lies_about_b(&run(1, false)), Some(("I3", true)));
        // A line recorded between the opens ends the first one's lines: what it set off is
        // no excuse for the lines after the second.
        assert_eq!(lies_about_b(&run(2, true)), Some(("I3", true)));
    }

    #[test]
    fn d103_an_attempt_never_exports_from_the_member_it_brings_back() {
        // The same run as above, logged in: the creation's replication (D103) exports from B,
        // which no attempt does (it clones into B): exploration seed 273521.
        let run = |call: &str| {
            with_clock(obs(vec![
                (0, login()),
                (
                    0,
                    Happening::Fault {
                        member: "B".into(),
                        fault: FaultObs::Drop,
                    },
                ),
                (0, failed("B", "Sign", 0)),
                (0, log_at(0, "has dropped member: B")),
                (
                    1_000,
                    Happening::Fault {
                        member: "B".into(),
                        fault: FaultObs::Restore,
                    },
                ),
                (
                    1_000,
                    Happening::Command {
                        line: "hagroup recover".into(),
                        output: "Command Result : No Error".into(),
                    },
                ),
                (
                    20_000,
                    Happening::SetOff {
                        member: "B".into(),
                        call: call.into(),
                        nth: 1,
                        armed_at: 1_000,
                    },
                ),
                (
                    20_000,
                    Happening::Fault {
                        member: "B".into(),
                        fault: FaultObs::LostAnswer,
                    },
                ),
                (20_000, create_k1()),
                (40_000, failed("B", call, 20_000)),
                (
                    40_000,
                    log_at(20, "recovery attempt 1 succeeded for member: B"),
                ),
                (40_000, log_at(20, "has dropped member: B")),
            ]))
        };
        assert_eq!(check(&run("ExportClone"), &[], None), None);
        // A clone into B is the attempt's own copy (B43, synchronisation on): still a lie.
        assert_eq!(
            check(&run("ImportClone"), &[], None)
                .map(|v| (v.invariant, v.detail.contains("`succeeded` for member B"))),
            Some(("I3", true))
        );
    }

    #[test]
    fn d110_an_attempt_with_no_member_in_service_clones_nothing_into_it() {
        // activeEnhanced, logged in: A drops at 0 s; B (the only holder of k1) drops at 10 s
        // only when `b_out`, which loses every member (the session survives, D11). Both come
        // back; a manual recovery; the next call (at 20 s, returning at 40 s) drives A's
        // attempt, then B's (member order, D9); a clone into A (B's rejoin filling A's gap,
        // B19) loses its answer, and A is dropped after both `succeeded` lines (bug 5's order;
        // exploration seed 862966 of generator v8).
        let run = |b_out: bool| {
            let drop = |m: &str, at: Millis| {
                [
                    (
                        at,
                        Happening::Fault {
                            member: m.into(),
                            fault: FaultObs::Drop,
                        },
                    ),
                    (at, failed(m, "Sign", at)),
                    (at, log_at(at / 1000, &format!("has dropped member: {m}"))),
                ]
            };
            let mut events = vec![(0, login()), (0, create_k1())];
            events.extend(drop("A", 0));
            if b_out {
                events.extend(drop("B", 10_000));
                events.push((10_000, log_at(10, "all members gone offline.")));
                events.push((
                    11_000,
                    Happening::Fault {
                        member: "B".into(),
                        fault: FaultObs::Restore,
                    },
                ));
            }
            events.extend(back_at_11_s_then_loses_an_answer(
                "A",
                "ImportClone",
                1,
                11_000,
            ));
            events.extend([
                (
                    20_000,
                    app(
                        OpObs::Create {
                            label: "k2".into(),
                            token: true,
                            pair: false,
                        },
                        "CKR_OK",
                        None,
                    ),
                ),
                (40_000, failed("A", "ImportClone", 20_000)),
                (
                    40_000,
                    log_at(20, "recovery attempt 1 succeeded for member: A"),
                ),
            ]);
            if b_out {
                events.push((
                    40_000,
                    log_at(20, "recovery attempt 1 succeeded for member: B"),
                ));
            }
            events.push((40_000, log_at(20, "has dropped member: A")));
            let mut o = with_clock(obs(events));
            o.settings.enhanced = true;
            o
        };
        // No member in service at A's line: its attempt had nothing to clone from, so the
        // clone into A came after its `succeeded`.
        assert_eq!(check(&run(true), &[], None), None);
        // B in service at A's line: the clone may be the attempt's own copy (B43), so A was
        // lost during its attempt and `succeeded` is a lie.
        assert_eq!(
            check(&run(false), &[], None)
                .map(|v| (v.invariant, v.detail.contains("`succeeded` for member A"))),
            Some(("I3", true))
        );
    }

    #[test]
    fn d98_a_clone_into_the_member_is_the_attempts_only_when_it_compares_and_copies() {
        // B was dropped and came back; a manual recovery; the next call (at 20 s, returning at
        // 40 s) drives B's attempt (B45), then an `ImportClone` into B loses its answer.
        let run = |logged_out: bool, synchronize: bool, next: Happening| {
            let mut events = vec![
                (0, login()),
                (
                    0,
                    Happening::Fault {
                        member: "B".into(),
                        fault: FaultObs::Drop,
                    },
                ),
                (0, failed("B", "Sign", 0)),
                (0, log_at(0, "has dropped member: B")),
            ];
            if logged_out {
                events.push((1_000, app(OpObs::Logout, "CKR_OK", None)));
            }
            events.extend([
                (
                    1_000,
                    Happening::Fault {
                        member: "B".into(),
                        fault: FaultObs::Restore,
                    },
                ),
                (
                    1_000,
                    Happening::Command {
                        line: "hagroup recover".into(),
                        output: "Command Result : No Error".into(),
                    },
                ),
                (
                    20_000,
                    Happening::SetOff {
                        member: "B".into(),
                        call: "ImportClone".into(),
                        nth: 1,
                        armed_at: 1_000,
                    },
                ),
                (
                    20_000,
                    Happening::Fault {
                        member: "B".into(),
                        fault: FaultObs::LostAnswer,
                    },
                ),
                (20_000, next),
                (40_000, failed("B", "ImportClone", 20_000)),
                (
                    40_000,
                    log_at(20, "recovery attempt 1 succeeded for member: B"),
                ),
                (40_000, log_at(20, "has dropped member: B")),
            ]);
            let mut o = with_clock(obs(events));
            o.settings.synchronize = synchronize;
            o
        };
        // Logged in, synchronisation on: the attempt clones what B lacks (B43); a lost answer
        // there fails the attempt, so `succeeded` is false.
        assert_eq!(
            lies_about_b(&run(false, true, create_k1())),
            Some(("I3", true))
        );
        // Exploration seeds 123742, 186195: no login before the call, so the attempt only
        // reconnected B and the login's own comparison cloned into it afterwards.
        assert_eq!(check(&run(true, true, login()), &[], None), None);
        // Exploration seed 197890: synchronisation off (D21), the attempt clones nothing; the
        // clone was the creation's own replication.
        assert_eq!(check(&run(false, false, create_k1()), &[], None), None);
    }

    #[test]
    fn attempt_one_counts_from_the_detection_the_drop_line_states() {
        // The call began at 10 s; the engine learnt of B's drop at 50 s (a teardown retried on
        // the hung member first, D54, then the call itself: two receive timeouts, B28), and
        // stamped its drop line then (D19): attempt 1 is due at 110 s (D9).
        let run = |attempt_at: u64| {
            with_clock(obs(vec![
                (0, login()),
                (50_000, failed("B", "Sign", 10_000)),
                (50_000, log_at(50, "has dropped member: B")),
                (attempt_at * 1000, log_at(attempt_at, FAILED_1)),
            ]))
        };
        assert_eq!(check(&run(110), &[], None), None);
        // 30 s after it is late, whichever instant D9 counts from.
        assert_eq!(check(&run(140), &[], None).map(|v| v.invariant), Some("I3"));
    }

    #[test]
    fn an_interval_lowered_within_the_attempts_second_may_precede_it() {
        // Attempt 1 failed at 70 s; at 100.4 s the interval goes from 60 s to 30 s, so
        // attempt 2 is due at once (never before now, D9): it runs at 100.4 s and its line,
        // recorded at 105 s, states 100 s (whole seconds, D15).
        let run = |command_at: Millis| {
            with_clock(obs(vec![
                (0, login()),
                (10_000, failed("B", "Sign", 10_000)),
                (10_000, log_at(10, "has dropped member: B")),
                (70_000, log_at(70, FAILED_1)),
                (
                    command_at,
                    Happening::Command {
                        line: "hagroup interval -interval 30".into(),
                        output: "Command Result : No Error".into(),
                    },
                ),
                (105_000, log_at(100, FAILED_2)),
            ]))
        };
        assert_eq!(check(&run(100_400), &[], None), None);
        // A change one second after the attempt cannot have moved it: 30 s early.
        assert_eq!(
            check(&run(101_400), &[], None).map(|v| v.invariant),
            Some("I3")
        );
    }

    #[test]
    fn a_deactivation_found_late_counts_from_the_notice() {
        // A is gone for good; B is deactivated and activated again at 0 while nobody calls.
        // Its first call at 111 s finds the lost login (D17): B is usable again only from the
        // next due attempt after that notice (D9, D19), so nothing was usable then (B53).
        let fault = |member: &str, fault| Happening::Fault {
            member: member.into(),
            fault,
        };
        let run = |offline_at: Millis| {
            obs(vec![
                (0, login()),
                (0, fault("A", FaultObs::Drop)),
                (0, failed("A", "Sign", 0)),
                (0, log("has dropped member: A")),
                (0, fault("B", FaultObs::Deactivate)),
                (0, fault("B", FaultObs::Activate)),
                (111_000, log("member: B deactivated")),
                (offline_at, log("all members gone offline.")),
            ])
        };
        assert_eq!(check(&run(111_000), &[], None), None);
        // One interval after the notice B is usable again: no total loss then.
        assert_eq!(
            check(&run(200_000), &[], None).map(|v| v.invariant),
            Some("I3")
        );
    }

    #[test]
    fn a_new_member_refusing_its_join_is_dropped_at_detection() {
        // C is added at run time and busy (D35) when its first pass detects it: it cannot be
        // brought in, so it is handled as a member dropped then (D24).
        let run = |busy: bool| {
            let mut events = vec![
                (0, login()),
                (
                    0,
                    Happening::Fault {
                        member: "C".into(),
                        fault: FaultObs::MemberAdded,
                    },
                ),
            ];
            if busy {
                events.push((
                    0,
                    Happening::Fault {
                        member: "C".into(),
                        fault: FaultObs::Busy(120_000),
                    },
                ));
            }
            events.push((60_000, log("detected new member member: C")));
            events.push((60_000, log("has dropped member: C")));
            obs(events)
        };
        assert_eq!(check(&run(true), &["C".to_string()], None), None);
        // A reachable member that answers has no reason to be dropped.
        assert_eq!(
            check(&run(false), &["C".to_string()], None).map(|v| v.invariant),
            Some("I3")
        );
    }

    #[test]
    fn attempt_one_may_wait_for_a_run_that_began_while_the_failed_call_waited() {
        // A sign to hung B began at 357 s and was answered at the receive timeout (377 s, the
        // drop, B28); the engine counts attempt 1 from there (D9): due at 437 s, while the run
        // of 420 s kept the recovery thread busy until 440 s (seed 4962).
        let run = |busy: bool| {
            let mut events = vec![
                (0, login()),
                (377_000, failed("B", "Sign", 357_000)),
                (377_000, log_at(377, "has dropped member: B")),
            ];
            if busy {
                events.push((420_000, Happening::RecoveryBusy { until: 440_000 }));
            }
            events.push((440_000, log_at(440, FAILED_1)));
            with_clock(obs(events))
        };
        assert_eq!(check(&run(true), &[], None), None);
        // An idle thread has no excuse: 23 s after the latest instant it was due.
        assert_eq!(
            check(&run(false), &[], None).map(|v| v.invariant),
            Some("I3")
        );
    }

    #[test]
    fn d99_i5_judges_the_standby_at_the_instant_the_call_was_issued() {
        // B is a standby; C is added at run time, so its first pass (60 s, D24) brings it in
        // and copies k1 to it (B54). A sign issued at `issued` and answered at 65 s was served
        // by B, and C held k1 when the answer came (exploration seed 163472).
        let run = |issued: Option<Millis>| {
            let mut o = obs(vec![
                (0, login()),
                (0, create_k1()),
                (
                    0,
                    Happening::Fault {
                        member: "C".into(),
                        fault: FaultObs::MemberAdded,
                    },
                ),
                (
                    65_000,
                    Happening::App(AppObs {
                        op: sign(),
                        result: "CKR_OK".into(),
                        count: 1,
                        served_by: vec!["B".into()],
                        holders: Some(vec!["B".into(), "C".into()]),
                        issued: None,
                        chosen_at: issued,
                        executed: None,
                        thread: false,
                    }),
                ),
                (65_000, log("detected new member member: C")),
            ]);
            o.standby = vec!["B".into()];
            o
        };
        // Issued before C's first pass: B was the engine's only choice.
        assert_eq!(check(&run(Some(58_000)), &["C".to_string()], None), None);
        // Issued once C was surely in service: C should have served it.
        let i5 = |o: &Observations| check(o, &["C".to_string()], None).map(|v| v.invariant);
        assert_eq!(i5(&run(Some(64_000))), Some("I5"));
        // Without the issue time, judged at the answer, as before.
        assert_eq!(i5(&run(None)), Some("I5"));
    }

    #[test]
    fn a_false_total_loss_breaks_i3() {
        let o = obs(vec![(0, login()), (10, log("all members gone offline."))]);
        assert_eq!(check(&o, &[], None).map(|v| v.invariant), Some("I3"));
    }

    #[test]
    fn a_member_whose_recovery_stopped_does_not_count_against_a_total_loss() {
        // A and B stopped by a failed login (D10) each; the log may say everything is gone.
        let o = obs(vec![
            (0, login()),
            (
                10,
                log(
                    "can not login to member: A, autorecovery will be disabled. Code: 0xA0 : CKR_PIN_INCORRECT",
                ),
            ),
            (
                10,
                log(
                    "can not login to member: B, autorecovery will be disabled. Code: 0xA0 : CKR_PIN_INCORRECT",
                ),
            ),
            (20, log("all members gone offline.")),
        ]);
        assert_eq!(check(&o, &[], None), None);
    }

    fn final_with(objects: &[(&str, &[&str])]) -> Happening {
        Happening::Checkpoint {
            label: "final".into(),
            objects: objects
                .iter()
                .map(|(m, objs)| (m.to_string(), objs.iter().map(|o| o.to_string()).collect()))
                .collect(),
            contents: BTreeMap::new(),
        }
    }

    fn destroy_k1(result: &str) -> Happening {
        app(OpObs::Destroy { label: "k1".into() }, result, None)
    }

    #[test]
    fn a_deletion_a_busy_member_refused_is_forgotten_by_a_restart_only() {
        // B was busy when k1 was destroyed (D3, D48): the deletion waits for its next
        // comparison with the table; a restart forgets it (D20), so `synchronize` may bring k1
        // back (D8). Without a restart it must be gone.
        let busy = (
            5,
            Happening::Fault {
                member: "B".into(),
                fault: FaultObs::Busy(30_000),
            },
        );
        let held = final_with(&[("A", &["k1/SecretKey"]), ("B", &["k1/SecretKey"])]);
        let restarted = obs(vec![
            (0, login()),
            (1, create_k1()),
            busy.clone(),
            (10, destroy_k1("CKR_OK")),
            (20, app(OpObs::Finalize, "CKR_OK", None)),
            (20, log("management thread started")),
            (30, login()),
            (100_000, held.clone()),
        ]);
        assert_eq!(check(&restarted, &[], None), None);
        let kept = obs(vec![
            (0, login()),
            (1, create_k1()),
            busy,
            (10, destroy_k1("CKR_OK")),
            (100_000, held.clone()),
        ]);
        assert_eq!(check(&kept, &[], None).map(|v| v.invariant), Some("I1"));
        // Nobody busy: the deletion applied everywhere cannot come back.
        let not_busy = obs(vec![
            (0, login()),
            (1, create_k1()),
            (10, destroy_k1("CKR_OK")),
            (20, app(OpObs::Finalize, "CKR_OK", None)),
            (20, log("management thread started")),
            (30, login()),
            (100_000, held),
        ]);
        assert_eq!(check(&not_busy, &[], None).map(|v| v.invariant), Some("I1"));
    }

    #[test]
    fn an_orphan_of_a_cut_creation_may_come_back_only_after_a_restart() {
        // B failed (a lost answer) while k1 was created: it may hold an orphan (D37), which
        // the table tombstones. Held twice after a restart that forgot the tombstone (D20, D8,
        // D49): not the engine's fault; held twice without a restart: duplicated.
        let twice = final_with(&[
            ("A", &["k1/SecretKey", "k1/SecretKey"]),
            ("B", &["k1/SecretKey", "k1/SecretKey"]),
        ]);
        let cut = |restart: bool| {
            let mut events = vec![
                (0, login()),
                (10, create_k1()),
                (10, failed("B", "GenerateKey", 10)),
                (10, log("has dropped member: B")),
            ];
            if restart {
                events.push((20, app(OpObs::Finalize, "CKR_OK", None)));
                events.push((20, log("management thread started")));
                events.push((30, login()));
            }
            events.push((200_000, twice.clone()));
            obs(events)
        };
        assert_eq!(check(&cut(true), &[], None), None);
        let v = check(&cut(false), &[], None).expect("a violation");
        assert_eq!(v.invariant, "I1");
        assert!(v.detail.contains("held 2 times"), "{}", v.detail);
    }

    #[test]
    fn a_recovery_line_of_the_call_that_cut_a_creation_compared_nothing_made_after_it() {
        // Seed 4847: B's attempt ran at the start of the call that created k1 (B45); k1 was
        // made on B, whose copy to A failed (D18): B may hold an orphan. The attempt's line is
        // recorded after that failure, yet compared B before it: a synchronize right after
        // may spread the orphan (D70). A later recovery of B does compare it.
        let twice = final_with(&[
            ("A", &["k1/SecretKey", "k1/SecretKey"]),
            ("B", &["k1/SecretKey", "k1/SecretKey"]),
        ]);
        let fault = |fault: FaultObs| Happening::Fault {
            member: "B".into(),
            fault,
        };
        let synchronize = Happening::Command {
            line: "hagroup synchronize -group g".into(),
            output: format!(
                "Member A: 1 token objects cloned to it.\n{}",
                admin::NO_ERROR
            ),
        };
        let run = |later_recovery: bool| {
            let mut events = vec![
                (0, login()),
                (10_000, failed("B", "Sign", 10_000)),
                (10_000, log("has dropped member: B")),
                (20_000, fault(FaultObs::Restore)),
                (70_000, fault(FaultObs::Drop)),
                (70_000, create_k1()),
                (70_000, failed("B", "ExportClone", 70_000)),
                (70_000, log("recovery attempt 1 succeeded for member: B")),
                (70_000, log("has dropped member: B")),
                (70_000, fault(FaultObs::Restore)),
            ];
            if later_recovery {
                events.push((130_000, log("recovery attempt 1 succeeded for member: B")));
                events.push((140_000, synchronize.clone()));
            } else {
                events.push((70_000, synchronize.clone()));
            }
            events.push((300_000, twice.clone()));
            obs(events)
        };
        assert_eq!(check(&run(false), &[], None), None);
        let v = check(&run(true), &[], None).expect("a violation");
        assert_eq!(v.invariant, "I1");
        assert!(v.detail.contains("held 2 times"), "{}", v.detail);
    }

    #[test]
    fn a_login_compares_no_member_a_fault_struck_since_it_came_back() {
        // B failed replicating k1 (D18): it may hold an orphan. It comes back while nobody is
        // logged in; the next login compares it, unless B was revoked just before that login
        // (the login drops it instead); a synchronize then copies by union (D70).
        let twice = final_with(&[
            ("A", &["k1/SecretKey", "k1/SecretKey"]),
            ("B", &["k1/SecretKey", "k1/SecretKey"]),
        ]);
        let fault = |fault: FaultObs| Happening::Fault {
            member: "B".into(),
            fault,
        };
        let run = |revoked: bool| {
            let mut events = vec![
                (0, login()),
                (10_000, create_k1()),
                (10_000, failed("B", "ExportClone", 10_000)),
                (10_000, log("has dropped member: B")),
                (20_000, fault(FaultObs::Restore)),
                (30_000, app(OpObs::Logout, "CKR_OK", None)),
                (70_000, log("recovery attempt 1 succeeded for member: B")),
            ];
            if revoked {
                events.push((100_000, fault(FaultObs::Revoke)));
            }
            events.push((100_000, login()));
            if revoked {
                events.push((100_000, log("has dropped member: B")));
                events.push((100_000, fault(FaultObs::Restore)));
            }
            events.push((
                100_000,
                Happening::Command {
                    line: "hagroup synchronize -group g".into(),
                    output: format!(
                        "Member A: 1 token objects cloned to it.\n{}",
                        admin::NO_ERROR
                    ),
                },
            ));
            events.push((300_000, twice.clone()));
            obs(events)
        };
        assert_eq!(check(&run(true), &[], None), None);
        let v = check(&run(false), &[], None).expect("a violation");
        assert_eq!(v.invariant, "I1");
        assert!(v.detail.contains("held 2 times"), "{}", v.detail);
    }

    #[test]
    fn a_direct_write_that_timed_out_cut_the_engines_connection_before_a_login() {
        // Seed 990344 (D109, D19, D70): B may hold the orphan of k1 (its copy failed, D18) and
        // comes back while nobody is logged in. The application's direct write to B's
        // physical slot times out on the slow member: the connection goes, and the engine's
        // sessions there with it. The next login does not compare B (its first call on such a
        // session drops it), so the heal's synchronize may copy the orphan by union. A direct
        // write B answered leaves the connection up: the login compares B, a duplicate then
        // is the engine's.
        let twice = final_with(&[
            ("A", &["k1/SecretKey", "k1/SecretKey", "x1/SecretKey"]),
            ("B", &["k1/SecretKey", "k1/SecretKey", "x1/SecretKey"]),
        ]);
        let fault = |fault: FaultObs| Happening::Fault {
            member: "B".into(),
            fault,
        };
        let run = |answer: &str| {
            obs(vec![
                (0, login()),
                (10_000, create_k1()),
                (10_000, failed("B", "ExportClone", 10_000)),
                (10_000, log("has dropped member: B")),
                (20_000, fault(FaultObs::Restore)),
                (30_000, app(OpObs::Logout, "CKR_OK", None)),
                (70_000, log("recovery attempt 1 succeeded for member: B")),
                (80_000, fault(FaultObs::Slow(25_000))),
                (
                    80_000,
                    app(
                        OpObs::Direct {
                            member: "B".into(),
                            label: "x1".into(),
                        },
                        answer,
                        None,
                    ),
                ),
                (100_000, fault(FaultObs::Restore)),
                (100_000, login()),
                (100_000, failed("B", "FindObjects", 100_000)),
                (100_000, log("has dropped member: B")),
                (
                    100_000,
                    Happening::Command {
                        line: "hagroup synchronize -group g".into(),
                        output: format!(
                            "Member A: 2 token objects cloned to it.\n{}",
                            admin::NO_ERROR
                        ),
                    },
                ),
                (300_000, twice.clone()),
            ])
        };
        assert_eq!(check(&run("CKR_DEVICE_ERROR"), &[], None), None);
        let v = check(&run("CKR_OK"), &[], None).expect("a violation");
        assert_eq!(v.invariant, "I1");
        assert!(v.detail.contains("held 2 times"), "{}", v.detail);
    }

    #[test]
    fn a_synchronize_that_copies_while_an_orphan_may_be_held_leaves_the_count_open() {
        // D70: B may hold the orphan of k1 (its creation failed there) and answers LunaCM
        // before the engine compared it: a synchronize that copied anything may have spread
        // that orphan, which the engine's comparisons only remove where they run.
        let twice = final_with(&[
            ("A", &["k1/SecretKey", "k1/SecretKey"]),
            ("B", &["k1/SecretKey", "k1/SecretKey"]),
        ]);
        let run = |cloned: &str| {
            obs(vec![
                (0, login()),
                (10, create_k1()),
                (10, failed("B", "GenerateKey", 10)),
                (10, log("has dropped member: B")),
                (
                    20,
                    Happening::Command {
                        line: "hagroup synchronize -group g".into(),
                        output: format!(
                            "        Member A: {cloned} token objects cloned to it.\n\
                             Command Result : No Error"
                        ),
                    },
                ),
                (200_000, twice.clone()),
            ])
        };
        assert_eq!(check(&run("1"), &[], None), None);
        // Nothing copied: nothing spread, the duplicate is the engine's.
        let v = check(&run("0"), &[], None).expect("a violation");
        assert!(v.detail.contains("held 2 times"), "{}", v.detail);
    }

    #[test]
    fn an_orphan_on_a_partition_added_back_with_remove_is_the_operators() {
        // B may hold the orphan of k1 (D37); the operator removes B and adds it back with
        // `-answer remove` (B12): its objects are deleted, no orphan is left to report.
        let cmd = |line: &str, output: &str| Happening::Command {
            line: line.into(),
            output: output.into(),
        };
        let run = |readded: bool| {
            let mut events = vec![
                (0, login()),
                (10, Happening::CreationLost { member: "B".into() }),
                (10, create_k1()),
                (10, failed("B", "GenerateKey", 10)),
                (10, log("has dropped member: B")),
            ];
            if readded {
                events.push((
                    20,
                    cmd(
                        "hagroup removemember -group g -serialnumber B",
                        "Command Result : No Error",
                    ),
                ));
                events.push((
                    30,
                    cmd(
                        "hagroup addmember -group g -serialnumber B -answer remove",
                        "Partition B already holds 1 token objects.\n\
                         1 token objects deleted from partition B.\n\
                         Command Result : No Error",
                    ),
                ));
                events.push((90_000, log("detected new member member: B")));
            } else {
                events.push((70_000, log("recovery attempt 1 succeeded for member: B")));
            }
            events.push((100_000, login()));
            events.push((
                200_000,
                final_with(&[("A", &["k1/SecretKey"]), ("B", &["k1/SecretKey"])]),
            ));
            obs(events)
        };
        assert_eq!(check(&run(true), &[], None), None);
        let v = check(&run(false), &[], None).expect("a violation");
        assert!(v.detail.contains("not reported"), "{}", v.detail);
    }

    #[test]
    fn not_logged_in_for_a_call_in_flight_across_a_logout_is_the_applications() {
        // D71: a thread's sign issued at 5 was answered at 10 after another thread logged out
        // (and in again) at 6-7; the member's "not logged in" is the application's own state.
        let signed = |issued: Millis| {
            let mut a = app(sign(), "CKR_USER_NOT_LOGGED_IN", Some(&["A", "B"]));
            if let Happening::App(obs) = &mut a {
                obs.issued = Some(issued);
            }
            a
        };
        let run = |issued: Millis| {
            obs(vec![
                (0, login()),
                (1, create_k1()),
                (6, app(OpObs::Logout, "CKR_OK", None)),
                (7, login()),
                (10, signed(issued)),
            ])
        };
        assert_eq!(check(&run(5), &[], None), None);
        // Issued after the new login: nothing excuses it while A and B hold the key.
        assert_eq!(check(&run(8), &[], None).map(|v| v.invariant), Some("I2"));
    }

    #[test]
    fn d100_a_sign_the_member_did_while_another_thread_had_logged_in_again_is_no_breach() {
        // Exploration seed 254138: thread 2's sign was issued at 5 while thread 1's logout (at
        // 4) held; the member calls preparing it took until `sent`, when the member signed;
        // thread 1 logged in again at 6 and thread 0 logged out at 8; the answer came at 10.
        let run = |sent: Option<Millis>| {
            let mut signed = app(sign(), "CKR_OK", None);
            if let Happening::App(obs) = &mut signed {
                obs.issued = Some(5);
                obs.executed = sent;
                obs.thread = true;
            }
            obs(vec![
                (0, login()),
                (1, create_k1()),
                (4, app(OpObs::Logout, "CKR_OK", None)),
                (6, login()),
                (8, app(OpObs::Logout, "CKR_OK", None)),
                (10, signed),
            ])
        };
        // Signed at 7, under the new login: the member saw a logged-in application.
        assert_eq!(check(&run(Some(7)), &[], None), None);
        // Signed at 5, with no login anywhere in sight: a breach.
        assert_eq!(
            check(&run(Some(5)), &[], None).map(|v| v.invariant),
            Some("I7")
        );
        // Signed after the second logout: a breach too.
        assert_eq!(
            check(&run(Some(9)), &[], None).map(|v| v.invariant),
            Some("I7")
        );
        // Without the witness, judged at the issue and the answer, as before.
        assert_eq!(
            check(&run(None), &[], None).map(|v| v.invariant),
            Some("I7")
        );
    }

    #[test]
    fn an_orphan_found_after_a_lost_answer_must_be_reported() {
        // B's creating call took effect and its answer was lost (D37): B holds an orphan,
        // which the engine destroys when B is compared again, and reports.
        let run = |reported: bool, restart: bool| {
            let mut events = vec![
                (0, login()),
                (10, Happening::CreationLost { member: "B".into() }),
                (10, create_k1()),
                (10, failed("B", "GenerateKey", 10)),
                (10, log("has dropped member: B")),
            ];
            if reported {
                events.push((
                    70_000,
                    Happening::Orphan {
                        member: "B".into(),
                        label: "k1".into(),
                    },
                ));
            }
            if restart {
                events.push((80_000, app(OpObs::Finalize, "CKR_OK", None)));
                events.push((80_000, log("management thread started")));
                events.push((80_000, login()));
            }
            events.push((
                200_000,
                final_with(&[("A", &["k1/SecretKey"]), ("B", &["k1/SecretKey"])]),
            ));
            obs(events)
        };
        assert_eq!(check(&run(true, false), &[], None), None);
        let v = check(&run(false, false), &[], None).expect("a violation");
        assert_eq!(v.invariant, "I1");
        assert!(v.detail.contains("not reported"), "{}", v.detail);
        // A restart forgets the orphan (D20, D49): nothing to report then.
        assert_eq!(check(&run(false, true), &[], None), None);
    }

    #[test]
    fn an_orphan_a_partition_clear_destroyed_has_nothing_to_report() {
        // B holds the orphan of k1 (D37); the operator's `partition clear` runs before B is
        // compared again. `cleared`: the members its output says it emptied.
        let run = |cleared: &[&str]| {
            let output: String = cleared
                .iter()
                .map(|m| format!("        Member {m}:  1 token objects destroyed\n"))
                .chain(std::iter::once(admin::NO_ERROR.to_string()))
                .collect();
            obs(vec![
                (0, login()),
                (10, Happening::CreationLost { member: "B".into() }),
                (10, create_k1()),
                (10, failed("B", "GenerateKey", 10)),
                (10, log("has dropped member: B")),
                (
                    20_000,
                    Happening::Command {
                        line: "partition clear -force".into(),
                        output,
                    },
                ),
                (200_000, final_with(&[("A", &[]), ("B", &[])])),
            ])
        };
        // B emptied: the orphan is gone before the engine could find it (D37, D67).
        assert_eq!(check(&run(&["A", "B"]), &[], None), None);
        // Only A emptied (B was away): B's orphan is still there to be found and reported.
        let v = check(&run(&["A"]), &[], None).expect("a violation");
        assert_eq!(v.invariant, "I1");
        assert!(v.detail.contains("not reported"), "{}", v.detail);
    }

    #[test]
    fn a_destroyed_pair_held_once_is_held_although_destroyed_not_duplicated() {
        // A key pair is two objects under one label: held once after its destroy, it is a
        // deletion that did not stick, not a second copy.
        let create_pair = app(
            OpObs::Create {
                label: "k1".into(),
                token: true,
                pair: true,
            },
            "CKR_OK",
            None,
        );
        let pair = final_with(&[
            ("A", &["k1/PublicKey", "k1/PrivateKey"]),
            ("B", &["k1/PublicKey", "k1/PrivateKey"]),
        ]);
        let destroyed = obs(vec![
            (0, login()),
            (1, create_pair.clone()),
            (10, destroy_k1("CKR_OK")),
            (100_000, pair.clone()),
        ]);
        let v = check(&destroyed, &[], None).expect("a violation");
        assert!(v.detail.contains("held although"), "{}", v.detail);
        // Kept, the same holding is what I1 asks for.
        let kept = obs(vec![(0, login()), (1, create_pair), (100_000, pair)]);
        assert_eq!(check(&kept, &[], None), None);
    }

    #[test]
    fn members_that_differ_after_the_heal_break_i1() {
        let objects: BTreeMap<String, Vec<String>> = [
            ("A".to_string(), vec!["k1/SecretKey".to_string()]),
            ("B".to_string(), vec![]),
        ]
        .into_iter()
        .collect();
        let o = obs(vec![
            (0, login()),
            (1, create_k1()),
            (
                2,
                Happening::Checkpoint {
                    label: "final".into(),
                    objects,
                    contents: BTreeMap::new(),
                },
            ),
        ]);
        assert_eq!(check(&o, &[], None).map(|v| v.invariant), Some("I1"));
    }

    #[test]
    fn a_synchronize_that_could_not_make_every_copy_leaves_direct_writes_uneven() {
        // D91 (B14, B21, D8): x1 was written on A only; the final synchronize could not copy
        // it to B (B is full). `lost`: B also lacks k1, which the group made itself (D18).
        // `answer`: what the direct write returned; a lost answer (D35) may hide a write
        // that was executed (D106).
        let run_with = |incomplete: bool, lost: bool, answer: &str| {
            let output = if incomplete {
                "Member B: 0 token objects cloned to it.\n\
                     Error: hagroup synchronize: 1 object copies could not be made in group g; the first: secret key x1 to member B: CKR_DEVICE_MEMORY (B14)\n\n\
                     Command Result : Operation Failed"
                .to_string()
            } else {
                format!(
                    "Member B: 1 token objects cloned to it.\n{}",
                    admin::NO_ERROR
                )
            };
            let b: &[&str] = if lost { &[] } else { &["k1/SecretKey"] };
            obs(vec![
                (0, login()),
                (1, create_k1()),
                (
                    2,
                    app(
                        OpObs::Direct {
                            member: "A".into(),
                            label: "x1".into(),
                        },
                        answer,
                        None,
                    ),
                ),
                (
                    3,
                    Happening::Command {
                        line: "hagroup synchronize -group g".into(),
                        output,
                    },
                ),
                (
                    4,
                    final_with(&[("A", &["k1/SecretKey", "x1/SecretKey"]), ("B", b)]),
                ),
            ])
        };
        let run = |incomplete: bool, lost: bool| run_with(incomplete, lost, "CKR_OK");
        assert_eq!(check(&run(true, false), &[], None), None);
        // The synchronize said nothing failed: B should hold x1.
        let v = check(&run(false, false), &[], None).expect("a violation");
        assert!(
            v.detail.contains("hold different objects: x1"),
            "{}",
            v.detail
        );
        // What the group made is not the synchronize's to copy: B lacking k1 stays a fault.
        let v = check(&run(true, true), &[], None).expect("a violation");
        assert!(
            v.detail.contains("hold different objects: k1"),
            "{}",
            v.detail
        );
        // D106: a direct write whose answer was lost but that A executed is a direct write
        // for D91 too (seed 752617: the heal's synchronize could not copy it to a full B)...
        assert_eq!(
            check(&run_with(true, false, "CKR_DEVICE_ERROR"), &[], None),
            None
        );
        // ...and a synchronize that said nothing failed should have copied it.
        let v = check(&run_with(false, false, "CKR_DEVICE_ERROR"), &[], None).expect("a violation");
        assert!(
            v.detail.contains("hold different objects: x1"),
            "{}",
            v.detail
        );
    }

    #[test]
    fn a_copy_a_full_partition_refused_leaves_it_short() {
        // B14, D106 (seed 752617): B was away while the group made k1 on A; at the heal, B
        // had no room left for it, so recovery and the final synchronize could not copy it.
        // `free`: B's room after the synchronize; k1 takes 528 bytes.
        let run = |free: u64| {
            let output = "Member B: 0 token objects cloned to it.\n\
                     Error: hagroup synchronize: 1 object copies could not be made in group g; the first: secret key k1 to member B: CKR_DEVICE_MEMORY (B14)\n\n\
                     Command Result : Operation Failed"
                .to_string();
            let room = |free: u64, held: &[&str]| sim::record::Room {
                free,
                sizes: held.iter().map(|o| (o.to_string(), 528)).collect(),
            };
            let rooms: BTreeMap<String, sim::record::Room> = [
                ("A".to_string(), room(50_000, &["k1/SecretKey"])),
                ("B".to_string(), room(free, &[])),
            ]
            .into_iter()
            .collect();
            obs(vec![
                (0, login()),
                (1, create_k1()),
                (
                    3,
                    Happening::Command {
                        line: "hagroup synchronize -group g".into(),
                        output,
                    },
                ),
                (4, Happening::Rooms(rooms)),
                (4, final_with(&[("A", &["k1/SecretKey"]), ("B", &[])])),
            ])
        };
        assert_eq!(check(&run(104), &[], None), None);
        // Room enough for k1: the refusal was not for want of room.
        let v = check(&run(528), &[], None).expect("a violation");
        assert!(
            v.detail.contains("hold different objects: k1"),
            "{}",
            v.detail
        );
    }

    // ---- I10: an object changed outside the group stays changed (B22, D64) ----------------

    fn create_d1() -> Happening {
        app(
            OpObs::Create {
                label: "d1".into(),
                token: true,
                pair: false,
            },
            "CKR_OK",
            None,
        )
    }

    /// B's copy of d1 changed outside the group (content `new`), A's kept (`old`).
    fn changed_on_b() -> Happening {
        Happening::Changed {
            member: "B".into(),
            label: "d1".into(),
            copies: vec![("A".into(), "old".into()), ("B".into(), "new".into())],
        }
    }

    /// A checkpoint where every listed member holds d1 with the given content.
    fn checkpoint_d1(label: &str, contents: &[(&str, &str)]) -> Happening {
        Happening::Checkpoint {
            label: label.into(),
            objects: contents
                .iter()
                .map(|(m, _)| (m.to_string(), vec!["d1/Data".to_string()]))
                .collect(),
            contents: contents
                .iter()
                .map(|(m, fp)| (m.to_string(), vec![("d1".to_string(), fp.to_string())]))
                .collect(),
        }
    }

    #[test]
    fn a_changed_copy_overwritten_breaks_i10_and_kept_does_not() {
        let run = |last: Happening| {
            obs(vec![
                (0, login()),
                (1, create_d1()),
                (2, changed_on_b()),
                (3, last),
            ])
        };
        // Kept: the divergence is surfaced, not resolved.
        let kept = run(checkpoint_d1("final", &[("A", "old"), ("B", "new")]));
        assert_eq!(check(&kept, &[], None), None);
        // B's change silently undone: the copies agree again.
        let undone = run(checkpoint_d1("final", &[("A", "old"), ("B", "old")]));
        let v = check(&undone, &[], None).expect("I10");
        assert_eq!(v.invariant, "I10");
        assert!(
            v.detail.contains("partition B holds d1 as [old]"),
            "{}",
            v.detail
        );
        // A's unchanged copy overwritten with B's change: also a copy the group overwrote.
        let spread = run(checkpoint_d1("final", &[("A", "new"), ("B", "new")]));
        assert_eq!(check(&spread, &[], None).map(|v| v.invariant), Some("I10"));
        // A content no copy ever held.
        let made_up = run(checkpoint_d1(
            "final",
            &[("A", "old"), ("B", "new"), ("C", "x")],
        ));
        assert_eq!(check(&made_up, &[], None).map(|v| v.invariant), Some("I10"));
    }

    #[test]
    fn a_copy_made_after_the_change_is_followed_from_then_on() {
        // C got its copy from B (carrying the change) by the `healed` checkpoint; it must keep
        // it at `final`.
        let with_final = |c: &'static str| {
            obs(vec![
                (0, login()),
                (1, create_d1()),
                (2, changed_on_b()),
                (
                    3,
                    checkpoint_d1("healed", &[("A", "old"), ("B", "new"), ("C", "new")]),
                ),
                (
                    4,
                    checkpoint_d1("final", &[("A", "old"), ("B", "new"), ("C", c)]),
                ),
            ])
        };
        assert_eq!(check(&with_final("new"), &[], None), None);
        assert_eq!(
            check(&with_final("old"), &[], None).map(|v| v.invariant),
            Some("I10")
        );
    }

    #[test]
    fn a_destroyed_or_orphaned_object_is_not_followed() {
        // The application destroyed d1: its copies may go.
        let destroyed = obs(vec![
            (0, login()),
            (1, create_d1()),
            (2, changed_on_b()),
            (
                3,
                app(OpObs::Destroy { label: "d1".into() }, "CKR_OK", None),
            ),
            (4, checkpoint_d1("final", &[])),
        ]);
        assert_eq!(check(&destroyed, &[], None), None);
        // d1's creation was cut short on B (D37, D18): B's copy may be an orphan the engine
        // destroys by rule.
        let orphan = obs(vec![
            (0, login()),
            (1, create_d1()),
            (
                1,
                Happening::Failed {
                    member: "B".into(),
                    call: "ImportClone".into(),
                    code: "CKR_DEVICE_ERROR".into(),
                    called_at: 1,
                },
            ),
            (1, log("has dropped member: B")),
            (2, changed_on_b()),
            (3, checkpoint_d1("healed", &[("A", "old"), ("B", "old")])),
        ]);
        assert_ne!(check(&orphan, &[], None).map(|v| v.invariant), Some("I10"));
    }
}
