//! Object fingerprints for a real token (`Fingerprints`, D47): the hash hasim's in-process
//! HSM computes for its objects (`hsm_model::Partition::object_fingerprint`), over what a real
//! token lets a client read: class, id and material (a data object's value; a secret key's
//! check value, its value being sensitive). So a data object's fingerprint is the same on both
//! backends; a key's differs between them but is equal for equal copies on one.

use ha_engine::ports::ObjectClass;
use sha2::{Digest, Sha256};

/// 16 hex digits of SHA-256 over `hasim-object-fingerprint:`, the class name, the id and the
/// material.
pub fn of(class: ObjectClass, id: &[u8], material: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"hasim-object-fingerprint:");
    hasher.update(format!("{class:?}").as_bytes());
    hasher.update(id);
    hasher.update(material);
    let digest = hasher.finalize();
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_data_object_hashes_as_the_model_hashes_it() {
        let model = hsm_model::crypto::sha256(&[
            b"hasim-object-fingerprint:",
            b"Data",
            b"id-1",
            b"blue",
            b"",
        ]);
        let want: String = model.iter().take(8).map(|b| format!("{b:02x}")).collect();
        assert_eq!(of(ObjectClass::Data, b"id-1", b"blue"), want);
        assert_ne!(of(ObjectClass::Data, b"id-1", b"green"), want);
    }
}
