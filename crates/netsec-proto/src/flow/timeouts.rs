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

/// Emptied blocks kept for reuse: at most this many, each with room for at
/// most [`SPARE_ENTRIES`] entries. A second in which a scan queued 65,000
/// deadlines must not leave a vector of that size to every later second's
/// bucket (65 MB held at 1 GB of nmap scans, counted nowhere).
const SPARE_VECTORS: usize = 32;
const SPARE_ENTRIES: usize = 1024;

/// Entries a block holds at most: a bucket's first block grows (doubling)
/// up to it, later ones are made (or taken from the spares) with room for
/// it. A second's bucket is not one vector grown by doubling: each growth
/// copied it into new memory, written cold (on a scan, storing the
/// deadlines was 6 % of the cycles), and past [`SPARE_ENTRIES`] it was freed
/// once drained. Blocks are reused, warm, by the next seconds' buckets.
const BLOCK_ENTRIES: usize = SPARE_ENTRIES;

/// One second's entries in the order queued: the concatenation of its
/// blocks, each holding at most [`BLOCK_ENTRIES`].
type Blocks = Vec<Vec<QueueEntry>>;

/// Deadlines by the second they fall in.
#[derive(Debug, Default)]
pub(crate) struct DeadlineBuckets {
    /// A hash map, for a cheap push (one lookup of an integer) …
    buckets: HashMap<i64, Blocks, ahash::RandomState>,
    /// … and its seconds in order, touched once per bucket.
    seconds: BTreeSet<i64>,
    /// Entries of due buckets not looked at yet (this tick), handed out
    /// from the end.
    due: Blocks,
    /// Entries of due buckets whose deadline is later in the current second:
    /// put back when the tick is done.
    deferred: Vec<QueueEntry>,
    /// Emptied blocks, reused for new buckets and blocks.
    spare: Vec<Vec<QueueEntry>>,
    len: usize,
}

impl DeadlineBuckets {
    /// Queue an entry.
    #[inline]
    pub fn push(&mut self, entry: QueueEntry) {
        let (deadline, slot, token) = entry;
        self.push_parts(deadline, slot, token);
    }

    /// Queue the entry `(deadline, slot, token)`, its parts passed apart:
    /// in registers, where a tuple of 24 bytes is passed through memory and
    /// read back in one piece just after the caller wrote it in three
    /// (stalling on store forwarding: most of a scan's 6 % in `push`).
    fn push_parts(&mut self, deadline: Timestamp, slot: u32, token: u64) {
        let entry = (deadline, slot, token);
        let second = deadline.secs();
        match self.buckets.get_mut(&second) {
            Some(blocks) => match blocks.last_mut() {
                // Room left, or a first block still growing to full size.
                Some(last) if last.len() < last.capacity() || last.capacity() < BLOCK_ENTRIES => {
                    last.push(entry)
                }
                _ => {
                    let mut block = self
                        .spare
                        .pop()
                        .unwrap_or_else(|| Vec::with_capacity(BLOCK_ENTRIES));
                    block.push(entry);
                    blocks.push(block);
                }
            },
            None => {
                let mut block = self.spare.pop().unwrap_or_default();
                block.push(entry);
                self.buckets.insert(second, vec![block]);
                self.seconds.insert(second);
            }
        }
        self.len += 1;
    }

    /// Take out the bucket of the earliest second, if that second is
    /// `until` or before.
    fn pop_first_bucket(&mut self, until: i64) -> Option<Blocks> {
        let first = *self.seconds.first()?;
        if first > until {
            return None;
        }
        self.seconds.pop_first();
        self.buckets.remove(&first)
    }

    /// The last entry of `blocks`, taken out; blocks emptied on the way
    /// are recycled.
    fn pop_last(&mut self, blocks: &mut Blocks) -> Option<QueueEntry> {
        loop {
            let last = blocks.last_mut()?;
            if let Some(e) = last.pop() {
                if last.is_empty() {
                    if let Some(block) = blocks.pop() {
                        self.recycle(block);
                    }
                }
                return Some(e);
            }
            if let Some(block) = blocks.pop() {
                self.recycle(block);
            }
        }
    }

