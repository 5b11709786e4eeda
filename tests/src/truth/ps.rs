//! `ps` listings: `truth/final/ps-eo.txt` (the last one before the dump), `truth/ps-eLf.txt` (threads),
//! and the rules for comparing a task's comm with them.

use std::path::Path;

use super::*;

/// Pids of the last `ps` taken seconds before the dump (`truth/final/ps-eo.txt`, first column): the
/// processes that must be in the capture.
pub fn final_ps_pids(truth: &Path) -> std::collections::BTreeSet<u32> {
    let path = truth.join("final/ps-eo.txt");
    let pids: std::collections::BTreeSet<u32> = output_lines(&path)
        .iter()
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect();
    assert!(!pids.is_empty(), "truth file {} lists no process", path.display());
    pids
}

/// Seconds since the Unix epoch of a proleptic Gregorian UTC date and time.
pub fn unix_seconds(year: i64, month: u32, day: u32, hour: u32, min: u32, sec: u32) -> i64 {
    // Howard Hinnant's days_from_civil.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * 86_400 + i64::from(hour) * 3600 + i64::from(min) * 60 + i64::from(sec)
}

/// A `ps -o lstart` time (`Sat Nov 21 21:01:02 2026`) as Unix seconds; the corpus guests run in UTC
/// (`truth/dump-time.txt` and `dmesg -T` agree).
pub fn parse_lstart(words: &[&str]) -> Option<i64> {
    let [_, mon, day, time, year] = words else { return None };
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.iter().position(|m| m == mon)? as u32 + 1;
    let mut hms = time.split(':').map(|x| x.parse::<u32>().ok());
    let (h, m, s) = (hms.next()??, hms.next()??, hms.next()??);
    Some(unix_seconds(year.parse().ok()?, month, day.parse().ok()?, h, m, s))
}

/// A process as the last `ps` before the dump listed it (`truth/final/ps-eo.txt`, columns by its header:
/// `PID PPID UID EUID GID EGID STARTED STAT COMMAND COMMAND`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PsProcess {
    /// Process id.
    pub pid: u32,
    /// Parent process id.
    pub ppid: u32,
    /// Start time (`lstart`), Unix seconds, truncated to the second by ps.
    pub started: i64,
    /// The 15-character comm column.
    pub comm: String,
    /// The command line (`args`), words joined by single spaces.
    pub args: String,
}

/// Every process of `truth/final/ps-eo.txt` (`ps -eo pid,ppid,uid,euid,gid,egid,lstart,stat,comm,args`).
pub fn final_ps(truth: &Path) -> std::collections::BTreeMap<u32, PsProcess> {
    let path = truth.join("final/ps-eo.txt");
    let lines = output_lines(&path);
    let header = lines
        .first()
        .map(|h| h.split_whitespace().collect())
        .unwrap_or_default();
    let at = super::columns(&path, header);
    let (c_pid, c_ppid, c_started) = (at("PID"), at("PPID"), at("STARTED"));
    // STARTED spans five words (`Sat Nov 21 21:01:02 2026`); STAT follows, then comm.
    let c_comm = at("STAT") + 4 + 1;
    let mut out = std::collections::BTreeMap::new();
    for line in &lines[1..] {
        let w: Vec<&str> = line.split_whitespace().collect();
        if w.len() <= c_comm {
            continue;
        }
        let (Ok(pid), Ok(ppid)) = (w[c_pid].parse(), w[c_ppid].parse()) else {
            continue;
        };
        let started = parse_lstart(&w[c_started..c_started + 5]).unwrap_or_else(|| {
            panic!(
                "{}: pid {pid}: bad start time {:?}",
                path.display(),
                &w[c_started..c_started + 5]
            )
        });
        out.insert(
            pid,
            PsProcess {
                pid,
                ppid,
                started,
                comm: w[c_comm].to_string(),
                args: w[c_comm + 1..].join(" "),
            },
        );
    }
    assert!(!out.is_empty(), "truth file {} lists no process", path.display());
    out
}

/// Thread ids by process id from `truth/ps-eLf.txt` (`ps -eLf`: `UID PID PPID LWP C NLWP STIME TTY TIME
/// CMD`), taken during the truth collection (before `final/`).
pub fn ps_threads(truth: &Path) -> std::collections::BTreeMap<u32, std::collections::BTreeSet<u32>> {
    let path = truth.join("ps-eLf.txt");
    let lines = output_lines(&path);
    let header = lines
        .first()
        .map(|h| h.split_whitespace().collect())
        .unwrap_or_default();
    let at = super::columns(&path, header);
    let (c_pid, c_lwp) = (at("PID"), at("LWP"));
    let mut out: std::collections::BTreeMap<u32, std::collections::BTreeSet<u32>> = Default::default();
    for line in &lines[1..] {
        let w: Vec<&str> = line.split_whitespace().collect();
        if let (Some(Ok(pid)), Some(Ok(lwp))) = (w.get(c_pid).map(|x| x.parse()), w.get(c_lwp).map(|x| x.parse())) {
            out.entry(pid).or_default().insert(lwp);
        }
    }
    assert!(!out.is_empty(), "truth file {} lists no thread", path.display());
    out
}

/// Whether a task's comm (at most 15 characters) agrees with `/proc`'s `Name`: equal, or `Name` starts
/// with it and it is cut at 15 characters or at the `-` of a workqueue suffix.
pub fn comm_matches(comm: &str, name: &str) -> bool {
    !comm.is_empty()
        && (comm == name
            || (name.starts_with(comm) && (comm.chars().count() == 15 || name[comm.len()..].starts_with('-'))))
}

/// Every process or thread id that any process listing of the truth shows: the first column of
/// `truth/ps-eo.txt`, `truth/ps-eo-ns.txt` and `truth/final/ps-eo.txt`, and the PID and LWP columns of
/// `truth/ps-eLf.txt`. A pid in none of them did not exist while those listings were taken.
pub fn ps_pids_ever(truth: &Path) -> std::collections::BTreeSet<u32> {
    let mut out = final_ps_pids(truth);
    for rel in ["ps-eo.txt", "ps-eo-ns.txt"] {
        let path = truth.join(rel);
        let pids: Vec<u32> = output_lines(&path)
            .iter()
            .filter_map(|l| l.split_whitespace().next()?.parse().ok())
            .collect();
        assert!(!pids.is_empty(), "truth file {} lists no process", path.display());
        out.extend(pids);
    }
    for (pid, tids) in ps_threads(truth) {
        out.insert(pid);
        out.extend(tids);
    }
    out
}
