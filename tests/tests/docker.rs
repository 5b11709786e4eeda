//! The docker views on every corpus capture against what Docker and /proc said just before the dump:
//! `truth/docker/inspect-container-*.json` (`docker inspect`: id, name, image, state, main pid, user,
//! HostConfig, Mounts, networks), `truth/docker/inspect-network-*.json` (IPAM subnets) and
//! `truth/proc-summary.tsv` (the main process's euid and capability sets).
//!
//! Every running container with its full id and nothing else; each fact it gives equal to Docker's (a fact
//! memory does not hold is null, and then a warning names the container and the fact); capabilities;
//! each of Docker's mounts with its host path, container path and access; each network a running
//! container uses with its subnets, and each container's addresses and MAC on it.

use std::collections::BTreeMap;

use memscope_core::analyses::docker::{self, Container};
use memscope_tests::corpus;
use memscope_tests::truth::{self, TruthContainer};

/// Docker's spelling of a namespace mode as the rows give it: the default (`""`) is `private`.
fn mode(docker: &str) -> String {
    if docker.is_empty() {
        "private".into()
    } else {
        docker.to_string()
    }
}

/// Compare one fact: equal, or null with a warning naming the container and the fact.
fn fact<T: PartialEq + std::fmt::Debug>(
    label: &str,
    key: &str,
    got: &Option<T>,
    want: T,
    warnings: &[String],
    id: &str,
    diffs: &mut Vec<String>,
) {
    match got {
        Some(g) if *g == want => {}
        None if warnings.iter().any(|w| w.contains(&id[..12]) && w.contains(key)) => {}
        other => diffs.push(format!("{label}: {key} {other:?}, docker inspect says {want:?}")),
    }
}

