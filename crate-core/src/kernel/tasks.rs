//! Tasks: walking the kernel's task lists and reading what `/proc/PID/status` shows of each task (ids,
//! parent, credentials, capabilities, namespaces, start time).
//!
//! The walks ([`processes`], [`threads_of`], [`all_tasks`]) give task addresses and are bounded; reading a
//! task ([`read_task`]) gives a [`TaskInfo`] whose parts that could not be read are `None`, with a warning
//! saying why. Layouts are chosen by what the symbols contain (`thread_pid` or `pids`, `start_boottime` or
//! `real_start_time`, `kernel_cap_t.val` or `cap[2]`, `signal_struct.thread_head` or `thread_group`).

use std::collections::HashSet;

use super::layouts::{CapSet, KthreadData, NsKind, StartTime, TaskPid, ThreadList, Timekeeper};
use super::{Kernel, KernelError, Object};
use crate::symbols::TypeRef;

/// Upper bound on the entries of one task list (the kernel's `PID_MAX_LIMIT`).
pub const MAX_TASKS: usize = 4 * 1024 * 1024;

/// Upper bound on the threads of one process walked.
pub const MAX_THREADS: usize = 1024 * 1024;

/// Deepest pid namespace nesting the kernel allows (`MAX_PID_NS_LEVEL`).
const MAX_PID_NS_LEVEL: u64 = 32;

/// `PF_KTHREAD`: the task is a kernel thread.
pub const PF_KTHREAD: u64 = 0x0020_0000;

/// `PF_WQ_WORKER`: the task is a workqueue worker.
pub const PF_WQ_WORKER: u64 = 0x0000_0020;

/// Task addresses from a list walk, and what went wrong on the way.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskWalk {
    /// Addresses of the `task_struct`s, in list order.
    pub tasks: Vec<u64>,
    /// One line per problem (a broken link, a cut-off list).
    pub warnings: Vec<String>,
    /// The processes the PID table holds (their `task_struct` addresses); `None` where it was not read.
    pub in_pid_table: Option<HashSet<u64>>,
    /// Processes found only in the PID table, not on the task list (listed last in `tasks`).
    pub pid_table_only: HashSet<u64>,
}

/// The processes (thread-group leaders) on `init_task.tasks`, in list order, without `init_task` itself
/// (the idle task, pid 0, which `ps` does not show either); then any process the PID table holds that the
/// list does not (unlinked from the list to hide it, or past a break in a smeared list), with a warning.
pub fn processes(kernel: &Kernel) -> Result<TaskWalk, KernelError> {
    let init = kernel.placement().init_task;
    let head = init.wrapping_add(kernel.member_offset("task_struct", "tasks")?);
    let walk = kernel.walk_list(head, "task_struct", "tasks", MAX_TASKS)?;
    let mut out = TaskWalk {
        tasks: walk.items,
        ..TaskWalk::default()
    };
    if let Some(p) = walk.problem {
        out.warnings.push(format!("process list (init_task.tasks): {p}"));
    }
    match pid_table_processes(kernel, &mut out.warnings) {
        Ok(table) => {
            let listed: HashSet<u64> = out.tasks.iter().copied().collect();
            let extra: Vec<(u64, i64)> = table.iter().copied().filter(|(t, _)| !listed.contains(t)).collect();
            if !extra.is_empty() {
                let pids: Vec<String> = extra.iter().map(|(_, pid)| pid.to_string()).collect();
                out.warnings.push(format!(
                    "{} processes are in the PID table but not on the task list (hidden, or past a break in \
                     the list): pids {}",
                    extra.len(),
                    pids.join(" ")
                ));
            }
            out.pid_table_only = extra.iter().map(|(t, _)| *t).collect();
            out.tasks.extend(extra.iter().map(|(t, _)| *t));
            out.in_pid_table = Some(table.into_iter().map(|(t, _)| t).collect());
        }
        Err(e) => out.warnings.push(format!("PID table (init_pid_ns.idr) not read: {e}")),
    }
    Ok(out)
}

