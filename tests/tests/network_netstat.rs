//! `netstat` on every corpus capture against the last `ss` snapshots taken seconds before the dump:
//! every TCP and UDP socket of `truth/final/ss-tanpue*.txt` held by a process must be found with that
//! process and descriptor, its ports, addresses, state, inode and network namespace; every UNIX socket of
//! `truth/final/ss-xanp.txt` held by a process with its inode, path, type, state and peer.
//!
//! A socket ss lists without a user must be found as a row with owner `none` (from the protocol hash
//! tables); TIME-WAIT ones come and go within seconds, so they are counted, not failed. Users absent from
//! `truth/final/ps-eo.txt` (processes that ended before the dump) are excused. Extras (descriptors in
//! memory that ss did not list) must be explained by the truth: a process absent from
//! `final/ps-eo.txt`, or the descriptor shown as `socket:[inode]` in `truth/proc/<pid>.txt`. Every
//! listening or connected TCP socket and bound UDP socket found through a descriptor must also be in the
//! protocol hash tables.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::rc::Rc;

use memscope_core::analyses::netstat::{netstat, Options as NetstatOptions, SocketRow};
use memscope_core::kernel::{identify, sockets, tasks, Kernel};
use memscope_tests::corpus::patch_direct_map as patch;
use memscope_tests::corpus::{self, CorpusCapture};
use memscope_tests::truth::{self, SsInet, SsUnix};

fn rows_of(capture: &CorpusCapture, options: &NetstatOptions) -> (Vec<SocketRow>, Vec<String>) {
    let kernel = kernel_of(capture);
    let found = netstat(&kernel, options).unwrap_or_else(|e| panic!("{}: netstat failed: {e}", capture.name));
    (found.rows, found.warnings)
}

fn kernel_of(capture: &CorpusCapture) -> Kernel {
    corpus::kernel(capture)
}

/// ss prints `*` for a wildcard address of a dual-stack socket: memory says `0.0.0.0` or `::`.
fn same_addr(ss: &str, got: Option<&str>) -> bool {
    match (ss, got) {
        ("*", Some("0.0.0.0" | "::")) => true,
        (want, Some(got)) => want == got,
        _ => false,
    }
}

fn unix_type(netid: &str) -> &str {
    match netid {
        "u_str" => "stream",
        "u_dgr" => "dgram",
        "u_seq" => "seqpacket",
        other => other,
    }
}

struct Tally {
    checks: usize,
    /// TIME-WAIT sockets of the truth found, of all.
    time_wait: (usize, usize),
    excused: usize,
    diffs: Vec<String>,
}

fn check_inet(capture: &CorpusCapture, rows: &[SocketRow], want: &[SsInet], alive: &BTreeSet<u32>, t: &mut Tally) {
    let by_fd: HashMap<(u32, u32), &SocketRow> = rows.iter().filter_map(|r| Some(((r.pid?, r.fd?), r))).collect();
    let mut netns_of: HashMap<String, Option<u64>> = HashMap::new();
    for s in want {
        if s.users.is_empty() {
            check_unowned(capture, rows, s, t);
            continue;
        }
        let expected_ns = *netns_of.entry(s.namespace.clone()).or_insert_with(|| {
            let pid = if s.namespace == "host" {
                Some(1)
            } else {
                truth::container_pid(&capture.truth_dir, &s.namespace)
            };
            pid.and_then(|p| truth::process_netns(&capture.truth_dir, p))
        });
        for u in &s.users {
            if !alive.contains(&u.pid) {
                t.excused += 1;
                continue;
            }
            t.checks += 1;
            let file = s.file.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            let what = format!(
                "{}: {file}: {} {} {}:{} -> {}:{} pid {} fd {}",
                capture.name, s.proto, s.state, s.local_addr, s.local_port, s.remote_addr, s.remote_port, u.pid, u.fd
            );
            let Some(r) = by_fd.get(&(u.pid, u.fd)) else {
                t.diffs.push(format!("{what}: not found"));
                continue;
            };
            let mut bad = Vec::new();
            if r.proto.as_deref() != Some(s.proto.as_str()) {
                bad.push(format!("proto {:?}", r.proto));
            }
            if r.local_port != Some(s.local_port) {
                bad.push(format!("local_port {:?}", r.local_port));
            }
            if r.remote_port != Some(s.remote_port) {
                bad.push(format!("remote_port {:?}", r.remote_port));
            }
            if !same_addr(&s.local_addr, r.local_addr.as_deref()) {
                bad.push(format!("local_addr {:?}", r.local_addr));
            }
            if !same_addr(&s.remote_addr, r.remote_addr.as_deref()) {
                bad.push(format!("remote_addr {:?}", r.remote_addr));
            }
            if r.state.as_deref() != Some(s.state.as_str()) {
                bad.push(format!("state {:?}", r.state));
            }
            if s.inode.is_some() && r.inode != s.inode {
                bad.push(format!("inode {:?} (ss ino:{:?})", r.inode, s.inode));
            }
            match expected_ns {
                Some(ns) if r.netns != Some(ns) => bad.push(format!("netns {:?}, truth says {ns}", r.netns)),
                None => bad.push(format!("netns of namespace {} not in truth", s.namespace)),
                _ => {}
            }
            if r.owner != "process" {
                bad.push(format!("owner {:?}", r.owner));
            }
            if !bad.is_empty() {
                t.diffs.push(format!("{what}: {}", bad.join(", ")));
            }
        }
    }
}

