//! Next hops: a route's own (`fib_nh`, `fib6_nh`, through their `fib_nh_common` since 5.2) and those of a
//! next-hop object (`struct nexthop`, 5.3 on: one `nh_info`, or a group of `nh_grp_entry` members).

use std::net::IpAddr;

use super::{has_field, Fib, FibRoute, NexthopRef, AF_INET, AF_INET6};
use crate::kernel::{KernelError, Object};
use crate::symbols::SymbolTable;

/// Most members of a next-hop group read.
const MAX_GROUP: u64 = 1024;

/// One next hop: where it goes, and where its exception cache is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hop {
    pub gateway: Option<IpAddr>,
    pub device: Option<String>,
    /// Address of its `fib_nh_common` (or of an old `fib_nh`; 0 for a device-only next hop).
    pub common: u64,
    /// Its family (`nhc_family`; `AF_INET` for an old `fib_nh`).
    pub family: u64,
    /// `nhc_exceptions` (or an old `fib_nh.nh_exceptions`): the exception buckets, 0 for none.
    pub exceptions: u64,
}

/// How a route's own next hop (`fib_nh` or `fib6_nh`) holds its gateway and device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HopLayout {
    /// Linux 5.2 on: an embedded `fib_nh_common` (`nh_common`) holds family, gateway, device (and, 5.3
    /// on, the exceptions).
    Common,
    /// `fib_nh` before 5.2: its own `nh_gw` and `nh_dev`, with `nh_exceptions` from 3.6 (`exceptions`).
    /// Also what a 4.18-5.1 `fib6_nh` (`nh_gw`, an `in6_addr`) matches, read the same way.
    Own { exceptions: bool },
    /// A next hop with only a device member (`fib_nh_dev` or `nh_dev`), taken as IPv6; no kernel this
    /// reader was checked on has it.
    DeviceOnly(&'static str),
    /// None of these members: each next hop read reports it.
    Unknown,
}

impl HopLayout {
    fn of(symbols: &SymbolTable, ty: &str) -> HopLayout {
        let has = |f: &str| has_field(symbols, ty, f);
        if has("nh_common") {
            HopLayout::Common
        } else if has("nh_gw") {
            HopLayout::Own {
                exceptions: has("nh_exceptions"),
            }
        } else if let Some(dev) = ["fib_nh_dev", "nh_dev"].into_iter().find(|f| has(f)) {
            HopLayout::DeviceOnly(dev)
        } else {
            HopLayout::Unknown
        }
    }
}

/// Where an `nh_info` keeps its next hop's `fib_nh_common`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InfoCommon {
    /// Every kernel with next-hop objects (5.3 on): the union member `fib_nhc`.
    FibNhc,
    /// An `nh_info` without `fib_nhc`: through `fib_nh.nh_common`.
    FibNh,
    /// Neither: each object read reports it.
    Unknown,
}

/// The next-hop layouts of one kernel.
#[derive(Debug, Clone)]
pub struct HopLayouts {
    pub fib_nh: HopLayout,
    pub fib6_nh: HopLayout,
    /// `fib_nh_common.nhc_exceptions` (5.3 on; in 5.2 the exceptions stayed in `fib_nh`, unread).
    pub common_exceptions: bool,
    pub info_common: InfoCommon,
    /// Sizes of `fib_nh` and `nh_grp_entry` (array strides), where the symbols have them.
    pub fib_nh_size: Option<u64>,
    pub grp_entry_size: Option<u64>,
}

impl HopLayouts {
    pub fn new(symbols: &SymbolTable) -> HopLayouts {
        let has = |t: &str, f: &str| has_field(symbols, t, f);
        HopLayouts {
            fib_nh: HopLayout::of(symbols, "fib_nh"),
            fib6_nh: HopLayout::of(symbols, "fib6_nh"),
            common_exceptions: has("fib_nh_common", "nhc_exceptions"),
            info_common: if has("nh_info", "fib_nhc") {
                InfoCommon::FibNhc
            } else if has("nh_info", "fib_nh") {
                InfoCommon::FibNh
            } else {
                InfoCommon::Unknown
            },
            fib_nh_size: symbols.layout("fib_nh").ok().map(|l| l.size()),
            grp_entry_size: symbols.layout("nh_grp_entry").ok().map(|l| l.size()),
        }
    }
}

