//! TLS: records across segment boundaries, handshake messages across
//! records, until the hellos (and, for TLS ≤ 1.2, the server's certificate)
//! are seen or both sides switch to encrypted data.

pub mod parser;

use netsec_model::{AppEvent, Direction, EventContext, TlsEvent, TlsMessage};

use super::{side_index, FeedStatus};

/// Largest record body: 2^14 plaintext plus 2048 bytes of expansion (RFC 5246 §6.2.3).
const MAX_RECORD: usize = 16_384 + 2048;
/// Record header: type, version, length (RFC 8446 §5.1).
const RECORD_HEADER: usize = 5;
/// Handshake bytes buffered per direction: a message spanning records
/// (certificate chains) must fit; larger ones end parsing of the flow.
const MAX_HANDSHAKE_BUFFER: usize = 64 * 1024;

/// Record content types (RFC 8446 §5.1, RFC 6520).
const CT_CHANGE_CIPHER_SPEC: u8 = 20;
const CT_ALERT: u8 = 21;
const CT_HANDSHAKE: u8 = 22;
const CT_APPLICATION_DATA: u8 = 23;
const CT_HEARTBEAT: u8 = 24;

/// Handshake message types (RFC 8446 §4, RFC 5246 §7.4).
const HS_CLIENT_HELLO: u8 = 1;
const HS_SERVER_HELLO: u8 = 2;
const HS_CERTIFICATE: u8 = 11;
const HS_SERVER_HELLO_DONE: u8 = 14;

/// TLS 1.3 in supported_versions.
const TLS13: u16 = 0x0304;

#[derive(Debug, Default)]
struct Side {
    /// Bytes of an incomplete record (≤ header + [`MAX_RECORD`]).
    records: Vec<u8>,
    /// Bytes of an incomplete handshake message (≤ [`MAX_HANDSHAKE_BUFFER`]).
    handshake: Vec<u8>,
    record_version: u16,
    /// ChangeCipherSpec, application data or a TLS 1.3 ServerHello seen: the rest is encrypted.
    encrypted: bool,
    /// A hello was parsed from this side.
    hello_seen: bool,
    /// The server's first flight is over in clear (Certificate or ServerHelloDone seen).
    flight_done: bool,
}

/// Per-flow TLS state.
#[derive(Debug, Default)]
pub struct TlsState {
    sides: [Side; 2],
    /// A HelloRetryRequest was seen: the client's next ClientHello (after a
    /// middlebox-compatibility ChangeCipherSpec) is still in clear.
    retry_pending: bool,
    /// Records that were not TLS, or handshake messages that did not parse.
    pub malformed: u64,
}

fn emit(ctx: &EventContext, message: TlsMessage, out: &mut Vec<AppEvent>) {
    out.push(AppEvent::Tls(TlsEvent {
        ctx: ctx.clone(),
        message,
    }));
}

/// A record's header fields, when they are sane.
fn record_header(b: &[u8]) -> Option<Result<(u8, u16, usize), ()>> {
    let h = b.get(..RECORD_HEADER)?;
    let (ctype, version) = (h[0], u16::from_be_bytes([h[1], h[2]]));
    let len = usize::from(u16::from_be_bytes([h[3], h[4]]));
    let ok = (CT_CHANGE_CIPHER_SPEC..=CT_HEARTBEAT).contains(&ctype)
        && version >> 8 == 3
        && len <= MAX_RECORD;
    Some(if ok {
        Ok((ctype, version, len))
    } else {
        Err(())
    })
}

