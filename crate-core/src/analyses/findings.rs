//! `findings`: what an investigator should look at first, drawn from the other analyses' rows (never from
//! memory they did not read), each with its severity, a stable kind, one line of summary and the rows it
//! stands on.
//!
//! Kinds so far: `hidden_process` (in the PID table, not the task list), `masquerade` (a user process named
//! like a kernel thread), `shell_on_socket` (a shell or interpreter whose standard input or output is a
//! socket; a listener whose command line hands a program to whoever connects: nc, ncat or netcat with `-e`
//! or `-c`, socat with `EXEC:` or `SYSTEM:`), `unowned_listener` (a TCP listener no process holds),
//! `promiscuous_interface` (an interface in promiscuous mode and the process whose packet socket holds it
//! there; a bridge port, which the bridge makes promiscuous, holds no packet socket and is no finding),
//! `preload_environment` (`LD_PRELOAD` or `LD_AUDIT` in a process's environment) and `kernel_taint` (a
//! module that taints the kernel), `privileged_container` (a Docker container run `--privileged`) and
//! `docker_socket_mount` (a container that mounts the container engine's socket: control of the host).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::{docker, envars, ifconfig, lsmod, lsof, netstat, psaux, pslist, Analysis};
use crate::kernel::{Kernel, KernelError};

/// How much a finding matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Look now: a hidden process, a shell handed to the network, a preloaded library.
    High,
    /// Worth a look: a sniffer, a listener nobody holds, a tainted kernel.
    Medium,
    /// Unusual but often harmless.
    Low,
    /// Context.
    Info,
}

/// The rows a finding stands on: the analysis and the keys that pick them (`{"pid": 982}`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evidence {
    /// The analysis the rows come from.
    pub analysis: &'static str,
    /// Keys and values that select its rows.
    pub keys: BTreeMap<&'static str, Value>,
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// How much it matters.
    pub severity: Severity,
    /// What kind of finding (stable, snake_case).
    pub kind: &'static str,
    /// One line for people.
    pub summary: String,
    /// The rows it stands on.
    pub evidence: Vec<Evidence>,
}

fn evidence(analysis: &'static str, keys: &[(&'static str, Value)]) -> Evidence {
    Evidence {
        analysis,
        keys: keys.iter().cloned().collect(),
    }
}

/// Kernel thread names a user process may borrow to hide among them.
const KERNEL_THREAD_PREFIXES: &[&str] = &[
    "kworker",
    "kthreadd",
    "ksoftirqd",
    "migration",
    "rcu_",
    "watchdog",
    "kswapd",
    "jbd2",
    "kcompactd",
    "khugepaged",
    "kauditd",
    "kdevtmpfs",
    "cpuhp",
    "irq/",
    "scsi_",
    "kblockd",
    "oom_reaper",
];

/// Programs that run what they are given: a shell or an interpreter.
const SHELLS: &[&str] = &[
    "sh", "bash", "dash", "ash", "zsh", "ksh", "csh", "tcsh", "fish", "busybox", "python", "python2", "python3",
    "perl", "ruby", "php", "lua", "node",
];

fn is_shell(program: &str) -> bool {
    let base = program.rsplit('/').next().unwrap_or(program);
    SHELLS.contains(&base) || base.starts_with("python3.")
}

/// What a command line hands to whoever connects: the program after nc's `-e`/`-c`, or socat's
/// `EXEC:`/`SYSTEM:` address.
fn handed_program(args: &[String]) -> Option<String> {
    let program = args.first()?.rsplit('/').next()?;
    match program {
        "nc" | "ncat" | "netcat" | "nc.traditional" | "nc.openbsd" => {
            let at = args
                .iter()
                .position(|a| a == "-e" || a == "-c" || a == "--exec" || a == "--sh-exec")?;
            Some(args.get(at + 1).cloned().unwrap_or_default())
        }
        "socat" => args.iter().skip(1).find_map(|a| {
            let upper = a.to_uppercase();
            ["EXEC:", "SYSTEM:"]
                .iter()
                .find(|p| upper.starts_with(*p))
                .map(|p| a[p.len()..].split([',', ' ']).next().unwrap_or_default().to_string())
        }),
        _ => None,
    }
}

/// The rows of one analysis the findings read; its warnings passed on (what it could not read, the findings
/// drawn from it may lack), or, where it could not run at all, none and a warning saying so.
fn rows_of<T>(name: &str, found: Result<Analysis<T>, KernelError>, warnings: &mut Vec<String>) -> Vec<T> {
    match found {
        Ok(found) => {
            warnings.extend(found.warnings.iter().map(|w| format!("{name}: {w}")));
            found.rows
        }
        Err(e) => {
            warnings.push(format!("{name} could not run ({e}): its findings are missing"));
            Vec::new()
        }
    }
}

