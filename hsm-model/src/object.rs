//! Objects stored on a partition: their class, key kind, the full record (with key material)
//! and the public views of it ([`ObjectView`], [`Query`]). Key material never prints.

use std::fmt;

/// Key types the model can generate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
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

    /// True for AES kinds (a single secret key).
    pub fn is_aes(self) -> bool {
        matches!(self, KeyKind::Aes128 | KeyKind::Aes256)
    }
}

/// PKCS#11 object classes the model stores.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
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

impl ObjectClass {
    /// True for the classes that are private objects (`CKA_PRIVATE`): secret and private keys.
    pub fn is_private(self) -> bool {
        matches!(self, ObjectClass::SecretKey | ObjectClass::PrivateKey)
    }

    /// The variant's name, as `{:?}` prints it.
    pub fn name(self) -> &'static str {
        match self {
            ObjectClass::Data => "Data",
            ObjectClass::SecretKey => "SecretKey",
            ObjectClass::PrivateKey => "PrivateKey",
            ObjectClass::PublicKey => "PublicKey",
        }
    }
}

/// One object as the partition stores it.
#[derive(Clone, PartialEq, Eq)]
pub struct ObjectRecord {
    /// The current handle (reissued after logout or when the last session closes).
    pub handle: u64,
    /// `CKA_ID`.
    pub id: Vec<u8>,
    /// `CKA_LABEL`.
    pub label: String,
    /// `CKA_CLASS`.
    pub class: ObjectClass,
    /// Key type; `None` for data objects.
    pub kind: Option<KeyKind>,
    /// `CKA_TOKEN`: a token (persistent) object, or a session object.
    pub token: bool,
    /// `CKA_PRIVATE`: true for secret and private keys.
    pub private: bool,
    /// Key material (empty for data objects). Never printed.
    pub secret: Vec<u8>,
    /// `CKA_VALUE` of a data object (empty for keys).
    pub value: Vec<u8>,
    /// Storage the object takes, bytes (see [`crate::storage::object_size`]).
    pub size: u64,
    /// The session that owns a session object; `None` for token objects.
    pub owner_session: Option<u64>,
}

impl ObjectRecord {
    /// The public view of the record.
    pub fn view(&self) -> ObjectView {
        ObjectView {
            id: self.id.clone(),
            class: self.class,
            label: self.label.clone(),
            token: self.token,
        }
    }

    /// True when every `Some` field of `query` matches.
    pub fn matches(&self, query: &Query) -> bool {
        query.id.as_ref().is_none_or(|id| *id == self.id)
            && query.class.is_none_or(|c| c == self.class)
            && query.token.is_none_or(|t| t == self.token)
            && query.label.as_ref().is_none_or(|l| *l == self.label)
    }
}

impl fmt::Debug for ObjectRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectRecord")
            .field("handle", &self.handle)
            .field("id", &String::from_utf8_lossy(&self.id))
            .field("label", &self.label)
            .field("class", &self.class)
            .field("kind", &self.kind)
            .field("token", &self.token)
            .field("private", &self.private)
            .field("secret", &format_args!("<{} bytes>", self.secret.len()))
            .field("value", &format_args!("<{} bytes>", self.value.len()))
            .field("size", &self.size)
            .field("owner_session", &self.owner_session)
            .finish()
    }
}

/// The attributes of an object a caller may read (`C_GetAttributeValue`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectView {
    /// `CKA_ID`.
    pub id: Vec<u8>,
    /// `CKA_CLASS`.
    pub class: ObjectClass,
    /// `CKA_LABEL`.
    pub label: String,
    /// `CKA_TOKEN`.
    pub token: bool,
}

/// A `C_FindObjects` template: every `Some` field must match.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Query {
    /// `CKA_ID`.
    pub id: Option<Vec<u8>>,
    /// `CKA_CLASS`.
    pub class: Option<ObjectClass>,
    /// `CKA_TOKEN`.
    pub token: Option<bool>,
    /// `CKA_LABEL`.
    pub label: Option<String>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failing unwrap is a failing test
mod tests {
    use super::*;

    #[test]
    fn a_class_name_is_its_debug_name() {
        for c in [
            ObjectClass::Data,
            ObjectClass::SecretKey,
            ObjectClass::PrivateKey,
            ObjectClass::PublicKey,
        ] {
            assert_eq!(c.name(), format!("{c:?}"));
        }
    }

    #[test]
    fn debug_hides_key_material() {
        let rec = ObjectRecord {
            handle: 1,
            id: b"k1".to_vec(),
            label: "key".into(),
            class: ObjectClass::SecretKey,
            kind: Some(KeyKind::Aes256),
            token: true,
            private: true,
            secret: vec![0xAB; 32],
            value: vec![],
            size: 528,
            owner_session: None,
        };
        let text = format!("{rec:?}");
        assert!(text.contains("<32 bytes>"));
        assert!(!text.contains("171"), "{text}");
        assert!(!text.to_lowercase().contains("ab, "), "{text}");
    }

    #[test]
    fn query_matching() {
        let rec = ObjectRecord {
            handle: 1,
            id: b"k1".to_vec(),
            label: String::new(),
            class: ObjectClass::PublicKey,
            kind: Some(KeyKind::EcP256),
            token: false,
            private: false,
            secret: vec![],
            value: vec![],
            size: 480,
            owner_session: Some(1),
        };
        assert!(rec.matches(&Query::default()));
        assert!(rec.matches(&Query {
            id: Some(b"k1".to_vec()),
            class: Some(ObjectClass::PublicKey),
            token: Some(false),
            label: None,
        }));
        assert!(!rec.matches(&Query {
            token: Some(true),
            ..Query::default()
        }));
        assert!(!rec.matches(&Query {
            id: Some(b"k2".to_vec()),
            ..Query::default()
        }));
    }
}
