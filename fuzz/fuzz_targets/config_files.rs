//! Any text as the files a user hands netsec: the detection configuration
//! (TOML, with `--set key=value` overrides), TLS blocklists and DNS threat
//! lists (plain, hosts, CSV, STIX), and baseline files (JSON, from `netsec
//! baseline learn`, read by `--baseline`). Errors are
//! fine; panics are not.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(mut config) = netsec_detect::DetectConfig::from_toml(&text) {
        let _ = netsec_detect::default_analyzers(&config);
        for line in text.lines().take(8) {
            let _ = config.set(line);
        }
    }
    let mut config = netsec_detect::DetectConfig::default();
    for line in text.lines().take(8) {
        let _ = config.set(line);
    }
    let mut list = netsec_tls::Blocklist::default();
    let _ = list.add_text(&text, "fuzz");
    let _ = list.find(netsec_tls::FingerprintKind::Ja3, &text);
    let mut intel = netsec_dns::IntelLists::default();
    let _ = intel.add_text(&text, "fuzz");
    for line in text.lines().take(8) {
        let _ = intel.domain(line);
        if let Ok(ip) = line.trim().parse() {
            let _ = intel.address(ip);
        }
    }
    let _ = netsec_dns::DnsConfig::from_netsec_toml(&text);
    if let Ok(baseline) = netsec_detect::baseline::Baseline::from_json(&text) {
        let _ = baseline.to_json();
        let _ = netsec_detect::baseline::BaselineDetector::new(
            Default::default(),
            Default::default(),
            std::sync::Arc::new(baseline),
        );
    }
});
