//! SSH: the identification string of each side. Servers may send other
//! lines before it (RFC 4253 §4.2); they are skipped, up to a bound.

pub mod parser;

use netsec_model::{AppEvent, Direction, EventContext, SshEvent};

use super::{side_index, FeedStatus};

/// Lines a server may send before its identification, at most.
const MAX_PRE_LINES: u32 = 32;

#[derive(Debug, Default)]
struct Side {
    /// Bytes of the current line (≤ [`parser::MAX_LINE`]).
    line: Vec<u8>,
    /// The banner was seen, or can no longer be (a gap, garbage).
    done: bool,
    lines: u32,
}

/// Per-flow SSH state.
#[derive(Debug, Default)]
pub struct SshState {
    sides: [Side; 2],
    /// Lines too long or too many before an identification string.
    pub malformed: u64,
}

impl SshState {
    /// Heap bytes held in buffers (for the engine's memory budget).
    pub fn heap_bytes(&self) -> usize {
        self.sides.iter().map(|s| s.line.capacity()).sum::<usize>()
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
        let mut data = data;
        while !side.done && !data.is_empty() {
            let nl = data.iter().position(|b| *b == b'\n');
            let take = nl.map_or(data.len(), |p| p + 1);
            let (head, rest) = data.split_at(take);
            data = rest;
            if side.line.len() + head.len() > parser::MAX_LINE {
                // Not an SSH peer, or a hostile one: stop looking on this side.
                self.malformed += 1;
                side.done = true;
                side.line = Vec::new();
                break;
            }
            side.line.extend_from_slice(head);
            if nl.is_none() {
                break;
            }
            match parser::parse_banner(&side.line) {
                Some(b) => {
                    side.done = true;
                    out.push(AppEvent::Ssh(SshEvent {
                        ctx: ctx.clone(),
                        proto_version: b.proto_version,
                        software: b.software,
                        comments: b.comments,
                    }));
                }
                None => {
                    side.lines += 1;
                    if side.lines > MAX_PRE_LINES {
                        self.malformed += 1;
                        side.done = true;
                    }
                }
            }
            side.line.clear();
        }
        if self.sides.iter().all(|s| s.done) {
            FeedStatus::Done
        } else {
            FeedStatus::Continue
        }
    }

    /// Bytes missing: a banner not yet complete in that direction is lost.
    pub fn gap(&mut self, dir: Direction) {
        if let Some(side) = self.sides.get_mut(side_index(dir)) {
            side.done = true;
            side.line = Vec::new();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netsec_model::Transport;

    #[test]
    fn both_banners_then_done_at_any_segmentation() {
        let ctx = crate::app::test_context(Transport::Tcp, 22);
        let server = b"Pre-banner notice\r\nSSH-2.0-OpenSSH_7.4\r\n\x00\x00\x05\xdc\x0a\x14";
        let client = b"SSH-2.0-OpenSSH_for_Windows_7.7\r\n\x00\x00\x05";
        for chunk in [1, 3, 64] {
            let mut s = SshState::default();
            let mut out = Vec::new();
            let mut last = FeedStatus::Continue;
            for p in server.chunks(chunk) {
                last = s.feed(Direction::ToClient, p, &ctx, &mut out);
            }
            assert_eq!(last, FeedStatus::Continue);
            for p in client.chunks(chunk) {
                last = s.feed(Direction::ToServer, p, &ctx, &mut out);
            }
            assert_eq!(last, FeedStatus::Done);
            let soft: Vec<&str> = out
                .iter()
                .filter_map(|e| match e {
                    AppEvent::Ssh(s) => Some(s.software.as_str()),
                    _ => None,
                })
                .collect();
            assert_eq!(soft, vec!["OpenSSH_7.4", "OpenSSH_for_Windows_7.7"]);
        }
    }

    #[test]
    fn long_lines_and_gaps_end_a_side() {
        let ctx = crate::app::test_context(Transport::Tcp, 22);
        let mut s = SshState::default();
        let mut out = Vec::new();
        s.feed(Direction::ToServer, &[b'A'; 300], &ctx, &mut out);
        assert_eq!(s.malformed, 1);
        s.gap(Direction::ToClient);
        assert_eq!(
            s.feed(Direction::ToClient, b"SSH-2.0-x\r\n", &ctx, &mut out),
            FeedStatus::Done
        );
        assert!(out.is_empty());
    }
}
