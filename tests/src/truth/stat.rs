//! File listings of the host mount namespace: `truth/stat-*.tsv`.

use std::path::Path;

use super::*;

/// One line of a `truth/stat-*.tsv` listing (host mount namespace).
#[derive(Debug, Clone)]
pub struct StatEntry {
    /// The file read.
    pub file: std::path::PathBuf,
    /// Absolute path on the host.
    pub path: String,
    /// Inode number.
    pub inode: u64,
    /// `ls -l` mode string (`-rw-r--r--`).
    pub mode: String,
    /// Size in bytes.
    pub size: u64,
    /// Owner and group.
    pub uid: u32,
    /// See `uid`.
    pub gid: u32,
    /// Modification time, UTC, to the second (`2026-11-21T21:02:27`; the listing's fraction is not the
    /// kernel's precision and is left out).
    pub mtime: String,
    /// A symlink's target (empty for other files).
    pub link: String,
}

/// Every line of every `truth/stat-*.tsv` (header `path inode mode octal uid gid size mtime link`).
pub fn stat_entries(truth: &Path) -> Vec<StatEntry> {
    let files = files_named(truth, &["stat-"], ".tsv");
    assert!(
        !files.is_empty(),
        "truth folder {} has no stat-*.tsv file",
        truth.display()
    );
    let mut out = Vec::new();
    for file in files {
        for line in output_lines(&file).iter().skip(1) {
            let cols: Vec<&str> = line.split('\t').collect();
            if cols.len() < 7 {
                continue;
            }
            let (Ok(inode), Ok(size), Ok(uid), Ok(gid)) =
                (cols[1].parse(), cols[6].parse(), cols[4].parse(), cols[5].parse())
            else {
                panic!(
                    "truth file {}: line {line:?} has no inode, size, uid or gid",
                    file.display()
                )
            };
            out.push(StatEntry {
                file: file.clone(),
                path: cols[0].to_string(),
                inode,
                mode: cols[2].to_string(),
                size,
                uid,
                gid,
                mtime: cols.get(7).map(|t| t.chars().take(19).collect()).unwrap_or_default(),
                link: cols.get(8).map(|t| t.to_string()).unwrap_or_default(),
            });
        }
    }
    out
}

/// `(path, inode)` of every file Volatility 3's `linux.pagecache.Files` listed on the same capture
/// (`vol3/linux.pagecache.Files.json.xz` beside `truth/`): a peer's listing, not truth.
pub fn vol3_files(truth: &Path) -> std::collections::BTreeSet<(String, u64)> {
    use std::io::Read;
    let path = truth.with_file_name("vol3").join("linux.pagecache.Files.json.xz");
    let bytes = std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {} (the corpus keeps vol3/ beside truth/): {e}",
            path.display()
        )
    });
    let mut text = Vec::new();
    lzma_rust2::XzReader::new(&bytes[..], true)
        .read_to_end(&mut text)
        .unwrap_or_else(|e| panic!("{} is not xz: {e}", path.display()));
    let rows: Vec<serde_json::Value> =
        serde_json::from_slice(&text).unwrap_or_else(|e| panic!("{} is not a JSON list: {e}", path.display()));
    rows.iter()
        .filter_map(|r| Some((r["FilePath"].as_str()?.to_string(), r["InodeNum"].as_u64()?)))
        .collect()
}
