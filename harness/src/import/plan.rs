//! From a real HA log and the client's configuration to a scenario's steps: what must have
//! happened for the log to say what it says.
//!
//! - A drop (`has dropped member`), deactivation or revocation logged at `t` means the member was
//!   lost at or before `t`: the fault is put at `t`, and an application call at `t` makes the
//!   engine notice it (a session key generation, which the engine replicates to every member,
//!   standby included, without adding a token object that a later recovery would count).
//! - A member unreachable or not activated at `C_Initialize` gets its fault just before the
//!   application's `C_Initialize`.
//! - A recovery success at `t'` means the member was back by `t'`: it is restored (or
//!   reactivated) one second after the last line showing it still down (the drop, or the last
//!   failed attempt). A revocation found by an attempt makes the outage a `Revoke`.
//! - `reintroducing N token objects` means the application made N token objects while the
//!   member was away: N keys are generated right after the drop is noticed (less those already
//!   planned for an overlapping outage); and that it held a login when the member came back (the
//!   engine compares a returning member with the group's objects only then): if it lost it (a
//!   total loss under activeBasic), it opens a session and logs in again as soon as the last
//!   member to come back before it has returned.
//! - A login failure found by a recovery attempt: the member came back with a credential that no
//!   longer works (`LoginFailure` + `Restore`); one at the application's `C_Login`: the fault
//!   before that login.
//! - `detected new member` at `t`: the operator added it one interval earlier (B54); it is left
//!   out of the set-up.
//! - `management thread started` / `terminated`: `C_Initialize` / `C_Finalize`; `configured as`
//!   a device: the group's first `C_Login`.
//!
//! Everything else follows from the settings (attempt numbers, exhaustion, "all members gone
//! offline") and is not planned: the diff shows whether the model agrees.

use std::collections::{BTreeMap, BTreeSet};

use ha_engine::config::{ClientConfig, RecoveryMode, RetryLimit};
use ha_engine::log::{DEFAULT_MAX_LEN, HaLogMessage, HaLogSettings};

use super::logdir::Source;
use crate::halog::LogLine;

/// The halog directory the scenario writes to (in the simulated file system).
pub const SIM_LOG_DIR: &str = "/ha-logs";

/// A line of the real log to plan from, with its second since the log's first line.
#[derive(Clone, Debug)]
pub struct Timed<'a> {
    /// Seconds since the first line.
    pub at: u64,
    /// Where it is.
    pub source: &'a Source,
    /// What it says.
    pub line: &'a LogLine,
}

/// A step of the scenario, as RON text, with a comment saying why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Planned {
    /// Its second.
    pub at: u64,
    /// The step, e.g. `At(10, Drop(1234))` or `App(Login)`.
    pub step: String,
    /// Why it is there (file:line and what the line says), when a log line asked for it.
    pub why: Option<String>,
}

/// Something the plan could not follow, with the line that asked for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// The line, when one is concerned.
    pub source: Option<Source>,
    /// What.
    pub text: String,
}

/// The scenario's parts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Partition serials, in the configuration's order.
    pub partitions: Vec<String>,
    /// The `conf` text for settings no `hagroup` command sets, if any.
    pub conf: Option<String>,
    /// LunaCM set-up commands.
    pub setup: Vec<String>,
    /// The steps, in order.
    pub steps: Vec<Planned>,
    /// Notes for the report.
    pub notes: Vec<Note>,
}

/// How a member was lost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Loss {
    Drop,
    Revoke,
    Deactivate,
}

#[derive(Clone, Debug)]
struct Outage {
    member: String,
    group: usize,
    loss: Loss,
    start: u64,
    /// Order of the line that opened it.
    seq: u64,
    /// Before `C_Initialize` (no call needed to notice it).
    at_init: bool,
    /// Last second the log shows it down.
    last_down: u64,
    /// Ended by a recovery success at this second.
    recovered: Option<u64>,
    /// The order of the line that said so.
    recovered_seq: Option<u64>,
    /// Ended by a login failure found by an attempt at this second.
    login_failed: Option<u64>,
    /// Token objects reintroduced when it recovered.
    reintroduced: u64,
    /// Automatic recovery gave up on it (`exceeded maximum ...`).
    exhausted: bool,
    /// The application finalised while it was down (its memory of the outage ends, D20).
    finalized: Option<u64>,
    /// The line that opened it (file:line and text).
    opened_by: String,
    /// The line that ended it.
    ended_by: Option<String>,
}

