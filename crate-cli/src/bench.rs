//! `memscope bench`: how long the costly steps take on given captures, cold and warm, in this process.
//!
//! Cold: the ISF file is read, decompressed and parsed into a symbol pack. Warm: the pack is loaded from
//! the cache. Symbols derived from the capture (its BTF and kallsyms) are timed with the bytes their scan
//! read. The docker views and the packet analyses are timed from an opened capture, the latter with the
//! bytes they read of it (carving must read the slab pages and the page array, never the whole capture). Each step is timed as the best of several runs; whole-process figures, side by side with
//! Volatility 3, come from `scripts/bench.sh`.

use std::path::Path;
use std::rc::Rc;
use std::time::{Duration, Instant};

use memscope_cli::source::FileSource;
use memscope_core::analyses::info::info;
use memscope_core::analyses::registry::{self, Options};
use memscope_core::formats::Capture;
use memscope_core::kernel::identify;
use memscope_core::reader::{BlockCache, CacheConfig, Counted, ReadCounts};
use memscope_core::session;
use memscope_core::symbols::SymbolTable;
use serde::Serialize;

use crate::CliError;

/// One benchmark figure.
#[derive(Debug, Serialize)]
pub struct BenchRow {
    /// The capture file.
    pub capture: String,
    /// What was timed.
    pub step: String,
    /// Best time over the runs, milliseconds.
    pub best_ms: f64,
    /// Median time over the runs, milliseconds.
    pub median_ms: f64,
    /// Number of runs.
    pub runs: usize,
}

fn time<T>(runs: usize, mut f: impl FnMut() -> Result<T, CliError>) -> Result<(f64, f64), CliError> {
    let mut times: Vec<Duration> = Vec::with_capacity(runs);
    for _ in 0..runs.max(1) {
        let start = Instant::now();
        f()?;
        times.push(start.elapsed());
    }
    times.sort();
    // Microsecond resolution is plenty for these figures.
    let ms = |d: Duration| (d.as_secs_f64() * 1e6).round() / 1000.0;
    Ok((ms(times[0]), ms(times[times.len() / 2])))
}

fn open_capture(path: &Path) -> Result<Rc<Capture>, CliError> {
    Ok(open_counted(path)?.0)
}

/// The capture at `path`, with the counts of what its block cache reads from the file.
fn open_counted(path: &Path) -> Result<(Rc<Capture>, Rc<ReadCounts>), CliError> {
    let file = Counted::new(FileSource::open(path).map_err(|e| CliError::new(format!("{}: {e}", path.display())))?);
    let counts = file.counts();
    let capture = Capture::open(Box::new(BlockCache::new(file, CacheConfig::default())))
        .map_err(|e| CliError::new(format!("{}: {e}", path.display())))?;
    Ok((Rc::new(capture), counts))
}

/// Time ISF loading (cold and warm) and `info` (open, identify, describe) for a capture and its symbols.
pub fn run(capture_path: &Path, symbols_path: &Path, runs: usize) -> Result<Vec<BenchRow>, CliError> {
    let name = capture_path.display().to_string();
    let isf = std::fs::read(symbols_path).map_err(|e| CliError::new(format!("{}: {e}", symbols_path.display())))?;
    let symbol_error = |e: memscope_core::symbols::SymbolError| CliError::new(e.to_string());
    let mut rows = Vec::new();
    let mut row = |step: &str, (best_ms, median_ms): (f64, f64)| {
        rows.push(BenchRow {
            capture: name.clone(),
            step: step.to_string(),
            best_ms,
            median_ms,
            runs,
        });
    };
    row(
        "isf cold: decompress + parse + pack",
        time(runs.min(3), || SymbolTable::from_isf(&isf).map_err(symbol_error))?,
    );
    let pack = SymbolTable::from_isf(&isf).map_err(symbol_error)?.pack().to_vec();
    row(
        "isf warm: load the cached pack",
        time(runs, || SymbolTable::from_pack(pack.clone()).map_err(symbol_error))?,
    );
    row(
        "info warm: open + identify + info",
        time(runs, || {
            let capture = open_capture(capture_path)?;
            let symbols = Rc::new(SymbolTable::from_pack(pack.clone()).map_err(symbol_error)?);
            let kernel = identify(capture.clone(), symbols).map_err(|e| CliError::new(e.to_string()))?;
            Ok(info(&capture, &kernel, None))
        })?,
    );
    // Symbols from the capture itself: the scan for the BTF and kallsyms, the parse and the pack.
    let mut read = 0;
    let derived = time(runs.min(5), || {
        let capture = open_capture(capture_path)?;
        let d = session::derive(&capture, &mut |_| {}).map_err(|e| CliError::new(e.to_string()))?;
        read = d.bytes_read;
        Ok(d)
    })?;
    row(
        &format!(
            "symbols from the capture: {} MiB read + BTF + kallsyms + pack",
            read >> 20
        ),
        derived,
    );
    row(
        "info from the capture's symbols, none kept: open + derive + identify + info",
        time(runs.min(5), || {
            let capture = open_capture(capture_path)?;
            let d = session::derive(&capture, &mut |_| {}).map_err(|e| CliError::new(e.to_string()))?;
            let kernel = identify(capture.clone(), Rc::new(d.table)).map_err(|e| CliError::new(e.to_string()))?;
            Ok(info(&capture, &kernel, None))
        })?,
    );
    // The docker views and the packet analyses from an opened capture (identified afresh for each run,
    // so that no layout or translation cache of an earlier run helps), with what they read of the file.
    let timed = registry::leaves()
        .iter()
        .filter(|l| l.id.starts_with("docker-") || ["queues", "skbuff"].contains(&l.id.as_str()));
    for leaf in timed {
        let mut times = Vec::with_capacity(runs.max(1));
        let mut read = 0;
        for _ in 0..runs.max(1) {
            let (capture, counts) = open_counted(capture_path)?;
            let symbols = Rc::new(SymbolTable::from_pack(pack.clone()).map_err(symbol_error)?);
            let kernel = identify(capture, symbols).map_err(|e| CliError::new(e.to_string()))?;
            let before = counts.bytes();
            let start = Instant::now();
            leaf.spec
                .run(&kernel, &Options::new())
                .map_err(|e| CliError::new(e.to_string()))?;
            times.push(start.elapsed());
            read = counts.bytes() - before;
        }
        times.sort();
        let ms = |d: Duration| (d.as_secs_f64() * 1e6).round() / 1000.0;
        row(
            &format!(
                "{} from an opened capture: {:.1} MiB read",
                leaf.id,
                read as f64 / f64::from(1 << 20)
            ),
            (ms(times[0]), ms(times[times.len() / 2])),
        );
    }
    Ok(rows)
}
