//! Clone blobs: how an object travels between two partitions of one cloning domain (the
//! stand-in for Luna's cloning protocol).
//!
//! Layout: `b"HSCL"` || payload length (u32 big-endian) || payload || tag (32 bytes).
//! The payload is a version byte (1) followed by the object's fields, each length-prefixed
//! where variable: id, label, class, kind, token, private, secret, value, size. The tag is
//! HMAC-SHA256 over the payload keyed by SHA-256(b"hasim-domain:" || cloning domain), so only a
//! partition of the same domain accepts the blob. The blob is authenticated, not encrypted: it
//! is a simulation artefact and never leaves the process.

use hmac::Mac;

use crate::crypto;
use crate::error::ModelError;
use crate::object::{KeyKind, ObjectClass, ObjectRecord};

const MAGIC: &[u8; 4] = b"HSCL";
const VERSION: u8 = 1;
const TAG_LEN: usize = 32;

/// An object as carried by a clone blob: every field of an [`ObjectRecord`] except the handle
/// and the owning session, which the importing partition assigns.
#[derive(Clone, PartialEq, Eq)]
pub struct ClonedObject {
    /// `CKA_ID`.
    pub id: Vec<u8>,
    /// `CKA_LABEL`.
    pub label: String,
    /// `CKA_CLASS`.
    pub class: ObjectClass,
    /// Key type (`None` for data).
    pub kind: Option<KeyKind>,
    /// `CKA_TOKEN`.
    pub token: bool,
    /// `CKA_PRIVATE`.
    pub private: bool,
    /// Key material.
    pub secret: Vec<u8>,
    /// Data value.
    pub value: Vec<u8>,
    /// Storage size, bytes.
    pub size: u64,
}

impl std::fmt::Debug for ClonedObject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClonedObject")
            .field("id", &String::from_utf8_lossy(&self.id))
            .field("label", &self.label)
            .field("class", &self.class)
            .field("kind", &self.kind)
            .field("token", &self.token)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

impl ClonedObject {
    /// The clone-relevant fields of `record`.
    pub fn from_record(record: &ObjectRecord) -> Self {
        ClonedObject {
            id: record.id.clone(),
            label: record.label.clone(),
            class: record.class,
            kind: record.kind,
            token: record.token,
            private: record.private,
            secret: record.secret.clone(),
            value: record.value.clone(),
            size: record.size,
        }
    }

    /// A record with the given handle and owner.
    pub fn into_record(self, handle: u64, owner_session: Option<u64>) -> ObjectRecord {
        ObjectRecord {
            handle,
            id: self.id,
            label: self.label,
            class: self.class,
            kind: self.kind,
            token: self.token,
            private: self.private,
            secret: self.secret,
            value: self.value,
            size: self.size,
            owner_session,
        }
    }
}

fn class_code(class: ObjectClass) -> u8 {
    match class {
        ObjectClass::Data => 0,
        ObjectClass::SecretKey => 1,
        ObjectClass::PrivateKey => 2,
        ObjectClass::PublicKey => 3,
    }
}

fn class_from(code: u8) -> Option<ObjectClass> {
    Some(match code {
        0 => ObjectClass::Data,
        1 => ObjectClass::SecretKey,
        2 => ObjectClass::PrivateKey,
        3 => ObjectClass::PublicKey,
        _ => return None,
    })
}

fn kind_code(kind: Option<KeyKind>) -> u8 {
    match kind {
        None => 0,
        Some(KeyKind::Aes128) => 1,
        Some(KeyKind::Aes256) => 2,
        Some(KeyKind::Rsa2048) => 3,
        Some(KeyKind::EcP256) => 4,
    }
}

fn kind_from(code: u8) -> Option<Option<KeyKind>> {
    Some(match code {
        0 => None,
        1 => Some(KeyKind::Aes128),
        2 => Some(KeyKind::Aes256),
        3 => Some(KeyKind::Rsa2048),
        4 => Some(KeyKind::EcP256),
        _ => return None,
    })
}

fn domain_mac(domain: &str) -> crypto::HmacSha256 {
    crypto::mac(&crypto::domain_key(domain))
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
}

/// The keyed HMAC state of cloning domain `domain`: what [`seal_keyed`] and [`open_keyed`]
/// take, so a partition sets up its domain key once instead of once per blob.
pub fn domain_keyed(domain: &str) -> crypto::HmacSha256 {
    domain_mac(domain)
}

