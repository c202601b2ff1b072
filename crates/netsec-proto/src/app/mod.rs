//! Application-layer identification and parsing: the interface between the
//! flow engine (which owns per-flow state and TCP reassembly) and the
//! per-protocol parsers in the sub-modules (`dns/`, `tls/`, `http/`, `ssh/`,
//! `smb/`, `dhcp/`, `ntp/`).
//!
//! INTERFACE CONTRACT (the bodies are filled in by the app-layer work):
//! - [`identify`] looks at the first payload of a flow and says which protocol it carries.
//! - [`AppParser::new`] makes the per-flow parser for that protocol.
//! - [`AppParser::feed`] receives, per direction, in-order TCP stream bytes (after reassembly)
//!   or one whole UDP datagram, and pushes owned [`AppEvent`]s into `out`.
//! - [`AppParser::gap`] tells the parser that `len` bytes are missing in a direction.

use netsec_model::{AppEvent, AppProto, Direction, EventContext, Transport};

/// What the engine should do after feeding a parser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedStatus {
    /// Keep feeding this flow.
    Continue,
    /// The parser has all it wants (e.g. TLS after the handshake): stop feeding to save work.
    Done,
    /// The bytes are not this protocol after all, or are malformed beyond recovery: stop feeding.
    Error,
}

/// Identify the application protocol of a flow from its first payload.
///
/// `payload` is the first non-empty payload in direction `dir`; ports are only a hint.
pub fn identify(
    _transport: Transport,
    _client_port: u16,
    _server_port: u16,
    _dir: Direction,
    _payload: &[u8],
) -> Option<AppProto> {
    None
}

/// Per-flow parser state for one application protocol. Bounded: no parser buffers more than a
/// fixed number of bytes per direction.
#[derive(Debug)]
pub enum AppParser {}

impl AppParser {
    /// The parser for `proto`, if one exists.
    pub fn new(_proto: AppProto) -> Option<AppParser> {
        None
    }

    /// Feed bytes for one direction; events go to `out`.
    pub fn feed(
        &mut self,
        _dir: Direction,
        _data: &[u8],
        _ctx: &EventContext,
        _out: &mut Vec<AppEvent>,
    ) -> FeedStatus {
        match *self {}
    }

    /// `len` bytes are missing in direction `dir` (a TCP gap).
    pub fn gap(&mut self, _dir: Direction, _len: u64) {
        match *self {}
    }
}
