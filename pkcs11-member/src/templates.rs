//! Attribute templates: what every key, copy and data object this crate creates looks like.
//!
//! Every key the engine holds is `CKA_PRIVATE`, `CKA_SENSITIVE` and `CKA_EXTRACTABLE`: it can
//! leave the member only wrapped under the domain wrapping key (the difference from Luna
//! cloning, where keys never need `CKA_EXTRACTABLE`). Public keys and data objects are public.

use cryptoki::object::{Attribute, KeyType, ObjectClass};
use cryptoki::types::Ulong;

/// DER of the named curve P-256 (OID 1.2.840.10045.3.1.7), the `CKA_EC_PARAMS` of EC keys.
pub const P256_PARAMS: &[u8] = &[0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07];
/// The RSA public exponent 65537.
pub const RSA_EXPONENT: &[u8] = &[0x01, 0x00, 0x01];

/// `CKA_ID` prefix reserved for setup objects (the domain keys). Objects under it are not the
/// engine's: they are never listed, counted, destroyed or replicated through the port.
pub const SETUP_ID_PREFIX: &[u8] = b"hasim-setup:";
/// `CKA_ID` of the domain wrapping key.
pub const DOMAIN_WRAP_ID: &[u8] = b"hasim-setup:domain-wrap";
/// `CKA_ID` of the domain MAC key (authenticates clone blobs).
pub const DOMAIN_MAC_ID: &[u8] = b"hasim-setup:domain-mac";

/// True for an id in the setup namespace.
pub fn is_setup_id(id: &[u8]) -> bool {
    id.starts_with(SETUP_ID_PREFIX)
}

fn common(class: ObjectClass, token: bool, id: &[u8], label: &str) -> Vec<Attribute> {
    vec![
        Attribute::Class(class),
        Attribute::Token(token),
        Attribute::Id(id.to_vec()),
        Attribute::Label(label.as_bytes().to_vec()),
    ]
}

/// A secret AES key (generation needs `value_len`; an unwrap template leaves it out).
pub fn aes_secret(token: bool, id: &[u8], label: &str, value_len: Option<u64>) -> Vec<Attribute> {
    let mut t = common(ObjectClass::SECRET_KEY, token, id, label);
    t.extend([
        Attribute::KeyType(KeyType::AES),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(true),
        Attribute::Sign(true),
        Attribute::Verify(true),
        Attribute::Encrypt(true),
        Attribute::Decrypt(true),
    ]);
    if let Some(len) = value_len {
        t.push(Attribute::ValueLen(Ulong::from(len)));
    }
    t
}

/// A private key of `key_type` (RSA or EC), for generation and unwrap alike.
pub fn private_key(key_type: KeyType, token: bool, id: &[u8], label: &str) -> Vec<Attribute> {
    let mut t = common(ObjectClass::PRIVATE_KEY, token, id, label);
    t.extend([
        Attribute::KeyType(key_type),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(true),
        Attribute::Sign(true),
    ]);
    if key_type == KeyType::RSA {
        t.push(Attribute::Decrypt(true));
    }
    t
}

/// The public half of an RSA-2048 pair to generate.
pub fn rsa_public_gen(token: bool, id: &[u8], label: &str) -> Vec<Attribute> {
    let mut t = common(ObjectClass::PUBLIC_KEY, token, id, label);
    t.extend([
        Attribute::KeyType(KeyType::RSA),
        Attribute::Private(false),
        Attribute::Verify(true),
        Attribute::Encrypt(true),
        Attribute::ModulusBits(Ulong::from(2048u64)),
        Attribute::PublicExponent(RSA_EXPONENT.to_vec()),
    ]);
    t
}

/// The public half of an EC P-256 pair to generate.
pub fn ec_public_gen(token: bool, id: &[u8], label: &str) -> Vec<Attribute> {
    let mut t = common(ObjectClass::PUBLIC_KEY, token, id, label);
    t.extend([
        Attribute::KeyType(KeyType::EC),
        Attribute::Private(false),
        Attribute::Verify(true),
        Attribute::EcParams(P256_PARAMS.to_vec()),
    ]);
    t
}