/// A socket ss lists without a user: it must be a row with no owner (found in the protocol hash tables),
/// except TIME-WAIT ones, which come and go within seconds (counted, not failed).
fn check_unowned(capture: &CorpusCapture, rows: &[SocketRow], s: &SsInet, t: &mut Tally) {
    let found = rows.iter().any(|r| {
        r.owner == "none"
            && r.proto.as_deref() == Some(s.proto.as_str())
            && r.local_port == Some(s.local_port)
            && r.remote_port == Some(s.remote_port)
            && same_addr(&s.local_addr, r.local_addr.as_deref())
            && same_addr(&s.remote_addr, r.remote_addr.as_deref())
            && r.state.as_deref() == Some(s.state.as_str())
    });
    if s.state == "TIME-WAIT" {
        t.time_wait.0 += usize::from(found);
        t.time_wait.1 += 1;
        return;
    }
    t.checks += 1;
    if !found {
        let file = s.file.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        t.diffs.push(format!(
            "{}: {file}: {} {} {}:{} -> {}:{} without a user: not found as a socket no process holds",
            capture.name, s.proto, s.state, s.local_addr, s.local_port, s.remote_addr, s.remote_port
        ));
    }
}

fn check_unix(capture: &CorpusCapture, rows: &[SocketRow], want: &[SsUnix], alive: &BTreeSet<u32>, t: &mut Tally) {
    let by_fd: HashMap<(u32, u32), &SocketRow> = rows.iter().filter_map(|r| Some(((r.pid?, r.fd?), r))).collect();
    for s in want {
        for u in &s.users {
            if !alive.contains(&u.pid) {
                t.excused += 1;
                continue;
            }
            t.checks += 1;
            let what = format!(
                "{}: ss-xanp.txt: {} {} inode {} pid {} fd {}",
                capture.name, s.netid, s.state, s.inode, u.pid, u.fd
            );
            let Some(r) = by_fd.get(&(u.pid, u.fd)) else {
                t.diffs.push(format!("{what}: not found"));
                continue;
            };
            let mut bad = Vec::new();
            if r.proto.as_deref() != Some("unix") {
                bad.push(format!("proto {:?}", r.proto));
            }
            if r.inode != Some(s.inode) {
                bad.push(format!("inode {:?}", r.inode));
            }
            if r.path != s.path {
                bad.push(format!("path {:?}, ss says {:?}", r.path, s.path));
            }
            if r.sock_type.as_deref() != Some(unix_type(&s.netid)) {
                bad.push(format!("type {:?}", r.sock_type));
            }
            if r.state.as_deref() != Some(s.state.as_str()) {
                bad.push(format!("state {:?}", r.state));
            }
            let peer = (s.peer_inode != 0).then_some(s.peer_inode);
            if r.peer_inode != peer {
                bad.push(format!("peer_inode {:?}, ss says {peer:?}", r.peer_inode));
            }
            if !bad.is_empty() {
                t.diffs.push(format!("{what}: {}", bad.join(", ")));
            }
        }
    }
}

/// The `struct sock` addresses of the TCP and UDP hash tables.
fn kernel_rows_hashed(capture: &CorpusCapture) -> (HashSet<u64>, HashSet<u64>) {
    let kernel = kernel_of(capture);
    let tcp = sockets::tcp_hashed(&kernel).unwrap_or_else(|e| panic!("{}: tcp hash: {e}", capture.name));
    let udp = sockets::udp_hashed(&kernel).unwrap_or_else(|e| panic!("{}: udp hash: {e}", capture.name));
    (tcp.socks.into_iter().collect(), udp.socks.into_iter().collect())
}

/// Self-consistency of the two ways of finding sockets: a TCP socket a process holds in a state other
/// than UNCONN (listening or connected), and a UDP socket bound to a port, must also be in the hash
/// tables.
fn check_hashed(capture: &CorpusCapture, hashed: &(HashSet<u64>, HashSet<u64>), rows: &[SocketRow], t: &mut Tally) {
    for r in rows.iter().filter(|r| r.pid.is_some()) {
        let table = match (r.proto.as_deref(), r.state.as_deref(), r.local_port) {
            (Some("tcp"), Some(state), _) if state != "UNCONN" => &hashed.0,
            (Some("udp"), _, Some(port)) if port != 0 => &hashed.1,
            _ => continue,
        };
        t.checks += 1;
        if !table.contains(&r.sock_addr) {
            t.diffs.push(format!(
                "{}: {:?} {:?} port {:?} pid {:?} fd {:?} (sock {:#x}) is not in the protocol hash tables",
                capture.name, r.proto, r.state, r.local_port, r.pid, r.fd, r.sock_addr
            ));
        }
    }
}

