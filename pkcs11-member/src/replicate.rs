//! Replication inside a cloning domain without the Luna cloning protocol: every member of the
//! domain holds the same two setup keys (the domain wrapping key and the domain MAC key, under
//! reserved `CKA_ID`s, see [`crate::templates`]). `export_clone` wraps a secret or private key
//! under the wrapping key (`CKM_AES_KEY_WRAP_PAD` or `_KWP`, whichever the token offers) or
//! copies a public key or data object by attributes, and seals the blob with an AES-CMAC under
//! the MAC key ([`crate::blob`]); `import_clone` checks the MAC with its own MAC key and
//! unwraps or creates the object under the same `CKA_ID`.

use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;
use ha_engine::ckr::Ckr;
use ha_engine::ports::{CloneBlob, MemberResult, ObjectHandle as PortHandle, SessionHandle};
use std::collections::BTreeMap;

use crate::blob::{self, BlobBody, BlobKeyType, BlobKind, tag};
use crate::error::{ExportError, ckr_of};
use crate::handles::Shape;
use crate::member::{Pkcs11Member, require_login, session_of};
use crate::ops::WrapMechanism;
use crate::templates::{self, DOMAIN_MAC_ID, DOMAIN_WRAP_ID};

/// Reads byte-string attributes of an object, in the order asked.
fn read_bytes(s: &Session, h: ObjectHandle, types: &[AttributeType]) -> MemberResult<Vec<Vec<u8>>> {
    let attrs = s.get_attributes(h, types).map_err(|e| ckr_of(&e))?;
    let mut out = Vec::with_capacity(types.len());
    for t in types {
        let value = attrs.iter().find_map(|a| match (a, t) {
            (Attribute::Id(v), AttributeType::Id)
            | (Attribute::Application(v), AttributeType::Application)
            | (Attribute::Label(v), AttributeType::Label)
            | (Attribute::Modulus(v), AttributeType::Modulus)
            | (Attribute::PublicExponent(v), AttributeType::PublicExponent)
            | (Attribute::EcParams(v), AttributeType::EcParams)
            | (Attribute::EcPoint(v), AttributeType::EcPoint)
            | (Attribute::Value(v), AttributeType::Value) => Some(v.clone()),
            _ => None,
        });
        out.push(value.unwrap_or_default());
    }
    Ok(out)
}

/// Reads a boolean attribute (false when the object does not have it).
fn read_bool(s: &Session, h: ObjectHandle, t: AttributeType) -> MemberResult<bool> {
    let attrs = s.get_attributes(h, &[t]).map_err(|e| ckr_of(&e))?;
    Ok(attrs.iter().any(|a| {
        matches!(
            (a, t),
            (Attribute::Token(true), AttributeType::Token)
                | (Attribute::Extractable(true), AttributeType::Extractable)
        )
    }))
}

fn class_name(class: ObjectClass) -> &'static str {
    match class {
        ObjectClass::SECRET_KEY => "secret key",
        ObjectClass::PRIVATE_KEY => "private key",
        ObjectClass::PUBLIC_KEY => "public key",
        ObjectClass::DATA => "data object",
        _ => "object",
    }
}

fn blob_key_type(kt: Option<KeyType>) -> Option<BlobKeyType> {
    match kt {
        Some(KeyType::AES) => Some(BlobKeyType::Aes),
        Some(KeyType::RSA) => Some(BlobKeyType::Rsa),
        Some(KeyType::EC) => Some(BlobKeyType::Ec),
        _ => None,
    }
}

impl Pkcs11Member {
    /// The domain keys (wrap, MAC) of this token, looked up once per handle epoch.
    fn domain_keys(
        &mut self,
        session: SessionHandle,
    ) -> MemberResult<Option<(ObjectHandle, ObjectHandle)>> {
        if let Some(keys) = self.domain {
            return Ok(Some(keys));
        }
        let s = session_of(&self.sessions, session)?;
        let find = |id: &[u8]| -> MemberResult<Option<ObjectHandle>> {
            let found = s
                .find_objects(&templates::id_template(ObjectClass::SECRET_KEY, id))
                .map_err(|e| ckr_of(&e))?;
            Ok(found.first().copied())
        };
        let keys = match (find(DOMAIN_WRAP_ID)?, find(DOMAIN_MAC_ID)?) {
            (Some(w), Some(m)) => Some((w, m)),
            _ => None,
        };
        self.domain = keys;
        Ok(keys)
    }

