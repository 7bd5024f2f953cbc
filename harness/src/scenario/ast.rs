//! Owns the serde types of the scenario language v1: what a `.ron` scenario file may say.
//!
//! Every struct (and every struct-like variant) refuses unknown fields. Defaults are given
//! by the `default_*` functions below, so a file only states what differs from them.
//! Checks that serde cannot express (unique serials, known members, a stated verdict, ...)
//! live in [`super::load`].

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::seconds::Seconds;
use super::serial::Serial;

/// The only scenario language version this hasim reads.
pub const SCENARIO_VERSION: u32 = 1;

/// The CO password used when a scenario states none (a test fixture, never printed).
pub const DEFAULT_CO_PASSWORD: &str = "hasim-fixture-co";

/// The virtual clock's start when a scenario states none.
pub const DEFAULT_CLOCK_START: &str = "2017-10-04 16:29:21";

/// The application's process id (printed in HA log lines) when a scenario states none.
pub const DEFAULT_PID: u32 = 17469;

/// A whole scenario file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Language version; must be [`SCENARIO_VERSION`].
    pub version: u32,
    /// One line saying what the scenario shows.
    pub name: String,
    /// The behaviour rules (e.g. `"B18"`) this scenario exercises.
    #[serde(default)]
    pub rules: Vec<String>,
    /// Whether the scenario may also run against a real PKCS#11 member.
    #[serde(default)]
    pub portable: bool,
    /// Seed of the simulator's deterministic randomness.
    #[serde(default)]
    pub seed: u64,
    /// Virtual clock start and process id.
    #[serde(default)]
    pub clock: ClockSpec,
    /// Fixture credentials (never printed).
    #[serde(default)]
    pub credentials: Credentials,
    /// HSMs declared explicitly; a partition without `hsm` gets an implicit HSM of its own.
    #[serde(default)]
    pub hsms: Vec<HsmDecl>,
    /// The partitions (members); at least one.
    pub partitions: Vec<PartitionDecl>,
    /// The application's behaviour profile (how it reacts to errors, how it finds its slot);
    /// `None`: the scripted application of language 1.0 (no reactions, the first group's
    /// virtual slot at every `OpenSession`).
    #[serde(default)]
    pub application: Option<crate::app::AppSpec>,
    /// Other client processes beside the scenario's own (`clock.pid` on machine `client1`),
    /// each with an engine of its own over the same partitions (B7, B47); steps reach one with
    /// `In(name, op)`. Empty: the one process of language 1.0.
    #[serde(default)]
    pub processes: Vec<ProcessDecl>,
    /// The client's configuration file at start: `Chrystoki.conf` text (or `crystoki.ini`,
    /// recognised by its `[Section]` lines), loaded before `setup`; a load error aborts the run.
    #[serde(default)]
    pub conf: Option<String>,
    /// LunaCM command lines run before the application starts.
    #[serde(default)]
    pub setup: Vec<String>,
    /// What happens while the application runs, in order.
    #[serde(default)]
    pub steps: Vec<Step>,
    /// A negative case: an input that must be refused with an exact error.
    #[serde(default)]
    pub negative: Option<NegativeCase>,
    /// The scenario's own verdict.
    #[serde(default)]
    pub expect: Vec<Expect>,
}

/// Virtual clock settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClockSpec {
    /// Start of virtual time, `YYYY-MM-DD HH:MM:SS`.
    #[serde(default = "default_clock_start")]
    pub start: String,
    /// Process id of the simulated application.
    #[serde(default = "default_pid")]
    pub pid: u32,
}

impl Default for ClockSpec {
    fn default() -> Self {
        Self {
            start: default_clock_start(),
            pid: DEFAULT_PID,
        }
    }
}

/// Fixture credentials. `Debug` hides the password.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// The Crypto Officer password of every partition that does not state its own.
    #[serde(default = "default_co")]
    pub co: String,
}

impl Default for Credentials {
    fn default() -> Self {
        Self { co: default_co() }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("co", &"<hidden>")
            .finish()
    }
}

/// Physical form of an HSM.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum HsmForm {
    /// Luna Network HSM (SA).
    #[default]
    Network,
    /// Luna PCIe HSM.
    Pcie,
    /// Luna USB HSM.
    Usb,
    /// Luna Cloud HSM service.
    Cloud,
}

/// How an HSM authenticates its roles.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Auth {
    /// Password authentication.
    #[default]
    Password,
    /// PED (trusted path) authentication.
    Ped,
}

/// A declared HSM.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HsmDecl {
    /// The HSM's serial.
    pub serial: Serial,
    /// Physical form.
    #[serde(default)]
    pub form: HsmForm,
    /// Firmware version, e.g. `"7.7.0"`.
    #[serde(default = "default_firmware")]
    pub firmware: String,
    /// Authentication kind.
    #[serde(default)]
    pub auth: Auth,
    /// HSM policy number → value, overriding the model's defaults.
    #[serde(default)]
    pub policies: BTreeMap<u32, u32>,
}

