//! What a member holds, read through a logged-in session: every token object, split into
//! hasim's `CKA_ID` namespace (`hasim-`: the objects scenarios create and the domain keys) and
//! the operator's own objects, each of those with a fingerprint (SHA-256 of every attribute
//! the token lets us read). Two inventories of one member, before and after, prove the
//! operator's objects untouched; the `(class, id, label)` sets of two members say whether they
//! need a synchronisation (B61).

use cryptoki::object::{Attribute, AttributeType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;
use ha_engine::Ckr;
use pkcs11_member::ckr_of;
use sha2::{Digest, Sha256};

/// The `CKA_ID` (or, for a data object, `CKA_APPLICATION`) prefix of everything hasim creates.
pub const NAMESPACE: &[u8] = b"hasim-";

/// Attributes read for a fingerprint (those a token does not have or will not show are left
/// out; sensitive values never leave the token).
const PRINTED: &[AttributeType] = &[
    AttributeType::Class,
    AttributeType::KeyType,
    AttributeType::Id,
    AttributeType::Label,
    AttributeType::Application,
    AttributeType::Value,
    AttributeType::ValueLen,
    AttributeType::Modulus,
    AttributeType::PublicExponent,
    AttributeType::EcParams,
    AttributeType::EcPoint,
    AttributeType::Private,
    AttributeType::Sensitive,
    AttributeType::Extractable,
    AttributeType::Modifiable,
    AttributeType::Sign,
    AttributeType::Verify,
    AttributeType::Encrypt,
    AttributeType::Decrypt,
    AttributeType::Wrap,
    AttributeType::Unwrap,
    AttributeType::Derive,
];

/// One of the operator's objects.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Print {
    /// `CKO_*`.
    pub class: String,
    /// `CKA_ID` (`CKA_APPLICATION` for data objects), lossy UTF-8.
    pub id: String,
    /// `CKA_LABEL`, lossy UTF-8.
    pub label: String,
    /// SHA-256 (hex) over every readable attribute.
    pub fingerprint: String,
}

impl Print {
    /// How the object is named in a report.
    pub fn name(&self) -> String {
        format!("{} label {:?} id {:?}", self.class, self.label, self.id)
    }
}

/// A member's token objects.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Inventory {
    /// The operator's objects, sorted.
    pub own: Vec<Print>,
    /// Ids of objects in hasim's namespace, sorted.
    pub ours: Vec<Vec<u8>>,
}

impl Inventory {
    /// The operator's objects as `(class, id, label)`, sorted: what must be equal on every
    /// member of a group that needs no synchronisation.
    pub fn identities(&self) -> Vec<(String, String, String)> {
        let mut v: Vec<_> = self
            .own
            .iter()
            .map(|p| (p.class.clone(), p.id.clone(), p.label.clone()))
            .collect();
        v.sort();
        v
    }
}

fn bytes_of(attrs: &[Attribute], t: AttributeType) -> Option<Vec<u8>> {
    attrs.iter().find_map(|a| match (a, t) {
        (Attribute::Id(v), AttributeType::Id)
        | (Attribute::Application(v), AttributeType::Application)
        | (Attribute::Label(v), AttributeType::Label) => Some(v.clone()),
        _ => None,
    })
}

/// Reads every attribute of [`PRINTED`] the token will show, one at a time when a batch read
/// is refused.
fn readable(s: &Session, h: ObjectHandle) -> Result<Vec<Attribute>, Ckr> {
    if let Ok(all) = s.get_attributes(h, PRINTED) {
        return Ok(all);
    }
    let mut out = Vec::new();
    for t in PRINTED {
        if let Ok(mut one) = s.get_attributes(h, &[*t]) {
            out.append(&mut one);
        }
    }
    if out.is_empty() {
        // Not even the class: the object is gone or the session is.
        s.get_attributes(h, &[AttributeType::Class])
            .map_err(|e| ckr_of(&e))?;
    }
    Ok(out)
}

/// The member's token objects, read through `s` (logged in, so private objects show).
pub fn take(s: &Session) -> Result<Inventory, Ckr> {
    let mut inv = Inventory::default();
    for h in s
        .find_objects(&[Attribute::Token(true)])
        .map_err(|e| ckr_of(&e))?
    {
        let attrs = readable(s, h)?;
        let class = attrs
            .iter()
            .find_map(|a| match a {
                Attribute::Class(c) => Some(*c),
                _ => None,
            })
            .unwrap_or(ObjectClass::DATA);
        let id_attr = if class == ObjectClass::DATA {
            AttributeType::Application
        } else {
            AttributeType::Id
        };
        let id = bytes_of(&attrs, id_attr).unwrap_or_default();
        if id.starts_with(NAMESPACE) {
            inv.ours.push(id);
            continue;
        }
        let mut digest = Sha256::new();
        for a in &attrs {
            digest.update(format!("{a:?}\n").as_bytes());
        }
        inv.own.push(Print {
            class: class.to_string(),
            id: String::from_utf8_lossy(&id).into_owned(),
            label: String::from_utf8_lossy(
                &bytes_of(&attrs, AttributeType::Label).unwrap_or_default(),
            )
            .into_owned(),
            fingerprint: digest
                .finalize()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect(),
        });
    }
    inv.own.sort();
    inv.ours.sort();
    Ok(inv)
}

/// Destroys every token or session object of this session's view whose `CKA_ID` or
/// `CKA_APPLICATION` is `id` (which must be in hasim's namespace). Returns how many.
pub fn destroy(s: &Session, id: &[u8]) -> Result<usize, Ckr> {
    if !id.starts_with(NAMESPACE) {
        return Err(Ckr::CKR_ARGUMENTS_BAD);
    }
    let mut n = 0;
    for template in [
        vec![Attribute::Id(id.to_vec())],
        vec![Attribute::Application(id.to_vec())],
    ] {
        for h in s.find_objects(&template).map_err(|e| ckr_of(&e))? {
            s.destroy_object(h).map_err(|e| ckr_of(&e))?;
            n += 1;
        }
    }
    Ok(n)
}
