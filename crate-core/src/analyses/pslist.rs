//! `pslist` and `pstree`: the processes (and with `threads` their threads) of the task list, with start
//! times, namespaces, credentials and capabilities.

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;

use serde::Serialize;

use super::Analysis;
pub use crate::kernel::layouts::NsKind;
use crate::kernel::paths::PathResolver;
use crate::kernel::tasks::{self, Namespaces, TaskInfo};
use crate::kernel::{mm, mounts, Kernel, KernelError};

/// Names of the capability bits the kernel knows (`include/uapi/linux/capability.h`), by bit number.
pub const CAP_NAMES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// One capability of a set: its `CAP_*` name, or its bit number when beyond the known list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum CapName {
    /// A known capability.
    Name(&'static str),
    /// A bit the list does not name.
    Bit(u32),
}

/// The capabilities of a set, lowest bit first.
pub fn cap_names(set: u64) -> Vec<CapName> {
    (0..64u32)
        .filter(|b| set >> b & 1 == 1)
        .map(|b| CAP_NAMES.get(b as usize).map_or(CapName::Bit(b), |n| CapName::Name(n)))
        .collect()
}

/// A namespace filter, `KIND:INODE` (`net:4026531840`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NsFilter {
    /// The kind.
    pub kind: NsKind,
    /// The namespace's inode number.
    pub inode: u64,
}

impl FromStr for NsFilter {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (kind, inode) = s
            .split_once(':')
            .ok_or_else(|| format!("{s:?} is not KIND:INODE (e.g. net:4026531840)"))?;
        let kind = NsKind::ALL
            .into_iter()
            .find(|k| k.name() == kind.trim())
            .ok_or_else(|| format!("unknown namespace kind {kind:?} (uts, ipc, mnt, net, pid, user, cgroup, time)"))?;
        let inode = inode.trim();
        let inode = inode
            .strip_prefix('[')
            .and_then(|i| i.strip_suffix(']'))
            .unwrap_or(inode)
            .parse()
            .map_err(|_| format!("{inode:?} is not a namespace inode number"))?;
        Ok(NsFilter { kind, inode })
    }
}

/// What to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// A row per thread, not only per process.
    pub threads: bool,
    /// Only these process (or thread) ids; empty: all.
    pub pids: Vec<u32>,
    /// Only tasks in all of these namespaces.
    pub ns: Vec<NsFilter>,
}

impl Options {
    fn selects(&self, row: &ProcessRow) -> bool {
        (self.pids.is_empty()
            || self
                .pids
                .iter()
                .any(|&p| i64::from(p) == row.pid || i64::from(p) == row.tid))
            && self.ns.iter().all(|f| row.ns.get(f.kind) == Some(f.inode))
    }
}

/// One process (or thread) of `pslist`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProcessRow {
    /// Address of the `task_struct`.
    #[serde(with = "crate::hex")]
    pub task_addr: u64,
    /// Process id (the thread group id).
    pub pid: i64,
    /// Thread id (`task->pid`; equal to `pid` for a process's main thread).
    pub tid: i64,
    /// Thread group id (the process id).
    pub tgid: i64,
    /// Parent process id; null when unreadable.
    pub ppid: Option<i64>,
    /// `task->comm` (at most 15 characters).
    pub comm: String,
    /// What `/proc/PID/status` shows as Name (`kworker/0:1-events`, full kthread names); null when unknown.
    pub name: Option<String>,
    /// The executable, as `readlink /proc/PID/exe` shows it from the process's root (` (deleted)` when it
    /// was unlinked, `/memfd:NAME (deleted)` for a memfd); null for a kernel thread or when unreadable.
    pub exe: Option<String>,
    /// Start time, UTC wall clock with nanoseconds; null when the boot time is unknown.
    pub start_time: Option<String>,
    /// Start time in seconds since boot (suspend included), nanosecond precision.
    pub start_time_since_boot: Option<f64>,
    /// Whether the task is a kernel thread (`PF_KTHREAD`).
    pub kernel_thread: bool,
    /// The pid in the task's own pid namespace (the last `NSpid`).
    pub pid_in_ns: Option<i64>,
    /// Namespace inode numbers.
    pub ns: Namespaces,
    /// Real user id.
    pub uid: Option<u32>,
    /// Real group id.
    pub gid: Option<u32>,
    /// Effective user id.
    pub euid: Option<u32>,
    /// Effective group id.
    pub egid: Option<u32>,
    /// Inheritable capabilities.
    pub cap_inh: Option<u64>,
    /// Permitted capabilities.
    pub cap_prm: Option<u64>,
    /// Effective capabilities.
    pub cap_eff: Option<u64>,
    /// Bounding set.
    pub cap_bnd: Option<u64>,
    /// Ambient capabilities.
    pub cap_amb: Option<u64>,
    /// The effective capabilities by name.
    pub cap_eff_names: Option<Vec<CapName>>,
    /// Whether the process is on the kernel's task list (`init_task.tasks`); false for one found only in
    /// the PID table (unlinked to hide it, or past a break in a smeared list). Threads: their process's.
    pub in_task_list: bool,
    /// Whether the kernel's PID table (`init_pid_ns.idr`) holds the process; null where it was not read.
    /// Threads: their process's.
    pub in_pid_table: Option<bool>,
    /// Address of the parent task (`real_parent`).
    #[serde(skip)]
    pub parent_addr: Option<u64>,
}

