//! Kerberos V5 messages (RFC 4120 §5): just enough DER (ITU-T X.690) to read
//! the fields an analyst looks at in AS/TGS requests and replies and
//! KRB-ERROR, without decrypting anything. A tiny TLV reader of our own:
//! the messages are walked by context tag, so a general ASN.1 crate would
//! add a dependency for no gain.

/// AS-REQ, AS-REP, TGS-REQ, TGS-REP, KRB-ERROR application tags (RFC 4120 §5.10).
pub const AS_REQ: u8 = 10;
/// AS-REP.
pub const AS_REP: u8 = 11;
/// TGS-REQ.
pub const TGS_REQ: u8 = 12;
/// TGS-REP.
pub const TGS_REP: u8 = 13;
/// KRB-ERROR.
pub const KRB_ERROR: u8 = 30;
/// PA-ENC-TIMESTAMP padata-type (RFC 4120 §5.2.7.2).
pub const PA_ENC_TIMESTAMP: i64 = 2;

/// Most name components, encryption types and padata entries read.
const MAX_ITEMS: usize = 32;

/// One DER element: tag byte, contents.
#[derive(Debug, Clone, Copy)]
struct Tlv<'a> {
    tag: u8,
    body: &'a [u8],
}

/// Read one DER element (single-byte tags only: Kerberos uses no others);
/// returns it and the rest.
fn tlv(b: &[u8]) -> Option<(Tlv<'_>, &[u8])> {
    let tag = *b.first()?;
    if tag & 0x1f == 0x1f {
        return None;
    }
    let first = *b.get(1)?;
    let (len, hdr) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for k in 0..n {
            len = (len << 8) | usize::from(*b.get(2 + k)?);
        }
        (len, 2 + n)
    };
    let body = b.get(hdr..hdr.checked_add(len)?)?;
    let rest = b.get(hdr + len..)?;
    Some((Tlv { tag, body }, rest))
}

/// The elements of a constructed body, in order (at most `MAX_ITEMS` * 2).
fn children(b: &[u8]) -> impl Iterator<Item = Tlv<'_>> {
    let mut rest = b;
    std::iter::from_fn(move || {
        let (t, r) = tlv(rest)?;
        rest = r;
        Some(t)
    })
    .take(MAX_ITEMS * 2)
}

/// The body of context tag `[n]` (constructed: 0xa0 | n) in a SEQUENCE body.
fn field(seq: &[u8], n: u8) -> Option<&[u8]> {
    children(seq).find(|t| t.tag == 0xa0 | n).map(|t| t.body)
}

/// The SEQUENCE inside an explicit tag.
fn seq_of(b: &[u8]) -> Option<&[u8]> {
    let (t, _) = tlv(b)?;
    (t.tag == 0x30).then_some(t.body)
}

/// A DER INTEGER (inside an explicit tag) as i64 (up to 8 bytes).
fn int(b: &[u8]) -> Option<i64> {
    let (t, _) = tlv(b)?;
    if t.tag != 0x02 || t.body.is_empty() || t.body.len() > 8 {
        return None;
    }
    let mut v: i64 = if t.body.first()? & 0x80 != 0 { -1 } else { 0 };
    for &x in t.body {
        v = (v << 8) | i64::from(x);
    }
    Some(v)
}

/// A KerberosString (GeneralString, 0x1b) inside an explicit tag.
fn string(b: &[u8]) -> Option<&str> {
    let (t, _) = tlv(b)?;
    matches!(t.tag, 0x1b | 0x0c | 0x16 | 0x13)
        .then(|| std::str::from_utf8(t.body).ok())
        .flatten()
}

/// PrincipalName ::= SEQUENCE { name-type [0], name-string [1] SEQUENCE OF }:
/// components joined by `/`.
fn principal(b: &[u8]) -> Option<String> {
    let seq = seq_of(b)?;
    let names = seq_of(field(seq, 1)?)?;
    let mut out = String::new();
    for (k, t) in children(names).take(MAX_ITEMS).enumerate() {
        if !matches!(t.tag, 0x1b | 0x0c | 0x16 | 0x13) {
            return None;
        }
        if k > 0 {
            out.push('/');
        }
        out.push_str(&String::from_utf8_lossy(t.body));
    }
    Some(out)
}

