//! [`Seconds`]: a scenario's virtual time in whole seconds (`At`, `Advance`, `Threads` fault
//! times), checked when the file is read: a value beyond the simulation's end of time
//! (`sim::queue::HORIZON_S`, 100 years) is refused with the file's `line:col`, so no time ever
//! wraps round (18446744073709552 s used to land at 0.384 s).

use std::fmt;

use ha_engine::ports::Millis;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Whole seconds of virtual time, at most `sim::queue::HORIZON_S`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Seconds(u64);

impl Seconds {
    /// `seconds`, when within the simulation's end of time.
    pub fn new(seconds: u64) -> Option<Seconds> {
        sim::queue::seconds_to_ms(seconds).map(|_| Seconds(seconds))
    }

    /// The value in seconds.
    pub fn get(self) -> u64 {
        self.0
    }

    /// The value in milliseconds (cannot overflow: checked at construction).
    pub fn ms(self) -> Millis {
        self.0 * 1000
    }
}

impl fmt::Display for Seconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Serialize for Seconds {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(self.0)
    }
}

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = u64::deserialize(d)?;
        Seconds::new(value).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "{value} seconds is beyond the end of virtual time ({} s, 100 years)",
                sim::queue::HORIZON_S
            ))
        })
    }
}
