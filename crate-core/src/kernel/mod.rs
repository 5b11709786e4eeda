//! A running kernel found in a capture: its symbols, its address space and the KASLR shifts, with typed
//! reads of its objects.

pub mod banner;
pub mod cgroups;
pub mod dentries;
pub mod files;
mod identify;
pub mod inodes;
pub mod layouts;
pub mod mm;
pub mod modules;
pub mod mounts;
pub mod net;
mod object;
pub mod overlay;
pub mod pagecache;
pub mod pages;
pub mod paths;
pub mod printk;
pub mod security;
pub mod skb;
pub mod slab;
pub mod sockets;
pub mod tasks;
#[cfg(test)]
pub(crate) mod testkit;
pub mod xarray;

use std::rc::Rc;

pub use identify::{identify, identify_from, probe_init_task, IdentifyError};
pub use object::{c_string, ListWalk, Object};

use crate::formats::Capture;
use crate::paging::{AddressSpace, MemoryError, PagingScheme};
use crate::symbols::{SymbolError, SymbolTable};

/// Start of the kernel image mapping on x86-64 (`__START_KERNEL_map`).
pub const START_KERNEL_MAP: u64 = 0xffff_ffff_8000_0000;

/// Why reading a kernel object failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KernelError {
    /// A type, member or symbol the reader needs is missing from the symbols.
    #[error(transparent)]
    Symbols(#[from] SymbolError),
    /// Memory holding the object could not be read.
    #[error("cannot read {what}{}", .source.as_ref().map(|e| format!(": {e}")).unwrap_or_else(|| ": page not in the capture".into()))]
    Memory {
        /// What was being read (`task_struct.comm at 0xffff...`).
        what: String,
        /// The underlying failure, where known.
        source: Option<MemoryError>,
    },
    /// The symbols describe a type in a way the reader cannot use.
    #[error("unexpected kernel layout: {0}")]
    Layout(String),
}

impl KernelError {
    pub(crate) fn memory(what: String, source: Option<MemoryError>) -> Self {
        KernelError::Memory { what, source }
    }
}

/// Where the kernel sits: the shifts KASLR applied and the page tables it runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    /// Added to a symbol's link-time address to get its run-time virtual address.
    pub virtual_shift: u64,
    /// A kernel-image symbol's physical address is `link address - START_KERNEL_MAP + physical_shift`.
    pub physical_shift: u64,
    /// Physical address of the kernel's top-level page table.
    pub page_table_root: u64,
    /// The paging scheme in use.
    pub scheme: PagingScheme,
    /// Run-time virtual address of `init_task`.
    pub init_task: u64,
}

/// The kernel of a capture, ready to be read.
pub struct Kernel {
    symbols: Rc<SymbolTable>,
    space: AddressSpace,
    placement: Placement,
    warnings: Vec<String>,
    /// The layouts of the structures that changed across versions, resolved on first use.
    layouts: std::cell::OnceCell<layouts::Layouts>,
    /// Facts derived from this capture once for later runs (see [`Kernel::memo`]).
    memo: std::cell::RefCell<std::collections::HashMap<String, Rc<dyn std::any::Any>>>,
}

impl std::fmt::Debug for Kernel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kernel")
            .field("placement", &self.placement)
            .finish_non_exhaustive()
    }
}

impl Kernel {
    /// The kernel with symbols `symbols` placed at `placement` in `capture`.
    pub fn new(capture: Rc<Capture>, symbols: Rc<SymbolTable>, placement: Placement) -> Kernel {
        let space = AddressSpace::new(capture, placement.scheme, placement.page_table_root);
        Kernel {
            symbols,
            space,
            placement,
            warnings: Vec::new(),
            layouts: std::cell::OnceCell::new(),
            memo: std::cell::RefCell::default(),
        }
    }

