//! A bounded map for detector state: a capacity, expiry of idle entries on
//! `on_tick`, and a count of what was evicted to stay within the capacity.
//!
//! Iteration order is deterministic (aHash with fixed seeds, no random
//! state), so one capture gives the same findings on every run; aHash rather
//! than SipHash because every packet costs a lookup or two.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, Hash};

use netsec_model::{Duration, Timestamp};
use smallvec::SmallVec;

type Map<K, V> = HashMap<K, Slot<V>, FixedState>;

/// aHash seeded with constants: the same hashes, hence the same iteration
/// and eviction order, on every run and machine of one build.
#[derive(Debug, Clone)]
pub struct FixedState(ahash::RandomState);

impl Default for FixedState {
    fn default() -> Self {
        FixedState(ahash::RandomState::with_seeds(
            0x243f_6a88_85a3_08d3,
            0x1319_8a2e_0370_7344,
            0xa409_3822_299f_31d0,
            0x082e_fa98_ec4e_6c89,
        ))
    }
}

impl BuildHasher for FixedState {
    type Hasher = ahash::AHasher;
    fn build_hasher(&self) -> ahash::AHasher {
        self.0.build_hasher()
    }
}

/// Bytes a hash table spends per entry beyond the entry (control byte,
/// load factor 7/8, the hash): an estimate.
const TABLE_OVERHEAD: usize = 16;

/// Heap an entry's value holds in the common case (a flow reference with its
/// Community ID, a few set items): an estimate.
const TYPICAL_HEAP: usize = 160;

#[derive(Debug, Clone)]
struct Slot<V> {
    last_seen: Timestamp,
    /// `last_seen` when the entry last joined the eviction queue.
    queued_seen: Timestamp,
    /// Which creation of its key this entry is (queue items of an earlier
    /// one are stale).
    stamp: u64,
    value: V,
}

/// Detector state by key, at most `capacity` entries.
#[derive(Debug, Clone)]
pub struct BoundedTable<K, V> {
    map: Map<K, V>,
    /// Keys in the order they were queued (created, or seen again since
    /// they were last queued): the eviction order. A full table pops the
    /// front; an entry seen since it was queued goes to the back instead of
    /// out (a second chance, as CLOCK gives), so eviction is least recently
    /// seen first at O(1) amortised per insertion, whatever the table's
    /// churn. (A sample of the first entries in the hash table's order,
    /// before, cost a walk over ever more emptied buckets under a scan of
    /// every port.)
    queue: VecDeque<(K, u64)>,
    stamps: u64,
    capacity: usize,
    entry_bytes: usize,
    /// When the next expiry sweep is due: every tenth of the idle timeout
    /// (at least a second), not every tick, since a sweep visits every entry.
    next_sweep: Option<Timestamp>,
    idle: Duration,
    evicted: u64,
    expired: u64,
}

impl<K: Hash + Eq + Clone + Ord, V> BoundedTable<K, V> {
    /// An empty table holding at most `capacity` entries (at least one),
    /// each dropped once idle for longer than `idle`.
    pub fn new(capacity: usize, idle: Duration) -> Self {
        BoundedTable {
            map: Map::with_hasher(FixedState::default()),
            queue: VecDeque::new(),
            stamps: 0,
            capacity: capacity.max(1),
            entry_bytes: Self::fixed_entry_bytes() + TYPICAL_HEAP,
            next_sweep: None,
            idle,
            evicted: 0,
            expired: 0,
        }
    }

    /// Count `bytes` of heap per entry in the estimate instead of the
    /// default (for values holding lists: sessions, connection times).
    pub fn with_heap(mut self, bytes: usize) -> Self {
        self.entry_bytes = Self::fixed_entry_bytes() + bytes;
        self
    }

    /// An entry's bytes besides its value's heap: the hash table's slot and
    /// overhead, and its queue items (up to two while stale ones wait for
    /// compaction).
    fn fixed_entry_bytes() -> usize {
        std::mem::size_of::<(K, Slot<V>)>() + TABLE_OVERHEAD + 2 * std::mem::size_of::<(K, u64)>()
    }

    /// The entry for `key`, created with `make` (evicting the least recently
    /// seen when full), its last-seen time set to `now`.
    pub fn touch(&mut self, key: K, now: Timestamp, make: impl FnOnce() -> V) -> &mut V {
        if self.map.len() >= self.capacity && !self.map.contains_key(&key) {
            self.evict_one();
        }
        let slot = match self.map.entry(key) {
            Entry::Occupied(o) => o.into_mut(),
            Entry::Vacant(v) => {
                self.stamps += 1;
                self.queue.push_back((v.key().clone(), self.stamps));
                v.insert(Slot {
                    last_seen: now,
                    queued_seen: now,
                    stamp: self.stamps,
                    value: make(),
                })
            }
        };
        if now > slot.last_seen {
            slot.last_seen = now;
        }
        &mut slot.value
    }

