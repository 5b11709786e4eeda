//! Symbols from the capture itself, for a kernel built with BTF: its types from the `.BTF` blob and its
//! addresses from kallsyms, both in the kernel image's read-only data, which is contiguous in physical
//! memory. One streamed pass over physical memory finds them (it stops once both are found, so it reads up
//! to the kernel image and little more); nothing needs the page tables, which identification sets up after.
//!
//! Kallsyms gives each image symbol's place relative to `_text`; the link address of `_text` (before the
//! KASLR shift) is `__START_KERNEL_map` plus the kernel's preferred load address, which the boot header
//! the kernel keeps in `boot_params.hdr.pref_address` records (`CONFIG_PHYSICAL_START`, 16 MiB on every
//! distribution kernel, the default where that field cannot be read).

use crate::formats::Capture;
use crate::kernel::START_KERNEL_MAP;
use crate::symbols::kallsyms::{self, Address, Kallsyms};
use crate::symbols::{btf_blob_len, btf_describes, SymbolError, SymbolTable, BTF_HEADER_START};

/// Bytes read per step of the scan.
const CHUNK: usize = 4 << 20;
/// Overlap between steps: a match that starts in one chunk is whole in the window.
const OVERLAP: usize = 64;
/// Physical memory read around a token-table candidate for the other kallsyms tables: they take about 16
/// bytes a symbol (names, offsets, markers, sequence), so this holds the tables of 500,000 symbols (the
/// largest distribution kernels have 200,000).
const KALLSYMS_BEFORE: u64 = 10 << 20;
const KALLSYMS_AFTER: u64 = 6 << 20;
/// The window tried first, which holds the tables of most kernels (the corpus's, of 88,000 and 156,000
/// symbols, start 1.8 and 2.1 MiB before the token table and end at most 1.1 MiB after it).
const KALLSYMS_FIRST_BEFORE: u64 = 4 << 20;
const KALLSYMS_FIRST_AFTER: u64 = 2 << 20;
/// The probe for string-table pages: one page every MiB.
const PROBE_PAGE: usize = 4096;
const PROBE_STRIDE: u64 = 1 << 20;
/// Pages probed across each hit's MiB to rank the runs by how densely they read as strings.
const DENSITY_PROBES: u64 = 8;
/// How far before the first string-table page its region starts (vmlinux's BTF types take 2-4 MiB).
const BEFORE_STRINGS: u64 = 12 << 20;
/// String-table regions scanned before all of memory.
const MAX_REGIONS: usize = 8;
/// Bound on the kallsyms candidates noted by the first pass.
const MAX_NOTED: usize = 4096;
/// Physical memory read around a candidate to check its token table and index (the table is at most 64 KiB).
const PEEK_AROUND: u64 = 160 << 10;
/// The kernel's default preferred load address (`CONFIG_PHYSICAL_START`).
const DEFAULT_LOAD_ADDRESS: u64 = 0x100_0000;
/// Bound on token-table candidates tried (each is a few pages; garbage fails fast).
const MAX_CANDIDATES: usize = 64;
/// Bound on the bytes read for BTF candidates (vmlinux's is under 16 MiB, modules' under 1 MiB each).
const MAX_BTF_BYTES: u64 = 512 << 20;
/// Bound on BTF headers tried: every loaded module has its own blob in memory, and stale copies abound.
const MAX_BTF_CANDIDATES: usize = 4096;
/// Refused candidates named in an error.
const MAX_REJECTED: usize = 6;
/// Longest banner read.
const MAX_BANNER: usize = 512;

/// Why no symbols could be derived from the capture.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaptureSymbolsError {
    /// No BTF blob describing `task_struct` in physical memory.
    #[error(
        "no BTF type information in the capture's memory (a kernel built without CONFIG_DEBUG_INFO_BTF, or its \
         pages are missing){0}: use an ISF for this kernel (Volatility 3's dwarf2json on its vmlinux with debug \
         information)"
    )]
    NoBtf(String),
    /// No kallsyms table in physical memory.
    #[error(
        "no kallsyms table in the capture's memory (a kernel built without CONFIG_KALLSYMS_ALL, or its pages are \
         missing){0}: use an ISF for this kernel (Volatility 3's dwarf2json on its vmlinux and System.map)"
    )]
    NoKallsyms(String),
    /// The BTF was found but could not be turned into symbols.
    #[error("the BTF in the capture's memory: {0}")]
    Symbols(#[from] SymbolError),
}

