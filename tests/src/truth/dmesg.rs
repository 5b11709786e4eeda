//! The kernel log: `truth/dmesg.txt`.

use std::path::Path;

use super::*;

/// One line of `dmesg` output (`truth/dmesg.txt`).
#[derive(Debug, Clone, PartialEq)]
pub struct TruthLogLine {
    /// Seconds since boot in the `[...]` prefix; `None` for the continuation line of a multi-line record.
    pub timestamp: Option<f64>,
    /// The text, without the timestamp prefix or a continuation line's indentation, trimmed.
    pub text: String,
}

/// Every non-empty line of `truth/dmesg.txt`.
pub fn dmesg(truth: &Path) -> Vec<TruthLogLine> {
    let path = truth.join("dmesg.txt");
    let mut out = Vec::new();
    for line in output_lines(&path) {
        let (timestamp, text) = match line.strip_prefix('[').and_then(|r| r.split_once("] ")) {
            Some((ts, text)) if ts.trim().parse::<f64>().is_ok() => (ts.trim().parse().ok(), text),
            _ => (None, line.as_str()),
        };
        let text = text.trim();
        if !text.is_empty() {
            out.push(TruthLogLine {
                timestamp,
                text: text.to_string(),
            });
        }
    }
    assert!(!out.is_empty(), "truth file {} has no line", path.display());
    out
}
