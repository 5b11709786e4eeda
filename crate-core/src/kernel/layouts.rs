//! The layouts this kernel uses for the structures that changed across versions, each chosen once from
//! what the symbols contain (a member or a symbol present or absent), never from a version number, as
//! Volatility 3's `choose_id_storage` does. Walkers ask [`Kernel::layouts`] instead of testing members
//! inside their loops; a structure that no choice fits is an error for what reads it, not for the rest.
//!
//! Each variant's doc comment names the kernels that use it.

use std::cell::OnceCell;
use std::rc::Rc;

use super::modules::ModuleLayout;
use super::net::fib::FibLayout;
use super::printk::PrintkLayout;
use super::{Kernel, KernelError};
use crate::symbols::{SymbolTable, TypeRef};

/// How a process's threads are linked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThreadList {
    /// `signal_struct.thread_head`, each thread's `task_struct.thread_node` on it (6.7+).
    SignalHead,
    /// The `task_struct.thread_group` ring through every thread of the group (before 6.7).
    ThreadGroup,
}

/// Where a task's start time is kept, in nanoseconds since boot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartTime {
    /// A `u64` of nanoseconds: `start_boottime` (5.5+), `real_start_time` (3.17-5.4), or `start_time`.
    Nanoseconds(&'static str),
    /// A `timespec` (`tv_sec`, `tv_nsec`) under that name (before 3.17).
    Timespec(&'static str),
}

/// How a capability set (`kernel_cap_t`) is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CapSet {
    /// One `u64 val` (6.3+).
    Word,
    /// Two `u32 cap[2]` (before 6.3).
    TwoHalves,
}

/// How a task finds its `struct pid`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskPid {
    /// `task_struct.thread_pid` (4.19+).
    ThreadPid,
    /// `task_struct.pids[PIDTYPE_PID].pid` (before 4.19).
    PidLinks,
}

/// Where a kernel thread keeps its `struct kthread` (what `to_kthread()` reads).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KthreadData {
    /// `task_struct.worker_private` (5.17+).
    WorkerPrivate,
    /// `task_struct.set_child_tid`, reused for kernel threads (before 5.17).
    SetChildTid,
}

/// Where the core timekeeper (boot time's `offs_real` and `offs_boot`) lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Timekeeper {
    /// `tk_core.timekeeper`, `tk_core` of the named type (3.17-6.15).
    TkCore(String),
    /// `timekeeper_data[index].timekeeper`, an array of `element_size`-byte `element`s beside the
    /// auxiliary clocks' timekeepers (6.16+).
    TimekeeperData {
        element: String,
        element_size: u64,
        index: u64,
    },
    /// A plain `timekeeper` global (before 3.17).
    Global,
}

/// How the TCP listening hash is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListeningHash {
    /// `inet_hashinfo.lhash2` buckets of `hlist_nulls_head`, chained through the member at `node_member`
    /// of `inet_connection_sock` or `sock_common`: `icsk_listen_portaddr_node` (5.0-5.19), or
    /// `skc_nulls_node` (6.0+).
    Lhash2 { node_member: ListenNode },
    /// No walkable listening hash in these symbols (older kernels keep `listening_hash`, which this
    /// version does not walk: their listeners are found through the descriptors that hold them).
    None,
}

/// The member a listening socket is chained by in `lhash2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenNode {
    /// `inet_connection_sock.icsk_listen_portaddr_node` (5.0-5.19).
    PortAddr,
    /// `sock_common.skc_nulls_node` (6.0+).
    SkcNulls,
}

/// Which optional members a task's credentials have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CredExtras {
    /// `cred.cap_ambient`, the ambient capabilities (4.3+).
    pub ambient: bool,
    /// `cred.user_ns`, the user namespace (3.8+).
    pub user_ns: bool,
}

/// What the kernel keeps to name its threads as `/proc/PID/status` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KthreadNames {
    /// `worker.rescue_wq`, the workqueue a rescuer thread (`kworker/R-...`, 6.9+) serves.
    pub rescuer: bool,
    /// `kthread.full_name`, a kernel thread's name beyond comm's 15 characters (6.1+).
    pub full_name: bool,
}

