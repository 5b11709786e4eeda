//! Finding and loading symbols for a capture: a file named by the user, or the right file of a symbols
//! directory chosen through its index; ISF files are turned into packs once and cached by hash.

use std::path::{Path, PathBuf};

use memscope_core::session::{DerivedStore, SymbolStore};
use memscope_core::symbols::index::{IndexEntry, SymbolIndex, INDEX_FILE};
use memscope_core::symbols::SymbolTable;

use crate::CliError;

/// Where to look for symbols when `--symbols` is not given.
pub fn default_locations() -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Some(dir) = std::env::var_os("MEMSCOPE_SYMBOLS") {
        out.push(PathBuf::from(dir));
    }
    out.push(PathBuf::from("symbols"));
    out.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../symbols"));
    out
}

/// The directory where symbol packs are cached, if one can be had.
fn cache_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("MEMSCOPE_CACHE") {
        return Some(PathBuf::from(d));
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("memscope"))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Load an ISF file, through the pack cache when it has this file's pack.
pub fn load(path: &Path) -> Result<SymbolTable, CliError> {
    let bytes =
        std::fs::read(path).map_err(|e| CliError::new(format!("cannot read symbols {}: {e}", path.display())))?;
    let key = hex(&SymbolTable::hash_isf(&bytes));
    let cached = cache_dir().map(|d| d.join(format!("{key}.mspack")));
    if let Some(pack) = cached.as_ref().and_then(|p| std::fs::read(p).ok()) {
        if let Ok(table) = SymbolTable::from_pack(pack) {
            if table.source_hash_hex() == key {
                return Ok(table);
            }
        }
    }
    let table = SymbolTable::from_isf(&bytes).map_err(|e| CliError::new(format!("{}: {e}", path.display())))?;
    if let Some(p) = cached {
        // A cache that cannot be written only costs time next run.
        write_whole(&p, table.pack());
    }
    Ok(table)
}

/// Whether a file name looks like an ISF.
fn is_isf(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    name != INDEX_FILE && (name.ends_with(".json") || name.ends_with(".json.xz"))
}

/// The ISF files of a directory, sorted by name.
fn isf_files(dir: &Path) -> Result<Vec<PathBuf>, CliError> {
    let entries = std::fs::read_dir(dir).map_err(|e| CliError::new(format!("cannot list {}: {e}", dir.display())))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| is_isf(p))
        .collect();
    files.sort();
    Ok(files)
}

/// Build the index of a symbols directory from its ISF files.
pub fn build_index(dir: &Path) -> Result<SymbolIndex, CliError> {
    let mut index = SymbolIndex::default();
    for path in isf_files(dir)? {
        let table = load(&path)?;
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let entry = IndexEntry::of(name, &table).map_err(|e| CliError::new(format!("{}: {e}", path.display())))?;
        index.entries.push(entry);
    }
    Ok(index)
}

/// Write the pack of every ISF file in `dir` to `out/<sha256>.mspack`, and the directory's index to
/// `out/index.json` (each entry's `sha256` names its pack); returns how many packs were written.
pub fn write_packs(dir: &Path, out: &Path) -> Result<usize, CliError> {
    let write_error = |p: &Path, e: std::io::Error| CliError::new(format!("cannot write {}: {e}", p.display()));
    std::fs::create_dir_all(out).map_err(|e| write_error(out, e))?;
    let mut index = SymbolIndex::default();
    for path in isf_files(dir)? {
        let table = load(&path)?;
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let entry = IndexEntry::of(name, &table).map_err(|e| CliError::new(format!("{}: {e}", path.display())))?;
        let pack = out.join(format!("{}.mspack", entry.sha256));
        std::fs::write(&pack, table.pack()).map_err(|e| write_error(&pack, e))?;
        index.entries.push(entry);
    }
    let text = serde_json::to_string_pretty(&index).map_err(|e| CliError::new(e.to_string()))? + "\n";
    let index_path = out.join(INDEX_FILE);
    std::fs::write(&index_path, text).map_err(|e| write_error(&index_path, e))?;
    Ok(index.entries.len())
}

/// The index of a directory: its index file when it lists every ISF there, else one built now.
fn read_index(dir: &Path, warnings: &mut Vec<String>) -> Result<SymbolIndex, CliError> {
    let files = isf_files(dir)?;
    if let Ok(bytes) = std::fs::read(dir.join(INDEX_FILE)) {
        if let Ok(index) = SymbolIndex::parse(&bytes) {
            let listed = |p: &PathBuf| {
                let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
                index.entries.iter().any(|e| e.file == name)
            };
            if files.iter().all(listed) {
                return Ok(index);
            }
        }
        warnings.push(format!(
            "{} is out of date; run `memscope symbols index {}`",
            INDEX_FILE,
            dir.display()
        ));
    }
    build_index(dir)
}

