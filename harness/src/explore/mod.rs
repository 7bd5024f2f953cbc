//! Seeded exploration: from one seed, a whole random but valid scenario (swarm options, workload,
//! fault schedule, heal), run through the engine and checked against the spec's invariants by a
//! checker outside the engine.
//!
//! - [`options`]: what a seed decides first (the seed line), generator version.
//! - [`plan`]: the generator's typed plan and its rendering to scenario text.
//! - [`generate`]: seed → plan.

pub mod generate;
pub mod options;
pub mod plan;

pub use generate::generate;
pub use options::{GENERATOR_VERSION, Options};
pub use plan::Plan;
