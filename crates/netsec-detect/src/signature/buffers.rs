//! The application-layer buffers of one moment (an HTTP transaction, a DNS
//! query, a TLS handshake message, an SSH banner), written into one
//! reusable byte arena so building them allocates nothing once warm.

use std::ops::Range;

use netsec_model::{AppEvent, HttpEvent, HttpMessage, TlsMessage};

use super::rule::Buffer;

/// Buffers by name, their bytes in one arena.
#[derive(Debug, Default)]
pub(crate) struct AppBuffers {
    arena: Vec<u8>,
    ranges: Vec<(Buffer, Range<usize>)>,
}

impl AppBuffers {
    pub(crate) fn clear(&mut self) {
        self.arena.clear();
        self.ranges.clear();
    }

    /// The bytes of `buffer`, if this moment has it.
    pub(crate) fn get(&self, buffer: Buffer) -> Option<&[u8]> {
        self.ranges
            .iter()
            .find(|(b, _)| *b == buffer)
            .and_then(|(_, r)| self.arena.get(r.clone()))
    }

    fn put(&mut self, buffer: Buffer, parts: &[&[u8]]) {
        let start = self.arena.len();
        for part in parts {
            self.arena.extend_from_slice(part);
        }
        self.ranges.push((buffer, start..self.arena.len()));
    }

    fn put_header(&mut self, buffer: Buffer, http: &HttpEvent, name: &str) {
        if let Some((_, value)) = http
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            self.put(buffer, &[value.as_bytes()]);
        }
    }

    /// The buffers of an HTTP request or response (start line and headers).
    pub(crate) fn add_http(&mut self, http: &HttpEvent) {
        // netsec keeps `1.1`; the start line (and Suricata's buffers) say `HTTP/1.1`
        let prefix: &[u8] = if http.version.starts_with("HTTP/") {
            b""
        } else {
            b"HTTP/"
        };
        let start = self.arena.len();
        self.arena.extend_from_slice(prefix);
        self.arena.extend_from_slice(http.version.as_bytes());
        self.ranges
            .push((Buffer::HttpProtocol, start..self.arena.len()));
        let version_owned = self.arena.get(start..).unwrap_or_default().to_vec();
        let version = version_owned.as_slice();
        match &http.message {
            HttpMessage::Request {
                method,
                uri,
                host,
                user_agent,
            } => {
                self.put(Buffer::HttpMethod, &[method.as_bytes()]);
                // http.uri is normalised as libhtp does by default: %XX decoded
                let start = self.arena.len();
                percent_decode_into(uri.as_bytes(), &mut self.arena);
                self.ranges.push((Buffer::HttpUri, start..self.arena.len()));
                self.put(Buffer::HttpUriRaw, &[uri.as_bytes()]);
                self.put(
                    Buffer::HttpRequestLine,
                    &[method.as_bytes(), b" ", uri.as_bytes(), b" ", version],
                );
                let raw_host = host.as_deref().or_else(|| {
                    http.headers
                        .iter()
                        .find(|(n, _)| n.eq_ignore_ascii_case("host"))
                        .map(|(_, v)| v)
                });
                if let Some(raw) = raw_host {
                    self.put(Buffer::HttpHostRaw, &[raw.as_bytes()]);
                    // http.host: lower case, without the port (libhtp's normalisation)
                    let start = self.arena.len();
                    let name = match raw.rsplit_once(':') {
                        Some((h, p)) if !h.contains(']') || h.ends_with(']') => {
                            if p.bytes().all(|b| b.is_ascii_digit()) {
                                h
                            } else {
                                raw
                            }
                        }
                        _ => raw,
                    };
                    self.arena
                        .extend(name.bytes().map(|b| b.to_ascii_lowercase()));
                    self.ranges
                        .push((Buffer::HttpHost, start..self.arena.len()));
                }
                if let Some(ua) = user_agent {
                    self.put(Buffer::HttpUserAgent, &[ua.as_bytes()]);
                } else {
                    self.put_header(Buffer::HttpUserAgent, http, "user-agent");
                }
                self.put_header(Buffer::HttpCookie, http, "cookie");
                self.put_header(Buffer::HttpReferer, http, "referer");
                self.put_header(Buffer::HttpAccept, http, "accept");
                self.put_header(Buffer::HttpAcceptEnc, http, "accept-encoding");
                self.put_header(Buffer::HttpAcceptLang, http, "accept-language");
                self.start_line_and_headers(
                    http,
                    &[method.as_bytes(), b" ", uri.as_bytes(), b" ", version],
                );
            }
            HttpMessage::Response { status, reason, .. } => {
                let mut code = [0u8; 5];
                let code = format_u16(*status, &mut code);
                self.put(Buffer::HttpStatCode, &[code]);
                self.put(Buffer::HttpStatMsg, &[reason.as_bytes()]);
                self.put(
                    Buffer::HttpResponseLine,
                    &[version, b" ", code, b" ", reason.as_bytes()],
                );
                self.put_header(Buffer::HttpLocation, http, "location");
                self.put_header(Buffer::HttpServer, http, "server");
                self.put_header(Buffer::HttpCookie, http, "set-cookie");
                self.start_line_and_headers(http, &[version, b" ", code, b" ", reason.as_bytes()]);
            }
        }
        self.put_header(Buffer::HttpContentType, http, "content-type");
        self.put_header(Buffer::HttpContentLen, http, "content-length");
        self.put_header(Buffer::HttpConnection, http, "connection");
    }

    /// `http.header` (every header but the cookies, `Name: value\r\n`, as
    /// Suricata builds it), `http.header.raw`, `http.header_names`
    /// (`\r\nName\r\n…\r\n\r\n`) and `http.start`.
    fn start_line_and_headers(&mut self, http: &HttpEvent, start_line: &[&[u8]]) {
        let start = self.arena.len();
        push_headers(&mut self.arena, http, true);
        self.ranges
            .push((Buffer::HttpHeader, start..self.arena.len()));
        let start = self.arena.len();
        push_headers(&mut self.arena, http, false);
        self.ranges
            .push((Buffer::HttpHeaderRaw, start..self.arena.len()));
        let start = self.arena.len();
        self.arena.extend_from_slice(b"\r\n");
        for (name, _) in &http.headers {
            push_title_case(&mut self.arena, name);
            self.arena.extend_from_slice(b"\r\n");
        }
        self.arena.extend_from_slice(b"\r\n");
        self.ranges
            .push((Buffer::HttpHeaderNames, start..self.arena.len()));
        let start = self.arena.len();
        for part in start_line {
            self.arena.extend_from_slice(part);
        }
        self.arena.extend_from_slice(b"\r\n");
        push_headers(&mut self.arena, http, false);
        self.ranges
            .push((Buffer::HttpStart, start..self.arena.len()));
    }

    /// The buffers of a DNS, TLS or SSH event; false for an event that has none.
    pub(crate) fn add_event(&mut self, event: &AppEvent) -> bool {
        match event {
            AppEvent::Dns(dns) if !dns.is_response => {
                let Some(q) = dns.questions.first() else {
                    return false;
                };
                self.put(Buffer::DnsQuery, &[q.name.as_str().as_bytes()]);
            }
            AppEvent::Tls(tls) => match &tls.message {
                TlsMessage::ClientHello(hello) => {
                    if let Some(sni) = &hello.server_name {
                        self.put(Buffer::TlsSni, &[sni.as_bytes()]);
                    }
                    if let Some(ja3) = &hello.ja3 {
                        self.put(Buffer::Ja3String, &[ja3.as_bytes()]);
                    }
                    if let Some(hash) = &hello.ja3_hash {
                        self.put(Buffer::Ja3Hash, &[hash.as_bytes()]);
                    }
                    if let Some(ja4) = &hello.ja4 {
                        self.put(Buffer::Ja4Hash, &[ja4.as_bytes()]);
                    }
                }
                TlsMessage::ServerHello(hello) => {
                    if let Some(hash) = &hello.ja3s_hash {
                        self.put(Buffer::Ja3sHash, &[hash.as_bytes()]);
                    }
                }
                TlsMessage::Certificate {
                    chain,
                    certificates,
                } => {
                    if let Some(leaf) = certificates.first() {
                        self.put(Buffer::TlsCertSubject, &[leaf.subject.as_bytes()]);
                        self.put(Buffer::TlsCertIssuer, &[leaf.issuer.as_bytes()]);
                        self.put(Buffer::TlsCertSerial, &[leaf.serial.as_bytes()]);
                    }
                    if let Some(der) = chain.first() {
                        self.put(Buffer::TlsCerts, &[der]);
                    }
                }
            },
            AppEvent::Ssh(ssh) => {
                self.put(Buffer::SshProto, &[ssh.proto_version.as_bytes()]);
                self.put(Buffer::SshSoftware, &[ssh.software.as_bytes()]);
            }
            _ => return false,
        }
        true
    }

    /// An HTTP body (request or response), already bounded.
    pub(crate) fn add_body(&mut self, buffer: Buffer, body: &[u8]) {
        self.put(buffer, &[body]);
    }
}