/// A kind of namespace, with where the kernel keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NsKind {
    /// UTS (host name): `nsproxy.uts_ns`.
    Uts,
    /// System V IPC: `nsproxy.ipc_ns`.
    Ipc,
    /// Mounts: `nsproxy.mnt_ns`.
    Mnt,
    /// Network: `nsproxy.net_ns`.
    Net,
    /// Process ids: the namespace of the task's innermost pid.
    Pid,
    /// Users: `cred.user_ns`.
    User,
    /// Cgroups: `nsproxy.cgroup_ns` (4.6+).
    Cgroup,
    /// Clocks: `nsproxy.time_ns` (5.6+).
    Time,
}

impl NsKind {
    /// Every kind, in the order of the `ns` object.
    pub const ALL: [NsKind; 8] = [
        NsKind::Uts,
        NsKind::Ipc,
        NsKind::Mnt,
        NsKind::Net,
        NsKind::Pid,
        NsKind::User,
        NsKind::Cgroup,
        NsKind::Time,
    ];

    /// The kind's name, as `/proc/PID/ns/` names it.
    pub fn name(self) -> &'static str {
        match self {
            NsKind::Uts => "uts",
            NsKind::Ipc => "ipc",
            NsKind::Mnt => "mnt",
            NsKind::Net => "net",
            NsKind::Pid => "pid",
            NsKind::User => "user",
            NsKind::Cgroup => "cgroup",
            NsKind::Time => "time",
        }
    }

    /// The namespace struct's type.
    pub fn type_name(self) -> &'static str {
        match self {
            NsKind::Uts => "uts_namespace",
            NsKind::Ipc => "ipc_namespace",
            NsKind::Mnt => "mnt_namespace",
            NsKind::Net => "net",
            NsKind::Pid => "pid_namespace",
            NsKind::User => "user_namespace",
            NsKind::Cgroup => "cgroup_namespace",
            NsKind::Time => "time_namespace",
        }
    }

    /// Its member of `struct nsproxy`, for the kinds kept there.
    pub fn nsproxy_member(self) -> Option<&'static str> {
        match self {
            NsKind::Uts => Some("uts_ns"),
            NsKind::Ipc => Some("ipc_ns"),
            NsKind::Mnt => Some("mnt_ns"),
            NsKind::Net => Some("net_ns"),
            NsKind::Cgroup => Some("cgroup_ns"),
            NsKind::Time => Some("time_ns"),
            NsKind::Pid | NsKind::User => None,
        }
    }
}

/// How a mount namespace keeps its mounts (what `/proc/PID/mountinfo` walks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NsMounts {
    /// The `mnt_namespace.list` of `struct mount`, linked through `mount.mnt_list`, in the order mounts
    /// joined the namespace (before 6.8: 5.10, 6.1).
    List,
    /// The `mnt_namespace.mounts` rb-tree of `struct mount` through `mount.mnt_node`, ordered by
    /// `mnt_id_unique` (6.8+; `mnt_node` shares a union with `mnt_rcu`, and from 6.13, Debian's 6.12 and
    /// 7.x `mnt_list` is a member of its own; on 7.x `mounts` sits in an anonymous struct beside
    /// `mnt_first_node`/`mnt_last_node`).
    Tree,
}

/// Where the kernel keeps every mount namespace, including those no task uses any more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NsIndex {
    /// No index: namespaces are found through the tasks that use them (before 6.11: 5.10, 6.1).
    None,
    /// The `mnt_ns_tree` rb-tree of `mnt_namespace` through `mnt_ns_tree_node`, by namespace id (6.11 to
    /// the generic namespace trees: Debian's 6.12).
    Tree,
    /// `mnt_ns_tree` as a generic `ns_tree_root`, whose `ns_list_head` links each namespace's
    /// `ns_common.ns_tree_node.ns_list_entry` in id order (7.x).
    NsTreeList,
}

/// Where a mount's propagation type (shared, unbindable) is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MountPropagation {
    /// Bits of `vfsmount.mnt_flags`: `MNT_SHARED` 0x1000 and `MNT_UNBINDABLE` 0x2000 (5.10 to 6.x).
    MntFlags,
    /// `mount.mnt_t_flags`: `T_SHARED` 1 and `T_UNBINDABLE` 2 (fs/mount.h, 7.x).
    TFlags,
}

