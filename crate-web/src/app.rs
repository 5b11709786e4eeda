//! The Yew application. The page never reads the capture: it hands the chosen `File` (a handle) to the
//! worker ([`crate::worker`]) and shows what comes back: progress, the overview, one tab per analysis of
//! the core's registry (`memscope_core::analyses::registry::ANALYSES`: a new analysis there is a new tab
//! here, with no change in this file), exports. Text from memory is only ever rendered as text.

use std::collections::{HashMap, HashSet};

use memscope_core::analyses::registry::{self, Leaf, OptionKind, OptionSpec, OptionValue, Options, Spec};
use serde_json::Value;
use yew::prelude::*;

use crate::proto::{FromWorker, ToWorker};
use crate::table;

/// The value an output option gets in the page, where it names no path: what it writes is downloaded.
const PAGE_OUTPUT: &str = "download";

/// Where the demo capture is served (scripts/serve.sh puts it there), relative to the page.
pub const DEMO_URL: &str = "demo/deb12-6.1-docker.lime";

/// A byte count for people: `402653184` -> `384.0 MiB (402,653,184 bytes)`.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    let exact = group_thousands(bytes);
    if bytes < 1024 {
        return format!("{exact} bytes");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {} ({exact} bytes)", UNITS[unit])
}

fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// One analysis's table as the page holds it.
pub struct TableState {
    /// The options its rows were read with.
    pub options: Options,
    /// The columns shown: the spec's and the chosen column sets'.
    pub columns: Vec<&'static str>,
    /// The rows as the worker sent them (kept to redraw with other column sets).
    pub values: Vec<Value>,
    /// The files the run wrote for output options, by download name.
    pub files: Vec<String>,
    pub rows: usize,
    pub cells: Vec<Vec<String>>,
    pub warnings: Vec<String>,
    pub depths: Option<Vec<u64>>,
    pub sort: Option<(usize, bool)>,
    pub filter: String,
    pub collapsed: HashSet<usize>,
    pub order: Vec<usize>,
    pub scroll_top: f64,
    pub millis: f64,
    /// Every key of every row, flattened (the detail panel shows them all).
    pub full: Vec<Vec<(String, String)>>,
    /// The row whose details are shown.
    pub selected: Option<usize>,
}

impl TableState {
    fn new(
        spec: &Spec,
        options: Options,
        sets: &[&str],
        rows: Vec<Value>,
        warnings: Vec<String>,
        millis: f64,
    ) -> TableState {
        let columns = spec.table_columns(sets);
        let cells: Vec<Vec<String>> = rows.iter().map(|r| table::cells(r, &columns)).collect();
        let depths = spec.tree.map(|tree| {
            rows.iter()
                .map(|r| r.get(tree.depth).and_then(Value::as_u64).unwrap_or(0))
                .collect()
        });
        let mut t = TableState {
            options,
            columns,
            values: Vec::new(),
            files: Vec::new(),
            rows: rows.len(),
            cells,
            warnings,
            depths,
            sort: None,
            filter: String::new(),
            collapsed: HashSet::new(),
            order: Vec::new(),
            scroll_top: 0.0,
            millis,
            full: rows.iter().map(memscope_core::export::flatten).collect(),
            selected: None,
        };
        t.values = rows;
        t.refresh();
        t
    }

    /// The same rows with other column sets; filter, selection and scroll kept.
    fn with_sets(self, spec: &Spec, sets: &[&str]) -> TableState {
        let mut t = TableState::new(spec, self.options, sets, self.values, self.warnings, self.millis);
        t.filter = self.filter;
        t.selected = self.selected;
        t.scroll_top = self.scroll_top;
        t.collapsed = self.collapsed;
        t.files = self.files;
        t.refresh();
        t
    }

    /// Tree mode: a depth column, no sort and no filter.
    fn tree(&self) -> Option<&Vec<u64>> {
        self.depths
            .as_ref()
            .filter(|_| self.sort.is_none() && self.filter.trim().is_empty())
    }

    fn refresh(&mut self) {
        let order = table::view(&self.cells, &self.filter, self.sort);
        self.order = match self.tree() {
            Some(d) => table::collapse(&order, d, &self.collapsed),
            None => order,
        };
    }
}

