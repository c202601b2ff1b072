//! DHCP: one event per message.

pub mod parser;

use netsec_model::{AppEvent, EventContext};

use super::FeedStatus;

/// Per-flow DHCP state.
#[derive(Debug, Default)]
pub struct DhcpState {
    /// Datagrams that were not DHCP.
    pub malformed: u64,
}

impl DhcpState {
    /// Feed a datagram.
    pub fn feed(&mut self, data: &[u8], ctx: &EventContext, out: &mut Vec<AppEvent>) -> FeedStatus {
        match parser::parse(data, ctx) {
            Some(ev) => out.push(AppEvent::Dhcp(ev)),
            None => self.malformed += 1,
        }
        FeedStatus::Continue
    }
}
