//! Finding the kernel in a capture: where `init_task` is in physical memory, the KASLR shifts, the page
//! tables and the paging mode, each confirmed by reading memory back.
//!
//! The kernel image is loaded at a 2 MiB-aligned physical address, so a symbol's physical address is known
//! modulo 2 MiB from its link address alone. The probe reads `init_task.comm` ("swapper/0") at that
//! offset in every 2 MiB of the capture: a few hundred small reads, not a scan.

use std::rc::Rc;

use super::{Kernel, KernelError, Placement, START_KERNEL_MAP};
use crate::formats::Capture;
use crate::paging::{AddressSpace, PagingScheme, X86_64_4LEVEL, X86_64_5LEVEL};
use crate::symbols::index::ProbeInfo;
use crate::symbols::{SymbolError, SymbolTable};

/// The kernel image's physical and virtual alignment on x86-64.
const IMAGE_ALIGN: u64 = 2 << 20;
/// Span of the kernel image mapping searched for the virtual shift.
const IMAGE_WINDOW: u64 = 1 << 30;
/// Bound on the tasks visited when checking that init_task's list closes.
const MAX_TASKS: usize = 1 << 20;
/// Names of the kernel's top-level page table across versions.
const PAGE_TABLE_SYMBOLS: [&str; 3] = ["init_top_pgt", "swapper_pg_dir", "init_level4_pgt"];

/// Why no kernel could be identified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentifyError {
    /// The symbols lack what identification needs.
    #[error("the symbols cannot be used: {0}")]
    Symbols(#[from] SymbolError),
    /// No `init_task` of these symbols was found in the capture.
    #[error("no Linux kernel matching these symbols was found in the capture (init_task not found)")]
    NotFound,
    /// A kernel was found, but not the one these symbols describe.
    #[error("the symbols are for {expected} but the capture runs {found}")]
    WrongKernel {
        /// What the symbols describe.
        expected: String,
        /// What memory says.
        found: String,
    },
    /// init_task was found but the page tables could not be confirmed.
    #[error("init_task found at physical {init_task:#x}, but the kernel page tables do not map it: {detail}")]
    NoPageTables { init_task: u64, detail: String },
    /// Reading what identification needs failed.
    #[error(transparent)]
    Kernel(#[from] KernelError),
}

/// Physical addresses where an `init_task` of this build may be, lowest first: its comm reads
/// "swapper/0" (or the old "swapper") and its pid is 0. Lazy: a caller that stops at the first good one
/// reads only up to it.
pub fn probe_init_task<'c>(capture: &'c Capture, probe: &ProbeInfo) -> impl Iterator<Item = u64> + 'c {
    let probe = *probe;
    let comm_image = probe
        .init_task
        .wrapping_add(probe.comm_offset)
        .wrapping_sub(START_KERNEL_MAP);
    let target = comm_image % IMAGE_ALIGN;
    capture
        .segments()
        .iter()
        .flat_map(move |seg| {
            let first = seg.phys_start - seg.phys_start % IMAGE_ALIGN + target;
            let start = if first < seg.phys_start {
                first.checked_add(IMAGE_ALIGN)
            } else {
                Some(first)
            };
            std::iter::successors(start, |c| c.checked_add(IMAGE_ALIGN))
                .take_while(move |c| c.saturating_add(16) <= seg.phys_end())
        })
        .filter(move |&comm| is_init_task_at(capture, &probe, comm))
        .map(move |comm| comm - probe.comm_offset)
}

fn is_init_task_at(capture: &Capture, probe: &ProbeInfo, comm: u64) -> bool {
    let mut name = [0u8; 16];
    // A few bytes in every 2 MiB of the capture: peeked, so the probe does not fill the cache.
    if capture.peek_phys(comm, &mut name).is_err() {
        return false;
    }
    let named = name.starts_with(b"swapper/0\0") || name.starts_with(b"swapper\0");
    let mut pid = [0u8; 4];
    let pid_at = comm.wrapping_sub(probe.comm_offset).wrapping_add(probe.pid_offset);
    named && capture.peek_phys(pid_at, &mut pid).is_ok() && pid == [0; 4]
}

/// Hints from a VMCOREINFO note: `KERNELOFFSET` (the virtual shift) and `NUMBER(phys_base)`.
fn vmcoreinfo_hints(capture: &Capture) -> (Option<u64>, Option<u64>) {
    (
        capture.vmcoreinfo_hex("KERNELOFFSET"),
        capture.vmcoreinfo_number("NUMBER(phys_base)"),
    )
}

/// Find and confirm the kernel that `symbols` describe in `capture`.
pub fn identify(capture: Rc<Capture>, symbols: Rc<SymbolTable>) -> Result<Kernel, IdentifyError> {
    let probe = ProbeInfo::of(&symbols)?;
    let init_image = probe.init_task.wrapping_sub(START_KERNEL_MAP);
    let (hint_shift, hint_phys_base) = vmcoreinfo_hints(&capture);
    // The VMCOREINFO hint first, where there is one, then the probe.
    let hinted = match (hint_shift, hint_phys_base) {
        (Some(shift), Some(base)) => Some(init_image.wrapping_add(shift).wrapping_add(base))
            .filter(|at| is_init_task_at(&capture, &probe, at.wrapping_add(probe.comm_offset))),
        _ => None,
    };
    let candidates = hinted.into_iter().chain(probe_init_task(&capture, &probe));
    identify_among(capture.clone(), symbols, &probe, candidates, hint_shift)
}

