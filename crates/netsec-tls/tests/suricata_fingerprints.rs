#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! The fingerprints and certificate fields netsec computes are the ones
//! Suricata logs: for every TLS capture of suricata-verify whose test names a
//! JA3, JA3S or JA4 value or a certificate's subject, issuer, serial, SHA-1
//! fingerprint or validity (copied into testdata/tls by
//! scripts/tls_fingerprint_expectations.py, with the values in
//! testdata/tls/expected.json), each expected value is among those netsec
//! gives that capture's handshakes (for certificates, the leaf's).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use netsec_analyze::{Analysis, Input};
use netsec_model::{Analyzer, AppEvent, FindingSink, Interests, TlsMessage};

type Seen = Arc<Mutex<BTreeMap<&'static str, BTreeSet<String>>>>;

struct Fingerprints(Seen);

impl Analyzer for Fingerprints {
    fn name(&self) -> &'static str {
        "fingerprints"
    }
    fn interests(&self) -> Interests {
        Interests {
            events: true,
            ..Interests::NONE
        }
    }
    fn on_event(&mut self, e: &AppEvent, _out: &mut dyn FindingSink) {
        let AppEvent::Tls(t) = e else { return };
        let mut seen = self.0.lock().unwrap();
        let mut add = |k: &'static str, v: &Option<String>| {
            if let Some(v) = v {
                seen.entry(k).or_default().insert(v.clone());
            }
        };
        match &t.message {
            TlsMessage::ClientHello(ch) => {
                add("ja3_string", &ch.ja3);
                add("ja3_hash", &ch.ja3_hash);
                add("ja4", &ch.ja4);
            }
            TlsMessage::ServerHello(sh) => {
                add("ja3s_string", &sh.ja3s);
                add("ja3s_hash", &sh.ja3s_hash);
            }
            TlsMessage::Certificate { certificates, .. } => {
                if let Some(leaf) = certificates.first() {
                    // Suricata writes validity as `2015-02-12T18:07:27`.
                    let day_time = |t: &Option<netsec_model::Timestamp>| {
                        t.map(|t| t.to_string().chars().take(19).collect::<String>())
                    };
                    add("subject", &Some(leaf.subject.clone()));
                    add("issuer", &Some(leaf.issuer.clone()));
                    add("serial", &Some(leaf.serial.clone()));
                    add("sha1", &Some(leaf.sha1.clone()));
                    add("not_before", &day_time(&leaf.not_before));
                    add("not_after", &day_time(&leaf.not_after));
                }
            }
        }
    }
}

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/tls")
}

#[test]
fn fingerprints_and_certificates_equal_suricatas() {
    let expected: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir().join("expected.json")).unwrap()).unwrap();
    let expected = expected.as_object().unwrap();
    assert!(expected.len() >= 10, "{} captures", expected.len());
    let mut checked = 0;
    let mut differences = Vec::new();
    for (name, values) in expected {
        let seen = Seen::default();
        Analysis::new()
            .input(Input::path(dir().join(format!("{name}.pcap"))))
            .threads(1)
            .event_enricher(Arc::new(netsec_tls::enrich))
            .analyzer(Box::new(Fingerprints(Arc::clone(&seen))))
            .run()
            .unwrap();
        let seen = seen.lock().unwrap();
        for (kind, wanted) in values.as_object().unwrap() {
            if kind == "tests" {
                continue;
            }
            for w in wanted.as_array().unwrap() {
                let w = w.as_str().unwrap();
                checked += 1;
                if !seen.get(kind.as_str()).is_some_and(|s| s.contains(w)) {
                    differences.push(format!(
                        "{name}: Suricata logs {kind} {w}; netsec: {:?}",
                        seen.get(kind.as_str())
                    ));
                }
            }
        }
    }
    assert!(checked >= 60, "only {checked} values checked");
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}
