//! LiME captures: each physical range is a 32-byte header (magic, version, first and last address, both
//! inclusive) followed by the range's bytes.

use super::{corrupt, Capture, CaptureFormat, FormatError, Segment};
use crate::reader::ReadAt;

/// "EMiL" as a little-endian u32.
pub(super) const MAGIC: u32 = 0x4c69_4d45;
/// Size of one range header.
pub(super) const HEADER_LEN: u64 = 32;
/// More ranges than any real machine has: a bound on the header walk.
pub(super) const MAX_RANGES: usize = 1 << 16;

/// Whether the first bytes are a LiME (or AVML) range header.
pub(super) fn is_lime(magic: &[u8; 8]) -> bool {
    u32::from_le_bytes([magic[0], magic[1], magic[2], magic[3]]) == MAGIC
}

/// One LiME range header.
#[derive(Debug, Clone, Copy)]
pub(super) struct RangeHeader {
    pub version: u32,
    pub start: u64,
    /// One past the last address (the file stores the last address itself).
    pub end: u64,
}

/// Read and check the range header at `offset`.
pub(super) fn read_header(file: &dyn ReadAt, offset: u64, format: CaptureFormat) -> Result<RangeHeader, FormatError> {
    let mut h = [0u8; HEADER_LEN as usize];
    file.read_at(offset, &mut h)
        .map_err(|_| corrupt(format, format!("range header at file offset {offset:#x} is cut off")))?;
    let word = |i: usize| u64::from_le_bytes(h[i..i + 8].try_into().unwrap_or_default());
    let magic = u32::from_le_bytes([h[0], h[1], h[2], h[3]]);
    let version = u32::from_le_bytes([h[4], h[5], h[6], h[7]]);
    if magic != MAGIC {
        return Err(corrupt(
            format,
            format!("no range header magic at file offset {offset:#x}"),
        ));
    }
    let (start, last) = (word(8), word(16));
    if last < start || last == u64::MAX {
        return Err(corrupt(
            format,
            format!("range {start:#x}-{last:#x} at file offset {offset:#x} is inverted"),
        ));
    }
    Ok(RangeHeader {
        version,
        start,
        end: last + 1,
    })
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
        let header = read_header(file.as_ref(), offset, CaptureFormat::Lime)?;
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
