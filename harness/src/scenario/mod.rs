//! Owns the RON scenario language v1: its serde types ([`ast`]), serial numbers ([`serial`])
//! and the loader with `file:line:col` errors and post-parse validation ([`load`]), with the
//! limits a scenario may not pass ([`limits`]).

pub mod ast;
pub mod limits;
pub mod load;
pub mod seconds;
pub mod serial;

pub use ast::{
    AppOp, Auth, CallKind, ClockSpec, Credentials, Expect, Fault, HsmDecl, HsmForm, KeyKind,
    NegativeCase, NegativeInput, PartitionDecl, ProcessDecl, Role, SCENARIO_VERSION, Scenario,
    Step, ThreadOp,
};
pub use load::{LoadError, load_file, parse_generated, parse_str, validate, validate_generated};
pub use seconds::Seconds;
pub use serial::Serial;
