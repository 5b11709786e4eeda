//! The session as one self-contained HTML file: the overview, the warnings and every analysis's table,
//! with its own style and no script, so a colleague opens it without the app. Every text from memory is
//! escaped here (this file is written as text, not rendered by Yew).

use serde_json::Value;

/// Escape text for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The text of an overview value: a list of objects a line each (`key value, key value`), anything else
/// as its table cell.
pub fn value_text(v: &Value) -> String {
    match v {
        Value::Array(items) if items.iter().all(Value::is_object) => items
            .iter()
            .map(|item| {
                memscope_core::export::flatten(item)
                    .iter()
                    .map(|(k, v)| format!("{k} {v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .collect::<Vec<_>>()
            .join("\n"),
        other => memscope_core::export::cell(other),
    }
}

/// One table of the report.
pub struct Section<'a> {
    pub title: &'a str,
    pub description: &'a str,
    /// The options it ran with, as CLI flags (empty: defaults).
    pub options: &'a str,
    pub columns: &'a [&'a str],
    pub cells: &'a [Vec<String>],
    pub warnings: &'a [String],
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:1.5rem;color:#1b1f24}\
h1{color:#1f3b57}table{border-collapse:collapse;font-family:ui-monospace,monospace;font-size:12px}\
th,td{border:1px solid #ccd;padding:2px 6px;text-align:left;vertical-align:top}\
th{background:#eef}.warn{color:#b3261e}.muted{color:#5b6570}";

/// The report for the capture `source`, its `info` object, the session's warnings and its tables.
pub fn html(source: &str, info: &Value, warnings: &[String], sections: &[Section<'_>]) -> String {
    let mut out = String::new();
    out.push_str("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    out.push_str(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">",
    );
    out.push_str(&format!(
        "<title>memscope report: {}</title><style>{STYLE}</style></head><body>\n",
        escape(source)
    ));
    out.push_str(&format!(
        "<h1>memscope report</h1><p class=\"muted\">Capture: {}</p>\n",
        escape(source)
    ));
    out.push_str("<h2>Overview</h2><table>");
    if let Some(map) = info.as_object() {
        for (k, v) in map {
            let text = value_text(v);
            out.push_str(&format!(
                "<tr><th>{}</th><td>{}</td></tr>",
                escape(&k.replace('_', " ")),
                escape(&text).replace('\n', "<br>")
            ));
        }
    }
    out.push_str("</table>\n<h2>Warnings</h2>");
    if warnings.is_empty() {
        out.push_str("<p class=\"muted\">No warnings.</p>");
    } else {
        out.push_str("<ul>");
        for w in warnings {
            out.push_str(&format!("<li class=\"warn\">{}</li>", escape(w)));
        }
        out.push_str("</ul>");
    }
    for s in sections {
        let options = if s.options.is_empty() {
            String::new()
        } else {
            format!(" — options: {}", escape(s.options))
        };
        out.push_str(&format!(
            "\n<h2>{}</h2><p class=\"muted\">{} — {} rows{options}</p>",
            escape(s.title),
            escape(s.description),
            s.cells.len()
        ));
        for w in s.warnings {
            out.push_str(&format!("<p class=\"warn\">{}</p>", escape(w)));
        }
        out.push_str("<table><thead><tr>");
        for c in s.columns {
            out.push_str(&format!("<th>{}</th>", escape(c)));
        }
        out.push_str("</tr></thead><tbody>\n");
        for row in s.cells {
            out.push_str("<tr>");
            for c in row {
                out.push_str(&format!("<td>{}</td>", escape(c)));
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</tbody></table>");
    }
    out.push_str("\n</body></html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn memory_text_is_escaped() {
        let evil = "<script>alert(1)</script>\"'&".to_string();
        let cells = vec![vec![evil.clone()]];
        let warnings = vec![evil.clone()];
        let page = html(
            &evil,
            &json!({"hostname": evil}),
            &warnings,
            &[Section {
                title: "Processes",
                description: "d",
                options: "--pid 1",
                columns: &["comm"],
                cells: &cells,
                warnings: &warnings,
            }],
        );
        assert!(!page.contains("<script>"), "{page}");
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;"));
        assert_eq!(page.matches("<table>").count(), 2);
        assert!(page.contains("1 rows — options: --pid 1"));
    }
}
