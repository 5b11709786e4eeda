//! The kernel's own type information, BTF (the `.BTF` section between `__start_BTF` and `__stop_BTF`, which
//! the kernel keeps in its read-only data), read into the type model an ISF gives.
//!
//! Names follow the corpus ISFs' conventions, so that every lookup reads the same with either source: a
//! struct, union or enum without a name is `unnamed_<type id>`, an anonymous member `unnamed_field_<offset>`
//! (with `_<n>` after the first at one offset: a union of anonymous structs keeps every alternative) marked
//! anonymous. Where two structs (or two enums) share a name the first definition wins, as in the corpus
//! ISFs: in vmlinux BTF that is the lowest type id, which pahole gives the definition of the first
//! compilation unit that has it. A name only ever declared (`fwd`) is an empty struct.

use std::collections::{HashMap, HashSet};

use super::types::{BaseKind, BaseType, EnumType, Field, TypeRef, UserKind, UserType};
use super::SymbolError;

/// The first eight bytes of every vmlinux BTF blob: magic, version 1, no flags, a 24-byte header.
pub const HEADER_START: [u8; 8] = [0x9f, 0xeb, 1, 0, 24, 0, 0, 0];
/// Header length of BTF version 1.
const HEADER_LEN: usize = 24;
/// Bound on a blob's size: vmlinux BTF is 3-10 MiB.
pub const MAX_BLOB: usize = 64 << 20;
/// Bound on qualifier chains followed (typedef of const of volatile...).
const MAX_QUALIFIERS: usize = 64;
/// Bound on nested type references (pointer to array of pointer...).
const MAX_DEPTH: usize = 32;

// BTF kinds (include/uapi/linux/btf.h).
const INT: u8 = 1;
const PTR: u8 = 2;
const ARRAY: u8 = 3;
const STRUCT: u8 = 4;
const UNION: u8 = 5;
const ENUM: u8 = 6;
const FWD: u8 = 7;
const TYPEDEF: u8 = 8;
const VOLATILE: u8 = 9;
const CONST: u8 = 10;
const RESTRICT: u8 = 11;
const FUNC: u8 = 12;
const FUNC_PROTO: u8 = 13;
const VAR: u8 = 14;
const DATASEC: u8 = 15;
const FLOAT: u8 = 16;
const DECL_TAG: u8 = 17;
const TYPE_TAG: u8 = 18;
const ENUM64: u8 = 19;

/// The length of the BTF blob whose header starts `header` (at least 24 bytes), if it is a vmlinux BTF
/// header: types and strings follow the header and fit [`MAX_BLOB`].
pub fn blob_len(header: &[u8]) -> Option<usize> {
    if header.get(..8)? != HEADER_START {
        return None;
    }
    let word = |at: usize| Some(u32::from_le_bytes(header.get(at..at + 4)?.try_into().ok()?) as usize);
    let (type_off, type_len, str_off, str_len) = (word(8)?, word(12)?, word(16)?, word(20)?);
    // pahole writes the types, then the strings, right after the header.
    if type_off != 0 || str_off != type_len || type_len == 0 || str_len == 0 {
        return None;
    }
    let len = HEADER_LEN + str_off + str_len;
    (len <= MAX_BLOB).then_some(len)
}

/// One member of a BTF struct or union.
struct Member {
    name: u32,
    ty: u32,
    bit_offset: u32,
    /// Bitfield width, 0 when not a bitfield.
    bits: u32,
}

/// What a BTF type is; type ids index [`Btf::types`].
enum Kind<'a> {
    Void,
    Int {
        encoding: u8,
        bits: u32,
    },
    Pointer(u32),
    Array {
        element: u32,
        count: u32,
    },
    /// The members are read where they are used, from their records in the type section.
    Aggregate {
        union: bool,
        members: Members<'a>,
    },
    Enum {
        values: EnumValues<'a>,
    },
    Fwd {
        union: bool,
    },
    /// typedef, volatile, const, restrict, type_tag: the type they qualify.
    Qualifier(u32),
    Var(u32),
    FuncProto,
    Float,
    /// func, datasec, decl_tag: nothing a layout reads.
    Other,
}

struct BtfType<'a> {
    name: u32,
    size: u32,
    kind: Kind<'a>,
}

/// A parsed BTF blob.
struct Btf<'a> {
    strings: &'a [u8],
    types: Vec<BtfType<'a>>,
}

