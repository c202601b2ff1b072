//! TCP stream reassembly for one direction of a connection.
//!
//! Policy (documented because every reassembler must choose one):
//! - **In order**: bytes are delivered once, in sequence order.
//! - **Retransmissions** (segments entirely below the next expected byte)
//!   are dropped and counted.
//! - **Overlaps** are resolved *first wins*: bytes already delivered or
//!   already buffered are kept, only the new tail of an overlapping segment
//!   is used. This is the "BSD"-like choice Suricata makes by default for
//!   unknown hosts, and it cannot be steered by an attacker re-sending
//!   different bytes for a range already seen.
//! - **Out of order** segments are buffered, up to
//!   [`MAX_OUT_OF_ORDER_BYTES`] per direction. When that is exceeded, or the
//!   flow ends, the hole is declared a **gap**: its length is reported (to
//!   the parser and in the flow record) and delivery resumes after it.
//! - **Mid-stream pick-up**: with no SYN seen, the first segment with data
//!   sets the starting sequence number.
//! - **Depth**: after `depth` bytes a direction is no longer reassembled.

use std::collections::BTreeMap;

/// Out-of-order bytes buffered per direction before a gap is declared.
pub const MAX_OUT_OF_ORDER_BYTES: usize = 256 * 1024;
/// Segments starting further than this beyond the next expected byte are
/// taken as a gap at once (a window far larger than any real one).
const MAX_AHEAD: u32 = 16 * 1024 * 1024;

/// What reassembly hands to the consumer.
#[derive(Debug)]
pub enum Chunk<'a> {
    /// Bytes in order.
    Data(&'a [u8]),
    /// This many bytes are missing.
    Gap(u64),
}

/// Counters of one direction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamStats {
    /// Bytes delivered.
    pub delivered: u64,
    /// Bytes declared missing.
    pub gap_bytes: u64,
    /// Segments entirely already seen.
    pub retransmissions: u64,
    /// Segments partly overlapping delivered or buffered data.
    pub overlaps: u64,
}

/// One direction of a TCP stream.
#[derive(Debug, Default)]
pub struct Stream {
    /// Next expected sequence number, once known.
    next: Option<u32>,
    /// Buffered out-of-order segments by sequence number (relative to `next`'s frame).
    pending: BTreeMap<u32, Vec<u8>>,
    pending_bytes: usize,
    /// Stop after this many delivered bytes (0 = no limit).
    depth: u64,
    done: bool,
    /// Counters.
    pub stats: StreamStats,
}

/// `a - b` in sequence space, as a signed distance.
fn seq_diff(a: u32, b: u32) -> i64 {
    i64::from(a.wrapping_sub(b) as i32)
}

impl Stream {
    /// A stream that stops after `depth` bytes (0 = unlimited).
    pub fn new(depth: u64) -> Self {
        Stream {
            depth,
            ..Stream::default()
        }
    }

    /// Whether reassembly has stopped (depth reached or [`Stream::stop`] called).
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Stop reassembling and free buffers.
    pub fn stop(&mut self) {
        self.done = true;
        self.pending.clear();
        self.pending_bytes = 0;
    }

    /// A SYN (or SYN+ACK) with sequence number `seq` was seen: data starts at `seq + 1`.
    pub fn syn(&mut self, seq: u32) {
        if self.next.is_none() {
            self.next = Some(seq.wrapping_add(1));
        }
    }

    /// Bytes currently buffered out of order.
    pub fn buffered(&self) -> usize {
        self.pending_bytes
    }

