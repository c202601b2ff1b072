//! Containment in a cluster: NetworkPolicies that isolate the workloads a
//! containment plan names as compromised, while keeping the connections
//! they need — the benign connections observed in the capture that the
//! cluster's policies allow today.
//!
//! NetworkPolicies only ever add allowed connections: a policy already
//! selecting a compromised workload that allows more keeps allowing it.
//! [`isolate`] therefore checks its proposal with the reachability engine —
//! the cluster with the new policies added — and lists every malicious
//! connection still allowed and every needed one that would be cut.

use std::collections::BTreeSet;
use std::net::IpAddr;

use netsec_model::{
    AppProto, DirectionStats, Endpoint, FlowEndReason, FlowId, FlowRecord, TcpState,
};
use serde_json::Value as Json;

use super::reach::{allowed, Peer};
use super::traffic::{
    policies_allowing, resolve_flow, to_yaml, AddressMap, AddressTarget, ObservedConnection,
};
use super::{load_str, Cluster};
use crate::firewall::{Conversation, Conversations, Plan, ThreatShape};

/// The proposal and its check.
#[derive(Debug, Clone, Default)]
pub struct Isolation {
    /// Workloads isolated (ids), with the findings that make them compromised.
    pub compromised: Vec<(String, Vec<String>)>,
    /// The NetworkPolicies, as Kubernetes objects.
    pub policies: Vec<Json>,
    /// Needed connections kept (benign, allowed today).
    pub kept: Vec<ObservedConnection>,
    /// Malicious connections the policies deny.
    pub cut: Vec<ObservedConnection>,
    /// Malicious connections still allowed after the policies (another
    /// policy allows them, or they never touch an isolated workload).
    pub still_allowed: Vec<ObservedConnection>,
    /// Needed connections the policies would cut (none, unless the
    /// reachability engine disagrees with the proposal).
    pub lost: Vec<ObservedConnection>,
    /// Conversations that could not be placed in the cluster.
    pub unresolved: u64,
}

impl Isolation {
    /// The policies as a multi-document YAML stream, with a header comment.
    pub fn yaml(&self) -> String {
        let mut out = String::from("# netsec contain --target k8s: isolate ");
        out.push_str(
            &self
                .compromised
                .iter()
                .map(|(w, _)| w.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        );
        out.push_str("\n# rollback: kubectl delete networkpolicy -l app.kubernetes.io/managed-by=netsec,netsec/purpose=isolate -A\n");
        out.push_str(&to_yaml(&self.policies));
        out
    }
}

/// A flow record standing for a conversation (what [`resolve_flow`] reads).
fn flow_of(c: &Conversation) -> FlowRecord {
    FlowRecord {
        id: FlowId(0),
        community_id: c.community_id.clone(),
        client: Endpoint::new(c.key.client, 0),
        server: Endpoint::new(c.key.server, c.key.port),
        transport: c.key.transport,
        vlan: 0,
        time: c.time,
        to_server: DirectionStats::default(),
        to_client: DirectionStats::default(),
        tcp_state: TcpState::Established,
        app_proto: AppProto::default(),
        end_reason: FlowEndReason::EndOfInput,
        missing_bytes: 0,
    }
}

fn workload_of(map: &AddressMap, ip: IpAddr) -> Option<String> {
    match map.get(&ip) {
        Some(AddressTarget::Workload(id)) => Some(id.clone()),
        _ => None,
    }
}

fn allows(cluster: &Cluster, c: &ObservedConnection) -> bool {
    allowed(cluster, &c.src, &c.dst).contains(c.protocol, c.port)
}

/// Isolate the workloads `plan` names as compromised: an inside host that
/// attacks (the source of a scan, brute force or lateral movement) or that
/// talks to a hostile outside party (C2, exfiltration, tunnels).
pub fn isolate(
    plan: &Plan,
    table: &Conversations,
    cluster: &Cluster,
    map: &AddressMap,
) -> Isolation {
    let mut iso = Isolation::default();
    let mut compromised: std::collections::BTreeMap<String, BTreeSet<String>> = Default::default();
    for t in &plan.threats {
        let inside = match t.shape {
            ThreatShape::HostileSource => &t.hostile,
            ThreatShape::HostileRemote => &t.peers,
        };
        for ip in inside {
            if let Some(id) = workload_of(map, *ip) {
                compromised.entry(id).or_default().insert(t.finding.clone());
            }
        }
    }
    if compromised.is_empty() {
        return iso;
    }
    let malicious: BTreeSet<_> = plan
        .rules
        .iter()
        .flat_map(|r| r.stops.iter().map(|c| c.key))
        .chain(plan.uncovered.iter().copied())
        .collect();
    let touches = |c: &ObservedConnection| {
        [&c.src, &c.dst]
            .iter()
            .any(|p| matches!(p, Peer::Workload(id) if compromised.contains_key(id)))
    };
    let mut kept = BTreeSet::new();
    let mut bad = BTreeSet::new();
    for c in table.sorted() {
        let Ok(conns) = resolve_flow(cluster, map, &flow_of(c)) else {
            iso.unresolved += 1;
            continue;
        };
        for conn in conns.into_iter().filter(|x| touches(x)) {
            if malicious.contains(&c.key) {
                bad.insert(conn);
            } else if allows(cluster, &conn) {
                kept.insert(conn);
            }
        }
    }
    iso.policies = policies_allowing(
        cluster,
        &kept,
        |id| compromised.contains_key(id),
        "netsec-isolate",
    );
    for p in &mut iso.policies {
        if let Some(labels) = p
            .pointer_mut("/metadata/labels")
            .and_then(Json::as_object_mut)
        {
            labels.insert("netsec/purpose".into(), Json::String("isolate".into()));
        }
        let findings: Vec<String> = compromised
            .values()
            .flatten()
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if let Some(notes) = p
            .pointer_mut("/metadata/annotations")
            .and_then(Json::as_object_mut)
        {
            notes.insert("netsec/findings".into(), Json::String(findings.join(",")));
        }
    }
    // Check: the cluster with the proposal added.
    let mut after = cluster.clone();
    load_str(&mut after, &to_yaml(&iso.policies), "netsec-isolate.yaml");
    for conn in bad {
        if allows(&after, &conn) {
            iso.still_allowed.push(conn);
        } else {
            iso.cut.push(conn);
        }
    }
    for conn in kept {
        if !allows(&after, &conn) {
            iso.lost.push(conn.clone());
        }
        iso.kept.push(conn);
    }
    iso.compromised = compromised
        .into_iter()
        .map(|(w, f)| (w, f.into_iter().collect()))
        .collect();
    iso
}
