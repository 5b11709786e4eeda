//! The worker: owns the capture, the block cache, the symbols and the results. The page never touches
//! capture bytes; it sends [`ToWorker`] messages and receives [`FromWorker`] ones.
//!
//! Reading is synchronous (the core's [`ReadAt`]): a `File` through `FileReaderSync` on `Blob` slices,
//! the demo through synchronous `XMLHttpRequest`s with a `Range` header (both allowed in workers), each a
//! [`Ranges`] source behind the one [`Ranged`] reader, and that behind a [`BlockCache`] of large blocks,
//! since each call costs a fixed ~0.6 ms whatever its size.

mod kept_symbols;

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use js_sys::{Array, Uint8Array};
use memscope_core::analyses::info;
use memscope_core::analyses::registry::{self, FileStream, OptionKind, Options, Output, OutputFile, Spec};
use memscope_core::archive;
use memscope_core::export;
use memscope_core::formats::Capture;
use memscope_core::kernel::Kernel;
use memscope_core::reader::{CacheConfig, Counted, ReadAt, ReadCounts, ReadError};
use memscope_core::session::{self, DerivedStore, NoDerivedStore, OpenError, Session, SymbolStore, Symbols};
use memscope_core::symbols::index::{IndexEntry, SymbolIndex, INDEX_FILE};
use memscope_core::symbols::SymbolTable;
use serde_json::Value;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    Blob, DedicatedWorkerGlobalScope, FileReaderSync, FileSystemDirectoryHandle, FileSystemFileHandle,
    FileSystemGetFileOptions, FileSystemReadWriteOptions, FileSystemSyncAccessHandle, MessageEvent, XmlHttpRequest,
    XmlHttpRequestResponseType,
};

use crate::proto::{FromWorker, ToWorker};
use kept_symbols::KeptSymbols;

/// Block size of the cache in front of the capture. Each FileReaderSync call costs a fixed ~0.6 ms, so a
/// block must be large enough that the call cost dominates little, yet small enough that scattered reads
/// (page tables, task structs all over memory) do not drag whole megabytes each. 256 KiB measured best
/// (see the e2e timing and README).
pub const BLOCK_SIZE: usize = 256 * 1024;
/// Upper bound of the cache's memory.
pub const CACHE_BYTES: usize = 64 * 1024 * 1024;

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State::default());
    static PROGRESS: RefCell<Progress> = RefCell::new(Progress::default());
}

#[derive(Default)]
struct State {
    capture: Option<Rc<Capture>>,
    kernel: Option<Kernel>,
    /// Rows (and the files of output options) already read, by [`result_key`].
    results: HashMap<String, Output>,
}