/// One row of `pstree`: a process with its place in the tree.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TreeRow {
    /// The process.
    #[serde(flatten)]
    pub process: ProcessRow,
    /// Address of the parent's `task_struct` in the tree; null for a root.
    #[serde(with = "crate::hex::option")]
    pub parent_task_addr: Option<u64>,
    /// Depth in the tree (0 for a root).
    pub depth: u32,
}

/// Seconds and nanoseconds since the epoch as UTC ISO 8601 with nanoseconds (`2026-11-21T21:05:03.123456789Z`).
pub fn iso8601_ns(ns_since_epoch: i128) -> String {
    let secs = ns_since_epoch.div_euclid(1_000_000_000);
    let nanos = ns_since_epoch.rem_euclid(1_000_000_000);
    let days = secs.div_euclid(86_400);
    let tod = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i128::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{nanos:09}Z",
        tod / 3600,
        tod / 60 % 60,
        tod % 60
    )
}

/// Whole seconds since the epoch of a UTC ISO 8601 time as [`iso8601_ns`] writes it (the fraction is
/// dropped); `None` for text of another form.
pub fn epoch_seconds(iso: &str) -> Option<i64> {
    let b = iso.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> { iso.get(r)?.parse().ok() };
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    // Howard Hinnant's days_from_civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hh * 3600 + mm * 60 + ss)
}

fn row(t: TaskInfo, boot_ns: Option<i64>) -> ProcessRow {
    let c = t.cred;
    ProcessRow {
        task_addr: t.addr,
        pid: t.tgid,
        tid: t.tid,
        tgid: t.tgid,
        ppid: t.ppid,
        kernel_thread: t.kernel_thread(),
        comm: t.comm,
        name: t.name,
        exe: None,
        start_time: match (boot_ns, t.start_boottime_ns) {
            (Some(b), Some(s)) => Some(iso8601_ns(i128::from(b) + i128::from(s))),
            _ => None,
        },
        start_time_since_boot: t.start_boottime_ns.map(|s| s as f64 / 1e9),
        pid_in_ns: t.pid_in_ns,
        ns: t.ns,
        uid: c.map(|c| c.uid),
        gid: c.map(|c| c.gid),
        euid: c.map(|c| c.euid),
        egid: c.map(|c| c.egid),
        cap_inh: c.map(|c| c.cap_inh),
        cap_prm: c.map(|c| c.cap_prm),
        cap_eff: c.map(|c| c.cap_eff),
        cap_bnd: c.map(|c| c.cap_bnd),
        cap_amb: c.map(|c| c.cap_amb),
        cap_eff_names: c.map(|c| cap_names(c.cap_eff)),
        in_task_list: true,
        in_pid_table: None,
        parent_addr: t.parent_addr,
    }
}

