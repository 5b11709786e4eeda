//! `arp` on every corpus capture against the last `ip neigh` snapshots taken seconds before the dump
//! (`truth/final/ip-neigh.txt` for the host, `truth/final/ip-neigh-<name>.txt` for each container's
//! network namespace): every entry with a link-layer address must be found in its namespace (the
//! namespace inode of the process the truth entered, `truth/proc-summary.tsv`) with its device, MAC,
//! router flag and state.
//!
//! Excused, by rules computed from the truth: a state that moved among REACHABLE, STALE, DELAY and PROBE
//! (a kernel fact: its timers move a resolved entry between these within seconds, and each move sets
//! `neighbour.updated`, which must then be after `truth/final/time.txt`), and entries without a
//! link-layer address (INCOMPLETE, FAILED: garbage-collected at any time). Every extra is explained by a
//! rule or is a difference: NOARP entries (`ip neigh` hides them; multicast with the MAC the kernel maps, or
//! on a loopback/NOARP device of the truth's ip-link.txt, zero MAC) and entries last changed
//! (`neighbour.updated`) after `truth/final/time.txt`, bounded by jiffies and CONFIG_HZ.

use std::collections::{BTreeMap, BTreeSet};

use memscope_core::analyses::arp::{arp, Neighbour};
use memscope_core::kernel::Kernel;
use memscope_tests::corpus::{self, CorpusCapture};
use memscope_tests::truth::{self, TruthLink, TruthNeigh};

fn rows_of(capture: &CorpusCapture) -> (Kernel, Vec<Neighbour>, Vec<String>) {
    let kernel = corpus::kernel(capture);
    let found = arp(&kernel).unwrap_or_else(|e| panic!("{}: arp failed: {e}", capture.name));
    (kernel, found.rows, found.warnings)
}

/// Why the capture has a neighbour that the last `ip neigh` lacks.
enum Extra {
    /// `ip neigh` leaves NOARP entries out.
    Hidden,
    /// Created or changed after the last snapshot began, this many seconds before the dump.
    Later(f64),
}

/// The kernel's clock at the dump (`jiffies`), its rate (`CONFIG_HZ` of the kernel's build config beside
/// the ISF in the corpus, `symbols/config-<release>.xz`) and how many seconds before the dump the last
/// snapshot began (`truth/dump-time.txt` minus `truth/final/time.txt`, plus 1 s: the dump time has whole
/// seconds).
struct NeighClock<'k> {
    kernel: &'k Kernel,
    jiffies: u64,
    hz: u64,
    window: f64,
}

impl<'k> NeighClock<'k> {
    fn of(kernel: &'k Kernel, capture: &CorpusCapture) -> Self {
        let name = &capture.name;
        let jiffies = kernel
            .symbol_addr("jiffies")
            .ok()
            .and_then(|a| kernel.read_u64(a).ok())
            .unwrap_or_else(|| panic!("{name}: cannot read jiffies"));
        let config = capture
            .symbols_path
            .with_file_name(format!("config-{}.xz", capture.kernel_release));
        let text = std::process::Command::new("xz")
            .arg("-dc")
            .arg(&config)
            .output()
            .unwrap_or_else(|e| panic!("cannot run xz on {} (apt-get install xz-utils): {e}", config.display()));
        assert!(text.status.success(), "xz -dc {} failed", config.display());
        let hz = String::from_utf8_lossy(&text.stdout)
            .lines()
            .find_map(|l| l.strip_prefix("CONFIG_HZ=")?.parse::<u64>().ok())
            .unwrap_or_else(|| panic!("{}: no CONFIG_HZ", config.display()));
        let snapshot = capture.truth_dir.join("final/time.txt");
        let snapshot = truth::iso_seconds(&truth::first_line(&snapshot))
            .unwrap_or_else(|| panic!("truth file {} holds no UTC time", snapshot.display()));
        let window = truth::dump_time(&capture.truth_dir) - snapshot + 1.0;
        assert!(window > 0.0, "{name}: truth/final/time.txt is after the dump");
        NeighClock {
            kernel,
            jiffies,
            hz,
            window,
        }
    }

    /// Seconds between the neighbour's last change (`neighbour.updated`, jiffies) and the dump.
    fn age(&self, addr: u64) -> Result<f64, String> {
        let n = self.kernel.object("neighbour", addr).map_err(|e| e.to_string())?;
        let updated = n.u64("updated").map_err(|e| e.to_string())?;
        // jiffies is an unsigned long that wraps; time_after() compares the difference.
        Ok(self.jiffies.wrapping_sub(updated) as i64 as f64 / self.hz as f64)
    }
}

/// The MAC the kernel maps a multicast address to (`ip_eth_mc_map`: 01:00:5e and the low 23 bits;
/// `ipv6_eth_mc_map`: 33:33 and the low 32 bits), or `None` for a unicast address.
fn multicast_mac(ip: &str) -> Option<String> {
    match ip.parse::<std::net::IpAddr>().ok()? {
        std::net::IpAddr::V4(a) if a.is_multicast() => {
            let o = a.octets();
            Some(format!("01:00:5e:{:02x}:{:02x}:{:02x}", o[1] & 0x7f, o[2], o[3]))
        }
        std::net::IpAddr::V6(a) if a.is_multicast() => {
            let o = a.octets();
            Some(format!("33:33:{:02x}:{:02x}:{:02x}:{:02x}", o[12], o[13], o[14], o[15]))
        }
        _ => None,
    }
}

