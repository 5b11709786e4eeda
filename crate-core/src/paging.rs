//! Virtual-to-physical address translation, with the paging scheme described as data.
//!
//! [`PagingScheme`] says how a virtual address splits into table indices and which entry bits mean
//! present, large page and frame number; [`X86_64_4LEVEL`] and [`X86_64_5LEVEL`] are the x86-64 schemes.
//! Another architecture (i386 PAE, AArch64) is one more table, not another walker.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use crate::formats::{Capture, PhysError};

/// One level of page tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Level {
    /// Lowest virtual-address bit that indexes this level.
    pub shift: u32,
    /// How many bits index it.
    pub bits: u32,
    /// Whether an entry at this level may map a large page directly (when `large_page_bit` is set).
    pub large_pages: bool,
}

/// A paging scheme: levels from the root down, and the meaning of entry bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PagingScheme {
    /// Name shown to users.
    pub name: &'static str,
    /// Table levels, root first; the last maps 4 KiB pages.
    pub levels: &'static [Level],
    /// Bytes per table entry.
    pub entry_size: u64,
    /// Bits of an entry holding the next table's or page's physical address.
    pub frame_mask: u64,
    /// The present bit.
    pub present_bit: u32,
    /// The bit that makes a non-leaf entry map a large page.
    pub large_page_bit: u32,
    /// Linux's PROT_NONE bit: a leaf entry with it and without `present_bit` is present, its frame bits
    /// stored inverted (the L1TF mitigation). `None` where the architecture has no such quirk.
    pub prot_none_bit: Option<u32>,
    /// Highest implemented virtual-address bit; addresses must be sign-extended from it.
    pub va_top_bit: u32,
}

impl PagingScheme {
    /// The lowest address of the kernel half (the upper canonical half): `0xffff800000000000` with 4 levels,
    /// `0xff00000000000000` with 5.
    pub fn kernel_half_start(&self) -> u64 {
        u64::MAX << self.va_top_bit
    }
}

/// x86-64 with 4-level paging (48-bit virtual addresses).
pub const X86_64_4LEVEL: PagingScheme = PagingScheme {
    name: "x86-64 4-level",
    levels: &[
        Level {
            shift: 39,
            bits: 9,
            large_pages: false,
        },
        Level {
            shift: 30,
            bits: 9,
            large_pages: true,
        },
        Level {
            shift: 21,
            bits: 9,
            large_pages: true,
        },
        Level {
            shift: 12,
            bits: 9,
            large_pages: false,
        },
    ],
    entry_size: 8,
    frame_mask: 0x000f_ffff_ffff_f000,
    present_bit: 0,
    large_page_bit: 7,
    prot_none_bit: Some(8),
    va_top_bit: 47,
};

/// x86-64 with 5-level paging (57-bit virtual addresses).
pub const X86_64_5LEVEL: PagingScheme = PagingScheme {
    name: "x86-64 5-level",
    levels: &[
        Level {
            shift: 48,
            bits: 9,
            large_pages: false,
        },
        Level {
            shift: 39,
            bits: 9,
            large_pages: false,
        },
        Level {
            shift: 30,
            bits: 9,
            large_pages: true,
        },
        Level {
            shift: 21,
            bits: 9,
            large_pages: true,
        },
        Level {
            shift: 12,
            bits: 9,
            large_pages: false,
        },
    ],
    va_top_bit: 56,
    ..X86_64_4LEVEL
};

/// Why a virtual address could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MemoryError {
    /// The address is not canonical for the paging scheme.
    #[error("virtual address {0:#x} is not canonical")]
    NonCanonical(u64),
    /// No valid mapping: an entry on the way is not present.
    #[error("virtual address {0:#x} is not mapped")]
    NotMapped(u64),
    /// A page table or the page itself is not in the capture, or could not be read.
    #[error("virtual address {vaddr:#x}: {source}")]
    Physical { vaddr: u64, source: PhysError },
}

/// A translated address: where it is, and the size of the page that maps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Translation {
    /// The physical address.
    pub paddr: u64,
    /// Size of the mapping page (4 KiB, 2 MiB or 1 GiB on x86-64).
    pub page_size: u64,
}

/// One present page found by [`AddressSpace::present_pages`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MappedPage {
    /// Its virtual address.
    pub vaddr: u64,
    /// Its physical address.
    pub paddr: u64,
    /// Its size (4 KiB, 2 MiB or 1 GiB on x86-64).
    pub size: u64,
}

