//! `lsof` on every corpus capture against the live truth: every descriptor that the collector listed
//! (truth/proc/<pid>.txt, section `-- fd`, from `readlink /proc/PID/fd/N`) for a process still alive at
//! the dump (truth/final/ps-eo.txt) must be found with the same target; inode numbers must agree with
//! truth/stat-*.tsv and with the number in `socket:[N]` / `pipe:[N]` names.

use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use memscope_core::analyses::lsof::{self, lsof, OpenFile};
use memscope_core::analyses::pslist;
use memscope_core::kernel::paths::PathResolver;
use memscope_core::kernel::{identify, tasks};
use memscope_tests::corpus::load_symbols;
use memscope_tests::corpus::{self, CorpusCapture};
use memscope_tests::truth;

/// Figures of one capture.
#[derive(Debug, Default)]
struct Figures {
    truth_fds: usize,
    matched: usize,
    excused_processes: usize,
    transient_sockets: usize,
    extra_fds: usize,
    inode_checks: usize,
}

fn check_capture(capture: &CorpusCapture, diffs: &mut Vec<String>) -> Figures {
    let name = &capture.name;
    let cap = Rc::new(corpus::open_capture(&capture.lime_path));
    let kernel = match identify(cap, load_symbols(capture)) {
        Ok(k) => k,
        Err(e) => {
            diffs.push(format!("{name}: kernel not identified: {e}"));
            return Figures::default();
        }
    };
    let found = match lsof(&kernel, &lsof::Options::default()) {
        Ok(f) => f,
        Err(e) => {
            diffs.push(format!("{name}: lsof failed: {e}"));
            return Figures::default();
        }
    };
    // An intact capture gives no warning.
    for w in &found.warnings {
        diffs.push(format!("{name}: lsof warning on an intact capture: {w}"));
    }
    let mut by_pid: BTreeMap<u32, BTreeMap<u32, &OpenFile>> = BTreeMap::new();
    for row in &found.rows {
        if by_pid.entry(row.pid).or_default().insert(row.fd, row).is_some() {
            diffs.push(format!("{name}: pid {} fd {} listed twice", row.pid, row.fd));
        }
    }

    let truth_dir = &capture.truth_dir;
    let alive = truth::final_ps_pids(truth_dir);
    let procs = truth::proc_fds(truth_dir);
    let listed = truth::numbers_in_socket_listings(truth_dir);
    // For the descriptors only the capture has: when each process of the capture started, which pids any
    // ps listing of the truth shows, and when the collector started.
    let started = start_times(&kernel, name);
    let ever_listed = truth::ps_pids_ever(truth_dir);
    let collect_start = truth::collect_start(truth_dir);
    let mut fig = Figures::default();
    for (pid, t) in &procs {
        if !alive.contains(pid) {
            // Gone before the dump (the collecting commands, short-lived children): not in the capture.
            fig.excused_processes += 1;
            continue;
        }
        let file = t.file.display();
        let Some(got) = by_pid.get(pid) else {
            if !t.fds.is_empty() {
                diffs.push(format!(
                    "{name}: pid {pid} ({}) has {} fds in {file} but none in the capture",
                    t.comm,
                    t.fds.len()
                ));
                fig.truth_fds += t.fds.len();
            }
            continue;
        };
        if let Some(row) = got.values().find(|r| r.comm.as_deref() != Some(t.comm.as_str())) {
            diffs.push(format!(
                "{name}: pid {pid}: comm {:?}, {file} says {:?}",
                row.comm, t.comm
            ));
        }
        for (fd, target) in &t.fds {
            fig.truth_fds += 1;
            match got.get(fd) {
                // A socket that no socket listing of the truth ever showed, gone by the dump: a short-lived
                // connection (the collector's own `docker` commands talk to dockerd over its socket).
                None if socket_inode(target).is_some_and(|i| !listed.contains(&i)) => {
                    fig.transient_sockets += 1;
                    eprintln!("{name}: pid {pid} fd {fd} -> {target} ({file}): transient socket, gone at the dump");
                }
                None => diffs.push(format!(
                    "{name}: pid {pid} ({}) fd {fd} -> {target:?} ({file}) not found",
                    t.comm
                )),
                Some(row) if row.path.as_deref() != Some(target.as_str()) => diffs.push(format!(
                    "{name}: pid {pid} ({}) fd {fd}: path {:?}, {file} says {target:?}",
                    t.comm, row.path
                )),
                Some(_) => fig.matched += 1,
            }
        }
        for (fd, row) in got.iter().filter(|(fd, _)| !t.fds.contains_key(fd)) {
            match opened_after_truth(&kernel, row, &started, &ever_listed, collect_start) {
                Ok(why) => {
                    fig.extra_fds += 1;
                    eprintln!(
                        "{name}: pid {pid} fd {fd} -> {:?}: only in the capture: {why}",
                        row.path
                    );
                }
                Err(why) => diffs.push(format!(
                    "{name}: pid {pid} ({}) fd {fd} -> {:?} is in the capture, not in {file}: {why}",
                    t.comm, row.path
                )),
            }
        }
    }

    // Inode numbers: the number inside `socket:[N]` / `pipe:[N]` names is the inode's.
    for row in &found.rows {
        let Some(path) = row.path.as_deref() else { continue };
        let bracketed = ["socket:[", "pipe:[", "net:["]
            .iter()
            .find_map(|p| path.strip_prefix(p))
            .and_then(|rest| rest.strip_suffix(']'))
            .and_then(|n| n.parse::<u64>().ok());
        if let Some(n) = bracketed {
            fig.inode_checks += 1;
            if row.inode != Some(n) {
                diffs.push(format!(
                    "{name}: pid {} fd {} {path}: inode {:?}",
                    row.pid, row.fd, row.inode
                ));
            }
        }
    }
    // ... and files listed in truth/stat-*.tsv (host paths: compare processes in the host's root, pid 1's).
    let stats = truth::stat_entries(truth_dir);
    let host_root_pids: BTreeSet<u32> = BTreeSet::from([1]);
    let mut stat_matched = 0;
    for row in found
        .rows
        .iter()
        .filter(|r| host_root_pids.contains(&r.pid) || r.outside_root == Some(false))
    {
        let Some(path) = row.path.as_deref() else { continue };
        for s in stats.iter().filter(|s| s.path == path) {
            if procs
                .get(&row.pid)
                .is_some_and(|t| t.fds.get(&row.fd).map(String::as_str) == Some(path))
            {
                stat_matched += 1;
                fig.inode_checks += 1;
                if row.inode != Some(s.inode) {
                    diffs.push(format!(
                        "{name}: pid {} fd {} {path}: inode {:?}, {} says {}",
                        row.pid,
                        row.fd,
                        row.inode,
                        s.file.display(),
                        s.inode
                    ));
                }
                if row.mode_str.as_deref() != Some(s.mode.as_str()) {
                    diffs.push(format!(
                        "{name}: pid {} fd {} {path}: mode {:?}, {} says {}",
                        row.pid,
                        row.fd,
                        row.mode_str,
                        s.file.display(),
                        s.mode
                    ));
                }
            }
        }
    }
    if stat_matched == 0 {
        diffs.push(format!(
            "{name}: no open file of the truth's fd lists is in truth/stat-*.tsv to check inodes"
        ));
    }
    eprintln!(
        "{name}: {}/{} truth fds matched, {} transient sockets excused, {} processes excused (absent from \
         final/ps-eo.txt), {} fds only in the capture, {} inode checks",
        fig.matched, fig.truth_fds, fig.transient_sockets, fig.excused_processes, fig.extra_fds, fig.inode_checks
    );
    fig
}