    /// Whether `key` is tracked.
    pub fn contains(&self, key: &K) -> bool {
        self.map.contains_key(key)
    }

    /// The entry for `key`, if tracked, without touching it.
    pub fn get(&self, key: &K) -> Option<&V> {
        self.map.get(key).map(|s| &s.value)
    }

    /// The entry for `key`, if tracked, mutable, without touching it.
    pub fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        self.map.get_mut(key).map(|s| &mut s.value)
    }

    /// Every entry, in no particular (but deterministic) order.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.map.iter().map(|(k, s)| (k, &s.value))
    }

    /// Every entry, mutable, in no particular (but deterministic) order,
    /// without touching them.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&K, &mut V)> {
        self.map.iter_mut().map(|(k, s)| (k, &mut s.value))
    }

    /// Forget `key`.
    pub fn remove(&mut self, key: &K) -> Option<V> {
        let gone = self.map.remove(key).map(|s| s.value);
        self.compact_queue();
        gone
    }

    /// Drop the least recently seen entry (see `queue`).
    fn evict_one(&mut self) {
        while let Some((key, stamp)) = self.queue.pop_front() {
            let Entry::Occupied(mut entry) = self.map.entry(key) else {
                continue; // removed or expired since
            };
            let slot = entry.get_mut();
            if slot.stamp != stamp {
                continue; // a later creation of the key has its own item
            }
            if slot.last_seen > slot.queued_seen {
                slot.queued_seen = slot.last_seen;
                self.queue.push_back((entry.key().clone(), stamp));
                continue;
            }
            entry.remove();
            self.evicted += 1;
            return;
        }
    }

    /// Drop the queue items of entries gone, once they outnumber the live
    /// ones: the queue stays within twice the table.
    fn compact_queue(&mut self) {
        if self.queue.len() <= 2 * self.map.len() + 64 {
            return;
        }
        let map = &self.map;
        self.queue
            .retain(|(key, stamp)| map.get(key).is_some_and(|s| s.stamp == *stamp));
    }

    /// Remove and return, in key order, every entry idle for longer than the
    /// idle timeout at `now`; sweeps at most every tenth of the timeout (at
    /// least a second), so an entry may outlive its timeout by that much.
    pub fn expire(&mut self, now: Timestamp) -> Vec<(K, V)> {
        if self.next_sweep.is_some_and(|t| now < t) {
            return Vec::new();
        }
        let step = Duration::from_nanos(self.idle.as_nanos() / 10).max(Duration::from_secs(1));
        self.next_sweep = Some(now + step);
        let idle = self.idle;
        let mut keys: Vec<K> = self
            .map
            .iter()
            .filter(|(_, s)| now.since(s.last_seen) > idle)
            .map(|(k, _)| k.clone())
            .collect();
        keys.sort_unstable();
        let out: Vec<(K, V)> = keys
            .into_iter()
            .filter_map(|k| self.map.remove(&k).map(|s| (k, s.value)))
            .collect();
        self.expired += out.len() as u64;
        self.compact_queue();
        out
    }

    /// What is over: every entry at the end of input (`all`), else those
    /// idle past the timeout at `now`; in key order.
    pub fn ended(&mut self, all: bool, now: Timestamp) -> Vec<(K, V)> {
        if all {
            self.drain_sorted()
        } else {
            self.expire(now)
        }
    }

    /// Remove and return every entry, in key order (end of input).
    pub fn drain_sorted(&mut self) -> Vec<(K, V)> {
        // Sort the keys, not the entries: values are large, keys are unique.
        let mut keys: Vec<K> = self.map.keys().cloned().collect();
        keys.sort_unstable();
        self.queue.clear();
        keys.into_iter()
            .filter_map(|k| self.map.remove(&k).map(|s| (k, s.value)))
            .collect()
    }

    /// Entries tracked now.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether nothing is tracked.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Entries dropped because the table was full.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    /// Bytes held now, estimated as entries times their size.
    pub fn memory_used(&self) -> usize {
        self.map.len().saturating_mul(self.entry_bytes)
    }

    /// Hold at most `bytes` (never more entries than the configured
    /// capacity, never fewer than one), evicting the least recently seen
    /// down to it.
    pub fn limit_bytes(&mut self, bytes: usize) {
        self.capacity = self.capacity.min((bytes / self.entry_bytes.max(1)).max(1));
        while self.map.len() > self.capacity {
            let before = self.map.len();
            self.evict_one();
            if self.map.len() == before {
                break;
            }
        }
    }

    /// Most entries held.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Entries dropped because they were idle.
    pub fn expired(&self) -> u64 {
        self.expired
    }
}

