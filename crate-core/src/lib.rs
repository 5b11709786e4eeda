//! memscope's core: reads a physical-memory capture of a Linux machine through a chunked read trait and
//! turns it into typed rows. No file, clock, thread or network API is used here, so the same code runs
//! natively and in a browser worker.

pub mod analyses;
pub mod archive;
pub mod export;
pub mod formats;
pub mod hex;
pub mod kernel;
pub mod paging;
pub mod pcap;
pub mod reader;
pub mod session;
pub mod symbols;
pub mod trim;
pub mod warning;