/// The processes the initial pid namespace's PID table (`init_pid_ns.idr`) holds: for every pid whose
/// `struct pid` has a task of type `PIDTYPE_PID` that leads its thread group, (task address, pid), in pid
/// order. Each task must carry the pid it is filed under; one that does not is left out with a warning.
pub fn pid_table_processes(kernel: &Kernel, warnings: &mut Vec<String>) -> Result<Vec<(u64, i64)>, KernelError> {
    let symbols = kernel.symbols();
    let pid_type = symbols
        .enum_constant("pid_type", "PIDTYPE_PID")
        .and_then(|v| u64::try_from(v).ok())
        .unwrap_or(0);
    let idr = kernel
        .symbol_addr("init_pid_ns")?
        .wrapping_add(kernel.member_offset("pid_namespace", "idr")?);
    let root = idr.wrapping_add(kernel.member_offset("idr", "idr_rt")?);
    let walk = super::xarray::entries(kernel, root, MAX_TASKS)?;
    if let Some(p) = walk.problem {
        warnings.push(format!("PID table (init_pid_ns.idr): {p}"));
    }
    let hlist_head = symbols.size_of(&TypeRef::User("hlist_head".into()))?;
    let hlist_node = symbols.size_of(&TypeRef::User("hlist_node".into()))?;
    let tasks_at = kernel.member_offset("pid", "tasks")? + pid_type * hlist_head;
    let link_at = kernel.member_offset("task_struct", "pid_links")? + pid_type * hlist_node;
    let mut out = Vec::new();
    let mut misfiled = 0usize;
    for super::xarray::XaEntry {
        index: nr,
        pointer: pid,
        ..
    } in walk.entries
    {
        let Ok(first) = kernel.read_u64(pid.wrapping_add(tasks_at)) else {
            misfiled += 1;
            continue;
        };
        if first == 0 {
            continue; // a pid without a task of this type (a process group or session id only)
        }
        let task = first.wrapping_sub(link_at);
        let ids = kernel
            .object("task_struct", task)
            .and_then(|t| Ok((t.i64("pid")?, t.i64("tgid")?)));
        match ids {
            Ok((p, tgid)) if p == nr as i64 => {
                if p == tgid {
                    out.push((task, p));
                }
            }
            _ => misfiled += 1,
        }
    }
    if misfiled > 0 {
        warnings.push(format!(
            "PID table (init_pid_ns.idr): {misfiled} entries do not lead to a task carrying their pid: left out"
        ));
    }
    Ok(out)
}

/// Call `visit` with each process of [`processes`] read as a `task_struct`, with its thread-group id and
/// `warnings`; the walk's problems and every task that cannot be read become lines in `warnings`.
pub fn for_each_process<'k>(
    kernel: &'k Kernel,
    warnings: &mut Vec<String>,
    mut visit: impl FnMut(Object<'k>, u32, &mut Vec<String>),
) -> Result<(), KernelError> {
    let walk = processes(kernel)?;
    warnings.extend(walk.warnings);
    for task_addr in walk.tasks {
        match kernel
            .object("task_struct", task_addr)
            .and_then(|task| Ok((task.u64("tgid")? as u32, task)))
        {
            Ok((pid, task)) => visit(task, pid, warnings),
            Err(e) => warnings.push(format!("task at {task_addr:#x}: {e}")),
        }
    }
    Ok(())
}

/// The threads of the process whose leader is at `leader`, the leader first, on the list [`ThreadList`]
/// says the kernel keeps.
pub fn threads_of(kernel: &Kernel, leader: u64) -> Result<TaskWalk, KernelError> {
    let mut out = TaskWalk {
        tasks: vec![leader],
        ..TaskWalk::default()
    };
    let walk = if kernel.layouts().threads()? == ThreadList::SignalHead {
        let signal = kernel.read_u64(leader.wrapping_add(kernel.member_offset("task_struct", "signal")?));
        let signal = match signal {
            Ok(0) => return Ok(out), // exited: the signal struct is gone
            Ok(s) => s,
            Err(e) => {
                out.warnings
                    .push(format!("task {leader:#x}: signal pointer unreadable: {e}"));
                return Ok(out);
            }
        };
        let head = signal.wrapping_add(kernel.member_offset("signal_struct", "thread_head")?);
        let mut walk = kernel.walk_list(head, "task_struct", "thread_node", MAX_THREADS)?;
        walk.items.retain(|&t| t != leader);
        walk
    } else {
        let head = leader.wrapping_add(kernel.member_offset("task_struct", "thread_group")?);
        kernel.walk_list(head, "task_struct", "thread_group", MAX_THREADS)?
    };
    out.tasks.extend(walk.items);
    if let Some(p) = walk.problem {
        out.warnings.push(format!("threads of task {leader:#x}: {p}"));
    }
    Ok(out)
}

