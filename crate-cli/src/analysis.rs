//! The analyses' subcommands, built from the core's registry: each [`Spec`] becomes a subcommand (a group
//! of sub-views becomes a subcommand with its own subcommands), each option a flag, each column set a
//! flag; running one turns the flags back into registry [`Options`] and prints the rows.

use std::path::{Path, PathBuf};

use clap::{Arg, ArgAction, ArgMatches, Args, Command, FromArgMatches};
use memscope_core::analyses::registry::{OptionKind, OptionSpec, OptionValue, Options, Output, Spec};
use serde_json::Value;

use crate::output::{self, Format};
use crate::{open, CaptureArgs, CliError};

/// The subcommand of `spec` (and of its sub-views).
pub fn command(spec: &'static Spec) -> Command {
    let cmd = Command::new(spec.name);
    if !spec.views().is_empty() {
        return cmd
            .about(spec.description)
            .subcommand_required(true)
            .subcommands(spec.views().iter().map(command));
    }
    let formats: Vec<&'static str> = Format::NAMES
        .into_iter()
        .chain(spec.formats.iter().map(|f| f.name))
        .collect();
    CaptureArgs::augment_args(cmd)
        .mut_arg("format", |a| a.value_parser(formats))
        .about(spec.description)
        .args(spec.options.iter().map(option_arg))
        .args(spec.column_sets.iter().map(|set| {
            Arg::new(set.name)
                .long(set.name)
                .help(set.help)
                .action(ArgAction::SetTrue)
        }))
}

/// A one-line synopsis of `spec` (`memscope lsof CAPTURE [--pid PID...]`), for `memscope list`.
pub fn usage(spec: &Spec, prefix: &str) -> Vec<String> {
    let path = format!("{prefix} {}", spec.name);
    if !spec.views().is_empty() {
        return spec.views().iter().flat_map(|v| usage(v, &path)).collect();
    }
    let mut line = format!("{path} CAPTURE");
    for o in spec.options {
        let flag = match o.short {
            Some(letter) => format!("-{letter}|--{}", o.name),
            None => format!("--{}", o.name),
        };
        let value = match o.kind {
            OptionKind::Flag => String::new(),
            OptionKind::Integers => format!(" {}...", o.value_name),
            OptionKind::Choice { choices } => format!(" {}", choices.join("|")),
            _ => format!(" {}", o.value_name),
        };
        line.push_str(&format!(" [{flag}{value}]"));
    }
    for set in spec.column_sets {
        line.push_str(&format!(" [--{}]", set.name));
    }
    vec![line]
}

fn option_arg(o: &'static OptionSpec) -> Arg {
    let mut arg = Arg::new(o.name).long(o.name).help(o.help);
    if let Some(letter) = o.short {
        arg = arg.short(letter);
    }
    if !o.value_name.is_empty() {
        arg = arg.value_name(o.value_name);
    }
    match o.kind {
        OptionKind::Flag => arg.action(ArgAction::SetTrue),
        OptionKind::Integers => arg
            .num_args(1..)
            .action(ArgAction::Append)
            .value_parser(clap::value_parser!(u64)),
        OptionKind::Text { many } => {
            let arg = arg.action(if many { ArgAction::Append } else { ArgAction::Set });
            match o.check {
                Some(check) => arg.value_parser(move |s: &str| check(s).map(|_| s.to_string())),
                None => arg,
            }
        }
        OptionKind::Choice { choices } => arg.value_parser(clap::builder::PossibleValuesParser::new(choices)),
        OptionKind::Output { .. } => arg.value_parser(clap::value_parser!(PathBuf)),
    }
}

