//! Reading Volatility 3 ISF JSON (plain or xz-compressed) into the type model, and writing the model back
//! as an ISF (schema 6.2.0) for Volatility 3.
//!
//! Strings are borrowed from the document where they carry no escapes, and maps are read straight into
//! vectors: the corpus ISFs are 13-23 MB of JSON, and this is the whole cost of a cold start.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use base64::Engine;
use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;

use super::types::{BaseKind, BaseType, EnumType, Field, Symbol, TypeRef, UserKind, UserType};
use super::SymbolError;

/// The xz stream magic.
const XZ_MAGIC: &[u8] = b"\xfd7zXZ\0";
/// Bound on decompressed ISF size: the largest kernels' ISFs are well under this.
const MAX_ISF_BYTES: u64 = 1 << 30;
/// Bound on nested type descriptors (pointer to array of pointer...).
const MAX_TYPE_DEPTH: usize = 32;

/// Everything the symbol table keeps from an ISF, entries in document order.
pub(super) struct IsfContents {
    pub base_types: Vec<(String, BaseType)>,
    pub user_types: Vec<(String, UserType)>,
    pub enums: Vec<(String, EnumType)>,
    pub symbols: Vec<(String, Symbol)>,
    /// `symbols.linux_banner.constant_data`, decoded.
    pub banner: Option<String>,
}

/// Decompress `bytes` if they are an xz stream, then parse the ISF JSON.
pub(super) fn parse(bytes: &[u8]) -> Result<IsfContents, SymbolError> {
    let owned;
    let json = if bytes.starts_with(XZ_MAGIC) {
        owned = decompress_xz(bytes)?;
        &owned[..]
    } else {
        bytes
    };
    let doc: Document = serde_json::from_slice(json).map_err(|e| SymbolError::Json(e.to_string()))?;
    doc.into_contents()
}

fn decompress_xz(bytes: &[u8]) -> Result<Vec<u8>, SymbolError> {
    use std::io::Read;
    let reader = lzma_rust2::XzReader::new(bytes, true);
    let mut out = Vec::with_capacity(bytes.len() * 12);
    reader
        .take(MAX_ISF_BYTES)
        .read_to_end(&mut out)
        .map_err(|e| SymbolError::Xz(e.to_string()))?;
    Ok(out)
}

#[derive(Deserialize)]
struct Document<'a> {
    metadata: Option<IgnoredAny>,
    #[serde(borrow, deserialize_with = "entries")]
    base_types: Vec<(Cow<'a, str>, IsfBase<'a>)>,
    #[serde(borrow, deserialize_with = "entries")]
    user_types: Vec<(Cow<'a, str>, IsfUser<'a>)>,
    #[serde(borrow, default, deserialize_with = "entries")]
    enums: Vec<(Cow<'a, str>, IsfEnum<'a>)>,
    #[serde(borrow, deserialize_with = "entries")]
    symbols: Vec<(Cow<'a, str>, IsfSymbol<'a>)>,
}

#[derive(Deserialize)]
struct IsfBase<'a> {
    size: u64,
    #[serde(default)]
    signed: bool,
    #[serde(borrow)]
    kind: Cow<'a, str>,
}

#[derive(Deserialize)]
struct IsfUser<'a> {
    #[serde(borrow)]
    kind: Cow<'a, str>,
    size: u64,
    #[serde(borrow, default, deserialize_with = "entries")]
    fields: Vec<(Cow<'a, str>, IsfField<'a>)>,
}

#[derive(Deserialize)]
struct IsfField<'a> {
    #[serde(borrow, rename = "type")]
    ty: IsfType<'a>,
    offset: Option<u64>,
    #[serde(default)]
    anonymous: bool,
}

#[derive(Deserialize)]
struct IsfEnum<'a> {
    size: u64,
    #[serde(borrow)]
    base: Cow<'a, str>,
    #[serde(borrow, default, deserialize_with = "entries")]
    constants: Vec<(Cow<'a, str>, i128)>,
}

#[derive(Deserialize)]
struct IsfSymbol<'a> {
    address: u64,
    #[serde(borrow, rename = "type")]
    ty: Option<IsfType<'a>>,
    #[serde(borrow)]
    constant_data: Option<Cow<'a, str>>,
}

/// A type descriptor: `{"kind": ..., "name"?, "subtype"?, "count"?, "bit_position"?, "bit_length"?, "type"?}`.
#[derive(Deserialize)]
struct IsfType<'a> {
    #[serde(borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    subtype: Option<Box<IsfType<'a>>>,
    count: Option<u64>,
    bit_position: Option<u32>,
    bit_length: Option<u32>,
    #[serde(borrow, rename = "type")]
    underlying: Option<Box<IsfType<'a>>>,
}

