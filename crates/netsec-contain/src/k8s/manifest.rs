//! Reading manifests: YAML (several documents per file) or JSON, `List`
//! kinds, files and directories. A document that cannot be understood is a
//! warning naming the file and document; the rest is analysed.

use std::collections::BTreeMap;
use std::path::Path;

use serde_yaml::Value;

use super::{
    ContainerPort, K8sError, Labels, Namespace, NetworkPolicy, PolicyPeer, PolicyPort, PolicyRule,
    PortRef, Selector, Workload,
};

/// A document skipped, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadWarning {
    /// File.
    pub file: String,
    /// Document index in the file (from 0).
    pub document: usize,
    /// What was wrong.
    pub message: String,
}

impl std::fmt::Display for LoadWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} (document {}): {}",
            self.file, self.document, self.message
        )
    }
}

/// Everything loaded from a set of manifests.
#[derive(Debug, Clone, Default)]
pub struct Cluster {
    /// Namespaces, declared or referenced.
    pub namespaces: BTreeMap<String, Namespace>,
    /// Workloads by id.
    pub workloads: BTreeMap<String, Workload>,
    /// Network policies.
    pub policies: Vec<NetworkPolicy>,
    /// AdminNetworkPolicies, by ascending priority.
    pub admin: Vec<super::admin::AdminPolicy>,
    /// The BaselineAdminNetworkPolicy, if any.
    pub baseline: Option<super::admin::AdminPolicy>,
    /// Documents skipped.
    pub warnings: Vec<LoadWarning>,
    /// Services (for Ingress/Route targets and cluster IPs).
    pub services: Vec<super::expose::Service>,
    /// Ingresses and Routes.
    pub exposures: Vec<super::expose::Exposure>,
    /// NetworkAttachmentDefinitions: network name → namespaces defining it.
    pub nads: BTreeMap<String, std::collections::BTreeSet<String>>,
    /// MultiNetworkPolicies (secondary networks).
    pub multi_policies: Vec<super::secondary::MultiNetworkPolicy>,
    /// Namespaces with a primary UserDefinedNetwork.
    pub udn_namespaces: Vec<String>,
    /// Primary ClusterUserDefinedNetworks: name and namespace selector.
    pub cudns: Vec<(String, Selector)>,
    /// Kinds seen that are not analysed (AdminNetworkPolicy, Ingress, …), with counts.
    pub unsupported_kinds: BTreeMap<String, usize>,
    /// Addresses of skipped virt-launcher pods: namespace, the name of the
    /// VirtualMachineInstance owning the pod (its VirtualMachine's), address.
    /// Given to that VirtualMachine when loading finishes, so that traffic
    /// from a guest is matched to it.
    pub launcher_ips: Vec<(String, String, std::net::IpAddr)>,
}

/// The namespace label OVN-Kubernetes requires before a primary
/// user-defined network may serve the namespace.
const PRIMARY_UDN_LABEL: &str = "k8s.ovn.org/primary-user-defined-network";

/// Whether a (Cluster)UserDefinedNetwork spec has the Primary role.
fn primary_role(spec: Option<&Value>) -> bool {
    ["layer2", "layer3"].iter().any(|l| {
        spec.and_then(|s| s.get(*l))
            .and_then(|l| l.get("role"))
            .and_then(Value::as_str)
            == Some("Primary")
    })
}

const WORKLOAD_KINDS: [&str; 8] = [
    "Deployment",
    "ReplicaSet",
    "StatefulSet",
    "DaemonSet",
    "Job",
    "ReplicationController",
    "CronJob",
    // KubeVirt: a VM's template labels select it like a pod's.
    "VirtualMachine",
];

/// KubeVirt runs each VirtualMachine's guest in a pod named
/// `virt-launcher-<vmi>-<suffix>`, owned by the VirtualMachineInstance.
/// netpol-analyzer (`eval.PolicyEngine.insertPod` at e54a334) skips
/// such pods by this name prefix, with a warning, and reads no
/// VirtualMachineInstance objects: the VirtualMachine is the workload, on
/// the pod network and on user-defined and secondary networks alike.
const VIRT_LAUNCHER_PREFIX: &str = "virt-launcher-";

/// Whether `doc` is a VirtualMachineInstance controlled by a VirtualMachine,
/// which stands for it (see [`VIRT_LAUNCHER_PREFIX`]): skipped without a
/// warning. A VirtualMachineInstance on its own is warned about, since
/// neither tool analyses it.
fn instance_of_vm(kind: &str, doc: &Value) -> bool {
    kind == "VirtualMachineInstance" && controller_named(doc, "VirtualMachine").is_some()
}

