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

use serde::Serialize;

use super::Analysis;
use crate::kernel::modules::{self, kernel_taint_table, ModuleState, TAINT_FLAGS};
use crate::kernel::{Kernel, KernelError};

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

/// The word `/proc/modules` prints for a state (`Unformed` modules are not listed).
fn state_word(state: ModuleState) -> String {
    match state {
        ModuleState::Live => "Live".into(),
        ModuleState::Coming => "Loading".into(),
        ModuleState::Going => "Unloading".into(),
        ModuleState::Unformed => "Unformed".into(),
        ModuleState::Unknown(v) => format!("unknown ({v})"),
    }
}

/// Every loaded module on the kernel's module list, in list order.
pub fn lsmod(kernel: &Kernel) -> Result<Analysis<ModuleRow>, KernelError> {
    let mut warnings = Vec::new();
    let found = modules::modules(kernel, &mut warnings)?;
    let mut table = None;
    let rows = found
        .into_iter()
        .map(|m| {
            if let ModuleState::Unknown(v) = m.state {
                warnings.push(format!(
                    "module {} at {:#x}: state {v} is no module_state",
                    m.name, m.addr
                ));
            }
            let mut used_by = m.users;
            if m.permanent {
                used_by.push(PERMANENT.to_string());
            }
            let taints = match m.taints {
                None | Some(0) => String::new(),
                Some(t) => taint_letters(t, table.get_or_insert_with(|| taint_table(kernel, &mut warnings))),
            };
            ModuleRow {
                name: m.name,
                size: m.size,
                address: m.base,
                refcount: m.refcount,
                state: state_word(m.state),
                used_by,
                taints,
                module_addr: m.addr,
            }
        })
        .collect();
    Ok(Analysis { rows, warnings })
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
        let s = modules::States {
            live: 0,
            coming: 1,
            going: 2,
            unformed: 3,
        };
        assert_eq!(state_word(s.state(0)), "Live");
        assert_eq!(state_word(s.state(1)), "Loading");
        assert_eq!(state_word(s.state(2)), "Unloading");
        assert_eq!(s.state(3), ModuleState::Unformed);
        assert_eq!(s.state(7), ModuleState::Unknown(7));
    }
}