/// Every finding the other analyses' rows show; an analysis that cannot run costs its findings, with a
/// warning.
pub fn findings(kernel: &Kernel) -> Result<Analysis<Finding>, KernelError> {
    let mut out = Vec::new();
    let mut warnings = Vec::new();
    let procs = rows_of(
        "pslist",
        pslist::pslist(kernel, &pslist::Options::default()),
        &mut warnings,
    );
    let cmdlines = rows_of("psaux", psaux::psaux(kernel), &mut warnings);
    let files = rows_of("lsof", lsof::lsof(kernel, &lsof::Options::default()), &mut warnings);
    let sockets = rows_of(
        "netstat",
        netstat::netstat(kernel, &netstat::Options::default()),
        &mut warnings,
    );
    let links = rows_of("ifconfig", ifconfig::ifconfig(kernel), &mut warnings);
    let environment = rows_of("envars", envars::envars(kernel), &mut warnings);
    let modules = rows_of("lsmod", lsmod::lsmod(kernel), &mut warnings);
    let containers = rows_of("docker", docker::containers_and_mounts(kernel), &mut warnings);

    for p in &procs {
        let (pid, comm) = (p.pid, &p.comm);
        if !p.in_task_list {
            out.push(Finding {
                severity: Severity::High,
                kind: "hidden_process",
                summary: format!("process {pid} ({comm}) is in the PID table but not in the task list"),
                evidence: vec![evidence("pslist", &[("pid", pid.into())])],
            });
        }
        // A program whose file was deleted after it started, or that runs from a memfd (fileless).
        if let Some(exe) = p
            .exe
            .as_deref()
            .filter(|e| e.ends_with(" (deleted)") || e.starts_with("/memfd:"))
        {
            out.push(Finding {
                severity: Severity::High,
                kind: "deleted_executable",
                summary: format!("process {pid} ({comm}) runs {exe}"),
                evidence: vec![evidence("pslist", &[("pid", pid.into()), ("exe", exe.into())])],
            });
        }
        let kernel_like = KERNEL_THREAD_PREFIXES.iter().any(|k| comm.starts_with(k))
            || (comm.starts_with('[') && comm.ends_with(']'));
        if !p.kernel_thread && kernel_like {
            out.push(Finding {
                severity: Severity::High,
                kind: "masquerade",
                summary: format!("user process {pid} is named {comm}, like a kernel thread"),
                evidence: vec![evidence("pslist", &[("pid", pid.into())])],
            });
        }
    }
    for c in &cmdlines {
        let Some(program) = c.args.as_deref().and_then(handed_program) else {
            continue;
        };
        let (severity, what) = if is_shell(&program) {
            (Severity::High, "a shell")
        } else {
            (Severity::Medium, "a program")
        };
        out.push(Finding {
            severity,
            kind: "shell_on_socket",
            summary: format!(
                "process {} hands {what} ({program}) to whoever connects: {}",
                c.pid,
                c.cmdline.as_deref().unwrap_or_default()
            ),
            evidence: vec![evidence("psaux", &[("pid", c.pid.into())])],
        });
    }
    // A shell whose standard input, output or error is a network socket (a reverse or bind shell; a
    // service's output to journald is a UNIX socket, and no finding).
    let network_sockets: BTreeMap<u64, &netstat::SocketRow> = sockets
        .iter()
        .filter(|k| matches!(k.family.as_deref(), Some("inet" | "inet6")))
        .filter_map(|k| Some((k.inode?, k)))
        .collect();
    let mut socket_stdio: BTreeMap<u32, (&str, Vec<u32>, &netstat::SocketRow)> = BTreeMap::new();
    for f in &files {
        let comm = f.comm.as_deref().unwrap_or_default();
        let socket = f.inode.and_then(|i| network_sockets.get(&i));
        if let (true, true, Some(&socket)) = (f.fd <= 2, is_shell(comm), socket) {
            socket_stdio
                .entry(f.pid)
                .or_insert_with(|| (comm, Vec::new(), socket))
                .1
                .push(f.fd);
        }
    }
    for (pid, (comm, fds, socket)) in socket_stdio {
        let fds: Vec<String> = fds.iter().map(u32::to_string).collect();
        out.push(Finding {
            severity: Severity::High,
            kind: "shell_on_socket",
            summary: format!(
                "{comm} (pid {pid}) has a network socket ({} {}:{} - {}:{}) on fd {}",
                socket.proto.as_deref().unwrap_or_default(),
                socket.local_addr.as_deref().unwrap_or_default(),
                socket.local_port.unwrap_or(0),
                socket.remote_addr.as_deref().unwrap_or_default(),
                socket.remote_port.unwrap_or(0),
                fds.join(", ")
            ),
            evidence: vec![
                evidence("lsof", &[("pid", pid.into())]),
                evidence("netstat", &[("inode", socket.inode.into())]),
            ],
        });
    }
    for k in &sockets {
        if k.proto.as_deref() == Some("tcp") && k.state.as_deref() == Some("LISTEN") && k.pid.is_none() {
            let port = k.local_port.unwrap_or(0);
            out.push(Finding {
                severity: Severity::Medium,
                kind: "unowned_listener",
                summary: format!(
                    "TCP {}:{port} listens, held by no process",
                    k.local_addr.as_deref().unwrap_or_default()
                ),
                evidence: vec![evidence(
                    "netstat",
                    &[("inode", k.inode.into()), ("local_port", port.into())],
                )],
            });
        }
    }
    for l in links.iter().filter(|l| l.promiscuous) {
        // The packet sockets bound to it (or to every interface) in its namespace: a sniffer's.
        let holders: Vec<&netstat::SocketRow> = sockets
            .iter()
            .filter(|k| k.proto.as_deref() == Some("packet") && k.netns == l.netns)
            .filter(|k| k.ifindex.is_some_and(|i| i64::from(i) == l.index || i == 0))
            .filter(|k| k.protocol == Some(ETH_P_ALL))
            .collect();
        if holders.is_empty() {
            continue; // a bridge port: the bridge keeps it promiscuous
        }
        let who: Vec<String> = holders
            .iter()
            .map(|k| {
                format!(
                    "{} (pid {})",
                    k.comm.as_deref().unwrap_or_default(),
                    k.pid.map_or(-1, i64::from)
                )
            })
            .collect();
        let mut ev = vec![evidence(
            "ifconfig",
            &[("name", l.name.clone().into()), ("netns", l.netns.into())],
        )];
        ev.extend(
            holders
                .iter()
                .map(|k| evidence("netstat", &[("pid", k.pid.into()), ("inode", k.inode.into())])),
        );
        out.push(Finding {
            severity: Severity::Medium,
            kind: "promiscuous_interface",
            summary: format!("{} is in promiscuous mode, captured by {}", l.name, who.join(", ")),
            evidence: ev,
        });
    }
    for e in environment
        .iter()
        .filter(|e| e.name == "LD_PRELOAD" || e.name == "LD_AUDIT")
    {
        out.push(Finding {
            severity: Severity::High,
            kind: "preload_environment",
            summary: format!(
                "process {} ({}) runs with {}={}",
                e.pid,
                e.comm.as_deref().unwrap_or_default(),
                e.name,
                e.value.as_deref().unwrap_or_default()
            ),
            evidence: vec![evidence(
                "envars",
                &[("pid", e.pid.into()), ("name", e.name.clone().into())],
            )],
        });
    }
    for m in modules.iter().filter(|m| !m.taints.is_empty()) {
        out.push(Finding {
            severity: Severity::Medium,
            kind: "kernel_taint",
            summary: format!("module {} taints the kernel ({})", m.name, m.taints),
            evidence: vec![evidence("lsmod", &[("name", m.name.clone().into())])],
        });
    }
    for (c, mounts) in &containers {
        let name = c.name.as_deref().unwrap_or("?");
        let short = &c.container_id[..12];
        let keys = |extra: &[(&'static str, Value)]| {
            let mut k = vec![("container_id", Value::from(c.container_id.clone()))];
            k.extend_from_slice(extra);
            evidence("docker-ps", &k)
        };
        if c.privileged == Some(true) {
            out.push(Finding {
                severity: Severity::High,
                kind: "privileged_container",
                summary: format!(
                    "container {name} ({short}) runs --privileged: every capability, every device, no confinement"
                ),
                evidence: vec![keys(&[("name", name.into())])],
            });
        }
        for m in mounts {
            let socket = [m.host_path.as_deref(), m.host_path_kernel.as_deref()]
                .into_iter()
                .flatten()
                .find(|p| p.ends_with("/docker.sock") || p.ends_with("/containerd.sock"));
            if let Some(socket) = socket {
                out.push(Finding {
                    severity: Severity::High,
                    kind: "docker_socket_mount",
                    summary: format!(
                        "container {name} ({short}) mounts the engine's socket {socket} at {} ({}): it can start \
                         containers on the host",
                        m.container_path, m.access
                    ),
                    evidence: vec![evidence(
                        "docker-mounts",
                        &[
                            ("container_id", c.container_id.clone().into()),
                            ("container_path", m.container_path.clone().into()),
                        ],
                    )],
                });
            }
        }
    }
    out.sort_by(|a, b| a.severity.cmp(&b.severity).then(a.kind.cmp(b.kind)));
    Ok(Analysis { rows: out, warnings })
}

/// `ETH_P_ALL`: a packet socket that takes every frame, as a sniffer's does.
const ETH_P_ALL: u16 = 3;

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split(' ').map(str::to_string).collect()
    }

    #[test]
    fn listeners_that_hand_out_programs_are_recognised() {
        assert_eq!(
            handed_program(&words("nc -ll -p 4444 -e /bin/sh")),
            Some("/bin/sh".into())
        );
        assert_eq!(
            handed_program(&words("/usr/bin/ncat -l 8080 --sh-exec bash")),
            Some("bash".into())
        );
        assert_eq!(
            handed_program(&words("socat TCP-LISTEN:5353 EXEC:/bin/bash,pty")),
            Some("/bin/bash".into())
        );
        assert_eq!(handed_program(&words("socat UDP-RECV:5353 STDOUT")), None);
        assert_eq!(handed_program(&words("nc -lk 6000")), None);
        assert!(is_shell("/bin/sh") && is_shell("python3.11") && !is_shell("/bin/sink.sh"));
    }
}
