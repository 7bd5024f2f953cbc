//! The generator's plan of one scenario: a small typed form of the scenario language that the
//! shrinker can cut down, rendered to scenario text (`.ron`) for running and for writing a
//! regression file.

use std::fmt::Write as _;

use super::options::{AppProfile, Mode, Options};

/// Key kinds the workload generates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// AES-256 (signs and encrypts).
    Aes256,
    /// EC P-256 pair (signs).
    EcP256,
}

impl Kind {
    fn word(self) -> &'static str {
        match self {
            Kind::Aes256 => "Aes256",
            Kind::EcP256 => "EcP256",
        }
    }
}

/// An application call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AppCall {
    /// `OpenSession`.
    OpenSession,
    /// `CloseSession`.
    CloseSession,
    /// `Login`.
    Login,
    /// `Logout`.
    Logout,
    /// `GenerateKey` / `GenerateSessionKey`.
    Generate {
        /// Label.
        label: String,
        /// Kind.
        kind: Kind,
        /// Token (persistent) or session object.
        token: bool,
    },
    /// `CreateData`.
    CreateData {
        /// Label.
        label: String,
    },
    /// `Destroy`.
    Destroy {
        /// Label.
        label: String,
    },
    /// `Sign` `times` times.
    Sign {
        /// Key label.
        label: String,
        /// Calls.
        times: u32,
    },
    /// `Encrypt` `times` times.
    Encrypt {
        /// Key label.
        label: String,
        /// Calls.
        times: u32,
    },
    /// `SignInit`.
    SignInit {
        /// Key label.
        label: String,
    },
    /// `SignUpdate`.
    SignUpdate,
    /// `SignFinal`.
    SignFinal,
    /// `GenerateKeyOnSlot` (B21).
    Direct {
        /// The member's serial.
        serial: String,
        /// Label.
        label: String,
    },
    /// `Finalize`.
    Finalize,
    /// `Initialize`.
    Initialize,
    /// `FindObjects(label)`: the application takes the handle found.
    FindObjects {
        /// Label.
        label: String,
    },
    /// `SlotList` (`C_GetSlotList`).
    SlotList,
}

/// A fault on one member.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultCall {
    /// `Drop(S)`.
    Drop(String),
    /// `Restore(S)`.
    Restore(String),
    /// `Deactivate(S)`.
    Deactivate(String),
    /// `Activate(S)`.
    Activate(String),
    /// `Revoke(S)`.
    Revoke(String),
    /// `LoginFailure(S)`.
    LoginFailure(String),
    /// `LoginRestore(S)`.
    LoginRestore(String),
    /// `Slow(member: S, ms: N)`.
    Slow(String, u64),
    /// `MemberAdded(S)`.
    MemberAdded(String),
    /// `Hang(S)`.
    Hang(String),
    /// `LostAnswer(S)`.
    LostAnswer(String),
    /// `Busy(member: S, ms: N)`.
    Busy(String, u64),
    /// `IdleCut(member: S, ms: N)`.
    IdleCut(String, u64),
    /// `DirectModify(member: S, label: L)`.
    DirectModify(String, String),
    /// `DirectChange(member: S, label: L, value: V)` (D64).
    DirectChange(String, String, String),
}

impl FaultCall {
    /// The member it acts on.
    pub fn member(&self) -> &str {
        match self {
            FaultCall::Drop(s)
            | FaultCall::Restore(s)
            | FaultCall::Deactivate(s)
            | FaultCall::Activate(s)
            | FaultCall::Revoke(s)
            | FaultCall::LoginFailure(s)
            | FaultCall::LoginRestore(s)
            | FaultCall::Slow(s, _)
            | FaultCall::MemberAdded(s)
            | FaultCall::Hang(s)
            | FaultCall::LostAnswer(s)
            | FaultCall::Busy(s, _)
            | FaultCall::IdleCut(s, _)
            | FaultCall::DirectModify(s, _)
            | FaultCall::DirectChange(s, ..) => s,
        }
    }