/// Another client process (`processes`): its name for `In` steps, its process id (the HA log
/// prefix), its client machine (the same as another process's: one `Chrystoki.conf` and one HA
/// log; another: its own) and the order it sees the partitions in (its slot order; empty: the
/// declared order).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessDecl {
    /// Its name in `In` steps (not `main`, which names the scenario's own process).
    pub name: String,
    /// Its process id, printed in its HA log lines.
    pub pid: u32,
    /// Its client machine; `client1` is the scenario's own process's.
    #[serde(default = "default_machine")]
    pub machine: String,
    /// The partitions in its slot order: every declared partition once, or empty.
    #[serde(default)]
    pub order: Vec<Serial>,
}

fn default_machine() -> String {
    "client1".to_string()
}

/// A declared partition (a potential HA member).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartitionDecl {
    /// The partition's serial.
    pub serial: Serial,
    /// The partition's label.
    pub label: String,
    /// Cloning domain.
    #[serde(default = "default_domain")]
    pub domain: String,
    /// The declared HSM holding it; `None` = an implicit HSM of its own.
    #[serde(default)]
    pub hsm: Option<Serial>,
    /// Partition policy number → value, overriding the model's defaults.
    #[serde(default)]
    pub policies: BTreeMap<u32, u32>,
    /// Storage size in bytes; `None` = the model's default.
    #[serde(default)]
    pub storage: Option<u64>,
    /// This partition's own CO password; `None` = `credentials.co`. Hidden by `Debug`.
    #[serde(default)]
    pub co: Option<String>,
    /// Whether the partition starts activated.
    #[serde(default = "default_true")]
    pub activated: bool,
    /// Processing time of every cryptographic call (sign, encrypt) to this member, virtual
    /// milliseconds; the HSM sends heartbeats meanwhile, so only a `ProbeTimeout` ends it
    /// early (B28, B32). Default 0.
    #[serde(default)]
    pub call_ms: u64,
    /// A V1 partition: an HA primary's SMK overwrites its SMK when it joins (B13). Default false.
    #[serde(default)]
    pub v1: bool,
    /// Whether the initial CO credential has been changed (matters under HSM policy 21, B9).
    /// Default true.
    #[serde(default = "default_true")]
    pub co_changed: bool,
    /// The PED activation challenge secret (a test fixture, never printed); PED members of one
    /// group need the same one (B9). Default none.
    #[serde(default)]
    pub activation: Option<String>,
}

impl fmt::Debug for PartitionDecl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PartitionDecl")
            .field("serial", &self.serial)
            .field("label", &self.label)
            .field("domain", &self.domain)
            .field("hsm", &self.hsm)
            .field("policies", &self.policies)
            .field("storage", &self.storage)
            .field("co", &self.co.as_ref().map(|_| "<hidden>"))
            .field("activated", &self.activated)
            .field("v1", &self.v1)
            .field("co_changed", &self.co_changed)
            .field("activation", &self.activation.as_ref().map(|_| "<hidden>"))
            .finish()
    }
}

/// Key types an application can generate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum KeyKind {
    /// AES, 128-bit.
    Aes128,
    /// AES, 256-bit.
    Aes256,
    /// RSA key pair, 2048-bit.
    Rsa2048,
    /// EC key pair on P-256.
    EcP256,
}

/// One thing that happens while the application runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum Step {
    /// An application PKCS#11 call on the virtual slot.
    App(AppOp),
    /// An application call made by another process (`processes`, by name), with its own engine,
    /// sessions and handles; `main` names the scenario's own process.
    In(String, AppOp),
    /// A LunaCM command line typed while the application runs.
    Command(String),
    /// Apply a fault now.
    Fault(Fault),
    /// Advance virtual time to this absolute second (running everything due), then apply the fault.
    At(Seconds, Fault),
    /// Arm a fault: apply it just before `member`'s `nth` call of kind `call` from now on.
    OnCall {
        /// The member whose call triggers the fault.
        member: Serial,
        /// Which calls are counted.
        call: CallKind,
        /// Which one (counted from 1).
        nth: u32,
        /// The fault to apply.
        fault: Fault,
    },
    /// Advance virtual time by this many seconds.
    Advance(Seconds),
    /// Advance virtual time to this absolute second (running everything due), with no fault
    /// (1.1). A second before now is refused at run time.
    AdvanceTo(Seconds),
    /// Record object counts per member under this label.
    Checkpoint(String),
    /// Print, per member, the calls that reached it between two earlier checkpoints, by kind
    /// (every caller: the application's engine, recovery, LunaCM; what `CallsBetween`
    /// compares) *(issue 12)*.
    CallCounts(String, String),
    /// The operator replaces the configuration file with this text while the application
    /// runs; it is loaded at once (a raised `[HARecovery]` counter requests recovery, B45).
    EditConf(String),
    /// Several application threads, each with its own virtual session, whose calls overlap in
    /// virtual time; `faults` are applied at absolute virtual seconds while they run. The seed
    /// decides the order of simultaneous events.
    Threads {
        /// One program per thread.
        threads: Vec<Vec<ThreadOp>>,
        /// `(second, fault)` pairs applied during the run.
        #[serde(default)]
        faults: Vec<(Seconds, Fault)>,
    },
}

