//! The forwarding tables (FIB) of a network namespace, IPv4 and IPv6, read as the kernel keeps them.
//!
//! IPv4 routes live in a level-compressed trie per table (`fib_table.tb_data` -> `struct trie`, [`trie`]):
//! inner nodes (`key_vector` with `bits > 0`) hold `1 << bits` child pointers, leaves (`pos == bits == 0`)
//! hold a list of `fib_alias`, one per route to that prefix. Since Linux 4.1 the local table may share the
//! main table's trie: each alias names its own table (`fa_alias.tb_id`). IPv6 routes live in a radix tree
//! of `fib6_node` per table, whose nodes carry chains of `fib6_info` ([`fib6`]).
//!
//! A route's next hops are its `fib_info`'s own `fib_nh` array (or its `fib6_info`'s `fib6_nh`), or, where
//! the route uses a next-hop object (`ip nexthop`, Linux 5.3 on: `fib_info.nh` set), that `struct nexthop`:
//! one `nh_info` or a group (`nh_group`) of them ([`nexthop`]). Next hops keep exception caches, the
//! redirects and path MTUs learned for single destinations ([`cache`]); kernels before 3.6 kept a global
//! route cache instead (`rt_hash_table`).
//!
//! Every layout choice of these walks is made once, when a [`Fib`] is made ([`FibLayout`]).

pub mod cache;
pub mod fib6;
pub mod nexthop;
pub mod trie;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::DeviceNames;
use crate::kernel::{Kernel, KernelError, Object};
use crate::symbols::SymbolTable;

pub use cache::{Exception, LegacyEntry};
pub use nexthop::Hop;

/// Most trie or tree nodes visited in one table.
pub const MAX_NODES: usize = 1 << 20;
/// Most routes read from one table.
pub const MAX_ROUTES: usize = 1 << 20;
/// Most tables on one hash chain.
const MAX_TABLES: usize = 4096;
/// Address families of a gateway or next hop.
pub const AF_INET: u64 = 2;
pub const AF_INET6: u64 = 10;

/// One route as the kernel keeps it: a `fib_alias` with its `fib_info`, or a `fib6_info`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FibRoute {
    /// The table's number (`fib_alias.tb_id` where aliases carry it, `fib6_info.fib6_table`'s).
    pub table_id: u64,
    /// Destination prefix (its address, host bits cleared for IPv4) and length.
    pub destination: IpAddr,
    pub prefix_len: u64,
    /// `RTN_*` route type.
    pub route_type: u64,
    /// Priority (`fib_priority`, `fib6_metric`).
    pub metric: u64,
    /// `RTPROT_*`: who installed it.
    pub protocol: u64,
    /// IPv4 scope (`RT_SCOPE_*`); none for IPv6.
    pub scope: Option<u64>,
    /// Preferred source address (IPv4), none when unset.
    pub prefsrc: Option<Ipv4Addr>,
    /// The next-hop object's id, where the route uses one.
    pub nexthop_id: Option<u64>,
    /// Its next hops: one per `fib_nh` (or the `fib6_nh`), or the object's members.
    pub hops: Vec<Hop>,
    /// IPv6 route with its own next hop: that `fib6_nh`'s address and its exception table (the bucket
    /// array, flush bit cleared), when it has one.
    pub exceptions6: Option<(u64, u64)>,
    /// Address of the `fib_info` or `fib6_info`.
    pub info: u64,
}

impl FibRoute {
    /// The route of `info` in `table_id` to `destination`/`prefix_len`, its other values still zero or
    /// none.
    fn at(info: u64, table_id: u64, destination: IpAddr, prefix_len: u64) -> FibRoute {
        FibRoute {
            table_id,
            destination,
            prefix_len,
            route_type: 0,
            metric: 0,
            protocol: 0,
            scope: None,
            prefsrc: None,
            nexthop_id: None,
            hops: Vec::new(),
            exceptions6: None,
            info,
        }
    }
}