pub enum Msg {
    /// A message from the worker of this generation (one from a worker since replaced is dropped: a
    /// Ready of a cancelled worker, already queued, must not mark its successor ready).
    FromWorker(u32, String),
    /// A file from the worker of this generation: its message and its bytes (a `Uint8Array`).
    WorkerFile(u32, String, wasm_bindgen::JsValue),
    /// Ask the worker for a file a run of this analysis wrote.
    Download(String, String),
    /// The worker of this generation failed.
    WorkerFailed(u32, String),
    PickCapture(Option<web_sys::File>),
    PickIsf(Option<web_sys::File>),
    /// An exported table (JSON rows) to view without its capture.
    PickTable(Option<web_sys::File>),
    Drop(DragEvent),
    OpenDemo,
    Cancel,
    Tab(String),
    Sort(String, usize),
    Filter(String, String),
    Scroll(String, f64),
    Toggle(String, usize),
    Select(String, usize),
    Export(String, String),
    /// An analysis's option changed (its name, its new value): the analysis runs again.
    SetOption(String, &'static str, OptionValue),
    /// An option's text could not be read (the analysis, why).
    BadOption(String, String),
    /// A column set was ticked or unticked (analysis, set, on).
    SetColumns(String, &'static str, bool),
    /// The About button: shows or hides the about line (also the e2e's probe that the page reacts).
    Ping,
    Report,
    /// The worker of this generation should have said Ready by now.
    StartTimeout(u32),
}

#[derive(Clone, PartialEq)]
pub struct Progress {
    pub phase: String,
    pub bytes: u64,
    pub reads: u64,
}

pub struct App {
    worker: Option<web_sys::Worker>,
    _listeners: Vec<Box<dyn std::any::Any>>,
    ready: bool,
    queue: Vec<(String, Option<web_sys::Blob>)>,
    source: Option<(String, Option<u64>)>,
    /// The source is an exported table viewed without its capture.
    table_view: bool,
    busy: Option<Progress>,
    started: f64,
    info: Option<Value>,
    warnings: Vec<String>,
    need_symbols: Option<String>,
    error: Option<String>,
    tab: String,
    tables: HashMap<String, TableState>,
    /// Runs asked of the worker and not answered yet, by analysis and options.
    pending: HashSet<String>,
    /// The options chosen for each analysis (absent: defaults).
    options: HashMap<String, Options>,
    /// The column sets chosen for each analysis's table.
    sets: HashMap<String, Vec<&'static str>>,
    /// Why the last option typed into an analysis's controls was refused.
    option_errors: HashMap<String, String>,
    pings: u32,
    report_pending: bool,
    respawn: bool,
    timings: Vec<(String, f64, u64)>,
    generation: u32,
}

fn now() -> f64 {
    js_sys::Date::now()
}

impl App {
    /// Start (or restart) the worker: `worker_loader.js` beside the page (trunk's loader shim).
    fn spawn(&mut self, ctx: &Context<Self>) {
        use wasm_bindgen::prelude::*;
        use wasm_bindgen::JsCast;
        if let Some(w) = self.worker.take() {
            w.terminate();
        }
        self._listeners.clear();
        self.ready = false;
        // `?block=N` (KiB) and `?reader=opfs` on the page's URL reach the worker: reader measurements, see
        // benches/browser.mjs.
        let search = web_sys::window()
            .and_then(|w| w.location().search().ok())
            .filter(|s| s.starts_with("?block=") || s.starts_with("?reader="))
            .unwrap_or_default();
        let worker = match web_sys::Worker::new(&format!("./worker_loader.js{search}")) {
            Ok(w) => w,
            Err(e) => {
                self.error = Some(format!("the worker could not start: {e:?}"));
                return;
            }
        };
        self.generation += 1;
        let generation = self.generation;
        let link = ctx.link().clone();
        let onmessage = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |e: web_sys::MessageEvent| {
            let data = e.data();
            if js_sys::Array::is_array(&data) {
                // A file: `[json, Uint8Array]`.
                let parts = js_sys::Array::from(&data);
                let json = parts.get(0).as_string().unwrap_or_default();
                link.send_message(Msg::WorkerFile(generation, json, parts.get(1)));
            } else {
                link.send_message(Msg::FromWorker(generation, data.as_string().unwrap_or_default()));
            }
        });
        let link = ctx.link().clone();
        let onerror = Closure::<dyn FnMut(web_sys::ErrorEvent)>::new(move |e: web_sys::ErrorEvent| {
            e.prevent_default();
            link.send_message(Msg::WorkerFailed(generation, e.message()));
        });
        worker.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
        worker.set_onerror(Some(onerror.as_ref().unchecked_ref()));
        self._listeners.push(Box::new(onmessage));
        self._listeners.push(Box::new(onerror));
        self.worker = Some(worker);
        // A worker that never says Ready (its wasm failed to load) must not leave the page waiting.
        let link = ctx.link().clone();
        // once_into_js: the closure frees itself after its one call, so it outlives this worker safely
        // (a restart drops the worker's listeners, never a pending timer's closure).
        let timeout = Closure::once_into_js(move || link.send_message(Msg::StartTimeout(generation)));
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(timeout.unchecked_ref(), 15_000);
        }
    }

    fn send(&mut self, msg: ToWorker, blob: Option<web_sys::Blob>) {
        let json = msg.to_json();
        if !self.ready {
            self.queue.push((json, blob));
            return;
        }
        if let Some(w) = &self.worker {
            let array = js_sys::Array::new();
            array.push(&json.into());
            if let Some(b) = blob {
                array.push(&b);
            }
            if let Err(e) = w.post_message(&array) {
                self.error = Some(format!("could not talk to the worker: {e:?}"));
            }
        }
    }

    fn reset(&mut self) {
        self.info = None;
        self.warnings.clear();
        self.need_symbols = None;
        self.error = None;
        self.tables.clear();
        self.pending.clear();
        self.tab = "overview".into();
    }

    /// The options the table of `analysis` shows was read with (what its exports and downloads are of).
    fn shown_options(&self, analysis: &str) -> Options {
        self.tables.get(analysis).map(|t| t.options.clone()).unwrap_or_default()
    }

    /// The options chosen for `analysis`.
    fn options_of(&self, analysis: &str) -> Options {
        self.options.get(analysis).cloned().unwrap_or_default()
    }

    fn run(&mut self, analysis: &str) {
        let options = self.options_of(analysis);
        let key = pending_key(analysis, &options);
        if registry::find(analysis).is_none()
            || self.tables.get(analysis).is_some_and(|t| t.options == options)
            || self.pending.contains(&key)
            || self.info.is_none()
        {
            return;
        }
        self.pending.insert(key);
        self.busy.get_or_insert(Progress {
            phase: format!("running {analysis}"),
            bytes: 0,
            reads: 0,
        });
        self.send(
            ToWorker::Run {
                analysis: analysis.to_string(),
                options,
            },
            None,
        );
    }

