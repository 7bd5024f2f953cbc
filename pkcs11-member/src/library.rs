//! A loaded and initialised PKCS#11 module ([`Library`]) and the process-wide lock under which
//! every `C_Initialize` / `C_Finalize` (and, for SoftHSM, the `SOFTHSM2_CONF` file it reads)
//! happens.
//!
//! SoftHSM reads its configuration once, inside `C_Initialize`, from the file named by the
//! `SOFTHSM2_CONF` environment variable. To give every member its own instance (its own copy
//! of the module file) and its own token directory without ever changing the environment of a
//! running, multi-threaded process, hasim writes the member's configuration into that one file
//! just before the member's instance initialises, under [`INIT_LOCK`]. The variable must
//! therefore be set when the process starts (a parent sets it for its child) and name a file
//! hasim may write: one that does not exist yet or that starts with [`CONF_MARKER`].

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::slot::{Slot, TokenInfo};

use crate::error::SetupError;

/// Serialises every library initialisation and finalisation in the process, together with the
/// `SOFTHSM2_CONF` file written for it.
pub static INIT_LOCK: Mutex<()> = Mutex::new(());

/// First line of every SoftHSM configuration file hasim writes; a file without it is never
/// overwritten.
pub const CONF_MARKER: &str =
    "# written by hasim (pkcs11-member): rewritten before each instance initialises";

/// How a member finds its token: by serial or by label, never by slot index (SoftHSM gives a
/// token a new slot id whenever it is re-initialised).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenSelector {
    /// `CK_TOKEN_INFO.serialNumber` (trailing blanks ignored).
    Serial(String),
    /// `CK_TOKEN_INFO.label` (trailing blanks ignored).
    Label(String),
}

impl std::fmt::Display for TokenSelector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenSelector::Serial(s) => write!(f, "serial {s}"),
            TokenSelector::Label(l) => write!(f, "label {l:?}"),
        }
    }
}

/// A PKCS#11 module loaded and initialised in this process.
#[derive(Debug)]
pub struct Library {
    path: PathBuf,
    ctx: Pkcs11,
    /// For a SoftHSM instance: the configuration to install before each `C_Initialize`.
    softhsm_conf: Option<String>,
}

impl Library {
    /// Loads `path` and initialises it (`CKF_OS_LOCKING_OK`). A module another part of the
    /// process already initialised (`CKR_CRYPTOKI_ALREADY_INITIALIZED`) is used as it is.
    pub fn load(path: impl AsRef<Path>) -> Result<Library, SetupError> {
        Self::load_inner(path.as_ref(), None)
    }

    /// Loads one SoftHSM instance: `path` must be a copy of the module file used by nothing
    /// else, and `conf` the configuration text (its first line is replaced by
    /// [`CONF_MARKER`] when it lacks it) written to `SOFTHSM2_CONF` before it initialises.
    pub fn load_softhsm_instance(
        path: impl AsRef<Path>,
        conf: &str,
    ) -> Result<Library, SetupError> {
        let conf = if conf.starts_with(CONF_MARKER) {
            conf.to_string()
        } else {
            format!("{CONF_MARKER}\n{conf}")
        };
        Self::load_inner(path.as_ref(), Some(conf))
    }

    fn load_inner(path: &Path, softhsm_conf: Option<String>) -> Result<Library, SetupError> {
        let _guard = INIT_LOCK.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(conf) = &softhsm_conf {
            install_conf(conf)?;
        }
        let ctx = Pkcs11::new(path).map_err(|e| SetupError::Load {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        initialize(&ctx).map_err(|e| SetupError::call("C_Initialize", &e))?;
        tracing::debug!(module = %path.display(), "PKCS#11 module initialised");
        Ok(Library {
            path: path.to_path_buf(),
            ctx,
            softhsm_conf,
        })
    }

    /// The module file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The `cryptoki` context.
    pub fn ctx(&self) -> &Pkcs11 {
        &self.ctx
    }

    /// True for a SoftHSM instance loaded with [`Library::load_softhsm_instance`].
    pub fn is_softhsm_instance(&self) -> bool {
        self.softhsm_conf.is_some()
    }

    /// `C_Finalize` then `C_Initialize` of this instance, under the process-wide lock (a
    /// SoftHSM instance gets its configuration installed again first). Every session and
    /// object handle of the instance is gone afterwards; token objects persist.
    ///
    /// Needs `&mut self`: no call can be in flight on this instance meanwhile (finalising under
    /// an in-flight call crashes real modules).
    pub fn reinitialise(&mut self) -> Result<(), SetupError> {
        let _guard = INIT_LOCK.lock().unwrap_or_else(|p| p.into_inner());
        match self.ctx.clone().finalize() {
            Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiNotInitialized, _)) => {}
            Err(e) => return Err(SetupError::call("C_Finalize", &e)),
        }
        if let Some(conf) = &self.softhsm_conf {
            install_conf(conf)?;
        }
        initialize(&self.ctx).map_err(|e| SetupError::call("C_Initialize", &e))
    }

    /// The one slot whose token matches `selector`, with its token info.
    pub fn find_token(&self, selector: &TokenSelector) -> Result<(Slot, TokenInfo), SetupError> {
        let slots = self
            .ctx
            .get_slots_with_initialized_token()
            .map_err(|e| SetupError::call("C_GetSlotList", &e))?;
        let mut found = Vec::new();
        for slot in slots {
            let info = self
                .ctx
                .get_token_info(slot)
                .map_err(|e| SetupError::call("C_GetTokenInfo", &e))?;
            let hit = match selector {
                TokenSelector::Serial(s) => info.serial_number().trim_end() == s.trim_end(),
                TokenSelector::Label(l) => info.label().trim_end() == l.trim_end(),
            };
            if hit {
                found.push((slot, info));
            }
        }
        match found.len() {
            0 => Err(SetupError::TokenNotFound(selector.to_string())),
            1 => Ok(found.remove(0)),
            _ => Err(SetupError::TokenAmbiguous(selector.to_string())),
        }
    }
}

fn initialize(ctx: &Pkcs11) -> Result<(), CkError> {
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Writes `conf` to the file `SOFTHSM2_CONF` names. Call only under [`INIT_LOCK`].
fn install_conf(conf: &str) -> Result<(), SetupError> {
    let path = PathBuf::from(std::env::var_os("SOFTHSM2_CONF").ok_or(SetupError::ConfUnset)?);
    match std::fs::read_to_string(&path) {
        Ok(existing) if !existing.starts_with(CONF_MARKER) => {
            return Err(SetupError::ConfNotOurs(path));
        }
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(SetupError::io(path, e)),
    }
    std::fs::write(&path, conf).map_err(|e| SetupError::io(path, e))
}
