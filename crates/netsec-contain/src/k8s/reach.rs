//! Reachability: for every ordered pair of peers (workloads and external
//! IPv4 ranges), the connections both the source's egress and the
//! destination's ingress allow.

use std::fmt;
use std::net::Ipv4Addr;

use super::admin::{Action, AdminPeer, AdminRule};
use super::blocks::external_blocks;
use super::conn::ConnSet;
use super::expose::{
    ingress_controller_ports, INGRESS_CONTROLLER_NAME, INGRESS_CONTROLLER_NAMESPACE,
};
use super::manifest::Cluster;
use super::{NetworkPolicy, PolicyPeer, PolicyPort, PolicyRule, PortRef, PrimaryNetwork, Workload};

/// One side of a connection.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Peer {
    /// A workload, by id (`ns/name[Kind]`).
    Workload(String),
    /// An external IPv4 range, first and last address.
    External(u32, u32),
    /// The ingress controller behind Ingress and Route objects (`{ingress-controller}`).
    IngressController,
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Peer::Workload(id) => f.write_str(id),
            Peer::External(a, b) => {
                write!(f, "{}-{}[External]", Ipv4Addr::from(*a), Ipv4Addr::from(*b))
            }
            Peer::IngressController => f.write_str("{ingress-controller}"),
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
    /// The secondary (Multus) network it is allowed on; `None` for the
    /// primary network (the pod network or a user-defined one).
    pub network: Option<String>,
}

impl fmt::Display for Connection {
    /// `src => dst : conns`. On a secondary network the `[udn]` mark of a
    /// workload's primary network is left out, as netpol-analyzer prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (src, dst) = (self.src.to_string(), self.dst.to_string());
        if self.network.is_some() {
            write!(
                f,
                "{} => {} : {}",
                src.replacen("[udn]/", "/", 1),
                dst.replacen("[udn]/", "/", 1),
                self.conns
            )
        } else {
            write!(f, "{src} => {dst} : {}", self.conns)
        }
    }
}

impl Connection {
    /// Whether one end is the workload `name` (`ns/name`, or a bare `name`;
    /// a `[udn]` mark or `[Kind]` suffix need not be given).
    pub fn involves(&self, name: &str) -> bool {
        let name = name.replacen("[udn]/", "/", 1);
        let name = name.as_str();
        let hit = |p: &Peer| {
            let Peer::Workload(id) = p else {
                return false;
            };
            let id = id.replacen("[udn]/", "/", 1);
            let bare = id.rsplit_once('[').map_or(id.as_str(), |(b, _)| b);
            bare == name || id == name || bare.rsplit('/').next() == Some(name)
        };
        hit(&self.src) || hit(&self.dst)
    }
}

/// What a rule's peer is compared with.
pub(crate) enum Subject<'a> {
    Workload(&'a Workload),
    External(u32, u32),
}

pub(crate) fn peer_matches(
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
            // An external range lies wholly inside or outside each block
            // (cidr minus excepts), so touching an except means outside,
            // even when adjacent excepts cover it together.
            cidr.0 <= *a && *b <= cidr.1 && !except.iter().any(|e| e.0 <= *b && *a <= e.1)
        }
        _ => false,
    }
}

/// The connections a rule's ports allow towards `target` (whose container
/// ports resolve named ports; an external target resolves none).
pub(crate) fn rule_conns(ports: &[PolicyPort], target: Option<&Workload>) -> ConnSet {
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
                        // An admin policy's `namedPort` carries no protocol:
                        // it takes the container port's.
                        if p.protocol.is_empty() || cp.protocol.eq_ignore_ascii_case(&p.protocol) {
                            out.union_with(&ConnSet::ports(&cp.protocol, Some((cp.port, cp.port))));
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

/// What `dst`'s NetworkPolicies allow from `src`; `None` when none selects it.
fn np_ingress(cluster: &Cluster, src: &Subject<'_>, dst: &Workload) -> Option<ConnSet> {
    let mut selected = false;
    let mut out = ConnSet::none();
    for p in cluster.policies.iter().filter(|p| {
        p.ingress_type && p.namespace == dst.namespace && p.pod_selector.matches(&dst.labels)
    }) {
        selected = true;
        out.union_with(&rules_allow(cluster, p, &p.ingress, src, Some(dst)));
    }
    selected.then_some(out)
}

/// What `src`'s NetworkPolicies allow towards `dst`; `None` when none selects it.
fn np_egress(cluster: &Cluster, src: &Workload, dst: &Subject<'_>) -> Option<ConnSet> {
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
    selected.then_some(out)
}

pub(crate) fn ns_labels<'c>(cluster: &'c Cluster, w: &Workload) -> Option<&'c super::Labels> {
    cluster.namespaces.get(&w.namespace).map(|n| &n.labels)
}

pub(crate) fn admin_peer_matches(
    cluster: &Cluster,
    peer: &AdminPeer,
    subject: &Subject<'_>,
) -> bool {
    match (peer, subject) {
        (AdminPeer::Networks(nets), Subject::External(a, b)) => {
            nets.iter().any(|n| n.0 <= *a && *b <= n.1)
        }
        (_, Subject::Workload(w)) => {
            ns_labels(cluster, w).is_some_and(|ns| peer.matches_pod(ns, &w.labels))
        }
        _ => false,
    }
}

