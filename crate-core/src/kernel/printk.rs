//! The kernel log as printk keeps it, read by the layout the symbols show (chosen once, [`PrintkLayout`]):
//! the printk ring buffer (`prb`, Linux 5.10 and later), `log_buf` records with a `struct printk_log` header
//! (3.11-5.9; `struct log` in 3.5-3.10), or plain text lines `<level>[time] text` (before 3.5).

use crate::kernel::{Kernel, KernelError};
use crate::symbols::SymbolTable;

/// Largest data ring read (`2^28` bytes): a larger `size_bits` is taken as corrupt.
const MAX_DATA_BITS: u64 = 28;
/// Largest descriptor ring walked (`2^22` descriptors).
const MAX_COUNT_BITS: u64 = 22;
/// Largest legacy `log_buf` read.
const MAX_LOG_BUF: u64 = 1 << 28;

/// One log record as the kernel wrote it (its text may hold several lines).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Sequence number.
    pub seq: u64,
    /// Nanoseconds since boot, where the log keeps times.
    pub ts_nsec: Option<u64>,
    /// Syslog level and facility.
    pub level: u8,
    pub facility: u8,
    /// `T<pid>` or `C<cpu>`, where the kernel records it.
    pub caller: Option<String>,
    /// A `dev_printk` record's subsystem and device.
    pub subsystem: Option<String>,
    pub device: Option<String>,
    /// The text, lines separated by `\n`.
    pub text: Vec<u8>,
}

/// Where the kernel keeps its log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrintkLayout {
    /// Linux 5.10 on: the lockless ring buffer `prb` (`printk_ringbuffer`: descriptors, `printk_info`s and a
    /// data ring). `caller_id` and `dev_info` are `printk_info` members in every such kernel; read where
    /// the symbols have them.
    Ringbuffer { caller_id: bool, dev_info: bool },
    /// 3.5 to 5.9: binary records in `log_buf`, with a header of this type (`printk_log` since 3.11, `log`
    /// in 3.5-3.10).
    Records(&'static str),
    /// Before 3.5: plain text in `log_buf`, `log_end` characters written.
    Text,
}

impl PrintkLayout {
    /// The layout the symbols show, or an error when they show none (see [`Kernel::layouts`]).
    pub fn of(symbols: &SymbolTable) -> Result<PrintkLayout, KernelError> {
        // The record header's type, a name checked by its members.
        let header = ["printk_log", "log"].into_iter().find(|t| {
            symbols
                .layout(t)
                .is_ok_and(|l| l.has_field("ts_nsec") && l.has_field("text_len"))
        });
        let info = |f: &str| symbols.layout("printk_info").is_ok_and(|l| l.has_field(f));
        if symbols.has_symbol("prb") && symbols.has_type("printk_ringbuffer") {
            Ok(PrintkLayout::Ringbuffer {
                caller_id: info("caller_id"),
                dev_info: info("dev_info"),
            })
        } else if let (true, Some(header)) = (symbols.has_symbol("log_buf"), header) {
            Ok(PrintkLayout::Records(header))
        } else if symbols.has_symbol("log_buf") && symbols.has_symbol("log_end") {
            Ok(PrintkLayout::Text)
        } else {
            Err(KernelError::Layout(
                "no kernel log in the symbols (neither prb/printk_ringbuffer nor log_buf with printk_log records \
                 or log_end)"
                    .into(),
            ))
        }
    }
}

/// The kernel log's records, oldest first, and warnings about what could not be read.
pub fn read(kernel: &Kernel) -> Result<(Vec<Record>, Vec<String>), KernelError> {
    let mut warnings = Vec::new();
    let records = match kernel.layouts().printk()? {
        PrintkLayout::Ringbuffer { caller_id, dev_info } => ringbuffer(kernel, caller_id, dev_info, &mut warnings)?,
        PrintkLayout::Records(header) => legacy(kernel, header, &mut warnings)?,
        PrintkLayout::Text => text_log(kernel, &mut warnings)?,
    };
    Ok((records, warnings))
}

/// `caller_id` as dmesg prints it: the top bit marks a CPU number, else a thread id.
fn caller(id: u64) -> Option<String> {
    let id = id as u32;
    if id & 0x8000_0000 != 0 {
        Some(format!("C{}", id & 0x7fff_ffff))
    } else {
        Some(format!("T{id}"))
    }
}

