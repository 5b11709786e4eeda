//! Paths of files as the kernel names them: the `d_path()` / `prepend_path()` walk from a dentry up
//! through its mounts to a root, and the names that pseudo file systems give their files
//! (`socket:[INODE]`, `pipe:[INODE]`, `anon_inode:[eventpoll]`, `net:[INODE]`), as `readlink` of
//! `/proc/PID/fd/N` shows them.
//!
//! One resolver serves every analysis that names files (lsof, mounts, netstat, Docker). It caches the
//! dentries, mounts and superblocks it has read, so resolving many paths that share prefixes is cheap.
//!
//! The walk follows the kernel (fs/d_path.c): from the dentry, climb `d_parent` until the root of the
//! current mount (`vfsmount.mnt_root`); there cross to the parent mount (`struct mount`, which embeds the
//! `vfsmount` as `mnt`: `mnt_parent`, `mnt_mountpoint`), until the given root (a process's `fs->root`)
//! or the root of the mount tree is reached. Like `d_path()`, a path outside the root is still given
//! as the names collected up to the top of its mount tree; [`Resolved::reach`] says which case it was.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use super::{Kernel, KernelError, Object};

/// At most this many components (dentries and mount crossings) are walked for one path.
pub const MAX_DEPTH: usize = 4096;

/// A dentry name longer than this is taken as garbage (NAME_MAX is 255; pseudo names are short).
pub const MAX_NAME: u64 = 1024;

/// How the walk ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// The given root was reached: the path is what the process sees.
    Root,
    /// The root of the mount tree was reached without meeting the given root (or no root was given):
    /// the path is relative to that namespace's root, as `d_path()` gives it for a path outside the
    /// caller's root.
    NamespaceRoot,
    /// The top of a mount that is not attached to any namespace (a detached or internal mount).
    Detached,
    /// A dentry that is its own parent but not the root of its mount: the walk escaped its mount.
    Escaped,
    /// The name came from the file system's `d_dname` (sockets, pipes, anon inodes, nsfs): no walk.
    Pseudo,
}

/// A resolved path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The path as `readlink` of `/proc/PID/fd/N` shows it (with ` (deleted)` for unlinked files).
    pub path: String,
    /// How the walk ended.
    pub reach: Reach,
    /// The dentry was unlinked (`d_unlinked()`): the file was deleted while open.
    pub deleted: bool,
}

#[derive(Debug, Clone)]
struct DentryInfo {
    parent: u64,
    name_ptr: u64,
    name_len: u64,
    /// `d_hash.pprev` is NULL: the dentry is unhashed.
    unhashed: bool,
    d_op: u64,
    sb: u64,
    inode: u64,
    fsdata: u64,
}

#[derive(Debug, Clone, Copy)]
struct MountInfo {
    parent: u64,
    mountpoint: u64,
    root: u64,
    ns: u64,
}

/// Which `d_dname` operation a pseudo file system uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DName {
    Socket,
    Pipe,
    AnonInode,
    Namespace,
    Simple,
    DmaBuf,
    PidFd,
    Other,
}

/// Resolves paths of one kernel, caching what it reads.
pub struct PathResolver<'k> {
    kernel: &'k Kernel,
    mount_mnt_offset: Result<u64, KernelError>,
    dentries: RefCell<HashMap<u64, DentryInfo>>,
    mounts: RefCell<HashMap<u64, MountInfo>>,
    fs_types: RefCell<HashMap<u64, Option<String>>>,
    d_dnames: RefCell<HashMap<u64, u64>>,
    names: RefCell<HashMap<(u64, u64), String>>,
    dname_fns: Vec<(u64, DName)>,
}

impl std::fmt::Debug for PathResolver<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PathResolver").finish_non_exhaustive()
    }
}

