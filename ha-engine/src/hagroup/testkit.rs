//! Test-only partitions for the `hagroup` tests: an in-memory [`Member`] that reports
//! [`MemberProperties`] (so the prerequisites can be exercised), refuses to export a private
//! key when its partition policy 0 is off (as a Luna partition does), and can be made
//! unreachable; plus an engine built over such members.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::ckr::Ckr;
use crate::engine::HaEngine;
use crate::hagroup::{CommandOutput, execute};
use crate::ports::{
    AuthKind, Calendar, CivilTime, CloneBlob, DataObjectRequest, HsmForm, KeyGenRequest, LogSink,
    Member, MemberProperties, MemberResult, Millis, ObjectClass, ObjectHandle, ObjectId,
    ObjectInfo, ObjectQuery, Secret, SessionHandle, SinkError, TokenInfo,
};

/// The CO credential of every test partition unless changed.
pub(crate) const CO: &str = "testkit-co";

#[derive(Debug)]
pub(crate) struct State {
    pub(crate) props: MemberProperties,
    pub(crate) pin: String,
    pub(crate) reachable: bool,
    sessions: BTreeSet<SessionHandle>,
    logged_in: bool,
    next: u64,
    objects: BTreeMap<ObjectHandle, (ObjectId, ObjectClass)>,
}

/// Steers one test partition.
#[derive(Clone, Debug)]
pub(crate) struct Control(Arc<Mutex<State>>);

impl Control {
    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        match self.0.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Puts a token object on the partition directly (as if made before it joined).
    pub(crate) fn put(&self, id: &str, class: ObjectClass) {
        let mut st = self.state();
        st.next += 1;
        let h = st.next;
        st.objects
            .insert(h, (ObjectId(id.as_bytes().to_vec()), class));
    }

    /// The (id, class) pairs held, sorted.
    pub(crate) fn held(&self) -> Vec<(String, ObjectClass)> {
        let mut out: Vec<_> = self
            .state()
            .objects
            .values()
            .map(|(id, c)| (id.to_string(), *c))
            .collect();
        out.sort();
        out
    }
}

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

struct TestMember {
    serial: String,
    control: Control,
}

impl TestMember {
    fn with<T>(&self, f: impl FnOnce(&mut State) -> MemberResult<T>) -> MemberResult<T> {
        let mut st = self.control.state();
        if !st.reachable {
            return Err(Ckr::CKR_DEVICE_ERROR);
        }
        f(&mut st)
    }
}

fn session(st: &State, s: SessionHandle) -> MemberResult<()> {
    if st.sessions.contains(&s) {
        Ok(())
    } else {
        Err(Ckr::CKR_SESSION_HANDLE_INVALID)
    }
}

fn logged(st: &State, s: SessionHandle) -> MemberResult<()> {
    session(st, s)?;
    if st.logged_in {
        Ok(())
    } else {
        Err(Ckr::CKR_USER_NOT_LOGGED_IN)
    }
}

fn code(class: ObjectClass) -> u8 {
    match class {
        ObjectClass::Data => 0,
        ObjectClass::SecretKey => 1,
        ObjectClass::PrivateKey => 2,
        ObjectClass::PublicKey => 3,
    }
}

impl Member for TestMember {
    fn serial(&self) -> &str {
        &self.serial
    }

    fn token_info(&mut self) -> MemberResult<TokenInfo> {
        let serial = self.serial.clone();
        self.with(|st| {
            Ok(TokenInfo {
                label: format!("par-{serial}"),
                serial,
                total_storage: 1000,
                used_storage: 0,
                free_storage: 1000,
                object_count: st.objects.len() as u64,
                overhead: 0,
                protected_auth_path: false,
            })
        })
    }

    fn open_session(&mut self) -> MemberResult<SessionHandle> {
        self.with(|st| {
            st.next += 1;
            st.sessions.insert(st.next);
            Ok(st.next)
        })
    }

    fn close_session(&mut self, s: SessionHandle) -> MemberResult<()> {
        self.with(|st| {
            session(st, s)?;
            st.sessions.remove(&s);
            if st.sessions.is_empty() {
                st.logged_in = false;
            }
            Ok(())
        })
    }

    fn close_all_sessions(&mut self) -> MemberResult<()> {
        self.with(|st| {
            st.sessions.clear();
            st.logged_in = false;
            Ok(())
        })
    }

    fn login(&mut self, s: SessionHandle, pin: &Secret) -> MemberResult<()> {
        self.with(|st| {
            session(st, s)?;
            if st.logged_in {
                return Err(Ckr::CKR_USER_ALREADY_LOGGED_IN);
            }
            if pin.expose() != st.pin {
                return Err(Ckr::CKR_PIN_INCORRECT);
            }
            st.logged_in = true;
            Ok(())
        })
    }

    fn logout(&mut self, s: SessionHandle) -> MemberResult<()> {
        self.with(|st| {
            logged(st, s)?;
            st.logged_in = false;
            Ok(())
        })
    }

    fn generate_key(
        &mut self,
        _s: SessionHandle,
        _r: &KeyGenRequest,
    ) -> MemberResult<Vec<ObjectHandle>> {
        Err(Ckr::CKR_FUNCTION_NOT_SUPPORTED)
    }