/// One file a run offers the page: a file option's file as it is, a directory option's files as one tar
/// archive named after the analysis and the option, or a stream's files (read from the kernel only when
/// the page asks) as one such archive.
enum Download<'o> {
    File(&'o OutputFile),
    Tar(String, Vec<&'o OutputFile>),
    Stream(String, &'o FileStream),
}

impl Download<'_> {
    /// The name the page saves it under.
    fn name(&self) -> &str {
        match self {
            Download::File(f) => &f.name,
            Download::Tar(name, _) | Download::Stream(name, _) => name,
        }
    }

    /// What the page saves: a `Uint8Array`, or for a stream a `Blob` made of pieces of at most
    /// [`BLOB_PIECE`] bytes (the archive is never whole in the worker's memory, only the file being
    /// written is); with the warnings of the writing. A tar archive is built only here, when the page asks for it.
    fn payload(&self, kernel: &Kernel) -> Result<(JsValue, Vec<String>), String> {
        match self {
            Download::File(f) => Ok((Uint8Array::from(&f.bytes[..]).into(), Vec::new())),
            Download::Tar(_, files) => {
                let entries: Vec<(&str, &[u8])> = files.iter().map(|f| (f.name.as_str(), &f.bytes[..])).collect();
                Ok((Uint8Array::from(&archive::tar(&entries)[..]).into(), Vec::new()))
            }
            Download::Stream(_, stream) => {
                let mut tar = archive::TarWriter::new(BlobPieces::default());
                let warnings = (stream.write)(kernel, &mut tar).map_err(|e| e.to_string())?;
                let blob = tar.finish().map_err(|e| e.to_string())?.finish()?;
                Ok((blob.into(), warnings))
            }
        }
    }
}

/// The largest piece of a streamed archive kept in the worker's memory.
const BLOB_PIECE: usize = 4 << 20;
/// Pieces gathered before they are folded into the `Blob` so far (whose bytes the browser keeps out of
/// the worker's heap).
const PIECES_PER_FOLD: usize = 8;

/// Bytes gathered into `Uint8Array` pieces of up to [`BLOB_PIECE`] bytes, folded into a `Blob` every
/// [`PIECES_PER_FOLD`] pieces.
#[derive(Default)]
struct BlobPieces {
    blob: Option<web_sys::Blob>,
    pieces: Vec<Uint8Array>,
    current: Vec<u8>,
    error: Option<String>,
}

impl BlobPieces {
    /// The `Blob` of everything written.
    fn finish(mut self) -> Result<web_sys::Blob, String> {
        self.flush_piece();
        self.fold();
        match (self.error, self.blob) {
            (Some(e), _) => Err(e),
            (None, Some(blob)) => Ok(blob),
            (None, None) => web_sys::Blob::new().map_err(|e| format!("{e:?}")),
        }
    }

    fn flush_piece(&mut self) {
        if !self.current.is_empty() {
            self.pieces.push(Uint8Array::from(&self.current[..]));
            self.current.clear();
        }
        if self.pieces.len() >= PIECES_PER_FOLD {
            self.fold();
        }
    }

    fn fold(&mut self) {
        if self.pieces.is_empty() {
            return;
        }
        let parts: Array = self.blob.take().map(JsValue::from).into_iter().collect();
        for p in self.pieces.drain(..) {
            parts.push(&p);
        }
        match web_sys::Blob::new_with_u8_array_sequence(&parts) {
            Ok(b) => self.blob = Some(b),
            Err(e) => {
                self.error.get_or_insert(format!("{e:?}"));
            }
        }
    }
}

impl std::io::Write for BlobPieces {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.current.extend_from_slice(buf);
        if self.current.len() >= BLOB_PIECE {
            self.flush_piece();
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The downloads of a run of `analysis` (`spec`), in the order of its options.
fn downloads<'o>(analysis: &str, spec: &Spec, out: &'o Output) -> Vec<Download<'o>> {
    let mut files = Vec::new();
    for o in spec.options {
        let mine: Vec<&OutputFile> = out.files.iter().filter(|f| f.option == o.name).collect();
        match o.kind {
            OptionKind::Output { directory: true } if !mine.is_empty() => {
                files.push(Download::Tar(format!("{analysis}-{}.tar", o.name), mine));
            }
            _ => files.extend(mine.into_iter().map(Download::File)),
        }
        if let Some(stream) = out.stream.as_ref().filter(|s| s.option == o.name) {
            files.push(Download::Stream(format!("{analysis}-{}.tar", o.name), stream));
        }
    }
    files
}

/// Where the rows of `analysis` run with `options` are kept.
fn result_key(analysis: &str, options: &Options) -> String {
    format!("{analysis} {}", options.to_flags())
}

fn scope() -> DedicatedWorkerGlobalScope {
    js_sys::global().unchecked_into()
}

fn post(msg: &FromWorker) {
    let _ = scope().post_message(&JsValue::from_str(&msg.to_json()));
}

fn now() -> f64 {
    js_sys::Date::now()
}

/// What the worker tells the page of long work: the phase under way, the capture's reads so far (counted
/// by the [`Counted`] reader the capture is read through), and how long each phase took. Its own
/// thread-local beside [`STATE`], since reads happen while the state is borrowed.
#[derive(Default)]
struct Progress {
    phase: String,
    /// When the phase began, and the reads by then.
    phase_start: (f64, u64),
    /// (phase, milliseconds, reads) of each phase of the current message.
    timings: Vec<(String, f64, u64)>,
    last_post: f64,
    /// The reads of the capture (or of the copy under way).
    counts: Rc<ReadCounts>,
}

impl Progress {
    /// Start counting the reads of a new source from zero; the phase under way keeps its start time.
    fn count(&mut self, counts: Rc<ReadCounts>) {
        self.counts = counts;
        self.phase_start.1 = 0;
    }

    /// A new message: nothing of the previous one's phases is carried over.
    fn restart(&mut self) {
        self.timings.clear();
        self.phase.clear();
        self.phase_start = (now(), self.counts.calls());
    }
}

fn set_phase(phase: &str) {
    PROGRESS.with(|p| {
        let mut p = p.borrow_mut();
        let (t, reads) = (now(), p.counts.calls());
        let (t0, r0) = std::mem::replace(&mut p.phase_start, (t, reads));
        let previous = std::mem::replace(&mut p.phase, phase.to_string());
        if !previous.is_empty() && previous != "ready" {
            p.timings.push((previous, t - t0, reads - r0));
        }
    });
    post_progress(true);
}

fn phase() -> String {
    PROGRESS.with(|p| p.borrow().phase.clone())
}

/// Post progress at most every 50 ms (or now, when `force`).
fn post_progress(force: bool) {
    let t = now();
    let message = PROGRESS.with(|p| {
        let mut p = p.borrow_mut();
        if !force && t - p.last_post < 50.0 {
            return None;
        }
        p.last_post = t;
        Some(FromWorker::Progress {
            phase: p.phase.clone(),
            bytes: p.counts.bytes(),
            reads: p.counts.calls(),
        })
    });
    if let Some(m) = message {
        post(&m);
    }
}

/// Read `reader` through a counter that reports progress; the counts replace those of the source before.
fn counted(reader: impl ReadAt + 'static) -> Counted<impl ReadAt + 'static> {
    let counted = Counted::watched(reader, |_| post_progress(false));
    PROGRESS.with(|p| p.borrow_mut().count(counted.counts()));
    counted
}

pub(crate) fn js_message(e: &JsValue) -> String {
    e.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| format!("{e:?}"))
}

/// Where a [`Ranged`] reader gets its bytes: one call per read, whatever its size (FileReaderSync on a
/// Blob slice, a synchronous HTTP range request, an OPFS sync access handle).
pub trait Ranges {
    /// Fill `buf` with the bytes at `offset` (already checked to lie inside the source); how many bytes
    /// the source gave.
    fn fill(&self, offset: u64, buf: &mut [u8]) -> Result<usize, String>;
}

/// A source read by byte ranges, as the core's [`ReadAt`]: bounds, short reads and the progress count
/// are checked and kept here, once for every kind of source.
pub struct Ranged<S> {
    source: S,
    size: u64,
}

impl<S: Ranges> ReadAt for Ranged<S> {
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
        if buf.is_empty() {
            return Ok(());
        }
        let got = self
            .source
            .fill(offset, buf)
            .map_err(|message| ReadError::Source { offset, message })?;
        if got != buf.len() {
            return Err(ReadError::Source {
                offset,
                message: format!("short read: {got} of {} bytes", buf.len()),
            });
        }
        Ok(())
    }
}

