//! Table logic of the page, independent of the DOM so it is tested on the host: cells from rows,
//! numeric-aware sorting, filtering, the process tree's collapsing, the visible window, and which analysis
//! an exported table belongs to.

use std::cmp::Ordering;
use std::collections::HashSet;

use memscope_core::analyses::registry::{leaves, Leaf};
use memscope_core::export;
use serde_json::Value;

/// The cells of `row` for `columns` (flattened keys, as CSV names them), as text.
pub fn cells(row: &Value, columns: &[&str]) -> Vec<String> {
    let flat = export::flatten(row);
    columns
        .iter()
        .map(|c| {
            flat.iter()
                .find(|(k, _)| k == c)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        })
        .collect()
}

/// Compare two cells: numbers as numbers (hex addresses compare as text of equal length), empty last.
pub fn compare_cells(a: &str, b: &str) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        _ => {}
    }
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        _ => {
            if a.starts_with("0x") && b.starts_with("0x") && a.len() != b.len() {
                a.len().cmp(&b.len())
            } else {
                a.cmp(b)
            }
        }
    }
}

/// The row indices to show: those whose cells contain `filter` (case-insensitive), sorted by `sort`
/// (column, ascending), else in the analysis's order.
pub fn view(cells: &[Vec<String>], filter: &str, sort: Option<(usize, bool)>) -> Vec<usize> {
    let needle = filter.trim().to_lowercase();
    let mut idx: Vec<usize> = (0..cells.len())
        .filter(|&i| needle.is_empty() || cells[i].iter().any(|c| c.to_lowercase().contains(&needle)))
        .collect();
    if let Some((col, asc)) = sort {
        idx.sort_by(|&a, &b| {
            let o = compare_cells(
                cells[a].get(col).map_or("", String::as_str),
                cells[b].get(col).map_or("", String::as_str),
            );
            if asc {
                o
            } else {
                o.reverse()
            }
        });
    }
    idx
}

/// For a tree in depth-first order (`depths[i]`): drop the descendants of every collapsed row.
pub fn collapse(order: &[usize], depths: &[u64], collapsed: &HashSet<usize>) -> Vec<usize> {
    let mut out = Vec::with_capacity(order.len());
    let mut hide_below: Option<u64> = None;
    for &i in order {
        let d = depths[i];
        if let Some(limit) = hide_below {
            if d > limit {
                continue;
            }
            hide_below = None;
        }
        out.push(i);
        if collapsed.contains(&i) {
            hide_below = Some(d);
        }
    }
    out
}

/// Whether row `i` (depth-first order) has children: the next row is deeper.
pub fn has_children(depths: &[u64], i: usize) -> bool {
    depths.get(i + 1).is_some_and(|&d| d > depths[i])
}

/// Height of one table row in pixels (style.css: `.grid tbody tr`).
pub const ROW_HEIGHT: f64 = 24.0;
/// Rows drawn beyond the visible ones, above and below.
pub const OVERSCAN: usize = 20;

/// The slice `[first, last)` of `total` rows to draw when the body is scrolled to `scroll_top` and
/// shows `height` pixels.
pub fn window(total: usize, scroll_top: f64, height: f64) -> (usize, usize) {
    let first = ((scroll_top / ROW_HEIGHT).floor().max(0.0) as usize).saturating_sub(OVERSCAN);
    let shown = (height / ROW_HEIGHT).ceil() as usize + 2 * OVERSCAN;
    let first = first.min(total);
    (first, (first + shown).min(total))
}

