//! Flow deadlines, bucketed by the second of capture time they fall in.
//!
//! The engine checks timeouts once per tick (one second of capture time):
//! every bucket whose second has come is looked at, and each flow in it has
//! ended exactly when its deadline has passed, whatever else is queued. That
//! exactness is what lets several engines that share a capture end the same
//! flows on the same tick as one engine would (a FIFO stops at the first
//! entry not yet due, so what it ends depends on what else it holds).
//! Entries are lazy: a flow touched since it was queued is put back with its
//! new deadline when its old one comes; a token per queueing (unique in the
//! table's life) tells the one valid entry of a flow from stale ones.
//!
//! An entry names its flow by the flow's slot in the table, not by its key
//! (24 bytes an entry, not 64): a slot reused by a later flow holds another
//! token. A flow-heavy capture holds a few entries a live flow (an nmap
//! probe's SYN and its RST each queue one).

use std::collections::{BTreeSet, HashMap};

use netsec_model::Timestamp;

/// One queued deadline: when, the flow's slot in the table, the flow's
/// token at queueing.
pub(crate) type QueueEntry = (Timestamp, u32, u64);

/// Emptied bucket vectors kept for reuse: at most this many, each with
/// room for at most [`SPARE_ENTRIES`] entries. A second in which a scan
/// queued 65,000 deadlines must not leave a vector of that size to every
/// later second's bucket (65 MB held at 1 GB of nmap scans, counted nowhere).
const SPARE_VECTORS: usize = 32;
const SPARE_ENTRIES: usize = 1024;

/// Deadlines by the second they fall in.
#[derive(Debug, Default)]
pub(crate) struct DeadlineBuckets {
    /// A hash map, for a cheap push (one lookup of an integer) …
    buckets: HashMap<i64, Vec<QueueEntry>, ahash::RandomState>,
    /// … and its seconds in order, touched once per bucket.
    seconds: BTreeSet<i64>,
    /// Entries of due buckets not looked at yet (this tick).
    due: Vec<QueueEntry>,
    /// Entries of due buckets whose deadline is later in the current second:
    /// put back when the tick is done.
    deferred: Vec<QueueEntry>,
    /// Emptied vectors, reused for new buckets.
    spare: Vec<Vec<QueueEntry>>,
    len: usize,
}

impl DeadlineBuckets {
    /// Queue an entry.
    pub fn push(&mut self, entry: QueueEntry) {
        let second = entry.0.secs();
        match self.buckets.get_mut(&second) {
            Some(bucket) => bucket.push(entry),
            None => {
                let mut bucket = self.spare.pop().unwrap_or_default();
                bucket.push(entry);
                self.buckets.insert(second, bucket);
                self.seconds.insert(second);
            }
        }
        self.len += 1;
    }

    /// Take out the bucket of the earliest second, if that second is
    /// `until` or before.
    fn pop_first_bucket(&mut self, until: i64) -> Option<Vec<QueueEntry>> {
        let first = *self.seconds.first()?;
        if first > until {
            return None;
        }
        self.seconds.pop_first();
        self.buckets.remove(&first)
    }

    /// The next entry whose second has come at `now` (its deadline may still
    /// be later within that second: the caller gives it back with
    /// [`DeadlineBuckets::defer`]). `None` when every due entry was handed
    /// out: the deferred ones are then queued again.
    pub fn next_due(&mut self, now: Timestamp) -> Option<QueueEntry> {
        loop {
            if let Some(e) = self.due.pop() {
                self.len = self.len.saturating_sub(1);
                return Some(e);
            }
            match self.pop_first_bucket(now.secs()) {
                Some(mut entries) => {
                    std::mem::swap(&mut self.due, &mut entries);
                    // `entries` is the drained `due` vector: keep it.
                    self.recycle(entries);
                }
                None => {
                    for e in std::mem::take(&mut self.deferred) {
                        self.push(e);
                    }
                    return None;
                }
            }
        }
    }

    /// Keep an emptied vector for a later bucket, if it is small and few
    /// are kept; free it otherwise.
    fn recycle(&mut self, v: Vec<QueueEntry>) {
        if v.capacity() <= SPARE_ENTRIES && self.spare.len() < SPARE_VECTORS {
            self.spare.push(v);
        }
    }

    /// Give back an entry from [`DeadlineBuckets::next_due`] that is not due
    /// yet; it is queued again once this tick's entries are done.
    pub fn defer(&mut self, entry: QueueEntry) {
        self.deferred.push(entry);
    }

