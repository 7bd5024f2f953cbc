//! Test-only fakes for the engine's unit tests and, through the `test-support` feature, the
//! `lunacm` crate's: an in-memory [`Member`] with a reachability switch and Luna-like storage
//! figures, a fixed [`Calendar`], a [`LogSink`] that keeps lines, and a configuration helper
//! ([`group_config`]). The in-process HSM model lives in another crate (`hsm-model`), which this
//! crate must not depend on.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed unwrap is a failed test

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use crate::ckr::Ckr;
use crate::engine::HaEngine;
use crate::ports::{
    Calendar, CivilTime, CloneBlob, DataObjectRequest, KeyGenRequest, LogSink, Member,
    MemberProperties, MemberResult, Millis, ObjectClass, ObjectHandle, ObjectId, ObjectInfo,
    ObjectQuery, Secret, SessionHandle, SinkError, TokenInfo,
};

/// The CO credential every fake member accepts.
pub const FIXTURE_CO: &str = "fixture-co";

/// Total storage of a fake partition (the §3.5 sample's figure).
pub const TOTAL: u64 = 325_896;
/// Overhead of a fake partition (the §3.5 sample's figure).
pub const OVERHEAD: u64 = 9_648;
/// Bytes every fake token object takes.
pub const OBJECT_SIZE: u64 = 528;

#[derive(Clone, Debug)]
struct FakeObject {
    id: ObjectId,
    class: ObjectClass,
    label: String,
    token: bool,
}

/// Runs inside a `sign` call before the member answers, outside the member's state lock; a
/// `false` makes the call fail with `CKR_FUNCTION_FAILED`.
pub type SignGate = Arc<dyn Fn() -> bool + Send + Sync>;

/// A [`SignGate`] in the member's state.
#[derive(Clone)]
struct Gate(SignGate);

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Gate")
    }
}

#[derive(Debug, Default)]
struct FakeState {
    /// See [`FakeControl::set_sign_gate`].
    sign_gate: Option<Gate>,
    /// What the vendor `properties` extension reports; `None`: the member does not have it.
    props: Option<MemberProperties>,
    /// The CO credential; `None`: [`FIXTURE_CO`].
    pin: Option<String>,
    unreachable: bool,
    sessions: BTreeSet<SessionHandle>,
    next: u64,
    logged_in: bool,
    objects: BTreeMap<ObjectHandle, FakeObject>,
}

/// Switches a fake member on and off and reads what it holds.
#[derive(Clone, Debug, Default)]
pub struct FakeControl(Arc<Mutex<FakeState>>);

impl FakeControl {
    fn state(&self) -> std::sync::MutexGuard<'_, FakeState> {
        match self.0.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Makes every `sign` call run `gate` first (e.g. wait for another call to be in flight).
    pub fn set_sign_gate(&self, gate: SignGate) {
        self.state().sign_gate = Some(Gate(gate));
    }

    /// Makes the member answer every call with `CKR_DEVICE_ERROR` (or answer again).
    pub fn set_reachable(&self, reachable: bool) {
        self.state().unreachable = !reachable;
    }

    /// Token objects held.
    pub fn token_objects(&self) -> usize {
        self.state().objects.values().filter(|o| o.token).count()
    }

    /// Gives the member the vendor `properties` extension with these properties.
    pub fn set_props(&self, props: MemberProperties) {
        self.state().props = Some(props);
    }

    /// Changes the member's properties (it must have them, see [`FakeControl::set_props`]).
    pub fn edit_props(&self, edit: impl FnOnce(&mut MemberProperties)) {
        if let Some(props) = self.state().props.as_mut() {
            edit(props);
        }
    }

    /// Changes the member's CO credential.
    pub fn set_pin(&self, pin: &str) {
        self.state().pin = Some(pin.to_string());
    }

    /// Puts a token object on the member directly (as if made before it joined a group).
    pub fn put(&self, id: &str, class: ObjectClass) {
        let mut st = self.state();
        add(
            &mut st,
            FakeObject {
                id: ObjectId(id.as_bytes().to_vec()),
                class,
                label: String::new(),
                token: true,
            },
        );
    }

    /// The (id, class) pairs of the token objects held, sorted.
    pub fn held(&self) -> Vec<(String, ObjectClass)> {
        let mut out: Vec<_> = self
            .state()
            .objects
            .values()
            .filter(|o| o.token)
            .map(|o| (o.id.to_string(), o.class))
            .collect();
        out.sort();
        out
    }
}

