//! The model: every HSM and partition of one simulated estate, addressed by serial, plus the
//! model seed every partition's random generator derives from. Owns [`HsmModel`].

use std::collections::BTreeMap;

use crate::error::{ModelError, ModelResult};
use crate::hsm::{Hsm, HsmSpec};
use crate::partition::{Partition, PartitionSpec};

/// HSMs and partitions, keyed by serial. HSM and partition serials share one namespace.
#[derive(Debug)]
pub struct HsmModel {
    seed: u64,
    hsms: BTreeMap<String, Hsm>,
    /// Partitions sorted by serial (there are few; a lookup is a binary search, or one
    /// comparison with a caller's remembered position, [`HsmModel::partition_mut_at`]).
    partitions: Vec<Partition>,
}

impl HsmModel {
    /// An empty model; `seed` fixes every partition's key material.
    pub fn new(seed: u64) -> Self {
        HsmModel {
            seed,
            hsms: BTreeMap::new(),
            partitions: Vec::new(),
        }
    }

    /// The model seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    fn check_new_serial(&self, serial: &str) -> ModelResult<()> {
        if self.hsms.contains_key(serial) || self.position(serial).is_ok() {
            Err(ModelError::DuplicateSerial(serial.to_string()))
        } else {
            Ok(())
        }
    }

    /// Adds an HSM. Its policies are the defaults overridden by the spec's.
    pub fn add_hsm(&mut self, spec: HsmSpec) -> ModelResult<()> {
        self.check_new_serial(&spec.serial)?;
        self.hsms.insert(spec.serial.clone(), Hsm::from_spec(spec));
        Ok(())
    }

    /// Adds a partition to the HSM its spec names (`UnknownHsm` when absent).
    pub fn add_partition(&mut self, spec: PartitionSpec) -> ModelResult<()> {
        self.check_new_serial(&spec.serial)?;
        let hsm = self
            .hsms
            .get(&spec.hsm)
            .ok_or_else(|| ModelError::UnknownHsm(spec.hsm.clone()))?;
        let partition = Partition::from_spec(spec, self.seed, hsm)?;
        // check_new_serial made sure the serial is not there yet.
        if let Err(at) = self.position(partition.serial()) {
            self.partitions.insert(at, partition);
        }
        Ok(())
    }

    /// The HSM with this serial.
    pub fn hsm(&self, serial: &str) -> Option<&Hsm> {
        self.hsms.get(serial)
    }

    /// Every HSM, in serial order.
    pub fn hsms(&self) -> impl Iterator<Item = &Hsm> {
        self.hsms.values()
    }

    /// The partition with this serial.
    pub fn partition(&self, serial: &str) -> Option<&Partition> {
        self.position(serial).ok().map(|i| &self.partitions[i])
    }

    /// Where partition `serial` is (or would be) in the serial-sorted list.
    fn position(&self, serial: &str) -> Result<usize, usize> {
        self.partitions.binary_search_by(|p| p.serial().cmp(serial))
    }

    /// The partition with this serial, mutably.
    pub fn partition_mut(&mut self, serial: &str) -> Option<&mut Partition> {
        let i = self.position(serial).ok()?;
        Some(&mut self.partitions[i])
    }

    /// [`HsmModel::partition_mut`] for a caller that looks the same serial up again and again:
    /// `hint` is where it was found last time (any value at first), checked with one comparison
    /// and updated when the partition has moved (a partition with a smaller serial was added).
    pub fn partition_mut_at(&mut self, serial: &str, hint: &mut usize) -> Option<&mut Partition> {
        let at = *hint;
        if self.partitions.get(at).is_none_or(|p| p.serial() != serial) {
            *hint = self.position(serial).ok()?;
        }
        self.partitions.get_mut(*hint)
    }

    /// Every partition, in serial order.
    pub fn partitions(&self) -> impl Iterator<Item = &Partition> {
        self.partitions.iter()
    }

    /// The HSM holding partition `partition_serial`.
    pub fn hsm_of(&self, partition_serial: &str) -> Option<&Hsm> {
        self.partition(partition_serial)
            .and_then(|p| self.hsms.get(p.hsm_serial()))
    }

    /// Sets HSM policy `number` and propagates it to the HSM's partitions.
    pub fn set_hsm_policy(&mut self, hsm_serial: &str, number: u32, value: u64) -> ModelResult<()> {
        let hsm = self
            .hsms
            .get_mut(hsm_serial)
            .ok_or_else(|| ModelError::UnknownHsm(hsm_serial.to_string()))?;
        hsm.set_policy(number, value);
        let policies = hsm.policies().clone();
        for partition in &mut self.partitions {
            if partition.hsm_serial() == hsm_serial {
                partition.set_hsm_policies(policies.clone());
            }
        }
        Ok(())
    }

    fn partition_or_err(&mut self, serial: &str) -> ModelResult<&mut Partition> {
        self.partition_mut(serial)
            .ok_or_else(|| ModelError::UnknownPartition(serial.to_string()))
    }

    /// Clones one object: exports `handle` from partition `from_serial` (session
    /// `from_session`) and imports the blob into `to_serial` (session `to_session`). Returns the
    /// copy's handle on the target. Errors are those of
    /// [`Partition::export_clone`] and [`Partition::import_clone`].
    pub fn clone_object(
        &mut self,
        from_serial: &str,
        from_session: u64,
        handle: u64,
        to_serial: &str,
        to_session: u64,
    ) -> ModelResult<u64> {
        // Look the target up first so an unknown target costs nothing.
        self.partition_or_err(to_serial)?;
        let blob = self
            .partition_or_err(from_serial)?
            .export_clone(from_session, handle)?;
        self.partition_or_err(to_serial)?
            .import_clone(to_session, &blob)
    }
}
