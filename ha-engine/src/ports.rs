//! The ports the engine is driven through: a PKCS#11-shaped [`Member`], a [`Calendar`] that turns
//! the engine's virtual instants into local civil time for the HA log, and a [`LogSink`] that
//! stores HA log files. The engine never names an implementation of any of them.
//!
//! [`MemberRef`] is a shareable handle on one member: the engine keeps one per physical slot and
//! hands clones out with every [`crate::failover::Dispatch`], so application threads make their
//! member calls themselves, two members at once, without holding the engine. [`Timeouts`] are
//! the client's call limits (B28, B32); they travel with every call (see
//! [`Member::set_call_limits`]).

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::ckr::Ckr;

/// Milliseconds since the start of a run (virtual time in simulation, monotonic time in real use).
pub type Millis = u64;

/// A session handle as one member issued it (`CK_SESSION_HANDLE`).
pub type SessionHandle = u64;

/// An object handle as one member issued it (`CK_OBJECT_HANDLE`). Handles are not identities:
/// a member may reissue them after a logout or a reconnect, so the engine finds objects by
/// [`ObjectId`].
pub type ObjectHandle = u64;

/// The group-wide unique id the engine gives every replicated object (the model's OUID; a
/// `CKA_ID` value on a real PKCS#11 member).
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct ObjectId(pub Vec<u8>);

impl Ord for ObjectId {
    #[inline]
    fn cmp(&self, other: &Self) -> Ordering {
        cmp_id(&self.0, &other.0)
    }
}

impl PartialOrd for ObjectId {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The byte-wise lexicographic order of `[u8]` (what a derived `Ord` on [`ObjectId`] was).
/// The engine's ids (`hasim-00000001`, 8 to 16 bytes) share a long prefix and are compared on
/// every map lookup, where a `memcmp` call per comparison costs more than the bytes: two
/// eight-byte words each, the first bytes and the last eight of the shorter id (overlapping;
/// the first difference, if any, lies in one of them). Other lengths take `[u8]`'s own order.
#[inline]
pub fn cmp_id(a: &[u8], b: &[u8]) -> Ordering {
    let n = a.len().min(b.len());
    if n < 8 || a.len() > 16 || b.len() > 16 {
        return a.cmp(b);
    }
    let (x, y) = (word(&a[..8]), word(&b[..8]));
    if x != y {
        return x.cmp(&y);
    }
    let (x, y) = (word(&a[n - 8..n]), word(&b[n - 8..n]));
    x.cmp(&y).then(a.len().cmp(&b.len()))
}

/// Eight bytes as a big-endian word (so words order as their bytes do).
#[inline]
fn word(bytes: &[u8]) -> u64 {
    let mut out = [0; 8];
    out.copy_from_slice(bytes);
    u64::from_be_bytes(out)
}

/// An `(ObjectId, ObjectClass)` map key looked up without building one (no copy of the id):
/// `map.get(&(id.0.as_slice(), class) as &dyn ObjectKey)`. Ordered exactly as the owned key.
pub trait ObjectKey {
    /// The id's bytes.
    fn key_id(&self) -> &[u8];
    /// The class.
    fn key_class(&self) -> ObjectClass;
}

impl ObjectKey for (ObjectId, ObjectClass) {
    fn key_id(&self) -> &[u8] {
        &self.0.0
    }
    fn key_class(&self) -> ObjectClass {
        self.1
    }
}

impl ObjectKey for (&[u8], ObjectClass) {
    fn key_id(&self) -> &[u8] {
        self.0
    }
    fn key_class(&self) -> ObjectClass {
        self.1
    }
}

impl<'a> Borrow<dyn ObjectKey + 'a> for (ObjectId, ObjectClass) {
    fn borrow(&self) -> &(dyn ObjectKey + 'a) {
        self
    }
}

impl PartialEq for dyn ObjectKey + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.key_class() == other.key_class() && self.key_id() == other.key_id()
    }
}

impl Eq for dyn ObjectKey + '_ {}

impl PartialOrd for dyn ObjectKey + '_ {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for dyn ObjectKey + '_ {
    fn cmp(&self, other: &Self) -> Ordering {
        cmp_id(self.key_id(), other.key_id()).then(self.key_class().cmp(&other.key_class()))
    }
}

impl fmt::Display for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.0))
    }
}

/// A credential (CO password or PIN). It never prints: it has no `Display`, and `Debug` shows
/// `Secret(***)`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a credential.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The credential itself, for the one call that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Key types the virtual slot can generate.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum KeyKind {
    /// AES, 128-bit.
    Aes128,
    /// AES, 256-bit.
    Aes256,
    /// RSA 2048-bit key pair.
    Rsa2048,
    /// EC key pair on P-256.
    EcP256,
}

