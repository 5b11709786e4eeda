//! Damaged input for `dmesg`, `ifconfig` and `arp` on every corpus capture: the capture is read through a
//! layer that overwrites chosen kernel objects (found with the undamaged capture), so the analyses meet
//! real cycles, corrupt lengths and zeroed pages in otherwise real memory. Each must give rows and a
//! warning (or a clear error), never a panic, a hang or a read past a buffer. The capture cut at half its
//! length is read too.

use std::rc::Rc;

use memscope_core::analyses::{arp, dmesg, ifconfig};
use memscope_core::formats::Capture;
use memscope_core::kernel::{identify, net, Kernel, START_KERNEL_MAP};
use memscope_core::symbols::SymbolTable;
use memscope_tests::corpus::load_symbols;
use memscope_tests::corpus::{self, CorpusCapture, FileReader};

/// Damage to apply: virtual address and new bytes, turned into file offsets with the undamaged kernel.
struct Damage<'k> {
    kernel: &'k Kernel,
    capture: &'k Capture,
    page_offset_base: u64,
    patches: Vec<(u64, Vec<u8>)>,
}

impl Damage<'_> {
    /// The file offset of a kernel virtual address (kernel image or direct map).
    fn offset(&self, vaddr: u64) -> u64 {
        let p = self.kernel.placement();
        let phys = if vaddr >= START_KERNEL_MAP {
            self.kernel.image_phys(vaddr.wrapping_sub(p.virtual_shift))
        } else {
            vaddr - self.page_offset_base
        };
        let seg = self
            .capture
            .segments()
            .iter()
            .find(|s| s.phys_start <= phys && phys < s.phys_end())
            .unwrap_or_else(|| panic!("{vaddr:#x} (physical {phys:#x}) is not in the capture"));
        seg.data_offset + (phys - seg.phys_start)
    }

    fn put(&mut self, vaddr: u64, bytes: &[u8]) {
        // Split at page boundaries: virtual pages need not be physically adjacent.
        let mut done = 0usize;
        while done < bytes.len() {
            let at = vaddr + done as u64;
            let take = (0x1000 - (at & 0xfff) as usize).min(bytes.len() - done);
            self.patches.push((self.offset(at), bytes[done..done + take].to_vec()));
            done += take;
        }
    }

    fn put_u64(&mut self, vaddr: u64, v: u64) {
        self.put(vaddr, &v.to_le_bytes());
    }
}

fn damaged_kernel(capture: &CorpusCapture, symbols: &Rc<SymbolTable>, patches: Vec<(u64, Vec<u8>)>) -> Kernel {
    corpus::patched_kernel(capture, symbols.clone(), patches)
}

fn off(kernel: &Kernel, ty: &str, member: &str) -> u64 {
    kernel
        .member_offset(ty, member)
        .unwrap_or_else(|e| panic!("{ty}.{member}: {e}"))
}

