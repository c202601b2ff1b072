//! Raw-packet scanning (needs root or `CAP_NET_RAW`): the SYN scan and
//! nmap's privileged host discovery (ARP, ICMP echo and timestamp, TCP SYN
//! and ACK pings). Packets are built with pnet's packet types and sent
//! through raw sockets; replies are matched statelessly by a cookie in the
//! sequence number or ICMP identifier (see [`packet`]). When raw sockets
//! cannot be opened the scan falls back to the connect-based code and says
//! so in the report's notes.

pub mod discovery;
pub mod packet;
pub mod sock;
pub mod syn;

pub use discovery::Discovery;

/// Why a raw scan could not run.
#[derive(Debug, thiserror::Error)]
pub enum RawError {
    /// A raw or packet socket could not be opened or set up (not root, no
    /// `CAP_NET_RAW`, no such interface).
    #[error("cannot open {what} (raw packets need root or CAP_NET_RAW): {source}")]
    Unavailable {
        /// The socket or option.
        what: &'static str,
        /// The system's error.
        #[source]
        source: std::io::Error,
    },
}

/// Whether raw scans can run here; the error says why not.
pub fn available() -> Result<(), RawError> {
    sock::RawSockets::check()
}
