//! Printing rows as a table for people, JSON for programs, CSV for spreadsheets.

use std::io::Write;

use clap::ValueEnum;
use memscope_core::export;
use serde::Serialize;
use serde_json::Value;

use crate::CliError;

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns (one `key: value` line per field for a single object).
    Table,
    /// One JSON value: an object for `info`, an array of row objects for an analysis.
    Json,
    /// Comma-separated values with a header; nested keys flattened with dots.
    Csv,
}

impl Format {
    /// The formats every analysis has, as `--format` names them.
    pub const NAMES: [&'static str; 3] = ["table", "json", "csv"];

    /// The format `name` names.
    pub fn named(name: &str) -> Result<Format, CliError> {
        Format::from_str(name, false).map_err(|_| CliError::new(format!("no output format {name}")))
    }
}

/// Write `text` to standard output.
pub fn write_out(text: &str) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        // A closed pipe (`| head`) is not an error.
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(CliError::new(format!("cannot write: {e}"))),
        _ => Ok(()),
    }
}

fn json_error(e: serde_json::Error) -> CliError {
    CliError::new(format!("cannot serialize: {e}"))
}

/// Print one object (the `info` analysis).
pub fn print_object<T: Serialize>(value: &T, format: Format) -> Result<(), CliError> {
    let v = serde_json::to_value(value).map_err(json_error)?;
    match format {
        Format::Json => write_out(&(serde_json::to_string_pretty(&v).map_err(json_error)? + "\n")),
        Format::Csv => write_out(&export::csv(std::slice::from_ref(&v))),
        Format::Table => {
            let flat = export::flatten(&v);
            let width = flat.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
            let text: String = flat.iter().map(|(k, v)| format!("{k:width$}  {v}\n")).collect();
            write_out(&text)
        }
    }
}

/// Print rows; `columns` picks and orders the table's columns (JSON and CSV always carry every key).
pub fn print_rows<T: Serialize>(rows: &[T], format: Format, columns: Option<&[&str]>) -> Result<(), CliError> {
    print_values(&export::to_values(rows).map_err(json_error)?, format, columns)
}

/// [`print_rows`] for rows that are JSON values already (an analysis's), without copying them.
pub fn print_values(values: &[Value], format: Format, columns: Option<&[&str]>) -> Result<(), CliError> {
    match format {
        Format::Json => write_json(values),
        Format::Csv => write_out(&export::csv(values)),
        Format::Table => write_out(&table(values, columns)),
    }
}

/// Write `values` as pretty JSON and a line break to standard output as they serialize, not as one text.
fn write_json(values: &[Value]) -> Result<(), CliError> {
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let written = serde_json::to_writer_pretty(&mut out, values)
        .map_err(std::io::Error::from)
        .and_then(|_| out.write_all(b"\n"))
        .and_then(|_| out.flush());
    match written {
        // A closed pipe (`| head`) is not an error.
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(CliError::new(format!("cannot write: {e}"))),
        _ => Ok(()),
    }
}

/// Rows as aligned text columns.
pub fn table(values: &[Value], columns: Option<&[&str]>) -> String {
    let (header, mut cells) = export::table(values);
    // A line break or tab inside a cell (a shell script's command line) would break the table's lines and
    // columns: a table shows control characters escaped (`\n`), as JSON and CSV never need to.
    for cell in cells.iter_mut().flatten() {
        if cell.chars().any(char::is_control) {
            *cell = cell
                .chars()
                .map(|c| {
                    if c.is_control() {
                        c.escape_default().to_string()
                    } else {
                        c.to_string()
                    }
                })
                .collect();
        }
    }
    let picked: Vec<usize> = match columns {
        Some(cols) => cols.iter().filter_map(|c| header.iter().position(|h| h == c)).collect(),
        None => (0..header.len()).collect(),
    };
    let mut widths: Vec<usize> = picked.iter().map(|&i| header[i].chars().count()).collect();
    for row in &cells {
        for (w, &i) in widths.iter_mut().zip(&picked) {
            *w = (*w).max(row[i].chars().count());
        }
    }
    let mut text = String::new();
    for row in std::iter::once(&header).chain(cells.iter()) {
        let line: Vec<String> = picked
            .iter()
            .zip(&widths)
            .map(|(&i, &w)| {
                let pad = w - row[i].chars().count();
                format!("{}{}", row[i], " ".repeat(pad))
            })
            .collect();
        text.push_str(line.join("  ").trim_end());
        text.push('\n');
    }
    text
}
