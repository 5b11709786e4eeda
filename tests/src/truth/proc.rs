//! The collector's per-process files: `truth/proc/<pid>.txt` (status, ns links, fds, cwd, root, environ)
//! and `truth/proc-summary.tsv` (one line per process).

use std::path::Path;

use super::*;

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
    /// The `cwd:` line (`readlink /proc/PID/cwd`), if there is one.
    pub cwd: Option<String>,
    /// The `root:` line (`readlink /proc/PID/root`), if there is one.
    pub root: Option<String>,
    /// The `exe:` line (`readlink /proc/PID/exe`), if there is one; empty for a kernel thread.
    pub exe: Option<String>,
    /// The `cmdline:` line: `/proc/PID/cmdline` with NULs as spaces, trailing blanks dropped, and only its
    /// first line (a command line holding newlines continues on lines the file does not mark); empty for
    /// kernel threads.
    pub cmdline: Option<String>,
    /// The `-- environ` section: `/proc/PID/environ` with NULs as line breaks (empty lines kept).
    pub environ: Vec<String>,
    /// Descriptor number to link target (empty when the link could not be read).
    pub fds: std::collections::BTreeMap<u32, String>,
}

/// Every `truth/proc/<pid>.txt` with its `-- fd` section, by pid.
pub fn proc_fds(truth: &Path) -> std::collections::BTreeMap<u32, TruthFds> {
    let dir = truth.join("proc");
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("cannot list truth folder {}: {e}", dir.display()));
    let mut out = std::collections::BTreeMap::new();
    for entry in entries {
        let path = entry
            .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
            .path();
        let Some(pid) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".txt"))
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read truth file {}: {e}", path.display()));
        let mut comm = String::new();
        let (mut cwd, mut root, mut cmdline, mut exe) = (None, None, None, None);
        let mut fds = std::collections::BTreeMap::new();
        let mut in_fd = false;
        let mut in_environ = false;
        let mut environ = Vec::new();
        for line in text.lines() {
            if let Some(section) = line.strip_prefix("-- ") {
                in_fd = section.trim() == "fd";
                in_environ = section.trim() == "environ";
                continue;
            }
            if in_environ {
                environ.push(line.to_string());
                continue;
            }
            if let Some(c) = line.strip_prefix("comm: ") {
                if comm.is_empty() {
                    comm = c.to_string();
                }
            }
            if let Some(c) = line.strip_prefix("cwd: ") {
                cwd.get_or_insert_with(|| c.to_string());
            }
            if let Some(r) = line.strip_prefix("root: ") {
                root.get_or_insert_with(|| r.to_string());
            }
            if let Some(e) = line.strip_prefix("exe:") {
                exe.get_or_insert_with(|| e.trim().to_string());
            }
            if let Some(c) = line.strip_prefix("cmdline:") {
                cmdline.get_or_insert_with(|| c.trim().to_string());
            }
            if in_fd {
                let (num, target) = line
                    .split_once(" -> ")
                    .or_else(|| line.split_once(" ->"))
                    .unwrap_or_else(|| panic!("truth file {}: fd line {line:?} is not `N -> target`", path.display()));
                let fd: u32 = num
                    .trim()
                    .parse()
                    .unwrap_or_else(|_| panic!("truth file {}: fd line {line:?} has no number", path.display()));
                fds.insert(fd, target.to_string());
            }
        }
        out.insert(
            pid,
            TruthFds {
                file: path,
                pid,
                comm,
                cwd,
                root,
                exe,
                cmdline,
                environ,
                fds,
            },
        );
    }
    assert!(
        !out.is_empty(),
        "truth folder {} holds no <pid>.txt file",
        dir.display()
    );
    out
}

/// The network namespace inode of a process (`truth/proc-summary.tsv`, column `net`, `net:[N]`).
pub fn process_netns(truth: &Path, pid: u32) -> Option<u64> {
    let path = truth.join("proc-summary.tsv");
    let lines = output_lines(&path);
    let header: Vec<&str> = lines.first()?.split('\t').collect();
    let col = header.iter().position(|h| *h == "net")?;
    lines.iter().skip(1).find_map(|l| {
        let cols: Vec<&str> = l.split('\t').collect();
        if cols.first()?.parse::<u32>().ok()? != pid {
            return None;
        }
        cols.get(col)?.strip_prefix("net:[")?.strip_suffix(']')?.parse().ok()
    })
}

