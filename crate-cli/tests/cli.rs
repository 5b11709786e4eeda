//! The `memscope` command as a user meets it: `info` on every corpus capture, and bad input of every kind
//! ending in one clear `error:` line and exit code 1 (or 2 for bad usage), never a panic or a hang.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use memscope_tests::corpus::{self, CorpusCapture};
use memscope_tests::truth;

/// How long one command may take before it counts as hung.
const TIME_LIMIT: Duration = Duration::from_secs(120);

/// Run `memscope` with `args`, with the symbol pack cache under target/.
fn memscope(args: &[&str]) -> Output {
    memscope_tests::cli::run(env!("CARGO_BIN_EXE_memscope"), args, TIME_LIMIT)
}

fn bad_dir() -> PathBuf {
    let dir = corpus::cache_dir().join("bad-inputs");
    std::fs::create_dir_all(&dir).expect("create the bad-input directory");
    dir
}

fn write_file(name: &str, data: &[u8]) -> PathBuf {
    let path = bad_dir().join(name);
    std::fs::write(&path, data).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    path
}

/// Deterministic pseudo-random bytes.
fn noise(len: usize, mut seed: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as u8
        })
        .collect()
}

/// The first `len` bytes of a file, as a new file.
fn prefix_of(src: &Path, len: u64, name: &str) -> PathBuf {
    use std::io::Read;
    let mut data = Vec::new();
    std::fs::File::open(src)
        .and_then(|f| f.take(len).read_to_end(&mut data))
        .expect("read the capture");
    write_file(name, &data)
}

fn assert_clean_failure(what: &str, out: &Output, code: i32) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{what}: exit code; stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "{what}: panicked: {stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    if code == 1 {
        assert!(
            lines.len() == 1 && lines[0].starts_with("error: "),
            "{what}: want one `error:` line, got {stderr:?}"
        );
    }
    println!("{what}: exit {code}: {}", lines.first().unwrap_or(&""));
}

#[test]
fn info_reports_every_corpus_capture_as_json() {
    for capture in corpus::corpus_captures() {
        let lime = capture.lime_path.to_string_lossy().into_owned();
        let symbols = capture.symbols_path.to_string_lossy().into_owned();
        let out = memscope(&["info", &lime, "--symbols", &symbols, "--format", "json"]);
        assert!(
            out.status.success(),
            "{}: {}",
            capture.name,
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("info prints one JSON object");
        assert_eq!(
            v["kernel_release"],
            truth::uname_release(&capture.truth_dir),
            "{}: truth/uname-a.txt",
            capture.name
        );
        assert_eq!(v["capture_format"], "lime");
        for key in [
            "page_table_root",
            "kaslr_virtual_shift",
            "kaslr_physical_shift",
            "init_task",
        ] {
            let text = v[key].as_str().unwrap_or_default();
            assert!(
                text.starts_with("0x"),
                "{}: {key} is a hex string, got {}",
                capture.name,
                v[key]
            );
        }
        // Without --symbols the repository's symbols/ directory and its index are used.
        let out = memscope(&["info", &lime, "--format", "json"]);
        assert!(
            out.status.success(),
            "{}: {}",
            capture.name,
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
        assert_eq!(v["kernel_release"], capture.kernel_release);
        for format in ["table", "csv"] {
            let out = memscope(&["info", &lime, "--format", format]);
            assert!(
                out.status.success() && !out.stdout.is_empty(),
                "{}: --format {format}",
                capture.name
            );
        }
    }
}

#[test]
fn bad_captures_give_one_clear_error() {
    let captures: Vec<CorpusCapture> = corpus::corpus_captures();
    let first = &captures[0];
    let symbols = first.symbols_path.to_string_lossy().into_owned();
    let size = std::fs::metadata(&first.lime_path).expect("capture size").len();
    let cases = [
        ("empty file", write_file("empty", b"")),
        (
            "random bytes",
            write_file("random", &noise(1 << 20, 0x9e37_79b9_7f4a_7c15)),
        ),
        (
            "capture cut at 3 MiB",
            prefix_of(&first.lime_path, 3 << 20, "cut-3mib.lime"),
        ),
        ("missing file", bad_dir().join("does-not-exist")),
    ];
    for (what, path) in &cases {
        let out = memscope(&["info", &path.to_string_lossy(), "--symbols", &symbols]);
        assert_clean_failure(what, &out, 1);
    }
    // Cut at half its length: a partial result with warnings, or one clear error.
    for capture in &captures {
        let half = prefix_of(&capture.lime_path, size / 2, &format!("{}-half.lime", capture.name));
        let out = memscope(&[
            "info",
            &half.to_string_lossy(),
            "--symbols",
            &capture.symbols_path.to_string_lossy(),
        ]);
        let code = out.status.code().unwrap_or(-1);
        assert!(code == 0 || code == 1, "{}: cut at half: exit {code}", capture.name);
        if code == 1 {
            assert_clean_failure(&format!("{} cut at half", capture.name), &out, 1);
        } else {
            assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
            println!("{} cut at half: identified", capture.name);
        }
    }
}

#[test]
fn bad_symbols_give_one_clear_error() {
    let captures = corpus::corpus_captures();
    assert!(captures.len() >= 2, "the corpus needs two kernels for this test");
    let lime = captures[0].lime_path.to_string_lossy().into_owned();
    let wrong = captures[1].symbols_path.to_string_lossy().into_owned();
    let out = memscope(&["info", &lime, "--symbols", &wrong]);
    assert_clean_failure("another kernel's ISF", &out, 1);
    // The error names the kernel the capture holds (its banner, as the manifest records it).
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("\"{}\"", captures[0].banner)),
        "another kernel's ISF: the error does not name the capture's banner: {stderr}"
    );
    let not_json = write_file("not-json.json", b"this is not JSON {");
    assert_clean_failure(
        "an ISF that is not JSON",
        &memscope(&["info", &lime, "--symbols", &not_json.to_string_lossy()]),
        1,
    );
    let bad_xz = write_file("bad.json.xz", b"\xfd7zXZ\0\0\0\0\0garbage");
    assert_clean_failure(
        "a corrupt .json.xz",
        &memscope(&["info", &lime, "--symbols", &bad_xz.to_string_lossy()]),
        1,
    );
    // No ISF fits: symbols derived from the capture, with one warning saying so.
    let empty_dir = bad_dir().join("no-symbols-here");
    std::fs::create_dir_all(&empty_dir).expect("mkdir");
    let out = memscope(&[
        "info",
        &lime,
        "--symbols",
        &empty_dir.to_string_lossy(),
        "--format",
        "json",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "an empty symbols directory: {stderr}");
    assert_eq!(
        stderr.trim(),
        "warning: no ISF fits this kernel; symbols derived from its BTF and kallsyms in the capture",
        "an empty symbols directory"
    );
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).expect("info prints JSON");
    assert_eq!(info["symbols"], "capture (BTF)", "an empty symbols directory");
    // Memory that holds no kernel image (the capture's first 64 MiB): one error naming what is missing.
    let head = prefix_of(&captures[0].lime_path, 64 << 20, "first-64-mib.lime");
    for symbols in [empty_dir.to_string_lossy().into_owned(), "capture".to_string()] {
        let out = memscope(&["info", &head.to_string_lossy(), "--symbols", &symbols]);
        assert_clean_failure(&format!("no kernel image, --symbols {symbols}"), &out, 1);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("no BTF") && stderr.contains("ISF"),
            "--symbols {symbols}: {stderr}"
        );
    }
}

