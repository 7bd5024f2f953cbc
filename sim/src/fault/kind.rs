//! The fault vocabulary and the kinds of member call a fault can be armed on.

use std::fmt;

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
    /// Every call takes this long (B28).
    Slow {
        /// Virtual duration of each call.
        ms: u64,
    },
    /// The partition is added to the group while the application runs (B24, B54).
    MemberAdded,
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
            Fault::Slow { .. } => "Slow",
            Fault::MemberAdded => "MemberAdded",
        }
    }

    /// True when the injector itself applies it (the others act on the partition, or on the
    /// client configuration, and are applied by the world or the harness).
    pub fn at_transport(&self) -> bool {
        matches!(
            self,
            Fault::Drop | Fault::Restore | Fault::Revoke | Fault::Slow { .. }
        )
    }
}

/// A kind of member call, for counting and for arming a fault on the nth call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
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
}

impl fmt::Display for CallKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}
