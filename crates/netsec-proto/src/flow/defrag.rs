//! Bounded IPv4 and IPv6 fragment reassembly.
//!
//! Overlap policy: first wins (bytes already received for a datagram are
//! kept), matching the stream policy in [`crate::reassembly`]. Limits: at
//! most [`MAX_DATAGRAMS`] datagrams in progress, each at most 65,535 bytes,
//! dropped [`FRAGMENT_TIMEOUT_SECS`] seconds after their first fragment
//! (Linux's `ipfrag_time` default).

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

use netsec_model::{Duration, Timestamp};

use crate::decode::Fragment;

/// Datagrams being reassembled at once.
pub const MAX_DATAGRAMS: usize = 4096;
/// Seconds a datagram may take to complete.
pub const FRAGMENT_TIMEOUT_SECS: i64 = 30;
/// Largest datagram (IPv4 total length; IPv6 payload without jumbograms).
const MAX_DATAGRAM_BYTES: u32 = 65_535;

/// Source, destination, identification, protocol (RFC 791 §3.2; RFC 8200
/// §4.5 keys IPv6 on the addresses and the 32-bit identification).
type Key = (IpAddr, IpAddr, u32, u8);

#[derive(Debug)]
struct Datagram {
    first_seen: Timestamp,
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
#[derive(Debug, Default)]
pub struct Defragmenter {
    pending: HashMap<Key, Datagram>,
    order: VecDeque<(Timestamp, Key)>,
    /// Counters.
    pub stats: DefragStats,
}

impl Defragmenter {
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
            if self.pending.len() >= MAX_DATAGRAMS {
                while let Some((_, old)) = self.order.pop_front() {
                    if self.pending.remove(&old).is_some() {
                        self.stats.evicted += 1;
                        break;
                    }
                }
            }
            self.pending.insert(
                key,
                Datagram {
                    first_seen: ts,
                    buf: Vec::new(),
                    have: Vec::new(),
                    total: None,
                },
            );
            self.order.push_back((ts, key));
        }
        let dg = self.pending.get_mut(&key)?;
        dg.add(f.offset, f.data, !f.more);
        if dg.complete() {
            let mut dg = self.pending.remove(&key)?;
            self.stats.reassembled += 1;
            let total = dg.total.unwrap_or(0) as usize;
            dg.buf.truncate(total);
            return Some(dg.buf);
        }
        None
    }

    fn expire(&mut self, now: Timestamp) {
        let timeout = Duration::from_secs(FRAGMENT_TIMEOUT_SECS);
        while let Some(&(first, key)) = self.order.front() {
            if now.since(first) < timeout {
                break;
            }
            self.order.pop_front();
            if let Some(dg) = self.pending.get(&key) {
                if dg.first_seen == first {
                    self.pending.remove(&key);
                    self.stats.timed_out += 1;
                }
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
}