/// Every task: each process of [`processes`] followed by its other threads (the PID-table sets keep
/// naming processes).
pub fn all_tasks(kernel: &Kernel) -> Result<TaskWalk, KernelError> {
    let procs = processes(kernel)?;
    let mut out = TaskWalk {
        tasks: Vec::with_capacity(procs.tasks.len()),
        warnings: procs.warnings,
        in_pid_table: procs.in_pid_table,
        pid_table_only: procs.pid_table_only,
    };
    for &leader in &procs.tasks {
        let t = threads_of(kernel, leader)?;
        out.tasks.extend(t.tasks);
        out.warnings.extend(t.warnings);
        if out.tasks.len() > MAX_TASKS {
            out.warnings.push(format!("stopped after {MAX_TASKS} tasks"));
            break;
        }
    }
    Ok(out)
}

/// Namespace inode numbers (`ns_common.inum`, what `/proc/PID/ns/*` links name); `None` where the kernel
/// lacks the kind, the task has no nsproxy (exiting or a zombie) or memory could not be read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Namespaces {
    /// UTS namespace.
    pub uts: Option<u64>,
    /// IPC namespace.
    pub ipc: Option<u64>,
    /// Mount namespace.
    pub mnt: Option<u64>,
    /// Network namespace.
    pub net: Option<u64>,
    /// The pid namespace the task's pid lives in (`task_active_pid_ns`).
    pub pid: Option<u64>,
    /// User namespace of the task's credentials.
    pub user: Option<u64>,
    /// Cgroup namespace.
    pub cgroup: Option<u64>,
    /// Time namespace.
    pub time: Option<u64>,
}

impl Namespaces {
    /// The inode of one kind.
    pub fn get(&self, kind: NsKind) -> Option<u64> {
        *match kind {
            NsKind::Uts => &self.uts,
            NsKind::Ipc => &self.ipc,
            NsKind::Mnt => &self.mnt,
            NsKind::Net => &self.net,
            NsKind::Pid => &self.pid,
            NsKind::User => &self.user,
            NsKind::Cgroup => &self.cgroup,
            NsKind::Time => &self.time,
        }
    }

    /// Where one kind's inode is kept.
    pub fn slot(&mut self, kind: NsKind) -> &mut Option<u64> {
        match kind {
            NsKind::Uts => &mut self.uts,
            NsKind::Ipc => &mut self.ipc,
            NsKind::Mnt => &mut self.mnt,
            NsKind::Net => &mut self.net,
            NsKind::Pid => &mut self.pid,
            NsKind::User => &mut self.user,
            NsKind::Cgroup => &mut self.cgroup,
            NsKind::Time => &mut self.time,
        }
    }
}

/// Credentials of a task (`task->cred`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Credentials {
    /// Real user id.
    pub uid: u32,
    /// Real group id.
    pub gid: u32,
    /// Effective user id.
    pub euid: u32,
    /// Effective group id.
    pub egid: u32,
    /// Inheritable capabilities.
    pub cap_inh: u64,
    /// Permitted capabilities.
    pub cap_prm: u64,
    /// Effective capabilities.
    pub cap_eff: u64,
    /// Bounding set.
    pub cap_bnd: u64,
    /// Ambient capabilities.
    pub cap_amb: u64,
    /// Address of the credentials' user namespace.
    pub user_ns: u64,
}

