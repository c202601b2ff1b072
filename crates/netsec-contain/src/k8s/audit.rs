//! Audit findings over a cluster's policies and the reachability they give:
//! what is exposed that should not be, and policies that do nothing.

use std::collections::BTreeSet;

use netsec_model::{
    EntityRole, EntityValue, Finding, FindingCategory, Severity, TimeRange, Timestamp,
};

use super::conn::ConnSet;
use super::manifest::Cluster;
use super::reach::{connections, Peer};
use super::{PolicyPeer, PortRef, Workload};

const PRODUCER: &str = "netsec-contain/k8s";

/// Ports that should not be reachable across namespaces: databases, caches,
/// the kubelet and etcd, SSH (IANA and the projects' defaults).
pub const SENSITIVE_PORTS: [(u32, &str); 12] = [
    (22, "SSH"),
    (2379, "etcd client"),
    (2380, "etcd peer"),
    (3306, "MySQL"),
    (5432, "PostgreSQL"),
    (6379, "Redis"),
    (9200, "Elasticsearch"),
    (10250, "kubelet"),
    (11211, "memcached"),
    (27017, "MongoDB"),
    (1433, "SQL Server"),
    (5984, "CouchDB"),
];

/// An ipBlock wider than this prefix is "overly broad" (a /8 or larger, other than 0.0.0.0/0 which is reported as exposure).
const BROAD_PREFIX: u32 = 8;

fn workload_entity(w: &Workload) -> EntityValue {
    EntityValue::Workload {
        namespace: w.namespace.clone(),
        name: w.name.clone(),
        kind: w.kind.clone(),
    }
}

fn policy_entity(ns: &str, name: &str) -> EntityValue {
    EntityValue::Policy {
        namespace: Some(ns.to_string()),
        name: name.to_string(),
        kind: "NetworkPolicy".into(),
    }
}

fn finding(
    kind: &str,
    title: String,
    category: FindingCategory,
    severity: Severity,
    confidence: f64,
    mitre: &[&str],
) -> Finding {
    Finding::new(
        kind,
        title,
        category,
        severity,
        confidence,
        TimeRange::at(Timestamp::ZERO),
        PRODUCER,
    )
    .with_mitre(mitre.iter().copied())
}