    fn create_data(&mut self, _s: SessionHandle, _r: &DataObjectRequest) -> MemberResult<u64> {
        Err(Ckr::CKR_FUNCTION_NOT_SUPPORTED)
    }

    fn find_objects(
        &mut self,
        s: SessionHandle,
        query: &ObjectQuery,
    ) -> MemberResult<Vec<ObjectHandle>> {
        self.with(|st| {
            logged(st, s)?;
            Ok(st
                .objects
                .iter()
                .filter(|(_, (id, class))| {
                    query.id.as_ref().is_none_or(|q| q == id)
                        && query.class.is_none_or(|q| q == *class)
                })
                .map(|(h, _)| *h)
                .collect())
        })
    }

    fn object_info(&mut self, s: SessionHandle, h: ObjectHandle) -> MemberResult<ObjectInfo> {
        self.with(|st| {
            logged(st, s)?;
            let (id, class) = st.objects.get(&h).ok_or(Ckr::CKR_OBJECT_HANDLE_INVALID)?;
            Ok(ObjectInfo {
                id: id.clone(),
                class: *class,
                label: String::new(),
                token: true,
            })
        })
    }

    fn destroy_object(&mut self, s: SessionHandle, h: ObjectHandle) -> MemberResult<()> {
        self.with(|st| {
            logged(st, s)?;
            st.objects
                .remove(&h)
                .map(|_| ())
                .ok_or(Ckr::CKR_OBJECT_HANDLE_INVALID)
        })
    }

    fn sign(&mut self, _s: SessionHandle, _k: ObjectHandle, _d: &[u8]) -> MemberResult<Vec<u8>> {
        Err(Ckr::CKR_FUNCTION_NOT_SUPPORTED)
    }

    fn encrypt(&mut self, _s: SessionHandle, _k: ObjectHandle, _d: &[u8]) -> MemberResult<Vec<u8>> {
        Err(Ckr::CKR_FUNCTION_NOT_SUPPORTED)
    }

    fn export_clone(&mut self, s: SessionHandle, h: ObjectHandle) -> MemberResult<CloneBlob> {
        self.with(|st| {
            logged(st, s)?;
            let (id, class) = st.objects.get(&h).ok_or(Ckr::CKR_OBJECT_HANDLE_INVALID)?;
            let policy0 = st.props.partition_policies.get(&0).copied().unwrap_or(0);
            if *class == ObjectClass::PrivateKey && policy0 == 0 {
                return Err(Ckr::CKR_KEY_UNEXTRACTABLE);
            }
            let mut blob = vec![code(*class)];
            blob.extend_from_slice(&id.0);
            Ok(CloneBlob(blob))
        })
    }

    fn import_clone(&mut self, s: SessionHandle, blob: &CloneBlob) -> MemberResult<ObjectHandle> {
        self.with(|st| {
            logged(st, s)?;
            let [c, id @ ..] = blob.0.as_slice() else {
                return Err(Ckr::CKR_WRAPPED_KEY_INVALID);
            };
            let class = match c {
                0 => ObjectClass::Data,
                1 => ObjectClass::SecretKey,
                2 => ObjectClass::PrivateKey,
                _ => ObjectClass::PublicKey,
            };
            st.next += 1;
            let h = st.next;
            st.objects.insert(h, (ObjectId(id.to_vec()), class));
            Ok(h)
        })
    }

    fn properties(&mut self) -> MemberResult<MemberProperties> {
        self.with(|st| Ok(st.props.clone()))
    }
}

struct Clock;

impl Calendar for Clock {
    fn local_time(&self, _now: Millis) -> CivilTime {
        CivilTime {
            year: 2017,
            month: 10,
            day: 4,
            hour: 16,
            minute: 29,
            second: 21,
            weekday: 3,
        }
    }
}

struct NoSink;

impl LogSink for NoSink {
    fn dir_exists(&self, dir: &str) -> bool {
        dir == "/ha-logs"
    }
    fn file_exists(&self, _path: &str) -> bool {
        false
    }
    fn file_len(&self, _path: &str) -> u64 {
        0
    }
    fn append(&mut self, _path: &str, _text: &str) -> Result<(), SinkError> {
        Ok(())
    }
    fn rename(&mut self, _from: &str, _to: &str) -> Result<(), SinkError> {
        Ok(())
    }
}

/// An engine over test partitions with these serials, in slot order, and their controls.
pub(crate) fn engine(serials: &[&str]) -> (HaEngine, Vec<Control>) {
    let mut controls = Vec::new();
    let mut members: Vec<Box<dyn Member>> = Vec::new();
    for serial in serials {
        let control = Control(Arc::new(Mutex::new(State {
            props: props(serial),
            pin: CO.to_string(),
            reachable: true,
            sessions: BTreeSet::new(),
            logged_in: false,
            next: 0,
            objects: BTreeMap::new(),
        })));
        controls.push(control.clone());
        members.push(Box::new(TestMember {
            serial: (*serial).to_string(),
            control,
        }));
    }
    let engine = HaEngine::new(members, Box::new(Clock), Box::new(NoSink), 1);
    (engine, controls)
}

/// Runs a line with the test credential.
pub(crate) fn run(engine: &mut HaEngine, line: &str) -> CommandOutput {
    execute(engine, 0, line, Some(&Secret::new(CO)))
}
