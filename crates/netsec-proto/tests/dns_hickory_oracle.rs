//! The DNS parser reads messages with hickory-proto's decoders without
//! building its owned `Message`; this checks it gives, on every DNS message
//! of the workspace's captures, exactly what the former path gave: hickory's
//! `Message::from_vec`, each record converted with `name_text` /
//! `rdata_text`, and when hickory refuses the message, the header, the
//! questions and the records up to the first broken one (`lenient`).

mod app_pcap;

use std::path::PathBuf;

use app_pcap::{segments, testdata};
use hickory_proto::op::{Header, Message, MessageType, Metadata, Query};
use hickory_proto::rr::{Record, RecordType};
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder};
use netsec_model::{DnsEvent, DnsFlags, DnsQuestion, DnsRecord, EventContext, Transport};
use netsec_proto::app::dns::parser::{name_text, parse_message, rdata_text};

fn record(r: &Record) -> DnsRecord {
    let t = r.record_type();
    DnsRecord {
        name: name_text(&r.name),
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

/// The former parser, kept as the reference.
fn oracle(bytes: &[u8], ctx: &EventContext) -> Option<DnsEvent> {
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
                name: name_text(q.name()),
                qtype: q.query_type().to_string().into(),
                qtype_code: u16::from(q.query_type()),
                qclass: u16::from(q.query_class()),
            })
            .collect(),
        answers: answers.iter().map(record).collect(),
        authorities: authorities.iter().map(record).collect(),
        additionals: additionals.iter().map(record).collect(),
        query: None,
    })
}

/// Every capture of testdata/ that carries DNS.
fn captures() -> Vec<PathBuf> {
    let mut out = vec![testdata("sample.pcap")];
    for dir in ["dns", "dns/verify", "suricata-verify"] {
        let Ok(entries) = std::fs::read_dir(testdata(dir)) else {
            continue;
        };
        let mut names: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        names.sort();
        out.extend(names.into_iter().filter(|p| {
            let n = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            (n.ends_with(".pcap") || n.ends_with(".pcap.zst"))
                && (dir != "suricata-verify" || n.starts_with("dns"))
        }));
    }
    out
}

/// Compare one message both ways; true when either parsed it.
fn same(payload: &[u8], ctx: &EventContext, what: &str) -> bool {
    let new = parse_message(payload, ctx);
    let old = oracle(payload, ctx);
    assert_eq!(new, old, "{what}");
    new.is_some()
}

#[test]
fn parses_every_captured_message_as_hickorys_message_did() {
    let ctx = app_pcap_ctx();
    let (mut messages, mut parsed) = (0, 0);
    for cap in captures() {
        for s in segments(&cap) {
            if s.src.port != 53 && s.dst.port != 53 {
                continue;
            }
            let what = format!("{} packet {}", cap.display(), s.number);
            // UDP datagrams whole; TCP segments holding one framed message.
            let body = match s.transport {
                Transport::Tcp => match s.data.get(..2) {
                    Some(l)
                        if usize::from(u16::from_be_bytes([l[0], l[1]])) + 2 == s.data.len() =>
                    {
                        &s.data[2..]
                    }
                    _ => continue,
                },
                _ => &s.data[..],
            };
            messages += 1;
            parsed += usize::from(same(body, &ctx, &what));
            // Every cut of it too: records broken, counts not met.
            for cut in [body.len() / 2, body.len().saturating_sub(1), 13, 30] {
                if let Some(b) = body.get(..cut) {
                    same(b, &ctx, &format!("{what} cut at {cut}"));
                }
            }
        }
    }
    assert!(messages > 2_000, "{messages} messages");
    assert!(
        parsed * 100 > messages * 95,
        "{parsed} of {messages} parsed"
    );
}

/// Messages hickory refuses whole for what follows the records, and the
/// lenient path reads: two OPT records, an OPT in the answer section, an
/// empty record outside UPDATE, more than 8 questions.
#[test]
fn refused_messages_read_as_before() {
    let ctx = app_pcap_ctx();
    let q = b"\x00\x07\x81\x83\x00\x01\x00\x01\x00\x00\x00\x02\x01a\x02ex\x00\x00\x01\x00\x01";
    let a = b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\xc0\x00\x02\x08";
    let opt = b"\x00\x00\x29\x10\x00\x01\x00\x00\x00\x00\x00";
    let empty = b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x00";
    let null = b"\xc0\x0c\x00\x0a\x00\x01\x00\x00\x00\x3c\x00\x03abc";
    let private = b"\xc0\x0c\xff\x77\x00\x01\x00\x00\x00\x3c\x00\x02\xff\x00";
    let txt = b"\xc0\x0c\x00\x10\x00\x01\x00\x00\x00\x3c\x00\x08\x03a\"c\x03\\\xe4f";
    let bad_txt = b"\xc0\x0c\x00\x10\x00\x01\x00\x00\x00\x3c\x00\x03\x05abcde";
    let cases: Vec<Vec<u8>> = vec![
        [&q[..], a, opt, opt].concat(),
        [&q[..], opt, a, a].concat(),
        [&q[..], empty, a, a].concat(),
        [&q[..], null, a, opt].concat(),
        [&q[..], private, a, opt].concat(),
        [&q[..], txt, a, opt].concat(),
        [&q[..], bad_txt, a, opt].concat(),
        [&q[..], a, opt, a].concat(),
    ];
    for (i, m) in cases.iter().enumerate() {
        assert!(same(m, &ctx, &format!("case {i}")), "case {i} parses");
    }
    // Nine questions: taken when whole, refused when a record is broken.
    let mut nine = b"\x00\x07\x01\x00\x00\x09\x00\x00\x00\x00\x00\x00".to_vec();
    for _ in 0..9 {
        nine.extend_from_slice(b"\x01a\x02ex\x00\x00\x01\x00\x01");
    }
    assert!(same(&nine, &ctx, "nine questions"));
    nine[7] = 1;
    assert!(!same(&nine, &ctx, "nine questions, an answer missing"));
}

fn app_pcap_ctx() -> EventContext {
    use netsec_model::{Direction, Endpoint, Timestamp};
    EventContext {
        ts: Timestamp::ZERO,
        packet_number: 1,
        flow_id: None,
        community_id: None,
        src: Endpoint::new([10, 0, 0, 1].into(), 40000),
        dst: Endpoint::new([10, 0, 0, 2].into(), 53),
        transport: Transport::Udp,
        direction: Direction::ToServer,
    }
}
