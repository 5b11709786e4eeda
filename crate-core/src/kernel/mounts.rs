//! Mounts: each mount namespace's mounts, the index of every namespace, and the global mount hash, read as
//! fs/proc_namespace.c's `show_mountinfo()` prints them (`/proc/PID/mountinfo`).
//!
//! A `struct mount` embeds its `vfsmount` (`mnt`: `mnt_root`, `mnt_sb`, `mnt_flags`) and names its parent
//! (`mnt_parent`, itself for a namespace's root), the dentry it is mounted on (`mnt_mountpoint`), its
//! namespace (`mnt_ns`), its id (`mnt_id`), its peer group (`mnt_group_id`, set for a shared mount) and the
//! mount it receives propagation from (`mnt_master`). Which lists and trees hold them is
//! [`MountLayout`](super::layouts::MountLayout)'s choice; every walk is bounded and a broken link costs
//! the mounts past it, named in the walk's problem.

use super::layouts::{MountIdmap, MountPropagation, NsIndex, NsMounts};
use super::{Kernel, KernelError, ListWalk};

/// At most this many mounts are read from one namespace or from the mount hash (the kernel's default
/// `sysctl_mount_max` is 100000).
pub const MAX_MOUNTS: usize = 1 << 20;

/// At most this many mount namespaces are read from the namespace index.
pub const MAX_NAMESPACES: usize = 1 << 20;

/// The largest `m_hash_shift` taken as real (the hash is sized from memory: 2^16 to 2^20 buckets here).
const MAX_HASH_SHIFT: u64 = 26;

/// `vfsmount.mnt_flags` bits mountinfo prints as mount options (include/linux/mount.h), in its order.
const MOUNT_OPTIONS: [(u64, &str); 7] = [
    (0x01, "nosuid"),
    (0x02, "nodev"),
    (0x04, "noexec"),
    (0x08, "noatime"),
    (0x10, "nodiratime"),
    (0x20, "relatime"),
    (0x80, "nosymfollow"),
];

/// `MNT_READONLY`.
const MNT_READONLY: u64 = 0x40;
/// `MNT_SHARED` and `MNT_UNBINDABLE` in `mnt_flags` ([`MountPropagation::MntFlags`]).
const MNT_SHARED: u64 = 0x1000;
const MNT_UNBINDABLE: u64 = 0x2000;
/// `T_SHARED` and `T_UNBINDABLE` in `mnt_t_flags` ([`MountPropagation::TFlags`]).
const T_SHARED: u64 = 1;
const T_UNBINDABLE: u64 = 2;

/// `super_block.s_flags` bits `show_sb_opts()` prints after `ro`/`rw` (`SB_RDONLY` is bit 0).
const SB_RDONLY: u64 = 1;
const SB_OPTIONS: [(u64, &str); 4] = [(16, "sync"), (128, "dirsync"), (64, "mand"), (1 << 25, "lazytime")];

/// One `struct mount` as mountinfo sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// Address of the `struct mount`.
    pub addr: u64,
    /// Address of its `vfsmount` (`mount.mnt`), what a `struct path` names.
    pub vfsmount: u64,
    /// `mnt_id`.
    pub id: i64,
    /// The parent mount's address (itself for a namespace's root).
    pub parent: u64,
    /// The parent's `mnt_id`, where readable.
    pub parent_id: Option<i64>,
    /// `mnt.mnt_root`: the dentry of the mounted tree's top.
    pub root_dentry: u64,
    /// `mnt_mountpoint`: the dentry it is mounted on, in the parent.
    pub mountpoint: u64,
    /// `mnt.mnt_sb`.
    pub sb: u64,
    /// `mnt.mnt_flags`.
    pub flags: u64,
    /// `mnt_devname` (`none` when NULL, as mountinfo prints it); `None` when unreadable.
    pub devname: Option<String>,
    /// The `mnt_namespace` it belongs to (0 for a detached mount).
    pub ns: u64,
    /// `mnt_group_id` when the mount is shared.
    pub shared: Option<i64>,
    /// The master's `mnt_group_id` when the mount is a slave (`mnt_master` set); `Some(None)` when the
    /// master is unreadable.
    pub master: Option<Option<i64>>,
    /// The mount is unbindable.
    pub unbindable: bool,
    /// The mount is idmapped.
    pub idmapped: bool,
}

