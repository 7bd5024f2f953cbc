//! Stand-in cryptography. Nothing here is real RSA, EC or AES: every operation is a
//! deterministic keyed function (HMAC-SHA256) of the key's secret material, never of its id or
//! handle, so two copies of one key (clones) give byte-identical results and two different keys
//! give different results. The per-partition random generator is ChaCha20 seeded from
//! SHA-256(model seed, little-endian || partition serial).

use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sha2::{Digest, Sha256};

/// HMAC-SHA256, the keyed function behind every stand-in operation.
pub type HmacSha256 = Hmac<Sha256>;

/// Length of the key material the model draws for every key.
pub const SECRET_LEN: usize = 32;
/// Length of the tag [`encrypt`] appends.
pub const TAG_LEN: usize = 16;

/// A fresh HMAC-SHA256 keyed with `key`.
pub fn mac(key: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length, so `new_from_slice` never fails; the all-zero key
    // fallback only exists to avoid a panic path.
    <HmacSha256 as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| <HmacSha256 as KeyInit>::new(&Default::default()))
}

/// HMAC-SHA256 over the concatenation of `parts`.
pub fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = mac(key);
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// SHA-256 over the concatenation of `parts`.
pub fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

/// `bytes` in lower-case hex, two digits each (as `{:02x}` per byte writes them), in one
/// allocation.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// The random generator of partition `serial` in a model seeded with `seed`: ChaCha20 seeded
/// from SHA-256(seed as u64 little-endian || serial bytes). Deterministic and independent per
/// partition.
pub fn partition_rng(seed: u64, serial: &str) -> ChaCha20Rng {
    ChaCha20Rng::from_seed(sha256(&[&seed.to_le_bytes(), serial.as_bytes()]))
}

/// The stand-in public-key material of a key pair: SHA-256(b"hasim-public" || private secret).
pub fn public_from_private(secret: &[u8]) -> Vec<u8> {
    sha256(&[b"hasim-public", secret]).to_vec()
}

/// Stand-in signature: HMAC-SHA256(secret, b"hasim-sign" || data).
pub fn sign(secret: &[u8], data: &[u8]) -> Vec<u8> {
    hmac_sha256(secret, &[b"hasim-sign", data]).to_vec()
}

/// [`sign`] with an HMAC state already keyed with the secret (the same bytes, two SHA-256
/// compressions fewer).
pub fn sign_keyed(keyed: &HmacSha256, data: &[u8]) -> Vec<u8> {
    let mut mac = keyed.clone();
    mac.update(b"hasim-sign");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// Stand-in authenticated encryption: `data` XOR a keystream whose block `i` (32 bytes) is
/// HMAC-SHA256(secret, b"hasim-enc" || i as u64 big-endian), followed by a 16-byte tag, the
/// first 16 bytes of HMAC-SHA256(secret, b"hasim-tag" || ciphertext).
pub fn encrypt(secret: &[u8], data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + TAG_LEN);
    for (i, chunk) in data.chunks(32).enumerate() {
        let block = hmac_sha256(secret, &[b"hasim-enc", &(i as u64).to_be_bytes()]);
        out.extend(chunk.iter().zip(block.iter()).map(|(d, k)| d ^ k));
    }
    let tag = hmac_sha256(secret, &[b"hasim-tag", &out]);
    out.extend_from_slice(&tag[..TAG_LEN]);
    out
}

/// [`encrypt`] with an HMAC state already keyed with the secret ([`mac`]): the same bytes,
/// without setting the key up again for every block and the tag.
pub fn encrypt_keyed(keyed: &HmacSha256, data: &[u8]) -> Vec<u8> {
    let block = |parts: &[&[u8]]| -> [u8; 32] {
        let mut mac = keyed.clone();
        for part in parts {
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    };
    let mut out = Vec::with_capacity(data.len() + TAG_LEN);
    for (i, chunk) in data.chunks(32).enumerate() {
        let stream = block(&[b"hasim-enc", &(i as u64).to_be_bytes()]);
        out.extend(chunk.iter().zip(stream.iter()).map(|(d, k)| d ^ k));
    }
    let tag = block(&[b"hasim-tag", &out]);
    out.extend_from_slice(&tag[..TAG_LEN]);
    out
}

/// The key that authenticates clone blobs of cloning domain `domain`:
/// SHA-256(b"hasim-domain:" || domain).
pub fn domain_key(domain: &str) -> [u8; 32] {
    sha256(&[b"hasim-domain:", domain.as_bytes()])
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failing unwrap is a failing test
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn hex_writes_what_format_writes() {
        let bytes: Vec<u8> = (0..=255).collect();
        let want: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex(&bytes), want);
        assert_eq!(hex(&[]), "");
    }

    #[test]
    fn keyed_signing_gives_the_same_bytes() {
        let secret = [7u8; SECRET_LEN];
        assert_eq!(sign_keyed(&mac(&secret), b"data"), sign(&secret, b"data"));
        assert_ne!(
            sign_keyed(&mac(&[8u8; SECRET_LEN]), b"data"),
            sign(&secret, b"data")
        );
    }

    #[test]
    fn keyed_encryption_gives_the_same_bytes() {
        let secret = [7u8; SECRET_LEN];
        for len in [0, 1, 31, 32, 33, 70, 200] {
            let data: Vec<u8> = (0..len).map(|i| i as u8).collect();
            assert_eq!(
                encrypt_keyed(&mac(&secret), &data),
                encrypt(&secret, &data),
                "{len} bytes"
            );
        }
        assert_ne!(
            encrypt_keyed(&mac(&[8u8; SECRET_LEN]), b"data"),
            encrypt(&secret, b"data")
        );
    }

    #[test]
    fn sign_is_keyed() {
        let a = sign(&[1; 32], b"msg");
        assert_eq!(a, sign(&[1; 32], b"msg"));
        assert_ne!(a, sign(&[2; 32], b"msg"));
        assert_ne!(a, sign(&[1; 32], b"msh"));
        assert_eq!(a.len(), 32);
    }

    #[test]
    fn encrypt_shape_and_keystream() {
        let key = [7u8; 32];
        let data = vec![0u8; 70];
        let ct = encrypt(&key, &data);
        assert_eq!(ct.len(), 70 + TAG_LEN);
        // XOR with zeros exposes the keystream blocks.
        let b0 = hmac_sha256(&key, &[b"hasim-enc", &0u64.to_be_bytes()]);
        let b2 = hmac_sha256(&key, &[b"hasim-enc", &2u64.to_be_bytes()]);
        assert_eq!(&ct[..32], &b0[..]);
        assert_eq!(&ct[64..70], &b2[..6]);
        let tag = hmac_sha256(&key, &[b"hasim-tag", &ct[..70]]);
        assert_eq!(&ct[70..], &tag[..16]);
    }

    #[test]
    fn partition_rngs_are_deterministic_and_independent() {
        let mut a = [0u8; 32];
        let mut b = [0u8; 32];
        let mut c = [0u8; 32];
        partition_rng(1, "P1").fill_bytes(&mut a);
        partition_rng(1, "P1").fill_bytes(&mut b);
        partition_rng(1, "P2").fill_bytes(&mut c);
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
