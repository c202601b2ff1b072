//! Bounded "top N" tables that stay true past their capacity: the
//! Misra–Gries summary ("Finding repeated elements", Science of Computer
//! Programming, 1982), weighted, with decrements in batches (as in Karp,
//! Shenker and Papadimitriou, TODS 2003).
//!
//! A table of capacity `m` counts up to `2m` keys exactly. When it holds
//! `2m`, it subtracts `d`, the `(m+1)`-th largest count, from every count
//! and drops the keys that reach zero: at most `m` stay, and at least
//! `(m+1)·d` of weight was subtracted, so the decrements add up to at most
//! `total / (m+1)`. Every kept count is short of the key's true weight by at
//! most that sum (`error`), and any key heavier than `total / (m+1)` is
//! kept: a heavy host that appears late is still found, which a table that
//! keeps the first `m` keys misses. Updating a kept key is one hash lookup;
//! a batch costs `O(m)` once per `m` new keys.
//!
//! The result depends only on the order of the stream; the detection stage
//! feeds it in capture order, so it is the same for any number of threads.
//! Ties break by key.

use std::hash::Hash;
use std::net::IpAddr;

type HashMap<K, V> = std::collections::HashMap<K, V, ahash::RandomState>;

/// Counters of one kept key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counted {
    /// The ranking weight (bytes for talkers, occurrences for names): the
    /// true weight is between this and `weight + error`.
    pub weight: u64,
    /// A second counter carried along (packets for talkers), counted in
    /// full since the key was last admitted.
    pub other: u64,
    /// How much `weight` may fall short (0: exact).
    pub error: u64,
}

/// Heap bytes a key holds outside the table (a name's characters).
pub trait KeyHeap {
    /// Bytes this key owns on the heap (0 for plain values).
    fn heap_bytes(&self) -> usize {
        0
    }
}

impl KeyHeap for IpAddr {}
impl KeyHeap for (IpAddr, IpAddr) {}
#[cfg(test)]
impl KeyHeap for u32 {}
#[cfg(test)]
impl KeyHeap for &str {}
impl KeyHeap for String {
    fn heap_bytes(&self) -> usize {
        self.capacity()
    }
}

/// Bytes per slot of the hash table beside the entry itself (its control
/// byte).
const SLOT_OVERHEAD: usize = 1;

/// A weighted Misra–Gries table.
#[derive(Debug, Clone)]
pub struct HeavyHitters<K: Ord + Hash + Clone + KeyHeap> {
    capacity: usize,
    counts: HashMap<K, Counted>,
    /// Heap bytes the kept keys own.
    key_heap: usize,
    /// Everything subtracted from every count so far.
    decremented: u64,
    total_weight: u64,
    replaced: u64,
}

impl<K: Ord + Hash + Clone + KeyHeap> HeavyHitters<K> {
    /// A table keeping at least the `capacity` heaviest keys (at most twice
    /// as many at once).
    pub fn new(capacity: usize) -> Self {
        HeavyHitters {
            capacity: capacity.max(1),
            counts: HashMap::default(),
            key_heap: 0,
            decremented: 0,
            total_weight: 0,
            replaced: 0,
        }
    }

