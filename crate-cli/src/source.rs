//! The capture file as the core's read trait.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use memscope_core::reader::{ReadAt, ReadError};

/// A file read with positioned reads.
pub struct FileSource {
    file: File,
    size: u64,
}

impl FileSource {
    /// Open `path` for reading.
    pub fn open(path: &Path) -> std::io::Result<FileSource> {
        let file = File::open(path)?;
        let size = file.metadata()?.len();
        Ok(FileSource { file, size })
    }
}

impl ReadAt for FileSource {
    fn size(&self) -> u64 {
        self.size
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), ReadError> {
        if offset.checked_add(buf.len() as u64).is_none_or(|end| end > self.size) {
            return Err(ReadError::OutOfBounds {
                offset,
                len: buf.len(),
                size: self.size,
            });
        }
        self.file.read_exact_at(buf, offset).map_err(|e| ReadError::Source {
            offset,
            message: e.to_string(),
        })
    }
}