/// A call an application thread makes in a `Threads` step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum ThreadOp {
    /// `C_Sign` with the key of this label, `times` calls in a row.
    Sign {
        /// Key label.
        key: String,
        /// Number of calls.
        #[serde(default = "default_times")]
        times: u32,
    },
    /// `C_Encrypt` with the key of this label, `times` calls in a row.
    Encrypt {
        /// Key label.
        key: String,
        /// Number of calls.
        #[serde(default = "default_times")]
        times: u32,
    },
}

/// An application PKCS#11 operation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum AppOp {
    /// `C_Initialize`.
    Initialize,
    /// `C_Finalize`.
    Finalize,
    /// `C_OpenSession`.
    OpenSession,
    /// `C_CloseSession`.
    CloseSession,
    /// `C_Login` as CO.
    Login,
    /// `C_Logout`.
    Logout,
    /// Generate a token (persistent) key.
    GenerateKey {
        /// Object label.
        label: String,
        /// Key type.
        kind: KeyKind,
    },
    /// Generate a session key.
    GenerateSessionKey {
        /// Object label.
        label: String,
        /// Key type.
        kind: KeyKind,
    },
    /// Create a token data object.
    CreateData {
        /// Object label.
        label: String,
        /// Value size in bytes (default 32).
        #[serde(default = "default_data_size")]
        size: u32,
    },
    /// Sign with the key labelled `key`, `times` times.
    Sign {
        /// Key label.
        key: String,
        /// How many operations (default 1).
        #[serde(default = "default_times")]
        times: u32,
    },
    /// Encrypt with the key labelled `key`, `times` times.
    Encrypt {
        /// Key label.
        key: String,
        /// How many operations (default 1).
        #[serde(default = "default_times")]
        times: u32,
    },
    /// Destroy the object labelled `key` (for a key pair: its private half).
    Destroy {
        /// Object label.
        key: String,
    },
    /// Destroy both halves of the key pair labelled `key` (any other object: the object).
    DestroyPair {
        /// Object label.
        key: String,
    },
    /// Count the token objects visible through the virtual slot.
    CountObjects,
    /// `C_SetAttributeValue`: a new value for the data object of this label, on the one member
    /// the engine picks (B22: not replicated) *(issue 12)*.
    UpdateData {
        /// The data object's label (made by this process with `CreateData`).
        label: String,
        /// Its new value (application data, printed in the transcript).
        value: String,
    },
    /// `C_FindObjects` by label: the application takes the handle found (an object another
    /// process made, B7) *(issue 12)*.
    FindObjects(String),
    /// Each member's fingerprint of its token object of this label, read below the injectors
    /// (equal contents, equal fingerprints; `-`: none) *(issue 12)*.
    Fingerprints(String),
    /// `C_SignInit`: a multi-part signature with the key of this label (B27, D5).
    SignInit {
        /// Key label.
        key: String,
    },
    /// `C_SignUpdate` with `size` bytes of application data.
    SignUpdate {
        /// Bytes of data.
        #[serde(default = "default_data_size")]
        size: u32,
    },
    /// `C_SignFinal`.
    SignFinal,
    /// `C_OpenSession` on the virtual slot of the group with this label (for clients with
    /// several groups, B6); later calls use this session.
    OpenSessionOn(String),
    /// A key generated by the application straight on a member's physical slot, bypassing HA
    /// (B21): only that member holds it.
    GenerateKeyOnSlot {
        /// The member's serial.
        serial: Serial,
        /// Key label.
        label: String,
        /// Key type.
        kind: KeyKind,
    },
    /// `C_GetSlotList` (+ slot and token info): record the application's slot list, one
    /// transcript line per slot (D14, B34, B56-B59).
    SlotList,
}

/// A fault aimed at a member, or the operator adding it (`MemberAdded(S)`): `sim`'s own
/// vocabulary ([`sim::fault::MemberFault`]), read from the file directly.
pub type Fault = sim::fault::MemberFault<Serial>;

