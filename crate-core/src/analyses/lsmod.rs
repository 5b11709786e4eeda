//! `lsmod`: the loaded kernel modules as `/proc/modules` prints them, read from the kernel's module list
//! (`modules`, each `struct module` linked through `list`), in list order (the newest module first).
//!
//! Where the symbols give `struct module` a `mem` member (an array of `module_memory` indexed by
//! `enum mod_mem_type`), `size` is the sum of every `mem[type].size` and `address` is `mem[MOD_TEXT].base`;
//! where they give `core_layout` instead, `size` is `core_layout.size + init_layout.size` (plus
//! `data_layout.size` where there is one) and `address` is `core_layout.base`. `refcount` is
//! `refcnt.counter - MODULE_REF_BASE`, `used_by` the modules on `source_list` (each `module_use.source`)
//! followed by `[permanent]` for a module with an init routine and no exit routine, and `taints` the
//! module's taint letters (`module.taints`) from the kernel's own `taint_flags` table (or, where the
//! symbols do not type it, the kernel source's). Modules still being formed (`MODULE_STATE_UNFORMED`) are
//! left out, as `/proc/modules` leaves them out.

use std::collections::HashMap;

use serde::Serialize;

use super::Analysis;
use crate::kernel::{Kernel, KernelError, Object};
use crate::symbols::{Symbol, TypeRef};

/// Most modules read from the module list.
const MAX_MODULES: usize = 1 << 16;
/// Most users read from one module's `source_list`.
const MAX_USERS: usize = 1 << 12;
/// Most `module_memory` entries read from `struct module.mem`.
const MAX_MEM_TYPES: u64 = 64;
/// `MODULE_REF_BASE`: the reference the module's own load holds, which `/proc/modules` does not count.
const MODULE_REF_BASE: i64 = 1;
/// What `/proc/modules` prints among the users of a module that can never be unloaded.
pub const PERMANENT: &str = "[permanent]";

/// One loaded module, as a line of `/proc/modules`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModuleRow {
    /// `module.name`.
    pub name: String,
    /// Bytes of memory the module occupies, as `/proc/modules` counts them.
    pub size: u64,
    /// Load address: the base of the module's text (`mem[MOD_TEXT].base`, or `core_layout.base`).
    #[serde(with = "crate::hex")]
    pub address: u64,
    /// References held on the module (`refcnt - MODULE_REF_BASE`); null where the kernel has no `refcnt`
    /// (built without module unloading) or it could not be read.
    pub refcount: Option<i64>,
    /// `Live`, `Loading` (`MODULE_STATE_COMING`) or `Unloading` (`MODULE_STATE_GOING`).
    pub state: String,
    /// Names of the modules that use this one (its `source_list`), in list order, and `[permanent]` for a
    /// module with an init routine but no exit routine.
    pub used_by: Vec<String>,
    /// The module's taint letters as `/proc/modules` prints them in parentheses (`OE`); empty for none. (The
    /// `+` or `-` the kernel adds there for a loading or unloading module is in `state`.)
    pub taints: String,
    /// Address of the `struct module`.
    #[serde(with = "crate::hex")]
    pub module_addr: u64,
}

/// `taint_flags[]` as kernel/panic.c defines it: the letter of each taint bit, and whether it is also a
/// per-module flag (the `module` member). Used where the kernel's own table cannot be read.
pub const TAINT_FLAGS: [(char, bool); 20] = [
    ('P', true),  // PROPRIETARY_MODULE
    ('F', true),  // FORCED_MODULE
    ('S', false), // CPU_OUT_OF_SPEC
    ('R', false), // FORCED_RMMOD
    ('M', false), // MACHINE_CHECK
    ('B', false), // BAD_PAGE
    ('U', false), // USER
    ('D', false), // DIE
    ('A', false), // OVERRIDDEN_ACPI_TABLE
    ('W', false), // WARN
    ('C', true),  // CRAP (staging)
    ('I', false), // FIRMWARE_WORKAROUND
    ('O', true),  // OOT_MODULE
    ('E', true),  // UNSIGNED_MODULE
    ('L', false), // SOFTLOCKUP
    ('K', true),  // LIVEPATCH
    ('X', true),  // AUX
    ('T', true),  // RANDSTRUCT
    ('N', true),  // TEST
    ('J', true),  // FWCTL
];

