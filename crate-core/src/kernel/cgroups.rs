//! Cgroups: the control groups a task belongs to, named by their paths as `/proc/PID/cgroup` prints them
//! (`/system.slice/docker-<id>.scope` on cgroup v2, `/docker/<id>` in a v1 hierarchy), and whether the v2
//! freezer holds a group frozen (what `docker pause` does).
//!
//! A task's `css_set` (`task_struct.cgroups`) names its cgroup in the default (v2) hierarchy
//! (`dfl_cgrp`) and, per controller, the cgroup of the hierarchy that controller is bound to
//! (`subsys[i]->cgroup`: a v1 hierarchy, or the default one again). A cgroup's path is its kernfs
//! directory's names up to the hierarchy's root (`kernfs_node.name`, `.parent`; see
//! `kernfs_path_from_node` in fs/kernfs/dir.c). [`CgroupLayout`] says where the parent is kept.

use super::layouts::CgroupLayout;
use super::{Kernel, KernelError};

/// Deepest cgroup nesting walked (the kernel's default `cgroup.max.depth` is unlimited, real trees are a
/// handful of levels).
pub const MAX_DEPTH: usize = 64;

/// Longest kernfs node name read (`NAME_MAX`).
const MAX_NAME: usize = 255;

/// One cgroup a task belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cgroup {
    /// Address of the `struct cgroup`.
    pub addr: u64,
    /// Its path from its hierarchy's root (`/` for the root itself).
    pub path: String,
}

/// The cgroups of one task.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskCgroups {
    /// Its cgroup of the default (v2) hierarchy first, then each other cgroup its controllers put it in
    /// (v1 hierarchies), each once.
    pub cgroups: Vec<Cgroup>,
    /// Whether the v2 freezer holds its default cgroup frozen (`cgroup.freezer.freeze`); `None` where the
    /// kernel keeps no v2 freezer.
    pub frozen: Option<bool>,
}

/// The cgroups of the task at `task`.
pub fn task_cgroups(kernel: &Kernel, task: u64) -> Result<TaskCgroups, KernelError> {
    let layout = kernel.layouts().cgroups()?;
    let css_set = read_pointer(kernel, task, "task_struct", "cgroups")?;
    if css_set == 0 {
        return Ok(TaskCgroups::default());
    }
    let dfl = read_pointer(kernel, css_set, "css_set", "dfl_cgrp")?;
    let mut addrs = Vec::new();
    if dfl != 0 {
        addrs.push(dfl);
    }
    let subsys = css_set.wrapping_add(kernel.member_offset("css_set", "subsys")?);
    let css_cgroup = kernel.member_offset("cgroup_subsys_state", "cgroup")?;
    for i in 0..layout.subsys {
        let css = kernel
            .read_u64(subsys.wrapping_add(8 * i))
            .map_err(|e| KernelError::memory(format!("css_set.subsys[{i}] at {css_set:#x}"), Some(e)))?;
        if css == 0 {
            continue;
        }
        let cgrp = kernel
            .read_u64(css.wrapping_add(css_cgroup))
            .map_err(|e| KernelError::memory(format!("cgroup_subsys_state.cgroup at {css:#x}"), Some(e)))?;
        if cgrp != 0 && !addrs.contains(&cgrp) {
            addrs.push(cgrp);
        }
    }
    let mut out = TaskCgroups::default();
    for addr in addrs {
        out.cgroups.push(Cgroup {
            addr,
            path: cgroup_path(kernel, &layout, addr)?,
        });
    }
    if layout.freezer && dfl != 0 {
        let at = dfl.wrapping_add(kernel.member_offset("cgroup", "freezer.freeze")?);
        let mut b = [0u8; 1];
        kernel
            .read(at, &mut b)
            .map_err(|e| KernelError::memory(format!("cgroup.freezer.freeze at {at:#x}"), Some(e)))?;
        out.frozen = Some(b[0] != 0);
    }
    Ok(out)
}

/// The path of the cgroup at `cgrp` from its hierarchy's root: its kernfs node's names, the root's left
/// out.
pub fn cgroup_path(kernel: &Kernel, layout: &CgroupLayout, cgrp: u64) -> Result<String, KernelError> {
    let name_at = kernel.member_offset("kernfs_node", "name")?;
    let parent_at = kernel.member_offset("kernfs_node", layout.parent.member())?;
    let mut kn = read_pointer(kernel, cgrp, "cgroup", "kn")?;
    let mut names = Vec::new();
    for _ in 0..=MAX_DEPTH {
        if kn == 0 {
            break;
        }
        let parent = kernel
            .read_u64(kn.wrapping_add(parent_at))
            .map_err(|e| KernelError::memory(format!("kernfs_node.parent at {kn:#x}"), Some(e)))?;
        if parent == 0 {
            names.reverse();
            return Ok(format!("/{}", names.join("/")));
        }
        let name = kernel
            .read_u64(kn.wrapping_add(name_at))
            .map_err(|e| KernelError::memory(format!("kernfs_node.name at {kn:#x}"), Some(e)))?;
        names.push(kernel.read_c_string(name, MAX_NAME)?);
        kn = parent;
    }
    Err(KernelError::Layout(format!(
        "cgroup at {cgrp:#x}: no hierarchy root within {MAX_DEPTH} levels"
    )))
}