/// How an idmapped mount is told apart (what makes mountinfo print `idmapped`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MountIdmap {
    /// `vfsmount.mnt_idmap` is not `&nop_mnt_idmap` (6.3+).
    Idmap,
    /// `vfsmount.mnt_userns` is not `&init_user_ns` (5.12-6.2).
    Userns,
    /// No idmapped mounts (before 5.12: 5.10).
    None,
}

/// The mount structures' layout: the namespace's mounts, the index of namespaces, propagation and idmaps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountLayout {
    /// How a namespace keeps its mounts.
    pub mounts: Result<NsMounts, KernelError>,
    /// Where every namespace is kept.
    pub index: NsIndex,
    /// Where the propagation type is kept.
    pub propagation: MountPropagation,
    /// How idmapped mounts are told.
    pub idmap: MountIdmap,
}

impl MountLayout {
    fn of(symbols: &SymbolTable) -> MountLayout {
        let has = |ty: &str, member: &str| symbols.layout(ty).is_ok_and(|l| l.has_field(member));
        // `mnt_namespace.mounts` was the count of mounts (an `unsigned int`) before it became the tree.
        let mounts_tree = symbols
            .layout("mnt_namespace")
            .is_ok_and(|l| l.field("mounts").is_ok_and(|(_, t)| t.user_name() == Some("rb_root")));
        let mounts = if mounts_tree && has("mount", "mnt_node") {
            Ok(NsMounts::Tree)
        } else if has("mnt_namespace", "list") && has("mount", "mnt_list") {
            Ok(NsMounts::List)
        } else {
            Err(missing("mount namespace"))
        };
        let index = if !symbols.has_symbol("mnt_ns_tree") {
            NsIndex::None
        } else if has("mnt_namespace", "mnt_ns_tree_node") {
            NsIndex::Tree
        } else if has("ns_common", "ns_tree_node")
            && has("ns_tree_node", "ns_list_entry")
            && has("ns_tree_root", "ns_list_head")
        {
            NsIndex::NsTreeList
        } else {
            NsIndex::None
        };
        let propagation = if has("mount", "mnt_t_flags") {
            MountPropagation::TFlags
        } else {
            MountPropagation::MntFlags
        };
        let idmap = if has("vfsmount", "mnt_idmap") {
            MountIdmap::Idmap
        } else if has("vfsmount", "mnt_userns") {
            MountIdmap::Userns
        } else {
            MountIdmap::None
        };
        MountLayout {
            mounts,
            index,
            propagation,
            idmap,
        }
    }
}

/// Where a kernfs node (a cgroup's directory) names its parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KernfsParent {
    /// `kernfs_node.parent` (before 6.15: 5.10, 6.1, 6.12).
    Parent,
    /// `kernfs_node.__parent`, RCU-protected since "kernfs: Use RCU to access kernfs_node::parent" (6.15+:
    /// 7.x).
    RcuParent,
}

impl KernfsParent {
    /// The member's name.
    pub fn member(self) -> &'static str {
        match self {
            KernfsParent::Parent => "parent",
            KernfsParent::RcuParent => "__parent",
        }
    }
}

/// The cgroup structures' layout: how a task's cgroups are named and whether the v2 freezer is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CgroupLayout {
    /// How a kernfs node names its parent.
    pub parent: KernfsParent,
    /// Bytes of one `css_set.subsys[]` pointer array: its count of controllers (`CGROUP_SUBSYS_COUNT`).
    pub subsys: u64,
    /// `cgroup.freezer.freeze`, the cgroup v2 freezer's target state (5.2+).
    pub freezer: bool,
}

impl CgroupLayout {
    fn of(symbols: &SymbolTable) -> Result<CgroupLayout, KernelError> {
        let has = |ty: &str, member: &str| symbols.layout(ty).is_ok_and(|l| l.has_field(member));
        if !(has("task_struct", "cgroups") && has("css_set", "dfl_cgrp") && has("cgroup", "kn")) {
            return Err(missing("cgroup"));
        }
        let parent = if has("kernfs_node", "__parent") {
            KernfsParent::RcuParent
        } else if has("kernfs_node", "parent") {
            KernfsParent::Parent
        } else {
            return Err(missing("kernfs node"));
        };
        let subsys = match symbols.layout("css_set")?.field("subsys")?.1 {
            TypeRef::Array { count, .. } => *count,
            _ => 0,
        };
        Ok(CgroupLayout {
            parent,
            subsys,
            freezer: has("cgroup", "freezer") && has("cgroup_freezer_state", "freeze"),
        })
    }
}

