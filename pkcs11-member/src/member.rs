//! [`Pkcs11Member`]: one token of a PKCS#11 library as a `Member` of an HA group. This module
//! holds its state and its lifecycle (open, restart, restore); the port calls are in
//! `port.rs`, the cryptography in `ops.rs`, replication in `replicate.rs`.
//!
//! A member is attached to its library in one of two ways ([`Attachment`]):
//! - **exclusive** (SoftHSM: one copy of the module per member), where a restart is a real
//!   `C_Finalize` + `C_Initialize` that touches no other member;
//! - **shared** (a Luna client library: one instance for every slot), where a restart closes
//!   the member's sessions (`C_CloseAllSessions`) and never finalises the library.

use std::collections::BTreeMap;
use std::sync::Arc;

use cryptoki::error::{Error as CkError, RvError};
use cryptoki::object::ObjectHandle;
use cryptoki::session::{Session, SessionState, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use ha_engine::ckr::Ckr;
use ha_engine::ports::{MemberResult, SessionHandle};
use secrecy::{ExposeSecret, SecretString};

use crate::error::{ExportError, SetupError, ckr_of};
use crate::handles::HandleTable;
use crate::library::{Library, TokenSelector};
use crate::ops::WrapMechanism;

/// How a member holds its library.
#[derive(Debug)]
pub enum Attachment {
    /// An instance of its own (a restart re-initialises it).
    Exclusive(Library),
    /// An instance shared with other members (a restart only closes this slot's sessions).
    Shared(Arc<Library>),
}

impl Attachment {
    /// The library.
    pub fn library(&self) -> &Library {
        match self {
            Attachment::Exclusive(l) => l,
            Attachment::Shared(l) => l,
        }
    }
}

/// A multi-part signature in progress on one session.
#[derive(Clone, Copy, Debug)]
pub(crate) enum SignOp {
    /// `C_SignInit` ran on the module (AES-CMAC, SHA256-RSA-PKCS).
    Native,
    /// ECDSA: the module digests (`C_DigestInit/Update/Final`, SHA-256), then signs the digest.
    EcDigest {
        /// The private key.
        key: ObjectHandle,
    },
}

/// One token of a PKCS#11 library, seen through the engine's `Member` port.
///
/// Sessions and object handles given to the engine are the member's own numbers (never
/// reused), so nothing from before a logout, a closed last session or a restart can name a
/// different object afterwards: those calls answer `CKR_SESSION_HANDLE_INVALID` /
/// `CKR_OBJECT_HANDLE_INVALID`, and the engine finds its objects again by `CKA_ID`.
pub struct Pkcs11Member {
    pub(crate) attachment: Attachment,
    pub(crate) slot: Slot,
    pub(crate) serial: String,
    pub(crate) label: String,
    pub(crate) sessions: BTreeMap<SessionHandle, Session>,
    next_session: SessionHandle,
    pub(crate) handles: HandleTable,
    pub(crate) sign_ops: BTreeMap<SessionHandle, SignOp>,
    /// The domain keys' real handles (wrap, MAC) for the current handle epoch.
    pub(crate) domain: Option<(ObjectHandle, ObjectHandle)>,
    /// The wrapping mechanism chosen from the token's mechanism list (once).
    pub(crate) wrap: Option<WrapMechanism>,
    /// The configured credential, else the last one a login succeeded with (for restore and
    /// for counting private objects).
    pub(crate) credential: Option<SecretString>,
    configured_credential: bool,
    pub(crate) last_export_error: Option<ExportError>,
}

impl std::fmt::Debug for Pkcs11Member {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs11Member")
            .field("serial", &self.serial)
            .field("label", &self.label)
            .field("module", &self.attachment.library().path())
            .field("sessions", &self.sessions.len())
            .finish_non_exhaustive()
    }
}

impl Pkcs11Member {
    /// The member for the token `selector` names in `attachment`'s library. `credential`, when
    /// given, is used to log in again on [`Pkcs11Member::restore`] and to count private objects
    /// when the engine is not logged in; otherwise the member remembers the last credential a
    /// login through the port succeeded with.
    pub fn open(
        attachment: Attachment,
        selector: &TokenSelector,
        credential: Option<SecretString>,
    ) -> Result<Pkcs11Member, SetupError> {
        let (slot, info) = attachment.library().find_token(selector)?;
        Ok(Pkcs11Member {
            attachment,
            slot,
            serial: info.serial_number().trim_end().to_string(),
            label: info.label().trim_end().to_string(),
            sessions: BTreeMap::new(),
            next_session: 0,
            handles: HandleTable::default(),
            sign_ops: BTreeMap::new(),
            domain: None,
            wrap: None,
            configured_credential: credential.is_some(),
            credential,
            last_export_error: None,
        })
    }

    /// The library this member runs on.
    pub fn library(&self) -> &Library {
        self.attachment.library()
    }

    /// How the member holds its library.
    pub fn attachment(&self) -> &Attachment {
        &self.attachment
    }

    /// The token's label.
    pub fn token_label(&self) -> &str {
        &self.label
    }

    /// Numbers this member's sessions from `base + 1` on, so that two clients of one
    /// partition (the application and LunaCM) never hand out the same session number.
    pub fn set_session_base(&mut self, base: SessionHandle) {
        self.next_session = self.next_session.max(base);
    }

    /// The slot the token is in now (it changes when the token is re-initialised).
    pub fn slot(&self) -> Slot {
        self.slot
    }

