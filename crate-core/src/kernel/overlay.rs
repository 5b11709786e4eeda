//! Overlay file systems (Docker's root file systems): the real inode behind an overlay inode, whose page
//! cache holds the file's bytes (the overlay inode's own mapping stays empty for regular files).
//!
//! overlayfs is a module, so its types (`struct ovl_inode`) are not in the kernel's symbols. The kernel
//! embeds the VFS inode in `ovl_inode` and keeps the real upper dentry (`__upperdentry`, 5.x to 7.x) and,
//! on 5.x, the lower inode right after it. Those few words after the embedded inode are tried, and one is
//! taken only when it leads to an inode of another file system with the overlay inode's number, mode and
//! size (overlayfs gives a file on layers of one file system its real inode's number and copies its mode
//! and size), so no guess about the module's layout can give another file's bytes.

use super::inodes::{read_inode, Inode};
use super::Kernel;

/// Words after the embedded `vfs_inode` that are tried.
const WORDS_TRIED: u64 = 4;

/// The real inode behind the overlay inode `inode`, where it can be told; `is_overlay` names the file
/// system type of a superblock.
pub fn real_inode(kernel: &Kernel, inode: &Inode, is_overlay: impl Fn(u64) -> bool) -> Option<Inode> {
    let size = kernel.symbols().layout("inode").ok()?.size();
    let inode_of_dentry = kernel.member_offset("dentry", "d_inode").ok()?;
    let matches = |real: &Inode| {
        real.ino == inode.ino && real.mode == inode.mode && real.size == inode.size && !is_overlay(real.sb)
    };
    (0..WORDS_TRIED).find_map(|i| {
        let word = kernel.read_u64(inode.addr.wrapping_add(size + 8 * i)).ok()?;
        if !kernel.is_kernel_pointer(word) || word & 7 != 0 {
            return None;
        }
        // The upper dentry, or (5.x) the lower inode.
        let through_dentry = kernel
            .read_u64(word.wrapping_add(inode_of_dentry))
            .ok()
            .filter(|&p| kernel.is_kernel_pointer(p))
            .and_then(|p| read_inode(kernel, p).ok())
            .filter(matches);
        through_dentry.or_else(|| read_inode(kernel, word).ok().filter(matches))
    })
}