    /// A fact derived from this capture, computed by `make` on the first ask for `key` and kept for the
    /// kernel's life: for a costly read several analyses share (a scan of a process's memory), as a
    /// session runs one view after another on the same kernel. The capture does not change, so neither
    /// does the fact.
    pub fn memo<T: 'static>(&self, key: &str, make: impl FnOnce() -> T) -> Rc<T> {
        if let Some(v) = self.memo.borrow().get(key).and_then(|v| v.clone().downcast::<T>().ok()) {
            return v;
        }
        let v = Rc::new(make());
        self.memo.borrow_mut().insert(key.to_string(), v.clone());
        v
    }

    /// The symbol table.
    pub fn symbols(&self) -> &SymbolTable {
        &self.symbols
    }

    /// The capture.
    pub fn capture(&self) -> &Capture {
        self.space.capture()
    }

    /// KASLR shifts and page tables.
    pub fn placement(&self) -> Placement {
        self.placement
    }

    /// What identification noticed but did not fail on.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Run-time virtual address of a symbol.
    pub fn symbol_addr(&self, name: &str) -> Result<u64, KernelError> {
        Ok(self.symbols.address(name)?.wrapping_add(self.placement.virtual_shift))
    }

    /// Whether `p` can point into the kernel (the upper half of this capture's address space).
    pub fn is_kernel_pointer(&self, p: u64) -> bool {
        self.space.is_kernel_half(p)
    }

    /// The address space of a process whose top-level page table (`mm->pgd`, a kernel virtual address)
    /// is at `pgd`: the same capture and paging scheme as the kernel's.
    pub fn user_space(&self, pgd: u64) -> Result<AddressSpace, MemoryError> {
        let root = self.space.translate(pgd)?.paddr;
        Ok(AddressSpace::new(
            self.space.capture().clone(),
            self.placement.scheme,
            root,
        ))
    }

    /// Read virtual memory.
    pub fn read(&self, vaddr: u64, buf: &mut [u8]) -> Result<(), MemoryError> {
        self.space.read(vaddr, buf)
    }

    /// Read a `u64` of virtual memory.
    pub fn read_u64(&self, vaddr: u64) -> Result<u64, MemoryError> {
        self.space.read_u64(vaddr)
    }

    /// Read a `u32` of virtual memory.
    pub fn read_u32(&self, vaddr: u64) -> Result<u32, MemoryError> {
        let mut b = [0u8; 4];
        self.read(vaddr, &mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    /// Read a NUL-terminated string of at most `max` bytes at `vaddr`, stopping at an unmapped page.
    pub fn read_c_string(&self, vaddr: u64, max: usize) -> Result<String, KernelError> {
        let mut out = Vec::new();
        let mut at = vaddr;
        while out.len() < max {
            let take = (0x1000 - (at & 0xfff) as usize).min(max - out.len());
            let mut chunk = vec![0u8; take];
            if let Err(e) = self.read(at, &mut chunk) {
                if out.is_empty() {
                    return Err(KernelError::memory(format!("string at {vaddr:#x}"), Some(e)));
                }
                break;
            }
            if let Some(end) = memchr::memchr(0, &chunk) {
                out.extend_from_slice(&chunk[..end]);
                break;
            }
            out.extend_from_slice(&chunk);
            at = at.wrapping_add(take as u64);
        }
        Ok(String::from_utf8_lossy(&out).into_owned())
    }

    /// Read a struct of type `type_name` at `vaddr`.
    pub fn object(&self, type_name: &str, vaddr: u64) -> Result<Object<'_>, KernelError> {
        Object::read(self, type_name, vaddr)
    }

    /// Read the global variable `symbol` as its type (or as `type_name` when the symbol has none).
    pub fn global(&self, symbol: &str, type_name: &str) -> Result<Object<'_>, KernelError> {
        self.object(type_name, self.symbol_addr(symbol)?)
    }

    /// A field of the initial UTS namespace's `new_utsname` (`release`, `nodename`, `version`...): what
    /// `uname` reports on the host.
    pub fn uts_field(&self, field: &str) -> Result<String, KernelError> {
        self.global("init_uts_ns", "uts_namespace")?
            .member("name")?
            .string(field)
    }

    /// `linux_banner` as memory holds it, without its trailing newline.
    pub fn banner(&self) -> Option<String> {
        let at = self.symbol_addr("linux_banner").ok()?;
        self.read_c_string(at, 1024).ok().map(|b| b.trim_end().to_string())
    }

    /// Physical address of a kernel-image symbol, without page tables.
    pub fn image_phys(&self, link_addr: u64) -> u64 {
        link_addr
            .wrapping_sub(START_KERNEL_MAP)
            .wrapping_add(self.placement.physical_shift)
    }
}

#[cfg(test)]
mod tests {
    use super::testkit::Memory;

    #[test]
    fn memos_are_computed_once_per_key_and_type() {
        let kernel = Memory::new().kernel(
            r#"{"metadata": {"format": "6.2.0"}, "base_types": {}, "user_types": {}, "enums": {}, "symbols": {}}"#,
        );
        assert_eq!(*kernel.memo("a", || 1u32), 1);
        assert_eq!(*kernel.memo("a", || 2u32), 1, "kept");
        assert_eq!(*kernel.memo("b", || 3u32), 3);
        assert_eq!(
            *kernel.memo("a", || "other type"),
            "other type",
            "another type is computed afresh"
        );
    }
}
