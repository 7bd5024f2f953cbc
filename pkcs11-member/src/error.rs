//! Errors: [`SetupError`] for everything outside the `Member` port (loading a library, finding a
//! token, creating SoftHSM tokens, reading a credential), [`ExportError`] for an object that
//! cannot leave its member, and [`ckr_of`], the one place a `cryptoki` error becomes the `CK_RV`
//! the engine sees.

use std::path::PathBuf;

use cryptoki::error::{Error as CkError, RvError};
use ha_engine::ckr::Ckr;

/// A failure outside the `Member` port. Never carries a credential.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The PKCS#11 module could not be loaded.
    #[error("cannot load PKCS#11 module {path}: {reason}")]
    Load {
        /// The module file.
        path: PathBuf,
        /// What the loader said.
        reason: String,
    },
    /// A PKCS#11 call failed during setup.
    #[error("{call} failed: {ckr}")]
    Call {
        /// The call (`C_Initialize`, `C_InitToken`, ...).
        call: &'static str,
        /// Its return value.
        ckr: Ckr,
    },
    /// No token matched the selector.
    #[error("no token with {0} in this library")]
    TokenNotFound(String),
    /// More than one token matched the selector.
    #[error("{0} matches more than one token")]
    TokenAmbiguous(String),
    /// A file-system step failed.
    #[error("{path}: {source}")]
    Io {
        /// The path concerned.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// `SOFTHSM2_CONF` is not set, so independent SoftHSM instances cannot be configured.
    #[error(
        "SOFTHSM2_CONF is not set: run hasim's SoftHSM backend in a process whose environment names a configuration file it may write"
    )]
    ConfUnset,
    /// `SOFTHSM2_CONF` names a file hasim did not write; it is never overwritten.
    #[error("SOFTHSM2_CONF names {0}, a file hasim did not write; refusing to overwrite it")]
    ConfNotOurs(PathBuf),
    /// No SoftHSM module was found.
    #[error(
        "SoftHSM2 module not found (looked for {0}); install softhsm2 or set HASIM_SOFTHSM_MODULE"
    )]
    SoftHsmMissing(String),
    /// A credential source gave nothing usable.
    #[error("credential {0}: {1}")]
    Credential(String, String),
    /// The token lacks a mechanism hasim needs.
    #[error("token {serial} offers no {what}")]
    MechanismMissing {
        /// Token serial.
        serial: String,
        /// The missing capability.
        what: &'static str,
    },
}

impl SetupError {
    /// A failed PKCS#11 call during setup.
    pub fn call(call: &'static str, error: &CkError) -> Self {
        SetupError::Call {
            call,
            ckr: ckr_of(error),
        }
    }

    /// An I/O failure on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        SetupError::Io {
            path: path.into(),
            source,
        }
    }
}

/// Why an object cannot be exported as a clone blob. Names the object (its `CKA_ID`, label
/// and class), never its value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("object {id} (label {label:?}, {class}) cannot be replicated: {reason}")]
pub struct ExportError {
    /// `CKA_ID`, printed as text.
    pub id: String,
    /// `CKA_LABEL`.
    pub label: String,
    /// Object class, e.g. `private key`.
    pub class: &'static str,
    /// What stops it.
    pub reason: String,
    /// The `CK_RV` the port reports.
    pub ckr: Ckr,
}

/// The `CK_RV` the engine sees for a `cryptoki` error. PKCS#11 return values keep their value;
/// a failure that never reached the module (library loading, a bad argument on our side) is
/// `CKR_GENERAL_ERROR`.
pub fn ckr_of(error: &CkError) -> Ckr {
    match error {
        CkError::Pkcs11(rv, _) => ckr_of_rv(*rv),
        _ => Ckr::CKR_GENERAL_ERROR,
    }
}

