//! Volatility 3's output on the same capture (`vol3/` beside `truth/`): a peer's listing, not truth, used
//! only for the conventions' rule "gone by the dump: absent from all three of Volatility 3's process
//! listings".

use std::path::Path;

/// The pids of Volatility 3's three process listings (`vol3/linux.pslist.PsList.json`,
/// `linux.pstree.PsTree.json` with its `__children`, `linux.psaux.PsAux.json`), for the capture whose truth
/// folder is `truth`: a pid in none of them was gone by the dump.
pub fn vol3_process_pids(truth: &Path) -> std::collections::BTreeSet<u32> {
    let dir = truth.with_file_name("vol3");
    let mut out = std::collections::BTreeSet::new();
    for file in [
        "linux.pslist.PsList.json",
        "linux.pstree.PsTree.json",
        "linux.psaux.PsAux.json",
    ] {
        let path = dir.join(file);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "cannot read {} (the corpus keeps vol3/ beside truth/): {e}",
                path.display()
            )
        });
        let rows: serde_json::Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
        let mut found = 0usize;
        let mut stack = vec![rows];
        while let Some(v) = stack.pop() {
            match v {
                serde_json::Value::Array(items) => stack.extend(items),
                serde_json::Value::Object(mut o) => {
                    if let Some(pid) = o.get("PID").and_then(serde_json::Value::as_u64) {
                        out.insert(pid as u32);
                        found += 1;
                    }
                    if let Some(children) = o.remove("__children") {
                        stack.push(children);
                    }
                }
                _ => {}
            }
        }
        assert!(found > 0, "{} lists no process", path.display());
    }
    out
}

/// The pids of `truth/final/ps-eo.txt` that a capture's process listing must hold: all but those gone by
/// the dump (in none of Volatility 3's three listings, [`vol3_process_pids`]).
pub fn final_ps_pids_at_dump(truth: &Path) -> std::collections::BTreeSet<u32> {
    let vol3 = vol3_process_pids(truth);
    super::final_ps_pids(truth)
        .into_iter()
        .filter(|p| vol3.contains(p))
        .collect()
}