/// The little-endian words of a record.
fn words<const N: usize>(record: &[u8]) -> [u32; N] {
    std::array::from_fn(|i| {
        u32::from_le_bytes([record[4 * i], record[4 * i + 1], record[4 * i + 2], record[4 * i + 3]])
    })
}

/// A struct's or union's member records (name, type, offset), with its kind flag (bitfield widths in
/// the offsets).
struct Members<'a> {
    records: &'a [u8],
    kflag: bool,
}

impl Members<'_> {
    fn len(&self) -> usize {
        self.records.len() / 12
    }

    fn iter(&self) -> impl Iterator<Item = Member> + '_ {
        self.records.chunks_exact(12).map(|r| {
            let [name, ty, offset] = words(r);
            let (bits, bit_offset) = if self.kflag {
                (offset >> 24, offset & 0xff_ffff)
            } else {
                (0, offset)
            };
            Member {
                name,
                ty,
                bit_offset,
                bits,
            }
        })
    }
}

/// An enum's value records: name and 32-bit value, or name and 64-bit value in two words (`enum64`);
/// signed where the kind flag is set.
struct EnumValues<'a> {
    records: &'a [u8],
    wide: bool,
    signed: bool,
}

impl EnumValues<'_> {
    fn len(&self) -> usize {
        self.records.len() / if self.wide { 12 } else { 8 }
    }

    fn iter(&self) -> impl Iterator<Item = (u32, i128)> + '_ {
        self.records.chunks_exact(if self.wide { 12 } else { 8 }).map(|r| {
            let [name, lo] = words(r);
            let value = match (self.wide, self.signed) {
                (false, false) => i128::from(lo),
                (false, true) => i128::from(lo as i32),
                (true, signed) => {
                    let [_, _, hi] = words(r);
                    let raw = u64::from(lo) | u64::from(hi) << 32;
                    if signed {
                        i128::from(raw as i64)
                    } else {
                        i128::from(raw)
                    }
                }
            };
            (name, value)
        })
    }
}

/// What the symbol table keeps of a BTF blob.
pub(super) struct BtfContents {
    pub base_types: Vec<(String, BaseType)>,
    pub user_types: Vec<(String, UserType)>,
    pub enums: Vec<(String, EnumType)>,
    /// Variables BTF types (the per-CPU ones, as pahole writes them), by name.
    pub vars: Vec<(String, TypeRef)>,
}

fn bad(detail: impl Into<String>) -> SymbolError {
    SymbolError::BadType(format!("BTF: {}", detail.into()))
}

/// Little-endian reads within the type section, as errors where the section ends.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    /// The next `words` words, as reading them one by one would (an error names the first that is cut).
    fn take(&mut self, words: usize) -> Result<&'a [u8], SymbolError> {
        let whole = self.bytes.len().saturating_sub(self.at) / 4;
        if words > whole {
            return Err(bad(format!("type section cut at byte {}", self.at + 4 * whole)));
        }
        let start = self.at;
        self.at += 4 * words;
        Ok(&self.bytes[start..self.at])
    }

    fn u32(&mut self) -> Result<u32, SymbolError> {
        let b = self
            .bytes
            .get(self.at..self.at + 4)
            .ok_or_else(|| bad(format!("type section cut at byte {}", self.at)))?;
        self.at += 4;
        Ok(u32::from_le_bytes(b.try_into().unwrap_or_default()))
    }

    fn skip(&mut self, words: usize) -> Result<(), SymbolError> {
        let end = self.at + 4 * words;
        if end > self.bytes.len() {
            return Err(bad(format!("type section cut at byte {}", self.at)));
        }
        self.at = end;
        Ok(())
    }
}

/// Parse a BTF blob (header, types, strings) into the type model.
pub(super) fn parse(blob: &[u8]) -> Result<BtfContents, SymbolError> {
    let len = blob_len(blob).ok_or_else(|| bad("not a BTF blob (magic, version or sections)"))?;
    if blob.len() < len {
        return Err(bad(format!("{} bytes of a {len}-byte blob", blob.len())));
    }
    let word = |at: usize| u32::from_le_bytes(blob[at..at + 4].try_into().unwrap_or_default()) as usize;
    let type_len = word(12);
    let types_bytes = &blob[HEADER_LEN..HEADER_LEN + type_len];
    let strings = &blob[HEADER_LEN + type_len..len];
    let btf = Btf {
        strings,
        types: read_types(types_bytes)?,
    };
    btf.contents()
}

