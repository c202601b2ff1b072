//! Flows: endpoints, the bidirectional flow key, and the record a flow table
//! emits when a flow ends.

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::packet::{TcpFlags, Transport};
use crate::time::{Duration, TimeRange};

/// An IP address and a port (0 where the protocol has none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Endpoint {
    /// Address.
    pub ip: IpAddr,
    /// Port, or 0.
    pub port: u16,
}

impl Endpoint {
    /// An endpoint.
    pub const fn new(ip: IpAddr, port: u16) -> Self {
        Endpoint { ip, port }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.ip {
            IpAddr::V4(ip) => write!(f, "{ip}:{}", self.port),
            IpAddr::V6(ip) => write!(f, "[{ip}]:{}", self.port),
        }
    }
}

/// Which way a packet travels relative to a flow's originator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// From the originator (client) to the responder (server).
    ToServer,
    /// From the responder back to the originator.
    ToClient,
}

impl Direction {
    /// The other direction.
    pub fn reverse(self) -> Self {
        match self {
            Direction::ToServer => Direction::ToClient,
            Direction::ToClient => Direction::ToServer,
        }
    }
}

/// A flow's identity regardless of direction: both packets of a TCP exchange
/// map to the same key.
///
/// The two endpoints are stored in canonical order (`lo <= hi`), so hashing
/// and equality need no normalisation at lookup time. Which endpoint
/// originated the flow is kept in [`FlowRecord`], not here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FlowKey {
    /// The lesser endpoint.
    pub lo: Endpoint,
    /// The greater endpoint.
    pub hi: Endpoint,
    /// Transport protocol.
    pub transport: Transport,
    /// Outermost VLAN id, 0 when untagged.
    pub vlan: u16,
}

/// Hashed as two or three machine words rather than field by field: the flow
/// table hashes a key for every packet. Consistent with `Eq` (a function of
/// all fields; distinct keys may collide, as any hash allows).
impl std::hash::Hash for FlowKey {
    #[inline]
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        let ports_vlan = (u64::from(self.lo.port) << 48)
            | (u64::from(self.hi.port) << 32)
            | (u64::from(self.vlan) << 16)
            | u64::from(self.transport.ip_proto());
        match (self.lo.ip, self.hi.ip) {
            (IpAddr::V4(a), IpAddr::V4(b)) => {
                state.write_u64((u64::from(u32::from(a)) << 32) | u64::from(u32::from(b)));
            }
            (a, b) => {
                let wide = |ip: IpAddr| match ip {
                    IpAddr::V4(v4) => u128::from(v4.to_ipv6_mapped()),
                    IpAddr::V6(v6) => u128::from(v6),
                };
                state.write_u128(wide(a));
                state.write_u128(wide(b));
            }
        }
        state.write_u64(ports_vlan);
    }
}

impl FlowKey {
    /// The key of a packet from `src` to `dst`, and whether `src` is the
    /// canonical `lo` side (true) or the `hi` side (false).
    #[inline]
    pub fn from_packet(
        src: Endpoint,
        dst: Endpoint,
        transport: Transport,
        vlan: u16,
    ) -> (Self, bool) {
        if src <= dst {
            (
                FlowKey {
                    lo: src,
                    hi: dst,
                    transport,
                    vlan,
                },
                true,
            )
        } else {
            (
                FlowKey {
                    lo: dst,
                    hi: src,
                    transport,
                    vlan,
                },
                false,
            )
        }
    }

    /// A symmetric 64-bit hash of the key: the same for both directions, and
    /// stable across runs and machines (FNV-1a over the canonical fields,
    /// then [`mix64`]), so it can shard packets to worker threads
    /// deterministically.
    pub fn symmetric_hash(&self) -> u64 {
        const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
        const PRIME: u64 = 0x0000_0100_0000_01b3;
        let mut h = OFFSET;
        let mut eat = |bytes: &[u8]| {
            for b in bytes {
                h ^= u64::from(*b);
                h = h.wrapping_mul(PRIME);
            }
        };
        for ep in [&self.lo, &self.hi] {
            match ep.ip {
                IpAddr::V4(ip) => eat(&ip.octets()),
                IpAddr::V6(ip) => eat(&ip.octets()),
            }
            eat(&ep.port.to_be_bytes());
        }
        eat(&[self.transport.ip_proto()]);
        eat(&self.vlan.to_be_bytes());
        mix64(h)
    }
}

