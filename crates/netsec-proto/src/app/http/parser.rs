//! HTTP/1.x message heads (RFC 9112 §2–§6): start line and header fields,
//! chunk-size lines, and the cheap check used to identify HTTP.

use std::borrow::Cow;

use netsec_model::{HttpHeaders, HttpMessage};

/// Most header fields kept per message.
pub const MAX_HEADERS: usize = 32;
/// Longest header value (and request target) kept, bytes.
pub const MAX_VALUE: usize = 1024;

/// Request methods recognised at the start of a flow: RFC 9110 §9, PATCH
/// (RFC 5789), WebDAV (RFC 4918) and the other registered ones in common use.
const METHODS: [&str; 20] = [
    "GET",
    "POST",
    "HEAD",
    "PUT",
    "DELETE",
    "OPTIONS",
    "CONNECT",
    "TRACE",
    "PATCH",
    "PROPFIND",
    "PROPPATCH",
    "MKCOL",
    "COPY",
    "MOVE",
    "LOCK",
    "UNLOCK",
    "SEARCH",
    "REPORT",
    "MKCALENDAR",
    "SUBSCRIBE",
];

/// HTTP versions of a start line held without allocation.
const VERSIONS: [&str; 3] = ["1.1", "1.0", "0.9"];

/// Reason phrases held without allocation: RFC 9110 §15's for the usual
/// status codes, and the one proxies send after CONNECT.
const REASONS: [&str; 24] = [
    "OK",
    "Not Found",
    "Not Modified",
    "Found",
    "Moved Permanently",
    "No Content",
    "Partial Content",
    "Created",
    "Accepted",
    "See Other",
    "Temporary Redirect",
    "Permanent Redirect",
    "Bad Request",
    "Unauthorized",
    "Forbidden",
    "Method Not Allowed",
    "Internal Server Error",
    "Bad Gateway",
    "Service Unavailable",
    "Gateway Timeout",
    "Continue",
    "Switching Protocols",
    "Connection established",
    "Connection Established",
];