impl Outage {
    fn end(&self) -> Option<u64> {
        self.recovered.or(self.login_failed).or(self.finalized)
    }

    fn covers(&self, at: u64) -> bool {
        at >= self.start && self.end().is_none_or(|end| at < end)
    }
}

/// What happens at a moment, before sessions and logins are worked out.
#[derive(Clone, Debug)]
enum Intent {
    Fault {
        kind: &'static str,
        member: String,
    },
    Initialize,
    Finalize,
    /// A LunaCM command line while the application runs.
    Command(String),
    Login(usize),
    /// The application holds a login on the group from here (opening a session and logging in
    /// if it lost them), without a log line asking for it.
    EnsureLogin(usize),
    Notice(usize),
    Create(usize, u64),
    AllOffline,
}

#[derive(Clone, Debug)]
struct At {
    at: u64,
    seq: u64,
    intent: Intent,
    why: Option<String>,
}

/// A serial as scenario files write it: a bare integer when it reads back the same, else a
/// string.
pub fn serial(s: &str) -> String {
    let plain = !s.is_empty()
        && s.bytes().all(|b| b.is_ascii_digit())
        && (s == "0" || !s.starts_with('0'))
        && s.parse::<u64>().is_ok();
    if plain {
        s.to_string()
    } else {
        format!("{s:?}")
    }
}

fn why(t: &Timed<'_>) -> String {
    format!("{}: {}", t.source, t.line.message.render())
}

struct Planner<'c> {
    config: &'c ClientConfig,
    outages: Vec<Outage>,
    intents: Vec<At>,
    notes: Vec<Note>,
    added_later: BTreeSet<String>,
    /// seq of the last `C_Initialize` intent and its second.
    last_init: Option<(u64, u64)>,
    /// seq of the last login intent and its second.
    last_login: Option<(u64, u64)>,
    pre_init: u64,
}

