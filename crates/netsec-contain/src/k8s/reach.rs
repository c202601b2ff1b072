//! Reachability: for every ordered pair of peers (workloads and external
//! IPv4 ranges), the connections both the source's egress and the
//! destination's ingress allow.

use std::fmt;
use std::net::Ipv4Addr;

use super::conn::ConnSet;
use super::manifest::Cluster;
use super::{NetworkPolicy, PolicyPeer, PolicyPort, PolicyRule, PortRef, Workload};

/// One side of a connection.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Peer {
    /// A workload, by id (`ns/name[Kind]`).
    Workload(String),
    /// An external IPv4 range, first and last address.
    External(u32, u32),
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Peer::Workload(id) => f.write_str(id),
            Peer::External(a, b) => {
                write!(f, "{}-{}[External]", Ipv4Addr::from(*a), Ipv4Addr::from(*b))
            }
        }
    }
}

/// An allowed connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// Source.
    pub src: Peer,
    /// Destination.
    pub dst: Peer,
    /// What is allowed.
    pub conns: ConnSet,
}

impl fmt::Display for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} => {} : {}", self.src, self.dst, self.conns)
    }
}

/// What a rule's peer is compared with.
enum Subject<'a> {
    Workload(&'a Workload),
    External(u32, u32),
}

fn peer_matches(
    cluster: &Cluster,
    policy: &NetworkPolicy,
    peer: &PolicyPeer,
    subject: &Subject<'_>,
) -> bool {
    match (peer, subject) {
        (PolicyPeer::Pods { namespaces, pods }, Subject::Workload(w)) => {
            let ns_ok = match namespaces {
                None => w.namespace == policy.namespace,
                Some(sel) => cluster
                    .namespaces
                    .get(&w.namespace)
                    .is_some_and(|ns| sel.matches(&ns.labels)),
            };
            ns_ok && pods.as_ref().is_none_or(|s| s.matches(&w.labels))
        }
        (PolicyPeer::IpBlock { cidr, except }, Subject::External(a, b)) => {
            // External ranges are atoms of all block boundaries: wholly in or out.
            cidr.0 <= *a && *b <= cidr.1 && !except.iter().any(|e| e.0 <= *a && *b <= e.1)
        }
        _ => false,
    }
}

/// The connections a rule's ports allow towards `target` (whose container
/// ports resolve named ports; an external target resolves none).
fn rule_conns(ports: &[PolicyPort], target: Option<&Workload>) -> ConnSet {
    if ports.is_empty() {
        return ConnSet::all();
    }
    let mut out = ConnSet::none();
    for p in ports {
        match &p.port {
            None => out.union_with(&ConnSet::ports(&p.protocol, None)),
            Some(PortRef::Number(n)) => {
                let end = p.end_port.filter(|e| e >= n).unwrap_or(*n);
                out.union_with(&ConnSet::ports(&p.protocol, Some((*n, end))));
            }
            Some(PortRef::Name(name)) => {
                if let Some(w) = target {
                    for cp in w
                        .ports
                        .iter()
                        .filter(|cp| cp.name.as_deref() == Some(name.as_str()))
                    {
                        if cp.protocol.eq_ignore_ascii_case(&p.protocol) {
                            out.union_with(&ConnSet::ports(&p.protocol, Some((cp.port, cp.port))));
                        }
                    }
                }
            }
        }
    }
    out
}

fn rules_allow(
    cluster: &Cluster,
    policy: &NetworkPolicy,
    rules: &[PolicyRule],
    peer: &Subject<'_>,
    port_owner: Option<&Workload>,
) -> ConnSet {
    let mut out = ConnSet::none();
    for r in rules {
        if r.peers.is_empty()
            || r.peers
                .iter()
                .any(|p| peer_matches(cluster, policy, p, peer))
        {
            out.union_with(&rule_conns(&r.ports, port_owner));
        }
    }
    out
}

