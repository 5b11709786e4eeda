//! `mounts` on every corpus capture against the live mountinfo: `truth/mountinfo-pid1.txt` and each
//! container's `truth/mountinfo-container-<name>-pid<pid>.txt` (`cat /proc/PID/mountinfo` just before the
//! dump). For each of those pids, `--pid PID` must give every line of the file exactly (mount id, parent id,
//! major:minor, root, mount point, mount options and access, optional fields, fstype, source and the
//! superblock options we decode), in the file's order, no mount missing or extra, and no warning.
//!
//! Differences excused, by rules computed from the truth:
//! - a row with `path` null whose mount id the file does not list: a mount outside the process's root,
//!   which mountinfo leaves out (the namespace's root, the old root below a container's pivot_root);
//! - superblock options: ours are the generic ones `show_sb_opts()` prints (`ro`/`rw`, `sync`, `dirsync`,
//!   `mand`, `lazytime`), which must be the truth's leading ones; the truth's further options are the file
//!   system's own (`s_op->show_options`: `errors=`, `size=`, `lowerdir=`), which memscope does not decode.
//!
//! Then damaged copies of each capture (a cycle in the namespace's list or tree, a zeroed mount): rows and
//! a warning, never a panic or a hang.

use std::rc::Rc;

use memscope_core::analyses::mounts::{mounts, MountRow, Options};
use memscope_core::kernel::layouts::NsMounts;
use memscope_core::kernel::mounts::read_mount;
use memscope_core::kernel::{identify, Kernel};
use memscope_tests::corpus::{self, load_symbols, patch_direct_map};
use memscope_tests::{checks, truth};

/// Superblock options `show_sb_opts()` prints.
const GENERIC_SB: [&str; 6] = ["ro", "rw", "sync", "dirsync", "mand", "lazytime"];

#[test]
fn mounts_match_mountinfo() {
    let captures = corpus::corpus_captures();
    let mut diffs = Vec::new();
    let mut checks = 0usize;
    let mut report = Vec::new();
    for capture in &captures {
        let name = &capture.name;
        let kernel = corpus::kernel(capture);
        let files = truth::mountinfo_files(&capture.truth_dir);
        assert!(
            files.iter().any(|f| f.pid == 1) && files.len() > 1,
            "{name}: the truth folder has no mountinfo-pid1.txt or no container's mountinfo"
        );
        for file in &files {
            let label = format!(
                "{name} pid {} (truth/{})",
                file.pid,
                file.path.file_name().and_then(|n| n.to_str()).unwrap_or_default()
            );
            let want = truth::mountinfo(&file.path);
            let found = mounts(
                &kernel,
                &Options {
                    pids: vec![file.pid],
                    ..Options::default()
                },
            )
            .unwrap_or_else(|e| panic!("{label}: mounts failed: {e}"));
            if !found.warnings.is_empty() {
                diffs.push(format!("{label}: warnings on an intact capture: {:?}", found.warnings));
            }
            checks += 1;
            if let Some(r) = found.rows.iter().find(|r| r.pid != Some(file.pid) || !r.in_use) {
                diffs.push(format!("{label}: a row labelled pid {:?} (in_use {})", r.pid, r.in_use));
            }
            let namespaces: std::collections::BTreeSet<Option<u64>> = found.rows.iter().map(|r| r.mnt_ns).collect();
            checks += 1;
            if namespaces.len() != 1 || namespaces.contains(&None) {
                diffs.push(format!("{label}: rows of namespaces {namespaces:?}, not one"));
            }
            let mut matched = 0usize;
            let mut fs_options_excused = 0usize;
            for t in &want {
                checks += 1;
                let Some(r) = found.rows.iter().find(|r| r.mount_id == t.mount_id) else {
                    diffs.push(format!("{label}: mount {} ({}) missing", t.mount_id, t.mount_point));
                    continue;
                };
                let (differs, excused) = compare(r, t);
                fs_options_excused += usize::from(excused);
                if differs.is_empty() {
                    matched += 1;
                } else {
                    diffs.push(format!("{label}: mount {}: {}", t.mount_id, differs.join("; ")));
                }
            }
            let mut outside_root = 0usize;
            for r in &found.rows {
                if want.iter().any(|t| t.mount_id == r.mount_id) {
                    continue;
                }
                checks += 1;
                if r.path.is_none() {
                    outside_root += 1;
                } else {
                    diffs.push(format!(
                        "{label}: mount {} at {:?} ({:?}) is not in the truth",
                        r.mount_id, r.path, r.fstype
                    ));
                }
            }
            // The order mountinfo prints is the namespace's own: the rows with a path, in order.
            checks += 1;
            let got_order: Vec<i64> = found
                .rows
                .iter()
                .filter(|r| r.path.is_some())
                .map(|r| r.mount_id)
                .collect();
            let want_order: Vec<i64> = want.iter().map(|t| t.mount_id).collect();
            if got_order != want_order {
                diffs.push(format!("{label}: order {got_order:?}, the truth's {want_order:?}"));
            }
            report.push(format!(
                "{label}: {matched}/{} mounts exact, {outside_root} outside the root (path null), file system \
                 options not decoded on {fs_options_excused}",
                want.len()
            ));
        }
    }
    for line in &report {
        eprintln!("{line}");
    }
    checks::ran("mounts", checks);
    assert!(diffs.is_empty(), "{} differences:\n{}", diffs.len(), diffs.join("\n"));
}