    fn on_worker(&mut self, text: &str) {
        let msg: FromWorker = match serde_json::from_str(text) {
            Ok(m) => m,
            Err(e) => {
                self.error = Some(format!("unreadable message from the worker: {e}"));
                return;
            }
        };
        match msg {
            FromWorker::Ready => {
                self.ready = true;
                for (json, blob) in std::mem::take(&mut self.queue) {
                    let msg: ToWorker = serde_json::from_str(&json).expect("queued messages are ours");
                    self.send(msg, blob);
                }
            }
            FromWorker::Progress { phase, bytes, reads } => {
                if self.busy.is_some() {
                    self.busy = Some(Progress { phase, bytes, reads });
                }
            }
            FromWorker::Opened {
                info,
                warnings,
                timings,
            } => {
                self.timings = timings;
                self.busy = None;
                self.need_symbols = None;
                self.info = Some(info);
                self.warnings.extend(warnings);
                let first = registry::leaves()[0].id.as_str();
                self.tab = first.to_string();
                self.run(first);
            }
            FromWorker::NeedSymbols { message } => {
                self.busy = None;
                self.need_symbols = Some(message);
            }
            FromWorker::Rows {
                analysis,
                options,
                rows,
                warnings,
                millis,
                files,
            } => {
                self.pending.remove(&pending_key(&analysis, &options));
                if self.pending.is_empty() {
                    self.busy = None;
                }
                if self.info.is_none() {
                    // An exported table opened as a view: show it.
                    self.tab = analysis.clone();
                }
                // Rows for options since changed are not shown (the run for the new ones is on its way).
                if let Some(spec) = registry::find(&analysis).filter(|_| options == self.options_of(&analysis)) {
                    for w in &warnings {
                        self.warnings.push(format!("{analysis}: {w}"));
                    }
                    let sets = self.sets.get(&analysis).cloned().unwrap_or_default();
                    let mut table = TableState::new(spec, options, &sets, rows, warnings, millis);
                    table.files = files;
                    self.tables.insert(analysis, table);
                }
                self.maybe_report();
            }
            FromWorker::Export {
                analysis,
                options,
                format,
                text,
            } => download(&export_name(&analysis, &options), &format, &text),
            FromWorker::Bench { .. } | FromWorker::File { .. } => {}
            FromWorker::Error {
                message,
                context,
                fatal,
            } => {
                self.busy = None;
                self.pending.clear();
                let what = if context.is_empty() {
                    String::new()
                } else {
                    format!(" (while {context})")
                };
                self.error = Some(format!("{message}{what}"));
                if fatal {
                    self.error = Some(format!(
                        "{message}{what}; the worker was restarted, open the capture again"
                    ));
                    self.restart_clean();
                    self.respawn = true;
                }
            }
        }
    }

    /// Save the session report once every analysis has its rows.
    fn maybe_report(&mut self) {
        if !self.report_pending || !self.pending.is_empty() {
            return;
        }
        self.report_pending = false;
        let Some(info) = &self.info else { return };
        let flags: HashMap<&str, String> = self
            .tables
            .iter()
            .map(|(k, t)| (k.as_str(), t.options.to_flags()))
            .collect();
        let sections: Vec<crate::report::Section<'_>> = registry::leaves()
            .iter()
            .filter_map(|leaf| {
                self.tables.get(&leaf.id).map(|t| crate::report::Section {
                    title: leaf.spec.title,
                    description: leaf.spec.description,
                    options: flags.get(leaf.id.as_str()).map_or("", String::as_str),
                    columns: &t.columns,
                    cells: &t.cells,
                    warnings: &t.warnings,
                })
            })
            .collect();
        let source = self.source.as_ref().map(|s| s.0.clone()).unwrap_or_default();
        let page = crate::report::html(&source, info, &self.warnings, &sections);
        download("memscope-report", "html", &page);
    }

    fn restart_clean(&mut self) {
        self.report_pending = false;
        self.busy = None;
        self.queue.clear();
        self.pending.clear();
        self.info = None;
        self.tables.clear();
    }
}

/// Where a run of `analysis` with `options` is tracked while the worker reads it.
fn pending_key(analysis: &str, options: &Options) -> String {
    format!("{analysis} {}", options.to_flags())
}

/// An export's file name (without extension): the analysis, then the options it ran with
/// (`pslist_threads_pid-1-982`), so that exports of two runs do not overwrite each other.
pub fn export_name(analysis: &str, options: &Options) -> String {
    match options.file_suffix() {
        suffix if suffix.is_empty() => analysis.to_string(),
        suffix => format!("{analysis}_{suffix}"),
    }
}

/// Save `text` as `NAME.FORMAT`.
fn download(name: &str, format: &str, text: &str) {
    let kind = match format {
        "csv" => "text/csv",
        "html" => "text/html",
        _ => "application/json",
    };
    save(&format!("{name}.{format}"), kind, &js_sys::Array::of1(&text.into()));
}

/// Save `parts` (strings or byte arrays) as the file `file_name`: a Blob, an object URL and a clicked
/// `<a download>`.
fn save(file_name: &str, kind: &str, parts: &js_sys::Array) {
    use wasm_bindgen::JsCast;
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(kind);
    let Ok(blob) = web_sys::Blob::new_with_buffer_source_sequence_and_options(parts, &options) else {
        return;
    };
    let Ok(url) = web_sys::Url::create_object_url_with_blob(&blob) else {
        return;
    };
    let document = gloo_document();
    if let Some(a) = document
        .and_then(|d| d.create_element("a").ok())
        .and_then(|a| a.dyn_into::<web_sys::HtmlAnchorElement>().ok())
    {
        a.set_href(&url);
        a.set_download(file_name);
        a.click();
    }
    let _ = web_sys::Url::revoke_object_url(&url);
}

