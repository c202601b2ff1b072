//! Any bytes as a banner or probe answer, and any text as target/port specs.
#![no_main]
use libfuzzer_sys::fuzz_target;
use netsec_scan::service::{identify, Probe};

fuzz_target!(|data: &[u8]| {
    for probe in [Probe::Null, Probe::Http, Probe::Redis, Probe::Postgres] {
        let _ = identify(data, 21, probe);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = netsec_scan::targets::parse_ports(text);
        // Hostname resolution is skipped: only literal forms are fuzzed.
        if !text.chars().any(|c| c.is_ascii_alphabetic()) {
            let _ = netsec_scan::targets::expand_target(text);
        }
    }
});
