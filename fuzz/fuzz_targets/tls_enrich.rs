//! Any bytes as TLS handshake messages and certificates, through netsec-tls:
//! the ClientHello/ServerHello parsers of netsec-proto, the JA3/JA4
//! fingerprints, the certificate reader (x509-parser) and the passive audit.
//! The first byte picks the message; nothing may panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use netsec_model::{
    Analyzer, AppEvent, Direction, Endpoint, EventContext, Finding, FlowId, Timestamp, TlsEvent,
    TlsMessage, Transport,
};
use netsec_proto::app::tls::parser;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let message = match selector % 3 {
        0 => match parser::client_hello(body, 0x0301) {
            Some(ch) => TlsMessage::ClientHello(ch),
            None => return,
        },
        1 => match parser::server_hello(body, 0x0303) {
            Some((sh, _)) => TlsMessage::ServerHello(sh),
            None => return,
        },
        _ => TlsMessage::Certificate {
            // The body as one DER certificate, and split in two.
            chain: vec![body.to_vec(), body.get(body.len() / 2..).unwrap_or_default().to_vec()],
            certificates: Vec::new(),
        },
    };
    let ip = |a: u8| std::net::IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, a));
    let mut event = AppEvent::Tls(TlsEvent {
        ctx: EventContext {
            ts: Timestamp::from_secs_nanos(1_700_000_000, 0),
            packet_number: 1,
            flow_id: Some(FlowId(1)),
            community_id: None,
            src: Endpoint::new(ip(1), 40_000),
            dst: Endpoint::new(ip(2), 443),
            transport: if selector & 0x80 != 0 { Transport::Udp } else { Transport::Tcp },
            direction: Direction::ToServer,
        },
        message,
    });
    netsec_tls::enrich(&mut event);
    let mut audit = netsec_tls::TlsAuditor::new(netsec_tls::TlsAuditConfig::default());
    let mut out: Vec<Finding> = Vec::new();
    audit.on_event(&event, &mut out);
    audit.finish(&mut out);
    let _ = serde_json::to_string(&netsec_model::ecs::EventDocument(&event));
});
