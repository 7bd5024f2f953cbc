//! The `Member` port of [`Pkcs11Member`], plus the calls the port lacks that tests need
//! (verify, decrypt, key check value, a key that cannot be replicated).
//!
//! Every call checks its session first (`CKR_SESSION_HANDLE_INVALID`), then, for calls that
//! need it, the login state (`CKR_USER_NOT_LOGGED_IN`), then the object: the order the model
//! checks in, so both backends answer alike.

use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{SessionState, UserType};
use cryptoki::types::AuthPin;
use ha_engine::ckr::Ckr;
use ha_engine::ports::{
    self, CloneBlob, DataObjectRequest, KeyGenRequest, KeyKind, Member, MemberResult,
    ObjectHandle as PortHandle, ObjectId, ObjectInfo, ObjectQuery, Secret, SessionHandle,
    TokenInfo,
};

use crate::error::ckr_of;
use crate::handles::Shape;
use crate::member::{Pkcs11Member, SignOp, auth_pin, require_login, session_of};
use crate::ops;
use crate::templates::{self, is_setup_id};

/// The `cryptoki` object class of a port class.
pub fn class_to_ck(class: ports::ObjectClass) -> ObjectClass {
    match class {
        ports::ObjectClass::Data => ObjectClass::DATA,
        ports::ObjectClass::SecretKey => ObjectClass::SECRET_KEY,
        ports::ObjectClass::PrivateKey => ObjectClass::PRIVATE_KEY,
        ports::ObjectClass::PublicKey => ObjectClass::PUBLIC_KEY,
    }
}

/// The port class of a `cryptoki` class, if it is one of the four the engine uses.
pub fn class_from_ck(class: ObjectClass) -> Option<ports::ObjectClass> {
    match class {
        ObjectClass::DATA => Some(ports::ObjectClass::Data),
        ObjectClass::SECRET_KEY => Some(ports::ObjectClass::SecretKey),
        ObjectClass::PRIVATE_KEY => Some(ports::ObjectClass::PrivateKey),
        ObjectClass::PUBLIC_KEY => Some(ports::ObjectClass::PublicKey),
        _ => None,
    }
}

/// What tells one object's contents apart ([`Pkcs11Member::object_material`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectMaterial {
    /// `CKA_CLASS`.
    pub class: ports::ObjectClass,
    /// `CKA_ID` (a data object's `CKA_APPLICATION`).
    pub id: Vec<u8>,
    /// A data object's value, a secret key's check value, nothing for a key pair's halves.
    pub material: Vec<u8>,
}

impl Pkcs11Member {
    /// The real handle and shape behind port handle `h` (the session is already checked).
    pub(crate) fn resolve(
        &mut self,
        session: SessionHandle,
        h: PortHandle,
    ) -> MemberResult<(ObjectHandle, Shape)> {
        let real = self.handles.real(h)?;
        if let Some(shape) = self.handles.shape(h) {
            return Ok((real, shape));
        }
        let s = session_of(&self.sessions, session)?;
        let shape = ops::read_shape(s, real)?;
        self.handles.set_shape(h, shape);
        Ok((real, shape))
    }

    /// Issues a port handle for a new object whose shape is known.
    pub(crate) fn issue(&mut self, real: ObjectHandle, shape: Shape) -> PortHandle {
        let h = self.handles.issue(real);
        self.handles.set_shape(h, shape);
        h
    }

    /// The engine's token objects (setup objects excluded). Private objects are visible only
    /// when the token is logged in: when it is not, the member logs in for the count with its
    /// credential (and out again), if it has one.
    fn count_token_objects(&self) -> MemberResult<u64> {
        // Read the ids before logging out: a logout reissues private objects' handles.
        self.with_reading_session(|s| {
            let mut n = 0;
            for h in s
                .find_objects(&[Attribute::Token(true)])
                .map_err(|e| ckr_of(&e))?
            {
                let attrs = s
                    .get_attributes(h, &[AttributeType::Id])
                    .map_err(|e| ckr_of(&e))?;
                let setup = attrs
                    .iter()
                    .any(|a| matches!(a, Attribute::Id(id) if is_setup_id(id)));
                if !setup {
                    n += 1;
                }
            }
            Ok(n)
        })
    }