/// Symbols derived from a capture, with what the derivation read.
#[derive(Debug)]
pub struct CaptureSymbols {
    /// The table.
    pub table: SymbolTable,
    /// Bytes of physical memory read to find and decode the BTF and kallsyms.
    pub bytes_read: u64,
    /// Where the BTF blob is in physical memory, and its size.
    pub btf: (u64, usize),
    /// The kallsyms address encoding found.
    pub encoding: kallsyms::AddressEncoding,
    /// Problems that did not stop the derivation.
    pub warnings: Vec<String>,
}

/// What the scan found so far.
#[derive(Default)]
struct Found {
    btf: Option<(u64, Vec<u8>)>,
    /// The decoded table, and the physical address of the window it was decoded from.
    kallsyms: Option<(u64, Kallsyms)>,
    bytes_read: u64,
    /// Bytes read for BTF candidates.
    btf_bytes: u64,
    rejected: Vec<String>,
}

impl Found {
    /// Note a refused candidate, for the error if nothing is found (the first few only).
    fn reject(&mut self, why: String) {
        if self.rejected.len() < MAX_REJECTED {
            self.rejected.push(why);
        }
    }
}

/// Find the kernel's BTF and kallsyms in `capture` and build a symbol table from them.
pub fn derive(capture: &Capture, progress: &mut dyn FnMut(&str)) -> Result<CaptureSymbols, CaptureSymbolsError> {
    if capture.vmcoreinfo().is_some() {
        progress("reading the kallsyms tables and BTF that VMCOREINFO places");
    }
    let found = match through_vmcoreinfo(capture) {
        Some(found) => found,
        None => {
            progress("looking for the kernel's BTF and kallsyms in memory");
            scan(capture)
        }
    };
    let rejected = || {
        if found.rejected.is_empty() {
            String::new()
        } else {
            format!(" (candidates refused: {})", found.rejected.join("; "))
        }
    };
    let Some((btf_phys, blob)) = &found.btf else {
        return Err(CaptureSymbolsError::NoBtf(rejected()));
    };
    let Some((window_phys, ksyms)) = &found.kallsyms else {
        return Err(CaptureSymbolsError::NoKallsyms(rejected()));
    };
    progress("building symbols from the kernel's BTF");
    let mut warnings = Vec::new();
    let offset_of = |name: &str| ksyms.image_offset(name);
    // Where _text is in physical memory: the BTF blob starts at __start_BTF, the token table at its label.
    let text_phys = offset_of("__start_BTF")
        .map(|o| btf_phys.wrapping_sub(o as u64))
        .or_else(|| {
            let token_table = window_phys + ksyms.tables.token_table.start as u64;
            offset_of("kallsyms_token_table").map(|o| token_table.wrapping_sub(o as u64))
        });
    let mut bytes_read = found.bytes_read;

    let banner = text_phys.zip(offset_of("linux_banner")).and_then(|(text, o)| {
        let mut b = vec![0u8; MAX_BANNER];
        capture.peek_phys(text.wrapping_add(o as u64), &mut b).ok()?;
        bytes_read += MAX_BANNER as u64;
        let end = b.iter().position(|&c| c == 0)?;
        Some(String::from_utf8_lossy(&b[..end]).trim_end().to_string())
    });
    if banner.is_none() {
        warnings.push("linux_banner is unreadable: the kernel release is not checked against the symbols".into());
    }
    let build = |load_address: u64| {
        let text_link = START_KERNEL_MAP + load_address;
        let symbols = ksyms.symbols.iter().map(|s| {
            let address = match s.address {
                Address::Image(o) => text_link.wrapping_add(o as u64),
                Address::Absolute(a) => a,
            };
            (s.name.as_str(), address)
        });
        SymbolTable::from_btf(blob, symbols, banner.as_deref())
    };
    let mut table = build(DEFAULT_LOAD_ADDRESS)?;
    // The preferred load address, read with the table's offsets; almost always the default.
    let load_address = text_phys
        .and_then(|text| {
            let at = offset_of("boot_params")? as u64;
            let hdr = table.layout("boot_params").ok()?.field("hdr").ok()?.0;
            let pref = table.layout("setup_header").ok()?.field("pref_address").ok()?.0;
            let mut b = [0u8; 8];
            capture.peek_phys(text.wrapping_add(at + hdr + pref), &mut b).ok()?;
            bytes_read += 8;
            Some(u64::from_le_bytes(b))
        })
        .filter(|&a| a % (2 << 20) == 0 && a < (1 << 30));
    match load_address {
        Some(DEFAULT_LOAD_ADDRESS) => {}
        Some(other) => table = build(other)?,
        None => warnings.push(format!(
            "the kernel's preferred load address (boot_params.hdr.pref_address) is unreadable: taken as \
             {DEFAULT_LOAD_ADDRESS:#x}, the default, so the KASLR shifts shown may be off by a multiple of 2 MiB"
        )),
    }
    Ok(CaptureSymbols {
        table,
        bytes_read,
        btf: (*btf_phys, blob.len()),
        encoding: ksyms.encoding,
        warnings,
    })
}