fn gloo_document() -> Option<web_sys::Document> {
    web_sys::window().and_then(|w| w.document())
}

/// The file chosen in an `<input type=file>`; the input is then cleared so that choosing the same file
/// again (after a Cancel) fires `change` again.
fn file_of(e: &Event) -> Option<web_sys::File> {
    let input: web_sys::HtmlInputElement = e.target_unchecked_into();
    let file = input.files().and_then(|list| list.get(0));
    input.set_value("");
    file
}

impl Component for App {
    type Message = Msg;
    type Properties = ();

    fn create(ctx: &Context<Self>) -> Self {
        let mut app = App {
            worker: None,
            _listeners: Vec::new(),
            ready: false,
            queue: Vec::new(),
            source: None,
            table_view: false,
            busy: None,
            started: 0.0,
            info: None,
            warnings: Vec::new(),
            need_symbols: None,
            error: None,
            tab: "overview".into(),
            tables: HashMap::new(),
            pending: HashSet::new(),
            options: HashMap::new(),
            sets: HashMap::new(),
            option_errors: HashMap::new(),
            pings: 0,
            report_pending: false,
            respawn: false,
            timings: Vec::new(),
            generation: 0,
        };
        app.spawn(ctx);
        app
    }

    fn update(&mut self, ctx: &Context<Self>, msg: Msg) -> bool {
        match msg {
            Msg::FromWorker(generation, _) | Msg::WorkerFailed(generation, _) | Msg::WorkerFile(generation, ..)
                if generation != self.generation =>
            {
                return false; // from a worker since replaced
            }
            Msg::FromWorker(_, text) => {
                self.on_worker(&text);
                if self.respawn {
                    // The worker panicked: its wasm instance is unusable. Start a fresh one.
                    self.respawn = false;
                    self.spawn(ctx);
                }
            }
            Msg::WorkerFile(_, json, bytes) => match serde_json::from_str(&json) {
                Ok(FromWorker::File { name }) => save(&name, "application/octet-stream", &js_sys::Array::of1(&bytes)),
                _ => self.error = Some(format!("unreadable file message from the worker: {json}")),
            },
            Msg::Download(analysis, name) => {
                let options = self.shown_options(&analysis);
                self.send(
                    ToWorker::File {
                        analysis,
                        options,
                        name,
                    },
                    None,
                )
            }
            Msg::WorkerFailed(_, message) => {
                let what = self
                    .busy
                    .as_ref()
                    .map(|p| format!(" (while {})", p.phase))
                    .unwrap_or_default();
                self.error = Some(format!("the worker failed: {message}{what}; it was restarted"));
                self.restart_clean();
                self.spawn(ctx);
            }
            Msg::PickCapture(file) => {
                if let Some(file) = file {
                    self.open_file(ctx, file);
                }
            }
            Msg::Drop(e) => {
                e.prevent_default();
                let file = e.data_transfer().and_then(|d| d.files()).and_then(|f| f.get(0));
                if let Some(file) = file {
                    let name = file.name().to_lowercase();
                    if self.need_symbols.is_some() && (name.ends_with(".json") || name.ends_with(".json.xz")) {
                        return <Self as Component>::update(self, ctx, Msg::PickIsf(Some(file)));
                    }
                    if name.ends_with(".json") {
                        return <Self as Component>::update(self, ctx, Msg::PickTable(Some(file)));
                    }
                    self.open_file(ctx, file);
                }
            }
            Msg::PickIsf(file) => {
                if let Some(file) = file {
                    self.error = None;
                    self.busy = Some(Progress {
                        phase: format!("reading symbols {}", file.name()),
                        bytes: 0,
                        reads: 0,
                    });
                    let name = file.name();
                    self.send(ToWorker::Isf { name }, Some(file.into()));
                }
            }
            Msg::PickTable(file) => {
                if let Some(file) = file {
                    let name = file.name();
                    self.start_open(ctx, name.clone(), Some(file.size() as u64));
                    self.table_view = true;
                    self.send(ToWorker::OpenTable { name }, Some(file.into()));
                }
            }
            Msg::OpenDemo => {
                self.start_open(ctx, DEMO_URL.to_string(), None);
                self.send(ToWorker::OpenUrl { url: DEMO_URL.into() }, None);
            }
            Msg::Cancel => {
                self.restart_clean();
                self.error = Some("cancelled".into());
                self.spawn(ctx);
            }
            Msg::Tab(tab) => {
                self.run(&tab);
                self.tab = tab;
            }
            Msg::Sort(name, col) => {
                if let Some(t) = self.tables.get_mut(&name) {
                    t.sort = match t.sort {
                        Some((c, true)) if c == col => Some((col, false)),
                        Some((c, false)) if c == col => None,
                        _ => Some((col, true)),
                    };
                    t.refresh();
                }
            }
            Msg::Filter(name, text) => {
                if let Some(t) = self.tables.get_mut(&name) {
                    t.filter = text;
                    t.refresh();
                }
            }
            Msg::Scroll(name, top) => {
                if let Some(t) = self.tables.get_mut(&name) {
                    // Redraw only when the window of drawn rows moves.
                    let (a, _) = table::window(t.order.len(), t.scroll_top, 600.0);
                    let (b, _) = table::window(t.order.len(), top, 600.0);
                    t.scroll_top = top;
                    return a != b;
                }
            }
            Msg::Select(name, row) => {
                if let Some(t) = self.tables.get_mut(&name) {
                    t.selected = if t.selected == Some(row) { None } else { Some(row) };
                }
            }
            Msg::Toggle(name, row) => {
                if let Some(t) = self.tables.get_mut(&name) {
                    if !t.collapsed.remove(&row) {
                        t.collapsed.insert(row);
                    }
                    t.refresh();
                }
            }
            Msg::Export(analysis, format) => {
                let options = self.shown_options(&analysis);
                self.send(
                    ToWorker::Export {
                        analysis,
                        options,
                        format,
                    },
                    None,
                )
            }
            Msg::SetOption(analysis, name, value) => {
                self.option_errors.remove(&analysis);
                self.options.entry(analysis.clone()).or_default().set(name, value);
                self.run(&analysis);
            }
            Msg::BadOption(analysis, why) => {
                self.option_errors.insert(analysis, why);
            }
            Msg::SetColumns(analysis, set, on) => {
                let sets = self.sets.entry(analysis.clone()).or_default();
                sets.retain(|s| *s != set);
                if on {
                    sets.push(set);
                }
                let sets = sets.clone();
                if let (Some(spec), Some(t)) = (registry::find(&analysis), self.tables.remove(&analysis)) {
                    self.tables.insert(analysis, t.with_sets(spec, &sets));
                }
            }
            Msg::Ping => self.pings += 1,
            Msg::StartTimeout(generation) => {
                if generation != self.generation || self.ready {
                    return false;
                }
                self.error = Some(
                    "the worker did not start within 15 s (worker_loader.js, worker.js or worker_bg.wasm could not be \
                     loaded); reload the page"
                        .into(),
                );
                self.restart_clean();
            }
            Msg::Report => {
                self.report_pending = true;
                for leaf in registry::leaves() {
                    self.run(&leaf.id);
                }
                self.maybe_report();
            }
        }
        true
    }