    /// Runs `read` on a short-lived read-only session of this connection, logged in with the
    /// member's credential (and out again afterwards) when the token is not logged in and the
    /// member has one; the session is closed whatever `read` returns.
    fn with_reading_session<T>(
        &self,
        read: impl FnOnce(&cryptoki::session::Session) -> MemberResult<T>,
    ) -> MemberResult<T> {
        let ctx = self.library().ctx();
        let s = ctx
            .open_ro_session_no_drop(self.slot)
            .map_err(|e| ckr_of(&e))?;
        let result = (|| {
            let state = s
                .get_session_info()
                .map_err(|e| ckr_of(&e))?
                .session_state();
            let mut logged_in_here = false;
            if matches!(state, SessionState::RoPublic | SessionState::RwPublic)
                && let Some(pin) = &self.credential
            {
                logged_in_here = s.login(UserType::User, Some(&auth_pin(pin))).is_ok();
            }
            let read = read(&s);
            if logged_in_here {
                let _ = s.logout();
            }
            read
        })();
        let _ = s.close();
        result
    }

    /// What tells the contents of the token object labelled `label` apart (not part of the
    /// port; read on a short-lived session of this connection, logged in with the member's
    /// credential when the token is not, as for the object count): its class, its id
    /// (`CKA_ID`, for a data object `CKA_APPLICATION`) and its material: a data object's
    /// `CKA_VALUE`, a secret key's check value (its value is sensitive), nothing for the
    /// halves of a key pair. `None` when the token holds no such object.
    pub fn object_material(&self, label: &str) -> MemberResult<Option<ObjectMaterial>> {
        self.with_reading_session(|s| {
            let template = [
                Attribute::Token(true),
                Attribute::Label(label.as_bytes().to_vec()),
            ];
            let Some(real) = s
                .find_objects(&template)
                .map_err(|e| ckr_of(&e))?
                .into_iter()
                .min_by_key(|h| h.handle())
            else {
                return Ok(None);
            };
            let shape = ops::read_shape(s, real)?;
            let Some(class) = class_from_ck(shape.class) else {
                return Ok(None);
            };
            let attrs = s
                .get_attributes(real, &[templates::id_attribute(shape.class)])
                .map_err(|e| ckr_of(&e))?;
            let id = attrs
                .into_iter()
                .find_map(|a| match a {
                    Attribute::Id(v) | Attribute::Application(v) => Some(v),
                    _ => None,
                })
                .unwrap_or_default();
            let material = match class {
                ports::ObjectClass::Data => s
                    .get_attributes(real, &[AttributeType::Value])
                    .map_err(|e| ckr_of(&e))?
                    .into_iter()
                    .find_map(|a| match a {
                        Attribute::Value(v) => Some(v),
                        _ => None,
                    })
                    .unwrap_or_default(),
                // A key that may not encrypt has no check value: its class and id only.
                ports::ObjectClass::SecretKey => ops::key_check_value(s, real, shape)
                    .map(|kcv| kcv.to_vec())
                    .unwrap_or_default(),
                _ => Vec::new(),
            };
            Ok(Some(ObjectMaterial {
                class,
                id,
                material,
            }))
        })
    }

    /// `C_Verify` with a secret or public key (not part of the port; used by tests and tools).
    pub fn verify(
        &mut self,
        session: SessionHandle,
        key: PortHandle,
        data: &[u8],
        signature: &[u8],
    ) -> MemberResult<bool> {
        session_of(&self.sessions, session)?;
        let (real, shape) = self.resolve(session, key)?;
        ops::verify(
            session_of(&self.sessions, session)?,
            real,
            shape,
            data,
            signature,
        )
    }

