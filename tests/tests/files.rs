//! `files` on every corpus capture against the live truth:
//! - `truth/stat-*.tsv` (stat of files in the host mount namespace just before the dump): every listed path
//!   is a row of pid 1's namespace with the same inode, mode, owner, group, size, mtime (to the second: the
//!   listing's fraction is not the kernel's) and symlink target;
//! - Volatility 3's `linux.pagecache.Files` on the same capture (`vol3/`): every path it found that the
//!   stat listings hold, we list too;
//! - the manifest's `cached_files`: each read back from the page cache (`--extract`, seen from the
//!   container's main pid where it is a container's) has the size and the ending the manifest gives.
//!
//! Differences excused, by rules computed from the truth: a file whose mtime in memory is later than its
//! stat listing's and not after the dump (changed in between: nothing to compare); a listed path through
//! a symlink (`/var/run/docker.sock`), found at the path the symlink leads to; a slow symlink whose page
//! is not cached, whose target memory does not hold (null, unknown).
//!
//! Then damaged copies (a directory's child list looped back on itself, a zeroed dentry): rows and a
//! warning, never a panic or a hang.

use std::collections::HashMap;
use std::rc::Rc;

use memscope_core::analyses::files::{extract, files, FileRow, Options, Target};
use memscope_core::kernel::identify;
use memscope_core::kernel::layouts::DentryChildren;
use memscope_tests::corpus::{self, load_symbols, patch_direct_map};
use memscope_tests::{checks, truth};

/// `path` with each symlink on the way replaced by its target, as our rows give them.
fn through_links(path: &str, rows: &HashMap<&str, &FileRow>) -> String {
    let mut out = String::new();
    for part in path.split('/').filter(|p| !p.is_empty()) {
        out = format!("{out}/{part}");
        if let Some(target) = rows.get(out.as_str()).and_then(|r| r.link_target.as_deref()) {
            out = if target.starts_with('/') {
                target.to_string()
            } else {
                let dir = out.rsplit_once('/').map_or("", |d| d.0);
                format!("{dir}/{target}")
            };
        }
    }
    out
}

#[test]
fn files_match_stat_listings_peer_and_cached_contents() {
    let captures = corpus::corpus_captures();
    let mut diffs = Vec::new();
    let mut checks = 0usize;
    for capture in &captures {
        let name = &capture.name;
        let kernel = corpus::kernel(capture);
        let found = files(
            &kernel,
            &Options {
                pids: vec![1],
                ..Options::default()
            },
        )
        .unwrap_or_else(|e| panic!("{name}: files failed: {e}"));
        checks += 1;
        if !found.warnings.is_empty() {
            diffs.push(format!("{name}: warnings on an intact capture: {:?}", found.warnings));
        }
        let mut rows: HashMap<&str, &FileRow> = HashMap::new();
        for r in &found.rows {
            rows.entry(r.path.as_str()).or_insert(r);
        }
        let dumped = truth::dump_time(&capture.truth_dir);
        let stats = truth::stat_entries(&capture.truth_dir);
        let (mut exact, mut changed) = (0usize, 0usize);
        for t in &stats {
            checks += 1;
            let Some(r) = rows
                .get(t.path.as_str())
                .or_else(|| rows.get(through_links(&t.path, &rows).as_str()))
            else {
                diffs.push(format!("{name}: {} (truth/{}) missing", t.path, file_name(&t.file)));
                continue;
            };
            let mtime = r.mtime.clone().unwrap_or_default();
            let at = truth::iso_seconds(&mtime);
            let listed = truth::iso_seconds(&format!("{}Z", t.mtime));
            if let (Some(at), Some(listed)) = (at, listed) {
                if at > listed + 1.0 && at <= dumped {
                    changed += 1;
                    continue;
                }
            }
            let mut bad = Vec::new();
            if r.inode != Some(t.inode) {
                bad.push(format!("inode {:?}", r.inode));
            }
            if r.mode.as_deref() != Some(t.mode.as_str()) {
                bad.push(format!("mode {:?}", r.mode));
            }
            if (r.uid, r.gid) != (Some(t.uid), Some(t.gid)) {
                bad.push(format!("owner {:?}:{:?}", r.uid, r.gid));
            }
            if r.size != Some(t.size as i64) {
                bad.push(format!("size {:?}", r.size));
            }
            if !mtime.starts_with(&t.mtime) {
                bad.push(format!("mtime {mtime}"));
            }
            // A slow symlink's target lives in its page: with no page cached, memory does not hold it and
            // the target is unknown (null), not wrong.
            let unknown_link = r.link_target.is_none() && r.cached_pages == Some(0);
            if r.link_target.as_deref().unwrap_or_default() != t.link && !unknown_link {
                bad.push(format!("link target {:?}", r.link_target));
            }
            if bad.is_empty() {
                exact += 1;
            } else {
                diffs.push(format!(
                    "{name}: {} (truth/{}): {}",
                    t.path,
                    file_name(&t.file),
                    bad.join(", ")
                ));
            }
        }
        let peer = truth::vol3_files(&capture.truth_dir);
        let mut peer_found = 0usize;
        for t in stats.iter().filter(|t| peer.contains(&(t.path.clone(), t.inode))) {
            checks += 1;
            if rows.contains_key(t.path.as_str()) {
                peer_found += 1;
            } else {
                diffs.push(format!("{name}: {} (found by Volatility 3) missing", t.path));
            }
        }
        assert!(
            peer_found > 100,
            "{name}: only {peer_found} files the peer lists are in the stat listings"
        );
        for f in &capture.cached_files {
            checks += 1;
            let pid = match &f.container {
                Some(c) => truth::container_pid(&capture.truth_dir, c)
                    .unwrap_or_else(|| panic!("{name}: no main pid of container {c} in truth/docker/")),
                None => 1,
            };
            match extract(&kernel, Some(pid), &Target::Path(f.path.clone())) {
                Ok(x) if x.bytes.len() as u64 == f.size && x.bytes.ends_with(f.ends_with.as_bytes()) => {
                    if !x.warnings.is_empty() {
                        diffs.push(format!("{name}: {} read back with warnings {:?}", f.path, x.warnings));
                    }
                }
                Ok(x) => diffs.push(format!(
                    "{name}: {} (pid {pid}) read back as {} bytes ending {:?}",
                    f.path,
                    x.bytes.len(),
                    String::from_utf8_lossy(&x.bytes[x.bytes.len().saturating_sub(40)..])
                )),
                Err(e) => diffs.push(format!("{name}: {} (pid {pid}): {e}", f.path)),
            }
        }
        println!(
            "{name}: {} rows; {exact} of {} stat entries exact ({changed} changed before the dump); {peer_found} \
             of the peer's found; {} cached files",
            found.rows.len(),
            stats.len(),
            capture.cached_files.len()
        );
    }
    checks::ran("files", checks);
    assert!(diffs.is_empty(), "{} differences:\n{}", diffs.len(), diffs.join("\n"));
}

