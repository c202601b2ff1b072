#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! The passive TLS audit on real captures (suricata-verify's, and the
//! project's sample): each weakness is found where the handshake shows it,
//! with the evidence naming the server, and nothing is said of sound ones.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use netsec_analyze::{Analysis, Input};
use netsec_model::{EntityValue, Finding};
use netsec_tls::{TlsAuditConfig, TlsAuditor};

fn path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata")
        .join(name)
}

fn audit(name: &str) -> Vec<Finding> {
    let (_, findings) = Analysis::new()
        .input(Input::path(path(name)))
        .threads(1)
        .event_enricher(Arc::new(netsec_tls::enrich))
        .analyzer(Box::new(TlsAuditor::new(TlsAuditConfig::default())))
        .run_with_findings()
        .unwrap();
    findings
}

fn audit_with(name: &str, list: &str) -> Vec<Finding> {
    let mut blocklist = netsec_tls::Blocklist::default();
    blocklist.add_text(list, "test.list").unwrap();
    let (_, findings) = Analysis::new()
        .input(Input::path(path(name)))
        .threads(1)
        .event_enricher(Arc::new(netsec_tls::enrich))
        .analyzer(Box::new(
            TlsAuditor::new(TlsAuditConfig::default()).with_blocklist(blocklist),
        ))
        .run_with_findings()
        .unwrap();
    findings
}

fn kinds(findings: &[Finding]) -> Vec<&str> {
    let mut v: Vec<&str> = findings.iter().map(|f| f.kind.as_str()).collect();
    v.sort_unstable();
    v
}

fn server_of(f: &Finding) -> String {
    f.entities
        .iter()
        .find_map(|e| match &e.value {
            EntityValue::Service { endpoint, .. } => Some(endpoint.to_string()),
            _ => None,
        })
        .unwrap_or_default()
}

#[test]
fn rc4_over_tls_1_0_is_reported() {
    let f = audit("tls/tls_tls-pre-1970.pcap");
    assert_eq!(kinds(&f), ["tls_weak_cipher", "tls_weak_protocol"]);
    let cipher = f.iter().find(|f| f.kind == "tls_weak_cipher").unwrap();
    assert!(cipher
        .evidence
        .facts
        .contains(&("weakness".into(), "RC4".into())));
    assert!(server_of(cipher).ends_with(":443"), "{}", server_of(cipher));
    assert_eq!(cipher.mitre, ["T1557", "T1040"]);
}

#[test]
fn an_expired_certificate_is_reported_against_the_capture_time() {
    // Real malware traffic (Glupteba): TLS 1.0 and a certificate that had
    // expired 399 days before the session.
    let f = audit("tls/tls_tls-glupteba.pcap");
    assert_eq!(kinds(&f), ["tls_certificate_expired", "tls_weak_protocol"]);
    let expired = f
        .iter()
        .find(|f| f.kind == "tls_certificate_expired")
        .unwrap();
    let days = expired
        .evidence
        .measurements
        .iter()
        .find(|m| m.name == "days_expired")
        .unwrap();
    assert!((398.0..400.0).contains(&days.value), "{}", days.value);
}

#[test]
fn a_self_signed_certificate_is_reported() {
    let f = audit("tls/ja4-tls.pcap");
    assert_eq!(kinds(&f), ["tls_self_signed_certificate"]);
    assert!(f[0].evidence.summary.contains("CN=SELKS"));
}

#[test]
fn sound_handshakes_say_nothing() {
    // TLS 1.3 clients and servers of every draft, and a modern TLS 1.3
    // session with a proper chain.
    for name in [
        "tls/tls_tls13-draft14.pcap",
        "tls/tls_tls13-draft19.pcap",
        "tls/tls_tls13-draft28.pcap",
        "tls/ja4-rules.pcap",
        "tls/tls_tls-certs-alert.pcap",
    ] {
        let f = audit(name);
        assert!(f.is_empty(), "{name}: {:?}", kinds(&f));
    }
    // The sample's HTTPS server: TLS 1.2 and 1.3 with a self-signed
    // certificate for the name asked; only that is said.
    assert_eq!(
        kinds(&audit("sample.pcap")),
        ["tls_self_signed_certificate"]
    );
}

