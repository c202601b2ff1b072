//! Policies against observed traffic.
//!
//! [`PolicyChecker`] takes finished flows ([`FlowRecord`]s, one at a time as
//! a flow table ends them) and says whether the cluster's policies allow
//! each: the gap between policy on paper and traffic on the wire.
//! [`PolicySuggester`] collects the flows and writes least-privilege
//! NetworkPolicy manifests that allow exactly what was seen.
//!
//! Addresses are mapped to workloads from the manifests (`status.podIP(s)`
//! of pods, `spec.clusterIP(s)` of Services, whose traffic goes to the pods
//! they select on the target port) or from a mapping file.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;

use netsec_model::{
    EntityRole, EntityValue, Finding, FindingCategory, FlowRecord, FlowRef, Severity, TcpState,
    Transport,
};
use serde_json::{json, Value as Json};

use super::conn::ConnSet;
use super::manifest::{Cluster, LoadWarning};
use super::reach::{allowed, Peer};
use super::{PortRef, Selector, Workload};

/// What an address belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddressTarget {
    /// A workload's pod, by workload id (`ns/name[Kind]`).
    Workload(String),
    /// A Service's cluster IP (namespace, name).
    Service(String, String),
}

/// Addresses of the cluster's pods and Services.
#[derive(Debug, Clone, Default)]
pub struct AddressMap {
    by_ip: HashMap<IpAddr, AddressTarget>,
}

impl AddressMap {
    /// The addresses the manifests record: pod IPs and Service cluster IPs.
    pub fn from_cluster(cluster: &Cluster) -> Self {
        let mut map = AddressMap::default();
        for w in cluster.workloads.values() {
            for ip in &w.ips {
                map.by_ip.insert(*ip, AddressTarget::Workload(w.id()));
            }
        }
        for s in &cluster.services {
            for ip in &s.cluster_ips {
                map.by_ip.insert(
                    *ip,
                    AddressTarget::Service(s.namespace.clone(), s.name.clone()),
                );
            }
        }
        map
    }

    /// Add a mapping file's lines: `ADDRESS ns/name[Kind]` for a workload or
    /// `ADDRESS service:ns/name` for a Service; `#` starts a comment. A
    /// later line for the same address wins. Bad lines are returned as
    /// warnings (the line number in `document`) and skipped.
    pub fn add_mapping_text(&mut self, text: &str, file: &str) -> Vec<LoadWarning> {
        let mut warnings = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let mut fields = line.split_whitespace();
            let (Some(ip), Some(target), None) = (fields.next(), fields.next(), fields.next())
            else {
                warnings.push(mapping_warning(file, n, "expected `ADDRESS TARGET`"));
                continue;
            };
            let Ok(ip) = ip.parse::<IpAddr>() else {
                warnings.push(mapping_warning(file, n, &format!("bad address {ip:?}")));
                continue;
            };
            let target = if let Some(svc) = target.strip_prefix("service:") {
                match svc.split_once('/') {
                    Some((ns, name)) if !ns.is_empty() && !name.is_empty() => {
                        AddressTarget::Service(ns.into(), name.into())
                    }
                    _ => {
                        warnings.push(mapping_warning(file, n, "service target is not ns/name"));
                        continue;
                    }
                }
            } else if target.contains('/') && target.ends_with(']') && target.contains('[') {
                AddressTarget::Workload(target.to_string())
            } else {
                warnings.push(mapping_warning(
                    file,
                    n,
                    &format!("target {target:?} is neither ns/name[Kind] nor service:ns/name"),
                ));
                continue;
            };
            self.by_ip.insert(ip, target);
        }
        warnings
    }

    /// What `ip` belongs to.
    pub fn get(&self, ip: &IpAddr) -> Option<&AddressTarget> {
        self.by_ip.get(ip)
    }

    /// Number of addresses mapped.
    pub fn len(&self) -> usize {
        self.by_ip.len()
    }

    /// Whether no address is mapped.
    pub fn is_empty(&self) -> bool {
        self.by_ip.is_empty()
    }
}

fn mapping_warning(file: &str, line: usize, message: &str) -> LoadWarning {
    LoadWarning {
        file: file.to_string(),
        document: line + 1,
        message: format!("line {}: {message}", line + 1),
    }
}

