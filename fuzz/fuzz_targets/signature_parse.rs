//! Any text as a rules file: the signature parser (header, options, pcre
//! checks, variables, continuation lines) must give errors, never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use netsec_detect::signature::{RuleConfig, RuleSet};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut set = RuleSet::new(RuleConfig::default());
    set.add_text(&text, std::path::Path::new("fuzz.rules"));
    for file in &set.files {
        for skipped in &file.skipped {
            let _ = skipped.to_string();
        }
    }
    let mut config = RuleConfig::default();
    for line in text.lines().take(4) {
        let _ = config.set_var(line);
    }
});
