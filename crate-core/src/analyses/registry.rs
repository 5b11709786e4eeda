//! Every analysis a front end can offer, by name, with its title and default table columns: the web app
//! lists and runs analyses from here, so an analysis added to the core needs one entry here and nothing
//! in the UI.

use serde::Serialize;
use serde_json::Value;

use super::{arp, dmesg, envars, ifconfig, lsof, netstat, psaux, pslist, routes, Analysis};
use crate::kernel::{Kernel, KernelError};

/// One analysis as a front end sees it.
pub struct Spec {
    /// The CLI subcommand and stable identifier (`pslist`).
    pub name: &'static str,
    /// A short title for a tab or heading (`Processes`).
    pub title: &'static str,
    /// What it shows, in one sentence.
    pub description: &'static str,
    /// Default table columns (flattened keys, as CSV names them); rows carry more keys.
    pub columns: &'static [&'static str],
    /// Run it with default options.
    run: fn(&Kernel) -> Result<Analysis<Value>, KernelError>,
}

impl Spec {
    /// Run the analysis with its default options; rows as JSON objects.
    pub fn run(&self, kernel: &Kernel) -> Result<Analysis<Value>, KernelError> {
        (self.run)(kernel)
    }
}

impl std::fmt::Debug for Spec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spec").field("name", &self.name).finish_non_exhaustive()
    }
}

/// Typed rows as JSON objects.
fn values<T: Serialize>(found: Analysis<T>) -> Result<Analysis<Value>, KernelError> {
    let rows = found
        .rows
        .iter()
        .map(serde_json::to_value)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| KernelError::Layout(format!("rows do not serialize: {e}")))?;
    Ok(Analysis {
        rows,
        warnings: found.warnings,
    })
}

/// Every analysis, in the order a front end shows them.
pub const ANALYSES: &[Spec] = &[
    Spec {
        name: "pslist",
        title: "Processes",
        description:
            "Processes from the kernel's task list and PID table, with start times, namespaces, credentials and capabilities.",
        columns: &[
            "pid",
            "ppid",
            "comm",
            "name",
            "start_time",
            "kernel_thread",
            "uid",
            "euid",
            "pid_in_ns",
            "ns.net",
            "ns.pid",
            "ns.mnt",
            "cap_eff_names",
        ],
        run: |k| values(pslist::pslist(k, &pslist::Options::default())?),
    },
    Spec {
        name: "psaux",
        title: "Command lines",
        description: "Each process's arguments, read from its own memory (as /proc/PID/cmdline and ps -o args show them).",
        columns: &["pid", "ppid", "comm", "cmdline"],
        run: |k| values(psaux::psaux(k)?),
    },
    Spec {
        name: "envars",
        title: "Environment",
        description: "Each process's environment variables, read from its own memory (as /proc/PID/environ shows them).",
        columns: &["pid", "comm", "name", "value"],
        run: |k| values(envars::envars(k)?),
    },
    Spec {
        name: "pstree",
        title: "Process tree",
        description: "Processes by parent, with their depth in the tree.",
        columns: &[
            "depth",
            "pid",
            "ppid",
            "comm",
            "name",
            "start_time",
            "uid",
            "ns.pid",
            "ns.net",
        ],
        run: |k| values(pslist::pstree(k, &pslist::Options::default())?),
    },
    Spec {
        name: "lsof",
        title: "Open files",
        description: "Every open file descriptor of every process, with the path as the process sees it.",
        columns: &["pid", "comm", "fd", "file_type", "mode_str", "inode", "size", "path"],
        run: |k| values(lsof::lsof(k, &[])?),
    },
    Spec {
        name: "netstat",
        title: "Sockets",
        description: "Sockets with their owning process, address, port and state, in every network namespace.",
        columns: &[
            "netns",
            "proto",
            "family",
            "local_addr",
            "local_port",
            "remote_addr",
            "remote_port",
            "state",
            "pid",
            "comm",
            "fd",
            "inode",
            "path",
        ],
        run: |k| values(netstat::netstat(k, netstat::NetstatOptions::default())?),
    },
    Spec {
        name: "ifconfig",
        title: "Interfaces",
        description: "Network interfaces of every network namespace: addresses, MAC, flags, MTU, promiscuous mode.",
        columns: &[
            "netns",
            "index",
            "name",
            "mac",
            "addresses",
            "flags",
            "mtu",
            "promiscuous",
            "promiscuity",
            "operstate",
        ],
        run: |k| values(ifconfig::ifconfig(k)?),
    },
    Spec {
        name: "arp",
        title: "Neighbours",
        description: "ARP and IPv6 neighbour tables of every network namespace.",
        columns: &["netns", "family", "ip", "mac", "device", "state"],
        run: |k| values(arp::arp(k)?),
    },
    Spec {
        name: "routes",
        title: "Routes",
        description: "IPv4 and IPv6 routing tables of every network namespace.",
        columns: &[
            "netns",
            "family",
            "table",
            "type",
            "destination",
            "gateway",
            "device",
            "metric",
            "protocol",
        ],
        run: |k| values(routes::routes(k)?),
    },
    Spec {
        name: "dmesg",
        title: "Kernel log",
        description: "The kernel's log buffer: time since boot, level, facility and text.",
        columns: &["timestamp", "level", "facility", "caller", "text"],
        run: |k| values(dmesg::dmesg(k)?),
    },
];

/// The analysis of this name.
pub fn find(name: &str) -> Option<&'static Spec> {
    ANALYSES.iter().find(|s| s.name == name)
}
