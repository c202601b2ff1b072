//! HTTP/1.x: one event per request or response head, bodies skipped by
//! Content-Length or chunked encoding so that pipelined and keep-alive
//! messages are all found (RFC 9112 §6.3).

pub mod parser;

use std::collections::VecDeque;

use netsec_model::{AppEvent, Direction, EventContext, HttpEvent, HttpMessage};

use super::{side_index, FeedStatus};

/// Longest head buffered; a longer one gives an event with what it holds
/// and loses the framing of that direction.
const MAX_HEAD: usize = 16 * 1024;
/// Longest chunk-size or trailer line.
const MAX_LINE: usize = 1024;
/// Requests remembered for matching responses (pipelining depth).
const MAX_PENDING_REQUESTS: usize = 64;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Body {
    /// Reading a head.
    #[default]
    Head,
    /// Skipping this many body bytes.
    Length(u64),
    /// Reading a chunk-size line.
    ChunkSize,
    /// Skipping chunk data.
    ChunkData(u64),
    /// The CRLF after chunk data.
    ChunkEnd,
    /// After the last chunk: trailer lines until an empty one.
    Trailers,
    /// Body runs to the end of the connection (or the bytes are a tunnel).
    UntilClose,
    /// Framing lost (a gap or an over-long head): skip until a segment starts a message.
    Lost,
}

/// What a request implies for its response's body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RequestKind {
    Head,
    Connect,
    Other,
}

#[derive(Debug, Default)]
struct Side {
    /// Head or line bytes not complete yet.
    buf: Vec<u8>,
    body: Body,
}

/// Per-flow HTTP state.
#[derive(Debug, Default)]
pub struct HttpState {
    sides: [Side; 2],
    /// Methods of requests awaiting their response, oldest first.
    pending: VecDeque<RequestKind>,
    /// Messages parsed.
    pub messages: u64,
    /// Heads that did not parse, were too long, or bad chunk lines.
    pub malformed: u64,
    /// A CONNECT succeeded or a 101 switched protocols: what follows is another protocol.
    tunnel: bool,
}

impl HttpState {
    /// Heap bytes held in buffers (for the engine's memory budget).
    pub fn heap_bytes(&self) -> usize {
        self.sides.iter().map(|s| s.buf.capacity()).sum::<usize>()
            + self.pending.capacity() * std::mem::size_of::<RequestKind>()
    }

    /// Feed stream bytes of one direction.
    pub fn feed(
        &mut self,
        dir: Direction,
        data: &[u8],
        ctx: &EventContext,
        out: &mut Vec<AppEvent>,
    ) -> FeedStatus {
        let i = side_index(dir);
        let mut data = data;
        while !data.is_empty() {
            let Some(side) = self.sides.get_mut(i) else {
                return FeedStatus::Error;
            };
            match side.body {
                Body::UntilClose => break,
                Body::Lost => {
                    if side.buf.is_empty() && parser::looks_like_http(data) {
                        side.body = Body::Head;
                    } else {
                        break;
                    }
                }
                Body::Length(n) | Body::ChunkData(n) => {
                    let skip = n.min(data.len() as u64);
                    data = data.get(skip as usize..).unwrap_or(&[]);
                    side.body = match (side.body, n - skip) {
                        (Body::Length(_), 0) => Body::Head,
                        (Body::Length(_), left) => Body::Length(left),
                        (_, 0) => Body::ChunkEnd,
                        (_, left) => Body::ChunkData(left),
                    };
                }
                Body::ChunkSize | Body::ChunkEnd | Body::Trailers => {
                    let Some(line) = take_line(side, &mut data) else {
                        if side.buf.len() > MAX_LINE {
                            self.malformed += 1;
                            side.buf.clear();
                            side.body = Body::Lost;
                        }
                        break;
                    };
                    let blank = line.iter().all(|c| *c == b'\r' || *c == b'\n');
                    side.body = match side.body {
                        Body::ChunkEnd if blank => Body::ChunkSize,
                        Body::ChunkSize => match parser::chunk_size(&line) {
                            Some(0) => Body::Trailers,
                            Some(n) => Body::ChunkData(n),
                            None => {
                                self.malformed += 1;
                                Body::Lost
                            }
                        },
                        Body::Trailers if blank => Body::Head,
                        Body::Trailers => Body::Trailers,
                        _ => {
                            self.malformed += 1;
                            Body::Lost
                        }
                    };
                    if let Some(side) = self.sides.get_mut(i) {
                        side.buf = line;
                        side.buf.clear();
                    }
                }
                Body::Head => {
                    // Empty lines between messages are tolerated (RFC 9112 §2.2).
                    if side.buf.is_empty() {
                        let blanks = data
                            .iter()
                            .take_while(|c| **c == b'\r' || **c == b'\n')
                            .count();
                        data = data.get(blanks..).unwrap_or(&[]);
                        if data.is_empty() {
                            break;
                        }
                        // The whole head in this segment: parse it in place.
                        if let Some(end) = parser::head_end(data, 0).filter(|e| *e <= MAX_HEAD) {
                            let (head, rest) = data.split_at(end);
                            data = rest;
                            self.head(i, head, ctx, out);
                            continue;
                        }
                    }
                    let Some(side) = self.sides.get_mut(i) else {
                        return FeedStatus::Error;
                    };
                    // Resume the search a little before the old end: the
                    // empty line may straddle the segments.
                    let from = side.buf.len().saturating_sub(3);
                    let room = MAX_HEAD.saturating_sub(side.buf.len());
                    let add = data.get(..data.len().min(room)).unwrap_or(&[]);
                    let old = side.buf.len();
                    side.buf.extend_from_slice(add);
                    if let Some(end) = parser::head_end(&side.buf, from) {
                        let used = end.saturating_sub(old);
                        data = data.get(used..).unwrap_or(&[]);
                        let mut head = std::mem::take(&mut side.buf);
                        head.truncate(end);
                        self.head(i, &head, ctx, out);
                    } else if side.buf.len() >= MAX_HEAD {
                        // Too long: report what was read, then lose framing.
                        let head = std::mem::take(&mut side.buf);
                        self.malformed += 1;
                        self.head(i, &head, ctx, out);
                        if let Some(side) = self.sides.get_mut(i) {
                            side.body = Body::Lost;
                        }
                        break;
                    } else {
                        break;
                    }
                }
            }
        }
        self.status()
    }