/// What differs between a row and its mountinfo line, and whether the file system's own superblock
/// options were excused.
fn compare(r: &MountRow, t: &truth::MountinfoLine) -> (Vec<String>, bool) {
    let mut differs = Vec::new();
    let mut check = |what: &str, got: Option<&str>, want: &str| {
        if got != Some(want) {
            differs.push(format!("{what} {got:?}, the truth says {want:?}"));
        }
    };
    let parent = r.parent_id.map(|p| p.to_string());
    check("parent id", parent.as_deref(), &t.parent_id.to_string());
    check("major:minor", r.major_minor.as_deref(), &t.major_minor);
    check("root", r.root.as_deref(), &t.root);
    check("path", r.path.as_deref(), &t.mount_point);
    check("options", Some(&r.flags), &t.options);
    check(
        "access",
        Some(&r.access),
        t.options.split(',').next().unwrap_or_default(),
    );
    let propagation = r.propagation.join(" ");
    check("propagation", Some(&propagation), &t.optional.join(" "));
    check("fstype", r.fstype.as_deref(), &t.fstype);
    check("devname", r.devname.as_deref(), &t.source);
    let want_sb: Vec<&str> = t.super_options.split(',').collect();
    let generic = want_sb.iter().take_while(|o| GENERIC_SB.contains(o)).count();
    let want_generic = want_sb[..generic].join(",");
    check("super options", r.super_options.as_deref(), &want_generic);
    (differs, generic < want_sb.len())
}

fn damaged_kernel(capture: &corpus::CorpusCapture, patches: Vec<(u64, Vec<u8>)>) -> Kernel {
    corpus::patched_kernel(capture, load_symbols(capture), patches)
}

