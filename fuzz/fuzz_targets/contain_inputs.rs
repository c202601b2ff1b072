//! Any text as what `netsec contain` reads from users: an assets file
//! (TOML) and saved findings (`findings.jsonl`, one document per line); the
//! findings that parse are planned against the conversations they list and
//! rendered for every target. Errors are fine; panics are not.
#![no_main]
use libfuzzer_sys::fuzz_target;
use netsec_contain::firewall::{
    plan, render, verify, Assets, Conversations, PlanConfig, RenderOptions, Target,
};
use netsec_model::ecs::FindingDocument;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let assets = Assets::from_toml(&text, "fuzz").unwrap_or_default();
    let findings: Vec<_> = text
        .lines()
        .take(16)
        .filter_map(|l| FindingDocument::parse(l).ok())
        .collect();
    if findings.is_empty() {
        return;
    }
    let mut table = Conversations::with_capacity(64);
    let p = plan(&findings, &mut table, &assets, &PlanConfig::default());
    let _ = verify(&p, &table);
    for target in Target::ALL {
        let _ = render(&p, target, &RenderOptions::default());
    }
});
