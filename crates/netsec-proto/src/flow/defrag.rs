//! Bounded IPv4 and IPv6 fragment reassembly.
//!
//! Overlap policy: first wins (bytes already received for a datagram are
//! kept), matching the stream policy in [`crate::reassembly`]. Limits: at
//! most [`MAX_DATAGRAMS`] datagrams in progress and [`MAX_BUFFERED_BYTES`]
//! buffered (the oldest datagram is dropped to make room; an engine sets a
//! share of its memory budget instead), each at most 65,535 bytes, dropped
//! [`FRAGMENT_TIMEOUT_SECS`] seconds after their first fragment (Linux's
//! `ipfrag_time` default). A completed datagram leaves at once; its entry
//! in the age queue is compacted away with the others, so neither a frozen
//! clock (pcapng Simple Packet Blocks carry no timestamp) nor a flood of
//! completed datagrams grows the queue.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

use netsec_model::{Duration, Timestamp};

use crate::decode::Fragment;

/// Datagrams being reassembled at once.
pub const MAX_DATAGRAMS: usize = 4096;
/// Bytes buffered for datagrams in progress, by default.
pub const MAX_BUFFERED_BYTES: usize = 16 * 1024 * 1024;
/// Seconds a datagram may take to complete.
pub const FRAGMENT_TIMEOUT_SECS: i64 = 30;
/// Largest datagram (IPv4 total length; IPv6 payload without jumbograms).
const MAX_DATAGRAM_BYTES: u32 = 65_535;

/// Source, destination, identification, protocol (RFC 791 §3.2; RFC 8200
/// §4.5 keys IPv6 on the addresses and the 32-bit identification).
type Key = (IpAddr, IpAddr, u32, u8);

#[derive(Debug)]
struct Datagram {
    /// Unique for the reassembler's life: tells this datagram's age-queue
    /// entry from a stale one of an earlier datagram with the same key.
    id: u64,
    /// Heap bytes held, as last added to the reassembler's tally.
    mem: usize,
    buf: Vec<u8>,
    /// Received byte ranges, sorted and merged.
    have: Vec<(u32, u32)>,
    /// Total length, once the last fragment arrived.
    total: Option<u32>,
}

impl Datagram {
    fn add(&mut self, offset: u32, data: &[u8], last: bool) {
        let end = offset
            .saturating_add(data.len() as u32)
            .min(MAX_DATAGRAM_BYTES);
        if end <= offset {
            return;
        }
        if last {
            self.total = Some(end);
        }
        if self.buf.len() < end as usize {
            self.buf.resize(end as usize, 0);
        }
        // Copy only the parts of [offset, end) not yet received (first wins).
        let mut cursor = offset;
        let mut missing = Vec::new();
        for &(s, e) in &self.have {
            if e <= cursor {
                continue;
            }
            if s >= end {
                break;
            }
            if s > cursor {
                missing.push((cursor, s.min(end)));
            }
            cursor = cursor.max(e);
        }
        if cursor < end {
            missing.push((cursor, end));
        }
        for (s, e) in missing {
            let src = data.get((s - offset) as usize..(e - offset) as usize);
            let dst = self.buf.get_mut(s as usize..e as usize);
            if let (Some(src), Some(dst)) = (src, dst) {
                dst.copy_from_slice(src);
            }
            self.have.push((s, e));
        }
        self.have.sort_unstable();
        let mut merged: Vec<(u32, u32)> = Vec::with_capacity(self.have.len());
        for &(s, e) in &self.have {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        self.have = merged;
    }

    fn heap_bytes(&self) -> usize {
        self.buf.capacity() + self.have.capacity() * std::mem::size_of::<(u32, u32)>()
    }

    fn complete(&self) -> bool {
        matches!((self.total, self.have.first()), (Some(t), Some(&(0, e))) if self.have.len() == 1 && e >= t)
    }
}

/// Counters of the reassembler.
#[derive(Debug, Clone, Copy, Default)]
pub struct DefragStats {
    /// Fragments received.
    pub fragments: u64,
    /// Datagrams completed.
    pub reassembled: u64,
    /// Datagrams dropped incomplete after the timeout.
    pub timed_out: u64,
    /// Datagrams dropped because the table was full.
    pub evicted: u64,
}

/// Fragments in progress, IPv4 and IPv6.
#[derive(Debug)]
pub struct Defragmenter {
    pending: HashMap<Key, Datagram>,
    /// Datagrams by age: first fragment's time, key, datagram id.
    order: VecDeque<(Timestamp, Key, u64)>,
    next_id: u64,
    /// Heap bytes of the datagrams in `pending`.
    bytes: usize,
    max_datagrams: usize,
    max_bytes: usize,
    /// Counters.
    pub stats: DefragStats,
}

impl Default for Defragmenter {
    fn default() -> Self {
        Defragmenter::with_limits(MAX_DATAGRAMS, MAX_BUFFERED_BYTES)
    }
}

impl Defragmenter {
    /// A reassembler holding at most `max_datagrams` datagrams in progress
    /// and `max_bytes` of their data (at least one datagram is always kept).
    pub fn with_limits(max_datagrams: usize, max_bytes: usize) -> Self {
        Defragmenter {
            pending: HashMap::new(),
            order: VecDeque::new(),
            next_id: 0,
            bytes: 0,
            max_datagrams: max_datagrams.max(1),
            max_bytes,
            stats: DefragStats::default(),
        }
    }

    /// Datagrams in progress.
    pub fn in_progress(&self) -> usize {
        self.pending.len()
    }

