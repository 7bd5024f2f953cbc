//! Partitions: one PKCS#11 token as seen by a single application (SoftHSM semantics). Owns
//! [`PartitionSpec`] and [`Partition`]: sessions, the per-partition login state, objects and
//! their handles, key generation, stand-in crypto calls, storage accounting and the two halves
//! of cloning.
//!
//! Token semantics the model keeps:
//! - Session handles come from a monotonic counter and are never reused; a closed or unknown
//!   session answers `SessionHandleInvalid` on every call that takes one.
//! - Login state is per partition and client process ([`ClientId`]): the application
//!   ([`APPLICATION`]) and LunaCM ([`LUNACM`]) each log in for themselves (LunaCM is its own
//!   process, spec D22); a second login of the same client (from any of its sessions) answers
//!   `UserAlreadyLoggedIn`, and a client is logged out when its last session closes.
//! - Object handles are reissued (SoftHSM does this) after a logout, after `close_all_sessions`,
//!   when the last open session (of any client) closes, and on deactivation: every object gets
//!   a fresh number from a monotonic counter, so an old handle answers `ObjectHandleInvalid`.
//!   Handles are numbered per partition, not per client (a simplification: LunaCM keeps no
//!   handle beyond one command).
//! - Session objects are destroyed when their owning session closes; private session objects
//!   are also destroyed on logout (PKCS#11 `C_Logout`).
//! - Private objects (secret and private keys) and every key-using call need login. Public
//!   objects (public keys, data) can be found, read, created and destroyed without login.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use rand::Rng;
use rand_chacha::ChaCha20Rng;

use crate::clone;
use crate::crypto;
use crate::error::{ModelError, ModelResult};
use crate::hsm::Hsm;
use crate::object::{KeyKind, ObjectClass, ObjectRecord, ObjectView, Query};

/// A client process using the partition; sessions and login state belong to one.
pub type ClientId = u32;

/// The application (the HA engine's library instance).
pub const APPLICATION: ClientId = 0;

/// LunaCM, the administration program, with its own library instance and login (D22).
pub const LUNACM: ClientId = 1;
use crate::policy;
use crate::storage::{self, StorageInfo};
use crate::table::ObjectTable;

/// What to build a partition from. `Debug` never shows the CO credential.
#[derive(Clone, PartialEq, Eq)]
pub struct PartitionSpec {
    /// The partition serial (unique across the model).
    pub serial: String,
    /// The partition label.
    pub label: String,
    /// Serial of the HSM that holds the partition (must exist).
    pub hsm: String,
    /// The cloning domain.
    pub domain: String,
    /// The Crypto Officer credential (password). Never printed.
    pub co_credential: String,
    /// Partition policies. When the partition is added these override the defaults
    /// ([`policy::default_partition_policies`]).
    pub policies: BTreeMap<u32, u64>,
    /// Total storage space, bytes.
    pub total_storage: u64,
    /// Fixed storage overhead, bytes (counted in used storage).
    pub overhead: u64,
    /// Whether the partition starts activated.
    pub activated: bool,
    /// Whether the CO credential has been changed since initialisation (matters when HSM
    /// policy 21, force PIN change, is on).
    pub co_credential_changed: bool,
    /// A V1 partition (with an SMK that an HA primary overwrites, B13 of the HA spec).
    pub v1: bool,
    /// The activation challenge secret of a PED partition (policy 22), if set. Never printed.
    pub activation_challenge: Option<String>,
}

impl PartitionSpec {
    /// A partition with the defaults: policies 0→1, 4→1, 22→0; 325896 bytes of storage with
    /// 9648 bytes overhead; activated; CO credential already changed.
    pub fn new(
        serial: impl Into<String>,
        label: impl Into<String>,
        hsm: impl Into<String>,
        domain: impl Into<String>,
        co_credential: impl Into<String>,
    ) -> Self {
        PartitionSpec {
            serial: serial.into(),
            label: label.into(),
            hsm: hsm.into(),
            domain: domain.into(),
            co_credential: co_credential.into(),
            policies: policy::default_partition_policies(),
            total_storage: 325_896,
            overhead: 9648,
            activated: true,
            co_credential_changed: true,
            v1: false,
            activation_challenge: None,
        }
    }

