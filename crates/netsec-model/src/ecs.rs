//! Elastic Common Schema (ECS 8.x) documents for flows, application events
//! and findings, so that netsec's JSON-lines logs load into Elasticsearch,
//! OpenSearch or any SIEM without mapping work.
//!
//! Each document is a borrowed view serialised with serde: writing a log
//! line builds no intermediate JSON tree. Standard ECS fields
//! (`source.ip`, `destination.port`, `network.transport`,
//! `network.community_id`, `event.start`, `dns.question.name`,
//! `http.request.method`, `tls.client.server_name`, `threat.technique.id`, …)
//! carry what ECS defines; everything else sits under `netsec.*`.
//!
//! ```
//! use std::net::{IpAddr, Ipv4Addr};
//! use netsec_model::*;
//! let ep = |a, p| Endpoint::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, a)), p);
//! let flow = FlowRecord {
//!     id: FlowId(1), community_id: "1:abc=".into(), client: ep(1, 40000), server: ep(2, 443),
//!     transport: Transport::Tcp, vlan: 0, time: TimeRange::at(Timestamp::from_secs_nanos(1, 0)),
//!     to_server: DirectionStats::default(), to_client: DirectionStats::default(),
//!     tcp_state: TcpState::Closed, app_proto: AppProto::Tls, end_reason: FlowEndReason::TcpClose,
//!     missing_bytes: 0,
//! };
//! let line = serde_json::to_string(&ecs::FlowDocument(&flow)).unwrap();
//! let doc: serde_json::Value = serde_json::from_str(&line).unwrap();
//! assert_eq!(doc["destination"]["port"], 443);
//! assert_eq!(doc["network"]["transport"], "tcp");
//! assert_eq!(doc["network"]["protocol"], "tls");
//! ```

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

use crate::event::{
    AppEvent, ArpInfo, DnsEvent, DnsRecord, EventContext, HttpEvent, HttpMessage, TlsMessage,
};
use crate::finding::{EntityRole, EntityValue, Finding};
use crate::flow::{Endpoint, FlowRecord};
use crate::packet::Transport;
use crate::time::Timestamp;

/// ECS version these documents follow.
pub const ECS_VERSION: &str = "8.11.0";

#[derive(Serialize)]
struct Ecs {
    version: &'static str,
}

const ECS: Ecs = Ecs {
    version: ECS_VERSION,
};

#[derive(Serialize)]
struct EventMeta<'a> {
    kind: &'static str,
    category: &'static [&'static str],
    #[serde(rename = "type")]
    kind_type: &'static [&'static str],
    dataset: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    start: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    end: Option<Timestamp>,
    /// ECS event.duration is in nanoseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    duration: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    severity: Option<u8>,
}

#[derive(Serialize)]
struct EndpointDoc {
    ip: std::net::IpAddr,
    #[serde(skip_serializing_if = "Option::is_none")]
    port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    packets: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bytes: Option<u64>,
}

impl EndpointDoc {
    fn new(ep: &Endpoint, transport: Transport) -> Self {
        EndpointDoc {
            ip: ep.ip,
            port: transport.has_ports().then_some(ep.port),
            packets: None,
            bytes: None,
        }
    }
}

#[derive(Serialize)]
struct Vlan {
    id: String,
}

#[derive(Serialize)]
struct Network<'a> {
    transport: &'static str,
    iana_number: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    protocol: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    community_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    packets: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    vlan: Option<Vlan>,
    #[serde(skip_serializing_if = "Option::is_none")]
    direction: Option<&'static str>,
}

/// A flow record as an ECS document (`event.dataset: netsec.flow`).
pub struct FlowDocument<'a>(pub &'a FlowRecord);

#[derive(Serialize)]
struct FlowExtra<'a> {
    flow_id: crate::flow::FlowId,
    tcp_state: crate::flow::TcpState,
    conn_state: &'static str,
    client: &'a crate::flow::DirectionStats,
    server: &'a crate::flow::DirectionStats,
    missing_bytes: u64,
}