/// The name of the object's controlling owner (`controller: true`) when
/// that owner is of kind `kind`.
fn controller_named(doc: &Value, kind: &str) -> Option<String> {
    let Some(Value::Sequence(owners)) = doc.get("metadata").and_then(|m| m.get("ownerReferences"))
    else {
        return None;
    };
    owners
        .iter()
        .find(|o| o.get("controller").and_then(Value::as_bool) == Some(true))
        .filter(|o| str_of(o, &["kind"]).as_deref() == Some(kind))
        .and_then(|o| str_of(o, &["name"]))
}

/// Kubernetes kinds with no bearing on reachability: counted, skipped
/// without a warning. Any other kind not analysed is warned about.
const INERT_KINDS: [&str; 21] = [
    "ConfigMap",
    "Secret",
    "ServiceAccount",
    "Role",
    "RoleBinding",
    "ClusterRole",
    "ClusterRoleBinding",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "StorageClass",
    "HorizontalPodAutoscaler",
    "PodDisruptionBudget",
    "LimitRange",
    "ResourceQuota",
    "CustomResourceDefinition",
    "Endpoints",
    "EndpointSlice",
    "PodSecurityPolicy",
    "PriorityClass",
    "Node",
    "Event",
];

/// Refuse a map with a key the API does not define (a misspelt `ingres`
/// would otherwise turn an allow rule into deny-all without a word).
fn check_keys(v: &Value, allowed: &[&str], what: &str) -> Result<(), String> {
    match v {
        Value::Mapping(m) => {
            for k in m.keys() {
                let k = k.as_str().unwrap_or("?");
                if !allowed.contains(&k) {
                    return Err(format!("unknown field {k:?} in {what}"));
                }
            }
            Ok(())
        }
        Value::Null => Ok(()),
        _ => Err(format!("{what} is not a map")),
    }
}

