//! `memscope trim`: which pages of a capture the analyses read, so that a capture keeping only those
//! (written by [`crate::formats::write_pages`]) gives the same rows. Every analysis and view of the
//! registry is run with its default options and with each flag and each choice on its own; options that
//! only filter rows (pids, paths, ids) read a subset of the same pages. Options that write files (`--dump`,
//! `--recover`, `--pcap`, `--extract`) are not run: the data they copy out is not kept.

use crate::analyses::registry::{leaves, Leaf, OptionKind, OptionValue, Options};
use crate::kernel::Kernel;

/// The option sets [`read_by_analyses`] runs `leaf` with: its defaults, then each flag and each choice
/// alone.
pub fn option_sets(leaf: &Leaf) -> Vec<Options> {
    let mut out = vec![Options::new()];
    for o in leaf.spec.options {
        match o.kind {
            OptionKind::Flag => {
                let mut options = Options::new();
                options.set(o.name, OptionValue::Flag(true));
                out.push(options);
            }
            OptionKind::Choice { choices } => {
                for c in choices {
                    let mut options = Options::new();
                    options.set(o.name, OptionValue::Text(c.to_string()));
                    out.push(options);
                }
            }
            OptionKind::Integers | OptionKind::Text { .. } | OptionKind::Output { .. } => {}
        }
    }
    out
}

/// Run every analysis with each of its [`option_sets`] on `kernel`, whose capture records what is read
/// ([`crate::formats::Capture::record_reads`]); the runs that failed, with why.
pub fn read_by_analyses(kernel: &Kernel) -> Vec<String> {
    let mut failed = Vec::new();
    for leaf in leaves() {
        for options in option_sets(leaf) {
            if let Err(e) = leaf.spec.run(kernel, &options) {
                failed.push(format!("{} {}: {e}", leaf.id, options.to_flags()));
            }
        }
    }
    failed
}
