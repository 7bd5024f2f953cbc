//! `pkcs11-member`: the engine's [`Member`](ha_engine::ports::Member) port over a real PKCS#11
//! library through `cryptoki` — SoftHSM2 in tests and CI, a Luna client library
//! (`libCryptoki2_64.so`) in real use.
//!
//! - [`Pkcs11Member`] (modules `member`, `port`, `ops`, `replicate`): one token, found by serial
//!   or label, as an HA member. Object identity is the engine's `CKA_ID`; handles are the
//!   member's own and die with the connection that issued them.
//! - Cloning domain without Luna cloning (`replicate`, `blob`): every member holds the same
//!   domain wrapping key and MAC key; replication wraps and unwraps under them.
//! - [`Library`] (`library`): a loaded module, and the process-wide lock under which every
//!   initialisation (and the `SOFTHSM2_CONF` file SoftHSM reads then) happens.
//! - [`softhsm`]: fresh SoftHSM tokens, one module instance per member.
//! - [`conformance`]: the `Member` contract, written once and run against every backend.
//! - [`credential`]: credentials from a file or an environment variable, as `secrecy` strings.
//!
//! The workspace forbids `unsafe`; this crate denies it and allows it only in `raw`, block by
//! block.
#![deny(unsafe_code)]

pub mod blob;
pub mod conformance;
pub mod credential;
pub mod error;
pub mod handles;
pub mod library;
pub mod member;
pub mod ops;
mod port;
pub mod raw;
mod replicate;
pub mod softhsm;
pub mod templates;

pub use credential::CredentialSource;
pub use error::{ExportError, SetupError, ckr_of};
pub use library::{Library, TokenSelector};
pub use member::{Attachment, Pkcs11Member};
pub use port::{ObjectMaterial, class_from_ck, class_to_ck};
pub use softhsm::{LabSpec, LabToken, Layout, SoftHsmLab};
