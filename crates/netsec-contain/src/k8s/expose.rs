//! Services, Ingresses and OpenShift Routes: which workloads an ingress
//! controller may reach, and on which ports.
//!
//! netpol-analyzer models the controller as one pod,
//! `ingress-controller-ns/ingress-controller`, with no labels; a workload it
//! reaches through an Ingress or Route is listed as
//! `{ingress-controller} => ns/name[Kind] : TCP port`, where the ports are
//! the Service target ports the Ingress/Route names (all of the Service's
//! when it names none) that the workload's containers declare, intersected
//! with what the policies allow from that pod.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde_yaml::Value;

use super::conn::ConnSet;
use super::manifest::{scalar, Cluster};
use super::{Labels, PortRef, Workload};

/// Namespace of netpol-analyzer's stand-in ingress-controller pod.
pub const INGRESS_CONTROLLER_NAMESPACE: &str = "ingress-controller-ns";
/// Name of netpol-analyzer's stand-in ingress-controller pod.
pub const INGRESS_CONTROLLER_NAME: &str = "ingress-controller";

/// One port of a Service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServicePort {
    /// Port name, if any.
    pub name: Option<String>,
    /// The Service's port.
    pub port: u32,
    /// The pods' port (number or container port name); `None` means `port`.
    pub target: Option<PortRef>,
    /// Protocol (`TCP` default).
    pub protocol: String,
}

/// A Service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Pod selector (`None`: a Service without selector, backed by manual endpoints).
    pub selector: Option<Labels>,
    /// Ports.
    pub ports: Vec<ServicePort>,
    /// `spec.clusterIP(s)`, when the manifest records them.
    pub cluster_ips: Vec<IpAddr>,
}

impl Service {
    /// Whether the Service selects this workload's pods.
    pub fn selects(&self, w: &Workload) -> bool {
        w.namespace == self.namespace
            && self.selector.as_ref().is_some_and(|sel| {
                !sel.is_empty() && sel.iter().all(|(k, v)| w.labels.get(k) == Some(v))
            })
    }
}

/// An Ingress or Route: the Services it sends traffic to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exposure {
    /// `Ingress` or `Route`.
    pub kind: String,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Backend Services with the port they name (`None`: every Service port).
    pub backends: Vec<(String, Option<PortRef>)>,
}

fn port_ref(v: Option<&Value>) -> Option<PortRef> {
    match v? {
        Value::Number(n) => n
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .map(PortRef::Number),
        Value::String(s) => Some(match s.parse::<u32>() {
            Ok(n) => PortRef::Number(n),
            Err(_) => PortRef::Name(s.clone()),
        }),
        _ => None,
    }
}

/// Parse a Service's spec.
pub(crate) fn parse_service(
    doc: &Value,
    namespace: String,
    name: String,
) -> Result<Service, String> {
    let spec = doc.get("spec").ok_or("Service without spec")?;
    let selector = match spec.get("selector") {
        Some(Value::Mapping(m)) => Some(
            m.iter()
                .filter_map(|(k, v)| Some((k.as_str()?.to_string(), scalar(v)?)))
                .collect(),
        ),
        Some(Value::Null) | None => None,
        Some(_) => return Err("selector is not a map".into()),
    };
    let mut ports = Vec::new();
    if let Some(list) = spec.get("ports") {
        let Value::Sequence(list) = list else {
            return Err("ports is not a list".into());
        };
        for p in list {
            let port = p
                .get("port")
                .and_then(Value::as_u64)
                .and_then(|n| u32::try_from(n).ok())
                .ok_or("Service port without a number")?;
            ports.push(ServicePort {
                name: p.get("name").and_then(Value::as_str).map(String::from),
                port,
                target: port_ref(p.get("targetPort")),
                protocol: p
                    .get("protocol")
                    .and_then(Value::as_str)
                    .unwrap_or("TCP")
                    .to_string(),
            });
        }
    }
    let mut cluster_ips: Vec<IpAddr> = Vec::new();
    if let Some(ip) = spec.get("clusterIP").and_then(Value::as_str) {
        cluster_ips.extend(ip.parse::<IpAddr>().ok());
    }
    if let Some(Value::Sequence(ips)) = spec.get("clusterIPs") {
        for ip in ips.iter().filter_map(Value::as_str) {
            if let Ok(ip) = ip.parse::<IpAddr>() {
                if !cluster_ips.contains(&ip) {
                    cluster_ips.push(ip);
                }
            }
        }
    }
    Ok(Service {
        namespace,
        name,
        selector,
        ports,
        cluster_ips,
    })
}