    /// `C_Decrypt` of what [`Member::encrypt`] produced.
    pub fn decrypt(
        &mut self,
        session: SessionHandle,
        key: PortHandle,
        data: &[u8],
    ) -> MemberResult<Vec<u8>> {
        let s = session_of(&self.sessions, session)?;
        require_login(s)?;
        let (real, shape) = self.resolve(session, key)?;
        ops::decrypt(session_of(&self.sessions, session)?, real, shape, data)
    }

    /// The key check value of an AES key (first 3 bytes of AES-ECB of a zero block).
    pub fn key_check_value(
        &mut self,
        session: SessionHandle,
        key: PortHandle,
    ) -> MemberResult<[u8; 3]> {
        let s = session_of(&self.sessions, session)?;
        require_login(s)?;
        let (real, shape) = self.resolve(session, key)?;
        ops::key_check_value(session_of(&self.sessions, session)?, real, shape)
    }

    /// Generates an AES-256 token key with `CKA_EXTRACTABLE` false: a key this member holds
    /// but cannot replicate (for tests of the refusal).
    pub fn generate_unextractable_aes(
        &mut self,
        session: SessionHandle,
        id: &ObjectId,
        label: &str,
    ) -> MemberResult<PortHandle> {
        let s = session_of(&self.sessions, session)?;
        require_login(s)?;
        let mut t = templates::aes_secret(true, &id.0, label, Some(32));
        t.retain(|a| !matches!(a, Attribute::Extractable(_)));
        t.push(Attribute::Extractable(false));
        let real = s
            .generate_key(&Mechanism::AesKeyGen, &t)
            .map_err(|e| ckr_of(&e))?;
        Ok(self.issue(
            real,
            Shape {
                class: ObjectClass::SECRET_KEY,
                key_type: Some(KeyType::AES),
            },
        ))
    }
}

impl Member for Pkcs11Member {
    fn serial(&self) -> &str {
        &self.serial
    }

    fn label(&self) -> Option<&str> {
        Some(&self.label)
    }

    fn token_info(&mut self) -> MemberResult<TokenInfo> {
        let info = self
            .library()
            .ctx()
            .get_token_info(self.slot)
            .map_err(|e| ckr_of(&e))?;
        let object_count = self.count_token_objects()?;
        let sum = |a: Option<usize>, b: Option<usize>| (a.unwrap_or(0) + b.unwrap_or(0)) as u64;
        let total = sum(info.total_public_memory(), info.total_private_memory());
        let free = sum(info.free_public_memory(), info.free_private_memory());
        Ok(TokenInfo {
            serial: info.serial_number().trim_end().to_string(),
            label: info.label().trim_end().to_string(),
            total_storage: total,
            used_storage: total.saturating_sub(free),
            free_storage: free,
            object_count,
            overhead: 0,
            protected_auth_path: info.protected_authentication_path(),
        })
    }

    fn open_session(&mut self) -> MemberResult<SessionHandle> {
        self.open_module_session()
    }

    fn close_session(&mut self, session: SessionHandle) -> MemberResult<()> {
        let s = self
            .sessions
            .remove(&session)
            .ok_or(Ckr::CKR_SESSION_HANDLE_INVALID)?;
        self.sign_ops.remove(&session);
        let closed = s.close().map_err(|e| ckr_of(&e));
        if self.sessions.is_empty() {
            // The last session closed: the token is logged out and reissues its handles.
            self.invalidate_handles();
        }
        closed
    }

    fn close_all_sessions(&mut self) -> MemberResult<()> {
        self.forget_connection();
        crate::raw::close_all_sessions(self.library().path(), self.slot)
    }

    fn login(&mut self, session: SessionHandle, pin: &Secret) -> MemberResult<()> {
        let s = session_of(&self.sessions, session)?;
        s.login(UserType::User, Some(&AuthPin::from(pin.expose())))
            .map_err(|e| ckr_of(&e))?;
        self.remember(pin.expose());
        Ok(())
    }

