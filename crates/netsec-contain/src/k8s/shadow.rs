//! Rules that do nothing: rules no peer and port can ever match
//! (contradictory selectors, ports that resolve nowhere, blocks wholly
//! excepted), and rules whose every connection other rules already decide
//! (shadowed: allowed anyway by the other rules selecting the same pods, or,
//! for admin policies, decided by rules evaluated before them).
//!
//! Each rule is evaluated against every workload and every external range
//! the policies distinguish, so "never" and "always" are over the loaded
//! cluster, not over every possible one.

use super::admin::{AdminPolicy, AdminRule};
use super::conn::ConnSet;
use super::manifest::Cluster;
use super::reach::{
    admin_peer_matches, external_atoms, isolated, ns_labels, peer_matches, rule_conns, Subject,
};
use super::{NetworkPolicy, PolicyRule, Workload};

/// A rule that does nothing, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadRule {
    /// `NetworkPolicy`, `AdminNetworkPolicy` or `BaselineAdminNetworkPolicy`.
    pub policy_kind: &'static str,
    /// Namespace (NetworkPolicy only).
    pub namespace: Option<String>,
    /// Policy name.
    pub policy: String,
    /// `ingress` or `egress`.
    pub direction: &'static str,
    /// Rule index within that direction (from 0).
    pub rule: usize,
    /// `true`: it matches something but other rules decide all of it;
    /// `false`: it matches no peer and port of the cluster.
    pub shadowed: bool,
}

fn subjects<'c>(cluster: &'c Cluster, ingress_side: bool) -> Vec<Subject<'c>> {
    cluster
        .workloads
        .values()
        .map(Subject::Workload)
        .chain(
            external_atoms(cluster, ingress_side)
                .into_iter()
                .map(|(a, b)| Subject::External(a, b)),
        )
        .collect()
}

/// Whether `s` is `w` itself, or a workload on a primary network `w`
/// cannot reach (no rule can matter between them).
fn same_workload(s: &Subject<'_>, w: &Workload) -> bool {
    matches!(s, Subject::Workload(x) if x.id() == w.id() || isolated(x, w))
}

/// What rule `r` of `p` grants `owner` with `peer` (ingress: from peer to
/// owner; egress: from owner to peer).
fn grant(
    cluster: &Cluster,
    p: &NetworkPolicy,
    r: &PolicyRule,
    owner: &Workload,
    peer: &Subject<'_>,
    ingress_side: bool,
) -> ConnSet {
    if !(r.peers.is_empty() || r.peers.iter().any(|x| peer_matches(cluster, p, x, peer))) {
        return ConnSet::none();
    }
    let port_owner = match (ingress_side, peer) {
        (true, _) => Some(owner),
        (false, Subject::Workload(w)) => Some(*w),
        (false, Subject::External(..)) => None,
    };
    rule_conns(&r.ports, port_owner)
}

