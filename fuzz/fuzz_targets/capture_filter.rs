//! Any text as a filter expression: parse errors, never panics (deep nesting included).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = netsec_capture::Filter::parse(text);
    }
});
