//! Test partitions for the `hagroup` tests: the engine's fake members
//! ([`crate::test_support`]) given the vendor `properties` extension (so the prerequisites can
//! be exercised), plus an engine and LunaCM built over them, a way to run a command line, and a
//! wrapper of LunaCM's connection that makes destroys fail part way ([`fail_destroys_after`])
//! or counts the sessions LunaCM opens on a member ([`count_sessions`]).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::hagroup::CommandOutput;
use crate::test_support::{FakeControl, Fixture, fixture};
use ha_engine::ckr::Ckr;
use ha_engine::ports::{
    AuthKind, CloneBlob, DataObjectRequest, HsmForm, KeyGenRequest, Member, MemberProperties,
    MemberResult, ObjectHandle, ObjectInfo, ObjectQuery, Secret, SessionHandle, TokenInfo,
};

/// The CO credential of every test partition unless changed.
pub(crate) const CO: &str = crate::test_support::FIXTURE_CO;

/// Default properties: a Network HSM `hsm-<serial>` on 7.7.0 with the B9 policies on.
pub(crate) fn props(serial: &str) -> MemberProperties {
    MemberProperties {
        hsm_serial: format!("hsm-{serial}"),
        form: HsmForm::Network,
        firmware: (7, 7, 0),
        auth: AuthKind::Password,
        hsm_policies: BTreeMap::from([(7, 1), (12, 0), (16, 1), (21, 0)]),
        partition_policies: BTreeMap::from([(0, 1), (4, 1), (22, 0)]),
        domain_fingerprint: "dom1-fp".to_string(),
        activated: true,
        co_credential_changed: true,
        v1: false,
        activation_fingerprint: None,
    }
}

/// An engine and LunaCM over test partitions with these serials, in slot order, and their
/// controls.
pub(crate) fn engine(serials: &[&str]) -> (Fixture, Vec<FakeControl>) {
    let f = fixture(serials);
    for (control, serial) in f.controls.iter().zip(serials) {
        control.set_props(props(serial));
    }
    let controls = f.controls.clone();
    (f, controls)
}

/// Runs a line with the test credential.
pub(crate) fn run(f: &mut Fixture, line: &str) -> CommandOutput {
    f.cm.execute(&mut f.engine, 0, line, Some(&Secret::new(CO)))
}

/// A wrapped member: counts the sessions opened on it and, when `destroys_left` is set, fails
/// `C_DestroyObject` with `CKR_DEVICE_ERROR` once that many destroys succeeded; every call
/// goes to the wrapped member.
pub(crate) struct Wrapped {
    inner: Box<dyn Member>,
    destroys_left: Option<u32>,
    sessions: Arc<AtomicU32>,
}

fn wrap(f: &mut Fixture, slot: usize, destroys_left: Option<u32>) -> Arc<AtomicU32> {
    let sessions = Arc::new(AtomicU32::new(0));
    let inner = std::mem::replace(&mut f.cm.members[slot], Box::new(Gone));
    f.cm.members[slot] = Box::new(Wrapped {
        inner,
        destroys_left,
        sessions: Arc::clone(&sessions),
    });
    sessions
}

/// Wraps LunaCM's connection to physical slot `slot` so that its destroys fail after `n`
/// succeeded.
pub(crate) fn fail_destroys_after(f: &mut Fixture, slot: usize, n: u32) {
    wrap(f, slot, Some(n));
}

/// Wraps LunaCM's connection to physical slot `slot`; the counter tells how many sessions
/// LunaCM opened on it from now on.
pub(crate) fn count_sessions(f: &mut Fixture, slot: usize) -> Arc<AtomicU32> {
    wrap(f, slot, None)
}

/// Stands in for a moment while a member is being wrapped.
struct Gone;