fn network_policy_rules(cluster: &Cluster, ingress_side: bool, out: &mut Vec<DeadRule>) {
    let subjects = subjects(cluster, ingress_side);
    let rules_of = |p: &'_ NetworkPolicy| -> Vec<PolicyRule> {
        if ingress_side {
            p.ingress.clone()
        } else {
            p.egress.clone()
        }
    };
    let applies = |p: &NetworkPolicy, w: &Workload| {
        (if ingress_side {
            p.ingress_type
        } else {
            p.egress_type
        }) && p.namespace == w.namespace
            && p.pod_selector.matches(&w.labels)
    };
    // Rules found shadowed no longer count as covering others, so of two
    // identical rules only one is reported. Later rules are examined first:
    // the earlier of a pair is the one kept.
    let mut shadowed: Vec<(usize, usize)> = Vec::new();
    for (pi, p) in cluster.policies.iter().enumerate().rev() {
        let selected: Vec<&Workload> = cluster
            .workloads
            .values()
            .filter(|w| applies(p, w))
            .collect();
        if selected.is_empty() {
            continue; // reported as a policy selecting nothing
        }
        let rules = rules_of(p);
        for (ri, r) in rules.iter().enumerate().rev() {
            let mut matched = false;
            let mut adds = false;
            'owners: for w in &selected {
                for s in subjects.iter().filter(|s| !same_workload(s, w)) {
                    let mine = grant(cluster, p, r, w, s, ingress_side);
                    if mine.is_empty() {
                        continue;
                    }
                    matched = true;
                    let mut rest = ConnSet::none();
                    for (pj, q) in cluster
                        .policies
                        .iter()
                        .enumerate()
                        .filter(|(_, q)| applies(q, w))
                    {
                        for (rj, qr) in rules_of(q).iter().enumerate() {
                            if (pj, rj) == (pi, ri) || shadowed.contains(&(pj, rj)) {
                                continue;
                            }
                            rest.union_with(&grant(cluster, q, qr, w, s, ingress_side));
                        }
                    }
                    if !mine.subtract(&rest).is_empty() {
                        adds = true;
                        break 'owners;
                    }
                }
            }
            if !adds {
                if matched {
                    shadowed.push((pi, ri));
                }
                out.push(DeadRule {
                    policy_kind: "NetworkPolicy",
                    namespace: Some(p.namespace.clone()),
                    policy: p.name.clone(),
                    direction: if ingress_side { "ingress" } else { "egress" },
                    rule: ri,
                    shadowed: matched,
                });
            }
        }
    }
}

/// Admin policy rules: walked in evaluation order (ANPs by priority, then
/// the baseline on its own), a rule is shadowed when every connection it
/// names was already decided by an earlier rule.
fn direction_rules(a: &AdminPolicy, ingress_side: bool) -> &[AdminRule] {
    if ingress_side {
        &a.ingress
    } else {
        &a.egress
    }
}

fn admin_rules(cluster: &Cluster, ingress_side: bool, out: &mut Vec<DeadRule>) {
    let subjects = subjects(cluster, ingress_side);
    let layers: Vec<Vec<&AdminPolicy>> = vec![
        cluster.admin.iter().collect(),
        cluster.baseline.iter().collect(),
    ];
    for layer in layers {
        // (matched, effective) per (policy, rule) of this layer.
        let mut seen: Vec<Vec<(bool, bool)>> = layer
            .iter()
            .map(|a| vec![(false, false); direction_rules(a, ingress_side).len()])
            .collect();
        for w in cluster.workloads.values() {
            let Some(ns) = ns_labels(cluster, w) else {
                continue;
            };
            let applying: Vec<usize> = (0..layer.len())
                .filter(|&i| {
                    layer
                        .get(i)
                        .is_some_and(|a| a.subject.matches_pod(ns, &w.labels))
                })
                .collect();
            if applying.is_empty() {
                continue;
            }
            for s in subjects.iter().filter(|s| !same_workload(s, w)) {
                let port_owner = match (ingress_side, s) {
                    (true, _) => Some(w),
                    (false, Subject::Workload(x)) => Some(*x),
                    (false, Subject::External(..)) => None,
                };
                let mut undecided = ConnSet::all();
                for &ai in &applying {
                    let Some(a) = layer.get(ai) else { continue };
                    for (ri, r) in direction_rules(a, ingress_side).iter().enumerate() {
                        if !r.peers.iter().any(|p| admin_peer_matches(cluster, p, s)) {
                            continue;
                        }
                        let named = rule_conns(&r.ports, port_owner);
                        if named.is_empty() {
                            continue;
                        }
                        let hit = named.intersect(&undecided);
                        if let Some(flag) = seen.get_mut(ai).and_then(|v| v.get_mut(ri)) {
                            flag.0 = true;
                            flag.1 |= !hit.is_empty();
                        }
                        undecided = undecided.subtract(&hit);
                    }
                }
            }
        }
        for (ai, a) in layer.iter().enumerate() {
            for (ri, (matched, effective)) in seen.get(ai).into_iter().flatten().enumerate() {
                if !effective {
                    out.push(DeadRule {
                        policy_kind: if a.priority.is_some() {
                            "AdminNetworkPolicy"
                        } else {
                            "BaselineAdminNetworkPolicy"
                        },
                        namespace: None,
                        policy: a.name.clone(),
                        direction: if ingress_side { "ingress" } else { "egress" },
                        rule: ri,
                        shadowed: *matched,
                    });
                }
            }
        }
    }
}

