//! Running a detector over a capture of testdata/dns/.

// Each test binary uses its own part of this module.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use netsec_analyze::{Analysis, Input};
use netsec_model::{Analyzer, EntityRole, EntityValue, Finding};

/// The findings of `analyzer` over `testdata/dns/NAME` (or
/// `$NETSEC_DNS_TESTDATA/NAME`), the last version of
/// each activity (findings are re-emitted with the same id as they grow).
pub fn run(name: &str, analyzer: Box<dyn Analyzer>) -> Vec<Finding> {
    run_threads(name, analyzer, 1)
}

/// [`run`] with `threads` workers.
pub fn run_threads(name: &str, analyzer: Box<dyn Analyzer>, threads: usize) -> Vec<Finding> {
    // NETSEC_DNS_TESTDATA: a folder recorded anew by scripts/record-dns.sh,
    // to check that the results hold on another recording.
    let folder = std::env::var_os("NETSEC_DNS_TESTDATA").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/dns"),
        PathBuf::from,
    );
    let path = folder.join(name);
    let (_, findings) = Analysis::new()
        .input(Input::path(path))
        .threads(threads)
        .analyzer(analyzer)
        .run_with_findings()
        .unwrap();
    let mut last: Vec<Finding> = Vec::new();
    for f in findings {
        match last.iter_mut().find(|g| g.id == f.id) {
            Some(g) => *g = f,
            None => last.push(f),
        }
    }
    last
}

/// The source host of a finding.
pub fn source(f: &Finding) -> Option<String> {
    f.entities_in(EntityRole::Source).find_map(|e| match e {
        EntityValue::Host { ip } => Some(ip.to_string()),
        _ => None,
    })
}

/// The related domains of a finding.
pub fn domains(f: &Finding) -> Vec<String> {
    f.entities_in(EntityRole::Related)
        .filter_map(|e| match e {
            EntityValue::Domain { name } => Some(name.clone()),
            _ => None,
        })
        .collect()
}

/// A fact of the evidence.
pub fn fact<'a>(f: &'a Finding, key: &str) -> Option<&'a str> {
    f.evidence
        .facts
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}