/// Damaged copies of each capture: pid 1's namespace's list or tree given a cycle (the fifth mount linked
/// back to the second, or a leaf's empty child pointed at the tree's root), and a mount's `struct mount`
/// zeroed: every other row and a warning naming the namespace each time, never a panic or a hang.
#[test]
fn damaged_mount_lists_give_rows_and_warnings() {
    let captures = corpus::corpus_captures();
    let mut checks = 0usize;
    for capture in &captures {
        let name = &capture.name;
        let cap = Rc::new(corpus::open_capture(&capture.lime_path));
        let kernel = identify(cap.clone(), load_symbols(capture)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let pid1 = Options {
            pids: vec![1],
            ..Options::default()
        };
        let good = mounts(&kernel, &pid1).unwrap_or_else(|e| panic!("{name}: {e}")).rows;
        assert!(good.len() >= 8, "{name}: needs eight mounts, has {}", good.len());
        let ns = read_mount(&kernel, good[0].addr)
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .ns;
        let off = |ty: &str, member: &str| {
            kernel
                .member_offset(ty, member)
                .unwrap_or_else(|e| panic!("{ty}.{member}: {e}"))
        };
        let mut cycle = Vec::new();
        match kernel
            .layouts()
            .mounts()
            .mounts
            .clone()
            .unwrap_or_else(|e| panic!("{name}: {e}"))
        {
            NsMounts::List => {
                let link = |i: usize| good[i].addr + off("mount", "mnt_list");
                patch_direct_map(&kernel, &cap, link(4), &link(1).to_le_bytes(), &mut cycle);
            }
            NsMounts::Tree => {
                let root = kernel
                    .read_u64(ns + off("mnt_namespace", "mounts"))
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
                let left = off("rb_node", "rb_left");
                let leaf = good
                    .iter()
                    .map(|r| r.addr + off("mount", "mnt_node"))
                    .find(|&n| n != root && kernel.read_u64(n + left).is_ok_and(|l| l == 0))
                    .unwrap_or_else(|| panic!("{name}: no node without a left child"));
                patch_direct_map(&kernel, &cap, leaf + left, &root.to_le_bytes(), &mut cycle);
            }
        }
        let mut zeroed = Vec::new();
        let size = kernel.symbols().layout("mount").map(|l| l.size()).unwrap_or(256) as usize;
        patch_direct_map(&kernel, &cap, good[3].addr, &vec![0u8; size], &mut zeroed);
        // A cycle costs nothing (the list is walked back from its head; what a tree's broken branch hid is on
        // the mount hash); a zeroed mount costs itself.
        for (what, patches, at_least) in [("cycle", cycle, good.len()), ("zeroed mount", zeroed, good.len() - 1)] {
            checks += 1;
            let found = mounts(&damaged_kernel(capture, patches), &pid1)
                .unwrap_or_else(|e| panic!("{name}: {what}: mounts failed: {e}"));
            assert!(
                found.warnings.iter().any(|w| w.contains("mount namespace")),
                "{name}: {what}: no warning naming the namespace: {:?}",
                found.warnings
            );
            assert!(
                found.rows.len() >= at_least && found.rows.len() <= good.len(),
                "{name}: {what}: {} rows of {}",
                found.rows.len(),
                good.len()
            );
            eprintln!(
                "{name}: {what}: {} of {} rows, warning {:?}",
                found.rows.len(),
                good.len(),
                found.warnings.first()
            );
        }
    }
    checks::ran("mounts damaged", checks);
}

/// A namespace no process uses is still listed: each container's processes made to name the host's mount
/// namespace instead (their `nsproxy.mnt_ns` patched) leave the container's namespace to the kernel's
/// index (6.12) or the mount hash (6.1), which must give it with `pid` null, `in_use` false and the same
/// mounts.
#[test]
fn namespaces_no_process_uses_are_listed() {
    let captures = corpus::corpus_captures();
    let mut checks = 0usize;
    for capture in &captures {
        let name = &capture.name;
        let cap = Rc::new(corpus::open_capture(&capture.lime_path));
        let kernel = identify(cap.clone(), load_symbols(capture)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let all = mounts(&kernel, &Options::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let host = all
            .rows
            .iter()
            .find(|r| r.pid == Some(1))
            .and_then(|r| r.mnt_ns)
            .expect("pid 1's namespace");
        let containers: Vec<u32> = truth::mountinfo_files(&capture.truth_dir)
            .iter()
            .filter(|f| f.container.is_some())
            .map(|f| f.pid)
            .collect();
        let off = kernel.member_offset("nsproxy", "mnt_ns").expect("nsproxy.mnt_ns");
        // Each process's nsproxy and the namespace address it names.
        let mut nsproxies = Vec::new();
        let mut warnings = Vec::new();
        memscope_core::kernel::tasks::for_each_process(&kernel, &mut warnings, |task, pid, _| {
            let Ok(p) = task.pointer("nsproxy") else { return };
            if p != 0 {
                nsproxies.push((pid, p, kernel.read_u64(p + off).unwrap_or(0)));
            }
        })
        .expect("tasks");
        let host_addr = nsproxies
            .iter()
            .find(|n| n.0 == 1)
            .map(|n| n.2)
            .expect("pid 1's nsproxy");
        for pid in containers {
            let target = nsproxies
                .iter()
                .find(|n| n.0 == pid)
                .map(|n| n.2)
                .expect("the container's nsproxy");
            let inum = all
                .rows
                .iter()
                .find(|r| r.pid == Some(pid))
                .and_then(|r| r.mnt_ns)
                .expect("its rows");
            let mut patches = Vec::new();
            let mut patched = std::collections::BTreeSet::new();
            for &(_, p, ns) in &nsproxies {
                if ns == target && patched.insert(p) {
                    patch_direct_map(&kernel, &cap, p + off, &host_addr.to_le_bytes(), &mut patches);
                }
            }
            let found = mounts(&damaged_kernel(capture, patches), &Options::default())
                .unwrap_or_else(|e| panic!("{name}: pid {pid}'s namespace unused: {e}"));
            let ids = |rows: &[MountRow], f: &dyn Fn(&MountRow) -> bool| -> Vec<i64> {
                let mut v: Vec<i64> = rows
                    .iter()
                    .filter(|r| r.mnt_ns == Some(inum) && f(r))
                    .map(|r| r.mount_id)
                    .collect();
                v.sort_unstable();
                v
            };
            checks += 1;
            let want = ids(&all.rows, &|_| true);
            let got = ids(&found.rows, &|r| r.pid.is_none() && !r.in_use);
            assert!(
                !want.is_empty() && got == want && inum != host,
                "{name}: namespace {inum} (pid {pid}'s) once no process uses it: mounts {got:?}, with pid {want:?}; \
                 warnings {:?}",
                found.warnings
            );
            eprintln!(
                "{name}: namespace {inum} of pid {pid} unused: {} mounts listed",
                got.len()
            );
        }
    }
    checks::ran("mounts unused namespaces", checks);
}
