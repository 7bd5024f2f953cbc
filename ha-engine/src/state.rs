//! The engine's runtime state after `C_Initialize`: per group the members with their liveness and
//! recovery counters, the group's object table (the objects it holds by group-wide id, D8, and
//! tombstones for deletions not yet applied everywhere), and the application's virtual sessions
//! and virtual object handles. Pure data; the behaviour lives in the modules named after it.

use std::collections::{BTreeMap, BTreeSet};

use crate::ports::{Millis, ObjectClass, ObjectHandle, ObjectId, SessionHandle};

/// A virtual session handle as the application sees it.
pub type VSessionHandle = u64;
/// A virtual object handle as the application sees it.
pub type VObjectHandle = u64;

/// Why a member is out of the group's available list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DownReason {
    /// A call failed with a drop code (B29, D3).
    Dropped,
    /// Unreachable at `C_Initialize` (B46).
    Unreachable,
    /// Not activated at `C_Initialize`, or still not activated at a recovery attempt (B51).
    NotActivated,
    /// Found deactivated after a failed command (B33, D17).
    Deactivated,
    /// Logging in failed; no automatic attempts until `hagroup recover` (B49, D10).
    LoginFailed,
    /// Added to the group while the application runs, not yet brought in (B54).
    New,
}

/// A member that is down, with its recovery counters (B44, D9).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Down {
    /// Why it went down.
    pub reason: DownReason,
    /// Failed attempts in this outage.
    pub attempts: u32,
    /// When the member was last tried: the last attempt, or the drop (or the addition, for a
    /// new member, or the instant auto-recovery was switched on while it waited for nothing)
    /// before the first one. The next attempt is due one interval after it, in whatever
    /// interval is in force (B44, D9).
    pub since: Millis,
    /// When the next automatic attempt is due; `None` when auto-recovery is off or exhausted.
    pub next_attempt: Option<Millis>,
    /// The exhaustion line was logged; only manual recovery remains.
    pub exhausted: bool,
    /// A manual recovery (`hagroup recover`, B45) is waiting: settings changes leave it be.
    pub manual: bool,
}

/// Whether a member's actual objects have been compared with the group's table (see
/// [`crate::reconcile`]). The engine never keeps lists of what a member missed: it reads what
/// the member holds and compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reconciliation {
    /// Compared since it last (re)joined, and it holds every token object of the table.
    Done,
    /// Reconnected while the application held no login: nothing is known of what it holds
    /// until the application's next login, which compares it. `attempt` is the recovery
    /// attempt that reconnected it (`None` for a new member, B54), for the `reintroducing` line.
    AtLogin {
        /// The attempt number that reconnected it.
        attempt: Option<u32>,
    },
    /// Compared, but some token objects could not be copied to it because no reachable member
    /// held them (B19), or it refused a deletion the others applied (D48); compared again when
    /// a member rejoins, at login and after `hagroup recover`.
    Gaps,
}

/// Liveness of one member as the engine believes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Liveness {
    /// In the available list.
    Alive,
    /// Dropped or unreachable.
    Down(Down),
    /// Removed from the group's configuration while the application runs (B24).
    Removed,
}

/// One member of a group at run time.
#[derive(Debug)]
pub struct MemberRuntime {
    /// Index of the physical slot in the engine's slot list.
    pub slot: usize,
    /// Token serial.
    pub serial: String,
    /// Configured as standby (B35).
    pub standby: bool,
    /// Alive or down.
    pub liveness: Liveness,
    /// The engine's own session on this member (cloning, recovery).
    pub mgmt: Option<SessionHandle>,
    /// The member session behind each virtual session.
    pub sessions: BTreeMap<VSessionHandle, SessionHandle>,
    /// Member object handles found so far, by (id, class); cleared on every reconnect.
    pub handles: BTreeMap<(ObjectId, ObjectClass), ObjectHandle>,
    /// Calls dispatched to this member and not yet completed (B25).
    pub in_flight: u32,
    /// Whether its objects have been compared with the group's table since it (re)joined.
    pub reconciliation: Reconciliation,
    /// Counts the member's connections: bumped whenever the sessions it had are gone, so work
    /// begun on an older connection (a call in flight, a multi-part operation) is known stale.
    pub epoch: u64,
}

impl MemberRuntime {
    /// A member as found at initialisation, before it is probed.
    pub fn new(slot: usize, serial: String, standby: bool) -> Self {
        MemberRuntime {
            slot,
            serial,
            standby,
            liveness: Liveness::Alive,
            mgmt: None,
            sessions: BTreeMap::new(),
            handles: BTreeMap::new(),
            in_flight: 0,
            reconciliation: Reconciliation::Done,
            epoch: 0,
        }
    }

