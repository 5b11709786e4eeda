//! `files`: every file the dentry cache holds under the mounts of a mount namespace, with what `stat`
//! would show of its inode and how much of it the page cache keeps; and a cached file's bytes read back.
//!
//! Each mount of the namespace (pid 1's by default) that its process can see is walked from its root
//! dentry down through the children the kernel links ([`dentries`]); a dentry that another mount of the
//! namespace covers is left to that mount, so each row is a path the namespace sees, as `ls -R` there
//! would reach it (a bind-mounted tree appears under each mount point). Files still open but no longer in
//! any directory (deleted, memfd, O_TMPFILE) come from the descriptor tables of the namespace's processes.
//! Reading a file back is [`pagecache`]'s.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use super::pslist::{epoch_seconds, iso8601_ns};
use super::{lsof, Analysis, FileSink};
use crate::kernel::inodes::{self, Inode};
use crate::kernel::mounts::{self, Mount, TaskMounts};
use crate::kernel::pagecache::{FileReader, ReadBack};
use crate::kernel::paths::{file_type_of_mode, mode_string, PathResolver, Reach};
use crate::kernel::{dentries, overlay, tasks, Kernel, KernelError};

/// At most this many dentries are visited in one run.
pub const MAX_DENTRIES: usize = 1 << 22;

/// One cached file (or, with `negative`, one name looked up that did not exist).
#[derive(Debug, Clone, Serialize)]
pub struct FileRow {
    /// Inode of the mount namespace it is seen in.
    pub mnt_ns: u64,
    /// The process it is seen from.
    pub pid: u32,
    /// The mount it is on (`mnt_id`); null for an open file in no directory.
    pub mount_id: Option<i64>,
    /// The path as the namespace sees it (` (deleted)` for an unlinked open file, as `/proc/PID/fd` shows).
    pub path: String,
    /// A symlink's target, where memory holds it.
    pub link_target: Option<String>,
    /// `i_ino`; null for a negative dentry.
    pub inode: Option<u64>,
    /// Address of the inode.
    #[serde(with = "crate::hex::option")]
    pub inode_addr: Option<u64>,
    /// `regular`, `dir`, `symlink`, `socket`, `fifo`, `char`, `block`, `unknown`.
    pub file_type: Option<String>,
    /// The mode as `ls -l` prints it (`-rw-r--r--`).
    pub mode: Option<String>,
    /// Owner and group.
    pub uid: Option<u32>,
    /// See `uid`.
    pub gid: Option<u32>,
    /// Size in bytes.
    pub size: Option<i64>,
    /// Hard links.
    pub nlink: Option<u32>,
    /// Last access, modification and change (UTC).
    pub atime: Option<String>,
    /// See `atime`.
    pub mtime: Option<String>,
    /// See `atime`.
    pub ctime: Option<String>,
    /// Pages the page cache holds.
    pub cached_pages: Option<u64>,
    /// Pages the file's size spans.
    pub total_pages: Option<u64>,
    /// Unlinked while still open.
    pub deleted: bool,
    /// Address of the dentry; null for an open file found through its descriptor.
    #[serde(with = "crate::hex::option")]
    pub dentry_addr: Option<u64>,
}

/// Options of [`files`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// The mount namespaces of these processes; empty: pid 1's.
    pub pids: Vec<u32>,
    /// Only these mounts (`mnt_id`); empty: all.
    pub mounts: Vec<i64>,
    /// Only paths equal to this or under it.
    pub path: Option<String>,
    /// Only files of these owners.
    pub uids: Vec<u32>,
    /// Order by path instead of the walk's order.
    pub sort: bool,
    /// Add negative dentries.
    pub negative: bool,
}

/// A namespace to walk and the process it is seen from.
struct Seen {
    pid: u32,
    inum: u64,
    task: TaskMounts,
}

/// The files of the chosen namespaces.
pub fn files(kernel: &Kernel, options: &Options) -> Result<Analysis<FileRow>, KernelError> {
    let mut warnings = Vec::new();
    let seen = namespaces(kernel, &options.pids, &mut warnings)?;
    let mut lister = Lister {
        kernel,
        resolver: PathResolver::new(kernel),
        options,
        budget: MAX_DENTRIES,
        rows: Vec::new(),
        warnings,
    };
    for s in &seen {
        lister.walk_namespace(s);
    }
    if lister.budget == 0 {
        lister.warnings.push(format!("stopped after {MAX_DENTRIES} dentries"));
    }
    lister.open_unlinked(&seen);
    let Lister { mut rows, warnings, .. } = lister;
    rows.retain(|r| options.uids.is_empty() || r.uid.is_some_and(|u| options.uids.contains(&u)));
    if options.sort {
        rows.sort_by(|a, b| a.path.cmp(&b.path));
    }
    Ok(Analysis { rows, warnings })
}

