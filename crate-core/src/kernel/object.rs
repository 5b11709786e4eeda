//! Kernel objects: a struct read at a virtual address, its fields by name, pointers, strings and lists.

use std::collections::HashSet;
use std::rc::Rc;

use super::{Kernel, KernelError};
use crate::symbols::{BaseKind, Layout, TypeRef};

/// A struct or union read from kernel memory, with its layout from the symbols.
///
/// The bytes are read once; pages that were not present are remembered, and only fields that touch them
/// fail, each with an error naming the field.
#[derive(Clone)]
pub struct Object<'k> {
    kernel: &'k Kernel,
    layout: Rc<Layout>,
    addr: u64,
    bytes: Rc<[u8]>,
    /// Offset of this object within `bytes` (embedded members share their parent's bytes).
    start: usize,
    /// Byte ranges of `bytes` that could not be read.
    missing: Rc<[(usize, usize)]>,
}

impl std::fmt::Debug for Object<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} @ {:#x}", self.layout.name, self.addr)
    }
}

impl<'k> Object<'k> {
    /// Read a `type_name` at `addr`.
    pub(super) fn read(kernel: &'k Kernel, type_name: &str, addr: u64) -> Result<Object<'k>, KernelError> {
        let layout = kernel.symbols().layout(type_name)?;
        let size = usize::try_from(layout.size()).unwrap_or(usize::MAX).min(1 << 20);
        let mut bytes = vec![0u8; size];
        let missing = kernel.read_present(addr, &mut bytes);
        if missing.as_ref().is_some_and(|m| m.len() * 0x1000 >= size) {
            let err = kernel.read(addr, &mut bytes[..size.min(8)]);
            return Err(KernelError::memory(format!("{type_name} at {addr:#x}"), err.err()));
        }
        let missing = missing.unwrap_or_default();
        Ok(Object {
            kernel,
            layout,
            addr,
            bytes: bytes.into(),
            start: 0,
            missing: missing.into(),
        })
    }

    /// The object's virtual address.
    pub fn addr(&self) -> u64 {
        self.addr
    }

    /// The object's type name.
    pub fn type_name(&self) -> &str {
        &self.layout.name
    }

    /// The kernel it was read from.
    pub fn kernel(&self) -> &'k Kernel {
        self.kernel
    }

    /// Whether the type has this member.
    pub fn has(&self, field: &str) -> bool {
        self.layout.has_field(field)
    }

