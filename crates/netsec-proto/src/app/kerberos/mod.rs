//! Kerberos V5 (RFC 4120) on port 88: one event per message, a UDP
//! datagram holding one message, TCP framing each with a 4-byte record mark
//! (RFC 4120 §7.2.2: big-endian length, high bit reserved).

pub mod parser;

use netsec_model::{AppEvent, Direction, EventContext, KerberosEvent, Transport};

use super::framing::{Framer, Framing};
use super::{side_index, FeedStatus};

/// Kerberos's port (RFC 4120 §7.2.1–2).
pub const KERBEROS_PORT: u16 = 88;
/// Longest TCP message buffered; longer ones (large PACs) are skipped and counted.
const MAX_MESSAGE: usize = 64 * 1024;
/// TCP record mark.
const RECORD_MARK: usize = 4;

/// TCP record marks (RFC 4120 §7.2.2): a message longer than
/// [`MAX_MESSAGE`] is handed over as its mark alone, which fails to parse
/// and is counted.
struct RecordMark;

impl Framing for RecordMark {
    const HEADER: usize = RECORD_MARK;

    fn frame(h: &[u8]) -> Option<(usize, usize)> {
        let mark: [u8; 4] = h.get(..RECORD_MARK)?.try_into().ok()?;
        let len = usize::try_from(u32::from_be_bytes(mark) & 0x7fff_ffff).ok()?;
        let total = RECORD_MARK.checked_add(len)?;
        Some((
            total,
            if len > MAX_MESSAGE {
                RECORD_MARK
            } else {
                total
            },
        ))
    }

    fn starts_frame(data: &[u8]) -> bool {
        data.get(RECORD_MARK..)
            .is_some_and(parser::looks_like_kerberos)
    }
}

/// Per-flow Kerberos state.
#[derive(Debug, Default)]
pub struct KerberosState {
    sides: [Framer; 2],
    /// Messages parsed.
    pub messages: u64,
    /// Messages that were not Kerberos or were cut or too long.
    pub malformed: u64,
}

impl KerberosState {
    /// Heap bytes held in buffers.
    pub fn heap_bytes(&self) -> usize {
        self.sides.iter().map(Framer::heap_bytes).sum()
    }

    /// Feed a UDP datagram or TCP stream bytes of one direction.
    pub fn feed(
        &mut self,
        dir: Direction,
        data: &[u8],
        ctx: &EventContext,
        out: &mut Vec<AppEvent>,
    ) -> FeedStatus {
        if ctx.transport != Transport::Tcp {
            self.message(data, ctx, out);
            return FeedStatus::Continue;
        }
        let Some(side) = self.sides.get_mut(side_index(dir)) else {
            return FeedStatus::Error;
        };
        let (messages, malformed) = (&mut self.messages, &mut self.malformed);
        let errors = side.feed::<RecordMark>(data, |frame| {
            let msg = frame.get(RECORD_MARK..).unwrap_or(&[]);
            message(messages, malformed, msg, ctx, out);
        });
        *malformed += errors;
        FeedStatus::Continue
    }

    fn message(&mut self, msg: &[u8], ctx: &EventContext, out: &mut Vec<AppEvent>) {
        message(&mut self.messages, &mut self.malformed, msg, ctx, out);
    }

    /// Bytes missing in a TCP direction: framing is lost until a segment
    /// starts a record again.
    pub fn gap(&mut self, dir: Direction, len: u64) {
        if let Some(side) = self.sides.get_mut(side_index(dir)) {
            side.gap(len);
        }
    }
}

/// One Kerberos message: an event, or a count of malformed.
fn message(
    messages: &mut u64,
    malformed: &mut u64,
    msg: &[u8],
    ctx: &EventContext,
    out: &mut Vec<AppEvent>,
) {
    let Some(m) = parser::parse(msg) else {
        *malformed += 1;
        return;
    };
    *messages += 1;
    out.push(AppEvent::Kerberos(KerberosEvent {
        ctx: ctx.clone(),
        msg_type: m.msg_type,
        msg_name: parser::msg_name(m.msg_type).to_string(),
        realm: m.realm,
        client: m.client,
        server: m.server,
        etypes: m.etypes,
        ticket_etype: m.ticket_etype,
        reply_etype: m.reply_etype,
        pa_enc_timestamp: m.pa_enc_timestamp,
        error_code: m.error_code,
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcp_records_at_any_segmentation() {
        let ctx = crate::app::test_context(Transport::Tcp, 88);
        let msg = parser::tests::as_req("alice", &[18, 23], true);
        let mut stream = Vec::new();
        for _ in 0..3 {
            stream.extend((msg.len() as u32).to_be_bytes());
            stream.extend(&msg);
        }
        for chunk in [1, 5, 64, stream.len()] {
            let mut s = KerberosState::default();
            let mut out = Vec::new();
            for p in stream.chunks(chunk) {
                s.feed(Direction::ToServer, p, &ctx, &mut out);
            }
            assert_eq!(out.len(), 3, "chunk {chunk}");
            assert_eq!(s.malformed, 0);
            assert_eq!(s.sides[0].buffered(), 0);
        }
        // An over-long record is skipped and counted, then framing goes on.
        let mut s = KerberosState::default();
        let mut out = Vec::new();
        let mut long = (100_000u32).to_be_bytes().to_vec();
        long.resize(100_004, 0);
        long.extend((msg.len() as u32).to_be_bytes());
        long.extend(&msg);
        for p in long.chunks(1000) {
            s.feed(Direction::ToServer, p, &ctx, &mut out);
        }
        assert_eq!((out.len(), s.malformed), (1, 1));
    }
}
