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
    while exts.left() >= 4 {
        let ty = exts.u16()?;
        let mut data = exts.vec16()?;
        ch.extensions.push(ty);
        match ty {
            EXT_SERVER_NAME => {
                let mut list = data.vec16()?;
                while list.left() >= 3 {
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

/// Parse a ServerHello body.
pub fn server_hello(body: &[u8], record_version: u16) -> Option<ServerHello> {
    let mut r = Reader::new(body);
    let mut sh = ServerHello {
        record_version,
        version: r.u16()?,
        ..ServerHello::default()
    };
    r.take(32)?;
    r.vec8()?;
    sh.cipher_suite = r.u16()?;
    r.u8()?; // compression
    if r.left() == 0 {
        return Some(sh);
    }
    let mut exts = r.vec16()?;
    while exts.left() >= 4 {
        let ty = exts.u16()?;
        let mut data = exts.vec16()?;
        sh.extensions.push(ty);
        match ty {
            EXT_SUPPORTED_VERSIONS => sh.selected_version = data.u16(),
            EXT_ALPN => sh.alpn = alpn_list(data).into_iter().next(),
            _ => {}
        }
    }
    Some(sh)
}

/// Parse a Certificate body (TLS ≤ 1.2): the DER chain, leaf first.
pub fn certificate_chain(body: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut r = Reader::new(body);
    let mut list = r.vec24()?;
    let mut chain = Vec::new();
    while list.left() >= 3 {
        let mut cert = list.vec24()?;
        chain.push(cert.take(cert.left())?.to_vec());
    }
    Some(chain)
}

/// Whether bytes start like a TLS record carrying a ClientHello or
/// ServerHello (content type 22, version 3.x, handshake type 1 or 2).
pub fn looks_like_tls(b: &[u8]) -> bool {
    matches!(b, [0x16, 0x03, 0..=0x04, _, _, 1 | 2, ..])
}