impl Member for Gone {
    fn serial(&self) -> &str {
        ""
    }
    fn token_info(&mut self) -> MemberResult<TokenInfo> {
        Err(Ckr::CKR_DEVICE_ERROR)
    }
    fn open_session(&mut self) -> MemberResult<SessionHandle> {
        Err(Ckr::CKR_DEVICE_ERROR)
    }
    fn close_session(&mut self, _: SessionHandle) -> MemberResult<()> {
        Err(Ckr::CKR_DEVICE_ERROR)
    }
    fn close_all_sessions(&mut self) -> MemberResult<()> {
        Err(Ckr::CKR_DEVICE_ERROR)
    }
    fn login(&mut self, _: SessionHandle, _: &Secret) -> MemberResult<()> {
        Err(Ckr::CKR_DEVICE_ERROR)
    }
    fn logout(&mut self, _: SessionHandle) -> MemberResult<()> {
        Err(Ckr::CKR_DEVICE_ERROR)
    }
    fn generate_key(&mut self, _: SessionHandle, _: &KeyGenRequest) -> MemberResult<Vec<u64>> {
        Err(Ckr::CKR_DEVICE_ERROR)
    }
    fn create_data(&mut self, _: SessionHandle, _: &DataObjectRequest) -> MemberResult<u64> {
        Err(Ckr::CKR_DEVICE_ERROR)
    }
    fn find_objects(&mut self, _: SessionHandle, _: &ObjectQuery) -> MemberResult<Vec<u64>> {
        Err(Ckr::CKR_DEVICE_ERROR)
    }
    fn object_info(&mut self, _: SessionHandle, _: ObjectHandle) -> MemberResult<ObjectInfo> {
        Err(Ckr::CKR_DEVICE_ERROR)
    }
    fn destroy_object(&mut self, _: SessionHandle, _: ObjectHandle) -> MemberResult<()> {
        Err(Ckr::CKR_DEVICE_ERROR)
    }
    fn sign(&mut self, _: SessionHandle, _: ObjectHandle, _: &[u8]) -> MemberResult<Vec<u8>> {
        Err(Ckr::CKR_DEVICE_ERROR)
    }
    fn encrypt(&mut self, _: SessionHandle, _: ObjectHandle, _: &[u8]) -> MemberResult<Vec<u8>> {
        Err(Ckr::CKR_DEVICE_ERROR)
    }
    fn export_clone(&mut self, _: SessionHandle, _: ObjectHandle) -> MemberResult<CloneBlob> {
        Err(Ckr::CKR_DEVICE_ERROR)
    }
    fn import_clone(&mut self, _: SessionHandle, _: &CloneBlob) -> MemberResult<ObjectHandle> {
        Err(Ckr::CKR_DEVICE_ERROR)
    }
}

impl Member for Wrapped {
    fn serial(&self) -> &str {
        self.inner.serial()
    }
    fn label(&self) -> Option<&str> {
        self.inner.label()
    }
    fn token_info(&mut self) -> MemberResult<TokenInfo> {
        self.inner.token_info()
    }
    fn open_session(&mut self) -> MemberResult<SessionHandle> {
        self.sessions.fetch_add(1, Ordering::Relaxed);
        self.inner.open_session()
    }
    fn close_session(&mut self, s: SessionHandle) -> MemberResult<()> {
        self.inner.close_session(s)
    }
    fn close_all_sessions(&mut self) -> MemberResult<()> {
        self.inner.close_all_sessions()
    }
    fn login(&mut self, s: SessionHandle, pin: &Secret) -> MemberResult<()> {
        self.inner.login(s, pin)
    }
    fn logout(&mut self, s: SessionHandle) -> MemberResult<()> {
        self.inner.logout(s)
    }
    fn generate_key(&mut self, s: SessionHandle, r: &KeyGenRequest) -> MemberResult<Vec<u64>> {
        self.inner.generate_key(s, r)
    }
    fn create_data(&mut self, s: SessionHandle, r: &DataObjectRequest) -> MemberResult<u64> {
        self.inner.create_data(s, r)
    }
    fn find_objects(&mut self, s: SessionHandle, q: &ObjectQuery) -> MemberResult<Vec<u64>> {
        self.inner.find_objects(s, q)
    }
    fn object_info(&mut self, s: SessionHandle, o: ObjectHandle) -> MemberResult<ObjectInfo> {
        self.inner.object_info(s, o)
    }
    fn destroy_object(&mut self, s: SessionHandle, o: ObjectHandle) -> MemberResult<()> {
        match self.destroys_left.as_mut() {
            Some(0) => return Err(Ckr::CKR_DEVICE_ERROR),
            Some(left) => *left -= 1,
            None => {}
        }
        self.inner.destroy_object(s, o)
    }
    fn sign(&mut self, s: SessionHandle, k: ObjectHandle, d: &[u8]) -> MemberResult<Vec<u8>> {
        self.inner.sign(s, k, d)
    }
    fn encrypt(&mut self, s: SessionHandle, k: ObjectHandle, d: &[u8]) -> MemberResult<Vec<u8>> {
        self.inner.encrypt(s, k, d)
    }
    fn export_clone(&mut self, s: SessionHandle, o: ObjectHandle) -> MemberResult<CloneBlob> {
        self.inner.export_clone(s, o)
    }
    fn import_clone(&mut self, s: SessionHandle, b: &CloneBlob) -> MemberResult<ObjectHandle> {
        self.inner.import_clone(s, b)
    }
    fn properties(&mut self) -> MemberResult<MemberProperties> {
        self.inner.properties()
    }
}
