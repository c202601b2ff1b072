//! Watching and stopping a run from another thread.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// How far a run has got; handed to the progress callback every few
/// thousand packets, from the thread that reads the input.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// Bytes of input read (compressed bytes for compressed files, as
    /// stored), over all inputs so far.
    pub bytes_read: u64,
    /// Total size of the file inputs, when known (0 for streams and live
    /// capture).
    pub bytes_total: u64,
    /// Packets read, over all inputs so far.
    pub packets: u64,
    /// Inputs finished.
    pub inputs_done: usize,
}

/// Called with the run's progress.
pub type ProgressCallback = Arc<dyn Fn(&Progress) + Send + Sync>;

/// Stops a run from any thread: the run finishes the packet at hand, ends
/// every open flow and analyser as at the end of input, and returns a
/// summary marked `cancelled`.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// A token not yet cancelled.
    pub fn new() -> Self {
        CancelToken::default()
    }

    /// Ask the run to stop.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether [`CancelToken::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Packets between progress reports and cancellation checks.
pub(crate) const CHECK_EVERY_PACKETS: u64 = 4096;

/// The reading thread's progress: reports to the callback now and then.
pub(crate) struct ProgressReporter {
    callback: Option<ProgressCallback>,
    state: Progress,
}

impl ProgressReporter {
    pub fn new(callback: Option<ProgressCallback>, bytes_total: u64) -> Self {
        ProgressReporter {
            callback,
            state: Progress {
                bytes_total,
                ..Progress::default()
            },
        }
    }

    /// A silent reporter (a shard that is not the one reporting).
    pub fn silent() -> Self {
        ProgressReporter::new(None, 0)
    }

    /// Count a packet of `bytes` bytes (with its record header).
    pub fn packet(&mut self, bytes: u64) {
        self.state.packets += 1;
        self.state.bytes_read += bytes;
        if self.state.packets.is_multiple_of(CHECK_EVERY_PACKETS) {
            self.report();
        }
    }

    /// An input is done.
    pub fn input_done(&mut self) {
        self.state.inputs_done += 1;
        self.report();
    }

    fn report(&self) {
        if let Some(cb) = &self.callback {
            cb(&self.state);
        }
    }
}
