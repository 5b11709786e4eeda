//! Counting corpus checks across test processes, so that the test command can print how many ran on a
//! passing run too (cargo swallows the output of passing tests).
//!
//! Each test calls [`ran`] once with its count: it prints the count and appends a line `test<TAB>N` to a
//! file of its own under `$MEMSCOPE_CHECKS_DIR` (default `target/corpus-checks/` at the repository root).
//! `scripts/test.sh` empties that folder before the tests and sums it after them (`corpus checks: N`).

use std::io::Write;
use std::path::PathBuf;

/// The folder the counts go to.
pub fn checks_dir() -> PathBuf {
    match std::env::var_os("MEMSCOPE_CHECKS_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => crate::corpus::repo_root().join("target/corpus-checks"),
    }
}

/// Record that `test` compared `n` things with the truth (or with the product's other output). Panics when
/// `n` is 0: a test that compared nothing must not pass.
pub fn ran(test: &str, n: usize) {
    assert!(n > 0, "{test}: no corpus check ran: the test compared nothing");
    eprintln!("{test}: {n} corpus checks");
    let dir = checks_dir();
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    let safe: String = test
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let path = dir.join(format!("{safe}.{}.tsv", std::process::id()));
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
    writeln!(file, "{test}\t{n}").unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}