impl Planner<'_> {
    fn group_of(&self, member: &str) -> usize {
        self.config
            .groups
            .iter()
            .position(|g| g.members.iter().any(|m| m == member))
            .unwrap_or(0)
    }

    fn group_by_serial(&mut self, t: &Timed<'_>) -> usize {
        match self
            .config
            .groups
            .iter()
            .position(|g| g.serial() == t.line.group)
        {
            Some(i) => i,
            None => {
                self.notes.push(Note {
                    source: Some(t.source.clone()),
                    text: format!(
                        "group {} is not a group of the configuration; read as the first group",
                        t.line.group
                    ),
                });
                0
            }
        }
    }

    fn open(&mut self, member: &str) -> Option<&mut Outage> {
        self.outages
            .iter_mut()
            .rev()
            .find(|o| o.member == member && o.end().is_none())
    }

    fn push(&mut self, at: u64, seq: u64, intent: Intent, why: Option<String>) {
        self.intents.push(At {
            at,
            seq,
            intent,
            why,
        });
    }

    /// A loss noticed at `t` (by a call, or at initialisation).
    fn lose(&mut self, t: &Timed<'_>, seq: u64, member: &str, loss: Loss, at_init: bool) {
        if let Some(o) = self.open(member) {
            o.last_down = t.at;
            if loss != Loss::Drop {
                o.loss = loss;
            }
            return;
        }
        let group = self.group_of(member);
        // The fault itself is planned when the outage is complete (a drop may turn out to be a
        // revocation); only its place is kept.
        self.outages.push(Outage {
            member: member.to_string(),
            group,
            loss,
            start: t.at,
            seq,
            at_init,
            last_down: t.at,
            recovered: None,
            recovered_seq: None,
            login_failed: None,
            reintroduced: 0,
            exhausted: false,
            finalized: None,
            opened_by: why(t),
            ended_by: None,
        });
        if !at_init {
            self.push(t.at, seq + 2, Intent::Notice(group), None);
        }
    }

    fn line(&mut self, index: usize, t: &Timed<'_>) {
        let seq = (index as u64 + 1) * 100;
        let w = Some(why(t));
        match &t.line.message {
            HaLogMessage::MgmtThreadStart => {
                self.last_init = Some((seq, t.at));
                self.pre_init = 0;
                self.push(t.at, seq, Intent::Initialize, w);
            }
            HaLogMessage::MgmtThreadTerminate => {
                self.push(t.at, seq, Intent::Finalize, w);
                // What the process knew of members it had lost ends with it (D20); a member
                // still unreachable at the next C_Initialize is logged again there.
                let open: Vec<(String, Loss)> = self
                    .outages
                    .iter_mut()
                    .filter(|o| o.end().is_none())
                    .map(|o| {
                        o.finalized = Some(t.at);
                        (o.member.clone(), o.loss)
                    })
                    .collect();
                for (member, loss) in open {
                    let kind = if loss == Loss::Deactivate {
                        "Activate"
                    } else {
                        "Restore"
                    };
                    self.push(t.at, seq + 1, Intent::Fault { kind, member }, None);
                }
            }
            HaLogMessage::ConfiguredAsPassword | HaLogMessage::ConfiguredAsPed => {
                if matches!(t.line.message, HaLogMessage::ConfiguredAsPed) {
                    self.notes.push(Note {
                        source: Some(t.source.clone()),
                        text: "a PED-based group is imported as password-based (the scenario's \
                               partitions use passwords)"
                            .to_string(),
                    });
                }
                let g = self.group_by_serial(t);
                self.last_login = Some((seq, t.at));
                self.push(t.at, seq, Intent::Login(g), w);
            }
            HaLogMessage::DropMember { serial } => self.lose(t, seq, serial, Loss::Drop, false),
            HaLogMessage::MemberDeactivated { serial } => {
                self.lose(t, seq, serial, Loss::Deactivate, false);
            }
            HaLogMessage::DropUnrecoverable { serial } => {
                self.lose(t, seq, serial, Loss::Drop, true);
            }
            HaLogMessage::NotActivatedExcluded { serial } => {
                self.lose(t, seq, serial, Loss::Deactivate, true);
            }
            HaLogMessage::MemberRevoked { serial }
            | HaLogMessage::RecoveryFailed { serial, .. }
            | HaLogMessage::RecoveryNotActivated { serial } => {
                let loss = match t.line.message {
                    HaLogMessage::MemberRevoked { .. } => Loss::Revoke,
                    HaLogMessage::RecoveryNotActivated { .. } => Loss::Deactivate,
                    _ => Loss::Drop,
                };
                if self.open(serial).is_none() {
                    self.notes.push(Note {
                        source: Some(t.source.clone()),
                        text: format!(
                            "a recovery attempt for {serial}, which the log has not shown lost: \
                             it is lost here, so the prediction logs its drop here"
                        ),
                    });
                }
                self.lose(t, seq, serial, loss, false);
            }
            HaLogMessage::RecoveryExhausted { serial } => {
                if let Some(o) = self.open(serial) {
                    o.last_down = t.at;
                    o.exhausted = true;
                }
            }
            HaLogMessage::LoginFailed { serial, .. } => {
                if let Some(o) = self.open(serial) {
                    o.login_failed = Some(t.at);
                    o.ended_by = w;
                } else {
                    // At the application's C_Login: the credential no longer works there.
                    let (at, before) = match self.last_login {
                        Some((login_seq, login_at)) if login_at == t.at => (t.at, login_seq - 1),
                        _ => (t.at, seq),
                    };
                    self.push(
                        at,
                        before,
                        Intent::Fault {
                            kind: "LoginFailure",
                            member: serial.clone(),
                        },
                        w,
                    );
                    if self.last_login.is_none_or(|(_, a)| a != t.at) {
                        self.notes.push(Note {
                            source: Some(t.source.clone()),
                            text: format!(
                                "a login failure for {serial} outside a recovery attempt and \
                                 without the group's first login at that second: the fault is \
                                 planned, the login that finds it is not"
                            ),
                        });
                    }
                }
            }
            HaLogMessage::Recovered { serial, .. } => match self.open(serial) {
                Some(o) => {
                    o.recovered = Some(t.at);
                    o.recovered_seq = Some(seq);
                    o.ended_by = w;
                }
                None => self.notes.push(Note {
                    source: Some(t.source.clone()),
                    text: format!("{serial} recovered, but the log has not shown it lost"),
                }),
            },
            HaLogMessage::Reintroducing { count, token, .. } => {
                if let Some(o) = self.open(token) {
                    o.reintroduced = *count;
                }
            }
            HaLogMessage::MemberNowActivated { serial, .. }
            | HaLogMessage::RecoveryNowActivated { serial } => {
                if let Some(o) = self.open(serial) {
                    o.loss = Loss::Deactivate;
                }
            }
            HaLogMessage::NewMember { serial } => {
                let added = t.at.saturating_sub(self.config.interval_s);
                if self.group_of(serial) != 0 {
                    self.notes.push(Note {
                        source: Some(t.source.clone()),
                        text: format!(
                            "{serial} joined a group other than the first; a scenario adds run-time \
                             members to the first group"
                        ),
                    });
                }
                self.added_later.insert(serial.clone());
                self.push(
                    added,
                    0,
                    Intent::Fault {
                        kind: "MemberAdded",
                        member: serial.clone(),
                    },
                    w,
                );
            }
            HaLogMessage::MembersOffline => self.push(t.at, seq, Intent::AllOffline, None),
            HaLogMessage::RenableMember { .. } | HaLogMessage::Unrecoverable { .. } => {
                self.notes.push(Note {
                    source: Some(t.source.clone()),
                    text: "a template the vendor deprecated; hasim's engine never writes it"
                        .to_string(),
                });
            }
        }
    }

    /// Faults, restores and objects of every outage.
    fn outages(&mut self) {
        let outages = self.outages.clone();
        // Token objects planned so far: (second, seq, group).
        let mut objects: Vec<(u64, u64, u64)> = Vec::new();
        for o in &outages {
            let kind = match o.loss {
                Loss::Drop => "Drop",
                Loss::Revoke => "Revoke",
                Loss::Deactivate => "Deactivate",
            };
            let seq = if o.at_init {
                match self.last_init {
                    Some((init_seq, init_at)) if init_at == o.start => {
                        self.pre_init += 1;
                        init_seq - 50 + self.pre_init
                    }
                    _ => o.seq,
                }
            } else {
                o.seq + 1
            };
            self.push(
                o.start,
                seq,
                Intent::Fault {
                    kind,
                    member: o.member.clone(),
                },
                Some(o.opened_by.clone()),
            );
            if o.finalized.is_some() {
                // Restored when the application finalised (see the line's handling).
            } else if let Some(end) = o.end() {
                let back = (o.last_down + 1).min(end);
                let ended = o.ended_by.as_deref().unwrap_or("");
                let reason =
                    format!("back one second after it was last shown down, before {ended}");
                if o.login_failed.is_some() {
                    self.push(
                        back,
                        0,
                        Intent::Fault {
                            kind: "LoginFailure",
                            member: o.member.clone(),
                        },
                        Some(format!("its credential fails: {ended}")),
                    );
                }
                let undo = if o.loss == Loss::Deactivate {
                    "Activate"
                } else {
                    "Restore"
                };
                self.push(
                    back,
                    1,
                    Intent::Fault {
                        kind: undo,
                        member: o.member.clone(),
                    },
                    Some(reason),
                );
                // Back after automatic recovery gave up (or with none configured): the operator
                // asked for it (B45), and the application's next call ran the attempt.
                let manual = o.exhausted || self.config.retry == RetryLimit::Disabled;
                if let (Some(at), true) = (o.recovered, manual) {
                    let label = self
                        .config
                        .groups
                        .get(o.group)
                        .map_or(String::new(), |g| g.label.clone());
                    self.push(
                        at,
                        1,
                        Intent::Command(format!("hagroup recover -group {label}")),
                        Some(format!(
                            "{} recovered after automatic recovery {}: a manual recovery",
                            o.member,
                            if o.exhausted { "gave up" } else { "is off" }
                        )),
                    );
                    self.push(at, 2, Intent::Notice(o.group), None);
                }
            }
            if o.recovered.is_some() && o.reintroduced > 0 {
                let already = objects
                    .iter()
                    .filter(|(at, s, _)| o.covers(*at) && (*at > o.start || *s > o.seq))
                    .map(|(_, _, n)| n)
                    .sum::<u64>();
                let missing = o.reintroduced.saturating_sub(already);
                // The engine compares a returning member with the group's objects only while the
                // application holds a login: after a total loss under activeBasic it logged in
                // again once a member was back, before this one was reintroduced.
                let recovered = (o.recovered, o.recovered_seq);
                let before = outages
                    .iter()
                    .filter(|other| other.group == o.group)
                    .filter_map(|other| Some((other.recovered?, other.recovered_seq?)))
                    .filter(|back| (Some(back.0), Some(back.1)) < recovered)
                    .max();
                if let Some((at, seq)) = before {
                    self.push(
                        at,
                        seq + 1,
                        Intent::EnsureLogin(o.group),
                        Some(format!(
                            "the application holds a login before {} is reintroduced",
                            o.member
                        )),
                    );
                }
                if missing > 0 {
                    objects.push((o.start, o.seq + 3, missing));
                    self.push(
                        o.start,
                        o.seq + 3,
                        Intent::Create(o.group, missing),
                        Some(format!(
                            "{missing} token object(s) made while {} was away ({} reintroduced)",
                            o.member, o.reintroduced
                        )),
                    );
                }
            }
        }
    }
}

