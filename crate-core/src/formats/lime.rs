//! LiME captures: each physical range is a 32-byte header (magic, version, first and last address, both
//! inclusive) followed by the range's bytes. AVML files use the same header before each compressed block;
//! [`RangeHeader`] parses it for both.

use std::mem::size_of;

use object::pod::{bytes_of, from_bytes, Pod};
use object::{LittleEndian as LE, U32, U64};

use super::{corrupt, Capture, CaptureFormat, FormatError, Segment};
use crate::reader::ReadAt;

/// "EMiL" as a little-endian u32.
pub(super) const MAGIC: u32 = 0x4c69_4d45;
/// Size of one range header.
pub(super) const HEADER_LEN: u64 = 32;
/// More ranges than any real machine has: a bound on the header walk.
pub(super) const MAX_RANGES: usize = 1 << 16;

/// A range header as the file stores it: LiME's `lime_mem_range_header` (packed, little-endian).
#[derive(Debug, Clone, Copy)]
#[repr(C)]
struct RawRangeHeader {
    magic: U32<LE>,
    version: U32<LE>,
    /// First physical address.
    s_addr: U64<LE>,
    /// Last physical address (inclusive).
    e_addr: U64<LE>,
    reserved: [u8; 8],
}

// SAFETY: `repr(C)` over byte arrays only (object's `unaligned` feature makes `U32`/`U64` byte arrays), so
// the struct has no padding, alignment 1, and every byte pattern is a valid value.
unsafe impl Pod for RawRangeHeader {}

const _: () = assert!(size_of::<RawRangeHeader>() == HEADER_LEN as usize);

/// The range header for physical `[start, end)` (the file stores the last address, inclusive), with
/// `magic` and `version`: LiME's, or AVML's before a compressed block.
pub(super) fn range_header(magic: u32, version: u32, start: u64, end: u64) -> [u8; HEADER_LEN as usize] {
    let raw = RawRangeHeader {
        magic: U32::new(LE, magic),
        version: U32::new(LE, version),
        s_addr: U64::new(LE, start),
        e_addr: U64::new(LE, end - 1),
        reserved: [0; 8],
    };
    let mut out = [0u8; HEADER_LEN as usize];
    out.copy_from_slice(bytes_of(&raw));
    out
}

/// The magic and the version that start a file (its first range header's first two words).
pub(super) fn magic_and_version(head: &[u8; 8]) -> (u32, u32) {
    let word = |i: usize| u32::from_le_bytes([head[i], head[i + 1], head[i + 2], head[i + 3]]);
    (word(0), word(4))
}

/// Whether the first bytes are a LiME (or AVML) range header.
pub(super) fn is_lime(head: &[u8; 8]) -> bool {
    magic_and_version(head).0 == MAGIC
}

/// One range header, checked.
#[derive(Debug, Clone, Copy)]
pub(super) struct RangeHeader {
    pub version: u32,
    pub start: u64,
    /// One past the last address (the file stores the last address itself).
    pub end: u64,
}

impl RangeHeader {
    /// Parse and check the range header that `bytes` start with, found at file offset `offset` of a
    /// `format` capture: its magic is one of `magics`, and its range is not inverted.
    pub(super) fn parse(
        bytes: &[u8],
        offset: u64,
        format: CaptureFormat,
        magics: &[u32],
    ) -> Result<RangeHeader, FormatError> {
        let (raw, _) = from_bytes::<RawRangeHeader>(bytes)
            .map_err(|()| corrupt(format, format!("range header at file offset {offset:#x} is cut off")))?;
        if !magics.contains(&raw.magic.get(LE)) {
            return Err(corrupt(
                format,
                format!("no range header magic at file offset {offset:#x}"),
            ));
        }
        let (start, last) = (raw.s_addr.get(LE), raw.e_addr.get(LE));
        if last < start || last == u64::MAX {
            return Err(corrupt(
                format,
                format!("range {start:#x}-{last:#x} at file offset {offset:#x} is inverted"),
            ));
        }
        Ok(RangeHeader {
            version: raw.version.get(LE),
            start,
            end: last + 1,
        })
    }
}

