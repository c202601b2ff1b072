//! The DNS parser reads messages with hickory-proto's decoders without
//! building its owned `Message`; this checks it gives, on every DNS message
//! of the workspace's captures, exactly what the former path gave: hickory's
//! `Message::from_vec`, each record converted with `name_text` /
//! `rdata_text`, and when hickory refuses the message, the header, the
//! questions and the records up to the first broken one (`lenient`).

mod app_pcap;
mod dns_oracle;

use std::path::PathBuf;

use app_pcap::{segments, testdata};
use dns_oracle::oracle;
use netsec_model::{EventContext, Transport};
use netsec_proto::app::dns::parser::parse_message;

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

/// Every captured message with bytes changed at random (a deterministic
/// xorshift): names, compression pointers and counts broken in ways no
/// capture shows. The parser reuses the text of a name that a pointer names
/// whole; this checks it against hickory's own walk where pointers go
/// anywhere.
#[test]
fn mutated_messages_parse_as_hickorys_message_did() {
    let ctx = app_pcap_ctx();
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut mutated = 0;
    for cap in captures() {
        for s in segments(&cap) {
            if (s.src.port != 53 && s.dst.port != 53) || s.transport == Transport::Tcp {
                continue;
            }
            for round in 0..6 {
                let mut m = s.data.clone();
                if m.len() <= 12 {
                    continue;
                }
                for _ in 0..1 + round % 3 {
                    let at = 12 + (next() as usize) % (m.len() - 12);
                    let r = next();
                    if r % 5 == 4 && at + 1 < m.len() {
                        // A pointer to the question's name, read whole before.
                        m[at] = 0xc0;
                        m[at + 1] = 12;
                        continue;
                    }
                    m[at] = match r % 5 {
                        // A pointer to somewhere before.
                        0 => 0xc0,
                        1 => (r >> 8) as u8 % (at as u8).max(1),
                        // A label length.
                        2 => (r >> 8) as u8 % 64,
                        _ => (r >> 8) as u8,
                    };
                }
                same(
                    &m,
                    &ctx,
                    &format!("{} packet {} mutation {round}", cap.display(), s.number),
                );
                mutated += 1;
            }
        }
    }
    assert!(mutated > 10_000, "{mutated} mutated messages");
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
    // EDNS options, read as hickory-proto reads them: a cookie; a Client
    // Subnet whose prefix needs 5 bytes of IPv4 (refused); an option longer
    // than the record (refused); an option cut by the record's end (kept,
    // options dropped); a code running past the end (refused).
    let opt_with = |rdata: &[u8]| {
        [
            &b"\x00\x00\x29\x10\x00\x00\x00\x00\x00\x00"[..],
            &[rdata.len() as u8],
            rdata,
        ]
        .concat()
    };
    let options: [&[u8]; 6] = [
        b"\x00\x0a\x00\x08abcdefgh",
        b"\x00\x08\x00\x04\x00\x01\x28\x00",
        b"\x00\x08\x00\x07\x00\x01\x18\x00\xc0\x00\x02",
        b"\x00\x0a\x00\xc8\x00\x00",
        b"\x00\x0a\x00\x04\x00\x00",
        b"\x00\x0a\x00",
    ];
    for (i, o) in options.iter().enumerate() {
        let m = [&q[..], a, &opt_with(o), a].concat();
        same(&m, &ctx, &format!("EDNS option {i}"));
    }
    for (i, m) in cases.iter().enumerate() {
        assert!(same(m, &ctx, &format!("case {i}")), "case {i} parses");
    }
    // Names: compression pointers forward, to themselves, in a loop, into
    // the name being read; label types 0b01 and 0b10; 255 bytes encoded
    // and one more; a name cut short.
    let header = b"\x00\x07\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00";
    let question = b"\x03www\x02ex\x00\x00\x01\x00\x01";
    let names: Vec<Vec<u8>> = vec![
        b"\xc0\x0c".to_vec(),
        b"\xc0\x10".to_vec(),
        b"\xc0\x1e".to_vec(),
        b"\xc0\x1f".to_vec(),
        b"\xc0\x40".to_vec(),
        b"\x01a\xc0\x1f".to_vec(),
        b"\x01a\xc0\x0c".to_vec(),
        b"\x01a\xc0\x11".to_vec(),
        b"\x41a\x00".to_vec(),
        b"\x81a\x00".to_vec(),
        b"\x01".to_vec(),
        b"\xc0".to_vec(),
        [
            &[63u8][..],
            &[b'a'; 63],
            &[63],
            &[b'b'; 63],
            &[63],
            &[b'c'; 63],
            &[61],
            &[b'd'; 61],
            &[0],
        ]
        .concat(),
        [
            &[63u8][..],
            &[b'a'; 63],
            &[63],
            &[b'b'; 63],
            &[63],
            &[b'c'; 63],
            &[62],
            &[b'd'; 62],
            &[0],
        ]
        .concat(),
        [&[63u8][..], &[0xe4; 63], &[5], b"a.b\\\"", &[0xc0, 0x0c]].concat(),
    ];
    for (i, name) in names.iter().enumerate() {
        let m = [
            &header[..],
            question,
            name,
            b"\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\xc0\x00\x02\x08",
        ]
        .concat();
        same(&m, &ctx, &format!("name {i}"));
        // The same name as a CNAME's data.
        let mut rdata = name.clone();
        rdata.truncate(255);
        let m = [
            &header[..],
            question,
            b"\xc0\x0c\x00\x05\x00\x01\x00\x00\x00\x3c\x00",
            &[rdata.len() as u8],
            &rdata,
        ]
        .concat();
        same(&m, &ctx, &format!("cname {i}"));
    }
    // Names read whole before and named by a pointer: the owner of a
    // second answer points at the first answer's CNAME target, itself a
    // label and a pointer to the question.
    let m = [
        &b"\x00\x07\x81\x80\x00\x01\x00\x02\x00\x00\x00\x00"[..],
        question,
        b"\xc0\x0c\x00\x05\x00\x01\x00\x00\x00\x3c\x00\x04\x01b\xc0\x0c",
        b"\xc0\x24\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\xc0\x00\x02\x08",
    ]
    .concat();
    let e = parse_message(&m, &ctx).unwrap();
    assert_eq!(e.answers[1].name, "b.www.ex");
    assert!(same(&m, &ctx, "pointer to a CNAME target"));
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