#[test]
fn every_socket_of_the_final_ss_snapshots_is_found_with_its_owner() {
    let captures = corpus::corpus_captures();
    let mut t = Tally {
        checks: 0,
        time_wait: (0, 0),
        excused: 0,
        diffs: Vec::new(),
    };
    let mut extras = Vec::new();
    for capture in &captures {
        let (rows, warnings) = rows_of(capture, &NetstatOptions::default());
        // An intact capture gives no warning.
        for w in &warnings {
            t.diffs
                .push(format!("{}: netstat warning on an intact capture: {w}", capture.name));
        }
        let alive = truth::final_ps_pids(&capture.truth_dir);
        let inet = truth::ss_inet_final(&capture.truth_dir);
        let unix = truth::ss_unix_final(&capture.truth_dir);
        check_inet(capture, &rows, &inet, &alive, &mut t);
        check_unix(capture, &rows, &unix, &alive, &mut t);
        // Extras: TCP/UDP/UNIX descriptors in memory that the snapshots do not list.
        let listed: BTreeSet<(u32, u32)> = inet
            .iter()
            .flat_map(|s| s.users.iter())
            .chain(unix.iter().flat_map(|s| s.users.iter()))
            .map(|u| (u.pid, u.fd))
            .collect();
        // An extra is explained when the process is gone from final/ps-eo.txt (it ended before the dump)
        // or when truth/proc/<pid>.txt shows that descriptor as `socket:[inode]` (a socket ss does not
        // list, like an unbound UDP socket); anything else is a difference.
        let proc_fds = truth::proc_fds(&capture.truth_dir);
        for r in &rows {
            let (Some(pid), Some(fd)) = (r.pid, r.fd) else { continue };
            let kind = r.proto.as_deref().unwrap_or_default();
            if !matches!(kind, "tcp" | "udp" | "unix") || listed.contains(&(pid, fd)) {
                continue;
            }
            let what = format!(
                "{}: {kind} pid {pid} ({}) fd {fd} inode {:?}",
                capture.name,
                r.comm.as_deref().unwrap_or_default(),
                r.inode
            );
            let link = r.inode.map(|i| format!("socket:[{i}]"));
            let in_proc = proc_fds
                .get(&pid)
                .and_then(|p| p.fds.get(&fd))
                .is_some_and(|l| Some(l) == link.as_ref());
            if !alive.contains(&pid) {
                extras.push(format!("{what}: a process absent from final/ps-eo.txt"));
            } else if in_proc {
                extras.push(format!("{what}: not listed by ss, truth/proc/{pid}.txt shows it"));
            } else {
                t.diffs.push(format!(
                    "{what}: not in the final ss snapshots nor in truth/proc/{pid}.txt"
                ));
            }
        }
        check_hashed(capture, &kernel_rows_hashed(capture), &rows, &mut t);
    }
    println!(
        "netstat: {} corpus checks, {} excused by the truth's rules, {} differences, {} extras explained; \
         TIME-WAIT sockets of the truth found: {} of {}",
        t.checks,
        t.excused,
        t.diffs.len(),
        extras.len(),
        t.time_wait.0,
        t.time_wait.1
    );
    memscope_tests::checks::ran("netstat", t.checks);
    for e in &extras {
        println!("extra (not in the final ss snapshots): {e}");
    }
    assert!(t.checks > 0, "no socket checked: the truth lists none");
    assert!(
        t.diffs.is_empty(),
        "differences from the truth:\n{}",
        t.diffs.join("\n")
    );
}

