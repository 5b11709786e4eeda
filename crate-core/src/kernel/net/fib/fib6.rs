//! The IPv6 FIB: each table's radix tree of `fib6_node` (`net/ipv6/ip6_fib.c`), whose nodes with
//! `RTN_RTINFO` carry a chain of `fib6_info` (Linux 4.18 on).

use std::collections::HashSet;
use std::net::{IpAddr, Ipv6Addr};

use super::{Fib, FibRoute, MAX_NODES, MAX_ROUTES, MAX_TABLES};
use crate::kernel::net::NetNs;
use crate::kernel::{KernelError, Object};

/// `fib6_node.fn_flags` bit: the node carries routes.
const RTN_RTINFO: u64 = 4;

impl Fib<'_> {
    /// The IPv6 routes of a namespace's tables into `out`; returns the problems met (an error stops the
    /// walk, keeping what `out` holds).
    pub fn ipv6_routes(&mut self, ns: &NetNs, out: &mut Vec<FibRoute>) -> Result<Vec<String>, KernelError> {
        let kernel = self.kernel;
        let net = kernel.object("net", ns.addr)?;
        if !self.layout.v6 {
            return Ok(vec![
                "no fib6_info in the symbols: IPv6 routes of this layout are not read".into(),
            ]);
        }
        let v6 = net.member("ipv6")?;
        let null_entry = v6.pointer("fib6_null_entry").unwrap_or(0);
        let mut problems = Vec::new();
        for first in self.table_heads(&v6, self.layout.v6_tables)? {
            let tables = kernel.walk_hlist(first, "fib6_table", "tb6_hlist", MAX_TABLES)?;
            problems.extend(tables.problem);
            for table in tables.items {
                let t = kernel.object("fib6_table", table)?;
                let table_id = t.u64("tb6_id")?;
                let root = t.field_addr("tb6_root")?;
                self.walk_fib6(root, table_id, null_entry, out, &mut problems)?;
            }
        }
        Ok(problems)
    }

    fn walk_fib6(
        &mut self,
        root: u64,
        table_id: u64,
        null_entry: u64,
        out: &mut Vec<FibRoute>,
        problems: &mut Vec<String>,
    ) -> Result<(), KernelError> {
        let kernel = self.kernel;
        let links = self.layout.fib6_children;
        let children: Vec<&str> = [(links.subtree, "subtree"), (links.right, "right"), (links.left, "left")]
            .into_iter()
            .filter_map(|(has, name)| has.then_some(name))
            .collect();
        let mut stack = vec![root];
        let mut seen = HashSet::new();
        let mut found = 0usize;
        while let Some(addr) = stack.pop() {
            if addr == 0 || !seen.insert(addr) {
                continue;
            }
            if seen.len() > MAX_NODES {
                problems.push(format!("table {table_id}: fib6 walk stopped after {MAX_NODES} nodes"));
                break;
            }
            let node = match kernel.object("fib6_node", addr) {
                Ok(n) => n,
                Err(e) => {
                    problems.push(format!("table {table_id}: {e}"));
                    continue;
                }
            };
            for child in &children {
                stack.push(node.pointer(child)?);
            }
            if node.u64("fn_flags")? & RTN_RTINFO == 0 {
                continue;
            }
            let mut info_addr = node.pointer("leaf")?;
            let mut chain = HashSet::new();
            while info_addr != 0 && info_addr != null_entry && chain.insert(info_addr) {
                found += 1;
                if found > MAX_ROUTES {
                    problems.push(format!("table {table_id}: stopped after {MAX_ROUTES} routes"));
                    return Ok(());
                }
                let info = kernel.object("fib6_info", info_addr)?;
                match self.fib6_info(&info, table_id) {
                    Ok(route) => out.push(route),
                    Err(e) => problems.push(format!("route at {info_addr:#x}: {e}")),
                }
                info_addr = info.pointer("fib6_next")?;
            }
        }
        Ok(())
    }

    /// One `fib6_info`, in `table_id` unless it names its own table.
    fn fib6_info(&mut self, info: &Object<'_>, table_id: u64) -> Result<FibRoute, KernelError> {
        let kernel = self.kernel;
        let dst = info.member("fib6_dst")?;
        let addr: [u8; 16] = dst
            .bytes("addr")?
            .try_into()
            .map_err(|_| KernelError::Layout("in6_addr is not 16 bytes".into()))?;
        let prefix_len = dst.u64("plen")?.min(128);
        let table_id = match info.deref_as("fib6_table", "fib6_table")? {
            Some(t) => t.u64("tb6_id")?,
            None => table_id,
        };
        let mut route = FibRoute {
            route_type: info.u64("fib6_type")?,
            metric: info.u64("fib6_metric")?,
            protocol: info.u64("fib6_protocol")?,
            ..FibRoute::at(info.addr(), table_id, IpAddr::V6(Ipv6Addr::from(addr)), prefix_len)
        };
        if self.object_hops(info, self.layout.v6_nexthop, &mut route)? {
            return Ok(route);
        }
        let nh = kernel.object("fib6_nh", info.field_addr("fib6_nh")?)?;
        let hop = self.next_hop(&nh, self.layout.hops.fib6_nh)?;
        route.hops.push(hop);
        if self.layout.cache.fib6_nh_exceptions {
            // The low bit marks a flushed table (`FIB6_EXCEPTION_BUCKET_FLUSHED`).
            let buckets = nh.pointer("rt6i_exception_bucket")? & !1;
            if buckets != 0 {
                route.exceptions6 = Some((nh.addr(), buckets));
            }
        }
        Ok(route)
    }
}
