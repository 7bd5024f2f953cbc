//! The [`CloneBlob`](ha_engine::ports::CloneBlob) format of this crate: how one object travels
//! between two members of a cloning domain that has no Luna cloning protocol.
//!
//! ```text
//! magic        4 bytes   "HCB1"
//! kind         1 byte    1 secret key (wrapped), 2 private key (wrapped),
//!                        3 public key (attributes), 4 data object (attributes)
//! key type     1 byte    0 none (data), 1 AES, 2 RSA, 3 EC
//! token        1 byte    CKA_TOKEN: 0 or 1
//! field count  2 bytes   big-endian
//! fields       each: tag (1 byte), length (4 bytes, big-endian), value
//!                1 CKA_ID, 2 CKA_LABEL (UTF-8), 3 wrapping mechanism (CK_MECHANISM_TYPE,
//!                8 bytes big-endian), 4 wrapped key (C_WrapKey output under the domain
//!                wrapping key), 5 CKA_MODULUS, 6 CKA_PUBLIC_EXPONENT, 7 CKA_EC_PARAMS,
//!                8 CKA_EC_POINT, 9 CKA_VALUE (data objects)
//! mac          16 bytes  AES-CMAC of everything before it, under the domain MAC key
//! ```
//!
//! Secret and private keys leave a member only wrapped under the domain wrapping key; public
//! keys and data objects travel as attributes. The MAC binds every blob to its domain: a blob
//! from another domain, or a modified one, is refused (`CKR_WRAPPED_KEY_INVALID`), as the
//! model refuses a clone from another domain.

use std::collections::BTreeMap;

use ha_engine::ckr::Ckr;

/// The blob's magic bytes.
pub const MAGIC: &[u8; 4] = b"HCB1";
/// Length of the trailing MAC.
pub const MAC_LEN: usize = 16;

/// Field tags.
pub mod tag {
    /// `CKA_ID`.
    pub const ID: u8 = 1;
    /// `CKA_LABEL`.
    pub const LABEL: u8 = 2;
    /// The wrapping mechanism.
    pub const WRAP_MECHANISM: u8 = 3;
    /// The wrapped key.
    pub const WRAPPED: u8 = 4;
    /// `CKA_MODULUS`.
    pub const MODULUS: u8 = 5;
    /// `CKA_PUBLIC_EXPONENT`.
    pub const PUBLIC_EXPONENT: u8 = 6;
    /// `CKA_EC_PARAMS`.
    pub const EC_PARAMS: u8 = 7;
    /// `CKA_EC_POINT`.
    pub const EC_POINT: u8 = 8;
    /// `CKA_VALUE`.
    pub const VALUE: u8 = 9;
}

/// What the blob carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlobKind {
    /// A wrapped secret key.
    SecretKey = 1,
    /// A wrapped private key.
    PrivateKey = 2,
    /// A public key by attributes.
    PublicKey = 3,
    /// A data object by attributes.
    Data = 4,
}

/// The key type of a key blob.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlobKeyType {
    /// Data objects.
    None = 0,
    /// AES.
    Aes = 1,
    /// RSA.
    Rsa = 2,
    /// EC.
    Ec = 3,
}

/// The decoded body of a blob.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlobBody {
    /// What it carries.
    pub kind: BlobKind,
    /// Key type.
    pub key_type: BlobKeyType,
    /// `CKA_TOKEN`.
    pub token: bool,
    /// Fields by tag.
    pub fields: BTreeMap<u8, Vec<u8>>,
}

impl BlobBody {
    /// Field `tag`, or `CKR_WRAPPED_KEY_INVALID` when missing.
    pub fn field(&self, tag: u8) -> Result<&[u8], Ckr> {
        self.fields
            .get(&tag)
            .map(Vec::as_slice)
            .ok_or(Ckr::CKR_WRAPPED_KEY_INVALID)
    }

