//! Support for memscope's tests on real captures: the corpus (`corpus`), its live ground truth (`truth`),
//! the CLI's CSV and table read back (`rows`), the binary run as a user runs it (`cli`), pcap files read back
//! by tshark (`pcap`) and the count of checks that ran (`checks`).
//! Every test that reads the corpus goes through here, so that a missing corpus or tool fails the same way
//! everywhere, with a message saying how to get it.

pub mod checks;
pub mod cli;
pub mod corpus;
pub mod pcap;
pub mod rows;
pub mod truth;

/// The keys of `info` that say which kernel a capture runs and where it sits (release, banner, both KASLR
/// shifts, page-table root, `init_task`): what any two ways of identifying a capture's kernel must agree on.
pub const KERNEL_PLACE_KEYS: [&str; 6] = [
    "kernel_release",
    "banner",
    "kaslr_virtual_shift",
    "kaslr_physical_shift",
    "page_table_root",
    "init_task",
];