    /// One complete head: an event, and the body state that follows it.
    fn head(&mut self, i: usize, head: &[u8], ctx: &EventContext, out: &mut Vec<AppEvent>) {
        let Some(h) = parser::parse_head(head) else {
            self.malformed += 1;
            if let Some(side) = self.sides.get_mut(i) {
                side.body = Body::Lost;
            }
            return;
        };
        let body = self.body_after(&h);
        if let Some(side) = self.sides.get_mut(i) {
            side.body = body;
        }
        self.messages += 1;
        out.push(AppEvent::Http(HttpEvent {
            ctx: ctx.clone(),
            message: h.message,
            version: h.version,
            headers: h.headers,
        }));
    }

    /// What follows a head (RFC 9112 §6.3).
    fn body_after(&mut self, h: &parser::Head) -> Body {
        let framed = |h: &parser::Head, none: Body| {
            if h.chunked {
                Body::ChunkSize
            } else {
                match h.content_length {
                    Some(0) => Body::Head,
                    Some(n) => Body::Length(n),
                    None => none,
                }
            }
        };
        match &h.message {
            HttpMessage::Request { method, .. } => {
                let kind = match method.as_str() {
                    "HEAD" => RequestKind::Head,
                    "CONNECT" => RequestKind::Connect,
                    _ => RequestKind::Other,
                };
                if self.pending.len() >= MAX_PENDING_REQUESTS {
                    self.pending.pop_front();
                }
                self.pending.push_back(kind);
                framed(h, Body::Head)
            }
            HttpMessage::Response { status, .. } => {
                let status = *status;
                // Interim responses (1xx) leave the request waiting.
                let request = if status >= 200 {
                    self.pending.pop_front()
                } else {
                    self.pending.front().copied()
                };
                let tunnel = status == 101
                    || (request == Some(RequestKind::Connect) && (200..300).contains(&status));
                if tunnel {
                    // The connection now carries another protocol both ways.
                    self.tunnel = true;
                    for side in &mut self.sides {
                        side.body = Body::UntilClose;
                        side.buf.clear();
                    }
                    return Body::UntilClose;
                }
                if request == Some(RequestKind::Head)
                    || (100..200).contains(&status)
                    || status == 204
                    || status == 304
                {
                    Body::Head
                } else {
                    framed(h, Body::UntilClose)
                }
            }
        }
    }

    /// Done once neither direction can carry another head.
    fn status(&self) -> FeedStatus {
        if self.tunnel {
            FeedStatus::Tunnel
        } else if self.sides.iter().all(|s| s.body == Body::UntilClose) {
            FeedStatus::Done
        } else {
            FeedStatus::Continue
        }
    }

    /// `len` bytes missing: inside a body it only shortens it; elsewhere the
    /// framing is lost until a segment starts a message again.
    pub fn gap(&mut self, dir: Direction, len: u64) {
        if let Some(side) = self.sides.get_mut(side_index(dir)) {
            side.body = match side.body {
                Body::Length(n) if n > len => Body::Length(n - len),
                Body::Length(n) if n == len => Body::Head,
                Body::ChunkData(n) if n > len => Body::ChunkData(n - len),
                Body::UntilClose => Body::UntilClose,
                _ => Body::Lost,
            };
            side.buf.clear();
        }
    }
}