/// Read and check the LiME range header at `offset`.
fn read_header(file: &dyn ReadAt, offset: u64) -> Result<RangeHeader, FormatError> {
    let mut h = [0u8; HEADER_LEN as usize];
    // A header the file cannot give whole is one it cuts off.
    let bytes: &[u8] = if file.read_at(offset, &mut h).is_ok() { &h } else { &[] };
    RangeHeader::parse(bytes, offset, CaptureFormat::Lime, &[MAGIC])
}

/// Walk the range headers of a LiME file.
pub(super) fn open(file: Box<dyn ReadAt>) -> Result<Capture, FormatError> {
    let size = file.size();
    let mut segments = Vec::new();
    let mut offset = 0u64;
    while offset < size {
        if segments.len() >= MAX_RANGES {
            return Err(corrupt(CaptureFormat::Lime, "more than 65536 ranges"));
        }
        let header = read_header(file.as_ref(), offset)?;
        let data_offset = offset + HEADER_LEN;
        let len = header.end - header.start;
        let available = size.saturating_sub(data_offset);
        // A capture cut short keeps the part of its last range that is there.
        segments.push(Segment {
            phys_start: header.start,
            len: len.min(available),
            data_offset,
        });
        offset = data_offset.saturating_add(len);
    }
    Capture::from_parts(CaptureFormat::Lime, size, segments, file, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(start: u64, last: u64) -> Vec<u8> {
        let mut h = Vec::new();
        h.extend_from_slice(&MAGIC.to_le_bytes());
        h.extend_from_slice(&1u32.to_le_bytes());
        h.extend_from_slice(&start.to_le_bytes());
        h.extend_from_slice(&last.to_le_bytes());
        h.extend_from_slice(&[0; 8]);
        h
    }

    #[test]
    fn two_ranges_with_a_gap_and_inclusive_ends() {
        let mut file = header(0x1000, 0x1fff);
        file.extend(std::iter::repeat_n(0xaa, 0x1000));
        file.extend(header(0x8000, 0x8003));
        file.extend([1, 2, 3, 4]);
        let cap = Capture::open(Box::new(file)).unwrap();
        assert_eq!(cap.format(), CaptureFormat::Lime);
        assert_eq!(cap.segments().len(), 2);
        let mut b = [0; 4];
        cap.read_phys(0x8000, &mut b).unwrap();
        assert_eq!(b, [1, 2, 3, 4]);
        assert!(cap.read_phys(0x2000, &mut b).is_err());
        assert!(cap.read_phys(0x8002, &mut b).is_err());
        cap.read_phys(0x1ffe, &mut b[..2]).unwrap();
        assert_eq!(b[..2], [0xaa, 0xaa]);
    }

    #[test]
    fn truncated_last_range_keeps_what_is_there() {
        let mut file = header(0, 0xffff);
        file.extend([7; 100]);
        let cap = Capture::open(Box::new(file)).unwrap();
        assert_eq!(cap.phys_bytes(), 100);
    }

    #[test]
    fn range_header_fields_and_checks() {
        let h = header(0x1000, 0x1fff);
        let r = RangeHeader::parse(&h, 0, CaptureFormat::Lime, &[MAGIC]).unwrap();
        assert_eq!((r.version, r.start, r.end), (1, 0x1000, 0x2000));
        let err = |bytes: &[u8], magics: &[u32]| {
            RangeHeader::parse(bytes, 0x40, CaptureFormat::Lime, magics)
                .unwrap_err()
                .to_string()
        };
        assert!(err(&h[..31], &[MAGIC]).contains("at file offset 0x40 is cut off"));
        assert!(err(&h, &[0x4c4d_5641]).contains("no range header magic at file offset 0x40"));
        assert!(err(&header(0x2000, 0x1fff), &[MAGIC]).contains("range 0x2000-0x1fff at file offset 0x40 is inverted"));
        assert!(err(&header(0, u64::MAX), &[MAGIC]).contains("inverted"));
    }

    #[test]
    fn garbage_after_first_range_is_an_error() {
        let mut file = header(0, 3);
        file.extend([0; 4]);
        file.extend([0x55; 40]);
        assert!(matches!(
            Capture::open(Box::new(file)),
            Err(FormatError::Corrupt { .. })
        ));
    }
}