impl Document<'_> {
    fn into_contents(self) -> Result<IsfContents, SymbolError> {
        let _ = self.metadata;
        let base_types = self
            .base_types
            .into_iter()
            .map(|(name, b)| {
                let kind = match &*b.kind {
                    "char" => BaseKind::Char,
                    "bool" => BaseKind::Bool,
                    "float" => BaseKind::Float,
                    "void" => BaseKind::Void,
                    _ => BaseKind::Int,
                };
                (
                    name.into_owned(),
                    BaseType {
                        size: b.size,
                        signed: b.signed,
                        kind,
                    },
                )
            })
            .collect();
        let mut user_types = Vec::with_capacity(self.user_types.len());
        for (name, u) in self.user_types {
            let kind = if u.kind == "union" {
                UserKind::Union
            } else {
                UserKind::Struct
            };
            let mut fields = Vec::with_capacity(u.fields.len());
            for (field_name, f) in u.fields {
                let ty = convert(&f.ty, 0).map_err(|e| e.within(&name, &field_name))?;
                fields.push(Field {
                    name: field_name.into_owned(),
                    offset: f.offset.unwrap_or(0),
                    ty,
                    anonymous: f.anonymous,
                });
            }
            fields.sort_by_key(|f| f.offset);
            user_types.push((
                name.into_owned(),
                UserType {
                    kind,
                    size: u.size,
                    fields,
                },
            ));
        }
        let enums = self
            .enums
            .into_iter()
            .map(|(name, e)| {
                let constants = e.constants.into_iter().map(|(k, v)| (k.into_owned(), v)).collect();
                (
                    name.into_owned(),
                    EnumType {
                        size: e.size,
                        base: e.base.into_owned(),
                        constants,
                    },
                )
            })
            .collect();
        let mut banner = None;
        let mut symbols = Vec::with_capacity(self.symbols.len());
        for (name, s) in self.symbols {
            let ty = match &s.ty {
                Some(t) => Some(convert(t, 0).map_err(|e| e.within(&name, "type"))?),
                None => None,
            };
            if name == "linux_banner" {
                banner = s.constant_data.as_deref().and_then(decode_banner);
            }
            symbols.push((name.into_owned(), Symbol { address: s.address, ty }));
        }
        Ok(IsfContents {
            base_types,
            user_types,
            enums,
            symbols,
            banner,
        })
    }
}

/// Decode base64 constant data into the banner text, up to its terminating NUL and newline.
fn decode_banner(data: &str) -> Option<String> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(data).ok()?;
    let text = bytes.split(|&b| b == 0).next().unwrap_or_default();
    Some(String::from_utf8_lossy(text).trim_end().to_string())
}

/// What was wrong with one type descriptor.
struct DescriptorError(String);

impl DescriptorError {
    fn within(self, owner: &str, member: &str) -> SymbolError {
        SymbolError::BadType(format!("{owner}.{member}: {}", self.0))
    }
}

fn convert(t: &IsfType<'_>, depth: usize) -> Result<TypeRef, DescriptorError> {
    if depth > MAX_TYPE_DEPTH {
        return Err(DescriptorError("type descriptors nested too deep".into()));
    }
    let name = || {
        t.name
            .as_deref()
            .map(str::to_string)
            .ok_or_else(|| DescriptorError(format!("{} without a name", t.kind)))
    };
    let inner = |sub: &Option<Box<IsfType<'_>>>, what: &str| match sub {
        Some(s) => convert(s, depth + 1).map(Box::new),
        None => Err(DescriptorError(format!("{} without a {what}", t.kind))),
    };
    Ok(match &*t.kind {
        "base" => TypeRef::Base(name()?),
        "struct" | "union" | "class" => TypeRef::User(name()?),
        "enum" => TypeRef::Enum(name()?),
        "pointer" => TypeRef::Pointer(inner(&t.subtype, "subtype")?),
        "array" => TypeRef::Array {
            count: t.count.unwrap_or(0),
            element: inner(&t.subtype, "subtype")?,
        },
        "bitfield" => TypeRef::Bitfield {
            position: t.bit_position.unwrap_or(0),
            length: t.bit_length.unwrap_or(0),
            underlying: inner(&t.underlying, "type")?,
        },
        "function" => TypeRef::Function,
        other => return Err(DescriptorError(format!("unknown type kind {other:?}"))),
    })
}

/// What an ISF written by [`write`] holds: every table of a symbol table, and its banner.
pub(super) struct IsfOut<'a> {
    pub base_types: &'a [(String, BaseType)],
    pub user_types: &'a [(String, UserType)],
    pub enums: &'a [(String, EnumType)],
    pub symbols: &'a [(String, Symbol)],
    pub banner: Option<&'a str>,
    /// The producer named in the metadata, and what the types and symbols were read from.
    pub producer: &'a str,
    pub sources: serde_json::Value,
}

