//! AVML v2 captures (placeholder until the AVML reader lands).

use super::{corrupt, Capture, CaptureFormat, FormatError};
use crate::reader::ReadAt;

/// Whether the first bytes are an AVML v2 range header (LiME magic, version 2).
pub(super) fn is_avml(magic: &[u8; 8]) -> bool {
    u32::from_le_bytes([magic[4], magic[5], magic[6], magic[7]]) == 2
}

pub(super) fn open(_file: Box<dyn ReadAt>) -> Result<Capture, FormatError> {
    Err(corrupt(CaptureFormat::Avml, "AVML is not supported yet"))
}