/// What memory says about one task.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskInfo {
    /// Address of the `task_struct`.
    pub addr: u64,
    /// `task->pid`: the thread id in the initial pid namespace.
    pub tid: i64,
    /// `task->tgid`: the process id.
    pub tgid: i64,
    /// The parent process's tgid (`real_parent`), 0 for children of the idle task.
    pub ppid: Option<i64>,
    /// Address of the parent task (`real_parent`).
    pub parent_addr: Option<u64>,
    /// Address of the thread-group leader.
    pub group_leader: Option<u64>,
    /// `task->comm`, at most 15 characters.
    pub comm: String,
    /// What `/proc/PID/status` shows as `Name`: the full kthread name or the workqueue suffix for kernel
    /// threads; `None` when it could not be recovered.
    pub name: Option<String>,
    /// `task->flags`.
    pub flags: u64,
    /// Nanoseconds since boot (suspend included) at which the task started, as `/proc/PID/stat` counts.
    pub start_boottime_ns: Option<u64>,
    /// The innermost pid number (the last of `NSpid`).
    pub pid_in_ns: Option<i64>,
    /// Namespaces.
    pub ns: Namespaces,
    /// Credentials, `None` when unreadable.
    pub cred: Option<Credentials>,
}

impl TaskInfo {
    /// Whether `PF_KTHREAD` is set.
    pub fn kernel_thread(&self) -> bool {
        self.flags & PF_KTHREAD != 0
    }
}

/// Read the basic identity of a task: its ids and comm, no more (for walks that only need to name it).
pub fn task_ids(kernel: &Kernel, addr: u64) -> Result<(i64, i64, String), KernelError> {
    let t = kernel.object("task_struct", addr)?;
    Ok((t.i64("pid")?, t.i64("tgid")?, t.string("comm")?))
}

/// Read a task. Fails only when the `task_struct` itself (its ids) cannot be read; every other part that
/// cannot be read is `None` with a line in `warnings`.
pub fn read_task(kernel: &Kernel, addr: u64, warnings: &mut Vec<String>) -> Result<TaskInfo, KernelError> {
    let t = kernel.object("task_struct", addr)?;
    let tid = t.i64("pid")?;
    let tgid = t.i64("tgid")?;
    let comm = t.string("comm").unwrap_or_default();
    let mut warn = |what: &str, e: KernelError| warnings.push(format!("task {addr:#x} (pid {tid}): {what}: {e}"));
    let flags = t.u64("flags").unwrap_or_else(|e| {
        warn("flags", e);
        0
    });
    let parent_addr = t.pointer("real_parent").ok().filter(|&p| p != 0);
    let ppid = match parent_addr {
        Some(p) => match read_i32(kernel, p, "task_struct", "tgid") {
            Ok(v) => Some(v),
            Err(e) => {
                warn("parent", e);
                None
            }
        },
        None => None,
    };
    let group_leader = t.pointer("group_leader").ok().filter(|&p| p != 0);
    let start_boottime_ns = match start_boottime(&t) {
        Ok(v) => Some(v),
        Err(e) => {
            warn("start time", e);
            None
        }
    };
    let cred = match t.deref("cred") {
        Ok(Some(c)) => match credentials(&c) {
            Ok(c) => Some(c),
            Err(e) => {
                warn("credentials", e);
                None
            }
        },
        Ok(None) => None,
        Err(e) => {
            warn("credentials", e);
            None
        }
    };
    let mut ns = Namespaces::default();
    let (pid_in_ns, pid_ns) = match innermost_pid(kernel, &t) {
        Ok(Some((nr, ns_addr))) => (Some(nr), ns_addr),
        Ok(None) => (None, 0),
        Err(e) => {
            warn("pid namespace", e);
            (None, 0)
        }
    };
    if pid_ns != 0 {
        ns.pid = ns_inum(kernel, pid_ns, "pid_namespace")
            .map_err(|e| warn("pid namespace", e))
            .ok();
    }
    if let Some(c) = cred.filter(|c| c.user_ns != 0) {
        ns.user = ns_inum(kernel, c.user_ns, "user_namespace")
            .map_err(|e| warn("user namespace", e))
            .ok();
    }
    match t.deref("nsproxy") {
        Ok(Some(proxy)) => {
            for &kind in kernel.layouts().proxied_namespaces() {
                let Some(field) = kind.nsproxy_member() else {
                    continue;
                };
                let inum = match proxy.pointer(field) {
                    Ok(0) => None,
                    Ok(p) => ns_inum(kernel, p, kind.type_name()).map_err(|e| warn(field, e)).ok(),
                    Err(e) => {
                        warn(field, e);
                        None
                    }
                };
                *ns.slot(kind) = inum;
            }
        }
        Ok(None) => {}
        Err(e) => warn("nsproxy", e),
    }
    let name = proc_name(kernel, &t, &comm, flags);
    Ok(TaskInfo {
        addr,
        tid,
        tgid,
        ppid,
        parent_addr,
        group_leader,
        comm,
        name,
        flags,
        start_boottime_ns,
        pid_in_ns,
        ns,
        cred,
    })
}

