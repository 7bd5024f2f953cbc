//! Turns a scenario's topology (HSMs, partitions, clock, seed) into a `sim::World`, and gives
//! the world's client machine its LunaCM ([`build_lunacm`]).

use hsm_model::{AuthMethod, Firmware, HsmForm as ModelForm, HsmSpec, PartitionSpec};
use lunacm::LunaCm;
use sim::clock::parse_civil;
use sim::partitions::Partitions;
use sim::world::{World, WorldConfig};

use crate::scenario::{Auth, HsmForm, Scenario};

/// A topology the model cannot build.
#[derive(Debug, thiserror::Error)]
#[error("{place}: {message}")]
pub struct TopologyError {
    /// Where in the scenario (e.g. `hsms[0].firmware`).
    pub place: String,
    /// What is wrong.
    pub message: String,
}

pub(crate) fn err(place: impl Into<String>, message: impl ToString) -> TopologyError {
    TopologyError {
        place: place.into(),
        message: message.to_string(),
    }
}

/// The serial of the implicit HSM of a partition declared without `hsm`.
pub fn implicit_hsm_serial(partition: &str) -> String {
    format!("hsm-{partition}")
}

/// Builds the world a scenario describes, on the in-process model.
pub fn build_world(scenario: &Scenario) -> Result<World, TopologyError> {
    let world = World::new(world_config(scenario)?).map_err(|e| err("partitions", e))?;
    apply_call_ms(scenario, world)
}

/// Builds the world a scenario describes over partitions that live outside the model (real
/// tokens): `config` is the scenario's [`world_config`], `serials` its partitions in order.
pub fn build_world_over(
    scenario: &Scenario,
    config: &WorldConfig,
    serials: Vec<String>,
    partitions: Box<dyn Partitions>,
) -> Result<World, TopologyError> {
    let world = World::with_partitions(config.seed, config.start, config.pid, serials, partitions)
        .map_err(|e| err("partitions", e))?;
    apply_call_ms(scenario, world)
}

/// Gives every partition its declared processing time (`call_ms`).
pub fn apply_call_ms(scenario: &Scenario, mut world: World) -> Result<World, TopologyError> {
    for (i, decl) in scenario.partitions.iter().enumerate() {
        if decl.call_ms > 0 {
            world
                .set_call_ms(decl.serial.as_str(), decl.call_ms)
                .map_err(|e| err(format!("partitions[{i}].call_ms"), e))?;
        }
    }
    Ok(world)
}

/// The model's description of a scenario's topology (HSMs, partitions, clock, seed).
pub fn world_config(scenario: &Scenario) -> Result<WorldConfig, TopologyError> {
    let start = parse_civil(&scenario.clock.start).map_err(|e| err("clock.start", e))?;
    let mut hsms = Vec::new();
    for (i, decl) in scenario.hsms.iter().enumerate() {
        let mut spec = HsmSpec::new(decl.serial.as_str());
        spec.form = match decl.form {
            HsmForm::Network => ModelForm::Network,
            HsmForm::Pcie => ModelForm::Pcie,
            HsmForm::Usb => ModelForm::Usb,
            HsmForm::Cloud => ModelForm::Cloud,
        };
        spec.firmware =
            Firmware::parse(&decl.firmware).map_err(|e| err(format!("hsms[{i}].firmware"), e))?;
        spec.auth = match decl.auth {
            Auth::Password => AuthMethod::Password,
            Auth::Ped => AuthMethod::Ped,
        };
        for (n, v) in &decl.policies {
            spec.policies.insert(*n, u64::from(*v));
        }
        hsms.push(spec);
    }
    let mut partitions = Vec::new();
    for decl in &scenario.partitions {
        let serial = decl.serial.as_str().to_string();
        let hsm = match &decl.hsm {
            Some(h) => h.as_str().to_string(),
            None => {
                let implicit = implicit_hsm_serial(&serial);
                hsms.push(HsmSpec::new(implicit.as_str()));
                implicit
            }
        };
        let co = decl.co.as_deref().unwrap_or(&scenario.credentials.co);
        let mut spec =
            PartitionSpec::new(serial, decl.label.as_str(), hsm, decl.domain.as_str(), co);
        for (n, v) in &decl.policies {
            spec.policies.insert(*n, u64::from(*v));
        }
        if let Some(total) = decl.storage {
            spec.total_storage = total;
        }
        spec.activated = decl.activated;
        spec.v1 = decl.v1;
        spec.co_credential_changed = decl.co_changed;
        spec.activation_challenge = decl.activation.clone();
        partitions.push(spec);
    }
    Ok(WorldConfig {
        seed: scenario.seed,
        start,
        pid: scenario.clock.pid,
        hsms,
        partitions,
    })
}

/// LunaCM on the world's client machine: its own connections to the partitions (behind the same
/// fault injectors as the application's, spec D22) and the machine's file system.
pub fn build_lunacm(world: &World) -> LunaCm {
    LunaCm::new(world.lunacm_members(), Box::new(world.fs().clone()))
}
