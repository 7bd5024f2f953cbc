//! What the invariant checker reads: the facts of one run, taken from the run record and the
//! world below the `Member` port (faults applied, operator commands, application calls with
//! their results and, for the calls that matter, which members held the object at that instant),
//! never from the engine's tables. The engine's own outputs (HA log lines, command output) are
//! here too, as claims the invariants check.

use std::collections::BTreeMap;

/// Virtual milliseconds.
pub type Millis = u64;

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
    /// Every call hangs this long.
    Slow(u64),
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
    /// A member call on the application's or the recovery's behalf that failed with a
    /// drop-class code (from the injector's record).
    MemberFailure {
        /// The member.
        member: String,
        /// The code's name.
        code: String,
        /// True for calls of the application path (not recovery probes, not LunaCM).
        application: bool,
    },
    /// A checkpoint: the token objects each member holds (below the port), as `label/class`.
    Checkpoint {
        /// The label.
        label: String,
        /// Per member, sorted.
        objects: BTreeMap<String, Vec<String>>,
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
}

impl Observations {
    /// The observations of a generated plan's run. (Transitional: fills members and settings;
    /// the events come from the run record.)
    pub fn of(plan: &super::plan::Plan, run: &sim::record::Record) -> Observations {
        let _ = run;
        Observations {
            members: plan.members.clone(),
            standby: plan.standby.clone(),
            settings: Settings {
                retry: plan.retry,
                interval: plan.interval,
                enhanced: plan.mode == super::options::Mode::Enhanced,
                failover_on_deactivation: plan.failover_on_deactivation,
                synchronize: plan.synchronize,
            },
            events: Vec::new(),
        }
    }
}