/// EncryptedData ::= SEQUENCE { etype [0] Int32, … }: its etype.
fn enc_etype(b: &[u8]) -> Option<i32> {
    i32::try_from(int(field(seq_of(b)?, 0)?)?).ok()
}

/// What a Kerberos message shows in clear.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KrbMessage {
    /// Application tag / msg-type.
    pub msg_type: u8,
    /// Realm (request body realm, reply crealm, error realm of the client if given).
    pub realm: Option<String>,
    /// Client principal.
    pub client: Option<String>,
    /// Server principal.
    pub server: Option<String>,
    /// Requested etypes.
    pub etypes: Vec<i32>,
    /// Ticket enc-part etype (replies).
    pub ticket_etype: Option<i32>,
    /// Reply enc-part etype.
    pub reply_etype: Option<i32>,
    /// PA-ENC-TIMESTAMP present.
    pub pa_enc_timestamp: bool,
    /// KRB-ERROR error-code.
    pub error_code: Option<i32>,
}

/// Name of a message type.
pub fn msg_name(t: u8) -> &'static str {
    match t {
        AS_REQ => "AS-REQ",
        AS_REP => "AS-REP",
        TGS_REQ => "TGS-REQ",
        TGS_REP => "TGS-REP",
        KRB_ERROR => "KRB-ERROR",
        _ => "OTHER",
    }
}

/// Whether bytes start like one of the five messages read here: an
/// application tag 10–13 or 30 (constructed, 0x60 | n) over a SEQUENCE
/// whose first field is pvno [0]/[1] = 5.
pub fn looks_like_kerberos(b: &[u8]) -> bool {
    let Some((app, _)) = tlv(b) else {
        // A TCP first segment may hold only the start of a long message:
        // accept a well-formed header over a SEQUENCE.
        return looks_like_start(b);
    };
    app_type(app.tag).is_some() && seq_of(app.body).is_some_and(|s| pvno_ok(s, app.tag))
}

fn looks_like_start(b: &[u8]) -> bool {
    let Some(&tag) = b.first() else { return false };
    if app_type(tag).is_none() {
        return false;
    }
    // Skip the application header, then a SEQUENCE header, then expect [0] or [1] INTEGER 5.
    let skip = |b: &[u8]| -> Option<usize> {
        let first = *b.get(1)?;
        Some(if first < 0x80 {
            2
        } else {
            2 + usize::from(first & 0x7f)
        })
    };
    let Some(a) = skip(b) else { return false };
    let Some(inner) = b.get(a..) else {
        return false;
    };
    if inner.first() != Some(&0x30) {
        return false;
    }
    let Some(s) = skip(inner) else { return false };
    let Some(pv) = inner.get(s..) else {
        return false;
    };
    matches!(pv.get(0..5), Some([0xa0 | 0xa1, 3, 2, 1, 5]))
}

fn app_type(tag: u8) -> Option<u8> {
    let n = tag.checked_sub(0x60)?;
    matches!(n, AS_REQ | AS_REP | TGS_REQ | TGS_REP | KRB_ERROR).then_some(n)
}

/// pvno is [1] in KDC-REQ, [0] in KDC-REP and KRB-ERROR.
fn pvno_ok(seq: &[u8], app_tag: u8) -> bool {
    let n = match app_type(app_tag) {
        Some(AS_REQ | TGS_REQ) => 1,
        _ => 0,
    };
    field(seq, n).and_then(int) == Some(5)
}

