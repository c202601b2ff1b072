//! An analyser keeping the TLS Certificate events of a run (shared by
//! tests/ja4x.rs and benches/handshake.rs).

#![allow(dead_code, clippy::unwrap_used)]

use std::sync::{Arc, Mutex};

use netsec_model::{Analyzer, AppEvent, FindingSink, Interests, TlsMessage};

/// Keeps every TLS Certificate event, in order.
pub struct CertificateEvents(pub Arc<Mutex<Vec<AppEvent>>>);

impl Analyzer for CertificateEvents {
    fn name(&self) -> &'static str {
        "certificate_events"
    }
    fn interests(&self) -> Interests {
        Interests {
            events: true,
            ..Interests::NONE
        }
    }
    fn on_event(&mut self, event: &AppEvent, _out: &mut dyn FindingSink) {
        if let AppEvent::Tls(t) = event {
            if matches!(t.message, TlsMessage::Certificate { .. }) {
                self.0.lock().unwrap().push(event.clone());
            }
        }
    }
}