/// Read `len` bytes at `vaddr` page by page; unreadable pages are reported as ranges and left zero.
fn read_pages(kernel: &Kernel, vaddr: u64, len: usize) -> (Vec<u8>, Vec<(usize, usize)>) {
    let mut buf = vec![0u8; len];
    let missing = kernel.read_present(vaddr, &mut buf).unwrap_or_default();
    (buf, missing)
}

fn touches(missing: &[(usize, usize)], from: usize, to: usize) -> bool {
    missing.iter().any(|&(a, b)| from < b && a < to)
}

/// The printk ring buffer (5.10+): descriptors from `tail_id` to `head_id`, texts in the data ring.
fn ringbuffer(
    kernel: &Kernel,
    caller_id: bool,
    dev_info: bool,
    warnings: &mut Vec<String>,
) -> Result<Vec<Record>, KernelError> {
    let prb_addr = kernel
        .read_u64(kernel.symbol_addr("prb")?)
        .map_err(|e| KernelError::memory("prb".into(), Some(e)))?;
    let prb = kernel.object("printk_ringbuffer", prb_addr)?;
    let desc_ring = prb.member("desc_ring")?;
    let data_ring = prb.member("text_data_ring")?;
    let count_bits = desc_ring.u64("count_bits")?;
    let size_bits = data_ring.u64("size_bits")?;
    if !(1..=MAX_COUNT_BITS).contains(&count_bits) || !(3..=MAX_DATA_BITS).contains(&size_bits) {
        return Err(KernelError::Layout(format!(
            "printk ring buffer has implausible sizes (count_bits {count_bits}, size_bits {size_bits})"
        )));
    }
    let count = 1u64 << count_bits;
    let size = 1u64 << size_bits;
    let descs = desc_ring.pointer("descs")?;
    let infos = desc_ring.pointer("infos")?;
    let data = data_ring.pointer("data")?;
    let head_id = desc_ring.member("head_id")?.u64("counter")?;
    let tail_id = desc_ring.member("tail_id")?.u64("counter")?;

    let desc_size = kernel.symbols().layout("prb_desc")?.size();
    let info_size = kernel.symbols().layout("printk_info")?.size();
    let (ring, missing) = read_pages(kernel, data, size as usize);
    if !missing.is_empty() {
        warnings.push(format!(
            "printk data ring: {} unreadable page(s); records there are skipped",
            missing.len()
        ));
    }

    // The state occupies the top two bits of a 64-bit state_var; the rest is the descriptor id.
    const FLAGS_SHIFT: u32 = 62;
    const ID_MASK: u64 = !(3u64 << FLAGS_SHIFT);
    const COMMITTED: u64 = 1;
    const FINALIZED: u64 = 2;
    const REUSABLE: u64 = 3;

    let mut records = Vec::new();
    let mut skipped = 0usize;
    let mut unfinished = 0usize;
    let mut next_id = tail_id;
    let span = head_id.wrapping_sub(tail_id) & ID_MASK;
    if span >= count {
        warnings.push(format!("printk ring buffer: head_id {head_id:#x} and tail_id {tail_id:#x} are {span} apart, more than the {count} descriptors"));
    }
    for _ in 0..=span.min(count - 1) {
        let id = next_id;
        next_id = next_id.wrapping_add(1);
        let idx = id & (count - 1);
        let Ok(desc) = kernel.object("prb_desc", descs.wrapping_add(idx * desc_size)) else {
            skipped += 1;
            continue;
        };
        let sv = desc.member("state_var")?.u64("counter").unwrap_or(0);
        let state = sv >> FLAGS_SHIFT;
        let own = sv & ID_MASK == id & ID_MASK;
        if !own || !(state == COMMITTED || state == FINALIZED) {
            // A descriptor of its own id made reusable has had its record retired by the kernel (the tail's,
            // or the ring's initial one), and only the head may still be being written as memory was
            // taken; any other descriptor between tail and head was overwritten or smeared, and its record
            // is lost.
            let retired = own && state == REUSABLE;
            if !retired && id & ID_MASK != head_id & ID_MASK {
                unfinished += 1;
            }
            continue;
        }
        let lpos = desc.member("text_blk_lpos")?;
        let (begin, next) = (lpos.u64("begin").unwrap_or(1), lpos.u64("next").unwrap_or(1));
        let Ok(info) = kernel.object("printk_info", infos.wrapping_add(idx * info_size)) else {
            skipped += 1;
            continue;
        };
        let text_len = info.u64("text_len").unwrap_or(0) as usize;
        let text = if begin & 1 == 1 && next & 1 == 1 {
            // A data-less record: an empty line (NO_LPOS) or a failed reservation.
            Some(Vec::new())
        } else {
            block_text(id, &ring, &missing, size, size_bits, begin, next, text_len)
        };
        let Some(text) = text else {
            skipped += 1;
            continue;
        };
        let dev_info = if dev_info { info.member("dev_info").ok() } else { None };
        let dev_str = |f: &str| {
            dev_info
                .as_ref()
                .and_then(|d| d.string(f).ok())
                .filter(|s| !s.is_empty())
        };
        records.push(Record {
            seq: info.u64("seq").unwrap_or(0),
            ts_nsec: info.u64("ts_nsec").ok(),
            level: info.u64("level").unwrap_or(0) as u8,
            facility: info.u64("facility").unwrap_or(0) as u8,
            caller: if caller_id {
                info.u64("caller_id").ok().and_then(caller)
            } else {
                None
            },
            subsystem: dev_str("subsystem"),
            device: dev_str("device"),
            text,
        });
    }
    if skipped > 0 {
        warnings.push(format!(
            "printk ring buffer: {skipped} record(s) unreadable or with invalid positions"
        ));
    }
    if unfinished > 0 {
        warnings.push(format!(
            "printk ring buffer: {unfinished} descriptor(s) between tail and head hold no finished record of \
             their id (overwritten or unreadable); their records are lost"
        ));
    }
    records.sort_by_key(|r| r.seq);
    Ok(records)
}

