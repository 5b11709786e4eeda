//! `envars`: each process's environment as `/proc/PID/environ` shows it, read from the process's own
//! memory (`mm->env_start..env_end`). What the process was started with: a later `setenv` changes a copy
//! elsewhere, and a process that overran its arguments with a title (setproctitle) shows that here too.

use serde::Serialize;

use super::Analysis;
use crate::kernel::{mm, tasks, Kernel, KernelError};

/// One environment variable of one process.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EnvVar {
    /// Process id.
    pub pid: u32,
    /// `task->comm`.
    pub comm: Option<String>,
    /// The variable's name (the text before the first `=`; the whole string where there is none).
    pub name: String,
    /// Its value; null for a string without `=`.
    pub value: Option<String>,
    /// Address of the `task_struct`.
    #[serde(with = "crate::hex")]
    pub task_addr: u64,
}

/// The environment of every process of [`tasks::processes`] that has memory of its own.
pub fn envars(kernel: &Kernel) -> Result<Analysis<EnvVar>, KernelError> {
    let mut warnings = Vec::new();
    let mut rows = Vec::new();
    tasks::for_each_process(kernel, &mut warnings, |task, pid, warnings| {
        let comm = task.string("comm").ok();
        let strings = mm::mm_of(kernel, &task).and_then(|m| match m {
            Some(m) => {
                let (start, end) = (m.u64("env_start")?, m.u64("env_end")?);
                mm::read_area(kernel, &m, start, end).map(|b| mm::split_strings(&b))
            }
            None => Ok(Vec::new()),
        });
        match strings {
            Ok(strings) => rows.extend(strings.into_iter().filter(|s| !s.is_empty()).map(|s| {
                let (name, value) = match s.split_once('=') {
                    Some((n, v)) => (n.to_string(), Some(v.to_string())),
                    None => (s, None),
                };
                EnvVar {
                    pid,
                    comm: comm.clone(),
                    name,
                    value,
                    task_addr: task.addr(),
                }
            })),
            Err(e) => warnings.push(format!(
                "pid {pid} ({}): environment: {e}",
                comm.as_deref().unwrap_or("?")
            )),
        }
    })?;
    Ok(Analysis { rows, warnings })
}