/// Where the capture carries a VMCOREINFO note (kdump's, libvirt's and QEMU's dumps with its vmcoreinfo
/// device) naming the kallsyms tables (`SYMBOL(kallsyms_token_table)`, from 6.0) and `NUMBER(phys_base)`:
/// the tables are decoded where it says, and the BTF blob read at `__start_BTF` (placed by `_stext`, which
/// it names too), with no scan. `None` where the note lacks any of it or what it names does not decode.
fn through_vmcoreinfo(capture: &Capture) -> Option<Found> {
    let symbol = |name: &str| capture.vmcoreinfo_hex(&format!("SYMBOL({name})"));
    let phys_base = capture.vmcoreinfo_number("NUMBER(phys_base)")?;
    let phys = |vaddr: u64| vaddr.wrapping_sub(START_KERNEL_MAP).wrapping_add(phys_base);
    let mut found = Found::default();
    // The digit tokens are within the token table's first 64 KiB.
    let table = phys(symbol("kallsyms_token_table")?);
    let mut head = vec![0u8; 64 << 10];
    capture.peek_phys(table, &mut head).ok()?;
    found.bytes_read += head.len() as u64;
    let anchor = table + *kallsyms::token_table_candidates(&head).first()? as u64;
    found.kallsyms = Some(kallsyms_at(capture, anchor, &mut found)?);
    let (_, ksyms) = found.kallsyms.as_ref()?;
    let text_phys = phys(symbol("_stext")?).wrapping_sub(ksyms.image_offset("_stext")? as u64);
    let btf = text_phys.wrapping_add(ksyms.image_offset("__start_BTF")? as u64);
    found.btf = Some((btf, btf_at(capture, btf, &[], &mut found)?));
    Some(found)
}

/// Find the BTF blob and the kallsyms tables: first around the pages that look like a string table (BTF's
/// strings are 1.5-2 MiB of identifiers, so a probe of one page per MiB meets them), then, if that finds
/// nothing, over all of memory.
fn scan(capture: &Capture) -> Found {
    let (regions, probed) = string_table_regions(capture);
    let mut spent = probed;
    for (lo, hi) in regions {
        let mut found = scan_range(capture, lo, hi);
        spent += found.bytes_read;
        if found.btf.is_some() && found.kallsyms.is_some() {
            found.bytes_read = spent;
            return found;
        }
    }
    let mut found = scan_range(capture, 0, u64::MAX);
    found.bytes_read += spent;
    found
}

/// Whether a page reads as part of a string table: names of identifier characters between NULs (a few
/// other bytes allowed), neither mostly zeros nor one long text.
fn looks_like_strings(page: &[u8]) -> bool {
    let (mut nuls, mut odd, mut run) = (0usize, 0usize, 0usize);
    for &b in page {
        match b {
            0 => {
                nuls += 1;
                run = 0;
            }
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' => {
                run += 1;
                if run > 128 {
                    return false;
                }
            }
            _ => odd += 1,
        }
    }
    odd <= 8 && nuls >= page.len() / 64 && nuls <= page.len() / 3
}