/// Copy `array` into `buf` when it is exactly as long; its length either way.
fn copy_exact(array: &Uint8Array, buf: &mut [u8]) -> usize {
    let got = array.length() as usize;
    if got == buf.len() {
        array.copy_to(buf);
    }
    got
}

/// A `Blob` (a local `File`) read through `FileReaderSync`.
pub struct BlobRanges {
    blob: Blob,
    reader: FileReaderSync,
}

/// A local `File` read through `FileReaderSync` on `Blob` slices.
pub type BlobReader = Ranged<BlobRanges>;

impl BlobReader {
    pub fn new(blob: Blob) -> Result<BlobReader, String> {
        let reader = FileReaderSync::new().map_err(|e| js_message(&e))?;
        Ok(Ranged {
            size: blob.size() as u64,
            source: BlobRanges { blob, reader },
        })
    }
}

impl Ranges for BlobRanges {
    fn fill(&self, offset: u64, buf: &mut [u8]) -> Result<usize, String> {
        let slice = self
            .blob
            .slice_with_f64_and_f64(offset as f64, (offset + buf.len() as u64) as f64)
            .map_err(|e| js_message(&e))?;
        let bytes = self.reader.read_as_array_buffer(&slice).map_err(|e| js_message(&e))?;
        Ok(copy_exact(&Uint8Array::new(&bytes), buf))
    }
}

/// A file served over HTTP, read by synchronous range requests (the demo capture: never loaded whole).
pub struct HttpRanges {
    url: String,
}

/// A file served over HTTP, read by synchronous `Range` requests.
pub type HttpRangeReader = Ranged<HttpRanges>;

/// A synchronous GET of `url`, of the byte range `start..end` if given.
fn sync_get(url: &str, range: Option<(u64, u64)>) -> Result<(XmlHttpRequest, Uint8Array), String> {
    let xhr = XmlHttpRequest::new().map_err(|e| js_message(&e))?;
    xhr.open_with_async("GET", url, false).map_err(|e| js_message(&e))?;
    xhr.set_response_type(XmlHttpRequestResponseType::Arraybuffer);
    if let Some((start, end)) = range {
        xhr.set_request_header("Range", &format!("bytes={start}-{}", end - 1))
            .map_err(|e| js_message(&e))?;
    }
    xhr.send().map_err(|e| format!("{url}: {}", js_message(&e)))?;
    let status = xhr.status().unwrap_or(0);
    let ok = if range.is_some() { status == 206 } else { status == 200 };
    if !ok {
        return Err(format!("{url}: HTTP status {status}"));
    }
    let body = xhr.response().map_err(|e| js_message(&e))?;
    Ok((xhr, Uint8Array::new(&body)))
}

