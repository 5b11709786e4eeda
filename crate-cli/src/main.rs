//! `memscope`: Linux memory forensics from the terminal, over the same core as the web app.

mod analysis;
mod bench;
mod output;
mod symbols;
mod trim;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, FromArgMatches, Subcommand};
use memscope_cli::source;
use memscope_core::analyses::info::info;
use memscope_core::analyses::registry;
use memscope_core::reader::CacheConfig;
use memscope_core::session::{self, OpenError, Session, SymbolStore, Symbols};

use output::Format;

/// An error that stops a command: printed as one line, exit code 1.
#[derive(Debug)]
pub struct CliError(String);

impl CliError {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        CliError(message.into())
    }
}

/// The commands that are not analyses; the analyses' subcommands come from the registry
/// ([`analysis::command`]).
#[derive(Subcommand)]
enum Fixed {
    /// The capture's format and ranges, and the kernel it holds.
    Info(CaptureArgs),
    /// Every analysis with its options and column sets (`--format json` for scripts).
    List {
        /// Output format.
        #[arg(long, short = 'f', value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Symbols directories.
    #[command(subcommand)]
    Symbols(SymbolsCommand),
    /// Write a capture that keeps only the pages the analyses read (and identification needs): every
    /// analysis, with its defaults and each flag, gives the same rows on it; files that output options
    /// write (--recover, --dump, --pcap...) are not kept.
    Trim {
        #[command(flatten)]
        args: CaptureArgs,
        /// Where to write the trimmed capture.
        #[arg(long)]
        out: PathBuf,
        /// Its format.
        #[arg(long = "as", value_enum, default_value_t = trim::Form::Lime)]
        form: trim::Form,
    },
    /// Time ISF loading (cold and warm), deriving symbols from the capture, and `info` on a capture.
    Bench {
        /// The capture file.
        capture: PathBuf,
        /// Its ISF file.
        #[arg(long, short = 's')]
        symbols: PathBuf,
        /// Runs per step (the best and the median are reported).
        #[arg(long, default_value_t = 10)]
        runs: usize,
        /// Output format.
        #[arg(long, short = 'f', value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

#[derive(Subcommand)]
enum SymbolsCommand {
    /// Write DIR/index.json: which kernel each ISF file in DIR describes.
    Index {
        /// The symbols directory.
        dir: PathBuf,
    },
    /// Write the symbols derived from a capture (its kernel's BTF and kallsyms) as a Volatility 3 ISF:
    /// `.json`, or xz-compressed where OUT ends in `.xz`.
    Export {
        /// The capture file.
        capture: PathBuf,
        /// Where to write the ISF.
        #[arg(long)]
        out: PathBuf,
    },
    /// Write OUT/<sha256>.mspack for each ISF file in DIR, and OUT/index.json: the compact symbol packs the
    /// web app loads without parsing JSON.
    Pack {
        /// The symbols directory.
        dir: PathBuf,
        /// Where to write the packs and their index.
        out: PathBuf,
    },
}

/// Arguments every analysis takes.
#[derive(Args)]
struct CaptureArgs {
    /// The capture file (LiME, AVML, ELF core or raw).
    capture: PathBuf,
    /// An ISF file (.json or .json.xz), a directory of them with an index.json, or `capture`: the
    /// kernel's own BTF and kallsyms in the capture (also used when no ISF fits).
    #[arg(long, short = 's')]
    symbols: Option<PathBuf>,
    /// Output format: table, json or csv (and an analysis's own, such as files's bodyfile).
    #[arg(long, short = 'f', default_value = "table", value_parser = Format::NAMES)]
    format: String,
}

/// The whole command line: the fixed commands, then one subcommand per analysis of the registry.
fn cli() -> clap::Command {
    Fixed::augment_subcommands(clap::Command::new("memscope"))
        .version(env!("CARGO_PKG_VERSION"))
        .about("Linux memory forensics: what a physical-memory capture shows")
        .subcommand_required(true)
        .arg_required_else_help(true)
        .subcommands(registry::ANALYSES.iter().map(analysis::command))
}

/// Open the capture of `args` and identify its kernel with the symbols it names, or those of the default
/// locations.
fn open(args: &CaptureArgs) -> Result<Session, CliError> {
    open_with(args, false)
}

/// [`open`]; with `record`, the capture notes every page read from the start (identification included).
fn open_with(args: &CaptureArgs, record: bool) -> Result<Session, CliError> {
    let path = &args.capture;
    let file =
        source::FileSource::open(path).map_err(|e| CliError::new(format!("cannot open {}: {e}", path.display())))?;
    let locations: Vec<PathBuf> = match &args.symbols {
        Some(l) => vec![l.clone()],
        None => symbols::default_locations()
            .into_iter()
            .filter(|p| p.is_dir())
            .collect(),
    };
    let mut stores: Vec<symbols::DirStore> = Vec::new();
    let mut derived = symbols::DerivedCache::new();
    let chosen = match locations.as_slice() {
        [word] if word.as_os_str() == CAPTURE_SYMBOLS => Symbols::Capture(&mut derived),
        // No symbols anywhere: derived from the capture, with the warning a failed search gives.
        [] => Symbols::Search {
            stores: Vec::new(),
            derive: Some(&mut derived),
        },
        [file] if !file.is_dir() => Symbols::Table {
            table: std::rc::Rc::new(symbols::load(file)?),
            name: file_name(file),
        },
        dirs => {
            stores.extend(dirs.iter().cloned().map(symbols::DirStore));
            Symbols::Search {
                stores: stores.iter_mut().map(|s| s as &mut dyn SymbolStore).collect(),
                derive: Some(&mut derived),
            }
        }
    };
    let failed = |e: OpenError| match e {
        OpenError::Format(e) => CliError::new(format!("{}: {e}", path.display())),
        e => CliError::new(e.to_string()),
    };
    let capture = session::open_capture(file, CacheConfig::default()).map_err(failed)?;
    if record {
        capture.record_reads();
    }
    session::identify_kernel(capture, chosen, &mut |_| {}).map_err(failed)
}

/// The `--symbols` word that derives symbols from the capture itself.
const CAPTURE_SYMBOLS: &str = "capture";

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

fn run(matches: &clap::ArgMatches) -> Result<Vec<String>, CliError> {
    if let Some((name, sub)) = matches.subcommand() {
        if let Some(spec) = registry::ANALYSES.iter().find(|s| s.name == name) {
            return analysis::run(spec, sub);
        }
    }
    let fixed = Fixed::from_arg_matches(matches).map_err(|e| CliError::new(e.to_string()))?;
    match fixed {
        Fixed::Info(args) => {
            let s = open(&args)?;
            let row = info(&s.capture, &s.kernel, Some(s.symbols_name.clone()));
            output::print_object(&row, Format::named(&args.format)?)?;
            Ok(s.warnings)
        }
        Fixed::List { format } => {
            let specs: Vec<serde_json::Value> = registry::ANALYSES
                .iter()
                .map(|spec| {
                    let mut row = spec.describe();
                    row["usage"] = analysis::usage(spec, "memscope").into();
                    row
                })
                .collect();
            output::print_rows(&specs, format, Some(&["name", "title", "usage"]))?;
            Ok(Vec::new())
        }
        Fixed::Bench {
            capture,
            symbols,
            runs,
            format,
        } => {
            output::print_rows(&bench::run(&capture, &symbols, runs)?, format, None)?;
            Ok(Vec::new())
        }
        Fixed::Trim { args, out, form } => {
            let s = open_with(&args, true)?;
            trim::run(&s, &out, form)
        }
        Fixed::Symbols(SymbolsCommand::Pack { dir, out }) => {
            let written = symbols::write_packs(&dir, &out)?;
            eprintln!("wrote {written} symbol packs and index.json to {}", out.display());
            Ok(Vec::new())
        }
        Fixed::Symbols(SymbolsCommand::Export { capture, out }) => {
            let s = open(&CaptureArgs {
                capture,
                symbols: Some(PathBuf::from(CAPTURE_SYMBOLS)),
                format: "table".into(),
            })?;
            let written = symbols::export_isf(s.kernel.symbols(), &out)?;
            eprintln!("wrote {} ({written} bytes)", out.display());
            Ok(s.warnings)
        }
        Fixed::Symbols(SymbolsCommand::Index { dir }) => {
            let index = symbols::build_index(&dir)?;
            let path = dir.join(memscope_core::symbols::index::INDEX_FILE);
            let text = serde_json::to_string_pretty(&index).map_err(|e| CliError::new(e.to_string()))? + "\n";
            std::fs::write(&path, text).map_err(|e| CliError::new(format!("cannot write {}: {e}", path.display())))?;
            eprintln!("wrote {} ({} entries)", path.display(), index.entries.len());
            Ok(Vec::new())
        }
    }
}

fn main() -> ExitCode {
    let matches = cli().get_matches();
    match run(&matches) {
        Ok(warnings) => {
            for w in warnings {
                eprintln!("warning: {w}");
            }
            ExitCode::SUCCESS
        }
        Err(CliError(message)) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
