//! Reading the live ground truth of a corpus capture (`truth/` folder): each function names the file it
//! reads.

use std::path::Path;

/// The lines of a truth file without the `# command` lines the collector wrote before each output.
pub fn output_lines(path: &Path) -> Vec<String> {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read truth file {}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

/// The files of the truth folder `dir` whose names start with one of `prefixes` and end with `suffix`,
/// sorted; panics, naming the folder, if it cannot be listed.
fn files_named(dir: &Path, prefixes: &[&str], suffix: &str) -> Vec<std::path::PathBuf> {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot list truth folder {}: {e}", dir.display()));
    let mut files: Vec<std::path::PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| prefixes.iter().any(|pre| n.starts_with(pre)) && n.ends_with(suffix))
        })
        .collect();
    files.sort();
    files
}

/// The first output line of a truth file (`proc-version.txt`, `hostname.txt`).
pub fn first_line(path: &Path) -> String {
    output_lines(path)
        .into_iter()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default()
}

/// The banner the live kernel printed (`truth/proc-version.txt`, `cat /proc/version`).
pub fn proc_version(truth: &Path) -> String {
    first_line(&truth.join("proc-version.txt")).trim_end().to_string()
}

/// The kernel release, the third word of `uname -a` (`truth/uname-a.txt`).
pub fn uname_release(truth: &Path) -> String {
    first_line(&truth.join("uname-a.txt"))
        .split_whitespace()
        .nth(2)
        .unwrap_or_default()
        .to_string()
}

/// The host name (`truth/hostname.txt`).
pub fn hostname(truth: &Path) -> String {
    first_line(&truth.join("hostname.txt")).trim().to_string()
}

/// One line of `/proc/modules`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TruthModule {
    /// Module name.
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// Reference count; `None` where the kernel prints `-` (no module unloading).
    pub refcount: Option<i64>,
    /// The users the kernel lists (the list ends with `,`, or is `-` for none), `[permanent]` included.
    pub used_by: Vec<String>,
    /// `Live`, `Loading` or `Unloading`.
    pub state: String,
    /// Load address (the truth was recorded as root, so the real one).
    pub address: u64,
    /// The taint letters in parentheses after the address (`OE`), without a `+`/`-` state mark; empty for
    /// none.
    pub taints: String,
}