fn read_pointer(kernel: &Kernel, addr: u64, ty: &str, member: &str) -> Result<u64, KernelError> {
    let at = addr.wrapping_add(kernel.member_offset(ty, member)?);
    kernel
        .read_u64(at)
        .map_err(|e| KernelError::memory(format!("{ty}.{member} at {at:#x}"), Some(e)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::testkit::{Memory, IMAGE};

    /// An ISF with the cgroup structures, kernfs naming its parent `parent_member`.
    fn isf(parent_member: &str) -> String {
        let ptr = r#"{"kind": "pointer", "subtype": {"kind": "base", "name": "void"}}"#;
        format!(
            r#"{{"metadata": {{"format": "6.2.0"}},
              "base_types": {{"void": {{"size": 0, "signed": false, "kind": "void", "endian": "little"}},
                             "_Bool": {{"size": 1, "signed": false, "kind": "bool", "endian": "little"}}}},
              "user_types": {{
                "task_struct": {{"kind": "struct", "size": 16, "fields": {{"cgroups": {{"type": {ptr}, "offset": 8}}}}}},
                "css_set": {{"kind": "struct", "size": 24, "fields": {{
                    "subsys": {{"type": {{"kind": "array", "count": 2, "subtype": {ptr}}}, "offset": 0}},
                    "dfl_cgrp": {{"type": {ptr}, "offset": 16}}}}}},
                "cgroup_subsys_state": {{"kind": "struct", "size": 8, "fields": {{"cgroup": {{"type": {ptr}, "offset": 0}}}}}},
                "cgroup_freezer_state": {{"kind": "struct", "size": 4, "fields": {{
                    "freeze": {{"type": {{"kind": "base", "name": "_Bool"}}, "offset": 0}}}}}},
                "cgroup": {{"kind": "struct", "size": 16, "fields": {{"kn": {{"type": {ptr}, "offset": 0}},
                    "freezer": {{"type": {{"kind": "struct", "name": "cgroup_freezer_state"}}, "offset": 8}}}}}},
                "kernfs_node": {{"kind": "struct", "size": 24, "fields": {{
                    "{parent_member}": {{"type": {ptr}, "offset": 8}}, "name": {{"type": {ptr}, "offset": 16}}}}}}}},
              "enums": {{}}, "symbols": {{}}}}"#
        )
    }

    fn put(mem: &mut Memory, at: u64, v: u64) {
        mem.write(at, &v.to_le_bytes());
    }

    /// A node named `name` under `parent` at `at` (its name stored 0x100 further).
    fn node(mem: &mut Memory, at: u64, parent: u64, name: &str) {
        put(mem, at + 8, parent);
        put(mem, at + 16, at + 0x100);
        mem.write(at + 0x100, format!("{name}\0").as_bytes());
    }

    fn memory() -> Memory {
        let mut mem = Memory::new();
        let (task, css_set, v1_css, dfl, v1) = (IMAGE, IMAGE + 0x100, IMAGE + 0x200, IMAGE + 0x300, IMAGE + 0x380);
        put(&mut mem, task + 8, css_set);
        put(&mut mem, css_set + 8, v1_css);
        put(&mut mem, css_set + 16, dfl);
        put(&mut mem, v1_css, v1);
        // v2: / -> system.slice -> docker-<id>.scope, frozen; v1: / -> docker -> <id>.
        put(&mut mem, dfl, IMAGE + 0x1000);
        mem.write(dfl + 8, &[1]);
        node(&mut mem, IMAGE + 0x1000, IMAGE + 0x1200, "docker-ab.scope");
        node(&mut mem, IMAGE + 0x1200, IMAGE + 0x1400, "system.slice");
        node(&mut mem, IMAGE + 0x1400, 0, "");
        put(&mut mem, v1, IMAGE + 0x2000);
        node(&mut mem, IMAGE + 0x2000, IMAGE + 0x2200, "ab");
        node(&mut mem, IMAGE + 0x2200, IMAGE + 0x2400, "docker");
        node(&mut mem, IMAGE + 0x2400, 0, "");
        mem
    }

    #[test]
    fn paths_of_both_hierarchies_and_the_freezer() {
        for member in ["parent", "__parent"] {
            let kernel = memory().kernel(&isf(member));
            let found = task_cgroups(&kernel, IMAGE).unwrap();
            let paths: Vec<&str> = found.cgroups.iter().map(|c| c.path.as_str()).collect();
            assert_eq!(paths, ["/system.slice/docker-ab.scope", "/docker/ab"], "{member}");
            assert_eq!(found.frozen, Some(true));
        }
    }

    #[test]
    fn a_cyclic_tree_is_an_error_not_a_hang() {
        let mut mem = memory();
        node(&mut mem, IMAGE + 0x1400, IMAGE + 0x1000, "loop");
        let kernel = mem.kernel(&isf("parent"));
        assert!(matches!(task_cgroups(&kernel, IMAGE), Err(KernelError::Layout(_))));
    }
}
