//! Elastic Common Schema (ECS 9) documents for flows, application events
//! and findings, so that netsec's JSON-lines logs load into Elasticsearch,
//! OpenSearch or any SIEM without mapping work.
//!
//! Each fact appears once per document: in its ECS field where ECS has one
//! (`source.ip`, `destination.port`, `network.transport`,
//! `network.community_id`, `event.start`, `dns.question.name`,
//! `http.request.method`, `url.domain`, `tls.client.server_name`,
//! `threat.technique.id`, …), under `netsec.*` only when ECS has none (the
//! flow id, the packet number, DNS authority records, TLS extensions, SSH
//! banners, …).
//!
//! Each document is a borrowed view serialised with serde straight into the
//! writer: no intermediate JSON tree, and no allocation per record (numbers
//! ECS wants as text, upper-cased flags and hex cipher ids are written
//! through `Display` adapters).
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
    AppEvent, ArpInfo, DnsEvent, DnsRecord, EventContext, HttpEvent, HttpHeaders, HttpMessage,
    TlsMessage,
};
use crate::finding::{EntityRole, EntityValue, Finding};
use crate::flow::{Endpoint, FlowRecord};
use crate::packet::Transport;
use crate::time::Timestamp;

/// ECS version these documents follow.
pub const ECS_VERSION: &str = "9.4.0";

#[derive(Serialize)]
struct Ecs {
    version: &'static str,
}

const ECS: Ecs = Ecs {
    version: ECS_VERSION,
};

/// Writes a value through its `Display`, for ECS fields that are text but
/// hold numbers (`dns.id`, `network.iana_number`, `network.vlan.id`),
/// without building a `String`.
struct AsText<T>(T);

impl<T: std::fmt::Display> Serialize for AsText<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

/// `0x1301`: a TLS cipher suite id as ECS `tls.cipher` text.
struct Hex16(u16);

impl std::fmt::Display for Hex16 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "0x{:04x}", self.0)
    }
}

/// Upper-case ASCII of a borrowed string, written without a copy.
struct Upper<'a>(&'a str);

impl std::fmt::Display for Upper<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use std::fmt::Write as _;
        self.0
            .chars()
            .try_for_each(|c| f.write_char(c.to_ascii_uppercase()))
    }
}

/// A MAC address as ECS writes it: upper case, dash separated.
struct EcsMac(crate::packet::MacAddr);

impl std::fmt::Display for EcsMac {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let b = self.0 .0;
        write!(
            f,
            "{:02X}-{:02X}-{:02X}-{:02X}-{:02X}-{:02X}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

/// A sequence serialised from an iterator, without collecting it.
struct SeqOf<I>(std::cell::Cell<Option<I>>);

impl<I> SeqOf<I> {
    fn new(iter: I) -> Self {
        SeqOf(std::cell::Cell::new(Some(iter)))
    }
}

impl<I> Serialize for SeqOf<I>
where
    I: Iterator,
    I::Item: Serialize,
{
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0.take() {
            Some(iter) => s.collect_seq(iter),
            None => s.collect_seq(std::iter::empty::<I::Item>()),
        }
    }
}

#[derive(Serialize)]
struct EventMeta<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
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

impl EventMeta<'_> {
    fn protocol(dataset: &str) -> EventMeta<'_> {
        EventMeta {
            id: None,
            kind: "event",
            category: &["network"],
            kind_type: &["protocol"],
            dataset,
            start: None,
            end: None,
            duration: None,
            reason: None,
            severity: None,
        }
    }
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
    id: AsText<u16>,
}

#[derive(Serialize)]
struct Network<'a> {
    transport: &'static str,
    iana_number: AsText<u8>,
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
}

/// A flow record as an ECS document (`event.dataset: netsec.flow`).
pub struct FlowDocument<'a>(pub &'a FlowRecord);

/// What ECS has no field for in a flow record: per direction, only the
/// payload bytes and TCP flags (packets and bytes are `source.*` and
/// `destination.*`).
#[derive(Serialize)]
struct FlowSide {
    payload_bytes: u64,
    #[serde(skip_serializing_if = "is_no_flags")]
    tcp_flags: crate::packet::TcpFlags,
}

fn is_no_flags(f: &crate::packet::TcpFlags) -> bool {
    f.0 == 0
}

#[derive(Serialize)]
struct FlowExtra {
    flow_id: crate::flow::FlowId,
    conn_state: &'static str,
    client: FlowSide,
    server: FlowSide,
    #[serde(skip_serializing_if = "is_zero")]
    missing_bytes: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Serialize for FlowDocument<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let f = self.0;
        let mut m = s.serialize_map(Some(7))?;
        m.serialize_entry("@timestamp", &f.time.start)?;
        m.serialize_entry("ecs", &ECS)?;
        m.serialize_entry(
            "event",
            &EventMeta {
                id: None,
                kind: "event",
                category: &["network"],
                kind_type: &["connection", "end"],
                dataset: "netsec.flow",
                start: Some(f.time.start),
                end: Some(f.time.end),
                duration: Some(f.duration().as_nanos()),
                reason: Some(crate::flow::FlowEndReason::as_str(f.end_reason)),
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
                iana_number: AsText(f.transport.ip_proto()),
                protocol: (f.app_proto != crate::flow::AppProto::Unknown)
                    .then(|| f.app_proto.name()),
                community_id: Some(&f.community_id),
                bytes: Some(f.bytes()),
                packets: Some(f.packets()),
                vlan: (f.vlan != 0).then_some(Vlan { id: AsText(f.vlan) }),
            },
        )?;
        m.serialize_entry(
            "netsec",
            &FlowExtra {
                flow_id: f.id,
                conn_state: if f.transport == Transport::Tcp {
                    f.tcp_state.zeek_conn_state()
                } else {
                    "OTH"
                },
                client: FlowSide {
                    payload_bytes: f.to_server.payload_bytes,
                    tcp_flags: f.to_server.tcp_flags,
                },
                server: FlowSide {
                    payload_bytes: f.to_client.payload_bytes,
                    tcp_flags: f.to_client.tcp_flags,
                },
                missing_bytes: f.missing_bytes,
            },
        )?;
        m.end()
    }
}

impl FlowDocument<'_> {
    /// Append the document as one line of compact JSON (no newline), the
    /// bytes its `Serialize` impl gives through `serde_json::to_writer`,
    /// written straight from the record: the fixed parts as literals, numbers,
    /// addresses and times digit by digit. Through serde a flow line cost
    /// 12,600 instructions on the many-short-connections shape (every key
    /// and value a string to scan for escapes, addresses through `Display`);
    /// every connection writes one.
    ///
    /// Returns false, having written nothing, when the Community ID holds a
    /// byte JSON escapes (never one the engine made): serialise the
    /// document then.
    pub fn write_json(&self, out: &mut Vec<u8>) -> bool {
        let f = self.0;
        // Every byte looked at, without stopping at the first to escape: a
        // loop with no early exit is vectorised (the byte-at-a-time search
        // was 8 % of a flow line's instructions).
        let escaped = f
            .community_id
            .bytes()
            .fold(false, |seen, b| seen | needs_json_escape(b));
        if escaped {
            return false;
        }
        out.reserve(768);
        out.extend_from_slice(b"{\"@timestamp\":\"");
        f.time.start.push_rfc3339(out);
        out.extend_from_slice(b"\",\"ecs\":{\"version\":\"");
        out.extend_from_slice(ECS_VERSION.as_bytes());
        out.extend_from_slice(
            b"\"},\"event\":{\"kind\":\"event\",\"category\":[\"network\"],\"type\":[\"connection\",\"end\"],\"dataset\":\"netsec.flow\",\"start\":\"",
        );
        f.time.start.push_rfc3339(out);
        out.extend_from_slice(b"\",\"end\":\"");
        f.time.end.push_rfc3339(out);
        out.extend_from_slice(b"\",\"duration\":");
        push_i64(out, f.duration().as_nanos());
        out.extend_from_slice(b",\"reason\":\"");
        out.extend_from_slice(f.end_reason.as_str().as_bytes());
        out.extend_from_slice(b"\"},\"source\":");
        push_endpoint(out, &f.client, f.transport, &f.to_server);
        out.extend_from_slice(b",\"destination\":");
        push_endpoint(out, &f.server, f.transport, &f.to_client);
        out.extend_from_slice(b",\"network\":{\"transport\":\"");
        out.extend_from_slice(f.transport.name().as_bytes());
        out.extend_from_slice(b"\",\"iana_number\":\"");
        push_u64(out, u64::from(f.transport.ip_proto()));
        out.push(b'"');
        if f.app_proto != crate::flow::AppProto::Unknown {
            out.extend_from_slice(b",\"protocol\":\"");
            out.extend_from_slice(f.app_proto.name().as_bytes());
            out.push(b'"');
        }
        out.extend_from_slice(b",\"community_id\":\"");
        out.extend_from_slice(f.community_id.as_bytes());
        out.extend_from_slice(b"\",\"bytes\":");
        push_u64(out, f.bytes());
        out.extend_from_slice(b",\"packets\":");
        push_u64(out, f.packets());
        if f.vlan != 0 {
            out.extend_from_slice(b",\"vlan\":{\"id\":\"");
            push_u64(out, u64::from(f.vlan));
            out.extend_from_slice(b"\"}");
        }
        out.extend_from_slice(b"},\"netsec\":{\"flow_id\":");
        push_u64(out, f.id.0);
        out.extend_from_slice(b",\"conn_state\":\"");
        let conn_state = if f.transport == Transport::Tcp {
            f.tcp_state.zeek_conn_state()
        } else {
            "OTH"
        };
        out.extend_from_slice(conn_state.as_bytes());
        out.extend_from_slice(b"\",\"client\":");
        push_flow_side(out, &f.to_server);
        out.extend_from_slice(b",\"server\":");
        push_flow_side(out, &f.to_client);
        if f.missing_bytes != 0 {
            out.extend_from_slice(b",\"missing_bytes\":");
            push_u64(out, f.missing_bytes);
        }
        out.extend_from_slice(b"}}");
        true
    }
}

