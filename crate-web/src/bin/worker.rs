//! The worker binary (trunk: `data-type="worker"`): runs the core over the capture, see
//! [`memscope_web::worker`]. On the host it compiles to nothing.

fn main() {
    #[cfg(target_arch = "wasm32")]
    memscope_web::worker::start();
}
