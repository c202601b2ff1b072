//! NTP: one event per message (UDP 123).

pub mod parser;

use netsec_model::{AppEvent, EventContext, NtpEvent};

use super::FeedStatus;

/// Per-flow NTP state.
#[derive(Debug, Default)]
pub struct NtpState {
    /// Messages parsed.
    pub messages: u64,
    /// Datagrams that were not NTP (counted and skipped).
    pub malformed: u64,
}

impl NtpState {
    /// Feed a datagram.
    pub fn feed(&mut self, data: &[u8], ctx: &EventContext, out: &mut Vec<AppEvent>) -> FeedStatus {
        match parser::parse_header(data) {
            Some(h) => {
                self.messages += 1;
                out.push(AppEvent::Ntp(NtpEvent {
                    ctx: ctx.clone(),
                    version: h.version,
                    mode: h.mode,
                    stratum: h.stratum,
                }));
            }
            None => self.malformed += 1,
        }
        FeedStatus::Continue
    }
}