/// Every header as `Name: value\r\n`, then the empty line; without the
/// cookies when `skip_cookies` (Suricata's `http.header` leaves them to
/// `http.cookie`).
fn push_headers(out: &mut Vec<u8>, http: &HttpEvent, skip_cookies: bool) {
    for (name, value) in &http.headers {
        if skip_cookies
            && (name.eq_ignore_ascii_case("cookie") || name.eq_ignore_ascii_case("set-cookie"))
        {
            continue;
        }
        push_title_case(out, name);
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

/// `%41` → `A` (valid escapes only; others are kept as written).
fn percent_decode_into(raw: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while let Some(&b) = raw.get(i) {
        if b == b'%' {
            let hex = |j: usize| raw.get(j).and_then(|c| (*c as char).to_digit(16));
            if let (Some(h), Some(l)) = (hex(i + 1), hex(i + 2)) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
}

/// A header name as clients write it (`user-agent` → `User-Agent`):
/// netsec-proto keeps names lower-cased, Suricata's header buffers keep them
/// as sent, and nearly every client sends this form.
fn push_title_case(out: &mut Vec<u8>, name: &str) {
    let mut upper = true;
    for b in name.bytes() {
        out.push(if upper { b.to_ascii_uppercase() } else { b });
        upper = b == b'-';
    }
}

/// `status` in decimal, without allocating.
fn format_u16(mut status: u16, out: &mut [u8; 5]) -> &[u8] {
    let mut i = out.len();
    loop {
        i -= 1;
        if let Some(slot) = out.get_mut(i) {
            *slot = b'0' + (status % 10) as u8;
        }
        status /= 10;
        if status == 0 || i == 0 {
            break;
        }
    }
    out.get(i..).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_escapes_decode() {
        let mut out = Vec::new();
        percent_decode_into(b"/a%3Cb%3e%zz%4", &mut out);
        assert_eq!(out, b"/a<b>%zz%4");
    }

    #[test]
    fn status_codes_print_in_decimal() {
        let mut out = [0u8; 5];
        assert_eq!(format_u16(200, &mut out), b"200");
        assert_eq!(format_u16(0, &mut out), b"0");
        assert_eq!(format_u16(65535, &mut out), b"65535");
    }
}
