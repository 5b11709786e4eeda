//! The kernel's XArray (and the radix tree and IDR built on it): a tree of `xa_node`s whose slots hold
//! pointers, tagged internal entries (child nodes, siblings, retry markers) or tagged values. Used for the
//! PID table (`pid_namespace.idr`) and page caches (`address_space.i_pages`).

use std::collections::HashSet;

use super::{Kernel, KernelError};

/// `XA_CHUNK_SHIFT`: each tree level indexes this many bits.
const CHUNK_SHIFT: u64 = 6;
/// Internal entries at or below this value are not nodes (siblings, retry and zero entries).
const LAST_NON_NODE: u64 = 4096;

/// One pointer stored in an XArray.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XaEntry {
    /// The first index it is stored at.
    pub index: u64,
    /// How many indices it covers: 1, or more for a multi-index entry (a large folio in a page cache),
    /// which fills its node slot's range and the sibling slots after it.
    pub span: u64,
    /// The pointer.
    pub pointer: u64,
}

/// The pointers stored in one XArray, with their indices, and what went wrong on the way.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct XaWalk {
    /// The entries in index order.
    pub entries: Vec<XaEntry>,
    /// The first part of the tree that could not be read or looked wrong (the rest is still walked), or
    /// the bound reached.
    pub problem: Option<String>,
}

/// Every pointer entry of the XArray at `xa` (a `struct xarray`, or a `radix_tree_root`, which is one),
/// at most `limit`; value entries and internal markers are skipped.
pub fn entries(kernel: &Kernel, xa: u64, limit: usize) -> Result<XaWalk, KernelError> {
    let head = kernel
        .read_u64(xa.wrapping_add(kernel.member_offset("xarray", "xa_head")?))
        .map_err(|e| KernelError::memory(format!("xarray.xa_head at {xa:#x}"), Some(e)))?;
    let layout = kernel.symbols().layout("xa_node")?;
    let slots = layout.field("slots")?;
    let count = match slots.1 {
        crate::symbols::TypeRef::Array { count, .. } => *count,
        _ => return Err(KernelError::Layout("xa_node.slots is not an array".into())),
    };
    let mut walker = Walker {
        kernel,
        node: NodeLayout {
            shift: layout.field("shift")?.0,
            slots: slots.0,
            count,
        },
        limit,
        seen: HashSet::new(),
        full: false,
        walk: XaWalk::default(),
    };
    walker.visit(head, 0, None, 1);
    Ok(walker.walk)
}

/// A sibling entry: internal (`... 10` in the low bits) and naming a slot of its node (below 64).
fn is_sibling(entry: u64) -> bool {
    entry & 3 == 2 && (entry >> 2) < (1 << CHUNK_SHIFT)
}

struct NodeLayout {
    shift: u64,
    slots: u64,
    count: u64,
}

/// One walk of a tree: what it has met, and whether the bound is reached.
struct Walker<'k> {
    kernel: &'k Kernel,
    node: NodeLayout,
    limit: usize,
    seen: HashSet<u64>,
    full: bool,
    walk: XaWalk,
}

impl Walker<'_> {
    /// Record the first problem; the rest of the tree is still walked.
    fn note(&mut self, problem: String) {
        self.walk.problem.get_or_insert(problem);
    }

    /// Record the entry `entry` covering `span` indices from `base`; descend into nodes. `parent_shift`
    /// is the shift of the node holding the entry (`None` at the root), which a child's shift must be
    /// below.
    fn visit(&mut self, entry: u64, base: u64, parent_shift: Option<u64>, span: u64) {
        if entry == 0 || entry & 1 == 1 || self.full {
            return; // empty slot, value entry, or the bound already reached
        }
        if entry & 3 != 2 {
            if self.walk.entries.len() == self.limit {
                self.full = true;
                self.walk.problem = Some(format!("stopped after {} entries", self.limit));
            } else {
                self.walk.entries.push(XaEntry {
                    index: base,
                    span,
                    pointer: entry,
                });
            }
            return;
        }
        if entry <= LAST_NON_NODE {
            return; // sibling, retry or zero entry
        }
        let addr = entry - 2;
        if !self.seen.insert(addr) {
            self.note(format!("node {addr:#x} met twice (a cycle)"));
            return;
        }
        let mut shift = [0u8; 1];
        if let Err(e) = self.kernel.read(addr.wrapping_add(self.node.shift), &mut shift) {
            self.note(format!("node {addr:#x} unreadable: {e}"));
            return;
        }
        let shift = u64::from(shift[0]);
        if shift % CHUNK_SHIFT != 0 || shift >= 64 || parent_shift.is_some_and(|p| shift >= p) {
            self.note(format!("node {addr:#x} has shift {shift}: not a tree node"));
            return;
        }
        let mut slots = vec![0u8; self.node.count as usize * 8];
        if let Err(e) = self.kernel.read(addr.wrapping_add(self.node.slots), &mut slots) {
            self.note(format!("slots of node {addr:#x} unreadable: {e}"));
            return;
        }
        let slots: Vec<u64> = slots
            .chunks_exact(8)
            .map(|s| u64::from_le_bytes(s.try_into().expect("8-byte chunk")))
            .collect();
        for (i, &child) in slots.iter().enumerate() {
            let index = base.wrapping_add((i as u64).checked_shl(shift as u32).unwrap_or(0));
            // A multi-index entry is followed by sibling entries (`xa_mk_sibling(i)`) pointing back to it.
            let siblings = slots[i + 1..]
                .iter()
                .take_while(|&&s| is_sibling(s) && (s >> 2) as usize == i)
                .count() as u64;
            let span = (siblings + 1).checked_shl(shift as u32).unwrap_or(u64::MAX);
            self.visit(child, index, Some(shift), span);
        }
    }
}
