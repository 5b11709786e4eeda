//! Symbols derived from captures, kept in the Origin Private File System between sessions: the next
//! capture of a kernel build is identified through the kept table's probe, without a scan or a parse.
//!
//! Creating a file handle is asynchronous and the open is not: the kept packs' handles are opened before
//! the capture is, and a table derived during the open is written after it.

use memscope_core::session::{DerivedStore, SymbolStore};
use memscope_core::symbols::index::{IndexEntry, SymbolIndex};
use memscope_core::symbols::SymbolTable;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{FileSystemFileHandle, FileSystemGetFileOptions, FileSystemReadWriteOptions, FileSystemSyncAccessHandle};

use super::{js_message, opfs_dir};

/// The index of the kept tables, in the OPFS.
const INDEX_FILE: &str = "derived-symbols-index.json";
/// Tables kept at most (each a few tens of MiB of quota); the oldest goes first.
const KEEP: usize = 4;

/// The kept tables: their index and an open handle on each pack.
pub struct KeptSymbols {
    index: SymbolIndex,
    packs: Vec<(String, FileSystemSyncAccessHandle)>,
    /// A table derived during this open, to be written by [`KeptSymbols::keep`].
    pending: Option<(IndexEntry, Vec<u8>)>,
}

/// A sync access handle on the OPFS file `name`.
async fn handle(name: &str, create: bool) -> Result<FileSystemSyncAccessHandle, String> {
    let options = FileSystemGetFileOptions::new();
    options.set_create(create);
    let file: FileSystemFileHandle = JsFuture::from(opfs_dir().await?.get_file_handle_with_options(name, &options))
        .await
        .map_err(|e| format!("{name}: {}", js_message(&e)))?
        .unchecked_into();
    let h = JsFuture::from(file.create_sync_access_handle())
        .await
        .map_err(|e| format!("{name}: {}", js_message(&e)))?;
    Ok(h.unchecked_into())
}

/// The whole content of an open file.
fn read_all(h: &FileSystemSyncAccessHandle) -> Result<Vec<u8>, String> {
    let size = h.get_size().map_err(|e| js_message(&e))? as usize;
    let mut buf = vec![0u8; size];
    let options = FileSystemReadWriteOptions::new();
    options.set_at(0.0);
    let got = h
        .read_with_u8_array_and_options(&mut buf, &options)
        .map_err(|e| js_message(&e))? as usize;
    buf.truncate(got);
    Ok(buf)
}

/// Replace an open file's content with `bytes`.
fn write_all(h: &FileSystemSyncAccessHandle, bytes: &[u8]) -> Result<(), String> {
    h.truncate_with_f64(0.0).map_err(|e| js_message(&e))?;
    let options = FileSystemReadWriteOptions::new();
    options.set_at(0.0);
    let written = h
        .write_with_u8_array_and_options(bytes, &options)
        .map_err(|e| js_message(&e))?;
    if written as usize != bytes.len() {
        return Err(format!("wrote {written} of {} bytes (storage quota?)", bytes.len()));
    }
    h.flush().map_err(|e| js_message(&e))
}

impl KeptSymbols {
    /// The kept tables (none where the OPFS cannot be used: keeping them only saves time).
    pub async fn open() -> KeptSymbols {
        let mut kept = KeptSymbols {
            index: SymbolIndex::default(),
            packs: Vec::new(),
            pending: None,
        };
        let index = match handle(INDEX_FILE, false).await {
            Ok(h) => {
                let bytes = read_all(&h);
                h.close();
                bytes.ok().and_then(|b| SymbolIndex::parse(&b).ok()).unwrap_or_default()
            }
            Err(_) => return kept,
        };
        for entry in index.entries {
            if let Ok(h) = handle(&entry.file, false).await {
                kept.packs.push((entry.file.clone(), h));
                kept.index.entries.push(entry);
            }
        }
        kept
    }

    /// Write the table derived during the open, if any, and the index; close every handle.
    pub async fn keep(mut self) {
        for (_, h) in self.packs.drain(..) {
            h.close();
        }
        let Some((entry, pack)) = self.pending.take() else {
            return;
        };
        let Ok(h) = handle(&entry.file, true).await else { return };
        let written = write_all(&h, &pack);
        h.close();
        if written.is_err() {
            return;
        }
        let mut index = std::mem::take(&mut self.index);
        index.entries.retain(|e| e.file != entry.file);
        index.entries.push(entry);
        let drop = index.entries.len().saturating_sub(KEEP);
        for old in index.entries.drain(..drop) {
            if let Ok(dir) = opfs_dir().await {
                let _ = JsFuture::from(dir.remove_entry(&old.file)).await;
            }
        }
        if let (Ok(h), Ok(text)) = (handle(INDEX_FILE, true).await, serde_json::to_vec(&index)) {
            let _ = write_all(&h, &text);
            h.close();
        }
    }
}

impl Drop for KeptSymbols {
    fn drop(&mut self) {
        for (_, h) in &self.packs {
            h.close();
        }
    }
}

impl SymbolStore for KeptSymbols {
    fn name(&self) -> String {
        "symbols kept from earlier captures".into()
    }

    fn index(&mut self, _warnings: &mut Vec<String>) -> Result<SymbolIndex, String> {
        Ok(self.index.clone())
    }

    fn load(&mut self, entry: &IndexEntry) -> Result<SymbolTable, String> {
        let (_, h) = self
            .packs
            .iter()
            .find(|(f, _)| *f == entry.file)
            .ok_or_else(|| format!("{}: not kept", entry.file))?;
        let table = SymbolTable::from_pack(read_all(h)?).map_err(|e| format!("{}: {e}", entry.file))?;
        if table.source_hash_hex() != entry.sha256 {
            return Err(format!("{}: not the pack its index names", entry.file));
        }
        Ok(table)
    }
}

impl DerivedStore for KeptSymbols {
    fn save(&mut self, table: &SymbolTable) {
        if let Ok(entry) = IndexEntry::of(&format!("derived-{}.mspack", table.source_hash_hex()), table) {
            self.pending = Some((entry, table.pack().to_vec()));
        }
    }
}