/// Parse one whole Kerberos message; `None` if it is not one of the five
/// types read here or is malformed.
pub fn parse(b: &[u8]) -> Option<KrbMessage> {
    let (app, _) = tlv(b)?;
    let msg_type = app_type(app.tag)?;
    let seq = seq_of(app.body)?;
    if !pvno_ok(seq, app.tag) {
        return None;
    }
    let mut m = KrbMessage {
        msg_type,
        ..Default::default()
    };
    match msg_type {
        AS_REQ | TGS_REQ => {
            if let Some(pa) = field(seq, 3).and_then(seq_of) {
                m.pa_enc_timestamp = children(pa).take(MAX_ITEMS).any(|p| {
                    p.tag == 0x30 && field(p.body, 1).and_then(int) == Some(PA_ENC_TIMESTAMP)
                });
            }
            let body = seq_of(field(seq, 4)?)?;
            m.client = field(body, 1).and_then(principal);
            m.realm = field(body, 2).and_then(string).map(str::to_string);
            m.server = field(body, 3).and_then(principal);
            if let Some(et) = field(body, 8).and_then(seq_of) {
                m.etypes = children(et)
                    .take(MAX_ITEMS)
                    .filter_map(|t| {
                        if t.tag != 0x02 || t.body.len() > 4 {
                            return None;
                        }
                        let mut v: i64 = if t.body.first()? & 0x80 != 0 { -1 } else { 0 };
                        for &x in t.body {
                            v = (v << 8) | i64::from(x);
                        }
                        i32::try_from(v).ok()
                    })
                    .collect();
            }
        }
        AS_REP | TGS_REP => {
            m.realm = field(seq, 3).and_then(string).map(str::to_string);
            m.client = field(seq, 4).and_then(principal);
            if let Some(ticket) = field(seq, 5) {
                // Ticket ::= [APPLICATION 1] SEQUENCE { tkt-vno [0], realm [1], sname [2], enc-part [3] }
                let (t, _) = tlv(ticket)?;
                if t.tag == 0x61 {
                    let ts = seq_of(t.body)?;
                    m.server = field(ts, 2).and_then(principal);
                    m.ticket_etype = field(ts, 3).and_then(enc_etype);
                }
            }
            m.reply_etype = field(seq, 6).and_then(enc_etype);
        }
        _ => {
            m.error_code = field(seq, 6)
                .and_then(int)
                .and_then(|c| i32::try_from(c).ok());
            m.realm = field(seq, 7)
                .or_else(|| field(seq, 9))
                .and_then(string)
                .map(str::to_string);
            m.client = field(seq, 8).and_then(principal);
            m.server = field(seq, 10).and_then(principal);
        }
    }
    Some(m)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn der(tag: u8, body: &[u8]) -> Vec<u8> {
        let mut v = vec![tag];
        if body.len() < 0x80 {
            v.push(body.len() as u8);
        } else {
            v.push(0x82);
            v.extend((body.len() as u16).to_be_bytes());
        }
        v.extend_from_slice(body);
        v
    }
    fn ctx(n: u8, body: &[u8]) -> Vec<u8> {
        der(0xa0 | n, body)
    }
    fn integer(v: i64) -> Vec<u8> {
        let b = v.to_be_bytes();
        let mut k = 0;
        while k < 7
            && ((b[k] == 0 && b[k + 1] & 0x80 == 0) || (b[k] == 0xff && b[k + 1] & 0x80 != 0))
        {
            k += 1;
        }
        der(0x02, &b[k..])
    }
    fn seq(items: &[Vec<u8>]) -> Vec<u8> {
        der(0x30, &items.concat())
    }
    fn name(parts: &[&str]) -> Vec<u8> {
        let strs: Vec<Vec<u8>> = parts.iter().map(|p| der(0x1b, p.as_bytes())).collect();
        seq(&[ctx(0, &integer(1)), ctx(1, &seq(&strs))])
    }

    /// An AS-REQ for `user` with the given etypes, with or without PA-ENC-TIMESTAMP.
    pub(crate) fn as_req(user: &str, etypes: &[i64], ts: bool) -> Vec<u8> {
        let mut pa = vec![seq(&[
            ctx(1, &integer(128)),
            ctx(2, &der(0x04, b"\x30\x05")),
        ])];
        if ts {
            pa.push(seq(&[ctx(1, &integer(2)), ctx(2, &der(0x04, b"xx"))]));
        }
        let et: Vec<Vec<u8>> = etypes.iter().map(|e| integer(*e)).collect();
        let body = seq(&[
            ctx(0, &der(0x03, b"\x00\x40\x81\x00\x10")),
            ctx(1, &name(&[user])),
            ctx(2, &der(0x1b, b"LAB.TEST")),
            ctx(3, &name(&["krbtgt", "LAB.TEST"])),
            ctx(7, &integer(12345)),
            ctx(8, &seq(&et)),
        ]);
        der(
            0x6a,
            &seq(&[
                ctx(1, &integer(5)),
                ctx(2, &integer(10)),
                ctx(3, &seq(&pa)),
                ctx(4, &body),
            ]),
        )
    }

    #[test]
    fn as_req_fields() {
        let m = parse(&as_req("alice", &[18, 17, 23], true)).unwrap();
        assert_eq!(m.msg_type, AS_REQ);
        assert_eq!(m.client.as_deref(), Some("alice"));
        assert_eq!(m.server.as_deref(), Some("krbtgt/LAB.TEST"));
        assert_eq!(m.realm.as_deref(), Some("LAB.TEST"));
        assert_eq!(m.etypes, vec![18, 17, 23]);
        assert!(m.pa_enc_timestamp);
        let m = parse(&as_req("bob", &[23, -128], false)).unwrap();
        assert_eq!(m.etypes, vec![23, -128]);
        assert!(!m.pa_enc_timestamp);
        assert!(looks_like_kerberos(&as_req("bob", &[23], false)));
    }

    #[test]
    fn reply_and_error_fields() {
        let enc = |e: i64| seq(&[ctx(0, &integer(e)), ctx(2, &der(0x04, b"cipher"))]);
        let ticket = der(
            0x61,
            &seq(&[
                ctx(0, &integer(5)),
                ctx(1, &der(0x1b, b"LAB.TEST")),
                ctx(2, &name(&["MSSQLSvc", "sql.lab.test:1433"])),
                ctx(3, &enc(23)),
            ]),
        );
        let rep = der(
            0x6d,
            &seq(&[
                ctx(0, &integer(5)),
                ctx(1, &integer(13)),
                ctx(3, &der(0x1b, b"LAB.TEST")),
                ctx(4, &name(&["alice"])),
                ctx(5, &ticket),
                ctx(6, &enc(18)),
            ]),
        );
        let m = parse(&rep).unwrap();
        assert_eq!(m.msg_type, TGS_REP);
        assert_eq!(m.client.as_deref(), Some("alice"));
        assert_eq!(m.server.as_deref(), Some("MSSQLSvc/sql.lab.test:1433"));
        assert_eq!((m.ticket_etype, m.reply_etype), (Some(23), Some(18)));
        let err = der(
            0x7e,
            &seq(&[
                ctx(0, &integer(5)),
                ctx(1, &integer(30)),
                ctx(4, &der(0x18, b"20261202000000Z")),
                ctx(5, &integer(0)),
                ctx(6, &integer(24)),
                ctx(9, &der(0x1b, b"LAB.TEST")),
                ctx(10, &name(&["krbtgt", "LAB.TEST"])),
            ]),
        );
        let m = parse(&err).unwrap();
        assert_eq!(m.error_code, Some(24));
        assert_eq!(m.realm.as_deref(), Some("LAB.TEST"));
        // Every cut of a message is refused or parsed without panicking.
        for cut in 0..rep.len() {
            let _ = parse(&rep[..cut]);
            let _ = looks_like_kerberos(&rep[..cut]);
        }
        assert!(parse(b"\x6a\x84\xff\xff\xff\xff").is_none());
        assert!(!looks_like_kerberos(b"\x16\x03\x01"));
    }
}
