//! `lsof`: the open files of each process, named as `readlink /proc/PID/fd/N` names them.
//!
//! For each thread-group leader on `init_task.tasks` ([`tasks::processes`]): `task->files->fdt` gives `max_fds` and the array of
//! `struct file` pointers; each non-NULL entry is an open descriptor. Its path comes from the shared
//! resolver ([`PathResolver`]) seen from the process's own root (`task->fs->root`), its type, mode,
//! size and owner from the inode.

use serde::Serialize;

use super::Analysis;
use crate::kernel::paths::{file_type_of_mode, mode_string, PathResolver, Reach};
use crate::kernel::{files, tasks, Kernel, KernelError, Object};

/// One open file descriptor of a process.
#[derive(Debug, Clone, Serialize)]
pub struct OpenFile {
    /// Process id (thread-group id).
    pub pid: u32,
    /// The process's `comm` (null if unreadable).
    pub comm: Option<String>,
    /// Descriptor number.
    pub fd: u32,
    /// The path as the process sees it (from its own root), or the pseudo name (`socket:[17721]`,
    /// `pipe:[14916]`, `anon_inode:[eventpoll]`); ` (deleted)` is appended to unlinked files.
    pub path: Option<String>,
    /// Inode number (`i_ino`).
    pub inode: Option<u64>,
    /// `regular`, `dir`, `socket`, `pipe`, `fifo`, `anon_inode`, `char`, `block`, `symlink` or `unknown`.
    pub file_type: Option<String>,
    /// Name of the file system type of the file's superblock (`ext4`, `overlay`, `sockfs`, `nsfs`...).
    pub fs_type: Option<String>,
    /// The inode's `i_mode` (type and permission bits).
    pub mode: Option<u32>,
    /// `i_mode` as `ls -l` shows it (`-rw-r--r--`).
    pub mode_str: Option<String>,
    /// File size in bytes (`i_size`).
    pub size: Option<i64>,
    /// Owner uid of the inode.
    pub uid: Option<u32>,
    /// Owner gid of the inode.
    pub gid: Option<u32>,
    /// The open flags (`f_flags`: O_RDONLY, O_WRONLY, O_RDWR, O_APPEND, O_NONBLOCK...).
    pub flags: Option<u32>,
    /// The file position (`f_pos`).
    pub pos: Option<i64>,
    /// The file was deleted while open.
    pub deleted: Option<bool>,
    /// The path lies outside the process's root (it is given relative to its namespace's root).
    pub outside_root: Option<bool>,
    /// Address of the `struct file`.
    #[serde(with = "crate::hex")]
    pub file_addr: u64,
    /// Address of the inode.
    #[serde(with = "crate::hex::option")]
    pub inode_addr: Option<u64>,
    /// Address of the process's `task_struct`.
    #[serde(with = "crate::hex")]
    pub task_addr: u64,
}

/// Options of [`lsof`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// Only these processes (thread-group ids); empty: all.
    pub pids: Vec<u32>,
}

/// The open files of every process (or of the processes in `options.pids`, when not empty).
pub fn lsof(kernel: &Kernel, options: &Options) -> Result<Analysis<OpenFile>, KernelError> {
    let pids = &options.pids;
    let mut warnings = Vec::new();
    let resolver = PathResolver::new(kernel);
    let mut rows = Vec::new();
    tasks::for_each_process(kernel, &mut warnings, |task, pid, warnings| {
        if !pids.is_empty() && !pids.contains(&pid) {
            return;
        }
        let comm = task.string("comm").ok();
        let label = comm.as_deref().unwrap_or("?");
        if let Err(e) = process_files(&resolver, &task, pid, comm.as_deref(), &mut rows, warnings) {
            warnings.push(format!("pid {pid} ({label}): open files not readable: {e}"));
        }
    })?;
    Ok(Analysis { rows, warnings })
}

