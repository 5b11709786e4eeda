//! memscope in the browser: the page ([`app`], the `memscope-web` binary) and the worker that reads the
//! capture ([`worker`], the `worker` binary), speaking [`proto`] messages. [`table`] holds the page's
//! table logic and [`labels`] the containers marked on tables, [`map`] the containers' map, all tested on the host.

pub mod app;
pub mod decode;
pub mod labels;
pub mod map;
pub mod proto;
pub mod report;
pub mod table;
#[cfg(target_arch = "wasm32")]
pub mod worker;