#[test]
fn bad_usage_exits_2() {
    assert_clean_failure("no arguments", &memscope(&[]), 2);
    assert_clean_failure("unknown format", &memscope(&["info", "x", "--format", "yaml"]), 2);
}

/// `dmesg --out FILE` writes the log as `dmesg` printed it on the live system: truth/dmesg.txt (after its
/// `# dmesg` header) is, byte for byte, the start of the file; the lines after it are records the kernel
/// wrote later (the truth's collection and the dump log a few), each stamped no earlier than the truth's
/// last line.
#[test]
fn dmesg_out_writes_the_log_as_dmesg_prints_it() {
    let stamp = |line: &str| -> Option<f64> { line.strip_prefix('[')?.split_once(']')?.0.trim().parse().ok() };
    let mut checks = 0;
    for capture in corpus::corpus_captures() {
        let out_file = corpus::cache_dir().join(format!("{}-dmesg.txt", capture.name));
        let _ = std::fs::remove_file(&out_file);
        let out = memscope(&[
            "dmesg",
            &capture.lime_path.to_string_lossy(),
            "--symbols",
            &capture.symbols_path.to_string_lossy(),
            "--out",
            &out_file.to_string_lossy(),
            "--format",
            "json",
        ]);
        assert!(
            out.status.success(),
            "{}: {}",
            capture.name,
            String::from_utf8_lossy(&out.stderr)
        );
        let got = std::fs::read_to_string(&out_file).unwrap_or_else(|e| panic!("{}: no --out file: {e}", capture.name));
        let truth_file = capture.truth_dir.join("dmesg.txt");
        let truth = std::fs::read_to_string(&truth_file).expect("truth/dmesg.txt");
        let want = truth.strip_prefix("# dmesg\n").unwrap_or(&truth);
        assert!(
            got.starts_with(want),
            "{}: the --out file does not start with {} (first difference at byte {})",
            capture.name,
            truth_file.display(),
            got.bytes().zip(want.bytes()).take_while(|(a, b)| a == b).count()
        );
        let last = want.lines().rev().find_map(stamp).expect("a stamped truth line");
        for line in got[want.len()..].lines() {
            if let Some(t) = stamp(line) {
                assert!(
                    t >= last,
                    "{}: extra line {line:?} is older than the truth's last ({last})",
                    capture.name
                );
            }
        }
        checks += want.lines().count();
        let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("JSON rows");
        assert_eq!(
            rows.len(),
            got.lines().count(),
            "{}: a row per line of the --out file",
            capture.name
        );
    }
    println!("corpus checks: {checks} lines of truth/dmesg.txt in dmesg --out files");
    memscope_tests::checks::ran("cli dmesg --out", checks);
}