/// Whether JSON writes `b` escaped inside a string (a control byte, `"`
/// or `\\`).
fn needs_json_escape(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

/// `n` in decimal, as serde_json writes an integer (see
/// [`crate::push_decimal_bytes`]).
fn push_u64(out: &mut Vec<u8>, n: u64) {
    crate::push_decimal_bytes(out, n);
}

/// `n` in decimal, with a minus sign when negative.
fn push_i64(out: &mut Vec<u8>, n: i64) {
    if n < 0 {
        out.push(b'-');
    }
    push_u64(out, n.unsigned_abs());
}

/// The decimal text of each byte value, left-aligned in three bytes, and
/// its length.
const OCTET_TEXT: [([u8; 3], usize); 256] = {
    let mut table = [([0u8; 3], 0usize); 256];
    let mut v = 0;
    while v < 256 {
        let (h, t, o) = ((v / 100) as u8, (v / 10 % 10) as u8, (v % 10) as u8);
        table[v] = if v >= 100 {
            ([b'0' + h, b'0' + t, b'0' + o], 3)
        } else if v >= 10 {
            ([b'0' + t, b'0' + o, 0], 2)
        } else {
            ([b'0' + o, 0, 0], 1)
        };
        v += 1;
    }
    table
};

/// An address as text (what `Display`, and so serde, writes): IPv4 from a
/// table of octets, IPv6 through `Display` (its text never needs escaping).
fn push_ip(out: &mut Vec<u8>, ip: std::net::IpAddr) {
    match ip {
        std::net::IpAddr::V4(v4) => {
            // Each octet's digits come from a table, copied three bytes at
            // a time and cut back to their length, straight into `out` (a
            // block built on the stack and copied whole waited for its
            // pieces).
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push(b'.');
                }
                let (digits, n) = OCTET_TEXT
                    .get(usize::from(octet))
                    .copied()
                    .unwrap_or(([b'0'; 3], 1));
                let end = out.len() + n;
                out.extend_from_slice(&digits);
                out.truncate(end);
            }
        }
        std::net::IpAddr::V6(v6) => {
            use std::io::Write;
            // Writing into a Vec cannot fail.
            let _ = write!(out, "{v6}");
        }
    }
}

/// `source` / `destination` of a flow document: `EndpointDoc` with packets
/// and bytes.
fn push_endpoint(
    out: &mut Vec<u8>,
    ep: &Endpoint,
    transport: Transport,
    counts: &crate::flow::DirectionStats,
) {
    push_endpoint_address(out, ep, transport);
    out.extend_from_slice(b",\"packets\":");
    push_u64(out, counts.packets);
    out.extend_from_slice(b",\"bytes\":");
    push_u64(out, counts.bytes);
    out.push(b'}');
}

/// `netsec.client` / `netsec.server` of a flow document ([`FlowSide`]).
fn push_flow_side(out: &mut Vec<u8>, side: &crate::flow::DirectionStats) {
    out.extend_from_slice(b"{\"payload_bytes\":");
    push_u64(out, side.payload_bytes);
    if !is_no_flags(&side.tcp_flags) {
        out.extend_from_slice(b",\"tcp_flags\":\"");
        side.tcp_flags.push_letters(out);
        out.push(b'"');
    }
    out.push(b'}');
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
        m.serialize_entry("id", &AsText(d.id))?;
        m.serialize_entry("type", if d.is_response { "answer" } else { "query" })?;
        m.serialize_entry("op_code", dns_opcode(d.opcode))?;
        if d.is_response {
            m.serialize_entry("response_code", dns_rcode(d.rcode))?;
        }
        m.serialize_entry(
            "header_flags",
            &SeqOf::new(d.flags.iter().map(|f| AsText(Upper(f)))),
        )?;
        if let Some(q) = d.questions.first() {
            m.serialize_entry(
                "question",
                &DnsQuestionDoc {
                    name: q.name.as_str(),
                    qtype: &q.qtype,
                    class: dns_class(q.qclass),
                },
            )?;
        }
        if !d.answers.is_empty() {
            m.serialize_entry("answers", &SeqOf::new(d.answers.iter().map(answer_doc)))?;
            let resolved = |a: &&DnsRecord| a.rtype == "A" || a.rtype == "AAAA";
            if d.answers.iter().any(|a| resolved(&a)) {
                m.serialize_entry(
                    "resolved_ip",
                    &SeqOf::new(d.answers.iter().filter(resolved).map(|a| a.data.as_str())),
                )?;
            }
        }
        m.end()
    }
}

fn answer_doc(a: &DnsRecord) -> DnsAnswerDoc<'_> {
    DnsAnswerDoc {
        name: a.name.as_str(),
        rtype: &a.rtype,
        class: "IN",
        ttl: a.ttl,
        data: &a.data,
    }
}

/// What ECS has no field for in a DNS message: the questions after the
/// first (ECS has one `dns.question`), authority and additional records,
/// and for a response matched to its query the latency and that query's
/// packet and time.
#[derive(Serialize)]
struct DnsExtra<'a> {
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    more_questions: &'a [crate::event::DnsQuestion],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    authorities: &'a [DnsRecord],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    additionals: &'a [DnsRecord],
    #[serde(skip_serializing_if = "Option::is_none")]
    latency_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    query: Option<DnsQueryDoc>,
    /// A query no response came for within the matching window.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    unanswered: bool,
}

/// The query a response answers: its packet number and time.
#[derive(Serialize)]
struct DnsQueryDoc {
    packet: u64,
    time: Timestamp,
}

impl<'a> DnsExtra<'a> {
    fn of(d: &'a DnsEvent) -> Option<Self> {
        let extra = DnsExtra {
            more_questions: d.questions.get(1..).unwrap_or_default(),
            authorities: &d.authorities,
            additionals: &d.additionals,
            latency_ms: d.query.map(|q| q.latency_ns as f64 / 1e6),
            query: d.query.map(|q| DnsQueryDoc {
                packet: q.packet_number,
                time: q.ts,
            }),
            unanswered: d.unanswered,
        };
        let empty = extra.more_questions.is_empty()
            && extra.authorities.is_empty()
            && extra.additionals.is_empty()
            && extra.query.is_none()
            && !extra.unanswered;
        (!empty).then_some(extra)
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

/// A `Host` header split into host and port (`example.com:8080`,
/// `[2001:db8::1]:8443`, `example.com`); the brackets of an IPv6 literal
/// are dropped. A port that does not parse stays part of the host.
pub fn split_host_port(host: &str) -> (&str, Option<u16>) {
    if let Some(rest) = host.strip_prefix('[') {
        if let Some((addr, after)) = rest.split_once(']') {
            let port = after.strip_prefix(':').and_then(|p| p.parse().ok());
            return (addr, port);
        }
        return (host, None);
    }
    match host.rsplit_once(':') {
        // One colon only: a bare IPv6 address has several.
        Some((h, p)) if !h.contains(':') => match p.parse() {
            Ok(port) => (h, Some(port)),
            Err(_) => (host, None),
        },
        _ => (host, None),
    }
}

struct TlsDoc<'a>(&'a TlsMessage);

/// `tls.server` of a Certificate message: the leaf certificate, in ECS's
/// `tls.server.*` and `tls.server.x509.*` fields.
struct TlsServerCertDoc<'a>(&'a crate::event::CertificateInfo);

impl Serialize for TlsServerCertDoc<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let c = self.0;
        #[derive(Serialize)]
        struct Hash<'a> {
            sha1: &'a str,
            sha256: &'a str,
        }
        #[derive(Serialize)]
        struct X509<'a> {
            #[serde(skip_serializing_if = "Option::is_none")]
            subject: Option<CommonNames<'a>>,
            #[serde(skip_serializing_if = "Option::is_none")]
            issuer: Option<CommonNames<'a>>,
            serial_number: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            not_before: Option<Timestamp>,
            #[serde(skip_serializing_if = "Option::is_none")]
            not_after: Option<Timestamp>,
            #[serde(skip_serializing_if = "<[_]>::is_empty")]
            alternative_names: &'a [String],
            public_key_algorithm: &'a str,
            #[serde(skip_serializing_if = "is_zero_u32")]
            public_key_size: u32,
            #[serde(skip_serializing_if = "Option::is_none")]
            public_key_curve: Option<&'a str>,
            signature_algorithm: &'a str,
        }
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("subject", &c.subject)?;
        m.serialize_entry("issuer", &c.issuer)?;
        if let Some(t) = c.not_before {
            m.serialize_entry("not_before", &t)?;
        }
        if let Some(t) = c.not_after {
            m.serialize_entry("not_after", &t)?;
        }
        // ECS writes certificate hashes as upper-case hex without separators.
        let sha1: String = c.sha1.chars().filter(|c| *c != ':').collect::<String>();
        m.serialize_entry(
            "hash",
            &Hash {
                sha1: &sha1.to_ascii_uppercase(),
                sha256: &c.sha256,
            },
        )?;
        m.serialize_entry(
            "x509",
            &X509 {
                subject: cn_names(&c.common_names),
                issuer: cn_names(&c.issuer_common_names),
                serial_number: &c.serial,
                not_before: c.not_before,
                not_after: c.not_after,
                alternative_names: &c.alternative_names,
                public_key_algorithm: &c.public_key_algorithm,
                public_key_size: c.public_key_bits,
                public_key_curve: c.public_key_curve.as_deref(),
                signature_algorithm: &c.signature_algorithm,
            },
        )?;
        m.end()
    }
}