/// What a detector's tables hold, for [`share_budget`].
pub trait Footprint {
    /// Bytes held now (estimate).
    fn memory_used(&self) -> usize;
    /// Hold at most this many bytes.
    fn limit_bytes(&mut self, bytes: usize);
}

impl<K: Hash + Eq + Clone + Ord, V> Footprint for BoundedTable<K, V> {
    fn memory_used(&self) -> usize {
        BoundedTable::memory_used(self)
    }
    fn limit_bytes(&mut self, bytes: usize) {
        BoundedTable::limit_bytes(self, bytes);
    }
}

/// Split a detector's memory budget evenly between its tables.
pub fn share_budget(tables: &mut [&mut dyn Footprint], bytes: usize) {
    let each = bytes / tables.len().max(1);
    for t in tables.iter_mut() {
        t.limit_bytes(each);
    }
}

/// Bytes its tables hold, in all.
pub fn footprint(tables: &[&dyn Footprint]) -> usize {
    tables.iter().map(|t| t.memory_used()).sum()
}

/// A set of at most `cap` distinct values, counting the distinct values it
/// saw beyond the cap as well as it can (every value not already kept
/// counts, so the count is an upper bound once the cap is reached).
#[derive(Debug, Clone)]
pub struct CappedSet<T> {
    /// Two items inline: most sets of a scan or a flood (the hosts of one
    /// port, the ports of one victim) hold one, and were a heap allocation
    /// made and freed per probe.
    items: SmallVec<[T; 2]>,
    overflow: u64,
}

impl<T> Default for CappedSet<T> {
    fn default() -> Self {
        CappedSet {
            items: SmallVec::new(),
            overflow: 0,
        }
    }
}

impl<T: PartialEq + Ord + Copy> CappedSet<T> {
    /// Add `item`; true when it was not yet kept.
    pub fn insert(&mut self, item: T, cap: usize) -> bool {
        match self.items.binary_search(&item) {
            Ok(_) => false,
            Err(pos) if self.items.len() < cap => {
                self.items.insert(pos, item);
                true
            }
            Err(_) => {
                self.overflow += 1;
                true
            }
        }
    }

    /// Whether `item` is kept.
    pub fn contains(&self, item: &T) -> bool {
        self.items.binary_search(item).is_ok()
    }

    /// Distinct values seen (kept plus overflow).
    pub fn count(&self) -> u64 {
        self.items.len() as u64 + self.overflow
    }

    /// The values kept, sorted.
    pub fn items(&self) -> &[T] {
        &self.items
    }
}

/// Ports a [`PortSet`] keeps in its sorted list before it takes a bitmap.
const PORT_LIST_MAX: usize = 128;

/// The distinct ports of an activity, exactly: a sorted list while short
/// (256 bytes at most), a bitmap of all 65,536 ports (8 KiB) past that,
/// where inserting a port of a scan in random order shifted up to 4,096
/// kept ports.
#[derive(Debug, Clone, Default)]
pub struct PortSet {
    list: SmallVec<[u16; 4]>,
    bits: Option<Box<[u64; 1024]>>,
    count: u64,
}

impl PortSet {
    /// Add `port`; true when it is new.
    pub fn insert(&mut self, port: u16) -> bool {
        if let Some(bits) = self.bits.as_deref_mut() {
            let (word, bit) = (usize::from(port >> 6), 1u64 << (port & 63));
            let Some(w) = bits.get_mut(word) else {
                return false;
            };
            if *w & bit != 0 {
                return false;
            }
            *w |= bit;
            self.count += 1;
            return true;
        }
        let Err(pos) = self.list.binary_search(&port) else {
            return false;
        };
        self.list.insert(pos, port);
        self.count += 1;
        if self.list.len() > PORT_LIST_MAX {
            let mut bits = Box::new([0u64; 1024]);
            for p in self.list.drain(..) {
                if let Some(w) = bits.get_mut(usize::from(p >> 6)) {
                    *w |= 1u64 << (p & 63);
                }
            }
            self.list = SmallVec::new();
            self.bits = Some(bits);
        }
        true
    }

