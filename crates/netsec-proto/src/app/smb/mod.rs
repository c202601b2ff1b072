//! SMB over NetBIOS session service (RFC 1002 §4.3.1: type, 24-bit length)
//! or direct TCP 445 (the same 4-byte framing).

pub mod parser;

use netsec_model::{AppEvent, Direction, EventContext, SmbEvent};

use super::FeedStatus;

/// Bytes of one NetBIOS message parsed at most; larger messages (READ/WRITE
/// data) have their header parsed and the rest skipped.
const MAX_MESSAGE_PARSED: usize = 64 * 1024;

#[derive(Debug, Default)]
struct Side {
    buf: Vec<u8>,
    /// Bytes of the current message still to skip.
    skip: usize,
}

/// Per-flow SMB state.
#[derive(Debug, Default)]
pub struct SmbState {
    sides: [Side; 2],
}

impl SmbState {
    /// Feed stream bytes of one direction.
    pub fn feed(
        &mut self,
        dir: Direction,
        data: &[u8],
        ctx: &EventContext,
        out: &mut Vec<AppEvent>,
    ) -> FeedStatus {
        let i = usize::from(dir == Direction::ToClient);
        let Some(side) = self.sides.get_mut(i) else {
            return FeedStatus::Error;
        };
        let mut data = data;
        if side.skip > 0 {
            let n = side.skip.min(data.len());
            side.skip -= n;
            data = data.get(n..).unwrap_or(&[]);
        }
        side.buf.extend_from_slice(data);
        while let Some(h) = side.buf.get(0..4) {
            let len = (usize::from(h[1]) << 16) | (usize::from(h[2]) << 8) | usize::from(h[3]);
            if h[0] != 0 {
                // Session keepalive and control messages carry no SMB.
                if matches!(h[0], 0x81..=0x85) {
                    let n = (4 + len).min(side.buf.len());
                    side.buf.drain(..n);
                    continue;
                }
                return FeedStatus::Error;
            }
            let have = side.buf.len() - 4;
            if have < len && have < MAX_MESSAGE_PARSED {
                break;
            }
            let parse_len = len.min(have).min(MAX_MESSAGE_PARSED);
            for hdr in parser::parse_message(side.buf.get(4..4 + parse_len).unwrap_or(&[])) {
                out.push(AppEvent::Smb(SmbEvent {
                    ctx: ctx.clone(),
                    version: hdr.version,
                    command: hdr.command,
                    command_name: hdr.command_name.to_string(),
                    status: hdr.status,
                    is_response: hdr.is_response,
                    dialects: hdr.dialects,
                }));
            }
            let consumed = (4 + len).min(side.buf.len());
            side.skip = 4 + len - consumed;
            side.buf.drain(..consumed);
        }
        FeedStatus::Continue
    }

    /// Bytes missing: framing in that direction is lost.
    pub fn gap(&mut self, dir: Direction) {
        let i = usize::from(dir == Direction::ToClient);
        if let Some(side) = self.sides.get_mut(i) {
            side.buf.clear();
            side.skip = 0;
        }
    }
}
