//! Any bytes as a window of physical memory around kallsyms candidates: a decoded table or an error, never a
//! panic or a hang.
#![no_main]

use libfuzzer_sys::fuzz_target;
use memscope_core::symbols::kallsyms;

fuzz_target!(|data: &[u8]| {
    let mut anchors = kallsyms::token_table_candidates(data);
    anchors.extend([0, data.len() / 2, data.len()]);
    for anchor in anchors {
        if let Ok(k) = kallsyms::decode(data, anchor) {
            let _ = k.symbol("_text");
            let _ = k.tables.span();
        }
    }
});