impl TlsState {
    /// Heap bytes held in buffers (for the engine's memory budget).
    pub fn heap_bytes(&self) -> usize {
        self.sides
            .iter()
            .map(|s| s.records.capacity() + s.handshake.capacity())
            .sum::<usize>()
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
        if self.sides.get(i).is_none_or(|s| s.encrypted) {
            return self.status();
        }
        let mut data = data;
        // An incomplete record from earlier segments: complete it first.
        let mut completed = None;
        if let Some(side) = self.sides.get_mut(i) {
            while !side.records.is_empty() {
                // The whole record's size once its header is in, else the header's.
                let want = match record_header(&side.records) {
                    Some(Ok((_, _, len))) => Some(RECORD_HEADER + len),
                    Some(Err(())) => return self.fail(),
                    None => None,
                };
                if want == Some(side.records.len()) {
                    completed = Some(std::mem::take(&mut side.records));
                    break;
                }
                if data.is_empty() {
                    break;
                }
                let take = want
                    .unwrap_or(RECORD_HEADER)
                    .saturating_sub(side.records.len())
                    .min(data.len());
                let (head, rest) = data.split_at(take);
                side.records.extend_from_slice(head);
                data = rest;
            }
        }
        if let Some(record) = completed {
            if let Err(status) = self.record(i, &record, ctx, out) {
                return status;
            }
        }
        // Whole records straight from the segment.
        while self.sides.get(i).is_some_and(|s| !s.encrypted) {
            match record_header(data) {
                None => break,
                Some(Err(())) => return self.fail(),
                Some(Ok((_, _, len))) => {
                    let Some(record) = data.get(..RECORD_HEADER + len) else {
                        break;
                    };
                    data = data.get(RECORD_HEADER + len..).unwrap_or(&[]);
                    if let Err(status) = self.record(i, record, ctx, out) {
                        return status;
                    }
                }
            }
        }
        if let Some(side) = self.sides.get_mut(i) {
            if !side.encrypted {
                // Less than one record: ≤ header + MAX_RECORD bytes.
                side.records.extend_from_slice(data);
            }
        }
        self.status()
    }

    fn fail(&mut self) -> FeedStatus {
        self.malformed += 1;
        FeedStatus::Error
    }

    /// One whole record (header included).
    fn record(
        &mut self,
        i: usize,
        record: &[u8],
        ctx: &EventContext,
        out: &mut Vec<AppEvent>,
    ) -> Result<(), FeedStatus> {
        let Some(Ok((ctype, version, _))) = record_header(record) else {
            return Err(self.fail());
        };
        let body = record.get(RECORD_HEADER..).unwrap_or(&[]);
        let retry_pending = self.retry_pending;
        let Some(side) = self.sides.get_mut(i) else {
            return Err(FeedStatus::Error);
        };
        side.record_version = version;
        match ctype {
            CT_HANDSHAKE => {
                if side.handshake.is_empty() {
                    let used = self.handshake(i, body, ctx, out)?;
                    if let Some(side) = self.sides.get_mut(i) {
                        if !side.encrypted {
                            side.handshake
                                .extend_from_slice(body.get(used..).unwrap_or(&[]));
                        }
                    }
                } else {
                    if side.handshake.len() + body.len() > MAX_HANDSHAKE_BUFFER {
                        return Err(self.fail());
                    }
                    side.handshake.extend_from_slice(body);
                    let buf = std::mem::take(&mut side.handshake);
                    let used = self.handshake(i, &buf, ctx, out)?;
                    if let Some(side) = self.sides.get_mut(i) {
                        if !side.encrypted {
                            side.handshake = buf;
                            side.handshake.drain(..used.min(side.handshake.len()));
                        }
                    }
                }
            }
            // A middlebox-compatibility ChangeCipherSpec before a retried
            // ClientHello (RFC 8446 §D.4) does not start encryption.
            CT_CHANGE_CIPHER_SPEC if i == 0 && retry_pending => {}
            CT_CHANGE_CIPHER_SPEC | CT_APPLICATION_DATA => {
                side.encrypted = true;
                side.records.clear();
                side.handshake.clear();
            }
            CT_ALERT | CT_HEARTBEAT => {}
            _ => return Err(self.fail()),
        }
        Ok(())
    }

