//! One front door for every front end: open a capture behind a block cache, choose the symbols that fit
//! it (a table the user named, or the first entry of a store's index whose kernel the probe finds), and
//! identify its kernel. When nothing fits, the error carries the kernel banner the capture's memory holds,
//! so that a front end can say which symbols to fetch. The CLI, the web worker and the tests all open
//! captures here; only where symbols come from differs ([`SymbolStore`]).

mod capture_symbols;

use std::rc::Rc;

pub use capture_symbols::{derive, CaptureSymbols, CaptureSymbolsError};

use crate::formats::{Capture, FormatError};
use crate::kernel::{banner, identify, identify_from, probe_init_task, IdentifyError, Kernel};
use crate::reader::{BlockCache, CacheConfig, ReadAt};
use crate::symbols::index::{IndexEntry, SymbolIndex};
use crate::symbols::SymbolTable;

/// Where a front end keeps symbols: a directory of ISF files for the CLI, the packs served beside the page
/// for the web app.
pub trait SymbolStore {
    /// How to name the store in messages (a directory's path).
    fn name(&self) -> String;
    /// Its index; problems that still leave an index usable go to `warnings`.
    fn index(&mut self, warnings: &mut Vec<String>) -> Result<SymbolIndex, String>;
    /// The symbols of one entry of its index.
    fn load(&mut self, entry: &IndexEntry) -> Result<SymbolTable, String>;
}

/// The symbols to identify a capture's kernel with.
pub enum Symbols<'s> {
    /// One table the user chose (an ISF file, or one dropped on the page), named for `info`.
    Table { table: Rc<SymbolTable>, name: String },
    /// Stores searched in order, through their indexes; where none fits and `derive` is given, symbols
    /// derived from the capture (kept there for the next capture of the kernel).
    Search {
        /// The stores.
        stores: Vec<&'s mut dyn SymbolStore>,
        /// Where derived symbols are kept, when symbols are to be derived from the capture if no store's fit.
        derive: Option<&'s mut dyn DerivedStore>,
    },
    /// Symbols derived from the capture alone: the kernel's BTF and kallsyms in memory, or the table
    /// derived from an earlier capture of the same kernel build.
    Capture(&'s mut dyn DerivedStore),
}

/// Where a front end keeps symbols derived from captures (keyed by the BTF blob's hash, with an index
/// entry like an ISF's), so that the next capture of a kernel build is identified by the index's probe
/// instead of a scan and a parse.
pub trait DerivedStore: SymbolStore {
    /// Keep a table derived from a capture (a store that cannot only costs time next run).
    fn save(&mut self, table: &SymbolTable);
}

/// A [`DerivedStore`] that keeps nothing.
pub struct NoDerivedStore;

impl SymbolStore for NoDerivedStore {
    fn name(&self) -> String {
        "no store".into()
    }

    fn index(&mut self, _warnings: &mut Vec<String>) -> Result<SymbolIndex, String> {
        Ok(SymbolIndex::default())
    }

    fn load(&mut self, entry: &IndexEntry) -> Result<SymbolTable, String> {
        Err(format!("{}: nothing is kept", entry.file))
    }
}

impl DerivedStore for NoDerivedStore {
    fn save(&mut self, _table: &SymbolTable) {}
}

/// How `info` names symbols derived from the capture.
pub const CAPTURE_SYMBOLS_NAME: &str = "capture (BTF)";
/// The warning given when no ISF of the stores fits and symbols were derived from the capture.
pub const DERIVED_WARNING: &str = "no ISF fits this kernel; symbols derived from its BTF and kallsyms in the capture";

/// An open capture with its kernel identified.
#[derive(Debug)]
pub struct Session {
    /// The capture, behind its block cache.
    pub capture: Rc<Capture>,
    /// Its kernel.
    pub kernel: Kernel,
    /// The symbols used: the chosen table's name, or the index entry's file.
    pub symbols_name: String,
    /// Problems met on the way that did not stop it (an out-of-date index, a kernel-level warning).
    pub warnings: Vec<String>,
}

