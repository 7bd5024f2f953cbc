//! PKCS#11 return values (`CK_RV`) as the application and the HA log see them.
//!
//! Only the values hasim produces or maps are named; any other value renders as `CKR_VENDOR_0x..`
//! style text so nothing is ever lost.

use std::fmt;

/// A PKCS#11 return value (`CK_RV`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ckr(pub u64);

macro_rules! ckr_table {
    ($($name:ident = $value:expr),* $(,)?) => {
        impl Ckr {
            $(
                #[doc = concat!("`", stringify!($name), "`")]
                pub const $name: Ckr = Ckr($value);
            )*

            /// The `CKR_*` name, or `None` for a value hasim does not name.
            pub fn known_name(self) -> Option<&'static str> {
                match self.0 {
                    $($value => Some(stringify!($name)),)*
                    _ => None,
                }
            }

            /// Looks a value up by its `CKR_*` name (as written in scenario files).
            pub fn from_name(name: &str) -> Option<Ckr> {
                match name {
                    $(stringify!($name) => Some(Ckr($value)),)*
                    _ => None,
                }
            }
        }
    };
}

ckr_table! {
    CKR_OK = 0x0,
    CKR_HOST_MEMORY = 0x2,
    CKR_SLOT_ID_INVALID = 0x3,
    CKR_GENERAL_ERROR = 0x5,
    CKR_FUNCTION_FAILED = 0x6,
    CKR_ARGUMENTS_BAD = 0x7,
    CKR_ATTRIBUTE_READ_ONLY = 0x10,
    CKR_ATTRIBUTE_VALUE_INVALID = 0x13,
    CKR_DATA_INVALID = 0x20,
    CKR_DATA_LEN_RANGE = 0x21,
    CKR_DEVICE_ERROR = 0x30,
    CKR_DEVICE_MEMORY = 0x31,
    CKR_DEVICE_REMOVED = 0x32,
    CKR_FUNCTION_NOT_SUPPORTED = 0x54,
    CKR_KEY_HANDLE_INVALID = 0x60,
    CKR_KEY_TYPE_INCONSISTENT = 0x63,
    CKR_KEY_FUNCTION_NOT_PERMITTED = 0x68,
    CKR_KEY_UNEXTRACTABLE = 0x6A,
    CKR_MECHANISM_INVALID = 0x70,
    CKR_OBJECT_HANDLE_INVALID = 0x82,
    CKR_OPERATION_ACTIVE = 0x90,
    CKR_OPERATION_NOT_INITIALIZED = 0x91,
    CKR_PIN_INCORRECT = 0xA0,
    CKR_PIN_INVALID = 0xA1,
    CKR_PIN_LEN_RANGE = 0xA2,
    CKR_PIN_EXPIRED = 0xA3,
    CKR_PIN_LOCKED = 0xA4,
    CKR_SESSION_CLOSED = 0xB0,
    CKR_SESSION_HANDLE_INVALID = 0xB3,
    CKR_TOKEN_NOT_PRESENT = 0xE0,
    CKR_TOKEN_NOT_RECOGNIZED = 0xE1,
    CKR_USER_ALREADY_LOGGED_IN = 0x100,
    CKR_USER_NOT_LOGGED_IN = 0x101,
    CKR_USER_PIN_NOT_INITIALIZED = 0x102,
    CKR_USER_TYPE_INVALID = 0x103,
    CKR_WRAPPED_KEY_INVALID = 0x110,
    CKR_CRYPTOKI_NOT_INITIALIZED = 0x190,
    CKR_CRYPTOKI_ALREADY_INITIALIZED = 0x191,
}

impl Ckr {
    /// The name to print: the `CKR_*` name, or `CKR_0x<hex>` for an unnamed value.
    pub fn name(self) -> String {
        match self.known_name() {
            Some(n) => n.to_string(),
            None => format!("CKR_0x{:X}", self.0),
        }
    }

    /// D15 rendering for the HA log: `0x` + upper-case hex without padding, ` : `, the name.
    pub fn log_code(self) -> String {
        format!("0x{:X} : {}", self.0, self.name())
    }

    /// D3: the return values that make the engine drop a member (transport failure is reported
    /// by a member port as `CKR_DEVICE_ERROR`).
    pub fn drops_member(self) -> bool {
        matches!(
            self,
            Ckr::CKR_DEVICE_ERROR | Ckr::CKR_DEVICE_REMOVED | Ckr::CKR_TOKEN_NOT_PRESENT
        )
    }

    /// B49, D10, D43: the answers to a member's `C_Login` that say the credential is not
    /// accepted there (a login failure, which disables the member's auto-recovery). Any other
    /// refusal (a busy member's `CKR_FUNCTION_FAILED`, D35) is the member failing the call.
    pub fn refuses_credential(self) -> bool {
        matches!(
            self,
            Ckr::CKR_PIN_INCORRECT
                | Ckr::CKR_PIN_INVALID
                | Ckr::CKR_PIN_LEN_RANGE
                | Ckr::CKR_PIN_EXPIRED
                | Ckr::CKR_PIN_LOCKED
                | Ckr::CKR_USER_PIN_NOT_INITIALIZED
        )
    }
}

impl fmt::Debug for Ckr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl fmt::Display for Ckr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_code_follows_d15() {
        assert_eq!(Ckr::CKR_DEVICE_ERROR.log_code(), "0x30 : CKR_DEVICE_ERROR");
        assert_eq!(
            Ckr::CKR_USER_NOT_LOGGED_IN.log_code(),
            "0x101 : CKR_USER_NOT_LOGGED_IN"
        );
        assert_eq!(Ckr(0x8000_0001).name(), "CKR_0x80000001");
    }

    #[test]
    fn names_round_trip() {
        assert_eq!(
            Ckr::from_name("CKR_PIN_INCORRECT"),
            Some(Ckr::CKR_PIN_INCORRECT)
        );
        assert_eq!(Ckr::from_name("CKR_NOPE"), None);
    }

    #[test]
    fn only_d3_codes_drop() {
        assert!(Ckr::CKR_TOKEN_NOT_PRESENT.drops_member());
        assert!(!Ckr::CKR_KEY_HANDLE_INVALID.drops_member());
        assert!(!Ckr::CKR_OK.drops_member());
    }
}