    /// The configured credential, else the last one a login succeeded with.
    pub fn credential(&self) -> Option<&SecretString> {
        self.credential.as_ref()
    }

    /// True when session `session` is logged in (asked of the module).
    pub fn is_logged_in(&self, session: SessionHandle) -> MemberResult<bool> {
        let info = session_of(&self.sessions, session)?
            .get_session_info()
            .map_err(|e| ckr_of(&e))?;
        Ok(matches!(
            info.session_state(),
            SessionState::RoUser | SessionState::RwUser
        ))
    }

    /// Ends this client's login on the token (`C_Logout` on one of its sessions, or on a
    /// short-lived one), as when a partition loses its activation: its sessions stay open and
    /// public, its object handles start a new epoch.
    pub fn end_login(&mut self) -> Result<(), SetupError> {
        let result = match self.sessions.values().next() {
            Some(s) => s.logout(),
            None => {
                let s = self
                    .attachment
                    .library()
                    .ctx()
                    .open_ro_session_no_drop(self.slot)
                    .map_err(|e| SetupError::call("C_OpenSession", &e))?;
                let r = s.logout();
                let _ = s.close();
                r
            }
        };
        self.invalidate_handles();
        match result {
            Ok(()) | Err(CkError::Pkcs11(RvError::UserNotLoggedIn, _)) => Ok(()),
            Err(e) => Err(SetupError::call("C_Logout", &e)),
        }
    }

    /// Why the last `export_clone` failed, naming the object (see [`ExportError`]).
    pub fn last_export_error(&self) -> Option<&ExportError> {
        self.last_export_error.as_ref()
    }

    /// Brings the member back as after a power cycle: every session and handle is dropped,
    /// then an exclusive instance is really re-initialised (`C_Finalize` + `C_Initialize`) and
    /// a shared one gets `C_CloseAllSessions` for this slot. The token is found again by
    /// serial. Afterwards the member is logged out and has no session.
    pub fn restart(&mut self) -> Result<(), SetupError> {
        self.forget_connection();
        match &mut self.attachment {
            Attachment::Exclusive(lib) => lib.reinitialise()?,
            Attachment::Shared(lib) => crate::raw::close_all_sessions(lib.path(), self.slot)
                .map_err(|ckr| SetupError::Call {
                    call: "C_CloseAllSessions",
                    ckr,
                })?,
        }
        let (slot, _) = self
            .attachment
            .library()
            .find_token(&TokenSelector::Serial(self.serial.clone()))?;
        self.slot = slot;
        Ok(())
    }

    /// [`restart`](Pkcs11Member::restart), then a login with the member's credential (on a
    /// short-lived session) to prove the member is usable again. The engine logs in again on
    /// its own sessions, as the real client does when a member returns.
    pub fn restore(&mut self) -> Result<(), SetupError> {
        self.restart()?;
        let Some(pin) = self.credential.as_ref() else {
            return Ok(());
        };
        let ctx = self.attachment.library().ctx();
        let session = ctx
            .open_rw_session_no_drop(self.slot)
            .map_err(|e| SetupError::call("C_OpenSession", &e))?;
        let login = session.login(UserType::User, Some(&auth_pin(pin)));
        let closed = session.close();
        match login {
            Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
            Err(e) => return Err(SetupError::call("C_Login", &e)),
        }
        closed.map_err(|e| SetupError::call("C_CloseSession", &e))
    }

    /// Drops every session, handle and operation of the current connection without calling
    /// the module (the sessions were opened without close-on-drop).
    pub(crate) fn forget_connection(&mut self) {
        self.sessions.clear();
        self.sign_ops.clear();
        self.invalidate_handles();
    }

    /// Starts a new handle epoch.
    pub(crate) fn invalidate_handles(&mut self) {
        self.handles.invalidate();
        self.domain = None;
    }

    /// Opens a module session and registers it under a fresh member handle.
    pub(crate) fn open_module_session(&mut self) -> MemberResult<SessionHandle> {
        let session = self
            .attachment
            .library()
            .ctx()
            .open_rw_session_no_drop(self.slot)
            .map_err(|e| ckr_of(&e))?;
        self.next_session += 1;
        self.sessions.insert(self.next_session, session);
        Ok(self.next_session)
    }

    /// Remembers the credential of a successful login (unless one was configured).
    pub(crate) fn remember(&mut self, pin: &str) {
        if !self.configured_credential {
            self.credential = Some(SecretString::from(pin));
        }
    }
}

/// The session behind `h`, or `CKR_SESSION_HANDLE_INVALID`.
pub(crate) fn session_of(
    sessions: &BTreeMap<SessionHandle, Session>,
    h: SessionHandle,
) -> MemberResult<&Session> {
    sessions.get(&h).ok_or(Ckr::CKR_SESSION_HANDLE_INVALID)
}

/// `CKR_USER_NOT_LOGGED_IN` unless the session is in a user state (checked on the module, so
/// a logout by anything else sharing the token is seen).
pub(crate) fn require_login(session: &Session) -> MemberResult<()> {
    let info = session.get_session_info().map_err(|e| ckr_of(&e))?;
    match info.session_state() {
        SessionState::RoUser | SessionState::RwUser => Ok(()),
        _ => Err(Ckr::CKR_USER_NOT_LOGGED_IN),
    }
}

/// The `cryptoki` PIN for a credential.
pub(crate) fn auth_pin(pin: &SecretString) -> AuthPin {
    AuthPin::from(pin.expose_secret())
}
