//! The adapter that makes one `hsm-model` partition a [`Member`]: [`ModelMember`] locks the
//! shared model, calls the partition, and translates types both ways and errors into `CK_RV`
//! values ([`ckr_of`]).

use std::cell::Cell;
use std::sync::{Arc, Mutex};

use ha_engine::ckr::Ckr;
use ha_engine::ports::{
    self, CloneBlob, DataObjectRequest, KeyGenRequest, Member, MemberResult, ObjectHandle,
    ObjectId, ObjectInfo, ObjectQuery, Secret, SessionHandle, TokenInfo,
};
use ha_engine::ports::{AuthKind, HsmForm as PortForm, MemberProperties};
use hsm_model::{
    APPLICATION, AuthMethod, ClientId, HsmModel, ModelError, ObjectView, Partition, Query,
};

/// One partition of a shared [`HsmModel`], seen through the [`Member`] port.
///
/// Every call locks the model for its duration. A poisoned lock answers `CKR_GENERAL_ERROR`;
/// a partition that is not (or no longer) in the model answers `CKR_TOKEN_NOT_PRESENT`.
/// `token_info` reports `protected_auth_path` when the holding HSM authenticates by PED.
/// Sessions it opens belong to its client process ([`hsm_model::APPLICATION`] unless built with
/// [`ModelMember::for_client`]), which has its own login state on the partition.
#[derive(Debug, Clone)]
pub struct ModelMember {
    model: Arc<Mutex<HsmModel>>,
    serial: String,
    client: ClientId,
    /// The partition's label as discovered with the slot (`Member::label`).
    label: Option<String>,
    /// Where the partition was in the model last time ([`HsmModel::partition_mut_at`]).
    at: Cell<usize>,
}

impl ModelMember {
    /// The member for partition `serial` of `model`.
    pub fn new(model: Arc<Mutex<HsmModel>>, serial: impl Into<String>) -> Self {
        Self::for_client(model, serial, APPLICATION)
    }

    /// The member for partition `serial` of `model` as client process `client` sees it (its
    /// own sessions and login, e.g. [`hsm_model::LUNACM`]).
    pub fn for_client(
        model: Arc<Mutex<HsmModel>>,
        serial: impl Into<String>,
        client: ClientId,
    ) -> Self {
        let serial = serial.into();
        let label = model
            .lock()
            .ok()
            .and_then(|m| m.partition(&serial).map(|p| p.label().to_string()));
        ModelMember {
            model,
            serial,
            client,
            label,
            at: Cell::new(0),
        }
    }

    /// The shared model this member reads and writes.
    pub fn model(&self) -> &Arc<Mutex<HsmModel>> {
        &self.model
    }

    /// Runs `call` on the partition under the model lock, mapping errors to `CK_RV`.
    fn with<T>(
        &self,
        call: impl FnOnce(&mut Partition) -> Result<T, ModelError>,
    ) -> MemberResult<T> {
        let mut model = self.model.lock().map_err(|_| Ckr::CKR_GENERAL_ERROR)?;
        let mut at = self.at.get();
        let partition = model
            .partition_mut_at(&self.serial, &mut at)
            .ok_or(Ckr::CKR_TOKEN_NOT_PRESENT)?;
        self.at.set(at);
        call(partition).map_err(|e| ckr_of(&e))
    }
}

