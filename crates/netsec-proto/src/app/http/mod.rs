//! HTTP/1.x: one event per request or response head, bodies skipped by
//! Content-Length or chunked encoding so pipelined and keep-alive messages
//! are all found.

pub mod parser;

use netsec_model::{AppEvent, Direction, EventContext, HttpEvent, HttpMessage};

use super::FeedStatus;

/// Longest head buffered before the message is given up.
const MAX_HEAD: usize = 16 * 1024;
/// Longest chunk-size line.
const MAX_CHUNK_LINE: usize = 1024;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Body {
    /// Reading a head.
    #[default]
    Head,
    /// Skipping this many body bytes.
    Length(u64),
    /// Reading a chunk-size line.
    ChunkSize,
    /// Skipping chunk data, then its CRLF.
    ChunkData(u64),
    /// After the last chunk: trailers until an empty line.
    Trailers,
    /// Body runs to the end of the connection.
    UntilClose,
}

#[derive(Debug, Default)]
struct Side {
    buf: Vec<u8>,
    body: Body,
}

/// Per-flow HTTP state.
#[derive(Debug, Default)]
pub struct HttpState {
    sides: [Side; 2],
    /// HEAD requests awaiting their response (their responses have no body).
    pending_head_requests: u32,
    /// Messages parsed.
    pub messages: u64,
}

impl HttpState {
    /// Feed stream bytes of one direction.
    pub fn feed(
        &mut self,
        dir: Direction,
        data: &[u8],
        ctx: &EventContext,
        out: &mut Vec<AppEvent>,
    ) -> FeedStatus {
        let i = usize::from(dir == Direction::ToClient);
        let mut data = data;
        let mut guard = 0;
        while !data.is_empty() {
            guard += 1;
            if guard > 100_000 {
                return FeedStatus::Error;
            }
            let Some(side) = self.sides.get_mut(i) else {
                return FeedStatus::Error;
            };
            match side.body {
                Body::UntilClose => return FeedStatus::Continue,
                Body::Length(n) => {
                    let skip = (n.min(data.len() as u64)) as usize;
                    data = data.get(skip..).unwrap_or(&[]);
                    side.body = if n > skip as u64 {
                        Body::Length(n - skip as u64)
                    } else {
                        Body::Head
                    };
                }
                Body::ChunkData(n) => {
                    let skip = (n.min(data.len() as u64)) as usize;
                    data = data.get(skip..).unwrap_or(&[]);
                    side.body = if n > skip as u64 {
                        Body::ChunkData(n - skip as u64)
                    } else {
                        Body::ChunkSize
                    };
                }
                Body::ChunkSize | Body::Trailers | Body::Head => {
                    let Some(nl) = data.iter().position(|b| *b == b'\n') else {
                        side.buf.extend_from_slice(data);
                        let limit = if side.body == Body::Head {
                            MAX_HEAD
                        } else {
                            MAX_CHUNK_LINE
                        };
                        if side.buf.len() > limit {
                            return FeedStatus::Error;
                        }
                        return FeedStatus::Continue;
                    };
                    side.buf.extend_from_slice(data.get(..=nl).unwrap_or(&[]));
                    data = data.get(nl + 1..).unwrap_or(&[]);
                    match side.body {
                        Body::ChunkSize => {
                            let line = String::from_utf8_lossy(&side.buf);
                            let size = line.trim().split(';').next().unwrap_or("").trim();
                            if size.is_empty() {
                                // The CRLF that ends the previous chunk's data.
                                side.buf.clear();
                                continue;
                            }
                            let Ok(n) = u64::from_str_radix(size, 16) else {
                                return FeedStatus::Error;
                            };
                            side.buf.clear();
                            side.body = if n == 0 {
                                Body::Trailers
                            } else {
                                Body::ChunkData(n)
                            };
                        }
                        Body::Trailers => {
                            let blank = side.buf.iter().all(|b| *b == b'\r' || *b == b'\n');
                            side.buf.clear();
                            if blank {
                                side.body = Body::Head;
                            }
                        }
                        _ => {
                            // Blank lines between messages are tolerated (RFC 9112 §2.2).
                            if side.buf.len() <= 2
                                && side.buf.iter().all(|b| *b == b'\r' || *b == b'\n')
                            {
                                side.buf.clear();
                                continue;
                            }
                            if side.buf.len() > MAX_HEAD {
                                return FeedStatus::Error;
                            }
                            if side.buf.ends_with(b"\r\n\r\n") || side.buf.ends_with(b"\n\n") {
                                let head = std::mem::take(&mut side.buf);
                                let Some(h) = parser::parse_head(&head) else {
                                    return FeedStatus::Error;
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
                        }
                    }
                }
            }
        }
        FeedStatus::Continue
    }

    /// What follows a head (RFC 9112 §6.3).
    fn body_after(&mut self, h: &parser::Head) -> Body {
        match &h.message {
            HttpMessage::Request { method, .. } => {
                if method == "HEAD" {
                    self.pending_head_requests += 1;
                }
                if h.chunked {
                    Body::ChunkSize
                } else {
                    match h.content_length {
                        Some(n) if n > 0 => Body::Length(n),
                        _ => Body::Head,
                    }
                }
            }
            HttpMessage::Response { status, .. } => {
                let head_reply = if self.pending_head_requests > 0 && *status >= 200 {
                    self.pending_head_requests -= 1;
                    true
                } else {
                    false
                };
                if head_reply || (100..200).contains(status) || *status == 204 || *status == 304 {
                    Body::Head
                } else if h.chunked {
                    Body::ChunkSize
                } else {
                    match h.content_length {
                        Some(0) => Body::Head,
                        Some(n) => Body::Length(n),
                        None => Body::UntilClose,
                    }
                }
            }
        }
    }

    /// Bytes missing: inside a body it only shortens it; elsewhere framing is lost.
    pub fn gap(&mut self, dir: Direction, len: u64) {
        let i = usize::from(dir == Direction::ToClient);
        if let Some(side) = self.sides.get_mut(i) {
            side.body = match side.body {
                Body::Length(n) if n > len => Body::Length(n - len),
                Body::Length(_) => Body::Head,
                Body::UntilClose => Body::UntilClose,
                _ => Body::UntilClose,
            };
            side.buf.clear();
        }
    }
}