impl Serialize for FlowDocument<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let f = self.0;
        let mut m = s.serialize_map(Some(8))?;
        m.serialize_entry("@timestamp", &f.time.start)?;
        m.serialize_entry("ecs", &ECS)?;
        m.serialize_entry(
            "event",
            &EventMeta {
                kind: "event",
                category: &["network"],
                kind_type: &["connection", "end"],
                dataset: "netsec.flow",
                start: Some(f.time.start),
                end: Some(f.time.end),
                duration: Some(f.duration().as_nanos()),
                reason: Some(end_reason_name(f.end_reason)),
                severity: None,
            },
        )?;
        let mut src = EndpointDoc::new(&f.client, f.transport);
        src.packets = Some(f.to_server.packets);
        src.bytes = Some(f.to_server.bytes);
        let mut dst = EndpointDoc::new(&f.server, f.transport);
        dst.packets = Some(f.to_client.packets);
        dst.bytes = Some(f.to_client.bytes);
        m.serialize_entry("source", &src)?;
        m.serialize_entry("destination", &dst)?;
        m.serialize_entry(
            "network",
            &Network {
                transport: f.transport.name(),
                iana_number: f.transport.ip_proto().to_string(),
                protocol: (f.app_proto != crate::flow::AppProto::Unknown)
                    .then(|| f.app_proto.name()),
                community_id: Some(&f.community_id),
                bytes: Some(f.bytes()),
                packets: Some(f.packets()),
                vlan: (f.vlan != 0).then(|| Vlan {
                    id: f.vlan.to_string(),
                }),
                direction: None,
            },
        )?;
        m.serialize_entry(
            "netsec",
            &FlowExtra {
                flow_id: f.id,
                tcp_state: f.tcp_state,
                conn_state: if f.transport == Transport::Tcp {
                    f.tcp_state.zeek_conn_state()
                } else {
                    "OTH"
                },
                client: &f.to_server,
                server: &f.to_client,
                missing_bytes: f.missing_bytes,
            },
        )?;
        m.end()
    }
}

fn end_reason_name(r: crate::flow::FlowEndReason) -> &'static str {
    use crate::flow::FlowEndReason::*;
    match r {
        IdleTimeout => "idle_timeout",
        ActiveTimeout => "active_timeout",
        TcpClose => "tcp_close",
        Evicted => "evicted",
        EndOfInput => "end_of_input",
    }
}

/// An application event as an ECS document (`event.dataset: netsec.dns`, `netsec.http`, …).
pub struct EventDocument<'a>(pub &'a AppEvent);

#[derive(Serialize)]
struct DnsQuestionDoc<'a> {
    name: &'a str,
    #[serde(rename = "type")]
    qtype: &'a str,
    class: &'static str,
}

#[derive(Serialize)]
struct DnsAnswerDoc<'a> {
    name: &'a str,
    #[serde(rename = "type")]
    rtype: &'a str,
    class: &'static str,
    ttl: u32,
    data: &'a str,
}

fn dns_class(c: u16) -> &'static str {
    match c {
        1 => "IN",
        3 => "CH",
        4 => "HS",
        255 => "ANY",
        _ => "OTHER",
    }
}

fn dns_rcode(r: u16) -> &'static str {
    // RFC 1035 §4.1.1, RFC 2136, RFC 6895 (IANA DNS RCODEs).
    match r {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        6 => "YXDOMAIN",
        7 => "YXRRSET",
        8 => "NXRRSET",
        9 => "NOTAUTH",
        10 => "NOTZONE",
        _ => "OTHER",
    }
}

fn dns_opcode(o: u8) -> &'static str {
    match o {
        0 => "QUERY",
        1 => "IQUERY",
        2 => "STATUS",
        4 => "NOTIFY",
        5 => "UPDATE",
        _ => "OTHER",
    }
}

struct DnsDoc<'a>(&'a DnsEvent);

impl Serialize for DnsDoc<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let d = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("id", &d.id.to_string())?;
        m.serialize_entry("type", if d.is_response { "answer" } else { "query" })?;
        m.serialize_entry("op_code", dns_opcode(d.opcode))?;
        if d.is_response {
            m.serialize_entry("response_code", dns_rcode(d.rcode))?;
        }
        let flags: Vec<String> = d.flags.iter().map(|f| f.to_ascii_uppercase()).collect();
        m.serialize_entry("header_flags", &flags)?;
        if let Some(q) = d.questions.first() {
            m.serialize_entry(
                "question",
                &DnsQuestionDoc {
                    name: &q.name,
                    qtype: &q.qtype,
                    class: dns_class(q.qclass),
                },
            )?;
        }
        if !d.answers.is_empty() {
            let answers: Vec<DnsAnswerDoc<'_>> = d.answers.iter().map(answer_doc).collect();
            m.serialize_entry("answers", &answers)?;
            let resolved: Vec<&str> = d
                .answers
                .iter()
                .filter(|a| a.rtype == "A" || a.rtype == "AAAA")
                .map(|a| a.data.as_str())
                .collect();
            if !resolved.is_empty() {
                m.serialize_entry("resolved_ip", &resolved)?;
            }
        }
        m.end()
    }
}