    /// The first of `names` that the type has: for members renamed across kernel versions.
    pub fn which<'n>(&self, names: &[&'n str]) -> Result<&'n str, KernelError> {
        names.iter().copied().find(|n| self.has(n)).ok_or_else(|| {
            KernelError::Layout(format!(
                "{} has none of the members {}",
                self.layout.name,
                names.join(", ")
            ))
        })
    }

    /// Virtual address of a member.
    pub fn field_addr(&self, field: &str) -> Result<u64, KernelError> {
        Ok(self.addr.wrapping_add(self.layout.field(field)?.0))
    }

    /// The bytes of a member, checked to be within the object and present.
    fn field_bytes(&self, field: &str, len: u64) -> Result<&[u8], KernelError> {
        let (offset, _) = self.layout.field(field)?;
        self.bytes_at(offset, len, field)
    }

    fn bytes_at(&self, offset: u64, len: u64, what: &str) -> Result<&[u8], KernelError> {
        let from = usize::try_from(offset).ok().and_then(|o| o.checked_add(self.start));
        let to = from.and_then(|f| f.checked_add(usize::try_from(len).ok()?));
        let (Some(from), Some(to)) = (from, to) else {
            return Err(KernelError::Layout(format!(
                "{}.{what} is out of range",
                self.layout.name
            )));
        };
        if self.missing.iter().any(|&(a, b)| from < b && a < to) {
            let addr = self.addr.wrapping_add(offset);
            return Err(KernelError::memory(
                format!("{}.{what} at {addr:#x}", self.layout.name),
                None,
            ));
        }
        self.bytes
            .get(from..to)
            .ok_or_else(|| KernelError::Layout(format!("{}.{what} lies past the end of the type", self.layout.name)))
    }

    /// An integer member (any base type, enum, pointer or bitfield), sign-extended when signed.
    pub fn int(&self, field: &str) -> Result<i128, KernelError> {
        let (offset, ty) = self.layout.field(field)?;
        self.int_at(offset, ty, field)
    }

    fn int_at(&self, offset: u64, ty: &TypeRef, what: &str) -> Result<i128, KernelError> {
        let symbols = self.kernel.symbols();
        let (size, signed) = match ty {
            TypeRef::Base(name) => {
                let b = symbols.base_type(name)?;
                (b.size, b.signed && b.kind != BaseKind::Bool)
            }
            TypeRef::Enum(name) => {
                let e = symbols.enum_type(name)?;
                (e.size, symbols.base_type(&e.base).map(|b| b.signed).unwrap_or(false))
            }
            TypeRef::Pointer(_) => (8, false),
            TypeRef::Bitfield {
                position,
                length,
                underlying,
            } => {
                let raw = self.int_at(offset, underlying, what)? as u128;
                let length = (*length).min(64);
                let value = (raw >> position.min(&127)) & ((1u128 << length) - 1);
                return Ok(value as i128);
            }
            other => {
                return Err(KernelError::Layout(format!(
                    "{}.{what} is not an integer ({other:?})",
                    self.layout.name
                )))
            }
        };
        if !matches!(size, 1 | 2 | 4 | 8 | 16) {
            return Err(KernelError::Layout(format!(
                "{}.{what} has integer size {size}",
                self.layout.name
            )));
        }
        let bytes = self.bytes_at(offset, size, what)?;
        let mut buf = [0u8; 16];
        buf[..bytes.len()].copy_from_slice(bytes);
        let unsigned = u128::from_le_bytes(buf);
        let bits = size * 8;
        if signed && bits < 128 && unsigned >> (bits - 1) & 1 == 1 {
            Ok((unsigned | (u128::MAX << bits)) as i128)
        } else {
            Ok(unsigned as i128)
        }
    }

    /// An unsigned integer member (`u64`), for ids, flags, counters and addresses.
    pub fn u64(&self, field: &str) -> Result<u64, KernelError> {
        Ok(self.int(field)? as u64)
    }

    /// A signed integer member.
    pub fn i64(&self, field: &str) -> Result<i64, KernelError> {
        Ok(self.int(field)? as i64)
    }

    /// A pointer member's value (0 for NULL).
    pub fn pointer(&self, field: &str) -> Result<u64, KernelError> {
        let b = self.field_bytes(field, 8)?;
        Ok(u64::from_le_bytes(b.try_into().unwrap_or_default()))
    }

    /// An embedded struct or union member, sharing this object's bytes.
    pub fn member(&self, field: &str) -> Result<Object<'k>, KernelError> {
        let (offset, ty) = self.layout.field(field)?;
        let name = match ty {
            TypeRef::User(name) => name,
            other => {
                return Err(KernelError::Layout(format!(
                    "{}.{field} is not a struct ({other:?})",
                    self.layout.name
                )))
            }
        };
        let layout = self.kernel.symbols().layout(name)?;
        self.bytes_at(offset, layout.size(), field)?;
        Ok(Object {
            kernel: self.kernel,
            layout,
            addr: self.addr.wrapping_add(offset),
            bytes: self.bytes.clone(),
            start: self.start + offset as usize,
            missing: self.missing.clone(),
        })
    }

    /// Follow a pointer member to the struct it points to; `None` for NULL.
    pub fn deref(&self, field: &str) -> Result<Option<Object<'k>>, KernelError> {
        let (_, ty) = self.layout.field(field)?;
        let target = match ty {
            TypeRef::Pointer(t) => t.user_name().map(str::to_string),
            _ => None,
        }
        .ok_or_else(|| KernelError::Layout(format!("{}.{field} is not a pointer to a struct", self.layout.name)))?;
        self.deref_as(field, &target)
    }

    /// Follow a pointer member, reading the target as `type_name`; `None` for NULL.
    pub fn deref_as(&self, field: &str, type_name: &str) -> Result<Option<Object<'k>>, KernelError> {
        match self.pointer(field)? {
            0 => Ok(None),
            p => self.kernel.object(type_name, p).map(Some),
        }
    }

    /// A `char` array member as text, up to its first NUL (invalid UTF-8 replaced).
    pub fn string(&self, field: &str) -> Result<String, KernelError> {
        let (offset, ty) = self.layout.field(field)?;
        let len = self.kernel.symbols().size_of(ty)?;
        let bytes = self.bytes_at(offset, len, field)?;
        Ok(c_string(bytes))
    }

    /// The raw bytes of a member.
    pub fn bytes(&self, field: &str) -> Result<&[u8], KernelError> {
        let (_, ty) = self.layout.field(field)?;
        let len = self.kernel.symbols().size_of(ty)?;
        self.field_bytes(field, len)
    }
}

