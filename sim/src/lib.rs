//! # sim: everything non-deterministic, made deterministic
//!
//! Module map:
//! - [`clock`]: the virtual calendar (scenario start time + virtual milliseconds).
//! - [`rng`]: one seed, named ChaCha child streams.
//! - [`memfs`]: the in-memory file system the HA log is written to.
//! - [`model_member`]: the adapter that makes an `hsm-model` partition a `ha_engine::ports::Member`.
//! - [`fault`]: the fault vocabulary and the injector that applies it below the `Member` port.
//! - [`partitions`]: where a world's partitions live (the model, or real tokens).
//! - [`world`]: one simulated client machine: clock, HSMs, injectors, file system, engine.
//! - [`record`]: the typed record of a run that the transcript, verdict and checkers read.
//! - [`queue`]: the event queue and the one place virtual time moves (the time policy).
//! - [`scheduler`]: application threads (one for an `App` step, several for `Threads`) with
//!   overlapping calls, interleaved by the seed.
#![forbid(unsafe_code)]

pub mod clock;
pub mod fault;
pub mod memfs;
pub mod model_member;
pub mod partitions;
pub mod queue;
pub mod record;
pub mod rng;
pub mod scheduler;
pub mod world;
