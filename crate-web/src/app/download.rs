//! Saving what the page made (exports, the report, files the worker wrote) as downloads: a Blob, an object
//! URL (gloo's, revoked when dropped), a clicked `<a download>`.

use gloo_file::{Blob, ObjectUrl};
use wasm_bindgen::JsCast;

/// Save `text` as `NAME.FORMAT`.
pub fn download(name: &str, format: &str, text: &str) {
    let kind = match format {
        "csv" => "text/csv",
        "html" => "text/html",
        _ => "application/json",
    };
    save(&format!("{name}.{format}"), Blob::new_with_options(text, Some(kind)));
}

/// Save `bytes` (a `Uint8Array` from the worker) as the file `file_name`.
pub fn save_bytes(file_name: &str, bytes: &js_sys::Uint8Array) {
    save(
        file_name,
        Blob::new_with_options(&bytes.to_vec()[..], Some("application/octet-stream")),
    );
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