/// Bound on cached page translations before the cache is emptied.
const TLB_ENTRIES: usize = 1 << 16;

/// A virtual address space: a paging scheme and a root table over a capture.
pub struct AddressSpace {
    capture: Rc<Capture>,
    scheme: PagingScheme,
    root: u64,
    /// Page-aligned virtual address -> (page-aligned physical address, page size).
    tlb: RefCell<HashMap<u64, Translation>>,
}

impl AddressSpace {
    /// The address space whose top-level table is at physical address `root`.
    pub fn new(capture: Rc<Capture>, scheme: PagingScheme, root: u64) -> Self {
        AddressSpace {
            capture,
            scheme,
            root: root & scheme.frame_mask,
            tlb: RefCell::default(),
        }
    }

    /// The capture under this address space.
    pub fn capture(&self) -> &Rc<Capture> {
        &self.capture
    }

    /// The paging scheme.
    pub fn scheme(&self) -> PagingScheme {
        self.scheme
    }

    /// Physical address of the top-level table.
    pub fn root(&self) -> u64 {
        self.root
    }

    fn is_canonical(&self, vaddr: u64) -> bool {
        let top = self.scheme.va_top_bit;
        let high = vaddr >> top;
        high == 0 || high == (u64::MAX >> top)
    }

    /// Whether `vaddr` lies in the kernel half of this address space (canonical, top bit set).
    pub fn is_kernel_half(&self, vaddr: u64) -> bool {
        vaddr >= self.scheme.kernel_half_start()
    }

    /// Walk the tables for `vaddr`.
    pub fn translate(&self, vaddr: u64) -> Result<Translation, MemoryError> {
        let page = vaddr & !0xfff;
        if let Some(t) = self.tlb.borrow().get(&page) {
            let within = vaddr & (t.page_size - 1) & !0xfff;
            return Ok(Translation {
                paddr: t.paddr + within + (vaddr & 0xfff),
                page_size: t.page_size,
            });
        }
        let t = self.walk(vaddr)?;
        let mut tlb = self.tlb.borrow_mut();
        if tlb.len() >= TLB_ENTRIES {
            tlb.clear();
        }
        let base = t.paddr & !(t.page_size - 1);
        tlb.insert(
            page,
            Translation {
                paddr: base,
                page_size: t.page_size,
            },
        );
        Ok(t)
    }

    fn walk(&self, vaddr: u64) -> Result<Translation, MemoryError> {
        let s = &self.scheme;
        if !self.is_canonical(vaddr) {
            return Err(MemoryError::NonCanonical(vaddr));
        }
        let mut table = self.root;
        let last = s.levels.len() - 1;
        for (i, level) in s.levels.iter().enumerate() {
            let index = (vaddr >> level.shift) & ((1 << level.bits) - 1);
            let entry = self
                .capture
                .read_phys_u64(table + index * s.entry_size)
                .map_err(|source| MemoryError::Physical { vaddr, source })?;
            let leaf = i == last || (level.large_pages && entry & (1 << s.large_page_bit) != 0);
            let frame = if entry & (1 << s.present_bit) != 0 {
                entry & s.frame_mask
            } else if leaf && entry != 0 && s.prot_none_bit.is_some_and(|b| entry & (1 << b) != 0) {
                !entry & s.frame_mask
            } else {
                return Err(MemoryError::NotMapped(vaddr));
            };
            if leaf {
                let page_size = 1u64 << level.shift;
                let paddr = (frame & !(page_size - 1)) | (vaddr & (page_size - 1));
                return Ok(Translation { paddr, page_size });
            }
            table = frame;
        }
        Err(MemoryError::NotMapped(vaddr))
    }

    /// The present pages mapped in `start..end` of the lower (user) half, in address order, up to
    /// `max_bytes` of them: the page tables themselves are walked, a table at a time, so only what is
    /// mapped costs anything. Tables not in the capture are left out; the flag says the bound cut the walk.
    pub fn present_pages(&self, start: u64, end: u64, max_bytes: u64) -> (Vec<MappedPage>, bool) {
        let end = end.min(1u64 << self.scheme.va_top_bit);
        let mut walk = PageWalk {
            space: self,
            start,
            end,
            budget: max_bytes,
            pages: Vec::new(),
            cut: false,
        };
        if start < end {
            walk.table(self.root, 0, 0);
        }
        (walk.pages, walk.cut)
    }