/// Every packet socket of `truth/proc-net-packet.txt` (columns sk RefCnt Type Proto Iface R Rmem User
/// Inode; taken during collection, held by long-lived processes) is found by inode with its type,
/// protocol and interface index.
#[test]
fn every_packet_socket_of_proc_net_packet_is_found() {
    let mut checks = 0usize;
    let mut diffs = Vec::new();
    for capture in &corpus::corpus_captures() {
        let (rows, _) = rows_of(
            capture,
            &NetstatOptions {
                no_unix: true,
                owned_only: true,
            },
        );
        for p in truth::proc_net_packet(&capture.truth_dir) {
            let (ty, proto, iface, inode) = (p.sock_type, p.protocol, p.ifindex, p.inode);
            checks += 1;
            let what = format!("{}: proc-net-packet.txt: inode {inode}", capture.name);
            let Some(r) = rows.iter().find(|r| r.inode == Some(inode)) else {
                diffs.push(format!("{what}: not found"));
                continue;
            };
            let want_type = sockets::type_name(ty);
            if r.proto.as_deref() != Some("packet")
                || r.sock_type.as_deref() != Some(want_type.as_str())
                || r.protocol != Some(proto)
                || r.ifindex != Some(iface)
            {
                diffs.push(format!(
                    "{what}: proto {:?} type {:?} protocol {:?} ifindex {:?}, truth says packet {want_type} {proto:#06x} \
                     {iface}",
                    r.proto, r.sock_type, r.protocol, r.ifindex
                ));
            }
        }
    }
    println!(
        "netstat packet sockets: {checks} corpus checks, {} differences",
        diffs.len()
    );
    memscope_tests::checks::ran("netstat packet", checks);
    assert!(checks > 0, "no packet socket in the truth");
    assert!(diffs.is_empty(), "differences from the truth:\n{}", diffs.join("\n"));
}

/// Every UNIX socket of `truth/proc-net-unix.txt` (every UNIX socket of the host namespace during
/// collection) still alive at the dump (listed in `truth/final/ss-xanp.txt`, the last snapshot) is found by
/// netstat in the host namespace with its type and path, and also by the UNIX hash-table walk alone, which
/// must run without warnings on the corpus and hold every UNIX socket a process holds. Rows with owner
/// `none` never repeat a socket a process holds.
#[test]
fn every_unix_socket_of_proc_net_unix_is_found_in_the_hash_tables() {
    let mut checks = 0usize;
    let mut excused = 0usize;
    let mut unowned = 0usize;
    let mut diffs = Vec::new();
    for capture in &corpus::corpus_captures() {
        let name = &capture.name;
        let kernel = kernel_of(capture);
        let (rows, _) = rows_of(capture, &NetstatOptions::default());
        let host_ns = truth::process_netns(&capture.truth_dir, 1)
            .unwrap_or_else(|| panic!("{name}: truth/proc-summary.tsv has no netns for pid 1"));
        let alive: HashSet<u64> = truth::ss_unix_final(&capture.truth_dir)
            .iter()
            .map(|s| s.inode)
            .collect();
        let walk = sockets::unix_hashed(&kernel).unwrap_or_else(|e| panic!("{name}: unix hash: {e}"));
        checks += 1;
        if !walk.warnings.is_empty() {
            diffs.push(format!("{name}: unix hash walk warns: {:?}", walk.warnings));
        }
        let reader = sockets::SocketReader::new(&kernel).unwrap_or_else(|e| panic!("{name}: {e}"));
        let hashed: HashMap<u64, u64> = walk
            .socks
            .iter()
            .filter_map(|&sk| {
                let info = reader.read_sock(sk).ok()?;
                Some((reader.socket_inode(info.socket_addr?)?, sk))
            })
            .collect();
        let hashed_socks: HashSet<u64> = walk.socks.iter().copied().collect();
        for want in truth::proc_net_unix(&capture.truth_dir) {
            if !alive.contains(&want.inode) {
                excused += 1;
                continue;
            }
            checks += 1;
            let what = format!("{name}: proc-net-unix.txt: inode {} {:?}", want.inode, want.path);
            if !hashed.contains_key(&want.inode) {
                diffs.push(format!("{what}: not in the UNIX hash tables"));
            }
            let want_type = sockets::type_name(want.sock_type);
            match rows
                .iter()
                .find(|r| r.family.as_deref() == Some("unix") && r.inode == Some(want.inode))
            {
                None => diffs.push(format!("{what}: not found")),
                Some(r)
                    if r.netns != Some(host_ns)
                        || r.path != want.path
                        || r.sock_type.as_deref() != Some(want_type.as_str()) =>
                {
                    diffs.push(format!(
                        "{what}: netns {:?} path {:?} type {:?}, truth says {host_ns} {:?} {want_type}",
                        r.netns, r.path, r.sock_type, want.path
                    ))
                }
                Some(_) => {}
            }
        }
        let held: HashSet<u64> = rows
            .iter()
            .filter(|r| r.owner == "process")
            .map(|r| r.sock_addr)
            .collect();
        for r in rows.iter().filter(|r| r.family.as_deref() == Some("unix")) {
            checks += 1;
            if r.owner == "process" && !hashed_socks.contains(&r.sock_addr) {
                diffs.push(format!(
                    "{name}: UNIX socket inode {:?} of pid {:?} fd {:?} is not in the hash tables",
                    r.inode, r.pid, r.fd
                ));
            }
            if r.owner == "none" {
                unowned += 1;
                if held.contains(&r.sock_addr) {
                    diffs.push(format!(
                        "{name}: UNIX socket inode {:?} listed as unowned and held",
                        r.inode
                    ));
                }
            }
        }
    }
    println!(
        "netstat UNIX hash tables: {checks} corpus checks, {excused} excused (gone before final/ss-xanp.txt), \
         {unowned} UNIX sockets no process holds, {} differences",
        diffs.len()
    );
    memscope_tests::checks::ran("netstat unix", checks);
    assert!(diffs.is_empty(), "differences from the truth:\n{}", diffs.join("\n"));
}

