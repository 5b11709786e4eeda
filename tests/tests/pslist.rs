//! `pslist`, `pstree` and the task walks on every corpus capture against the live truth:
//! - every process of `truth/proc-summary.tsv` still alive at the dump (listed in `truth/final/ps-eo.txt`)
//!   is found with the same ppid, comm (by the 15-character / workqueue-suffix rule), uid, gid, euid, egid,
//!   the five capability sets, every namespace inode and the innermost NSpid;
//! - every process of `truth/final/ps-eo.txt` is found with its ppid and its start time to the second;
//! - every row not in the truth is explained by a rule computed from the truth (it started after the last
//!   `ps` of `truth/final/ps-eo.txt`);
//! - the threads of `truth/ps-eLf.txt` of live processes are found by `--threads`;
//! - `pstree` puts every process under its parent;
//! - each process of `truth/proc/<pid>.txt` on the list runs the `exe` that `readlink /proc/PID/exe` gave
//!   (none for a kernel thread).

use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use memscope_core::analyses::pslist::{self, NsFilter, Options, ProcessRow};
use memscope_core::formats::Capture;
use memscope_core::kernel::{identify, tasks, Kernel};
use memscope_core::symbols::SymbolTable;
use memscope_tests::corpus::load_symbols;
use memscope_tests::corpus::{self, CorpusCapture, Patched};
use memscope_tests::truth;

fn kernel_of(capture: &CorpusCapture, symbols: Rc<SymbolTable>) -> Kernel {
    let cap = Rc::new(corpus::open_capture(&capture.lime_path));
    identify(cap, symbols).unwrap_or_else(|e| panic!("{}: kernel not identified: {e}", capture.name))
}

/// The start time of a row as nanoseconds since the epoch, parsed from its ISO 8601 string.
fn start_ns(s: &str) -> Option<i128> {
    let (date, rest) = s.split_once('T')?;
    let mut d = date.split('-').map(|x| x.parse::<u32>().ok());
    let (y, mo, da) = (d.next()??, d.next()??, d.next()??);
    let rest = rest.strip_suffix('Z')?;
    let (hms, frac) = rest.split_once('.')?;
    let mut t = hms.split(':').map(|x| x.parse::<u32>().ok());
    let (h, mi, se) = (t.next()??, t.next()??, t.next()??);
    if frac.len() != 9 {
        return None;
    }
    let secs = truth::unix_seconds(i64::from(y), mo, da, h, mi, se);
    Some(i128::from(secs) * 1_000_000_000 + frac.parse::<i128>().ok()?)
}

/// Whether the `name` key agrees with `/proc`'s Name: equal, or for a workqueue worker equal up to the
/// suffix naming the workqueue it last served (which changes from one work item to the next).
fn name_matches(name: &str, truth_name: &str, comm: &str) -> bool {
    if name == truth_name {
        return true;
    }
    let base = |n: &str| -> Option<String> {
        let rest = n.strip_prefix(comm)?;
        Some(match rest.find(['-', '+']) {
            Some(0) => comm.to_string(),
            _ => return None,
        })
    };
    comm.starts_with("kworker/") && base(name).is_some() && base(name) == base(truth_name)
}