fn process_files(
    resolver: &PathResolver<'_>,
    task: &Object<'_>,
    pid: u32,
    comm_value: Option<&str>,
    rows: &mut Vec<OpenFile>,
    warnings: &mut Vec<String>,
) -> Result<(), KernelError> {
    let kernel = resolver.kernel();
    let comm = comm_value.unwrap_or("?");
    // A zombie leader's descriptors (and root) are its threads'.
    let task = &files::descriptor_holder(kernel, task.clone());
    let root = match task.deref("fs") {
        Ok(Some(fs)) => match fs.member("root") {
            Ok(r) => Some(r),
            Err(e) => {
                warnings.push(format!(
                    "pid {pid} ({comm}): root directory unreadable, paths from the namespace root: {e}"
                ));
                None
            }
        },
        Ok(None) => None,
        Err(e) => {
            warnings.push(format!(
                "pid {pid} ({comm}): fs_struct unreadable, paths from the namespace root: {e}"
            ));
            None
        }
    };
    let mut table_warnings = Vec::new();
    let descriptors = files::open_files(kernel, task, &mut table_warnings)?;
    warnings.extend(table_warnings.into_iter().map(|w| format!("pid {pid} ({comm}): {w}")));
    for (fd, file_addr) in descriptors {
        rows.push(open_file(
            resolver,
            task.addr(),
            pid,
            comm_value,
            fd,
            file_addr,
            root.as_ref(),
            warnings,
        ));
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn open_file(
    resolver: &PathResolver<'_>,
    task_addr: u64,
    pid: u32,
    comm: Option<&str>,
    fd: u32,
    file_addr: u64,
    root: Option<&Object<'_>>,
    warnings: &mut Vec<String>,
) -> OpenFile {
    let comm_value = comm.map(str::to_string);
    let comm = comm.unwrap_or("?");
    let mut row = OpenFile {
        pid,
        comm: comm_value,
        fd,
        path: None,
        inode: None,
        file_type: None,
        fs_type: None,
        mode: None,
        mode_str: None,
        size: None,
        uid: None,
        gid: None,
        flags: None,
        pos: None,
        deleted: None,
        outside_root: None,
        file_addr,
        inode_addr: None,
        task_addr,
    };
    let kernel = resolver.kernel();
    let file = match kernel.object("file", file_addr) {
        Ok(f) => f,
        Err(e) => {
            warnings.push(format!("pid {pid} ({comm}) fd {fd}: {e}"));
            return row;
        }
    };
    row.flags = file.u64("f_flags").ok().map(|v| v as u32);
    row.pos = file.i64("f_pos").ok();
    match resolver.file_path(&file, root) {
        Ok(r) => {
            row.deleted = Some(r.deleted);
            row.outside_root = Some(root.is_some() && matches!(r.reach, Reach::NamespaceRoot | Reach::Detached));
            row.path = Some(r.path);
        }
        Err(e) => warnings.push(format!("pid {pid} ({comm}) fd {fd}: path: {e}")),
    }
    let inode = match file.deref("f_inode") {
        Ok(Some(i)) => i,
        Ok(None) => return row,
        Err(e) => {
            warnings.push(format!("pid {pid} ({comm}) fd {fd}: inode: {e}"));
            return row;
        }
    };
    row.inode_addr = Some(inode.addr());
    row.inode = inode.u64("i_ino").ok();
    let mode = inode.u64("i_mode").ok().map(|m| m as u32);
    row.mode = mode;
    row.mode_str = mode.map(mode_string);
    row.size = inode.i64("i_size").ok();
    row.uid = inode.member("i_uid").and_then(|u| u.u64("val")).ok().map(|v| v as u32);
    row.gid = inode.member("i_gid").and_then(|g| g.u64("val")).ok().map(|v| v as u32);
    let sb = inode.pointer("i_sb").ok();
    row.fs_type = sb.and_then(|sb| resolver.fs_type(sb));
    row.file_type = mode.map(|m| {
        match (row.fs_type.as_deref(), file_type_of_mode(m)) {
            (Some("anon_inodefs" | "pidfs"), _) => "anon_inode",
            (Some("pipefs"), "fifo") => "pipe",
            (_, t) => t,
        }
        .to_string()
    });
    row
}
