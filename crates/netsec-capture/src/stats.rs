//! Counters a reader keeps while it reads.

use std::collections::BTreeMap;

use netsec_model::LinkType;

use crate::reader::Compression;

/// Link types netsec-proto decodes; others are counted and reported.
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
    /// Records skipped because their lengths were impossible, or their
    /// interface was never described.
    pub skipped_records: u64,
    /// Of those, packets naming an interface with no description block.
    pub unknown_interface: u64,
    /// Packets by link type number.
    pub by_link_type: BTreeMap<u32, u64>,
    /// Interfaces described (pcapng IDBs; 1 for pcap).
    pub interfaces: u64,
    /// Link types of interfaces netsec cannot decode, by number.
    pub unsupported_link_types: BTreeMap<u32, u64>,
    /// pcapng sections.
    pub sections: u64,
    /// Comment options seen (section, interface, packet, statistics).
    pub comments: u64,
    /// pcapng blocks that carry no packet (name resolution, statistics, custom, …).
    pub other_blocks: u64,
    /// The input ended mid-record.
    pub truncated: bool,
    /// Compression of the input.
    pub compression: Option<Compression>,
}

impl ReadStats {
    pub(crate) fn note_interface(&mut self, lt: LinkType) {
        self.interfaces += 1;
        if !link_type_supported(lt) {
            *self.unsupported_link_types.entry(lt.number()).or_default() += 0;
        }
    }

    pub(crate) fn count_link(&mut self, lt: LinkType) {
        *self.by_link_type.entry(lt.number()).or_default() += 1;
        if !link_type_supported(lt) {
            *self.unsupported_link_types.entry(lt.number()).or_default() += 1;
        }
    }

    /// Warnings worth showing a user: skipped records, undecodable link types.
    pub fn warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        if self.skipped_records > 0 {
            w.push(format!(
                "{} records skipped (impossible lengths or undescribed interface)",
                self.skipped_records
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
