//! # harness: scenario files, runner, transcripts, CLI
//!
//! Module map:
//! - [`scenario`]: the RON scenario language v1 (serde types) and its loader with `file:line:col` errors.
#![forbid(unsafe_code)]

pub mod scenario;