    fn render(&self) -> String {
        match self {
            FaultCall::Drop(s) => format!("Drop({s})"),
            FaultCall::Restore(s) => format!("Restore({s})"),
            FaultCall::Deactivate(s) => format!("Deactivate({s})"),
            FaultCall::Activate(s) => format!("Activate({s})"),
            FaultCall::Revoke(s) => format!("Revoke({s})"),
            FaultCall::LoginFailure(s) => format!("LoginFailure({s})"),
            FaultCall::LoginRestore(s) => format!("LoginRestore({s})"),
            FaultCall::Slow(s, ms) => format!("Slow(member: {s}, ms: {ms})"),
            FaultCall::MemberAdded(s) => format!("MemberAdded({s})"),
            FaultCall::Hang(s) => format!("Hang({s})"),
            FaultCall::LostAnswer(s) => format!("LostAnswer({s})"),
            FaultCall::Busy(s, ms) => format!("Busy(member: {s}, ms: {ms})"),
            FaultCall::IdleCut(s, ms) => format!("IdleCut(member: {s}, ms: {ms})"),
            FaultCall::DirectModify(s, label) => {
                format!("DirectModify(member: {s}, label: \"{label}\")")
            }
            FaultCall::DirectChange(s, label, value) => {
                format!("DirectChange(member: {s}, label: \"{label}\", value: \"{value}\")")
            }
        }
    }
}

/// One step of the plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PlanStep {
    /// `App(...)`.
    App(AppCall),
    /// `Threads(...)`: one program of application calls per thread (any call, D60), faults at
    /// absolute seconds.
    Threads {
        /// Per thread: calls.
        programs: Vec<Vec<AppCall>>,
        /// `(second, fault)`.
        faults: Vec<(u64, FaultCall)>,
    },
    /// `Fault(fault)`: applied now (after an `Advance`, so time never has to go back).
    Fault(FaultCall),
    /// `At(second, fault)`: time advanced to this absolute second, then the fault applied. The
    /// generator never writes it (its gaps are relative); the shrinker folds an `Advance` and
    /// the fault after it into one, at the second the run applied the fault.
    At(u64, FaultCall),
    /// `Advance(seconds)`.
    Advance(u64),
    /// `Command("...")`.
    Command(String),
    /// `Checkpoint("...")`.
    Checkpoint(String),
    /// `OnCall(member, call, nth, fault)`.
    OnCall {
        /// The member whose call triggers it.
        member: String,
        /// The call kind counted (scenario `CallKind` name).
        call: &'static str,
        /// Which one, from 1.
        nth: u32,
        /// The fault.
        fault: FaultCall,
    },
}

/// A whole generated scenario.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// The options it was drawn from (printed in its header comment).
    pub options: Options,
    /// Group members at start, in order (the first founds the group).
    pub members: Vec<String>,
    /// Members made standby in `setup`.
    pub standby: Vec<String>,
    /// Partitions declared outside the group (added at run time).
    pub spares: Vec<String>,
    /// `hagroup retry -count`.
    pub retry: i32,
    /// `hagroup interval -interval`.
    pub interval: u32,
    /// Recovery mode.
    pub mode: Mode,
    /// `HAOnly`.
    pub ha_only: bool,
    /// `failover_on_deactivation`.
    pub failover_on_deactivation: bool,
    /// `HASynchronize`.
    pub synchronize: bool,
    /// The steps.
    pub steps: Vec<PlanStep>,
}

/// The group label of every generated scenario.
pub const GROUP: &str = "haGroup1";

fn render_app(call: &AppCall) -> String {
    match call {
        AppCall::OpenSession => "OpenSession".into(),
        AppCall::CloseSession => "CloseSession".into(),
        AppCall::Login => "Login".into(),
        AppCall::Logout => "Logout".into(),
        AppCall::Generate { label, kind, token } => {
            let what = if *token {
                "GenerateKey"
            } else {
                "GenerateSessionKey"
            };
            format!("{what}(label: \"{label}\", kind: {})", kind.word())
        }
        AppCall::CreateData { label } => format!("CreateData(label: \"{label}\")"),
        AppCall::Destroy { label } => format!("DestroyPair(key: \"{label}\")"),
        AppCall::Sign { label, times } => format!("Sign(key: \"{label}\", times: {times})"),
        AppCall::Encrypt { label, times } => format!("Encrypt(key: \"{label}\", times: {times})"),
        AppCall::SignInit { label } => format!("SignInit(key: \"{label}\")"),
        AppCall::SignUpdate => "SignUpdate()".into(),
        AppCall::SignFinal => "SignFinal".into(),
        AppCall::Direct { serial, label } => {
            format!("GenerateKeyOnSlot(serial: {serial}, label: \"{label}\", kind: Aes256)")
        }
        AppCall::Finalize => "Finalize".into(),
        AppCall::Initialize => "Initialize".into(),
        AppCall::FindObjects { label } => format!("FindObjects(\"{label}\")"),
        AppCall::SlotList => "SlotList".into(),
    }
}