/// Every rule of the cluster's policies that can never match or is shadowed.
pub fn dead_rules(cluster: &Cluster) -> Vec<DeadRule> {
    let mut out = Vec::new();
    for ingress_side in [true, false] {
        network_policy_rules(cluster, ingress_side, &mut out);
        admin_rules(cluster, ingress_side, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::k8s::load_str;

    const PODS: &str = "kind: Pod\nmetadata: {name: web, namespace: n, labels: {app: web}}\nspec: {containers: [{name: c, ports: [{containerPort: 80, name: http}]}]}\n---\nkind: Pod\nmetadata: {name: db, namespace: n, labels: {app: db}}\nspec: {containers: [{name: c, ports: [{containerPort: 5432}]}]}\n";

    fn dead(policies: &str) -> Vec<(String, usize, bool)> {
        let mut c = Cluster::default();
        load_str(&mut c, &format!("{PODS}---\n{policies}"), "t.yaml");
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        let mut v: Vec<(String, usize, bool)> = dead_rules(&c)
            .into_iter()
            .map(|d| (format!("{}/{}", d.policy, d.direction), d.rule, d.shadowed))
            .collect();
        v.sort();
        v
    }

    #[test]
    fn shadowed_and_contradictory_rules_are_found() {
        let got = dead(
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: db, namespace: n}\nspec:\n  podSelector: {matchLabels: {app: db}}\n  ingress:\n  - from: [{podSelector: {}}]\n  - from: [{podSelector: {matchLabels: {app: web}}}]\n    ports: [{port: 5432}]\n  - from: [{podSelector: {matchExpressions: [{key: app, operator: In, values: [web]}, {key: app, operator: DoesNotExist}]}}]\n  - from: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.0.0.0/8]}}]\n  - ports: [{port: http}]\n",
        );
        assert_eq!(
            got,
            vec![
                ("db/ingress".to_string(), 1, true),
                ("db/ingress".to_string(), 2, false),
                ("db/ingress".to_string(), 3, false),
                ("db/ingress".to_string(), 4, false),
            ]
        );
    }

    #[test]
    fn distinct_rules_are_not_reported() {
        let got = dead(
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: db, namespace: n}\nspec:\n  podSelector: {matchLabels: {app: db}}\n  ingress:\n  - from: [{podSelector: {matchLabels: {app: web}}}]\n    ports: [{port: 5432}]\n  - from: [{ipBlock: {cidr: 192.0.2.0/24}}]\n    ports: [{port: 5432}]\n",
        );
        assert!(got.is_empty(), "{got:?}");
    }

    #[test]
    fn of_two_identical_rules_the_second_is_reported() {
        let rule =
            "  - from: [{podSelector: {matchLabels: {app: web}}}]\n    ports: [{port: 5432}]\n";
        let got = dead(&format!(
            "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: db, namespace: n}}\nspec:\n  podSelector: {{matchLabels: {{app: db}}}}\n  ingress:\n{rule}{rule}"
        ));
        assert_eq!(got, vec![("db/ingress".to_string(), 1, true)]);
    }

    #[test]
    fn admin_rule_after_a_broader_one_is_shadowed() {
        let got = dead(
            "apiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata: {name: a}\nspec:\n  priority: 10\n  subject: {namespaces: {}}\n  ingress:\n  - action: Deny\n    from: [{namespaces: {}}]\n  - action: Allow\n    from: [{pods: {namespaceSelector: {}, podSelector: {matchLabels: {app: web}}}}]\n    ports: [{portNumber: {port: 5432, protocol: TCP}}]\n",
        );
        assert_eq!(got, vec![("a/ingress".to_string(), 1, true)]);
    }
}
