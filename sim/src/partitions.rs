//! Where a world's partitions live ([`Partitions`]): hasim's in-process HSM model
//! ([`ModelPartitions`], the default) or real tokens behind a PKCS#11 library (the harness's
//! SoftHSM backend). The world puts a fault injector in front of every connection a backend
//! hands out, so the same fault plan reaches both; the backend applies what acts on the
//! partition itself (activation, the CO credential) and what a transport fault means for a real
//! device (a restore after a drop re-initialises the connection).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use ha_engine::ports::{Member, TokenInfo};
use hsm_model::{HsmModel, LUNACM};

use crate::fault::Fault;
use crate::fault::injector::{PartitionHook, UnsupportedFault};
use crate::model_member::ModelMember;
use crate::record::Room;
use crate::world::WorldError;

/// The partitions of one world, by serial.
pub trait Partitions: Send {
    /// The application's connection to partition `serial` (the world wraps it in the
    /// member's fault injector). Called once per partition, in slot order.
    fn application_member(&mut self, serial: &str) -> Result<Box<dyn Member>, WorldError>;

    /// LunaCM's own connection to partition `serial` (another process with its own login,
    /// D22); the world puts it behind the same injector as the application's.
    fn lunacm_member(&self, serial: &str) -> Option<Box<dyn Member>>;

    /// A second connection to partition `serial` as the application's own client (sharing its
    /// login state), for exploration's planted bug where LunaCM borrows the application's
    /// login (`ha_engine::planted`); `None` when the backend has none.
    #[doc(hidden)]
    fn application_client_member(&self, serial: &str) -> Option<Box<dyn Member>> {
        let _ = serial;
        None
    }

    /// Another client process's connection to partition `serial` (`process` counts the
    /// scenario's extra processes from 0), with its own sessions and login; `None` when the
    /// backend cannot open one (the world then refuses the process).
    fn process_member(&self, serial: &str, process: u32) -> Option<Box<dyn Member>> {
        let _ = (serial, process);
        None
    }

    /// The partition's token info read below the injector (a dropped member still shows what
    /// it stores). `None` when it cannot be read.
    fn token_info(&self, serial: &str) -> Option<TokenInfo>;

    /// Applies a fault that acts on the partition (`Deactivate`, `Activate`, `LoginFailure`,
    /// `LoginRestore`).
    fn apply_partition_fault(&mut self, serial: &str, fault: &Fault) -> Result<(), WorldError>;

    /// Where an armed partition-side fault of `serial` is applied when it goes off inside a
    /// member call (the injector calls it); `None` when such faults cannot be armed.
    fn partition_hook(&self, serial: &str) -> Option<PartitionHook>;

    /// True when partition `serial` holds an object labelled `label` now (token or session
    /// object), read below the injectors. Exploration's witness; only the model answers.
    fn holds(&self, serial: &str, label: &str) -> bool {
        let _ = (serial, label);
        false
    }

    /// A fingerprint of partition `serial`'s token object labelled `label` (equal contents,
    /// equal fingerprints), read below the injectors; `None` when it holds none or the backend
    /// cannot tell (only the model answers).
    fn object_fingerprint(&self, serial: &str, label: &str) -> Option<String> {
        let _ = (serial, label);
        None
    }

    /// Partition `serial`'s token objects as `label/class`, sorted; `None` when the backend
    /// cannot tell (only the model answers).
    fn token_labels(&self, serial: &str) -> Option<Vec<String>> {
        let _ = serial;
        None
    }

    /// Partition `serial`'s storage room (free bytes, each token object's size); `None` when
    /// the backend cannot tell (only the model answers).
    fn room(&self, serial: &str) -> Option<Room> {
        let _ = serial;
        None
    }

    /// Partition `serial`'s token data objects as `(label, fingerprint)` (the fingerprint of
    /// [`Partitions::object_fingerprint`], one row per object, duplicates included), sorted;
    /// `None` when the backend cannot tell (only the model answers).
    fn data_fingerprints(&self, serial: &str) -> Option<Vec<(String, String)>> {
        let _ = serial;
        None
    }

    /// Told after the injector applied a transport fault; `after_drop` is true for a
    /// `Restore` of a member whose connection was lost. A real backend reconnects the member
    /// there; the model needs nothing (its injector resets the sessions at the next call).
    fn transport_fault(
        &mut self,
        serial: &str,
        fault: &Fault,
        after_drop: bool,
    ) -> Result<(), WorldError> {
        let _ = (serial, fault, after_drop);
        Ok(())
    }
}

/// The in-process HSM model as a world's partitions.
pub struct ModelPartitions {
    model: Arc<Mutex<HsmModel>>,
}