/// The whole body of `url`.
fn get_bytes(url: &str) -> Result<Vec<u8>, String> {
    sync_get(url, None).map(|(_, body)| body.to_vec())
}

impl HttpRangeReader {
    pub fn new(url: &str) -> Result<HttpRangeReader, String> {
        let (xhr, _) = sync_get(url, Some((0, 1)))?;
        let range = xhr
            .get_response_header("Content-Range")
            .ok()
            .flatten()
            .unwrap_or_default();
        let size = range
            .rsplit('/')
            .next()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .ok_or_else(|| format!("{url}: no size in Content-Range {range:?}"))?;
        Ok(Ranged {
            source: HttpRanges { url: url.to_string() },
            size,
        })
    }
}

impl Ranges for HttpRanges {
    fn fill(&self, offset: u64, buf: &mut [u8]) -> Result<usize, String> {
        let (_, body) = sync_get(&self.url, Some((offset, offset + buf.len() as u64)))?;
        Ok(copy_exact(&body, buf))
    }
}

/// The name of the capture's copy in the Origin Private File System.
const OPFS_NAME: &str = "memscope-capture.bin";
/// Bytes per FileReaderSync read while copying a capture into the OPFS.
const OPFS_COPY_PIECE: usize = 16 << 20;

/// A file in the Origin Private File System, read through a sync access handle (closed when dropped).
pub struct OpfsFile {
    handle: FileSystemSyncAccessHandle,
}

/// A copy of the capture in the Origin Private File System: each read costs microseconds instead of
/// FileReaderSync's fixed ~0.6 ms, but the copy costs a pass over the whole file first (and its size in
/// storage quota). Measured against [`BlobReader`] by `benches/browser.mjs`; the page uses it only with
/// `?reader=opfs` (see benches/RESULTS.md for why).
pub type OpfsReader = Ranged<OpfsFile>;

pub(crate) async fn opfs_dir() -> Result<FileSystemDirectoryHandle, String> {
    let storage = scope().navigator().storage();
    let dir = JsFuture::from(storage.get_directory())
        .await
        .map_err(|e| format!("no Origin Private File System: {}", js_message(&e)))?;
    Ok(dir.unchecked_into())
}

async fn opfs_handle(create: bool) -> Result<FileSystemSyncAccessHandle, String> {
    let options = FileSystemGetFileOptions::new();
    options.set_create(create);
    let file: FileSystemFileHandle =
        JsFuture::from(opfs_dir().await?.get_file_handle_with_options(OPFS_NAME, &options))
            .await
            .map_err(|e| format!("{OPFS_NAME}: {}", js_message(&e)))?
            .unchecked_into();
    let handle = JsFuture::from(file.create_sync_access_handle())
        .await
        .map_err(|e| format!("{OPFS_NAME}: {}", js_message(&e)))?;
    Ok(handle.unchecked_into())
}

impl OpfsReader {
    /// Copy `blob` into the OPFS (FileReaderSync reads of `piece` bytes, each written through the sync
    /// access handle) and open the copy.
    pub async fn copy(blob: &Blob, piece: usize) -> Result<OpfsReader, String> {
        // The handle is closed on every path from here (OpfsFile's Drop).
        let file = OpfsFile {
            handle: opfs_handle(true).await?,
        };
        let js = |e: JsValue| js_message(&e);
        file.handle.truncate_with_f64(0.0).map_err(js)?;
        let source = FileReaderSync::new().map_err(js)?;
        // The copy's reads count as the open's progress until the copy is read itself.
        let counts = Rc::new(ReadCounts::default());
        PROGRESS.with(|p| p.borrow_mut().count(counts.clone()));
        let size = blob.size();
        let options = FileSystemReadWriteOptions::new();
        let mut offset = 0.0;
        while offset < size {
            let end = (offset + piece as f64).min(size);
            let bytes = source
                .read_as_array_buffer(&blob.slice_with_f64_and_f64(offset, end).map_err(js)?)
                .map_err(js)?;
            options.set_at(offset);
            let written = file
                .handle
                .write_with_buffer_source_and_options(&bytes, &options)
                .map_err(js)?;
            if written != end - offset {
                return Err(format!(
                    "{OPFS_NAME}: wrote {written} of {} bytes at {offset} (storage quota?)",
                    end - offset
                ));
            }
            counts.add((end - offset) as usize);
            post_progress(false);
            offset = end;
        }
        file.handle.flush().map_err(js)?;
        Ok(Ranged {
            source: file,
            size: size as u64,
        })
    }

