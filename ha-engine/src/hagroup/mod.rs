//! The `hagroup` administration commands as typed in LunaCM (§3.7 of the spec): parsing
//! ([`args`]), the single entry point [`execute`] ([`commands`]), and one module per command
//! family: [`groups`] (creategroup, deletegroup), [`members`] (addmember, removemember,
//! addstandby, removestandby), [`settings`] (retry, interval, recoverymode, haonly, halog),
//! [`recover`] (recover, synchronize) and [`listgroups`]; [`slots`] is LunaCM's numbering of
//! the physical slots. Every command answers with LunaCM's `Command Result : ...` footer; a
//! refused command changes nothing.

pub mod args;
pub mod commands;
pub mod groups;
pub mod listgroups;
pub mod members;
pub mod recover;
pub mod settings;
pub mod slots;

pub use commands::{CommandOutput, execute};

#[cfg(test)]
mod testkit;
#[cfg(test)]
mod tests;
