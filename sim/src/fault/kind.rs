//! The fault vocabulary and the kinds of member call a fault can be armed on: one vocabulary
//! for the injector, the world and scenario files (which read [`MemberFault`] and [`CallKind`]
//! directly with the `serde` feature).

use std::fmt;

use crate::record::Action;

/// What can happen to a member. The whole vocabulary exists from the start; which faults the
/// injector applies itself is said by [`Fault::at_transport`]; the world applies the others.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The connection to the member is lost: every call fails as a transport failure.
    Drop,
    /// The connection works again; sessions from before the drop stay dead.
    Restore,
    /// The partition loses its activation (B33, B50, D17).
    Deactivate,
    /// The partition is activated again.
    Activate,
    /// The member is revoked (B52).
    Revoke,
    /// Logging in to the member fails from now on, e.g. its CO credential changed (B49).
    LoginFailure,
    /// The partition's CO credential is set back to the group's: a `LoginFailure` undone (the
    /// operator fixed the credential), so a manual recovery can bring the member back.
    LoginRestore,
    /// Every call takes this long (B28).
    Slow {
        /// Virtual duration of each call.
        ms: u64,
    },
    /// The member accepts every call and never answers it (nothing is executed): the client's
    /// `ReceiveTimeout` decides (B28), a transport failure, until `Restore` (D35).
    Hang,
    /// The next call takes effect on the member, then the connection is lost before its
    /// answer arrives (a transport failure; the member is unreachable until `Restore`, as after
    /// a `Drop`). A creation cut short this way leaves an orphan on the member (D35).
    LostAnswer,
    /// For this long from now, every call answers `CKR_FUNCTION_FAILED` at once without being
    /// executed: not a drop, the application sees it (D3, D35).
    Busy {
        /// How long the member stays busy, virtual milliseconds.
        ms: u64,
    },
    /// From now on, a connection idle for this long is cut silently; the next call finds it
    /// (a transport failure, the old sessions dead) and a reconnect works (D35). Until
    /// `Restore`.
    IdleCut {
        /// The idle period, virtual milliseconds.
        ms: u64,
    },
    /// An object is created on the partition outside the group (another application on the
    /// member's own slot, B21/B22): a token data object with this label and an id outside the
    /// engine's namespace (D35).
    DirectModify {
        /// The new object's label.
        label: String,
    },
    /// An existing object is changed on the partition outside the group (another application
    /// on the member's own slot, B21/B22): the value of its token data object labelled
    /// `label` is set to `value`; the other members keep theirs (D64).
    DirectChange {
        /// The changed object's label.
        label: String,
        /// Its new value.
        value: String,
    },
}

impl Fault {
    /// The name used in scenario files and transcripts.
    pub fn name(&self) -> &'static str {
        match self {
            Fault::Drop => "Drop",
            Fault::Restore => "Restore",
            Fault::Deactivate => "Deactivate",
            Fault::Activate => "Activate",
            Fault::Revoke => "Revoke",
            Fault::LoginFailure => "LoginFailure",
            Fault::LoginRestore => "LoginRestore",
            Fault::Slow { .. } => "Slow",
            Fault::Hang => "Hang",
            Fault::LostAnswer => "LostAnswer",
            Fault::Busy { .. } => "Busy",
            Fault::IdleCut { .. } => "IdleCut",
            Fault::DirectModify { .. } => "DirectModify",
            Fault::DirectChange { .. } => "DirectChange",
        }
    }

    /// True when the injector itself applies it (the others act on the partition and are
    /// applied by the world).
    pub fn at_transport(&self) -> bool {
        matches!(
            self,
            Fault::Drop
                | Fault::Restore
                | Fault::Revoke
                | Fault::Slow { .. }
                | Fault::Hang
                | Fault::LostAnswer
                | Fault::Busy { .. }
                | Fault::IdleCut { .. }
        )
    }
}