fn answer_doc(a: &DnsRecord) -> DnsAnswerDoc<'_> {
    DnsAnswerDoc {
        name: &a.name,
        rtype: &a.rtype,
        class: "IN",
        ttl: a.ttl,
        data: &a.data,
    }
}

#[derive(Serialize)]
struct HttpRequestDoc<'a> {
    method: &'a str,
}
#[derive(Serialize)]
struct HttpResponseDoc<'a> {
    status_code: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    mime_type: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<HttpBody>,
}
#[derive(Serialize)]
struct HttpBody {
    bytes: u64,
}

struct TlsDoc<'a>(&'a TlsMessage);

/// TLS protocol version number to ECS `tls.version` text.
fn tls_version(v: u16) -> Option<&'static str> {
    match v {
        0x0300 => Some("3.0"),
        0x0301 => Some("1.0"),
        0x0302 => Some("1.1"),
        0x0303 => Some("1.2"),
        0x0304 => Some("1.3"),
        _ => None,
    }
}

impl Serialize for TlsDoc<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        match self.0 {
            TlsMessage::ClientHello(ch) => {
                #[derive(Serialize)]
                struct Client<'a> {
                    #[serde(skip_serializing_if = "Option::is_none")]
                    server_name: Option<&'a str>,
                    supported_ciphers: Vec<String>,
                }
                m.serialize_entry(
                    "client",
                    &Client {
                        server_name: ch.server_name.as_deref(),
                        supported_ciphers: ch
                            .cipher_suites
                            .iter()
                            .map(|c| format!("0x{c:04x}"))
                            .collect(),
                    },
                )?;
                if let Some(v) = tls_version(ch.version) {
                    m.serialize_entry("version", v)?;
                    m.serialize_entry("version_protocol", "tls")?;
                }
            }
            TlsMessage::ServerHello(sh) => {
                let v = sh.selected_version.unwrap_or(sh.version);
                if let Some(v) = tls_version(v) {
                    m.serialize_entry("version", v)?;
                    m.serialize_entry("version_protocol", "tls")?;
                }
                m.serialize_entry("cipher", &format!("0x{:04x}", sh.cipher_suite))?;
                if let Some(alpn) = &sh.alpn {
                    m.serialize_entry("next_protocol", alpn)?;
                }
            }
            TlsMessage::Certificate { chain } => {
                #[derive(Serialize)]
                struct Server {
                    certificate_chain_length: usize,
                }
                m.serialize_entry(
                    "server",
                    &Server {
                        certificate_chain_length: chain.len(),
                    },
                )?;
            }
        }
        m.end()
    }
}

impl Serialize for EventDocument<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let ev = self.0;
        let ctx: &EventContext = ev.context();
        let kind = ev.kind();
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("@timestamp", &ctx.ts)?;
        m.serialize_entry("ecs", &ECS)?;
        let dataset = match kind {
            "dns" => "netsec.dns",
            "http" => "netsec.http",
            "tls" => "netsec.tls",
            "ssh" => "netsec.ssh",
            "smb" => "netsec.smb",
            "dhcp" => "netsec.dhcp",
            _ => "netsec.ntp",
        };
        m.serialize_entry(
            "event",
            &EventMeta {
                kind: "event",
                category: &["network"],
                kind_type: &["protocol"],
                dataset,
                start: None,
                end: None,
                duration: None,
                reason: None,
                severity: None,
            },
        )?;
        m.serialize_entry("source", &EndpointDoc::new(&ctx.src, ctx.transport))?;
        m.serialize_entry("destination", &EndpointDoc::new(&ctx.dst, ctx.transport))?;
        m.serialize_entry(
            "network",
            &Network {
                transport: ctx.transport.name(),
                iana_number: ctx.transport.ip_proto().to_string(),
                protocol: Some(kind),
                community_id: ctx.community_id.as_deref(),
                bytes: None,
                packets: None,
                vlan: None,
                direction: None,
            },
        )?;
        match ev {
            AppEvent::Dns(d) => m.serialize_entry("dns", &DnsDoc(d))?,
            AppEvent::Http(h) => serialize_http(&mut m, h)?,
            AppEvent::Tls(t) => m.serialize_entry("tls", &TlsDoc(&t.message))?,
            _ => {}
        }
        // The whole event, in netsec's own model, for what ECS has no field for.
        m.serialize_entry(
            "netsec",
            &NetsecEvent {
                flow_id: ctx.flow_id,
                packet: ctx.packet_number,
                direction: ctx.direction,
                event: ev,
            },
        )?;
        m.end()
    }
}

