//! Application-layer identification and parsing: the interface between the
//! flow engine (which owns per-flow state and TCP reassembly) and the
//! per-protocol parsers, one folder each with the same files: `parser.rs`
//! (pure parsing of bytes) and `mod.rs` (the bounded per-flow state).
//!
//! - [`identify`] looks at the first payload of a flow and says which protocol it carries.
//! - [`AppParser::new`] makes the per-flow parser for that protocol.
//! - [`AppParser::feed`] receives, per direction, in-order TCP stream bytes (after
//!   reassembly) or one whole UDP datagram, and pushes owned [`AppEvent`]s into `out`.
//! - [`AppParser::gap`] tells the parser that bytes are missing in a direction.

pub mod dcerpc;
pub mod dhcp;
pub mod dns;
mod framing;
pub mod http;
pub mod kerberos;
pub mod ntp;
pub mod smb;
pub mod socks;
pub mod ssh;
pub mod tls;

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
    /// The connection now carries another protocol both ways (an HTTP
    /// CONNECT tunnel, a 101 upgrade): identify it on the bytes that follow.
    Tunnel,
}

/// NTP's port: NTP has no magic number, so the port is required (RFC 5905 §7.2).
const NTP_PORT: u16 = 123;
/// DNS's port: on it a bare header is enough (error responses carry no question).
const DNS_PORT: u16 = 53;
/// SOCKS proxy ports: 1080 (IANA "socks") and 9050 (Tor's): a SOCKS 5
/// greeting is three bytes, too short a signature to trust on any port.
const SOCKS_PORTS: [u16; 2] = [1080, 9050];
/// DHCP server and client ports (RFC 2131 §4.1). Kerberos (port 88, a
/// DER application tag over a SEQUENCE with pvno 5) is in [`kerberos`].
const DHCP_PORTS: [u16; 2] = [67, 68];

/// Identify the application protocol of a flow from its first payload, by
/// content; ports only where the protocol has no signature (NTP), where a
/// signature is short (DHCP's cookie, with its ports), or to accept a bare
/// DNS header on port 53. Cheap: no allocation, early outs on the first bytes.
pub fn identify(
    transport: Transport,
    client_port: u16,
    server_port: u16,
    dir: Direction,
    payload: &[u8],
) -> Option<AppProto> {
    let ports = [client_port, server_port];
    match transport {
        Transport::Tcp
            if dir == Direction::ToServer
                && SOCKS_PORTS.contains(&server_port)
                && socks::parser::looks_like_socks(payload) =>
        {
            Some(AppProto::Socks)
        }
        Transport::Tcp
            if ports.contains(&kerberos::KERBEROS_PORT)
                && payload
                    .get(4..)
                    .is_some_and(kerberos::parser::looks_like_kerberos) =>
        {
            Some(AppProto::Kerberos)
        }
        Transport::Tcp => identify_tcp(payload),
        Transport::Udp => {
            if ports.contains(&kerberos::KERBEROS_PORT)
                && kerberos::parser::looks_like_kerberos(payload)
            {
                Some(AppProto::Kerberos)
            } else if ports.iter().any(|p| DHCP_PORTS.contains(p))
                && dhcp::parser::looks_like_dhcp(payload)
            {
                Some(AppProto::Dhcp)
            } else if ports.contains(&NTP_PORT) && ntp::parser::parse_header(payload).is_some() {
                Some(AppProto::Ntp)
            } else if dns::parser::looks_like_dns(payload)
                || (ports.contains(&DNS_PORT) && dns::parser::looks_like_dns_header(payload))
            {
                Some(AppProto::Dns)
            } else {
                None
            }
        }
        _ => None,
    }
}

fn identify_tcp(payload: &[u8]) -> Option<AppProto> {
    // Dispatch on the first byte so that each payload runs one or two checks.
    match payload.first()? {
        0x16 if tls::parser::looks_like_tls(payload) => Some(AppProto::Tls),
        b'S' if payload.starts_with(b"SSH-") => Some(AppProto::Ssh),
        b'A'..=b'Z' if http::parser::looks_like_http(payload) => Some(AppProto::Http),
        0x00 if smb::parser::looks_like_smb(payload) => Some(AppProto::Smb),
        0x05 if dcerpc::parser::looks_like_dcerpc(payload) => Some(AppProto::DceRpc),
        _ if looks_like_tcp_dns(payload) => Some(AppProto::Dns),
        _ => None,
    }
}

