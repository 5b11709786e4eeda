//! `arp` on every corpus capture against the last `ip neigh` snapshots taken seconds before the dump
//! (`truth/final/ip-neigh.txt` for the host, `truth/final/ip-neigh-<name>.txt` for each container's
//! network namespace): every entry with a link-layer address must be found in its namespace (the
//! namespace inode of the process the truth entered, `truth/proc-summary.tsv`) with its device, MAC,
//! router flag and state.
//!
//! Excused, by rules computed from the truth: a state that moved among REACHABLE, STALE, DELAY and PROBE
//! (the kernel's own timers move a resolved entry between these within seconds), and entries without a
//! link-layer address (INCOMPLETE, FAILED: garbage-collected at any time). Extras are counted and
//! explained: NOARP entries (multicast, loopback: `ip neigh` hides them) and entries created after the
//! snapshot.

use std::collections::{BTreeMap, BTreeSet};

use memscope_core::analyses::arp::{arp, Neighbour};
use memscope_tests::corpus::{self, CorpusCapture};
use memscope_tests::truth::{self, TruthNeigh};

fn rows_of(capture: &CorpusCapture) -> (Vec<Neighbour>, Vec<String>) {
    let kernel = corpus::kernel(capture);
    let found = arp(&kernel).unwrap_or_else(|e| panic!("{}: arp failed: {e}", capture.name));
    (found.rows, found.warnings)
}

/// States a resolved entry moves between on the kernel's timers.
const CONNECTED: [&str; 4] = ["REACHABLE", "STALE", "DELAY", "PROBE"];

#[test]
fn neighbours_match_final_ip_neigh() {
    let captures = corpus::corpus_captures();
    let mut diffs = Vec::new();
    let mut checks = 0usize;
    for capture in &captures {
        let (rows, warnings) = rows_of(capture);
        assert!(warnings.is_empty(), "{}: arp warnings: {warnings:?}", capture.name);
        // Truth entries by namespace inode (a --network host container repeats the host's).
        let mut want: BTreeMap<u64, Vec<(String, TruthNeigh)>> = BTreeMap::new();
        for ns in truth::network_namespaces(&capture.truth_dir) {
            let rel = if ns.name == "host" {
                "final/ip-neigh.txt".to_string()
            } else {
                format!("final/ip-neigh-{}.txt", ns.name)
            };
            let file = capture.truth_dir.join(&rel);
            assert!(file.exists(), "truth file {} is missing", file.display());
            let entries = want.entry(ns.inode).or_default();
            for n in truth::ip_neigh(&file) {
                if !entries.iter().any(|(_, e)| e.ip == n.ip && e.dev == n.dev) {
                    entries.push((rel.clone(), n));
                }
            }
        }
        let (mut state_moved, mut unresolved_gone) = (0usize, 0usize);
        let mut matched = BTreeSet::new();
        for (&inode, entries) in &want {
            for (file, n) in entries {
                checks += 1;
                let found = rows.iter().enumerate().find(|(_, r)| {
                    r.netns == Some(inode) && r.ip == n.ip && r.device.as_deref() == Some(n.dev.as_str())
                });
                let Some((i, got)) = found else {
                    if n.lladdr.is_none() {
                        unresolved_gone += 1;
                    } else {
                        diffs.push(format!(
                            "{}: {} dev {} (netns {inode}) missing; truth/{file}",
                            capture.name, n.ip, n.dev
                        ));
                    }
                    continue;
                };
                matched.insert(i);
                if got.mac != n.lladdr {
                    diffs.push(format!(
                        "{}: {} dev {}: mac {:?}, truth/{file} says {:?}",
                        capture.name, n.ip, n.dev, got.mac, n.lladdr
                    ));
                }
                if got.router != n.router {
                    diffs.push(format!(
                        "{}: {} dev {}: router {}, truth/{file} says {}",
                        capture.name, n.ip, n.dev, got.router, n.router
                    ));
                }
                if got.state != n.state {
                    if CONNECTED.contains(&got.state.as_str()) && CONNECTED.contains(&n.state.as_str()) {
                        state_moved += 1;
                    } else {
                        diffs.push(format!(
                            "{}: {} dev {}: state {}, truth/{file} says {}",
                            capture.name, n.ip, n.dev, got.state, n.state
                        ));
                    }
                }
            }
        }
        let extras: Vec<&Neighbour> = rows
            .iter()
            .enumerate()
            .filter(|(i, _)| !matched.contains(i))
            .map(|(_, r)| r)
            .collect();
        let noarp = extras.iter().filter(|r| r.state.contains("NOARP")).count();
        let unknown_ns = extras
            .iter()
            .filter(|r| !r.netns.is_some_and(|n| want.contains_key(&n)))
            .count();
        let later: Vec<String> = extras
            .iter()
            .filter(|r| !r.state.contains("NOARP"))
            .map(|r| format!("{} dev {} {}", r.ip, r.device.as_deref().unwrap_or("?"), r.state))
            .collect();
        eprintln!(
            "{}: {} neighbour rows; excused: {state_moved} state(s) moved among {CONNECTED:?}, {unresolved_gone} \
             unresolved truth entr(ies) gone; extras: {noarp} NOARP entr(ies) ip neigh hides, {} created after \
             the snapshot {later:?}, {unknown_ns} in namespaces no truth folder describes",
            capture.name,
            rows.len(),
            later.len()
        );
        for r in &rows {
            if r.mac.is_none() && CONNECTED.contains(&r.state.as_str()) {
                diffs.push(format!(
                    "{}: {} dev {:?} is {} without a MAC",
                    capture.name, r.ip, r.device, r.state
                ));
            }
        }
    }
    eprintln!("arp: {checks} corpus checks on {} captures", captures.len());
    memscope_tests::checks::ran("arp", checks);
    assert!(diffs.is_empty(), "{} difference(s):\n{}", diffs.len(), diffs.join("\n"));
}
