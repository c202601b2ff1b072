//! Errors of capture input, each naming the file and where it went wrong.

/// What went wrong reading a capture.
///
/// Offsets count bytes of the decompressed stream from its start.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The file could not be opened or read.
    #[error("{file}: {source}")]
    Io {
        /// File name.
        file: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The input holds no bytes at all.
    #[error("{file}: empty file, not a capture")]
    Empty {
        /// File name.
        file: String,
    },
    /// The input is not pcap or pcapng (nor a compressed one).
    #[error("{file}: not a pcap or pcapng capture ({reason})")]
    NotACapture {
        /// File name.
        file: String,
        /// Why.
        reason: String,
    },
    /// A pcap or pcapng header of a version this reader does not read.
    #[error("{file}: unsupported {format} version {major}.{minor}")]
    UnsupportedVersion {
        /// File name.
        file: String,
        /// `pcap` or `pcapng`.
        format: &'static str,
        /// Major version found.
        major: u16,
        /// Minor version found.
        minor: u16,
    },
    /// The input ends in the middle of a packet. Every whole packet before
    /// it was delivered.
    #[error("{file}: truncated in packet {packet} at byte offset {offset}; the packets before it were read")]
    Truncated {
        /// File name.
        file: String,
        /// Number the cut packet would have had (whole packets delivered + 1).
        packet: u64,
        /// Byte offset where the partial record starts.
        offset: u64,
    },
    /// A block or record is malformed beyond skipping.
    #[error("{file}: corrupt at packet {packet} (byte offset {offset}): {reason}; the packets before it were read")]
    Corrupt {
        /// File name.
        file: String,
        /// Number the next packet would have had.
        packet: u64,
        /// Byte offset of the bad block.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// Live capture could not start or failed.
    #[error("interface {interface}: {reason}")]
    Live {
        /// Interface name.
        interface: String,
        /// Why.
        reason: String,
    },
}