/// The text of descriptor `id`'s data block `[begin, next)` of the ring (after the block's 8-byte owner
/// id), at most `text_len` bytes; `None` if the positions are invalid, the block belongs to another
/// descriptor, or the bytes were not captured.
#[allow(clippy::too_many_arguments)]
fn block_text(
    id: u64,
    ring: &[u8],
    missing: &[(usize, usize)],
    size: u64,
    size_bits: u64,
    begin: u64,
    next: u64,
    text_len: usize,
) -> Option<Vec<u8>> {
    let wraps = |lpos: u64| lpos >> size_bits;
    let index = |lpos: u64| (lpos & (size - 1)) as usize;
    let (start, len) = if wraps(begin) == wraps(next) && begin < next {
        (index(begin), (next - begin) as usize)
    } else if wraps(begin.wrapping_add(size)) == wraps(next) {
        // The block did not fit before the end of the ring and was written from its start.
        (0, index(next))
    } else {
        return None;
    };
    let end = start.checked_add(len)?;
    if len < 8 || end > ring.len() || touches(missing, start, end) {
        return None;
    }
    // A block starts with the id of the descriptor that owns it: anything else was overwritten.
    let owner = u64::from_le_bytes(ring[start..start + 8].try_into().ok()?);
    if owner != id {
        return None;
    }
    let body = &ring[start + 8..end];
    Some(body[..text_len.min(body.len())].to_vec())
}

/// An unsigned 32-bit global of the kernel image.
fn global_u32(kernel: &Kernel, sym: &str) -> Result<u64, KernelError> {
    let mut b = [0u8; 4];
    kernel
        .read(kernel.symbol_addr(sym)?, &mut b)
        .map_err(|e| KernelError::memory(sym.into(), Some(e)))?;
    Ok(u64::from(u32::from_le_bytes(b)))
}

/// Where the log buffer of kernels before 5.10 is (`log_buf`) and its length (`log_buf_len`), refused
/// when the length is 0 or above [`MAX_LOG_BUF`].
fn log_buf(kernel: &Kernel) -> Result<(u64, u64), KernelError> {
    let buf = kernel
        .read_u64(kernel.symbol_addr("log_buf")?)
        .map_err(|e| KernelError::memory("log_buf".into(), Some(e)))?;
    let len = global_u32(kernel, "log_buf_len")?;
    if len == 0 || len > MAX_LOG_BUF {
        return Err(KernelError::Layout(format!("log_buf_len {len} is implausible")));
    }
    Ok((buf, len))
}

