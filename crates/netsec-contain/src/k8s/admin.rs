//! AdminNetworkPolicy and BaselineAdminNetworkPolicy
//! (policy.networking.k8s.io/v1alpha1): cluster-scoped rules with actions,
//! evaluated before (ANP, by ascending priority) and after (BANP, only for
//! pods no NetworkPolicy selects) the namespaced NetworkPolicies.

use serde_yaml::Value;

use super::{Labels, PolicyPort, PortRef, Selector};

/// What a rule does with the connections it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Allow; lower layers are not consulted.
    Allow,
    /// Deny; lower layers are not consulted.
    Deny,
    /// Skip the remaining admin policies and let NetworkPolicies decide (ANP only).
    Pass,
}

/// Pods an admin policy applies to, or a rule names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminPeer {
    /// All pods of matching namespaces.
    Namespaces(Selector),
    /// Matching pods of matching namespaces.
    Pods {
        /// Namespace selector.
        namespaces: Selector,
        /// Pod selector.
        pods: Selector,
    },
    /// IPv4 networks (egress only), first and last address.
    Networks(Vec<(u32, u32)>),
}

impl AdminPeer {
    /// Whether a pod with these labels in a namespace with these labels is a match.
    pub fn matches_pod(&self, ns_labels: &Labels, pod_labels: &Labels) -> bool {
        match self {
            AdminPeer::Namespaces(s) => s.matches(ns_labels),
            AdminPeer::Pods { namespaces, pods } => {
                namespaces.matches(ns_labels) && pods.matches(pod_labels)
            }
            AdminPeer::Networks(_) => false,
        }
    }
}

/// One ingress or egress rule of an admin policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminRule {
    /// Action.
    pub action: Action,
    /// Peers (`from` or `to`).
    pub peers: Vec<AdminPeer>,
    /// Ports; empty means all.
    pub ports: Vec<PolicyPort>,
}

/// An AdminNetworkPolicy (with a priority) or the BaselineAdminNetworkPolicy (none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminPolicy {
    /// Name.
    pub name: String,
    /// Priority: lower numbers are evaluated first. `None` for the baseline.
    pub priority: Option<u32>,
    /// Pods it applies to.
    pub subject: AdminPeer,
    /// Ingress rules, in order.
    pub ingress: Vec<AdminRule>,
    /// Egress rules, in order.
    pub egress: Vec<AdminRule>,
}

fn sel(
    v: Option<&Value>,
    parse: &dyn Fn(&Value) -> Result<Selector, String>,
) -> Result<Selector, String> {
    match v {
        Some(v) => parse(v),
        None => Ok(Selector::default()),
    }
}

fn peer(
    v: &Value,
    parse: &dyn Fn(&Value) -> Result<Selector, String>,
    cidr: &dyn Fn(&str) -> Option<(u32, u32)>,
) -> Result<Option<AdminPeer>, String> {
    if let Some(ns) = v.get("namespaces") {
        return Ok(Some(AdminPeer::Namespaces(parse(ns)?)));
    }
    if let Some(p) = v.get("pods") {
        return Ok(Some(AdminPeer::Pods {
            namespaces: sel(p.get("namespaceSelector"), parse)?,
            pods: sel(p.get("podSelector"), parse)?,
        }));
    }
    if let Some(Value::Sequence(nets)) = v.get("networks") {
        let mut out = Vec::new();
        for n in nets {
            if let Some(text) = n.as_str() {
                if text.contains(':') {
                    continue; // IPv6 networks are not modelled
                }
                out.push(cidr(text).ok_or(format!("bad network {text:?}"))?);
            }
        }
        return Ok(Some(AdminPeer::Networks(out)));
    }
    // `nodes` peers: nodes are not workloads in this model; nothing matches.
    Ok(None)
}

fn ports(v: Option<&Value>) -> Result<Vec<PolicyPort>, String> {
    let Some(Value::Sequence(list)) = v else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for p in list {
        if let Some(n) = p.get("portNumber") {
            let protocol = n
                .get("protocol")
                .and_then(Value::as_str)
                .unwrap_or("TCP")
                .to_string();
            let port = n
                .get("port")
                .and_then(Value::as_u64)
                .ok_or("portNumber without port")? as u32;
            out.push(PolicyPort {
                protocol,
                port: Some(PortRef::Number(port)),
                end_port: None,
            });
        } else if let Some(r) = p.get("portRange") {
            let protocol = r
                .get("protocol")
                .and_then(Value::as_str)
                .unwrap_or("TCP")
                .to_string();
            let start = r
                .get("start")
                .and_then(Value::as_u64)
                .ok_or("portRange without start")? as u32;
            let end = r
                .get("end")
                .and_then(Value::as_u64)
                .ok_or("portRange without end")? as u32;
            out.push(PolicyPort {
                protocol,
                port: Some(PortRef::Number(start)),
                end_port: Some(end),
            });
        } else if let Some(name) = p.get("namedPort").and_then(Value::as_str) {
            // A named port matches the container port of that name, whatever its protocol.
            out.push(PolicyPort {
                protocol: String::new(),
                port: Some(PortRef::Name(name.to_string())),
                end_port: None,
            });
        } else {
            return Err("port entry is none of portNumber, portRange, namedPort".into());
        }
    }
    Ok(out)
}

fn rules(
    v: Option<&Value>,
    key: &str,
    baseline: bool,
    parse: &dyn Fn(&Value) -> Result<Selector, String>,
    cidr: &dyn Fn(&str) -> Option<(u32, u32)>,
) -> Result<Vec<AdminRule>, String> {
    let Some(Value::Sequence(list)) = v else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for r in list {
        let action = match r.get("action").and_then(Value::as_str) {
            Some("Allow") => Action::Allow,
            Some("Deny") => Action::Deny,
            Some("Pass") if !baseline => Action::Pass,
            other => return Err(format!("bad action {other:?}")),
        };
        let mut peers = Vec::new();
        if let Some(Value::Sequence(ps)) = r.get(key) {
            for p in ps {
                if let Some(p) = peer(p, parse, cidr)? {
                    peers.push(p);
                }
            }
        }
        out.push(AdminRule {
            action,
            peers,
            ports: ports(r.get("ports"))?,
        });
    }
    Ok(out)
}

/// Parse an AdminNetworkPolicy or BaselineAdminNetworkPolicy document.
pub fn parse_admin(
    doc: &Value,
    name: String,
    baseline: bool,
    parse_selector: &dyn Fn(&Value) -> Result<Selector, String>,
    cidr: &dyn Fn(&str) -> Option<(u32, u32)>,
) -> Result<AdminPolicy, String> {
    let spec = doc.get("spec").ok_or("no spec")?;
    let priority = if baseline {
        None
    } else {
        Some(
            spec.get("priority")
                .and_then(Value::as_u64)
                .ok_or("AdminNetworkPolicy without priority")? as u32,
        )
    };
    let subject = spec.get("subject").ok_or("no subject")?;
    let subject =
        peer(subject, parse_selector, cidr)?.ok_or("subject is neither namespaces nor pods")?;
    Ok(AdminPolicy {
        name,
        priority,
        subject,
        ingress: rules(spec.get("ingress"), "from", baseline, parse_selector, cidr)?,
        egress: rules(spec.get("egress"), "to", baseline, parse_selector, cidr)?,
    })
}