/// The `CK_RV` a model error is reported as.
///
/// | `ModelError`              | `CK_RV`                          |
/// |---------------------------|----------------------------------|
/// | `SessionHandleInvalid`    | `CKR_SESSION_HANDLE_INVALID`     |
/// | `UserAlreadyLoggedIn`     | `CKR_USER_ALREADY_LOGGED_IN`     |
/// | `UserNotLoggedIn`         | `CKR_USER_NOT_LOGGED_IN`         |
/// | `PinIncorrect`            | `CKR_PIN_INCORRECT`              |
/// | `PinExpired`              | `CKR_PIN_EXPIRED`                |
/// | `NotActivated`            | `CKR_TOKEN_NOT_RECOGNIZED`       |
/// | `ObjectHandleInvalid`     | `CKR_OBJECT_HANDLE_INVALID`      |
/// | `KeyTypeInconsistent`     | `CKR_KEY_TYPE_INCONSISTENT`      |
/// | `KeyFunctionNotPermitted` | `CKR_KEY_FUNCTION_NOT_PERMITTED` |
/// | `DeviceMemory`            | `CKR_DEVICE_MEMORY`              |
/// | `CloningNotAllowed`       | `CKR_KEY_UNEXTRACTABLE`          |
/// | `CloneDomainMismatch`     | `CKR_WRAPPED_KEY_INVALID`        |
/// | `CloneBlobInvalid`        | `CKR_WRAPPED_KEY_INVALID`        |
/// | anything else             | `CKR_GENERAL_ERROR`              |
pub fn ckr_of(error: &ModelError) -> Ckr {
    match error {
        ModelError::SessionHandleInvalid => Ckr::CKR_SESSION_HANDLE_INVALID,
        ModelError::UserAlreadyLoggedIn => Ckr::CKR_USER_ALREADY_LOGGED_IN,
        ModelError::UserNotLoggedIn => Ckr::CKR_USER_NOT_LOGGED_IN,
        ModelError::PinIncorrect => Ckr::CKR_PIN_INCORRECT,
        ModelError::PinExpired => Ckr::CKR_PIN_EXPIRED,
        ModelError::OperationActive => Ckr::CKR_OPERATION_ACTIVE,
        ModelError::OperationNotInitialized => Ckr::CKR_OPERATION_NOT_INITIALIZED,
        ModelError::NotActivated => Ckr::CKR_TOKEN_NOT_RECOGNIZED,
        ModelError::ObjectHandleInvalid => Ckr::CKR_OBJECT_HANDLE_INVALID,
        ModelError::KeyTypeInconsistent => Ckr::CKR_KEY_TYPE_INCONSISTENT,
        ModelError::KeyFunctionNotPermitted => Ckr::CKR_KEY_FUNCTION_NOT_PERMITTED,
        ModelError::DeviceMemory => Ckr::CKR_DEVICE_MEMORY,
        ModelError::CloningNotAllowed => Ckr::CKR_KEY_UNEXTRACTABLE,
        ModelError::CloneDomainMismatch | ModelError::CloneBlobInvalid => {
            Ckr::CKR_WRAPPED_KEY_INVALID
        }
        _ => Ckr::CKR_GENERAL_ERROR,
    }
}

/// The model's key kind for a port key kind.
pub fn kind_to_model(kind: ports::KeyKind) -> hsm_model::KeyKind {
    match kind {
        ports::KeyKind::Aes128 => hsm_model::KeyKind::Aes128,
        ports::KeyKind::Aes256 => hsm_model::KeyKind::Aes256,
        ports::KeyKind::Rsa2048 => hsm_model::KeyKind::Rsa2048,
        ports::KeyKind::EcP256 => hsm_model::KeyKind::EcP256,
    }
}

/// The port key kind for a model key kind.
pub fn kind_from_model(kind: hsm_model::KeyKind) -> ports::KeyKind {
    match kind {
        hsm_model::KeyKind::Aes128 => ports::KeyKind::Aes128,
        hsm_model::KeyKind::Aes256 => ports::KeyKind::Aes256,
        hsm_model::KeyKind::Rsa2048 => ports::KeyKind::Rsa2048,
        hsm_model::KeyKind::EcP256 => ports::KeyKind::EcP256,
    }
}

/// The model's object class for a port object class.
pub fn class_to_model(class: ports::ObjectClass) -> hsm_model::ObjectClass {
    match class {
        ports::ObjectClass::Data => hsm_model::ObjectClass::Data,
        ports::ObjectClass::SecretKey => hsm_model::ObjectClass::SecretKey,
        ports::ObjectClass::PrivateKey => hsm_model::ObjectClass::PrivateKey,
        ports::ObjectClass::PublicKey => hsm_model::ObjectClass::PublicKey,
    }
}

/// The port object class for a model object class.
pub fn class_from_model(class: hsm_model::ObjectClass) -> ports::ObjectClass {
    match class {
        hsm_model::ObjectClass::Data => ports::ObjectClass::Data,
        hsm_model::ObjectClass::SecretKey => ports::ObjectClass::SecretKey,
        hsm_model::ObjectClass::PrivateKey => ports::ObjectClass::PrivateKey,
        hsm_model::ObjectClass::PublicKey => ports::ObjectClass::PublicKey,
    }
}

/// The model query for a port query.
pub fn query_to_model(query: &ObjectQuery) -> Query {
    Query {
        id: query.id.as_ref().map(|id| id.0.clone()),
        class: query.class.map(class_to_model),
        token: query.token,
        label: query.label.clone(),
    }
}

