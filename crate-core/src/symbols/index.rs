//! The symbols index: which ISF file in a directory describes which kernel, with what the identification
//! probe needs, so that a capture's symbols are chosen without loading every ISF.

use serde::{Deserialize, Serialize};

use super::{SymbolError, SymbolTable};

/// File name of the index inside a symbols directory.
pub const INDEX_FILE: &str = "index.json";

/// One ISF file of a symbols directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexEntry {
    /// File name within the directory.
    pub file: String,
    /// SHA-256 of the file, hex.
    pub sha256: String,
    /// The banner the ISF records.
    pub banner: Option<String>,
    /// The release in that banner.
    pub release: Option<String>,
    /// What the identification probe needs.
    pub probe: ProbeInfo,
}

impl IndexEntry {
    /// The entry for `file`, whose symbols are `table`.
    pub fn of(file: &str, table: &SymbolTable) -> Result<IndexEntry, SymbolError> {
        Ok(IndexEntry {
            file: file.to_string(),
            sha256: table.source_hash_hex(),
            banner: table.banner().map(str::to_string),
            release: table.release().map(str::to_string),
            probe: ProbeInfo::of(table)?,
        })
    }
}

/// What the probe needs to know of a kernel build, small enough to keep in a symbols index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeInfo {
    /// Link-time address of `init_task`.
    pub init_task: u64,
    /// Offset of `comm` in `task_struct`.
    pub comm_offset: u64,
    /// Offset of `pid` in `task_struct`.
    pub pid_offset: u64,
}

impl ProbeInfo {
    /// The probe data of a symbol table.
    pub fn of(symbols: &SymbolTable) -> Result<ProbeInfo, SymbolError> {
        let task = symbols.layout("task_struct")?;
        Ok(ProbeInfo {
            init_task: symbols.address("init_task")?,
            comm_offset: task.field("comm")?.0,
            pid_offset: task.field("pid")?.0,
        })
    }
}

/// The index of a symbols directory.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SymbolIndex {
    /// One entry per ISF file.
    pub entries: Vec<IndexEntry>,
}

impl SymbolIndex {
    /// Parse an index file.
    pub fn parse(bytes: &[u8]) -> Result<SymbolIndex, SymbolError> {
        serde_json::from_slice(bytes).map_err(|e| SymbolError::Json(format!("symbols index: {e}")))
    }
}