fn cn_names(n: &[String]) -> Option<CommonNames<'_>> {
    (!n.is_empty()).then_some(CommonNames { common_name: n })
}

#[derive(Serialize)]
struct CommonNames<'a> {
    common_name: &'a [String],
}

fn is_zero_u32(n: &u32) -> bool {
    *n == 0
}

/// `tls.client` of a ClientHello.
struct TlsClientDoc<'a>(&'a crate::event::ClientHello);

impl Serialize for TlsClientDoc<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let ch = self.0;
        let mut m = s.serialize_map(None)?;
        if let Some(sni) = &ch.server_name {
            m.serialize_entry("server_name", sni)?;
        }
        m.serialize_entry(
            "supported_ciphers",
            &SeqOf::new(ch.cipher_suites.iter().map(|c| AsText(Hex16(*c)))),
        )?;
        if let Some(ja3) = &ch.ja3_hash {
            m.serialize_entry("ja3", ja3)?;
        }
        m.end()
    }
}

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
                m.serialize_entry("client", &TlsClientDoc(ch))?;
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
                m.serialize_entry("cipher", &AsText(Hex16(sh.cipher_suite)))?;
                if let Some(alpn) = &sh.alpn {
                    m.serialize_entry("next_protocol", alpn)?;
                }
                if let Some(ja3s) = &sh.ja3s_hash {
                    #[derive(Serialize)]
                    struct Server<'a> {
                        ja3s: &'a str,
                    }
                    m.serialize_entry("server", &Server { ja3s })?;
                }
            }
            TlsMessage::Certificate { certificates, .. } => {
                if let Some(leaf) = certificates.first() {
                    m.serialize_entry("server", &TlsServerCertDoc(leaf))?;
                }
            }
        }
        m.end()
    }
}

/// What ECS has no field for in a TLS handshake message.
#[derive(Serialize)]
#[serde(untagged)]
enum TlsExtra<'a> {
    ClientHello {
        record_version: AsText<Hex16>,
        extensions: &'a [u16],
        #[serde(skip_serializing_if = "<[_]>::is_empty")]
        alpn: &'a [String],
        #[serde(skip_serializing_if = "<[_]>::is_empty")]
        supported_groups: &'a [u16],
        #[serde(skip_serializing_if = "<[_]>::is_empty")]
        ec_point_formats: &'a [u8],
        #[serde(skip_serializing_if = "<[_]>::is_empty")]
        signature_algorithms: &'a [u16],
        #[serde(skip_serializing_if = "<[_]>::is_empty")]
        supported_versions: &'a [u16],
        /// The JA3 string (its MD5 is ECS `tls.client.ja3`).
        #[serde(skip_serializing_if = "Option::is_none")]
        ja3: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        ja4: Option<&'a str>,
    },
    ServerHello {
        record_version: AsText<Hex16>,
        extensions: &'a [u16],
        /// The JA3S string (its MD5 is ECS `tls.server.ja3s`).
        #[serde(skip_serializing_if = "Option::is_none")]
        ja3s: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        ja4s: Option<&'a str>,
    },
    Certificate {
        certificate_chain_length: usize,
        /// The leaf's JA4X (the chain's entries carry their own).
        #[serde(skip_serializing_if = "Option::is_none")]
        ja4x: Option<&'a str>,
        /// The certificates after the leaf (ECS describes one), in full.
        #[serde(skip_serializing_if = "<[_]>::is_empty")]
        chain: &'a [crate::event::CertificateInfo],
    },
}

impl<'a> TlsExtra<'a> {
    fn of(t: &'a TlsMessage) -> Self {
        match t {
            TlsMessage::ClientHello(ch) => TlsExtra::ClientHello {
                record_version: AsText(Hex16(ch.record_version)),
                extensions: &ch.extensions,
                alpn: &ch.alpn,
                supported_groups: &ch.supported_groups,
                ec_point_formats: &ch.ec_point_formats,
                signature_algorithms: &ch.signature_algorithms,
                supported_versions: &ch.supported_versions,
                ja3: ch.ja3.as_deref(),
                ja4: ch.ja4.as_deref(),
            },
            TlsMessage::ServerHello(sh) => TlsExtra::ServerHello {
                record_version: AsText(Hex16(sh.record_version)),
                extensions: &sh.extensions,
                ja3s: sh.ja3s.as_deref(),
                ja4s: sh.ja4s.as_deref(),
            },
            TlsMessage::Certificate {
                chain,
                certificates,
            } => TlsExtra::Certificate {
                certificate_chain_length: chain.len(),
                ja4x: certificates.first().and_then(|c| c.ja4x.as_deref()),
                chain: certificates.get(1..).unwrap_or_default(),
            },
        }
    }
}

/// `netsec.*` of an event document: the join keys, and per protocol what
/// ECS has no field for (nothing twice).
struct NetsecEvent<'a> {
    ctx: &'a EventContext,
    event: &'a AppEvent,
}

impl Serialize for NetsecEvent<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let ctx = self.ctx;
        let mut m = s.serialize_map(None)?;
        if let Some(id) = ctx.flow_id {
            m.serialize_entry("flow_id", &id)?;
        }
        m.serialize_entry("packet", &ctx.packet_number)?;
        m.serialize_entry("direction", &ctx.direction)?;
        match self.event {
            AppEvent::Dns(d) => {
                if let Some(extra) = DnsExtra::of(d) {
                    m.serialize_entry("dns", &extra)?;
                }
            }
            AppEvent::Http(h) => {
                #[derive(Serialize)]
                struct HttpExtra<'a> {
                    #[serde(skip_serializing_if = "Option::is_none")]
                    reason: Option<&'a str>,
                    #[serde(skip_serializing_if = "Option::is_none")]
                    server: Option<&'a str>,
                    #[serde(skip_serializing_if = "HttpHeaders::is_empty")]
                    headers: &'a HttpHeaders,
                }
                let (reason, server) = match &h.message {
                    HttpMessage::Response { reason, server, .. } => {
                        (Some(reason.as_ref()), server.as_deref())
                    }
                    HttpMessage::Request { .. } => (None, None),
                };
                m.serialize_entry(
                    "http",
                    &HttpExtra {
                        reason,
                        server,
                        headers: &h.headers,
                    },
                )?;
            }
            AppEvent::Tls(t) => m.serialize_entry("tls", &TlsExtra::of(&t.message))?,
            AppEvent::Ssh(e) => {
                #[derive(Serialize)]
                struct Ssh<'a> {
                    proto_version: &'a str,
                    software: &'a str,
                    #[serde(skip_serializing_if = "Option::is_none")]
                    comments: Option<&'a str>,
                }
                m.serialize_entry(
                    "ssh",
                    &Ssh {
                        proto_version: &e.proto_version,
                        software: &e.software,
                        comments: e.comments.as_deref(),
                    },
                )?;
            }
            AppEvent::Smb(e) => {
                #[derive(Serialize)]
                struct Smb<'a> {
                    version: u8,
                    command: u16,
                    command_name: &'a str,
                    status: u32,
                    is_response: bool,
                    #[serde(skip_serializing_if = "<[_]>::is_empty")]
                    dialects: &'a [u16],
                }
                m.serialize_entry(
                    "smb",
                    &Smb {
                        version: e.version,
                        command: e.command,
                        command_name: &e.command_name,
                        status: e.status,
                        is_response: e.is_response,
                        dialects: &e.dialects,
                    },
                )?;
            }
            AppEvent::Dhcp(e) => {
                #[derive(Serialize)]
                struct Dhcp<'a> {
                    message_type: &'a str,
                    xid: u32,
                    client_mac: AsText<EcsMac>,
                    #[serde(skip_serializing_if = "Option::is_none")]
                    client_ip: Option<std::net::IpAddr>,
                    #[serde(skip_serializing_if = "Option::is_none")]
                    assigned_ip: Option<std::net::IpAddr>,
                    #[serde(skip_serializing_if = "Option::is_none")]
                    requested_ip: Option<std::net::IpAddr>,
                    #[serde(skip_serializing_if = "Option::is_none")]
                    hostname: Option<&'a str>,
                    #[serde(skip_serializing_if = "Option::is_none")]
                    server_id: Option<std::net::IpAddr>,
                    #[serde(skip_serializing_if = "Option::is_none")]
                    lease_secs: Option<u32>,
                }
                m.serialize_entry(
                    "dhcp",
                    &Dhcp {
                        message_type: &e.message_type,
                        xid: e.xid,
                        client_mac: AsText(EcsMac(e.client_mac)),
                        client_ip: e.client_ip,
                        assigned_ip: e.assigned_ip,
                        requested_ip: e.requested_ip,
                        hostname: e.hostname.as_deref(),
                        server_id: e.server_id,
                        lease_secs: e.lease_secs,
                    },
                )?;
            }
            AppEvent::File(f) => {
                #[derive(Serialize)]
                struct File<'a> {
                    complete: bool,
                    missing_bytes: u64,
                    #[serde(skip_serializing_if = "std::ops::Not::not")]
                    over_limit: bool,
                    #[serde(skip_serializing_if = "Option::is_none")]
                    declared_length: Option<u64>,
                    #[serde(skip_serializing_if = "Option::is_none")]
                    content_encoding: Option<&'a str>,
                }
                m.serialize_entry(
                    "file",
                    &File {
                        complete: f.complete,
                        missing_bytes: f.missing_bytes,
                        over_limit: f.over_limit,
                        declared_length: f.declared_length,
                        content_encoding: f.content_encoding.as_deref(),
                    },
                )?;
            }
            AppEvent::DceRpc(e) => {
                #[derive(Serialize)]
                struct DceRpc<'a> {
                    ptype: &'a str,
                    call_id: u32,
                    #[serde(skip_serializing_if = "Option::is_none")]
                    pipe: Option<&'a str>,
                    #[serde(skip_serializing_if = "Option::is_none")]
                    context_id: Option<u16>,
                    #[serde(skip_serializing_if = "Option::is_none")]
                    interface: Option<&'a str>,
                    #[serde(skip_serializing_if = "Option::is_none")]
                    opnum: Option<u16>,
                    #[serde(skip_serializing_if = "Option::is_none")]
                    operation: Option<&'a str>,
                    #[serde(skip_serializing_if = "<[_]>::is_empty")]
                    contexts: &'a [crate::event::DceRpcContext],
                    #[serde(skip_serializing_if = "<[_]>::is_empty")]
                    results: &'a [u16],
                    #[serde(skip_serializing_if = "Option::is_none")]
                    status: Option<u32>,
                    #[serde(skip_serializing_if = "Option::is_none")]
                    zero_credential: Option<bool>,
                    #[serde(skip_serializing_if = "Option::is_none")]
                    sid_count: Option<u32>,
                }
                m.serialize_entry(
                    "dcerpc",
                    &DceRpc {
                        ptype: &e.ptype,
                        call_id: e.call_id,
                        pipe: e.pipe.as_deref(),
                        context_id: e.context_id,
                        interface: e.interface.as_deref(),
                        opnum: e.opnum,
                        operation: e.operation.as_deref(),
                        contexts: &e.contexts,
                        results: &e.results,
                        status: e.status,
                        zero_credential: e.zero_credential,
                        sid_count: e.sid_count,
                    },
                )?;
            }
            AppEvent::Kerberos(e) => {
                #[derive(Serialize)]
                struct Kerberos<'a> {
                    msg_type: u8,
                    msg_name: &'a str,
                    #[serde(skip_serializing_if = "Option::is_none")]
                    realm: Option<&'a str>,
                    #[serde(skip_serializing_if = "Option::is_none")]
                    client: Option<&'a str>,
                    #[serde(skip_serializing_if = "Option::is_none")]
                    server: Option<&'a str>,
                    #[serde(skip_serializing_if = "<[_]>::is_empty")]
                    etypes: &'a [i32],
                    #[serde(skip_serializing_if = "Option::is_none")]
                    ticket_etype: Option<i32>,
                    #[serde(skip_serializing_if = "Option::is_none")]
                    reply_etype: Option<i32>,
                    pa_enc_timestamp: bool,
                    #[serde(skip_serializing_if = "Option::is_none")]
                    error_code: Option<i32>,
                }
                m.serialize_entry(
                    "kerberos",
                    &Kerberos {
                        msg_type: e.msg_type,
                        msg_name: &e.msg_name,
                        realm: e.realm.as_deref(),
                        client: e.client.as_deref(),
                        server: e.server.as_deref(),
                        etypes: &e.etypes,
                        ticket_etype: e.ticket_etype,
                        reply_etype: e.reply_etype,
                        pa_enc_timestamp: e.pa_enc_timestamp,
                        error_code: e.error_code,
                    },
                )?;
            }
            AppEvent::Ntp(e) => {
                #[derive(Serialize)]
                struct Ntp {
                    version: u8,
                    mode: u8,
                    stratum: u8,
                }
                m.serialize_entry(
                    "ntp",
                    &Ntp {
                        version: e.version,
                        mode: e.mode,
                        stratum: e.stratum,
                    },
                )?;
            }
        }
        m.end()
    }
}

