//! Every analysis a front end can offer, with everything a front end needs to offer it: name, title,
//! description, options, table columns and column sets, whether its rows form a tree, and how to run it.
//! The CLI builds its subcommands and flags from here and the web app its tabs and controls, so an
//! analysis added to the core is one module and one [`Spec`] in [`ANALYSES`], and nothing else.

mod files_options;
mod options;

use serde::Serialize;
use serde_json::Value;

pub use options::{ColumnSet, OptionError, OptionKind, OptionSpec, OptionValue, Options};

pub use super::FileSink;
use super::{
    arp, dmesg, docker, envars, files, findings, ifconfig, lsmod, lsof, mounts, netstat, psaux, pslist, queues, routes,
    skbuff, Analysis,
};
use crate::kernel::{Kernel, KernelError};

/// One analysis as a front end sees it.
#[derive(Debug)]
pub struct Spec {
    /// The CLI subcommand and stable identifier (`pslist`).
    pub name: &'static str,
    /// A short title for a tab or heading (`Processes`).
    pub title: &'static str,
    /// What it shows, in one sentence.
    pub description: &'static str,
    /// Its options (flags on the command line, controls above the page's table).
    pub options: &'static [OptionSpec],
    /// Default table columns (flattened keys, as CSV names them); rows carry more keys.
    pub columns: &'static [&'static str],
    /// Extra columns a user may ask the table for.
    pub column_sets: &'static [ColumnSet],
    /// Set when rows come in depth-first order of a tree.
    pub tree: Option<Tree>,
    /// Text renderings of the rows besides JSON and CSV (`--format bodyfile`).
    pub formats: &'static [TextFormat],
    /// What a front end offers on one row (the page: buttons in its details).
    pub row_actions: &'static [RowAction],
    /// Rows, or sub-views.
    pub body: Body,
}

/// A text rendering of an analysis's rows besides JSON and CSV, for a tool that reads that format
/// (`--format bodyfile` for `mactime`): a `--format` value on the command line, an export in the page.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct TextFormat {
    /// The `--format` value and the export's label.
    pub name: &'static str,
    /// What reads it, in one line.
    pub help: &'static str,
    /// The export file's extension.
    pub extension: &'static str,
    /// Renders the rows.
    #[serde(skip)]
    pub render: fn(&[Value]) -> String,
}

/// A run of the analysis for one row: option `option` set to the row's `key`, and the output option
/// `output` on where there is one (`files`: read this row's file back, offered as a download; list what
/// is under this row's path).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct RowAction {
    /// The button's label.
    pub label: &'static str,
    /// The row's key whose value the option takes.
    pub key: &'static str,
    /// The option it sets.
    pub option: &'static str,
    /// The output option it turns on, if any.
    pub output: Option<&'static str>,
}

/// Rows that form a tree: each row's depth is a key, and one column is indented by it.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Tree {
    /// The key holding a row's depth (0 for a root).
    pub depth: &'static str,
    /// The column indented by depth.
    pub label: &'static str,
}

/// How an analysis runs: `fn(kernel, options) -> output`, options already checked against its spec.
pub type RunFn = fn(&Kernel, &Options) -> Result<Output, RunError>;

/// What a spec holds.
#[derive(Debug)]
pub enum Body {
    /// It gives rows itself.
    Rows(RunFn),
    /// It is a group of sub-views run by name (`memscope docker ps CAPTURE`).
    Views(&'static [Spec]),
}

/// What a run gives: rows as JSON objects, warnings, and any files it was asked to write.
#[derive(Debug, Clone, Default)]
pub struct Output {
    /// The rows, in the analysis's order.
    pub rows: Vec<Value>,
    /// One line per problem met; the rows are still good.
    pub warnings: Vec<String>,
    /// Files for output-path options (`--dump DIR`): the CLI writes them, the page offers them as
    /// downloads.
    pub files: Vec<OutputFile>,
    /// Files of a directory option too many or too large to hold, written one at a time when a front end
    /// asks (files recovered from the page cache).
    pub stream: Option<FileStream>,
}

/// Writes the files of a directory option one at a time, reading each from the kernel as it goes:
/// the run holds none of their bytes, a front end holds one piece at a time.
pub type WriteFiles = dyn Fn(&Kernel, &mut dyn FileSink) -> Result<Vec<String>, RunError>;

/// Files of a directory option, written when a front end asks ([`FileStream::write`] gives the warnings
/// of the writing).
#[derive(Clone)]
pub struct FileStream {
    /// The option they are for.
    pub option: &'static str,
    /// How many files will be written.
    pub count: usize,
    /// Writes them.
    pub write: std::rc::Rc<WriteFiles>,
}

impl std::fmt::Debug for FileStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileStream")
            .field("option", &self.option)
            .field("count", &self.count)
            .finish_non_exhaustive()
    }
}

