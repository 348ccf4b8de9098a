//! Small serde helpers shared by the protocol types.
//!
//! JavaScript distinguishes a missing key from `null`; `Option<Value>` alone
//! does not (serde turns `null` into `None`). The AI SDK treats them
//! differently in places (`input: null` is kept, `input: undefined` is
//! dropped), so optional JSON values use [`present`] to keep an explicit null.

use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

/// A JSON object, as the AI SDK's `JSONObject` / `ProviderMetadata`.
pub type Object = Map<String, Value>;

/// `deserialize_with` for `Option<Value>` fields: a present key, even `null`,
/// becomes `Some`. Pair it with `#[serde(default)]` so a missing key is `None`.
pub fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// Wire name of the variant of a prefixed family (`data-<name>`, `tool-<name>`).
pub trait Suffixed {
    /// The part of the wire type after the prefix.
    fn suffix(&self) -> &str;
    /// Sets it after the rest of the value was parsed.
    fn set_suffix(&mut self, suffix: String);
}

/// One `"tag": "name"` entry, flattened ahead of a struct's own fields.
struct TagEntry<'a>(&'static str, &'a str);

impl serde::Serialize for TagEntry<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(1))?;
        map.serialize_entry(self.0, self.1)?;
        map.end()
    }
}

#[derive(serde::Serialize)]
struct Tagged<'a, T: serde::Serialize> {
    #[serde(flatten)]
    tag: TagEntry<'a>,
    #[serde(flatten)]
    inner: &'a T,
}

/// Writes `{tag: name, ..inner}` with the tag first, as the AI SDK writes it,
/// so our output is byte-identical to theirs.
pub(crate) fn serialize_tagged<S, T>(s: S, tag: &'static str, name: &str, inner: &T) -> Result<S::Ok, S::Error>
where
    S: serde::Serializer,
    T: serde::Serialize,
{
    serde::Serialize::serialize(&Tagged { tag: TagEntry(tag, name), inner }, s)
}

/// Defines a lossless JSON union discriminated by a string field: known
/// wire names map to typed variants, `<prefix><name>` families to variants
/// that remember the name, and anything else to `Unknown` with every field
/// kept as it came.
macro_rules! tagged_union {
    (
        $(#[$meta:meta])*
        pub enum $name:ident, tag = $tag:literal {
            $( $(#[$vmeta:meta])* $variant:ident($ty:ty) = $wire:literal, )*
        }
        prefixed {
            $( $(#[$pmeta:meta])* $pvariant:ident($pty:ty) = $prefix:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        #[allow(clippy::large_enum_variant)] // variants are parsed wire values, moved rarely
        pub enum $name {
            $( $(#[$vmeta])* $variant($ty), )*
            $( $(#[$pmeta])* $pvariant($pty), )*
            /// A type this crate does not know, kept whole (the tag included).
            Unknown($crate::protocol::json::Object),
        }

        impl $name {
            /// The wire value of the discriminating field.
            pub fn type_name(&self) -> std::borrow::Cow<'_, str> {
                #[allow(unused_imports)]
                use $crate::protocol::json::Suffixed as _;
                match self {
                    $( Self::$variant(_) => std::borrow::Cow::Borrowed($wire), )*
                    $( Self::$pvariant(v) => std::borrow::Cow::Owned(format!("{}{}", $prefix, v.suffix())), )*
                    Self::Unknown(map) => std::borrow::Cow::Borrowed(
                        map.get($tag).and_then(|v| v.as_str()).unwrap_or(""),
                    ),
                }
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                #[allow(unused_imports)]
                use $crate::protocol::json::Suffixed as _;
                match self {
                    $( Self::$variant(v) => $crate::protocol::json::serialize_tagged(s, $tag, $wire, v), )*
                    $( Self::$pvariant(v) => $crate::protocol::json::serialize_tagged(
                        s, $tag, &format!("{}{}", $prefix, v.suffix()), v), )*
                    Self::Unknown(map) => map.serialize(s),
                }
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                use serde::de::Error as _;
                #[allow(unused_imports)]
                use $crate::protocol::json::Suffixed as _;
                let mut map = $crate::protocol::json::Object::deserialize(d)?;
                let ty = match map.get($tag) {
                    Some(serde_json::Value::String(s)) => s.clone(),
                    _ => return Err(D::Error::custom(concat!("missing string field `", $tag, "`"))),
                };
                let field_err = |e: serde_json::Error| D::Error::custom(format!("{} `{}`: {}", $tag, ty, e));
                match ty.as_str() {
                    $( $wire => {
                        map.shift_remove($tag);
                        serde_json::from_value(serde_json::Value::Object(map)).map(Self::$variant).map_err(field_err)
                    } )*
                    $( t if t.starts_with($prefix) && t.len() > $prefix.len() => {
                        let suffix = t[$prefix.len()..].to_string();
                        map.shift_remove($tag);
                        let mut v: $pty = serde_json::from_value(serde_json::Value::Object(map)).map_err(field_err)?;
                        v.set_suffix(suffix);
                        Ok(Self::$pvariant(v))
                    } )*
                    _ => Ok(Self::Unknown(map)),
                }
            }
        }
    };
}
pub(crate) use tagged_union;