/// Kinds of member calls counted by [`Step::OnCall`]: `sim`'s own ([`sim::fault::CallKind`]).
pub use sim::fault::CallKind;

/// One expectation of the scenario's verdict.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum Expect {
    /// A full HA log line; all `Log` expectations appear in this order (as a subsequence).
    Log(String),
    /// This exact full line appears exactly this many times in the HA log.
    LogCount(String, u32),
    /// No HA log line contains this text.
    NoLogContaining(String),
    /// Token object count per member at the end of the run.
    ObjectCounts(BTreeMap<Serial, u64>),
    /// Token object count per member at the named checkpoint.
    ObjectCountsAt(String, BTreeMap<Serial, u64>),
    /// The application saw no failure.
    NoAppErrors,
    /// Exact count of application failures by CKR name, e.g. `{"CKR_DEVICE_ERROR": 4}`.
    AppErrors(BTreeMap<String, u32>),
    /// Exact count, by CKR name, of the failures the application's profile was left with: no
    /// rule answered them, or it gave up (`application`; an empty map: every failure it saw
    /// was handled).
    FinalErrors(BTreeMap<String, u32>),
    /// A line that must appear in some command's output.
    Output(String),
    /// Some command's output (a line, or its error) contains this text (1.1).
    OutputContains(String),
    /// The application's slot list at the checkpoint, one entry per slot as the transcript's
    /// slot list shows it (`"0: ..."`), in order (1.1; D14, B34, B56-B59).
    SlotsAt(String, Vec<String>),
    /// Calls (signatures and encryptions) each member served between two checkpoints, the
    /// first named before the second (1.1; B25, D6).
    ServedBetween(String, String, BTreeMap<Serial, u64>),
    /// Every call that reached each named member (any kind: the application's, recovery
    /// probes, LunaCM's) between two checkpoints, the first named before the second: e.g. one
    /// member call per application call in the steady state, no per-call health probe (D39).
    CallsBetween(String, String, BTreeMap<Serial, u64>),
    /// Each named member's role as the engine sees it at the checkpoint (1.1; B35-B37, D12).
    RolesAt(String, BTreeMap<Serial, Role>),
    /// The HA log files at the checkpoint, by path, with every line of each; exactly these
    /// files exist (1.1; B62, B64, D15).
    LogFilesAt(String, BTreeMap<String, Vec<String>>),
    /// The last `Fingerprints(label)` shows at least two different fingerprints among the
    /// members holding the object: the copies diverged and nothing reconciled them (B22)
    /// *(issue 12)*.
    Diverged(String),
}

/// A member's role as the engine sees it ([`Expect::RolesAt`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Role {
    /// Alive, active.
    Active,
    /// Alive standby member while an active one is alive.
    Standby,
    /// Standby member serving because every active member is gone.
    Promoted,
    /// Dropped, not recovered.
    Down,
}

/// A negative case: `input` must be refused with exactly `error`, or with an error that
/// contains `error_contains` (1.1: the spec fixes rules, not LunaCM's wording). Exactly one of
/// the two is given.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NegativeCase {
    /// The refused input.
    pub input: NegativeInput,
    /// The exact error text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Text the error must contain (1.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_contains: Option<String>,
}

impl NegativeCase {
    /// Whether `refusal` is the refusal this case wants.
    pub fn accepts(&self, refusal: &str) -> bool {
        match (&self.error, &self.error_contains) {
            (Some(exact), _) => refusal == exact,
            (None, Some(part)) => refusal.contains(part.as_str()),
            (None, None) => false,
        }
    }

    /// The wanted refusal as the verdict shows it.
    pub fn wanted(&self) -> String {
        match (&self.error, &self.error_contains) {
            (Some(exact), _) => exact.clone(),
            (None, Some(part)) => format!("(an error containing) {part}"),
            (None, None) => "(nothing stated)".to_string(),
        }
    }
}

/// What kind of input a negative case feeds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum NegativeInput {
    /// A LunaCM command line.
    Command(String),
    /// The text of a `Chrystoki.conf`.
    Conf(String),
    /// The text of a scenario file.
    ScenarioText(String),
    /// The scenario's own steps: the run must stop with this error (a limit, the end of
    /// virtual time); 1.1.
    Steps,
}

fn default_clock_start() -> String {
    DEFAULT_CLOCK_START.to_owned()
}

fn default_pid() -> u32 {
    DEFAULT_PID
}

fn default_co() -> String {
    DEFAULT_CO_PASSWORD.to_owned()
}

fn default_firmware() -> String {
    "7.7.0".to_owned()
}

fn default_domain() -> String {
    "dom1".to_owned()
}

fn default_true() -> bool {
    true
}

fn default_data_size() -> u32 {
    32
}

fn default_times() -> u32 {
    1
}