impl Mount {
    /// `ro` or `rw`, as the mount (not its superblock) is.
    pub fn access(&self) -> &'static str {
        if self.flags & MNT_READONLY != 0 {
            "ro"
        } else {
            "rw"
        }
    }

    /// mountinfo's 6th field: `rw,nosuid,nodev,relatime` (and `idmapped`).
    pub fn options(&self) -> String {
        let mut s = self.access().to_string();
        for (bit, name) in MOUNT_OPTIONS {
            if self.flags & bit != 0 {
                s.push(',');
                s.push_str(name);
            }
        }
        if self.idmapped {
            s.push_str(",idmapped");
        }
        s
    }

    /// mountinfo's optional fields: `shared:N`, `master:N`, `unbindable` (empty for a private mount).
    pub fn propagation(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(g) = self.shared {
            out.push(format!("shared:{g}"));
        }
        if let Some(m) = self.master {
            out.push(match m {
                Some(g) => format!("master:{g}"),
                None => "master:?".to_string(),
            });
        }
        if self.unbindable {
            out.push("unbindable".into());
        }
        out
    }
}

/// What a superblock shows in mountinfo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Super {
    /// `MAJOR:MINOR` of `s_dev`.
    pub major_minor: String,
    /// `s_type->name`, with `.s_subtype` when set (`fuse.sshfs`); `None` when unreadable.
    pub fstype: Option<String>,
    /// `ro`/`rw` and the flags `show_sb_opts()` prints (the file system's own options are not decoded).
    pub options: String,
}

/// Read the `struct mount` at `addr`.
pub fn read_mount(kernel: &Kernel, addr: u64) -> Result<Mount, KernelError> {
    let layout = kernel.layouts().mounts();
    let m = kernel.object("mount", addr)?;
    let mnt = m.member("mnt")?;
    let flags = mnt.u64("mnt_flags")? & 0xffff_ffff;
    let parent = m.pointer("mnt_parent")?;
    let parent_id = if parent == addr {
        Some(m.i64("mnt_id")?)
    } else {
        kernel.object("mount", parent).and_then(|p| p.i64("mnt_id")).ok()
    };
    let devname = match m.pointer("mnt_devname")? {
        0 => Some("none".to_string()),
        p => kernel.read_c_string(p, 4096).ok(),
    };
    let (shared, unbindable) = match layout.propagation {
        MountPropagation::MntFlags => (flags & MNT_SHARED != 0, flags & MNT_UNBINDABLE != 0),
        MountPropagation::TFlags => {
            let t = m.u64("mnt_t_flags")?;
            (t & T_SHARED != 0, t & T_UNBINDABLE != 0)
        }
    };
    let shared = if shared { Some(m.i64("mnt_group_id")?) } else { None };
    let master = match m.pointer("mnt_master")? {
        0 => None,
        p => Some(kernel.object("mount", p).and_then(|o| o.i64("mnt_group_id")).ok()),
    };
    let idmapped = match layout.idmap {
        MountIdmap::Idmap => {
            let nop = kernel.symbol_addr("nop_mnt_idmap").ok();
            nop.is_some_and(|n| mnt.pointer("mnt_idmap").is_ok_and(|p| p != n))
        }
        MountIdmap::Userns => {
            let init = kernel.symbol_addr("init_user_ns").ok();
            init.is_some_and(|n| mnt.pointer("mnt_userns").is_ok_and(|p| p != n))
        }
        MountIdmap::None => false,
    };
    Ok(Mount {
        addr,
        vfsmount: mnt.addr(),
        id: m.i64("mnt_id")?,
        parent,
        parent_id,
        root_dentry: mnt.pointer("mnt_root")?,
        mountpoint: m.pointer("mnt_mountpoint")?,
        sb: mnt.pointer("mnt_sb")?,
        flags,
        devname,
        ns: m.pointer("mnt_ns")?,
        shared,
        master,
        unbindable,
        idmapped,
    })
}