/// Processes of `truth/final/ps-eo.txt` that the truth itself shows to have ended before the dump
/// (`truth/dump-time.txt`), with the reason: a `sleep N` whose N seconds had run out, and the `ps` that
/// wrote final/ps-eo.txt (its args name the file's columns) with its ancestors that are not in the
/// capture (the collecting script).
fn gone_before_dump(
    truth_dir: &std::path::Path,
    final_ps: &BTreeMap<u32, truth::PsProcess>,
    in_capture: &BTreeMap<u32, &ProcessRow>,
) -> BTreeMap<u32, String> {
    let dump = truth::first_line(&truth_dir.join("dump-time.txt"));
    let dump_s = start_ns(&dump.trim().replace('Z', ".000000000Z")).map(|n| n / 1_000_000_000);
    let dump_s = dump_s.unwrap_or_else(|| panic!("{}/dump-time.txt: {dump:?}", truth_dir.display()));
    let mut out = BTreeMap::new();
    for (pid, p) in final_ps {
        let mut w = p.args.split_whitespace();
        if let (Some("sleep"), Some(Ok(n)), None) = (w.next(), w.next().map(str::parse::<i64>), w.next()) {
            if i128::from(p.started + n + 1) < dump_s {
                out.insert(
                    *pid,
                    format!(
                        "`{}` started {} s before the dump",
                        p.args,
                        dump_s - i128::from(p.started)
                    ),
                );
            }
        }
    }
    // The ps that listed this file: `ps -eo` with the columns of the file's header.
    let collector = final_ps
        .values()
        .find(|p| p.args.starts_with("ps -eo pid,ppid,") && p.args.contains("lstart"));
    let mut at = collector.map(|p| p.pid);
    let mut steps = 0;
    while let Some(pid) = at.filter(|p| !in_capture.contains_key(p)) {
        out.insert(
            pid,
            "the command that collected final/ps-eo.txt, or its parent script".into(),
        );
        at = final_ps.get(&pid).map(|p| p.ppid);
        steps += 1;
        if steps > 16 {
            break;
        }
    }
    out
}

#[derive(Debug, Default)]
struct Figures {
    gone: usize,
    checks: usize,
    truth_alive: usize,
    extra: usize,
    start_times: usize,
    threads: usize,
}

