//! What one exploration seed means before any step is drawn: the swarm options (topology size,
//! recovery settings, which operations and fault kinds are enabled at all). Printed as the seed
//! line, so a reader of a failure knows every derived choice without reading the scenario.

use std::collections::BTreeSet;
use std::fmt;

use rand::RngExt;
use rand_chacha::ChaCha20Rng;

/// The generator's version: part of a seed's meaning. Bump it whenever the same seed would
/// generate a different scenario (a test snapshots seed 1's scenario to catch accidents).
pub const GENERATOR_VERSION: u32 = 8;

/// Application operations the workload may draw (swarm: a seed enables a subset).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum OpKind {
    /// `GenerateKey` (token key).
    Generate,
    /// `GenerateSessionKey`.
    GenerateSession,
    /// `CreateData`.
    Create,
    /// `Destroy`.
    Destroy,
    /// `Sign`.
    Sign,
    /// `Encrypt`.
    Encrypt,
    /// `SignInit` / `SignUpdate` / `SignFinal`.
    Multipart,
    /// `CloseSession` then `OpenSession` (and `Login` again).
    Reopen,
    /// `Logout` then `Login`.
    Relogin,
    /// A key generated straight on a member's physical slot (B21), later made everyone's by
    /// `synchronize`.
    Direct,
    /// `Finalize` then `Initialize` (an application restart, D20).
    Restart,
    /// A key used after the login is gone (`Logout`, or a new session never logged in): it
    /// must fail; a private key is never usable without login.
    UseWithoutLogin,
    /// `C_GetSlotList`: the application's slot list (D14, B34, B56; checked by I8).
    SlotList,
}

impl OpKind {
    /// Every operation kind, in a fixed order (part of the seed's meaning).
    pub const ALL: [OpKind; 13] = [
        OpKind::Generate,
        OpKind::GenerateSession,
        OpKind::Create,
        OpKind::Destroy,
        OpKind::Sign,
        OpKind::Encrypt,
        OpKind::Multipart,
        OpKind::Reopen,
        OpKind::Relogin,
        OpKind::Direct,
        OpKind::Restart,
        OpKind::UseWithoutLogin,
        OpKind::SlotList,
    ];
}

/// Fault kinds the schedule may draw (swarm: a seed enables a subset).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum FaultKind {
    /// `Drop` (and a later `Restore`).
    Drop,
    /// `Deactivate` (and a later `Activate`).
    Deactivate,
    /// `Revoke` (undone by `Restore`).
    Revoke,
    /// `LoginFailure`.
    LoginFailure,
    /// `Slow`.
    Slow,
    /// Every member dropped at one instant.
    AllOffline,
    /// A partition added to the group while the application runs.
    MemberAdded,
    /// `hagroup removemember` while the application runs.
    MemberRemoved,
    /// `hagroup recover`.
    Recover,
    /// `hagroup retry` / `interval` / `recoverymode` while the application runs.
    Settings,
    /// A fault armed for a member's n-th call of one kind (replication, login, ...).
    OnCall,
    /// `Hang` (undone by `Restore`): no answer, the receive timeout decides (D35).
    Hang,
    /// `LostAnswer` armed on a call: it takes effect, its answer is lost (D35).
    LostAnswer,
    /// `Busy` for a while: `CKR_FUNCTION_FAILED`, not a drop (D3, D35).
    Busy,
    /// `IdleCut`: an idle connection is cut, found at the next call (D35).
    IdleCut,
    /// `DirectModify`: an object made on one member outside the group (B21, B22, D35), or
    /// (generator v7) a token data object changed there (`DirectChange`, D64).
    DirectModify,
    /// `hagroup synchronize` while the application runs (D8: union, never deletes).
    Synchronize,
    /// LunaCM's own data commands (`partition login` on a slot, sometimes `partition clear
    /// -force`, then `partition logout`), most often while a member's CO credential no longer
    /// matches (D22, B61, B9; checked by I9).
    LunacmData,
}

impl FaultKind {
    /// Every fault kind, in a fixed order (part of the seed's meaning).
    pub const ALL: [FaultKind; 18] = [
        FaultKind::Drop,
        FaultKind::Deactivate,
        FaultKind::Revoke,
        FaultKind::LoginFailure,
        FaultKind::Slow,
        FaultKind::AllOffline,
        FaultKind::MemberAdded,
        FaultKind::MemberRemoved,
        FaultKind::Recover,
        FaultKind::Settings,
        FaultKind::OnCall,
        FaultKind::Hang,
        FaultKind::LostAnswer,
        FaultKind::Busy,
        FaultKind::IdleCut,
        FaultKind::DirectModify,
        FaultKind::Synchronize,
        FaultKind::LunacmData,
    ];
}

/// `activeBasic` or `activeEnhanced` (D11).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `activeBasic`.
    Basic,
    /// `activeEnhanced`.
    Enhanced,
}

impl Mode {
    /// The `hagroup recoverymode -mode` word.
    pub fn word(self) -> &'static str {
        match self {
            Mode::Basic => "activeBasic",
            Mode::Enhanced => "activeEnhanced",
        }
    }
}

