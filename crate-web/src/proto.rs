//! The messages between the page and the worker, as JSON text. A message to the worker travels as a JS
//! array `[json, blob?]`: the `File` (a handle, no bytes) rides beside the JSON where one is needed.

use memscope_core::analyses::registry::Options;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Page -> worker.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type")]
pub enum ToWorker {
    /// Open the capture `File` sent beside this message.
    Open { name: String },
    /// Open a capture served at `url` (the demo), read by HTTP byte ranges.
    OpenUrl { url: String },
    /// Open the exported table (JSON rows, from this app or `memscope ... --format json`) sent beside this
    /// message as a view of its analysis, without a capture.
    OpenTable { name: String },
    /// The ISF file sent beside this message (.json or .json.xz) describes the open capture's kernel.
    Isf { name: String },
    /// Run one analysis of the registry with these options (the CLI's flags, by name).
    Run {
        analysis: String,
        #[serde(default)]
        options: Options,
    },
    /// The rows of an analysis already run with these options, as `json` or `csv` text (the CLI's exact
    /// bytes for the same options).
    Export {
        analysis: String,
        #[serde(default)]
        options: Options,
        format: String,
    },
    /// A file that a run with `options` wrote for an output option (named in its `Rows` message's
    /// `files`); it comes back as `File`.
    File {
        analysis: String,
        #[serde(default)]
        options: Options,
        name: String,
    },
    /// Which container each process and namespace belongs to (answered by `Labels`), asked once a
    /// capture's first table is shown.
    Labels,
    /// Benchmark a raw reader (no cache) on the blob beside this message. `mode`: `seq` (reads of `size`
    /// bytes over the whole file) or `random` (`count` reads of `size` bytes at pseudo-random aligned
    /// offsets) through FileReaderSync; `opfs-copy` (copy the blob into the Origin Private File System
    /// in `size`-byte pieces), then `opfs-seq` and `opfs-random` (the same reads from that copy through a
    /// sync access handle); `opfs-remove` deletes the copy.
    Bench {
        mode: String,
        /// Bytes per read (default: 1 MiB for `seq`, 4 KiB for `random`, 16 MiB for `opfs-copy`).
        #[serde(default)]
        size: Option<u32>,
        /// Reads of a `random` run (default 20,000).
        #[serde(default)]
        count: Option<u32>,
    },
}

/// Worker -> page.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type")]
pub enum FromWorker {
    /// The worker is listening.
    Ready,
    /// Long work under way: what it is doing and how many capture bytes it has read.
    Progress { phase: String, bytes: u64, reads: u64 },
    /// The capture is open and its kernel identified; `info` is the `memscope info` object.
    Opened {
        info: Value,
        warnings: Vec<String>,
        /// How long each phase of the open took, in order: (phase, milliseconds, reads).
        #[serde(default)]
        timings: Vec<(String, f64, u64)>,
    },
    /// No bundled symbols match: the user must supply the kernel's ISF.
    NeedSymbols { message: String },
    /// The rows of an analysis run with `options`.
    Rows {
        analysis: String,
        #[serde(default)]
        options: Options,
        rows: Vec<Value>,
        warnings: Vec<String>,
        millis: f64,
        /// The files its output options wrote (a directory option's as one `.tar`), to download by name.
        #[serde(default)]
        files: Vec<String>,
    },
    /// The open capture's containers and namespace owners, to mark pids and namespace inodes with.
    Labels {
        labels: memscope_core::analyses::docker::Labels,
        warnings: Vec<String>,
    },
    /// An export's text.
    Export {
        analysis: String,
        #[serde(default)]
        options: Options,
        format: String,
        text: String,
    },
    /// A file asked for with `ToWorker::File`: this message travels as a JS array `[json, bytes]`, the
    /// bytes (a `Uint8Array`, or a `Blob` for an archive streamed from the capture) beside the JSON.
    File {
        /// The analysis whose run wrote it.
        #[serde(default)]
        analysis: String,
        name: String,
        /// What went wrong while writing it (a file recovered with pages not in memory).
        #[serde(default)]
        warnings: Vec<String>,
    },
    /// A benchmark's result.
    Bench { bytes: u64, reads: u64, millis: f64 },
    /// Something failed; `context` says what was being done. `fatal`: the worker must be restarted.
    Error {
        message: String,
        context: String,
        fatal: bool,
    },
}

impl ToWorker {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

impl FromWorker {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| {
            format!(r#"{{"type":"Error","message":"message does not serialize: {e}","context":"","fatal":false}}"#)
        })
    }
}