    /// `export_clone`: the object as a sealed blob, or the reason it cannot leave, named in
    /// [`Pkcs11Member::last_export_error`] and logged.
    pub(crate) fn export(
        &mut self,
        session: SessionHandle,
        object: PortHandle,
    ) -> MemberResult<CloneBlob> {
        self.last_export_error = None;
        require_login(session_of(&self.sessions, session)?)?;
        let (real, shape) = self.resolve(session, object)?;
        let s = session_of(&self.sessions, session)?;
        let [id, label] = <[Vec<u8>; 2]>::try_from(read_bytes(
            s,
            real,
            &[templates::id_attribute(shape.class), AttributeType::Label],
        )?)
        .map_err(|_| Ckr::CKR_GENERAL_ERROR)?;
        let refuse = |member: &mut Pkcs11Member, reason: String, ckr: Ckr| {
            let e = ExportError {
                id: String::from_utf8_lossy(&id).into_owned(),
                label: String::from_utf8_lossy(&label).into_owned(),
                class: class_name(shape.class),
                reason,
                ckr,
            };
            tracing::warn!(member = %member.serial, error = %e, "object not replicated");
            member.last_export_error = Some(e);
            Err(ckr)
        };
        let body = match self.export_body(session, real, shape, &id, &label) {
            Ok(body) => body,
            Err((reason, ckr)) => return refuse(self, reason, ckr),
        };
        let Some((_, mac_key)) = self.domain_keys(session)? else {
            return refuse(
                self,
                "this token holds no domain keys".into(),
                Ckr::CKR_KEY_UNEXTRACTABLE,
            );
        };
        let s = session_of(&self.sessions, session)?;
        let mut bytes = body.encode();
        let mac = s
            .sign(&cryptoki::mechanism::Mechanism::AesCMac, mac_key, &bytes)
            .map_err(|e| ckr_of(&e))?;
        bytes.extend_from_slice(&mac);
        Ok(CloneBlob(bytes))
    }

    /// The blob body of one object, or (reason, CK_RV) when it cannot be exported.
    fn export_body(
        &mut self,
        session: SessionHandle,
        real: ObjectHandle,
        shape: Shape,
        id: &[u8],
        label: &[u8],
    ) -> Result<BlobBody, (String, Ckr)> {
        let plain = |ckr: Ckr| (format!("the token answered {ckr}"), ckr);
        let s = session_of(&self.sessions, session).map_err(plain)?;
        let token = read_bool(s, real, AttributeType::Token).map_err(plain)?;
        let mut fields = BTreeMap::new();
        fields.insert(tag::ID, id.to_vec());
        fields.insert(tag::LABEL, label.to_vec());
        let key_type = blob_key_type(shape.key_type);
        let (kind, key_type) = match (shape.class, key_type) {
            (ObjectClass::DATA, _) => {
                let v = read_bytes(s, real, &[AttributeType::Value]).map_err(plain)?;
                fields.insert(tag::VALUE, v.concat());
                (BlobKind::Data, BlobKeyType::None)
            }
            (ObjectClass::PUBLIC_KEY, Some(BlobKeyType::Rsa)) => {
                let v = read_bytes(
                    s,
                    real,
                    &[AttributeType::Modulus, AttributeType::PublicExponent],
                )
                .map_err(plain)?;
                fields.insert(tag::MODULUS, v[0].clone());
                fields.insert(tag::PUBLIC_EXPONENT, v[1].clone());
                (BlobKind::PublicKey, BlobKeyType::Rsa)
            }
            (ObjectClass::PUBLIC_KEY, Some(BlobKeyType::Ec)) => {
                let v = read_bytes(s, real, &[AttributeType::EcParams, AttributeType::EcPoint])
                    .map_err(plain)?;
                fields.insert(tag::EC_PARAMS, v[0].clone());
                fields.insert(tag::EC_POINT, v[1].clone());
                (BlobKind::PublicKey, BlobKeyType::Ec)
            }
            (ObjectClass::SECRET_KEY, Some(kt @ BlobKeyType::Aes))
            | (ObjectClass::PRIVATE_KEY, Some(kt @ (BlobKeyType::Rsa | BlobKeyType::Ec))) => {
                if !read_bool(s, real, AttributeType::Extractable).map_err(plain)? {
                    return Err((
                        "CKA_EXTRACTABLE is false, so it cannot be wrapped under the domain key"
                            .into(),
                        Ckr::CKR_KEY_UNEXTRACTABLE,
                    ));
                }
                let wrap = self.wrap_mechanism().ok_or((
                    "the token offers neither CKM_AES_KEY_WRAP_PAD nor CKM_AES_KEY_WRAP_KWP".into(),
                    Ckr::CKR_MECHANISM_INVALID,
                ))?;
                let Some((wrap_key, _)) = self.domain_keys(session).map_err(plain)? else {
                    return Err((
                        "this token holds no domain keys".into(),
                        Ckr::CKR_KEY_UNEXTRACTABLE,
                    ));
                };
                let s = session_of(&self.sessions, session).map_err(plain)?;
                let wrapped = s.wrap_key(&wrap.mechanism(), wrap_key, real).map_err(|e| {
                    let ckr = ckr_of(&e);
                    (format!("wrapping under the domain key failed: {ckr}"), ckr)
                })?;
                fields.insert(tag::WRAP_MECHANISM, wrap.value().to_be_bytes().to_vec());
                fields.insert(tag::WRAPPED, wrapped);
                let kind = if shape.class == ObjectClass::SECRET_KEY {
                    BlobKind::SecretKey
                } else {
                    BlobKind::PrivateKey
                };
                (kind, kt)
            }
            _ => {
                return Err((
                    "hasim replicates only AES, RSA and EC keys and data objects".into(),
                    Ckr::CKR_KEY_TYPE_INCONSISTENT,
                ));
            }
        };
        Ok(BlobBody {
            kind,
            key_type,
            token,
            fields,
        })
    }

