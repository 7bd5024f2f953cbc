//! The cryptography of a member, as calls on one module session: which mechanism each key
//! gets, and sign / verify / encrypt / decrypt / key check value with it.
//!
//! | key | sign / verify | encrypt / decrypt |
//! |---|---|---|
//! | AES secret key | `CKM_AES_CMAC` | `CKM_AES_GCM`, 12-byte IV from `C_GenerateRandom`, 128-bit tag; output `IV ‖ ciphertext ‖ tag` |
//! | RSA private / public | `CKM_SHA256_RSA_PKCS` | – (`CKR_KEY_TYPE_INCONSISTENT`) |
//! | EC private / public | `CKM_ECDSA` over a SHA-256 digest the module computes | – |
//!
//! Signing with a public key or a data object is `CKR_KEY_FUNCTION_NOT_PERMITTED`, encrypting
//! with anything but an AES key `CKR_KEY_TYPE_INCONSISTENT` (the model's codes; the member
//! decides before calling the module).

use cryptoki::context::Pkcs11;
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::aead::GcmParams;
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;
use cryptoki::slot::Slot;
use cryptoki::types::Ulong;
use cryptoki_sys::{CK_MECHANISM_TYPE, CKM_AES_KEY_WRAP_KWP, CKM_AES_KEY_WRAP_PAD};
use ha_engine::ckr::Ckr;
use ha_engine::ports::MemberResult;

use crate::error::ckr_of;
use crate::handles::Shape;

/// Length of the GCM IV put in front of every ciphertext.
pub const GCM_IV_LEN: usize = 12;

/// The wrapping mechanism of a domain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WrapMechanism {
    /// `CKM_AES_KEY_WRAP_PAD` (0x210A; SoftHSM's RFC 5649).
    Pad,
    /// `CKM_AES_KEY_WRAP_KWP` (0x210B; RFC 5649 under the PKCS#11 3.0 name).
    Kwp,
}

impl WrapMechanism {
    /// The `cryptoki` mechanism.
    pub fn mechanism(self) -> Mechanism<'static> {
        match self {
            WrapMechanism::Pad => Mechanism::AesKeyWrapPad,
            WrapMechanism::Kwp => crate::raw::kwp_mechanism(),
        }
    }

    /// Its `CK_MECHANISM_TYPE` value.
    pub fn value(self) -> CK_MECHANISM_TYPE {
        match self {
            WrapMechanism::Pad => CKM_AES_KEY_WRAP_PAD,
            WrapMechanism::Kwp => CKM_AES_KEY_WRAP_KWP,
        }
    }

    /// The mechanism with value `v`, if it is one of the two.
    pub fn from_value(v: CK_MECHANISM_TYPE) -> Option<WrapMechanism> {
        match v {
            CKM_AES_KEY_WRAP_PAD => Some(WrapMechanism::Pad),
            CKM_AES_KEY_WRAP_KWP => Some(WrapMechanism::Kwp),
            _ => None,
        }
    }

    /// Chooses from the token's mechanism list: `CKM_AES_KEY_WRAP_PAD` when offered, else
    /// `CKM_AES_KEY_WRAP_KWP` when the module describes it, else none.
    pub fn choose(ctx: &Pkcs11, slot: Slot) -> Option<WrapMechanism> {
        let list = ctx.get_mechanism_list(slot).ok()?;
        if list.contains(&MechanismType::AES_KEY_WRAP_PAD) {
            return Some(WrapMechanism::Pad);
        }
        // cryptoki drops mechanism values it has no name for from the list, so KWP is asked
        // about directly.
        ctx.get_mechanism_info(slot, crate::raw::kwp_mechanism_type())
            .ok()
            .map(|_| WrapMechanism::Kwp)
    }
}

/// Reads class and key type of an object.
pub fn read_shape(s: &Session, key: ObjectHandle) -> MemberResult<Shape> {
    let attrs = s
        .get_attributes(key, &[AttributeType::Class, AttributeType::KeyType])
        .map_err(|e| ckr_of(&e))?;
    let mut class = None;
    let mut key_type = None;
    for a in attrs {
        match a {
            Attribute::Class(c) => class = Some(c),
            Attribute::KeyType(k) => key_type = Some(k),
            _ => {}
        }
    }
    Ok(Shape {
        class: class.ok_or(Ckr::CKR_GENERAL_ERROR)?,
        key_type,
    })
}

/// The signature mechanism family of a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignKind {
    /// `CKM_AES_CMAC`.
    AesCmac,
    /// `CKM_SHA256_RSA_PKCS`.
    RsaSha256,
    /// `CKM_ECDSA` over SHA-256.
    Ecdsa,
}

impl SignKind {
    /// The mechanism to give the module (ECDSA signs a digest).
    pub fn mechanism(self) -> Mechanism<'static> {
        match self {
            SignKind::AesCmac => Mechanism::AesCMac,
            SignKind::RsaSha256 => Mechanism::Sha256RsaPkcs,
            SignKind::Ecdsa => Mechanism::Ecdsa,
        }
    }
}

/// The mechanism for signing with `shape` (secret or private keys only).
pub fn sign_kind(shape: Shape) -> MemberResult<SignKind> {
    match shape.class {
        ObjectClass::SECRET_KEY | ObjectClass::PRIVATE_KEY => key_kind(shape),
        _ => Err(Ckr::CKR_KEY_FUNCTION_NOT_PERMITTED),
    }
}

