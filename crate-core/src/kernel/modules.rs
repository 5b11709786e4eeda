//! The kernel's loaded modules: the `modules` list of `struct module` (linked through `list`), each one's
//! memory (its size as `/proc/modules` counts it and where its text is loaded), reference count, users,
//! state and taint bits, and the kernel's taint-letter table. Layouts are chosen once ([`ModuleLayout`],
//! in the kernel's [`Layouts`](super::layouts::Layouts)).

use std::collections::HashMap;

use super::{Kernel, KernelError, Object};
use crate::symbols::{Symbol, SymbolTable, TypeRef};

/// Most modules read from the module list.
const MAX_MODULES: usize = 1 << 16;
/// Most users read from one module's `source_list`.
const MAX_USERS: usize = 1 << 12;
/// Most `module_memory` entries read from `struct module.mem`.
const MAX_MEM_TYPES: u64 = 64;
/// `MODULE_REF_BASE`: the reference the module's own load holds, which `/proc/modules` does not count.
const MODULE_REF_BASE: i64 = 1;

/// Where a module's memory is described.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemoryLayout {
    /// `struct module.mem[count]` of `module_memory` (`stride` bytes each) at `offset`; `text` indexes the
    /// module's text (6.4+).
    Mem {
        offset: u64,
        element: String,
        stride: u64,
        count: u64,
        text: u64,
    },
    /// `core_layout` (base and size), `init_layout` and any other `*_layout` members the size sums
    /// (before 6.4).
    Layouts { parts: Vec<&'static str> },
}

impl MemoryLayout {
    fn of(symbols: &SymbolTable) -> Result<MemoryLayout, KernelError> {
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

/// How this kernel's `struct module` is laid out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleLayout {
    /// Where its memory is described.
    pub memory: MemoryLayout,
    /// `refcnt`, `source_list` and `exit`: kept only by kernels built with module unloading.
    pub unloading: bool,
    /// `enum module_state` values.
    pub states: States,
}

impl ModuleLayout {
    /// The layout the symbols show.
    pub fn of(symbols: &SymbolTable) -> Result<ModuleLayout, KernelError> {
        let module = symbols.layout("module")?;
        Ok(ModuleLayout {
            memory: MemoryLayout::of(symbols)?,
            unloading: ["refcnt", "source_list", "exit"].iter().all(|f| module.has_field(f)),
            states: States::of(symbols),
        })
    }
}

/// `enum module_state` values, from the symbols (the values every kernel has used where they lack it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct States {
    pub live: u64,
    pub coming: u64,
    pub going: u64,
    pub unformed: u64,
}

impl States {
    fn of(symbols: &SymbolTable) -> States {
        let c = |name: &str, default: u64| {
            symbols
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

    /// The state a value names.
    pub fn state(&self, v: u64) -> ModuleState {
        match v {
            v if v == self.live => ModuleState::Live,
            v if v == self.coming => ModuleState::Coming,
            v if v == self.going => ModuleState::Going,
            v if v == self.unformed => ModuleState::Unformed,
            v => ModuleState::Unknown(v),
        }
    }
}

/// A module's `state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModuleState {
    /// `MODULE_STATE_LIVE`.
    Live,
    /// `MODULE_STATE_COMING`: being loaded.
    Coming,
    /// `MODULE_STATE_GOING`: being unloaded.
    Going,
    /// `MODULE_STATE_UNFORMED`: still being set up (`/proc/modules` leaves it out).
    Unformed,
    /// A value that is no state (a smeared page).
    Unknown(u64),
}

/// One loaded module, as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedModule {
    /// Address of the `struct module`.
    pub addr: u64,
    /// `module.name`.
    pub name: String,
    /// Its state.
    pub state: ModuleState,
    /// Bytes of memory it occupies, as `/proc/modules` counts them.
    pub size: u64,
    /// Where its text is loaded.
    pub base: u64,
    /// References held (`refcnt - MODULE_REF_BASE`); `None` without module unloading or unreadable.
    pub refcount: Option<i64>,
    /// Names of the modules that use it, in `source_list` order.
    pub users: Vec<String>,
    /// It has an init routine and no exit routine: it can never be unloaded.
    pub permanent: bool,
    /// `module.taints`; `None` where unreadable.
    pub taints: Option<u64>,
}

/// Every module on the kernel's module list, in list order (the newest first), but those still being
/// formed; what could not be read goes to `warnings` (a module whose size or address is unreadable is left
/// out).
pub fn modules(kernel: &Kernel, warnings: &mut Vec<String>) -> Result<Vec<LoadedModule>, KernelError> {
    let head = kernel.symbol_addr("modules")?;
    let layout = kernel.layouts().modules()?;
    let walk = kernel.walk_list(head, "module", "list", MAX_MODULES)?;
    warnings.extend(walk.problem);
    let mut read = Vec::new();
    for addr in walk.items {
        let r = kernel
            .object("module", addr)
            .and_then(|m| Ok((m.string("name")?, m.u64("state")?, m)));
        match r {
            Ok(r) => read.push(r),
            Err(e) => warnings.push(format!("module at {addr:#x}: {e}")),
        }
    }
    let names: HashMap<u64, &str> = read.iter().map(|(name, _, m)| (m.addr(), name.as_str())).collect();
    let mut out = Vec::new();
    for (name, state, m) in &read {
        let state = layout.states.state(*state);
        if state == ModuleState::Unformed {
            continue;
        }
        let addr = m.addr();
        let (size, base) = match layout.memory.size_and_base(kernel, m) {
            Ok(v) => v,
            Err(e) => {
                warnings.push(format!("module {name} at {addr:#x}: size and address: {e}"));
                continue;
            }
        };
        let (refcount, users, permanent) = if layout.unloading {
            let refcount = match m.member("refcnt").and_then(|r| r.i64("counter")) {
                Ok(n) => Some(n - MODULE_REF_BASE),
                Err(e) => {
                    warnings.push(format!("module {name} at {addr:#x}: refcnt: {e}"));
                    None
                }
            };
            let (users, permanent) = users(kernel, m, name, &names, warnings);
            (refcount, users, permanent)
        } else {
            (None, Vec::new(), false)
        };
        let taints = match m.u64("taints") {
            Ok(t) => Some(t),
            Err(e) => {
                warnings.push(format!("module {name} at {addr:#x}: taints: {e}"));
                None
            }
        };
        out.push(LoadedModule {
            addr,
            name: name.clone(),
            state,
            size,
            base,
            refcount,
            users,
            permanent,
            taints,
        });
    }
    Ok(out)
}

/// The names of the modules using `m` (its `source_list` of `module_use`, each one's `source`), and
/// whether it is permanent (an init routine but no exit routine); problems become warnings.
fn users(
    kernel: &Kernel,
    m: &Object,
    name: &str,
    names: &HashMap<u64, &str>,
    warnings: &mut Vec<String>,
) -> (Vec<String>, bool) {
    let mut out = Vec::new();
    let at = m.addr();
    {
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
    let permanent = match (m.pointer("init"), m.pointer("exit")) {
        (Ok(init), Ok(exit)) => init != 0 && exit == 0,
        (Err(e), _) | (_, Err(e)) => {
            warnings.push(format!("module {name} at {at:#x}: init/exit: {e}"));
            false
        }
    };
    (out, permanent)
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