    fn logout(&mut self, session: SessionHandle) -> MemberResult<()> {
        let s = session_of(&self.sessions, session)?;
        // SoftHSM answers CKR_OK to a logout without a login; PKCS#11 (and the model) say
        // CKR_USER_NOT_LOGGED_IN.
        require_login(s)?;
        let r = s.logout().map_err(|e| ckr_of(&e));
        self.invalidate_handles();
        r
    }

    fn generate_key(
        &mut self,
        session: SessionHandle,
        request: &KeyGenRequest,
    ) -> MemberResult<Vec<PortHandle>> {
        let s = session_of(&self.sessions, session)?;
        require_login(s)?;
        let (id, label, token) = (&request.id.0, request.label.as_str(), request.token);
        let secret = |kt| Shape {
            class: ObjectClass::SECRET_KEY,
            key_type: Some(kt),
        };
        let pair = |kt| {
            [
                Shape {
                    class: ObjectClass::PRIVATE_KEY,
                    key_type: Some(kt),
                },
                Shape {
                    class: ObjectClass::PUBLIC_KEY,
                    key_type: Some(kt),
                },
            ]
        };
        let created = match request.kind {
            KeyKind::Aes128 | KeyKind::Aes256 => {
                let len = if request.kind == KeyKind::Aes128 {
                    16
                } else {
                    32
                };
                let t = templates::aes_secret(token, id, label, Some(len));
                let k = s
                    .generate_key(&Mechanism::AesKeyGen, &t)
                    .map_err(|e| ckr_of(&e))?;
                vec![(k, secret(KeyType::AES))]
            }
            KeyKind::Rsa2048 | KeyKind::EcP256 => {
                let (mech, public, kt) = if request.kind == KeyKind::Rsa2048 {
                    (
                        Mechanism::RsaPkcsKeyPairGen,
                        templates::rsa_public_gen(token, id, label),
                        KeyType::RSA,
                    )
                } else {
                    (
                        Mechanism::EccKeyPairGen,
                        templates::ec_public_gen(token, id, label),
                        KeyType::EC,
                    )
                };
                let private = templates::private_key(kt, token, id, label);
                let (public_h, private_h) = s
                    .generate_key_pair(&mech, &public, &private)
                    .map_err(|e| ckr_of(&e))?;
                let [ps, us] = pair(kt);
                vec![(private_h, ps), (public_h, us)]
            }
        };
        Ok(created
            .into_iter()
            .map(|(real, shape)| self.issue(real, shape))
            .collect())
    }

    fn create_data(
        &mut self,
        session: SessionHandle,
        request: &DataObjectRequest,
    ) -> MemberResult<PortHandle> {
        let s = session_of(&self.sessions, session)?;
        let t =
            templates::data_object(request.token, &request.id.0, &request.label, &request.value);
        let real = s.create_object(&t).map_err(|e| ckr_of(&e))?;
        Ok(self.issue(
            real,
            Shape {
                class: ObjectClass::DATA,
                key_type: None,
            },
        ))
    }

    fn find_objects(
        &mut self,
        session: SessionHandle,
        query: &ObjectQuery,
    ) -> MemberResult<Vec<PortHandle>> {
        let s = session_of(&self.sessions, session)?;
        if query.id.as_ref().is_some_and(|id| is_setup_id(&id.0)) {
            return Ok(Vec::new());
        }
        // The attributes every search carries whatever its class: `CKA_TOKEN`, `CKA_LABEL`.
        let common: Vec<Attribute> = query
            .token
            .map(Attribute::Token)
            .into_iter()
            .chain(
                query
                    .label
                    .as_ref()
                    .map(|l| Attribute::Label(l.as_bytes().to_vec())),
            )
            .collect();
        let mut found = Vec::new();
        if let Some(id) = &query.id {
            // Keys carry the id in CKA_ID, data objects in CKA_APPLICATION: one search per
            // class asked for.
            let classes = match query.class {
                Some(c) => vec![class_to_ck(c)],
                None => vec![
                    ObjectClass::DATA,
                    ObjectClass::SECRET_KEY,
                    ObjectClass::PRIVATE_KEY,
                    ObjectClass::PUBLIC_KEY,
                ],
            };
            for class in classes {
                let mut template = templates::id_template(class, &id.0);
                template.extend(common.iter().cloned());
                found.extend(s.find_objects(&template).map_err(|e| ckr_of(&e))?);
            }
        } else {
            let mut template: Vec<Attribute> = query
                .class
                .map(|c| Attribute::Class(class_to_ck(c)))
                .into_iter()
                .collect();
            template.extend(common);
            for real in s.find_objects(&template).map_err(|e| ckr_of(&e))? {
                // Leave out setup objects and classes the engine does not use.
                let attrs = s
                    .get_attributes(real, &[AttributeType::Id, AttributeType::Class])
                    .map_err(|e| ckr_of(&e))?;
                let ours = attrs.iter().all(|a| match a {
                    Attribute::Id(id) => !is_setup_id(id),
                    Attribute::Class(c) => class_from_ck(*c).is_some(),
                    _ => true,
                });
                if ours {
                    found.push(real);
                }
            }
        }
        found.sort_by_key(|h| h.handle());
        let keep = found;
        Ok(keep.into_iter().map(|r| self.handles.issue(r)).collect())
    }

