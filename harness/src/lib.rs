//! # harness: scenario files, runner, transcripts, CLI
//!
//! Module map:
//! - [`scenario`]: the RON scenario language v1 (serde types) and its loader with `file:line:col` errors.
//! - [`topology`]: a scenario's HSMs and partitions as a `sim::World`.
//! - [`runner`]: runs the steps and records what happened.
//! - [`transcript`]: the plain-text record every snapshot and tool reads.
//! - [`verdict`]: the scenario's own expectations checked against the run.
//! - [`bench`]: `hasim bench` measurements.
//! - [`lunacm_prompt`]: `hasim lunacm`: a LunaCM prompt over a scenario's topology.
//! - [`suite`]: finding scenario files and running one file end to end.
//! - [`coverage`]: `hasim coverage`: HA log templates emitted and spec rules named by the scenarios.
#![forbid(unsafe_code)]

pub mod bench;
pub mod coverage;
pub mod explore;
pub mod lunacm_prompt;
pub mod runner;
pub mod scenario;
pub mod starter;
pub mod suite;
pub mod topology;
pub mod transcript;
pub mod verdict;
