//! One analysis's table as the page holds it: the rows as the worker sent them, their cells for the shown
//! columns, and what the user did to the table (filter, sort, collapsed subtrees, the selected row, the
//! scroll position).

use std::collections::HashSet;

use memscope_core::analyses::docker::Labels;
use memscope_core::analyses::registry::{Options, Spec};
use serde_json::Value;

use crate::table;

/// The keys a focused table answers ([`TableState::key`]); the page leaves every other key alone.
pub const ROW_KEYS: [&str; 8] = [
    "ArrowDown",
    "ArrowUp",
    "PageDown",
    "PageUp",
    "Home",
    "End",
    "Enter",
    "Escape",
];

/// One analysis's table as the page holds it.
pub struct TableState {
    /// The options its rows were read with.
    pub options: Options,
    /// The columns shown: the spec's and the chosen column sets'.
    pub columns: Vec<&'static str>,
    /// The rows as the worker sent them (kept to redraw with other column sets).
    pub values: Vec<Value>,
    /// The files the run wrote for output options, by download name.
    pub files: Vec<String>,
    pub rows: usize,
    pub cells: Vec<Vec<String>>,
    pub warnings: Vec<String>,
    pub depths: Option<Vec<u64>>,
    pub sort: Option<(usize, bool)>,
    pub filter: String,
    pub collapsed: HashSet<usize>,
    pub order: Vec<usize>,
    pub scroll_top: f64,
    pub millis: f64,
    /// Every key of every row, flattened (the detail panel shows them all).
    pub full: Vec<Vec<(String, String)>>,
    /// The row whose details are shown.
    pub selected: Option<usize>,
    /// The row the arrow keys are on (Enter shows its details).
    pub cursor: Option<usize>,
    /// The container each row's process runs in (an index into the page's labels), once they are known.
    pub containers: Vec<Option<usize>>,
}

impl TableState {
    /// The table of `rows`, marked with the containers of `labels` where they are known.
    pub fn new(
        spec: &Spec,
        options: Options,
        sets: &[&str],
        rows: Vec<Value>,
        warnings: Vec<String>,
        millis: f64,
        labels: Option<&Labels>,
    ) -> TableState {
        let columns = spec.table_columns(sets);
        let decoded = |row: &Value, key: &str, value: &str| crate::decode::shown(spec.name, row, key, value);
        let cells: Vec<Vec<String>> = rows
            .iter()
            .map(|r| {
                let cells = table::cells(r, &columns);
                columns.iter().zip(cells).map(|(k, v)| decoded(r, k, &v)).collect()
            })
            .collect();
        let full: Vec<Vec<(String, String)>> = rows
            .iter()
            .map(|r| {
                let fields = memscope_core::export::flatten(r);
                fields
                    .into_iter()
                    .map(|(k, v)| {
                        let v = decoded(r, &k, &v);
                        (k, v)
                    })
                    .collect()
            })
            .collect();
        let (columns, cells, full, containers) = match labels {
            Some(labels) => {
                let m = crate::labels::mark(labels, &rows, columns, cells, full);
                (m.columns, m.cells, m.full, m.containers)
            }
            None => (columns, cells, full, Vec::new()),
        };
        let depths = spec.tree.map(|tree| {
            rows.iter()
                .map(|r| r.get(tree.depth).and_then(Value::as_u64).unwrap_or(0))
                .collect()
        });
        let mut t = TableState {
            options,
            columns,
            values: Vec::new(),
            files: Vec::new(),
            rows: rows.len(),
            cells,
            warnings,
            depths,
            sort: None,
            filter: String::new(),
            collapsed: HashSet::new(),
            order: Vec::new(),
            scroll_top: 0.0,
            millis,
            full,
            selected: None,
            cursor: None,
            containers,
        };
        t.values = rows;
        t.refresh();
        t
    }

    /// The same rows with other column sets or labels; filter, selection and scroll kept.
    pub fn with_sets(self, spec: &Spec, sets: &[&str], labels: Option<&Labels>) -> TableState {
        let mut t = TableState::new(
            spec,
            self.options,
            sets,
            self.values,
            self.warnings,
            self.millis,
            labels,
        );
        t.filter = self.filter;
        t.selected = self.selected;
        t.cursor = self.cursor;
        t.scroll_top = self.scroll_top;
        t.collapsed = self.collapsed;
        t.files = self.files;
        t.refresh();
        t
    }

