//! `dmesg`: the kernel log ([`crate::kernel::printk`] reads it), a row per printed line, and the log as
//! text as `dmesg` prints it.
//!
//! A record whose text holds several lines (the kernel keeps `pr_cont` and embedded newlines in one record)
//! gives one row per line, as `dmesg` prints it; `line` numbers them within the record.

use serde::Serialize;

use super::Analysis;
use crate::kernel::printk::{self, Record};
use crate::kernel::{Kernel, KernelError};

/// One line of the kernel log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogLine {
    /// Seconds since boot when the record was written (`ts_nsec`), with nanosecond precision; null in a
    /// plain-text log (before 3.5) printed without times.
    pub timestamp: Option<f64>,
    /// The same time, under the name the conventions give to times since boot.
    pub timestamp_since_boot: Option<f64>,
    /// Syslog level, 0 (emerg) to 7 (debug).
    pub level: u8,
    /// Syslog facility (0 kernel, 3 daemon...; user-space writes to /dev/kmsg use 1 by default).
    pub facility: u8,
    /// Sequence number of the record.
    pub seq: u64,
    /// Line number within a multi-line record (0 for the first line).
    pub line: u32,
    /// Who wrote it, as `dmesg --caller` shows it: `T<pid>` for a task, `C<cpu>` in interrupt context;
    /// `null` where the kernel does not record it.
    pub caller: Option<String>,
    /// Device subsystem of a `dev_printk` record (`pci`, `net`...), or `null`.
    pub subsystem: Option<String>,
    /// Device of a `dev_printk` record (`+pci:0000:00:01.0`, `n2`...), or `null`.
    pub device: Option<String>,
    /// The line's text.
    pub text: String,
}

/// The kernel log as read: its records, oldest first, and what could not be read.
pub struct Log {
    records: Vec<Record>,
    /// One line per problem met.
    pub warnings: Vec<String>,
}

/// The kernel log, oldest record first, a row per printed line.
pub fn dmesg(kernel: &Kernel) -> Result<Analysis<LogLine>, KernelError> {
    let log = read(kernel)?;
    Ok(Analysis {
        rows: log.lines(),
        warnings: log.warnings,
    })
}

/// Read the kernel log from whichever buffer the kernel keeps.
pub fn read(kernel: &Kernel) -> Result<Log, KernelError> {
    let (records, warnings) = printk::read(kernel)?;
    Ok(Log { records, warnings })
}

impl Log {
    /// A row per printed line (a multi-line record gives several, with the same `seq`).
    pub fn lines(&self) -> Vec<LogLine> {
        let mut rows = Vec::new();
        for r in &self.records {
            let text = String::from_utf8_lossy(&r.text);
            let secs = r.ts_nsec.map(|t| t as f64 / 1e9);
            for (i, line) in text.split('\n').enumerate() {
                rows.push(LogLine {
                    timestamp: secs,
                    timestamp_since_boot: secs,
                    level: r.level,
                    facility: r.facility,
                    seq: r.seq,
                    line: i as u32,
                    caller: r.caller.clone(),
                    subsystem: r.subsystem.clone(),
                    device: r.device.clone(),
                    text: line.to_string(),
                });
            }
        }
        rows
    }

    /// The log as text, as `dmesg` prints it: `[seconds.micros] text` a line, the further lines of a
    /// multi-line record indented under the first's text; no prefix where the kernel kept no time.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for r in &self.records {
            let prefix = r.ts_nsec.map_or(String::new(), |ns| {
                format!("[{:5}.{:06}] ", ns / 1_000_000_000, ns / 1_000 % 1_000_000)
            });
            let indent = " ".repeat(prefix.len());
            for (i, line) in String::from_utf8_lossy(&r.text).split('\n').enumerate() {
                out.push_str(if i == 0 { &prefix } else { &indent });
                out.push_str(line);
                out.push('\n');
            }
        }
        out
    }
}
