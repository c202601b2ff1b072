//! Any text as manifests: loading warns, reachability, the audit (with its
//! shadowed-rule search), address mapping and policy suggestion run, and
//! nothing panics. The same text is also read as an address mapping file.
#![no_main]
use libfuzzer_sys::fuzz_target;
use netsec_contain::k8s::traffic::{suggest_policies, to_yaml, AddressMap};
use netsec_contain::k8s::{audit, connections, load_str, Cluster};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let mut c = Cluster::default();
        load_str(&mut c, text, "fuzz.yaml");
        let mut map = AddressMap::from_cluster(&c);
        let _ = map.add_mapping_text(text, "fuzz.map");
        // Reachability is quadratic in workloads and linear in rules: keep
        // the cluster small so each input stays fast.
        if c.workloads.len() <= 16 && c.policies.len() <= 16 && c.admin.len() <= 8 {
            let _ = connections(&c);
            let _ = audit(&c);
            let _ = to_yaml(&suggest_policies(&c, &Default::default()));
        }
    }
});
