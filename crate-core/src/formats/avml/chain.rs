//! The block trailer chain: a complete AVML file's blocks, found from its end.
//!
//! The last 8 bytes of the file are the last block's trailer, the length it gives leads to that block's
//! range header, and the 8 bytes before that header are the previous block's trailer, so one small read
//! per block (25 for 400 MiB of memory) maps every range. The chain must lead back to offset 0 through
//! valid version-2 range headers; a file where it does not (cut short, or damaged) is walked instead.

use super::{parse_header, CHUNK_HEADER_LEN, STREAM_ID, TRAILER_LEN, VERSION};
use crate::formats::lime::{HEADER_LEN, MAX_RANGES};
use crate::reader::ReadAt;

/// One block of the file: a range header, the range's snappy data, a trailer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Block {
    /// File offset of the range header.
    pub(super) header: u64,
    /// Bytes of snappy data between the header and the trailer (what the trailer says).
    pub(super) data_len: u64,
    /// The range's first physical address.
    pub(super) phys_start: u64,
    /// Offset of the range's first byte in the stream.
    pub(super) stream_offset: u64,
    /// The range's length (decompressed bytes).
    pub(super) len: u64,
}

impl Block {
    pub(super) fn stream_end(&self) -> u64 {
        self.stream_offset + self.len
    }

    /// One past the trailer: where the next block's header is.
    pub(super) fn file_end(&self) -> u64 {
        self.header + HEADER_LEN + self.data_len + TRAILER_LEN
    }
}

/// The blocks of a complete file, found from its end. `None` when the chain does not lead back to offset 0
/// through valid version-2 range headers: a file cut short or damaged, which the caller walks from its
/// start instead.
pub(super) fn block_chain(file: &dyn ReadAt) -> Option<Vec<Block>> {
    let mut trailer = [0u8; TRAILER_LEN as usize];
    let mut end = file.size().checked_sub(TRAILER_LEN)?; // where the current block's data ends
    file.peek_at(end, &mut trailer).ok()?;
    let mut blocks = Vec::new();
    loop {
        if blocks.len() >= MAX_RANGES {
            return None;
        }
        let data_len = u64::from_le_bytes(trailer);
        // A block's data holds at least its stream identifier chunk.
        if data_len < CHUNK_HEADER_LEN + STREAM_ID.len() as u64 {
            return None;
        }
        let header = end.checked_sub(data_len)?.checked_sub(HEADER_LEN)?;
        // The header and, before it, the previous block's trailer: one read.
        let before = header.min(TRAILER_LEN);
        let mut buf = [0u8; (TRAILER_LEN + HEADER_LEN) as usize];
        let buf = &mut buf[(TRAILER_LEN - before) as usize..];
        file.peek_at(header - before, buf).ok()?;
        let (previous, h) = buf.split_at(before as usize);
        let range = parse_header(h, header).ok().filter(|r| r.version == VERSION)?;
        blocks.push(Block {
            header,
            data_len,
            phys_start: range.start,
            stream_offset: 0,
            len: range.end - range.start,
        });
        if header == 0 {
            break;
        }
        trailer = previous.try_into().ok()?; // fails when the header starts inside the first 8 bytes
        end = header - TRAILER_LEN;
    }
    blocks.reverse();
    let mut offset = 0u64;
    for b in &mut blocks {
        b.stream_offset = offset;
        offset = offset.checked_add(b.len)?;
    }
    Some(blocks)
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::rc::Rc;

    use super::super::sample::*;
    use super::super::walk::build_index;
    use super::super::{add_segment, Capture};
    use super::*;
    use crate::reader::ReadError;

    /// A capture file that records the reads made of it.
    struct Recorded {
        bytes: Vec<u8>,
        reads: Rc<RefCell<Vec<(u64, usize)>>>,
    }

    impl ReadAt for Recorded {
        fn size(&self) -> u64 {
            self.bytes.len() as u64
        }

        fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), ReadError> {
            self.reads.borrow_mut().push((offset, buf.len()));
            self.bytes.read_at(offset, buf)
        }
    }

    #[test]
    fn blocks_are_found_from_their_trailers_and_indexed_when_first_read() {
        let (file, a, b) = sample();
        let first_block_len = block(A, &a).len() as u64;
        // The chain finds what the walk finds.
        let blocks = block_chain(&file).unwrap();
        let index = build_index(&file).unwrap();
        let mut segments = Vec::new();
        for block in &blocks {
            add_segment(&mut segments, block.phys_start, block.len, block.stream_offset);
        }
        assert_eq!(segments, index.segments);
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[1].header, first_block_len);
        assert_eq!(blocks[1].file_end(), file.len() as u64);
        // Opening reads the magic, the last trailer, then each header with the trailer before it.
        let reads = Rc::new(RefCell::new(Vec::new()));
        let recorded = Recorded {
            bytes: file.clone(),
            reads: reads.clone(),
        };
        let cap = Capture::open(Box::new(recorded)).unwrap();
        assert_eq!(reads.borrow().len(), 4, "{:?}", reads.borrow());
        assert!(reads.borrow().iter().all(|&(_, len)| len <= 40));
        // A read in the second range reads that block once, whole; the first block is not read.
        reads.borrow_mut().clear();
        let mut buf = vec![0; 100];
        cap.read_phys(B + 10, &mut buf).unwrap();
        assert_eq!(buf, b[10..110]);
        cap.read_phys(B + 4_000, &mut buf).unwrap();
        assert_eq!(buf, b[4_000..4_100]);
        let len = file.len() as u64 - first_block_len;
        assert_eq!(*reads.borrow(), [(first_block_len, len as usize)]);
        // The first range: its block once, however many of its chunks are read.
        reads.borrow_mut().clear();
        let mut all = vec![0; a.len()];
        cap.read_phys(A, &mut all).unwrap();
        assert_eq!(all, a);
        assert_eq!(*reads.borrow(), [(0, first_block_len as usize)]);
    }

    #[test]
    fn a_file_cut_short_is_walked_not_chained() {
        let (file, a, _) = sample();
        let first_block_len = block(A, &a).len();
        let cuts = (1..file.len())
            .step_by(97)
            .chain([first_block_len - 1, first_block_len + 1]);
        for cut in cuts.filter(|&cut| cut != first_block_len) {
            assert_eq!(block_chain(&file[..cut].to_vec()), None, "cut at {cut}");
        }
        // Cut between blocks, it is a complete file of the first range.
        let blocks = block_chain(&file[..first_block_len].to_vec()).unwrap();
        assert_eq!((blocks.len(), blocks[0].len), (1, a.len() as u64));
    }
}