/// The layered decision for one direction: admin policies by priority
/// (Allow/Deny decide, Pass hands down), then the NetworkPolicies if any
/// selects `owner`, else the baseline policy, else allow.
fn layered(
    cluster: &Cluster,
    owner: &Workload,
    peer: &Subject<'_>,
    port_owner: Option<&Workload>,
    ingress_side: bool,
    np: Option<ConnSet>,
) -> ConnSet {
    let Some(owner_ns) = ns_labels(cluster, owner) else {
        return np.unwrap_or_else(ConnSet::all);
    };
    let mut undecided = ConnSet::all();
    let mut allowed = ConnSet::none();
    let mut handed_down = ConnSet::none();
    let apply = |rules: &[AdminRule],
                 undecided: &mut ConnSet,
                 allowed: &mut ConnSet,
                 handed_down: &mut ConnSet| {
        for rule in rules {
            if !rule
                .peers
                .iter()
                .any(|p| admin_peer_matches(cluster, p, peer))
            {
                continue;
            }
            let hit = rule_conns(&rule.ports, port_owner).intersect(undecided);
            match rule.action {
                Action::Allow => allowed.union_with(&hit),
                Action::Deny => {}
                Action::Pass => handed_down.union_with(&hit),
            }
            *undecided = undecided.subtract(&hit);
        }
    };
    for anp in cluster
        .admin
        .iter()
        .filter(|a| a.subject.matches_pod(owner_ns, &owner.labels))
    {
        apply(
            if ingress_side {
                &anp.ingress
            } else {
                &anp.egress
            },
            &mut undecided,
            &mut allowed,
            &mut handed_down,
        );
    }
    undecided.union_with(&handed_down);
    match np {
        Some(np) => allowed.union_with(&np.intersect(&undecided)),
        None => {
            let mut ignored = ConnSet::none();
            if let Some(banp) = cluster
                .baseline
                .as_ref()
                .filter(|b| b.subject.matches_pod(owner_ns, &owner.labels))
            {
                apply(
                    if ingress_side {
                        &banp.ingress
                    } else {
                        &banp.egress
                    },
                    &mut undecided,
                    &mut allowed,
                    &mut ignored,
                );
            }
            allowed.union_with(&undecided);
        }
    }
    allowed
}

/// What `dst` accepts from `src`.
fn ingress(cluster: &Cluster, src: &Subject<'_>, dst: &Workload) -> ConnSet {
    layered(
        cluster,
        dst,
        src,
        Some(dst),
        true,
        np_ingress(cluster, src, dst),
    )
}

/// What `src` may send to `dst`.
fn egress(cluster: &Cluster, src: &Workload, dst: &Subject<'_>) -> ConnSet {
    let port_owner = match dst {
        Subject::Workload(w) => Some(*w),
        Subject::External(..) => None,
    };
    layered(
        cluster,
        src,
        dst,
        port_owner,
        false,
        np_egress(cluster, src, dst),
    )
}

/// Disjoint IPv4 ranges covering the whole space, split at every ipBlock
/// and except boundary, so each range is wholly inside or outside each block
/// and each except. Finer than the ranges `connections` lists
/// (`blocks::external_blocks`, netpol-analyzer's); the rule analysis uses
/// these so that every except has ranges of its own.
pub(crate) fn external_atoms(cluster: &Cluster, ingress_side: bool) -> Vec<(u32, u32)> {
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
    if !ingress_side {
        for p in cluster.admin.iter().chain(cluster.baseline.as_ref()) {
            for r in &p.egress {
                for peer in &r.peers {
                    if let AdminPeer::Networks(nets) = peer {
                        for (a, b) in nets {
                            cuts.push(u64::from(*a));
                            cuts.push(u64::from(*b) + 1);
                        }
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

/// Whether two workloads sit on different primary networks (a
/// UserDefinedNetwork is its namespace's alone; a ClusterUserDefinedNetwork
/// spans the namespaces it selects; the rest share the cluster pod network).
pub(crate) fn isolated(a: &Workload, b: &Workload) -> bool {
    match (&a.network, &b.network) {
        (None, None) => false,
        (Some(PrimaryNetwork::Namespace), Some(PrimaryNetwork::Namespace)) => {
            a.namespace != b.namespace
        }
        (Some(PrimaryNetwork::Cluster(x)), Some(PrimaryNetwork::Cluster(y))) => x != y,
        _ => true,
    }
}

/// Every allowed connection of the cluster, sorted.
pub fn connections(cluster: &Cluster) -> Vec<Connection> {
    let mut out = Vec::new();
    let workloads: Vec<&Workload> = cluster.workloads.values().collect();
    for src in &workloads {
        for dst in &workloads {
            if src.id() == dst.id() || isolated(src, dst) {
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
                    network: None,
                });
            }
        }
    }
    let in_atoms = external_blocks(cluster, true);
    let out_atoms = external_blocks(cluster, false);
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
                network: None,
            });
        }
        for ((a, b), c) in to_ext.into_iter().filter(|(_, c)| !c.is_empty()) {
            out.push(Connection {
                src: Peer::Workload(w.id()),
                dst: Peer::External(a, b),
                conns: c,
                network: None,
            });
        }
    }
    out.extend(ingress_controller_connections(cluster));
    out.extend(super::secondary::secondary_connections(cluster));
    out.sort_by(|a, b| (a.to_string(), &a.network).cmp(&(b.to_string(), &b.network)));
    out
}