/// The layouts of one kernel, resolved from its symbols once (see [`Kernel::layouts`]): the task and socket
/// choices every analysis needs when the kernel is first read, each subsystem's (printk, FIB, modules,
/// mounts, cgroups, socket buffers, files) when an analysis first asks for it.
pub struct Layouts {
    symbols: Rc<SymbolTable>,
    threads: Result<ThreadList, KernelError>,
    start_time: Result<StartTime, KernelError>,
    caps: Result<CapSet, KernelError>,
    task_pid: Result<TaskPid, KernelError>,
    kthread: Option<KthreadData>,
    kthread_names: KthreadNames,
    cred: CredExtras,
    timekeeper: Result<Timekeeper, KernelError>,
    listening: ListeningHash,
    proxied: Vec<NsKind>,
    printk: OnceCell<Result<PrintkLayout, KernelError>>,
    fib: OnceCell<FibLayout>,
    modules: OnceCell<Result<ModuleLayout, KernelError>>,
    mounts: OnceCell<MountLayout>,
    cgroups: OnceCell<Result<CgroupLayout, KernelError>>,
    skb: OnceCell<Result<SkbLayout, KernelError>>,
    direct_map: OnceCell<Result<DirectMap, KernelError>>,
    files: OnceCell<FileLayout>,
}

impl std::fmt::Debug for Layouts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Layouts")
            .field("threads", &self.threads)
            .field("start_time", &self.start_time)
            .field("caps", &self.caps)
            .field("task_pid", &self.task_pid)
            .field("timekeeper", &self.timekeeper)
            .field("listening", &self.listening)
            .field("proxied", &self.proxied)
            .finish_non_exhaustive()
    }
}

fn missing(what: &str) -> KernelError {
    KernelError::Layout(format!("the symbols have no {what} layout memscope knows"))
}

impl Layouts {
    /// Resolve the core choices from `symbols` (each subsystem's on first use).
    pub fn of(table: &Rc<SymbolTable>) -> Layouts {
        let symbols: &SymbolTable = table;
        let has = |ty: &str, member: &str| symbols.layout(ty).is_ok_and(|l| l.has_field(member));
        let threads = if has("signal_struct", "thread_head") && has("task_struct", "thread_node") {
            Ok(ThreadList::SignalHead)
        } else if has("task_struct", "thread_group") {
            Ok(ThreadList::ThreadGroup)
        } else {
            Err(missing("thread list"))
        };
        let start_time = ["start_boottime", "real_start_time", "start_time"]
            .into_iter()
            .find_map(|name| {
                let task = symbols.layout("task_struct").ok()?;
                let (_, ty) = task.field(name).ok()?;
                Some(match ty {
                    TypeRef::User(_) => StartTime::Timespec(name),
                    _ => StartTime::Nanoseconds(name),
                })
            })
            .ok_or_else(|| missing("task start time"));
        // `kernel_cap_t` is a typedef of a struct that may be anonymous (ISFs made from BTF name it
        // `unnamed_N`): look at the type `cred.cap_effective` has.
        let cap_type = symbols.layout("cred").ok().and_then(|c| {
            c.field("cap_effective")
                .ok()
                .and_then(|(_, t)| t.user_name().map(str::to_string))
        });
        let caps = match cap_type.as_deref() {
            Some(ty) if has(ty, "val") => Ok(CapSet::Word),
            Some(ty) if has(ty, "cap") => Ok(CapSet::TwoHalves),
            _ => Err(missing("capability set")),
        };
        let task_pid = if has("task_struct", "thread_pid") {
            Ok(TaskPid::ThreadPid)
        } else if has("task_struct", "pids") {
            Ok(TaskPid::PidLinks)
        } else {
            Err(missing("task pid"))
        };
        let kthread = if has("task_struct", "worker_private") {
            Some(KthreadData::WorkerPrivate)
        } else if has("task_struct", "set_child_tid") {
            Some(KthreadData::SetChildTid)
        } else {
            None
        };
        let listening = if has("inet_hashinfo", "lhash2") && has("inet_listen_hashbucket", "nulls_head") {
            let node_member = if has("inet_connection_sock", "icsk_listen_portaddr_node") {
                ListenNode::PortAddr
            } else {
                ListenNode::SkcNulls
            };
            ListeningHash::Lhash2 { node_member }
        } else {
            ListeningHash::None
        };
        let proxied = NsKind::ALL
            .into_iter()
            .filter(|k| k.nsproxy_member().is_some_and(|m| has("nsproxy", m)))
            .collect();
        let kthread_names = KthreadNames {
            rescuer: has("worker", "rescue_wq"),
            full_name: has("kthread", "full_name"),
        };
        let cred = CredExtras {
            ambient: has("cred", "cap_ambient"),
            user_ns: has("cred", "user_ns"),
        };
        Layouts {
            threads,
            kthread_names,
            cred,
            start_time,
            caps,
            task_pid,
            kthread,
            timekeeper: timekeeper(symbols),
            listening,
            proxied,
            symbols: table.clone(),
            printk: OnceCell::new(),
            fib: OnceCell::new(),
            modules: OnceCell::new(),
            mounts: OnceCell::new(),
            cgroups: OnceCell::new(),
            skb: OnceCell::new(),
            direct_map: OnceCell::new(),
            files: OnceCell::new(),
        }
    }

