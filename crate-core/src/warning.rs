//! Typed warnings and the [`Report`] sink an analysis pushes its rows, warnings and progress into
//! (ripgrep's `Sink` is the model): the front end decides what to keep, and can stop the analysis early.

use std::fmt;

use serde::Serialize;

use crate::analyses::Analysis;

/// What went wrong, in a few kinds a front end can sort or filter by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WarningKind {
    /// Bytes the analysis needed are not in the capture (a smeared or missing page).
    Unreadable,
    /// A list, tree or ring was cut: a cycle, a break, or more entries than a kernel keeps.
    Cut,
    /// A symbol, type or field the analysis wanted is not in the ISF: a column or a part is lost.
    MissingSymbol,
    /// Values read disagree with each other (a count against what was found, a pointer that does not
    /// check out).
    Inconsistent,
    /// The analysis was cancelled: the rows so far are a partial result.
    Cancelled,
    /// A line from a kernel walker that reports text only (the walkers still push `Vec<String>`).
    Other,
}

/// One warning: its kind, where and what was being read, and the line shown to the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    /// What went wrong.
    pub kind: WarningKind,
    /// The kernel address being read, when there is one.
    pub address: Option<u64>,
    /// What was being read (`"skb cache"`, `"slab"`), empty when the message says it all.
    pub reading: &'static str,
    /// The line as the user sees it after `warning: `.
    pub message: String,
}

impl Warning {
    /// A warning of `kind` shown as `message`.
    pub fn new(kind: WarningKind, message: impl Into<String>) -> Self {
        Warning {
            kind,
            address: None,
            reading: "",
            message: message.into(),
        }
    }

    /// The same warning, noting the address that was being read.
    pub fn at(self, address: u64) -> Self {
        Warning {
            address: Some(address),
            ..self
        }
    }

    /// The same warning, noting what was being read.
    pub fn reading(self, reading: &'static str) -> Self {
        Warning { reading, ..self }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Where an analysis pushes what it finds. [`Report::row`] and [`Report::warn`] are the sink's own;
/// progress and cancelling have defaults (ignored, never).
pub trait Report<T> {
    /// A row, in the analysis's natural order.
    fn row(&mut self, row: T);
    /// A warning; the rows are still good.
    fn warn(&mut self, warning: Warning);
    /// `done` of `total` units of work (slabs, tasks) are behind the analysis.
    fn progress(&mut self, _done: u64, _total: u64) {}
    /// Whether the analysis should stop now and return the rows so far, with a
    /// [`WarningKind::Cancelled`] warning.
    fn cancelled(&mut self) -> bool {
        false
    }
}

/// The sink that keeps everything, giving today's [`Analysis`].
#[derive(Debug)]
pub struct Collect<T> {
    rows: Vec<T>,
    warnings: Vec<Warning>,
}

impl<T> Default for Collect<T> {
    fn default() -> Self {
        Collect {
            rows: Vec::new(),
            warnings: Vec::new(),
        }
    }
}

impl<T> Collect<T> {
    /// The warnings pushed so far, typed.
    pub fn warnings(&self) -> &[Warning] {
        &self.warnings
    }

    /// The rows and the warnings' lines, as the front ends show them.
    pub fn into_analysis(self) -> Analysis<T> {
        Analysis {
            rows: self.rows,
            warnings: self.warnings.iter().map(Warning::to_string).collect(),
        }
    }
}

impl<T> Report<T> for Collect<T> {
    fn row(&mut self, row: T) {
        self.rows.push(row);
    }

    fn warn(&mut self, warning: Warning) {
        self.warnings.push(warning);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_warning_shows_its_message_only() {
        let w = Warning::new(WarningKind::Unreadable, "skb cache at 0x10: not in the capture")
            .at(0x10)
            .reading("skb cache");
        assert_eq!(w.to_string(), "skb cache at 0x10: not in the capture");
        assert_eq!(
            (w.kind, w.address, w.reading),
            (WarningKind::Unreadable, Some(0x10), "skb cache")
        );
    }

    #[test]
    fn collect_keeps_rows_and_warning_lines_in_order() {
        let mut c = Collect::default();
        c.row(1);
        c.warn(Warning::new(WarningKind::Cut, "first"));
        c.row(2);
        c.warn(Warning::new(WarningKind::Inconsistent, "second"));
        assert!(!c.cancelled());
        assert_eq!(c.warnings()[1].kind, WarningKind::Inconsistent);
        let a = c.into_analysis();
        assert_eq!(a.rows, vec![1, 2]);
        assert_eq!(a.warnings, vec!["first", "second"]);
    }
}