/// Every module of `truth/proc-modules.txt` (`cat /proc/modules`: `name size refcount used_by state
/// address [(taints)]`), in the file's order.
pub fn proc_modules(truth: &Path) -> Vec<TruthModule> {
    let path = truth.join("proc-modules.txt");
    let mut out = Vec::new();
    for line in output_lines(&path) {
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.is_empty() {
            continue;
        }
        let bad = || -> ! {
            panic!(
                "truth file {}: line {line:?} is not a /proc/modules line",
                path.display()
            )
        };
        if words.len() < 6 {
            bad();
        }
        let size = words[1].parse().unwrap_or_else(|_| bad());
        let refcount = match words[2] {
            "-" => None,
            n => Some(n.parse().unwrap_or_else(|_| bad())),
        };
        let used_by = match words[3] {
            "-" => Vec::new(),
            list => list.split(',').filter(|s| !s.is_empty()).map(str::to_string).collect(),
        };
        let address = u64::from_str_radix(words[5].trim_start_matches("0x"), 16).unwrap_or_else(|_| bad());
        let taints = words
            .get(6)
            .map(|t| t.trim_matches(|c| c == '(' || c == ')').replace(['+', '-'], ""))
            .unwrap_or_default();
        out.push(TruthModule {
            name: words[0].to_string(),
            size,
            refcount,
            used_by,
            state: words[4].to_string(),
            address,
            taints,
        });
    }
    assert!(!out.is_empty(), "truth file {} lists no module", path.display());
    out
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
    /// The `cwd:` line (`readlink /proc/PID/cwd`), if there is one.
    pub cwd: Option<String>,
    /// The `root:` line (`readlink /proc/PID/root`), if there is one.
    pub root: Option<String>,
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
        let (mut cwd, mut root, mut cmdline) = (None, None, None);
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

/// Every number that occurs in the truth's socket listings (`ss-*.txt`, `final/ss-*.txt`,
/// `proc-net-*.txt`, split at anything not a digit): a superset of the inode numbers of the unix, TCP,
/// UDP, raw and packet sockets those listings show. A socket whose inode is not in it was never seen by
/// any of them.
pub fn numbers_in_socket_listings(truth: &Path) -> std::collections::BTreeSet<u64> {
    let mut files = Vec::new();
    for dir in [truth.to_path_buf(), truth.join("final")] {
        files.extend(files_named(&dir, &["ss-", "proc-net-"], ".txt"));
    }
    assert!(
        !files.is_empty(),
        "truth folder {} has no ss-*.txt or proc-net-*.txt file",
        truth.display()
    );
    let mut out = std::collections::BTreeSet::new();
    for f in files {
        for line in output_lines(&f) {
            out.extend(
                line.split(|c: char| !c.is_ascii_digit())
                    .filter_map(|w| w.parse::<u64>().ok()),
            );
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------------------
// Sockets (netstat): the last `ss` snapshots of `truth/final/` (`ss-tanpue.txt` for the host namespace,
// `ss-tanpue-<container>.txt` for each container's) and `ss-xanp.txt` for UNIX sockets.
// ---------------------------------------------------------------------------------------------------------

/// A process using a socket, from `ss -p` (`users:(("comm",pid=N,fd=M),...)`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsUser {
    /// The command name ss printed.
    pub comm: String,
    /// Process id.
    pub pid: u32,
    /// Descriptor number.
    pub fd: u32,
}

/// One TCP or UDP socket of an `ss -tanpue` snapshot.
#[derive(Debug, Clone)]
pub struct SsInet {
    /// The file read.
    pub file: std::path::PathBuf,
    /// `host` for `final/ss-tanpue.txt`, the container name for `final/ss-tanpue-<name>.txt`.
    pub namespace: String,
    /// `tcp` or `udp`.
    pub proto: String,
    /// State as ss prints it (`LISTEN`, `ESTAB`, `UNCONN`, `TIME-WAIT`...).
    pub state: String,
    /// Local address without brackets or `%interface`; `*` for a dual-stack wildcard.
    pub local_addr: String,
    /// Local port.
    pub local_port: u16,
    /// Remote address (`*` when unconnected).
    pub remote_addr: String,
    /// Remote port (0 for `*`).
    pub remote_port: u16,
    /// The `ino:` field (0 for sockets without a file).
    pub inode: Option<u64>,
    /// The processes holding it.
    pub users: Vec<SsUser>,
}

/// One UNIX socket of `ss -xanp`.
#[derive(Debug, Clone)]
pub struct SsUnix {
    /// The file read.
    pub file: std::path::PathBuf,
    /// `u_str`, `u_dgr` or `u_seq`.
    pub netid: String,
    /// State as ss prints it (`LISTEN`, `ESTAB`, `UNCONN`).
    pub state: String,
    /// The bound name (`@name` for abstract ones); `None` for `*`.
    pub path: Option<String>,
    /// Socket inode number.
    pub inode: u64,
    /// The peer's socket inode number (0: no peer).
    pub peer_inode: u64,
    /// The processes holding it.
    pub users: Vec<SsUser>,
}

/// The users of an `ss -p` line.
pub fn ss_users(line: &str) -> Vec<SsUser> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(start) = rest.find("(\"") {
        rest = &rest[start + 2..];
        let Some(end) = rest.find("\",pid=") else { break };
        let comm = rest[..end].to_string();
        rest = &rest[end + 6..];
        let digits = |s: &str| s.chars().take_while(char::is_ascii_digit).collect::<String>();
        let pid = digits(rest);
        let Some(f) = rest.find(",fd=") else { break };
        let fd = digits(&rest[f + 4..]);
        if let (Ok(pid), Ok(fd)) = (pid.parse(), fd.parse()) {
            out.push(SsUser { comm, pid, fd });
        }
    }
    out
}

/// Split an ss `address:port` into address (brackets and `%interface` removed) and port (`*` is 0).
pub fn ss_endpoint(text: &str) -> Option<(String, u16)> {
    let (addr, port) = text.rsplit_once(':')?;
    let port = if port == "*" { 0 } else { port.parse().ok()? };
    let addr = addr.trim_start_matches('[').trim_end_matches(']');
    let addr = addr.split_once('%').map_or(addr, |(a, _)| a);
    Some((addr.to_string(), port))
}

/// Every TCP and UDP socket of the last snapshots, `truth/final/ss-tanpue.txt` (host) and
/// `truth/final/ss-tanpue-<container>.txt` (each container's network namespace).
pub fn ss_inet_final(truth: &Path) -> Vec<SsInet> {
    let dir = truth.join("final");
    let files = files_named(&dir, &["ss-tanpue"], ".txt");
    assert!(
        !files.is_empty(),
        "truth folder {} has no ss-tanpue*.txt file",
        dir.display()
    );
    let mut out = Vec::new();
    for file in files {
        let name = file.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let namespace = name
            .strip_prefix("ss-tanpue-")
            .and_then(|n| n.strip_suffix(".txt"))
            .unwrap_or("host")
            .to_string();
        for line in output_lines(&file) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            if cols.len() < 6 || !matches!(cols[0], "tcp" | "udp") {
                continue;
            }
            let (Some((local_addr, local_port)), Some((remote_addr, remote_port))) =
                (ss_endpoint(cols[4]), ss_endpoint(cols[5]))
            else {
                panic!("truth file {}: line {line:?} has no address:port", file.display())
            };
            let inode = cols
                .iter()
                .find_map(|c| c.strip_prefix("ino:"))
                .and_then(|i| i.parse().ok());
            out.push(SsInet {
                file: file.clone(),
                namespace: namespace.clone(),
                proto: cols[0].to_string(),
                state: cols[1].to_string(),
                local_addr,
                local_port,
                remote_addr,
                remote_port,
                inode,
                users: ss_users(&line),
            });
        }
    }
    out
}

/// Every UNIX socket of the last snapshot `truth/final/ss-xanp.txt` (columns: netid state recv-q send-q
/// local-path local-inode peer-path peer-inode users).
pub fn ss_unix_final(truth: &Path) -> Vec<SsUnix> {
    let file = truth.join("final/ss-xanp.txt");
    let mut out = Vec::new();
    for line in output_lines(&file) {
        let cols: Vec<&str> = line.split_whitespace().collect();
        if cols.len() < 8 || !cols[0].starts_with("u_") {
            continue;
        }
        let (Ok(inode), Ok(peer_inode)) = (cols[5].parse(), cols[7].parse()) else {
            panic!("truth file {}: line {line:?} has no inode numbers", file.display())
        };
        out.push(SsUnix {
            file: file.clone(),
            netid: cols[0].to_string(),
            state: cols[1].to_string(),
            path: (cols[4] != "*").then(|| cols[4].to_string()),
            inode,
            peer_inode,
            users: ss_users(&line),
        });
    }
    assert!(!out.is_empty(), "truth file {} lists no UNIX socket", file.display());
    out
}

/// One line of `truth/proc-net-unix.txt` (`cat /proc/net/unix`: every UNIX socket of the host network
/// namespace while the truth was collected).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcNetUnix {
    /// Socket inode number (column `Inode`).
    pub inode: u64,
    /// Socket type (column `Type`: 1 stream, 2 dgram, 5 seqpacket).
    pub sock_type: u16,
    /// The bound name (`@name` for abstract ones), if any.
    pub path: Option<String>,
}

