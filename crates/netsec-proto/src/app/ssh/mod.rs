//! SSH: the identification string of each side. Servers may send other
//! lines before it (RFC 4253 §4.2); they are skipped.

pub mod parser;

use netsec_model::{AppEvent, Direction, EventContext, SshEvent};

use super::FeedStatus;

/// Lines a server may send before its identification, at most.
const MAX_PRE_LINES: u32 = 32;

#[derive(Debug, Default)]
struct Side {
    line: Vec<u8>,
    done: bool,
    lines: u32,
}

/// Per-flow SSH state.
#[derive(Debug, Default)]
pub struct SshState {
    sides: [Side; 2],
}

impl SshState {
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
        while !side.done && !data.is_empty() {
            let nl = data.iter().position(|b| *b == b'\n');
            let take = nl.map_or(data.len(), |p| p + 1);
            side.line.extend_from_slice(data.get(..take).unwrap_or(&[]));
            data = data.get(take..).unwrap_or(&[]);
            if side.line.len() > parser::MAX_LINE {
                return FeedStatus::Error;
            }
            if nl.is_none() {
                break;
            }
            let line = std::mem::take(&mut side.line);
            if let Some((proto_version, software, comments)) = parser::parse_banner(&line) {
                side.done = true;
                out.push(AppEvent::Ssh(SshEvent {
                    ctx: ctx.clone(),
                    proto_version,
                    software,
                    comments,
                }));
            } else {
                side.lines += 1;
                if side.lines > MAX_PRE_LINES {
                    return FeedStatus::Error;
                }
            }
        }
        if self.sides.iter().all(|s| s.done) {
            FeedStatus::Done
        } else {
            FeedStatus::Continue
        }
    }
}
