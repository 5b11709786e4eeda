//! One analysis's table as the page holds it: the rows as the worker sent them, their cells for the shown
//! columns, and what the user did to the table (filter, sort, collapsed subtrees, the selected row, the
//! scroll position).

use std::collections::HashSet;

use memscope_core::analyses::docker::Labels;
use memscope_core::analyses::registry::{Options, Spec};
use serde_json::Value;

use crate::table;

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
        let cells: Vec<Vec<String>> = rows.iter().map(|r| table::cells(r, &columns)).collect();
        let full: Vec<Vec<(String, String)>> = rows.iter().map(memscope_core::export::flatten).collect();
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
    }
}
