//! SMB over NetBIOS session service (RFC 1002 §4.3.1: type, length) or
//! direct TCP 445 (the same 4-byte framing): one event per SMB1 or SMB2
//! header, compounded SMB2 messages included.

pub mod parser;

use netsec_model::{AppEvent, Direction, EventContext, SmbEvent};

use super::{side_index, FeedStatus};
use parser::NBSS_HEADER;

/// Bytes of one NetBIOS message parsed at most: headers, NEGOTIATE bodies
/// and compound chains fit; the data of large READ/WRITE messages is skipped
/// without being buffered.
const MAX_MESSAGE_PARSED: usize = 64 * 1024;

#[derive(Debug, Default)]
struct Side {
    /// The start of a message not complete yet (≤ header + [`MAX_MESSAGE_PARSED`]).
    buf: Vec<u8>,
    /// Bytes of the current message still to skip.
    skip: usize,
    /// Framing lost (a gap, a bad header): skip until a segment starts a message.
    desync: bool,
}

/// Per-flow SMB state.
#[derive(Debug, Default)]
pub struct SmbState {
    sides: [Side; 2],
    /// Messages parsed.
    pub messages: u64,
    /// Bad NetBIOS headers (framing lost, then resynchronised).
    pub malformed: u64,
}

/// (total message size with its header, bytes of it to parse) of a NetBIOS
/// header; `None` for a type that is not a session-service type.
fn frame(h: &[u8]) -> Option<(usize, usize)> {
    let ty = *h.first()?;
    let len =
        (usize::from(*h.get(1)?) << 16) | (usize::from(*h.get(2)?) << 8) | usize::from(*h.get(3)?);
    let total = NBSS_HEADER + len;
    match ty {
        parser::NBSS_SESSION_MESSAGE => Some((total, total.min(NBSS_HEADER + MAX_MESSAGE_PARSED))),
        // Session request, responses, retarget, keepalive (RFC 1002 §4.3): no SMB inside.
        0x81..=0x85 => Some((total, NBSS_HEADER)),
        _ => None,
    }
}

impl SmbState {
    /// Heap bytes held in buffers (for the engine's memory budget).
    pub fn heap_bytes(&self) -> usize {
        self.sides.iter().map(|s| s.buf.capacity()).sum::<usize>()
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
        loop {
            let Some(side) = self.sides.get_mut(i) else {
                return FeedStatus::Error;
            };
            if side.skip > 0 {
                let n = side.skip.min(data.len());
                side.skip -= n;
                data = data.get(n..).unwrap_or(&[]);
            }
            if data.is_empty() {
                break;
            }
            if side.desync {
                if !parser::looks_like_smb(data) {
                    break;
                }
                side.desync = false;
            }
            if !side.buf.is_empty() {
                // Complete the header, then the part of the message parsed.
                if side.buf.len() < NBSS_HEADER {
                    let take = (NBSS_HEADER - side.buf.len()).min(data.len());
                    let (head, rest) = data.split_at(take);
                    side.buf.extend_from_slice(head);
                    data = rest;
                    continue;
                }
                let Some((total, parsed)) = frame(&side.buf) else {
                    side.buf.clear();
                    side.desync = true;
                    self.malformed += 1;
                    continue;
                };
                let take = parsed.saturating_sub(side.buf.len()).min(data.len());
                let (head, rest) = data.split_at(take);
                side.buf.extend_from_slice(head);
                data = rest;
                if side.buf.len() < parsed {
                    break;
                }
                side.skip = total - parsed;
                let msg = std::mem::take(&mut side.buf);
                self.message(msg.get(NBSS_HEADER..).unwrap_or(&[]), ctx, out);
                continue;
            }
            // Messages whole in the segment are parsed in place.
            match frame(data) {
                None if data.len() >= NBSS_HEADER
                    || data.first().is_some_and(|t| !matches!(t, 0 | 0x81..=0x85)) =>
                {
                    side.desync = true;
                    self.malformed += 1;
                }
                Some((total, parsed)) if data.len() >= parsed => {
                    let msg = data.get(NBSS_HEADER..parsed).unwrap_or(&[]);
                    data = data.get(parsed..).unwrap_or(&[]);
                    side.skip = total - parsed;
                    self.message(msg, ctx, out);
                }
                _ => {
                    // Less than the part parsed: at most header + 64 KiB kept.
                    side.buf.extend_from_slice(data);
                    break;
                }
            }
        }
        FeedStatus::Continue
    }