/// The stretches of memory worth scanning first: around each run of probed pages that look like a
/// string table, from [`BEFORE_STRINGS`] before it (the BTF header and types precede its strings) to
/// 1 MiB after; the runs with most such pages first, at most [`MAX_REGIONS`]. Also the bytes probed.
fn string_table_regions(capture: &Capture) -> (Vec<(u64, u64)>, u64) {
    let mut page = [0u8; PROBE_PAGE];
    let (mut hits, mut probed) = (Vec::new(), 0u64);
    for seg in capture.segments() {
        let mut at = seg.phys_start.next_multiple_of(PROBE_STRIDE);
        while at + PROBE_PAGE as u64 <= seg.phys_end() {
            if capture.peek_phys(at, &mut page).is_ok() {
                probed += PROBE_PAGE as u64;
                if looks_like_strings(&page) {
                    hits.push(at);
                }
            }
            at += PROBE_STRIDE;
        }
    }
    // Runs of hits at most two strides apart.
    let mut runs: Vec<(u64, u64, usize)> = Vec::new();
    for h in hits {
        match runs.last_mut() {
            Some((_, last, n)) if h - *last <= 2 * PROBE_STRIDE => {
                *last = h;
                *n += 1;
            }
            _ => runs.push((h, h, 1)),
        }
    }
    // Densest first: vmlinux's strings fill 1.5-2 MiB, so the pages between the probes read as strings
    // too, where a module's string table or a stray page stands alone.
    for (first, last, n) in &mut runs {
        for k in 1..DENSITY_PROBES {
            let at = *first + k * (PROBE_STRIDE / DENSITY_PROBES);
            if at + PROBE_PAGE as u64 <= *last + PROBE_STRIDE && capture.peek_phys(at, &mut page).is_ok() {
                probed += PROBE_PAGE as u64;
                *n += usize::from(looks_like_strings(&page));
            }
        }
    }
    runs.sort_by_key(|r| std::cmp::Reverse(r.2));
    let regions = runs
        .into_iter()
        .take(MAX_REGIONS)
        .map(|(first, last, _)| (first.saturating_sub(BEFORE_STRINGS), last + PROBE_STRIDE))
        .collect();
    (regions, probed)
}

/// One pass over physical memory from `lo` for the BTF blob (stopping at vmlinux's, or at `hi` if none
/// starts before), noting on the way where the kallsyms token table may be. The candidates noted are
/// decoded nearest the blob first (both are in the kernel image's read-only data, the tables a few MiB
/// before the blob); only if none decodes does the pass go on past the blob, decoding each candidate it
/// meets.
fn scan_range(capture: &Capture, lo: u64, hi: u64) -> Found {
    let mut found = Found::default();
    let finder = memchr::memmem::Finder::new(&BTF_HEADER_START);
    let (mut tried, mut candidates) = (0usize, Vec::new());
    let mut resume = None;
    stream(capture, lo, u64::MAX, &mut found, &mut |found, at, window, next| {
        if found.btf.is_none() && at >= hi {
            return true;
        }
        if candidates.len() < MAX_NOTED {
            let seen = kallsyms::token_table_candidates(window);
            candidates.extend(seen.into_iter().take_while(|&p| p < next).map(|p| at + p as u64));
        }
        for pos in finder.find_iter(window).take_while(|&p| p < next) {
            if tried >= MAX_BTF_CANDIDATES {
                break;
            }
            tried += 1;
            if let Some(blob) = btf_at(capture, at + pos as u64, &window[pos..], found) {
                found.btf = Some((at + pos as u64, blob));
                resume = Some(at + next as u64);
                return true;
            }
        }
        false
    });
    let Some(btf) = found.btf.as_ref().map(|(p, _)| *p) else {
        return found;
    };
    candidates.sort_by_key(|c| c.abs_diff(btf));
    for &c in candidates.iter().take(MAX_CANDIDATES) {
        if let Some(k) = kallsyms_at(capture, c, &mut found) {
            found.kallsyms = Some(k);
            return found;
        }
    }
    if let Some(from) = resume {
        let mut tried = 0usize;
        stream(capture, from, u64::MAX, &mut found, &mut |found, at, window, next| {
            for pos in kallsyms::token_table_candidates(window)
                .into_iter()
                .take_while(|&p| p < next)
            {
                if tried >= MAX_CANDIDATES {
                    return true;
                }
                tried += 1;
                if let Some(k) = kallsyms_at(capture, at + pos as u64, found) {
                    found.kallsyms = Some(k);
                    return true;
                }
            }
            false
        });
    }
    found
}