    /// How threads are linked.
    pub fn threads(&self) -> Result<ThreadList, KernelError> {
        self.threads.clone()
    }

    /// Where start times are kept.
    pub fn start_time(&self) -> Result<StartTime, KernelError> {
        self.start_time.clone()
    }

    /// How capability sets are stored.
    pub fn caps(&self) -> Result<CapSet, KernelError> {
        self.caps.clone()
    }

    /// How a task finds its pid.
    pub fn task_pid(&self) -> Result<TaskPid, KernelError> {
        self.task_pid.clone()
    }

    /// Where a kernel thread's `struct kthread` is, if the symbols say.
    pub fn kthread(&self) -> Option<KthreadData> {
        self.kthread
    }

    /// What names kernel threads.
    pub fn kthread_names(&self) -> KthreadNames {
        self.kthread_names
    }

    /// Which optional members credentials have.
    pub fn cred(&self) -> CredExtras {
        self.cred
    }

    /// Where the core timekeeper lives.
    pub fn timekeeper(&self) -> Result<Timekeeper, KernelError> {
        self.timekeeper.clone()
    }

    /// How the TCP listening hash is kept.
    pub fn listening(&self) -> ListeningHash {
        self.listening
    }

    /// Where the kernel log is kept.
    pub fn printk(&self) -> Result<PrintkLayout, KernelError> {
        self.printk.get_or_init(|| PrintkLayout::of(&self.symbols)).clone()
    }

    /// How the routing tables, their next hops and their caches are laid out.
    pub fn fib(&self) -> &FibLayout {
        self.fib.get_or_init(|| FibLayout::new(&self.symbols))
    }