/// One observed connection resolved to the cluster's terms.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ObservedConnection {
    /// Source (the flow's client).
    pub src: Peer,
    /// Destination: a workload (a Service address resolved to its pods) or external address.
    pub dst: Peer,
    /// `TCP`, `UDP` or `SCTP`.
    pub protocol: &'static str,
    /// Destination port on the pod (a Service port translated to its target port).
    pub port: u32,
}

fn protocol_name(t: Transport) -> Option<&'static str> {
    match t {
        Transport::Tcp => Some("TCP"),
        Transport::Udp => Some("UDP"),
        Transport::Sctp => Some("SCTP"),
        _ => None,
    }
}

/// Why a flow was not checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unresolved {
    /// Neither end is a workload or a Service of the cluster.
    OutsideCluster,
    /// Not TCP, UDP or SCTP (policies only speak those).
    NotTransport,
    /// An external IPv6 peer: ipBlocks are modelled for IPv4 only.
    ExternalIpv6,
    /// A Service address whose Service is unknown, selects no workload, or has no such port.
    UnknownService,
}

fn external(ip: IpAddr) -> Result<Peer, Unresolved> {
    match ip {
        IpAddr::V4(v4) => Ok(Peer::External(u32::from(v4), u32::from(v4))),
        IpAddr::V6(_) => Err(Unresolved::ExternalIpv6),
    }
}

/// A Service port's target on one backend: the target number, or the
/// container port of that name (`None` when it does not resolve).
fn service_target(
    cluster: &Cluster,
    ns: &str,
    name: &str,
    port: u16,
    protocol: &str,
    backend: &Workload,
) -> Option<u32> {
    let svc = cluster
        .services
        .iter()
        .find(|s| s.namespace == ns && s.name == name)?;
    let sp = svc
        .ports
        .iter()
        .find(|p| p.port == u32::from(port) && p.protocol.eq_ignore_ascii_case(protocol))?;
    match &sp.target {
        None => Some(sp.port),
        Some(PortRef::Number(n)) => Some(*n),
        Some(PortRef::Name(n)) => backend
            .ports
            .iter()
            .find(|cp| cp.name.as_deref() == Some(n.as_str()))
            .map(|cp| cp.port),
    }
}

/// A flow in the cluster's terms: one entry per destination pod (a Service
/// address may stand for several workloads).
pub fn resolve_flow(
    cluster: &Cluster,
    map: &AddressMap,
    flow: &FlowRecord,
) -> Result<Vec<ObservedConnection>, Unresolved> {
    let protocol = protocol_name(flow.transport).ok_or(Unresolved::NotTransport)?;
    let src_target = map.get(&flow.client.ip);
    let dst_target = map.get(&flow.server.ip);
    if src_target.is_none() && dst_target.is_none() {
        return Err(Unresolved::OutsideCluster);
    }
    let src = match src_target {
        Some(AddressTarget::Workload(id)) => Peer::Workload(id.clone()),
        // A Service address never originates traffic; treat it as outside.
        _ => external(flow.client.ip)?,
    };
    let port = u32::from(flow.server.port);
    match dst_target {
        Some(AddressTarget::Workload(id)) => Ok(vec![ObservedConnection {
            src,
            dst: Peer::Workload(id.clone()),
            protocol,
            port,
        }]),
        Some(AddressTarget::Service(ns, name)) => {
            let svc = cluster
                .services
                .iter()
                .find(|s| &s.namespace == ns && &s.name == name)
                .ok_or(Unresolved::UnknownService)?;
            let out: Vec<ObservedConnection> = cluster
                .workloads
                .values()
                .filter(|w| svc.selects(w))
                .filter_map(|w| {
                    let target = service_target(cluster, ns, name, flow.server.port, protocol, w)?;
                    Some(ObservedConnection {
                        src: src.clone(),
                        dst: Peer::Workload(w.id()),
                        protocol,
                        port: target,
                    })
                })
                .collect();
            if out.is_empty() {
                Err(Unresolved::UnknownService)
            } else {
                Ok(out)
            }
        }
        None => Ok(vec![ObservedConnection {
            src,
            dst: external(flow.server.ip)?,
            protocol,
            port,
        }]),
    }
}