impl<'k> PathResolver<'k> {
    /// A resolver for `kernel`.
    pub fn new(kernel: &'k Kernel) -> Self {
        let dname_fns = [
            ("sockfs_dname", DName::Socket),
            ("pipefs_dname", DName::Pipe),
            ("anon_inodefs_dname", DName::AnonInode),
            ("ns_dname", DName::Namespace),
            ("simple_dname", DName::Simple),
            ("dmabuffs_dname", DName::DmaBuf),
            ("pidfs_dname", DName::PidFd),
        ]
        .iter()
        .filter_map(|&(sym, kind)| kernel.symbol_addr(sym).ok().map(|a| (a, kind)))
        .collect();
        PathResolver {
            kernel,
            mount_mnt_offset: kernel.member_offset("mount", "mnt"),
            dentries: RefCell::default(),
            mounts: RefCell::default(),
            fs_types: RefCell::default(),
            d_dnames: RefCell::default(),
            names: RefCell::default(),
            dname_fns,
        }
    }

    /// The kernel.
    pub fn kernel(&self) -> &'k Kernel {
        self.kernel
    }

    /// The path of a `struct path` object (`vfsmount` and `dentry`) seen from `root` (a `struct path`,
    /// usually a process's `fs->root`; `None` walks to the top of the mount tree).
    pub fn path_of(&self, path: &Object<'_>, root: Option<&Object<'_>>) -> Result<Resolved, KernelError> {
        let root = match root {
            Some(r) => Some((r.pointer("mnt")?, r.pointer("dentry")?)),
            None => None,
        };
        self.resolve(path.pointer("mnt")?, path.pointer("dentry")?, root)
    }

    /// The path of an open `struct file` (its `f_path`) seen from `root`.
    pub fn file_path(&self, file: &Object<'_>, root: Option<&Object<'_>>) -> Result<Resolved, KernelError> {
        self.path_of(&file.member("f_path")?, root)
    }

    /// The path of `dentry` on the mount whose `vfsmount` is at `vfsmount`, seen from `root`
    /// (`(vfsmount, dentry)` of a `struct path`).
    pub fn resolve(&self, vfsmount: u64, dentry: u64, root: Option<(u64, u64)>) -> Result<Resolved, KernelError> {
        if dentry == 0 || vfsmount == 0 {
            return Err(KernelError::Layout(format!(
                "path with NULL member (mnt {vfsmount:#x}, dentry {dentry:#x})"
            )));
        }
        let mount_off = self.mount_mnt_offset.clone()?;
        let first = self.dentry(dentry)?;
        let is_root = first.parent == dentry;
        // d_path(): a dentry with d_op->d_dname, unless it is the root of its mount, names itself.
        if first.d_op != 0 {
            let d_dname = self.d_dname(first.d_op)?;
            if d_dname != 0 {
                let mnt_root = self.mount(vfsmount.wrapping_sub(mount_off))?.root;
                if !is_root || dentry != mnt_root {
                    let path = self.pseudo_name(d_dname, &first)?;
                    return Ok(Resolved {
                        path,
                        reach: Reach::Pseudo,
                        deleted: false,
                    });
                }
            }
        }
        let deleted = first.unhashed && !is_root;

        let mut components: Vec<String> = Vec::new();
        let mut seen: HashSet<(u64, u64)> = HashSet::new();
        let mut dentry = dentry;
        let mut mount = vfsmount.wrapping_sub(mount_off);
        let reach = loop {
            let vfs = mount.wrapping_add(mount_off);
            if root == Some((vfs, dentry)) {
                break Reach::Root;
            }
            if seen.len() >= MAX_DEPTH {
                return Err(KernelError::Layout(format!(
                    "path walk from dentry {dentry:#x}: over {MAX_DEPTH} steps"
                )));
            }
            if !seen.insert((mount, dentry)) {
                return Err(KernelError::Layout(format!(
                    "path walk: cycle at dentry {dentry:#x} on mount {mount:#x}"
                )));
            }
            let m = self.mount(mount)?;
            if dentry == m.root {
                if m.parent != mount && m.parent != 0 {
                    dentry = m.mountpoint;
                    mount = m.parent;
                    continue;
                }
                break if m.ns == 0 {
                    Reach::Detached
                } else {
                    Reach::NamespaceRoot
                };
            }
            let d = self.dentry(dentry)?;
            if d.parent == dentry || d.parent == 0 {
                break Reach::Escaped;
            }
            components.push(self.name(&d)?);
            dentry = d.parent;
        };
        let mut path = String::new();
        for c in components.iter().rev() {
            path.push('/');
            path.push_str(c);
        }
        if path.is_empty() {
            path.push('/');
        }
        if deleted {
            path.push_str(" (deleted)");
        }
        Ok(Resolved { path, reach, deleted })
    }

    /// A mount's root within its file system, as mountinfo's 4th field shows it (`show_path()`): nsfs names
    /// its files `net:[INODE]` (`nsfs_show_path()`), every other file system the dentry's path from its
    /// superblock's root (`dentry_path()`, with `//deleted` for an unlinked dentry).
    pub fn root_in_fs(&self, dentry: u64) -> Result<String, KernelError> {
        let first = self.dentry(dentry)?;
        if self.fs_type(first.sb).as_deref() == Some("nsfs") {
            // No d_dname address given: the name is chosen by the file system type, nsfs.
            return self.pseudo_name(0, &first);
        }
        let mut components = Vec::new();
        let mut d = first.clone();
        let mut at = dentry;
        let mut seen = HashSet::new();
        while d.parent != at && d.parent != 0 {
            if !seen.insert(at) || seen.len() > MAX_DEPTH {
                return Err(KernelError::Layout(format!(
                    "dentry path from {dentry:#x}: cycle or over {MAX_DEPTH} steps"
                )));
            }
            components.push(self.name(&d)?);
            at = d.parent;
            d = self.dentry(at)?;
        }
        let mut path: String = components.iter().rev().map(|c| format!("/{c}")).collect();
        if path.is_empty() {
            path.push('/');
        }
        if first.unhashed && first.parent != dentry {
            path.push_str("//deleted");
        }
        Ok(path)
    }

    /// The name of the file system type of the superblock at `sb` (`ext4`, `overlay`, `sockfs`...).
    pub fn fs_type(&self, sb: u64) -> Option<String> {
        if sb == 0 {
            return None;
        }
        if let Some(n) = self.fs_types.borrow().get(&sb) {
            return n.clone();
        }
        let name = (|| -> Result<Option<String>, KernelError> {
            let sb_obj = self.kernel.object("super_block", sb)?;
            let Some(t) = sb_obj.deref("s_type")? else {
                return Ok(None);
            };
            let p = t.pointer("name")?;
            if p == 0 {
                return Ok(None);
            }
            let s = self.kernel.read_c_string(p, 64)?;
            Ok(valid_fs_name(&s).then_some(s))
        })()
        .ok()
        .flatten();
        self.fs_types.borrow_mut().insert(sb, name.clone());
        name
    }

    /// The superblock of the dentry at `dentry`.
    pub fn dentry_sb(&self, dentry: u64) -> Result<u64, KernelError> {
        Ok(self.dentry(dentry)?.sb)
    }

    /// The name of one dentry (its `d_name`), validated.
    pub fn dentry_name(&self, dentry: u64) -> Result<String, KernelError> {
        let d = self.dentry(dentry)?;
        self.name(&d)
    }

    fn dentry(&self, addr: u64) -> Result<DentryInfo, KernelError> {
        if let Some(d) = self.dentries.borrow().get(&addr) {
            return Ok(d.clone());
        }
        let d = self.kernel.object("dentry", addr)?;
        let name = d.member("d_name")?;
        let hash = d.member("d_hash")?;
        let info = DentryInfo {
            parent: d.pointer("d_parent")?,
            name_ptr: name.pointer("name")?,
            name_len: name.u64("len")?,
            unhashed: hash.pointer("pprev")? == 0,
            d_op: d.pointer("d_op")?,
            sb: d.pointer("d_sb")?,
            inode: d.pointer("d_inode")?,
            fsdata: d.pointer("d_fsdata")?,
        };
        self.dentries.borrow_mut().insert(addr, info.clone());
        Ok(info)
    }

    fn mount(&self, addr: u64) -> Result<MountInfo, KernelError> {
        if let Some(m) = self.mounts.borrow().get(&addr) {
            return Ok(*m);
        }
        let m = self.kernel.object("mount", addr)?;
        let info = MountInfo {
            parent: m.pointer("mnt_parent")?,
            mountpoint: m.pointer("mnt_mountpoint")?,
            root: m.member("mnt")?.pointer("mnt_root")?,
            ns: m.pointer("mnt_ns")?,
        };
        self.mounts.borrow_mut().insert(addr, info);
        Ok(info)
    }

    fn d_dname(&self, d_op: u64) -> Result<u64, KernelError> {
        if let Some(&f) = self.d_dnames.borrow().get(&d_op) {
            return Ok(f);
        }
        let f = self.kernel.object("dentry_operations", d_op)?.pointer("d_dname")?;
        self.d_dnames.borrow_mut().insert(d_op, f);
        Ok(f)
    }

    fn name(&self, d: &DentryInfo) -> Result<String, KernelError> {
        let key = (d.name_ptr, d.name_len);
        if let Some(n) = self.names.borrow().get(&key) {
            return Ok(n.clone());
        }
        if d.name_len > MAX_NAME {
            return Err(KernelError::Layout(format!(
                "dentry name of {} bytes at {:#x}",
                d.name_len, d.name_ptr
            )));
        }
        if d.name_ptr == 0 {
            return Err(KernelError::Layout("dentry name pointer is NULL".into()));
        }
        let mut buf = vec![0u8; d.name_len as usize];
        self.kernel
            .read(d.name_ptr, &mut buf)
            .map_err(|e| KernelError::Memory {
                what: format!("dentry name at {:#x}", d.name_ptr),
                source: Some(e),
            })?;
        if buf.contains(&0) {
            return Err(KernelError::Layout(format!(
                "dentry name at {:#x} holds a NUL",
                d.name_ptr
            )));
        }
        let name = String::from_utf8_lossy(&buf).into_owned();
        self.names.borrow_mut().insert(key, name.clone());
        Ok(name)
    }

    fn inode_number(&self, inode: u64) -> Result<u64, KernelError> {
        if inode == 0 {
            return Err(KernelError::Layout("pseudo file without an inode".into()));
        }
        self.kernel.object("inode", inode)?.u64("i_ino")
    }

    /// `inode->i_private` read as a `struct ns_common`: its `ops` (nsfs inodes).
    fn ns_ops_of_inode(&self, inode: u64) -> Result<u64, KernelError> {
        if inode == 0 {
            return Ok(0);
        }
        let private = self.kernel.object("inode", inode)?.pointer("i_private")?;
        if private == 0 {
            return Ok(0);
        }
        self.kernel.object("ns_common", private)?.pointer("ops")
    }

    /// What the file system's `d_dname` would print for this dentry.
    fn pseudo_name(&self, d_dname: u64, d: &DentryInfo) -> Result<String, KernelError> {
        let by_symbol = self.dname_fns.iter().find(|(a, _)| *a == d_dname).map(|&(_, k)| k);
        let kind = by_symbol.unwrap_or_else(|| match self.fs_type(d.sb).as_deref() {
            Some("sockfs") => DName::Socket,
            Some("pipefs") => DName::Pipe,
            Some("anon_inodefs") => DName::AnonInode,
            Some("nsfs") => DName::Namespace,
            Some("pidfs") => DName::PidFd,
            _ => DName::Other,
        });
        Ok(match kind {
            DName::Socket => format!("socket:[{}]", self.inode_number(d.inode)?),
            DName::Pipe => format!("pipe:[{}]", self.inode_number(d.inode)?),
            DName::AnonInode => format!("anon_inode:{}", self.name(d)?),
            DName::Namespace => {
                // ns_dname(): "%s:[%lu]" with the name of the namespace's proc_ns_operations, found through
                // inode->i_private (the ns_common) since 6.x; older kernels keep the operations in d_fsdata.
                let ops_addr = match self.ns_ops_of_inode(d.inode) {
                    Ok(a) if a != 0 => a,
                    _ => d.fsdata,
                };
                let ops = self.kernel.object("proc_ns_operations", ops_addr)?;
                let name = self.kernel.read_c_string(ops.pointer("name")?, 32)?;
                if !valid_fs_name(&name) {
                    return Err(KernelError::Layout(format!(
                        "namespace type name {name:?} at {ops_addr:#x}"
                    )));
                }
                format!("{name}:[{}]", self.inode_number(d.inode)?)
            }
            DName::Simple => format!("/{} (deleted)", self.name(d)?),
            DName::DmaBuf => format!("/{}", self.name(d)?),
            // pidfs (6.9+) keeps the name pidfds had as anon inodes.
            DName::PidFd => "anon_inode:[pidfd]".to_string(),
            DName::Other => {
                let fs = self.fs_type(d.sb).unwrap_or_else(|| "unknown".into());
                format!("{fs}:[{}]", self.inode_number(d.inode)?)
            }
        })
    }
}