    /// Open the copy an earlier [`OpfsReader::copy`] left.
    pub async fn existing() -> Result<OpfsReader, String> {
        let file = OpfsFile {
            handle: opfs_handle(false).await?,
        };
        let size = file.handle.get_size().map_err(|e| js_message(&e))?;
        Ok(Ranged {
            source: file,
            size: size as u64,
        })
    }

    /// Delete the copy (its handle must be closed).
    pub async fn remove() -> Result<(), String> {
        JsFuture::from(opfs_dir().await?.remove_entry(OPFS_NAME))
            .await
            .map_err(|e| js_message(&e))?;
        Ok(())
    }
}

impl Drop for OpfsFile {
    fn drop(&mut self) {
        self.handle.close();
    }
}

impl Ranges for OpfsFile {
    fn fill(&self, offset: u64, buf: &mut [u8]) -> Result<usize, String> {
        let options = FileSystemReadWriteOptions::new();
        options.set_at(offset as f64);
        let got = self
            .handle
            .read_with_u8_array_and_options(buf, &options)
            .map_err(|e| js_message(&e))?;
        Ok(got as usize)
    }
}

/// The worker's block cache: large blocks (each FileReaderSync call costs the same whatever its size),
/// at most [`CACHE_BYTES`].
fn cache_config() -> CacheConfig {
    CacheConfig {
        block_size: block_size(),
        capacity: CACHE_BYTES,
    }
}

/// The value of `?name=value` on the worker's URL (measurement settings, passed on from the page's URL).
fn url_param(name: &str) -> Option<String> {
    let href = scope().location().href();
    href.split(['?', '&'])
        .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('=').map(str::to_string))
}

/// The block size: [`BLOCK_SIZE`], or `?block=N` (KiB) on the worker's URL for measurements.
fn block_size() -> usize {
    url_param("block")
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|k| k.is_power_of_two() && (4..=16384).contains(k))
        .map_or(BLOCK_SIZE, |k| k * 1024)
}

fn fail(message: String) {
    post(&FromWorker::Error {
        message,
        context: phase(),
        fatal: false,
    });
}

/// The symbol packs served beside the page (`symbols/index.json` and `symbols/<sha256>.mspack`, written by
/// trunk's post-build hook).
struct BundledPacks;

impl SymbolStore for BundledPacks {
    fn name(&self) -> String {
        "the bundled symbols".into()
    }

    fn index(&mut self, _warnings: &mut Vec<String>) -> Result<SymbolIndex, String> {
        get_bytes(&format!("symbols/{INDEX_FILE}"))
            .and_then(|b| SymbolIndex::parse(&b).map_err(|e| e.to_string()))
            .map_err(|e| format!("the bundled symbols index could not be read ({e})"))
    }

    fn load(&mut self, entry: &IndexEntry) -> Result<SymbolTable, String> {
        let url = format!("symbols/{}.mspack", entry.sha256);
        get_bytes(&url)
            .and_then(|b| SymbolTable::from_pack(b).map_err(|e| e.to_string()))
            .map_err(|e| format!("{}: {e}", entry.file))
    }
}

/// Open a capture and identify its kernel: the bundled packs, else the symbols `kept` from an earlier
/// capture of its kernel build or derived now from its BTF and kallsyms (and kept). What failed is told
/// to the page here; the session is returned for [`opened`].
fn open(reader: impl ReadAt + 'static, kept: &mut dyn DerivedStore) -> Option<Session> {
    STATE.with(|s| *s.borrow_mut() = State::default());
    // The phase under way (opening, or copying into the OPFS) keeps its start time; its reads restart at 0.
    let reader = counted(reader);
    set_phase("reading the capture's format");
    let capture = match session::open_capture(reader, cache_config()) {
        Ok(c) => c,
        Err(e) => {
            fail(format!("not a capture memscope can read: {e}"));
            return None;
        }
    };
    STATE.with(|s| s.borrow_mut().capture = Some(capture.clone()));
    set_phase("finding bundled symbols");
    // The bundled packs first (a fetch and a load of a few milliseconds), then the kernel's own BTF and
    // kallsyms; `?symbols=capture` derives them at once, `?symbols=bundled` never (for measurements).
    let mut bundled = BundledPacks;
    let symbols = match url_param("symbols").as_deref() {
        Some("capture") => Symbols::Capture(kept),
        Some("bundled") => Symbols::Search {
            stores: vec![&mut bundled],
            derive: None,
        },
        _ => Symbols::Search {
            stores: vec![&mut bundled],
            derive: Some(kept),
        },
    };
    let found = session::identify_kernel(capture, symbols, &mut |p| set_phase(p));
    match found {
        Ok(session) => Some(session),
        Err(e) => {
            post(&FromWorker::NeedSymbols {
                message: format!(
                    "no bundled symbols match: drop the ISF of {} (.json or .json.xz) ({e})",
                    kernel_named(&e)
                ),
            });
            None
        }
    }
}