/// What the policies say about an observed flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The policies allow it.
    Allowed,
    /// The policies deny it, yet the responder answered: not enforced.
    DeniedButAnswered,
    /// The policies deny it and nothing came back (consistent with enforcement).
    DeniedUnanswered,
}

/// A checked flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowVerdict {
    /// The flow.
    pub flow: FlowRef,
    /// The connection in the cluster's terms.
    pub connection: ObservedConnection,
    /// What the policies allow between these two peers.
    pub allowed: ConnSet,
    /// The verdict.
    pub verdict: Verdict,
}

/// Counters of a [`PolicyChecker`] run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CheckStats {
    /// Flows given.
    pub flows: u64,
    /// Connections checked (a flow to a Service counts once per backend).
    pub checked: u64,
    /// Allowed.
    pub allowed: u64,
    /// Denied but answered.
    pub denied_answered: u64,
    /// Denied, unanswered.
    pub denied_unanswered: u64,
    /// Flows with neither end in the cluster.
    pub outside_cluster: u64,
    /// Flows that are not TCP, UDP or SCTP.
    pub not_transport: u64,
    /// Flows with an external IPv6 peer.
    pub external_ipv6: u64,
    /// Flows to Service addresses that resolve to no pod port.
    pub unknown_service: u64,
    /// Times the peer-pair cache was full and cleared.
    pub cache_evictions: u64,
}

/// Peer pairs whose allowed connections are kept between flows. Each entry
/// is small (two ids and a few ranges); a cluster of 250 workloads talking
/// all-to-all fits.
pub const DEFAULT_CACHE_CAPACITY: usize = 65_536;

/// Checks flows against the cluster's policies, one flow at a time.
#[derive(Debug)]
pub struct PolicyChecker<'c> {
    cluster: &'c Cluster,
    map: &'c AddressMap,
    cache: HashMap<(Peer, Peer), ConnSet>,
    capacity: usize,
    stats: CheckStats,
}

impl<'c> PolicyChecker<'c> {
    /// A checker over `cluster`, mapping addresses with `map`.
    pub fn new(cluster: &'c Cluster, map: &'c AddressMap) -> Self {
        Self::with_capacity(cluster, map, DEFAULT_CACHE_CAPACITY)
    }

    /// As [`PolicyChecker::new`], caching at most `capacity` peer pairs
    /// (the cache is cleared when full, and the clearing counted).
    pub fn with_capacity(cluster: &'c Cluster, map: &'c AddressMap, capacity: usize) -> Self {
        PolicyChecker {
            cluster,
            map,
            cache: HashMap::new(),
            capacity: capacity.max(1),
            stats: CheckStats::default(),
        }
    }

    fn allowed_between(&mut self, src: &Peer, dst: &Peer) -> ConnSet {
        if let Some(c) = self.cache.get(&(src.clone(), dst.clone())) {
            return c.clone();
        }
        let c = allowed(self.cluster, src, dst);
        if self.cache.len() >= self.capacity {
            self.cache.clear();
            self.stats.cache_evictions += 1;
        }
        self.cache.insert((src.clone(), dst.clone()), c.clone());
        c
    }

    /// Check one flow: a verdict per destination pod (empty when the flow
    /// could not be placed in the cluster; see [`PolicyChecker::stats`]).
    pub fn check(&mut self, flow: &FlowRecord) -> Vec<FlowVerdict> {
        self.stats.flows += 1;
        let conns = match resolve_flow(self.cluster, self.map, flow) {
            Ok(c) => c,
            Err(why) => {
                match why {
                    Unresolved::OutsideCluster => self.stats.outside_cluster += 1,
                    Unresolved::NotTransport => self.stats.not_transport += 1,
                    Unresolved::ExternalIpv6 => self.stats.external_ipv6 += 1,
                    Unresolved::UnknownService => self.stats.unknown_service += 1,
                }
                return Vec::new();
            }
        };
        let answered = flow.to_client.packets > 0;
        let mut out = Vec::with_capacity(conns.len());
        for c in conns {
            let allowed = self.allowed_between(&c.src, &c.dst);
            let verdict = if allowed.contains(c.protocol, c.port) {
                self.stats.allowed += 1;
                Verdict::Allowed
            } else if answered {
                self.stats.denied_answered += 1;
                Verdict::DeniedButAnswered
            } else {
                self.stats.denied_unanswered += 1;
                Verdict::DeniedUnanswered
            };
            self.stats.checked += 1;
            out.push(FlowVerdict {
                flow: flow.reference(),
                connection: c,
                allowed,
                verdict,
            });
        }
        out
    }

