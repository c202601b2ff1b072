//! An analyser the caller keeps a handle on: the pipeline owns its
//! analysers, so a collector read after the run goes in behind a lock.

use std::sync::{Arc, Mutex};

use netsec_model::{
    Analyzer, AppEvent, ArpInfo, FindingSink, FlowRecord, Interests, PacketInfo, Timestamp,
};

/// `Arc<Mutex<A>>` as an [`Analyzer`]: give the pipeline a clone, keep one.
/// A poisoned lock (a panic in another holder) makes the calls no-ops.
pub struct SharedAnalyzer<A: Analyzer> {
    inner: Arc<Mutex<A>>,
    name: &'static str,
    interests: Interests,
}

impl<A: Analyzer> SharedAnalyzer<A> {
    /// Share `analyzer`; returns the pipeline's side and the caller's handle.
    pub fn new(analyzer: A) -> (Self, Arc<Mutex<A>>) {
        let name = analyzer.name();
        let interests = analyzer.interests();
        let inner = Arc::new(Mutex::new(analyzer));
        (
            SharedAnalyzer {
                inner: Arc::clone(&inner),
                name,
                interests,
            },
            inner,
        )
    }
}

impl<A: Analyzer> Analyzer for SharedAnalyzer<A> {
    fn name(&self) -> &'static str {
        self.name
    }
    fn interests(&self) -> Interests {
        self.interests
    }
    fn memory_used(&self) -> usize {
        self.inner.lock().map_or(0, |a| a.memory_used())
    }
    fn set_memory_budget(&mut self, bytes: usize) {
        if let Ok(mut a) = self.inner.lock() {
            a.set_memory_budget(bytes);
        }
    }
    fn on_packet(&mut self, packet: &PacketInfo, out: &mut dyn FindingSink) {
        if let Ok(mut a) = self.inner.lock() {
            a.on_packet(packet, out);
        }
    }
    fn on_arp(&mut self, arp: &ArpInfo, out: &mut dyn FindingSink) {
        if let Ok(mut a) = self.inner.lock() {
            a.on_arp(arp, out);
        }
    }
    fn on_event(&mut self, event: &AppEvent, out: &mut dyn FindingSink) {
        if let Ok(mut a) = self.inner.lock() {
            a.on_event(event, out);
        }
    }
    fn on_flow_end(&mut self, flow: &FlowRecord, out: &mut dyn FindingSink) {
        if let Ok(mut a) = self.inner.lock() {
            a.on_flow_end(flow, out);
        }
    }
    fn on_tick(&mut self, now: Timestamp, out: &mut dyn FindingSink) {
        if let Ok(mut a) = self.inner.lock() {
            a.on_tick(now, out);
        }
    }
    fn finish(&mut self, out: &mut dyn FindingSink) {
        if let Ok(mut a) = self.inner.lock() {
            a.finish(out);
        }
    }
}