/// Everything a seed decides before drawing steps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// The seed.
    pub seed: u64,
    /// Group members at start (2..=5).
    pub members: u32,
    /// How many of them are standby (0..members-1).
    pub standby: u32,
    /// Partitions declared but outside the group, for `MemberAdded` (0 or 1).
    pub spare: u32,
    /// `hagroup retry -count`: 0, -1 or 1..=500.
    pub retry: i32,
    /// `hagroup interval -interval`: 60..=1200 seconds.
    pub interval: u32,
    /// Recovery mode.
    pub mode: Mode,
    /// `HAOnly`.
    pub ha_only: bool,
    /// `failover_on_deactivation`.
    pub failover_on_deactivation: bool,
    /// `HASynchronize` for the group.
    pub synchronize: bool,
    /// Application operations to draw (50..=500).
    pub operations: u32,
    /// Application threads (1 = plain `App` steps; more = `Threads` blocks too).
    pub threads: u32,
    /// Operations enabled for this seed.
    pub ops: BTreeSet<OpKind>,
    /// Fault kinds enabled for this seed.
    pub faults: BTreeSet<FaultKind>,
    /// Placement: membership changes (`MemberAdded`, re-adding a removed member) are made while
    /// the application is logged out (B54 and the reconcile-at-login decision; bug class 9).
    pub membership_logged_out: bool,
    /// Placement: a deactivation is often undone at once, before the engine talks to the
    /// member (it comes back logged out, its handles reissued; bug class 4).
    pub blink: bool,
    /// The application's behaviour profile (issue 12): `None` = the plain scripted application.
    pub profile: Option<AppProfile>,
}

/// The application behaviour profiles exploration draws (`harness::app::Profile`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppProfile {
    /// Caches its slot id, session and object handles forever.
    Naive,
    /// Drops a session on a session-class error, opens, logs in and re-finds its keys.
    EvictOnError,
    /// `EvictOnError`, and finalises and initialises on a device-class error.
    Reinit,
    /// Built from rules: on a device-class error, re-find keys and retry (give up after 2).
    Custom,
}

impl AppProfile {
    /// The profile's name, as the transcript prints it.
    pub fn word(self) -> &'static str {
        match self {
            AppProfile::Naive => "naive",
            AppProfile::EvictOnError => "evict-on-error",
            AppProfile::Reinit => "reinit",
            AppProfile::Custom => "custom",
        }
    }
}

/// Draws a value in `lo..=hi` without ever sampling a `usize`.
pub(crate) fn draw(rng: &mut ChaCha20Rng, lo: u32, hi: u32) -> u32 {
    rng.random_range(lo..=hi)
}

impl Options {
    /// The options of `seed`, from its own child stream.
    pub fn derive(seed: u64, rng: &mut ChaCha20Rng) -> Options {
        let members = draw(rng, 2, 5);
        let standby = if rng.random_bool(0.3) {
            draw(rng, 1, members - 1)
        } else {
            0
        };
        let spare = u32::from(rng.random_bool(0.3));
        let retry = match draw(rng, 0, 9) {
            0 => 0,
            1 => -1,
            2..=6 => draw(rng, 1, 5) as i32,
            _ => draw(rng, 1, 500) as i32,
        };
        let interval = draw(rng, 60, 1200);
        let mode = if rng.random_bool(0.5) {
            Mode::Basic
        } else {
            Mode::Enhanced
        };
        let ha_only = rng.random_bool(0.5);
        let failover_on_deactivation = rng.random_bool(0.5);
        let synchronize = rng.random_bool(0.8);
        let operations = draw(rng, 50, 500);
        let threads = if rng.random_bool(0.7) {
            1
        } else {
            draw(rng, 2, 4)
        };
        // Swarm: each kind is on with probability 1/2; the core operations always are, so
        // every seed has a workload to fail over.
        let mut ops: BTreeSet<OpKind> = [OpKind::Generate, OpKind::Sign].into_iter().collect();
        for kind in OpKind::ALL {
            if rng.random_bool(0.5) {
                ops.insert(kind);
            }
        }
        let mut faults: BTreeSet<FaultKind> = BTreeSet::new();
        for kind in FaultKind::ALL {
            if rng.random_bool(0.5) {
                faults.insert(kind);
            }
        }
        if spare == 0 {
            faults.remove(&FaultKind::MemberAdded);
        }
        if faults.is_empty() {
            faults.insert(FaultKind::Drop);
        }
        if ha_only {
            // Physical slots are hidden from the application in HA-only mode (B57).
            ops.remove(&OpKind::Direct);
        }
        // Placements and the profile (generator v5).
        let membership_logged_out = rng.random_bool(0.5);
        let blink = rng.random_bool(0.5);
        // A profile in one seed of five: their reactions (re-finding every key after an
        // error) make a seed several times slower to run.
        let profile = match draw(rng, 0, 19) {
            0 => Some(AppProfile::Naive),
            1 => Some(AppProfile::EvictOnError),
            2 => Some(AppProfile::Reinit),
            3 => Some(AppProfile::Custom),
            _ => None,
        };
        Options {
            seed,
            members,
            standby,
            spare,
            retry,
            interval,
            mode,
            ha_only,
            failover_on_deactivation,
            synchronize,
            operations,
            threads,
            ops,
            faults,
            membership_logged_out,
            blink,
            profile,
        }
    }
}

impl fmt::Display for Options {
    /// The seed line: seed, generator version and every derived option.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "seed {} generator v{} members {} standby {} spare {} retry {} interval {} mode {} \
             haonly {} failover_on_deactivation {} synchronize {} operations {} threads {} ops {:?} faults {:?} membership_logged_out {} blink {} profile {}",
            self.seed,
            GENERATOR_VERSION,
            self.members,
            self.standby,
            self.spare,
            self.retry,
            self.interval,
            self.mode.word(),
            u8::from(self.ha_only),
            u8::from(self.failover_on_deactivation),
            u8::from(self.synchronize),
            self.operations,
            self.threads,
            self.ops,
            self.faults,
            u8::from(self.membership_logged_out),
            u8::from(self.blink),
            self.profile.map_or("plain", AppProfile::word),
        )
    }
}
