//! Any bytes as a BTF blob: a symbol table or an error, and lookups that never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use memscope_core::symbols::SymbolTable;

fuzz_target!(|data: &[u8]| {
    let symbols = [("init_task", 0xffff_ffff_8200_0000u64)];
    if let Ok(table) = SymbolTable::from_btf(data, symbols, Some("Linux version 6.1.0 (fuzz)")) {
        let _ = table.layout("task_struct");
        let _ = table.symbol("init_task");
        let _ = table.to_isf(serde_json::Value::Null);
    }
});