/// `text` as one of `known` (borrowed, static) when it is one, else copied.
fn static_or_owned(text: &str, known: &[&'static str]) -> Cow<'static, str> {
    match known.iter().find(|k| **k == text) {
        Some(k) => Cow::Borrowed(*k),
        None => Cow::Owned(text.to_string()),
    }
}

/// Longest method token taken for one when it is not a known method.
const MAX_METHOD: usize = 20;

/// Whether bytes start like an HTTP/1.x request or response: `HTTP/1.`, a
/// known method and a space, or any upper-case token and a space whose line
/// ends in ` HTTP/1.0` or ` HTTP/1.1` within the first bytes. No allocation.
pub fn looks_like_http(b: &[u8]) -> bool {
    let known_method = METHODS
        .iter()
        .any(|m| b.starts_with(m.as_bytes()) && b.get(m.len()) == Some(&b' '));
    if b.starts_with(b"HTTP/1.") || known_method {
        return true;
    }
    let token = b
        .iter()
        .take(MAX_METHOD + 1)
        .take_while(|c| c.is_ascii_uppercase() || **c == b'-' || **c == b'_')
        .count();
    if token == 0 || token > MAX_METHOD || b.get(token) != Some(&b' ') {
        return false;
    }
    let window = b.get(..b.len().min(2048)).unwrap_or(b);
    let Some(eol) = window.iter().position(|c| *c == b'\n') else {
        return false;
    };
    let line = window.get(..eol).unwrap_or(&[]);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    line.ends_with(b" HTTP/1.1") || line.ends_with(b" HTTP/1.0")
}

/// End of a head in `b` (the index just past its empty line), looking for
/// the empty line from `from` on (a resumed search passes where it stopped).
pub fn head_end(b: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    loop {
        let nl = i + memchr::memchr(b'\n', b.get(i..)?)?;
        match b.get(nl + 1..) {
            Some([b'\n', ..]) => return Some(nl + 2),
            Some([b'\r', b'\n', ..]) => return Some(nl + 3),
            _ => i = nl + 1,
        }
    }
}

/// A parsed head and what it says about the body.
#[derive(Debug)]
pub struct Head {
    /// Start line and main headers.
    pub message: HttpMessage,
    /// Version (`1.1`).
    pub version: Cow<'static, str>,
    /// Header fields, lower-cased names, in order, in one buffer.
    pub headers: HttpHeaders,
    /// Content-Length, if valid (the last one when repeated, as tshark does).
    pub content_length: Option<u64>,
    /// Transfer-Encoding ends in chunked.
    pub chunked: bool,
    /// Index in `headers` of the first Content-Type field.
    pub content_type: Option<usize>,
    /// Index in `headers` of the first Content-Encoding field.
    pub content_encoding: Option<usize>,
}

impl Head {
    /// The value of header field `index` (as [`Head::content_type`] gives), owned.
    pub fn value_of(&self, index: Option<usize>) -> Option<String> {
        field_value(&self.headers, index)
    }
}

/// The value of field `index` of `headers`, owned.
fn field_value(headers: &HttpHeaders, index: Option<usize>) -> Option<String> {
    index
        .and_then(|i| headers.field(i))
        .map(|(_, value)| value.to_string())
}

/// `s` cut to [`MAX_VALUE`] bytes on a character boundary.
fn cut(s: &str) -> &str {
    let mut end = s.len().min(MAX_VALUE);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or("")
}

/// ASCII white space as [`char::is_whitespace`] counts it (tab, line feed,
/// vertical tab, form feed, carriage return, space).
fn is_ascii_white(c: u8) -> bool {
    matches!(c, b'\t'..=b'\r' | b' ')
}

/// `s` without leading and trailing white space, exactly as [`str::trim`]
/// gives it; ASCII ends are handled on bytes, and only a non-ASCII
/// character at an end (possibly Unicode white space) is left to `str::trim`.
fn trim(s: &str) -> &str {
    let b = s.as_bytes();
    // Most names and values have nothing to trim: a visible ASCII byte at
    // both ends.
    let visible = |c: Option<&u8>| c.is_some_and(|c| (b'!'..=b'~').contains(c));
    if visible(b.first()) && visible(b.last()) {
        return s;
    }
    let start = b
        .iter()
        .position(|c| !is_ascii_white(*c))
        .unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !is_ascii_white(*c))
        .map_or(start, |last| last + 1);
    let non_ascii = |i: usize| b.get(i).is_some_and(|c| !c.is_ascii());
    if non_ascii(start) || (end > start && non_ascii(end - 1)) {
        return s.trim();
    }
    s.get(start..end.max(start)).unwrap_or("")
}

/// Whether the last coding of a Transfer-Encoding value is `chunked`
/// (RFC 9112 §6.3: only then is the body chunked); empty list elements are
/// skipped (RFC 9110 §5.6.1).
fn ends_chunked(value: &str) -> bool {
    value
        .rsplit(',')
        .map(str::trim)
        .find(|c| !c.is_empty())
        .is_some_and(|c| c.eq_ignore_ascii_case("chunked"))
}

/// The header fields the parser acts on or names in the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KnownField {
    Host,
    UserAgent,
    Server,
    ContentType,
    ContentEncoding,
    ContentLength,
    TransferEncoding,
}

/// Which of the [`KnownField`]s a (trimmed) field name is, and that name in
/// lower case, by its length first so that most names are ruled out by one
/// comparison.
fn known_field(name: &str) -> Option<(KnownField, &'static str)> {
    let (known, field) = match name.len() {
        4 => ("host", KnownField::Host),
        6 => ("server", KnownField::Server),
        10 => ("user-agent", KnownField::UserAgent),
        12 => ("content-type", KnownField::ContentType),
        14 => ("content-length", KnownField::ContentLength),
        16 => ("content-encoding", KnownField::ContentEncoding),
        17 => ("transfer-encoding", KnownField::TransferEncoding),
        _ => return None,
    };
    name.eq_ignore_ascii_case(known).then_some((field, known))
}

/// The lines of a head: the text between line feeds (the last piece too,
/// even when empty, as `str::split` gives it), each without one trailing
/// carriage return.
struct HeadLines<'a> {
    text: &'a str,
    /// Where the next line starts; past the end once the last was given.
    pos: usize,
}

impl<'a> Iterator for HeadLines<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let rest = self.text.get(self.pos..)?;
        let (line, next) = match memchr::memchr(b'\n', rest.as_bytes()) {
            Some(nl) => (rest.get(..nl)?, self.pos + nl + 1),
            None => (rest, self.text.len() + 1),
        };
        self.pos = next;
        Some(line.strip_suffix('\r').unwrap_or(line))
    }
}