fn check_capture(capture: &CorpusCapture, diffs: &mut Vec<String>) -> Figures {
    let name = &capture.name;
    let kernel = kernel_of(capture, load_symbols(capture));
    let found = pslist::pslist(&kernel, &Options::default()).unwrap_or_else(|e| panic!("{name}: pslist failed: {e}"));
    for w in &found.warnings {
        diffs.push(format!("{name}: unexpected warning on an intact capture: {w}"));
    }
    let rows = &found.rows;
    let mut f = Figures::default();
    let mut by_pid: BTreeMap<u32, &ProcessRow> = BTreeMap::new();
    for r in rows {
        f.checks += 1;
        if r.pid != r.tid || r.pid != r.tgid {
            diffs.push(format!(
                "{name}: process row {} has tid {} tgid {}",
                r.pid, r.tid, r.tgid
            ));
        }
        if r.pid <= 0 || by_pid.insert(r.pid as u32, r).is_some() {
            diffs.push(format!("{name}: pid {} listed twice or not positive", r.pid));
        }
    }

    let truth_dir = &capture.truth_dir;
    let summary = truth::proc_summary(truth_dir);
    let alive = truth::final_ps_pids(truth_dir);
    let final_ps = truth::final_ps(truth_dir);

    // proc-summary.tsv: every field of every live process.
    for (pid, t) in summary.iter().filter(|(p, _)| alive.contains(p)) {
        f.truth_alive += 1;
        let Some(r) = by_pid.get(pid) else {
            diffs.push(format!(
                "{name}: pid {pid} ({}) of proc-summary.tsv, alive in final/ps-eo.txt, missing",
                t.name
            ));
            continue;
        };
        let mut bad = Vec::new();
        let mut cmp = |what: &str, got: Option<u64>, want: u64| {
            f.checks += 1;
            if got != Some(want) {
                bad.push(format!("{what} {got:?} != {want}"));
            }
        };
        cmp("ppid", r.ppid.map(|v| v as u64), u64::from(t.ppid));
        cmp("uid", r.uid.map(u64::from), u64::from(t.uids[0]));
        cmp("euid", r.euid.map(u64::from), u64::from(t.uids[1]));
        cmp("gid", r.gid.map(u64::from), u64::from(t.gids[0]));
        cmp("egid", r.egid.map(u64::from), u64::from(t.gids[1]));
        for (i, (key, got)) in [
            ("cap_inh", r.cap_inh),
            ("cap_prm", r.cap_prm),
            ("cap_eff", r.cap_eff),
            ("cap_bnd", r.cap_bnd),
            ("cap_amb", r.cap_amb),
        ]
        .into_iter()
        .enumerate()
        {
            cmp(key, got, t.caps[i]);
        }
        if let Some(&nspid) = t.nspid.last() {
            cmp("pid_in_ns", r.pid_in_ns.map(|v| v as u64), u64::from(nspid));
        }
        for kind in pslist::NsKind::ALL {
            if let Some(&want) = t.ns.get(kind.name()) {
                cmp(&format!("ns.{}", kind.name()), r.ns.get(kind), want);
            }
        }
        f.checks += 2;
        if !truth::comm_matches(&r.comm, &t.name) {
            bad.push(format!("comm {:?} vs Name {:?}", r.comm, t.name));
        }
        match &r.name {
            Some(n) if name_matches(n, &t.name, &r.comm) => {}
            other => bad.push(format!("name {other:?} vs Name {:?}", t.name)),
        }
        if r.cap_eff_names.as_ref().map(Vec::len) != Some(t.caps[2].count_ones() as usize) {
            bad.push("cap_eff_names".into());
        }
        if !bad.is_empty() {
            diffs.push(format!(
                "{name}: pid {pid} ({}) differs from proc-summary.tsv: {}",
                t.name,
                bad.join("; ")
            ));
        }
    }

    // final/ps-eo.txt: presence, ppid and start time. ps shows lstart as /proc/stat's btime (boot time
    // truncated to the second) plus the start in clock ticks, truncated to the second: the exact start is
    // at most 2 s after what ps shows, and the same arithmetic on our boot time must give ps's second.
    let boot_ns = i128::from(tasks::boot_time_ns(&kernel).unwrap_or_else(|e| panic!("{name}: no boot time: {e}")));
    let gone = gone_before_dump(truth_dir, &final_ps, &by_pid);
    for (pid, p) in &final_ps {
        let Some(r) = by_pid.get(pid) else {
            match gone.get(pid) {
                Some(why) => {
                    f.gone += 1;
                    eprintln!(
                        "{name}: pid {pid} ({}) of final/ps-eo.txt not in the capture: {why}",
                        p.comm
                    );
                }
                None => diffs.push(format!("{name}: pid {pid} ({}) of final/ps-eo.txt missing", p.comm)),
            }
            continue;
        };
        f.checks += 3;
        f.start_times += 1;
        if r.ppid != Some(i64::from(p.ppid)) {
            diffs.push(format!(
                "{name}: pid {pid}: ppid {:?}, final/ps-eo.txt says {}",
                r.ppid, p.ppid
            ));
        }
        let Some(start) = r.start_time.as_deref().and_then(start_ns) else {
            diffs.push(format!(
                "{name}: pid {pid}: start_time {:?} is not ISO 8601 with nanoseconds",
                r.start_time
            ));
            continue;
        };
        let since_boot_ns = start - boot_ns;
        let ps_like = boot_ns.div_euclid(1_000_000_000) + since_boot_ns / 10_000_000 / 100;
        let exact_after_ps = start - i128::from(p.started) * 1_000_000_000;
        if ps_like != i128::from(p.started) || !(0..2_000_000_000).contains(&exact_after_ps) {
            diffs.push(format!(
                "{name}: pid {pid}: start_time {} (ps arithmetic gives {ps_like}), final/ps-eo.txt says {} ({})",
                r.start_time.as_deref().unwrap_or(""),
                p.started,
                p.comm
            ));
        }
        if let Some(s) = r.start_time_since_boot {
            if (s - since_boot_ns as f64 / 1e9).abs() > 1e-6 {
                diffs.push(format!(
                    "{name}: pid {pid}: start_time_since_boot {s} disagrees with start_time"
                ));
            }
        }
    }

    // Rows not in the truth: each must have started after the last ps before the dump began
    // (final/time.txt), i.e. after the truth could have seen it.
    let final_time = truth::first_line(&truth_dir.join("final/time.txt"));
    let final_ns = start_ns(final_time.trim()).unwrap_or_else(|| panic!("{name}: final/time.txt: {final_time:?}"));
    for r in rows {
        let pid = r.pid as u32;
        if final_ps.contains_key(&pid) {
            continue;
        }
        f.extra += 1;
        let start = r.start_time.as_deref().and_then(start_ns);
        if start.is_some_and(|s| s >= final_ns) {
            eprintln!(
                "{name}: extra pid {pid} ({}, ppid {:?}) started {} after the last ps (final/time.txt {})",
                r.comm,
                r.ppid,
                r.start_time.as_deref().unwrap_or(""),
                final_time.trim()
            );
        } else {
            diffs.push(format!(
                "{name}: pid {pid} ({}) started {:?}, before final/ps-eo.txt was taken, yet ps did not list it",
                r.comm, r.start_time
            ));
        }
    }

    // Threads: every thread of ps-eLf.txt whose process is still alive; a thread missing from the
    // capture is excused only when its process's thread count changed by the final ps (it is not listed
    // there, so only processes whose ps-eLf threads all belong to a single-threaded or stable set count).
    let threads = pslist::pslist(
        &kernel,
        &Options {
            threads: true,
            ..Options::default()
        },
    )
    .unwrap_or_else(|e| panic!("{name}: pslist --threads failed: {e}"));
    let mut tids: BTreeMap<u32, BTreeSet<u32>> = BTreeMap::new();
    for r in &threads.rows {
        tids.entry(r.pid as u32).or_default().insert(r.tid as u32);
    }
    for r in &found.rows {
        if tids.get(&(r.pid as u32)).is_none_or(|t| !t.contains(&(r.pid as u32))) {
            diffs.push(format!("{name}: --threads lacks the main thread of pid {}", r.pid));
        }
    }
    for (pid, lwps) in truth::ps_threads(truth_dir).iter().filter(|(p, _)| alive.contains(p)) {
        let got = tids.get(pid).cloned().unwrap_or_default();
        for lwp in lwps {
            f.checks += 1;
            f.threads += 1;
            if !got.contains(lwp) {
                diffs.push(format!(
                    "{name}: thread {lwp} of pid {pid} (ps-eLf.txt) missing from --threads"
                ));
            }
        }
    }

    // pstree: same processes, each under its parent.
    let tree = pslist::pstree(&kernel, &Options::default()).unwrap_or_else(|e| panic!("{name}: pstree failed: {e}"));
    f.checks += 1;
    if tree.rows.len() != rows.len() {
        diffs.push(format!(
            "{name}: pstree has {} rows, pslist {}",
            tree.rows.len(),
            rows.len()
        ));
    }
    let addr_of: BTreeMap<i64, u64> = rows.iter().map(|r| (r.pid, r.task_addr)).collect();
    let mut depth_of: BTreeMap<u64, u32> = BTreeMap::new();
    for t in &tree.rows {
        f.checks += 1;
        let p = &t.process;
        let want_parent = p.ppid.and_then(|pp| addr_of.get(&pp)).copied();
        if t.parent_task_addr != want_parent {
            diffs.push(format!(
                "{name}: pstree pid {}: parent {:?}, want {want_parent:?}",
                p.pid, t.parent_task_addr
            ));
        }
        let want_depth = t.parent_task_addr.map_or(Some(0), |a| depth_of.get(&a).map(|d| d + 1));
        if want_depth != Some(t.depth) {
            diffs.push(format!(
                "{name}: pstree pid {} at depth {} comes before its parent or at the wrong depth",
                p.pid, t.depth
            ));
        }
        depth_of.insert(p.task_addr, t.depth);
    }

    // Filters: the host network namespace of pid 1, and two pids.
    if let Some(net) = by_pid.get(&1).and_then(|r| r.ns.net) {
        let only = pslist::pslist(
            &kernel,
            &Options {
                ns: vec![NsFilter {
                    kind: pslist::NsKind::Net,
                    inode: net,
                }],
                ..Options::default()
            },
        )
        .unwrap_or_else(|e| panic!("{name}: pslist --ns failed: {e}"));
        let want = rows.iter().filter(|r| r.ns.net == Some(net)).count();
        f.checks += 1;
        if only.rows.len() != want || want == 0 {
            diffs.push(format!(
                "{name}: --ns net:{net} gives {} rows, want {want}",
                only.rows.len()
            ));
        }
    }
    let two = pslist::pslist(
        &kernel,
        &Options {
            pids: vec![1, 2],
            ..Options::default()
        },
    )
    .unwrap_or_else(|e| panic!("{name}: pslist --pid failed: {e}"));
    f.checks += 1;
    if two.rows.iter().map(|r| r.pid).collect::<Vec<_>>() != [1, 2] {
        diffs.push(format!(
            "{name}: --pid 1 2 gives {:?}",
            two.rows.iter().map(|r| r.pid).collect::<Vec<_>>()
        ));
    }
    f
}