/// The set-up commands and `conf` text for a configuration, leaving out members added later.
pub(crate) fn setup(
    config: &ClientConfig,
    log: &HaLogSettings,
    later: &BTreeSet<String>,
) -> (Vec<String>, Option<String>, Vec<Note>) {
    let mut out = Vec::new();
    let mut notes = Vec::new();
    for g in &config.groups {
        let members: Vec<&String> = g.members.iter().filter(|m| !later.contains(*m)).collect();
        let Some((first, rest)) = members.split_first() else {
            notes.push(Note {
                source: None,
                text: format!("group {} has no member before the log starts", g.label),
            });
            continue;
        };
        out.push(format!(
            "hagroup creategroup -label {} -serialnumber {first}",
            g.label
        ));
        for m in rest {
            out.push(format!(
                "hagroup addmember -group {} -serialnumber {m}",
                g.label
            ));
        }
        for s in &g.standby {
            if !later.contains(s) {
                out.push(format!(
                    "hagroup addstandby -group {} -serialnumber {s}",
                    g.label
                ));
            }
        }
        if !config.auto_sync_enabled(&g.label) {
            out.push(format!("hagroup synchronize -group {} -disable", g.label));
        }
    }
    if config.retry != RetryLimit::Disabled {
        out.push(format!("hagroup retry -count {}", config.retry.as_count()));
    }
    if config.interval_s != 60 {
        out.push(format!("hagroup interval -interval {}", config.interval_s));
    }
    if config.mode == RecoveryMode::ActiveEnhanced {
        out.push("hagroup recoverymode -mode activeEnhanced".to_string());
    }
    if config.ha_only {
        out.push("hagroup haonly -enable".to_string());
    }
    out.push(format!("hagroup halog -path {SIM_LOG_DIR}"));
    if log.max_len != DEFAULT_MAX_LEN {
        out.push(format!("hagroup halog -maxlength {}", log.max_len));
    }
    // Settings no hagroup command sets.
    let defaults = ClientConfig::default();
    let mut ha = Vec::new();
    if config.failover_on_deactivation {
        ha.push("   failover_on_deactivation = 1;".to_string());
    }
    let mut client = Vec::new();
    if config.receive_timeout_ms != defaults.receive_timeout_ms {
        client.push(format!(
            "   ReceiveTimeout = {};",
            config.receive_timeout_ms
        ));
    }
    if let Some(p) = config.probe_timeout_ms {
        client.push(format!("   ProbeTimeout = {p};"));
    }
    let mut conf = String::new();
    if !ha.is_empty() {
        conf.push_str(&format!("HAConfiguration = {{\n{}\n}}\n", ha.join("\n")));
    }
    if !client.is_empty() {
        conf.push_str(&format!("LunaSA Client = {{\n{}\n}}\n", client.join("\n")));
    }
    (out, (!conf.is_empty()).then_some(conf), notes)
}

