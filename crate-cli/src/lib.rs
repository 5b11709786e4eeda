//! What the `memscope` command shares with the tests: the capture file as the core's read trait
//! ([`source::FileSource`]). The core does no I/O, so the one file reader of the native front end lives
//! here; the web worker reads a `File` through FileReaderSync instead.

pub mod source;
