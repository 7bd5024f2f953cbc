//! # sim: everything non-deterministic, made deterministic
//!
//! Module map:
//! - [`clock`]: the virtual calendar (scenario start time + virtual milliseconds).
//! - [`memfs`]: the in-memory file system the HA log is written to.
//! - [`model_member`]: the adapter that makes an `hsm-model` partition a `ha_engine::ports::Member`.
#![forbid(unsafe_code)]

pub mod clock;
pub mod memfs;
pub mod model_member;
