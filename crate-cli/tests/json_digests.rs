//! Moving the analyses onto the registry (and the kernel layer's reorganisation after it) must not change
//! a byte of what the CLI prints: every analysis's JSON, with its default options and with each option,
//! on every corpus capture, has the SHA-256 the CLI printed before the move (`data/json-digests.tsv`,
//! lines `capture<TAB>command and flags<TAB>digest`, recorded with the CLI of commit 37bd384; pslist's and
//! pstree's re-recorded when their rows gained `exe`, after checking that their output without the `exe`
//! lines still had the old digests).
//! To be dropped once those moves are done.

use std::process::Command;

use memscope_tests::corpus;
use sha2::{Digest, Sha256};

#[test]
fn json_output_is_byte_identical_to_before_the_registry() {
    let recorded = include_str!("data/json-digests.tsv");
    let captures = corpus::corpus_captures();
    let cache = corpus::repo_root().join("target/test-pack-cache");
    let (mut checks, mut diffs) = (0, Vec::new());
    for line in recorded.lines().filter(|l| !l.is_empty()) {
        let parts: Vec<&str> = line.split('\t').collect();
        let [name, command, want] = parts[..] else {
            panic!("malformed line in data/json-digests.tsv: {line:?}");
        };
        let capture = captures
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("data/json-digests.tsv names {name}, which the corpus manifest lacks"));
        let mut words = command.split_whitespace();
        let subcommand = words.next().expect("a command");
        let out = Command::new(env!("CARGO_BIN_EXE_memscope"))
            .arg(subcommand)
            .arg(&capture.lime_path)
            .arg("--symbols")
            .arg(&capture.symbols_path)
            .args(["--format", "json"])
            .args(words)
            .env("MEMSCOPE_CACHE", &cache)
            .output()
            .expect("memscope runs");
        assert!(
            out.status.success(),
            "{name}: memscope {command}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let got: String = Sha256::digest(&out.stdout).iter().map(|b| format!("{b:02x}")).collect();
        checks += 1;
        if got != want {
            diffs.push(format!(
                "{name}: memscope {command} --format json prints other bytes than before"
            ));
        }
    }
    println!("corpus checks: {checks} JSON outputs compared with their recorded digests");
    memscope_tests::checks::ran("cli json digests", checks);
    assert!(checks >= 2 * captures.len(), "too few recorded outputs: {checks}");
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}
