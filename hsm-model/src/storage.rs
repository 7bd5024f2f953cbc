//! Storage accounting: the size every object takes and the figures `partition showinfo`
//! prints ([`StorageInfo`]). Only token objects occupy partition storage; session objects live
//! in volatile memory and are neither counted nor charged.

use crate::object::{KeyKind, ObjectClass};

/// Bytes an AES-128 key takes.
pub const AES128_SIZE: u64 = 512;
/// Bytes an AES-256 key takes.
pub const AES256_SIZE: u64 = 528;
/// Bytes an RSA-2048 private key takes.
pub const RSA2048_PRIVATE_SIZE: u64 = 1856;
/// Bytes an RSA-2048 public key takes.
pub const RSA2048_PUBLIC_SIZE: u64 = 640;
/// Bytes an EC P-256 private key takes.
pub const ECP256_PRIVATE_SIZE: u64 = 736;
/// Bytes an EC P-256 public key takes.
pub const ECP256_PUBLIC_SIZE: u64 = 480;
/// Bytes a data object takes before its value.
pub const DATA_BASE_SIZE: u64 = 256;

/// The storage one object takes: by key kind and class, or 256 + value length for data.
/// A class/kind pairing that cannot occur (e.g. an AES public key) is `None`.
pub fn object_size(class: ObjectClass, kind: Option<KeyKind>, value_len: usize) -> Option<u64> {
    match (class, kind) {
        (ObjectClass::Data, None) => Some(DATA_BASE_SIZE.saturating_add(value_len as u64)),
        (ObjectClass::SecretKey, Some(KeyKind::Aes128)) => Some(AES128_SIZE),
        (ObjectClass::SecretKey, Some(KeyKind::Aes256)) => Some(AES256_SIZE),
        (ObjectClass::PrivateKey, Some(KeyKind::Rsa2048)) => Some(RSA2048_PRIVATE_SIZE),
        (ObjectClass::PublicKey, Some(KeyKind::Rsa2048)) => Some(RSA2048_PUBLIC_SIZE),
        (ObjectClass::PrivateKey, Some(KeyKind::EcP256)) => Some(ECP256_PRIVATE_SIZE),
        (ObjectClass::PublicKey, Some(KeyKind::EcP256)) => Some(ECP256_PUBLIC_SIZE),
        _ => None,
    }
}

/// The storage block of `partition showinfo`. Admin view: reading it needs no session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StorageInfo {
    /// Total storage space, bytes.
    pub total: u64,
    /// Used storage space: overhead + the sizes of all token objects.
    pub used: u64,
    /// Free storage space: total - used.
    pub free: u64,
    /// Number of token objects (session objects are not counted).
    pub object_count: u64,
    /// Fixed overhead, bytes.
    pub overhead: u64,
}

impl StorageInfo {
    /// The figures for a partition of `total` bytes with `overhead`, holding token objects of
    /// the given sizes.
    pub fn compute(total: u64, overhead: u64, token_sizes: impl IntoIterator<Item = u64>) -> Self {
        let mut used = overhead;
        let mut object_count = 0u64;
        for size in token_sizes {
            used = used.saturating_add(size);
            object_count += 1;
        }
        StorageInfo {
            total,
            used,
            free: total.saturating_sub(used),
            object_count,
            overhead,
        }
    }

    /// True when `extra` more bytes still fit.
    pub fn fits(&self, extra: u64) -> bool {
        self.used
            .checked_add(extra)
            .is_some_and(|u| u <= self.total)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failing unwrap is a failing test
mod tests {
    use super::*;

    #[test]
    fn sizes_by_kind() {
        assert_eq!(
            object_size(ObjectClass::SecretKey, Some(KeyKind::Aes128), 0),
            Some(512)
        );
        assert_eq!(object_size(ObjectClass::Data, None, 10), Some(266));
        assert_eq!(
            object_size(ObjectClass::PublicKey, Some(KeyKind::Aes128), 0),
            None
        );
        assert_eq!(
            object_size(ObjectClass::Data, Some(KeyKind::Aes128), 0),
            None
        );
    }

    #[test]
    fn showinfo_figures() {
        let info = StorageInfo::compute(325_896, 9648, [528, 736, 480]);
        assert_eq!(info.used, 9648 + 528 + 736 + 480);
        assert_eq!(info.free, 325_896 - info.used);
        assert_eq!(info.object_count, 3);
        assert!(info.fits(info.free));
        assert!(!info.fits(info.free + 1));
    }
}