/// Seals `object` into a blob for cloning domain `domain`.
pub fn seal(object: &ClonedObject, domain: &str) -> Vec<u8> {
    seal_keyed(&Fields::of_cloned(object), &domain_mac(domain))
}

/// Seals `record` (its clone-relevant fields) into a blob for the domain `keyed` was made for
/// ([`domain_keyed`]): the same bytes as [`seal`] of [`ClonedObject::from_record`], without
/// copying the record first.
pub fn seal_record(record: &ObjectRecord, keyed: &crypto::HmacSha256) -> Vec<u8> {
    seal_keyed(&Fields::of_record(record), keyed)
}

/// The fields a blob carries, borrowed.
struct Fields<'a> {
    id: &'a [u8],
    label: &'a str,
    class: ObjectClass,
    kind: Option<KeyKind>,
    token: bool,
    private: bool,
    secret: &'a [u8],
    value: &'a [u8],
    size: u64,
}

impl<'a> Fields<'a> {
    fn of_cloned(o: &'a ClonedObject) -> Self {
        Fields {
            id: &o.id,
            label: &o.label,
            class: o.class,
            kind: o.kind,
            token: o.token,
            private: o.private,
            secret: &o.secret,
            value: &o.value,
            size: o.size,
        }
    }

    fn of_record(o: &'a ObjectRecord) -> Self {
        Fields {
            id: &o.id,
            label: &o.label,
            class: o.class,
            kind: o.kind,
            token: o.token,
            private: o.private,
            secret: &o.secret,
            value: &o.value,
            size: o.size,
        }
    }
}

/// The blob of `object` under the keyed domain state `keyed`: written in one buffer (header,
/// payload, tag), the payload's length filled in once it is known.
fn seal_keyed(object: &Fields<'_>, keyed: &crypto::HmacSha256) -> Vec<u8> {
    let variable = object.id.len() + object.label.len() + object.secret.len() + object.value.len();
    let mut blob = Vec::with_capacity(8 + 1 + 16 + 4 + 8 + variable + TAG_LEN);
    blob.extend_from_slice(MAGIC);
    blob.extend_from_slice(&[0; 4]); // the payload length, below
    blob.push(VERSION);
    put_bytes(&mut blob, object.id);
    put_bytes(&mut blob, object.label.as_bytes());
    blob.push(class_code(object.class));
    blob.push(kind_code(object.kind));
    blob.push(u8::from(object.token));
    blob.push(u8::from(object.private));
    put_bytes(&mut blob, object.secret);
    put_bytes(&mut blob, object.value);
    blob.extend_from_slice(&object.size.to_be_bytes());
    let len = (blob.len() - 8) as u32;
    blob[4..8].copy_from_slice(&len.to_be_bytes());

    let mut mac = keyed.clone();
    mac.update(&blob[8..]);
    let tag = mac.finalize().into_bytes();
    blob.extend_from_slice(&tag);
    blob
}

/// A cursor over the payload; every read fails with `CloneBlobInvalid` past the end.
struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ModelError> {
        if self.rest.len() < n {
            return Err(ModelError::CloneBlobInvalid);
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8, ModelError> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> Result<u32, ModelError> {
        let mut b = [0u8; 4];
        b.copy_from_slice(self.take(4)?);
        Ok(u32::from_be_bytes(b))
    }

    fn u64(&mut self) -> Result<u64, ModelError> {
        let mut b = [0u8; 8];
        b.copy_from_slice(self.take(8)?);
        Ok(u64::from_be_bytes(b))
    }

    fn bytes(&mut self) -> Result<Vec<u8>, ModelError> {
        let n = self.u32()? as usize;
        Ok(self.take(n)?.to_vec())
    }

    fn bool(&mut self) -> Result<bool, ModelError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(ModelError::CloneBlobInvalid),
        }
    }
}

/// Opens a blob with the key of cloning domain `domain`.
///
/// Errors: bad framing, unknown version or inconsistent fields → `CloneBlobInvalid`; a tag that
/// does not verify under this domain's key → `CloneDomainMismatch`.
pub fn open(blob: &[u8], domain: &str) -> Result<ClonedObject, ModelError> {
    open_keyed(blob, &domain_mac(domain))
}