    fn message(&mut self, msg: &[u8], ctx: &EventContext, out: &mut Vec<AppEvent>) {
        for hdr in parser::parse_message(msg) {
            self.messages += 1;
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
    }

    /// Bytes missing: inside skipped data only shortens the skip; elsewhere
    /// framing is lost until a segment starts a message again.
    pub fn gap(&mut self, dir: Direction, len: u64) {
        if let Some(side) = self.sides.get_mut(side_index(dir)) {
            let len = usize::try_from(len).unwrap_or(usize::MAX);
            if side.buf.is_empty() && side.skip > len {
                side.skip -= len;
            } else {
                side.buf.clear();
                side.skip = 0;
                side.desync = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netsec_model::Transport;

    fn nbss(body: &[u8]) -> Vec<u8> {
        let n = body.len() as u32;
        let mut v = vec![0, (n >> 16) as u8, (n >> 8) as u8, n as u8];
        v.extend_from_slice(body);
        v
    }

    fn echo(response: bool, pad: usize) -> Vec<u8> {
        let mut h = b"\xfeSMB\x40\x00\x00\x00\x00\x00\x00\x00\x0d\x00\x01\x00".to_vec();
        h.extend(u32::from(response).to_le_bytes());
        h.resize(64 + pad, 0);
        nbss(&h)
    }

    fn commands(out: &[AppEvent]) -> Vec<(String, bool)> {
        out.iter()
            .filter_map(|e| match e {
                AppEvent::Smb(s) => Some((s.command_name.clone(), s.is_response)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn framing_at_any_segmentation_with_large_messages_skipped() {
        let ctx = crate::app::test_context(Transport::Tcp, 445);
        let mut stream = vec![0x85, 0, 0, 0];
        stream.extend(echo(false, 0));
        stream.extend(echo(false, 200_000));
        stream.extend(echo(false, 10));
        for chunk in [1, 3, 100, 70_000, stream.len()] {
            let mut s = SmbState::default();
            let mut out = Vec::new();
            for p in stream.chunks(chunk) {
                s.feed(Direction::ToServer, p, &ctx, &mut out);
                assert!(s.sides[0].buf.len() <= NBSS_HEADER + MAX_MESSAGE_PARSED);
            }
            assert_eq!(commands(&out).len(), 3, "chunk {chunk}");
            assert!(commands(&out).iter().all(|c| c.0 == "ECHO"));
            assert_eq!(s.malformed, 0);
        }
    }

    #[test]
    fn gap_resyncs_on_next_message() {
        let ctx = crate::app::test_context(Transport::Tcp, 445);
        let mut s = SmbState::default();
        let mut out = Vec::new();
        let m = echo(true, 0);
        s.feed(Direction::ToClient, &m[..30], &ctx, &mut out);
        s.gap(Direction::ToClient, 10);
        s.feed(Direction::ToClient, &m[40..], &ctx, &mut out);
        s.feed(Direction::ToClient, &m, &ctx, &mut out);
        assert_eq!(commands(&out), vec![("ECHO".to_string(), true)]);
        // Garbage is counted, then a message start resyncs.
        s.feed(Direction::ToClient, b"\x42garbage", &ctx, &mut out);
        s.feed(Direction::ToClient, &m, &ctx, &mut out);
        assert_eq!(s.malformed, 1);
        assert_eq!(out.len(), 2);
    }
}