/// A field of `/proc/PID/status` as the collector saw it (`truth/proc/<pid>.txt`, lines `Key:\tvalue`:
/// `Seccomp`, `NoNewPrivs`...); `None` when the file or the line is missing.
pub fn proc_status_field(truth: &Path, pid: u32, key: &str) -> Option<String> {
    let text = std::fs::read_to_string(truth.join(format!("proc/{pid}.txt"))).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':').map(|v| v.trim().to_string()))
}

/// One process as `/proc/PID/status` and `/proc/PID/ns/*` showed it (`truth/proc-summary.tsv`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TruthProcess {
    /// Process id.
    pub pid: u32,
    /// `Name:` (comm, or for kernel threads the full kthread name or `kworker/...-workqueue`).
    pub name: String,
    /// Parent process id.
    pub ppid: u32,
    /// Real, effective, saved and filesystem uid.
    pub uids: [u32; 4],
    /// Real, effective, saved and filesystem gid.
    pub gids: [u32; 4],
    /// CapInh, CapPrm, CapEff, CapBnd, CapAmb.
    pub caps: [u64; 5],
    /// `NSpid:` numbers, outermost first.
    pub nspid: Vec<u32>,
    /// Namespace inodes by kind (`cgroup`, `ipc`, `mnt`, `net`, `pid`, `time`, `user`, `uts`) from the
    /// `ns/*` links; `pid` is the `pid` link (the process's own pid namespace), not `pid_for_children`.
    pub ns: std::collections::BTreeMap<String, u64>,
}

/// Every process of `truth/proc-summary.tsv`, by pid. The header names `pid` twice: the first column is
/// the process id, the later one the `ns/pid` link.
pub fn proc_summary(truth: &Path) -> std::collections::BTreeMap<u32, TruthProcess> {
    let path = truth.join("proc-summary.tsv");
    let lines = output_lines(&path);
    let header: Vec<&str> = lines.first().map(|h| h.split('\t').collect()).unwrap_or_default();
    let ns_pid_col = header.iter().rposition(|h| *h == "pid").unwrap_or(0);
    let col = super::columns(&path, header.clone());
    assert!(ns_pid_col > 0, "{}: the header should name `pid` twice", path.display());
    let (c_name, c_ppid, c_uid, c_gid, c_nspid) = (
        col("name"),
        col("ppid"),
        col("uid(r,e,s,fs)"),
        col("gid(r,e,s,fs)"),
        col("NSpid"),
    );
    let cap_cols = ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"].map(&col);
    let ns_cols: Vec<(&str, usize)> = ["cgroup", "ipc", "mnt", "net", "time", "user", "uts"]
        .iter()
        .map(|k| (*k, col(k)))
        .chain([("pid", ns_pid_col)])
        .collect();
    let ids = |s: &str, what: &str| -> [u32; 4] {
        let v: Vec<u32> = s
            .split(',')
            .map(|x| {
                x.trim()
                    .parse()
                    .unwrap_or_else(|_| panic!("{}: bad {what} {s:?}", path.display()))
            })
            .collect();
        v.try_into()
            .unwrap_or_else(|_| panic!("{}: {what} {s:?} is not four ids", path.display()))
    };
    let mut out = std::collections::BTreeMap::new();
    for line in &lines[1..] {
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() < header.len() {
            continue; // a process that exited while it was being read
        }
        let Ok(pid) = cols[0].parse::<u32>() else { continue };
        let inode = |s: &str| -> Option<u64> { s.split_once(":[")?.1.strip_suffix(']')?.parse().ok() };
        out.insert(
            pid,
            TruthProcess {
                pid,
                name: cols[c_name].to_string(),
                ppid: cols[c_ppid]
                    .parse()
                    .unwrap_or_else(|_| panic!("{}: pid {pid}: bad ppid", path.display())),
                uids: ids(cols[c_uid], "uid"),
                gids: ids(cols[c_gid], "gid"),
                caps: cap_cols.map(|c| {
                    u64::from_str_radix(cols[c], 16)
                        .unwrap_or_else(|_| panic!("{}: pid {pid}: bad caps", path.display()))
                }),
                nspid: cols[c_nspid]
                    .split_whitespace()
                    .filter_map(|n| n.parse().ok())
                    .collect(),
                ns: ns_cols
                    .iter()
                    .filter_map(|(k, c)| Some((k.to_string(), inode(cols[*c])?)))
                    .collect(),
            },
        );
    }
    assert!(!out.is_empty(), "truth file {} lists no process", path.display());
    out
}