/// [`open`] with the keyed state of the domain ([`domain_keyed`]).
pub fn open_keyed(blob: &[u8], keyed: &crypto::HmacSha256) -> Result<ClonedObject, ModelError> {
    let mut outer = Reader { rest: blob };
    if outer.take(4)? != MAGIC {
        return Err(ModelError::CloneBlobInvalid);
    }
    let len = outer.u32()? as usize;
    let payload = outer.take(len)?;
    let tag = outer.take(TAG_LEN)?;
    if !outer.rest.is_empty() {
        return Err(ModelError::CloneBlobInvalid);
    }

    let mut mac = keyed.clone();
    mac.update(payload);
    mac.verify_slice(tag)
        .map_err(|_| ModelError::CloneDomainMismatch)?;

    let mut r = Reader { rest: payload };
    if r.u8()? != VERSION {
        return Err(ModelError::CloneBlobInvalid);
    }
    let id = r.bytes()?;
    let label = String::from_utf8(r.bytes()?).map_err(|_| ModelError::CloneBlobInvalid)?;
    let class = class_from(r.u8()?).ok_or(ModelError::CloneBlobInvalid)?;
    let kind = kind_from(r.u8()?).ok_or(ModelError::CloneBlobInvalid)?;
    let token = r.bool()?;
    let private = r.bool()?;
    let secret = r.bytes()?;
    let value = r.bytes()?;
    let size = r.u64()?;
    if !r.rest.is_empty()
        || private != class.is_private()
        || crate::storage::object_size(class, kind, value.len()) != Some(size)
    {
        return Err(ModelError::CloneBlobInvalid);
    }
    Ok(ClonedObject {
        id,
        label,
        class,
        kind,
        token,
        private,
        secret,
        value,
        size,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failing unwrap is a failing test
mod tests {
    use super::*;

    fn sample() -> ClonedObject {
        ClonedObject {
            id: b"ouid-1".to_vec(),
            label: "signing key".into(),
            class: ObjectClass::PrivateKey,
            kind: Some(KeyKind::EcP256),
            token: true,
            private: true,
            secret: vec![9; 32],
            value: vec![],
            size: 736,
        }
    }

    #[test]
    fn sealing_a_record_with_the_keyed_domain_gives_the_same_blob() {
        let o = sample();
        let record = o.clone().into_record(42, None);
        let keyed = domain_keyed("dom1");
        let blob = seal_record(&record, &keyed);
        assert_eq!(blob, seal(&o, "dom1"));
        assert_eq!(open_keyed(&blob, &keyed).unwrap(), o);
        assert_eq!(
            open_keyed(&blob, &domain_keyed("dom2")),
            Err(ModelError::CloneDomainMismatch)
        );
    }

    #[test]
    fn round_trip_in_domain() {
        let blob = seal(&sample(), "dom-A");
        assert_eq!(open(&blob, "dom-A"), Ok(sample()));
    }

    #[test]
    fn other_domain_is_a_mismatch() {
        let blob = seal(&sample(), "dom-A");
        assert_eq!(open(&blob, "dom-B"), Err(ModelError::CloneDomainMismatch));
    }

    #[test]
    fn malformed_blobs_are_invalid() {
        let blob = seal(&sample(), "dom-A");
        assert_eq!(open(&[], "dom-A"), Err(ModelError::CloneBlobInvalid));
        assert_eq!(
            open(&blob[..blob.len() - 1], "dom-A"),
            Err(ModelError::CloneBlobInvalid)
        );
        let mut longer = blob.clone();
        longer.push(0);
        assert_eq!(open(&longer, "dom-A"), Err(ModelError::CloneBlobInvalid));
        let mut bad_magic = blob.clone();
        bad_magic[0] = b'X';
        assert_eq!(open(&bad_magic, "dom-A"), Err(ModelError::CloneBlobInvalid));
        // A tampered payload no longer verifies.
        let mut tampered = blob;
        tampered[10] ^= 1;
        assert_eq!(
            open(&tampered, "dom-A"),
            Err(ModelError::CloneDomainMismatch)
        );
    }

    #[test]
    fn authentic_but_inconsistent_payload_is_invalid() {
        let mut obj = sample();
        obj.size = 1;
        assert_eq!(
            open(&seal(&obj, "d"), "d"),
            Err(ModelError::CloneBlobInvalid)
        );
    }

    #[test]
    fn debug_hides_secret() {
        let text = format!("{:?}", sample());
        assert!(!text.contains("secret"), "{text}");
    }
}