impl KeyKind {
    /// True for key pairs (a private and a public object).
    pub fn is_pair(self) -> bool {
        matches!(self, KeyKind::Rsa2048 | KeyKind::EcP256)
    }
}

/// PKCS#11 object classes hasim uses.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum ObjectClass {
    /// `CKO_DATA`
    Data,
    /// `CKO_SECRET_KEY`
    SecretKey,
    /// `CKO_PRIVATE_KEY`
    PrivateKey,
    /// `CKO_PUBLIC_KEY`
    PublicKey,
}

/// What `C_GenerateKey` / `C_GenerateKeyPair` is asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyGenRequest {
    /// Key type.
    pub kind: KeyKind,
    /// The engine-assigned id (`CKA_ID`), shared by both halves of a pair.
    pub id: ObjectId,
    /// `CKA_LABEL`.
    pub label: String,
    /// `CKA_TOKEN`: a token object (persistent) or a session object.
    pub token: bool,
}

/// What `C_CreateObject` of a data object is asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataObjectRequest {
    /// The engine-assigned id (`CKA_ID`).
    pub id: ObjectId,
    /// `CKA_LABEL`.
    pub label: String,
    /// `CKA_VALUE`.
    pub value: Vec<u8>,
    /// `CKA_TOKEN`.
    pub token: bool,
}

/// A `C_FindObjects` template: every `Some` field must match.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ObjectQuery {
    /// `CKA_ID`.
    pub id: Option<ObjectId>,
    /// `CKA_CLASS`.
    pub class: Option<ObjectClass>,
    /// `CKA_TOKEN`.
    pub token: Option<bool>,
    /// `CKA_LABEL`.
    pub label: Option<String>,
}

/// The attributes of one object the engine reads back (`C_GetAttributeValue`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectInfo {
    /// `CKA_ID`.
    pub id: ObjectId,
    /// `CKA_CLASS`.
    pub class: ObjectClass,
    /// `CKA_LABEL`.
    pub label: String,
    /// `CKA_TOKEN`.
    pub token: bool,
}

/// `C_GetTokenInfo`, with the storage figures Luna's `partition showinfo` prints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenInfo {
    /// Token serial number (opaque string).
    pub serial: String,
    /// Token label.
    pub label: String,
    /// Total storage, bytes.
    pub total_storage: u64,
    /// Used storage, bytes.
    pub used_storage: u64,
    /// Free storage, bytes.
    pub free_storage: u64,
    /// Number of token objects.
    pub object_count: u64,
    /// Storage overhead, bytes.
    pub overhead: u64,
    /// `CKF_PROTECTED_AUTHENTICATION_PATH`: the token authenticates with a PED / multifactor
    /// quorum instead of a password.
    pub protected_auth_path: bool,
}

/// An object in transit between two members of one cloning domain (Luna's cloning protocol;
/// wrap/unwrap under a domain key on a generic PKCS#11 token). Opaque to the engine.
#[derive(Clone, PartialEq, Eq)]
pub struct CloneBlob(pub Vec<u8>);

impl fmt::Debug for CloneBlob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CloneBlob({} bytes)", self.0.len())
    }
}

/// How an HSM is attached (B11: PCIe and network partitions cannot be mixed; B15 cloud).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum HsmForm {
    /// Network-attached appliance.
    Network,
    /// PCIe card.
    Pcie,
    /// USB device.
    Usb,
    /// Cloud HSM service.
    Cloud,
}

/// How the partition's roles authenticate (B9, B10).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum AuthKind {
    /// Password.
    Password,
    /// PED / multifactor quorum.
    Ped,
}

/// What LunaCM reads about a partition and its HSM through the vendor extensions (HSM and
/// partition policies, firmware, authentication): the facts the HA prerequisites (B9–B15) are
/// checked against. Never carries a secret: the cloning domain and the activation challenge are
/// represented by fingerprints only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberProperties {
    /// Serial of the HSM holding the partition.
    pub hsm_serial: String,
    /// Attachment.
    pub form: HsmForm,
    /// Firmware version `(major, minor, patch)`.
    pub firmware: (u32, u32, u32),
    /// Authentication method.
    pub auth: AuthKind,
    /// HSM policies by number (7 cloning, 12 non-FIPS algorithms, 16 network replication, 21
    /// force PIN change).
    pub hsm_policies: std::collections::BTreeMap<u32, u64>,
    /// Partition policies by number (0 private key cloning, 4 secret key cloning, 22 activation).
    pub partition_policies: std::collections::BTreeMap<u32, u64>,
    /// A fingerprint of the cloning domain (equal domains, equal fingerprints).
    pub domain_fingerprint: String,
    /// The partition is activated (PED partitions, B50).
    pub activated: bool,
    /// The initial CO credential has been changed (HSM policy 21).
    pub co_credential_changed: bool,
    /// A V1 partition (its SMK is overwritten by the primary's, B13).
    pub v1: bool,
    /// A fingerprint of the PED activation challenge secret, when one is set (B9: PED members
    /// need the same one).
    pub activation_fingerprint: Option<String>,
}