/// A copy of an RSA public key.
pub fn rsa_public_copy(
    token: bool,
    id: &[u8],
    label: &str,
    modulus: &[u8],
    exponent: &[u8],
) -> Vec<Attribute> {
    let mut t = common(ObjectClass::PUBLIC_KEY, token, id, label);
    t.extend([
        Attribute::KeyType(KeyType::RSA),
        Attribute::Private(false),
        Attribute::Verify(true),
        Attribute::Encrypt(true),
        Attribute::Modulus(modulus.to_vec()),
        Attribute::PublicExponent(exponent.to_vec()),
    ]);
    t
}

/// A copy of an EC public key.
pub fn ec_public_copy(
    token: bool,
    id: &[u8],
    label: &str,
    params: &[u8],
    point: &[u8],
) -> Vec<Attribute> {
    let mut t = common(ObjectClass::PUBLIC_KEY, token, id, label);
    t.extend([
        Attribute::KeyType(KeyType::EC),
        Attribute::Private(false),
        Attribute::Verify(true),
        Attribute::EcParams(params.to_vec()),
        Attribute::EcPoint(point.to_vec()),
    ]);
    t
}

/// A public data object. PKCS#11 gives data objects no `CKA_ID` (SoftHSM refuses one with
/// `CKR_ATTRIBUTE_TYPE_INVALID`), so a data object carries the engine's id in
/// `CKA_APPLICATION`.
pub fn data_object(token: bool, id: &[u8], label: &str, value: &[u8]) -> Vec<Attribute> {
    vec![
        Attribute::Class(ObjectClass::DATA),
        Attribute::Token(token),
        Attribute::Application(id.to_vec()),
        Attribute::Label(label.as_bytes().to_vec()),
        Attribute::Private(false),
        Attribute::Value(value.to_vec()),
    ]
}

/// The attribute that holds the engine's id for objects of `class`: `CKA_APPLICATION` for
/// data objects, `CKA_ID` for keys.
pub fn id_attribute(class: ObjectClass) -> cryptoki::object::AttributeType {
    if class == ObjectClass::DATA {
        cryptoki::object::AttributeType::Application
    } else {
        cryptoki::object::AttributeType::Id
    }
}

/// A search template for the engine's id among objects of `class`.
pub fn id_template(class: ObjectClass, id: &[u8]) -> Vec<Attribute> {
    let id_attr = if class == ObjectClass::DATA {
        Attribute::Application(id.to_vec())
    } else {
        Attribute::Id(id.to_vec())
    };
    vec![Attribute::Class(class), id_attr]
}

/// A domain key (token, private, sensitive, never extractable) with the given value: the
/// wrapping key (`wrap`) or the MAC key.
pub fn domain_key(id: &[u8], value: &[u8], wrap: bool) -> Vec<Attribute> {
    let mut t = common(ObjectClass::SECRET_KEY, true, id, "hasim domain key");
    t.extend([
        Attribute::KeyType(KeyType::AES),
        Attribute::Value(value.to_vec()),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
    ]);
    if wrap {
        t.extend([Attribute::Wrap(true), Attribute::Unwrap(true)]);
    } else {
        t.extend([Attribute::Sign(true), Attribute::Verify(true)]);
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setup_ids_are_recognised() {
        assert!(is_setup_id(DOMAIN_WRAP_ID));
        assert!(is_setup_id(DOMAIN_MAC_ID));
        assert!(!is_setup_id(b"hasim-00000001"));
    }

    #[test]
    fn engine_keys_are_sensitive_and_extractable() {
        for t in [
            aes_secret(true, b"i", "l", Some(32)),
            private_key(KeyType::RSA, true, b"i", "l"),
            private_key(KeyType::EC, false, b"i", "l"),
        ] {
            assert!(t.contains(&Attribute::Sensitive(true)));
            assert!(t.contains(&Attribute::Extractable(true)));
            assert!(t.contains(&Attribute::Private(true)));
        }
        assert!(
            domain_key(DOMAIN_WRAP_ID, &[0; 32], true).contains(&Attribute::Extractable(false))
        );
    }
}
