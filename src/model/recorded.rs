//! Values as a catalog entry records them: one this version knows, or one it does not (a
//! future version's type or codec), kept as written so a rewrite does not change it.

use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// A closed set of values written as names.
pub trait Named: Sized + Copy + 'static {
    const ALL: &'static [Self];

    fn name(self) -> &'static str;

    fn from_name(text: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|value| value.name() == text)
    }
}

/// A known value, or the text of one this version does not know.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Recorded<T> {
    Known(T),
    Other(String),
}

impl<T: Named> Recorded<T> {
    pub fn read(text: &str) -> Recorded<T> {
        T::from_name(text).map_or_else(|| Recorded::Other(text.to_string()), Recorded::Known)
    }

    pub fn as_str(&self) -> &str {
        match self {
            Recorded::Known(value) => value.name(),
            Recorded::Other(text) => text,
        }
    }

    pub fn known(&self) -> Option<T> {
        match self {
            Recorded::Known(value) => Some(*value),
            Recorded::Other(_) => None,
        }
    }
}

impl<T: Default> Default for Recorded<T> {
    fn default() -> Recorded<T> {
        Recorded::Known(T::default())
    }
}

impl<T> From<T> for Recorded<T> {
    fn from(value: T) -> Recorded<T> {
        Recorded::Known(value)
    }
}

impl<T: PartialEq> PartialEq<T> for Recorded<T> {
    fn eq(&self, other: &T) -> bool {
        matches!(self, Recorded::Known(value) if value == other)
    }
}

impl<T: Named> PartialEq<&str> for Recorded<T> {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl<T: Named> fmt::Display for Recorded<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<T: Named> Serialize for Recorded<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de, T: Named> Deserialize<'de> for Recorded<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Recorded<T>, D::Error> {
        Ok(Recorded::read(&String::deserialize(deserializer)?))
    }
}

/// A JSON value read as `T` and written back exactly as it was read, fields `T` does not
/// know included; when it does not read as `T`, why.
#[derive(Debug, Clone)]
pub struct Kept<T> {
    raw: Value,
    read: Result<T, String>,
}

impl<T: DeserializeOwned> Kept<T> {
    pub fn new(raw: Value) -> Kept<T> {
        let read = T::deserialize(&raw).map_err(|err| err.to_string());
        Kept { raw, read }
    }

    pub fn get(&self) -> Result<&T, &str> {
        self.read.as_ref().map_err(String::as_str)
    }

    pub fn raw(&self) -> &Value {
        &self.raw
    }
}

impl<T> PartialEq for Kept<T> {
    fn eq(&self, other: &Kept<T>) -> bool {
        self.raw == other.raw
    }
}

impl<T> Serialize for Kept<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.raw.serialize(serializer)
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Kept<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Kept<T>, D::Error> {
        Value::deserialize(deserializer).map(Kept::new)
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    use super::{Kept, Named, Recorded};
    use crate::model::naming::Kind;

    #[test]
    fn known_names_read_as_values_and_others_are_kept() {
        assert_eq!(
            Recorded::<Kind>::read("schema"),
            Recorded::Known(Kind::Schema)
        );
        for text in ["diff", "Full", ""] {
            let other = Recorded::<Kind>::read(text);
            assert_eq!(other, Recorded::Other(text.to_string()));
            assert_eq!(other.as_str(), text);
            assert_eq!(other.known(), None);
            assert_ne!(other, Kind::Full);
        }
        assert_eq!(Kind::from_name("full"), Some(Kind::Full));
    }

    #[test]
    fn both_write_back_as_the_text_they_were_read_from() {
        for text in ["\"full\"", "\"schema\"", "\"incremental\""] {
            let value: Recorded<Kind> = serde_json::from_str(text).unwrap();
            assert_eq!(serde_json::to_string(&value).unwrap(), text);
        }
        assert!(serde_json::from_str::<Recorded<Kind>>("3").is_err());
    }

    #[derive(Debug, Deserialize)]
    struct Pair {
        a: u32,
    }

    #[test]
    fn a_kept_value_is_typed_and_written_back_with_what_the_type_does_not_know() {
        let raw = json!({"a": 1, "later": [null, {"x": 2}], "n": null});
        let kept: Kept<Pair> = serde_json::from_value(raw.clone()).unwrap();
        assert_eq!(kept.get().unwrap().a, 1);
        assert_eq!(serde_json::to_value(&kept).unwrap(), raw);
        let odd: Kept<Pair> = serde_json::from_value(json!({"a": "one"})).unwrap();
        assert!(
            odd.get().unwrap_err().contains("invalid type"),
            "{:?}",
            odd.get()
        );
        assert_eq!(serde_json::to_value(&odd).unwrap(), json!({"a": "one"}));
    }
}
