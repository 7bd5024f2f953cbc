//! The only `unsafe` code of the crate: two things `cryptoki` 0.12 cannot express safely.
//!
//! - [`kwp_mechanism`]: `CKM_AES_KEY_WRAP_KWP` (0x210B) has no `Mechanism` variant, and
//!   `MechanismType::new_vendor_defined` refuses values below `CKM_VENDOR_DEFINED`.
//! - [`close_all_sessions`]: `C_CloseAllSessions` has no wrapper. It is called through the
//!   module's function list (some modules, e.g. kryoptic, do not export the symbol itself).

use std::path::Path;

use cryptoki::mechanism::vendor_defined::VendorDefinedMechanism;
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::slot::Slot;
use cryptoki_sys::{CK_FUNCTION_LIST, CK_MECHANISM_TYPE, CKM_AES_KEY_WRAP_KWP, CKR_OK};
use ha_engine::ckr::Ckr;

/// The mechanism type `CKM_AES_KEY_WRAP_KWP` (RFC 5649 under the PKCS#11 3.0 name).
pub fn kwp_mechanism_type() -> MechanismType {
    #[allow(unsafe_code)]
    // SAFETY: `MechanismType` is `#[repr(transparent)]` over `CK_MECHANISM_TYPE` (cryptoki
    // 0.12.1, src/mechanism/mod.rs), so the two types have the same size and layout and every
    // `CK_MECHANISM_TYPE` value is a valid `MechanismType`; no invariant of the type is
    // broken, only the vendor-range check of its constructor is bypassed.
    unsafe {
        std::mem::transmute::<CK_MECHANISM_TYPE, MechanismType>(CKM_AES_KEY_WRAP_KWP)
    }
}

/// `CKM_AES_KEY_WRAP_KWP` as a mechanism without parameters.
pub fn kwp_mechanism() -> Mechanism<'static> {
    Mechanism::VendorDefined(VendorDefinedMechanism::new::<()>(
        kwp_mechanism_type(),
        None,
    ))
}

/// `C_CloseAllSessions(slot)` on the module at `path`, which this process has already loaded
/// and initialised through `cryptoki` (the same path gives the same loaded instance).
pub fn close_all_sessions(path: &Path, slot: Slot) -> Result<(), Ckr> {
    #[allow(unsafe_code)]
    // SAFETY: `Pkcs11::new` dlopens `path`, which the caller's `cryptoki::Pkcs11` context
    // already holds open, so this only takes another reference to the same loaded module (its
    // initialisers do not run again) and releases it when `module` drops at the end of the
    // block, after the last call through it. `C_GetFunctionList` writes one pointer into
    // `list`; we dereference it only when the call returned `CKR_OK` and the pointer is not
    // null; the function list is static data of the module, valid while it is loaded.
    // `C_CloseAllSessions` takes a plain slot id. The caller holds `&mut` on the member, so no
    // call of this member runs concurrently on a session being closed.
    unsafe {
        let module = cryptoki_sys::Pkcs11::new(path).map_err(|_| Ckr::CKR_GENERAL_ERROR)?;
        let mut list: *mut CK_FUNCTION_LIST = std::ptr::null_mut();
        if module.C_GetFunctionList(&mut list) != CKR_OK || list.is_null() {
            return Err(Ckr::CKR_GENERAL_ERROR);
        }
        let Some(close_all) = (*list).C_CloseAllSessions else {
            return Err(Ckr::CKR_FUNCTION_NOT_SUPPORTED);
        };
        match close_all(slot.id()) {
            CKR_OK => Ok(()),
            rv => Err(Ckr(rv)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kwp_is_0x210b() {
        assert_eq!(CK_MECHANISM_TYPE::from(kwp_mechanism_type()), 0x210B);
        assert_eq!(kwp_mechanism().mechanism_type(), kwp_mechanism_type());
    }
}
