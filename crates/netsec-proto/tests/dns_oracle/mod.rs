//! The former DNS parser, kept as the reference the new one is checked
//! against (tests/dns_hickory_oracle.rs, and the `dns_detect` fuzz target,
//! which includes this file): hickory-proto's `Message::from_vec`, each
//! record converted with `rdata_text` (names as hickory's labels), and when hickory
//! refuses the message, the header, the questions and the records up to
//! the first broken one (`lenient`).

use hickory_proto::op::{Header, Message, MessageType, Metadata, Query};
use hickory_proto::rr::{Record, RecordType};
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder};
use netsec_model::{DnsEvent, DnsFlags, DnsName, DnsQuestion, DnsRecord, EventContext};
use netsec_proto::app::dns::parser::rdata_text;

fn record(r: &Record) -> DnsRecord {
    let t = r.record_type();
    DnsRecord {
        name: DnsName::from_labels(r.name.iter()),
        rtype: t.to_string().into(),
        rtype_code: u16::from(t),
        ttl: r.ttl,
        data: rdata_text(&r.data),
    }
}

type Sections = (Metadata, Vec<Query>, Vec<Record>, Vec<Record>, Vec<Record>);

fn lenient(bytes: &[u8]) -> Option<Sections> {
    let mut d = BinDecoder::new(bytes);
    let Header {
        mut metadata,
        counts,
    } = Header::read(&mut d).ok()?;
    if counts.queries > 8 {
        return None;
    }
    let mut queries = Vec::new();
    for _ in 0..counts.queries {
        queries.push(Query::read(&mut d).ok()?);
    }
    let mut sections: [Vec<Record>; 3] = Default::default();
    let wanted = [counts.answers, counts.authorities, counts.additionals];
    'sections: for (section, n) in sections.iter_mut().zip(wanted) {
        for _ in 0..n {
            match Record::read(&mut d) {
                Ok(r) => section.push(r),
                Err(_) => break 'sections,
            }
        }
    }
    let [answers, authorities, mut additionals] = sections;
    if let Some(opt) = additionals
        .iter()
        .find(|r| r.record_type() == RecordType::OPT)
    {
        metadata.merge_response_code((opt.ttl >> 24) as u8);
    }
    additionals.retain(|r| {
        !matches!(
            r.record_type(),
            RecordType::OPT | RecordType::SIG | RecordType::TSIG
        )
    });
    Some((metadata, queries, answers, authorities, additionals))
}

/// The former parser.
pub fn oracle(bytes: &[u8], ctx: &EventContext) -> Option<DnsEvent> {
    let (md, queries, answers, authorities, additionals) = match Message::from_vec(bytes) {
        Ok(m) => (
            m.metadata,
            m.queries,
            m.answers,
            m.authorities,
            m.additionals,
        ),
        Err(_) => lenient(bytes)?,
    };
    Some(DnsEvent {
        ctx: ctx.clone(),
        id: md.id,
        is_response: md.message_type == MessageType::Response,
        opcode: u8::from(md.op_code),
        rcode: u16::from(md.response_code),
        flags: DnsFlags::from_header(
            md.authoritative,
            md.truncation,
            md.recursion_desired,
            md.recursion_available,
            md.authentic_data,
            md.checking_disabled,
        ),
        questions: queries
            .iter()
            .map(|q| DnsQuestion {
                name: DnsName::from_labels(q.name().iter()),
                qtype: q.query_type().to_string().into(),
                qtype_code: u16::from(q.query_type()),
                qclass: u16::from(q.query_class()),
            })
            .collect(),
        answers: answers.iter().map(record).collect(),
        authorities: authorities.iter().map(record).collect(),
        additionals: additionals.iter().map(record).collect(),
        query: None,
        unanswered: false,
    })
}