/// Result of a member call: the value, or the `CK_RV` the member returned.
pub type MemberResult<T> = Result<T, Ckr>;

/// One physical partition as the HA client sees it through PKCS#11. A transport failure is
/// reported as `CKR_DEVICE_ERROR`. Implemented by the in-process model adapter, the fault
/// injector (which wraps any `Member`) and, later, a `cryptoki` session.
pub trait Member: Send {
    /// The serial of the token this slot holds. Known without a call (it is how the client
    /// addresses the slot), so it never fails.
    fn serial(&self) -> &str;
    /// The token label the client learned when it discovered the slot; like the serial, known
    /// without a call (slot listings use it, D14). `None` when the backend does not keep it.
    fn label(&self) -> Option<&str> {
        None
    }
    /// `C_GetTokenInfo`.
    fn token_info(&mut self) -> MemberResult<TokenInfo>;
    /// `C_OpenSession` (read/write).
    fn open_session(&mut self) -> MemberResult<SessionHandle>;
    /// `C_CloseSession`.
    fn close_session(&mut self, session: SessionHandle) -> MemberResult<()>;
    /// `C_CloseAllSessions` for this slot.
    fn close_all_sessions(&mut self) -> MemberResult<()>;
    /// `C_Login` as Crypto Officer / user. Login state is per token: a second login answers
    /// `CKR_USER_ALREADY_LOGGED_IN`.
    fn login(&mut self, session: SessionHandle, pin: &Secret) -> MemberResult<()>;
    /// `C_Logout`.
    fn logout(&mut self, session: SessionHandle) -> MemberResult<()>;
    /// `C_GenerateKey` / `C_GenerateKeyPair`; a pair returns `[private, public]`.
    fn generate_key(
        &mut self,
        session: SessionHandle,
        request: &KeyGenRequest,
    ) -> MemberResult<Vec<ObjectHandle>>;
    /// `C_CreateObject` of a data object.
    fn create_data(
        &mut self,
        session: SessionHandle,
        request: &DataObjectRequest,
    ) -> MemberResult<ObjectHandle>;
    /// `C_FindObjectsInit` / `C_FindObjects` / `C_FindObjectsFinal`.
    fn find_objects(
        &mut self,
        session: SessionHandle,
        query: &ObjectQuery,
    ) -> MemberResult<Vec<ObjectHandle>>;
    /// `C_GetAttributeValue` of id, class, label and token.
    fn object_info(
        &mut self,
        session: SessionHandle,
        object: ObjectHandle,
    ) -> MemberResult<ObjectInfo>;
    /// The same call as [`Member::object_info`] (the member sees and answers it alike), for a
    /// caller that keeps only objects labelled `label`: `None` for any other label. A member
    /// may compare the label before copying the attributes out; the default reads them all.
    fn object_info_labelled(
        &mut self,
        session: SessionHandle,
        object: ObjectHandle,
        label: &str,
    ) -> MemberResult<Option<ObjectInfo>> {
        let info = self.object_info(session, object)?;
        Ok((info.label == label).then_some(info))
    }
    /// [`Member::object_info_labelled`] for each of `objects` in turn, stopping at the first
    /// call that fails: the answers of the calls that succeeded, in order, and `Err` with the
    /// failure when one did. The member sees exactly those calls, one at a time (each counted,
    /// each able to meet a fault); the default makes them one by one, a member may make them
    /// cheaper together.
    fn objects_info_labelled(
        &mut self,
        session: SessionHandle,
        objects: &[ObjectHandle],
        label: &str,
    ) -> (Vec<Option<ObjectInfo>>, MemberResult<()>) {
        let mut out = Vec::with_capacity(objects.len());
        for &object in objects {
            match self.object_info_labelled(session, object, label) {
                Ok(info) => out.push(info),
                Err(rv) => return (out, Err(rv)),
            }
        }
        (out, Ok(()))
    }
    /// `C_DestroyObject`.
    fn destroy_object(&mut self, session: SessionHandle, object: ObjectHandle) -> MemberResult<()>;
    /// `C_SignInit` + `C_Sign`.
    fn sign(
        &mut self,
        session: SessionHandle,
        key: ObjectHandle,
        data: &[u8],
    ) -> MemberResult<Vec<u8>>;
    /// `C_EncryptInit` + `C_Encrypt`.
    fn encrypt(
        &mut self,
        session: SessionHandle,
        key: ObjectHandle,
        data: &[u8],
    ) -> MemberResult<Vec<u8>>;
    /// `C_SetAttributeValue` of a data object's `CKA_VALUE`: changes the object on this
    /// member only (B22). A member that cannot answers `CKR_FUNCTION_NOT_SUPPORTED`.
    fn set_value(
        &mut self,
        session: SessionHandle,
        object: ObjectHandle,
        value: &[u8],
    ) -> MemberResult<()> {
        let _ = (session, object, value);
        Err(crate::ckr::Ckr::CKR_FUNCTION_NOT_SUPPORTED)
    }
    /// Source side of a clone (Luna cloning protocol / `C_WrapKey` under the domain key).
    fn export_clone(
        &mut self,
        session: SessionHandle,
        object: ObjectHandle,
    ) -> MemberResult<CloneBlob>;
    /// Target side of a clone (`C_UnwrapKey` / `C_CreateObject`); refused outside the domain.
    fn import_clone(
        &mut self,
        session: SessionHandle,
        blob: &CloneBlob,
    ) -> MemberResult<ObjectHandle>;
    /// `C_SignInit`: starts a multi-part signature on the session.
    fn sign_init(&mut self, session: SessionHandle, key: ObjectHandle) -> MemberResult<()> {
        let _ = (session, key);
        Err(Ckr::CKR_FUNCTION_NOT_SUPPORTED)
    }
    /// `C_SignUpdate`.
    fn sign_update(&mut self, session: SessionHandle, data: &[u8]) -> MemberResult<()> {
        let _ = (session, data);
        Err(Ckr::CKR_FUNCTION_NOT_SUPPORTED)
    }
    /// `C_SignFinal`.
    fn sign_final(&mut self, session: SessionHandle) -> MemberResult<Vec<u8>> {
        let _ = session;
        Err(Ckr::CKR_FUNCTION_NOT_SUPPORTED)
    }
    /// Vendor extension: the partition's and its HSM's properties (no session needed). A
    /// generic PKCS#11 token does not have it.
    fn properties(&mut self) -> MemberResult<MemberProperties> {
        Err(Ckr::CKR_FUNCTION_NOT_SUPPORTED)
    }
    /// The client's limits for the call that follows (B28 `ReceiveTimeout`, B32
    /// `ProbeTimeout`). The caller passes them just before each call, so a transport below the
    /// port (a simulated network, a fault injector) enforces the client's current values and
    /// never keeps a copy of its own. A member without a transport ignores them.
    fn set_call_limits(&mut self, limits: Timeouts) {
        let _ = limits;
    }
}