/// Where a row's file was found.
struct Place {
    mount_id: Option<i64>,
    path: String,
    deleted: bool,
    dentry: Option<u64>,
}

/// One listing under way: what it reads with, what it has found, and how many dentries it may still
/// visit.
struct Lister<'k, 'o> {
    kernel: &'k Kernel,
    resolver: PathResolver<'k>,
    options: &'o Options,
    budget: usize,
    rows: Vec<FileRow>,
    warnings: Vec<String>,
}

/// One namespace per process of `pids` (pid 1 when empty), in their order, each once.
fn namespaces(kernel: &Kernel, pids: &[u32], warnings: &mut Vec<String>) -> Result<Vec<Seen>, KernelError> {
    let wanted: Vec<u32> = if pids.is_empty() { vec![1] } else { pids.to_vec() };
    let mut found: HashMap<u32, TaskMounts> = HashMap::new();
    tasks::for_each_process(kernel, warnings, |task, pid, warnings| {
        if !wanted.contains(&pid) {
            return;
        }
        match mounts::task_mounts(kernel, &task) {
            Ok(Some(t)) => {
                found.insert(pid, t);
            }
            Ok(None) => warnings.push(format!("pid {pid}: no mount namespace (exiting)")),
            Err(e) => warnings.push(format!("pid {pid}: mount namespace unreadable: {e}")),
        }
    })?;
    let mut out: Vec<Seen> = Vec::new();
    for pid in wanted {
        let Some(task) = found.get(&pid).copied() else {
            warnings.push(format!("pid {pid}: no such process with a mount namespace"));
            continue;
        };
        if out.iter().any(|s| s.task.ns == task.ns) {
            continue;
        }
        match mounts::read_namespace(kernel, task.ns) {
            Ok(ns) => out.push(Seen {
                pid,
                inum: ns.inum,
                task,
            }),
            Err(e) => warnings.push(format!("pid {pid}: mount namespace at {:#x}: {e}", task.ns)),
        }
    }
    Ok(out)
}

/// Whether a walk at `path` can lead to rows under the `--path` prefix (it is under it, or above it).
fn relevant(path: &str, prefix: Option<&str>) -> bool {
    let Some(p) = prefix else { return true };
    let p = p.trim_end_matches('/');
    let under = |a: &str, b: &str| a == b || b.is_empty() || a.strip_prefix(b).is_some_and(|r| r.starts_with('/'));
    under(path, p) || under(p, path.trim_end_matches('/'))
}

/// Whether `path` is to be listed under the `--path` prefix.
fn listed(path: &str, prefix: Option<&str>) -> bool {
    let Some(p) = prefix else { return true };
    let p = p.trim_end_matches('/');
    p.is_empty() || path == p || path.strip_prefix(p).is_some_and(|r| r.starts_with('/'))
}

fn join(dir: &str, name: &str) -> String {
    if dir.ends_with('/') {
        format!("{dir}{name}")
    } else {
        format!("{dir}/{name}")
    }
}