/// A symbols directory as a store: its index file, or one built now when that is missing or out of date;
/// its ISF files loaded through the pack cache.
pub struct DirStore(pub PathBuf);

impl SymbolStore for DirStore {
    fn name(&self) -> String {
        self.0.display().to_string()
    }

    fn index(&mut self, warnings: &mut Vec<String>) -> Result<SymbolIndex, String> {
        read_index(&self.0, warnings).map_err(|e| e.0)
    }

    fn load(&mut self, entry: &IndexEntry) -> Result<SymbolTable, String> {
        load(&self.0.join(&entry.file)).map_err(|e| e.0)
    }
}

/// Symbols derived from captures, kept in the cache folder's `derived/` as packs named by the BTF blob's
/// SHA-256, with an index: the next capture of a kernel build is identified through the index's probe.
pub struct DerivedCache(Option<PathBuf>);

impl DerivedCache {
    /// The cache under the cache folder (none where there is no cache folder).
    pub fn new() -> DerivedCache {
        DerivedCache(cache_dir().map(|d| d.join("derived")))
    }

    fn read_index(&self) -> SymbolIndex {
        self.0
            .as_ref()
            .and_then(|d| std::fs::read(d.join(INDEX_FILE)).ok())
            .and_then(|b| SymbolIndex::parse(&b).ok())
            .unwrap_or_default()
    }
}

/// Write `bytes` at `path` through a temporary file, so that a reader never sees half of it; whether it
/// was written.
fn write_whole(path: &Path, bytes: &[u8]) -> bool {
    let tmp = path.with_extension(format!("part{}", std::process::id()));
    let written = path.parent().is_some_and(|d| std::fs::create_dir_all(d).is_ok())
        && std::fs::write(&tmp, bytes).is_ok()
        && std::fs::rename(&tmp, path).is_ok();
    if !written {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

impl SymbolStore for DerivedCache {
    fn name(&self) -> String {
        "the derived-symbols cache".into()
    }

    fn index(&mut self, _warnings: &mut Vec<String>) -> Result<SymbolIndex, String> {
        Ok(self.read_index())
    }

    fn load(&mut self, entry: &IndexEntry) -> Result<SymbolTable, String> {
        let dir = self.0.as_ref().ok_or("no cache folder")?;
        let bytes = std::fs::read(dir.join(&entry.file)).map_err(|e| format!("{}: {e}", entry.file))?;
        let table = SymbolTable::from_pack(bytes).map_err(|e| format!("{}: {e}", entry.file))?;
        if table.source_hash_hex() != entry.sha256 {
            return Err(format!("{}: not the pack its index names", entry.file));
        }
        Ok(table)
    }
}

impl DerivedStore for DerivedCache {
    fn save(&mut self, table: &SymbolTable) {
        let Some(dir) = self.0.clone() else { return };
        let file = format!("{}.mspack", table.source_hash_hex());
        let Ok(entry) = IndexEntry::of(&file, table) else {
            return;
        };
        if !write_whole(&dir.join(&file), table.pack()) {
            return;
        }
        let mut index = self.read_index();
        index.entries.retain(|e| e.file != file);
        index.entries.push(entry);
        if let Ok(text) = serde_json::to_string_pretty(&index) {
            write_whole(&dir.join(INDEX_FILE), text.as_bytes());
        }
    }
}

/// Write `table` as a Volatility 3 ISF at `out` (xz-compressed where its name ends in `.xz`); the bytes
/// written.
pub fn export_isf(table: &SymbolTable, out: &Path) -> Result<u64, CliError> {
    // The schema knows three kinds (dwarf, symtab, system-map): kallsyms and BTF are symbol tables the
    // kernel keeps itself, named as such.
    let sources = serde_json::json!({
        "symbols": [{"kind": "symtab", "name": "kallsyms in the capture's memory"}],
        "types": [{"kind": "symtab", "name": "BTF in the capture's memory", "hash_type": "sha256",
                   "hash_value": table.source_hash_hex()}],
    });
    let doc = table.to_isf(sources).map_err(|e| CliError::new(e.to_string()))?;
    let json = serde_json::to_vec(&doc).map_err(|e| CliError::new(e.to_string()))?;
    let fail = |e: std::io::Error| CliError::new(format!("cannot write {}: {e}", out.display()));
    let bytes = if out.extension().is_some_and(|e| e == "xz") {
        let mut w = lzma_rust2::XzWriter::new(Vec::new(), lzma_rust2::XzOptions::with_preset(6)).map_err(fail)?;
        std::io::Write::write_all(&mut w, &json).map_err(fail)?;
        w.finish().map_err(fail)?
    } else {
        json
    };
    std::fs::write(out, &bytes).map_err(fail)?;
    Ok(bytes.len() as u64)
}
