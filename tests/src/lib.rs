//! Support for memscope's tests on real captures: the corpus (`corpus`), its live ground truth (`truth`),
//! the CLI's CSV and table read back (`rows`), the binary run as a user runs it (`cli`) and the count of checks
//! that ran (`checks`).
//! Every test that reads the corpus goes through here, so that a missing corpus or tool fails the same way
//! everywhere, with a message saying how to get it.

pub mod checks;
pub mod cli;
pub mod corpus;
pub mod rows;
pub mod truth;