/// An in-memory partition behind the `Member` port.
pub struct FakeMember {
    serial: String,
    label: String,
    control: FakeControl,
}

impl FakeMember {
    fn with<T>(&self, f: impl FnOnce(&mut FakeState) -> MemberResult<T>) -> MemberResult<T> {
        let mut st = self.control.state();
        if st.unreachable {
            return Err(Ckr::CKR_DEVICE_ERROR);
        }
        f(&mut st)
    }
}

fn check_session(st: &FakeState, s: SessionHandle) -> MemberResult<()> {
    if st.sessions.contains(&s) {
        Ok(())
    } else {
        Err(Ckr::CKR_SESSION_HANDLE_INVALID)
    }
}

fn check_login(st: &FakeState, s: SessionHandle) -> MemberResult<()> {
    check_session(st, s)?;
    if st.logged_in {
        Ok(())
    } else {
        Err(Ckr::CKR_USER_NOT_LOGGED_IN)
    }
}

fn add(st: &mut FakeState, object: FakeObject) -> ObjectHandle {
    st.next += 1;
    st.objects.insert(st.next, object);
    st.next
}

fn class_code(class: ObjectClass) -> u8 {
    match class {
        ObjectClass::Data => 0,
        ObjectClass::SecretKey => 1,
        ObjectClass::PrivateKey => 2,
        ObjectClass::PublicKey => 3,
    }
}

fn class_of(code: u8) -> ObjectClass {
    match code {
        0 => ObjectClass::Data,
        1 => ObjectClass::SecretKey,
        2 => ObjectClass::PrivateKey,
        _ => ObjectClass::PublicKey,
    }
}

impl Member for FakeMember {
    fn serial(&self) -> &str {
        &self.serial
    }

    fn label(&self) -> Option<&str> {
        Some(&self.label)
    }

