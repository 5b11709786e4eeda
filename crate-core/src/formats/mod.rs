//! Capture formats: each turns a capture file into a [`Capture`], a physical address space made of
//! segments, detected by content rather than by file name.

mod avml;
mod elf;
mod lime;
mod raw;
mod write;

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::fmt;

use serde::Serialize;

pub use write::{write_pages, Form, WriteError};

use crate::reader::{ReadAt, ReadError};

/// Bytes in one page of physical memory (x86-64's): what [`Capture::recorded_pages`] counts in, and the
/// kernel layer's page frame.
pub const PAGE_SIZE: u64 = 4096;

/// The container a capture came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CaptureFormat {
    /// LiME: a 32-byte header before each physical range.
    Lime,
    /// AVML v2: LiME headers with snappy-framed data and an 8-byte trailer per range.
    Avml,
    /// An ELF core file whose PT_LOAD segments carry physical addresses (QEMU, virsh, VirtualBox).
    ElfCore,
    /// The bytes of physical memory from address 0, gaps included.
    Raw,
}

impl fmt::Display for CaptureFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CaptureFormat::Lime => "lime",
            CaptureFormat::Avml => "avml",
            CaptureFormat::ElfCore => "elf_core",
            CaptureFormat::Raw => "raw",
        })
    }
}

/// Why a capture could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// The file has no bytes at all.
    #[error("the capture file is empty")]
    Empty,
    /// A header of the detected format is inconsistent.
    #[error("{format} capture is corrupt: {detail}")]
    Corrupt { format: CaptureFormat, detail: String },
    /// Reading the file failed.
    #[error(transparent)]
    Read(#[from] ReadError),
}

/// Why a physical read failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhysError {
    /// No range of the capture holds this address.
    #[error("physical address {0:#x} is not in the capture")]
    NotPresent(u64),
    /// The capture file could not be read there (truncated, I/O error, corrupt compression).
    #[error("physical address {addr:#x}: {source}")]
    Read { addr: u64, source: ReadError },
}

/// One contiguous physical range and where its bytes are in the format's data stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Segment {
    /// First physical address.
    pub phys_start: u64,
    /// Length in bytes.
    pub len: u64,
    /// Offset of the first byte in the data stream (the file, or AVML's decompressed stream).
    #[serde(skip)]
    pub data_offset: u64,
}

impl Segment {
    /// One past the last physical address.
    pub fn phys_end(&self) -> u64 {
        self.phys_start.saturating_add(self.len)
    }
}

/// A physical-memory capture: its format, its ranges, and the stream their bytes are read from.
pub struct Capture {
    format: CaptureFormat,
    file_size: u64,
    /// Sorted by `phys_start`, not overlapping.
    segments: Vec<Segment>,
    data: Box<dyn ReadAt>,
    vmcoreinfo: Option<String>,
    /// The physical pages read since [`Capture::record_reads`] (page frame numbers), while recording.
    recorded: RefCell<Option<BTreeSet<u64>>>,
}

impl fmt::Debug for Capture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Capture")
            .field("format", &self.format)
            .field("file_size", &self.file_size)
            .field("segments", &self.segments)
            .finish_non_exhaustive()
    }
}

impl Capture {
    /// Detect the format of `file` by its content and map its physical ranges. Anything that is no known
    /// container is taken as raw physical memory.
    pub fn open(file: Box<dyn ReadAt>) -> Result<Capture, FormatError> {
        let size = file.size();
        if size == 0 {
            return Err(FormatError::Empty);
        }
        let mut magic = [0u8; 8];
        let head = &mut magic[..size.min(8) as usize];
        file.read_at(0, head)?;
        if avml::is_avml(&magic) {
            return avml::open(file);
        }
        if lime::is_lime(&magic) {
            return lime::open(file);
        }
        if elf::is_elf(&magic) {
            return elf::open(file);
        }
        Ok(raw::open(file))
    }

    /// Build a capture from parts; `segments` are sorted and checked for overlap here.
    fn from_parts(
        format: CaptureFormat,
        file_size: u64,
        mut segments: Vec<Segment>,
        data: Box<dyn ReadAt>,
        vmcoreinfo: Option<String>,
    ) -> Result<Capture, FormatError> {
        segments.retain(|s| s.len > 0);
        segments.sort_by_key(|s| s.phys_start);
        if let Some(pair) = segments.windows(2).find(|w| w[0].phys_end() > w[1].phys_start) {
            return Err(FormatError::Corrupt {
                format,
                detail: format!(
                    "ranges at {:#x} and {:#x} overlap",
                    pair[0].phys_start, pair[1].phys_start
                ),
            });
        }
        if segments.is_empty() {
            return Err(FormatError::Corrupt {
                format,
                detail: "no physical range".into(),
            });
        }
        Ok(Capture {
            format,
            file_size,
            segments,
            data,
            vmcoreinfo,
            recorded: RefCell::new(None),
        })
    }