/// A kind of member call, for counting and for arming a fault on the nth call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum CallKind {
    /// Matches every kind (arming only).
    Any,
    /// `C_GetTokenInfo`.
    TokenInfo,
    /// `C_OpenSession`.
    OpenSession,
    /// `C_CloseSession` / `C_CloseAllSessions`.
    CloseSession,
    /// `C_Login`.
    Login,
    /// `C_Logout`.
    Logout,
    /// `C_GenerateKey(Pair)`.
    GenerateKey,
    /// `C_CreateObject`.
    CreateData,
    /// `C_FindObjects`.
    FindObjects,
    /// `C_GetAttributeValue`.
    ObjectInfo,
    /// `C_DestroyObject`.
    Destroy,
    /// `C_Sign`.
    Sign,
    /// `C_SignInit` / `C_SignUpdate` / `C_SignFinal`.
    SignMultipart,
    /// `C_Encrypt`.
    Encrypt,
    /// Source side of a clone.
    ExportClone,
    /// Target side of a clone.
    ImportClone,
    /// Vendor extension: partition and HSM properties.
    Properties,
    /// `C_SetAttributeValue` (a data object's value).
    SetValue,
}

impl CallKind {
    /// Every kind, in declaration (and so `Ord`) order: `CallKind::ALL[k.index()] == k`.
    pub const ALL: [CallKind; 18] = [
        CallKind::Any,
        CallKind::TokenInfo,
        CallKind::OpenSession,
        CallKind::CloseSession,
        CallKind::Login,
        CallKind::Logout,
        CallKind::GenerateKey,
        CallKind::CreateData,
        CallKind::FindObjects,
        CallKind::ObjectInfo,
        CallKind::Destroy,
        CallKind::Sign,
        CallKind::SignMultipart,
        CallKind::Encrypt,
        CallKind::ExportClone,
        CallKind::ImportClone,
        CallKind::Properties,
        CallKind::SetValue,
    ];

    /// The kind's position in [`CallKind::ALL`], for counters kept in arrays.
    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for CallKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// What a scenario makes happen to one member, as scenario files write it: a [`Fault`] aimed at
/// the member (`Drop(S)`, `Slow(member: S, ms: N)`, ...) or `MemberAdded(S)`, which is not a
/// fault but an operator action (LunaCM's `hagroup addmember` while the application runs, B24,
/// B54). `S` is the serial type of the reader.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename = "Fault", deny_unknown_fields)
)]
pub enum MemberFault<S> {
    /// [`Fault::Drop`].
    Drop(S),
    /// [`Fault::Restore`].
    Restore(S),
    /// [`Fault::Deactivate`].
    Deactivate(S),
    /// [`Fault::Activate`].
    Activate(S),
    /// [`Fault::Revoke`].
    Revoke(S),
    /// [`Fault::LoginFailure`].
    LoginFailure(S),
    /// [`Fault::LoginRestore`].
    LoginRestore(S),
    /// [`Fault::Slow`].
    Slow {
        /// The slowed member.
        member: S,
        /// Virtual duration of each call, milliseconds.
        ms: u64,
    },
    /// [`Fault::Hang`].
    Hang(S),
    /// [`Fault::LostAnswer`].
    LostAnswer(S),
    /// [`Fault::Busy`].
    Busy {
        /// The busy member.
        member: S,
        /// How long, milliseconds.
        ms: u64,
    },
    /// [`Fault::IdleCut`].
    IdleCut {
        /// The member whose idle connection is cut.
        member: S,
        /// The idle period, milliseconds.
        ms: u64,
    },
    /// [`Fault::DirectModify`].
    DirectModify {
        /// The member changed outside the group.
        member: S,
        /// The label of the object created there.
        label: String,
    },
    /// [`Fault::DirectChange`].
    DirectChange {
        /// The member changed outside the group.
        member: S,
        /// The label of the data object changed there.
        label: String,
        /// Its new value.
        value: String,
    },
    /// The operator adds the partition to the first group (an action, not a fault).
    MemberAdded(S),
}

impl<S> MemberFault<S> {
    /// `fault` aimed at `member`. Every fault has its scenario form (this match is exhaustive,
    /// so the two lists cannot drift apart).
    pub fn new(member: S, fault: Fault) -> Self {
        match fault {
            Fault::Drop => MemberFault::Drop(member),
            Fault::Restore => MemberFault::Restore(member),
            Fault::Deactivate => MemberFault::Deactivate(member),
            Fault::Activate => MemberFault::Activate(member),
            Fault::Revoke => MemberFault::Revoke(member),
            Fault::LoginFailure => MemberFault::LoginFailure(member),
            Fault::LoginRestore => MemberFault::LoginRestore(member),
            Fault::Slow { ms } => MemberFault::Slow { member, ms },
            Fault::Hang => MemberFault::Hang(member),
            Fault::LostAnswer => MemberFault::LostAnswer(member),
            Fault::Busy { ms } => MemberFault::Busy { member, ms },
            Fault::IdleCut { ms } => MemberFault::IdleCut { member, ms },
            Fault::DirectModify { label } => MemberFault::DirectModify { member, label },
            Fault::DirectChange { label, value } => MemberFault::DirectChange {
                member,
                label,
                value,
            },
        }
    }