/// [`identify`] when a probe has already found `init_task` at physical `init_task_phys` (the symbols
/// index's probe): that place is tried first, and the probe runs again only if it fails.
pub fn identify_from(
    capture: Rc<Capture>,
    symbols: Rc<SymbolTable>,
    init_task_phys: u64,
) -> Result<Kernel, IdentifyError> {
    let probe = ProbeInfo::of(&symbols)?;
    let hint_shift = vmcoreinfo_hints(&capture).0;
    let rest = probe_init_task(&capture, &probe).filter(move |&p| p != init_task_phys);
    identify_among(
        capture.clone(),
        symbols,
        &probe,
        std::iter::once(init_task_phys).chain(rest),
        hint_shift,
    )
}

/// Place and confirm the kernel at the first of `candidates` (physical addresses of `init_task`) that works.
fn identify_among(
    capture: Rc<Capture>,
    symbols: Rc<SymbolTable>,
    probe: &ProbeInfo,
    candidates: impl Iterator<Item = u64>,
    hint_shift: Option<u64>,
) -> Result<Kernel, IdentifyError> {
    let mut last_error = IdentifyError::NotFound;
    for init_phys in candidates {
        match place(&capture, &symbols, probe, init_phys, hint_shift) {
            Ok(placement) => return confirm(Kernel::new(capture.clone(), symbols, placement)),
            Err(e) => last_error = e,
        }
    }
    Err(last_error)
}

/// Work out the page tables and shifts given init_task's physical address.
fn place(
    capture: &Rc<Capture>,
    symbols: &SymbolTable,
    probe: &ProbeInfo,
    init_phys: u64,
    hint_shift: Option<u64>,
) -> Result<Placement, IdentifyError> {
    let physical_shift = init_phys.wrapping_sub(probe.init_task.wrapping_sub(START_KERNEL_MAP));
    let image_phys = |link: u64| link.wrapping_sub(START_KERNEL_MAP).wrapping_add(physical_shift);
    let pgd = PAGE_TABLE_SYMBOLS
        .iter()
        .find_map(|name| symbols.symbol(name).ok().flatten())
        .ok_or_else(|| SymbolError::MissingSymbol(PAGE_TABLE_SYMBOLS.join(" or ")))?;
    let root = image_phys(pgd.address);
    let five_level = match symbols.symbol("__pgtable_l5_enabled")? {
        Some(s) => {
            let mut v = [0u8; 4];
            capture.read_phys(image_phys(s.address), &mut v).is_ok() && v != [0; 4]
        }
        None => false,
    };
    let scheme: PagingScheme = if five_level { X86_64_5LEVEL } else { X86_64_4LEVEL };
    let space = AddressSpace::new(capture.clone(), scheme, root);
    let maps_init_task = |shift: u64| {
        space
            .translate(probe.init_task.wrapping_add(shift))
            .is_ok_and(|t| t.paddr == init_phys)
    };

    // Pointers that init_task holds to other kernel-image objects give the shift directly.
    let mut shifts: Vec<u64> = hint_shift.into_iter().collect();
    let task = symbols.layout("task_struct")?;
    for (member, target) in [("nsproxy", "init_nsproxy"), ("files", "init_files"), ("fs", "init_fs")] {
        if let (Ok((offset, _)), Ok(Some(sym))) = (task.field(member), symbols.symbol(target)) {
            if let Ok(ptr) = capture.read_phys_u64(init_phys + offset) {
                shifts.push(ptr.wrapping_sub(sym.address));
            }
        }
    }
    let found = shifts
        .into_iter()
        .find(|&s| s % IMAGE_ALIGN == 0 && maps_init_task(s))
        .or_else(|| {
            (0..IMAGE_WINDOW / IMAGE_ALIGN)
                .map(|k| k * IMAGE_ALIGN)
                .find(|&s| maps_init_task(s))
        });
    let virtual_shift = found.ok_or_else(|| IdentifyError::NoPageTables {
        init_task: init_phys,
        detail: format!("no KASLR shift maps it through the {} tables at {root:#x}", scheme.name),
    })?;
    let init_task = probe.init_task.wrapping_add(virtual_shift);
    Ok(Placement {
        virtual_shift,
        physical_shift,
        page_table_root: root,
        scheme,
        init_task,
    })
}

/// Check the identified kernel by reading it back: init_task's pid and comm through the page tables, the
/// release the symbols name, and that the task list closes.
fn confirm(mut kernel: Kernel) -> Result<Kernel, IdentifyError> {
    let init = kernel.global("init_task", "task_struct")?;
    if init.i64("pid")? != 0 || !init.string("comm")?.starts_with("swapper") {
        return Err(IdentifyError::NotFound);
    }
    if let (Some(expected), Ok(found)) = (kernel.symbols().release(), kernel.uts_field("release")) {
        if expected != found {
            return Err(IdentifyError::WrongKernel {
                expected: expected.to_string(),
                found,
            });
        }
    }
    let head = init.field_addr("tasks")?;
    let walk = kernel.walk_list(head, "task_struct", "tasks", MAX_TASKS)?;
    drop(init);
    if let Some(problem) = walk.problem {
        kernel.warnings.push(problem);
    }
    Ok(kernel)
}