    fn view(&self, ctx: &Context<Self>) -> Html {
        let link = ctx.link();
        let onchange = link.callback(|e: Event| Msg::PickCapture(file_of(&e)));
        let on_isf = link.callback(|e: Event| Msg::PickIsf(file_of(&e)));
        let on_table = link.callback(|e: Event| Msg::PickTable(file_of(&e)));
        let ondrop = link.callback(Msg::Drop);
        let ondragover = Callback::from(|e: DragEvent| e.prevent_default());

        let source = match &self.source {
            Some((name, size)) => html! {
                <p id="chosen-file" class="chosen">
                    <span class="label">{ if self.table_view { "Exported table: " } else { "Capture: " } }</span>
                    <span class="name">{ name }</span>
                    <span class="size">{ size.map(|s| format!(" — {}", human_size(s))).unwrap_or_default() }</span>
                </p>
            },
            None => html! {},
        };
        let progress = match &self.busy {
            Some(p) => html! {
                <div id="progress" class="progress">
                    <span class="phase">{ &p.phase }</span>
                    <span class="bytes">{ format!(" — {} read in {} calls", human_size(p.bytes), p.reads) }</span>
                    <button id="cancel" onclick={link.callback(|_| Msg::Cancel)}>{ "Cancel" }</button>
                </div>
            },
            None => html! {},
        };
        let error = match &self.error {
            Some(e) => html! { <p id="error" class="error" role="alert">{ e }</p> },
            None => html! {},
        };
        let need = match &self.need_symbols {
            Some(m) => html! {
                <div id="need-symbols" class="need-symbols">
                    <p>{ m }</p>
                    <label for="isf-input">{ "Kernel ISF (.json or .json.xz)" }</label>
                    <input id="isf-input" type="file" accept=".json,.xz" onchange={on_isf} />
                </div>
            },
            None => html! {},
        };
        let status = if let Some(p) = &self.busy {
            format!("Working: {}", p.phase)
        } else if let Some(t) = self.tables.get(&registry::leaves()[0].id) {
            format!(
                "Ready. {} processes ({} read in {:.0} ms).",
                t.rows,
                registry::leaves()[0].spec.title,
                t.millis
            )
        } else if self.info.is_some() {
            "Ready.".to_string()
        } else {
            "Ready. No capture open.".to_string()
        };

        html! {
            <>
                <header class="top">
                    <h1>{ "memscope" }</h1>
                    <span class="version">{ concat!("v", env!("CARGO_PKG_VERSION")) }</span>
                    <button id="about-toggle" class="about-toggle" aria-expanded={(self.pings % 2 == 1).to_string()}
                        onclick={link.callback(|_| Msg::Ping)}>{ "About" }</button>
                </header>
                if self.pings % 2 == 1 {
                    <p id="about" class="about">
                        { "memscope reads the capture in a Web Worker inside this page, a few large slices at a time: \
                           nothing is uploaded, and the page keeps working offline once loaded. Symbols come from the \
                           packs served beside the page, or from an ISF file you choose." }
                    </p>
                }
                <main {ondrop} {ondragover}>
                    <p class="lead">{ "Open a Linux memory capture — nothing leaves this page." }</p>
                    <div class="open">
                        <label class="picker" for="capture-input">{ "Capture file (LiME, AVML, ELF core or raw), or drop it here" }</label>
                        <input id="capture-input" type="file" {onchange} />
                        <button id="open-demo" onclick={link.callback(|_| Msg::OpenDemo)}>{ "Open demo capture" }</button>
                        <label class="picker" for="table-input">{ "Or a table exported as JSON, to view it again without its capture" }</label>
                        <input id="table-input" type="file" accept=".json,application/json" onchange={on_table} />
                    </div>
                    { source }
                    { progress }
                    { error }
                    { need }
                    { self.view_tabs(ctx) }
                </main>
                <footer>
                    <p id="status" class="status" role="status" aria-live="polite">{ status }</p>
                </footer>
            </>
        }
    }
}