    /// Heap bytes held: buffered data, the table and the age queue. O(1).
    pub fn memory(&self) -> usize {
        self.bytes
            + self.pending.capacity() * (std::mem::size_of::<(Key, Datagram)>() + 1)
            + self.order.capacity() * std::mem::size_of::<(Timestamp, Key, u64)>()
    }

    /// Add a fragment; the whole datagram when this one completes it.
    pub fn add(
        &mut self,
        ts: Timestamp,
        src: IpAddr,
        dst: IpAddr,
        f: &Fragment<'_>,
    ) -> Option<Vec<u8>> {
        self.stats.fragments += 1;
        self.expire(ts);
        let key = (src, dst, f.id, f.protocol);
        if !self.pending.contains_key(&key) {
            if self.pending.len() >= self.max_datagrams {
                self.evict_oldest();
            }
            self.next_id += 1;
            self.pending.insert(
                key,
                Datagram {
                    id: self.next_id,
                    mem: 0,
                    buf: Vec::new(),
                    have: Vec::new(),
                    total: None,
                },
            );
            self.order.push_back((ts, key, self.next_id));
            self.maybe_compact();
        }
        let dg = self.pending.get_mut(&key)?;
        dg.add(f.offset, f.data, !f.more);
        let mem = dg.heap_bytes();
        self.bytes = self.bytes + mem - dg.mem;
        dg.mem = mem;
        if dg.complete() {
            let mut dg = self.pending.remove(&key)?;
            self.bytes -= dg.mem;
            self.stats.reassembled += 1;
            let total = dg.total.unwrap_or(0) as usize;
            dg.buf.truncate(total);
            return Some(dg.buf);
        }
        while self.bytes > self.max_bytes && self.pending.len() > 1 {
            if !self.evict_oldest() {
                break;
            }
        }
        None
    }

    /// Drop the oldest datagram in progress (to make room). False when none is left.
    pub fn evict_oldest(&mut self) -> bool {
        while let Some((_, key, id)) = self.order.pop_front() {
            if self.pending.get(&key).is_some_and(|d| d.id == id) {
                if let Some(d) = self.pending.remove(&key) {
                    self.bytes -= d.mem;
                }
                self.stats.evicted += 1;
                return true;
            }
        }
        false
    }

    /// Drop stale age-queue entries (datagrams completed or dropped) once
    /// they outnumber the live ones: amortised O(1) per datagram.
    fn maybe_compact(&mut self) {
        if self.order.len() <= 2 * self.pending.len() + 64 {
            return;
        }
        let pending = &self.pending;
        self.order
            .retain(|(_, key, id)| pending.get(key).is_some_and(|d| d.id == *id));
    }

    fn expire(&mut self, now: Timestamp) {
        let timeout = Duration::from_secs(FRAGMENT_TIMEOUT_SECS);
        while let Some(&(first, key, id)) = self.order.front() {
            if now.since(first) < timeout {
                break;
            }
            self.order.pop_front();
            if self.pending.get(&key).is_some_and(|d| d.id == id) {
                if let Some(d) = self.pending.remove(&key) {
                    self.bytes -= d.mem;
                }
                self.stats.timed_out += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frag(offset: u32, more: bool, data: &[u8]) -> Fragment<'_> {
        Fragment {
            id: 7,
            offset,
            more,
            protocol: 17,
            data,
        }
    }

    #[test]
    fn reassembles_out_of_order_with_first_wins() {
        let mut d = Defragmenter::default();
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let t = Timestamp::from_secs_nanos(1, 0);
        assert!(d.add(t, a, b, &frag(8, false, b"IJKLMNOP")).is_none());
        // Overlapping rewrite of bytes 4..12: only 4..8 is new.
        assert!(d.add(t, a, b, &frag(4, true, b"xxxxZZZZ")).is_none());
        let whole = d.add(t, a, b, &frag(0, true, b"ABCD")).unwrap();
        assert_eq!(whole, b"ABCDxxxxIJKLMNOP");
        assert_eq!(d.stats.reassembled, 1);
    }

    #[test]
    fn incomplete_datagrams_time_out() {
        let mut d = Defragmenter::default();
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        d.add(
            Timestamp::from_secs_nanos(1, 0),
            a,
            a,
            &frag(0, true, b"ABCD"),
        );
        d.add(
            Timestamp::from_secs_nanos(100, 0),
            a,
            a,
            &Fragment {
                id: 8,
                ..frag(0, true, b"x")
            },
        );
        assert_eq!(d.stats.timed_out, 1);
    }

    /// With the clock frozen, completed datagrams leave no trace and
    /// incomplete ones are bounded by count and bytes.
    #[test]
    fn frozen_clock_stays_bounded() {
        let mut d = Defragmenter::with_limits(100, 64 * 1024);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let t = Timestamp::ZERO;
        for id in 0..50_000u32 {
            let f = |offset, more, data| Fragment {
                id,
                offset,
                more,
                protocol: 17,
                data,
            };
            assert!(d.add(t, a, a, &f(0, true, &[1u8; 1000])).is_none());
            if id % 2 == 0 {
                assert!(d.add(t, a, a, &f(1000, false, &[2u8; 8])).is_some());
            }
            assert!(d.in_progress() <= 100);
            assert!(d.bytes <= 64 * 1024 + 2000);
            assert!(d.order.len() <= 2 * d.pending.len() + 65);
        }
        assert_eq!(d.stats.reassembled, 25_000);
        assert!(d.stats.evicted >= 24_900);
        assert!(d.memory() < 1024 * 1024, "{}", d.memory());
    }
}
