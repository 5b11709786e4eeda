//! The page's side of the worker: starting (and restarting) it, posting messages (queued until it says
//! Ready), and turning what it posts back into the app's messages, each marked with the worker's
//! generation so that a message from a worker since replaced is dropped.

use gloo_events::{EventListener, EventListenerOptions};
use gloo_timers::callback::Timeout;
use wasm_bindgen::JsCast;
use yew::html::Scope;

use super::{App, Msg};
use crate::proto::ToWorker;

/// How long a new worker may take to say Ready before the page reports it could not start.
const START_TIMEOUT_MS: u32 = 15_000;

/// The worker and what the page keeps about it.
#[derive(Default)]
pub struct WorkerClient {
    worker: Option<web_sys::Worker>,
    /// Its `message` and `error` listeners (removed when dropped).
    listeners: Vec<EventListener>,
    /// Reports a worker that never says Ready; cancelled when dropped (a restart, or Ready).
    start_timer: Option<Timeout>,
    ready: bool,
    /// Messages posted before Ready, with the blob each carries.
    queue: Vec<(String, Option<web_sys::Blob>)>,
    generation: u32,
}

impl WorkerClient {
    /// The generation of the current worker (each start adds one).
    pub fn generation(&self) -> u32 {
        self.generation
    }

    /// Whether the current worker said Ready.
    pub fn is_ready(&self) -> bool {
        self.ready
    }

    /// Start a worker (ending the one before): `worker_loader.js` beside the page (trunk's loader shim).
    /// What it posts reaches `link` as [`Msg::FromWorker`] (JSON text) or [`Msg::WorkerFile`] (a
    /// `[json, bytes]` array), a failure as [`Msg::WorkerFailed`], and no Ready within 15 s as
    /// [`Msg::StartTimeout`].
    pub fn spawn(&mut self, link: &Scope<App>) -> Result<(), String> {
        self.stop();
        // `?block=N` (KiB) and `?reader=opfs` on the page's URL reach the worker: reader measurements, see
        // benches/browser.mjs; `?symbols=capture|bundled` where symbols come from (deriving them from the
        // capture, or the bundled packs only); `?test-panic=ANALYSIS` is the e2e's hook to make the worker
        // panic (README).
        let search = web_sys::window()
            .and_then(|w| w.location().search().ok())
            .filter(|s| {
                ["?block=", "?reader=", "?symbols=", "?test-panic="]
                    .iter()
                    .any(|p| s.starts_with(p))
            })
            .unwrap_or_default();
        let worker = web_sys::Worker::new(&format!("./worker_loader.js{search}"))
            .map_err(|e| format!("the worker could not start: {e:?}"))?;
        self.generation += 1;
        let generation = self.generation;
        let on_message = link.clone();
        self.listeners
            .push(EventListener::new(&worker, "message", move |event| {
                let Some(data) = event.dyn_ref::<web_sys::MessageEvent>().map(|e| e.data()) else {
                    return;
                };
                if js_sys::Array::is_array(&data) {
                    let parts = js_sys::Array::from(&data);
                    let json = parts.get(0).as_string().unwrap_or_default();
                    on_message.send_message(Msg::WorkerFile(generation, json, parts.get(1)));
                } else {
                    on_message.send_message(Msg::FromWorker(generation, data.as_string().unwrap_or_default()));
                }
            }));
        let on_error = link.clone();
        let options = EventListenerOptions::enable_prevent_default();
        self.listeners.push(EventListener::new_with_options(
            &worker,
            "error",
            options,
            move |event| {
                event.prevent_default();
                let message = event
                    .dyn_ref::<web_sys::ErrorEvent>()
                    .map(|e| e.message())
                    .unwrap_or_default();
                on_error.send_message(Msg::WorkerFailed(generation, message));
            },
        ));
        let on_timeout = link.clone();
        self.start_timer = Some(Timeout::new(START_TIMEOUT_MS, move || {
            on_timeout.send_message(Msg::StartTimeout(generation))
        }));
        self.worker = Some(worker);
        Ok(())
    }

    /// End the current worker, its listeners and its queue.
    pub fn stop(&mut self) {
        if let Some(w) = self.worker.take() {
            w.terminate();
        }
        self.listeners.clear();
        self.start_timer = None;
        self.ready = false;
        self.queue.clear();
    }

    /// The worker said Ready: post what waited.
    pub fn ready(&mut self) -> Result<(), String> {
        self.ready = true;
        self.start_timer = None;
        for (json, blob) in std::mem::take(&mut self.queue) {
            self.post(&json, blob)?;
        }
        Ok(())
    }

    /// Post `msg` (with the blob it carries), or queue it until the worker is ready.
    pub fn send(&mut self, msg: &ToWorker, blob: Option<web_sys::Blob>) -> Result<(), String> {
        let json = msg.to_json();
        if !self.ready {
            self.queue.push((json, blob));
            return Ok(());
        }
        self.post(&json, blob)
    }

    /// Forget what waits for a worker that will not be ready.
    pub fn clear_queue(&mut self) {
        self.queue.clear();
    }

    fn post(&self, json: &str, blob: Option<web_sys::Blob>) -> Result<(), String> {
        let Some(w) = &self.worker else {
            return Ok(());
        };
        let array = js_sys::Array::new();
        array.push(&json.into());
        if let Some(b) = blob {
            array.push(&b);
        }
        w.post_message(&array)
            .map_err(|e| format!("could not talk to the worker: {e:?}"))
    }
}
