//! `mounts`: the mounts of every mount namespace, as `/proc/PID/mountinfo` shows them to a process of
//! that namespace, or every mount of the global mount hash (`--all`).
//!
//! Each namespace is labelled by its inode and the first process on the task list that uses it (or the one
//! `--pid` names); paths are seen from that process's root through the shared resolver, as mountinfo
//! prints them, and a mount outside that root (which mountinfo leaves out) has `path` null. Namespaces the
//! kernel's index holds that no process uses have `pid` null and `in_use` false, their paths seen from the
//! namespace's root. The walks are [`kernel::mounts`](crate::kernel::mounts)'s.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use super::Analysis;
use crate::kernel::mounts::{self, Mount};
use crate::kernel::paths::{PathResolver, Reach};
use crate::kernel::{tasks, Kernel, KernelError};

/// One mount.
#[derive(Debug, Clone, Serialize)]
pub struct MountRow {
    /// Inode of the mount namespace (`/proc/PID/ns/mnt`); null for a mount of no namespace (`--all`).
    pub mnt_ns: Option<u64>,
    /// A process that uses the namespace (the one the paths are seen from); null if none does.
    pub pid: Option<u32>,
    /// Whether a process uses the namespace.
    pub in_use: bool,
    /// `mnt_id` (mountinfo's 1st field).
    pub mount_id: i64,
    /// The parent mount's id (2nd field; the mount's own id for a namespace's root).
    pub parent_id: Option<i64>,
    /// The device name the mount was made from (`/dev/vda`, `overlay`, `none` when the kernel has none).
    pub devname: Option<String>,
    /// The mount point as the process sees it (5th field); null when outside its root.
    pub path: Option<String>,
    /// The mount point as seen from the initial namespace's root (pid 1's), where reachable.
    pub absolute_path: Option<String>,
    /// The mount's root within its file system (4th field: `/`, `/etc`, `net:[4026532230]`).
    pub root: Option<String>,
    /// File system type (`ext4`, `overlay`, `fuse.sshfs`).
    pub fstype: Option<String>,
    /// `ro` or `rw`: the mount's own access.
    pub access: String,
    /// The mount options as mountinfo prints them (6th field: `rw,nosuid,nodev,relatime`).
    pub flags: String,
    /// The superblock's `ro`/`rw` and generic flags (`sync`, `dirsync`, `mand`, `lazytime`); the file
    /// system's own options (`errors=`, `size=`, `lowerdir=`) are not decoded.
    pub super_options: Option<String>,
    /// `MAJOR:MINOR` of the superblock's device (3rd field).
    pub major_minor: Option<String>,
    /// Optional fields: `shared:N`, `master:N`, `propagate_from:N`, `unbindable`; empty for a private mount.
    pub propagation: Vec<String>,
    /// Address of the `struct mount`.
    #[serde(with = "crate::hex")]
    pub addr: u64,
}

/// Options of [`mounts`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// Only the namespaces of these processes; empty: every namespace.
    pub pids: Vec<u32>,
    /// Every mount of the global mount hash instead of each namespace's list.
    pub all: bool,
    /// Order by mount id instead of the namespace's own order.
    pub sort: bool,
}

/// A `struct path` as `(vfsmount, dentry)`.
type PathPair = (u64, u64);

/// A namespace to list, with the process it is seen from.
#[derive(Debug, Clone, Copy)]
struct Seen {
    ns: mounts::Namespace,
    pid: Option<u32>,
    /// The root paths are seen from.
    root: Option<PathPair>,
}