/// Netlink sockets held by processes alive at the dump (`truth/final/ps-eo.txt`): the truth has no
/// `/proc/net/netlink`, so each is checked against `truth/proc/<pid>.txt` (that descriptor is
/// `socket:[inode]`) and for a plausible port id: 0 (unbound), a negative number (a process's later
/// autobound sockets), or the id of a process of `truth/proc-summary.tsv` (the first socket a process
/// binds gets its pid, and children and socket-activated services inherit it). At least one socket must
/// carry its own holder's pid, and every group bitmap must be known.
#[test]
fn netlink_sockets_have_their_inode_and_a_plausible_port_id() {
    let mut checks = 0usize;
    let mut own_pid = 0usize;
    let mut diffs = Vec::new();
    for capture in &corpus::corpus_captures() {
        let name = &capture.name;
        let (rows, _) = rows_of(capture, &NetstatOptions::default());
        let alive = truth::final_ps_pids(&capture.truth_dir);
        let proc_fds = truth::proc_fds(&capture.truth_dir);
        let pids: HashSet<u32> = truth::proc_summary(&capture.truth_dir)
            .values()
            .flat_map(|p| p.nspid.iter().copied().chain([p.pid]))
            .collect();
        for r in rows.iter().filter(|r| r.family.as_deref() == Some("netlink")) {
            let (Some(pid), Some(fd)) = (r.pid, r.fd) else { continue };
            if !alive.contains(&pid) {
                continue;
            }
            checks += 1;
            let what = format!(
                "{name}: netlink pid {pid} fd {fd} inode {:?} portid {:?}",
                r.inode, r.portid
            );
            let link = proc_fds.get(&pid).and_then(|p| p.fds.get(&fd));
            if link.is_some_and(|l| Some(l.clone()) != r.inode.map(|i| format!("socket:[{i}]"))) {
                diffs.push(format!("{what}: truth/proc/{pid}.txt says {link:?}"));
            }
            match r.portid {
                Some(0) => {}
                Some(p) if (p as i32) < 0 => {}
                Some(p) if pids.contains(&p) => own_pid += usize::from(p == pid),
                other => diffs.push(format!("{what}: port id {other:?} is no process id nor negative")),
            }
            if r.groups.is_none() {
                diffs.push(format!("{what}: groups unknown"));
            }
        }
    }
    println!(
        "netstat netlink sockets: {checks} corpus checks, {own_pid} bound to their holder's pid, {} differences",
        diffs.len()
    );
    memscope_tests::checks::ran("netstat netlink", checks);
    assert!(checks > 0, "no netlink socket held by a process");
    assert!(own_pid > 0, "no netlink socket carries its holder's pid as port id");
    assert!(diffs.is_empty(), "differences from the truth:\n{}", diffs.join("\n"));
}

#[test]
fn no_unix_leaves_out_unix_sockets_only() {
    let captures = corpus::corpus_captures();
    let capture = captures
        .first()
        .unwrap_or_else(|| panic!("the corpus lists no capture; {}", corpus::CORPUS_HELP));
    let (all, _) = rows_of(capture, &NetstatOptions::default());
    let (no_unix, _) = rows_of(
        capture,
        &NetstatOptions {
            no_unix: true,
            owned_only: false,
        },
    );
    let non_unix = all.iter().filter(|r| r.family.as_deref() != Some("unix")).count();
    assert!(all.len() > non_unix, "{}: no UNIX socket found at all", capture.name);
    assert_eq!(
        no_unix.len(),
        non_unix,
        "{}: --no-unix must drop exactly the UNIX sockets",
        capture.name
    );
    assert!(no_unix.iter().all(|r| r.family.as_deref() != Some("unix")));
    println!("netstat --no-unix: 1 corpus check");
}

// ---------------------------------------------------------------------------------------------------------
// Damaged input: the capture read through a layer that overwrites chosen kernel objects (found with the
// undamaged capture), so that netstat meets a real cycle in a hash chain, a corrupt UNIX name length, a
// descriptor table claiming 2^32 slots and a zeroed `struct socket` in otherwise real memory.
// ---------------------------------------------------------------------------------------------------------

fn off(kernel: &Kernel, ty: &str, member: &str) -> u64 {
    kernel
        .member_offset(ty, member)
        .unwrap_or_else(|e| panic!("{ty}.{member}: {e}"))
}

