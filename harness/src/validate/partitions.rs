//! The partitions of a validate run: the SoftHSM backend's binding of scenario partitions to
//! real tokens (`backend::softhsm::partitions_over_tokens`, here over the operator's tokens in
//! one shared library instance), with two additions:
//!
//! - every member connection writes the id of each object it is about to create into the
//!   journal first ([`GuardedMember`]), so an interrupted run can be cleaned up, and refuses
//!   to create one outside hasim's namespace (`CKR_ARGUMENTS_BAD`);
//! - the operator's own objects (ids outside hasim's namespace) are invisible to the engine
//!   and to LunaCM: `C_FindObjects` never returns them, and a destroy or an export of one is
//!   refused, so no scenario step (a `remove` answer, a synchronisation, a recovery) can
//!   delete, copy or use them;
//! - object counts (read below the injector, and `C_GetTokenInfo` through the port) are
//!   deltas over what the member held before the run (the operator's objects), so a
//!   scenario's `ObjectCounts` mean the same as on fresh tokens.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use ha_engine::Ckr;
use ha_engine::ports::{
    CloneBlob, DataObjectRequest, KeyGenRequest, Member, MemberProperties, MemberResult,
    ObjectHandle, ObjectInfo, ObjectQuery, Secret, SessionHandle, Timeouts, TokenInfo,
};
use sim::fault::Fault;
use sim::fault::injector::PartitionHook;
use sim::partitions::Partitions;
use sim::world::WorldError;

use super::inventory::NAMESPACE;
use super::journal::Journal;
use crate::backend::softhsm::SoftHsmPartitions;

/// Where a journal write failure is kept (the `Member` port can only answer a `CK_RV`).
pub type JournalFailures = Arc<Mutex<Vec<String>>>;

/// A member connection that journals the objects it creates and hides the operator's.
pub struct GuardedMember {
    inner: Box<dyn Member>,
    journal: Journal,
    failures: JournalFailures,
    /// The operator's objects on this member, left out of its object count.
    baseline: u64,
}

impl GuardedMember {
    /// Refuses an id outside hasim's namespace (validate creates nothing else), then journals
    /// it.
    fn note_new(&self, id: &[u8]) -> MemberResult<()> {
        if !id.starts_with(NAMESPACE) {
            return Err(Ckr::CKR_ARGUMENTS_BAD);
        }
        self.note(id)
    }

    fn note(&self, id: &[u8]) -> MemberResult<()> {
        self.journal.append(self.inner.serial(), id).map_err(|e| {
            self.failures
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(e.to_string());
            // Nothing is created that the journal does not name.
            Ckr::CKR_GENERAL_ERROR
        })
    }
}

impl GuardedMember {
    /// True when `object` carries an id in hasim's namespace.
    fn ours(&mut self, session: SessionHandle, object: ObjectHandle) -> MemberResult<bool> {
        let info = self.inner.object_info(session, object)?;
        Ok(info.id.0.starts_with(NAMESPACE))
    }

    /// `CKR_OBJECT_HANDLE_INVALID` for an object that is not hasim's: as far as the engine
    /// can tell, it does not exist.
    fn only_ours(&mut self, session: SessionHandle, object: ObjectHandle) -> MemberResult<()> {
        if self.ours(session, object)? {
            Ok(())
        } else {
            Err(Ckr::CKR_OBJECT_HANDLE_INVALID)
        }
    }
}