/// Every process of the task list (with `threads`, every thread after its process), in list order, as
/// `options` selects. Fails only when the task list cannot be found at all.
pub fn pslist(kernel: &Kernel, options: &Options) -> Result<Analysis<ProcessRow>, KernelError> {
    let (rows, warnings) = all_rows(kernel, options.threads)?;
    Ok(Analysis {
        rows: rows.into_iter().filter(|r| options.selects(r)).collect(),
        warnings,
    })
}

fn all_rows(kernel: &Kernel, threads: bool) -> Result<(Vec<ProcessRow>, Vec<String>), KernelError> {
    let walk = if threads {
        tasks::all_tasks(kernel)?
    } else {
        tasks::processes(kernel)?
    };
    let mut warnings = walk.warnings;
    let boot_ns = match tasks::boot_time_ns(kernel) {
        Ok(b) => Some(b),
        Err(e) => {
            warnings.push(format!("boot time unknown, start_time is null: {e}"));
            None
        }
    };
    let mut rows: Vec<ProcessRow> = Vec::with_capacity(walk.tasks.len());
    for addr in walk.tasks {
        match tasks::read_task(kernel, addr, &mut warnings) {
            Ok(t) => rows.push(row(t, boot_ns)),
            Err(e) => warnings.push(format!("task at {addr:#x} skipped: {e}")),
        }
    }
    // Where each process was found, and what it runs; a thread shows its process's.
    let resolver = PathResolver::new(kernel);
    let mut of_process: HashMap<i64, (bool, Option<bool>, Option<String>)> = HashMap::new();
    for r in rows.iter_mut().filter(|r| r.tid == r.pid) {
        r.in_task_list = !walk.pid_table_only.contains(&r.task_addr);
        r.in_pid_table = walk.in_pid_table.as_ref().map(|s| s.contains(&r.task_addr));
        r.exe = executable(kernel, &resolver, r.task_addr);
        of_process.insert(r.pid, (r.in_task_list, r.in_pid_table, r.exe.clone()));
    }
    for r in rows.iter_mut().filter(|r| r.tid != r.pid) {
        (r.in_task_list, r.in_pid_table, r.exe) = of_process.get(&r.pid).cloned().unwrap_or((true, None, None));
    }
    Ok((rows, warnings))
}

/// The path of the file the process led by the task at `task` runs, seen from its root.
fn executable(kernel: &Kernel, resolver: &PathResolver<'_>, task: u64) -> Option<String> {
    let task = kernel.object("task_struct", task).ok()?;
    let file = mm::exe_file(kernel, &task).ok()??;
    let root = mounts::task_mounts(kernel, &task).ok().flatten().and_then(|t| t.root);
    let f_path = file.member("f_path").ok()?;
    let found = resolver
        .resolve(f_path.pointer("mnt").ok()?, f_path.pointer("dentry").ok()?, root)
        .ok()?;
    Some(found.path)
}

/// The processes as a tree (children under their parent process, by pid), depth first. With filters, the
/// selected processes are shown with their descendants.
pub fn pstree(kernel: &Kernel, options: &Options) -> Result<Analysis<TreeRow>, KernelError> {
    let (rows, warnings) = all_rows(kernel, options.threads)?;
    Ok(Analysis {
        rows: tree(rows, options),
        warnings,
    })
}

