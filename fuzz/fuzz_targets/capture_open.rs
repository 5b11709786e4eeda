//! Any bytes as a capture file: detection, range mapping and physical reads must never panic or hang.
#![no_main]

use libfuzzer_sys::fuzz_target;
use memscope_core::formats::Capture;

fuzz_target!(|data: &[u8]| {
    if let Ok(capture) = Capture::open(Box::new(data.to_vec())) {
        let mut buf = [0u8; 64];
        for seg in capture.segments().iter().take(16) {
            let _ = capture.read_phys(seg.phys_start, &mut buf);
            let _ = capture.read_phys(seg.phys_end().saturating_sub(32), &mut buf);
        }
    }
});