    /// Counters so far.
    pub fn stats(&self) -> CheckStats {
        self.stats
    }
}

fn peer_entity(cluster: &Cluster, p: &Peer) -> Option<EntityValue> {
    match p {
        Peer::Workload(id) => cluster.workloads.get(id).map(|w| EntityValue::Workload {
            namespace: w.namespace.clone(),
            name: w.name.clone(),
            kind: w.kind.clone(),
        }),
        Peer::External(a, _) => Some(EntityValue::Host {
            ip: IpAddr::V4((*a).into()),
        }),
        Peer::IngressController => None,
    }
}

/// A finding for a flow the policies deny but that was answered: the
/// policies are not enforced for it (no CNI enforcement, or a stale
/// manifest). `None` for other verdicts.
pub fn violation_finding(cluster: &Cluster, v: &FlowVerdict) -> Option<Finding> {
    if v.verdict != Verdict::DeniedButAnswered {
        return None;
    }
    let c = &v.connection;
    let mut f = Finding::new(
        "k8s_flow_violates_policy",
        format!(
            "{} => {} {} {} flowed though the policies deny it",
            c.src, c.dst, c.protocol, c.port
        ),
        FindingCategory::PolicyViolation,
        Severity::Medium,
        0.9,
        v.flow.time,
        "netsec-contain/k8s",
    )
    .with_summary(format!(
        "observed {} => {} : {} {} with replies; the policies allow only {}",
        c.src, c.dst, c.protocol, c.port, v.allowed
    ))
    .with_flow(v.flow.clone());
    if let Some(e) = peer_entity(cluster, &c.src) {
        f = f.with_entity(EntityRole::Source, e);
    }
    if let Some(e) = peer_entity(cluster, &c.dst) {
        f = f.with_entity(EntityRole::Target, e);
    }
    Some(f)
}

/// Whether a flow was a working connection: TCP with a completed handshake
/// (or picked up mid-stream), other transports answered.
pub fn connection_worked(flow: &FlowRecord) -> bool {
    flow.to_client.packets > 0
        && match flow.transport {
            Transport::Tcp => matches!(
                flow.tcp_state,
                TcpState::Established
                    | TcpState::MidStream
                    | TcpState::Closing
                    | TcpState::Closed
                    | TcpState::Reset
            ),
            _ => true,
        }
}

/// Distinct observed connections kept by a [`PolicySuggester`].
pub const DEFAULT_SUGGEST_CAPACITY: usize = 100_000;

/// Collects observed connections and writes the least-privilege
/// NetworkPolicies that allow exactly them.
#[derive(Debug)]
pub struct PolicySuggester<'c> {
    cluster: &'c Cluster,
    map: &'c AddressMap,
    observed: BTreeSet<ObservedConnection>,
    capacity: usize,
    dropped: u64,
    unresolved: u64,
    unanswered: u64,
}

impl<'c> PolicySuggester<'c> {
    /// A suggester over `cluster`'s workloads, mapping addresses with `map`.
    pub fn new(cluster: &'c Cluster, map: &'c AddressMap) -> Self {
        PolicySuggester {
            cluster,
            map,
            observed: BTreeSet::new(),
            capacity: DEFAULT_SUGGEST_CAPACITY,
            dropped: 0,
            unresolved: 0,
            unanswered: 0,
        }
    }

    /// Record one flow. Flows that did not work (unanswered, a TCP SYN
    /// refused or never completed, as a port scan leaves them) are counted,
    /// not allowed: the suggestion covers the connections that worked.
    pub fn observe(&mut self, flow: &FlowRecord) {
        if !connection_worked(flow) {
            self.unanswered += 1;
            return;
        }
        match resolve_flow(self.cluster, self.map, flow) {
            Ok(conns) => {
                for c in conns {
                    if self.observed.len() >= self.capacity && !self.observed.contains(&c) {
                        // Past capacity new connections are counted, not
                        // kept: the suggestion would be incomplete, so say so.
                        self.dropped += 1;
                    } else {
                        self.observed.insert(c);
                    }
                }
            }
            Err(_) => self.unresolved += 1,
        }
    }