/// Order rows as a tree: a process's parent is the process row of its `ppid`; a thread's (tid != pid) is
/// its process. Rows whose parent is not listed are roots.
pub fn tree(rows: Vec<ProcessRow>, options: &Options) -> Vec<TreeRow> {
    let leader: HashMap<i64, usize> = rows
        .iter()
        .enumerate()
        .filter(|(_, r)| r.tid == r.pid)
        .map(|(i, r)| (r.pid, i))
        .collect();
    let parent_of = |i: usize| -> Option<usize> {
        let r = &rows[i];
        let p = if r.tid != r.pid {
            leader.get(&r.pid)
        } else {
            r.ppid.and_then(|pp| leader.get(&pp))
        };
        p.copied().filter(|&p| p != i)
    };
    let mut children: BTreeMap<Option<usize>, Vec<usize>> = BTreeMap::new();
    for i in 0..rows.len() {
        children.entry(parent_of(i)).or_default().push(i);
    }
    for c in children.values_mut() {
        // Threads first (as ps shows them under their process), then child processes by pid.
        c.sort_by_key(|&i| (rows[i].tid == rows[i].pid, rows[i].pid, rows[i].tid));
    }
    let filtered = !options.pids.is_empty() || !options.ns.is_empty();
    let mut out = Vec::with_capacity(rows.len());
    let mut done = vec![false; rows.len()];
    // Depth-first from the roots; a node is shown when it or an ancestor is selected.
    let mut stack: Vec<(usize, u32, bool)> = Vec::new();
    let mut roots = children.get(&None).cloned().unwrap_or_default();
    // Rows caught in a parent cycle have no root: list them as roots too.
    let mut visit = |roots: &[usize], out: &mut Vec<TreeRow>, done: &mut Vec<bool>| {
        stack.extend(roots.iter().rev().map(|&r| (r, 0u32, false)));
        while let Some((i, depth, selected_above)) = stack.pop() {
            if done[i] {
                continue;
            }
            done[i] = true;
            let selected = selected_above || !filtered || options.selects(&rows[i]);
            if selected {
                out.push(TreeRow {
                    process: rows[i].clone(),
                    parent_task_addr: if depth == 0 {
                        None
                    } else {
                        parent_of(i).map(|p| rows[p].task_addr)
                    },
                    depth,
                });
            }
            if let Some(kids) = children.get(&Some(i)) {
                stack.extend(kids.iter().rev().map(|&k| (k, depth + 1, selected)));
            }
        }
    };
    visit(&roots, &mut out, &mut done);
    roots = (0..rows.len()).filter(|&i| !done[i]).collect();
    for r in roots {
        if !done[r] {
            visit(&[r], &mut out, &mut done);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn epoch_seconds_undo_iso8601() {
        for ns in [
            0i128,
            1_700_000_000_123_456_789,
            951_782_400_000_000_000,
            -86_400_000_000_000,
        ] {
            let iso = iso8601_ns(ns);
            assert_eq!(epoch_seconds(&iso), Some(ns.div_euclid(1_000_000_000) as i64), "{iso}");
        }
        assert_eq!(epoch_seconds("2026-13-01T00:00:00Z"), None);
        assert_eq!(epoch_seconds("yesterday"), None);
    }

    use super::*;

    #[test]
    fn times_format_as_utc_iso8601() {
        assert_eq!(iso8601_ns(0), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(iso8601_ns(1_795_813_503_123_456_789), "2026-11-27T21:05:03.123456789Z");
        assert_eq!(iso8601_ns(951_782_400_000_000_001), "2000-02-29T00:00:00.000000001Z");
        assert_eq!(iso8601_ns(-1), "1969-12-31T23:59:59.999999999Z");
    }

    #[test]
    fn capability_names() {
        assert_eq!(cap_names(0), vec![]);
        assert_eq!(
            cap_names(1 << 10 | 1 << 21),
            vec![CapName::Name("CAP_NET_BIND_SERVICE"), CapName::Name("CAP_SYS_ADMIN")]
        );
        assert_eq!(
            cap_names(1 << 40 | 1 << 41),
            vec![CapName::Name("CAP_CHECKPOINT_RESTORE"), CapName::Bit(41)]
        );
        assert_eq!(
            serde_json::to_string(&cap_names(1 | 1 << 63)).unwrap(),
            r#"["CAP_CHOWN",63]"#
        );
    }

    #[test]
    fn ns_filters_parse() {
        assert_eq!(
            "net:4026531840".parse::<NsFilter>(),
            Ok(NsFilter {
                kind: NsKind::Net,
                inode: 4026531840
            })
        );
        assert_eq!("pid:[4026531836]".parse::<NsFilter>().map(|f| f.inode), Ok(4026531836));
        assert!("net".parse::<NsFilter>().is_err());
        assert!("foo:1".parse::<NsFilter>().is_err());
        assert!("net:x".parse::<NsFilter>().is_err());
    }
}