/// Read what mountinfo shows of the superblock at `sb`.
pub fn read_super(kernel: &Kernel, sb: u64) -> Result<Super, KernelError> {
    let s = kernel.object("super_block", sb)?;
    let dev = s.u64("s_dev")? & 0xffff_ffff;
    let s_flags = s.u64("s_flags")?;
    let mut options = if s_flags & SB_RDONLY != 0 { "ro" } else { "rw" }.to_string();
    for (bit, name) in SB_OPTIONS {
        if s_flags & bit != 0 {
            options.push(',');
            options.push_str(name);
        }
    }
    let fstype = (|| -> Result<Option<String>, KernelError> {
        let Some(t) = s.deref("s_type")? else {
            return Ok(None);
        };
        let name = kernel.read_c_string(t.pointer("name")?, 64)?;
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic()) {
            return Ok(None);
        }
        let sub = match s.pointer("s_subtype") {
            Ok(p) if p != 0 => Some(kernel.read_c_string(p, 256)?),
            _ => None,
        };
        Ok(Some(match sub {
            Some(sub) if !sub.is_empty() => format!("{name}.{sub}"),
            _ => name,
        }))
    })()
    .ok()
    .flatten();
    Ok(Super {
        major_minor: format!("{}:{}", dev >> 20, dev & 0xfffff),
        fstype,
        options,
    })
}

/// A mount namespace: its inode number and root mount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Namespace {
    /// Address of the `mnt_namespace`.
    pub addr: u64,
    /// `ns.inum`, what `/proc/PID/ns/mnt` names.
    pub inum: u64,
    /// Its root mount (`root`).
    pub root: u64,
}

/// Read the `mnt_namespace` at `addr`.
pub fn read_namespace(kernel: &Kernel, addr: u64) -> Result<Namespace, KernelError> {
    let ns = kernel.object("mnt_namespace", addr)?;
    Ok(Namespace {
        addr,
        inum: ns.member("ns")?.u64("inum")?,
        root: ns.pointer("root")?,
    })
}

/// The mounts of the namespace at `ns`, in the namespace's own order (what mountinfo prints).
pub fn namespace_mounts(kernel: &Kernel, ns: u64) -> Result<ListWalk, KernelError> {
    match kernel.layouts().mounts().mounts.clone()? {
        NsMounts::List => {
            let head = ns.wrapping_add(kernel.member_offset("mnt_namespace", "list")?);
            kernel.walk_list(head, "mount", "mnt_list", MAX_MOUNTS)
        }
        NsMounts::Tree => {
            let root = kernel.read_u64(ns.wrapping_add(kernel.member_offset("mnt_namespace", "mounts")?));
            let root = root.map_err(|e| KernelError::memory(format!("mnt_namespace.mounts at {ns:#x}"), Some(e)))?;
            kernel.walk_rbtree(root, "mount", "mnt_node", MAX_MOUNTS)
        }
    }
}

/// Every mount namespace the kernel's index holds (namespaces no task uses included), in id order;
/// `None` where the kernel keeps no index ([`NsIndex::None`]).
pub fn indexed_namespaces(kernel: &Kernel) -> Result<Option<ListWalk>, KernelError> {
    let tree = || kernel.symbol_addr("mnt_ns_tree");
    Ok(Some(match kernel.layouts().mounts().index {
        NsIndex::None => return Ok(None),
        NsIndex::Tree => {
            let at = tree()?.wrapping_add(kernel.member_offset("rb_root", "rb_node")?);
            let root = kernel
                .read_u64(at)
                .map_err(|e| KernelError::memory("mnt_ns_tree".into(), Some(e)))?;
            kernel.walk_rbtree(root, "mnt_namespace", "mnt_ns_tree_node", MAX_NAMESPACES)?
        }
        NsIndex::NsTreeList => {
            let head = tree()?.wrapping_add(kernel.member_offset("ns_tree_root", "ns_list_head")?);
            kernel.walk_list(head, "mnt_namespace", "ns.ns_tree_node.ns_list_entry", MAX_NAMESPACES)?
        }
    }))
}

