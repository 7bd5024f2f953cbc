//! The model's error type, [`ModelError`]: one variant per refusal a partition or the model can
//! give. Messages name serials and handles but never a credential or key material.

use thiserror::Error;

/// Everything the model can refuse. Variants mirror PKCS#11 return values where one exists
/// (the adapter in `sim` maps them to `CKR_*`).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ModelError {
    /// A multi-part operation is already active on the session.
    #[error("operation active")]
    OperationActive,
    /// No multi-part operation was initialised on the session.
    #[error("operation not initialized")]
    OperationNotInitialized,
    /// The session handle is unknown or the session was closed.
    #[error("session handle invalid")]
    SessionHandleInvalid,
    /// Login while the partition is already logged in (login state is per partition).
    #[error("user already logged in")]
    UserAlreadyLoggedIn,
    /// The call needs a logged-in partition.
    #[error("user not logged in")]
    UserNotLoggedIn,
    /// The credential given to login does not match.
    #[error("PIN incorrect")]
    PinIncorrect,
    /// The credential is correct but must be changed first (HSM policy 21 on and the CO
    /// credential never changed).
    #[error("PIN expired: the credential must be changed first")]
    PinExpired,
    /// The partition is not activated.
    #[error("partition not activated")]
    NotActivated,
    /// The object handle is unknown, was destroyed, or was reissued.
    #[error("object handle invalid")]
    ObjectHandleInvalid,
    /// The key's type does not fit the operation (e.g. encrypt with a non-AES key).
    #[error("key type inconsistent")]
    KeyTypeInconsistent,
    /// The object may not be used for the operation (e.g. sign with a public key).
    #[error("key function not permitted")]
    KeyFunctionNotPermitted,
    /// The partition's storage cannot hold the new object(s).
    #[error("device memory: partition storage full")]
    DeviceMemory,
    /// An HSM or partition cloning policy forbids the clone.
    #[error("cloning not allowed by policy")]
    CloningNotAllowed,
    /// The clone blob was made in another cloning domain.
    #[error("clone blob belongs to another cloning domain")]
    CloneDomainMismatch,
    /// The clone blob is malformed.
    #[error("clone blob invalid")]
    CloneBlobInvalid,
    /// An HSM or partition with this serial already exists in the model.
    #[error("duplicate serial {0}")]
    DuplicateSerial(String),
    /// No HSM with this serial.
    #[error("unknown HSM {0}")]
    UnknownHsm(String),
    /// No partition with this serial.
    #[error("unknown partition {0}")]
    UnknownPartition(String),
    /// A spec is inconsistent (e.g. overhead larger than total storage).
    #[error("invalid spec: {0}")]
    InvalidSpec(String),
}

/// Result of a model call.
pub type ModelResult<T> = Result<T, ModelError>;