    /// Distinct connections observed.
    pub fn observed(&self) -> &BTreeSet<ObservedConnection> {
        &self.observed
    }

    /// Connections not kept because the capacity was reached.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Flows skipped because they did not work (see [`connection_worked`]).
    pub fn unanswered(&self) -> u64 {
        self.unanswered
    }

    /// Flows that could not be placed in the cluster.
    pub fn unresolved(&self) -> u64 {
        self.unresolved
    }

    /// The suggested NetworkPolicies, one per group of workloads with the
    /// same namespace and labels, as Kubernetes objects (serialise with
    /// [`to_yaml`]). Every workload gets one: those with no observed
    /// traffic in a direction are denied that direction.
    pub fn suggest(&self) -> Vec<Json> {
        suggest_policies(self.cluster, &self.observed)
    }
}

/// The selector that picks exactly the workloads with `labels` in `ns`:
/// their labels, plus `DoesNotExist` on a key of every other workload of
/// the namespace whose labels include them (it would be selected too).
fn exact_selector(cluster: &Cluster, ns: &str, labels: &super::Labels) -> Selector {
    let mut sel = Selector {
        match_labels: labels.clone(),
        match_expressions: Vec::new(),
    };
    for w in cluster.workloads.values() {
        if w.namespace != ns || &w.labels == labels || !sel.matches(&w.labels) {
            continue;
        }
        if let Some(extra) = w.labels.keys().find(|k| !labels.contains_key(*k)) {
            sel.match_expressions
                .push((extra.clone(), "DoesNotExist".into(), Vec::new()));
        }
    }
    sel
}

fn selector_json(sel: &Selector) -> Json {
    let mut m = serde_json::Map::new();
    if !sel.match_labels.is_empty() {
        m.insert("matchLabels".into(), json!(sel.match_labels));
    }
    if !sel.match_expressions.is_empty() {
        m.insert(
            "matchExpressions".into(),
            Json::Array(
                sel.match_expressions
                    .iter()
                    .map(|(k, op, vals)| {
                        if vals.is_empty() {
                            json!({"key": k, "operator": op})
                        } else {
                            json!({"key": k, "operator": op, "values": vals})
                        }
                    })
                    .collect(),
            ),
        );
    }
    Json::Object(m)
}

fn peer_json(cluster: &Cluster, policy_ns: &str, p: &Peer) -> Option<Json> {
    match p {
        Peer::Workload(id) => {
            let w = cluster.workloads.get(id)?;
            let pods = selector_json(&exact_selector(cluster, &w.namespace, &w.labels));
            Some(if w.namespace == policy_ns {
                json!({"podSelector": pods})
            } else {
                json!({
                    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": w.namespace}},
                    "podSelector": pods,
                })
            })
        }
        Peer::External(a, b) if a == b => {
            Some(json!({"ipBlock": {"cidr": format!("{}/32", std::net::Ipv4Addr::from(*a))}}))
        }
        _ => None,
    }
}