/// A plausible file system or namespace type name: short, printable, no spaces.
fn valid_fs_name(s: &str) -> bool {
    !s.is_empty() && s.len() < 64 && s.bytes().all(|b| b.is_ascii_graphic())
}

/// [`PathResolver::path_of`] with a resolver used once.
pub fn path_of(kernel: &Kernel, path: &Object<'_>, root: Option<&Object<'_>>) -> Result<Resolved, KernelError> {
    PathResolver::new(kernel).path_of(path, root)
}

/// [`PathResolver::file_path`] with a resolver used once.
pub fn file_path(kernel: &Kernel, file: &Object<'_>, root: Option<&Object<'_>>) -> Result<Resolved, KernelError> {
    PathResolver::new(kernel).file_path(file, root)
}

/// `S_IFMT` bits of an inode's `i_mode`.
pub const S_IFMT: u32 = 0o170000;

/// The kind of file an `i_mode` describes: `regular`, `dir`, `symlink`, `socket`, `fifo`, `char`,
/// `block`, or `unknown`.
pub fn file_type_of_mode(mode: u32) -> &'static str {
    match mode & S_IFMT {
        0o140000 => "socket",
        0o120000 => "symlink",
        0o100000 => "regular",
        0o060000 => "block",
        0o040000 => "dir",
        0o020000 => "char",
        0o010000 => "fifo",
        _ => "unknown",
    }
}

