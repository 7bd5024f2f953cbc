//! The `hagroup` administration commands as typed in LunaCM (§3.7 of the spec): parsing
//! ([`args`]), execution against the engine's configuration ([`commands`]) and the
//! `listgroups` layout ([`listgroups`]). Every command answers with LunaCM's
//! `Command Result : ...` footer; a refused command changes nothing.

pub mod args;
pub mod commands;
pub mod listgroups;

pub use commands::{CommandOutput, execute};