fn str_of(v: &Value, path: &[&str]) -> Option<String> {
    let mut cur = v;
    for p in path {
        cur = cur.get(*p)?;
    }
    match cur {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn labels_of(v: Option<&Value>) -> Labels {
    let mut out = Labels::new();
    if let Some(Value::Mapping(m)) = v {
        for (k, val) in m {
            if let (Some(k), Some(val)) = (scalar(k), scalar(val)) {
                out.insert(k, val);
            }
        }
    }
    out
}

/// A YAML scalar as text (labels may be written as numbers or booleans).
pub(crate) fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn selector_of(v: &Value) -> Result<Selector, String> {
    check_keys(v, &["matchLabels", "matchExpressions"], "a label selector")?;
    let mut sel = Selector {
        match_labels: labels_of(v.get("matchLabels")),
        match_expressions: Vec::new(),
    };
    if let Some(exprs) = v.get("matchExpressions") {
        let Value::Sequence(exprs) = exprs else {
            return Err("matchExpressions is not a list".into());
        };
        for e in exprs {
            let key = str_of(e, &["key"]).ok_or("matchExpressions entry without key")?;
            let op = str_of(e, &["operator"]).ok_or("matchExpressions entry without operator")?;
            if !matches!(op.as_str(), "In" | "NotIn" | "Exists" | "DoesNotExist") {
                return Err(format!("unknown selector operator {op:?}"));
            }
            let values = match e.get("values") {
                Some(Value::Sequence(s)) => s.iter().filter_map(scalar).collect(),
                _ => Vec::new(),
            };
            sel.match_expressions.push((key, op, values));
        }
    }
    Ok(sel)
}

fn ports_of(pod_spec: Option<&Value>) -> Vec<ContainerPort> {
    let mut out = Vec::new();
    let Some(spec) = pod_spec else { return out };
    for list in ["containers", "initContainers"] {
        let Some(Value::Sequence(cs)) = spec.get(list) else {
            continue;
        };
        for c in cs {
            let Some(Value::Sequence(ps)) = c.get("ports") else {
                continue;
            };
            for p in ps {
                let Some(port) = p.get("containerPort").and_then(Value::as_u64) else {
                    continue;
                };
                out.push(ContainerPort {
                    name: str_of(p, &["name"]),
                    port: port as u32,
                    protocol: str_of(p, &["protocol"]).unwrap_or_else(|| "TCP".into()),
                });
            }
        }
    }
    out
}

/// A pod's addresses from `status.podIP` and `status.podIPs`.
fn pod_ips(doc: &Value) -> Vec<std::net::IpAddr> {
    let Some(status) = doc.get("status") else {
        return Vec::new();
    };
    let mut out: Vec<std::net::IpAddr> = Vec::new();
    let single = status.get("podIP").and_then(Value::as_str);
    let listed = match status.get("podIPs") {
        Some(Value::Sequence(s)) => s
            .iter()
            .filter_map(|e| e.get("ip").and_then(Value::as_str))
            .collect(),
        _ => Vec::new(),
    };
    for text in single.into_iter().chain(listed) {
        if let Ok(ip) = text.trim().parse() {
            if !out.contains(&ip) {
                out.push(ip);
            }
        }
    }
    out
}

/// Parse an IPv4 CIDR into its first and last address.
fn cidr_range(text: &str) -> Option<(u32, u32)> {
    let (addr, len) = text.split_once('/')?;
    let addr: std::net::Ipv4Addr = addr.trim().parse().ok()?;
    let len: u32 = len.trim().parse().ok()?;
    if len > 32 {
        return None;
    }
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    let first = u32::from(addr) & mask;
    Some((first, first | !mask))
}

fn peers_of(v: Option<&Value>, key: &str) -> Result<Vec<PolicyPeer>, String> {
    let Some(list) = v.and_then(|r| r.get(key)) else {
        return Ok(Vec::new());
    };
    let Value::Sequence(list) = list else {
        return Err(format!("{key} is not a list"));
    };
    let mut out = Vec::new();
    for p in list {
        check_keys(
            p,
            &["podSelector", "namespaceSelector", "ipBlock"],
            "a peer",
        )?;
        if let Some(ip) = p.get("ipBlock") {
            check_keys(ip, &["cidr", "except"], "an ipBlock")?;
            let cidr_text = str_of(ip, &["cidr"]).ok_or("ipBlock without cidr")?;
            if cidr_text.contains(':') {
                // IPv6 blocks are not modelled yet: they cannot match IPv4 ranges.
                continue;
            }
            let cidr = cidr_range(&cidr_text).ok_or(format!("bad ipBlock cidr {cidr_text:?}"))?;
            let mut except = Vec::new();
            if let Some(Value::Sequence(ex)) = ip.get("except") {
                for e in ex.iter().filter_map(scalar) {
                    if !e.contains(':') {
                        except.push(cidr_range(&e).ok_or(format!("bad except cidr {e:?}"))?);
                    }
                }
            }
            out.push(PolicyPeer::IpBlock { cidr, except });
        } else {
            let namespaces = p.get("namespaceSelector").map(selector_of).transpose()?;
            let pods = p.get("podSelector").map(selector_of).transpose()?;
            if namespaces.is_none() && pods.is_none() {
                return Err("peer with no selector and no ipBlock".into());
            }
            out.push(PolicyPeer::Pods { namespaces, pods });
        }
    }
    Ok(out)
}

fn policy_ports(v: &Value) -> Result<Vec<PolicyPort>, String> {
    let Some(list) = v.get("ports") else {
        return Ok(Vec::new());
    };
    let Value::Sequence(list) = list else {
        return Err("ports is not a list".into());
    };
    let mut out = Vec::new();
    for p in list {
        check_keys(p, &["protocol", "port", "endPort"], "a port")?;
        let protocol = str_of(p, &["protocol"]).unwrap_or_else(|| "TCP".into());
        if !super::conn::PROTOCOLS.contains(&protocol.as_str()) {
            return Err(format!("unknown protocol {protocol:?}"));
        }
        let port = match p.get("port") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => Some(PortRef::Number(n.as_u64().ok_or("bad port")? as u32)),
            Some(Value::String(s)) => Some(match s.parse::<u32>() {
                Ok(n) => PortRef::Number(n),
                Err(_) => PortRef::Name(s.clone()),
            }),
            Some(_) => return Err("port is neither a number nor a name".into()),
        };
        let end_port = p.get("endPort").and_then(Value::as_u64).map(|n| n as u32);
        out.push(PolicyPort {
            protocol,
            port,
            end_port,
        });
    }
    Ok(out)
}

fn rules_of(v: Option<&Value>, peer_key: &str) -> Result<Vec<PolicyRule>, String> {
    let Some(v) = v else { return Ok(Vec::new()) };
    let Value::Sequence(rules) = v else {
        return Err("rules are not a list".into());
    };
    rules
        .iter()
        .map(|r| {
            check_keys(r, &[peer_key, "ports"], "a rule")?;
            Ok(PolicyRule {
                peers: peers_of(Some(r), peer_key)?,
                ports: policy_ports(r)?,
            })
        })
        .collect()
}

fn network_policy(doc: &Value, namespace: String, name: String) -> Result<NetworkPolicy, String> {
    let spec = doc.get("spec").ok_or("NetworkPolicy without spec")?;
    check_keys(
        spec,
        &["podSelector", "policyTypes", "ingress", "egress"],
        "spec",
    )?;
    let pod_selector = match spec.get("podSelector") {
        Some(s) => selector_of(s)?,
        None => Selector::default(),
    };
    let types: Vec<String> = match spec.get("policyTypes") {
        Some(Value::Sequence(t)) => t.iter().filter_map(scalar).collect(),
        _ => Vec::new(),
    };
    if let Some(bad) = types
        .iter()
        .find(|t| !matches!(t.as_str(), "Ingress" | "Egress"))
    {
        return Err(format!("unknown policyType {bad:?}"));
    }
    let (ingress_type, egress_type) = if types.is_empty() {
        // Default: Ingress always; Egress when egress rules are present.
        (true, spec.get("egress").is_some())
    } else {
        (
            types.iter().any(|t| t == "Ingress"),
            types.iter().any(|t| t == "Egress"),
        )
    };
    Ok(NetworkPolicy {
        namespace,
        name,
        pod_selector,
        ingress_type,
        egress_type,
        ingress: rules_of(spec.get("ingress"), "from")?,
        egress: rules_of(spec.get("egress"), "to")?,
    })
}

impl Cluster {
    pub(crate) fn ensure_namespace(&mut self, name: &str) {
        if !self.namespaces.contains_key(name) {
            let mut labels = Labels::new();
            labels.insert("kubernetes.io/metadata.name".into(), name.into());
            self.namespaces.insert(
                name.to_string(),
                Namespace {
                    name: name.into(),
                    labels,
                },
            );
        }
    }

    fn add_object(&mut self, doc: &Value, file: &str, index: usize) {
        let warn = |c: &mut Cluster, message: String| {
            c.warnings.push(LoadWarning {
                file: file.to_string(),
                document: index,
                message,
            })
        };
        let Some(kind) = str_of(doc, &["kind"]) else {
            if !doc.is_null() {
                warn(self, "no kind".into());
            }
            return;
        };
        if kind == "List" || kind.ends_with("List") {
            match doc.get("items") {
                Some(Value::Sequence(items)) => {
                    for item in items {
                        let mut item = item.clone();
                        // Items of typed lists may omit their kind.
                        if item.get("kind").is_none() {
                            if let Value::Mapping(m) = &mut item {
                                m.insert(
                                    Value::from("kind"),
                                    Value::from(kind.trim_end_matches("List")),
                                );
                            }
                        }
                        self.add_object(&item, file, index);
                    }
                }
                _ => warn(self, format!("{kind} without items")),
            }
            return;
        }
        let name = str_of(doc, &["metadata", "name"]).unwrap_or_default();
        let namespace = str_of(doc, &["metadata", "namespace"]).unwrap_or_else(|| "default".into());
        match kind.as_str() {
            "Namespace" => {
                let mut labels = labels_of(doc.get("metadata").and_then(|m| m.get("labels")));
                labels.insert("kubernetes.io/metadata.name".into(), name.clone());
                self.namespaces
                    .insert(name.clone(), Namespace { name, labels });
            }
            "Pod" if name.starts_with(VIRT_LAUNCHER_PREFIX) => {
                if let Some(vmi) = controller_named(doc, "VirtualMachineInstance") {
                    for ip in pod_ips(doc) {
                        self.launcher_ips.push((namespace.clone(), vmi.clone(), ip));
                    }
                }
                warn(
                    self,
                    format!(
                        "skipping virt-launcher pod {namespace}/{name}: a launcher pod \
                         managing a VirtualMachine, which stands for it"
                    ),
                )
            }
            "Pod" => {
                self.ensure_namespace(&namespace);
                let labels = labels_of(doc.get("metadata").and_then(|m| m.get("labels")));
                let ports = ports_of(doc.get("spec"));
                // netpol-analyzer groups a pod under its controlling owner
                // (`controller: true`), whatever the owner's kind, except a
                // Node (static pods stand alone); an owner without a kind
                // prints as `Pod`.
                let owner = match doc.get("metadata").and_then(|m| m.get("ownerReferences")) {
                    Some(Value::Sequence(o)) => o
                        .iter()
                        .find(|o| o.get("controller").and_then(Value::as_bool) == Some(true))
                        .and_then(|o| {
                            let kind = str_of(o, &["kind"]).unwrap_or_default();
                            (kind != "Node").then_some(())?;
                            let kind = if kind.is_empty() { "Pod".into() } else { kind };
                            Some((str_of(o, &["name"])?, kind))
                        }),
                    _ => None,
                };
                let (wname, wkind) = owner.unwrap_or((name.clone(), "Pod".into()));
                let secondary = match self.attachments(doc.get("metadata"), file, index) {
                    Some(a) => a,
                    None => return,
                };
                let ips = pod_ips(doc);
                let w = Workload {
                    namespace,
                    name: wname,
                    kind: wkind,
                    labels,
                    ports,
                    ips: Vec::new(),
                    network: None,
                    secondary,
                };
                // The first pod of an owner stands for all (netpol-analyzer
                // keeps one representative); every pod's addresses are kept.
                let entry = self.workloads.entry(w.id()).or_insert(w);
                for ip in ips {
                    if !entry.ips.contains(&ip) {
                        entry.ips.push(ip);
                    }
                }
            }
            k if WORKLOAD_KINDS.contains(&k) => {
                self.ensure_namespace(&namespace);
                let template = if k == "CronJob" {
                    doc.get("spec")
                        .and_then(|s| s.get("jobTemplate"))
                        .and_then(|j| j.get("spec"))
                        .and_then(|s| s.get("template"))
                } else {
                    doc.get("spec").and_then(|s| s.get("template"))
                };
                let labels = labels_of(
                    template
                        .and_then(|t| t.get("metadata"))
                        .and_then(|m| m.get("labels")),
                );
                let ports = ports_of(template.and_then(|t| t.get("spec")));
                let secondary = if k == "VirtualMachine" {
                    super::secondary::vm_attachments(template.and_then(|t| t.get("spec")))
                } else {
                    match self.attachments(template.and_then(|t| t.get("metadata")), file, index) {
                        Some(a) => a,
                        None => return,
                    }
                };
                let w = Workload {
                    namespace,
                    name,
                    kind: k.to_string(),
                    labels,
                    ports,
                    ips: Vec::new(),
                    network: None,
                    secondary,
                };
                self.workloads.insert(w.id(), w);
            }
            "Service" => match super::expose::parse_service(doc, namespace, name.clone()) {
                Ok(svc) => self.services.push(svc),
                Err(e) => warn(self, format!("Service {name}: {e}")),
            },
            "Ingress" | "Route" => {
                match super::expose::parse_exposure(doc, &kind, namespace, name.clone()) {
                    Ok(e) => self.exposures.push(e),
                    Err(e) => warn(self, format!("{kind} {name}: {e}")),
                }
            }
            // Secondary-role networks attach extra interfaces (like
            // NetworkAttachmentDefinitions), which are not modelled.
            "UserDefinedNetwork" => {
                if primary_role(doc.get("spec")) {
                    self.udn_namespaces.push(namespace);
                } else {
                    warn(
                        self,
                        format!("UserDefinedNetwork {name}: only the Primary role is analysed"),
                    );
                }
            }
            "ClusterUserDefinedNetwork" => {
                let spec = doc.get("spec");
                if !primary_role(spec.and_then(|s| s.get("network"))) {
                    warn(
                        self,
                        format!(
                            "ClusterUserDefinedNetwork {name}: only the Primary role is analysed"
                        ),
                    );
                } else {
                    match spec
                        .and_then(|s| s.get("namespaceSelector"))
                        .map(selector_of)
                    {
                        Some(Ok(sel)) => self.cudns.push((name, sel)),
                        Some(Err(e)) => {
                            warn(self, format!("ClusterUserDefinedNetwork {name}: {e}"))
                        }
                        None => warn(
                            self,
                            format!("ClusterUserDefinedNetwork {name}: no namespaceSelector"),
                        ),
                    }
                }
            }
            "NetworkAttachmentDefinition" => {
                self.nads.entry(name).or_default().insert(namespace);
            }
            "MultiNetworkPolicy" => {
                self.ensure_namespace(&namespace);
                let policy_for = str_of(
                    doc,
                    &[
                        "metadata",
                        "annotations",
                        super::secondary::POLICY_FOR_ANNOTATION,
                    ],
                );
                match (policy_for, network_policy(doc, namespace, name.clone())) {
                    (Some(nets), Ok(policy)) => {
                        self.multi_policies
                            .push(super::secondary::MultiNetworkPolicy {
                                policy,
                                networks: super::secondary::parse_policy_for(&nets),
                            })
                    }
                    (None, _) => warn(
                        self,
                        format!(
                            "MultiNetworkPolicy {name}: no {} annotation",
                            super::secondary::POLICY_FOR_ANNOTATION
                        ),
                    ),
                    (_, Err(e)) => warn(self, format!("MultiNetworkPolicy {name}: {e}")),
                }
            }
            "NetworkPolicy" => {
                self.ensure_namespace(&namespace);
                match network_policy(doc, namespace, name.clone()) {
                    Ok(p) => self.policies.push(p),
                    Err(e) => warn(self, format!("NetworkPolicy {name}: {e}")),
                }
            }
            "AdminNetworkPolicy" | "BaselineAdminNetworkPolicy" => {
                let baseline = kind == "BaselineAdminNetworkPolicy";
                match super::admin::parse_admin(
                    doc,
                    name.clone(),
                    baseline,
                    &selector_of,
                    &cidr_range,
                ) {
                    Ok(p) if baseline => self.baseline = Some(p),
                    Ok(p) => {
                        self.admin.push(p);
                        self.admin.sort_by_key(|p| p.priority);
                    }
                    Err(e) => warn(self, format!("{kind} {name}: {e}")),
                }
            }
            other => {
                *self.unsupported_kinds.entry(other.to_string()).or_default() += 1;
                if !INERT_KINDS.contains(&other) && !instance_of_vm(other, doc) {
                    warn(
                        self,
                        format!("kind {other} is not analysed ({name}): skipped"),
                    );
                }
            }
        }
    }

    /// A pod's or template's secondary-network attachments from its
    /// metadata's annotation; `None` (with a warning) when it is malformed.
    fn attachments(
        &mut self,
        metadata: Option<&Value>,
        file: &str,
        index: usize,
    ) -> Option<Vec<super::secondary::Attachment>> {
        let Some(text) = metadata
            .and_then(|m| m.get("annotations"))
            .and_then(|a| a.get(super::secondary::NETWORKS_ANNOTATION))
            .and_then(Value::as_str)
        else {
            return Some(Vec::new());
        };
        match super::secondary::parse_networks_annotation(text) {
            Ok(a) => Some(a),
            Err(e) => {
                self.warnings.push(LoadWarning {
                    file: file.to_string(),
                    document: index,
                    message: e,
                });
                None
            }
        }
    }

    /// Referenced namespaces that were never declared get the implicit
    /// label; workloads get their primary network (and, on a UDN, their
    /// `[udn]` id). Idempotent: run after every file and every merge.
    pub(crate) fn finish(&mut self) {
        let referenced: Vec<String> = self
            .workloads
            .values()
            .map(|w| w.namespace.clone())
            .collect();
        for ns in referenced {
            self.ensure_namespace(&ns);
        }
        let networks = self.primary_networks();
        let workloads = std::mem::take(&mut self.workloads);
        for (_, mut w) in workloads {
            w.network = networks.get(&w.namespace).cloned();
            if w.kind == "VirtualMachine" {
                for (_, _, ip) in self
                    .launcher_ips
                    .iter()
                    .filter(|(ns, vm, _)| *ns == w.namespace && *vm == w.name)
                {
                    if !w.ips.contains(ip) {
                        w.ips.push(*ip);
                    }
                }
            }
            let id = w.id();
            self.workloads.entry(id).or_insert(w);
        }
    }

    /// Namespace → primary network. As OVN-Kubernetes (and netpol-analyzer)
    /// require, only namespaces labelled
    /// `k8s.ovn.org/primary-user-defined-network` take one, never `default`
    /// or `openshift-*`; a namespace's own UDN wins over a cluster one.
    fn primary_networks(&self) -> BTreeMap<String, super::PrimaryNetwork> {
        let eligible = |ns: &str| {
            ns != "default"
                && !ns.starts_with("openshift-")
                && self
                    .namespaces
                    .get(ns)
                    .is_some_and(|n| n.labels.contains_key(PRIMARY_UDN_LABEL))
        };
        let mut out = BTreeMap::new();
        for ns in self.udn_namespaces.iter().filter(|ns| eligible(ns)) {
            out.insert(ns.clone(), super::PrimaryNetwork::Namespace);
        }
        for (name, sel) in &self.cudns {
            for ns in self.namespaces.values() {
                if sel.matches(&ns.labels) && eligible(&ns.name) && !out.contains_key(&ns.name) {
                    out.insert(
                        ns.name.clone(),
                        super::PrimaryNetwork::Cluster(name.clone()),
                    );
                }
            }
        }
        out
    }
}

/// Split a YAML stream at its `---` document markers, so that a syntax
/// error in one document does not hide the documents after it. A marker is
/// a line starting with `---` at column 0 (followed by nothing, a space or
/// a comment); JSON has none and stays one document.
fn split_documents(text: &str) -> Vec<&str> {
    let mut docs = Vec::new();
    let mut start = 0;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        let is_marker = body
            .strip_prefix("---")
            .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t', '#']));
        if is_marker {
            docs.push(text.get(start..offset).unwrap_or(""));
            // Content after the marker on the same line (`--- {a: 1}`) belongs to the next document.
            start = offset + 3;
        }
        offset += line.len();
    }
    docs.push(text.get(start..).unwrap_or(""));
    // A stream that opens with a marker has no document before it.
    if docs.first().is_some_and(|d| is_blank(d)) && docs.len() > 1 {
        docs.remove(0);
    }
    docs
}

