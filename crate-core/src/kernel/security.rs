//! A task's confinement: its seccomp mode and filter count (`task_struct.seccomp`, what
//! `/proc/PID/status` prints as `Seccomp` and `Seccomp_filters`), `no_new_privs` (`PFA_NO_NEW_PRIVS` in
//! `task_struct.atomic_flags`, `NoNewPrivs`) and its AppArmor label (the `struct aa_label *` AppArmor keeps
//! in the credentials' LSM blob, `cred->security + apparmor_blob_sizes.lbs_cred`, as `cred_label()` reads
//! it; `hname` is what `/proc/PID/attr/current` names, without the mode).
//!
//! Each is `None` where the kernel lacks it (no `CONFIG_SECCOMP`, no AppArmor) or memory could not be read.

use super::{Kernel, KernelError, Object};

/// `PFA_NO_NEW_PRIVS`: bit 0 of `task_struct.atomic_flags` (include/linux/sched.h).
const PFA_NO_NEW_PRIVS: u64 = 1;

/// Longest AppArmor label name read.
const MAX_LABEL: usize = 1024;

/// What confines one task.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Confinement {
    /// `disabled`, `strict` or `filter`.
    pub seccomp_mode: Option<String>,
    /// How many seccomp filters it runs under.
    pub seccomp_filters: Option<u32>,
    /// Whether `no_new_privs` is set.
    pub no_new_privs: Option<bool>,
    /// Its AppArmor label (`docker-default`, `unconfined`).
    pub apparmor_label: Option<String>,
}

/// The seccomp mode's name (`SECCOMP_MODE_*`).
fn seccomp_mode_name(mode: i64) -> String {
    match mode {
        0 => "disabled".into(),
        1 => "strict".into(),
        2 => "filter".into(),
        n => n.to_string(),
    }
}

/// What confines the task `task`.
pub fn confinement(kernel: &Kernel, task: &Object<'_>) -> Confinement {
    let mut out = Confinement::default();
    if let Ok(seccomp) = task.member("seccomp") {
        out.seccomp_mode = seccomp.i64("mode").ok().map(seccomp_mode_name);
        out.seccomp_filters = seccomp
            .member("filter_count")
            .and_then(|c| c.i64("counter"))
            .ok()
            .map(|n| n as u32);
    }
    out.no_new_privs = task.u64("atomic_flags").ok().map(|f| f & PFA_NO_NEW_PRIVS != 0);
    out.apparmor_label = apparmor_label(kernel, task).ok().flatten();
    out
}

fn apparmor_label(kernel: &Kernel, task: &Object<'_>) -> Result<Option<String>, KernelError> {
    if !kernel.symbols().has_symbol("apparmor_blob_sizes") {
        return Ok(None);
    }
    let sizes = kernel.global("apparmor_blob_sizes", "lsm_blob_sizes")?;
    let offset = sizes.i64("lbs_cred")?;
    let Some(cred) = task.deref("cred")? else {
        return Ok(None);
    };
    let blob = cred.pointer("security")?;
    if blob == 0 || !(0..4096).contains(&offset) {
        return Ok(None);
    }
    let at = blob.wrapping_add(offset as u64);
    let label = kernel
        .read_u64(at)
        .map_err(|e| KernelError::memory(format!("AppArmor label pointer at {at:#x}"), Some(e)))?;
    if label == 0 {
        return Ok(None);
    }
    let hname = kernel.object("aa_label", label)?.pointer("hname")?;
    if hname == 0 {
        return Ok(None);
    }
    Ok(Some(kernel.read_c_string(hname, MAX_LABEL)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seccomp_modes_are_named() {
        assert_eq!(seccomp_mode_name(0), "disabled");
        assert_eq!(seccomp_mode_name(2), "filter");
        assert_eq!(seccomp_mode_name(7), "7");
    }
}