    /// Parse the whole handshake messages at the start of `buf`; returns the
    /// bytes used (a trailing incomplete message is left).
    fn handshake(
        &mut self,
        i: usize,
        buf: &[u8],
        ctx: &EventContext,
        out: &mut Vec<AppEvent>,
    ) -> Result<usize, FeedStatus> {
        let mut used = 0;
        loop {
            let Some(side) = self.sides.get_mut(i) else {
                return Err(FeedStatus::Error);
            };
            if side.encrypted {
                return Ok(used);
            }
            let rest = buf.get(used..).unwrap_or(&[]);
            let Some(h) = rest.get(0..4) else {
                return Ok(used);
            };
            let ty = h[0];
            let len = (usize::from(h[1]) << 16) | (usize::from(h[2]) << 8) | usize::from(h[3]);
            if len + 4 > MAX_HANDSHAKE_BUFFER {
                return Err(self.fail());
            }
            let Some(body) = rest.get(4..4 + len) else {
                return Ok(used);
            };
            used += 4 + len;
            let record_version = side.record_version;
            match ty {
                HS_CLIENT_HELLO => {
                    let Some(ch) = parser::client_hello(body, record_version) else {
                        return Err(self.fail());
                    };
                    side.hello_seen = true;
                    self.retry_pending = false;
                    emit(ctx, TlsMessage::ClientHello(ch), out);
                }
                HS_SERVER_HELLO => {
                    let Some((sh, retry)) = parser::server_hello(body, record_version) else {
                        return Err(self.fail());
                    };
                    side.hello_seen = true;
                    if retry {
                        self.retry_pending = true;
                    } else if sh.selected_version == Some(TLS13) {
                        // Everything after the ServerHello is encrypted in TLS 1.3.
                        side.encrypted = true;
                        side.records.clear();
                    }
                    emit(ctx, TlsMessage::ServerHello(sh), out);
                }
                HS_CERTIFICATE => {
                    side.flight_done = true;
                    match parser::certificate_chain(body) {
                        Some(chain) => emit(
                            ctx,
                            TlsMessage::Certificate {
                                chain,
                                certificates: Vec::new(),
                            },
                            out,
                        ),
                        None => self.malformed += 1,
                    }
                }
                HS_SERVER_HELLO_DONE => side.flight_done = true,
                _ => {}
            }
        }
    }

    /// Done once both sides are encrypted, or once the ClientHello and the
    /// server's hello (and certificate, before TLS 1.3) are seen: nothing
    /// later in the handshake is extracted.
    fn status(&self) -> FeedStatus {
        let [client, server] = &self.sides;
        let server_over = server.hello_seen && (server.encrypted || server.flight_done);
        if (client.encrypted && server.encrypted) || (client.hello_seen && server_over) {
            FeedStatus::Done
        } else {
            FeedStatus::Continue
        }
    }