/// The rule that explains a neighbour the last `ip neigh` lacks, or why none does. NOARP (a kernel fact:
/// `ip neigh` hides NUD_NOARP entries): a multicast address whose MAC is the one the kernel maps it to, or
/// an entry of a device that truth's `ip-link.txt` of that namespace marks LOOPBACK or NOARP, with the
/// all-zero MAC. Any other state: last changed (`neighbour.updated`) after the last snapshot began (an
/// entry created, or moved out of a state `ip neigh` showed differently, in those seconds).
fn explain_extra(
    r: &Neighbour,
    links: &BTreeMap<u64, Vec<TruthLink>>,
    clock: &NeighClock<'_>,
) -> Result<Extra, String> {
    let ns_links = r
        .netns
        .and_then(|n| links.get(&n))
        .ok_or("its network namespace is none of the truth's (truth/ip-link.txt, netns/*/ip-link.txt)")?;
    let dev = r.device.as_deref().ok_or("no device")?;
    let link = ns_links
        .iter()
        .find(|l| l.name == dev)
        .ok_or("its device is not in the namespace's ip-link.txt")?;
    if r.state.contains("NOARP") {
        if let Some(mac) = multicast_mac(&r.ip) {
            return if r.mac.as_deref() == Some(mac.as_str()) {
                Ok(Extra::Hidden)
            } else {
                Err(format!("a multicast entry whose MAC is not {mac}"))
            };
        }
        let noarp_dev = link.flags.iter().any(|f| f == "LOOPBACK" || f == "NOARP");
        return if noarp_dev && r.mac.as_deref() == Some("00:00:00:00:00:00") {
            Ok(Extra::Hidden)
        } else {
            Err("a NOARP unicast entry on a device with ARP, or with a MAC".into())
        };
    }
    let age = clock.age(r.neighbour_addr)?;
    if age <= clock.window {
        Ok(Extra::Later(age))
    } else {
        Err(format!(
            "last changed {age:.1} s before the dump, before truth/final/time.txt ({:.1} s before)",
            clock.window
        ))
    }
}

/// States a resolved entry moves between on the kernel's timers.
const CONNECTED: [&str; 4] = ["REACHABLE", "STALE", "DELAY", "PROBE"];

#[test]
fn neighbours_match_final_ip_neigh() {
    let captures = corpus::corpus_captures();
    let mut diffs = Vec::new();
    let mut checks = 0usize;
    for capture in &captures {
        let (kernel, rows, warnings) = rows_of(capture);
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
        let clock = NeighClock::of(&kernel, capture);
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
                    // Every move of the kernel's neighbour state machine sets `neighbour.updated`: a state
                    // that moved after the snapshot was updated within the seconds since.
                    let age = clock.age(got.neighbour_addr);
                    let connected = CONNECTED.contains(&got.state.as_str()) && CONNECTED.contains(&n.state.as_str());
                    if connected && age.as_ref().is_ok_and(|a| *a <= clock.window) {
                        state_moved += 1;
                    } else if connected {
                        diffs.push(format!(
                            "{}: {} dev {}: state {}, truth/{file} says {}, and the entry last changed {age:?} s \
                             before the dump, before truth/final/time.txt ({:.1} s)",
                            capture.name, n.ip, n.dev, got.state, n.state, clock.window
                        ));
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
        // Each extra is explained by a rule or is a difference.
        let links: BTreeMap<u64, Vec<TruthLink>> = truth::network_namespaces(&capture.truth_dir)
            .into_iter()
            .map(|ns| (ns.inode, truth::ip_links(&ns.dir.join("ip-link.txt"))))
            .collect();
        let (mut noarp, mut later) = (0usize, Vec::new());
        for r in &extras {
            checks += 1;
            match explain_extra(r, &links, &clock) {
                Ok(Extra::Hidden) => noarp += 1,
                Ok(Extra::Later(age)) => later.push(format!("{} dev {:?} {} ({age:.1} s old)", r.ip, r.device, r.state)),
                Err(why) => diffs.push(format!(
                    "{}: {} dev {:?} {} (netns {:?}, mac {:?}) is in the capture, not in truth/final/ip-neigh*.txt: {why}",
                    capture.name, r.ip, r.device, r.state, r.netns, r.mac
                )),
            }
        }
        eprintln!(
            "{}: {} neighbour rows; excused: {state_moved} state(s) moved among {CONNECTED:?}, {unresolved_gone} \
             unresolved truth entr(ies) gone; extras: {noarp} NOARP entr(ies) ip neigh hides (multicast with \
             the MAC the kernel maps, or on a loopback/NOARP device of ip-link.txt), {} updated after \
             final/time.txt {later:?}",
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
