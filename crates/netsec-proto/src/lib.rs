//! Decoding for netsec: zero-copy L2–L4 decoding (Ethernet, VLAN, MPLS,
//! PPPoE, 802.11, NFLOG and more link layers; GRE, ERSPAN, VXLAN, Geneve,
//! GTP-U, Teredo and other tunnels), IPv4 and IPv6 fragment reassembly, a
//! bounded bidirectional flow table with TCP state and Community IDs, TCP
//! stream reassembly that an attacker cannot steer ([`reassembly`]), and
//! application parsers (DNS, TLS, HTTP/1.x, SSH, SMB, DHCP, NTP, and the
//! sessions inside HTTP CONNECT and SOCKS tunnels) identified by content.
//! Everything the engine holds counts against one memory budget
//! ([`EngineConfig::memory_limit`], [`Engine::memory_used`]).
//!
//! # Example
//!
//! Feed frames to an [`Engine`]; flows, events and packet views come out
//! through an [`EngineSink`]:
//!
//! ```
//! use netsec_model::{FlowRecord, LinkType, RawPacket, Timestamp, Transport};
//! use netsec_proto::{Engine, EngineConfig, EngineSink};
//!
//! #[derive(Default)]
//! struct Flows(Vec<FlowRecord>);
//! impl EngineSink for Flows {
//!     fn flow_end(&mut self, flow: FlowRecord) { self.0.push(flow); }
//! }
//!
//! // An Ethernet/IPv4/UDP datagram built with etherparse.
//! let mut frame = Vec::new();
//! etherparse::PacketBuilder::ethernet2([1, 2, 3, 4, 5, 6], [6, 5, 4, 3, 2, 1])
//!     .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
//!     .udp(5000, 9999)
//!     .write(&mut frame, b"hello")
//!     .unwrap();
//! let packet = RawPacket {
//!     number: 1, ts: Timestamp::from_secs_nanos(1_700_000_000, 0),
//!     link_type: LinkType::Ethernet, interface: 0,
//!     orig_len: frame.len() as u32, data: &frame,
//! };
//!
//! let mut engine = Engine::new(EngineConfig::default());
//! let mut flows = Flows::default();
//! engine.process(&packet, &mut flows);
//! engine.finish(&mut flows);
//!
//! assert_eq!(flows.0.len(), 1);
//! assert_eq!(flows.0[0].transport, Transport::Udp);
//! assert_eq!(flows.0[0].server.port, 9999);
//! assert!(flows.0[0].community_id.starts_with("1:"));
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod app;
pub mod decode;
mod engine;
pub mod flow;
pub mod reassembly;
pub mod tick;

pub use decode::{
    decode, decode_datagram_tunnel, decode_into, flow_shard_hash, shard_class, DecodeError,
    DecodedPacket, ShardClass, Share,
};
pub use engine::{Engine, EngineConfig, EngineSink, EngineStats, DEFAULT_MEMORY_LIMIT};
pub use flow::community_id::community_id;
pub use flow::FlowConfig;
pub use tick::TickSchedule;
