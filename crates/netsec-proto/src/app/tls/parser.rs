//! TLS handshake parsing (RFC 8446 §4, RFC 5246 §7.4): ClientHello,
//! ServerHello and Certificate, through a bounds-checked reader that returns
//! `None` on short input instead of indexing past the end.

use netsec_model::{ClientHello, ServerHello};

/// A cursor over bytes; every read is checked.
#[derive(Debug, Clone, Copy)]
pub struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    /// Read `buf` from the start.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }
    /// Bytes left.
    pub fn left(&self) -> usize {
        self.buf.len()
    }
    /// The bytes left, consumed.
    pub fn rest(self) -> &'a [u8] {
        self.buf
    }
    /// Take `n` bytes.
    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = (self.buf.get(..n)?, self.buf.get(n..)?);
        self.buf = rest;
        Some(head)
    }
    /// One byte.
    pub fn u8(&mut self) -> Option<u8> {
        self.take(1).and_then(|b| b.first().copied())
    }
    /// Big-endian u16.
    pub fn u16(&mut self) -> Option<u16> {
        let b = self.take(2)?;
        Some(u16::from_be_bytes([*b.first()?, *b.get(1)?]))
    }
    /// Big-endian u24.
    pub fn u24(&mut self) -> Option<usize> {
        let b = self.take(3)?;
        Some(
            (usize::from(*b.first()?) << 16)
                | (usize::from(*b.get(1)?) << 8)
                | usize::from(*b.get(2)?),
        )
    }
    /// A sub-reader over a `u8`-length-prefixed vector.
    pub fn vec8(&mut self) -> Option<Reader<'a>> {
        let n = usize::from(self.u8()?);
        Some(Reader::new(self.take(n)?))
    }
    /// A sub-reader over a `u16`-length-prefixed vector.
    pub fn vec16(&mut self) -> Option<Reader<'a>> {
        let n = usize::from(self.u16()?);
        Some(Reader::new(self.take(n)?))
    }
    /// A sub-reader over a `u24`-length-prefixed vector.
    pub fn vec24(&mut self) -> Option<Reader<'a>> {
        let n = self.u24()?;
        Some(Reader::new(self.take(n)?))
    }
    /// All u16 values left.
    pub fn u16s(mut self) -> Vec<u16> {
        let mut v = Vec::with_capacity(self.left() / 2);
        while let Some(x) = self.u16() {
            v.push(x);
        }
        v
    }
}

/// Extension numbers (IANA TLS ExtensionType registry).
const EXT_SERVER_NAME: u16 = 0;
const EXT_SUPPORTED_GROUPS: u16 = 10;
const EXT_EC_POINT_FORMATS: u16 = 11;
const EXT_SIGNATURE_ALGORITHMS: u16 = 13;
const EXT_ALPN: u16 = 16;
const EXT_SUPPORTED_VERSIONS: u16 = 43;

fn alpn_list(mut r: Reader<'_>) -> Vec<String> {
    let mut out = Vec::new();
    let Some(mut list) = r.vec16() else {
        return out;
    };
    while let Some(mut p) = list.vec8() {
        if let Some(b) = p.take(p.left()) {
            out.push(String::from_utf8_lossy(b).into_owned());
        }
    }
    out
}

