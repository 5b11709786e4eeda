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
//! module that taints the kernel).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::{envars, ifconfig, lsmod, lsof, netstat, psaux, pslist, Analysis};
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

/// Every finding the other analyses' rows show; an analysis that cannot run costs its findings, with a
/// warning.
pub fn findings(kernel: &Kernel) -> Result<Analysis<Finding>, KernelError> {
    let mut out = Vec::new();
    let mut warnings = Vec::new();
    // What an analysis could not read, the findings drawn from it may lack: its warnings are passed on.
    let mut rows_of = |name: &str, found: Result<Analysis<Value>, KernelError>| match found {
        Ok(found) => {
            warnings.extend(found.warnings.iter().map(|w| format!("{name}: {w}")));
            Some(found.rows)
        }
        Err(e) => {
            warnings.push(format!("{name} could not run ({e}): its findings are missing"));
            None
        }
    };
    fn typed<T: Serialize>(found: Result<Analysis<T>, KernelError>) -> Result<Analysis<Value>, KernelError> {
        let found = found?;
        Ok(Analysis {
            rows: crate::export::to_values(&found.rows).map_err(|e| KernelError::Layout(e.to_string()))?,
            warnings: found.warnings,
        })
    }
    let procs = rows_of("pslist", typed(pslist::pslist(kernel, &pslist::Options::default())));
    let cmdlines = rows_of("psaux", typed(psaux::psaux(kernel)));
    let files = rows_of("lsof", typed(lsof::lsof(kernel, &lsof::Options::default())));
    let sockets = rows_of("netstat", typed(netstat::netstat(kernel, &netstat::Options::default())));
    let links = rows_of("ifconfig", typed(ifconfig::ifconfig(kernel)));
    let environment = rows_of("envars", typed(envars::envars(kernel)));
    let modules = rows_of("lsmod", typed(lsmod::lsmod(kernel)));

    let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let n = |v: &Value, k: &str| v.get(k).and_then(Value::as_i64);

    for p in procs.iter().flatten() {
        let (pid, comm) = (n(p, "pid").unwrap_or(-1), s(p, "comm").unwrap_or_default());
        if p.get("in_task_list") == Some(&Value::Bool(false)) {
            out.push(Finding {
                severity: Severity::High,
                kind: "hidden_process",
                summary: format!("process {pid} ({comm}) is in the PID table but not in the task list"),
                evidence: vec![evidence("pslist", &[("pid", pid.into())])],
            });
        }
        let kernel_like = KERNEL_THREAD_PREFIXES.iter().any(|k| comm.starts_with(k))
            || (comm.starts_with('[') && comm.ends_with(']'));
        if p.get("kernel_thread") == Some(&Value::Bool(false)) && kernel_like {
            out.push(Finding {
                severity: Severity::High,
                kind: "masquerade",
                summary: format!("user process {pid} is named {comm}, like a kernel thread"),
                evidence: vec![evidence("pslist", &[("pid", pid.into())])],
            });
        }
    }
    for c in cmdlines.iter().flatten() {
        let args: Vec<String> = c
            .get("args")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
            .unwrap_or_default();
        if let Some(program) = handed_program(&args) {
            let pid = n(c, "pid").unwrap_or(-1);
            let (severity, what) = if is_shell(&program) {
                (Severity::High, "a shell")
            } else {
                (Severity::Medium, "a program")
            };
            out.push(Finding {
                severity,
                kind: "shell_on_socket",
                summary: format!(
                    "process {pid} hands {what} ({program}) to whoever connects: {}",
                    s(c, "cmdline").unwrap_or_default()
                ),
                evidence: vec![evidence("psaux", &[("pid", pid.into())])],
            });
        }
    }
    // A shell whose standard input, output or error is a network socket (a reverse or bind shell; a
    // service's output to journald is a UNIX socket, and no finding).
    let network_sockets: BTreeMap<i64, &Value> = sockets
        .iter()
        .flatten()
        .filter(|k| matches!(s(k, "family").as_deref(), Some("inet" | "inet6")))
        .filter_map(|k| Some((n(k, "inode")?, k)))
        .collect();
    let mut socket_stdio: BTreeMap<i64, (String, Vec<i64>, &Value)> = BTreeMap::new();
    for f in files.iter().flatten() {
        let (pid, fd) = (n(f, "pid").unwrap_or(-1), n(f, "fd").unwrap_or(-1));
        let comm = s(f, "comm").unwrap_or_default();
        let socket = n(f, "inode").and_then(|i| network_sockets.get(&i));
        if let (true, true, Some(socket)) = ((0..=2).contains(&fd), is_shell(&comm), socket) {
            socket_stdio
                .entry(pid)
                .or_insert_with(|| (comm, Vec::new(), socket))
                .1
                .push(fd);
        }
    }
    for (pid, (comm, fds, socket)) in socket_stdio {
        let fds: Vec<String> = fds.iter().map(i64::to_string).collect();
        out.push(Finding {
            severity: Severity::High,
            kind: "shell_on_socket",
            summary: format!(
                "{comm} (pid {pid}) has a network socket ({} {}:{} - {}:{}) on fd {}",
                s(socket, "proto").unwrap_or_default(),
                s(socket, "local_addr").unwrap_or_default(),
                n(socket, "local_port").unwrap_or(0),
                s(socket, "remote_addr").unwrap_or_default(),
                n(socket, "remote_port").unwrap_or(0),
                fds.join(", ")
            ),
            evidence: vec![
                evidence("lsof", &[("pid", pid.into())]),
                evidence(
                    "netstat",
                    &[("inode", socket.get("inode").cloned().unwrap_or(Value::Null))],
                ),
            ],
        });
    }
    for k in sockets.iter().flatten() {
        if s(k, "proto").as_deref() == Some("tcp")
            && s(k, "state").as_deref() == Some("LISTEN")
            && k.get("pid").is_some_and(Value::is_null)
        {
            let port = n(k, "local_port").unwrap_or(-1);
            out.push(Finding {
                severity: Severity::Medium,
                kind: "unowned_listener",
                summary: format!(
                    "TCP {}:{port} listens, held by no process",
                    s(k, "local_addr").unwrap_or_default()
                ),
                evidence: vec![evidence(
                    "netstat",
                    &[
                        ("inode", k.get("inode").cloned().unwrap_or(Value::Null)),
                        ("local_port", port.into()),
                    ],
                )],
            });
        }
    }
    for l in links.iter().flatten() {
        if l.get("promiscuous") != Some(&Value::Bool(true)) {
            continue;
        }
        let (index, netns, name) = (n(l, "index"), n(l, "netns"), s(l, "name").unwrap_or_default());
        // The packet sockets bound to it (or to every interface) in its namespace: a sniffer's.
        let holders: Vec<&Value> = sockets
            .iter()
            .flatten()
            .filter(|k| s(k, "proto").as_deref() == Some("packet") && n(k, "netns") == netns)
            .filter(|k| n(k, "ifindex") == index || n(k, "ifindex") == Some(0))
            .filter(|k| n(k, "protocol") == Some(ETH_P_ALL))
            .collect();
        if holders.is_empty() {
            continue; // a bridge port: the bridge keeps it promiscuous
        }
        let who: Vec<String> = holders
            .iter()
            .map(|k| {
                format!(
                    "{} (pid {})",
                    s(k, "comm").unwrap_or_default(),
                    n(k, "pid").unwrap_or(-1)
                )
            })
            .collect();
        let mut ev = vec![evidence(
            "ifconfig",
            &[("name", name.clone().into()), ("netns", netns.into())],
        )];
        ev.extend(holders.iter().map(|k| {
            evidence(
                "netstat",
                &[
                    ("pid", k.get("pid").cloned().unwrap_or(Value::Null)),
                    ("inode", k.get("inode").cloned().unwrap_or(Value::Null)),
                ],
            )
        }));
        out.push(Finding {
            severity: Severity::Medium,
            kind: "promiscuous_interface",
            summary: format!("{name} is in promiscuous mode, captured by {}", who.join(", ")),
            evidence: ev,
        });
    }
    for e in environment.iter().flatten() {
        let name = s(e, "name").unwrap_or_default();
        if name == "LD_PRELOAD" || name == "LD_AUDIT" {
            let pid = n(e, "pid").unwrap_or(-1);
            out.push(Finding {
                severity: Severity::High,
                kind: "preload_environment",
                summary: format!(
                    "process {pid} ({}) runs with {name}={}",
                    s(e, "comm").unwrap_or_default(),
                    s(e, "value").unwrap_or_default()
                ),
                evidence: vec![evidence("envars", &[("pid", pid.into()), ("name", name.into())])],
            });
        }
    }
    for m in modules.iter().flatten() {
        let taints = s(m, "taints").unwrap_or_default();
        if !taints.is_empty() {
            let name = s(m, "name").unwrap_or_default();
            out.push(Finding {
                severity: Severity::Medium,
                kind: "kernel_taint",
                summary: format!("module {name} taints the kernel ({taints})"),
                evidence: vec![evidence("lsmod", &[("name", name.into())])],
            });
        }
    }
    out.sort_by(|a, b| a.severity.cmp(&b.severity).then(a.kind.cmp(b.kind)));
    Ok(Analysis { rows: out, warnings })
}

/// `ETH_P_ALL`: a packet socket that takes every frame, as a sniffer's does.
const ETH_P_ALL: i64 = 3;

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
