//! Seeded exploration: from one seed, a whole random but valid scenario (swarm options, workload,
//! fault schedule, heal), run through the engine and checked against the spec's invariants by a
//! checker outside the engine.
//!
//! - [`options`]: what a seed decides first (the seed line), generator version.
//! - [`plan`]: the generator's typed plan and its rendering to scenario text.
//! - [`generate`]: seed → plan.
//! - [`direct`]: plan → scenario AST without the round trip through text (the hot path).
//! - [`observe`]: the facts of a run the invariants read.
//! - [`truth`]: what was reachable when, from the faults alone; when a member counts as usable.
//! - [`check`]: the invariants.
//! - [`campaign`]: seeds, shards, jobs, JSON-lines results, merge.
//! - [`shrink`]: a failing plan cut down to a regression scenario.
//! - [`command`]: the `explore` / `replay` commands.

pub mod campaign;
pub mod check;
pub mod command;
pub mod direct;
pub mod generate;
pub mod observe;
pub mod options;
pub mod plan;
pub mod shrink;
pub mod truth;

pub use generate::generate;
pub use options::{GENERATOR_VERSION, Options};
pub use plan::Plan;
pub use shrink::shrink as shrink_plan;
