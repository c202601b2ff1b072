//! NTP: one event per message.

pub mod parser;

use netsec_model::{AppEvent, EventContext, NtpEvent};

use super::FeedStatus;

/// Per-flow NTP state.
#[derive(Debug, Default)]
pub struct NtpState {
    /// Datagrams that were not NTP.
    pub malformed: u64,
}

impl NtpState {
    /// Feed a datagram.
    pub fn feed(&mut self, data: &[u8], ctx: &EventContext, out: &mut Vec<AppEvent>) -> FeedStatus {
        match parser::parse_header(data) {
            Some((version, mode, stratum)) => out.push(AppEvent::Ntp(NtpEvent {
                ctx: ctx.clone(),
                version,
                mode,
                stratum,
            })),
            None => self.malformed += 1,
        }
        FeedStatus::Continue
    }
}