    /// Sets one policy (builder style).
    pub fn with_policy(mut self, number: u32, value: u64) -> Self {
        self.policies.insert(number, value);
        self
    }
}

impl fmt::Debug for PartitionSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PartitionSpec")
            .field("serial", &self.serial)
            .field("label", &self.label)
            .field("hsm", &self.hsm)
            .field("domain", &self.domain)
            .field("co_credential", &"***")
            .field("policies", &self.policies)
            .field("total_storage", &self.total_storage)
            .field("overhead", &self.overhead)
            .field("activated", &self.activated)
            .field("co_credential_changed", &self.co_credential_changed)
            .field("v1", &self.v1)
            .field(
                "activation_challenge",
                &self.activation_challenge.as_ref().map(|_| "***"),
            )
            .finish()
    }
}

/// A credential held by a partition; it never prints.
#[derive(Clone, PartialEq, Eq)]
struct Credential(String);

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// A partition: a token with one application attached. See the module doc for the semantics.
pub struct Partition {
    /// HMAC states keyed with each key's material, so signing and encrypting do not redo the
    /// key setup.
    keyed: RefCell<BTreeMap<Vec<u8>, crypto::HmacSha256>>,
    /// The HMAC state keyed with the cloning domain's key (the domain never changes), so a
    /// clone blob does not redo the key setup.
    domain_keyed: crypto::HmacSha256,
    serial: String,
    label: String,
    hsm_serial: String,
    domain: String,
    credential: Credential,
    /// The credential before any change by [`Partition::set_co_credential`], for
    /// [`Partition::restore_co_credential`].
    previous_credential: Option<Credential>,
    co_credential_changed: bool,
    v1: bool,
    /// Fingerprint of the activation challenge secret (the secret itself is not kept).
    activation_fingerprint: Option<String>,
    policies: BTreeMap<u32, u64>,
    /// A copy of the holding HSM's policies, kept in step by the model.
    hsm_policies: BTreeMap<u32, u64>,
    total_storage: u64,
    overhead: u64,
    activated: bool,
    rng: ChaCha20Rng,
    /// Open sessions and the client each belongs to.
    sessions: BTreeMap<u64, ClientId>,
    /// Active multi-part sign operations: session → (key handle, data so far).
    sign_ops: BTreeMap<u64, (u64, Vec<u8>)>,
    next_session: u64,
    /// Clients logged in.
    logged_in: BTreeSet<ClientId>,
    objects: ObjectTable,
    next_handle: u64,
}