/// Every audit finding for the cluster.
pub fn audit(cluster: &Cluster) -> Vec<Finding> {
    let mut out = Vec::new();
    let conns = connections(cluster);
    let by_id = |id: &str| cluster.workloads.get(id);

    // Namespaces with workloads but no default-deny ingress policy.
    let namespaces: BTreeSet<&str> = cluster
        .workloads
        .values()
        .map(|w| w.namespace.as_str())
        .collect();
    for ns in namespaces {
        let default_deny = cluster.policies.iter().any(|p| {
            p.namespace == ns
                && p.ingress_type
                && p.pod_selector.match_labels.is_empty()
                && p.pod_selector.match_expressions.is_empty()
                && p.ingress.is_empty()
        });
        let admin_deny = !cluster.admin.is_empty() || cluster.baseline.is_some();
        if !default_deny && !admin_deny {
            out.push(
                finding("k8s_namespace_without_default_deny", format!("Namespace {ns} has no default-deny ingress policy"), FindingCategory::Misconfiguration, Severity::Low, 1.0, &["T1210"])
                    .with_summary(format!("No NetworkPolicy in {ns} selects every pod for ingress with no rules; pods not selected by any policy accept all traffic."))
                    .with_entity(EntityRole::Target, EntityValue::Policy { namespace: Some(ns.into()), name: "(none)".into(), kind: "Namespace".into() }),
            );
        }
    }

    for c in &conns {
        match (&c.src, &c.dst) {
            // Reachable from every external address.
            (Peer::External(0, u32::MAX), Peer::Workload(id)) => {
                if let Some(w) = by_id(id) {
                    out.push(
                        finding(
                            "k8s_workload_exposed_to_any_address",
                            format!("{id} accepts {} from any external address", c.conns),
                            FindingCategory::Exposure,
                            if c.conns.is_all() {
                                Severity::Medium
                            } else {
                                Severity::Low
                            },
                            1.0,
                            &["T1190"],
                        )
                        .with_summary(format!("0.0.0.0/0 => {id} : {}", c.conns))
                        .with_entity(EntityRole::Target, workload_entity(w)),
                    );
                }
            }
            // Egress to everything.
            (Peer::Workload(id), Peer::External(0, u32::MAX)) if c.conns.is_all() => {
                if let Some(w) = by_id(id) {
                    out.push(
                        finding(
                            "k8s_unrestricted_egress",
                            format!("{id} may connect anywhere outside the cluster"),
                            FindingCategory::Exfiltration,
                            Severity::Low,
                            1.0,
                            &["T1041"],
                        )
                        .with_summary(format!("{id} => 0.0.0.0/0 : All Connections"))
                        .with_entity(EntityRole::Source, workload_entity(w)),
                    );
                }
            }
            // Sensitive ports across namespaces.
            (Peer::Workload(s), Peer::Workload(d)) => {
                let (Some(sw), Some(dw)) = (by_id(s), by_id(d)) else {
                    continue;
                };
                if sw.namespace == dw.namespace {
                    continue;
                }
                for (port, what) in SENSITIVE_PORTS {
                    let listens = dw.ports.iter().any(|cp| cp.port == port);
                    let allowed = !c
                        .conns
                        .intersect(&ConnSet::ports("TCP", Some((port, port))))
                        .is_empty();
                    if listens && allowed {
                        out.push(
                            finding("k8s_sensitive_port_cross_namespace", format!("{what} port {port} of {d} reachable from {s}"), FindingCategory::Exposure, Severity::Medium, 0.9, &["T1210", "T1021"])
                                .with_summary(format!("{s} => {d} : {} includes TCP {port} ({what}), across namespaces {} → {}", c.conns, sw.namespace, dw.namespace))
                                .with_entity(EntityRole::Source, workload_entity(sw))
                                .with_entity(EntityRole::Target, workload_entity(dw)),
                        );
                    }
                }
            }
            _ => {}
        }
    }

    for p in &cluster.policies {
        // Policies selecting no pod.
        let selects: Vec<&Workload> = cluster
            .workloads
            .values()
            .filter(|w| w.namespace == p.namespace && p.pod_selector.matches(&w.labels))
            .collect();
        if selects.is_empty() {
            out.push(
                finding(
                    "k8s_policy_selects_nothing",
                    format!("NetworkPolicy {}/{} selects no pod", p.namespace, p.name),
                    FindingCategory::Misconfiguration,
                    Severity::Low,
                    0.9,
                    &[],
                )
                .with_summary(format!(
                    "No workload in {} matches its podSelector; the policy has no effect.",
                    p.namespace
                ))
                .with_entity(EntityRole::Target, policy_entity(&p.namespace, &p.name)),
            );
        }
        for r in p.ingress.iter().chain(&p.egress) {
            for peer in &r.peers {
                match peer {
                    // Selectors that match no workload.
                    PolicyPeer::Pods { namespaces, pods } => {
                        let any = cluster.workloads.values().any(|w| {
                            let ns_ok = match namespaces {
                                None => w.namespace == p.namespace,
                                Some(sel) => cluster
                                    .namespaces
                                    .get(&w.namespace)
                                    .is_some_and(|n| sel.matches(&n.labels)),
                            };
                            ns_ok && pods.as_ref().is_none_or(|s| s.matches(&w.labels))
                        });
                        if !any {
                            out.push(
                                finding(
                                    "k8s_selector_matches_nothing",
                                    format!(
                                        "A rule of {}/{} names pods no workload has",
                                        p.namespace, p.name
                                    ),
                                    FindingCategory::Misconfiguration,
                                    Severity::Low,
                                    0.8,
                                    &[],
                                )
                                .with_summary(format!("peer {peer:?} matches no workload"))
                                .with_entity(
                                    EntityRole::Target,
                                    policy_entity(&p.namespace, &p.name),
                                ),
                            );
                        }
                    }
                    // Overly broad ipBlocks (but not 0.0.0.0/0, reported as exposure).
                    PolicyPeer::IpBlock { cidr, .. } => {
                        let size = u64::from(cidr.1 - cidr.0) + 1;
                        if (1u64 << (32 - BROAD_PREFIX)..1u64 << 32).contains(&size) {
                            out.push(
                                finding(
                                    "k8s_broad_ipblock",
                                    format!(
                                        "{}/{} allows a block of {size} addresses",
                                        p.namespace, p.name
                                    ),
                                    FindingCategory::Misconfiguration,
                                    Severity::Low,
                                    0.8,
                                    &[],
                                )
                                .with_measurement(
                                    "addresses",
                                    size as f64,
                                    "",
                                    netsec_model::Comparison::GreaterOrEqual,
                                    (1u64 << (32 - BROAD_PREFIX)) as f64,
                                )
                                .with_summary(format!(
                                    "ipBlock {}-{} is a /{} or wider",
                                    std::net::Ipv4Addr::from(cidr.0),
                                    std::net::Ipv4Addr::from(cidr.1),
                                    BROAD_PREFIX
                                ))
                                .with_entity(
                                    EntityRole::Target,
                                    policy_entity(&p.namespace, &p.name),
                                ),
                            );
                        }
                    }
                }
            }
            // Named ports that resolve on no selected pod.
            for port in &r.ports {
                if let Some(PortRef::Name(name)) = &port.port {
                    let resolves = cluster.workloads.values().any(|w| {
                        w.ports
                            .iter()
                            .any(|cp| cp.name.as_deref() == Some(name.as_str()))
                    });
                    if !resolves {
                        out.push(
                            finding("k8s_named_port_unresolved", format!("{}/{} names port {name:?}, which no container declares", p.namespace, p.name), FindingCategory::Misconfiguration, Severity::Low, 0.9, &[])
                                .with_summary(format!("named port {name:?} resolves on no workload: the rule allows nothing"))
                                .with_entity(EntityRole::Target, policy_entity(&p.namespace, &p.name)),
                        );
                    }
                }
            }
        }
    }
    for d in super::shadow::dead_rules(cluster) {
        let policy = match &d.namespace {
            Some(ns) => format!("{} {ns}/{}", d.policy_kind, d.policy),
            None => format!("{} {}", d.policy_kind, d.policy),
        };
        let (kind, title, summary) = if d.shadowed {
            (
                "k8s_rule_shadowed",
                format!("{} rule {} of {policy} is shadowed", d.direction, d.rule),
                "every connection it names is already allowed by other rules selecting the same pods, or decided by rules evaluated before it",
            )
        } else {
            (
                "k8s_rule_never_matches",
                format!("{} rule {} of {policy} can never match", d.direction, d.rule),
                "no workload or external range of the cluster matches its peers on a port it resolves (contradictory selectors, excepted blocks, unresolved named ports)",
            )
        };
        out.push(
            finding(
                kind,
                title,
                FindingCategory::Misconfiguration,
                Severity::Low,
                0.8,
                &[],
            )
            .with_summary(format!(
                "{policy}, {} rule {}: {summary}",
                d.direction, d.rule
            ))
            .with_entity(
                EntityRole::Target,
                EntityValue::Policy {
                    namespace: d.namespace.clone(),
                    name: d.policy.clone(),
                    kind: d.policy_kind.into(),
                },
            ),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::k8s::load_str;

    const APP: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: c, ports: [{containerPort: 8080}]}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: db, namespace: data}
spec:
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: c, ports: [{containerPort: 5432, name: pg}]}]}
"#;

    const LOCKED: &str = r#"
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all, namespace: shop}
spec: {podSelector: {}, policyTypes: [Ingress, Egress]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all, namespace: data}
spec: {podSelector: {}, policyTypes: [Ingress, Egress]}
"#;

    fn kinds(yaml: &str) -> Vec<String> {
        let mut c = Cluster::default();
        load_str(&mut c, yaml, "t.yaml");
        let mut k: Vec<String> = audit(&c).into_iter().map(|f| f.kind).collect();
        k.sort();
        k.dedup();
        k
    }

    #[test]
    fn open_cluster_is_reported() {
        let k = kinds(APP);
        for want in [
            "k8s_namespace_without_default_deny",
            "k8s_workload_exposed_to_any_address",
            "k8s_unrestricted_egress",
            "k8s_sensitive_port_cross_namespace",
        ] {
            assert!(k.contains(&want.to_string()), "{want} missing from {k:?}");
        }
    }

    #[test]
    fn locked_down_cluster_is_clean() {
        let yaml = format!("{APP}{LOCKED}");
        assert!(kinds(&yaml).is_empty(), "{:?}", kinds(&yaml));
    }

    #[test]
    fn dead_policies_are_reported() {
        let yaml = format!(
            "{APP}{LOCKED}{}",
            r#"
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: ghost, namespace: data}
spec:
  podSelector: {matchLabels: {app: nothing}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: nobody}}}, {ipBlock: {cidr: 10.0.0.0/8}}]
    ports: [{port: postgres}]
"#
        );
        let k = kinds(&yaml);
        for want in [
            "k8s_policy_selects_nothing",
            "k8s_selector_matches_nothing",
            "k8s_broad_ipblock",
            "k8s_named_port_unresolved",
        ] {
            assert!(k.contains(&want.to_string()), "{want} missing from {k:?}");
        }
        assert!(!k.contains(&"k8s_workload_exposed_to_any_address".to_string()));
    }
}