/// Every mount on the global mount hash (`mount_hashtable`, `1 << m_hash_shift` chains through
/// `mount.mnt_hash`): every attached mount of every namespace (namespace roots are not hashed). The
/// second value names the chains that broke.
pub fn hashed_mounts(kernel: &Kernel) -> Result<(Vec<u64>, Vec<String>), KernelError> {
    let table = kernel
        .read_u64(kernel.symbol_addr("mount_hashtable")?)
        .map_err(|e| KernelError::memory("mount_hashtable".into(), Some(e)))?;
    let mut shift = [0u8; 4];
    kernel
        .read(kernel.symbol_addr("m_hash_shift")?, &mut shift)
        .map_err(|e| KernelError::memory("m_hash_shift".into(), Some(e)))?;
    let shift = u64::from(u32::from_le_bytes(shift));
    if table == 0 || shift > MAX_HASH_SHIFT {
        return Err(KernelError::Layout(format!(
            "mount_hashtable {table:#x} with m_hash_shift {shift}: not a hash table"
        )));
    }
    let buckets = 1usize << shift;
    let mut out = Vec::new();
    let mut problems = Vec::new();
    let mut unreadable = 0usize;
    // Read the bucket array a page at a time: most buckets are empty.
    let mut page = vec![0u8; 0x1000];
    let mut b = 0usize;
    while b < buckets {
        let at = table.wrapping_add(8 * b as u64);
        let take = (((0x1000 - (at & 0xfff)) / 8) as usize).min(buckets - b).max(1);
        let buf = &mut page[..take * 8];
        if kernel.read(at, buf).is_err() {
            unreadable += take;
            b += take;
            continue;
        }
        for first in buf
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().unwrap_or_default()))
        {
            if first == 0 {
                continue;
            }
            let walk = kernel.walk_hlist(first, "mount", "mnt_hash", MAX_MOUNTS)?;
            out.extend(walk.items);
            if let Some(p) = walk.problem {
                problems.push(p);
            }
            if out.len() > MAX_MOUNTS {
                problems.push(format!("mount hash: stopped after {MAX_MOUNTS} mounts"));
                return Ok((out, problems));
            }
        }
        b += take;
    }
    if unreadable > 0 {
        problems.push(format!("mount hash: {unreadable} of {buckets} buckets unreadable"));
    }
    Ok((out, problems))
}

/// At most this many masters are followed up a chain of slave mounts.
const MAX_MASTERS: usize = 64;

/// The peer group mountinfo names `propagate_from:N` for a slave mount (fs/pnode.c's
/// `get_dominating_id()`): up the chain of masters (`mnt_master`), the group of the first master with a
/// peer (on its `mnt_share` ring) in the mount's own namespace that `reachable` accepts (the reader's root
/// reaches it). `None` when there is none (mountinfo then prints only `master:N`).
pub fn dominating_group(kernel: &Kernel, mount: &Mount, reachable: impl Fn(&Mount) -> bool) -> Option<i64> {
    let share = kernel.member_offset("mount", "mnt_share").ok()?;
    let mut master = kernel.object("mount", mount.addr).ok()?.pointer("mnt_master").ok()?;
    let mut seen = std::collections::HashSet::new();
    while master != 0 && seen.insert(master) && seen.len() <= MAX_MASTERS {
        let peers = kernel
            .walk_list(master.wrapping_add(share), "mount", "mnt_share", MAX_MOUNTS)
            .ok()?;
        for peer in std::iter::once(master).chain(peers.items) {
            let Ok(p) = read_mount(kernel, peer) else {
                continue;
            };
            if p.ns == mount.ns && reachable(&p) {
                return p.shared;
            }
        }
        master = kernel.object("mount", master).ok()?.pointer("mnt_master").ok()?;
    }
    None
}

/// A process's place in the mount tree: its mount namespace and its root (`fs->root` as `(vfsmount,
/// dentry)`, what its paths are seen from; `None` when unreadable).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskMounts {
    /// The `mnt_namespace` (`nsproxy->mnt_ns`).
    pub ns: u64,
    /// `fs->root`.
    pub root: Option<(u64, u64)>,
}

/// The mount namespace and root of the process led by `task` (its descriptor holder's, should the leader
/// have exited); `Ok(None)` for a task without namespaces (exiting).
pub fn task_mounts(kernel: &Kernel, task: &super::Object<'_>) -> Result<Option<TaskMounts>, KernelError> {
    let task = super::files::descriptor_holder(kernel, task.clone());
    let nsproxy = task.pointer("nsproxy")?;
    if nsproxy == 0 {
        return Ok(None);
    }
    let at = nsproxy.wrapping_add(kernel.member_offset("nsproxy", "mnt_ns")?);
    let ns = kernel
        .read_u64(at)
        .map_err(|e| KernelError::memory(format!("nsproxy.mnt_ns at {at:#x}"), Some(e)))?;
    let root = task
        .deref("fs")
        .ok()
        .flatten()
        .and_then(|fs| fs.member("root").ok())
        .and_then(|r| Some((r.pointer("mnt").ok()?, r.pointer("dentry").ok()?)));
    Ok(Some(TaskMounts { ns, root }))
}
