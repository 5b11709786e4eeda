//! The type model of a symbol table: what an ISF says about base types, structs and unions, enums and
//! symbols, in the form the kernel-object layer reads.

use serde::{Deserialize, Serialize};

/// A reference to a type, as a field, pointer target, array element or symbol has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TypeRef {
    /// A base type by name (`int`, `unsigned char`, `pointer`, `void`...).
    Base(String),
    /// A struct, union or class by name.
    User(String),
    /// An enum by name.
    Enum(String),
    /// A pointer to the subtype.
    Pointer(Box<TypeRef>),
    /// `count` elements of the subtype.
    Array { count: u64, element: Box<TypeRef> },
    /// `length` bits from bit `position` of the underlying integer type.
    Bitfield {
        position: u32,
        length: u32,
        underlying: Box<TypeRef>,
    },
    /// A function (only ever pointed to).
    Function,
}

impl TypeRef {
    /// The struct or union this names, if it is one.
    pub fn user_name(&self) -> Option<&str> {
        match self {
            TypeRef::User(name) => Some(name),
            _ => None,
        }
    }
}

/// How a base type's bytes are to be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BaseKind {
    /// An integer (`int`, `long unsigned int`, `pointer`).
    Int,
    /// A character type.
    Char,
    /// `_Bool`.
    Bool,
    /// A floating-point type.
    Float,
    /// `void`: size 0.
    Void,
}

/// A base type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaseType {
    /// Size in bytes.
    pub size: u64,
    /// Whether it is signed.
    pub signed: bool,
    /// Its kind.
    pub kind: BaseKind,
}

/// Struct or union.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum UserKind {
    /// A struct (or class).
    Struct,
    /// A union.
    Union,
}

/// One member of a struct or union.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Field {
    /// Member name; anonymous members are named by the ISF (`unnamed_field_<offset>`).
    pub name: String,
    /// Byte offset from the start of the containing type.
    pub offset: u64,
    /// The member's type.
    pub ty: TypeRef,
    /// Whether the member is an anonymous struct or union whose own members read as the parent's.
    pub anonymous: bool,
}

/// A struct or union with its members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserType {
    /// Struct or union.
    pub kind: UserKind,
    /// Size in bytes.
    pub size: u64,
    /// Members in declaration order.
    pub fields: Vec<Field>,
}

/// An enumeration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnumType {
    /// Size in bytes.
    pub size: u64,
    /// Name of the underlying base type.
    pub base: String,
    /// Constants, name and value.
    pub constants: Vec<(String, i128)>,
}

/// A symbol: an address in the kernel image (before KASLR) and, where known, its type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Symbol {
    /// Link-time virtual address.
    pub address: u64,
    /// The object's type, when the ISF has it.
    pub ty: Option<TypeRef>,
}
