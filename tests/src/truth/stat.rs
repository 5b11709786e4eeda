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
            let (Ok(inode), Ok(size)) = (cols[1].parse(), cols[6].parse()) else {
                panic!("truth file {}: line {line:?} has no inode or size", file.display())
            };
            out.push(StatEntry {
                file: file.clone(),
                path: cols[0].to_string(),
                inode,
                mode: cols[2].to_string(),
                size,
            });
        }
    }
    out
}