/// Parse a head (start line and header lines, the empty line optional).
/// `None` when the start line is neither a request nor a status line.
///
/// The head is read in place (as text when it is valid UTF-8, the common
/// case; lossily converted otherwise) in one pass over its lines: the
/// header fields go into one buffer, the fields the event names (Host,
/// User-Agent, Server, Content-Type, Content-Encoding) are remembered by
/// index as they pass, and only the start line's parts and those fields'
/// values are copied out.
pub fn parse_head(head: &[u8]) -> Option<Head> {
    let text = match std::str::from_utf8(head) {
        Ok(valid) => Cow::Borrowed(valid),
        Err(_) => String::from_utf8_lossy(head),
    };
    let mut lines = HeadLines {
        text: &text,
        pos: 0,
    };
    let start = lines.next()?;
    // One allocation each for the fields' text and their ends.
    let fields = memchr::memchr_iter(b'\n', head).count().min(MAX_HEADERS);
    let mut headers = HttpHeaders::with_capacity(fields, head.len().saturating_sub(start.len()));
    let mut content_length = None;
    let mut chunked = false;
    // Index of the first field of each kind the event names.
    let (mut host, mut user_agent, mut server) = (None, None, None);
    let (mut content_type, mut content_encoding) = (None, None);
    for line in lines {
        let Some(first) = line.as_bytes().first() else {
            break;
        };
        // obs-fold (RFC 9112 §5.2): a continuation of the previous value.
        if matches!(first, b' ' | b'\t') {
            headers.extend_last(" ", trim(line), MAX_VALUE);
            continue;
        }
        let Some(colon) = memchr::memchr(b':', line.as_bytes()) else {
            continue;
        };
        let name = trim(line.get(..colon).unwrap_or(""));
        let value = line.get(colon + 1..).unwrap_or("");
        // The usual single space after the colon, skipped before trimming.
        let value = trim(value.strip_prefix(' ').unwrap_or(value));
        let known = known_field(name);
        match known {
            Some((KnownField::ContentLength, _)) => content_length = value.parse::<u64>().ok(),
            Some((KnownField::TransferEncoding, _)) => chunked = ends_chunked(value),
            _ => {}
        }
        let index = headers.len();
        if index >= MAX_HEADERS {
            continue;
        }
        // A known name is pushed in its lower-case spelling as it is.
        let pushed = match known {
            Some((_, lower)) => headers.push_already_lower(lower, cut(value)),
            None => headers.push_lower(name, cut(value)),
        };
        if pushed {
            let first_of = match known {
                Some((KnownField::Host, _)) => &mut host,
                Some((KnownField::UserAgent, _)) => &mut user_agent,
                Some((KnownField::Server, _)) => &mut server,
                Some((KnownField::ContentType, _)) => &mut content_type,
                Some((KnownField::ContentEncoding, _)) => &mut content_encoding,
                _ => continue,
            };
            first_of.get_or_insert(index);
        }
    }
    let header = |index: Option<usize>| field_value(&headers, index);
    if let Some(rest) = start.strip_prefix("HTTP/") {
        let mut parts = rest.splitn(3, ' ');
        let version = parts.next()?;
        let status: u16 = parts.next()?.trim().parse().ok()?;
        if !(100..=999).contains(&status) {
            return None;
        }
        let reason = static_or_owned(cut(trim(parts.next().unwrap_or(""))), &REASONS);
        return Some(Head {
            message: HttpMessage::Response {
                status,
                reason,
                server: header(server),
                content_type: header(content_type),
                content_length,
            },
            version: static_or_owned(version, &VERSIONS),
            headers,
            content_length,
            chunked,
            content_type,
            content_encoding,
        });
    }
    // method SP request-target SP HTTP-version; a target with spaces in it
    // (seen in attacks) is kept whole.
    let (method, rest) = start.split_once(' ')?;
    if method.is_empty()
        || method.len() > MAX_METHOD
        || !method
            .bytes()
            .all(|c| c.is_ascii_uppercase() || c == b'-' || c == b'_')
    {
        return None;
    }
    let rest = trim(rest);
    let (uri, version) = match rest.rsplit_once(' ') {
        Some((u, v)) if v.starts_with("HTTP/") => (u.trim_end(), v.get(5..).unwrap_or("")),
        // HTTP/0.9: no version.
        _ => (rest, "0.9"),
    };
    if uri.is_empty() {
        return None;
    }
    Some(Head {
        message: HttpMessage::Request {
            method: static_or_owned(method, &METHODS),
            uri: cut(uri).to_string(),
            host: header(host),
            user_agent: header(user_agent),
        },
        version: static_or_owned(version, &VERSIONS),
        headers,
        content_length,
        chunked,
        content_type,
        content_encoding,
    })
}

