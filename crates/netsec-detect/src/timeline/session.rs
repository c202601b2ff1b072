//! What the timeline keeps of the traffic behind the findings: sessions
//! linked across protocols (a DNS lookup, the connection that followed to
//! the address it returned, the HTTP request or TLS server name inside it),
//! accepted connections to home hosts on administrative ports (when a
//! guessed login happened; movement no detector reported), and who talked
//! to whom.
//!
//! Every table has a capacity; past it the oldest entries go and are counted.

use std::collections::{HashMap, VecDeque};

use netsec_model::Duration;
use std::net::IpAddr;

use netsec_model::{
    Analyzer, AppEvent, FindingSink, FlowId, FlowRecord, HttpMessage, Interests, TcpState,
    TimeRange, Timestamp, TlsMessage,
};
use serde::Serialize;

use crate::scope::NetworkConfig;
use crate::table::BoundedTable;

/// Entries of the recorder's keyed tables never expire by time: they leave
/// when used (a flow's end) or when the table is full.
const NEVER_IDLE: Duration = Duration::from_secs(86_400 * 365);

/// Limits and windows of the [`TrafficRecorder`].
#[derive(Debug, Clone)]
pub struct TrafficConfig {
    /// The home networks (internal hosts).
    pub network: NetworkConfig,
    /// A connection follows a lookup when it starts at most this long after
    /// the answer (seconds; Zeek's `dns.log` joins answers to `conn.log` by
    /// address alone, which links anything ever resolved).
    pub lookup_window_secs: f64,
    /// Linked sessions kept (oldest dropped past it).
    pub max_sessions: usize,
    /// Accepted connections to home hosts on administrative ports kept.
    pub max_admin_sessions: usize,
    /// DNS answers remembered (client, address) → name.
    pub max_resolutions: usize,
    /// Host pairs counted for the host graph.
    pub max_host_pairs: usize,
    /// Flows whose HTTP requests or TLS names wait for the flow's end.
    pub max_open_flows: usize,
}

impl Default for TrafficConfig {
    fn default() -> Self {
        TrafficConfig {
            network: NetworkConfig::default(),
            lookup_window_secs: 300.0,
            max_sessions: 10_000,
            max_admin_sessions: 10_000,
            max_resolutions: 50_000,
            max_host_pairs: 50_000,
            max_open_flows: 50_000,
        }
    }
}

/// Ports of remote administration and file sharing, where a connection
/// between home hosts is a way to move (SSH, DCE-RPC, NetBIOS, SMB, RDP,
/// WinRM: the `lateral` detector's list).
pub const ADMIN_PORTS: [u16; 7] = [22, 135, 139, 445, 3389, 5985, 5986];

/// An HTTP request seen inside a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HttpRequestSeen {
    /// Method.
    pub method: String,
    /// `Host` header.
    pub host: Option<String>,
    /// Request target.
    pub uri: String,
    /// `User-Agent` header.
    pub user_agent: Option<String>,
}

/// A connection and what is known of it across protocols.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LinkedSession {
    /// The client.
    pub client: IpAddr,
    /// The server address.
    pub server: IpAddr,
    /// The server port.
    pub port: u16,
    /// Application protocol (`http`, `tls`).
    pub app_proto: String,
    /// The connection's span.
    pub time: TimeRange,
    /// Bytes both ways on the wire.
    pub bytes: u64,
    /// Community ID of the connection.
    pub community_id: String,
    /// The name the client looked up and got this address for, if it did.
    pub lookup: Option<Lookup>,
    /// TLS server name.
    pub server_name: Option<String>,
    /// HTTP requests inside it (at most [`MAX_REQUESTS_PER_SESSION`]).
    pub http: Vec<HttpRequestSeen>,
}

/// A DNS answer that preceded a connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lookup {
    /// Name asked for.
    pub name: String,
    /// When the answer came.
    pub answered: Timestamp,
    /// The resolver that answered.
    pub resolver: IpAddr,
}

/// Requests kept per session.
pub const MAX_REQUESTS_PER_SESSION: usize = 8;

/// An accepted connection to a home host on an administrative port (a
/// login that worked, a hop between home hosts).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct AdminSession {
    /// Who opened it.
    pub client: IpAddr,
    /// Who accepted it.
    pub server: IpAddr,
    /// The port.
    pub port: u16,
    /// Its span.
    pub time: TimeRange,
    /// Bytes both ways.
    pub bytes: u64,
}

/// Traffic between two hosts, for the host graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct PairTraffic {
    /// Flows from the first host to the second.
    pub flows: u64,
    /// Bytes both ways.
    pub bytes: u64,
}

#[derive(Debug, Default)]
struct OpenFlow {
    server_name: Option<String>,
    http: Vec<HttpRequestSeen>,
}