/// One file an analysis produced for an output-path option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputFile {
    /// The option it is for.
    pub option: &'static str,
    /// Its name: inside the option's directory for a directory option; for a file option, the name a
    /// download gets (the CLI writes to the path given).
    pub name: String,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// Why a run gave nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunError {
    /// The options do not fit the analysis (bad usage).
    #[error(transparent)]
    Options(#[from] OptionError),
    /// The kernel could not be read for it.
    #[error(transparent)]
    Kernel(#[from] KernelError),
    /// A group of views was run without naming one.
    #[error("{0} has views: name one of {1}")]
    NoView(&'static str, String),
    /// Files could not be written (the sink refused, or the kernel could not be read for them).
    #[error("writing files: {0}")]
    Files(String),
    /// Rows that do not serialize (a bug).
    #[error("rows do not serialize: {0}")]
    Serialize(String),
}

impl Spec {
    /// An analysis that gives rows, with no options, no column sets and no tree (struct update syntax adds
    /// them: `Spec { options: ..., ..Spec::rows(...) }`).
    pub const fn rows(
        name: &'static str,
        title: &'static str,
        description: &'static str,
        columns: &'static [&'static str],
        run: RunFn,
    ) -> Spec {
        Spec {
            name,
            title,
            description,
            options: &[],
            columns,
            column_sets: &[],
            tree: None,
            formats: &[],
            row_actions: &[],
            body: Body::Rows(run),
        }
    }

    /// Run the analysis with `options`, checked first against its options.
    pub fn run(&self, kernel: &Kernel, options: &Options) -> Result<Output, RunError> {
        options.check(self.name, self.options)?;
        match &self.body {
            Body::Rows(run) => run(kernel, options),
            Body::Views(views) => Err(RunError::NoView(
                self.name,
                views.iter().map(|v| v.name).collect::<Vec<_>>().join(", "),
            )),
        }
    }

    /// Its sub-views (empty for an analysis that gives rows itself).
    pub fn views(&self) -> &'static [Spec] {
        match self.body {
            Body::Rows(_) => &[],
            Body::Views(views) => views,
        }
    }

    /// The table's columns with the column sets named in `sets` added, in the spec's order.
    pub fn table_columns(&self, sets: &[&str]) -> Vec<&'static str> {
        let mut columns: Vec<&'static str> = self.columns.to_vec();
        for set in self.column_sets.iter().filter(|s| sets.contains(&s.name)) {
            for c in set.columns {
                if !columns.contains(c) {
                    columns.push(c);
                }
            }
        }
        columns
    }

    /// What `memscope list --format json` prints for it.
    pub fn describe(&self) -> Value {
        serde_json::json!({
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "options": self.options,
            "columns": self.columns,
            "column_sets": self.column_sets,
            "tree": self.tree,
            "formats": self.formats,
            "row_actions": self.row_actions,
            "views": self.views().iter().map(Spec::describe).collect::<Vec<_>>(),
        })
    }
}

/// Typed rows as the output of a run.
pub fn rows<T: Serialize>(found: Analysis<T>) -> Result<Output, RunError> {
    Ok(Output {
        rows: crate::export::to_values(&found.rows).map_err(|e| RunError::Serialize(e.to_string()))?,
        warnings: found.warnings,
        files: Vec::new(),
        stream: None,
    })
}

/// `--pid`: only these processes.
const PID: OptionSpec = OptionSpec::integers("pid", "PID", "Only these processes (process ids).");

