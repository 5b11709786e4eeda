//! Saving what the page made (exports, the report, files the worker wrote) as downloads: a Blob, an object
//! URL (gloo's, revoked when dropped), a clicked `<a download>`.

use gloo_file::{Blob, ObjectUrl};
use wasm_bindgen::JsCast;

/// Save `text` as `NAME.EXTENSION`, typed by the extension (JSON, CSV, HTML, SVG, else plain text).
pub fn download(name: &str, extension: &str, text: &str) {
    let kind = match extension {
        "csv" => "text/csv",
        "html" => "text/html",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        _ => "text/plain",
    };
    save(&format!("{name}.{extension}"), Blob::new_with_options(text, Some(kind)));
}

/// Save what the worker sent (a `Uint8Array`, or a `Blob` it assembled) as the file `file_name`.
pub fn save_bytes(file_name: &str, bytes: wasm_bindgen::JsValue) {
    let blob = match bytes.dyn_into::<web_sys::Blob>() {
        Ok(blob) => Blob::from(blob),
        Err(bytes) => Blob::new_with_options(
            &js_sys::Uint8Array::new(&bytes).to_vec()[..],
            Some("application/octet-stream"),
        ),
    };
    save(file_name, blob);
}

fn save(file_name: &str, blob: Blob) {
    let url = ObjectUrl::from(blob);
    let anchor = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.create_element("a").ok())
        .and_then(|a| a.dyn_into::<web_sys::HtmlAnchorElement>().ok());
    if let Some(a) = anchor {
        a.set_href(&url);
        a.set_download(file_name);
        a.click();
    }
}