/// `netsec.*` of an event document: the join keys and the event itself,
/// serialised straight from the model (no intermediate JSON tree).
struct NetsecEvent<'a> {
    flow_id: Option<crate::flow::FlowId>,
    packet: u64,
    direction: crate::flow::Direction,
    event: &'a AppEvent,
}

impl Serialize for NetsecEvent<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        if let Some(id) = self.flow_id {
            m.serialize_entry("flow_id", &id)?;
        }
        m.serialize_entry("packet", &self.packet)?;
        m.serialize_entry("direction", &self.direction)?;
        let kind = self.event.kind();
        match self.event {
            AppEvent::Dns(e) => m.serialize_entry(kind, e)?,
            AppEvent::Http(e) => m.serialize_entry(kind, e)?,
            AppEvent::Tls(e) => m.serialize_entry(kind, e)?,
            AppEvent::Ssh(e) => m.serialize_entry(kind, e)?,
            AppEvent::Smb(e) => m.serialize_entry(kind, e)?,
            AppEvent::Dhcp(e) => m.serialize_entry(kind, e)?,
            AppEvent::Ntp(e) => m.serialize_entry(kind, e)?,
        }
        m.end()
    }
}

fn serialize_http<M: SerializeMap>(m: &mut M, h: &HttpEvent) -> Result<(), M::Error> {
    #[derive(Serialize)]
    struct Http<'a> {
        version: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        request: Option<HttpRequestDoc<'a>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        response: Option<HttpResponseDoc<'a>>,
    }
    match &h.message {
        HttpMessage::Request {
            method,
            uri,
            host,
            user_agent,
        } => {
            m.serialize_entry(
                "http",
                &Http {
                    version: &h.version,
                    request: Some(HttpRequestDoc { method }),
                    response: None,
                },
            )?;
            #[derive(Serialize)]
            struct Url<'a> {
                original: &'a str,
                #[serde(skip_serializing_if = "Option::is_none")]
                domain: Option<&'a str>,
            }
            m.serialize_entry(
                "url",
                &Url {
                    original: uri,
                    domain: host.as_deref(),
                },
            )?;
            if let Some(ua) = user_agent {
                #[derive(Serialize)]
                struct Ua<'a> {
                    original: &'a str,
                }
                m.serialize_entry("user_agent", &Ua { original: ua })?;
            }
        }
        HttpMessage::Response {
            status,
            content_type,
            content_length,
            ..
        } => {
            m.serialize_entry(
                "http",
                &Http {
                    version: &h.version,
                    request: None,
                    response: Some(HttpResponseDoc {
                        status_code: *status,
                        mime_type: content_type.as_deref(),
                        body: content_length.map(|bytes| HttpBody { bytes }),
                    }),
                },
            )?;
        }
    }
    Ok(())
}

/// An ARP packet as an ECS document (`event.dataset: netsec.arp`).
pub struct ArpDocument<'a>(pub &'a ArpInfo);

impl Serialize for ArpDocument<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let a = self.0;
        #[derive(Serialize)]
        struct Host {
            ip: std::net::Ipv4Addr,
            mac: String,
        }
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("@timestamp", &a.ts)?;
        m.serialize_entry("ecs", &ECS)?;
        m.serialize_entry(
            "event",
            &EventMeta {
                kind: "event",
                category: &["network"],
                kind_type: &["protocol"],
                dataset: "netsec.arp",
                start: None,
                end: None,
                duration: None,
                reason: None,
                severity: None,
            },
        )?;
        // ECS writes MAC addresses upper-case with dashes.
        let mac = |m: crate::packet::MacAddr| m.to_string().to_ascii_uppercase().replace(':', "-");
        m.serialize_entry(
            "source",
            &Host {
                ip: a.sender_ip,
                mac: mac(a.sender_mac),
            },
        )?;
        m.serialize_entry(
            "destination",
            &Host {
                ip: a.target_ip,
                mac: mac(a.target_mac),
            },
        )?;
        m.serialize_entry(
            "netsec",
            &serde_json::json!({ "packet": a.packet_number, "arp": a }),
        )?;
        m.end()
    }
}

