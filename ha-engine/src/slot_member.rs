//! The engine's own handle on a physical slot: the slot's shared [`MemberRef`] with the client's
//! current [`Timeouts`] passed on every call (B28, B32). The engine calls members through it in
//! its own work (sessions, login, replication, recovery); application calls dispatched with
//! [`crate::failover::Dispatch`] carry the same limits themselves.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::ports::{
    CloneBlob, DataObjectRequest, KeyGenRequest, Member, MemberProperties, MemberRef, MemberResult,
    ObjectHandle, ObjectInfo, ObjectQuery, Secret, SessionHandle, Timeouts, TokenInfo,
};

/// The engine's current call limits, shared by its slot handles. Written only by the engine
/// when its configuration changes.
#[derive(Debug)]
pub(crate) struct LimitsCell {
    receive_ms: AtomicU64,
    /// `u64::MAX` stands for "no `ProbeTimeout`".
    probe_ms: AtomicU64,
}

impl LimitsCell {
    pub(crate) fn new(t: Timeouts) -> Self {
        let cell = LimitsCell {
            receive_ms: AtomicU64::new(0),
            probe_ms: AtomicU64::new(0),
        };
        cell.set(t);
        cell
    }

    pub(crate) fn set(&self, t: Timeouts) {
        self.receive_ms.store(t.receive_ms, Ordering::Relaxed);
        self.probe_ms
            .store(t.probe_ms.unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    pub(crate) fn get(&self) -> Timeouts {
        let probe = self.probe_ms.load(Ordering::Relaxed);
        Timeouts {
            receive_ms: self.receive_ms.load(Ordering::Relaxed),
            probe_ms: (probe != u64::MAX).then_some(probe),
        }
    }
}

/// A slot's member as the engine calls it.
pub(crate) struct SlotMember {
    shared: MemberRef,
    limits: Arc<LimitsCell>,
}

impl SlotMember {
    pub(crate) fn new(shared: MemberRef, limits: Arc<LimitsCell>) -> Self {
        SlotMember { shared, limits }
    }
}

/// Delegates a call to the shared member, limits first.
macro_rules! delegate {
    ($self:ident, |$m:ident| $call:expr) => {{
        let mut $m = $self.shared.lock();
        $m.set_call_limits($self.limits.get());
        $call
    }};
}

impl Member for SlotMember {
    fn serial(&self) -> &str {
        self.shared.serial()
    }
    fn label(&self) -> Option<&str> {
        self.shared.label()
    }
    fn token_info(&mut self) -> MemberResult<TokenInfo> {
        delegate!(self, |m| m.token_info())
    }
    fn open_session(&mut self) -> MemberResult<SessionHandle> {
        delegate!(self, |m| m.open_session())
    }
    fn close_session(&mut self, session: SessionHandle) -> MemberResult<()> {
        delegate!(self, |m| m.close_session(session))
    }
    fn close_all_sessions(&mut self) -> MemberResult<()> {
        delegate!(self, |m| m.close_all_sessions())
    }
    fn login(&mut self, session: SessionHandle, pin: &Secret) -> MemberResult<()> {
        delegate!(self, |m| m.login(session, pin))
    }
    fn logout(&mut self, session: SessionHandle) -> MemberResult<()> {
        delegate!(self, |m| m.logout(session))
    }
    fn generate_key(
        &mut self,
        session: SessionHandle,
        request: &KeyGenRequest,
    ) -> MemberResult<Vec<ObjectHandle>> {
        delegate!(self, |m| m.generate_key(session, request))
    }
    fn create_data(
        &mut self,
        session: SessionHandle,
        request: &DataObjectRequest,
    ) -> MemberResult<ObjectHandle> {
        delegate!(self, |m| m.create_data(session, request))
    }
    fn find_objects(
        &mut self,
        session: SessionHandle,
        query: &ObjectQuery,
    ) -> MemberResult<Vec<ObjectHandle>> {
        delegate!(self, |m| m.find_objects(session, query))
    }
    fn object_info(
        &mut self,
        session: SessionHandle,
        object: ObjectHandle,
    ) -> MemberResult<ObjectInfo> {
        delegate!(self, |m| m.object_info(session, object))
    }
    fn object_info_labelled(
        &mut self,
        session: SessionHandle,
        object: ObjectHandle,
        label: &str,
    ) -> MemberResult<Option<ObjectInfo>> {
        delegate!(self, |m| m.object_info_labelled(session, object, label))
    }
    fn objects_info_labelled(
        &mut self,
        session: SessionHandle,
        objects: &[ObjectHandle],
        label: &str,
    ) -> (Vec<Option<ObjectInfo>>, MemberResult<()>) {
        delegate!(self, |m| m.objects_info_labelled(session, objects, label))
    }
    fn destroy_object(&mut self, session: SessionHandle, object: ObjectHandle) -> MemberResult<()> {
        delegate!(self, |m| m.destroy_object(session, object))
    }
    fn sign(
        &mut self,
        session: SessionHandle,
        key: ObjectHandle,
        data: &[u8],
    ) -> MemberResult<Vec<u8>> {
        delegate!(self, |m| m.sign(session, key, data))
    }
    fn encrypt(
        &mut self,
        session: SessionHandle,
        key: ObjectHandle,
        data: &[u8],
    ) -> MemberResult<Vec<u8>> {
        delegate!(self, |m| m.encrypt(session, key, data))
    }
    fn export_clone(
        &mut self,
        session: SessionHandle,
        object: ObjectHandle,
    ) -> MemberResult<CloneBlob> {
        delegate!(self, |m| m.export_clone(session, object))
    }
    fn import_clone(
        &mut self,
        session: SessionHandle,
        blob: &CloneBlob,
    ) -> MemberResult<ObjectHandle> {
        delegate!(self, |m| m.import_clone(session, blob))
    }
    fn sign_init(&mut self, session: SessionHandle, key: ObjectHandle) -> MemberResult<()> {
        delegate!(self, |m| m.sign_init(session, key))
    }
    fn set_value(
        &mut self,
        session: SessionHandle,
        object: ObjectHandle,
        value: &[u8],
    ) -> MemberResult<()> {
        delegate!(self, |m| m.set_value(session, object, value))
    }
    fn sign_update(&mut self, session: SessionHandle, data: &[u8]) -> MemberResult<()> {
        delegate!(self, |m| m.sign_update(session, data))
    }
    fn sign_final(&mut self, session: SessionHandle) -> MemberResult<Vec<u8>> {
        delegate!(self, |m| m.sign_final(session))
    }
    fn properties(&mut self) -> MemberResult<MemberProperties> {
        delegate!(self, |m| m.properties())
    }
    fn set_call_limits(&mut self, limits: Timeouts) {
        // The engine's limits are the ones that count; nothing to keep.
        let _ = limits;
    }
}
