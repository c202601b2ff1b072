//! When the engine ticks: the first packet whose capture time reaches the
//! next tick, then one second of capture time later. Flow timeouts are
//! checked only on ticks, so a pipeline that hands packets to several
//! engines can tell each of them to tick on exactly the packet where a
//! single engine seeing every packet would (netsec-analyze does, to give the
//! same stream of records for any number of threads).

use netsec_model::{Duration, Timestamp};

/// The engine's tick rhythm over capture time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TickSchedule {
    next: Option<Timestamp>,
}

impl TickSchedule {
    /// Capture time between ticks.
    pub const INTERVAL: Duration = Duration::from_secs(1);

    /// A schedule that ticks on the first packet.
    pub fn new() -> Self {
        TickSchedule { next: None }
    }

    /// Whether a tick is due with the clock (the latest capture time seen)
    /// at `now`; when it is, the next one is scheduled one interval later.
    pub fn due(&mut self, now: Timestamp) -> bool {
        if self.next.is_some_and(|t| now < t) {
            return false;
        }
        self.next = Some(now + Self::INTERVAL);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_on_the_first_packet_then_each_second_of_capture_time() {
        let mut s = TickSchedule::new();
        let t = |ms: i64| Timestamp::from_nanos(ms * 1_000_000);
        assert!(s.due(t(500)));
        assert!(!s.due(t(1499)));
        assert!(s.due(t(1500)));
        // A jump of many seconds gives one tick, and the rhythm restarts there.
        assert!(s.due(t(9000)));
        assert!(!s.due(t(9999)));
        assert!(s.due(t(10_000)));
    }
}