    /// The entry with the earliest deadline second (any of that second),
    /// taken out: for evicting a flow when the table is full.
    pub fn pop_earliest(&mut self) -> Option<QueueEntry> {
        if let Some(e) = self.due.pop() {
            self.len = self.len.saturating_sub(1);
            return Some(e);
        }
        let mut bucket = self.pop_first_bucket(i64::MAX)?;
        let e = bucket.pop();
        match bucket.is_empty() {
            true => self.recycle(bucket),
            false => {
                if let Some(second) = e.map(|e| e.0.secs()) {
                    self.seconds.insert(second);
                    self.buckets.insert(second, bucket);
                }
            }
        }
        if e.is_some() {
            self.len = self.len.saturating_sub(1);
        }
        e
    }

    /// Entries queued.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Bytes held by the queue, in O(1) (it is asked after every packet):
    /// vectors grow by doubling, so their capacity is at most twice what
    /// they hold; a B-tree node per few buckets, 64 bytes a bucket is
    /// generous.
    pub fn memory(&self) -> usize {
        (2 * self.len + self.spare.len() * SPARE_ENTRIES) * std::mem::size_of::<QueueEntry>()
            + self.buckets.len() * 96
    }

    /// The most [`DeadlineBuckets::memory`] says for a table of `flows`
    /// whose queues are compacted past twice as many entries plus 1,024
    /// (as the flow table does), buckets aside.
    pub fn bytes_for(flows: usize) -> usize {
        (2 * (2 * flows + 1025) + SPARE_VECTORS * SPARE_ENTRIES) * std::mem::size_of::<QueueEntry>()
    }

    /// Keep only the entries `valid` accepts (dropping stale ones).
    pub fn retain(&mut self, mut valid: impl FnMut(&QueueEntry) -> bool) {
        let mut len = 0;
        for v in self.buckets.values_mut() {
            v.retain(&mut valid);
            len += v.len();
        }
        self.buckets.retain(|_, v| !v.is_empty());
        let buckets = &self.buckets;
        self.seconds.retain(|s| buckets.contains_key(s));
        self.due.retain(&mut valid);
        self.deferred.retain(&mut valid);
        self.spare.clear();
        self.len = len + self.due.len() + self.deferred.len();
    }

    /// Forget everything.
    pub fn clear(&mut self) {
        self.buckets.clear();
        self.seconds.clear();
        self.due.clear();
        self.deferred.clear();
        self.len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> u32 {
        u32::from(n)
    }

    fn ms(ms: i64) -> Timestamp {
        Timestamp::from_nanos(ms * 1_000_000)
    }

    #[test]
    fn every_due_entry_comes_out_whatever_was_queued_first() {
        let mut q = DeadlineBuckets::default();
        // Queued out of deadline order, as merged inputs and re-queued
        // flows queue them.
        q.push((ms(9_000), key(1), 1));
        q.push((ms(2_500), key(2), 2));
        q.push((ms(3_000), key(3), 3));
        q.push((ms(2_900), key(4), 4));
        let mut out = Vec::new();
        while let Some(e) = q.next_due(ms(2_950)) {
            if e.0 <= ms(2_950) {
                out.push(e.2);
            } else {
                q.defer(e);
            }
        }
        out.sort_unstable();
        assert_eq!(out, [2, 4]);
        assert_eq!(q.len(), 2);
        // The later one of second 3 and the far one stay.
        let mut later = Vec::new();
        while let Some(e) = q.next_due(ms(3_100)) {
            later.push(e.2);
        }
        assert_eq!(later, [3]);
        assert_eq!(q.pop_earliest().map(|e| e.2), Some(1));
        assert_eq!(q.len(), 0);
    }

    #[test]
    fn a_burst_second_leaves_no_large_vector_behind() {
        let mut q = DeadlineBuckets::default();
        for i in 0..5_000u32 {
            q.push((ms(1_000), i, u64::from(i)));
        }
        while q.next_due(ms(1_999)).is_some() {}
        // The next tick hands the burst's vector back: it is freed, not
        // kept for later buckets.
        q.push((ms(2_000), 1, 1));
        assert!(q.next_due(ms(2_999)).is_some());
        assert!(q.next_due(ms(2_999)).is_none());
        for s in 3..100 {
            q.push((ms(s * 1_000), 1, 1));
        }
        assert!(q.spare.iter().all(|v| v.capacity() <= SPARE_ENTRIES));
        assert!(q.buckets.values().all(|v| v.capacity() <= SPARE_ENTRIES));
        assert!(q.due.capacity() <= SPARE_ENTRIES);
    }

    #[test]
    fn retain_drops_stale_entries() {
        let mut q = DeadlineBuckets::default();
        for i in 0..100u8 {
            q.push((ms(i64::from(i) * 100), key(i), u64::from(i)));
        }
        q.retain(|e| e.2 % 2 == 0);
        assert_eq!(q.len(), 50);
        assert!(q.memory() > 0);
    }
}
