//! The Yew application. The page never reads the capture: it hands the chosen `File` (a handle) to the
//! worker ([`crate::worker`], driven through [`client`]) and shows what comes back: progress, the
//! overview, one tab per table of the core's registry (`memscope_core::analyses::registry::leaves`: a new
//! analysis there is a new tab here, with no change in this file), each with its options, exports and
//! downloads. [`table_state`] holds a table as shown, [`views`] draws, [`download`] saves.

use std::collections::{HashMap, HashSet};

use memscope_core::analyses::docker::Labels;
use memscope_core::analyses::registry::{self, OptionValue, Options};
use serde_json::Value;
use yew::prelude::*;

use crate::proto::{FromWorker, ToWorker};
use crate::table;

mod client;
mod download;
mod table_state;
mod views;

use client::WorkerClient;
use download::{download, save_bytes};
pub use table_state::TableState;
pub use views::{human_size, parse_option};

/// The value an output option gets in the page, where it names no path: what it writes is downloaded.
const PAGE_OUTPUT: &str = "download";

/// The analysis whose rows the page shows above the tabs, each linking to its evidence.
const FINDINGS: &str = "findings";

/// The tab that shows the containers' map above its table, and the other tables the map is drawn from.
const MAP_TAB: &str = "docker-networks";
const MAP_SOURCES: [&str; 3] = ["docker-ps", "docker-mounts", "ifconfig"];

/// Where a site that ships a demo capture describes it (scripts/web-demo.sh writes it), relative to the
/// page: `{"file": "NAME.lime", "title": "..."}`, the capture beside it in `demo/`.
pub const DEMO_INDEX: &str = "demo/demo.json";

/// The demo capture a site ships, as [`DEMO_INDEX`] describes it.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct Demo {
    /// The capture's file name in `demo/`.
    pub file: String,
    /// What the button says it is.
    #[serde(default)]
    pub title: String,
}

impl Demo {
    /// Its URL relative to the page; none for a file name that would leave `demo/`.
    pub fn url(&self) -> Option<String> {
        let plain = !self.file.is_empty()
            && !self.file.starts_with('.')
            && self
                .file
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
        plain.then(|| format!("demo/{}", self.file))
    }
}

/// Give the keyboard focus to the first element `selector` finds; whether there was one.
fn focus(selector: &str) -> bool {
    use wasm_bindgen::JsCast;
    let element = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.query_selector(selector).ok().flatten())
        .and_then(|el| el.dyn_into::<web_sys::HtmlElement>().ok());
    element.is_some_and(|el| el.focus().is_ok())
}

/// Scroll the table of `analysis` just enough that its shown row `at` is in sight (under the header).
fn keep_in_sight(analysis: &str, at: usize) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let selector = format!("#table-{analysis} .scroll");
    let Some(scroll) = document.query_selector(&selector).ok().flatten() else {
        return;
    };
    let header = document
        .query_selector(&format!("{selector} thead"))
        .ok()
        .flatten()
        .map_or(0.0, |h| f64::from(h.client_height()));
    let (top, height) = (f64::from(scroll.scroll_top()), f64::from(scroll.client_height()));
    let row_top = at as f64 * table::ROW_HEIGHT;
    let row_bottom = row_top + table::ROW_HEIGHT + header;
    if row_top < top {
        scroll.set_scroll_top(row_top as i32);
    } else if row_bottom > top + height {
        scroll.set_scroll_top((row_bottom - height) as i32);
    }
}