    fn token_info(&mut self) -> MemberResult<TokenInfo> {
        let (serial, label) = (self.serial.clone(), self.label.clone());
        self.with(|st| {
            let count = st.objects.values().filter(|o| o.token).count() as u64;
            let used = OVERHEAD + count * OBJECT_SIZE;
            Ok(TokenInfo {
                serial,
                label,
                total_storage: TOTAL,
                used_storage: used,
                free_storage: TOTAL - used,
                object_count: count,
                overhead: OVERHEAD,
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

    fn close_session(&mut self, session: SessionHandle) -> MemberResult<()> {
        self.with(|st| {
            check_session(st, session)?;
            st.sessions.remove(&session);
            if st.sessions.is_empty() {
                st.logged_in = false;
                st.objects.retain(|_, o| o.token);
            }
            Ok(())
        })
    }

    fn close_all_sessions(&mut self) -> MemberResult<()> {
        self.with(|st| {
            st.sessions.clear();
            st.logged_in = false;
            st.objects.retain(|_, o| o.token);
            Ok(())
        })
    }

    fn login(&mut self, session: SessionHandle, pin: &Secret) -> MemberResult<()> {
        self.with(|st| {
            check_session(st, session)?;
            if st.logged_in {
                return Err(Ckr::CKR_USER_ALREADY_LOGGED_IN);
            }
            if pin.expose() != st.pin.as_deref().unwrap_or(FIXTURE_CO) {
                return Err(Ckr::CKR_PIN_INCORRECT);
            }
            st.logged_in = true;
            Ok(())
        })
    }

    fn logout(&mut self, session: SessionHandle) -> MemberResult<()> {
        self.with(|st| {
            check_login(st, session)?;
            st.logged_in = false;
            Ok(())
        })
    }

    fn generate_key(
        &mut self,
        session: SessionHandle,
        request: &KeyGenRequest,
    ) -> MemberResult<Vec<ObjectHandle>> {
        self.with(|st| {
            check_login(st, session)?;
            let classes = if request.kind.is_pair() {
                vec![ObjectClass::PrivateKey, ObjectClass::PublicKey]
            } else {
                vec![ObjectClass::SecretKey]
            };
            Ok(classes
                .into_iter()
                .map(|class| {
                    add(
                        st,
                        FakeObject {
                            id: request.id.clone(),
                            class,
                            label: request.label.clone(),
                            token: request.token,
                        },
                    )
                })
                .collect())
        })
    }

    fn create_data(
        &mut self,
        session: SessionHandle,
        request: &DataObjectRequest,
    ) -> MemberResult<ObjectHandle> {
        self.with(|st| {
            check_login(st, session)?;
            Ok(add(
                st,
                FakeObject {
                    id: request.id.clone(),
                    class: ObjectClass::Data,
                    label: request.label.clone(),
                    token: request.token,
                },
            ))
        })
    }

    fn find_objects(
        &mut self,
        session: SessionHandle,
        query: &ObjectQuery,
    ) -> MemberResult<Vec<ObjectHandle>> {
        self.with(|st| {
            check_login(st, session)?;
            Ok(st
                .objects
                .iter()
                .filter(|(_, o)| {
                    query.id.as_ref().is_none_or(|id| *id == o.id)
                        && query.class.is_none_or(|c| c == o.class)
                        && query.token.is_none_or(|t| t == o.token)
                        && query.label.as_ref().is_none_or(|l| *l == o.label)
                })
                .map(|(h, _)| *h)
                .collect())
        })
    }

    fn object_info(
        &mut self,
        session: SessionHandle,
        object: ObjectHandle,
    ) -> MemberResult<ObjectInfo> {
        self.with(|st| {
            check_login(st, session)?;
            let o = st
                .objects
                .get(&object)
                .ok_or(Ckr::CKR_OBJECT_HANDLE_INVALID)?;
            Ok(ObjectInfo {
                id: o.id.clone(),
                class: o.class,
                label: o.label.clone(),
                token: o.token,
            })
        })
    }

    fn destroy_object(&mut self, session: SessionHandle, object: ObjectHandle) -> MemberResult<()> {
        self.with(|st| {
            check_login(st, session)?;
            st.objects
                .remove(&object)
                .map(|_| ())
                .ok_or(Ckr::CKR_OBJECT_HANDLE_INVALID)
        })
    }

    fn sign(
        &mut self,
        session: SessionHandle,
        key: ObjectHandle,
        data: &[u8],
    ) -> MemberResult<Vec<u8>> {
        let gate = self.control.state().sign_gate.clone();
        if let Some(Gate(gate)) = gate
            && !gate()
        {
            return Err(Ckr::CKR_FUNCTION_FAILED);
        }
        self.with(|st| {
            check_login(st, session)?;
            st.objects
                .get(&key)
                .map(|_| data.to_vec())
                .ok_or(Ckr::CKR_KEY_HANDLE_INVALID)
        })
    }

    fn encrypt(
        &mut self,
        session: SessionHandle,
        key: ObjectHandle,
        data: &[u8],
    ) -> MemberResult<Vec<u8>> {
        self.sign(session, key, data)
    }

    fn properties(&mut self) -> MemberResult<MemberProperties> {
        self.with(|st| st.props.clone().ok_or(Ckr::CKR_FUNCTION_NOT_SUPPORTED))
    }

    fn export_clone(
        &mut self,
        session: SessionHandle,
        object: ObjectHandle,
    ) -> MemberResult<CloneBlob> {
        self.with(|st| {
            check_login(st, session)?;
            let o = st
                .objects
                .get(&object)
                .ok_or(Ckr::CKR_OBJECT_HANDLE_INVALID)?;
            // A Luna partition refuses to clone a private key out when its policy 0 is off.
            let no_private_cloning = st
                .props
                .as_ref()
                .is_some_and(|p| p.partition_policies.get(&0).copied().unwrap_or(0) == 0);
            if o.class == ObjectClass::PrivateKey && no_private_cloning {
                return Err(Ckr::CKR_KEY_UNEXTRACTABLE);
            }
            let mut bytes = vec![class_code(o.class), u8::from(o.token)];
            bytes.extend_from_slice(&o.id.0);
            bytes.push(0);
            bytes.extend_from_slice(o.label.as_bytes());
            Ok(CloneBlob(bytes))
        })
    }

    fn import_clone(
        &mut self,
        session: SessionHandle,
        blob: &CloneBlob,
    ) -> MemberResult<ObjectHandle> {
        self.with(|st| {
            check_login(st, session)?;
            let [class, token, rest @ ..] = blob.0.as_slice() else {
                return Err(Ckr::CKR_WRAPPED_KEY_INVALID);
            };
            let split = rest.iter().position(|b| *b == 0).unwrap_or(rest.len());
            let (id, label) = rest.split_at(split);
            let label = label.get(1..).unwrap_or_default();
            Ok(add(
                st,
                FakeObject {
                    id: ObjectId(id.to_vec()),
                    class: class_of(*class),
                    label: String::from_utf8_lossy(label).into_owned(),
                    token: *token == 1,
                },
            ))
        })
    }
}

struct FixedCalendar;

impl Calendar for FixedCalendar {
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

/// A sink with one directory, `/ha-logs`, keeping what is appended.
#[derive(Clone, Default)]
pub struct MemorySink(Arc<Mutex<BTreeMap<String, String>>>);

impl MemorySink {
    fn files(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, String>> {
        match self.0.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Every line written to any file, in file order.
    pub fn lines(&self) -> Vec<String> {
        self.files()
            .values()
            .flat_map(|t| t.lines().map(str::to_string).collect::<Vec<_>>())
            .collect()
    }
}

impl LogSink for MemorySink {
    fn dir_exists(&self, dir: &str) -> bool {
        dir == "/ha-logs"
    }

    fn file_exists(&self, path: &str) -> bool {
        self.files().contains_key(path)
    }

    fn file_len(&self, path: &str) -> u64 {
        self.files().get(path).map_or(0, |t| t.len() as u64)
    }

    fn append(&mut self, path: &str, text: &str) -> Result<(), SinkError> {
        self.files()
            .entry(path.to_string())
            .or_default()
            .push_str(text);
        Ok(())
    }

    fn rename(&mut self, from: &str, to: &str) -> Result<(), SinkError> {
        let mut files = self.files();
        let text = files.remove(from).unwrap_or_default();
        files.insert(to.to_string(), text);
        Ok(())
    }
}

/// A test engine and the handles that steer it.
pub struct Fixture {
    /// The engine.
    pub engine: HaEngine,
    /// One control per physical slot, in slot order.
    pub controls: Vec<FakeControl>,
    /// The HA log.
    pub sink: MemorySink,
}

/// An engine over fake members with these serials (labels `label-<serial>`), in slot order.
pub fn fixture(serials: &[&str]) -> Fixture {
    let mut controls = Vec::new();
    let mut members: Vec<Box<dyn Member>> = Vec::new();
    for serial in serials {
        let control = FakeControl::default();
        members.push(connection(&control, serial));
        controls.push(control);
    }
    let sink = MemorySink::default();
    let engine = HaEngine::new(
        members,
        Box::new(FixedCalendar),
        Box::new(sink.clone()),
        17469,
    );
    Fixture {
        engine,
        controls,
        sink,
    }
}

/// Another connection to the fake member of `control` (e.g. LunaCM's own, beside the
/// application's): it shares the member's state, reachability and objects.
pub fn connection(control: &FakeControl, serial: &str) -> Box<dyn Member> {
    Box::new(FakeMember {
        serial: serial.to_string(),
        label: format!("label-{serial}"),
        control: control.clone(),
    })
}

/// A configuration with one group `label` of these members (no standby), other settings at
/// their defaults (D1).
pub fn group_config(label: &str, members: &[&str]) -> crate::config::ClientConfig {
    crate::config::ClientConfig {
        groups: vec![crate::config::GroupConfig {
            label: label.to_string(),
            members: members.iter().map(|m| (*m).to_string()).collect(),
            standby: BTreeSet::new(),
        }],
        ..crate::config::ClientConfig::default()
    }
}

/// Test-only views of the engine's runtime, for the tests of what reaches it from outside
/// (`partition clear`, D7).
impl HaEngine {
    /// How many deleted objects (by id: both halves of a pair count once) member `m` of group
    /// `g` may still hold, by the group's tombstones (0 before `C_Initialize`).
    pub fn test_pending_deletes(&self, g: usize, m: usize) -> usize {
        let Some(group) = self.runtime.as_ref().and_then(|rt| rt.groups.get(g)) else {
            return 0;
        };
        let Some(member) = group.members.get(m) else {
            return 0;
        };
        group
            .tombstones
            .iter()
            .filter(|(_, pending)| pending.contains(&member.serial))
            .map(|((id, _), _)| id)
            .collect::<BTreeSet<_>>()
            .len()
    }

    /// How many objects (halves of pairs counted apart) group `g` holds (0 before
    /// `C_Initialize`).
    pub fn test_group_objects(&self, g: usize) -> usize {
        self.runtime
            .as_ref()
            .and_then(|rt| rt.groups.get(g))
            .map_or(0, |group| group.objects.len())
    }
}

/// An engine over fake members (see [`fixture`]).
pub fn engine_with(serials: &[&str]) -> HaEngine {
    fixture(serials).engine
}
