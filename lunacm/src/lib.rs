//! # lunacm: the administration side
//!
//! In the product, LunaCM is its own program with its own library instance: it edits the
//! configuration file (`Chrystoki.conf` / `crystoki.ini`) that the application's library reads,
//! and it talks to the partitions over its own connections with its own login (spec D22, B9,
//! B61). This crate is that program for hasim. [`LunaCm`] holds LunaCM's state (its connections
//! to the partitions, the configuration file, the current slot) and runs command lines
//! ([`LunaCm::execute`]); it reaches the application's running engine only through the engine's
//! public administration interface ([`ha_engine::admin`]: apply a changed configuration,
//! request a manual recovery, report a cleared group) and the application API (`multitoken`).
//!
//! Crate map (one job per module):
//! - [`console`]: [`LunaCm`]: LunaCM's state and [`LunaCm::execute`], which routes `hagroup ...`
//!   lines to [`hagroup`] and runs the other commands.
//! - [`hagroup`]: the `hagroup` commands and their output (`creategroup` ... `listgroups`).
//! - [`slot`], [`partition`], [`multitoken`]: `slot list|set`, `partition showinfo|clear`,
//!   `multitoken`.
//! - [`prereq`]: HA group prerequisites checked at creategroup / addmember (B9–B15).
//! - [`sync`]: `hagroup synchronize`: union of the members' token objects (B61, D8, B14).
//! - [`chrystoki`]: `Chrystoki.conf` / `crystoki.ini`: lossless document, mapping to the
//!   engine's [`ha_engine::config::ClientConfig`], loading a file ([`LunaCm::load_conf`]).
//! - `member_session`: LunaCM's short sessions on one member (open, log in, work, close).
//! - [`printable`]: typed text made safe to show (control characters escaped).
//! - [`error`]: typed refusals ([`CommandError`], [`LunaCmError`]).
#![forbid(unsafe_code)]

pub mod chrystoki;
pub mod console;
pub mod error;
pub mod hagroup;
pub(crate) mod member_session;
pub mod multitoken;
pub mod partition;
pub mod prereq;
pub mod printable;
pub mod slot;
pub mod sync;
#[cfg(test)]
pub(crate) mod test_support;

pub use console::{LunaCm, SlotRef};
pub use error::{CommandError, LunaCmError};
pub use hagroup::CommandOutput;