impl Lister<'_, '_> {
    /// Walk every mount of `seen`'s namespace that its process sees.
    fn walk_namespace(&mut self, seen: &Seen) {
        let (kernel, options) = (self.kernel, self.options);
        let label = format!("mount namespace {}", seen.inum);
        let walk = match mounts::namespace_mounts(kernel, seen.task.ns) {
            Ok(w) => w,
            Err(e) => {
                self.warnings.push(format!("{label}: mounts unreadable: {e}"));
                return;
            }
        };
        if let Some(p) = walk.problem {
            self.warnings.push(format!("{label}: {p}"));
        }
        let mut list: Vec<Mount> = Vec::new();
        for addr in walk.items {
            match mounts::read_mount(kernel, addr) {
                Ok(m) => list.push(m),
                Err(e) => self.warnings.push(format!("{label}: mount at {addr:#x}: {e}")),
            }
        }
        // Dentries another mount of the namespace sits on: (mount, dentry) is covered by a child mount.
        let covered: HashSet<(u64, u64)> = list
            .iter()
            .filter(|m| m.parent != m.addr)
            .map(|m| (m.parent, m.mountpoint))
            .collect();
        for m in &list {
            if !options.mounts.is_empty() && !options.mounts.contains(&m.id) {
                continue;
            }
            if covered.contains(&(m.addr, m.root_dentry)) {
                continue; // another mount sits on this one's root: nothing of it is seen
            }
            let path = match self.resolver.resolve(m.vfsmount, m.root_dentry, seen.task.root) {
                Ok(r) if r.reach == Reach::Root => r.path,
                _ => continue, // outside the process's root: the namespace's processes do not see it
            };
            if !relevant(&path, options.path.as_deref()) {
                continue;
            }
            self.walk_mount(seen, m, path, &covered);
        }
    }

    /// Walk one mount's tree from its root, seen at `path`, leaving the dentries in `covered` to the
    /// mounts on them.
    fn walk_mount(&mut self, seen: &Seen, mount: &Mount, path: String, covered: &HashSet<(u64, u64)>) {
        let (kernel, options) = (self.kernel, self.options);
        let prefix = options.path.as_deref();
        let mut visited: HashSet<u64> = HashSet::new();
        let label = format!("mount {} ({path})", mount.id);
        let mut stack: Vec<(u64, String)> = vec![(mount.root_dentry, path)];
        let mut problems = 0usize;
        let mut first_problem = None;
        while let Some((dentry, path)) = stack.pop() {
            if self.budget == 0 {
                return;
            }
            self.budget -= 1;
            if !visited.insert(dentry) {
                problems += 1;
                first_problem.get_or_insert_with(|| format!("dentry {dentry:#x} met twice (a cycle)"));
                continue;
            }
            let d = match dentries::read_dentry(kernel, dentry) {
                Ok(d) => d,
                Err(e) => {
                    problems += 1;
                    first_problem.get_or_insert_with(|| format!("{path}: {e}"));
                    continue;
                }
            };
            let row = (d.inode != 0 || options.negative) && listed(&path, prefix);
            let is_dir = if d.inode == 0 {
                if row {
                    self.rows.push(negative_row(seen, mount, &path, dentry));
                }
                false
            } else {
                match inodes::read_inode(kernel, d.inode) {
                    Ok(inode) => {
                        let dir = file_type_of_mode(inode.mode) == "dir";
                        if row {
                            let place = Place {
                                mount_id: Some(mount.id),
                                path: path.clone(),
                                deleted: false,
                                dentry: Some(dentry),
                            };
                            let row = self.file_row(seen, place, &inode);
                            self.rows.push(row);
                        }
                        dir
                    }
                    Err(e) => {
                        problems += 1;
                        first_problem.get_or_insert_with(|| format!("{path}: inode: {e}"));
                        true
                    }
                }
            };
            if !is_dir {
                continue;
            }
            let children = match dentries::children(kernel, dentry) {
                Ok(c) => c,
                Err(e) => {
                    problems += 1;
                    first_problem.get_or_insert_with(|| format!("{path}: children: {e}"));
                    continue;
                }
            };
            if let Some(p) = children.problem {
                problems += 1;
                first_problem.get_or_insert_with(|| format!("{path}: {p}"));
            }
            let mut next = Vec::new();
            for child in children.items {
                if covered.contains(&(mount.addr, child)) {
                    continue; // a mount point: its files are the mount's
                }
                let c = match dentries::read_dentry(kernel, child) {
                    Ok(c) if c.parent == dentry => c,
                    Ok(c) => {
                        // Not a child of this directory: a smeared or reused dentry, and the list may
                        // have lost its rest with it.
                        problems += 1;
                        first_problem.get_or_insert_with(|| {
                            format!("{path}: child {child:#x} names {:#x} as its parent", c.parent)
                        });
                        continue;
                    }
                    Err(e) => {
                        problems += 1;
                        first_problem.get_or_insert_with(|| format!("{path}: child {child:#x}: {e}"));
                        continue;
                    }
                };
                // An unlinked dentry waits for its last user (listed from the descriptor tables); a cursor
                // or a name that does not read is no file.
                let Some(name) = c.name.filter(|_| !c.unhashed) else {
                    continue;
                };
                if c.inode == 0 && !options.negative {
                    continue;
                }
                let child_path = join(&path, &name);
                if relevant(&child_path, prefix) {
                    next.push((child, child_path));
                }
            }
            // Depth first, children in the kernel's order.
            stack.extend(next.into_iter().rev());
        }
        if let Some(p) = first_problem {
            self.warnings.push(format!(
                "{label}: {problems} dentries unreadable or looping, first: {p}"
            ));
        }
    }
}