    /// How `struct module` is laid out.
    pub fn modules(&self) -> Result<&ModuleLayout, KernelError> {
        self.modules
            .get_or_init(|| ModuleLayout::of(&self.symbols))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// How mounts and mount namespaces are kept.
    pub fn mounts(&self) -> &MountLayout {
        self.mounts.get_or_init(|| MountLayout::of(&self.symbols))
    }

    /// How a task's cgroups are kept.
    pub fn cgroups(&self) -> Result<CgroupLayout, KernelError> {
        self.cgroups.get_or_init(|| CgroupLayout::of(&self.symbols)).clone()
    }

    /// The namespace kinds this kernel keeps in `struct nsproxy`.
    pub fn proxied_namespaces(&self) -> &[NsKind] {
        &self.proxied
    }

    /// How socket buffers, their fragments and the queues holding them are laid out.
    pub fn skb(&self) -> Result<SkbLayout, KernelError> {
        self.skb.get_or_init(|| SkbLayout::of(&self.symbols)).clone()
    }

    /// How dentries, inodes and page caches are laid out.
    pub fn files(&self) -> &FileLayout {
        self.files.get_or_init(|| FileLayout::of(&self.symbols))
    }

    /// How a `struct page` pointer is turned into its frame (see [`super::pages`]).
    pub fn direct_map(&self) -> Result<DirectMap, KernelError> {
        self.direct_map.get_or_init(|| DirectMap::of(&self.symbols)).clone()
    }
}

fn timekeeper(symbols: &SymbolTable) -> Result<Timekeeper, KernelError> {
    if let Some(s) = symbols.symbol("tk_core")? {
        let ty = s.ty.as_ref().and_then(|t| t.user_name());
        let ty = ty.ok_or_else(|| KernelError::Layout("tk_core has no type in the symbols".into()))?;
        return Ok(Timekeeper::TkCore(ty.to_string()));
    }
    if let Some(s) = symbols.symbol("timekeeper_data")? {
        let Some(TypeRef::Array { count, element }) = &s.ty else {
            return Err(KernelError::Layout(
                "timekeeper_data is not an array in the symbols".into(),
            ));
        };
        let ty = element
            .user_name()
            .ok_or_else(|| KernelError::Layout("timekeeper_data's elements are not structs in the symbols".into()))?;
        // TIMEKEEPER_CORE from `enum timekeeper_ids` where the symbols have it; the kernel defines it as 0.
        let index = symbols
            .enum_constant("timekeeper_ids", "TIMEKEEPER_CORE")
            .and_then(|v| u64::try_from(v).ok())
            .unwrap_or(0);
        if index >= *count {
            return Err(KernelError::Layout(format!(
                "TIMEKEEPER_CORE is {index} but timekeeper_data holds {count}"
            )));
        }
        return Ok(Timekeeper::TimekeeperData {
            element: ty.to_string(),
            element_size: symbols.size_of(element)?,
            index,
        });
    }
    if symbols.has_symbol("timekeeper") {
        return Ok(Timekeeper::Global);
    }
    Err(missing("timekeeper"))
}

/// What `sk_buff.end` holds (`sk_buff_data_t`), and so where `skb_shared_info` is (`skb_end_pointer`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkbEnd {
    /// An `unsigned int` offset from `skb->head` (`NET_SKBUFF_DATA_USES_OFFSET`: every 64-bit kernel,
    /// all of 2.6.22 to 7.x on x86-64).
    Offset,
    /// An `unsigned char *` (32-bit kernels).
    Pointer,
}

/// How a paged fragment (`skb_frag_t`, `skb_shared_info.frags[]`) names its memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkbFrag {
    /// `struct skb_frag { netmem_ref netmem; len; offset }`: a `struct page *`, or with bit 0
    /// (`NET_IOV`) set a `net_iov` of device memory that is not in RAM (6.12+).
    Netmem,
    /// `struct bio_vec { bv_page; bv_len; bv_offset }` (5.4-6.11).
    BioVec,
}

/// Where TCP keeps data it sent and that is not acknowledged yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetransmitQueue {
    /// `sock.tcp_rtx_queue`, an rb-tree of skbs ordered by sequence (4.15+); `sk_write_queue` holds
    /// only unsent data.
    RbTree,
    /// No retransmit tree: sent and unsent data share `sk_write_queue` (before 4.15).
    WriteQueue,
}

/// How the kernel turns a `struct page *` into its direct-map address (`page_to_virt` on x86-64 with
/// `SPARSEMEM_VMEMMAP`): `page_offset_base + (page - vmemmap_base) / sizeof(struct page) * PAGE_SIZE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirectMap {
    /// The bases are the variables `vmemmap_base` and `page_offset_base`, set at boot
    /// (`CONFIG_RANDOMIZE_MEMORY`: Debian's kernels 4.8 to 7.x); `page_size` is `sizeof(struct page)`.
    Variables { page_size: u64 },
}

/// The layout of socket buffers and their queues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SkbLayout {
    /// What `sk_buff.end` holds.
    pub end: SkbEnd,
    /// How fragments name their pages.
    pub frag: SkbFrag,
    /// Where TCP's sent, unacknowledged data is.
    pub retransmit: RetransmitQueue,
}

impl SkbLayout {
    /// The layout the symbols describe.
    pub fn of(symbols: &SymbolTable) -> Result<SkbLayout, KernelError> {
        let skb = symbols.layout("sk_buff")?;
        let end = match skb.field("end")?.1 {
            TypeRef::Pointer(_) => SkbEnd::Pointer,
            _ => SkbEnd::Offset,
        };
        let has = |ty: &str, member: &str| symbols.layout(ty).is_ok_and(|l| l.has_field(member));
        let frag = match symbols.layout("skb_shared_info")?.field("frags")?.1 {
            TypeRef::Array { element, .. } => match element.user_name() {
                Some(name) if has(name, "netmem") => SkbFrag::Netmem,
                Some(name) if has(name, "bv_page") => SkbFrag::BioVec,
                _ => return Err(missing("skb fragment")),
            },
            _ => return Err(missing("skb fragment array")),
        };
        let retransmit = if has("sock", "tcp_rtx_queue") {
            RetransmitQueue::RbTree
        } else {
            RetransmitQueue::WriteQueue
        };
        Ok(SkbLayout { end, frag, retransmit })
    }
}

