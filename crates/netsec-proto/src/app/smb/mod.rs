//! SMB over NetBIOS session service (RFC 1002 §4.3.1: type, length) or
//! direct TCP 445 (the same 4-byte framing): one event per SMB1 or SMB2
//! header, compounded SMB2 messages included; DCE-RPC over named pipes
//! ([`pipes`]) as DCE-RPC events.

pub mod parser;
pub mod pipes;

use netsec_model::{AppEvent, Direction, EventContext, SmbEvent};

use super::framing::{Framer, Framing};
use super::{side_index, FeedStatus};
use parser::NBSS_HEADER;

/// Bytes of one NetBIOS message parsed at most: headers, NEGOTIATE bodies
/// and compound chains fit; the data of large READ/WRITE messages is skipped
/// without being buffered.
const MAX_MESSAGE_PARSED: usize = 64 * 1024;

/// Per-flow SMB state.
#[derive(Debug, Default)]
pub struct SmbState {
    sides: [Framer; 2],
    /// Messages parsed.
    pub messages: u64,
    /// Bad NetBIOS headers (framing lost, then resynchronised).
    pub malformed: u64,
    /// DCE-RPC over the named pipes of this connection.
    pipes: pipes::Pipes,
}

/// NetBIOS session service framing (RFC 1002 §4.3.1).
struct Nbss;

impl Framing for Nbss {
    const HEADER: usize = NBSS_HEADER;

    /// Session messages are parsed up to [`MAX_MESSAGE_PARSED`]; session
    /// request, responses, retarget and keepalive (RFC 1002 §4.3) carry no
    /// SMB; any other type is not NetBIOS.
    fn frame(h: &[u8]) -> Option<(usize, usize)> {
        let ty = *h.first()?;
        let len = (usize::from(*h.get(1)?) << 16)
            | (usize::from(*h.get(2)?) << 8)
            | usize::from(*h.get(3)?);
        let total = NBSS_HEADER + len;
        match ty {
            parser::NBSS_SESSION_MESSAGE => {
                Some((total, total.min(NBSS_HEADER + MAX_MESSAGE_PARSED)))
            }
            0x81..=0x85 => Some((total, NBSS_HEADER)),
            _ => None,
        }
    }

    fn starts_frame(data: &[u8]) -> bool {
        parser::looks_like_smb(data)
    }
}

impl SmbState {
    /// Heap bytes held in buffers (for the engine's memory budget).
    pub fn heap_bytes(&self) -> usize {
        self.sides.iter().map(Framer::heap_bytes).sum::<usize>() + self.pipes.heap_bytes()
    }

    /// Bad NetBIOS headers and malformed DCE-RPC PDUs in pipes.
    pub fn malformed(&self) -> u64 {
        self.malformed + self.pipes.malformed()
    }

    /// Feed stream bytes of one direction.
    pub fn feed(
        &mut self,
        dir: Direction,
        data: &[u8],
        ctx: &EventContext,
        out: &mut Vec<AppEvent>,
    ) -> FeedStatus {
        let Some(side) = self.sides.get_mut(side_index(dir)) else {
            return FeedStatus::Error;
        };
        let (messages, pipes) = (&mut self.messages, &mut self.pipes);
        self.malformed += side.feed::<Nbss>(data, |frame| {
            let msg = frame.get(NBSS_HEADER..).unwrap_or(&[]);
            message(messages, pipes, msg, ctx, out);
        });
        FeedStatus::Continue
    }

    /// Bytes missing in a direction.
    pub fn gap(&mut self, dir: Direction, len: u64) {
        if let Some(side) = self.sides.get_mut(side_index(dir)) {
            side.gap(len);
        }
    }
}

/// The SMB messages of one NetBIOS session message.
fn message(
    messages: &mut u64,
    pipes: &mut pipes::Pipes,
    msg: &[u8],
    ctx: &EventContext,
    out: &mut Vec<AppEvent>,
) {
    for hdr in parser::parse_message(msg) {
        *messages += 1;
        let (at, len) = hdr.span;
        let start = out.len();
        let m = msg.get(at..at.saturating_add(len)).unwrap_or(&[]);
        pipes.message(&hdr, m, ctx, out);
        out.insert(
            start,
            AppEvent::Smb(SmbEvent {
                ctx: ctx.clone(),
                version: hdr.version,
                command: hdr.command,
                command_name: hdr.command_name.to_string(),
                status: hdr.status,
                is_response: hdr.is_response,
                dialects: hdr.dialects,
            }),
        );
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
                assert!(s.sides[0].buffered() <= NBSS_HEADER + MAX_MESSAGE_PARSED);
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