fn negative_row(seen: &Seen, mount: &Mount, path: &str, dentry: u64) -> FileRow {
    FileRow {
        mnt_ns: seen.inum,
        pid: seen.pid,
        mount_id: Some(mount.id),
        path: path.to_string(),
        link_target: None,
        inode: None,
        inode_addr: None,
        file_type: None,
        mode: None,
        uid: None,
        gid: None,
        size: None,
        nlink: None,
        atime: None,
        mtime: None,
        ctime: None,
        cached_pages: None,
        total_pages: None,
        deleted: false,
        dentry_addr: Some(dentry),
    }
}

impl Lister<'_, '_> {
    /// The row of a file found at `place`.
    fn file_row(&self, seen: &Seen, place: Place, inode: &Inode) -> FileRow {
        file_row(self.kernel, &self.resolver, seen, place, inode)
    }

    /// Files open in the namespaces' processes that no directory holds any more.
    fn open_unlinked(&mut self, seen: &[Seen]) {
        let (kernel, options) = (self.kernel, self.options);
        if !options.mounts.is_empty() {
            return;
        }
        let by_ns: HashMap<u64, &Seen> = seen.iter().map(|s| (s.task.ns, s)).collect();
        let mut users: HashMap<u32, &Seen> = HashMap::new();
        let mut ignored = Vec::new();
        let _ = tasks::for_each_process(kernel, &mut ignored, |task, pid, _| {
            if let Ok(Some(t)) = mounts::task_mounts(kernel, &task) {
                if let Some(s) = by_ns.get(&t.ns) {
                    users.insert(pid, s);
                }
            }
        });
        let mut pids: Vec<u32> = users.keys().copied().collect();
        pids.sort_unstable();
        let open = match lsof::lsof(kernel, &lsof::Options { pids }) {
            Ok(a) => a.rows,
            Err(e) => {
                self.warnings.push(format!("open files unreadable: {e}"));
                return;
            }
        };
        let mut listed: HashSet<u64> = self.rows.iter().filter_map(|r| r.inode_addr).collect();
        for f in open {
            let (Some(addr), Some(path), Some(seen)) = (f.inode_addr, f.path.as_ref(), users.get(&f.pid)) else {
                continue;
            };
            let unlinked = f.deleted == Some(true) || path.starts_with("/memfd:");
            if !unlinked || !listed.insert(addr) || !listed_path(path, options) {
                continue;
            }
            match inodes::read_inode(kernel, addr) {
                Ok(inode) => {
                    let place = Place {
                        mount_id: None,
                        path: path.clone(),
                        deleted: true,
                        dentry: None,
                    };
                    let row = self.file_row(seen, place, &inode);
                    self.rows.push(row);
                }
                Err(e) => self.warnings.push(format!("pid {} fd {}: inode: {e}", f.pid, f.fd)),
            }
        }
    }
}

/// The row of a file found at `place`.
fn file_row(kernel: &Kernel, resolver: &PathResolver<'_>, seen: &Seen, place: Place, inode: &Inode) -> FileRow {
    let [atime, mtime, ctime] = inode.times.map(|t| t.map(iso8601_ns));
    let file_type = file_type_of_mode(inode.mode);
    FileRow {
        mnt_ns: seen.inum,
        pid: seen.pid,
        mount_id: place.mount_id,
        path: place.path,
        link_target: (file_type == "symlink").then(|| link_target(kernel, inode)).flatten(),
        inode: Some(inode.ino),
        inode_addr: Some(inode.addr),
        file_type: Some(file_type.to_string()),
        mode: Some(mode_string(inode.mode)),
        uid: Some(inode.uid),
        gid: Some(inode.gid),
        size: Some(inode.size),
        nlink: Some(inode.nlink),
        atime,
        mtime,
        ctime,
        cached_pages: if file_type == "regular" {
            data_inode(kernel, resolver, inode).cached_pages
        } else {
            inode.cached_pages
        },
        total_pages: Some(inode.total_pages()),
        deleted: place.deleted,
        dentry_addr: place.dentry,
    }
}