/// Why a descriptor that the capture has and truth/proc/<pid>.txt lacks was opened after the collector read
/// that file, or why not. The one rule: a pidfd (`anon_inode:[pidfd]`) whose target process (its file's
/// `private_data`, a `struct pid`) is in no ps listing of the truth (truth/ps-eo.txt, truth/final/ps-eo.txt)
/// and, if still alive in the capture, started after truth/collect-start.txt: a process that did not exist
/// while the truth was collected cannot have had a pidfd in truth/proc/<pid>.txt. Every other extra
/// descriptor is a difference.
fn opened_after_truth(
    kernel: &memscope_core::kernel::Kernel,
    row: &OpenFile,
    started: &BTreeMap<u32, f64>,
    ever_listed: &BTreeSet<u32>,
    collect_start: f64,
) -> Result<String, String> {
    if row.path.as_deref() != Some("anon_inode:[pidfd]") {
        return Err("no rule explains a descriptor the truth lacks unless it is a pidfd".into());
    }
    let target = pidfd_target(kernel, row.file_addr).map_err(|e| format!("its target cannot be read: {e}"))?;
    if ever_listed.contains(&target) {
        return Err(format!(
            "its target pid {target} is in the truth's ps listings: it existed while the truth was collected"
        ));
    }
    match started.get(&target) {
        Some(&t) if t <= collect_start => Err(format!(
            "its target pid {target} started at {t:.3}, before truth/collect-start.txt ({collect_start:.3})"
        )),
        Some(&t) => Ok(format!(
            "pidfd of pid {target}, which started {:.1} s after truth/collect-start.txt and is in no ps listing",
            t - collect_start
        )),
        None => Ok(format!(
            "pidfd of pid {target}, gone by the dump and in no ps listing of the truth (a short-lived child)"
        )),
    }
}

