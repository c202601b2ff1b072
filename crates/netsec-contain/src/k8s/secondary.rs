//! Secondary pod networks (Multus): pods attach to NetworkAttachmentDefinitions
//! through the `k8s.v1.cni.cncf.io/networks` annotation (virtual machines
//! through `multus` networks), and MultiNetworkPolicies
//! (`k8s.cni.cncf.io/v1beta1`, annotated `k8s.v1.cni.cncf.io/policy-for`)
//! restrict traffic on them. NetworkPolicies and admin policies do not apply
//! there, and only workloads talk on them (no external peers), as in
//! netpol-analyzer.

use std::collections::{BTreeMap, BTreeSet};

use serde_yaml::Value;

use super::conn::ConnSet;
use super::manifest::Cluster;
use super::reach::{peer_matches, rule_conns, Connection, Peer, Subject};
use super::{NetworkPolicy, PolicyPeer, PolicyRule, Workload};

/// Annotation naming a pod's secondary networks.
pub const NETWORKS_ANNOTATION: &str = "k8s.v1.cni.cncf.io/networks";
/// Annotation naming the networks a MultiNetworkPolicy is for.
pub const POLICY_FOR_ANNOTATION: &str = "k8s.v1.cni.cncf.io/policy-for";

/// A workload's attachment to a secondary network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// Network name (the NetworkAttachmentDefinition's).
    pub network: String,
    /// The NAD's namespace when the reference names one (else the pod's).
    pub namespace: Option<String>,
    /// Addresses on that network, when the manifest gives them (`a.b.c.d` or CIDR form).
    pub ips: Vec<String>,
}

/// A MultiNetworkPolicy: NetworkPolicy rules for the networks it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MultiNetworkPolicy {
    /// The rules, read as a NetworkPolicy's.
    pub policy: NetworkPolicy,
    /// Networks from `policy-for`: (namespace if given, name).
    pub networks: Vec<(Option<String>, String)>,
}

fn split_ns(reference: &str) -> (Option<String>, String) {
    match reference.split_once('/') {
        Some((ns, name)) => (Some(ns.to_string()), name.to_string()),
        None => (None, reference.to_string()),
    }
}

/// Attachments from a `k8s.v1.cni.cncf.io/networks` annotation: a comma
/// list of `[ns/]name[@ifname]`, or a JSON list of `{name, namespace, ips}`.
pub fn parse_networks_annotation(text: &str) -> Result<Vec<Attachment>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(Vec::new());
    }
    if text.contains(['[', '{', '"']) {
        let list: Vec<serde_json::Value> =
            serde_json::from_str(text).map_err(|e| format!("bad {NETWORKS_ANNOTATION}: {e}"))?;
        return Ok(list
            .iter()
            .filter_map(|n| {
                let network = n.get("name")?.as_str()?.to_string();
                Some(Attachment {
                    network,
                    namespace: n
                        .get("namespace")
                        .and_then(|v| v.as_str())
                        .map(String::from),
                    ips: match n.get("ips") {
                        Some(serde_json::Value::Array(a)) => a
                            .iter()
                            .filter_map(|i| i.as_str().map(String::from))
                            .collect(),
                        _ => Vec::new(),
                    },
                })
            })
            .filter(|a| !a.network.is_empty())
            .collect());
    }
    Ok(text
        .split(',')
        .map(|n| n.trim().split('@').next().unwrap_or(""))
        .filter(|n| !n.is_empty())
        .map(|n| {
            let (namespace, network) = split_ns(n);
            Attachment {
                network,
                namespace,
                ips: Vec::new(),
            }
        })
        .collect())
}

/// A virtual machine's attachments: its `multus` networks (keyed by the
/// whole `networkName`, as netpol-analyzer keys them), with the addresses
/// its cloud-init network data gives interfaces other than eth0.
pub fn vm_attachments(vm_spec: Option<&Value>) -> Vec<Attachment> {
    let Some(spec) = vm_spec else {
        return Vec::new();
    };
    let mut ips = Vec::new();
    if let Some(Value::Sequence(volumes)) = spec.get("volumes") {
        for v in volumes {
            let Some(data) = v
                .get("cloudInitNoCloud")
                .and_then(|c| c.get("networkData"))
                .and_then(Value::as_str)
            else {
                continue;
            };
            let mut interface = "";
            for line in data.lines().map(str::trim) {
                if let Some(name) = line.strip_suffix(':') {
                    interface = name;
                    continue;
                }
                if !interface.is_empty() && interface != "eth0" {
                    ips.extend(cidr_tokens(line));
                }
            }
        }
    }
    let mut out = Vec::new();
    if let Some(Value::Sequence(networks)) = spec.get("networks") {
        for n in networks {
            if let Some(name) = n
                .get("multus")
                .and_then(|m| m.get("networkName"))
                .and_then(Value::as_str)
            {
                let (namespace, _) = split_ns(name);
                out.push(Attachment {
                    network: name.to_string(),
                    namespace,
                    ips: ips.clone(),
                });
            }
        }
    }
    out
}

/// `a.b.c.d/n` tokens of a line.
fn cidr_tokens(line: &str) -> Vec<String> {
    line.split(|c: char| !(c.is_ascii_digit() || c == '.' || c == '/'))
        .filter(|t| {
            t.split_once('/').is_some_and(|(ip, len)| {
                ip.parse::<std::net::Ipv4Addr>().is_ok() && len.parse::<u8>().is_ok_and(|l| l <= 32)
            })
        })
        .map(String::from)
        .collect()
}