/// A 32-bit signed member of the struct `ty` at `addr`, read without reading the whole struct.
fn read_i32(kernel: &Kernel, addr: u64, ty: &str, member: &str) -> Result<i64, KernelError> {
    let at = addr.wrapping_add(kernel.member_offset(ty, member)?);
    let mut b = [0u8; 4];
    kernel
        .read(at, &mut b)
        .map_err(|e| KernelError::memory(format!("{ty}.{member} at {at:#x}"), Some(e)))?;
    Ok(i64::from(i32::from_le_bytes(b)))
}

/// `ns.inum` of the namespace struct `ty` at `addr`.
fn ns_inum(kernel: &Kernel, addr: u64, ty: &str) -> Result<u64, KernelError> {
    Ok(read_i32(kernel, addr, ty, "ns.inum")? as u32 as u64)
}

/// Nanoseconds since boot at which the task started, as [`StartTime`] says the kernel keeps it.
fn start_boottime(t: &Object<'_>) -> Result<u64, KernelError> {
    match t.kernel().layouts().start_time()? {
        StartTime::Nanoseconds(field) => t.u64(field),
        StartTime::Timespec(field) => {
            let ts = t.member(field)?;
            let sec = ts.i64("tv_sec")?;
            let nsec = ts.i64("tv_nsec")?;
            Ok((sec as u64).wrapping_mul(1_000_000_000).wrapping_add(nsec as u64))
        }
    }
}

/// A `kernel_cap_t` member, as [`CapSet`] says it is stored.
fn capability(cred: &Object<'_>, field: &str) -> Result<u64, KernelError> {
    let c = cred.member(field)?;
    if cred.kernel().layouts().caps()? == CapSet::Word {
        return c.u64("val");
    }
    let b = c.bytes("cap")?;
    let mut v = 0u64;
    for (i, w) in b.chunks_exact(4).take(2).enumerate() {
        let w: [u8; 4] = w.try_into().unwrap_or_default();
        v |= u64::from(u32::from_le_bytes(w)) << (32 * i);
    }
    Ok(v)
}

/// A `kuid_t`/`kgid_t` member's value.
fn id(cred: &Object<'_>, field: &str) -> Result<u32, KernelError> {
    let m = cred.member(field)?;
    Ok(m.u64("val")? as u32)
}

fn credentials(c: &Object<'_>) -> Result<Credentials, KernelError> {
    let extras = c.kernel().layouts().cred();
    Ok(Credentials {
        uid: id(c, "uid")?,
        gid: id(c, "gid")?,
        euid: id(c, "euid")?,
        egid: id(c, "egid")?,
        cap_inh: capability(c, "cap_inheritable")?,
        cap_prm: capability(c, "cap_permitted")?,
        cap_eff: capability(c, "cap_effective")?,
        cap_bnd: capability(c, "cap_bset")?,
        cap_amb: if extras.ambient {
            capability(c, "cap_ambient")?
        } else {
            0
        },
        user_ns: if extras.user_ns { c.pointer("user_ns")? } else { 0 },
    })
}

/// The task's `struct pid`, as [`TaskPid`] says the task links it.
fn task_pid(t: &Object<'_>) -> Result<u64, KernelError> {
    if t.kernel().layouts().task_pid()? == TaskPid::ThreadPid {
        return t.pointer("thread_pid");
    }
    // pids[0] is PIDTYPE_PID; a pid_link is { hlist_node node; struct pid *pid; }.
    let kernel = t.kernel();
    let pids = t.field_addr("pids")?;
    let off = kernel.member_offset("pid_link", "pid")?;
    kernel
        .read_u64(pids.wrapping_add(off))
        .map_err(|e| KernelError::memory(format!("task_struct.pids at {pids:#x}"), Some(e)))
}

