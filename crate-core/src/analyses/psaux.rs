//! `psaux`: each process's command line, as `/proc/PID/cmdline` and `ps -o args` show it, read from the
//! process's own memory (`mm->arg_start..arg_end`, through its page tables `mm->pgd`).
//!
//! A process that rewrote its arguments (setproctitle, as sshd and login do) shows its title, as the kernel
//! shows it. Kernel threads have no memory of their own: their command line is null, as /proc gives none. A page of
//! the arguments that is not in the capture (swapped out, never faulted in) makes the command line unknown
//! (null, with a warning) rather than cut.

use serde::Serialize;

use super::Analysis;
use crate::kernel::{mm, tasks, Kernel, KernelError, Object};

/// One process's command line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CommandLine {
    /// Process id.
    pub pid: u32,
    /// Parent process id; null when unreadable.
    pub ppid: Option<u32>,
    /// `task->comm`.
    pub comm: Option<String>,
    /// Whether the task is a kernel thread (then `args` is null).
    pub kernel_thread: bool,
    /// The arguments, `argv[0]` first; null for kernel threads and where memory could not confirm them.
    pub args: Option<Vec<String>>,
    /// The arguments joined by spaces, as `ps -o args` prints them (without trailing blanks).
    pub cmdline: Option<String>,
    /// Address of the `task_struct`.
    #[serde(with = "crate::hex")]
    pub task_addr: u64,
}

/// The command line of every process of [`tasks::processes`].
pub fn psaux(kernel: &Kernel) -> Result<Analysis<CommandLine>, KernelError> {
    let mut warnings = Vec::new();
    let mut rows = Vec::new();
    tasks::for_each_process(kernel, &mut warnings, |task, pid, warnings| {
        let comm = task.string("comm").ok();
        let ppid = task
            .deref_as("real_parent", "task_struct")
            .ok()
            .flatten()
            .and_then(|p| p.u64("tgid").ok())
            .map(|p| p as u32);
        let flags = task.u64("flags").unwrap_or(0);
        let kernel_thread = flags & tasks::PF_KTHREAD != 0;
        let args = if kernel_thread {
            None
        } else {
            match arguments(kernel, &task) {
                Ok(a) => a,
                Err(e) => {
                    warnings.push(format!(
                        "pid {pid} ({}): command line: {e}",
                        comm.as_deref().unwrap_or("?")
                    ));
                    None
                }
            }
        };
        rows.push(CommandLine {
            pid,
            ppid,
            comm,
            kernel_thread,
            cmdline: args.as_ref().map(|a| a.join(" ").trim_end().to_string()),
            args,
            task_addr: task.addr(),
        });
    })?;
    Ok(Analysis { rows, warnings })
}

/// The arguments in `mm->arg_start..arg_end`; `None` for a task without memory of its own.
fn arguments(kernel: &Kernel, task: &Object<'_>) -> Result<Option<Vec<String>>, KernelError> {
    let Some(mm) = mm::mm_of(kernel, task)? else {
        return Ok(None);
    };
    let (start, end) = (mm.u64("arg_start")?, mm.u64("arg_end")?);
    let bytes = mm::read_area(kernel, &mm, start, end)?;
    if bytes.last().is_none_or(|&b| b == 0) {
        return Ok(Some(mm::split_strings(&bytes)));
    }
    // The area's last byte is not NUL: the process rewrote its arguments (setproctitle). As the kernel's
    // /proc/PID/cmdline does, show one string, up to the first NUL, running on into the environment area
    // where it directly follows the arguments.
    let (env_start, env_end) = (mm.u64("env_start")?, mm.u64("env_end")?);
    let mut bytes = bytes;
    if env_start == end && env_end > env_start && env_end - start <= mm::MAX_AREA {
        bytes.extend(mm::read_area(kernel, &mm, end, env_end)?);
    }
    let title = &bytes[..memchr::memchr(0, &bytes).unwrap_or(bytes.len())];
    Ok(Some(vec![String::from_utf8_lossy(title).into_owned()]))
}
