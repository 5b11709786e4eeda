//! `memscope trim` on every corpus capture: the pages every analysis reads (with its defaults and each
//! flag and choice on its own), written as LiME and as AVML, make a capture under 64 MiB on which every
//! one of those runs gives the same rows and the same warnings as on the full capture.

use memscope_core::analyses::registry::leaves;
use memscope_core::formats::{write_pages, Form};
use memscope_core::reader::CacheConfig;
use memscope_core::session::{self, Symbols};
use memscope_core::trim::{option_sets, read_by_analyses};
use memscope_tests::corpus::{self, FileReader};

/// The demo the page ships must fit a static host.
const MAX_TRIMMED: u64 = 64 << 20;

#[test]
fn a_trimmed_capture_gives_every_analysis_the_same_rows() {
    let (mut checks, mut diffs) = (0usize, Vec::new());
    for capture in corpus::corpus_captures() {
        let table = corpus::load_symbols(&capture);
        let full = session::open_capture(FileReader::open(&capture.lime_path), CacheConfig::default()).unwrap();
        full.record_reads();
        let symbols = Symbols::Table {
            table: table.clone(),
            name: capture.name.clone(),
        };
        let full = session::identify_kernel(full, symbols, &mut |_| {})
            .unwrap_or_else(|e| panic!("{}: {e}", capture.name))
            .kernel;
        let failed = read_by_analyses(&full);
        assert!(failed.is_empty(), "{}: runs failed: {failed:?}", capture.name);
        let pages = full.capture().recorded_pages();
        for form in [Form::Lime, Form::Avml] {
            let mut bytes = Vec::new();
            write_pages::<()>(full.capture(), &pages, form, &mut |b| {
                bytes.extend_from_slice(b);
                Ok(())
            })
            .unwrap();
            checks += 1;
            if bytes.len() as u64 >= MAX_TRIMMED {
                diffs.push(format!("{} {form:?}: {} bytes, over 64 MiB", capture.name, bytes.len()));
            }
            let symbols = Symbols::Table {
                table: table.clone(),
                name: capture.name.clone(),
            };
            let trimmed = session::open(bytes, CacheConfig::default(), symbols, &mut |_| {})
                .unwrap_or_else(|e| panic!("{} {form:?}: trimmed capture not identified: {e}", capture.name))
                .kernel;
            for leaf in leaves() {
                for options in option_sets(leaf) {
                    let what = format!("{} {form:?}: {} {}", capture.name, leaf.id, options.to_flags());
                    let (a, b) = (leaf.spec.run(&full, &options), leaf.spec.run(&trimmed, &options));
                    checks += 1;
                    match (a, b) {
                        (Ok(a), Ok(b)) if a.rows == b.rows && a.warnings == b.warnings => {}
                        (Ok(a), Ok(b)) if a.rows == b.rows => {
                            diffs.push(format!("{what}: warnings {:?} became {:?}", a.warnings, b.warnings))
                        }
                        (Ok(a), Ok(b)) => diffs.push(format!("{what}: {} rows became {}", a.rows.len(), b.rows.len())),
                        (a, b) => diffs.push(format!("{what}: {:?} became {:?}", a.err(), b.err())),
                    }
                }
            }
        }
    }
    memscope_tests::checks::ran("trim", checks);
    assert!(diffs.is_empty(), "{} differences:\n{}", diffs.len(), diffs.join("\n"));
}