/// A finding as an ECS alert document (`event.kind: alert`).
pub struct FindingDocument<'a>(pub &'a Finding);

impl Serialize for FindingDocument<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let f = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("@timestamp", &f.time.start)?;
        m.serialize_entry("ecs", &ECS)?;
        m.serialize_entry("message", &f.title)?;
        m.serialize_entry(
            "event",
            &EventMeta {
                kind: "alert",
                category: &["network", "intrusion_detection"],
                kind_type: &["info"],
                dataset: "netsec.finding",
                start: Some(f.time.start),
                end: Some(f.time.end),
                duration: Some(f.time.duration().as_nanos()),
                reason: Some(&f.evidence.summary),
                severity: Some(f.severity.ecs_score()),
            },
        )?;
        let first_host = |role: EntityRole| {
            f.entities_in(role).find_map(|e| match e {
                EntityValue::Host { ip } => Some(*ip),
                EntityValue::Service { endpoint, .. } => Some(endpoint.ip),
                _ => None,
            })
        };
        #[derive(Serialize)]
        struct Ip {
            ip: std::net::IpAddr,
        }
        if let Some(ip) = first_host(EntityRole::Source) {
            m.serialize_entry("source", &Ip { ip })?;
        }
        if let Some(ip) = first_host(EntityRole::Target) {
            m.serialize_entry("destination", &Ip { ip })?;
        }
        #[derive(Serialize)]
        struct Rule<'a> {
            name: &'a str,
            category: crate::finding::FindingCategory,
        }
        m.serialize_entry(
            "rule",
            &Rule {
                name: &f.kind,
                category: f.category,
            },
        )?;
        #[derive(Serialize)]
        struct Technique<'a> {
            id: &'a [String],
        }
        #[derive(Serialize)]
        struct Threat<'a> {
            framework: &'static str,
            technique: Technique<'a>,
        }
        if !f.mitre.is_empty() {
            m.serialize_entry(
                "threat",
                &Threat {
                    framework: "MITRE ATT&CK",
                    technique: Technique { id: &f.mitre },
                },
            )?;
        }
        #[derive(Serialize)]
        struct NetsecFinding<'a> {
            finding: &'a Finding,
        }
        m.serialize_entry("netsec", &NetsecFinding { finding: f })?;
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{DnsQuestion, EventContext};
    use crate::flow::{Direction, FlowId};
    use std::net::{IpAddr, Ipv4Addr};

    fn ctx() -> EventContext {
        EventContext {
            ts: Timestamp::from_secs_nanos(10, 0),
            packet_number: 7,
            flow_id: Some(FlowId(3)),
            community_id: Some("1:xyz".into()),
            src: Endpoint::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 5353),
            dst: Endpoint::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)), 53),
            transport: Transport::Udp,
            direction: Direction::ToServer,
        }
    }

    #[test]
    fn dns_event_has_ecs_fields() {
        let ev = AppEvent::Dns(DnsEvent {
            ctx: ctx(),
            id: 4660,
            is_response: true,
            opcode: 0,
            rcode: 3,
            flags: vec!["rd".into(), "ra".into()],
            questions: vec![DnsQuestion {
                name: "nosuch.example".into(),
                qtype: "A".into(),
                qtype_code: 1,
                qclass: 1,
            }],
            answers: vec![],
            authorities: vec![],
            additionals: vec![],
        });
        let v = serde_json::to_value(EventDocument(&ev)).unwrap_or_default();
        assert_eq!(v["dns"]["question"]["name"], "nosuch.example");
        assert_eq!(v["dns"]["response_code"], "NXDOMAIN");
        assert_eq!(v["dns"]["header_flags"][0], "RD");
        assert_eq!(v["source"]["port"], 5353);
        assert_eq!(v["network"]["community_id"], "1:xyz");
        assert_eq!(v["netsec"]["flow_id"], 3);
        assert_eq!(v["netsec"]["dns"]["id"], 4660);
        assert_eq!(v["netsec"]["dns"]["ctx"]["packet_number"], 7);
    }
}
