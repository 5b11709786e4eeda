//! `info`: what the capture is and which kernel it holds.

use serde::Serialize;

use crate::formats::{Capture, CaptureFormat};
use crate::kernel::Kernel;

/// One physical range of the capture.
#[derive(Debug, Clone, Serialize)]
pub struct PhysRange {
    /// First physical address.
    #[serde(with = "crate::hex")]
    pub start: u64,
    /// Last physical address (inclusive, as LiME and /proc/iomem write it).
    #[serde(with = "crate::hex")]
    pub end: u64,
    /// Size in bytes.
    pub size: u64,
}

/// The capture and its kernel.
#[derive(Debug, Clone, Serialize)]
pub struct Info {
    /// Container format.
    pub capture_format: CaptureFormat,
    /// Size of the capture file in bytes.
    pub file_size: u64,
    /// Bytes of physical memory the capture holds.
    pub physical_memory: u64,
    /// The physical ranges.
    pub ranges: Vec<PhysRange>,
    /// Whether the container carried a VMCOREINFO note.
    pub vmcoreinfo: bool,
    /// Release of the running kernel (`init_uts_ns`), e.g. `6.1.0-56-amd64`.
    pub kernel_release: Option<String>,
    /// The banner as it is in memory (`linux_banner`).
    pub banner: Option<String>,
    /// Host name of the initial UTS namespace.
    pub hostname: Option<String>,
    /// Name of the symbols file used, as the front end calls it.
    pub symbols: Option<String>,
    /// SHA-256 of the symbols file, hex.
    pub symbols_sha256: String,
    /// The banner the symbols were built for.
    pub symbols_banner: Option<String>,
    /// Paging scheme.
    pub paging_mode: String,
    /// Physical address of the kernel's top-level page table.
    #[serde(with = "crate::hex")]
    pub page_table_root: u64,
    /// KASLR virtual shift: run-time address minus link-time address.
    #[serde(with = "crate::hex")]
    pub kaslr_virtual_shift: u64,
    /// KASLR physical shift: a kernel-image symbol is at `link - 0xffffffff80000000 + shift` physically.
    #[serde(with = "crate::hex")]
    pub kaslr_physical_shift: u64,
    /// Run-time virtual address of `init_task`.
    #[serde(with = "crate::hex")]
    pub init_task: u64,
    /// Number of entries of the symbol table.
    pub symbol_count: usize,
}

/// Describe a capture whose kernel has been identified; `symbols_name` is how the front end names the
/// symbols file.
pub fn info(capture: &Capture, kernel: &Kernel, symbols_name: Option<String>) -> Info {
    let placement = kernel.placement();
    let symbols = kernel.symbols();
    let banner = kernel.banner();
    Info {
        capture_format: capture.format(),
        file_size: capture.file_size(),
        physical_memory: capture.phys_bytes(),
        ranges: capture
            .segments()
            .iter()
            .map(|s| PhysRange {
                start: s.phys_start,
                end: s.phys_end() - 1,
                size: s.len,
            })
            .collect(),
        vmcoreinfo: capture.vmcoreinfo().is_some(),
        kernel_release: kernel.uts_field("release").ok(),
        banner,
        hostname: kernel.uts_field("nodename").ok(),
        symbols: symbols_name,
        symbols_sha256: symbols.source_hash_hex(),
        symbols_banner: symbols.banner().map(str::to_string),
        paging_mode: placement.scheme.name.to_string(),
        page_table_root: placement.page_table_root,
        kaslr_virtual_shift: placement.virtual_shift,
        kaslr_physical_shift: placement.physical_shift,
        init_task: placement.init_task,
        symbol_count: symbols.symbol_count(),
    }
}