#[test]
fn containers_match_docker_inspect() {
    let (mut checks, mut diffs) = (0usize, Vec::new());
    for capture in corpus::corpus_captures() {
        let kernel = corpus::kernel(&capture);
        let found = docker::ps(&kernel, &docker::Options { all: true })
            .unwrap_or_else(|e| panic!("{}: docker ps failed: {e}", capture.name));
        let procs = truth::proc_summary(&capture.truth_dir);
        let want = truth::docker_containers(&capture.truth_dir);
        let rows: BTreeMap<&str, &Container> = found.rows.iter().map(|r| (r.container_id.as_str(), r)).collect();
        for t in want.iter().filter(|t| t.running) {
            let label = format!("{}: container {} ({})", capture.name, t.name, t.file.display());
            checks += 1;
            let Some(r) = rows.get(t.id.as_str()) else {
                diffs.push(format!("{label}: missing"));
                continue;
            };
            let w = &found.warnings;
            let id = &t.id;
            if r.pid != Some(t.pid) {
                diffs.push(format!("{label}: pid {:?}, docker inspect says {}", r.pid, t.pid));
            }
            if !r.pids.contains(&t.pid) || r.exec_pids.contains(&t.pid) {
                diffs.push(format!("{label}: pids {:?} exec {:?}", r.pids, r.exec_pids));
            }
            let state = if t.paused { "paused" } else { "running" };
            if r.state != state {
                diffs.push(format!("{label}: state {}, docker inspect says {state}", r.state));
            }
            fact(&label, "name", &r.name, t.name.clone(), w, id, &mut diffs);
            fact(&label, "image", &r.image, t.image.clone(), w, id, &mut diffs);
            fact(&label, "image_id", &r.image_id, t.image_id.clone(), w, id, &mut diffs);
            fact(&label, "created", &r.created, t.created.clone(), w, id, &mut diffs);
            fact(&label, "started", &r.started, t.started.clone(), w, id, &mut diffs);
            fact(&label, "user", &r.user, t.user.clone(), w, id, &mut diffs);
            fact(&label, "privileged", &r.privileged, t.privileged, w, id, &mut diffs);
            fact(
                &label,
                "network_mode",
                &r.network_mode,
                t.network_mode.clone(),
                w,
                id,
                &mut diffs,
            );
            fact(&label, "pid_mode", &r.pid_mode, mode(&t.pid_mode), w, id, &mut diffs);
            fact(&label, "ipc_mode", &r.ipc_mode, mode(&t.ipc_mode), w, id, &mut diffs);
            fact(&label, "uts_mode", &r.uts_mode, mode(&t.uts_mode), w, id, &mut diffs);
            fact(
                &label,
                "read_only_rootfs",
                &r.read_only_rootfs,
                t.read_only_rootfs,
                w,
                id,
                &mut diffs,
            );
            fact(&label, "runtime", &r.runtime, t.runtime.clone(), w, id, &mut diffs);
            // What truthcheck scores may not be unknown.
            if r.name.is_none() || r.image.is_none() || r.privileged.is_none() {
                diffs.push(format!("{label}: name, image or privileged unknown"));
            }
            match procs.get(&t.pid) {
                Some(p) if r.euid == Some(p.uids[1]) => {}
                p => diffs.push(format!(
                    "{label}: euid {:?}, truth/proc-summary.tsv says {:?}",
                    r.euid,
                    p.map(|p| p.uids[1])
                )),
            }
            // Its root file system: the overlay whose upper layer its own mountinfo names
            // (truth/mountinfo-container-<name>-pid<pid>.txt), merged on the host beside it.
            let mountinfo = capture
                .truth_dir
                .join(format!("mountinfo-container-{}-pid{}.txt", t.name, t.pid));
            let text = std::fs::read_to_string(&mountinfo)
                .unwrap_or_else(|e| panic!("cannot read truth file {}: {e}", mountinfo.display()));
            let layer = text
                .lines()
                .find(|l| l.split(' ').nth(4) == Some("/"))
                .and_then(|l| l.split("upperdir=").nth(1))
                .and_then(|u| u.split(['/', ',']).nth(5))
                .map(|layer| format!("/var/lib/docker/overlay2/{layer}/merged"));
            checks += 1;
            if r.rootfs != layer || layer.is_none() {
                diffs.push(format!(
                    "{label}: rootfs {:?}, {} says {layer:?}",
                    r.rootfs,
                    mountinfo.display()
                ));
            }
            if r.evidence.iter().all(|e| e.fact != "container_id") {
                diffs.push(format!("{label}: no evidence for its id"));
            }
        }
        // Each warning about unknown facts names keys that are null in that container's row.
        for w in &found.warnings {
            let Some((head, keys)) = w.split_once("found in neither the kernel nor dockerd's memory, null: ") else {
                continue;
            };
            checks += 1;
            let row = found.rows.iter().find(|r| head.contains(&r.container_id[..12]));
            let value = row.map(|r| serde_json::to_value(r).expect("rows serialize"));
            for key in keys.split(", ") {
                if !value.as_ref().is_some_and(|v| v[key].is_null()) {
                    diffs.push(format!("{}: warning {w:?}: {key} is not null in the row", capture.name));
                }
            }
        }
        for r in &found.rows {
            checks += 1;
            if !want
                .iter()
                .any(|t| t.id == r.container_id && (t.running || r.state == "stopped"))
            {
                diffs.push(format!(
                    "{}: container {} ({:?}, {}) is not a container docker inspect shows",
                    capture.name, r.container_id, r.name, r.state
                ));
            }
        }
    }
    println!("docker ps: {checks} corpus checks");
    memscope_tests::checks::ran("docker ps", checks);
    assert!(diffs.is_empty(), "{} differences:\n{}", diffs.len(), diffs.join("\n"));
}

fn running(truth: &[TruthContainer]) -> impl Iterator<Item = &TruthContainer> {
    truth.iter().filter(|t| t.running)
}