#[test]
fn netstat_survives_damaged_captures() {
    let mut checks = 0usize;
    for capture in &corpus::corpus_captures() {
        let name = &capture.name;
        let symbols = corpus::load_symbols(capture);
        let cap = Rc::new(corpus::open_capture(&capture.lime_path));
        let kernel = identify(cap.clone(), symbols.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let clean = netstat(&kernel, &NetstatOptions::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut p = Vec::new();

        // A cycle in the TCP established hash: a connected socket's chain link points to itself.
        let estab = clean
            .rows
            .iter()
            .find(|r| r.proto.as_deref() == Some("tcp") && r.state.as_deref() == Some("ESTAB") && r.pid.is_some())
            .unwrap_or_else(|| panic!("{name}: needs an established TCP socket"));
        let node = estab.sock_addr + off(&kernel, "sock_common", "skc_nulls_node");
        patch(&kernel, &cap, node, &node.to_le_bytes(), &mut p);

        // A UNIX name whose length claims 2^31 bytes.
        let named = clean
            .rows
            .iter()
            .find(|r| r.family.as_deref() == Some("unix") && r.path.as_deref().is_some_and(|p| p.starts_with('/')))
            .unwrap_or_else(|| panic!("{name}: needs a named UNIX socket"));
        let ua = kernel
            .read_u64(named.sock_addr + off(&kernel, "unix_sock", "addr"))
            .expect("unix_sock.addr");
        patch(
            &kernel,
            &cap,
            ua + off(&kernel, "unix_address", "len"),
            &0x7fff_ffffu32.to_le_bytes(),
            &mut p,
        );

        // A UNIX hash chain leading into a TCP socket: the UNIX socket's `sk_node.next` points at the
        // established TCP socket's node.
        let unix_sock = clean
            .rows
            .iter()
            .find(|r| r.family.as_deref() == Some("unix") && r.pid.is_some() && r.path.is_none())
            .unwrap_or_else(|| panic!("{name}: needs an unbound UNIX socket"));
        let unix_node = unix_sock.sock_addr + off(&kernel, "sock_common", "skc_node");
        let tcp_node = estab.sock_addr + off(&kernel, "sock_common", "skc_node");
        patch(&kernel, &cap, unix_node, &tcp_node.to_le_bytes(), &mut p);

        // A zeroed `struct socket` (sk NULL) behind another process's descriptor.
        let zeroed = clean
            .rows
            .iter()
            .find(|r| r.proto.as_deref() == Some("udp") && r.pid.is_some() && r.socket_addr.is_some())
            .unwrap_or_else(|| panic!("{name}: needs a UDP socket"));
        let socket_size = symbols.layout("socket").expect("socket").size() as usize;
        patch(
            &kernel,
            &cap,
            zeroed.socket_addr.unwrap_or_default(),
            &vec![0u8; socket_size],
            &mut p,
        );

        // A descriptor table claiming 2^32 - 1 slots (the last process holding a socket), then one claiming
        // 2^20 (plausible, but past its real array: the open_fds bitmap must keep garbage out).
        let mut pids: Vec<u32> = clean.rows.iter().filter_map(|r| r.pid).collect();
        pids.sort_unstable();
        pids.dedup();
        let all_tasks = tasks::processes(&kernel).expect("processes").tasks;
        let fdt_of = |pid: u32| {
            let task = all_tasks
                .iter()
                .copied()
                .find(|&t| kernel.object("task_struct", t).and_then(|o| o.u64("tgid")).ok() == Some(u64::from(pid)))
                .expect("its task");
            let files = kernel
                .read_u64(task + off(&kernel, "task_struct", "files"))
                .expect("files");
            kernel
                .read_u64(files + off(&kernel, "files_struct", "fdt"))
                .expect("fdt")
        };
        let max_fds = off(&kernel, "fdtable", "max_fds");
        let (huge, big) = (pids[pids.len() - 1], pids[pids.len() - 2]);
        patch(&kernel, &cap, fdt_of(huge) + max_fds, &u32::MAX.to_le_bytes(), &mut p);
        patch(
            &kernel,
            &cap,
            fdt_of(big) + max_fds,
            &(1u32 << 20).to_le_bytes(),
            &mut p,
        );

        let k = corpus::patched_kernel(capture, symbols.clone(), p);
        let got =
            netstat(&k, &NetstatOptions::default()).unwrap_or_else(|e| panic!("{name}: damaged: netstat failed: {e}"));
        let has = |needle: &str| got.warnings.iter().any(|w| w.contains(needle));
        assert!(
            has("cycle"),
            "{name}: the hash chain cycle gives no warning: {:?}",
            got.warnings
        );
        assert!(
            has("implausible"),
            "{name}: the huge descriptor table gives no warning: {:?}",
            got.warnings
        );
        assert!(
            has("does not belong there"),
            "{name}: a UNIX hash chain into a TCP socket gives no warning: {:?}",
            got.warnings
        );
        assert!(
            !got.rows
                .iter()
                .any(|r| r.owner == "none" && r.sock_addr == estab.sock_addr),
            "{name}: the TCP socket a UNIX chain led to is listed as unowned"
        );
        assert!(
            has("has no sock"),
            "{name}: the zeroed socket gives no warning: {:?}",
            got.warnings
        );
        let same = |r: &SocketRow, c: &SocketRow| r.pid == c.pid && r.fd == c.fd;
        let unix_row = got
            .rows
            .iter()
            .find(|r| same(r, named))
            .unwrap_or_else(|| panic!("{name}: UNIX row lost"));
        assert_eq!(
            unix_row.path, None,
            "{name}: a name with a corrupt length must be unknown"
        );
        assert!(
            !got.rows.iter().any(|r| same(r, zeroed)),
            "{name}: a row from a zeroed socket"
        );
        assert!(
            got.warnings.len() < 100,
            "{name}: {} warnings: a flood",
            got.warnings.len()
        );
        let clean_owned = clean.rows.iter().filter(|r| r.pid.is_some()).count();
        let got_owned = got.rows.iter().filter(|r| r.pid.is_some()).count();
        assert!(
            got_owned + 1 >= clean_owned && got_owned < clean_owned + 16,
            "{name}: {got_owned} owned rows after damage, {clean_owned} before"
        );
        checks += 5;
    }
    println!("netstat damaged input: {checks} corpus checks");
    memscope_tests::checks::ran("netstat damaged", checks);
}

/// UNIX sockets of every container network namespace and raw sockets, compared both ways with the truth.
///
/// UNIX: each namespace of `truth/netns/<name>/` that is not the host's (a `--network host` container's
/// listings are the host's, compared through `truth/final/ss-xanp.txt` above) has its `ss-xanp.txt` and
/// `proc-net-unix.txt`: every socket they list whose holders are alive at the dump (`final/ps-eo.txt`) is a
/// row in that namespace (by inode, with path, type, state, peer and holder), and every UNIX row netstat
/// gives in that namespace is in its `proc-net-unix.txt`, unless its holder is in no ps listing of the
/// truth (it started after them).
///
/// Raw: every socket of `truth/proc-net-raw.txt` is a `raw` row of the host namespace with its inode and
/// protocol, every socket of `truth/ss-wanp.txt` a `raw` row held by its users with its protocol; and every
/// raw row of the host namespace is in `proc-net-raw.txt` or `ss-wanp.txt`, unless its holder is in no ps
/// listing of the truth. (The corpus guests hold no raw socket: both listings are empty, and so must
/// netstat's be.) Container namespaces have no raw listing in the truth; their raw rows are only counted.
#[test]
fn container_unix_sockets_and_raw_sockets_match_the_truth() {
    let mut checks = 0usize;
    let mut diffs = Vec::new();
    for capture in &corpus::corpus_captures() {
        let name = &capture.name;
        let truth_dir = &capture.truth_dir;
        let (rows, _) = rows_of(capture, &NetstatOptions::default());
        let alive = truth::final_ps_pids(truth_dir);
        let ever = truth::ps_pids_ever(truth_dir);
        let namespaces = truth::network_namespaces(truth_dir);
        let host = namespaces[0].inode;
        let started_later = |r: &SocketRow| r.pid.is_some_and(|p| !ever.contains(&p));
        let mut unix_compared = 0usize;
        for ns in namespaces.iter().filter(|ns| ns.inode != host) {
            let ss_file = ns.dir.join("ss-xanp.txt");
            let proc_file = ns.dir.join("proc-net-unix.txt");
            let ss = truth::ss_unix(&ss_file);
            let proc_unix = truth::proc_net_unix_file(&proc_file);
            let in_ns: Vec<&SocketRow> = rows
                .iter()
                .filter(|r| r.family.as_deref() == Some("unix") && r.netns == Some(ns.inode))
                .collect();
            for s in &ss {
                if !s.users.is_empty() && s.users.iter().all(|u| !alive.contains(&u.pid)) {
                    continue;
                }
                checks += 1;
                unix_compared += 1;
                let what = format!("{name}: {}: {} inode {}", ss_file.display(), s.netid, s.inode);
                let Some(r) = in_ns.iter().find(|r| r.inode == Some(s.inode)) else {
                    diffs.push(format!("{what}: no UNIX row in netns {}", ns.inode));
                    continue;
                };
                let peer = (s.peer_inode != 0).then_some(s.peer_inode);
                if r.path != s.path
                    || r.sock_type.as_deref() != Some(unix_type(&s.netid))
                    || r.state.as_deref() != Some(s.state.as_str())
                    || r.peer_inode != peer
                {
                    diffs.push(format!(
                        "{what}: path {:?} type {:?} state {:?} peer {:?}, ss says {:?} {} {} {peer:?}",
                        r.path, r.sock_type, r.state, r.peer_inode, s.path, s.netid, s.state
                    ));
                }
                for u in s.users.iter().filter(|u| alive.contains(&u.pid)) {
                    checks += 1;
                    if !in_ns
                        .iter()
                        .any(|r| r.inode == Some(s.inode) && r.pid == Some(u.pid) && r.fd == Some(u.fd))
                    {
                        diffs.push(format!("{what}: not held by pid {} fd {}", u.pid, u.fd));
                    }
                }
            }
            for r in &in_ns {
                checks += 1;
                let listed =
                    proc_unix.iter().any(|p| Some(p.inode) == r.inode) || ss.iter().any(|s| Some(s.inode) == r.inode);
                if !listed && !started_later(r) {
                    diffs.push(format!(
                        "{name}: UNIX socket inode {:?} path {:?} of pid {:?} fd {:?} in netns {} ({}) is in neither \
                         {} nor {}, and its holder is in the truth's ps listings",
                        r.inode,
                        r.path,
                        r.pid,
                        r.fd,
                        ns.inode,
                        ns.name,
                        ss_file.display(),
                        proc_file.display()
                    ));
                }
            }
            // The namespace's UNIX rows as a whole against its listings (none on the corpus).
            checks += 1;
            eprintln!(
                "{name}: netns {} ({}): {} UNIX sockets in ss-xanp.txt, {} in proc-net-unix.txt, {} UNIX rows",
                ns.name,
                ns.inode,
                ss.len(),
                proc_unix.len(),
                in_ns.len()
            );
        }

        // Every UNIX row is in a namespace the truth describes.
        for r in rows.iter().filter(|r| r.family.as_deref() == Some("unix")) {
            checks += 1;
            if !namespaces.iter().any(|ns| r.netns == Some(ns.inode)) {
                diffs.push(format!(
                    "{name}: UNIX socket inode {:?} of pid {:?} in netns {:?}, none of the truth's (truth/netns/*)",
                    r.inode, r.pid, r.netns
                ));
            }
        }

        // Raw sockets of the host namespace.
        let proc_raw = truth::proc_net_raw(truth_dir);
        let ss_raw = truth::ss_raw(truth_dir);
        let raw: Vec<&SocketRow> = rows.iter().filter(|r| r.proto.as_deref() == Some("raw")).collect();
        let host_raw: Vec<&SocketRow> = raw.iter().copied().filter(|r| r.netns == Some(host)).collect();
        for p in &proc_raw {
            checks += 1;
            if !host_raw
                .iter()
                .any(|r| r.inode == Some(p.inode) && r.local_port == Some(p.protocol))
            {
                diffs.push(format!(
                    "{name}: proc-net-raw.txt: inode {} protocol {}: no raw row in the host namespace",
                    p.inode, p.protocol
                ));
            }
        }
        for s in &ss_raw {
            for u in s.users.iter().filter(|u| alive.contains(&u.pid)) {
                checks += 1;
                if !host_raw
                    .iter()
                    .any(|r| r.pid == Some(u.pid) && r.fd == Some(u.fd) && r.local_port == Some(s.local.1))
                {
                    diffs.push(format!(
                        "{name}: ss-wanp.txt: raw {}:{} of pid {} fd {}: no such raw row",
                        s.local.0, s.local.1, u.pid, u.fd
                    ));
                }
            }
        }
        // The listings themselves, compared whole: one check each.
        checks += 2;
        for r in &host_raw {
            let listed = proc_raw.iter().any(|p| Some(p.inode) == r.inode)
                || ss_raw
                    .iter()
                    .any(|s| s.users.iter().any(|u| Some(u.pid) == r.pid && Some(u.fd) == r.fd));
            if !listed && !started_later(r) {
                diffs.push(format!(
                    "{name}: raw socket inode {:?} protocol {:?} of pid {:?} fd {:?} in the host namespace is in \
                     neither truth/proc-net-raw.txt nor truth/ss-wanp.txt",
                    r.inode, r.local_port, r.pid, r.fd
                ));
            }
        }
        eprintln!(
            "{name}: {unix_compared} container UNIX sockets compared; raw: {} in proc-net-raw.txt, {} in \
             ss-wanp.txt, {} raw rows in the host namespace, {} in container namespaces (no raw listing there)",
            proc_raw.len(),
            ss_raw.len(),
            host_raw.len(),
            raw.len() - host_raw.len()
        );
    }
    println!(
        "netstat container UNIX and raw: {checks} corpus checks, {} differences",
        diffs.len()
    );
    memscope_tests::checks::ran("netstat container unix and raw", checks);
    assert!(diffs.is_empty(), "differences from the truth:\n{}", diffs.join("\n"));
}