/// The 64-bit finaliser of MurmurHash3 (`fmix64`): every input bit moves
/// about half of the output bits. FNV-1a alone is weak in its low bits (its
/// lowest bit is the parity of the input's low bits), and shards are picked
/// with `hash % workers`: without this, traffic whose address pairs share
/// that parity lands on one worker.
#[inline]
pub fn mix64(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// Identifier of a flow within one analysis run, unique and increasing in
/// order of first packet.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
pub struct FlowId(pub u64);

impl fmt::Display for FlowId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "F{:x}", self.0)
    }
}

/// Where a TCP connection got to, from what the flow table saw.
///
/// The vocabulary follows Zeek's `conn_state` where it can; see [`TcpState::zeek_conn_state`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TcpState {
    /// Not TCP, or nothing seen yet.
    #[default]
    None,
    /// A SYN was seen and nothing answered.
    SynSent,
    /// SYN and SYN+ACK seen, the final ACK not yet.
    SynReceived,
    /// The three-way handshake completed.
    Established,
    /// Traffic was picked up mid-stream: no handshake seen.
    MidStream,
    /// One side sent FIN.
    Closing,
    /// Both sides sent FIN.
    Closed,
    /// A SYN was answered by RST: the port was closed.
    Rejected,
    /// An established or mid-stream connection was reset.
    Reset,
}

impl TcpState {
    /// A short Zeek-style connection state (`S0`, `REJ`, `SF`, …) for
    /// responders used to reading `conn.log`.
    pub fn zeek_conn_state(self) -> &'static str {
        match self {
            TcpState::None => "OTH",
            TcpState::SynSent => "S0",
            TcpState::SynReceived => "S1",
            TcpState::Established => "S1",
            TcpState::MidStream => "OTH",
            TcpState::Closing => "S2",
            TcpState::Closed => "SF",
            TcpState::Rejected => "REJ",
            TcpState::Reset => "RSTO",
        }
    }
}

/// Application-layer protocol of a flow, identified by content (ports are
/// only a hint).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum AppProto {
    /// Not (yet) identified.
    #[default]
    Unknown,
    /// DNS over UDP or TCP.
    Dns,
    /// TLS (any version; HTTPS, SMTPS, …).
    Tls,
    /// HTTP/1.x.
    Http,
    /// SSH.
    Ssh,
    /// SMB1 or SMB2/3.
    Smb,
    /// DHCP (BOOTP).
    Dhcp,
    /// NTP.
    Ntp,
    /// QUIC.
    Quic,
    /// FTP control channel.
    Ftp,
    /// SMTP.
    Smtp,
    /// SOCKS 4 or 5 proxy handshake (what follows is identified on its own).
    Socks,
    /// Connection-oriented DCE-RPC over TCP (MS-RPCE ncacn_ip_tcp).
    DceRpc,
    /// Kerberos V5 (RFC 4120) over UDP or TCP.
    Kerberos,
}

impl AppProto {
    /// Every protocol, `Unknown` first.
    pub const ALL: [AppProto; 14] = [
        AppProto::Unknown,
        AppProto::Dns,
        AppProto::Tls,
        AppProto::Http,
        AppProto::Ssh,
        AppProto::Smb,
        AppProto::Dhcp,
        AppProto::Ntp,
        AppProto::Quic,
        AppProto::Ftp,
        AppProto::Smtp,
        AppProto::Socks,
        AppProto::DceRpc,
        AppProto::Kerberos,
    ];

    /// Lower-case name, as used in logs and ECS `network.protocol`.
    pub fn name(self) -> &'static str {
        match self {
            AppProto::Unknown => "unknown",
            AppProto::Dns => "dns",
            AppProto::Tls => "tls",
            AppProto::Http => "http",
            AppProto::Ssh => "ssh",
            AppProto::Smb => "smb",
            AppProto::Dhcp => "dhcp",
            AppProto::Ntp => "ntp",
            AppProto::Quic => "quic",
            AppProto::Ftp => "ftp",
            AppProto::Smtp => "smtp",
            AppProto::Socks => "socks",
            AppProto::DceRpc => "dcerpc",
            AppProto::Kerberos => "kerberos",
        }
    }
}

impl fmt::Display for AppProto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a flow record was emitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlowEndReason {
    /// No packet for longer than the idle timeout.
    IdleTimeout,
    /// The flow lasted longer than the active timeout; a new record continues it.
    ActiveTimeout,
    /// TCP closed by FIN from both sides or by RST.
    TcpClose,
    /// The flow table was full and this flow was the least recently seen.
    Evicted,
    /// The input ended with the flow still open.
    EndOfInput,
    /// Not an end: a snapshot of a flow that goes on, given to
    /// [`Analyzer::on_flow_update`](crate::Analyzer::on_flow_update) (never
    /// logged, never to `on_flow_end`).
    Ongoing,
}