impl fmt::Debug for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Partition")
            .field("serial", &self.serial)
            .field("label", &self.label)
            .field("hsm_serial", &self.hsm_serial)
            .field("domain", &self.domain)
            .field("credential", &self.credential)
            .field("policies", &self.policies)
            .field("activated", &self.activated)
            .field("sessions", &self.sessions)
            .field("logged_in", &self.logged_in)
            .field("objects", &self.objects.values().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Partition {
    /// Builds the partition on `hsm`; `seed` is the model seed its RNG derives from.
    pub(crate) fn from_spec(spec: PartitionSpec, seed: u64, hsm: &Hsm) -> ModelResult<Self> {
        if spec.overhead > spec.total_storage {
            return Err(ModelError::InvalidSpec(format!(
                "partition {}: overhead {} exceeds total storage {}",
                spec.serial, spec.overhead, spec.total_storage
            )));
        }
        Ok(Partition {
            keyed: RefCell::new(BTreeMap::new()),
            domain_keyed: clone::domain_keyed(&spec.domain),
            rng: crypto::partition_rng(seed, &spec.serial),
            policies: policy::merged(policy::default_partition_policies(), &spec.policies),
            hsm_policies: hsm.policies().clone(),
            serial: spec.serial,
            label: spec.label,
            hsm_serial: spec.hsm,
            domain: spec.domain,
            credential: Credential(spec.co_credential),
            previous_credential: None,
            co_credential_changed: spec.co_credential_changed,
            v1: spec.v1,
            activation_fingerprint: spec
                .activation_challenge
                .as_deref()
                .map(|secret| fingerprint("hasim-activation-fingerprint:", secret)),
            total_storage: spec.total_storage,
            overhead: spec.overhead,
            activated: spec.activated,
            sessions: BTreeMap::new(),
            sign_ops: BTreeMap::new(),
            next_session: 1,
            logged_in: BTreeSet::new(),
            objects: ObjectTable::default(),
            next_handle: 1,
        })
    }

    /// Refreshes the copy of the holding HSM's policies.
    pub(crate) fn set_hsm_policies(&mut self, policies: BTreeMap<u32, u64>) {
        self.hsm_policies = policies;
    }

    // ----- identity and configuration -------------------------------------------------

    /// The partition serial.
    pub fn serial(&self) -> &str {
        &self.serial
    }

    /// The partition label.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Serial of the HSM holding the partition.
    pub fn hsm_serial(&self) -> &str {
        &self.hsm_serial
    }

    /// The cloning domain.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// Partition policy `number` (0 when unset).
    pub fn policy(&self, number: u32) -> u64 {
        policy::read(&self.policies, number)
    }

    /// All partition policies, in number order.
    pub fn policies(&self) -> &BTreeMap<u32, u64> {
        &self.policies
    }

    /// Sets partition policy `number`.
    pub fn set_policy(&mut self, number: u32, value: u64) {
        self.policies.insert(number, value);
    }

    /// Policy `number` of the holding HSM (0 when unset).
    pub fn hsm_policy(&self, number: u32) -> u64 {
        policy::read(&self.hsm_policies, number)
    }

    /// True when the partition is activated.
    pub fn is_activated(&self) -> bool {
        self.activated
    }

    /// Activates or deactivates the partition. Deactivation drops the login state exactly as a
    /// logout does (handles reissued, private session objects destroyed); sessions stay open.
    pub fn set_activated(&mut self, activated: bool) {
        self.activated = activated;
        if !activated && !self.logged_in.is_empty() {
            // Every client's login ends.
            self.logged_in.clear();
            self.objects.retain(|o| o.token || !o.private);
            self.reissue_handles();
        }
    }

    /// Replaces the CO credential (e.g. changed while a member was down) and marks it changed.
    /// The current login state is kept.
    pub fn set_co_credential(&mut self, new: &str) {
        let old = std::mem::replace(&mut self.credential, Credential(new.to_string()));
        self.previous_credential.get_or_insert(old);
        self.co_credential_changed = true;
    }

    /// Sets the CO credential back to what it was before [`Partition::set_co_credential`]
    /// changed it (the operator fixed it); no change when it was never changed.
    pub fn restore_co_credential(&mut self) {
        if let Some(previous) = self.previous_credential.take() {
            self.credential = previous;
        }
    }

    /// True when the CO credential has been changed since initialisation.
    pub fn co_credential_changed(&self) -> bool {
        self.co_credential_changed
    }

    /// True for a V1 partition.
    pub fn is_v1(&self) -> bool {
        self.v1
    }

    /// A fingerprint of the cloning domain: equal domains give equal fingerprints; the domain
    /// itself cannot be read back from it.
    pub fn domain_fingerprint(&self) -> String {
        fingerprint("hasim-domain-fingerprint:", &self.domain)
    }

    /// A fingerprint of the PED activation challenge secret, when one is set.
    pub fn activation_fingerprint(&self) -> Option<&str> {
        self.activation_fingerprint.as_deref()
    }

    /// True when the application is logged in.
    pub fn is_logged_in(&self) -> bool {
        self.is_client_logged_in(APPLICATION)
    }

    /// True when `client` is logged in.
    pub fn is_client_logged_in(&self, client: ClientId) -> bool {
        self.logged_in.contains(&client)
    }

    /// Number of open sessions.
    pub fn session_count(&self) -> usize {
        self.sessions.len()
    }

    // ----- admin views (no session, no login) -----------------------------------------

    /// The storage figures of `partition showinfo`. Session objects are excluded from both
    /// `used` and `object_count`.
    pub fn storage(&self) -> StorageInfo {
        StorageInfo::compute(
            self.total_storage,
            self.overhead,
            self.objects.values().filter(|o| o.token).map(|o| o.size),
        )
    }

    /// Every token object, sorted by (id, class).
    pub fn token_objects(&self) -> Vec<ObjectView> {
        let mut views: Vec<ObjectView> = self
            .objects
            .values()
            .filter(|o| o.token)
            .map(ObjectRecord::view)
            .collect();
        views.sort_by(|a, b| (&a.id, a.class).cmp(&(&b.id, b.class)));
        views
    }

    /// Every object (token and session), in handle order.
    pub fn objects(&self) -> impl Iterator<Item = &ObjectRecord> {
        self.objects.values()
    }

    // ----- sessions and login ---------------------------------------------------------

    /// Opens a session of the application (`C_OpenSession`). Handles are never reused.
    pub fn open_session(&mut self) -> ModelResult<u64> {
        self.open_session_for(APPLICATION)
    }

    /// Opens a session of `client`. Handles are never reused (across clients either).
    pub fn open_session_for(&mut self, client: ClientId) -> ModelResult<u64> {
        let handle = self.next_session;
        self.next_session += 1;
        self.sessions.insert(handle, client);
        Ok(handle)
    }

    /// Closes a session, destroying its session objects. Closing a client's last session logs
    /// that client out; closing the partition's last session also reissues every object handle.
    pub fn close_session(&mut self, session: u64) -> ModelResult<()> {
        let Some(client) = self.sessions.remove(&session) else {
            return Err(ModelError::SessionHandleInvalid);
        };
        self.objects.retain(|o| o.owner_session != Some(session));
        self.sign_ops.remove(&session);
        if !self.sessions.values().any(|c| *c == client) {
            self.logged_in.remove(&client);
        }
        if self.sessions.is_empty() {
            self.reissue_handles();
        }
        Ok(())
    }

    /// Closes every session of every client (the connection to the partition was reset): all
    /// session objects are destroyed, every client is logged out and every object handle is
    /// reissued.
    pub fn close_all_sessions(&mut self) -> ModelResult<()> {
        self.sessions.clear();
        self.sign_ops.clear();
        self.objects.retain(|o| o.token);
        self.logged_in.clear();
        self.reissue_handles();
        Ok(())
    }

    /// Logs the Crypto Officer in (`C_Login`). Checks, in order: the session, activation,
    /// an existing login, the credential, then HSM policy 21 (force PIN change) against a
    /// credential never changed (`PinExpired`).
    pub fn login(&mut self, session: u64, pin: &str) -> ModelResult<()> {
        let client = self.client_of(session)?;
        if !self.activated {
            return Err(ModelError::NotActivated);
        }
        if self.logged_in.contains(&client) {
            return Err(ModelError::UserAlreadyLoggedIn);
        }
        if pin != self.credential.0 {
            return Err(ModelError::PinIncorrect);
        }
        if self.hsm_policy(policy::HSM_FORCE_PIN_CHANGE) != 0 && !self.co_credential_changed {
            return Err(ModelError::PinExpired);
        }
        self.logged_in.insert(client);
        Ok(())
    }

    /// Logs out (`C_Logout`): private session objects are destroyed and every object handle
    /// is reissued.
    pub fn logout(&mut self, session: u64) -> ModelResult<()> {
        let client = self.client_of(session)?;
        if !self.logged_in.contains(&client) {
            return Err(ModelError::UserNotLoggedIn);
        }
        self.end_login(client);
        Ok(())
    }

    // ----- objects --------------------------------------------------------------------

    /// Generates a key (`C_GenerateKey` / `C_GenerateKeyPair`): AES gives one secret key, RSA
    /// and EC give `[private, public]` sharing `id`. Needs login. The key material is 32 bytes
    /// from the partition's RNG (drawn only when the key will be stored).
    pub fn generate_key(
        &mut self,
        session: u64,
        kind: KeyKind,
        id: &[u8],
        label: &str,
        token: bool,
    ) -> ModelResult<Vec<u64>> {
        self.check_login(session)?;
        let classes: &[ObjectClass] = if kind.is_pair() {
            &[ObjectClass::PrivateKey, ObjectClass::PublicKey]
        } else {
            &[ObjectClass::SecretKey]
        };
        let mut sizes = Vec::with_capacity(classes.len());
        for class in classes {
            sizes.push(
                storage::object_size(*class, Some(kind), 0)
                    .ok_or(ModelError::KeyTypeInconsistent)?,
            );
        }
        if token {
            self.check_fits(sizes.iter().sum())?;
        }
        let mut secret = vec![0u8; crypto::SECRET_LEN];
        self.rng.fill_bytes(&mut secret);
        let mut handles = Vec::with_capacity(classes.len());
        for (class, size) in classes.iter().zip(sizes) {
            let material = if *class == ObjectClass::PublicKey {
                crypto::public_from_private(&secret)
            } else {
                secret.clone()
            };
            handles.push(self.insert(ObjectRecord {
                handle: 0,
                id: id.to_vec(),
                label: label.to_string(),
                class: *class,
                kind: Some(kind),
                token,
                private: class.is_private(),
                secret: material,
                value: Vec::new(),
                size,
                owner_session: (!token).then_some(session),
            }));
        }
        Ok(handles)
    }

    /// Creates a (public) data object (`C_CreateObject`). Needs no login, as on a PKCS#11
    /// token.
    pub fn create_data(
        &mut self,
        session: u64,
        id: &[u8],
        label: &str,
        value: &[u8],
        token: bool,
    ) -> ModelResult<u64> {
        self.check_session(session)?;
        let size = storage::object_size(ObjectClass::Data, None, value.len())
            .ok_or(ModelError::DeviceMemory)?;
        if token {
            self.check_fits(size)?;
        }
        Ok(self.insert(ObjectRecord {
            handle: 0,
            id: id.to_vec(),
            label: label.to_string(),
            class: ObjectClass::Data,
            kind: None,
            token,
            private: false,
            secret: Vec::new(),
            value: value.to_vec(),
            size,
            owner_session: (!token).then_some(session),
        }))
    }

    /// Finds objects matching `query` (`C_FindObjects*`), in handle order. Without login only
    /// public objects are returned.
    pub fn find_objects(&self, session: u64, query: &Query) -> ModelResult<Vec<u64>> {
        let logged_in = self.session_logged_in(session)?;
        Ok(self
            .objects
            .values()
            .filter(|o| (logged_in || !o.private) && o.matches(query))
            .map(|o| o.handle)
            .collect())
    }

    /// Reads id, class, label and token of an object (`C_GetAttributeValue`).
    pub fn object_info(&self, session: u64, handle: u64) -> ModelResult<ObjectView> {
        Ok(self.object(session, handle)?.view())
    }

    /// [`Partition::object_info`] for a caller that keeps only objects labelled `label`: the
    /// same checks and errors, `None` for another label (nothing copied out).
    pub fn object_info_labelled(
        &self,
        session: u64,
        handle: u64,
        label: &str,
    ) -> ModelResult<Option<ObjectView>> {
        let object = self.object(session, handle)?;
        Ok((object.label == label).then(|| object.view()))
    }

    /// [`Partition::object_info_labelled`] for each of `handles` in turn, up to the first that
    /// fails (its error is returned): `each` gets every answer, in order. The same answers and
    /// the same error as the single calls, the session and its login looked up once.
    pub fn objects_info_labelled(
        &self,
        session: u64,
        handles: &[u64],
        label: &str,
        mut each: impl FnMut(Option<ObjectView>),
    ) -> ModelResult<()> {
        if handles.is_empty() {
            return Ok(());
        }
        // What `object` checks first, the same for every call here.
        let logged_in = self.session_logged_in(session)?;
        for &handle in handles {
            let object = self
                .objects
                .get(handle)
                .ok_or(ModelError::ObjectHandleInvalid)?;
            if object.private && !logged_in {
                return Err(ModelError::UserNotLoggedIn);
            }
            each((object.label == label).then(|| object.view()));
        }
        Ok(())
    }

    /// Sets a data object's value (`C_SetAttributeValue` of `CKA_VALUE`; public data objects
    /// need no login, as at creation). A key's value cannot be set
    /// (`KeyFunctionNotPermitted`); a larger value must fit the free storage.
    pub fn set_value(&mut self, session: u64, handle: u64, value: &[u8]) -> ModelResult<()> {
        let object = self.object(session, handle)?;
        if object.class != ObjectClass::Data {
            return Err(ModelError::KeyFunctionNotPermitted);
        }
        let (old, token) = (object.size, object.token);
        let size = storage::object_size(ObjectClass::Data, None, value.len())
            .ok_or(ModelError::DeviceMemory)?;
        if token && size > old {
            self.check_fits(size - old)?;
        }
        if let Some(object) = self.objects.get_mut(handle) {
            object.value = value.to_vec();
            object.size = size;
        }
        Ok(())
    }

    /// A fingerprint of the token object labelled `label` (its class, id and value or key
    /// material, hashed; 16 hex digits), when the partition holds one: equal contents, equal
    /// fingerprints. Never the contents themselves.
    pub fn object_fingerprint(&self, label: &str) -> Option<String> {
        let o = self
            .objects
            .values()
            .find(|o| o.token && o.label == label)?;
        Some(object_fingerprint_of(o))
    }

    /// Every token data object as `(label, fingerprint)` (the fingerprint of
    /// [`Partition::object_fingerprint`]), duplicates included, sorted.
    pub fn data_fingerprints(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .objects
            .values()
            .filter(|o| o.token && o.class == ObjectClass::Data)
            .map(|o| (o.label.clone(), object_fingerprint_of(o)))
            .collect();
        out.sort_unstable();
        out
    }

    /// Destroys an object (`C_DestroyObject`).
    pub fn destroy_object(&mut self, session: u64, handle: u64) -> ModelResult<()> {
        self.object(session, handle)?;
        self.objects.remove(handle);
        Ok(())
    }

    // ----- stand-in crypto ------------------------------------------------------------

    /// Signs `data` (stand-in, see [`crypto::sign`]) with a secret or private key. Needs login.
    /// Public keys and data objects answer `KeyFunctionNotPermitted`.
    pub fn sign(&self, session: u64, key: u64, data: &[u8]) -> ModelResult<Vec<u8>> {
        self.check_login(session)?;
        let object = self.object(session, key)?;
        match object.class {
            ObjectClass::SecretKey | ObjectClass::PrivateKey => {
                Ok(self.with_keyed(&object.secret, |mac| crypto::sign_keyed(mac, data)))
            }
            ObjectClass::PublicKey | ObjectClass::Data => Err(ModelError::KeyFunctionNotPermitted),
        }
    }

    /// `C_SignInit`: starts a multi-part signature on the session. Needs login; one operation
    /// per session (`OperationActive`).
    pub fn sign_init(&mut self, session: u64, key: u64) -> ModelResult<()> {
        self.check_login(session)?;
        if self.sign_ops.contains_key(&session) {
            return Err(ModelError::OperationActive);
        }
        let object = self.object(session, key)?;
        if !matches!(
            object.class,
            ObjectClass::SecretKey | ObjectClass::PrivateKey
        ) {
            return Err(ModelError::KeyFunctionNotPermitted);
        }
        self.sign_ops.insert(session, (key, Vec::new()));
        Ok(())
    }

    /// `C_SignUpdate`: adds data to the session's multi-part signature.
    pub fn sign_update(&mut self, session: u64, data: &[u8]) -> ModelResult<()> {
        self.check_session(session)?;
        let (_, buffer) = self
            .sign_ops
            .get_mut(&session)
            .ok_or(ModelError::OperationNotInitialized)?;
        buffer.extend_from_slice(data);
        Ok(())
    }

    /// `C_SignFinal`: the signature over everything given, equal to a single-part `sign` of
    /// the concatenation. Ends the operation.
    pub fn sign_final(&mut self, session: u64) -> ModelResult<Vec<u8>> {
        self.check_session(session)?;
        let (key, buffer) = self
            .sign_ops
            .remove(&session)
            .ok_or(ModelError::OperationNotInitialized)?;
        self.sign(session, key, &buffer)
    }

    /// Encrypts `data` (stand-in, see [`crypto::encrypt`]) with an AES key. Needs login. Any
    /// other object answers `KeyTypeInconsistent`.
    pub fn encrypt(&self, session: u64, key: u64, data: &[u8]) -> ModelResult<Vec<u8>> {
        self.check_login(session)?;
        let object = self.object(session, key)?;
        match (object.class, object.kind) {
            (ObjectClass::SecretKey, Some(kind)) if kind.is_aes() => {
                Ok(self.with_keyed(&object.secret, |mac| crypto::encrypt_keyed(mac, data)))
            }
            _ => Err(ModelError::KeyTypeInconsistent),
        }
    }

    // ----- cloning --------------------------------------------------------------------

    /// Source half of a clone: seals the object into a blob for this partition's cloning
    /// domain. Needs login. Refused (`CloningNotAllowed`) when HSM policy 7 is 0, or for a
    /// private key when partition policy 0 is 0, or for a secret key when partition policy 4
    /// is 0; public keys and data objects need only HSM policy 7.
    pub fn export_clone(&self, session: u64, handle: u64) -> ModelResult<Vec<u8>> {
        self.check_login(session)?;
        let object = self.object(session, handle)?;
        if self.hsm_policy(policy::HSM_ALLOW_CLONING) == 0 {
            return Err(ModelError::CloningNotAllowed);
        }
        let class_policy = match object.class {
            ObjectClass::PrivateKey => Some(policy::PARTITION_ALLOW_PRIVATE_KEY_CLONING),
            ObjectClass::SecretKey => Some(policy::PARTITION_ALLOW_SECRET_KEY_CLONING),
            ObjectClass::PublicKey | ObjectClass::Data => None,
        };
        if class_policy.is_some_and(|p| self.policy(p) == 0) {
            return Err(ModelError::CloningNotAllowed);
        }
        Ok(clone::seal_record(object, &self.domain_keyed))
    }

    /// Target half of a clone: opens the blob with this partition's own domain key and stores
    /// the copy under a fresh handle (same id, label, class and key material). Needs login.
    /// Checks, in order: HSM policy 7 (`CloningNotAllowed`), blob framing (`CloneBlobInvalid`),
    /// the domain tag (`CloneDomainMismatch`), the payload (`CloneBlobInvalid`), storage
    /// (`DeviceMemory`). A session object is owned by `session`.
    pub fn import_clone(&mut self, session: u64, blob: &[u8]) -> ModelResult<u64> {
        self.check_login(session)?;
        if self.hsm_policy(policy::HSM_ALLOW_CLONING) == 0 {
            return Err(ModelError::CloningNotAllowed);
        }
        let cloned = clone::open_keyed(blob, &self.domain_keyed)?;
        if cloned.token {
            self.check_fits(cloned.size)?;
        }
        let owner = (!cloned.token).then_some(session);
        Ok(self.insert(cloned.into_record(0, owner)))
    }

    // ----- internals ------------------------------------------------------------------

    /// Runs `f` with the HMAC state keyed with `secret`, set up once per key material and kept
    /// ([`Partition::keyed`]).
    fn with_keyed<T>(&self, secret: &[u8], f: impl FnOnce(&crypto::HmacSha256) -> T) -> T {
        let mut keyed = self.keyed.borrow_mut();
        if let Some(mac) = keyed.get(secret) {
            return f(mac);
        }
        let mac = crypto::mac(secret);
        let out = f(&mac);
        keyed.insert(secret.to_vec(), mac);
        out
    }

    fn check_session(&self, session: u64) -> ModelResult<()> {
        self.client_of(session).map(|_| ())
    }

    /// The client a live session belongs to.
    fn client_of(&self, session: u64) -> ModelResult<ClientId> {
        self.sessions
            .get(&session)
            .copied()
            .ok_or(ModelError::SessionHandleInvalid)
    }

    /// True when the session's client is logged in (the session must be live).
    fn session_logged_in(&self, session: u64) -> ModelResult<bool> {
        Ok(self.logged_in.contains(&self.client_of(session)?))
    }

    /// The session is live and its client logged in.
    fn check_login(&self, session: u64) -> ModelResult<()> {
        if self.session_logged_in(session)? {
            Ok(())
        } else {
            Err(ModelError::UserNotLoggedIn)
        }
    }

    /// The object behind a live handle, for a live session; a private object needs the
    /// session's client logged in.
    fn object(&self, session: u64, handle: u64) -> ModelResult<&ObjectRecord> {
        let logged_in = self.session_logged_in(session)?;
        let object = self
            .objects
            .get(handle)
            .ok_or(ModelError::ObjectHandleInvalid)?;
        if object.private && !logged_in {
            return Err(ModelError::UserNotLoggedIn);
        }
        Ok(object)
    }

    fn check_fits(&self, extra: u64) -> ModelResult<()> {
        if self.storage().fits(extra) {
            Ok(())
        } else {
            Err(ModelError::DeviceMemory)
        }
    }

    /// Stores `record` under a fresh handle and returns it.
    fn insert(&mut self, mut record: ObjectRecord) -> u64 {
        let handle = self.next_handle;
        self.next_handle += 1;
        record.handle = handle;
        self.objects.insert(record);
        handle
    }

    /// `client` logs out: its private session objects are destroyed and every object handle
    /// is reissued.
    fn end_login(&mut self, client: ClientId) {
        self.logged_in.remove(&client);
        let sessions = &self.sessions;
        self.objects.retain(|o| {
            o.token
                || !o.private
                || o.owner_session
                    .is_none_or(|s| sessions.get(&s).is_some_and(|c| *c != client))
        });
        self.reissue_handles();
    }

    /// Gives every object a fresh handle, in the order of the old handles.
    fn reissue_handles(&mut self) {
        let first = self.next_handle;
        self.next_handle += self.objects.len() as u64;
        self.objects.reissue(first);
    }
}

/// The first 8 bytes of SHA-256(`tag` || `text`) in hex: equal inputs, equal fingerprints; the
/// input cannot be read back.
fn fingerprint(tag: &str, text: &str) -> String {
    crypto::hex(&crypto::sha256(&[tag.as_bytes(), text.as_bytes()])[..8])
}

/// An object's fingerprint: its class, id and value or key material, hashed (16 hex digits);
/// equal contents, equal fingerprints, never the contents themselves.
fn object_fingerprint_of(o: &ObjectRecord) -> String {
    let digest = crypto::sha256(&[
        b"hasim-object-fingerprint:",
        o.class.name().as_bytes(),
        &o.id,
        &o.value,
        &o.secret,
    ]);
    crypto::hex(&digest[..8])
}