    /// Add a segment; in-order bytes and gaps go to `out`.
    pub fn segment(&mut self, seq: u32, data: &[u8], out: &mut dyn FnMut(Chunk<'_>)) {
        if self.done || data.is_empty() {
            return;
        }
        let next = *self.next.get_or_insert(seq);
        let offset = seq_diff(seq, next);
        let end = offset + data.len() as i64;
        if end <= 0 {
            self.stats.retransmissions += 1;
            return;
        }
        if offset <= 0 {
            if offset < 0 {
                self.stats.overlaps += 1;
            }
            let fresh = data.get((-offset) as usize..).unwrap_or(&[]);
            self.deliver(fresh, out);
            self.drain(out);
            return;
        }
        // Ahead of the next expected byte: buffer, first wins on overlap.
        if offset > i64::from(MAX_AHEAD) {
            self.gap_to(seq, out);
            self.deliver(data, out);
            self.drain(out);
            return;
        }
        match self.pending.get(&seq) {
            Some(existing) if existing.len() >= data.len() => {
                self.stats.retransmissions += 1;
            }
            _ => {
                if let Some(old) = self.pending.insert(seq, data.to_vec()) {
                    self.pending_bytes -= old.len();
                    self.stats.overlaps += 1;
                }
                self.pending_bytes += data.len();
            }
        }
        if self.pending_bytes > MAX_OUT_OF_ORDER_BYTES {
            self.flush_gaps(out);
        }
    }

    /// Declare every hole a gap and deliver what is buffered (at flow end,
    /// or when the buffer is full).
    pub fn flush_gaps(&mut self, out: &mut dyn FnMut(Chunk<'_>)) {
        while let Some(&seq) = self.pending.keys().next() {
            self.gap_to(seq, out);
            self.drain(out);
            if self.done {
                break;
            }
        }
    }

    fn gap_to(&mut self, seq: u32, out: &mut dyn FnMut(Chunk<'_>)) {
        if let Some(next) = self.next {
            let missing = seq_diff(seq, next);
            if missing > 0 {
                self.stats.gap_bytes += missing as u64;
                out(Chunk::Gap(missing as u64));
                self.next = Some(seq);
            }
        }
    }

    fn deliver(&mut self, data: &[u8], out: &mut dyn FnMut(Chunk<'_>)) {
        if data.is_empty() || self.done {
            return;
        }
        let mut data = data;
        if self.depth > 0 {
            let room = self.depth.saturating_sub(self.stats.delivered);
            if (data.len() as u64) >= room {
                data = data.get(..room as usize).unwrap_or(data);
                self.done = true;
            }
        }
        if let Some(n) = self.next.as_mut() {
            *n = n.wrapping_add(data.len() as u32);
        }
        self.stats.delivered += data.len() as u64;
        if !data.is_empty() {
            out(Chunk::Data(data));
        }
        if self.done {
            self.stop();
        }
    }

    /// Deliver buffered segments that have become in order.
    fn drain(&mut self, out: &mut dyn FnMut(Chunk<'_>)) {
        loop {
            let Some(next) = self.next else { return };
            let Some((&seq, _)) = self.pending.iter().next() else {
                return;
            };
            let offset = seq_diff(seq, next);
            if offset > 0 {
                return;
            }
            let Some(seg) = self.pending.remove(&seq) else {
                return;
            };
            self.pending_bytes -= seg.len();
            let skip = (-offset) as usize;
            if skip >= seg.len() {
                self.stats.retransmissions += 1;
                continue;
            }
            if skip > 0 {
                self.stats.overlaps += 1;
            }
            let tail = seg.get(skip..).unwrap_or(&[]);
            self.deliver(tail, out);
            if self.done {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(stream: &mut Stream, segs: &[(u32, &[u8])]) -> (Vec<u8>, u64) {
        let mut data = Vec::new();
        let mut gaps = 0;
        for (seq, d) in segs {
            stream.segment(*seq, d, &mut |c| match c {
                Chunk::Data(b) => data.extend_from_slice(b),
                Chunk::Gap(n) => gaps += n,
            });
        }
        (data, gaps)
    }

    #[test]
    fn in_order_and_retransmission() {
        let mut s = Stream::new(0);
        s.syn(99);
        let (d, g) = run(
            &mut s,
            &[(100, b"hello "), (106, b"world"), (100, b"hello ")],
        );
        assert_eq!(d, b"hello world");
        assert_eq!(g, 0);
        assert_eq!(s.stats.retransmissions, 1);
    }

    #[test]
    fn out_of_order_is_reordered() {
        let mut s = Stream::new(0);
        s.syn(0);
        let (d, _) = run(&mut s, &[(7, b"world"), (1, b"hello ")]);
        assert_eq!(d, b"hello world");
    }

    #[test]
    fn overlap_first_wins() {
        let mut s = Stream::new(0);
        s.syn(0);
        // "abcdef" then a segment rewriting "def" as "XYZ" and adding "gh".
        let (d, _) = run(&mut s, &[(1, b"abcdef"), (4, b"XYZgh")]);
        assert_eq!(d, b"abcdefgh");
        assert_eq!(s.stats.overlaps, 1);
    }

    #[test]
    fn gap_is_reported_at_flush() {
        let mut s = Stream::new(0);
        s.syn(0);
        let (d, _) = run(&mut s, &[(1, b"abc"), (10, b"xyz")]);
        assert_eq!(d, b"abc");
        let mut out = Vec::new();
        let mut gaps = 0;
        s.flush_gaps(&mut |c| match c {
            Chunk::Data(b) => out.extend_from_slice(b),
            Chunk::Gap(n) => gaps += n,
        });
        assert_eq!(gaps, 6);
        assert_eq!(out, b"xyz");
        assert_eq!(s.stats.gap_bytes, 6);
    }

    #[test]
    fn mid_stream_pickup_and_depth() {
        let mut s = Stream::new(5);
        let (d, _) = run(&mut s, &[(5000, b"abc"), (5003, b"defgh")]);
        assert_eq!(d, b"abcde");
        assert!(s.is_done());
    }

    #[test]
    fn sequence_wraparound() {
        let mut s = Stream::new(0);
        s.syn(u32::MAX - 2);
        let (d, _) = run(&mut s, &[(u32::MAX - 1, b"ab"), (0, b"cd")]);
        assert_eq!(d, b"abcd");
    }

    #[test]
    fn out_of_order_buffer_is_bounded() {
        let mut s = Stream::new(0);
        s.syn(0);
        let big = vec![7u8; 64 * 1024];
        let mut gaps = 0;
        for i in 0..10u32 {
            s.segment(1000 + i * 70_000, &big, &mut |c| {
                if let Chunk::Gap(n) = c {
                    gaps += n;
                }
            });
            assert!(s.buffered() <= MAX_OUT_OF_ORDER_BYTES + big.len());
        }
        assert!(gaps > 0);
    }
}
