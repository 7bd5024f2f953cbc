//! The `hagroup` administration commands as typed in LunaCM (§3.7 of the spec): parsing
//! ([`args`]), the single entry point [`execute`] ([`commands`]), and one module per command
//! family: [`groups`] (creategroup, deletegroup), [`members`] (addmember, removemember,
//! addstandby, removestandby), [`settings`] (retry, interval, recoverymode, haonly, halog),
//! [`recover`] (recover, synchronize) and [`listgroups`]; [`slots`] is LunaCM's slot numbering
//! (physical and virtual slots), which every LunaCM command shares. Every command answers with
//! LunaCM's `Command Result : ...` footer.
//!
//! A refused command leaves the configuration (and Chrystoki.conf) as it was. What it did to
//! partitions before it failed stays done, in two commands: `synchronize` keeps the copies it
//! made before a copy failed (by design: synchronisation only adds, D8), and `addmember -answer
//! remove` keeps the objects it deleted when it is refused afterwards (a delete that fails part
//! way, or a configuration that cannot be written back); its error says how many went.

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
pub(crate) mod testkit;
#[cfg(test)]
mod tests;