/// DNS over TCP: a two-byte length prefix (RFC 1035 §4.2.2) of at least a
/// header, then a message that looks like DNS.
fn looks_like_tcp_dns(payload: &[u8]) -> bool {
    payload
        .get(0..2)
        .is_some_and(|l| usize::from(u16::from_be_bytes([l[0], l[1]])) >= dns::parser::HEADER_LEN)
        && payload.get(2..).is_some_and(dns::parser::looks_like_dns)
}

/// Index of a direction's state in the per-protocol `[_; 2]` arrays.
pub(crate) fn side_index(dir: Direction) -> usize {
    match dir {
        Direction::ToServer => 0,
        Direction::ToClient => 1,
    }
}

/// Per-flow parser state for one application protocol. Bounded: no parser
/// buffers more than a fixed number of bytes per direction.
///
/// The states larger than DNS's (TLS 128 bytes, HTTP 176, SMB 168,
/// DCE-RPC 152) are boxed, so that the enum, which every flow with a parser
/// holds, is the size of a DNS lookup's state (112 bytes, not 176): DNS
/// flows are the many, held their UDP timeout.
#[derive(Debug)]
pub enum AppParser {
    /// DNS over UDP or TCP.
    Dns(dns::DnsState),
    /// TLS.
    Tls(Box<tls::TlsState>),
    /// HTTP/1.x.
    Http(Box<http::HttpState>),
    /// SSH.
    Ssh(ssh::SshState),
    /// SMB.
    Smb(Box<smb::SmbState>),
    /// SOCKS 4/5 handshake.
    Socks(socks::SocksState),
    /// DHCP.
    Dhcp(dhcp::DhcpState),
    /// NTP.
    Ntp(ntp::NtpState),
    /// DCE-RPC over TCP.
    DceRpc(Box<dcerpc::DceRpcState>),
    /// Kerberos over UDP or TCP.
    Kerberos(kerberos::KerberosState),
}

impl AppParser {
    /// The parser for `proto`, if one exists.
    pub fn new(proto: AppProto) -> Option<AppParser> {
        Some(match proto {
            AppProto::Dns => AppParser::Dns(Default::default()),
            AppProto::Tls => AppParser::Tls(Default::default()),
            AppProto::Http => AppParser::Http(Default::default()),
            AppProto::Ssh => AppParser::Ssh(Default::default()),
            AppProto::Smb => AppParser::Smb(Default::default()),
            AppProto::Socks => AppParser::Socks(Default::default()),
            AppProto::Dhcp => AppParser::Dhcp(Default::default()),
            AppProto::Ntp => AppParser::Ntp(Default::default()),
            AppProto::DceRpc => AppParser::DceRpc(Default::default()),
            AppProto::Kerberos => AppParser::Kerberos(Default::default()),
            _ => return None,
        })
    }

    /// The parser for `proto`, HTTP's hashing at most `max_file_hash`
    /// bytes of a body.
    pub fn with_settings(proto: AppProto, max_file_hash: u64) -> Option<AppParser> {
        let mut parser = AppParser::new(proto)?;
        if let AppParser::Http(s) = &mut parser {
            s.max_file_hash = max_file_hash;
        }
        Some(parser)
    }

    /// Feed bytes for one direction; events go to `out`.
    pub fn feed(
        &mut self,
        dir: Direction,
        data: &[u8],
        ctx: &EventContext,
        out: &mut Vec<AppEvent>,
    ) -> FeedStatus {
        match self {
            AppParser::Dns(s) => s.feed(dir, data, ctx, out),
            AppParser::Tls(s) => s.feed(dir, data, ctx, out),
            AppParser::Http(s) => s.feed(dir, data, ctx, out),
            AppParser::Ssh(s) => s.feed(dir, data, ctx, out),
            AppParser::Smb(s) => s.feed(dir, data, ctx, out),
            AppParser::Socks(s) => s.feed(dir, data, ctx, out),
            AppParser::Dhcp(s) => s.feed(data, ctx, out),
            AppParser::Ntp(s) => s.feed(data, ctx, out),
            AppParser::DceRpc(s) => s.feed(dir, data, ctx, out),
            AppParser::Kerberos(s) => s.feed(dir, data, ctx, out),
        }
    }