/// An [`Analyzer`] (events and flow records) that keeps what the timeline
/// links findings with. Feed it through the pipeline, then hand it to
/// [`super::TimelineBuilder::traffic`].
#[derive(Debug)]
pub struct TrafficRecorder {
    config: TrafficConfig,
    resolutions: BoundedTable<(IpAddr, IpAddr), Lookup>,
    open: BoundedTable<FlowId, OpenFlow>,
    sessions: VecDeque<LinkedSession>,
    admin: VecDeque<AdminSession>,
    pairs: HashMap<(IpAddr, IpAddr), PairTraffic>,
    evicted: u64,
}

impl TrafficRecorder {
    /// An empty recorder.
    pub fn new(config: TrafficConfig) -> Self {
        TrafficRecorder {
            resolutions: BoundedTable::new(config.max_resolutions, NEVER_IDLE),
            open: BoundedTable::new(config.max_open_flows, NEVER_IDLE),
            sessions: VecDeque::new(),
            admin: VecDeque::new(),
            pairs: HashMap::new(),
            evicted: 0,
            config,
        }
    }

    /// Sessions linked across protocols, oldest first.
    pub fn sessions(&self) -> impl Iterator<Item = &LinkedSession> {
        self.sessions.iter()
    }

    /// Accepted connections to home hosts on administrative ports, oldest first.
    pub fn admin_sessions(&self) -> impl Iterator<Item = &AdminSession> {
        self.admin.iter()
    }

    /// Traffic per (client, server) pair.
    pub fn host_pairs(&self) -> &HashMap<(IpAddr, IpAddr), PairTraffic> {
        &self.pairs
    }

    /// Entries dropped from full tables.
    pub fn evicted(&self) -> u64 {
        self.evicted + self.resolutions.evicted() + self.open.evicted()
    }

    fn remember_resolution(&mut self, client: IpAddr, address: IpAddr, lookup: Lookup) {
        let at = lookup.answered;
        let slot = self
            .resolutions
            .touch((client, address), at, || lookup.clone());
        *slot = lookup;
    }

    fn open_flow(&mut self, id: FlowId, now: Timestamp) -> &mut OpenFlow {
        self.open.touch(id, now, OpenFlow::default)
    }

    fn push_bounded<T>(queue: &mut VecDeque<T>, item: T, capacity: usize, evicted: &mut u64) {
        queue.push_back(item);
        while queue.len() > capacity {
            queue.pop_front();
            *evicted += 1;
        }
    }
}

impl Analyzer for TrafficRecorder {
    fn name(&self) -> &'static str {
        "timeline"
    }

    fn interests(&self) -> Interests {
        Interests {
            events: true,
            flows: true,
            ..Interests::NONE
        }
    }

    fn memory_used(&self) -> usize {
        self.resolutions.memory_used()
            + self.open.memory_used()
            + self.sessions.len() * 256
            + self.admin.len() * std::mem::size_of::<AdminSession>()
            + self.pairs.len() * 64
    }

    fn on_event(&mut self, event: &AppEvent, _out: &mut dyn FindingSink) {
        match event {
            AppEvent::Dns(dns) if dns.is_response => {
                let Some(question) = dns.questions.first() else {
                    return;
                };
                for answer in &dns.answers {
                    if let Ok(address) = answer.data.parse::<IpAddr>() {
                        let lookup = Lookup {
                            name: question.name.as_str().to_ascii_lowercase(),
                            answered: dns.ctx.ts,
                            resolver: dns.ctx.src.ip,
                        };
                        self.remember_resolution(dns.ctx.dst.ip, address, lookup);
                    }
                }
            }
            AppEvent::Http(http) => {
                let (
                    Some(id),
                    HttpMessage::Request {
                        method,
                        uri,
                        host,
                        user_agent,
                    },
                ) = (http.ctx.flow_id, &http.message)
                else {
                    return;
                };
                let request = HttpRequestSeen {
                    method: method.to_string(),
                    host: host.clone(),
                    uri: uri.clone(),
                    user_agent: user_agent.clone(),
                };
                let open = self.open_flow(id, http.ctx.ts);
                if open.http.len() < MAX_REQUESTS_PER_SESSION {
                    open.http.push(request);
                }
            }
            AppEvent::Tls(tls) => {
                let (Some(id), TlsMessage::ClientHello(hello)) = (tls.ctx.flow_id, &tls.message)
                else {
                    return;
                };
                if let Some(name) = &hello.server_name {
                    self.open_flow(id, tls.ctx.ts).server_name = Some(name.to_ascii_lowercase());
                }
            }
            _ => {}
        }
    }

    fn on_flow_end(&mut self, flow: &FlowRecord, _out: &mut dyn FindingSink) {
        let (client, server) = (flow.client.ip, flow.server.ip);
        let pair_known = self.pairs.contains_key(&(client, server));
        if pair_known || self.pairs.len() < self.config.max_host_pairs {
            let pair = self.pairs.entry((client, server)).or_default();
            pair.flows += 1;
            pair.bytes += flow.bytes();
        } else {
            self.evicted += 1;
        }
        let accepted = matches!(
            flow.tcp_state,
            TcpState::Established | TcpState::Closing | TcpState::Closed | TcpState::MidStream
        ) || (flow.tcp_state == TcpState::Reset && flow.to_client.payload_bytes > 0);
        let net = &self.config.network;
        if accepted && ADMIN_PORTS.contains(&flow.server.port) && net.is_home(server) {
            let connection = AdminSession {
                client,
                server,
                port: flow.server.port,
                time: flow.time,
                bytes: flow.bytes(),
            };
            let capacity = self.config.max_admin_sessions;
            Self::push_bounded(&mut self.admin, connection, capacity, &mut self.evicted);
        }
        let open = self.open.remove(&flow.id);
        let lookup = self
            .resolutions
            .get(&(client, server))
            .filter(|l| {
                let lag = flow.time.start.since(l.answered).as_secs_f64();
                (-1.0..=self.config.lookup_window_secs).contains(&lag)
            })
            .cloned();
        if lookup.is_none() && open.is_none() {
            return;
        }
        let open = open.unwrap_or_default();
        let session = LinkedSession {
            client,
            server,
            port: flow.server.port,
            app_proto: flow.app_proto.name().to_string(),
            time: flow.time,
            bytes: flow.bytes(),
            community_id: flow.community_id.clone(),
            lookup,
            server_name: open.server_name,
            http: open.http,
        };
        let capacity = self.config.max_sessions;
        Self::push_bounded(&mut self.sessions, session, capacity, &mut self.evicted);
    }
}