    fn object_info(
        &mut self,
        session: SessionHandle,
        object: PortHandle,
    ) -> MemberResult<ObjectInfo> {
        let s = session_of(&self.sessions, session)?;
        let real = self.handles.real(object)?;
        let attrs = s
            .get_attributes(
                real,
                &[
                    AttributeType::Id,
                    AttributeType::Application,
                    AttributeType::Class,
                    AttributeType::Label,
                    AttributeType::Token,
                ],
            )
            .map_err(|e| ckr_of(&e))?;
        let (mut id, mut class, mut label, mut token) = (Vec::new(), None, Vec::new(), false);
        for a in attrs {
            match a {
                // A data object has no CKA_ID; its id is its CKA_APPLICATION.
                Attribute::Id(v) | Attribute::Application(v) => id = v,
                Attribute::Class(c) => class = class_from_ck(c),
                Attribute::Label(v) => label = v,
                Attribute::Token(t) => token = t,
                _ => {}
            }
        }
        Ok(ObjectInfo {
            id: ObjectId(id),
            class: class.ok_or(Ckr::CKR_GENERAL_ERROR)?,
            label: String::from_utf8_lossy(&label).into_owned(),
            token,
        })
    }

    fn destroy_object(&mut self, session: SessionHandle, object: PortHandle) -> MemberResult<()> {
        let s = session_of(&self.sessions, session)?;
        let real = self.handles.real(object)?;
        s.destroy_object(real).map_err(|e| ckr_of(&e))?;
        self.handles.remove(object);
        Ok(())
    }

    fn sign(
        &mut self,
        session: SessionHandle,
        key: PortHandle,
        data: &[u8],
    ) -> MemberResult<Vec<u8>> {
        require_login(session_of(&self.sessions, session)?)?;
        let (real, shape) = self.resolve(session, key)?;
        ops::sign(session_of(&self.sessions, session)?, real, shape, data)
    }

    fn encrypt(
        &mut self,
        session: SessionHandle,
        key: PortHandle,
        data: &[u8],
    ) -> MemberResult<Vec<u8>> {
        require_login(session_of(&self.sessions, session)?)?;
        let (real, shape) = self.resolve(session, key)?;
        ops::encrypt(session_of(&self.sessions, session)?, real, shape, data)
    }