    /// Whether `port` is in the set.
    pub fn contains(&self, port: u16) -> bool {
        match self.bits.as_deref() {
            Some(bits) => bits
                .get(usize::from(port >> 6))
                .is_some_and(|w| w & (1u64 << (port & 63)) != 0),
            None => self.list.binary_search(&port).is_ok(),
        }
    }

    /// Distinct ports.
    pub fn count(&self) -> u64 {
        self.count
    }
}

/// Cells per row of a [`SecondSketch`] at most: two rows of 16,384 cells of
/// 8 bytes, 256 KiB, which stays in a core's second-level cache.
const SKETCH_WIDTH: usize = 16_384;

/// Cells per row of a [`SecondSketch`] at least, whatever the budget.
const SKETCH_MIN_WIDTH: usize = 256;

/// One cell of a [`SecondSketch`]: its count in the second it was last
/// written in.
#[derive(Debug, Clone, Copy, Default)]
struct SketchCell {
    second: u32,
    packets: u32,
}

/// Approximate per-second packet counts by key, in fixed memory: a
/// count-min sketch of two rows with conservative update, whose cells count
/// one second of packet time and start again in the next.
///
/// A detector that cares only about keys reaching a high rate (a flood's
/// victims) counts a key here until its estimate crosses a gate, and only
/// then gives it a table entry, so that a scan's million one-probe keys
/// never churn through its table. An estimate is never below the key's true
/// count in the second; it is above it only when other keys of the same
/// second share both of its cells.
#[derive(Debug, Clone)]
pub struct SecondSketch {
    cells: Vec<SketchCell>,
    /// Cells per row, a power of two.
    width: usize,
    hasher: FixedState,
}

impl Default for SecondSketch {
    fn default() -> Self {
        SecondSketch::with_width(SKETCH_WIDTH)
    }
}

impl SecondSketch {
    fn with_width(width: usize) -> Self {
        SecondSketch {
            cells: vec![SketchCell::default(); 2 * width],
            width,
            hasher: FixedState::default(),
        }
    }

    /// Hold at most `bytes` (never less than two rows of 256 cells): a
    /// narrower sketch, empty, when the current one is larger.
    pub fn limit_bytes(&mut self, bytes: usize) {
        let cell = std::mem::size_of::<SketchCell>();
        let mut width = self.width;
        while width > SKETCH_MIN_WIDTH && 2 * width * cell > bytes {
            width /= 2;
        }
        if width != self.width {
            *self = SecondSketch::with_width(width);
        }
    }

    /// Count a packet of `key` in `second`: the estimated packets of `key`
    /// in that second, this one included.
    pub fn add<K: Hash>(&mut self, key: &K, second: i64) -> u64 {
        let hash = self.hasher.hash_one(key);
        let mask = self.width as u64 - 1;
        let slots = [
            (hash & mask) as usize,
            self.width + ((hash >> 32) & mask) as usize,
        ];
        // the second's low 32 bits: seconds 2^32 apart never meet in a capture
        let tag = second as u32;
        let mut estimate = u32::MAX;
        for slot in slots {
            if let Some(cell) = self.cells.get_mut(slot) {
                if cell.second != tag {
                    *cell = SketchCell {
                        second: tag,
                        packets: 0,
                    };
                }
                estimate = estimate.min(cell.packets);
            }
        }
        let estimate = estimate.saturating_add(1);
        // conservative update: raise each cell only to the new estimate, so
        // a crowded cell does not inflate the keys of an uncrowded one
        for slot in slots {
            if let Some(cell) = self.cells.get_mut(slot) {
                cell.packets = cell.packets.max(estimate);
            }
        }
        u64::from(estimate)
    }

    /// Bytes held.
    pub fn memory_used(&self) -> usize {
        self.cells.len() * std::mem::size_of::<SketchCell>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_secs_nanos(s, 0)
    }

    #[test]
    fn capacity_is_a_hard_bound_and_evictions_are_counted() {
        let mut table: BoundedTable<u32, u32> = BoundedTable::new(100, Duration::from_secs(60));
        for i in 0..10_000u32 {
            *table.touch(i, t(i64::from(i)), || 0) += 1;
        }
        assert_eq!(table.len(), 100);
        assert_eq!(table.evicted(), 9_900);
        // the newest key survives its own insertion
        assert!(table.get(&9_999).is_some());
    }

