//! TLS security for netsec: what each certificate says ([`certificate`]),
//! and the fingerprints of handshakes, JA3 and
//! JA3S (Salesforce's, MD5 of the decimal field lists, GREASE removed) and
//! JA4 and JA4S (FoxIO's), computed as Suricata 8 computes them, so the
//! values in netsec's `tls.jsonl` match Suricata's `eve.json` and the
//! blocklists built on them.
//!
//! Every parsed certificate also gets FoxIO's JA4X
//! ([`fingerprint::ja4x`]).
//!
//! [`enrich`] completes a TLS event in place; `netsec analyze` hands it to
//! the pipeline (`netsec_analyze::Analysis::event_enricher`), so every
//! ClientHello and ServerHello is logged and analysed with its
//! fingerprints.
//!
//! # Example
//!
//! ```
//! use netsec_model::ClientHello;
//! use netsec_tls::fingerprint::{ja3, ja4};
//!
//! let hello = ClientHello {
//!     version: 0x0303,
//!     cipher_suites: vec![0x0a0a, 0x1301, 0xc02f],      // GREASE first
//!     extensions: vec![0x0000, 0x000a, 0x000b, 0x0010, 0x000d],
//!     server_name: Some("example.com".into()),
//!     supported_groups: vec![0x001d, 0x0017],
//!     ec_point_formats: vec![0],
//!     alpn: vec!["h2".into()],
//!     signature_algorithms: vec![0x0403],
//!     supported_versions: vec![0x0304, 0x0303],
//!     ..ClientHello::default()
//! };
//! assert_eq!(ja3(&hello), "771,4865-49199,0-10-11-16-13,29-23,0");
//! assert!(ja4(&hello, false).starts_with("t13d0205h2_"));
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod active;
pub mod audit;
pub mod blocklist;
pub mod certificate;
pub mod fingerprint;

pub use audit::{TlsAuditConfig, TlsAuditor};
pub use blocklist::{Blocklist, BlocklistError, FingerprintKind};

use netsec_model::{AppEvent, TlsMessage, Transport};

/// Add the fingerprints to a TLS ClientHello or ServerHello event (other
/// events are left alone).
pub fn enrich(event: &mut AppEvent) {
    let AppEvent::Tls(tls) = event else {
        return;
    };
    let quic = tls.ctx.transport == Transport::Udp;
    match &mut tls.message {
        TlsMessage::ClientHello(ch) => {
            let string = fingerprint::ja3(ch);
            ch.ja3_hash = Some(fingerprint::md5_hex(&string));
            ch.ja3 = Some(string);
            ch.ja4 = Some(fingerprint::ja4(ch, quic));
        }
        TlsMessage::ServerHello(sh) => {
            let string = fingerprint::ja3s(sh);
            sh.ja3s_hash = Some(fingerprint::md5_hex(&string));
            sh.ja3s = Some(string);
            sh.ja4s = Some(fingerprint::ja4s(sh, quic));
        }
        TlsMessage::Certificate {
            chain,
            certificates,
        } => {
            if certificates.is_empty() {
                // A certificate that does not parse stays out (counted by
                // its absence: the chain keeps its DER).
                certificates.extend(chain.iter().filter_map(|der| certificate::parse(der)));
            }
        }
    }
}