/// The application's state while steps are written: sessions and logins.
struct Writer<'c> {
    config: &'c ClientConfig,
    out: Vec<Planned>,
    now: u64,
    session: Option<usize>,
    logged_in: BTreeSet<usize>,
}

impl Writer<'_> {
    fn app(&mut self, at: u64, step: String, why: Option<String>) {
        self.step(at, format!("App({step})"), why);
    }

    /// A step that happens now: time moves to `at` first.
    fn step(&mut self, at: u64, step: String, why: Option<String>) {
        if at > self.now {
            self.out.push(Planned {
                at: self.now,
                step: format!("Advance({})", at - self.now),
                why: None,
            });
            self.now = at;
        }
        self.out.push(Planned { at, step, why });
    }

    /// A session on group `g`, logged in.
    fn ensure(&mut self, at: u64, g: usize) {
        let several = self.config.groups.len() > 1;
        let open = match self.session {
            None => true,
            Some(current) => several && current != g,
        };
        if open {
            let step = if several {
                let label = self.config.groups.get(g).map_or("", |c| c.label.as_str());
                format!("OpenSessionOn({label:?})")
            } else {
                "OpenSession".to_string()
            };
            self.app(at, step, None);
            self.session = Some(g);
        }
        if !self.logged_in.contains(&g) {
            self.app(at, "Login".to_string(), None);
            self.logged_in.insert(g);
        }
    }
}

