//! Smeared captures: every corpus capture read through a layer that spoils a few percent of its pages, as a
//! live acquisition does when memory changes under it. Some pages become noise, others a copy of another
//! page (plausible kernel data in the wrong place: pointers that lead somewhere, lengths that look real).
//! Every analysis of the registry must then give rows, rows with warnings, or a clear error: never a panic,
//! a hang or an endless walk; and a run that gives fewer rows than on the intact capture must warn.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::time::{Duration, Instant};

use memscope_core::analyses::registry::{leaves, Options};
use memscope_core::formats::Capture;
use memscope_core::kernel::identify;
use memscope_core::reader::{BlockCache, CacheConfig, ReadAt, ReadError};
use memscope_tests::corpus::{self, load_symbols, FileReader};

const PAGE: u64 = 4096;
/// Far above any analysis's time on these captures (tens of milliseconds): only a hang crosses it.
const HANG: Duration = Duration::from_secs(60);

/// How a spoiled page is spoiled.
#[derive(Clone, Copy, Debug)]
enum Smear {
    /// Bytes from a generator.
    Noise,
    /// The content of another page of the capture.
    OtherPage,
}

/// A capture file whose pages are spoiled, each with probability `per_mille / 1000`, chosen by `seed`.
struct Smeared {
    inner: FileReader,
    seed: u64,
    per_mille: u64,
    how: Smear,
}

fn mix(mut x: u64) -> u64 {
    // splitmix64's finaliser: a good enough hash of a page number and a seed.
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

impl Smeared {
    /// The page to read instead of `page`, or `None` to keep it; `Some(None)` for noise.
    fn replacement(&self, page: u64) -> Option<Option<u64>> {
        let h = mix(page ^ self.seed.rotate_left(17));
        if h % 1000 >= self.per_mille {
            return None;
        }
        Some(match self.how {
            Smear::Noise => None,
            Smear::OtherPage => Some(mix(h) % (self.inner.size() / PAGE)),
        })
    }
}

impl ReadAt for Smeared {
    fn size(&self) -> u64 {
        self.inner.size()
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), ReadError> {
        self.inner.read_at(offset, buf)?;
        let mut at = offset;
        let end = offset + buf.len() as u64;
        while at < end {
            let page = at / PAGE;
            let stop = ((page + 1) * PAGE).min(end);
            // The file's first pages hold the format's headers: leave them, the format tests cover those.
            if page > 0 {
                if let Some(with) = self.replacement(page) {
                    let out = &mut buf[(at - offset) as usize..(stop - offset) as usize];
                    match with {
                        Some(other) => self.inner.read_at(other * PAGE + at % PAGE, out)?,
                        None => {
                            for (i, b) in out.iter_mut().enumerate() {
                                *b = mix((at + i as u64) ^ self.seed) as u8;
                            }
                        }
                    }
                }
            }
            at = stop;
        }
        Ok(())
    }
}

#[test]
fn every_analysis_survives_smeared_pages() {
    let mut runs = 0;
    let mut identified = 0;
    let mut lost_silently = Vec::new();
    for capture in corpus::corpus_captures() {
        let symbols = load_symbols(&capture);
        // Each analysis's rows on the intact capture: a smeared run that gives fewer must say so.
        let intact_kernel = corpus::kernel(&capture);
        let intact: Vec<usize> = leaves()
            .iter()
            .map(|leaf| {
                leaf.spec
                    .run(&intact_kernel, &Options::new())
                    .unwrap_or_else(|e| panic!("{}: {} on the intact capture: {e}", capture.name, leaf.id))
                    .rows
                    .len()
            })
            .collect();
        for (seed, per_mille, how) in [
            (1, 20, Smear::Noise),
            (2, 50, Smear::Noise),
            (3, 20, Smear::OtherPage),
            (4, 50, Smear::OtherPage),
            (5, 100, Smear::OtherPage),
        ] {
            let label = format!("{} seed {seed} ({per_mille}‰ {how:?})", capture.name);
            let reader = Smeared {
                inner: FileReader::open(&capture.lime_path),
                seed,
                per_mille,
                how,
            };
            let cap = match Capture::open(Box::new(BlockCache::new(reader, CacheConfig::default()))) {
                Ok(c) => Rc::new(c),
                Err(e) => {
                    println!("{label}: capture refused: {e}");
                    continue;
                }
            };
            let kernel = match catch_unwind(AssertUnwindSafe(|| identify(cap.clone(), symbols.clone()))) {
                Ok(Ok(k)) => k,
                Ok(Err(e)) => {
                    println!("{label}: not identified: {e}");
                    continue;
                }
                Err(_) => panic!("{label}: identification panicked"),
            };
            identified += 1;
            for (leaf, &whole) in leaves().iter().zip(&intact) {
                let spec = leaf.spec;
                let started = Instant::now();
                let result = catch_unwind(AssertUnwindSafe(|| spec.run(&kernel, &Options::new())))
                    .unwrap_or_else(|_| panic!("{label}: {} panicked", leaf.id));
                let took = started.elapsed();
                assert!(took < HANG, "{label}: {} took {took:?}", leaf.id);
                runs += 1;
                match result {
                    Ok(a) if a.rows.len() < whole && a.warnings.is_empty() => lost_silently.push(format!(
                        "{label}: {}: {} of {whole} rows, no warning",
                        leaf.id,
                        a.rows.len()
                    )),
                    Ok(a) => println!(
                        "{label}: {}: {} rows, {} warnings",
                        leaf.id,
                        a.rows.len(),
                        a.warnings.len()
                    ),
                    Err(e) => println!("{label}: {}: error: {e}", leaf.id),
                }
            }
        }
    }
    assert!(
        identified > 0,
        "no smeared capture was identified: the test exercised nothing"
    );
    assert!(
        lost_silently.is_empty(),
        "rows lost without a warning:\n{}",
        lost_silently.join("\n")
    );
    println!("smeared: {identified} captures identified, {runs} analysis runs, none panicked or hung");
    memscope_tests::checks::ran("smeared", runs);
}