/// The mechanism for verifying with `shape` (secret or public keys only).
pub fn verify_kind(shape: Shape) -> MemberResult<SignKind> {
    match shape.class {
        ObjectClass::SECRET_KEY | ObjectClass::PUBLIC_KEY => key_kind(shape),
        _ => Err(Ckr::CKR_KEY_FUNCTION_NOT_PERMITTED),
    }
}

fn key_kind(shape: Shape) -> MemberResult<SignKind> {
    match (shape.class, shape.key_type) {
        (ObjectClass::SECRET_KEY, Some(KeyType::AES)) => Ok(SignKind::AesCmac),
        (ObjectClass::PRIVATE_KEY | ObjectClass::PUBLIC_KEY, Some(KeyType::RSA)) => {
            Ok(SignKind::RsaSha256)
        }
        (ObjectClass::PRIVATE_KEY | ObjectClass::PUBLIC_KEY, Some(KeyType::EC)) => {
            Ok(SignKind::Ecdsa)
        }
        _ => Err(Ckr::CKR_KEY_TYPE_INCONSISTENT),
    }
}

/// SHA-256 of `data`, computed by the module.
pub fn sha256(s: &Session, data: &[u8]) -> MemberResult<Vec<u8>> {
    s.digest(&Mechanism::Sha256, data).map_err(|e| ckr_of(&e))
}

/// Signs `data` with `key`.
pub fn sign(s: &Session, key: ObjectHandle, shape: Shape, data: &[u8]) -> MemberResult<Vec<u8>> {
    let kind = sign_kind(shape)?;
    let input = match kind {
        SignKind::Ecdsa => sha256(s, data)?,
        _ => data.to_vec(),
    };
    s.sign(&kind.mechanism(), key, &input)
        .map_err(|e| ckr_of(&e))
}

/// Verifies `signature` over `data` with `key`: `Ok(false)` for a wrong signature.
pub fn verify(
    s: &Session,
    key: ObjectHandle,
    shape: Shape,
    data: &[u8],
    signature: &[u8],
) -> MemberResult<bool> {
    let kind = verify_kind(shape)?;
    let input = match kind {
        SignKind::Ecdsa => sha256(s, data)?,
        _ => data.to_vec(),
    };
    match s.verify(&kind.mechanism(), key, &input, signature) {
        Ok(()) => Ok(true),
        Err(CkError::Pkcs11(RvError::SignatureInvalid | RvError::SignatureLenRange, _)) => {
            Ok(false)
        }
        Err(e) => Err(ckr_of(&e)),
    }
}

fn require_aes(shape: Shape) -> MemberResult<()> {
    match (shape.class, shape.key_type) {
        (ObjectClass::SECRET_KEY, Some(KeyType::AES)) => Ok(()),
        _ => Err(Ckr::CKR_KEY_TYPE_INCONSISTENT),
    }
}

/// AES-GCM encryption under a fresh random IV: `IV ‖ ciphertext ‖ tag`.
pub fn encrypt(s: &Session, key: ObjectHandle, shape: Shape, data: &[u8]) -> MemberResult<Vec<u8>> {
    require_aes(shape)?;
    let mut iv = [0u8; GCM_IV_LEN];
    s.generate_random_slice(&mut iv).map_err(|e| ckr_of(&e))?;
    let mut out = iv.to_vec();
    let params =
        GcmParams::new(&mut iv, &[], Ulong::from(128u64)).map_err(|_| Ckr::CKR_GENERAL_ERROR)?;
    let ct = s
        .encrypt(&Mechanism::AesGcm(params), key, data)
        .map_err(|e| ckr_of(&e))?;
    out.extend_from_slice(&ct);
    Ok(out)
}

/// Decrypts the output of [`encrypt`]. A wrong key or a modified ciphertext fails (SoftHSM
/// says `CKR_GENERAL_ERROR`, others `CKR_ENCRYPTED_DATA_INVALID`).
pub fn decrypt(s: &Session, key: ObjectHandle, shape: Shape, data: &[u8]) -> MemberResult<Vec<u8>> {
    require_aes(shape)?;
    if data.len() < GCM_IV_LEN + 16 {
        return Err(Ckr(cryptoki_sys::CKR_ENCRYPTED_DATA_LEN_RANGE));
    }
    let (iv, ct) = data.split_at(GCM_IV_LEN);
    let mut iv = iv.to_vec();
    let params =
        GcmParams::new(&mut iv, &[], Ulong::from(128u64)).map_err(|_| Ckr::CKR_GENERAL_ERROR)?;
    s.decrypt(&Mechanism::AesGcm(params), key, ct)
        .map_err(|e| ckr_of(&e))
}

/// The classic key check value of an AES key: the first 3 bytes of AES-ECB of a zero block.
pub fn key_check_value(s: &Session, key: ObjectHandle, shape: Shape) -> MemberResult<[u8; 3]> {
    require_aes(shape)?;
    let block = s
        .encrypt(&Mechanism::AesEcb, key, &[0u8; 16])
        .map_err(|e| ckr_of(&e))?;
    match block.as_slice() {
        [a, b, c, ..] => Ok([*a, *b, *c]),
        _ => Err(Ckr::CKR_GENERAL_ERROR),
    }
}
