//! HTTP/1.x: one event per request or response head, bodies skipped by
//! Content-Length or chunked encoding so that pipelined and keep-alive
//! messages are all found (RFC 9112 §6.3).
//!
//! While a body is skipped its bytes (de-chunked, still content-encoded)
//! go through streaming SHA-256 and MD5, up to [`DEFAULT_MAX_FILE_HASH`]
//! bytes a body; when the body ends a [`FileEvent`] says what was seen. A
//! body with bytes missing (a capture gap) or cut short by the connection's
//! end is reported incomplete, without hashes. Nothing buffers a body: the
//! hasher state (a few hundred bytes) is allocated when a body starts.

pub mod parser;

use std::borrow::Cow;
use std::collections::VecDeque;

use md5::Md5;
use netsec_model::{AppEvent, Direction, EventContext, FileEvent, HttpEvent, HttpMessage};
use sha2::{Digest, Sha256};

use super::{side_index, FeedStatus};

/// Longest head buffered; a longer one gives an event with what it holds
/// and loses the framing of that direction.
const MAX_HEAD: usize = 16 * 1024;
/// Longest chunk-size or trailer line.
const MAX_LINE: usize = 1024;
/// Requests remembered for matching responses (pipelining depth).
const MAX_PENDING_REQUESTS: usize = 64;
/// Bytes of one body hashed by default; a longer body is counted, reported
/// `over_limit`, and not hashed.
pub const DEFAULT_MAX_FILE_HASH: u64 = 16 * 1024 * 1024;

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

/// A request awaiting its response: what the response's body is named by.
#[derive(Debug)]
struct Pending {
    kind: RequestKind,
    method: Cow<'static, str>,
    uri: String,
    host: Option<String>,
}

/// One body being hashed.
struct FileHash {
    sha256: Sha256,
    md5: Md5,
    /// Body bytes seen.
    bytes: u64,
    /// Body bytes known missing (gaps).
    missing: u64,
    /// Longer than the bound: no longer hashed.
    over_limit: bool,
    method: Option<Cow<'static, str>>,
    uri: Option<String>,
    host: Option<String>,
    status: Option<u16>,
    mime_type: Option<String>,
    content_encoding: Option<String>,
    declared_length: Option<u64>,
}

impl std::fmt::Debug for FileHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileHash")
            .field("bytes", &self.bytes)
            .field("missing", &self.missing)
            .field("uri", &self.uri)
            .finish_non_exhaustive()
    }
}

impl FileHash {
    /// Body bytes, hashed while within `limit` bytes in all.
    fn update(&mut self, data: &[u8], limit: u64) {
        self.bytes = self.bytes.saturating_add(data.len() as u64);
        if self.over_limit {
            return;
        }
        if self.bytes > limit {
            self.over_limit = true;
            return;
        }
        self.sha256.update(data);
        self.md5.update(data);
    }

    /// The event for a body that ended: `framed_end` when its framing (or
    /// the connection's end, for a body without length) ended it.
    fn event(self, ctx: &EventContext, dir: Direction, framed_end: bool) -> AppEvent {
        let complete = framed_end && self.missing == 0;
        let hashed = complete && !self.over_limit;
        let mut ctx = ctx.clone();
        if ctx.direction != dir {
            std::mem::swap(&mut ctx.src, &mut ctx.dst);
            ctx.direction = dir;
        }
        let (sha256, md5) = if hashed {
            (
                Some(netsec_model::hex_lower(&self.sha256.finalize())),
                Some(netsec_model::hex_lower(&self.md5.finalize())),
            )
        } else {
            (None, None)
        };
        AppEvent::File(FileEvent {
            ctx,
            protocol: Cow::Borrowed("http"),
            method: self.method,
            uri: self.uri,
            host: self.host,
            status: self.status,
            mime_type: self.mime_type,
            content_encoding: self.content_encoding,
            declared_length: self.declared_length,
            bytes: self.bytes,
            missing_bytes: self.missing,
            complete,
            over_limit: self.over_limit,
            sha256,
            md5,
        })
    }
}

