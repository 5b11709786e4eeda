//! Reading the live ground truth of a corpus capture (`truth/` folder): each function names the file it
//! reads.

use std::path::Path;

/// The lines of a truth file without the `# command` lines the collector wrote before each output.
pub fn output_lines(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read truth file {}: {e}", path.display()));
    text.lines().filter(|l| !l.starts_with('#')).map(str::to_string).collect()
}

/// The first output line of a truth file (`proc-version.txt`, `hostname.txt`).
pub fn first_line(path: &Path) -> String {
    output_lines(path).into_iter().find(|l| !l.trim().is_empty()).unwrap_or_default()
}

/// The banner the live kernel printed (`truth/proc-version.txt`, `cat /proc/version`).
pub fn proc_version(truth: &Path) -> String {
    first_line(&truth.join("proc-version.txt")).trim_end().to_string()
}

/// The kernel release, the third word of `uname -a` (`truth/uname-a.txt`).
pub fn uname_release(truth: &Path) -> String {
    first_line(&truth.join("uname-a.txt")).split_whitespace().nth(2).unwrap_or_default().to_string()
}

/// The host name (`truth/hostname.txt`).
pub fn hostname(truth: &Path) -> String {
    first_line(&truth.join("hostname.txt")).trim().to_string()
}

// ---------------------------------------------------------------------------------------------------------
// Open files (lsof): the `-- fd` sections of `proc/<pid>.txt`, the processes alive at the dump
// (`final/ps-eo.txt`) and the `stat-*.tsv` listings.
// ---------------------------------------------------------------------------------------------------------

/// The open descriptors of one process as the collector saw them (`truth/proc/<pid>.txt`, section `-- fd`:
/// lines `N -> target`, the target being `readlink /proc/PID/fd/N`).
#[derive(Debug, Clone)]
pub struct TruthFds {
    /// The file read.
    pub file: std::path::PathBuf,
    /// Process id.
    pub pid: u32,
    /// The `comm:` line.
    pub comm: String,
    /// Descriptor number to link target (empty when the link could not be read).
    pub fds: std::collections::BTreeMap<u32, String>,
}

/// Every `truth/proc/<pid>.txt` with its `-- fd` section, by pid.
pub fn proc_fds(truth: &Path) -> std::collections::BTreeMap<u32, TruthFds> {
    let dir = truth.join("proc");
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("cannot list truth folder {}: {e}", dir.display()));
    let mut out = std::collections::BTreeMap::new();
    for entry in entries {
        let path = entry.unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display())).path();
        let Some(pid) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".txt"))
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read truth file {}: {e}", path.display()));
        let mut comm = String::new();
        let mut fds = std::collections::BTreeMap::new();
        let mut in_fd = false;
        for line in text.lines() {
            if let Some(section) = line.strip_prefix("-- ") {
                in_fd = section.trim() == "fd";
                continue;
            }
            if let Some(c) = line.strip_prefix("comm: ") {
                if comm.is_empty() {
                    comm = c.to_string();
                }
            }
            if in_fd {
                let (num, target) = line.split_once(" -> ").or_else(|| line.split_once(" ->")).unwrap_or_else(|| {
                    panic!("truth file {}: fd line {line:?} is not `N -> target`", path.display())
                });
                let fd: u32 = num
                    .trim()
                    .parse()
                    .unwrap_or_else(|_| panic!("truth file {}: fd line {line:?} has no number", path.display()));
                fds.insert(fd, target.to_string());
            }
        }
        out.insert(pid, TruthFds { file: path, pid, comm, fds });
    }
    assert!(!out.is_empty(), "truth folder {} holds no <pid>.txt file", dir.display());
    out
}

/// Pids of the last `ps` taken seconds before the dump (`truth/final/ps-eo.txt`, first column): the
/// processes that must be in the capture.
pub fn final_ps_pids(truth: &Path) -> std::collections::BTreeSet<u32> {
    let path = truth.join("final/ps-eo.txt");
    let pids: std::collections::BTreeSet<u32> = output_lines(&path)
        .iter()
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect();
    assert!(!pids.is_empty(), "truth file {} lists no process", path.display());
    pids
}

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
    let entries = std::fs::read_dir(truth).unwrap_or_else(|e| panic!("cannot list truth folder {}: {e}", truth.display()));
    let mut files: Vec<std::path::PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("stat-") && n.ends_with(".tsv"))
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "truth folder {} has no stat-*.tsv file", truth.display());
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
            out.push(StatEntry { file: file.clone(), path: cols[0].to_string(), inode, mode: cols[2].to_string(), size });
        }
    }
    out
}
