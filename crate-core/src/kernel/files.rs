//! Descriptor tables: which `struct file` each open descriptor of a process points to, read as the kernel
//! keeps them (`task->files->fdt`), checked against what the kernel could have allocated.

use super::{tasks, Kernel, KernelError, Object};

/// At most this many descriptor slots are read per process (the kernel's `NR_OPEN` is 2^20).
pub const MAX_FDS: u64 = 1 << 20;

/// `NR_OPEN_DEFAULT` on 64-bit kernels: every descriptor table has at least this many slots.
pub const NR_OPEN_DEFAULT: u64 = 64;

/// `count` 64-bit words at `addr`, page by page; `None` for words on unreadable pages.
fn read_words(kernel: &Kernel, addr: u64, count: usize) -> Vec<Option<u64>> {
    let mut out = Vec::with_capacity(count.min(1 << 16));
    let mut at = addr;
    while out.len() < count {
        let take = (((0x1000 - (at & 0xfff)) / 8).max(1) as usize).min(count - out.len());
        let mut buf = vec![0u8; take * 8];
        if kernel.read(at, &mut buf).is_ok() {
            out.extend(buf.chunks_exact(8).map(|c| c.try_into().ok().map(u64::from_le_bytes)));
        } else {
            out.extend(std::iter::repeat_n(None, take));
        }
        at = at.wrapping_add(take as u64 * 8);
    }
    out
}

/// The open descriptors of a task: `(fd, struct file address)` for each non-NULL slot of
/// `task->files->fdt->fd[0..max_fds]` whose bit is set in `open_fds` (where that bitmap is readable);
/// `Ok(empty)` for a task without files (a zombie or an exiting task).
///
/// `max_fds` is checked against what the kernel can allocate (a multiple of 64, at most `sysctl_nr_open`):
/// an implausible one is reported and only the first 64 slots are read; a plausible one is still cut to
/// [`MAX_FDS`]. Unreadable pages of the array are reported in `warnings`.
pub fn open_files(
    kernel: &Kernel,
    task: &Object<'_>,
    warnings: &mut Vec<String>,
) -> Result<Vec<(u32, u64)>, KernelError> {
    let Some(files) = task.deref("files")? else {
        return Ok(Vec::new());
    };
    let Some(fdt) = files.deref("fdt")? else {
        return Err(KernelError::Layout("files_struct.fdt is NULL".into()));
    };
    let max_fds = fdt.u64("max_fds")?;
    let nr_open = kernel.symbol_addr("sysctl_nr_open").ok().and_then(|a| {
        let mut b = [0u8; 4];
        kernel.read(a, &mut b).ok().map(|_| u64::from(u32::from_le_bytes(b)))
    });
    let plausible = max_fds >= NR_OPEN_DEFAULT
        && max_fds % NR_OPEN_DEFAULT == 0
        && nr_open.is_none_or(|n| max_fds <= n.max(NR_OPEN_DEFAULT));
    let count = if !plausible {
        warnings.push(format!(
            "max_fds {max_fds} is implausible (not a multiple of 64, or above sysctl_nr_open {}): only the first \
             {NR_OPEN_DEFAULT} descriptors read",
            nr_open.map_or_else(|| "unknown".to_string(), |n| n.to_string())
        ));
        NR_OPEN_DEFAULT
    } else if max_fds > MAX_FDS {
        warnings.push(format!("max_fds {max_fds} cut to {MAX_FDS}"));
        MAX_FDS
    } else {
        max_fds
    } as usize;
    let array = fdt.pointer("fd")?;
    if array == 0 {
        return Err(KernelError::Layout("fdtable.fd is NULL".into()));
    }
    let slots = read_words(kernel, array, count);
    let missing = slots.iter().filter(|s| s.is_none()).count();
    if missing > 0 {
        warnings.push(format!("{missing} of {count} descriptor slots unreadable"));
    }
    // The open_fds bitmap: a slot holds a file only while its bit is set (alloc_fd sets it before
    // fd_install, close clears the slot first).
    let bitmap = match fdt.pointer("open_fds") {
        Ok(b) if b != 0 => read_words(kernel, b, count.div_ceil(64)),
        _ => Vec::new(),
    };
    let mut out = Vec::new();
    let mut not_open = 0usize;
    let mut not_kernel = 0usize;
    for (fd, slot) in slots.into_iter().enumerate() {
        let Some(file) = slot.filter(|&p| p != 0) else {
            continue;
        };
        // A `struct file` is an 8-byte aligned object in the kernel half of the address space.
        if !kernel.is_kernel_pointer(file) || file & 7 != 0 {
            not_kernel += 1;
            continue;
        }
        if let Some(Some(word)) = bitmap.get(fd / 64) {
            if word >> (fd % 64) & 1 == 0 {
                not_open += 1;
                continue;
            }
        }
        out.push((fd as u32, file));
    }
    if not_open > 0 {
        warnings.push(format!(
            "{not_open} descriptor slots hold a pointer but are not marked open: skipped"
        ));
    }
    if not_kernel > 0 {
        warnings.push(format!(
            "{not_kernel} descriptor slots hold no kernel object address (corrupt table?): skipped"
        ));
    }
    Ok(out)
}

/// The task whose descriptor table is the process's: the leader itself, or, when the leader has exited (a
/// zombie) while its threads run, its first thread that still has files.
pub fn descriptor_holder<'k>(kernel: &'k Kernel, leader: Object<'k>) -> Object<'k> {
    if !leader.pointer("files").is_ok_and(|f| f == 0) {
        return leader;
    }
    tasks::threads_of(kernel, leader.addr())
        .ok()
        .and_then(|w| {
            w.tasks.into_iter().skip(1).find_map(|t| {
                let o = kernel.object("task_struct", t).ok()?;
                (o.pointer("files").ok()? != 0).then_some(o)
            })
        })
        .unwrap_or(leader)
}
