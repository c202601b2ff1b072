//! TLS: records across segment boundaries, handshake messages across
//! records, until both sides switch to encrypted data.

pub mod parser;

use netsec_model::{AppEvent, Direction, EventContext, TlsEvent, TlsMessage};

use super::FeedStatus;

/// Record-layer bytes buffered per direction (one maximal record, RFC 8446 §5.1, plus header).
const MAX_RECORD_BUFFER: usize = 16_384 + 2048 + 5;
/// Handshake bytes buffered per direction (large certificate chains fit).
const MAX_HANDSHAKE_BUFFER: usize = 128 * 1024;

#[derive(Debug, Default)]
struct Side {
    records: Vec<u8>,
    handshake: Vec<u8>,
    record_version: u16,
    /// ChangeCipherSpec or application data seen: the rest is encrypted.
    encrypted: bool,
    hello_seen: bool,
}

/// Per-flow TLS state.
#[derive(Debug, Default)]
pub struct TlsState {
    sides: [Side; 2],
}

fn emit(ctx: &EventContext, message: TlsMessage, out: &mut Vec<AppEvent>) {
    out.push(AppEvent::Tls(TlsEvent {
        ctx: ctx.clone(),
        message,
    }));
}

impl TlsState {
    /// Feed stream bytes of one direction.
    pub fn feed(
        &mut self,
        dir: Direction,
        data: &[u8],
        ctx: &EventContext,
        out: &mut Vec<AppEvent>,
    ) -> FeedStatus {
        let i = match dir {
            Direction::ToServer => 0,
            Direction::ToClient => 1,
        };
        let Some(side) = self.sides.get_mut(i) else {
            return FeedStatus::Error;
        };
        if side.encrypted {
            return self.status();
        }
        side.records.extend_from_slice(data);
        while let Some(hdr) = side.records.get(0..5) {
            let (ctype, version) = (hdr[0], u16::from_be_bytes([hdr[1], hdr[2]]));
            let len = usize::from(u16::from_be_bytes([hdr[3], hdr[4]]));
            if !(20..=24).contains(&ctype) || version >> 8 != 3 || len > 16_384 + 2048 {
                return FeedStatus::Error;
            }
            if side.records.len() < 5 + len {
                break;
            }
            side.record_version = version;
            match ctype {
                22 => {
                    if let Some(frag) = side.records.get(5..5 + len) {
                        side.handshake.extend_from_slice(frag);
                    }
                    if side.handshake.len() > MAX_HANDSHAKE_BUFFER {
                        return FeedStatus::Error;
                    }
                    if !drain_handshake(side, ctx, out) {
                        return FeedStatus::Error;
                    }
                }
                20 | 23 => {
                    side.encrypted = true;
                    side.records.clear();
                    side.handshake.clear();
                    break;
                }
                _ => {}
            }
            side.records.drain(..5 + len);
        }
        if side.records.len() > MAX_RECORD_BUFFER {
            return FeedStatus::Error;
        }
        self.status()
    }

    fn status(&self) -> FeedStatus {
        if self.sides.iter().all(|s| s.encrypted) {
            FeedStatus::Done
        } else {
            FeedStatus::Continue
        }
    }

    /// Bytes missing: record framing in that direction is lost.
    pub fn gap(&mut self, dir: Direction) {
        let i = usize::from(dir == Direction::ToClient);
        if let Some(side) = self.sides.get_mut(i) {
            side.encrypted = true;
            side.records.clear();
            side.handshake.clear();
        }
    }
}

/// Parse whole handshake messages out of the side's buffer. False on garbage.
fn drain_handshake(side: &mut Side, ctx: &EventContext, out: &mut Vec<AppEvent>) -> bool {
    loop {
        let Some(h) = side.handshake.get(0..4) else {
            return true;
        };
        let ty = h[0];
        let len = (usize::from(h[1]) << 16) | (usize::from(h[2]) << 8) | usize::from(h[3]);
        if len > MAX_HANDSHAKE_BUFFER {
            return false;
        }
        if side.handshake.len() < 4 + len {
            return true;
        }
        let body = side.handshake.get(4..4 + len).unwrap_or(&[]);
        match ty {
            1 => {
                let Some(ch) = parser::client_hello(body, side.record_version) else {
                    return false;
                };
                side.hello_seen = true;
                emit(ctx, TlsMessage::ClientHello(ch), out);
            }
            2 => {
                let Some(sh) = parser::server_hello(body, side.record_version) else {
                    return false;
                };
                side.hello_seen = true;
                let tls13 = sh.selected_version == Some(0x0304);
                emit(ctx, TlsMessage::ServerHello(sh), out);
                if tls13 {
                    // Everything after the ServerHello is encrypted in TLS 1.3.
                    side.encrypted = true;
                    side.handshake.clear();
                    return true;
                }
            }
            11 => {
                if let Some(chain) = parser::certificate_chain(body) {
                    emit(ctx, TlsMessage::Certificate { chain }, out);
                }
            }
            _ => {}
        }
        side.handshake.drain(..4 + len);
    }
}
