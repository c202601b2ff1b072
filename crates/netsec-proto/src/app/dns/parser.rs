//! DNS message parsing (RFC 1035) with hickory-proto's decoders, into the
//! model's [`DnsEvent`], and the cheap header checks used to identify DNS.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::net::Ipv6Addr;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use hickory_proto::op::{Header as WireHeader, MessageType, OpCode};
use hickory_proto::rr::{DNSClass, Name, RData, RecordType};
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder, Restrict};
use netsec_model::{
    push_decimal, DnsEvent, DnsFlags, DnsName, DnsQuestion, DnsRecord, EventContext,
};

/// Length of the fixed DNS header (RFC 1035 §4.1.1).
pub const HEADER_LEN: usize = 12;
/// Most questions a message may carry and still be taken for DNS. Real
/// traffic carries one; Suricata's probe also refuses large counts.
const MAX_QUESTIONS: u16 = 8;
/// Most records per section a message may announce and still be taken for DNS.
const MAX_RECORDS: u16 = 1024;

/// Name in presentation form, ASCII (IDNA labels stay `xn--`), without the
/// trailing dot; `<Root>` for the root (as tshark writes it): the text of
/// [`DnsName`] (RFC 1035 §5.1 escapes, as dig writes them; hickory-proto's
/// `Name::to_ascii` writes octal escapes and escapes `=` and `+`).
pub fn name_text(name: &Name) -> String {
    let mut text = Vec::with_capacity(name.len() + 8);
    wire_name(name).write_text(&mut text);
    String::from_utf8(text).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// A hickory-proto name as the model's [`DnsName`].
fn wire_name(name: &Name) -> DnsName {
    DnsName::from_labels(name.iter())
}

/// Longest name, encoded (RFC 1035 §2.3.4), as hickory-proto counts it.
const MAX_NAME_LEN: usize = 255;

/// The names of one message already read, for compression pointers that
/// point at the start of one of them (an answer's owner name is usually a
/// pointer to the question's): their wire form is copied instead of walked
/// again.
struct Names {
    /// Wire form (length-prefixed labels) of every name remembered, one
    /// after another; the name being read goes at the end.
    wire: Vec<u8>,
    /// (wire offset of the name in the message, its bytes in `wire`, its labels).
    seen: Vec<(usize, std::ops::Range<usize>, usize)>,
}

/// Names remembered per message for [`Names`].
const NAMES_SEEN: usize = 16;

impl Names {
    fn new() -> Self {
        Names {
            wire: Vec::with_capacity(1024),
            seen: Vec::with_capacity(NAMES_SEEN),
        }
    }

    fn clear(&mut self) {
        self.wire.clear();
        self.seen.clear();
    }

    /// Read the name at the decoder's position ([`read_name_wire`]); the
    /// name and its number of labels.
    fn read(&mut self, d: &mut BinDecoder<'_>, msg: &[u8]) -> Option<(DnsName, usize)> {
        self.read_with(d, msg, DnsName::from_wire)
    }

    /// [`Self::read`] as presentation-form text (record data naming a
    /// host), written straight from the wire.
    fn read_text(&mut self, d: &mut BinDecoder<'_>, msg: &[u8]) -> Option<String> {
        let (text, _) = self.read_with(d, msg, |wire| {
            let mut text = Vec::with_capacity(wire.len() + 8);
            DnsName::write_wire_text(wire, &mut text);
            String::from_utf8(text).ok()
        })?;
        text
    }

    /// Read the name at the decoder's position and give its wire form to
    /// `f`; what `f` returns and the name's number of labels.
    fn read_with<R>(
        &mut self,
        d: &mut BinDecoder<'_>,
        msg: &[u8],
        f: impl FnOnce(&[u8]) -> R,
    ) -> Option<(R, usize)> {
        let start = d.index();
        // A name that is only a pointer to the start of a name read before
        // it: the same walk (the earlier name lies wholly before this one,
        // so no rule of [`read_name_wire`] can refuse it here).
        if let Some([hi, lo]) = msg
            .get(start..start + 2)
            .and_then(|p| <[u8; 2]>::try_from(p).ok())
        {
            if hi & 0xc0 == 0xc0 {
                let target = usize::from(u16::from_be_bytes([hi & 0x3f, lo]));
                if let Some((_, range, labels)) = self
                    .seen
                    .iter()
                    .find(|(at, _, _)| *at == target && target < start)
                {
                    let (range, labels) = (range.clone(), *labels);
                    d.read_slice(2).ok()?;
                    return Some((f(self.wire.get(range)?), labels));
                }
            }
        }
        let from = self.wire.len();
        let labels = read_name_wire(d, msg, &mut self.wire, from);
        let Some(labels) = labels else {
            self.wire.truncate(from);
            return None;
        };
        let to = self.wire.len();
        let out = f(self.wire.get(from..to)?);
        if self.seen.len() < NAMES_SEEN {
            self.seen.push((start, from..to, labels));
        } else {
            // Only the names remembered stay: the buffer holds at most 16
            // names, whatever the message.
            self.wire.truncate(from);
        }
        Some((out, labels))
    }
}

thread_local! {
    /// One [`Names`] per thread, reused from message to message.
    static NAMES: std::cell::RefCell<Names> = std::cell::RefCell::new(Names::new());
}

/// Read the name at the decoder's position and append its wire form as
/// [`DnsName`] holds it (length-prefixed labels, pointers followed) to
/// `wire` (after its first `from` bytes, which are kept); the decoder moves
/// past the name (past its first compression pointer). Returns the number
/// of labels.
///
/// Why not hickory-proto's `Name::read`: it copies every name into a
/// `TinyVec<[u8; 32]>` that spills to the heap and grows by reallocation for
/// names over 32 bytes (every tunnel name), and the text is then written
/// from that copy: on the heavy bench mix `Name::read` and that growth were
/// 0.8 G of the parse's 2.2 G instructions. This walks the wire with
/// `Name::read`'s exact rules (checked against it by
/// `tests/dns_hickory_oracle.rs` and the `dns_detect` fuzz target): a
/// pointer must point before the start of the name or label run being read
/// (so every jump goes back and the walk ends), no label may run into the
/// run a pointer left, the encoded name is at most 255 bytes, label types
/// 0b01 and 0b10 are refused, a name cut short is refused. Never panics.
fn read_name_wire(
    d: &mut BinDecoder<'_>,
    msg: &[u8],
    wire: &mut Vec<u8>,
    from: usize,
) -> Option<usize> {
    wire.truncate(from);
    let start = d.index();
    let mut pos = start;
    let mut run_start = start;
    let mut limit: Option<usize> = None;
    let mut resume: Option<usize> = None;
    let mut encoded = 1;
    let mut labels = 0;
    // Where the run of labels being walked started: a run (length byte and
    // label, one after another, as the name holds them) is copied whole
    // when a pointer or the end stops it.
    let mut run_from = pos;
    loop {
        if limit.is_some_and(|l| pos >= l) {
            return None;
        }
        let b = *msg.get(pos)?;
        match b & 0xc0 {
            0x00 if b == 0 => {
                wire.extend_from_slice(msg.get(run_from..pos)?);
                pos += 1;
                break;
            }
            0x00 => {
                let len = usize::from(b);
                if pos + 1 + len > msg.len() {
                    return None;
                }
                encoded += 1 + len;
                if encoded > MAX_NAME_LEN {
                    return None;
                }
                labels += 1;
                pos += 1 + len;
            }
            0xc0 => {
                wire.extend_from_slice(msg.get(run_from..pos)?);
                let low = *msg.get(pos + 1)?;
                let target = usize::from(u16::from_be_bytes([b & 0x3f, low]));
                if target >= run_start {
                    return None;
                }
                resume.get_or_insert(pos + 2);
                limit = Some(run_start);
                run_start = target;
                pos = target;
                run_from = pos;
            }
            _ => return None,
        }
    }
    let end = resume.unwrap_or(pos);
    d.read_slice(end.checked_sub(start)?).ok()?;
    Some(labels)
}

/// Presentation form of record data: addresses, names without the trailing
/// dot, `MX` as `preference exchange`, `SOA` and `SRV` as their zone-file
/// fields, `TXT` as quoted strings; other types as hickory-proto prints them.
pub fn rdata_text(data: &RData) -> String {
    let mut s = String::new();
    // Writing to a String cannot fail; the results are ignored on purpose.
    match data {
        RData::A(a) => {
            let _ = write!(s, "{}", a.0);
        }
        RData::AAAA(a) => {
            let _ = write!(s, "{}", a.0);
        }
        RData::CNAME(n) => s = name_text(&n.0),
        RData::NS(n) => s = name_text(&n.0),
        RData::PTR(n) => s = name_text(&n.0),
        RData::MX(mx) => {
            let _ = write!(s, "{} {}", mx.preference, name_text(&mx.exchange));
        }
        RData::SOA(soa) => {
            let _ = write!(
                s,
                "{} {} {} {} {} {} {}",
                name_text(&soa.mname),
                name_text(&soa.rname),
                soa.serial,
                soa.refresh,
                soa.retry,
                soa.expire,
                soa.minimum
            );
        }
        RData::SRV(srv) => {
            let _ = write!(
                s,
                "{} {} {} {}",
                srv.priority,
                srv.weight,
                srv.port,
                name_text(&srv.target)
            );
        }
        RData::TXT(txt) => {
            for (i, part) in txt.txt_data.iter().enumerate() {
                if i > 0 {
                    s.push(' ');
                }
                txt_string(&mut s, part);
            }
        }
        other => {
            let _ = write!(s, "{other}");
        }
    }
    s
}

/// Record type mnemonic as hickory-proto names it (`A`, `TXT`, `Unknown` for
/// a type it has no name for): a static string, no allocation.
fn type_name(t: RecordType) -> Cow<'static, str> {
    Cow::Borrowed(<&'static str>::from(t))
}

/// One record as read from the wire, before it is filed in its section.
struct WireRecord {
    record: DnsRecord,
    /// Zero-length data (RFC 2136 prerequisites): only UPDATE may carry it.
    empty: bool,
}

/// Read one resource record with hickory-proto's decoders, as
/// `Record::read` does (owner name as `Name::read` reads it, type, class,
/// TTL, RDLENGTH no longer than what is left, data exactly RDLENGTH long),
/// but without
/// building hickory's owned `RData` for the common types: A, AAAA, CNAME,
/// NS, PTR and TXT are written straight from the wire bytes, NULL and
/// unknown types (iodine's PRIVATE) as the base64 hickory prints for them.
/// Every other type goes through `RData::read` and [`rdata_text`].
fn read_record(d: &mut BinDecoder<'_>, msg: &[u8], names: &mut Names) -> Option<WireRecord> {
    let (name, labels) = names.read(d, msg)?;
    let rtype = RecordType::read(d).ok()?;
    if rtype == RecordType::OPT {
        if labels != 0 {
            return None;
        }
        // The class is the requester's payload size (RFC 6891 §6.1.2).
        d.read_u16().ok()?;
    } else {
        DNSClass::read(d).ok()?;
    }
    let ttl = d.read_u32().ok()?.unverified(/*any u32 is a TTL*/);
    let len = usize::from(d.read_u16().ok()?.unverified(/*checked next*/));
    if len > d.len() {
        return None;
    }
    let data = if len == 0 {
        // hickory-proto's `RData::Update0`.
        String::from("UPDATE")
    } else {
        let start = d.index();
        let text = match rtype {
            RecordType::A | RecordType::AAAA | RecordType::TXT | RecordType::NULL => {
                let raw = d.read_slice(len).ok()?.unverified(/*read below*/);
                raw_text(rtype, raw)?
            }
            RecordType::Unknown(_) => {
                let raw = d.read_slice(len).ok()?.unverified(/*any bytes*/);
                BASE64.encode(raw)
            }
            RecordType::CNAME | RecordType::NS | RecordType::PTR => names.read_text(d, msg)?,
            RecordType::MX => {
                // hickory-proto's `MX::read_data`: preference, exchange;
                // written as `rdata_text` writes it.
                let preference = d.read_u16().ok()?.unverified(/*any u16*/);
                let mut text = String::with_capacity(8);
                push_decimal(&mut text, preference);
                text.push(' ');
                text.push_str(&names.read_text(d, msg)?);
                text
            }
            RecordType::SRV => {
                // hickory-proto's `SRV::read_data`: priority, weight, port,
                // target.
                let mut text = String::with_capacity(24);
                for _ in 0..3 {
                    push_decimal(&mut text, d.read_u16().ok()?.unverified(/*any u16*/));
                    text.push(' ');
                }
                text.push_str(&names.read_text(d, msg)?);
                text
            }
            RecordType::OPT => {
                // Checked, never shown: OPT records leave the additional
                // section, and hickory-proto prints none.
                check_opt(d, len)?;
                String::new()
            }
            _ => rdata_text(&RData::read(d, rtype, Restrict::new(len as u16)).ok()?),
        };
        // hickory-proto's rule: the data is exactly RDLENGTH long.
        if d.index().checked_sub(start) != Some(len) {
            return None;
        }
        text
    };
    Some(WireRecord {
        record: DnsRecord {
            name,
            rtype: type_name(rtype),
            rtype_code: u16::from(rtype),
            ttl,
            data,
        },
        empty: len == 0,
    })
}

/// Read an OPT record's `len` bytes of options as hickory-proto's
/// `OPT::read_data` does, accepting and refusing the same data and leaving
/// the decoder at the same place, without building its list of options
/// (a `Vec` per option): per option a code and a length (at most `len`),
/// then its data; the loop stops once `len` bytes are consumed (a code or
/// length may run past them, an option's data is cut there, and the options
/// are then dropped, not refused). Only the options hickory-proto parses
/// (NSID, DAU and Client Subnet) can refuse the record: those go through its
/// `EdnsOption` conversion; every other code is kept as raw bytes by it.
fn check_opt(d: &mut BinDecoder<'_>, len: usize) -> Option<()> {
    use hickory_proto::rr::rdata::opt::{EdnsCode, EdnsOption};
    let start = d.index();
    let consumed = |d: &BinDecoder<'_>| d.index().saturating_sub(start);
    while len > consumed(d) {
        let code = d.read_u16().ok()?.unverified(/*any code*/);
        if len <= consumed(d) {
            break;
        }
        let length = usize::from(d.read_u16().ok()?.unverified(/*checked next*/));
        if length > len {
            return None;
        }
        let data = if length == 0 {
            &[][..]
        } else {
            let room = len.saturating_sub(consumed(d));
            if room == 0 {
                break;
            }
            let data = d.read_slice(length.min(room)).ok()?.unverified(/*bytes*/);
            if data.len() < length {
                break;
            }
            data
        };
        if matches!(code, 3 | 5 | 8) {
            EdnsOption::try_from((EdnsCode::from(code), data)).ok()?;
        }
    }
    Some(())
}

/// Presentation form of the record types written from their raw data:
/// `None` where hickory-proto would refuse it (an A record not 4 bytes
/// long, a TXT string running past the data).
fn raw_text(rtype: RecordType, raw: &[u8]) -> Option<String> {
    Some(match rtype {
        RecordType::A => {
            let a: [u8; 4] = raw.try_into().ok()?;
            ipv4_text(a)
        }
        RecordType::AAAA => {
            let a: [u8; 16] = raw.try_into().ok()?;
            Ipv6Addr::from(a).to_string()
        }
        RecordType::TXT => {
            let mut s = String::with_capacity(raw.len() + 4);
            let mut rest = raw;
            while let Some((&n, tail)) = rest.split_first() {
                let part = tail.get(..usize::from(n))?;
                rest = tail.get(usize::from(n)..)?;
                if !s.is_empty() {
                    s.push(' ');
                }
                txt_string(&mut s, part);
            }
            s
        }
        // NULL: base64, as hickory-proto prints it.
        _ => BASE64.encode(raw),
    })
}

/// An IPv4 address in dotted decimal, as `Ipv4Addr`'s `Display` writes it,
/// without the formatting machinery (an A record in most responses).
fn ipv4_text(a: [u8; 4]) -> String {
    let mut s = String::with_capacity(15);
    for (i, &o) in a.iter().enumerate() {
        if i > 0 {
            s.push('.');
        }
        if o >= 100 {
            s.push(char::from(b'0' + o / 100));
        }
        if o >= 10 {
            s.push(char::from(b'0' + o / 10 % 10));
        }
        s.push(char::from(b'0' + o % 10));
    }
    s
}

/// One TXT character-string, quoted, `"` and `\` escaped, other bytes as
/// UTF-8 (invalid sequences as U+FFFD).
fn txt_string(s: &mut String, part: &[u8]) {
    s.push('"');
    for c in String::from_utf8_lossy(part).chars() {
        if c == '"' || c == '\\' {
            s.push('\\');
        }
        s.push(c);
    }
    s.push('"');
}

/// Parse one DNS message with hickory-proto's decoders (header, record
/// types and classes, `RData` of the less common types), names walked on
/// the wire ([`read_name_wire`] says why), writing the event's text straight
/// from the wire: no owned hickory `Message`, `Name`, `Record` or `RData`
/// for the common types; one scratch buffer, then one allocation per name
/// and per record's data.
///
/// The result is what `Message::from_vec` gives when it accepts the message
/// (EDNS's extended response code merged, the OPT record dropped). When it
/// would refuse (a record with bad data, fewer records than the header
/// announces, two OPT records, an OPT, SIG or TSIG record outside the
/// additional section, an empty record outside UPDATE), the header, every
/// question and the records up to the first that does not parse are kept,
/// without OPT, SIG and TSIG records, as tshark and Suricata report such
/// messages; then more than 8 questions refuse it. `None` when the header or
/// a question is broken.
pub fn parse_message(bytes: &[u8], ctx: &EventContext) -> Option<DnsEvent> {
    // Every name is written to the thread's `Names` first, then copied to
    // its exact size.
    NAMES.with(|names| match names.try_borrow_mut() {
        Ok(mut names) => {
            names.clear();
            parse_with(bytes, ctx, &mut names)
        }
        Err(_) => parse_with(bytes, ctx, &mut Names::new()),
    })
}

/// [`parse_message`] with the names written to `names` (cleared).
fn parse_with(bytes: &[u8], ctx: &EventContext, names: &mut Names) -> Option<DnsEvent> {
    let mut d = BinDecoder::new(bytes);
    let WireHeader {
        mut metadata,
        counts,
    } = WireHeader::read(&mut d).ok()?;
    let mut questions = Vec::with_capacity(usize::from(counts.queries.min(MAX_QUESTIONS)));
    for _ in 0..counts.queries {
        // hickory-proto's `Query::read`: name, type, class.
        let (name, _) = names.read(&mut d, bytes)?;
        let t = RecordType::read(&mut d).ok()?;
        let class = DNSClass::read(&mut d).ok()?;
        questions.push(DnsQuestion {
            name,
            qtype: type_name(t),
            qtype_code: u16::from(t),
            qclass: u16::from(class),
        });
    }
    // Whether hickory-proto's `Message::read` would accept the message.
    let mut whole = true;
    let update = metadata.op_code == OpCode::Update;
    let mut opts = 0u32;
    let mut sections: [Vec<DnsRecord>; 3] = Default::default();
    let wanted = [counts.answers, counts.authorities, counts.additionals];
    'sections: for (k, (section, n)) in sections.iter_mut().zip(wanted).enumerate() {
        let additional = k == 2;
        for _ in 0..n {
            let Some(WireRecord { record, empty }) = read_record(&mut d, bytes, names) else {
                whole = false;
                break 'sections;
            };
            let code = RecordType::from(record.rtype_code);
            let special = matches!(code, RecordType::OPT | RecordType::SIG | RecordType::TSIG);
            if (!update && empty && code != RecordType::OPT) || (special && !additional) {
                whole = false;
            }
            if code == RecordType::OPT && additional {
                opts += 1;
                if opts == 1 {
                    // The extended response code's high bits (RFC 6891 §6.1.3).
                    metadata.merge_response_code((record.ttl >> 24) as u8);
                }
                // Never shown: not kept (a message whose only additional
                // record is its OPT allocates no section for it).
                continue;
            }
            if section.capacity() == 0 {
                section.reserve(usize::from(n.min(16)));
            }
            section.push(record);
        }
    }
    if opts > 1 {
        whole = false;
    }
    if !whole && counts.queries > MAX_QUESTIONS {
        return None;
    }
    let [answers, authorities, mut additionals] = sections;
    // OPT records of the additional section were never kept.
    if !whole {
        additionals.retain(|r| {
            !matches!(
                RecordType::from(r.rtype_code),
                RecordType::SIG | RecordType::TSIG
            )
        });
    }
    Some(DnsEvent {
        ctx: ctx.clone(),
        id: metadata.id,
        is_response: metadata.message_type == MessageType::Response,
        opcode: u8::from(metadata.op_code),
        rcode: u16::from(metadata.response_code),
        flags: DnsFlags::from_header(
            metadata.authoritative,
            metadata.truncation,
            metadata.recursion_desired,
            metadata.recursion_available,
            metadata.authentic_data,
            metadata.checking_disabled,
        ),
        questions,
        answers,
        authorities,
        additionals,
        query: None,
        unanswered: false,
    })
}