    fn set_value(
        &mut self,
        session: SessionHandle,
        object: PortHandle,
        value: &[u8],
    ) -> MemberResult<()> {
        // Only a data object's value can change (a key's value is not settable, as on the
        // model: CKR_KEY_FUNCTION_NOT_PERMITTED).
        let (real, shape) = self.resolve(session, object)?;
        if shape.class != ObjectClass::DATA {
            return Err(Ckr::CKR_KEY_FUNCTION_NOT_PERMITTED);
        }
        let s = session_of(&self.sessions, session)?;
        match s.update_attributes(real, &[Attribute::Value(value.to_vec())]) {
            Err(e) if ckr_of(&e) == Ckr::CKR_ATTRIBUTE_READ_ONLY => {}
            other => return other.map_err(|e| ckr_of(&e)),
        }
        // PKCS#11 does not list a data object's CKA_VALUE as modifiable, and SoftHSM refuses
        // it: the change is made as another application would make it there, by creating the
        // object again with the new value (same CKA_APPLICATION, label, token flag) and
        // destroying the old one. The engine's handle keeps naming it.
        let attrs = s
            .get_attributes(
                real,
                &[
                    AttributeType::Application,
                    AttributeType::Label,
                    AttributeType::Token,
                ],
            )
            .map_err(|e| ckr_of(&e))?;
        let (mut id, mut label, mut token) = (Vec::new(), Vec::new(), true);
        for a in attrs {
            match a {
                Attribute::Application(v) => id = v,
                Attribute::Label(v) => label = v,
                Attribute::Token(t) => token = t,
                _ => {}
            }
        }
        let label = String::from_utf8_lossy(&label);
        let fresh = s
            .create_object(&templates::data_object(token, &id, &label, value))
            .map_err(|e| ckr_of(&e))?;
        if let Err(e) = s.destroy_object(real) {
            let _ = s.destroy_object(fresh);
            return Err(ckr_of(&e));
        }
        self.handles.rebind(object, fresh);
        Ok(())
    }

    fn export_clone(
        &mut self,
        session: SessionHandle,
        object: PortHandle,
    ) -> MemberResult<CloneBlob> {
        self.export(session, object)
    }

    fn import_clone(
        &mut self,
        session: SessionHandle,
        blob: &CloneBlob,
    ) -> MemberResult<PortHandle> {
        self.import(session, blob)
    }

    fn sign_init(&mut self, session: SessionHandle, key: PortHandle) -> MemberResult<()> {
        let s = session_of(&self.sessions, session)?;
        require_login(s)?;
        if self.sign_ops.contains_key(&session) {
            return Err(Ckr::CKR_OPERATION_ACTIVE);
        }
        let (real, shape) = self.resolve(session, key)?;
        let kind = ops::sign_kind(shape)?;
        let s = session_of(&self.sessions, session)?;
        let op = match kind {
            ops::SignKind::Ecdsa => {
                s.digest_init(&Mechanism::Sha256).map_err(|e| ckr_of(&e))?;
                SignOp::EcDigest { key: real }
            }
            _ => {
                s.sign_init(&kind.mechanism(), real)
                    .map_err(|e| ckr_of(&e))?;
                SignOp::Native
            }
        };
        self.sign_ops.insert(session, op);
        Ok(())
    }

    fn sign_update(&mut self, session: SessionHandle, data: &[u8]) -> MemberResult<()> {
        let s = session_of(&self.sessions, session)?;
        let op = *self
            .sign_ops
            .get(&session)
            .ok_or(Ckr::CKR_OPERATION_NOT_INITIALIZED)?;
        let r = match op {
            SignOp::Native => s.sign_update(data),
            SignOp::EcDigest { .. } => s.digest_update(data),
        };
        if let Err(e) = r {
            // A failed update ends the operation (PKCS#11 5.2).
            self.sign_ops.remove(&session);
            return Err(ckr_of(&e));
        }
        Ok(())
    }

    fn sign_final(&mut self, session: SessionHandle) -> MemberResult<Vec<u8>> {
        let s = session_of(&self.sessions, session)?;
        let op = self
            .sign_ops
            .remove(&session)
            .ok_or(Ckr::CKR_OPERATION_NOT_INITIALIZED)?;
        match op {
            SignOp::Native => s.sign_final().map_err(|e| ckr_of(&e)),
            SignOp::EcDigest { key } => {
                let digest = s.digest_final().map_err(|e| ckr_of(&e))?;
                s.sign(&Mechanism::Ecdsa, key, &digest)
                    .map_err(|e| ckr_of(&e))
            }
        }
    }
}