/// The inode whose page cache holds a regular file's bytes: the real inode behind an overlay inode, else
/// the inode itself.
fn data_inode(kernel: &Kernel, resolver: &PathResolver<'_>, inode: &Inode) -> Inode {
    let is_overlay = |sb: u64| resolver.fs_type(sb).as_deref() == Some("overlay");
    if is_overlay(inode.sb) {
        if let Some(real) = overlay::real_inode(kernel, inode, is_overlay) {
            return real;
        }
    }
    inode.clone()
}

/// A symlink's target: kept with the inode (fast symlinks) or in its first cached page.
fn link_target(kernel: &Kernel, inode: &Inode) -> Option<String> {
    if let Some(t) = inodes::fast_link_target(kernel, inode) {
        return Some(t);
    }
    let size = u64::try_from(inode.size)
        .ok()
        .filter(|&s| s > 0 && s <= inodes::MAX_LINK as u64)?;
    let (bytes, back) = read_back(kernel, inode.mapping, size).ok()?;
    back.holes
        .is_empty()
        .then(|| String::from_utf8_lossy(&bytes).into_owned())
}

fn listed_path(path: &str, options: &Options) -> bool {
    listed(path.strip_suffix(" (deleted)").unwrap_or(path), options.path.as_deref())
}

/// The first `size` bytes of the file cached at `mapping`, holes as zeros.
pub fn read_back(kernel: &Kernel, mapping: u64, size: u64) -> Result<(Vec<u8>, ReadBack), KernelError> {
    let reader = FileReader::new(kernel)?;
    let mut bytes = Vec::with_capacity(size.min(1 << 26) as usize);
    let back = reader
        .read(mapping, size, &mut |b: &[u8]| {
            bytes.extend_from_slice(b);
            Ok::<(), std::convert::Infallible>(())
        })?
        .unwrap_or_else(|never| match never {});
    Ok((bytes, back))
}

/// What to read back: a path in the namespace, an inode, or an open descriptor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A path as the chosen process's namespace sees it.
    Path(String),
    /// The inode at this address (its row's path is its first alias's within its file system).
    Inode(u64),
    /// The file open as descriptor `fd` of process `pid`.
    Fd(u32, u32),
}

/// A cached file read back: its row and its bytes (holes zero, named in the warnings).
#[derive(Debug, Clone)]
pub struct Extracted {
    /// The file's row.
    pub row: FileRow,
    /// Its bytes, cut to its size.
    pub bytes: Vec<u8>,
    /// What could not be read.
    pub warnings: Vec<String>,
}

