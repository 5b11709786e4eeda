//! Inodes: what `stat` shows of a `struct inode` (number, mode, owner, size, links, times) and where its
//! page cache is (`i_mapping`, an `address_space` whose `i_pages` XArray holds the cached folios).
//! Times are read where [`InodeTime`] says this kernel keeps them.

use super::layouts::InodeTime;
use super::{Kernel, KernelError, Object};

/// Longest symlink target read (`PATH_MAX`).
pub const MAX_LINK: usize = 4096;

/// One inode as `stat` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inode {
    /// Address of the `struct inode`.
    pub addr: u64,
    /// `i_ino`.
    pub ino: u64,
    /// `i_mode`: type and permission bits.
    pub mode: u32,
    /// `i_uid` and `i_gid` (kernel ids as the initial user namespace sees them).
    pub uid: u32,
    /// See `uid`.
    pub gid: u32,
    /// `i_size` in bytes.
    pub size: i64,
    /// `i_nlink`.
    pub nlink: u32,
    /// Access, modification and change times in nanoseconds since the epoch; `None` where unreadable.
    pub times: [Option<i128>; 3],
    /// `i_sb`: the superblock.
    pub sb: u64,
    /// `i_mapping`: the page cache's `address_space`.
    pub mapping: u64,
    /// `i_mapping->nrpages`: pages cached; `None` where unreadable.
    pub cached_pages: Option<u64>,
    /// `i_link`: the target of a symlink kept in memory (fast symlinks), else 0.
    pub link: u64,
}

impl Inode {
    /// Pages the file's size spans.
    pub fn total_pages(&self) -> u64 {
        u64::try_from(self.size).unwrap_or(0).div_ceil(super::pages::PAGE_SIZE)
    }
}

/// Read the inode at `addr`.
pub fn read_inode(kernel: &Kernel, addr: u64) -> Result<Inode, KernelError> {
    let inode = kernel.object("inode", addr)?;
    let id = |member: &str| -> Result<u32, KernelError> {
        let v = inode.member(member)?;
        Ok(v.int("val")? as u32)
    };
    let layout = kernel.layouts().files();
    let times = layout
        .times
        .each_ref()
        .map(|t| t.as_ref().ok().and_then(|t| time(&inode, *t).ok()));
    let mapping = inode.pointer("i_mapping")?;
    let cached_pages = if mapping == 0 {
        None
    } else {
        kernel
            .object("address_space", mapping)
            .and_then(|m| m.u64("nrpages"))
            .ok()
    };
    Ok(Inode {
        addr,
        ino: inode.u64("i_ino")?,
        mode: inode.int("i_mode")? as u32,
        uid: id("i_uid")?,
        gid: id("i_gid")?,
        size: inode.i64("i_size")?,
        nlink: inode.int("i_nlink")? as u32,
        times,
        sb: inode.pointer("i_sb")?,
        mapping,
        cached_pages,
        link: if inode.has("i_link") {
            inode.pointer("i_link").unwrap_or(0)
        } else {
            0
        },
    })
}

/// `I_CTIME_QUERIED`: bit 31 of `i_ctime_nsec` (6.13+) flags a queried change time.
const I_CTIME_QUERIED: i128 = 1 << 31;

fn time(inode: &Object<'_>, at: InodeTime) -> Result<i128, KernelError> {
    let (sec, nsec) = match at {
        InodeTime::Timespec(member) => {
            let ts = inode.member(member)?;
            (ts.int("tv_sec")?, ts.int("tv_nsec")?)
        }
        InodeTime::Split { sec, nsec } => (inode.int(sec)?, inode.int(nsec)? & !I_CTIME_QUERIED),
    };
    if !(0..1_000_000_000).contains(&nsec) {
        return Err(KernelError::Layout(format!("inode time with {nsec} nanoseconds")));
    }
    Ok(sec * 1_000_000_000 + nsec)
}

/// The target of a fast symlink (`i_link`), if the inode keeps it in memory.
pub fn fast_link_target(kernel: &Kernel, inode: &Inode) -> Option<String> {
    if inode.link == 0 {
        return None;
    }
    kernel.read_c_string(inode.link, MAX_LINK).ok()
}