impl App {
    fn start_open(&mut self, _ctx: &Context<Self>, name: String, size: Option<u64>) {
        self.reset();
        self.source = Some((name.clone(), size));
        self.table_view = false;
        self.started = now();
        self.busy = Some(Progress {
            phase: format!("opening {name}"),
            bytes: 0,
            reads: 0,
        });
    }

    fn open_file(&mut self, ctx: &Context<Self>, file: web_sys::File) {
        // `File.size` is a JS number holding a byte count; it is exact below 2^53.
        let size = file.size() as u64;
        let name = file.name();
        self.start_open(ctx, name.clone(), Some(size));
        self.send(ToWorker::Open { name }, Some(file.into()));
    }

    fn view_tabs(&self, ctx: &Context<Self>) -> Html {
        // A capture's session, or exported tables viewed without their capture (no overview, no report).
        let info = self.info.as_ref();
        if info.is_none() && self.tables.is_empty() {
            return html! {};
        }
        let link = ctx.link();
        let tab_button = |id: &str, title: &str| {
            let id_owned = id.to_string();
            let class = if self.tab == id { "tab active" } else { "tab" };
            html! {
                <button class={class} data-tab={id.to_string()} onclick={link.callback(move |_| Msg::Tab(id_owned.clone()))}>{ title }</button>
            }
        };
        let body = if let (Some(info), "overview") = (info, self.tab.as_str()) {
            self.view_overview(info)
        } else if let Some(leaf) = registry::leaves().iter().find(|l| l.id == self.tab) {
            match self.tables.get(&leaf.id) {
                Some(t) if t.options == self.options_of(&leaf.id) => self.view_table(ctx, leaf, t),
                _ => html! {
                    <div class="analysis">
                        { self.view_options(ctx, leaf) }
                        <p class="loading">{ format!("Running {}…", leaf.spec.title) }</p>
                    </div>
                },
            }
        } else {
            html! {}
        };
        html! {
            <section class="session">
                <nav class="tabs">
                    if info.is_some() {
                        { tab_button("overview", "Overview") }
                    }
                    { for registry::leaves().iter()
                        .filter(|l| info.is_some() || self.tables.contains_key(&l.id))
                        .map(|l| tab_button(&l.id, l.spec.title)) }
                    if info.is_some() {
                        <button id="export-report" class="report" onclick={link.callback(|_| Msg::Report)}>{ "Export report (HTML)" }</button>
                    }
                </nav>
                <div class="panel">{ body }</div>
            </section>
        }
    }

    fn view_overview(&self, info: &Value) -> Html {
        let rows = info.as_object().map(|m| {
            m.iter()
                .map(|(k, v)| {
                    let text = match v.as_u64() {
                        Some(n) if k.ends_with("_size") || k == "physical_memory" => human_size(n),
                        _ => crate::report::value_text(v),
                    };
                    html! { <tr><th>{ k.replace('_', " ") }</th><td class="value">{ text }</td></tr> }
                })
                .collect::<Html>()
        });
        let warnings = if self.warnings.is_empty() {
            html! { <p class="none">{ "No warnings." }</p> }
        } else {
            html! { <ul>{ for self.warnings.iter().map(|w| html! { <li>{ w }</li> }) }</ul> }
        };
        html! {
            <div id="overview">
                <table class="overview"><tbody>{ rows }</tbody></table>
                <section id="warnings" class="warnings"><h2>{ "Warnings" }</h2>{ warnings }</section>
                <section id="timings" class="timings">
                    <h2>{ "Timings" }</h2>
                    <ul>{ for self.timings.iter().map(|(p, ms, reads)| html! { <li>{ format!("{p}: {ms:.0} ms, {reads} reads") }</li> }) }</ul>
                </section>
            </div>
        }
    }

    /// The controls of an analysis's options and column sets, each labelled with its name; a change runs
    /// the analysis again (options) or redraws its table (column sets).
    fn view_options(&self, ctx: &Context<Self>, leaf: &'static Leaf) -> Html {
        let spec = leaf.spec;
        if spec.options.is_empty() && spec.column_sets.is_empty() {
            return html! {};
        }
        let link = ctx.link();
        let name = leaf.id.as_str();
        let chosen = self.options_of(name);
        let controls = spec
            .options
            .iter()
            .map(|o| option_control(link, name, o, chosen.get(o.name)));
        let sets = self.sets.get(name).cloned().unwrap_or_default();
        let set_boxes = spec.column_sets.iter().map(|set| {
            let set_name = set.name;
            let onchange = link.callback(move |e: Event| {
                let input: web_sys::HtmlInputElement = e.target_unchecked_into();
                Msg::SetColumns(name.to_string(), set_name, input.checked())
            });
            html! {
                <label class="option column-set" title={set.help}>
                    <input type="checkbox" checked={sets.contains(&set.name)} {onchange} />{ set.name }
                </label>
            }
        });
        let error = match self.option_errors.get(name) {
            Some(e) => html! { <span class="option-error" role="alert">{ e }</span> },
            None => html! {},
        };
        html! {
            <div class="options" id={format!("options-{name}")}>
                { for controls }{ for set_boxes }{ error }
            </div>
        }
    }

