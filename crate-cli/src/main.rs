//! `memscope`: Linux memory forensics from the terminal, over the same core as the web app.

mod bench;
mod output;
mod source;
mod symbols;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::rc::Rc;

use clap::{Args, Parser, Subcommand};
use memscope_core::analyses::info::info;
use memscope_core::analyses::registry;
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
#[command(
    name = "memscope",
    version,
    about = "Linux memory forensics: what a physical-memory capture shows"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The capture's format and ranges, and the kernel it holds.
    Info(CaptureArgs),
    /// Open files of each process: descriptor, path as the process sees it, inode, type, mode, size.
    Lsof(LsofArgs),
    /// Sockets held by processes: protocol, family, addresses and ports, state, pid, fd, inode, netns;
    /// UNIX sockets with path and type.
    Netstat(NetstatArgs),
    /// Processes (with --threads their threads): ids, parent, start time, namespaces, credentials.
    Pslist(PslistArgs),
    /// Processes as a tree under their parents.
    Pstree(PslistArgs),
    /// Each process's command line (arguments), read from its own memory.
    Psaux(CaptureArgs),
    /// Each process's environment variables, read from its own memory.
    Envars(CaptureArgs),
    /// The kernel log (printk ring buffer, or the older log_buf): time since boot, level, facility, text.
    Dmesg(CaptureArgs),
    /// Network interfaces of every network namespace: index, name, MAC, addresses (CIDR), flags, MTU,
    /// promiscuous mode.
    Ifconfig(CaptureArgs),
    /// Neighbour tables (ARP and IPv6 neighbour discovery) of every network namespace.
    Arp(CaptureArgs),
    /// Routing tables (IPv4 and IPv6 FIB) of every network namespace, as `ip route show table all`.
    Routes(CaptureArgs),
    /// Symbols directories.
    #[command(subcommand)]
    Symbols(SymbolsCommand),
    /// Time ISF loading (cold and warm) and `info` on a capture.
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
    /// An ISF file (.json or .json.xz) or a directory of them with an index.json.
    #[arg(long, short = 's')]
    symbols: Option<PathBuf>,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = Format::Table)]
    format: Format,
}

/// Arguments of `lsof`.
#[derive(Args)]
struct LsofArgs {
    #[command(flatten)]
    capture: CaptureArgs,
    /// Only these processes (thread-group ids).
    #[arg(long, num_args = 1..)]
    pid: Vec<u32>,
}

/// Arguments of `netstat`.
#[derive(Args)]
struct NetstatArgs {
    #[command(flatten)]
    capture: CaptureArgs,
    /// Leave out UNIX sockets.
    #[arg(long, short = 'U')]
    no_unix: bool,
    /// Only sockets a process holds (leave out those found only in the protocol hash tables).
    #[arg(long)]
    owned_only: bool,
}

/// Arguments of `pslist` and `pstree`.
#[derive(Args)]
struct PslistArgs {
    #[command(flatten)]
    capture: CaptureArgs,
    /// A row per thread too (with its tid).
    #[arg(long)]
    threads: bool,
    /// Only these processes (process ids).
    #[arg(long, num_args = 1..)]
    pid: Vec<i64>,
    /// Only processes in this namespace, KIND:INODE (e.g. net:4026531840); repeatable.
    #[arg(long, value_parser = clap::value_parser!(memscope_core::analyses::pslist::NsFilter))]
    ns: Vec<memscope_core::analyses::pslist::NsFilter>,
    /// Namespace columns in the table (JSON and CSV always have them).
    #[arg(long)]
    nsinfo: bool,
    /// Credential and capability columns in the table (JSON and CSV always have them).
    #[arg(long)]
    credinfo: bool,
}

/// `pslist` and `pstree`.
fn run_pslist(args: &PslistArgs, tree: bool) -> Result<Vec<String>, CliError> {
    use memscope_core::analyses::pslist;
    let s = open(&args.capture)?;
    let options = pslist::Options {
        threads: args.threads,
        pids: args.pid.clone(),
        ns: args.ns.clone(),
    };
    let kernel = &s.identified.kernel;
    let fail = |e| CliError::new(format!("{}: {e}", if tree { "pstree" } else { "pslist" }));
    let mut columns = vec!["task_addr", "pid"];
    if args.threads {
        columns.push("tid");
    }
    columns.extend(["ppid", "comm", "name", "start_time", "kernel_thread"]);
    if args.nsinfo {
        columns.extend([
            "pid_in_ns",
            "ns.uts",
            "ns.ipc",
            "ns.mnt",
            "ns.net",
            "ns.pid",
            "ns.user",
            "ns.cgroup",
            "ns.time",
        ]);
    }
    if args.credinfo {
        columns.extend([
            "uid",
            "gid",
            "euid",
            "egid",
            "cap_inh",
            "cap_prm",
            "cap_eff",
            "cap_bnd",
            "cap_amb",
            "cap_eff_names",
        ]);
    }
    let format = args.capture.format;
    let found_warnings = if tree {
        let found = pslist::pstree(kernel, &options).map_err(fail)?;
        if format == Format::Table {
            // Indent the comm by depth.
            let mut values = memscope_core::export::to_values(&found.rows).map_err(|e| CliError::new(e.to_string()))?;
            for (v, r) in values.iter_mut().zip(&found.rows) {
                let comm = format!("{}{}", ". ".repeat(r.depth as usize), r.process.comm);
                v["comm"] = serde_json::Value::String(comm);
            }
            columns.insert(0, "depth");
            output::print_rows(&values, format, Some(&columns))?;
        } else {
            output::print_rows(&found.rows, format, Some(&columns))?;
        }
        found.warnings
    } else {
        let found = pslist::pslist(kernel, &options).map_err(fail)?;
        output::print_rows(&found.rows, format, Some(&columns))?;
        found.warnings
    };
    let mut warnings = s.warnings;
    warnings.extend(found_warnings);
    Ok(warnings)
}

