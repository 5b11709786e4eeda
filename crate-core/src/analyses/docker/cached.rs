//! Docker's own files about its containers, where the kernel still had their pages cached: each
//! container's directory under `/var/lib/docker/containers` in the dentry cache (a container that exists,
//! running or not), and its `config.v2.json` and `hostconfig.json` read back from the page cache (through
//! the `files` analysis). A `config.v2.json` is accepted only when it parses and its `ID` is its
//! directory's; a `hostconfig.json` has no id, and belongs to the container its directory names.

use std::collections::BTreeMap;

use serde_json::Value;

use super::dockerd::{DocKind, Document, Origin, MAX_DOC};
use super::{container_id_in, CONTAINERS_DIR};
use crate::analyses::files;
use crate::kernel::{inodes, Kernel};

/// What the page cache holds of Docker's containers directory (pid 1's view).
#[derive(Debug, Clone, Default)]
pub struct Cached {
    /// Container ids with a directory in the dentry cache, with its path.
    pub dirs: BTreeMap<String, String>,
    /// Documents read back whole from their cached pages.
    pub documents: Vec<Document>,
    /// Problems met (a file whose pages did not read back).
    pub warnings: Vec<String>,
}

/// Read what the page cache holds under [`CONTAINERS_DIR`].
pub fn cached(kernel: &Kernel) -> Cached {
    let mut out = Cached::default();
    let options = files::Options {
        pids: vec![1],
        path: Some(CONTAINERS_DIR.trim_end_matches('/').to_string()),
        ..files::Options::default()
    };
    let rows = match files::files(kernel, &options) {
        Ok(found) => found.rows,
        Err(e) => {
            out.warnings
                .push(format!("{CONTAINERS_DIR}: the dentry cache could not be read: {e}"));
            return out;
        }
    };
    for row in &rows {
        let Some(rest) = row.path.strip_prefix(CONTAINERS_DIR) else {
            continue;
        };
        let (id, file) = rest.split_once('/').unwrap_or((rest, ""));
        if container_id_in(&format!("/docker/{id}")) != Some(id) {
            continue;
        }
        if file.is_empty() && row.file_type.as_deref() == Some("dir") {
            out.dirs.insert(id.to_string(), row.path.clone());
            continue;
        }
        let kind = match file {
            "config.v2.json" => DocKind::Config,
            "hostconfig.json" => DocKind::HostConfig,
            _ => continue,
        };
        let whole = row.cached_pages.is_some() && row.cached_pages == row.total_pages;
        let size = row
            .size
            .and_then(|s| u64::try_from(s).ok())
            .filter(|&s| s > 0 && s <= MAX_DOC as u64);
        let (Some(size), Some(addr), true) = (size, row.inode_addr, whole) else {
            continue; // evicted (or too large to be Docker's): nothing to read
        };
        let read = inodes::read_inode(kernel, addr).and_then(|inode| files::read_back(kernel, inode.mapping, size));
        let value = match read {
            Ok((bytes, back)) if back.holes.is_empty() => serde_json::from_slice::<Value>(&bytes).ok(),
            Ok(_) => None,
            Err(e) => {
                out.warnings.push(format!("{}: {e}", row.path));
                None
            }
        };
        let Some(value) = value.filter(Value::is_object) else {
            out.warnings
                .push(format!("{}: cached, but not a JSON object: left out", row.path));
            continue;
        };
        if kind == DocKind::Config && value.get("ID").and_then(Value::as_str) != Some(id) {
            out.warnings
                .push(format!("{}: its ID is not its directory's: left out", row.path));
            continue;
        }
        out.documents.push(Document {
            kind,
            id: id.to_string(),
            vaddr: 0,
            origin: Origin::PageCache(row.path.clone()),
            value,
        });
    }
    out
}