/// Why a capture could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Not a capture memscope can read.
    #[error(transparent)]
    Format(#[from] FormatError),
    /// The symbols the user chose do not fit.
    #[error("{error} (symbols {name}){memory}")]
    Mismatch {
        /// The chosen table's name.
        name: String,
        /// What identification said.
        error: Box<IdentifyError>,
        /// Which kernel the capture's memory names.
        memory: MemoryBanner,
    },
    /// Symbols could not be derived from the capture.
    #[error(transparent)]
    CaptureSymbols(#[from] CaptureSymbolsError),
    /// No symbols of the stores fit.
    #[error("{}", no_fit(searched, last.as_deref(), memory, problems))]
    NoFit {
        /// The stores searched.
        searched: Vec<String>,
        /// What could not be read on the way (a store's index, an entry's symbols).
        problems: Vec<String>,
        /// What identification said of the last candidate, if one was tried.
        last: Option<Box<IdentifyError>>,
        /// Which kernel the capture's memory names.
        memory: MemoryBanner,
    },
}

impl OpenError {
    /// The kernel banner the capture's memory holds, where the error looked for one and found it.
    pub fn banner(&self) -> Option<&str> {
        match self {
            OpenError::Mismatch { memory, .. } | OpenError::NoFit { memory, .. } => match memory {
                MemoryBanner::Found(b) => Some(b),
                _ => None,
            },
            _ => None,
        }
    }
}

/// Which kernel the capture's memory names in its banner (`Linux version ...`): looked for only where it
/// helps, when no symbols fit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemoryBanner {
    /// Not looked for: the error says enough (the symbols are unusable, or name the kernel found).
    NotLooked,
    /// No banner in the capture's memory.
    NotFound,
    /// The first banner found.
    Found(String),
}

impl std::fmt::Display for MemoryBanner {
    /// The hint as the end of an error message (empty when not looked for).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MemoryBanner::NotLooked => Ok(()),
            MemoryBanner::NotFound => {
                f.write_str("; no kernel banner is in the capture's memory (is it a Linux memory capture?)")
            }
            MemoryBanner::Found(b) => write!(f, "; the capture's memory names \"{b}\": use symbols for that kernel"),
        }
    }
}

fn no_fit(searched: &[String], last: Option<&IdentifyError>, hint: &MemoryBanner, problems: &[String]) -> String {
    let also = if problems.is_empty() {
        String::new()
    } else {
        format!(" (also: {})", problems.join("; "))
    };
    let why = match last {
        Some(e @ IdentifyError::WrongKernel { .. }) => e.to_string(),
        Some(e) => format!("no symbols in {} fit this capture: {e}{hint}", searched.join(", ")),
        None => format!(
            "no Linux kernel described by the symbols in {} was found in the capture{hint}",
            searched.join(", ")
        ),
    };
    why + &also
}

/// Open the capture read through `source`, behind a block cache of `cache`.
pub fn open_capture(source: impl ReadAt + 'static, cache: CacheConfig) -> Result<Rc<Capture>, OpenError> {
    Ok(Rc::new(Capture::open(Box::new(BlockCache::new(source, cache)))?))
}

/// Open a capture and identify its kernel: [`open_capture`] then [`identify_kernel`].
pub fn open(
    source: impl ReadAt + 'static,
    cache: CacheConfig,
    symbols: Symbols<'_>,
    progress: &mut dyn FnMut(&str),
) -> Result<Session, OpenError> {
    progress("reading the capture's format");
    let capture = open_capture(source, cache)?;
    identify_kernel(capture, symbols, progress)
}

/// Identify the kernel of an open capture with `symbols`; `progress` hears each step.
pub fn identify_kernel(
    capture: Rc<Capture>,
    symbols: Symbols<'_>,
    progress: &mut dyn FnMut(&str),
) -> Result<Session, OpenError> {
    let mut warnings = Vec::new();
    let found = match symbols {
        Symbols::Table { table, name } => {
            progress("identifying the kernel");
            match identify(capture.clone(), table) {
                Ok(kernel) => (kernel, name),
                Err(error) => {
                    let memory = memory_banner(&capture, &error, progress);
                    return Err(OpenError::Mismatch {
                        name,
                        error: Box::new(error),
                        memory,
                    });
                }
            }
        }
        Symbols::Capture(cache) => from_capture(&capture, cache, &mut warnings, progress)?,
        Symbols::Search { stores, derive } => {
            let look = derive.is_none();
            match (search(&capture, stores, &mut warnings, look, progress), derive) {
                (Ok(found), _) => found,
                (
                    Err(OpenError::NoFit {
                        searched,
                        mut problems,
                        last,
                        ..
                    }),
                    Some(cache),
                ) => {
                    let mut derived = Vec::new();
                    match from_capture(&capture, cache, &mut derived, progress) {
                        Ok(found) => {
                            warnings.push(DERIVED_WARNING.to_string());
                            warnings.extend(derived);
                            found
                        }
                        Err(e) => {
                            problems.push(format!("symbols from the capture: {e}"));
                            let memory =
                                memory_banner(&capture, last.as_deref().unwrap_or(&IdentifyError::NotFound), progress);
                            return Err(OpenError::NoFit {
                                searched,
                                problems,
                                last,
                                memory,
                            });
                        }
                    }
                }
                (Err(e), _) => return Err(e),
            }
        }
    };
    let (kernel, symbols_name) = found;
    warnings.extend(kernel.warnings().iter().cloned());
    Ok(Session {
        capture,
        kernel,
        symbols_name,
        warnings,
    })
}

