//! # harness: scenario files, runner, transcripts, CLI
//!
//! Module map:
//! - [`scenario`]: the RON scenario language v1 (serde types) and its loader with `file:line:col` errors.
//! - [`backend`]: where a run's partitions live: the model or fresh SoftHSM tokens; which
//!   scenarios need Luna-only features.
//! - [`differential`]: `hasim differential`: portable scenarios on both backends, compared.
//! - [`topology`]: a scenario's HSMs and partitions as a `sim::World`.
//! - [`app`]: the application under test: its handles and its behaviour profile (how it
//!   reacts to errors, how it finds its slot).
//! - [`runner`]: runs the steps and writes what happened into the run's `sim::record::Record`.
//! - [`transcript`]: the plain text snapshots hold, rendered from the record (a pure function).
//! - [`verdict`]: the scenario's own expectations checked against the record.
//! - [`bench`]: `hasim bench` measurements; `bench_softhsm`: the real-member figures.
//! - [`lunacm_prompt`]: `hasim lunacm`: a LunaCM prompt over a scenario's topology.
//! - [`suite`]: finding scenario files, naming them, running one file end to end, the
//!   determinism check.
//! - [`halog`]: HA log lines read back into the engine's catalogue messages.
//! - [`import`]: `hasim import`: a real HA log and Chrystoki.conf replayed as a scenario, diffed.
//! - [`timeline`]: `--timeline`: a run drawn as one self-contained HTML page.
//! - [`coverage`]: `hasim coverage`: HA log templates emitted and spec rules named by the scenarios.
//! - [`validate`]: `hasim validate`: a real client setup (Chrystoki.conf + PKCS#11 library)
//!   checked and run through the portable scenarios on its own members.
#![forbid(unsafe_code)]

pub mod app;
pub mod backend;
pub mod bench;
#[cfg(feature = "pkcs11")]
pub mod bench_softhsm;
pub mod coverage;
pub mod differential;
pub mod explore;
#[cfg(feature = "pkcs11")]
pub mod fingerprint;
pub mod halog;
pub mod import;
pub mod lunacm_prompt;
pub mod runner;
pub mod scenario;
pub mod starter;
pub mod suite;
pub mod timeline;
pub mod topology;
pub mod transcript;
#[cfg(feature = "pkcs11")]
pub mod validate;
pub mod verdict;