/// An opened capture with its identified kernel.
struct Session {
    capture: Rc<Capture>,
    identified: symbols::Identified,
    warnings: Vec<String>,
}

fn open(args: &CaptureArgs) -> Result<Session, CliError> {
    let path = &args.capture;
    let file =
        source::FileSource::open(path).map_err(|e| CliError::new(format!("cannot open {}: {e}", path.display())))?;
    let cached = BlockCache::new(file, CacheConfig::default());
    let capture = Capture::open(Box::new(cached)).map_err(|e| CliError::new(format!("{}: {e}", path.display())))?;
    let capture = Rc::new(capture);
    let mut warnings = Vec::new();
    let identified = symbols::identify_with(capture.clone(), args.symbols.as_deref(), &mut warnings)?;
    warnings.extend(identified.kernel.warnings().iter().cloned());
    Ok(Session {
        capture,
        identified,
        warnings,
    })
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// Run an analysis that takes only the kernel (`dmesg`, `ifconfig`, `arp`) and print its rows.
/// The registry's default table columns of an analysis.
fn columns_of(name: &str) -> &'static [&'static str] {
    registry::find(name).map_or(&[], |spec| spec.columns)
}

/// Run an analysis that takes no options, through the core's registry (its default table columns too).
fn run_registered(args: &CaptureArgs, name: &str) -> Result<Vec<String>, CliError> {
    let spec = registry::find(name).ok_or_else(|| CliError::new(format!("no analysis named {name}")))?;
    let s = open(args)?;
    let found = spec
        .run(&s.identified.kernel)
        .map_err(|e| CliError::new(format!("{name}: {e}")))?;
    output::print_rows(&found.rows, args.format, Some(spec.columns))?;
    let mut warnings = s.warnings;
    warnings.extend(found.warnings);
    Ok(warnings)
}

fn run(cli: Cli) -> Result<Vec<String>, CliError> {
    match cli.command {
        Command::Info(args) => {
            let s = open(&args)?;
            let row = info(
                &s.capture,
                &s.identified.kernel,
                Some(file_name(&s.identified.symbols_file)),
            );
            output::print_object(&row, args.format)?;
            Ok(s.warnings)
        }
        Command::Lsof(args) => {
            let s = open(&args.capture)?;
            let found = memscope_core::analyses::lsof::lsof(&s.identified.kernel, &args.pid)
                .map_err(|e| CliError::new(format!("lsof: {e}")))?;
            output::print_rows(&found.rows, args.capture.format, Some(columns_of("lsof")))?;
            let mut warnings = s.warnings;
            warnings.extend(found.warnings);
            Ok(warnings)
        }
        Command::Netstat(args) => {
            let s = open(&args.capture)?;
            let options = memscope_core::analyses::netstat::NetstatOptions {
                no_unix: args.no_unix,
                owned_only: args.owned_only,
            };
            let found = memscope_core::analyses::netstat::netstat(&s.identified.kernel, options)
                .map_err(|e| CliError::new(format!("netstat: {e}")))?;
            output::print_rows(&found.rows, args.capture.format, Some(columns_of("netstat")))?;
            let mut warnings = s.warnings;
            warnings.extend(found.warnings);
            Ok(warnings)
        }
        Command::Psaux(args) => run_registered(&args, "psaux"),
        Command::Envars(args) => run_registered(&args, "envars"),
        Command::Dmesg(args) => run_registered(&args, "dmesg"),
        Command::Ifconfig(args) => run_registered(&args, "ifconfig"),
        Command::Arp(args) => run_registered(&args, "arp"),
        Command::Routes(args) => run_registered(&args, "routes"),
        Command::Bench {
            capture,
            symbols,
            runs,
            format,
        } => {
            output::print_rows(&bench::run(&capture, &symbols, runs)?, format, None)?;
            Ok(Vec::new())
        }
        Command::Pslist(args) => run_pslist(&args, false),
        Command::Pstree(args) => run_pslist(&args, true),
        Command::Symbols(SymbolsCommand::Pack { dir, out }) => {
            let written = symbols::write_packs(&dir, &out)?;
            eprintln!("wrote {written} symbol packs and index.json to {}", out.display());
            Ok(Vec::new())
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