/// The registry options a subcommand's flags set.
fn options_of(spec: &Spec, matches: &ArgMatches) -> Options {
    let mut options = Options::new();
    for o in spec.options {
        let value = match o.kind {
            OptionKind::Flag => OptionValue::Flag(matches.get_flag(o.name)),
            OptionKind::Integers => OptionValue::Integers(
                matches
                    .get_many::<u64>(o.name)
                    .map(|v| v.copied().collect())
                    .unwrap_or_default(),
            ),
            OptionKind::Text { many: true } => OptionValue::Texts(
                matches
                    .get_many::<String>(o.name)
                    .map(|v| v.cloned().collect())
                    .unwrap_or_default(),
            ),
            OptionKind::Text { many: false } | OptionKind::Choice { .. } => {
                OptionValue::Text(matches.get_one::<String>(o.name).cloned().unwrap_or_default())
            }
            OptionKind::Output { .. } => OptionValue::Text(
                matches
                    .get_one::<PathBuf>(o.name)
                    .map(|p| p.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            ),
        };
        options.set(o.name, value);
    }
    options
}

/// Run the analysis (or sub-view) `spec` that `matches` chose and print its rows; its warnings returned.
pub fn run(spec: &'static Spec, matches: &ArgMatches) -> Result<Vec<String>, CliError> {
    if let Some((name, sub)) = matches.subcommand() {
        let view = spec
            .views()
            .iter()
            .find(|v| v.name == name)
            .ok_or_else(|| CliError::new(format!("{} has no view {name}", spec.name)))?;
        return run(view, sub);
    }
    let args = CaptureArgs::from_arg_matches(matches).map_err(|e| CliError::new(e.to_string()))?;
    let options = options_of(spec, matches);
    let sets: Vec<&str> = spec
        .column_sets
        .iter()
        .filter(|s| matches.get_flag(s.name))
        .map(|s| s.name)
        .collect();
    let session = open(&args)?;
    let found = spec
        .run(&session.kernel, &options)
        .map_err(|e| CliError::new(format!("{}: {e}", spec.name)))?;
    match spec.formats.iter().find(|f| f.name == args.format) {
        Some(own) => output::write_out(&(own.render)(&found.rows))?,
        None => print(spec, &found, Format::named(&args.format)?, &sets)?,
    }
    write_files(spec, &options, &found)?;
    let mut warnings = session.warnings;
    warnings.extend(found.warnings);
    if let Some(stream) = &found.stream {
        let dir = PathBuf::from(options.text(stream.option).unwrap_or_default());
        let mut sink = DirSink { dir, file: None };
        let written =
            (stream.write)(&session.kernel, &mut sink).map_err(|e| CliError::new(format!("{}: {e}", spec.name)))?;
        sink.finish().map_err(CliError::new)?;
        warnings.extend(written);
    }
    Ok(warnings)
}

/// Print a run's rows: every key in JSON and CSV; in a table the spec's columns and the chosen sets, a
/// tree's label indented by depth.
fn print(spec: &Spec, found: &Output, format: Format, sets: &[&str]) -> Result<(), CliError> {
    let columns = spec.table_columns(sets);
    match (format, spec.tree) {
        (Format::Table, Some(tree)) => {
            let mut rows = found.rows.clone();
            for row in &mut rows {
                let depth = row.get(tree.depth).and_then(Value::as_u64).unwrap_or(0) as usize;
                if let Some(Value::String(label)) = row.get_mut(tree.label) {
                    *label = format!("{}{label}", ". ".repeat(depth));
                }
            }
            output::print_values(&rows, format, Some(&columns))
        }
        _ => output::print_values(&found.rows, format, Some(&columns)),
    }
}

/// Write the files a run made for its output-path options.
fn write_files(spec: &Spec, options: &Options, found: &Output) -> Result<(), CliError> {
    for file in &found.files {
        let Some(o) = spec.options.iter().find(|o| o.name == file.option) else {
            return Err(CliError::new(format!(
                "{}: a file for no option --{}",
                spec.name, file.option
            )));
        };
        let base = PathBuf::from(options.text(o.name).unwrap_or_default());
        let path = match o.kind {
            OptionKind::Output { directory: true } => {
                std::fs::create_dir_all(&base)
                    .map_err(|e| CliError::new(format!("cannot create {}: {e}", base.display())))?;
                base.join(memscope_core::archive::safe_name(&file.name))
            }
            _ => base,
        };
        write(&path, &file.bytes)?;
    }
    Ok(())
}

/// Writes a stream's files under a directory, each relative path's components made safe (no `..`, no
/// separators of their own), one open file at a time.
struct DirSink {
    dir: PathBuf,
    file: Option<(PathBuf, std::io::BufWriter<std::fs::File>)>,
}

impl DirSink {
    fn finish(&mut self) -> Result<(), String> {
        use std::io::Write;
        match self.file.take() {
            Some((path, mut f)) => f.flush().map_err(|e| format!("cannot write {}: {e}", path.display())),
            None => Ok(()),
        }
    }
}

impl memscope_core::analyses::FileSink for DirSink {
    fn start(&mut self, name: &str, _size: u64) -> Result<(), String> {
        self.finish()?;
        let path = self.dir.join(memscope_core::archive::safe_path(name));
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        let f = std::fs::File::create(&path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        self.file = Some((path, std::io::BufWriter::new(f)));
        Ok(())
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), String> {
        use std::io::Write;
        match &mut self.file {
            Some((path, f)) => f
                .write_all(bytes)
                .map_err(|e| format!("cannot write {}: {e}", path.display())),
            None => Err("bytes before any file".into()),
        }
    }
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    std::fs::write(path, bytes).map_err(|e| CliError::new(format!("cannot write {}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use memscope_core::analyses::registry::{Body, ColumnSet, OutputFile, Tree};

    const OPTIONS: &[OptionSpec] = &[
        OptionSpec::flag("fast", "Fast."),
        OptionSpec::integers("pid", "PID", "Pids."),
        OptionSpec {
            name: "mode",
            short: None,
            value_name: "MODE",
            help: "Mode.",
            kind: OptionKind::Choice { choices: &["a", "b"] },
            check: None,
        },
        OptionSpec {
            name: "dump",
            short: None,
            value_name: "DIR",
            help: "Dump.",
            kind: OptionKind::Output { directory: true },
            check: None,
        },
    ];

    const VIEWS: &[Spec] = &[Spec {
        name: "ps",
        title: "Containers",
        description: "Containers.",
        options: OPTIONS,
        columns: &["id"],
        column_sets: &[ColumnSet {
            name: "more",
            help: "More.",
            columns: &["more"],
        }],
        tree: Some(Tree {
            depth: "depth",
            label: "id",
        }),
        formats: &[],
        row_actions: &[],
        body: Body::Rows(|_, _| Ok(Output::default())),
    }];

    const GROUP: Spec = Spec {
        name: "docker",
        title: "Docker",
        description: "Docker.",
        options: &[],
        columns: &[],
        column_sets: &[],
        tree: None,
        formats: &[],
        row_actions: &[],
        body: Body::Views(VIEWS),
    };

    #[test]
    fn views_options_and_column_sets_become_subcommands_and_flags() {
        let cmd = Command::new("memscope").subcommand(command(&GROUP));
        let m = cmd
            .try_get_matches_from([
                "memscope", "docker", "ps", "CAP", "--fast", "--pid", "1", "982", "--mode", "b", "--dump", "out",
                "--more",
            ])
            .unwrap();
        let (name, docker) = m.subcommand().unwrap();
        assert_eq!(name, "docker");
        let (view, ps) = docker.subcommand().unwrap();
        assert_eq!(view, "ps");
        let options = options_of(&VIEWS[0], ps);
        assert_eq!(options.to_flags(), "--dump out --fast --mode b --pid 1 982");
        assert!(ps.get_flag("more"));
        let bad = Command::new("memscope")
            .subcommand(command(&GROUP))
            .try_get_matches_from(["memscope", "docker", "ps", "CAP", "--mode", "c"]);
        assert!(bad.is_err(), "a choice outside its set is bad usage");
        let no_view = Command::new("memscope")
            .subcommand(command(&GROUP))
            .try_get_matches_from(["memscope", "docker", "CAP"]);
        assert!(no_view.is_err(), "a group needs a view");
    }

    #[test]
    fn output_files_land_inside_their_directory() {
        let dir = std::env::temp_dir().join(format!("memscope-cli-test-{}", std::process::id()));
        let mut options = Options::new();
        options.set("dump", OptionValue::Text(dir.to_string_lossy().into_owned()));
        let found = Output {
            files: vec![
                OutputFile {
                    option: "dump",
                    name: "receive.1.5".into(),
                    bytes: b"hello".to_vec(),
                },
                OutputFile {
                    option: "dump",
                    name: "../escape".into(),
                    bytes: b"x".to_vec(),
                },
            ],
            ..Output::default()
        };
        write_files(&VIEWS[0], &options, &found).unwrap();
        assert_eq!(std::fs::read(dir.join("receive.1.5")).unwrap(), b"hello");
        assert_eq!(std::fs::read(dir.join(".._escape")).unwrap(), b"x");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
