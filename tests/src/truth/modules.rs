//! Loaded modules: `truth/proc-modules.txt` (`cat /proc/modules`).

use std::path::Path;

use super::*;

/// One line of `/proc/modules`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TruthModule {
    /// Module name.
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// Reference count; `None` where the kernel prints `-` (no module unloading).
    pub refcount: Option<i64>,
    /// The users the kernel lists (the list ends with `,`, or is `-` for none), `[permanent]` included.
    pub used_by: Vec<String>,
    /// `Live`, `Loading` or `Unloading`.
    pub state: String,
    /// Load address (the truth was recorded as root, so the real one).
    pub address: u64,
    /// The taint letters in parentheses after the address (`OE`), without a `+`/`-` state mark; empty for
    /// none.
    pub taints: String,
}

/// Every module of `truth/proc-modules.txt` (`cat /proc/modules`: `name size refcount used_by state
/// address [(taints)]`), in the file's order.
pub fn proc_modules(truth: &Path) -> Vec<TruthModule> {
    let path = truth.join("proc-modules.txt");
    let mut out = Vec::new();
    for line in output_lines(&path) {
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.is_empty() {
            continue;
        }
        let bad = || -> ! {
            panic!(
                "truth file {}: line {line:?} is not a /proc/modules line",
                path.display()
            )
        };
        if words.len() < 6 {
            bad();
        }
        let size = words[1].parse().unwrap_or_else(|_| bad());
        let refcount = match words[2] {
            "-" => None,
            n => Some(n.parse().unwrap_or_else(|_| bad())),
        };
        let used_by = match words[3] {
            "-" => Vec::new(),
            list => list.split(',').filter(|s| !s.is_empty()).map(str::to_string).collect(),
        };
        let address = u64::from_str_radix(words[5].trim_start_matches("0x"), 16).unwrap_or_else(|_| bad());
        let taints = words
            .get(6)
            .map(|t| t.trim_matches(|c| c == '(' || c == ')').replace(['+', '-'], ""))
            .unwrap_or_default();
        out.push(TruthModule {
            name: words[0].to_string(),
            size,
            refcount,
            used_by,
            state: words[4].to_string(),
            address,
            taints,
        });
    }
    assert!(!out.is_empty(), "truth file {} lists no module", path.display());
    out
}