/// Every socket of `truth/proc-net-unix.txt` (columns Num RefCount Protocol Flags Type St Inode Path).
pub fn proc_net_unix(truth: &Path) -> Vec<ProcNetUnix> {
    let file = truth.join("proc-net-unix.txt");
    let mut out = Vec::new();
    for line in output_lines(&file).iter().skip(1) {
        let cols: Vec<&str> = line.split_whitespace().collect();
        if cols.len() < 7 {
            continue;
        }
        let (Ok(sock_type), Ok(inode)) = (u16::from_str_radix(cols[4], 16), cols[6].parse()) else {
            panic!("truth file {}: line {line:?} is not a UNIX socket", file.display())
        };
        out.push(ProcNetUnix {
            inode,
            sock_type,
            path: cols.get(7).map(|p| p.to_string()),
        });
    }
    assert!(!out.is_empty(), "truth file {} lists no UNIX socket", file.display());
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

/// The main pid of a container (`truth/docker/inspect-container-<name>.json`, `State.Pid`).
pub fn container_pid(truth: &Path, name: &str) -> Option<u32> {
    let path = truth.join(format!("docker/inspect-container-{name}.json"));
    let text = std::fs::read_to_string(&path).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    let v = if v.is_array() { v.get(0)? } else { &v };
    v.get("State")?.get("Pid")?.as_u64().map(|p| p as u32)
}

// ---- processes (pslist, pstree) --------------------------------------------------------------------------

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
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("{}: no column {name}", path.display()))
    };
    let ns_pid_col = header.iter().rposition(|h| *h == "pid").unwrap_or(0);
    assert!(ns_pid_col > 0, "{}: the header should name `pid` twice", path.display());
    let (c_name, c_ppid, c_uid, c_gid, c_nspid) = (
        col("name"),
        col("ppid"),
        col("uid(r,e,s,fs)"),
        col("gid(r,e,s,fs)"),
        col("NSpid"),
    );
    let cap_cols = ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"].map(col);
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

