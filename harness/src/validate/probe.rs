//! Validate's own short visits to a member, beside the engine: find the token by serial, log
//! in once with the operator's credential, and while logged in remove what the journal lists
//! for it, take its inventory, or install and remove the domain keys replication needs. A
//! visit always logs out and closes its session.
//!
//! A login is tried once per visit and the first visit decides: a member whose first login
//! failed is never visited again (a wrong credential must not walk a real partition towards
//! its lockout).

use std::sync::Arc;

use cryptoki::error::{Error as CkError, RvError};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use ha_engine::Ckr;
use pkcs11_member::templates::{self, DOMAIN_MAC_ID, DOMAIN_WRAP_ID};
use pkcs11_member::{Library, TokenSelector, ckr_of};
use secrecy::{ExposeSecret, SecretSlice, SecretString};

use super::ValidateError;
use super::inventory::{self, Inventory};
use super::journal::{Entry, Journal};

/// What the first visit found.
#[derive(Clone, Debug)]
pub struct Found {
    /// The slot the token is in.
    pub slot: Slot,
    /// `CK_TOKEN_INFO.firmwareVersion` (major, minor).
    pub firmware: (u8, u8),
    /// `CK_TOKEN_INFO.model`, trimmed.
    pub model: String,
}

/// A member as validate's first visit left it.
#[derive(Clone, Debug)]
pub struct Probe {
    /// The serial from the configuration.
    pub serial: String,
    /// The token, or why it was not found.
    pub found: Result<Found, String>,
    /// The login (`None` when the token was not found).
    pub login: Option<Result<(), Ckr>>,
    /// Objects the journal listed that this visit removed.
    pub cleaned: usize,
    /// Its objects (after the clean-up), when logged in.
    pub inventory: Option<Inventory>,
}

impl Probe {
    /// True when the member was found and the login worked.
    pub fn usable(&self) -> bool {
        self.found.is_ok() && matches!(self.login, Some(Ok(())))
    }
}

/// One logged-in session on a member; logs out and closes on [`Visit::end`].
pub struct Visit {
    session: Session,
}

impl Visit {
    /// Opens a session on `slot` and logs in once. A token that says its user is already
    /// logged in (another session of this process) counts as logged in.
    pub fn begin(lib: &Library, slot: Slot, pin: &SecretString) -> Result<Visit, Ckr> {
        let session = lib.ctx().open_rw_session(slot).map_err(|e| ckr_of(&e))?;
        match session.login(UserType::User, Some(&AuthPin::from(pin.expose_secret()))) {
            Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(Visit { session }),
            Err(e) => Err(ckr_of(&e)),
        }
    }

    /// The session.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// Logs out and closes the session.
    pub fn end(self) {
        let _ = self.session.logout();
        let _ = self.session.close();
    }
}

/// The first visit to `serial`: find, log in once, remove what `journal` lists for it, take
/// the inventory. Journal entries of a member that could not be cleaned stay.
pub fn first_visit(
    lib: &Library,
    serial: &str,
    pin: &SecretString,
    journal: &Journal,
) -> Result<Probe, ValidateError> {
    let mut probe = Probe {
        serial: serial.to_string(),
        found: Err(String::new()),
        login: None,
        cleaned: 0,
        inventory: None,
    };
    let (slot, info) = match lib.find_token(&TokenSelector::Serial(serial.to_string())) {
        Ok(t) => t,
        Err(e) => {
            probe.found = Err(e.to_string());
            return Ok(probe);
        }
    };
    let fw = info.firmware_version();
    probe.found = Ok(Found {
        slot,
        firmware: (fw.major(), fw.minor()),
        model: info.model().trim_end().to_string(),
    });
    let visit = match Visit::begin(lib, slot, pin) {
        Ok(v) => v,
        Err(ckr) => {
            probe.login = Some(Err(ckr));
            return Ok(probe);
        }
    };
    probe.login = Some(Ok(()));
    let result = (|| {
        probe.cleaned = clean(&visit, serial, journal, false)?;
        probe.inventory = Some(
            inventory::take(visit.session())
                .map_err(|ckr| ValidateError::Member(serial.to_string(), "inventory", ckr))?,
        );
        Ok(())
    })();
    visit.end();
    result.map(|()| probe)
}