/// Whether a BTF blob parses and defines a struct of this name (`task_struct`: vmlinux's, not a module's).
pub fn describes(blob: &[u8], name: &str) -> Result<bool, SymbolError> {
    let len = blob_len(blob).ok_or_else(|| bad("not a BTF blob (magic, version or sections)"))?;
    let blob = blob.get(..len).ok_or_else(|| bad("the blob is cut short"))?;
    let type_len = u32::from_le_bytes(blob[12..16].try_into().unwrap_or_default()) as usize;
    let btf = Btf {
        strings: &blob[HEADER_LEN + type_len..],
        types: read_types(&blob[HEADER_LEN..HEADER_LEN + type_len])?,
    };
    Ok(btf
        .types
        .iter()
        .any(|t| matches!(t.kind, Kind::Aggregate { union: false, .. }) && btf.name(t.name).ok() == Some(name)))
}

fn read_types(bytes: &[u8]) -> Result<Vec<BtfType<'_>>, SymbolError> {
    let mut types = vec![BtfType {
        name: 0,
        size: 0,
        kind: Kind::Void,
    }];
    let mut c = Cursor { bytes, at: 0 };
    while c.at < bytes.len() {
        let (name, info, size) = (c.u32()?, c.u32()?, c.u32()?);
        let kind = ((info >> 24) & 0x1f) as u8;
        let vlen = (info & 0xffff) as usize;
        let kflag = info >> 31 == 1;
        let kind = match kind {
            INT => {
                let enc = c.u32()?;
                Kind::Int {
                    encoding: ((enc >> 24) & 0xf) as u8,
                    bits: enc & 0xff,
                }
            }
            PTR => Kind::Pointer(size),
            ARRAY => {
                let (element, _index, count) = (c.u32()?, c.u32()?, c.u32()?);
                Kind::Array { element, count }
            }
            STRUCT | UNION => Kind::Aggregate {
                union: kind == UNION,
                members: Members {
                    records: c.take(3 * vlen)?,
                    kflag,
                },
            },
            ENUM | ENUM64 => {
                let wide = kind == ENUM64;
                let records = c.take(if wide { 3 } else { 2 } * vlen)?;
                Kind::Enum {
                    values: EnumValues {
                        records,
                        wide,
                        signed: kflag,
                    },
                }
            }
            FWD => Kind::Fwd { union: kflag },
            TYPEDEF | VOLATILE | CONST | RESTRICT | TYPE_TAG => Kind::Qualifier(size),
            FUNC => Kind::Other,
            FUNC_PROTO => {
                c.skip(2 * vlen)?;
                Kind::FuncProto
            }
            VAR => {
                c.skip(1)?;
                Kind::Var(size)
            }
            DATASEC => {
                c.skip(3 * vlen)?;
                Kind::Other
            }
            FLOAT => Kind::Float,
            DECL_TAG => {
                c.skip(1)?;
                Kind::Other
            }
            other => return Err(bad(format!("unknown kind {other} at byte {}", c.at - 12))),
        };
        types.push(BtfType { name, size, kind });
    }
    Ok(types)
}