impl FlowEndReason {
    /// The snake_case name (`idle_timeout`, `tcp_close`, …), as serialised.
    pub fn as_str(self) -> &'static str {
        match self {
            FlowEndReason::IdleTimeout => "idle_timeout",
            FlowEndReason::ActiveTimeout => "active_timeout",
            FlowEndReason::TcpClose => "tcp_close",
            FlowEndReason::Evicted => "evicted",
            FlowEndReason::EndOfInput => "end_of_input",
            FlowEndReason::Ongoing => "ongoing",
        }
    }
}

/// Counters for one direction of a flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DirectionStats {
    /// Packets.
    pub packets: u64,
    /// Bytes on the wire (frame length).
    pub bytes: u64,
    /// Transport payload bytes.
    pub payload_bytes: u64,
    /// Union of TCP flags sent in this direction.
    pub tcp_flags: TcpFlags,
}

/// Everything the flow table knows about a finished (or evicted) flow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlowRecord {
    /// Identifier within this run.
    pub id: FlowId,
    /// Community ID v1 (`1:base64`), the same string Zeek and Suricata compute.
    pub community_id: String,
    /// The originator: sender of the first packet, or of the SYN when one was seen.
    pub client: Endpoint,
    /// The responder.
    pub server: Endpoint,
    /// Transport protocol.
    pub transport: Transport,
    /// Outermost VLAN id, 0 when untagged.
    pub vlan: u16,
    /// First and last packet times.
    pub time: TimeRange,
    /// Client-to-server counters.
    pub to_server: DirectionStats,
    /// Server-to-client counters.
    pub to_client: DirectionStats,
    /// TCP state at the end (`None` for other transports).
    pub tcp_state: TcpState,
    /// Application protocol identified from content.
    pub app_proto: AppProto,
    /// Why this record was emitted.
    pub end_reason: FlowEndReason,
    /// Bytes missing from TCP reassembly (gaps), both directions.
    pub missing_bytes: u64,
}

impl FlowRecord {
    /// The flow key (direction-free).
    pub fn key(&self) -> FlowKey {
        FlowKey::from_packet(self.client, self.server, self.transport, self.vlan).0
    }
    /// Total packets both ways.
    pub fn packets(&self) -> u64 {
        self.to_server.packets + self.to_client.packets
    }
    /// Total bytes both ways.
    pub fn bytes(&self) -> u64 {
        self.to_server.bytes + self.to_client.bytes
    }
    /// How long the flow lasted.
    pub fn duration(&self) -> Duration {
        self.time.duration()
    }
    /// A compact reference to this flow for a finding's evidence.
    pub fn reference(&self) -> FlowRef {
        FlowRef {
            community_id: Some(self.community_id.clone()),
            flow_id: Some(self.id),
            client: self.client,
            server: self.server,
            transport: self.transport,
            time: self.time,
        }
    }
}

/// A pointer from a finding (or event) back to a flow: enough to find it in
/// netsec's flow log, Zeek's `conn.log` or Suricata's `eve.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowRef {
    /// Community ID, when known.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub community_id: Option<String>,
    /// Flow id within this run, when known.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub flow_id: Option<FlowId>,
    /// Originator.
    pub client: Endpoint,
    /// Responder.
    pub server: Endpoint,
    /// Transport.
    pub transport: Transport,
    /// Time span covered.
    pub time: TimeRange,
}

impl fmt::Display for FlowRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} → {}", self.transport, self.client, self.server)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn ep(a: u8, port: u16) -> Endpoint {
        Endpoint::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, a)), port)
    }

    #[test]
    fn key_is_direction_free() {
        let (k1, fwd) = FlowKey::from_packet(ep(1, 4000), ep(2, 80), Transport::Tcp, 0);
        let (k2, rev) = FlowKey::from_packet(ep(2, 80), ep(1, 4000), Transport::Tcp, 0);
        assert_eq!(k1, k2);
        assert_ne!(fwd, rev);
        assert_eq!(k1.symmetric_hash(), k2.symmetric_hash());
        let (k3, _) = FlowKey::from_packet(ep(1, 4001), ep(2, 80), Transport::Tcp, 0);
        assert_ne!(k1.symmetric_hash(), k3.symmetric_hash());
    }
}