fn ingress_backend(b: &Value) -> Option<(String, Option<PortRef>)> {
    let svc = b.get("service")?;
    let name = svc.get("name")?.as_str()?.to_string();
    let port = svc.get("port").and_then(|p| {
        p.get("name")
            .and_then(Value::as_str)
            .map(|n| PortRef::Name(n.to_string()))
            .or_else(|| port_ref(p.get("number")))
    });
    Some((name, port))
}

/// Parse an Ingress (`networking.k8s.io/v1`) or an OpenShift Route.
pub(crate) fn parse_exposure(
    doc: &Value,
    kind: &str,
    namespace: String,
    name: String,
) -> Result<Exposure, String> {
    let spec = doc.get("spec").ok_or(format!("{kind} without spec"))?;
    let mut backends = Vec::new();
    if kind == "Route" {
        // Only Services may be Route targets; other kinds are ignored, as
        // netpol-analyzer ignores them.
        let port = spec.get("port").and_then(|p| port_ref(p.get("targetPort")));
        let to = spec.get("to").ok_or("Route without `to`")?;
        let targets = std::iter::once(to).chain(match spec.get("alternateBackends") {
            Some(Value::Sequence(s)) => s.iter().collect::<Vec<_>>(),
            _ => Vec::new(),
        });
        for t in targets {
            let kind = t.get("kind").and_then(Value::as_str).unwrap_or("Service");
            if let (true, Some(n)) = (kind == "Service", t.get("name").and_then(Value::as_str)) {
                backends.push((n.to_string(), port.clone()));
            }
        }
    } else {
        if let Some(b) = spec.get("defaultBackend").and_then(ingress_backend) {
            backends.push(b);
        }
        if let Some(Value::Sequence(rules)) = spec.get("rules") {
            for r in rules {
                let Some(Value::Sequence(paths)) = r.get("http").and_then(|h| h.get("paths"))
                else {
                    continue;
                };
                backends.extend(
                    paths
                        .iter()
                        .filter_map(|p| p.get("backend").and_then(ingress_backend)),
                );
            }
        }
    }
    Ok(Exposure {
        kind: kind.to_string(),
        namespace,
        name,
        backends,
    })
}

/// The pod port(s) a Service sends a requested port to: the target port of
/// the Service port with that name or number (every Service port's target
/// when `requested` is `None`).
fn target_ports(svc: &Service, requested: Option<&PortRef>) -> Vec<PortRef> {
    let target = |p: &ServicePort| p.target.clone().unwrap_or(PortRef::Number(p.port));
    match requested {
        None => svc.ports.iter().map(target).collect(),
        Some(req) => svc
            .ports
            .iter()
            .find(|p| match req {
                PortRef::Name(n) => p.name.as_deref() == Some(n.as_str()),
                PortRef::Number(n) => p.port == *n || p.target.as_ref() == Some(req),
            })
            .map(target)
            .into_iter()
            .collect(),
    }
}

/// For each workload an Ingress or Route reaches, the TCP ports it exposes
/// through them (before NetworkPolicies are applied).
pub fn ingress_controller_ports(cluster: &Cluster) -> BTreeMap<String, ConnSet> {
    let mut out: BTreeMap<String, ConnSet> = BTreeMap::new();
    for exp in &cluster.exposures {
        for (svc_name, requested) in &exp.backends {
            let Some(svc) = cluster
                .services
                .iter()
                .find(|s| s.namespace == exp.namespace && &s.name == svc_name)
            else {
                continue;
            };
            for w in cluster.workloads.values().filter(|w| svc.selects(w)) {
                let mut conns = ConnSet::none();
                for port in target_ports(svc, requested.as_ref()) {
                    let number = match port {
                        PortRef::Number(n) => Some(n),
                        // Only a TCP container port of that name resolves.
                        PortRef::Name(n) => w
                            .ports
                            .iter()
                            .find(|cp| cp.name.as_deref() == Some(n.as_str()))
                            .filter(|cp| cp.protocol.eq_ignore_ascii_case("TCP"))
                            .map(|cp| cp.port),
                    };
                    // The port must be one the workload's containers declare
                    // (a virtual machine declares none and exposes every one).
                    let declared = w.kind == "VirtualMachine"
                        || number.is_some_and(|n| w.ports.iter().any(|cp| cp.port == n));
                    if let (Some(n), true) = (number, declared) {
                        conns.union_with(&ConnSet::ports("TCP", Some((n, n))));
                    }
                }
                if !conns.is_empty() {
                    out.entry(w.id()).or_default().union_with(&conns);
                }
            }
        }
    }
    out
}