impl Btf<'_> {
    fn name(&self, offset: u32) -> Result<&str, SymbolError> {
        let rest = self
            .strings
            .get(offset as usize..)
            .ok_or_else(|| bad(format!("name offset {offset} past the strings")))?;
        let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
        std::str::from_utf8(&rest[..end]).map_err(|_| bad(format!("name at {offset} is not UTF-8")))
    }

    fn get(&self, id: u32) -> Option<&BtfType<'_>> {
        self.types.get(id as usize)
    }

    /// The type under any qualifiers (void where a chain is broken or too long).
    fn strip(&self, mut id: u32) -> u32 {
        for _ in 0..MAX_QUALIFIERS {
            match self.get(id).map(|t| &t.kind) {
                Some(Kind::Qualifier(next)) => id = *next,
                Some(_) => return id,
                None => return 0,
            }
        }
        0
    }

    fn size(&self, id: u32, depth: usize) -> u64 {
        let id = self.strip(id);
        let Some(t) = self.get(id) else { return 0 };
        match &t.kind {
            Kind::Int { .. } | Kind::Aggregate { .. } | Kind::Enum { .. } | Kind::Float => u64::from(t.size),
            Kind::Pointer(_) => 8,
            Kind::Array { element, count } if depth < MAX_DEPTH => {
                u64::from(*count).saturating_mul(self.size(*element, depth + 1))
            }
            _ => 0,
        }
    }

    fn contents(&self) -> Result<BtfContents, SymbolError> {
        // The name each struct, union and enum goes by, by type id (empty for other types).
        let mut names = vec![String::new(); self.types.len()];
        for (id, t) in self.types.iter().enumerate() {
            if matches!(t.kind, Kind::Aggregate { .. } | Kind::Enum { .. }) {
                names[id] = match self.name(t.name)? {
                    "" => format!("unnamed_{id}"),
                    n => n.to_string(),
                };
            }
        }
        let refs = Refs {
            btf: self,
            names: &names,
        };

        let mut base_types = vec![
            (
                "pointer".to_string(),
                BaseType {
                    size: 8,
                    signed: false,
                    kind: BaseKind::Int,
                },
            ),
            (
                "void".to_string(),
                BaseType {
                    size: 0,
                    signed: false,
                    kind: BaseKind::Void,
                },
            ),
        ];
        let (mut user_types, mut enums, mut vars) = (Vec::new(), Vec::new(), Vec::new());
        // The names given so far: types come in id order, so the first definition of a name is kept.
        let (mut user_names, mut enum_names): (HashSet<&str>, HashSet<&str>) = Default::default();
        // Per struct: the anonymous members at each offset, and the names of the others.
        let (mut anonymous_at, mut named): (HashMap<u64, usize>, HashSet<&str>) = Default::default();
        for (id, t) in self.types.iter().enumerate() {
            match &t.kind {
                Kind::Int { encoding, .. } => {
                    let name = self.name(t.name)?;
                    let kind = if encoding & 4 != 0 {
                        BaseKind::Bool
                    } else if encoding & 2 != 0 || name.contains("char") {
                        BaseKind::Char
                    } else {
                        BaseKind::Int
                    };
                    let signed = encoding & 1 != 0;
                    base_types.push((
                        name.to_string(),
                        BaseType {
                            size: u64::from(t.size),
                            signed,
                            kind,
                        },
                    ));
                }
                Kind::Float => base_types.push((
                    self.name(t.name)?.to_string(),
                    BaseType {
                        size: u64::from(t.size),
                        signed: true,
                        kind: BaseKind::Float,
                    },
                )),
                Kind::Aggregate { union, members } => {
                    let name = &names[id];
                    if !user_names.insert(name) {
                        continue;
                    }
                    let mut fields = Vec::with_capacity(members.len());
                    anonymous_at.clear();
                    named.clear();
                    for m in members.iter() {
                        let (offset, ty) = refs.member(&m);
                        let member_name = self.name(m.name)?;
                        if member_name.is_empty() {
                            let n = anonymous_at.entry(offset).or_default();
                            let name = match *n {
                                0 => format!("unnamed_field_{offset}"),
                                k => format!("unnamed_field_{offset}_{k}"),
                            };
                            *n += 1;
                            fields.push(Field {
                                name,
                                offset,
                                ty,
                                anonymous: true,
                            });
                        } else if named.insert(member_name) {
                            fields.push(Field {
                                name: member_name.to_string(),
                                offset,
                                ty,
                                anonymous: false,
                            });
                        }
                    }
                    fields.sort_by_key(|f| f.offset);
                    user_types.push((
                        name.clone(),
                        UserType {
                            kind: if *union { UserKind::Union } else { UserKind::Struct },
                            size: u64::from(t.size),
                            fields,
                        },
                    ));
                }
                Kind::Enum { values } => {
                    let name = &names[id];
                    if !enum_names.insert(name) {
                        continue;
                    }
                    let mut constants = Vec::with_capacity(values.len());
                    for (n, v) in values.iter() {
                        constants.push((self.name(n)?.to_string(), v));
                    }
                    let signed = constants.iter().any(|(_, v)| *v < 0);
                    enums.push((
                        name.clone(),
                        EnumType {
                            size: u64::from(t.size),
                            base: if signed { "int" } else { "unsigned int" }.to_string(),
                            constants,
                        },
                    ));
                }
                Kind::Var(ty) => vars.push((self.name(t.name)?.to_string(), refs.of(*ty, 0))),
                _ => {}
            }
        }
        // A struct only ever declared gets an empty placeholder, as in the corpus ISFs.
        for t in &self.types {
            if let Kind::Fwd { union } = t.kind {
                let name = self.name(t.name)?;
                if !name.is_empty() && user_names.insert(name) {
                    user_types.push((
                        name.to_string(),
                        UserType {
                            kind: if union { UserKind::Union } else { UserKind::Struct },
                            size: 0,
                            fields: Vec::new(),
                        },
                    ));
                }
            }
        }
        Ok(BtfContents {
            base_types,
            user_types,
            enums,
            vars,
        })
    }
}

