//! HTTP/1.x message heads (RFC 9112 §2–§6): start line and header fields.

use netsec_model::HttpMessage;

/// Most header fields kept per message.
pub const MAX_HEADERS: usize = 32;
/// Longest header value kept, bytes.
pub const MAX_VALUE: usize = 1024;

/// Request methods recognised at the start of a flow (RFC 9110 §9, WebDAV, PATCH).
pub const METHODS: [&[u8]; 15] = [
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
];

/// Whether bytes start like an HTTP/1.x request or response.
pub fn looks_like_http(b: &[u8]) -> bool {
    b.starts_with(b"HTTP/1.") || METHODS.iter().any(|m| b.starts_with(m))
}

/// A parsed head and what it says about the body.
#[derive(Debug)]
pub struct Head {
    /// Start line and main headers.
    pub message: HttpMessage,
    /// Version (`1.1`).
    pub version: String,
    /// Header fields, lower-cased names.
    pub headers: Vec<(String, String)>,
    /// Content-Length, if valid.
    pub content_length: Option<u64>,
    /// Transfer-Encoding ends in chunked.
    pub chunked: bool,
}

fn cut(s: &str) -> String {
    let mut end = s.len().min(MAX_VALUE);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or("").to_string()
}

/// Parse a head (the bytes before the empty line, without it).
pub fn parse_head(head: &[u8]) -> Option<Head> {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.split("\r\n").flat_map(|l| l.split('\n'));
    let start = lines.next()?;
    let mut headers = Vec::new();
    let mut content_length = None;
    let mut chunked = false;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let name = name.trim().to_ascii_lowercase();
        let value = value.trim();
        match name.as_str() {
            "content-length" => content_length = value.parse::<u64>().ok(),
            "transfer-encoding" => {
                chunked = value.to_ascii_lowercase().trim_end().ends_with("chunked");
            }
            _ => {}
        }
        if headers.len() < MAX_HEADERS {
            headers.push((name, cut(value)));
        }
    }
    let header = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    if let Some(rest) = start.strip_prefix("HTTP/") {
        let mut parts = rest.splitn(3, ' ');
        let version = parts.next()?.to_string();
        let status: u16 = parts.next()?.trim().parse().ok()?;
        let reason = parts.next().unwrap_or("").to_string();
        return Some(Head {
            message: HttpMessage::Response {
                status,
                reason,
                server: header("server"),
                content_type: header("content-type"),
                content_length,
            },
            version,
            headers,
            content_length,
            chunked,
        });
    }
    let mut parts = start.split(' ').filter(|p| !p.is_empty());
    let method = parts.next()?.to_string();
    if method.is_empty() || !method.bytes().all(|c| c.is_ascii_uppercase() || c == b'-') {
        return None;
    }
    let uri = parts.next()?.to_string();
    let version = parts
        .next()
        .and_then(|v| v.strip_prefix("HTTP/"))
        .unwrap_or("0.9")
        .to_string();
    Some(Head {
        message: HttpMessage::Request {
            method,
            uri: cut(&uri),
            host: header("host"),
            user_agent: header("user-agent"),
        },
        version,
        headers,
        content_length,
        chunked,
    })
}
