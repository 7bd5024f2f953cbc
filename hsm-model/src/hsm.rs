//! HSMs: the appliance or card that holds partitions. Owns [`HsmSpec`] (what to build),
//! [`Hsm`] (what was built), the form factor, the firmware version and the authentication
//! method. An HSM carries the HSM-wide policies; it holds no objects itself.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use thiserror::Error;

use crate::policy;

/// The HSM's form factor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HsmForm {
    /// A network-attached appliance (Luna Network HSM).
    Network,
    /// A PCIe card.
    Pcie,
    /// A USB device.
    Usb,
    /// A cloud HSM service.
    Cloud,
}

/// How partitions on the HSM authenticate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AuthMethod {
    /// Password authentication.
    Password,
    /// PIN entry device (multifactor).
    Ped,
}

/// A firmware version `major.minor.patch`, ordered numerically.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Firmware {
    /// Major version.
    pub major: u32,
    /// Minor version.
    pub minor: u32,
    /// Patch version.
    pub patch: u32,
}

/// Why a firmware string did not parse.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("invalid firmware version {text:?}: expected major.minor.patch")]
pub struct FirmwareParseError {
    /// The text that was rejected.
    pub text: String,
}

impl Firmware {
    /// A firmware version from its three parts.
    pub const fn new(major: u32, minor: u32, patch: u32) -> Self {
        Firmware {
            major,
            minor,
            patch,
        }
    }

    /// Parses `"7.7.0"`: exactly three dot-separated decimal numbers.
    pub fn parse(text: &str) -> Result<Self, FirmwareParseError> {
        let err = || FirmwareParseError {
            text: text.to_string(),
        };
        let mut parts = text.split('.');
        let mut next = || -> Result<u32, FirmwareParseError> {
            let part = parts.next().ok_or_else(err)?;
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(err());
            }
            part.parse().map_err(|_| err())
        };
        let (major, minor, patch) = (next()?, next()?, next()?);
        if parts.next().is_some() {
            return Err(err());
        }
        Ok(Firmware::new(major, minor, patch))
    }
}

impl FromStr for Firmware {
    type Err = FirmwareParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Firmware::parse(s)
    }
}

impl fmt::Display for Firmware {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// What to build an HSM from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HsmSpec {
    /// The HSM serial (unique across the model).
    pub serial: String,
    /// Form factor.
    pub form: HsmForm,
    /// Firmware version.
    pub firmware: Firmware,
    /// Authentication method.
    pub auth: AuthMethod,
    /// HSM policies. When the HSM is added these override the defaults
    /// ([`policy::default_hsm_policies`]), so a spec may list only what differs.
    pub policies: BTreeMap<u32, u64>,
}

impl HsmSpec {
    /// A network HSM on firmware 7.7.0 with password authentication and the default policies
    /// (7→1 allow cloning, 12→0 FIPS mode, 16→1 allow network replication, 21→1 forced PIN
    /// change).
    pub fn new(serial: impl Into<String>) -> Self {
        HsmSpec {
            serial: serial.into(),
            form: HsmForm::Network,
            firmware: Firmware::new(7, 7, 0),
            auth: AuthMethod::Password,
            policies: policy::default_hsm_policies(),
        }
    }

    /// Sets one policy (builder style).
    pub fn with_policy(mut self, number: u32, value: u64) -> Self {
        self.policies.insert(number, value);
        self
    }
}

/// An HSM in the model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hsm {
    serial: String,
    form: HsmForm,
    firmware: Firmware,
    auth: AuthMethod,
    policies: BTreeMap<u32, u64>,
}

impl Hsm {
    /// Builds the HSM: the spec's policies override the defaults.
    pub(crate) fn from_spec(spec: HsmSpec) -> Self {
        Hsm {
            policies: policy::merged(policy::default_hsm_policies(), &spec.policies),
            serial: spec.serial,
            form: spec.form,
            firmware: spec.firmware,
            auth: spec.auth,
        }
    }

    /// The HSM serial.
    pub fn serial(&self) -> &str {
        &self.serial
    }

    /// Form factor.
    pub fn form(&self) -> HsmForm {
        self.form
    }

    /// Firmware version.
    pub fn firmware(&self) -> Firmware {
        self.firmware
    }

    /// Authentication method.
    pub fn auth(&self) -> AuthMethod {
        self.auth
    }

    /// Policy `number` (0 when unset).
    pub fn policy(&self, number: u32) -> u64 {
        policy::read(&self.policies, number)
    }

    /// All policies, in number order.
    pub fn policies(&self) -> &BTreeMap<u32, u64> {
        &self.policies
    }

    /// True when the HSM runs in FIPS mode. The model's choice: FIPS mode is HSM policy 12
    /// ("allow non-FIPS algorithms") being 0, which is the default.
    pub fn fips(&self) -> bool {
        self.policy(policy::HSM_ALLOW_NON_FIPS) == 0
    }

    /// Changes one policy (the model propagates it to the HSM's partitions).
    pub(crate) fn set_policy(&mut self, number: u32, value: u64) {
        self.policies.insert(number, value);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failing unwrap is a failing test
mod tests {
    use super::*;

    #[test]
    fn firmware_parses_displays_and_orders() {
        let f = Firmware::parse("7.7.0");
        assert_eq!(f, Ok(Firmware::new(7, 7, 0)));
        assert_eq!(Firmware::new(7, 7, 0).to_string(), "7.7.0");
        assert!(Firmware::new(7, 3, 9) < Firmware::new(7, 7, 0));
        assert!(Firmware::new(7, 10, 0) > Firmware::new(7, 9, 1));
        for bad in [
            "", "7", "7.7", "7.7.0.1", "7..0", "a.b.c", "7.7.+1", " 7.7.0",
        ] {
            assert!(Firmware::parse(bad).is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn spec_defaults_and_overrides() {
        let hsm = Hsm::from_spec(HsmSpec::new("H1").with_policy(12, 1));
        assert_eq!(hsm.form(), HsmForm::Network);
        assert_eq!(hsm.firmware(), Firmware::new(7, 7, 0));
        assert_eq!(hsm.auth(), AuthMethod::Password);
        assert_eq!(hsm.policy(7), 1);
        assert_eq!(hsm.policy(16), 1);
        assert_eq!(hsm.policy(21), 1);
        assert_eq!(hsm.policy(99), 0);
        assert!(!hsm.fips());
        assert!(Hsm::from_spec(HsmSpec::new("H2")).fips());
    }

    #[test]
    fn sparse_policies_are_merged_over_defaults() {
        let mut spec = HsmSpec::new("H1");
        spec.policies = BTreeMap::from([(7, 0)]);
        let hsm = Hsm::from_spec(spec);
        assert_eq!(hsm.policy(7), 0);
        assert_eq!(hsm.policy(16), 1);
    }
}