impl EventDocument<'_> {
    /// Append the document of a DNS message, an HTTP message or a file
    /// carried over HTTP as one line of compact JSON (no newline), the bytes
    /// its `Serialize` impl gives through `serde_json::to_writer`, written by
    /// hand: these are the events of which traffic makes the most (a line a
    /// DNS message, two lines and a file a short HTTP connection), and
    /// through serde a DNS line cost about 13,700 instructions (45 % of a
    /// run on DNS-heavy traffic) and an HTTP line about 14,000 (a third of a
    /// run of short connections). The fixed parts are literals; numbers,
    /// addresses and times are written digit by digit; names, header fields
    /// and record data go through [`crate::json_text`]; what is rare (DNS
    /// authority and additional records, further questions) through
    /// serde_json.
    ///
    /// Returns false, having written nothing, for the other events, and when
    /// the Community ID holds a byte JSON escapes (never one the engine
    /// made): serialise the document then.
    pub fn write_json(&self, out: &mut Vec<u8>) -> bool {
        let ev = self.0;
        let ctx = ev.context();
        if !matches!(ev, AppEvent::Dns(_) | AppEvent::Http(_) | AppEvent::File(_))
            || ctx
                .community_id
                .as_deref()
                .is_some_and(|c| c.bytes().any(needs_json_escape))
        {
            return false;
        }
        let start = out.len();
        out.reserve(640);
        push_event_head(out, ctx, ev.kind());
        let written = match ev {
            AppEvent::Dns(d) => {
                out.extend_from_slice(b",\"dns\":");
                push_dns(out, d);
                push_netsec_head(out, ctx);
                match DnsExtra::of(d) {
                    Some(extra) => {
                        out.extend_from_slice(b",\"dns\":");
                        push_dns_extra(out, &extra)
                    }
                    None => true,
                }
            }
            AppEvent::Http(h) => {
                push_http(out, h);
                push_netsec_head(out, ctx);
                push_http_extra(out, h);
                true
            }
            AppEvent::File(f) => {
                push_file(out, f);
                push_netsec_head(out, ctx);
                push_file_extra(out, f);
                true
            }
            _ => false,
        };
        if !written {
            out.truncate(start);
            return false;
        }
        out.extend_from_slice(b"}}");
        true
    }
}

/// `event.dataset` of an event of `kind` ([`AppEvent::kind`]).
fn event_dataset(kind: &str) -> &'static str {
    match kind {
        "dns" => "netsec.dns",
        "http" => "netsec.http",
        "tls" => "netsec.tls",
        "ssh" => "netsec.ssh",
        "smb" => "netsec.smb",
        "dhcp" => "netsec.dhcp",
        "files" => "netsec.files",
        "dcerpc" => "netsec.dcerpc",
        "kerberos" => "netsec.kerberos",
        _ => "netsec.ntp",
    }
}

/// An event document up to its protocol's fields: `{"@timestamp":…,
/// "ecs":…,"event":…,"source":…,"destination":…,"network":{…}` (the
/// document left open).
fn push_event_head(out: &mut Vec<u8>, ctx: &EventContext, kind: &str) {
    out.extend_from_slice(b"{\"@timestamp\":\"");
    ctx.ts.push_rfc3339(out);
    out.extend_from_slice(b"\",\"ecs\":{\"version\":\"");
    out.extend_from_slice(ECS_VERSION.as_bytes());
    out.extend_from_slice(
        b"\"},\"event\":{\"kind\":\"event\",\"category\":[\"network\"],\"type\":[\"protocol\"],\"dataset\":\"",
    );
    out.extend_from_slice(event_dataset(kind).as_bytes());
    out.extend_from_slice(b"\"},\"source\":");
    push_event_endpoint(out, &ctx.src, ctx.transport);
    out.extend_from_slice(b",\"destination\":");
    push_event_endpoint(out, &ctx.dst, ctx.transport);
    out.extend_from_slice(b",\"network\":{\"transport\":\"");
    out.extend_from_slice(ctx.transport.name().as_bytes());
    out.extend_from_slice(b"\",\"iana_number\":\"");
    push_u64(out, u64::from(ctx.transport.ip_proto()));
    out.extend_from_slice(b"\",\"protocol\":\"");
    out.extend_from_slice(kind.as_bytes());
    out.push(b'"');
    if let Some(community_id) = &ctx.community_id {
        out.extend_from_slice(b",\"community_id\":\"");
        out.extend_from_slice(community_id.as_bytes());
        out.push(b'"');
    }
    out.push(b'}');
}

/// `,"netsec":{"flow_id":…,"packet":…,"direction":…` (left open for the
/// protocol's own fields).
fn push_netsec_head(out: &mut Vec<u8>, ctx: &EventContext) {
    out.extend_from_slice(b",\"netsec\":{");
    if let Some(id) = ctx.flow_id {
        out.extend_from_slice(b"\"flow_id\":");
        push_u64(out, id.0);
        out.push(b',');
    }
    out.extend_from_slice(b"\"packet\":");
    push_u64(out, ctx.packet_number);
    out.extend_from_slice(match ctx.direction {
        crate::flow::Direction::ToServer => b",\"direction\":\"to_server\"",
        crate::flow::Direction::ToClient => b",\"direction\":\"to_client\"",
    });
}

/// Writes `,"key":value` pairs of an object after the first one without a
/// comma: what an object of optional fields needs.
struct Fields<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> Fields<'a> {
    /// `{`, and fields to come.
    fn open(out: &'a mut Vec<u8>) -> Self {
        out.push(b'{');
        Fields { out, first: true }
    }

    /// `"key":` (after a comma unless first): the caller writes the value.
    fn key(&mut self, key: &[u8]) -> &mut Vec<u8> {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.out.push(b'"');
        self.out.extend_from_slice(key);
        self.out.extend_from_slice(b"\":");
        self.out
    }

    fn str(&mut self, key: &[u8], value: &str) {
        crate::json_text::push_json_str(self.key(key), value);
    }

    fn u64(&mut self, key: &[u8], value: u64) {
        push_u64(self.key(key), value);
    }

    /// `{"bytes":N}` under `key`.
    fn body(&mut self, key: &[u8], bytes: u64) {
        let out = self.key(key);
        out.extend_from_slice(b"{\"bytes\":");
        push_u64(out, bytes);
        out.push(b'}');
    }

    /// `}`.
    fn close(self) {
        self.out.push(b'}');
    }
}