/// `ls -l` style mode string (`-rw-r--r--`, `drwxrwxrwt`, `?rw-------` for an unknown type).
pub fn mode_string(mode: u32) -> String {
    let t = match mode & S_IFMT {
        0o140000 => 's',
        0o120000 => 'l',
        0o100000 => '-',
        0o060000 => 'b',
        0o040000 => 'd',
        0o020000 => 'c',
        0o010000 => 'p',
        _ => '?',
    };
    let mut s = String::with_capacity(10);
    s.push(t);
    let special = [(0o4000, 's', 'S'), (0o2000, 's', 'S'), (0o1000, 't', 'T')];
    for (i, (bit, on_x, off_x)) in special.iter().enumerate() {
        let shift = 6 - 3 * i as u32;
        let bits = (mode >> shift) & 7;
        s.push(if bits & 4 != 0 { 'r' } else { '-' });
        s.push(if bits & 2 != 0 { 'w' } else { '-' });
        let x = bits & 1 != 0;
        s.push(match (mode & bit != 0, x) {
            (true, true) => *on_x,
            (true, false) => *off_x,
            (false, true) => 'x',
            (false, false) => '-',
        });
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes() {
        assert_eq!(mode_string(0o100644), "-rw-r--r--");
        assert_eq!(mode_string(0o041777), "drwxrwxrwt");
        assert_eq!(mode_string(0o104755), "-rwsr-xr-x");
        assert_eq!(mode_string(0o600), "?rw-------");
        assert_eq!(file_type_of_mode(0o140777), "socket");
        assert_eq!(file_type_of_mode(0o010600), "fifo");
        assert_eq!(file_type_of_mode(0), "unknown");
    }
}