/// The kernel the capture's memory names, as an error found it, for a message asking for its symbols.
fn kernel_named(error: &OpenError) -> String {
    match error.banner() {
        Some(banner) => format!("the kernel its memory names, \"{banner}\","),
        None => "its kernel (no banner found in memory)".to_string(),
    }
}

/// The kernel is identified: keep it and tell the page.
fn opened(session: Session) {
    let info = info::info(&session.capture, &session.kernel, Some(session.symbols_name.clone()));
    let info = match serde_json::to_value(&info) {
        Ok(v) => v,
        Err(e) => return fail(e.to_string()),
    };
    STATE.with(|s| s.borrow_mut().kernel = Some(session.kernel));
    set_phase("ready");
    let timings = PROGRESS.with(|p| std::mem::take(&mut p.borrow_mut().timings));
    post(&FromWorker::Opened {
        info,
        warnings: session.warnings,
        timings,
    });
}

fn isf(blob: Blob, name: String) {
    let Some(capture) = STATE.with(|s| s.borrow().capture.clone()) else {
        return fail("open a capture before its symbols".into());
    };
    set_phase(&format!("reading symbols {name}"));
    let bytes = match FileReaderSync::new().and_then(|r| r.read_as_array_buffer(&blob)) {
        Ok(b) => Uint8Array::new(&b).to_vec(),
        Err(e) => return fail(js_message(&e)),
    };
    set_phase(&format!("parsing symbols {name}"));
    let table = match SymbolTable::from_isf(&bytes) {
        Ok(t) => t,
        Err(e) => return fail(format!("{name} is not a usable ISF: {e}")),
    };
    let chosen = Symbols::Table {
        table: Rc::new(table),
        name: name.clone(),
    };
    match session::identify_kernel(capture, chosen, &mut |p| set_phase(p)) {
        Ok(session) => opened(session),
        Err(e) => fail(format!(
            "{name} does not match this capture: {e}; it needs the ISF of {}",
            kernel_named(&e)
        )),
    }
}

/// An exported table opened as a view: its rows become the analysis's result (so they export again
/// byte for byte), with no capture behind them.
fn open_table(blob: Blob, name: String) {
    STATE.with(|s| *s.borrow_mut() = State::default());
    let start = now();
    set_phase(&format!("reading {name}"));
    let bytes = match FileReaderSync::new().and_then(|r| r.read_as_array_buffer(&blob)) {
        Ok(b) => Uint8Array::new(&b).to_vec(),
        Err(e) => return fail(js_message(&e)),
    };
    set_phase(&format!("parsing {name}"));
    let rows = match serde_json::from_slice::<Vec<Value>>(&bytes) {
        Ok(rows) if rows.iter().all(Value::is_object) => rows,
        Ok(_) => {
            return fail(format!(
                "{name} is not an exported table: its items are not rows (JSON objects)"
            ))
        }
        Err(e) => return fail(format!("{name} is not an exported table (a JSON array of rows): {e}")),
    };
    let Some(leaf) = crate::table::analysis_of(&name, rows.first()) else {
        return fail(format!(
            "{name}: which analysis these rows come from is unknown (name the file after it, e.g. pslist.json)"
        ));
    };
    let result = Output {
        rows,
        ..Output::default()
    };
    let key = result_key(&leaf.id, &Options::new());
    STATE.with(|s| s.borrow_mut().results.insert(key, result.clone()));
    set_phase("ready");
    post(&FromWorker::Rows {
        analysis: leaf.id.clone(),
        options: Options::new(),
        rows: result.rows,
        warnings: result.warnings,
        millis: now() - start,
        files: Vec::new(),
    });
}

fn run(analysis: String, options: Options) {
    let Some(spec) = registry::find(&analysis) else {
        return fail(format!("no analysis named {analysis}"));
    };
    let key = result_key(&analysis, &options);
    let done = STATE.with(|s| s.borrow().results.get(&key).cloned());
    let start = now();
    let result = match done {
        Some(r) => r,
        None => {
            set_phase(&format!("running {}", spec.title));
            // Test hook (the e2e's worker-panic restart test): `?test-panic=ANALYSIS` on the page's URL,
            // passed on to the worker's, makes running that analysis panic here. Only the URL sets it, never
            // a capture's content; without the parameter nothing changes.
            if url_param("test-panic").as_deref() == Some(analysis.as_str()) {
                panic!("test-panic hook: running {analysis} panics on purpose (?test-panic={analysis})");
            }
            let result = STATE.with(|s| {
                let s = s.borrow();
                s.kernel.as_ref().map(|k| spec.run(k, &options))
            });
            match result {
                None => return fail("no capture is open".into()),
                Some(Err(e)) => return fail(format!("{analysis}: {e}")),
                Some(Ok(out)) => {
                    STATE.with(|s| s.borrow_mut().results.insert(key, out.clone()));
                    out
                }
            }
        }
    };
    set_phase("ready");
    let files = downloads(&analysis, spec, &result)
        .iter()
        .map(|d| d.name().to_string())
        .collect();
    post(&FromWorker::Rows {
        analysis,
        options,
        rows: result.rows,
        warnings: result.warnings,
        millis: now() - start,
        files,
    });
}

