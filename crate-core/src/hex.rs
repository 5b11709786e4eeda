//! Serde helpers writing addresses as hex strings (`"0xffff8880041c2d00"`): JSON numbers lose
//! precision above 2^53.

use serde::Serializer;

/// Serialize a `u64` as a `0x`-prefixed hex string.
pub fn serialize<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format!("{v:#x}"))
}

/// Serialize an optional `u64` as a hex string or null.
pub mod option {
    use serde::Serializer;

    /// Serialize `Some(v)` as a hex string, `None` as null.
    pub fn serialize<S: Serializer>(v: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => s.serialize_str(&format!("{v:#x}")),
            None => s.serialize_none(),
        }
    }
}