    /// Fill `buf` with the bytes at virtual address `vaddr`; every page must be mapped and present.
    pub fn read(&self, vaddr: u64, buf: &mut [u8]) -> Result<(), MemoryError> {
        let mut done = 0usize;
        while done < buf.len() {
            let at = vaddr.wrapping_add(done as u64);
            let t = self.translate(at)?;
            let in_page = (t.page_size - (t.paddr & (t.page_size - 1))) as usize;
            let take = in_page.min(buf.len() - done).min(0x1000 - (at & 0xfff) as usize);
            self.capture
                .read_phys(t.paddr, &mut buf[done..done + take])
                .map_err(|source| MemoryError::Physical { vaddr: at, source })?;
            done += take;
        }
        Ok(())
    }

    /// Read a little-endian `u64` at `vaddr`.
    pub fn read_u64(&self, vaddr: u64) -> Result<u64, MemoryError> {
        let mut b = [0; 8];
        self.read(vaddr, &mut b)?;
        Ok(u64::from_le_bytes(b))
    }
}

/// A bounded walk of the present pages of a range (see [`AddressSpace::present_pages`]).
struct PageWalk<'a> {
    space: &'a AddressSpace,
    start: u64,
    end: u64,
    budget: u64,
    pages: Vec<MappedPage>,
    cut: bool,
}