/// `,"http":…,"url":…,"user_agent":…` of an HTTP message ([`serialize_http`]).
fn push_http(out: &mut Vec<u8>, h: &HttpEvent) {
    use crate::json_text::push_json_str;
    out.extend_from_slice(b",\"http\":{\"version\":");
    push_json_str(out, &h.version);
    match &h.message {
        HttpMessage::Request {
            method,
            uri,
            host,
            user_agent,
        } => {
            out.extend_from_slice(b",\"request\":{\"method\":");
            push_json_str(out, method);
            out.extend_from_slice(b"}},\"url\":");
            let mut url = Fields::open(out);
            url.str(b"original", uri);
            if let Some((domain, port)) = host.as_deref().map(split_host_port) {
                url.str(b"domain", domain);
                if let Some(port) = port {
                    url.u64(b"port", u64::from(port));
                }
            }
            url.close();
            if let Some(ua) = user_agent {
                out.extend_from_slice(b",\"user_agent\":{\"original\":");
                push_json_str(out, ua);
                out.push(b'}');
            }
        }
        HttpMessage::Response {
            status,
            content_type,
            content_length,
            ..
        } => {
            out.extend_from_slice(b",\"response\":");
            let mut response = Fields::open(out);
            response.u64(b"status_code", u64::from(*status));
            if let Some(mime) = content_type {
                response.str(b"mime_type", mime);
            }
            if let Some(bytes) = content_length {
                response.body(b"body", *bytes);
            }
            response.close();
            out.push(b'}');
        }
    }
}

/// `,"http":{…}` of `netsec.*` for an HTTP message: reason, server, headers.
fn push_http_extra(out: &mut Vec<u8>, h: &HttpEvent) {
    use crate::json_text::push_json_str;
    out.extend_from_slice(b",\"http\":");
    let mut extra = Fields::open(out);
    if let HttpMessage::Response { reason, server, .. } = &h.message {
        extra.str(b"reason", reason);
        if let Some(server) = server {
            extra.str(b"server", server);
        }
    }
    if !h.headers.is_empty() {
        let out = extra.key(b"headers");
        out.push(b'[');
        for (i, (name, value)) in h.headers.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.push(b'[');
            push_json_str(out, name);
            out.push(b',');
            push_json_str(out, value);
            out.push(b']');
        }
        out.push(b']');
    }
    extra.close();
}

/// `,"file":…,"http":…,"url":…` of a file carried over HTTP
/// ([`serialize_file`]).
fn push_file(out: &mut Vec<u8>, f: &crate::event::FileEvent) {
    out.extend_from_slice(b",\"file\":");
    let mut file = Fields::open(out);
    if let Some(name) = f.filename() {
        file.str(b"name", name);
    }
    file.u64(b"size", f.bytes);
    if let Some(mime) = &f.mime_type {
        file.str(b"mime_type", mime);
    }
    if f.sha256.is_some() || f.md5.is_some() {
        let mut hash = Fields::open(file.key(b"hash"));
        if let Some(sha256) = &f.sha256 {
            hash.str(b"sha256", sha256);
        }
        if let Some(md5) = &f.md5 {
            hash.str(b"md5", md5);
        }
        hash.close();
    }
    file.close();
    let upload = f.ctx.direction == crate::flow::Direction::ToServer;
    out.extend_from_slice(b",\"http\":{\"request\":");
    let mut request = Fields::open(out);
    if let Some(method) = &f.method {
        request.str(b"method", method);
    }
    if upload {
        request.body(b"body", f.bytes);
    }
    request.close();
    if !upload {
        out.extend_from_slice(b",\"response\":");
        let mut response = Fields::open(out);
        if let Some(status) = f.status {
            response.u64(b"status_code", u64::from(status));
        }
        response.body(b"body", f.bytes);
        response.close();
    }
    out.push(b'}');
    if let Some(uri) = &f.uri {
        out.extend_from_slice(b",\"url\":");
        let mut url = Fields::open(out);
        url.str(b"original", uri);
        if let Some(host) = &f.host {
            url.str(b"domain", split_host_port(host).0);
        }
        url.close();
    }
}

/// `,"file":{…}` of `netsec.*` for a file: what ECS has no field for.
fn push_file_extra(out: &mut Vec<u8>, f: &crate::event::FileEvent) {
    out.extend_from_slice(if f.complete {
        b",\"file\":{\"complete\":true,\"missing_bytes\":"
    } else {
        b",\"file\":{\"complete\":false,\"missing_bytes\":"
    });
    push_u64(out, f.missing_bytes);
    if f.over_limit {
        out.extend_from_slice(b",\"over_limit\":true");
    }
    if let Some(length) = f.declared_length {
        out.extend_from_slice(b",\"declared_length\":");
        push_u64(out, length);
    }
    if let Some(encoding) = &f.content_encoding {
        out.extend_from_slice(b",\"content_encoding\":");
        crate::json_text::push_json_str(out, encoding);
    }
    out.push(b'}');
}

/// `source` / `destination` of an event document ([`EndpointDoc`] without
/// counts).
fn push_event_endpoint(out: &mut Vec<u8>, ep: &Endpoint, transport: Transport) {
    push_endpoint_address(out, ep, transport);
    out.push(b'}');
}

/// The opening of an endpoint object: `{"ip":"…"` and, for a transport with
/// ports, `,"port":N`; the caller adds what follows and the closing brace.
fn push_endpoint_address(out: &mut Vec<u8>, ep: &Endpoint, transport: Transport) {
    out.extend_from_slice(b"{\"ip\":\"");
    push_ip(out, ep.ip);
    out.push(b'"');
    if transport.has_ports() {
        out.extend_from_slice(b",\"port\":");
        push_u64(out, u64::from(ep.port));
    }
}

/// `dns` of a DNS message's document ([`DnsDoc`]).
fn push_dns(out: &mut Vec<u8>, d: &DnsEvent) {
    use crate::json_text::push_json_str;
    out.extend_from_slice(b"{\"id\":\"");
    push_u64(out, u64::from(d.id));
    out.extend_from_slice(if d.is_response {
        b"\",\"type\":\"answer\",\"op_code\":\""
    } else {
        b"\",\"type\":\"query\",\"op_code\":\""
    });
    out.extend_from_slice(dns_opcode(d.opcode).as_bytes());
    out.push(b'"');
    if d.is_response {
        out.extend_from_slice(b",\"response_code\":\"");
        out.extend_from_slice(dns_rcode(d.rcode).as_bytes());
        out.push(b'"');
    }
    out.extend_from_slice(b",\"header_flags\":[");
    for (i, flag) in d.flags.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'"');
        out.extend(flag.bytes().map(|b| b.to_ascii_uppercase()));
        out.push(b'"');
    }
    out.push(b']');
    if let Some(q) = d.questions.first() {
        out.extend_from_slice(b",\"question\":{\"name\":");
        push_json_dns_name(out, &q.name);
        out.extend_from_slice(b",\"type\":");
        push_json_str(out, &q.qtype);
        out.extend_from_slice(b",\"class\":\"");
        out.extend_from_slice(dns_class(q.qclass).as_bytes());
        out.extend_from_slice(b"\"}");
    }
    if !d.answers.is_empty() {
        out.extend_from_slice(b",\"answers\":[");
        for (i, a) in d.answers.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b"{\"name\":");
            push_json_dns_name(out, &a.name);
            out.extend_from_slice(b",\"type\":");
            push_json_str(out, &a.rtype);
            out.extend_from_slice(b",\"class\":\"IN\",\"ttl\":");
            push_u64(out, u64::from(a.ttl));
            out.extend_from_slice(b",\"data\":");
            push_json_str(out, &a.data);
            out.push(b'}');
        }
        out.push(b']');
        let resolved = |a: &&DnsRecord| a.rtype == "A" || a.rtype == "AAAA";
        if d.answers.iter().any(|a| resolved(&a)) {
            out.extend_from_slice(b",\"resolved_ip\":[");
            for (i, a) in d.answers.iter().filter(resolved).enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                push_json_str(out, &a.data);
            }
            out.push(b']');
        }
    }
    out.push(b'}');
}

/// A DNS name as a JSON string, written from its wire form into `out`
/// without keeping its text on the name (an allocation per name): byte for
/// byte what `push_json_str(out, name.as_str())` writes. The presentation
/// form is printable ASCII, of which JSON escapes only `"` and `\`; a name
/// holding one (written `\"` or `\\` there) is escaped after it is
/// written.
fn push_json_dns_name(out: &mut Vec<u8>, name: &crate::DnsName) {
    out.push(b'"');
    let start = out.len();
    name.write_text(out);
    let text = out.get(start..).unwrap_or_default();
    if text.iter().any(|&b| b == b'"' || b == b'\\' || b < 0x20) {
        let text = out.split_off(start);
        crate::json_text::escape_json_into(out, &String::from_utf8_lossy(&text));
    }
    out.push(b'"');
}