/// Identify the kernel with symbols derived from the capture: those `cache` kept of this kernel build
/// (found by its index's probe, and taken only where the banner in memory is the one they were derived
/// with), else derived now ([`derive`]) and kept there.
fn from_capture(
    capture: &Rc<Capture>,
    cache: &mut dyn DerivedStore,
    warnings: &mut Vec<String>,
    progress: &mut dyn FnMut(&str),
) -> Result<(Kernel, String), OpenError> {
    if let Ok(index) = cache.index(&mut Vec::new()) {
        for entry in &index.entries {
            let Some(init_task_phys) = probe_init_task(capture, &entry.probe).next() else {
                continue;
            };
            progress("loading symbols derived before from this kernel's BTF");
            let Ok(table) = cache.load(entry) else { continue };
            if let Ok(kernel) = identify_from(capture.clone(), Rc::new(table), init_task_phys) {
                if kernel
                    .banner()
                    .is_some_and(|b| Some(b.as_str()) == kernel.symbols().banner())
                {
                    return Ok((kernel, CAPTURE_SYMBOLS_NAME.to_string()));
                }
            }
        }
    }
    let derived = derive(capture, progress)?;
    warnings.extend(derived.warnings);
    progress("identifying the kernel");
    match identify(capture.clone(), Rc::new(derived.table)) {
        Ok(kernel) => {
            cache.save(kernel.symbols());
            Ok((kernel, CAPTURE_SYMBOLS_NAME.to_string()))
        }
        Err(error) => Err(OpenError::Mismatch {
            name: CAPTURE_SYMBOLS_NAME.to_string(),
            error: Box::new(error),
            memory: MemoryBanner::NotLooked,
        }),
    }
}

/// The first entry of the stores' indexes whose kernel the probe finds and identification confirms;
/// where none is, the error names the banner in memory if `look` (a scan of the capture).
fn search(
    capture: &Rc<Capture>,
    stores: Vec<&mut dyn SymbolStore>,
    warnings: &mut Vec<String>,
    look: bool,
    progress: &mut dyn FnMut(&str),
) -> Result<(Kernel, String), OpenError> {
    let mut last = None;
    let (mut searched, mut problems) = (Vec::new(), Vec::new());
    for store in stores {
        searched.push(store.name());
        let index = match store.index(warnings) {
            Ok(index) => index,
            Err(e) => {
                problems.push(e);
                continue;
            }
        };
        // One kernel at a time, stopping at the first that identifies: most captures match one entry.
        for entry in &index.entries {
            progress(&format!("probing the capture for {}", entry.file));
            let Some(init_task_phys) = probe_init_task(capture, &entry.probe).next() else {
                continue;
            };
            progress(&format!("loading symbols {}", entry.file));
            let table = match store.load(entry) {
                Ok(table) => table,
                Err(e) => {
                    problems.push(e);
                    continue;
                }
            };
            progress("identifying the kernel");
            match identify_from(capture.clone(), Rc::new(table), init_task_phys) {
                Ok(kernel) => return Ok((kernel, entry.file.clone())),
                Err(e) => last = Some(e),
            }
        }
    }
    let memory = if look {
        memory_banner(capture, last.as_ref().unwrap_or(&IdentifyError::NotFound), progress)
    } else {
        MemoryBanner::NotLooked
    };
    let last = last.map(Box::new);
    Err(OpenError::NoFit {
        searched,
        problems,
        last,
        memory,
    })
}

/// Which kernel the capture's memory names, after identification failed with `error`: a streamed scan,
/// run only when no symbols fit, and not when the error says enough (the symbols are unusable, or the
/// capture was seen to run another kernel, which the error names).
fn memory_banner(capture: &Capture, error: &IdentifyError, progress: &mut dyn FnMut(&str)) -> MemoryBanner {
    if matches!(error, IdentifyError::WrongKernel { .. } | IdentifyError::Symbols(_)) {
        return MemoryBanner::NotLooked;
    }
    progress("looking for the kernel's banner in memory");
    match banner::banners(capture, 1).into_iter().next() {
        Some(b) => MemoryBanner::Found(b),
        None => MemoryBanner::NotFound,
    }
}
