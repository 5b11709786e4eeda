//! Analyses: each reads a [`Kernel`](crate::kernel::Kernel) and returns typed rows for the CLI, the web
//! app and the tests.

pub mod arp;
pub mod dmesg;
pub mod docker;
pub mod envars;
pub mod files;
pub mod findings;
pub mod ifconfig;
pub mod info;
pub mod lsmod;
pub mod lsof;
pub mod mounts;
pub mod netstat;
pub mod psaux;
pub mod pslist;
pub mod queues;
pub mod registry;
pub mod routes;
pub mod skbuff;

use serde::Serialize;

/// What an analysis found: its rows, and warnings about what could not be read.
#[derive(Debug, Clone, Serialize)]
pub struct Analysis<T> {
    /// The rows, in the analysis's natural order.
    pub rows: Vec<T>,
    /// One line per problem met (a smeared page, a cut-off list); the rows are still good.
    pub warnings: Vec<String>,
}

/// Where an analysis writes files one at a time (files recovered from the page cache): the CLI into a
/// directory, the page into a tar archive. Each file is announced with its size, then its bytes follow.
pub trait FileSink {
    /// Start the file `name` (a relative path, `/`-separated) of `size` bytes.
    fn start(&mut self, name: &str, size: u64) -> Result<(), String>;
    /// More of the current file's bytes.
    fn write(&mut self, bytes: &[u8]) -> Result<(), String>;
}