impl PageWalk<'_> {
    fn table(&mut self, table: u64, depth: usize, base: u64) {
        let s = self.space.scheme;
        let level = s.levels[depth];
        let span = 1u64 << level.shift;
        let mut entries = vec![0u8; (s.entry_size << level.bits) as usize];
        if self.space.capture.read_phys(table, &mut entries).is_err() {
            return;
        }
        for (i, e) in entries.chunks_exact(s.entry_size as usize).enumerate() {
            let vaddr = base + i as u64 * span;
            if vaddr >= self.end || self.cut {
                return;
            }
            if vaddr + span <= self.start {
                continue;
            }
            let entry = u64::from_le_bytes(e.try_into().unwrap_or_default());
            if entry & (1 << s.present_bit) == 0 {
                continue;
            }
            let frame = entry & s.frame_mask;
            let leaf = depth == s.levels.len() - 1 || (level.large_pages && entry & (1 << s.large_page_bit) != 0);
            if !leaf {
                self.table(frame, depth + 1, vaddr);
                continue;
            }
            if span > self.budget {
                self.cut = true;
                return;
            }
            self.budget -= span;
            self.pages.push(MappedPage {
                vaddr,
                paddr: frame & !(span - 1),
                size: span,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::Capture;

    /// A raw capture with a 4-level hierarchy mapping: a 4 KiB page, a 2 MiB page and a PROT_NONE page.
    fn space() -> Capture {
        let mut mem = vec![0u8; 8 << 20];
        let mut put = |addr: usize, v: u64| mem[addr..addr + 8].copy_from_slice(&v.to_le_bytes());
        let vaddr: u64 = 0xffff_8880_0040_3000;
        let idx = |shift: u32| ((vaddr >> shift) & 0x1ff) as usize * 8;
        put(0x1000 + idx(39), 0x2000 | 1);
        put(0x2000 + idx(30), 0x3000 | 1);
        put(0x3000 + idx(21), 0x4000 | 1);
        put(0x4000 + idx(12), 0x5000 | 1);
        put(0x4000 + idx(12) + 8, !0x6000u64 & 0x000f_ffff_ffff_f000 | (1 << 8)); // PROT_NONE, inverted
        put(0x3000 + idx(21) + 8, 0x40_0000 | 1 | (1 << 7)); // the next 2 MiB: a large page at 4 MiB
        mem[0x5123] = 0xab;
        mem[0x6010] = 0xcd;
        mem[0x40_0000 + 0x1234] = 0xef;
        Capture::open(Box::new(mem)).unwrap()
    }

    #[test]
    fn present_pages_are_listed_in_order_and_bounded() {
        let mut mem = vec![0u8; 8 << 20];
        let mut put = |addr: usize, v: u64| mem[addr..addr + 8].copy_from_slice(&v.to_le_bytes());
        let vaddr: u64 = 0x7f00_0000_1000;
        let idx = |shift: u32| ((vaddr >> shift) & 0x1ff) as usize * 8;
        put(0x1000 + idx(39), 0x2000 | 1);
        put(0x2000 + idx(30), 0x3000 | 1);
        put(0x3000 + idx(21), 0x4000 | 1);
        put(0x4000 + idx(12), 0x5000 | 1);
        put(0x4000 + idx(12) + 8, 0x6000); // not present
        put(0x4000 + idx(12) + 16, 0x7000 | 1);
        put(0x3000 + idx(21) + 8, 0x40_0000 | 1 | (1 << 7)); // a 2 MiB page
        put(0x1000 + 511 * 8, 0x2000 | 1); // the kernel half: never listed
        let space = AddressSpace::new(Rc::new(Capture::open(Box::new(mem)).unwrap()), X86_64_4LEVEL, 0x1000);
        let (pages, cut) = space.present_pages(0, u64::MAX, u64::MAX);
        let got: Vec<(u64, u64, u64)> = pages.iter().map(|p| (p.vaddr, p.paddr, p.size)).collect();
        assert_eq!(
            got,
            [
                (vaddr, 0x5000, 0x1000),
                (vaddr + 0x2000, 0x7000, 0x1000),
                (0x7f00_0020_0000, 0x40_0000, 0x20_0000)
            ]
        );
        assert!(!cut);
        let (pages, cut) = space.present_pages(vaddr + 0x1000, u64::MAX, 0x1000);
        assert_eq!(pages.len(), 1);
        assert_eq!(pages[0].vaddr, vaddr + 0x2000);
        assert!(cut);
    }

    #[test]
    fn walks_five_levels_and_1g_pages() {
        let mut mem = vec![0u8; 4 << 20];
        let mut put = |addr: usize, v: u64| mem[addr..addr + 8].copy_from_slice(&v.to_le_bytes());
        // A 57-bit kernel address: only 5-level paging can map it.
        let vaddr: u64 = 0xff11_0000_0040_3000;
        let idx = |shift: u32| ((vaddr >> shift) & 0x1ff) as usize * 8;
        put(0x1000 + idx(48), 0x2000 | 1);
        put(0x2000 + idx(39), 0x3000 | 1);
        put(0x3000 + idx(30), 0x4000 | 1);
        put(0x4000 + idx(21), 0x5000 | 1);
        put(0x5000 + idx(12), 0x20_0000 | 1);
        // The next 1 GiB maps a 1 GiB page at physical 0 (PS bit at the PUD level).
        put(0x3000 + idx(30) + 8, 1 | (1 << 7));
        mem[0x20_0042] = 0x5a;
        let cap = Rc::new(Capture::open(Box::new(mem)).unwrap());
        let vm = AddressSpace::new(cap.clone(), X86_64_5LEVEL, 0x1000);
        let mut b = [0u8; 1];
        vm.read(vaddr + 0x42, &mut b).unwrap();
        assert_eq!(b[0], 0x5a);
        let giant = (vaddr & !0x3fff_ffff) + 0x4000_0000;
        assert_eq!(
            vm.translate(giant + 0x1000).unwrap(),
            Translation {
                paddr: 0x1000,
                page_size: 1 << 30
            }
        );
        // The same address is not canonical with 4 levels.
        let vm4 = AddressSpace::new(cap, X86_64_4LEVEL, 0x1000);
        assert_eq!(vm4.translate(vaddr), Err(MemoryError::NonCanonical(vaddr)));
    }

    #[test]
    fn walks_small_large_and_prot_none_pages() {
        let cap = Rc::new(space());
        let vm = AddressSpace::new(cap, X86_64_4LEVEL, 0x1000);
        let base = 0xffff_8880_0040_3000u64;
        let mut b = [0u8; 1];
        vm.read(base + 0x123, &mut b).unwrap();
        assert_eq!(b[0], 0xab);
        vm.read(base + 0x1010, &mut b).unwrap();
        assert_eq!(b[0], 0xcd);
        let large = (base & !0x1f_ffff) + 0x20_0000;
        assert_eq!(
            vm.translate(large + 0x1234).unwrap(),
            Translation {
                paddr: 0x40_1234,
                page_size: 0x20_0000
            }
        );
        vm.read(large + 0x1234, &mut b).unwrap();
        assert_eq!(b[0], 0xef);
        assert_eq!(vm.translate(base + 0x2000), Err(MemoryError::NotMapped(base + 0x2000)));
        assert_eq!(
            vm.translate(0x0000_9000_0000_0000),
            Err(MemoryError::NonCanonical(0x0000_9000_0000_0000))
        );
        // Cached translations give the same answers.
        vm.read(base + 0x123, &mut b).unwrap();
        assert_eq!(b[0], 0xab);
    }
}
