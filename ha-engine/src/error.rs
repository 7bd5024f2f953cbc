//! Typed errors: what the application sees from a virtual-slot call ([`EngineError`], carrying
//! the `CK_RV`), and what an administrator sees from a refused `hagroup` command ([`CommandError`]).

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

/// A refused administration command. The message names the place (option, value) and the rule
/// broken; it never contains a credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    /// The command line could not be understood (unknown command, option, missing value...).
    #[error("{0}")]
    Syntax(String),
    /// A value is outside its allowed range.
    #[error("{0}")]
    OutOfRange(String),
    /// The command is well formed but a prerequisite is not met.
    #[error("{0}")]
    Refused(String),
}

impl CommandError {
    /// The `Command Result :` text LunaCM prints after the error.
    pub fn result_text(&self) -> &'static str {
        match self {
            CommandError::Syntax(_) | CommandError::OutOfRange(_) => "Invalid Argument",
            CommandError::Refused(_) => "Operation Failed",
        }
    }
}