/// pslist's and pstree's options.
const PSLIST_OPTIONS: &[OptionSpec] = &[
    OptionSpec::flag("threads", "A row per thread too (with its tid)."),
    PID,
    OptionSpec::texts(
        "ns",
        "KIND:INODE",
        "Only processes in this namespace (e.g. net:4026531840); repeatable.",
        |s| s.parse::<pslist::NsFilter>().map(|_| ()),
    ),
];

fn pslist_options(o: &Options) -> Result<pslist::Options, OptionError> {
    Ok(pslist::Options {
        threads: o.flag("threads"),
        pids: o.u32s("pid")?,
        ns: o.parsed("ns")?,
    })
}

/// pslist's and pstree's column sets.
const PSLIST_COLUMN_SETS: &[ColumnSet] = &[
    ColumnSet {
        name: "nsinfo",
        help: "Namespace columns in the table (JSON and CSV always have them).",
        columns: &[
            "pid_in_ns",
            "ns.uts",
            "ns.ipc",
            "ns.mnt",
            "ns.net",
            "ns.pid",
            "ns.user",
            "ns.cgroup",
            "ns.time",
        ],
    },
    ColumnSet {
        name: "credinfo",
        help: "Credential and capability columns in the table (JSON and CSV always have them).",
        columns: &[
            "uid",
            "gid",
            "euid",
            "egid",
            "cap_inh",
            "cap_prm",
            "cap_eff",
            "cap_bnd",
            "cap_amb",
            "cap_eff_names",
        ],
    },
];