    /// The body's bytes (everything the MAC covers).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        out.push(self.kind as u8);
        out.push(self.key_type as u8);
        out.push(u8::from(self.token));
        out.extend_from_slice(&(self.fields.len() as u16).to_be_bytes());
        for (tag, value) in &self.fields {
            out.push(*tag);
            out.extend_from_slice(&(value.len() as u32).to_be_bytes());
            out.extend_from_slice(value);
        }
        out
    }

    /// Decodes a body; anything malformed is `CKR_WRAPPED_KEY_INVALID`.
    pub fn decode(body: &[u8]) -> Result<BlobBody, Ckr> {
        const BAD: Ckr = Ckr::CKR_WRAPPED_KEY_INVALID;
        let mut r = Reader(body);
        if r.take(4)? != MAGIC {
            return Err(BAD);
        }
        let kind = match r.byte()? {
            1 => BlobKind::SecretKey,
            2 => BlobKind::PrivateKey,
            3 => BlobKind::PublicKey,
            4 => BlobKind::Data,
            _ => return Err(BAD),
        };
        let key_type = match r.byte()? {
            0 => BlobKeyType::None,
            1 => BlobKeyType::Aes,
            2 => BlobKeyType::Rsa,
            3 => BlobKeyType::Ec,
            _ => return Err(BAD),
        };
        let token = match r.byte()? {
            0 => false,
            1 => true,
            _ => return Err(BAD),
        };
        let count = u16::from_be_bytes([r.byte()?, r.byte()?]);
        let mut fields = BTreeMap::new();
        for _ in 0..count {
            let tag = r.byte()?;
            let len_bytes = r.take(4)?;
            let len = u32::from_be_bytes([len_bytes[0], len_bytes[1], len_bytes[2], len_bytes[3]]);
            let value = r.take(len as usize)?;
            if fields.insert(tag, value.to_vec()).is_some() {
                return Err(BAD);
            }
        }
        if !r.0.is_empty() {
            return Err(BAD);
        }
        Ok(BlobBody {
            kind,
            key_type,
            token,
            fields,
        })
    }
}

/// Splits a blob into body and MAC (`CKR_WRAPPED_KEY_INVALID` when too short).
pub fn split(blob: &[u8]) -> Result<(&[u8], &[u8]), Ckr> {
    if blob.len() < MAGIC.len() + MAC_LEN {
        return Err(Ckr::CKR_WRAPPED_KEY_INVALID);
    }
    Ok(blob.split_at(blob.len() - MAC_LEN))
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Ckr> {
        if self.0.len() < n {
            return Err(Ckr::CKR_WRAPPED_KEY_INVALID);
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }

    fn byte(&mut self) -> Result<u8, Ckr> {
        Ok(self.take(1)?[0])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> BlobBody {
        let mut fields = BTreeMap::new();
        fields.insert(tag::ID, b"hasim-00000001".to_vec());
        fields.insert(tag::LABEL, b"k".to_vec());
        fields.insert(tag::WRAPPED, vec![9; 40]);
        BlobBody {
            kind: BlobKind::SecretKey,
            key_type: BlobKeyType::Aes,
            token: true,
            fields,
        }
    }

    #[test]
    fn round_trips() {
        let body = sample();
        assert_eq!(BlobBody::decode(&body.encode()), Ok(body));
    }

    #[test]
    fn junk_and_truncation_are_wrapped_key_invalid() {
        let bytes = sample().encode();
        for cut in [0, 3, 7, 9, bytes.len() - 1] {
            assert_eq!(
                BlobBody::decode(&bytes[..cut]),
                Err(Ckr::CKR_WRAPPED_KEY_INVALID),
                "cut at {cut}"
            );
        }
        let mut extra = bytes.clone();
        extra.push(0);
        assert_eq!(BlobBody::decode(&extra), Err(Ckr::CKR_WRAPPED_KEY_INVALID));
        assert_eq!(split(b"junk"), Err(Ckr::CKR_WRAPPED_KEY_INVALID));
        assert_eq!(
            sample().field(tag::VALUE),
            Err(Ckr::CKR_WRAPPED_KEY_INVALID)
        );
    }
}