    /// Count `weight` (and `other`) for `key` (or what it borrows as: a
    /// `&str` for a `String` key, copied only when new).
    pub fn add<Q>(&mut self, key: &Q, weight: u64, other: u64)
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        self.total_weight = self.total_weight.saturating_add(weight);
        if let Some(c) = self.counts.get_mut(key) {
            c.weight = c.weight.saturating_add(weight);
            c.other = c.other.saturating_add(other);
            return;
        }
        if self.counts.len() >= 2 * self.capacity {
            self.decrement();
        }
        let key = key.to_owned();
        self.key_heap += key.heap_bytes();
        self.counts.insert(
            key,
            Counted {
                weight,
                other,
                error: 0,
            },
        );
    }

    /// Subtract the `(m+1)`-th largest count from every count; drop the
    /// keys that reach zero.
    fn decrement(&mut self) {
        let mut weights: Vec<u64> = self.counts.values().map(|c| c.weight).collect();
        let m = self.capacity.min(weights.len().saturating_sub(1));
        let (_, d, _) = weights.select_nth_unstable_by(m, |a, b| b.cmp(a));
        let d = *d;
        let before = self.counts.len();
        let mut freed = 0;
        // Into a fresh table sized for the most keys it will hold: erasing
        // in place leaves tombstones, after which hashbrown grows the table
        // (to twice the slots) rather than reuse them.
        let mut kept =
            HashMap::with_capacity_and_hasher(2 * self.capacity, self.counts.hasher().clone());
        for (k, mut c) in self.counts.drain() {
            c.weight = c.weight.saturating_sub(d);
            if c.weight > 0 {
                kept.insert(k, c);
            } else {
                freed += k.heap_bytes();
            }
        }
        self.counts = kept;
        self.key_heap = self.key_heap.saturating_sub(freed);
        self.decremented = self.decremented.saturating_add(d);
        self.replaced += (before - self.counts.len()) as u64;
    }

    /// The `n` heaviest keys, heaviest first, ties by key.
    pub fn top(&self, n: usize) -> Vec<(K, Counted)> {
        let error = self.decremented;
        let mut v: Vec<(K, Counted)> = self
            .counts
            .iter()
            .map(|(k, c)| (k.clone(), Counted { error, ..*c }))
            .collect();
        let order =
            |a: &(K, Counted), b: &(K, Counted)| b.1.weight.cmp(&a.1.weight).then(a.0.cmp(&b.0));
        if v.len() > n && n > 0 {
            v.select_nth_unstable_by(n - 1, order);
        }
        v.truncate(n);
        v.sort_by(order);
        v
    }

    /// Keys dropped since the start: 0 means every count is exact.
    pub fn replaced(&self) -> u64 {
        self.replaced
    }

    /// Weight of everything counted.
    pub fn total_weight(&self) -> u64 {
        self.total_weight
    }

    /// Keys kept now.
    pub fn len(&self) -> usize {
        self.counts.len()
    }

    /// Nothing counted.
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    /// Bytes the table holds now: its hash table's slots (a power of two,
    /// at most 7/8 full) and the keys' own heap bytes.
    pub fn memory_used(&self) -> usize {
        let slots = if self.counts.capacity() == 0 {
            0
        } else {
            (self.counts.capacity() * 8 / 7).next_power_of_two()
        };
        slots * (std::mem::size_of::<(K, Counted)>() + SLOT_OVERHEAD) + self.key_heap
    }

    /// The most bytes a table of `capacity` can hold at once, keys of
    /// `key_heap` heap bytes each: `2 × capacity` keys in a power-of-two
    /// table at most 7/8 full, twice while a decrement moves the kept keys
    /// to a fresh table, beside the counts it ranks.
    pub fn worst_case_bytes(capacity: usize, key_heap: usize) -> usize {
        let keys = 2 * capacity.max(1);
        let slots = (keys * 8 / 7 + 1).next_power_of_two();
        let table = slots * (std::mem::size_of::<(K, Counted)>() + SLOT_OVERHEAD);
        2 * table + keys * (std::mem::size_of::<u64>() + key_heap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_below_capacity() {
        let mut t = HeavyHitters::new(4);
        for (k, w) in [("a", 5), ("b", 3), ("a", 2), ("c", 1)] {
            t.add(&k, w, 1);
        }
        let top = t.top(2);
        assert_eq!(top[0].0, "a");
        assert_eq!(top[0].1.weight, 7);
        assert_eq!(top[0].1.other, 2);
        assert_eq!(top[1].0, "b");
        assert_eq!(t.replaced(), 0);
    }

    #[test]
    fn a_heavy_key_arriving_late_is_found() {
        // 1,000 light keys fill a table of 10, then one heavy key arrives.
        let mut t = HeavyHitters::new(10);
        for i in 0..1000u32 {
            t.add(&i, 1, 1);
        }
        for _ in 0..50 {
            t.add(&5000u32, 10, 1);
        }
        let top = t.top(1);
        assert_eq!(top[0].0, 5000);
        // Its true weight, 500, is within the stated bound.
        assert!(top[0].1.weight <= 500 && top[0].1.weight + top[0].1.error >= 500);
        assert!(t.replaced() > 0);
        assert!(t.len() <= 20);
    }

    #[test]
    fn guarantee_holds_on_a_skewed_stream() {
        // Every key heavier than total / capacity must be kept.
        let mut t = HeavyHitters::new(20);
        let mut truth: std::collections::BTreeMap<u32, u64> = Default::default();
        let mut x: u64 = 12345;
        for _ in 0..20_000 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let r = (x >> 33) % 1000;
            let key = if r < 300 { (r % 3) as u32 } else { r as u32 };
            t.add(&key, 1, 0);
            *truth.entry(key).or_default() += 1;
        }
        let bound = t.total_weight() / 21;
        let kept: Vec<u32> = t.top(20).into_iter().map(|(k, _)| k).collect();
        for (k, w) in truth {
            if w > bound {
                assert!(kept.contains(&k), "{k} ({w} > {bound}) missing");
            }
            if let Some((_, c)) = t.top(20).into_iter().find(|(key, _)| *key == k) {
                assert!(
                    c.weight <= w && w <= c.weight + c.error,
                    "{k}: {c:?} vs {w}"
                );
            }
        }
    }

    #[test]
    fn memory_stays_within_the_worst_case_whatever_the_keys() {
        // A million distinct addresses, as a spoofed-source flood gives.
        let capacity = 1_000;
        let mut t = HeavyHitters::new(capacity);
        let bound = HeavyHitters::<IpAddr>::worst_case_bytes(capacity, 0);
        let mut most = 0;
        for i in 0..1_000_000u32 {
            t.add(&IpAddr::from(i.to_be_bytes()), 1, 1);
            most = most.max(t.memory_used());
        }
        assert!(t.len() <= 2 * capacity);
        assert!(most <= bound, "{most} > {bound}");
        // and the estimate is not a loose one: a full table is over a third of it
        assert!(most * 3 > bound, "{most} vs {bound}");
        // the table never drifts past the size its most keys need
        assert_eq!(t.counts.capacity(), 3_584, "slots for 2,000 keys");

        let mut names = HeavyHitters::new(capacity);
        for i in 0..100_000u32 {
            names.add(&format!("host-{i}.example"), 1, 0);
        }
        let heap: usize = names.counts.keys().map(String::capacity).sum();
        assert_eq!(names.key_heap, heap, "heap bytes of the kept names");
    }
}