/// What [`stream`] gives each chunk to: the scan's state, the chunk's address, its bytes and where the next
/// chunk starts in them; true stops the stream.
type Look<'a> = dyn FnMut(&mut Found, u64, &[u8], usize) -> bool + 'a;

/// Read physical memory in [`CHUNK`]s from `lo` to `hi` (within the capture's ranges), giving `look`
/// each chunk's address, its bytes with [`OVERLAP`] more (so that a match starting in it is whole) and
/// where the next chunk starts in them, until it returns true.
fn stream(capture: &Capture, lo: u64, hi: u64, found: &mut Found, look: &mut Look<'_>) {
    let mut buf = vec![0u8; CHUNK + OVERLAP];
    for seg in capture.segments() {
        let (start, end) = (seg.phys_start.max(lo), seg.phys_end().min(hi));
        let mut at = start;
        while at < end {
            let len = (seg.phys_end() - at).min((CHUNK + OVERLAP) as u64) as usize;
            let window = &mut buf[..len];
            if capture.peek_phys(at, window).is_ok() {
                found.bytes_read += len as u64;
                // Matches that start in the overlap are the next chunk's.
                if look(found, at, window, len.min(CHUNK)) {
                    return;
                }
            }
            at += CHUNK as u64;
        }
    }
}

/// The BTF blob at physical `at`, if its header is one and it describes `task_struct`; `seen` is memory
/// already read from `at` on (taken as the blob's start, so that only the rest is read).
fn btf_at(capture: &Capture, at: u64, seen: &[u8], found: &mut Found) -> Option<Vec<u8>> {
    let mut header = [0u8; 24];
    match seen.get(..24) {
        Some(h) => header.copy_from_slice(h),
        None => capture.peek_phys(at, &mut header).ok()?,
    }
    let len = btf_blob_len(&header)?;
    // Forged or stale headers could name many large blobs: their reads share one budget.
    if found.btf_bytes + len as u64 > MAX_BTF_BYTES {
        found.reject(format!(
            "BTF at {at:#x}: over the {} MiB read for BTF candidates",
            MAX_BTF_BYTES >> 20
        ));
        return None;
    }
    found.btf_bytes += len as u64;
    let mut blob = vec![0u8; len];
    // Most candidates are modules' split BTF (their strings are their own, without `task_struct`) or
    // stale copies; vmlinux's is read once.
    let have = seen.len().min(len);
    blob[..have].copy_from_slice(&seen[..have]);
    if capture.peek_phys(at + have as u64, &mut blob[have..]).is_err() {
        found
            .rejected
            .push(format!("BTF at {at:#x}: {len} bytes not all in the capture"));
        return None;
    }
    found.bytes_read += (len - have) as u64;
    memchr::memmem::find(&blob[24..], b"\0task_struct\0")?;
    match btf_describes(&blob, "task_struct") {
        Ok(true) => Some(blob),
        Ok(false) => {
            found
                .rejected
                .push(format!("BTF at {at:#x}: no task_struct (a module's?)"));
            None
        }
        Err(e) => {
            found.reject(format!("BTF at {at:#x}: {e}"));
            None
        }
    }
}