/// The analysis an exported table belongs to: by its file name as the app and the CLI's users save it
/// (`pslist.json`, `pslist (1).json`, `host-pslist.json`), else by its keys: of the analyses all of whose
/// columns the first row has, a tree (rows with a `depth`: `pstree` rows are `pslist` rows with a depth),
/// then the one with most columns.
pub fn analysis_of(file_name: &str, first_row: Option<&Value>) -> Option<&'static Leaf> {
    let stem = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name).to_lowercase();
    let stem = stem.strip_suffix(".json").unwrap_or(&stem);
    let words: Vec<&str> = stem.split(|c: char| !c.is_ascii_alphanumeric()).collect();
    // A view's id joins words with `-` (`docker-ps`): it is looked for whole.
    let named = |l: &&Leaf| words.contains(&l.id.as_str()) || (l.id.contains('-') && stem.contains(l.id.as_str()));
    if let Some(leaf) = leaves().iter().find(named) {
        return Some(leaf);
    }
    let keys: HashSet<String> = export::flatten(first_row?).into_iter().map(|(k, _)| k).collect();
    leaves()
        .iter()
        .filter(|l| l.spec.columns.iter().all(|c| keys.contains(*c)))
        .max_by_key(|l| (l.spec.tree.is_some(), l.spec.columns.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cells_flatten_and_join_lists() {
        let row =
            json!({"pid": 7, "ns": {"net": 4026531840u64}, "cap_eff_names": ["CAP_CHOWN", "CAP_KILL"], "x": null});
        assert_eq!(
            cells(&row, &["pid", "ns.net", "cap_eff_names", "x", "missing"]),
            vec!["7", "4026531840", "CAP_CHOWN CAP_KILL", "", ""]
        );
    }

    #[test]
    fn sorting_is_numeric_aware_and_filter_is_case_insensitive() {
        let rows: Vec<Vec<String>> = [["10", "b"], ["9", "A"], ["100", "c"], ["", "ab"]]
            .iter()
            .map(|r| r.iter().map(|s| s.to_string()).collect())
            .collect();
        assert_eq!(view(&rows, "", Some((0, true))), vec![1, 0, 2, 3]);
        assert_eq!(view(&rows, "", Some((0, false))), vec![3, 2, 0, 1]);
        assert_eq!(view(&rows, "a", None), vec![1, 3]);
        assert_eq!(compare_cells("0xff", "0x100"), Ordering::Less);
    }

    #[test]
    fn collapsing_hides_descendants_only() {
        // 0 ─ 1 ─ 2
        //   └ 3
        // 4
        let depths = [0, 1, 2, 1, 0];
        let order: Vec<usize> = (0..5).collect();
        let mut c = HashSet::new();
        c.insert(1);
        assert_eq!(collapse(&order, &depths, &c), vec![0, 1, 3, 4]);
        c.insert(0);
        assert_eq!(collapse(&order, &depths, &c), vec![0, 4]);
        assert!(has_children(&depths, 0) && !has_children(&depths, 2));
    }

    #[test]
    fn exported_tables_are_recognised_by_name_then_by_keys() {
        let name = |file: &str, row: Option<&Value>| analysis_of(file, row).map(|l| l.id.as_str());
        assert_eq!(name("pslist.json", None), Some("pslist"));
        assert_eq!(name("Downloads/pstree (1).json", None), Some("pstree"));
        assert_eq!(name("host7-netstat.json", None), Some("netstat"));
        let process = json!({"task_addr": "0xffff8b6601212100", "pid": 1, "tid": 1, "ppid": 0, "comm": "systemd", "name": "systemd", "start_time": null,
            "kernel_thread": false, "uid": 0, "euid": 0, "pid_in_ns": 1,
            "ns": {"net": 1, "pid": 2, "mnt": 3}, "cap_eff_names": []});
        assert_eq!(name("rows.json", Some(&process)), Some("pslist"));
        let mut tree = process.clone();
        tree["depth"] = json!(0);
        assert_eq!(name("rows.json", Some(&tree)), Some("pstree"));
        assert_eq!(name("rows.json", Some(&json!({"x": 1}))), None);
        assert_eq!(name("rows.json", None), None);
    }

    #[test]
    fn window_is_bounded() {
        assert_eq!(window(0, 0.0, 500.0), (0, 0));
        assert_eq!(window(10, 0.0, 500.0), (0, 10));
        let (a, b) = window(40_000, 24_000.0, 480.0);
        assert_eq!(a, 1000 - OVERSCAN);
        assert_eq!(b, a + 20 + 2 * OVERSCAN);
    }
}
