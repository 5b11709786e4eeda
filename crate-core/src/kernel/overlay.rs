//! Overlay file systems (Docker's root file systems): the real inode behind an overlay inode, whose page
//! cache holds the file's bytes (the overlay inode's own mapping stays empty for regular files).
//!
//! overlayfs is a module, so its types (`struct ovl_inode`) are not in the kernel's symbols. The kernel
//! embeds the VFS inode in `ovl_inode` and keeps right after it the real upper dentry (`__upperdentry`, 5.x
//! to 7.x), then where the lower file is: its inode (5.10), a `struct ovl_path` (layer, dentry: 6.1), or a
//! pointer to an `ovl_entry` holding a stack of them (6.5+). Those few words after the embedded inode are
//! tried, as a dentry, an inode, or a pointer to a few words that may be dentries, and one is taken only
//! when it leads to an inode of another file system with the overlay inode's number, mode and size
//! (overlayfs gives a file on layers of one file system its real inode's number and copies its mode and
//! size), so no guess about the module's layout can give another file's bytes.

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
    let as_dentry = |word: u64| {
        kernel
            .read_u64(word.wrapping_add(inode_of_dentry))
            .ok()
            .filter(|&p| kernel.is_kernel_pointer(p))
            .and_then(|p| read_inode(kernel, p).ok())
            .filter(matches)
    };
    let pointer_at = |addr: u64| {
        kernel
            .read_u64(addr)
            .ok()
            .filter(|&w| kernel.is_kernel_pointer(w) && w & 7 == 0)
    };
    (0..WORDS_TRIED).find_map(|i| {
        let word = pointer_at(inode.addr.wrapping_add(size + 8 * i))?;
        // The upper dentry or 6.1's `lowerpath.dentry`; 5.x's lower inode; or 6.5+'s `oe`, an `ovl_entry`
        // whose lower stack of (layer, dentry) pairs follows its count.
        as_dentry(word)
            .or_else(|| read_inode(kernel, word).ok().filter(matches))
            .or_else(|| (0..WORDS_TRIED).find_map(|j| as_dentry(pointer_at(word.wrapping_add(8 * j))?)))
    })
}
