//! Writing chosen physical pages of a capture as a new capture (`memscope trim`): LiME, or AVML v2 with
//! each block snappy-compressed, in the layouts [`super::lime`] and [`super::avml`] read.

use super::{avml, lime, Capture, PhysError, PAGE_SIZE};

/// The format to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// A LiME header (version 1) before each range of consecutive pages.
    Lime,
    /// AVML v2: blocks of at most [`AVML_BLOCK`] bytes, each a range header (magic `AVML`, version 2), its
    /// bytes in snappy's framing format and the compressed length.
    Avml,
}

/// Largest AVML block, as avml itself writes them.
pub const AVML_BLOCK: u64 = 16 << 20;
/// Bytes of memory a LiME range is copied by at a time.
const PIECE: u64 = 1 << 20;

/// Why [`write_pages`] stopped.
#[derive(Debug, thiserror::Error)]
pub enum WriteError<E> {
    /// A page to keep could not be read from the capture.
    #[error("{0}")]
    Read(PhysError),
    /// The output refused the bytes.
    #[error("{0}")]
    Out(E),
    /// Compressing a block failed.
    #[error("compressing a block: {0}")]
    Compress(String),
}

/// Write the physical pages `pages` of `capture` (page frame numbers of [`PAGE_SIZE`] bytes, ascending)
/// in `form`, one range per run of consecutive pages, giving `out` the file's bytes in order. The bytes
/// written.
pub fn write_pages<E>(
    capture: &Capture,
    pages: &[u64],
    form: Form,
    out: &mut dyn FnMut(&[u8]) -> Result<(), E>,
) -> Result<u64, WriteError<E>> {
    let mut written = 0u64;
    let mut emit = |bytes: &[u8]| -> Result<(), WriteError<E>> {
        written += bytes.len() as u64;
        out(bytes).map_err(WriteError::Out)
    };
    for (start, end) in runs(pages) {
        match form {
            Form::Lime => {
                emit(&lime::range_header(lime::MAGIC, 1, start, end))?;
                let mut buf = vec![0u8; (end - start).min(PIECE) as usize];
                let mut at = start;
                while at < end {
                    let piece = &mut buf[..(end - at).min(PIECE) as usize];
                    capture.peek_phys(at, piece).map_err(WriteError::Read)?;
                    emit(piece)?;
                    at += piece.len() as u64;
                }
            }
            Form::Avml => {
                let mut at = start;
                while at < end {
                    let block_end = (at + AVML_BLOCK).min(end);
                    let mut block = vec![0u8; (block_end - at) as usize];
                    capture.peek_phys(at, &mut block).map_err(WriteError::Read)?;
                    let compressed = compress(&block).map_err(WriteError::Compress)?;
                    emit(&lime::range_header(avml::MAGIC, avml::VERSION, at, block_end))?;
                    emit(&compressed)?;
                    emit(&(compressed.len() as u64).to_le_bytes())?;
                    at = block_end;
                }
            }
        }
    }
    Ok(written)
}

/// The runs of consecutive pages, as physical `[start, end)` ranges.
fn runs(pages: &[u64]) -> Vec<(u64, u64)> {
    let mut out: Vec<(u64, u64)> = Vec::new();
    for &p in pages {
        let (start, end) = (p * PAGE_SIZE, (p + 1) * PAGE_SIZE);
        match out.last_mut() {
            Some(last) if last.1 == start => last.1 = end,
            _ => out.push((start, end)),
        }
    }
    out
}

/// `bytes` in snappy's framing format.
fn compress(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let mut encoder = snap::write::FrameEncoder::new(Vec::new());
    std::io::Write::write_all(&mut encoder, bytes).map_err(|e| e.to_string())?;
    encoder.into_inner().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::CaptureFormat;

    fn lime_file(start: u64, data: &[u8]) -> Vec<u8> {
        let mut file = lime::range_header(lime::MAGIC, 1, start, start + data.len() as u64).to_vec();
        file.extend_from_slice(data);
        file
    }

    #[test]
    fn recorded_pages_written_as_lime_or_avml_read_back_the_same() {
        let data: Vec<u8> = (0..0x4000u32).map(|i| (i / 7) as u8).collect();
        let cap = Capture::open(Box::new(lime_file(0x1000, &data))).unwrap();
        cap.record_reads();
        let mut b = [0u8; 16];
        cap.read_phys(0x1ff8, &mut b).unwrap(); // pages 1 and 2
        cap.read_phys(0x4000, &mut b[..1]).unwrap(); // page 4
        assert_eq!(cap.recorded_pages(), [1, 2, 4]);
        for (form, format) in [(Form::Lime, CaptureFormat::Lime), (Form::Avml, CaptureFormat::Avml)] {
            let mut out = Vec::new();
            let n = write_pages::<()>(&cap, &cap.recorded_pages(), form, &mut |bytes| {
                out.extend_from_slice(bytes);
                Ok(())
            })
            .unwrap();
            assert_eq!(n, out.len() as u64);
            let trimmed = Capture::open(Box::new(out)).unwrap();
            assert_eq!(trimmed.format(), format);
            assert_eq!(trimmed.segments().len(), 2, "{form:?}: a range per run of pages");
            for at in [0x1000u64, 0x2fff, 0x4000, 0x4abc] {
                let (mut x, mut y) = ([0u8; 1], [0u8; 1]);
                cap.read_phys(at, &mut x).unwrap();
                trimmed.read_phys(at, &mut y).unwrap();
                assert_eq!(x, y, "{form:?} {at:#x}");
            }
            assert!(
                trimmed.read_phys(0x3000, &mut b[..1]).is_err(),
                "a page not read is not kept"
            );
        }
    }

    #[test]
    fn runs_join_consecutive_pages() {
        assert_eq!(runs(&[]), []);
        assert_eq!(runs(&[1, 2, 3, 7]), [(0x1000, 0x4000), (0x7000, 0x8000)]);
    }
}