/// The containers' labels of pids and namespaces ([`ToWorker::Labels`]).
fn labels() {
    set_phase("marking containers");
    let found = STATE.with(|s| s.borrow().kernel.as_ref().map(memscope_core::analyses::docker::labels));
    set_phase("ready");
    match found {
        None => fail("no capture is open".into()),
        // Tables still show without them: say why, beside the other warnings.
        Some(Err(e)) => post(&FromWorker::Labels {
            labels: Default::default(),
            warnings: vec![format!("containers unknown: {e}")],
        }),
        Some(Ok((labels, warnings))) => post(&FromWorker::Labels { labels, warnings }),
    }
}

/// Send the file `name` of a run: `[json, Uint8Array]`.
fn send_file(analysis: String, options: Options, name: String) {
    let Some(spec) = registry::find(&analysis) else {
        return fail(format!("no analysis named {analysis}"));
    };
    let found = STATE.with(|s| {
        let s = s.borrow();
        let result = s.results.get(&result_key(&analysis, &options))?;
        let kernel = s.kernel.as_ref()?;
        Some(
            downloads(&analysis, spec, result)
                .iter()
                .find(|d| d.name() == name)
                .map(|d| d.payload(kernel)),
        )
    });
    let (payload, warnings) = match found {
        None => return fail(format!("{analysis} has not run yet with {}", options.to_flags())),
        Some(None) => return fail(format!("{analysis} wrote no file {name}")),
        Some(Some(Err(e))) => return fail(format!("{analysis}: {name}: {e}")),
        Some(Some(Ok(p))) => p,
    };
    let message = Array::new();
    message.push(&JsValue::from_str(
        &FromWorker::File {
            analysis,
            name,
            warnings,
        }
        .to_json(),
    ));
    message.push(&payload);
    let _ = scope().post_message(&message);
}

fn export_rows(analysis: String, options: Options, format: String) {
    let key = result_key(&analysis, &options);
    let Some(result) = STATE.with(|s| s.borrow().results.get(&key).cloned()) else {
        return fail(format!("{analysis} has not run yet with {}", options.to_flags()));
    };
    let own = registry::find(&analysis).and_then(|spec| spec.formats.iter().find(|f| f.name == format));
    let text = match (format.as_str(), own) {
        (_, Some(own)) => (own.render)(&result.rows),
        ("csv", _) => export::csv(&result.rows),
        _ => match serde_json::to_string_pretty(&result.rows) {
            Ok(t) => t + "\n",
            Err(e) => return fail(e.to_string()),
        },
    };
    post(&FromWorker::Export {
        analysis,
        options,
        format,
        text,
    });
}