/// The innermost pid number and the address of its pid namespace: `pid->numbers[pid->level]`.
fn innermost_pid(kernel: &Kernel, t: &Object<'_>) -> Result<Option<(i64, u64)>, KernelError> {
    let pid = task_pid(t)?;
    if pid == 0 {
        return Ok(None);
    }
    let p = kernel.object("pid", pid)?;
    let level = p.u64("level")?;
    if level > MAX_PID_NS_LEVEL {
        return Err(KernelError::Layout(format!("struct pid at {pid:#x} has level {level}")));
    }
    let upid_size = kernel.symbols().layout("upid")?.size();
    let at = p.field_addr("numbers")?.wrapping_add(level * upid_size);
    let upid = kernel.object("upid", at)?;
    Ok(Some((upid.i64("nr")?, upid.pointer("ns")?)))
}

/// What `/proc/PID/status` shows as `Name` (`proc_task_name`): for a workqueue worker its comm and `-` (or
/// `+` while it runs a work item) and the workqueue it last served; for another kernel thread its full name
/// when longer than comm; else comm. `None` for a kernel thread whose extra data cannot be read.
fn proc_name(kernel: &Kernel, t: &Object<'_>, comm: &str, flags: u64) -> Option<String> {
    if flags & PF_KTHREAD == 0 {
        return Some(comm.to_string());
    }
    let layouts = kernel.layouts();
    let field = match layouts.kthread()? {
        KthreadData::WorkerPrivate => "worker_private",
        KthreadData::SetChildTid => "set_child_tid",
    };
    let kthread = t.pointer(field).ok()?;
    if kthread == 0 {
        return Some(comm.to_string());
    }
    let kt = kernel.object("kthread", kthread).ok()?;
    if flags & PF_WQ_WORKER != 0 {
        let worker = kt.deref_as("data", "worker").ok()??;
        // A rescuer whose comm is `kworker/R-...` (6.9+) shows its workqueue's full name.
        let mut name = comm.to_string();
        if comm.starts_with("kworker/R-") && layouts.kthread_names().rescuer {
            if let Ok(Some(wq)) = worker.deref_as("rescue_wq", "workqueue_struct") {
                name = format!("kworker/R-{}", wq.string("name").ok()?);
            }
        }
        if worker.pointer("pool").ok()? != 0 {
            let desc = worker.string("desc").ok()?;
            if !desc.is_empty() {
                let sign = if worker.pointer("current_work").ok()? != 0 {
                    '+'
                } else {
                    '-'
                };
                name = format!("{name}{sign}{desc}");
            }
        }
        truncate_chars(&mut name, 63);
        return Some(name);
    }
    if !layouts.kthread_names().full_name {
        return Some(comm.to_string());
    }
    match kt.pointer("full_name").ok()? {
        0 => Some(comm.to_string()),
        p => {
            let full = kernel.read_c_string(p, 63).ok()?;
            Some(if full.is_empty() { comm.to_string() } else { full })
        }
    }
}

fn truncate_chars(s: &mut String, max: usize) {
    if let Some((i, _)) = s.char_indices().nth(max) {
        s.truncate(i);
    }
}

/// Wall-clock time of boot in nanoseconds since the Unix epoch, from the kernel's core timekeeper
/// (`offs_real - offs_boot`, what `getboottime64` and `/proc/stat`'s `btime` use), wherever
/// [`Timekeeper`] says it lives.
pub fn boot_time_ns(kernel: &Kernel) -> Result<i64, KernelError> {
    let shift = kernel.placement().virtual_shift;
    let symbols = kernel.symbols();
    let tk = match kernel.layouts().timekeeper()? {
        Timekeeper::TkCore(ty) => {
            let core = kernel.object(&ty, symbols.address("tk_core")?.wrapping_add(shift))?;
            core.member("timekeeper")?
        }
        Timekeeper::TimekeeperData {
            element,
            element_size,
            index,
        } => {
            let at = symbols.address("timekeeper_data")?.wrapping_add(shift);
            let core = kernel.object(&element, at.wrapping_add(index * element_size))?;
            core.member("timekeeper")?
        }
        Timekeeper::Global => kernel.object("timekeeper", symbols.address("timekeeper")?.wrapping_add(shift))?,
    };
    offsets(&tk)
}

