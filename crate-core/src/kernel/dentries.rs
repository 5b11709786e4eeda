//! The dentry cache as a tree: a dentry's name, inode and state, and its children, linked as
//! [`DentryChildren`] says this kernel links them. What the kernel has looked up stays cached here, files
//! and directories (with their inodes) and names that did not exist (negative dentries, no inode).

use super::layouts::DentryChildren;
use super::{Kernel, KernelError, ListWalk};

/// At most this many children are read from one directory.
pub const MAX_CHILDREN: usize = 1 << 20;

/// One dentry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dentry {
    /// Address of the `struct dentry`.
    pub addr: u64,
    /// `d_parent` (itself for the root of a file system).
    pub parent: u64,
    /// `d_name`; `None` when unreadable or not a name (a readdir cursor is named `/`).
    pub name: Option<String>,
    /// `d_inode`: 0 for a negative dentry.
    pub inode: u64,
    /// `d_hash.pprev` is NULL: unhashed (deleted, or never hashed: a cursor, an O_TMPFILE).
    pub unhashed: bool,
}

/// Read the dentry at `addr`.
pub fn read_dentry(kernel: &Kernel, addr: u64) -> Result<Dentry, KernelError> {
    let d = kernel.object("dentry", addr)?;
    let qstr = d.member("d_name")?;
    let (ptr, len) = (qstr.pointer("name")?, qstr.u64("len")?);
    let name = if ptr == 0 || len == 0 || len > super::paths::MAX_NAME {
        None
    } else {
        let mut buf = vec![0u8; len as usize];
        kernel.read(ptr, &mut buf).ok().and_then(|_| {
            (!buf.contains(&0) && !buf.contains(&b'/')).then(|| String::from_utf8_lossy(&buf).into_owned())
        })
    };
    Ok(Dentry {
        addr,
        parent: d.pointer("d_parent")?,
        name,
        inode: d.pointer("d_inode")?,
        unhashed: d.member("d_hash")?.pointer("pprev")? == 0,
    })
}

/// The children of the dentry at `dentry`, in the order the kernel links them (at most
/// [`MAX_CHILDREN`]).
pub fn children(kernel: &Kernel, dentry: u64) -> Result<ListWalk, KernelError> {
    match kernel.layouts().files().children.clone()? {
        DentryChildren::List => {
            let head = dentry.wrapping_add(kernel.member_offset("dentry", "d_subdirs")?);
            kernel.walk_list(head, "dentry", "d_child", MAX_CHILDREN)
        }
        DentryChildren::Hlist => {
            let at = dentry.wrapping_add(kernel.member_offset("dentry", "d_children.first")?);
            let first = kernel
                .read_u64(at)
                .map_err(|e| KernelError::memory(format!("dentry.d_children at {at:#x}"), Some(e)))?;
            kernel.walk_hlist(first, "dentry", "d_sib", MAX_CHILDREN)
        }
    }
}

/// The dentries naming the inode at `inode` (its `i_dentry` aliases, linked through `d_u.d_alias`): a
/// regular file's hard links the cache holds, a directory's one dentry.
pub fn aliases(kernel: &Kernel, inode: u64) -> Result<ListWalk, KernelError> {
    let at = inode.wrapping_add(kernel.member_offset("inode", "i_dentry.first")?);
    let first = kernel
        .read_u64(at)
        .map_err(|e| KernelError::memory(format!("inode.i_dentry at {at:#x}"), Some(e)))?;
    kernel.walk_hlist(first, "dentry", "d_u.d_alias", 64)
}