impl ModelPartitions {
    /// The partitions of `model`.
    pub fn new(model: HsmModel) -> Self {
        ModelPartitions {
            model: Arc::new(Mutex::new(model)),
        }
    }

    /// The model (shared with every connection handed out).
    pub fn model(&self) -> &Arc<Mutex<HsmModel>> {
        &self.model
    }
}

impl Partitions for ModelPartitions {
    fn application_member(&mut self, serial: &str) -> Result<Box<dyn Member>, WorldError> {
        Ok(Box::new(ModelMember::new(
            self.model.clone(),
            serial.to_string(),
        )))
    }

    fn lunacm_member(&self, serial: &str) -> Option<Box<dyn Member>> {
        Some(Box::new(ModelMember::for_client(
            self.model.clone(),
            serial.to_string(),
            LUNACM,
        )))
    }

    fn application_client_member(&self, serial: &str) -> Option<Box<dyn Member>> {
        Some(Box::new(ModelMember::new(
            self.model.clone(),
            serial.to_string(),
        )))
    }

    fn process_member(&self, serial: &str, process: u32) -> Option<Box<dyn Member>> {
        // Client ids 0 and 1 are the application's and LunaCM's.
        let client = LUNACM.checked_add(1)?.checked_add(process)?;
        Some(Box::new(ModelMember::for_client(
            self.model.clone(),
            serial.to_string(),
            client,
        )))
    }

    fn token_info(&self, serial: &str) -> Option<TokenInfo> {
        ModelMember::new(self.model.clone(), serial.to_string())
            .token_info()
            .ok()
    }

    fn apply_partition_fault(&mut self, serial: &str, fault: &Fault) -> Result<(), WorldError> {
        let mut model = self
            .model
            .lock()
            .map_err(|_| WorldError::UnknownMember(serial.to_string()))?;
        let partition = model
            .partition_mut(serial)
            .ok_or_else(|| WorldError::UnknownMember(serial.to_string()))?;
        if apply_on_partition(partition, serial, fault) {
            Ok(())
        } else {
            Err(WorldError::Unsupported(UnsupportedFault(fault.name())))
        }
    }

    fn partition_hook(&self, serial: &str) -> Option<PartitionHook> {
        let model = self.model.clone();
        let serial = serial.to_string();
        Some(Arc::new(move |fault: &Fault| {
            let Ok(mut model) = model.lock() else {
                return;
            };
            if let Some(partition) = model.partition_mut(&serial) {
                apply_on_partition(partition, &serial, fault);
            }
        }))
    }

    fn object_fingerprint(&self, serial: &str, label: &str) -> Option<String> {
        let model = self.model.lock().ok()?;
        model.partition(serial)?.object_fingerprint(label)
    }

    fn data_fingerprints(&self, serial: &str) -> Option<Vec<(String, String)>> {
        let model = self.model.lock().ok()?;
        Some(model.partition(serial)?.data_fingerprints())
    }

    fn holds(&self, serial: &str, label: &str) -> bool {
        let Ok(model) = self.model.lock() else {
            return false;
        };
        model
            .partition(serial)
            .is_some_and(|p| p.objects().any(|o| o.label == label))
    }

    fn token_labels(&self, serial: &str) -> Option<Vec<String>> {
        let model = self.model.lock().ok()?;
        let p = model.partition(serial)?;
        // Straight from the records (no views cloned, no sort by id first): the labels are
        // sorted at the end either way.
        let mut labels: Vec<String> = p
            .objects()
            .filter(|o| o.token)
            .map(|o| {
                let mut text = String::with_capacity(o.label.len() + 12);
                text.push_str(&o.label);
                text.push('/');
                let _ = write!(text, "{:?}", o.class);
                text
            })
            .collect();
        labels.sort_unstable();
        Some(labels)
    }

    fn room(&self, serial: &str) -> Option<Room> {
        let model = self.model.lock().ok()?;
        let p = model.partition(serial)?;
        let mut sizes = BTreeMap::new();
        for o in p.objects().filter(|o| o.token) {
            let size = sizes
                .entry(format!("{}/{:?}", o.label, o.class))
                .or_insert(0);
            *size = o.size.max(*size);
        }
        Some(Room {
            free: p.storage().free,
            sizes,
        })
    }
}

/// A partition-side fault on a partition (B49, B50, B51).
fn apply_on_partition(partition: &mut hsm_model::Partition, serial: &str, fault: &Fault) -> bool {
    match fault {
        Fault::Deactivate => partition.set_activated(false),
        Fault::Activate => partition.set_activated(true),
        // The CO credential changes on the partition (e.g. while it was out of the group),
        // so the group's credential no longer logs in (B49).
        Fault::LoginFailure => partition.set_co_credential(&format!("changed-{serial}")),
        Fault::LoginRestore => partition.restore_co_credential(),
        _ => return false,
    }
    true
}