/// Parse a ClientHello body (after the 4-byte handshake header).
pub fn client_hello(body: &[u8], record_version: u16) -> Option<ClientHello> {
    let mut r = Reader::new(body);
    let mut ch = ClientHello {
        record_version,
        version: r.u16()?,
        ..ClientHello::default()
    };
    r.take(32)?; // random
    r.vec8()?; // session id
    ch.cipher_suites = r.vec16()?.u16s();
    r.vec8()?; // compression methods
    if r.left() == 0 {
        return Some(ch); // no extensions (SSLv3-era hello)
    }
    let mut exts = r.vec16()?;
    while exts.left() > 0 {
        let ty = exts.u16()?;
        let mut data = exts.vec16()?;
        ch.extensions.push(ty);
        match ty {
            EXT_SERVER_NAME => {
                let mut list = data.vec16()?;
                while list.left() > 0 {
                    let name_type = list.u8()?;
                    let mut name = list.vec16()?;
                    if name_type == 0 && ch.server_name.is_none() {
                        let b = name.take(name.left())?;
                        ch.server_name = Some(String::from_utf8_lossy(b).into_owned());
                    }
                }
            }
            EXT_SUPPORTED_GROUPS => ch.supported_groups = data.vec16()?.u16s(),
            EXT_EC_POINT_FORMATS => {
                let mut v = data.vec8()?;
                ch.ec_point_formats = v.take(v.left())?.to_vec();
            }
            EXT_SIGNATURE_ALGORITHMS => ch.signature_algorithms = data.vec16()?.u16s(),
            EXT_ALPN => ch.alpn = alpn_list(data),
            EXT_SUPPORTED_VERSIONS => {
                let mut v = data.vec8()?;
                ch.supported_versions = Reader::new(v.take(v.left())?).u16s();
            }
            _ => {}
        }
    }
    Some(ch)
}

/// The ServerHello random that marks a HelloRetryRequest: SHA-256 of
/// "HelloRetryRequest" (RFC 8446 §4.1.3).
pub(crate) const HELLO_RETRY_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// Parse a ServerHello body; the flag is true for a HelloRetryRequest.
pub fn server_hello(body: &[u8], record_version: u16) -> Option<(ServerHello, bool)> {
    let mut r = Reader::new(body);
    let mut sh = ServerHello {
        record_version,
        version: r.u16()?,
        ..ServerHello::default()
    };
    let retry = r.take(32)? == HELLO_RETRY_RANDOM;
    r.vec8()?; // session id
    sh.cipher_suite = r.u16()?;
    r.u8()?; // compression
    if r.left() == 0 {
        return Some((sh, retry));
    }
    let mut exts = r.vec16()?;
    while exts.left() > 0 {
        let ty = exts.u16()?;
        let mut data = exts.vec16()?;
        sh.extensions.push(ty);
        match ty {
            EXT_SUPPORTED_VERSIONS => sh.selected_version = data.u16(),
            EXT_ALPN => sh.alpn = alpn_list(data).into_iter().next(),
            _ => {}
        }
    }
    Some((sh, retry))
}

/// Parse a Certificate body (TLS ≤ 1.2): the DER chain, leaf first.
pub fn certificate_chain(body: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut r = Reader::new(body);
    let mut list = r.vec24()?;
    let mut chain = Vec::new();
    while list.left() > 0 {
        let cert = list.vec24()?;
        chain.push(cert.rest().to_vec());
    }
    Some(chain)
}