/// Whether a document holds nothing but blank lines and comments.
fn is_blank(doc: &str) -> bool {
    doc.lines()
        .map(str::trim)
        .all(|l| l.is_empty() || l.starts_with('#') || l == "...")
}

/// Load manifests from text (`file` names it in warnings; documents are
/// numbered from 0 in the order they appear).
pub fn load_str(cluster: &mut Cluster, text: &str, file: &str) {
    for (index, doc) in split_documents(text).into_iter().enumerate() {
        if is_blank(doc) {
            continue;
        }
        match serde_yaml::from_str::<Value>(doc) {
            Ok(value) => cluster.add_object(&value, file, index),
            Err(e) => cluster.warnings.push(LoadWarning {
                file: file.to_string(),
                document: index,
                message: format!("not valid YAML/JSON: {e}"),
            }),
        }
    }
    cluster.finish();
}

/// Load several files or directories into one cluster (in order; a later
/// object with the same id replaces an earlier one).
pub fn load_paths<P: AsRef<Path>>(paths: &[P]) -> Result<Cluster, K8sError> {
    let mut cluster = Cluster::default();
    for p in paths {
        cluster.merge(load_path(p.as_ref())?);
    }
    Ok(cluster)
}

impl Cluster {
    /// Add everything `other` holds.
    pub fn merge(&mut self, other: Cluster) {
        for (name, ns) in other.namespaces {
            // A declared namespace (with labels) wins over an implicit one.
            match self.namespaces.get(&name) {
                Some(mine) if mine.labels.len() >= ns.labels.len() => {}
                _ => {
                    self.namespaces.insert(name, ns);
                }
            }
        }
        self.workloads.extend(other.workloads);
        self.policies.extend(other.policies);
        self.admin.extend(other.admin);
        self.admin.sort_by_key(|p| p.priority);
        if other.baseline.is_some() {
            self.baseline = other.baseline;
        }
        self.services.extend(other.services);
        self.exposures.extend(other.exposures);
        self.warnings.extend(other.warnings);
        self.launcher_ips.extend(other.launcher_ips);
        for (k, n) in other.unsupported_kinds {
            *self.unsupported_kinds.entry(k).or_default() += n;
        }
        for (name, namespaces) in other.nads {
            self.nads.entry(name).or_default().extend(namespaces);
        }
        self.multi_policies.extend(other.multi_policies);
        self.udn_namespaces.extend(other.udn_namespaces);
        self.cudns.extend(other.cudns);
        self.finish();
    }
}

