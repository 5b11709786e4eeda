//! Docker's JSON documents found in bytes of a process's memory: any bytes give documents that parse
//! and carry the id asked for, or none; never a panic, never a scan beyond the bounds.
#![no_main]

use std::collections::HashSet;

use libfuzzer_sys::fuzz_target;
use memscope_core::analyses::docker::dockerd::{find_documents, object_end};

const ID: &str = "04f128f030161bb7850fd3fcce5aa9a4d98ae66ed1bc5d73fc537795e918aba6";

fuzz_target!(|data: &[u8]| {
    let ids: HashSet<String> = [ID.to_string()].into_iter().collect();
    let mut hits = 64;
    for (at, doc) in find_documents(data, &ids, &mut hits) {
        assert!(at < data.len());
        assert_eq!(doc.id, ID);
    }
    if let Some(end) = object_end(data, 0) {
        assert!(end <= data.len());
    }
});