    /// The next entry whose second has come at `now` (its deadline may still
    /// be later within that second: the caller gives it back with
    /// [`DeadlineBuckets::defer`]). `None` when every due entry was handed
    /// out: the deferred ones are then queued again.
    pub fn next_due(&mut self, now: Timestamp) -> Option<QueueEntry> {
        loop {
            let mut due = std::mem::take(&mut self.due);
            let next = self.pop_last(&mut due);
            self.due = due;
            if let Some(e) = next {
                self.len = self.len.saturating_sub(1);
                return Some(e);
            }
            match self.pop_first_bucket(now.secs()) {
                Some(blocks) => self.due = blocks,
                None => {
                    for e in std::mem::take(&mut self.deferred) {
                        self.push(e);
                    }
                    return None;
                }
            }
        }
    }

    /// Keep an emptied block for a later bucket, if it is small and few
    /// are kept; free it otherwise.
    fn recycle(&mut self, mut v: Vec<QueueEntry>) {
        if v.capacity() <= SPARE_ENTRIES && self.spare.len() < SPARE_VECTORS {
            v.clear();
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
        let mut due = std::mem::take(&mut self.due);
        let next = self.pop_last(&mut due);
        self.due = due;
        if let Some(e) = next {
            self.len = self.len.saturating_sub(1);
            return Some(e);
        }
        let mut blocks = self.pop_first_bucket(i64::MAX)?;
        let e = self.pop_last(&mut blocks);
        if !blocks.is_empty() {
            if let Some(second) = e.map(|e| e.0.secs()) {
                self.seconds.insert(second);
                self.buckets.insert(second, blocks);
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

    /// Keep only the entries `valid` accepts (dropping stale ones), in
    /// their order.
    pub fn retain(&mut self, mut valid: impl FnMut(&QueueEntry) -> bool) {
        let mut len = 0;
        for blocks in self.buckets.values_mut() {
            for block in blocks.iter_mut() {
                block.retain(&mut valid);
                len += block.len();
            }
            blocks.retain(|b| !b.is_empty());
        }
        self.buckets.retain(|_, blocks| !blocks.is_empty());
        let buckets = &self.buckets;
        self.seconds.retain(|s| buckets.contains_key(s));
        for block in self.due.iter_mut() {
            block.retain(&mut valid);
            len += block.len();
        }
        self.due.retain(|b| !b.is_empty());
        self.deferred.retain(&mut valid);
        self.spare.clear();
        self.len = len + self.deferred.len();
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
        assert!(q
            .buckets
            .values()
            .flatten()
            .all(|v| v.capacity() <= SPARE_ENTRIES));
        assert!(q.due.iter().all(|v| v.capacity() <= SPARE_ENTRIES));
    }

    #[test]
    fn a_second_spanning_blocks_hands_entries_out_last_queued_first() {
        let mut q = DeadlineBuckets::default();
        for i in 0..2_500u32 {
            q.push((ms(4_000), i, u64::from(i)));
        }
        // More than two blocks, none past its size.
        assert!(q.buckets.values().flatten().count() >= 3);
        assert!(q
            .buckets
            .values()
            .flatten()
            .all(|b| b.capacity() <= BLOCK_ENTRIES));
        // Eviction takes the last one queued.
        assert_eq!(q.pop_earliest().map(|e| e.1), Some(2_499));
        // Stale entries dropped, the order of the rest kept.
        q.retain(|e| e.1 % 3 == 0);
        assert_eq!(q.len(), 833);
        let mut out = Vec::new();
        while let Some(e) = q.next_due(ms(4_999)) {
            out.push(e.1);
        }
        let want: Vec<u32> = (0..2_499u32).rev().filter(|i| i % 3 == 0).collect();
        assert_eq!(out, want);
        assert_eq!(q.len(), 0);
        // The emptied blocks wait for the next buckets.
        assert!(!q.spare.is_empty());
        assert!(q.pop_earliest().is_none());
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
