//! Raw captures: the file is physical memory from address 0, gaps padded.

use super::{Capture, CaptureFormat, Segment};
use crate::reader::ReadAt;

/// Map the whole file as physical memory from address 0.
pub(super) fn open(file: Box<dyn ReadAt>) -> Capture {
    let size = file.size();
    let segment = Segment {
        phys_start: 0,
        len: size,
        data_offset: 0,
    };
    Capture {
        format: CaptureFormat::Raw,
        file_size: size,
        segments: vec![segment],
        data: file,
        vmcoreinfo: None,
        recorded: Default::default(),
    }
}