/// Every analysis, in the order a front end shows them.
pub const ANALYSES: &[Spec] = &[
    Spec {
        options: PSLIST_OPTIONS,
        column_sets: PSLIST_COLUMN_SETS,
        ..Spec::rows(
            "pslist",
            "Processes",
            "Processes from the kernel's task list and PID table, with start times, namespaces, credentials and capabilities.",
            &["pid", "tid", "ppid", "comm", "name", "start_time", "kernel_thread", "task_addr"],
            |k, o| rows(pslist::pslist(k, &pslist_options(o)?)?),
        )
    },
    Spec::rows(
        "findings",
        "Findings",
        "What to look at first, from the other analyses' rows: hidden processes, shells handed to the network, \
         sniffers, preloaded libraries, listeners nobody holds, kernel taints.",
        &["severity", "kind", "summary"],
        |k, _| rows(findings::findings(k)?),
    ),
    Spec::rows(
        "psaux",
        "Command lines",
        "Each process's arguments, read from its own memory (as /proc/PID/cmdline and ps -o args show them).",
        &["pid", "ppid", "comm", "cmdline"],
        |k, _| rows(psaux::psaux(k)?),
    ),
    Spec::rows(
        "envars",
        "Environment",
        "Each process's environment variables, read from its own memory (as /proc/PID/environ shows them).",
        &["pid", "comm", "name", "value"],
        |k, _| rows(envars::envars(k)?),
    ),
    Spec {
        options: PSLIST_OPTIONS,
        column_sets: PSLIST_COLUMN_SETS,
        tree: Some(Tree {
            depth: "depth",
            label: "comm",
        }),
        ..Spec::rows(
            "pstree",
            "Process tree",
            "Processes by parent, with their depth in the tree.",
            &["depth", "pid", "tid", "ppid", "comm", "name", "start_time", "kernel_thread", "task_addr"],
            |k, o| rows(pslist::pstree(k, &pslist_options(o)?)?),
        )
    },
    Spec {
        options: &[PID],
        ..Spec::rows(
            "lsof",
            "Open files",
            "Every open file descriptor of every process, with the path as the process sees it.",
            &["pid", "comm", "fd", "file_type", "mode_str", "inode", "size", "path"],
            |k, o| rows(lsof::lsof(k, &lsof::Options { pids: o.u32s("pid")? })?),
        )
    },
    Spec {
        options: &[
            OptionSpec::integers("pid", "PID", "Only the mount namespaces of these processes (process ids)."),
            OptionSpec::flag(
                "all",
                "Every mount of the kernel's mount hash table instead of each namespace's own list.",
            ),
            OptionSpec::flag("sort", "Order by mount id instead of the namespace's own order."),
        ],
        ..Spec::rows(
            "mounts",
            "Mounts",
            "The mounts of every mount namespace, as /proc/PID/mountinfo shows them to a process of that namespace.",
            &[
                "mnt_ns",
                "pid",
                "mount_id",
                "parent_id",
                "major_minor",
                "root",
                "path",
                "flags",
                "propagation",
                "fstype",
                "devname",
            ],
            |k, o| {
                let options = mounts::Options {
                    pids: o.u32s("pid")?,
                    all: o.flag("all"),
                    sort: o.flag("sort"),
                };
                rows(mounts::mounts(k, &options)?)
            },
        )
    },
    Spec {
        options: &[
            OptionSpec::integers(
                "pid",
                "PID",
                "The mount namespaces of these processes, paths as each sees them (default: pid 1's).",
            ),
            OptionSpec::integers("mount", "ID", "Only the files on these mounts (mount ids)."),
            OptionSpec::text("path", "PREFIX", "Only this path and what is under it.", None),
            OptionSpec::integers("uid", "UID", "Only files these users own."),
            OptionSpec::flag("sort", "Order by path instead of the walk's order."),
            OptionSpec::flag(
                "negative",
                "Add negative dentries: names looked up that did not exist (what someone probed for).",
            ),
            OptionSpec::text(
                "extract",
                "PATH",
                "Read this file back from the page cache (PATH as the process's namespace sees it).",
                None,
            ),
            OptionSpec::text(
                "extract-inode",
                "ADDR",
                "Read back the file of the inode at ADDR (hex).",
                Some(files_options::check_inode),
            ),
            OptionSpec::text(
                "extract-fd",
                "PID:FD",
                "Read back the file open as descriptor FD of process PID (deleted and memfd files too).",
                Some(files_options::check_fd),
            ),
            OptionSpec::output(
                "out",
                "FILE",
                "Write the file read back to FILE (pages not in memory as zeros, named in a warning).",
                false,
            ),
            OptionSpec::output(
                "recover",
                "DIR",
                "Write every cached regular file listed to DIR/files/PATH, one at a time, and DIR/manifest.json \
                 (path, size, cached pages of total, bytes missing, SHA-256 of what was written).",
                true,
            ),
        ],
        formats: &[TextFormat {
            name: "bodyfile",
            help: "The Sleuth Kit's bodyfile (mactime's input): one line per file with its times.",
            extension: "body",
            render: files::bodyfile,
        }],
        row_actions: &[
            RowAction {
                label: "Read back from the page cache",
                key: "inode_addr",
                option: "extract-inode",
                output: Some("out"),
            },
            RowAction {
                label: "List what is under this path",
                key: "path",
                option: "path",
                output: None,
            },
        ],
        ..Spec::rows(
            "files",
            "Files",
            "Every file the kernel's dentry cache holds under the mounts of a mount namespace, with its inode's \
             owner, mode, size and times and how many of its pages are cached; and a cached file read back.",
            &[
                "mount_id",
                "path",
                "inode",
                "mode",
                "uid",
                "gid",
                "size",
                "mtime",
                "cached_pages",
                "total_pages",
            ],
            files_options::run,
        )
    },
    Spec {
        options: &[
            OptionSpec::flag("no-unix", "Leave out UNIX sockets.").short('U'),
            OptionSpec::flag(
                "owned-only",
                "Only sockets a process holds (leave out those found only in the protocol hash tables).",
            ),
        ],
        ..Spec::rows(
            "netstat",
            "Sockets",
            "Sockets with their owning process, address, port and state, in every network namespace.",
            &[
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
            |k, o| {
                let options = netstat::Options {
                    no_unix: o.flag("no-unix"),
                    owned_only: o.flag("owned-only"),
                };
                rows(netstat::netstat(k, &options)?)
            },
        )
    },
    Spec::rows(
        "ifconfig",
        "Interfaces",
        "Network interfaces of every network namespace: addresses, MAC, flags, MTU, promiscuous mode.",
        &[
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
        |k, _| rows(ifconfig::ifconfig(k)?),
    ),
    Spec {
        body: Body::Views(DOCKER_VIEWS),
        ..Spec::rows(
            "docker",
            "Containers",
            "Docker's containers, found in the kernel and in dockerd's memory.",
            &[],
            |_, _| Ok(Output::default()),
        )
    },
    Spec::rows(
        "arp",
        "Neighbours",
        "ARP and IPv6 neighbour tables of every network namespace.",
        &["netns", "family", "ip", "mac", "device", "state"],
        |k, _| rows(arp::arp(k)?),
    ),
    Spec::rows(
        "routes",
        "Routes",
        "IPv4 and IPv6 routing tables of every network namespace, as ip route show table all.",
        &[
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
        |k, _| rows(routes::routes(k)?),
    ),
    Spec {
        options: &[OptionSpec::output(
            "out",
            "FILE",
            "Also write the log as text, as dmesg prints it ([seconds.micros] text), to FILE.",
            false,
        )],
        ..Spec::rows(
            "dmesg",
            "Kernel log",
            "The kernel's log buffer: time since boot, level, facility and text.",
            &["timestamp", "level", "facility", "caller", "text"],
            |k, o| {
                let log = dmesg::read(k)?;
                let mut out = rows(Analysis {
                    rows: log.lines(),
                    warnings: Vec::new(),
                })?;
                if o.text("out").is_some() {
                    out.files.push(OutputFile {
                        option: "out",
                        name: "dmesg.txt".into(),
                        bytes: log.text().into_bytes(),
                    });
                }
                out.warnings = log.warnings;
                Ok(out)
            },
        )
    },
    Spec::rows(
        "lsmod",
        "Kernel modules",
        "Loaded kernel modules from the kernel's module list, as /proc/modules shows them: size, load address, \
         references, users, state, taints.",
        &["name", "size", "address", "refcount", "used_by", "state", "taints"],
        |k, _| rows(lsmod::lsmod(k)?),
    ),
    Spec {
        options: &[
            PID,
            OptionSpec::output(
                "dump",
                "DIR",
                "Also write each socket's queued bytes in stream order to DIR: receive.PID.FD and send.PID.FD \
                 (receive.none.INODE for a socket no process holds), and a packet ring's frames as ring.PID.FD.",
                true,
            ),
            OptionSpec::output(
                "pcap",
                "FILE",
                "Also write the TCP and UDP socket buffers to FILE as pcapng, under IP and TCP/UDP headers made \
                 from each socket's addresses and ports, and the frames of packet rings as they were captured.",
                false,
            ),
        ],
        ..Spec::rows(
            "queues",
            "Packets in socket queues",
            "Data waiting in the kernel's socket queues (receive, send, TCP retransmit and out-of-order, error) \
             and the frames in packet sockets' memory-mapped rings (a sniffer's): a row per socket buffer or \
             frame, with its length and a preview of its bytes.",
            &[
                "pid",
                "fd",
                "comm",
                "proto",
                "local_addr",
                "local_port",
                "remote_addr",
                "remote_port",
                "path",
                "queue",
                "len",
                "queued",
                "preview",
            ],
            |k, o| {
                let options = queues::Options {
                    pids: o.u32s("pid")?,
                    dump: o.text("dump").is_some(),
                    pcap: o.text("pcap").is_some(),
                };
                let found = queues::queues(k, &options)?;
                let mut out = rows(found.found)?;
                out.files = found
                    .files
                    .into_iter()
                    .map(|f| OutputFile {
                        option: "dump",
                        name: f.name,
                        bytes: f.bytes,
                    })
                    .collect();
                out.files.extend(found.pcap.map(|bytes| OutputFile {
                    option: "pcap",
                    name: "queues.pcapng".into(),
                    bytes,
                }));
                Ok(out)
            },
        )
    },
    Spec {
        options: &[
            OptionSpec::flag("freed", "Freed socket buffers too, whose pointers still check out."),
            OptionSpec::output(
                "dump",
                "DIR",
                "Also write each socket buffer's bytes to DIR as SKB_ADDR.bin.",
                true,
            ),
            OptionSpec::output(
                "pcap",
                "FILE",
                "Also write the socket buffers that keep their IP header to FILE as pcapng, one raw-IP packet \
                 each, stamped with the kernel's timestamp where it set one.",
                false,
            ),
        ],
        ..Spec::rows(
            "skbuff",
            "Packets in sk_buff caches",
            "Every sk_buff in the kernel's skb slab caches (skbuff_head_cache, skbuff_fclone_cache), allocated \
             and, with --freed, freed ones: packets no socket queue holds any more.",
            &["skb_addr", "cache", "state", "len", "protocol", "transport", "pid", "comm", "tstamp", "preview"],
            |k, o| {
                let options = skbuff::Options {
                    freed: o.flag("freed"),
                    dump: o.text("dump").is_some(),
                    pcap: o.text("pcap").is_some(),
                };
                let found = skbuff::skbuff(k, &options)?;
                let mut out = rows(found.found)?;
                out.files = found
                    .files
                    .into_iter()
                    .map(|(name, bytes)| OutputFile {
                        option: "dump",
                        name,
                        bytes,
                    })
                    .collect();
                out.files.extend(found.pcap.map(|bytes| OutputFile {
                    option: "pcap",
                    name: "skbuff.pcapng".into(),
                    bytes,
                }));
                Ok(out)
            },
        )
    },
];

/// `--all` of the docker views.
const DOCKER_ALL: OptionSpec = OptionSpec::flag("all", "Docker's default mounts too (/proc, /dev, /etc/hosts...).");

/// The docker views.
const DOCKER_VIEWS: &[Spec] = &[
    Spec::rows(
        "detect",
        "Docker signs",
        "What shows Docker ran here: its processes, cgroups, bridges, veths, overlay mounts, open files and \
         the container documents in dockerd's memory.",
        &["indicator", "found", "evidence"],
        |k, _| rows(docker::detect(k)?),
    ),
    Spec {
        options: &[OptionSpec::flag("all", "Stopped containers too (as docker ps -a).")],
        ..Spec::rows(
            "ps",
            "Containers",
            "Docker's containers as docker ps lists them, from their cgroups and dockerd's memory: name, image, \
         state, main process, privileges and namespace modes, each fact with where it came from.",
            &[
                "container_id",
                "name",
                "image",
                "state",
                "pid",
                "command",
                "privileged",
                "euid",
                "network_mode",
            ],
            |k, o| rows(docker::ps(k, &docker::Options { all: o.flag("all") })?),
        )
    },
    Spec::rows(
        "caps",
        "Container capabilities",
        "Each container's capabilities (its main process's), what it has beyond Docker's default set and \
         without it, and the dangerous ones.",
        &[
            "container_id",
            "name",
            "pid",
            "cap_eff",
            "added",
            "dropped",
            "dangerous",
        ],
        |k, _| rows(docker::caps(k)?),
    ),
    Spec {
        options: &[DOCKER_ALL],
        ..Spec::rows(
            "mounts",
            "Container mounts",
            "What each container mounts from the host (with --all Docker's default mounts too): the path in \
             the container, the host path as Docker was given it and as the kernel resolves it, access and risk.",
            &[
                "container_id",
                "name",
                "container_path",
                "host_path",
                "fstype",
                "access",
                "risk",
            ],
            |k, o| rows(docker::mounts(k, o.flag("all"))?),
        )
    },
    Spec {
        options: &[OptionSpec::texts(
            "id",
            "ID",
            "Only these containers (an id, an id's first digits, or a name); repeatable.",
            docker::check_id,
        )],
        ..Spec::rows(
            "inspect",
            "Container details",
            "Each container as docker inspect shows it, where memory holds it: environment, labels, ports, binds, \
             capability adds and drops, security options; and the main process's seccomp mode, no_new_privs, \
             AppArmor label, namespaces and capability sets.",
            &[
                "container_id",
                "name",
                "image",
                "pid",
                "seccomp_mode",
                "no_new_privs",
                "apparmor_label",
                "cap_add",
                "cap_drop",
            ],
            |k, o| rows(docker::inspect(k, &o.texts("id"))?),
        )
    },
    Spec::rows(
        "networks",
        "Container networks",
        "Docker's networks: subnets, bridge and gateway, each container's addresses and MAC, and the ports \
         docker-proxy publishes.",
        &[
            "network",
            "driver",
            "prefixes",
            "bridge",
            "gateway",
            "containers",
            "published",
        ],
        |k, _| rows(docker::networks(k)?),
    ),
];

/// One table a front end shows: an analysis that gives rows, or one view of a group.
#[derive(Debug)]
pub struct Leaf {
    /// Its id: the analysis's name, or the group's and the view's joined by `-` (`docker-ps`); what tabs,
    /// messages and export file names use.
    pub id: String,
    /// The analysis or view.
    pub spec: &'static Spec,
}

/// Every table of [`ANALYSES`], groups' views in their place.
pub fn leaves() -> &'static [Leaf] {
    static LEAVES: std::sync::OnceLock<Vec<Leaf>> = std::sync::OnceLock::new();
    LEAVES.get_or_init(|| leaves_of(ANALYSES))
}

fn leaves_of(specs: &'static [Spec]) -> Vec<Leaf> {
    let mut out = Vec::new();
    for spec in specs {
        match spec.body {
            Body::Rows(_) => out.push(Leaf {
                id: spec.name.to_string(),
                spec,
            }),
            Body::Views(views) => out.extend(leaves_of(views).into_iter().map(|leaf| Leaf {
                id: format!("{}-{}", spec.name, leaf.id),
                spec: leaf.spec,
            })),
        }
    }
    out
}

/// The analysis or view of this id (see [`Leaf::id`]).
pub fn find(id: &str) -> Option<&'static Spec> {
    leaves().iter().find(|l| l.id == id).map(|l| l.spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_options_well_formed() {
        let mut names = std::collections::HashSet::new();
        for spec in ANALYSES {
            assert!(names.insert(spec.name), "{} twice", spec.name);
            assert!(
                spec.name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()),
                "{}: names are lowercase letters and digits (ids join them with -)",
                spec.name
            );
            let mut flags = std::collections::HashSet::new();
            for o in spec.options {
                assert!(flags.insert(o.name), "{}: --{} twice", spec.name, o.name);
            }
            for set in spec.column_sets {
                assert!(
                    flags.insert(set.name),
                    "{}: --{} is an option and a column set",
                    spec.name,
                    set.name
                );
            }
            if let Some(tree) = spec.tree {
                assert!(
                    spec.columns.contains(&tree.label),
                    "{}: tree label not a column",
                    spec.name
                );
            }
        }
    }

    #[test]
    fn views_are_leaves_named_after_their_group() {
        const VIEWS: &[Spec] = &[
            Spec::rows("ps", "Containers", "d", &["id"], |_, _| Ok(Output::default())),
            Spec::rows("caps", "Capabilities", "d", &["id"], |_, _| Ok(Output::default())),
        ];
        const SPECS: &[Spec] = &[
            Spec::rows("pslist", "Processes", "d", &["pid"], |_, _| Ok(Output::default())),
            Spec {
                body: Body::Views(VIEWS),
                ..Spec::rows("docker", "Docker", "d", &[], |_, _| Ok(Output::default()))
            },
        ];
        let ids: Vec<String> = leaves_of(SPECS).into_iter().map(|l| l.id).collect();
        assert_eq!(ids, ["pslist", "docker-ps", "docker-caps"]);
        assert_eq!(SPECS[1].views().len(), 2);
        assert!(leaves().iter().all(|l| !l.id.is_empty()));
        assert!(find("pslist").is_some() && find("nosuch").is_none());
    }

    #[test]
    fn column_sets_add_their_columns_once() {
        let spec = find("pslist").unwrap();
        let cols = spec.table_columns(&["credinfo", "nsinfo"]);
        assert_eq!(cols[..spec.columns.len()], *spec.columns);
        assert!(cols.contains(&"ns.net") && cols.contains(&"cap_eff_names"));
        assert_eq!(spec.table_columns(&[]), spec.columns);
        let described = spec.describe();
        assert_eq!(described["options"][0]["name"], "threads");
        assert_eq!(described["options"][1]["kind"], "integers");
    }
}
