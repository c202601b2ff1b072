//! The flow table's storage: flows in fixed chunks of slots, found by key
//! through a hash table of slot numbers.
//!
//! A hash map of `(FlowKey, Flow)` kept each flow in its bucket: 297 bytes
//! a bucket, with the buckets a power of two at most 7/8 full, so between
//! 1.14 and 2.3 buckets a flow, and while the map grew the old buckets and
//! the new (three times the flows' size at once: 117 MB of the 162 MB heap
//! peak with 115,000 DNS flows alive). Here a bucket is a 4-byte slot
//! number (5 bytes with its control byte) and each flow is stored once, in
//! a slot of a chunk that is never moved; a flow's key is its record's
//! endpoints, transport and VLAN, so it is not stored twice. Slots freed by
//! ended flows are reused, most recently freed first.
//!
//! Nothing here depends on the order of the hash table: the table's
//! callers sort what they hand on (by flow id) or go through the timeout
//! queues.

use hashbrown::HashTable;
use netsec_model::{Endpoint, FlowKey};

use super::Flow;

/// Slots per chunk: 256 flows, about 62 KB, allocated when every slot
/// before it is in use.
const CHUNK: usize = 256;

/// The key a flow is stored under: its endpoints in canonical order.
#[inline]
fn key_of(flow: &Flow) -> FlowKey {
    let r = &flow.record;
    let (lo, hi): (Endpoint, Endpoint) = if flow.client_is_lo {
        (r.client, r.server)
    } else {
        (r.server, r.client)
    };
    FlowKey {
        lo,
        hi,
        transport: r.transport,
        vlan: r.vlan,
    }
}

/// Flows by key.
#[derive(Debug)]
pub(crate) struct FlowMap {
    /// Slot numbers, hashed by their flow's key.
    index: HashTable<u32>,
    hasher: ahash::RandomState,
    /// The slots, `CHUNK` to a chunk.
    chunks: Vec<Box<[Option<Flow>]>>,
    /// Slots in use or freed so far (the next new slot's number).
    used: usize,
    /// Freed slots, the most recently freed last.
    free: Vec<u32>,
    len: usize,
}

impl FlowMap {
    /// A map with room for `capacity` flows in its hash table before it
    /// grows (slots are allocated as flows come).
    pub(crate) fn with_capacity(capacity: usize, hasher: ahash::RandomState) -> Self {
        FlowMap {
            index: HashTable::with_capacity(capacity),
            hasher,
            chunks: Vec::new(),
            used: 0,
            free: Vec::new(),
            len: 0,
        }
    }

    /// Flows held.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Bytes allocated: the hash table, the chunks and the free list.
    pub(crate) fn allocation_size(&self) -> usize {
        self.index.allocation_size()
            + self.chunks.len() * CHUNK * std::mem::size_of::<Option<Flow>>()
            + self.chunks.capacity() * std::mem::size_of::<Box<[Option<Flow>]>>()
            + self.free.capacity() * std::mem::size_of::<u32>()
    }

    /// Bytes a map holding at most `flows` allocates with a hash table of
    /// `buckets` (see [`super::FlowTable::flows_fitting`]).
    pub(crate) fn bytes_for(flows: usize, buckets: usize) -> usize {
        // A bucket: its slot number and control byte.
        let bucket = std::mem::size_of::<u32>() + 1;
        let slot = std::mem::size_of::<Option<Flow>>() + std::mem::size_of::<u32>();
        flows
            .div_ceil(CHUNK)
            .saturating_mul(CHUNK)
            .saturating_mul(slot)
            .saturating_add(buckets.saturating_mul(bucket))
    }

    fn slot_mut(&mut self, i: u32) -> Option<&mut Flow> {
        let i = i as usize;
        self.chunks.get_mut(i / CHUNK)?.get_mut(i % CHUNK)?.as_mut()
    }

    fn find(&self, key: &FlowKey) -> Option<u32> {
        let hash = self.hasher.hash_one(key);
        let chunks = &self.chunks;
        self.index
            .find(hash, |&i| {
                slot_in(chunks, i).is_some_and(|f| key_of(f) == *key)
            })
            .copied()
    }

