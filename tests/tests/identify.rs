//! Kernel identification on every corpus capture, in every capture format: the release, banner and host
//! name memscope reads from memory must be what the live machine said (truth/uname-a.txt,
//! truth/proc-version.txt, truth/hostname.txt).

use std::path::{Path, PathBuf};
use std::rc::Rc;

use memscope_core::analyses::info::info;
use memscope_core::formats::CaptureFormat;
use memscope_core::kernel::identify;
use memscope_core::session::{self, SymbolStore, Symbols};
use memscope_core::symbols::index::{IndexEntry, SymbolIndex};
use memscope_core::symbols::SymbolTable;
use memscope_tests::corpus::load_symbols;
use memscope_tests::corpus::{self, CorpusCapture};
use memscope_tests::truth;

/// Identify `file` with `symbols` and compare what `info` reports with the truth; returns the differences.
fn check(capture: &CorpusCapture, file: &Path, format: CaptureFormat, symbols: &Rc<SymbolTable>) -> Vec<String> {
    let what = format!("{} as {format}", capture.name);
    let cap = Rc::new(corpus::open_capture(file));
    let mut diffs = Vec::new();
    if cap.format() != format {
        diffs.push(format!("{what}: detected as {}", cap.format()));
    }
    let kernel = match identify(cap.clone(), symbols.clone()) {
        Ok(k) => k,
        Err(e) => return vec![format!("{what}: not identified: {e}")],
    };
    let row = info(&cap, &kernel, None);
    let want_release = truth::uname_release(&capture.truth_dir);
    let want_banner = truth::proc_version(&capture.truth_dir);
    let want_host = truth::hostname(&capture.truth_dir);
    let mut expect = |key: &str, got: Option<&str>, want: &str, file: &str| {
        if got != Some(want) {
            diffs.push(format!("{what}: {key} {got:?}, truth/{file} says {want:?}"));
        }
    };
    expect(
        "kernel_release",
        row.kernel_release.as_deref(),
        &want_release,
        "uname-a.txt",
    );
    expect("banner", row.banner.as_deref(), &want_banner, "proc-version.txt");
    expect("hostname", row.hostname.as_deref(), &want_host, "hostname.txt");
    expect(
        "kernel_release",
        row.kernel_release.as_deref(),
        &capture.kernel_release,
        "../manifest.json",
    );
    if format == CaptureFormat::ElfCore && !row.vmcoreinfo {
        diffs.push(format!("{what}: the VMCOREINFO note was not found"));
    }
    diffs
}

#[test]
fn every_capture_in_every_format_is_identified() {
    let captures = corpus::corpus_captures();
    let mut diffs = Vec::new();
    let mut checks = 0;
    for capture in &captures {
        let symbols = load_symbols(capture);
        let files = [
            (capture.lime_path.clone(), CaptureFormat::Lime),
            (corpus::avml_file(capture), CaptureFormat::Avml),
            (corpus::raw_file(capture), CaptureFormat::Raw),
            (corpus::elf_file(capture), CaptureFormat::ElfCore),
        ];
        for (file, format) in files {
            diffs.extend(check(capture, &file, format, &symbols));
            checks += 1;
        }
    }
    println!("identification: {checks} corpus checks, {} differences", diffs.len());
    memscope_tests::checks::ran("identify", checks);
    assert!(diffs.is_empty(), "differences from the truth:\n{}", diffs.join("\n"));
}

/// The repository's `symbols/` as the CLI's directory store sees it: its index, its ISF files.
struct RepoSymbols(PathBuf);

impl SymbolStore for RepoSymbols {
    fn name(&self) -> String {
        self.0.display().to_string()
    }

    fn index(&mut self, _: &mut Vec<String>) -> Result<SymbolIndex, String> {
        let path = self.0.join(memscope_core::symbols::index::INDEX_FILE);
        let bytes = std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        SymbolIndex::parse(&bytes).map_err(|e| e.to_string())
    }

    fn load(&mut self, entry: &IndexEntry) -> Result<SymbolTable, String> {
        let bytes = std::fs::read(self.0.join(&entry.file)).map_err(|e| e.to_string())?;
        SymbolTable::from_isf(&bytes).map_err(|e| e.to_string())
    }
}

#[test]
fn the_symbols_index_picks_each_captures_isf() {
    let dir = corpus::repo_root().join("symbols");
    for capture in corpus::corpus_captures() {
        let mut store = RepoSymbols(dir.clone());
        let cap = Rc::new(corpus::open_capture(&capture.lime_path));
        let mut steps = Vec::new();
        let session = session::identify_kernel(
            cap,
            Symbols::Search {
                stores: vec![&mut store],
                derive: None,
            },
            &mut |s| steps.push(s.to_string()),
        )
        .unwrap_or_else(|e| panic!("{}: not identified through symbols/index.json: {e}", capture.name));
        let want = capture
            .symbols_path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        assert_eq!(session.symbols_name, want, "{}: the index's choice", capture.name);
        assert!(
            session.warnings.is_empty(),
            "{}: warnings {:?}",
            capture.name,
            session.warnings
        );
        // The probe rules out the other kernel without loading its symbols.
        let loaded: Vec<&String> = steps.iter().filter(|s| s.starts_with("loading symbols")).collect();
        assert_eq!(
            loaded,
            [&format!("loading symbols {want}")],
            "{}: symbols loaded",
            capture.name
        );
        // symbols/ keeps the corpus ISF files byte-identical.
        let ours = std::fs::read(dir.join(want)).unwrap_or_else(|e| panic!("symbols/{want}: {e}"));
        let theirs = std::fs::read(&capture.symbols_path).unwrap_or_else(|e| panic!("{want}: {e}"));
        assert!(ours == theirs, "symbols/{want} differs from the corpus copy");
    }
}

#[test]
fn the_wrong_symbols_are_refused() {
    let captures = corpus::corpus_captures();
    assert!(captures.len() >= 2, "the corpus needs two kernels for this test");
    let other = load_symbols(&captures[1]);
    let cap = Rc::new(corpus::open_capture(&captures[0].lime_path));
    let err = identify(cap, other).expect_err("a capture identified with another kernel's symbols");
    println!("{}: wrong symbols -> {err}", captures[0].name);
}
