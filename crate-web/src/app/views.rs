//! What the page draws: the tabs, the overview, each analysis's options and table. Text from memory is
//! only ever rendered as text.

use memscope_core::analyses::registry::{self, Leaf, OptionKind, OptionSpec, OptionValue};
use serde_json::Value;
use yew::prelude::*;

use super::{App, Msg, TableState, PAGE_OUTPUT};
use crate::{map, table};

impl App {
    pub(super) fn view_tabs(&self, ctx: &Context<Self>) -> Html {
        // A capture's session, or exported tables viewed without their capture (no overview, no report).
        let info = self.info.as_ref();
        if info.is_none() && self.tables.is_empty() {
            return html! {};
        }
        let link = ctx.link();
        // A tablist: the active tab is the one Tab reaches; the arrow keys, Home and End move between them.
        let tab_button = |id: &str, title: &str| {
            let id_owned = id.to_string();
            let active = self.tab == id;
            let class = if active { "tab active" } else { "tab" };
            html! {
                <button class={class} role="tab" aria-selected={active.to_string()} tabindex={if active { "0" } else { "-1" }}
                    data-tab={id.to_string()} onclick={link.callback(move |_| Msg::Tab(id_owned.clone()))}>{ title }</button>
            }
        };
        let onkeydown = link.batch_callback(|e: KeyboardEvent| {
            let key = e.key();
            matches!(key.as_str(), "ArrowLeft" | "ArrowRight" | "Home" | "End").then(|| {
                e.prevent_default();
                Msg::TabKey(key)
            })
        });
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
                { self.view_findings(ctx) }
                <nav class="tabs" role="tablist" aria-label="Analyses" {onkeydown}>
                    { for self.tabs().into_iter().map(|(id, title)| tab_button(id, title)) }
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
            let sort = match t.sort {
                Some((col, true)) if col == i => "ascending",
                Some((col, false)) if col == i => "descending",
                _ => "none",
            };
            // The header sorts where it is clicked; the button inside it lets the keyboard reach it (Enter
            // clicks the button, and the click reaches the header).
            html! {
                <th aria-sort={sort} onclick={link.callback(move |_| Msg::Sort(name.to_string(), i))}>
                    <button class="sort">{ format!("{c}{arrow}") }</button>
                </th>
            }
        });
        let (first, last) = table::window(t.order.len(), t.scroll_top, 600.0);
        let tree = t.tree();
        let comm_col = spec
            .tree
            .and_then(|tree| t.columns.iter().position(|c| *c == tree.label));
        // In the tree, each container's processes are boxed: a run of rows of one container, labelled
        // at its first row.
        let container_at = |pos: usize| t.order.get(pos).and_then(|&i| t.containers.get(i).copied().flatten());
        let rows = t.order[first..last].iter().enumerate().map(|(pos, &i)| {
            let at = first + pos;
            let boxed = tree.and(container_at(at));
            let box_start = boxed.is_some() && (at == 0 || container_at(at - 1) != boxed);
            let box_end = boxed.is_some() && container_at(at + 1) != boxed;
            let badge = match (box_start, boxed.and_then(|c| self.labels.as_ref()?.containers.get(c))) {
                (true, Some(c)) => {
                    let privileged = c.privileged == Some(true);
                    let class = classes!("container-badge", privileged.then_some("privileged"));
                    let title = format!("container {}{}", c.container_id, if privileged { ", privileged" } else { "" });
                    html! { <span {class} {title}>{ c.label() }</span> }
                }
                _ => html! {},
            };
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
                        return html! { <td title={cell.clone()}><span class="indent">{ indent }</span>{ toggle }{ cell }{ badge.clone() }</td> };
                    }
                }
                html! { <td title={cell.clone()}>{ cell }</td> }
            });
            let class = classes!(
                (t.selected == Some(i)).then_some("selected"),
                (t.cursor == Some(i)).then_some("cursor"),
                boxed.map(|_| "boxed"),
                box_start.then_some("box-start"),
                box_end.then_some("box-end"),
            );
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
        // The rows by keyboard: the table takes the focus (Tab reaches it), the arrow keys move a cursor
        // through the shown rows, Enter opens its details and Escape closes them.
        let onkeydown = link.batch_callback(move |e: KeyboardEvent| {
            // Keys pressed on a control inside the table (a header's sort button) are the control's.
            // (Yew delegates events, so the table is told by its class, not by `current_target`.)
            let target: web_sys::Element = e.target_unchecked_into();
            if !target.matches(".scroll").unwrap_or(false) {
                return None;
            }
            let key = e.key();
            super::table_state::ROW_KEYS.contains(&key.as_str()).then(|| {
                e.prevent_default();
                Msg::RowKey(name.to_string(), key)
            })
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
                    { for spec.row_actions.iter().filter_map(|a| {
                        let value = fields.iter().find(|(k, v)| k == a.key && !v.is_empty())?.1.clone();
                        let onclick = link.callback(move |_| {
                            let mut values = vec![(a.option, OptionValue::Text(value.clone()))];
                            values.extend(a.output.map(|o| (o, OptionValue::Text(PAGE_OUTPUT.into()))));
                            Msg::SetOptions(name.to_string(), values)
                        });
                        Some(html! { <button class="row-action" data-option={a.option} {onclick}>{ a.label }</button> })
                    }) }
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
                    { for table::quick_filters(name).iter().map(|&(label, filter)| {
                        // A quick filter sets the filter; pressed again, it clears it.
                        let on = t.filter == filter;
                        let onclick = link.callback(move |_| Msg::Filter(name.to_string(), if on { String::new() } else { filter.to_string() }));
                        html! { <button class="quick" data-filter={filter} aria-pressed={on.to_string()} title={filter} {onclick}>{ label }</button> }
                    }) }
                    <span class="count">{ format!("{} of {} rows", t.order.len(), t.rows) }</span>
                    <button class="export-json" onclick={link.callback(move |_| Msg::Export(name.to_string(), "json".into()))}>{ "Export JSON" }</button>
                    <button class="export-csv" onclick={link.callback(move |_| Msg::Export(name.to_string(), "csv".into()))}>{ "Export CSV" }</button>
                    { for spec.formats.iter().map(|f| {
                        let onclick = link.callback(move |_| Msg::Export(name.to_string(), f.name.into()));
                        html! { <button class={format!("export-{}", f.name)} title={f.help} {onclick}>{ format!("Export {}", f.name) }</button> }
                    }) }
                    { for t.files.iter().map(|file| {
                        let file_name = file.clone();
                        let onclick = link.callback(move |_| Msg::Download(name.to_string(), file_name.clone()));
                        html! { <button class="download-file" data-file={file.clone()} {onclick}>{ format!("Download {file}") }</button> }
                    }) }
                </div>
                { warnings }
                if name == super::MAP_TAB {
                    { self.view_map(ctx) }
                }
                <p class="hint">{ "Click a row for all its fields (or move with the arrow keys and press Enter); click a column header to sort." }</p>
                // Keyed by the table, so that another tab's table starts at its own top, not at the scroll
                // position the last one was left at.
                // The row details sit beside the table, in view while the table scrolls.
                <div class="table-and-detail">
                    <div class="scroll" key={name} tabindex="0" aria-label={format!("{} rows", spec.title)} {onscroll} {onkeydown}>
                        <table class="grid">
                            <thead><tr>{ for header }</tr></thead>
                            <tbody>{ spacer(top) }{ for rows }{ spacer(bottom) }</tbody>
                        </table>
                    </div>
                    { detail }
                </div>
            </div>
        }
    }
}