    /// The flow of `key`.
    pub(crate) fn get(&self, key: &FlowKey) -> Option<&Flow> {
        slot_in(&self.chunks, self.find(key)?)
    }

    /// The flow of `key`, to change (never its endpoints, transport or VLAN:
    /// they are its key).
    pub(crate) fn get_mut(&mut self, key: &FlowKey) -> Option<&mut Flow> {
        let i = self.find(key)?;
        self.slot_mut(i)
    }

    /// Whether a flow of `key` is held.
    pub(crate) fn contains_key(&self, key: &FlowKey) -> bool {
        self.find(key).is_some()
    }

    /// Take out the flow of `key`.
    pub(crate) fn remove(&mut self, key: &FlowKey) -> Option<Flow> {
        let hash = self.hasher.hash_one(key);
        let chunks = &self.chunks;
        let entry = self
            .index
            .find_entry(hash, |&i| {
                slot_in(chunks, i).is_some_and(|f| key_of(f) == *key)
            })
            .ok()?;
        let (i, _) = entry.remove();
        self.take_slot(i)
    }

    /// The flow in slot `i` (see [`FlowMap::get_or_insert_with`]), if the
    /// slot is in use: a slot freed by an ended flow may hold a later one.
    pub(crate) fn slot(&self, i: u32) -> Option<&Flow> {
        slot_in(&self.chunks, i)
    }

    /// Take out the flow in slot `i`.
    pub(crate) fn remove_slot(&mut self, i: u32) -> Option<Flow> {
        let hash = self.hasher.hash_one(key_of(self.slot(i)?));
        let entry = self.index.find_entry(hash, |&j| j == i).ok()?;
        entry.remove();
        self.take_slot(i)
    }

    /// Empty slot `i`, whose number has left the hash table, for reuse.
    fn take_slot(&mut self, i: u32) -> Option<Flow> {
        let flow = self
            .chunks
            .get_mut(i as usize / CHUNK)?
            .get_mut(i as usize % CHUNK)?
            .take()?;
        self.free.push(i);
        self.len -= 1;
        Some(flow)
    }

    /// The flow of `key`, made by `make` when there is none (its key must
    /// be `key`); whether it was made; and its slot, which stays the
    /// flow's until it is taken out.
    pub(crate) fn get_or_insert_with(
        &mut self,
        key: FlowKey,
        make: impl FnOnce() -> Flow,
    ) -> Option<(&mut Flow, bool, u32)> {
        let created = match self.find(&key) {
            Some(i) => return Some((self.slot_mut(i)?, false, i)),
            None => {
                let flow = make();
                debug_assert!(key_of(&flow) == key, "a flow stored under another key");
                self.insert_new(flow)?
            }
        };
        Some((self.slot_mut(created)?, true, created))
    }

    /// Store a flow whose key is not held yet; its slot.
    fn insert_new(&mut self, flow: Flow) -> Option<u32> {
        let i = match self.free.pop() {
            Some(i) => i,
            None => {
                let i = u32::try_from(self.used).ok()?;
                if self.used / CHUNK >= self.chunks.len() {
                    self.chunks.push(
                        (0..CHUNK)
                            .map(|_| None)
                            .collect::<Vec<_>>()
                            .into_boxed_slice(),
                    );
                }
                self.used += 1;
                i
            }
        };
        let hash = self.hasher.hash_one(key_of(&flow));
        *self
            .chunks
            .get_mut(i as usize / CHUNK)?
            .get_mut(i as usize % CHUNK)? = Some(flow);
        let (chunks, hasher) = (&self.chunks, &self.hasher);
        self.index.insert_unique(hash, i, |&j| {
            slot_in(chunks, j).map_or(0, |f| hasher.hash_one(key_of(f)))
        });
        self.len += 1;
        Some(i)
    }

    /// Every flow with its slot, in no particular order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u32, &Flow)> {
        self.chunks
            .iter()
            .flat_map(|c| c.iter())
            .zip(0u32..)
            .filter_map(|(s, i)| s.as_ref().map(|f| (i, f)))
    }
}

fn slot_in(chunks: &[Box<[Option<Flow>]>], i: u32) -> Option<&Flow> {
    let i = i as usize;
    chunks.get(i / CHUNK)?.get(i % CHUNK)?.as_ref()
}