/// Read back the file `target` names (paths seen from `pid`'s namespace, pid 1's when `None`).
pub fn extract(kernel: &Kernel, pid: Option<u32>, target: &Target) -> Result<Extracted, KernelError> {
    let mut warnings = Vec::new();
    let resolver = PathResolver::new(kernel);
    let pids: Vec<u32> = pid.into_iter().collect();
    let (row, inode) = match target {
        Target::Path(path) => {
            let options = Options {
                pids,
                path: Some(path.clone()),
                ..Options::default()
            };
            let found = files(kernel, &options)?;
            warnings.extend(found.warnings);
            let row = found
                .rows
                .into_iter()
                .find(|r| r.path == *path)
                .ok_or_else(|| KernelError::Layout(format!("{path}: not in the dentry cache")))?;
            let addr = row
                .inode_addr
                .ok_or_else(|| KernelError::Layout(format!("{path}: no inode")))?;
            (row, inodes::read_inode(kernel, addr)?)
        }
        Target::Inode(addr) => {
            let inode = inodes::read_inode(kernel, *addr)?;
            // Named by its first alias, as a path within its file system (no mount to start from).
            let name = dentries::aliases(kernel, *addr)
                .ok()
                .and_then(|a| a.items.first().copied())
                .and_then(|d| resolver.root_in_fs(d).ok());
            let seen = namespaces(kernel, &pids, &mut warnings)?;
            let seen = seen
                .first()
                .ok_or_else(|| KernelError::Layout("no process to see the file from".into()))?;
            let place = Place {
                mount_id: None,
                path: name.unwrap_or_else(|| format!("inode {addr:#x}")),
                deleted: false,
                dentry: None,
            };
            let row = file_row(kernel, &resolver, seen, place, &inode);
            (row, inode)
        }
        Target::Fd(pid, fd) => {
            let open = lsof::lsof(kernel, &lsof::Options { pids: vec![*pid] })?;
            let f = open
                .rows
                .into_iter()
                .find(|f| f.fd == *fd)
                .ok_or_else(|| KernelError::Layout(format!("pid {pid} has no descriptor {fd}")))?;
            let addr = f
                .inode_addr
                .ok_or_else(|| KernelError::Layout(format!("pid {pid} fd {fd}: no inode")))?;
            let inode = inodes::read_inode(kernel, addr)?;
            let seen = namespaces(kernel, &[*pid], &mut warnings)?;
            let seen = seen
                .first()
                .ok_or_else(|| KernelError::Layout(format!("pid {pid}: no mount namespace")))?;
            let path = f.path.unwrap_or_else(|| format!("pid {pid} fd {fd}"));
            let place = Place {
                mount_id: None,
                path,
                deleted: f.deleted == Some(true),
                dentry: None,
            };
            let row = file_row(kernel, &resolver, seen, place, &inode);
            (row, inode)
        }
    };
    if file_type_of_mode(inode.mode) != "regular" {
        warnings.push(format!("{}: not a regular file", row.path));
    }
    let size = u64::try_from(inode.size).unwrap_or(0);
    let (bytes, back) = read_back(kernel, data_inode(kernel, &resolver, &inode).mapping, size)?;
    warnings.extend(back.problems.iter().map(|p| format!("{}: {p}", row.path)));
    if !back.holes.is_empty() {
        let ranges: Vec<String> = back.holes.iter().map(|(a, b)| format!("{a}-{b}")).collect();
        warnings.push(format!(
            "{}: {} of {size} bytes not in memory, written as zeros (byte ranges {})",
            row.path,
            back.holes.iter().map(|(a, b)| b - a).sum::<u64>(),
            ranges.join(", ")
        ));
    }
    Ok(Extracted { row, bytes, warnings })
}

/// A cached regular file to recover: where its bytes are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recoverable {
    /// Its path (a row's).
    pub path: String,
    /// The `address_space` holding its pages (the real inode's, for an overlay file).
    pub mapping: u64,
    /// Its size.
    pub size: u64,
    /// Pages cached, of the pages its size spans.
    pub cached_pages: u64,
    /// See `cached_pages`.
    pub total_pages: u64,
}

/// The regular files among `rows` (of [`files`]) with at least one page cached, each path once.
pub fn recoverable(kernel: &Kernel, rows: &[FileRow]) -> Vec<Recoverable> {
    let resolver = PathResolver::new(kernel);
    let mut seen = HashSet::new();
    rows.iter()
        .filter(|r| r.file_type.as_deref() == Some("regular") && r.cached_pages.unwrap_or(0) > 0)
        .filter(|r| seen.insert(r.path.clone()))
        .filter_map(|r| {
            let inode = inodes::read_inode(kernel, r.inode_addr?).ok()?;
            let data = data_inode(kernel, &resolver, &inode);
            Some(Recoverable {
                path: r.path.clone(),
                mapping: data.mapping,
                size: u64::try_from(inode.size).ok()?,
                cached_pages: r.cached_pages?,
                total_pages: r.total_pages?,
            })
        })
        .collect()
}

/// One line of a recovery's `manifest.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Recovered {
    /// The file's path in the namespace.
    pub path: String,
    /// Where it was written, under the recovery's directory.
    pub written_as: String,
    /// Bytes written (its size).
    pub size: u64,
    /// Pages cached, of the pages its size spans.
    pub cached_pages: u64,
    /// See `cached_pages`.
    pub total_pages: u64,
    /// Bytes not in memory, written as zeros.
    pub missing_bytes: u64,
    /// SHA-256 of what was written.
    pub sha256: String,
}