#[derive(Debug, Default)]
struct Side {
    /// Head or line bytes not complete yet.
    buf: Vec<u8>,
    body: Body,
    /// The body being read, hashed.
    file: Option<Box<FileHash>>,
    /// A body a gap ended (reported incomplete at the next call that can
    /// emit events).
    ended: Option<Box<FileHash>>,
}

/// Per-flow HTTP state.
#[derive(Debug)]
pub struct HttpState {
    sides: [Side; 2],
    /// Requests awaiting their response, oldest first.
    pending: VecDeque<Pending>,
    /// Messages parsed.
    pub messages: u64,
    /// Heads that did not parse, were too long, or bad chunk lines.
    pub malformed: u64,
    /// A CONNECT succeeded or a 101 switched protocols: what follows is another protocol.
    tunnel: bool,
    /// Bytes of a body hashed at most ([`DEFAULT_MAX_FILE_HASH`]).
    pub max_file_hash: u64,
}

impl Default for HttpState {
    fn default() -> Self {
        HttpState {
            sides: Default::default(),
            pending: VecDeque::new(),
            messages: 0,
            malformed: 0,
            tunnel: false,
            max_file_hash: DEFAULT_MAX_FILE_HASH,
        }
    }
}

impl HttpState {
    /// Heap bytes held in buffers (for the engine's memory budget).
    pub fn heap_bytes(&self) -> usize {
        let files = self
            .sides
            .iter()
            .map(|s| {
                (usize::from(s.file.is_some()) + usize::from(s.ended.is_some()))
                    * std::mem::size_of::<FileHash>()
            })
            .sum::<usize>();
        self.sides.iter().map(|s| s.buf.capacity()).sum::<usize>()
            + files
            + self.pending.capacity() * std::mem::size_of::<Pending>()
            + self
                .pending
                .iter()
                .map(|p| {
                    // A known method is static and holds nothing.
                    let method = match &p.method {
                        Cow::Borrowed(_) => 0,
                        Cow::Owned(m) => m.capacity(),
                    };
                    method + p.uri.capacity()
                })
                .sum::<usize>()
    }

    /// The connection is over: report the bodies still open (a body that
    /// runs until the close is complete; one with a length or chunks left
    /// is not). `ctx` is the flow's context in either direction.
    pub fn finish(&mut self, ctx: &EventContext, out: &mut Vec<AppEvent>) {
        self.flush_ended(ctx, out);
        for (i, dir) in [(0, Direction::ToServer), (1, Direction::ToClient)] {
            if let Some(side) = self.sides.get_mut(i) {
                if let Some(f) = side.file.take() {
                    let until_close = side.body == Body::UntilClose;
                    out.push(f.event(ctx, dir, until_close));
                }
            }
        }
    }