/// Whether bytes start like a TLS record carrying a ClientHello or
/// ServerHello (content type 22, version 3.x, handshake type 1 or 2).
pub fn looks_like_tls(b: &[u8]) -> bool {
    matches!(b, [0x16, 0x03, 0..=0x04, _, _, 1 | 2, ..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vec16(body: &[u8]) -> Vec<u8> {
        let mut v = (body.len() as u16).to_be_bytes().to_vec();
        v.extend_from_slice(body);
        v
    }

    fn ext(ty: u16, body: &[u8]) -> Vec<u8> {
        let mut v = ty.to_be_bytes().to_vec();
        v.extend(vec16(body));
        v
    }

    /// A ClientHello body as Firefox-era clients build it: GREASE cipher and
    /// extension, SNI, groups, point formats, signature algorithms, ALPN,
    /// supported_versions.
    fn hello() -> Vec<u8> {
        let mut b = vec![0x03, 0x03];
        b.extend([7u8; 32]);
        b.push(0);
        b.extend(vec16(&[0x0a, 0x0a, 0x13, 0x01, 0xc0, 0x2f]));
        b.extend([1, 0]);
        let mut exts = Vec::new();
        exts.extend(ext(0x0a0a, &[]));
        let mut sni = vec![0];
        sni.extend(vec16(b"example.org"));
        exts.extend(ext(EXT_SERVER_NAME, &vec16(&sni)));
        exts.extend(ext(EXT_SUPPORTED_GROUPS, &vec16(&[0x00, 0x1d, 0x00, 0x17])));
        exts.extend(ext(EXT_EC_POINT_FORMATS, &[1, 0]));
        exts.extend(ext(
            EXT_SIGNATURE_ALGORITHMS,
            &vec16(&[0x04, 0x03, 0x08, 0x04]),
        ));
        exts.extend(ext(EXT_ALPN, &vec16(b"\x02h2\x08http/1.1")));
        exts.extend(ext(EXT_SUPPORTED_VERSIONS, &[4, 0x03, 0x04, 0x03, 0x03]));
        b.extend(vec16(&exts));
        b
    }

    #[test]
    fn client_hello_fields_in_order() {
        let ch = client_hello(&hello(), 0x0301).unwrap();
        assert_eq!(ch.record_version, 0x0301);
        assert_eq!(ch.version, 0x0303);
        assert_eq!(ch.cipher_suites, vec![0x0a0a, 0x1301, 0xc02f]);
        assert_eq!(ch.extensions, vec![0x0a0a, 0, 10, 11, 13, 16, 43]);
        assert_eq!(ch.server_name.as_deref(), Some("example.org"));
        assert_eq!(ch.supported_groups, vec![0x1d, 0x17]);
        assert_eq!(ch.ec_point_formats, vec![0]);
        assert_eq!(ch.signature_algorithms, vec![0x0403, 0x0804]);
        assert_eq!(ch.alpn, vec!["h2", "http/1.1"]);
        assert_eq!(ch.supported_versions, vec![0x0304, 0x0303]);
    }

    #[test]
    fn every_truncation_is_refused_without_panic() {
        let full = hello();
        // Cut right after compression methods is a valid extension-less hello.
        let no_extensions = 2 + 32 + 1 + 8 + 2;
        for n in 0..full.len() {
            let parsed = client_hello(&full[..n], 0x0301);
            assert_eq!(parsed.is_some(), n == no_extensions, "prefix {n}");
        }
    }

    #[test]
    fn server_hello_and_retry() {
        let mut b = vec![0x03, 0x03];
        b.extend([9u8; 32]);
        b.push(0);
        b.extend([0x13, 0x01, 0]);
        let mut exts = ext(EXT_SUPPORTED_VERSIONS, &[0x03, 0x04]);
        exts.extend(ext(EXT_ALPN, &vec16(b"\x02h2")));
        b.extend(vec16(&exts));
        let (sh, retry) = server_hello(&b, 0x0303).unwrap();
        assert!(!retry);
        assert_eq!(sh.cipher_suite, 0x1301);
        assert_eq!(sh.extensions, vec![43, 16]);
        assert_eq!(sh.selected_version, Some(0x0304));
        assert_eq!(sh.alpn.as_deref(), Some("h2"));
        b[2..34].copy_from_slice(&HELLO_RETRY_RANDOM);
        assert!(server_hello(&b, 0x0303).unwrap().1);
        for n in 0..b.len() {
            assert!(
                server_hello(&b[..n], 0x0303).is_none() || n == 38,
                "prefix {n}"
            );
        }
    }

    #[test]
    fn certificate_chain_leaf_first() {
        let mut list = vec![0, 0, 3, 1, 2, 3, 0, 0, 2, 4, 5];
        let mut body = vec![0, 0, list.len() as u8];
        body.append(&mut list);
        assert_eq!(
            certificate_chain(&body).unwrap(),
            vec![vec![1, 2, 3], vec![4, 5]]
        );
        assert!(certificate_chain(&body[..body.len() - 1]).is_none());
    }

    #[test]
    fn identification_bytes() {
        assert!(looks_like_tls(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc"));
        assert!(looks_like_tls(b"\x16\x03\x03\x00\x5a\x02"));
        // Finished (20), not a hello; alert record; SSL 2; HTTP.
        assert!(!looks_like_tls(b"\x16\x03\x03\x00\x5a\x14"));
        assert!(!looks_like_tls(b"\x15\x03\x03\x00\x02\x02\x28"));
        assert!(!looks_like_tls(b"\x80\x2e\x01\x00\x02"));
        assert!(!looks_like_tls(b"GET / HTTP/1.1"));
        assert!(!looks_like_tls(b"\x16\x03"));
    }
}
