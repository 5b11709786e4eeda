//! Kernel symbols and types from Volatility 3 ISF files, kept as a [`SymbolTable`] over a compact pack.
//!
//! An ISF (JSON, optionally xz-compressed) is read once into a pack ([`pack`]); the pack can be cached by
//! the front end (keyed by [`SymbolTable::source_hash`]) and loaded again without parsing. Types are
//! decoded on first use and kept.

mod btf;
pub mod index;
mod isf;
pub mod kallsyms;
mod pack;
pub mod types;

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use sha2::{Digest, Sha256};

pub use btf::{blob_len as btf_blob_len, describes as btf_describes, HEADER_START as BTF_HEADER_START};
use pack::{PackView, Table};
pub use types::{BaseKind, BaseType, EnumType, Field, Symbol, TypeRef, UserKind, UserType};

/// Bound on nested anonymous members followed when a field is looked up.
const MAX_ANONYMOUS_DEPTH: usize = 8;

/// Why symbols could not be loaded or a lookup failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SymbolError {
    /// The ISF is not valid JSON of the expected shape.
    #[error("the symbol file is not a valid ISF: {0}")]
    Json(String),
    /// The xz stream is corrupt.
    #[error("the symbol file's xz data is corrupt: {0}")]
    Xz(String),
    /// A type descriptor in the ISF is malformed.
    #[error("the symbol file has a malformed type at {0}")]
    BadType(String),
    /// A symbol pack is corrupt or of another version.
    #[error("symbol pack: {0}")]
    Pack(String),
    /// The symbols have no type of this name.
    #[error("the symbols have no type {0:?}")]
    MissingType(String),
    /// The symbols have no symbol of this name.
    #[error("the symbols have no symbol {0:?}")]
    MissingSymbol(String),
    /// The type has no member of this name.
    #[error("type {ty:?} has no member {field:?}")]
    MissingField { ty: String, field: String },
}

/// A struct or union with its members, anonymous members' own members included, found by name.
#[derive(Debug)]
pub struct Layout {
    /// The type's name.
    pub name: String,
    /// The type as the ISF describes it.
    pub ty: UserType,
    /// Every member reachable by name (through anonymous members), with its offset from this type's start.
    by_name: HashMap<String, (u64, TypeRef)>,
}

impl Layout {
    /// Size of the type in bytes.
    pub fn size(&self) -> u64 {
        self.ty.size
    }

    /// Offset and type of a member, looking through anonymous members.
    pub fn field(&self, name: &str) -> Result<(u64, &TypeRef), SymbolError> {
        self.by_name
            .get(name)
            .map(|(o, t)| (*o, t))
            .ok_or_else(|| SymbolError::MissingField {
                ty: self.name.clone(),
                field: name.to_string(),
            })
    }

    /// Whether the type has a member of this name.
    pub fn has_field(&self, name: &str) -> bool {
        self.by_name.contains_key(name)
    }
}

/// Symbols and types of one kernel build.
pub struct SymbolTable {
    bytes: Vec<u8>,
    view: PackView,
    layouts: RefCell<HashMap<String, Rc<Layout>>>,
}

impl std::fmt::Debug for SymbolTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SymbolTable")
            .field("banner", &self.banner())
            .finish_non_exhaustive()
    }
}

impl SymbolTable {
    /// Read an ISF file's bytes (JSON or .json.xz) and build its pack.
    pub fn from_isf(file: &[u8]) -> Result<SymbolTable, SymbolError> {
        let hash: [u8; 32] = Sha256::digest(file).into();
        let c = isf::parse(file)?;
        let bytes = pack::build(
            &hash,
            c.banner.as_deref(),
            &c.base_types,
            &c.user_types,
            &c.enums,
            &c.symbols,
        )?;
        SymbolTable::from_pack(bytes)
    }