    /// The wrapping mechanism, chosen once from the token's mechanism list.
    fn wrap_mechanism(&mut self) -> Option<WrapMechanism> {
        if self.wrap.is_none() {
            self.wrap = WrapMechanism::choose(self.library().ctx(), self.slot);
        }
        self.wrap
    }

    /// `import_clone`: checks the blob's MAC with this token's domain MAC key, then unwraps or
    /// creates the object.
    pub(crate) fn import(
        &mut self,
        session: SessionHandle,
        blob: &CloneBlob,
    ) -> MemberResult<PortHandle> {
        const BAD: Ckr = Ckr::CKR_WRAPPED_KEY_INVALID;
        require_login(session_of(&self.sessions, session)?)?;
        let (body_bytes, mac) = blob::split(&blob.0)?;
        let (wrap_key, mac_key) = self.domain_keys(session)?.ok_or(BAD)?;
        let s = session_of(&self.sessions, session)?;
        s.verify(
            &cryptoki::mechanism::Mechanism::AesCMac,
            mac_key,
            body_bytes,
            mac,
        )
        .map_err(|_| BAD)?;
        let body = BlobBody::decode(body_bytes)?;
        let id = body.field(tag::ID)?;
        let label = String::from_utf8(body.field(tag::LABEL)?.to_vec()).map_err(|_| BAD)?;
        let token = body.token;
        let (class, key_type) = match body.key_type {
            BlobKeyType::None => (ObjectClass::DATA, None),
            BlobKeyType::Aes => (ObjectClass::SECRET_KEY, Some(KeyType::AES)),
            BlobKeyType::Rsa => (ObjectClass::PRIVATE_KEY, Some(KeyType::RSA)),
            BlobKeyType::Ec => (ObjectClass::PRIVATE_KEY, Some(KeyType::EC)),
        };
        let real = match (body.kind, key_type) {
            (BlobKind::Data, None) => s
                .create_object(&templates::data_object(
                    token,
                    id,
                    &label,
                    body.field(tag::VALUE)?,
                ))
                .map_err(|e| ckr_of(&e))?,
            (BlobKind::PublicKey, Some(KeyType::RSA)) => s
                .create_object(&templates::rsa_public_copy(
                    token,
                    id,
                    &label,
                    body.field(tag::MODULUS)?,
                    body.field(tag::PUBLIC_EXPONENT)?,
                ))
                .map_err(|e| ckr_of(&e))?,
            (BlobKind::PublicKey, Some(KeyType::EC)) => s
                .create_object(&templates::ec_public_copy(
                    token,
                    id,
                    &label,
                    body.field(tag::EC_PARAMS)?,
                    body.field(tag::EC_POINT)?,
                ))
                .map_err(|e| ckr_of(&e))?,
            (BlobKind::SecretKey, Some(KeyType::AES))
            | (BlobKind::PrivateKey, Some(KeyType::RSA | KeyType::EC)) => {
                let mech_bytes: [u8; 8] = body
                    .field(tag::WRAP_MECHANISM)?
                    .try_into()
                    .map_err(|_| BAD)?;
                let wrap = WrapMechanism::from_value(u64::from_be_bytes(mech_bytes)).ok_or(BAD)?;
                let template = match key_type {
                    Some(KeyType::AES) => templates::aes_secret(token, id, &label, None),
                    Some(kt) => templates::private_key(kt, token, id, &label),
                    None => return Err(BAD),
                };
                s.unwrap_key(
                    &wrap.mechanism(),
                    wrap_key,
                    body.field(tag::WRAPPED)?,
                    &template,
                )
                .map_err(|e| match ckr_of(&e) {
                    // A blob from another domain fails the MAC already; a damaged wrap
                    // that passes it is still a bad blob.
                    Ckr::CKR_GENERAL_ERROR | Ckr::CKR_DATA_INVALID => BAD,
                    other => other,
                })?
            }
            _ => return Err(BAD),
        };
        let class = if body.kind == BlobKind::PublicKey {
            ObjectClass::PUBLIC_KEY
        } else {
            class
        };
        Ok(self.issue(real, Shape { class, key_type }))
    }
}
