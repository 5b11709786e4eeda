//! A kernel made up for unit tests: a small ISF and 8 MiB of physical memory whose page tables map the kernel
//! image's first 2 MiB (`0xffffffff81000000`, no KASLR), so each layout a reader chooses between can be
//! exercised, including ones no corpus capture holds. Real captures remain the tests that count.

use std::rc::Rc;

use super::{Kernel, Placement};
use crate::formats::Capture;
use crate::paging::X86_64_4LEVEL;
use crate::symbols::SymbolTable;

/// Link-time (and here run-time) address of the kernel image's first byte.
pub const IMAGE: u64 = 0xffff_ffff_8100_0000;
/// Where the image's 2 MiB page sits in physical memory.
const IMAGE_PHYS: usize = 0x40_0000;

/// Physical memory under construction.
pub struct Memory(Vec<u8>);

impl Memory {
    /// Page tables mapping `IMAGE..IMAGE + 2 MiB` with one large page; everything else zero.
    pub fn new() -> Memory {
        let mut mem = vec![0u8; 8 << 20];
        let idx = |shift: u32| ((IMAGE >> shift) & 0x1ff) as usize * 8;
        let mut put = |addr: usize, v: u64| mem[addr..addr + 8].copy_from_slice(&v.to_le_bytes());
        put(0x1000 + idx(39), 0x2000 | 1);
        put(0x2000 + idx(30), 0x3000 | 1);
        put(0x3000 + idx(21), IMAGE_PHYS as u64 | 1 | 1 << 7);
        Memory(mem)
    }

    /// Write `bytes` at kernel-image virtual address `vaddr`.
    pub fn write(&mut self, vaddr: u64, bytes: &[u8]) {
        let at = IMAGE_PHYS + usize::try_from(vaddr - IMAGE).expect("address in the image");
        self.0[at..at + bytes.len()].copy_from_slice(bytes);
    }

    /// The kernel over this memory, with symbols from `isf` (ISF JSON; addresses are run-time ones).
    pub fn kernel(self, isf: &str) -> Kernel {
        let symbols = SymbolTable::from_isf(isf.as_bytes()).expect("test ISF");
        let capture = Capture::open(Box::new(self.0)).expect("raw capture");
        Kernel::new(
            Rc::new(capture),
            Rc::new(symbols),
            Placement {
                virtual_shift: 0,
                physical_shift: (IMAGE_PHYS as u64).wrapping_sub(IMAGE - super::START_KERNEL_MAP),
                page_table_root: 0x1000,
                scheme: X86_64_4LEVEL,
                init_task: IMAGE,
            },
        )
    }
}

/// An ISF of `user_types` and `symbols` (what goes inside those two objects), with the base types the
/// test kernels' members are made of: `pointer`, `char`, `unsigned char`, `short unsigned int`,
/// `unsigned int`, `long unsigned int`.
pub fn isf(user_types: &str, symbols: &str) -> String {
    let base = |name: &str, size: u32, kind: &str| {
        format!(r#""{name}": {{"size": {size}, "signed": false, "kind": "{kind}", "endian": "little"}}"#)
    };
    let base_types = [
        base("pointer", 8, "int"),
        base("char", 1, "char"),
        base("unsigned char", 1, "char"),
        base("short unsigned int", 2, "int"),
        base("unsigned int", 4, "int"),
        base("long unsigned int", 8, "int"),
    ]
    .join(", ");
    format!(
        r#"{{"metadata": {{"format": "6.2.0"}}, "base_types": {{{base_types}}},
          "user_types": {{{user_types}}}, "enums": {{}}, "symbols": {{{symbols}}}}}"#
    )
}