    /// Build a table from a kernel's own BTF blob and its symbols (names with link-time addresses, as
    /// kallsyms in memory gives them once the KASLR shift is taken off), the banner read from memory. A
    /// symbol's type comes from BTF's variables where it has one, else from [`btf::global_types`]; the
    /// table is keyed by the blob's SHA-256.
    pub fn from_btf<'a>(
        blob: &[u8],
        symbols: impl IntoIterator<Item = (&'a str, u64)>,
        banner: Option<&str>,
    ) -> Result<SymbolTable, SymbolError> {
        let hash: [u8; 32] = Sha256::digest(blob).into();
        let c = btf::parse(blob)?;
        let mut types: HashMap<&str, TypeRef> = c.vars.iter().map(|(n, t)| (n.as_str(), t.clone())).collect();
        for (name, ty) in btf::global_types(&c) {
            types.entry(name).or_insert(ty);
        }
        let symbols: Vec<(&str, Symbol)> = symbols
            .into_iter()
            .map(|(name, address)| {
                let ty = types.get(name).cloned();
                (name, Symbol { address, ty })
            })
            .collect();
        let bytes = pack::build(&hash, banner, &c.base_types, &c.user_types, &c.enums, &symbols)?;
        SymbolTable::from_pack(bytes)
    }

    /// Load a pack made by [`SymbolTable::pack`].
    pub fn from_pack(bytes: Vec<u8>) -> Result<SymbolTable, SymbolError> {
        let view = PackView::new(&bytes)?;
        Ok(SymbolTable {
            bytes,
            view,
            layouts: RefCell::default(),
        })
    }

    /// SHA-256 of an ISF file's bytes: the key under which its pack is cached.
    pub fn hash_isf(file: &[u8]) -> [u8; 32] {
        Sha256::digest(file).into()
    }

    /// The pack's bytes, to be cached by the front end.
    pub fn pack(&self) -> &[u8] {
        &self.bytes
    }

    /// SHA-256 of the ISF file this table was built from.
    pub fn source_hash(&self) -> [u8; 32] {
        self.view.source_hash()
    }