#[test]
fn network_analyses_survive_damaged_captures() {
    let captures = corpus::corpus_captures();
    let mut checks = 0usize;
    for capture in &captures {
        let name = &capture.name;
        let symbols = load_symbols(capture);
        let cap = Rc::new(corpus::open_capture(&capture.lime_path));
        let kernel = identify(cap.clone(), symbols.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let log = dmesg::dmesg(&kernel).unwrap_or_else(|e| panic!("{name}: {e}"));
        let ifs = ifconfig::ifconfig(&kernel).unwrap_or_else(|e| panic!("{name}: {e}"));
        let neigh = arp::arp(&kernel).unwrap_or_else(|e| panic!("{name}: {e}"));
        let (namespaces, _) = net::network_namespaces(&kernel).unwrap_or_else(|e| panic!("{name}: {e}"));
        let pob = kernel
            .symbol_addr("page_offset_base")
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let page_offset_base = kernel
            .read_u64(pob)
            .unwrap_or_else(|e| panic!("{name}: page_offset_base: {e}"));
        let new = || Damage {
            kernel: &kernel,
            capture: &cap,
            page_offset_base,
            patches: Vec::new(),
        };

        // A: cycles in the namespace list, a device list, an address list and a neighbour hash chain.
        let mut d = new();
        let ns2 = namespaces
            .get(1)
            .unwrap_or_else(|| panic!("{name}: needs two network namespaces"));
        let list = ns2.addr + off(&kernel, "net", "list");
        d.put_u64(list, list);
        let (devs, _) = net::net_devices(&kernel, &namespaces[0]).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(devs.len() >= 3, "{name}: needs three devices in the host namespace");
        let dev_list = off(&kernel, "net_device", "dev_list");
        d.put_u64(devs[2] + dev_list, devs[0] + dev_list);
        let eth0 = ifs
            .rows
            .iter()
            .find(|r| r.name == "eth0" && r.netns == namespaces[0].inum)
            .expect("host eth0");
        let in_dev = kernel
            .read_u64(eth0.device_addr + off(&kernel, "net_device", "ip_ptr"))
            .expect("ip_ptr");
        let ifa = kernel
            .read_u64(in_dev + off(&kernel, "in_device", "ifa_list"))
            .expect("ifa_list");
        d.put_u64(ifa + off(&kernel, "in_ifaddr", "ifa_next"), ifa);
        let n = neigh
            .rows
            .iter()
            .find(|r| r.family == "inet")
            .expect("an ARP entry")
            .neighbour_addr;
        d.put_u64(n + off(&kernel, "neighbour", "next"), n);
        let k = damaged_kernel(capture, &symbols, d.patches);
        let a = ifconfig::ifconfig(&k).unwrap_or_else(|e| panic!("{name}: cycles: ifconfig failed: {e}"));
        assert!(
            a.warnings.iter().any(|w| w.contains("cycle")),
            "{name}: cycles: ifconfig warnings {:?}",
            a.warnings
        );
        assert!(
            a.rows.len() <= ifs.rows.len(),
            "{name}: cycles: more interfaces than without damage"
        );
        let a = arp::arp(&k).unwrap_or_else(|e| panic!("{name}: cycles: arp failed: {e}"));
        assert!(
            a.warnings.iter().any(|w| w.contains("cycle")),
            "{name}: cycles: arp warnings {:?}",
            a.warnings
        );
        checks += 2;

        // B: corrupt lengths: records with impossible positions and text lengths, a device with an address
        // length of 255, a neighbour hash of 2^31 buckets.
        let mut d = new();
        let prb = kernel
            .read_u64(kernel.symbol_addr("prb").expect("prb"))
            .expect("prb pointer");
        let descs = kernel
            .read_u64(prb + off(&kernel, "printk_ringbuffer", "desc_ring.descs"))
            .expect("descs");
        let infos = kernel
            .read_u64(prb + off(&kernel, "printk_ringbuffer", "desc_ring.infos"))
            .expect("infos");
        let desc_size = symbols.layout("prb_desc").expect("prb_desc").size();
        let info_size = symbols.layout("printk_info").expect("printk_info").size();
        let lpos = off(&kernel, "prb_desc", "text_blk_lpos");
        let text_len = off(&kernel, "printk_info", "text_len");
        for i in 0..50u64 {
            d.put(descs + i * desc_size + lpos, &[0xf0u8; 16]);
            d.put(infos + i * info_size + text_len, &[0xff, 0xff]);
        }
        d.put(eth0.device_addr + off(&kernel, "net_device", "addr_len"), &[0xff]);
        let arp_tbl = kernel.symbol_addr("arp_tbl").expect("arp_tbl");
        let nht = kernel
            .read_u64(arp_tbl + off(&kernel, "neigh_table", "nht"))
            .expect("nht");
        d.put(
            nht + off(&kernel, "neigh_hash_table", "hash_shift"),
            &31u32.to_le_bytes(),
        );
        let k = damaged_kernel(capture, &symbols, d.patches);
        let a = dmesg::dmesg(&k).unwrap_or_else(|e| panic!("{name}: lengths: dmesg failed: {e}"));
        assert!(!a.warnings.is_empty(), "{name}: lengths: dmesg gave no warning");
        assert!(
            a.rows.len() < log.rows.len() && !a.rows.is_empty(),
            "{name}: lengths: dmesg rows {}",
            a.rows.len()
        );
        let a = ifconfig::ifconfig(&k).unwrap_or_else(|e| panic!("{name}: lengths: ifconfig failed: {e}"));
        let mac = a
            .rows
            .iter()
            .find(|r| r.device_addr == eth0.device_addr)
            .and_then(|r| r.mac.clone());
        assert!(
            mac.is_some_and(|m| m.len() <= 32 * 3),
            "{name}: lengths: eth0 mac not bounded"
        );
        let a = arp::arp(&k).unwrap_or_else(|e| panic!("{name}: lengths: arp failed: {e}"));
        assert!(
            a.warnings.iter().any(|w| w.contains("hash_shift")),
            "{name}: lengths: arp warnings {:?}",
            a.warnings
        );
        checks += 3;

        // C: zeroed pages: the start of the printk data ring and the host's first device.
        let mut d = new();
        let data = kernel
            .read_u64(prb + off(&kernel, "printk_ringbuffer", "text_data_ring.data"))
            .expect("data");
        d.put(data, &[0u8; 0x4000]);
        d.put(devs[1] & !0xfff, &[0u8; 0x1000]);
        let k = damaged_kernel(capture, &symbols, d.patches);
        let a = dmesg::dmesg(&k).unwrap_or_else(|e| panic!("{name}: zeroed: dmesg failed: {e}"));
        assert!(
            !a.warnings.is_empty() && a.rows.len() < log.rows.len(),
            "{name}: zeroed: dmesg {:?}",
            a.warnings
        );
        let a = ifconfig::ifconfig(&k).unwrap_or_else(|e| panic!("{name}: zeroed: ifconfig failed: {e}"));
        assert!(!a.warnings.is_empty(), "{name}: zeroed: ifconfig gave no warning");
        let a = arp::arp(&k).unwrap_or_else(|e| panic!("{name}: zeroed: arp failed: {e}"));
        assert!(
            a.rows.len() >= neigh.rows.len() || !a.warnings.is_empty(),
            "{name}: zeroed: arp lost {} rows without a warning",
            neigh.rows.len() - a.rows.len()
        );
        checks += 3;

        // D: the capture cut at half its length. Computed from the whole capture: when the kernel's image
        // (`_text`..`_end`, physically) and its top page table are below the cut, it must be identified and
        // each analysis give its rows, a warning for any it lost; otherwise identification must fail.
        let size = std::fs::metadata(&capture.lime_path).map(|m| m.len()).unwrap_or(0);
        let cut_phys = corpus::lime_ranges(&capture.lime_path)
            .into_iter()
            .find(|r| r.file_offset + r.len > size / 2)
            .map_or(u64::MAX, |r| r.start + (size / 2).saturating_sub(r.file_offset));
        let end = kernel.image_phys(symbols.address("_end").expect("ISF _end"));
        let kernel_kept = end <= cut_phys && kernel.placement().page_table_root < cut_phys;
        let cut = corpus::Truncated {
            inner: FileReader::open(&capture.lime_path),
            size: size / 2,
        };
        let identified = Capture::open(Box::new(cut))
            .map_err(|e| e.to_string())
            .and_then(|cap| identify(Rc::new(cap), symbols.clone()).map_err(|e| e.to_string()));
        match (identified, kernel_kept) {
            (Ok(k), true) => {
                let results = [
                    (
                        "dmesg",
                        log.rows.len(),
                        dmesg::dmesg(&k).map(|a| (a.rows.len(), a.warnings)),
                    ),
                    (
                        "ifconfig",
                        ifs.rows.len(),
                        ifconfig::ifconfig(&k).map(|a| (a.rows.len(), a.warnings)),
                    ),
                    (
                        "arp",
                        neigh.rows.len(),
                        arp::arp(&k).map(|a| (a.rows.len(), a.warnings)),
                    ),
                ];
                for (what, whole, r) in results {
                    eprintln!("{name}: cut at half: {what}: {r:?}");
                    let (rows, warnings) = r.unwrap_or_else(|e| panic!("{name}: cut, kernel kept: {what}: {e}"));
                    assert!(rows <= whole, "{name}: cut: {what} gives {rows} rows of {whole}");
                    assert!(
                        rows == whole || !warnings.is_empty(),
                        "{name}: cut: {what} lost {} rows silently",
                        whole - rows
                    );
                }
            }
            (Err(e), false) => eprintln!("{name}: cut at half, the kernel above the cut: error: {e}"),
            (Ok(_), false) => panic!("{name}: cut at {cut_phys:#x} identifies a kernel whose image ends at {end:#x}"),
            (Err(e), true) => panic!("{name}: cut at {cut_phys:#x}, the kernel image (to {end:#x}) kept, yet: {e}"),
        }
        checks += 1;
    }
    eprintln!(
        "network damaged input: {checks} corpus checks on {} captures",
        captures.len()
    );
    memscope_tests::checks::ran("network damaged", checks);
}
