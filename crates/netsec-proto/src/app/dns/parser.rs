//! DNS message parsing (RFC 1035) with hickory-proto, into the model's owned
//! [`DnsEvent`] fields.

use hickory_proto::op::{Message, MessageType};
use hickory_proto::rr::Record;
use netsec_model::{DnsEvent, DnsQuestion, DnsRecord, EventContext};

/// Name without the trailing dot of a fully qualified name; `<Root>` for the root.
fn name_text(name: &hickory_proto::rr::Name) -> String {
    let s = name.to_string();
    match s.strip_suffix('.') {
        Some("") => "<Root>".into(),
        Some(t) => t.to_string(),
        None => s,
    }
}

fn record(r: &Record) -> DnsRecord {
    let rtype = r.record_type();
    DnsRecord {
        name: name_text(&r.name),
        rtype: rtype.to_string(),
        rtype_code: u16::from(rtype),
        ttl: r.ttl,
        data: r.data.to_string(),
    }
}

/// Parse one DNS message.
pub fn parse_message(bytes: &[u8], ctx: &EventContext) -> Option<DnsEvent> {
    let m = Message::from_vec(bytes).ok()?;
    let md = &m.metadata;
    let mut flags = Vec::new();
    for (set, name) in [
        (md.authoritative, "aa"),
        (md.truncation, "tc"),
        (md.recursion_desired, "rd"),
        (md.recursion_available, "ra"),
        (md.authentic_data, "ad"),
        (md.checking_disabled, "cd"),
    ] {
        if set {
            flags.push(name.to_string());
        }
    }
    Some(DnsEvent {
        ctx: ctx.clone(),
        id: md.id,
        is_response: md.message_type == MessageType::Response,
        opcode: u8::from(md.op_code),
        rcode: u16::from(md.response_code),
        flags,
        questions: m
            .queries
            .iter()
            .map(|q| DnsQuestion {
                name: name_text(q.name()),
                qtype: q.query_type().to_string(),
                qtype_code: u16::from(q.query_type()),
                qclass: u16::from(q.query_class()),
            })
            .collect(),
        answers: m.answers.iter().map(record).collect(),
        authorities: m.authorities.iter().map(record).collect(),
        additionals: m.additionals.iter().map(record).collect(),
    })
}

/// Whether a payload has a plausible DNS header (length, opcode, Z bit),
/// whatever its sections hold.
pub fn looks_like_dns_header(b: &[u8]) -> bool {
    if b.len() < 12 {
        return false;
    }
    let flags = u16::from_be_bytes([b[2], b[3]]);
    matches!((flags >> 11) & 0x0f, 0 | 1 | 2 | 4 | 5)
}

/// Whether a payload looks like a DNS message: a header with sane counts and
/// opcode, and (for queries) one question. Cheap; no allocation.
pub fn looks_like_dns(b: &[u8]) -> bool {
    if b.len() < 12 {
        return false;
    }
    let flags = u16::from_be_bytes([b[2], b[3]]);
    let opcode = (flags >> 11) & 0x0f;
    let z = (flags >> 6) & 0x01;
    let qd = u16::from_be_bytes([b[4], b[5]]);
    let an = u16::from_be_bytes([b[6], b[7]]);
    let ns = u16::from_be_bytes([b[8], b[9]]);
    let ar = u16::from_be_bytes([b[10], b[11]]);
    // QUERY, IQUERY, STATUS, NOTIFY, UPDATE (RFC 1035, 1996, 2136).
    if !matches!(opcode, 0 | 1 | 2 | 4 | 5) || z != 0 {
        return false;
    }
    if qd == 0 || qd > 8 || an > 256 || ns > 256 || ar > 256 {
        return false;
    }
    // The first question's name: labels of 1..=63 bytes ending in a zero byte.
    let mut i = 12;
    for _ in 0..128 {
        let Some(&len) = b.get(i) else { return false };
        if len == 0 {
            return b.len() >= i + 5;
        }
        if len & 0xc0 == 0xc0 {
            return true;
        }
        if len > 63 {
            return false;
        }
        i += 1 + usize::from(len);
    }
    false
}
