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

/// Bytes a slot takes: its flow and its queue token.
const SLOT_BYTES: usize = std::mem::size_of::<Option<Flow>>() + std::mem::size_of::<u64>();

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
    /// Each slot's timeout-queue token (see [`super::FlowTable::enqueue`]):
    /// the token of its flow's one valid queue entry, 0 while the slot is
    /// free or its flow not queued yet. Kept apart from the flows, densely,
    /// so that stale queue entries are told without reading a flow.
    tokens: Vec<u64>,
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
            tokens: Vec::new(),
            used: 0,
            free: Vec::new(),
            len: 0,
        }
    }

    /// Flows held.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Bytes allocated: the hash table, the chunks with their tokens and
    /// the free list.
    pub(crate) fn allocation_size(&self) -> usize {
        self.index.allocation_size()
            + self.chunks.len() * CHUNK * SLOT_BYTES
            + self.chunks.capacity() * std::mem::size_of::<Box<[Option<Flow>]>>()
            + self.free.capacity() * std::mem::size_of::<u32>()
    }

    /// Bytes a map holding at most `flows` allocates with a hash table of
    /// `buckets` (see [`super::FlowTable::flows_fitting`]).
    pub(crate) fn bytes_for(flows: usize, buckets: usize) -> usize {
        // A bucket: its slot number and control byte.
        let bucket = std::mem::size_of::<u32>() + 1;
        let slot = SLOT_BYTES + std::mem::size_of::<u32>();
        flows
            .div_ceil(CHUNK)
            .saturating_mul(CHUNK)
            .saturating_mul(slot)
            .saturating_add(buckets.saturating_mul(bucket))
    }

    /// The flow in slot `i`, to change (never its endpoints, transport or
    /// VLAN: they are its key), if the slot is in use.
    pub(crate) fn slot_mut(&mut self, i: u32) -> Option<&mut Flow> {
        let i = i as usize;
        self.chunks.get_mut(i / CHUNK)?.get_mut(i % CHUNK)?.as_mut()
    }

    /// The hash `key` is stored under: computed once per packet and handed
    /// to [`FlowMap::find_hashed`] and [`FlowMap::insert_hashed`].
    pub(crate) fn hash_of(&self, key: &FlowKey) -> u64 {
        self.hasher.hash_one(key)
    }

    fn find(&self, key: &FlowKey) -> Option<u32> {
        self.find_hashed(key, self.hash_of(key))
    }

    /// The slot of the flow of `key`, whose hash ([`FlowMap::hash_of`]) is
    /// `hash`.
    pub(crate) fn find_hashed(&self, key: &FlowKey, hash: u64) -> Option<u32> {
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

    /// The flow in slot `i` (see [`FlowMap::insert_hashed`]), if the slot
    /// is in use: a slot freed by an ended flow may hold a later one.
    pub(crate) fn slot(&self, i: u32) -> Option<&Flow> {
        slot_in(&self.chunks, i)
    }

    /// The queue token of slot `i` (0: free, or its flow not queued yet).
    pub(crate) fn token(&self, i: u32) -> u64 {
        self.tokens.get(i as usize).copied().unwrap_or(0)
    }

    /// Set the queue token of slot `i`, which holds a flow.
    pub(crate) fn set_token(&mut self, i: u32, token: u64) {
        if let Some(t) = self.tokens.get_mut(i as usize) {
            *t = token;
        }
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
        self.set_token(i, 0);
        self.free.push(i);
        self.len -= 1;
        Some(flow)
    }

    /// Store a flow whose key is not held yet, `hash` being its key's
    /// ([`FlowMap::hash_of`]); its slot, which stays the flow's until it is
    /// taken out. Slots freed by ended flows are reused, the most recently
    /// freed first.
    pub(crate) fn insert_hashed(&mut self, flow: Flow, hash: u64) -> Option<u32> {
        debug_assert!(
            self.hash_of(&key_of(&flow)) == hash,
            "a flow stored under another key's hash"
        );
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
                    self.tokens.reserve_exact(CHUNK);
                    self.tokens.resize(self.chunks.len() * CHUNK, 0);
                }
                self.used += 1;
                i
            }
        };
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

