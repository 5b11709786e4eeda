//! The IPv4 FIB: each table's level-compressed trie (`struct trie` of `key_vector` nodes, as
//! `net/ipv4/fib_trie.c` keeps it), whose leaves hold `fib_alias` lists.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr};

use super::{AliasTable, Fib, FibRoute, MAX_NODES, MAX_ROUTES, MAX_TABLES};
use crate::kernel::net::NetNs;
use crate::kernel::KernelError;

/// Most next hops of one route.
const MAX_NEXTHOPS: u64 = 256;
/// Largest `bits` of a trie node (the kernel's KEYLENGTH is 32; real nodes are far smaller).
const MAX_NODE_BITS: u8 = 20;

impl Fib<'_> {
    /// The IPv4 routes of a namespace's tables, in each trie's key order, into `out`; returns the
    /// problems met (an error stops the walk, keeping what `out` holds).
    pub fn ipv4_routes(&mut self, ns: &NetNs, out: &mut Vec<FibRoute>) -> Result<Vec<String>, KernelError> {
        let kernel = self.kernel;
        let net = kernel.object("net", ns.addr)?;
        let v4 = net.member("ipv4")?;
        let mut problems = Vec::new();
        let mut seen_tries = HashSet::new();
        for first in self.table_heads(&v4, self.layout.v4_tables)? {
            let tables = kernel.walk_hlist(first, "fib_table", "tb_hlist", MAX_TABLES)?;
            problems.extend(tables.problem);
            for table in tables.items {
                let t = kernel.object("fib_table", table)?;
                let trie = t.pointer("tb_data")?;
                // A table whose trie is shared (local merged into main) is walked once.
                if trie == 0 || !seen_tries.insert(trie) {
                    continue;
                }
                let table_id = t.u64("tb_id")?;
                self.walk_trie(trie, table_id, out, &mut problems)?;
            }
        }
        Ok(problems)
    }

    fn walk_trie(
        &mut self,
        trie: u64,
        table_id: u64,
        out: &mut Vec<FibRoute>,
        problems: &mut Vec<String>,
    ) -> Result<(), KernelError> {
        let kernel = self.kernel;
        let kv = kernel.symbols().layout("key_vector")?;
        // The union after the key: a leaf's hlist_head, or an inner node's child pointers.
        let children_off = kv.ty.fields.iter().find(|f| f.anonymous).map(|f| f.offset).unwrap_or(8);
        let root = kernel
            .read_u64(trie.wrapping_add(children_off))
            .map_err(|e| KernelError::memory(format!("trie root at {trie:#x}"), Some(e)))?;
        let mut stack = vec![root];
        let mut seen = HashSet::new();
        let mut found = 0usize;
        while let Some(node) = stack.pop() {
            if node == 0 {
                continue;
            }
            if !seen.insert(node) || seen.len() > MAX_NODES {
                problems.push(format!(
                    "table {table_id}: trie walk stopped at {node:#x} (cycle or too many nodes)"
                ));
                break;
            }
            let mut head = [0u8; 8];
            if let Err(e) = kernel.read(node, &mut head) {
                problems.push(format!("table {table_id}: trie node at {node:#x} unreadable: {e}"));
                continue;
            }
            let key = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
            let (pos, bits) = (head[4], head[5]);
            if pos == 0 && bits == 0 {
                let first = kernel.read_u64(node.wrapping_add(children_off)).unwrap_or(0);
                let aliases = kernel.walk_hlist(first, "fib_alias", "fa_list", MAX_ROUTES)?;
                problems.extend(aliases.problem);
                for alias in aliases.items {
                    found += 1;
                    if found > MAX_ROUTES {
                        problems.push(format!("table {table_id}: stopped after {MAX_ROUTES} routes"));
                        return Ok(());
                    }
                    match self.alias(key, alias, table_id) {
                        Ok(route) => out.push(route),
                        Err(e) => problems.push(format!("route at {alias:#x}: {e}")),
                    }
                }
            } else if bits <= MAX_NODE_BITS {
                let count = 1usize << bits;
                let mut children = vec![0u8; count * 8];
                match kernel.read(node.wrapping_add(children_off), &mut children) {
                    // Pushed in reverse so that the walk pops them in key order, as `ip route` lists them.
                    Ok(()) => stack.extend(
                        children
                            .chunks_exact(8)
                            .rev()
                            .map(|c| u64::from_le_bytes(c.try_into().unwrap_or_default())),
                    ),
                    Err(e) => problems.push(format!("table {table_id}: children of {node:#x} unreadable: {e}")),
                }
            } else {
                problems.push(format!("table {table_id}: trie node at {node:#x} has {bits} bits"));
            }
        }
        Ok(())
    }

    /// One `fib_alias` of the leaf with key `key`, in the table `table_id` whose trie holds it.
    fn alias(&mut self, key: u32, alias: u64, table_id: u64) -> Result<FibRoute, KernelError> {
        let kernel = self.kernel;
        let fa = kernel.object("fib_alias", alias)?;
        let table_id = match self.layout.alias_table {
            AliasTable::Alias => fa.u64("tb_id")?,
            AliasTable::Trie => table_id,
        };
        let prefix_len = 32u32.saturating_sub(fa.u64("fa_slen")? as u32).min(32);
        let mask = if prefix_len == 0 {
            0
        } else {
            u32::MAX << (32 - prefix_len)
        };
        let info = fa
            .deref_as("fa_info", "fib_info")?
            .ok_or_else(|| KernelError::Layout("fib_alias without fib_info".into()))?;
        let prefsrc = match info.u64("fib_prefsrc")? as u32 {
            0 => None,
            // Stored in network order: the bytes as they are in memory.
            v => Some(Ipv4Addr::from(v.to_le_bytes())),
        };
        let mut route = FibRoute {
            route_type: fa.u64("fa_type")?,
            metric: info.u64("fib_priority")?,
            protocol: info.u64("fib_protocol")?,
            scope: Some(info.u64("fib_scope")?),
            prefsrc,
            ..FibRoute::at(
                info.addr(),
                table_id,
                IpAddr::V4(Ipv4Addr::from(key & mask)),
                u64::from(prefix_len),
            )
        };
        if !self.object_hops(&info, self.layout.v4_nexthop, &mut route)? {
            let count = info.u64("fib_nhs")?.clamp(1, MAX_NEXTHOPS);
            let nh_size = self.size_of(self.layout.hops.fib_nh_size, "fib_nh")?;
            let first = info.field_addr("fib_nh")?;
            for i in 0..count {
                let nh = kernel.object("fib_nh", first.wrapping_add(i * nh_size))?;
                let hop = self.next_hop(&nh, self.layout.hops.fib_nh)?;
                route.hops.push(hop);
            }
        }
        Ok(route)
    }
}