/// The fixed header fields identification looks at.
#[derive(Debug, Clone, Copy)]
struct Header {
    response: bool,
    opcode: u8,
    rcode: u8,
    z: bool,
    qd: u16,
    an: u16,
    ns: u16,
    ar: u16,
}

fn header(b: &[u8]) -> Option<Header> {
    let h: &[u8; HEADER_LEN] = b.get(..HEADER_LEN)?.try_into().ok()?;
    let be = |i: usize| u16::from_be_bytes([h[i], h[i + 1]]);
    let flags = be(2);
    Some(Header {
        response: flags & 0x8000 != 0,
        opcode: ((flags >> 11) & 0x0f) as u8,
        rcode: (flags & 0x000f) as u8,
        z: flags & 0x0040 != 0,
        qd: be(4),
        an: be(6),
        ns: be(8),
        ar: be(10),
    })
}

/// QUERY, IQUERY, STATUS, NOTIFY, UPDATE (RFC 1035 §4.1.1, RFC 1996, RFC 2136).
fn known_opcode(op: u8) -> bool {
    matches!(op, 0 | 1 | 2 | 4 | 5)
}

/// Whether a payload has a plausible DNS header (known opcode, Z bit clear,
/// no response code on a query, sane counts), whatever its sections hold. Used on port 53 only, where a
/// bare header (an error response without the question) is enough.
pub fn looks_like_dns_header(b: &[u8]) -> bool {
    header(b).is_some_and(|h| {
        known_opcode(h.opcode)
            && !h.z
            && (h.response || h.rcode == 0)
            && h.qd <= MAX_QUESTIONS
            && h.an <= MAX_RECORDS
            && h.ns <= MAX_RECORDS
            && h.ar <= MAX_RECORDS
    })
}

