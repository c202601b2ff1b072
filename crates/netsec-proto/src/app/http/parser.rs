//! HTTP/1.x message heads (RFC 9112 §2–§6): start line and header fields,
//! chunk-size lines, and the cheap check used to identify HTTP.

use netsec_model::{HttpHeaders, HttpMessage};

/// Most header fields kept per message.
pub const MAX_HEADERS: usize = 32;
/// Longest header value (and request target) kept, bytes.
pub const MAX_VALUE: usize = 1024;

/// Request methods recognised at the start of a flow: RFC 9110 §9, PATCH
/// (RFC 5789), WebDAV (RFC 4918) and the other registered ones in common use.
const METHODS: [&[u8]; 20] = [
    b"GET ",
    b"POST ",
    b"HEAD ",
    b"PUT ",
    b"DELETE ",
    b"OPTIONS ",
    b"CONNECT ",
    b"TRACE ",
    b"PATCH ",
    b"PROPFIND ",
    b"PROPPATCH ",
    b"MKCOL ",
    b"COPY ",
    b"MOVE ",
    b"LOCK ",
    b"UNLOCK ",
    b"SEARCH ",
    b"REPORT ",
    b"MKCALENDAR ",
    b"SUBSCRIBE ",
];

/// Longest method token taken for one when it is not a known method.
const MAX_METHOD: usize = 20;

/// Whether bytes start like an HTTP/1.x request or response: `HTTP/1.`, a
/// known method and a space, or any upper-case token and a space whose line
/// ends in ` HTTP/1.0` or ` HTTP/1.1` within the first bytes. No allocation.
pub fn looks_like_http(b: &[u8]) -> bool {
    if b.starts_with(b"HTTP/1.") || METHODS.iter().any(|m| b.starts_with(m)) {
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
        let nl = i + b.get(i..)?.iter().position(|c| *c == b'\n')?;
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
    pub version: String,
    /// Header fields, lower-cased names, in order, in one buffer.
    pub headers: HttpHeaders,
    /// Content-Length, if valid (the last one when repeated, as tshark does).
    pub content_length: Option<u64>,
    /// Transfer-Encoding ends in chunked.
    pub chunked: bool,
}

/// `s` cut to [`MAX_VALUE`] bytes on a character boundary.
fn cut(s: &str) -> &str {
    let mut end = s.len().min(MAX_VALUE);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or("")
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

/// Parse a head (start line and header lines, the empty line optional).
/// `None` when the start line is neither a request nor a status line.
///
/// The head is read in place (as text when it is valid UTF-8, the common
/// case; lossily converted otherwise): the header fields go into one
/// buffer, and only the start line's parts and the fields the event names
/// (Host, User-Agent, Server, Content-Type) are copied out.
pub fn parse_head(head: &[u8]) -> Option<Head> {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let start = lines.next()?;
    // One allocation each for the fields' text and their ends.
    let fields = head
        .iter()
        .filter(|c| **c == b'\n')
        .count()
        .min(MAX_HEADERS);
    let mut headers = HttpHeaders::with_capacity(fields, head.len().saturating_sub(start.len()));
    let mut content_length = None;
    let mut chunked = false;
    for line in lines {
        if line.is_empty() {
            break;
        }
        // obs-fold (RFC 9112 §5.2): a continuation of the previous value.
        if line.starts_with([' ', '\t']) {
            headers.extend_last(" ", line.trim(), MAX_VALUE);
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let name = name.trim();
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            content_length = value.parse::<u64>().ok();
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = ends_chunked(value);
        }
        if headers.len() < MAX_HEADERS {
            headers.push_lower(name, cut(value));
        }
    }
    let header = |n: &str| headers.get(n).map(str::to_string);
    if let Some(rest) = start.strip_prefix("HTTP/") {
        let mut parts = rest.splitn(3, ' ');
        let version = parts.next()?;
        let status: u16 = parts.next()?.trim().parse().ok()?;
        if !(100..=999).contains(&status) {
            return None;
        }
        let reason = cut(parts.next().unwrap_or("").trim()).to_string();
        return Some(Head {
            message: HttpMessage::Response {
                status,
                reason,
                server: header("server"),
                content_type: header("content-type"),
                content_length,
            },
            version: version.to_string(),
            headers,
            content_length,
            chunked,
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
    let rest = rest.trim();
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
            method: method.to_string(),
            uri: cut(uri).to_string(),
            host: header("host"),
            user_agent: header("user-agent"),
        },
        version: version.to_string(),
        headers,
        content_length,
        chunked,
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
