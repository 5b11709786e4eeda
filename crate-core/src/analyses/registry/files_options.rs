//! `files`'s options as the registry passes them, and its run: a listing, or one file read back.

use std::rc::Rc;

use super::{rows, FileStream, Output, OutputFile, RunError};
use crate::analyses::files::{self, Target};
use crate::analyses::registry::{OptionError, Options};
use crate::kernel::Kernel;

/// `--extract-inode`: a hex address.
pub fn check_inode(s: &str) -> Result<(), String> {
    parse_addr(s).map(|_| ())
}

/// `--extract-fd`: `PID:FD`.
pub fn check_fd(s: &str) -> Result<(), String> {
    parse_fd(s).map(|_| ())
}

fn parse_addr(s: &str) -> Result<u64, String> {
    let digits = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")).unwrap_or(s);
    u64::from_str_radix(digits, 16).map_err(|_| format!("{s:?} is not a hex address"))
}

fn parse_fd(s: &str) -> Result<(u32, u32), String> {
    let bad = || format!("{s:?} is not PID:FD");
    let (pid, fd) = s.split_once(':').ok_or_else(bad)?;
    Ok((pid.parse().map_err(|_| bad())?, fd.parse().map_err(|_| bad())?))
}

fn invalid(name: &str, why: String) -> RunError {
    RunError::Options(OptionError::Invalid {
        name: name.to_string(),
        why,
    })
}

/// Run `files` with `o`.
pub fn run(kernel: &Kernel, o: &Options) -> Result<Output, RunError> {
    let pids = o.u32s("pid")?;
    let mut targets = Vec::new();
    if let Some(p) = o.text("extract") {
        targets.push(Target::Path(p.to_string()));
    }
    if let Some(a) = o.text("extract-inode") {
        targets.push(Target::Inode(parse_addr(a).map_err(|e| invalid("extract-inode", e))?));
    }
    if let Some(f) = o.text("extract-fd") {
        let (pid, fd) = parse_fd(f).map_err(|e| invalid("extract-fd", e))?;
        targets.push(Target::Fd(pid, fd));
    }
    let target = match targets.len() {
        0 => {
            let options = files::Options {
                pids,
                mounts: o.u32s("mount")?.into_iter().map(i64::from).collect(),
                path: o.text("path").map(str::to_string),
                uids: o.u32s("uid")?,
                sort: o.flag("sort"),
                negative: o.flag("negative"),
            };
            let found = files::files(kernel, &options)?;
            let recover = o
                .text("recover")
                .is_some()
                .then(|| files::recoverable(kernel, &found.rows));
            let mut out = rows(found)?;
            if let Some(todo) = recover {
                out.stream = Some(FileStream {
                    option: "recover",
                    count: todo.len() + 1,
                    write: Rc::new(move |kernel, sink| files::recover(kernel, &todo, sink).map_err(RunError::Files)),
                });
            }
            return Ok(out);
        }
        1 => targets.remove(0),
        _ => {
            return Err(invalid(
                "extract",
                "give one of --extract, --extract-inode and --extract-fd".into(),
            ))
        }
    };
    if pids.len() > 1 {
        return Err(invalid(
            "pid",
            "a file is read back as one process sees it: give one".into(),
        ));
    }
    let found = files::extract(kernel, pids.first().copied(), &target)?;
    let name = found
        .row
        .path
        .rsplit('/')
        .next()
        .filter(|n| !n.is_empty())
        .unwrap_or("file")
        .trim_end_matches(" (deleted)")
        .to_string();
    let mut out = rows(crate::analyses::Analysis {
        rows: vec![found.row],
        warnings: found.warnings,
    })?;
    if o.text("out").is_some() {
        out.files.push(OutputFile {
            option: "out",
            name,
            bytes: found.bytes,
        });
    }
    Ok(out)
}