/// Text up to the first NUL, invalid UTF-8 replaced.
pub fn c_string(bytes: &[u8]) -> String {
    let end = memchr::memchr(0, bytes).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

/// The containers found on a `list_head` list, and why the walk stopped early if it did.
#[derive(Debug, Default)]
pub struct ListWalk {
    /// Addresses of the containing structs, in list order.
    pub items: Vec<u64>,
    /// Set when the list did not close properly: a cycle not through the head, an unreadable link, or the
    /// bound reached.
    pub problem: Option<String>,
}

impl Kernel {
    /// Walk a circular `list_head` list from the head at `head` (not itself an entry), giving the address
    /// of each container whose `member` (a `list_head`, possibly nested as `a.b`) is linked; at most
    /// `limit` entries.
    ///
    /// Each step is checked as the kernel's list debugging does: the next entry's `prev` must point back.
    /// Where a link is unreadable, leads into a cycle or does not point back (a smeared page, a list changed
    /// under the acquisition), the walk goes on from the head backwards through `prev` until it meets what
    /// it has seen, so one bad entry costs that entry, not the rest of the list.
    pub fn walk_list(&self, head: u64, container: &str, member: &str, limit: usize) -> Result<ListWalk, KernelError> {
        let offset = self.member_offset(container, member)?;
        let layout = self.symbols().layout("list_head")?;
        let next_off = layout.field("next")?.0;
        let prev_off = layout.field("prev")?.0;
        let mut links = Vec::new();
        let mut seen = HashSet::from([head]);
        // Forward from the head; where that breaks off, backward from the head to the break.
        let problem = match self.follow_links(head, (next_off, prev_off), limit, &mut seen, &mut links) {
            None => None,
            Some(problem) if links.len() >= limit => Some(format!("{container} list: {problem}")),
            Some(problem) => {
                let mut tail = Vec::new();
                let back = self.follow_links(head, (prev_off, next_off), limit - links.len(), &mut seen, &mut tail);
                let recovered = tail.len();
                links.extend(tail.into_iter().rev());
                let back = match back {
                    Some(p) if !p.starts_with("met") => format!("; walking back: {p}"),
                    _ => String::new(),
                };
                Some(format!(
                    "{container} list: {problem}; {recovered} entries recovered walking back from the head{back}"
                ))
            }
        };
        Ok(ListWalk {
            items: links.into_iter().map(|l| l.wrapping_sub(offset)).collect(),
            problem,
        })
    }

    /// Follow `list_head` links from `start` through the member at `links.0` (next or prev), checking that
    /// each one's opposite link (`links.1`) points back, pushing the nodes visited (link addresses) until
    /// the walk returns to `start` (`None`), or stops: a bad link, a node already in `seen` (`met ...`),
    /// or `limit` nodes (`Some(why)`).
    fn follow_links(
        &self,
        start: u64,
        links: (u64, u64),
        limit: usize,
        seen: &mut HashSet<u64>,
        out: &mut Vec<u64>,
    ) -> Option<String> {
        let (forth, back) = links;
        let mut node = start;
        loop {
            let next = match self.read_u64(node.wrapping_add(forth)) {
                Ok(n) => n,
                Err(e) => return Some(format!("link at {node:#x} unreadable: {e}")),
            };
            if next == start {
                return None;
            }
            if seen.contains(&next) {
                return Some(format!("met an entry already seen at {next:#x} (a cycle)"));
            }
            match self.read_u64(next.wrapping_add(back)) {
                Ok(p) if p == node => {}
                Ok(p) => {
                    return Some(format!(
                        "link {node:#x} -> {next:#x} does not point back (it points to {p:#x})"
                    ))
                }
                Err(e) => return Some(format!("link at {node:#x} leads to {next:#x}, unreadable: {e}")),
            }
            if out.len() >= limit {
                return Some(format!("stopped after {limit} entries"));
            }
            seen.insert(next);
            out.push(next);
            node = next;
        }
    }

    /// Walk a NULL-terminated `hlist` whose first node pointer is `first`, giving the address of each
    /// container whose `member` (an `hlist_node`) is linked; at most `limit` entries.
    pub fn walk_hlist(&self, first: u64, container: &str, member: &str, limit: usize) -> Result<ListWalk, KernelError> {
        let offset = self.member_offset(container, member)?;
        let next_off = self.symbols().layout("hlist_node")?.field("next")?.0;
        let mut walk = ListWalk::default();
        let mut seen = HashSet::new();
        let mut node = first;
        while node != 0 {
            if !seen.insert(node) {
                walk.problem = Some(format!("{container} hash chain: cycle at {node:#x}"));
                break;
            }
            if walk.items.len() >= limit {
                walk.problem = Some(format!("{container} hash chain: stopped after {limit} entries"));
                break;
            }
            walk.items.push(node.wrapping_sub(offset));
            node = match self.read_u64(node.wrapping_add(next_off)) {
                Ok(n) => n,
                Err(e) => {
                    walk.problem = Some(format!("{container} hash chain: link at {node:#x} unreadable: {e}"));
                    break;
                }
            };
        }
        Ok(walk)
    }

    /// Walk an rb-tree in order (left subtree, node, right subtree) from the root node pointer `root` (an
    /// `rb_root.rb_node`), giving the address of each container whose `member` (an `rb_node`, possibly
    /// nested as `a.b`) is in the tree; at most `limit` entries.
    ///
    /// Each child's parent link (`__rb_parent_color` without its colour bit) must point back to the node
    /// it hangs from: a child that does not, an unreadable node or a node met twice (a cycle) ends that
    /// branch, named in `problem`, and the rest of the tree is still walked.
    pub fn walk_rbtree(&self, root: u64, container: &str, member: &str, limit: usize) -> Result<ListWalk, KernelError> {
        let offset = self.member_offset(container, member)?;
        let layout = self.symbols().layout("rb_node")?;
        let parent_off = layout.field("__rb_parent_color")?.0;
        let left_off = layout.field("rb_left")?.0;
        let right_off = layout.field("rb_right")?.0;
        let mut walk = ListWalk::default();
        let mut problems: Vec<String> = Vec::new();
        let mut seen = HashSet::new();
        // (node, its parent, whether its left subtree is done)
        let mut stack: Vec<(u64, u64, bool)> = Vec::new();
        if root != 0 {
            stack.push((root, 0, false));
        }
        let child = |node: u64, off: u64, problems: &mut Vec<String>| -> Option<u64> {
            match self.read_u64(node.wrapping_add(off)) {
                Ok(0) => None,
                Ok(c) => Some(c),
                Err(e) => {
                    problems.push(format!("child link of node {node:#x} unreadable: {e}"));
                    None
                }
            }
        };
        while let Some((node, parent, left_done)) = stack.pop() {
            if !left_done {
                if !seen.insert(node) {
                    problems.push(format!("node {node:#x} met twice (a cycle)"));
                    continue;
                }
                if seen.len() > limit {
                    problems.push(format!("stopped after {limit} entries"));
                    break;
                }
                match self.read_u64(node.wrapping_add(parent_off)) {
                    Ok(pc) if pc & !3 == parent => {}
                    Ok(pc) => {
                        problems.push(format!("node {node:#x} names parent {:#x}, not {parent:#x}", pc & !3));
                        continue;
                    }
                    Err(e) => {
                        problems.push(format!("node {node:#x} unreadable: {e}"));
                        continue;
                    }
                }
                stack.push((node, parent, true));
                if let Some(l) = child(node, left_off, &mut problems) {
                    stack.push((l, node, false));
                }
                continue;
            }
            walk.items.push(node.wrapping_sub(offset));
            if let Some(r) = child(node, right_off, &mut problems) {
                stack.push((r, node, false));
            }
        }
        if !problems.is_empty() {
            let more = problems.len() - 1;
            let first = problems.swap_remove(0);
            walk.problem = Some(if more > 0 {
                format!("{container} tree: {first} (and {more} more problems)")
            } else {
                format!("{container} tree: {first}")
            });
        }
        Ok(walk)
    }

    /// Read `buf.len()` bytes at `vaddr`, page by page where the whole read fails, keeping what is there:
    /// `None` when everything was read, else the byte ranges of `buf` that were not (left zero).
    pub fn read_present(&self, vaddr: u64, buf: &mut [u8]) -> Option<Vec<(usize, usize)>> {
        if self.read(vaddr, buf).is_ok() {
            return None;
        }
        let (len, mut off, mut missing) = (buf.len(), 0usize, Vec::new());
        while off < len {
            let at = vaddr.wrapping_add(off as u64);
            let take = (0x1000 - (at & 0xfff) as usize).min(len - off);
            if self.read(at, &mut buf[off..off + take]).is_err() {
                missing.push((off, off + take));
            }
            off += take;
        }
        Some(missing)
    }

    /// Offset of a possibly nested member (`a.b.c`) from the start of `type_name`.
    pub fn member_offset(&self, type_name: &str, path: &str) -> Result<u64, KernelError> {
        let mut layout = self.symbols().layout(type_name)?;
        let mut total = 0u64;
        let mut parts = path.split('.').peekable();
        while let Some(part) = parts.next() {
            let (offset, ty) = layout.field(part)?;
            total = total.wrapping_add(offset);
            if parts.peek().is_some() {
                let name = ty
                    .user_name()
                    .ok_or_else(|| KernelError::Layout(format!("{type_name}.{path}: {part} is not a struct")))?
                    .to_string();
                layout = self.symbols().layout(&name)?;
            }
        }
        Ok(total)
    }
}

#[cfg(test)]
mod tests {
    use crate::kernel::testkit::{Memory, IMAGE};

    /// `item { u64 key; rb_node node; }` and `rb_node { __rb_parent_color, rb_right, rb_left }`.
    const ISF: &str = r#"{"metadata": {"format": "6.2.0"},
      "base_types": {"long unsigned int": {"size": 8, "signed": false, "kind": "int", "endian": "little"}},
      "user_types": {
        "rb_node": {"kind": "struct", "size": 24, "fields": {
          "__rb_parent_color": {"type": {"kind": "base", "name": "long unsigned int"}, "offset": 0},
          "rb_right": {"type": {"kind": "pointer", "subtype": {"kind": "struct", "name": "rb_node"}}, "offset": 8},
          "rb_left": {"type": {"kind": "pointer", "subtype": {"kind": "struct", "name": "rb_node"}}, "offset": 16}}},
        "item": {"kind": "struct", "size": 32, "fields": {
          "key": {"type": {"kind": "base", "name": "long unsigned int"}, "offset": 0},
          "node": {"type": {"kind": "struct", "name": "rb_node"}, "offset": 8}}}},
      "enums": {}, "symbols": {}}"#;

    /// Item `i` (1-7) of a balanced tree keyed 1..7, rooted at 4; its node is 8 bytes in.
    fn item(i: u64) -> u64 {
        IMAGE + 0x1000 + i * 0x40
    }

    fn tree(mem: &mut Memory) {
        let node = |i: u64| if i == 0 { 0 } else { item(i) + 8 };
        // (item, parent, left, right), black colour bit set on some to check it is masked
        for (i, parent, left, right) in [
            (4, 0, 2, 6),
            (2, 4, 1, 3),
            (6, 4, 5, 7),
            (1, 2, 0, 0),
            (3, 2, 0, 0),
            (5, 6, 0, 0),
            (7, 6, 0, 0),
        ] {
            mem.write(item(i), &i.to_le_bytes());
            mem.write(node(i), &(node(parent) | (i & 1)).to_le_bytes());
            mem.write(node(i) + 8, &node(right).to_le_bytes());
            mem.write(node(i) + 16, &node(left).to_le_bytes());
        }
    }

    #[test]
    fn rbtree_in_order_and_damage_reported() {
        let mut mem = Memory::new();
        tree(&mut mem);
        let k = mem.kernel(ISF);
        let walk = k.walk_rbtree(item(4) + 8, "item", "node", 100).unwrap();
        assert_eq!(walk.items, (1..=7).map(item).collect::<Vec<_>>());
        assert_eq!(walk.problem, None);
        let cut = k.walk_rbtree(item(4) + 8, "item", "node", 3).unwrap();
        assert!(cut.items.len() <= 3 && cut.problem.is_some_and(|p| p.contains("stopped after 3")));

        // A leaf's left child pointed at the root: a cycle, named; every item still listed once.
        let mut mem = Memory::new();
        tree(&mut mem);
        mem.write(item(5) + 8 + 16, &(item(4) + 8).to_le_bytes());
        let walk = mem.kernel(ISF).walk_rbtree(item(4) + 8, "item", "node", 100).unwrap();
        assert_eq!(walk.items, (1..=7).map(item).collect::<Vec<_>>());
        assert!(walk.problem.is_some_and(|p| p.contains("met twice")));

        // A child whose parent link is wrong: its subtree is left out, the rest listed, the problem named.
        let mut mem = Memory::new();
        tree(&mut mem);
        mem.write(item(2) + 8, &0u64.to_le_bytes());
        let walk = mem.kernel(ISF).walk_rbtree(item(4) + 8, "item", "node", 100).unwrap();
        assert_eq!(walk.items, [4, 5, 6, 7].map(item));
        assert!(walk.problem.is_some_and(|p| p.contains("names parent")));
    }
}