/// The log buffer before 5.10: `struct printk_log` records in `log_buf` from `log_first_idx` to
/// `log_next_idx`, a record of length 0 meaning "continue at the start of the buffer".
fn legacy(kernel: &Kernel, header: &str, warnings: &mut Vec<String>) -> Result<Vec<Record>, KernelError> {
    let (buf, len) = log_buf(kernel)?;
    let first = global_u32(kernel, "log_first_idx")?;
    let next = global_u32(kernel, "log_next_idx")?;
    let first_seq = kernel
        .symbol_addr("log_first_seq")
        .ok()
        .and_then(|a| kernel.read_u64(a).ok())
        .unwrap_or(0);
    let (bytes, missing) = read_pages(kernel, buf, len as usize);
    if !missing.is_empty() {
        warnings.push(format!("log_buf: {} unreadable page(s)", missing.len()));
    }
    let layout = kernel.symbols().layout(header)?;
    let field = |name: &str| layout.field(name).map(|(o, _)| o as usize);
    let (level_at, level_shift) = match layout.field("level")? {
        (o, crate::symbols::TypeRef::Bitfield { position, .. }) => (o as usize, *position),
        (o, _) => (o as usize, 0),
    };
    let offsets = LogLayout {
        header: layout.size() as usize,
        ts_nsec: field("ts_nsec")?,
        len: field("len")?,
        text_len: field("text_len")?,
        facility: field("facility")?,
        level: level_at,
        level_shift,
        caller_id: field("caller_id").ok(),
    };
    Ok(parse_log_buf(
        &bytes,
        &missing,
        first as usize,
        next as usize,
        first_seq,
        &offsets,
        warnings,
    ))
}

/// Where the members of a `struct printk_log` header are.
#[derive(Debug, Clone, Copy)]
struct LogLayout {
    header: usize,
    ts_nsec: usize,
    len: usize,
    text_len: usize,
    facility: usize,
    /// Byte holding the 3-bit `level` bitfield, and its bit position there.
    level: usize,
    level_shift: u32,
    caller_id: Option<usize>,
}

/// The records of a legacy `log_buf` from index `first` to `next`: each a header, its text, then padding
/// up to `len`; a header of length 0 sends the reader back to the start of the buffer.
fn parse_log_buf(
    bytes: &[u8],
    missing: &[(usize, usize)],
    first: usize,
    next: usize,
    first_seq: u64,
    l: &LogLayout,
    warnings: &mut Vec<String>,
) -> Vec<Record> {
    let u16_at = |o: usize| {
        bytes
            .get(o..o.checked_add(2)?)
            .map(|b| u16::from_le_bytes([b[0], b[1]]) as usize)
    };
    let mut records = Vec::new();
    let mut pos = first;
    let mut seq = first_seq;
    let mut wrapped = false;
    // Each record takes at least a header, so the buffer holds at most len / header records (+1 wrap).
    for _ in 0..=(bytes.len() / l.header.max(1)) {
        if pos == next {
            break;
        }
        let Some(rec_len) = u16_at(pos + l.len) else {
            warnings.push(format!("log_buf: index {pos} is outside the buffer; stopped"));
            break;
        };
        if rec_len == 0 {
            if wrapped {
                warnings.push("log_buf: wrapped twice; stopped".into());
                break;
            }
            wrapped = true;
            pos = 0;
            continue;
        }
        let end = pos + rec_len;
        if rec_len < l.header || end > bytes.len() || touches(missing, pos, end) {
            warnings.push(format!("log_buf: invalid or unreadable record at index {pos}; stopped"));
            break;
        }
        let rec = &bytes[pos..end];
        let text_len = u16_at(pos + l.text_len).unwrap_or(0).min(rec_len - l.header);
        let u64_at = |o: usize| {
            rec.get(o..o + 8)
                .and_then(|b| b.try_into().ok())
                .map(u64::from_le_bytes)
        };
        let caller_id = l
            .caller_id
            .and_then(|o| rec.get(o..o + 4))
            .and_then(|b| b.try_into().ok());
        records.push(Record {
            seq,
            ts_nsec: u64_at(l.ts_nsec),
            level: rec.get(l.level).map(|b| (b >> l.level_shift) & 7).unwrap_or(0),
            facility: rec.get(l.facility).copied().unwrap_or(0),
            caller: caller_id.map(u32::from_le_bytes).and_then(|c| caller(u64::from(c))),
            subsystem: None,
            device: None,
            text: rec[l.header..l.header + text_len].to_vec(),
        });
        seq += 1;
        pos = end;
    }
    if pos != next && warnings.is_empty() {
        warnings.push(format!("log_buf: stopped at index {pos} before log_next_idx {next}"));
    }
    records
}

