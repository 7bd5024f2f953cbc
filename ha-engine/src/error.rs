//! Typed errors: what the application sees from a virtual-slot call ([`EngineError`], carrying
//! the `CK_RV`). A configuration the running engine cannot take is [`crate::ConfigRejected`].

use crate::ckr::Ckr;

/// A failed application call on the virtual slot: the PKCS#11 return value and the function.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{function} returned {rv}")]
pub struct EngineError {
    /// The `CK_RV` the application receives.
    pub rv: Ckr,
    /// The PKCS#11 function, e.g. `C_Sign`.
    pub function: &'static str,
}

impl EngineError {
    /// Builds an error for `function` with return value `rv`.
    pub fn new(rv: Ckr, function: &'static str) -> Self {
        EngineError { rv, function }
    }
}
