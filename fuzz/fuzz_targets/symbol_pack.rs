//! Any bytes as a cached symbol pack: a corrupt cache file must give an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use memscope_core::symbols::SymbolTable;

fuzz_target!(|data: &[u8]| {
    if let Ok(table) = SymbolTable::from_pack(data.to_vec()) {
        for name in ["task_struct", "list_head", "net", ""] {
            if let Ok(layout) = table.layout(name) {
                let _ = layout.field("comm");
            }
        }
        let _ = table.symbol("init_task");
        let _ = table.base_type("int");
        let _ = table.banner();
    }
});