/// Works out sessions and logins and turns intents into steps.
fn steps(config: &ClientConfig, mut intents: Vec<At>, end: u64) -> Vec<Planned> {
    intents.sort_by_key(|i| (i.at, i.seq));
    let enhanced = config.mode == RecoveryMode::ActiveEnhanced;
    let mut w = Writer {
        config,
        out: Vec::new(),
        now: 0,
        session: None,
        logged_in: BTreeSet::new(),
    };
    let mut probes = 0u64;
    let mut keys = 0u64;
    for i in intents {
        match &i.intent {
            Intent::Fault { kind, member } => {
                w.out.push(Planned {
                    at: i.at,
                    step: format!("At({}, {kind}({}))", i.at, serial(member)),
                    why: i.why.clone(),
                });
                w.now = w.now.max(i.at);
            }
            Intent::Initialize => w.app(i.at, "Initialize".to_string(), i.why.clone()),
            Intent::Command(line) => {
                w.step(i.at, format!("Command({line:?})"), i.why.clone());
            }
            Intent::Finalize => {
                w.app(i.at, "Finalize".to_string(), i.why.clone());
                w.session = None;
                w.logged_in.clear();
            }
            Intent::Login(g) => {
                if w.logged_in.contains(g) {
                    w.out.push(Planned {
                        at: i.at,
                        step: String::new(),
                        why: i
                            .why
                            .as_ref()
                            .map(|why| format!("{why} (logged in already)")),
                    });
                } else {
                    w.ensure(i.at, *g);
                    if let Some(last) = w.out.last_mut() {
                        last.why = i.why.clone();
                    }
                }
            }
            Intent::EnsureLogin(g) => {
                let before = w.out.len();
                w.ensure(i.at, *g);
                if let Some(first) = w.out[before..]
                    .iter_mut()
                    .find(|p| !p.step.starts_with("Advance("))
                {
                    first.why = i.why.clone();
                }
            }
            Intent::Notice(g) => {
                w.ensure(i.at, *g);
                probes += 1;
                w.app(
                    i.at,
                    format!("GenerateSessionKey(label: \"probe{probes}\", kind: Aes128)"),
                    None,
                );
            }
            Intent::Create(g, n) => {
                w.ensure(i.at, *g);
                for k in 0..*n {
                    keys += 1;
                    let why = if k == 0 { i.why.clone() } else { None };
                    w.app(
                        i.at,
                        format!("GenerateKey(label: \"obj{keys}\", kind: Aes128)"),
                        why,
                    );
                }
            }
            Intent::AllOffline => {
                if !enhanced {
                    // activeBasic: the application's sessions are gone (D11).
                    w.session = None;
                    w.logged_in.clear();
                }
            }
        }
    }
    if end > w.now {
        let now = w.now;
        w.out.push(Planned {
            at: now,
            step: format!("Advance({})", end - now),
            why: None,
        });
    }
    w.out
}

/// Plans a scenario from the real log's lines (one process) and the configuration.
pub fn plan(lines: &[Timed<'_>], config: &ClientConfig, log: &HaLogSettings) -> Plan {
    let mut p = Planner {
        config,
        outages: Vec::new(),
        intents: Vec::new(),
        notes: Vec::new(),
        added_later: BTreeSet::new(),
        last_init: None,
        last_login: None,
        pre_init: 0,
    };
    for (i, t) in lines.iter().enumerate() {
        p.line(i, t);
    }
    p.outages();
    let (setup, conf, setup_notes) = setup(config, log, &p.added_later);
    let mut partitions: Vec<String> = Vec::new();
    for g in &config.groups {
        for m in &g.members {
            if !partitions.contains(m) {
                partitions.push(m.clone());
            }
        }
    }
    let mut seen = BTreeMap::new();
    for t in lines {
        if let Some(m) = crate::halog::member_of(&t.line.message)
            && !partitions.iter().any(|p| p == m)
        {
            seen.entry(m.to_string())
                .or_insert_with(|| t.source.clone());
        }
    }
    let mut notes = p.notes;
    notes.extend(setup_notes);
    for (m, source) in seen {
        notes.push(Note {
            source: Some(source),
            text: format!(
                "member {m} is in no group of the configuration; it is declared as a partition"
            ),
        });
        partitions.push(m);
    }
    let end = lines.last().map_or(0, |t| t.at);
    Plan {
        partitions,
        conf,
        setup,
        steps: steps(config, p.intents, end),
        notes,
    }
}
