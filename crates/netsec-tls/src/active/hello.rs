//! Hand-built ClientHellos and the server's first answer: what rustls
//! cannot do (offer SSLv3, TLS 1.0, export or RC4 suites) to learn which
//! protocol versions and cipher suites a server accepts.

use std::io::{Read, Write};

use netsec_proto::app::tls::parser;

/// Largest record a server answer may have (TLS allows 2^14 plus expansion).
const MAX_RECORD: usize = 18_432;

/// Bytes read before giving up on finding a ServerHello.
const MAX_ANSWER: usize = 64 * 1024;

/// What to offer.
#[derive(Debug, Clone)]
pub struct HelloSpec<'a> {
    /// Protocol version offered (0x0300 SSLv3 … 0x0304 TLS 1.3).
    pub version: u16,
    /// Cipher suites, in preference order.
    pub suites: &'a [u16],
    /// Server name, sent as SNI.
    pub sni: Option<&'a str>,
}

fn push_u16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_be_bytes());
}

fn push_u24(out: &mut Vec<u8>, v: usize) {
    out.extend_from_slice(&[(v >> 16) as u8, (v >> 8) as u8, v as u8]);
}

/// Append extension `kind` with `body`.
fn extension(out: &mut Vec<u8>, kind: u16, body: &[u8]) {
    push_u16(out, kind);
    push_u16(out, body.len() as u16);
    out.extend_from_slice(body);
}

/// A list with a one- or two-byte length prefix.
fn list(items: &[u8], two_bytes: bool) -> Vec<u8> {
    let mut v = Vec::new();
    if two_bytes {
        push_u16(&mut v, items.len() as u16);
    } else {
        v.push(items.len() as u8);
    }
    v.extend_from_slice(items);
    v
}

fn u16s(values: &[u16]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_be_bytes()).collect()
}

/// Bytes that vary per hello without a random number generator: good
/// enough for a client random that only has to be unpredictable to no one.
fn pseudo_random(seed: u64) -> [u8; 32] {
    let mut x = seed ^ 0x9e37_79b9_7f4a_7c15;
    let mut out = [0u8; 32];
    for chunk in out.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        chunk.copy_from_slice(&x.to_be_bytes()[..chunk.len()]);
    }
    out
}

/// The ClientHello record for `spec`.
pub fn client_hello(spec: &HelloSpec<'_>) -> Vec<u8> {
    let tls13 = spec.version >= 0x0304;
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mut body = Vec::with_capacity(512);
    push_u16(&mut body, spec.version.min(0x0303));
    body.extend_from_slice(&pseudo_random(seed));
    if tls13 {
        // A legacy session id, as browsers send, for middlebox compatibility.
        body.push(32);
        body.extend_from_slice(&pseudo_random(seed.rotate_left(17)));
    } else {
        body.push(0);
    }
    let mut suites: Vec<u16> = spec.suites.to_vec();
    if !tls13 {
        suites.push(0x00ff); // renegotiation info SCSV
    }
    body.extend_from_slice(&list(&u16s(&suites), true));
    body.extend_from_slice(&[1, 0]); // null compression only
    if spec.version > 0x0300 {
        let mut ext = Vec::new();
        if let Some(name) = spec.sni.filter(|n| !n.is_empty() && n.len() < 256) {
            let mut entry = vec![0u8];
            push_u16(&mut entry, name.len() as u16);
            entry.extend_from_slice(name.as_bytes());
            extension(&mut ext, 0x0000, &list(&entry, true));
        }
        // x25519, P-256, P-384, P-521, ffdhe2048/3072
        let groups = [0x001d, 0x0017, 0x0018, 0x0019, 0x0100, 0x0101];
        extension(&mut ext, 0x000a, &list(&u16s(&groups), true));
        extension(&mut ext, 0x000b, &list(&[0], false));
        let sigalgs = [
            0x0403, 0x0503, 0x0603, 0x0804, 0x0805, 0x0806, 0x0807, 0x0401, 0x0501, 0x0601, 0x0203,
            0x0201, 0x0402, 0x0202,
        ];
        extension(&mut ext, 0x000d, &list(&u16s(&sigalgs), true));
        extension(&mut ext, 0x0017, &[]); // extended master secret
        if tls13 {
            extension(&mut ext, 0x002b, &list(&u16s(&[0x0304]), false));
            extension(&mut ext, 0x002d, &list(&[1], false)); // psk_dhe_ke
                                                             // One x25519 share: any 32 bytes are a valid public value.
            let mut share = Vec::new();
            push_u16(&mut share, 0x001d);
            push_u16(&mut share, 32);
            share.extend_from_slice(&pseudo_random(seed.rotate_left(31)));
            extension(&mut ext, 0x0033, &list(&share, true));
        }
        body.extend_from_slice(&list(&ext, true));
    }
    let mut handshake = vec![1u8];
    push_u24(&mut handshake, body.len());
    handshake.extend_from_slice(&body);
    let mut record = vec![22u8];
    push_u16(
        &mut record,
        if spec.version == 0x0300 {
            0x0300
        } else {
            0x0301
        },
    );
    push_u16(&mut record, handshake.len() as u16);
    record.extend_from_slice(&handshake);
    record
}