    /// Bytes missing: record framing in that direction is lost, and so is
    /// the rest of its handshake.
    pub fn gap(&mut self, dir: Direction) {
        if let Some(side) = self.sides.get_mut(side_index(dir)) {
            side.encrypted = true;
            side.records.clear();
            side.handshake.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netsec_model::Transport;

    fn ctx() -> EventContext {
        crate::app::test_context(Transport::Tcp, 443)
    }

    fn record(ctype: u8, body: &[u8]) -> Vec<u8> {
        let mut v = vec![ctype, 3, 3];
        v.extend((body.len() as u16).to_be_bytes());
        v.extend_from_slice(body);
        v
    }

    fn handshake(ty: u8, body: &[u8]) -> Vec<u8> {
        let n = body.len() as u32;
        let mut v = vec![ty, (n >> 16) as u8, (n >> 8) as u8, n as u8];
        v.extend_from_slice(body);
        v
    }

    /// A minimal ClientHello body: TLS 1.2, one suite, null compression,
    /// one extension (renegotiation_info).
    fn client_hello() -> Vec<u8> {
        let mut b = vec![3, 3];
        b.extend([1u8; 32]);
        b.extend([0, 0, 2, 0xc0, 0x2f, 1, 0]);
        b.extend([0, 5, 0xff, 0x01, 0, 1, 0]);
        b
    }

    fn server_hello(random: [u8; 32], version_ext: Option<u16>) -> Vec<u8> {
        let mut b = vec![3, 3];
        b.extend(random);
        b.extend([0, 0x13, 0x01, 0]);
        if let Some(v) = version_ext {
            b.extend([0, 6, 0, 43, 0, 2]);
            b.extend(v.to_be_bytes());
        }
        b
    }

    fn names(out: &[AppEvent]) -> Vec<&'static str> {
        out.iter()
            .map(|e| match e {
                AppEvent::Tls(t) => match t.message {
                    TlsMessage::ClientHello(_) => "ch",
                    TlsMessage::ServerHello(_) => "sh",
                    TlsMessage::Certificate { .. } => "cert",
                },
                _ => "other",
            })
            .collect()
    }

    #[test]
    fn handshake_message_spanning_records_and_segments() {
        // One ClientHello cut over three records, the records cut over
        // 3-byte segments.
        let hs = handshake(HS_CLIENT_HELLO, &client_hello());
        let mut stream = Vec::new();
        for part in hs.chunks(20) {
            stream.extend(record(CT_HANDSHAKE, part));
        }
        let mut s = TlsState::default();
        let mut out = Vec::new();
        for piece in stream.chunks(3) {
            assert_eq!(
                s.feed(Direction::ToServer, piece, &ctx(), &mut out),
                FeedStatus::Continue
            );
        }
        assert_eq!(names(&out), vec!["ch"]);
        assert!(s.sides[0].handshake.is_empty() && s.sides[0].records.is_empty());
    }

    #[test]
    fn done_after_hellos_and_certificate() {
        let mut s = TlsState::default();
        let mut out = Vec::new();
        let ch = record(CT_HANDSHAKE, &handshake(HS_CLIENT_HELLO, &client_hello()));
        assert_eq!(
            s.feed(Direction::ToServer, &ch, &ctx(), &mut out),
            FeedStatus::Continue
        );
        let mut flight = handshake(HS_SERVER_HELLO, &server_hello([2; 32], None));
        flight.extend(handshake(HS_CERTIFICATE, &[0, 0, 5, 0, 0, 2, 0x30, 0]));
        flight.extend(handshake(HS_SERVER_HELLO_DONE, &[]));
        let rec = record(CT_HANDSHAKE, &flight);
        assert_eq!(
            s.feed(Direction::ToClient, &rec, &ctx(), &mut out),
            FeedStatus::Done
        );
        assert_eq!(names(&out), vec!["ch", "sh", "cert"]);
    }

    #[test]
    fn tls13_and_hello_retry() {
        let mut s = TlsState::default();
        let mut out = Vec::new();
        let ch = record(CT_HANDSHAKE, &handshake(HS_CLIENT_HELLO, &client_hello()));
        s.feed(Direction::ToServer, &ch, &ctx(), &mut out);
        // HelloRetryRequest: the server is not encrypted yet, and the
        // client's compatibility CCS does not hide its second hello.
        let hrr = handshake(
            HS_SERVER_HELLO,
            &server_hello(parser::HELLO_RETRY_RANDOM, Some(TLS13)),
        );
        assert_eq!(
            s.feed(
                Direction::ToClient,
                &record(CT_HANDSHAKE, &hrr),
                &ctx(),
                &mut out
            ),
            FeedStatus::Continue
        );
        let mut again = record(CT_CHANGE_CIPHER_SPEC, &[1]);
        again.extend(&ch);
        s.feed(Direction::ToServer, &again, &ctx(), &mut out);
        let sh = handshake(HS_SERVER_HELLO, &server_hello([3; 32], Some(TLS13)));
        let mut flight = record(CT_HANDSHAKE, &sh);
        flight.extend(record(CT_APPLICATION_DATA, &[0xaa; 40]));
        assert_eq!(
            s.feed(Direction::ToClient, &flight, &ctx(), &mut out),
            FeedStatus::Done
        );
        assert_eq!(names(&out), vec!["ch", "sh", "ch", "sh"]);
    }

    #[test]
    fn not_tls_is_an_error_and_gap_stops_a_side() {
        let mut s = TlsState::default();
        let mut out = Vec::new();
        assert_eq!(
            s.feed(
                Direction::ToServer,
                b"GET / HTTP/1.1\r\n\r\n",
                &ctx(),
                &mut out
            ),
            FeedStatus::Error
        );
        // A bad record header arriving in pieces.
        let mut s = TlsState::default();
        s.feed(Direction::ToServer, &[0x16, 0x03], &ctx(), &mut out);
        assert_eq!(
            s.feed(Direction::ToServer, &[0x09, 0xff, 0xff], &ctx(), &mut out),
            FeedStatus::Error
        );
        let mut s = TlsState::default();
        s.gap(Direction::ToServer);
        s.gap(Direction::ToClient);
        assert_eq!(
            s.feed(Direction::ToServer, b"x", &ctx(), &mut out),
            FeedStatus::Done
        );
        assert!(out.is_empty());
    }
}