/// The letters `module_flags_taint` prints for `taints`: for each bit `i` set, `table[i]`'s letter where
/// that entry is a module flag. Bits past the table are not printed (the kernel's loop stops at
/// `TAINT_FLAGS_COUNT`).
pub fn taint_letters(taints: u64, table: &[(char, bool)]) -> String {
    table
        .iter()
        .take(64)
        .enumerate()
        .filter(|&(i, &(_, module))| module && taints >> i & 1 == 1)
        .map(|(_, &(c, _))| c)
        .collect()
}

/// The kernel's own `taint_flags` table, read from memory: each entry's letter and whether it is a
/// per-module flag (every entry is, on kernels whose `taint_flag` has no `module` member: they print every
/// set bit). `None` where the symbols give `taint_flags` no array type (an ISF made from BTF, which types
/// few variables): its length is then unknown. An error where it cannot be read or a letter is implausible.
pub fn kernel_taint_table(kernel: &Kernel) -> Result<Option<Vec<(char, bool)>>, String> {
    let symbols = kernel.symbols();
    let count = match symbols.symbol("taint_flags") {
        Ok(Some(Symbol {
            ty: Some(TypeRef::Array { count, .. }),
            ..
        })) => count.min(64),
        _ => return Ok(None),
    };
    let flag = symbols.layout("taint_flag").map_err(|e| e.to_string())?;
    let base = kernel.symbol_addr("taint_flags").map_err(|e| e.to_string())?;
    (0..count)
        .map(|i| {
            let f = kernel
                .object("taint_flag", base.wrapping_add(i * flag.size()))
                .map_err(|e| e.to_string())?;
            let c = f.u64("c_true").map_err(|e| e.to_string())? as u8 as char;
            if !c.is_ascii_uppercase() {
                return Err(format!("taint_flags[{i}] has letter {c:?}"));
            }
            let module = !flag.has_field("module") || f.u64("module").map_err(|e| e.to_string())? != 0;
            Ok((c, module))
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// The taint table module taints are printed with: [`kernel_taint_table`]; where the symbols do not
/// describe it, [`TAINT_FLAGS`] (its letters and module flags have only grown since Linux 4.10, and a
/// module's taint bits are only ever ones its kernel defines), every entry printed where `taint_flag` has
/// no `module` member; the same with a warning where the kernel's table cannot be read.
fn taint_table(kernel: &Kernel, warnings: &mut Vec<String>) -> Vec<(char, bool)> {
    let built_in = || {
        let every = kernel
            .symbols()
            .layout("taint_flag")
            .is_ok_and(|l| !l.has_field("module"));
        TAINT_FLAGS.iter().map(|&(c, module)| (c, module || every)).collect()
    };
    match kernel_taint_table(kernel) {
        Ok(Some(table)) => table,
        Ok(None) => built_in(),
        Err(e) => {
            warnings.push(format!(
                "taint_flags unreadable ({e}); module taint letters from the kernel source's table"
            ));
            built_in()
        }
    }
}

/// Where a module's memory is described, decided once from the symbols.
enum MemoryLayout {
    /// `struct module.mem[count]` of `module_memory` (`stride` bytes each) at `offset`; `text` indexes the
    /// module's text.
    Mem {
        offset: u64,
        element: String,
        stride: u64,
        count: u64,
        text: u64,
    },
    /// `core_layout` (base and size), `init_layout` and any other `*_layout` members the size sums.
    Layouts { parts: Vec<&'static str> },
}

impl MemoryLayout {
    fn of(kernel: &Kernel) -> Result<MemoryLayout, KernelError> {
        let symbols = kernel.symbols();
        let module = symbols.layout("module")?;
        if module.has_field("mem") {
            let (offset, ty) = module.field("mem")?;
            let TypeRef::Array { count, element } = ty else {
                return Err(KernelError::Layout(format!("module.mem is not an array ({ty:?})")));
            };
            let name = element
                .user_name()
                .ok_or_else(|| KernelError::Layout(format!("module.mem holds {element:?}, not a struct")))?;
            let stride = symbols.size_of(element)?;
            let enum_count = symbols
                .enum_constant("mod_mem_type", "MOD_MEM_NUM_TYPES")
                .and_then(|n| u64::try_from(n).ok());
            let count = enum_count.map_or(*count, |n| n.min(*count)).min(MAX_MEM_TYPES);
            let text = symbols
                .enum_constant("mod_mem_type", "MOD_TEXT")
                .and_then(|n| u64::try_from(n).ok())
                .unwrap_or(0);
            if text >= count || stride == 0 {
                return Err(KernelError::Layout(format!(
                    "module.mem has {count} entries of {stride} bytes; MOD_TEXT is {text}"
                )));
            }
            return Ok(MemoryLayout::Mem {
                offset,
                element: name.to_string(),
                stride,
                count,
                text,
            });
        }
        if module.has_field("core_layout") {
            let parts = ["core_layout", "init_layout", "data_layout"]
                .into_iter()
                .filter(|p| module.has_field(p))
                .collect();
            return Ok(MemoryLayout::Layouts { parts });
        }
        Err(KernelError::Layout(
            "struct module has neither mem nor core_layout".into(),
        ))
    }

    /// Total size and text base of one module.
    fn size_and_base(&self, kernel: &Kernel, m: &Object) -> Result<(u64, u64), KernelError> {
        match self {
            MemoryLayout::Mem {
                offset,
                element,
                stride,
                count,
                text,
            } => {
                let (mut size, mut base) = (0u64, 0u64);
                for i in 0..*count {
                    let mem = kernel.object(element, m.addr().wrapping_add(offset + i * stride))?;
                    size = size.wrapping_add(mem.u64("size")?);
                    if i == *text {
                        base = mem.pointer("base")?;
                    }
                }
                Ok((size, base))
            }
            MemoryLayout::Layouts { parts } => {
                let mut size = 0u64;
                for p in parts {
                    size = size.wrapping_add(m.member(p)?.u64("size")?);
                }
                Ok((size, m.member("core_layout")?.pointer("base")?))
            }
        }
    }
}

/// `enum module_state` values, from the symbols (the values every kernel has used where they lack it).
struct States {
    live: u64,
    coming: u64,
    going: u64,
    unformed: u64,
}

impl States {
    fn of(kernel: &Kernel) -> States {
        let c = |name: &str, default: u64| {
            kernel
                .symbols()
                .enum_constant("module_state", name)
                .and_then(|v| u64::try_from(v).ok())
                .unwrap_or(default)
        };
        States {
            live: c("MODULE_STATE_LIVE", 0),
            coming: c("MODULE_STATE_COMING", 1),
            going: c("MODULE_STATE_GOING", 2),
            unformed: c("MODULE_STATE_UNFORMED", 3),
        }
    }

    /// The word `/proc/modules` prints; `None` for a value that is no state.
    fn word(&self, v: u64) -> Option<&'static str> {
        match v {
            v if v == self.live => Some("Live"),
            v if v == self.coming => Some("Loading"),
            v if v == self.going => Some("Unloading"),
            _ => None,
        }
    }
}

/// A module read from the list: what every row needs, before its users are named.
struct Read<'k> {
    object: Object<'k>,
    name: String,
    state: u64,
}

/// Every loaded module on the kernel's module list, in list order.
pub fn lsmod(kernel: &Kernel) -> Result<Analysis<ModuleRow>, KernelError> {
    let head = kernel.symbol_addr("modules")?;
    let layout = MemoryLayout::of(kernel)?;
    let states = States::of(kernel);
    let mut warnings = Vec::new();
    let walk = kernel.walk_list(head, "module", "list", MAX_MODULES)?;
    warnings.extend(walk.problem);

    let mut modules = Vec::new();
    for addr in walk.items {
        let read = kernel
            .object("module", addr)
            .and_then(|m| Ok((m.string("name")?, m.u64("state")?, m)));
        match read {
            Ok((name, state, object)) => modules.push(Read { object, name, state }),
            Err(e) => warnings.push(format!("module at {addr:#x}: {e}")),
        }
    }
    let names: HashMap<u64, &str> = modules.iter().map(|m| (m.object.addr(), m.name.as_str())).collect();
    let mut table = None;

    let mut rows = Vec::new();
    for m in &modules {
        if m.state == states.unformed {
            continue;
        }
        let (name, addr) = (&m.name, m.object.addr());
        let (size, address) = match layout.size_and_base(kernel, &m.object) {
            Ok(v) => v,
            Err(e) => {
                warnings.push(format!("module {name} at {addr:#x}: size and address: {e}"));
                continue;
            }
        };
        let state = match states.word(m.state) {
            Some(w) => w.to_string(),
            None => {
                warnings.push(format!(
                    "module {name} at {addr:#x}: state {} is no module_state",
                    m.state
                ));
                format!("unknown ({})", m.state)
            }
        };
        let refcount = if m.object.has("refcnt") {
            match m.object.member("refcnt").and_then(|r| r.i64("counter")) {
                Ok(n) => Some(n - MODULE_REF_BASE),
                Err(e) => {
                    warnings.push(format!("module {name} at {addr:#x}: refcnt: {e}"));
                    None
                }
            }
        } else {
            None
        };
        let used_by = users(kernel, &m.object, name, &names, &mut warnings);
        let taints = match m.object.u64("taints") {
            Ok(0) => String::new(),
            Ok(t) => taint_letters(t, table.get_or_insert_with(|| taint_table(kernel, &mut warnings))),
            Err(e) => {
                warnings.push(format!("module {name} at {addr:#x}: taints: {e}"));
                String::new()
            }
        };
        rows.push(ModuleRow {
            name: name.clone(),
            size,
            address,
            refcount,
            state,
            used_by,
            taints,
            module_addr: addr,
        });
    }
    Ok(Analysis { rows, warnings })
}

/// The names of the modules using `m` (its `source_list` of `module_use`, each one's `source`), and
/// `[permanent]` where `m` has an init routine but no exit routine; problems become warnings. Kernels
/// built without module unloading have none of these members, and print no users.
fn users(
    kernel: &Kernel,
    m: &Object,
    name: &str,
    names: &HashMap<u64, &str>,
    warnings: &mut Vec<String>,
) -> Vec<String> {
    let mut out = Vec::new();
    let at = m.addr();
    if m.has("source_list") {
        let walk = m
            .field_addr("source_list")
            .and_then(|head| kernel.walk_list(head, "module_use", "source_list", MAX_USERS));
        match walk {
            Ok(walk) => {
                if let Some(p) = walk.problem {
                    warnings.push(format!("module {name} at {at:#x}: users: {p}"));
                }
                for u in walk.items {
                    let source = kernel.object("module_use", u).and_then(|u| u.pointer("source"));
                    let source_name = source.and_then(|s| match names.get(&s) {
                        Some(n) => Ok(n.to_string()),
                        None => kernel.object("module", s)?.string("name"),
                    });
                    match source_name {
                        Ok(n) => out.push(n),
                        Err(e) => warnings.push(format!("module {name} at {at:#x}: user at {u:#x}: {e}")),
                    }
                }
            }
            Err(e) => warnings.push(format!("module {name} at {at:#x}: users: {e}")),
        }
    }
    if m.has("exit") {
        match (m.pointer("init"), m.pointer("exit")) {
            (Ok(init), Ok(0)) if init != 0 => out.push(PERMANENT.to_string()),
            (Ok(_), Ok(_)) => {}
            (Err(e), _) | (_, Err(e)) => warnings.push(format!("module {name} at {at:#x}: init/exit: {e}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taint_letters_follow_the_kernel_table() {
        assert_eq!(taint_letters(0, &TAINT_FLAGS), "");
        // OOT_MODULE and UNSIGNED_MODULE: what an out-of-tree unsigned module shows.
        assert_eq!(taint_letters(1 << 12 | 1 << 13, &TAINT_FLAGS), "OE");
        assert_eq!(taint_letters(1, &TAINT_FLAGS), "P");
        // Global-only flags (WARN, DIE, SOFTLOCKUP) are not printed per module.
        assert_eq!(taint_letters(1 << 9 | 1 << 7 | 1 << 14, &TAINT_FLAGS), "");
        let all: u64 = (1 << 20) - 1;
        assert_eq!(taint_letters(all, &TAINT_FLAGS), "PFCOEKXTNJ");
        // A kernel with a 19-entry table has no FWCTL letter; bits past the table are not printed.
        assert_eq!(taint_letters(all | 1 << 40, &TAINT_FLAGS[..19]), "PFCOEKXTN");
        // Without the `module` member every set bit prints.
        let every: Vec<(char, bool)> = TAINT_FLAGS.iter().map(|&(c, _)| (c, true)).collect();
        assert_eq!(taint_letters(1 << 9 | 1 << 12, &every), "WO");
    }

    #[test]
    fn states_name_as_proc_modules() {
        let s = States {
            live: 0,
            coming: 1,
            going: 2,
            unformed: 3,
        };
        assert_eq!(s.word(0), Some("Live"));
        assert_eq!(s.word(1), Some("Loading"));
        assert_eq!(s.word(2), Some("Unloading"));
        assert_eq!(s.word(7), None);
    }
}