fn offsets(tk: &Object<'_>) -> Result<i64, KernelError> {
    let real = tk.i64("offs_real")?;
    let boot = tk.i64("offs_boot")?;
    let wall = real.wrapping_sub(boot);
    // A boot before 1990 or after 2200 is not a timekeeper.
    if !(631_152_000_000_000_000..7_258_118_400_000_000_000).contains(&wall) {
        return Err(KernelError::Layout(format!(
            "timekeeper gives boot time {wall} ns: not a plausible time"
        )));
    }
    Ok(wall)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::testkit::{Memory, IMAGE};

    /// An ISF with `timekeeper {offs_real, offs_boot}`, the given extra user types and enums, and one symbol.
    fn isf(extra_types: &str, enums: &str, symbol: &str) -> String {
        format!(
            r#"{{"metadata": {{"format": "6.2.0"}},
              "base_types": {{"long long int": {{"size": 8, "signed": true, "kind": "int", "endian": "little"}},
                             "int": {{"size": 4, "signed": true, "kind": "int", "endian": "little"}}}},
              "user_types": {{"timekeeper": {{"kind": "struct", "size": 16, "fields": {{
                  "offs_real": {{"type": {{"kind": "base", "name": "long long int"}}, "offset": 0}},
                  "offs_boot": {{"type": {{"kind": "base", "name": "long long int"}}, "offset": 8}}}}}}
                  {extra_types}}},
              "enums": {{{enums}}},
              "symbols": {{{symbol}}}}}"#
        )
    }

    const BOOT_NS: i64 = 1_795_000_000_123_456_789;

    /// A timekeeper at `at` whose boot time is `BOOT_NS` (`offs_real - offs_boot`).
    fn timekeeper(mem: &mut Memory, at: u64) {
        mem.write(at, &(BOOT_NS + 5_000_000_000).to_le_bytes());
        mem.write(at + 8, &5_000_000_000i64.to_le_bytes());
    }

    const HOLDER: &str = r#"{"kind": "struct", "size": 24, "fields": {
        "seq": {"type": {"kind": "base", "name": "int"}, "offset": 0},
        "timekeeper": {"type": {"kind": "struct", "name": "timekeeper"}, "offset": 8}}}"#;

    #[test]
    fn boot_time_from_tk_core() {
        let mut mem = Memory::new();
        timekeeper(&mut mem, IMAGE + 0x1008);
        let types = format!(r#", "unnamed_1f": {HOLDER}"#);
        let sym = format!(
            r#""tk_core": {{"address": {}, "type": {{"kind": "struct", "name": "unnamed_1f"}}}}"#,
            IMAGE + 0x1000
        );
        assert_eq!(boot_time_ns(&mem.kernel(&isf(&types, "", &sym))), Ok(BOOT_NS));
    }

    #[test]
    fn boot_time_from_timekeeper_data_at_timekeeper_core() {
        // The enum, not a constant in the reader, says which element is the core timekeeper.
        let mut mem = Memory::new();
        timekeeper(&mut mem, IMAGE + 0x1000 + 24 + 8);
        let types = format!(r#", "tk_data": {HOLDER}"#);
        let enums = r#""timekeeper_ids": {"size": 4, "base": "unsigned int",
            "constants": {"TIMEKEEPER_AUX": 0, "TIMEKEEPER_CORE": 1, "TIMEKEEPERS_MAX": 2}}"#;
        let sym = format!(
            r#""timekeeper_data": {{"address": {}, "type": {{"kind": "array", "count": 2,
                "subtype": {{"kind": "struct", "name": "tk_data"}}}}}}"#,
            IMAGE + 0x1000
        );
        assert_eq!(boot_time_ns(&mem.kernel(&isf(&types, enums, &sym))), Ok(BOOT_NS));
    }

    #[test]
    fn boot_time_from_a_plain_timekeeper_and_implausible_ones_refused() {
        let mut mem = Memory::new();
        timekeeper(&mut mem, IMAGE + 0x2000);
        let sym = format!(r#""timekeeper": {{"address": {}}}"#, IMAGE + 0x2000);
        assert_eq!(boot_time_ns(&mem.kernel(&isf("", "", &sym))), Ok(BOOT_NS));
        let zeroed = Memory::new().kernel(&isf("", "", &sym));
        assert!(matches!(boot_time_ns(&zeroed), Err(KernelError::Layout(_))));
    }
}