    /// [`SymbolTable::source_hash`] as lowercase hex: how indexes, caches and `info` name it.
    pub fn source_hash_hex(&self) -> String {
        self.source_hash().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The kernel banner the ISF records (`linux_banner`'s constant data), without its trailing newline.
    pub fn banner(&self) -> Option<&str> {
        self.view.banner(&self.bytes)
    }

    /// The kernel release named by the banner (`6.1.0-56-amd64` of `Linux version 6.1.0-56-amd64 (...)`).
    pub fn release(&self) -> Option<&str> {
        release_of_banner(self.banner()?)
    }

    /// A symbol by name.
    pub fn symbol(&self, name: &str) -> Result<Option<Symbol>, SymbolError> {
        self.view.get(&self.bytes, Table::Symbols, name)
    }

    /// The link-time address of a symbol that must exist.
    pub fn address(&self, name: &str) -> Result<u64, SymbolError> {
        self.symbol(name)?
            .map(|s| s.address)
            .ok_or_else(|| SymbolError::MissingSymbol(name.to_string()))
    }

    /// Whether a symbol exists.
    pub fn has_symbol(&self, name: &str) -> bool {
        matches!(self.symbol(name), Ok(Some(_)))
    }

    /// A base type by name.
    pub fn base_type(&self, name: &str) -> Result<BaseType, SymbolError> {
        self.view
            .get(&self.bytes, Table::BaseTypes, name)?
            .ok_or_else(|| SymbolError::MissingType(name.to_string()))
    }

    /// An enum by name.
    pub fn enum_type(&self, name: &str) -> Result<EnumType, SymbolError> {
        self.view
            .get(&self.bytes, Table::Enums, name)?
            .ok_or_else(|| SymbolError::MissingType(name.to_string()))
    }

    /// The value of constant `constant` of enum `enum_name`, where the symbols have both.
    pub fn enum_constant(&self, enum_name: &str, constant: &str) -> Option<i128> {
        let e = self.enum_type(enum_name).ok()?;
        e.constants.iter().find(|(n, _)| n == constant).map(|(_, v)| *v)
    }

    /// Whether a struct or union of this name exists.
    pub fn has_type(&self, name: &str) -> bool {
        self.layout(name).is_ok()
    }

    /// The layout of a struct or union, decoded once and kept.
    pub fn layout(&self, name: &str) -> Result<Rc<Layout>, SymbolError> {
        if let Some(l) = self.layouts.borrow().get(name) {
            return Ok(l.clone());
        }
        let ty = self.user_type(name)?;
        let mut by_name = HashMap::with_capacity(ty.fields.len());
        self.collect_fields(&ty, 0, 0, &mut by_name)?;
        let layout = Rc::new(Layout {
            name: name.to_string(),
            ty,
            by_name,
        });
        self.layouts.borrow_mut().insert(name.to_string(), layout.clone());
        Ok(layout)
    }

    fn user_type(&self, name: &str) -> Result<UserType, SymbolError> {
        self.view
            .get(&self.bytes, Table::UserTypes, name)?
            .ok_or_else(|| SymbolError::MissingType(name.to_string()))
    }

    /// Add `ty`'s members at `base` to `out`, descending into anonymous members; direct names win.
    fn collect_fields(
        &self,
        ty: &UserType,
        base: u64,
        depth: usize,
        out: &mut HashMap<String, (u64, TypeRef)>,
    ) -> Result<(), SymbolError> {
        for f in &ty.fields {
            out.entry(f.name.clone()).or_insert((base + f.offset, f.ty.clone()));
        }
        if depth >= MAX_ANONYMOUS_DEPTH {
            return Ok(());
        }
        for f in ty.fields.iter().filter(|f| f.anonymous) {
            if let TypeRef::User(inner) = &f.ty {
                // A dangling reference only costs the members it would have given; a damaged pack fails.
                match self.user_type(inner) {
                    Ok(inner) => self.collect_fields(&inner, base + f.offset, depth + 1, out)?,
                    Err(SymbolError::MissingType(_)) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(())
    }

    /// Size in bytes of a value of type `t`.
    pub fn size_of(&self, t: &TypeRef) -> Result<u64, SymbolError> {
        Ok(match t {
            TypeRef::Base(name) => self.base_type(name)?.size,
            TypeRef::User(name) => self.layout(name)?.size(),
            TypeRef::Enum(name) => self.enum_type(name)?.size,
            TypeRef::Pointer(_) => self.base_type("pointer").map(|b| b.size).unwrap_or(8),
            TypeRef::Array { count, element } => count.saturating_mul(self.size_of(element)?),
            TypeRef::Bitfield { underlying, .. } => self.size_of(underlying)?,
            TypeRef::Function => 0,
        })
    }

    /// The whole table as a Volatility 3 ISF document (schema 6.2.0): types, symbols with their link-time
    /// addresses, and the banner as `linux_banner`'s constant data. `sources` goes in the metadata's
    /// `linux` key (what the types and symbols were read from).
    pub fn to_isf(&self, sources: serde_json::Value) -> Result<serde_json::Value, SymbolError> {
        let b = &self.bytes;
        let base_types: Vec<(String, BaseType)> = self.view.all(b, Table::BaseTypes)?;
        let user_types: Vec<(String, UserType)> = self.view.all(b, Table::UserTypes)?;
        let enums: Vec<(String, EnumType)> = self.view.all(b, Table::Enums)?;
        let symbols: Vec<(String, Symbol)> = self.view.all(b, Table::Symbols)?;
        Ok(isf::write(&isf::IsfOut {
            base_types: &base_types,
            user_types: &user_types,
            enums: &enums,
            symbols: &symbols,
            banner: self.banner(),
            producer: "memscope",
            sources,
        }))
    }

    /// Number of entries in the symbol table.
    pub fn symbol_count(&self) -> usize {
        self.view.count(&self.bytes, Table::Symbols)
    }

    /// Number of structs and unions.
    pub fn user_type_count(&self) -> usize {
        self.view.count(&self.bytes, Table::UserTypes)
    }
}

/// The release in a banner: the word after `Linux version `.
pub fn release_of_banner(banner: &str) -> Option<&str> {
    banner.strip_prefix("Linux version ")?.split_whitespace().next()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISF: &str = r#"{
      "metadata": {"format": "6.2.0"},
      "base_types": {
        "int": {"size": 4, "signed": true, "kind": "int", "endian": "little"},
        "pointer": {"size": 8, "signed": false, "kind": "int", "endian": "little"},
        "char": {"size": 1, "signed": false, "kind": "char", "endian": "little"}
      },
      "user_types": {
        "outer": {"kind": "struct", "size": 32, "fields": {
          "a": {"type": {"kind": "base", "name": "int"}, "offset": 0},
          "unnamed_field_8": {"type": {"kind": "union", "name": "inner"}, "offset": 8, "anonymous": true},
          "flags": {"type": {"kind": "bitfield", "bit_position": 3, "bit_length": 2,
                    "type": {"kind": "base", "name": "int"}}, "offset": 4},
          "dangling": {"type": {"kind": "pointer", "subtype": {"kind": "struct", "name": "nowhere"}}, "offset": 24}
        }},
        "inner": {"kind": "union", "size": 16, "fields": {
          "b": {"type": {"kind": "array", "count": 16, "subtype": {"kind": "base", "name": "char"}}, "offset": 0},
          "c": {"type": {"kind": "base", "name": "int"}, "offset": 4}
        }}
      },
      "enums": {"e": {"size": 4, "base": "int", "constants": {"X": 1, "Y": -2}}},
      "symbols": {
        "linux_banner": {"address": 18446744071579566336, "constant_data": "TGludXggdmVyc2lvbiA2LjEuMCAoeCkKAA=="},
        "init_task": {"address": 18446744071600000000, "type": {"kind": "struct", "name": "outer"}}
      }
    }"#;

    #[test]
    fn isf_round_trips_through_the_pack() {
        let t = SymbolTable::from_isf(ISF.as_bytes()).unwrap();
        let t = SymbolTable::from_pack(t.pack().to_vec()).unwrap();
        assert_eq!(t.banner(), Some("Linux version 6.1.0 (x)"));
        assert_eq!(t.release(), Some("6.1.0"));
        assert_eq!(t.address("init_task").unwrap(), 18446744071600000000);
        assert!(t.symbol("nope").unwrap().is_none());
        let outer = t.layout("outer").unwrap();
        assert_eq!(outer.size(), 32);
        assert_eq!(outer.field("c").unwrap().0, 12);
        assert_eq!(
            outer.field("b").unwrap().1,
            &TypeRef::Array {
                count: 16,
                element: Box::new(TypeRef::Base("char".into()))
            }
        );
        assert!(matches!(outer.field("zz"), Err(SymbolError::MissingField { .. })));
        assert_eq!(t.size_of(&TypeRef::User("inner".into())).unwrap(), 16);
        assert_eq!(t.enum_type("e").unwrap().constants.len(), 2);
        assert!(t.layout("nowhere").is_err());
    }

    #[test]
    fn bad_inputs_are_errors() {
        assert!(matches!(SymbolTable::from_isf(b"not json"), Err(SymbolError::Json(_))));
        assert!(matches!(
            SymbolTable::from_isf(b"\xfd7zXZ\0garbage"),
            Err(SymbolError::Xz(_))
        ));
        assert!(SymbolTable::from_pack(b"MSPACK\x01\0short".to_vec()).is_err());
        let t = SymbolTable::from_isf(ISF.as_bytes()).unwrap();
        let mut bytes = t.pack().to_vec();
        // A pack cut anywhere is refused: its last section always ends at the pack's end.
        for cut in 0..bytes.len() {
            assert!(
                SymbolTable::from_pack(bytes[..cut].to_vec()).is_err(),
                "a pack cut at {cut} of {} bytes loads",
                bytes.len()
            );
        }
        // A byte flipped anywhere is refused when the pack loads or when the entry it damaged is looked up
        // (each entry carries a CRC, checked on every entry a lookup passes): never a different answer.
        let answers = |p: &SymbolTable| -> Vec<String> {
            let mut out = vec![format!("{:?}", p.banner())];
            for name in ["linux_banner", "init_task", "nope"] {
                out.push(format!("{:?}", p.symbol(name)));
            }
            for name in ["outer", "inner", "nowhere"] {
                out.push(format!(
                    "{:?}",
                    p.layout(name).map(|l| (l.size(), l.field("c").ok().map(|f| f.0)))
                ));
            }
            for name in ["int", "char", "pointer"] {
                out.push(format!("{:?}", p.base_type(name)));
            }
            out.push(format!("{:?}", p.enum_type("e")));
            out
        };
        let want = answers(&t);
        for i in 0..bytes.len() {
            bytes[i] ^= 0x20;
            if let Ok(p) = SymbolTable::from_pack(bytes.clone()) {
                for (got, want) in answers(&p).iter().zip(&want) {
                    assert!(
                        got == want || got.starts_with("Err"),
                        "byte {i} flipped: {got} where the intact pack says {want}"
                    );
                }
            }
            bytes[i] ^= 0x20;
        }
    }
}