/// The server's first answer to a ClientHello.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// A ServerHello (or a TLS 1.3 HelloRetryRequest, which also names the
    /// version and suite chosen).
    Hello {
        /// Negotiated version (from supported_versions when present).
        version: u16,
        /// Chosen suite.
        suite: u16,
        /// The handshake messages after the ServerHello in the same records
        /// (Certificate and the rest, for TLS ≤ 1.2).
        rest: Vec<u8>,
    },
    /// A TLS alert.
    Alert {
        /// Alert description (40 handshake failure, 70 protocol version, …).
        description: u8,
    },
    /// The connection closed or reset without an answer.
    Closed,
    /// Bytes that are not TLS.
    NotTls,
}

/// Read the server's answer: records until a ServerHello or an alert.
pub fn read_answer(stream: &mut impl Read) -> Answer {
    let mut handshake = Vec::new();
    let mut total = 0usize;
    loop {
        let mut header = [0u8; 5];
        if stream.read_exact(&mut header).is_err() {
            return Answer::Closed;
        }
        let kind = header[0];
        let len = usize::from(u16::from_be_bytes([header[3], header[4]]));
        if !(20..=23).contains(&kind) || header[1] != 3 || len > MAX_RECORD {
            return Answer::NotTls;
        }
        let mut payload = vec![0u8; len];
        if stream.read_exact(&mut payload).is_err() {
            return Answer::Closed;
        }
        total += len + 5;
        match kind {
            21 => {
                return Answer::Alert {
                    description: payload.get(1).copied().unwrap_or(0),
                }
            }
            22 => {
                handshake.extend_from_slice(&payload);
                if let Some(answer) = server_hello(&handshake) {
                    return answer;
                }
            }
            _ => {}
        }
        if total > MAX_ANSWER {
            return Answer::NotTls;
        }
    }
}

/// Parse a ServerHello at the start of `handshake`, once whole, with
/// netsec-proto's parser (the one the passive side uses).
fn server_hello(handshake: &[u8]) -> Option<Answer> {
    let kind = *handshake.first()?;
    let len = u24(handshake, 1)?;
    let body = handshake.get(4..4 + len)?;
    if kind != 2 {
        return Some(Answer::NotTls);
    }
    let rest = handshake.get(4 + len..).unwrap_or(&[]).to_vec();
    // A HelloRetryRequest names the version and suite chosen too.
    let Some((sh, _retry)) = parser::server_hello(body, 0) else {
        return Some(Answer::NotTls);
    };
    Some(Answer::Hello {
        version: sh.selected_version.unwrap_or(sh.version),
        suite: sh.cipher_suite,
        rest,
    })
}