#[test]
fn blocklisted_fingerprints_are_reported_with_the_list() {
    // The sample's curl (JA3 87b9bfc7…) listed, and the SELKS certificate's
    // SHA-1 in another capture.
    let listed = audit_with(
        "sample.pcap",
        "ja3:87b9bfc7da97115ed2276737b09f8d74 test-family\n",
    );
    let hit: Vec<&Finding> = listed
        .iter()
        .filter(|f| f.kind == "tls_blocklisted_fingerprint")
        .collect();
    assert_eq!(hit.len(), 1, "{:?}", kinds(&listed));
    assert!(hit[0]
        .evidence
        .facts
        .contains(&("blocklist_name".into(), "test-family".into())));
    assert!(hit[0].title.contains("10.252.0.10"), "{}", hit[0].title);
    let cert = audit_with(
        "tls/ja4-tls.pcap",
        "sha1:3a:0b:3b:23:15:2c:44:5c:27:ac:6a:0c:41:d6:fa:74:af:b4:09:5b SELKS\n",
    );
    assert!(cert.iter().any(|f| f.kind == "tls_blocklisted_fingerprint"));
    // Fingerprints not on the list say nothing.
    let other = audit_with("sample.pcap", "ja3:00000000000000000000000000000000\n");
    assert!(!other
        .iter()
        .any(|f| f.kind == "tls_blocklisted_fingerprint"));
}

/// The chain `name` shows first, as DER certificates.
fn first_chain(name: &str) -> Vec<Vec<u8>> {
    use netsec_model::{Analyzer, AppEvent, FindingSink, TlsMessage};
    use std::sync::Mutex;
    struct Grab(Arc<Mutex<Vec<Vec<u8>>>>);
    impl Analyzer for Grab {
        fn name(&self) -> &'static str {
            "grab"
        }
        fn on_event(&mut self, e: &AppEvent, _out: &mut dyn FindingSink) {
            if let AppEvent::Tls(t) = e {
                if let TlsMessage::Certificate { chain, .. } = &t.message {
                    let mut kept = self.0.lock().unwrap();
                    if kept.is_empty() {
                        kept.extend(chain.iter().cloned());
                    }
                }
            }
        }
    }
    let kept = Arc::new(Mutex::new(Vec::new()));
    Analysis::new()
        .input(Input::path(path(name)))
        .threads(1)
        .analyzer(Box::new(Grab(Arc::clone(&kept))))
        .run()
        .unwrap();
    let chain = kept.lock().unwrap().clone();
    chain
}

fn audit_trusting(name: &str, roots: &Arc<rustls::RootCertStore>) -> Vec<Finding> {
    let (_, findings) = Analysis::new()
        .input(Input::path(path(name)))
        .threads(1)
        .event_enricher(Arc::new(netsec_tls::enrich))
        .analyzer(Box::new(
            TlsAuditor::new(TlsAuditConfig::default()).with_trust_anchors(roots),
        ))
        .run_with_findings()
        .unwrap();
    findings
}

#[test]
fn chains_are_judged_against_the_trust_anchors_given() {
    // www.example.org's 2019 chain ends at DigiCert Global Root CA, which
    // Mozilla's store (webpki-roots 1.x) no longer holds for TLS.
    let capture = "tls/tls_tls-certs-alert.pcap";
    let chain = first_chain(capture);
    assert_eq!(chain.len(), 3);
    let mozilla = netsec_tls::active::chain::roots(None).unwrap();
    let findings = audit_trusting(capture, &mozilla);
    let untrusted: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.kind == "tls_untrusted_chain")
        .collect();
    assert_eq!(untrusted.len(), 1, "{findings:#?}");
    assert!(untrusted[0].evidence.summary.contains("UnknownIssuer"));
    // Trusting that root (the chain's own last certificate), the same chain
    // validates at the capture's time: nothing to say.
    let mut store = rustls::RootCertStore::empty();
    store
        .add(rustls::pki_types::CertificateDer::from(chain[2].clone()))
        .unwrap();
    let trusted = audit_trusting(capture, &Arc::new(store));
    assert!(
        !trusted.iter().any(|f| f.kind == "tls_untrusted_chain"),
        "{trusted:#?}"
    );
}