#[test]
fn pslist_matches_the_live_truth() {
    let captures = corpus::corpus_captures();
    let mut diffs = Vec::new();
    let mut checks = 0;
    for capture in &captures {
        let f = check_capture(capture, &mut diffs);
        eprintln!(
            "{}: {} live truth processes, {} start times, {} threads checked; {} extra rows explained; {} \
             processes of final/ps-eo.txt ended before the dump",
            capture.name, f.truth_alive, f.start_times, f.threads, f.extra, f.gone
        );
        assert!(
            f.truth_alive > 0,
            "{}: only {} live processes in the truth",
            capture.name,
            f.truth_alive
        );
        checks += f.checks;
    }
    eprintln!("pslist: {checks} corpus checks ran on {} captures", captures.len());
    memscope_tests::checks::ran("pslist", checks);
    assert!(
        diffs.is_empty(),
        "{} differences from the truth:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}

/// `exe` is `readlink /proc/PID/exe` (truth/proc/<pid>.txt, line `exe:`; empty for a kernel thread) for
/// every process of the truth the capture still holds.
#[test]
fn executables_match_proc_exe() {
    let captures = corpus::corpus_captures();
    let (mut diffs, mut checks) = (Vec::new(), 0usize);
    for capture in &captures {
        let kernel = corpus::kernel(capture);
        let rows = pslist::pslist(&kernel, &Options::default())
            .unwrap_or_else(|e| panic!("{}: {e}", capture.name))
            .rows;
        let mut matched = 0usize;
        for (pid, t) in truth::proc_fds(&capture.truth_dir) {
            let (Some(want), Some(r)) = (&t.exe, rows.iter().find(|r| r.pid == i64::from(pid))) else {
                continue;
            };
            checks += 1;
            let want = (!want.is_empty()).then_some(want.as_str());
            if r.exe.as_deref() == want {
                matched += 1;
            } else {
                diffs.push(format!(
                    "{}: pid {pid} ({}): exe {:?}, {} says {want:?}",
                    capture.name,
                    r.comm,
                    r.exe,
                    t.file.display()
                ));
            }
        }
        assert!(matched > 50, "{}: only {matched} executables compared", capture.name);
        eprintln!("{}: {matched} executables match /proc/PID/exe", capture.name);
    }
    memscope_tests::checks::ran("pslist-exe", checks);
    assert!(diffs.is_empty(), "{} differences:\n{}", diffs.len(), diffs.join("\n"));
}

/// Damaged input: the capture cut in half and zeroed pages under the task list give rows and warnings or
/// an error, never a panic or a hang.
#[test]
fn pslist_survives_damaged_captures() {
    let captures = corpus::corpus_captures();
    let mut checks = 0;
    for capture in &captures {
        let symbols = load_symbols(capture);
        let kernel = kernel_of(capture, symbols.clone());
        let whole = pslist::pslist(
            &kernel,
            &Options {
                threads: true,
                ..Options::default()
            },
        )
        .unwrap_or_else(|e| panic!("{}: {e}", capture.name));

        // Cut at half the capture. Whether the kernel can still be identified is computed from the whole
        // capture: when its image (`_text`..`_end`, physically) and its top page table are below the cut it
        // must be, and pslist must give rows (tasks above the cut lost, with a warning); otherwise
        // identification must fail with an error.
        let size = std::fs::metadata(&capture.lime_path).map(|m| m.len()).unwrap_or(0);
        let cut_phys = kept_physical_end(capture, size / 2);
        let end = kernel.image_phys(symbols.address("_end").expect("ISF _end"));
        let kernel_kept = end <= cut_phys && kernel.placement().page_table_root < cut_phys;
        let cut = corpus::Truncated {
            inner: corpus::FileReader::open(&capture.lime_path),
            size: size / 2,
        };
        let identified = Capture::open(Box::new(cut))
            .map_err(|e| e.to_string())
            .and_then(|cap| identify(Rc::new(cap), symbols.clone()).map_err(|e| e.to_string()));
        checks += 1;
        match (identified, kernel_kept) {
            (Ok(k), true) => {
                let a = pslist::pslist(
                    &k,
                    &Options {
                        threads: true,
                        ..Options::default()
                    },
                )
                .unwrap_or_else(|e| panic!("{}: cut capture, kernel kept: pslist failed: {e}", capture.name));
                assert!(
                    !a.rows.is_empty() && a.rows.len() <= whole.rows.len(),
                    "{}: cut capture gives {} rows of {}",
                    capture.name,
                    a.rows.len(),
                    whole.rows.len()
                );
                let lost = whole
                    .rows
                    .iter()
                    .filter(|w| !a.rows.iter().any(|r| r.tid == w.tid))
                    .count();
                assert!(
                    lost == 0 || !a.warnings.is_empty(),
                    "{}: cut capture: {lost} rows lost without a warning",
                    capture.name
                );
                eprintln!(
                    "{}: cut at half (kernel below the cut): {} of {} rows, {} lost, {} warnings",
                    capture.name,
                    a.rows.len(),
                    whole.rows.len(),
                    lost,
                    a.warnings.len()
                );
            }
            (Err(e), false) => eprintln!("{}: cut at half (kernel above the cut): error: {e}", capture.name),
            (Ok(_), false) => panic!(
                "{}: cut at physical {cut_phys:#x} identifies a kernel whose image ends at {end:#x}",
                capture.name
            ),
            (Err(e), true) => panic!(
                "{}: cut at physical {cut_phys:#x}, the kernel image (to {end:#x}) kept, yet: {e}",
                capture.name
            ),
        }

        // Tasks read at wrong addresses: inside a real task (fields are garbage: it must only end, a
        // result or an error, so it counts no check) and at the last page of the address space (unmapped:
        // an error).
        let mut warnings = Vec::new();
        for r in whole.rows.iter().take(50) {
            let _ = tasks::read_task(&kernel, r.task_addr.wrapping_add(0x100), &mut warnings);
            checks += 1;
            assert!(
                tasks::read_task(&kernel, 0xffff_ffff_ffff_f000, &mut warnings).is_err(),
                "{}: a task at the last page of the address space reads",
                capture.name
            );
            let _ = tasks::threads_of(&kernel, r.task_addr.wrapping_add(0x40));
        }
        assert!(
            tasks::read_task(&kernel, 0, &mut warnings).is_err(),
            "{}: a task at 0 reads",
            capture.name
        );
    }
    eprintln!(
        "pslist damaged input: {checks} corpus checks ran on {} captures",
        captures.len()
    );
    memscope_tests::checks::ran("pslist damaged", checks);
}

/// The physical address below which a LiME capture cut at `size` bytes keeps every byte of its ranges (the
/// start of the first range the cut reaches).
fn kept_physical_end(capture: &CorpusCapture, size: u64) -> u64 {
    corpus::lime_ranges(&capture.lime_path)
        .into_iter()
        .find(|r| r.file_offset + r.len > size)
        .map_or(u64::MAX, |r| r.start + size.saturating_sub(r.file_offset))
}

/// File offset in the LiME capture of a kernel virtual address, through the kernel's page tables.
fn file_offset(capture: &CorpusCapture, kernel: &Kernel, vaddr: u64) -> u64 {
    let p = kernel.placement();
    let cap = Rc::new(corpus::open_capture(&capture.lime_path));
    let space = memscope_core::paging::AddressSpace::new(cap, p.scheme, p.page_table_root);
    let phys = space
        .translate(vaddr)
        .unwrap_or_else(|e| panic!("{}: {vaddr:#x} does not translate: {e}", capture.name))
        .paddr;
    let r = corpus::lime_ranges(&capture.lime_path)
        .into_iter()
        .find(|r| r.start <= phys && phys < r.end())
        .unwrap_or_else(|| panic!("{}: physical {phys:#x} is in no LiME range", capture.name));
    r.file_offset + (phys - r.start)
}

/// A cyclic task list and zeroed pages under tasks and credentials: the rows that can be read are
/// listed, each problem is a warning, nothing panics or hangs.
#[test]
fn pslist_reports_cycles_and_zeroed_memory() {
    let captures = corpus::corpus_captures();
    let mut checks = 0;
    for capture in &captures {
        let name = &capture.name;
        let symbols = load_symbols(capture);
        let kernel = kernel_of(capture, symbols.clone());
        let whole = pslist::pslist(&kernel, &Options::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let rows = &whole.rows;
        assert!(rows.len() > 30, "{name}: too few processes to damage");
        let tasks_off = kernel.member_offset("task_struct", "tasks").expect("task_struct.tasks");
        let reopen = |patches: Vec<(u64, Vec<u8>)>| -> Kernel {
            let overlay = Patched {
                inner: corpus::FileReader::open(&capture.lime_path),
                patches,
            };
            let cap = Capture::open(Box::new(overlay)).unwrap_or_else(|e| panic!("{name}: {e}"));
            identify(Rc::new(cap), symbols.clone()).unwrap_or_else(|e| panic!("{name}: damaged capture: {e}"))
        };

        // Cycle: the 21st process's tasks.next points back at the 11th.
        let (a, b) = (rows[20].task_addr, rows[10].task_addr);
        let at = file_offset(capture, &kernel, a + tasks_off);
        let k = reopen(vec![(at, (b + tasks_off).to_le_bytes().to_vec())]);
        let got = pslist::pslist(&k, &Options::default()).unwrap_or_else(|e| panic!("{name}: cyclic list: {e}"));
        // The walk stops at the cycle and goes on backwards from the head: every task is still listed once.
        assert_eq!(
            got.rows.iter().map(|r| r.pid).collect::<Vec<_>>(),
            rows.iter().map(|r| r.pid).collect::<Vec<_>>(),
            "{name}: a cyclic list, walked forwards to the cycle and back from the head, gives every task"
        );
        assert!(
            got.warnings
                .iter()
                .any(|w| w.contains("cycle") && w.contains("recovered walking back")),
            "{name}: no cycle warning: {:?}",
            got.warnings
        );
        let t = pslist::pslist(
            &k,
            &Options {
                threads: true,
                ..Options::default()
            },
        );
        assert!(
            t.is_ok_and(|t| !t.warnings.is_empty()),
            "{name}: --threads on a cyclic list"
        );
        checks += 1;

        // Zeroed page under the 16th process's list link: the walk breaks there with a warning, and the
        // tasks after it are recovered walking back from the head.
        let at = file_offset(capture, &kernel, rows[15].task_addr + tasks_off) & !0xfff;
        let k = reopen(vec![(at, vec![0; 4096])]);
        let got = pslist::pslist(&k, &Options::default()).unwrap_or_else(|e| panic!("{name}: zeroed page: {e}"));
        assert!(
            got.rows.len() > rows.len() - 5 && got.rows.len() < rows.len(),
            "{name}: zeroed link: {} rows",
            got.rows.len()
        );
        assert!(!got.warnings.is_empty(), "{name}: zeroed link without a warning");
        checks += 1;

        // Zeroed credentials of pid 1: its row stays, uid and caps unknown or read as zero from the
        // zeroed page, and the other processes are intact.
        let cred = kernel
            .object("task_struct", rows[0].task_addr)
            .and_then(|t| t.pointer("cred"))
            .expect("cred");
        let cred_off = file_offset(capture, &kernel, cred);
        let k = reopen(vec![(cred_off, vec![0; 64])]);
        let got = pslist::pslist(&k, &Options::default()).unwrap_or_else(|e| panic!("{name}: zeroed cred: {e}"));
        assert_eq!(got.rows.len(), rows.len(), "{name}: zeroed credentials cost rows");
        assert_eq!(got.rows[0].pid, 1);
        assert_eq!(
            got.rows[1..],
            rows[1..],
            "{name}: zeroed credentials of pid 1 changed other rows"
        );
        checks += 1;
    }
    eprintln!(
        "pslist damaged memory: {checks} corpus checks ran on {} captures",
        captures.len()
    );
    memscope_tests::checks::ran("pslist damaged memory", checks);
}

/// A process unlinked from the task list, as a rootkit hides one (its neighbours' links skip it), is still
/// listed from the PID table, marked `in_task_list: false`, with a warning naming its pid; the others
/// are unchanged.
#[test]
fn pslist_finds_a_process_unlinked_from_the_task_list() {
    for capture in &corpus::corpus_captures() {
        let name = &capture.name;
        let symbols = load_symbols(capture);
        let kernel = kernel_of(capture, symbols.clone());
        let whole = pslist::pslist(&kernel, &Options::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            whole
                .rows
                .iter()
                .all(|r| r.in_task_list && r.in_pid_table == Some(true)),
            "{name}: undamaged, every process is on the task list and in the PID table"
        );
        // Hide a user process from the middle of the list: prev.next = next, next.prev = prev.
        let (i, hidden) = whole
            .rows
            .iter()
            .enumerate()
            .find(|(i, r)| *i > 20 && !r.kernel_thread)
            .unwrap_or_else(|| panic!("{name}: no user process past the 20th"));
        let (prev, next) = (&whole.rows[i - 1], &whole.rows[i + 1]);
        let tasks_off = kernel.member_offset("task_struct", "tasks").expect("task_struct.tasks");
        let patches = vec![
            (
                file_offset(capture, &kernel, prev.task_addr + tasks_off),
                (next.task_addr + tasks_off).to_le_bytes().to_vec(),
            ),
            (
                file_offset(capture, &kernel, next.task_addr + tasks_off + 8),
                (prev.task_addr + tasks_off).to_le_bytes().to_vec(),
            ),
        ];
        let overlay = Patched {
            inner: corpus::FileReader::open(&capture.lime_path),
            patches,
        };
        let cap = Capture::open(Box::new(overlay)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let k = identify(Rc::new(cap), symbols).unwrap_or_else(|e| panic!("{name}: unlinked: {e}"));
        let got = pslist::pslist(&k, &Options::default()).unwrap_or_else(|e| panic!("{name}: unlinked: {e}"));
        let row = got
            .rows
            .iter()
            .find(|r| r.pid == hidden.pid)
            .unwrap_or_else(|| panic!("{name}: pid {} unlinked from the task list is not listed", hidden.pid));
        assert!(!row.in_task_list && row.in_pid_table == Some(true), "{name}: {row:?}");
        assert_eq!(row.comm, hidden.comm, "{name}: the hidden process reads as itself");
        assert_eq!(
            got.rows.len(),
            whole.rows.len(),
            "{name}: every other process still listed"
        );
        assert!(
            got.warnings
                .iter()
                .any(|w| w.contains("PID table but not on the task list") && w.contains(&hidden.pid.to_string())),
            "{name}: no warning names the hidden pid: {:?}",
            got.warnings
        );
        eprintln!(
            "{name}: pid {} ({}) unlinked from the task list, found in the PID table",
            hidden.pid, hidden.comm
        );
    }
}
