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
//! use netsec_capture::CaptureReader;
//!
//! let bytes: &[u8] = include_bytes!("../tests/data/pcapng/test005-le.pcapng");
//! let mut reader = CaptureReader::from_reader(Box::new(bytes), "test005").unwrap();
//! let mut packets = 0;
//! while let Some(packet) = reader.next_packet().unwrap() {
//!     assert!(!packet.data.is_empty());
//!     packets += 1;
//! }
//! assert_eq!(packets, reader.stats().packets);
//! assert_eq!(reader.format().to_string(), "pcapng");
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

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