    /// True when in the available list.
    pub fn is_alive(&self) -> bool {
        matches!(self.liveness, Liveness::Alive)
    }

    /// Forgets every member-issued handle (the connection they lived on is gone).
    pub fn forget_connection(&mut self) {
        self.epoch += 1;
        self.mgmt = None;
        self.sessions.clear();
        self.handles.clear();
    }
}

/// One replicated object the group holds (a key pair has one entry per half).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupObject {
    /// Group-wide id (D8).
    pub id: ObjectId,
    /// Class of this half.
    pub class: ObjectClass,
    /// Token object (reintroduced on recovery) or session object (never reintroduced, D7).
    pub token: bool,
    /// The virtual session that owns a session object.
    pub owner: Option<VSessionHandle>,
}

/// One HA group at run time.
#[derive(Debug)]
pub struct GroupRuntime {
    /// Index in the client configuration (`NN`).
    pub index: usize,
    /// Group label.
    pub label: String,
    /// Members in configuration order; the first usable one is the primary (B5, B30).
    pub members: Vec<MemberRuntime>,
    /// Objects the group holds, by (id, class): the table recovery compares members with.
    pub objects: BTreeMap<(ObjectId, ObjectClass), GroupObject>,
    /// Token objects deleted (or creations cut short, D18) that some member may still hold:
    /// by (id, class), the serials of the members not known to have applied the deletion.
    /// A member's reconciliation destroys what it holds of them and leaves the set.
    pub tombstones: BTreeMap<(ObjectId, ObjectClass), BTreeSet<String>>,
    /// Tombstoned creations whose answer never came back from the primary (a drop code from
    /// the creating call itself): the member may hold the object or not. One found is an
    /// orphan, destroyed and reported ([`crate::EngineEvent::Orphan`], D37).
    pub lost_creations: BTreeSet<(ObjectId, ObjectClass)>,
    /// The member index chosen last by load balancing (D6 tie-break).
    pub last_chosen: Option<usize>,
    /// `HALOG_MEMBERS_OFFLINE` was logged and no member has returned since (B53, D4).
    pub offline: bool,
    /// Incremented every time the group's authenticated state was lost with its last member
    /// (D11: under activeBasic; sessions opened before are invalid).
    pub loss_generation: u64,
    /// The `configured as ...` line was logged (B10).
    pub device_type_logged: bool,
    /// The application is logged in to the virtual slot (login is per application and token,
    /// so every session of the group shares it).
    pub logged_in: bool,
    /// Incremented at every logout of the application from the group (`C_Logout`, or closing
    /// its last session): a crypto call begun before one ran under a login since ended (D66).
    pub logouts: u64,
}

impl GroupRuntime {
    /// A group as found at initialisation: the table is empty (D20: it is this process's).
    pub fn new(index: usize, label: String, members: Vec<MemberRuntime>) -> Self {
        GroupRuntime {
            index,
            label,
            members,
            objects: BTreeMap::new(),
            tombstones: BTreeMap::new(),
            lost_creations: BTreeSet::new(),
            last_chosen: None,
            offline: false,
            loss_generation: 0,
            device_type_logged: false,
            logged_in: false,
            logouts: 0,
        }
    }

    /// True when the member may serve application calls now: alive and either active, or
    /// standby while no active member is alive (B35, B36, D12).
    pub fn is_usable(&self, m: usize) -> bool {
        let Some(member) = self.members.get(m) else {
            return false;
        };
        if !member.is_alive() {
            return false;
        }
        !member.standby || !self.members.iter().any(|o| !o.standby && o.is_alive())
    }

    /// Usable members in order.
    pub fn usable(&self) -> Vec<usize> {
        (0..self.members.len())
            .filter(|&m| self.is_usable(m))
            .collect()
    }

    /// Alive members in order (usable ones and standby ones: replication goes to all, B18).
    pub fn alive(&self) -> Vec<usize> {
        (0..self.members.len())
            .filter(|&m| self.members[m].is_alive())
            .collect()
    }
}

/// A virtual session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VSession {
    /// The group (virtual slot) it was opened on.
    pub group: usize,
    /// The group's loss generation when it was opened (D11).
    pub generation: u64,
}

/// A virtual object handle's target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VObject {
    /// The group.
    pub group: usize,
    /// Group-wide id.
    pub id: ObjectId,
    /// Class (selects the half of a pair).
    pub class: ObjectClass,
}