impl Fib<'_> {
    /// A type's size, or the symbols' own error for its absence.
    pub(super) fn size_of(&self, size: Option<u64>, ty: &str) -> Result<u64, KernelError> {
        match size {
            Some(s) => Ok(s),
            None => Ok(self.kernel.symbols().layout(ty)?.size()),
        }
    }

    /// A next hop from a `fib_nh_common`.
    fn common_hop(&mut self, c: &Object<'_>) -> Result<Hop, KernelError> {
        Ok(Hop {
            gateway: super::gateway_at(self.kernel, c.field_addr("nhc_gw")?, c.u64("nhc_gw_family")?)?,
            device: self.names.name(self.kernel, c.pointer("nhc_dev")?),
            common: c.addr(),
            family: c.u64("nhc_family")?,
            exceptions: if self.layout.hops.common_exceptions {
                c.pointer("nhc_exceptions")?
            } else {
                0
            },
        })
    }

    /// A route's own next hop (a `fib_nh` or `fib6_nh`), read as `layout` says.
    pub(super) fn next_hop(&mut self, nh: &Object<'_>, layout: HopLayout) -> Result<Hop, KernelError> {
        match layout {
            HopLayout::Common => self.common_hop(&nh.member("nh_common")?),
            HopLayout::Own { exceptions } => Ok(Hop {
                gateway: super::gateway_at(self.kernel, nh.field_addr("nh_gw")?, AF_INET)?,
                device: self.names.name(self.kernel, nh.pointer("nh_dev")?),
                family: AF_INET,
                exceptions: if exceptions { nh.pointer("nh_exceptions")? } else { 0 },
                common: nh.addr(),
            }),
            HopLayout::DeviceOnly(dev) => Ok(Hop {
                device: self.names.name(self.kernel, nh.pointer(dev)?),
                family: AF_INET6,
                ..Hop::default()
            }),
            HopLayout::Unknown => Err(KernelError::Layout(format!(
                "{} has none of the members fib_nh_dev, nh_dev",
                nh.type_name()
            ))),
        }
    }

    /// The next hop of a non-group `nexthop`: its `nh_info`'s `fib_nh_common`.
    fn info_hop(&mut self, nh: &Object<'_>) -> Result<Hop, KernelError> {
        let info = nh
            .deref_as("nh_info", "nh_info")?
            .ok_or_else(|| KernelError::Layout(format!("nexthop {} has no nh_info", nh.addr())))?;
        let common = match self.layout.hops.info_common {
            InfoCommon::FibNhc => info.member("fib_nhc")?,
            InfoCommon::FibNh => info.member("fib_nh")?.member("nh_common")?,
            InfoCommon::Unknown => {
                return Err(KernelError::Layout(format!(
                    "{} has none of the members fib_nhc, fib_nh",
                    info.type_name()
                )))
            }
        };
        self.common_hop(&common)
    }

    /// Where the route of `info` uses a next-hop object (`info.nh`, in kernels where `layout` says it can),
    /// that object's id and next hops into `route`; whether it does.
    pub(super) fn object_hops(
        &mut self,
        info: &Object<'_>,
        layout: NexthopRef,
        route: &mut FibRoute,
    ) -> Result<bool, KernelError> {
        let object = match layout {
            NexthopRef::Object => info.pointer("nh")?,
            NexthopRef::Own => 0,
        };
        if object == 0 {
            return Ok(false);
        }
        let (id, hops) = self.nexthop_object(object)?;
        (route.nexthop_id, route.hops) = (Some(id), hops);
        Ok(true)
    }

    /// The next hops of a next-hop object (`struct nexthop`): its `nh_info`, or each member of its group
    /// (`nh_group.nh_entries[]`, `num_nh` of them, each pointing at a non-group `nexthop`); and its id.
    pub fn nexthop_object(&mut self, addr: u64) -> Result<(u64, Vec<Hop>), KernelError> {
        let kernel = self.kernel;
        let nh = kernel.object("nexthop", addr)?;
        let id = nh.u64("id")?;
        if nh.u64("is_group")? == 0 {
            return Ok((id, vec![self.info_hop(&nh)?]));
        }
        let group = nh
            .deref_as("nh_grp", "nh_group")?
            .ok_or_else(|| KernelError::Layout(format!("nexthop group {id} has no nh_group")))?;
        let count = group.u64("num_nh")?;
        if count > MAX_GROUP {
            return Err(KernelError::Layout(format!(
                "nexthop group {id} claims {count} members"
            )));
        }
        let stride = self.size_of(self.layout.hops.grp_entry_size, "nh_grp_entry")?;
        let first = group.field_addr("nh_entries")?;
        let mut hops = Vec::new();
        for i in 0..count {
            let entry = kernel.object("nh_grp_entry", first.wrapping_add(i * stride))?;
            let member = entry
                .deref_as("nh", "nexthop")?
                .ok_or_else(|| KernelError::Layout(format!("nexthop group {id}: member {i} is NULL")))?;
            if member.u64("is_group")? != 0 {
                return Err(KernelError::Layout(format!(
                    "nexthop group {id}: member {i} is itself a group"
                )));
            }
            hops.push(self.info_hop(&member)?);
        }
        Ok((id, hops))
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{devices, DEV, DEV6, ISF};
    use super::*;
    use crate::kernel::testkit::{Memory, IMAGE};

    /// A `fib_nh_common` at `at` on `dev` through gateway `gw` (4 or 16 bytes), with exceptions `fnhe`.
    fn common(mem: &mut Memory, at: u64, dev: u64, gw: &[u8], fnhe: u64) {
        mem.write(at, &dev.to_le_bytes());
        let family = if gw.len() == 4 { 2u8 } else { 10 };
        mem.write(at + 13, &[family, family]);
        mem.write(at + 24, gw);
        mem.write(at + 64, &fnhe.to_le_bytes());
    }

    /// A single next-hop object `id` at `at` whose `nh_info` sits at `at + 0x100`.
    fn single(mem: &mut Memory, at: u64, id: u32, dev: u64, gw: &[u8]) {
        mem.write(at + 96, &id.to_le_bytes());
        mem.write(at + 128, &(at + 0x100).to_le_bytes());
        common(mem, at + 0x100 + 32, dev, gw, 0);
    }

    #[test]
    fn layouts_chosen_once() {
        let kernel = Memory::new().kernel(ISF);
        let hops = HopLayouts::new(kernel.symbols());
        assert_eq!(hops.fib_nh, HopLayout::Common);
        assert_eq!(hops.fib6_nh, HopLayout::Unknown);
        assert_eq!(hops.info_common, InfoCommon::FibNhc);
        assert!(hops.common_exceptions);
        assert_eq!((hops.fib_nh_size, hops.grp_entry_size), (Some(112), Some(64)));
    }

    #[test]
    fn nexthop_objects_single_and_grouped() {
        let mut mem = Memory::new();
        devices(&mut mem);
        single(&mut mem, IMAGE + 0x2000, 7, DEV, &[10, 1, 2, 3]);
        let v6 = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
        single(&mut mem, IMAGE + 0x2400, 8, DEV6, &v6);
        // Group 9 of 7 and 8; group 10 holding group 9; group 11 claiming 5000 members.
        let group = IMAGE + 0x3000;
        mem.write(group + 96, &9u32.to_le_bytes());
        mem.write(group + 102, &[1]);
        mem.write(group + 128, &(group + 0x100).to_le_bytes());
        mem.write(group + 0x100 + 8, &2u16.to_le_bytes());
        mem.write(group + 0x100 + 24, &(IMAGE + 0x2000).to_le_bytes());
        mem.write(group + 0x100 + 24 + 64, &(IMAGE + 0x2400).to_le_bytes());
        let nested = IMAGE + 0x3400;
        mem.write(nested + 96, &10u32.to_le_bytes());
        mem.write(nested + 102, &[1]);
        mem.write(nested + 128, &(nested + 0x100).to_le_bytes());
        mem.write(nested + 0x100 + 8, &1u16.to_le_bytes());
        mem.write(nested + 0x100 + 24, &group.to_le_bytes());
        let huge = IMAGE + 0x3800;
        mem.write(huge + 96, &11u32.to_le_bytes());
        mem.write(huge + 102, &[1]);
        mem.write(huge + 128, &(huge + 0x100).to_le_bytes());
        mem.write(huge + 0x100 + 8, &5000u16.to_le_bytes());
        let kernel = mem.kernel(ISF);
        let mut fib = Fib::new(&kernel);
        let text = |h: &Hop| (h.gateway.map(|g| g.to_string()), h.device.clone());

        let (id, hops) = fib.nexthop_object(IMAGE + 0x2000).unwrap();
        assert_eq!(id, 7);
        assert_eq!(hops.len(), 1);
        assert_eq!(text(&hops[0]), (Some("10.1.2.3".into()), Some("eth9".into())));
        assert_eq!((hops[0].family, hops[0].common), (AF_INET, IMAGE + 0x2100 + 32));

        let (id, hops) = fib.nexthop_object(group).unwrap();
        assert_eq!(id, 9);
        let got: Vec<_> = hops.iter().map(text).collect();
        assert_eq!(
            got,
            [
                (Some("10.1.2.3".into()), Some("eth9".into())),
                (Some("fd00::1".into()), Some("veth6".into()))
            ]
        );

        let nested_err = fib.nexthop_object(nested).unwrap_err().to_string();
        assert!(nested_err.contains("itself a group"), "{nested_err}");
        let huge_err = fib.nexthop_object(huge).unwrap_err().to_string();
        assert!(huge_err.contains("5000 members"), "{huge_err}");
    }
}