/// `netsec.dns` of a DNS message's document ([`DnsExtra`]): by hand when it
/// holds only the query match or the unanswered mark (most responses),
/// through serde_json when it holds records. False when serde_json failed.
fn push_dns_extra(out: &mut Vec<u8>, extra: &DnsExtra<'_>) -> bool {
    let rare = !extra.more_questions.is_empty()
        || !extra.authorities.is_empty()
        || !extra.additionals.is_empty();
    if rare {
        return serde_json::to_writer(&mut *out, extra).is_ok();
    }
    out.push(b'{');
    let mut first = true;
    if let Some(latency) = extra.latency_ms {
        out.extend_from_slice(b"\"latency_ms\":");
        // A float as serde_json writes it (shortest round trip, by ryu).
        if serde_json::to_writer(&mut *out, &latency).is_err() {
            return false;
        }
        first = false;
    }
    if let Some(q) = &extra.query {
        if !first {
            out.push(b',');
        }
        out.extend_from_slice(b"\"query\":{\"packet\":");
        push_u64(out, q.packet);
        out.extend_from_slice(b",\"time\":\"");
        q.time.push_rfc3339(out);
        out.extend_from_slice(b"\"}");
        first = false;
    }
    if extra.unanswered {
        if !first {
            out.push(b',');
        }
        out.extend_from_slice(b"\"unanswered\":true");
    }
    out.push(b'}');
    true
}

impl Serialize for EventDocument<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let ev = self.0;
        let ctx: &EventContext = ev.context();
        let kind = ev.kind();
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("@timestamp", &ctx.ts)?;
        m.serialize_entry("ecs", &ECS)?;
        m.serialize_entry("event", &EventMeta::protocol(event_dataset(kind)))?;
        m.serialize_entry("source", &EndpointDoc::new(&ctx.src, ctx.transport))?;
        m.serialize_entry("destination", &EndpointDoc::new(&ctx.dst, ctx.transport))?;
        m.serialize_entry(
            "network",
            &Network {
                transport: ctx.transport.name(),
                iana_number: AsText(ctx.transport.ip_proto()),
                protocol: Some(kind),
                community_id: ctx.community_id.as_deref(),
                bytes: None,
                packets: None,
                vlan: None,
            },
        )?;
        match ev {
            AppEvent::Dns(d) => m.serialize_entry("dns", &DnsDoc(d))?,
            AppEvent::Http(h) => serialize_http(&mut m, h)?,
            AppEvent::File(f) => serialize_file(&mut m, f)?,
            AppEvent::Tls(t) => {
                let empty = matches!(&t.message, TlsMessage::Certificate { certificates, .. } if certificates.is_empty());
                if !empty {
                    m.serialize_entry("tls", &TlsDoc(&t.message))?
                }
            }
            _ => {}
        }
        m.serialize_entry("netsec", &NetsecEvent { ctx, event: ev })?;
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
                #[serde(skip_serializing_if = "Option::is_none")]
                port: Option<u16>,
            }
            let (domain, port) = match host.as_deref().map(split_host_port) {
                Some((d, p)) => (Some(d), p),
                None => (None, None),
            };
            m.serialize_entry(
                "url",
                &Url {
                    original: uri,
                    domain,
                    port,
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

/// ECS `file.*` (name, size, MIME type, hashes), `url.*` and `http.*` of
/// a file carried over HTTP: `http.response.body.bytes` for a download,
/// `http.request.body.bytes` for an upload.
fn serialize_file<M: SerializeMap>(m: &mut M, f: &crate::event::FileEvent) -> Result<(), M::Error> {
    #[derive(Serialize)]
    struct Hash<'a> {
        #[serde(skip_serializing_if = "Option::is_none")]
        sha256: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        md5: Option<&'a str>,
    }
    #[derive(Serialize)]
    struct File<'a> {
        #[serde(skip_serializing_if = "Option::is_none")]
        name: Option<&'a str>,
        size: u64,
        #[serde(skip_serializing_if = "Option::is_none")]
        mime_type: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        hash: Option<Hash<'a>>,
    }
    let hash = (f.sha256.is_some() || f.md5.is_some()).then_some(Hash {
        sha256: f.sha256.as_deref(),
        md5: f.md5.as_deref(),
    });
    m.serialize_entry(
        "file",
        &File {
            name: f.filename(),
            size: f.bytes,
            mime_type: f.mime_type.as_deref(),
            hash,
        },
    )?;
    #[derive(Serialize)]
    struct Request<'a> {
        #[serde(skip_serializing_if = "Option::is_none")]
        method: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        body: Option<HttpBody>,
    }
    #[derive(Serialize)]
    struct Response {
        #[serde(skip_serializing_if = "Option::is_none")]
        status_code: Option<u16>,
        #[serde(skip_serializing_if = "Option::is_none")]
        body: Option<HttpBody>,
    }
    #[derive(Serialize)]
    struct Http<'a> {
        request: Request<'a>,
        #[serde(skip_serializing_if = "Option::is_none")]
        response: Option<Response>,
    }
    let upload = f.ctx.direction == crate::flow::Direction::ToServer;
    let body = Some(HttpBody { bytes: f.bytes });
    m.serialize_entry(
        "http",
        &Http {
            request: Request {
                method: f.method.as_deref(),
                body: if upload { body } else { None },
            },
            response: (!upload).then_some(Response {
                status_code: f.status,
                body: Some(HttpBody { bytes: f.bytes }),
            }),
        },
    )?;
    if let Some(uri) = f.uri.as_deref() {
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
                domain: f.host.as_deref().map(|h| split_host_port(h).0),
            },
        )?;
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
            mac: AsText<EcsMac>,
        }
        #[derive(Serialize)]
        struct ArpExtra {
            packet: u64,
            operation: u16,
            #[serde(skip_serializing_if = "Option::is_none")]
            ethernet_source: Option<AsText<EcsMac>>,
        }
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("@timestamp", &a.ts)?;
        m.serialize_entry("ecs", &ECS)?;
        m.serialize_entry("event", &EventMeta::protocol("netsec.arp"))?;
        m.serialize_entry(
            "source",
            &Host {
                ip: a.sender_ip,
                mac: AsText(EcsMac(a.sender_mac)),
            },
        )?;
        m.serialize_entry(
            "destination",
            &Host {
                ip: a.target_ip,
                mac: AsText(EcsMac(a.target_mac)),
            },
        )?;
        m.serialize_entry(
            "netsec",
            &ArpExtra {
                packet: a.packet_number,
                operation: a.operation,
                ethernet_source: a.eth_src.map(|m| AsText(EcsMac(m))),
            },
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
                id: (!f.id.is_empty()).then_some(f.id.as_str()),
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
        // What ECS has no field for: the severity's name, the confidence,
        // every entity, the evidence beyond its summary, the producer.
        #[derive(Serialize)]
        struct EvidenceExtra<'a> {
            #[serde(skip_serializing_if = "<[_]>::is_empty")]
            measurements: &'a [crate::finding::Measurement],
            #[serde(skip_serializing_if = "<[_]>::is_empty")]
            flows: &'a [crate::flow::FlowRef],
            #[serde(skip_serializing_if = "Option::is_none")]
            flows_total: Option<u64>,
            #[serde(skip_serializing_if = "<[_]>::is_empty")]
            packets: &'a [u64],
            #[serde(skip_serializing_if = "<[_]>::is_empty")]
            facts: &'a [(String, String)],
        }
        #[derive(Serialize)]
        struct FindingExtra<'a> {
            severity: &'static str,
            confidence: crate::finding::Confidence,
            entities: &'a [crate::finding::Entity],
            evidence: EvidenceExtra<'a>,
            producer: &'a str,
        }
        #[derive(Serialize)]
        struct NetsecFinding<'a> {
            finding: FindingExtra<'a>,
        }
        let e = &f.evidence;
        m.serialize_entry(
            "netsec",
            &NetsecFinding {
                finding: FindingExtra {
                    severity: f.severity.name(),
                    confidence: f.confidence,
                    entities: &f.entities,
                    evidence: EvidenceExtra {
                        measurements: &e.measurements,
                        flows: &e.flows,
                        flows_total: e.flows_total,
                        packets: &e.packets,
                        facts: &e.facts,
                    },
                    producer: &f.producer,
                },
            },
        )?;
        m.end()
    }
}

/// A line of `findings.jsonl` that is not a finding netsec wrote.
#[derive(Debug, thiserror::Error)]
pub enum FindingParseError {
    /// Not JSON, or not the shape [`FindingDocument`] writes.
    #[error("not a netsec finding document: {0}")]
    Shape(#[from] serde_json::Error),
}

impl FindingDocument<'_> {
    /// Read back a finding from the ECS document [`FindingDocument`] writes
    /// (one line of `findings.jsonl`): every field of the [`Finding`]
    /// round-trips. A plain serde [`Finding`] (as in `--format json`
    /// summaries) is accepted too.
    pub fn parse(line: &str) -> Result<Finding, FindingParseError> {
        use serde::Deserialize;
        #[derive(Deserialize)]
        struct Event {
            #[serde(default)]
            id: Option<String>,
            start: Timestamp,
            end: Timestamp,
            #[serde(default)]
            reason: Option<String>,
        }
        #[derive(Deserialize)]
        struct Rule {
            name: String,
            category: crate::finding::FindingCategory,
        }
        #[derive(Deserialize)]
        struct Technique {
            id: Vec<String>,
        }
        #[derive(Deserialize)]
        struct Threat {
            technique: Technique,
        }
        #[derive(Deserialize)]
        struct EvidenceExtra {
            #[serde(default)]
            measurements: Vec<crate::finding::Measurement>,
            #[serde(default)]
            flows: Vec<crate::flow::FlowRef>,
            #[serde(default)]
            flows_total: Option<u64>,
            #[serde(default)]
            packets: Vec<u64>,
            #[serde(default)]
            facts: Vec<(String, String)>,
        }
        #[derive(Deserialize)]
        struct FindingExtra {
            severity: crate::finding::Severity,
            confidence: crate::finding::Confidence,
            #[serde(default)]
            entities: Vec<crate::finding::Entity>,
            evidence: EvidenceExtra,
            producer: String,
        }
        #[derive(Deserialize)]
        struct Netsec {
            finding: FindingExtra,
        }
        #[derive(Deserialize)]
        struct Document {
            message: String,
            event: Event,
            rule: Rule,
            #[serde(default)]
            threat: Option<Threat>,
            netsec: Netsec,
        }
        let value: serde_json::Value = serde_json::from_str(line)?;
        if value.get("ecs").is_none() {
            return Ok(serde_json::from_value(value)?);
        }
        let d: Document = serde_json::from_value(value)?;
        let x = d.netsec.finding;
        Ok(Finding {
            id: d.event.id.unwrap_or_default(),
            kind: d.rule.name,
            title: d.message,
            category: d.rule.category,
            severity: x.severity,
            confidence: x.confidence,
            mitre: d.threat.map(|t| t.technique.id).unwrap_or_default(),
            entities: x.entities,
            time: crate::time::TimeRange {
                start: d.event.start,
                end: d.event.end,
            },
            evidence: crate::finding::Evidence {
                summary: d.event.reason.unwrap_or_default(),
                measurements: x.evidence.measurements,
                flows: x.evidence.flows,
                flows_total: x.evidence.flows_total,
                packets: x.evidence.packets,
                facts: x.evidence.facts,
            },
            producer: x.producer,
        })
    }
}