    /// Tree mode: a depth column, no sort and no filter.
    pub fn tree(&self) -> Option<&Vec<u64>> {
        self.depths
            .as_ref()
            .filter(|_| self.sort.is_none() && self.filter.trim().is_empty())
    }

    pub fn refresh(&mut self) {
        let filter = table::Filter::parse(&self.filter);
        let order = table::view(&self.cells, &self.full, &filter, self.sort);
        self.order = match self.tree() {
            Some(d) => table::collapse(&order, d, &self.collapsed),
            None => order,
        };
        // Row details follow the filter: a row it hides is no longer the one shown.
        if self.selected.is_some_and(|i| !self.order.contains(&i)) {
            self.selected = None;
        }
        if self.cursor.is_some_and(|i| !self.order.contains(&i)) {
            self.cursor = None;
        }
    }

    /// Show the details of `row`, or hide them if they are shown (a click on the row, or Enter on it).
    pub fn toggle_details(&mut self, row: usize) {
        self.selected = if self.selected == Some(row) { None } else { Some(row) };
    }

    /// Move the row cursor as a key asks (`ArrowDown`, `ArrowUp`, `PageDown`, `PageUp`, `Home`, `End`)
    /// through the rows shown, in the order shown; `Enter` shows the cursor's row details (or hides them),
    /// `Escape` hides them. Returns the cursor's position among the shown rows when the key was one of
    /// these, so the view can keep it in sight.
    pub fn key(&mut self, key: &str) -> Option<usize> {
        if !ROW_KEYS.contains(&key) {
            return None;
        }
        let last = self.order.len().checked_sub(1)?;
        let at = self.cursor.and_then(|c| self.order.iter().position(|&i| i == c));
        const PAGE: usize = 20;
        let next = match (key, at) {
            ("ArrowDown", Some(p)) => (p + 1).min(last),
            ("ArrowUp", Some(p)) => p.saturating_sub(1),
            ("PageDown", Some(p)) => (p + PAGE).min(last),
            ("PageUp", Some(p)) => p.saturating_sub(PAGE),
            ("ArrowDown" | "ArrowUp" | "PageDown" | "PageUp" | "Home", None) | ("Home", Some(_)) => 0,
            ("End", _) => last,
            ("Enter", Some(p)) => {
                self.toggle_details(self.order[p]);
                p
            }
            ("Escape", Some(p)) => {
                self.selected = None;
                p
            }
            _ => return None,
        };
        self.cursor = Some(self.order[next]);
        Some(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn netstat(ports: &[u64]) -> TableState {
        let spec = memscope_core::analyses::registry::find("netstat").expect("netstat is registered");
        let rows = ports
            .iter()
            .map(|p| serde_json::json!({ "proto": "tcp", "local_port": p }))
            .collect();
        TableState::new(spec, Options::default(), &[], rows, Vec::new(), 0.0, None)
    }

    #[test]
    fn the_arrow_keys_move_through_the_shown_rows_and_enter_opens_one() {
        let mut t = netstat(&[22, 4444, 80, 443]);
        assert_eq!(t.key("ArrowDown"), Some(0), "the first key lands on the first row");
        assert_eq!(t.key("ArrowDown"), Some(1));
        assert_eq!(t.key("Enter"), Some(1));
        assert_eq!(t.selected, Some(1), "Enter shows the cursor's row");
        assert_eq!(t.key("End"), Some(3));
        assert_eq!(t.key("ArrowDown"), Some(3), "the last row stays the last");
        assert_eq!(t.key("Escape"), Some(3));
        assert_eq!(t.selected, None);
        assert_eq!(t.key("Home"), Some(0));
        assert_eq!(t.key("ArrowUp"), Some(0));
        assert_eq!(t.key("x"), None, "other keys are left to the page");
        // The cursor follows the filter: on the shown rows only, in their order.
        t.cursor = Some(1);
        t.filter = "-local_port:4444".into();
        t.refresh();
        assert_eq!(t.cursor, None, "a hidden row loses the cursor");
        assert_eq!(t.key("ArrowDown"), Some(0));
        assert_eq!(t.key("ArrowDown"), Some(1));
        assert_eq!(t.cursor, Some(2), "the second shown row is the third row");
    }

    #[test]
    fn keys_on_an_empty_table_do_nothing() {
        let mut t = netstat(&[]);
        assert_eq!(t.key("ArrowDown"), None);
        assert_eq!(t.key("Enter"), None);
    }
}