/// How a dentry links its children (what `d_walk()` follows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DentryChildren {
    /// `dentry.d_subdirs`, a `list_head` of children linked through `d_child` (before 6.8: 5.10, 6.1).
    List,
    /// `dentry.d_children`, an `hlist_head` of children linked through `d_sib` (6.8+: 6.12, 7.x).
    Hlist,
}

/// Where an inode keeps one of its times (access, modification, change).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InodeTime {
    /// A `struct timespec64` member: `i_mtime` (before 6.6/6.7: 5.10, 6.1), or `__i_mtime` and
    /// `__i_ctime`, its private form (`__i_ctime` from 6.6, the others 6.7 to 6.10).
    Timespec(&'static str),
    /// Seconds and nanoseconds as two members, `i_mtime_sec` and `i_mtime_nsec` (6.11+: 6.12, 7.x); from
    /// 6.13 bit 31 of `i_ctime_nsec` is the multigrain `I_CTIME_QUERIED` flag, not part of the time.
    Split {
        /// The seconds member.
        sec: &'static str,
        /// The nanoseconds member.
        nsec: &'static str,
    },
}

/// Where a page cache page records its index in the file (checked when a file is read back).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageIndex {
    /// `page.index` (5.10 to 6.16).
    Index,
    /// `page.__folio_index` (6.17+).
    FolioIndex,
}

/// The layout of dentries, inodes and page caches, as `files` reads them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileLayout {
    /// How a dentry's children are linked.
    pub children: Result<DentryChildren, KernelError>,
    /// Access, modification and change times.
    pub times: [Result<InodeTime, KernelError>; 3],
    /// Where a page's index is; `None` when the symbols name neither.
    pub page_index: Option<PageIndex>,
}

impl FileLayout {
    fn of(symbols: &SymbolTable) -> FileLayout {
        let has = |ty: &str, member: &str| symbols.layout(ty).is_ok_and(|l| l.has_field(member));
        let children = if has("dentry", "d_children") && has("dentry", "d_sib") {
            Ok(DentryChildren::Hlist)
        } else if has("dentry", "d_subdirs") && has("dentry", "d_child") {
            Ok(DentryChildren::List)
        } else {
            Err(missing("dentry children"))
        };
        const NAMES: [[&str; 4]; 3] = [
            ["i_atime", "__i_atime", "i_atime_sec", "i_atime_nsec"],
            ["i_mtime", "__i_mtime", "i_mtime_sec", "i_mtime_nsec"],
            ["i_ctime", "__i_ctime", "i_ctime_sec", "i_ctime_nsec"],
        ];
        let times = NAMES.map(|[plain, private, sec, nsec]| {
            if has("inode", sec) && has("inode", nsec) {
                Ok(InodeTime::Split { sec, nsec })
            } else if has("inode", private) {
                Ok(InodeTime::Timespec(private))
            } else if has("inode", plain) {
                Ok(InodeTime::Timespec(plain))
            } else {
                Err(missing(&format!("inode {plain}")))
            }
        });
        let page_index = if has("page", "__folio_index") {
            Some(PageIndex::FolioIndex)
        } else if has("page", "index") {
            Some(PageIndex::Index)
        } else {
            None
        };
        FileLayout {
            children,
            times,
            page_index,
        }
    }
}

impl DirectMap {
    fn of(symbols: &SymbolTable) -> Result<DirectMap, KernelError> {
        if symbols.has_symbol("vmemmap_base") && symbols.has_symbol("page_offset_base") {
            Ok(DirectMap::Variables {
                page_size: symbols.layout("page")?.size(),
            })
        } else {
            Err(missing("direct map (vmemmap_base, page_offset_base)"))
        }
    }
}

impl Kernel {
    /// The layouts of this kernel's changing structures, resolved on first use.
    pub fn layouts(&self) -> &Layouts {
        self.layouts.get_or_init(|| Layouts::of(&self.symbols))
    }
}
