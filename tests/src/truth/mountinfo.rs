//! Mounts: `truth/mountinfo-pid1.txt` and `truth/mountinfo-container-<name>-pid<pid>.txt`
//! (`cat /proc/PID/mountinfo`).

use std::path::{Path, PathBuf};

use super::*;

/// One line of `/proc/PID/mountinfo`: `id parent major:minor root mount_point options [optional...] -
/// fstype source super_options`, with the kernel's octal escapes (`\040`) undone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountinfoLine {
    /// Mount id.
    pub mount_id: i64,
    /// Parent mount id.
    pub parent_id: i64,
    /// `MAJOR:MINOR`.
    pub major_minor: String,
    /// The mount's root within its file system.
    pub root: String,
    /// The mount point, seen from the process's root.
    pub mount_point: String,
    /// Mount options (`rw,nosuid,relatime`).
    pub options: String,
    /// Optional fields (`shared:7`, `master:82`), in order.
    pub optional: Vec<String>,
    /// File system type.
    pub fstype: String,
    /// Source (the device name).
    pub source: String,
    /// Superblock options.
    pub super_options: String,
}

/// A mountinfo truth file: whose it is and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountinfoFile {
    /// The process it was read for.
    pub pid: u32,
    /// The container whose main process that is (`None` for pid 1's file and other processes').
    pub container: Option<String>,
    /// The file.
    pub path: PathBuf,
}

/// The mountinfo files of a truth folder: `mountinfo-pid1.txt`, each container's
/// `mountinfo-container-<name>-pid<pid>.txt`, and any other `mountinfo-<what>-pid<pid>.txt`.
pub fn mountinfo_files(truth: &Path) -> Vec<MountinfoFile> {
    files_named(truth, &["mountinfo-"], ".txt")
        .into_iter()
        .map(|path| {
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_string();
            let stem = name.trim_start_matches("mountinfo-").trim_end_matches(".txt");
            let (container, pid) = match stem.strip_prefix("container-") {
                Some(rest) => {
                    let (c, pid) = rest
                        .rsplit_once("-pid")
                        .unwrap_or_else(|| panic!("truth file {}: no -pid<PID> in its name", path.display()));
                    (Some(c.to_string()), pid)
                }
                None => (None, stem.rsplit_once("pid").map_or(stem, |(_, pid)| pid)),
            };
            let pid = pid
                .parse()
                .unwrap_or_else(|_| panic!("truth file {}: no pid in its name", path.display()));
            MountinfoFile { pid, container, path }
        })
        .collect()
}

/// Undo mountinfo's escapes (`mangle()`: space, tab, newline and backslash as `\ooo`).
pub fn mountinfo_unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c)) {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Every line of a mountinfo truth file, in its order.
pub fn mountinfo(path: &Path) -> Vec<MountinfoLine> {
    let mut out = Vec::new();
    for line in output_lines(path) {
        if line.trim().is_empty() {
            continue;
        }
        let bad = || -> ! { panic!("truth file {}: line {line:?} is not a mountinfo line", path.display()) };
        let words: Vec<&str> = line.split(' ').collect();
        let dash = words.iter().position(|w| *w == "-").unwrap_or_else(|| bad());
        if dash < 6 || words.len() < dash + 4 {
            bad();
        }
        let int = |w: &str| w.parse::<i64>().unwrap_or_else(|_| bad());
        out.push(MountinfoLine {
            mount_id: int(words[0]),
            parent_id: int(words[1]),
            major_minor: words[2].to_string(),
            root: mountinfo_unescape(words[3]),
            mount_point: mountinfo_unescape(words[4]),
            options: words[5].to_string(),
            optional: words[6..dash].iter().map(|w| w.to_string()).collect(),
            fstype: words[dash + 1].to_string(),
            source: mountinfo_unescape(words[dash + 2]),
            super_options: mountinfo_unescape(&words[dash + 3..].join(" ")),
        });
    }
    out
}