/// Removes every object `journal` lists for `serial` through `visit` and drops those entries
/// from the journal. Returns how many objects were removed.
/// With `keep_setup`, the domain keys stay (and stay journalled).
pub fn clean(
    visit: &Visit,
    serial: &str,
    journal: &Journal,
    keep_setup: bool,
) -> Result<usize, ValidateError> {
    let entries = journal.entries()?;
    let (mine, rest): (Vec<Entry>, Vec<Entry>) = entries
        .into_iter()
        .partition(|e| e.serial == serial && !(keep_setup && templates::is_setup_id(&e.id)));
    let mut removed = 0;
    // Only ids in hasim's namespace are ever destroyed, whatever a journal says.
    for e in mine
        .iter()
        .filter(|e| e.id.starts_with(inventory::NAMESPACE))
    {
        removed += inventory::destroy(visit.session(), &e.id)
            .map_err(|ckr| ValidateError::Member(serial.to_string(), "C_DestroyObject", ckr))?;
    }
    journal.rewrite(&rest)?;
    Ok(removed)
}

/// A later visit to a member whose first visit worked: clean up what the journal lists for it
/// (the domain keys too unless `keep_setup`) and, when `take` is set, take its inventory.
pub fn revisit(
    lib: &Library,
    serial: &str,
    slot: Slot,
    pin: &SecretString,
    journal: &Journal,
    keep_setup: bool,
    take: bool,
) -> Result<Option<Inventory>, ValidateError> {
    let visit = Visit::begin(lib, slot, pin)
        .map_err(|ckr| ValidateError::Member(serial.to_string(), "C_Login", ckr))?;
    let result = (|| {
        clean(&visit, serial, journal, keep_setup)?;
        if take {
            return inventory::take(visit.session())
                .map(Some)
                .map_err(|ckr| ValidateError::Member(serial.to_string(), "inventory", ckr));
        }
        Ok(None)
    })();
    visit.end();
    result
}

/// Puts one pair of domain keys (hasim's replication keys, in its namespace) on every member,
/// journalled first, so the engine can replicate between the operator's tokens.
pub fn install_domain_keys(
    lib: &Arc<Library>,
    members: &[(String, Slot)],
    pin: &SecretString,
    journal: &Journal,
) -> Result<(), ValidateError> {
    let Some((first, slot0)) = members.first() else {
        return Ok(());
    };
    let random = {
        let visit = Visit::begin(lib, *slot0, pin)
            .map_err(|ckr| ValidateError::Member(first.clone(), "C_Login", ckr))?;
        let r = visit.session().generate_random_vec(64);
        visit.end();
        r.map_err(|e| ValidateError::Member(first.clone(), "C_GenerateRandom", ckr_of(&e)))?
    };
    let value: SecretSlice<u8> = SecretSlice::from(random);
    for (serial, slot) in members {
        journal.append(serial, DOMAIN_WRAP_ID)?;
        journal.append(serial, DOMAIN_MAC_ID)?;
        let visit = Visit::begin(lib, *slot, pin)
            .map_err(|ckr| ValidateError::Member(serial.clone(), "C_Login", ckr))?;
        let v = value.expose_secret();
        let r = visit
            .session()
            .create_object(&templates::domain_key(DOMAIN_WRAP_ID, &v[..32], true))
            .and_then(|_| {
                visit.session().create_object(&templates::domain_key(
                    DOMAIN_MAC_ID,
                    &v[32..],
                    false,
                ))
            });
        visit.end();
        r.map_err(|e| ValidateError::Member(serial.clone(), "C_CreateObject", ckr_of(&e)))?;
    }
    Ok(())
}
