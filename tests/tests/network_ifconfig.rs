//! `ifconfig` on every corpus capture against `ip -d addr` and `ip -d link` of the host
//! (`truth/ip-d-addr.txt`, `truth/ip-link.txt`) and of each container's network namespace
//! (`truth/netns/<name>/...`): every interface must be found in its namespace (by the namespace inode of
//! the process the truth entered, `truth/proc-summary.tsv`) with its index, MAC, MTU, flags, operational
//! state, promiscuity count and every address with its prefix, scope and label.
//!
//! Extras are counted and explained: interfaces or addresses in memory that the truth does not list, and
//! namespaces no truth folder describes (a namespace that lives on without a container process).

use std::collections::BTreeSet;

use memscope_core::analyses::ifconfig::{ifconfig, Interface};
use memscope_tests::corpus::{self, CorpusCapture};
use memscope_tests::truth;

fn rows_of(capture: &CorpusCapture) -> (Vec<Interface>, Vec<String>) {
    let kernel = corpus::kernel(capture);
    let found = ifconfig(&kernel).unwrap_or_else(|e| panic!("{}: ifconfig failed: {e}", capture.name));
    (found.rows, found.warnings)
}

#[test]
fn interfaces_and_addresses_match_ip_addr_and_link() {
    let captures = corpus::corpus_captures();
    let mut diffs = Vec::new();
    let mut checks = 0usize;
    for capture in &captures {
        let (rows, warnings) = rows_of(capture);
        assert!(warnings.is_empty(), "{}: ifconfig warnings: {warnings:?}", capture.name);
        let mut seen_ns = BTreeSet::new();
        let mut matched_rows = BTreeSet::new();
        let mut extra_addrs = 0usize;
        for ns in truth::network_namespaces(&capture.truth_dir) {
            if !seen_ns.insert(ns.inode) {
                // A container sharing the host's namespace (--network host): the same interfaces again.
                continue;
            }
            let addr_file = ns.dir.join("ip-d-addr.txt");
            let link_file = ns.dir.join("ip-link.txt");
            let addr_truth = truth::ip_links(&addr_file);
            let link_truth = truth::ip_links(&link_file);
            let what = |f: &std::path::Path| f.strip_prefix(&capture.truth_dir).unwrap_or(f).display().to_string();
            for want in &addr_truth {
                checks += 1;
                let Some((i, got)) = rows
                    .iter()
                    .enumerate()
                    .find(|(_, r)| r.netns == Some(ns.inode) && r.name == want.name)
                else {
                    diffs.push(format!(
                        "{}: {} (netns {} of {}) missing; truth/{}",
                        capture.name,
                        want.name,
                        ns.inode,
                        ns.name,
                        what(&addr_file)
                    ));
                    continue;
                };
                matched_rows.insert(i);
                let mut local = Vec::new();
                let mut differ = |key: &str, got: String, want_v: String, file: &std::path::Path| {
                    if got != want_v {
                        local.push(format!(
                            "{}: {} {} netns {}: {key} {got}, truth/{} says {want_v}",
                            capture.name,
                            ns.name,
                            want.name,
                            ns.inode,
                            what(file)
                        ));
                    }
                };
                differ("index", got.index.to_string(), want.index.to_string(), &addr_file);
                for a in &want.addrs {
                    checks += 1;
                    match got
                        .addrs
                        .iter()
                        .find(|g| format!("{}/{}", g.address, g.prefixlen) == a.cidr)
                    {
                        None => differ(
                            "addresses",
                            got.addresses.join(" "),
                            format!("... {} ...", a.cidr),
                            &addr_file,
                        ),
                        Some(g) => {
                            differ(
                                &format!("{} family", a.cidr),
                                g.family.to_string(),
                                a.family.clone(),
                                &addr_file,
                            );
                            differ(
                                &format!("{} scope", a.cidr),
                                g.scope.clone(),
                                a.scope.clone(),
                                &addr_file,
                            );
                            if let Some(label) = &a.label {
                                differ(
                                    &format!("{} label", a.cidr),
                                    format!("{:?}", g.label),
                                    format!("{:?}", Some(label)),
                                    &addr_file,
                                );
                            }
                        }
                    }
                }
                extra_addrs += got.addrs.len().saturating_sub(want.addrs.len());
                let link = link_truth.iter().find(|l| l.name == want.name);
                let Some(link) = link else {
                    differ("presence", "in ip -d addr".into(), "absent".into(), &link_file);
                    diffs.extend(local);
                    continue;
                };
                checks += 1;
                differ("mac", format!("{:?}", got.mac), format!("{:?}", link.mac), &link_file);
                differ("mtu", got.mtu.to_string(), link.mtu.to_string(), &link_file);
                differ("flags", got.flags.join(","), link.flags.join(","), &link_file);
                differ(
                    "operstate",
                    format!("{:?}", got.operstate),
                    format!("{:?}", Some(&link.state)),
                    &link_file,
                );
                differ(
                    "promiscuity",
                    format!("{:?}", Some(got.promiscuity)),
                    format!("{:?}", link.promiscuity),
                    &link_file,
                );
                let promisc = link.promiscuity.unwrap_or(0) > 0 || link.flags.iter().any(|f| f == "PROMISC");
                differ(
                    "promiscuous",
                    got.promiscuous.to_string(),
                    promisc.to_string(),
                    &link_file,
                );
                diffs.extend(local);
            }
        }
        let extra_rows: Vec<&Interface> = rows
            .iter()
            .enumerate()
            .filter(|(i, _)| !matched_rows.contains(i))
            .map(|(_, r)| r)
            .collect();
        let unknown_ns = extra_rows
            .iter()
            .filter(|r| !r.netns.is_some_and(|n| seen_ns.contains(&n)))
            .count();
        eprintln!(
            "{}: {} interfaces in {} namespaces; extras: {} interface(s) the truth does not list ({unknown_ns} in \
             namespaces no truth folder describes), {extra_addrs} address(es) beyond the truth's",
            capture.name,
            rows.len(),
            seen_ns.len(),
            extra_rows.len()
        );
        // An interface in a namespace the truth describes must be in the truth: ip lists them all.
        for r in extra_rows
            .iter()
            .filter(|r| r.netns.is_some_and(|n| seen_ns.contains(&n)))
        {
            diffs.push(format!(
                "{}: {} (netns {:?}) is not in the truth's ip -d addr",
                capture.name, r.name, r.netns
            ));
        }
    }
    eprintln!("ifconfig: {checks} corpus checks on {} captures", captures.len());
    memscope_tests::checks::ran("ifconfig", checks);
    assert!(diffs.is_empty(), "{} difference(s):\n{}", diffs.len(), diffs.join("\n"));
}