    /// Messages (or records, lines, datagrams) this parser counted as
    /// malformed and skipped so far; the flow went on after each.
    pub fn malformed(&self) -> u64 {
        match self {
            AppParser::Dns(s) => s.malformed,
            AppParser::Tls(s) => s.malformed,
            AppParser::Http(s) => s.malformed,
            AppParser::Ssh(s) => s.malformed,
            AppParser::Smb(s) => s.malformed(),
            AppParser::Socks(s) => s.malformed,
            AppParser::Dhcp(s) => s.malformed,
            AppParser::Ntp(s) => s.malformed,
            AppParser::DceRpc(s) => s.malformed(),
            AppParser::Kerberos(s) => s.malformed,
        }
    }

    /// Heap bytes the parser holds (its buffers' capacities, and its boxed
    /// state), for the engine's memory budget. O(1).
    pub fn heap_bytes(&self) -> usize {
        match self {
            AppParser::Dns(s) => s.heap_bytes(),
            AppParser::Tls(s) => std::mem::size_of_val(&**s) + s.heap_bytes(),
            AppParser::Http(s) => std::mem::size_of_val(&**s) + s.heap_bytes(),
            AppParser::Ssh(s) => s.heap_bytes(),
            AppParser::Smb(s) => std::mem::size_of_val(&**s) + s.heap_bytes(),
            AppParser::Socks(s) => s.heap_bytes(),
            AppParser::DceRpc(s) => std::mem::size_of_val(&**s) + s.heap_bytes(),
            AppParser::Kerberos(s) => s.heap_bytes(),
            AppParser::Dhcp(_) | AppParser::Ntp(_) => 0,
        }
    }

    /// The flow is over: events for what was still open (HTTP bodies that
    /// run until the connection closes, or were cut short). `ctx` is the
    /// flow's context in either direction.
    pub fn finish(&mut self, ctx: &EventContext, out: &mut Vec<AppEvent>) {
        if let AppParser::Http(s) = self {
            s.finish(ctx, out);
        }
    }

    /// `len` bytes are missing in direction `dir` (a TCP gap).
    pub fn gap(&mut self, dir: Direction, len: u64) {
        match self {
            AppParser::Dns(s) => s.gap(dir),
            AppParser::Tls(s) => s.gap(dir),
            AppParser::Http(s) => s.gap(dir, len),
            AppParser::Smb(s) => s.gap(dir, len),
            AppParser::Socks(s) => s.gap(),
            AppParser::Ssh(s) => s.gap(dir),
            AppParser::DceRpc(s) => s.gap(dir, len),
            AppParser::Kerberos(s) => s.gap(dir, len),
            AppParser::Dhcp(_) | AppParser::Ntp(_) => {}
        }
    }
}