/// The scenario text of a profile (`application: ...`).
fn profile_text(profile: AppProfile) -> &'static str {
    match profile {
        AppProfile::Naive => "(profile: Naive)",
        AppProfile::EvictOnError => "(profile: EvictOnError)",
        AppProfile::Reinit => "(profile: Reinit)",
        AppProfile::Custom => {
            "(profile: Custom([(on: Session, then: [Reopen], give_up_after: 2), (on: Object, then: [Refind]), (on: Code(\"CKR_USER_ALREADY_LOGGED_IN\"), then: [Accept])]), slot: Label)"
        }
    }
}

/// Renders one step as scenario text.
pub fn render_step(step: &PlanStep) -> String {
    match step {
        PlanStep::App(call) => format!("App({})", render_app(call)),
        PlanStep::Threads { programs, faults } => {
            let mut out = String::from("Threads(threads: [");
            for (i, program) in programs.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                let calls: Vec<String> = program.iter().map(render_app).collect();
                let _ = write!(out, "[{}]", calls.join(", "));
            }
            out.push_str("], faults: [");
            let faults: Vec<String> = faults
                .iter()
                .map(|(at, f)| format!("({at}, {})", f.render()))
                .collect();
            out.push_str(&faults.join(", "));
            out.push_str("])");
            out
        }
        PlanStep::Fault(fault) => format!("Fault({})", fault.render()),
        PlanStep::At(second, fault) => format!("At({second}, {})", fault.render()),
        PlanStep::Advance(s) => format!("Advance({s})"),
        PlanStep::Command(line) => format!("Command(\"{line}\")"),
        PlanStep::Checkpoint(label) => format!("Checkpoint(\"{label}\")"),
        PlanStep::OnCall {
            member,
            call,
            nth,
            fault,
        } => format!(
            "OnCall(member: {member}, call: {call}, nth: {nth}, fault: {})",
            fault.render()
        ),
    }
}

impl Plan {
    /// Every partition serial the plan declares, in slot order.
    pub fn partitions(&self) -> impl Iterator<Item = &String> {
        self.members.iter().chain(self.spares.iter())
    }

    /// The `setup` command lines.
    pub fn setup(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(first) = self.members.first() {
            out.push(format!(
                "hagroup creategroup -label {GROUP} -serialnumber {first}"
            ));
        }
        for m in self.members.iter().skip(1) {
            out.push(format!(
                "hagroup addmember -group {GROUP} -serialnumber {m}"
            ));
        }
        for s in &self.standby {
            out.push(format!(
                "hagroup addstandby -group {GROUP} -serialnumber {s}"
            ));
        }
        out.push(format!("hagroup retry -count {}", self.retry));
        out.push(format!("hagroup interval -interval {}", self.interval));
        out.push(format!("hagroup recoverymode -mode {}", self.mode.word()));
        if self.ha_only {
            out.push("hagroup haonly -enable".into());
        }
        out.push("hagroup halog -path /ha-logs".into());
        out
    }

    /// The initial Chrystoki.conf text (settings only LunaCM's file carries).
    pub fn conf(&self) -> String {
        format!(
            "HAConfiguration = {{\n   failover_on_deactivation = {};\n}}\nHASynchronize = {{\n   {GROUP} = {};\n}}\n",
            u8::from(self.failover_on_deactivation),
            u8::from(self.synchronize)
        )
    }

    /// The scenario text, with `expect` lines given by the caller (empty for a generated run,
    /// the invariant's requirements for a shrunk regression file).
    pub fn to_ron(&self, name: &str, expect: &[String]) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "// {}", self.options);
        let _ = writeln!(out, "Scenario(");
        let _ = writeln!(out, "    version: 1,");
        let _ = writeln!(out, "    name: {name:?},");
        let _ = writeln!(out, "    seed: {},", self.options.seed);
        if let Some(profile) = self.options.profile {
            let _ = writeln!(out, "    application: {},", profile_text(profile));
        }
        let _ = writeln!(out, "    partitions: [");
        for (i, serial) in self.partitions().enumerate() {
            let _ = writeln!(out, "        (serial: {serial}, label: \"par{i}\"),");
        }
        let _ = writeln!(out, "    ],");
        let _ = writeln!(out, "    conf: {:?},", self.conf());
        let _ = writeln!(out, "    setup: [");
        for line in self.setup() {
            let _ = writeln!(out, "        {line:?},");
        }
        let _ = writeln!(out, "    ],");
        let _ = writeln!(out, "    steps: [");
        for step in &self.steps {
            let _ = writeln!(out, "        {},", render_step(step));
        }
        let _ = writeln!(out, "    ],");
        let _ = writeln!(out, "    expect: [");
        for e in expect {
            let _ = writeln!(out, "        {e},");
        }
        let _ = writeln!(out, "    ],");
        let _ = writeln!(out, ")");
        out
    }
}