/// Seconds since the Unix epoch of a proleptic Gregorian UTC date and time.
pub fn unix_seconds(year: i64, month: u32, day: u32, hour: u32, min: u32, sec: u32) -> i64 {
    // Howard Hinnant's days_from_civil.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * 86_400 + i64::from(hour) * 3600 + i64::from(min) * 60 + i64::from(sec)
}

/// A `ps -o lstart` time (`Sat Nov 21 21:01:02 2026`) as Unix seconds; the corpus guests run in UTC
/// (`truth/dump-time.txt` and `dmesg -T` agree).
pub fn parse_lstart(words: &[&str]) -> Option<i64> {
    let [_, mon, day, time, year] = words else { return None };
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.iter().position(|m| m == mon)? as u32 + 1;
    let mut hms = time.split(':').map(|x| x.parse::<u32>().ok());
    let (h, m, s) = (hms.next()??, hms.next()??, hms.next()??);
    Some(unix_seconds(year.parse().ok()?, month, day.parse().ok()?, h, m, s))
}

/// A process as the last `ps` before the dump listed it (`truth/final/ps-eo.txt`, columns by its header:
/// `PID PPID UID EUID GID EGID STARTED STAT COMMAND COMMAND`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PsProcess {
    /// Process id.
    pub pid: u32,
    /// Parent process id.
    pub ppid: u32,
    /// Start time (`lstart`), Unix seconds, truncated to the second by ps.
    pub started: i64,
    /// The 15-character comm column.
    pub comm: String,
    /// The command line (`args`), words joined by single spaces.
    pub args: String,
}

/// Every process of `truth/final/ps-eo.txt` (`ps -eo pid,ppid,uid,euid,gid,egid,lstart,stat,comm,args`).
pub fn final_ps(truth: &Path) -> std::collections::BTreeMap<u32, PsProcess> {
    let path = truth.join("final/ps-eo.txt");
    let lines = output_lines(&path);
    let header: Vec<&str> = lines
        .first()
        .map(|h| h.split_whitespace().collect())
        .unwrap_or_default();
    let at = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("{}: no column {name}", path.display()))
    };
    let (c_pid, c_ppid, c_started) = (at("PID"), at("PPID"), at("STARTED"));
    // STARTED spans five words (`Sat Nov 21 21:01:02 2026`); STAT follows, then comm.
    let c_comm = at("STAT") + 4 + 1;
    let mut out = std::collections::BTreeMap::new();
    for line in &lines[1..] {
        let w: Vec<&str> = line.split_whitespace().collect();
        if w.len() <= c_comm {
            continue;
        }
        let (Ok(pid), Ok(ppid)) = (w[c_pid].parse(), w[c_ppid].parse()) else {
            continue;
        };
        let started = parse_lstart(&w[c_started..c_started + 5]).unwrap_or_else(|| {
            panic!(
                "{}: pid {pid}: bad start time {:?}",
                path.display(),
                &w[c_started..c_started + 5]
            )
        });
        out.insert(
            pid,
            PsProcess {
                pid,
                ppid,
                started,
                comm: w[c_comm].to_string(),
                args: w[c_comm + 1..].join(" "),
            },
        );
    }
    assert!(!out.is_empty(), "truth file {} lists no process", path.display());
    out
}