/// The plain-text log buffer before 3.5: `log_buf_len` bytes at `log_buf`, the last `log_end` characters
/// written (`log_end` counts every character ever written, wrapping at 2^32).
fn text_log(kernel: &Kernel, warnings: &mut Vec<String>) -> Result<Vec<Record>, KernelError> {
    let (buf, len) = log_buf(kernel)?;
    if !len.is_power_of_two() {
        return Err(KernelError::Layout(format!("log_buf_len {len} is implausible")));
    }
    let end = global_u32(kernel, "log_end")?;
    let (bytes, missing) = read_pages(kernel, buf, len as usize);
    if !missing.is_empty() {
        warnings.push(format!("log_buf: {} unreadable page(s)", missing.len()));
    }
    // The characters in writing order: the ring from log_end backwards by up to its length.
    let count = end.min(len) as usize;
    let start = (end as usize).wrapping_sub(count);
    let mask = len as usize - 1;
    let text: Vec<u8> = (0..count).map(|i| bytes[(start + i) & mask]).collect();
    Ok(parse_text_log(&text, end as usize > count))
}

/// Records of a plain-text log: one per line that starts with `<level>`, then an optional `[seconds]`
/// time. When the buffer has wrapped, its first line is cut and left out.
fn parse_text_log(text: &[u8], wrapped: bool) -> Vec<Record> {
    let mut lines = text.split(|&b| b == b'\n');
    if wrapped {
        lines.next();
    }
    let mut records = Vec::new();
    for line in lines {
        let Some((prefix, rest)) = line.strip_prefix(b"<").and_then(|l| {
            let close = l.iter().take(4).position(|&b| b == b'>')?;
            Some((&l[..close], &l[close + 1..]))
        }) else {
            continue; // the unterminated last line, or no record
        };
        let Some(value) = std::str::from_utf8(prefix).ok().and_then(|p| p.parse::<u16>().ok()) else {
            continue;
        };
        let (ts_nsec, text) = match rest.strip_prefix(b"[").and_then(|r| {
            let close = r.iter().take(24).position(|&b| b == b']')?;
            let secs = std::str::from_utf8(&r[..close]).ok()?.trim();
            let (whole, frac) = secs.split_once('.')?;
            let ns =
                whole.parse::<u64>().ok()? * 1_000_000_000 + format!("{frac:0<9}").get(..9)?.parse::<u64>().ok()?;
            Some((ns, r[close + 1..].strip_prefix(b" ").unwrap_or(&r[close + 1..])))
        }) {
            Some((ns, text)) => (Some(ns), text),
            None => (None, rest),
        };
        records.push(Record {
            seq: records.len() as u64,
            ts_nsec,
            level: (value & 7) as u8,
            facility: (value >> 3).min(255) as u8,
            caller: None,
            subsystem: None,
            device: None,
            text: text.to_vec(),
        });
    }
    records
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_positions() {
        // A 64-byte ring holding block 7 ("hello") at 8..21, and a wrapped block 9 at 0..12.
        let mut ring = vec![0u8; 64];
        ring[8..16].copy_from_slice(&7u64.to_le_bytes());
        ring[16..21].copy_from_slice(b"hello");
        assert_eq!(
            block_text(7, &ring, &[], 64, 6, 8, 21, 5).as_deref(),
            Some(&b"hello"[..])
        );
        // text_len longer than the block is cut to the block.
        assert_eq!(
            block_text(7, &ring, &[], 64, 6, 8, 21, 50).as_deref(),
            Some(&b"hello"[..])
        );
        // A block owned by another descriptor is not this one's text.
        assert_eq!(block_text(8, &ring, &[], 64, 6, 8, 21, 5), None);
        ring[0..8].copy_from_slice(&9u64.to_le_bytes());
        ring[8..12].copy_from_slice(b"wrap");
        assert_eq!(
            block_text(9, &ring, &[], 64, 6, 60, 64 + 12, 4).as_deref(),
            Some(&b"wrap"[..])
        );
        // Invalid: next two wraps ahead, or too short, or on a missing page.
        assert_eq!(block_text(9, &ring, &[], 64, 6, 0, 200, 4), None);
        assert_eq!(block_text(9, &ring, &[], 64, 6, 0, 4, 4), None);
        assert_eq!(block_text(9, &ring, &[(0, 64)], 64, 6, 0, 12, 4), None);
        assert_eq!(caller(0x8000_0001).as_deref(), Some("C1"));
        assert_eq!(caller(42).as_deref(), Some("T42"));
    }

    #[test]
    fn plain_text_log() {
        let log = b"ut-off line\n<6>[    0.000000] Linux version 3.2.0 (x)\n<4>[   12.345678] eth0: link up\n\
                    <14>hello from user space\n<6>[    13.000001] partial";
        let recs = parse_text_log(log, true);
        let got: Vec<_> = recs
            .iter()
            .map(|r| {
                (
                    r.ts_nsec,
                    r.level,
                    r.facility,
                    String::from_utf8_lossy(&r.text).into_owned(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (Some(0), 6, 0, "Linux version 3.2.0 (x)".to_string()),
                (Some(12_345_678_000), 4, 0, "eth0: link up".to_string()),
                (None, 6, 1, "hello from user space".to_string()),
                (Some(13_000_001_000), 6, 0, "partial".to_string()),
            ]
        );
        // Not wrapped: the first line is whole and kept; noise gives no records.
        assert_eq!(parse_text_log(b"<5>[1.5] a\n", false)[0].ts_nsec, Some(1_500_000_000));
        assert!(parse_text_log(&[0xff; 64], false).is_empty());
        assert!(parse_text_log(b"<99999999>x\n<x>y\n", false).is_empty());
    }

    /// A `struct printk_log` record as 4.x kernels write it: ts_nsec u64, len u16, text_len u16,
    /// dict_len u16, facility u8, flags:5 level:3, then the text, padded to 8 bytes.
    fn record(ts: u64, level: u8, text: &[u8]) -> Vec<u8> {
        let len = (16 + text.len()).div_ceil(8) * 8;
        let mut r = vec![0u8; len];
        r[0..8].copy_from_slice(&ts.to_le_bytes());
        r[8..10].copy_from_slice(&(len as u16).to_le_bytes());
        r[10..12].copy_from_slice(&(text.len() as u16).to_le_bytes());
        r[14] = 0;
        r[15] = (level << 5) | 2;
        r[16..16 + text.len()].copy_from_slice(text);
        r
    }

    const LAYOUT: LogLayout = LogLayout {
        header: 16,
        ts_nsec: 0,
        len: 8,
        text_len: 10,
        facility: 14,
        level: 15,
        level_shift: 5,
        caller_id: None,
    };

    #[test]
    fn legacy_log_buf() {
        // A 128-byte buffer: "first" at 32, "second" (two lines) at 56, a zero-length wrap marker at 88, and
        // "third" at 0, written after the wrap; log_next_idx is 24.
        let mut buf = vec![0u8; 128];
        let third = record(3_000_000_000, 4, b"third");
        buf[..third.len()].copy_from_slice(&third);
        let first = record(1_000_000_000, 6, b"first");
        buf[32..32 + first.len()].copy_from_slice(&first);
        let second = record(2_000_000_000, 3, b"second line\ncont");
        buf[56..56 + second.len()].copy_from_slice(&second);
        let marker_at = 56 + second.len();
        assert!(marker_at + 16 <= 128);
        let mut w = Vec::new();
        let recs = parse_log_buf(&buf, &[], 32, third.len(), 7, &LAYOUT, &mut w);
        assert!(w.is_empty(), "{w:?}");
        let texts: Vec<&[u8]> = recs.iter().map(|r| r.text.as_slice()).collect();
        assert_eq!(texts, [&b"first"[..], b"second line\ncont", b"third"]);
        assert_eq!((recs[0].seq, recs[2].seq), (7, 9));
        assert_eq!((recs[0].level, recs[1].level, recs[2].level), (6, 3, 4));
        assert_eq!(recs[2].ts_nsec, Some(3_000_000_000));

        // A corrupt length (longer than the buffer) stops the walk with a warning, keeping what was read.
        let mut bad = buf.clone();
        bad[56 + 8..56 + 10].copy_from_slice(&0xfff0u16.to_le_bytes());
        let mut w = Vec::new();
        let recs = parse_log_buf(&bad, &[], 32, third.len(), 0, &LAYOUT, &mut w);
        assert_eq!(recs.len(), 1);
        assert!(!w.is_empty());
        // Two wrap markers in a row (a cycle) stop too; an index outside the buffer as well.
        let mut w = Vec::new();
        assert!(parse_log_buf(&[0u8; 64], &[], 8, 40, 0, &LAYOUT, &mut w).is_empty());
        assert!(w.iter().any(|m| m.contains("wrapped twice")));
        let mut w = Vec::new();
        assert!(parse_log_buf(&buf, &[], 500, 0, 0, &LAYOUT, &mut w).is_empty() && !w.is_empty());
    }
}