/// The client's call limits, from `[LunaSA Client]` (B28, B32).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// `ReceiveTimeout`, ms: a member that sends nothing (no answer, no heartbeat) for this
    /// long has failed the call.
    pub receive_ms: Millis,
    /// `ProbeTimeout`, ms, when set: a call still heartbeating after this long is failed over
    /// all the same.
    pub probe_ms: Option<Millis>,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            receive_ms: 20_000,
            probe_ms: None,
        }
    }
}

/// A shareable handle on one member (`Arc<Mutex<..>>`): the engine's slot and every dispatch
/// handed out for it call the same member. Calls on two different members never wait for each
/// other; two calls on one member are serialised by its lock (a PKCS#11 library serialises
/// calls on one session the same way).
#[derive(Clone)]
pub struct MemberRef {
    serial: Arc<str>,
    label: Option<Arc<str>>,
    inner: Arc<Mutex<Box<dyn Member>>>,
}

impl fmt::Debug for MemberRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MemberRef({})", self.serial)
    }
}

impl PartialEq for MemberRef {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl Eq for MemberRef {}

impl MemberRef {
    /// Shares `member`.
    pub fn new(member: Box<dyn Member>) -> Self {
        MemberRef {
            serial: Arc::from(member.serial()),
            label: member.label().map(Arc::from),
            inner: Arc::new(Mutex::new(member)),
        }
    }