impl Member for GuardedMember {
    fn serial(&self) -> &str {
        self.inner.serial()
    }
    fn label(&self) -> Option<&str> {
        self.inner.label()
    }
    fn token_info(&mut self) -> MemberResult<TokenInfo> {
        let mut info = self.inner.token_info()?;
        info.object_count = info.object_count.saturating_sub(self.baseline);
        Ok(info)
    }
    fn open_session(&mut self) -> MemberResult<SessionHandle> {
        self.inner.open_session()
    }
    fn close_session(&mut self, session: SessionHandle) -> MemberResult<()> {
        self.inner.close_session(session)
    }
    fn close_all_sessions(&mut self) -> MemberResult<()> {
        self.inner.close_all_sessions()
    }
    fn login(&mut self, session: SessionHandle, pin: &Secret) -> MemberResult<()> {
        self.inner.login(session, pin)
    }
    fn logout(&mut self, session: SessionHandle) -> MemberResult<()> {
        self.inner.logout(session)
    }
    fn generate_key(
        &mut self,
        session: SessionHandle,
        request: &KeyGenRequest,
    ) -> MemberResult<Vec<ObjectHandle>> {
        self.note_new(&request.id.0)?;
        self.inner.generate_key(session, request)
    }
    fn create_data(
        &mut self,
        session: SessionHandle,
        request: &DataObjectRequest,
    ) -> MemberResult<ObjectHandle> {
        self.note_new(&request.id.0)?;
        self.inner.create_data(session, request)
    }
    fn find_objects(
        &mut self,
        session: SessionHandle,
        query: &ObjectQuery,
    ) -> MemberResult<Vec<ObjectHandle>> {
        let found = self.inner.find_objects(session, query)?;
        let mut ours = Vec::with_capacity(found.len());
        for h in found {
            if self.ours(session, h)? {
                ours.push(h);
            }
        }
        Ok(ours)
    }
    fn object_info(
        &mut self,
        session: SessionHandle,
        object: ObjectHandle,
    ) -> MemberResult<ObjectInfo> {
        self.inner.object_info(session, object)
    }
    fn destroy_object(&mut self, session: SessionHandle, object: ObjectHandle) -> MemberResult<()> {
        self.only_ours(session, object)?;
        self.inner.destroy_object(session, object)
    }
    fn sign(
        &mut self,
        session: SessionHandle,
        key: ObjectHandle,
        data: &[u8],
    ) -> MemberResult<Vec<u8>> {
        self.inner.sign(session, key, data)
    }
    fn encrypt(
        &mut self,
        session: SessionHandle,
        key: ObjectHandle,
        data: &[u8],
    ) -> MemberResult<Vec<u8>> {
        self.inner.encrypt(session, key, data)
    }
    fn export_clone(
        &mut self,
        session: SessionHandle,
        object: ObjectHandle,
    ) -> MemberResult<CloneBlob> {
        self.only_ours(session, object)?;
        self.inner.export_clone(session, object)
    }
    fn import_clone(
        &mut self,
        session: SessionHandle,
        blob: &CloneBlob,
    ) -> MemberResult<ObjectHandle> {
        // A clone's id is inside the sealed blob: journal it as soon as the object exists.
        let h = self.inner.import_clone(session, blob)?;
        let info = self.inner.object_info(session, h)?;
        self.note(&info.id.0)?;
        if !info.id.0.starts_with(NAMESPACE) {
            // Cannot happen (only hasim's objects are exported); never keep a foreign copy.
            let _ = self.inner.destroy_object(session, h);
            return Err(Ckr::CKR_OBJECT_HANDLE_INVALID);
        }
        Ok(h)
    }
    fn sign_init(&mut self, session: SessionHandle, key: ObjectHandle) -> MemberResult<()> {
        self.inner.sign_init(session, key)
    }
    fn sign_update(&mut self, session: SessionHandle, data: &[u8]) -> MemberResult<()> {
        self.inner.sign_update(session, data)
    }
    fn sign_final(&mut self, session: SessionHandle) -> MemberResult<Vec<u8>> {
        self.inner.sign_final(session)
    }
    fn properties(&mut self) -> MemberResult<MemberProperties> {
        self.inner.properties()
    }
    fn set_call_limits(&mut self, limits: Timeouts) {
        self.inner.set_call_limits(limits);
    }
}

/// The SoftHSM binding with journaling members and counts as deltas.
pub struct ValidatePartitions {
    inner: SoftHsmPartitions,
    journal: Journal,
    failures: JournalFailures,
    /// The operator's objects on each member before the run, by serial.
    baseline: BTreeMap<String, u64>,
}

impl ValidatePartitions {
    /// Wraps `inner`.
    pub fn new(
        inner: SoftHsmPartitions,
        journal: Journal,
        failures: JournalFailures,
        baseline: BTreeMap<String, u64>,
    ) -> Self {
        ValidatePartitions {
            inner,
            journal,
            failures,
            baseline,
        }
    }

    fn wrap(&self, inner: Box<dyn Member>) -> Box<dyn Member> {
        let baseline = self.baseline.get(inner.serial()).copied().unwrap_or(0);
        Box::new(GuardedMember {
            inner,
            journal: self.journal.clone(),
            failures: self.failures.clone(),
            baseline,
        })
    }
}

impl Partitions for ValidatePartitions {
    fn application_member(&mut self, serial: &str) -> Result<Box<dyn Member>, WorldError> {
        let m = self.inner.application_member(serial)?;
        Ok(self.wrap(m))
    }

    fn lunacm_member(&self, serial: &str) -> Option<Box<dyn Member>> {
        self.inner.lunacm_member(serial).map(|m| self.wrap(m))
    }

    fn token_info(&self, serial: &str) -> Option<TokenInfo> {
        let mut info = self.inner.token_info(serial)?;
        let before = self.baseline.get(serial).copied().unwrap_or(0);
        info.object_count = info.object_count.saturating_sub(before);
        Some(info)
    }

    fn apply_partition_fault(&mut self, serial: &str, fault: &Fault) -> Result<(), WorldError> {
        self.inner.apply_partition_fault(serial, fault)
    }

    fn partition_hook(&self, serial: &str) -> Option<PartitionHook> {
        self.inner.partition_hook(serial)
    }

    fn transport_fault(
        &mut self,
        serial: &str,
        fault: &Fault,
        after_drop: bool,
    ) -> Result<(), WorldError> {
        self.inner.transport_fault(serial, fault, after_drop)
    }
}