    fn view_table(&self, ctx: &Context<Self>, leaf: &'static Leaf, t: &TableState) -> Html {
        let link = ctx.link();
        let (name, spec) = (leaf.id.as_str(), leaf.spec);
        let header = t.columns.iter().enumerate().map(|(i, c)| {
            let arrow = match t.sort {
                Some((col, true)) if col == i => " ▲",
                Some((col, false)) if col == i => " ▼",
                _ => "",
            };
            html! { <th onclick={link.callback(move |_| Msg::Sort(name.to_string(), i))}>{ format!("{c}{arrow}") }</th> }
        });
        let (first, last) = table::window(t.order.len(), t.scroll_top, 600.0);
        let tree = t.tree();
        let comm_col = spec
            .tree
            .and_then(|tree| t.columns.iter().position(|c| *c == tree.label));
        let rows = t.order[first..last].iter().enumerate().map(|(pos, &i)| {
            let cells = t.cells[i].iter().enumerate().map(|(ci, cell)| {
                if let (Some(depths), Some(cc)) = (tree, comm_col) {
                    if ci == cc {
                        let indent = "\u{a0}\u{a0}".repeat(depths[i] as usize);
                        let toggle = if table::has_children(depths, i) {
                            let sign = if t.collapsed.contains(&i) { "▸" } else { "▾" };
                            html! { <button class="toggle" onclick={link.callback(move |_| Msg::Toggle(name.to_string(), i))}>{ sign }</button> }
                        } else {
                            html! { <span class="leaf">{ "\u{a0}\u{a0}" }</span> }
                        };
                        return html! { <td title={cell.clone()}><span class="indent">{ indent }</span>{ toggle }{ cell }</td> };
                    }
                }
                html! { <td title={cell.clone()}>{ cell }</td> }
            });
            let class = if t.selected == Some(i) { "selected" } else { "" };
            let onclick = link.callback(move |_| Msg::Select(name.to_string(), i));
            html! { <tr class={class} data-index={(first + pos).to_string()} {onclick}>{ for cells }</tr> }
        });
        let top = (first as f64 * table::ROW_HEIGHT) as u64;
        let bottom = ((t.order.len() - last) as f64 * table::ROW_HEIGHT) as u64;
        let ncols = t.columns.len().to_string();
        let spacer = |h: u64| {
            if h == 0 {
                html! {}
            } else {
                // A presentational `height` attribute, not a style: the CSP allows no inline style.
                html! { <tr class="spacer"><td colspan={ncols.clone()} height={h.to_string()}></td></tr> }
            }
        };
        let onscroll = link.callback(move |e: Event| {
            let el: web_sys::Element = e.target_unchecked_into();
            Msg::Scroll(name.to_string(), el.scroll_top() as f64)
        });
        let oninput = link.callback(move |e: InputEvent| {
            let input: web_sys::HtmlInputElement = e.target_unchecked_into();
            Msg::Filter(name.to_string(), input.value())
        });
        let detail = match t.selected.and_then(|i| t.full.get(i)) {
            Some(fields) => html! {
                <section class="detail" id={format!("detail-{name}")}>
                    <h3>{ "Row details" }</h3>
                    <table class="overview"><tbody>
                        { for fields.iter().map(|(k, v)| html! { <tr><th>{ k }</th><td class="value">{ v }</td></tr> }) }
                    </tbody></table>
                </section>
            },
            None => html! {},
        };
        let warnings = if t.warnings.is_empty() {
            html! {}
        } else {
            html! { <ul class="warnings">{ for t.warnings.iter().map(|w| html! { <li>{ w }</li> }) }</ul> }
        };
        html! {
            <div class="analysis" id={format!("table-{name}")} data-options={t.options.to_flags()} data-rows={t.rows.to_string()} data-shown={t.order.len().to_string()}>
                <p class="description">{ spec.description }</p>
                { self.view_options(ctx, leaf) }
                <div class="tools">
                    <input class="filter" type="search" placeholder="Filter" value={t.filter.clone()} {oninput} />
                    <span class="count">{ format!("{} of {} rows", t.order.len(), t.rows) }</span>
                    <button class="export-json" onclick={link.callback(move |_| Msg::Export(name.to_string(), "json".into()))}>{ "Export JSON" }</button>
                    <button class="export-csv" onclick={link.callback(move |_| Msg::Export(name.to_string(), "csv".into()))}>{ "Export CSV" }</button>
                    { for t.files.iter().map(|file| {
                        let file_name = file.clone();
                        let onclick = link.callback(move |_| Msg::Download(name.to_string(), file_name.clone()));
                        html! { <button class="download-file" data-file={file.clone()} {onclick}>{ format!("Download {file}") }</button> }
                    }) }
                </div>
                { warnings }
                <p class="hint">{ "Click a row for all its fields; click a column header to sort." }</p>
                <div class="scroll" {onscroll}>
                    <table class="grid">
                        <thead><tr>{ for header }</tr></thead>
                        <tbody>{ spacer(top) }{ for rows }{ spacer(bottom) }</tbody>
                    </table>
                </div>
                { detail }
            </div>
        }
    }
}