/// Type references by the names [`Btf::contents`] gives.
struct Refs<'b, 'a> {
    btf: &'b Btf<'a>,
    names: &'b [String],
}

impl Refs<'_, '_> {
    /// The reference to type `id`, under its qualifiers.
    fn of(&self, id: u32, depth: usize) -> TypeRef {
        let id = self.btf.strip(id);
        let void = || TypeRef::Base("void".into());
        let Some(t) = self.btf.get(id) else { return void() };
        if depth > MAX_DEPTH {
            return void();
        }
        let named = || self.names.get(id as usize).cloned().unwrap_or_default();
        match &t.kind {
            Kind::Int { .. } | Kind::Float => TypeRef::Base(self.btf.name(t.name).unwrap_or("void").to_string()),
            Kind::Pointer(target) => TypeRef::Pointer(Box::new(self.of(*target, depth + 1))),
            Kind::Array { element, count } => TypeRef::Array {
                count: u64::from(*count),
                element: Box::new(self.of(*element, depth + 1)),
            },
            Kind::Aggregate { .. } => TypeRef::User(named()),
            Kind::Fwd { .. } => TypeRef::User(self.btf.name(t.name).unwrap_or_default().to_string()),
            Kind::Enum { .. } => TypeRef::Enum(named()),
            Kind::FuncProto => TypeRef::Function,
            _ => void(),
        }
    }

    /// A member's byte offset and type; a bitfield is placed in a unit of its type's size, as DWARF does.
    fn member(&self, m: &Member) -> (u64, TypeRef) {
        let byte = u64::from(m.bit_offset / 8);
        let id = self.btf.strip(m.ty);
        let int_bits = match self.btf.get(id).map(|t| (&t.kind, t.size)) {
            Some((Kind::Int { bits, .. }, size)) if *bits != size * 8 => Some(*bits),
            _ => None,
        };
        if m.bits == 0 && int_bits.is_none() && m.bit_offset % 8 == 0 {
            return (byte, self.of(m.ty, 0));
        }
        let bits = if m.bits != 0 { m.bits } else { int_bits.unwrap_or(0) };
        let unit = self.btf.size(id, 0).max(1);
        let bit_offset = u64::from(m.bit_offset);
        let mut start = bit_offset / (unit * 8) * unit;
        if bit_offset - start * 8 + u64::from(bits) > unit * 8 {
            start = byte;
        }
        let ty = TypeRef::Bitfield {
            position: (bit_offset - start * 8) as u32,
            length: bits,
            underlying: Box::new(self.of(id, 0)),
        };
        (start, ty)
    }
}

