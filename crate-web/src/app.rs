//! The Yew application: a header, a file picker and a status line.
//!
//! The UI thread never reads the capture. It only keeps what the browser already knows about the chosen
//! file (name and size) and view state; the reading and analysis will run in a Web Worker that owns the
//! `File`, the block cache and the symbols, and posts rows and progress back as messages. `Status` is the
//! one place that worker's progress, results and errors will land.

use web_sys::{File, HtmlInputElement};
use yew::prelude::*;

/// What the browser told us about the file the user picked. The `File` handle itself is kept so it can be
/// handed (by reference, without copying bytes) to the worker; nothing here reads its contents.
#[derive(Clone, PartialEq)]
pub struct Chosen {
    pub name: String,
    pub size: u64,
    pub file: File,
}

/// The status line.
#[derive(Clone, PartialEq)]
pub enum Status {
    /// Nothing chosen yet.
    Idle,
    /// A file was chosen; analysis is not wired up yet.
    Chosen,
    /// Something went wrong; the text is shown as text, never as HTML.
    Error(String),
}

impl Status {
    fn text(&self) -> String {
        match self {
            Status::Idle => "Ready. No capture open.".to_owned(),
            Status::Chosen => "Capture chosen. Analysis in the browser is coming next; nothing was read.".to_owned(),
            Status::Error(msg) => format!("Error: {msg}"),
        }
    }
}

/// Everything the page shows.
#[derive(Clone, PartialEq)]
pub struct State {
    pub chosen: Option<Chosen>,
    pub status: Status,
}

impl Default for State {
    fn default() -> Self {
        State {
            chosen: None,
            status: Status::Idle,
        }
    }
}

/// Messages that change [`State`]. The worker's replies will become more variants here.
pub enum Action {
    /// The file input changed: `None` when the selection was cleared.
    Pick(Option<File>),
}

impl Reducible for State {
    type Action = Action;

    fn reduce(self: std::rc::Rc<Self>, action: Action) -> std::rc::Rc<Self> {
        match action {
            Action::Pick(Some(file)) => {
                // `File.size` is a JS number holding a byte count; it is exact below 2^53.
                let size = file.size() as u64;
                let chosen = Chosen {
                    name: file.name(),
                    size,
                    file,
                };
                State {
                    chosen: Some(chosen),
                    status: Status::Chosen,
                }
                .into()
            }
            Action::Pick(None) => State::default().into(),
        }
    }
}

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

#[function_component]
pub fn App() -> Html {
    let state = use_reducer(State::default);

    let onchange = {
        let state = state.dispatcher();
        Callback::from(move |e: Event| {
            let input: HtmlInputElement = e.target_unchecked_into();
            let file = input.files().and_then(|list| list.get(0));
            state.dispatch(Action::Pick(file));
        })
    };

    let chosen = match &state.chosen {
        Some(c) => html! {
            <p id="chosen-file" class="chosen">
                <span class="label">{ "Chosen: " }</span>
                <span class="name">{ &c.name }</span>
                <span class="size">{ format!(" — {}", human_size(c.size)) }</span>
            </p>
        },
        None => html! {},
    };
    let status_class = match state.status {
        Status::Error(_) => "status error",
        _ => "status",
    };

    html! {
        <>
            <header class="top">
                <h1>{ "memscope" }</h1>
                <span class="version">{ concat!("v", env!("CARGO_PKG_VERSION")) }</span>
            </header>
            <main>
                <p class="lead">{ "Open a Linux memory capture — nothing leaves this page." }</p>
                <label class="picker" for="capture-input">{ "Capture file (LiME, AVML, ELF core or raw)" }</label>
                <input id="capture-input" type="file" {onchange} />
                { chosen }
            </main>
            <footer>
                <p id="status" class={status_class} role="status" aria-live="polite">{ state.status.text() }</p>
            </footer>
        </>
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
}