/// Thread ids by process id from `truth/ps-eLf.txt` (`ps -eLf`: `UID PID PPID LWP C NLWP STIME TTY TIME
/// CMD`), taken during the truth collection (before `final/`).
pub fn ps_threads(truth: &Path) -> std::collections::BTreeMap<u32, std::collections::BTreeSet<u32>> {
    let path = truth.join("ps-eLf.txt");
    let lines = output_lines(&path);
    let header: Vec<&str> = lines
        .first()
        .map(|h| h.split_whitespace().collect())
        .unwrap_or_default();
    let at = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("{}: no column {name}", path.display()))
    };
    let (c_pid, c_lwp) = (at("PID"), at("LWP"));
    let mut out: std::collections::BTreeMap<u32, std::collections::BTreeSet<u32>> = Default::default();
    for line in &lines[1..] {
        let w: Vec<&str> = line.split_whitespace().collect();
        if let (Some(Ok(pid)), Some(Ok(lwp))) = (w.get(c_pid).map(|x| x.parse()), w.get(c_lwp).map(|x| x.parse())) {
            out.entry(pid).or_default().insert(lwp);
        }
    }
    assert!(!out.is_empty(), "truth file {} lists no thread", path.display());
    out
}

/// Whether a task's comm (at most 15 characters) agrees with `/proc`'s `Name`: equal, or `Name` starts
/// with it and it is cut at 15 characters or at the `-` of a workqueue suffix.
pub fn comm_matches(comm: &str, name: &str) -> bool {
    !comm.is_empty()
        && (comm == name
            || (name.starts_with(comm) && (comm.chars().count() == 15 || name[comm.len()..].starts_with('-'))))
}

// ---- network: interfaces, neighbours, kernel log (ifconfig, arp, dmesg) ----------------------------------

/// One network namespace of the truth: the host's (`truth/`) or a container's (`truth/netns/<name>/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TruthNetns {
    /// `host` or the container name.
    pub name: String,
    /// The folder holding its `ip-*.txt` files.
    pub dir: std::path::PathBuf,
    /// Its inode: the `net` link of pid 1 for the host, else of the pid in the `# nsenter -t PID` header
    /// of `netns/<name>/ip-link.txt` (`truth/proc-summary.tsv`).
    pub inode: u64,
}

/// The pid after `nsenter -t` in the first `#` line of a truth file.
fn nsenter_pid(path: &Path) -> Option<u32> {
    let text = std::fs::read_to_string(path).ok()?;
    let line = text.lines().find(|l| l.starts_with('#'))?;
    let rest = line.split("nsenter -t ").nth(1)?;
    rest.split_whitespace().next()?.parse().ok()
}

/// The host's network namespace and each container's (`truth/netns/*`), with their inodes.
pub fn network_namespaces(truth: &Path) -> Vec<TruthNetns> {
    let host = process_netns(truth, 1).unwrap_or_else(|| {
        panic!(
            "truth file {} has no net namespace for pid 1",
            truth.join("proc-summary.tsv").display()
        )
    });
    let mut out = vec![TruthNetns {
        name: "host".into(),
        dir: truth.to_path_buf(),
        inode: host,
    }];
    let dir = truth.join("netns");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list truth folder {}: {e}", dir.display()))
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for name in names {
        let link = dir.join(&name).join("ip-link.txt");
        let pid =
            nsenter_pid(&link).unwrap_or_else(|| panic!("truth file {}: no `nsenter -t PID` header", link.display()));
        let inode = process_netns(truth, pid).unwrap_or_else(|| {
            panic!(
                "truth/proc-summary.tsv: no net namespace for pid {pid} ({})",
                link.display()
            )
        });
        out.push(TruthNetns {
            name: name.clone(),
            dir: dir.join(&name),
            inode,
        });
    }
    out
}

/// One interface as `ip -d link` or `ip -d addr` printed it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TruthLink {
    /// Interface index.
    pub index: i64,
    /// Name, without the `@peer` suffix.
    pub name: String,
    /// The flags between `<` and `>`.
    pub flags: Vec<String>,
    /// MTU.
    pub mtu: u64,
    /// `state` (operational state).
    pub state: String,
    /// The `link/...` address (`link/ether`, `link/loopback`), where there is one.
    pub mac: Option<String>,
    /// The `promiscuity` count.
    pub promiscuity: Option<u64>,
    /// `inet`/`inet6` addresses in CIDR form, with their family, scope and (IPv4) label.
    pub addrs: Vec<TruthAddr>,
}