/// `/` pressed outside a text field focuses the filter of the table shown (as on many sites).
fn slash_focuses_the_filter() -> Option<gloo_events::EventListener> {
    use wasm_bindgen::JsCast;
    let document = web_sys::window()?.document()?;
    let options = gloo_events::EventListenerOptions::enable_prevent_default();
    Some(gloo_events::EventListener::new_with_options(
        &document,
        "keydown",
        options,
        |event| {
            let Some(key) = event.dyn_ref::<web_sys::KeyboardEvent>() else {
                return;
            };
            let typing = key
                .target()
                .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                .is_some_and(|el| matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT"));
            if key.key() != "/" || typing || key.ctrl_key() || key.meta_key() || key.alt_key() {
                return;
            }
            if focus(".analysis .filter") {
                key.prevent_default();
            }
        },
    ))
}

/// Ask the site whether it ships a demo capture; the answer comes back as [`Msg::Demo`].
fn look_for_demo(link: yew::html::Scope<App>) {
    use wasm_bindgen::JsCast;
    use wasm_bindgen_futures::JsFuture;
    wasm_bindgen_futures::spawn_local(async move {
        let demo = async {
            let response = JsFuture::from(web_sys::window()?.fetch_with_str(DEMO_INDEX))
                .await
                .ok()?;
            let response: web_sys::Response = response.dyn_into().ok()?;
            if !response.ok() {
                return None;
            }
            let text = JsFuture::from(response.text().ok()?).await.ok()?.as_string()?;
            serde_json::from_str::<Demo>(&text).ok().filter(|d| d.url().is_some())
        }
        .await;
        link.send_message(Msg::Demo(demo));
    });
}

pub enum Msg {
    /// A message from the worker of this generation (one from a worker since replaced is dropped: a
    /// Ready of a cancelled worker, already queued, must not mark its successor ready).
    FromWorker(u32, String),
    /// A file from the worker of this generation: its message and its bytes (a `Uint8Array` or a `Blob`).
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
    /// Whether the site ships a demo capture, and which.
    Demo(Option<Demo>),
    OpenDemo,
    Cancel,
    Tab(String),
    Sort(String, usize),
    Filter(String, String),
    /// Open a tab filtered (a finding's evidence): the analysis, the filter.
    Goto(String, String),
    /// A key pressed on the tabs (`ArrowLeft`, `ArrowRight`, `Home`, `End` move to another).
    TabKey(String),
    Scroll(String, f64),
    /// A key pressed on a table (the analysis, the key): the row cursor moves, Enter opens its details.
    RowKey(String, String),
    Toggle(String, usize),
    Select(String, usize),
    Export(String, String),
    /// Save the containers' map as an SVG file.
    ExportMap,
    /// An analysis's option changed (its name, its new value): the analysis runs again.
    SetOption(String, &'static str, OptionValue),
    /// Set several options of an analysis at once (a row's action) and run it again.
    SetOptions(String, Vec<(&'static str, OptionValue)>),
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
    client: WorkerClient,
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
    /// Which container each process and namespace belongs to, once the worker has said.
    labels: Option<Labels>,
    /// Whether the worker was asked for them for this capture.
    labels_asked: bool,
    /// The demo capture the site ships, if it ships one ("Open demo capture" shows only then).
    demo: Option<Demo>,
    /// Filters for tabs a finding's link opened before their rows came.
    pending_filters: HashMap<String, String>,
    /// `/` anywhere but in a text field focuses the shown table's filter.
    _slash: Option<gloo_events::EventListener>,
    /// Move the keyboard focus to the active tab after the next render (arrow keys on the tabs).
    focus_tab: bool,
    /// Keep this shown row of this table in sight after the next render (the row cursor moved).
    scroll_to: Option<(String, usize)>,
}

fn now() -> f64 {
    js_sys::Date::now()
}

impl App {
    /// Start (or restart) the worker.
    fn spawn(&mut self, ctx: &Context<Self>) {
        if let Err(e) = self.client.spawn(ctx.link()) {
            self.error = Some(e);
        }
    }

    fn send(&mut self, msg: ToWorker, blob: Option<web_sys::Blob>) {
        if let Err(e) = self.client.send(&msg, blob) {
            self.error = Some(e);
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
        self.forget_marks();
    }

    /// Forget what the page learnt about the capture in the background: its labels, and the filters
    /// waiting for tabs a finding opened.
    fn forget_marks(&mut self) {
        self.labels = None;
        self.labels_asked = false;
        self.pending_filters.clear();
    }

    /// The options the table of `analysis` shows was read with (what its exports and downloads are of).
    fn shown_options(&self, analysis: &str) -> Options {
        self.tables.get(analysis).map(|t| t.options.clone()).unwrap_or_default()
    }

    /// The containers' map, from the tables of [`MAP_TAB`] and [`MAP_SOURCES`] the page holds.
    fn map(&self) -> crate::map::Drawing {
        let rows = |id: &str| self.tables.get(id).map_or(&[][..], |t| t.values.as_slice());
        crate::map::draw(&crate::map::Sources {
            networks: rows(MAP_TAB),
            containers: rows(MAP_SOURCES[0]),
            mounts: rows(MAP_SOURCES[1]),
            interfaces: rows(MAP_SOURCES[2]),
        })
    }

    /// The tabs shown, in order, as (id, title): the overview (with a capture open), then every table's
    /// (only the exported tables opened, without one).
    fn tabs(&self) -> Vec<(&str, &'static str)> {
        let with_capture = self.info.is_some();
        with_capture
            .then_some(("overview", "Overview"))
            .into_iter()
            .chain(
                registry::leaves()
                    .iter()
                    .filter(|l| with_capture || self.tables.contains_key(&l.id))
                    .map(|l| (l.id.as_str(), l.spec.title)),
            )
            .collect()
    }

    /// The options chosen for `analysis`.
    fn options_of(&self, analysis: &str) -> Options {
        self.options.get(analysis).cloned().unwrap_or_default()
    }

    fn run(&mut self, analysis: &str) {
        self.run_as(analysis, true);
    }

    /// Run `analysis` with its chosen options unless its table is here or on its way; `shown`: the user
    /// waits for it (the status line says so), else it runs in the background.
    fn run_as(&mut self, analysis: &str, shown: bool) {
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
        if shown {
            self.busy.get_or_insert(Progress {
                phase: format!("running {analysis}"),
                bytes: 0,
                reads: 0,
            });
        }
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
                if let Err(e) = self.client.ready() {
                    self.error = Some(e);
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
                    let mut table = TableState::new(spec, options, &sets, rows, warnings, millis, self.labels.as_ref());
                    table.files = files;
                    // A finding's link opened this tab before its rows came: its filter now applies.
                    if let Some(filter) = self.pending_filters.remove(&analysis) {
                        table.filter = filter;
                        table.refresh();
                    }
                    self.tables.insert(analysis, table);
                }
                // Once the first table is shown, learn in the background which container each process and
                // namespace belongs to, to mark them on every table, and what the findings are, to show
                // them above the tabs.
                if self.info.is_some() && !self.labels_asked {
                    self.labels_asked = true;
                    self.run_as(FINDINGS, false);
                    self.send(ToWorker::Labels, None);
                }
                self.maybe_report();
            }
            // Asked for this capture (the answer for one closed since comes before this one's first rows).
            FromWorker::Labels { labels, warnings } if self.labels_asked => {
                self.warnings
                    .extend(warnings.into_iter().map(|w| format!("containers: {w}")));
                let tables = std::mem::take(&mut self.tables);
                self.tables = tables
                    .into_iter()
                    .map(|(analysis, t)| match registry::find(&analysis) {
                        Some(spec) => {
                            let sets = self.sets.get(&analysis).cloned().unwrap_or_default();
                            let t = t.with_sets(spec, &sets, Some(&labels));
                            (analysis, t)
                        }
                        None => (analysis, t),
                    })
                    .collect();
                self.labels = Some(labels);
            }
            FromWorker::Export {
                analysis,
                options,
                format,
                text,
            } => {
                // An analysis's own format (bodyfile) has its own extension.
                let extension = registry::find(&analysis)
                    .and_then(|spec| spec.formats.iter().find(|f| f.name == format))
                    .map_or(format.as_str(), |f| f.extension);
                download(&export_name(&analysis, &options), extension, &text)
            }
            FromWorker::Bench { .. } | FromWorker::File { .. } | FromWorker::Labels { .. } => {}
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
        self.client.clear_queue();
        self.pending.clear();
        self.info = None;
        self.tables.clear();
        self.forget_marks();
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
            client: WorkerClient::default(),
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
            labels: None,
            labels_asked: false,
            demo: None,
            pending_filters: HashMap::new(),
            _slash: slash_focuses_the_filter(),
            focus_tab: false,
            scroll_to: None,
        };
        app.spawn(ctx);
        look_for_demo(ctx.link().clone());
        app
    }

    fn update(&mut self, ctx: &Context<Self>, msg: Msg) -> bool {
        match msg {
            Msg::FromWorker(generation, _) | Msg::WorkerFailed(generation, _) | Msg::WorkerFile(generation, ..)
                if generation != self.client.generation() =>
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
                Ok(FromWorker::File {
                    analysis,
                    name,
                    warnings,
                }) => {
                    save_bytes(&name, bytes);
                    if let Some(t) = self.tables.get_mut(&analysis) {
                        t.warnings.extend(warnings);
                    }
                }
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
            Msg::Demo(demo) => self.demo = demo,
            Msg::OpenDemo => {
                let Some(url) = self.demo.as_ref().and_then(Demo::url) else {
                    return false;
                };
                self.start_open(ctx, url.clone(), None);
                self.send(ToWorker::OpenUrl { url }, None);
            }
            Msg::Cancel => {
                self.restart_clean();
                self.error = Some("cancelled".into());
                self.spawn(ctx);
            }
            Msg::Tab(tab) => {
                self.run(&tab);
                if tab == MAP_TAB {
                    for source in MAP_SOURCES {
                        self.run(source);
                    }
                }
                // A tab opens at the top of its table (its scroll element is new).
                if let Some(t) = self.tables.get_mut(&tab) {
                    t.scroll_top = 0.0;
                }
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
            Msg::TabKey(key) => {
                let ids: Vec<String> = self.tabs().into_iter().map(|(id, _)| id.to_string()).collect();
                let Some(at) = ids.iter().position(|t| *t == self.tab) else {
                    return false;
                };
                let next = match key.as_str() {
                    "ArrowRight" => (at + 1) % ids.len(),
                    "ArrowLeft" => (at + ids.len() - 1) % ids.len(),
                    "Home" => 0,
                    "End" => ids.len() - 1,
                    _ => return false,
                };
                self.focus_tab = true;
                return Component::update(self, ctx, Msg::Tab(ids[next].clone()));
            }
            Msg::Goto(analysis, filter) => {
                self.run(&analysis);
                match self.tables.get_mut(&analysis) {
                    Some(t) => {
                        t.filter = filter;
                        t.scroll_top = 0.0;
                        t.refresh();
                    }
                    None => {
                        self.pending_filters.insert(analysis.clone(), filter);
                    }
                }
                self.tab = analysis;
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
            Msg::RowKey(name, key) => {
                let Some(at) = self.tables.get_mut(&name).and_then(|t| t.key(&key)) else {
                    return false;
                };
                self.scroll_to = Some((name, at));
            }
            Msg::Select(name, row) => {
                if let Some(t) = self.tables.get_mut(&name) {
                    t.toggle_details(row);
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
            Msg::ExportMap => download("docker-map", "svg", &crate::map::to_svg(&self.map())),
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
            Msg::SetOptions(analysis, values) => {
                self.option_errors.remove(&analysis);
                let options = self.options.entry(analysis.clone()).or_default();
                for (name, value) in values {
                    options.set(name, value);
                }
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
                    self.tables
                        .insert(analysis, t.with_sets(spec, &sets, self.labels.as_ref()));
                }
            }
            Msg::Ping => self.pings += 1,
            Msg::StartTimeout(generation) => {
                if generation != self.client.generation() || self.client.is_ready() {
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

    fn rendered(&mut self, _ctx: &Context<Self>, _first_render: bool) {
        if std::mem::take(&mut self.focus_tab) {
            focus(".tabs .tab.active");
        }
        if let Some((name, at)) = self.scroll_to.take() {
            keep_in_sight(&name, at);
        }
    }

    fn view(&self, ctx: &Context<Self>) -> Html {
        let link = ctx.link();
        let onchange = link.callback(|e: Event| Msg::PickCapture(file_of(&e)));
        let on_isf = link.callback(|e: Event| Msg::PickIsf(file_of(&e)));
        let on_table = link.callback(|e: Event| Msg::PickTable(file_of(&e)));
        let ondrop = link.callback(Msg::Drop);
        let ondragover = Callback::from(|e: DragEvent| e.prevent_default());

        let folded = self.info.is_some() && self.busy.is_none();
        let source = match &self.source {
            Some((name, size)) => html! {
                <p id="chosen-file" class="chosen">
                    <span class="label">{ if self.table_view { "Exported table: " } else { "Capture: " } }</span>
                    <span class="name">{ name }</span>
                    <span class="size">{ size.map(|s| format!(" — {}", human_size(s))).unwrap_or_default() }</span>
                    { for self.info.as_ref().into_iter().flat_map(|info| {
                        ["kernel_release", "hostname"].into_iter().filter_map(move |key| {
                            let text = info.get(key)?.as_str()?.to_string();
                            Some(html! { <span class={format!("fact {key}")}>{ format!(" — {text}") }</span> })
                        })
                    }) }
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
                    // Once a capture is open the form folds into one line with the capture's facts, so
                    // the findings and tables get the window.
                    if !folded {
                        <p class="lead">{ "Open a Linux memory capture — nothing leaves this page." }</p>
                    }
                    <div class={classes!("open", folded.then_some("folded"))}>
                        { source }
                        <label class="picker" for="capture-input">{ if folded { "Open another capture…" } else { "Capture file (LiME, AVML, ELF core or raw), or drop it here" } }</label>
                        <input id="capture-input" type="file" {onchange} />
                        if let Some(demo) = &self.demo {
                            <button id="open-demo" title={demo.title.clone()} onclick={link.callback(|_| Msg::OpenDemo)}>{ "Open demo capture" }</button>
                        }
                        <label class="picker" for="table-input">{ "Or a table exported as JSON, to view it again without its capture" }</label>
                        <input id="table-input" type="file" accept=".json,application/json" onchange={on_table} />
                    </div>
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
}
