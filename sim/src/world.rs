//! [`World`]: one simulated client machine. Owns the virtual clock, the in-process HSMs, the
//! fault injectors in front of every partition, the in-memory file system for HA logs and the
//! HA engine wired to all of them. Time moves only when the world is told to advance, and then
//! jumps from one engine deadline to the next.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use ha_engine::HaEngine;
use ha_engine::ports::{CivilTime, Member, Millis, TokenInfo};
use hsm_model::{HsmModel, HsmSpec, ModelError, PartitionSpec};
use rand::RngExt;
use rand_chacha::ChaCha20Rng;

use crate::clock::SimCalendar;
use crate::fault::injector::UnsupportedFault;
use crate::fault::{CallKind, CallRecord, Fault, FaultControl, FaultyMember};
use crate::memfs::SharedMemFs;
use crate::model_member::ModelMember;
use crate::rng::{SeedRoot, Stream};

/// Everything a world is built from.
#[derive(Debug, Clone)]
pub struct WorldConfig {
    /// The run's seed.
    pub seed: u64,
    /// Local calendar time at virtual time 0.
    pub start: CivilTime,
    /// The client process id printed in the HA log prefix.
    pub pid: u32,
    /// HSMs.
    pub hsms: Vec<HsmSpec>,
    /// Partitions, in the client's slot discovery order (D14).
    pub partitions: Vec<PartitionSpec>,
}

/// Why a world could not be built or a fault not applied.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WorldError {
    /// The HSM model refused the topology.
    #[error("topology: {0}")]
    Model(#[from] ModelError),
    /// A fault names a partition the world does not have.
    #[error("no partition with serial {0}")]
    UnknownMember(String),
    /// The fault cannot be injected by this version.
    #[error(transparent)]
    Unsupported(#[from] UnsupportedFault),
    /// Time cannot go backwards.
    #[error("cannot move virtual time back from {now} ms to {to} ms")]
    TimeBackwards {
        /// Current virtual time.
        now: Millis,
        /// Requested time.
        to: Millis,
    },
}

/// One simulated client machine.
pub struct World {
    now: Millis,
    engine: HaEngine,
    model: Arc<Mutex<HsmModel>>,
    controls: BTreeMap<String, FaultControl>,
    serials: Vec<String>,
    fs: SharedMemFs,
    root: SeedRoot,
    workload: ChaCha20Rng,
}

impl World {
    /// Builds the HSMs and partitions and an engine that sees every partition through a
    /// fault injector.
    pub fn new(config: WorldConfig) -> Result<World, WorldError> {
        let root = SeedRoot::new(config.seed);
        let mut model = HsmModel::new(root.draw_u64(Stream::Hsm));
        for hsm in config.hsms {
            model.add_hsm(hsm)?;
        }
        let mut serials = Vec::new();
        for partition in config.partitions {
            serials.push(partition.serial.clone());
            model.add_partition(partition)?;
        }
        let model = Arc::new(Mutex::new(model));
        let mut controls = BTreeMap::new();
        let mut members: Vec<Box<dyn Member>> = Vec::new();
        for serial in &serials {
            let inner = ModelMember::new(model.clone(), serial.clone());
            let (faulty, control) = FaultyMember::new(Box::new(inner));
            controls.insert(serial.clone(), control);
            members.push(Box::new(faulty));
        }
        let fs = SharedMemFs::new();
        let engine = HaEngine::new(
            members,
            Box::new(SimCalendar::new(config.start)),
            Box::new(fs.clone()),
            config.pid,
        );
        Ok(World {
            now: 0,
            engine,
            model,
            controls,
            serials,
            fs,
            workload: root.stream(Stream::Workload),
            root,
        })
    }

    /// Current virtual time.
    pub fn now(&self) -> Millis {
        self.now
    }

    /// The seed root.
    pub fn seed(&self) -> &SeedRoot {
        &self.root
    }

    /// The engine under test.
    pub fn engine(&mut self) -> &mut HaEngine {
        &mut self.engine
    }

    /// The HA log file system.
    pub fn fs(&self) -> &SharedMemFs {
        &self.fs
    }

    /// Partition serials in slot order.
    pub fn serials(&self) -> &[String] {
        &self.serials
    }

    /// Advances virtual time to `to`, running every engine deadline on the way, in order.
    pub fn advance_to(&mut self, to: Millis) -> Result<(), WorldError> {
        if to < self.now {
            return Err(WorldError::TimeBackwards { now: self.now, to });
        }
        while let Some(deadline) = self.engine.next_deadline() {
            if deadline > to {
                break;
            }
            self.now = self.now.max(deadline);
            self.engine.on_timer(self.now);
        }
        self.now = to;
        Ok(())
    }

    fn control(&self, serial: &str) -> Result<&FaultControl, WorldError> {
        self.controls
            .get(serial)
            .ok_or_else(|| WorldError::UnknownMember(serial.to_string()))
    }

    /// Applies a fault to a member now.
    pub fn apply(&mut self, serial: &str, fault: &Fault) -> Result<(), WorldError> {
        tracing::debug!(
            member = serial,
            fault = fault.name(),
            at = self.now,
            "fault applied"
        );
        self.control(serial)?.apply(fault)?;
        Ok(())
    }

    /// Arms a fault for the member's `nth` call of kind `call`.
    pub fn arm(
        &mut self,
        serial: &str,
        call: CallKind,
        nth: u32,
        fault: Fault,
    ) -> Result<(), WorldError> {
        self.control(serial)?.arm(call, nth, fault)?;
        Ok(())
    }

    /// What a member's injector recorded.
    pub fn record(&self, serial: &str) -> CallRecord {
        self.controls
            .get(serial)
            .map(FaultControl::record)
            .unwrap_or_default()
    }

    /// Token info of every partition read through the `Member` port of the model itself (below
    /// the fault injector, so a dropped member still shows what it stores).
    pub fn token_infos(&self) -> BTreeMap<String, TokenInfo> {
        let mut out = BTreeMap::new();
        for serial in &self.serials {
            let mut observer = ModelMember::new(self.model.clone(), serial.clone());
            if let Ok(info) = observer.token_info() {
                out.insert(serial.clone(), info);
            }
        }
        out
    }

    /// Token object count per partition (see [`World::token_infos`]).
    pub fn object_counts(&self) -> BTreeMap<String, u64> {
        self.token_infos()
            .into_iter()
            .map(|(serial, info)| (serial, info.object_count))
            .collect()
    }

    /// `n` bytes of application data from the workload stream.
    pub fn workload_bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.workload.random::<u8>()).collect()
    }
}