/// The type of each global memscope reads through its symbol's type, which BTF does not record (it types
/// per-CPU variables only): the struct named for the plain ones, and for the arrays their length from the
/// enum constant the kernel sizes them with. Each is given only where the BTF has the types it names.
pub(super) fn global_types(c: &BtfContents) -> Vec<(&'static str, TypeRef)> {
    let has = |name: &str| c.user_types.iter().any(|(n, _)| n == name);
    let constant = |name: &str| {
        c.enums
            .iter()
            .find_map(|(_, e)| e.constants.iter().find(|(n, _)| n == name).map(|(_, v)| *v))
            .and_then(|v| u64::try_from(v).ok())
    };
    let user = |name: &str| TypeRef::User(name.to_string());
    let mut out = Vec::new();
    for (symbol, ty) in [
        ("init_task", "task_struct"),
        ("init_uts_ns", "uts_namespace"),
        ("init_net", "net"),
    ] {
        if has(ty) {
            out.push((symbol, user(ty)));
        }
    }
    // tk_core (until 6.13): an anonymous struct holding the timekeeper behind a seqcount.
    let tk_core = c.user_types.iter().find(|(n, t)| {
        n.starts_with("unnamed_")
            && ["seq", "timekeeper"]
                .iter()
                .all(|f| t.fields.iter().any(|x| x.name == *f))
    });
    if let Some((name, _)) = tk_core {
        out.push(("tk_core", user(name)));
    }
    // timekeeper_data (6.14+): `struct tk_data timekeeper_data[TIMEKEEPERS_MAX]`.
    if let (Some(count), true) = (constant("TIMEKEEPERS_MAX"), has("tk_data")) {
        let element = Box::new(user("tk_data"));
        out.push(("timekeeper_data", TypeRef::Array { count, element }));
    }
    // neigh_tables: `struct neigh_table *neigh_tables[NEIGH_NR_TABLES]`.
    if let (Some(count), true) = (constant("NEIGH_NR_TABLES"), has("neigh_table")) {
        let element = Box::new(TypeRef::Pointer(Box::new(user("neigh_table"))));
        out.push(("neigh_tables", TypeRef::Array { count, element }));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A blob from raw type records and a string table.
    fn blob(types: &[u32], strings: &[u8]) -> Vec<u8> {
        let type_len = (types.len() * 4) as u32;
        let mut out = HEADER_START.to_vec();
        for w in [0, type_len, type_len, strings.len() as u32] {
            out.extend_from_slice(&w.to_le_bytes());
        }
        for w in types {
            out.extend_from_slice(&w.to_le_bytes());
        }
        out.extend_from_slice(strings);
        out
    }

    const fn info(kind: u8, vlen: u32, kflag: bool) -> u32 {
        (kind as u32) << 24 | vlen | if kflag { 1 << 31 } else { 0 }
    }

    #[test]
    fn structs_bitfields_anonymous_members_and_enums() {
        // strings: 0 "", 1 "int", 5 "task", 10 "pid", 14 "flags", 20 "E", 22 "A", 24 "B"
        let strings = b"\0int\0task\0pid\0flags\0E\0A\0B\0";
        let types = [
            // 1: int, 4 bytes, signed
            1,
            info(INT, 0, false),
            4,
            1 << 24 | 32,
            // 2: struct task { int pid; int flags:3 @ bit 35; union { int a; struct {} } anonymous @ 8 } size 16
            5,
            info(STRUCT, 3, true),
            16,
            10,
            1,
            0,
            14,
            1,
            3 << 24 | 35,
            0,
            3,
            64,
            // 3: anonymous union of size 8 with two anonymous members at 0 (int, const int)
            0,
            info(UNION, 2, false),
            8,
            0,
            1,
            0,
            0,
            4,
            0,
            // 4: const int
            0,
            info(CONST, 0, false),
            1,
            // 5: enum E { A = -1, B = 7 } (signed)
            20,
            info(ENUM, 2, true),
            4,
            22,
            u32::MAX,
            24,
            7,
        ];
        let b = blob(&types, strings);
        assert_eq!(blob_len(&b), Some(b.len()));
        let c = parse(&b).unwrap();
        let task = &c.user_types.iter().find(|(n, _)| n == "task").unwrap().1;
        assert_eq!(task.size, 16);
        assert_eq!(task.fields[0].name, "pid");
        let flags = task.fields.iter().find(|f| f.name == "flags").unwrap();
        assert_eq!(flags.offset, 4);
        assert!(matches!(
            flags.ty,
            TypeRef::Bitfield {
                position: 3,
                length: 3,
                ..
            }
        ));
        let anon = task.fields.iter().find(|f| f.anonymous).unwrap();
        assert_eq!((anon.name.as_str(), anon.offset), ("unnamed_field_8", 8));
        assert_eq!(anon.ty, TypeRef::User("unnamed_3".into()));
        let union = &c.user_types.iter().find(|(n, _)| n == "unnamed_3").unwrap().1;
        let names: Vec<&str> = union.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["unnamed_field_0", "unnamed_field_0_1"]);
        let e = &c.enums.iter().find(|(n, _)| n == "E").unwrap().1;
        assert_eq!(e.constants, vec![("A".to_string(), -1), ("B".to_string(), 7)]);
        assert_eq!(e.base, "int");
    }

    #[test]
    fn cut_or_garbage_blobs_are_errors() {
        let strings = b"\0int\0";
        let types = [1, info(INT, 0, false), 4, 1 << 24 | 32, 0, info(STRUCT, 5, false), 8];
        let b = blob(&types, strings);
        assert!(parse(&b).is_err()); // members run past the section
        assert!(parse(&b[..20]).is_err());
        assert!(blob_len(b"\x9f\xeb\x01\x00\x18\x00\x00\x00garbage").is_none());
        let mut odd = blob(&[1, info(31, 0, false), 4], strings);
        assert!(parse(&odd).is_err());
        odd[0] = 0;
        assert!(parse(&odd).is_err());
    }
}