/// The control of one option, labelled with its name: a checkbox for a flag, a text field for integers or
/// text (values separated by spaces or commas, applied on Enter or leaving the field), a list for a choice.
/// An output path is a checkbox: what it writes is offered as a download.
fn option_control(
    link: &yew::html::Scope<App>,
    analysis: &'static str,
    o: &'static OptionSpec,
    value: Option<&OptionValue>,
) -> Html {
    let name = o.name;
    match o.kind {
        OptionKind::Flag => {
            let onchange = link.callback(move |e: Event| {
                let input: web_sys::HtmlInputElement = e.target_unchecked_into();
                Msg::SetOption(analysis.to_string(), name, OptionValue::Flag(input.checked()))
            });
            let on = matches!(value, Some(OptionValue::Flag(true)));
            html! {
                <label class="option" title={o.help}><input type="checkbox" checked={on} {onchange} />{ name }</label>
            }
        }
        OptionKind::Integers | OptionKind::Text { .. } => {
            let text = match value {
                Some(OptionValue::Integers(v)) => v.iter().map(u64::to_string).collect::<Vec<_>>().join(" "),
                Some(OptionValue::Texts(v)) => v.join(" "),
                Some(OptionValue::Text(t)) => t.clone(),
                _ => String::new(),
            };
            let onchange = link.callback(move |e: Event| {
                let input: web_sys::HtmlInputElement = e.target_unchecked_into();
                match parse_option(o, &input.value()) {
                    Ok(v) => Msg::SetOption(analysis.to_string(), name, v),
                    Err(why) => Msg::BadOption(analysis.to_string(), format!("{name}: {why}")),
                }
            });
            html! {
                <label class="option" title={o.help}>{ name }
                    <input type="text" placeholder={o.value_name} value={text} {onchange} />
                </label>
            }
        }
        OptionKind::Choice { choices } => {
            let current = match value {
                Some(OptionValue::Text(t)) => t.clone(),
                _ => String::new(),
            };
            let onchange = link.callback(move |e: Event| {
                let select: web_sys::HtmlSelectElement = e.target_unchecked_into();
                Msg::SetOption(analysis.to_string(), name, OptionValue::Text(select.value()))
            });
            html! {
                <label class="option" title={o.help}>{ name }
                    <select {onchange}>
                        <option value="" selected={current.is_empty()}>{ "(default)" }</option>
                        { for choices.iter().map(|c| html! { <option value={*c} selected={current == *c}>{ *c }</option> }) }
                    </select>
                </label>
            }
        }
        OptionKind::Output { .. } => {
            // What the CLI writes to a path, the page offers as a download.
            let onchange = link.callback(move |e: Event| {
                let input: web_sys::HtmlInputElement = e.target_unchecked_into();
                let value = if input.checked() { PAGE_OUTPUT } else { "" };
                Msg::SetOption(analysis.to_string(), name, OptionValue::Text(value.to_string()))
            });
            let on = matches!(value, Some(OptionValue::Text(t)) if !t.is_empty());
            html! {
                <label class="option" title={o.help}><input type="checkbox" checked={on} {onchange} />{ name }</label>
            }
        }
    }
}

/// What the user typed into an option's text field, as its value: integers or texts separated by spaces
/// or commas, each text accepted by the option's check.
pub fn parse_option(o: &OptionSpec, typed: &str) -> Result<OptionValue, String> {
    let words: Vec<&str> = typed.split([' ', ',', '\t']).filter(|w| !w.is_empty()).collect();
    match o.kind {
        OptionKind::Integers => words
            .iter()
            .map(|w| w.parse::<u64>().map_err(|_| format!("{w:?} is not a whole number")))
            .collect::<Result<Vec<_>, _>>()
            .map(OptionValue::Integers),
        OptionKind::Text { many } => {
            if let Some(check) = o.check {
                words.iter().try_for_each(|w| check(w))?;
            }
            Ok(if many {
                OptionValue::Texts(words.iter().map(|w| w.to_string()).collect())
            } else {
                OptionValue::Text(typed.trim().to_string())
            })
        }
        _ => Err("not a text option".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::human_size;

    #[test]
    fn sizes_read_like_a_person_would_write_them() {
        assert_eq!(human_size(0), "0 bytes");
        assert_eq!(human_size(1023), "1,023 bytes");
        assert_eq!(human_size(1024), "1.0 KiB (1,024 bytes)");
        assert_eq!(human_size(402_653_184), "384.0 MiB (402,653,184 bytes)");
        assert_eq!(human_size(73_369_407), "70.0 MiB (73,369,407 bytes)");
    }

    #[test]
    fn typed_options_become_values_or_say_why_not() {
        use super::{export_name, parse_option};
        use memscope_core::analyses::registry::{find, OptionValue, Options};
        let pslist = find("pslist").unwrap();
        let pid = pslist.options.iter().find(|o| o.name == "pid").unwrap();
        let ns = pslist.options.iter().find(|o| o.name == "ns").unwrap();
        assert_eq!(parse_option(pid, " 1, 982 "), Ok(OptionValue::Integers(vec![1, 982])));
        assert!(parse_option(pid, "1 x").is_err());
        assert_eq!(
            parse_option(ns, "net:4026531840"),
            Ok(OptionValue::Texts(vec!["net:4026531840".into()]))
        );
        assert!(parse_option(ns, "net").is_err());
        let mut options = Options::new();
        assert_eq!(export_name("pslist", &options), "pslist");
        options.set("threads", OptionValue::Flag(true));
        options.set("pid", OptionValue::Integers(vec![1, 982]));
        assert_eq!(export_name("pslist", &options), "pslist_pid-1-982_threads");
    }
}
