//! `memscope`: Linux memory forensics from the terminal, over the same core as the web app.

mod output;
mod source;
mod symbols;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::rc::Rc;

use clap::{Args, Parser, Subcommand};
use memscope_core::analyses::info::info;
use memscope_core::formats::Capture;
use memscope_core::reader::{BlockCache, CacheConfig};

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

#[derive(Parser)]
#[command(name = "memscope", version, about = "Linux memory forensics: what a physical-memory capture shows")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The capture's format and ranges, and the kernel it holds.
    Info(CaptureArgs),
    /// Symbols directories.
    #[command(subcommand)]
    Symbols(SymbolsCommand),
}

#[derive(Subcommand)]
enum SymbolsCommand {
    /// Write DIR/index.json: which kernel each ISF file in DIR describes.
    Index {
        /// The symbols directory.
        dir: PathBuf,
    },
}

/// Arguments every analysis takes.
#[derive(Args)]
struct CaptureArgs {
    /// The capture file (LiME, AVML, ELF core or raw).
    capture: PathBuf,
    /// An ISF file (.json or .json.xz) or a directory of them with an index.json.
    #[arg(long, short = 's')]
    symbols: Option<PathBuf>,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = Format::Table)]
    format: Format,
}

/// An opened capture with its identified kernel.
struct Session {
    capture: Rc<Capture>,
    identified: symbols::Identified,
    warnings: Vec<String>,
}

fn open(args: &CaptureArgs) -> Result<Session, CliError> {
    let path = &args.capture;
    let file = source::FileSource::open(path).map_err(|e| CliError::new(format!("cannot open {}: {e}", path.display())))?;
    let cached = BlockCache::new(file, CacheConfig::default());
    let capture = Capture::open(Box::new(cached)).map_err(|e| CliError::new(format!("{}: {e}", path.display())))?;
    let capture = Rc::new(capture);
    let mut warnings = Vec::new();
    let identified = symbols::identify_with(capture.clone(), args.symbols.as_deref(), &mut warnings)?;
    warnings.extend(identified.kernel.warnings().iter().cloned());
    Ok(Session { capture, identified, warnings })
}

fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| path.display().to_string())
}

fn run(cli: Cli) -> Result<Vec<String>, CliError> {
    match cli.command {
        Command::Info(args) => {
            let s = open(&args)?;
            let row = info(&s.capture, &s.identified.kernel, Some(file_name(&s.identified.symbols_file)));
            output::print_object(&row, args.format)?;
            Ok(s.warnings)
        }
        Command::Symbols(SymbolsCommand::Index { dir }) => {
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
    let cli = Cli::parse();
    match run(cli) {
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