/// Size of a chunk from its chunk-size line (hex, then optional `;ext`).
/// `None` when the line is not a chunk size.
pub fn chunk_size(line: &[u8]) -> Option<u64> {
    let line = std::str::from_utf8(line).ok()?;
    let size = line.split(';').next()?.trim();
    if size.is_empty() || size.len() > 16 {
        return None;
    }
    u64::from_str_radix(size, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The request of `http-all-headers` (suricata-verify), as tshark shows it.
    const REQUEST: &[u8] = b"GET /download.html HTTP/1.1\r\n\
Host: www.ethereal.com\r\n\
User-Agent: Mozilla/5.0 (Windows; U; Windows NT 5.1; en-US; rv:1.6) Gecko/20040113\r\n\
Accept: text/xml,application/xml\r\n\
Accept-Language: en-us,en;q=0.5\r\n\r\n";

    #[test]
    fn request_head() {
        let h = parse_head(REQUEST).unwrap();
        let HttpMessage::Request {
            method,
            uri,
            host,
            user_agent,
        } = h.message
        else {
            panic!("not a request");
        };
        assert_eq!(method, "GET");
        assert_eq!(uri, "/download.html");
        assert_eq!(host.as_deref(), Some("www.ethereal.com"));
        assert!(user_agent.unwrap().starts_with("Mozilla/5.0"));
        assert_eq!(h.version, "1.1");
        assert_eq!(h.headers.len(), 4);
        assert_eq!(h.headers.field(2).map(|f| f.0), Some("accept"));
    }

    #[test]
    fn uri_with_spaces_and_http09() {
        let h = parse_head(b"GET /uri afterspace HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        assert!(
            matches!(h.message, HttpMessage::Request { ref uri, .. } if uri == "/uri afterspace")
        );
        let h = parse_head(b"GET /\r\n\r\n").unwrap();
        assert_eq!(h.version, "0.9");
        assert!(parse_head(b"get / HTTP/1.1\r\n\r\n").is_none());
        assert!(parse_head(b"\x16\x03\x01\x00").is_none());
    }

    #[test]
    fn response_head_limits_and_folding() {
        let mut head = b"HTTP/1.0 200 OK\r\nServer: a\r\n  b\r\nContent-Length: 7\r\n".to_vec();
        for i in 0..40 {
            head.extend(format!("X-{i}: {}\r\n", "v".repeat(2000)).as_bytes());
        }
        head.extend(b"\r\n");
        let h = parse_head(&head).unwrap();
        assert!(matches!(
            h.message,
            HttpMessage::Response { status: 200, ref server, content_length: Some(7), .. }
                if server.as_deref() == Some("a b")
        ));
        assert_eq!(h.headers.len(), MAX_HEADERS);
        assert!(h.headers.iter().all(|(_, v)| v.len() <= MAX_VALUE));
        assert!(parse_head(b"HTTP/1.1 abc OK\r\n\r\n").is_none());
    }

    #[test]
    fn trim_is_str_trim() {
        for s in [
            "",
            " \t ",
            "x",
            " a b\t",
            "\x0bv\x0c",
            "\u{a0}nbsp\u{3000}",
            "é ",
            " \u{2003}é\u{85}",
            "a\u{a0}b",
        ] {
            assert_eq!(trim(s), s.trim(), "{s:?}");
        }
    }

    #[test]
    fn repeated_odd_and_non_utf8_fields() {
        let head = b"POST /up HTTP/1.1\n\
HOST:\t www.a.example \t\r\n\
Host: www.b.example\r\n\
no colon here\r\n\
User-Agent : agent/1\r\n\
\t(folded)\r\n\
Content-Length: 5\r\n\
content-length: 9\r\n\
Content-Type: text/\xffplain\r\n\
Content-Encoding:\xc2\xa0gzip\r\n\r\n";
        let h = parse_head(head).unwrap();
        let HttpMessage::Request {
            ref method,
            ref uri,
            ref host,
            ref user_agent,
        } = h.message
        else {
            panic!("not a request");
        };
        assert_eq!((method.as_ref(), uri.as_str()), ("POST", "/up"));
        // The first Host names the request; both are kept in order.
        assert_eq!(host.as_deref(), Some("www.a.example"));
        assert_eq!(user_agent.as_deref(), Some("agent/1 (folded)"));
        // The last Content-Length counts.
        assert_eq!(h.content_length, Some(9));
        assert_eq!(
            h.value_of(h.content_type).as_deref(),
            Some("text/\u{fffd}plain")
        );
        // U+00A0 is white space to `str::trim`, so it is trimmed off.
        assert_eq!(h.value_of(h.content_encoding).as_deref(), Some("gzip"));
        let names: Vec<&str> = h.headers.iter().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            [
                "host",
                "host",
                "user-agent",
                "content-length",
                "content-length",
                "content-type",
                "content-encoding"
            ]
        );
        assert_eq!(h.headers.field(1), Some(("host", "www.b.example")));
    }

    #[test]
    fn known_fields_past_the_kept_ones_still_frame() {
        let mut head = b"HTTP/1.1 200 OK\r\n".to_vec();
        for i in 0..MAX_HEADERS {
            head.extend(format!("X-{i}: v\r\n").as_bytes());
        }
        head.extend(b"Server: late\r\nTransfer-Encoding: gzip, chunked\r\n\r\n");
        let h = parse_head(&head).unwrap();
        assert!(h.chunked);
        assert!(matches!(
            h.message,
            HttpMessage::Response { server: None, .. }
        ));
        assert_eq!(h.headers.len(), MAX_HEADERS);
    }

    #[test]
    fn usual_method_version_and_reason_are_static() {
        let h = parse_head(b"GET / HTTP/1.1\r\n\r\n").unwrap();
        assert!(matches!(h.version, Cow::Borrowed("1.1")));
        assert!(matches!(
            h.message,
            HttpMessage::Request {
                method: Cow::Borrowed("GET"),
                ..
            }
        ));
        let h = parse_head(b"PURGE /x HTTP/1.2\r\n\r\n").unwrap();
        assert!(matches!(h.version, Cow::Owned(ref v) if v == "1.2"));
        assert!(
            matches!(h.message, HttpMessage::Request { method: Cow::Owned(ref m), .. } if m == "PURGE")
        );
        let h = parse_head(b"HTTP/1.0 404 Not Found\r\n\r\n").unwrap();
        assert!(matches!(h.version, Cow::Borrowed("1.0")));
        assert!(matches!(
            h.message,
            HttpMessage::Response {
                status: 404,
                reason: Cow::Borrowed("Not Found"),
                ..
            }
        ));
        let h = parse_head(b"HTTP/1.1 200 Fine \r\n\r\n").unwrap();
        assert!(
            matches!(h.message, HttpMessage::Response { reason: Cow::Owned(ref r), .. } if r == "Fine")
        );
    }

    #[test]
    fn transfer_encoding_and_chunk_sizes() {
        assert!(ends_chunked("gzip, chunked"));
        assert!(ends_chunked(",\tchunked,"));
        assert!(!ends_chunked("chunked, gzip"));
        assert_eq!(chunk_size(b"1a;name=v\r\n"), Some(26));
        assert_eq!(chunk_size(b"0\r\n"), Some(0));
        assert_eq!(chunk_size(b"zz\r\n"), None);
        assert_eq!(chunk_size(b"\r\n"), None);
    }

    #[test]
    fn head_end_search() {
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nA: b\r\n\r\nbody", 0), Some(24));
        assert_eq!(head_end(b"GET / HTTP/1.0\n\nx", 0), Some(16));
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nA: b\r\n", 0), None);
    }

    #[test]
    fn identification_bytes() {
        assert!(looks_like_http(b"GET / HTTP/1.1\r\n"));
        assert!(looks_like_http(b"HTTP/1.1 200 OK\r\n"));
        assert!(looks_like_http(b"PURGE /x HTTP/1.1\r\nHost: a\r\n"));
        // A known method suffices even before the line is complete.
        assert!(looks_like_http(b"POST "));
        // Other protocols' commands: no HTTP version on the line.
        assert!(!looks_like_http(b"EHLO mail.example.org\r\n"));
        assert!(!looks_like_http(b"USER anonymous\r\n"));
        assert!(!looks_like_http(b"PURGE /x"));
        assert!(!looks_like_http(b"get / HTTP/1.1\r\n"));
        assert!(!looks_like_http(b"HTTP/2 200\r\n"));
        assert!(!looks_like_http(b""));
    }
}