/// Sessions of one kind, counted: the same client, looked-up name, server,
/// port and protocol (a beacon's 15 lookups and requests are one line).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionGroup {
    /// The client.
    pub client: IpAddr,
    /// The name it looked up first, when it did.
    pub lookup: Option<String>,
    /// The resolver that answered.
    pub resolver: Option<IpAddr>,
    /// The server.
    pub server: IpAddr,
    /// Its port.
    pub port: u16,
    /// Application protocol.
    pub app_proto: String,
    /// TLS server name.
    pub server_name: Option<String>,
    /// From the first session's start to the last one's end.
    pub time: TimeRange,
    /// Sessions.
    pub sessions: u64,
    /// Bytes of all of them.
    pub bytes: u64,
    /// HTTP requests (`GET /beacon`) and how many times each was seen.
    pub requests: Vec<(String, u64)>,
    /// Community IDs of the first sessions (at most [`MAX_REQUESTS_PER_SESSION`]),
    /// to find them in flow logs.
    pub community_ids: Vec<String>,
}

/// Group sessions, in order of each group's first session.
pub fn group_sessions<'a>(
    sessions: impl IntoIterator<Item = &'a LinkedSession>,
) -> Vec<SessionGroup> {
    let mut groups: Vec<SessionGroup> = Vec::new();
    for s in sessions {
        let lookup = s.lookup.as_ref().map(|l| l.name.clone());
        let found = groups.iter_mut().find(|g| {
            g.client == s.client
                && g.server == s.server
                && g.port == s.port
                && g.app_proto == s.app_proto
                && g.lookup == lookup
                && g.server_name == s.server_name
        });
        let group = match found {
            Some(g) => g,
            None => {
                groups.push(SessionGroup {
                    client: s.client,
                    lookup,
                    resolver: s.lookup.as_ref().map(|l| l.resolver),
                    server: s.server,
                    port: s.port,
                    app_proto: s.app_proto.clone(),
                    server_name: s.server_name.clone(),
                    time: s.time,
                    sessions: 0,
                    bytes: 0,
                    requests: Vec::new(),
                    community_ids: Vec::new(),
                });
                let Some(new) = groups.last_mut() else {
                    continue;
                };
                new
            }
        };
        group.sessions += 1;
        group.bytes += s.bytes;
        group.time.start = group.time.start.min(s.time.start);
        group.time.end = group.time.end.max(s.time.end);
        if group.community_ids.len() < MAX_REQUESTS_PER_SESSION {
            group.community_ids.push(s.community_id.clone());
        }
        for r in &s.http {
            let line = format!("{} {}", r.method, r.uri);
            let room = group.requests.len() < MAX_REQUESTS_PER_SESSION;
            match group.requests.iter_mut().find(|(l, _)| *l == line) {
                Some((_, n)) => *n += 1,
                None if room => group.requests.push((line, 1)),
                None => {}
            }
        }
    }
    groups
}