/// One address line of `ip addr`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TruthAddr {
    /// `inet` or `inet6`.
    pub family: String,
    /// `addr/prefix`.
    pub cidr: String,
    /// The word after `scope`.
    pub scope: String,
    /// The IPv4 label (the last word of the line), `None` for IPv6.
    pub label: Option<String>,
}

/// The interfaces of an `ip -d link` or `ip -d addr` output (`ip-link.txt`, `ip-d-addr.txt`).
pub fn ip_links(path: &Path) -> Vec<TruthLink> {
    let mut out: Vec<TruthLink> = Vec::new();
    for line in output_lines(path) {
        let words: Vec<&str> = line.split_whitespace().collect();
        if !line.starts_with(' ') {
            // `2: eth0: <BROADCAST,...> mtu 1500 qdisc ... state UP ...`
            let (Some(index), Some(name)) = (words.first(), words.get(1)) else {
                continue;
            };
            let Ok(index) = index.trim_end_matches(':').parse() else {
                continue;
            };
            let name = name.trim_end_matches(':');
            let name = name.split('@').next().unwrap_or(name).to_string();
            let flags = words
                .get(2)
                .map(|f| {
                    f.trim_matches(|c| c == '<' || c == '>')
                        .split(',')
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            let after = |key: &str| {
                words
                    .iter()
                    .position(|w| *w == key)
                    .and_then(|i| words.get(i + 1))
                    .map(|s| s.to_string())
            };
            out.push(TruthLink {
                index,
                name,
                flags,
                mtu: after("mtu").and_then(|m| m.parse().ok()).unwrap_or(0),
                state: after("state").unwrap_or_default(),
                ..Default::default()
            });
            continue;
        }
        let Some(cur) = out.last_mut() else { continue };
        match words.first().copied() {
            Some(w) if w.starts_with("link/") => {
                cur.mac = words.get(1).filter(|m| m.contains(':')).map(|m| m.to_string());
                let at = words.iter().position(|w| *w == "promiscuity");
                cur.promiscuity = at.and_then(|i| words.get(i + 1)).and_then(|p| p.parse().ok());
            }
            Some(family @ ("inet" | "inet6")) => {
                let Some(cidr) = words.get(1) else { continue };
                let scope = words.iter().position(|w| *w == "scope").and_then(|i| words.get(i + 1));
                let label = if family == "inet" {
                    words.last().map(|s| s.to_string())
                } else {
                    None
                };
                cur.addrs.push(TruthAddr {
                    family: family.to_string(),
                    cidr: cidr.to_string(),
                    scope: scope.map(|s| s.to_string()).unwrap_or_default(),
                    label,
                });
            }
            _ => {}
        }
    }
    assert!(!out.is_empty(), "truth file {} lists no interface", path.display());
    out
}

/// One entry of `ip neigh`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TruthNeigh {
    /// The neighbour's address.
    pub ip: String,
    /// The device.
    pub dev: String,
    /// `lladdr`, where the entry has one.
    pub lladdr: Option<String>,
    /// The state word(s) at the end (`REACHABLE`, `STALE`, `FAILED`...).
    pub state: String,
    /// Whether `router` is printed.
    pub router: bool,
}

/// The entries of an `ip neigh` output (`final/ip-neigh*.txt`, `ip-neigh.txt`, `ip-6-neigh.txt`).
pub fn ip_neigh(path: &Path) -> Vec<TruthNeigh> {
    let mut out = Vec::new();
    for line in output_lines(path) {
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.len() < 3 || words[1] != "dev" {
            continue;
        }
        let lladdr = words
            .iter()
            .position(|w| *w == "lladdr")
            .and_then(|i| words.get(i + 1))
            .map(|s| s.to_lowercase());
        out.push(TruthNeigh {
            ip: words[0].to_lowercase(),
            dev: words[2].to_string(),
            lladdr,
            state: words.last().map(|s| s.to_string()).unwrap_or_default(),
            router: words.contains(&"router"),
        });
    }
    out
}

/// One line of `dmesg` output (`truth/dmesg.txt`).
#[derive(Debug, Clone, PartialEq)]
pub struct TruthLogLine {
    /// Seconds since boot in the `[...]` prefix; `None` for the continuation line of a multi-line record.
    pub timestamp: Option<f64>,
    /// The text, without the timestamp prefix or a continuation line's indentation, trimmed.
    pub text: String,
}

/// Every non-empty line of `truth/dmesg.txt`.
pub fn dmesg(truth: &Path) -> Vec<TruthLogLine> {
    let path = truth.join("dmesg.txt");
    let mut out = Vec::new();
    for line in output_lines(&path) {
        let (timestamp, text) = match line.strip_prefix('[').and_then(|r| r.split_once("] ")) {
            Some((ts, text)) if ts.trim().parse::<f64>().is_ok() => (ts.trim().parse().ok(), text),
            _ => (None, line.as_str()),
        };
        let text = text.trim();
        if !text.is_empty() {
            out.push(TruthLogLine {
                timestamp,
                text: text.to_string(),
            });
        }
    }
    assert!(!out.is_empty(), "truth file {} has no line", path.display());
    out
}

// ---- routes ------------------------------------------------------------------------------------------------

/// One route as `ip route` printed it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct TruthRoute {
    /// Network namespace inode.
    pub netns: u64,
    /// `inet` or `inet6`.
    pub family: String,
    /// Table name (`main`, `local`, or a number).
    pub table: String,
    /// Route type (`unicast` where `ip` prints none).
    pub route_type: String,
    /// Destination in CIDR form (`default` as `0.0.0.0/0` or `::/0`, host routes with /32 or /128).
    pub destination: String,
    /// Gateway (`via`).
    pub gateway: Option<String>,
    /// Device (`dev`).
    pub device: Option<String>,
    /// Metric (0 where `ip` prints none).
    pub metric: u64,
    /// Protocol (`boot` where `ip` prints none).
    pub protocol: String,
}

