//! Page frames: a `struct page` (or `struct folio`, which starts with one) pointer turned into the
//! physical frame it describes, and into that frame's direct-map address, as `page_to_pfn()` and
//! `page_to_virt()` do on x86-64 with `SPARSEMEM_VMEMMAP` ([`DirectMap`] says where the bases are).
//! Used for socket buffers' paged fragments and for page caches.

use super::layouts::DirectMap;
use super::{Kernel, KernelError};

/// Bytes in one page frame: the capture's page, as x86-64 has it.
pub use crate::formats::PAGE_SIZE;

/// The kernel's page-frame arithmetic: the bases it chose at boot and `sizeof(struct page)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageMap {
    /// `vmemmap_base`: the array of `struct page`, one per frame.
    vmemmap_base: u64,
    /// `page_offset_base`: where the direct map of all physical memory starts.
    page_offset_base: u64,
    /// `sizeof(struct page)`.
    page_size: u64,
}

impl PageMap {
    /// The page map of `kernel`: fails when its symbols have no direct-map layout memscope knows or the
    /// bases cannot be read.
    pub fn new(kernel: &Kernel) -> Result<PageMap, KernelError> {
        let DirectMap::Variables { page_size } = kernel.layouts().direct_map()?;
        let read_var = |name: &str| -> Result<u64, KernelError> {
            let addr = kernel.symbol_addr(name)?;
            kernel
                .read_u64(addr)
                .map_err(|e| KernelError::memory(format!("{name} at {addr:#x}"), Some(e)))
        };
        Ok(PageMap {
            vmemmap_base: read_var("vmemmap_base")?,
            page_offset_base: read_var("page_offset_base")?,
            page_size,
        })
    }

    /// The frame number of the `struct page` at `page`; `None` for a pointer outside the page array or
    /// not on a `struct page` boundary.
    pub fn pfn(&self, page: u64) -> Option<u64> {
        let offset = page.checked_sub(self.vmemmap_base)?;
        if self.page_size == 0 || offset % self.page_size != 0 {
            return None;
        }
        Some(offset / self.page_size)
    }

    /// The physical address of the frame the `struct page` at `page` describes.
    pub fn physical(&self, page: u64) -> Option<u64> {
        self.pfn(page)?.checked_mul(PAGE_SIZE)
    }

    /// The `struct page` of frame `pfn`.
    pub fn page_of(&self, pfn: u64) -> u64 {
        self.vmemmap_base.wrapping_add(pfn.wrapping_mul(self.page_size))
    }

    /// `sizeof(struct page)`.
    pub fn page_size(&self) -> u64 {
        self.page_size
    }

    /// The direct-map (kernel virtual) address of that frame.
    pub fn direct_address(&self, page: u64) -> Option<u64> {
        Some(self.page_offset_base.wrapping_add(self.physical(page)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_of_page_pointers() {
        let map = PageMap {
            vmemmap_base: 0xffffea0000000000,
            page_offset_base: 0xffff888000000000,
            page_size: 64,
        };
        assert_eq!(map.pfn(0xffffea0000000000 + 64 * 3), Some(3));
        assert_eq!(map.physical(0xffffea0000000000 + 64 * 3), Some(0x3000));
        assert_eq!(map.direct_address(0xffffea0000000040), Some(0xffff888000001000));
        assert_eq!(map.pfn(0xffffea0000000001), None, "not on a struct page boundary");
        assert_eq!(map.pfn(0x1000), None, "below the page array");
    }
}