/// One line (to its `\n`) from `side.buf` and `data`; `None` (with the
/// bytes kept, up to a bound) while the line is incomplete.
fn take_line(side: &mut Side, data: &mut &[u8]) -> Option<Vec<u8>> {
    match data.iter().position(|c| *c == b'\n') {
        Some(nl) => {
            let (line, rest) = data.split_at(nl + 1);
            *data = rest;
            let mut v = std::mem::take(&mut side.buf);
            v.extend_from_slice(line);
            Some(v)
        }
        None => {
            let room = (MAX_LINE + 1).saturating_sub(side.buf.len());
            side.buf
                .extend_from_slice(data.get(..data.len().min(room)).unwrap_or(&[]));
            *data = &[];
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netsec_model::Transport;

    fn ctx() -> EventContext {
        crate::app::test_context(Transport::Tcp, 80)
    }

    fn heads(out: &[AppEvent]) -> Vec<String> {
        out.iter()
            .map(|e| match e {
                AppEvent::Http(h) => match &h.message {
                    HttpMessage::Request { method, uri, .. } => format!("{method} {uri}"),
                    HttpMessage::Response { status, .. } => status.to_string(),
                },
                _ => String::new(),
            })
            .collect()
    }

    fn feed_all(s: &mut HttpState, dir: Direction, bytes: &[u8], chunk: usize) -> Vec<AppEvent> {
        let mut out = Vec::new();
        for piece in bytes.chunks(chunk) {
            s.feed(dir, piece, &ctx(), &mut out);
        }
        out
    }

    const REQUESTS: &[u8] = b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n\
POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nhello=world\
POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: t\r\n\r\n\
HEAD /d HTTP/1.1\r\n\r\n\
GET /e HTTP/1.1\r\n\r\n";

    const RESPONSES: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc\
HTTP/1.1 100 Continue\r\n\r\n\
HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n\
HTTP/1.1 204 No Content\r\n\r\n\
HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n\
HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

    #[test]
    fn pipelined_requests_and_responses_at_any_segmentation() {
        for chunk in [1, 2, 5, 13, REQUESTS.len()] {
            let mut s = HttpState::default();
            let req = feed_all(&mut s, Direction::ToServer, REQUESTS, chunk);
            assert_eq!(
                heads(&req),
                vec!["GET /a", "POST /b", "POST /c", "HEAD /d", "GET /e"],
                "chunk {chunk}"
            );
            // The HEAD response announces 100 bytes but carries none.
            let resp = feed_all(&mut s, Direction::ToClient, RESPONSES, chunk);
            assert_eq!(
                heads(&resp),
                vec!["200", "100", "201", "204", "200", "200"],
                "chunk {chunk}"
            );
            assert_eq!(s.malformed, 0);
            assert!(s.sides.iter().all(|s| s.body == Body::Head));
        }
    }

    #[test]
    fn connect_tunnel_is_done() {
        let mut s = HttpState::default();
        let mut out = Vec::new();
        let c = ctx();
        s.feed(
            Direction::ToServer,
            b"CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n",
            &c,
            &mut out,
        );
        let st = s.feed(
            Direction::ToClient,
            b"HTTP/1.1 200 Connection established\r\n\r\n\x16\x03\x01",
            &c,
            &mut out,
        );
        assert_eq!(st, FeedStatus::Tunnel);
        assert_eq!(heads(&out), vec!["CONNECT h:443", "200"]);
    }

    #[test]
    fn over_long_head_gives_partial_event_then_resyncs() {
        let mut s = HttpState::default();
        let mut big = b"GET /big HTTP/1.1\r\nHost: h\r\n".to_vec();
        while big.len() < MAX_HEAD + 100 {
            big.extend_from_slice(b"X-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
        }
        let out = feed_all(&mut s, Direction::ToServer, &big, 1000);
        assert_eq!(heads(&out), vec!["GET /big"]);
        assert_eq!(s.malformed, 1);
        assert!(s.sides[0].buf.capacity() <= 2 * MAX_HEAD);
        // The rest of that head is skipped; a segment starting a request resyncs.
        let out = feed_all(
            &mut s,
            Direction::ToServer,
            b"\r\n\r\nGET /next HTTP/1.1\r\n\r\n",
            100,
        );
        assert!(out.is_empty());
        let out = feed_all(
            &mut s,
            Direction::ToServer,
            b"GET /next HTTP/1.1\r\n\r\n",
            100,
        );
        assert_eq!(heads(&out), vec!["GET /next"]);
    }

    #[test]
    fn gaps_in_bodies_keep_framing() {
        let mut s = HttpState::default();
        let mut out = feed_all(
            &mut s,
            Direction::ToClient,
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab",
            100,
        );
        s.gap(Direction::ToClient, 5);
        out.extend(feed_all(&mut s, Direction::ToClient, b"cde", 100));
        out.extend(feed_all(
            &mut s,
            Direction::ToClient,
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
            100,
        ));
        assert_eq!(heads(&out), vec!["200", "404"]);
        // A gap in a head loses framing until a message start.
        s.feed(Direction::ToClient, b"HTTP/1.1 200", &ctx(), &mut out);
        s.gap(Direction::ToClient, 7);
        s.feed(Direction::ToClient, b"ength: 0\r\n\r\n", &ctx(), &mut out);
        assert_eq!(out.len(), 2);
    }

    #[test]
    fn bad_chunk_size_is_counted() {
        let mut s = HttpState::default();
        let out = feed_all(
            &mut s,
            Direction::ToClient,
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            100,
        );
        assert_eq!(out.len(), 1);
        assert_eq!(s.malformed, 1);
        assert_eq!(s.sides[1].body, Body::Lost);
    }
}
