//! Kubernetes network policies: load manifests, compute which workloads and
//! external address ranges may talk to which, audit the policies, and set
//! them against observed traffic.
//!
//! - [`load_path`] / [`load_paths`] / [`load_str`]: manifests into a [`Cluster`]
//!   (bad documents become [`LoadWarning`]s).
//! - [`connections`]: every allowed connection, printed in netpol-analyzer's
//!   format; [`layout::connlist_text`] lays a list out as netpol-analyzer's
//!   text output (per-network sections); [`allowed`] for one pair;
//!   [`diff_connections`] between versions.
//! - [`audit`]: findings; [`dead_rules`]: rules that never match or are shadowed.
//! - [`traffic`]: flows against the policies, and least-privilege suggestions.
//!
//! Semantics implemented: default allow until a policy selects a pod for a
//! direction; a connection needs both the source's egress and the
//! destination's ingress; pod and namespace selectors with `matchLabels`
//! and `matchExpressions` (In, NotIn, Exists, DoesNotExist); `ipBlock` with
//! `except` (IPv4); numbered and named ports, `endPort` ranges; TCP, UDP and
//! SCTP; AdminNetworkPolicy (by priority, Allow/Deny/Pass) before and
//! BaselineAdminNetworkPolicy after the NetworkPolicies; Ingress and Route
//! exposure through Services; primary (Cluster)UserDefinedNetworks
//! isolating their namespaces; Multus secondary networks with
//! MultiNetworkPolicies ([`secondary`]). Not modelled: IPv6 ipBlocks.

pub mod admin;
mod audit;
mod blocks;
pub mod conn;
mod diff;
pub mod expose;
pub mod isolate;
pub mod layout;
mod manifest;
mod reach;
pub mod secondary;
mod shadow;
pub mod traffic;

pub use audit::{audit, SENSITIVE_PORTS};
pub use conn::ConnSet;
pub use diff::{diff_connections, ConnectionChange};
pub use manifest::{load_path, load_paths, load_str, Cluster, LoadWarning};
pub use reach::{allowed, connections, Connection, Peer};
pub use shadow::{dead_rules, DeadRule};

use std::collections::BTreeMap;

/// Labels of an object.
pub type Labels = BTreeMap<String, String>;

/// A label selector (`matchLabels` and `matchExpressions`, ANDed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selector {
    /// Required key/value pairs.
    pub match_labels: Labels,
    /// Expressions: key, operator, values.
    pub match_expressions: Vec<(String, String, Vec<String>)>,
}

impl Selector {
    /// Whether `labels` satisfy the selector. An empty selector matches everything.
    pub fn matches(&self, labels: &Labels) -> bool {
        self.match_labels
            .iter()
            .all(|(k, v)| labels.get(k) == Some(v))
            && self
                .match_expressions
                .iter()
                .all(|(k, op, vals)| match op.as_str() {
                    "In" => labels.get(k).is_some_and(|v| vals.contains(v)),
                    "NotIn" => labels.get(k).is_none_or(|v| !vals.contains(v)),
                    "Exists" => labels.contains_key(k),
                    "DoesNotExist" => !labels.contains_key(k),
                    // An unknown operator matches nothing (the API server would reject it).
                    _ => false,
                })
    }
}

/// A namespace and its labels (with the implicit `kubernetes.io/metadata.name`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace {
    /// Name.
    pub name: String,
    /// Labels.
    pub labels: Labels,
}

/// A container port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerPort {
    /// Port name, if any.
    pub name: Option<String>,
    /// Number.
    pub port: u32,
    /// Protocol (`TCP` default).
    pub protocol: String,
}

/// A workload: pods grouped under their owner, as netpol-analyzer groups them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workload {
    /// Namespace.
    pub namespace: String,
    /// Name (of the owner for owned pods).
    pub name: String,
    /// Kind (`Deployment`, `ReplicaSet`, `DaemonSet`, `Pod`, …).
    pub kind: String,
    /// Pod labels.
    pub labels: Labels,
    /// Container ports.
    pub ports: Vec<ContainerPort>,
    /// Pod addresses recorded in the manifests (`status.podIP(s)`), for
    /// matching observed traffic; empty for templates.
    pub ips: Vec<std::net::IpAddr>,
    /// The primary user-defined network of the workload's namespace, if any
    /// (set when loading finishes; `None`: the cluster pod network).
    pub network: Option<PrimaryNetwork>,
    /// Secondary (Multus) networks the pods attach to.
    pub secondary: Vec<secondary::Attachment>,
}

impl Workload {
    /// `namespace/name[Kind]`, or `namespace[udn]/name[Kind]` on a
    /// namespace's primary UserDefinedNetwork (netpol-analyzer's form).
    pub fn id(&self) -> String {
        let udn = match &self.network {
            Some(PrimaryNetwork::Namespace) => "[udn]",
            _ => "",
        };
        format!("{}{udn}/{}[{}]", self.namespace, self.name, self.kind)
    }
}

/// An OVN-Kubernetes primary user-defined network. Pods on one are isolated
/// from pods on any other network (and from the cluster pod network);
/// external peers and the ingress controller still reach them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum PrimaryNetwork {
    /// A UserDefinedNetwork: its namespace alone.
    Namespace,
    /// A ClusterUserDefinedNetwork, by name: every namespace it selects.
    Cluster(String),
}

/// A port in a policy rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyPort {
    /// Protocol (`TCP` default).
    pub protocol: String,
    /// Number or name; `None` means every port.
    pub port: Option<PortRef>,
    /// Range end (`endPort`).
    pub end_port: Option<u32>,
}

/// A port by number or by container port name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortRef {
    /// By number.
    Number(u32),
    /// By name.
    Name(String),
}

/// A peer of a policy rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyPeer {
    /// Pods by selectors. `namespaces: None` means the policy's own namespace.
    Pods {
        /// Namespace selector.
        namespaces: Option<Selector>,
        /// Pod selector (`None`: all pods).
        pods: Option<Selector>,
    },
    /// An IPv4 block with exceptions, as (first, last) address pairs.
    IpBlock {
        /// The block.
        cidr: (u32, u32),
        /// Excluded sub-blocks.
        except: Vec<(u32, u32)>,
    },
}

/// One ingress or egress rule.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PolicyRule {
    /// Peers; empty means every peer.
    pub peers: Vec<PolicyPeer>,
    /// Ports; empty means every port.
    pub ports: Vec<PolicyPort>,
}

/// A NetworkPolicy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkPolicy {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Pods it applies to.
    pub pod_selector: Selector,
    /// Whether it restricts ingress.
    pub ingress_type: bool,
    /// Whether it restricts egress.
    pub egress_type: bool,
    /// Ingress rules (allow-list).
    pub ingress: Vec<PolicyRule>,
    /// Egress rules (allow-list).
    pub egress: Vec<PolicyRule>,
}

/// Errors loading manifests.
#[derive(Debug, thiserror::Error)]
pub enum K8sError {
    /// A file or directory could not be read.
    #[error("{path}: {source}")]
    Io {
        /// Path.
        path: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
}