/// The port object info for a model object view.
pub fn info_from_model(view: ObjectView) -> ObjectInfo {
    ObjectInfo {
        id: ObjectId(view.id),
        class: class_from_model(view.class),
        label: view.label,
        token: view.token,
    }
}

impl Member for ModelMember {
    fn serial(&self) -> &str {
        &self.serial
    }

    fn label(&self) -> Option<&str> {
        self.label.as_deref()
    }

    fn token_info(&mut self) -> MemberResult<TokenInfo> {
        let model = self.model.lock().map_err(|_| Ckr::CKR_GENERAL_ERROR)?;
        let p = model
            .partition(&self.serial)
            .ok_or(Ckr::CKR_TOKEN_NOT_PRESENT)?;
        let hsm = model.hsm_of(&self.serial).ok_or(Ckr::CKR_GENERAL_ERROR)?;
        let storage = p.storage();
        Ok(TokenInfo {
            serial: p.serial().to_string(),
            label: p.label().to_string(),
            total_storage: storage.total,
            used_storage: storage.used,
            free_storage: storage.free,
            object_count: storage.object_count,
            overhead: storage.overhead,
            protected_auth_path: hsm.auth() == AuthMethod::Ped,
        })
    }

    fn open_session(&mut self) -> MemberResult<SessionHandle> {
        let client = self.client;
        self.with(|p| p.open_session_for(client))
    }

    fn close_session(&mut self, session: SessionHandle) -> MemberResult<()> {
        self.with(|p| p.close_session(session))
    }

    fn close_all_sessions(&mut self) -> MemberResult<()> {
        self.with(|p| p.close_all_sessions())
    }

    fn login(&mut self, session: SessionHandle, pin: &Secret) -> MemberResult<()> {
        self.with(|p| p.login(session, pin.expose()))
    }

    fn logout(&mut self, session: SessionHandle) -> MemberResult<()> {
        self.with(|p| p.logout(session))
    }

    fn generate_key(
        &mut self,
        session: SessionHandle,
        request: &KeyGenRequest,
    ) -> MemberResult<Vec<ObjectHandle>> {
        self.with(|p| {
            p.generate_key(
                session,
                kind_to_model(request.kind),
                &request.id.0,
                &request.label,
                request.token,
            )
        })
    }

    fn create_data(
        &mut self,
        session: SessionHandle,
        request: &DataObjectRequest,
    ) -> MemberResult<ObjectHandle> {
        self.with(|p| {
            p.create_data(
                session,
                &request.id.0,
                &request.label,
                &request.value,
                request.token,
            )
        })
    }

    fn find_objects(
        &mut self,
        session: SessionHandle,
        query: &ObjectQuery,
    ) -> MemberResult<Vec<ObjectHandle>> {
        let query = query_to_model(query);
        self.with(|p| p.find_objects(session, &query))
    }

    fn object_info(
        &mut self,
        session: SessionHandle,
        object: ObjectHandle,
    ) -> MemberResult<ObjectInfo> {
        self.with(|p| p.object_info(session, object).map(info_from_model))
    }

    fn object_info_labelled(
        &mut self,
        session: SessionHandle,
        object: ObjectHandle,
        label: &str,
    ) -> MemberResult<Option<ObjectInfo>> {
        self.with(|p| {
            p.object_info_labelled(session, object, label)
                .map(|view| view.map(info_from_model))
        })
    }

    fn objects_info_labelled(
        &mut self,
        session: SessionHandle,
        objects: &[ObjectHandle],
        label: &str,
    ) -> (Vec<Option<ObjectInfo>>, MemberResult<()>) {
        // The same calls as one by one, under one lock of the model.
        let mut out = Vec::with_capacity(objects.len());
        let end = self.with(|p| {
            p.objects_info_labelled(session, objects, label, |view| {
                out.push(view.map(info_from_model));
            })
        });
        (out, end)
    }

    fn destroy_object(&mut self, session: SessionHandle, object: ObjectHandle) -> MemberResult<()> {
        self.with(|p| p.destroy_object(session, object))
    }

    fn sign(
        &mut self,
        session: SessionHandle,
        key: ObjectHandle,
        data: &[u8],
    ) -> MemberResult<Vec<u8>> {
        self.with(|p| p.sign(session, key, data))
    }

    fn encrypt(
        &mut self,
        session: SessionHandle,
        key: ObjectHandle,
        data: &[u8],
    ) -> MemberResult<Vec<u8>> {
        self.with(|p| p.encrypt(session, key, data))
    }