/// The pid a pidfd refers to, `pidfd_pid()`: a `struct pid` in `file->private_data` (anon inode pidfds), or
/// with pidfs (6.9+, CONFIG_FS_PID) in the inode's `i_private`; then its `numbers[0].nr` (the host's number).
fn pidfd_target(kernel: &memscope_core::kernel::Kernel, file_addr: u64) -> Result<u32, String> {
    let file = kernel.object("file", file_addr).map_err(|e| e.to_string())?;
    let mut pid = file.pointer("private_data").map_err(|e| e.to_string())?;
    if pid == 0 {
        let inode = file
            .deref("f_inode")
            .map_err(|e| e.to_string())?
            .ok_or("no private_data and no f_inode")?;
        pid = inode.pointer("i_private").map_err(|e| e.to_string())?;
    }
    let pid = kernel.object("pid", pid).map_err(|e| e.to_string())?;
    let upid = kernel
        .object("upid", pid.field_addr("numbers").map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    let nr = upid.i64("nr").map_err(|e| e.to_string())?;
    u32::try_from(nr).map_err(|_| format!("pid number {nr}"))
}

/// Each process of the capture with its start time, Unix seconds (`pslist`'s `start_time`).
fn start_times(kernel: &memscope_core::kernel::Kernel, name: &str) -> BTreeMap<u32, f64> {
    let ps = pslist::pslist(kernel, &pslist::Options::default()).unwrap_or_else(|e| panic!("{name}: pslist: {e}"));
    ps.rows
        .iter()
        .filter_map(|r| {
            Some((
                u32::try_from(r.pid).ok()?,
                truth::iso_seconds(r.start_time.as_deref()?)?,
            ))
        })
        .collect()
}

/// The inode number of a `socket:[N]` link target.
fn socket_inode(target: &str) -> Option<u64> {
    target.strip_prefix("socket:[")?.strip_suffix(']')?.parse().ok()
}

#[test]
fn open_files_match_the_truth() {
    let captures = corpus::corpus_captures();
    let mut diffs = Vec::new();
    let mut checks = 0;
    for capture in &captures {
        let fig = check_capture(capture, &mut diffs);
        checks += fig.truth_fds + fig.inode_checks + fig.extra_fds;
    }
    eprintln!("lsof: {checks} corpus checks ran on {} captures", captures.len());
    memscope_tests::checks::ran("lsof", checks);
    assert!(checks > 0, "no corpus check ran");
    assert!(diffs.is_empty(), "{} differences:\n{}", diffs.len(), diffs.join("\n"));
}

/// Each process's working directory and root (`task->fs->pwd`, `->root`), resolved from its own root
/// through the shared path resolver, are what `readlink /proc/PID/cwd` and `/proc/PID/root` said
/// (truth/proc/<pid>.txt, lines `cwd:` and `root:`), for every process alive at the dump.
#[test]
fn cwd_and_root_match_the_truth() {
    let captures = corpus::corpus_captures();
    let mut diffs = Vec::new();
    let mut checks = 0;
    for capture in &captures {
        let name = &capture.name;
        let cap = Rc::new(corpus::open_capture(&capture.lime_path));
        let kernel = identify(cap, load_symbols(capture)).unwrap_or_else(|e| panic!("{name}: not identified: {e}"));
        let resolver = PathResolver::new(&kernel);
        let alive = truth::final_ps_pids(&capture.truth_dir);
        let procs = truth::proc_fds(&capture.truth_dir);
        let walk = tasks::processes(&kernel).unwrap_or_else(|e| panic!("{name}: task list: {e}"));
        let mut by_pid = BTreeMap::new();
        for addr in walk.tasks {
            let task = kernel
                .object("task_struct", addr)
                .unwrap_or_else(|e| panic!("{name}: task {addr:#x}: {e}"));
            let pid = task
                .u64("tgid")
                .unwrap_or_else(|e| panic!("{name}: task {addr:#x}: {e}")) as u32;
            by_pid.insert(pid, task);
        }
        let mut matched = 0;
        for (pid, t) in procs.iter().filter(|(pid, _)| alive.contains(pid)) {
            let file = t.file.display();
            let Some(task) = by_pid.get(pid) else {
                diffs.push(format!("{name}: pid {pid} of {file} not in the capture's task list"));
                continue;
            };
            let fs = match task.deref("fs") {
                Ok(Some(fs)) => fs,
                other => {
                    if t.cwd.is_some() {
                        diffs.push(format!("{name}: pid {pid}: no fs_struct ({other:?}), {file} has a cwd"));
                    }
                    continue;
                }
            };
            let root = fs
                .member("root")
                .unwrap_or_else(|e| panic!("{name}: pid {pid}: fs->root: {e}"));
            for (what, want) in [("pwd", &t.cwd), ("root", &t.root)] {
                let Some(want) = want else { continue };
                checks += 1;
                let path = fs
                    .member(what)
                    .unwrap_or_else(|e| panic!("{name}: pid {pid}: fs->{what}: {e}"));
                match resolver.path_of(&path, Some(&root)) {
                    Ok(r) if &r.path == want => matched += 1,
                    Ok(r) => diffs.push(format!(
                        "{name}: pid {pid} fs->{what} {:?} ({:?}), {file} says {want:?}",
                        r.path, r.reach
                    )),
                    Err(e) => diffs.push(format!("{name}: pid {pid} fs->{what}: {e}; {file} says {want:?}")),
                }
            }
        }
        eprintln!("{name}: {matched} cwd/root paths match the truth");
    }
    eprintln!(
        "lsof cwd/root: {checks} corpus checks ran on {} captures",
        captures.len()
    );
    memscope_tests::checks::ran("lsof cwd/root", checks);
    assert!(checks > 0, "no corpus check ran");
    assert!(diffs.is_empty(), "{} differences:\n{}", diffs.len(), diffs.join("\n"));
}

/// The resolver given addresses that are not what it expects (a file as a dentry, an inode as a mount,
/// a task, unmapped and non-canonical addresses) ends with a path or an error, never a panic or a hang; a
/// dentry at an address that is not mapped is an error, and the real `f_path` of each of pid 1's files
/// still resolves to the path lsof gave it (the resolver keeps no state from the wrong ones).
#[test]
fn resolver_survives_wrong_addresses() {
    let captures = corpus::corpus_captures();
    let mut tries = 0;
    let mut checks = 0;
    for capture in &captures {
        let name = &capture.name;
        let cap = Rc::new(corpus::open_capture(&capture.lime_path));
        let kernel = identify(cap, load_symbols(capture)).unwrap_or_else(|e| panic!("{name}: not identified: {e}"));
        let found = lsof(&kernel, &lsof::Options { pids: vec![1] }).unwrap_or_else(|e| panic!("{name}: lsof: {e}"));
        let resolver = PathResolver::new(&kernel);
        let init = kernel.placement().init_task;
        let unmapped = [0xdead_0000_0000u64, 0xffff_ffff_ffff_f000, 8];
        let mut addrs = vec![init];
        addrs.extend(unmapped);
        for row in found.rows.iter().take(20) {
            addrs.extend([row.file_addr, row.file_addr + 8, row.task_addr]);
            addrs.extend(row.inode_addr);
        }
        for &a in &addrs {
            for &b in &addrs {
                tries += 1;
                let plain = resolver.resolve(a, b, None);
                let rooted = resolver.resolve(a, b, Some((b, a)));
                if unmapped.contains(&b) {
                    checks += 1;
                    assert!(
                        plain.is_err() && rooted.is_err(),
                        "{name}: a dentry at unmapped {b:#x} resolves: {plain:?} / {rooted:?}"
                    );
                }
            }
        }
        for row in found
            .rows
            .iter()
            .filter(|r| r.path.as_deref().is_some_and(|p| p.starts_with('/')))
        {
            checks += 1;
            let file = kernel
                .object("file", row.file_addr)
                .unwrap_or_else(|e| panic!("{name}: file {:#x}: {e}", row.file_addr));
            let got = resolver.file_path(&file, None).map(|r| r.path);
            assert_eq!(
                got.as_ref().ok(),
                row.path.as_ref(),
                "{name}: pid 1 fd {} after the wrong addresses: {got:?}",
                row.fd
            );
        }
    }
    eprintln!("lsof: {tries} resolutions of wrong addresses ended");
    memscope_tests::checks::ran("lsof resolver", checks);
}
