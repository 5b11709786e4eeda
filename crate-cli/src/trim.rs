//! `memscope trim`: the capture's pages that the analyses read, written as a smaller capture (a demo for a
//! static site, or the evidence behind a finding without the whole memory).

use std::io::Write;
use std::path::Path;

use memscope_core::analyses::info::info;
use memscope_core::formats::{self, write_pages, PAGE_SIZE};
use memscope_core::session::Session;

use crate::CliError;

/// The format `trim` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Form {
    /// LiME.
    Lime,
    /// AVML v2 (snappy-compressed blocks).
    Avml,
}

/// Run every analysis on `session` (opened recording its reads), then write the pages read to `out`;
/// the warnings: analyses that failed.
pub fn run(session: &Session, out: &Path, form: Form) -> Result<Vec<String>, CliError> {
    // What `info` reads is kept too: the trimmed capture gives the same info.
    let _ = info(&session.capture, &session.kernel, Some(session.symbols_name.clone()));
    let failed = memscope_core::trim::read_by_analyses(&session.kernel);
    let pages = session.capture.recorded_pages();
    let form = match form {
        Form::Lime => formats::Form::Lime,
        Form::Avml => formats::Form::Avml,
    };
    // Written beside `out` and renamed once whole, so that a failed run leaves no half capture.
    let tmp = out.with_extension(format!("part{}", std::process::id()));
    let write = || -> Result<u64, String> {
        let mut file = std::io::BufWriter::new(std::fs::File::create(&tmp).map_err(|e| e.to_string())?);
        let n = write_pages(&session.capture, &pages, form, &mut |bytes| file.write_all(bytes))
            .map_err(|e| e.to_string())?;
        file.into_inner().map_err(|e| e.error().to_string())?;
        std::fs::rename(&tmp, out).map_err(|e| e.to_string())?;
        Ok(n)
    };
    let written = write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        CliError::new(format!("cannot write {}: {e}", out.display()))
    })?;
    let mib = |b: u64| b as f64 / f64::from(1 << 20);
    eprintln!(
        "kept {} pages ({:.1} MiB) of {:.1} MiB; wrote {} ({:.1} MiB)",
        pages.len(),
        mib(pages.len() as u64 * PAGE_SIZE),
        mib(session.capture.phys_bytes()),
        out.display(),
        mib(written)
    );
    Ok(failed.into_iter().map(|f| format!("trim: {f}")).collect())
}