/// What `dst`'s ingress policies allow from `src`.
fn ingress(cluster: &Cluster, src: &Subject<'_>, dst: &Workload) -> ConnSet {
    let mut selected = false;
    let mut out = ConnSet::none();
    for p in cluster.policies.iter().filter(|p| {
        p.ingress_type && p.namespace == dst.namespace && p.pod_selector.matches(&dst.labels)
    }) {
        selected = true;
        out.union_with(&rules_allow(cluster, p, &p.ingress, src, Some(dst)));
    }
    if selected {
        out
    } else {
        ConnSet::all()
    }
}

/// What `src`'s egress policies allow towards `dst`.
fn egress(cluster: &Cluster, src: &Workload, dst: &Subject<'_>) -> ConnSet {
    let mut selected = false;
    let mut out = ConnSet::none();
    let dst_workload = match dst {
        Subject::Workload(w) => Some(*w),
        Subject::External(..) => None,
    };
    for p in cluster.policies.iter().filter(|p| {
        p.egress_type && p.namespace == src.namespace && p.pod_selector.matches(&src.labels)
    }) {
        selected = true;
        out.union_with(&rules_allow(cluster, p, &p.egress, dst, dst_workload));
    }
    if selected {
        out
    } else {
        ConnSet::all()
    }
}

/// Disjoint IPv4 ranges covering the whole space, split at every ipBlock
/// and except boundary, so each range is wholly inside or outside each block.
/// Ingress and egress are split separately (by the blocks of their own
/// rules), as netpol-analyzer does.
fn external_atoms(cluster: &Cluster, ingress_side: bool) -> Vec<(u32, u32)> {
    let mut cuts: Vec<u64> = vec![0, 1 << 32];
    for p in &cluster.policies {
        let rules = if ingress_side { &p.ingress } else { &p.egress };
        for r in rules {
            for peer in &r.peers {
                if let PolicyPeer::IpBlock { cidr, except } = peer {
                    for (a, b) in std::iter::once(cidr).chain(except) {
                        cuts.push(u64::from(*a));
                        cuts.push(u64::from(*b) + 1);
                    }
                }
            }
        }
    }
    cuts.sort_unstable();
    cuts.dedup();
    cuts.windows(2)
        .filter_map(|w| match w {
            [a, b] if a < b => Some((*a as u32, (*b - 1) as u32)),
            _ => None,
        })
        .collect()
}

/// Every allowed connection of the cluster, sorted.
pub fn connections(cluster: &Cluster) -> Vec<Connection> {
    let mut out = Vec::new();
    let workloads: Vec<&Workload> = cluster.workloads.values().collect();
    for src in &workloads {
        for dst in &workloads {
            if src.id() == dst.id() {
                continue;
            }
            let c = egress(cluster, src, &Subject::Workload(dst)).intersect(&ingress(
                cluster,
                &Subject::Workload(src),
                dst,
            ));
            if !c.is_empty() {
                out.push(Connection {
                    src: Peer::Workload(src.id()),
                    dst: Peer::Workload(dst.id()),
                    conns: c,
                });
            }
        }
    }
    let in_atoms = external_atoms(cluster, true);
    let out_atoms = external_atoms(cluster, false);
    for w in &workloads {
        let mut from_ext: Vec<((u32, u32), ConnSet)> = Vec::new();
        let mut to_ext: Vec<((u32, u32), ConnSet)> = Vec::new();
        for &(a, b) in &in_atoms {
            from_ext.push(((a, b), ingress(cluster, &Subject::External(a, b), w)));
        }
        for &(a, b) in &out_atoms {
            to_ext.push(((a, b), egress(cluster, w, &Subject::External(a, b))));
        }
        for ((a, b), c) in from_ext.into_iter().filter(|(_, c)| !c.is_empty()) {
            out.push(Connection {
                src: Peer::External(a, b),
                dst: Peer::Workload(w.id()),
                conns: c,
            });
        }
        for ((a, b), c) in to_ext.into_iter().filter(|(_, c)| !c.is_empty()) {
            out.push(Connection {
                src: Peer::Workload(w.id()),
                dst: Peer::External(a, b),
                conns: c,
            });
        }
    }
    out.sort_by_key(|c| c.to_string());
    out
}
