//! Any bytes as an answer to every probe of the bundled table (the banner
//! matchers, templates, HTTP title), any text as a probe file, and any text
//! as target/port specifications.
#![no_main]
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use netsec_scan::service::probes::ProbeTable;
use netsec_scan::service::{http_title, identify};

fn table() -> &'static ProbeTable {
    static T: OnceLock<ProbeTable> = OnceLock::new();
    T.get_or_init(ProbeTable::bundled)
}

fuzz_target!(|data: &[u8]| {
    let t = table();
    for probe in &t.probes {
        let _ = identify(t, probe, data);
    }
    let _ = http_title(data);
    if let Ok(text) = std::str::from_utf8(data) {
        // A probe file, and answers matched against its own rules.
        if let Ok(user) = ProbeTable::parse(text, "fuzz") {
            for probe in &user.probes {
                let _ = user.match_answer(probe, data);
            }
        }
        let _ = netsec_scan::targets::parse_ports(text);
        let _ = netsec_scan::targets::parse_target_list(text);
        // Hostname resolution is skipped: only literal forms are fuzzed.
        if !text.chars().any(|c| c.is_ascii_alphabetic()) {
            let _ = netsec_scan::targets::expand_target(text);
        }
    }
});