fn rules_json(
    cluster: &Cluster,
    ns: &str,
    by_peer: &BTreeMap<Peer, BTreeSet<(&'static str, u32)>>,
    peer_key: &str,
) -> Json {
    Json::Array(
        by_peer
            .iter()
            .filter_map(|(peer, ports)| {
                let peer = peer_json(cluster, ns, peer)?;
                let ports: Vec<Json> = ports
                    .iter()
                    .map(|(proto, port)| json!({"protocol": proto, "port": port}))
                    .collect();
                Some(json!({ peer_key: [peer], "ports": ports }))
            })
            .collect(),
    )
}

/// Least-privilege NetworkPolicies allowing exactly `observed`.
pub fn suggest_policies(cluster: &Cluster, observed: &BTreeSet<ObservedConnection>) -> Vec<Json> {
    policies_allowing(cluster, observed, |_| true, "least-privilege")
}

/// NetworkPolicies, one per group of workloads with the same namespace and
/// labels where `select` is true of some member's id, that allow exactly
/// the `observed` connections of the group's members and deny the rest;
/// named `<workload>-<suffix>`.
pub fn policies_allowing(
    cluster: &Cluster,
    observed: &BTreeSet<ObservedConnection>,
    select: impl Fn(&str) -> bool,
    suffix: &str,
) -> Vec<Json> {
    // Workloads grouped by (namespace, labels): one selector, one policy.
    let mut groups: BTreeMap<(String, super::Labels), Vec<&Workload>> = BTreeMap::new();
    for w in cluster.workloads.values().filter(|w| select(&w.id())) {
        groups
            .entry((w.namespace.clone(), w.labels.clone()))
            .or_default()
            .push(w);
    }
    let mut out = Vec::new();
    for ((ns, labels), members) in &groups {
        let ids: BTreeSet<Peer> = members.iter().map(|w| Peer::Workload(w.id())).collect();
        let mut ingress: BTreeMap<Peer, BTreeSet<(&'static str, u32)>> = BTreeMap::new();
        let mut egress: BTreeMap<Peer, BTreeSet<(&'static str, u32)>> = BTreeMap::new();
        for c in observed {
            if ids.contains(&c.dst) {
                ingress
                    .entry(c.src.clone())
                    .or_default()
                    .insert((c.protocol, c.port));
            }
            if ids.contains(&c.src) {
                egress
                    .entry(c.dst.clone())
                    .or_default()
                    .insert((c.protocol, c.port));
            }
        }
        let name_base = members
            .iter()
            .map(|w| w.name.as_str())
            .next()
            .unwrap_or("workload");
        let name = format!("{}-{suffix}", dns_label(name_base, suffix));
        out.push(json!({
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {
                "name": name,
                "namespace": ns,
                "labels": {"app.kubernetes.io/managed-by": "netsec"},
                "annotations": {
                    "netsec/workloads": members.iter().map(|w| w.id()).collect::<Vec<_>>().join(","),
                },
            },
            "spec": {
                "podSelector": selector_json(&exact_selector(cluster, ns, labels)),
                "policyTypes": ["Ingress", "Egress"],
                "ingress": rules_json(cluster, ns, &ingress, "from"),
                "egress": rules_json(cluster, ns, &egress, "to"),
            },
        }));
    }
    out
}

/// A name usable in `metadata.name` (RFC 1123 label, at most 63 bytes with
/// the `-<suffix>` suffix).
fn dns_label(s: &str, suffix: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    out.truncate(62usize.saturating_sub(suffix.len()));
    let trimmed = out.trim_matches('-');
    if trimmed.is_empty() {
        "workload".into()
    } else {
        trimmed.to_string()
    }
}

/// Serialise objects as one multi-document YAML stream.
pub fn to_yaml(objects: &[Json]) -> String {
    let mut out = String::new();
    for o in objects {
        out.push_str("---\n");
        out.push_str(&serde_yaml::to_string(o).unwrap_or_default());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::k8s::{connections, load_str};
    use netsec_model::{
        AppProto, DirectionStats, Endpoint, FlowEndReason, FlowId, TimeRange, Timestamp,
    };

    /// A shop: web (two pods of a ReplicaSet) calls api through its Service
    /// (port 80 → named port http = 8080); api calls db on 5432 and an
    /// external payment address; a debug pod shares web's labels plus one.
    const CLUSTER: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: web-1, namespace: shop, labels: {app: web}, ownerReferences: [{kind: ReplicaSet, name: web-rs, controller: true}]}
spec: {containers: [{name: c}]}
status: {podIP: 10.0.0.11}
---
apiVersion: v1
kind: Pod
metadata: {name: web-2, namespace: shop, labels: {app: web}, ownerReferences: [{kind: ReplicaSet, name: web-rs, controller: true}]}
spec: {containers: [{name: c}]}
status: {podIP: 10.0.0.12}
---
apiVersion: v1
kind: Pod
metadata: {name: debug, namespace: shop, labels: {app: web, debug: "true"}}
spec: {containers: [{name: c}]}
status: {podIP: 10.0.0.13}
---
apiVersion: v1
kind: Pod
metadata: {name: api, namespace: shop, labels: {app: api}}
spec: {containers: [{name: c, ports: [{containerPort: 8080, name: http}]}]}
status: {podIP: 10.0.0.21}
---
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: data, labels: {app: db}}
spec: {containers: [{name: c, ports: [{containerPort: 5432}]}]}
status: {podIPs: [{ip: 10.0.1.5}]}
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: shop}
spec:
  clusterIP: 10.96.0.10
  selector: {app: api}
  ports: [{port: 80, targetPort: http}]
"#;

    /// Policies: api accepts only web on 8080; db accepts only api.
    const POLICIES: &str = r#"
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: api, namespace: shop}
spec:
  podSelector: {matchLabels: {app: api}}
  ingress: [{from: [{podSelector: {matchLabels: {app: web}}}], ports: [{port: http}]}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db, namespace: data}
spec:
  podSelector: {}
  ingress:
  - from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: shop}}, podSelector: {matchLabels: {app: api}}}]