/// Load every `.yaml`, `.yml` and `.json` file under `path` (or the file
/// itself; `-` reads standard input).
pub fn load_path(path: &Path) -> Result<Cluster, K8sError> {
    let mut cluster = Cluster::default();
    let io = |p: &Path, e| K8sError::Io {
        path: p.display().to_string(),
        source: e,
    };
    if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text).map_err(|e| io(path, e))?;
        load_str(&mut cluster, &text, "<stdin>");
        return Ok(cluster);
    }
    let mut files = Vec::new();
    collect(path, &mut files, 0).map_err(|e| io(path, e))?;
    files.sort();
    for f in files {
        let text = std::fs::read_to_string(&f).map_err(|e| io(&f, e))?;
        load_str(&mut cluster, &text, &f.display().to_string());
    }
    Ok(cluster)
}

fn collect(path: &Path, out: &mut Vec<std::path::PathBuf>, depth: usize) -> std::io::Result<()> {
    if path.is_dir() {
        if depth > 16 {
            return Ok(());
        }
        for e in std::fs::read_dir(path)? {
            collect(&e?.path(), out, depth + 1)?;
        }
    } else if path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"))
        || depth == 0
    {
        out.push(path.to_path_buf());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD_POD: &str = "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: shop, labels: {app: web}}\nspec: {containers: [{name: c}]}\nstatus: {podIP: 10.1.0.5}\n";

    #[test]
    fn bad_documents_are_warned_about_and_the_rest_is_loaded() {
        let text = format!(
            "{GOOD_POD}---\nkind: [unclosed\n---\napiVersion: v1\nkind: Frobnicator\nmetadata: {{name: x}}\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: typo, namespace: shop}}\nspec: {{podSelector: {{}}, ingres: [{{}}]}}\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: badport, namespace: shop}}\nspec: {{podSelector: {{}}, ingress: [{{ports: [{{protocol: ICMP}}]}}]}}\n---\nkind: ConfigMap\nmetadata: {{name: cm}}\n---\napiVersion: v1\nkind: Pod\nmetadata: {{name: db, namespace: shop}}\nspec: {{containers: [{{name: c}}]}}\n"
        );
        let mut c = Cluster::default();
        load_str(&mut c, &text, "bad.yaml");
        let docs: Vec<usize> = c.warnings.iter().map(|w| w.document).collect();
        assert_eq!(docs, vec![1, 2, 3, 4], "{:?}", c.warnings);
        assert!(c.warnings.iter().all(|w| w.file == "bad.yaml"));
        assert!(c.warnings[0].message.contains("not valid YAML"));
        assert!(c.warnings[1]
            .message
            .contains("kind Frobnicator is not analysed"));
        assert!(c.warnings[2].message.contains("\"ingres\""));
        assert!(c.warnings[3].message.contains("ICMP"));
        // Documents before and after the broken ones are analysed.
        assert!(c.workloads.contains_key("shop/web[Pod]"));
        assert!(c.workloads.contains_key("shop/db[Pod]"));
        assert!(c.policies.is_empty());
        assert_eq!(c.unsupported_kinds.get("ConfigMap"), Some(&1));
        let web = &c.workloads["shop/web[Pod]"];
        assert_eq!(
            web.ips,
            vec!["10.1.0.5".parse::<std::net::IpAddr>().unwrap()]
        );
    }

    #[test]
    fn json_lists_and_typed_lists_are_read() {
        let json = r#"{"apiVersion":"v1","kind":"PodList","items":[
            {"metadata":{"name":"a","namespace":"n","labels":{"x":"1"}},"spec":{"containers":[]}},
            {"kind":"Pod","metadata":{"name":"b","namespace":"n"},"spec":{"containers":[]}}]}"#;
        let mut c = Cluster::default();
        load_str(&mut c, json, "pods.json");
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        assert!(c.workloads.contains_key("n/a[Pod]"));
        assert!(c.workloads.contains_key("n/b[Pod]"));
        assert_eq!(
            c.workloads["n/a[Pod]"].labels.get("x").map(String::as_str),
            Some("1")
        );
    }

    #[test]
    fn document_markers_split_only_at_column_zero() {
        assert_eq!(split_documents("a: 1\n---\nb: 2\n").len(), 2);
        assert_eq!(split_documents("---\na: 1\n").len(), 1);
        assert_eq!(split_documents("a: |\n  ---\n  x\n").len(), 1);
        assert_eq!(split_documents("a: 1\n--- # c\nb: 2\n---\n").len(), 3);
    }

    #[test]
    fn controlling_owner_groups_pods_and_nodes_do_not() {
        let text = "kind: Pod\nmetadata: {name: p1, namespace: n, ownerReferences: [{kind: ReplicaSet, name: rs, controller: true}]}\nspec: {}\n---\nkind: Pod\nmetadata: {name: p2, namespace: n, ownerReferences: [{kind: ReplicaSet, name: rs, controller: true}]}\nspec: {}\n---\nkind: Pod\nmetadata: {name: etcd, namespace: n, ownerReferences: [{kind: Node, name: node1, controller: true}]}\nspec: {}\n";
        let mut c = Cluster::default();
        load_str(&mut c, text, "t.yaml");
        let ids: Vec<&String> = c.workloads.keys().collect();
        assert_eq!(ids, vec!["n/etcd[Pod]", "n/rs[ReplicaSet]"]);
    }

    #[test]
    fn a_virtual_machine_stands_for_its_instance_and_launcher_pod() {
        // KubeVirt's three objects for one guest, on a primary UDN: the
        // VirtualMachine, the VirtualMachineInstance it controls and the
        // virt-launcher pod the instance controls. netpol-analyzer lists
        // the VirtualMachine only (udn_and_vms_test_5 upstream).
        let text = "kind: Namespace\nmetadata: {name: foo, labels: {k8s.ovn.org/primary-user-defined-network: ''}}\n---\nkind: UserDefinedNetwork\nmetadata: {name: net, namespace: foo}\nspec: {topology: Layer2, layer2: {role: Primary}}\n---\napiVersion: kubevirt.io/v1\nkind: VirtualMachine\nmetadata: {name: vm1, namespace: foo}\nspec: {template: {metadata: {labels: {kubevirt.io/domain: vm1}}, spec: {domain: {}}}}\n---\napiVersion: kubevirt.io/v1\nkind: VirtualMachineInstance\nmetadata: {name: vm1, namespace: foo, labels: {kubevirt.io/domain: vm1}, ownerReferences: [{kind: VirtualMachine, name: vm1, controller: true}]}\nspec: {domain: {}}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: virt-launcher-vm1-x7k2p, namespace: foo, labels: {kubevirt.io/domain: vm1}, ownerReferences: [{kind: VirtualMachineInstance, name: vm1, controller: true}]}\nspec: {containers: [{name: compute}]}\nstatus: {podIP: 10.1.0.9}\n---\napiVersion: kubevirt.io/v1\nkind: VirtualMachineInstance\nmetadata: {name: lone, namespace: foo}\nspec: {domain: {}}\n";
        let mut c = Cluster::default();
        load_str(&mut c, text, "vm.yaml");
        let ids: Vec<&String> = c.workloads.keys().collect();
        assert_eq!(ids, vec!["foo[udn]/vm1[VirtualMachine]"]);
        // The launcher pod's address is the guest's, for matching traffic.
        assert_eq!(
            c.workloads["foo[udn]/vm1[VirtualMachine]"].ips,
            vec!["10.1.0.9".parse::<std::net::IpAddr>().unwrap()]
        );
        let messages: Vec<&str> = c.warnings.iter().map(|w| w.message.as_str()).collect();
        assert_eq!(messages.len(), 2, "{messages:?}");
        assert!(messages[0].starts_with("skipping virt-launcher pod foo/virt-launcher-vm1-x7k2p"));
        assert!(messages[1].contains("kind VirtualMachineInstance is not analysed (lone)"));
        assert_eq!(
            crate::k8s::reach::connection_lines(&c),
            vec![
                "0.0.0.0-255.255.255.255[External] => foo[udn]/vm1[VirtualMachine] : All Connections",
                "foo[udn]/vm1[VirtualMachine] => 0.0.0.0-255.255.255.255[External] : All Connections",
            ]
        );
    }
}