    /// The member it applies to.
    pub fn member(&self) -> &S {
        match self {
            MemberFault::Drop(s)
            | MemberFault::Restore(s)
            | MemberFault::Deactivate(s)
            | MemberFault::Activate(s)
            | MemberFault::Revoke(s)
            | MemberFault::LoginFailure(s)
            | MemberFault::LoginRestore(s)
            | MemberFault::MemberAdded(s)
            | MemberFault::Hang(s)
            | MemberFault::LostAnswer(s)
            | MemberFault::Busy { member: s, .. }
            | MemberFault::IdleCut { member: s, .. }
            | MemberFault::DirectModify { member: s, .. }
            | MemberFault::DirectChange { member: s, .. }
            | MemberFault::Slow { member: s, .. } => s,
        }
    }

    /// What happens to the member.
    pub fn action(&self) -> Action {
        match self {
            MemberFault::Drop(_) => Action::Fault(Fault::Drop),
            MemberFault::Restore(_) => Action::Fault(Fault::Restore),
            MemberFault::Deactivate(_) => Action::Fault(Fault::Deactivate),
            MemberFault::Activate(_) => Action::Fault(Fault::Activate),
            MemberFault::Revoke(_) => Action::Fault(Fault::Revoke),
            MemberFault::LoginFailure(_) => Action::Fault(Fault::LoginFailure),
            MemberFault::LoginRestore(_) => Action::Fault(Fault::LoginRestore),
            MemberFault::Slow { ms, .. } => Action::Fault(Fault::Slow { ms: *ms }),
            MemberFault::Hang(_) => Action::Fault(Fault::Hang),
            MemberFault::LostAnswer(_) => Action::Fault(Fault::LostAnswer),
            MemberFault::Busy { ms, .. } => Action::Fault(Fault::Busy { ms: *ms }),
            MemberFault::IdleCut { ms, .. } => Action::Fault(Fault::IdleCut { ms: *ms }),
            MemberFault::DirectModify { label, .. } => Action::Fault(Fault::DirectModify {
                label: label.clone(),
            }),
            MemberFault::DirectChange { label, value, .. } => Action::Fault(Fault::DirectChange {
                label: label.clone(),
                value: value.clone(),
            }),
            MemberFault::MemberAdded(_) => Action::MemberAdded,
        }
    }

    /// The injector or partition fault, or `None` for the operator action `MemberAdded`.
    pub fn fault(&self) -> Option<Fault> {
        match self.action() {
            Action::Fault(f) => Some(f),
            Action::MemberAdded => None,
        }
    }

    /// The variant's name as written in a scenario, e.g. `"Drop"`.
    pub fn kind_name(&self) -> &'static str {
        self.action().name()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_call_kind_is_listed_once_in_order() {
        for (i, kind) in CallKind::ALL.iter().enumerate() {
            assert_eq!(kind.index(), i, "{kind}");
        }
        let mut sorted = CallKind::ALL;
        sorted.sort();
        assert_eq!(sorted, CallKind::ALL, "ALL is in Ord order");
    }

    #[test]
    fn every_fault_round_trips_through_its_scenario_form() {
        let faults = [
            Fault::Drop,
            Fault::Restore,
            Fault::Deactivate,
            Fault::Activate,
            Fault::Revoke,
            Fault::LoginFailure,
            Fault::LoginRestore,
            Fault::Slow { ms: 7 },
            Fault::Hang,
            Fault::LostAnswer,
            Fault::Busy { ms: 5 },
            Fault::IdleCut { ms: 9 },
            Fault::DirectModify { label: "x".into() },
            Fault::DirectChange {
                label: "x".into(),
                value: "v".into(),
            },
        ];
        for fault in faults {
            let planned = MemberFault::new("s", fault.clone());
            assert_eq!(planned.fault(), Some(fault.clone()));
            assert_eq!(planned.kind_name(), fault.name());
            assert_eq!(*planned.member(), "s");
        }
        let added = MemberFault::MemberAdded("s");
        assert_eq!((added.fault(), added.kind_name()), (None, "MemberAdded"));
    }
}
