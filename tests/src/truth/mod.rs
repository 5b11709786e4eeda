//! Reading the live ground truth of a corpus capture (`truth/` folder): each function names the file it
//! reads. One module per source of truth; everything is re-exported here, so tests use `truth::name`.

use std::path::Path;

mod dmesg;
mod docker;
mod ip;
mod modules;
mod mountinfo;
mod peer;
mod proc;
mod ps;
mod ss;
mod stat;
mod system_map;

pub use dmesg::*;
pub use docker::*;
pub use ip::*;
pub use modules::*;
pub use mountinfo::*;
pub use peer::*;
pub use proc::*;
pub use ps::*;
pub use ss::*;
pub use stat::*;
pub use system_map::*;

/// The column of each header word of a truth table: `at("PID")` is its index; a name the header lacks
/// panics naming the file.
pub(crate) fn columns<'h>(path: &'h Path, header: Vec<&'h str>) -> impl Fn(&str) -> usize + 'h {
    move |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("{}: no column {name}", path.display()))
    }
}

/// The lines of a truth file without the `# command` lines the collector wrote before each output.
pub fn output_lines(path: &Path) -> Vec<String> {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read truth file {}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

/// The files of the truth folder `dir` whose names start with one of `prefixes` and end with `suffix`,
/// sorted; panics, naming the folder, if it cannot be listed.
pub(crate) fn files_named(dir: &Path, prefixes: &[&str], suffix: &str) -> Vec<std::path::PathBuf> {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot list truth folder {}: {e}", dir.display()));
    let mut files: Vec<std::path::PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| prefixes.iter().any(|pre| n.starts_with(pre)) && n.ends_with(suffix))
        })
        .collect();
    files.sort();
    files
}

/// The first output line of a truth file (`proc-version.txt`, `hostname.txt`).
pub fn first_line(path: &Path) -> String {
    output_lines(path)
        .into_iter()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default()
}

/// The banner the live kernel printed (`truth/proc-version.txt`, `cat /proc/version`).
pub fn proc_version(truth: &Path) -> String {
    first_line(&truth.join("proc-version.txt")).trim_end().to_string()
}

/// The kernel release, the third word of `uname -a` (`truth/uname-a.txt`).
pub fn uname_release(truth: &Path) -> String {
    first_line(&truth.join("uname-a.txt"))
        .split_whitespace()
        .nth(2)
        .unwrap_or_default()
        .to_string()
}

/// The host name (`truth/hostname.txt`).
pub fn hostname(truth: &Path) -> String {
    first_line(&truth.join("hostname.txt")).trim().to_string()
}

/// A UTC ISO 8601 time (`2026-11-21T21:06:26.750881210Z`, fraction optional) as Unix seconds.
pub fn iso_seconds(text: &str) -> Option<f64> {
    let text = text.trim().strip_suffix('Z')?;
    let (date, time) = text.split_once('T')?;
    let mut d = date.split('-').map(|x| x.parse::<u32>().ok());
    let (y, mo, da) = (d.next()??, d.next()??, d.next()??);
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let mut t = hms.split(':').map(|x| x.parse::<u32>().ok());
    let (h, mi, s) = (t.next()??, t.next()??, t.next()??);
    let frac: f64 = format!("0.{frac}").parse().ok()?;
    Some(unix_seconds(i64::from(y), mo, da, h, mi, s) as f64 + frac)
}

/// When the collector started (`truth/collect-start.txt`), Unix seconds: every file of `truth/` outside
/// `final/` was written after it.
pub fn collect_start(truth: &Path) -> f64 {
    let path = truth.join("collect-start.txt");
    iso_seconds(&first_line(&path)).unwrap_or_else(|| panic!("truth file {} holds no UTC time", path.display()))
}

/// When the dump was taken (`truth/dump-time.txt`), Unix seconds.
pub fn dump_time(truth: &Path) -> f64 {
    let path = truth.join("dump-time.txt");
    iso_seconds(&first_line(&path)).unwrap_or_else(|| panic!("truth file {} holds no UTC time", path.display()))
}