/// The `CK_RV` value of a `cryptoki` [`RvError`].
pub fn ckr_of_rv(rv: RvError) -> Ckr {
    use cryptoki_sys as c;
    let value = match rv {
        RvError::Cancel => c::CKR_CANCEL,
        RvError::HostMemory => c::CKR_HOST_MEMORY,
        RvError::SlotIdInvalid => c::CKR_SLOT_ID_INVALID,
        RvError::GeneralError => c::CKR_GENERAL_ERROR,
        RvError::FunctionFailed => c::CKR_FUNCTION_FAILED,
        RvError::ArgumentsBad => c::CKR_ARGUMENTS_BAD,
        RvError::AttributeReadOnly => c::CKR_ATTRIBUTE_READ_ONLY,
        RvError::AttributeSensitive => c::CKR_ATTRIBUTE_SENSITIVE,
        RvError::AttributeTypeInvalid => c::CKR_ATTRIBUTE_TYPE_INVALID,
        RvError::AttributeValueInvalid => c::CKR_ATTRIBUTE_VALUE_INVALID,
        RvError::ActionProhibited => c::CKR_ACTION_PROHIBITED,
        RvError::DataInvalid => c::CKR_DATA_INVALID,
        RvError::DataLenRange => c::CKR_DATA_LEN_RANGE,
        RvError::DeviceError => c::CKR_DEVICE_ERROR,
        RvError::DeviceMemory => c::CKR_DEVICE_MEMORY,
        RvError::DeviceRemoved => c::CKR_DEVICE_REMOVED,
        RvError::EncryptedDataInvalid => c::CKR_ENCRYPTED_DATA_INVALID,
        RvError::EncryptedDataLenRange => c::CKR_ENCRYPTED_DATA_LEN_RANGE,
        RvError::FunctionCanceled => c::CKR_FUNCTION_CANCELED,
        RvError::FunctionNotSupported => c::CKR_FUNCTION_NOT_SUPPORTED,
        RvError::KeyHandleInvalid => c::CKR_KEY_HANDLE_INVALID,
        RvError::KeySizeRange => c::CKR_KEY_SIZE_RANGE,
        RvError::KeyTypeInconsistent => c::CKR_KEY_TYPE_INCONSISTENT,
        RvError::KeyFunctionNotPermitted => c::CKR_KEY_FUNCTION_NOT_PERMITTED,
        RvError::KeyNotWrappable => c::CKR_KEY_NOT_WRAPPABLE,
        RvError::KeyUnextractable => c::CKR_KEY_UNEXTRACTABLE,
        RvError::MechanismInvalid => c::CKR_MECHANISM_INVALID,
        RvError::MechanismParamInvalid => c::CKR_MECHANISM_PARAM_INVALID,
        RvError::ObjectHandleInvalid => c::CKR_OBJECT_HANDLE_INVALID,
        RvError::OperationActive => c::CKR_OPERATION_ACTIVE,
        RvError::OperationNotInitialized => c::CKR_OPERATION_NOT_INITIALIZED,
        RvError::PinIncorrect => c::CKR_PIN_INCORRECT,
        RvError::PinInvalid => c::CKR_PIN_INVALID,
        RvError::PinLenRange => c::CKR_PIN_LEN_RANGE,
        RvError::PinExpired => c::CKR_PIN_EXPIRED,
        RvError::PinLocked => c::CKR_PIN_LOCKED,
        RvError::SessionClosed => c::CKR_SESSION_CLOSED,
        RvError::SessionCount => c::CKR_SESSION_COUNT,
        RvError::SessionHandleInvalid => c::CKR_SESSION_HANDLE_INVALID,
        RvError::SessionReadOnly => c::CKR_SESSION_READ_ONLY,
        RvError::SessionExists => c::CKR_SESSION_EXISTS,
        RvError::SignatureInvalid => c::CKR_SIGNATURE_INVALID,
        RvError::SignatureLenRange => c::CKR_SIGNATURE_LEN_RANGE,
        RvError::TemplateIncomplete => c::CKR_TEMPLATE_INCOMPLETE,
        RvError::TemplateInconsistent => c::CKR_TEMPLATE_INCONSISTENT,
        RvError::TokenNotPresent => c::CKR_TOKEN_NOT_PRESENT,
        RvError::TokenNotRecognized => c::CKR_TOKEN_NOT_RECOGNIZED,
        RvError::TokenWriteProtected => c::CKR_TOKEN_WRITE_PROTECTED,
        RvError::UnwrappingKeyHandleInvalid => c::CKR_UNWRAPPING_KEY_HANDLE_INVALID,
        RvError::UnwrappingKeySizeRange => c::CKR_UNWRAPPING_KEY_SIZE_RANGE,
        RvError::UnwrappingKeyTypeInconsistent => c::CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT,
        RvError::UserAlreadyLoggedIn => c::CKR_USER_ALREADY_LOGGED_IN,
        RvError::UserNotLoggedIn => c::CKR_USER_NOT_LOGGED_IN,
        RvError::UserPinNotInitialized => c::CKR_USER_PIN_NOT_INITIALIZED,
        RvError::UserTypeInvalid => c::CKR_USER_TYPE_INVALID,
        RvError::UserAnotherAlreadyLoggedIn => c::CKR_USER_ANOTHER_ALREADY_LOGGED_IN,
        RvError::UserTooManyTypes => c::CKR_USER_TOO_MANY_TYPES,
        RvError::WrappedKeyInvalid => c::CKR_WRAPPED_KEY_INVALID,
        RvError::WrappedKeyLenRange => c::CKR_WRAPPED_KEY_LEN_RANGE,
        RvError::WrappingKeyHandleInvalid => c::CKR_WRAPPING_KEY_HANDLE_INVALID,
        RvError::WrappingKeySizeRange => c::CKR_WRAPPING_KEY_SIZE_RANGE,
        RvError::WrappingKeyTypeInconsistent => c::CKR_WRAPPING_KEY_TYPE_INCONSISTENT,
        RvError::RandomSeedNotSupported => c::CKR_RANDOM_SEED_NOT_SUPPORTED,
        RvError::RandomNoRng => c::CKR_RANDOM_NO_RNG,
        RvError::BufferTooSmall => c::CKR_BUFFER_TOO_SMALL,
        RvError::CryptokiNotInitialized => c::CKR_CRYPTOKI_NOT_INITIALIZED,
        RvError::CryptokiAlreadyInitialized => c::CKR_CRYPTOKI_ALREADY_INITIALIZED,
        RvError::FunctionRejected => c::CKR_FUNCTION_REJECTED,
        _ => c::CKR_GENERAL_ERROR,
    };
    Ckr(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cryptoki::context::Function;

    #[test]
    fn return_values_keep_their_value() {
        let e = CkError::Pkcs11(RvError::PinIncorrect, Function::Login);
        assert_eq!(ckr_of(&e), Ckr::CKR_PIN_INCORRECT);
        assert_eq!(
            ckr_of_rv(RvError::UserAlreadyLoggedIn),
            Ckr::CKR_USER_ALREADY_LOGGED_IN
        );
        assert_eq!(ckr_of_rv(RvError::DeviceRemoved), Ckr::CKR_DEVICE_REMOVED);
        assert_eq!(ckr_of_rv(RvError::SignatureInvalid), Ckr(0xC0));
        assert_eq!(
            ckr_of(&CkError::NullFunctionPointer),
            Ckr::CKR_GENERAL_ERROR
        );
    }

    #[test]
    fn export_error_names_the_object() {
        let e = ExportError {
            id: "hasim-00000001".into(),
            label: "k".into(),
            class: "private key",
            reason: "CKA_EXTRACTABLE is false".into(),
            ckr: Ckr::CKR_KEY_UNEXTRACTABLE,
        };
        assert_eq!(
            e.to_string(),
            "object hasim-00000001 (label \"k\", private key) cannot be replicated: CKA_EXTRACTABLE is false"
        );
    }
}