    /// The member's serial (known without a call).
    pub fn serial(&self) -> &str {
        &self.serial
    }

    /// The token label the client learned at discovery.
    pub fn label(&self) -> Option<&str> {
        self.label.as_deref()
    }

    /// Exclusive access to the member for one call (or a few in a row).
    pub fn lock(&self) -> MutexGuard<'_, Box<dyn Member>> {
        // A member holds no invariant a panicking caller could have broken half-way that a
        // later call could observe differently from a failed call.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Local civil time, as `ctime()` prints it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct CivilTime {
    /// Year, e.g. 2017.
    pub year: i32,
    /// Month, 1..=12.
    pub month: u8,
    /// Day of month, 1..=31.
    pub day: u8,
    /// Hour, 0..=23.
    pub hour: u8,
    /// Minute, 0..=59.
    pub minute: u8,
    /// Second, 0..=59.
    pub second: u8,
    /// Day of week, 0 = Sunday.
    pub weekday: u8,
}

/// Turns an engine instant into local civil time (the HA log's clock, D15: no zone conversion).
pub trait Calendar: Send {
    /// Local time at `now`.
    fn local_time(&self, now: Millis) -> CivilTime;
}

/// Error from a [`LogSink`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct SinkError {
    /// The path concerned.
    pub path: String,
    /// What went wrong.
    pub reason: String,
}

/// Where HA log files live: an in-memory file system in simulation, the disk in real use.
pub trait LogSink: Send {
    /// True when `dir` is an existing directory.
    fn dir_exists(&self, dir: &str) -> bool;
    /// True when `path` is an existing file.
    fn file_exists(&self, path: &str) -> bool;
    /// Size of `path` in bytes (0 when it does not exist).
    fn file_len(&self, path: &str) -> u64;
    /// Appends `text` to `path`, creating the file.
    fn append(&mut self, path: &str, text: &str) -> Result<(), SinkError>;
    /// Renames `from` to `to`; `to` must not exist.
    fn rename(&mut self, from: &str, to: &str) -> Result<(), SinkError>;
}

#[cfg(test)]
mod id_order_tests {
    use std::collections::BTreeMap;

    use super::{ObjectClass, ObjectId, ObjectKey, cmp_id};

    /// `cmp_id` is `[u8]`'s order, on the engine's ids and on the edge cases of the eight-byte
    /// chunks (prefixes, a difference past the first chunk, in the remainder, high bytes).
    #[test]
    fn cmp_id_is_the_byte_order() {
        let ids: Vec<&[u8]> = vec![
            b"",
            b"a",
            b"ab",
            b"hasim-00000001",
            b"hasim-00000002",
            b"hasim-00000010",
            b"hasim-0000001",
            b"hasim-000000010",
            b"direct-00000001",
            b"hasim-00",
            b"hasim-0",
            b"hasim-00\x00",
            b"\xff\x00\x00\x00\x00\x00\x00\x00\x01",
            b"\x7f\xff\xff\xff\xff\xff\xff\xff",
            b"0123456789abcdefX",
            b"0123456789abcdefY",
            b"0123456789abcdef",
            b"0123456789abcdeX",
            b"0123456789abcdf",
            b"0123456789abce",
            b"01234567",
            b"01234568",
        ];
        for a in &ids {
            for b in &ids {
                assert_eq!(cmp_id(a, b), a.cmp(b), "{a:?} vs {b:?}");
                let (x, y) = (ObjectId(a.to_vec()), ObjectId(b.to_vec()));
                assert_eq!(x.cmp(&y), a.cmp(b));
            }
        }
    }

    /// A borrowed key finds exactly the owned key with the same id and class.
    #[test]
    fn borrowed_key_finds_the_owned_one() {
        let mut map = BTreeMap::new();
        for (i, id) in ["hasim-00000001", "hasim-00000002", "direct-00000001"]
            .iter()
            .enumerate()
        {
            map.insert((ObjectId(id.as_bytes().to_vec()), ObjectClass::Data), i);
        }
        let probe: (&[u8], ObjectClass) = (b"hasim-00000002", ObjectClass::Data);
        assert_eq!(map.get(&probe as &dyn ObjectKey), Some(&1));
        let other_class: (&[u8], ObjectClass) = (b"hasim-00000002", ObjectClass::SecretKey);
        assert_eq!(map.get(&other_class as &dyn ObjectKey), None);
        let missing: (&[u8], ObjectClass) = (b"hasim-00000003", ObjectClass::Data);
        assert_eq!(map.get(&missing as &dyn ObjectKey), None);
    }
}