/// Whether a namespace's table hash has 256 buckets (policy routing compiled in: the per-family netns
/// struct has a rules list) or the family's fixed count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableHash {
    /// `CONFIG_IP_MULTIPLE_TABLES` / `CONFIG_IPV6_MULTIPLE_TABLES` (Debian's and most distributions'
    /// kernels, every version): `FIB_TABLE_HASHSZ` 256; seen as `rules_ops` / `fib6_rules_ops`.
    Rules,
    /// Kernels built without policy routing: 2 buckets (IPv4) or 1 (IPv6).
    Fixed(u64),
}

impl TableHash {
    fn of(symbols: &SymbolTable, family_member: &str, fixed: u64) -> TableHash {
        let has_rules = member_type(symbols, "net", family_member).is_some_and(|t| {
            symbols
                .layout(&t)
                .is_ok_and(|l| l.has_field("rules_ops") || l.has_field("fib6_rules_ops"))
        });
        if has_rules {
            TableHash::Rules
        } else {
            TableHash::Fixed(fixed)
        }
    }

    fn buckets(self) -> u64 {
        match self {
            TableHash::Rules => 256,
            TableHash::Fixed(n) => n,
        }
    }
}

/// Where a route points at a next-hop object (`fib_info.nh`, `fib6_info.nh`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NexthopRef {
    /// Linux 5.3 on: the route may use a `struct nexthop` (`ip route ... nhid N`).
    Object,
    /// Before 5.3: the route's own next hops only.
    Own,
}

impl NexthopRef {
    fn of(symbols: &SymbolTable, info: &str) -> NexthopRef {
        if has_field(symbols, info, "nh") {
            NexthopRef::Object
        } else {
            NexthopRef::Own
        }
    }
}

/// Which table an IPv4 route belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AliasTable {
    /// Linux 4.1 on (the local and main tables may share one trie): `fib_alias.tb_id`.
    Alias,
    /// Before 4.1: the table whose trie holds it.
    Trie,
}

/// How the IPv6 radix tree links its nodes: `left`, `right`, and `subtree` with `CONFIG_IPV6_SUBTREES`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fib6Children {
    /// The node links the walk follows, in the order it pushes them (`subtree`, `right`, `left`).
    pub subtree: bool,
    pub right: bool,
    pub left: bool,
}

/// The layout choices of the FIB walks, resolved once from the symbols.
#[derive(Debug, Clone)]
pub struct FibLayout {
    pub v4_tables: TableHash,
    pub v6_tables: TableHash,
    pub alias_table: AliasTable,
    pub v4_nexthop: NexthopRef,
    pub v6_nexthop: NexthopRef,
    /// The symbols have the IPv6 FIB this reader knows (`net.ipv6`, `struct fib6_info`: Linux 4.18 on).
    pub v6: bool,
    pub fib6_children: Fib6Children,
    /// The next-hop layouts ([`nexthop::HopLayouts`]).
    pub hops: nexthop::HopLayouts,
    /// The exception caches' layouts.
    pub cache: cache::CacheLayout,
}

impl FibLayout {
    /// Resolve every choice from `symbols`; never fails: a choice a kernel cannot make is a variant that
    /// reports the problem where it is used.
    pub fn new(symbols: &SymbolTable) -> FibLayout {
        let node = |f: &str| has_field(symbols, "fib6_node", f);
        FibLayout {
            v4_tables: TableHash::of(symbols, "ipv4", 2),
            v6_tables: TableHash::of(symbols, "ipv6", 1),
            alias_table: if has_field(symbols, "fib_alias", "tb_id") {
                AliasTable::Alias
            } else {
                AliasTable::Trie
            },
            v4_nexthop: NexthopRef::of(symbols, "fib_info"),
            v6_nexthop: NexthopRef::of(symbols, "fib6_info"),
            v6: has_field(symbols, "net", "ipv6") && symbols.has_type("fib6_info"),
            fib6_children: Fib6Children {
                subtree: node("subtree"),
                right: node("right"),
                left: node("left"),
            },
            hops: nexthop::HopLayouts::new(symbols),
            cache: cache::CacheLayout::new(symbols),
        }
    }
}

