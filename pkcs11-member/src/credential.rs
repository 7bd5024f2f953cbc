//! Credentials (a partition's CO password / user PIN, a token's SO PIN) read from a file or an
//! environment variable into a [`SecretString`]. A credential never appears in a log, an error
//! or a `Debug` print: errors name the source (the file or the variable), never the value.

use std::path::PathBuf;

use secrecy::{ExposeSecret, SecretString};

use crate::error::SetupError;

/// Where a credential comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CredentialSource {
    /// The first line of a file (a trailing `\n` / `\r\n` is not part of it).
    File(PathBuf),
    /// An environment variable.
    Env(String),
}

impl std::fmt::Display for CredentialSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CredentialSource::File(p) => write!(f, "file {}", p.display()),
            CredentialSource::Env(v) => write!(f, "environment variable {v}"),
        }
    }
}

impl CredentialSource {
    /// Reads the credential. An empty one is an error.
    pub fn read(&self) -> Result<SecretString, SetupError> {
        let fail = |why: &str| SetupError::Credential(self.to_string(), why.to_string());
        let raw = match self {
            CredentialSource::File(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| fail(&e.to_string()))?;
                let line = text.lines().next().unwrap_or("").to_string();
                SecretString::from(line)
            }
            CredentialSource::Env(var) => match std::env::var(var) {
                Ok(v) => SecretString::from(v),
                Err(std::env::VarError::NotPresent) => return Err(fail("not set")),
                Err(std::env::VarError::NotUnicode(_)) => return Err(fail("not valid UTF-8")),
            },
        };
        if raw.expose_secret().is_empty() {
            return Err(fail("empty"));
        }
        Ok(raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_credential_is_its_first_line_and_errors_name_only_the_source() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pin");
        std::fs::write(&path, "s3cret-canary\r\nignored\n").unwrap();
        let pin = CredentialSource::File(path.clone()).read().unwrap();
        assert_eq!(pin.expose_secret(), "s3cret-canary");
        assert!(!format!("{pin:?}").contains("canary"));

        std::fs::write(&path, "\n").unwrap();
        let err = CredentialSource::File(path.clone()).read().unwrap_err();
        assert!(err.to_string().contains("empty"), "{err}");
        let err = CredentialSource::Env("HASIM_TEST_SURELY_UNSET_VAR".into())
            .read()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "credential environment variable HASIM_TEST_SURELY_UNSET_VAR: not set"
        );
    }
}
