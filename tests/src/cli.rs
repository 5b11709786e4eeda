//! Running the `memscope` binary as a user does, for the CLI's tests: its symbol pack cache under target/,
//! both pipes drained while it runs (a large output would otherwise fill a pipe and stall it), and a time
//! limit past which it counts as hung.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::corpus;

/// Run the binary `exe` (a test's `env!("CARGO_BIN_EXE_memscope")`) with `args`; panics when it cannot
/// start or runs longer than `limit`.
pub fn run(exe: impl AsRef<Path>, args: &[&str], limit: Duration) -> Output {
    let cache = corpus::repo_root().join("target/test-pack-cache");
    let mut child = Command::new(exe.as_ref())
        .args(args)
        .env("MEMSCOPE_CACHE", cache)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("memscope starts");
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as _));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for memscope") {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("memscope {args:?} hung for more than {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Output {
        status,
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
    }
}