    /// The detected format.
    pub fn format(&self) -> CaptureFormat {
        self.format
    }

    /// Size of the capture file in bytes.
    pub fn file_size(&self) -> u64 {
        self.file_size
    }

    /// The physical ranges, sorted.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// Total bytes of physical memory the capture holds.
    pub fn phys_bytes(&self) -> u64 {
        self.segments.iter().map(|s| s.len).sum()
    }

    /// The text of a VMCOREINFO note, where the container carries one (ELF cores from kdump or QEMU).
    pub fn vmcoreinfo(&self) -> Option<&str> {
        self.vmcoreinfo.as_deref()
    }

    /// The value of `key` in the VMCOREINFO note (`KERNELOFFSET`, `SYMBOL(init_task)`, `NUMBER(phys_base)`:
    /// its `KEY=value` lines), as text.
    pub fn vmcoreinfo_value(&self, key: &str) -> Option<&str> {
        self.vmcoreinfo()?
            .lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
            .map(str::trim)
    }

    /// A VMCOREINFO value written in hex (`SYMBOL(...)`, `KERNELOFFSET`).
    pub fn vmcoreinfo_hex(&self, key: &str) -> Option<u64> {
        u64::from_str_radix(self.vmcoreinfo_value(key)?.trim_start_matches("0x"), 16).ok()
    }

    /// A VMCOREINFO value written in decimal (`NUMBER(...)`), taken as the two's-complement `u64`.
    pub fn vmcoreinfo_number(&self, key: &str) -> Option<u64> {
        self.vmcoreinfo_value(key)?.parse::<i64>().ok().map(|n| n as u64)
    }

    /// From now on, note every physical page read (what `memscope trim` keeps).
    pub fn record_reads(&self) {
        *self.recorded.borrow_mut() = Some(BTreeSet::new());
    }

    /// The page frame numbers (address / [`PAGE_SIZE`]) of the pages read since [`Capture::record_reads`],
    /// ascending.
    pub fn recorded_pages(&self) -> Vec<u64> {
        self.recorded
            .borrow()
            .as_ref()
            .map(|pages| pages.iter().copied().collect())
            .unwrap_or_default()
    }

    /// The segment holding `addr`, if any.
    fn segment_of(&self, addr: u64) -> Option<&Segment> {
        let i = self.segments.partition_point(|s| s.phys_start <= addr);
        let seg = self.segments.get(i.checked_sub(1)?)?;
        (addr < seg.phys_end()).then_some(seg)
    }

    /// Fill `buf` with physical memory at `addr`. The whole range must be present.
    pub fn read_phys(&self, addr: u64, buf: &mut [u8]) -> Result<(), PhysError> {
        self.copy_phys(addr, buf, false)
    }

    /// Like [`Capture::read_phys`], without filling the cache: for sparse probes of a few bytes.
    pub fn peek_phys(&self, addr: u64, buf: &mut [u8]) -> Result<(), PhysError> {
        self.copy_phys(addr, buf, true)
    }

    fn copy_phys(&self, addr: u64, buf: &mut [u8], peek: bool) -> Result<(), PhysError> {
        let mut done = 0usize;
        while done < buf.len() {
            let at = addr.checked_add(done as u64).ok_or(PhysError::NotPresent(u64::MAX))?;
            let seg = self.segment_of(at).ok_or(PhysError::NotPresent(at))?;
            let take = ((seg.phys_end() - at) as usize).min(buf.len() - done);
            let offset = seg.data_offset + (at - seg.phys_start);
            let part = &mut buf[done..done + take];
            let read = if peek {
                self.data.peek_at(offset, part)
            } else {
                self.data.read_at(offset, part)
            };
            read.map_err(|source| PhysError::Read { addr: at, source })?;
            if let Some(pages) = self.recorded.borrow_mut().as_mut() {
                pages.extend(at / PAGE_SIZE..=(at + take as u64 - 1) / PAGE_SIZE);
            }
            done += take;
        }
        Ok(())
    }

    /// Read a little-endian `u64` of physical memory.
    pub fn read_phys_u64(&self, addr: u64) -> Result<u64, PhysError> {
        let mut b = [0; 8];
        self.read_phys(addr, &mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    /// Whether `addr` is inside a range of the capture.
    pub fn is_present(&self, addr: u64) -> bool {
        self.segment_of(addr).is_some()
    }
}

fn corrupt(format: CaptureFormat, detail: impl Into<String>) -> FormatError {
    FormatError::Corrupt {
        format,
        detail: detail.into(),
    }
}
