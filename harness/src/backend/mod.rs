//! Backends: where a scenario's partitions live. [`Backend::Model`] is hasim's in-process HSM;
//! [`Backend::SoftHsm`] creates fresh SoftHSM2 tokens matching the topology and binds each
//! scenario partition to one (`softhsm`, with the `pkcs11` feature). The same fault injector
//! from `sim` sits in front of both, so one fault plan means the same thing on each.
//!
//! [`luna_only`] says why a scenario cannot run on a generic PKCS#11 token (HSM or partition
//! policies, PED, V1/SMK, Cloud forms, storage figures); such scenarios are skipped there.

use std::path::PathBuf;

use sim::world::World;

use crate::scenario::{Auth, HsmForm, NegativeInput, Scenario, Step};
use crate::topology::{self, TopologyError};

#[cfg(feature = "pkcs11")]
pub mod softhsm;

/// Where a run's partitions live.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Backend {
    /// The in-process HSM model.
    #[default]
    Model,
    /// Fresh SoftHSM2 tokens, one module instance per member.
    SoftHsm(SoftHsmOptions),
}

/// Options of the SoftHSM backend.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SoftHsmOptions {
    /// Keep the tokens (module copies, configuration and token directories) under this
    /// directory instead of removing them after the run.
    pub keep_tokens: Option<PathBuf>,
}

impl Backend {
    /// The name used on the command line and in reports.
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Model => "model",
            Backend::SoftHsm(_) => "softhsm",
        }
    }
}

/// A world ready to run, with what the transcript header says about its partitions.
pub struct Built {
    /// The world.
    pub world: World,
    /// One line per partition naming the token it is bound to (empty on the model).
    pub binding: Vec<String>,
}

/// Builds the world `scenario` describes on `backend`.
pub fn build(scenario: &Scenario, backend: &Backend) -> Result<Built, TopologyError> {
    match backend {
        Backend::Model => Ok(Built {
            world: topology::build_world(scenario)?,
            binding: Vec::new(),
        }),
        #[cfg(feature = "pkcs11")]
        Backend::SoftHsm(options) => softhsm::build(scenario, options),
        #[cfg(not(feature = "pkcs11"))]
        Backend::SoftHsm(_) => Err(topology::err(
            "backend",
            "this hasim was built without the pkcs11 feature",
        )),
    }
}

/// Why `scenario` needs a Luna-only feature (and cannot run on a generic PKCS#11 token), or
/// `None` when it needs none.
pub fn luna_only(scenario: &Scenario) -> Option<String> {
    let mut why: Vec<&str> = Vec::new();
    let mut add = |w| {
        if !why.contains(&w) {
            why.push(w);
        }
    };
    for hsm in &scenario.hsms {
        if !hsm.policies.is_empty() {
            add("HSM policies");
        }
        if hsm.auth == Auth::Ped {
            add("PED authentication");
        }
        if hsm.form == HsmForm::Cloud {
            add("Luna Cloud HSM form");
        }
    }
    for p in &scenario.partitions {
        if !p.policies.is_empty() {
            add("partition policies");
        }
        if p.v1 {
            add("V1 partition (SMK)");
        }
        if p.storage.is_some() {
            add("storage figures");
        }
        if p.activation.is_some() {
            add("PED activation challenge");
        }
    }
    let commands = scenario
        .setup
        .iter()
        .chain(scenario.steps.iter().filter_map(|s| match s {
            Step::Command(line) => Some(line),
            _ => None,
        }))
        .chain(scenario.negative.iter().filter_map(|n| match &n.input {
            NegativeInput::Command(line) => Some(line),
            _ => None,
        }));
    for line in commands {
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.len() >= 2 && words[0] == "partition" && words[1].starts_with("sh") {
            add("storage figures (partition showinfo)");
        }
    }
    if why.is_empty() {
        None
    } else {
        Some(format!("needs {}", why.join(", ")))
    }
}

/// True when the scenario makes application calls (an `App` or `Threads` step).
pub fn has_application_calls(scenario: &Scenario) -> bool {
    scenario
        .steps
        .iter()
        .any(|s| matches!(s, Step::App(_) | Step::In(..) | Step::Threads { .. }))
}
