//! [`World`]: one simulated client machine. Owns the virtual clock, the in-process HSMs, the
//! fault injectors in front of every partition, the in-memory file system for HA logs and the
//! HA engine wired to all of them. Time moves only when the world is told to advance, and then
//! jumps from one engine deadline to the next.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use ha_engine::HaEngine;
use ha_engine::ports::{CivilTime, Member, Millis, TokenInfo};
use hsm_model::{HsmModel, HsmSpec, LUNACM, ModelError, PartitionSpec};
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
    workload: ChaCha20Rng,
    ties: ChaCha20Rng,
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
            ties: root.stream(Stream::Ties),
        })
    }

    /// Current virtual time.
    pub fn now(&self) -> Millis {
        self.now
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

    /// LunaCM's own connections to the partitions, in slot order (spec D22: LunaCM is its own
    /// process with its own library instance and login, B9, B61). Each sits behind the same
    /// fault injector state as the application's member for that partition, so a dropped
    /// partition is unreachable to LunaCM too and its calls count in the same record.
    pub fn lunacm_members(&self) -> Vec<Box<dyn Member>> {
        self.serials
            .iter()
            .filter_map(|serial| {
                let control = self.controls.get(serial)?;
                let inner = ModelMember::for_client(self.model.clone(), serial.clone(), LUNACM);
                Some(Box::new(FaultyMember::sharing(Box::new(inner), control)) as Box<dyn Member>)
            })
            .collect()
    }

    /// Advances virtual time to `to`, running every engine deadline on the way, in order.
    pub fn advance_to(&mut self, to: Millis) -> Result<(), WorldError> {
        if to < self.now {
            return Err(WorldError::TimeBackwards { now: self.now, to });
        }
        self.sync_timeouts();
        while let Some(deadline) = self.engine.next_deadline() {
            if deadline > to {
                break;
            }
            self.now = self.now.max(deadline);
            self.engine.on_timer(self.now);
            // Calls made by the engine's own work (recovery) take no virtual time.
            let _ = self.take_elapsed();
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
        if fault.at_transport() {
            self.sync_timeouts();
            self.control(serial)?.apply(fault)?;
            return Ok(());
        }
        let mut model = self
            .model
            .lock()
            .map_err(|_| WorldError::UnknownMember(serial.to_string()))?;
        let partition = model
            .partition_mut(serial)
            .ok_or_else(|| WorldError::UnknownMember(serial.to_string()))?;
        match fault {
            Fault::Deactivate => partition.set_activated(false),
            Fault::Activate => partition.set_activated(true),
            // The CO credential changes on the partition (e.g. while it was out of the group),
            // so the group's credential no longer logs in (B49).
            Fault::LoginFailure => partition.set_co_credential(&format!("changed-{serial}")),
            _ => return Err(WorldError::Unsupported(UnsupportedFault(fault.name()))),
        }
        Ok(())
    }

    /// One single-part crypto call through the split dispatch (architecture "calls in flight"):
    /// the engine decides, the call takes the serving member's virtual duration (a slow member,
    /// B28) during which time moves and recovery may run, then the engine completes it, which
    /// may re-dispatch (B29, D4).
    pub fn crypto_call(
        &mut self,
        vs: ha_engine::state::VSessionHandle,
        op: ha_engine::failover::CryptoOp,
        key: ha_engine::state::VObjectHandle,
        data: &[u8],
    ) -> Result<Vec<u8>, ha_engine::EngineError> {
        use ha_engine::failover::Completion;
        self.sync_timeouts();
        let mut d = self.engine.begin(self.now, vs, op, key, data)?;
        loop {
            let (duration, _) = self
                .controls
                .get(&d.serial)
                .map_or((0, false), FaultControl::next_call_duration);
            if duration > 0 {
                // Cannot go backwards: the target is later than now.
                let _ = self.advance_to(self.now + duration);
            }
            let result = self.engine.call(&d);
            // The duration is already on the clock.
            let _ = self.take_elapsed();
            match self.engine.complete(self.now, d, result) {
                Completion::Done(r) => return r,
                Completion::Redispatch(next) => d = next,
            }
        }
    }

    /// How long the member's next call takes: its own processing time (`set_call_ms`) plus a
    /// slow fault's delay, capped by the receive timeout (B28).
    pub fn call_duration(&self, serial: &str) -> Millis {
        self.controls
            .get(serial)
            .map_or(0, |c| c.next_call_duration().0)
    }

    /// Gives a member's calls a processing time (the HSM answers with heartbeats, so this never
    /// times out, B28).
    pub fn set_call_ms(&mut self, serial: &str, ms: Millis) -> Result<(), WorldError> {
        self.control(serial)?.set_base_ms(ms);
        Ok(())
    }

    /// Gives every injector the client's current timeouts (they live in the configuration,
    /// which commands and Chrystoki.conf change).
    pub fn sync_timeouts(&mut self) {
        let config = self.engine.config();
        let (receive, probe) = (config.receive_timeout_ms, config.probe_timeout_ms);
        for control in self.controls.values() {
            control.set_timeouts(receive, probe);
        }
    }

    /// Virtual time the last calls spent in slow members; the caller advances the clock by it.
    pub fn take_elapsed(&mut self) -> Millis {
        self.controls.values().map(FaultControl::take_elapsed).sum()
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

    /// Calls of one kind a member answered with `CKR_OK` so far.
    pub fn served(&self, serial: &str, kind: CallKind) -> u64 {
        self.controls.get(serial).map_or(0, |c| c.served(kind))
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

    /// The tie-break stream (simultaneous events, `scheduler`).
    pub fn ties(&mut self) -> &mut ChaCha20Rng {
        &mut self.ties
    }

    /// `n` bytes of application data from the workload stream.
    pub fn workload_bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.workload.random::<u8>()).collect()
    }
}