/// The ISF document (schema 6.2.0) of a symbol table, as Volatility 3 reads it.
pub(super) fn write(t: &IsfOut<'_>) -> serde_json::Value {
    use serde_json::{json, Map, Value};
    let unions: std::collections::HashSet<&str> = t
        .user_types
        .iter()
        .filter(|(_, u)| u.kind == UserKind::Union)
        .map(|(n, _)| n.as_str())
        .collect();
    fn descriptor(ty: &TypeRef, unions: &std::collections::HashSet<&str>) -> Value {
        match ty {
            TypeRef::Base(name) => json!({"kind": "base", "name": name}),
            TypeRef::User(name) => {
                let kind = if unions.contains(name.as_str()) {
                    "union"
                } else {
                    "struct"
                };
                json!({"kind": kind, "name": name})
            }
            TypeRef::Enum(name) => json!({"kind": "enum", "name": name}),
            TypeRef::Pointer(sub) => json!({"kind": "pointer", "subtype": descriptor(sub, unions)}),
            TypeRef::Array { count, element } => {
                json!({"kind": "array", "count": count, "subtype": descriptor(element, unions)})
            }
            TypeRef::Bitfield {
                position,
                length,
                underlying,
            } => json!({"kind": "bitfield", "bit_position": position, "bit_length": length,
                        "type": descriptor(underlying, unions)}),
            TypeRef::Function => json!({"kind": "function"}),
        }
    }
    let base: Map<String, Value> = t
        .base_types
        .iter()
        .map(|(name, b)| {
            let kind = match b.kind {
                BaseKind::Int => "int",
                BaseKind::Char => "char",
                BaseKind::Bool => "bool",
                BaseKind::Float => "float",
                BaseKind::Void => "void",
            };
            let v = json!({"size": b.size, "signed": b.signed, "kind": kind, "endian": "little"});
            (name.clone(), v)
        })
        .collect();
    let user: Map<String, Value> = t
        .user_types
        .iter()
        .map(|(name, u)| {
            let fields: Map<String, Value> = u
                .fields
                .iter()
                .map(|f| {
                    let mut v = json!({"type": descriptor(&f.ty, &unions), "offset": f.offset});
                    if f.anonymous {
                        v["anonymous"] = Value::Bool(true);
                    }
                    (f.name.clone(), v)
                })
                .collect();
            let kind = if u.kind == UserKind::Union { "union" } else { "struct" };
            (name.clone(), json!({"kind": kind, "size": u.size, "fields": fields}))
        })
        .collect();
    let enums: Map<String, Value> = t
        .enums
        .iter()
        .map(|(name, e)| {
            let constants: Map<String, Value> = e
                .constants
                .iter()
                .map(|(n, v)| {
                    (
                        n.clone(),
                        i64::try_from(*v).map_or_else(|_| json!(*v as u64), |v| json!(v)),
                    )
                })
                .collect();
            (
                name.clone(),
                json!({"size": e.size, "base": e.base, "constants": constants}),
            )
        })
        .collect();
    let mut symbols: Map<String, Value> = t
        .symbols
        .iter()
        .map(|(name, s)| {
            let mut v = json!({"address": s.address});
            if let Some(ty) = &s.ty {
                v["type"] = descriptor(ty, &unions);
            }
            (name.clone(), v)
        })
        .collect();
    if let (Some(banner), Some(entry)) = (t.banner, symbols.get_mut("linux_banner")) {
        // The kernel's constant data: the banner with its newline and NUL, as Volatility matches it.
        let data = format!("{banner}\n\0");
        entry["constant_data"] = Value::String(base64::engine::general_purpose::STANDARD.encode(data.as_bytes()));
        entry["type"] = json!({"kind": "array", "count": data.len(), "subtype": {"kind": "base", "name": "char"}});
    }
    json!({
        "metadata": {
            "format": "6.2.0",
            "producer": {"name": t.producer, "version": env!("CARGO_PKG_VERSION")},
            "linux": t.sources,
        },
        "base_types": base,
        "user_types": user,
        "enums": enums,
        "symbols": symbols,
    })
}

/// Deserialize a JSON object into a vector of its entries, in document order.
fn entries<'de, D, K, V>(d: D) -> Result<Vec<(K, V)>, D::Error>
where
    D: Deserializer<'de>,
    K: Deserialize<'de>,
    V: Deserialize<'de>,
{
    struct Entries<K, V>(PhantomData<(K, V)>);
    impl<'de, K: Deserialize<'de>, V: Deserialize<'de>> Visitor<'de> for Entries<K, V> {
        type Value = Vec<(K, V)>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::with_capacity(map.size_hint().unwrap_or(0));
            while let Some(entry) = map.next_entry()? {
                out.push(entry);
            }
            Ok(out)
        }
    }
    d.deserialize_map(Entries(PhantomData))
}
