//! Any bytes as an ISF file (JSON or xz): a symbol table or an error, and lookups that never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use memscope_core::symbols::SymbolTable;

fuzz_target!(|data: &[u8]| {
    if let Ok(table) = SymbolTable::from_isf(data) {
        let _ = table.layout("task_struct");
        let _ = table.symbol("init_task");
        let _ = table.release();
    }
});
