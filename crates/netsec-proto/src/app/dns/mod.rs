//! DNS over UDP (one message per datagram) and TCP (messages framed by a
//! two-byte length, RFC 1035 §4.2.2, possibly split across segments).

pub mod parser;

use netsec_model::{AppEvent, Direction, EventContext, Transport};

use super::FeedStatus;

/// Largest TCP DNS message plus its length prefix.
const MAX_TCP_MESSAGE: usize = 65_535 + 2;

/// Per-flow DNS state.
#[derive(Debug, Default)]
pub struct DnsState {
    /// TCP bytes not yet framed, per direction.
    pending: [Vec<u8>; 2],
    /// Messages parsed.
    pub parsed: u64,
    /// Messages that failed to parse.
    pub malformed: u64,
}

impl DnsState {
    /// Feed a datagram (UDP) or stream bytes (TCP).
    pub fn feed(
        &mut self,
        dir: Direction,
        data: &[u8],
        ctx: &EventContext,
        out: &mut Vec<AppEvent>,
    ) -> FeedStatus {
        if ctx.transport != Transport::Tcp {
            self.push(parser::parse_message(data, ctx), out);
            // A bad datagram does not make the next one bad; a flow that never
            // parsed is not DNS after all.
            return if self.parsed == 0 && self.malformed >= 4 {
                FeedStatus::Error
            } else {
                FeedStatus::Continue
            };
        }
        let buf = match dir {
            Direction::ToServer => &mut self.pending[0],
            Direction::ToClient => &mut self.pending[1],
        };
        buf.extend_from_slice(data);
        while let Some(len) = buf
            .get(0..2)
            .map(|l| usize::from(u16::from_be_bytes([l[0], l[1]])))
        {
            if buf.len() < len + 2 {
                if buf.len() > MAX_TCP_MESSAGE {
                    return FeedStatus::Error;
                }
                break;
            }
            let ev = buf
                .get(2..2 + len)
                .and_then(|m| parser::parse_message(m, ctx));
            buf.drain(..2 + len);
            match ev {
                Some(ev) => {
                    self.parsed += 1;
                    out.push(AppEvent::Dns(ev));
                }
                None => self.malformed += 1,
            }
        }
        FeedStatus::Continue
    }

    fn push(&mut self, ev: Option<netsec_model::DnsEvent>, out: &mut Vec<AppEvent>) {
        match ev {
            Some(ev) => {
                self.parsed += 1;
                out.push(AppEvent::Dns(ev));
            }
            None => self.malformed += 1,
        }
    }

    /// Bytes are missing: framing is lost in that direction.
    pub fn gap(&mut self, dir: Direction) {
        match dir {
            Direction::ToServer => self.pending[0].clear(),
            Direction::ToClient => self.pending[1].clear(),
        }
    }
}