/// The routing tables the truth holds, and whether each namespace's list covers every table (`ip route
/// show table all`) or only `main` (`ip route` and `ip -6 route` run in a container's namespace):
/// the host's from `truth/ip-route-table-all.txt`, each container's from `truth/netns/<name>/ip-route.txt`
/// and `ip-6-route.txt`, labelled with the namespace inodes of [`network_namespaces`].
pub fn routes(truth: &Path) -> Vec<(TruthRoute, bool)> {
    let mut out: Vec<(TruthRoute, bool)> = Vec::new();
    let namespaces = network_namespaces(truth);
    let (host, containers) = namespaces
        .split_first()
        .expect("network_namespaces lists the host first");
    for line in output_lines(&host.dir.join("ip-route-table-all.txt")) {
        out.extend(parse_route(&line, host.inode, None).map(|r| (r, true)));
    }
    for ns in containers {
        for (file, family) in [("ip-route.txt", "inet"), ("ip-6-route.txt", "inet6")] {
            for line in output_lines(&ns.dir.join(file)) {
                out.extend(parse_route(&line, ns.inode, Some(family)).map(|r| (r, false)));
            }
        }
    }
    out
}

/// Parse one line of `ip route` output.
fn parse_route(line: &str, netns: u64, family: Option<&str>) -> Option<TruthRoute> {
    const TYPES: [&str; 8] = [
        "local",
        "broadcast",
        "multicast",
        "anycast",
        "unreachable",
        "blackhole",
        "prohibit",
        "throw",
    ];
    let mut words = line.split_whitespace().peekable();
    let route_type = match words.peek() {
        Some(w) if TYPES.contains(w) => words.next()?.to_string(),
        _ => "unicast".to_string(),
    };
    let dest = words.next()?;
    let family = family
        .unwrap_or(if dest.contains(':') { "inet6" } else { "inet" })
        .to_string();
    let v6 = family == "inet6";
    let destination = match dest {
        "default" if v6 => "::/0".to_string(),
        "default" => "0.0.0.0/0".to_string(),
        d if d.contains('/') => d.to_string(),
        d => format!("{d}/{}", if v6 { 128 } else { 32 }),
    };
    let mut route = TruthRoute {
        netns,
        family,
        table: "main".into(),
        route_type,
        destination,
        gateway: None,
        device: None,
        metric: 0,
        protocol: "boot".into(),
    };
    let rest: Vec<&str> = words.collect();
    for pair in rest.windows(2) {
        let value = pair[1].to_string();
        match pair[0] {
            "via" => route.gateway = Some(value),
            "dev" => route.device = Some(value),
            "table" => route.table = value,
            "metric" => route.metric = value.parse().ok()?,
            "proto" => route.protocol = value,
            _ => {}
        }
    }
    Some(route)
}
