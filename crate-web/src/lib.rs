//! memscope in the browser. The library holds the page ([`app`]); binaries mount it. The worker that will
//! read the capture comes next as a second binary over this same library (the Yew web-worker layout), so
//! the UI and the worker share message types without sharing state.

pub mod app;
