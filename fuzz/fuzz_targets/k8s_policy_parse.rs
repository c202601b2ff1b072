//! Any text as manifests: loading warns, reachability runs, never panics.
#![no_main]
use libfuzzer_sys::fuzz_target;
use netsec_contain::k8s::{connections, load_str, Cluster};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let mut c = Cluster::default();
        load_str(&mut c, text, "fuzz.yaml");
        if c.workloads.len() <= 16 && c.policies.len() <= 16 {
            let _ = connections(&c);
        }
    }
});