fn handle(data: JsValue) {
    // Each message starts its own timeline: nothing of the previous one (say, an open that ended
    // without a match) is carried over.
    PROGRESS.with(|p| p.borrow_mut().restart());
    let array = Array::from(&data);
    let Some(text) = array.get(0).as_string() else {
        return fail("malformed message from the page".into());
    };
    let blob: Option<Blob> = array.get(1).dyn_into().ok();
    let msg: ToWorker = match serde_json::from_str(&text) {
        Ok(m) => m,
        Err(e) => return fail(format!("malformed message from the page: {e}")),
    };
    match msg {
        ToWorker::Open { name } if url_param("reader").as_deref() == Some("opfs") => match blob {
            // Measurement only (benches/browser.mjs): copy into the OPFS first, then read the copy.
            Some(blob) => wasm_bindgen_futures::spawn_local(async move {
                set_phase(&format!("copying {name} into the private file system"));
                match OpfsReader::copy(&blob, OPFS_COPY_PIECE).await {
                    Ok(r) => {
                        if let Some(session) = open(r, &mut NoDerivedStore) {
                            opened(session);
                        }
                    }
                    Err(e) => fail(e),
                }
            }),
            None => fail("no file came with the message".into()),
        },
        ToWorker::Open { name } => match blob
            .ok_or_else(|| "no file came with the message".to_string())
            .and_then(BlobReader::new)
        {
            Ok(r) => {
                set_phase(&format!("opening {name}"));
                wasm_bindgen_futures::spawn_local(async move {
                    let mut kept = KeptSymbols::open().await;
                    let session = open(r, &mut kept);
                    // A table derived in the open is written before the page hears of it: once it has, the
                    // page asks for more work, which would keep the worker from finishing the write (and a
                    // reload would end it half done).
                    kept.keep().await;
                    if let Some(session) = session {
                        opened(session);
                    }
                });
            }
            Err(e) => fail(e),
        },
        ToWorker::OpenUrl { url } => {
            set_phase(&format!("opening {url}"));
            match HttpRangeReader::new(&url) {
                Ok(r) => {
                    if let Some(session) = open(r, &mut NoDerivedStore) {
                        opened(session);
                    }
                }
                Err(e) => fail(e),
            }
        }
        ToWorker::Isf { name } => match blob {
            Some(b) => isf(b, name),
            None => fail("no file came with the message".into()),
        },
        ToWorker::OpenTable { name } => match blob {
            Some(b) => open_table(b, name),
            None => fail("no file came with the message".into()),
        },
        ToWorker::Run { analysis, options } => run(analysis, options),
        ToWorker::Labels => labels(),
        ToWorker::Export {
            analysis,
            options,
            format,
        } => export_rows(analysis, options, format),
        ToWorker::File {
            analysis,
            options,
            name,
        } => send_file(analysis, options, name),
        ToWorker::Bench { mode, size, count } => wasm_bindgen_futures::spawn_local(bench(mode, size, count, blob)),
    }
}

/// A raw reader benchmark (no cache), see [`ToWorker::Bench`].
async fn bench(mode: String, size: Option<u32>, count: Option<u32>, blob: Option<Blob>) {
    let start = now();
    let result = match mode.as_str() {
        "opfs-copy" => match blob {
            Some(b) => {
                let piece = size.map_or(OPFS_COPY_PIECE, |s| s as usize).max(1);
                OpfsReader::copy(&b, piece)
                    .await
                    .map(|r| (r.size(), r.size().div_ceil(piece as u64)))
            }
            None => Err("no file came with the message".into()),
        },
        "opfs-remove" => OpfsReader::remove().await.map(|()| (0, 0)),
        "opfs-seq" | "opfs-random" => match OpfsReader::existing().await {
            Ok(r) => {
                let start = now();
                let result = read_pattern(&r, &mode[5..], size, count);
                return post_bench(result, start);
            }
            Err(e) => Err(e),
        },
        _ => match blob
            .ok_or_else(|| "no file came with the message".to_string())
            .and_then(BlobReader::new)
        {
            Ok(r) => read_pattern(&r, &mode, size, count),
            Err(e) => Err(e),
        },
    };
    post_bench(result, start);
}

fn post_bench(result: Result<(u64, u64), String>, start: f64) {
    match result {
        Ok((bytes, reads)) => post(&FromWorker::Bench {
            bytes,
            reads,
            millis: now() - start,
        }),
        Err(e) => fail(e),
    }
}

/// `seq`: reads of `size` bytes (default 1 MiB) over the whole source; `random`: `count` (default 20,000)
/// reads of `size` bytes (default 4 KiB) at pseudo-random offsets aligned to `size`. Bytes and reads done.
fn read_pattern(reader: &dyn ReadAt, mode: &str, size: Option<u32>, count: Option<u32>) -> Result<(u64, u64), String> {
    let total = reader.size();
    let seq = mode == "seq";
    let len = size.map_or(if seq { 1 << 20 } else { 4096 }, |s| s as usize).max(1);
    let mut buf = vec![0u8; len];
    let (mut bytes, mut reads) = (0u64, 0u64);
    if seq {
        let mut off = 0;
        while off + len as u64 <= total {
            reader.read_at(off, &mut buf).map_err(|e| e.to_string())?;
            off += len as u64;
            bytes += len as u64;
            reads += 1;
        }
    } else {
        let slots = (total / len as u64).max(1);
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..count.unwrap_or(20_000) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            reader
                .read_at((x % slots) * len as u64, &mut buf)
                .map_err(|e| e.to_string())?;
            bytes += len as u64;
            reads += 1;
        }
    }
    Ok((bytes, reads))
}

/// The worker's entry point: install the panic hook, listen, say so.
pub fn start() {
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        post(&FromWorker::Error {
            message: format!("the worker crashed: {info}"),
            context: phase(),
            fatal: true,
        });
    }));
    let onmessage = Closure::<dyn FnMut(MessageEvent)>::new(|e: MessageEvent| handle(e.data()));
    scope().set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
    onmessage.forget();
    post(&FromWorker::Ready);
}
