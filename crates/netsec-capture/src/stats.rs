//! Counters a reader keeps while it reads.

use std::collections::BTreeMap;

use netsec_model::LinkType;

use crate::reader::{CaptureFormat, Compression};

/// Link types netsec-proto decodes (Ethernet, Linux SLL and SLL2, raw IPv4
/// and IPv6, BSD NULL and LOOP); others are counted and reported.
pub fn link_type_supported(lt: LinkType) -> bool {
    !matches!(lt, LinkType::Other(_))
}

/// What a reader has seen so far.
#[derive(Debug, Clone, Default)]
pub struct ReadStats {
    /// Packets delivered.
    pub packets: u64,
    /// Captured bytes delivered.
    pub bytes: u64,
    /// Records skipped: impossible lengths, an undescribed interface, a
    /// pcapng block that does not parse but can be stepped over.
    pub skipped_malformed: u64,
    /// Of those, packets naming an interface with no description block.
    pub unknown_interface: u64,
    /// Packets by LINKTYPE number.
    pub by_link_type: BTreeMap<u32, u64>,
    /// Interfaces described (pcapng IDBs in every section; 1 for pcap).
    pub interfaces: u64,
    /// Link types netsec cannot decode, by LINKTYPE number, with their
    /// packet count (0 when an interface of that type carried none).
    pub unsupported_link_types: BTreeMap<u32, u64>,
    /// pcapng sections.
    pub sections: u64,
    /// Comment options seen on any block (section, interface, packet, statistics, name resolution).
    pub comments: u64,
    /// Of those, comments on packets.
    pub packet_comments: u64,
    /// pcapng blocks that carry no packet (name resolution, statistics, custom, …).
    pub other_blocks: u64,
    /// The input ended mid-record.
    pub truncated: bool,
    /// Container format, once its header has been read.
    pub format: Option<CaptureFormat>,
    /// Compression of the input.
    pub compression: Option<Compression>,
}

impl ReadStats {
    pub(crate) fn note_interface(&mut self, lt: LinkType) {
        self.interfaces += 1;
        if !link_type_supported(lt) {
            self.unsupported_link_types.entry(lt.number()).or_default();
        }
    }

    pub(crate) fn count_link(&mut self, lt: LinkType) {
        let n = lt.number();
        // get_mut first: the entry API costs more per packet, and the key
        // is almost always present.
        match self.by_link_type.get_mut(&n) {
            Some(c) => *c += 1,
            None => {
                self.by_link_type.insert(n, 1);
            }
        }
        if !link_type_supported(lt) {
            *self.unsupported_link_types.entry(lt.number()).or_default() += 1;
        }
    }

    /// Warnings worth showing a user: skipped records, undecodable link types.
    pub fn warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        if self.skipped_malformed > 0 {
            w.push(format!(
                "{} malformed records skipped (impossible lengths, undescribed interface, unparsable block)",
                self.skipped_malformed
            ));
        }
        for (lt, n) in &self.unsupported_link_types {
            w.push(format!(
                "{n} packets of unsupported link type {lt} counted but not decoded"
            ));
        }
        w
    }
}