/// The mounts of every mount namespace (or of those `options.pids` use), or of the mount hash.
pub fn mounts(kernel: &Kernel, options: &Options) -> Result<Analysis<MountRow>, KernelError> {
    let mut warnings = Vec::new();
    let init_ns = init_namespace(kernel).ok();
    // Each process's namespace and root, in task-list order.
    let mut users: Vec<(u32, u64, Option<PathPair>)> = Vec::new();
    tasks::for_each_process(kernel, &mut warnings, |task, pid, warnings| {
        match mounts::task_mounts(kernel, &task) {
            Ok(Some(t)) => users.push((pid, t.ns, t.root)),
            Ok(None) => {}
            Err(e) => warnings.push(format!("pid {pid}: mount namespace unreadable: {e}")),
        }
    })?;
    let host_root = users.iter().find(|u| Some(u.1) == init_ns).and_then(|u| u.2);
    let mut order: Vec<Seen> = Vec::new();
    let mut known: HashMap<u64, usize> = HashMap::new();
    for &(pid, ns, root) in &users {
        if known.contains_key(&ns) || (!options.pids.is_empty() && !options.pids.contains(&pid)) {
            continue;
        }
        match mounts::read_namespace(kernel, ns) {
            Ok(n) => {
                known.insert(ns, order.len());
                order.push(Seen {
                    ns: n,
                    pid: Some(pid),
                    root,
                });
            }
            Err(e) => warnings.push(format!("pid {pid}: mount namespace at {ns:#x}: {e}")),
        }
    }
    for pid in &options.pids {
        if !users.iter().any(|u| u.0 == *pid) {
            warnings.push(format!("pid {pid}: no such process with a mount namespace"));
        }
    }
    // The mount hash's mounts, read once where needed.
    let mut hashed: Option<Vec<u64>> = None;
    match mounts::indexed_namespaces(kernel) {
        Ok(Some(walk)) => {
            if let Some(p) = walk.problem {
                warnings.push(format!("mount namespace index: {p}"));
            }
            // Every namespace a process uses is on the index (added when made, removed when freed).
            let indexed: HashSet<u64> = walk.items.iter().copied().collect();
            for seen in order.iter().filter(|s| !indexed.contains(&s.ns.addr)) {
                warnings.push(format!(
                    "mount namespace {} (used by pid {}) is not on the kernel's namespace index",
                    seen.ns.inum,
                    seen.pid.unwrap_or_default()
                ));
            }
            for ns in walk.items.into_iter().filter(|_| options.pids.is_empty()) {
                if known.contains_key(&ns) {
                    continue;
                }
                match mounts::read_namespace(kernel, ns) {
                    Ok(n) => {
                        known.insert(ns, order.len());
                        order.push(Seen {
                            ns: n,
                            pid: None,
                            root: None,
                        });
                    }
                    Err(e) => warnings.push(format!("mount namespace at {ns:#x} (index): {e}")),
                }
            }
        }
        Ok(None) if options.pids.is_empty() => {
            // No index: a namespace no process uses (kept by a bind mount of its nsfs file or a
            // descriptor) still has its mounts on the mount hash, each naming it.
            let hashed = hashed.get_or_insert_with(|| mounts::hashed_mounts(kernel).map(|h| h.0).unwrap_or_default());
            for &addr in hashed.iter() {
                let Ok(m) = mounts::read_mount(kernel, addr) else {
                    continue;
                };
                if m.ns == 0 || known.contains_key(&m.ns) {
                    continue;
                }
                match mounts::read_namespace(kernel, m.ns) {
                    Ok(n) => {
                        known.insert(m.ns, order.len());
                        order.push(Seen {
                            ns: n,
                            pid: None,
                            root: None,
                        });
                    }
                    Err(e) => warnings.push(format!("mount {} names mount namespace {:#x}: {e}", m.id, m.ns)),
                }
            }
        }
        Ok(None) => {}
        Err(e) => warnings.push(format!("mount namespace index unreadable: {e}")),
    }
    // An unused namespace is seen from its own root mount.
    for seen in order.iter_mut().filter(|s| s.root.is_none()) {
        seen.root = mounts::read_mount(kernel, seen.ns.root)
            .ok()
            .map(|m| (m.vfsmount, m.root_dentry));
    }
    let in_use: HashSet<u64> = users.iter().map(|u| u.1).collect();
    let resolver = PathResolver::new(kernel);
    let row_of = |m: &Mount, seen: Option<&Seen>, warnings: &mut Vec<String>| -> MountRow {
        let label = seen.map_or_else(
            || "no namespace".to_string(),
            |s| format!("mount namespace {}", s.ns.inum),
        );
        let path = |root: Option<PathPair>, no_root_ok: bool| match resolver.resolve(m.vfsmount, m.root_dentry, root) {
            Ok(r) if r.reach == Reach::Root || (no_root_ok && r.reach == Reach::NamespaceRoot) => {
                Some(r.path.strip_suffix(" (deleted)").map(str::to_string).unwrap_or(r.path))
            }
            Ok(_) => None,
            Err(_) => None,
        };
        let root = seen.and_then(|s| s.root);
        let sb = match mounts::read_super(kernel, m.sb) {
            Ok(s) => Some(s),
            Err(e) => {
                warnings.push(format!("{label}: mount {}: superblock: {e}", m.id));
                None
            }
        };
        let fs_root = match resolver.root_in_fs(m.root_dentry) {
            Ok(r) => Some(r),
            Err(e) => {
                warnings.push(format!("{label}: mount {}: root: {e}", m.id));
                None
            }
        };
        MountRow {
            mnt_ns: seen.map(|s| s.ns.inum),
            pid: seen.and_then(|s| s.pid),
            in_use: seen.is_some_and(|s| in_use.contains(&s.ns.addr)),
            mount_id: m.id,
            parent_id: m.parent_id,
            devname: m.devname.clone(),
            path: path(root, root.is_none()),
            absolute_path: host_root.and_then(|h| path(Some(h), false)),
            root: fs_root,
            fstype: sb.as_ref().and_then(|s| s.fstype.clone()),
            access: m.access().to_string(),
            flags: m.options(),
            super_options: sb.as_ref().map(|s| s.options.clone()),
            major_minor: sb.map(|s| s.major_minor),
            propagation: {
                let mut p = m.propagation();
                // `propagate_from:N` after `master:N`, where a nearer peer group under the root feeds it.
                if let (Some(Some(master)), Some(root)) = (m.master, root) {
                    let reach = |peer: &Mount| {
                        resolver
                            .resolve(peer.vfsmount, peer.root_dentry, Some(root))
                            .is_ok_and(|r| r.reach == Reach::Root)
                    };
                    match mounts::dominating_group(kernel, m, reach) {
                        Some(dom) if dom != 0 && dom != master => {
                            let at = p
                                .iter()
                                .position(|x| x.starts_with("master:"))
                                .map_or(p.len(), |i| i + 1);
                            p.insert(at, format!("propagate_from:{dom}"));
                        }
                        _ => {}
                    }
                }
                p
            },
            addr: m.addr,
        }
    };
    let mut rows = Vec::new();
    if options.all {
        let (mut hashed, problems) = mounts::hashed_mounts(kernel)?;
        warnings.extend(problems);
        let mut listed: HashSet<u64> = hashed.iter().copied().collect();
        hashed.extend(order.iter().map(|s| s.ns.root).filter(|r| listed.insert(*r)));
        for addr in hashed {
            match mounts::read_mount(kernel, addr) {
                Ok(m) => {
                    let seen = known.get(&m.ns).map(|&i| order[i]).or_else(|| {
                        let ns = mounts::read_namespace(kernel, m.ns).ok()?;
                        Some(Seen {
                            ns,
                            pid: None,
                            root: None,
                        })
                    });
                    rows.push(row_of(&m, seen.as_ref(), &mut warnings));
                }
                Err(e) => warnings.push(format!("mount hash: mount at {addr:#x}: {e}")),
            }
        }
    } else {
        for seen in &order {
            let walk = match mounts::namespace_mounts(kernel, seen.ns.addr) {
                Ok(w) => w,
                Err(e) => {
                    warnings.push(format!("mount namespace {}: mounts unreadable: {e}", seen.ns.inum));
                    continue;
                }
            };
            let mut items = walk.items;
            if let Some(p) = walk.problem {
                // What the broken walk missed may still be on the mount hash (every attached mount is).
                let found: HashSet<u64> = items.iter().copied().collect();
                let hashed =
                    hashed.get_or_insert_with(|| mounts::hashed_mounts(kernel).map(|h| h.0).unwrap_or_default());
                // The namespace's root is not hashed: it is named by the namespace itself.
                let missed: Vec<u64> = std::iter::once(seen.ns.root)
                    .chain(hashed.iter().copied())
                    .filter(|a| {
                        !found.contains(a) && mounts::read_mount(kernel, *a).is_ok_and(|m| m.ns == seen.ns.addr)
                    })
                    .collect();
                warnings.push(format!(
                    "mount namespace {}: {p}; {} more mounts of it found on the mount hash (listed last)",
                    seen.ns.inum,
                    missed.len()
                ));
                items.extend(missed);
            }
            for addr in items {
                match mounts::read_mount(kernel, addr) {
                    Ok(m) => rows.push(row_of(&m, Some(seen), &mut warnings)),
                    Err(e) => warnings.push(format!("mount namespace {}: mount at {addr:#x}: {e}", seen.ns.inum)),
                }
            }
        }
    }
    if options.sort {
        rows.sort_by_key(|r| r.mount_id);
    }
    Ok(Analysis { rows, warnings })
}

/// The initial mount namespace: `init_task.nsproxy->mnt_ns`.
fn init_namespace(kernel: &Kernel) -> Result<u64, KernelError> {
    let init = kernel.object("task_struct", kernel.placement().init_task)?;
    let nsproxy = init
        .deref("nsproxy")?
        .ok_or_else(|| KernelError::Layout("init_task has no nsproxy".into()))?;
    nsproxy.pointer("mnt_ns")
}
