//! Support for memscope's tests on real captures: the corpus (`corpus`) and its live ground truth (`truth`).
//! Every test that reads the corpus goes through here, so that a missing corpus or tool fails the same way
//! everywhere, with a message saying how to get it.

pub mod corpus;
pub mod truth;