#[cfg(test)]
mod tests {
    use super::*;
    use netsec_model::{FlowId, Timestamp, Transport};
    use std::net::{IpAddr, Ipv4Addr};

    /// A TCP flow from 10.0.0.1:`port` to 10.0.0.2:80, and its key.
    fn flow(id: u64, port: u16) -> (Flow, FlowKey) {
        let client = Endpoint::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), port);
        let server = Endpoint::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)), 80);
        let f = Flow::new(
            FlowId(id),
            String::new(),
            client,
            server,
            Transport::Tcp,
            0,
            Timestamp::from_nanos(0),
        );
        let (key, _) = FlowKey::from_packet(client, server, Transport::Tcp, 0);
        (f, key)
    }

    fn map() -> FlowMap {
        FlowMap::with_capacity(4, ahash::RandomState::with_seeds(1, 2, 3, 4))
    }

    #[test]
    fn a_flow_is_found_by_its_key_and_hash_in_the_slot_it_was_given() {
        let mut m = map();
        let (a, key_a) = flow(1, 1000);
        let (b, key_b) = flow(2, 1001);
        let slot_a = m.insert_hashed(a, m.hash_of(&key_a));
        let slot_b = m.insert_hashed(b, m.hash_of(&key_b));
        assert_eq!((slot_a, slot_b), (Some(0), Some(1)));
        assert_eq!(m.find_hashed(&key_a, m.hash_of(&key_a)), Some(0));
        assert_eq!(m.find_hashed(&key_b, m.hash_of(&key_b)), Some(1));
        assert_eq!(m.get(&key_b).map(|f| f.record.id), Some(FlowId(2)));
        assert_eq!(m.len(), 2);
    }

    #[test]
    fn a_removed_flows_slot_is_reused_most_recently_freed_first() {
        let mut m = map();
        let keys: Vec<FlowKey> = (0..3)
            .map(|n| {
                let (f, key) = flow(n, 2000 + n as u16);
                m.insert_hashed(f, m.hash_of(&key));
                key
            })
            .collect();
        assert_eq!(m.remove_slot(0).map(|f| f.record.id), Some(FlowId(0)));
        assert_eq!(m.remove_slot(2).map(|f| f.record.id), Some(FlowId(2)));
        // Gone from the index and the slots.
        assert_eq!(m.find_hashed(&keys[0], m.hash_of(&keys[0])), None);
        assert!(m.slot(2).is_none());
        assert!(m.remove_slot(2).is_none());
        assert_eq!(m.len(), 1);
        // Slot 2 was freed last: it is the first reused.
        let (f, key) = flow(7, 3000);
        assert_eq!(m.insert_hashed(f, m.hash_of(&key)), Some(2));
        let (f, key) = flow(8, 3001);
        assert_eq!(m.insert_hashed(f, m.hash_of(&key)), Some(0));
        let (f, key) = flow(9, 3002);
        assert_eq!(m.insert_hashed(f, m.hash_of(&key)), Some(3));
        assert_eq!(m.slot(2).map(|f| f.record.id), Some(FlowId(7)));
        assert_eq!(m.find_hashed(&keys[1], m.hash_of(&keys[1])), Some(1));
        assert_eq!(m.len(), 4);
    }

    #[test]
    fn a_slots_queue_token_is_cleared_with_its_flow() {
        let mut m = map();
        let (f, key) = flow(1, 4000);
        let slot = m.insert_hashed(f, m.hash_of(&key)).unwrap_or(u32::MAX);
        assert_eq!(m.token(slot), 0);
        m.set_token(slot, 41);
        assert_eq!(m.token(slot), 41);
        assert!(m.remove_slot(slot).is_some());
        assert_eq!(m.token(slot), 0);
        // Reused for another flow: not queued yet.
        let (f, key) = flow(2, 4001);
        assert_eq!(m.insert_hashed(f, m.hash_of(&key)), Some(slot));
        assert_eq!(m.token(slot), 0);
        // A slot never used has none.
        assert_eq!(m.token(9_999), 0);
        m.set_token(9_999, 5);
        assert_eq!(m.token(9_999), 0);
    }
}