/// Whether `ty` exists and has member `field`.
pub(crate) fn has_field(symbols: &SymbolTable, ty: &str, field: &str) -> bool {
    symbols.layout(ty).is_ok_and(|l| l.has_field(field))
}

/// The struct or union type of member `field` of `ty`.
fn member_type(symbols: &SymbolTable, ty: &str, field: &str) -> Option<String> {
    let layout = symbols.layout(ty).ok()?;
    let (_, t) = layout.field(field).ok()?;
    t.user_name().map(str::to_string)
}

/// The FIB reader of one kernel: its layout choices and the device names met so far.
pub struct Fib<'k> {
    kernel: &'k Kernel,
    layout: &'k FibLayout,
    /// Device names by `net_device` address.
    pub names: DeviceNames,
}

impl<'k> Fib<'k> {
    /// A reader for `kernel`, its layouts resolved.
    pub fn new(kernel: &'k Kernel) -> Fib<'k> {
        Fib {
            kernel,
            layout: kernel.layouts().fib(),
            names: DeviceNames::default(),
        }
    }

    /// The layout choices made.
    pub fn layout(&self) -> &FibLayout {
        self.layout
    }

    /// The first entries of the buckets of a table hash (`fib_table_hash`).
    fn table_heads(&self, netns_member: &Object<'_>, hash: TableHash) -> Result<Vec<u64>, KernelError> {
        let hash_addr = netns_member.pointer("fib_table_hash")?;
        if hash_addr == 0 {
            return Ok(Vec::new());
        }
        let mut firsts = Vec::new();
        for i in 0..hash.buckets() {
            let first = self
                .kernel
                .read_u64(hash_addr.wrapping_add(i * 8))
                .map_err(|e| KernelError::memory(format!("fib_table_hash[{i}]"), Some(e)))?;
            if first != 0 {
                firsts.push(first);
            }
        }
        Ok(firsts)
    }
}

/// The gateway of family `family` stored at `at`: an IPv4 address (none when 0.0.0.0) or an IPv6 one;
/// none for any other family.
pub fn gateway_at(kernel: &Kernel, at: u64, family: u64) -> Result<Option<IpAddr>, KernelError> {
    let len = match family {
        AF_INET => 4,
        AF_INET6 => 16,
        _ => return Ok(None),
    };
    let mut b = [0u8; 16];
    kernel
        .read(at, &mut b[..len])
        .map_err(|e| KernelError::memory(format!("next hop gateway at {at:#x}"), Some(e)))?;
    Ok(if len == 4 {
        let v4 = [b[0], b[1], b[2], b[3]];
        (v4 != [0; 4]).then(|| IpAddr::V4(Ipv4Addr::from(v4)))
    } else {
        Some(IpAddr::V6(Ipv6Addr::from(b)))
    })
}

/// The shared ISF and devices of the FIB unit tests.
#[cfg(test)]
pub(crate) mod testing {
    use crate::kernel::testkit::{Memory, IMAGE};

