//! # ha-engine: the system under test
//!
//! The client-side HA layer of a Luna-style HSM client, sans-IO in time: it never reads a clock,
//! never sleeps and never spawns a thread. Time comes in as `now` on every entry point; background
//! work (recovery attempts) is a deadline reported by `next_deadline()` and done in `on_timer(now)`.
//!
//! Crate map:
//! - [`ckr`]: PKCS#11 return values and their log rendering.
//! - [`ports`]: what the engine is driven through: `Member`, `Calendar`, `LogSink`.
//! - [`log`]: the HA log: message catalogue, ctime prefix, file writer with rotation.
#![forbid(unsafe_code)]

pub mod ckr;
pub mod log;
pub mod ports;