fn file_name(path: &std::path::Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Damaged copies of each capture: /etc's child list looped back to its first child, and a dentry of a
/// file under /etc zeroed. Rows and a warning each time, never a panic or a hang.
#[test]
fn damaged_dentries_give_rows_and_warnings() {
    let captures = corpus::corpus_captures();
    let mut checks = 0usize;
    for capture in &captures {
        let name = &capture.name;
        let cap = Rc::new(corpus::open_capture(&capture.lime_path));
        let kernel = identify(cap.clone(), load_symbols(capture)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let etc = Options {
            path: Some("/etc".into()),
            ..Options::default()
        };
        let good = files(&kernel, &etc).unwrap_or_else(|e| panic!("{name}: {e}")).rows;
        assert!(good.len() > 100, "{name}: /etc has {} rows", good.len());
        let dir = good
            .iter()
            .find(|r| r.path == "/etc")
            .and_then(|r| r.dentry_addr)
            .expect("/etc");
        let off = |ty: &str, member: &str| kernel.member_offset(ty, member).unwrap_or_else(|e| panic!("{e}"));
        let mut looped = Vec::new();
        match kernel.layouts().files().children.clone().expect("children layout") {
            DentryChildren::List => {
                // The first child's `next` pointed back at itself: a cycle not through the head.
                let first = kernel.read_u64(dir + off("dentry", "d_subdirs")).expect("d_subdirs");
                patch_direct_map(&kernel, &cap, first, &first.to_le_bytes(), &mut looped);
            }
            DentryChildren::Hlist => {
                let first = kernel.read_u64(dir + off("dentry", "d_children")).expect("d_children");
                patch_direct_map(&kernel, &cap, first, &first.to_le_bytes(), &mut looped);
            }
        }
        let victim = good
            .iter()
            .find(|r| r.path.starts_with("/etc/") && r.file_type.as_deref() == Some("regular"))
            .and_then(|r| r.dentry_addr)
            .expect("a file under /etc");
        let size = kernel.symbols().layout("dentry").map(|l| l.size()).unwrap_or(192) as usize;
        let mut zeroed = Vec::new();
        patch_direct_map(&kernel, &cap, victim, &vec![0u8; size], &mut zeroed);
        for (what, patches) in [("looped child list", looped), ("zeroed dentry", zeroed)] {
            checks += 1;
            let damaged = corpus::patched_kernel(capture, load_symbols(capture), patches);
            let found = files(&damaged, &etc).unwrap_or_else(|e| panic!("{name} {what}: {e}"));
            assert!(!found.rows.is_empty(), "{name} {what}: no rows");
            assert!(
                found.rows.len() <= good.len() + 1,
                "{name} {what}: {} rows, more than the intact {}",
                found.rows.len(),
                good.len()
            );
            assert!(!found.warnings.is_empty(), "{name} {what}: no warning");
        }
    }
    checks::ran("files-damaged", checks);
}
