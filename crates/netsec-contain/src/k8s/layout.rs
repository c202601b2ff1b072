//! netpol-analyzer's text layout of a connection list, so that the two
//! tools' outputs can be diffed directly.
//!
//! A cluster on one network prints one line per connection. With primary
//! user-defined or secondary networks, netpol-analyzer
//! (`connlist/conns_formatter_txt.go`, `writeFullConnlistTxtOutput` and
//! `writeWorkloadToNetworksSection`) groups the lines under a heading per
//! network — the pod network first, then primary UDNs, primary CUDNs and
//! secondary NADs, each by name — and ends with every workload's networks.

use std::collections::BTreeMap;

use super::manifest::Cluster;
use super::reach::{Connection, Peer};
use super::{PrimaryNetwork, Workload};

const HEADING: &str = "Permitted connectivity analyzed in ";
const POD_NETWORK: &str = "Pod network";

/// The network a connection is listed under, as netpol-analyzer names its
/// section: `Pod network`, `primary UDN <namespace>`, `primary CUDN <name>`
/// or `secondary NAD <name>`.
pub fn network_section(cluster: &Cluster, c: &Connection) -> String {
    section_key(cluster, c).1
}

/// Sort key (pod network, UDNs, CUDNs, NADs) and heading name.
fn section_key(cluster: &Cluster, c: &Connection) -> (u8, String) {
    if let Some(nad) = &c.network {
        return (3, format!("secondary NAD {nad}"));
    }
    let primary = [&c.src, &c.dst].into_iter().find_map(|p| match p {
        Peer::Workload(id) => cluster
            .workloads
            .get(id)
            .and_then(|w| Some((w, w.network.as_ref()?))),
        _ => None,
    });
    match primary {
        Some((w, PrimaryNetwork::Namespace)) => (1, format!("primary UDN {}", w.namespace)),
        Some((_, PrimaryNetwork::Cluster(name))) => (2, format!("primary CUDN {name}")),
        None => (0, POD_NETWORK.to_string()),
    }
}

/// Whether netpol-analyzer would read the cluster with its
/// multiple-networks option, which prints the networks mapping: it parses
/// UserDefinedNetworks, ClusterUserDefinedNetworks,
/// NetworkAttachmentDefinitions, MultiNetworkPolicies and VirtualMachines
/// only with that option (`manifests/parser/k8sobj.go`), so a cluster with
/// any of them was analysed with it.
pub fn uses_networks(cluster: &Cluster) -> bool {
    !cluster.nads.is_empty()
        || !cluster.multi_policies.is_empty()
        || !cluster.udn_namespaces.is_empty()
        || !cluster.cudns.is_empty()
        || cluster
            .workloads
            .values()
            .any(|w| w.network.is_some() || !w.secondary.is_empty() || w.kind == "VirtualMachine")
}

/// `conns` (sorted, as [`super::connections`] returns them) in
/// netpol-analyzer's text layout, each line ending in a newline.
pub fn connlist_text(cluster: &Cluster, conns: &[Connection]) -> String {
    let mut sections: BTreeMap<(u8, String), Vec<String>> = BTreeMap::new();
    for c in conns {
        sections
            .entry(section_key(cluster, c))
            .or_default()
            .push(c.to_string());
    }
    let pod_lines = sections.remove(&(0, POD_NETWORK.to_string()));
    let mut out = String::new();
    let networks = uses_networks(cluster);
    if !sections.is_empty() {
        out.push_str(&format!("{HEADING}{POD_NETWORK}:\n"));
        if pod_lines.is_none() && networks {
            out.push_str(if cluster.workloads.values().any(|w| w.network.is_none()) {
                "All connections are not allowed for the workloads in the pod-network\n"
            } else {
                "all input workloads are configured with (C)UDN as their primary network interface\n"
            });
        }
    }
    for line in pod_lines.iter().flatten() {
        out.push_str(line);
        out.push('\n');
    }
    for ((_, name), lines) in &sections {
        out.push_str(&format!("\n{HEADING}{name}:\n"));
        for line in lines {
            out.push_str(line);
            out.push('\n');
        }
    }
    if networks {
        out.push_str(&networks_mapping(cluster));
    }
    out
}

/// `Workload-to-Networks Mapping:`, every workload (without its `[udn]`
/// mark) with its primary network and its secondary ones.
fn networks_mapping(cluster: &Cluster) -> String {
    let mut rows: Vec<(String, &Workload)> = cluster
        .workloads
        .values()
        .map(|w| (format!("{}/{}[{}]", w.namespace, w.name, w.kind), w))
        .collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out = String::from("\nWorkload-to-Networks Mapping:\n");
    for (name, w) in rows {
        let primary = match &w.network {
            None => "pod-network".to_string(),
            Some(PrimaryNetwork::Namespace) => format!("{}[UDN]", w.namespace),
            Some(PrimaryNetwork::Cluster(n)) => format!("{n}[CUDN]"),
        };
        out.push_str(&format!("{name}: \n\tPrimary Network: {primary}\n"));
        let mut secondary: Vec<String> = w
            .secondary
            .iter()
            .map(|a| format!("{}[NAD]", a.network))
            .collect();
        if !secondary.is_empty() {
            secondary.sort();
            secondary.dedup();
            out.push_str(&format!("\tSecondary Networks: {}\n", secondary.join(",")));
        }
    }
    out
}
