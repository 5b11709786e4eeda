//! A process's own memory: its `mm_struct` and the areas of its address space the kernel keeps the
//! bounds of (arguments, environment), read through the process's page tables (`mm->pgd`).

use super::{Kernel, KernelError, Object};

/// Largest area read (the kernel's limit on `execve` arguments plus environment is a quarter of the
/// stack limit; 2 MiB covers every default).
pub const MAX_AREA: u64 = 2 << 20;

/// The process's `mm_struct`, or `None` for a task without memory of its own (a kernel thread, or one
/// that has exited).
pub fn mm_of<'k>(kernel: &'k Kernel, task: &Object<'k>) -> Result<Option<Object<'k>>, KernelError> {
    match task.pointer("mm")? {
        0 => Ok(None),
        mm => Ok(Some(kernel.object("mm_struct", mm)?)),
    }
}

/// The file the process runs (`mm->exe_file`, what `/proc/PID/exe` links to), as a `struct file`;
/// `None` for a task without memory of its own or an mm without one.
pub fn exe_file<'k>(kernel: &'k Kernel, task: &Object<'k>) -> Result<Option<Object<'k>>, KernelError> {
    let Some(mm) = mm_of(kernel, task)? else {
        return Ok(None);
    };
    match mm.pointer("exe_file")? {
        0 => Ok(None),
        file => Ok(Some(kernel.object("file", file)?)),
    }
}

/// The bytes of `start..end` in the address space of `mm`; every page must be in the capture.
pub fn read_area(kernel: &Kernel, mm: &Object<'_>, start: u64, end: u64) -> Result<Vec<u8>, KernelError> {
    if end < start || end - start > MAX_AREA {
        return Err(KernelError::Layout(format!("area {start:#x}..{end:#x} is implausible")));
    }
    let space = kernel
        .user_space(mm.pointer("pgd")?)
        .map_err(|e| KernelError::memory(format!("page tables of mm {:#x}", mm.addr()), Some(e)))?;
    let mut bytes = vec![0u8; (end - start) as usize];
    space
        .read(start, &mut bytes)
        .map_err(|e| KernelError::memory(format!("process memory at {start:#x}"), Some(e)))?;
    Ok(bytes)
}

/// Tells anonymous memory from file-backed pages by their page descriptors: a `struct page` (in the
/// `vmemmap` array at `vmemmap_base`, one per frame) whose `mapping` has `PAGE_MAPPING_ANON` (bit 0) set maps
/// anonymous memory (include/linux/page-flags.h).
#[derive(Debug, Clone, Copy)]
pub struct AnonPages {
    vmemmap: u64,
    page_size: u64,
    mapping_at: u64,
}

impl AnonPages {
    /// The page descriptors' array and layout (`vmemmap_base`, `struct page`, `page.mapping`).
    pub fn of(kernel: &Kernel) -> Result<AnonPages, KernelError> {
        let at = kernel.symbol_addr("vmemmap_base")?;
        let vmemmap = kernel
            .read_u64(at)
            .map_err(|e| KernelError::memory(format!("vmemmap_base at {at:#x}"), Some(e)))?;
        Ok(AnonPages {
            vmemmap,
            page_size: kernel.symbols().layout("page")?.size(),
            mapping_at: kernel.member_offset("page", "mapping")?,
        })
    }

    /// Whether the frame at physical address `paddr` holds anonymous memory; `None` where its descriptor
    /// is not in the capture.
    pub fn is_anon(&self, kernel: &Kernel, paddr: u64) -> Option<bool> {
        let page = self
            .vmemmap
            .wrapping_add((paddr >> 12).wrapping_mul(self.page_size))
            .wrapping_add(self.mapping_at);
        kernel.read_u64(page).ok().map(|mapping| mapping & 1 == 1)
    }
}

/// The NUL-separated strings of an area, its final NUL closing the last.
pub fn split_strings(bytes: &[u8]) -> Vec<String> {
    let bytes = bytes.strip_suffix(&[0]).unwrap_or(bytes);
    if bytes.is_empty() {
        return Vec::new();
    }
    bytes
        .split(|&b| b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_split_at_nul() {
        assert_eq!(split_strings(b"nc\0-ll\0-p\09000\0"), vec!["nc", "-ll", "-p", "9000"]);
        assert_eq!(split_strings(b"sh\0\0x\0"), vec!["sh", "", "x"]);
        assert_eq!(split_strings(b"setproctitle text"), vec!["setproctitle text"]);
        assert!(split_strings(b"").is_empty());
    }
}