    fn set_value(
        &mut self,
        session: SessionHandle,
        object: ObjectHandle,
        value: &[u8],
    ) -> MemberResult<()> {
        self.with(|p| p.set_value(session, object, value))
    }

    fn export_clone(
        &mut self,
        session: SessionHandle,
        object: ObjectHandle,
    ) -> MemberResult<CloneBlob> {
        self.with(|p| p.export_clone(session, object).map(CloneBlob))
    }

    fn import_clone(
        &mut self,
        session: SessionHandle,
        blob: &CloneBlob,
    ) -> MemberResult<ObjectHandle> {
        self.with(|p| p.import_clone(session, &blob.0))
    }

    fn sign_init(&mut self, session: SessionHandle, key: ObjectHandle) -> MemberResult<()> {
        self.with(|p| p.sign_init(session, key))
    }

    fn sign_update(&mut self, session: SessionHandle, data: &[u8]) -> MemberResult<()> {
        self.with(|p| p.sign_update(session, data))
    }

    fn sign_final(&mut self, session: SessionHandle) -> MemberResult<Vec<u8>> {
        self.with(|p| p.sign_final(session))
    }

    fn properties(&mut self) -> MemberResult<MemberProperties> {
        let model = self.model.lock().map_err(|_| Ckr::CKR_GENERAL_ERROR)?;
        let partition = model
            .partition(&self.serial)
            .ok_or(Ckr::CKR_TOKEN_NOT_PRESENT)?;
        let hsm = model
            .hsm_of(&self.serial)
            .ok_or(Ckr::CKR_TOKEN_NOT_PRESENT)?;
        let fw = hsm.firmware();
        Ok(MemberProperties {
            hsm_serial: hsm.serial().to_string(),
            form: match hsm.form() {
                hsm_model::HsmForm::Network => PortForm::Network,
                hsm_model::HsmForm::Pcie => PortForm::Pcie,
                hsm_model::HsmForm::Usb => PortForm::Usb,
                hsm_model::HsmForm::Cloud => PortForm::Cloud,
            },
            firmware: (fw.major, fw.minor, fw.patch),
            auth: match hsm.auth() {
                AuthMethod::Password => AuthKind::Password,
                AuthMethod::Ped => AuthKind::Ped,
            },
            hsm_policies: hsm.policies().clone(),
            partition_policies: partition.policies().clone(),
            domain_fingerprint: partition.domain_fingerprint(),
            activated: partition.is_activated(),
            co_credential_changed: partition.co_credential_changed(),
            v1: partition.is_v1(),
            activation_fingerprint: partition.activation_fingerprint().map(str::to_string),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failing unwrap is a failing test
mod tests {
    use super::*;
    use hsm_model::{HsmSpec, PartitionSpec};

    const PIN: &str = "co-pin";

    /// P1 and P2 in domain "dom-A" (on two HSMs), P3 in "dom-B"; one member per partition.
    fn members() -> (Arc<Mutex<HsmModel>>, ModelMember, ModelMember, ModelMember) {
        let mut model = HsmModel::new(11);
        model.add_hsm(HsmSpec::new("H1")).unwrap();
        model.add_hsm(HsmSpec::new("H2")).unwrap();
        for (serial, hsm, domain) in [
            ("P1", "H1", "dom-A"),
            ("P2", "H2", "dom-A"),
            ("P3", "H2", "dom-B"),
        ] {
            model
                .add_partition(PartitionSpec::new(
                    serial,
                    serial.to_lowercase(),
                    hsm,
                    domain,
                    PIN,
                ))
                .unwrap();
        }
        let model = Arc::new(Mutex::new(model));
        (
            model.clone(),
            ModelMember::new(model.clone(), "P1"),
            ModelMember::new(model.clone(), "P2"),
            ModelMember::new(model, "P3"),
        )
    }

    fn login(member: &mut ModelMember) -> SessionHandle {
        let s = member.open_session().unwrap();
        member.login(s, &Secret::new(PIN)).unwrap();
        s
    }

    fn keygen(kind: ports::KeyKind, id: &str) -> KeyGenRequest {
        KeyGenRequest {
            kind,
            id: ObjectId(id.as_bytes().to_vec()),
            label: format!("label-{id}"),
            token: true,
        }
    }

    #[test]
    fn clone_across_members_signs_identically() {
        let (_, mut m1, mut m2, _) = members();
        let s1 = login(&mut m1);
        let s2 = login(&mut m2);
        let pair = m1
            .generate_key(s1, &keygen(ports::KeyKind::Rsa2048, "ouid-1"))
            .unwrap();
        assert_eq!(pair.len(), 2);
        let blob = m1.export_clone(s1, pair[0]).unwrap();
        let copy = m2.import_clone(s2, &blob).unwrap();
        assert_eq!(
            m1.sign(s1, pair[0], b"msg").unwrap(),
            m2.sign(s2, copy, b"msg").unwrap()
        );

        let aes = m1
            .generate_key(s1, &keygen(ports::KeyKind::Aes128, "ouid-2"))
            .unwrap()[0];
        let blob = m1.export_clone(s1, aes).unwrap();
        let aes_copy = m2.import_clone(s2, &blob).unwrap();
        assert_eq!(
            m1.encrypt(s1, aes, b"m").unwrap(),
            m2.encrypt(s2, aes_copy, b"m").unwrap()
        );

        let found = m2
            .find_objects(
                s2,
                &ObjectQuery {
                    id: Some(ObjectId(b"ouid-1".to_vec())),
                    ..ObjectQuery::default()
                },
            )
            .unwrap();
        assert_eq!(found, vec![copy]);
        assert_eq!(
            m2.object_info(s2, copy).unwrap(),
            ObjectInfo {
                id: ObjectId(b"ouid-1".to_vec()),
                class: ports::ObjectClass::PrivateKey,
                label: "label-ouid-1".to_string(),
                token: true,
            }
        );
    }

    #[test]
    fn clone_to_another_domain_is_a_wrapped_key_error() {
        let (_, mut m1, _, mut m3) = members();
        let s1 = login(&mut m1);
        let s3 = login(&mut m3);
        let key = m1
            .generate_key(s1, &keygen(ports::KeyKind::Aes256, "k"))
            .unwrap()[0];
        let blob = m1.export_clone(s1, key).unwrap();
        assert_eq!(
            m3.import_clone(s3, &blob),
            Err(Ckr::CKR_WRAPPED_KEY_INVALID)
        );
        assert_eq!(
            m3.import_clone(s3, &CloneBlob(b"junk".to_vec())),
            Err(Ckr::CKR_WRAPPED_KEY_INVALID)
        );
        assert_eq!(m3.token_info().unwrap().object_count, 0);
    }

    #[test]
    fn token_info_reports_storage() {
        let (_, mut m1, _, _) = members();
        let s = login(&mut m1);
        m1.generate_key(s, &keygen(ports::KeyKind::Aes256, "a"))
            .unwrap();
        m1.generate_key(s, &keygen(ports::KeyKind::EcP256, "e"))
            .unwrap();
        m1.create_data(
            s,
            &DataObjectRequest {
                id: ObjectId(b"d".to_vec()),
                label: "d".into(),
                value: vec![1, 2, 3],
                token: false,
            },
        )
        .unwrap();
        let used = 9648 + 528 + 736 + 480;
        assert_eq!(
            m1.token_info().unwrap(),
            TokenInfo {
                serial: "P1".into(),
                label: "p1".into(),
                total_storage: 325_896,
                used_storage: used,
                free_storage: 325_896 - used,
                object_count: 3,
                overhead: 9648,
                protected_auth_path: false,
            }
        );
        assert_eq!(m1.serial(), "P1");
    }

    #[test]
    fn errors_map_to_ckr() {
        let (model, mut m1, _, _) = members();
        let s = m1.open_session().unwrap();
        assert_eq!(
            m1.login(s, &Secret::new("nope")),
            Err(Ckr::CKR_PIN_INCORRECT)
        );
        m1.login(s, &Secret::new(PIN)).unwrap();
        assert_eq!(
            m1.login(s, &Secret::new(PIN)),
            Err(Ckr::CKR_USER_ALREADY_LOGGED_IN)
        );
        let pair = m1
            .generate_key(s, &keygen(ports::KeyKind::EcP256, "e"))
            .unwrap();
        assert_eq!(
            m1.sign(s, pair[1], b"m"),
            Err(Ckr::CKR_KEY_FUNCTION_NOT_PERMITTED)
        );
        assert_eq!(
            m1.encrypt(s, pair[0], b"m"),
            Err(Ckr::CKR_KEY_TYPE_INCONSISTENT)
        );
        m1.logout(s).unwrap();
        assert_eq!(m1.logout(s), Err(Ckr::CKR_USER_NOT_LOGGED_IN));
        m1.login(s, &Secret::new(PIN)).unwrap();
        assert_eq!(
            m1.sign(s, pair[0], b"m"),
            Err(Ckr::CKR_OBJECT_HANDLE_INVALID)
        );
        m1.close_all_sessions().unwrap();
        assert_eq!(m1.open_session().map(|_| ()), Ok(()));
        assert_eq!(
            m1.sign(s, pair[0], b"m"),
            Err(Ckr::CKR_SESSION_HANDLE_INVALID)
        );

        {
            let mut guard = model.lock().unwrap();
            let p1 = guard.partition_mut("P1").unwrap();
            p1.set_policy(0, 0);
            p1.set_activated(false);
        }
        let s = m1.open_session().unwrap();
        assert_eq!(
            m1.login(s, &Secret::new(PIN)),
            Err(Ckr::CKR_TOKEN_NOT_RECOGNIZED)
        );
        model
            .lock()
            .unwrap()
            .partition_mut("P1")
            .unwrap()
            .set_activated(true);
        m1.login(s, &Secret::new(PIN)).unwrap();
        let found = m1
            .find_objects(
                s,
                &ObjectQuery {
                    class: Some(ports::ObjectClass::PrivateKey),
                    ..ObjectQuery::default()
                },
            )
            .unwrap();
        assert_eq!(
            m1.export_clone(s, found[0]),
            Err(Ckr::CKR_KEY_UNEXTRACTABLE)
        );

        let mut ghost = ModelMember::new(model, "P9");
        assert_eq!(ghost.open_session(), Err(Ckr::CKR_TOKEN_NOT_PRESENT));
        assert_eq!(ghost.token_info(), Err(Ckr::CKR_TOKEN_NOT_PRESENT));
    }

    #[test]
    fn ped_hsm_reports_protected_auth_path() {
        let mut model = HsmModel::new(1);
        let mut hsm = HsmSpec::new("H");
        hsm.auth = hsm_model::AuthMethod::Ped;
        model.add_hsm(hsm).unwrap();
        model
            .add_partition(PartitionSpec::new("P", "p", "H", "d", PIN))
            .unwrap();
        let mut m = ModelMember::new(Arc::new(Mutex::new(model)), "P");
        assert!(m.token_info().unwrap().protected_auth_path);
    }

    #[test]
    fn device_memory_is_reported() {
        let mut model = HsmModel::new(1);
        model.add_hsm(HsmSpec::new("H")).unwrap();
        let mut spec = PartitionSpec::new("P", "p", "H", "d", PIN);
        spec.total_storage = spec.overhead + 100;
        model.add_partition(spec).unwrap();
        let mut m = ModelMember::new(Arc::new(Mutex::new(model)), "P");
        let s = login(&mut m);
        assert_eq!(
            m.generate_key(s, &keygen(ports::KeyKind::Aes128, "a")),
            Err(Ckr::CKR_DEVICE_MEMORY)
        );
    }

    #[test]
    fn a_poisoned_model_is_a_general_error() {
        let (model, mut m1, _, _) = members();
        let poisoner = Arc::clone(&model);
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
            let _guard = poisoner.lock().unwrap();
            panic!("poison the model lock");
        }));
        assert!(model.is_poisoned());
        assert_eq!(m1.open_session(), Err(Ckr::CKR_GENERAL_ERROR));
    }

    #[test]
    fn error_table_defaults_to_general_error() {
        assert_eq!(
            ckr_of(&ModelError::DuplicateSerial("x".into())),
            Ckr::CKR_GENERAL_ERROR
        );
        assert_eq!(
            ckr_of(&ModelError::UnknownPartition("x".into())),
            Ckr::CKR_GENERAL_ERROR
        );
        assert_eq!(
            ckr_of(&ModelError::CloneBlobInvalid),
            Ckr::CKR_WRAPPED_KEY_INVALID
        );
        assert_eq!(ckr_of(&ModelError::PinExpired), Ckr::CKR_PIN_EXPIRED);
    }

    #[test]
    fn conversions_round_trip() {
        for kind in [
            ports::KeyKind::Aes128,
            ports::KeyKind::Aes256,
            ports::KeyKind::Rsa2048,
            ports::KeyKind::EcP256,
        ] {
            assert_eq!(kind_from_model(kind_to_model(kind)), kind);
        }
        for class in [
            ports::ObjectClass::Data,
            ports::ObjectClass::SecretKey,
            ports::ObjectClass::PrivateKey,
            ports::ObjectClass::PublicKey,
        ] {
            assert_eq!(class_from_model(class_to_model(class)), class);
        }
    }
}
