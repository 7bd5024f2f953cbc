//! Owns [`Serial`]: the opaque serial number of a partition or HSM as written in a scenario.
//!
//! A serial is read from either an unsigned integer (`1234840370164`) or a string
//! (`"1234840370164"`); both spellings give the same value. It is kept as text, so
//! ordering is the ordering of strings and a leading zero written in a string survives.
//! It is written back as a string.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// An opaque serial number (partition or HSM). Compared, ordered and printed as text.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Serial(pub String);

impl Serial {
    /// The serial as text, exactly as it is printed.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Serial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for Serial {
    fn from(text: &str) -> Self {
        Self(text.to_owned())
    }
}

impl From<String> for Serial {
    fn from(text: String) -> Self {
        Self(text)
    }
}

impl From<u64> for Serial {
    fn from(number: u64) -> Self {
        Self(number.to_string())
    }
}

impl Serialize for Serial {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// Accepts an unsigned integer or a non-empty string.
struct SerialVisitor;

impl SerialVisitor {
    fn from_text<E: de::Error>(text: &str) -> Result<Serial, E> {
        if text.is_empty() {
            return Err(E::invalid_value(de::Unexpected::Str(text), &SerialVisitor));
        }
        Ok(Serial(text.to_owned()))
    }
}

impl Visitor<'_> for SerialVisitor {
    type Value = Serial;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a serial number (an unsigned integer or a non-empty string)")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Serial, E> {
        Ok(Serial(v.to_string()))
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Serial, E> {
        Ok(Serial(v.to_string()))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Serial, E> {
        match u64::try_from(v) {
            Ok(unsigned) => Ok(Serial(unsigned.to_string())),
            Err(_) => Err(E::invalid_value(de::Unexpected::Signed(v), &self)),
        }
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Serial, E> {
        match u128::try_from(v) {
            Ok(unsigned) => Ok(Serial(unsigned.to_string())),
            Err(_) => Err(E::invalid_value(
                de::Unexpected::Other("a negative integer"),
                &self,
            )),
        }
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Serial, E> {
        Self::from_text(v)
    }
}

impl<'de> Deserialize<'de> for Serial {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(SerialVisitor)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use std::collections::BTreeMap;

    use super::Serial;

    #[test]
    fn integer_and_string_are_the_same_serial() {
        let a: Serial = ron::from_str("1234840370164").unwrap();
        let b: Serial = ron::from_str("\"1234840370164\"").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.to_string(), "1234840370164");
    }

    #[test]
    fn small_integers_read_too() {
        let s: Serial = ron::from_str("7").unwrap();
        assert_eq!(s, Serial::from("7"));
    }

    #[test]
    fn usable_as_map_key_in_both_spellings() {
        let m: BTreeMap<Serial, u64> = ron::from_str("{1234840370164: 3, \"77\": 4}").unwrap();
        assert_eq!(m.get(&Serial::from(1234840370164u64)), Some(&3));
        assert_eq!(m.get(&Serial::from("77")), Some(&4));
    }

    #[test]
    fn negative_float_and_empty_are_refused() {
        let e = ron::from_str::<Serial>("-5").unwrap_err();
        assert_eq!(
            e.code.to_string(),
            "Expected a serial number (an unsigned integer or a non-empty string) but found the \
             signed integer `-5` instead"
        );
        assert!(ron::from_str::<Serial>("1.5").is_err());
        assert!(ron::from_str::<Serial>("\"\"").is_err());
    }

    #[test]
    fn serializes_as_a_string() {
        assert_eq!(ron::to_string(&Serial::from(42u64)).unwrap(), "\"42\"");
    }
}