/// The kallsyms tables around a token-table candidate at physical `at`, within its segment: decoded from
/// a window that holds most kernels' tables, or from a larger one where that one cuts them short.
fn kallsyms_at(capture: &Capture, at: u64, found: &mut Found) -> Option<(u64, Kallsyms)> {
    let seg = capture
        .segments()
        .iter()
        .find(|s| s.phys_start <= at && at < s.phys_end())?;
    let (seg_start, seg_end) = (seg.phys_start, seg.phys_end());
    // The token table and its index first, from a few pages around the candidate: most candidates are
    // other text with the digits in a row, refused here without reading the big window.
    let start = at.saturating_sub(PEEK_AROUND).max(seg_start);
    let end = at.saturating_add(PEEK_AROUND).min(seg_end);
    let mut near = vec![0u8; (end - start) as usize];
    capture.peek_phys(start, &mut near).ok()?;
    found.bytes_read += near.len() as u64;
    if let Err(e @ kallsyms::KallsymsError::TokenTable { .. }) = kallsyms::decode(&near, (at - start) as usize) {
        found.reject(format!("kallsyms at {at:#x}: {e}"));
        return None;
    }
    let window = |before: u64, after: u64| {
        (
            at.saturating_sub(before).max(seg_start),
            at.saturating_add(after).min(seg_end),
        )
    };
    let (first, full) = (
        window(KALLSYMS_FIRST_BEFORE, KALLSYMS_FIRST_AFTER),
        window(KALLSYMS_BEFORE, KALLSYMS_AFTER),
    );
    let decoded = match decode_window(capture, first, at, found)? {
        // The tables before the token table, or the addresses after it, may lie past the first window.
        Err(kallsyms::KallsymsError::Names { .. } | kallsyms::KallsymsError::Addresses { .. }) if full != first => {
            decode_window(capture, full, at, found)?
        }
        decoded => decoded,
    };
    match decoded {
        Ok(k) => Some(k),
        Err(e) => {
            found.reject(format!("kallsyms at {at:#x}: {e}"));
            None
        }
    }
}

/// The kallsyms tables around a token-table candidate at physical `at`, decoded from physical memory
/// `start..end`, with `start`.
fn decode_window(
    capture: &Capture,
    (start, end): (u64, u64),
    at: u64,
    found: &mut Found,
) -> Option<Result<(u64, Kallsyms), kallsyms::KallsymsError>> {
    let mut window = vec![0u8; (end - start) as usize];
    capture.peek_phys(start, &mut window).ok()?;
    found.bytes_read += window.len() as u64;
    Some(kallsyms::decode(&window, (at - start) as usize).map(|k| (start, k)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_without_btf_or_kallsyms_names_what_is_missing() {
        // Zeros but for a vmlinux-like BTF header whose blob is cut short, and the digit tokens alone.
        let mut mem = vec![0u8; 6 << 20];
        mem[4096..4104].copy_from_slice(&BTF_HEADER_START);
        mem[4096 + 12..4096 + 16].copy_from_slice(&100u32.to_le_bytes());
        mem[4096 + 16..4096 + 20].copy_from_slice(&100u32.to_le_bytes());
        mem[4096 + 20..4096 + 24].copy_from_slice(&(64u32 << 20).to_le_bytes());
        mem[(3 << 20)..(3 << 20) + 20].copy_from_slice(b"0\x001\x002\x003\x004\x005\x006\x007\x008\x009\x00");
        let capture = Capture::open(Box::new(mem)).unwrap();
        let e = derive(&capture, &mut |_| {}).unwrap_err();
        assert!(matches!(e, CaptureSymbolsError::NoBtf(_)), "{e}");
        let text = e.to_string();
        assert!(text.contains("CONFIG_DEBUG_INFO_BTF") && text.contains("ISF"), "{text}");
    }

    #[test]
    fn forged_btf_headers_and_noise_give_an_error() {
        // Noise, with a vmlinux-like BTF header every 4 KiB naming a 60 MiB blob of noise.
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut mem: Vec<u8> = (0..8 << 20)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed as u8
            })
            .collect();
        for at in (0..mem.len() - 24).step_by(4096) {
            mem[at..at + 8].copy_from_slice(&BTF_HEADER_START);
            mem[at + 8..at + 12].copy_from_slice(&0u32.to_le_bytes());
            mem[at + 12..at + 16].copy_from_slice(&(30u32 << 20).to_le_bytes());
            mem[at + 16..at + 20].copy_from_slice(&(30u32 << 20).to_le_bytes());
            mem[at + 20..at + 24].copy_from_slice(&(30u32 << 20).to_le_bytes());
        }
        let capture = Capture::open(Box::new(mem)).unwrap();
        assert!(matches!(
            derive(&capture, &mut |_| {}),
            Err(CaptureSymbolsError::NoBtf(_))
        ));
    }
}