/// Networks from a `policy-for` annotation (comma list of `[ns/]name`).
pub fn parse_policy_for(text: &str) -> Vec<(Option<String>, String)> {
    text.split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(split_ns)
        .collect()
}

/// The secondary networks a workload is on: attachments whose NAD exists
/// in the attachment's (or the workload's) namespace.
fn networks_of<'w>(cluster: &Cluster, w: &'w Workload) -> BTreeMap<&'w str, &'w Attachment> {
    w.secondary
        .iter()
        .filter(|a| {
            let ns = a.namespace.as_deref().unwrap_or(&w.namespace);
            cluster
                .nads
                .get(&a.network)
                .is_some_and(|namespaces| namespaces.contains(ns))
        })
        .map(|a| (a.network.as_str(), a))
        .collect()
}

fn ipv4(text: &str) -> Option<u32> {
    let ip = text.split('/').next()?.trim();
    ip.parse::<std::net::Ipv4Addr>().ok().map(u32::from)
}

/// Whether a MultiNetworkPolicy rule names `peer` on `network`: selectors
/// match pods (never virtual machines), ipBlocks match the peer's addresses
/// on that network.
fn rule_selects(
    cluster: &Cluster,
    mnp: &MultiNetworkPolicy,
    rule: &PolicyRule,
    peer: &Workload,
    network: &str,
) -> bool {
    if rule.peers.is_empty() {
        return true;
    }
    rule.peers.iter().any(|p| match p {
        PolicyPeer::Pods { .. } => {
            peer.kind != "VirtualMachine"
                && peer_matches(cluster, &mnp.policy, p, &Subject::Workload(peer))
        }
        PolicyPeer::IpBlock { cidr, except } => peer
            .secondary
            .iter()
            .filter(|a| a.network == network)
            .flat_map(|a| a.ips.iter())
            .filter_map(|ip| ipv4(ip))
            .any(|ip| {
                cidr.0 <= ip && ip <= cidr.1 && !except.iter().any(|e| e.0 <= ip && ip <= e.1)
            }),
    })
}

/// What the MultiNetworkPolicies on `network` let `owner` do with `peer`
/// (ingress: from peer; egress: to peer); everything when none selects it.
fn xgress(
    cluster: &Cluster,
    network: &str,
    owner: &Workload,
    peer: &Workload,
    dst: &Workload,
    ingress: bool,
) -> ConnSet {
    let mut selected = false;
    let mut out = ConnSet::none();
    for mnp in &cluster.multi_policies {
        let p = &mnp.policy;
        let applies = if ingress {
            p.ingress_type
        } else {
            p.egress_type
        };
        let targets = mnp.networks.iter().any(|(ns, name)| {
            let ns = ns.as_deref().unwrap_or(&p.namespace);
            name == network
                && cluster
                    .nads
                    .get(network)
                    .is_some_and(|namespaces| namespaces.contains(ns))
        });
        if !applies
            || !targets
            || p.namespace != owner.namespace
            || !p.pod_selector.matches(&owner.labels)
        {
            continue;
        }
        selected = true;
        let rules = if ingress { &p.ingress } else { &p.egress };
        for r in rules {
            if rule_selects(cluster, mnp, r, peer, network) {
                out.union_with(&rule_conns(&r.ports, Some(dst)));
            }
        }
    }
    if selected {
        out
    } else {
        ConnSet::all()
    }
}

/// Connections between workloads on each shared secondary network, tagged
/// with the network's name.
pub(crate) fn secondary_connections(cluster: &Cluster) -> Vec<Connection> {
    let mut out = Vec::new();
    if cluster.nads.is_empty() {
        return out;
    }
    let attached: Vec<(&Workload, BTreeMap<&str, &Attachment>)> = cluster
        .workloads
        .values()
        .map(|w| (w, networks_of(cluster, w)))
        .filter(|(_, n)| !n.is_empty())
        .collect();
    for (src, src_nets) in &attached {
        for (dst, dst_nets) in &attached {
            if src.id() == dst.id() {
                continue;
            }
            let shared: BTreeSet<&str> = src_nets
                .keys()
                .filter(|n| dst_nets.contains_key(*n))
                .copied()
                .collect();
            for network in shared {
                let conns = xgress(cluster, network, src, dst, dst, false)
                    .intersect(&xgress(cluster, network, dst, src, dst, true));
                if !conns.is_empty() {
                    out.push(Connection {
                        src: Peer::Workload(src.id()),
                        dst: Peer::Workload(dst.id()),
                        conns,
                        network: Some(network.to_string()),
                    });
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotation_forms() {
        let a = parse_networks_annotation("ns1/net-a@eth1, net-b").unwrap();
        assert_eq!(
            a.iter()
                .map(|a| (a.namespace.clone(), a.network.clone()))
                .collect::<Vec<_>>(),
            vec![(Some("ns1".into()), "net-a".into()), (None, "net-b".into())]
        );
        let j = parse_networks_annotation(
            r#"[{"name":"net-c","namespace":"x","ips":["10.1.1.5/24"]}]"#,
        )
        .unwrap();
        assert_eq!(j[0].ips, vec!["10.1.1.5/24".to_string()]);
        assert!(parse_networks_annotation("[{bad").is_err());
        assert_eq!(
            cidr_tokens("addresses: [192.0.2.10/24, 10.0.0.1]"),
            vec!["192.0.2.10/24"]
        );
    }
}