#[test]
fn caps_mounts_and_networks_match_the_truth() {
    let (mut checks, mut diffs) = (0usize, Vec::new());
    for capture in corpus::corpus_captures() {
        let name = &capture.name;
        let kernel = corpus::kernel(&capture);
        let procs = truth::proc_summary(&capture.truth_dir);
        let want = truth::docker_containers(&capture.truth_dir);
        let caps = docker::caps(&kernel).unwrap_or_else(|e| panic!("{name}: docker caps failed: {e}"));
        for t in running(&want) {
            checks += 1;
            let row = caps.rows.iter().find(|r| r.container_id == t.id);
            let Some(p) = procs.get(&t.pid) else {
                diffs.push(format!(
                    "{name}: {}: pid {} not in truth/proc-summary.tsv",
                    t.name, t.pid
                ));
                continue;
            };
            let bnd = memscope_core::analyses::pslist::cap_names(p.caps[3]);
            match row {
                Some(r) if r.cap_eff == Some(p.caps[2]) && r.cap_bnd_names.as_ref() == Some(&bnd) => {}
                r => diffs.push(format!(
                    "{name}: {}: cap_eff {:?}, CapEff {:#x} CapBnd {:#x} in truth/proc-summary.tsv",
                    t.name,
                    r.map(|r| r.cap_eff),
                    p.caps[2],
                    p.caps[3]
                )),
            }
        }
        let mounts = docker::mounts(&kernel, false).unwrap_or_else(|e| panic!("{name}: docker mounts failed: {e}"));
        for t in running(&want) {
            for (src, dst, rw) in &t.mounts {
                checks += 1;
                let access = if *rw { "rw" } else { "ro" };
                let ok = mounts.rows.iter().any(|r| {
                    r.container_id == t.id
                        && r.container_path == *dst
                        && r.host_path.as_deref() == Some(src.as_str())
                        && r.access == access
                });
                if !ok {
                    diffs.push(format!(
                        "{name}: {}: mount {src} -> {dst} ({access}) missing ({})",
                        t.name,
                        t.file.display()
                    ));
                }
            }
        }
        // A row with a host path is one of Docker's mounts.
        for r in mounts.rows.iter().filter(|r| r.host_path.is_some()) {
            checks += 1;
            let known = want
                .iter()
                .any(|t| t.id == r.container_id && t.mounts.iter().any(|(_, dst, _)| *dst == r.container_path));
            if !known {
                diffs.push(format!(
                    "{name}: mount {} -> {} of {} is not in docker inspect's Mounts",
                    r.host_path.as_deref().unwrap_or_default(),
                    r.container_path,
                    &r.container_id[..12]
                ));
            }
        }
        let nets = docker::networks(&kernel).unwrap_or_else(|e| panic!("{name}: docker networks failed: {e}"));
        let subnets = truth::docker_networks(&capture.truth_dir);
        for t in running(&want) {
            for (net, ip, ipv6, mac) in &t.networks {
                if ip.is_empty() && ipv6.is_empty() {
                    continue; // host and none give no address
                }
                checks += 1;
                let on = nets.rows.iter().find(|n| n.network == *net);
                let member = on.and_then(|n| n.containers.iter().find(|m| m.container_id == t.id));
                let same = member.is_some_and(|m| {
                    m.ip.as_deref().unwrap_or_default() == ip
                        && m.ipv6.as_deref().unwrap_or_default() == ipv6
                        && m.mac.as_deref() == Some(mac.as_str())
                });
                if !same {
                    diffs.push(format!(
                        "{name}: {} on {net}: {member:?}, docker inspect says {ip} {ipv6} {mac}",
                        t.name
                    ));
                }
                let want_subnets = subnets
                    .iter()
                    .find(|(n, _, _)| n == net)
                    .map(|(_, _, s)| s.clone())
                    .unwrap_or_default();
                for s in want_subnets {
                    checks += 1;
                    if !on.is_some_and(|n| n.prefixes.contains(&s)) {
                        diffs.push(format!(
                            "{name}: network {net}: subnet {s} missing (truth/docker/inspect-network-{net}.json)"
                        ));
                    }
                }
            }
            if t.network_mode == "host" {
                checks += 1;
                let host = nets.rows.iter().find(|n| n.network == "host");
                if !host.is_some_and(|n| n.containers.iter().any(|m| m.container_id == t.id)) {
                    diffs.push(format!("{name}: {} is on the host's network, not listed there", t.name));
                }
            }
        }
    }
    println!("docker caps, mounts, networks: {checks} corpus checks");
    memscope_tests::checks::ran("docker caps mounts networks", checks);
    assert!(diffs.is_empty(), "{} differences:\n{}", diffs.len(), diffs.join("\n"));
}