impl App {
    /// The findings, above the tabs once they are read: each with its severity, its summary and a link per
    /// piece of evidence that opens its tab filtered to those rows.
    fn view_findings(&self, ctx: &Context<Self>) -> Html {
        let Some(t) = self.tables.get(super::FINDINGS).filter(|_| self.info.is_some()) else {
            return html! {};
        };
        let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
        let items = t.values.iter().map(|f| {
            let severity = text(f, "severity");
            let links = f
                .get("evidence")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|e| {
                    let analysis = e.get("analysis")?.as_str()?.to_string();
                    let title = registry::find(&analysis)?.title;
                    let filter = table::filter_for(e.get("keys")?.as_object()?);
                    let label = format!("{title}: {filter}");
                    let onclick = ctx
                        .link()
                        .callback(move |_| Msg::Goto(analysis.clone(), filter.clone()));
                    Some(html! { <button class="evidence" {onclick}>{ label }</button> })
                });
            html! {
                <li class={format!("finding severity-{severity}")} data-kind={text(f, "kind")}>
                    <span class="severity">{ severity }</span>{ " " }<span class="summary">{ text(f, "summary") }</span>
                    <span class="links">{ for links }</span>
                </li>
            }
        });
        let count = if t.values.is_empty() {
            "none".to_string()
        } else {
            t.values.len().to_string()
        };
        html! {
            <section id="findings-summary" class="findings-summary">
                <h2>{ format!("Findings ({count})") }</h2>
                <ul>{ for items }</ul>
            </section>
        }
    }

    /// The containers' map, drawn from the tables it needs once they are all here.
    fn view_map(&self, ctx: &Context<Self>) -> Html {
        if super::MAP_SOURCES.iter().any(|s| !self.tables.contains_key(*s)) {
            return html! { <p class="loading">{ "Drawing the map…" }</p> };
        }
        let d = self.map();
        let shapes = d.shapes.iter().map(|s| {
            let attrs = s.attributes();
            let get = |k: &str| attrs.iter().find(|(a, _)| *a == k).map(|(_, v)| v.clone()).unwrap_or_default();
            match s {
                map::Shape::Rect { x, y, w, h, kind } => html! {
                    <rect class={kind.class()} x={x.to_string()} y={y.to_string()} width={w.to_string()} height={h.to_string()}
                        fill={get("fill")} stroke={get("stroke")} rx={get("rx")} />
                },
                map::Shape::Line { x1, y1, x2, y2, kind } => html! {
                    <line class={kind.class()} x1={x1.to_string()} y1={y1.to_string()} x2={x2.to_string()} y2={y2.to_string()}
                        stroke={get("stroke")} stroke-width={get("stroke-width")} stroke-dasharray={get("stroke-dasharray")} />
                },
                map::Shape::Text { x, y, text, kind } => html! {
                    <text class={kind.class()} x={x.to_string()} y={y.to_string()} fill={get("fill")}
                        font-family={get("font-family")} font-size={get("font-size")} font-weight={get("font-weight")}>{ text }</text>
                },
            }
        });
        let view_box = format!("0 0 {} {}", d.width, d.height);
        html! {
            <section id="docker-map" class="map">
                <h3>{ "Map" }</h3>
                <button class="export-svg" onclick={ctx.link().callback(|_| Msg::ExportMap)}>{ "Export map (SVG)" }</button>
                <div class="map-scroll">
                    <svg xmlns="http://www.w3.org/2000/svg" width={d.width.to_string()} height={d.height.to_string()} viewBox={view_box}
                        role="img" aria-label="Map of the containers, their networks and the host">
                        { for shapes }
                    </svg>
                </div>
            </section>
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
    fn a_demo_is_a_plain_file_in_demo() {
        use super::super::Demo;
        let demo = |file: &str| Demo {
            file: file.into(),
            title: String::new(),
        };
        assert_eq!(
            demo("deb12-6.1-docker.lime").url().as_deref(),
            Some("demo/deb12-6.1-docker.lime")
        );
        for bad in ["", "../x.lime", ".hidden", "a/b.lime", "https://x/y", "a b"] {
            assert_eq!(demo(bad).url(), None, "{bad:?}");
        }
    }

    #[test]
    fn typed_options_become_values_or_say_why_not() {
        use super::super::export_name;
        use super::parse_option;
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