"#;

    fn flow(
        client: &str,
        cport: u16,
        server: &str,
        sport: u16,
        t: Transport,
        replies: u64,
    ) -> FlowRecord {
        let ep = |ip: &str, port| Endpoint::new(ip.parse().unwrap(), port);
        FlowRecord {
            id: FlowId(1),
            community_id: String::new(),
            client: ep(client, cport),
            server: ep(server, sport),
            transport: t,
            vlan: 0,
            time: TimeRange::at(Timestamp::from_secs_nanos(1_700_000_000, 0)),
            to_server: DirectionStats {
                packets: 3,
                ..Default::default()
            },
            to_client: DirectionStats {
                packets: replies,
                ..Default::default()
            },
            tcp_state: TcpState::Established,
            app_proto: AppProto::default(),
            end_reason: FlowEndReason::TcpClose,
            missing_bytes: 0,
        }
    }

    fn cluster(text: &str) -> Cluster {
        let mut c = Cluster::default();
        load_str(&mut c, text, "t.yaml");
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        c
    }

    /// The flows of a day: web→api via the Service, api→db, api→payment
    /// provider, debug→db (answered: the policies were not enforced),
    /// web→db (unanswered), and traffic outside the cluster.
    fn flows() -> Vec<FlowRecord> {
        vec![
            flow("10.0.0.11", 40000, "10.96.0.10", 80, Transport::Tcp, 5),
            flow("10.0.0.12", 40001, "10.96.0.10", 80, Transport::Tcp, 5),
            flow("10.0.0.21", 40002, "10.0.1.5", 5432, Transport::Tcp, 5),
            flow("10.0.0.21", 40003, "203.0.113.7", 443, Transport::Tcp, 5),
            flow("10.0.0.13", 40004, "10.0.1.5", 5432, Transport::Tcp, 4),
            flow("10.0.0.11", 40005, "10.0.1.5", 5432, Transport::Tcp, 0),
            flow("192.0.2.1", 1, "192.0.2.2", 2, Transport::Udp, 1),
        ]
    }

    #[test]
    fn check_tells_allowed_from_unenforced_denials() {
        let c = cluster(&format!("{CLUSTER}{POLICIES}"));
        let map = AddressMap::from_cluster(&c);
        assert_eq!(map.len(), 6);
        let mut checker = PolicyChecker::new(&c, &map);
        let verdicts: Vec<(String, Verdict)> = flows()
            .iter()
            .flat_map(|f| checker.check(f))
            .map(|v| {
                let c = &v.connection;
                (
                    format!("{} => {} {} {}", c.src, c.dst, c.protocol, c.port),
                    v.verdict,
                )
            })
            .collect();
        assert_eq!(
            verdicts,
            vec![
                (
                    "shop/web-rs[ReplicaSet] => shop/api[Pod] TCP 8080".into(),
                    Verdict::Allowed
                ),
                (
                    "shop/web-rs[ReplicaSet] => shop/api[Pod] TCP 8080".into(),
                    Verdict::Allowed
                ),
                (
                    "shop/api[Pod] => data/db[Pod] TCP 5432".into(),
                    Verdict::Allowed
                ),
                (
                    "shop/api[Pod] => 203.0.113.7-203.0.113.7[External] TCP 443".into(),
                    Verdict::Allowed
                ),
                (
                    "shop/debug[Pod] => data/db[Pod] TCP 5432".into(),
                    Verdict::DeniedButAnswered
                ),
                (
                    "shop/web-rs[ReplicaSet] => data/db[Pod] TCP 5432".into(),
                    Verdict::DeniedUnanswered
                ),
            ]
        );
        let s = checker.stats();
        assert_eq!((s.flows, s.checked, s.outside_cluster), (7, 6, 1));
        assert_eq!(
            (s.allowed, s.denied_answered, s.denied_unanswered),
            (4, 1, 1)
        );
        let v = checker.check(&flows()[4]);
        let f = violation_finding(&c, &v[0]).unwrap();
        assert_eq!(f.kind, "k8s_flow_violates_policy");
        assert!(
            f.evidence
                .summary
                .contains("shop/debug[Pod] => data/db[Pod]"),
            "{}",
            f.evidence.summary
        );
        assert!(violation_finding(&c, &checker.check(&flows()[0])[0]).is_none());
    }

    #[test]
    fn mapping_file_adds_and_overrides_addresses() {
        let c = cluster(CLUSTER);
        let mut map = AddressMap::from_cluster(&c);
        let warnings = map.add_mapping_text(
            "# pods seen in the capture\n10.9.9.9 shop/api[Pod]\n10.0.0.13 shop/web-rs[ReplicaSet]  # re-used address\n10.8.8.8 service:shop/api\nnot-an-ip shop/x[Pod]\n10.1.1.1 nonsense\n",
            "map.txt",
        );
        assert_eq!(
            warnings.iter().map(|w| w.document).collect::<Vec<_>>(),
            vec![5, 6]
        );
        assert_eq!(
            map.get(&"10.9.9.9".parse().unwrap()),
            Some(&AddressTarget::Workload("shop/api[Pod]".into()))
        );
        assert_eq!(
            map.get(&"10.0.0.13".parse().unwrap()),
            Some(&AddressTarget::Workload("shop/web-rs[ReplicaSet]".into()))
        );
        assert_eq!(
            map.get(&"10.8.8.8".parse().unwrap()),
            Some(&AddressTarget::Service("shop".into(), "api".into()))
        );
    }

    #[test]
    fn suggested_policies_reanalyse_to_exactly_the_observed_connections() {
        let c = cluster(CLUSTER);
        let map = AddressMap::from_cluster(&c);
        let mut s = PolicySuggester::new(&c, &map);
        for f in flows() {
            s.observe(&f);
        }
        assert_eq!((s.unresolved(), s.unanswered()), (1, 1));
        let yaml = to_yaml(&s.suggest());
        // scripts/k8s-validate.sh validates this output against the Kubernetes schema.
        if let Some(path) = std::env::var_os("NETSEC_K8S_SUGGEST_OUT") {
            std::fs::write(path, &yaml).unwrap();
        }
        // The workloads plus only the suggested policies.
        let again = cluster(&format!("{CLUSTER}{yaml}"));
        assert_eq!(again.policies.len(), 4, "{yaml}");
        let got: BTreeSet<String> = connections(&again).iter().map(|c| c.to_string()).collect();
        let want: BTreeSet<String> = [
            "shop/web-rs[ReplicaSet] => shop/api[Pod] : TCP 8080",
            "shop/api[Pod] => data/db[Pod] : TCP 5432",
            "shop/api[Pod] => 203.0.113.7-203.0.113.7[External] : TCP 443",
            "shop/debug[Pod] => data/db[Pod] : TCP 5432",
        ]
        .into_iter()
        .map(String::from)
        .collect();
        assert_eq!(got, want, "{yaml}");
        // debug shares web's labels plus one: web's selector must exclude it.
        assert!(yaml.contains("operator: DoesNotExist"), "{yaml}");
        // Every answered flow is allowed by the suggestion, the unanswered one is not.
        let map = AddressMap::from_cluster(&again);
        let mut checker = PolicyChecker::new(&again, &map);
        for f in flows() {
            for v in checker.check(&f) {
                let want = if f.to_client.packets > 0 {
                    Verdict::Allowed
                } else {
                    Verdict::DeniedUnanswered
                };
                assert_eq!(v.verdict, want, "{:?}", v.connection);
            }
        }
    }
}