#[test]
fn detect_sees_docker_on_every_capture() {
    let (mut checks, mut diffs) = (0usize, Vec::new());
    for capture in corpus::corpus_captures() {
        let kernel = corpus::kernel(&capture);
        let found = docker::detect(&kernel).unwrap_or_else(|e| panic!("{}: docker detect failed: {e}", capture.name));
        let want = truth::docker_containers(&capture.truth_dir);
        // Each capture runs dockerd with running containers: these signs must all be there.
        for indicator in [
            "dockerd process",
            "containerd process",
            "containerd-shim processes",
            "docker cgroups",
            "container documents in dockerd's memory",
            "docker bridge",
            "overlay mounts under /var/lib/docker",
            "open files under /var/lib/docker/containers",
        ] {
            checks += 1;
            if !found.rows.iter().any(|r| r.indicator == indicator && r.found) {
                diffs.push(format!("{}: {indicator} not found", capture.name));
            }
        }
        // A shim per running container, its id in a cgroup.
        for t in want.iter().filter(|t| t.running) {
            checks += 1;
            let cgroups = found.rows.iter().find(|r| r.indicator == "docker cgroups");
            if !cgroups.is_some_and(|r| r.evidence.iter().any(|e| e.contains(&t.id))) {
                diffs.push(format!("{}: no cgroup names container {}", capture.name, t.name));
            }
        }
        // A veth per container on a bridge (one with an address on a network).
        let bridged = want
            .iter()
            .any(|t| t.running && !t.networks.iter().all(|n| n.1.is_empty()));
        checks += 1;
        if found.rows.iter().any(|r| r.indicator == "container veths" && r.found) != bridged {
            diffs.push(format!(
                "{}: container veths found/not found against the containers' networks",
                capture.name
            ));
        }
    }
    memscope_tests::checks::ran("docker detect", checks);
    assert!(diffs.is_empty(), "{} differences:\n{}", diffs.len(), diffs.join("\n"));
}

#[test]
fn inspect_matches_docker_inspect_and_proc_status() {
    let (mut checks, mut diffs) = (0usize, Vec::new());
    for capture in corpus::corpus_captures() {
        let name = &capture.name;
        let kernel = corpus::kernel(&capture);
        let found = docker::inspect(&kernel, &[]).unwrap_or_else(|e| panic!("{name}: docker inspect failed: {e}"));
        let w = &found.warnings;
        for t in running(&truth::docker_containers(&capture.truth_dir)) {
            let label = format!("{name}: container {} ({})", t.name, t.file.display());
            let Some(r) = found.rows.iter().find(|r| r.container.container_id == t.id) else {
                diffs.push(format!("{label}: missing"));
                continue;
            };
            let id = &t.id;
            checks += 8;
            // The kernel's view of the main process, against /proc/PID/status (truth/proc/<pid>.txt).
            let status = |key: &str| truth::proc_status_field(&capture.truth_dir, t.pid, key);
            let mode = status("Seccomp").map(|m| match m.as_str() {
                "0" => "disabled".to_string(),
                "1" => "strict".to_string(),
                "2" => "filter".to_string(),
                other => other.to_string(),
            });
            if r.seccomp_mode != mode {
                diffs.push(format!("{label}: seccomp {:?}, /proc says {mode:?}", r.seccomp_mode));
            }
            let filters = status("Seccomp_filters").and_then(|f| f.parse().ok());
            if r.seccomp_filters != filters {
                diffs.push(format!(
                    "{label}: seccomp filters {:?}, /proc says {filters:?}",
                    r.seccomp_filters
                ));
            }
            let nnp = status("NoNewPrivs").map(|v| v == "1");
            if r.no_new_privs != nnp {
                diffs.push(format!(
                    "{label}: no_new_privs {:?}, /proc says {nnp:?}",
                    r.no_new_privs
                ));
            }
            if r.apparmor_label.as_deref() != Some(t.apparmor_profile.as_str()) {
                diffs.push(format!(
                    "{label}: AppArmor label {:?}, docker inspect's AppArmorProfile {:?}",
                    r.apparmor_label, t.apparmor_profile
                ));
            }
            // Docker's view, from its documents: equal, or null with a warning.
            let set = |v: &[String]| v.iter().cloned().collect::<std::collections::BTreeSet<String>>();
            let same = |got: &Option<Vec<String>>, want: &[String]| got.as_ref().map(|g| set(g)) == Some(set(want));
            for (key, got, want) in [
                ("env", &r.env, &t.env),
                ("binds", &r.binds, &t.binds),
                ("cap_add", &r.cap_add, &t.cap_add),
                ("cap_drop", &r.cap_drop, &t.cap_drop),
                ("security_opt", &r.security_opt, &t.security_opt),
            ] {
                let warned = got.is_none() && w.iter().any(|l| l.contains(&id[..12]) && l.contains(key));
                if !same(got, want) && !warned {
                    diffs.push(format!("{label}: {key} {got:?}, docker inspect says {want:?}"));
                }
            }
            let warned =
                r.port_bindings.is_none() && w.iter().any(|l| l.contains(&id[..12]) && l.contains("port_bindings"));
            let want_ports = if t.port_bindings.is_null() {
                serde_json::json!({})
            } else {
                t.port_bindings.clone()
            };
            if r.port_bindings.as_ref() != Some(&want_ports) && !warned {
                diffs.push(format!(
                    "{label}: port bindings {:?}, docker inspect says {want_ports}",
                    r.port_bindings
                ));
            }
            let points: Vec<(String, String, bool)> = r
                .mount_points
                .iter()
                .map(|m| (m.source.clone(), m.destination.clone(), m.rw))
                .collect();
            if set(&points.iter().map(|p| format!("{p:?}")).collect::<Vec<_>>())
                != set(&t.mounts.iter().map(|p| format!("{p:?}")).collect::<Vec<_>>())
            {
                diffs.push(format!(
                    "{label}: mount points {points:?}, docker inspect's Mounts {:?}",
                    t.mounts
                ));
            }
        }
    }
    memscope_tests::checks::ran("docker inspect", checks);
    assert!(diffs.is_empty(), "{} differences:\n{}", diffs.len(), diffs.join("\n"));
}