/// Every allowed connection of the cluster as `list` prints it.
#[cfg(test)]
pub(crate) fn connection_lines(cluster: &Cluster) -> Vec<String> {
    connections(cluster)
        .iter()
        .map(ToString::to_string)
        .collect()
}

/// What the policies allow from `src` to `dst`: workloads by id, external
/// peers as IPv4 ranges (a single address is a range of one). Traffic
/// between two external peers is not the cluster's to decide (everything);
/// an unknown workload id or the ingress controller allows nothing.
pub fn allowed(cluster: &Cluster, src: &Peer, dst: &Peer) -> ConnSet {
    let workload = |p: &Peer| match p {
        Peer::Workload(id) => cluster.workloads.get(id),
        _ => None,
    };
    match (src, dst) {
        (Peer::External(..), Peer::External(..)) => ConnSet::all(),
        (Peer::External(a, b), Peer::Workload(_)) => match workload(dst) {
            Some(d) => ingress(cluster, &Subject::External(*a, *b), d),
            None => ConnSet::none(),
        },
        (Peer::Workload(_), Peer::External(a, b)) => match workload(src) {
            Some(s) => egress(cluster, s, &Subject::External(*a, *b)),
            None => ConnSet::none(),
        },
        (Peer::Workload(_), Peer::Workload(_)) => {
            match (workload(src), workload(dst)) {
                (Some(s), Some(d)) => egress(cluster, s, &Subject::Workload(d))
                    .intersect(&ingress(cluster, &Subject::Workload(s), d)),
                _ => ConnSet::none(),
            }
        }
        _ => ConnSet::none(),
    }
}

/// `{ingress-controller} => workload` lines: the ports Ingresses and Routes
/// expose, limited to what the policies allow from netpol-analyzer's
/// stand-in controller pod (no labels, in its own namespace).
fn ingress_controller_connections(cluster: &Cluster) -> Vec<Connection> {
    let exposed = ingress_controller_ports(cluster);
    if exposed.is_empty() {
        return Vec::new();
    }
    let mut with_controller = cluster.clone();
    with_controller.ensure_namespace(INGRESS_CONTROLLER_NAMESPACE);
    let controller = Workload {
        namespace: INGRESS_CONTROLLER_NAMESPACE.into(),
        name: INGRESS_CONTROLLER_NAME.into(),
        kind: "Pod".into(),
        labels: Default::default(),
        ports: Vec::new(),
        ips: Vec::new(),
        network: None,
        secondary: Vec::new(),
    };
    let mut out = Vec::new();
    for (id, ports) in exposed {
        let Some(w) = cluster.workloads.get(&id) else {
            continue;
        };
        let allowed = egress(&with_controller, &controller, &Subject::Workload(w))
            .intersect(&ingress(
                &with_controller,
                &Subject::Workload(&controller),
                w,
            ))
            .intersect(&ports);
        if !allowed.is_empty() {
            out.push(Connection {
                src: Peer::IngressController,
                dst: Peer::Workload(id),
                conns: allowed,
                network: None,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::k8s::load_str;

    #[test]
    fn focus_names_match_with_or_without_namespace_kind_and_udn_mark() {
        let mut c = Cluster::default();
        load_str(
            &mut c,
            "kind: Namespace\nmetadata: {name: blue, labels: {k8s.ovn.org/primary-user-defined-network: ''}}\n---\nkind: UserDefinedNetwork\nmetadata: {name: net, namespace: blue}\nspec: {topology: Layer2, layer2: {role: Primary}}\n---\nkind: Pod\nmetadata: {name: web, namespace: blue}\nspec: {}\n---\nkind: Pod\nmetadata: {name: other, namespace: red}\nspec: {}\n",
            "t.yaml",
        );
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        let conns = connections(&c);
        let web: Vec<String> = conns
            .iter()
            .filter(|x| x.involves("blue/web"))
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            web,
            vec![
                "0.0.0.0-255.255.255.255[External] => blue[udn]/web[Pod] : All Connections",
                "blue[udn]/web[Pod] => 0.0.0.0-255.255.255.255[External] : All Connections",
            ],
            "the UDN isolates web from red/other"
        );
        assert_eq!(conns.iter().filter(|x| x.involves("web")).count(), 2);
        assert_eq!(
            conns
                .iter()
                .filter(|x| x.involves("blue[udn]/web[Pod]"))
                .count(),
            2
        );
        assert_eq!(conns.iter().filter(|x| x.involves("blue")).count(), 0);
    }
}