    /// The types next hops, next-hop objects and exception caches are read with, at their 6.1 offsets.
    pub const ISF: &str = r#"{"metadata": {"format": "6.2.0"},
      "base_types": {
        "pointer": {"size": 8, "signed": false, "kind": "int", "endian": "little"},
        "char": {"size": 1, "signed": false, "kind": "char", "endian": "little"},
        "unsigned char": {"size": 1, "signed": false, "kind": "char", "endian": "little"},
        "_Bool": {"size": 1, "signed": false, "kind": "bool", "endian": "little"},
        "short unsigned int": {"size": 2, "signed": false, "kind": "int", "endian": "little"},
        "unsigned int": {"size": 4, "signed": false, "kind": "int", "endian": "little"},
        "long unsigned int": {"size": 8, "signed": false, "kind": "int", "endian": "little"}},
      "user_types": {
        "net_device": {"kind": "struct", "size": 16, "fields": {
          "name": {"type": {"kind": "array", "count": 16, "subtype": {"kind": "base", "name": "char"}}, "offset": 0}}},
        "fib_nh_common": {"kind": "struct", "size": 72, "fields": {
          "nhc_dev": {"type": {"kind": "pointer", "subtype": {"kind": "struct", "name": "net_device"}}, "offset": 0},
          "nhc_family": {"type": {"kind": "base", "name": "unsigned char"}, "offset": 13},
          "nhc_gw_family": {"type": {"kind": "base", "name": "unsigned char"}, "offset": 14},
          "nhc_gw": {"type": {"kind": "array", "count": 16, "subtype": {"kind": "base", "name": "unsigned char"}}, "offset": 24},
          "nhc_exceptions": {"type": {"kind": "pointer", "subtype": {"kind": "struct", "name": "fnhe_hash_bucket"}}, "offset": 64}}},
        "fib_nh": {"kind": "struct", "size": 112, "fields": {
          "nh_common": {"type": {"kind": "struct", "name": "fib_nh_common"}, "offset": 0}}},
        "fnhe_hash_bucket": {"kind": "struct", "size": 8, "fields": {
          "chain": {"type": {"kind": "pointer", "subtype": {"kind": "struct", "name": "fib_nh_exception"}}, "offset": 0}}},
        "fib_nh_exception": {"kind": "struct", "size": 80, "fields": {
          "fnhe_next": {"type": {"kind": "pointer", "subtype": {"kind": "struct", "name": "fib_nh_exception"}}, "offset": 0},
          "fnhe_daddr": {"type": {"kind": "base", "name": "unsigned int"}, "offset": 12},
          "fnhe_pmtu": {"type": {"kind": "base", "name": "unsigned int"}, "offset": 16},
          "fnhe_gw": {"type": {"kind": "base", "name": "unsigned int"}, "offset": 24},
          "fnhe_expires": {"type": {"kind": "base", "name": "long unsigned int"}, "offset": 32}}},
        "nexthop": {"kind": "struct", "size": 136, "fields": {
          "id": {"type": {"kind": "base", "name": "unsigned int"}, "offset": 96},
          "is_group": {"type": {"kind": "base", "name": "_Bool"}, "offset": 102},
          "unnamed_field_80": {"type": {"kind": "union", "name": "unnamed_nh"}, "offset": 128, "anonymous": true}}},
        "unnamed_nh": {"kind": "union", "size": 8, "fields": {
          "nh_info": {"type": {"kind": "pointer", "subtype": {"kind": "struct", "name": "nh_info"}}, "offset": 0},
          "nh_grp": {"type": {"kind": "pointer", "subtype": {"kind": "struct", "name": "nh_group"}}, "offset": 0}}},
        "nh_info": {"kind": "struct", "size": 144, "fields": {
          "family": {"type": {"kind": "base", "name": "unsigned char"}, "offset": 24},
          "unnamed_field_20": {"type": {"kind": "union", "name": "unnamed_info"}, "offset": 32, "anonymous": true}}},
        "unnamed_info": {"kind": "union", "size": 112, "fields": {
          "fib_nhc": {"type": {"kind": "struct", "name": "fib_nh_common"}, "offset": 0},
          "fib_nh": {"type": {"kind": "struct", "name": "fib_nh"}, "offset": 0}}},
        "nh_group": {"kind": "struct", "size": 24, "fields": {
          "num_nh": {"type": {"kind": "base", "name": "short unsigned int"}, "offset": 8},
          "nh_entries": {"type": {"kind": "array", "count": 0, "subtype": {"kind": "struct", "name": "nh_grp_entry"}}, "offset": 24}}},
        "nh_grp_entry": {"kind": "struct", "size": 64, "fields": {
          "nh": {"type": {"kind": "pointer", "subtype": {"kind": "struct", "name": "nexthop"}}, "offset": 0}}}},
      "enums": {},
      "symbols": {}}"#;

    pub const DEV: u64 = IMAGE + 0x1000;
    pub const DEV6: u64 = IMAGE + 0x1100;

    pub fn devices(mem: &mut Memory) {
        mem.write(DEV, b"eth9\0");
        mem.write(DEV6, b"veth6\0");
    }
}