/// An event context for the parsers' unit tests.
#[cfg(test)]
pub(crate) fn test_context(transport: Transport, server_port: u16) -> EventContext {
    use netsec_model::{Endpoint, Timestamp};
    EventContext {
        ts: Timestamp::ZERO,
        packet_number: 1,
        flow_id: None,
        community_id: None,
        src: Endpoint::new([10, 0, 0, 1].into(), 40000),
        dst: Endpoint::new([10, 0, 0, 2].into(), server_port),
        transport,
        direction: Direction::ToServer,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp(payload: &[u8]) -> Option<AppProto> {
        identify(Transport::Tcp, 40000, 9999, Direction::ToServer, payload)
    }

    fn udp(sport: u16, dport: u16, payload: &[u8]) -> Option<AppProto> {
        identify(Transport::Udp, sport, dport, Direction::ToServer, payload)
    }

    /// A DNS query for example.org.
    const QUERY: &[u8] =
        b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03org\x00\x00\x01\x00\x01";

    #[test]
    fn tcp_by_content_on_any_port() {
        assert_eq!(
            tcp(b"\x16\x03\x01\x00\xc8\x01\x00\x00\xc4\x03\x03"),
            Some(AppProto::Tls)
        );
        assert_eq!(tcp(b"GET /index.html HTTP/1.1\r\n"), Some(AppProto::Http));
        assert_eq!(tcp(b"HTTP/1.0 200 OK\r\n"), Some(AppProto::Http));
        assert_eq!(tcp(b"SSH-2.0-OpenSSH_9.2p1\r\n"), Some(AppProto::Ssh));
        assert_eq!(tcp(b"\x00\x00\x00\x54\xfeSMB\x40\x00"), Some(AppProto::Smb));
        assert_eq!(tcp(b"\x00\x00\x00\x2f\xffSMBr"), Some(AppProto::Smb));
        let bind = dcerpc::parser::tests::bind(1, 0, "e3514235-4b06-11d1-ab04-00c04fc2dcd2", 4);
        assert_eq!(tcp(&bind), Some(AppProto::DceRpc));
        assert_eq!(tcp(&bind[..10]), None);
        let mut framed = (QUERY.len() as u16).to_be_bytes().to_vec();
        framed.extend_from_slice(QUERY);
        assert_eq!(tcp(&framed), Some(AppProto::Dns));
        // Near misses.
        assert_eq!(tcp(b"\x16\x03\x01\x00\xc8\x0b"), None);
        assert_eq!(tcp(b"SSH 2.0"), None);
        assert_eq!(tcp(b"EHLO example.org\r\n"), None);
        assert_eq!(tcp(b"\x00\x00\x00\x54\xfeSMC"), None);
        assert_eq!(tcp(b"\x00\x05\x12\x34\x01\x00\x00"), None);
        assert_eq!(tcp(QUERY), None, "DNS over TCP needs its length prefix");
        assert_eq!(tcp(b"hello, world"), None);
        assert_eq!(tcp(b""), None);
    }

    #[test]
    fn udp_dns_dhcp_ntp() {
        assert_eq!(udp(40000, 5353, QUERY), Some(AppProto::Dns));
        // A bare header (an error response without its question) only on port 53.
        let bare = b"\x12\x34\x81\x82\x00\x00\x00\x00\x00\x00\x00\x00";
        assert_eq!(udp(53, 40000, bare), Some(AppProto::Dns));
        assert_eq!(udp(7000, 40000, bare), None);

        let mut dhcp = vec![1u8, 1, 6, 0];
        dhcp.resize(236, 0);
        dhcp.extend([0x63, 0x82, 0x53, 0x63, 53, 1, 1, 255]);
        assert_eq!(udp(68, 67, &dhcp), Some(AppProto::Dhcp));
        assert_eq!(udp(6800, 6700, &dhcp), None, "DHCP needs its ports");

        let mut ntp = vec![0x23u8];
        ntp.resize(48, 0);
        assert_eq!(udp(40000, 123, &ntp), Some(AppProto::Ntp));
        assert_eq!(
            udp(40000, 1234, &ntp),
            None,
            "NTP has no magic: port 123 only"
        );
        assert_eq!(udp(40000, 123, &ntp[..20]), None);
        assert_eq!(udp(40000, 9999, b"\x00\x01junk"), None);
        let krb = kerberos::parser::tests::as_req("alice", &[18, 23], false);
        assert_eq!(udp(40000, 88, &krb), Some(AppProto::Kerberos));
        assert_eq!(udp(40000, 8888, &krb), None, "Kerberos needs its port");
        let mut framed = (krb.len() as u32).to_be_bytes().to_vec();
        framed.extend(&krb);
        assert_eq!(
            identify(Transport::Tcp, 40000, 88, Direction::ToServer, &framed),
            Some(AppProto::Kerberos)
        );
    }

    #[test]
    fn other_transports_are_not_identified() {
        assert_eq!(
            identify(
                Transport::Sctp,
                1,
                2,
                Direction::ToServer,
                b"GET / HTTP/1.1\r\n"
            ),
            None
        );
    }
}
