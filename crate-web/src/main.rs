//! The memscope page. Everything lives in the library's [`memscope_web::app`]; this binary only mounts it.
//!
//! On the host (`cargo check`, `cargo clippy --workspace`) the crate compiles but `main` does nothing:
//! the page only runs in a browser, built by trunk for wasm32-unknown-unknown.

fn main() {
    #[cfg(target_arch = "wasm32")]
    {
        // Mount into <div id="app"> so the rest of index.html (the boot-error line) stays; Yew replaces
        // whatever its root holds.
        let root = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.get_element_by_id("app"));
        match root {
            Some(root) => yew::Renderer::<memscope_web::app::App>::with_root(root).render(),
            None => yew::Renderer::<memscope_web::app::App>::new().render(),
        };
    }
}
