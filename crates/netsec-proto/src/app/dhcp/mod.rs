//! DHCP: one event per message (BOOTP over UDP 67/68).

pub mod parser;

use netsec_model::{AppEvent, EventContext};

use super::FeedStatus;

/// Per-flow DHCP state.
#[derive(Debug, Default)]
pub struct DhcpState {
    /// Messages parsed.
    pub messages: u64,
    /// Datagrams that were not DHCP (counted and skipped).
    pub malformed: u64,
}

impl DhcpState {
    /// Feed a datagram.
    pub fn feed(&mut self, data: &[u8], ctx: &EventContext, out: &mut Vec<AppEvent>) -> FeedStatus {
        match parser::parse(data, ctx) {
            Some(ev) => {
                self.messages += 1;
                out.push(AppEvent::Dhcp(ev));
            }
            None => self.malformed += 1,
        }
        FeedStatus::Continue
    }
}