/// A signature alert as an ECS document (`event.kind: alert`,
/// `event.dataset: netsec.alert`): `rule.*` as ECS names them, the
/// packet's 5-tuple, the Community ID, and `netsec.alert` for what ECS
/// lacks (packet number, matched buffer and excerpt).
pub struct AlertDocument<'a>(pub &'a crate::alert::Alert);

impl Serialize for AlertDocument<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let a = self.0;
        #[derive(Serialize)]
        struct Event<'a> {
            kind: &'static str,
            category: [&'static str; 2],
            dataset: &'static str,
            severity: u8,
            action: &'static str,
            #[serde(skip_serializing_if = "Option::is_none")]
            id: Option<String>,
            #[serde(skip_serializing_if = "Option::is_none")]
            reference: Option<&'a str>,
        }
        #[derive(Serialize)]
        struct Side {
            ip: std::net::IpAddr,
            port: u16,
        }
        #[derive(Serialize)]
        struct Network<'a> {
            transport: &'static str,
            #[serde(skip_serializing_if = "Option::is_none")]
            community_id: Option<&'a str>,
            direction: &'static str,
        }
        #[derive(Serialize)]
        struct Rule<'a> {
            id: String,
            uuid: String,
            name: &'a str,
            category: &'a str,
            ruleset: &'a str,
            version: String,
        }
        #[derive(Serialize)]
        struct Technique<'a> {
            id: &'a [String],
        }
        #[derive(Serialize)]
        struct Threat<'a> {
            framework: &'static str,
            technique: Technique<'a>,
        }
        #[derive(Serialize)]
        struct NetsecAlert<'a> {
            packet_number: u64,
            #[serde(skip_serializing_if = "Option::is_none")]
            flow_id: Option<String>,
            gid: u32,
            sid: u32,
            rev: u32,
            priority: u8,
            buffer: &'a str,
            excerpt: &'a str,
        }
        #[derive(Serialize)]
        struct Netsec<'a> {
            alert: NetsecAlert<'a>,
        }
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("@timestamp", &a.ts)?;
        m.serialize_entry("ecs", &ECS)?;
        m.serialize_entry("message", &a.msg)?;
        m.serialize_entry(
            "event",
            &Event {
                kind: "alert",
                category: ["network", "intrusion_detection"],
                dataset: "netsec.alert",
                // ECS severity 0-100 from Suricata priority 1 (highest) to 4
                severity: match a.priority {
                    0 | 1 => 73,
                    2 => 47,
                    3 => 21,
                    _ => 10,
                },
                action: "allowed",
                id: a
                    .flow_id
                    .map(|f| format!("{f}:{}:{}", a.packet_number, a.sid)),
                reference: None,
            },
        )?;
        m.serialize_entry(
            "source",
            &Side {
                ip: a.src_ip,
                port: a.src_port,
            },
        )?;
        m.serialize_entry(
            "destination",
            &Side {
                ip: a.dst_ip,
                port: a.dst_port,
            },
        )?;
        m.serialize_entry(
            "network",
            &Network {
                transport: a.transport.name(),
                community_id: a.community_id.as_deref(),
                direction: match a.direction {
                    crate::flow::Direction::ToServer => "to_server",
                    crate::flow::Direction::ToClient => "to_client",
                },
            },
        )?;
        m.serialize_entry(
            "rule",
            &Rule {
                id: a.sid.to_string(),
                uuid: format!("{}:{}:{}", a.gid, a.sid, a.rev),
                name: &a.msg,
                category: &a.category,
                ruleset: &a.ruleset,
                version: a.rev.to_string(),
            },
        )?;
        if !a.mitre.is_empty() {
            m.serialize_entry(
                "threat",
                &Threat {
                    framework: "MITRE ATT&CK",
                    technique: Technique { id: &a.mitre },
                },
            )?;
        }
        m.serialize_entry(
            "netsec",
            &Netsec {
                alert: NetsecAlert {
                    packet_number: a.packet_number,
                    flow_id: a.flow_id.map(|f| f.to_string()),
                    gid: a.gid,
                    sid: a.sid,
                    rev: a.rev,
                    priority: a.priority,
                    buffer: &a.buffer,
                    excerpt: &a.excerpt,
                },
            },
        )?;
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

    /// Every octet value in every position is written as `Display` writes
    /// it.
    #[test]
    fn ipv4_text_equals_display() {
        for v in 0..=255u8 {
            for ip in [
                std::net::Ipv4Addr::new(v, 255 - v, v / 7, 0),
                std::net::Ipv4Addr::new(0, v, 100, 255 - v / 3),
                std::net::Ipv4Addr::new(9, 10, v, v),
            ] {
                let mut out = b"x".to_vec();
                push_ip(&mut out, ip.into());
                assert_eq!(out, format!("x{ip}").into_bytes());
            }
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
            flags: ["rd", "ra"].into_iter().collect(),
            questions: vec![DnsQuestion {
                name: "nosuch.example".into(),
                qtype: "A".into(),
                qtype_code: 1,
                qclass: 1,
            }],
            answers: vec![],
            authorities: vec![],
            additionals: vec![],
            query: None,
            unanswered: false,
        });
        let v = serde_json::to_value(EventDocument(&ev)).unwrap_or_default();
        assert_eq!(v["dns"]["question"]["name"], "nosuch.example");
        assert_eq!(v["dns"]["response_code"], "NXDOMAIN");
        assert_eq!(v["dns"]["header_flags"][0], "RD");
        assert_eq!(v["source"]["port"], 5353);
        assert_eq!(v["network"]["community_id"], "1:xyz");
        assert_eq!(v["dns"]["id"], "4660");
        assert_eq!(v["network"]["iana_number"], "17");
        assert_eq!(v["netsec"]["flow_id"], 3);
        assert_eq!(v["netsec"]["packet"], 7);
        // Nothing twice: the message is not repeated under netsec.
        assert!(v["netsec"].get("dns").is_none(), "{}", v["netsec"]);
        assert_eq!(v["dns"]["header_flags"], serde_json::json!(["RD", "RA"]));

        // Matched to its query: the latency and the query's packet and time.
        let AppEvent::Dns(mut d) = ev else { return };
        d.query = Some(crate::event::DnsQueryMatch {
            packet_number: 5,
            ts: Timestamp::from_nanos(d.ctx.ts.as_nanos() - 1_250_000),
            latency_ns: 1_250_000,
        });
        let v = serde_json::to_value(EventDocument(&AppEvent::Dns(d.clone()))).unwrap_or_default();
        assert_eq!(v["netsec"]["dns"]["latency_ms"], 1.25);
        assert_eq!(v["netsec"]["dns"]["query"]["packet"], 5);
        assert!(v["netsec"]["dns"]["query"]["time"].is_string(), "{v}");
        assert!(v["netsec"]["dns"].get("unanswered").is_none(), "{v}");

        // A query marked unanswered by the log writer.
        d.query = None;
        d.unanswered = true;
        let v = serde_json::to_value(EventDocument(&AppEvent::Dns(d))).unwrap_or_default();
        assert_eq!(v["netsec"]["dns"]["unanswered"], true);
    }

    #[test]
    fn dns_names_written_from_the_wire_are_their_text_as_json() {
        let labels: [&[&[u8]]; 7] = [
            &[b"www", b"example", b"lab"],
            &[],
            &[b"a\"quote", b"back\\slash"],
            &[b"dot.in", b"label"],
            &[b"\x00\x01\x1f\x7f\xff", b"bin"],
            &[b"sp ace", b"(paren);@$"],
            &[&[b'x'; 63], &[b'y'; 63], &[b'z'; 63], b"long"],
        ];
        for name in labels
            .iter()
            .map(|l| crate::DnsName::from_labels(l.iter().copied()))
        {
            let mut direct = Vec::new();
            push_json_dns_name(&mut direct, &name);
            let mut through_text = Vec::new();
            crate::json_text::push_json_str(&mut through_text, name.as_str());
            assert_eq!(
                String::from_utf8_lossy(&direct),
                String::from_utf8_lossy(&through_text)
            );
            let parsed: String = serde_json::from_slice(&direct).unwrap();
            assert_eq!(parsed, name.as_str());
        }
    }

    #[test]
    fn dns_flags_serialise_as_the_names_set() {
        let f = crate::event::DnsFlags::from_header(true, false, true, true, false, true);
        let json = serde_json::to_string(&f).unwrap_or_default();
        assert_eq!(json, r#"["aa","rd","ra","cd"]"#);
        let back: crate::event::DnsFlags = serde_json::from_str(&json).unwrap_or_default();
        assert_eq!(back, f);
        assert!(f.contains("ra") && !f.contains("tc"));
        assert!(serde_json::from_str::<crate::event::DnsFlags>(r#"["zz"]"#).is_err());
    }

    #[test]
    fn dcerpc_and_kerberos_events_have_their_datasets() {
        let rpc = AppEvent::DceRpc(crate::event::DceRpcEvent {
            ctx: ctx(),
            ptype: "request".into(),
            call_id: 2,
            pipe: Some("svcctl".into()),
            context_id: Some(0),
            interface: Some("svcctl".into()),
            opnum: Some(12),
            operation: Some("CreateServiceW".into()),
            contexts: Vec::new(),
            results: Vec::new(),
            status: None,
            zero_credential: None,
            sid_count: None,
        });
        let v = serde_json::to_value(EventDocument(&rpc)).unwrap_or_default();
        assert_eq!(v["event"]["dataset"], "netsec.dcerpc");
        assert_eq!(v["network"]["protocol"], "dcerpc");
        assert_eq!(v["netsec"]["dcerpc"]["operation"], "CreateServiceW");
        assert_eq!(v["netsec"]["dcerpc"]["pipe"], "svcctl");
        assert!(v["netsec"]["dcerpc"].get("zero_credential").is_none());
        let krb = AppEvent::Kerberos(crate::event::KerberosEvent {
            ctx: ctx(),
            msg_type: 30,
            msg_name: "KRB-ERROR".into(),
            realm: Some("LAB.TEST".into()),
            client: Some("alice".into()),
            server: Some("krbtgt/LAB.TEST".into()),
            etypes: Vec::new(),
            ticket_etype: None,
            reply_etype: None,
            pa_enc_timestamp: false,
            error_code: Some(24),
        });
        let v = serde_json::to_value(EventDocument(&krb)).unwrap_or_default();
        assert_eq!(v["event"]["dataset"], "netsec.kerberos");
        assert_eq!(v["netsec"]["kerberos"]["error_code"], 24);
        assert_eq!(v["netsec"]["kerberos"]["client"], "alice");
        assert!(v["netsec"]["kerberos"].get("etypes").is_none());
    }

    #[test]
    fn host_header_splits_into_domain_and_port() {
        assert_eq!(
            split_host_port("203.0.113.7:8080"),
            ("203.0.113.7", Some(8080))
        );
        assert_eq!(split_host_port("example.com"), ("example.com", None));
        assert_eq!(
            split_host_port("[2001:db8::1]:8443"),
            ("2001:db8::1", Some(8443))
        );
        assert_eq!(split_host_port("[2001:db8::1]"), ("2001:db8::1", None));
        assert_eq!(split_host_port("2001:db8::1"), ("2001:db8::1", None));
        assert_eq!(
            split_host_port("example.com:http"),
            ("example.com:http", None)
        );
    }

    #[test]
    fn a_finding_document_reads_back_as_the_finding() {
        use crate::finding::{Comparison, EntityValue, FindingCategory, Severity};
        use crate::flow::FlowRef;
        let f = Finding::new(
            "tcp_port_scan",
            "10.0.0.1 scanned 10.0.0.2",
            FindingCategory::Reconnaissance,
            Severity::High,
            0.83,
            crate::time::TimeRange {
                start: Timestamp::from_secs_nanos(10, 5),
                end: Timestamp::from_secs_nanos(20, 0),
            },
            "netsec-detect/portscan",
        )
        .with_id("10.0.0.1")
        .with_mitre(["T1046"])
        .with_entity(EntityRole::Source, EntityValue::Host { ip: ctx().src.ip })
        .with_entity(EntityRole::Target, EntityValue::Host { ip: ctx().dst.ip })
        .with_summary("100 ports")
        .with_measurement(
            "distinct_ports",
            100.0,
            "ports",
            Comparison::GreaterOrEqual,
            20.0,
        )
        .with_flow(FlowRef {
            community_id: Some("1:abc".into()),
            flow_id: Some(FlowId(4)),
            client: ctx().src,
            server: ctx().dst,
            transport: Transport::Tcp,
            time: crate::time::TimeRange::at(Timestamp::from_secs_nanos(11, 0)),
        })
        .with_fact("k", "v");
        let line = serde_json::to_string(&FindingDocument(&f)).unwrap();
        assert_eq!(FindingDocument::parse(&line).unwrap(), f);
        let plain = serde_json::to_string(&f).unwrap();
        assert_eq!(FindingDocument::parse(&plain).unwrap(), f);
        assert!(FindingDocument::parse("{\"ecs\": {}}").is_err());
        assert!(FindingDocument::parse("not json").is_err());
    }

    /// The flow line written by hand is the serialised document, byte for
    /// byte, over every variant of each field it writes differently.
    #[test]
    fn flow_lines_written_by_hand_are_the_serialised_documents() {
        use crate::flow::{AppProto, DirectionStats, FlowEndReason, FlowRecord, TcpState};
        use crate::packet::TcpFlags;
        use crate::time::TimeRange;
        use std::net::Ipv6Addr;
        let v4 = |a: u8, p| Endpoint::new(IpAddr::V4(Ipv4Addr::new(a, 0, 255, 9)), p);
        let v6 = |p| {
            Endpoint::new(
                IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)),
                p,
            )
        };
        let mapped = Endpoint::new(
            IpAddr::V6(Ipv4Addr::new(192, 0, 2, 1).to_ipv6_mapped()),
            65535,
        );
        let transports = [
            Transport::Tcp,
            Transport::Udp,
            Transport::Icmp,
            Transport::Icmpv6,
            Transport::Sctp,
            Transport::Other(47),
        ];
        let states = [
            TcpState::None,
            TcpState::SynSent,
            TcpState::SynReceived,
            TcpState::Established,
            TcpState::MidStream,
            TcpState::Closing,
            TcpState::Closed,
            TcpState::Rejected,
            TcpState::Reset,
        ];
        let protos = AppProto::ALL;
        let reasons = [
            FlowEndReason::IdleTimeout,
            FlowEndReason::ActiveTimeout,
            FlowEndReason::TcpClose,
            FlowEndReason::Evicted,
            FlowEndReason::EndOfInput,
            FlowEndReason::Ongoing,
        ];
        let endpoints = [
            (v4(10, 40000), v4(255, 0)),
            (v4(0, 1), v4(1, 65535)),
            (v6(53), v6(5353)),
            (mapped, v4(7, 80)),
        ];
        let mut checked = 0;
        for (i, transport) in transports.into_iter().enumerate() {
            for (j, (client, server)) in endpoints.into_iter().enumerate() {
                for (k, tcp_state) in states.into_iter().enumerate() {
                    let n = (i * 100 + j * 10 + k) as u64;
                    let start = Timestamp::from_secs_nanos(1_764_000_000 + n as i64, 1);
                    let end = if k == 3 {
                        // Out of order: a negative duration.
                        Timestamp::from_secs_nanos(1_700_000_000, 999_999_999)
                    } else {
                        Timestamp::from_secs_nanos(1_764_000_000 + 2 * n as i64, 20)
                    };
                    let side = |m: u64| DirectionStats {
                        packets: m,
                        bytes: if k == 8 { u64::MAX / 2 } else { m * 1500 },
                        payload_bytes: m * 7,
                        tcp_flags: TcpFlags((n * 37 + m) as u8),
                    };
                    let f = FlowRecord {
                        id: FlowId(if k == 0 { u64::MAX } else { n }),
                        community_id: format!("1:{n}abc+/="),
                        client,
                        server,
                        transport,
                        vlan: [0, 1, 4095][k % 3],
                        time: TimeRange { start, end },
                        to_server: side(n),
                        to_client: side(n / 3),
                        tcp_state,
                        app_proto: protos[(i + j + k) % protos.len()],
                        end_reason: reasons[(i + k) % reasons.len()],
                        missing_bytes: if j % 2 == 0 { 0 } else { n * 1000 },
                    };
                    let mut ours = b"prefix".to_vec();
                    assert!(FlowDocument(&f).write_json(&mut ours));
                    let mut theirs = b"prefix".to_vec();
                    serde_json::to_writer(&mut theirs, &FlowDocument(&f)).unwrap_or_default();
                    assert!(
                        ours == theirs,
                        "ours   {}\nserde_json {}",
                        String::from_utf8_lossy(&ours),
                        String::from_utf8_lossy(&theirs)
                    );
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, 6 * 4 * 9);
        // Text to escape: nothing written, the caller serialises.
        let mut f = FlowRecord {
            id: FlowId(1),
            community_id: "1:a\"b".into(),
            client: v4(1, 1),
            server: v4(2, 2),
            transport: Transport::Udp,
            vlan: 0,
            time: TimeRange::at(Timestamp::from_secs_nanos(1, 0)),
            to_server: DirectionStats::default(),
            to_client: DirectionStats::default(),
            tcp_state: TcpState::None,
            app_proto: AppProto::Unknown,
            end_reason: FlowEndReason::IdleTimeout,
            missing_bytes: 0,
        };
        for id in ["1:a\"b", "1:a\\b", "1:a\nb", "\u{1}"] {
            f.community_id = id.into();
            let mut out = b"kept".to_vec();
            assert!(!FlowDocument(&f).write_json(&mut out));
            assert_eq!(out, b"kept");
        }
    }
}
