//! Capture input for netsec: streaming pcap/pcapng reading with bounded
//! memory (plain, gzip or zstd compressed, or standard input), tcpdump-like
//! capture filters, and live capture with pnet.
//!
//! # Example
//!
//! Read a capture packet by packet; each packet borrows the reader's buffer,
//! so nothing is allocated per packet:
//!
//! ```
//! use netsec_capture::{CaptureFormat, CaptureReader};
//! use netsec_model::LinkType;
//!
//! // Two interfaces, four packets (pcapng test generator, test005).
//! let bytes: &[u8] = include_bytes!("../tests/data/pcapng/test005-le.pcapng");
//! let mut reader = CaptureReader::from_reader(Box::new(bytes), "test005.pcapng").unwrap();
//! let mut numbers = Vec::new();
//! while let Some(packet) = reader.next_packet().unwrap() {
//!     assert_eq!(packet.link_type, LinkType::Ethernet);
//!     assert!(packet.data.len() <= packet.orig_len as usize);
//!     numbers.push(packet.number);
//! }
//! assert_eq!(numbers, [1, 2, 3, 4]);
//! assert_eq!(reader.format(), CaptureFormat::PcapNg);
//! assert_eq!(reader.stats().interfaces, 2);
//! ```
//!
//! - [`CaptureReader`]: pcap (both byte orders, micro- and nanosecond, the
//!   modified format) and pcapng (several sections and interfaces, EPB, SPB
//!   and the obsolete Packet Block, `if_tsresol`/`if_tsoffset`), through
//!   [pcap-parser](https://docs.rs/pcap-parser)'s streaming reader. A buffer
//!   of 1 MiB grows only to fit one large block (at most [`MAX_BLOCK_BYTES`]).
//!   Truncated input yields every whole packet and then one
//!   [`CaptureError::Truncated`]; records with impossible lengths are
//!   skipped and counted in [`ReadStats`].
//! - [`Filter`]: host, net, port, portrange, protocols, vlan, with src/dst
//!   qualifiers and and/or/not, parsed once and evaluated on netsec-proto's
//!   decoded [`netsec_model::PacketInfo`] without allocating.
//! - [`LiveCapture`]: an AF_PACKET socket through pnet_datalink; timestamps
//!   there are the system clock at receive time.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod blocks;
mod error;
mod filter;
mod live;
mod reader;
mod stats;

pub use error::CaptureError;
pub use filter::{Filter, FilterError};
pub use live::{link_type_of, InterfaceInfo, LiveCapture, LiveOptions};
pub use reader::{CaptureFormat, CaptureReader, Compression, MAX_BLOCK_BYTES, MAX_INTERFACES};
pub use stats::{link_type_supported, ReadStats};