/// Whether a payload looks like a DNS message on any port: a sane header
/// with 1..=8 questions, and a first question whose name is made of plain
/// labels (no compression pointer: nothing precedes it to point at) followed
/// by its type and class. Cheap; no allocation.
pub fn looks_like_dns(b: &[u8]) -> bool {
    let Some(h) = header(b) else { return false };
    if h.qd == 0 || !looks_like_dns_header(b) {
        return false;
    }
    let mut i = HEADER_LEN;
    let mut name_len = 0usize;
    loop {
        let Some(&len) = b.get(i) else { return false };
        if len == 0 {
            // The root byte, then QTYPE and QCLASS.
            return b.len() >= i + 5;
        }
        if len > 63 {
            return false;
        }
        // RFC 1035 §2.3.4: 255 bytes per name at most.
        name_len += 1 + usize::from(len);
        if name_len > 255 {
            return false;
        }
        i += 1 + usize::from(len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::Message;
    use netsec_model::Transport;

    fn ctx() -> EventContext {
        crate::app::test_context(Transport::Udp, 53)
    }

    /// A response announcing three answers and carrying one, then one whose
    /// A record is five bytes long: the question and the answers that parse
    /// are kept (hickory-proto alone refuses both messages).
    #[test]
    fn short_or_broken_records_keep_the_question() {
        let mut m =
            b"\x00\x07\x81\x80\x00\x01\x00\x03\x00\x00\x00\x00\x01a\x02ex\x00\x00\x01\x00\x01"
                .to_vec();
        m.extend_from_slice(b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\xc0\x00\x02\x08");
        assert!(Message::from_vec(&m).is_err());
        let e = parse_message(&m, &ctx()).unwrap();
        assert_eq!(e.questions[0].name, "a.ex");
        assert_eq!(e.answers.len(), 1);
        assert_eq!(e.answers[0].data, "192.0.2.8");
        // The same with one answer announced, five bytes of A data.
        m[7] = 1;
        let rdlength_at = m.len() - 5;
        m[rdlength_at] = 5;
        m.push(9);
        assert!(Message::from_vec(&m).is_err());
        let e = parse_message(&m, &ctx()).unwrap();
        assert_eq!(e.questions[0].name, "a.ex");
        // A broken question still refuses the message.
        assert!(parse_message(&m[..20], &ctx()).is_none());
    }

    /// The query of `dns-udp-eve-txt` (suricata-verify), frame 3:
    /// A? textsecure-service-ca.whispersystems.org, id 0x99cc, RD.
    const QUERY: &[u8] = b"\x99\xcc\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\
\x15textsecure-service-ca\x0ewhispersystems\x03org\x00\x00\x01\x00\x01";

    #[test]
    fn parses_a_query_and_keeps_case() {
        let ev = parse_message(QUERY, &ctx()).unwrap();
        assert_eq!(ev.id, 0x99cc);
        assert!(!ev.is_response);
        assert_eq!(ev.flags.iter().collect::<Vec<_>>(), vec!["rd"]);
        assert_eq!(ev.questions.len(), 1);
        assert_eq!(
            ev.questions[0].name,
            "textsecure-service-ca.whispersystems.org"
        );
        assert_eq!(ev.questions[0].qtype, "A");
        assert_eq!(ev.questions[0].qclass, 1);

        let mut upper = QUERY.to_vec();
        upper[13] = b'T';
        let ev = parse_message(&upper, &ctx()).unwrap();
        assert!(ev.questions[0].name.as_str().starts_with("Textsecure"));
    }

    #[test]
    fn identifies_queries_by_header_and_name() {
        assert!(looks_like_dns(QUERY));
        assert!(looks_like_dns_header(QUERY));
        // Z bit set.
        let mut z = QUERY.to_vec();
        z[3] |= 0x40;
        assert!(!looks_like_dns(&z));
        // Opcode 3 is unassigned.
        let mut op = QUERY.to_vec();
        op[2] |= 3 << 3;
        assert!(!looks_like_dns(&op));
        // A query carrying a response code.
        let mut rcode = QUERY.to_vec();
        rcode[3] |= 3;
        assert!(!looks_like_dns(&rcode));
        // No question.
        let mut qd0 = QUERY.to_vec();
        qd0[5] = 0;
        assert!(!looks_like_dns(&qd0));
        assert!(looks_like_dns_header(&qd0));
        // A label longer than 63 bytes.
        let mut long = QUERY.to_vec();
        long[12] = 64;
        assert!(!looks_like_dns(&long));
        // A pointer in the first name.
        let mut ptr = QUERY.to_vec();
        ptr[12] = 0xc0;
        assert!(!looks_like_dns(&ptr));
        // Cut before QTYPE/QCLASS.
        assert!(!looks_like_dns(&QUERY[..QUERY.len() - 2]));
        // Not DNS at all.
        assert!(!looks_like_dns(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
        assert!(!looks_like_dns(&[0u8; 11]));
    }

    #[test]
    fn ipv4_text_is_display() {
        for a in [
            [0, 0, 0, 0],
            [255, 255, 255, 255],
            [10, 0, 100, 9],
            [192, 0, 2, 99],
        ] {
            assert_eq!(ipv4_text(a), std::net::Ipv4Addr::from(a).to_string());
        }
    }

    #[test]
    fn garbage_is_refused() {
        assert!(parse_message(&QUERY[..20], &ctx()).is_none());
        assert!(parse_message(b"", &ctx()).is_none());
    }
}