/// The DER certificates of a TLS ≤ 1.2 Certificate message in `handshake`
/// (the messages after the ServerHello), reading more records from
/// `stream` as needed; empty when none comes.
pub fn certificate_chain(mut handshake: Vec<u8>, stream: &mut impl Read) -> Vec<Vec<u8>> {
    loop {
        let mut at = 0usize;
        while let (Some(&kind), Some(len)) = (handshake.get(at), u24(&handshake, at + 1)) {
            let Some(body) = handshake.get(at + 4..at + 4 + len) else {
                break;
            };
            if kind == 11 {
                return parser::certificate_chain(body).unwrap_or_default();
            }
            if kind == 14 {
                return Vec::new(); // ServerHelloDone: no certificate
            }
            at += 4 + len;
        }
        let mut header = [0u8; 5];
        if handshake.len() > MAX_ANSWER || stream.read_exact(&mut header).is_err() {
            return Vec::new();
        }
        let len = usize::from(u16::from_be_bytes([header[3], header[4]]));
        if header[0] != 22 || len > MAX_RECORD {
            return Vec::new();
        }
        let mut payload = vec![0u8; len];
        if stream.read_exact(&mut payload).is_err() {
            return Vec::new();
        }
        handshake.extend_from_slice(&payload);
    }
}

fn u24(b: &[u8], at: usize) -> Option<usize> {
    let s = b.get(at..at + 3)?;
    Some(usize::from(s[0]) << 16 | usize::from(s[1]) << 8 | usize::from(s[2]))
}

/// Send `spec`'s ClientHello on `stream` and read the answer.
pub fn probe(stream: &mut (impl Read + Write), spec: &HelloSpec<'_>) -> Answer {
    if stream.write_all(&client_hello(spec)).is_err() {
        return Answer::Closed;
    }
    read_answer(stream)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tls13_hello_carries_versions_and_a_key_share() {
        let hello = client_hello(&HelloSpec {
            version: 0x0304,
            suites: &[0x1301],
            sni: Some("example.org"),
        });
        assert_eq!(&hello[..3], &[22, 3, 1]);
        let len = usize::from(u16::from_be_bytes([hello[3], hello[4]]));
        assert_eq!(hello.len(), 5 + len);
        // legacy version 1.2, supported_versions lists 1.3
        assert_eq!(&hello[9..11], &[3, 3]);
        assert!(hello
            .windows(5)
            .any(|w| w == [0x00, 0x2b, 0x00, 0x03, 0x02]));
        assert!(hello.windows(11).any(|w| w == b"example.org"));
    }

    #[test]
    fn answers_parse_and_garbage_is_not_tls() {
        // ServerHello: TLS 1.2, suite 0xc02f, then a ServerHelloDone.
        let mut body = vec![3, 3];
        body.extend_from_slice(&[7u8; 32]);
        body.extend_from_slice(&[0, 0xc0, 0x2f, 0, 0, 0]);
        let mut hs = vec![2, 0, 0, body.len() as u8];
        hs.extend_from_slice(&body);
        hs.extend_from_slice(&[14, 0, 0, 0]);
        let mut rec = vec![22, 3, 3, 0, hs.len() as u8];
        rec.extend_from_slice(&hs);
        let answer = read_answer(&mut rec.as_slice());
        let Answer::Hello {
            version,
            suite,
            rest,
        } = answer
        else {
            panic!("{answer:?}");
        };
        assert_eq!((version, suite), (0x0303, 0xc02f));
        assert!(certificate_chain(rest, &mut std::io::empty()).is_empty());
        assert_eq!(
            read_answer(&mut &[21u8, 3, 3, 0, 2, 2, 40][..]),
            Answer::Alert { description: 40 }
        );
        assert_eq!(read_answer(&mut &b"HTTP/1.1 400 Bad"[..]), Answer::NotTls);
        assert_eq!(read_answer(&mut &[22u8, 3][..]), Answer::Closed);
    }
}