/// Write each of `files` to `sink` as `files/PATH`, read from its page cache one page at a time, then
/// `manifest.json` (a [`Recovered`] per file, with the bytes that were not in memory); the warnings name
/// what looked wrong (a folio filed under another index, a broken tree).
pub fn recover(kernel: &Kernel, files: &[Recoverable], sink: &mut dyn FileSink) -> Result<Vec<String>, String> {
    use sha2::{Digest, Sha256};
    let reader = FileReader::new(kernel).map_err(|e| e.to_string())?;
    let mut warnings = Vec::new();
    let mut manifest = Vec::new();
    for f in files {
        let name = format!("files/{}", f.path.trim_start_matches('/'));
        sink.start(&name, f.size)?;
        let mut hash = Sha256::new();
        let back = reader
            .read(f.mapping, f.size, &mut |bytes: &[u8]| {
                hash.update(bytes);
                sink.write(bytes)
            })
            .map_err(|e| format!("{}: {e}", f.path))??;
        // Pages not in memory are a file's normal state, not a problem: the manifest counts them.
        let missing: u64 = back.holes.iter().map(|(a, b)| b - a).sum();
        warnings.extend(back.problems.iter().map(|p| format!("{}: {p}", f.path)));
        manifest.push(Recovered {
            path: f.path.clone(),
            written_as: name,
            size: back.written,
            cached_pages: f.cached_pages,
            total_pages: f.total_pages,
            missing_bytes: missing,
            sha256: format!("{:x}", hash.finalize()),
        });
    }
    let text = serde_json::to_string_pretty(&manifest).map_err(|e| e.to_string())? + "\n";
    sink.start("manifest.json", text.len() as u64)?;
    sink.write(text.as_bytes())?;
    Ok(warnings)
}

/// Rows in the Sleuth Kit's bodyfile format (3.x, what `mactime` reads): one line per file,
/// `MD5|name|inode|mode|UID|GID|size|atime|mtime|ctime|crtime`, times in whole seconds since the epoch (0
/// where unknown; the kernel keeps no birth time in the inode), a symlink named `path -> target` as `fls`
/// names it. Negative dentries have no file and no line; `|` in a name is escaped as `\|`.
pub fn bodyfile(rows: &[serde_json::Value]) -> String {
    let text = |r: &serde_json::Value, k: &str| r.get(k).and_then(|v| v.as_str()).map(str::to_string);
    let number = |r: &serde_json::Value, k: &str| r.get(k).and_then(serde_json::Value::as_i64);
    let mut out = String::new();
    for r in rows {
        let (Some(path), Some(inode)) = (text(r, "path"), number(r, "inode")) else {
            continue;
        };
        let mut name = path.replace('|', "\\|");
        if let Some(target) = text(r, "link_target") {
            name = format!("{name} -> {}", target.replace('|', "\\|"));
        }
        let time = |k: &str| text(r, k).as_deref().and_then(epoch_seconds).unwrap_or(0);
        let id = |k: &str| number(r, k).map_or_else(|| "0".to_string(), |v| v.to_string());
        out.push_str(&format!(
            "0|{name}|{inode}|{}|{}|{}|{}|{}|{}|{}|0\n",
            text(r, "mode").unwrap_or_default(),
            id("uid"),
            id("gid"),
            id("size"),
            time("atime"),
            time("mtime"),
            time("ctime"),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodyfile_lines() {
        let rows = vec![
            serde_json::json!({"path": "/etc/motd", "inode": 17, "mode": "-rw-r--r--", "uid": 0, "gid": 0,
                "size": 323, "atime": "2026-11-21T21:05:03.5Z", "mtime": "1970-01-01T00:00:10.000000000Z",
                "ctime": null, "link_target": null}),
            serde_json::json!({"path": "/bin", "inode": 12, "mode": "lrwxrwxrwx", "uid": 0, "gid": 0,
                "size": 7, "link_target": "usr/bin"}),
            serde_json::json!({"path": "/etc/nope", "inode": null}),
        ];
        assert_eq!(
            bodyfile(&rows),
            "0|/etc/motd|17|-rw-r--r--|0|0|323|1795295103|10|0|0\n0|/bin -> usr/bin|12|lrwxrwxrwx|0|0|7|0|0|0|0\n"
        );
    }

    #[test]
    fn path_prefixes() {
        assert!(listed("/etc/motd", Some("/etc")));
        assert!(listed("/etc", Some("/etc/")));
        assert!(!listed("/etcetera", Some("/etc")));
        assert!(relevant("/", Some("/etc/ssh")));
        assert!(relevant("/etc", Some("/etc/ssh")));
        assert!(!relevant("/usr", Some("/etc/ssh")));
        assert!(relevant("/anything", Some("/")));
    }
}
