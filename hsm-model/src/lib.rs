//! # hsm-model: an in-process software HSM
//!
//! A deterministic stand-in for a set of HSMs and their partitions, behaving like PKCS#11
//! tokens with one application attached (SoftHSM semantics: per-token login, handles reissued
//! after logout, session objects tied to their session). It knows nothing of how its
//! partitions are used together.
//!
//! Module map:
//! - [`model`]: [`HsmModel`], every HSM and partition by serial, and the model seed.
//! - [`hsm`]: [`HsmSpec`], [`Hsm`], form factor, [`Firmware`], authentication method.
//! - [`partition`]: [`PartitionSpec`], [`Partition`]: sessions, login, objects, crypto calls,
//!   storage figures and both halves of cloning.
//! - [`object`]: [`ObjectRecord`], [`ObjectView`], [`Query`], [`ObjectClass`], [`KeyKind`].
//! - [`policy`]: policy numbers the model acts on and their defaults.
//! - [`storage`]: object sizes and [`StorageInfo`] (`partition showinfo`).
//! - `table`: a partition's objects by handle (a vector sorted by handle; handles reissued in
//!   place).
//! - [`crypto`]: stand-in cryptography and the per-partition RNG seeding.
//! - [`clone`]: the clone blob format.
//! - [`error`]: the error type, [`ModelError`].
//!
//! ## Stand-in cryptography
//!
//! No real RSA, EC or AES is performed. Every operation is a deterministic keyed function
//! (HMAC-SHA256) of the key's secret material, never of its id or handle and never of a
//! process-random hasher: `sign` = HMAC-SHA256(secret, "hasim-sign" || data); `encrypt` (AES
//! keys only) = data XOR an HMAC-SHA256 keystream, plus a 16-byte HMAC tag. A clone therefore
//! signs and encrypts byte-identically to its original, and independently generated keys do
//! not. Key material is 32 bytes from the partition's own ChaCha20 generator, seeded from
//! SHA-256(model seed, little-endian || partition serial): the same seed gives the same run,
//! and partitions are independent of each other and of the order they are used in.
//!
//! ## Storage figures
//!
//! `used` = overhead + the sizes of all token objects; `object_count` counts token objects
//! only. Session objects live in volatile memory: they are neither counted nor charged, so
//! they never fail with `DeviceMemory`.

pub mod clone;
pub mod crypto;
pub mod error;
pub mod hsm;
pub mod model;
pub mod object;
pub mod partition;
pub mod policy;
pub mod storage;
mod table;

pub use error::{ModelError, ModelResult};
pub use hsm::{AuthMethod, Firmware, FirmwareParseError, Hsm, HsmForm, HsmSpec};
pub use model::HsmModel;
pub use object::{KeyKind, ObjectClass, ObjectRecord, ObjectView, Query};
pub use partition::{APPLICATION, ClientId, LUNACM, Partition, PartitionSpec};
pub use storage::StorageInfo;
