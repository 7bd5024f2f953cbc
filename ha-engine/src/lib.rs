//! # ha-engine: the system under test
//!
//! The client-side HA layer of a Luna-style HSM client, sans-IO in time: it never reads a clock,
//! never sleeps and never spawns a thread. Time comes in as `now` on every entry point; background
//! work (recovery attempts) is a deadline reported by `next_deadline()` and done in `on_timer(now)`.
//!
//! Crate map (one job per module):
//! - [`ports`]: what the engine is driven through: `Member` (and the shareable `MemberRef`),
//!   `Timeouts`, `Calendar`, `LogSink`.
//! - `slot_member`: the engine's handle on a slot, passing the client's limits on every call.
//! - [`ckr`]: PKCS#11 return values and their log rendering.
//! - [`error`]: typed errors for application calls.
//! - [`config`]: the client configuration (groups, members, recovery settings).
//! - [`admin`]: what the administration side (LunaCM, its own crate) may do to a running engine:
//!   apply a changed configuration, request a manual recovery, report a cleared group.
//! - [`state`]: runtime state after `C_Initialize` (members, liveness, objects, sessions).
//! - [`engine`]: `HaEngine`: lifecycle, dropping members, HA log plumbing.
//! - [`session`]: virtual sessions and login (B16, B17).
//! - [`replication`]: create on the primary, clone to every member, destroy (B18, D7, D18).
//! - [`roles`]: each member's role as the engine sees it (active, standby, promoted, down).
//! - [`balance`]: least-busy member choice (B25, D6).
//! - [`failover`]: begin / call / complete with transparent re-dispatch (B29, D3, D4).
//! - [`multipart`]: multi-part operations pinned to one member (B27, D5).
//! - [`direct`]: the application writing to a physical member slot, bypassing HA (B21).
//! - [`recovery`]: auto-recovery attempts (B43, B44, D9), manual recovery (B45).
//! - `reconcile`: the group's object table against a member's actual objects at (re)join:
//!   clone what it lacks, destroy what was deleted (B19, B20, D7, D8, D18).
//! - [`membership`]: the runtime following configuration changes (standby, new and removed members).
//! - [`slots`]: the application's slot list (D14, B34, B56–B59).
//! - [`log`]: the HA log: message catalogue, ctime prefix, file writer with rotation.
//! - `test_support` (tests, and the `test-support` feature for the `lunacm` crate's tests): fake
//!   members, a fixed calendar, a log sink that keeps lines.
//!
//! The administration side (the `hagroup` commands, LunaCM's other commands, the prerequisite
//! checks, `synchronize` and the Chrystoki.conf document) is the `lunacm` crate, which uses this
//! crate's public API only; nothing here depends on it.
#![forbid(unsafe_code)]

pub mod admin;
pub mod balance;
pub mod ckr;
pub mod config;
pub mod direct;
pub mod engine;
pub mod error;
pub mod failover;
pub mod find;
pub mod log;
pub mod membership;
pub mod multipart;
#[doc(hidden)]
pub mod planted;
pub mod ports;
pub(crate) mod reconcile;
pub mod recovery;
pub mod replication;
pub mod roles;
pub mod session;
pub(crate) mod slot_member;
pub mod slots;
pub mod state;
#[cfg(any(test, feature = "test-support"))]
pub mod test_support;

pub use admin::ConfigRejected;
pub use ckr::Ckr;
pub use engine::{EngineEvent, HaEngine};
pub use error::EngineError;