/// The labels the page marks pids and namespaces with: every process alive at the dump (the last ps
/// before it, less what none of Volatility 3's listings holds) that descends from a running container's
/// main process (by its ppid chain in proc-summary.tsv) labelled with that container, every
/// namespace of pid 1 labelled `host`, and each container main process's other namespaces labelled with
/// its name.
#[test]
fn labels_name_each_process_and_namespace_as_the_truth_does() {
    let (mut checks, mut diffs) = (0usize, Vec::new());
    for capture in corpus::corpus_captures() {
        let kernel = corpus::kernel(&capture);
        let (labels, warnings) =
            docker::labels(&kernel).unwrap_or_else(|e| panic!("{}: labels failed: {e}", capture.name));
        if !warnings.is_empty() {
            diffs.push(format!("{}: warnings on an intact capture: {warnings:?}", capture.name));
        }
        let procs = truth::proc_summary(&capture.truth_dir);
        let containers: Vec<_> = running(&truth::docker_containers(&capture.truth_dir))
            .cloned()
            .collect();
        let container_of = |mut pid: u32| {
            for _ in 0..64 {
                if let Some(c) = containers.iter().find(|c| c.pid == pid) {
                    return Some(c);
                }
                pid = procs.get(&pid)?.ppid;
            }
            None
        };
        let host = &procs[&1].ns;
        let alive = truth::final_ps_pids_at_dump(&capture.truth_dir);
        for p in procs.values().filter(|p| alive.contains(&p.pid)) {
            checks += 1;
            let got = labels.container_of(p.pid).map(|c| c.container_id.as_str());
            let want = container_of(p.pid).map(|c| c.id.as_str());
            if got != want {
                diffs.push(format!(
                    "{}: pid {} ({}) in {got:?}, its parents say {want:?}",
                    capture.name, p.pid, p.name
                ));
            }
        }
        for (kind, inode) in host {
            checks += 1;
            if labels.namespace(*inode) != Some(docker::labels::HOST) {
                diffs.push(format!(
                    "{}: host {kind} namespace {inode} labelled {:?}",
                    capture.name,
                    labels.namespace(*inode)
                ));
            }
        }
        for c in &containers {
            let Some(p) = procs.get(&c.pid) else {
                diffs.push(format!(
                    "{}: container {}'s pid {} not in proc-summary.tsv",
                    capture.name, c.name, c.pid
                ));
                continue;
            };
            for (kind, inode) in p.ns.iter().filter(|(k, i)| host.get(*k) != Some(i)) {
                checks += 1;
                let label = labels.namespace(*inode).unwrap_or_default();
                if !label.split(", ").any(|n| n == c.name) {
                    diffs.push(format!(
                        "{}: {} {kind} namespace {inode} labelled {label:?}",
                        capture.name, c.name
                    ));
                }
            }
        }
    }
    memscope_tests::checks::ran("docker labels", checks);
    assert!(diffs.is_empty(), "{} differences:\n{}", diffs.len(), diffs.join("\n"));
}
