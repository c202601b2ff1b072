//! Bounded "top N" tables that stay true past their capacity: the
//! Space-Saving algorithm (Metwally, Agrawal and El Abbadi, "Efficient
//! Computation of Frequent and Top-k Elements in Data Streams", ICDT 2005),
//! weighted.
//!
//! A table of capacity `m` keeps `m` keys. A key already kept adds its
//! weight; a new key, once the table is full, replaces the key of least
//! weight and inherits that weight as its possible overcount (`error`). Any
//! key whose true weight exceeds `total / m` is guaranteed to be in the
//! table, so a heavy host that appears late is still found, which a table
//! that keeps the first `m` keys misses. The result depends only on the
//! order of the stream; the detection stage feeds it in capture order, so it
//! is the same for any number of threads. Ties break by key.

use std::collections::BTreeSet;
use std::hash::Hash;

type HashMap<K, V> = std::collections::HashMap<K, V, ahash::RandomState>;

/// Counters of one kept key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counted {
    /// The ranking weight (bytes for talkers, occurrences for names); an
    /// overestimate by at most `error`.
    pub weight: u64,
    /// A second counter carried along (packets for talkers), counted only
    /// since the key was last admitted.
    pub other: u64,
    /// How much of `weight` may belong to keys this one replaced.
    pub error: u64,
}

/// A weighted Space-Saving table.
#[derive(Debug, Clone)]
pub struct HeavyHitters<K: Ord + Hash + Clone> {
    capacity: usize,
    counts: HashMap<K, Counted>,
    /// `(weight, key)` of every kept key: the first is the one to replace.
    order: BTreeSet<(u64, K)>,
    total_weight: u64,
    replaced: u64,
}

impl<K: Ord + Hash + Clone> HeavyHitters<K> {
    /// A table keeping at most `capacity` keys (at least one).
    pub fn new(capacity: usize) -> Self {
        HeavyHitters {
            capacity: capacity.max(1),
            counts: HashMap::default(),
            order: BTreeSet::new(),
            total_weight: 0,
            replaced: 0,
        }
    }

    /// Count `weight` (and `other`) for `key`.
    pub fn add(&mut self, key: &K, weight: u64, other: u64) {
        self.total_weight = self.total_weight.saturating_add(weight);
        if let Some(c) = self.counts.get_mut(key) {
            self.order.remove(&(c.weight, key.clone()));
            c.weight = c.weight.saturating_add(weight);
            c.other = c.other.saturating_add(other);
            self.order.insert((c.weight, key.clone()));
            return;
        }
        let mut inherited = 0;
        if self.counts.len() >= self.capacity {
            if let Some((least, victim)) = self.order.pop_first() {
                self.counts.remove(&victim);
                inherited = least;
                self.replaced += 1;
            }
        }
        let c = Counted {
            weight: inherited.saturating_add(weight),
            other,
            error: inherited,
        };
        self.order.insert((c.weight, key.clone()));
        self.counts.insert(key.clone(), c);
    }

    /// The `n` heaviest keys, heaviest first, ties by key.
    pub fn top(&self, n: usize) -> Vec<(K, Counted)> {
        let mut v: Vec<(K, Counted)> = self
            .order
            .iter()
            .rev()
            .take(n.saturating_mul(2).max(n))
            .filter_map(|(_, k)| self.counts.get(k).map(|c| (k.clone(), *c)))
            .collect();
        v.sort_by(|a, b| b.1.weight.cmp(&a.1.weight).then(a.0.cmp(&b.0)));
        v.truncate(n);
        v
    }

    /// Keys replaced since the start: 0 means every count is exact.
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
        // Its weight is overestimated by at most what it inherited.
        assert!(top[0].1.weight - top[0].1.error <= 500);
        assert!(top[0].1.weight >= 500);
        assert!(t.replaced() > 0);
        assert_eq!(t.len(), 10);
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
        let bound = t.total_weight() / 20;
        let kept: Vec<u32> = t.top(20).into_iter().map(|(k, _)| k).collect();
        for (k, w) in truth {
            if w > bound {
                assert!(kept.contains(&k), "{k} ({w} > {bound}) missing");
            }
        }
    }
}