    #[test]
    fn the_least_recently_seen_entry_goes_first() {
        let mut table: BoundedTable<u32, ()> = BoundedTable::new(3, Duration::from_secs(60));
        table.touch(1, t(1), || ());
        table.touch(2, t(2), || ());
        table.touch(3, t(3), || ());
        table.touch(1, t(4), || ()); // seen again: 2 is now the oldest
        table.touch(4, t(5), || ());
        assert!(table.get(&2).is_none());
        for k in [1, 3, 4] {
            assert!(table.get(&k).is_some(), "{k}");
        }
        table.touch(5, t(6), || ()); // then 3
        assert!(table.get(&3).is_none());
        // a key removed and created again is queued once, as new
        table.remove(&1);
        table.touch(1, t(7), || ());
        table.touch(6, t(8), || ()); // 4 is the oldest now
        assert!(table.get(&4).is_none());
        assert!(table.get(&1).is_some());
    }

    #[test]
    fn churn_keeps_the_queue_bounded() {
        let mut table: BoundedTable<u32, ()> = BoundedTable::new(1_000, Duration::from_secs(1));
        for i in 0..200_000u32 {
            let now = t(i64::from(i / 100));
            table.touch(i % 5_000, now, || ());
            if i % 7 == 0 {
                table.remove(&(i % 3_000));
            }
            table.expire(now);
            assert!(table.queue.len() <= 2 * table.len() + 64 + 1, "{i}");
        }
        assert!(table.len() <= 1_000);
    }

    #[test]
    fn a_memory_budget_lowers_the_capacity() {
        let mut table: BoundedTable<u32, [u8; 100]> =
            BoundedTable::new(1_000_000, Duration::from_secs(60)).with_heap(0);
        let per_entry = table.entry_bytes;
        assert!(per_entry >= 104);
        table.limit_bytes(per_entry * 50);
        assert_eq!(table.capacity(), 50);
        for i in 0..1000u32 {
            table.touch(i, t(i64::from(i)), || [0; 100]);
        }
        assert_eq!(table.len(), 50);
        assert!(table.memory_used() <= per_entry * 50);
    }

    #[test]
    fn idle_entries_expire_in_key_order() {
        let mut table: BoundedTable<u32, ()> = BoundedTable::new(10, Duration::from_secs(5));
        table.touch(3, t(0), || ());
        table.touch(1, t(1), || ());
        table.touch(2, t(9), || ());
        let gone: Vec<u32> = table.expire(t(10)).into_iter().map(|(k, _)| k).collect();
        assert_eq!(gone, vec![1, 3]);
        assert_eq!(table.len(), 1);
        assert_eq!(table.expired(), 2);
    }

    #[test]
    fn capped_set_counts_past_its_cap() {
        let mut set = CappedSet::default();
        for v in [5u16, 1, 5, 3, 9, 7] {
            set.insert(v, 3);
        }
        assert_eq!(set.items(), &[1, 3, 5]);
        assert_eq!(set.count(), 5);
        assert!(set.contains(&3));
        assert!(!set.contains(&9));
    }

    #[test]
    fn a_second_sketch_never_counts_a_key_short() {
        let mut sketch = SecondSketch::default();
        // 20,000 keys of two probes each, and one key of 300, in one second
        for i in 0..20_000u32 {
            sketch.add(&(i, 1u16), 7);
        }
        let mut last = 0;
        for _ in 0..300 {
            last = sketch.add(&(99_999u32, 80u16), 7);
        }
        assert!((300..310).contains(&last), "{last}");
        // no one of the two-probe keys comes near a gate
        let most = (0..20_000u32)
            .map(|i| sketch.add(&(i, 1u16), 7))
            .max()
            .unwrap_or(0);
        assert!((2..8).contains(&most), "{most}");
        // the next second starts again
        assert_eq!(sketch.add(&(99_999u32, 80u16), 8), 1);
    }

    #[test]
    fn a_port_set_is_exact_in_its_list_and_in_its_bitmap() {
        let mut set = PortSet::default();
        // every port once in a scrambled order, then again
        let scrambled = |i: u32| ((i * 40_503) % 65_536) as u16;
        for i in 0..65_536u32 {
            assert!(set.insert(scrambled(i)), "{i}");
            if i == 100 {
                assert!(set.bits.is_none() && set.count() == 101);
                assert!(set.contains(scrambled(50)) && !set.contains(scrambled(101)));
            }
        }
        assert!(set.bits.is_some());
        assert!((0..65_536u32).all(|i| !set.insert(scrambled(i))));
        assert_eq!(set.count(), 65_536);
        assert!(set.contains(0) && set.contains(65_535));
    }
}