    /// Report the bodies gaps ended.
    fn flush_ended(&mut self, ctx: &EventContext, out: &mut Vec<AppEvent>) {
        for (i, dir) in [(0, Direction::ToServer), (1, Direction::ToClient)] {
            if let Some(f) = self.sides.get_mut(i).and_then(|s| s.ended.take()) {
                out.push(f.event(ctx, dir, false));
            }
        }
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
        if self.sides.iter().any(|s| s.ended.is_some()) {
            self.flush_ended(ctx, out);
        }
        let limit = self.max_file_hash;
        let mut data = data;
        while !data.is_empty() {
            let Some(side) = self.sides.get_mut(i) else {
                return FeedStatus::Error;
            };
            match side.body {
                Body::UntilClose => {
                    if let Some(f) = side.file.as_mut() {
                        f.update(data, limit);
                    }
                    break;
                }
                Body::Lost => {
                    if side.buf.is_empty() && parser::looks_like_http(data) {
                        side.body = Body::Head;
                    } else {
                        break;
                    }
                }
                Body::Length(n) | Body::ChunkData(n) => {
                    let skip = n.min(data.len() as u64);
                    let (body, rest) = data.split_at((skip as usize).min(data.len()));
                    data = rest;
                    if let Some(f) = side.file.as_mut() {
                        f.update(body, limit);
                    }
                    side.body = match (side.body, n - skip) {
                        (Body::Length(_), 0) => {
                            if let Some(f) = side.file.take() {
                                out.push(f.event(ctx, dir, true));
                            }
                            Body::Head
                        }
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
                            if let Some(f) = side.file.take() {
                                out.push(f.event(ctx, dir, false));
                            }
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
                    // The last chunk ends the body; a bad line loses it.
                    match side.body {
                        Body::Trailers | Body::Lost => {
                            if let Some(f) = side.file.take() {
                                out.push(f.event(ctx, dir, side.body == Body::Trailers));
                            }
                        }
                        _ => {}
                    }
                    side.buf = line;
                    side.buf.clear();
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
        let (body, request) = self.body_after(&h);
        let carries_body = matches!(body, Body::Length(_) | Body::ChunkSize)
            || (body == Body::UntilClose && !self.tunnel);
        if let Some(side) = self.sides.get_mut(i) {
            side.body = body;
            if carries_body {
                side.file = Some(Box::new(new_file(&h, request)));
            }
        }
        self.messages += 1;
        out.push(AppEvent::Http(HttpEvent {
            ctx: ctx.clone(),
            message: h.message,
            version: h.version,
            headers: h.headers,
        }));
    }

    /// What follows a head (RFC 9112 §6.3), and for a response the request
    /// it answers.
    fn body_after(&mut self, h: &parser::Head) -> (Body, Option<Pending>) {
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
            HttpMessage::Request {
                method, uri, host, ..
            } => {
                let kind = match method.as_ref() {
                    "HEAD" => RequestKind::Head,
                    "CONNECT" => RequestKind::Connect,
                    _ => RequestKind::Other,
                };
                if self.pending.len() >= MAX_PENDING_REQUESTS {
                    self.pending.pop_front();
                }
                self.pending.push_back(Pending {
                    kind,
                    method: method.clone(),
                    uri: uri.clone(),
                    host: host.clone(),
                });
                (framed(h, Body::Head), None)
            }
            HttpMessage::Response { status, .. } => {
                let status = *status;
                // Interim responses (1xx) leave the request waiting.
                let request = if status >= 200 {
                    self.pending.pop_front()
                } else {
                    None
                };
                let kind = match &request {
                    Some(r) => Some(r.kind),
                    None => self.pending.front().map(|r| r.kind),
                };
                let tunnel = status == 101
                    || (kind == Some(RequestKind::Connect) && (200..300).contains(&status));
                if tunnel {
                    // The connection now carries another protocol both ways.
                    self.tunnel = true;
                    for side in &mut self.sides {
                        side.body = Body::UntilClose;
                        side.buf.clear();
                        side.file = None;
                    }
                    return (Body::UntilClose, None);
                }
                let body = if kind == Some(RequestKind::Head)
                    || (100..200).contains(&status)
                    || status == 204
                    || status == 304
                {
                    Body::Head
                } else {
                    framed(h, Body::UntilClose)
                };
                (body, request)
            }
        }
    }

    /// Done once neither direction can carry another head.
    fn status(&self) -> FeedStatus {
        if self.tunnel {
            FeedStatus::Tunnel
        } else if self
            .sides
            .iter()
            .all(|s| s.body == Body::UntilClose && s.file.is_none())
        {
            FeedStatus::Done
        } else {
            FeedStatus::Continue
        }
    }

    /// `len` bytes missing: inside a body it only shortens it; elsewhere the
    /// framing is lost until a segment starts a message again.
    /// A body the gap ends is reported incomplete, without hashes.
    pub fn gap(&mut self, dir: Direction, len: u64) {
        if let Some(side) = self.sides.get_mut(side_index(dir)) {
            let (body, missing) = match side.body {
                Body::Length(n) if n > len => (Body::Length(n - len), len),
                Body::Length(n) if n == len => (Body::Head, len),
                Body::ChunkData(n) if n > len => (Body::ChunkData(n - len), len),
                Body::UntilClose => (Body::UntilClose, len),
                Body::Length(n) | Body::ChunkData(n) => (Body::Lost, n),
                _ => (Body::Lost, 0),
            };
            side.body = body;
            side.buf.clear();
            if let Some(f) = side.file.as_mut() {
                f.missing = f.missing.saturating_add(missing.max(1));
            }
            if !matches!(
                body,
                Body::Length(_) | Body::ChunkData(_) | Body::UntilClose
            ) {
                // The body ended (or its framing is lost) with bytes missing.
                if let Some(f) = side.file.take() {
                    side.ended = Some(f);
                }
            }
        }
    }
}

/// The hasher state for a body that starts after head `h`: named by the
/// head itself for a request, by the request it answers for a response.
fn new_file(h: &parser::Head, request: Option<Pending>) -> FileHash {
    let (method, uri, host, status) = match (&h.message, request) {
        (
            HttpMessage::Request {
                method, uri, host, ..
            },
            _,
        ) => (Some(method.clone()), Some(uri.clone()), host.clone(), None),
        (HttpMessage::Response { status, .. }, Some(r)) => {
            (Some(r.method), Some(r.uri), r.host, Some(*status))
        }
        (HttpMessage::Response { status, .. }, None) => (None, None, None, Some(*status)),
    };
    FileHash {
        sha256: Sha256::new(),
        md5: Md5::new(),
        bytes: 0,
        missing: 0,
        over_limit: false,
        method,
        uri,
        host,
        status,
        mime_type: h.value_of(h.content_type),
        content_encoding: h.value_of(h.content_encoding),
        declared_length: if h.chunked { None } else { h.content_length },
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
            .filter_map(|e| match e {
                AppEvent::Http(h) => Some(match &h.message {
                    HttpMessage::Request { method, uri, .. } => format!("{method} {uri}"),
                    HttpMessage::Response { status, .. } => status.to_string(),
                }),
                _ => None,
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
        assert_eq!(heads(&out).len(), 2);
        // The body the first gap shortened: reported, incomplete.
        assert_eq!(files(&out).len(), 1);
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
        assert_eq!(heads(&out).len(), 1);
        assert_eq!(s.malformed, 1);
        assert_eq!(s.sides[1].body, Body::Lost);
        let f = files(&out);
        assert!(f.len() == 1 && !f[0].complete && f[0].sha256.is_none());
    }

    fn files(out: &[AppEvent]) -> Vec<&FileEvent> {
        out.iter()
            .filter_map(|e| match e {
                AppEvent::File(f) => Some(f),
                _ => None,
            })
            .collect()
    }

    fn sha(b: &[u8]) -> Option<String> {
        Some(netsec_model::hex_lower(&Sha256::digest(b)))
    }

    #[test]
    fn bodies_are_hashed_at_any_segmentation() {
        for chunk in [1, 2, 5, 13, RESPONSES.len()] {
            let mut s = HttpState::default();
            let req = feed_all(&mut s, Direction::ToServer, REQUESTS, chunk);
            let f = files(&req);
            let got: Vec<_> = f
                .iter()
                .map(|f| (f.uri.as_deref(), f.bytes, f.complete, f.sha256.clone()))
                .collect();
            assert_eq!(
                got,
                vec![
                    (Some("/b"), 11, true, sha(b"hello=world")),
                    (Some("/c"), 11, true, sha(b"hello world")),
                ],
                "chunk {chunk}"
            );
            assert_eq!(f[0].declared_length, Some(11));
            assert_eq!(f[1].declared_length, None);
            assert_eq!(f[0].ctx.direction, Direction::ToServer);
            let resp = feed_all(&mut s, Direction::ToClient, RESPONSES, chunk);
            let f = files(&resp);
            let got: Vec<_> = f
                .iter()
                .map(|f| {
                    (
                        f.method.as_deref(),
                        f.uri.as_deref(),
                        f.status,
                        f.sha256.clone(),
                    )
                })
                .collect();
            // The HEAD response's 100 announced bytes are not a body.
            assert_eq!(
                got,
                vec![
                    (Some("GET"), Some("/a"), Some(200), sha(b"abc")),
                    (Some("POST"), Some("/b"), Some(201), sha(b"abc")),
                    (Some("GET"), Some("/e"), Some(200), sha(b"ok")),
                ],
                "chunk {chunk}"
            );
            assert_eq!(
                f[0].md5.as_deref(),
                Some("900150983cd24fb0d6963f7d28e17f72")
            );
            assert_eq!(f[0].host.as_deref(), Some("h"));
            assert_eq!(f[0].ctx.direction, Direction::ToClient);
            assert_eq!(f[0].ctx.src, ctx().dst);
            assert!(s.sides.iter().all(|s| s.file.is_none()));
        }
    }

    #[test]
    fn a_gap_in_a_body_leaves_it_incomplete_without_hashes() {
        let mut s = HttpState::default();
        let mut out = feed_all(
            &mut s,
            Direction::ToClient,
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab",
            100,
        );
        s.gap(Direction::ToClient, 5);
        out.extend(feed_all(&mut s, Direction::ToClient, b"cde", 100));
        let f = files(&out);
        assert_eq!(f.len(), 1);
        assert!(!f[0].complete);
        assert_eq!((f[0].bytes, f[0].missing_bytes), (5, 5));
        assert!(f[0].sha256.is_none() && f[0].md5.is_none());
        // A gap past the end of a chunked body's data loses its framing: the
        // body is reported at the next call.
        let mut s = HttpState::default();
        let mut out = feed_all(
            &mut s,
            Direction::ToClient,
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nab",
            100,
        );
        s.gap(Direction::ToClient, 50);
        s.finish(&ctx(), &mut out);
        let f = files(&out);
        assert_eq!(f.len(), 1);
        assert!(!f[0].complete && f[0].sha256.is_none());
        assert_eq!((f[0].bytes, f[0].missing_bytes), (2, 2));
    }

    #[test]
    fn body_until_close_is_reported_at_the_end() {
        let mut s = HttpState::default();
        let mut out = Vec::new();
        let c = ctx();
        s.feed(
            Direction::ToServer,
            b"GET /x.bin HTTP/1.0\r\n\r\n",
            &c,
            &mut out,
        );
        let st = s.feed(
            Direction::ToClient,
            b"HTTP/1.0 200 OK\r\nContent-Type: application/x-foo\r\n\r\nab",
            &c,
            &mut out,
        );
        assert_eq!(st, FeedStatus::Continue);
        s.feed(Direction::ToClient, b"cd", &c, &mut out);
        assert!(files(&out).is_empty());
        s.finish(&c, &mut out);
        let f = files(&out);
        assert_eq!(f.len(), 1);
        assert!(f[0].complete);
        assert_eq!(f[0].sha256, sha(b"abcd"));
        assert_eq!(f[0].mime_type.as_deref(), Some("application/x-foo"));
        assert_eq!(f[0].ctx.direction, Direction::ToClient);
        // A Content-Length body cut short by the end is incomplete.
        let mut s = HttpState::default();
        let mut out = feed_all(
            &mut s,
            Direction::ToClient,
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab",
            100,
        );
        s.finish(&c, &mut out);
        let f = files(&out);
        assert!(!f[0].complete && f[0].sha256.is_none());
    }

    #[test]
    fn a_body_over_the_bound_is_counted_not_hashed() {
        let mut s = HttpState {
            max_file_hash: 4,
            ..HttpState::default()
        };
        let out = feed_all(
            &mut s,
            Direction::ToClient,
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789",
            3,
        );
        let f = files(&out);
        assert_eq!(f.len(), 1);
        assert!(f[0].complete && f[0].over_limit);
        assert_eq!(f[0].bytes, 10);
        assert!(f[0].sha256.is_none());
        // A head-only exchange allocates no hasher.
        let mut s = HttpState::default();
        feed_all(&mut s, Direction::ToServer, b"GET / HTTP/1.1\r\n\r\n", 100);
        assert!(s.sides.iter().all(|s| s.file.is_none()));
    }
}
